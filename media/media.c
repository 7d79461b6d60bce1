/*
 * media.c: the media relay's life in sbcd: started from the options
 * (the media addresses default to the SIP addresses of each side),
 * stopped at exit, its records handed to the shared-state store like
 * the dialogs'; and its glue with the call path: every SDP offer or
 * answer of a call (INVITE, 18x, 2xx, ACK, UPDATE, PRACK, re-INVITE)
 * tells the relay where that side's endpoint receives and is rewritten
 * so that the other side sees only sbcd's media address.
 */
#include <string.h>
#include <time.h>
#include "sbc.h"
#include "relay.h"

/* SRTP that sbcd terminates towards the access side, per stream: the
 * peer's key (what it sends with, a=crypto of its SDP) and ours. */
struct media_keys {
	struct msrtp_key rx;
	struct msrtp_key tx;
	char tx_crypto[128];        /* ours, as a=crypto writes it */
	bool have_rx, have_tx, set;
};

/* o= versions of one SDP session per side: the last one seen from each
 * side and the one written to it. */
struct media_ver {
	uint64_t in[2];
	uint64_t out[2];
	bool seen[2];
};

/* One callee's early dialog (its To tag): a forking proxy downstream
 * makes one per callee, each with its own answer SDP and o= session.
 * Kept so the relay can follow the one that answers. */
struct media_fork {
	struct le le;
	char *tag;
	struct media_ver ver;
	uint32_t n;                 /* streams of its last SDP */
	struct media_remote rv[MEDIA_MAX_STREAMS];
	struct msrtp_key rx[MEDIA_MAX_STREAMS];
	bool have_rx[MEDIA_MAX_STREAMS];
};

/* A call's media: the relay session, the o= versions of the INVITE's
 * offer, the forks, the one whose SDP the callee's legs follow (the
 * latest while ringing, the answering one from the 2xx on) and, for a
 * peer with media = srtp, the keys. */
struct media_call {
	struct media_session *s;
	struct media_ver ver;       /* before any callee tag */
	struct list forks;          /* struct media_fork, oldest first */
	struct media_fork *active;
	struct media_keys keys[MEDIA_MAX_STREAMS];
};

static void fork_destructor(void *arg)
{
	struct media_fork *f = arg;

	list_unlink(&f->le);
	mem_deref(f->tag);
}

static void call_destructor(void *arg)
{
	struct media_call *mc = arg;

	list_flush(&mc->forks);
	if (mc->s)
		media_session_release(mc->s);
}

static enum media_side mside(enum side_id id)
{
	return id == SIDE_ACCESS ? MEDIA_ACCESS : MEDIA_CORE;
}

static bool has_sdp(const struct sip_msg *msg)
{
	return mbuf_get_left(msg->mb)
		&& msg_ctype_cmp(&msg->ctyp, "application", "sdp");
}

static int call_get(struct media_call **mcp, struct sbc *sbc,
		    struct dialog *d, uint32_t n)
{
	struct media_call *mc = d->media;
	int err;

	if (!mc) {
		mc = mem_zalloc(sizeof(*mc), call_destructor);
		if (!mc)
			return ENOMEM;
		err = media_session_alloc(&mc->s, sbc->media, &(struct pl)
					  {d->callid, strlen(d->callid)}, n);
		if (err) {
			mem_deref(mc);
			return err;
		}
		d->media = mc;
	}
	else if (n > media_session_streams(mc->s)) {
		err = media_session_grow(mc->s, n);
		if (err)
			return err;
	}
	*mcp = mc;
	return 0;
}

/* The media mode of the call's access peer (media = ...). */
static enum conf_media call_mode(const struct sbc *sbc,
				 const struct dialog *d)
{
	for (struct le *le = sbc->conf->peerl.head; le; le = le->next) {
		const struct conf_peer *peer = le->data;

		if (!strcmp(peer->name, d->peer))
			return (enum conf_media)peer->media;
	}
	return CONF_MEDIA_PASS;
}

static int keys_apply(struct media_call *mc, uint32_t i)
{
	struct media_keys *k = &mc->keys[i];

	if (!k->have_rx || !k->have_tx || k->set)
		return 0;
	k->set = true;
	return media_srtp(mc->s, i, MEDIA_ACCESS, &k->rx, &k->tx);
}

static int rx_set(struct media_call *mc, uint32_t i,
		  const struct msrtp_key *rx)
{
	struct media_keys *k = &mc->keys[i];

	if (k->have_rx && memcmp(rx, &k->rx, sizeof(*rx)))
		k->set = false;             /* a new key (re-INVITE, fork) */
	k->rx = *rx;
	k->have_rx = true;
	return keys_apply(mc, i);
}

/* SDP from the SRTP peer: its keys are the receive keys of its leg, and
 * the core side is told plain RTP.  A fork's keys wait in the fork until
 * the relay follows it. */
