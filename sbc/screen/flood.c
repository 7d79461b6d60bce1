/*
 * flood.c: flood protection.  Every request from the access side counts
 * against its source address; past flood_requests in flood_window
 * seconds the source is banned for flood_ban seconds and all it sends is
 * dropped, at the cost of a hash lookup, so that one flooding source
 * cannot starve the others.  Each peer may also have a call admission
 * rate (a token bucket of new calls per second).
 *
 * A ban is also pushed into the kernel: a classic BPF filter on the
 * access side's UDP socket drops the banned IPv4 sources before they are
 * queued, so a flood far past what sbcd can parse costs it nothing.
 *
 * A ban is shared state (store.h): it changes only in flood_ban_apply(),
 * fed with a record, so that it holds on a standby that takes over and
 * across a restart (state_file).  The counting that leads to a ban stays
 * local: it is per request, far too hot to publish.  Record, one line:
 *   ban UNTIL ADDR REASON
 * (UNTIL: unix seconds, 0 for a ban lifted; ADDR: an IP address, no
 * port; REASON: flood or auth_guess.)
 */
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/filter.h>
#include "sbc.h"

struct src_rate {
	struct le he;
	struct sa addr;
	uint64_t window;            /* start of the counting window, ms */
	uint32_t count;
	uint64_t banned_until;      /* ms, 0: not banned */
	uint64_t until_s;           /* the same, unix seconds: the record's */
	uint64_t dropped;
	const char *reason;         /* of the ban: one of reasonv[] */
};

/* The reasons a record may carry: a ban of another kind is refused, so
 * that a record never makes up a reason nothing here checks. */
static const char *reasonv[] = {"flood", "auth_guess", "scanner"};

struct peer_bucket {
	struct le he;
	const struct conf_peer *peer;
	double tokens;
	uint64_t last;              /* ms */
};

static bool src_cmp(struct le *le, void *arg)
{
	const struct src_rate *s = le->data;

	return sa_cmp(&s->addr, arg, SA_ADDR);
}

static void src_destructor(void *arg)
{
	struct src_rate *s = arg;

	hash_unlink(&s->he);
}

static struct src_rate *src_get(struct flood *fl, const struct sa *addr,
				bool create)
{
	const uint32_t h = sa_hash(addr, SA_ADDR);
	struct src_rate *s;

	s = list_ledata(hash_lookup(fl->srcs, h, src_cmp, (void *)addr));
	if (s || !create || fl->nsrcs >= fl->max)
		return s;
	s = mem_zalloc(sizeof(*s), src_destructor);
	if (!s)
		return NULL;
	s->addr = *addr;
	hash_append(fl->srcs, h, &s->he, s);
	++fl->nsrcs;
	return s;
}

enum { KERNEL_BANS_MAX = 2000 };   /* 2 instructions each, of 4096 */

struct bpf_build {
	struct sock_filter *v;
	size_t n;
	uint64_t now;
};

static bool bpf_add(struct le *le, void *arg)
{
	const struct src_rate *s = le->data;
	struct bpf_build *b = arg;

	if (s->banned_until <= b->now || sa_af(&s->addr) != AF_INET)
		return false;
	if (b->n >= 1 + 2 * KERNEL_BANS_MAX)
		return true;
	/* if (src == ip) drop */
	b->v[b->n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						    sa_in(&s->addr), 0, 1);
	b->v[b->n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
	return false;
}

/* The kernel's copy of the ban list, rebuilt whenever it changes. */
static void kernel_filter(struct sbc *sbc)
{
	const int fd = sbc->side[SIDE_ACCESS].udp_fd;
	struct bpf_build b = {.now = tmr_jiffies()};
	struct sock_fprog prog;

	if (fd < 0 || sa_af(&sbc->side[SIDE_ACCESS].laddr) != AF_INET
	    || !sbc->conf->flood_kernel_filter)
		return;
	b.v = mem_alloc((2 + 2 * KERNEL_BANS_MAX) * sizeof(*b.v), NULL);
	if (!b.v)
		return;
	/* A = IPv4 source address (the filter sees the UDP header) */
	b.v[b.n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						  (uint32_t)SKF_NET_OFF + 12);
	(void)hash_apply(sbc->flood.srcs, bpf_add, &b);
	b.v[b.n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
						  0xffffffff);
	prog.len = (unsigned short)b.n;
	prog.filter = b.v;
	if (b.n == 2) {
		/* the kernel wants an int here, even if it ignores it */
		int none = 0;

		(void)setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &none,
				 sizeof(none));
	}
	else if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
			    sizeof(prog)) < 0)
		LOGW(sbc, "flood: kernel filter not set: %m", errno);
	sbc->flood.kernel_bans = (uint32_t)(b.n - 2) / 2;
	mem_deref(b.v);
}

