/*
 * sipmsg.c: rebuilding SIP messages.  libre parses but cannot edit, so a
 * forwarded message is written anew from the parsed header list.
 */
#include <string.h>
#include "sbc.h"

int sipmsg_print_hdr(struct mbuf *mb, const struct sip_hdr *hdr)
{
	return mbuf_printf(mb, "%r: %r\r\n", &hdr->name, &hdr->val);
}

/* Top Via of a forwarded request, with received and rport filled in
 * (RFC 3261 18.2.1, RFC 3581 4), so responses find the real sender. */
int sipmsg_via_add_received(struct mbuf *mb, const struct sip_msg *msg,
			    const struct sip_hdr *hdr)
{
	struct sip_via via;
	struct pl head, rest, name, val;
	bool rport = false;
	int err;

	if (sip_via_decode(&via, &hdr->val))
		return sipmsg_print_hdr(mb, hdr);

	head.p = hdr->val.p;
	head.l = via.params.p - hdr->val.p;
	err = mbuf_printf(mb, "%r: %r", &hdr->name, &head);

	rest = via.params;
	while (!err && !re_regex(rest.p, rest.l,
				 "[ \t]*;[ \t]*[^;= \t]+[ \t]*[=]*[^;]*",
				 NULL, NULL, &name, NULL, NULL, &val)) {
		const char *next = val.p + val.l;

		if (!pl_strcasecmp(&name, "rport")) {
			rport = true;
		}
		else if (pl_strcasecmp(&name, "received")) {
			struct pl raw = {rest.p, next - rest.p};
			err = mbuf_write_pl(mb, &raw);
		}
		rest.l -= next - rest.p;
		rest.p = next;
	}

	if (err)
		return err;
	if (rport)
		err = mbuf_printf(mb, ";received=%j;rport=%u", &msg->src,
				  sa_port(&msg->src));
	else if (!sa_cmp(&via.addr, &msg->src, SA_ADDR))
		err = mbuf_printf(mb, ";received=%j", &msg->src);
	return err ? err : mbuf_write_str(mb, "\r\n");
}

bool sipmsg_is_side_addr(const struct side *side, const struct sa *sa)
{
	uint16_t port = sa_port(sa);

	if (!sa_cmp(&side->laddr, sa, SA_ADDR))
		return false;
	return port == side->port || (side->tls_port && port == side->tls_port);
}