static int srtp_from_peer(struct media_call *mc, const struct sdp_info *info,
			  struct sdp_local *loc, struct media_fork *f,
			  bool follow)
{
	for (uint32_t i = 0; i < info->mc; i++) {
		struct msrtp_key rx;
		int err;

		if (!info->mv[i].port)
			continue;
		if (msrtp_select(&rx, info->mv[i].cryptov,
				 info->mv[i].cryptoc))
			return EPROTO;      /* plain RTP from an SRTP peer */
		loc->srtpv[i] = SDP_SRTP_STRIP;
		if (f) {
			f->rx[i] = rx;
			f->have_rx[i] = true;
		}
		err = follow ? rx_set(mc, i, &rx) : 0;
		if (err)
			return err;
	}
	return 0;
}

/* SDP going to the SRTP peer: sbcd's own key, of the peer's suite and
 * tag when it offered, else AES_CM_128_HMAC_SHA1_80 tag 1. */
static int srtp_to_peer(struct media_call *mc, const struct sdp_info *info,
			struct sdp_local *loc)
{
	for (uint32_t i = 0; i < info->mc; i++) {
		struct media_keys *k = &mc->keys[i];
		struct mbuf mb;
		int err;

		if (!info->mv[i].port)
			continue;
		if (!k->have_tx) {
			err = msrtp_key_gen(&k->tx, k->have_rx ? k->rx.suite
					    : MSRTP_AES_CM_128_HMAC_SHA1_80,
					    k->have_rx ? k->rx.tag : 1);
			mbuf_init(&mb);
			mb.buf = (uint8_t *)k->tx_crypto;
			mb.size = sizeof(k->tx_crypto) - 1;
			if (!err)
				err = msrtp_crypto_encode(&mb, &k->tx);
			if (err)
				return err;
			k->tx_crypto[mb.end] = '\0';
			k->have_tx = true;
		}
		loc->srtpv[i] = SDP_SRTP_SET;
		pl_set_str(&loc->cryptov[i], k->tx_crypto);
		err = keys_apply(mc, i);
		if (err)
			return err;
	}
	return 0;
}

/* Keys only where the peer asked for them. */
static int media_mode(struct media_call *mc, enum conf_media mode,
		      enum media_side in, const struct sdp_info *info,
		      struct sdp_local *loc, struct media_fork *f, bool follow)
{
	if (mode == CONF_MEDIA_SRTP)
		return in == MEDIA_ACCESS
			? srtp_from_peer(mc, info, loc, f, follow)
			: srtp_to_peer(mc, info, loc);
	if (mode == CONF_MEDIA_RTP && in == MEDIA_ACCESS)
		for (uint32_t i = 0; i < info->mc; i++)
			if (info->mv[i].cryptoc)
				return EPROTO;
	return 0;
}

/* The fork of a callee tag, made on its first message; past
 * media_max_forks the oldest fork the relay does not follow goes. */
static int fork_get(struct media_fork **fp, const struct sbc *sbc,
		    struct media_call *mc, const struct pl *tag)
{
	struct media_fork *f;
	int err;

	for (struct le *le = mc->forks.head; le; le = le->next) {
		f = le->data;
		if (!pl_strcmp(tag, f->tag)) {
			*fp = f;
			return 0;
		}
	}
	if (list_count(&mc->forks) >= sbc->conf->media_max_forks) {
		struct media_fork *old = list_ledata(mc->forks.head);

		if (old == mc->active)
			old = list_ledata(old->le.next);
		mem_deref(old);
	}
	f = mem_zalloc(sizeof(*f), fork_destructor);
	if (!f)
		return ENOMEM;
	err = pl_strdup(&f->tag, tag);
	if (err) {
		mem_deref(f);
		return err;
	}
	f->ver = mc->ver;   /* its callee saw the INVITE's offer */
	list_append(&mc->forks, &f->le, f);
	*fp = f;
	return 0;
}

/* The callee's legs of the relay follow fork f: where it receives and,
 * for an SRTP peer, its keys. */
static int fork_follow(struct media_call *mc, struct media_fork *f,
		       enum media_side side)
{
	int err = 0;

	if (f->n > media_session_streams(mc->s))
		err = media_session_grow(mc->s, f->n);
	for (uint32_t i = 0; i < f->n && !err; i++) {
		err = media_remote(mc->s, i, side, &f->rv[i]);
		if (!err && f->have_rx[i])
			err = rx_set(mc, i, &f->rx[i]);
	}
	if (!err)
		mc->active = f;
	return err;
}

/* A 2xx without SDP (the answer was in a reliable 18x) from a callee
 * whose fork the relay does not follow: it does from now on. */
static int answered(struct dialog *d, const struct sip_msg *msg,
		    enum media_side in)
{
	struct media_call *mc = d->media;

