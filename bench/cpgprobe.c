/*
 * cpgprobe: Corosync CPG alone, as a baseline for bench/pair.sh.
 *
 *   cpgprobe send -r RATE -z BYTES -t SECS [-g GROUP]
 *   cpgprobe recv -t SECS [-g GROUP]
 *
 * The sender multicasts RATE messages a second of BYTES bytes (agreed
 * order, as sbcd's cluster/ does), paced on 1 ms ticks, for SECS seconds,
 * each stamped with CLOCK_REALTIME; CS_ERR_TRY_AGAIN is counted and the
 * message tried again on the next tick.  The receiver (another node of
 * the lab: one kernel, one clock) takes the one-way lag of every message
 * from another process, from the stamp to its delivery, until SECS
 * seconds have passed since its first message (or 5 s of silence).  Both
 * print one line of key=value.  Exit 0, or 1 on a CPG error.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <corosync/cpg.h>

enum { MAX_LAGS = 4000000 };

static uint32_t *lags;
static size_t nlags;
static uint64_t received, own, first_us, last_us;
static uint32_t self_pid;

static uint64_t now_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void deliver(cpg_handle_t h, const struct cpg_name *g, uint32_t node,
		    uint32_t pid, void *msg, size_t len)
{
	uint64_t sent, now = now_us();
	(void)h;
	(void)g;
	(void)node;

	if (pid == self_pid) {
		++own;
		return;
	}
	if (len < sizeof(sent))
		return;
	memcpy(&sent, msg, sizeof(sent));
	if (!first_us)
		first_us = now;
	last_us = now;
	++received;
	if (nlags < MAX_LAGS)
		lags[nlags++] = now > sent ? (uint32_t)(now - sent) : 0;
}

static void confchg(cpg_handle_t h, const struct cpg_name *g,
		    const struct cpg_address *m, size_t nm,
		    const struct cpg_address *l, size_t nl,
		    const struct cpg_address *j, size_t nj)
{
	(void)h; (void)g; (void)m; (void)nm; (void)l; (void)nl; (void)j;
	(void)nj;
}

static int u32_cmp(const void *a, const void *b)
{
	const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fprintf(stderr, "usage: cpgprobe send -r RATE -z BYTES -t SECS "
		"[-g GROUP]\n       cpgprobe recv -t SECS [-g GROUP]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	cpg_callbacks_t cb = {.cpg_deliver_fn = deliver,
			      .cpg_confchg_fn = confchg};
	const char *group = "sbc-probe";
	long rate = 1000, size = 1000, secs = 10;
	struct cpg_name name;
	cpg_handle_t h;
	int send, fd, c;

	if (argc < 2)
		usage();
	send = !strcmp(argv[1], "send");
	if (!send && strcmp(argv[1], "recv"))
		usage();
	optind = 2;
	while ((c = getopt(argc, argv, "r:z:t:g:")) != -1) {
		switch (c) {
		case 'r': rate = atol(optarg); break;
		case 'z': size = atol(optarg); break;
		case 't': secs = atol(optarg); break;
		case 'g': group = optarg; break;
		default: usage();
		}
	}
	if (rate < 1 || rate > 1000000 || size < 8 || size > 1000000
	    || secs < 1 || secs > 3600 || strlen(group) >= CPG_MAX_NAME_LENGTH)
		usage();
	lags = send ? NULL : malloc(MAX_LAGS * sizeof(*lags));
	if (!send && !lags)
		return 1;
	if (cpg_initialize(&h, &cb) != CS_OK) {
		fprintf(stderr, "cpgprobe: cannot reach Corosync\n");
		return 1;
	}
	name.length = (uint32_t)strlen(group);
	memcpy(name.value, group, name.length);
	if (cpg_join(h, &name) != CS_OK || cpg_fd_get(h, &fd) != CS_OK) {
		fprintf(stderr, "cpgprobe: cannot join %s\n", group);
		return 1;
	}
	self_pid = (uint32_t)getpid();

	if (send) {
		char *buf = calloc(1, (size_t)size);
		const uint64_t start = now_us() + 500000;   /* joined first */
		const uint64_t end = start + (uint64_t)secs * 1000000;
		uint64_t sent = 0, again = 0, due, t;

		if (!buf)
			return 1;
		while ((t = now_us()) < end) {
			struct pollfd p = {fd, POLLIN, 0};

			due = t < start ? 0
				: (uint64_t)((t - start) * (double)rate / 1e6) + 1;
			while (sent < due) {
				struct iovec iov = {buf, (size_t)size};
				cs_error_t e;

				t = now_us();
				memcpy(buf, &t, sizeof(t));
				e = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov,
						     1);
				if (e == CS_ERR_TRY_AGAIN) {
					++again;
					break;
				}
				if (e != CS_OK) {
					fprintf(stderr, "cpgprobe: multicast "
						"error %d\n", e);
					return 1;
				}
				++sent;
			}
			/* the next 1 ms tick; our own messages come back */
			if (poll(&p, 1, 1) > 0
			    && cpg_dispatch(h, CS_DISPATCH_ALL) != CS_OK)
				return 1;
		}
		printf("sent=%llu try_again=%llu rate=%ld bytes=%ld secs=%ld\n",
		       (unsigned long long)sent, (unsigned long long)again,
		       rate, size, secs);
	}
	else {
		const uint64_t t0 = now_us();

		for (;;) {
			struct pollfd p = {fd, POLLIN, 0};
			const uint64_t t = now_us();

			if (first_us && t > first_us + (uint64_t)secs * 1000000
			    + 1000000)
				break;
			if (t > (first_us ? last_us : t0) + 5000000
			    + (first_us ? 0 : (uint64_t)secs * 1000000))
				break;
			if (poll(&p, 1, 100) > 0
			    && cpg_dispatch(h, CS_DISPATCH_ALL) != CS_OK)
				return 1;
		}
		qsort(lags, nlags, sizeof(*lags), u32_cmp);
		printf("received=%llu lag_p50_us=%u lag_p99_us=%u "
		       "lag_max_us=%u\n", (unsigned long long)received,
		       nlags ? lags[nlags / 2] : 0,
		       nlags ? lags[nlags * 99 / 100] : 0,
		       nlags ? lags[nlags - 1] : 0);
	}
	(void)cpg_finalize(h);
	return 0;
}
