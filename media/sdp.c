/*
 * sdp.c: the SDP rewriter (see sdp.h).  One walk over the lines serves
 * both parsing and rewriting, so what is learnt and what is written can
 * never disagree.  Only these lines change:
 *   o=   the version (the caller keeps one per side and passes it in)
 *   c=   session and media level, to sbc's address (0.0.0.0 and ::, the
 *        old way to put a call on hold, are kept: the far end must
 *        still see the hold)
 *   m=   the port (0 stays 0: a disabled stream)
 *   a=rtcp  to sbc's RTCP port (its RTP port when the input said mux)
 * and ICE lines are dropped: sbc is the endpoint each side sees, so
 * candidates of the far end would only leak its addresses and make the
 * peers try to bypass the relay.  Where sbc terminates SRTP, the m=
 * proto and the a=crypto lines change too (enum sdp_srtp).  Every other
 * byte is copied as is, line ends included.
 */
#include <string.h>
#include "sdp.h"
#include "store.h"

struct walk {
	struct sdp_info *info;
	const struct sdp_local *loc;    /* NULL: parse only */
	struct mbuf *mb;
	struct sa sess_addr;
	bool sess_c;
	bool sess_hold;
	enum sdp_dir sess_dir;
	bool have_o;
	uint16_t rtcp_port[SDP_MAX_MEDIA];
	bool rtcp_addr[SDP_MAX_MEDIA];
	bool media_c[SDP_MAX_MEDIA];
	int crypto_due;             /* m= line owed sbc's a=crypto, or -1 */
	struct pl m_eol;            /* its line end */
};

/* The next line of *rest: its text and its end ("\r\n", "\n" or ""). */
static bool next_line(struct pl *rest, struct pl *line, struct pl *eol)
{
	const char *nl;

	if (!rest->l)
		return false;
	nl = memchr(rest->p, '\n', rest->l);
	line->p = rest->p;
	line->l = nl ? (size_t)(nl - rest->p) : rest->l;
	eol->p = line->p + line->l;
	eol->l = nl ? 1 : 0;
	if (line->l && line->p[line->l - 1] == '\r') {
		--line->l;
		--eol->p;
		++eol->l;
	}
	pl_advance(rest, line->l + eol->l);
	return true;
}

static int port_parse(const struct pl *pl, uint16_t *port)
{
	uint32_t v = 0;

	if (!pl->l || pl->l > 5)
		return EBADMSG;
	for (size_t i = 0; i < pl->l; i++) {
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return EBADMSG;
		v = v * 10 + (uint32_t)(pl->p[i] - '0');
	}
	if (v > 65535)
		return EBADMSG;
	*port = (uint16_t)v;
	return 0;
}

/* "IN IP4 192.0.2.1" (a /ttl suffix is ignored); hold: 0.0.0.0 or ::. */
static int addr_parse(struct pl *s, struct sa *sa, bool *hold)
{
	struct pl net, type, addr, extra;
	const char *slash;
	int err;

	err  = store_field(s, &net);
	err |= store_field(s, &type);
	err |= store_field(s, &addr);
	if (err || pl_strcmp(&net, "IN"))
		return EBADMSG;
	slash = pl_strchr(&addr, '/');
	if (slash)
		addr.l = (size_t)(slash - addr.p);
	if (sa_set(sa, &addr, 0))
		return EBADMSG;
	if (!pl_strcmp(&type, "IP4") ? sa_af(sa) != AF_INET
	    : pl_strcmp(&type, "IP6") || sa_af(sa) != AF_INET6)
		return EBADMSG;
	*hold = sa_is_any(sa);
	return store_field(s, &extra) ? 0 : EBADMSG;
}

/* libre complains about a port on an address not set yet */
static void set_port(struct sa *sa, uint16_t port)
{
	if (sa_af(sa) != AF_UNSPEC)
		sa_set_port(sa, port);
}

static int write_line(struct walk *w, const struct pl *line,
		      const struct pl *eol)
{
	int err;

	if (!w->loc)
		return 0;
	err = mbuf_write_pl(w->mb, line);
	return err ? err : mbuf_write_pl(w->mb, eol);
}

