/*
 * dialog_bye.c: sbcd ends a call itself (dialog_max_duration, media
 * inactivity): a BYE to each party, built from the INVITE and the 2xx
 * that set the call up, in each party's own CSeq space, along the route
 * set towards it (a party behind NAT: over its flow, dialog_flow.c),
 * from the side it talks to.  Then the call is ended
 * (counters, ports).  An early call only ends: its INVITE transaction
 * (timer C) answers the caller.
 */
#include <stdlib.h>
#include <string.h>
#include "sbc.h"

enum { CALLER = 0, CALLEE = 1 };

static void bye_resp(int err, const struct sip_msg *msg, void *arg)
{
	(void)err;
	(void)msg;
	(void)arg;
}

/* The Route values towards one party: the caller's proxies are the
 * Record-Route entries of the INVITE as received; the callee's are the
 * entries of the 2xx above our own, in reverse. */
static int routes_print(struct mbuf *mb, const struct dialog *d, int to,
			struct pl *first)
{
	const struct sip_msg *m = to == CALLER ? d->invite : d->answer;
	struct pl v[16];
	size_t n = 0;
	int err = 0;

	for (struct le *le = m->hdrl.head; le && n < ARRAY_SIZE(v);
	     le = le->next) {
		const struct sip_hdr *hdr = le->data;
		struct pl list = hdr->val, e;
		bool self = false;

		if (hdr->id != SIP_HDR_RECORD_ROUTE)
			continue;
		while (!self && sipmsg_list_next(&list, &e)
		       && n < ARRAY_SIZE(v)) {
			struct sip_addr addr;

			self = !sip_addr_decode(&addr, &e)
				&& route_is_self(d->sbc, &addr.uri);
			if (!self)
				v[n++] = e;
		}
		if (self)
			break;
	}
	for (size_t i = 0; i < n && !err; i++) {
		const struct pl *e = to == CALLER ? &v[i] : &v[n - 1 - i];

		if (!i)
			*first = *e;
		err = mbuf_printf(mb, "Route: %r\r\n", e);
	}
	return err;
}

static int target_of(struct uri *uri, struct pl *ruri, const struct dialog *d,
		     int to)
{
	const struct sip_msg *m = to == CALLER ? d->invite : d->answer;
	const struct sip_hdr *ct = sip_msg_hdr(m, SIP_HDR_CONTACT);
	struct sip_addr addr;

	if (!ct || sip_addr_decode(&addr, &ct->val))
		return EBADMSG;
	*ruri = addr.auri;
	*uri = addr.uri;
	return 0;
}

static int bye_send(struct dialog *d, int to)
{
	struct sbc *sbc = d->sbc;
	const int side = to == CALLER ? d->caller_side
		: d->caller_side == SIDE_ACCESS ? SIDE_CORE : SIDE_ACCESS;
	const struct sip_msg *inv = d->invite, *ans = d->answer;
	struct pl ruri, first = PL_INIT;
	struct sip_addr route;
	struct uri nexthop, flow;
	void *owner = NULL;
	struct mbuf *mb;
	int err;

	err = target_of(&nexthop, &ruri, d, to);
	if (err)
		return err;
	/* a party behind NAT: over its flow, to its latest Contact */
	if (side == SIDE_ACCESS) {
		err = dialog_flow_hop(&flow, &owner, d);
		if (err && err != ENOENT)
			return err;
		if (!err && d->acontact)
			pl_set_str(&ruri, d->acontact);
	}
	mb = mbuf_alloc(1024);
	if (!mb) {
		mem_deref(owner);
		return ENOMEM;
	}
	err = routes_print(mb, d, to, &first);
	/* the first Route is the next hop (loose routing) */
	if (!err && pl_isset(&first) && !sip_addr_decode(&route, &first))
		nexthop = route.uri;
	if (owner)
		nexthop = flow;
	/* caller's From and the callee's To (with its tag) swap for a BYE
	 * to the caller, whose CSeq space is the callee's */
	err |= mbuf_printf(mb, "From: %r\r\nTo: %r\r\n",
			   to == CALLER ? &ans->to.val : &inv->from.val,
			   to == CALLER ? &inv->from.val : &ans->to.val);
	/* the callee knows the Call-ID in the form that crossed sbcd */
	if (to == CALLER)
		err |= mbuf_printf(mb, "Call-ID: %r\r\n", &inv->callid);
	else
		err |= sipmsg_callid_print(mb, sbc, &inv->callid);
	err |= mbuf_printf(mb, "CSeq: %u BYE\r\nMax-Forwards: 70\r\n"
			   "Reason: SIP;cause=200;text=\"%s\"\r\n"
			   "Content-Length: 0\r\n\r\n",
			   d->cseq[to == CALLER ? CALLEE : CALLER] + 1,
			   d->bye_reason);
	if (!err) {
		mb->pos = 0;
		listen_source(&sbc->side[side]);
		err = sip_request(NULL, sbc->side[side].sip, true, "BYE", 3,
				  ruri.p, (int)ruri.l, &nexthop, mb,
				  (size_t)inv->callid.l, NULL, bye_resp, NULL);
		listen_source(NULL);
	}
	mem_deref(mb);
	mem_deref(owner);
	return err;
}

