/*
 * srtp.c: SRTP termination (see srtp.h).  Suites: AES_CM_128_HMAC_SHA1_80
 * and _32 (RFC 4568; SRTCP keeps the 80-bit tag for _32, RFC 4568 6.2.2)
 * and AEAD_AES_128_GCM (RFC 7714).  Keys come from OpenSSL's RAND_bytes.
 *
 * A context is one direction: rx unprotects what the SRTP peer sends
 * with the key of its own a=crypto, tx protects what sbc sends it with
 * the key sbc offered.  Repeated sequence numbers are refused on the tx
 * side: a relay would otherwise encrypt two different payloads under one
 * keystream if the RTP side sent them.
 *
 * Rollover counter: libsrtp keeps one per stream (SSRC) and learns it
 * from the packets it sees; a new context starts every stream at ROC 0.
 * A context taking over a stream after 65,536 packets (a standby after a
 * failover) must be told: msrtp_roc_set() adds the stream and gives it
 * where the stream was (ROC and sequence number), and the ROC of its
 * first packet is estimated from that (RFC 3711 3.3.1), so that a stream
 * that wrapped during the failover continues right.  To know when to
 * tell, each context watches the sequence number of the RTP packets it
 * passes: the ROC can only move when the number goes down (a wrap, or a
 * late packet, or another SSRC), and the number is told as it enters
 * each quarter of its range; only then is libsrtp asked, so a packet
 * costs a compare and a store.  An estimate from a number told up to a
 * quarter ago is right while the stream went on less than 16,384
 * packets unseen (5 minutes at 50 packets a second).
 */
#include <string.h>
#include <openssl/rand.h>
#include <srtp2/srtp.h>
#include "srtp.h"
#include "store.h"

struct msrtp {
	srtp_t ctx;
	bool tx;
	struct msrtp_key key;       /* for a stream msrtp_roc_set() adds */
	/* the RTP stream, as the packets show it (the thread that
	 * protects or unprotects) */
	uint16_t seq;               /* of the last packet */
	bool used;                  /* a packet passed: libsrtp knows best */
	struct msrtp_roc cur;       /* the last change */
	struct msrtp_roc pending;   /* msrtp_roc_set()'s, for the 1st packet */
	struct msrtp_roc seen[2];
	unsigned next;
	msrtp_roc_h *roch;
	void *arg;
};

static const struct {
	const char *name;
	size_t len;
} suitev[] = {
	[MSRTP_NONE] = {"", 0},
	[MSRTP_AES_CM_128_HMAC_SHA1_80] = {"AES_CM_128_HMAC_SHA1_80",
					   SRTP_AES_ICM_128_KEY_LEN_WSALT},
	[MSRTP_AES_CM_128_HMAC_SHA1_32] = {"AES_CM_128_HMAC_SHA1_32",
					   SRTP_AES_ICM_128_KEY_LEN_WSALT},
	[MSRTP_AEAD_AES_128_GCM] = {"AEAD_AES_128_GCM",
				    SRTP_AES_GCM_128_KEY_LEN_WSALT},
};

int msrtp_init(void)
{
	return srtp_init() == srtp_err_status_ok ? 0 : ENOSYS;
}

void msrtp_close(void)
{
	(void)srtp_shutdown();
}

const char *msrtp_suite_name(enum msrtp_suite suite)
{
	return (unsigned)suite < ARRAY_SIZE(suitev) ? suitev[suite].name : "";
}

static int suite_of(const struct pl *name, enum msrtp_suite *s)
{
	for (size_t i = 1; i < ARRAY_SIZE(suitev); i++) {
		if (!pl_strcmp(name, suitev[i].name)) {
			*s = (enum msrtp_suite)i;
			return 0;
		}
	}
	return ENOTSUP;
}

int msrtp_key_gen(struct msrtp_key *k, enum msrtp_suite suite, uint32_t tag)
{
	if (!k || suite == MSRTP_NONE || (unsigned)suite >= ARRAY_SIZE(suitev)
	    || !tag || tag > 999999999)
		return EINVAL;
	memset(k, 0, sizeof(*k));
	k->suite = suite;
	k->tag = tag;
	k->len = suitev[suite].len;
	return RAND_bytes(k->key, (int)k->len) == 1 ? 0 : EIO;
}

