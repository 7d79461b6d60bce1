/*
 * wire.c: the SIP messages of both sides as bytes, around libre's decoder
 * (wirehook.c brings them here).  libre 1.1 drops a datagram it cannot
 * decode with a print on stderr, and closes a stream on one without a
 * word, or waits for the rest of one it cannot frame; here instead:
 *  - UDP: libre's receive handler runs first; a datagram it did not
 *    decode (it said so on stderr, re_fprintf is ours: wirehook.c) comes
 *    back here.  Not libre's trace handler: it costs a getsockname() for
 *    every datagram sent.
 *  - TCP and TLS: the stream is framed here with libre's own decoder and
 *    libre is handed whole messages only, on the connections a side
 *    accepts and on those sbcd opens while it sends on a side (towards a
 *    peer, the upstream, a user's new address): a peer's bytes are judged
 *    alike whoever opened the connection.  A message that is not whole
 *    within tcp_message_timeout, or cannot be framed (no, several or a
 *    bad Content-Length, RFC 3261 18.3), ends the connection.
 *  - A request without a branch in its top Via (RFC 2543) gets one made
 *    of RFC 3261 17.2.3's matching keys, so that its retransmissions, its
 *    CANCEL and the ACK of a failure meet its transaction in libre.
 *  - Any other request whose request line and top Via can be read is
 *    answered, statelessly, to where it came from: 505 to another SIP
 *    version, else 400 with what is wrong; the rest is dropped.
 * Each answer and each drop is one log line and an "invalid" security
 * event.  Splitting the start line and the header lines of raw bytes, to
 * answer them, is all the parsing done here: the values are judged by
 * libre's decoders.
 */
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include "sbc.h"
#include "wire.h"

enum {
	WIRE_STREAM_MAX = 65536,    /* libre's own limit of a TCP message */
	WIRE_WATCH_MS = 30000,      /* looks whether libre still holds a
				     * connection it may have timed out */
	WIRE_LINGER_MS = 2000,      /* an answered connection's last words */
	WIRE_STARTLINE_MAX = 8192,  /* libre gives up on a start line here */
};

struct wire_udp {
	struct side *side;
	udp_recv_h *rh;             /* libre's */
	void *arg;
	struct udp_sock *us;
};

/* A connection of a side: accepted on its SIP listener, or opened while
 * sending on it.  It holds a reference
 * to the tcp_conn: libre lets go of its own when it times the connection
 * out, unseen from here, and the count of references then says so. */
struct wire_conn {
	struct le le;
	struct side *side;
	struct tcp_conn *tc;
	tcp_estab_h *eh;            /* libre's */
	tcp_recv_h *rh;
	tcp_close_h *ch;
	void *arg;
	struct sa peer;
	enum sip_transp tp;
	struct mbuf *buf;           /* what libre has not been handed yet */
	struct tmr tmr;
	uint64_t deadline;          /* of a message begun, 0: none */
	bool closing;               /* answered or given up: libre let go */
};

/* What a request line and a header block tell without libre. */
struct raw {
	bool response;
	struct pl met, ruri, ver;
	struct pl via;              /* the top Via value */
	struct pl from, to, callid, cseq, ua, ctype;
	bool complete;              /* the empty line ending the headers */
};

static struct {
	struct sbc *sbc;
	struct side *adding;        /* listen.c adds its UDP transport */
	struct list conns;
	bool in_udp;                /* libre decodes a datagram of ours */
	bool undecoded;             /* ... and could not */
} wire;

static const char branch_prefix[] = "sbc-2543-";

static void pl_trim_lws(struct pl *pl)
{
	while (pl->l && sipmsg_lws(pl->p[0])) {
		++pl->p;
		--pl->l;
	}
	while (pl->l && sipmsg_lws(pl->p[pl->l - 1]))
		--pl->l;
}

/* The next header of a header block, folded lines included; false at
 * the empty line (*complete) or at the end of the bytes. */
