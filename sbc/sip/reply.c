/*
 * reply.c: where the responses to a request go, and the responses sbcd
 * writes itself.  Every answer to a request, made here or relayed from
 * the other side, takes its address from reply_addr().
 *
 * RFC 3261 18.2.2 sends a UDP response to the received address and the
 * port of the Via's sent-by; RFC 3581 sends it to the source port when
 * the Via asks with rport.  A customer behind a NAT that does not ask
 * listens only where its request left the NAT, so on the access side
 * (symmetric_responses) every UDP response goes back to the source
 * address and port.  Where that is not where the RFCs would send it, the
 * top Via gets received and rport as if the client had asked, in the
 * request sbcd forwards (the stateless 2xx retransmissions find their
 * way back by that Via) and in every answer, so that all the answers to
 * a request show one Via.  The core side keeps the RFCs.
 *
 * libre's sip_treply() and sip_reply() pick the address themselves, so
 * sbcd writes its own responses (as libre would: the Vias, From, To with
 * a tag, Call-ID, CSeq).  libre answers a CANCEL itself before sbcd sees
 * it; reply_cancel() repeats that 200 where the client listens.
 */
#include "sbc.h"

static const struct pl cancel_met = PL("CANCEL");

static bool rport_asked(const struct sip_msg *msg)
{
	struct pl rport;

	return !msg_param_exists(&msg->via.params, "rport", &rport);
}

static bool symmetric(const struct side *side, const struct sip_msg *msg)
{
	return side->id == SIDE_ACCESS && msg->tp == SIP_TRANSP_UDP
		&& side->sbc->conf->symmetric_responses;
}

bool reply_rport_forced(const struct side *side, const struct sip_msg *msg)
{
	struct sa rfc;

	if (!symmetric(side, msg))
		return false;
	sip_reply_addr(&rfc, msg, rport_asked(msg));
	return !sa_cmp(&rfc, &msg->src, SA_ALL);
}

void reply_addr(struct sa *dst, const struct side *side,
		const struct sip_msg *msg)
{
	/* a maddr of a customer's does not send our answers elsewhere */
	if (symmetric(side, msg)) {
		*dst = msg->src;
		return;
	}
	sip_reply_addr(dst, msg, rport_asked(msg));
}

/* The response head to MSG; with cancel, the 200 to a CANCEL of MSG
 * (an INVITE): the CANCEL had the INVITE's top Via only (RFC 3261 9.1). */
static int print_head(struct mbuf *mb, const struct side *side,
		      const struct sip_msg *msg, uint16_t scode,
		      const char *reason, bool cancel)
{
	const bool rport = reply_rport_forced(side, msg);
	bool top = true;
	int err;

	err = mbuf_printf(mb, "SIP/2.0 %u %s\r\n", scode, reason);
	for (struct le *le = msg->hdrl.head; le && !err; le = le->next) {
		const struct sip_hdr *hdr = le->data;

		switch (hdr->id) {

		case SIP_HDR_VIA:
			if (top)
				err = sipmsg_via_add_received(mb, msg, hdr,
							      rport);
			else if (!cancel)
				err = sipmsg_print_hdr(mb, hdr);
			top = false;
			break;

		case SIP_HDR_TO:
			err = mbuf_printf(mb, "%r: %r", &hdr->name, &hdr->val);
			if (!err && !pl_isset(&msg->to.tag) && scode > 100)
				err = mbuf_printf(mb, ";tag=%016llx", msg->tag);
			err = err ? err : mbuf_write_str(mb, "\r\n");
			break;

		case SIP_HDR_FROM:
		case SIP_HDR_CALL_ID:
			err = sipmsg_print_hdr(mb, hdr);
			break;

		case SIP_HDR_CSEQ:
			/* as it came: a number libre cannot hold (RFC 4475
			 * scalar02) or written 0009 is the client's to match */
			if (!cancel)
				err = sipmsg_print_hdr(mb, hdr);
			else
				err = mbuf_printf(mb, "%r: %u %r\r\n",
						  &hdr->name, msg->cseq.num,
						  &cancel_met);
			break;

		default:
			break;
		}
	}
	return err ? err : mbuf_write_str(mb, "Server: sbc/" SBC_VERSION
					  "\r\n");
}

static int send_reply(struct sip_strans **stp, const struct side *side,
		      const struct sip_msg *msg, uint16_t scode,
		      struct mbuf *mb)
{
	struct sa dst;

	reply_addr(&dst, side, msg);
	mb->pos = 0;
	if (stp)
		return sip_strans_reply(stp, side->sip, msg, &dst, scode, mb);
	return sip_send(side->sip, msg->sock, msg->tp, &dst, mb);
}

int reply_send(struct sip_strans **stp, const struct side *side,
	       const struct sip_msg *msg, uint16_t scode, const char *reason,
	       const char *hdrs)
{
	struct mbuf *mb;
	int err;

	if (!pl_strcmp(&msg->met, "ACK"))
		return 0;       /* never answered */
	mb = mbuf_alloc(512);
	if (!mb)
		return ENOMEM;
	err = print_head(mb, side, msg, scode, reason, false);
	err = err ? err : mbuf_printf(mb, "%sContent-Length: 0\r\n\r\n",
				      hdrs ? hdrs : "");
	if (err) {
		/* as libre's replies: the transaction dies with its answer */
		if (stp)
			*stp = mem_deref(*stp);
	}
	else {
		err = send_reply(stp, side, msg, scode, mb);
	}
	mem_deref(mb);
	return err;
}

void reply_cancel(const struct side *side, const struct sip_msg *invite)
{
	struct mbuf *mb;
	struct sa dst;
	int err;

	/* libre's 200 went where the RFCs say: only where that is not
	 * where the client listens does it need another */
	if (!reply_rport_forced(side, invite))
		return;
	mb = mbuf_alloc(512);
	if (!mb)
		return;
	err = print_head(mb, side, invite, 200, "OK", true);
	err = err ? err : mbuf_write_str(mb, "Content-Length: 0\r\n\r\n");
	if (!err) {
		reply_addr(&dst, side, invite);
		mb->pos = 0;
		err = sip_send(side->sip, invite->sock, invite->tp, &dst, mb);
	}
	if (err)
		LOGW(side->sbc, "%s side: 200 to the CANCEL of %r from %J: %m",
		     side->name, &invite->callid, &invite->src, err);
	mem_deref(mb);
}
