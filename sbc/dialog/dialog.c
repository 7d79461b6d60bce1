/*
 * dialog.c: the call table (see dialog.h).  A dialog opens when an
 * initial INVITE is forwarded, is confirmed by a 2xx, and ends on a
 * failure answer (CANCEL and timeouts end that way too), a BYE in either
 * direction, or dialog_max_duration.  Each one counts once for its peer
 * and once for its peer's From user; the counts are what the fraud
 * limits read.  Every change goes through dialog_apply(), the function a
 * standby will feed with the records it receives.
 *
 * Record, one line:
 *   dlg STATE FLAGS CREATED SUBEXP CALLID FTAG TTAG PEER FROM FLOW TARGET
 *       ROUTES VIAS ACONTACT
 * (SUBEXP: unix seconds a subscription lasts until, 0 for a call)
 * (FLAGS: 1 counted, 2 emergency, 4 hidden, 8 subscription; "-" for an
 * empty field; FLOW: the access party's, TP/ADDRESS:PORT, e.g.
 * tcp/[2001:db8::5]:40312; in the last four, which may hold spaces, '%'
 * and ' ' are written %25, %20).
 */
#include <string.h>
#include <time.h>
#include "sbc.h"
#include "callid.h"
#include "store.h"

struct dialog_count {
	struct le he;
	struct hash *ht;
	char *key;                  /* "PEER" or "PEER FROMUSER" */
	uint32_t n;
};

static void count_destructor(void *arg)
{
	struct dialog_count *c = arg;

	hash_unlink(&c->he);
	mem_deref(c->key);
}

static bool count_cmp(struct le *le, void *arg)
{
	const struct dialog_count *c = le->data;

	return !strcmp(c->key, arg);
}

static struct dialog_count *count_find(struct hash *ht, const char *key)
{
	return list_ledata(hash_lookup(ht, hash_joaat_str(key), count_cmp,
				       (void *)key));
}

static struct dialog_count *count_ref(struct hash *ht, const char *key)
{
	struct dialog_count *c = count_find(ht, key);

	if (c)
		return mem_ref(c);
	c = mem_zalloc(sizeof(*c), count_destructor);
	if (!c || str_dup(&c->key, key))
		return mem_deref(c);
	c->ht = ht;
	hash_append(ht, hash_joaat_str(key), &c->he, c);
	return c;
}

/* The counts are referenced by their dialogs: the last one to go takes
 * the entry with it. */
static int count_up(struct dialog *d)
{
	struct hash *ht = d->sbc->dialogs.counts;
	char key[256];

	d->cnt[0] = count_ref(ht, d->peer);
	(void)re_snprintf(key, sizeof(key), "%s %s", d->peer, d->from);
	d->cnt[1] = count_ref(ht, key);
	if (!d->cnt[0] || !d->cnt[1])
		return ENOMEM;
	++d->cnt[0]->n;
	++d->cnt[1]->n;
	return 0;
}

static void count_down(struct dialog *d)
{
	for (int i = 0; i < 2; i++) {
		if (d->cnt[i])
			--d->cnt[i]->n;
		d->cnt[i] = mem_deref(d->cnt[i]);
	}
}

static void dialog_destructor(void *arg)
{
	struct dialog *d = arg;

	hash_unlink(&d->he);
	tmr_cancel(&d->tmr);
	count_down(d);
	mem_deref(d->callid);
	mem_deref(d->ftag);
	mem_deref(d->ttag);
	mem_deref(d->peer);
	mem_deref(d->from);
	mem_deref(d->target);
	mem_deref(d->routes);
	mem_deref(d->vias);
	mem_deref(d->acontact);
	mem_deref(d->conn);
	mem_deref(d->media);
	mem_deref(d->invite);
	mem_deref(d->answer);
}

static bool dialog_cmp(struct le *le, void *arg)
{
	const struct dialog *d = le->data;
	const struct dialog_rec *r = arg;

	return !pl_strcmp(&r->callid, d->callid)
		&& !pl_strcmp(&r->ftag, d->ftag);
}

