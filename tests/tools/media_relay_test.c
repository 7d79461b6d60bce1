/*
 * media_relay_test.c: the relay engine without SIP, on loopback
 * 127.0.N.x (N from the integration harness): sessions made through the
 * API, RTP sent through both legs from real sockets.  Checks payloads,
 * latching to a NATed source port, a third party dropped, counters, the
 * last-packet time, a re-INVITE that moves the media, records (encode,
 * decode, apply), a failover (the record a latch and an SRTP rollover
 * publish, applied by a second engine that carries the call on), more
 * notes at once than their pipe holds, pool exhaustion, and thousands of
 * sessions allocated and released without a port or file descriptor
 * leak.
 * Usage: media-relay-test N        (exit 0: all passed)
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <re.h>
#include "relay.h"

static int failures;

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "media-relay-test:%d: FAIL: %s\n", __LINE__, #c); \
	if (++failures > 20) exit(1); } } while (0)

static char A[32], C[32], P[32], U[32], X[32], B1[32], B2[32];

static int udp_open(const char *ip, uint16_t port, struct sa *bound)
{
	struct sa sa;
	socklen_t len;
	int fd;

	if (sa_set_str(&sa, ip, port))
		return -1;
	fd = socket(sa_af(&sa), SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, &sa.u.sa, sa.len) < 0) {
		perror(ip);
		exit(2);
	}
	len = sizeof(sa.u);
	(void)getsockname(fd, &sa.u.sa, &len);
	sa.len = len;
	if (bound)
		*bound = sa;
	return fd;
}

static void send_to(int fd, const struct sa *dst, const void *buf,
		    size_t len)
{
	if (sendto(fd, buf, len, 0, &dst->u.sa, dst->len) != (ssize_t)len)
		perror("sendto");
}

/* One datagram within ms, or -1. */
static ssize_t recv_from(int fd, void *buf, size_t size, struct sa *src,
			 int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	struct sa s;
	socklen_t len = sizeof(s.u);
	ssize_t n;

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	n = recvfrom(fd, buf, size, 0, &s.u.sa, &len);
	s.len = len;
	if (src)
		*src = s;
	return n;
}

/* A fake RTP packet: header with seq, then a recognisable payload. */
static size_t rtp(uint8_t *buf, uint16_t seq, uint8_t tag)
{
	memset(buf, 0, 172);
	buf[0] = 0x80;
	buf[2] = (uint8_t)(seq >> 8);
	buf[3] = (uint8_t)seq;
	for (int i = 12; i < 172; i++)
		buf[i] = (uint8_t)(tag + i);
	return 172;
}

/* Sends n packets from fd to dst; counts those arriving intact at rfd
 * (from want_src when given). */
static int relay_n(int fd, const struct sa *dst, int rfd,
		   const struct sa *want_src, int n, uint8_t tag)
{
	uint8_t out[200], in[2048];
	int got = 0;

	for (int i = 0; i < n; i++) {
		size_t len = rtp(out, (uint16_t)i, tag);
		struct sa src;
		ssize_t r;

		send_to(fd, dst, out, len);
		r = recv_from(rfd, in, sizeof(in), &src, 500);
		if (r == (ssize_t)len && !memcmp(in, out, len)
		    && (!want_src || sa_cmp(&src, want_src, SA_ALL)))
			++got;
	}
	return got;
}

static bool quiet(int fd, int ms)
{
	uint8_t in[2048];

	return recv_from(fd, in, sizeof(in), NULL, ms) < 0;
}

static unsigned fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	if (!d)
		return 0;
	while (readdir(d))
		++n;
	closedir(d);
	return n;
}

struct idle_seen {
	const struct media_session *s;
	unsigned n;
	uint64_t idle;
};

static bool idle_h(struct media_session *s, uint64_t idle_ms, void *arg)
{
	struct idle_seen *is = arg;

	++is->n;
	is->s = s;
	is->idle = idle_ms;
	return false;
}

static struct media_remote remote(const struct sa *rtp_sa)
{
	struct media_remote r;

	memset(&r, 0, sizeof(r));
	r.rtp = *rtp_sa;
	r.rtcp = *rtp_sa;
	sa_set_port(&r.rtcp, (uint16_t)(sa_port(rtp_sa) + 1));
	return r;
}

static int engine(struct media **mp, const char *a, const char *c,
		  uint16_t min, uint16_t max, uint32_t threads,
		  uint32_t maxs)
{
	struct media_conf mc = {.port_min = min, .port_max = max,
				.threads = threads, .max_sessions = maxs};

	(void)sa_set_str(&mc.addr[MEDIA_ACCESS], a, 0);
	(void)sa_set_str(&mc.addr[MEDIA_CORE], c, 0);
	return media_alloc(mp, &mc);
}

