/*
 * test_route.c: unit tests for sbc/sip/route.c and sbc/screen/classify.c on
 * a struct sbc without sockets: route_is_self (address and port, default
 * ports for TLS and sips, names never us), route_is_emergency, and the
 * decisions of route_request after validate and classify (OPTIONS to us,
 * Max-Forwards 0, loops, CANCEL, initial requests from either side,
 * emergency calls, REGISTER, in-dialog requests along our Record-Route,
 * redirect mode's verdicts for initial INVITEs only).
 * Also sipmsg_via_add_received, the top-Via rewrite of sbc/sip/sipmsg.c.
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


#define VIA    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-r1;rport\n"
#define FROM   "From: <sip:alice@example.com>;tag=f1\n"
#define TO     "To: <sip:bob@example.com>\n"
#define TO_TAG "To: <sip:bob@example.com>;tag=t1\n"
#define CALLID "Call-ID: r1@192.0.2.10\n"
#define MAXFWD "Max-Forwards: 70\n"
#define CLEN0  "Content-Length: 0\n"

/* A valid request; "extra" headers go after the mandatory ones. */
#define REQX(met, ruri, to, mf, extra) \
	met " " ruri " SIP/2.0\n" VIA FROM to CALLID "CSeq: 1 " met "\n" \
	mf extra CLEN0
#define REQ(met, ruri, to, extra) REQX(met, ruri, to, MAXFWD, extra)




/* The request pipeline up to routing, for a request arriving on side. */
static void route(struct ufx *fx, enum side_id side, const char *head)
{
	fx->msg = mem_deref(fx->msg);
	fx->msg = umsg_decode(head, NULL);
	assert_non_null(fx->msg);
	assert_int_equal(sa_set_str(&fx->msg->src, side == SIDE_ACCESS
				    ? "192.0.2.10" : "127.0.0.3", 5060), 0);

	memset(&fx->ctx, 0, sizeof(fx->ctx));
	fx->ctx.sbc = &fx->sbc;
	fx->ctx.in  = &fx->sbc.side[side];
	fx->ctx.msg = fx->msg;

	assert_int_equal(validate_request(&fx->ctx), 0);
	classify_source(&fx->ctx);
	assert_int_equal(route_request(&fx->ctx), 0);

	/* the Request-URI is always passed on as it came */
	assert_ptr_equal(fx->ctx.ruri.p, fx->msg->ruri.p);
	assert_int_equal(fx->ctx.ruri.l, fx->msg->ruri.l);
}


static void is_reply(const struct ufx *fx, uint16_t scode, const char *reason)
{
	assert_int_equal(fx->ctx.action, ROUTE_REPLY);
	assert_int_equal(fx->ctx.scode, scode);
	assert_non_null(fx->ctx.reason);
	assert_string_equal(fx->ctx.reason, reason);
}


/* Forwarded to the side "out", next hop host:port. */
static void is_forward(const struct ufx *fx, enum side_id out,
		       const char *host, uint16_t port)
{
	assert_int_equal(fx->ctx.action, ROUTE_FORWARD);
	assert_int_equal(fx->ctx.scode, 0);
	assert_ptr_equal(fx->ctx.out, &fx->sbc.side[out]);
	if (!upl_eq(&fx->ctx.nexthop.host, host)) {
		print_error("next hop '%.*s', wanted '%s'\n",
			    (int)fx->ctx.nexthop.host.l,
			    fx->ctx.nexthop.host.p ? fx->ctx.nexthop.host.p
						   : "", host);
		fail();
	}
	assert_int_equal(fx->ctx.nexthop.port, port);
}


static bool is_self(const struct ufx *fx, const char *str)
{
	struct uri uri;

	assert_int_equal(uuri(&uri, str), 0);

	return route_is_self(&fx->sbc, &uri);
}


static void test_is_self(void **state)
{
	static const struct {
		const char *uri;
		bool self;
	} v[] = {
		{"sip:127.0.0.1",                     true},
		{"sip:127.0.0.1:5060",                true},
		{"sip:127.0.0.1:5061",                true},
		{"sip:bob@127.0.0.1:5060;lr",         true},
		{"sip:127.0.0.2;transport=tcp;lr",    true},
		{"sips:127.0.0.2",                    true},
		{"sip:127.0.0.1:5062",                false},
		{"sip:127.0.0.3:5061;transport=tls",  false},
		{"sip:10.0.0.1",                      false},
		{"sip:localhost",                     false},
		{"sip:localhost:5060;lr",             false},
		{"sip:sbc.example.net;lr",            false},
		{"sip:[::1]:5060",                    false},
	};
	struct ufx *fx = *state;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		if (is_self(fx, v[i].uri) != v[i].self) {
			print_error("%s: wanted %s\n", v[i].uri,
				    v[i].self ? "self" : "not self");
			fail();
		}
	}
}