static void kernel_filter_h(void *arg)
{
	kernel_filter(arg);
}

/* A snapshot changes bans by the thousand, and each rebuild walks them
 * all: the kernel's copy is rebuilt once for them, on the next turn of
 * the loop (meanwhile the request path drops the sources itself). */
static void kernel_filter_soon(struct sbc *sbc)
{
	if (!tmr_isrunning(&sbc->flood.ktmr))
		tmr_start(&sbc->flood.ktmr, 0, kernel_filter_h, sbc);
}

/* Counts a request from src; true if src is banned (now or from now). */
bool flood_count(struct sbc *sbc, const struct req_ctx *ctx)
{
	const struct sbc_conf *conf = sbc->conf;
	struct flood *fl = &sbc->flood;
	const uint64_t now = tmr_jiffies();
	struct src_rate *s;
	int err;

	if (ctx->in->id != SIDE_ACCESS)
		return false;
	if (!conf->flood_requests || (ctx->peer && ctx->peer->flood_exempt)) {
		/* not counted, but banned for another reason (flood_ban) */
		s = src_get(fl, &ctx->msg->src, false);
		if (!s || s->banned_until <= now)
			return false;
		++s->dropped;
		return true;
	}
	s = src_get(fl, &ctx->msg->src, true);
	if (!s) {
		if (!fl->full_warned)
			LOGW(sbc, "flood: %u sources tracked (flood_sources): "
			     "new ones are not counted", fl->max);
		fl->full_warned = true;
		return false;
	}
	if (s->banned_until > now) {
		++s->dropped;
		return true;
	}
	if (now - s->window >= conf->flood_window * 1000ULL) {
		s->window = now;
		s->count = 0;
	}
	if (++s->count <= conf->flood_requests)
		return false;

	err = flood_ban(sbc, &ctx->msg->src, conf->flood_ban, "flood");
	if (err) {
		LOGW(sbc, "flood: %j: cannot ban: %m", &ctx->msg->src, err);
		return false;
	}
	LOGW(sbc, "flood: %j sent over %u requests in %u s: banned for %u s",
	     &ctx->msg->src, conf->flood_requests, conf->flood_window,
	     conf->flood_ban);
	event_emit(sbc, ctx, "flood", "ban");
	return true;
}

static const char *reason_of(const struct pl *pl)
{
	for (size_t i = 0; i < ARRAY_SIZE(reasonv); i++)
		if (!pl_strcmp(pl, reasonv[i]))
			return reasonv[i];
	return NULL;
}

int flood_ban_encode(struct mbuf *mb, const struct flood_ban_rec *r)
{
	return mbuf_printf(mb, "ban %llu %j %r\n", r->until, &r->addr,
			   &r->reason);
}

int flood_ban_decode(struct flood_ban_rec *r, const struct pl *txt)
{
	struct pl t = *txt, tag, until, addr, rest;
	int err;

	memset(r, 0, sizeof(*r));
	err  = store_field(&t, &tag);
	err |= store_field(&t, &until);
	err |= store_field(&t, &addr);
	err |= store_field(&t, &r->reason);
	/* sa_set() would cut a longer field to its buffer: refused first */
	if (err || pl_strcmp(&tag, "ban") || !store_digits(&until, 19)
	    || addr.l > 45 || sa_set(&r->addr, &addr, 0)
	    || !sa_isset(&r->addr, SA_ADDR)
	    || !reason_of(&r->reason) || !store_field(&t, &rest))
		return EBADMSG;
	r->until = pl_u64(&until);
	return 0;
}

