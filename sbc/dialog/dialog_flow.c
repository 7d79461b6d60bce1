/*
 * dialog_flow.c: calls to parties behind NAT.  The access party of a call
 * is reached over a flow (RFC 5626's sense): the UDP source its INVITE
 * came from, the TCP/TLS connection it opened, the registration flow a
 * call to a remote user took.  Its Contact names an address the core
 * cannot reach (a private one, a port its NAT keeps closed), so every
 * request of the call towards it (BYE, re-INVITE, UPDATE, ACK, ..., and
 * sbcd's own BYEs) goes to the flow, whatever the Contact says.  The flow
 * is part of the call's record, so it survives state_file and failover.
 *
 * Towards the core, the access party's Contact becomes sbcd's core
 * address with the flow token (flow.c) as its user part, as in our Path
 * entries: a core that ignores Record-Route still reaches the party
 * through sbcd, which sends the request on with the party's own Contact
 * as Request-URI.
 *
 * A TCP/TLS flow is the connection: once it is gone, the party is
 * reached on the connection it opened since (a remote user's new
 * registration, a request of the call on it), a declared peer by a new
 * connection to its own address, anyone else not at all (430 Flow
 * Failed, RFC 5626 5.3).  Peers declared with nat = no keep the Contact.
 */
#include <string.h>
#include "sbc.h"
#include "flow.h"

/* Whether a party is reached over its flow: remote users and unknown
 * callers always, declared peers unless they say nat = no. */
static bool party_nat(const struct conf_peer *peer, bool user)
{
	return user || !peer || !peer->netc || peer->nat;
}

/* The address and transport a URI leads to, if its host is an address. */
static int uri_flow(enum sip_transp *tp, struct sa *addr,
		    const struct uri *uri)
{
	*tp = sipmsg_uri_tp(uri);
	return sa_set(addr, &uri->host, uri->port ? uri->port
		      : *tp == SIP_TRANSP_TLS ? 5061 : 5060);
}

static void contact_of(struct pl *uri, const struct sip_msg *msg)
{
	const struct sip_hdr *hdr = sip_msg_hdr(msg, SIP_HDR_CONTACT);
	struct sip_addr addr;

	if (hdr && !sip_addr_decode(&addr, &hdr->val))
		*uri = addr.auri;
	else
		uri->l = 0;
}

/* A new call: its access party's flow, into the record that opens it. */
void dialog_flow_open(const struct req_ctx *ctx, struct dialog_rec *r)
{
	const struct sbc *sbc = ctx->sbc;
	const struct sip_msg *msg = ctx->msg;
	struct sa dst;

	r->flow = false;
	if (ctx->in->id == SIDE_ACCESS) {
		if (!party_nat(ctx->peer, ctx->binding != NULL))
			return;
		r->ftp = msg->tp;
		r->faddr = msg->src;
		contact_of(&r->acontact, msg);
		r->flow = true;
		return;
	}
	/* a call the core places: the flow is where it goes (a remote
	 * user's registration flow, a peer's address); a name is resolved
	 * later by libre, so that party keeps its Contact */
	if (ctx->out->id != SIDE_ACCESS
	    || uri_flow(&r->ftp, &dst, &ctx->nexthop))
		return;
	if (!party_nat(conf_peer_find(sbc->conf, &dst),
		       pl_isset(&ctx->flow)))
		return;
	r->faddr = dst;
	r->flow = true;
}

/* libre keeps a closed connection's object until its last holder lets
 * go: alive while it still has its TCP connection. */
bool dialog_flow_conn_alive(enum sip_transp tp, void *conn)
{
	struct sip_msg m = {.tp = tp, .sock = conn};

	return conn && tp != SIP_TRANSP_UDP && sip_msg_tcpconn(&m) != NULL;
}

static void conn_hold(struct dialog *d, void *sock)
{
	if (d->ftp == SIP_TRANSP_UDP || !sock || d->conn == sock)
		return;
	mem_deref(d->conn);
	d->conn = mem_ref(sock);
}

/* Requests that change the remote target (RFC 3261 12.2, RFC 3311,
 * RFC 6665 4.1.2). */
static bool target_refresh(const struct pl *met)
{
	return !pl_strcmp(met, "INVITE") || !pl_strcmp(met, "UPDATE")
		|| !pl_strcmp(met, "SUBSCRIBE") || !pl_strcmp(met, "NOTIFY");
}

