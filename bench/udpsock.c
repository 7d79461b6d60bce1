/*
 * udpsock.c: see udpsock.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "udpsock.h"

int udpsock_bind(const char *prog, const char *ip, unsigned port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port)};
	int fd, rc, t = 0, sz = 1 << 20;

	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	while ((rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa))) < 0 &&
	       errno == EADDRINUSE && t++ < 40)
		usleep(50000);
	if (rc < 0) {
		fprintf(stderr, "%s: bind %s:%u: %s\n", prog, ip, port,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
