/* bench/rtpgen.c: the load generator of the media benchmark (bench/media.sh).
 *
 * Plays both ends of N G.711 calls through a relay: per stream an A-side and
 * a B-side UDP socket, each sending 172-byte RTP packets (12-byte header, 160
 * bytes of payload) at 50 packets/s to the relay's port for it, and receiving
 * what the relay forwards from the other side.  The send time is stamped in
 * the payload, so the receiver measures the one-way delay through the relay.
 *
 * One thread, paced with clock_nanosleep (absolute deadlines): the 20 ms
 * packet period is cut into 20 slots of 1 ms, stream i sending in slot i % 20,
 * so the load is even over the period (no bursts of N packets).  A late
 * wake-up sends every slot due (catch-up, counted as late slots and pacing
 * lag).  After each slot, what arrived is read: epoll (level-triggered, no
 * wait) and recvmmsg on each ready socket.
 *
 * Input (-f): one line per stream,
 *   a_local_port relay_addr_A relay_port_A b_local_port relay_addr_B relay_port_B
 * the A socket binds -a ADDR:a_local_port and sends to relay_addr_A:port_A,
 * the B socket binds -b ADDR:b_local_port and sends to relay_addr_B:port_B.
 * Output: one "key=value ..." summary line on stdout (read by media.sh);
 * with -o FILE one line per stream (sent, received, p99 delay in µs).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "udpsock.h"

enum {
	PKT_LEN = 172,
	HDR_LEN = 12,
	SLOTS = 20,            /* 1 ms slots in the 20 ms period */
	BATCH = 32,
	HBUCKETS = 2000,       /* delay histogram: 0.1 ms buckets up to 200 ms */
	HSTEP_US = 100,
	BOUND_US = 20000,      /* the delay bound of the report */
	TL_MAX = 6000,         /* timeline: 100 ms cells, 10 minutes */
};

struct stream {
	int fd[2];                  /* A side, B side */
	struct sockaddr_in dst[2];  /* where each side sends: the relay */
	uint32_t seq[2];
	uint64_t sent[2], rcvd[2];
	uint64_t in_bound;          /* received within BOUND_US */
	uint32_t *hist;             /* HBUCKETS + 1 (overflow) */
};

