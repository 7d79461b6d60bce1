/*
 * validate.c: strict checks of what arrives, before anything else looks
 * at it.  A malformed request is answered 400 with a reason phrase that
 * says what is wrong; oversized ones 513, another URI scheme than sip,
 * sips and tel 416, a Proxy-Require (sbcd supports no extension) 420.
 * Malformed responses are dropped by the caller.  What libre parses
 * liberally but RFC 3261's grammar refuses (RFC 4475 3.1.2: an unquoted
 * display name with a comma, spaces inside <>, headers in the
 * Request-URI, scalars past 2**32) is refused here: it could not be
 * forwarded as the sender meant it.
 */
#include <string.h>
#include "sbc.h"

/* RFC 3261 25.1 token characters; octets past ASCII pass too, as in the
 * display names of many PBXs */
static bool token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		|| (c >= '0' && c <= '9') || (c && strchr("-.!%*_+`'~", c))
		|| (uint8_t)c >= 0x80;
}

static const char *skip_lws(const char *p, const char *e)
{
	while (p < e && sipmsg_lws(*p))
		++p;
	return p;
}

/*
 * A From, To or Contact value as RFC 3261 25.1 writes it: a display name
 * that is a quoted string or tokens, then an addr-spec inside <> with no
 * LWS in it; or a bare addr-spec without LWS, ',' or '?' (such a URI must
 * be inside <>, RFC 3261 20).  Parameters after it are libre's to parse.
 */
bool validate_addr(const struct pl *val)
{
	const char *p = val->p, *e = val->p + val->l, *q;

	p = skip_lws(p, e);
	if (p < e && *p == '"') {
		for (++p; p < e && *p != '"'; p++)
			if (*p == '\\' && ++p == e)
				return false;
		if (p == e)
			return false;
		p = skip_lws(p + 1, e);
		if (p == e || *p != '<')
			return false;
	}
	for (q = p; q < e && (token_char(*q) || sipmsg_lws(*q)); q++)
		;
	if (q < e && *q == '<')
		p = q;
	if (p < e && *p == '<') {
		for (q = p + 1; q < e && *q != '>'; q++)
			if (sipmsg_lws(*q))
				return false;
		return q < e && q > p + 1;
	}

	/* a bare addr-spec ends at its first parameter */
	for (q = p; q < e && *q != ';'; q++)
		;
	while (q > p && sipmsg_lws(q[-1]))
		--q;
	if (q == p)
		return false;
	for (; p < q; p++)
		if (sipmsg_lws(*p) || *p == ',' || *p == '?' || *p == '<')
			return false;
	return true;
}

/* One Via value: libre reads its sent-by, and it has no empty parameter
 * (RFC 4475 3.1.2.1); the top one needs a branch too. */
bool validate_via(const struct pl *val, bool top)
{
	struct sip_via via;
	const char *p, *e;
	int err;

	memset(&via, 0, sizeof(via));
	err = sip_via_decode(&via, val);
	if (!pl_isset(&via.sentby) || (err && (top || err != ENOENT)))
		return false;
	if (pl_isset(&via.params) && via.params.p[0] != ';')
		return false;
	p = via.params.p;
	e = p ? p + via.params.l : p;
	while (p && p < e) {
		const char *q = p + 1;

		while (q < e && *q != ';')
			++q;
		if (skip_lws(p + 1, q) == q)
			return false;
		p = q;
	}
	return true;
}

static int fail(struct req_ctx *ctx, uint16_t scode, const char *reason)
{
	ctx->scode = scode;
	ctx->reason = reason;
	return EBADMSG;
}

static bool hdr_once(const struct sip_msg *msg, enum sip_hdrid id)
{
	return sip_msg_hdr_count(msg, id) == 1;
}

/* Headers whose value may not be longer than max_header_size. */
static const struct sip_hdr *long_header(const struct sip_msg *msg,
					 uint32_t max)
{
	for (struct le *le = msg->hdrl.head; le; le = le->next) {
		const struct sip_hdr *hdr = le->data;

		if (hdr->val.l > max)
			return hdr;
	}
	return NULL;
}

static int check_sizes(struct req_ctx *ctx)
{
	const struct sbc_conf *conf = ctx->sbc->conf;
	const struct sip_msg *msg = ctx->msg;

	if (msg->mb->end > conf->max_message_size)
		return fail(ctx, 513, "Message Too Large");
	if (mbuf_get_left(msg->mb) > conf->max_body_size)
		return fail(ctx, 513, "Message Body Too Large");
	if (long_header(msg, conf->max_header_size))
		return fail(ctx, 400, "Header Value Too Long");
	return 0;
}

/* The scheme of the Request-URI as written: ALPHA *( ALPHA / DIGIT /
 * "+" / "-" / "." ) before the first ':' (RFC 3986 3.1); libre reads
 * some URIs of other schemes a different way. */
