/*
 * test_validate.c: unit tests for sbc/sip/validate.c on messages decoded by
 * libre from text: a good request; missing and duplicate From, To,
 * Call-ID, CSeq, Max-Forwards, Content-Length; CSeq method mismatch; bad
 * Via; Max-Forwards and Expires values; Content-Length against the body;
 * the size limits (message, body, one header); Request-URI schemes;
 * the To-tag; what RFC 4475 3.1.2 refuses that libre reads (display
 * names, addr-specs, Via parameters, escaped headers, big scalars,
 * Proxy-Require, a bare magic cookie); and validate_response on good and
 * bad responses.
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


#define RLINE  "INVITE sip:bob@example.com SIP/2.0\n"
#define VIA    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-v1;rport\n"
#define FROM   "From: \"Alice\" <sip:alice@example.com>;tag=f1\n"
#define TO     "To: <sip:bob@example.com>\n"
#define CALLID "Call-ID: c1@192.0.2.10\n"
#define CSEQ   "CSeq: 1 INVITE\n"
#define MAXFWD "Max-Forwards: 70\n"
#define CLEN0  "Content-Length: 0\n"

/* Every header a request needs, except the Request-Line */
#define HDRS   VIA FROM TO CALLID CSEQ MAXFWD CLEN0




/* Decode the request (tp: its transport) and validate it. */
static int validate_tp(struct ufx *fx, enum sip_transp tp, const char *head,
		       const char *body)
{
	fx->msg = mem_deref(fx->msg);
	fx->msg = umsg_decode(head, body);
	assert_non_null(fx->msg);
	fx->msg->tp = tp;

	memset(&fx->ctx, 0, sizeof(fx->ctx));
	fx->ctx.sbc = &fx->sbc;
	fx->ctx.in  = &fx->sbc.side[SIDE_ACCESS];
	fx->ctx.msg = fx->msg;

	return validate_request(&fx->ctx);
}


static int validate(struct ufx *fx, const char *head, const char *body)
{
	return validate_tp(fx, SIP_TRANSP_UDP, head, body);
}


/* The request is refused with scode and exactly this reason. */
static void refused(struct ufx *fx, const char *head, const char *body,
		    uint16_t scode, const char *reason)
{
	assert_int_equal(validate(fx, head, body), EBADMSG);
	assert_int_equal(fx->ctx.scode, scode);
	assert_non_null(fx->ctx.reason);
	assert_string_equal(fx->ctx.reason, reason);
}


static void accepted(struct ufx *fx, const char *head, const char *body)
{
	assert_int_equal(validate(fx, head, body), 0);
	assert_int_equal(fx->ctx.scode, 0);
	assert_null(fx->ctx.reason);
}


/* A string of n copies of c, mem_alloc'd. */
static char *fill(size_t n, char c)
{
	char *s = mem_alloc(n + 1, NULL);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';

	return s;
}


static void test_good_invite(void **state)
{
	struct ufx *fx = *state;

	accepted(fx, RLINE HDRS, NULL);
	assert_int_equal(fx->ctx.maxfwd, 70);
	assert_false(fx->ctx.has_totag);

	/* with a body and its length */
	accepted(fx, RLINE VIA FROM TO CALLID CSEQ MAXFWD
		 "Content-Type: application/sdp\n"
		 "Content-Length: 4\n", "v=0\n");

	/* compact header forms */
	accepted(fx, RLINE
		 "v: SIP/2.0/TCP 192.0.2.10;branch=z9hG4bK-c\n"
		 "f: <sip:alice@example.com>;tag=f1\n"
		 "t: <sip:bob@example.com>\n"
		 "i: compact@192.0.2.10\n"
		 CSEQ
		 "l: 0\n", NULL);
}


