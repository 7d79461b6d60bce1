/*
 * forward.c: the forward phase.  A request is proxied statefully: a
 * server transaction on the side it came from, a client request on the
 * side it goes to, and a struct txn joining the two until the final
 * response.  Responses go back through the same object, stripped of our
 * Via.  ACK for 2xx and retransmitted 2xx are forwarded statelessly.
 */
#include <string.h>
#include <strings.h>
#include "sbc.h"

/* One proxied transaction.  Besides libre's transaction handles, which
 * live and die on this node, it holds only plain values (sides, next
 * hop, reply address, flags): what a standby would need to answer for it
 * can be encoded from them.  Calls (dialogs) get their own table, the
 * state a standby takes over, with the screening issue's counters. */
struct txn {
	struct le le;               /* in sbc->txnl */
	struct sbc *sbc;
	struct sbc_conf *conf;      /* its next hop points into it (reload) */
	struct side *in;
	struct side *out;
	struct sip_strans *st;      /* ours until the final response */
	struct sip_request *req;    /* pending client request */
	struct verdict *verdict;    /* redirect mode: nothing sent yet */
	struct sip_msg *msg;        /* the request as received */
	struct tmr tmr;             /* no-answer timeout, then timer C */
	struct sa reply_dst;
	struct uri nexthop;
	struct dialog *dlg;         /* the call an initial INVITE opens */
	void *hop_owner;            /* what nexthop points into, if not conf */
	struct dialog *call;        /* the call it belongs to, if tracked */
	bool hide;                  /* responses to the access side hidden */
	bool record_route;
	bool to_registrar;          /* REGISTER: Path, result to register.c */
	bool answered;              /* any response from downstream */
	bool provisional;
	bool cancelled;
};

static void txn_destructor(void *arg)
{
	struct txn *txn = arg;

	list_unlink(&txn->le);
	tmr_cancel(&txn->tmr);
	txn->verdict = mem_deref(txn->verdict);
	txn->req = mem_deref(txn->req);   /* cancels a pending request */
	txn->st = mem_deref(txn->st);
	txn->msg = mem_deref(txn->msg);
	if (txn->dlg && txn->dlg->state == DLG_EARLY)
		dialog_end(txn->dlg, "no answer");
	txn->dlg = mem_deref(txn->dlg);
	txn->conf = mem_deref(txn->conf);
	txn->hop_owner = mem_deref(txn->hop_owner);
	txn->call = mem_deref(txn->call);
	--txn->sbc->stats.txn_active;
}

static void txn_reply(struct txn *txn, uint16_t scode, const char *reason)
{
	if (!txn->st || txn->sbc->terminating)
		return;
	(void)reply_send(&txn->st, txn->in, txn->msg, scode, reason, NULL);
}

/* Double Record-Route (RFC 5658): the entry facing the next hop on top,
 * the one facing the previous hop below, each with its transport. */
static int send_handler(enum sip_transp tp, const struct sa *src,
			const struct sa *dst, struct mbuf *mb, void *arg)
{
	struct txn *txn = arg;
	struct sa in = txn->in->laddr;
	enum sip_transp itp = txn->msg->tp;

	if (txn->dlg && txn->out->id == SIDE_ACCESS)
		dialog_flow_sent(txn->dlg, tp, dst);
	if (txn->to_registrar)
		return reg_path_print(mb, txn->sbc, txn->msg, tp, src);
	if (!txn->record_route)
		return 0;
	/* hidden from the access side: our core-facing entry (and the
	 * core's) join the route set only on the core's side (topo.c) */
	if (txn->hide && txn->out->id == SIDE_ACCESS)
		return mbuf_printf(mb, "Record-Route: <sip:%J%s;lr>\r\n",
				   src, sip_transp_param(tp));
	sa_set_port(&in, sipmsg_side_port(txn->in, itp));
	return mbuf_printf(mb, "Record-Route: <sip:%J%s;lr>\r\n"
			   "Record-Route: <sip:%J%s;lr>\r\n",
			   src, sip_transp_param(tp), &in, sip_transp_param(itp));
}

/* The rest of a hidden call's route set, for the core side: our
 * core-facing entry, then the core's own entries. */
static int core_rr_print(struct re_printf *pf, const struct txn *txn)
{
	struct sa in = txn->in->laddr;
	enum sip_transp itp = txn->msg->tp;
	int err;

	sa_set_port(&in, sipmsg_side_port(txn->in, itp));
	err = re_hprintf(pf, "Record-Route: <sip:%J%s;lr>\r\n", &in,
			 sip_transp_param(itp));
	if (!err && txn->call && txn->call->routes && txn->call->routes[0])
		err = re_hprintf(pf, "Record-Route: %s\r\n",
				 txn->call->routes);
	return err;
}