static void test_is_self_default_ports(void **state)
{
	struct ufx *fx = *state;

	/* access: 5070, no TLS; core: 5080, TLS 5061 */
	fx->sbc.side[SIDE_ACCESS].port     = 5070;
	fx->sbc.side[SIDE_ACCESS].tls_port = 0;
	fx->sbc.side[SIDE_CORE].port       = 5080;

	assert_false(is_self(fx, "sip:127.0.0.1"));
	assert_true(is_self(fx, "sip:127.0.0.1:5070"));
	assert_false(is_self(fx, "sip:127.0.0.1;transport=tls"));
	assert_false(is_self(fx, "sips:127.0.0.1"));
	assert_false(is_self(fx, "sip:127.0.0.1:5061"));

	assert_false(is_self(fx, "sip:127.0.0.2"));
	assert_false(is_self(fx, "sip:127.0.0.2;transport=tcp"));
	assert_true(is_self(fx, "sip:127.0.0.2:5080"));
	assert_true(is_self(fx, "sip:127.0.0.2;transport=tls"));
	assert_true(is_self(fx, "sip:127.0.0.2;lr;transport=TLS"));
	assert_true(is_self(fx, "sips:127.0.0.2"));
	assert_true(is_self(fx, "sips:127.0.0.2:5080"));

	/* IPv6 */
	assert_int_equal(sa_set_str(&fx->sbc.side[SIDE_ACCESS].laddr, "::1",
				    0), 0);
	usbc_side_addr(&fx->sbc.side[SIDE_ACCESS]);
	assert_true(is_self(fx, "sip:[::1]:5070;lr"));
	assert_false(is_self(fx, "sip:[::1]"));
	assert_false(is_self(fx, "sip:127.0.0.1:5070"));
}


static bool is_emergency(const struct ufx *fx, const char *user)
{
	struct pl pl;

	pl_set_str(&pl, user);

	return route_is_emergency(fx->sbc.conf, &pl);
}


static void test_is_emergency(void **state)
{
	struct ufx *fx = *state;
	struct pl none = PL_INIT;

	/* defaults: 911,933,112,999 */
	assert_true(is_emergency(fx, "911"));
	assert_true(is_emergency(fx, "933"));
	assert_true(is_emergency(fx, "112"));
	assert_true(is_emergency(fx, "999"));
	assert_true(is_emergency(fx, "911;phone-context=+1"));
	assert_true(is_emergency(fx, "112;phone-context=example.com"));

	assert_false(is_emergency(fx, "9110"));
	assert_false(is_emergency(fx, "0911"));
	assert_false(is_emergency(fx, "91"));
	assert_false(is_emergency(fx, "1"));
	assert_false(is_emergency(fx, "+911"));
	assert_false(is_emergency(fx, "9111;phone-context=+1"));
	assert_false(is_emergency(fx, "alice"));
	assert_false(is_emergency(fx, ";phone-context=+1"));
	assert_false(is_emergency(fx, ""));
	assert_false(route_is_emergency(fx->sbc.conf, &none));

	/* spaces in the list */
	assert_int_equal(usbc_set_emergency_numbers(&fx->sbc,
						    " 911 , 112,  +4433 ,"),
			 0);
	assert_true(is_emergency(fx, "911"));
	assert_true(is_emergency(fx, "112"));
	assert_true(is_emergency(fx, "+4433"));
	assert_false(is_emergency(fx, "999"));
	assert_false(is_emergency(fx, "4433"));
	assert_false(is_emergency(fx, " 911"));

	/* an empty list */
	assert_int_equal(usbc_set_emergency_numbers(&fx->sbc, ""), 0);
	assert_false(is_emergency(fx, "911"));
}


static void test_options_self(void **state)
{
	struct ufx *fx = *state;

	route(fx, SIDE_ACCESS, REQ("OPTIONS", "sip:127.0.0.1", TO, ""));
	is_reply(fx, 200, "OK");

	route(fx, SIDE_CORE, REQ("OPTIONS", "sip:127.0.0.2:5061;transport=tls",
				 TO, ""));
	is_reply(fx, 200, "OK");

	/* even with no hops left (RFC 3261 16.3 item 2) */
	route(fx, SIDE_ACCESS, REQX("OPTIONS", "sip:127.0.0.1", TO,
				    "Max-Forwards: 0\n", ""));
	is_reply(fx, 200, "OK");

	/* with a Route of ours */
	route(fx, SIDE_ACCESS, REQ("OPTIONS", "sip:127.0.0.1", TO,
				   "Route: <sip:127.0.0.1;lr>\n"));
	is_reply(fx, 200, "OK");

	/* to a user at our address, or elsewhere: screened upstream */
	route(fx, SIDE_ACCESS, REQ("OPTIONS", "sip:bob@127.0.0.1", TO, ""));
	is_forward(fx, SIDE_CORE, "127.0.0.3", 5061);

	route(fx, SIDE_ACCESS, REQ("OPTIONS", "sip:127.0.0.1:5099", TO, ""));
	is_forward(fx, SIDE_CORE, "127.0.0.3", 5061);

	/* another method to us is not answered as OPTIONS */
	route(fx, SIDE_ACCESS, REQ("INFO", "sip:127.0.0.1", TO, ""));
	is_forward(fx, SIDE_CORE, "127.0.0.3", 5061);
}


