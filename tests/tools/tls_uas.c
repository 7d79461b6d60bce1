/**
 * @file tls_uas.c  sbc-test-uas: a small SIP UAS on libre for the
 *                  integration tests (Debian's sipp has no TLS).
 *
 * Listens on one UDP, TCP or TLS address (-h lists the options). INVITE:
 * 100, optionally 180 and a delay (CANCEL then gives 487), then the -a
 * answer: 2xx with Contact, copied Record-Route and an SDP answer (PCMU/PCMA,
 * retransmitted until ACK), 3xx with Contact, 503 with Retry-After: 30.
 * BYE, OPTIONS and any other request get 200. Responses go back over the
 * connection the request came in on.
 *
 * Events (-s FILE, appended, one line each, flushed):
 *   sni=NAME|none, client_cn=CN|none   per accepted TLS connection
 *   tls_alert=NUM TEXT                 fatal alert we sent (e.g. 116 = TLS 1.3
 *                                      certificate required, 48 = unknown CA)
 *   invite ruri=URI from=URI           then "hdr Name: value" per header
 *                                      and "body LINE" per body line
 *   ack, cancel, bye, options, ...     other requests, method in lower case
 *                                      (ACK of a non-2xx is absorbed by libre)
 * Exit status: 0 on -n COUNT completed calls (a non-2xx final, or a 2xx
 * plus its ACK and BYE) or on SIGINT/SIGTERM, 2 on the -T limit, 1 on error.
 * "ready" is printed on stdout once listening.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <re.h>


enum {
	LINGER_MS = 500,    /* after -n is met: let the last ACK/200 pass */
	RTP_PORT  = 40000,  /* port in our SDP answer (nothing listens)   */
};

struct call {
	struct le le;
	struct sip_strans *st;  /* ours until the final response         */
	struct sip_msg *msg;    /* the INVITE                             */
	struct mbuf *mb2xx;     /* 2xx, retransmitted until ACK           */
	struct sa dst;          /* where responses go                     */
	struct tmr tmr;         /* ring delay, then 2xx retransmissions   */
	uint32_t txc;
	bool acked;
	bool byed;
};

static struct {
	struct sip *sip;
	struct sip_lsnr *lsnr;
	struct tls *tls;
	struct list calls;
	struct tmr tmr_limit;
	struct tmr tmr_done;
	struct sa laddr;
	FILE *evf;
	const char *contact;    /* -C */
	uint32_t ring_ms;       /* -r */
	uint32_t count;         /* -n, 0 = no limit */
	uint32_t completed;
	uint16_t scode;         /* -a */
	int sni_idx;
	int status;
} uas;


static void event(const char *fmt, ...)
{
	va_list ap;

	if (!uas.evf)
		return;

	va_start(ap, fmt);
	(void)re_vfprintf(uas.evf, fmt, ap);
	va_end(ap);
	(void)fputc('\n', uas.evf);
	(void)fflush(uas.evf);
}


static const char *reason(uint16_t scode)
{
	static const struct { uint16_t scode; const char *text; } tab[] = {
		{180, "Ringing"}, {200, "OK"}, {202, "Accepted"},
		{301, "Moved Permanently"}, {302, "Moved Temporarily"},
		{400, "Bad Request"}, {403, "Forbidden"}, {404, "Not Found"},
		{408, "Request Timeout"}, {480, "Temporarily Unavailable"},
		{481, "Call/Transaction Does Not Exist"}, {486, "Busy Here"},
		{487, "Request Terminated"}, {488, "Not Acceptable Here"},
		{500, "Server Internal Error"}, {503, "Service Unavailable"},
		{603, "Decline"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tab); i++) {
		if (tab[i].scode == scode)
			return tab[i].text;
	}

	return "Response";
}


static void done_handler(void *arg)
{
	(void)arg;

	re_cancel();
}


static void limit_handler(void *arg)
{
	(void)arg;

	re_fprintf(stderr, "sbc-test-uas: time limit reached, %u of %u"
		   " calls completed\n", uas.completed, uas.count);
	uas.status = 2;
	re_cancel();
}


static void signal_handler(int sig)
{
	(void)sig;

	re_cancel();
}


static void call_destructor(void *arg)
{
	struct call *call = arg;

	list_unlink(&call->le);
	tmr_cancel(&call->tmr);
	mem_deref(call->st);
	mem_deref(call->mb2xx);
	mem_deref(call->msg);
}