	if (!mc || msg->req || msg->scode < 200 || msg->scode >= 300
	    || d->state != DLG_CONFIRMED || dialog_is_other_fork(d, msg))
		return 0;
	for (struct le *le = mc->forks.head; le; le = le->next) {
		struct media_fork *f = le->data;

		if (!pl_strcmp(&msg->to.tag, f->tag))
			return f == mc->active ? 0 : fork_follow(mc, f, in);
	}
	return 0;
}

/* Did msg come from the callee?  The sender's tag is From's in a
 * request, To's in a response. */
static bool from_callee(const struct dialog *d, const struct sip_msg *msg)
{
	return pl_strcmp(msg->req ? &msg->from.tag : &msg->to.tag, d->ftag)
		!= 0;
}

/* The relay learns where the sender of an SDP receives: a callee's
 * fork keeps it, and the relay follows it unless the call was answered
 * by another fork. */
static int learn_remotes(struct media_call *mc, const struct sdp_info *info,
			 const struct sip_msg *msg, enum media_side in,
			 struct media_fork *f, bool follow)
{
	for (uint32_t i = 0; i < info->mc; i++) {
		struct media_remote r;
		int err;

		media_remote_of(&r, &info->mv[i], &msg->src);
		if (f)
			f->rv[i] = r;
		err = follow ? media_remote(mc->s, i, in, &r) : 0;
		if (err)
			return err;
	}
	if (f) {
		f->n = info->mc;
		if (follow)
			mc->active = f;
	}
	return 0;
}

/* The SDP of msg, going from side `from` to the other side of call d:
 * the relay learns where `from`'s endpoint receives, and *bodyp gets the
 * body the other side must see (NULL: no SDP, nothing to change).  Each
 * callee (fork) is its own SDP session to the caller. */
int media_sdp(struct mbuf **bodyp, struct sbc *sbc, struct dialog *d,
	      const struct sip_msg *msg, enum side_id from)
{
	const enum media_side in = mside(from);
	const enum media_side out = in == MEDIA_ACCESS ? MEDIA_CORE
		: MEDIA_ACCESS;
	const struct pl *tag;
	bool follow;
	struct media_fork *f = NULL;
	struct media_ver *ver;
	struct sdp_info info;
	struct sdp_local loc;
	struct media_call *mc;
	struct mbuf *mb;
	struct pl body;
	int err;

	*bodyp = NULL;
	if (!sbc->media || !sbc->conf->media_anchor || !d)
		return 0;
	if (!has_sdp(msg))
		return answered(d, msg, in);
	follow = !dialog_is_other_fork(d, msg);
	pl_set_mbuf(&body, msg->mb);
	err = sdp_parse(&info, &body);
	if (err)
		return err;
	err = call_get(&mc, sbc, d, info.mc);
	if (err)
		return err;
	tag = dialog_callee_tag(d, msg);
	if (pl_isset(tag)) {
		err = fork_get(&f, sbc, mc, tag);
		if (err)
			return err;
	}
	err = learn_remotes(mc, &info, msg, in, from_callee(d, msg) ? f
			    : NULL, follow);
	if (err)
		return err;
	/* a new o= version from one side is a new version to the other */
	ver = f ? &f->ver : &mc->ver;
	if (!ver->seen[in] || info.o_version != ver->in[in]) {
		ver->seen[in] = true;
		ver->in[in] = info.o_version;
		++ver->out[out];
	}
	err = media_sdp_local(&loc, mc->s, out, ver->out[out]);
	if (!err)
		err = media_mode(mc, call_mode(sbc, d), in, &info, &loc,
				 from_callee(d, msg) ? f : NULL, follow);
	if (err)
		return err;
	mb = mbuf_alloc(body.l + 64);
	if (!mb)
		return ENOMEM;
	err = sdp_rewrite(mb, &body, &loc, NULL);
	if (err) {
		mem_deref(mb);
		return err;
	}
	mb->pos = 0;
	*bodyp = mb;
	return 0;
}

/* The record of call d's relay session, if it has one (state.c). */
int media_save(struct mbuf *mb, const struct dialog *d)
{
	const struct media_call *mc = d->media;
	struct media_rec r;
	int err;

	if (!mc || !mc->s)
		return 0;
	err = media_rec_of(&r, mc->s);
	return err ? err : media_encode(mb, &r);
}

/* A call restored from records takes over the relay session of its
 * Call-ID (restored the same way).  Its SDP sessions start again at an
 * o= version above any this process wrote before (the clock), so that
 * the parties see the next SDP as newer. */
