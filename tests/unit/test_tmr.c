/*
 * test_tmr.c: unit tests for sbc/tmr.c, the O(1) replacement of libre's
 * timers: ordering, cancel and restart from handlers, delay 0, expiry
 * queries, 100k timers, bucket housekeeping, per-thread state, and that
 * libre itself (re_main, dnsc) really calls the interposed functions.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <re.h>
#include <cmocka.h>
#include "tmr.h"


enum {
	MANY   = 100000,
	MAXLOG = 64,
};


/* Firing order of the timers of one test. */
struct log {
	int ids[MAXLOG];
	size_t n;
};

/* Expiry order seen by fired_handler(). */
struct fired {
	uint64_t last_jfs;
	size_t n;
	bool sorted;
};


/* A test timer; the handler behaviour is chosen per test. */
struct ev {
	struct tmr tmr;
	struct log *log;
	int id;
	int restarts;        /* times the handler re-arms itself      */
	uint64_t delay;      /* delay for those re-arms               */
	struct ev *cancel[2];/* timers the handler cancels            */
	struct ev *push;     /* timer the handler restarts at 100 ms  */
	struct ev *spawn;    /* timer the handler starts with delay 0 */
	struct ev **freep;   /* mem_zalloc'd timer the handler frees  */
	struct fired *fired; /* for fired_handler()                   */
};


/* re_main() polls with this list; the replacement ignores it. */
static struct list libre_tmrl;


static void sleep_ms(unsigned ms)
{
	struct timespec ts;

	ts.tv_sec  = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}


static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);

	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


static void poll_after(unsigned ms)
{
	sleep_ms(ms);
	tmr_poll(&libre_tmrl);
}


static void ev_handler(void *arg)
{
	struct ev *ev = arg;

	if (ev->log && ev->log->n < MAXLOG)
		ev->log->ids[ev->log->n++] = ev->id;

	/* the timer is no longer running while its handler runs */
	assert_false(tmr_isrunning(&ev->tmr));

	if (ev->cancel[0])
		tmr_cancel(&ev->cancel[0]->tmr);

	if (ev->cancel[1])
		tmr_cancel(&ev->cancel[1]->tmr);

	if (ev->push)
		tmr_start(&ev->push->tmr, 100, ev_handler, ev->push);

	if (ev->spawn)
		tmr_start(&ev->spawn->tmr, 0, ev_handler, ev->spawn);

	if (ev->freep) {
		tmr_cancel(&(*ev->freep)->tmr);
		*ev->freep = mem_deref(*ev->freep);
	}

	if (ev->restarts > 0) {
		--ev->restarts;
		tmr_start(&ev->tmr, ev->delay, ev_handler, ev);
	}
}


static void ev_start(struct ev *ev, struct log *log, int id, uint64_t delay)
{
	memset(ev, 0, sizeof(*ev));
	tmr_init(&ev->tmr);
	ev->log = log;
	ev->id  = id;
	tmr_start(&ev->tmr, delay, ev_handler, ev);
}


static void log_expect(const struct log *log, const int *ids, size_t n)
{
	size_t i;

	assert_int_equal(log->n, n);

	for (i = 0; i < n; i++)
		assert_int_equal(log->ids[i], ids[i]);
}


static void status(char *buf, size_t sz)
{
	buf[0] = '\0';
	assert_true(re_snprintf(buf, sz, "%H", tmr_status, NULL) >= 0);
}


static void stop_handler(void *arg)
{
	int *fired = arg;

	++*fired;
	re_cancel();
}


/* Run libre's real event loop for ms milliseconds. If libre bypassed the
 * interposed timers it would block forever; alarm() kills it instead. */
static void run_loop(unsigned ms)
{
	struct tmr stop;
	int fired = 0;

	alarm(10);

	tmr_init(&stop);
	tmr_start(&stop, ms, stop_handler, &fired);
	assert_int_equal(re_main(NULL), 0);
	assert_int_equal(fired, 1);

	alarm(0);
}


static void test_order_one_poll(void **state)
{
	static const int want[] = {4, 1, 3, 2, 5, 0};
	static const uint64_t delays[] = {30, 10, 20, 10, 0, 20};
	struct ev ev[6];
	struct log log = {{0}, 0};
	size_t i;

	(void)state;

	for (i = 0; i < 6; i++)
		ev_start(&ev[i], &log, (int)i, delays[i]);

	assert_int_equal(tmr_sbc_count(), 6);

	/* all expired: one poll must still fire them in expiry order */
	poll_after(50);
	log_expect(&log, want, 6);
	assert_int_equal(tmr_sbc_count(), 0);
}


