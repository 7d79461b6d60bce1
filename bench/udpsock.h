/*
 * udpsock.h: the benchmark programs' UDP socket: non-blocking, 1 MB
 * buffers, bound to ip:port (retried a while: the ports lie in the
 * kernel's ephemeral range, where another program's short-lived socket
 * may hold one for a moment).
 */
#ifndef BENCH_UDPSOCK_H
#define BENCH_UDPSOCK_H

int udpsock_bind(const char *prog, const char *ip, unsigned port);

#endif
