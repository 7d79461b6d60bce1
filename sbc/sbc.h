/*
 * sbc.h: the daemon's one context (struct sbc) and the interfaces between
 * the phases of the request path:
 *   receive -> validate -> classify -> screen -> route -> forward
 * and responses back the same way.
 */
#ifndef SBC_H
#define SBC_H

#include <re.h>
#include "conf.h"
#include "log.h"
#include "store.h"
#include "dialog.h"
#include "binding.h"

enum side_id {
	SIDE_ACCESS = 0,   /* customers' PBXs and the Internet */
	SIDE_CORE   = 1,   /* the provider's switch and the screening upstream */
	SIDE_COUNT
};

/* One SIP stack per side: libre sends on the first transport of a kind,
 * so a multi-homed SBC needs a struct sip for each interface. */
struct side {
	enum side_id id;
	const char *name;
	struct sbc *sbc;
	struct sip *sip;
	struct sip_lsnr *lsnr_req;
	struct sip_lsnr *lsnr_rsp;
	struct tls *tls;
	struct sa laddr;          /* listen IP, port 0 */
	char laddr_str[64];       /* laddr as text, to pre-filter headers */
	uint16_t port;            /* UDP and TCP */
	uint16_t tls_port;        /* 0: no TLS listener */
	char *tls_name;           /* expected peer name (client side) */
	int udp_fd;               /* for the receive queue (overload.c) */
	struct wire_udp *wire_udp; /* its SIP UDP socket (wire.c) */
};

struct events {
	int fd;                   /* the security log */
	struct hash *counts;      /* struct event_count by "rule action" */
	uint64_t sec;             /* rate limit of the log lines */
	uint32_t lines;
	uint64_t suppressed;
};

/* The lines remote input causes (LOGRI, LOGRW), all together: at most
 * log_remote_rate a second, the rest counted and told once a second. */
struct log_limit {
	uint64_t sec;
	uint32_t lines;
	uint64_t left_out;
	struct tmr tmr;
};

struct flood {
	struct hash *srcs;        /* struct src_rate by source address */
	struct hash *buckets;     /* struct peer_bucket by peer */
	uint32_t nsrcs;
	uint32_t max;
	bool full_warned;
	bool expired;             /* a ban ended in this sweep */
	uint32_t kernel_bans;     /* sources the kernel filter drops */
	struct tmr tmr;           /* forgets quiet sources */
	struct tmr ktmr;          /* rebuilds the kernel filter */
};

struct ctrl {
	int fd;                   /* the listening control socket */
	struct list conns;
};

struct hep_buf;

struct trace {
	int fd;                   /* to hep_dest, or -1 */
	struct hep_buf *buf;      /* the datagram being made */
};

struct metrics {
	struct http_sock *sock;   /* metrics_listen's server, or NULL */
	time_t started;
	uint64_t scrapes;
};

struct overload {
	struct tmr tmr;
	bool active;
	uint32_t over;              /* looks in a row that saw overload */
	uint64_t until;
	uint64_t refused;
	uint64_t last_ms;
	uint64_t last_cpu;
};

struct sbc_stats {
	uint64_t req_rx;
	uint64_t rsp_rx;
	uint64_t invalid;
	uint64_t fwd_req;
	uint64_t fwd_ack;
	uint64_t fwd_rsp;
	uint64_t local_reply;
	uint64_t upstream_fail;
	uint64_t emergency;
	uint64_t txn_active;
	uint64_t verdict_asked;        /* redirect mode (verdict.c) */
	uint64_t verdict_approved;
	uint64_t verdict_rejected;     /* 403 or 603 */
	uint64_t verdict_failed;       /* timeout, error, 5xx */
	uint64_t standby_dropped;      /* messages a standby did not take */
	uint64_t hep_sent;             /* trace.c */
	uint64_t hep_dropped;
};

/* The next hops of a configuration, parsed from its strings (they point
 * into them, so they live as long as that configuration). */
struct hops {
	struct uri upstream;
	struct uri emergency_route;    /* valid when conf->emergency_route */
	struct uri switch_uri;         /* valid in redirect mode */
	struct uri registrar;          /* valid when conf->registrar */
};

