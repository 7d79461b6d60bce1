/*
 * log.c: leveled log lines with a UTC timestamp, one write() per line so
 * lines from several processes (tests, cluster nodes) never interleave.
 */
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <strings.h>
#include "sbc.h"

static const char *lvl_name[] = {"error", "warn", "info", "debug"};

int log_level_parse(const char *s, enum log_level *lvl)
{
	for (size_t i = 0; i < ARRAY_SIZE(lvl_name); i++) {
		if (!strcasecmp(s, lvl_name[i])) {
			*lvl = (enum log_level)i;
			return 0;
		}
	}
	return EINVAL;
}

static void vslog(enum log_level lvl, const char *fmt, va_list ap)
{
	char buf[2048];
	struct timespec ts;
	struct tm tm;
	int n, m;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = re_snprintf(buf, sizeof(buf),
			"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ sbcd[%d]: %s: ",
			tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			tm.tm_hour, tm.tm_min, tm.tm_sec,
			ts.tv_nsec / 1000000, (int)getpid(), lvl_name[lvl]);
	if (n < 0)
		return;

	m = re_vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)!write(STDERR_FILENO, buf, n);
}

static bool wanted(const struct sbc *sbc, enum log_level lvl)
{
	/* without a context (start-up, shutdown) a line is always written */
	return !sbc || !sbc->conf || lvl <= (enum log_level)sbc->conf->log_level;
}

void slog(const struct sbc *sbc, enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (!wanted(sbc, lvl))
		return;
	va_start(ap, fmt);
	vslog(lvl, fmt, ap);
	va_end(ap);
}

static void left_out_h(void *arg)
{
	struct sbc *sbc = arg;
	struct log_limit *ll = &sbc->log_limit;

	if (!ll->left_out)
		return;
	slog(sbc, LOG_WARN, "log: %llu lines about remote input left out "
	     "in the last second (log_remote_rate %u)",
	     (unsigned long long)ll->left_out, sbc->conf->log_remote_rate);
	ll->left_out = 0;
}

/* Within the budget of this second, or counted: the count is told by a
 * line a second after the first left out, even when the flood stops. */
static bool within(struct sbc *sbc)
{
	struct log_limit *ll = &sbc->log_limit;
	const uint32_t max = sbc->conf->log_remote_rate;
	const uint64_t sec = tmr_jiffies() / 1000;

	if (!max)
		return true;
	if (sec != ll->sec) {
		ll->sec = sec;
		ll->lines = 0;
	}
	if (ll->lines < max) {
		++ll->lines;
		return true;
	}
	if (!ll->left_out++)
		tmr_start(&ll->tmr, 1000, left_out_h, sbc);
	return false;
}

void slog_remote(struct sbc *sbc, enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (!wanted(sbc, lvl) || (sbc && sbc->conf && !within(sbc)))
		return;
	va_start(ap, fmt);
	vslog(lvl, fmt, ap);
	va_end(ap);
}

void log_close(struct sbc *sbc)
{
	left_out_h(sbc);
	tmr_cancel(&sbc->log_limit.tmr);
}