static void flow_change(struct dialog *d, enum sip_transp tp,
			const struct sa *addr, const struct pl *contact)
{
	struct dialog_rec r;

	dialog_rec_of(&r, d);
	r.ftp = tp;
	r.faddr = *addr;
	if (contact && pl_isset(contact))
		r.acontact = *contact;
	dialog_change(d, &r);
}

/* A request of the call from its access party (screened, on its way to
 * the core): the flow it came on is the one to use from now on, if it
 * comes from the same address (a new TCP connection, a NAT that gave a
 * new port); a target refresh also brings its new Contact. */
void dialog_flow_request(struct dialog *d, const struct sip_msg *msg)
{
	struct pl contact = PL_INIT;

	if (!d || !d->flow || d->state == DLG_ENDED
	    || !sa_cmp(&d->faddr, &msg->src, SA_ADDR))
		return;
	if (target_refresh(&msg->met))
		contact_of(&contact, msg);
	if (d->ftp != msg->tp || !sa_cmp(&d->faddr, &msg->src, SA_ALL)
	    || (pl_isset(&contact) && (!d->acontact
				       || pl_strcmp(&contact, d->acontact))))
		flow_change(d, msg->tp, &msg->src, &contact);
	conn_hold(d, msg->sock);
}

/* A call the core places, sent to its access party over tp to dst: the
 * flow, if dialog_flow_open() could not tell it from the next hop (a
 * name, a transport changed for size, RFC 3261 18.1.1). */
void dialog_flow_sent(struct dialog *d, enum sip_transp tp,
		      const struct sa *dst)
{
	struct dialog_rec r;

	if (d->state == DLG_ENDED
	    || (d->flow && d->ftp == tp && sa_cmp(&d->faddr, dst, SA_ALL)))
		return;
	if (!d->flow && !party_nat(conf_peer_find(d->sbc->conf, dst), false))
		return;
	dialog_rec_of(&r, d);
	r.flow = true;
	r.ftp = tp;
	r.faddr = *dst;
	dialog_change(d, &r);
}

/* A response of the access party to a request of the call sent to it:
 * the Contact of its answer, the connection it answered on. */
void dialog_flow_response(struct dialog *d, const struct sip_msg *msg)
{
	struct pl contact;

	if (!d || !d->flow || d->state == DLG_ENDED
	    || msg->scode < 101 || msg->scode >= 300
	    || dialog_is_other_fork(d, msg))
		return;
	if (d->ftp != SIP_TRANSP_UDP && sa_cmp(&d->faddr, &msg->src, SA_ALL))
		conn_hold(d, msg->sock);
	contact_of(&contact, msg);
	if (!pl_isset(&contact) || !target_refresh(&msg->cseq.met)
	    || (d->acontact && !pl_strcmp(&contact, d->acontact)))
		return;
	flow_change(d, d->ftp, &d->faddr, &contact);
}

/* The address of a gone TCP/TLS flow's party that a new connection may
 * go to: a declared peer's Contact, when it names an address of that
 * same peer (its own, routable; never a private one behind it). */
static bool peer_contact(struct sa *dst, const struct dialog *d,
			 const struct sbc_conf *conf)
{
	const struct conf_peer *peer = conf_peer_find(conf, &d->faddr);
	enum sip_transp tp;
	struct uri uri;
	struct pl pl;

	if (!peer || !peer->netc || !d->acontact)
		return false;
	pl_set_str(&pl, d->acontact);
	if (uri_decode(&uri, &pl) || uri_flow(&tp, dst, &uri)
	    || tp != d->ftp)
		return false;
	return conf_peer_find(conf, dst) == peer;
}

/* Where a request to the access party of d goes now: its flow, or the
 * flow its TCP/TLS connection moved to.  ENOTCONN: gone. */
static int flow_target(struct sa *dst, struct dialog *d,
		       const struct sbc *sbc)
{
	struct binding *b;
	struct uri uri;
	struct pl pl;

	*dst = d->faddr;
	if (d->ftp == SIP_TRANSP_UDP || dialog_flow_conn_alive(d->ftp,
							       d->conn))
		return 0;
	/* a remote user that connected again and registered anew */
	b = binding_of(sbc, d->ftp, &d->faddr);
	if (b && binding_conn_alive(b)) {
		conn_hold(d, b->conn);
		return 0;
	}
	pl_set_str(&pl, d->acontact ? d->acontact : "");
	if (d->acontact && !uri_decode(&uri, &pl)
	    && (b = binding_moved(sbc, d->ftp, &d->faddr, &uri))) {
		flow_change(d, d->ftp, &b->src, NULL);
		conn_hold(d, b->conn);
		*dst = b->src;
		return 0;
	}
	if (peer_contact(dst, d, sbc->conf))
		return 0;
	return ENOTCONN;
}