static int build_headers(struct mbuf *mb, const struct req_ctx *ctx)
{
	const struct sip_msg *msg = ctx->msg;
	bool first_via = true, mf = false;
	int err = 0;

	const bool hide = ctx->hide && ctx->out->id == SIDE_ACCESS;

	if (pl_isset(&ctx->routes))
		err = mbuf_printf(mb, "Route: %r\r\n", &ctx->routes);
	for (struct le *le = msg->hdrl.head; le && !err; le = le->next) {
		const struct sip_hdr *hdr = le->data;

		if (hide && topo_req_hdr(mb, ctx, hdr, &err))
			continue;
		switch (hdr->id) {

		case SIP_HDR_VIA:
			if (first_via) {
				first_via = false;
				err = sipmsg_via_add_received(mb, msg, hdr,
						reply_rport_forced(ctx->in,
								   msg));
				continue;
			}
			break;

		case SIP_HDR_ROUTE:
			if (ctx->strip_routes)
				continue;
			if (hdr == ctx->route_partial) {
				err = mbuf_printf(mb, "Route: %r\r\n",
						  &ctx->route_rest);
				continue;
			}
			if (hdr == ctx->skip_route[0]
			    || hdr == ctx->skip_route[1])
				continue;
			break;

		case SIP_HDR_CALL_ID:
			err = sipmsg_callid_print(mb, ctx->sbc, &hdr->val);
			continue;

		case SIP_HDR_MAX_FORWARDS:
			mf = true;
			err = mbuf_printf(mb, "Max-Forwards: %u\r\n",
					  ctx->maxfwd - 1);
			continue;

		case SIP_HDR_CONTENT_LENGTH:
			continue;

		case SIP_HDR_CONTACT:
			if (ctx->nat) {
				err = dialog_flow_contact_print(mb, ctx->nat,
						ctx->out,
						sipmsg_uri_tp(&ctx->nexthop),
						hdr);
				continue;
			}
			/* fall through */
		case SIP_HDR_EXPIRES:
			if (!ctx->to_registrar)
				break;
			err = reg_expires_print(mb, hdr,
					ctx->sbc->conf->register_min_expires,
					ctx->sbc->conf->register_max_expires);
			continue;

		default:
			/* only sbc tells the screening server these */
			if (ctx->in->id == SIDE_ACCESS
			    && verdict_hdr_reserved(hdr))
				continue;
			break;
		}
		err = sipmsg_print_hdr(mb, hdr);
	}
	if (!mf)
		err |= mbuf_write_str(mb, "Max-Forwards: 70\r\n");
	if (ctx->body) {
		err |= mbuf_printf(mb, "Content-Length: %zu\r\n\r\n",
				   ctx->body->end);
		err |= mbuf_write_mem(mb, ctx->body->buf, ctx->body->end);
		return err;
	}
	err |= mbuf_printf(mb, "Content-Length: %zu\r\n\r\n",
			   mbuf_get_left(msg->mb));
	err |= mbuf_write_mem(mb, mbuf_buf(msg->mb), mbuf_get_left(msg->mb));
	return err;
}

/* RFC 3261 18.1.1: a request too large for UDP goes over TCP. */
static void choose_transport(struct req_ctx *ctx, size_t size)
{
	static const struct pl tcp = PL(";transport=tcp");
	struct pl tp;

	if (size + 300 <= ctx->sbc->conf->udp_mtu)
		return;
	if (!msg_param_decode(&ctx->nexthop.params, "transport", &tp)
	    && pl_strcasecmp(&tp, "udp"))
		return;
	ctx->nexthop.params = tcp;
}

/* The request as received, rebuilt for sip_request to ctx->nexthop
 * (verdict.c asks the screening server with it). */
int forward_build(struct mbuf *mb, struct req_ctx *ctx)
{
	int err = build_headers(mb, ctx);

	if (err)
		return err;
	choose_transport(ctx, mb->end + ctx->msg->ruri.l);
	mb->pos = 0;
	return 0;
}

/* After the last Record-Route of a printed response, the core's part of
 * a hidden call's route set (the access party echoed only its own). */