static void test_relay(struct media *m)
{
	struct media_session *s = NULL;
	struct media_counters ca, cc;
	struct media_remote ra, rc;
	struct sa la, lc, psdp, pnat, u, u2, x, lat, lat2, la_rtcp;
	int fd_psdp, fd_pnat, fd_u, fd_u2, fd_x, fd_pnat_rtcp, fd_u_rtcp;
	uint64_t t0;
	struct pl id = PL("call-1@test");
	uint8_t buf[200];

	fd_psdp = udp_open(P, 0, &psdp);      /* what the phone's SDP says */
	fd_pnat = udp_open(P, 0, &pnat);      /* where its packets come from */
	fd_u = udp_open(U, 0, &u);
	fd_x = udp_open(X, 0, &x);
	fd_u2 = udp_open(U, 0, &u2);

	CHECK(media_session_alloc(&s, m, &id, 1) == 0);
	CHECK(media_session_find(m, &id) == s);
	CHECK(media_session_alloc(&s, m, &id, 1) == EALREADY);
	CHECK(media_local(s, 0, MEDIA_ACCESS, &la) == 0);
	CHECK(media_local(s, 0, MEDIA_CORE, &lc) == 0);
	CHECK(sa_port(&la) % 2 == 0 && sa_port(&lc) % 2 == 0);
	CHECK(media_local(s, 1, MEDIA_CORE, &lc) == ENOENT);
	(void)media_local(s, 0, MEDIA_CORE, &lc);
	ra = remote(&psdp);
	rc = remote(&u);
	CHECK(media_remote(s, 0, MEDIA_ACCESS, &ra) == 0);
	CHECK(media_remote(s, 0, MEDIA_CORE, &rc) == 0);
	(void)media_flush(m);

	t0 = media_now_ms();
	/* phone (NATed source port) -> sbc access -> far end */
	CHECK(relay_n(fd_pnat, &la, fd_u, &lc, 10, 1) == 10);
	CHECK(media_latched(s, 0, MEDIA_ACCESS, &lat, NULL) == 0);
	CHECK(sa_cmp(&lat, &pnat, SA_ALL));
	/* far end -> sbc core -> the phone's real source, not its SDP */
	CHECK(relay_n(fd_u, &lc, fd_pnat, &la, 10, 2) == 10);
	CHECK(quiet(fd_psdp, 50));

	/* a third party on another IP: dropped, counted */
	for (int i = 0; i < 5; i++)
		send_to(fd_x, &la, buf, rtp(buf, 1, 3));
	CHECK(quiet(fd_u, 200));
	/* once latched only that source: the SDP port is a stranger too */
	send_to(fd_psdp, &la, buf, rtp(buf, 1, 3));
	CHECK(quiet(fd_u, 100));

	CHECK(media_counters(s, 0, MEDIA_ACCESS, &ca) == 0);
	CHECK(media_counters(s, 0, MEDIA_CORE, &cc) == 0);
	CHECK(ca.pkts == 10 && ca.bytes == 1720 && ca.dropped == 6);
	CHECK(cc.pkts == 10 && cc.bytes == 1720 && cc.dropped == 0);
	CHECK(ca.errors == 0 && cc.errors == 0);
	CHECK(ca.last_ms >= t0 && media_session_last(s) >= t0);
	usleep(300 * 1000);
	CHECK(media_now_ms() - media_session_last(s) >= 250);
	/* the inactivity walk finds it, not a fresh session */
	{
		struct idle_seen is = {NULL, 0, 0};
		struct media_session *f = NULL;
		struct pl fid = PL("fresh");

		CHECK(media_session_alloc(&f, m, &fid, 1) == 0);
		media_idle_apply(m, 250, idle_h, &is);
		CHECK(is.n == 1 && is.s == s && is.idle >= 250);
		is.n = 0;
		media_idle_apply(m, 5000, idle_h, &is);
		CHECK(is.n == 0);
		media_session_release(f);
	}

	/* RTCP: odd ports, latched on their own */
	fd_pnat_rtcp = udp_open(P, 0, NULL);
	fd_u_rtcp = udp_open(U, (uint16_t)(sa_port(&u) + 1), NULL);
	la_rtcp = la;
	sa_set_port(&la_rtcp, (uint16_t)(sa_port(&la) + 1));
	CHECK(relay_n(fd_pnat_rtcp, &la_rtcp, fd_u_rtcp, NULL, 3, 4) == 3);
	CHECK(media_latched(s, 0, MEDIA_ACCESS, NULL, &lat2) == 0);
	CHECK(sa_port(&lat2) != 0 && sa_cmp(&lat2, &lat, SA_ADDR));

	/* a re-INVITE moves the far end to u2: unlatched, then u2 latches
	 * and u (same IP, old port) is a stranger */
	rc = remote(&u2);
	CHECK(media_remote(s, 0, MEDIA_CORE, &rc) == 0);
	(void)media_flush(m);
	CHECK(media_latched(s, 0, MEDIA_CORE, &lat, NULL) == 0);
	CHECK(sa_af(&lat) == AF_UNSPEC);
	CHECK(relay_n(fd_pnat, &la, fd_u2, &lc, 5, 5) == 5);
	CHECK(quiet(fd_u, 50));
	CHECK(relay_n(fd_u2, &lc, fd_pnat, &la, 5, 6) == 5);
	send_to(fd_u, &lc, buf, rtp(buf, 1, 7));
	CHECK(quiet(fd_pnat, 100));
	(void)media_counters(s, 0, MEDIA_CORE, &cc);
	CHECK(cc.pkts == 15 && cc.dropped == 1);

	/* hold with 0.0.0.0: nothing sent to the phone, latch kept */
	{
		struct media_remote h = ra;
		struct sa any;

		(void)sa_set_str(&any, "0.0.0.0", sa_port(&psdp));
		h.rtp = any;
		CHECK(media_remote(s, 0, MEDIA_ACCESS, &h) == 0);
		(void)media_flush(m);
		send_to(fd_u2, &lc, buf, rtp(buf, 1, 8));
		CHECK(quiet(fd_pnat, 100));
		CHECK(media_remote(s, 0, MEDIA_ACCESS, &ra) == 0);
		(void)media_flush(m);
		CHECK(relay_n(fd_u2, &lc, fd_pnat, &la, 2, 9) == 2);
	}

	/* a burst longer than the worker reads per turn (READ_ROUNDS
	 * batches): every packet arrives without another one to push it
	 * (edge-triggered epoll loses none), in order */
	{
		enum { BURST = 150 };
		uint8_t in[2048];
		int got = 0, rcvbuf = 1 << 20;

		(void)setsockopt(fd_pnat, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
				 sizeof(rcvbuf));
		for (int i = 0; i < BURST; i++)
			send_to(fd_u2, &lc, buf, rtp(buf, (uint16_t)i, 11));
		while (recv_from(fd_pnat, in, sizeof(in), NULL, 500) == 172
		       && in[3] == (uint8_t)got)
			++got;
		CHECK(got == BURST);
	}

	/* the record of it, through text and back */
	{
		struct media_rec r, d;
		struct mbuf *mb = mbuf_alloc(256), *mb2 = mbuf_alloc(256);
		struct pl txt;

		CHECK(media_rec_of(&r, s) == 0);
		CHECK(r.n == 1 && r.legv[0][0].port == sa_port(&la));
		CHECK(sa_cmp(&r.legv[0][0].latched[0], &pnat, SA_ALL));
		CHECK(sa_cmp(&r.legv[0][1].rtp, &u2, SA_ALL));
		CHECK(media_encode(mb, &r) == 0);
		pl_set_mbuf(&txt, (mb->pos = 0, mb));
		CHECK(media_decode(&d, &txt) == 0);
		CHECK(media_encode(mb2, &d) == 0);
		CHECK(mb->end == mb2->end
		      && !memcmp(mb->buf, mb2->buf, mb->end));
		mem_deref(mb);
		mem_deref(mb2);
	}

	media_session_release(s);
	CHECK(media_session_find(m, &id) == NULL);
	(void)media_flush(m);
	CHECK(media_ports_used(m) == 0);
	CHECK(quiet(fd_u2, 10));
	send_to(fd_pnat, &la, buf, rtp(buf, 1, 10));
	CHECK(quiet(fd_u2, 100));           /* closed */

	close(fd_psdp); close(fd_pnat); close(fd_u); close(fd_u2);
	close(fd_x); close(fd_pnat_rtcp); close(fd_u_rtcp);
}

