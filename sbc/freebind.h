/*
 * freebind.h: IP_FREEBIND on every bind() of the process, and the source
 * address of the connections the SIP thread opens (freebind.c).
 */
#ifndef SBC_FREEBIND_H
#define SBC_FREEBIND_H

#include <stdbool.h>
#include <sys/socket.h>

void freebind_enable(void);
/* The source the calling thread's connections take now (NULL: the
 * kernel's choice), as listen_source() set it; in sbccore (listen.c). */
const struct sockaddr *freebind_source_get(socklen_t *len);

#endif