static int rr_insert(struct mbuf *mb, const struct txn *txn)
{
	struct mbuf *tail;
	size_t pos = 0;
	const char *p, *end = (const char *)mb->buf + mb->end;
	int err;

	for (p = (const char *)mb->buf; p < end;) {
		const char *nl = memchr(p, '\n', end - p);

		if (!nl || nl == p + 1)
			break;          /* end of the headers */
		if (!strncasecmp(p, "Record-Route:", 13))
			pos = nl + 1 - (const char *)mb->buf;
		p = nl + 1;
	}
	if (!pos)
		return 0;
	tail = mbuf_alloc(mb->end - pos);
	if (!tail)
		return ENOMEM;
	err = mbuf_write_mem(tail, mb->buf + pos, mb->end - pos);
	mb->end = mb->pos = pos;
	err |= mbuf_printf(mb, "%H", core_rr_print, txn);
	err |= mbuf_write_mem(mb, tail->buf, tail->end);
	mem_deref(tail);
	return err;
}

/* The call whose access party's Contact is ours towards the core, for
 * a message from side "from" (dialog_flow.c). */
static const struct dialog *nat_of(const struct dialog *d,
				   const struct side *from)
{
	return d && d->flow && from->id == SIDE_ACCESS ? d : NULL;
}

/* A response from downstream, relayed upstream without our Via. */
static int relay_response(struct txn *txn, const struct sip_msg *msg)
{
	struct mbuf *mb, *body = NULL;
	int err;

	if (validate_response(txn->sbc->conf, msg)) {
		LOGRI(txn->sbc, "%s side: dropped malformed response from %J",
		     txn->out->name, &msg->src);
		return EBADMSG;
	}
	mb = mbuf_alloc(msg->mb->end + 64);
	if (!mb)
		return ENOMEM;

	/* The Via set comes from the request as we received it, not from
	 * the downstream's copy: a peer that mangles or drops Vias cannot
	 * misdirect the response or make it loop. */
	if (txn->hide && txn->call && txn->in->id == SIDE_ACCESS)
		topo_learn_response(txn->call, msg, txn->sbc);
	if (txn->out->id == SIDE_ACCESS)
		dialog_flow_response(txn->call, msg);
	err = media_sdp(&body, txn->sbc, txn->call, msg, txn->out->id);
	if (err) {
		LOGW(txn->sbc, "%s side: %u to %r %r: SDP not anchored, "
		     "removed: %m", txn->out->name, msg->scode,
		     &msg->cseq.met, &msg->callid, err);
		body = mbuf_alloc(1);   /* none: never the far side's
					 * media address */
		if (!body) {
			mem_deref(mb);
			return ENOMEM;
		}
	}
	err = sipmsg_response_print(mb, msg, txn->msg,
				    reply_rport_forced(txn->in, txn->msg),
				    txn->sbc, txn->hide
				    && txn->in->id == SIDE_ACCESS
				    ? txn->sbc : NULL, nat_of(txn->call,
							      txn->out),
				    txn->msg->tp, body);
	if (!err && txn->hide && txn->in->id == SIDE_CORE
	    && txn->record_route && sip_msg_hdr(msg, SIP_HDR_RECORD_ROUTE))
		err = rr_insert(mb, txn);
	if (!err) {
		mb->pos = 0;
		err = sip_strans_reply(&txn->st, txn->in->sip, txn->msg,
				       &txn->reply_dst, msg->scode, mb);
		if (!err)
			++txn->sbc->stats.fwd_rsp;
	}
	mem_deref(body);
	mem_deref(mb);
	return err;
}

/* What a SUBSCRIBE's (or REFER's) 2xx granted: its Expires, else the
 * request's, else an hour (RFC 6665 leaves the default to the event
 * package; a REFER's subscription ends with its last NOTIFY). */
static uint32_t sub_expires(const struct sip_msg *req,
			    const struct sip_msg *rsp)
{
	const struct sip_hdr *h = sip_msg_hdr(rsp, SIP_HDR_EXPIRES);

	if (!h)
		h = sip_msg_hdr(req, SIP_HDR_EXPIRES);
	return h ? pl_u32(&h->val) : 3600;
}

static void timerc_handler(void *arg)
{
	struct txn *txn = arg;

	LOGI(txn->sbc, "INVITE %r to %r: no final answer in %u s, cancelled",
	     &txn->msg->callid, &txn->msg->uri.user,
	     txn->sbc->conf->invite_timeout);
	txn->cancelled = true;
	if (txn->req)
		sip_request_cancel(txn->req);
}