/* Lifts a live ban; ENOENT if there is none. */
static int lift(struct sbc *sbc, const struct sa *addr)
{
	struct src_rate *s = src_get(&sbc->flood, addr, false);

	if (!s || s->banned_until <= tmr_jiffies())
		return ENOENT;
	s->banned_until = 0;
	s->until_s = 0;
	s->count = 0;               /* not banned again by its next request */
	kernel_filter_soon(sbc);
	return 0;
}

/* The one place a ban changes, for local bans and received ones.  The
 * record's unix time becomes this node's monotonic milliseconds, what
 * the request path compares.  A ban whose end has passed (0: lifted)
 * lifts one. */
int flood_ban_apply(struct sbc *sbc, const struct flood_ban_rec *r)
{
	const uint64_t now = (uint64_t)time(NULL);
	const char *reason = reason_of(&r->reason);
	struct src_rate *s;

	if (!reason || !sa_isset(&r->addr, SA_ADDR))
		return EBADMSG;
	if (r->until <= now)
		return lift(sbc, &r->addr);
	s = src_get(&sbc->flood, &r->addr, true);
	if (!s)
		return ENOSPC;
	s->until_s = r->until;
	/* bounded, so that the milliseconds of a far UNTIL do not wrap */
	s->banned_until = tmr_jiffies()
		+ min(r->until - now, (uint64_t)UINT32_MAX) * 1000ULL;
	s->reason = reason;
	kernel_filter_soon(sbc);
	return 0;
}

static int ban_encode_h(struct mbuf *mb, const void *rec)
{
	return flood_ban_encode(mb, rec);
}

/* A ban made here: applied, then published for the other nodes. */
static int local_ban(struct sbc *sbc, const struct flood_ban_rec *r)
{
	int err = flood_ban_apply(sbc, r);

	if (!err)
		store_share(&sbc->store, ban_encode_h, r);
	return err;
}

/* Bans src (flooding, or another reason: password guessing): listed,
 * lifted and pushed to the kernel alike.  A longer ban in place stays.
 * ENOSPC if the table of sources is full. */
int flood_ban(struct sbc *sbc, const struct sa *src, uint32_t seconds,
	      const char *reason)
{
	struct flood_ban_rec r = {.until = (uint64_t)time(NULL) + seconds,
				  .addr = *src};
	const struct src_rate *s = src_get(&sbc->flood, src, false);

	if (s && s->banned_until > tmr_jiffies() && s->until_s >= r.until)
		return 0;
	pl_set_str(&r.reason, reason);
	return local_ban(sbc, &r);
}

bool flood_banned(const struct sbc *sbc, const struct sa *src)
{
	struct src_rate *s = src_get((struct flood *)&sbc->flood, src, false);

	return s && s->banned_until > tmr_jiffies();
}

static bool bucket_cmp(struct le *le, void *arg)
{
	const struct peer_bucket *b = le->data;

	return b->peer == arg;
}

static void bucket_destructor(void *arg)
{
	struct peer_bucket *b = arg;

	hash_unlink(&b->he);
}

/* The buckets are keyed by the peers of one configuration: a reload
 * starts them full again. */
void flood_reload(struct sbc *sbc)
{
	hash_flush(sbc->flood.buckets);
}