static bool hdr_next(struct pl *rest, struct pl *name, struct pl *val,
		     bool *complete)
{
	const char *p = rest->p, *e = rest->p + rest->l, *nl, *colon;

	if (p == e)
		return false;
	if (*p == '\n' || (*p == '\r' && p + 1 < e && p[1] == '\n')) {
		*complete = true;
		return false;
	}
	nl = memchr(p, '\n', e - p);
	while (nl && nl + 1 < e && (nl[1] == ' ' || nl[1] == '\t'))
		nl = memchr(nl + 1, '\n', e - nl - 1);
	if (!nl)
		nl = e;
	rest->p = nl < e ? nl + 1 : e;
	rest->l = e - rest->p;

	colon = memchr(p, ':', nl - p);
	name->p = p;
	name->l = colon ? (size_t)(colon - p) : 0;
	pl_trim_lws(name);
	val->p = colon ? colon + 1 : nl;
	val->l = nl - val->p;
	pl_trim_lws(val);
	return true;
}

static bool hdr_is(const struct pl *name, const char *lng, char cmp)
{
	return !pl_strcasecmp(name, lng)
		|| (cmp && name->l == 1 && (name->p[0] | 0x20) == cmp);
}

static void raw_header(struct raw *r, const struct pl *name,
		       const struct pl *val)
{
	if (!r->via.p && hdr_is(name, "via", 'v')) {
		const char *c = pl_strchr(val, ',');

		r->via = *val;
		if (c)
			r->via.l = c - val->p;
		pl_trim_lws(&r->via);
	}
	else if (!r->from.p && hdr_is(name, "from", 'f'))
		r->from = *val;
	else if (!r->to.p && hdr_is(name, "to", 't'))
		r->to = *val;
	else if (!r->callid.p && hdr_is(name, "call-id", 'i'))
		r->callid = *val;
	else if (!r->cseq.p && hdr_is(name, "cseq", 0))
		r->cseq = *val;
	else if (!r->ua.p && hdr_is(name, "user-agent", 0))
		r->ua = *val;
	else if (!r->ctype.p && hdr_is(name, "content-type", 'c'))
		r->ctype = *val;
}

/* The start line split at its first and last space; EBADMSG if there is
 * no start line to speak of. */
static int raw_read(struct raw *r, const char *p, size_t l)
{
	const char *nl = memchr(p, '\n', MIN(l, (size_t)WIRE_STARTLINE_MAX));
	const char *sp1, *sp2;
	struct pl line, rest, name, val;

	memset(r, 0, sizeof(*r));
	if (!nl)
		return EBADMSG;
	line.p = p;
	line.l = nl - p;
	if (line.l && line.p[line.l - 1] == '\r')
		--line.l;
	r->response = line.l >= 4 && !memcmp(line.p, "SIP/", 4);

	sp1 = memchr(line.p, ' ', line.l);
	for (sp2 = line.p + line.l; sp2 > line.p && sp2[-1] != ' '; --sp2)
		;
	if (!sp1 || --sp2 <= sp1)
		return EBADMSG;
	r->met.p = line.p;
	r->met.l = sp1 - line.p;
	r->ruri.p = sp1 + 1;
	r->ruri.l = sp2 - r->ruri.p;
	r->ver.p = sp2 + 1;
	r->ver.l = line.p + line.l - r->ver.p;

	rest.p = nl + 1;
	rest.l = p + l - rest.p;
	while (hdr_next(&rest, &name, &val, &r->complete))
		raw_header(r, &name, &val);
	return 0;
}

static bool token(const struct pl *pl)
{
	static const char extra[] = "-.!%*_+`'~";

	if (!pl->l)
		return false;
	for (size_t i = 0; i < pl->l; i++) {
		const char c = pl->p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		      || (c >= '0' && c <= '9') || (c && strchr(extra, c))))
			return false;
	}
	return true;
}

/* "SIP/x.y" with x and y numbers: some version of SIP */
static bool sip_version(const struct pl *ver)
{
	struct pl x, y;
	const char *dot;

	if (ver->l < 7 || strncasecmp(ver->p, "SIP/", 4))
		return false;
	x.p = ver->p + 4;
	dot = memchr(x.p, '.', ver->l - 4);
	if (!dot)
		return false;
	x.l = dot - x.p;
	y.p = dot + 1;
	y.l = ver->p + ver->l - y.p;
	return store_digits(&x, 3) && store_digits(&y, 3);
}

/* A Via to answer to, of any version: protocol/version/transport and a
 * sent-by, from its first character on. */
