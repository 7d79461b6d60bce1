/*
 * test_media_rec.c: the media session record (relay.h) as text: exact
 * encoding, IPv4 and IPv6 addresses, SRTP keys and rollover counters,
 * unset fields, a decode that gives back the same record, and malformed
 * records refused (a damaged field of any kind).  Applying records
 * needs sockets: tests/tools/media_relay_test.c does it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>
#include "relay.h"

static char *encode(const struct media_rec *r)
{
	struct mbuf *mb = mbuf_alloc(256);
	char *s = NULL;

	assert_non_null(mb);
	assert_int_equal(media_encode(mb, r), 0);
	mb->pos = 0;
	assert_int_equal(mbuf_strdup(mb, &s, mb->end), 0);
	mem_deref(mb);
	return s;
}

static void test_roundtrip(void **state)
{
	struct media_rec r, d;
	struct pl pl;
	char *s, *s2;
	(void)state;

	memset(&r, 0, sizeof(r));
	pl_set_str(&r.id, "a84b4c76e66710@pc33.example.com");
	r.n = 2;
	r.legv[0][0].port = 30000;
	assert_int_equal(sa_set_str(&r.legv[0][0].rtp, "192.0.2.10", 49170),
			 0);
	assert_int_equal(sa_set_str(&r.legv[0][0].rtcp, "192.0.2.10", 49171),
			 0);
	assert_int_equal(sa_set_str(&r.legv[0][0].src, "198.51.100.9", 0), 0);
	assert_int_equal(sa_set_str(&r.legv[0][0].latched[0], "198.51.100.9",
				    1024), 0);
	r.legv[0][1].port = 30002;
	assert_int_equal(sa_set_str(&r.legv[0][1].rtp, "2001:db8::5", 6000),
			 0);
	r.legv[1][0].port = 30004;
	r.legv[1][1].port = 30006;
	/* SRTP towards the access side's phone */
	r.legv[0][0].key[0].suite = MSRTP_AES_CM_128_HMAC_SHA1_80;
	r.legv[0][0].key[0].tag = 1;
	r.legv[0][0].key[0].len = 30;
	for (int i = 0; i < 30; i++)
		r.legv[0][0].key[0].key[i] = (uint8_t)i;
	r.legv[0][0].key[1].suite = MSRTP_AEAD_AES_128_GCM;
	r.legv[0][0].key[1].tag = 2;
	r.legv[0][0].key[1].len = 28;
	memset(r.legv[0][0].key[1].key, 0xab, 28);
	/* where its streams are: past a wrap, in its last quarter; at the
	 * ROC's limit, without a number (a record of version 1) */
	r.legv[0][0].roc[0] = (struct msrtp_roc){0x1234abcd, 2, true, true,
						 49152};
	r.legv[0][0].roc[1] = (struct msrtp_roc){0xdeadbeef, 4294967295u,
						 true, false, 0};

	s = encode(&r);
	assert_string_equal(s,
		"med a84b4c76e66710@pc33.example.com 0 2 "
		"30000 192.0.2.10:49170 192.0.2.10:49171 198.51.100.9:0 "
		"198.51.100.9:1024 - "
		"AES_CM_128_HMAC_SHA1_80:1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd "
		"AEAD_AES_128_GCM:2:q6urq6urq6urq6urq6urq6urq6urq6urq6urqw== "
		"1234abcd:2:49152 deadbeef:4294967295 "
		"30002 [2001:db8::5]:6000 - - - - - - - - "
		"30004 - - - - - - - - - 30006 - - - - - - - - -\n");
	pl_set_str(&pl, s);
	assert_int_equal(media_decode(&d, &pl), 0);
	assert_true(pl_strcmp(&d.id, "a84b4c76e66710@pc33.example.com") == 0);
	assert_int_equal(d.n, 2);
	assert_false(d.ended);
	assert_int_equal(d.legv[0][1].port, 30002);
	assert_true(sa_cmp(&d.legv[0][0].latched[0], &r.legv[0][0].latched[0],
			   SA_ALL));
	assert_true(sa_cmp(&d.legv[0][1].rtp, &r.legv[0][1].rtp, SA_ALL));
	assert_int_equal(sa_af(&d.legv[0][1].rtcp), AF_UNSPEC);
	assert_int_equal(d.legv[0][0].key[1].suite, MSRTP_AEAD_AES_128_GCM);
	assert_int_equal(d.legv[0][0].key[1].len, 28);
	assert_memory_equal(d.legv[0][0].key[0].key, r.legv[0][0].key[0].key,
			    30);
	assert_int_equal(d.legv[0][1].key[0].suite, MSRTP_NONE);
	assert_true(d.legv[0][0].roc[0].set);
	assert_int_equal(d.legv[0][0].roc[0].ssrc, 0x1234abcd);
	assert_int_equal(d.legv[0][0].roc[0].roc, 2);
	assert_true(d.legv[0][0].roc[0].seq_set);
	assert_int_equal(d.legv[0][0].roc[0].seq, 49152);
	assert_false(d.legv[0][0].roc[1].seq_set);
	assert_int_equal(d.legv[0][0].roc[1].ssrc, 0xdeadbeef);
	assert_int_equal(d.legv[0][0].roc[1].roc, 4294967295u);
	assert_false(d.legv[0][1].roc[0].set || d.legv[0][1].roc[1].set);
	s2 = encode(&d);
	assert_string_equal(s, s2);
	mem_deref(s2);

	d.ended = true;
	s2 = encode(&d);
	assert_true(!strncmp(s2, "med a84b4c76e66710@pc33.example.com 1 2 ",
			     40));
	mem_deref(s2);
	mem_deref(s);
}