static void test_order_re_main(void **state)
{
	static const int want[] = {4, 1, 3, 2, 5, 0};
	static const uint64_t delays[] = {30, 10, 20, 10, 0, 20};
	struct ev ev[6];
	struct log log = {{0}, 0};
	size_t i;

	(void)state;

	for (i = 0; i < 6; i++)
		ev_start(&ev[i], &log, (int)i, delays[i]);

	run_loop(60);
	log_expect(&log, want, 6);
}


static void test_cancel(void **state)
{
	static const int want[] = {0, 2};
	struct ev a, b, c;
	struct log log = {{0}, 0};

	(void)state;

	ev_start(&a, &log, 0, 5);
	ev_start(&b, &log, 1, 5);
	ev_start(&c, &log, 2, 8);

	tmr_cancel(&b.tmr);
	tmr_cancel(&b.tmr);   /* twice is harmless */
	assert_false(tmr_isrunning(&b.tmr));
	assert_int_equal(tmr_sbc_count(), 2);

	poll_after(20);
	log_expect(&log, want, 2);
}


/* A handler cancels the next head of its own bucket and one of another
 * bucket, pushes a third timer out, and frees a fourth; all were due in
 * the same poll. ASan catches any touch of the freed one. */
static void test_cancel_from_handler(void **state)
{
	static const int want[] = {0};
	struct ev a, same, other, pushed;
	struct ev *freed;
	struct log log = {{0}, 0};
	uint64_t exp;

	(void)state;

	freed = mem_zalloc(sizeof(*freed), NULL);
	assert_non_null(freed);

	ev_start(&a, &log, 0, 5);
	ev_start(&same, &log, 1, 5);
	ev_start(&other, &log, 2, 7);
	ev_start(&pushed, &log, 3, 9);
	ev_start(freed, &log, 4, 6);

	a.cancel[0] = &same;
	a.cancel[1] = &other;
	a.push      = &pushed;
	a.freep     = &freed;

	poll_after(20);
	log_expect(&log, want, 1);
	assert_null(freed);
	assert_false(tmr_isrunning(&same.tmr));
	assert_false(tmr_isrunning(&other.tmr));

	assert_true(tmr_isrunning(&pushed.tmr));
	exp = tmr_get_expire(&pushed.tmr);
	assert_true(exp > 50 && exp <= 100);
	assert_int_equal(tmr_sbc_count(), 1);

	tmr_cancel(&pushed.tmr);
}


static void test_restart_from_handler(void **state)
{
	struct ev a, b;
	struct log log = {{0}, 0};
	int polls = 0;

	(void)state;

	ev_start(&a, &log, 0, 3);
	a.restarts = 3;
	a.delay    = 3;

	/* b is restarted with a different delay: it changes bucket */
	ev_start(&b, &log, 1, 2);
	b.restarts = 1;
	b.delay    = 40;

	while (tmr_sbc_count() && polls++ < 200)
		poll_after(5);

	assert_int_equal(tmr_sbc_count(), 0);
	assert_int_equal(log.n, 6);
	assert_int_equal(log.ids[log.n - 1], 1);
}


static void test_delay0(void **state)
{
	static const int want1[] = {0};
	static const int want2[] = {0, 1, 0};
	struct ev a, spawned;
	struct log log = {{0}, 0};

	(void)state;

	/* started outside a poll: due at once, fires at the next poll */
	ev_start(&a, &log, 0, 0);
	assert_int_equal(tmr_get_expire(&a.tmr), 0);
	assert_int_equal(tmr_next_timeout(&libre_tmrl), 1);

	/* started or re-armed inside a handler with delay 0: fires at the
	 * next poll, not in this one, so a poll cannot spin */
	memset(&spawned, 0, sizeof(spawned));
	spawned.log = &log;
	spawned.id  = 1;
	a.spawn    = &spawned;
	a.restarts = 1;
	a.delay    = 0;

	tmr_poll(&libre_tmrl);
	log_expect(&log, want1, 1);
	assert_int_equal(tmr_sbc_count(), 2);
	assert_int_equal(tmr_next_timeout(&libre_tmrl), 1);

	a.spawn = NULL;
	poll_after(3);
	log_expect(&log, want2, 3);
	assert_int_equal(tmr_sbc_count(), 0);
}