/* sbcd hangs up: a BYE to both parties of a confirmed call, then the
 * call ends. */
void dialog_terminate(struct dialog *d, const char *why)
{
	struct sbc *sbc = d->sbc;
	int err = 0;

	if (d->state == DLG_ENDED || store_silent(&sbc->store))
		return;
	mem_ref(d);
	if (d->state == DLG_CONFIRMED && d->invite && d->answer) {
		d->bye_reason = why;
		err  = bye_send(d, CALLER);
		err |= bye_send(d, CALLEE);
		LOGI(sbc, "call %s of peer '%s' hung up by sbcd (%s)%s",
		     d->callid, d->peer, why, err ? ": a BYE failed" : "");
	}
	else {
		LOGI(sbc, "call %s of peer '%s' ended by sbcd (%s)",
		     d->callid, d->peer, why);
	}
	dialog_end(d, why);
	mem_deref(d);
}

static int msgs_encode_h(struct mbuf *mb, const void *arg);
static int cseq_encode_h(struct mbuf *mb, const void *arg);

/* What a BYE needs later: the INVITE, its 2xx, and the CSeq each party
 * has used so far; the other nodes get them as records once the call is
 * answered, and each later CSeq. */
void dialog_learn(struct dialog *d, const struct sip_msg *msg, int in)
{
	if (!d || d->state == DLG_ENDED || dialog_is_other_fork(d, msg))
		return;
	if (msg->req && !pl_strcmp(&msg->met, "INVITE") && !d->invite
	    && !pl_isset(&msg->to.tag)) {
		d->invite = mem_ref((struct sip_msg *)msg);
		d->caller_side = in;
		d->cseq[CALLER] = msg->cseq.num;
		return;
	}
	if (!msg->req) {
		if (!d->answer && msg->scode >= 200 && msg->scode < 300
		    && !pl_strcmp(&msg->cseq.met, "INVITE")) {
			d->answer = mem_ref((struct sip_msg *)msg);
			if (d->invite)
				store_publish(&d->sbc->store, msgs_encode_h,
					      d);
		}
		return;
	}
	if (pl_strcmp(&msg->met, "ACK") && pl_strcmp(&msg->met, "CANCEL")) {
		const int who = !pl_strcmp(&msg->from.tag, d->ftag) ? CALLER
			: CALLEE;

		if (msg->cseq.num > d->cseq[who]) {
			d->cseq[who] = msg->cseq.num;
			if (d->answer)
				store_publish(&d->sbc->store, cseq_encode_h,
					      d);
		}
	}
}

/* ---- what a BYE needs, as a record (state_file; a standby alike) ---- */

/* The message in lowercase hex, a buffer at a time, not a formatted
 * print per byte. */
static int hex_print(struct re_printf *pf, void *arg)
{
	static const char hex[] = "0123456789abcdef";
	const struct mbuf *mb = arg;
	char buf[512];
	size_t n = 0;
	int err = 0;

	for (size_t i = 0; i < mb->end && !err; i++) {
		buf[n++] = hex[mb->buf[i] >> 4];
		buf[n++] = hex[mb->buf[i] & 15];
		if (n == sizeof(buf) || i + 1 == mb->end) {
			err = pf->vph(buf, n, pf->arg);
			n = 0;
		}
	}
	return err;
}

/* Of the INVITE and its 2xx, only what the BYEs (bye_send) and the
 * matching of the INVITE's retransmissions (dialog.c, topo.c) read:
 * the start line, the top Via, From, To, Call-ID, CSeq, Contact and the
 * Record-Route headers.  The body and every other header stay out of
 * the record: they were two thirds of what a call sent to Corosync.
 * It is still a SIP message, so the decoder is sip_msg_decode. */
static int msg_trim(struct mbuf *mb, const struct sip_msg *m)
{
	bool via = false;
	int err;

	err = m->req ? mbuf_printf(mb, "%r %r SIP/2.0\r\n", &m->met, &m->ruri)
		: mbuf_printf(mb, "SIP/2.0 %u %r\r\n", m->scode, &m->reason);
	for (struct le *le = m->hdrl.head; le && !err; le = le->next) {
		const struct sip_hdr *h = le->data;

		switch (h->id) {
		case SIP_HDR_VIA:
			if (via)
				continue;
			via = true;
			break;
		case SIP_HDR_FROM:
		case SIP_HDR_TO:
		case SIP_HDR_CALL_ID:
		case SIP_HDR_CSEQ:
		case SIP_HDR_CONTACT:
		case SIP_HDR_RECORD_ROUTE:
			break;
		default:
			continue;
		}
		err = mbuf_printf(mb, "%r: %r\r\n", &h->name, &h->val);
	}
	return err ? err : mbuf_write_str(mb, "Content-Length: 0\r\n\r\n");
}