struct gen {
	struct stream *sv;
	size_t n;
	int ep;
	uint64_t dur_ns, drain_ns;
	uint64_t late_slots, max_lag_ns, send_err, bad;
	uint64_t ghist[HBUCKETS + 1];
	uint64_t t0;
	uint32_t tl_n[TL_MAX], tl_max[TL_MAX];  /* per 100 ms of send time */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int read_streams(struct gen *g, const char *file, const char *ipa,
			const char *ipb)
{
	FILE *f = fopen(file, "r");
	char ra[64], rb[64];
	unsigned pa, pra, pb, prb;
	size_t cap = 0;

	if (!f) {
		perror(file);
		return -1;
	}
	while (fscanf(f, "%u %63s %u %u %63s %u", &pa, ra, &pra, &pb, rb,
		      &prb) == 6) {
		struct stream *s;

		if (g->n == cap) {
			cap = cap ? cap * 2 : 256;
			g->sv = realloc(g->sv, cap * sizeof(*g->sv));
			if (!g->sv)
				return -1;
		}
		s = &g->sv[g->n];
		memset(s, 0, sizeof(*s));
		s->hist = calloc(HBUCKETS + 1, sizeof(*s->hist));
		s->fd[0] = udpsock_bind("rtpgen", ipa, pa);
		s->fd[1] = udpsock_bind("rtpgen", ipb, pb);
		if (!s->hist || s->fd[0] < 0 || s->fd[1] < 0)
			return -1;
		s->dst[0] = (struct sockaddr_in){.sin_family = AF_INET,
						 .sin_port = htons(pra)};
		s->dst[1] = (struct sockaddr_in){.sin_family = AF_INET,
						 .sin_port = htons(prb)};
		if (inet_pton(AF_INET, ra, &s->dst[0].sin_addr) != 1 ||
		    inet_pton(AF_INET, rb, &s->dst[1].sin_addr) != 1) {
			fprintf(stderr, "rtpgen: bad address in line %zu\n",
				g->n + 1);
			return -1;
		}
		for (int k = 0; k < 2; k++) {
			/* the epoll key: stream index and side */
			struct epoll_event ev = {.events = EPOLLIN,
				.data.u64 = (uint64_t)g->n << 1 | (unsigned)k};

			if (epoll_ctl(g->ep, EPOLL_CTL_ADD, s->fd[k], &ev) < 0)
				return -1;
		}
		g->n++;
	}
	fclose(f);
	return g->n ? 0 : -1;
}

/* payload: stream index, side, sequence, send time (ns) */
static void send_one(struct gen *g, size_t i, int k)
{
	struct stream *s = &g->sv[i];
	uint8_t p[PKT_LEN];
	uint32_t idx = (uint32_t)i, seq = s->seq[k]++;
	uint64_t t = now_ns();

	memset(p, 0xd5, sizeof(p));       /* PCMU silence */
	p[0] = 0x80;
	p[1] = 0;                         /* PT 0, PCMU */
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	uint32_t ts = htonl(seq * 160), ssrc = htonl(idx * 2 + (uint32_t)k + 1);
	memcpy(p + 4, &ts, 4);
	memcpy(p + 8, &ssrc, 4);
	memcpy(p + HDR_LEN, &idx, 4);
	p[HDR_LEN + 4] = (uint8_t)k;
	memcpy(p + HDR_LEN + 8, &t, 8);
	if (sendto(s->fd[k], p, sizeof(p), 0, (struct sockaddr *)&s->dst[k],
		   sizeof(s->dst[k])) != (ssize_t)sizeof(p)) {
		g->send_err++;
		return;
	}
	s->sent[k]++;
}

static void send_slot(struct gen *g, unsigned slot)
{
	for (size_t i = slot; i < g->n; i += SLOTS) {
		send_one(g, i, 0);
		send_one(g, i, 1);
	}
}

/* a packet sent by side k of stream i arrives at side !k of stream i */
static void recv_sock(struct gen *g, size_t i, int rk)
{
	static uint8_t buf[BATCH][256];
	struct mmsghdr mv[BATCH];
	struct iovec iov[BATCH];
	struct stream *s = &g->sv[i];
	int n;

	for (int j = 0; j < BATCH; j++) {
		iov[j] = (struct iovec){buf[j], sizeof(buf[j])};
		mv[j] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[j],
						     .msg_iovlen = 1}};
	}
	while ((n = recvmmsg(s->fd[rk], mv, BATCH, 0, NULL)) > 0) {
		uint64_t t = now_ns();

		for (int j = 0; j < n; j++) {
			uint32_t idx;
			uint64_t st, d;

			memcpy(&idx, buf[j] + HDR_LEN, 4);
			memcpy(&st, buf[j] + HDR_LEN + 8, 8);
			if (mv[j].msg_len != PKT_LEN || idx != i ||
			    buf[j][HDR_LEN + 4] != (uint8_t)!rk || st > t) {
				g->bad++;
				continue;
			}
			d = (t - st) / 1000;
			s->rcvd[!rk]++;
			if (st >= g->t0 && (st - g->t0) / 100000000 < TL_MAX) {
				size_t c = (st - g->t0) / 100000000;

				g->tl_n[c]++;
				if (d > g->tl_max[c])
					g->tl_max[c] = (uint32_t)d;
			}
			if (d <= BOUND_US)
				s->in_bound++;
			d /= HSTEP_US;
			if (d > HBUCKETS)
				d = HBUCKETS;
			s->hist[d]++;
			g->ghist[d]++;
		}
		if (n < BATCH)
			break;
	}
}