static void test_get_expire(void **state)
{
	struct ev a;
	struct tmr idle;
	uint64_t exp;

	(void)state;

	assert_int_equal(tmr_get_expire(NULL), 0);
	tmr_init(&idle);
	assert_int_equal(tmr_get_expire(&idle), 0);

	ev_start(&a, NULL, 0, 1000);
	exp = tmr_get_expire(&a.tmr);
	assert_true(exp >= 990 && exp <= 1000);

	/* restart replaces the expiry and does not duplicate the timer */
	tmr_start(&a.tmr, 5, ev_handler, &a);
	assert_int_equal(tmr_sbc_count(), 1);
	exp = tmr_get_expire(&a.tmr);
	assert_true(exp <= 5);

	/* expired but not yet polled: still running, 0 left */
	sleep_ms(15);
	assert_true(tmr_isrunning(&a.tmr));
	assert_int_equal(tmr_get_expire(&a.tmr), 0);

	tmr_cancel(&a.tmr);
	assert_int_equal(tmr_get_expire(&a.tmr), 0);
	assert_int_equal(tmr_sbc_count(), 0);
}


static void test_next_timeout(void **state)
{
	struct ev a, b;
	uint64_t to;

	(void)state;

	/* re_main() reads 0 as "no timers": wait for I/O forever */
	assert_int_equal(tmr_next_timeout(&libre_tmrl), 0);

	ev_start(&a, NULL, 0, 1000);
	to = tmr_next_timeout(&libre_tmrl);
	assert_true(to >= 990 && to <= 1000);

	ev_start(&b, NULL, 1, 200);
	to = tmr_next_timeout(&libre_tmrl);
	assert_true(to >= 190 && to <= 200);
	tmr_cancel(&b.tmr);
	tmr_cancel(&a.tmr);
	assert_int_equal(tmr_next_timeout(&libre_tmrl), 0);

	/* re_main() casts to int: clamp, and saturate huge delays */
	ev_start(&a, NULL, 0, UINT64_MAX);
	assert_int_equal(tmr_next_timeout(&libre_tmrl), INT_MAX);
	assert_true(tmr_get_expire(&a.tmr) > (uint64_t)INT_MAX);
	tmr_cancel(&a.tmr);
}


static void test_jiffies_monotonic(void **state)
{
	uint64_t j0, m0, j1;

	(void)state;

	m0 = mono_ms();
	j0 = tmr_jiffies();
	assert_true(j0 >= m0 && j0 - m0 <= 5);

	sleep_ms(20);
	j1 = tmr_jiffies();
	assert_true(j1 - j0 >= 20 && j1 - j0 < 1000);
}


static void test_status(void **state)
{
	char buf[512];
	struct ev a, b, c;

	(void)state;

	status(buf, sizeof(buf));
	assert_string_equal(buf, "");

	ev_start(&a, NULL, 0, 500);
	ev_start(&b, NULL, 1, 500);
	ev_start(&c, NULL, 2, 32000);

	status(buf, sizeof(buf));
	assert_non_null(strstr(buf, "Timers (3) in 2 buckets"));
	assert_non_null(strstr(buf, "delay 500 ms: 2 timers"));
	assert_non_null(strstr(buf, "delay 32000 ms: 1 timers"));
	tmr_debug();

	tmr_cancel(&a.tmr);
	tmr_cancel(&b.tmr);
	tmr_cancel(&c.tmr);
}


static const uint64_t sip_delays[] = {
	500, 1000, 2000, 4000, 5000, 32000, 64000
};


static void many_cycle(struct ev *ev)
{
	char buf[1024];
	size_t i, nd = ARRAY_SIZE(sip_delays);

	for (i = 0; i < MANY; i++)
		tmr_start(&ev[i].tmr, sip_delays[i % nd], ev_handler, &ev[i]);

	assert_int_equal(tmr_sbc_count(), MANY);
	status(buf, sizeof(buf));
	assert_non_null(strstr(buf, "Timers (100000) in 7 buckets"));

	/* cancel every other one, restart half of those, then cancel
	 * all from the back: exercises unlink in mid-list and at ends */
	for (i = 0; i < MANY; i += 2)
		tmr_cancel(&ev[i].tmr);
	assert_int_equal(tmr_sbc_count(), MANY / 2);

	for (i = 0; i < MANY; i += 4)
		tmr_start(&ev[i].tmr, sip_delays[(i / 4) % nd],
			  ev_handler, &ev[i]);
	assert_int_equal(tmr_sbc_count(), MANY / 2 + MANY / 4);

	for (i = MANY; i-- > 0; )
		tmr_cancel(&ev[i].tmr);

	assert_int_equal(tmr_sbc_count(), 0);
	assert_int_equal(tmr_next_timeout(&libre_tmrl), 0);
}


