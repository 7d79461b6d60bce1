/*
 * test_srtp.c: SRTP termination (media/srtp.c): a=crypto values parsed
 * and generated for the three suites, keys of the right length, and a
 * packet protected with one context and unprotected with another (RTP
 * and RTCP); tampering, replays and a repeated sequence number on the
 * protecting side are refused.  The rollover counter: a stream past a
 * wrap is continued by new contexts given its ROC (what a standby does
 * after a failover), both ways, and not by contexts without it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>
#include "srtp.h"

static int setup(void **state)
{
	(void)state;
	return libre_init() || msrtp_init() ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	msrtp_close();
	libre_close();
	return 0;
}

static int decode_str(struct msrtp_key *k, const char *s)
{
	struct pl pl;

	pl_set_str(&pl, s);
	return msrtp_crypto_decode(k, &pl);
}

static void test_crypto_lines(void **state)
{
	static const enum msrtp_suite suites[] = {
		MSRTP_AES_CM_128_HMAC_SHA1_80, MSRTP_AES_CM_128_HMAC_SHA1_32,
		MSRTP_AEAD_AES_128_GCM};
	static const size_t lens[] = {30, 30, 28};
	struct msrtp_key k, d, k2;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(suites); i++) {
		struct mbuf *mb = mbuf_alloc(128);
		struct pl pl;

		assert_int_equal(msrtp_key_gen(&k, suites[i], 1 + (uint32_t)i),
				 0);
		assert_int_equal(k.len, lens[i]);
		assert_int_equal(msrtp_key_gen(&k2, suites[i], 1), 0);
		assert_memory_not_equal(k.key, k2.key, k.len);
		assert_int_equal(msrtp_crypto_encode(mb, &k), 0);
		pl_set_mbuf(&pl, (mb->pos = 0, mb));
		assert_int_equal(msrtp_crypto_decode(&d, &pl), 0);
		assert_int_equal(d.suite, suites[i]);
		assert_int_equal(d.tag, 1 + i);
		assert_int_equal(d.len, k.len);
		assert_memory_equal(d.key, k.key, k.len);
		mem_deref(mb);
	}

	/* RFC 4568's example, with a lifetime; its MKI is not supported */
	assert_int_equal(decode_str(&d, "1 AES_CM_128_HMAC_SHA1_80 inline:"
		"PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20"), 0);
	assert_int_equal(d.len, 30);
	assert_int_equal(decode_str(&d, "1 AES_CM_128_HMAC_SHA1_80 inline:"
		"PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32"), ENOTSUP);
	assert_int_equal(decode_str(&d, "1 AES_CM_128_HMAC_SHA1_80 inline:"
		"PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR UNENCRYPTED_SRTP"),
		ENOTSUP);
	assert_int_equal(decode_str(&d, "1 F8_128_HMAC_SHA1_80 inline:"
		"PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"), ENOTSUP);
	assert_int_equal(decode_str(&d, "1 AES_CM_128_HMAC_SHA1_80 inline:"
		"PS1uQCVeeCFCanVmcjkpPywjNWhcYD0m"), EBADMSG);  /* short */
	assert_int_equal(decode_str(&d, "1 AEAD_AES_128_GCM inline:"
		"PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"), EBADMSG);
	assert_int_equal(decode_str(&d, "x AES_CM_128_HMAC_SHA1_80 inline:"
		"PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"), EBADMSG);
	assert_int_equal(decode_str(&d, "1 AES_CM_128_HMAC_SHA1_80 "
		"PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"), EBADMSG);
	assert_int_equal(decode_str(&d, "1 AES_CM_128_HMAC_SHA1_80"), EBADMSG);
	assert_int_equal(decode_str(&d, ""), EBADMSG);

	/* an offer's first usable line wins */
	{
		struct pl v[2];

		pl_set_str(&v[0], "1 F8_128_HMAC_SHA1_80 inline:"
			   "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR");
		pl_set_str(&v[1], "2 AES_CM_128_HMAC_SHA1_32 inline:"
			   "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR");
		assert_int_equal(msrtp_select(&d, v, 2), 0);
		assert_int_equal(d.tag, 2);
		assert_int_equal(msrtp_select(&d, v, 1), ENOTSUP);
	}
}

