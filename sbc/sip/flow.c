/*
 * flow.c: the flow token of sbcd's Path entries (RFC 3327, in the manner
 * of RFC 5626's flow tokens).  A client's REGISTER goes to the registrar
 * with Path: <sip:TOKEN@core-address;transport=T;lr;ob>, and requests for
 * that client come back with TOKEN in their top Route: the token alone
 * says where to send them.
 *
 * TOKEN is lowercase hex of
 *   version (1) | transport (1) | family (1: 4 or 6) | port (2, network
 *   order) | address (4 or 16) | MAC (10)
 * where MAC is HMAC-SHA256 over the bytes before it, truncated to 80
 * bits, keyed by a random key drawn at start-up.  The core side sees the
 * token but cannot make one: a forged or altered token is refused, so a
 * request from the core cannot be sent to an address of its choosing.
 * A restart draws a new key, after which clients must register again.
 */
#include <ctype.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include "flow.h"

enum { FLOW_VERSION = 1, FLOW_BIN_MAX = 5 + 16 + FLOW_MAC_LEN };

static int key_read(uint8_t *key, const char *file)
{
	uint8_t buf[FLOW_KEY_LEN + 1];
	ssize_t n;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno;
	n = read(fd, buf, sizeof(buf));
	(void)close(fd);
	if (n != FLOW_KEY_LEN)
		return EINVAL;
	memcpy(key, buf, FLOW_KEY_LEN);
	return 0;
}

/* A new key, written where only its owner can read it. */
static int key_write(const uint8_t *key, const char *file)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int err = 0;

	if (fd < 0)
		return errno;
	if (write(fd, key, FLOW_KEY_LEN) != FLOW_KEY_LEN)
		err = EIO;
	if (close(fd) && !err)
		err = errno;
	if (err)
		(void)unlink(file);
	return err;
}

/* The key of the flow tokens: from file when one is given (created the
 * first time), so that a restart keeps the registrations reachable;
 * else new at each start. */
int flow_key_init(uint8_t *key, const char *file)
{
	int err;

	if (file && file[0]) {
		err = key_read(key, file);
		if (err != ENOENT)
			return err;
	}
	if (RAND_bytes(key, FLOW_KEY_LEN) != 1)
		return EIO;
	return file && file[0] ? key_write(key, file) : 0;
}

static int mac(uint8_t *out, const uint8_t *key, const uint8_t *p,
	       size_t n)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (!HMAC(EVP_sha256(), key, FLOW_KEY_LEN, p, n, md, &mdlen)
	    || mdlen < FLOW_MAC_LEN)
		return EIO;
	memcpy(out, md, FLOW_MAC_LEN);
	return 0;
}

int flow_encode(char *buf, size_t size, const uint8_t *key,
		enum sip_transp tp, const struct sa *addr)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[FLOW_BIN_MAX];
	const uint16_t port = sa_port(addr);
	size_t n = 0;
	int err;

	if (!buf || !key || !addr || !port || tp < 0 || tp >= SIP_TRANSPC)
		return EINVAL;
	b[n++] = FLOW_VERSION;
	b[n++] = (uint8_t)tp;
	switch (sa_af(addr)) {
	case AF_INET:
		b[n++] = 4;
		b[n++] = port >> 8;
		b[n++] = port & 0xff;
		memcpy(&b[n], &addr->u.in.sin_addr, 4);
		n += 4;
		break;
	case AF_INET6:
		b[n++] = 6;
		b[n++] = port >> 8;
		b[n++] = port & 0xff;
		memcpy(&b[n], &addr->u.in6.sin6_addr, 16);
		n += 16;
		break;
	default:
		return EAFNOSUPPORT;
	}
	err = mac(&b[n], key, b, n);
	if (err)
		return err;
	n += FLOW_MAC_LEN;
	if (size < 2 * n + 1)
		return ENOBUFS;
	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = hex[b[i] >> 4];
		buf[2 * i + 1] = hex[b[i] & 15];
	}
	buf[2 * n] = '\0';
	return 0;
}

static int unhex(uint8_t *b, size_t *n, const struct pl *token)
{
	if (token->l % 2 || token->l > 2 * FLOW_BIN_MAX)
		return EBADMSG;
	for (size_t i = 0; i < token->l; i += 2) {
		int hi = ch_hex(token->p[i]), lo = ch_hex(token->p[i + 1]);

		/* ch_hex() maps anything else to 0: insist on real digits */
		if (!isxdigit((unsigned char)token->p[i])
		    || !isxdigit((unsigned char)token->p[i + 1]))
			return EBADMSG;
		b[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*n = token->l / 2;
	return 0;
}

/* EBADMSG: not a token of ours; EPERM: the MAC does not match (forged,
 * altered, or made before a restart). */
int flow_decode(enum sip_transp *tp, struct sa *addr, const uint8_t *key,
		const struct pl *token)
{
	uint8_t b[FLOW_BIN_MAX], m[FLOW_MAC_LEN];
	size_t n, alen;
	uint16_t port;
	int err;

	if (!tp || !addr || !key || !token)
		return EINVAL;
	err = unhex(b, &n, token);
	if (err)
		return err;
	if (n < 5 || b[0] != FLOW_VERSION)
		return EBADMSG;
	alen = b[2] == 4 ? 4 : b[2] == 6 ? 16 : 0;
	if (!alen || n != 5 + alen + FLOW_MAC_LEN)
		return EBADMSG;
	err = mac(m, key, b, 5 + alen);
	if (err)
		return err;
	if (CRYPTO_memcmp(m, &b[5 + alen], FLOW_MAC_LEN))
		return EPERM;
	if (b[1] >= SIP_TRANSPC)
		return EBADMSG;

	port = (uint16_t)(b[3] << 8 | b[4]);
	if (alen == 4) {
		sa_init(addr, AF_INET);
		memcpy(&addr->u.in.sin_addr, &b[5], 4);
	}
	else {
		sa_init(addr, AF_INET6);
		memcpy(&addr->u.in6.sin6_addr, &b[5], 16);
	}
	sa_set_port(addr, port);
	*tp = (enum sip_transp)b[1];
	return 0;
}