static void test_max_forwards_zero(void **state)
{
	struct ufx *fx = *state;

	route(fx, SIDE_ACCESS, REQX("INVITE", "sip:bob@example.com", TO,
				    "Max-Forwards: 0\n", ""));
	is_reply(fx, 483, "Too Many Hops");

	route(fx, SIDE_CORE, REQX("BYE", "sip:alice@192.0.2.10", TO_TAG,
				  "Max-Forwards: 0\n",
				  "Route: <sip:127.0.0.2;lr>\n"));
	is_reply(fx, 483, "Too Many Hops");

	/* ACK is never answered: dropped */
	route(fx, SIDE_ACCESS, REQX("ACK", "sip:bob@example.com", TO_TAG,
				    "Max-Forwards: 0\n",
				    "Route: <sip:127.0.0.1;lr>\n"));
	assert_int_equal(fx->ctx.action, ROUTE_REPLY);
	assert_int_equal(fx->ctx.scode, 0);

	/* one hop left is enough; no Max-Forwards at all too */
	route(fx, SIDE_ACCESS, REQX("INVITE", "sip:bob@example.com", TO,
				    "Max-Forwards: 1\n", ""));
	is_forward(fx, SIDE_CORE, "127.0.0.3", 5061);

	route(fx, SIDE_ACCESS, REQX("INVITE", "sip:bob@example.com", TO,
				    "", ""));
	is_forward(fx, SIDE_CORE, "127.0.0.3", 5061);
}


static void test_loop(void **state)
{
	struct ufx *fx = *state;

	route(fx, SIDE_CORE, REQ("INVITE", "sip:bob@example.com", TO,
		"Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-ours\n"));
	is_reply(fx, 482, "Loop Detected");

	/* no port in sent-by: 5061 for TLS */
	route(fx, SIDE_CORE, REQ("INVITE", "sip:bob@example.com", TO,
		"Via: SIP/2.0/TLS 127.0.0.1;branch=z9hG4bK-ours\n"));
	is_reply(fx, 482, "Loop Detected");

	/* comma-separated, further down */
	route(fx, SIDE_CORE, REQ("INVITE", "sip:bob@example.com", TO,
		"Via: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bK-a, "
		"SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-ours\n"));
	is_reply(fx, 482, "Loop Detected");

	/* ACK: dropped */
	route(fx, SIDE_CORE, REQ("ACK", "sip:bob@example.com", TO,
		"Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-ours\n"));
	assert_int_equal(fx->ctx.action, ROUTE_REPLY);
	assert_int_equal(fx->ctx.scode, 0);

	/* our address with another port, a name, another address: not us */
	route(fx, SIDE_ACCESS, REQ("INVITE", "sip:bob@example.com", TO,
		"Via: SIP/2.0/UDP 127.0.0.2:5099;branch=z9hG4bK-b\n"
		"Via: SIP/2.0/UDP sbc.example.net;branch=z9hG4bK-c\n"
		"Via: SIP/2.0/TLS 127.0.0.1:5062;branch=z9hG4bK-d\n"
		"Via: SIP/2.0/UDP 127.0.0.3;branch=z9hG4bK-e\n"));
	is_forward(fx, SIDE_CORE, "127.0.0.3", 5061);

	/* no port in sent-by: 5060 for UDP and TCP */
	route(fx, SIDE_ACCESS, REQ("INVITE", "sip:bob@example.com", TO,
		"Via: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK-f\n"));
	is_reply(fx, 482, "Loop Detected");

	/* a port given: the port decides, not the transport */
	route(fx, SIDE_ACCESS, REQ("INVITE", "sip:bob@example.com", TO,
		"Via: SIP/2.0/TLS 127.0.0.1:5060;branch=z9hG4bK-g\n"));
	is_reply(fx, 482, "Loop Detected");

	/* loop_detect = no */
	fx->sbc.conf->loop_detect = false;
	route(fx, SIDE_CORE, REQ("INVITE", "sip:bob@example.com", TO,
		"Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-ours\n"
		"Route: <sip:192.0.2.10:5060;lr>\n"));
	is_forward(fx, SIDE_ACCESS, "192.0.2.10", 5060);
}


