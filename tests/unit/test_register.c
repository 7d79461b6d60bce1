/*
 * test_register.c: the registration time bounds of REGISTERs going to the
 * registrar (reg_expires_print, sbc/dialog/register.c): Expires and each
 * Contact's expires within min..max, 0 kept, anything else untouched.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "sbc.h"

enum { MIN = 60, MAX = 3600 };

static void expect(enum sip_hdrid id, const char *name, const char *val,
		   const char *want)
{
	struct sip_hdr hdr;
	struct mbuf *mb = mbuf_alloc(256);
	char *out = NULL;

	assert_non_null(mb);
	memset(&hdr, 0, sizeof(hdr));
	hdr.id = id;
	pl_set_str(&hdr.name, name);
	pl_set_str(&hdr.val, val);
	assert_int_equal(reg_expires_print(mb, &hdr, MIN, MAX), 0);
	mb->pos = 0;
	assert_int_equal(mbuf_strdup(mb, &out, mb->end), 0);
	assert_string_equal(out, want);
	mem_deref(out);
	mem_deref(mb);
}

static void test_expires_header(void **state)
{
	(void)state;
	expect(SIP_HDR_EXPIRES, "Expires", "7200", "Expires: 3600\r\n");
	expect(SIP_HDR_EXPIRES, "Expires", "3601", "Expires: 3600\r\n");
	expect(SIP_HDR_EXPIRES, "Expires", "3600", "Expires: 3600\r\n");
	expect(SIP_HDR_EXPIRES, "Expires", "300", "Expires: 300\r\n");
	expect(SIP_HDR_EXPIRES, "Expires", "60", "Expires: 60\r\n");
	expect(SIP_HDR_EXPIRES, "Expires", "10", "Expires: 60\r\n");
	expect(SIP_HDR_EXPIRES, "Expires", "1", "Expires: 60\r\n");
	expect(SIP_HDR_EXPIRES, "Expires", "0", "Expires: 0\r\n");
	/* pl_u64 would wrap: far above any max */
	expect(SIP_HDR_EXPIRES, "Expires", "18446744073709551617",
	       "Expires: 3600\r\n");
	expect(SIP_HDR_EXPIRES, "Expires", "99999999999999999999999",
	       "Expires: 3600\r\n");
	/* not a number: the registrar judges it */
	expect(SIP_HDR_EXPIRES, "Expires", "soon", "Expires: soon\r\n");
	expect(SIP_HDR_EXPIRES, "Expires", "-5", "Expires: -5\r\n");
	expect(SIP_HDR_EXPIRES, "Expires", "", "Expires: \r\n");
	expect(SIP_HDR_EXPIRES, "Expires", "7200 ", "Expires: 3600 \r\n");
}

static void test_contact(void **state)
{
	(void)state;
	expect(SIP_HDR_CONTACT, "Contact", "<sip:a@192.0.2.1:5060>;expires=7200",
	       "Contact: <sip:a@192.0.2.1:5060>;expires=3600\r\n");
	expect(SIP_HDR_CONTACT, "m", "<sip:a@h>;q=0.5;expires=5;+sip.instance=x",
	       "m: <sip:a@h>;q=0.5;expires=60;+sip.instance=x\r\n");
	expect(SIP_HDR_CONTACT, "Contact", "<sip:a@h>;expires=0",
	       "Contact: <sip:a@h>;expires=0\r\n");
	expect(SIP_HDR_CONTACT, "Contact", "<sip:a@h>", "Contact: <sip:a@h>\r\n");
	expect(SIP_HDR_CONTACT, "Contact", "*", "Contact: *\r\n");
	/* several contacts; commas inside quotes and brackets are no
	 * separators; a URI parameter named expires is no contact's */
	expect(SIP_HDR_CONTACT, "Contact",
	       "<sip:a@h>;expires=7200, \"B, \\\"x\\\" <y>\" "
	       "<sip:b@h;expires=9,z>;expires=5,sip:c@h;expires=100000",
	       "Contact: <sip:a@h>;expires=3600, \"B, \\\"x\\\" <y>\" "
	       "<sip:b@h;expires=9,z>;expires=60,sip:c@h;expires=3600\r\n");
	expect(SIP_HDR_CONTACT, "Contact", "<sip:a@h>;expires=abc",
	       "Contact: <sip:a@h>;expires=abc\r\n");
}

static void test_other(void **state)
{
	(void)state;
	expect(SIP_HDR_TO, "To", "<sip:a@h>;expires=7200",
	       "To: <sip:a@h>;expires=7200\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expires_header),
		cmocka_unit_test(test_contact),
		cmocka_unit_test(test_other),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