static void call_done(struct call *call)
{
	mem_deref(call);

	++uas.completed;
	if (uas.count && uas.completed >= uas.count &&
	    !tmr_isrunning(&uas.tmr_done)) {
		tmr_cancel(&uas.tmr_limit);
		tmr_start(&uas.tmr_done, LINGER_MS, done_handler, NULL);
	}
}


static struct call *call_find(const struct sip_msg *msg)
{
	struct le *le;

	for (le = uas.calls.head; le; le = le->next) {
		struct call *call = le->data;

		if (call->mb2xx && !pl_cmp(&call->msg->callid, &msg->callid))
			return call;
	}

	return NULL;
}


/* SDP answer (or offer, if the INVITE had none) with PCMU/PCMA */
static int sdp_body(struct mbuf **mbp, const struct sip_msg *msg)
{
	struct sdp_session *sess = NULL;
	struct sdp_media *m = NULL;
	struct mbuf *offer = NULL;
	bool has_offer;
	int err;

	has_offer = mbuf_get_left(msg->mb) > 0 &&
		msg_ctype_cmp(&msg->ctyp, "application", "sdp");

	err = sdp_session_alloc(&sess, &msg->dst);
	if (err)
		goto out;

	err = sdp_media_add(&m, sess, "audio", RTP_PORT, "RTP/AVP");
	if (err)
		goto out;

	err  = sdp_format_add(NULL, m, false, "0", "PCMU", 8000, 1,
			      NULL, NULL, NULL, false, NULL);
	err |= sdp_format_add(NULL, m, false, "8", "PCMA", 8000, 1,
			      NULL, NULL, NULL, false, NULL);
	if (err)
		goto out;

	if (has_offer) {
		offer = mbuf_alloc(mbuf_get_left(msg->mb));
		if (!offer) {
			err = ENOMEM;
			goto out;
		}

		err = mbuf_write_mem(offer, mbuf_buf(msg->mb),
				     mbuf_get_left(msg->mb));
		if (err)
			goto out;

		offer->pos = 0;
		err = sdp_decode(sess, offer, true);
		if (err)
			goto out;
	}

	err = sdp_encode(mbp, sess, !has_offer);

 out:
	mem_deref(offer);
	mem_deref(sess);

	return err;
}


/* final response to an INVITE: 2xx with Contact+SDP, 3xx with Contact,
   503 with Retry-After. stp/mbp as for sip_treplyf() */
static int reply_final(struct sip_strans **stp, struct mbuf **mbp,
		       const struct sip_msg *msg, uint16_t scode)
{
	struct sip_contact contact;
	struct mbuf *sdp = NULL;
	char hdrs[512] = "";
	int err = 0;

	if (scode < 300) {
		err = sdp_body(&sdp, msg);
		if (err) {
			re_fprintf(stderr, "sbc-test-uas: sdp: %m\n", err);
			scode = 488;
			mbp = NULL;
		}
	}

	sip_contact_set(&contact, "uas", &msg->dst, msg->tp);

	if (scode < 300) {
		(void)re_snprintf(hdrs, sizeof(hdrs), "%H", sip_contact_print,
				  &contact);
	}
	else if (scode < 400 && uas.contact) {
		(void)re_snprintf(hdrs, sizeof(hdrs), "Contact: <%s>\r\n",
				  uas.contact);
	}
	else if (scode < 400) {
		(void)re_snprintf(hdrs, sizeof(hdrs),
				  "Contact: <sip:A00123@%J>\r\n", &uas.laddr);
	}
	else if (scode == 503) {
		str_ncpy(hdrs, "Retry-After: 30\r\n", sizeof(hdrs));
	}

	err = sip_treplyf(stp, mbp, uas.sip, msg, scode < 300, scode,
			  reason(scode),
			  "%s%s"
			  "Content-Length: %zu\r\n"
			  "\r\n"
			  "%b",
			  hdrs,
			  sdp ? "Content-Type: application/sdp\r\n" : "",
			  sdp ? mbuf_get_left(sdp) : (size_t)0,
			  sdp ? mbuf_buf(sdp) : NULL,
			  sdp ? mbuf_get_left(sdp) : (size_t)0);

	mem_deref(sdp);

	return err;
}