static struct dialog *dialog_find(const struct sbc *sbc,
				  const struct dialog_rec *r)
{
	const uint32_t h = hash_joaat((const uint8_t *)r->callid.p,
				      r->callid.l);

	return list_ledata(hash_lookup(sbc->dialogs.ht, h, dialog_cmp,
				       (void *)r));
}

int dialog_init(struct sbc *sbc)
{
	int err = hash_alloc(&sbc->dialogs.ht, sbc->conf->hash_size);

	if (!err)
		err = hash_alloc(&sbc->dialogs.counts, 1024);
	return err;
}

/* Ends every dialog without a word: the daemon is going down (a standby
 * would keep them). */
void dialog_close(struct sbc *sbc)
{
	hash_flush(sbc->dialogs.ht);
	sbc->dialogs.ht = mem_deref(sbc->dialogs.ht);
	hash_flush(sbc->dialogs.counts);
	sbc->dialogs.counts = mem_deref(sbc->dialogs.counts);
	sbc->dialogs.n = 0;
}

static const struct pl dash = PL("-");

static const struct pl *field(const struct pl *pl)
{
	return pl_isset(pl) ? pl : &dash;
}

/* A field that may hold spaces, escaped (or "-" if empty). */
static int escaped(struct re_printf *pf, const struct pl *pl)
{
	int err = 0;

	if (!pl_isset(pl))
		return re_hprintf(pf, "-");
	for (size_t i = 0; i < pl->l && !err; i++) {
		if (pl->p[i] == ' ')
			err = re_hprintf(pf, "%%20");
		else if (pl->p[i] == '%')
			err = re_hprintf(pf, "%%25");
		else
			err = pf->vph(&pl->p[i], 1, pf->arg);
	}
	return err;
}

static int unescape(char **dst, const struct pl *pl)
{
	char *s = mem_alloc(pl->l + 1, NULL);
	size_t n = 0;

	if (!s)
		return ENOMEM;
	for (size_t i = 0; i < pl->l; i++) {
		bool esc = pl->p[i] == '%' && i + 2 < pl->l;

		if (esc && !strncmp(&pl->p[i], "%20", 3)) {
			s[n++] = ' ';
			i += 2;
		}
		else if (esc && !strncmp(&pl->p[i], "%25", 3)) {
			s[n++] = '%';
			i += 2;
		}
		else {
			s[n++] = pl->p[i];
		}
	}
	s[n] = '\0';
	*dst = s;
	return 0;
}

static int flow_print(struct re_printf *pf, const struct dialog_rec *r)
{
	if (!r->flow)
		return re_hprintf(pf, "-");
	return re_hprintf(pf, "%s/%J", sipmsg_tp_name(r->ftp), &r->faddr);
}

static int flow_decode(struct dialog_rec *r, const struct pl *pl)
{
	struct pl tp, addr;

	r->flow = false;
	if (!pl_strcmp(pl, "-"))
		return 0;
	tp.p = pl->p;
	addr.p = pl_strchr(pl, '/');
	if (!addr.p)
		return EBADMSG;
	tp.l = addr.p++ - pl->p;
	addr.l = pl->p + pl->l - addr.p;
	if (sipmsg_tp_decode(&r->ftp, &tp))
		return EBADMSG;
	if (sa_decode(&r->faddr, addr.p, addr.l) || !sa_port(&r->faddr))
		return EBADMSG;
	r->flow = true;
	return 0;
}

int dialog_encode(struct mbuf *mb, const struct dialog_rec *r)
{
	return mbuf_printf(mb, "dlg %u %u %llu %llu %r %r %r %r %r %H %H %H "
			   "%H %H\n", r->state,
			   (r->counted ? 1u : 0u) | (r->emergency ? 2u : 0u)
			   | (r->hidden ? 4u : 0u) | (r->sub ? 8u : 0u),
			   r->created, r->sub_expires, field(&r->callid),
			   field(&r->ftag), field(&r->ttag), field(&r->peer),
			   field(&r->from), flow_print, r,
			   escaped, &r->target, escaped, &r->routes,
			   escaped, &r->vias, escaped, &r->acontact);
}