static void test_cancel(void **state)
{
	struct ufx *fx = *state;

	/* libre absorbed every CANCEL it had a transaction for */
	route(fx, SIDE_ACCESS, REQ("CANCEL", "sip:bob@example.com", TO, ""));
	is_reply(fx, 481, "Call/Transaction Does Not Exist");
	assert_false(fx->ctx.emergency);

	route(fx, SIDE_CORE, REQ("CANCEL", "sip:bob@192.0.2.10", TO,
				 "Route: <sip:192.0.2.10;lr>\n"));
	is_reply(fx, 481, "Call/Transaction Does Not Exist");
}


static void test_initial_from_access(void **state)
{
	struct ufx *fx = *state;

	route(fx, SIDE_ACCESS, REQ("INVITE", "sip:bob@example.com", TO, ""));
	is_forward(fx, SIDE_CORE, "127.0.0.3", 5061);
	assert_true(upl_eq(&fx->ctx.nexthop.scheme, "sip"));
	assert_true(upl_eq(&fx->ctx.nexthop.params, ";transport=tls"));
	assert_true(upl_eq(&fx->ctx.ruri, "sip:bob@example.com"));
	assert_true(fx->ctx.record_route);
	assert_true(fx->ctx.strip_routes);
	assert_int_equal(fx->ctx.timeout_ms, 800);
	assert_false(fx->ctx.emergency);
	assert_null(fx->ctx.skip_route[0]);

	fx->sbc.conf->upstream_timeout = 1500;
	route(fx, SIDE_ACCESS, REQ("INVITE", "sip:bob@example.com", TO, ""));
	assert_int_equal(fx->ctx.timeout_ms, 1500);

	/* a preloaded Route does not bypass the upstream */
	route(fx, SIDE_ACCESS, REQ("INVITE", "sip:bob@example.com", TO,
				   "Route: <sip:198.51.100.7;lr>\n"));
	is_forward(fx, SIDE_CORE, "127.0.0.3", 5061);
	assert_true(fx->ctx.strip_routes);

	route(fx, SIDE_ACCESS, REQ("INVITE", "sip:bob@example.com", TO,
				   "Route: <sip:127.0.0.1;lr>\n"
				   "Route: <sip:198.51.100.7;lr>\n"));
	is_forward(fx, SIDE_CORE, "127.0.0.3", 5061);
	assert_true(fx->ctx.strip_routes);

	/* Record-Route only on dialog-forming requests */
	route(fx, SIDE_ACCESS, REQ("SUBSCRIBE", "sip:bob@example.com", TO,
				   "Event: presence\n"));
	is_forward(fx, SIDE_CORE, "127.0.0.3", 5061);
	assert_true(fx->ctx.record_route);

	route(fx, SIDE_ACCESS, REQ("MESSAGE", "sip:bob@example.com", TO, ""));
	is_forward(fx, SIDE_CORE, "127.0.0.3", 5061);
	assert_false(fx->ctx.record_route);
	assert_true(fx->ctx.strip_routes);
}


/* Redirect mode: initial INVITEs from the access side go to the switch,
 * after a verdict; nothing else changes. */
static void test_redirect_mode(void **state)
{
	static const char sw[] = "sip:10.2.2.2:5080;transport=tcp";
	struct ufx *fx = *state;
	struct pl pl;

	fx->sbc.conf->screening_mode = SCREENING_REDIRECT;
	pl_set_str(&pl, sw);
	assert_int_equal(uri_decode(&fx->sbc.hop.switch_uri, &pl), 0);

	route(fx, SIDE_ACCESS, REQ("INVITE", "sip:bob@example.com", TO,
				   "Route: <sip:198.51.100.7;lr>\n"));
	is_forward(fx, SIDE_CORE, "10.2.2.2", 5080);
	assert_true(upl_eq(&fx->ctx.nexthop.params, ";transport=tcp"));
	assert_true(fx->ctx.verdict);
	assert_true(fx->ctx.record_route);
	assert_true(fx->ctx.strip_routes);
	assert_int_equal(fx->ctx.timeout_ms, 800);

	/* other out-of-dialog requests: to the upstream, relayed */
	route(fx, SIDE_ACCESS, REQ("MESSAGE", "sip:bob@example.com", TO, ""));
	is_forward(fx, SIDE_CORE, "127.0.0.3", 5061);
	assert_false(fx->ctx.verdict);

	/* emergency calls are never screened */
	assert_int_equal(usbc_set_emergency_route(&fx->sbc,
			 "sip:10.1.1.1:5070;transport=udp"), 0);
	route(fx, SIDE_ACCESS, REQ("INVITE", "sip:911@example.com", TO, ""));
	is_forward(fx, SIDE_CORE, "10.1.1.1", 5070);
	assert_false(fx->ctx.verdict);

	/* in dialog (re-INVITE): along the route set */
	route(fx, SIDE_ACCESS, REQ("INVITE", "sip:bob@example.com", TO_TAG,
				   "Route: <sip:127.0.0.1;lr>\n"));
	is_forward(fx, SIDE_CORE, "example.com", 0);
	assert_false(fx->ctx.verdict);

	/* from the core side: no verdict either */
	route(fx, SIDE_CORE, REQ("INVITE", "sip:bob@192.0.2.10", TO,
				 "Route: <sip:192.0.2.10;lr>\n"));
	assert_false(fx->ctx.verdict);

	fx->sbc.conf->screening_mode = SCREENING_RELAY;
	route(fx, SIDE_ACCESS, REQ("INVITE", "sip:bob@example.com", TO, ""));
	is_forward(fx, SIDE_CORE, "127.0.0.3", 5061);
	assert_false(fx->ctx.verdict);
}


