/*
 * policy.c: the toll-fraud limits of a peer's profile, checked on each
 * new call from the access side after the blacklists and call admission:
 * allowed and denied destinations, concurrent calls of the peer and of
 * one From user, calls per minute, calls a day; the concurrent and daily
 * limits have an off-hours value, off-hours coming from the profile's
 * schedule in its own time zone.  A hacked PBX dials premium numbers at
 * night, many at once: each limit stops one way of doing it.
 *
 * Concurrent calls are read from the dialog table; calls a minute and a
 * day are counters in the store, keyed by peer and minute or local day.
 */
#include <time.h>
#include "sbc.h"
#include "store.h"
#include "dialog.h"

struct policy_now {
	time_t t;
	struct tm local;
	bool offhours;
};

static uint32_t pick(uint32_t work, uint32_t off, bool offhours)
{
	return offhours && off != CONF_SAME ? off : work;
}

static int refuse(struct req_ctx *ctx, const struct conf_profile *pr,
		  const char *rule, const char *reason)
{
	char action[8];

	ctx->scode = (uint16_t)pr->reject_code;
	ctx->reason = pr->reject_code == 403 ? "Forbidden" : reason;
	(void)re_snprintf(action, sizeof(action), "%u", ctx->scode);
	event_emit(ctx->sbc, ctx, rule, action);
	LOGRI(ctx->sbc, "call %r from peer '%s' to %r refused: %s",
	     &ctx->msg->callid, ctx->peer->name, &ctx->msg->uri.user, rule);
	return EPERM;
}

static bool number_matches(const regex_t *re, const struct pl *num)
{
	char buf[128];

	if (pl_strcpy(num, buf, sizeof(buf)))
		return false;
	return !regexec(re, buf, 0, NULL, 0);
}

static int destination(struct req_ctx *ctx, const struct conf_profile *pr)
{
	const struct pl *num = &ctx->msg->uri.user;

	if (pr->deny_ok && number_matches(&pr->deny_re, num))
		return refuse(ctx, pr, "fraud:denied_destination",
			      "Destination Not Allowed");
	if (pr->allow_ok && !number_matches(&pr->allow_re, num))
		return refuse(ctx, pr, "fraud:not_allowed_destination",
			      "Destination Not Allowed");
	return 0;
}

/* Calls a minute, sliding: this minute's count plus the share of the
 * last one still inside the past 60 seconds. */
static int per_minute(struct req_ctx *ctx, const struct conf_profile *pr,
		      const struct policy_now *now, char *key, size_t sz)
{
	const uint64_t min = (uint64_t)now->t / 60;
	const uint64_t sec = (uint64_t)now->t % 60;
	int64_t cur, prev;

	if (!pr->calls_per_minute)
		return 0;
	(void)re_snprintf(key, sz, "cpm:%s:%llu", ctx->peer->name, min - 1);
	prev = store_ctr_get(&ctx->sbc->store, key);
	(void)re_snprintf(key, sz, "cpm:%s:%llu", ctx->peer->name, min);
	cur = store_ctr_get(&ctx->sbc->store, key);
	if ((uint64_t)cur * 60 + (uint64_t)prev * (60 - sec)
	    >= (uint64_t)pr->calls_per_minute * 60)
		return refuse(ctx, pr, "fraud:calls_per_minute",
			      "Call Rate Exceeded");
	return 0;
}

static int daily(struct req_ctx *ctx, const struct conf_profile *pr,
		 const struct policy_now *now, char *key, size_t sz)
{
	const uint32_t limit = pick(pr->daily_calls, pr->daily_calls_offhours,
				    now->offhours);

	(void)re_snprintf(key, sz, "day:%s:%04d%02d%02d:%s", ctx->peer->name,
			  now->local.tm_year + 1900, now->local.tm_mon + 1,
			  now->local.tm_mday, now->offhours ? "off" : "work");
	if (limit && store_ctr_get(&ctx->sbc->store, key) >= limit)
		return refuse(ctx, pr, now->offhours
			      ? "fraud:daily_calls_offhours"
			      : "fraud:daily_calls", "Daily Limit Reached");
	return 0;
}

static int concurrent(struct req_ctx *ctx, const struct conf_profile *pr,
		      const struct policy_now *now)
{
	const uint32_t limit = pick(pr->max_calls, pr->max_calls_offhours,
				    now->offhours);
	const char *peer = ctx->peer->name;

	if (limit && ctx->calls >= limit)
		return refuse(ctx, pr, now->offhours
			      ? "fraud:max_calls_offhours" : "fraud:max_calls",
			      "Too Many Calls");
	if (pr->max_per_from && dialog_calls(ctx->sbc, peer,
					     &ctx->msg->from.uri.user)
	    >= pr->max_per_from)
		return refuse(ctx, pr, "fraud:max_per_from",
			      "Too Many Calls From This Caller");
	return 0;
}

/* 0: the call may go on and has been counted; else ctx->scode says the
 * answer.  Only for new calls of a peer with a profile. */
int policy_check(struct req_ctx *ctx)
{
	const struct conf_profile *pr = ctx->peer->prof;
	struct policy_now now = {.t = time(NULL)};
	char dkey[192], mkey[192];
	int err;

	if (sched_localtime((struct sched_tz *)&pr->tz, now.t, &now.local))
		gmtime_r(&now.t, &now.local);
	now.offhours = sched_match(&pr->sched, &now.local);

	err = destination(ctx, pr);
	if (!err)
		err = concurrent(ctx, pr, &now);
	if (!err)
		err = per_minute(ctx, pr, &now, mkey, sizeof(mkey));
	if (!err)
		err = daily(ctx, pr, &now, dkey, sizeof(dkey));
	if (err)
		return err;

	if (pr->calls_per_minute)
		err |= store_ctr_add(&ctx->sbc->store, mkey, 1,
				     (uint64_t)now.t + 120, NULL);
	err |= store_ctr_add(&ctx->sbc->store, dkey, 1,
			     (uint64_t)now.t + 2 * 86400, NULL);
	return err;
}