static void undash(struct pl *pl)
{
	if (!pl_strcmp(pl, "-"))
		pl->l = 0;
}

int dialog_decode(struct dialog_rec *r, const struct pl *txt)
{
	struct pl t = *txt, tag, st, cnt, created, subexp, flow, rest;
	int err;

	err  = store_field(&t, &tag);
	err |= store_field(&t, &st);
	err |= store_field(&t, &cnt);
	err |= store_field(&t, &created);
	err |= store_field(&t, &subexp);
	err |= store_field(&t, &r->callid);
	err |= store_field(&t, &r->ftag);
	err |= store_field(&t, &r->ttag);
	err |= store_field(&t, &r->peer);
	err |= store_field(&t, &r->from);
	err |= store_field(&t, &flow);
	err |= store_field(&t, &r->target);
	err |= store_field(&t, &r->routes);
	err |= store_field(&t, &r->vias);
	err |= store_field(&t, &r->acontact);
	if (err || flow_decode(r, &flow) || pl_strcmp(&tag, "dlg") || !store_digits(&st, 1)
	    || pl_u32(&st) > DLG_ENDED || !store_digits(&cnt, 1)
	    || pl_u32(&cnt) > 15 || !store_digits(&created, 19)
	    || !store_digits(&subexp, 19) || !store_field(&t, &rest))
		return EBADMSG;
	r->state = (enum dialog_state)pl_u32(&st);
	r->counted = pl_u32(&cnt) & 1;
	r->emergency = (pl_u32(&cnt) & 2) != 0;
	r->hidden = (pl_u32(&cnt) & 4) != 0;
	r->sub = (pl_u32(&cnt) & 8) != 0;
	r->escaped = true;
	r->created = pl_u64(&created);
	r->sub_expires = pl_u64(&subexp);
	undash(&r->ftag);
	undash(&r->ttag);
	undash(&r->peer);
	undash(&r->from);
	undash(&r->target);
	undash(&r->routes);
	undash(&r->vias);
	undash(&r->acontact);
	return 0;
}

void dialog_rec_of(struct dialog_rec *r, const struct dialog *d)
{
	memset(r, 0, sizeof(*r));
	pl_set_str(&r->callid, d->callid);
	pl_set_str(&r->ftag, d->ftag);
	pl_set_str(&r->ttag, d->ttag ? d->ttag : "");
	pl_set_str(&r->peer, d->peer);
	pl_set_str(&r->from, d->from);
	r->state = d->state;
	r->counted = d->counted;
	r->emergency = d->emergency;
	r->hidden = d->hidden;
	r->sub = d->sub;
	r->created = d->created;
	r->sub_expires = d->sub_expires;
	pl_set_str(&r->target, d->target ? d->target : "");
	pl_set_str(&r->routes, d->routes ? d->routes : "");
	pl_set_str(&r->vias, d->vias ? d->vias : "");
	r->flow = d->flow;
	r->ftp = d->ftp;
	r->faddr = d->faddr;
	pl_set_str(&r->acontact, d->acontact ? d->acontact : "");
}

static int encode_h(struct mbuf *mb, const void *rec)
{
	return dialog_encode(mb, rec);
}

static int local_change(struct sbc *sbc, const struct dialog_rec *r,
			struct dialog **dp);

/* A standby ends nothing by itself: the active sends the BYEs and the
 * record that ends the call; if the active is gone first, the timer is
 * armed again at the takeover (dialog_takeover). */
static void maxdur_handler(void *arg)
{
	struct dialog *d = arg;

	if (store_silent(&d->sbc->store))
		return;
	if (d->sub)
		dialog_end(d, "subscription expired");
	else
		dialog_terminate(d, "maximum call duration");
}

