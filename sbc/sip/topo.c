/*
 * topo.c: topology hiding.  Nothing that leaves on the access side names
 * a core-side address: requests going there lose the core's Vias and
 * Record-Routes (libre puts ours on), responses going there lose the
 * core's Record-Routes, Path entries and Service-Route, and every
 * Contact shows sbcd's access address, as does every IP address in From,
 * To and the identity headers (P-Asserted-Identity, Diversion...) of
 * requests going there (of responses: the identity headers).  What the way back needs (the
 * core party's target, its route set, the Vias of a call it placed) is
 * kept in the dialog (dialog.c), so in-dialog requests from the access
 * side are sent on to the real target along the real route set.
 *
 * Per peer (topology_hiding), and topology_hiding for remote users and
 * destinations no peer declares.
 */
#include <string.h>
#include "sbc.h"

/* Whether a new call (or a REGISTER) through ctx is hidden: the access
 * peer's choice, the global one for remote users and the unknown. */
bool topo_decide(const struct req_ctx *ctx)
{
	const struct sbc_conf *conf = ctx->sbc->conf;
	const struct conf_peer *peer = ctx->peer;
	struct sa dst;

	if (ctx->in->id == SIDE_CORE && ctx->out->id == SIDE_ACCESS
	    && !sa_set(&dst, &ctx->nexthop.host, ctx->nexthop.port))
		peer = conf_peer_find(conf, &dst);
	if (ctx->binding || !peer || !peer->netc)
		return conf->topology_hiding;
	return peer->topology_hiding;
}

/* Contact: <sip:USER@our-access-address;transport=..>;params */
static int contact_print(struct mbuf *mb, const struct side *access,
			 enum sip_transp tp, const struct sip_hdr *hdr)
{
	struct sip_addr addr;
	struct sa us = access->laddr;

	if (sip_addr_decode(&addr, &hdr->val))
		return sipmsg_print_hdr(mb, hdr);    /* "*" */
	sa_set_port(&us, sipmsg_side_port(access, tp));
	return mbuf_printf(mb, "Contact: <sip:%r%s%J%s>%r\r\n",
			   &addr.uri.user, pl_isset(&addr.uri.user) ? "@" : "",
			   &us, sip_transp_param(tp), &addr.params);
}

/* Headers naming a party (From, To and the identities the core asserts,
 * diverts or records): an IP address there is the core's topology, a
 * domain name is an identity and stays. */
static bool identity_hdr(const struct sip_hdr *hdr, bool from_to)
{
	switch (hdr->id) {

	case SIP_HDR_FROM:
	case SIP_HDR_TO:
		return from_to;

	case SIP_HDR_P_ASSERTED_IDENTITY:
	case SIP_HDR_P_PREFERRED_IDENTITY:
	case SIP_HDR_HISTORY_INFO:
		return true;

	default:                /* names libre has no id for */
		return !pl_strcasecmp(&hdr->name, "Remote-Party-ID")
			|| !pl_strcasecmp(&hdr->name, "Diversion");
	}
}

/* One entry with its URI's IP host (and port, if any) replaced by
 * sbcd's access address, unless the address is an access peer's (the
 * caller's own, echoed back); anything else byte for byte. */
static int identity_entry(struct mbuf *mb, const struct sbc *sbc,
			  const struct side *access, const struct pl *e)
{
	const char *end = e->p + e->l, *a, *b;
	struct sip_addr addr;
	struct sa ip, us = access->laddr;
	bool port = false;

	if (sip_addr_decode(&addr, e) || sa_set(&ip, &addr.uri.host, 0)
	    || conf_peer_find(sbc->conf, &ip))
		return mbuf_write_pl(mb, e);
	a = addr.uri.host.p;
	b = a + addr.uri.host.l;
	if (a > e->p && a[-1] == '[')
		--a;
	if (b < end && *b == ']')
		++b;
	if (b < end && *b == ':') {
		port = true;
		for (++b; b < end && *b >= '0' && *b <= '9'; ++b)
			;
	}
	sa_set_port(&us, sipmsg_side_port(access, SIP_TRANSP_UDP));
	if (port)
		return mbuf_printf(mb, "%b%J%b", e->p, (size_t)(a - e->p),
				   &us, b, (size_t)(end - b));
	return mbuf_printf(mb, "%b%s%j%s%b", e->p, (size_t)(a - e->p),
			   sa_af(&us) == AF_INET6 ? "[" : "", &us,
			   sa_af(&us) == AF_INET6 ? "]" : "",
			   b, (size_t)(end - b));
}

static int identity_print(struct mbuf *mb, const struct sbc *sbc,
			  const struct side *access, const struct sip_hdr *hdr)
{
	struct pl list = hdr->val, e;
	unsigned n = 0;
	int err = mbuf_printf(mb, "%r: ", &hdr->name);

	while (!err && sipmsg_list_next(&list, &e)) {
		if (n++)
			err = mbuf_write_str(mb, ", ");
		if (!err)
			err = identity_entry(mb, sbc, access, &e);
	}
	return err ? err : mbuf_write_str(mb, "\r\n");
}