/* Call admission of a peer: true if a new call may start now. */
bool flood_admit(struct sbc *sbc, const struct conf_peer *peer)
{
	struct flood *fl = &sbc->flood;
	const uint32_t h = hash_fast((const char *)&peer, sizeof(peer));
	const uint64_t now = tmr_jiffies();
	struct peer_bucket *b;
	const double burst = peer->cps_burst ? peer->cps_burst : peer->cps;

	if (!peer->cps)
		return true;
	b = list_ledata(hash_lookup(fl->buckets, h, bucket_cmp,
				    (void *)peer));
	if (!b) {
		b = mem_zalloc(sizeof(*b), bucket_destructor);
		if (!b)
			return true;
		b->peer = peer;
		b->tokens = burst;
		b->last = now;
		hash_append(fl->buckets, h, &b->he, b);
	}
	b->tokens += (double)(now - b->last) * peer->cps / 1000.0;
	if (b->tokens > burst)
		b->tokens = burst;
	b->last = now;
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

/* Sources quiet for a whole window and not banned are forgotten. */
static bool sweep_one(struct le *le, void *arg)
{
	struct src_rate *s = le->data;
	struct sbc *sbc = arg;
	const uint64_t now = tmr_jiffies();

	if (s->banned_until && s->banned_until <= now) {
		s->banned_until = 0;
		s->until_s = 0;
		sbc->flood.expired = true;
		LOGI(sbc, "%s: ban of %j over (%llu requests dropped)",
		     s->reason ? s->reason : "flood", &s->addr,
		     (unsigned long long)s->dropped);
	}
	if (s->banned_until <= now
	    && now - s->window >= sbc->conf->flood_window * 1000ULL) {
		mem_deref(s);
		--sbc->flood.nsrcs;
	}
	return false;
}

static void sweep(void *arg)
{
	struct sbc *sbc = arg;

	sbc->flood.expired = false;
	(void)hash_apply(sbc->flood.srcs, sweep_one, sbc);
	if (sbc->flood.expired)
		kernel_filter(sbc);
	tmr_start(&sbc->flood.tmr, 1000, sweep, sbc);
}

int flood_init(struct sbc *sbc)
{
	struct flood *fl = &sbc->flood;
	int err;

	fl->max = sbc->conf->flood_sources;
	tmr_init(&fl->ktmr);
	err = hash_alloc(&fl->srcs, 4096);
	err = err ? err : hash_alloc(&fl->buckets, 64);
	if (err)
		return err;
	tmr_start(&fl->tmr, 1000, sweep, sbc);
	return 0;
}

void flood_close(struct sbc *sbc)
{
	struct flood *fl = &sbc->flood;

	tmr_cancel(&fl->tmr);
	tmr_cancel(&fl->ktmr);
	hash_flush(fl->srcs);
	hash_flush(fl->buckets);
	fl->srcs = mem_deref(fl->srcs);
	fl->buckets = mem_deref(fl->buckets);
}

static bool ban_print(struct le *le, void *arg)
{
	const struct src_rate *s = le->data;
	struct re_printf *pf = arg;
	const uint64_t now = tmr_jiffies();

	if (s->banned_until <= now)
		return false;
	return re_hprintf(pf, "%j remaining=%llus dropped=%llu reason=%s\n",
			  &s->addr,
			  (unsigned long long)(s->banned_until - now) / 1000,
			  (unsigned long long)s->dropped,
			  s->reason ? s->reason : "flood") != 0;
}

/* The banned sources, one a line, for the control socket. */
int flood_bans_print(struct re_printf *pf, const struct sbc *sbc)
{
	(void)hash_apply(sbc->flood.srcs, ban_print, pf);
	return 0;
}

/* Lifts a ban (kernel filter included), on every node; false if src was
 * not banned. */
bool flood_unban(struct sbc *sbc, const struct sa *src)
{
	const struct src_rate *s = src_get(&sbc->flood, src, false);
	struct flood_ban_rec r = {.until = 0, .addr = *src};

	if (!s || !s->reason)
		return false;
	pl_set_str(&r.reason, s->reason);
	return local_ban(sbc, &r) == 0;
}

struct save {
	struct mbuf *mb;
	uint64_t now;
};

static bool save_h(struct le *le, void *arg)
{
	const struct src_rate *s = le->data;
	struct save *sv = arg;
	struct flood_ban_rec r = {.until = s->until_s, .addr = s->addr};

	if (s->banned_until <= sv->now)
		return false;
	pl_set_str(&r.reason, s->reason);
	return flood_ban_encode(sv->mb, &r) != 0;
}

/* The live bans as the records that make them again (state.c). */
int flood_save(struct mbuf *mb, const struct sbc *sbc)
{
	struct save sv = {mb, tmr_jiffies()};

	return hash_apply(sbc->flood.srcs, save_h, &sv) ? ENOMEM : 0;
}

/* Forgets every source, bans included, and empties the kernel filter: a
 * standby about to take a new snapshot. */
void flood_reset(struct sbc *sbc)
{
	hash_flush(sbc->flood.srcs);
	sbc->flood.nsrcs = 0;
	kernel_filter_soon(sbc);
}
