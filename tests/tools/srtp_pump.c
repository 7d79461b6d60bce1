/*
 * srtp_pump.c: the SRTP phone side of many calls through sbcd, for the
 * cluster tests (tests/cluster/t_srtp.sh): what drill/rtp_pump.py
 * is for plain RTP, with keys, through sbcd's own libsrtp2 wrapper.
 *
 *   srtp-pump --calls FILE --ip ADDR --stop FILE --mark FILE --max SECS
 *             [--detail FILE]
 *
 * FILE, one line per call (the crypto values as a=crypto carries them,
 * three fields each):
 *   CALLID DST_IP DST_PORT TX_CRYPTO RX_CRYPTO [seq=N] [hush]
 * TX_CRYPTO is the value the phone offered (its own key: it protects with
 * it), RX_CRYPTO the one of sbcd's 200 (it unprotects with it).  Per call
 * one non-blocking UDP socket on ADDR (any port: sbcd latches to it) and
 * its own SSRC; every 20 ms a G.711-sized SRTP packet goes to DST.
 *   seq=N  the stream's first sequence number (default 1): near 65535
 *          it wraps, and its rollover counter (ROC) goes to 1
 *   hush   after the mark, send nothing until a packet has come that
 *          unprotects: what comes must then go where sbcd latched to
 *          before the mark, not because of anything sent after it
 * Counts what comes back and unprotects: received, received after the
 * mark (--mark FILE: its mtime, touched by the test at the fault), the
 * longest gap between two such arrivals.  Runs until --stop FILE exists
 * or --max seconds passed (bounded), then prints one line per call,
 * sorted by Call-ID, as rtp_pump.py does:
 *   CALLID sent N received N after_mark N max_gap_ms N
 * and with --detail FILE one line per call there (rewritten every 0.5 s
 * while it runs, so a test can wait for a stream to wrap):
 *   CALLID seq0 N roc_tx N roc_rx N mark_roc_tx N mark_roc_rx N
 *          srtp_fail N hush 0|1 first_rx_after_ms N first_tx_after_ms N
 *          seq N
 * roc_tx/roc_rx: the rollover counter of the phone's stream and of
 * sbcd's as this end's contexts have them now, mark_*: when the
 * mark appeared (-1: no packet yet); srtp_fail: packets that did not
 * unprotect; first_*_after_ms: the first packet received and sent after
 * the mark, in ms from it (-1: none); seq: the phone's next sequence
 * number (a test can time a fault before a wrap).
 * Exit 0; 1 when it cannot run (input, sockets, libsrtp); 2 on bad use.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <re.h>
#include "srtp.h"

enum {
	CALLS_MAX = 1000,
	PTIME_MS = 20,
	PAYLOAD = 160,              /* G.711, 20 ms */
	READ_MAX = 64,              /* packets read per socket per wake-up */
	DETAIL_MS = 500,            /* --detail rewritten this often */
	LINE_MAX_ = 1024,
};

struct call {
	char id[128];
	struct sa dst;
	int fd;
	struct msrtp *tx;           /* the phone's key: what it sends */
	struct msrtp *rx;           /* sbcd's key: what comes back */
	uint32_t ssrc;
	uint16_t seq0;
	uint16_t seq;               /* of the next packet */
	uint32_t ts;
	bool hush;
	uint64_t sent, rcvd, after, fail;
	int64_t last_ms;            /* monotonic, of the last arrival */
	int64_t gap_ms;
	int64_t first_rx_after;     /* ms from the mark, -1 none */
	int64_t first_tx_after;
	int64_t mark_roc[2];        /* tx, rx */
};

static struct call *callv;
static size_t callc;