static void test_emergency(void **state)
{
	struct ufx *fx = *state;

	/* no emergency_route: 503 so the PBX route-advances */
	route(fx, SIDE_ACCESS, REQ("INVITE", "sip:911@example.com", TO, ""));
	assert_true(fx->ctx.emergency);
	is_reply(fx, 503, "No Emergency Route");
	assert_int_equal(fx->sbc.stats.emergency, 1);

	assert_int_equal(usbc_set_emergency_route(&fx->sbc,
			 "sip:10.1.1.1:5070;transport=udp"), 0);

	route(fx, SIDE_ACCESS, REQ("INVITE", "sip:911@example.com", TO, ""));
	assert_true(fx->ctx.emergency);
	is_forward(fx, SIDE_CORE, "10.1.1.1", 5070);
	assert_true(upl_eq(&fx->ctx.nexthop.params, ";transport=udp"));
	assert_true(fx->ctx.record_route);
	assert_true(fx->ctx.strip_routes);
	assert_int_equal(fx->ctx.timeout_ms, 0);    /* not the upstream's */
	assert_int_equal(fx->sbc.stats.emergency, 2);

	route(fx, SIDE_ACCESS, REQ("INVITE",
		"sip:112;phone-context=+44@example.com;user=phone", TO,
		"Route: <sip:198.51.100.7;lr>\n"));
	assert_true(fx->ctx.emergency);
	is_forward(fx, SIDE_CORE, "10.1.1.1", 5070);
	assert_true(fx->ctx.strip_routes);

	/* not emergency numbers */
	route(fx, SIDE_ACCESS, REQ("INVITE", "sip:9110@example.com", TO, ""));
	assert_false(fx->ctx.emergency);
	is_forward(fx, SIDE_CORE, "127.0.0.3", 5061);

	/* only initial requests from the access side */
	route(fx, SIDE_CORE, REQ("INVITE", "sip:911@example.com", TO, ""));
	assert_false(fx->ctx.emergency);
	is_reply(fx, 404, "Not Found");

	route(fx, SIDE_ACCESS, REQ("BYE", "sip:911@example.com", TO_TAG,
				   "Route: <sip:127.0.0.1;lr>\n"));
	assert_false(fx->ctx.emergency);
	is_forward(fx, SIDE_CORE, "example.com", 0);

	route(fx, SIDE_ACCESS, REQ("ACK", "sip:911@example.com", TO, ""));
	assert_false(fx->ctx.emergency);

	assert_int_equal(fx->sbc.stats.emergency, 3);
}


/* Regression (fixed; sbc/screen/classify.c): libre decodes tel:911 with the
 * number in uri.host (uri.user is empty), and classify_source only looks at
 * uri.user, so an emergency call with a tel: Request-URI (which
 * validate_request accepts) is not recognised and goes to the screening
 * upstream. */
static void test_regr_tel_emergency(void **state)
{
	struct ufx *fx = *state;

	route(fx, SIDE_ACCESS, "INVITE tel:911 SIP/2.0\n" VIA FROM
	      "To: <tel:911>\n" CALLID "CSeq: 1 INVITE\n" MAXFWD CLEN0);
	assert_true(fx->ctx.emergency);
	is_reply(fx, 503, "No Emergency Route");
}


static void test_register(void **state)
{
	struct ufx *fx = *state;

	route(fx, SIDE_ACCESS, REQ("REGISTER", "sip:example.com", TO,
				   "Contact: <sip:alice@192.0.2.10>\n"));
	is_reply(fx, 403, "No Registrar Configured");
	assert_false(fx->ctx.record_route);

	/* even to an emergency number */
	route(fx, SIDE_ACCESS, REQ("REGISTER", "sip:911@example.com", TO,
				   ""));
	is_reply(fx, 403, "No Registrar Configured");
	assert_false(fx->ctx.emergency);
}


/* The text of a mbuf, as a C string (to be mem_deref'd). */
static char *mb_str(const struct mbuf *mb)
{
	char *s = mem_zalloc(mb->end + 1, NULL);

	assert_non_null(s);
	memcpy(s, mb->buf, mb->end);
	return s;
}


/* With a registrar: REGISTER goes there (core side), preloaded Routes
 * stripped, no Record-Route, and a Path entry with a flow token (and
 * received=, path_received) and Supported: path unless the client
 * listed it already. */
