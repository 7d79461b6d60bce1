/*
 * test_schedule.c: off-hours schedules and local time in a named zone,
 * on a fixed clock: weekdays, spans over midnight, and the DST changes
 * of Europe/Paris and America/New_York.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>
#include "schedule.h"

/* 2026-11-23 is a Monday */
static struct tm tm_at(int mday, int hour, int min)
{
	struct tm tm = {.tm_year = 126, .tm_mon = 10, .tm_mday = mday,
			.tm_hour = hour, .tm_min = min};
	time_t t = timegm(&tm);

	gmtime_r(&t, &tm);
	return tm;
}

static void test_parse(void **state)
{
	struct sched s;
	const char *why;
	(void)state;

	assert_int_equal(sched_parse(&s, "00:00-08:00,1-5 18:00-23:59,1-5 "
				     "00:00-23:59,6-7", &why), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.v[0].start, 0);
	assert_int_equal(s.v[0].end, 480);
	assert_int_equal(s.v[0].days, 0x3e);
	assert_int_equal(s.v[2].days, 0xc0);
	assert_int_equal(sched_parse(&s, "", &why), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(sched_parse(&s, "12:00-24:00", &why), 0);
	assert_int_equal(s.v[0].end, 1439);
	assert_int_equal(s.v[0].days, 0xfe);    /* every day */
	assert_int_equal(sched_parse(&s, "22:00-06:00,5", &why), 0);

	assert_int_equal(sched_parse(&s, "8:00-09:00", &why), EINVAL);
	assert_int_equal(sched_parse(&s, "08:00-09:60", &why), EINVAL);
	assert_int_equal(sched_parse(&s, "24:01-24:00", &why), EINVAL);
	assert_int_equal(sched_parse(&s, "08:00-09:00,0", &why), EINVAL);
	assert_int_equal(sched_parse(&s, "08:00-09:00,8", &why), EINVAL);
	assert_int_equal(sched_parse(&s, "08:00-09:00,5-1", &why), EINVAL);
	assert_int_equal(sched_parse(&s, "08:00-09:00,1-5x", &why), EINVAL);
	assert_int_equal(sched_parse(&s, "08:00", &why), EINVAL);
	assert_int_equal(sched_parse(&s, "00:00-01:00 00:00-01:00 "
		"00:00-01:00 00:00-01:00 00:00-01:00 00:00-01:00 00:00-01:00 "
		"00:00-01:00 00:00-01:00 00:00-01:00 00:00-01:00 00:00-01:00 "
		"00:00-01:00 00:00-01:00 00:00-01:00 00:00-01:00 00:00-01:00",
		&why), E2BIG);
}

static void test_match(void **state)
{
	struct sched s;
	const char *why;
	struct tm tm;
	(void)state;

	assert_int_equal(sched_parse(&s, "00:00-08:00,1-5 18:00-23:59,1-5 "
				     "00:00-23:59,6-7", &why), 0);
	tm = tm_at(23, 7, 59);                    /* Monday */
	assert_true(sched_match(&s, &tm));
	tm = tm_at(23, 8, 0);
	assert_true(sched_match(&s, &tm));        /* end included */
	tm = tm_at(23, 8, 1);
	assert_false(sched_match(&s, &tm));
	tm = tm_at(27, 17, 59);                   /* Friday */
	assert_false(sched_match(&s, &tm));
	tm = tm_at(27, 18, 0);
	assert_true(sched_match(&s, &tm));
	tm = tm_at(28, 12, 0);                    /* Saturday */
	assert_true(sched_match(&s, &tm));
	tm = tm_at(29, 12, 0);                    /* Sunday */
	assert_true(sched_match(&s, &tm));

	/* Friday night over midnight into Saturday morning */
	assert_int_equal(sched_parse(&s, "22:00-06:00,5", &why), 0);
	tm = tm_at(27, 23, 0);
	assert_true(sched_match(&s, &tm));
	tm = tm_at(28, 5, 59);
	assert_true(sched_match(&s, &tm));
	tm = tm_at(28, 6, 1);
	assert_false(sched_match(&s, &tm));
	tm = tm_at(28, 23, 0);                    /* Saturday night: no */
	assert_false(sched_match(&s, &tm));
	tm = tm_at(27, 5, 0);                     /* Friday morning: no */
	assert_false(sched_match(&s, &tm));
	/* Sunday night into Monday: day 7 wraps to day 1 */
	assert_int_equal(sched_parse(&s, "23:00-01:00,7", &why), 0);
	tm = tm_at(30, 0, 30);
	assert_true(sched_match(&s, &tm));
}

static time_t utc(int y, int mon, int d, int h, int m, int sec)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d,
			.tm_hour = h, .tm_min = m, .tm_sec = sec};

	return timegm(&tm);
}