struct sbc {
	struct sbc_conf *conf;
	struct dnsc *dnsc;
	struct side side[SIDE_COUNT];
	struct hops hop;               /* of conf */
	uint8_t flow_key[32];          /* of Path flow tokens (flow.c) */
	struct authguard *authguard;   /* password guessing (authguard.c) */
	uint64_t reg_path_warned;      /* last "no Path support" warning */
	struct sbc_stats stats;
	struct list txnl;              /* live proxy transactions */
	struct overload overload;
	struct events events;
	struct log_limit log_limit;
	struct flood flood;
	struct ctrl ctrl;
	struct metrics metrics;
	struct trace trace;
	int reload_fd;                 /* signalfd: SIGHUP */
	struct list blacklist;         /* struct bl_rule, in match order */
	struct store store;            /* shared counters */
	struct dialogs dialogs;        /* the calls */
	struct bindings bindings;      /* registrations made through us */
	struct media *media;           /* the media relay (media/) */
	struct tmr media_tmr;          /* looks for calls without media */
	struct tmr media_drain_tmr;    /* a demoted active's media (state.c) */
	bool terminating;
};

/* Everything the phases learn about one incoming request. */
struct req_ctx {
	struct sbc *sbc;
	struct side *in;               /* side the request arrived on */
	const struct sip_msg *msg;
	uint32_t maxfwd;               /* after validation; UINT32_MAX if absent */
	const struct conf_peer *peer;  /* access side: who sent it, or NULL;
					* a remote user's is its binding's */
	struct binding *binding;       /* a registered remote user */
	bool has_totag;
	bool emergency;                /* a call to, or inside a call to, an
					* emergency number */
	struct dialog *dialog;         /* in-dialog: the call it belongs to */
	/* set by screen */
	uint32_t calls;                /* caller's (peer's) current calls */
	bool open_dialog;              /* a new call: track it */
	bool count_call;               /* ... in the peer's counters */
	/* set by route */
	struct side *out;
	struct uri nexthop;            /* where to send */
	struct pl ruri;                /* Request-URI to send */
	const struct sip_hdr *skip_route[2]; /* our own Route entries, popped */
	const struct sip_hdr *route_partial; /* ... and one that lists more */
	struct pl route_rest;          /* what it has besides ours */
	struct pl flow;                /* flow token of our popped Path entry */
	struct pl routes;              /* Route values to add (topo.c) */
	bool hide;                     /* topology hidden from the access side */
	const struct dialog *nat;      /* its access party's Contact is ours
					* towards the core (dialog_flow.c) */
	struct mbuf *body;             /* a rewritten body (media.c), or NULL */
	void *hop_owner;               /* a mem object nexthop points into */
	bool record_route;
	bool strip_routes;             /* drop every Route entry */
	bool verdict;                  /* redirect mode: ask the screening
					  server before going to nexthop */
	bool to_registrar;             /* REGISTER: Path added (register.c) */
	uint32_t timeout_ms;           /* no-response timeout, 0: libre's */
	enum {
		ROUTE_FORWARD = 0,
		ROUTE_REPLY,           /* answer locally with scode/reason */
	} action;
	uint16_t scode;
	const char *reason;
};

/* listen.c: the listeners of both sides */
int  listen_init(struct sbc *sbc);
void listen_close(struct sbc *sbc);
void listen_source(const struct side *side);
const struct side *listen_source_side(void);
int  listen_tls_name(char **namep, const struct sbc_conf *conf,
		     const struct uri *upstream);

/* event.c: security events; event_emit_msg() for what is not a request
 * libre decoded (wire.c) */
struct event_msg {
	const struct sa *src;
	enum sip_transp tp;
	const struct pl *met, *from, *to, *ua, *callid;  /* NULL: none */
	const char *peer;
};

int  event_init(struct sbc *sbc);
void event_close(struct sbc *sbc);
void event_emit(struct sbc *sbc, const struct req_ctx *ctx, const char *rule,
		const char *action);
void event_emit_msg(struct sbc *sbc, const struct event_msg *em,
		    const char *rule, const char *action);
uint64_t event_count(const struct sbc *sbc, const char *rule,
		     const char *action);
int  event_json_str(struct re_printf *pf, const struct pl *pl);
int  event_counts_print(struct re_printf *pf, const struct sbc *sbc);

