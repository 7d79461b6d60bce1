/*
 * test_sdp.c: the SDP rewriter.  Whole bodies are compared byte for
 * byte, so a test fails if anything but the lines sbc must change
 * changes; what the rewriter learns is checked field by field; bad
 * bodies give an errno; a bounded fuzz loop feeds it mutated bodies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>
#include "sdp.h"

static struct sdp_local loc4(uint16_t p0, uint16_t p1, uint64_t ver)
{
	struct sdp_local l = {.portv = {p0, p1}, .portc = 2,
			      .version = ver};

	assert_int_equal(sa_set_str(&l.addr, "203.0.113.5", 0), 0);
	return l;
}

/* Rewrites in and compares with want (NULL: expect error err). */
static void rewrite(const char *in, const struct sdp_local *l,
		    const char *want, int err, struct sdp_info *info)
{
	struct mbuf *mb = mbuf_alloc(512);
	struct pl body;
	int e;

	assert_non_null(mb);
	pl_set_str(&body, in);
	e = sdp_rewrite(mb, &body, l, info);
	assert_int_equal(e, err);
	if (want) {
		char *out = NULL;

		mb->pos = 0;
		assert_int_equal(mbuf_strdup(mb, &out, mb->end), 0);
		assert_string_equal(out, want);
		mem_deref(out);
	}
	mem_deref(mb);
}

static void assert_sa(const struct sa *sa, const char *ip, uint16_t port)
{
	struct sa want;

	assert_int_equal(sa_set_str(&want, ip, port), 0);
	assert_true(sa_cmp(sa, &want, SA_ALL));
}

static const char offer[] =
	"v=0\r\n"
	"o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
	"s=-\r\n"
	"c=IN IP4 192.0.2.10\r\n"
	"t=0 0\r\n"
	"m=audio 49170 RTP/AVP 0 8 101\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-15\r\n"
	"a=ptime:20\r\n"
	"a=sendrecv\r\n";

static void test_basic(void **state)
{
	struct sdp_local l = loc4(30000, 0, 7);
	struct sdp_info info;
	(void)state;

	rewrite(offer, &l,
		"v=0\r\n"
		"o=alice 2890844526 7 IN IP4 203.0.113.5\r\n"
		"s=-\r\n"
		"c=IN IP4 203.0.113.5\r\n"
		"t=0 0\r\n"
		"m=audio 30000 RTP/AVP 0 8 101\r\n"
		"a=rtpmap:0 PCMU/8000\r\n"
		"a=rtpmap:101 telephone-event/8000\r\n"
		"a=fmtp:101 0-15\r\n"
		"a=ptime:20\r\n"
		"a=sendrecv\r\n", 0, &info);
	assert_int_equal(info.mc, 1);
	assert_int_equal(info.o_version, 2890844526ULL);
	assert_true(pl_strcmp(&info.o_user, "alice") == 0);
	assert_sa(&info.mv[0].rtp, "192.0.2.10", 49170);
	assert_sa(&info.mv[0].rtcp, "192.0.2.10", 49171);
	assert_int_equal(info.mv[0].port, 49170);
	assert_int_equal(info.mv[0].dir, SDP_SENDRECV);
	assert_false(info.mv[0].rtcp_mux);
	assert_false(info.mv[0].hold_addr);
	assert_true(pl_strcmp(&info.mv[0].type, "audio") == 0);
	assert_true(pl_strcmp(&info.mv[0].proto, "RTP/AVP") == 0);

	/* parse alone learns the same */
	{
		struct sdp_info p;
		struct pl b;

		pl_set_str(&b, offer);
		assert_int_equal(sdp_parse(&p, &b), 0);
		assert_int_equal(p.mc, 1);
		assert_sa(&p.mv[0].rtp, "192.0.2.10", 49170);
	}
}