/* sbc's a=crypto, at the end of the media section it belongs to. */
static int crypto_flush(struct walk *w)
{
	static const struct pl crlf = PL("\r\n");
	const struct pl *eol = w->m_eol.l ? &w->m_eol : &crlf;
	const int i = w->crypto_due;
	int err = 0;

	if (!w->loc || i < 0)
		return 0;
	w->crypto_due = -1;
	/* the body's last line may have had no line end */
	if (w->mb->end && w->mb->buf[w->mb->end - 1] != '\n')
		err = mbuf_write_pl(w->mb, eol);
	return err ? err : mbuf_printf(w->mb, "a=crypto:%r%r",
				       &w->loc->cryptov[i], eol);
}

static enum sdp_srtp srtp_of(const struct walk *w, int i)
{
	if (!w->loc || i < 0 || !w->info->mv[i].port)
		return SDP_SRTP_KEEP;
	return w->loc->srtpv[i];
}

/* The proto an m= line gets when sbc changes SRTP on it. */
static int proto_map(const struct pl *proto, enum sdp_srtp mode,
		     struct pl *out)
{
	static const char *const v[][2] = {
		{"RTP/AVP", "RTP/SAVP"}, {"RTP/AVPF", "RTP/SAVPF"},
	};

	*out = *proto;
	if (mode == SDP_SRTP_KEEP)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		const int from = mode == SDP_SRTP_SET ? 0 : 1;

		if (!pl_strcmp(proto, v[i][from])) {
			pl_set_str(out, v[i][!from]);
			return 0;
		}
		if (!pl_strcmp(proto, v[i][!from]))
			return 0;   /* already what it must be */
	}
	return ENOTSUP;             /* DTLS-SRTP and the like */
}

static const char *ip_type(const struct sa *sa)
{
	return sa_af(sa) == AF_INET6 ? "IP6" : "IP4";
}

/* o=USER SESS-ID VERSION IN IP4 ADDR: only the version changes. */
static int line_o(struct walk *w, const struct pl *line, const struct pl *eol)
{
	struct pl s = {line->p + 2, line->l - 2}, user, id, ver;
	struct sa sa;
	bool any;
	int err;

	err  = store_field(&s, &user);
	err |= store_field(&s, &id);
	err |= store_field(&s, &ver);
	if (err || w->have_o || ver.l > 19)
		return EBADMSG;
	for (size_t i = 0; i < ver.l; i++)
		if (ver.p[i] < '0' || ver.p[i] > '9')
			return EBADMSG;
	/* the origin's address is only a name (RFC 4566 5.2: often a host
	 * name, or whatever a UA prints): not parsed, but not passed on
	 * either, since it names the other side's host */
	(void)sa;
	(void)any;
	w->have_o = true;
	w->info->o_user = user;
	w->info->o_sess_id = id;
	w->info->o_version = pl_u64(&ver);
	if (!w->loc)
		return 0;
	return mbuf_printf(w->mb, "o=%r %r %llu IN IP%c %j%r", &user, &id,
			   (unsigned long long)w->loc->version,
			   sa_af(&w->loc->addr) == AF_INET6 ? '6' : '4',
			   &w->loc->addr, eol);
}

static int line_c(struct walk *w, const struct pl *line, const struct pl *eol)
{
	struct pl s = {line->p + 2, line->l - 2};
	struct sa sa;
	bool hold;
	const int cur = (int)w->info->mc - 1;

	if (addr_parse(&s, &sa, &hold))
		return EBADMSG;
	if (cur < 0) {
		if (w->sess_c)
			return EBADMSG;
		w->sess_c = true;
		w->sess_addr = sa;
		w->sess_hold = hold;
	}
	else {
		struct sdp_stream *m = &w->info->mv[cur];
		uint16_t port = m->port;

		if (w->media_c[cur])
			return EBADMSG;
		w->media_c[cur] = true;
		m->rtp = sa;
		set_port(&m->rtp, port);
		m->hold_addr = hold;
	}
	if (hold || !w->loc)
		return write_line(w, line, eol);
	return mbuf_printf(w->mb, "c=IN %s %j%r", ip_type(&w->loc->addr),
			   &w->loc->addr, eol);
}

