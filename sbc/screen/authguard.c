/*
 * authguard.c: password-guessing (registration hijack) protection.
 *
 * The forward path reports the final answer to every REGISTER it relayed
 * to the registrar.  A 401, 407 or 403 to a REGISTER that carried
 * credentials (Authorization or Proxy-Authorization) is a failed guess,
 * unless the challenge says stale=true (an old nonce, not a wrong
 * password); the first challenge of a REGISTER without credentials is the
 * normal start of a registration and does not count.  Failures are
 * counted per user (the To user part: the host is left out so that a
 * guesser cannot escape by varying it) and per source address, in a
 * window of auth_fail_window seconds; a 2xx resets the user's count.
 * At auth_fail_limit:
 *   - the source is banned for auth_fail_ban seconds, through flood.c,
 *     so the ban is listed, can be lifted, and reaches the kernel filter;
 *   - the user is locked for a window: its REGISTERs, from any source,
 *     are dropped before they reach the registrar.
 * Both tables are bounded by auth_fail_tracked entries each.  A lock
 * changes only in authguard_lock_apply(), fed with a ulock record (see
 * authguard.h), published when made here.
 */
#include <string.h>
#include <strings.h>
#include <time.h>
#include "sbc.h"
#include "authguard.h"

struct authguard {
	struct hash *users;         /* struct ag_user by name */
	struct hash *srcs;          /* struct ag_src by address */
	uint32_t nusers;
	uint32_t nsrcs;
	uint32_t max;
	uint32_t limit;             /* 0: off */
	uint64_t window_ms;
	bool full_warned;
	struct sbc *sbc;            /* NULL: counting only (tests) */
	struct tmr tmr;             /* forgets old entries */
};

static void destructor(void *arg)
{
	struct authguard *ag = arg;

	tmr_cancel(&ag->tmr);
	hash_flush(ag->users);
	hash_flush(ag->srcs);
	mem_deref(ag->users);
	mem_deref(ag->srcs);
}

/* About 8 entries a bucket when full, 64 to 16384 buckets (a power of
 * 2, as libre's hash wants). */
static uint32_t buckets(uint32_t max)
{
	uint32_t n = 64;

	while (n < 16384 && n * 8 < max)
		n <<= 1;
	return n;
}

int authguard_alloc(struct authguard **agp, uint32_t limit,
		    uint32_t window_s, uint32_t max)
{
	struct authguard *ag;
	int err;

	if (!agp)
		return EINVAL;
	ag = mem_zalloc(sizeof(*ag), destructor);
	if (!ag)
		return ENOMEM;
	ag->limit = limit;
	ag->window_ms = window_s * 1000ULL;
	ag->max = max;
	tmr_init(&ag->tmr);
	err = hash_alloc(&ag->users, buckets(max));
	err = err ? err : hash_alloc(&ag->srcs, buckets(max));
	if (err) {
		mem_deref(ag);
		return err;
	}
	*agp = ag;
	return 0;
}

/* A name as counted: at most AUTHGUARD_USER_MAX bytes. */
static struct pl user_key(const struct pl *user)
{
	struct pl k = *user;

	if (k.l > AUTHGUARD_USER_MAX)
		k.l = AUTHGUARD_USER_MAX;
	return k;
}

static bool user_cmp(struct le *le, void *arg)
{
	const struct ag_user *u = le->data;

	return !pl_strcasecmp(arg, u->name);
}

static void user_destructor(void *arg)
{
	struct ag_user *u = arg;

	hash_unlink(&u->he);
}

struct ag_user *authguard_user_find(struct authguard *ag,
				    const struct pl *user)
{
	struct pl k = user_key(user);

	return list_ledata(hash_lookup(ag->users, hash_joaat_ci(k.p, k.l),
				       user_cmp, &k));
}

static struct ag_user *user_get(struct authguard *ag, const struct pl *user)
{
	struct pl k = user_key(user);
	struct ag_user *u = authguard_user_find(ag, user);

