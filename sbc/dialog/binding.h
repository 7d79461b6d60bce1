/*
 * binding.h: registrations made through sbcd.  From each 2xx of the
 * registrar, sbcd records which client (transport, address, port) holds
 * which contact of which AOR until when; a remote user may send calls
 * only from the address it registered from, and only while it holds a
 * binding.  Shared state: one record, one encoder, one apply function.
 */
#ifndef SBC_BINDING_H
#define SBC_BINDING_H

#include <re.h>
#include "conf.h"

struct sbc;
struct keepalive;

struct binding {
	struct le he;               /* by flow: transport and source */
	struct sbc *sbc;
	char *aor;                  /* user@host of the To URI */
	char *contact;              /* the Contact URI */
	enum sip_transp tp;
	struct sa src;              /* where the REGISTER came from */
	uint64_t expires;           /* unix seconds */
	struct tmr tmr;
	struct keepalive *ka;       /* NAT keep-alive (keepalive.c) */
	uint64_t last_seen;         /* ms (tmr_jiffies): last sign of life */
	bool unreachable;           /* no sign of life for keepalive_timeout */
	struct conf_peer peer;      /* what screening sees: "user:AOR" */
	void *conn;                 /* TCP/TLS: libre's connection it came on */
};

struct binding_rec {
	uint64_t expires;           /* 0: the binding is removed */
	enum sip_transp tp;
	struct sa src;
	struct pl aor;
	struct pl contact;
};

struct bindings {
	struct hash *ht;
	uint32_t n;
	uint32_t unreachable;       /* of n (keepalive.c) */
};

int  binding_init(struct sbc *sbc);
void binding_close(struct sbc *sbc);
int  binding_encode(struct mbuf *mb, const struct binding_rec *r);
int  binding_decode(struct binding_rec *r, const struct pl *txt);
int  binding_apply(struct sbc *sbc, const struct binding_rec *r);
int  binding_save(struct mbuf *mb, const struct sbc *sbc);
void binding_reset(struct sbc *sbc);
bool binding_conn_alive(const struct binding *b);
void binding_registered(struct sbc *sbc, const struct sip_msg *req,
			const struct sip_msg *rsp, void *conn);
void binding_seen(struct sbc *sbc, const struct sip_msg *msg);
struct binding *binding_of(const struct sbc *sbc, enum sip_transp tp,
			   const struct sa *src);
struct binding *binding_moved(const struct sbc *sbc, enum sip_transp tp,
			      const struct sa *addr, const struct uri *contact);
int  binding_print(struct re_printf *pf, const struct sbc *sbc);

/* keepalive.c: NAT keep-alives towards the clients of the bindings */
int  keepalive_start(struct binding *b);
void keepalive_seen(struct binding *b, const struct sip_msg *msg);
bool keepalive_response(struct sbc *sbc, const struct sip_msg *msg);

#endif