static void noanswer_handler(void *arg)
{
	struct txn *txn = arg;

	if (txn->cancelled) {
		txn_reply(txn, 487, "Request Terminated");
	}
	else {
		++txn->sbc->stats.upstream_fail;
		LOGW(txn->sbc, "upstream %H: no answer to %r within %u ms, "
		     "503 to %J", uri_encode, &txn->nexthop, &txn->msg->met,
		     txn->sbc->conf->upstream_timeout, &txn->msg->src);
		txn_reply(txn, 503, "Service Unavailable");
	}
	mem_deref(txn);
}

static void fail_reply(struct txn *txn, int err)
{
	uint16_t scode = 503;
	const char *reason = "Service Unavailable";

	if (txn->cancelled) {
		scode = 487;
		reason = "Request Terminated";
	}
	else if (err == ETIMEDOUT) {
		scode = 408;
		reason = "Request Timeout";
	}
	else {
		++txn->sbc->stats.upstream_fail;
	}
	LOGW(txn->sbc, "%r %r: next hop %H failed: %m (%u to %J)",
	     &txn->msg->met, &txn->msg->callid, uri_encode, &txn->nexthop,
	     err, scode, &txn->msg->src);
	txn_reply(txn, scode, reason);
}

static void resp_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct txn *txn = arg;

	if (err || !msg) {
		txn->req = NULL;
		fail_reply(txn, err ? err : EPROTO);
		mem_deref(txn);
		return;
	}

	if (!txn->answered) {
		txn->answered = true;
		tmr_cancel(&txn->tmr);
	}

	if (msg->scode < 200) {
		if (txn->msg->cseq.met.l == 6 && !txn->provisional) {
			txn->provisional = true;   /* INVITE: start timer C */
			tmr_start(&txn->tmr,
				  txn->sbc->conf->invite_timeout * 1000ULL,
				  timerc_handler, txn);
		}
		if (msg->scode > 100)
			(void)relay_response(txn, msg);
		return;
	}

	txn->req = NULL;
	dialog_learn(txn->dlg, msg, txn->out->id);
	if (txn->dlg && msg->scode < 300)
		dialog_confirm(txn->dlg, &msg->to.tag);
	else if (txn->dlg)
		dialog_end(txn->dlg, "failure answer");
	if (txn->call && txn->call->sub && msg->scode < 300
	    && dialog_subscribing(&msg->cseq.met))
		dialog_sub_refresh(txn->call, sub_expires(txn->msg, msg));
	(void)relay_response(txn, msg);
	if (txn->to_registrar)
		reg_final(txn->sbc, txn->msg, msg);
	mem_deref(txn);
}

static void cancel_handler(void *arg)
{
	struct txn *txn = arg;

	txn->cancelled = true;
	reply_cancel(txn->in, txn->msg);
	if (txn->verdict) {
		/* still asking the screening server: the switch never saw
		 * the call (the verdict request is cancelled with txn) */
		txn_reply(txn, 487, "Request Terminated");
		mem_deref(txn);
		return;
	}
	if (txn->req)
		sip_request_cancel(txn->req);
}

/* Before the SIP stacks go: a transaction holds objects of both. */
void forward_close(struct sbc *sbc)
{
	sbc->terminating = true;
	list_flush(&sbc->txnl);
}

int forward_reply(struct req_ctx *ctx, uint16_t scode, const char *reason)
{
	return reply_send(NULL, ctx->in, ctx->msg, scode, reason, NULL);
}

/* The client request: to ctx->nexthop, at once or after the verdict. */
static int txn_send(struct txn *txn, struct req_ctx *ctx)
{
	const struct sip_msg *msg = ctx->msg;
	struct mbuf *mb;
	int err;

	mb = mbuf_alloc(msg->mb->end + 256);
	if (!mb)
		return ENOMEM;
	err = build_headers(mb, ctx);
	if (err)
		goto out;
	choose_transport(ctx, mb->end + msg->ruri.l);
	txn->nexthop = ctx->nexthop;
	mb->pos = 0;

	listen_source(ctx->out);
	err = sip_request(&txn->req, ctx->out->sip, true, msg->met.p,
			  (int)msg->met.l, ctx->ruri.p, (int)ctx->ruri.l,
			  &ctx->nexthop, mb, (size_t)msg->callid.l ^ msg->tag,
			  send_handler, resp_handler, txn);
	listen_source(NULL);
	if (err) {
		fail_reply(txn, err);
		goto out;
	}
	++ctx->sbc->stats.fwd_req;
	if (ctx->timeout_ms)
		tmr_start(&txn->tmr, ctx->timeout_ms, noanswer_handler, txn);
 out:
	mem_deref(mb);
	return err;
}