static void test_from(void **state)
{
	struct ufx *fx = *state;

	refused(fx, RLINE VIA TO CALLID CSEQ MAXFWD CLEN0, NULL,
		400, "Missing or Duplicate From");
	refused(fx, RLINE VIA FROM FROM TO CALLID CSEQ MAXFWD CLEN0, NULL,
		400, "Missing or Duplicate From");
	refused(fx, RLINE VIA FROM "f: <sip:eve@example.com>;tag=e\n"
		TO CALLID CSEQ MAXFWD CLEN0, NULL,
		400, "Missing or Duplicate From");
}


static void test_to(void **state)
{
	struct ufx *fx = *state;

	refused(fx, RLINE VIA FROM CALLID CSEQ MAXFWD CLEN0, NULL,
		400, "Missing or Duplicate To");
	refused(fx, RLINE VIA FROM TO TO CALLID CSEQ MAXFWD CLEN0, NULL,
		400, "Missing or Duplicate To");
}


static void test_callid(void **state)
{
	struct ufx *fx = *state;

	refused(fx, RLINE VIA FROM TO CSEQ MAXFWD CLEN0, NULL,
		400, "Missing or Duplicate Call-ID");
	refused(fx, RLINE VIA FROM TO CALLID "Call-ID: c2@192.0.2.10\n"
		CSEQ MAXFWD CLEN0, NULL,
		400, "Missing or Duplicate Call-ID");
}


static void test_cseq(void **state)
{
	struct ufx *fx = *state;

	refused(fx, RLINE VIA FROM TO CALLID MAXFWD CLEN0, NULL,
		400, "Missing or Duplicate CSeq");
	refused(fx, RLINE VIA FROM TO CALLID CSEQ "CSeq: 2 INVITE\n"
		MAXFWD CLEN0, NULL,
		400, "Missing or Duplicate CSeq");
	refused(fx, RLINE VIA FROM TO CALLID "CSeq: 1 BYE\n" MAXFWD CLEN0,
		NULL, 400, "CSeq Method Mismatch");
	/* methods are case-sensitive */
	refused(fx, RLINE VIA FROM TO CALLID "CSeq: 1 invite\n" MAXFWD
		CLEN0, NULL, 400, "CSeq Method Mismatch");
	accepted(fx, "BYE sip:bob@192.0.2.20 SIP/2.0\n"
		 VIA FROM "To: <sip:bob@example.com>;tag=t1\n" CALLID
		 "CSeq: 2 BYE\n" MAXFWD CLEN0, NULL);
}


static void test_via(void **state)
{
	struct ufx *fx = *state;

	refused(fx, RLINE FROM TO CALLID CSEQ MAXFWD CLEN0, NULL,
		400, "Bad Via");
	refused(fx, RLINE "Via: SIP/2.0/WS 192.0.2.10;branch=z9hG4bK-w\n"
		FROM TO CALLID CSEQ MAXFWD CLEN0, NULL, 400, "Bad Via");
	refused(fx, RLINE "Via: SIP/2.0/SCTP 192.0.2.10;branch=z9hG4bK-s\n"
		FROM TO CALLID CSEQ MAXFWD CLEN0, NULL, 400, "Bad Via");

	/* libre itself refuses a Via without branch: never seen here */
	assert_null(umsg_decode(RLINE "Via: SIP/2.0/UDP 192.0.2.10;rport\n"
				FROM TO CALLID CSEQ MAXFWD CLEN0, NULL));
}


