/*
 * register.c: REGISTER forwarding (RFC 3327).  A REGISTER from the access
 * side goes to the configured registrar on the core side, with sbcd's
 * core-facing address on top of its Path:
 *   Path: <sip:TOKEN@core-addr:port;transport=T;lr;ob>
 * where TOKEN (flow.c) says how the client is reached again: the
 * transport, address and port its REGISTER came from, with a MAC so the
 * core side cannot forge one.  Supported: path is added when the client
 * did not list it.  Each 2xx records the client's bindings
 * (binding.c); a
 * registrar that does not support Path (420 with Unsupported: path, or a
 * 2xx without Path) is logged, since its users cannot be reached through
 * sbcd, and its answer is relayed as it is.  The final answer also feeds
 * the password-guessing protection (authguard.c).
 */
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

static const char *tp_name(enum sip_transp tp);

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
		LOGW(sbc, "core side: %r from %J with a %s flow token",
		     &ctx->msg->met, &ctx->msg->src,
		     err == EPERM ? "forged" : "malformed");
		event_emit(sbc, ctx, "bad_flow_token", "403");
		flow_reply(ctx, 403, "Forbidden");
		return;
	}
	b = binding_of(sbc, tp, &addr);
	if (tp != SIP_TRANSP_UDP && (!b || !binding_conn_alive(b))) {
		LOGI(sbc, "core side: %r to %r: the client's %s connection "
		     "from %J is gone: 430", &ctx->msg->met,
		     &ctx->msg->ruri, tp_name(tp), &addr);
		flow_reply(ctx, 430, "Flow Failed");
		return;
	}
	if (re_sdprintf(&uri, "sip:%J;transport=%s", &addr, tp_name(tp))) {
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

static const char *tp_name(enum sip_transp tp)
{
	switch (tp) {
	case SIP_TRANSP_TCP: return "tcp";
	case SIP_TRANSP_TLS: return "tls";
	default:             return "udp";
	}
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
	err = mbuf_printf(mb, "Path: <sip:%s@%J;transport=%s;lr;ob>\r\n",
			  flow, src, tp_name(tp));
	if (!err && !sip_msg_hdr_has_value(req, SIP_HDR_SUPPORTED, "path"))
		err = mbuf_write_str(mb, "Supported: path\r\n");
	return err;
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