static bool ruri_scheme(const struct pl *ruri, struct pl *scheme)
{
	const char *c = pl_strchr(ruri, ':');

	if (!c || c == ruri->p)
		return false;
	scheme->p = ruri->p;
	scheme->l = c - ruri->p;
	for (size_t i = 0; i < scheme->l; i++) {
		const char ch = scheme->p[i] | 0x20;

		if (!(ch >= 'a' && ch <= 'z')
		    && (!i || !((scheme->p[i] >= '0' && scheme->p[i] <= '9')
				|| scheme->p[i] == '+' || scheme->p[i] == '-'
				|| scheme->p[i] == '.')))
			return false;
	}
	return true;
}

static bool hdr_addr_ok(const struct sip_msg *msg, enum sip_hdrid id)
{
	const struct sip_hdr *hdr = sip_msg_hdr(msg, id);

	return hdr && validate_addr(&hdr->val);
}

static bool contact_bad(const struct sip_hdr *hdr, const struct sip_msg *msg,
			void *arg)
{
	(void)msg;
	(void)arg;
	return pl_strcmp(&hdr->val, "*") && !validate_addr(&hdr->val);
}

static int check_uris(struct req_ctx *ctx)
{
	const struct sip_msg *msg = ctx->msg;
	const struct uri *u = &msg->uri;
	struct pl scheme;

	if (!ruri_scheme(&msg->ruri, &scheme))
		return fail(ctx, 400, "Bad Request-URI");
	if (pl_strcasecmp(&scheme, "sip") && pl_strcasecmp(&scheme, "sips")
	    && pl_strcasecmp(&scheme, "tel"))
		return fail(ctx, 416, "Unsupported URI Scheme");
	/* escaped headers belong in a Contact, never in a Request-URI
	 * (RFC 3261 19.1.5, RFC 4475 3.1.2.11) */
	if (pl_strcasecmp(&scheme, "tel")
	    && (!pl_isset(&u->host) || pl_isset(&u->headers)))
		return fail(ctx, 400, "Bad Request-URI");
	if (!pl_isset(&msg->from.uri.scheme) || !pl_isset(&msg->from.auri)
	    || !hdr_addr_ok(msg, SIP_HDR_FROM))
		return fail(ctx, 400, "Bad From Header");
	if (!pl_isset(&msg->to.uri.scheme) || !pl_isset(&msg->to.auri)
	    || !hdr_addr_ok(msg, SIP_HDR_TO))
		return fail(ctx, 400, "Bad To Header");
	if (sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT, contact_bad, NULL))
		return fail(ctx, 400, "Bad Contact");
	return 0;
}

static bool via_bad(const struct sip_hdr *hdr, const struct sip_msg *msg,
		    void *arg)
{
	(void)msg;
	(void)arg;
	return !validate_via(&hdr->val, false);
}

static int check_via(struct req_ctx *ctx)
{
	const struct sip_msg *msg = ctx->msg;

	if (!pl_isset(&msg->via.sentby) || msg->via.tp == SIP_TRANSP_NONE
	    || !pl_isset(&msg->via.branch)
	    || sip_msg_hdr_apply(msg, true, SIP_HDR_VIA, via_bad, NULL))
		return fail(ctx, 400, "Bad Via");
	/* the magic cookie alone identifies nothing (RFC 4475 3.2.1);
	 * refused statelessly, as the next ones from there will be too */
	if (!pl_strcmp(&msg->via.branch, "z9hG4bK"))
		return fail(ctx, 400, "Bad Via Branch");
	return 0;
}

/* The CSeq number as written fits 32 bits (RFC 3261 8.1.1.5); libre's
 * reading of it wraps around. */
static bool cseq_ok(const struct sip_msg *msg)
{
	const struct sip_hdr *hdr = sip_msg_hdr(msg, SIP_HDR_CSEQ);
	struct pl num;

	return hdr && !re_regex(hdr->val.p, hdr->val.l, "[0-9]+", &num)
		&& num.p == hdr->val.p && store_digits(&num, 10)
		&& pl_u64(&num) <= UINT32_MAX;
}

/* RFC 3261 18.3: octets of a datagram past its Content-Length are not
 * part of the message (RFC 4475 3.1.1.8); fewer than it says is an error
 * found in check_numbers(). */
static void trim_datagram(const struct sip_msg *msg)
{
	if (msg->tp != SIP_TRANSP_UDP || !store_digits(&msg->clen, 10)
	    || sip_msg_hdr_count(msg, SIP_HDR_CONTENT_LENGTH) != 1)
		return;
	if (pl_u64(&msg->clen) < mbuf_get_left(msg->mb))
		msg->mb->end = msg->mb->pos + (size_t)pl_u64(&msg->clen);
}

