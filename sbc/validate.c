/*
 * validate.c: strict checks of what arrives, before anything else looks
 * at it.  A malformed request is answered 400 with a reason phrase that
 * says what is wrong; oversized ones 513.  Malformed responses are
 * dropped by the caller.
 */
#include <string.h>
#include "sbc.h"

static bool pl_digits(const struct pl *pl, size_t maxlen)
{
	if (!pl->l || pl->l > maxlen)
		return false;
	for (size_t i = 0; i < pl->l; i++)
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return false;
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

static int check_uris(struct req_ctx *ctx)
{
	const struct sip_msg *msg = ctx->msg;
	const struct uri *u = &msg->uri;

	if (!pl_isset(&u->scheme) || (pl_strcasecmp(&u->scheme, "sip")
				       && pl_strcasecmp(&u->scheme, "sips")
				       && pl_strcasecmp(&u->scheme, "tel")))
		return fail(ctx, 416, "Unsupported URI Scheme");
	if (pl_strcasecmp(&u->scheme, "tel") && !pl_isset(&u->host))
		return fail(ctx, 400, "Bad Request-URI");
	if (!pl_isset(&msg->from.uri.scheme) || !pl_isset(&msg->from.auri))
		return fail(ctx, 400, "Bad From Header");
	if (!pl_isset(&msg->to.uri.scheme) || !pl_isset(&msg->to.auri))
		return fail(ctx, 400, "Bad To Header");
	return 0;
}

static int check_numbers(struct req_ctx *ctx)
{
	const struct sip_msg *msg = ctx->msg;

	ctx->maxfwd = UINT32_MAX;
	if (pl_isset(&msg->maxfwd)) {
		if (!pl_digits(&msg->maxfwd, 3) || pl_u32(&msg->maxfwd) > 255)
			return fail(ctx, 400, "Bad Max-Forwards");
		ctx->maxfwd = pl_u32(&msg->maxfwd);
	}
	if (pl_isset(&msg->expires) && !pl_digits(&msg->expires, 10))
		return fail(ctx, 400, "Bad Expires");
	if (pl_isset(&msg->expires) && pl_u64(&msg->expires) > UINT32_MAX)
		return fail(ctx, 400, "Bad Expires");
	if (pl_isset(&msg->clen)) {
		if (!pl_digits(&msg->clen, 10))
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
	if (pl_cmp(&msg->cseq.met, &msg->met))
		return fail(ctx, 400, "CSeq Method Mismatch");
	if (sip_msg_hdr_count(msg, SIP_HDR_MAX_FORWARDS) > 1)
		return fail(ctx, 400, "Duplicate Max-Forwards");
	if (sip_msg_hdr_count(msg, SIP_HDR_CONTENT_LENGTH) > 1)
		return fail(ctx, 400, "Duplicate Content-Length");
	if (!pl_isset(&msg->via.sentby) || msg->via.tp == SIP_TRANSP_NONE
	    || !pl_isset(&msg->via.branch))
		return fail(ctx, 400, "Bad Via");

	err = check_uris(ctx);
	if (err)
		return err;
	err = check_numbers(ctx);
	if (err)
		return err;

	ctx->has_totag = pl_isset(&msg->to.tag);
	return 0;
}

int validate_response(const struct sbc_conf *conf, const struct sip_msg *msg)
{
	if (msg->scode < 100 || msg->scode > 699)
		return EBADMSG;
	if (msg->mb->end > conf->max_message_size)
		return EMSGSIZE;
	if (!hdr_once(msg, SIP_HDR_FROM) || !hdr_once(msg, SIP_HDR_TO)
	    || !hdr_once(msg, SIP_HDR_CALL_ID) || !hdr_once(msg, SIP_HDR_CSEQ))
		return EBADMSG;
	if (!pl_isset(&msg->via.sentby) || !pl_isset(&msg->cseq.met))
		return EBADMSG;
	if (pl_isset(&msg->clen)
	    && (!pl_digits(&msg->clen, 10)
		|| pl_u64(&msg->clen) != mbuf_get_left(msg->mb)))
		return EBADMSG;
	return 0;
}