static void test_register_registrar(void **state)
{
	struct ufx *fx = *state;
	struct sbc_conf *conf = fx->sbc.conf;
	struct mbuf *mb = mbuf_alloc(512);
	struct sa src;
	char *out;

	assert_non_null(mb);
	conf->registrar = mem_deref(conf->registrar);
	assert_int_equal(str_dup(&conf->registrar,
				 "sip:192.0.2.60:5080;transport=tcp"), 0);
	assert_int_equal(uuri(&fx->sbc.hop.registrar, conf->registrar), 0);

	route(fx, SIDE_ACCESS, REQ("REGISTER", "sip:example.com", TO,
				   "Route: <sip:192.0.2.99;lr>\n"
				   "Contact: <sip:alice@192.0.2.10>\n"));
	is_forward(fx, SIDE_CORE, "192.0.2.60", 5080);
	assert_true(fx->ctx.to_registrar);
	assert_true(fx->ctx.strip_routes);
	assert_false(fx->ctx.record_route);

	/* our Path entry, at the address towards the registrar */
	assert_int_equal(sa_set_str(&src, "127.0.0.2", 5060), 0);
	assert_int_equal(reg_path_print(mb, &fx->sbc, fx->msg, SIP_TRANSP_TCP,
					&src), 0);
	out = mb_str(mb);
	assert_int_equal(strncmp(out, "Path: <sip:", 11), 0);
	/* ... with the source of the REGISTER as an escaped SIP URI */
	assert_non_null(strstr(out, "@127.0.0.2:5060;transport=tcp;lr;ob"
			       ";received=sip:192.0.2.10:5060%3Btransport"
			       "%3Dudp>\r\nSupported: path\r\n"));
	out = mem_deref(out);

	/* IPv6 over TCP: the brackets and colons need no escaping */
	assert_int_equal(sa_set_str(&fx->msg->src, "2001:db8::5", 40312), 0);
	fx->msg->tp = SIP_TRANSP_TCP;
	mbuf_reset(mb);
	assert_int_equal(reg_path_print(mb, &fx->sbc, fx->msg, SIP_TRANSP_UDP,
					&src), 0);
	out = mb_str(mb);
	assert_non_null(strstr(out, ";transport=udp;lr;ob;received=sip:"
			       "[2001:db8::5]:40312%3Btransport%3Dtcp>\r\n"));
	out = mem_deref(out);

	/* Supported: path already there (among others): not added again;
	 * path_received = no: no received */
	conf->path_received = false;
	route(fx, SIDE_ACCESS, REQ("REGISTER", "sip:example.com", TO,
				   "Supported: timer, path\n"));
	mbuf_reset(mb);
	assert_int_equal(reg_path_print(mb, &fx->sbc, fx->msg, SIP_TRANSP_UDP,
					&src), 0);
	out = mb_str(mb);
	assert_non_null(strstr(out, ";transport=udp;lr;ob>\r\n"));
	assert_null(strstr(out, "Supported"));
	assert_null(strstr(out, "received"));
	mem_deref(out);
	mem_deref(mb);
}


static void test_initial_from_core(void **state)
{
	struct ufx *fx = *state;

	route(fx, SIDE_CORE, REQ("INVITE", "sip:alice@192.0.2.10", TO, ""));
	is_reply(fx, 404, "Not Found");
	assert_false(fx->ctx.record_route);

	/* only our own Route */
	route(fx, SIDE_CORE, REQ("INVITE", "sip:alice@192.0.2.10", TO,
				 "Route: <sip:127.0.0.2;lr>\n"));
	is_reply(fx, 404, "Not Found");

	/* along the Route set, ours popped */
	route(fx, SIDE_CORE, REQ("INVITE", "sip:alice@example.com", TO,
				 "Route: <sip:127.0.0.2;lr>\n"
				 "Route: <sip:192.0.2.50:5080;lr>\n"));
	is_forward(fx, SIDE_ACCESS, "192.0.2.50", 5080);
	assert_non_null(fx->ctx.skip_route[0]);
	assert_true(upl_eq(&fx->ctx.skip_route[0]->val,
			   "<sip:127.0.0.2;lr>"));
	assert_null(fx->ctx.skip_route[1]);
	assert_true(fx->ctx.record_route);
	assert_false(fx->ctx.strip_routes);
	assert_int_equal(fx->ctx.timeout_ms, 0);
	assert_true(upl_eq(&fx->ctx.ruri, "sip:alice@example.com"));

	route(fx, SIDE_CORE, REQ("MESSAGE", "sip:alice@example.com", TO,
				 "Route: <sip:192.0.2.50:5080;lr>\n"));
	is_forward(fx, SIDE_ACCESS, "192.0.2.50", 5080);
	assert_null(fx->ctx.skip_route[0]);
	assert_false(fx->ctx.record_route);
}