/* Redirect mode: the screening server has spoken (verdict.c). */
static void verdict_handler(struct req_ctx *ctx, uint16_t scode,
			    const char *reason, void *arg)
{
	struct txn *txn = arg;
	int err;

	if (scode) {
		txn_reply(txn, scode, reason);
		mem_deref(txn);
		return;
	}
	err = txn_send(txn, ctx);
	txn->verdict = mem_deref(txn->verdict);   /* ctx goes with it */
	if (err) {
		LOGW(txn->sbc, "INVITE %r: cannot forward to the switch: %m",
		     &txn->msg->callid, err);
		txn_reply(txn, 500, "Server Internal Error");
		mem_deref(txn);
	}
}

/* SDP sbcd cannot anchor: no ports left (503, the caller's switch
 * route-advances) or a body it cannot read (488). */
static void media_refuse(struct req_ctx *ctx, int err)
{
	LOGW(ctx->sbc, "%s side: %r %r from %J: SDP not anchored: %m",
	     ctx->in->name, &ctx->msg->met, &ctx->msg->callid,
	     &ctx->msg->src, err);
	if (err == ENOSPC || err == ENOMEM)
		(void)reply_send(NULL, ctx->in, ctx->msg, 503,
				 "Service Unavailable", NULL);
	else if (err == EPROTO)         /* the peer's media = rtp or srtp */
		(void)reply_send(NULL, ctx->in, ctx->msg, 488,
				 "Not Acceptable Here (SRTP policy)", NULL);
	else
		(void)reply_send(NULL, ctx->in, ctx->msg, 488,
				 "Not Acceptable Here", NULL);
}

/* A new call or REGISTER is hidden as its peer says; what follows in a
 * call, as the call was. */
static void hide_decide(struct req_ctx *ctx)
{
	if (!ctx->has_totag)
		ctx->hide = topo_decide(ctx);
	else
		ctx->hide = ctx->dialog && ctx->dialog->hidden;
}

int forward_request(struct req_ctx *ctx)
{
	const struct sip_msg *msg = ctx->msg;
	struct txn *txn;
	bool invite = !pl_strcmp(&msg->met, "INVITE");
	int err;

	txn = mem_zalloc(sizeof(*txn), txn_destructor);
	if (!txn)
		return ENOMEM;
	++ctx->sbc->stats.txn_active;
	list_append(&ctx->sbc->txnl, &txn->le, txn);
	txn->sbc = ctx->sbc;
	txn->conf = mem_ref(ctx->sbc->conf);
	txn->hop_owner = mem_ref(ctx->hop_owner);
	txn->in = ctx->in;
	txn->out = ctx->out;
	txn->msg = mem_ref((struct sip_msg *)msg);
	txn->record_route = ctx->record_route;
	txn->to_registrar = ctx->to_registrar;
	reply_addr(&txn->reply_dst, ctx->in, msg);
	hide_decide(ctx);
	if (ctx->open_dialog
	    && !dialog_open(ctx, ctx->count_call, &txn->dlg))
		mem_ref(txn->dlg);
	txn->call = mem_ref(txn->dlg ? txn->dlg : ctx->dialog);
	dialog_learn(txn->call, msg, ctx->in->id);
	if (ctx->in->id == SIDE_ACCESS && !ctx->to_registrar) {
		dialog_flow_request(txn->call, msg);
		ctx->nat = nat_of(txn->call, ctx->in);
	}
	txn->hide = ctx->hide;
	if (ctx->hide && txn->call && ctx->in->id == SIDE_CORE)
		topo_learn_request(txn->call, msg);
	err = media_sdp(&ctx->body, ctx->sbc, txn->call, msg, ctx->in->id);
	if (err) {
		media_refuse(ctx, err);
		goto out;
	}

	err = sip_strans_alloc(&txn->st, ctx->in->sip, msg, cancel_handler,
			       txn);
	if (err)
		goto out;
	if (invite)
		(void)reply_send(&txn->st, ctx->in, msg, 100, "Trying", NULL);

	if (ctx->verdict)
		err = verdict_ask(&txn->verdict, ctx, verdict_handler, txn);
	else
		err = txn_send(txn, ctx);
	if (err)
		goto out;
	return 0;

 out:
	mem_deref(txn);
	return err;
}

