/*
 * register.c: REGISTER forwarding (RFC 3327).  A REGISTER from the access
 * side goes to the configured registrar on the core side, with sbcd's
 * core-facing address on top of its Path:
 *   Path: <sip:TOKEN@core-addr:port;transport=T;lr;ob;received=SRC>
 * where TOKEN (flow.c) says how the client is reached again: the
 * transport, address and port its REGISTER came from, with a MAC so the
 * core side cannot forge one; with path_received, a received= parameter
 * names that source too, for registrars that show it.  Supported: path
 * is added when the client did not list it.  Each 2xx records the
 * client's bindings (binding.c); a registrar that does not support Path
 * (420 with Unsupported: path, or a 2xx without Path) is logged, since
 * its users cannot be reached through sbcd, and its answer is relayed as
 * it is.  The final answer also feeds the password-guessing protection
 * (authguard.c).
 *
 * The registration time a REGISTER asks for (its Expires header and each
 * Contact's expires parameter) is brought within register_min_expires ..
 * register_max_expires on the way to the registrar, 0 (de-registration)
 * excepted.  The cap is applied upstream rather than to the 200 so that
 * the registrar's answer, relayed as it is, tells the client the time it
 * really has: a client told 7200 s would re-register after sbcd and the
 * registrar had let it go.  A REGISTER that asks nothing gets the
 * registrar's default.
 */
#include <ctype.h>
#include "sbc.h"
#include "flow.h"
#include "authguard.h"

enum { PATH_WARN_MS = 60000 };  /* one warning a minute is enough */

void reg_route(struct req_ctx *ctx)
{
	struct sbc *sbc = ctx->sbc;

	if (!sbc->conf->registrar[0]) {
		ctx->action = ROUTE_REPLY;
		ctx->scode = 403;
		ctx->reason = "No Registrar Configured";
		return;
	}
	ctx->out = &sbc->side[SIDE_CORE];
	ctx->nexthop = sbc->hop.registrar;
	ctx->to_registrar = true;
}

static void flow_reply(struct req_ctx *ctx, uint16_t scode,
		       const char *reason)
{
	ctx->action = ROUTE_REPLY;
	ctx->scode = scode;
	ctx->reason = reason;
}

/* A request from the core side whose Route named our Path entry goes
 * back on the flow its token names: over UDP to the address and port
 * the client registered from, over TCP/TLS on the very connection it
 * opened (a new one could not cross its NAT): gone, 430 Flow Failed
 * (RFC 5626).  A token we did not make is refused. */
void reg_route_flow(struct req_ctx *ctx)
{
	struct sbc *sbc = ctx->sbc;
	struct binding *b;
	enum sip_transp tp;
	struct sa addr;
	struct pl pl;
	char *uri;
	int err;

	err = flow_decode(&tp, &addr, sbc->flow_key, &ctx->flow);
	if (err) {
		LOGRW(sbc, "core side: %r from %J with a %s flow token",
		     &ctx->msg->met, &ctx->msg->src,
		     err == EPERM ? "forged" : "malformed");
		event_emit(sbc, ctx, "bad_flow_token", "403");
		flow_reply(ctx, 403, "Forbidden");
		return;
	}
	b = binding_of(sbc, tp, &addr);
	if (tp != SIP_TRANSP_UDP && (!b || !binding_conn_alive(b))) {
		/* the client's new connection, if it has one: the token
		 * names the flow it registered on before */
		struct binding *nb = binding_moved(sbc, tp, &addr,
						   &ctx->msg->uri);

		if (nb) {
			LOGI(sbc, "core side: %r to %r: the client's %s flow "
			     "moved from %J to %J", &ctx->msg->met,
			     &ctx->msg->ruri, sipmsg_tp_name(tp), &addr,
			     &nb->src);
			addr = nb->src;
			b = nb;
		}
	}
	if (tp != SIP_TRANSP_UDP && (!b || !binding_conn_alive(b))) {
		LOGI(sbc, "core side: %r to %r: the client's %s connection "
		     "from %J is gone: 430", &ctx->msg->met,
		     &ctx->msg->ruri, sipmsg_tp_name(tp), &addr);
		flow_reply(ctx, 430, "Flow Failed");
		return;
	}
	if (re_sdprintf(&uri, "sip:%J;transport=%s", &addr, sipmsg_tp_name(tp))) {
		flow_reply(ctx, 500, "Server Internal Error");
		return;
	}
	pl_set_str(&pl, uri);
	if (uri_decode(&ctx->nexthop, &pl)) {
		mem_deref(uri);
		flow_reply(ctx, 500, "Server Internal Error");
		return;
	}
	ctx->hop_owner = uri;
	ctx->out = &sbc->side[SIDE_ACCESS];
}

/* received= of our Path entry: where the REGISTER came from, as a SIP
 * URI escaped into a URI parameter value (RFC 3261 25.1: its ';' and '='
 * become %3B and %3D), the form Kamailio's path module writes and its
 * registrar (path_use_received) unescapes and stores. */
static int path_received_print(struct re_printf *pf,
			       const struct sip_msg *req)
{
	char uri[80];
	struct pl pl;

	if (re_snprintf(uri, sizeof(uri), "sip:%J;transport=%s", &req->src,
			sipmsg_tp_name(req->tp)) < 0)
		return ENOMEM;
	pl_set_str(&pl, uri);
	return re_hprintf(pf, ";received=%H", uri_param_escape, &pl);
}

/* Our Path entry (on top of any the client's side added) and Supported:
 * path; src is our address towards the registrar, tp its transport. */
