/*
 * wire.h: SIP messages as bytes, before libre decodes them (wire.c), and
 * the hooks in libre's transports that bring them there (wirehook.c).
 */
#ifndef SBC_WIRE_H
#define SBC_WIRE_H

struct wire_udp;
struct wire_conn;

/* A side's SIP UDP socket, while listen.c adds it (NULL: not ours) */
struct wire_udp *wire_udp_claim(udp_recv_h *rh, void *arg);
void wire_udp_bound(struct wire_udp *wu, struct udp_sock *us);
void wire_udp_recv(const struct sa *src, struct mbuf *mb, void *arg);

/* A connection accepted on a side's SIP listener (NULL: not ours) */
struct wire_conn *wire_conn_claim(struct tcp_sock *ts, tcp_estab_h *eh,
				  tcp_recv_h *rh, tcp_close_h *ch, void *arg);
void wire_conn_accepted(struct wire_conn *wc, struct tcp_conn *tc);
/* A connection sbcd opens while it sends on a side (NULL: not ours) */
struct wire_conn *wire_conn_claim_out(tcp_estab_h *eh, tcp_recv_h *rh,
				      tcp_close_h *ch, void *arg);
void wire_conn_opened(struct wire_conn *wc, struct tcp_conn *tc,
		      const struct sa *peer);
/* TLS started on TC (libre's SIP transport, on a connection it opened) */
void wire_conn_tls(const struct tcp_conn *tc);
void wire_conn_estab(void *arg);
void wire_conn_recv(struct mbuf *mb, void *arg);
void wire_conn_close(int err, void *arg);

/* A line libre printed on stderr */
void wire_libre_print(const char *p, size_t len);

#endif
