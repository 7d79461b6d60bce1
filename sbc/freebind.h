/*
 * freebind.h: IP_FREEBIND on every bind() of the process (freebind.c).
 */
#ifndef SBC_FREEBIND_H
#define SBC_FREEBIND_H

#include <stdbool.h>

void freebind_enable(void);

#endif
