/*
 * metrics.c: Prometheus metrics over HTTP (metrics_listen, GET /metrics,
 * text exposition format 0.0.4) on libre's HTTP server.
 *
 * The figures are read from the very lines sbcctl's stats, media and
 * role print (and the security event and per-peer call counts), so the
 * two views can never disagree and a figure has one place where it is
 * made.  The table below names each line's metric, type and help; a
 * line the table does not name is not exported (it_metrics checks that
 * every figure of `sbcctl stats` is).  A standby serves its metrics too:
 * an operator watches both nodes, and answering a scrape sends no SIP.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include "sbc.h"
#include "relay.h"

/* Where the lines come from: the table's three, then two of their own. */
enum metrics_src {
	SRC_STATS,      /* sbcctl stats */
	SRC_MEDIA,      /* sbcctl media, without the sessions */
	SRC_ROLE,       /* sbcctl role */
	SRC_EVENTS,     /* sbcctl events */
	SRC_PEERS,      /* the counts of sbcctl calls */
	SRC_COUNT
};

enum metrics_type {
	MT_COUNTER,
	MT_GAUGE,
	MT_YES,         /* "yes" is 1, anything else 0 */
	MT_WORD,        /* the word is the label's value; the sample is 1 */
	MT_USEC,        /* microseconds, exported in seconds */
	MT_MSEC,        /* milliseconds, exported in seconds */
};

struct metrics_def {
	enum metrics_src src;
	const char *key;            /* the line's first word */
	const char *name;           /* after "sbc_" */
	enum metrics_type type;
	const char *help;
};

