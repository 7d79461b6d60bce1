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

/* A call's media: the relay session, the o= versions of each side and,
 * for a peer with media = srtp, the keys. */
struct media_call {
	struct media_session *s;
	uint64_t ver_in[2];         /* o= version last seen from each side */
	uint64_t ver_out[2];        /* o= version written to each side */
	bool seen[2];
	struct media_keys keys[MEDIA_MAX_STREAMS];
};

static void call_destructor(void *arg)
{
	struct media_call *mc = arg;

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

/* SDP from the SRTP peer: its keys are the receive keys of its leg, and
 * the core side is told plain RTP. */
static int srtp_from_peer(struct media_call *mc, const struct sdp_info *info,
			  struct sdp_local *loc)
{
	for (uint32_t i = 0; i < info->mc; i++) {
		struct media_keys *k = &mc->keys[i];
		int err;

		struct msrtp_key rx;

		if (!info->mv[i].port)
			continue;
		if (msrtp_select(&rx, info->mv[i].cryptov,
				 info->mv[i].cryptoc))
			return EPROTO;      /* plain RTP from an SRTP peer */
		if (k->have_rx && memcmp(&rx, &k->rx, sizeof(rx)))
			k->set = false;     /* a new key (re-INVITE) */
		k->rx = rx;
		k->have_rx = true;
		loc->srtpv[i] = SDP_SRTP_STRIP;
		err = keys_apply(mc, i);
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
		      struct sdp_local *loc)
{
	if (mode == CONF_MEDIA_SRTP)
		return in == MEDIA_ACCESS ? srtp_from_peer(mc, info, loc)
			: srtp_to_peer(mc, info, loc);
	if (mode == CONF_MEDIA_RTP && in == MEDIA_ACCESS)
		for (uint32_t i = 0; i < info->mc; i++)
			if (info->mv[i].cryptoc)
				return EPROTO;
	return 0;
}

/* The SDP of msg, going from side `from` to the other side of call d:
 * the relay learns where `from`'s endpoint receives, and *bodyp gets the
 * body the other side must see (NULL: no SDP, nothing to change). */
int media_sdp(struct mbuf **bodyp, struct sbc *sbc, struct dialog *d,
	      const struct sip_msg *msg, enum side_id from)
{
	const enum media_side in = mside(from);
	const enum media_side out = in == MEDIA_ACCESS ? MEDIA_CORE
		: MEDIA_ACCESS;
	struct sdp_info info;
	struct sdp_local loc;
	struct media_call *mc;
	struct mbuf *mb;
	struct pl body;
	int err;

	*bodyp = NULL;
	if (!sbc->media || !sbc->conf->media_anchor || !d || !has_sdp(msg))
		return 0;
	pl_set_mbuf(&body, msg->mb);
	err = sdp_parse(&info, &body);
	if (err)
		return err;
	err = call_get(&mc, sbc, d, info.mc);
	if (err)
		return err;
	for (uint32_t i = 0; i < info.mc; i++) {
		struct media_remote r;

		media_remote_of(&r, &info.mv[i], &msg->src);
		err = media_remote(mc->s, i, in, &r);
		if (err)
			return err;
	}
	/* a new o= version from one side is a new version to the other */
	if (!mc->seen[in] || info.o_version != mc->ver_in[in]) {
		mc->seen[in] = true;
		mc->ver_in[in] = info.o_version;
		++mc->ver_out[out];
	}
	err = media_sdp_local(&loc, mc->s, out, mc->ver_out[out]);
	if (!err)
		err = media_mode(mc, call_mode(sbc, d), in, &info, &loc);
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

static int encode_h(struct mbuf *mb, const void *rec)
{
	return media_encode(mb, rec);
}

static void publish_h(const struct media_rec *rec, void *arg)
{
	struct sbc *sbc = arg;

	store_publish(&sbc->store, encode_h, rec);
}

static bool has_session(const struct dialog *d, const void *s)
{
	const struct media_call *mc = d->media;

	return mc && mc->s == s;
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

	if (t)
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
	if (!sbc->media)
		return;
	sbc->media = mem_deref(sbc->media);
	msrtp_close();
}