	if (u || ag->nusers >= ag->max)
		return u;
	u = mem_zalloc(sizeof(*u), user_destructor);
	if (!u)
		return NULL;
	memcpy(u->name, k.p, k.l);
	hash_append(ag->users, hash_joaat_ci(k.p, k.l), &u->he, u);
	++ag->nusers;
	return u;
}

static bool src_cmp(struct le *le, void *arg)
{
	const struct ag_src *s = le->data;

	return sa_cmp(&s->addr, arg, SA_ADDR);
}

static void src_destructor(void *arg)
{
	struct ag_src *s = arg;

	hash_unlink(&s->he);
}

struct ag_src *authguard_src_find(struct authguard *ag, const struct sa *src)
{
	return list_ledata(hash_lookup(ag->srcs, sa_hash(src, SA_ADDR),
				       src_cmp, (void *)src));
}

static struct ag_src *src_get(struct authguard *ag, const struct sa *src)
{
	struct ag_src *s = authguard_src_find(ag, src);

	if (s || ag->nsrcs >= ag->max)
		return s;
	s = mem_zalloc(sizeof(*s), src_destructor);
	if (!s)
		return NULL;
	sa_cpy(&s->addr, src);
	sa_set_port(&s->addr, 0);
	hash_append(ag->srcs, sa_hash(src, SA_ADDR), &s->he, s);
	++ag->nsrcs;
	return s;
}

/* One more failure in a window; true when it reaches the limit (and the
 * count starts again). */
static bool count(uint32_t *fails, uint64_t *window, uint32_t limit,
		  uint64_t window_ms, uint64_t now)
{
	if (!*window || now - *window >= window_ms) {
		*window = now;
		*fails = 0;
	}
	if (++*fails < limit)
		return false;
	*fails = 0;
	return true;
}

/* A failed REGISTER of user (may be empty) from src. */
unsigned authguard_fail(struct authguard *ag, const struct pl *user,
			const struct sa *src, uint64_t now)
{
	struct ag_user *u = NULL;
	struct ag_src *s;
	unsigned v = 0;

	if (!ag || !ag->limit)
		return 0;
	if (user && pl_isset(user)) {
		u = user_get(ag, user);
		if (!u)
			v |= AG_FULL;
		else if (count(&u->fails, &u->window, ag->limit,
			       ag->window_ms, now))
			v |= AG_USER_LIMIT;
	}
	s = src_get(ag, src);
	if (!s)
		v |= AG_FULL;
	else if (count(&s->fails, &s->window, ag->limit, ag->window_ms, now))
		v |= AG_SRC_LIMIT;
	return v;
}

void authguard_success(struct authguard *ag, const struct pl *user)
{
	struct ag_user *u;

	if (!ag || !user || !pl_isset(user))
		return;
	u = authguard_user_find(ag, user);
	if (u)
		u->fails = 0;
}

bool authguard_locked(struct authguard *ag, const struct pl *user,
		      uint64_t now)
{
	const struct ag_user *u;

	if (!ag || !ag->limit || !user || !pl_isset(user))
		return false;
	u = authguard_user_find(ag, user);
	return u && u->locked_until > now;
}

struct sweep {
	struct authguard *ag;
	uint64_t now;
};

static bool sweep_user(struct le *le, void *arg)
{
	struct ag_user *u = le->data;
	struct sweep *sw = arg;

	if (u->locked_until <= sw->now
	    && sw->now - u->window >= sw->ag->window_ms) {
		mem_deref(u);
		--sw->ag->nusers;
	}
	return false;
}

static bool sweep_src(struct le *le, void *arg)
{
	struct ag_src *s = le->data;
	struct sweep *sw = arg;

	if (sw->now - s->window >= sw->ag->window_ms) {
		mem_deref(s);
		--sw->ag->nsrcs;
	}
	return false;
}