/* flood.c: a ban as a record: UNTIL unix seconds (0: lifted), ADDR an IP
 * address (its port ignored), REASON one of flood.c's known reasons */
struct flood_ban_rec {
	uint64_t until;
	struct sa addr;
	struct pl reason;
};

int  flood_init(struct sbc *sbc);
void flood_close(struct sbc *sbc);
bool flood_count(struct sbc *sbc, const struct req_ctx *ctx);
bool flood_banned(const struct sbc *sbc, const struct sa *src);
bool flood_admit(struct sbc *sbc, const struct conf_peer *peer);
int  flood_bans_print(struct re_printf *pf, const struct sbc *sbc);
bool flood_unban(struct sbc *sbc, const struct sa *src);
void flood_reload(struct sbc *sbc);
int  flood_ban(struct sbc *sbc, const struct sa *src, uint32_t seconds,
	       const char *reason);
int  flood_ban_encode(struct mbuf *mb, const struct flood_ban_rec *r);
int  flood_ban_decode(struct flood_ban_rec *r, const struct pl *txt);
int  flood_ban_apply(struct sbc *sbc, const struct flood_ban_rec *r);
int  flood_save(struct mbuf *mb, const struct sbc *sbc);
void flood_reset(struct sbc *sbc);

/* reload.c: a new configuration without dropping calls */
int  reload_init(struct sbc *sbc);
void reload_close(struct sbc *sbc);
int  reload_conf(struct sbc *sbc);
int  reload_hops(const struct sbc_conf *conf, struct hops *hop);

/* register.c: REGISTER forwarding to the registrar, with Path */
void reg_route(struct req_ctx *ctx);
void reg_route_flow(struct req_ctx *ctx);
int  reg_path_print(struct mbuf *mb, struct sbc *sbc,
		    const struct sip_msg *req, enum sip_transp tp,
		    const struct sa *src);
int  reg_expires_print(struct mbuf *mb, const struct sip_hdr *hdr,
		      uint32_t min, uint32_t max);
void reg_final(struct sbc *sbc, const struct sip_msg *req,
	       const struct sip_msg *rsp);

/* media/media.c: the media relay's start and stop */
int  media_init(struct sbc *sbc);
int  media_sdp(struct mbuf **bodyp, struct sbc *sbc, struct dialog *d,
	       const struct sip_msg *msg, enum side_id from);
int  media_save(struct mbuf *mb, const struct dialog *d);
int  media_adopt(struct sbc *sbc, struct dialog *d);
struct media_rec;
int  media_rec_apply(struct sbc *sbc, const struct media_rec *r);
void media_close(struct sbc *sbc);

/* state.c: the shared state as records: state_file across a planned
 * restart, the snapshot a joining standby receives, what it applies */
int  state_snapshot(struct mbuf *mb, const struct sbc *sbc);
int  state_apply(struct sbc *sbc, const struct pl *line);
void state_reset(struct sbc *sbc);
void state_takeover(struct sbc *sbc);
void state_standby(struct sbc *sbc);
void state_demote(struct sbc *sbc);
int  state_save(struct sbc *sbc);
int  state_load(struct sbc *sbc);

/* ctrl.c: the control socket */
int  ctrl_init(struct sbc *sbc);
void ctrl_close(struct sbc *sbc);
int  ctrl_stats_print(struct re_printf *pf, const struct sbc *sbc);

/* trace.c: SIP trace to a HEP capture server (hep_dest) */
int  trace_init(struct sbc *sbc);
void trace_close(struct sbc *sbc);

/* metrics.c: Prometheus metrics (metrics_listen) */
int  metrics_init(struct sbc *sbc);
void metrics_close(struct sbc *sbc);

/* overload.c */
void overload_init(struct sbc *sbc);
void overload_close(struct sbc *sbc);
bool overload_refuse(struct req_ctx *ctx);

/* recv.c: entry of the pipeline */
bool recv_request(const struct sip_msg *msg, void *arg);
bool recv_response(const struct sip_msg *msg, void *arg);

/* validate.c */
int  validate_request(struct req_ctx *ctx);
int  validate_response(const struct sbc_conf *conf, const struct sip_msg *msg);
bool validate_addr(const struct pl *val);
bool validate_via(const struct pl *val, bool top);