static bool via_readable(const struct pl *via)
{
	struct pl proto;

	static const char xpr[] =
		"[^/ \t\r\n]+[ \t\r\n]*/[ \t\r\n]*[^/ \t\r\n]+"
		"[ \t\r\n]*/[ \t\r\n]*[^ \t\r\n]+[ \t\r\n]+[^; \t\r\n]+";

	return via->l && !re_regex(via->p, via->l, xpr, &proto, NULL, NULL,
				   NULL, NULL, NULL, NULL, NULL, NULL)
		&& proto.p == via->p;
}

/* Whether a request can be answered, and with what. */
static bool raw_answer(const struct raw *r, uint16_t *scode,
		       const char **reason)
{
	struct sip_addr addr;
	struct sip_cseq cseq;
	struct msg_ctype ct;
	struct uri uri;

	if (r->response || !token(&r->met) || !via_readable(&r->via))
		return false;

	*scode = 400;
	if (pl_strcasecmp(&r->ver, "SIP/2.0") && sip_version(&r->ver)) {
		*scode = 505;
		*reason = "Version Not Supported";
	}
	else if (pl_strcasecmp(&r->ver, "SIP/2.0") || !r->ruri.l
		 || pl_strchr(&r->ruri, ' ') || pl_strchr(&r->ruri, '\t'))
		*reason = "Bad Request Line";
	else if (uri_decode(&uri, &r->ruri))
		*reason = "Bad Request-URI";
	else if (!validate_via(&r->via, false))
		*reason = "Bad Via";
	else if (r->from.p && (sip_addr_decode(&addr, &r->from)
			       || !validate_addr(&r->from)))
		*reason = "Bad From Header";
	else if (r->to.p && (sip_addr_decode(&addr, &r->to)
			     || !validate_addr(&r->to)))
		*reason = "Bad To Header";
	else if (r->cseq.p && sip_cseq_decode(&cseq, &r->cseq))
		*reason = "Bad CSeq";
	else if (r->ctype.p && msg_ctype_decode(&ct, &r->ctype))
		*reason = "Bad Content-Type";
	else if (!r->complete)
		*reason = "Incomplete Message";
	else
		*reason = "Malformed Request";
	return true;
}

/* The answer: the request's Via, From, To, Call-ID and CSeq lines as
 * they came (RFC 3261 8.2.6.2), a To tag if it had none. */
static int raw_reply(struct mbuf *mb, const struct raw *r, const char *p,
		     size_t l, uint16_t scode, const char *reason)
{
	const char *nl = memchr(p, '\n', l);
	struct pl rest, name, val, tag;
	bool complete = false;
	int err;

	err = mbuf_printf(mb, "SIP/2.0 %u %s\r\n", scode, reason);
	rest.p = nl + 1;
	rest.l = p + l - rest.p;
	while (!err && hdr_next(&rest, &name, &val, &complete)) {
		if (!(hdr_is(&name, "via", 'v') || hdr_is(&name, "from", 'f')
		      || hdr_is(&name, "to", 't')
		      || hdr_is(&name, "call-id", 'i')
		      || hdr_is(&name, "cseq", 0)))
			continue;
		err = mbuf_printf(mb, "%r: %r", &name, &val);
		if (!err && val.p == r->to.p
		    && msg_param_decode(&val, "tag", &tag))
			err = mbuf_printf(mb, ";tag=%016llx",
					  (unsigned long long)rand_u64());
		err |= mbuf_write_str(mb, "\r\n");
	}
	err |= mbuf_printf(mb, "Server: sbc/%s\r\nContent-Length: 0\r\n\r\n",
			   SBC_VERSION);
	mb->pos = 0;
	return err;
}

/* At most 32 printable characters of what a sender put there. */
static int print_safe(struct re_printf *pf, const struct pl *pl)
{
	char buf[33];
	size_t n = pl ? MIN(pl->l, sizeof(buf) - 1) : 0;

	for (size_t i = 0; i < n; i++)
		buf[i] = pl->p[i] > ' ' && pl->p[i] < 0x7f ? pl->p[i] : '?';
	buf[n] = '\0';
	return re_hprintf(pf, "%s", n ? buf : "message");
}