/* What a standby does: a session from a record, on the record's ports,
 * already latched; then the record of its end. */
static void test_apply(struct media *m)
{
	struct media_session *s = NULL;
	struct media_rec r, e;
	struct sa phone, far, la, lc;
	int fd_phone = udp_open(P, 0, &phone), fd_far = udp_open(U, 0, &far);
	char line[512];
	struct pl txt;
	const uint16_t pa = 40050, pc = 40052;

	(void)re_snprintf(line, sizeof(line),
			  "med call-2@test 0 1 %u %J %s:%u %s:0 %J - - - - - "
			  "%u %J - - - - - - - -\n", pa, &phone, P, sa_port(&phone) + 1,
			  P, &phone, pc, &far);
	pl_set_str(&txt, line);
	CHECK(media_decode(&r, &txt) == 0);
	CHECK(media_apply(m, &r, &s) == 0);
	CHECK(s != NULL && media_session_streams(s) == 1);
	(void)media_flush(m);
	CHECK(media_local(s, 0, MEDIA_ACCESS, &la) == 0 && sa_port(&la) == pa);
	CHECK(media_local(s, 0, MEDIA_CORE, &lc) == 0 && sa_port(&lc) == pc);
	CHECK(relay_n(fd_far, &lc, fd_phone, &la, 3, 11) == 3);
	CHECK(relay_n(fd_phone, &la, fd_far, &lc, 3, 12) == 3);
	/* same record again: nothing changes; other ports: refused */
	CHECK(media_apply(m, &r, NULL) == 0);
	r.legv[0][0].port = 40060;
	CHECK(media_apply(m, &r, NULL) == EPROTO);

	e = r;
	e.ended = true;
	CHECK(media_apply(m, &e, NULL) == 0);
	CHECK(media_apply(m, &e, NULL) == ENOENT);
	(void)media_flush(m);
	CHECK(media_ports_used(m) == 0);

	/* bad records */
	static const char *bad[] = {
		"", "med", "med x 0 0", "med x 2 1", "dlg x 0 1",
		"med x 0 1 40000 - - - - - - - - - 40002 - - - - - - - -",
		"med x 0 1 40000 - - - - - - - - - 40002 - - - - - - - - - x",
		"med x 0 1 70000 - - - - - - - - - 40002 - - - - - - - - -",
		"med x 0 1 40000 nonsense - - - - - - - - "
		"40002 - - - - - - - - -",
		"med x 0 9 40000 - - - - - - - - - 40002 - - - - - - - - -",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		pl_set_str(&txt, bad[i]);
		if (media_decode(&r, &txt) != EBADMSG) {
			fprintf(stderr, "bad record %zu accepted\n", i);
			++failures;
		}
	}
	close(fd_phone);
	close(fd_far);
}

