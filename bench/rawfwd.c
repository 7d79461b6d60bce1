/* bench/rawfwd.c: the raw ceiling of the media benchmark (bench/media.sh).
 *
 * The least a UDP relay can do: one thread, epoll, and per stream a pair of
 * sockets; what arrives on the A-side socket is sent from the B-side socket
 * to the fixed B destination and the reverse, in batches (recvmmsg, then one
 * sendmmsg).  No latching, no parsing, no counters beyond a total, no
 * allocation per packet.  What sbcd and rtpengine do on top of this is their
 * cost.
 *
 * Input (-f): the generator's stream file, one line per stream
 *   a_local_port relay_addr_A relay_port_A b_local_port relay_addr_B relay_port_B
 * rawfwd binds relay_addr_A:relay_port_A and relay_addr_B:relay_port_B and
 * forwards to -a ADDR:a_local_port and -b ADDR:b_local_port.  It runs until
 * SIGTERM/SIGINT and then prints "forwarded=N" on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include "udpsock.h"

enum { BATCH = 64, MTU = 2048 };

struct pair {
	int fd[2];                  /* relay side A, relay side B */
	struct sockaddr_in dst[2];  /* where what arrives on fd[k] goes */
};

static volatile sig_atomic_t stop;

static void on_sig(int sig)
{
	(void)sig;
	stop = 1;
}

static int dst_set(struct sockaddr_in *sa, const char *ip, unsigned port)
{
	*sa = (struct sockaddr_in){.sin_family = AF_INET,
				   .sin_port = htons((uint16_t)port)};
	return inet_pton(AF_INET, ip, &sa->sin_addr) == 1 ? 0 : -1;
}

static struct pair *load(const char *file, const char *ipa, const char *ipb,
			 int ep, size_t *np)
{
	FILE *f = fopen(file, "r");
	struct pair *pv = NULL;
	size_t n = 0, cap = 0;
	char ra[64], rb[64];
	unsigned pa, pra, pb, prb;

	if (!f)
		return NULL;
	while (fscanf(f, "%u %63s %u %u %63s %u", &pa, ra, &pra, &pb, rb,
		      &prb) == 6) {
		struct pair *p;

		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			pv = realloc(pv, cap * sizeof(*pv));
			if (!pv)
				return NULL;
		}
		p = &pv[n];
		p->fd[0] = udpsock_bind("rawfwd", ra, pra);
		p->fd[1] = udpsock_bind("rawfwd", rb, prb);
		/* A-side arrivals go to B's socket, and back */
		if (p->fd[0] < 0 || p->fd[1] < 0 ||
		    dst_set(&p->dst[0], ipb, pb) ||
		    dst_set(&p->dst[1], ipa, pa))
			return NULL;
		for (int k = 0; k < 2; k++) {
			struct epoll_event ev = {.events = EPOLLIN,
				.data.u64 = (uint64_t)n << 1 | (unsigned)k};

			if (epoll_ctl(ep, EPOLL_CTL_ADD, p->fd[k], &ev) < 0)
				return NULL;
		}
		n++;
	}
	fclose(f);
	*np = n;
	return n ? pv : NULL;
}

int main(int argc, char **argv)
{
	static uint8_t buf[BATCH][MTU];
	struct mmsghdr mv[BATCH];
	struct iovec iov[BATCH];
	struct rlimit rl = {65536, 65536};
	const char *file = NULL, *ipa = NULL, *ipb = NULL;
	unsigned long long fwd = 0;
	struct sigaction sa = {.sa_handler = on_sig};
	struct pair *pv;
	size_t n = 0;
	int ep, c;

	while ((c = getopt(argc, argv, "f:a:b:")) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 'a': ipa = optarg; break;
		case 'b': ipb = optarg; break;
		default: return 2;
		}
	}
	if (!file || !ipa || !ipb) {
		fprintf(stderr, "usage: rawfwd -f STREAMS -a A_ADDR -b B_ADDR\n");
		return 2;
	}
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	ep = epoll_create1(EPOLL_CLOEXEC);
	pv = ep < 0 ? NULL : load(file, ipa, ipb, ep, &n);
	if (!pv) {
		fprintf(stderr, "rawfwd: cannot set up the streams of %s\n",
			file);
		return 1;
	}
	fprintf(stderr, "rawfwd: ready, %zu streams\n", n);
	while (!stop) {
		struct epoll_event ev[256];
		int ne = epoll_wait(ep, ev, 256, 200);

		for (int j = 0; j < ne; j++) {
			struct pair *p = &pv[ev[j].data.u64 >> 1];
			int k = (int)(ev[j].data.u64 & 1), m;

			for (int i = 0; i < BATCH; i++) {
				iov[i] = (struct iovec){buf[i], MTU};
				mv[i] = (struct mmsghdr){.msg_hdr = {
					.msg_iov = &iov[i], .msg_iovlen = 1}};
			}
			m = recvmmsg(p->fd[k], mv, BATCH, 0, NULL);
			if (m <= 0)
				continue;
			for (int i = 0; i < m; i++) {
				iov[i].iov_len = mv[i].msg_len;
				mv[i].msg_hdr.msg_name = &p->dst[k];
				mv[i].msg_hdr.msg_namelen = sizeof(p->dst[k]);
			}
			m = sendmmsg(p->fd[!k], mv, (unsigned)m, 0);
			if (m > 0)
				fwd += (unsigned)m;
		}
	}
	printf("forwarded=%llu\n", fwd);
	return 0;
}
