/*
 * keepalive.c: NAT keep-alives towards the clients of the bindings
 * (binding.c), so that a phone behind NAT stays reachable between its
 * REGISTERs, and a phone that is gone is noticed.
 *
 * Every keepalive_interval seconds each binding's flow gets, by transport:
 *   UDP, keepalive = options: an OPTIONS request; any answer, even 405,
 *        proves the NAT open.  Sent statelessly, one packet a turn: a
 *        libre client transaction would retransmit it for 32 s, ten
 *        packets to every client that is gone.  A lost one is made up by
 *        the next turns (keepalive_timeout spans several); the answers
 *        are known by their Via branch (keepalive_response).
 *   UDP, keepalive = crlf: a CRLFCRLF packet.  It keeps the NAT open but
 *        brings no answer, so such clients are not judged.
 *   TCP/TLS: a CRLFCRLF ping on the client's own connection.  An RFC 5626
 *        client answers with a CRLF pong; libre answers the client's own
 *        pings with a pong (RFC 5626 4.4.1).  A ping the client's host
 *        does not acknowledge makes the kernel close the connection
 *        after keepalive_timeout (TCP_USER_TIMEOUT), and a connection
 *        that is gone, closed by the client or by libre, means the
 *        client cannot be reached: it has to connect and register again.
 * Signs of life are the answers above and any request from the flow
 * (binding_seen).  A UDP client without one for keepalive_timeout is
 * marked unreachable (sbcctl bindings, a log line, a security event);
 * the next sign of life makes it reachable again.  Bindings are not
 * removed here: their expiry does that.
 *
 * One timer per binding, restarted with the interval of the running
 * configuration (a reload applies at each binding's next turn).  The
 * first turn comes at a random point of the interval, in 64 steps, so
 * that the keep-alives of many bindings are spread, not sent in bursts,
 * and so that sbc/tmr.c keeps few distinct delays.
 */
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "sbc.h"

enum { SPREAD_STEPS = 64 };

#define BRANCH_PREFIX "z9hG4bKka"

struct keepalive {
	struct binding *b;
	struct tmr tmr;
	uint64_t callid;
	uint64_t options_since;     /* ms: first OPTIONS of this mode */
	uint32_t cseq;
};

static void destructor(void *arg)
{
	struct keepalive *ka = arg;

	tmr_cancel(&ka->tmr);
}

static struct side *access_side(const struct binding *b)
{
	return &b->sbc->side[SIDE_ACCESS];
}

static void mark(struct binding *b, bool unreachable, const char *why)
{
	struct sip_msg flow;        /* no message: the event's source only */
	struct req_ctx ctx = {.sbc = b->sbc, .peer = &b->peer, .msg = &flow};

	memset(&flow, 0, sizeof(flow));
	flow.src = b->src;
	flow.tp = b->tp;
	b->unreachable = unreachable;
	if (unreachable)
		++b->sbc->bindings.unreachable;
	else
		--b->sbc->bindings.unreachable;
	LOGI(b->sbc, "binding %s -> %s (%s %J): %s (%s)", b->aor, b->contact,
	     sip_transp_name(b->tp), &b->src,
	     unreachable ? "unreachable" : "reachable again", why);
	event_emit(b->sbc, &ctx, "keepalive",
		   unreachable ? "unreachable" : "reachable");
}

/* libre 1.1.0 has no API to ask whether a connection is still open but
 * sip_msg_tcpconn(), which reads only tp and sock: its tcp_conn is gone
 * once libre has closed it. */
static struct tcp_conn *flow_tcpconn(const struct keepalive *ka)
{
	struct sip_msg m;

	memset(&m, 0, sizeof(m));
	m.tp = ka->b->tp;
	m.sock = ka->b->conn;
	return sip_msg_tcpconn(&m);
}

static int send_options(struct keepalive *ka)
{
	struct binding *b = ka->b;
	struct side *side = access_side(b);
	struct sa self = side->laddr;
	struct mbuf *mb = mbuf_alloc(512);
	int err;

	if (!mb)
		return ENOMEM;
	sa_set_port(&self, side->port);
	err = mbuf_printf(mb, "OPTIONS %s SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP %J;branch=" BRANCH_PREFIX
			  "%016llx;rport\r\n"
			  "Max-Forwards: 70\r\n"
			  "From: <sip:keepalive@%J>;tag=%08x\r\n"
			  "To: <sip:%s>\r\n"
			  "Call-ID: %016llx@%j\r\n"
			  "CSeq: %u OPTIONS\r\n"
			  "Content-Length: 0\r\n\r\n",
			  b->contact, &self, rand_u64(), &self,
			  (uint32_t)ka->callid, b->aor, ka->callid,
			  &side->laddr, ++ka->cseq);
	if (!err) {
		mb->pos = 0;
		err = sip_send(side->sip, NULL, SIP_TRANSP_UDP, &b->src, mb);
	}
	mem_deref(mb);
	return err;
}