/* Forgets users and sources whose window passed (and lock ended). */
void authguard_sweep(struct authguard *ag, uint64_t now)
{
	struct sweep sw = {ag, now};

	(void)hash_apply(ag->users, sweep_user, &sw);
	(void)hash_apply(ag->srcs, sweep_src, &sw);
	if (ag->nusers < ag->max && ag->nsrcs < ag->max)
		ag->full_warned = false;
}

uint32_t authguard_users(const struct authguard *ag)
{
	return ag ? ag->nusers : 0;
}

uint32_t authguard_srcs(const struct authguard *ag)
{
	return ag ? ag->nsrcs : 0;
}

/* A name as a record's field: nothing that would end it or change its
 * meaning ('%') is written as it is. */
static int user_print(struct re_printf *pf, const char *u)
{
	int err = 0;

	for (; *u && !err; u++) {
		const uint8_t c = (uint8_t)*u;

		if (c <= ' ' || c >= 0x7f || c == '%')
			err = re_hprintf(pf, "%%%02X", c);
		else
			err = pf->vph(u, 1, pf->arg);
	}
	return err;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
		|| (c >= 'A' && c <= 'F');
}

/* The field back as a name: EBADMSG for a bad or NUL escape, a byte that
 * should have been escaped, nothing, or more than a name holds. */
static int user_unescape(char *dst, const struct pl *f)
{
	size_t n = 0;

	for (size_t i = 0; i < f->l; i++) {
		uint8_t c = (uint8_t)f->p[i];

		if (c == '%') {
			if (i + 2 >= f->l || !is_hex(f->p[i + 1])
			    || !is_hex(f->p[i + 2]))
				return EBADMSG;
			c = (uint8_t)(ch_hex(f->p[i + 1]) << 4
				      | ch_hex(f->p[i + 2]));
			i += 2;
			if (!c)
				return EBADMSG;
		}
		else if (c <= ' ' || c >= 0x7f) {
			return EBADMSG;
		}
		if (n >= AUTHGUARD_USER_MAX)
			return EBADMSG;
		dst[n++] = (char)c;
	}
	dst[n] = '\0';
	return n ? 0 : EBADMSG;
}

int authguard_lock_encode(struct mbuf *mb, const struct ag_lock_rec *r)
{
	return mbuf_printf(mb, "ulock %llu %H\n", r->until, user_print,
			   r->user);
}

int authguard_lock_decode(struct ag_lock_rec *r, const struct pl *txt)
{
	struct pl t = *txt, tag, until, user, rest;
	int err;

	memset(r, 0, sizeof(*r));
	err  = store_field(&t, &tag);
	err |= store_field(&t, &until);
	err |= store_field(&t, &user);
	if (err || pl_strcmp(&tag, "ulock") || !store_digits(&until, 19)
	    || user_unescape(r->user, &user) || !store_field(&t, &rest))
		return EBADMSG;
	r->until = pl_u64(&until);
	return 0;
}

/* Lifts a live lock; ENOENT if there is none. */
static int unlock(struct authguard *ag, const struct pl *name, uint64_t now)
{
	struct ag_user *u = authguard_user_find(ag, name);

	if (!u || u->locked_until <= now)
		return ENOENT;
	u->locked_until = 0;
	u->locked_until_s = 0;
	return 0;
}

/* The one place a lock changes, for local locks and received ones.  The
 * record's unix time becomes this node's clock.  A lock whose end has
 * passed (0: lifted) lifts one. */
