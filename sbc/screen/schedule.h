/*
 * schedule.h: weekly schedules ("00:00-08:00,1-5 18:00-23:59,1-5
 * 00:00-23:59,6-7") and local time in a named time zone, with its DST,
 * for the off-hours of the fraud profiles.
 */
#ifndef SBC_SCHEDULE_H
#define SBC_SCHEDULE_H

#include <time.h>
#include <stdbool.h>
#include <stdint.h>

enum { SCHED_MAX_SPANS = 16 };

/* minutes of the day, end inclusive; days: bit d for ISO day d (1=Mon) */
struct sched_span {
	uint16_t start;
	uint16_t end;
	uint8_t days;
};

struct sched {
	struct sched_span v[SCHED_MAX_SPANS];
	uint32_t n;
};

/* A time zone with the UTC offset it had when last asked, and until when
 * that offset holds (offsets change only on quarter hours). */
struct sched_tz {
	char name[64];
	time_t valid_from;
	time_t valid_until;
	long gmtoff;
};

int  sched_parse(struct sched *s, const char *str, const char **why);
bool sched_match(const struct sched *s, const struct tm *local);
int  sched_tz_init(struct sched_tz *tz, const char *name);
int  sched_localtime(struct sched_tz *tz, time_t t, struct tm *tm);

#endif
