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

void slog(const struct sbc *sbc, enum log_level lvl, const char *fmt, ...)
{
	char buf[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n, m;

	/* without a context (start-up, shutdown) a line is always written */
	if (sbc && sbc->conf && lvl > (enum log_level)sbc->conf->log_level)
		return;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = re_snprintf(buf, sizeof(buf),
			"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ sbcd[%d]: %s: ",
			tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			tm.tm_hour, tm.tm_min, tm.tm_sec,
			ts.tv_nsec / 1000000, (int)getpid(), lvl_name[lvl]);
	if (n < 0)
		return;

	va_start(ap, fmt);
	m = re_vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)!write(STDERR_FILENO, buf, n);
}