static void local_is(struct sched_tz *tz, time_t t, int hour, int min)
{
	struct tm tm;

	assert_int_equal(sched_localtime(tz, t, &tm), 0);
	assert_int_equal(tm.tm_hour, hour);
	assert_int_equal(tm.tm_min, min);
}

static void test_timezones(void **state)
{
	struct sched_tz tz;
	(void)state;

	assert_int_equal(sched_tz_init(&tz, "Nowhere/Atlantis"), ENOENT);
	assert_int_equal(sched_tz_init(&tz, "../etc/passwd"), EINVAL);
	assert_int_equal(sched_tz_init(&tz, ""), EINVAL);

	/* Paris springs forward at 01:00 UTC on 2026-03-29, from the
	 * cached offset of the quarter hour before to the new one */
	assert_int_equal(sched_tz_init(&tz, "Europe/Paris"), 0);
	local_is(&tz, utc(2026, 3, 29, 0, 30, 0), 1, 30);
	local_is(&tz, utc(2026, 3, 29, 0, 59, 59), 1, 59);
	local_is(&tz, utc(2026, 3, 29, 1, 0, 0), 3, 0);
	local_is(&tz, utc(2026, 3, 29, 0, 59, 59), 1, 59);  /* back again */
	local_is(&tz, utc(2026, 7, 1, 12, 0, 0), 14, 0);
	local_is(&tz, utc(2026, 12, 1, 12, 0, 0), 13, 0);

	/* New York falls back at 06:00 UTC on 2026-11-01 */
	assert_int_equal(sched_tz_init(&tz, "America/New_York"), 0);
	local_is(&tz, utc(2026, 11, 1, 5, 30, 0), 1, 30);   /* EDT */
	local_is(&tz, utc(2026, 11, 1, 6, 30, 0), 1, 30);   /* EST */

	/* Kathmandu is UTC+5:45: quarter hours are enough */
	assert_int_equal(sched_tz_init(&tz, "Asia/Kathmandu"), 0);
	local_is(&tz, utc(2026, 11, 23, 0, 0, 0), 5, 45);
}

/* The process's own zone is left as it was. */
static void test_tz_env_kept(void **state)
{
	struct sched_tz tz;
	struct tm tm;
	(void)state;

	assert_int_equal(setenv("TZ", "Asia/Tokyo", 1), 0);
	assert_int_equal(sched_tz_init(&tz, "UTC"), 0);
	assert_int_equal(sched_localtime(&tz, utc(2026, 1, 1, 0, 0, 0), &tm),
			 0);
	assert_int_equal(tm.tm_hour, 0);
	assert_string_equal(getenv("TZ"), "Asia/Tokyo");
	assert_int_equal(unsetenv("TZ"), 0);
	assert_int_equal(sched_localtime(&tz, utc(2026, 6, 1, 0, 0, 0), &tm),
			 0);
	assert_null(getenv("TZ"));
}

/* Working hours and off-hours of a New York profile on a Monday. */
static void test_offhours_in_zone(void **state)
{
	struct sched s;
	struct sched_tz tz;
	const char *why;
	struct tm tm;
	(void)state;

	assert_int_equal(sched_parse(&s, "00:00-08:00,1-5 18:00-23:59,1-5 "
				     "00:00-23:59,6-7", &why), 0);
	assert_int_equal(sched_tz_init(&tz, "America/New_York"), 0);
	assert_int_equal(sched_localtime(&tz, utc(2026, 11, 23, 12, 30, 0),
					 &tm), 0);
	assert_true(sched_match(&s, &tm));        /* 07:30 there */
	assert_int_equal(sched_localtime(&tz, utc(2026, 11, 23, 14, 0, 0),
					 &tm), 0);
	assert_false(sched_match(&s, &tm));       /* 09:00 there */
	/* Monday 03:00 UTC is still Sunday 22:00 in New York */
	assert_int_equal(sched_localtime(&tz, utc(2026, 11, 23, 3, 0, 0),
					 &tm), 0);
	assert_int_equal(tm.tm_wday, 0);
	assert_true(sched_match(&s, &tm));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_timezones),
		cmocka_unit_test(test_tz_env_kept),
		cmocka_unit_test(test_offhours_in_zone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
