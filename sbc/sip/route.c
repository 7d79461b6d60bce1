/*
 * route.c: where a request goes.  Our own Route entries are popped (loose
 * routing, RFC 3261 16.4; two of them after a double Record-Route, RFC
 * 5658); in-dialog requests follow the remaining route set; initial
 * requests from the access side go to the screening upstream (in redirect
 * mode, INVITEs go to the switch once the upstream approved them),
 * emergency calls to the emergency route, REGISTERs to the registrar
 * (register.c); OPTIONS to the SBC itself are answered.  Requests from
 * the core to an access party behind NAT go to its flow (dialog_flow.c).
 */
#include <string.h>
#include "sbc.h"

bool route_is_emergency(const struct sbc_conf *conf, const struct pl *user)
{
	struct pl u = *user, num;
	const char *p;

	if (!pl_isset(&u))
		return false;
	/* a user part may carry parameters (;phone-context=...) */
	p = pl_strchr(&u, ';');
	if (p)
		u.l = p - u.p;

	for (p = conf->emergency_numbers; *p;) {
		while (*p == ' ' || *p == ',')
			++p;
		num.p = p;
		while (*p && *p != ',' && *p != ' ')
			++p;
		num.l = p - num.p;
		if (num.l && !pl_cmp(&num, &u))
			return true;
	}
	return false;
}

/* addr, with port (0: the default of the transport), is one of ours */
static bool addr_is_self(const struct sbc *sbc, const struct sa *addr,
			 uint16_t port, bool tls)
{
	struct sa a = *addr;

	sa_set_port(&a, port ? port : (tls ? 5061 : 5060));
	for (int i = 0; i < SIDE_COUNT; i++)
		if (sipmsg_is_side_addr(&sbc->side[i], &a))
			return true;
	return false;
}

bool route_is_self(const struct sbc *sbc, const struct uri *uri)
{
	struct sa addr;
	struct pl tp;
	bool tls = false;

	if (sa_set(&addr, &uri->host, 0))
		return false;           /* a name is never us */
	if (!uri->port)
		tls = !pl_strcasecmp(&uri->scheme, "sips")
			|| (!msg_param_decode(&uri->params, "transport", &tp)
			    && !pl_strcasecmp(&tp, "tls"));
	return addr_is_self(sbc, &addr, uri->port, tls);
}

static bool via_is_self(const struct sip_hdr *hdr, const struct sip_msg *msg,
			void *arg)
{
	const struct sbc *sbc = arg;
	struct sip_via via;
	(void)msg;

	if (!sipmsg_mentions_self(sbc, &hdr->val))
		return false;
	if (sip_via_decode(&via, &hdr->val) || !sa_isset(&via.addr, SA_ADDR))
		return false;
	return addr_is_self(sbc, &via.addr, sa_port(&via.addr),
			    via.tp == SIP_TRANSP_TLS);
}

static void reply(struct req_ctx *ctx, uint16_t scode, const char *reason)
{
	ctx->action = ROUTE_REPLY;
	ctx->scode = scode;
	ctx->reason = reason;
}

/* Pop our own Route entries from the top of the route set (two at most,
 * after a double Record-Route); a header whose list holds ours and more
 * keeps the rest (ctx->route_rest).  *rt: the first entry not ours. */
static bool pop_routes(struct req_ctx *ctx, struct pl *rt)
{
	unsigned n = 0;

	for (struct le *le = ctx->msg->hdrl.head; le; le = le->next) {
		const struct sip_hdr *hdr = le->data;
		struct pl list, e;

		if (hdr->id != SIP_HDR_ROUTE)
			continue;
		list = hdr->val;
		while (sipmsg_list_next(&list, &e)) {
			struct sip_addr addr;

			if (n >= ARRAY_SIZE(ctx->skip_route)
			    || !sipmsg_mentions_self(ctx->sbc, &e)
			    || sip_addr_decode(&addr, &e)
			    || !route_is_self(ctx->sbc, &addr.uri)) {
				*rt = e;
				if (e.p != hdr->val.p) {   /* partly ours */
					ctx->route_partial = hdr;
					ctx->route_rest.p = e.p;
					ctx->route_rest.l = hdr->val.p
						+ hdr->val.l - e.p;
				}
				return true;
			}
			ctx->skip_route[n++] = hdr;
			/* our Path entry: the user part names the client's
			 * flow */
			if (pl_isset(&addr.uri.user)
			    && ctx->in->id == SIDE_CORE)
				ctx->flow = addr.uri.user;
		}
	}
	return false;
}

static void to_upstream(struct req_ctx *ctx)
{
	struct sbc *sbc = ctx->sbc;

	ctx->out = &sbc->side[SIDE_CORE];
	ctx->nexthop = sbc->hop.upstream;
	ctx->timeout_ms = sbc->conf->upstream_timeout;
}

/* Redirect mode: the call goes to the switch once the screening server
 * approved it (forward.c asks, through verdict.c). */
static void to_switch(struct req_ctx *ctx)
{
	struct sbc *sbc = ctx->sbc;

	ctx->out = &sbc->side[SIDE_CORE];
	ctx->nexthop = sbc->hop.switch_uri;
	ctx->timeout_ms = sbc->conf->upstream_timeout;
	ctx->verdict = true;
}