static void test_max_forwards(void **state)
{
	struct ufx *fx = *state;

	refused(fx, RLINE VIA FROM TO CALLID CSEQ "Max-Forwards: abc\n"
		CLEN0, NULL, 400, "Bad Max-Forwards");
	refused(fx, RLINE VIA FROM TO CALLID CSEQ "Max-Forwards: 256\n"
		CLEN0, NULL, 400, "Bad Max-Forwards");
	refused(fx, RLINE VIA FROM TO CALLID CSEQ "Max-Forwards: -1\n"
		CLEN0, NULL, 400, "Bad Max-Forwards");
	refused(fx, RLINE VIA FROM TO CALLID CSEQ "Max-Forwards: 7 0\n"
		CLEN0, NULL, 400, "Bad Max-Forwards");
	refused(fx, RLINE VIA FROM TO CALLID CSEQ MAXFWD MAXFWD CLEN0, NULL,
		400, "Duplicate Max-Forwards");

	accepted(fx, RLINE VIA FROM TO CALLID CSEQ "Max-Forwards: 255\n"
		 CLEN0, NULL);
	assert_int_equal(fx->ctx.maxfwd, 255);

	accepted(fx, RLINE VIA FROM TO CALLID CSEQ "Max-Forwards: 0\n"
		 CLEN0, NULL);
	assert_int_equal(fx->ctx.maxfwd, 0);

	/* 1*DIGIT: leading zeros are fine (RFC 4475 3.1.1.1) */
	accepted(fx, RLINE VIA FROM TO CALLID CSEQ "Max-Forwards: 0070\n"
		 CLEN0, NULL);
	assert_int_equal(fx->ctx.maxfwd, 70);
	refused(fx, RLINE VIA FROM TO CALLID CSEQ "Max-Forwards: 00000000256\n"
		CLEN0, NULL, 400, "Bad Max-Forwards");

	accepted(fx, RLINE VIA FROM TO CALLID CSEQ "Max-Forwards: 007\n"
		 CLEN0, NULL);
	assert_int_equal(fx->ctx.maxfwd, 7);

	accepted(fx, RLINE VIA FROM TO CALLID CSEQ CLEN0, NULL);
	assert_int_equal(fx->ctx.maxfwd, UINT32_MAX);
}


static void test_expires(void **state)
{
	struct ufx *fx = *state;

	refused(fx, RLINE HDRS "Expires: abc\n", NULL, 400, "Bad Expires");
	refused(fx, RLINE HDRS "Expires: -1\n", NULL, 400, "Bad Expires");
	refused(fx, RLINE HDRS "Expires: 4294967296\n", NULL,
		400, "Bad Expires");
	refused(fx, RLINE HDRS "Expires: 12345678901\n", NULL,
		400, "Bad Expires");

	accepted(fx, RLINE HDRS "Expires: 3600\n", NULL);
	accepted(fx, RLINE HDRS "Expires: 4294967295\n", NULL);
	accepted(fx, RLINE HDRS "Expires: 0\n", NULL);
}


static void test_content_length(void **state)
{
	static const char *body = "v=0\r\n";    /* 5 bytes */
	struct ufx *fx = *state;

	refused(fx, RLINE VIA FROM TO CALLID CSEQ MAXFWD
		"Content-Length: 10\n", body, 400, "Content-Length Mismatch");
	/* fewer than the datagram holds: the rest is not the message
	 * (RFC 3261 18.3); over a stream it cannot happen, libre frames */
	accepted(fx, RLINE VIA FROM TO CALLID CSEQ MAXFWD
		 "Content-Length: 4\n", body);
	assert_int_equal(mbuf_get_left(fx->msg->mb), 4);
	accepted(fx, RLINE VIA FROM TO CALLID CSEQ MAXFWD CLEN0, body);
	assert_int_equal(mbuf_get_left(fx->msg->mb), 0);
	assert_int_equal(validate_tp(fx, SIP_TRANSP_TCP, RLINE VIA FROM TO
				     CALLID CSEQ MAXFWD CLEN0, body), EBADMSG);
	assert_string_equal(fx->ctx.reason, "Content-Length Mismatch");
	refused(fx, RLINE VIA FROM TO CALLID CSEQ MAXFWD
		"Content-Length: 5\n", NULL, 400, "Content-Length Mismatch");
	refused(fx, RLINE VIA FROM TO CALLID CSEQ MAXFWD
		"Content-Length: five\n", body, 400, "Bad Content-Length");
	refused(fx, RLINE VIA FROM TO CALLID CSEQ MAXFWD
		"Content-Length: 5\nContent-Length: 5\n", body,
		400, "Duplicate Content-Length");

	accepted(fx, RLINE VIA FROM TO CALLID CSEQ MAXFWD
		 "Content-Length: 5\n", body);

	/* none: fine over UDP (the datagram is the message), not over
	 * a stream with a body */
	assert_int_equal(validate_tp(fx, SIP_TRANSP_UDP, RLINE VIA FROM TO
				     CALLID CSEQ MAXFWD, body), 0);
	assert_int_equal(validate_tp(fx, SIP_TRANSP_TCP, RLINE VIA FROM TO
				     CALLID CSEQ MAXFWD, NULL), 0);
	assert_int_equal(validate_tp(fx, SIP_TRANSP_TLS, RLINE VIA FROM TO
				     CALLID CSEQ MAXFWD, body), EBADMSG);
	assert_int_equal(fx->ctx.scode, 400);
	assert_string_equal(fx->ctx.reason, "Missing Content-Length");
}


