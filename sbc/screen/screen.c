/*
 * screen.c: the screening phase.  Emergency calls are never screened.
 * Returns 0 to let the request go on, or an errno with ctx->scode set to
 * the answer (0: drop silently).  In order: blacklists, only declared
 * peers over the transports they are allowed, the peer's call admission
 * rate, then for a new call the fraud limits of its profile (policy.c).
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

/* A scanner found once is not asked about again: banned (kernel filter,
 * shared with the pair and the other pairs) for scanner_ban seconds. */
static void scanner_ban(struct req_ctx *ctx, const struct bl_rule *r)
{
	struct sbc *sbc = ctx->sbc;
	const uint32_t s = sbc->conf->scanner_ban;
	int err;

	if (!s || flood_banned(sbc, &ctx->msg->src))
		return;
	err = flood_ban(sbc, &ctx->msg->src, s, "scanner");
	if (err) {
		LOGW(sbc, "scanner: %j: cannot ban: %m", &ctx->msg->src, err);
		return;
	}
	LOGW(sbc, "scanner: %j matched '%s': banned for %u s",
	     &ctx->msg->src, r->name, s);
	event_emit(sbc, ctx, "scanner", "ban");
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
		if (r->builtin)
			scanner_ban(ctx, r);
		ctx->scode = r->action == BL_403 ? 403 : 0;
		ctx->reason = "Forbidden";
		return EPERM;
	}
	return 0;
}

static bool new_call(const struct req_ctx *ctx)
{
	return !ctx->has_totag && !pl_strcmp(&ctx->msg->met, "INVITE");
}

/* A new subscription's dialog is tracked too (not counted as a call):
 * its in-dialog requests are checked and, topology hidden, routed like
 * a call's.  An out-of-dialog REFER makes one (RFC 3515: its NOTIFYs). */
static bool new_subscription(const struct req_ctx *ctx)
{
	return !ctx->has_totag && dialog_subscribing(&ctx->msg->met)
		&& ctx->sbc->dialogs.n < ctx->sbc->conf->max_dialogs;
}

/* A new call is tracked (and counted for its peer) if the table has
 * room; then the peer's profile has its say. */
static int admit_call(struct req_ctx *ctx)
{
	struct sbc *sbc = ctx->sbc;
	int err;

	if (sbc->dialogs.n >= sbc->conf->max_dialogs) {
		ctx->scode = 503;
		ctx->reason = "Service Unavailable";
		event_emit(sbc, ctx, "max_dialogs", "503");
		return ENOSPC;
	}
	ctx->calls = dialog_calls(sbc, ctx->peer->name, NULL);
	if (ctx->peer->prof) {
		err = policy_check(ctx);
		if (err) {
			if (!ctx->scode) {
				ctx->scode = 503;
				ctx->reason = "Service Unavailable";
			}
			return err;
		}
	}
	ctx->open_dialog = true;
	ctx->count_call = true;
	return 0;
}

/* A request inside a call must belong to a call sbcd let through: a
 * made-up dialog (its Route set pointing past sbcd into the core) would
 * otherwise skip every check of a new call. */
static int in_dialog(struct req_ctx *ctx)
{
	if (ctx->dialog || !ctx->sbc->conf->dialog_check
	    || !dialog_method(&ctx->msg->met))
		return 0;
	LOGRI(ctx->sbc, "access side: %r from %J refused: no such call (%r)",
	     &ctx->msg->met, &ctx->msg->src, &ctx->msg->callid);
	ctx->scode = 481;
	ctx->reason = "Call/Transaction Does Not Exist";
	event_emit(ctx->sbc, ctx, "unknown_dialog", "481");
	return ENOENT;
}

int screen_request(struct req_ctx *ctx)
{
	const struct conf_peer *peer = ctx->peer;

	if (ctx->emergency) {
		ctx->open_dialog = new_call(ctx);  /* tracked, never counted */
		return 0;
	}
	if (ctx->in->id != SIDE_ACCESS) {
		/* calls to registered users: tracked for their in-dialog
		 * requests, counted for nobody */
		ctx->open_dialog = new_call(ctx) || new_subscription(ctx);
		return 0;
	}
	if (blacklisted(ctx))
		return EPERM;
	/* with remote_users anyone may try to register: password guessing
	 * and flood protection watch them */
	if (!peer && !(ctx->sbc->conf->remote_users
		       && !pl_strcmp(&ctx->msg->met, "REGISTER")))
		return refuse(ctx, "unknown_source", "unknown source");
	if (peer && !(peer->transports & (1u << ctx->msg->tp)))
		return refuse(ctx, "peer_transport",
			      "transport not allowed for the peer");
	if (authguard_screen(ctx)) {
		ctx->scode = 0;
		return EPERM;
	}
	if (!peer)
		return 0;       /* a REGISTER, see above */
	if (ctx->has_totag)
		return in_dialog(ctx);
	if (!new_call(ctx)) {
		ctx->open_dialog = new_subscription(ctx);
		return 0;
	}
	if (!flood_admit(ctx->sbc, peer)) {
		ctx->scode = 503;
		ctx->reason = "Call Rate Exceeded";
		event_emit(ctx->sbc, ctx, "peer_cps", "503");
		return EBUSY;
	}
	return admit_call(ctx);
}