/* inline:KEY[|LIFETIME][|MKI:LEN]: an MKI is not supported. */
static int key_param(struct msrtp_key *k, const struct pl *kp)
{
	struct pl v, seg;
	const char *bar;
	uint8_t buf[64];
	size_t n = sizeof(buf);

	if (kp->l < 7 || memcmp(kp->p, "inline:", 7))
		return EBADMSG;
	v.p = kp->p + 7;
	v.l = kp->l - 7;
	bar = pl_strchr(&v, '|');
	seg.p = bar ? bar + 1 : v.p + v.l;
	seg.l = (size_t)(v.p + v.l - seg.p);
	if (bar)
		v.l = (size_t)(bar - v.p);
	while (seg.l) {
		const char *b = pl_strchr(&seg, '|');
		struct pl one = {seg.p, b ? (size_t)(b - seg.p) : seg.l};

		if (pl_strchr(&one, ':'))
			return ENOTSUP;     /* MKI */
		pl_advance(&seg, one.l + (b ? 1 : 0));
	}
	if (!v.l || base64_decode(v.p, v.l, buf, &n)
	    || n != suitev[k->suite].len)
		return EBADMSG;
	memcpy(k->key, buf, n);
	k->len = n;
	return 0;
}

/* The value of an a=crypto line: TAG SUITE KEY-PARAMS [SESSION-PARAMS]. */
int msrtp_crypto_decode(struct msrtp_key *k, const struct pl *val)
{
	struct pl rest, tag, suite, kp, extra;

	if (!k || !val)
		return EINVAL;
	memset(k, 0, sizeof(*k));
	rest = *val;
	if (store_field(&rest, &tag) || store_field(&rest, &suite)
	    || store_field(&rest, &kp) || !store_digits(&tag, 9))
		return EBADMSG;
	if (suite_of(&suite, &k->suite))
		return ENOTSUP;
	k->tag = pl_u32(&tag);
	/* a second key (";inline:...") and session parameters
	 * (UNENCRYPTED_SRTP, KDR, ...) change the semantics: refused */
	if (pl_strchr(&kp, ';') || !store_field(&rest, &extra))
		return ENOTSUP;
	return key_param(k, &kp);
}

int msrtp_crypto_encode(struct mbuf *mb, const struct msrtp_key *k)
{
	char b64[64];
	size_t n = sizeof(b64);

	if (!mb || !k || k->suite == MSRTP_NONE || k->len > MSRTP_KEY_MAX
	    || base64_encode(k->key, k->len, b64, &n))
		return EINVAL;
	return mbuf_printf(mb, "%u %s inline:%b", k->tag,
			   msrtp_suite_name(k->suite), b64, n);
}

/* The first usable key of an offer's a=crypto lines. */
int msrtp_select(struct msrtp_key *k, const struct pl *cryptov,
		 uint32_t cryptoc)
{
	for (uint32_t i = 0; i < cryptoc; i++)
		if (!msrtp_crypto_decode(k, &cryptov[i]))
			return 0;
	return ENOTSUP;
}

static void destructor(void *arg)
{
	struct msrtp *s = arg;

	if (s->ctx)
		(void)srtp_dealloc(s->ctx);
	memset(&s->key, 0, sizeof(s->key));
}

static void policy_of(srtp_policy_t *p, enum msrtp_suite suite)
{
	switch (suite) {
	case MSRTP_AES_CM_128_HMAC_SHA1_32:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
		break;
	case MSRTP_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
		break;
	default:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
		break;
	}
}

/* key: a copy of k's bytes, which libsrtp wants writable. */
static void policy_init(srtp_policy_t *p, uint8_t *key,
			const struct msrtp_key *k)
{
	memset(p, 0, sizeof(*p));
	policy_of(p, k->suite);
	memcpy(key, k->key, k->len);
	p->key = key;
	p->window_size = 1024;      /* reordering through two networks */
	p->allow_repeat_tx = 0;
}