/* SRTP terminated on the access side, RTP on the core side: the phone
 * protects with its key, the far end gets plain RTP; the far end's RTP
 * reaches the phone protected with sbc's key.  A forged or tampered
 * packet is dropped and counted, and does not latch. */
static void srtp_suite(struct media *m, enum msrtp_suite suite, int n)
{
	struct media_session *s = NULL;
	struct msrtp_key kp, ks;
	struct msrtp *ptx = NULL, *prx = NULL;
	struct media_remote ra, rc;
	struct media_counters ca;
	struct sa la, lc, ph, fe, lat;
	char id[16];
	struct pl pl;
	uint8_t buf[2048], orig[200], in[2048];
	int fph = udp_open(P, 0, &ph), ffe = udp_open(U, 0, &fe), ok = 0;

	(void)re_snprintf(id, sizeof(id), "srtp-%d", n);
	pl_set_str(&pl, id);
	CHECK(msrtp_key_gen(&kp, suite, 1) == 0);   /* the phone's */
	CHECK(msrtp_key_gen(&ks, suite, 1) == 0);   /* sbc's, towards it */
	CHECK(msrtp_alloc(&ptx, &kp, true) == 0);
	CHECK(msrtp_alloc(&prx, &ks, false) == 0);
	CHECK(media_session_alloc(&s, m, &pl, 1) == 0);
	ra = remote(&ph);
	rc = remote(&fe);
	CHECK(media_remote(s, 0, MEDIA_ACCESS, &ra) == 0);
	CHECK(media_remote(s, 0, MEDIA_CORE, &rc) == 0);
	CHECK(media_srtp(s, 0, MEDIA_ACCESS, &kp, &ks) == 0);
	(void)media_flush(m);
	(void)media_local(s, 0, MEDIA_ACCESS, &la);
	(void)media_local(s, 0, MEDIA_CORE, &lc);

	/* forged first: right IP, wrong key: dropped, no latch */
	{
		size_t len = rtp(buf, 999, 1);

		send_to(fph, &la, buf, len);
		CHECK(quiet(ffe, 100));
		CHECK(media_latched(s, 0, MEDIA_ACCESS, &lat, NULL) == 0);
		CHECK(sa_af(&lat) == AF_UNSPEC);
	}
	for (uint16_t seq = 1; seq <= 5; seq++) {
		size_t len = rtp(buf, seq, 30), olen = len;
		ssize_t r;

		memcpy(orig, buf, len);
		CHECK(msrtp_protect(ptx, buf, &len, sizeof(buf), false) == 0);
		send_to(fph, &la, buf, len);
		r = recv_from(ffe, in, sizeof(in), NULL, 500);
		if (r == (ssize_t)olen && !memcmp(in, orig, olen))
			++ok;
	}
	CHECK(ok == 5);
	ok = 0;
	for (uint16_t seq = 1; seq <= 5; seq++) {
		size_t len = rtp(buf, seq, 31), olen = len;
		ssize_t r;

		memcpy(orig, buf, len);
		send_to(ffe, &lc, buf, len);
		r = recv_from(fph, in, sizeof(in), NULL, 500);
		if (r > (ssize_t)olen) {
			size_t l = (size_t)r;

			if (!msrtp_unprotect(prx, in, &l, false) && l == olen
			    && !memcmp(in, orig, olen))
				++ok;
		}
	}
	CHECK(ok == 5);
	/* tampered after latching: dropped */
	{
		size_t len = rtp(buf, 6, 32);

		CHECK(msrtp_protect(ptx, buf, &len, sizeof(buf), false) == 0);
		buf[30] ^= 0x10;
		send_to(fph, &la, buf, len);
		CHECK(quiet(ffe, 100));
	}
	CHECK(media_counters(s, 0, MEDIA_ACCESS, &ca) == 0);
	CHECK(ca.pkts == 5 && ca.srtp_fail == 2 && ca.dropped == 0);
	/* the record carries the keys */
	{
		struct media_rec r;

		CHECK(media_rec_of(&r, s) == 0);
		CHECK(r.legv[0][0].key[0].suite == suite);
		CHECK(!memcmp(r.legv[0][0].key[1].key, ks.key, ks.len));
		CHECK(r.legv[0][1].key[0].suite == MSRTP_NONE);
	}
	media_session_release(s);
	mem_deref(ptx);
	mem_deref(prx);
	close(fph);
	close(ffe);
}

static void test_srtp(struct media *m)
{
	srtp_suite(m, MSRTP_AES_CM_128_HMAC_SHA1_80, 1);
	srtp_suite(m, MSRTP_AES_CM_128_HMAC_SHA1_32, 2);
	srtp_suite(m, MSRTP_AEAD_AES_128_GCM, 3);
}

/* n RTP packets numbered from seq, of SSRC ssrc: protected with ptx if
 * given, sent from fd to dst; counts those arriving at rfd intact
 * (unprotected with prx if given). */