static void test_in_dialog_double_rr(void **state)
{
	struct ufx *fx = *state;

	/* from the core side: our two entries (double Record-Route), one
	 * header, then the PBX's */
	route(fx, SIDE_CORE, REQ("BYE", "sip:alice@192.0.2.10:5062", TO_TAG,
		"Route: <sip:127.0.0.2;lr>, <sip:127.0.0.1;lr>\n"
		"Route: <sip:192.0.2.10:5062;lr>\n"));
	is_forward(fx, SIDE_ACCESS, "192.0.2.10", 5062);
	assert_non_null(fx->ctx.skip_route[0]);
	assert_non_null(fx->ctx.skip_route[1]);
	assert_true(upl_eq(&fx->ctx.skip_route[0]->val,
			   "<sip:127.0.0.2;lr>"));
	assert_true(upl_eq(&fx->ctx.skip_route[1]->val,
			   "<sip:127.0.0.1;lr>"));
	assert_false(fx->ctx.record_route);
	assert_false(fx->ctx.strip_routes);
	assert_int_equal(fx->ctx.timeout_ms, 0);
	assert_true(upl_eq(&fx->ctx.ruri, "sip:alice@192.0.2.10:5062"));

	/* from the access side, over TLS entries, to the upstream */
	route(fx, SIDE_ACCESS, REQ("BYE", "sip:bob@203.0.113.5", TO_TAG,
		"Route: <sip:127.0.0.1:5061;transport=tls;lr>\n"
		"Route: <sip:127.0.0.2:5061;transport=tls;lr>\n"
		"Route: <sip:127.0.0.3:5061;transport=tls;lr>\n"));
	is_forward(fx, SIDE_CORE, "127.0.0.3", 5061);
	assert_true(upl_eq(&fx->ctx.nexthop.params, ";transport=tls;lr"));
	assert_non_null(fx->ctx.skip_route[0]);
	assert_non_null(fx->ctx.skip_route[1]);
	assert_true(upl_eq(&fx->ctx.ruri, "sip:bob@203.0.113.5"));
}


static void test_in_dialog_own_route_only(void **state)
{
	struct ufx *fx = *state;

	/* the remote target is the next hop */
	route(fx, SIDE_ACCESS, REQ("BYE", "sip:bob@203.0.113.5:5070", TO_TAG,
		"Route: <sip:127.0.0.1;lr>, <sip:127.0.0.2;lr>\n"));
	is_forward(fx, SIDE_CORE, "203.0.113.5", 5070);
	assert_non_null(fx->ctx.skip_route[0]);
	assert_non_null(fx->ctx.skip_route[1]);

	route(fx, SIDE_CORE, REQ("INFO", "sip:alice@192.0.2.10", TO_TAG,
		"Route: <sip:127.0.0.2;lr>\n"));
	is_forward(fx, SIDE_ACCESS, "192.0.2.10", 0);
	assert_non_null(fx->ctx.skip_route[0]);
	assert_null(fx->ctx.skip_route[1]);

	/* a re-INVITE is not record-routed again */
	route(fx, SIDE_CORE, REQ("INVITE", "sip:alice@192.0.2.10", TO_TAG,
		"Route: <sip:127.0.0.2;lr>\n"));
	is_forward(fx, SIDE_ACCESS, "192.0.2.10", 0);
	assert_false(fx->ctx.record_route);

	/* ACK for a 2xx goes the same way */
	route(fx, SIDE_ACCESS, REQ("ACK", "sip:bob@203.0.113.5", TO_TAG,
		"Route: <sip:127.0.0.1;lr>\n"));
	is_forward(fx, SIDE_CORE, "203.0.113.5", 0);
}


static void test_in_dialog_not_ours(void **state)
{
	struct ufx *fx = *state;

	route(fx, SIDE_ACCESS, REQ("BYE", "sip:bob@203.0.113.5", TO_TAG, ""));
	is_reply(fx, 481, "Call/Transaction Does Not Exist");

	/* a foreign Route on top: not a route set we recorded */
	route(fx, SIDE_CORE, REQ("BYE", "sip:alice@192.0.2.10", TO_TAG,
		"Route: <sip:192.0.2.10;lr>, <sip:127.0.0.2;lr>\n"));
	is_reply(fx, 481, "Call/Transaction Does Not Exist");
	assert_null(fx->ctx.skip_route[0]);

	/* ACK: dropped */
	route(fx, SIDE_ACCESS, REQ("ACK", "sip:bob@203.0.113.5", TO_TAG, ""));
	assert_int_equal(fx->ctx.action, ROUTE_REPLY);
	assert_int_equal(fx->ctx.scode, 0);

	/* in-dialog OPTIONS to us: answered */
	route(fx, SIDE_ACCESS, REQ("OPTIONS", "sip:bob@127.0.0.1", TO_TAG,
				   ""));
	is_reply(fx, 200, "OK");

	/* an unparsable Route after ours */
	route(fx, SIDE_CORE, REQ("BYE", "sip:alice@192.0.2.10", TO_TAG,
		"Route: <sip:127.0.0.2;lr>\nRoute: @@@\n"));
	is_reply(fx, 400, "Bad Route");
}


