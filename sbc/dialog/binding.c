/*
 * binding.c: the registrations made through sbcd (see binding.h).
 * Recorded from the registrar's 2xx, not from the REGISTER: only what the
 * registrar accepted counts, for as long as it said.  Looked up by the
 * flow a request comes from (transport, address, port), which is what a
 * NATed phone keeps.
 *
 * Record, one line: bind EXPIRES TP SRC AOR CONTACT
 * (TP: udp, tcp, tls; SRC: address:port, IPv6 in brackets; EXPIRES in
 * unix seconds, 0 for a binding removed).
 */
#include <string.h>
#include <time.h>
#include "sbc.h"
#include "binding.h"

static uint32_t flow_hash(enum sip_transp tp, const struct sa *src)
{
	return sa_hash(src, SA_ALL) ^ (uint32_t)tp;
}

static void binding_destructor(void *arg)
{
	struct binding *b = arg;

	hash_unlink(&b->he);
	tmr_cancel(&b->tmr);
	if (b->unreachable)
		--b->sbc->bindings.unreachable;
	mem_deref(b->ka);
	mem_deref(b->aor);
	mem_deref(b->contact);
	mem_deref(b->peer.name);
	mem_deref(b->conn);
}

int binding_init(struct sbc *sbc)
{
	return hash_alloc(&sbc->bindings.ht, 4096);
}

void binding_close(struct sbc *sbc)
{
	hash_flush(sbc->bindings.ht);
	sbc->bindings.ht = mem_deref(sbc->bindings.ht);
	sbc->bindings.n = 0;
	sbc->bindings.unreachable = 0;
}

int binding_encode(struct mbuf *mb, const struct binding_rec *r)
{
	return mbuf_printf(mb, "bind %llu %s %J %r %r\n", r->expires,
			   sipmsg_tp_name(r->tp), &r->src, &r->aor, &r->contact);
}

int binding_decode(struct binding_rec *r, const struct pl *txt)
{
	struct pl exp, tp, src;

	memset(r, 0, sizeof(*r));
	if (re_regex(txt->p, txt->l, "bind [0-9]+ [a-z]+ [^ ]+ [^ ]+ "
		     "[^ \r\n]+", &exp, &tp, &src, &r->aor, &r->contact)
	    || exp.l > 19)
		return EBADMSG;
	r->expires = pl_u64(&exp);
	if (sipmsg_tp_decode(&r->tp, &tp))
		return EBADMSG;
	if (sa_decode(&r->src, src.p, src.l) || !sa_port(&r->src))
		return EBADMSG;
	return 0;
}

static bool same(const struct binding *b, const struct binding_rec *r)
{
	return b->tp == r->tp && sa_cmp(&b->src, &r->src, SA_ALL)
		&& !pl_strcmp(&r->aor, b->aor)
		&& !pl_strcmp(&r->contact, b->contact);
}

static struct binding *find(const struct sbc *sbc,
			    const struct binding_rec *r)
{
	struct le *le = list_head(hash_list(sbc->bindings.ht,
					    flow_hash(r->tp, &r->src)));

	for (; le; le = le->next) {
		struct binding *b = le->data;

		if (same(b, r))
			return b;
	}
	return NULL;
}

static void remove_binding(struct binding *b)
{
	--b->sbc->bindings.n;
	mem_deref(b);
}

static void expire_handler(void *arg)
{
	struct binding *b = arg;

	LOGD(b->sbc, "binding %s -> %s (%s %J) expired", b->aor, b->contact,
	     sipmsg_tp_name(b->tp), &b->src);
	remove_binding(b);
}

static int create(struct sbc *sbc, const struct binding_rec *r,
		  struct binding **bp)
{
	struct binding *b;
	int err;

	if (sbc->bindings.n >= sbc->conf->max_bindings)
		return ENOSPC;
	b = mem_zalloc(sizeof(*b), binding_destructor);
	if (!b)
		return ENOMEM;
	b->sbc = sbc;
	b->tp = r->tp;
	b->src = r->src;
	err = pl_strdup(&b->aor, &r->aor);
	err |= pl_strdup(&b->contact, &r->contact);
	err |= re_sdprintf(&b->peer.name, "user:%r", &r->aor);
	if (err) {
		mem_deref(b);
		return ENOMEM;
	}
	b->peer.transports = 1u << r->tp;
	err = keepalive_start(b);
	if (err) {
		mem_deref(b);
		return err;
	}
	hash_append(sbc->bindings.ht, flow_hash(r->tp, &r->src), &b->he, b);
	++sbc->bindings.n;
	*bp = b;
	return 0;
}