/* m=TYPE PORT PROTO FMT...: only the port changes. */
static int line_m(struct walk *w, const struct pl *line, const struct pl *eol)
{
	struct pl s = {line->p + 2, line->l - 2}, type, port, proto, fmt;
	struct pl t, nproto;
	struct sdp_stream *m;
	const uint32_t i = w->info->mc;
	uint16_t p;
	int err;

	if (i >= SDP_MAX_MEDIA)
		return E2BIG;
	err = crypto_flush(w);
	if (err)
		return err;
	err  = store_field(&s, &type);
	err |= store_field(&s, &port);
	if (err)
		return EBADMSG;
	if (pl_strchr(&port, '/'))
		return ENOTSUP;     /* several ports per m= line */
	err = port_parse(&port, &p);
	if (err)
		return err;
	t = s;
	err  = store_field(&t, &proto);
	t.p = proto.p + proto.l;
	t.l = (size_t)(line->p + line->l - t.p);
	{
		struct pl f = t;

		err |= store_field(&f, &fmt);
	}
	if (err)
		return EBADMSG;
	m = &w->info->mv[i];
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->proto = proto;
	m->port = p;
	m->dir = w->sess_dir;
	m->rtp = w->sess_addr;
	m->hold_addr = w->sess_hold;
	set_port(&m->rtp, p);
	w->info->mc = i + 1;
	if (!w->loc)
		return 0;
	if (w->loc->portc <= i)
		return EINVAL;
	err = proto_map(&proto, srtp_of(w, (int)i), &nproto);
	if (err)
		return err;
	if (srtp_of(w, (int)i) == SDP_SRTP_SET) {
		w->crypto_due = (int)i;
		w->m_eol = *eol;
	}
	return mbuf_printf(w->mb, "m=%r %u%b%r%r%r", &type,
			   p ? w->loc->portv[i] : 0u, s.p,
			   (size_t)(proto.p - s.p), &nproto, &t, eol);
}

static bool is_ice(const struct pl *name)
{
	return !pl_strcmp(name, "candidate")
		|| !pl_strcmp(name, "end-of-candidates")
		|| !pl_strcmp(name, "remote-candidates")
		|| (name->l > 4 && !memcmp(name->p, "ice-", 4));
}

static int dir_of(const struct pl *name, enum sdp_dir *dir)
{
	for (int d = SDP_INACTIVE; d <= SDP_SENDRECV; d++) {
		if (!pl_strcmp(name, sdp_dir_name(d))) {
			*dir = (enum sdp_dir)d;
			return 0;
		}
	}
	return ENOENT;
}

/* a=rtcp:PORT [IN IP4 ADDR] */
static int attr_rtcp(struct walk *w, int cur, struct pl *val,
		     const struct pl *eol)
{
	struct sdp_stream *m = &w->info->mv[cur];
	struct pl port;
	uint16_t p, ours;
	bool hold, addr = false;

	if (store_field(val, &port) || port_parse(&port, &p))
		return EBADMSG;
	if (val->l) {
		if (addr_parse(val, &m->rtcp, &hold))
			return EBADMSG;
		set_port(&m->rtcp, p);
		addr = true;
	}
	if (m->rtcp_attr)
		return EBADMSG;
	m->rtcp_attr = true;
	w->rtcp_port[cur] = p;
	w->rtcp_addr[cur] = addr;
	if (!w->loc || !m->port)
		return 0;
	ours = w->loc->portv[cur];
	if (p != m->port)
		ours = (uint16_t)(ours + 1);
	if (!addr)
		return mbuf_printf(w->mb, "a=rtcp:%u%r", ours, eol);
	return mbuf_printf(w->mb, "a=rtcp:%u IN %s %j%r", ours,
			   ip_type(&w->loc->addr), &w->loc->addr, eol);
}

