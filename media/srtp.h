/*
 * srtp.h: SRTP termination for the relay (libsrtp2): SDES keys as
 * a=crypto lines (RFC 4568) parsed and generated, and one-way contexts
 * that protect or unprotect RTP and RTCP in place.  Prefix msrtp_:
 * libsrtp owns srtp_.
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

struct msrtp;

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

#endif
