/*
 * srtp_tool.c: one SRTP packet protected or unprotected with the key of
 * an a=crypto value, through sbcd's own libsrtp2 wrapper, so that a test
 * can play an SRTP phone:
 *   srtp-tool protect   'TAG SUITE inline:KEY' HEX   -> HEX of SRTP
 *   srtp-tool unprotect 'TAG SUITE inline:KEY' HEX   -> HEX of RTP
 * Exit 1 if the packet does not authenticate, 2 on bad use.
 */
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "srtp.h"

static size_t unhex(uint8_t *buf, size_t size, const char *hex)
{
	size_t n = 0;
	unsigned v;

	while (hex[0] && hex[1] && n < size && sscanf(hex, "%2x", &v) == 1) {
		buf[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

int main(int argc, char *argv[])
{
	uint8_t buf[2048];
	struct msrtp_key k;
	struct msrtp *s = NULL;
	struct pl val;
	size_t len;
	bool tx;
	int err;

	if (argc != 4 || (strcmp(argv[1], "protect")
			  && strcmp(argv[1], "unprotect"))) {
		fprintf(stderr, "usage: srtp-tool protect|unprotect CRYPTO "
			"HEX\n");
		return 2;
	}
	tx = !strcmp(argv[1], "protect");
	pl_set_str(&val, argv[2]);
	len = unhex(buf, sizeof(buf) - MSRTP_TRAILER, argv[3]);
	if (libre_init() || msrtp_init() || msrtp_crypto_decode(&k, &val)
	    || msrtp_alloc(&s, &k, tx)) {
		fprintf(stderr, "srtp-tool: bad key or libsrtp2\n");
		return 2;
	}
	err = tx ? msrtp_protect(s, buf, &len, sizeof(buf), false)
		 : msrtp_unprotect(s, buf, &len, false);
	if (!err) {
		for (size_t i = 0; i < len; i++)
			printf("%02x", buf[i]);
		printf("\n");
	}
	mem_deref(s);
	msrtp_close();
	libre_close();
	return err ? 1 : 0;
}
