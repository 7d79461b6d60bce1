/*
 * screen.c: the screening phase.  Emergency calls are never screened.
 * Returns 0 to let the request go on, or an errno with ctx->scode set to
 * the answer (0: drop silently).  The rules arrive with the screening
 * issue; the phase is in place so the pipeline's shape does not change.
 */
#include "sbc.h"

int screen_request(struct req_ctx *ctx)
{
	if (ctx->emergency)
		return 0;
	return 0;
}