int media_adopt(struct sbc *sbc, struct dialog *d)
{
	struct media_session *s;
	struct media_call *mc;

	if (!sbc->media || d->media)
		return 0;
	s = media_session_find(sbc->media, &(struct pl){d->callid,
							 strlen(d->callid)});
	if (!s)
		return ENOENT;
	mc = mem_zalloc(sizeof(*mc), call_destructor);
	if (!mc)
		return ENOMEM;
	mc->s = s;
	mc->ver.out[MEDIA_ACCESS] = mc->ver.out[MEDIA_CORE]
		= (uint64_t)time(NULL);
	d->media = mc;
	return 0;
}

static bool has_session(const struct dialog *d, const void *s)
{
	const struct media_call *mc = d->media;

	return mc && mc->s == s;
}

static bool has_no_media(const struct dialog *d, const void *arg)
{
	(void)arg;
	return !d->media;
}

/* A received session record.  The session of a call is the call's to
 * end (its media_call holds it), so an end goes through the call; a new
 * session whose call came first is adopted by it. */
int media_rec_apply(struct sbc *sbc, const struct media_rec *r)
{
	struct media_session *s;
	struct dialog *d;
	int err;

	if (!sbc->media)
		return ENOTSUP;
	s = media_session_find(sbc->media, &r->id);
	if (r->ended && s) {
		d = dialog_by_callid(sbc, &r->id, has_session, s);
		if (d) {
			d->media = mem_deref(d->media);
			return 0;
		}
	}
	err = media_apply(sbc->media, r, &s);
	if (err || r->ended)
		return err;
	d = dialog_by_callid(sbc, &r->id, has_no_media, NULL);
	return d ? media_adopt(sbc, d) : 0;
}

static int encode_h(struct mbuf *mb, const void *rec)
{
	return media_encode(mb, rec);
}

static void publish_h(const struct media_rec *rec, void *arg)
{
	struct sbc *sbc = arg;

	store_publish(&sbc->store, encode_h, rec);
}

/* A confirmed call without a packet for media_timeout: hung up (BYE to
 * both parties).  Ringing calls have no media to miss. */
static bool idle_h(struct media_session *s, uint64_t idle_ms, void *arg)
{
	struct sbc *sbc = arg;
	const uint64_t timeout = sbc->conf->media_timeout * 1000ULL;
	struct media_rec r;
	struct dialog *d;

	(void)idle_ms;
	if (media_rec_of(&r, s))
		return false;
	d = dialog_by_callid(sbc, &r.id, has_session, s);
	if (!d || d->state != DLG_CONFIRMED
	    || tmr_jiffies() - d->confirmed_ms < timeout)
		return false;
	LOGI(sbc, "call %s: no media for %u s", d->callid,
	     sbc->conf->media_timeout);
	dialog_terminate(d, "media inactivity");
	return false;
}

static void idle_tmr(void *arg)
{
	struct sbc *sbc = arg;
	const uint32_t t = sbc->conf->media_timeout;

	if (t && !store_silent(&sbc->store))
		media_idle_apply(sbc->media, t * 1000ULL, idle_h, sbc);
	tmr_start(&sbc->media_tmr, t ? (t < 4 ? 1000 : t * 250ULL) : 10000,
		  idle_tmr, sbc);
}

int media_init(struct sbc *sbc)
{
	const struct sbc_conf *conf = sbc->conf;
	struct media_conf mc = {
		.port_min = (uint16_t)conf->media_port_min,
		.port_max = (uint16_t)conf->media_port_max,
		.threads = conf->media_threads,
		.max_sessions = conf->media_max_sessions,
		.sockbuf = conf->media_sockbuf,
	};
	int err;

	err = msrtp_init();
	if (err) {
		LOGE(sbc, "media relay: libsrtp2: %m", err);
		return err;
	}
	mc.addr[MEDIA_ACCESS] = sa_af(&conf->media_addr_access) != AF_UNSPEC
		? conf->media_addr_access : conf->access_addr;
	mc.addr[MEDIA_CORE] = sa_af(&conf->media_addr_core) != AF_UNSPEC
		? conf->media_addr_core : conf->core_addr;
	err = media_alloc(&sbc->media, &mc);
	if (err) {
		LOGE(sbc, "media relay: %m", err);
		msrtp_close();
		return err;
	}
	media_set_publish(sbc->media, publish_h, sbc);
	tmr_start(&sbc->media_tmr, 1000, idle_tmr, sbc);
	LOGI(sbc, "media relay: access %j, core %j, ports %u-%u, %u "
	     "thread(s)", &mc.addr[MEDIA_ACCESS], &mc.addr[MEDIA_CORE],
	     mc.port_min, mc.port_max, mc.threads);
	return 0;
}

void media_close(struct sbc *sbc)
{
	tmr_cancel(&sbc->media_tmr);
	tmr_cancel(&sbc->media_drain_tmr);
	if (!sbc->media)
		return;
	sbc->media = mem_deref(sbc->media);
	msrtp_close();
}