/* libre drops the TCP connection of a closed flow but keeps the object
 * while we hold it; a message on it tells which (sip_msg_tcpconn()). */
bool binding_conn_alive(const struct binding *b)
{
	struct sip_msg m = {.tp = b->tp, .sock = b->conn};

	return b->conn && sip_msg_tcpconn(&m) != NULL;
}

/* The one place bindings change, for local changes and received ones. */
int binding_apply(struct sbc *sbc, const struct binding_rec *r)
{
	const uint64_t now = (uint64_t)time(NULL);
	struct binding *b = find(sbc, r);
	int err;

	if (r->expires <= now) {
		if (!b)
			return ENOENT;
		remove_binding(b);
		return 0;
	}
	if (!b) {
		err = create(sbc, r, &b);
		if (err)
			return err;
	}
	b->expires = r->expires;
	tmr_start(&b->tmr, (r->expires - now) * 1000, expire_handler, b);
	return 0;
}

static bool reset_one(struct le *le, void *arg)
{
	(void)arg;
	remove_binding(le->data);
	return false;
}

/* Forgets every binding: a standby about to take a new snapshot. */
void binding_reset(struct sbc *sbc)
{
	(void)hash_apply(sbc->bindings.ht, reset_one, NULL);
}

static int encode_h(struct mbuf *mb, const void *rec)
{
	return binding_encode(mb, rec);
}

static bool save_h(struct le *le, void *arg)
{
	const struct binding *b = le->data;
	struct binding_rec r = {.expires = b->expires, .tp = b->tp,
				.src = b->src};

	pl_set_str(&r.aor, b->aor);
	pl_set_str(&r.contact, b->contact);
	return binding_encode(arg, &r) != 0;
}

/* The bindings as records (state.c).  A TCP or TLS client's connection
 * does not outlive the process, but its flow identity does: calls to it
 * get 430 until it connects again. */
int binding_save(struct mbuf *mb, const struct sbc *sbc)
{
	return hash_apply(sbc->bindings.ht, save_h, mb) ? ENOMEM : 0;
}

/* conn: the connection a TCP/TLS client registered on, a node's own
 * (calls to the client must use it: it is the only way through a NAT);
 * a standby learns the binding without it. */
static void local_change(struct sbc *sbc, const struct binding_rec *r,
			 void *conn)
{
	int err = binding_apply(sbc, r);
	struct binding *b;

	if (!err && conn && (b = find(sbc, r)) && b->conn != conn) {
		mem_deref(b->conn);
		b->conn = mem_ref(conn);
	}
	if (!err)
		store_publish(&sbc->store, encode_h, r);
	else if (err == ENOSPC)
		LOGW(sbc, "bindings: %u recorded (max_bindings): %r not "
		     "recorded, its user cannot call", sbc->bindings.n,
		     &r->aor);
}

/* Registrars echo a contact with their own choice of parameters: the
 * same user, host and port is the same contact. */
static bool same_contact(const struct uri *a, const struct uri *b)
{
	return !pl_cmp(&a->user, &b->user) && !pl_casecmp(&a->host, &b->host)
		&& a->port == b->port;
}

/* How long the registrar keeps CONTACT: its expires parameter in the
 * 2xx, or the 2xx's Expires header; not listed: removed. */
static uint32_t granted(const struct sip_msg *rsp, const struct uri *contact)
{
	struct le *le;
	struct pl exp;

	for (le = list_head(&rsp->hdrl); le; le = le->next) {
		const struct sip_hdr *hdr = le->data;
		struct sip_addr addr;

		if (hdr->id != SIP_HDR_CONTACT
		    || sip_addr_decode(&addr, &hdr->val)
		    || !same_contact(&addr.uri, contact))
			continue;
		if (!msg_param_decode(&addr.params, "expires", &exp))
			return pl_u32(&exp);
		return pl_isset(&rsp->expires) ? pl_u32(&rsp->expires) : 3600;
	}
	return 0;
}

/* "Contact: *": every binding of the AOR from this flow goes. */
static void unbind_all(struct sbc *sbc, const struct binding_rec *r)
{
	struct le *le = list_head(hash_list(sbc->bindings.ht,
					    flow_hash(r->tp, &r->src)));

	while (le) {
		struct binding *b = le->data;
		struct binding_rec d = *r;

		le = le->next;
		if (b->tp != r->tp || !sa_cmp(&b->src, &r->src, SA_ALL)
		    || pl_strcmp(&r->aor, b->aor))
			continue;
		pl_set_str(&d.contact, b->contact);
		d.expires = 0;
		local_change(sbc, &d, NULL);
	}
}