static const struct metrics_def defv[] = {
	{SRC_STATS, "requests_received", "requests_received_total",
	 MT_COUNTER, "SIP requests received, both sides."},
	{SRC_STATS, "responses_received", "responses_received_total",
	 MT_COUNTER, "SIP responses received, both sides."},
	{SRC_STATS, "invalid", "invalid_total", MT_COUNTER,
	 "Messages refused as malformed (answered 400/505 or dropped)."},
	{SRC_STATS, "requests_forwarded", "requests_forwarded_total",
	 MT_COUNTER, "Requests forwarded to the other side."},
	{SRC_STATS, "acks_forwarded", "acks_forwarded_total", MT_COUNTER,
	 "ACKs forwarded."},
	{SRC_STATS, "responses_forwarded", "responses_forwarded_total",
	 MT_COUNTER, "Responses forwarded."},
	{SRC_STATS, "local_replies", "local_replies_total", MT_COUNTER,
	 "Requests answered by sbcd itself (refusals, OPTIONS, errors)."},
	{SRC_STATS, "upstream_failures", "upstream_failures_total",
	 MT_COUNTER, "Requests the next hop did not take (no answer, "
	 "connection failed)."},
	{SRC_STATS, "emergency_calls", "emergency_calls_total", MT_COUNTER,
	 "Calls to an emergency number."},
	{SRC_STATS, "transactions_active", "transactions_active", MT_GAUGE,
	 "Proxy transactions in progress."},
	{SRC_STATS, "overload_refused", "overload_refused_total", MT_COUNTER,
	 "New calls refused with 503 under overload."},
	{SRC_STATS, "flood_sources_tracked", "flood_sources_tracked",
	 MT_GAUGE, "Sources the flood detector is following."},
	{SRC_STATS, "flood_kernel_bans", "flood_kernel_bans", MT_GAUGE,
	 "Sources banned in the kernel filter."},
	{SRC_STATS, "dialogs_active", "dialogs_active", MT_GAUGE,
	 "Calls and subscriptions in progress."},
	{SRC_STATS, "verdicts_asked", "verdicts_asked_total", MT_COUNTER,
	 "Redirect screening: verdicts asked of the upstream."},
	{SRC_STATS, "verdicts_approved", "verdicts_approved_total",
	 MT_COUNTER, "Redirect screening: calls approved."},
	{SRC_STATS, "verdicts_rejected", "verdicts_rejected_total",
	 MT_COUNTER, "Redirect screening: calls rejected (403, 603)."},
	{SRC_STATS, "verdicts_failed", "verdicts_failed_total", MT_COUNTER,
	 "Redirect screening: verdicts that failed (timeout, error, 5xx)."},
	{SRC_STATS, "auth_fail_users_tracked", "auth_fail_users_tracked",
	 MT_GAUGE, "Users the password-guessing guard is following."},
	{SRC_STATS, "auth_fail_sources_tracked", "auth_fail_sources_tracked",
	 MT_GAUGE, "Sources the password-guessing guard is following."},
	{SRC_STATS, "standby_dropped", "standby_dropped_total", MT_COUNTER,
	 "Messages a standby did not take."},
	{SRC_STATS, "hep_sent", "hep_sent_total", MT_COUNTER,
	 "SIP messages sent to the capture server (hep_dest)."},
	{SRC_STATS, "hep_dropped", "hep_dropped_total", MT_COUNTER,
	 "SIP messages not traced: the socket did not take them."},
	{SRC_STATS, "redis_state", "redis_state", MT_WORD,
	 "The link to Redis (connecting, up, down; off without Redis)."},
	{SRC_STATS, "redis_writes", "redis_writes_total", MT_COUNTER,
	 "Changes written to Redis."},
	{SRC_STATS, "redis_queued", "redis_queued", MT_GAUGE,
	 "Changes waiting for Redis."},
	{SRC_STATS, "redis_dropped", "redis_dropped_total", MT_COUNTER,
	 "Changes dropped while Redis was away (redis_queue_max)."},
	{SRC_STATS, "redis_applied", "redis_applied_total", MT_COUNTER,
	 "Other pairs' changes applied."},
	{SRC_STATS, "redis_refused", "redis_refused_total", MT_COUNTER,
	 "Redis values refused (not sbcd's, another version)."},
	{SRC_STATS, "redis_errors", "redis_errors_total", MT_COUNTER,
	 "Redis commands that failed."},
	{SRC_STATS, "redis_outages", "redis_outages_total", MT_COUNTER,
	 "Times the link to Redis was lost."},

	{SRC_MEDIA, "media_sessions", "media_sessions", MT_GAUGE,
	 "Media sessions relayed."},
	{SRC_MEDIA, "media_port_pairs_used", "media_port_pairs_used",
	 MT_GAUGE, "RTP/RTCP port pairs in use."},
	{SRC_MEDIA, "media_port_pairs_total", "media_port_pairs",
	 MT_GAUGE, "RTP/RTCP port pairs of the pool."},
	{SRC_MEDIA, "media_threads", "media_threads", MT_GAUGE,
	 "Media relay threads."},
	{SRC_MEDIA, "media_note_overflows", "media_note_overflows_total",
	 MT_COUNTER, "Media events the SIP thread could not be told of."},

	{SRC_ROLE, "role", "cluster_role", MT_WORD,
	 "This node's role (active, standby, standalone)."},
	{SRC_ROLE, "synced", "cluster_synced", MT_YES,
	 "1 when this node holds the pair's whole state."},
	{SRC_ROLE, "quorate", "cluster_quorate", MT_YES,
	 "1 when this node's partition has quorum."},
	{SRC_ROLE, "quorum_settling", "cluster_quorum_settling", MT_YES,
	 "1 while a regained quorum is held (cluster_quorum_settle)."},
	{SRC_ROLE, "seq", "cluster_seq", MT_GAUGE,
	 "Sequence number of the last record of the pair's stream."},
	{SRC_ROLE, "messages_sent", "cluster_messages_sent_total",
	 MT_COUNTER, "CPG messages sent."},
	{SRC_ROLE, "bytes_sent", "cluster_bytes_sent_total", MT_COUNTER,
	 "Bytes of CPG messages sent."},
	{SRC_ROLE, "messages_received", "cluster_messages_received_total",
	 MT_COUNTER, "CPG messages received."},
	{SRC_ROLE, "records_applied", "cluster_records_applied_total",
	 MT_COUNTER, "Records applied from the active."},
	{SRC_ROLE, "records_refused", "cluster_records_refused_total",
	 MT_COUNTER, "Records refused (damaged, unknown, another version)."},
	{SRC_ROLE, "messages_dropped", "cluster_messages_dropped_total",
	 MT_COUNTER, "CPG messages dropped (queue full)."},
	{SRC_ROLE, "resyncs", "cluster_resyncs_total", MT_COUNTER,
	 "Full synchronisations taken from the active."},
	{SRC_ROLE, "queue_bytes", "cluster_queue_bytes", MT_GAUGE,
	 "Bytes waiting for Corosync."},
	{SRC_ROLE, "last_sync_ms", "cluster_last_sync_seconds", MT_MSEC,
	 "Duration of the last synchronisation."},
	{SRC_ROLE, "last_takeover_us", "cluster_last_takeover_seconds",
	 MT_USEC, "Duration of the last promotion."},
	{SRC_ROLE, "lag_p50_us", "cluster_lag_p50_seconds", MT_USEC,
	 "Replication lag, median of the recent records applied here."},
	{SRC_ROLE, "lag_p99_us", "cluster_lag_p99_seconds", MT_USEC,
	 "Replication lag, 99th percentile of the recent records."},
	{SRC_ROLE, "lag_max_us", "cluster_lag_max_seconds", MT_USEC,
	 "Replication lag, largest of the recent records."},
};

