/*
 * srtp.h: SRTP termination for the relay (libsrtp2): SDES keys as
 * a=crypto lines (RFC 4568) parsed and generated, and one-way contexts
 * that protect or unprotect RTP and RTCP in place.  A context tracks the
 * rollover counter of its RTP stream, so that another context (a
 * standby's, after a failover) can continue the stream where it was.
 * Prefix msrtp_: libsrtp owns srtp_.
 */
#ifndef SBC_MSRTP_H
#define SBC_MSRTP_H

#include <re.h>

enum msrtp_suite {
	MSRTP_NONE = 0,
	MSRTP_AES_CM_128_HMAC_SHA1_80,
	MSRTP_AES_CM_128_HMAC_SHA1_32,
	MSRTP_AEAD_AES_128_GCM,
};

enum {
	MSRTP_KEY_MAX = 30,         /* master key + salt */
	MSRTP_TRAILER = 148,        /* room protect needs after a packet */
};

/* One SDES key: what one a=crypto line carries. */
struct msrtp_key {
	enum msrtp_suite suite;
	uint32_t tag;
	uint8_t key[MSRTP_KEY_MAX];
	size_t len;
};

/* Where an SRTP stream is (RFC 3711 3.3.1): its SSRC, the rollover
 * counter (the high 32 bits of the packet index that the 16-bit sequence
 * number does not carry) and the sequence number, told as it enters each
 * quarter of its 65,536.  What a context needs to continue a stream that
 * another context protected or unprotected before, even when the stream
 * wrapped while nobody carried it (a failover): the ROC of its first
 * packet is estimated from the number told, as RFC 3711 3.3.1 estimates
 * it from the last one seen. */
struct msrtp_roc {
	uint32_t ssrc;
	uint32_t roc;
	bool set;                   /* false: nothing known (ROC 0) */
	bool seq_set;               /* false: the ROC alone, as is */
	uint16_t seq;
};

struct msrtp;

/* Called by msrtp_protect()/msrtp_unprotect(), on their thread, when the
 * ROC of the context's stream changed (a wrap of the sequence number, or
 * another SSRC while one of them is past ROC 0). */
typedef void (msrtp_roc_h)(const struct msrtp_roc *r, bool tx, void *arg);

/* libsrtp is process-wide: once at start, once at exit. */
int  msrtp_init(void);
void msrtp_close(void);

const char *msrtp_suite_name(enum msrtp_suite suite);
int  msrtp_key_gen(struct msrtp_key *k, enum msrtp_suite suite,
		   uint32_t tag);
int  msrtp_crypto_decode(struct msrtp_key *k, const struct pl *val);
int  msrtp_crypto_encode(struct mbuf *mb, const struct msrtp_key *k);
int  msrtp_select(struct msrtp_key *k, const struct pl *cryptov,
		  uint32_t cryptoc);

int  msrtp_alloc(struct msrtp **sp, const struct msrtp_key *k, bool tx);
int  msrtp_protect(struct msrtp *s, uint8_t *buf, size_t *len, size_t size,
		   bool rtcp);
int  msrtp_unprotect(struct msrtp *s, uint8_t *buf, size_t *len, bool rtcp);
bool msrtp_is_rtcp(const uint8_t *buf, size_t len);
void msrtp_set_roch(struct msrtp *s, msrtp_roc_h *h, void *arg);
void msrtp_roc_get(const struct msrtp *s, struct msrtp_roc *r);
int  msrtp_roc_set(struct msrtp *s, const struct msrtp_roc *r);

#endif