static int64_t now_ms(clockid_t clk)
{
	struct timespec ts;

	(void)clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* The mtime of the mark in ms since the epoch, or -1 while it is not
 * there. */
static int64_t mark_ms(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return -1;
	return (int64_t)st.st_mtim.tv_sec * 1000
		+ st.st_mtim.tv_nsec / 1000000;
}

static int64_t roc_of(const struct msrtp *s)
{
	struct msrtp_roc r;

	msrtp_roc_get(s, &r);
	return r.set ? (int64_t)r.roc : -1;
}

static int ctx_new(struct msrtp **sp, const char *crypto, bool tx)
{
	struct msrtp_key k;
	struct pl val;
	int err;

	pl_set_str(&val, crypto);
	err = msrtp_crypto_decode(&k, &val);
	if (!err)
		err = msrtp_alloc(sp, &k, tx);
	memset(&k, 0, sizeof(k));
	return err;
}

static int sock_open(struct call *c, const struct sa *local)
{
	int fd;

	fd = socket(sa_af(local), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return errno;
	if (bind(fd, &local->u.sa, local->len) < 0) {
		int err = errno;

		(void)close(fd);
		return err;
	}
	c->fd = fd;
	return 0;
}

/* One line of the calls file: CALLID IP PORT TAG SUITE KEY TAG SUITE KEY
 * [seq=N] [hush]. */
static int call_parse(struct call *c, char *line, const struct sa *local)
{
	char *tok[16], *save = NULL, *p;
	char crypto[2][256];
	int n = 0, err;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	for (p = strtok_r(line, " \t\r\n", &save); p && n < 16;
	     p = strtok_r(NULL, " \t\r\n", &save))
		tok[n++] = p;
	if (n < 9 || strlen(tok[0]) >= sizeof(c->id))
		return EBADMSG;
	c->first_rx_after = c->first_tx_after = -1;
	c->mark_roc[0] = c->mark_roc[1] = -1;
	c->last_ms = -1;
	c->seq0 = 1;
	strcpy(c->id, tok[0]);
	if (sa_set_str(&c->dst, tok[1], (uint16_t)atoi(tok[2]))
	    || !sa_port(&c->dst))
		return EBADMSG;
	for (int d = 0; d < 2; d++) {
		if (snprintf(crypto[d], sizeof(crypto[d]), "%s %s %s",
			     tok[3 + 3 * d], tok[4 + 3 * d], tok[5 + 3 * d])
		    >= (int)sizeof(crypto[d]))
			return EBADMSG;
	}
	for (int i = 9; i < n; i++) {
		if (!strncmp(tok[i], "seq=", 4)) {
			char *end;
			unsigned long v = strtoul(tok[i] + 4, &end, 10);

			if (*end || v > UINT16_MAX)
				return EBADMSG;
			c->seq0 = (uint16_t)v;
		}
		else if (!strcmp(tok[i], "hush"))
			c->hush = true;
		else
			return EBADMSG;
	}
	c->seq = c->seq0;
	err = ctx_new(&c->tx, crypto[0], true);
	if (!err)
		err = ctx_new(&c->rx, crypto[1], false);
	if (!err)
		err = sock_open(c, local);
	return err;
}

static int cmp_call(const void *a, const void *b)
{
	return strcmp(((const struct call *)a)->id,
		      ((const struct call *)b)->id);
}

static int calls_load(const char *path, const struct sa *local)
{
	char line[LINE_MAX_];
	unsigned lineno = 0;
	FILE *f;
	int err = 0;

	f = fopen(path, "r");
	if (!f)
		return errno;
	callv = calloc(CALLS_MAX, sizeof(*callv));
	if (!callv) {
		(void)fclose(f);
		return ENOMEM;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		++lineno;
		if (line[strspn(line, " \t\r\n")] == '\0' || line[0] == '#')
			continue;
		if (callc == CALLS_MAX) {
			err = E2BIG;
			break;
		}
		err = call_parse(&callv[callc], line, local);
		if (err) {
			fprintf(stderr, "srtp-pump: %s:%u: %s\n", path, lineno,
				strerror(err));
			/* its contexts and socket go with the others */
			++callc;
			break;
		}
		/* one SSRC per call, unlike rtp_pump.py's */
		callv[callc].ssrc = 0x5e000000u + (uint32_t)callc + 1;
		++callc;
	}
	(void)fclose(f);
	if (!err && !callc)
		err = ENOENT;
	if (!err)
		qsort(callv, callc, sizeof(*callv), cmp_call);
	return err;
}

static void calls_free(void)
{
	for (size_t i = 0; i < callc; i++) {
		if (callv[i].fd >= 0)
			(void)close(callv[i].fd);
		mem_deref(callv[i].tx);
		mem_deref(callv[i].rx);
	}
	free(callv);
	callv = NULL;
	callc = 0;
}

static void send_one(struct call *c, int64_t mark)
{
	uint8_t buf[12 + PAYLOAD + MSRTP_TRAILER];
	size_t len = 12 + PAYLOAD;

	if (mark >= 0 && c->hush && c->first_rx_after < 0)
		return;
	buf[0] = 0x80;
	buf[1] = 0;                 /* PCMU */
	buf[2] = (uint8_t)(c->seq >> 8);
	buf[3] = (uint8_t)c->seq;
	buf[4] = (uint8_t)(c->ts >> 24);
	buf[5] = (uint8_t)(c->ts >> 16);
	buf[6] = (uint8_t)(c->ts >> 8);
	buf[7] = (uint8_t)c->ts;
	buf[8] = (uint8_t)(c->ssrc >> 24);
	buf[9] = (uint8_t)(c->ssrc >> 16);
	buf[10] = (uint8_t)(c->ssrc >> 8);
	buf[11] = (uint8_t)c->ssrc;
	memset(buf + 12, 0xd5, PAYLOAD);
	++c->seq;
	c->ts += PAYLOAD;
	if (msrtp_protect(c->tx, buf, &len, sizeof(buf), false))
		return;
	if (sendto(c->fd, buf, len, 0, &c->dst.u.sa, c->dst.len)
	    != (ssize_t)len)
		return;             /* EAGAIN: a packet lost, as on a wire */
	++c->sent;
	if (mark >= 0 && c->first_tx_after < 0)
		c->first_tx_after = now_ms(CLOCK_REALTIME) - mark;
}

static void recv_some(struct call *c, int64_t mark)
{
	uint8_t buf[2048];

	for (int i = 0; i < READ_MAX; i++) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		size_t len;
		int64_t t;

		if (n < 0)
			break;      /* EAGAIN, or an ICMP error: next time */
		len = (size_t)n;
		if (msrtp_unprotect(c->rx, buf, &len, false)) {
			++c->fail;
			continue;
		}
		++c->rcvd;
		t = now_ms(CLOCK_MONOTONIC);
		if (c->last_ms >= 0 && t - c->last_ms > c->gap_ms)
			c->gap_ms = t - c->last_ms;
		c->last_ms = t;
		if (mark >= 0) {
			t = now_ms(CLOCK_REALTIME);
			if (t > mark) {
				++c->after;
				if (c->first_rx_after < 0)
					c->first_rx_after = t - mark;
			}
		}
	}
}

/* The --detail file, whole each time (written aside, then renamed: a
 * reader never sees half of it). */
static int detail_write(const char *path)
{
	char tmp[4096];
	FILE *f;
	int err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return errno;
	for (size_t i = 0; i < callc; i++) {
		const struct call *c = &callv[i];

		fprintf(f, "%s seq0 %u roc_tx %lld roc_rx %lld mark_roc_tx "
			"%lld mark_roc_rx %lld srtp_fail %llu hush %d "
			"first_rx_after_ms %lld first_tx_after_ms %lld "
			"seq %u\n",
			c->id, c->seq0, (long long)roc_of(c->tx),
			(long long)roc_of(c->rx), (long long)c->mark_roc[0],
			(long long)c->mark_roc[1],
			(unsigned long long)c->fail, c->hush,
			(long long)c->first_rx_after,
			(long long)c->first_tx_after, c->seq);
	}
	if (ferror(f))
		err = EIO;
	if (fclose(f) && !err)
		err = errno;
	if (!err && rename(tmp, path))
		err = errno;
	return err;
}

static void report(void)
{
	for (size_t i = 0; i < callc; i++) {
		const struct call *c = &callv[i];

		printf("%s sent %llu received %llu after_mark %llu "
		       "max_gap_ms %lld\n", c->id,
		       (unsigned long long)c->sent,
		       (unsigned long long)c->rcvd,
		       (unsigned long long)c->after, (long long)c->gap_ms);
	}
}

static int run(const char *stop, const char *markf, const char *detail,
	       int64_t max_ms)
{
	struct pollfd *pv;
	int64_t end, next, mark = -1, written = 0;

	pv = calloc(callc, sizeof(*pv));
	if (!pv)
		return ENOMEM;
	for (size_t i = 0; i < callc; i++) {
		pv[i].fd = callv[i].fd;
		pv[i].events = POLLIN;
	}
	next = now_ms(CLOCK_MONOTONIC);
	end = next + max_ms;
	for (;;) {
		int64_t now = now_ms(CLOCK_MONOTONIC);
		int n;

		if (now >= end || exists(stop))
			break;
		if (mark < 0 && (mark = mark_ms(markf)) >= 0) {
			for (size_t i = 0; i < callc; i++) {
				callv[i].mark_roc[0] = roc_of(callv[i].tx);
				callv[i].mark_roc[1] = roc_of(callv[i].rx);
			}
		}
		if (detail && now - written >= DETAIL_MS) {
			int err = detail_write(detail);

			if (err) {
				free(pv);
				return err;
			}
			written = now;
		}
		if (now >= next) {
			for (size_t i = 0; i < callc; i++)
				send_one(&callv[i], mark);
			next += PTIME_MS;
			if (next < now)
				next = now + PTIME_MS;   /* late: no burst */
		}
		n = poll(pv, callc, (int)(next > now ? next - now : 0));
		if (n < 0 && errno != EINTR) {
			int err = errno;

			free(pv);
			return err;
		}
		for (size_t i = 0; n > 0 && i < callc; i++)
			if (pv[i].revents)
				recv_some(&callv[i], mark);
	}
	free(pv);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: srtp-pump --calls FILE --ip ADDR --stop FILE "
		"--mark FILE --max SECS [--detail FILE]\n");
}