static int srtp_n(int fd, const struct sa *dst, struct msrtp *ptx, int rfd,
		  struct msrtp *prx, uint16_t seq, uint32_t ssrc, int n,
		  uint8_t tag)
{
	uint8_t buf[2048], orig[200], in[2048];
	int got = 0;

	for (int i = 0; i < n; i++, seq++) {
		size_t len = rtp(buf, seq, tag), olen = len, l;
		ssize_t r;

		buf[8] = (uint8_t)(ssrc >> 24);
		buf[9] = (uint8_t)(ssrc >> 16);
		buf[10] = (uint8_t)(ssrc >> 8);
		buf[11] = (uint8_t)ssrc;
		memcpy(orig, buf, len);
		if (ptx && msrtp_protect(ptx, buf, &len, sizeof(buf), false))
			continue;
		send_to(fd, dst, buf, len);
		r = recv_from(rfd, in, sizeof(in), NULL, 500);
		if (r <= 0)
			continue;
		l = (size_t)r;
		if (prx && msrtp_unprotect(prx, in, &l, false))
			continue;
		if (l == olen && !memcmp(in, orig, olen))
			++got;
	}
	return got;
}

/* The records one session publishes, the last one as text. */
struct capture {
	const char *id;
	unsigned n;
	char line[1024];
};

static void capture_h(const struct media_rec *r, void *arg)
{
	struct capture *c = arg;
	struct mbuf *mb;

	if (pl_strcmp(&r->id, c->id))
		return;
	mb = mbuf_alloc(512);
	if (!mb || media_encode(mb, r) || mb->end >= sizeof(c->line)) {
		mem_deref(mb);
		return;
	}
	memcpy(c->line, mb->buf, mb->end);
	c->line[mb->end] = '\0';
	++c->n;
	mem_deref(mb);
}

/* Runs libre's loop, as sbcd's SIP thread does, until done() or ms. */
struct until {
	struct tmr tmr;
	bool (*done)(void *arg);
	void *arg;
	uint64_t end;
};

static void until_tick(void *arg)
{
	struct until *u = arg;

	if (u->done(u->arg) || media_now_ms() >= u->end)
		re_cancel();
	else
		tmr_start(&u->tmr, 5, until_tick, u);
}

static bool loop_until(bool (*done)(void *arg), void *arg, int ms)
{
	struct until u = {.done = done, .arg = arg,
			  .end = media_now_ms() + (uint64_t)ms};

	tmr_init(&u.tmr);
	tmr_start(&u.tmr, 0, until_tick, &u);
	(void)re_main(NULL);
	tmr_cancel(&u.tmr);
	return done(arg);
}

enum { PH_SSRC = 0xa11ce, FE_SSRC = 0xfa12 };

struct fo_want {
	struct capture *cap;
	struct sa pnat, far;
};

/* The captured record has what A's worker saw: both legs latched, both
 * SRTP streams at ROC 1. */
static bool fo_done(void *arg)
{
	const struct fo_want *w = arg;
	const struct media_rec_leg *a, *c;
	struct media_rec r;
	struct pl txt;

	pl_set_str(&txt, w->cap->line);
	if (!w->cap->n || media_decode(&r, &txt))
		return false;
	a = &r.legv[0][MEDIA_ACCESS];
	c = &r.legv[0][MEDIA_CORE];
	return sa_cmp(&a->latched[0], &w->pnat, SA_ALL)
		&& sa_cmp(&c->latched[0], &w->far, SA_ALL)
		&& a->roc[0].set && a->roc[0].ssrc == PH_SSRC
		&& a->roc[0].roc == 1
		&& a->roc[1].set && a->roc[1].ssrc == FE_SSRC
		&& a->roc[1].roc == 1;
}

/* A failover.  Node A relays an SRTP call from a NATed phone (its packets
 * come from another port than its SDP says) to a plain RTP far end; both
 * streams start at sequence number 65530 and wrap.  A's worker latches
 * both legs and sees both rollovers: the SIP thread (the libre loop
 * here) gets one note for all of it and publishes one record.  Node B
 * (other addresses, the same ports) applies that record and, before the
 * phone sent it anything, sends the far end's packets to the phone's
 * latched address, protected at ROC 1, and unprotects the phone's next
 * packets.  Then a new key from the phone on A: A's context towards the
 * phone keeps its stream. */
