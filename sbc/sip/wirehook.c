/*
 * wirehook.c: where sbcd reaches into libre's SIP transports (wire.c does
 * the work).  libre 1.1 decodes each message in its transport and, when it
 * cannot, drops a datagram (printing to stderr) or closes a stream without
 * a word.  It offers no hook there, so five of its functions are replaced
 * in the executable (exported, like sbc/tmr.c's timers; libre.so's PLT
 * calls reach them) and call the real ones:
 *   udp_listen  a side's SIP socket gets wire.c's receive handler, which
 *               calls libre's;
 *   tcp_accept  a side's SIP connection gets wire.c's handlers, which
 *               hand libre whole messages only;
 *   tcp_connect the same for a connection libre's SIP transport opens
 *               while sbcd sends on a side, and tls_start_tcp tells
 *               wire.c when TLS runs on one;
 *   re_fprintf  what libre itself prints to stderr becomes a log line.
 * Everything else goes straight to the real function.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <re.h>
#include "wire.h"

typedef int (udp_listen_f)(struct udp_sock **, const struct sa *,
			   udp_recv_h *, void *);
typedef int (tcp_accept_f)(struct tcp_conn **, struct tcp_sock *,
			   tcp_estab_h *, tcp_recv_h *, tcp_close_h *, void *);
typedef int (tcp_connect_f)(struct tcp_conn **, const struct sa *,
			    tcp_estab_h *, tcp_recv_h *, tcp_close_h *,
			    void *);
typedef int (tls_start_tcp_f)(struct tls_conn **, struct tls *,
			      struct tcp_conn *, int);

static void *real(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

int udp_listen(struct udp_sock **usp, const struct sa *local,
	       udp_recv_h *rh, void *arg)
{
	static udp_listen_f *f;
	struct wire_udp *wu;
	int err;

	if (!f)
		f = (udp_listen_f *)real("udp_listen");
	wu = wire_udp_claim(rh, arg);
	if (!wu)
		return f(usp, local, rh, arg);
	err = f(usp, local, wire_udp_recv, wu);
	wire_udp_bound(wu, err ? NULL : *usp);
	return err;
}

int tcp_accept(struct tcp_conn **tcp, struct tcp_sock *ts, tcp_estab_h *eh,
	       tcp_recv_h *rh, tcp_close_h *ch, void *arg)
{
	static tcp_accept_f *f;
	struct wire_conn *wc;
	int err;

	if (!f)
		f = (tcp_accept_f *)real("tcp_accept");
	wc = wire_conn_claim(ts, eh, rh, ch, arg);
	if (!wc)
		return f(tcp, ts, eh, rh, ch, arg);
	err = f(tcp, ts, wire_conn_estab, wire_conn_recv, wire_conn_close, wc);
	wire_conn_accepted(wc, err ? NULL : *tcp);
	return err;
}

int tcp_connect(struct tcp_conn **tcp, const struct sa *peer,
		tcp_estab_h *eh, tcp_recv_h *rh, tcp_close_h *ch, void *arg)
{
	static tcp_connect_f *f;
	struct wire_conn *wc;
	int err;

	if (!f)
		f = (tcp_connect_f *)real("tcp_connect");
	wc = wire_conn_claim_out(eh, rh, ch, arg);
	if (!wc)
		return f(tcp, peer, eh, rh, ch, arg);
	err = f(tcp, peer, wire_conn_estab, wire_conn_recv, wire_conn_close,
		wc);
	wire_conn_opened(wc, err ? NULL : *tcp, peer);
	return err;
}

int tls_start_tcp(struct tls_conn **ptc, struct tls *tls,
		  struct tcp_conn *tcp, int layer)
{
	static tls_start_tcp_f *f;
	int err;

	if (!f)
		f = (tls_start_tcp_f *)real("tls_start_tcp");
	err = f(ptc, tls, tcp, layer);
	if (!err)
		wire_conn_tls(tcp);
	return err;
}

/* Only libre's own prints are taken: sbcd's (configuration errors before
 * the log exists) still go where they were meant to. */
static bool from_libre(const void *caller)
{
	static const void *base;
	Dl_info self, info;

	/* libre's own address of one of its functions (the executable's
	 * may be a PLT stub) */
	if (!base) {
		void *f = real("sip_alloc");

		if (!f || !dladdr(f, &self))
			return false;
		base = self.dli_fbase;
	}
	return dladdr(caller, &info) && info.dli_fbase == base;
}

int re_fprintf(FILE *stream, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	if (stream != stderr || !from_libre(__builtin_return_address(0))) {
		n = re_vfprintf(stream, fmt, ap);
		va_end(ap);
		return n;
	}
	n = re_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		wire_libre_print(buf, (size_t)n < sizeof(buf) ? (size_t)n
					: sizeof(buf) - 1);
	return n;
}