/* 2xx retransmission (RFC 3261 13.3.1.4), until ACK or about 64*T1 */
static void retransmit_handler(void *arg)
{
	struct call *call = arg;

	if (call->txc >= 10) {
		re_fprintf(stderr, "sbc-test-uas: no ACK for 2xx (Call-ID %r)"
			   "\n", &call->msg->callid);
		return;
	}

	call->mb2xx->pos = 0;
	(void)sip_send(uas.sip, call->msg->sock, call->msg->tp, &call->dst,
		       call->mb2xx);

	++call->txc;
	tmr_start(&call->tmr, MIN(SIP_T1 << call->txc, SIP_T2),
		  retransmit_handler, call);
}


/* send the final response; frees the call unless a 2xx awaits ACK/BYE */
static void answer(struct call *call, uint16_t scode)
{
	const struct sip_msg *msg = call->msg;
	struct pl rport;
	int err;

	sip_reply_addr(&call->dst, msg,
		       !msg_param_exists(&msg->via.params, "rport", &rport));

	err = reply_final(&call->st, scode < 300 ? &call->mb2xx : NULL, msg,
			  scode);
	if (err) {
		re_fprintf(stderr, "sbc-test-uas: reply %u: %m\n", scode,
			   err);
		mem_deref(call);
		return;
	}

	if (!call->mb2xx) {
		call_done(call);
		return;
	}

	tmr_start(&call->tmr, SIP_T1, retransmit_handler, call);
}


static void ring_handler(void *arg)
{
	struct call *call = arg;

	answer(call, uas.scode);
}


static void cancel_handler(void *arg)
{
	struct call *call = arg;

	event("cancel");
	tmr_cancel(&call->tmr);
	answer(call, 487);
}


static void log_invite(const struct sip_msg *msg)
{
	struct pl body, line;
	struct le *le;

	event("invite ruri=%r from=%r", &msg->ruri, &msg->from.auri);

	for (le = msg->hdrl.head; le; le = le->next) {
		const struct sip_hdr *hdr = le->data;

		event("hdr %r: %r", &hdr->name, &hdr->val);
	}

	body.p = (const char *)mbuf_buf(msg->mb);
	body.l = mbuf_get_left(msg->mb);

	while (body.l) {
		line.p = body.p;
		while (body.l && *body.p != '\r' && *body.p != '\n') {
			++body.p;
			--body.l;
		}
		line.l = body.p - line.p;

		if (line.l)
			event("body %r", &line);

		if (body.l) {
			++body.p;
			--body.l;
		}
	}
}


static void invite_handler(const struct sip_msg *msg)
{
	struct sip_contact contact;
	struct call *call;
	int err;

	log_invite(msg);

	/* re-INVITE: accept at once, the dialog's call stays as it is */
	if (pl_isset(&msg->to.tag)) {
		err = reply_final(NULL, NULL, msg, 200);
		if (err)
			re_fprintf(stderr, "sbc-test-uas: re-INVITE: %m\n",
				   err);
		return;
	}

	call = mem_zalloc(sizeof(*call), call_destructor);
	if (!call) {
		(void)sip_reply(uas.sip, msg, 500, reason(500));
		return;
	}

	list_append(&uas.calls, &call->le, call);
	call->msg = mem_ref((void *)msg);

	err = sip_strans_alloc(&call->st, uas.sip, msg, cancel_handler, call);
	if (err)
		goto out;

	err = sip_treply(&call->st, uas.sip, msg, 100, "Trying");
	if (err)
		goto out;

	if (!uas.ring_ms) {
		answer(call, uas.scode);
		return;
	}

	sip_contact_set(&contact, "uas", &msg->dst, msg->tp);
	err = sip_treplyf(&call->st, NULL, uas.sip, msg, true, 180,
			  reason(180), "%HContent-Length: 0\r\n\r\n",
			  sip_contact_print, &contact);
	if (err)
		goto out;

	tmr_start(&call->tmr, uas.ring_ms, ring_handler, call);

 out:
	if (err) {
		re_fprintf(stderr, "sbc-test-uas: INVITE: %m\n", err);
		mem_deref(call);
	}
}


static void ack_handler(const struct sip_msg *msg)
{
	struct call *call = call_find(msg);

	event("ack");

	if (!call || call->acked)
		return;

	call->acked = true;
	tmr_cancel(&call->tmr);

	if (call->byed)
		call_done(call);
}