static void report(struct side *side, enum sip_transp tp,
		   const struct sa *src, const struct raw *r,
		   const char *action, const char *why)
{
	struct sbc *sbc = side->sbc;
	const struct conf_peer *peer = side->id == SIDE_ACCESS
		? conf_peer_find(sbc->conf, src) : NULL;
	const struct event_msg em = {
		.src = src, .tp = tp,
		.met = r ? &r->met : NULL, .from = r ? &r->from : NULL,
		.to = r ? &r->to : NULL, .ua = r ? &r->ua : NULL,
		.callid = r ? &r->callid : NULL,
		.peer = peer ? peer->name : "",
	};

	++sbc->stats.invalid;
	LOGRI(sbc, "%s side: invalid %H from %J (%s): %s%s%s", side->name,
	     print_safe, r && !r->response ? &r->met : NULL, src,
	     sip_transp_name(tp), action[0] <= '9' ? action
	     : action[0] == 'c' ? "connection closed" : "dropped",
	     action[0] <= '9' ? " " : ", ", why);
	event_emit_msg(sbc, &em, "invalid", action);
}

/* What libre could not decode counts towards a flood ban as any request
 * does (flood.c): garbage is no way around it.  True if banned. */
static bool flooded(struct side *side, enum sip_transp tp,
		    const struct sa *src)
{
	struct sip_msg msg;
	struct req_ctx ctx;

	memset(&msg, 0, sizeof(msg));
	msg.src = *src;
	msg.tp = tp;
	memset(&ctx, 0, sizeof(ctx));
	ctx.sbc = side->sbc;
	ctx.in = side;
	ctx.msg = &msg;
	if (side->id == SIDE_ACCESS)
		ctx.peer = conf_peer_find(side->sbc->conf, src);
	return flood_count(side->sbc, &ctx);
}

/* Where a UDP answer to R goes: where reply_addr() sends every other
 * answer (the access side to the source, the core side by the RFCs),
 * read from the top Via if libre decodes that, else to the source. */
static void raw_dst(struct sa *dst, const struct side *side,
		    const struct sa *src, const struct raw *r)
{
	struct sip_msg m;

	memset(&m, 0, sizeof(m));
	m.src = *src;
	m.tp = SIP_TRANSP_UDP;
	if (!pl_isset(&r->via) || sip_via_decode(&m.via, &r->via)) {
		*dst = *src;
		return;
	}
	reply_addr(dst, side, &m);
}

/*
 * What libre could not decode, or a stream cannot go on with: a request
 * whose request line and top Via can be read is answered (WHY, or what
 * raw_answer() finds wrong) into the socket it came from (US) or down its
 * connection (TC), unless !ANSWER; anything else is dropped.  Returns
 * whether an answer went out.
 */
static bool reject(struct side *side, enum sip_transp tp,
		   const struct sa *src, const char *p, size_t l,
		   struct udp_sock *us, struct tcp_conn *tc, const char *why,
		   bool answer)
{
	struct raw r;
	const char *reason = NULL, *answer_none = "drop";
	struct sa dst;
	char action[8];
	uint16_t scode = 0;
	struct mbuf *mb;
	int err = ENOMEM;

	if (store_silent(&side->sbc->store)) {
		++side->sbc->stats.standby_dropped;
		return false;
	}
	if (flooded(side, tp, src))
		return false;

	/* what is not answered ends a connection (conn_end() follows) */
	if (tc)
		answer_none = "close";
	if (raw_read(&r, p, l)) {
		report(side, tp, src, NULL, answer_none,
		       why ? why : "no start line");
		return false;
	}
	if (!raw_answer(&r, &scode, &reason) || !answer
	    || !pl_strcmp(&r.met, "ACK")) {
		/* an ACK is never answered (RFC 3261 17.2.1) */
		if (!why && r.response)
			why = "malformed response";
		else if (!why)
			why = reason ? reason : "no request line or Via";
		report(side, tp, src, &r, answer_none, why);
		return false;
	}
	if (why && scode == 400)
		reason = why;

	if (us)
		raw_dst(&dst, side, src, &r);
	mb = mbuf_alloc(512);
	if (mb && !raw_reply(mb, &r, p, l, scode, reason))
		err = us ? udp_send(us, &dst, mb) : tcp_send(tc, mb);
	mem_deref(mb);
	(void)re_snprintf(action, sizeof(action), "%u", scode);
	report(side, tp, src, &r, action, reason);
	if (err)
		LOGRW(side->sbc, "%s side: cannot answer %J: %m", side->name,
		      us ? &dst : src, err);
	return !err;
}