static int line_a(struct walk *w, const struct pl *line, const struct pl *eol)
{
	struct pl name = {line->p + 2, line->l - 2}, val = PL_INIT;
	const char *colon = pl_strchr(&name, ':');
	const int cur = (int)w->info->mc - 1;
	enum sdp_dir dir;

	if (colon) {
		val.p = colon + 1;
		val.l = (size_t)(name.p + name.l - val.p);
		name.l = (size_t)(colon - name.p);
	}
	if (is_ice(&name)) {
		++w->info->ice_dropped;
		return 0;
	}
	if (!dir_of(&name, &dir) && !colon) {
		if (cur < 0)
			w->sess_dir = dir;
		else
			w->info->mv[cur].dir = dir;
	}
	else if (cur >= 0 && !pl_strcmp(&name, "rtcp-mux") && !colon) {
		w->info->mv[cur].rtcp_mux = true;
	}
	else if (cur >= 0 && !pl_strcmp(&name, "crypto") && colon) {
		struct sdp_stream *m = &w->info->mv[cur];

		if (m->cryptoc < SDP_MAX_CRYPTO)
			m->cryptov[m->cryptoc++] = val;
		if (srtp_of(w, cur) != SDP_SRTP_KEEP)
			return 0;   /* sbc's key replaces the peer's */
	}
	else if (cur >= 0 && !pl_strcmp(&name, "rtcp") && colon) {
		int err = attr_rtcp(w, cur, &val, eol);

		if (err || (w->loc && w->info->mv[cur].port))
			return err;
	}
	return write_line(w, line, eol);
}

/* The RTCP address of each stream, once all its lines are read. */
static int finish(struct walk *w)
{
	if (!w->have_o)
		return EBADMSG;
	for (uint32_t i = 0; i < w->info->mc; i++) {
		struct sdp_stream *m = &w->info->mv[i];
		uint16_t rp = m->rtcp_mux ? m->port : (uint16_t)(m->port + 1);

		if (m->port && !w->media_c[i] && !w->sess_c)
			return EBADMSG;     /* no c= for it */
		if (m->rtcp_attr)
			rp = w->rtcp_port[i];
		if (!m->rtcp_attr || !w->rtcp_addr[i]) {
			m->rtcp = m->rtp;
			set_port(&m->rtcp, m->port ? rp : 0);
		}
	}
	return 0;
}

static int walk(struct walk *w, const struct pl *body)
{
	struct pl rest = *body, line, eol;
	bool first = true;
	int err = 0;

	memset(w->info, 0, sizeof(*w->info));
	w->sess_dir = SDP_SENDRECV;
	w->crypto_due = -1;
	while (!err && next_line(&rest, &line, &eol)) {
		if (first) {
			if (pl_strcmp(&line, "v=0"))
				return EBADMSG;
			first = false;
			err = write_line(w, &line, &eol);
			continue;
		}
		if (!line.l) {
			err = write_line(w, &line, &eol);
			continue;
		}
		if (line.l < 2 || line.p[1] != '=' || line.p[0] < 'a'
		    || line.p[0] > 'z')
			return EBADMSG;
		switch (line.p[0]) {
		case 'o': err = line_o(w, &line, &eol); break;
		case 'c': err = line_c(w, &line, &eol); break;
		case 'm': err = line_m(w, &line, &eol); break;
		case 'a': err = line_a(w, &line, &eol); break;
		case 'v': err = EBADMSG; break;
		default:  err = write_line(w, &line, &eol); break;
		}
	}
	if (first)
		return EBADMSG;
	err = err ? err : crypto_flush(w);
	return err ? err : finish(w);
}

int sdp_parse(struct sdp_info *info, const struct pl *body)
{
	struct walk w;

	if (!info || !body)
		return EINVAL;
	memset(&w, 0, sizeof(w));
	w.info = info;
	return walk(&w, body);
}

/* On error the mbuf holds a partial body: the caller drops it. */
int sdp_rewrite(struct mbuf *mb, const struct pl *body,
		const struct sdp_local *loc, struct sdp_info *info)
{
	struct sdp_info tmp;
	struct walk w;

	if (!mb || !body || !loc || !sa_isset(&loc->addr, SA_ADDR))
		return EINVAL;
	memset(&w, 0, sizeof(w));
	w.info = info ? info : &tmp;
	w.loc = loc;
	w.mb = mb;
	return walk(&w, body);
}
