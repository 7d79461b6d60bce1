/*
 * classify.c: what kind of source a request comes from.  The side is
 * known from the socket it arrived on; here the request learns whether it
 * is an emergency call, which every later phase must let through.
 * Screening (trusted peers, registered users) adds its classes here.
 */
#include "sbc.h"

void classify_source(struct req_ctx *ctx)
{
	const struct sip_msg *msg = ctx->msg;

	/* libre puts the number of a tel: URI in its host part */
	const struct pl *num = pl_strcasecmp(&msg->uri.scheme, "tel")
		? &msg->uri.user : &msg->uri.host;

	ctx->emergency = ctx->in->id == SIDE_ACCESS && !ctx->has_totag
		&& pl_strcmp(&msg->met, "ACK") && pl_strcmp(&msg->met, "CANCEL")
		&& route_is_emergency(ctx->sbc->conf, num);
}