static uint64_t fnv(uint64_t h, const struct pl *pl)
{
	for (size_t i = 0; pl && i < pl->l; i++)
		h = (h ^ (uint8_t)pl->p[i]) * 0x100000001b3ULL;
	return (h ^ 0xff) * 0x100000001b3ULL;
}

/*
 * An RFC 2543 request (its top Via well-formed but without a branch) as a
 * new message whose top Via has a branch made of what identifies its
 * transaction (RFC 3261 17.2.3): Request-URI, From tag, Call-ID, CSeq
 * number and top Via.  The To tag and the CSeq method are left out, so
 * that its CANCEL and the ACK of a failure get the same branch.  NULL if
 * it is not one, or libre cannot decode it even so.
 */
static struct mbuf *branch_2543(const char *p, size_t l)
{
	static const char param[] = ";branch=";
	struct raw r;
	struct sip_via via;
	struct sip_msg *msg = NULL;
	const struct sip_hdr *cseq;
	struct pl num = PL_INIT, b;
	char hex[17];
	struct mbuf *mb;
	size_t at;
	uint64_t h;

	memset(&via, 0, sizeof(via));
	if (raw_read(&r, p, l) || r.response || !r.complete
	    || pl_strcmp(&r.ver, "SIP/2.0") || !validate_via(&r.via, false)
	    || sip_via_decode(&via, &r.via) != ENOENT
	    || !pl_isset(&via.sentby)
	    || !msg_param_exists(&via.params, "branch", &b))
		return NULL;

	/* a placeholder first: libre decodes nothing without a branch */
	at = r.via.p + r.via.l - p;
	mb = mbuf_alloc(l + 64);
	if (!mb)
		return NULL;
	if (mbuf_write_mem(mb, (const uint8_t *)p, at)
	    || mbuf_printf(mb, "%s%s%016llx", param, branch_prefix, 0ULL)
	    || mbuf_write_mem(mb, (const uint8_t *)p + at, l - at))
		goto fail;
	mb->pos = 0;
	if (sip_msg_decode(&msg, mb))
		goto fail;

	cseq = sip_msg_hdr(msg, SIP_HDR_CSEQ);
	if (cseq)
		(void)re_regex(cseq->val.p, cseq->val.l, "[0-9]+", &num);
	h = fnv(0xcbf29ce484222325ULL, &msg->ruri);
	h = fnv(h, &msg->from.tag);
	h = fnv(h, &msg->callid);
	h = fnv(h, &num);
	h = fnv(h, &r.via);
	mem_deref(msg);

	(void)re_snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)h);
	memcpy(mb->buf + at + sizeof(param) - 1 + sizeof(branch_prefix) - 1,
	       hex, 16);
	mb->pos = 0;
	return mb;
 fail:
	mem_deref(mb);
	return NULL;
}

static bool is_sip(const struct mbuf *mb)
{
	static const uint8_t cookie[4] = {0x21, 0x12, 0xa4, 0x42};
	const uint8_t *p = mbuf_buf(mb);

	/* what libre itself skips: keep-alives, STUN */
	if (mb->end <= 4)
		return false;
	return !(mbuf_get_left(mb) >= 20 && !(p[0] & 0xc0)
		 && !memcmp(p + 4, cookie, 4));
}

static bool udp_give(struct wire_udp *wu, const struct sa *src,
		     struct mbuf *mb)
{
	wire.undecoded = false;
	wire.in_udp = true;
	wu->rh(src, mb, wu->arg);
	wire.in_udp = false;
	return !wire.undecoded;
}

void wire_udp_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct wire_udp *wu = arg;
	const size_t pos = mb->pos;
	struct mbuf *mb2;
	bool ok;

	if (udp_give(wu, src, mb))
		return;
	mb->pos = pos;
	if (!is_sip(mb))
		return;

	mb2 = branch_2543((const char *)mbuf_buf(mb), mbuf_get_left(mb));
	ok = mb2 && udp_give(wu, src, mb2);
	mem_deref(mb2);
	if (ok) {
		LOGD(wu->side->sbc, "%s side: RFC 2543 request from %J (udp) "
		     "given a branch", wu->side->name, src);
		return;
	}
	(void)reject(wu->side, SIP_TRANSP_UDP, src, (const char *)mbuf_buf(mb),
		     mbuf_get_left(mb), wu->us, NULL, NULL, true);
}