/* A subscription lasts what its last 2xx granted (RFC 6665 Expires),
 * plus the time a final NOTIFY and its retransmissions need; never past
 * dialog_max_duration from now. */
void dialog_sub_refresh(struct dialog *d, uint32_t expires)
{
	const uint32_t max = d->sbc->conf->dialog_max_duration;
	struct dialog_rec r;

	if (!d->sub || d->state == DLG_ENDED)
		return;
	dialog_rec_of(&r, d);
	r.sub_expires = (uint64_t)time(NULL) + MIN(expires, max) + 32;
	(void)local_change(d->sbc, &r, NULL);
}

/* An empty field (no peer, no From user) is an empty string. */
static int text_dup(char **dst, const struct pl *pl)
{
	return pl_isset(pl) ? pl_strdup(dst, pl) : str_dup(dst, "");
}

/* When a dialog ends by itself: an answered call at
 * dialog_max_duration from its start; a ringing one once its INVITE
 * transaction is surely gone (invite_timeout, plus 32 s for its last
 * answer), which only matters for a call whose transaction died with
 * another process (state_file, a standby taking over): its own
 * transaction ends it before. */
static void deadline_arm(struct dialog *d)
{
	const struct sbc_conf *conf = d->sbc->conf;
	const uint64_t now = (uint64_t)time(NULL);
	uint64_t end = d->created + conf->dialog_max_duration;

	if (d->sub && d->sub_expires)
		end = d->sub_expires;       /* each refresh grants anew */
	else if (d->state == DLG_EARLY)
		end = MIN(end, d->created + conf->invite_timeout + 32);
	tmr_start(&d->tmr, end > now ? (end - now) * 1000 : 0,
		  maxdur_handler, d);
}

static int dialog_create(struct sbc *sbc, const struct dialog_rec *r,
			 struct dialog **dp)
{
	struct dialog *d;
	int err;

	if (sbc->dialogs.n >= sbc->conf->max_dialogs)
		return ENOSPC;
	d = mem_zalloc(sizeof(*d), dialog_destructor);
	if (!d)
		return ENOMEM;
	d->sbc = sbc;
	d->state = r->state;
	d->counted = r->counted;
	d->emergency = r->emergency;
	d->sub = r->sub;
	d->created = r->created;
	err = text_dup(&d->callid, &r->callid);
	err |= text_dup(&d->ftag, &r->ftag);
	err |= text_dup(&d->peer, &r->peer);
	err |= text_dup(&d->from, &r->from);
	if (!err && d->counted)
		err = count_up(d);
	if (err) {
		mem_deref(d);
		return ENOMEM;
	}
	hash_append(sbc->dialogs.ht, hash_joaat((const uint8_t *)r->callid.p,
						r->callid.l), &d->he, d);
	++sbc->dialogs.n;
	*dp = d;
	return 0;
}

static int text_set(char **dst, const struct pl *pl, bool esc)
{
	char *s = NULL;
	int err;

	if (pl_isset(pl) && *dst && !esc && !pl_strcmp(pl, *dst))
		return 0;               /* unchanged */
	if (pl_isset(pl)) {
		err = esc ? unescape(&s, pl) : pl_strdup(&s, pl);
		if (err)
			return err;
	}
	mem_deref(*dst);
	*dst = s;
	return 0;
}

static int core_party_set(struct dialog *d, const struct dialog_rec *r)
{
	int err;

	err  = text_set(&d->target, &r->target, r->escaped);
	err |= text_set(&d->routes, &r->routes, r->escaped);
	err |= text_set(&d->vias, &r->vias, r->escaped);
	return err;
}

/* The access party's flow and Contact (dialog_flow.c); a flow that
 * moves leaves this node's connection of the old one behind. */