/* Regression (fixed; sbc/sip/validate.c check_numbers and
 * validate_response): ten digits pass pl_digits(), and pl_u32() wraps
 * modulo 2^32, so a Content-Length of 4294967301 "matches" a 5-byte
 * body. */
static void test_regr_content_length_wraps(void **state)
{
	static const char *body = "v=0\r\n";    /* 5 bytes */
	struct ufx *fx = *state;

	refused(fx, RLINE VIA FROM TO CALLID CSEQ MAXFWD
		"Content-Length: 4294967301\n", body,
		400, "Content-Length Mismatch");
}


static void test_header_size(void **state)
{
	struct ufx *fx = *state;
	char *val, *head = NULL;

	/* max_header_size (1024) is allowed, one more is not */
	val = fill(1024 - strlen("x"), 'a');
	assert_int_equal(re_sdprintf(&head, RLINE HDRS "Subject: x%s\n", val),
			 0);
	accepted(fx, head, NULL);
	head = mem_deref(head);
	val  = mem_deref(val);

	val = fill(1025, 'a');
	assert_int_equal(re_sdprintf(&head, RLINE HDRS "Subject: %s\n", val),
			 0);
	refused(fx, head, NULL, 400, "Header Value Too Long");
	head = mem_deref(head);

	/* any header, known or not */
	assert_int_equal(re_sdprintf(&head, RLINE HDRS "X-Long: %s\n", val),
			 0);
	refused(fx, head, NULL, 400, "Header Value Too Long");
	head = mem_deref(head);
	val  = mem_deref(val);

	/* the limit is the option */
	fx->sbc.conf->max_header_size = 64;
	refused(fx, RLINE HDRS "Subject: "
		"0123456789012345678901234567890123456789"
		"0123456789012345678901234\n", NULL,
		400, "Header Value Too Long");
}


static void test_message_size(void **state)
{
	struct ufx *fx = *state;
	char *pad, *head = NULL, *body;
	size_t len;

	/* no header too long, but 7 kB in all */
	pad = fill(1000, 'p');
	assert_int_equal(re_sdprintf(&head, RLINE HDRS
		"X-Pad: %s\nX-Pad: %s\nX-Pad: %s\nX-Pad: %s\n"
		"X-Pad: %s\nX-Pad: %s\nX-Pad: %s\n",
		pad, pad, pad, pad, pad, pad, pad), 0);
	refused(fx, head, NULL, 513, "Message Too Large");
	head = mem_deref(head);
	pad  = mem_deref(pad);

	/* exactly max_message_size is fine */
	fx->sbc.conf->max_message_size = 65535;
	accepted(fx, RLINE HDRS, NULL);
	len = fx->msg->mb->end;
	fx->sbc.conf->max_message_size = (uint32_t)len;
	accepted(fx, RLINE HDRS, NULL);
	fx->sbc.conf->max_message_size = (uint32_t)len - 1;
	refused(fx, RLINE HDRS, NULL, 513, "Message Too Large");
	fx->sbc.conf->max_message_size = 6048;

	/* the body alone: max_body_size (4000) */
	body = fill(4001, 'b');
	refused(fx, RLINE VIA FROM TO CALLID CSEQ MAXFWD
		"Content-Length: 4001\n", body, 513, "Message Body Too Large");
	body = mem_deref(body);

	body = fill(4000, 'b');
	accepted(fx, RLINE VIA FROM TO CALLID CSEQ MAXFWD
		 "Content-Length: 4000\n", body);
	mem_deref(body);
}


