/* test_callid.c: Call-ID hiding: both ways, stable, forged masks refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>
#include "callid.h"

static const uint8_t key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

static void test_roundtrip(void **state)
{
	char m1[CALLID_MASK_MAX], m2[CALLID_MASK_MAX], o[CALLID_ORIG_MAX + 1];
	struct pl orig = PL("a84b4c76e66710@10.0.0.5"), mp, op, back;

	(void)state;
	assert_int_equal(callid_mask(m1, sizeof(m1), key, &orig), 0);
	assert_int_equal(callid_mask(m2, sizeof(m2), key, &orig), 0);
	assert_string_equal(m1, m2);                /* every message alike */
	assert_null(strstr(m1, "10.0.0.5"));
	assert_int_equal(strncmp(m1, "sbc", 3), 0);
	pl_set_str(&mp, m1);
	assert_true(callid_unmask(o, sizeof(o), &op, key, &mp));
	assert_true(op.l == orig.l && !memcmp(op.p, orig.p, orig.l));

	/* crossing twice gives the original back */
	assert_int_equal(callid_cross(m2, sizeof(m2), &back, key, &orig), 0);
	assert_string_equal(m2, m1);
	assert_int_equal(callid_cross(o, sizeof(o), &back, key, &mp), 0);
	assert_true(back.l == orig.l && !memcmp(back.p, orig.p, orig.l));
}

static void test_forged(void **state)
{
	char m[CALLID_MASK_MAX], o[CALLID_ORIG_MAX + 1];
	struct pl orig = PL("x@192.0.2.1"), mp, op;
	const uint8_t other[32] = {9};

	(void)state;
	assert_int_equal(callid_mask(m, sizeof(m), key, &orig), 0);
	pl_set_str(&mp, m);
	assert_false(callid_unmask(o, sizeof(o), &op, other, &mp));
	m[10] = m[10] == 'a' ? 'b' : 'a';           /* one nibble changed */
	assert_false(callid_unmask(o, sizeof(o), &op, key, &mp));
	pl_set_str(&mp, "sbc0011");
	assert_false(callid_unmask(o, sizeof(o), &op, key, &mp));
	pl_set_str(&mp, "sbcZZZZZZZZZZZZZZZZZZZZ");
	assert_false(callid_unmask(o, sizeof(o), &op, key, &mp));
}

static void test_long(void **state)
{
	char big[CALLID_ORIG_MAX + 2], buf[CALLID_MASK_MAX];
	struct pl in, out;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pl_set_str(&in, big);
	assert_int_equal(callid_cross(buf, sizeof(buf), &out, key, &in), 0);
	assert_true(out.p == in.p && out.l == in.l);   /* unchanged */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_forged),
		cmocka_unit_test(test_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