/* A label value as the exposition format wants it. */
static int label_print(struct re_printf *pf, const char *s)
{
	int err = 0;

	for (; *s && !err; s++) {
		if (*s == '\\' || *s == '"')
			err = re_hprintf(pf, "\\%c", *s);
		else if (*s == '\n')
			err = re_hprintf(pf, "\\n");
		else
			err = re_hprintf(pf, "%c", *s);
	}
	return err;
}

/* The value word of the line "KEY VALUE..." in text, or NULL. */
static const char *line_value(const char *text, const char *key,
			      size_t *lenp)
{
	size_t kl = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n'),
	     l = l ? l + 1 : NULL) {
		const char *v;

		if (strncmp(l, key, kl) || l[kl] != ' ')
			continue;
		v = l + kl + 1;
		*lenp = strcspn(v, " \n");
		return v;
	}
	return NULL;
}

static int def_print(struct re_printf *pf, const struct metrics_def *d,
		     const char *v, size_t vl)
{
	unsigned long long n = strtoull(v, NULL, 10);
	char word[64];
	int err;

	err = re_hprintf(pf, "# HELP sbc_%s %s\n# TYPE sbc_%s %s\n", d->name,
			 d->help, d->name,
			 d->type == MT_COUNTER ? "counter" : "gauge");
	switch (d->type) {
	case MT_WORD:
		(void)re_snprintf(word, sizeof(word), "%b", v, vl);
		/* the label is the name's last word: redis_state{state=} */
		return err | re_hprintf(pf, "sbc_%s{%s=\"%H\"} 1\n", d->name,
					strrchr(d->name, '_') + 1,
					label_print, word);
	case MT_YES:
		return err | re_hprintf(pf, "sbc_%s %u\n", d->name,
					vl == 3 && !strncmp(v, "yes", 3));
	case MT_USEC:
		return err | re_hprintf(pf, "sbc_%s %llu.%06llu\n", d->name,
					n / 1000000, n % 1000000);
	case MT_MSEC:
		return err | re_hprintf(pf, "sbc_%s %llu.%03llu\n", d->name,
					n / 1000, n % 1000);
	default:
		return err | re_hprintf(pf, "sbc_%s %llu\n", d->name, n);
	}
}