static size_t rtp_ssrc(uint8_t *buf, uint16_t seq, uint32_t ssrc)
{
	memset(buf, 0, 200);
	buf[0] = 0x80;
	buf[2] = (uint8_t)(seq >> 8);
	buf[3] = (uint8_t)seq;
	buf[8] = (uint8_t)(ssrc >> 24);
	buf[9] = (uint8_t)(ssrc >> 16);
	buf[10] = (uint8_t)(ssrc >> 8);
	buf[11] = (uint8_t)ssrc;
	for (int i = 12; i < 172; i++)
		buf[i] = (uint8_t)(i * 7 + seq);
	return 172;
}

static size_t rtp_pkt(uint8_t *buf, uint16_t seq)
{
	return rtp_ssrc(buf, seq, 0x42);
}

static size_t rtcp_pkt(uint8_t *buf)
{
	memset(buf, 0, 200);
	buf[0] = 0x80;
	buf[1] = 201;               /* RR */
	buf[3] = 1;
	buf[7] = 0x42;
	return 8;
}

static void one_suite(enum msrtp_suite suite)
{
	struct msrtp_key k;
	struct msrtp *tx = NULL, *rx = NULL;
	uint8_t buf[400], orig[200];
	size_t len, olen;

	assert_int_equal(msrtp_key_gen(&k, suite, 1), 0);
	assert_int_equal(msrtp_alloc(&tx, &k, true), 0);
	assert_int_equal(msrtp_alloc(&rx, &k, false), 0);

	for (uint16_t seq = 1; seq <= 50; seq++) {
		len = olen = rtp_pkt(buf, seq);
		memcpy(orig, buf, olen);
		assert_int_equal(msrtp_protect(tx, buf, &len, sizeof(buf),
					       false), 0);
		assert_true(len > olen);
		assert_memory_not_equal(buf + 12, orig + 12, olen - 12);
		assert_int_equal(msrtp_unprotect(rx, buf, &len, false), 0);
		assert_int_equal(len, olen);
		assert_memory_equal(buf, orig, olen);
	}
	/* the same sequence number again: refused on both sides */
	len = rtp_pkt(buf, 50);
	assert_int_equal(msrtp_protect(tx, buf, &len, sizeof(buf), false),
			 EPROTO);
	len = rtp_pkt(buf, 51);
	assert_int_equal(msrtp_protect(tx, buf, &len, sizeof(buf), false), 0);
	memcpy(orig, buf, len);
	olen = len;
	assert_int_equal(msrtp_unprotect(rx, buf, &len, false), 0);
	len = olen;
	memcpy(buf, orig, olen);
	assert_int_equal(msrtp_unprotect(rx, buf, &len, false), EAUTH);
	/* tampered */
	len = rtp_pkt(buf, 52);
	assert_int_equal(msrtp_protect(tx, buf, &len, sizeof(buf), false), 0);
	buf[20] ^= 1;
	assert_int_equal(msrtp_unprotect(rx, buf, &len, false), EAUTH);
	/* RTCP */
	len = olen = rtcp_pkt(buf);
	memcpy(orig, buf, olen);
	assert_true(msrtp_is_rtcp(buf, len));
	assert_int_equal(msrtp_protect(tx, buf, &len, sizeof(buf), true), 0);
	assert_true(msrtp_is_rtcp(buf, len));
	assert_int_equal(msrtp_unprotect(rx, buf, &len, true), 0);
	assert_int_equal(len, olen);
	assert_memory_equal(buf, orig, olen);
	/* no room for the tag; wrong direction */
	len = rtp_pkt(buf, 60);
	assert_int_equal(msrtp_protect(tx, buf, &len, len + 10, false),
			 EINVAL);
	assert_int_equal(msrtp_unprotect(tx, buf, &len, false), EINVAL);

	mem_deref(tx);
	mem_deref(rx);
}

static void test_protect(void **state)
{
	(void)state;
	one_suite(MSRTP_AES_CM_128_HMAC_SHA1_80);
	one_suite(MSRTP_AES_CM_128_HMAC_SHA1_32);
	one_suite(MSRTP_AEAD_AES_128_GCM);
}