int authguard_lock_apply(struct authguard *ag, const struct ag_lock_rec *r,
			 uint64_t now, uint64_t wall)
{
	struct ag_user *u;
	struct pl name;

	if (!ag)
		return EINVAL;
	pl_set_str(&name, r->user);
	if (!name.l || name.l > AUTHGUARD_USER_MAX)
		return EBADMSG;
	if (r->until <= wall)
		return unlock(ag, &name, now);
	u = user_get(ag, &name);
	if (!u)
		return ENOSPC;
	u->locked_until_s = r->until;
	/* bounded, so that the milliseconds of a far UNTIL do not wrap */
	u->locked_until = now + min(r->until - wall, (uint64_t)UINT32_MAX)
		* 1000ULL;
	return 0;
}

struct save {
	struct mbuf *mb;
	uint64_t now;
};

static bool save_h(struct le *le, void *arg)
{
	const struct ag_user *u = le->data;
	struct save *sv = arg;
	struct ag_lock_rec r = {.until = u->locked_until_s};

	if (u->locked_until <= sv->now)
		return false;
	str_ncpy(r.user, u->name, sizeof(r.user));
	return authguard_lock_encode(sv->mb, &r) != 0;
}

/* The live locks as the records that make them again (state.c). */
int authguard_save(struct mbuf *mb, const struct authguard *ag,
		   uint64_t now)
{
	struct save sv = {mb, now};

	if (!ag)
		return 0;
	return hash_apply(ag->users, save_h, &sv) ? ENOMEM : 0;
}

/* Forgets every user, locks included: a standby about to take a new
 * snapshot.  The sources' counts are this node's own and stay. */
void authguard_reset(struct authguard *ag)
{
	if (!ag)
		return;
	hash_flush(ag->users);
	ag->nusers = 0;
}

/* ---- the request path ---- */

static void sweep_tmr(void *arg)
{
	struct authguard *ag = arg;

	authguard_sweep(ag, tmr_jiffies());
	tmr_start(&ag->tmr, 1000, sweep_tmr, ag);
}

int authguard_init(struct sbc *sbc)
{
	const struct sbc_conf *conf = sbc->conf;
	int err;

	err = authguard_alloc(&sbc->authguard, conf->auth_fail_limit,
			      conf->auth_fail_window, conf->auth_fail_tracked);
	if (err)
		return err;
	sbc->authguard->sbc = sbc;
	tmr_start(&sbc->authguard->tmr, 1000, sweep_tmr, sbc->authguard);
	return 0;
}

void authguard_close(struct sbc *sbc)
{
	sbc->authguard = mem_deref(sbc->authguard);
}

/* A REGISTER from the access side for a locked user: dropped. */
bool authguard_screen(struct req_ctx *ctx)
{
	const struct sip_msg *msg = ctx->msg;

	if (ctx->in->id != SIDE_ACCESS || pl_strcmp(&msg->met, "REGISTER")
	    || !authguard_locked(ctx->sbc->authguard, &msg->to.uri.user,
				 tmr_jiffies()))
		return false;
	LOGD(ctx->sbc, "auth_guess: REGISTER for locked user %r from %J "
	     "dropped", &msg->to.uri.user, &msg->src);
	event_emit(ctx->sbc, ctx, "auth_guess", "drop");
	return true;
}

/* stale=true in a challenge: the nonce was old, the password not wrong */
static bool stale_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
		    void *arg)
{
	struct pl v = hdr->val;
	(void)msg;
	(void)arg;

	while (v.l >= 5) {
		const char *p = v.p;
		size_t l = v.l;

		if (!strncasecmp(p, "stale", 5)) {
			p += 5;
			l -= 5;
			while (l && (*p == ' ' || *p == '\t' || *p == '='
				     || *p == '"')) {
				++p;
				--l;
			}
			if (l >= 4 && !strncasecmp(p, "true", 4))
				return true;
		}
		pl_advance(&v, 1);
	}
	return false;
}

