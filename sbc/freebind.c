/*
 * freebind.c: the sockets of a cluster node bind the service addresses
 * before those are local (IP_FREEBIND), so that a standby is ready the
 * moment an address moves to it.  libre binds its SIP listeners itself
 * and offers no hook before bind(), so this bind() replaces libc's in
 * the executable (exported, like sbc/tmr.c's timers): libre.so's PLT
 * calls reach it.  Off unless freebind_enable() was called.
 *
 * The connections sbcd opens (TCP and TLS towards a peer, after a
 * failover towards a caller's or callee's new address) must leave from
 * the service address of their side too, not from the node's own: a peer
 * that admits the service address only, or a NAT pinhole, sees the same
 * source before and after a failover.  libre 1.1's SIP transport connects
 * without binding, so connect() is replaced the same way: while the SIP
 * code sends on a side (listen_source()), an unbound stream socket is
 * bound to that side's address first.
 */
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include "freebind.h"

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
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

/* A stream socket of the source's family that bind() never saw. */
static bool unbound_stream(int fd, const struct sockaddr *source)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int type = 0;
	socklen_t tlen = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen)
	    || type != SOCK_STREAM
	    || getsockname(fd, (struct sockaddr *)&ss, &len)
	    || ss.ss_family != source->sa_family)
		return false;
	if (ss.ss_family == AF_INET)
		return !((struct sockaddr_in *)&ss)->sin_port;
	return !((struct sockaddr_in6 *)&ss)->sin6_port;
}

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	socklen_t source_len = 0;
	const struct sockaddr *source = freebind_source_get(&source_len);

	if (source && addr && addr->sa_family == source->sa_family
	    && unbound_stream(fd, source)) {
		const int one = 1;

		/* the side's address has port 0: the kernel picks the port
		 * at connect() by the whole 4-tuple (IP_BIND_ADDRESS_NO_PORT),
		 * so that one source address does not run out of ports after
		 * ~28,000; a failed bind leaves the kernel's choice (a
		 * connection from the node's own address beats none) */
		(void)setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one,
				 sizeof(one));
		(void)bind(fd, source, source_len);
	}
	return (int)syscall(SYS_connect, fd, addr, len);
}