int msrtp_alloc(struct msrtp **sp, const struct msrtp_key *k, bool tx)
{
	srtp_policy_t pol;
	uint8_t key[MSRTP_KEY_MAX];
	struct msrtp *s;

	if (!sp || !k || k->suite == MSRTP_NONE
	    || (unsigned)k->suite >= ARRAY_SIZE(suitev)
	    || k->len != suitev[k->suite].len)
		return EINVAL;
	s = mem_zalloc(sizeof(*s), destructor);
	if (!s)
		return ENOMEM;
	policy_init(&pol, key, k);
	pol.ssrc.type = tx ? ssrc_any_outbound : ssrc_any_inbound;
	s->tx = tx;
	s->key = *k;
	/* no sequence number is above it: the first packet is looked at */
	s->seq = UINT16_MAX;
	if (srtp_create(&s->ctx, &pol) != srtp_err_status_ok) {
		s->ctx = NULL;
		mem_deref(s);
		return EPROTO;
	}
	*sp = s;
	return 0;
}

/* The last ROC seen of the stream of ssrc, or where to note it: two
 * streams, because a new SSRC may come while the old one still has
 * packets on the way (and alternating between them is no news). */
static struct msrtp_roc *roc_slot(struct msrtp *s, uint32_t ssrc)
{
	struct msrtp_roc *e;

	for (int i = 0; i < 2; i++)
		if (s->seen[i].set && s->seen[i].ssrc == ssrc)
			return &s->seen[i];
	e = &s->seen[s->next];
	s->next ^= 1;
	e->set = false;
	return e;
}

