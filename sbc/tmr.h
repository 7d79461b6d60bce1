/*
 * tmr.h: introspection for the O(1) timer implementation in tmr.c, which
 * replaces libre's tmr_* functions by interposition. The tmr_* API itself
 * stays the one declared in <re_tmr.h>.
 */
#ifndef SBC_TMR_H
#define SBC_TMR_H

#include <stdint.h>

/* Number of timers running in the calling thread's event loop. */
uint32_t tmr_sbc_count(void);

#endif
