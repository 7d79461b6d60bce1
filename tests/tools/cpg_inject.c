/*
 * cpg-inject: a stranger on the pair's CPG group, for the cluster tests'
 * bad input.  Joins GROUP, multicasts each MESSAGE argument (with "\n"
 * written as a backslash and n) in agreed order, waits until Corosync
 * delivered the last one back (so every member got them all), leaves.
 *   cpg-inject GROUP MESSAGE...
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>
#include <corosync/cpg.h>

static int delivered;

static void deliver(cpg_handle_t h, const struct cpg_name *g, uint32_t node,
		    uint32_t pid, void *msg, size_t len)
{
	(void)h; (void)g; (void)node; (void)msg; (void)len;
	if (pid == (uint32_t)getpid())
		++delivered;
}

static void confchg(cpg_handle_t h, const struct cpg_name *g,
		    const struct cpg_address *m, size_t nm,
		    const struct cpg_address *l, size_t nl,
		    const struct cpg_address *j, size_t nj)
{
	(void)h; (void)g; (void)m; (void)nm; (void)l; (void)nl; (void)j;
	(void)nj;
}

static size_t unescape(char *s)
{
	size_t n = 0;

	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '\\' && s[i + 1] == 'n') {
			s[n++] = '\n';
			++i;
		}
		else {
			s[n++] = s[i];
		}
	}
	return n;
}

int main(int argc, char *argv[])
{
	cpg_callbacks_t cb = {.cpg_deliver_fn = deliver,
			      .cpg_confchg_fn = confchg};
	struct cpg_name group;
	cpg_handle_t h;
	int fd, sent = 0;

	if (argc < 3 || strlen(argv[1]) >= sizeof(group.value)) {
		fprintf(stderr, "usage: cpg-inject GROUP MESSAGE...\n");
		return 2;
	}
	group.length = (uint32_t)strlen(argv[1]);
	memcpy(group.value, argv[1], group.length);
	if (cpg_initialize(&h, &cb) != CS_OK || cpg_join(h, &group) != CS_OK
	    || cpg_fd_get(h, &fd) != CS_OK) {
		fprintf(stderr, "cpg-inject: cannot join %s\n", argv[1]);
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		struct iovec iov = {argv[i], unescape(argv[i])};
		cs_error_t e;

		for (int t = 0; t < 1000; t++) {
			e = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1);
			if (e != CS_ERR_TRY_AGAIN)
				break;
			(void)poll(NULL, 0, 5);
		}
		if (e != CS_OK) {
			fprintf(stderr, "cpg-inject: multicast: %d\n", e);
			return 1;
		}
		++sent;
	}
	/* bounded: 10 s for our own messages to come back */
	for (int t = 0; t < 100 && delivered < sent; t++) {
		struct pollfd p = {fd, POLLIN, 0};

		if (poll(&p, 1, 100) > 0)
			(void)cpg_dispatch(h, CS_DISPATCH_ALL);
	}
	(void)cpg_leave(h, &group);
	(void)cpg_finalize(h);
	if (delivered < sent) {
		fprintf(stderr, "cpg-inject: %d of %d delivered\n", delivered,
			sent);
		return 1;
	}
	return 0;
}