/* A header of a request going to the access side: true if handled
 * (written anew or dropped). */
bool topo_req_hdr(struct mbuf *mb, const struct req_ctx *ctx,
		  const struct sip_hdr *hdr, int *err)
{
	switch (hdr->id) {

	case SIP_HDR_VIA:
	case SIP_HDR_RECORD_ROUTE:
		return true;            /* ours go on top (libre, send_handler) */

	case SIP_HDR_CONTACT:
		*err = contact_print(mb, ctx->out, sipmsg_uri_tp(&ctx->nexthop),
				     hdr);
		return true;

	default:
		if (!identity_hdr(hdr, true))
			return false;
		*err = identity_print(mb, ctx->sbc, ctx->out, hdr);
		return true;
	}
}

static int join(char **dst, const struct sip_msg *msg, enum sip_hdrid id)
{
	struct mbuf *mb = mbuf_alloc(256);
	int err = 0;

	if (!mb)
		return ENOMEM;
	for (struct le *le = msg->hdrl.head; le && !err; le = le->next) {
		const struct sip_hdr *hdr = le->data;

		if (hdr->id == id)
			err = mbuf_printf(mb, "%s%r", mb->end ? ", " : "",
					  &hdr->val);
	}
	if (!err && mb->end) {
		mb->pos = 0;
		err = mbuf_strdup(mb, dst, mb->end);
	}
	mem_deref(mb);
	return err;
}

/* The RR entries of a response above our own, in the order the caller's
 * route set has them (reversed), are the core part of the route set. */
static int core_routes_of_rsp(char **dst, const struct sip_msg *rsp,
			      const struct sbc *sbc)
{
	struct mbuf *mb = mbuf_alloc(256);
	struct pl v[32];
	size_t n = 0;
	bool done = false;
	int err = 0;

	if (!mb)
		return ENOMEM;
	for (struct le *le = rsp->hdrl.head; le && !done; le = le->next) {
		const struct sip_hdr *hdr = le->data;
		struct pl list = hdr->val, e;

		if (hdr->id != SIP_HDR_RECORD_ROUTE)
			continue;
		while (sipmsg_list_next(&list, &e) && n < ARRAY_SIZE(v)) {
			struct sip_addr addr;

			if (!sip_addr_decode(&addr, &e)
			    && route_is_self(sbc, &addr.uri)) {
				done = true;
				break;
			}
			v[n++] = e;
		}
	}
	while (n && !err) {
		--n;
		err = mbuf_printf(mb, "%s%r", mb->end ? ", " : "", &v[n]);
	}
	if (!err && mb->end) {
		mb->pos = 0;
		err = mbuf_strdup(mb, dst, mb->end);
	}
	mem_deref(mb);
	return err;
}

static void set_from(struct dialog *d, char *target, char *routes,
		     char *vias)
{
	struct pl t, r, v;

	pl_set_str(&t, target ? target : "");
	pl_set_str(&r, routes ? routes : "");
	pl_set_str(&v, vias ? vias : "");
	dialog_core_party(d, target ? &t : NULL, routes ? &r : NULL,
			  vias ? &v : NULL);
}

static char *contact_uri(const struct sip_msg *msg)
{
	const struct sip_hdr *hdr = sip_msg_hdr(msg, SIP_HDR_CONTACT);
	struct sip_addr addr;
	char *s = NULL;

	if (!hdr || sip_addr_decode(&addr, &hdr->val)
	    || pl_strdup(&s, &addr.auri))
		return NULL;
	return s;
}

/* A call the core places to the access side: what the way back needs. */
void topo_learn_request(struct dialog *d, const struct sip_msg *msg)
{
	char *target = contact_uri(msg), *routes = NULL, *vias = NULL;
	bool initial = !pl_isset(&msg->to.tag);

	if (initial) {
		(void)join(&routes, msg, SIP_HDR_RECORD_ROUTE);
		(void)join(&vias, msg, SIP_HDR_VIA);
		if (!routes)
			(void)str_dup(&routes, "");
	}
	if (target || initial)
		set_from(d, target, routes, vias);
	mem_deref(target);
	mem_deref(routes);
	mem_deref(vias);
}

/* A response from the core to a call from the access side: the callee's
 * target and the core part of the route set. */
void topo_learn_response(struct dialog *d, const struct sip_msg *rsp,
			 const struct sbc *sbc)
{
	char *target, *routes = NULL;

	if (rsp->scode < 101 || rsp->scode >= 300 || !pl_isset(&rsp->to.tag)
	    || dialog_is_other_fork(d, rsp))
		return;
	target = contact_uri(rsp);
	if (!target)
		return;
	/* the route set is the one of the answering fork, fixed by its 2xx
	 * (the responses of the first INVITE; a re-INVITE's do not change
	 * it) */
	if ((d->invite && rsp->cseq.num == d->invite->cseq.num
	     && !pl_strcmp(&rsp->cseq.met, "INVITE"))
	    || (d->sub && !d->routes
		&& dialog_subscribing(&rsp->cseq.met)))
		(void)core_routes_of_rsp(&routes, rsp, sbc);
	if (!routes)
		(void)str_dup(&routes, d->routes ? d->routes : "");
	set_from(d, target, routes, NULL);
	mem_deref(target);
	mem_deref(routes);
}