/* everything that arrived: level-triggered epoll, no waiting */
static int drain(struct gen *g)
{
	struct epoll_event ev[1024];
	int n;

	do {
		n = epoll_wait(g->ep, ev, 1024, 0);
		for (int j = 0; j < n; j++)
			recv_sock(g, (size_t)(ev[j].data.u64 >> 1),
				  (int)(ev[j].data.u64 & 1));
	} while (n == 1024);
	return n < 0 && errno != EINTR ? -1 : 0;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = {.tv_sec = (time_t)(t / 1000000000ull),
			      .tv_nsec = (long)(t % 1000000000ull)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

/* Every millisecond: the slots due, then what arrived.  Receiving once a
 * millisecond adds at most 1 ms to the measured delay, the same for every
 * relay, and costs one epoll_wait per millisecond instead of one per packet
 * (at 100k packets/s the generator would otherwise be the bottleneck). */
static int run(struct gen *g)
{
	uint64_t t0, slot = 0, nslots, end;

	nslots = g->dur_ns / 1000000;
	t0 = g->t0 = now_ns();
	while (slot < nslots) {
		uint64_t t = now_ns(), due = (t - t0) / 1000000 + 1, lag;

		if (due > nslots)
			due = nslots;
		if (due > slot + 1)
			g->late_slots += due - slot - 1;
		for (; slot < due; slot++) {
			send_slot(g, (unsigned)(slot % SLOTS));
			lag = now_ns() - (t0 + slot * 1000000);
			if (lag > g->max_lag_ns)
				g->max_lag_ns = lag;
		}
		if (drain(g) < 0)
			return -1;
		sleep_until(t0 + slot * 1000000);
	}
	/* the packets still in the relay */
	end = now_ns() + g->drain_ns;
	while (now_ns() < end) {
		sleep_until(now_ns() + 1000000);
		if (drain(g) < 0)
			return -1;
	}
	return 0;
}

static uint64_t pctl(const uint32_t *h, uint64_t total, double q)
{
	uint64_t want = (uint64_t)(q * (double)total + 0.999999), acc = 0;

	if (!total)
		return 0;
	for (unsigned b = 0; b <= HBUCKETS; b++) {
		acc += h[b];
		if (acc >= want)
			return (uint64_t)(b + 1) * HSTEP_US;
	}
	return (uint64_t)(HBUCKETS + 1) * HSTEP_US;
}

static void report(struct gen *g, const char *perstream, double cpu_s)
{
	uint64_t sent = 0, rcvd = 0, gtotal = 0, ok_loss = 0, ok_bound = 0;
	uint64_t ok_p99 = 0;
	uint32_t gh[HBUCKETS + 1];
	FILE *f = perstream ? fopen(perstream, "w") : NULL;

	for (size_t i = 0; i < g->n; i++) {
		struct stream *s = &g->sv[i];
		uint64_t ss = s->sent[0] + s->sent[1];
		uint64_t rr = s->rcvd[0] + s->rcvd[1];
		uint64_t p99 = pctl(s->hist, rr, 0.99);

		sent += ss;
		rcvd += rr;
		/* < 0.1% lost, both ways together */
		if (ss && (ss - rr) * 1000 < ss)
			ok_loss++;
		/* 99% of the packets sent arrived within the bound */
		if (ss && s->in_bound * 100 >= ss * 99)
			ok_bound++;
		if (rr && p99 <= BOUND_US)
			ok_p99++;
		if (f)
			fprintf(f, "%zu %llu %llu %llu %llu\n", i,
				(unsigned long long)ss, (unsigned long long)rr,
				(unsigned long long)s->in_bound,
				(unsigned long long)p99);
	}
	if (f) {
		/* the timeline: packets and worst delay per 100 ms sent */
		for (size_t c = 0; c < TL_MAX && c * 100000000ull <
		     g->dur_ns; c++)
			fprintf(f, "# t_ms %zu rcvd %u max_delay_us %u\n",
				c * 100, g->tl_n[c], g->tl_max[c]);
		fclose(f);
	}
	for (unsigned b = 0; b <= HBUCKETS; b++) {
		gh[b] = (uint32_t)g->ghist[b];
		gtotal += g->ghist[b];
	}
	printf("streams=%zu sent=%llu received=%llu loss_pct=%.4f "
	       "streams_loss_ok=%llu streams_20ms=%llu streams_p99_20ms=%llu "
	       "p50_us=%llu p99_us=%llu p999_us=%llu duration_s=%.1f "
	       "late_slots=%llu max_lag_us=%llu send_err=%llu bad=%llu "
	       "gen_cpu_s=%.3f\n",
	       g->n, (unsigned long long)sent, (unsigned long long)rcvd,
	       sent ? 100.0 * (double)(sent - (rcvd < sent ? rcvd : sent)) /
			      (double)sent : 0.0,
	       (unsigned long long)ok_loss, (unsigned long long)ok_bound,
	       (unsigned long long)ok_p99,
	       (unsigned long long)pctl(gh, gtotal, 0.50),
	       (unsigned long long)pctl(gh, gtotal, 0.99),
	       (unsigned long long)pctl(gh, gtotal, 0.999),
	       (double)g->dur_ns / 1e9, (unsigned long long)g->late_slots,
	       (unsigned long long)(g->max_lag_ns / 1000),
	       (unsigned long long)g->send_err, (unsigned long long)g->bad,
	       cpu_s);
}

static void usage(void)
{
	fprintf(stderr, "usage: rtpgen -f STREAMS -a A_ADDR -b B_ADDR "
		"[-d SECONDS] [-D DRAIN_MS] [-o PER_STREAM_FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct gen g = {.dur_ns = 10000000000ull, .drain_ns = 500000000ull};
	const char *file = NULL, *ipa = NULL, *ipb = NULL, *out = NULL;
	struct rlimit rl = {65536, 65536};
	struct rusage ru;
	int c;

	while ((c = getopt(argc, argv, "f:a:b:d:D:o:")) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 'a': ipa = optarg; break;
		case 'b': ipb = optarg; break;
		case 'd': g.dur_ns = strtoull(optarg, NULL, 10) * 1000000000ull;
			  break;
		case 'D': g.drain_ns = strtoull(optarg, NULL, 10) * 1000000ull;
			  break;
		case 'o': out = optarg; break;
		default: usage();
		}
	}
	if (!file || !ipa || !ipb || !g.dur_ns)
		usage();
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (g.ep < 0 || read_streams(&g, file, ipa, ipb) < 0) {
		fprintf(stderr, "rtpgen: cannot set up the streams of %s\n",
			file);
		return 1;
	}
	if (run(&g) < 0) {
		perror("rtpgen");
		return 1;
	}
	getrusage(RUSAGE_SELF, &ru);
	report(&g, out, (double)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		   (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	return 0;
}
