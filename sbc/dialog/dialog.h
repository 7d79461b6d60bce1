/*
 * dialog.h: the call (dialog) table.  A call is known by Call-ID and the
 * caller's tag from its first INVITE until a failure answer, CANCEL, BYE
 * or timeout ends it; the screening counters (concurrent calls per peer
 * and per From user) follow it.  Shared state: one record, one encoder,
 * one apply function (see store.h).
 */
#ifndef SBC_DIALOG_H
#define SBC_DIALOG_H

#include <re.h>

struct sbc;
struct req_ctx;

enum dialog_state { DLG_EARLY = 0, DLG_CONFIRMED, DLG_ENDED };

struct dialog {
	struct le he;               /* in the table, by Call-ID */
	struct sbc *sbc;
	char *callid;
	char *ftag;                 /* the caller's tag */
	char *ttag;                 /* the answering callee's tag, once a
				     * 2xx confirmed the call; other forks'
				     * dialogs are not the call */
	char *peer;                 /* "" if none (an emergency caller) */
	char *from;                 /* the caller's From user */
	enum dialog_state state;
	bool counted;               /* in the peer's counters */
	bool emergency;             /* never refused, even from a ban */
	bool hidden;                /* topology hidden from the access side */
	bool sub;                   /* a subscription's dialog (SUBSCRIBE):
				     * no call, ends when it expires */
	uint64_t created;           /* unix seconds */
	uint64_t sub_expires;       /* a subscription: unix seconds it lasts
				     * until (its last 2xx), 0: not yet */
	/* what topology hiding keeps from the access side (topo.c) */
	char *target;               /* the core party's Contact URI */
	char *routes;               /* its route set, Route values in order */
	char *vias;                 /* core-originated: the INVITE's Vias */
	/* the access party's flow (dialog_flow.c): in-dialog requests to it
	 * go there, whatever its Contact says (NAT) */
	bool flow;                  /* false: its Contact is routable */
	enum sip_transp ftp;
	struct sa faddr;
	char *acontact;             /* its Contact URI, as it sent it */
	void *conn;                 /* TCP/TLS: this node's connection */
	void *media;                /* its media on this node (media.c) */
	/* what sbcd needs to hang up itself (dialog_bye.c), this node's */
	struct sip_msg *invite;     /* the INVITE as received */
	struct sip_msg *answer;     /* its first 2xx */
	int caller_side;            /* enum side_id of the caller */
	uint32_t cseq[2];           /* highest CSeq of caller, callee */
	const char *bye_reason;
	uint64_t confirmed_ms;      /* tmr_jiffies() of the 2xx */
	struct tmr tmr;             /* the longest a call may last */
	struct dialog_count *cnt[2];   /* peer, peer + From user */
};

/* A dialog as it travels: plain values. */
struct dialog_rec {
	struct pl callid;
	struct pl ftag;
	struct pl ttag;
	struct pl peer;
	struct pl from;
	enum dialog_state state;
	bool counted;
	bool emergency;
	bool hidden;
	bool sub;
	uint64_t created;
	uint64_t sub_expires;
	struct pl target;
	struct pl routes;
	struct pl vias;
	bool flow;                  /* the access party's flow: */
	enum sip_transp ftp;
	struct sa faddr;
	struct pl acontact;         /* ... and its Contact */
	bool escaped;               /* decoded: spaces of the above as %20 */
};

struct dialogs {
	struct hash *ht;            /* struct dialog by Call-ID */
	struct hash *counts;        /* struct dialog_count by key */
	uint32_t n;
};

int  dialog_init(struct sbc *sbc);
void dialog_close(struct sbc *sbc);

int  dialog_encode(struct mbuf *mb, const struct dialog_rec *r);
int  dialog_decode(struct dialog_rec *r, const struct pl *txt);
int  dialog_apply(struct sbc *sbc, const struct dialog_rec *r,
		  struct dialog **dp);
int  dialog_save(struct mbuf *mb, const struct sbc *sbc);
void dialog_reset(struct sbc *sbc);
void dialog_takeover(struct sbc *sbc);

int  dialog_open(struct req_ctx *ctx, bool counted, struct dialog **dp);
void dialog_rec_of(struct dialog_rec *r, const struct dialog *d);
int  dialog_change(struct dialog *d, const struct dialog_rec *r);
void dialog_sub_refresh(struct dialog *d, uint32_t expires);
void dialog_confirm(struct dialog *d, const struct pl *ttag);
void dialog_core_party(struct dialog *d, const struct pl *target,
		       const struct pl *routes, const struct pl *vias);
void dialog_end(struct dialog *d, const char *why);
struct dialog *dialog_of(const struct sbc *sbc, const struct sip_msg *msg);
bool dialog_retransmission(const struct sbc *sbc, const struct sip_msg *msg);
bool dialog_is_other_fork(const struct dialog *d, const struct sip_msg *msg);
const struct pl *dialog_callee_tag(const struct dialog *d,
				   const struct sip_msg *msg);
bool dialog_method(const struct pl *met);
bool dialog_subscribing(const struct pl *met);
uint32_t dialog_calls(const struct sbc *sbc, const char *peer,
		      const struct pl *from);
int  dialog_print(struct re_printf *pf, const struct sbc *sbc);
int  dialog_counts_print(struct re_printf *pf, const struct sbc *sbc);
void dialog_terminate(struct dialog *d, const char *why);
struct dialog *dialog_by_callid(const struct sbc *sbc,
				const struct pl *callid,
				bool (*match)(const struct dialog *d,
					      const void *arg),
				const void *arg);
struct sip_msg;
void dialog_learn(struct dialog *d, const struct sip_msg *msg, int in);
int  dialog_msgs_save(struct mbuf *mb, const struct sbc *sbc);
int  dialog_msgs_apply(struct sbc *sbc, const struct pl *txt);
int  dialog_cseq_apply(struct sbc *sbc, const struct pl *txt);

/* dialog_flow.c: the access party's flow (NAT) */
struct side;
struct uri;
void dialog_flow_open(const struct req_ctx *ctx, struct dialog_rec *r);
void dialog_flow_request(struct dialog *d, const struct sip_msg *msg);
void dialog_flow_response(struct dialog *d, const struct sip_msg *msg);
void dialog_flow_sent(struct dialog *d, enum sip_transp tp,
		      const struct sa *dst);
bool dialog_flow_conn_alive(enum sip_transp tp, void *conn);
int  dialog_flow_hop(struct uri *hop, void **owner, struct dialog *d);
int  dialog_flow_route(struct req_ctx *ctx);
int  dialog_flow_contact_print(struct mbuf *mb, const struct dialog *d,
			      const struct side *core, enum sip_transp tp,
			      const struct sip_hdr *hdr);

#endif
