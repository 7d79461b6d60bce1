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

/* A call's media: the relay session and the o= versions of each side. */
struct media_call {
	struct media_session *s;
	uint64_t ver_in[2];         /* o= version last seen from each side */
	uint64_t ver_out[2];        /* o= version written to each side */
	bool seen[2];
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

int media_init(struct sbc *sbc)
{
	const struct sbc_conf *conf = sbc->conf;
	struct media_conf mc = {
		.port_min = (uint16_t)conf->media_port_min,
		.port_max = (uint16_t)conf->media_port_max,
		.threads = conf->media_threads,
		.max_sessions = conf->media_max_sessions,
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
	LOGI(sbc, "media relay: access %j, core %j, ports %u-%u, %u "
	     "thread(s)", &mc.addr[MEDIA_ACCESS], &mc.addr[MEDIA_CORE],
	     mc.port_min, mc.port_max, mc.threads);
	return 0;
}

void media_close(struct sbc *sbc)
{
	if (!sbc->media)
		return;
	sbc->media = mem_deref(sbc->media);
	msrtp_close();
}