static uint32_t pkt_ssrc(const uint8_t *buf)
{
	return (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16
		| (uint32_t)buf[10] << 8 | buf[11];
}

/* Nothing a new context would need: ROC 0, in the first quarter. */
static bool roc_plain(const struct msrtp_roc *r)
{
	return !r->set || (!r->roc && r->seq < 0x4000);
}

/* The packet's stream as libsrtp now has it, after the packet passed. */
static void roc_look(struct msrtp *s, const uint8_t *buf, uint16_t seq)
{
	struct msrtp_roc r = {.set = true, .seq_set = true, .seq = seq}, *e;
	bool matters;

	s->seq = seq;
	s->used = true;
	r.ssrc = pkt_ssrc(buf);
	if (srtp_get_stream_roc(s->ctx, r.ssrc, &r.roc)
	    != srtp_err_status_ok)
		return;
	e = roc_slot(s, r.ssrc);
	if (e->set && e->roc == r.roc && e->seq >> 14 == seq >> 14)
		return;
	*e = r;
	/* a new context needs nothing at ROC 0 in the first quarter, so
	 * a stream that stays there is never told */
	matters = !roc_plain(&r) || !roc_plain(&s->cur);
	s->cur = r;
	if (matters && s->roch)
		s->roch(&r, s->tx, s->arg);
}

/* Per RTP packet that passed: a number above the last one in the same
 * quarter cannot have moved the ROC nor need telling (a new SSRC
 * numbered higher is looked at as it enters the next quarter). */
static inline void roc_track(struct msrtp *s, const uint8_t *buf)
{
	const uint16_t seq = (uint16_t)(buf[2] << 8 | buf[3]);

	if (seq > s->seq && !((seq ^ s->seq) & 0xc000))
		s->seq = seq;
	else
		roc_look(s, buf, seq);
}

/* The stream of ssrc continues at roc (libsrtp takes it for the next
 * packet), added from the context's template if it has none yet. */
static int stream_roc(struct msrtp *s, uint32_t ssrc, uint32_t roc)
{
	srtp_err_status_t e = srtp_set_stream_roc(s->ctx, ssrc, roc);

	if (e == srtp_err_status_bad_param) {
		/* no stream of that SSRC: its first packet would take the
		 * template's, at ROC 0 */
		srtp_policy_t pol;
		uint8_t key[MSRTP_KEY_MAX];

		policy_init(&pol, key, &s->key);
		pol.ssrc.type = ssrc_specific;
		pol.ssrc.value = ssrc;
		e = srtp_add_stream(s->ctx, &pol);
		if (e == srtp_err_status_ok)
			e = srtp_set_stream_roc(s->ctx, ssrc, roc);
	}
	if (e != srtp_err_status_ok)
		return e == srtp_err_status_alloc_fail ? ENOMEM : EPROTO;
	return 0;
}

/*
 * The first RTP packet after msrtp_roc_set() with a sequence number: its
 * ROC, estimated as RFC 3711 3.3.1 does from the number told (s_l), not
 * taken as told, since the stream may have wrapped while no context saw
 * it.  A packet of another SSRC starts its own stream at ROC 0.
 */
static void roc_first(struct msrtp *s, const uint8_t *buf)
{
	const struct msrtp_roc p = s->pending;
	const int seq = buf[2] << 8 | buf[3], sl = p.seq;
	uint32_t roc = p.roc;

	s->pending.set = false;
	if (pkt_ssrc(buf) != p.ssrc)
		return;
	if (sl < 0x8000 && seq - sl > 0x8000 && roc)
		--roc;                  /* a late packet of the last ROC */
	else if (sl >= 0x8000 && seq < sl - 0x8000)
		++roc;                  /* wrapped meanwhile */
	if (roc)
		(void)stream_roc(s, p.ssrc, roc);
}

/* size: the room in buf, at least *len + MSRTP_TRAILER. */
int msrtp_protect(struct msrtp *s, uint8_t *buf, size_t *len, size_t size,
		  bool rtcp)
{
	int n = (int)*len;
	srtp_err_status_t e;

	if (!s || !s->tx || *len + MSRTP_TRAILER > size
	    || *len < (rtcp ? 8u : 12u))
		return EINVAL;
	if (!rtcp && s->pending.set)
		roc_first(s, buf);
	e = rtcp ? srtp_protect_rtcp(s->ctx, buf, &n)
		 : srtp_protect(s->ctx, buf, &n);
	if (e != srtp_err_status_ok)
		return EPROTO;
	*len = (size_t)n;
	if (!rtcp)
		roc_track(s, buf);
	return 0;
}

int msrtp_unprotect(struct msrtp *s, uint8_t *buf, size_t *len, bool rtcp)
{
	int n = (int)*len;
	srtp_err_status_t e;

	if (!s || s->tx || *len < (rtcp ? 8u : 12u))
		return EINVAL;
	if (!rtcp && s->pending.set)
		roc_first(s, buf);
	e = rtcp ? srtp_unprotect_rtcp(s->ctx, buf, &n)
		 : srtp_unprotect(s->ctx, buf, &n);
	if (e != srtp_err_status_ok)
		return EAUTH;
	*len = (size_t)n;
	if (!rtcp)
		roc_track(s, buf);
	return 0;
}

/* RTCP on an RTP port (rtcp-mux): packet types 192-223 (RFC 5761 4). */
bool msrtp_is_rtcp(const uint8_t *buf, size_t len)
{
	return len >= 2 && buf[1] >= 192 && buf[1] <= 223;
}

/* h: called when the stream's ROC changes (see msrtp_roc_h).  Set it
 * before the context is handed to the thread that uses it. */
void msrtp_set_roch(struct msrtp *s, msrtp_roc_h *h, void *arg)
{
	if (!s)
		return;
	s->roch = h;
	s->arg = arg;
}

/* The stream of the last RTP packet (or of msrtp_roc_set()), on the
 * thread that uses the context. */
void msrtp_roc_get(const struct msrtp *s, struct msrtp_roc *r)
{
	if (r)
		*r = s ? s->cur : (struct msrtp_roc){0};
}

/* A context continues a stream another context had got to (a standby
 * taking over): the stream of r's SSRC starts at r's ROC.  Only for a
 * context that has passed no RTP packet yet (EALREADY): libsrtp applies
 * a given ROC until its estimate jumps, and on a live stream that would
 * refuse the packets after its next wrap.  ROC 0 is where streams start
 * anyway.  Called again before the first packet, the last call wins. */
int msrtp_roc_set(struct msrtp *s, const struct msrtp_roc *r)
{
	int err;

	if (!s || !r)
		return EINVAL;
	if (s->used)
		return EALREADY;
	if (!r->set)
		return 0;
	if (r->seq_set) {
		/* estimated at the first packet (roc_first) */
		s->pending = *r;
	}
	else if (r->roc) {
		err = stream_roc(s, r->ssrc, r->roc);
		if (err)
			return err;
	}
	s->cur = *roc_slot(s, r->ssrc) = *r;
	return 0;
}
