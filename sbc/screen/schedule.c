/*
 * schedule.c: weekly schedules and local time in a named time zone.
 *
 * A schedule is a list of spans "HH:MM-HH:MM[,D[-D]]" separated by
 * spaces, days numbered ISO-fashion (1 Monday .. 7 Sunday, all days when
 * omitted), the end minute included.  A span whose end is before its
 * start runs over midnight into the next day.
 *
 * glibc converts to local time only in the process's zone, so the offset
 * of another zone is learnt by switching TZ for one conversion; it is
 * cached until the next quarter hour (no zone changes its offset at any
 * other time), so the switch costs one call in fifteen minutes per zone.
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <ctype.h>
#include <errno.h>
#include <unistd.h>
#include "schedule.h"

static int parse_hhmm(const char **sp, uint16_t *min)
{
	const char *s = *sp;
	unsigned h, m;

	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1])
	    || s[2] != ':' || !isdigit((unsigned char)s[3])
	    || !isdigit((unsigned char)s[4]))
		return -1;
	h = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
	m = (unsigned)(s[3] - '0') * 10 + (unsigned)(s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && m))
		return -1;
	*min = (uint16_t)(h * 60 + m);
	if (*min == 1440)
		*min = 1439;           /* "24:00": to the end of the day */
	*sp = s + 5;
	return 0;
}

static int parse_days(const char **sp, uint8_t *days)
{
	const char *s = *sp;
	int a, b;

	if (s[0] < '1' || s[0] > '7')
		return -1;
	a = b = s[0] - '0';
	s++;
	if (*s == '-') {
		if (s[1] < '1' || s[1] > '7' || s[1] - '0' < a)
			return -1;
		b = s[1] - '0';
		s += 2;
	}
	*days = 0;
	for (int d = a; d <= b; d++)
		*days |= (uint8_t)(1u << d);
	*sp = s;
	return 0;
}

int sched_parse(struct sched *s, const char *str, const char **why)
{
	memset(s, 0, sizeof(*s));
	*why = "spans HH:MM-HH:MM[,D[-D]] separated by spaces (days 1=Mon "
	       "to 7=Sun)";

	while (*str) {
		struct sched_span sp = {.days = 0xfe};

		while (*str == ' ' || *str == '\t')
			++str;
		if (!*str)
			break;
		if (s->n >= SCHED_MAX_SPANS) {
			*why = "at most 16 spans";
			return E2BIG;
		}
		if (parse_hhmm(&str, &sp.start) || *str++ != '-'
		    || parse_hhmm(&str, &sp.end))
			return EINVAL;
		if (*str == ',') {
			++str;
			if (parse_days(&str, &sp.days))
				return EINVAL;
		}
		if (*str && *str != ' ' && *str != '\t')
			return EINVAL;
		s->v[s->n++] = sp;
	}
	return 0;
}

bool sched_match(const struct sched *s, const struct tm *local)
{
	const int day = (local->tm_wday + 6) % 7 + 1;      /* ISO */
	const int prev = day == 1 ? 7 : day - 1;
	const int min = local->tm_hour * 60 + local->tm_min;

	for (uint32_t i = 0; i < s->n; i++) {
		const struct sched_span *sp = &s->v[i];

		if (sp->start <= sp->end) {
			if ((sp->days & (1u << day)) && min >= sp->start
			    && min <= sp->end)
				return true;
			continue;
		}
		/* over midnight: the evening of a listed day, or the
		 * morning after one */
		if ((sp->days & (1u << day)) && min >= sp->start)
			return true;
		if ((sp->days & (1u << prev)) && min <= sp->end)
			return true;
	}
	return false;
}

/* A name glibc would find: a TZif file under the zoneinfo directory.
 * glibc itself falls back to UTC without a word for unknown names. */
int sched_tz_init(struct sched_tz *tz, const char *name)
{
	const char *dir = getenv("TZDIR");
	char path[512];

	memset(tz, 0, sizeof(*tz));
	if (!name[0] || strlen(name) >= sizeof(tz->name) || name[0] == '/'
	    || strstr(name, ".."))
		return EINVAL;
	if (snprintf(path, sizeof(path), "%s/%s",
		     dir && dir[0] ? dir : "/usr/share/zoneinfo", name)
	    >= (int)sizeof(path) || access(path, R_OK))
		return ENOENT;
	strcpy(tz->name, name);
	return 0;
}

static int zone_offset(const char *name, time_t t, long *off)
{
	const char *cur = getenv("TZ");
	char saved[128];
	bool had = cur != NULL;
	struct tm tm;
	int err = 0;

	if (had && snprintf(saved, sizeof(saved), "%s", cur)
		   >= (int)sizeof(saved))
		return ENAMETOOLONG;
	if (setenv("TZ", name, 1))
		return errno;
	tzset();
	if (!localtime_r(&t, &tm))
		err = EOVERFLOW;
	else
		*off = tm.tm_gmtoff;
	if (had)
		(void)setenv("TZ", saved, 1);
	else
		(void)unsetenv("TZ");
	tzset();
	return err;
}

int sched_localtime(struct sched_tz *tz, time_t t, struct tm *tm)
{
	time_t local;
	int err;

	if (!tz->name[0])
		return EINVAL;
	if (t < tz->valid_from || t >= tz->valid_until) {
		err = zone_offset(tz->name, t, &tz->gmtoff);
		if (err)
			return err;
		tz->valid_from = t - t % 900;
		tz->valid_until = tz->valid_from + 900;
	}
	local = t + tz->gmtoff;
	return gmtime_r(&local, tm) ? 0 : EOVERFLOW;
}
