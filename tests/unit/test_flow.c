/*
 * test_flow.c: the flow token of sbcd's Path entries (sbc/sip/flow.c): what
 * is encoded decodes to the same transport, address and port (IPv4 and
 * IPv6); a token altered anywhere, made with another key, cut short or
 * not hex at all is refused.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <re.h>
#include "flow.h"

static void key_fill(uint8_t *key, uint8_t seed)
{
	for (int i = 0; i < FLOW_KEY_LEN; i++)
		key[i] = (uint8_t)(seed + i * 7);
}

static void round_trip(const char *ip, uint16_t port, enum sip_transp tp,
		       size_t len)
{
	uint8_t key[FLOW_KEY_LEN];
	char tok[FLOW_TOKEN_MAX];
	enum sip_transp tp2 = SIP_TRANSP_NONE;
	struct sa addr, addr2;
	struct pl pl;

	key_fill(key, 1);
	assert_int_equal(sa_set_str(&addr, ip, port), 0);
	assert_int_equal(flow_encode(tok, sizeof(tok), key, tp, &addr), 0);
	assert_int_equal(strlen(tok), len);
	for (size_t i = 0; i < len; i++)
		assert_non_null(strchr("0123456789abcdef", tok[i]));

	pl_set_str(&pl, tok);
	assert_int_equal(flow_decode(&tp2, &addr2, key, &pl), 0);
	assert_int_equal(tp2, tp);
	assert_true(sa_cmp(&addr, &addr2, SA_ALL));
}

static void test_round_trip(void **state)
{
	(void)state;

	/* 5 bytes of header, the address, 10 bytes of MAC, in hex */
	round_trip("192.0.2.10", 5060, SIP_TRANSP_UDP, 2 * (5 + 4 + 10));
	round_trip("198.51.100.7", 40123, SIP_TRANSP_TCP, 38);
	round_trip("2001:db8::1", 5061, SIP_TRANSP_TLS, 2 * (5 + 16 + 10));
	assert_true(2 * (5 + 16 + 10) < FLOW_TOKEN_MAX);
}

static void test_encode_refused(void **state)
{
	uint8_t key[FLOW_KEY_LEN];
	char tok[FLOW_TOKEN_MAX];
	struct sa addr;
	(void)state;

	key_fill(key, 1);
	assert_int_equal(sa_set_str(&addr, "192.0.2.10", 0), 0);
	assert_int_equal(flow_encode(tok, sizeof(tok), key, SIP_TRANSP_UDP,
				     &addr), EINVAL);            /* no port */
	sa_set_port(&addr, 5060);
	assert_int_equal(flow_encode(tok, 10, key, SIP_TRANSP_UDP, &addr),
			 ENOBUFS);
	assert_int_equal(flow_encode(tok, sizeof(tok), key, SIP_TRANSP_NONE,
				     &addr), EINVAL);
}

static int decode_str(const uint8_t *key, const char *tok)
{
	enum sip_transp tp;
	struct sa addr;
	struct pl pl;

	pl_set_str(&pl, tok);
	return flow_decode(&tp, &addr, key, &pl);
}

static void test_forged(void **state)
{
	uint8_t key[FLOW_KEY_LEN], other[FLOW_KEY_LEN];
	char tok[FLOW_TOKEN_MAX], bad[FLOW_TOKEN_MAX + 2];
	struct sa addr;
	size_t len;
	(void)state;

	key_fill(key, 1);
	key_fill(other, 2);
	assert_int_equal(sa_set_str(&addr, "192.0.2.10", 5060), 0);
	assert_int_equal(flow_encode(tok, sizeof(tok), key, SIP_TRANSP_UDP,
				     &addr), 0);
	len = strlen(tok);
	assert_int_equal(decode_str(key, tok), 0);

	/* made with another key (or before a restart) */
	assert_int_equal(decode_str(other, tok), EPERM);

	/* any digit changed: transport, port, address or MAC */
	for (size_t i = 2; i < len; i++) {
		strcpy(bad, tok);
		bad[i] = bad[i] == '0' ? '1' : '0';
		assert_int_not_equal(decode_str(key, bad), 0);
	}
	/* the address changed to another one: the MAC says no */
	strcpy(bad, tok);
	bad[12] = bad[12] == 'f' ? 'e' : 'f';
	assert_int_equal(decode_str(key, bad), EPERM);

	/* cut short, one digit more, odd length, not hex, empty */
	strcpy(bad, tok);
	bad[len - 2] = '\0';
	assert_int_equal(decode_str(key, bad), EBADMSG);
	strcpy(bad, tok);
	strcat(bad, "00");
	assert_int_equal(decode_str(key, bad), EBADMSG);
	strcpy(bad, tok);
	bad[len - 1] = '\0';
	assert_int_equal(decode_str(key, bad), EBADMSG);
	strcpy(bad, tok);
	bad[20] = 'g';
	assert_int_equal(decode_str(key, bad), EBADMSG);
	assert_int_equal(decode_str(key, ""), EBADMSG);
	assert_int_equal(decode_str(key, "alice"), EBADMSG);
	/* a version we do not know */
	strcpy(bad, tok);
	bad[1] = '2';
	assert_int_equal(decode_str(key, bad), EBADMSG);
}

/* A key file: made once (mode 0600), then the same key at each start;
 * a file of the wrong size is an error, not a silent new key. */
static void test_key_file(void **state)
{
	char dir[] = "/tmp/sbc-flowkey.XXXXXX", path[64], bad[64];
	uint8_t k1[FLOW_KEY_LEN], k2[FLOW_KEY_LEN], k3[FLOW_KEY_LEN];
	struct stat st;
	FILE *f;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/flow.key", dir);
	snprintf(bad, sizeof(bad), "%s/bad.key", dir);
	assert_int_equal(flow_key_init(k1, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(flow_key_init(k2, path), 0);
	assert_memory_equal(k1, k2, FLOW_KEY_LEN);
	assert_int_equal(flow_key_init(k3, NULL), 0);
	assert_memory_not_equal(k1, k3, FLOW_KEY_LEN);

	f = fopen(bad, "w");
	assert_non_null(f);
	fputs("short", f);
	fclose(f);
	assert_int_equal(flow_key_init(k3, bad), EINVAL);
	unlink(bad);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_encode_refused),
		cmocka_unit_test(test_forged),
		cmocka_unit_test(test_key_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