static bool request_handler(const struct sip_msg *msg, void *arg)
{
	struct call *call;
	char met[32];
	size_t i;
	int err;

	(void)arg;

	if (!pl_strcmp(&msg->met, "INVITE")) {
		invite_handler(msg);
		return true;
	}

	if (!pl_strcmp(&msg->met, "ACK")) {
		ack_handler(msg);
		return true;
	}

	(void)pl_strcpy(&msg->met, met, sizeof(met));
	for (i = 0; met[i]; i++)
		met[i] = tolower((unsigned char)met[i]);

	event("%s", met);

	/* CANCEL of a pending INVITE is taken by libre's strans */
	if (!pl_strcmp(&msg->met, "CANCEL")) {
		err = sip_reply(uas.sip, msg, 481, reason(481));
	}
	else if (!pl_strcmp(&msg->met, "OPTIONS")) {
		err = sip_treplyf(NULL, NULL, uas.sip, msg, false, 200, "OK",
				  "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n"
				  "Content-Length: 0\r\n\r\n");
	}
	else {
		err = sip_treply(NULL, uas.sip, msg, 200, "OK");
	}

	if (err)
		re_fprintf(stderr, "sbc-test-uas: reply to %r: %m\n",
			   &msg->met, err);

	if (!pl_strcmp(&msg->met, "BYE")) {
		call = call_find(msg);
		if (call && !call->byed) {
			call->byed = true;
			tmr_cancel(&call->tmr);
			if (call->acked)
				call_done(call);
		}
	}

	return true;
}


/* TLS: log SNI and client CN once per connection, and fatal alerts */
static void tls_info(const SSL *ssl, int where, int ret)
{
	const char *sni;
	char cn[256] = "none";
	X509 *peer;

	if ((where & SSL_CB_ALERT) && (where & SSL_CB_WRITE) &&
	    !str_casecmp(SSL_alert_type_string(ret), "F")) {
		event("tls_alert=%d %s", ret & 0xff,
		      SSL_alert_desc_string_long(ret));
		return;
	}

	if (!(where & SSL_CB_HANDSHAKE_DONE) || !SSL_is_server(ssl))
		return;

	if (SSL_get_ex_data(ssl, uas.sni_idx))
		return;

	(void)SSL_set_ex_data((SSL *)ssl, uas.sni_idx, &uas);

	sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	event("sni=%s", sni ? sni : "none");

	peer = SSL_get1_peer_certificate(ssl);
	if (peer) {
		if (X509_NAME_get_text_by_NID(X509_get_subject_name(peer),
					      NID_commonName, cn,
					      sizeof(cn)) < 0)
			str_ncpy(cn, "?", sizeof(cn));
		X509_free(peer);
	}

	event("client_cn=%s", cn);
}


static int tls_setup(const char *certkey, const char *cafile, bool verify)
{
	SSL_CTX *ctx;
	int err;

	if (!certkey) {
		re_fprintf(stderr, "sbc-test-uas: -t tls needs -c\n");
		return EINVAL;
	}

	err = tls_alloc(&uas.tls, TLS_METHOD_SSLV23, certkey, NULL);
	if (err) {
		re_fprintf(stderr, "sbc-test-uas: %s: %m\n", certkey, err);
		return err;
	}

	ctx = tls_openssl_context(uas.tls);

	if (cafile) {
		STACK_OF(X509_NAME) *names;

		err = tls_add_ca(uas.tls, cafile);
		if (err) {
			re_fprintf(stderr, "sbc-test-uas: %s: %m\n", cafile,
				   err);
			return err;
		}

		names = SSL_load_client_CA_file(cafile);
		if (!names)
			return EINVAL;

		SSL_CTX_set_client_CA_list(ctx, names);
	}

	if (verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
				   SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}

	uas.sni_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (uas.sni_idx < 0)
		return ENOMEM;

	SSL_CTX_set_info_callback(ctx, tls_info);

	return 0;
}