static int msgs_encode_h(struct mbuf *mb, const void *arg)
{
	const struct dialog *d = arg;
	struct mbuf *inv, *ans;
	int err;

	if (!d->invite || !d->invite->req || !d->answer || d->answer->req)
		return EINVAL;
	inv = mbuf_alloc(512);
	ans = mbuf_alloc(512);
	err = inv && ans ? 0 : ENOMEM;
	err = err ? err : msg_trim(inv, d->invite);
	err = err ? err : msg_trim(ans, d->answer);
	err = err ? err : mbuf_printf(mb, "dmsg %s %s %d %u %u %H %H\n",
				      d->callid, d->ftag, d->caller_side,
				      d->cseq[CALLER], d->cseq[CALLEE],
				      hex_print, inv, hex_print, ans);
	mem_deref(inv);
	mem_deref(ans);
	return err;
}

/* "dcsq CALLID FTAG CSEQ_CALLER CSEQ_CALLEE": a request inside the call
 * (a re-INVITE, an UPDATE) moved a party's CSeq on. */
static int cseq_encode_h(struct mbuf *mb, const void *arg)
{
	const struct dialog *d = arg;

	return mbuf_printf(mb, "dcsq %s %s %u %u\n", d->callid, d->ftag,
			   d->cseq[CALLER], d->cseq[CALLEE]);
}

static bool msgs_save_h(struct le *le, void *arg)
{
	const struct dialog *d = le->data;

	if (d->state != DLG_CONFIRMED || !d->invite || !d->answer)
		return false;
	return msgs_encode_h(arg, d) != 0;
}

/* "dmsg CALLID FTAG CALLER_SIDE CSEQ_CALLER CSEQ_CALLEE INVITE 2XX", the
 * two messages trimmed (msg_trim), in hex, for every answered call. */
int dialog_msgs_save(struct mbuf *mb, const struct sbc *sbc)
{
	return hash_apply(sbc->dialogs.ht, msgs_save_h, mb) ? ENOMEM : 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int msg_of_hex(struct sip_msg **mp, const struct pl *hex)
{
	struct mbuf *mb;
	int err = 0;

	if (!hex->l || hex->l % 2 || hex->l > 2 * 65535)
		return EBADMSG;
	mb = mbuf_alloc(hex->l / 2);
	if (!mb)
		return ENOMEM;
	for (size_t i = 0; i < hex->l; i += 2) {
		const int hi = hex_digit(hex->p[i]);
		const int lo = hex_digit(hex->p[i + 1]);

		if (hi < 0 || lo < 0) {
			err = EBADMSG;
			break;
		}
		mb->buf[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	mb->end = hex->l / 2;
	mb->pos = 0;
	err = err ? err : sip_msg_decode(mp, mb);
	mem_deref(mb);
	return err;
}

static bool ftag_is(const struct dialog *d, const void *arg)
{
	return !pl_strcmp(arg, d->ftag);
}

int dialog_msgs_apply(struct sbc *sbc, const struct pl *txt)
{
	struct pl t = *txt, tag, cid, ftag, side, c0, c1, inv, ans, rest;
	struct sip_msg *mi = NULL, *ma = NULL;
	struct dialog *d;
	int err;

	err  = store_field(&t, &tag);
	err |= store_field(&t, &cid);
	err |= store_field(&t, &ftag);
	err |= store_field(&t, &side);
	err |= store_field(&t, &c0);
	err |= store_field(&t, &c1);
	err |= store_field(&t, &inv);
	err |= store_field(&t, &ans);
	if (err || pl_strcmp(&tag, "dmsg") || !store_field(&t, &rest)
	    || !store_digits(&side, 1) || pl_u32(&side) > SIDE_CORE
	    || !store_digits(&c0, 10) || !store_digits(&c1, 10))
		return EBADMSG;
	d = dialog_by_callid(sbc, &cid, ftag_is, &ftag);
	if (!d)
		return ENOENT;
	err = msg_of_hex(&mi, &inv);
	err = err ? err : msg_of_hex(&ma, &ans);
	if (err || !mi->req || ma->req) {
		mem_deref(mi);
		mem_deref(ma);
		return err ? err : EBADMSG;
	}
	mem_deref(d->invite);
	mem_deref(d->answer);
	d->invite = mi;
	d->answer = ma;
	d->caller_side = (int)pl_u32(&side);
	d->cseq[CALLER] = pl_u32(&c0);
	d->cseq[CALLEE] = pl_u32(&c1);
	return 0;
}

int dialog_cseq_apply(struct sbc *sbc, const struct pl *txt)
{
	struct pl t = *txt, tag, cid, ftag, c0, c1, rest;
	struct dialog *d;
	int err;

	err  = store_field(&t, &tag);
	err |= store_field(&t, &cid);
	err |= store_field(&t, &ftag);
	err |= store_field(&t, &c0);
	err |= store_field(&t, &c1);
	if (err || pl_strcmp(&tag, "dcsq") || !store_field(&t, &rest)
	    || !store_digits(&c0, 10) || !store_digits(&c1, 10))
		return EBADMSG;
	d = dialog_by_callid(sbc, &cid, ftag_is, &ftag);
	if (!d)
		return ENOENT;
	d->cseq[CALLER] = pl_u32(&c0);
	d->cseq[CALLEE] = pl_u32(&c1);
	return 0;
}