static void test_failover(struct media *m)
{
	struct media *mb = NULL;
	struct media_session *s = NULL, *sb = NULL;
	struct msrtp_key kp, kp2, ks;
	struct msrtp *ptx = NULL, *ptx2 = NULL, *prx = NULL;
	struct capture cap = {.id = "failover"};
	struct fo_want want = {.cap = &cap};
	struct media_remote ra, rc;
	struct media_counters cb;
	struct media_rec r;
	struct sa psdp, la, lc, lba, lbc, lat;
	struct pl id = PL("failover"), txt;
	int fd_psdp = udp_open(P, 0, &psdp), fd_pnat = udp_open(P, 0,
								&want.pnat);
	int fd_far = udp_open(U, 0, &want.far);

	CHECK(msrtp_key_gen(&kp, MSRTP_AES_CM_128_HMAC_SHA1_80, 1) == 0);
	CHECK(msrtp_key_gen(&kp2, MSRTP_AES_CM_128_HMAC_SHA1_80, 2) == 0);
	CHECK(msrtp_key_gen(&ks, MSRTP_AES_CM_128_HMAC_SHA1_80, 1) == 0);
	CHECK(msrtp_alloc(&ptx, &kp, true) == 0);
	CHECK(msrtp_alloc(&ptx2, &kp2, true) == 0);
	CHECK(msrtp_alloc(&prx, &ks, false) == 0);
	CHECK(engine(&mb, B1, B2, 40000, 40099, 1, 20) == 0);
	if (!mb)
		return;
	media_set_publish(m, capture_h, &cap);

	CHECK(media_session_alloc(&s, m, &id, 1) == 0);
	ra = remote(&psdp);
	rc = remote(&want.far);
	CHECK(media_remote(s, 0, MEDIA_ACCESS, &ra) == 0);
	CHECK(media_remote(s, 0, MEDIA_CORE, &rc) == 0);
	CHECK(media_srtp(s, 0, MEDIA_ACCESS, &kp, &ks) == 0);
	(void)media_flush(m);
	(void)media_local(s, 0, MEDIA_ACCESS, &la);
	(void)media_local(s, 0, MEDIA_CORE, &lc);
	cap.n = 0;

	/* 65530..3 each way through A: wrapped, ROC 1 */
	CHECK(srtp_n(fd_pnat, &la, ptx, fd_far, NULL, 65530, PH_SSRC, 10,
		     40) == 10);
	CHECK(srtp_n(fd_far, &lc, NULL, fd_pnat, prx, 65530, FE_SSRC, 10,
		     41) == 10);
	CHECK(quiet(fd_psdp, 20));
	/* nothing published yet: that is the SIP thread's job */
	CHECK(cap.n == 0);
	CHECK(loop_until(fo_done, &want, 2000));
	/* two latches and two rollovers, one note: one record */
	CHECK(cap.n == 1);

	/* B takes the call over from the record */
	pl_set_str(&txt, cap.line);
	CHECK(media_decode(&r, &txt) == 0);
	CHECK(media_apply(mb, &r, &sb) == 0);
	if (!sb)
		goto out;
	(void)media_flush(mb);
	CHECK(media_latched(sb, 0, MEDIA_ACCESS, &lat, NULL) == 0);
	CHECK(sa_cmp(&lat, &want.pnat, SA_ALL));
	CHECK(media_local(sb, 0, MEDIA_ACCESS, &lba) == 0);
	CHECK(media_local(sb, 0, MEDIA_CORE, &lbc) == 0);
	CHECK(sa_port(&lba) == sa_port(&la) && sa_port(&lbc) == sa_port(&lc));
	/* the far end first: B sends to the phone's NAT port, at ROC 1 */
	CHECK(srtp_n(fd_far, &lbc, NULL, fd_pnat, prx, 4, FE_SSRC, 5, 42)
	      == 5);
	CHECK(quiet(fd_psdp, 20));
	/* and unprotects the phone's stream where A left it */
	CHECK(srtp_n(fd_pnat, &lba, ptx, fd_far, NULL, 4, PH_SSRC, 5, 43)
	      == 5);
	CHECK(quiet(fd_far, 20));       /* the worker has counted them */
	CHECK(media_counters(sb, 0, MEDIA_ACCESS, &cb) == 0);
	CHECK(cb.srtp_fail == 0 && cb.pkts == 5);
	/* B's own record carries the ROCs on, for the next failover */
	CHECK(media_rec_of(&r, sb) == 0);
	CHECK(r.legv[0][0].roc[0].set && r.legv[0][0].roc[0].roc == 1);
	CHECK(r.legv[0][0].roc[1].set && r.legv[0][0].roc[1].roc == 1);

	/* back on A: the phone's new key (a re-INVITE) replaces only the
	 * context that unprotects; the one towards the phone goes on at
	 * ROC 1, and the record no longer pairs the new key with the old
	 * stream's ROC */
	CHECK(media_srtp(s, 0, MEDIA_ACCESS, &kp2, &ks) == 0);
	(void)media_flush(m);
	CHECK(srtp_n(fd_far, &lc, NULL, fd_pnat, prx, 9, FE_SSRC, 5, 44)
	      == 5);
	CHECK(srtp_n(fd_pnat, &la, ptx2, fd_far, NULL, 9, PH_SSRC, 5, 45)
	      == 5);
	CHECK(media_rec_of(&r, s) == 0);
	CHECK(!r.legv[0][0].roc[0].set);
	CHECK(r.legv[0][0].roc[1].set && r.legv[0][0].roc[1].roc == 1);

 out:
	media_set_publish(m, NULL, NULL);
	media_session_release(s);
	mem_deref(mb);
	mem_deref(ptx);
	mem_deref(ptx2);
	mem_deref(prx);
	close(fd_psdp);
	close(fd_pnat);
	close(fd_far);
}