static void test_many_start_cancel(void **state)
{
	struct ev *ev;
	uint64_t t0, dt;
	int cycle;

	(void)state;

	ev = calloc(MANY, sizeof(*ev));
	assert_non_null(ev);

	/* O(1) start/cancel: 3 x 250k operations take milliseconds;
	 * libre's sorted list needs ~10^9 steps for the first 100k */
	t0 = mono_ms();
	for (cycle = 0; cycle < 3; cycle++)
		many_cycle(ev);
	dt = mono_ms() - t0;
	print_message("  3 cycles of 100k start/cancel: %llu ms\n",
		      (unsigned long long)dt);
	assert_true(dt < 3000);

	free(ev);
}


static void fired_handler(void *arg)
{
	struct ev *ev = arg;
	struct fired *f = ev->fired;

	if (ev->tmr.jfs < f->last_jfs)
		f->sorted = false;

	f->last_jfs = ev->tmr.jfs;
	++f->n;
}


static void test_many_fire_in_order(void **state)
{
	static const uint64_t delays[] = {8, 1, 5, 2, 3};
	struct fired f = {0, 0, true};
	struct ev *ev;
	size_t i;
	char buf[256];

	(void)state;

	ev = calloc(MANY, sizeof(*ev));
	assert_non_null(ev);

	for (i = 0; i < MANY; i++) {
		ev[i].fired = &f;
		tmr_start(&ev[i].tmr, delays[i % ARRAY_SIZE(delays)],
			  fired_handler, &ev[i]);
	}

	poll_after(40);
	assert_int_equal(f.n, MANY);
	assert_true(f.sorted);
	assert_int_equal(tmr_sbc_count(), 0);

	/* with no timer left, the poll freed every bucket */
	tmr_start(&ev[0].tmr, 77, fired_handler, &ev[0]);
	status(buf, sizeof(buf));
	assert_non_null(strstr(buf, "Timers (1) in 1 buckets"));
	tmr_cancel(&ev[0].tmr);

	free(ev);
}


/* Past MAX_BUCKETS distinct delays, timers go to the sorted overflow
 * list; the merged order must still hold. */
static void test_overflow(void **state)
{
	enum { N = 300 };
	struct fired f = {0, 0, true};
	struct ev ev[N];
	char buf[32768];
	size_t i;

	(void)state;

	memset(ev, 0, sizeof(ev));

	/* distinct delays 1..300 ms in a scrambled order (7 is coprime
	 * to 300) */
	for (i = 0; i < N; i++) {
		ev[i].fired = &f;
		tmr_start(&ev[i].tmr, 1 + (i * 7) % N, fired_handler, &ev[i]);
	}

	assert_int_equal(tmr_sbc_count(), N);
	status(buf, sizeof(buf));
	assert_non_null(strstr(buf, "Timers (300) in 256 buckets"));
	assert_non_null(strstr(buf, "overflow: 44 timers"));

	poll_after(320);
	assert_int_equal(f.n, N);
	assert_true(f.sorted);
	assert_int_equal(tmr_sbc_count(), 0);
}


/* A bucket that stays empty over two sweeps is freed, while running
 * timers keep theirs. */
static void test_bucket_gc(void **state)
{
	struct ev keep, brief;
	char buf[512];

	(void)state;

	ev_start(&keep, NULL, 0, 10000);
	ev_start(&brief, NULL, 1, 7);
	tmr_cancel(&brief.tmr);

	tmr_start(&brief.tmr, 10000, ev_handler, &brief);
	status(buf, sizeof(buf));
	assert_non_null(strstr(buf, "Timers (2) in 2 buckets"));
	tmr_cancel(&brief.tmr);

	poll_after(0);
	poll_after(1100);
	poll_after(1100);

	tmr_start(&brief.tmr, 10000, ev_handler, &brief);
	status(buf, sizeof(buf));
	assert_non_null(strstr(buf, "Timers (2) in 1 buckets"));

	tmr_cancel(&brief.tmr);
	tmr_cancel(&keep.tmr);
}


/* re_main() only returns if libre's loop calls this tmr_next_timeout()
 * and tmr_poll(): libre's own would see an empty list and block forever
 * (alarm() turns that into a failure). */