static void test_request_uri(void **state)
{
	struct ufx *fx = *state;

	refused(fx, "INVITE mailto:bob@example.com SIP/2.0\n" HDRS, NULL,
		416, "Unsupported URI Scheme");
	refused(fx, "INVITE im:bob@example.com SIP/2.0\n" HDRS, NULL,
		416, "Unsupported URI Scheme");
	refused(fx, "INVITE urn:service:sos SIP/2.0\n" HDRS, NULL,
		416, "Unsupported URI Scheme");

	accepted(fx, "INVITE sips:bob@example.com SIP/2.0\n" HDRS, NULL);
	accepted(fx, "INVITE SIP:bob@example.com SIP/2.0\n" HDRS, NULL);
	accepted(fx, "INVITE sip:192.0.2.20:5080;transport=tcp SIP/2.0\n"
		 HDRS, NULL);
	accepted(fx, "INVITE tel:+15551234567 SIP/2.0\n" VIA FROM
		 "To: <tel:+15551234567>\n" CALLID CSEQ MAXFWD CLEN0, NULL);
	accepted(fx, "INVITE tel:911;phone-context=+1 SIP/2.0\n" HDRS, NULL);
}


/* What libre reads liberally but RFC 3261's grammar refuses */
static void test_rfc4475(void **state)
{
	struct ufx *fx = *state;

	/* display names: quoted (escapes too), tokens, none before <> */
	accepted(fx, RLINE VIA "From: \"J R \\\\\\\"\"  <sip:a@example.com>"
		 ";tag=1\n" TO CALLID CSEQ MAXFWD CLEN0, NULL);
	accepted(fx, RLINE VIA "From: caller<sip:a@example.com>;tag=1\n" TO
		 CALLID CSEQ MAXFWD CLEN0, NULL);
	accepted(fx, RLINE VIA "From: t1~` t2'+_ <sip:a@example.com>;tag=1\n"
		 TO CALLID CSEQ MAXFWD CLEN0, NULL);
	refused(fx, RLINE VIA "From: Bell, Alexander <sip:a@example.com>"
		";tag=1\n" TO CALLID CSEQ MAXFWD CLEN0, NULL,
		400, "Bad From Header");
	refused(fx, RLINE VIA FROM "To: \"Mr. J. User <sip:j@example.com>\n"
		CALLID CSEQ MAXFWD CLEN0, NULL, 400, "Bad To Header");
	refused(fx, RLINE VIA FROM "To: \"W, T\" < sip:t@example.org >\n"
		CALLID CSEQ MAXFWD CLEN0, NULL, 400, "Bad To Header");

	/* a bare addr-spec: LWS before its parameters only, no '?' */
	accepted(fx, RLINE VIA FROM "To: sip:b@example.com ;  tag = 1\n"
		 CALLID CSEQ MAXFWD CLEN0, NULL);
	refused(fx, "REGISTER sip:example.com SIP/2.0\n" VIA FROM TO CALLID
		"CSeq: 1 REGISTER\n" MAXFWD
		"Contact: sip:u@example.com?Route=%3Csip:x%3E\n" CLEN0,
		NULL, 400, "Bad Contact");
	accepted(fx, "REGISTER sip:example.com SIP/2.0\n" VIA FROM TO CALLID
		 "CSeq: 1 REGISTER\n" MAXFWD
		 "Contact: <sip:u@example.com?Route=%3Csip:x%3E>\n"
		 "Contact: *\n" CLEN0, NULL);

	/* Via: no empty parameter, in any Via; a branch of more than the
	 * magic cookie */
	refused(fx, RLINE "Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKx;;\n"
		FROM TO CALLID CSEQ MAXFWD CLEN0, NULL, 400, "Bad Via");
	refused(fx, RLINE VIA "Via: SIP/2.0/UDP 192.0.2.16;;\n"
		FROM TO CALLID CSEQ MAXFWD CLEN0, NULL, 400, "Bad Via");
	accepted(fx, RLINE VIA "Via: SIP/2.0/TCP sip33.example.com\n"
		 "v: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKk\n"
		 FROM TO CALLID CSEQ MAXFWD CLEN0, NULL);
	refused(fx, RLINE "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK\n"
		FROM TO CALLID CSEQ MAXFWD CLEN0, NULL, 400, "Bad Via Branch");

	/* Request-URI: a scheme of the wrong syntax is not unknown, it is
	 * wrong; escaped headers do not belong there */
	refused(fx, "INVITE <sip:bob@example.com> SIP/2.0\n" HDRS, NULL,
		400, "Bad Request-URI");
	refused(fx, "OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0\n" VIA FROM
		TO CALLID "CSeq: 1 OPTIONS\n" MAXFWD CLEN0, NULL,
		416, "Unsupported URI Scheme");
	refused(fx, "INVITE sip:bob@example.com?Route=%3Csip:x%3E SIP/2.0\n"
		HDRS, NULL, 400, "Bad Request-URI");

	/* CSeq numbers past 32 bits, refused before anything else */
	refused(fx, RLINE VIA FROM TO CALLID "CSeq: 36893488147419103232 "
		"INVITE\n" "Max-Forwards: 300\n" CLEN0, NULL, 400, "Bad CSeq");
	accepted(fx, RLINE VIA FROM TO CALLID "CSeq: 4294967295 INVITE\n"
		 MAXFWD CLEN0, NULL);

	/* no extension a proxy would have to support */
	refused(fx, RLINE HDRS "Proxy-Require: foo, bar\n", NULL,
		420, "Bad Extension");
	accepted(fx, RLINE HDRS "Require: foo\n", NULL);
}