static int access_party_set(struct dialog *d, const struct dialog_rec *r)
{
	if (d->flow != r->flow || d->ftp != r->ftp
	    || !sa_cmp(&d->faddr, &r->faddr, SA_ALL))
		d->conn = mem_deref(d->conn);
	d->flow = r->flow;
	d->ftp = r->ftp;
	d->faddr = r->faddr;
	return text_set(&d->acontact, &r->acontact, r->escaped);
}

/* The one place a dialog changes, for local changes and received ones.
 * The table holds one reference; whoever else keeps a dialog (a
 * transaction) holds its own and sees DLG_ENDED once it is gone. */
int dialog_apply(struct sbc *sbc, const struct dialog_rec *r,
		 struct dialog **dp)
{
	struct dialog *d = dialog_find(sbc, r);

	if (dp)
		*dp = NULL;
	if (r->state == DLG_ENDED) {
		if (!d)
			return ENOENT;
		d->state = DLG_ENDED;
		hash_unlink(&d->he);
		tmr_cancel(&d->tmr);
		count_down(d);
		d->media = mem_deref(d->media);     /* its ports, at once */
		d->invite = mem_deref(d->invite);
		d->answer = mem_deref(d->answer);
		d->conn = mem_deref(d->conn);
		--sbc->dialogs.n;
		mem_deref(d);
		return 0;
	}
	if (d) {
		if (d->state != r->state || d->sub_expires != r->sub_expires) {
			d->state = r->state;
			d->sub_expires = r->sub_expires;
			deadline_arm(d);
		}
	}
	else {
		int err = dialog_create(sbc, r, &d);

		if (err)
			return err;
		d->sub_expires = r->sub_expires;
		deadline_arm(d);
	}
	d->hidden = r->hidden;
	if (core_party_set(d, r) || access_party_set(d, r)
	    || text_set(&d->ttag, &r->ttag, false)) {
		dialog_end(d, "out of memory");
		return ENOMEM;
	}
	if (dp)
		*dp = d;
	return 0;
}

static int local_change(struct sbc *sbc, const struct dialog_rec *r,
			struct dialog **dp)
{
	int err = dialog_apply(sbc, r, dp);

	if (!err)
		store_publish(&sbc->store, encode_h, r);
	return err;
}

int dialog_change(struct dialog *d, const struct dialog_rec *r)
{
	return local_change(d->sbc, r, NULL);
}

int dialog_open(struct req_ctx *ctx, bool counted, struct dialog **dp)
{
	const struct sip_msg *msg = ctx->msg;
	struct dialog_rec r = {
		.callid = msg->callid,
		.ftag = msg->from.tag,
		.from = msg->from.uri.user,
		.state = DLG_EARLY,
		.counted = counted && ctx->peer,
		.emergency = ctx->emergency,
		.hidden = ctx->hide,
		.sub = dialog_subscribing(&msg->met),
		.created = (uint64_t)time(NULL),
	};

	if (ctx->peer)
		pl_set_str(&r.peer, ctx->peer->name);
	dialog_flow_open(ctx, &r);
	if (dialog_find(ctx->sbc, &r))
		return EALREADY;    /* a retransmission on a new branch */
	return local_change(ctx->sbc, &r, dp);
}

/* The first 2xx: the call is the dialog of its To tag from now on. */
void dialog_confirm(struct dialog *d, const struct pl *ttag)
{
	struct dialog_rec r;

	if (d->state != DLG_EARLY)
		return;
	d->confirmed_ms = tmr_jiffies();
	dialog_rec_of(&r, d);
	r.state = DLG_CONFIRMED;
	if (ttag)
		r.ttag = *ttag;
	(void)local_change(d->sbc, &r, NULL);
}

static bool text_is(const char *s, const struct pl *pl)
{
	return s ? !pl_strcmp(pl, s) : !pl_isset(pl);
}

/* What topology hiding keeps of the core party (topo.c): its target,
 * its route set and, for a call it placed, its Vias.  Nothing changes
 * (the 2xx's route set is the one the INVITE's forward gave): no record
 * either, one less for the standby. */