static void test_libre_loop_uses_interposer(void **state)
{
	struct tmr stop;
	uint64_t t0, dt;
	int fired = 0;

	(void)state;

	alarm(10);

	tmr_init(&stop);
	tmr_start(&stop, 50, stop_handler, &fired);
	assert_int_equal(tmr_sbc_count(), 1);

	t0 = mono_ms();
	assert_int_equal(re_main(NULL), 0);
	dt = mono_ms() - t0;

	alarm(0);

	assert_int_equal(fired, 1);
	assert_int_equal(tmr_sbc_count(), 0);
	assert_true(dt >= 45 && dt < 2000);
}


static void dns_handler(int err, const struct dnshdr *hdr, struct list *ansl,
			struct list *authl, struct list *addl, void *arg)
{
	(void)err;
	(void)hdr;
	(void)ansl;
	(void)authl;
	(void)addl;
	(void)arg;
}


/* libre's internals (here the DNS client) start and cancel their
 * timers through the interposed tmr_start()/tmr_cancel(). */
static void test_libre_internals_use_interposer(void **state)
{
	struct dnsc *dnsc = NULL;
	struct dns_query *q = NULL;
	struct sa srv;
	int err;

	(void)state;

	err = sa_set_str(&srv, "127.0.0.1", 9);
	assert_int_equal(err, 0);
	err = dnsc_alloc(&dnsc, NULL, &srv, 1);
	assert_int_equal(err, 0);

	assert_int_equal(tmr_sbc_count(), 0);

	err = dnsc_query(&q, dnsc, "sbc.invalid", DNS_TYPE_A, DNS_CLASS_IN,
			 true, dns_handler, NULL);
	assert_int_equal(err, 0);
	assert_int_equal(tmr_sbc_count(), 1);
	assert_true(tmr_next_timeout(&libre_tmrl) > 400);

	q = mem_deref(q);
	assert_int_equal(tmr_sbc_count(), 0);

	dnsc = mem_deref(dnsc);
}


static void *thread_main(void *arg)
{
	uint32_t *seen = arg;
	struct tmr t;

	seen[0] = tmr_sbc_count();

	tmr_init(&t);
	tmr_start(&t, 1000, stop_handler, NULL);
	seen[1] = tmr_sbc_count();
	tmr_cancel(&t);

	/* let the thread-local table free its bucket */
	tmr_poll(NULL);

	return NULL;
}


static void test_per_thread(void **state)
{
	struct ev a;
	uint32_t seen[2] = {99, 99};
	pthread_t th;

	(void)state;

	ev_start(&a, NULL, 0, 1000);

	assert_int_equal(pthread_create(&th, NULL, thread_main, seen), 0);
	assert_int_equal(pthread_join(th, NULL), 0);

	assert_int_equal(seen[0], 0);
	assert_int_equal(seen[1], 1);
	assert_int_equal(tmr_sbc_count(), 1);

	tmr_cancel(&a.tmr);
}


/* Every test must leave no timer running for the next one. */
static int check_idle(void **state)
{
	(void)state;

	if (tmr_sbc_count())
		return -1;

	tmr_poll(&libre_tmrl);   /* frees the buckets */

	return 0;
}


static int group_setup(void **state)
{
	(void)state;

	return libre_init();
}


static int group_teardown(void **state)
{
	(void)state;

	libre_close();

	return 0;
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_order_one_poll, check_idle),
		cmocka_unit_test_teardown(test_order_re_main, check_idle),
		cmocka_unit_test_teardown(test_cancel, check_idle),
		cmocka_unit_test_teardown(test_cancel_from_handler,
					  check_idle),
		cmocka_unit_test_teardown(test_restart_from_handler,
					  check_idle),
		cmocka_unit_test_teardown(test_delay0, check_idle),
		cmocka_unit_test_teardown(test_get_expire, check_idle),
		cmocka_unit_test_teardown(test_next_timeout, check_idle),
		cmocka_unit_test_teardown(test_jiffies_monotonic, check_idle),
		cmocka_unit_test_teardown(test_status, check_idle),
		cmocka_unit_test_teardown(test_many_start_cancel, check_idle),
		cmocka_unit_test_teardown(test_many_fire_in_order,
					  check_idle),
		cmocka_unit_test_teardown(test_overflow, check_idle),
		cmocka_unit_test_teardown(test_bucket_gc, check_idle),
		cmocka_unit_test_teardown(test_libre_loop_uses_interposer,
					  check_idle),
		cmocka_unit_test_teardown(test_libre_internals_use_interposer,
					  check_idle),
		cmocka_unit_test_teardown(test_per_thread, check_idle),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