static void test_hold(void **state)
{
	struct sdp_local l = loc4(30000, 30002, 8);
	struct sdp_info info;
	(void)state;

	/* session-level sendonly inherited; media-level overrides */
	rewrite("v=0\r\n"
		"o=- 1 2 IN IP4 192.0.2.10\r\n"
		"s=-\r\n"
		"c=IN IP4 192.0.2.10\r\n"
		"t=0 0\r\n"
		"a=sendonly\r\n"
		"m=audio 49170 RTP/AVP 0\r\n"
		"m=audio 49180 RTP/AVP 0\r\n"
		"a=inactive\r\n", &l,
		"v=0\r\n"
		"o=- 1 8 IN IP4 203.0.113.5\r\n"
		"s=-\r\n"
		"c=IN IP4 203.0.113.5\r\n"
		"t=0 0\r\n"
		"a=sendonly\r\n"
		"m=audio 30000 RTP/AVP 0\r\n"
		"m=audio 30002 RTP/AVP 0\r\n"
		"a=inactive\r\n", 0, &info);
	assert_int_equal(info.mv[0].dir, SDP_SENDONLY);
	assert_int_equal(info.mv[1].dir, SDP_INACTIVE);

	/* RFC 2543 hold: c= 0.0.0.0 is kept, the port still rewritten */
	rewrite("v=0\r\n"
		"o=- 1 3 IN IP4 192.0.2.10\r\n"
		"s=-\r\n"
		"c=IN IP4 0.0.0.0\r\n"
		"t=0 0\r\n"
		"m=audio 49170 RTP/AVP 0\r\n"
		"a=recvonly\r\n", &l,
		"v=0\r\n"
		"o=- 1 8 IN IP4 203.0.113.5\r\n"
		"s=-\r\n"
		"c=IN IP4 0.0.0.0\r\n"
		"t=0 0\r\n"
		"m=audio 30000 RTP/AVP 0\r\n"
		"a=recvonly\r\n", 0, &info);
	assert_true(info.mv[0].hold_addr);
	assert_int_equal(info.mv[0].dir, SDP_RECVONLY);
}

static void test_multi_port0(void **state)
{
	struct sdp_local l = loc4(30000, 30002, 3);
	struct sdp_info info;
	(void)state;

	rewrite("v=0\r\n"
		"o=- 10 20 IN IP4 192.0.2.10\r\n"
		"s=call\r\n"
		"t=0 0\r\n"
		"m=audio 4000 RTP/AVP 0\r\n"
		"c=IN IP4 192.0.2.20\r\n"
		"b=AS:64\r\n"
		"m=video 0 RTP/AVP 96\r\n"
		"c=IN IP4 192.0.2.21\r\n"
		"a=rtpmap:96 H264/90000\r\n", &l,
		"v=0\r\n"
		"o=- 10 3 IN IP4 203.0.113.5\r\n"
		"s=call\r\n"
		"t=0 0\r\n"
		"m=audio 30000 RTP/AVP 0\r\n"
		"c=IN IP4 203.0.113.5\r\n"
		"b=AS:64\r\n"
		"m=video 0 RTP/AVP 96\r\n"
		"c=IN IP4 203.0.113.5\r\n"
		"a=rtpmap:96 H264/90000\r\n", 0, &info);
	assert_int_equal(info.mc, 2);
	assert_sa(&info.mv[0].rtp, "192.0.2.20", 4000);
	assert_int_equal(info.mv[1].port, 0);
	assert_int_equal(sa_port(&info.mv[1].rtcp), 0);

	/* more m= lines than ports given: refused, not guessed */
	l.portc = 1;
	rewrite("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.1\r\n"
		"m=audio 1 RTP/AVP 0\r\nm=audio 2 RTP/AVP 0\r\n", &l, NULL,
		EINVAL, NULL);
}