/* wire.c: messages as bytes, before libre decodes them */
void wire_init(struct sbc *sbc);
void wire_adding(struct side *side);
void wire_close(struct sbc *sbc);

/* classify.c */
void classify_source(struct req_ctx *ctx);

/* screen.c */
int  screen_request(struct req_ctx *ctx);

/* policy.c: toll-fraud limits of the peer's profile */
int  policy_check(struct req_ctx *ctx);

/* route.c */
int  route_request(struct req_ctx *ctx);
bool route_is_self(const struct sbc *sbc, const struct uri *uri);
bool route_is_emergency(const struct sbc_conf *conf, const struct pl *user);

/* forward.c: stateful proxying */
int  forward_request(struct req_ctx *ctx);
int  forward_ack(struct req_ctx *ctx);
int  forward_stray_response(struct sbc *sbc, struct side *in,
			    const struct sip_msg *msg);
int  forward_reply(struct req_ctx *ctx, uint16_t scode, const char *reason);
int  forward_build(struct mbuf *mb, struct req_ctx *ctx);
void forward_close(struct sbc *sbc);

/* reply.c: where responses go (symmetric_responses), sbcd's own answers */
bool reply_rport_forced(const struct side *side, const struct sip_msg *msg);
void reply_addr(struct sa *dst, const struct side *side,
		const struct sip_msg *msg);
int  reply_send(struct sip_strans **stp, const struct side *side,
		const struct sip_msg *msg, uint16_t scode, const char *reason,
		const char *hdrs);
void reply_cancel(const struct side *side, const struct sip_msg *invite);

/* verdict.c: redirect-mode screening.  The handler gets scode 0 when
 * the call may go on (to ctx->nexthop, the switch), else the answer. */
struct verdict;
typedef void (verdict_h)(struct req_ctx *ctx, uint16_t scode,
			 const char *reason, void *arg);
int  verdict_ask(struct verdict **vp, const struct req_ctx *ctx,
		 verdict_h *h, void *arg);
bool verdict_hdr_reserved(const struct sip_hdr *hdr);

/* sipmsg.c: helpers to rebuild messages, libre has no header editing */
int  sipmsg_print_hdr(struct mbuf *mb, const struct sip_hdr *hdr);
int  sipmsg_via_add_received(struct mbuf *mb, const struct sip_msg *msg,
			     const struct sip_hdr *via, bool rport);
int  sipmsg_response_print(struct mbuf *mb, const struct sip_msg *rsp,
			   const struct sip_msg *req, bool rport,
			   const struct sbc *sbc, const struct sbc *hide,
			   const struct dialog *nat,
			   enum sip_transp tp, const struct mbuf *body);
int  sipmsg_callid_print(struct mbuf *mb, const struct sbc *sbc,
			 const struct pl *callid);

/* topo.c: topology hiding towards the access side */
bool topo_decide(const struct req_ctx *ctx);
bool topo_req_hdr(struct mbuf *mb, const struct req_ctx *ctx,
		  const struct sip_hdr *hdr, int *err);
bool topo_rsp_hdr(struct mbuf *mb, const struct sbc *sbc,
		  enum sip_transp tp, const struct sip_hdr *hdr,
		  bool *below_self, int *err);
void topo_learn_request(struct dialog *d, const struct sip_msg *msg);
void topo_learn_response(struct dialog *d, const struct sip_msg *rsp,
			 const struct sbc *sbc);
int  topo_route(struct req_ctx *ctx);
int  topo_stray(struct sbc *sbc, const struct sip_msg *msg,
		struct mbuf *mb, struct sip_via *via);
bool sipmsg_is_side_addr(const struct side *side, const struct sa *sa);
bool sipmsg_list_next(struct pl *list, struct pl *entry);
const char *sipmsg_tp_name(enum sip_transp tp);
enum sip_transp sipmsg_uri_tp(const struct uri *uri);
int  sipmsg_tp_decode(enum sip_transp *tp, const struct pl *name);

/* Linear white space, folding included (RFC 3261 25.1). */
static inline bool sipmsg_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
uint16_t sipmsg_side_port(const struct side *side, enum sip_transp tp);
bool sipmsg_mentions_self(const struct sbc *sbc, const struct pl *val);

#endif
