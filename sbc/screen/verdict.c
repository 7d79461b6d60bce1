/*
 * verdict.c: redirect-mode screening.  Before an initial INVITE from the
 * access side goes to the switch, the screening server (the upstream) is
 * asked with a copy of it, plus what only sbc knows: P-Received (source
 * and transport), P-UA (User-Agent), P-Calls (the caller's calls).
 * Its answer is a verdict, never relayed as such:
 *   302 with a Contact user starting with verdict_approve_prefix: go on;
 *   603: 603 to the caller; any other final answer: 403;
 *   5xx, transport failure, nothing final within verdict_timeout:
 *   verdict_fail decides (open: go on; closed: 503).
 * Everything is asynchronous (libre's client request and a timer): the
 * event loop never waits for a verdict.  forward.c owns the verdict and
 * sends the call on, or answers, when the handler says so.
 */
#include <string.h>
#include "sbc.h"

struct verdict {
	struct req_ctx ctx;         /* the call, to the switch once approved */
	struct sip_request *req;    /* the question, pending */
	struct tmr tmr;             /* verdict_timeout; or the send error */
	int err;                    /* the question could not be sent */
	char reason[64];            /* of a 603 */
	verdict_h *h;
	void *arg;
};

static const struct pl reserved[] = {
	PL("P-Received"), PL("P-UA"), PL("P-Calls"),
};

/* Headers only sbc may write: a caller must not vouch for itself. */
bool verdict_hdr_reserved(const struct sip_hdr *hdr)
{
	/* libre's ids of unknown headers are hashes: go by name */
	if (hdr->name.l < 4 || (hdr->name.p[0] != 'P' && hdr->name.p[0] != 'p'))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
		if (!pl_casecmp(&hdr->name, &reserved[i]))
			return true;
	return false;
}

static void destructor(void *arg)
{
	struct verdict *v = arg;

	tmr_cancel(&v->tmr);
	v->req = mem_deref(v->req);   /* cancels a pending question */
	mem_deref(v->ctx.body);
}

/* The outcome, as a security event; the handler may free v. */
static void decide(struct verdict *v, const char *action, uint16_t scode,
		   const char *reason)
{
	event_emit(v->ctx.sbc, &v->ctx, "verdict", action);
	v->h(&v->ctx, scode, reason, v->arg);
}

static void fail(struct verdict *v, const char *what, int err, uint16_t sc)
{
	struct sbc *sbc = v->ctx.sbc;
	bool open = sbc->conf->verdict_fail == VERDICT_FAIL_OPEN;
	char action[24];

	++sbc->stats.verdict_failed;
	(void)re_snprintf(action, sizeof(action), "%s-%s", what,
			  open ? "open" : "closed");
	if (sc)
		LOGW(sbc, "verdict on %r from %J: %u from the screening "
		     "server, fail-%s", &v->ctx.msg->callid, &v->ctx.msg->src,
		     sc, open ? "open" : "closed");
	else
		LOGW(sbc, "verdict on %r from %J: %s (%m), fail-%s",
		     &v->ctx.msg->callid, &v->ctx.msg->src, what, err,
		     open ? "open" : "closed");
	decide(v, action, open ? 0 : 503, "Service Unavailable");
}

/* 302 whose first Contact's user starts with the approval prefix */
static bool approves(const struct sbc_conf *conf, const struct sip_msg *msg)
{
	const struct sip_hdr *hdr = sip_msg_hdr(msg, SIP_HDR_CONTACT);
	const char *prefix = conf->verdict_approve_prefix;
	size_t n = strlen(prefix);
	struct sip_addr addr;

	if (msg->scode != 302 || !hdr || sip_addr_decode(&addr, &hdr->val))
		return false;
	return addr.uri.user.l >= n && !memcmp(addr.uri.user.p, prefix, n);
}

/* A 2xx "verdict" opened a dialog at the screening server: ACK it (RFC
 * 3261 13.2.2.4), or its retransmissions would come back as stray 2xx and
 * be passed on to the caller.  The call is refused all the same. */
static void ack_2xx(struct verdict *v, const struct sip_msg *msg)
{
	const struct sip_msg *req = v->ctx.msg;
	struct sbc *sbc = v->ctx.sbc;
	struct mbuf *mb = mbuf_alloc(512);
	int err;

	if (!mb)
		return;
	err = mbuf_printf(mb, "Max-Forwards: 70\r\nFrom: %r\r\nTo: %r\r\n"
			  "Call-ID: %r\r\nCSeq: %u ACK\r\n"
			  "Content-Length: 0\r\n\r\n", &req->from.val,
			  &msg->to.val, &msg->callid, msg->cseq.num);
	mb->pos = 0;
	if (!err) {
		listen_source(v->ctx.out);
		err = sip_request(NULL, v->ctx.out->sip, false, "ACK", 3,
				  req->ruri.p, (int)req->ruri.l, &sbc->hop.upstream,
				  mb, 0, NULL, NULL, NULL);
		listen_source(NULL);
	}
	if (err)
		LOGW(sbc, "verdict on %r: cannot ACK the %u: %m",
		     &msg->callid, msg->scode, err);
	mem_deref(mb);
}