static int send_crlf(struct keepalive *ka, void *conn)
{
	static uint8_t crlf2[] = "\r\n\r\n";
	struct mbuf mb = {.buf = crlf2, .size = 4, .pos = 0, .end = 4};

	return sip_send(access_side(ka->b)->sip, conn, ka->b->tp, &ka->b->src,
			&mb);
}

static void turn(struct keepalive *ka)
{
	struct binding *b = ka->b;
	const struct sbc_conf *conf = b->sbc->conf;
	const uint64_t now = tmr_jiffies();
	int err = 0;

	/* a standby sends nothing; it judges from its takeover on */
	if (store_silent(&b->sbc->store)) {
		b->last_seen = now;
		ka->options_since = 0;
		return;
	}
	if (b->tp != SIP_TRANSP_UDP) {
		/* never sip_send() on a closed one: libre would connect to
		 * the client's address, which behind NAT is no listener */
		if (!flow_tcpconn(ka)) {
			if (!b->unreachable)
				mark(b, true, "connection closed");
			return;
		}
		err = send_crlf(ka, ka->b->conn);
	}
	else if (conf->keepalive == KEEPALIVE_OPTIONS) {
		/* judged from the first OPTIONS on: after a reload from crlf
		 * the silence before it is no missed answer */
		if (!ka->options_since)
			ka->options_since = now;
		if (!b->unreachable
		    && now - MAX(b->last_seen, ka->options_since)
		       > conf->keepalive_timeout * 1000ULL)
			mark(b, true, "no answer to OPTIONS");
		err = send_options(ka);
	}
	else {
		ka->options_since = 0;
		if (conf->keepalive == KEEPALIVE_CRLF)
			err = send_crlf(ka, NULL);
	}
	if (err)
		LOGD(b->sbc, "keep-alive to %s %J: %m", sip_transp_name(b->tp),
		     &b->src, err);
}

static void tmr_handler(void *arg)
{
	struct keepalive *ka = arg;

	tmr_start(&ka->tmr, ka->b->sbc->conf->keepalive_interval * 1000ULL,
		  tmr_handler, ka);
	turn(ka);
}

/* A new binding: its first turn at a random point of the interval. */
int keepalive_start(struct binding *b)
{
	const uint64_t ival = b->sbc->conf->keepalive_interval * 1000ULL;
	struct keepalive *ka = mem_zalloc(sizeof(*ka), destructor);

	if (!ka)
		return ENOMEM;
	ka->b = b;
	ka->callid = rand_u64();
	b->ka = ka;
	b->last_seen = tmr_jiffies();
	tmr_start(&ka->tmr, ival * (1 + rand_u16() % SPREAD_STEPS)
		  / SPREAD_STEPS, tmr_handler, ka);
	return 0;
}

/* Unacknowledged data (our pings) closes the connection after
 * keepalive_timeout, rather than after the kernel's ~15 minutes. */
static void set_user_timeout(struct keepalive *ka)
{
	struct tcp_conn *tc = flow_tcpconn(ka);
	unsigned ms = ka->b->sbc->conf->keepalive_timeout * 1000u;
	int fd = tc ? tcp_conn_fd(tc) : -1;

	if (fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms,
				  sizeof(ms)))
		LOGD(ka->b->sbc, "TCP_USER_TIMEOUT on %J: %m", &ka->b->src,
		     errno);
}

/* A response on the access side that answers one of our OPTIONS: a sign
 * of life of the bindings of the flow it comes from. */
bool keepalive_response(struct sbc *sbc, const struct sip_msg *msg)
{
	static const struct pl prefix = PL(BRANCH_PREFIX);

	if (msg->via.branch.l <= prefix.l
	    || memcmp(msg->via.branch.p, prefix.p, prefix.l)
	    || pl_strcmp(&msg->cseq.met, "OPTIONS"))
		return false;
	binding_seen(sbc, msg);
	return true;
}

/* A sign of life from the binding's flow: MSG came from it (a request,
 * or an answer to our OPTIONS). */
void keepalive_seen(struct binding *b, const struct sip_msg *msg)
{
	struct keepalive *ka = b->ka;

	b->last_seen = tmr_jiffies();
	if (msg->req && b->tp != SIP_TRANSP_UDP && msg->sock != b->conn) {
		/* the client's current connection: the one to ping and to
		 * send its calls on */
		mem_deref(b->conn);
		b->conn = mem_ref(msg->sock);
		set_user_timeout(ka);
	}
	if (b->unreachable)
		mark(b, false, msg->req ? "request" : "answer");
}
