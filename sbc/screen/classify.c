/*
 * classify.c: what kind of source a request comes from.  The side is
 * known from the socket it arrived on; here the request learns whether it
 * is an emergency call, which every later phase must let through.
 * On the access side the source is looked up among the configured peers
 * (first match in file order), then, with remote_users, among the
 * registrations made through sbcd (a remote user is known by the flow it
 * registered from).  An in-dialog request finds its call, if sbcd
 * tracks it, and a remote user's on a new flow finds the user by it.
 */
#include "sbc.h"

/* A source no peer matches may be a registered remote user: only from
 * the flow it registered from, with the remote users' profile. */
static void as_user(struct req_ctx *ctx, struct binding *b)
{
	const struct sbc_conf *conf = ctx->sbc->conf;

	b->peer.prof = conf->remote_user_profile[0]
		? conf_profile_find(conf, conf->remote_user_profile) : NULL;
	ctx->binding = b;
	ctx->peer = &b->peer;
}

static void remote_user(struct req_ctx *ctx)
{
	struct binding *b = binding_of(ctx->sbc, ctx->msg->tp,
				       &ctx->msg->src);

	if (b)
		as_user(ctx, b);
}

/* A request of a remote user's call on a new flow from the same address
 * (its TCP connection is new, after a failover or a reconnect; its NAT
 * gave it a new port): the user of the call's flow, whose binding the
 * flow held; dialog_flow.c moves the call's flow to the new one. */
static void moved_user(struct req_ctx *ctx)
{
	const struct dialog *d = ctx->dialog;
	struct binding *b;

	if (!d || !d->flow || !ctx->sbc->conf->remote_users
	    || !sa_cmp(&d->faddr, &ctx->msg->src, SA_ADDR))
		return;
	b = binding_of(ctx->sbc, d->ftp, &d->faddr);
	if (b)
		as_user(ctx, b);
}

void classify_source(struct req_ctx *ctx)
{
	const struct sip_msg *msg = ctx->msg;

	/* libre puts the number of a tel: URI in its host part */
	const struct pl *num = pl_strcasecmp(&msg->uri.scheme, "tel")
		? &msg->uri.user : &msg->uri.host;

	ctx->has_totag = pl_isset(&msg->to.tag);
	if (ctx->in->id == SIDE_ACCESS)
		ctx->peer = conf_peer_find(ctx->sbc->conf, &msg->src);
	if (ctx->in->id == SIDE_ACCESS && !ctx->peer
	    && ctx->sbc->conf->remote_users)
		remote_user(ctx);

	/* not REGISTER: a banned password guesser would get through */
	ctx->emergency = ctx->in->id == SIDE_ACCESS && !ctx->has_totag
		&& pl_strcmp(&msg->met, "ACK") && pl_strcmp(&msg->met, "CANCEL")
		&& pl_strcmp(&msg->met, "REGISTER")
		&& route_is_emergency(ctx->sbc->conf, num);

	/* what follows in an emergency call is as exempt as its INVITE */
	if (ctx->has_totag) {
		/* held: a BYE ends the call before it is forwarded */
		ctx->dialog = mem_ref(dialog_of(ctx->sbc, msg));
		ctx->emergency = ctx->dialog && ctx->dialog->emergency;
		if (!ctx->peer && ctx->in->id == SIDE_ACCESS)
			moved_user(ctx);
	}
}