static void to_emergency(struct req_ctx *ctx)
{
	struct sbc *sbc = ctx->sbc;

	++sbc->stats.emergency;
	if (!sbc->conf->emergency_route[0]) {
		LOGW(sbc, "emergency call to %r from %J: no emergency_route, "
		     "503", &ctx->msg->uri.user, &ctx->msg->src);
		reply(ctx, 503, "No Emergency Route");
		return;
	}
	LOGI(sbc, "emergency call to %r from %J: to %s", &ctx->msg->uri.user,
	     &ctx->msg->src, sbc->conf->emergency_route);
	ctx->out = &sbc->side[SIDE_CORE];
	ctx->nexthop = sbc->hop.emergency_route;
}

static bool dialog_forming(const struct pl *met)
{
	return !pl_strcmp(met, "INVITE") || !pl_strcmp(met, "SUBSCRIBE")
		|| !pl_strcmp(met, "REFER") || !pl_strcmp(met, "NOTIFY");
}

static void route_initial(struct req_ctx *ctx, const struct pl *rt)
{
	const struct sip_msg *msg = ctx->msg;
	struct sip_addr addr;

	if (ctx->in->id == SIDE_ACCESS) {
		/* a preloaded route must not bypass screening */
		ctx->strip_routes = true;
		if (!pl_strcmp(&msg->met, "REGISTER"))
			reg_route(ctx);
		else if (ctx->emergency)
			to_emergency(ctx);
		else if (ctx->sbc->conf->screening_mode == SCREENING_REDIRECT
			 && !pl_strcmp(&msg->met, "INVITE"))
			to_switch(ctx);
		else
			to_upstream(ctx);
	}
	else if (pl_isset(&ctx->flow)) {
		reg_route_flow(ctx);
	}
	else if (rt && !sip_addr_decode(&addr, rt)) {
		ctx->out = &ctx->sbc->side[SIDE_ACCESS];
		ctx->nexthop = addr.uri;
	}
	else if (dialog_flow_route(ctx)) {
		/* (not to a party's Contact of ours either) */
		reply(ctx, 404, "Not Found");
	}
	ctx->record_route = ctx->action == ROUTE_FORWARD
		&& dialog_forming(&msg->met);
}

int route_request(struct req_ctx *ctx)
{
	struct sbc *sbc = ctx->sbc;
	const struct sip_msg *msg = ctx->msg;
	struct pl rtv;
	const struct pl *rt;
	struct sip_addr addr;
	bool ack = !pl_strcmp(&msg->met, "ACK");

	ctx->action = ROUTE_FORWARD;
	ctx->ruri = msg->ruri;
	rt = pop_routes(ctx, &rtv) ? &rtv : NULL;

	if (!rt && !pl_strcmp(&msg->met, "OPTIONS") && !pl_isset(&msg->uri.user)
	    && route_is_self(sbc, &msg->uri)) {
		reply(ctx, 200, "OK");
		return 0;
	}
	if (ctx->maxfwd == 0) {
		reply(ctx, ack ? 0 : 483, "Too Many Hops");
		return 0;
	}
	if (sbc->conf->loop_detect
	    && sip_msg_hdr_apply(msg, true, SIP_HDR_VIA, via_is_self, sbc)) {
		reply(ctx, ack ? 0 : 482, "Loop Detected");
		return 0;
	}
	if (!pl_strcmp(&msg->met, "CANCEL")) {
		/* libre matched every CANCEL it had a transaction for */
		reply(ctx, 481, "Call/Transaction Does Not Exist");
		return 0;
	}

	if (!ctx->has_totag) {
		route_initial(ctx, rt);
		return 0;
	}

	/* towards an access party behind NAT: its flow */
	if (ctx->in->id == SIDE_CORE) {
		int err = dialog_flow_route(ctx);

		if (!err)
			return 0;
		if (err != ENOENT) {
			reply(ctx, ack ? 0 : 500, "Server Internal Error");
			return 0;
		}
	}

	/* in dialog: only along a route set we recorded */
	if (!ctx->skip_route[0]) {
		if (route_is_self(sbc, &msg->uri)
		    && !pl_strcmp(&msg->met, "OPTIONS"))
			reply(ctx, 200, "OK");
		else
			reply(ctx, ack ? 0 : 481,
			      "Call/Transaction Does Not Exist");
		return 0;
	}
	if (rt && sip_addr_decode(&addr, rt)) {
		reply(ctx, ack ? 0 : 400, "Bad Route");
		return 0;
	}
	ctx->out = &sbc->side[ctx->in->id == SIDE_ACCESS ? SIDE_CORE
							 : SIDE_ACCESS];
	ctx->nexthop = rt ? addr.uri : msg->uri;
	/* the core's part of a hidden call's route set is ours to restore */
	if (ctx->in->id == SIDE_ACCESS && ctx->dialog && ctx->dialog->hidden
	    && ctx->dialog->target && topo_route(ctx))
		reply(ctx, ack ? 0 : 500, "Server Internal Error");
	return 0;
}
