/*
 * test_reply.c: where responses go (reply_addr, sbc/sip/reply.c): on the
 * access side back to the UDP source address and port with
 * symmetric_responses (even without rport, whatever a maddr says), else
 * RFC 3261 18.2.2 with RFC 3581's rport; the core side always the RFCs;
 * and when the Vias get rport as if asked: where the RFCs would send the
 * answers elsewhere.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <re.h>
#include <cmocka.h>
#include "unit_util.h"

/* A request with top Via "via" from src:port over tp, arriving on side:
 * its reply address must be want:wport. */
static void addr_is(struct ufx *fx, enum side_id side, enum sip_transp tp,
		    const char *via, const char *src, uint16_t port,
		    const char *want, uint16_t wport)
{
	struct sa dst, exp;
	char *head = NULL;

	assert_int_equal(re_sdprintf(&head,
		"INVITE sip:bob@example.com SIP/2.0\n"
		"Via: %s\n"
		"From: <sip:alice@example.com>;tag=f1\n"
		"To: <sip:bob@example.com>\n"
		"Call-ID: r1@example.com\n"
		"CSeq: 1 INVITE\n"
		"Content-Length: 0\n", via), 0);
	fx->msg = mem_deref(fx->msg);
	fx->msg = umsg_decode(head, NULL);
	mem_deref(head);
	assert_non_null(fx->msg);
	assert_int_equal(sa_set_str(&fx->msg->src, src, port), 0);
	fx->msg->tp = tp;

	reply_addr(&dst, &fx->sbc.side[side], fx->msg);
	assert_int_equal(sa_set_str(&exp, want, wport), 0);
	if (!sa_cmp(&dst, &exp, SA_ALL)) {
		char got[64];

		(void)re_snprintf(got, sizeof(got), "%J", &dst);
		print_error("%s side, Via %s from %s:%u: got %s, wanted "
			    "%s:%u\n", fx->sbc.side[side].name, via, src, port,
			    got, want, wport);
		fail();
	}
}

#define NAT   "SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK-1"

static void test_access_symmetric(void **state)
{
	struct ufx *fx = *state;

	assert_true(fx->sbc.conf->symmetric_responses);   /* the default */

	/* no rport: still the source port (the NAT's mapping); the Vias
	 * get rport as if asked */
	addr_is(fx, SIDE_ACCESS, SIP_TRANSP_UDP, NAT, "192.0.2.7", 40312,
		"192.0.2.7", 40312);
	assert_true(reply_rport_forced(&fx->sbc.side[SIDE_ACCESS], fx->msg));
	/* ... not where the RFC says the same */
	addr_is(fx, SIDE_ACCESS, SIP_TRANSP_UDP, NAT, "192.0.2.7", 5062,
		"192.0.2.7", 5062);
	assert_false(reply_rport_forced(&fx->sbc.side[SIDE_ACCESS], fx->msg));
	addr_is(fx, SIDE_ACCESS, SIP_TRANSP_UDP, NAT ";rport", "192.0.2.7",
		40312, "192.0.2.7", 40312);
	assert_false(reply_rport_forced(&fx->sbc.side[SIDE_ACCESS], fx->msg));
	/* a customer's maddr sends nothing elsewhere */
	addr_is(fx, SIDE_ACCESS, SIP_TRANSP_UDP, NAT ";maddr=198.51.100.9",
		"192.0.2.7", 5062, "192.0.2.7", 5062);
	assert_true(reply_rport_forced(&fx->sbc.side[SIDE_ACCESS], fx->msg));

	/* TCP: the answer goes on the connection; its address is the
	 * RFC's, for a connection that is gone */
	addr_is(fx, SIDE_ACCESS, SIP_TRANSP_TCP,
		"SIP/2.0/TCP 10.0.0.1:5062;branch=z9hG4bK-1", "192.0.2.7",
		40312, "192.0.2.7", 5062);
	assert_false(reply_rport_forced(&fx->sbc.side[SIDE_ACCESS], fx->msg));
}

static void test_access_rfc(void **state)
{
	struct ufx *fx = *state;

	fx->sbc.conf->symmetric_responses = false;

	/* RFC 3261 18.2.2: received address, sent-by port */
	addr_is(fx, SIDE_ACCESS, SIP_TRANSP_UDP, NAT, "192.0.2.7", 40312,
		"192.0.2.7", 5062);
	addr_is(fx, SIDE_ACCESS, SIP_TRANSP_UDP,
		"SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-1", "192.0.2.7", 40312,
		"192.0.2.7", 5060);
	/* RFC 3581: rport asked, source port */
	addr_is(fx, SIDE_ACCESS, SIP_TRANSP_UDP, NAT ";rport", "192.0.2.7",
		40312, "192.0.2.7", 40312);
	assert_false(reply_rport_forced(&fx->sbc.side[SIDE_ACCESS], fx->msg));
}

static void test_core(void **state)
{
	struct ufx *fx = *state;

	/* symmetric_responses is the access side's only */
	addr_is(fx, SIDE_CORE, SIP_TRANSP_UDP, NAT, "127.0.0.3", 40312,
		"127.0.0.3", 5062);
	addr_is(fx, SIDE_CORE, SIP_TRANSP_UDP, NAT ";rport", "127.0.0.3",
		40312, "127.0.0.3", 40312);
	assert_false(reply_rport_forced(&fx->sbc.side[SIDE_CORE], fx->msg));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, ufx_setup, ufx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_access_symmetric),
		T(test_access_rfc),
		T(test_core),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