struct roc_seen {
	unsigned n;
	struct msrtp_roc last;
	bool tx;
};

static void roc_h(const struct msrtp_roc *r, bool tx, void *arg)
{
	struct roc_seen *rs = arg;

	++rs->n;
	rs->last = *r;
	rs->tx = tx;
}

/* One packet from tx to rx: 0 if rx got it intact. */
static int one_pkt(struct msrtp *tx, struct msrtp *rx, uint16_t seq,
		   uint32_t ssrc)
{
	uint8_t buf[400], orig[200];
	size_t len = rtp_ssrc(buf, seq, ssrc), olen = len;
	int err;

	memcpy(orig, buf, len);
	err = msrtp_protect(tx, buf, &len, sizeof(buf), false);
	if (err)
		return err;
	err = msrtp_unprotect(rx, buf, &len, false);
	if (err)
		return err;
	return len == olen && !memcmp(buf, orig, olen) ? 0 : EBADMSG;
}

/* The phone protects with kp, the active node unprotects (arx); the node
 * protects towards it with ks (atx), the phone unprotects (prx); the
 * node's contexts tell their ROC notes to srx and stx. */
static void phone_and_node(enum msrtp_suite suite, struct msrtp_key *kp,
			   struct msrtp_key *ks, struct msrtp **ptx,
			   struct msrtp **arx, struct msrtp **atx,
			   struct msrtp **prx, struct roc_seen *srx,
			   struct roc_seen *stx)
{
	assert_int_equal(msrtp_key_gen(kp, suite, 1), 0);
	assert_int_equal(msrtp_key_gen(ks, suite, 1), 0);
	assert_int_equal(msrtp_alloc(ptx, kp, true), 0);
	assert_int_equal(msrtp_alloc(arx, kp, false), 0);
	assert_int_equal(msrtp_alloc(atx, ks, true), 0);
	assert_int_equal(msrtp_alloc(prx, ks, false), 0);
	msrtp_set_roch(*arx, roc_h, srx);
	msrtp_set_roch(*atx, roc_h, stx);
}

/* 70,000 packets from 61000: one wrap, and the next one 72 packets on */
enum { SSRC = 0x1234abcd, FIRST = 61000, NPKT = 70000 };

