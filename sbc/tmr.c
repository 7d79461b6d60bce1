/*
 * tmr.c: O(1) replacement for libre 1.1.0's timer implementation.
 *
 * libre keeps all timers of a thread in one list sorted by expiry, so
 * tmr_start() is O(n): each short retransmit timer walks past tens of
 * thousands of 32 s transaction timers, and at a few hundred UDP calls/s
 * that scan takes most of the CPU. The functions below have libre's exact
 * signatures and are exported from the executable (ENABLE_EXPORTS), so
 * libre.so's PLT calls to tmr_* bind to them instead of libre's own.
 *
 * Design: one FIFO list ("bucket") per distinct delay value. With a
 * monotonic clock, timers started with the same delay expire in start
 * order, so appending keeps each bucket sorted and start/cancel are O(1).
 * Finding the next expiry only needs the head of each bucket; SIP uses a
 * handful of delays (T1 << n, T2, T4, 64*T1, ...), so that scan is short.
 * Past MAX_BUCKETS distinct delays, or when memory runs out, timers go to
 * one sorted overflow list (libre's algorithm), so tmr_start() never drops
 * a timer. Empty buckets are freed once they stay empty for a sweep.
 */
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "tmr.h"


enum {
	HASH_SIZE   = 64,    /* slots of the delay -> bucket hash         */
	MAX_BUCKETS = 256,   /* distinct delays before the overflow list  */
	GC_INTERVAL = 1000,  /* [ms] between sweeps for empty buckets     */
};


/* Running timers started with one delay value, earliest first. */
struct bucket {
	struct le he;        /* in tmrs.ht, keyed by delay           */
	struct le le;        /* in tmrs.bucketl                      */
	struct list tmrl;    /* struct tmr, sorted by jfs            */
	uint64_t delay;
	uint32_t n;          /* timers in tmrl                       */
	bool idle;           /* empty at the last sweep              */
};


/*
 * Per-thread timer state. This is the one justified exception to the
 * project's no-global-state rule: libre's tmr_* API carries no context
 * (tmr_start() has no loop argument) and libre runs one event loop per
 * thread, so the table can only be reached through thread-local storage,
 * just as libre reaches its own list through re_get().
 *
 * Timers are thread-confined: start, cancel and poll a timer in the thread
 * whose loop runs it. Unlike libre, a thread without re_thread_init() that
 * borrows the main loop through re_thread_enter() gets a table of its own
 * here, which nothing polls, so such threads must not start timers.
 */
struct tmrs {
	struct hash *ht;      /* delay -> struct bucket; NULL if none   */
	struct list bucketl;  /* every hashed bucket, for head scans    */
	struct bucket ovf;    /* sorted overflow list, never freed      */
	uint32_t nbuckets;    /* hashed buckets                         */
	uint32_t n;           /* running timers, all lists              */
	uint32_t depth;       /* nesting of tmr_poll()                  */
	uint64_t poll_now;    /* jiffies of the running tmr_poll()      */
	uint64_t next_gc;     /* jiffies of the next bucket sweep       */
};

static __thread struct tmrs tmrs;


/* The earliest bucket head, found by scan_heads(). */
struct scan {
	struct bucket *b;     /* bucket whose head expires first  */
	uint64_t first;       /* expiry of that head              */
	uint64_t second;      /* earliest expiry of other heads   */
};


static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return (a > UINT64_MAX - b) ? UINT64_MAX : a + b;
}


/* The bucket a linked timer is on; tmr->le.list points into it. */
static struct bucket *list_bucket(struct list *list)
{
	return (struct bucket *)(void *)
		((char *)list - offsetof(struct bucket, tmrl));
}


static void bucket_destructor(void *arg)
{
	struct bucket *b = arg;

	hash_unlink(&b->he);
	list_unlink(&b->le);
}


static bool delay_cmp(struct le *le, void *arg)
{
	const struct bucket *b = le->data;

	return b->delay == *(const uint64_t *)arg;
}


/* Common delays (500, 1000, 4000, 32000) share their low bits, which is
 * all hash_lookup() looks at, so mix them first. */
static uint32_t delay_key(uint64_t delay)
{
	return hash_joaat((const uint8_t *)&delay, sizeof(delay));
}


/* The bucket for delay, created on first use; NULL means "use ovf". */
static struct bucket *bucket_get(struct tmrs *st, uint64_t delay)
{
	const uint32_t key = delay_key(delay);
	struct bucket *b;
	struct le *le;

