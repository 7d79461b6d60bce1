/*
 * freebind.c: the sockets of a cluster node bind the service addresses
 * before those are local (IP_FREEBIND), so that a standby is ready the
 * moment an address moves to it.  libre binds its SIP listeners itself
 * and offers no hook before bind(), so this bind() replaces libc's in
 * the executable (exported, like sbc/tmr.c's timers): libre.so's PLT
 * calls reach it.  Off unless freebind_enable() was called.
 */
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include "freebind.h"

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

/* Process-wide, like the socket calls it changes: set once at start-up,
 * before the first socket. */
static bool freebind_on;

void freebind_enable(void)
{
	freebind_on = true;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	const int one = 1;

	if (freebind_on && addr && addr->sa_family == AF_INET)
		(void)setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof(one));
	else if (freebind_on && addr && addr->sa_family == AF_INET6)
		(void)setsockopt(fd, SOL_IPV6, IPV6_FREEBIND, &one,
				 sizeof(one));
	return (int)syscall(SYS_bind, fd, addr, len);
}
