/*
 * flow.h: the opaque flow token sbcd puts in the user part of its Path
 * entry: how to reach a registered client again (received transport,
 * address and port), authenticated so that the core side cannot forge one.
 */
#ifndef SBC_FLOW_H
#define SBC_FLOW_H

#include <re.h>

enum {
	FLOW_KEY_LEN   = 32,        /* HMAC-SHA256 key */
	FLOW_MAC_LEN   = 10,        /* truncated MAC: 80 bits */
	FLOW_TOKEN_MAX = 2 * (5 + 16 + FLOW_MAC_LEN) + 1,
};

int flow_key_init(uint8_t *key, const char *file);
int flow_encode(char *buf, size_t size, const uint8_t *key,
		enum sip_transp tp, const struct sa *addr);
int flow_decode(enum sip_transp *tp, struct sa *addr, const uint8_t *key,
		const struct pl *token);

#endif
