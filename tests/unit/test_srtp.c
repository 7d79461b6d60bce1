/*
 * test_srtp.c: SRTP termination (media/srtp.c): a=crypto values parsed
 * and generated for the three suites, keys of the right length, and a
 * packet protected with one context and unprotected with another (RTP
 * and RTCP); tampering, replays and a repeated sequence number on the
 * protecting side are refused.
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

static size_t rtp_pkt(uint8_t *buf, uint16_t seq)
{
	memset(buf, 0, 200);
	buf[0] = 0x80;
	buf[2] = (uint8_t)(seq >> 8);
	buf[3] = (uint8_t)seq;
	buf[11] = 0x42;             /* SSRC */
	for (int i = 12; i < 172; i++)
		buf[i] = (uint8_t)(i * 7 + seq);
	return 172;
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crypto_lines),
		cmocka_unit_test(test_protect),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