struct wire_udp *wire_udp_claim(udp_recv_h *rh, void *arg)
{
	struct side *side = wire.adding;
	struct wire_udp *wu;

	if (!side || side->wire_udp)
		return NULL;
	wu = mem_zalloc(sizeof(*wu), NULL);
	if (!wu)
		return NULL;
	wu->side = side;
	wu->rh = rh;
	wu->arg = arg;
	side->wire_udp = wu;
	return wu;
}

void wire_udp_bound(struct wire_udp *wu, struct udp_sock *us)
{
	wu->us = us;
}

/* --- streams --- */

static bool libre_holds(const struct wire_conn *wc)
{
	return !wc->closing && mem_nrefs(wc->tc) > 1;
}

static void conn_destructor(void *arg)
{
	struct wire_conn *wc = arg;

	tmr_cancel(&wc->tmr);
	list_unlink(&wc->le);
	mem_deref(wc->buf);
	mem_deref(wc->tc);
}

static void conn_tmr(void *arg);

static void conn_arm(struct wire_conn *wc)
{
	uint64_t ms = WIRE_WATCH_MS, now = tmr_jiffies();

	if (wc->closing)
		ms = WIRE_LINGER_MS;
	else if (wc->deadline)
		ms = wc->deadline > now ? MIN(wc->deadline - now, ms) : 0;
	tmr_start(&wc->tmr, ms, conn_tmr, wc);
}

/* Our part is over: libre has let go, the connection goes. */
static void conn_release(struct wire_conn *wc)
{
	mem_deref(wc);
}

/*
 * The connection is given up: libre lets go of it first (its close
 * handler, as if the peer had closed), then the peer reads what it was
 * sent and the end of it; the last bytes it sends are read and ignored.
 */
static void conn_end(struct wire_conn *wc)
{
	int fd = tcp_conn_fd(wc->tc);

	if (!tcp_conn_txqsz(wc->tc) && fd >= 0)
		(void)shutdown(fd, SHUT_WR);
	if (libre_holds(wc))
		wc->ch(ECONNRESET, wc->arg);
	wc->closing = true;
	wc->deadline = 0;
	mem_deref(wc->buf);
	wc->buf = NULL;
	conn_arm(wc);
}

/* The message at the start of the buffer ends the connection: answered
 * (WHY, or what is wrong with it) if ANSWER and it can be. */
static void conn_reject(struct wire_conn *wc, const char *why, bool answer)
{
	(void)reject(wc->side, wc->tp, &wc->peer,
		     (const char *)mbuf_buf(wc->buf), mbuf_get_left(wc->buf),
		     NULL, wc->tc, why, answer);
	conn_end(wc);
}

static void conn_tmr(void *arg)
{
	struct wire_conn *wc = arg;

	if (wc->closing || !libre_holds(wc)) {
		conn_release(wc);
		return;
	}
	if (wc->deadline && tmr_jiffies() >= wc->deadline) {
		conn_reject(wc, "message not complete in time", false);
		return;
	}
	conn_arm(wc);
}

/* Hand libre LEN bytes (whole messages or keep-alives); false if that
 * was the end of the connection. */
static bool conn_give(struct wire_conn *wc, size_t len)
{
	struct mbuf *mb = mbuf_alloc(len);

	if (!mb || mbuf_write_mem(mb, mbuf_buf(wc->buf), len)) {
		mem_deref(mb);
		conn_end(wc);
		return false;
	}
	mb->pos = 0;
	wc->buf->pos += len;
	wc->rh(mb, wc->arg);
	mem_deref(mb);
	if (!libre_holds(wc)) {
		conn_release(wc);
		return false;
	}
	return true;
}

static size_t crlf_run(const struct mbuf *mb)
{
	const uint8_t *p = mbuf_buf(mb);
	size_t n = 0, l = mbuf_get_left(mb);

	while (n + 2 <= l && p[n] == '\r' && p[n + 1] == '\n')
		n += 2;
	return n;
}

static bool header_block_ends(const struct mbuf *mb)
{
	const char *p = (const char *)mbuf_buf(mb);
	const size_t l = mbuf_get_left(mb);

	return (l >= 4 && memmem(p, l, "\r\n\r\n", 4))
		|| (l >= 2 && memmem(p, l, "\n\n", 2));
}