static void resp_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct verdict *v = arg;
	struct sbc *sbc = v->ctx.sbc;

	if (!err && msg && msg->scode < 200)
		return;                 /* the timer runs on */
	v->req = NULL;
	tmr_cancel(&v->tmr);

	if (err || !msg) {
		fail(v, "error", err ? err : EPROTO, 0);
	}
	else if (msg->scode >= 500 && msg->scode < 600) {
		fail(v, "error", 0, msg->scode);
	}
	else if (approves(sbc->conf, msg)) {
		++sbc->stats.verdict_approved;
		LOGD(sbc, "verdict on %r: approved", &msg->callid);
		decide(v, "approve", 0, NULL);
	}
	else if (msg->scode == 603) {
		++sbc->stats.verdict_rejected;
		(void)re_snprintf(v->reason, sizeof(v->reason), "%r",
				  &msg->reason);
		decide(v, "603", 603, v->reason[0] ? v->reason : "Decline");
	}
	else {
		++sbc->stats.verdict_rejected;
		LOGD(sbc, "verdict on %r: %u %r, 403", &msg->callid,
		     msg->scode, &msg->reason);
		if (msg->scode < 300)
			ack_2xx(v, msg);
		decide(v, "reject", 403, "Forbidden");
	}
}

static void tmr_handler(void *arg)
{
	struct verdict *v = arg;

	if (v->err) {
		fail(v, "error", v->err, 0);
		return;
	}
	v->req = mem_deref(v->req);   /* CANCEL, once it rang */
	fail(v, "timeout", ETIMEDOUT, 0);
}

/* After libre's Via: what only sbc can tell the screening server. */
static int send_handler(enum sip_transp tp, const struct sa *src,
			const struct sa *dst, struct mbuf *mb, void *arg)
{
	const struct verdict *v = arg;
	const struct sip_msg *msg = v->ctx.msg;
	const struct sip_hdr *ua = sip_msg_hdr(msg, SIP_HDR_USER_AGENT);
	(void)tp;
	(void)src;
	(void)dst;

	return mbuf_printf(mb, "P-Received: %J;transport=%s\r\n"
			   "P-UA: %r\r\n"
			   "P-Calls: %u\r\n",
			   &msg->src, sipmsg_tp_name(msg->tp),
			   ua ? &ua->val : &pl_null, v->ctx.calls);
}

/* Ask the screening server about ctx's INVITE; the handler is called
 * once, later (never from here), unless *vp is freed first. */
int verdict_ask(struct verdict **vp, const struct req_ctx *ctx,
		verdict_h *h, void *arg)
{
	struct sbc *sbc = ctx->sbc;
	const struct sip_msg *msg = ctx->msg;
	struct req_ctx q = *ctx;
	struct verdict *v;
	struct mbuf *mb;
	int err;

	v = mem_zalloc(sizeof(*v), destructor);
	mb = mbuf_alloc(msg->mb->end + 256);
	if (!v || !mb) {
		err = ENOMEM;
		goto out;
	}
	v->ctx = *ctx;
	v->ctx.dialog = NULL;       /* in-dialog only: held by the pipeline */
	v->ctx.body = mem_ref(ctx->body);
	v->h = h;
	v->arg = arg;

	/* the question: no Record-Route, the caller's own Request-URI */
	q.nexthop = sbc->hop.upstream;
	q.record_route = false;
	err = forward_build(mb, &q);
	if (err)
		goto out;

	++sbc->stats.verdict_asked;
	listen_source(q.out);
	err = sip_request(&v->req, q.out->sip, true, msg->met.p,
			  (int)msg->met.l, msg->ruri.p, (int)msg->ruri.l,
			  &q.nexthop, mb, (size_t)msg->callid.l ^ msg->tag,
			  send_handler, resp_handler, v);
	listen_source(NULL);
	if (err) {
		v->err = err;           /* told through the timer, not now */
		tmr_start(&v->tmr, 0, tmr_handler, v);
		err = 0;
	}
	else {
		tmr_start(&v->tmr, sbc->conf->verdict_timeout, tmr_handler,
			  v);
	}

 out:
	mem_deref(mb);
	if (err)
		mem_deref(v);
	else
		*vp = v;
	return err;
}