static void test_to_tag(void **state)
{
	struct ufx *fx = *state;

	accepted(fx, RLINE VIA FROM "To: <sip:bob@example.com>;tag=t1\n"
		 CALLID CSEQ MAXFWD CLEN0, NULL);
	assert_true(fx->ctx.has_totag);

	accepted(fx, RLINE VIA FROM "To: Bob <sip:bob@example.com>"
		 ";foo=bar;tag=abc\n" CALLID CSEQ MAXFWD CLEN0, NULL);
	assert_true(fx->ctx.has_totag);

	/* a tag inside the URI is not the To-tag */
	accepted(fx, RLINE VIA FROM "To: <sip:bob@example.com;tag=u>\n"
		 CALLID CSEQ MAXFWD CLEN0, NULL);
	assert_false(fx->ctx.has_totag);

	accepted(fx, RLINE HDRS, NULL);
	assert_false(fx->ctx.has_totag);
}


/* Decode a response and validate it. */
static int response(struct ufx *fx, const char *head, const char *body)
{
	fx->msg = mem_deref(fx->msg);
	fx->msg = umsg_decode(head, body);
	assert_non_null(fx->msg);
	assert_false(fx->msg->req);

	return validate_response(fx->sbc.conf, fx->msg);
}


#define RSP_HDRS VIA FROM "To: <sip:bob@example.com>;tag=t1\n" CALLID CSEQ