int forward_ack(struct req_ctx *ctx)
{
	const struct sip_msg *msg = ctx->msg;
	struct mbuf *mb;
	int err;

	mb = mbuf_alloc(msg->mb->end + 128);
	if (!mb)
		return ENOMEM;
	hide_decide(ctx);
	if (ctx->in->id == SIDE_ACCESS) {
		dialog_flow_request(ctx->dialog, msg);
		ctx->nat = nat_of(ctx->dialog, ctx->in);
	}
	err = media_sdp(&ctx->body, ctx->sbc, ctx->dialog, msg, ctx->in->id);
	if (err)
		LOGW(ctx->sbc, "%s side: ACK %r: SDP not anchored: %m",
		     ctx->in->name, &msg->callid, err);
	err = build_headers(mb, ctx);
	if (!err) {
		choose_transport(ctx, mb->end + msg->ruri.l);
		mb->pos = 0;
		listen_source(ctx->out);
		err = sip_request(NULL, ctx->out->sip, false, "ACK", 3,
				  ctx->ruri.p, (int)ctx->ruri.l, &ctx->nexthop,
				  mb, 0, NULL, NULL, NULL);
		listen_source(NULL);
	}
	if (!err)
		++ctx->sbc->stats.fwd_ack;
	mem_deref(mb);
	return err;
}

/* Where a response goes by its (second) Via: received and rport win. */
static int via_dst(struct sa *dst, const struct sip_via *via)
{
	struct pl rcv, rport;

	*dst = via->addr;
	if (!msg_param_decode(&via->params, "received", &rcv)
	    && sa_set(dst, &rcv, sa_port(&via->addr)))
		return EINVAL;
	if (!msg_param_decode(&via->params, "rport", &rport)
	    && pl_isset(&rport))
		sa_set_port(dst, pl_u32(&rport));
	if (!sa_port(dst))
		sa_set_port(dst, via->tp == SIP_TRANSP_TLS ? 5061 : 5060);
	return sa_isset(dst, SA_ALL) ? 0 : EINVAL;
}

/* A 2xx retransmission arrives after its client transaction is gone
 * (libre ends an INVITE ctrans at the first 2xx): pass it on statelessly,
 * but only if the top Via is ours. */
int forward_stray_response(struct sbc *sbc, struct side *in,
			   const struct sip_msg *msg)
{
	struct side *out = &sbc->side[in->id == SIDE_ACCESS ? SIDE_CORE
							     : SIDE_ACCESS];
	const struct sip_hdr *via2 = NULL;
	const struct dialog *d;
	struct sip_via via;
	struct mbuf *mb, *body = NULL;
	struct sa dst;
	unsigned n = 0;
	int err = 0;

	if (msg->scode < 200 || msg->scode >= 300
	    || pl_strcmp(&msg->cseq.met, "INVITE")
	    || !sipmsg_is_side_addr(in, &msg->via.addr))
		return 0;

	for (struct le *le = msg->hdrl.head; le; le = le->next) {
		const struct sip_hdr *hdr = le->data;

		if (hdr->id == SIP_HDR_VIA && ++n == 2) {
			via2 = hdr;
			break;
		}
	}
	mb = mbuf_alloc(msg->mb->end + 256);
	if (!mb)
		return ENOMEM;
	if (!via2 && in->id == SIDE_ACCESS) {
		/* a hidden call the core placed: its Vias are in the call */
		err = topo_stray(sbc, msg, mb, &via);
		if (err || via_dst(&dst, &via))
			goto out;
	}
	else if (!via2 || sip_via_decode(&via, &via2->val)
		 || via_dst(&dst, &via)) {
		err = EBADMSG;
		goto out;
	}
	d = dialog_of(sbc, msg);
	if (media_sdp(&body, sbc, (struct dialog *)d, msg, in->id)) {
		LOGW(sbc, "%s side: 2xx %r: SDP not anchored, removed",
		     in->name, &msg->callid);
		body = mbuf_alloc(1);
		if (!body) {
			err = ENOMEM;
			goto out;
		}
	}
	err = sipmsg_response_print(mb, msg, NULL, false, sbc,
				    in->id == SIDE_CORE && d
				    && d->hidden ? sbc : NULL, nat_of(d, in),
				    via.tp, body);
	if (!err) {
		mb->pos = 0;
		listen_source(out);
		err = sip_send(out->sip, NULL, via.tp, &dst, mb);
		listen_source(NULL);
	}
	if (!err)
		++sbc->stats.fwd_rsp;
 out:
	mem_deref(body);
	mem_deref(mb);
	return err;
}