/* sipmsg_via_add_received() on the top Via of "via", from src; rport:
 * filled in as if asked (symmetric_responses). */
static void via_rewrite_rport(const char *via, const char *src,
			      uint16_t port, bool rport, const char *want)
{
	struct sip_msg *msg;
	struct mbuf *mb;
	char *head = NULL, *got = NULL;

	assert_int_equal(re_sdprintf(&head,
		"INVITE sip:bob@example.com SIP/2.0\n"
		"Via: %s\n" FROM TO CALLID "CSeq: 1 INVITE\n" CLEN0, via), 0);
	msg = umsg_decode(head, NULL);
	mem_deref(head);
	assert_non_null(msg);
	assert_int_equal(sa_set_str(&msg->src, src, port), 0);

	mb = mbuf_alloc(256);
	assert_non_null(mb);
	assert_int_equal(sipmsg_via_add_received(mb, msg,
				 sip_msg_hdr(msg, SIP_HDR_VIA), rport), 0);

	mb->pos = 0;
	assert_int_equal(mbuf_strdup(mb, &got, mb->end), 0);
	if (strcmp(got, want)) {
		print_error("got    \"%s\"\nwanted \"%s\"\n", got, want);
		fail();
	}

	mem_deref(got);
	mem_deref(mb);
	mem_deref(msg);
}

static void via_rewrite(const char *via, const char *src, uint16_t port,
			const char *want)
{
	via_rewrite_rport(via, src, port, false, want);
}


static void test_via_received(void **state)
{
	(void)state;

	/* rport without value: received and rport filled in */
	via_rewrite("SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK-1;rport",
		    "192.0.2.7", 40000,
		    "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK-1"
		    ";received=192.0.2.7;rport=40000\r\n");

	/* ...also from the same address and port */
	via_rewrite("SIP/2.0/UDP 10.0.0.1:5062;rport;branch=z9hG4bK-1",
		    "10.0.0.1", 5062,
		    "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK-1"
		    ";received=10.0.0.1;rport=5062\r\n");

	/* other parameters keep their order */
	via_rewrite("SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK-1;rport;alias"
		    ";x=y",
		    "192.0.2.7", 1234,
		    "Via: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK-1;alias;x=y"
		    ";received=192.0.2.7;rport=1234\r\n");

	/* an existing received (and rport value) is replaced */
	via_rewrite("SIP/2.0/UDP 10.0.0.1;received=198.51.100.1"
		    ";branch=z9hG4bK-1",
		    "192.0.2.7", 5060,
		    "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-1"
		    ";received=192.0.2.7\r\n");
	via_rewrite("SIP/2.0/UDP 10.0.0.1;rport=9;received=198.51.100.1"
		    ";branch=z9hG4bK-1",
		    "192.0.2.7", 5070,
		    "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-1"
		    ";received=192.0.2.7;rport=5070\r\n");

	/* no rport, another address: received added */
	via_rewrite("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1",
		    "192.0.2.7", 5060,
		    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1"
		    ";received=192.0.2.7\r\n");

	/* a name in sent-by is never the source address */
	via_rewrite("SIP/2.0/TLS pbx.example.com;branch=z9hG4bK-1",
		    "192.0.2.7", 5061,
		    "Via: SIP/2.0/TLS pbx.example.com;branch=z9hG4bK-1"
		    ";received=192.0.2.7\r\n");

	/* no rport, same address (any port): unchanged */
	via_rewrite("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1",
		    "10.0.0.1", 5099,
		    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1\r\n");

	/* rport forced: filled in as if asked, whatever the address */
	via_rewrite_rport("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1",
			  "10.0.0.1", 5099, true,
			  "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1"
			  ";received=10.0.0.1;rport=5099\r\n");
	via_rewrite_rport("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1;rport=7"
			  ";received=198.51.100.1", "192.0.2.7", 40312, true,
			  "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1"
			  ";received=192.0.2.7;rport=40312\r\n");
}


int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, ufx_setup, ufx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_is_self),
		T(test_is_self_default_ports),
		T(test_is_emergency),
		T(test_options_self),
		T(test_max_forwards_zero),
		T(test_loop),
		T(test_cancel),
		T(test_initial_from_access),
		T(test_emergency),
		T(test_redirect_mode),
		T(test_regr_tel_emergency),
		T(test_register),
		T(test_register_registrar),
		T(test_initial_from_core),
		T(test_in_dialog_double_rr),
		T(test_in_dialog_own_route_only),
		T(test_in_dialog_not_ours),
		cmocka_unit_test(test_via_received),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