	le = hash_lookup(st->ht, key, delay_cmp, &delay);
	if (le)
		return le->data;

	if (st->nbuckets >= MAX_BUCKETS)
		return NULL;

	if (!st->ht && hash_alloc(&st->ht, HASH_SIZE))
		return NULL;

	b = mem_zalloc(sizeof(*b), bucket_destructor);
	if (!b)
		return NULL;

	b->delay = delay;
	hash_append(st->ht, key, &b->he, b);
	list_append(&st->bucketl, &b->le, b);
	++st->nbuckets;

	return b;
}


static bool inspos_handler(struct le *le, void *arg)
{
	const struct tmr *tmr = le->data;

	return tmr->jfs <= *(const uint64_t *)arg;
}


static void link_tmr(struct tmrs *st, struct tmr *tmr, uint64_t delay)
{
	struct bucket *b = bucket_get(st, delay);
	const struct tmr *last;
	struct le *le;

	if (b) {
		/* Only a delay-0 timer pushed to poll_now + 1 can be later
		 * than one started after it; keep the FIFO sorted anyway. */
		last = list_ledata(b->tmrl.tail);
		if (last && last->jfs > tmr->jfs)
			tmr->jfs = last->jfs;

		list_append(&b->tmrl, &tmr->le, tmr);
		b->idle = false;
	}
	else {
		b = &st->ovf;
		le = list_apply(&b->tmrl, false, inspos_handler, &tmr->jfs);
		if (le)
			list_insert_after(&b->tmrl, le, &tmr->le, tmr);
		else
			list_prepend(&b->tmrl, &tmr->le, tmr);
	}

	++b->n;
	++st->n;
}


static void unlink_tmr(struct tmrs *st, struct tmr *tmr)
{
	if (!tmr->le.list)
		return;

	--list_bucket(tmr->le.list)->n;
	--st->n;
	list_unlink(&tmr->le);
}


static void scan_bucket(struct scan *sc, struct bucket *b)
{
	const struct tmr *tmr = list_ledata(b->tmrl.head);

	if (!tmr)
		return;

	if (!sc->b || tmr->jfs < sc->first) {
		sc->second = sc->first;
		sc->first  = tmr->jfs;
		sc->b      = b;
	}
	else if (tmr->jfs < sc->second) {
		sc->second = tmr->jfs;
	}
}


static void scan_heads(struct tmrs *st, struct scan *sc)
{
	struct le *le;

	sc->b      = NULL;
	sc->first  = UINT64_MAX;
	sc->second = UINT64_MAX;

	scan_bucket(sc, &st->ovf);

	for (le = st->bucketl.head; le; le = le->next)
		scan_bucket(sc, le->data);
}


/*
 * Fire the heads of b that expire at or before lim. A handler may start
 * or cancel any timer, itself included, or free the memory of others, so
 * the head is re-read after every call and nothing else is kept. b stays
 * valid: buckets are only freed by gc(), never while a handler runs.
 */
static void fire_bucket(struct tmrs *st, struct bucket *b, uint64_t lim)
{
	struct tmr *tmr;

	while ((tmr = list_ledata(b->tmrl.head)) && tmr->jfs <= lim) {
		tmr_h *th = tmr->th;
		void *arg = tmr->arg;

		unlink_tmr(st, tmr);
		tmr->th = NULL;

		if (th)
			th(arg);
	}
}


/*
 * Free buckets that were empty at two sweeps in a row, so a delay that
 * is used now and then keeps its bucket, but a burst of odd delays does
 * not fill the table for good. With no timers left, free everything, so
 * a loop that ends idle leaves nothing behind.
 */
static void gc(struct tmrs *st, uint64_t now)
{
	const bool all = (st->n == 0);
	struct le *le;

	if (!all && now < st->next_gc)
		return;

	st->next_gc = now + GC_INTERVAL;

	le = st->bucketl.head;
	while (le) {
		struct bucket *b = le->data;

		le = le->next;

		if (!list_isempty(&b->tmrl)) {
			b->idle = false;
		}
		else if (all || b->idle) {
			mem_deref(b);
			--st->nbuckets;
		}
		else {
			b->idle = true;
		}
	}

	if (!st->nbuckets)
		st->ht = mem_deref(st->ht);
}


/*
 * Fire all timers that had expired when the poll began, earliest first.
 * tmrl is libre's own list, which stays empty since libre's tmr_start()
 * is never called.
 */