static bool on_side(const struct side *side, const struct uri *uri)
{
	struct sa a;

	if (sa_set(&a, &uri->host, uri->port ? uri->port : 5060))
		return false;
	return sa_cmp(&side->laddr, &a, SA_ADDR);
}

/* Path of a REGISTER's 2xx going back to the client: our entry at our
 * access address, the registrar's side of the path dropped. */
static int path_print(struct mbuf *mb, const struct side *access,
		      enum sip_transp tp, const struct sip_hdr *hdr,
		      const struct sbc *sbc)
{
	struct sip_addr addr;
	struct sa us = access->laddr;

	if (sip_addr_decode(&addr, &hdr->val)
	    || !route_is_self(sbc, &addr.uri))
		return 0;
	sa_set_port(&us, sipmsg_side_port(access, tp));
	return mbuf_printf(mb, "Path: <sip:%r@%J;transport=%s;lr;ob>\r\n",
			   &addr.uri.user, &us, sipmsg_tp_name(tp));
}

/* The Record-Route entries the access side may see: ours on its side
 * and whatever lies beyond it; the core's entries and our core-facing
 * one stay behind. */
static int rr_print(struct mbuf *mb, const struct sbc *sbc,
		    const struct sip_hdr *hdr, bool *below_self)
{
	const struct side *access = &sbc->side[SIDE_ACCESS];
	struct pl list = hdr->val, e;
	unsigned n = 0;
	int err = 0;

	while (!err && sipmsg_list_next(&list, &e)) {
		struct sip_addr addr;

		if (!sip_addr_decode(&addr, &e)
		    && route_is_self(sbc, &addr.uri)) {
			*below_self = true;
			if (!on_side(access, &addr.uri))
				continue;
		}
		if (!*below_self)
			continue;
		err = mbuf_printf(mb, "%s%r", n++ ? ", " : "Record-Route: ",
				  &e);
	}
	if (!err && n)
		err = mbuf_write_str(mb, "\r\n");
	return err;
}

/* A header of a response going to the access side (to a request that
 * came in on transport tp): true if handled.  *below_self follows the
 * Record-Route list: entries above our own are the core's. */
bool topo_rsp_hdr(struct mbuf *mb, const struct sbc *sbc,
		  enum sip_transp tp, const struct sip_hdr *hdr,
		  bool *below_self, int *err)
{
	const struct side *access = &sbc->side[SIDE_ACCESS];

	switch (hdr->id) {

	case SIP_HDR_CONTACT:
		*err = contact_print(mb, access, tp, hdr);
		return true;

	case SIP_HDR_RECORD_ROUTE:
		*err = rr_print(mb, sbc, hdr, below_self);
		return true;

	case SIP_HDR_PATH:
		*err = path_print(mb, access, tp, hdr, sbc);
		return true;

	default:
		if (!pl_strcasecmp(&hdr->name, "Service-Route"))
			return true;
		/* From and To echo the access side's request */
		if (!identity_hdr(hdr, false))
			return false;
		*err = identity_print(mb, sbc, access, hdr);
		return true;
	}
}

/* An in-dialog request from the access side of a hidden call: to the
 * core party's real target along its real route set. */
int topo_route(struct req_ctx *ctx)
{
	struct dialog *d = ctx->dialog;
	struct sip_addr first;
	struct pl pl;

	if (!d->target)
		return ENOENT;
	pl_set_str(&ctx->ruri, d->target);
	ctx->strip_routes = true;
	if (d->routes && d->routes[0]) {
		pl_set_str(&ctx->routes, d->routes);
		pl_set_str(&pl, d->routes);
		if (sip_addr_decode(&first, &pl))
			return EBADMSG;
		ctx->nexthop = first.uri;
	}
	else if (uri_decode(&ctx->nexthop, &ctx->ruri)) {
		return EBADMSG;
	}
	ctx->hop_owner = mem_ref(d);
	return 0;
}

/* A 2xx retransmission from the access side for a hidden call the core
 * placed carries only our Via: the core's come from the dialog. */
int topo_stray(struct sbc *sbc, const struct sip_msg *msg,
	       struct mbuf *mb, struct sip_via *via)
{
	struct dialog *d = dialog_of(sbc, msg);
	struct pl first;
	const char *comma;

	if (!d || !d->vias)
		return ENOENT;
	pl_set_str(&first, d->vias);
	comma = pl_strchr(&first, ',');
	if (comma)
		first.l = comma - first.p;
	if (sip_via_decode(via, &first))
		return EBADMSG;
	return mbuf_printf(mb, "Via: %s\r\n", d->vias);
}