static void test_ipv6(void **state)
{
	struct sdp_local l = loc4(30000, 0, 2);
	struct sdp_info info;
	(void)state;

	/* an IPv6 phone behind an IPv4 relay side, and back */
	rewrite("v=0\n"
		"o=- 5 1 IN IP6 2001:db8::10\n"
		"c=IN IP6 2001:db8::10\n"
		"m=audio 5004 RTP/AVP 0\n"
		"a=rtcp:5005 IN IP6 2001:db8::11\n", &l,
		"v=0\n"
		"o=- 5 2 IN IP4 203.0.113.5\n"
		"c=IN IP4 203.0.113.5\n"
		"m=audio 30000 RTP/AVP 0\n"
		"a=rtcp:30001 IN IP4 203.0.113.5\n", 0, &info);
	assert_sa(&info.mv[0].rtp, "2001:db8::10", 5004);
	assert_sa(&info.mv[0].rtcp, "2001:db8::11", 5005);
	assert_true(info.mv[0].rtcp_attr);

	assert_int_equal(sa_set_str(&l.addr, "2001:db8:5::1", 0), 0);
	rewrite("v=0\r\n"
		"o=- 5 1 IN IP4 192.0.2.1\r\n"
		"c=IN IP4 192.0.2.1\r\n"
		"m=audio 5004 RTP/AVP 0", &l,
		"v=0\r\n"
		"o=- 5 2 IN IP6 2001:db8:5::1\r\n"
		"c=IN IP6 2001:db8:5::1\r\n"
		"m=audio 30000 RTP/AVP 0", 0, &info);

	/* IP6 hold address */
	rewrite("v=0\r\no=- 5 1 IN IP6 ::1\r\nc=IN IP6 ::\r\n"
		"m=audio 5004 RTP/AVP 0\r\n", &l,
		"v=0\r\no=- 5 2 IN IP6 2001:db8:5::1\r\nc=IN IP6 ::\r\n"
		"m=audio 30000 RTP/AVP 0\r\n", 0, &info);
	assert_true(info.mv[0].hold_addr);
}

static void test_ice_rtcp_crypto(void **state)
{
	struct sdp_local l = loc4(30010, 0, 100);
	struct sdp_info info;
	(void)state;

	rewrite("v=0\r\n"
		"o=- 1 1 IN IP4 198.51.100.7\r\n"
		"s=-\r\n"
		"a=ice-lite\r\n"
		"a=ice-options:trickle\r\n"
		"c=IN IP4 198.51.100.7\r\n"
		"t=0 0\r\n"
		"m=audio 7000 RTP/SAVP 0\r\n"
		"a=ice-ufrag:abcd\r\n"
		"a=ice-pwd:0123456789abcdef01234567\r\n"
		"a=candidate:1 1 UDP 2130706431 10.0.0.7 7000 typ host\r\n"
		"a=candidate:2 1 UDP 1694498815 198.51.100.7 7000 typ srflx "
		"raddr 10.0.0.7 rport 7000\r\n"
		"a=end-of-candidates\r\n"
		"a=rtcp:7000\r\n"
		"a=rtcp-mux\r\n"
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"
		"PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32\r\n"
		"a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"
		"NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj\r\n"
		"a=icecream:vanilla\r\n", &l,
		"v=0\r\n"
		"o=- 1 100 IN IP4 203.0.113.5\r\n"
		"s=-\r\n"
		"c=IN IP4 203.0.113.5\r\n"
		"t=0 0\r\n"
		"m=audio 30010 RTP/SAVP 0\r\n"
		"a=rtcp:30010\r\n"
		"a=rtcp-mux\r\n"
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"
		"PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32\r\n"
		"a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"
		"NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj\r\n"
		"a=icecream:vanilla\r\n", 0, &info);
	assert_int_equal(info.ice_dropped, 7);
	assert_true(info.mv[0].rtcp_mux);
	assert_sa(&info.mv[0].rtcp, "198.51.100.7", 7000);
	assert_int_equal(info.mv[0].cryptoc, 2);
	assert_true(pl_strcmp(&info.mv[0].cryptov[1],
			      "2 AES_CM_128_HMAC_SHA1_32 inline:"
			      "NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj") == 0);

	/* a=rtcp on another port: sbc's RTCP port, the odd one */
	rewrite("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.1\r\n"
		"m=audio 7000 RTP/AVP 0\r\na=rtcp:7003\r\n", &l,
		"v=0\r\no=- 1 100 IN IP4 203.0.113.5\r\nc=IN IP4 203.0.113.5\r\n"
		"m=audio 30010 RTP/AVP 0\r\na=rtcp:30011\r\n", 0, &info);
	assert_sa(&info.mv[0].rtcp, "192.0.2.1", 7003);
}

#define K1 "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
#define K2 "inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj"

/* sbc terminating SRTP: the SRTP side's offer goes on as plain RTP, the
 * RTP side's answer comes back with sbc's own key. */