static void test_bad(void **state)
{
	/* K: a valid key, for the ROC fields after it */
#define K "AES_CM_128_HMAC_SHA1_80:1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd"
#define CORE " 2 - - - - - - - - -"
	static const char *bad[] = {
		"", "med", "med x", "med x 0", "med x 0 0", "med x 2 1",
		"dlg x 0 1 1 - - - - - - - - -" CORE,
		"med x 0 1 1 - - - - - - - - -",                  /* no core */
		"med x 0 1 1 - - - - - - - - - 2 - - - - - - - -",
		"med x 0 1 1 - - - - - - -" CORE,              /* no ROCs */
		"med x 0 1 1 - - - - - BOGUS:1:AAAA - - -" CORE,
		"med x 0 1 1 - - - - - AES_CM_128_HMAC_SHA1_80:1:AAAA - - -"
		CORE,                                          /* short key */
		"med x 0 1 1 - - - - - - - - -" CORE " extra",
		"med x 0 1 99999 - - - - - - - - -" CORE,
		"med x 0 1 123456 - - - - - - - - -" CORE,
		"med x 0 1 1 nonsense - - - - - - - -" CORE,
		"med x 0 1 1 1.2.3.4 - - - - - - - -" CORE,     /* no port */
		"med x 0 9 1 - - - - - - - - -" CORE,
		"med x 0 x 1 - - - - - - - - -" CORE,
		/* damaged ROCs */
		"med x 0 1 1 - - - - - - - 1234abcd:2 -" CORE,  /* no key */
		"med x 0 1 1 - - - - - " K " - - 1234abcd:2" CORE,
		"med x 0 1 1 - - - - - " K " - 1234abcd -" CORE,
		"med x 0 1 1 - - - - - " K " - 1234abcd: -" CORE,
		"med x 0 1 1 - - - - - " K " - 1234abc:2 -" CORE,
		"med x 0 1 1 - - - - - " K " - 1234abcde:2 -" CORE,
		"med x 0 1 1 - - - - - " K " - 1234abcg:2 -" CORE,
		"med x 0 1 1 - - - - - " K " - 1234abcd:x -" CORE,
		"med x 0 1 1 - - - - - " K " - 1234abcd:-1 -" CORE,
		"med x 0 1 1 - - - - - " K " - 1234abcd:2x -" CORE,
		"med x 0 1 1 - - - - - " K " - 1234abcd:4294967296 -" CORE,
		"med x 0 1 1 - - - - - " K " - 1234abcd:12345678901 -" CORE,
		"med x 0 1 1 - - - - - " K " - 1234abcd:2:3:4 -" CORE,
		"med x 0 1 1 - - - - - " K " - 1234abcd:2: -" CORE,
		"med x 0 1 1 - - - - - " K " - 1234abcd:2:65536 -" CORE,
		"med x 0 1 1 - - - - - " K " - 1234abcd:2:123456 -" CORE,
		"med x 0 1 1 - - - - - " K " - 1234abcd:2:x -" CORE,
		"med x 0 1 1 - - - - - " K " - 1234abcd::3 -" CORE,
		"med x 0 1 1 - - - - - " K " - :2 -" CORE,
	};
	struct media_rec r;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct pl pl;

		pl_set_str(&pl, bad[i]);
		if (media_decode(&r, &pl) != EBADMSG)
			fail_msg("record %zu accepted: '%s'", i, bad[i]);
	}
	/* a line end is fine */
	{
		struct pl pl;

		pl_set_str(&pl, "med x 0 1 1 - - - - - - - - -" CORE "\r\n");
		assert_int_equal(media_decode(&r, &pl), 0);
		/* upper-case hex and a ROC of 0 are fine too */
		pl_set_str(&pl, "med x 0 1 1 - - - - - " K " - 1234ABCD:0 -"
			   CORE);
		assert_int_equal(media_decode(&r, &pl), 0);
		assert_true(r.legv[0][0].roc[0].set);
		assert_int_equal(r.legv[0][0].roc[0].ssrc, 0x1234abcd);
		assert_int_equal(r.legv[0][0].roc[0].roc, 0);
		assert_false(r.legv[0][0].roc[0].seq_set);
		pl_set_str(&pl, "med x 0 1 1 - - - - - " K " - 1234abcd:0:65535"
			   " -" CORE);
		assert_int_equal(media_decode(&r, &pl), 0);
		assert_true(r.legv[0][0].roc[0].seq_set);
		assert_int_equal(r.legv[0][0].roc[0].seq, 65535);
	}
	memset(&r, 0, sizeof(r));
	r.n = MEDIA_MAX_STREAMS + 1;
	{
		struct mbuf *mb = mbuf_alloc(64);

		assert_int_equal(media_encode(mb, &r), EINVAL);
		/* nor is a ROC without its key written */
		r.n = 1;
		r.legv[0][1].roc[1] = (struct msrtp_roc){1, 1, true, false, 0};
		assert_int_equal(media_encode(mb, &r), EINVAL);
		mem_deref(mb);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
