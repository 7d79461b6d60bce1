/*
 * sipmsg.c: rebuilding SIP messages.  libre parses but cannot edit, so a
 * forwarded message is written anew from the parsed header list.
 */
#include <string.h>
#include "sbc.h"
#include "callid.h"

int sipmsg_print_hdr(struct mbuf *mb, const struct sip_hdr *hdr)
{
	int err;

	/* plain copies: the printf machinery costs more than the header */
	err  = mbuf_write_pl(mb, &hdr->name);
	err |= mbuf_write_mem(mb, (const uint8_t *)": ", 2);
	err |= mbuf_write_pl(mb, &hdr->val);
	err |= mbuf_write_mem(mb, (const uint8_t *)"\r\n", 2);
	return err;
}

/* Top Via of a forwarded request, with received and rport filled in
 * (RFC 3261 18.2.1, RFC 3581 4), so responses find the real sender; with
 * rport, as if the sender had asked for it (reply.c).  The top Via is
 * the one libre parsed into msg->via. */
int sipmsg_via_add_received(struct mbuf *mb, const struct sip_msg *msg,
			    const struct sip_hdr *hdr, bool rport)
{
	const struct sip_via *via = &msg->via;
	const char *p = via->params.p, *end = p + via->params.l;
	struct pl head;
	int err;

	/* libre decodes no Via without parameters */
	if (!pl_isset(&via->params) || via->params.p < hdr->val.p
	    || end > hdr->val.p + hdr->val.l)
		return sipmsg_print_hdr(mb, hdr);

	head.p = hdr->val.p;
	head.l = via->params.p - hdr->val.p;
	err = mbuf_printf(mb, "%r: %r", &hdr->name, &head);

	/* copy the parameters, dropping received and a bare rport */
	while (!err && p < end) {
		const char *q = memchr(p + 1, ';', end - p - 1);
		struct pl par, name;

		par.p = p;
		par.l = (q ? q : end) - p;
		name.p = p;
		while (name.p < par.p + par.l && (*name.p == ';'
						  || *name.p == ' '
						  || *name.p == '\t'))
			++name.p;
		name.l = 0;
		while (name.p + name.l < par.p + par.l
		       && name.p[name.l] != '=' && name.p[name.l] != ' ')
			++name.l;

		if (!pl_strcasecmp(&name, "rport"))
			rport = true;
		else if (pl_strcasecmp(&name, "received"))
			err = mbuf_write_pl(mb, &par);
		p = par.p + par.l;
	}

	if (err)
		return err;
	if (rport)
		err = mbuf_printf(mb, ";received=%j;rport=%u", &msg->src,
				  sa_port(&msg->src));
	else if (!sa_cmp(&via->addr, &msg->src, SA_ADDR))
		err = mbuf_printf(mb, ";received=%j", &msg->src);
	return err ? err : mbuf_write_str(mb, "\r\n");
}

/* Cheap test before parsing: can this header value name us at all? */
bool sipmsg_mentions_self(const struct sbc *sbc, const struct pl *val)
{
	for (int i = 0; i < SIDE_COUNT; i++) {
		const char *a = sbc->side[i].laddr_str;

		/* IPv6 has many spellings of one address: parse them all */
		if (sa_af(&sbc->side[i].laddr) == AF_INET6)
			return true;
		if (a[0] && memmem(val->p, val->l, a, strlen(a)))
			return true;
	}
	return false;
}

/* Call-ID: as it is, or in its other form with Call-ID hiding
 * (callid.c): every message that crosses sbcd goes through here. */
int sipmsg_callid_print(struct mbuf *mb, const struct sbc *sbc,
			const struct pl *callid)
{
	char buf[CALLID_MASK_MAX];
	struct pl out = *callid;

	if (sbc->conf->callid_hiding
	    && callid_cross(buf, sizeof(buf), &out, sbc->flow_key, callid))
		return ENOMEM;
	return mbuf_printf(mb, "Call-ID: %r\r\n", &out);
}

/* A response to pass on: its status line, the Via set of the request it
 * answers when we have it (with received/rport on top; rport as for
 * sipmsg_via_add_received) or else its own minus our top Via, its other
 * headers, and its body.  hide: going to the access side of a hidden
 * call (topo.c), over transport tp.  nat: going to the core from the
 * access party of that call (its Contact ours, dialog_flow.c).  body: a
 * rewritten body (media anchoring), or NULL for the response's own. */
int sipmsg_response_print(struct mbuf *mb, const struct sip_msg *rsp,
			  const struct sip_msg *req, bool rport,
			  const struct sbc *sbc, const struct sbc *hide,
			  const struct dialog *nat,
			  enum sip_transp tp, const struct mbuf *body)
{
	const uint8_t *bp = body ? body->buf : mbuf_buf(rsp->mb);
	const size_t bl = body ? body->end : mbuf_get_left(rsp->mb);
	bool first = true, below_self = false;
	int err;

