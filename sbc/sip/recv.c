/*
 * recv.c: the receive phase, where every message from either side enters
 * and the request pipeline is run in order:
 *   validate -> classify -> screen -> route -> forward
 * Responses that libre matched to a client transaction never come here;
 * the stray ones (2xx retransmissions) do.
 */
#include "sbc.h"

static bool unsupported(const struct sip_hdr *hdr, const struct sip_msg *msg,
			void *arg)
{
	struct mbuf *mb = arg;
	(void)msg;

	return mbuf_printf(mb, "%s%r", mb->end ? ", " : "", &hdr->val) != 0;
}

/* 420 lists what it does not support (RFC 3261 8.2.2.3) */
static int reply_420(struct req_ctx *ctx, const char *reason)
{
	struct mbuf *mb = mbuf_alloc(128);
	int err = ENOMEM;

	if (mb && !sip_msg_hdr_apply(ctx->msg, true, SIP_HDR_PROXY_REQUIRE,
				      unsupported, mb))
		err = sip_replyf(ctx->in->sip, ctx->msg, 420, reason,
				 "Unsupported: %b\r\nContent-Length: 0\r\n"
				 "\r\n", mb->buf, mb->end);
	mem_deref(mb);
	return err;
}

static void reply(struct req_ctx *ctx, uint16_t scode, const char *reason)
{
	if (!pl_strcmp(&ctx->msg->met, "ACK"))
		return;         /* ACK is never answered */
	++ctx->sbc->stats.local_reply;
	if (scode == 420)
		(void)reply_420(ctx, reason);
	else
		(void)forward_reply(ctx, scode, reason);
}

/* The phases in order; whatever ctx comes to hold is released by the
 * caller. */
static void pipeline(struct req_ctx *ctx)
{
	char action[8];
	int err;

	++ctx->sbc->stats.req_rx;

	/* a banned source costs a lookup, not a pipeline; emergency calls
	 * are let through even then */
	classify_source(ctx);
	if (flood_count(ctx->sbc, ctx) && !ctx->emergency)
		return;

	if (validate_request(ctx)) {
		++ctx->sbc->stats.invalid;
		LOGRI(ctx->sbc, "%s side: invalid %r from %J: %u %s",
		     ctx->in->name, &ctx->msg->met, &ctx->msg->src,
		     ctx->scode, ctx->reason);
		(void)re_snprintf(action, sizeof(action), "%u", ctx->scode);
		event_emit(ctx->sbc, ctx, "invalid", action);
		reply(ctx, ctx->scode, ctx->reason);
		return;
	}

	if (dialog_retransmission(ctx->sbc, ctx->msg)) {
		LOGD(ctx->sbc, "%s side: INVITE %r from %J again after its "
		     "2xx: dropped", ctx->in->name, &ctx->msg->callid,
		     &ctx->msg->src);
		return;
	}

	if (ctx->in->id == SIDE_ACCESS)
		binding_seen(ctx->sbc, ctx->msg);  /* NAT keep-alive */

	if (overload_refuse(ctx)) {
		event_emit(ctx->sbc, ctx, "overload", "503");
		(void)reply_send(NULL, ctx->in, ctx->msg, 503,
				 "Service Unavailable", "Retry-After: 5\r\n");
		return;
	}

	if (screen_request(ctx)) {
		if (ctx->scode)
			reply(ctx, ctx->scode, ctx->reason);
		return;
	}

	route_request(ctx);
	if (ctx->action == ROUTE_REPLY) {
		if (ctx->scode)
			reply(ctx, ctx->scode, ctx->reason);
		return;
	}

	LOGD(ctx->sbc, "%s side: %r %r from %J (%s) -> %s side, next hop %H",
	     ctx->in->name, &ctx->msg->met, &ctx->msg->ruri, &ctx->msg->src,
	     sip_transp_name(ctx->msg->tp), ctx->out->name, uri_encode,
	     &ctx->nexthop);
	if (ctx->dialog && !pl_strcmp(&ctx->msg->met, "BYE")
	    && !dialog_is_other_fork(ctx->dialog, ctx->msg))
		dialog_end(ctx->dialog, "BYE");
	if (!pl_strcmp(&ctx->msg->met, "ACK"))
		err = forward_ack(ctx);
	else
		err = forward_request(ctx);
	if (err)
		LOGW(ctx->sbc, "%s side: cannot forward %r from %J: %m",
		     ctx->in->name, &ctx->msg->met, &ctx->msg->src, err);
}

bool recv_request(const struct sip_msg *msg, void *arg)
{
	struct side *side = arg;
	struct req_ctx ctx = {
		.sbc = side->sbc,
		.in = side,
		.msg = msg,
	};

	/* a standby sends nothing, not even an answer */
	if (store_silent(&side->sbc->store)) {
		++side->sbc->stats.standby_dropped;
		return true;
	}
	pipeline(&ctx);
	mem_deref(ctx.dialog);
	mem_deref(ctx.hop_owner);
	mem_deref(ctx.body);
	return true;
}

bool recv_response(const struct sip_msg *msg, void *arg)
{
	struct side *side = arg;

	++side->sbc->stats.rsp_rx;
	if (store_silent(&side->sbc->store)) {
		++side->sbc->stats.standby_dropped;
		return true;
	}
	if (validate_response(side->sbc->conf, msg)) {
		const struct req_ctx ctx = {
			.sbc = side->sbc, .in = side, .msg = msg,
		};

		++side->sbc->stats.invalid;
		LOGRI(side->sbc, "%s side: dropped malformed response from %J",
		     side->name, &msg->src);
		event_emit(side->sbc, &ctx, "invalid", "drop");
		return true;
	}
	if (side->id == SIDE_ACCESS && keepalive_response(side->sbc, msg))
		return true;
	(void)forward_stray_response(side->sbc, side, msg);
	return true;
}
