/*
 * unit_util.c: helpers shared by the unit tests (see unit_util.h).
 */
#include <string.h>
#include "unit_util.h"


struct sip_msg *umsg_decode(const char *head, const char *body)
{
	struct sip_msg *msg = NULL;
	struct mbuf *mb;
	const char *p;
	int err = 0;

	mb = mbuf_alloc(1024);
	if (!mb)
		return NULL;

	for (p = head; *p && !err; p++) {
		if (*p == '\n')
			err = mbuf_write_str(mb, "\r\n");
		else
			err = mbuf_write_u8(mb, (uint8_t)*p);
	}
	err = err ? err : mbuf_write_str(mb, "\r\n");
	if (body)
		err = err ? err : mbuf_write_str(mb, body);

	mb->pos = 0;
	if (!err && sip_msg_decode(&msg, mb))
		msg = NULL;

	mem_deref(mb);              /* the message holds its own reference */

	return msg;
}


static int parse_uri(struct uri *uri, const char *str)
{
	struct pl pl;

	pl_set_str(&pl, str);

	return uri_decode(uri, &pl);
}


void usbc_side_addr(struct side *side)
{
	/* as listen.c's side_init() does */
	(void)re_snprintf(side->laddr_str, sizeof(side->laddr_str), "%j",
			  &side->laddr);
}


int usbc_init(struct sbc *sbc)
{
	static const char *addrv[SIDE_COUNT] = {"127.0.0.1", "127.0.0.2"};
	static const char *namev[SIDE_COUNT] = {"access", "core"};
	int err;

	memset(sbc, 0, sizeof(*sbc));

	err = conf_defaults(&sbc->conf);
	if (err)
		return err;

	sbc->conf->log_level = LOG_ERROR;

	for (int i = 0; i < SIDE_COUNT; i++) {
		struct side *side = &sbc->side[i];

		side->id       = (enum side_id)i;
		side->sbc      = sbc;
		side->name     = namev[i];
		side->port     = 5060;
		side->tls_port = 5061;

		err = sa_set_str(&side->laddr, addrv[i], 0);
		if (err)
			return err;

		usbc_side_addr(side);
	}

	return parse_uri(&sbc->hop.upstream, sbc->conf->upstream);
}


void usbc_close(struct sbc *sbc)
{
	sbc->conf = mem_deref(sbc->conf);
}


int usbc_set_emergency_route(struct sbc *sbc, const char *uri)
{
	struct sbc_conf *conf = sbc->conf;
	int err;

	conf->emergency_route = mem_deref(conf->emergency_route);
	memset(&sbc->hop.emergency_route, 0, sizeof(sbc->hop.emergency_route));

	err = str_dup(&conf->emergency_route, uri);
	if (err || !uri[0])
		return err;

	return parse_uri(&sbc->hop.emergency_route, conf->emergency_route);
}


int usbc_set_emergency_numbers(struct sbc *sbc, const char *list)
{
	struct sbc_conf *conf = sbc->conf;

	conf->emergency_numbers = mem_deref(conf->emergency_numbers);

	return str_dup(&conf->emergency_numbers, list);
}


int uuri(struct uri *uri, const char *str)
{
	return parse_uri(uri, str);
}


bool upl_eq(const struct pl *pl, const char *str)
{
	return pl_isset(pl) ? 0 == pl_strcmp(pl, str) : !str[0];
}


int ufx_setup(void **state)
{
	struct ufx *fx = mem_zalloc(sizeof(*fx), NULL);

	if (!fx || usbc_init(&fx->sbc))
		return -1;
	fx->ctx.sbc = &fx->sbc;
	fx->ctx.in = &fx->sbc.side[SIDE_ACCESS];
	*state = fx;
	return 0;
}


int ufx_teardown(void **state)
{
	struct ufx *fx = *state;

	mem_deref(fx->msg);
	usbc_close(&fx->sbc);
	mem_deref(fx);
	return 0;
}
