/*
 * event.c: security events.  Every block, ban, limit hit and verdict is
 * one JSON line (time, rule, action, source, From, To, User-Agent,
 * Call-ID) in the security log, and a counter per rule and action.
 * A flood must not turn into a flood of log lines: past
 * security_log_rate lines a second the rest are counted, and a summary
 * line says how many were left out.
 */
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "sbc.h"

struct event_count {
	struct le he;
	char *key;                  /* "rule action" */
	uint64_t n;
};

static void count_destructor(void *arg)
{
	struct event_count *c = arg;

	hash_unlink(&c->he);
	mem_deref(c->key);
}

static bool count_cmp(struct le *le, void *arg)
{
	const struct event_count *c = le->data;

	return !strcmp(c->key, arg);
}

static void count(struct events *ev, const char *rule, const char *action)
{
	char key[96];
	struct event_count *c;

	(void)re_snprintf(key, sizeof(key), "%s %s", rule, action);
	c = list_ledata(hash_lookup(ev->counts, hash_joaat_str(key),
				    count_cmp, key));
	if (!c) {
		c = mem_zalloc(sizeof(*c), count_destructor);
		if (!c || str_dup(&c->key, key)) {
			mem_deref(c);
			return;
		}
		hash_append(ev->counts, hash_joaat_str(key), &c->he, c);
	}
	++c->n;
}

/* A JSON string, escaped: quotes, backslashes, control characters. */
int event_json_str(struct re_printf *pf, const struct pl *pl)
{
	static const char hex[] = "0123456789abcdef";
	int err = re_hprintf(pf, "\"");

	for (size_t i = 0; pl && i < pl->l && !err; i++) {
		const uint8_t c = (uint8_t)pl->p[i];

		if (c == '"' || c == '\\')
			err = re_hprintf(pf, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			err = re_hprintf(pf, "\\u00%c%c", hex[c >> 4],
					 hex[c & 15]);
		else
			err = pf->vph((const char *)&pl->p[i], 1, pf->arg);
	}
	return err ? err : re_hprintf(pf, "\"");
}

static void write_line(struct events *ev, const char *buf, size_t len)
{
	if (ev->fd >= 0)
		(void)!write(ev->fd, buf, len);
}

static bool rate_ok(struct sbc *sbc)
{
	struct events *ev = &sbc->events;
	const uint64_t sec = tmr_jiffies() / 1000;
	char buf[128];
	int n;

	if (sec != ev->sec) {
		if (ev->suppressed) {
			n = re_snprintf(buf, sizeof(buf),
					"{\"event\":\"suppressed\",\"count\":"
					"%llu}\n",
					(unsigned long long)ev->suppressed);
			if (n > 0)
				write_line(ev, buf, (size_t)n);
		}
		ev->sec = sec;
		ev->lines = 0;
		ev->suppressed = 0;
	}
	if (ev->lines >= sbc->conf->security_log_rate) {
		++ev->suppressed;
		return false;
	}
	++ev->lines;
	return true;
}

void event_emit_msg(struct sbc *sbc, const struct event_msg *em,
		    const char *rule, const char *action)
{
	struct timespec ts;
	struct tm tm;
	char *line = NULL;
	int err;

	count(&sbc->events, rule, action);
	if (sbc->events.fd < 0 || !rate_ok(sbc))
		return;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	err = re_sdprintf(&line,
		"{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\","
		"\"rule\":\"%s\",\"action\":\"%s\",\"source\":\"%J\","
		"\"transport\":\"%s\",\"method\":%H,\"from\":%H,\"to\":%H,"
		"\"user_agent\":%H,\"call_id\":%H,\"peer\":\"%s\"}\n",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, rule, action,
		em->src, em->src ? sip_transp_name(em->tp) : "",
		event_json_str, em->met, event_json_str, em->from,
		event_json_str, em->to, event_json_str, em->ua,
		event_json_str, em->callid, em->peer ? em->peer : "");
	if (!err)
		write_line(&sbc->events, line, strlen(line));
	mem_deref(line);
}

static const struct pl *hdr_val(const struct sip_msg *msg, enum sip_hdrid id)
{
	const struct sip_hdr *hdr = msg ? sip_msg_hdr(msg, id) : NULL;

	return hdr ? &hdr->val : NULL;
}

void event_emit(struct sbc *sbc, const struct req_ctx *ctx, const char *rule,
		const char *action)
{
	const struct sip_msg *msg = ctx ? ctx->msg : NULL;
	const struct event_msg em = {
		.src = msg ? &msg->src : NULL,
		.tp = msg ? msg->tp : SIP_TRANSP_NONE,
		.met = msg ? &msg->met : NULL,
		.from = hdr_val(msg, SIP_HDR_FROM),
		.to = hdr_val(msg, SIP_HDR_TO),
		.ua = hdr_val(msg, SIP_HDR_USER_AGENT),
		.callid = msg ? &msg->callid : NULL,
		.peer = ctx && ctx->peer ? ctx->peer->name : "",
	};

	event_emit_msg(sbc, &em, rule, action);
}

uint64_t event_count(const struct sbc *sbc, const char *rule,
		     const char *action)
{
	char key[96];
	const struct event_count *c;

	(void)re_snprintf(key, sizeof(key), "%s %s", rule, action);
	c = list_ledata(hash_lookup(sbc->events.counts, hash_joaat_str(key),
				    count_cmp, key));
	return c ? c->n : 0;
}

int event_init(struct sbc *sbc)
{
	struct events *ev = &sbc->events;
	const char *file = sbc->conf->security_log;
	int err;

	ev->fd = -1;
	err = hash_alloc(&ev->counts, 64);
	if (err)
		return err;
	if (!file[0])
		ev->fd = dup(STDERR_FILENO);
	else
		ev->fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0640);
	if (ev->fd < 0) {
		err = errno;
		LOGE(sbc, "security_log %s: %m", file, err);
		return err;
	}
	return 0;
}

void event_close(struct sbc *sbc)
{
	struct events *ev = &sbc->events;

	hash_flush(ev->counts);
	ev->counts = mem_deref(ev->counts);
	if (ev->fd >= 0)
		(void)close(ev->fd);
	ev->fd = -1;
}

static bool count_print(struct le *le, void *arg)
{
	const struct event_count *c = le->data;

	return re_hprintf(arg, "%s %llu\n", c->key,
			  (unsigned long long)c->n) != 0;
}

/* "rule action count" lines, for the control socket */
int event_counts_print(struct re_printf *pf, const struct sbc *sbc)
{
	(void)hash_apply(sbc->events.counts, count_print, pf);
	return 0;
}