static void test_response(void **state)
{
	struct ufx *fx = *state;
	char *pad, *head = NULL;

	assert_int_equal(response(fx, "SIP/2.0 200 OK\n" RSP_HDRS CLEN0,
				  NULL), 0);
	assert_int_equal(response(fx, "SIP/2.0 100 Trying\n" RSP_HDRS,
				  NULL), 0);
	assert_int_equal(response(fx, "SIP/2.0 699 Whatever\n" RSP_HDRS
				  "Content-Length: 5\n", "v=0\r\n"), 0);

	/* status code */
	assert_int_equal(response(fx, "SIP/2.0 700 Too Far\n" RSP_HDRS,
				  NULL), EBADMSG);
	assert_int_equal(response(fx, "SIP/2.0 099 Too Low\n" RSP_HDRS,
				  NULL), EBADMSG);
	/* libre's reading of 4294967496 wraps to 200 */
	assert_int_equal(response(fx, "SIP/2.0 4294967496 OK\n" RSP_HDRS,
				  NULL), EBADMSG);
	assert_int_equal(response(fx, "SIP/2.0 100 \n" RSP_HDRS, NULL), 0);
	assert_int_equal(response(fx, "SIP/2.0 503 No\n" VIA FROM
				  "To: <sip:bob@example.com>;tag=t1\n" CALLID
				  "CSeq: 9292394834772304023312 OPTIONS\n",
				  NULL), EBADMSG);

	/* missing or duplicate headers */
	assert_int_equal(response(fx, "SIP/2.0 200 OK\n"
				  FROM "To: <sip:bob@example.com>;tag=t1\n"
				  CALLID CSEQ, NULL), EBADMSG);
	assert_int_equal(response(fx, "SIP/2.0 200 OK\n" VIA
				  "To: <sip:bob@example.com>;tag=t1\n"
				  CALLID CSEQ, NULL), EBADMSG);
	assert_int_equal(response(fx, "SIP/2.0 200 OK\n" VIA FROM
				  CALLID CSEQ, NULL), EBADMSG);
	assert_int_equal(response(fx, "SIP/2.0 200 OK\n" RSP_HDRS TO,
				  NULL), EBADMSG);
	assert_int_equal(response(fx, "SIP/2.0 200 OK\n" VIA FROM
				  "To: <sip:bob@example.com>;tag=t1\n" CSEQ,
				  NULL), EBADMSG);
	assert_int_equal(response(fx, "SIP/2.0 200 OK\n" VIA FROM
				  "To: <sip:bob@example.com>;tag=t1\n" CALLID,
				  NULL), EBADMSG);
	assert_int_equal(response(fx, "SIP/2.0 200 OK\n" RSP_HDRS CALLID,
				  NULL), EBADMSG);

	/* Content-Length */
	assert_int_equal(response(fx, "SIP/2.0 200 OK\n" RSP_HDRS
				  "Content-Length: 6\n", "v=0\r\n"), EBADMSG);
	assert_int_equal(response(fx, "SIP/2.0 200 OK\n" RSP_HDRS
				  "Content-Length: x\n", "v=0\r\n"), EBADMSG);

	/* size */
	pad = fill(1000, 'p');
	assert_int_equal(re_sdprintf(&head, "SIP/2.0 200 OK\n" RSP_HDRS
		"X-Pad: %s\nX-Pad: %s\nX-Pad: %s\nX-Pad: %s\n"
		"X-Pad: %s\nX-Pad: %s\nX-Pad: %s\n",
		pad, pad, pad, pad, pad, pad, pad), 0);
	assert_int_equal(response(fx, head, NULL), EMSGSIZE);
	mem_deref(head);
	mem_deref(pad);
}


int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, ufx_setup, ufx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_good_invite),
		T(test_from),
		T(test_to),
		T(test_callid),
		T(test_cseq),
		T(test_via),
		T(test_max_forwards),
		T(test_expires),
		T(test_content_length),
		T(test_regr_content_length_wraps),
		T(test_header_size),
		T(test_message_size),
		T(test_request_uri),
		T(test_rfc4475),
		T(test_to_tag),
		T(test_response),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