static void usage(void)
{
	(void)re_fprintf(stderr,
		"usage: sbc-test-uas [options]\n"
		"  -l ADDR:PORT  listen address (default 127.0.0.1:5080)\n"
		"  -t udp|tcp|tls transport (default udp)\n"
		"  -c FILE       TLS certificate+key PEM\n"
		"  -A FILE       CA file for client certificates\n"
		"  -V            require a valid client certificate\n"
		"  -a CODE       final answer to INVITE (default 200)\n"
		"  -C URI        Contact of a 3xx answer\n"
		"  -r MS         send 180, answer after MS ms (default 0)\n"
		"  -n COUNT      exit 0 after COUNT completed calls\n"
		"  -T SECONDS    time limit, exit 2 (default 30, 0 = none)\n"
		"  -s FILE       append one line per event to FILE\n");
}


int main(int argc, char *argv[])
{
	const char *laddr = "127.0.0.1:5080", *certkey = NULL;
	const char *cafile = NULL, *evfile = NULL;
	enum sip_transp tp = SIP_TRANSP_UDP;
	unsigned long limit = 30, code;
	bool verify = false;
	int opt, err;

	uas.scode = 200;

	while ((opt = getopt(argc, argv, "l:t:c:A:Va:C:r:n:T:s:h")) != -1) {

		switch (opt) {

		case 'l': laddr = optarg; break;
		case 'c': certkey = optarg; break;
		case 'A': cafile = optarg; break;
		case 'V': verify = true; break;
		case 'C': uas.contact = optarg; break;
		case 's': evfile = optarg; break;
		case 'r': uas.ring_ms = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'n': uas.count = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'T': limit = strtoul(optarg, NULL, 10); break;

		case 'a':
			code = strtoul(optarg, NULL, 10);
			if (code < 200 || code > 699) {
				usage();
				return 1;
			}
			uas.scode = (uint16_t)code;
			break;

		case 't':
			if (!str_casecmp(optarg, "udp"))
				tp = SIP_TRANSP_UDP;
			else if (!str_casecmp(optarg, "tcp"))
				tp = SIP_TRANSP_TCP;
			else if (!str_casecmp(optarg, "tls"))
				tp = SIP_TRANSP_TLS;
			else {
				usage();
				return 1;
			}
			break;

		case 'h':
			usage();
			return 0;

		default:
			usage();
			return 1;
		}
	}

	if (optind != argc ||
	    sa_decode(&uas.laddr, laddr, str_len(laddr))) {
		usage();
		return 1;
	}

	err = libre_init();
	if (err) {
		re_fprintf(stderr, "sbc-test-uas: libre_init: %m\n", err);
		return 1;
	}

	if (evfile) {
		uas.evf = fopen(evfile, "a");
		if (!uas.evf) {
			err = errno;
			re_fprintf(stderr, "sbc-test-uas: %s: %m\n", evfile,
				   err);
			goto out;
		}
	}

	if (tp == SIP_TRANSP_TLS) {
		err = tls_setup(certkey, cafile, verify);
		if (err)
			goto out;
	}

	err = sip_alloc(&uas.sip, NULL, 4096, 4096, 4096, "sbc-test-uas",
			NULL, NULL);
	if (err) {
		re_fprintf(stderr, "sbc-test-uas: sip_alloc: %m\n", err);
		goto out;
	}

	err = sip_transp_add(uas.sip, tp, &uas.laddr, uas.tls);
	if (err) {
		re_fprintf(stderr, "sbc-test-uas: listen %s/%s: %m\n", laddr,
			   sip_transp_name(tp), err);
		goto out;
	}

	err = sip_listen(&uas.lsnr, uas.sip, true, request_handler, NULL);
	if (err) {
		re_fprintf(stderr, "sbc-test-uas: sip_listen: %m\n", err);
		goto out;
	}

	if (limit)
		tmr_start(&uas.tmr_limit, limit * 1000, limit_handler, NULL);

	(void)printf("ready\n");
	(void)fflush(stdout);

	err = re_main(signal_handler);
	if (err)
		re_fprintf(stderr, "sbc-test-uas: re_main: %m\n", err);

 out:
	tmr_cancel(&uas.tmr_limit);
	tmr_cancel(&uas.tmr_done);
	list_flush(&uas.calls);
	uas.lsnr = mem_deref(uas.lsnr);
	if (uas.sip)
		sip_close(uas.sip, true);
	uas.sip = mem_deref(uas.sip);
	uas.tls = mem_deref(uas.tls);
	if (uas.evf)
		(void)fclose(uas.evf);

	libre_close();

	return err ? 1 : uas.status;
}