static int hop_set(struct uri *hop, void **owner, enum sip_transp tp,
		   const struct sa *dst)
{
	struct pl pl;
	char *s;
	int err;

	err = re_sdprintf(&s, "sip:%J;transport=%s", dst, sipmsg_tp_name(tp));
	if (err)
		return err;
	pl_set_str(&pl, s);
	err = uri_decode(hop, &pl);
	if (err) {
		mem_deref(s);
		return err;
	}
	*owner = s;
	return 0;
}

/* The next hop of a request to the access party of d (sbcd's own BYE
 * too): its flow.  *owner: what hop points into, for the caller to
 * release.  ENOENT: no flow (its Contact is routable); ENOTCONN: the
 * flow is gone. */
int dialog_flow_hop(struct uri *hop, void **owner, struct dialog *d)
{
	struct sa dst;
	int err;

	if (!d->flow)
		return ENOENT;
	err = flow_target(&dst, d, d->sbc);
	if (err)
		return err;
	return hop_set(hop, owner, d->ftp, &dst);
}

/* Our Contact for d's access party (see the top): its flow token at our
 * core address.  Is the Request-URI of a request from the core one of
 * them? */
static bool ruri_is_ours(const struct req_ctx *ctx)
{
	const struct uri *uri = &ctx->msg->uri;
	enum sip_transp tp;
	struct sa addr;

	return pl_isset(&uri->user) && route_is_self(ctx->sbc, uri)
		&& !flow_decode(&tp, &addr, ctx->sbc->flow_key, &uri->user);
}

static void reply(struct req_ctx *ctx, uint16_t scode, const char *reason)
{
	ctx->action = ROUTE_REPLY;
	ctx->scode = pl_strcmp(&ctx->msg->met, "ACK") ? scode : 0;
	ctx->reason = reason;
}

/* A request from the core inside a call whose access party has a flow
 * (route.c): to the flow, with the party's own Contact as Request-URI
 * if the core used ours.  A request naming our Contact for a call we do
 * not know goes to the flow its token names. */
int dialog_flow_route(struct req_ctx *ctx)
{
	struct sbc *sbc = ctx->sbc;
	struct dialog *d = ctx->dialog;
	const bool ours = ruri_is_ours(ctx);
	enum sip_transp tp;
	struct sa dst;
	int err;

	/* a request that came neither along our Record-Route nor to our
	 * Contact is not ours to route */
	if (!ours && !ctx->skip_route[0])
		return ENOENT;
	if (!d || !d->flow) {
		if (!ours)
			return ENOENT;
		(void)flow_decode(&tp, &dst, sbc->flow_key,
				  &ctx->msg->uri.user);
		ctx->out = &sbc->side[SIDE_ACCESS];
		return hop_set(&ctx->nexthop, &ctx->hop_owner, tp, &dst);
	}
	err = dialog_flow_hop(&ctx->nexthop, &ctx->hop_owner, d);
	if (err == ENOTCONN) {
		LOGI(sbc, "core side: %r of call %s: the %s connection of its "
		     "access party (%J) is gone: 430", &ctx->msg->met,
		     d->callid, sipmsg_tp_name(d->ftp), &d->faddr);
		reply(ctx, 430, "Flow Failed");
		return 0;
	}
	if (err)
		return err;
	ctx->out = &sbc->side[SIDE_ACCESS];
	if (ours && d->acontact)
		pl_set_str(&ctx->ruri, d->acontact);
	return 0;
}

/* The access party's Contact as the core sees it (see the top): every
 * header parameter kept, the URI ours, over transport tp. */
int dialog_flow_contact_print(struct mbuf *mb, const struct dialog *d,
			      const struct side *core, enum sip_transp tp,
			      const struct sip_hdr *hdr)
{
	char token[FLOW_TOKEN_MAX];
	struct sip_addr addr;
	struct sa us = core->laddr;
	int err;

	if (sip_addr_decode(&addr, &hdr->val))
		return sipmsg_print_hdr(mb, hdr);     /* "*" */
	err = flow_encode(token, sizeof(token), d->sbc->flow_key, d->ftp,
			  &d->faddr);
	if (err)
		return err;
	if (tp == SIP_TRANSP_TLS && !core->tls_port)
		tp = SIP_TRANSP_TCP;
	sa_set_port(&us, sipmsg_side_port(core, tp));
	return mbuf_printf(mb, "Contact: <sip:%s@%J%s>%r\r\n", token, &us,
			   sip_transp_param(tp), &addr.params);
}