/* How long the message at the start of the buffer is, 0 while it is not
 * whole; a message that cannot be framed ends the connection. */
static size_t frame(struct wire_conn *wc, bool *end)
{
	struct mbuf *buf = wc->buf;
	const size_t start = buf->pos;
	struct sip_msg *msg = NULL;
	struct mbuf *mb2;
	const char *bad = NULL;
	size_t len = 0;
	uint32_t n;
	int err;

	*end = false;
	err = sip_msg_decode(&msg, buf);
	if (err == ENODATA && !header_block_ends(buf)
	    && mbuf_get_left(buf) <= WIRE_STARTLINE_MAX)
		return 0;               /* more to come */
	if (err && err != ENODATA && !header_block_ends(buf))
		return 0;               /* judged once the headers are in */
	if (err) {
		mb2 = branch_2543((const char *)mbuf_buf(buf),
				  mbuf_get_left(buf));
		if (mb2 && !sip_msg_decode(&msg, mb2)) {
			LOGD(wc->side->sbc, "%s side: RFC 2543 request from "
			     "%J given a branch", wc->side->name, &wc->peer);
			mem_deref(wc->buf);
			wc->buf = buf = mb2;
			mb2 = NULL;
			err = 0;
		}
		mem_deref(mb2);
	}
	if (err) {
		conn_reject(wc, NULL, true);
		*end = true;
		return 0;
	}

	n = sip_msg_hdr_count(msg, SIP_HDR_CONTENT_LENGTH);
	if (!n)
		bad = "Missing Content-Length";
	else if (n > 1)
		bad = "Duplicate Content-Length";
	else if (!store_digits(&msg->clen, 5)
		 || pl_u32(&msg->clen) > WIRE_STREAM_MAX)
		bad = "Bad Content-Length";
	else if (mbuf_get_left(buf) >= pl_u32(&msg->clen))
		len = buf->pos - start + pl_u32(&msg->clen);
	buf->pos = start;
	mem_deref(msg);
	if (bad) {
		/* answered if it can be, then the stream is lost */
		conn_reject(wc, bad, true);
		*end = true;
	}
	return len;
}

void wire_conn_recv(struct mbuf *mb, void *arg)
{
	struct wire_conn *wc = arg;
	size_t len;
	bool end;

	if (wc->closing)
		return;
	if (!libre_holds(wc)) {
		conn_release(wc);
		return;
	}
	if (!wc->buf)
		wc->buf = mbuf_alloc(mbuf_get_left(mb));
	if (!wc->buf || (wc->buf->pos = wc->buf->end,
			 mbuf_write_mem(wc->buf, mbuf_buf(mb),
					mbuf_get_left(mb)))) {
		conn_end(wc);
		return;
	}
	wc->buf->pos = 0;

	while (mbuf_get_left(wc->buf)) {
		end = false;
		len = crlf_run(wc->buf);
		if (!len)
			len = frame(wc, &end);
		if (end)
			return;
		if (!len)
			break;
		if (!conn_give(wc, len))
			return;
		wc->deadline = 0;
	}

	if (!mbuf_get_left(wc->buf)) {
		wc->buf = mem_deref(wc->buf);
	}
	else if (mbuf_get_left(wc->buf) > WIRE_STREAM_MAX) {
		conn_reject(wc, "message too large", false);
		return;
	}
	else {
		/* keep the rest at the start of a buffer of its own */
		struct mbuf *rest = mbuf_alloc(mbuf_get_left(wc->buf));

		if (!rest || mbuf_write_mem(rest, mbuf_buf(wc->buf),
					    mbuf_get_left(wc->buf))) {
			mem_deref(rest);
			conn_end(wc);
			return;
		}
		mem_deref(wc->buf);
		wc->buf = rest;
		if (!wc->deadline && wc->side->sbc->conf->tcp_message_timeout)
			wc->deadline = tmr_jiffies() + 1000ULL
				* wc->side->sbc->conf->tcp_message_timeout;
	}
	conn_arm(wc);
}

void wire_conn_estab(void *arg)
{
	struct wire_conn *wc = arg;

	if (libre_holds(wc) && wc->eh)
		wc->eh(wc->arg);
}

void wire_conn_close(int err, void *arg)
{
	struct wire_conn *wc = arg;

	if (libre_holds(wc))
		wc->ch(err, wc->arg);
	conn_release(wc);
}