/* The registrar accepted a REGISTER we relayed: each contact it lists
 * for the client is bound to the client's flow, the others unbound. */
void binding_registered(struct sbc *sbc, const struct sip_msg *req,
			const struct sip_msg *rsp, void *conn)
{
	const uint64_t now = (uint64_t)time(NULL);
	struct binding_rec r = {.tp = req->tp, .src = req->src};
	char aor[256];

	if (re_snprintf(aor, sizeof(aor), "%r@%r", &req->to.uri.user,
			&req->to.uri.host) < 0)
		return;
	pl_set_str(&r.aor, aor);
	for (struct le *le = list_head(&req->hdrl); le; le = le->next) {
		const struct sip_hdr *hdr = le->data;
		struct sip_addr addr;
		uint32_t secs;

		if (hdr->id != SIP_HDR_CONTACT)
			continue;
		if (!pl_strcmp(&hdr->val, "*")) {
			unbind_all(sbc, &r);
			continue;
		}
		if (sip_addr_decode(&addr, &hdr->val))
			continue;
		secs = granted(rsp, &addr.uri);
		r.contact = addr.auri;
		r.expires = secs ? now + secs : 0;
		LOGD(sbc, "binding %s -> %r (%s %J): %u s", aor, &r.contact,
		     sipmsg_tp_name(r.tp), &r.src, secs);
		local_change(sbc, &r, conn);
	}
	binding_seen(sbc, req);   /* a first REGISTER found no binding */
}

/* A message from a client's flow: a sign of life of its bindings. */
void binding_seen(struct sbc *sbc, const struct sip_msg *msg)
{
	struct le *le;

	if (!sbc->bindings.n)
		return;
	le = list_head(hash_list(sbc->bindings.ht,
				 flow_hash(msg->tp, &msg->src)));
	for (; le; le = le->next) {
		struct binding *b = le->data;

		if (b->tp == msg->tp && sa_cmp(&b->src, &msg->src, SA_ALL))
			keepalive_seen(b, msg);
	}
}

struct moved {
	enum sip_transp tp;
	const struct sa *addr;
	const struct uri *contact;
	struct binding *b;
};

static bool moved_h(struct le *le, void *arg)
{
	struct binding *b = le->data;
	struct moved *m = arg;
	struct pl pl;
	struct uri u;

	if (b->tp != m->tp || !sa_cmp(&b->src, m->addr, SA_ADDR)
	    || !binding_conn_alive(b))
		return false;
	pl_set_str(&pl, b->contact);
	if (uri_decode(&u, &pl) || !same_contact(&u, m->contact))
		return false;
	m->b = b;
	return true;
}

/* The flow a TCP/TLS client's contact moved to: the client connected
 * again (after a failover its old connection is gone with the old node)
 * from the same address, and registered the same contact on its new
 * connection.  A walk of the table: it only runs for a flow that is
 * gone. */
struct binding *binding_moved(const struct sbc *sbc, enum sip_transp tp,
			      const struct sa *addr, const struct uri *contact)
{
	struct moved m = {tp, addr, contact, NULL};

	if (tp == SIP_TRANSP_UDP || !sbc->bindings.n)
		return NULL;
	(void)hash_apply(sbc->bindings.ht, moved_h, &m);
	return m.b;
}

struct binding *binding_of(const struct sbc *sbc, enum sip_transp tp,
			   const struct sa *src)
{
	struct le *le = list_head(hash_list(sbc->bindings.ht,
					    flow_hash(tp, src)));

	for (; le; le = le->next) {
		struct binding *b = le->data;

		if (b->tp == tp && sa_cmp(&b->src, src, SA_ALL))
			return b;
	}
	return NULL;
}

static bool print_one(struct le *le, void *arg)
{
	const struct binding *b = le->data;

	return re_hprintf(arg, "binding %s %s %s %J expires %llu %s%s\n",
			  b->aor, b->contact, sipmsg_tp_name(b->tp), &b->src,
			  b->expires, b->unreachable ? "unreachable"
						     : "reachable",
			  b->tp != SIP_TRANSP_UDP && !binding_conn_alive(b)
			  ? " connection-closed" : "") != 0;
}

int binding_print(struct re_printf *pf, const struct sbc *sbc)
{
	int err = re_hprintf(pf, "bindings %u unreachable %u\n",
			     sbc->bindings.n, sbc->bindings.unreachable);

	(void)hash_apply(sbc->bindings.ht, print_one, pf);
	return err;
}