static int check_numbers(struct req_ctx *ctx)
{
	const struct sip_msg *msg = ctx->msg;

	ctx->maxfwd = UINT32_MAX;
	if (pl_isset(&msg->maxfwd)) {
		/* leading zeros are fine (RFC 4475 3.1.1.1) */
		if (!store_digits(&msg->maxfwd, 10) || pl_u64(&msg->maxfwd) > 255)
			return fail(ctx, 400, "Bad Max-Forwards");
		ctx->maxfwd = pl_u32(&msg->maxfwd);
	}
	if (pl_isset(&msg->expires) && !store_digits(&msg->expires, 10))
		return fail(ctx, 400, "Bad Expires");
	if (pl_isset(&msg->expires) && pl_u64(&msg->expires) > UINT32_MAX)
		return fail(ctx, 400, "Bad Expires");
	if (pl_isset(&msg->clen)) {
		if (!store_digits(&msg->clen, 10))
			return fail(ctx, 400, "Bad Content-Length");
		if (pl_u64(&msg->clen) != mbuf_get_left(msg->mb))
			return fail(ctx, 400, "Content-Length Mismatch");
	}
	else if (msg->tp != SIP_TRANSP_UDP && mbuf_get_left(msg->mb)) {
		return fail(ctx, 400, "Missing Content-Length");
	}
	return 0;
}

int validate_request(struct req_ctx *ctx)
{
	const struct sip_msg *msg = ctx->msg;
	int err;

	trim_datagram(msg);
	err = check_sizes(ctx);
	if (err)
		return err;

	if (!hdr_once(msg, SIP_HDR_FROM))
		return fail(ctx, 400, "Missing or Duplicate From");
	if (!hdr_once(msg, SIP_HDR_TO))
		return fail(ctx, 400, "Missing or Duplicate To");
	if (!hdr_once(msg, SIP_HDR_CALL_ID) || !pl_isset(&msg->callid))
		return fail(ctx, 400, "Missing or Duplicate Call-ID");
	if (!hdr_once(msg, SIP_HDR_CSEQ) || !pl_isset(&msg->cseq.met))
		return fail(ctx, 400, "Missing or Duplicate CSeq");
	if (!cseq_ok(msg))
		return fail(ctx, 400, "Bad CSeq");
	if (pl_cmp(&msg->cseq.met, &msg->met))
		return fail(ctx, 400, "CSeq Method Mismatch");
	if (sip_msg_hdr_count(msg, SIP_HDR_MAX_FORWARDS) > 1)
		return fail(ctx, 400, "Duplicate Max-Forwards");
	if (sip_msg_hdr_count(msg, SIP_HDR_CONTENT_LENGTH) > 1)
		return fail(ctx, 400, "Duplicate Content-Length");
	err = check_via(ctx);
	if (err)
		return err;
	err = check_uris(ctx);
	if (err)
		return err;
	err = check_numbers(ctx);
	if (err)
		return err;
	/* sbcd supports no extension a proxy would have to (RFC 3261 16.3) */
	if (sip_msg_hdr(msg, SIP_HDR_PROXY_REQUIRE))
		return fail(ctx, 420, "Bad Extension");

	ctx->has_totag = pl_isset(&msg->to.tag);
	return 0;
}

/* The status code as written: three digits (libre's reading of a longer
 * one wraps around, RFC 4475 3.1.2.19). */
static bool scode_ok(const struct sip_msg *msg)
{
	const char *p = msg->ver.p + msg->ver.l + 1;

	return msg->reason.p >= p + 4 && msg->reason.p[-1] == ' '
		&& (msg->reason.p - p == 4)
		&& p[0] >= '1' && p[0] <= '6' && p[1] >= '0' && p[1] <= '9'
		&& p[2] >= '0' && p[2] <= '9';
}

int validate_response(const struct sbc_conf *conf, const struct sip_msg *msg)
{
	if (msg->scode < 100 || msg->scode > 699 || !scode_ok(msg))
		return EBADMSG;
	if (msg->mb->end > conf->max_message_size)
		return EMSGSIZE;
	if (!hdr_once(msg, SIP_HDR_FROM) || !hdr_once(msg, SIP_HDR_TO)
	    || !hdr_once(msg, SIP_HDR_CALL_ID) || !hdr_once(msg, SIP_HDR_CSEQ))
		return EBADMSG;
	if (!pl_isset(&msg->via.sentby) || !pl_isset(&msg->cseq.met)
	    || !cseq_ok(msg))
		return EBADMSG;
	if (pl_isset(&msg->clen)
	    && (!store_digits(&msg->clen, 10)
		|| pl_u64(&msg->clen) != mbuf_get_left(msg->mb)))
		return EBADMSG;
	return 0;
}