static void test_srtp_modes(void **state)
{
	struct sdp_local l = loc4(30000, 30002, 2);
	struct sdp_info info;
	(void)state;

	l.srtpv[0] = l.srtpv[1] = SDP_SRTP_STRIP;
	rewrite("v=0\r\n"
		"o=- 1 1 IN IP4 192.0.2.1\r\n"
		"c=IN IP4 192.0.2.1\r\n"
		"t=0 0\r\n"
		"m=audio 7000 RTP/SAVP 0 8\r\n"
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 " K1 "\r\n"
		"a=crypto:2 AES_CM_128_HMAC_SHA1_32 " K2 "\r\n"
		"a=sendrecv\r\n"
		"m=video 7002 RTP/SAVPF 96\r\n"
		"a=crypto:1 AEAD_AES_128_GCM " K1 "\r\n", &l,
		"v=0\r\n"
		"o=- 1 2 IN IP4 203.0.113.5\r\n"
		"c=IN IP4 203.0.113.5\r\n"
		"t=0 0\r\n"
		"m=audio 30000 RTP/AVP 0 8\r\n"
		"a=sendrecv\r\n"
		"m=video 30002 RTP/AVPF 96\r\n", 0, &info);
	assert_int_equal(info.mv[0].cryptoc, 2);
	assert_int_equal(info.mv[1].cryptoc, 1);
	assert_true(pl_strcmp(&info.mv[1].proto, "RTP/SAVPF") == 0);

	l.srtpv[0] = l.srtpv[1] = SDP_SRTP_SET;
	pl_set_str(&l.cryptov[0], "1 AES_CM_128_HMAC_SHA1_80 " K2);
	pl_set_str(&l.cryptov[1], "1 AEAD_AES_128_GCM " K1);
	rewrite("v=0\r\n"
		"o=- 1 1 IN IP4 192.0.2.1\r\n"
		"c=IN IP4 192.0.2.1\r\n"
		"t=0 0\r\n"
		"m=audio 8000 RTP/AVP 0\r\n"
		"a=ptime:20\r\n"
		"m=video 8002 RTP/AVPF 96\r\n"
		"a=rtpmap:96 H264/90000", &l,
		"v=0\r\n"
		"o=- 1 2 IN IP4 203.0.113.5\r\n"
		"c=IN IP4 203.0.113.5\r\n"
		"t=0 0\r\n"
		"m=audio 30000 RTP/SAVP 0\r\n"
		"a=ptime:20\r\n"
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 " K2 "\r\n"
		"m=video 30002 RTP/SAVPF 96\r\n"
		"a=rtpmap:96 H264/90000\r\n"
		"a=crypto:1 AEAD_AES_128_GCM " K1 "\r\n", 0, &info);

	/* a disabled stream is left alone; LF-only bodies stay so */
	rewrite("v=0\n"
		"o=- 1 1 IN IP4 192.0.2.1\n"
		"c=IN IP4 192.0.2.1\n"
		"m=audio 8000 RTP/AVP 0\n"
		"m=video 0 RTP/AVP 96\n", &l,
		"v=0\n"
		"o=- 1 2 IN IP4 203.0.113.5\n"
		"c=IN IP4 203.0.113.5\n"
		"m=audio 30000 RTP/SAVP 0\n"
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 " K2 "\n"
		"m=video 0 RTP/AVP 96\n", 0, &info);

	/* DTLS-SRTP cannot be terminated with SDES keys */
	l.srtpv[0] = SDP_SRTP_STRIP;
	rewrite("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.1\r\n"
		"m=audio 8000 UDP/TLS/RTP/SAVP 0\r\n", &l, NULL, ENOTSUP,
		NULL);
}