static void roc_suite(enum msrtp_suite suite)
{
	struct msrtp_key kp, ks;
	struct msrtp *ptx = NULL, *arx = NULL, *atx = NULL, *prx = NULL;
	struct msrtp *brx = NULL, *btx = NULL, *crx = NULL, *ctx = NULL;
	struct roc_seen srx = {0}, stx = {0};
	struct msrtp_roc r, rrx, rtx;
	uint16_t seq = FIRST;
	uint8_t buf[400];
	size_t len;

	phone_and_node(suite, &kp, &ks, &ptx, &arx, &atx, &prx, &srx, &stx);
	msrtp_roc_get(arx, &r);
	assert_false(r.set);

	/* 70,000 packets each way: ROC 1 */
	for (uint32_t i = 0; i < NPKT; i++, seq++) {
		if (one_pkt(ptx, arx, seq, SSRC)
		    || one_pkt(atx, prx, seq, SSRC + 1))
			fail_msg("packet %u lost", i);
	}
	assert_int_equal(seq, (FIRST + NPKT) % 65536);
	/* told at the first packet (in the last quarter), at the wrap and
	 * as the number entered each quarter after it, on each side */
	assert_int_equal(srx.n, 5);
	assert_false(srx.tx);
	assert_true(srx.last.set && srx.last.ssrc == SSRC
		    && srx.last.roc == 1 && srx.last.seq_set
		    && srx.last.seq == 0xc000);
	assert_int_equal(stx.n, 5);
	assert_true(stx.tx);
	assert_true(stx.last.ssrc == SSRC + 1 && stx.last.roc == 1);
	msrtp_roc_get(arx, &rrx);
	msrtp_roc_get(atx, &rtx);
	assert_true(rrx.set && rrx.ssrc == SSRC && rrx.roc == 1);
	assert_true(rtx.set && rtx.ssrc == SSRC + 1 && rtx.roc == 1);
	/* a late packet: below the last number, so looked at, and
	 * nothing to tell */
	{
		uint8_t b2[400];
		size_t l2;

		len = rtp_ssrc(buf, seq, SSRC);
		l2 = rtp_ssrc(b2, (uint16_t)(seq + 1), SSRC);
		assert_int_equal(msrtp_protect(ptx, buf, &len, sizeof(buf),
					       false), 0);
		assert_int_equal(msrtp_protect(ptx, b2, &l2, sizeof(b2),
					       false), 0);
		assert_int_equal(msrtp_unprotect(arx, b2, &l2, false), 0);
		assert_int_equal(msrtp_unprotect(arx, buf, &len, false), 0);
		assert_int_equal(srx.n, 5);
		seq += 2;
	}

	/* contexts without the ROC (a standby that did not know): the
	 * node's receiver refuses the phone's next packet, and what the
	 * node protects does not pass the phone's receiver */
	assert_int_equal(msrtp_alloc(&crx, &kp, false), 0);
	assert_int_equal(msrtp_alloc(&ctx, &ks, true), 0);
	assert_int_equal(one_pkt(ptx, crx, seq, SSRC), EAUTH);
	assert_int_equal(one_pkt(ctx, prx, seq, SSRC + 1), EAUTH);
	++seq;

	/* the standby's contexts: the keys and the recorded ROC */
	assert_int_equal(msrtp_alloc(&brx, &kp, false), 0);
	assert_int_equal(msrtp_alloc(&btx, &ks, true), 0);
	assert_int_equal(msrtp_roc_set(brx, &rrx), 0);
	assert_int_equal(msrtp_roc_set(btx, &rtx), 0);
	msrtp_roc_get(brx, &r);
	assert_true(r.set && r.ssrc == SSRC && r.roc == 1);
	srx.n = stx.n = 0;
	msrtp_set_roch(brx, roc_h, &srx);
	msrtp_set_roch(btx, roc_h, &stx);
	/* on past the next wrap: ROC 2 both ways, and told */
	for (uint32_t i = 0; seq != 100; i++, seq++) {
		if (one_pkt(ptx, brx, seq, SSRC)
		    || one_pkt(btx, prx, seq, SSRC + 1))
			fail_msg("packet %u after the takeover lost", i);
	}
	assert_int_equal(srx.n, 1);
	assert_int_equal(stx.n, 1);
	assert_true(srx.last.ssrc == SSRC && srx.last.roc == 2);
	assert_true(stx.last.ssrc == SSRC + 1 && stx.last.roc == 2);
	/* a second SSRC interleaved with the first, numbered below it (so
	 * each of its packets is looked at): its start at ROC 0 is told
	 * (the first one may have ended), the alternation is not */
	srx.n = 0;
	for (int i = 0; i < 10; i++, seq++) {
		assert_int_equal(one_pkt(ptx, brx, seq, SSRC), 0);
		assert_int_equal(one_pkt(ptx, brx, (uint16_t)(50 + i),
					 SSRC + 7), 0);
	}
	assert_int_equal(srx.n, 1);
	assert_true(srx.last.ssrc == SSRC + 7 && srx.last.roc == 0);
	/* a context in use keeps what its packets taught it */
	assert_int_equal(msrtp_roc_set(brx, &rrx), EALREADY);
	assert_int_equal(one_pkt(ptx, brx, seq, SSRC), 0);

	mem_deref(ptx);
	mem_deref(arx);
	mem_deref(atx);
	mem_deref(prx);
	mem_deref(brx);
	mem_deref(btx);
	mem_deref(crx);
	mem_deref(ctx);
}

/*
 * A stream that wraps while no context carries it: the active node saw
 * the phone's stream (and protected the core's towards it) up to 65000
 * at ROC 0 and told 60000 (the last quarter); the stream went on to 199
 * at ROC 1 while nobody relayed it (the failover); the standby's
 * contexts, given what the active told, take the next packet at ROC 1
 * both ways.  Given the ROC alone (a record without the number) they
 * would not.
 */