static bool failed(const struct sip_msg *req, const struct sip_msg *rsp)
{
	if (rsp->scode != 401 && rsp->scode != 407 && rsp->scode != 403)
		return false;
	if (!sip_msg_hdr(req, SIP_HDR_AUTHORIZATION)
	    && !sip_msg_hdr(req, SIP_HDR_PROXY_AUTHORIZATION))
		return false;   /* the first challenge */
	return !sip_msg_hdr_apply(rsp, true, SIP_HDR_WWW_AUTHENTICATE,
				  stale_h, NULL)
		&& !sip_msg_hdr_apply(rsp, true, SIP_HDR_PROXY_AUTHENTICATE,
				      stale_h, NULL);
}

static int lock_encode_h(struct mbuf *mb, const void *rec)
{
	return authguard_lock_encode(mb, rec);
}

/* A lock made here, for a window: applied, then published for the other
 * nodes. */
static int lock_user(struct sbc *sbc, const struct pl *user)
{
	struct authguard *ag = sbc->authguard;
	const uint64_t wall = (uint64_t)time(NULL);
	struct ag_lock_rec r = {.until = wall + ag->window_ms / 1000};
	const struct pl k = user_key(user);
	int err;

	err = pl_strcpy(&k, r.user, sizeof(r.user));
	err = err ? err : authguard_lock_apply(ag, &r, tmr_jiffies(), wall);
	if (!err)
		store_publish(&sbc->store, lock_encode_h, &r);
	return err;
}

static void verdict(struct sbc *sbc, const struct sip_msg *req, unsigned v)
{
	const struct sbc_conf *conf = sbc->conf;
	struct authguard *ag = sbc->authguard;
	struct req_ctx ctx = {
		.sbc = sbc,
		.in = &sbc->side[SIDE_ACCESS],
		.msg = req,
		.peer = conf_peer_find(conf, &req->src),
	};

	if (v & AG_FULL) {
		if (!ag->full_warned)
			LOGW(sbc, "auth_guess: %u users or sources tracked "
			     "(auth_fail_tracked): new ones are not counted",
			     ag->max);
		ag->full_warned = true;
		event_emit(sbc, &ctx, "auth_guess", "table_full");
	}
	if (v & AG_USER_LIMIT) {
		int err = lock_user(sbc, &req->to.uri.user);

		if (err) {
			LOGW(sbc, "auth_guess: user %r: cannot lock: %m",
			     &req->to.uri.user, err);
		}
		else {
			LOGW(sbc, "auth_guess: user %r failed %u REGISTERs "
			     "in %u s (last from %j): locked for %u s",
			     &req->to.uri.user, conf->auth_fail_limit,
			     conf->auth_fail_window, &req->src,
			     conf->auth_fail_window);
			event_emit(sbc, &ctx, "auth_guess", "lock");
		}
	}
	if ((v & AG_SRC_LIMIT) && !flood_banned(sbc, &req->src)) {
		if (flood_ban(sbc, &req->src, conf->auth_fail_ban,
			      "auth_guess")) {
			LOGW(sbc, "auth_guess: %j: cannot ban (flood_sources "
			     "full)", &req->src);
			return;
		}
		LOGW(sbc, "auth_guess: %j failed %u REGISTERs in %u s: "
		     "banned for %u s", &req->src, conf->auth_fail_limit,
		     conf->auth_fail_window, conf->auth_fail_ban);
		event_emit(sbc, &ctx, "auth_guess", "ban");
	}
}

/* The final answer to a REGISTER relayed to the registrar. */
void authguard_result(struct sbc *sbc, const struct sip_msg *req,
		      const struct sip_msg *rsp)
{
	struct authguard *ag = sbc->authguard;
	unsigned v;

	if (!ag || !ag->limit || pl_strcmp(&req->met, "REGISTER"))
		return;
	if (rsp->scode >= 200 && rsp->scode < 300) {
		authguard_success(ag, &req->to.uri.user);
		return;
	}
	if (!failed(req, rsp))
		return;
	v = authguard_fail(ag, &req->to.uri.user, &req->src, tmr_jiffies());
	if (v)
		verdict(sbc, req, v);
}
