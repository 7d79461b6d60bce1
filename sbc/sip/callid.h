/*
 * callid.h: Call-ID hiding.  A Call-ID that crosses sbcd is shown on the
 * other side in its other form: an original becomes "sbc" + hex of
 * (tag, AES-128-CTR of the original), a masked one becomes the original
 * again.  The tag is a MAC of the original, so the mapping needs no state,
 * is the same for every message of a dialog, and a forged mask is not
 * taken for one.  Keyed by the flow key (flow_key_file), so that a restart
 * or another node of a cluster maps the same way.
 */
#ifndef SBC_CALLID_H
#define SBC_CALLID_H

#include <re.h>

enum {
	CALLID_ORIG_MAX = 256,      /* longer ones cross unchanged */
	CALLID_TAG_LEN  = 8,
	CALLID_MASK_MAX = 3 + 2 * (CALLID_TAG_LEN + CALLID_ORIG_MAX) + 1,
};

int  callid_mask(char *buf, size_t size, const uint8_t key[32],
		 const struct pl *orig);
bool callid_unmask(char *buf, size_t size, struct pl *orig,
		   const uint8_t key[32], const struct pl *masked);
int  callid_cross(char *buf, size_t size, struct pl *out,
		  const uint8_t key[32], const struct pl *in);

#endif
