/*
 * trace.c: SIP trace to a capture server (hep_dest): every SIP message
 * libre's transports of either side receive or send goes out as one HEPv3
 * datagram (the Homer encapsulation protocol: Homer, heplify-server,
 * Kamailio's and OpenSIPS' sipcapture), with its addresses, ports,
 * transport, time, hep_capture_id and hep_password.
 *
 * libre's trace hook gives the message as it is on the wire (TLS
 * decrypted), so a capture shows what sbcd saw and sent, both legs of
 * each call.  Sending never waits: the socket is non-blocking and a
 * datagram the kernel does not take is counted (hep_dropped), never
 * retried.  A standby traces nothing: it is silent, and what reaches it
 * before it holds the addresses is dropped anyway.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "sbc.h"

enum {
	HEP_MAX = 65535,
	HEP_VENDOR = 0,             /* the generic chunks */
	HEP_PROTO_SIP = 1,
};

/* Generic chunk types of HEPv3. */
enum hep_chunk {
	HC_FAMILY = 0x0001,
	HC_PROTO = 0x0002,
	HC_SRC4 = 0x0003,
	HC_DST4 = 0x0004,
	HC_SRC6 = 0x0005,
	HC_DST6 = 0x0006,
	HC_SPORT = 0x0007,
	HC_DPORT = 0x0008,
	HC_TSEC = 0x0009,
	HC_TUSEC = 0x000a,
	HC_PTYPE = 0x000b,
	HC_CAPID = 0x000c,
	HC_AUTH = 0x000e,
	HC_PAYLOAD = 0x000f,
};

struct hep_buf {
	uint8_t b[HEP_MAX];
	size_t n;
	bool full;
};

static void put(struct hep_buf *hb, const void *p, size_t n)
{
	if (hb->full || hb->n + n > sizeof(hb->b)) {
		hb->full = true;
		return;
	}
	memcpy(hb->b + hb->n, p, n);
	hb->n += n;
}

static void put16(struct hep_buf *hb, uint16_t v)
{
	v = htons(v);
	put(hb, &v, 2);
}

static void chunk(struct hep_buf *hb, enum hep_chunk type, const void *p,
		  size_t n)
{
	put16(hb, HEP_VENDOR);
	put16(hb, type);
	put16(hb, (uint16_t)(n + 6 > 0xffff ? 0xffff : n + 6));
	put(hb, p, n);
}

static void chunk_u8(struct hep_buf *hb, enum hep_chunk type, uint8_t v)
{
	chunk(hb, type, &v, 1);
}

static void chunk_u16(struct hep_buf *hb, enum hep_chunk type, uint16_t v)
{
	v = htons(v);
	chunk(hb, type, &v, 2);
}

static void chunk_u32(struct hep_buf *hb, enum hep_chunk type, uint32_t v)
{
	v = htonl(v);
	chunk(hb, type, &v, 4);
}

/* An address of the family fam (the other end's when libre could not
 * tell its own): the wildcard if it has none. */
static void chunk_addr(struct hep_buf *hb, bool src, int fam,
		       const struct sa *sa)
{
	if (fam == AF_INET6) {
		struct in6_addr a = IN6ADDR_ANY_INIT;

		if (sa_af(sa) == AF_INET6)
			sa_in6(sa, a.s6_addr);
		chunk(hb, src ? HC_SRC6 : HC_DST6, &a, sizeof(a));
	}
	else {
		uint32_t a = sa_af(sa) == AF_INET ? htonl(sa_in(sa)) : 0;

		chunk(hb, src ? HC_SRC4 : HC_DST4, &a, sizeof(a));
	}
}

static void hep_encode(struct hep_buf *hb, const struct sbc_conf *conf,
		       enum sip_transp tp, const struct sa *src,
		       const struct sa *dst, const uint8_t *pkt, size_t len)
{
	int fam = sa_af(dst) == AF_INET6 || sa_af(src) == AF_INET6
		  ? AF_INET6 : AF_INET;
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	hb->n = 0;
	hb->full = false;
	put(hb, "HEP3", 4);
	put16(hb, 0);               /* the length, set at the end */
	chunk_u8(hb, HC_FAMILY, fam == AF_INET6 ? 10 : 2);
	chunk_u8(hb, HC_PROTO, tp == SIP_TRANSP_UDP ? IPPROTO_UDP
						    : IPPROTO_TCP);
	chunk_addr(hb, true, fam, src);
	chunk_addr(hb, false, fam, dst);
	chunk_u16(hb, HC_SPORT, sa_port(src));
	chunk_u16(hb, HC_DPORT, sa_port(dst));
	chunk_u32(hb, HC_TSEC, (uint32_t)ts.tv_sec);
	chunk_u32(hb, HC_TUSEC, (uint32_t)(ts.tv_nsec / 1000));
	chunk_u8(hb, HC_PTYPE, HEP_PROTO_SIP);
	chunk_u32(hb, HC_CAPID, conf->hep_capture_id);
	if (str_isset(conf->hep_password))
		chunk(hb, HC_AUTH, conf->hep_password,
		      strlen(conf->hep_password));
	chunk(hb, HC_PAYLOAD, pkt, len);
	if (!hb->full) {
		uint16_t n = htons((uint16_t)hb->n);

		memcpy(hb->b + 4, &n, 2);
	}
}

static void trace_h(bool tx, enum sip_transp tp, const struct sa *src,
		    const struct sa *dst, const uint8_t *pkt, size_t len,
		    void *arg)
{
	struct sbc *sbc = arg;
	struct trace *t = &sbc->trace;
	(void)tx;

	if (t->fd < 0 || store_silent(&sbc->store))
		return;
	hep_encode(t->buf, sbc->conf, tp, src, dst, pkt, len);
	if (t->buf->full
	    || send(t->fd, t->buf->b, t->buf->n, MSG_DONTWAIT) < 0)
		++sbc->stats.hep_dropped;
	else
		++sbc->stats.hep_sent;
}

int trace_init(struct sbc *sbc)
{
	const char *s = sbc->conf->hep_dest;
	struct trace *t = &sbc->trace;
	struct sa dst;
	int err;

	t->fd = -1;
	if (!str_isset(s))
		return 0;
	if (sa_decode(&dst, s, strlen(s)))
		return EINVAL;      /* conf.c has said so, with file:line */
	t->buf = mem_zalloc(sizeof(*t->buf), NULL);
	if (!t->buf)
		return ENOMEM;
	t->fd = socket(sa_af(&dst), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0);
	if (t->fd < 0 || connect(t->fd, &dst.u.sa, dst.len) < 0) {
		err = errno;
		LOGE(sbc, "hep_dest %s: %m", s, err);
		trace_close(sbc);
		return err;
	}
	for (int i = 0; i < SIDE_COUNT; i++)
		sip_set_trace_handler(sbc->side[i].sip, trace_h);
	LOGI(sbc, "SIP trace: HEPv3 to %J, capture id %u", &dst,
	     sbc->conf->hep_capture_id);
	return 0;
}

void trace_close(struct sbc *sbc)
{
	struct trace *t = &sbc->trace;

	for (int i = 0; i < SIDE_COUNT; i++)
		sip_set_trace_handler(sbc->side[i].sip, NULL);
	if (t->fd >= 0)
		(void)close(t->fd);
	t->fd = -1;
	t->buf = mem_deref(t->buf);
}