/* Which of the first n file descriptors are pipes. */
static void pipes(bool *v, int n)
{
	for (int fd = 0; fd < n; fd++) {
		char path[64], link[64];
		ssize_t l;

		(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		l = readlink(path, link, sizeof(link) - 1);
		v[fd] = l > 5 && !strncmp(link, "pipe:", 5);
	}
}

enum { OV_N = 300, OV_FDS = 4096 };

struct ov_seen {
	unsigned recs;
	bool latched[OV_N];
};

static void ov_h(const struct media_rec *r, void *arg)
{
	struct ov_seen *ov = arg;
	struct pl num;

	if (r->ended || re_regex(r->id.p, r->id.l, "ov-[0-9]+", &num))
		return;
	++ov->recs;
	if (pl_u32(&num) < OV_N
	    && sa_af(&r->legv[0][MEDIA_ACCESS].latched[0]) != AF_UNSPEC)
		ov->latched[pl_u32(&num)] = true;
}

static bool ov_done(void *arg)
{
	const struct ov_seen *ov = arg;

	for (int i = 0; i < OV_N; i++)
		if (!ov->latched[i])
			return false;
	return true;
}

/* More sessions latch at once than the notes' pipe holds (shrunk to a
 * page: 256 notes): the notes that do not fit are counted, and a sweep
 * of the table publishes their sessions anyway, every session once. */
static void test_note_overflow(void)
{
	static bool before[OV_FDS], after[OV_FDS];
	static struct media_session *sv[OV_N];
	struct media *mo = NULL;
	struct ov_seen ov;
	struct media_remote ra, rc;
	struct sa ph, fe, la;
	struct mbuf *mb;
	uint8_t buf[200];
	int fph = udp_open(P, 0, &ph), ffe = udp_open(U, 0, &fe), shrunk = 0;
	const char *o;

	memset(&ov, 0, sizeof(ov));
	pipes(before, OV_FDS);
	CHECK(engine(&mo, B1, B2, 42000, 43299, 1, OV_N) == 0);
	if (!mo)
		return;
	pipes(after, OV_FDS);
	for (int fd = 0; fd < OV_FDS; fd++)
		if (after[fd] && !before[fd]
		    && fcntl(fd, F_SETPIPE_SZ, 4096) == 4096)
			++shrunk;
	CHECK(shrunk == 2);                 /* the notes' pipe, both ends */
	media_set_publish(mo, ov_h, &ov);
	ra = remote(&ph);
	rc = remote(&fe);
	for (int i = 0; i < OV_N; i++) {
		char id[16];
		struct pl pl;

		(void)re_snprintf(id, sizeof(id), "ov-%d", i);
		pl_set_str(&pl, id);
		CHECK(media_session_alloc(&sv[i], mo, &pl, 1) == 0);
		if (!sv[i])
			goto out;
		(void)media_remote(sv[i], 0, MEDIA_ACCESS, &ra);
		(void)media_remote(sv[i], 0, MEDIA_CORE, &rc);
	}
	(void)media_flush(mo);
	ov.recs = 0;
	for (int i = 0; i < OV_N; i++) {
		(void)media_local(sv[i], 0, MEDIA_ACCESS, &la);
		send_to(fph, &la, buf, rtp(buf, 1, 50));
	}
	/* every packet relayed: every latch noted */
	for (int i = 0; i < OV_N; i++)
		if (recv_from(ffe, buf, sizeof(buf), NULL, 1000) < 0)
			break;
	CHECK(loop_until(ov_done, &ov, 3000));
	CHECK(ov.recs == OV_N);
	mb = mbuf_alloc(256);
	CHECK(mb && !mbuf_printf(mb, "%H", media_print, mo));
	if (mb) {
		mbuf_write_u8(mb, 0);
		o = strstr((const char *)mb->buf, "media_note_overflows ");
		CHECK(o && atoi(o + 21) >= OV_N - 256);
	}
	mem_deref(mb);
 out:
	mem_deref(mo);
	close(fph);
	close(ffe);
}

/* Sessions by the thousand: ports and fds come back; an exhausted pool
 * and max_sessions say ENOSPC and leak nothing either. */
static void test_churn(struct media *m)
{
	const unsigned fds = (media_flush(m), fd_count());
	struct media_session *v[8];
	char id[32];

	for (int i = 0; i < 3000; i++) {
		struct media_session *s = NULL;
		struct pl pl;

		(void)re_snprintf(id, sizeof(id), "churn-%d", i);
		pl_set_str(&pl, id);
		CHECK(media_session_alloc(&s, m, &pl, 1 + i % 2) == 0);
		media_session_release(s);
		/* ports come back once the worker closed the sockets */
		if (i % 10 == 0)
			(void)media_flush(m);
	}
	(void)media_flush(m);
	CHECK(media_ports_used(m) == 0);
	CHECK(media_sessions(m) == 0);
	CHECK(fd_count() == fds);

	/* 50 pairs: three sessions of 8 streams take 48 */
	for (int i = 0; i < 3; i++) {
		struct pl pl;

		(void)re_snprintf(id, sizeof(id), "big-%d", i);
		pl_set_str(&pl, id);
		CHECK(media_session_alloc(&v[i], m, &pl, 8) == 0);
	}
	{
		struct media_session *s = NULL;
		struct pl pl = PL("big-3");

		CHECK(media_session_alloc(&s, m, &pl, 8) == ENOSPC);
		(void)media_flush(m);
		CHECK(media_ports_used(m) == 48);
		CHECK(media_session_alloc(&s, m, &pl, 1) == 0);
		CHECK(media_ports_used(m) == 50);
		media_session_release(s);
	}
	for (int i = 0; i < 3; i++)
		media_session_release(v[i]);
	(void)media_flush(m);
	CHECK(media_ports_used(m) == 0);
	CHECK(fd_count() == fds);
}

static void test_max_sessions(void)
{
	struct media *m = NULL;
	struct media_session *v[3];
	char id[16];

	CHECK(engine(&m, A, C, 40200, 40299, 1, 2) == 0);
	if (!m)
		return;
	for (int i = 0; i < 3; i++) {
		struct pl pl;

		(void)re_snprintf(id, sizeof(id), "s%d", i);
		pl_set_str(&pl, id);
		CHECK(media_session_alloc(&v[i], m, &pl, 1)
		      == (i < 2 ? 0 : ENOSPC));
	}
	media_session_release(v[0]);
	/* a session still alive at shutdown is freed with the engine */
	mem_deref(m);
}

/* IPv6, both sides on ::1 (other tests on this host may hold ports of
 * the range: the pool skips them). */
static void test_ipv6(void)
{
	struct media *m = NULL;
	struct media_session *s = NULL;
	struct media_remote ra, rc;
	struct sa la, lc, ph, fe;
	struct pl id = PL("v6");
	int fph = udp_open("::1", 0, &ph), ffe = udp_open("::1", 0, &fe);

	CHECK(engine(&m, "::1", "::1", 41000, 41999, 1, 10) == 0);
	if (!m)
		return;
	CHECK(media_session_alloc(&s, m, &id, 1) == 0);
	ra = remote(&ph);
	rc = remote(&fe);
	CHECK(media_remote(s, 0, MEDIA_ACCESS, &ra) == 0);
	CHECK(media_remote(s, 0, MEDIA_CORE, &rc) == 0);
	(void)media_flush(m);
	(void)media_local(s, 0, MEDIA_ACCESS, &la);
	(void)media_local(s, 0, MEDIA_CORE, &lc);
	CHECK(relay_n(fph, &la, ffe, &lc, 3, 20) == 3);
	CHECK(relay_n(ffe, &lc, fph, &la, 3, 21) == 3);
	mem_deref(m);
	close(fph);
	close(ffe);
}

/* The SDP glue: the local side to write, the remote from an SDP. */
static void test_sdp_glue(struct media *m)
{
	struct media_session *s = NULL;
	struct pl id = PL("glue"), body;
	struct sdp_info info;
	struct sdp_local loc;
	struct media_remote r;
	struct sa sig, la;
	const char *sdp = "v=0\r\no=- 1 1 IN IP4 192.168.1.20\r\n"
		"c=IN IP4 192.168.1.20\r\nm=audio 5004 RTP/AVP 0\r\n";

	CHECK(media_session_alloc(&s, m, &id, 1) == 0);
	CHECK(media_sdp_local(&loc, s, MEDIA_ACCESS, 9) == 0);
	(void)media_local(s, 0, MEDIA_ACCESS, &la);
	CHECK(loc.portc == 1 && loc.portv[0] == sa_port(&la));
	CHECK(sa_cmp(&loc.addr, &la, SA_ADDR) && loc.version == 9);
	pl_set_str(&body, sdp);
	CHECK(sdp_parse(&info, &body) == 0);
	/* a private SDP address behind a public signalling source */
	(void)sa_set_str(&sig, "198.51.100.9", 5060);
	media_remote_of(&r, &info.mv[0], &sig);
	CHECK(sa_port(&r.rtp) == 5004 && sa_port(&r.rtcp) == 5005);
	CHECK(sa_cmp(&r.src, &sig, SA_ADDR) && sa_port(&r.src) == 0);
	/* a public one: packets expected from it */
	(void)sa_set_str(&sig, "192.168.1.1", 5060);
	media_remote_of(&r, &info.mv[0], &sig);
	CHECK(sa_af(&r.src) == AF_UNSPEC);
	media_session_release(s);
}

int main(int argc, char *argv[])
{
	struct media *m = NULL;
	int n;

	if (argc != 2 || (n = atoi(argv[1])) < 1 || n > 254) {
		fprintf(stderr, "usage: media-relay-test N\n");
		return 2;
	}
	(void)snprintf(A, sizeof(A), "127.0.%d.1", n);
	(void)snprintf(C, sizeof(C), "127.0.%d.2", n);
	(void)snprintf(U, sizeof(U), "127.0.%d.3", n);
	(void)snprintf(P, sizeof(P), "127.0.%d.10", n);
	(void)snprintf(X, sizeof(X), "127.0.%d.66", n);
	(void)snprintf(B1, sizeof(B1), "127.0.%d.4", n);
	(void)snprintf(B2, sizeof(B2), "127.0.%d.5", n);
	if (libre_init() || msrtp_init())
		return 2;

	CHECK(engine(&m, A, C, 40000, 40099, 2, 20) == 0);
	if (m) {
		test_relay(m);
		test_apply(m);
		test_sdp_glue(m);
		test_srtp(m);
		test_failover(m);
		test_churn(m);
		test_note_overflow();
		mem_deref(m);
	}
	test_max_sessions();
	test_ipv6();
	msrtp_close();
	libre_close();
	if (failures)
		fprintf(stderr, "media-relay-test: %d failure(s)\n", failures);
	else
		printf("media-relay-test: all passed\n");
	return failures ? 1 : 0;
}