	err = mbuf_printf(mb, "SIP/2.0 %u %r\r\n", rsp->scode, &rsp->reason);
	for (struct le *le = (req ? req : rsp)->hdrl.head; le && !err;
	     le = le->next) {
		const struct sip_hdr *hdr = le->data;

		if (hdr->id != SIP_HDR_VIA)
			continue;
		if (first && req)
			err = sipmsg_via_add_received(mb, req, hdr, rport);
		else if (!first)
			err = sipmsg_print_hdr(mb, hdr);
		first = false;
	}
	for (struct le *le = rsp->hdrl.head; le && !err; le = le->next) {
		const struct sip_hdr *hdr = le->data;

		if (hdr->id == SIP_HDR_VIA || hdr->id == SIP_HDR_CONTENT_LENGTH
		    || (hdr->id == SIP_HDR_CONTENT_TYPE && body && !body->end))
			continue;
		if (hdr->id == SIP_HDR_CALL_ID) {
			err = sipmsg_callid_print(mb, sbc, &hdr->val);
			continue;
		}
		if (hide && topo_rsp_hdr(mb, hide, tp, hdr, &below_self,
					 &err))
			continue;
		if (nat && hdr->id == SIP_HDR_CONTACT) {
			err = dialog_flow_contact_print(mb, nat,
						&sbc->side[SIDE_CORE], tp, hdr);
			continue;
		}
		err = sipmsg_print_hdr(mb, hdr);
	}
	err |= mbuf_printf(mb, "Content-Length: %zu\r\n\r\n", bl);
	err |= mbuf_write_mem(mb, bp, bl);
	return err;
}

bool sipmsg_is_side_addr(const struct side *side, const struct sa *sa)
{
	uint16_t port = sa_port(sa);

	if (!sa_cmp(&side->laddr, sa, SA_ADDR))
		return false;
	return port == side->port || (side->tls_port && port == side->tls_port);
}

/* The next entry of a comma-separated list of name-addrs (Route,
 * Record-Route, Path, Contact): commas inside <...> or quotes do not
 * count.  Returns false at the end. */
bool sipmsg_list_next(struct pl *list, struct pl *entry)
{
	const char *p = list->p, *end = list->p + list->l;
	bool quoted = false, angle = false;

	while (p < end && (*p == ' ' || *p == '\t' || *p == ','
			   || *p == '\r' || *p == '\n'))
		++p;
	if (p == end)
		return false;
	entry->p = p;
	for (; p < end; p++) {
		if (*p == '"' && !angle && (p == entry->p || p[-1] != '\\'))
			quoted = !quoted;
		else if (*p == '<' && !quoted)
			angle = true;
		else if (*p == '>' && !quoted)
			angle = false;
		else if (*p == ',' && !quoted && !angle)
			break;
	}
	entry->l = p - entry->p;
	while (entry->l && (entry->p[entry->l - 1] == ' '
			    || entry->p[entry->l - 1] == '\t'))
		--entry->l;
	list->l = end - p;
	list->p = p;
	return true;
}

/* A transport's name in a URI parameter or a record: udp, tcp, tls. */
const char *sipmsg_tp_name(enum sip_transp tp)
{
	switch (tp) {
	case SIP_TRANSP_TCP: return "tcp";
	case SIP_TRANSP_TLS: return "tls";
	default:             return "udp";
	}
}

/* A transport by its name (udp, tcp, tls; any case): EBADMSG if none. */
int sipmsg_tp_decode(enum sip_transp *tp, const struct pl *name)
{
	if (!pl_strcasecmp(name, "udp"))
		*tp = SIP_TRANSP_UDP;
	else if (!pl_strcasecmp(name, "tcp"))
		*tp = SIP_TRANSP_TCP;
	else if (!pl_strcasecmp(name, "tls"))
		*tp = SIP_TRANSP_TLS;
	else
		return EBADMSG;
	return 0;
}

/* The transport a URI asks for (udp without a word). */
enum sip_transp sipmsg_uri_tp(const struct uri *uri)
{
	enum sip_transp tp = SIP_TRANSP_UDP;
	struct pl name;

	if (!pl_strcasecmp(&uri->scheme, "sips"))
		return SIP_TRANSP_TLS;
	if (!msg_param_decode(&uri->params, "transport", &name))
		(void)sipmsg_tp_decode(&tp, &name);
	return tp;
}

/* Our port on a side for a transport. */
uint16_t sipmsg_side_port(const struct side *side, enum sip_transp tp)
{
	return tp == SIP_TRANSP_TLS ? side->tls_port : side->port;
}
