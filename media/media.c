/*
 * media.c: the media relay's life in sbcd: started from the options
 * (the media addresses default to the SIP addresses of each side),
 * stopped at exit, its records handed to the shared-state store like
 * the dialogs'.  The SIP path does not use it yet (see README).
 */
#include "sbc.h"
#include "relay.h"

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