static void outage_suite(enum msrtp_suite suite)
{
	struct msrtp_key kp, ks;
	struct msrtp *ptx = NULL, *arx = NULL, *atx = NULL, *prx = NULL;
	struct msrtp *brx = NULL, *btx = NULL, *crx = NULL;
	struct roc_seen srx = {0}, stx = {0};
	struct msrtp_roc rrx, rtx, bare;
	uint16_t seq;
	uint8_t buf[400];
	size_t len;

	phone_and_node(suite, &kp, &ks, &ptx, &arx, &atx, &prx, &srx, &stx);
	for (seq = 60000; seq <= 65000; seq++)
		if (one_pkt(ptx, arx, seq, SSRC)
		    || one_pkt(atx, prx, seq, SSRC + 1))
			fail_msg("packet %u lost", seq);
	assert_int_equal(srx.n, 1);
	assert_int_equal(stx.n, 1);
	msrtp_roc_get(arx, &rrx);
	msrtp_roc_get(atx, &rtx);
	assert_true(rrx.set && rrx.roc == 0 && rrx.seq_set
		    && rrx.seq == 60000);
	/* the phone goes on, nobody hears it */
	for (; seq != 200; seq++) {
		len = rtp_ssrc(buf, seq, SSRC);
		assert_int_equal(msrtp_protect(ptx, buf, &len, sizeof(buf),
					       false), 0);
	}
	assert_int_equal(msrtp_alloc(&brx, &kp, false), 0);
	assert_int_equal(msrtp_alloc(&btx, &ks, true), 0);
	assert_int_equal(msrtp_alloc(&crx, &kp, false), 0);
	assert_int_equal(msrtp_roc_set(brx, &rrx), 0);
	assert_int_equal(msrtp_roc_set(btx, &rtx), 0);
	bare = rrx;
	bare.seq_set = false;
	assert_int_equal(msrtp_roc_set(crx, &bare), 0);
	assert_int_equal(one_pkt(ptx, crx, seq, SSRC), EAUTH);
	++seq;
	for (int i = 0; i < 100; i++, seq++)
		if (one_pkt(ptx, brx, seq, SSRC))
			fail_msg("packet %u after the outage lost (rx)", seq);
		else if (one_pkt(btx, prx, seq, SSRC + 1))
			fail_msg("packet %u after the outage lost (tx)", seq);
	msrtp_roc_get(brx, &rrx);
	assert_true(rrx.roc == 1);

	mem_deref(ptx);
	mem_deref(arx);
	mem_deref(atx);
	mem_deref(prx);
	mem_deref(brx);
	mem_deref(btx);
	mem_deref(crx);
}

static void test_roc(void **state)
{
	struct msrtp_key k;
	struct msrtp *s = NULL;
	struct msrtp_roc r = {.ssrc = 1, .roc = 5, .set = true};
	(void)state;

	roc_suite(MSRTP_AES_CM_128_HMAC_SHA1_80);
	roc_suite(MSRTP_AES_CM_128_HMAC_SHA1_32);
	roc_suite(MSRTP_AEAD_AES_128_GCM);
	outage_suite(MSRTP_AES_CM_128_HMAC_SHA1_80);
	outage_suite(MSRTP_AEAD_AES_128_GCM);

	/* ROC 0 or none: nothing to do; set twice before a packet: the
	 * last one counts */
	assert_int_equal(msrtp_key_gen(&k, MSRTP_AES_CM_128_HMAC_SHA1_80, 1),
			 0);
	assert_int_equal(msrtp_alloc(&s, &k, false), 0);
	assert_int_equal(msrtp_roc_set(s, &(struct msrtp_roc){0}), 0);
	assert_int_equal(msrtp_roc_set(s, &r), 0);
	r.roc = 6;
	assert_int_equal(msrtp_roc_set(s, &r), 0);
	msrtp_roc_get(s, &r);
	assert_int_equal(r.roc, 6);
	assert_int_equal(msrtp_roc_set(NULL, &r), EINVAL);
	mem_deref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crypto_lines),
		cmocka_unit_test(test_protect),
		cmocka_unit_test(test_roc),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