void tmr_poll(struct list *tmrl)
{
	struct tmrs *st = &tmrs;
	const uint64_t now = tmr_jiffies();
	const uint64_t prev = st->poll_now;
	struct scan sc;

	(void)tmrl;

	st->poll_now = now;
	++st->depth;

	for (;;) {
		scan_heads(st, &sc);
		if (!sc.b || sc.first > now)
			break;

		/* Drain this bucket while it stays the earliest. Timers
		 * started meanwhile expire after now, so sc.second can only
		 * be too early (a cancel), which merely costs a rescan. */
		fire_bucket(st, sc.b, MIN(now, sc.second));
	}

	--st->depth;
	st->poll_now = prev;

	if (!st->depth)
		gc(st, now);
}


/* Milliseconds of CLOCK_MONOTONIC. libre 1.1.0 used gettimeofday(), so
 * stepping the wall clock shifted every running timer. Every caller,
 * libre included, comes here through the PLT, so all agree. */
uint64_t tmr_jiffies(void)
{
	struct timespec ts = {0, 0};

	/* cannot fail for CLOCK_MONOTONIC with a valid pointer */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);

	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


/*
 * Milliseconds until the earliest timer, with re_main()'s conventions:
 * 0 means "no timers" (it then waits for I/O without a timeout), so an
 * expired timer yields 1, exactly as libre does.
 */
uint64_t tmr_next_timeout(struct list *tmrl)
{
	struct scan sc;
	uint64_t now;

	(void)tmrl;

	scan_heads(&tmrs, &sc);
	if (!sc.b)
		return 0;

	now = tmr_jiffies();
	if (sc.first <= now)
		return 1;

	/* re_main() casts this to int for epoll_wait(); waking early
	 * only costs an empty poll, an overflowed int waits forever. */
	return MIN(sc.first - now, (uint64_t)INT_MAX);
}


static int bucket_status(struct re_printf *pf, const struct bucket *b,
			 const char *name)
{
	const struct tmr *head = list_ledata(b->tmrl.head);

	if (!head)
		return 0;

	if (name)
		return re_hprintf(pf, "  %s: %u timers, next in %llu ms\n",
				  name, b->n,
				  (unsigned long long)tmr_get_expire(head));

	return re_hprintf(pf, "  delay %llu ms: %u timers, next in %llu ms\n",
			  (unsigned long long)b->delay, b->n,
			  (unsigned long long)tmr_get_expire(head));
}


/* One line per bucket rather than libre's one per timer: an SBC under
 * load runs 100k timers. */
int tmr_status(struct re_printf *pf, void *unused)
{
	const struct tmrs *st = &tmrs;
	struct le *le;
	int err;

	(void)unused;

	if (!st->n)
		return 0;

	err = re_hprintf(pf, "Timers (%u) in %u buckets:\n",
			 st->n, st->nbuckets);

	for (le = st->bucketl.head; le; le = le->next)
		err |= bucket_status(pf, le->data, NULL);

	err |= bucket_status(pf, &st->ovf, "overflow");

	return err;
}


void tmr_debug(void)
{
	if (tmrs.n)
		(void)re_fprintf(stderr, "%H", tmr_status, NULL);
}


void tmr_init(struct tmr *tmr)
{
	if (!tmr)
		return;

	memset(tmr, 0, sizeof(*tmr));
}


void tmr_start(struct tmr *tmr, uint64_t delay, tmr_h *th, void *arg)
{
	struct tmrs *st = &tmrs;

	if (!tmr)
		return;

	unlink_tmr(st, tmr);

	tmr->th  = th;
	tmr->arg = arg;

	if (!th)
		return;

	tmr->jfs = add_sat(tmr_jiffies(), delay);

	/* A timer started by a handler fires at the next poll at the
	 * earliest, so a handler re-arming itself with delay 0 cannot
	 * keep tmr_poll() spinning until the clock ticks. */
	if (st->depth && tmr->jfs <= st->poll_now)
		tmr->jfs = st->poll_now + 1;

	link_tmr(st, tmr, delay);
}


void tmr_cancel(struct tmr *tmr)
{
	tmr_start(tmr, 0, NULL, NULL);
}


uint64_t tmr_get_expire(const struct tmr *tmr)
{
	uint64_t now;

	if (!tmr || !tmr->th)
		return 0;

	now = tmr_jiffies();

	return (tmr->jfs > now) ? (tmr->jfs - now) : 0;
}


uint32_t tmr_sbc_count(void)
{
	return tmrs.n;
}