static int table_print(struct re_printf *pf, char *const textv[SRC_COUNT])
{
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(defv) && !err; i++) {
		const struct metrics_def *d = &defv[i];
		size_t vl;
		const char *v = line_value(textv[d->src], d->key, &vl);

		if (v)
			err = def_print(pf, d, v, vl);
	}
	return err;
}

/* The line at *lp into buf (cut to its size), *lp moved past it. */
static bool line_next(const char **lp, char *buf, size_t sz)
{
	const char *l = *lp, *e;
	size_t n;

	if (!*l)
		return false;
	e = strchr(l, '\n');
	n = e ? (size_t)(e - l) : strlen(l);
	*lp = e ? e + 1 : l + n;
	if (n >= sz)
		n = sz - 1;
	memcpy(buf, l, n);
	buf[n] = '\0';
	return true;
}

/* "rule action n" lines (event_counts_print) as one labelled counter. */
static int events_print(struct re_printf *pf, const char *text)
{
	char line[256], rule[64], action[64];
	unsigned long long n;
	int err;

	err = re_hprintf(pf, "# HELP sbc_security_events_total Security "
			 "events by rule and action.\n"
			 "# TYPE sbc_security_events_total counter\n");
	while (!err && line_next(&text, line, sizeof(line))) {
		if (sscanf(line, "%63s %63s %llu", rule, action, &n) == 3)
			err = re_hprintf(pf, "sbc_security_events_total{rule="
					 "\"%H\",action=\"%H\"} %llu\n",
					 label_print, rule, label_print,
					 action, n);
	}
	return err;
}

/* "calls PEER n" lines (dialog_counts_print); "calls PEER USER n", one
 * per caller, would make a series per user: those are left to sbcctl. */
static int peers_print(struct re_printf *pf, const char *text)
{
	char line[256], peer[128], extra[64];
	unsigned n;
	int err;

	err = re_hprintf(pf, "# HELP sbc_peer_calls Calls in progress by "
			 "peer.\n# TYPE sbc_peer_calls gauge\n");
	while (!err && line_next(&text, line, sizeof(line))) {
		if (sscanf(line, "calls %127s %u %63s", peer, &n, extra) == 2)
			err = re_hprintf(pf, "sbc_peer_calls{peer=\"%H\"} "
					 "%u\n", label_print, peer, n);
	}
	return err;
}

/* The process' own figures, under the names every exporter uses. */
static int process_print(struct re_printf *pf, const struct sbc *sbc)
{
	struct rusage ru;
	unsigned long long cpu_us = 0, rss = 0, pages;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!getrusage(RUSAGE_SELF, &ru))
		cpu_us = (unsigned long long)ru.ru_utime.tv_sec * 1000000
			 + ru.ru_utime.tv_usec
			 + (unsigned long long)ru.ru_stime.tv_sec * 1000000
			 + ru.ru_stime.tv_usec;
	if (f) {
		if (fscanf(f, "%*u %llu", &pages) == 1)
			rss = pages * (unsigned long long)sysconf(_SC_PAGESIZE);
		(void)fclose(f);
	}
	return re_hprintf(pf,
		"# HELP sbc_build_info sbcd's version.\n"
		"# TYPE sbc_build_info gauge\n"
		"sbc_build_info{version=\"%s\"} 1\n"
		"# HELP sbc_metrics_scrapes_total Scrapes asked for, this one too.\n"
		"# TYPE sbc_metrics_scrapes_total counter\n"
		"sbc_metrics_scrapes_total %llu\n"
		"# HELP process_cpu_seconds_total CPU time of sbcd, every "
		"thread (SIP and media).\n"
		"# TYPE process_cpu_seconds_total counter\n"
		"process_cpu_seconds_total %llu.%06llu\n"
		"# HELP process_resident_memory_bytes Resident memory.\n"
		"# TYPE process_resident_memory_bytes gauge\n"
		"process_resident_memory_bytes %llu\n"
		"# HELP process_start_time_seconds Start of sbcd, Unix "
		"time.\n"
		"# TYPE process_start_time_seconds gauge\n"
		"process_start_time_seconds %llu\n",
		SBC_VERSION, (unsigned long long)sbc->metrics.scrapes,
		cpu_us / 1000000, cpu_us % 1000000, rss,
		(unsigned long long)sbc->metrics.started);
}