int reg_path_print(struct mbuf *mb, struct sbc *sbc,
		   const struct sip_msg *req, enum sip_transp tp,
		   const struct sa *src)
{
	char flow[FLOW_TOKEN_MAX];
	int err;

	err = flow_encode(flow, sizeof(flow), sbc->flow_key, req->tp,
			  &req->src);
	if (err)
		return err;
	err = mbuf_printf(mb, "Path: <sip:%s@%J;transport=%s;lr;ob%H>\r\n",
			  flow, src, sipmsg_tp_name(tp),
			  sbc->conf->path_received ? path_received_print
			  : NULL, req);
	if (!err && !sip_msg_hdr_has_value(req, SIP_HDR_SUPPORTED, "path"))
		err = mbuf_write_str(mb, "Supported: path\r\n");
	return err;
}

static uint32_t bound(uint64_t secs, uint32_t min, uint32_t max)
{
	if (!secs)
		return 0;
	return secs > max ? max : secs < min ? min : (uint32_t)secs;
}

/* VAL printed with the number NUM (a slice of it) kept within bounds;
 * anything but digits is left for the registrar to judge. */
static int print_bounded(struct mbuf *mb, const struct pl *val,
			 const struct pl *num, uint32_t min, uint32_t max)
{
	uint64_t secs;

	for (size_t i = 0; i < num->l; i++) {
		if (!isdigit((unsigned char)num->p[i]))
			return mbuf_write_pl(mb, val);
	}
	if (!num->l)
		return mbuf_write_pl(mb, val);
	/* past 19 digits pl_u64 wraps: that many seconds is above any max */
	secs = num->l > 19 ? UINT64_MAX : pl_u64(num);
	return mbuf_printf(mb, "%b%u%b", val->p, (size_t)(num->p - val->p),
			   bound(secs, min, max), num->p + num->l,
			   (size_t)(val->p + val->l - (num->p + num->l)));
}

/* One contact of a Contact header: its expires parameter bounded. */
static int print_contact(struct mbuf *mb, const struct pl *c, uint32_t min,
			 uint32_t max)
{
	struct sip_addr addr;
	struct pl t = *c, exp;

	while (t.l && (*t.p == ' ' || *t.p == '\t')) {
		++t.p;
		--t.l;
	}
	if (sip_addr_decode(&addr, &t)
	    || msg_param_decode(&addr.params, "expires", &exp))
		return mbuf_write_pl(mb, c);
	return print_bounded(mb, c, &exp, min, max);
}

/* The contacts of a Contact line, split at the commas outside quotes and
 * angle brackets. */
static int print_contacts(struct mbuf *mb, const struct pl *val,
			  uint32_t min, uint32_t max)
{
	bool quoted = false, angle = false;
	struct pl c = {val->p, 0};
	int err = 0;

	for (size_t i = 0; i < val->l && !err; i++) {
		const char ch = val->p[i];

		if (quoted && ch == '\\' && i + 1 < val->l)
			++i;
		else if (ch == '"' && !angle)
			quoted = !quoted;
		else if (!quoted && (ch == '<' || ch == '>'))
			angle = ch == '<';
		else if (!quoted && !angle && ch == ',') {
			c.l = (size_t)(val->p + i - c.p);
			err = print_contact(mb, &c, min, max);
			err = err ? err : mbuf_write_u8(mb, ',');
			c.p = val->p + i + 1;
		}
	}
	c.l = (size_t)(val->p + val->l - c.p);
	return err ? err : print_contact(mb, &c, min, max);
}

/* A header of a REGISTER going to the registrar: Expires and Contact
 * with the registration time within MIN..MAX, the rest as it is. */
int reg_expires_print(struct mbuf *mb, const struct sip_hdr *hdr,
		      uint32_t min, uint32_t max)
{
	struct pl num = hdr->val;
	int err = mbuf_printf(mb, "%r: ", &hdr->name);

	if (err)
		return err;
	if (hdr->id == SIP_HDR_EXPIRES) {
		while (num.l && (num.p[num.l - 1] == ' '
				 || num.p[num.l - 1] == '\t'))
			--num.l;
		err = print_bounded(mb, &hdr->val, &num, min, max);
	}
	else if (hdr->id == SIP_HDR_CONTACT)
		err = print_contacts(mb, &hdr->val, min, max);
	else
		err = mbuf_write_pl(mb, &hdr->val);
	return err ? err : mbuf_write_str(mb, "\r\n");
}

static bool path_refused(const struct sip_msg *req, const struct sip_msg *rsp)
{
	if (rsp->scode == 420)
		return sip_msg_hdr_has_value(rsp, SIP_HDR_UNSUPPORTED, "path");
	/* a 2xx listing bindings must echo the Path it stored with them */
	return rsp->scode >= 200 && rsp->scode < 300
		&& sip_msg_hdr(req, SIP_HDR_CONTACT)
		&& sip_msg_hdr(rsp, SIP_HDR_CONTACT)
		&& !sip_msg_hdr(rsp, SIP_HDR_PATH);
}

/* The final answer of the registrar to a REGISTER we relayed. */
void reg_final(struct sbc *sbc, const struct sip_msg *req,
	       const struct sip_msg *rsp)
{
	const uint64_t now = tmr_jiffies();

	authguard_result(sbc, req, rsp);
	if (rsp->scode >= 200 && rsp->scode < 300)
		binding_registered(sbc, req, rsp, req->tp == SIP_TRANSP_UDP
				   ? NULL : req->sock);
	if (!path_refused(req, rsp))
		return;
	if (sbc->reg_path_warned && now - sbc->reg_path_warned < PATH_WARN_MS)
		return;
	sbc->reg_path_warned = now;
	LOGW(sbc, "registrar %s does not support Path (%u %r to the REGISTER "
	     "of %r from %J): RFC 3327, its users cannot be reached through "
	     "sbcd", sbc->conf->registrar, rsp->scode, &rsp->reason,
	     &req->to.uri.user, &req->src);
}