void dialog_core_party(struct dialog *d, const struct pl *target,
		       const struct pl *routes, const struct pl *vias)
{
	struct dialog_rec r;

	if (d->state == DLG_ENDED)
		return;
	dialog_rec_of(&r, d);
	r.hidden = true;
	if (target)
		r.target = *target;
	if (routes)
		r.routes = *routes;
	if (vias)
		r.vias = *vias;
	if (d->hidden && text_is(d->target, &r.target)
	    && text_is(d->routes, &r.routes) && text_is(d->vias, &r.vias))
		return;
	(void)local_change(d->sbc, &r, NULL);
}

void dialog_end(struct dialog *d, const char *why)
{
	struct dialog_rec r;

	if (d->state == DLG_ENDED)
		return;
	LOGD(d->sbc, "call %s of peer '%s' ended: %s", d->callid, d->peer,
	     why);
	dialog_rec_of(&r, d);
	r.state = DLG_ENDED;
	(void)local_change(d->sbc, &r, NULL);
}

/* The dialog of an in-dialog request from either end: the caller's tag
 * is its From tag one way and its To tag the other. */
struct dialog *dialog_of(const struct sbc *sbc, const struct sip_msg *msg)
{
	struct dialog_rec r = {.callid = msg->callid, .ftag = msg->from.tag};
	char buf[CALLID_ORIG_MAX + 1];
	struct dialog *d;

	/* the other side knows the call by the masked Call-ID */
	if (sbc->conf->callid_hiding)
		(void)callid_unmask(buf, sizeof(buf), &r.callid,
				    sbc->flow_key, &msg->callid);
	d = dialog_find(sbc, &r);

	if (!d && pl_isset(&msg->to.tag)) {
		r.ftag = msg->to.tag;
		d = dialog_find(sbc, &r);
	}
	return d;
}

/* An initial INVITE that arrives again once its server transaction
 * ended with the 2xx (the callee retransmits that 2xx itself until the
 * ACK, RFC 6026): the Call-ID, From tag, CSeq and top Via branch of the
 * call's INVITE.  Forwarded, it would reach the callee as a new INVITE
 * (under another branch of ours).  A spiral through sbcd has another
 * branch and still passes. */
bool dialog_retransmission(const struct sbc *sbc, const struct sip_msg *msg)
{
	const struct dialog *d;

	if (!msg->req || pl_isset(&msg->to.tag)
	    || pl_strcmp(&msg->met, "INVITE"))
		return false;
	d = dialog_of(sbc, msg);
	return d && d->invite && d->invite->cseq.num == msg->cseq.num
		&& !pl_cmp(&d->invite->via.branch, &msg->via.branch);
}

/* The callee's tag in msg (a request or response of the call, either
 * way): the one of From and To that is not the caller's.  Empty in the
 * INVITE that opened the call. */
const struct pl *dialog_callee_tag(const struct dialog *d,
				   const struct sip_msg *msg)
{
	return pl_strcmp(&msg->from.tag, d->ftag) ? &msg->from.tag
		: &msg->to.tag;
}

/* A message of a dialog another fork made (a second 2xx, its ACK and
 * BYE): passed on, but neither the call's end nor its media. */
bool dialog_is_other_fork(const struct dialog *d, const struct sip_msg *msg)
{
	const struct pl *tag;

	if (!d || !d->ttag || !d->ttag[0])
		return false;
	tag = dialog_callee_tag(d, msg);
	return pl_isset(tag) && pl_strcmp(tag, d->ttag);
}

/* Forgets every dialog without a word: a standby about to take a new
 * snapshot. */
void dialog_reset(struct sbc *sbc)
{
	hash_flush(sbc->dialogs.ht);
	sbc->dialogs.n = 0;
}

static bool takeover_h(struct le *le, void *arg)
{
	struct dialog *d = le->data;
	(void)arg;

	d->confirmed_ms = tmr_jiffies();     /* media_timeout from now */
	if (!tmr_isrunning(&d->tmr))
		deadline_arm(d);
	return false;
}