static void test_bad(void **state)
{
	struct sdp_local l = loc4(30000, 30002, 1);
	static const struct {
		const char *sdp;
		int err;
	} v[] = {
		{"", EBADMSG},
		{"hello", EBADMSG},
		{"v=1\r\n", EBADMSG},
		{"o=- 1 1 IN IP4 1.2.3.4\r\nv=0\r\n", EBADMSG},
		{"v=0\r\n", EBADMSG},                        /* no o= */
		{"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nv=0\r\n", EBADMSG},
		{"v=0\r\no=- 1 x IN IP4 1.2.3.4\r\n", EBADMSG},
		{"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n"
		 "o=- 1 1 IN IP4 1.2.3.4\r\n", EBADMSG},
		{"v=0\r\no=- 1 99999999999999999999 IN IP4 1.2.3.4\r\n",
		 EBADMSG},
		{"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3\r\n",
		 EBADMSG},
		{"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP6 1.2.3.4\r\n",
		 EBADMSG},
		{"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 ::1\r\n",
		 EBADMSG},
		{"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=ATM IP4 1.2.3.4\r\n",
		 EBADMSG},
		{"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4\r\n", EBADMSG},
		{"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 host.example\r\n",
		 EBADMSG},
		{"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\n"
		 "m=audio 70000 RTP/AVP 0\r\n", EBADMSG},
		{"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\n"
		 "m=audio 7x RTP/AVP 0\r\n", EBADMSG},
		{"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\n"
		 "m=audio 7000 RTP/AVP\r\n", EBADMSG},
		{"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\n"
		 "m=audio 7000/2 RTP/AVP 0\r\n", ENOTSUP},
		{"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n"
		 "m=audio 7000 RTP/AVP 0\r\n", EBADMSG},      /* no c= */
		{"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\n"
		 "m=audio 7000 RTP/AVP 0\r\na=rtcp:x\r\n", EBADMSG},
		{"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\n"
		 "m=audio 7000 RTP/AVP 0\r\na=rtcp:7001\r\na=rtcp:7001\r\n",
		 EBADMSG},
		{"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\n"
		 "c=IN IP4 1.2.3.4\r\n", EBADMSG},
		{"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nX=1\r\n", EBADMSG},
		{"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nab\r\n", EBADMSG},
		{"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\n"
		 "m=a 1 R 0\r\nm=a 1 R 0\r\nm=a 1 R 0\r\nm=a 1 R 0\r\n"
		 "m=a 1 R 0\r\nm=a 1 R 0\r\nm=a 1 R 0\r\nm=a 1 R 0\r\n"
		 "m=a 1 R 0\r\n", E2BIG},
	};
	(void)state;

	l.portc = SDP_MAX_MEDIA;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct sdp_info info;
		struct pl b;

		pl_set_str(&b, v[i].sdp);
		if (sdp_parse(&info, &b) != v[i].err)
			fail_msg("parse case %zu: %d, want %d", i,
				 sdp_parse(&info, &b), v[i].err);
		rewrite(v[i].sdp, &l, NULL, v[i].err, NULL);
	}
	/* no local address */
	{
		struct sdp_local z = {.portc = 1};

		rewrite(offer, &z, NULL, EINVAL, NULL);
	}
}

/* Bounded fuzz: mutated and truncated bodies never crash, and whatever
 * rewrites cleanly parses again with the same streams. */
static void test_fuzz(void **state)
{
	struct sdp_local l = loc4(30000, 30002, 42);
	const size_t n = strlen(offer);
	char buf[sizeof(offer) + 16];
	static const char alphabet[] = " =\r\n0123456789:./-abcmoIPN46";
	unsigned seed = 12345, ok = 0;
	(void)state;

	for (int it = 0; it < 20000; it++) {
		struct mbuf *mb = mbuf_alloc(512);
		struct sdp_info info, again;
		struct pl b;
		size_t len = n;

		assert_non_null(mb);
		l.srtpv[0] = (enum sdp_srtp)(it % 3);
		pl_set_str(&l.cryptov[0], "1 AES_CM_128_HMAC_SHA1_80 " K1);
		memcpy(buf, offer, n);
		for (int k = rand_r(&seed) % 4; k >= 0; k--) {
			size_t pos = (size_t)rand_r(&seed) % len;

			if (rand_r(&seed) % 2)
				buf[pos] = (char)(rand_r(&seed) % 256);
			else
				buf[pos] = alphabet[rand_r(&seed)
						    % (sizeof(alphabet) - 1)];
		}
		if (rand_r(&seed) % 3 == 0)
			len = (size_t)rand_r(&seed) % (n + 1);
		b.p = buf;
		b.l = len;
		(void)sdp_parse(&info, &b);
		if (!sdp_rewrite(mb, &b, &l, &info)) {
			struct pl out = {(const char *)mb->buf, mb->end};

			assert_int_equal(sdp_parse(&again, &out), 0);
			assert_int_equal(again.mc, info.mc);
			assert_int_equal(again.o_version, 42);
			++ok;
		}
		mem_deref(mb);
	}
	/* the mutations must not all have been fatal */
	assert_true(ok > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_hold),
		cmocka_unit_test(test_multi_port0),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_ice_rtcp_crypto),
		cmocka_unit_test(test_srtp_modes),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
