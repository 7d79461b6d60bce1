/*
 * screen.c: the screening phase.  Emergency calls are never screened.
 * Returns 0 to let the request go on, or an errno with ctx->scode set to
 * the answer (0: drop silently).  Today: only declared peers, over the
 * transports they are allowed, may send from the access side; the rest
 * of the screening issue's rules join here.
 */
#include <time.h>
#include "sbc.h"
#include "blacklist.h"
#include "authguard.h"

/* Unknown sources are dropped silently by default: an answer would tell a
 * scanner that something listens here. */
static int refuse(struct req_ctx *ctx, const char *rule, const char *why)
{
	struct sbc *sbc = ctx->sbc;

	LOGD(sbc, "access side: %r from %J refused: %s", &ctx->msg->met,
	     &ctx->msg->src, why);
	ctx->scode = sbc->conf->unknown_reply ? 403 : 0;
	ctx->reason = "Forbidden";
	event_emit(sbc, ctx, rule, ctx->scode ? "403" : "drop");
	return EPERM;
}

/* Blacklist rules in order: log-only rules record an event and let the
 * next rule have its say; the first drop or 403 decides. */
static int blacklisted(struct req_ctx *ctx)
{
	struct sbc *sbc = ctx->sbc;
	const uint64_t now = (uint64_t)time(NULL);
	const struct bl_rule *r = NULL;
	char rule[80];

	while ((r = bl_match(&sbc->blacklist, ctx->msg, now, r))) {
		((struct bl_rule *)r)->hits++;
		(void)re_snprintf(rule, sizeof(rule), "blacklist:%s", r->name);
		event_emit(sbc, ctx, rule, bl_action_name(r->action));
		if (r->action == BL_LOG)
			continue;
		LOGD(sbc, "access side: %r from %J refused: blacklist %s",
		     &ctx->msg->met, &ctx->msg->src, r->name);
		ctx->scode = r->action == BL_403 ? 403 : 0;
		ctx->reason = "Forbidden";
		return EPERM;
	}
	return 0;
}

int screen_request(struct req_ctx *ctx)
{
	const struct conf_peer *peer = ctx->peer;

	if (ctx->emergency || ctx->in->id != SIDE_ACCESS)
		return 0;
	if (blacklisted(ctx))
		return EPERM;
	if (!peer)
		return refuse(ctx, "unknown_source", "unknown source");
	if (!(peer->transports & (1u << ctx->msg->tp)))
		return refuse(ctx, "peer_transport",
			      "transport not allowed for the peer");
	if (authguard_screen(ctx)) {
		ctx->scode = 0;
		return EPERM;
	}
	if (!ctx->has_totag && !pl_strcmp(&ctx->msg->met, "INVITE")
	    && !flood_admit(ctx->sbc, peer)) {
		ctx->scode = 503;
		ctx->reason = "Call Rate Exceeded";
		event_emit(ctx->sbc, ctx, "peer_cps", "503");
		return EBUSY;
	}
	return 0;
}