/* This node takes over: timers that fired while it was a standby fire
 * now, media inactivity counts from now. */
void dialog_takeover(struct sbc *sbc)
{
	(void)hash_apply(sbc->dialogs.ht, takeover_h, NULL);
}

static bool save_h(struct le *le, void *arg)
{
	const struct dialog *d = le->data;
	struct dialog_rec r;

	dialog_rec_of(&r, d);
	return dialog_encode(arg, &r) != 0;
}

/* Every dialog as a record (state.c).  A ringing call's transaction dies
 * with the process, but the callee's 2xx, retransmitted until it is
 * ACKed, still finds its call on the node that takes over. */
int dialog_save(struct mbuf *mb, const struct sbc *sbc)
{
	return hash_apply(sbc->dialogs.ht, save_h, mb) ? ENOMEM : 0;
}

/* The requests that make a subscription: SUBSCRIBE, and REFER with its
 * implicit one. */
bool dialog_subscribing(const struct pl *met)
{
	return !pl_strcmp(met, "SUBSCRIBE") || !pl_strcmp(met, "REFER");
}

/* Requests that live inside a tracked dialog: an INVITE's or a
 * subscription's. */
bool dialog_method(const struct pl *met)
{
	static const char *v[] = {"INVITE", "ACK", "BYE", "UPDATE", "INFO",
				  "PRACK", "REFER", "SUBSCRIBE", "NOTIFY"};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		if (!pl_strcmp(met, v[i]))
			return true;
	return false;
}

/* The call of a Call-ID that match() recognises (media.c: by its
 * relay session). */
struct dialog *dialog_by_callid(const struct sbc *sbc,
				const struct pl *callid,
				bool (*match)(const struct dialog *d,
					      const void *arg),
				const void *arg)
{
	const uint32_t h = hash_joaat((const uint8_t *)callid->p, callid->l);
	struct le *le = list_head(hash_list(sbc->dialogs.ht, h));

	for (; le; le = le->next) {
		struct dialog *d = le->data;

		if (!pl_strcmp(callid, d->callid) && match(d, arg))
			return d;
	}
	return NULL;
}

uint32_t dialog_calls(const struct sbc *sbc, const char *peer,
		      const struct pl *from)
{
	const struct dialog_count *c;
	char key[256];

	if (!from)
		c = count_find(sbc->dialogs.counts, peer);
	else if (re_snprintf(key, sizeof(key), "%s %r", peer, from) > 0)
		c = count_find(sbc->dialogs.counts, key);
	else
		c = NULL;
	return c ? c->n : 0;
}

static bool print_dialog(struct le *le, void *arg)
{
	const struct dialog *d = le->data;
	static const char *statev[] = {"early", "confirmed", "ended"};

	return re_hprintf(arg, "call %s tag %s peer %s from %s state %s "
			  "since %llu\n", d->callid, d->ftag,
			  d->peer[0] ? d->peer : "-", d->from[0] ? d->from
			  : "-", statev[d->state], d->created) != 0;
}

static bool print_count(struct le *le, void *arg)
{
	const struct dialog_count *c = le->data;

	return re_hprintf(arg, "calls %s %u\n", c->key, c->n) != 0;
}

/* "calls KEY n": by peer, and by peer and From user (metrics.c) */
int dialog_counts_print(struct re_printf *pf, const struct sbc *sbc)
{
	(void)hash_apply(sbc->dialogs.counts, print_count, pf);
	return 0;
}

int dialog_print(struct re_printf *pf, const struct sbc *sbc)
{
	int err = re_hprintf(pf, "dialogs %u\n", sbc->dialogs.n);

	(void)hash_apply(sbc->dialogs.counts, print_count, pf);
	(void)hash_apply(sbc->dialogs.ht, print_dialog, pf);
	return err;
}