int main(int argc, char *argv[])
{
	static const struct option longv[] = {
		{"calls", required_argument, NULL, 'c'},
		{"ip", required_argument, NULL, 'i'},
		{"stop", required_argument, NULL, 's'},
		{"mark", required_argument, NULL, 'm'},
		{"max", required_argument, NULL, 'x'},
		{"detail", required_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	const char *calls = NULL, *ip = NULL, *stop = NULL, *mark = NULL;
	const char *detail = NULL;
	double max_s = 0;
	struct sa local;
	int o, err;

	while ((o = getopt_long(argc, argv, "", longv, NULL)) != -1) {
		switch (o) {
		case 'c': calls = optarg; break;
		case 'i': ip = optarg; break;
		case 's': stop = optarg; break;
		case 'm': mark = optarg; break;
		case 'x': max_s = atof(optarg); break;
		case 'd': detail = optarg; break;
		default: usage(); return 2;
		}
	}
	if (optind != argc || !calls || !ip || !stop || !mark
	    || !(max_s > 0 && max_s <= 3600) || sa_set_str(&local, ip, 0)) {
		usage();
		return 2;
	}
	err = libre_init();
	if (!err)
		err = msrtp_init();
	if (err) {
		fprintf(stderr, "srtp-pump: libre/libsrtp2: %s\n",
			strerror(err));
		return 1;
	}
	err = calls_load(calls, &local);
	if (err)
		fprintf(stderr, "srtp-pump: %s: %s\n", calls, strerror(err));
	if (!err) {
		err = run(stop, mark, detail, (int64_t)(max_s * 1000));
		if (!err && detail)
			err = detail_write(detail);
		if (err)
			fprintf(stderr, "srtp-pump: %s\n", strerror(err));
		else
			report();
	}
	calls_free();
	msrtp_close();
	libre_close();
	return err ? 1 : 0;
}