/* The side whose SIP listener TS is: its address and one of its ports. */
static struct side *listener_side(struct tcp_sock *ts, enum sip_transp *tp)
{
	struct sa la;

	if (!wire.sbc || tcp_sock_local_get(ts, &la))
		return NULL;
	for (int i = 0; i < SIDE_COUNT; i++) {
		struct side *side = &wire.sbc->side[i];

		if (!side->sip || !sa_cmp(&side->laddr, &la, SA_ADDR))
			continue;
		*tp = sa_port(&la) == side->tls_port ? SIP_TRANSP_TLS
						      : SIP_TRANSP_TCP;
		if (sa_port(&la) == side->port
		    || sa_port(&la) == side->tls_port)
			return side;
	}
	return NULL;
}

static struct wire_conn *conn_new(struct side *side, enum sip_transp tp,
				  tcp_estab_h *eh, tcp_recv_h *rh,
				  tcp_close_h *ch, void *arg)
{
	struct wire_conn *wc;

	wc = mem_zalloc(sizeof(*wc), conn_destructor);
	if (!wc)
		return NULL;
	wc->side = side;
	wc->tp = tp;
	wc->eh = eh;
	wc->rh = rh;
	wc->ch = ch;
	wc->arg = arg;
	tmr_init(&wc->tmr);
	list_append(&wire.conns, &wc->le, wc);
	return wc;
}

struct wire_conn *wire_conn_claim(struct tcp_sock *ts, tcp_estab_h *eh,
				  tcp_recv_h *rh, tcp_close_h *ch, void *arg)
{
	enum sip_transp tp = SIP_TRANSP_TCP;
	struct side *side = listener_side(ts, &tp);

	return side ? conn_new(side, tp, eh, rh, ch, arg) : NULL;
}

/* libre's SIP transport connects while sbcd sends on a side
 * (listen_source()); any other connection (DNS over TCP, a reply's new
 * connection libre opens by itself) stays libre's alone.  TLS, if any,
 * starts after the connect: wire_conn_tls() says so. */
struct wire_conn *wire_conn_claim_out(tcp_estab_h *eh, tcp_recv_h *rh,
				      tcp_close_h *ch, void *arg)
{
	const struct side *side = listen_source_side();

	if (!wire.sbc || !side || !side->sip)
		return NULL;
	return conn_new((struct side *)side, SIP_TRANSP_TCP, eh, rh, ch, arg);
}

void wire_conn_opened(struct wire_conn *wc, struct tcp_conn *tc,
		      const struct sa *peer)
{
	if (!tc) {
		mem_deref(wc);
		return;
	}
	wc->tc = mem_ref(tc);
	wc->peer = *peer;
	conn_arm(wc);
}

void wire_conn_tls(const struct tcp_conn *tc)
{
	for (struct le *le = wire.conns.head; le; le = le->next) {
		struct wire_conn *wc = le->data;

		if (wc->tc == tc) {
			wc->tp = SIP_TRANSP_TLS;
			return;
		}
	}
}

void wire_conn_accepted(struct wire_conn *wc, struct tcp_conn *tc)
{
	if (!tc) {
		mem_deref(wc);
		return;
	}
	wc->tc = mem_ref(tc);
	(void)tcp_conn_peer_get(tc, &wc->peer);
	conn_arm(wc);
}

/* --- libre's prints --- */

void wire_libre_print(const char *p, size_t len)
{
	static const char decode_err[] = "sip: msg decode err";

	/* a datagram it could not decode: reported once it is back here */
	if (wire.in_udp && len >= sizeof(decode_err) - 1
	    && !memcmp(p, decode_err, sizeof(decode_err) - 1)) {
		wire.undecoded = true;
		return;
	}
	while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		--len;
	LOGW(wire.sbc, "libre: %b", p, len);
}

void wire_init(struct sbc *sbc)
{
	wire.sbc = sbc;
	list_init(&wire.conns);
}

void wire_adding(struct side *side)
{
	wire.adding = side;
}

void wire_close(struct sbc *sbc)
{
	for (int i = 0; i < SIDE_COUNT; i++)
		sbc->side[i].wire_udp = mem_deref(sbc->side[i].wire_udp);
	list_flush(&wire.conns);
	wire.sbc = NULL;
}
