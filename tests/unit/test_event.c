/*
 * test_event.c: security events are valid JSON whatever a message holds:
 * quotes, backslashes and control characters in header values escaped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "sbc.h"

static void json_is(const char *in, size_t len, const char *want)
{
	struct pl pl = {in, len};
	char *out = NULL;

	assert_int_equal(re_sdprintf(&out, "%H", event_json_str, &pl), 0);
	assert_string_equal(out, want);
	mem_deref(out);
}

static void test_json_str(void **state)
{
	char *out = NULL;
	(void)state;

	json_is("sip:a@b", 7, "\"sip:a@b\"");
	json_is("\"Evil\" <sip:x@y>", 16, "\"\\\"Evil\\\" <sip:x@y>\"");
	json_is("a\\b", 3, "\"a\\\\b\"");
	json_is("a\r\nb\t\x01\x7f", 7, "\"a\\u000d\\u000ab\\u0009\\u0001\\u007f\"");
	json_is("a\0b", 3, "\"a\\u0000b\"");
	json_is("\xc3\xa9", 2, "\"\xc3\xa9\"");    /* UTF-8 passes */
	json_is("", 0, "\"\"");
	/* an absent header prints as an empty string */
	assert_int_equal(re_sdprintf(&out, "%H", event_json_str, NULL), 0);
	assert_string_equal(out, "\"\"");
	mem_deref(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