static int role_text(struct mbuf *mb, struct sbc *sbc)
{
	if (!sbc->store.ctrlh)
		return mbuf_printf(mb, "role standalone\n");
	return sbc->store.ctrlh(mb, "", sbc->store.arg);
}

/* Each source's lines, then the page. */
static int page_make(struct mbuf *page, struct sbc *sbc)
{
	struct mbuf *mb[SRC_COUNT] = {NULL};
	char *textv[SRC_COUNT] = {NULL};
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(mb) && !err; i++)
		err = (mb[i] = mbuf_alloc(512)) ? 0 : ENOMEM;
	err = err ? err : mbuf_printf(mb[SRC_STATS], "%H", ctrl_stats_print,
				      sbc);
	err = err ? err : mbuf_printf(mb[SRC_MEDIA], "%H", media_totals_print,
				      sbc->media);
	err = err ? err : role_text(mb[SRC_ROLE], sbc);
	err = err ? err : mbuf_printf(mb[SRC_EVENTS], "%H",
				      event_counts_print, sbc);
	err = err ? err : mbuf_printf(mb[SRC_PEERS], "%H",
				      dialog_counts_print, sbc);
	for (size_t i = 0; i < ARRAY_SIZE(mb) && !err; i++) {
		err = mbuf_write_u8(mb[i], 0);
		textv[i] = (char *)mb[i]->buf;
	}
	err = err ? err : mbuf_printf(page, "%H%H%H%H", table_print, textv,
				      events_print, textv[SRC_EVENTS],
				      peers_print, textv[SRC_PEERS],
				      process_print, sbc);
	for (size_t i = 0; i < ARRAY_SIZE(mb); i++)
		mem_deref(mb[i]);
	return err;
}

static void http_req(struct http_conn *conn, const struct http_msg *msg,
		     void *arg)
{
	struct sbc *sbc = arg;
	struct mbuf *page;

	if (pl_strcmp(&msg->path, "/metrics")) {
		(void)http_ereply(conn, 404, "Not Found");
		return;
	}
	if (pl_strcmp(&msg->met, "GET")) {
		(void)http_reply(conn, 405, "Method Not Allowed",
				 "Allow: GET\r\nContent-Length: 0\r\n\r\n");
		return;
	}
	++sbc->metrics.scrapes;
	page = mbuf_alloc(4096);
	if (!page || page_make(page, sbc)) {
		(void)http_ereply(conn, 500, "Internal Server Error");
		mem_deref(page);
		return;
	}
	(void)http_creply(conn, 200, "OK",
			  "text/plain; version=0.0.4; charset=utf-8", "%b",
			  page->buf, page->end);
	mem_deref(page);
}

int metrics_init(struct sbc *sbc)
{
	const char *s = sbc->conf->metrics_listen;
	struct sa laddr;
	int err;

	sbc->metrics.started = time(NULL);
	if (!str_isset(s))
		return 0;
	err = sa_decode(&laddr, s, strlen(s));
	err = err ? err : http_listen(&sbc->metrics.sock, &laddr, http_req,
				      sbc);
	if (err) {
		LOGE(sbc, "metrics_listen %s: %m", s, err);
		return err;
	}
	LOGI(sbc, "metrics on http://%J/metrics", &laddr);
	return 0;
}

void metrics_close(struct sbc *sbc)
{
	sbc->metrics.sock = mem_deref(sbc->metrics.sock);
}
