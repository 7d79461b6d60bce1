/*
 * callid.c: Call-ID hiding (callid.h).  Deterministic encryption of the
 * original (SIV style): the tag is HMAC-SHA256(k_mac, original) cut to 8
 * bytes and is also the counter block's start, so the same original
 * always gives the same mask and a mask decrypts only to the original
 * whose MAC it carries.
 */
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "callid.h"

static const char prefix[] = "sbc";

static int subkey(uint8_t out[32], const uint8_t key[32], const char *use)
{
	unsigned len = 32;

	return HMAC(EVP_sha256(), key, 32, (const uint8_t *)use, strlen(use),
		    out, &len) ? 0 : EPROTO;
}

static int tag_of(uint8_t tag[CALLID_TAG_LEN], const uint8_t key[32],
		  const uint8_t *p, size_t n)
{
	uint8_t k[32], md[32];
	unsigned len = sizeof(md);
	int err = subkey(k, key, "sbc callid mac");

	if (!err && !HMAC(EVP_sha256(), k, sizeof(k), p, n, md, &len))
		err = EPROTO;
	if (!err)
		memcpy(tag, md, CALLID_TAG_LEN);
	OPENSSL_cleanse(k, sizeof(k));
	return err;
}

/* AES-128-CTR from the counter block tag || 0: its own inverse. */
static int ctr(uint8_t *out, const uint8_t *in, size_t n,
	       const uint8_t key[32], const uint8_t tag[CALLID_TAG_LEN])
{
	uint8_t k[32], iv[16] = {0};
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0, err = subkey(k, key, "sbc callid enc");

	memcpy(iv, tag, CALLID_TAG_LEN);
	if (!c)
		err = ENOMEM;
	if (!err && (!EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, k, iv)
		     || !EVP_EncryptUpdate(c, out, &len, in, (int)n)
		     || (size_t)len != n))
		err = EPROTO;
	EVP_CIPHER_CTX_free(c);
	OPENSSL_cleanse(k, sizeof(k));
	return err;
}

int callid_mask(char *buf, size_t size, const uint8_t key[32],
		const struct pl *orig)
{
	uint8_t bin[CALLID_TAG_LEN + CALLID_ORIG_MAX];
	const size_t n = orig->l;
	size_t o;
	int err;

	if (!n || n > CALLID_ORIG_MAX)
		return E2BIG;
	if (size < sizeof(prefix) + 2 * (CALLID_TAG_LEN + n))
		return ENOMEM;
	err = tag_of(bin, key, (const uint8_t *)orig->p, n);
	err = err ? err : ctr(bin + CALLID_TAG_LEN, (const uint8_t *)orig->p,
			      n, key, bin);
	if (err)
		return err;
	memcpy(buf, prefix, sizeof(prefix) - 1);
	o = sizeof(prefix) - 1;
	for (size_t i = 0; i < CALLID_TAG_LEN + n; i++) {
		buf[o++] = "0123456789abcdef"[bin[i] >> 4];
		buf[o++] = "0123456789abcdef"[bin[i] & 15];
	}
	buf[o] = '\0';
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool callid_unmask(char *buf, size_t size, struct pl *orig,
		   const uint8_t key[32], const struct pl *masked)
{
	uint8_t bin[CALLID_TAG_LEN + CALLID_ORIG_MAX], tag[CALLID_TAG_LEN];
	const size_t pre = sizeof(prefix) - 1;
	size_t n;

	if (masked->l <= pre + 2 * CALLID_TAG_LEN || (masked->l - pre) % 2
	    || memcmp(masked->p, prefix, pre))
		return false;
	n = (masked->l - pre) / 2;
	if (n > sizeof(bin) || n - CALLID_TAG_LEN >= size)
		return false;
	for (size_t i = 0; i < n; i++) {
		const int hi = hexval(masked->p[pre + 2 * i]);
		const int lo = hexval(masked->p[pre + 2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		bin[i] = (uint8_t)(hi << 4 | lo);
	}
	n -= CALLID_TAG_LEN;
	if (ctr((uint8_t *)buf, bin + CALLID_TAG_LEN, n, key, bin)
	    || tag_of(tag, key, (const uint8_t *)buf, n)
	    || CRYPTO_memcmp(tag, bin, CALLID_TAG_LEN))
		return false;
	buf[n] = '\0';
	orig->p = buf;
	orig->l = n;
	return true;
}

/* The form a Call-ID takes on the other side: unmasked if it is a mask
 * of ours, masked otherwise (too long: unchanged). */
int callid_cross(char *buf, size_t size, struct pl *out,
		 const uint8_t key[32], const struct pl *in)
{
	int err;

	if (callid_unmask(buf, size, out, key, in))
		return 0;
	err = callid_mask(buf, size, key, in);
	if (err == E2BIG) {
		*out = *in;
		return 0;
	}
	if (!err)
		pl_set_str(out, buf);
	return err;
}
