/*
 * redis.c: what every pair shares through Redis: bans, run-time blacklist
 * rules and the counters of quotas, so that a PBX banned on one pair is
 * banned on all and a customer's daily quota is one quota whichever pair
 * its calls cross.  Corosync shares a pair's state inside the pair
 * (cluster.c); this shares the part that matters across pairs, and keeps
 * it across a restart of a whole pair.
 *
 * Redis holds, under redis_prefix (PREFIX):
 *   PREFIX:ban  hash  ADDR -> "V ban UNTIL ADDR REASON"  (UNTIL 0: lifted)
 *   PREFIX:bl   hash  NAME -> "V bl add ..." | "V bl del NAME"
 *   PREFIX:ctr  hash  KEY  -> the total of every pair (HINCRBY)
 *   PREFIX:exp  zset  "KIND FIELD" -> when the entry is forgotten
 *   PREFIX:rec  channel: each change, "V ORIGIN RECORD"
 * V is the store's record version, ORIGIN the writing node's random id;
 * RECORD is the store's own record (one encoder, one decoder and one
 * apply function per kind, as for state_file and the pair), a counter's
 * with the total in place of the delta.  A lift or a removed rule stays
 * a day as a tombstone, so that a pair that comes back with the old
 * entry does not bring it back.  One Lua script does every write (so a
 * change and its message are one step) and the load.
 *
 * Decisions never wait for Redis: a change is applied at once, then
 * written.  Redis down or slow (no answer in redis_timeout), the changes
 * wait in a bounded queue (a counter's increments and an entry's latest
 * value folded into one), and when it is back the node writes them,
 * merges its whole shared state into Redis (counters by their maximum,
 * entries where Redis has none: a Redis that restarted empty is filled
 * again), and reloads Redis' (counters by their maximum).  Counters
 * converge on the sum of every pair's calls.
 *
 * In a pair only the active writes (store_share() is silent on a
 * standby) and applies what the other pairs publish, forwarding it to its
 * standby over the pair's channel in the pair's order; a standby applies
 * nothing from Redis and reloads when promoted.
 *
 * The connection itself (hiredis on libre's loop, the sentinels, the
 * link's failure and retries, the synchronous API of the start and of
 * `sbcd -t`) is redis_link.c's; this file holds what goes over it.
 * Only the load at start (before sbcd listens, bounded by
 * redis_start_wait) uses the synchronous API here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <hiredis/sds.h>
#include "sbc.h"
#include "blacklist.h"
#include "redis.h"
#include "redis_int.h"

static const char *kindv[] = {"ban", "bl", "ctr"};
static const char *opv[] = {"put", "putnx", "incr", "max"};
static const char *statev[] = {"connecting", "up", "down"};

/* ARGV: op field value exp origin now channel kind prefix version seq.
 * An increment carries its writer's sequence number: one sent again on a
 * new connection after its first one was cut (or Redis hung with it in
 * its buffer) is applied once. */
const char redis_script[] =
"local op, f, v, e = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])\n"
"local origin, now, ch = ARGV[5], tonumber(ARGV[6]), ARGV[7]\n"
"local kind, pfx, ver = ARGV[8], ARGV[9], ARGV[10]\n"
"local exp = KEYS[2]\n"
"-- a PREFIX:exp of another type costs the expiries, not the writes\n"
"local function score(m)\n"
"  local z = redis.pcall('ZSCORE', exp, m)\n"
"  if type(z) ~= 'string' then return 0 end\n"
"  return tonumber(z) or 0\n"
"end\n"
"local old = redis.pcall('ZRANGEBYSCORE', exp, '-inf', now,\n"
"                       'LIMIT', 0, 32)\n"
"if old.err then old = {} end\n"
"for _, m in ipairs(old) do\n"
"  local k, fld = string.match(m, '^(%a+) (.+)$')\n"
"  if k then redis.pcall('HDEL', pfx .. ':' .. k, fld) end\n"
"  redis.pcall('ZREM', exp, m)\n"
"end\n"
"if op == 'sweep' then return 0 end\n"
"if op == 'load' then\n"
"  local out = {}\n"
"  local xt = redis.call('TYPE', exp).ok\n"
"  if xt ~= 'zset' and xt ~= 'none' then\n"
"    out[1] = 'ERR ' .. exp .. ': WRONGTYPE a ' .. xt .. ', not a zset'\n"
"  end\n"
"  for _, k in ipairs({'ban', 'bl', 'ctr'}) do\n"
"    local h = redis.pcall('HGETALL', pfx .. ':' .. k)\n"
"    if h.err then\n"
"      out[#out + 1] = 'ERR ' .. pfx .. ':' .. k .. ': ' .. h.err\n"
"    else\n"
"      for i = 1, #h, 2 do\n"
"        local s = score(k .. ' ' .. h[i])\n"
"        if s == 0 or s > now then\n"
"          if k == 'ctr' then\n"
"            out[#out + 1] = 'ctr ' .. ver .. ' ctr ' ..\n"
"              string.format('%d', s) .. ' ' .. h[i + 1] .. ' ' .. h[i]\n"
"          else\n"
"            out[#out + 1] = k .. ' ' .. h[i + 1]\n"
"          end\n"
"        end\n"
"      end\n"
"    end\n"
"  end\n"
"  return out\n"
"end\n"
"local m = kind .. ' ' .. f\n"
"if op == 'put' or op == 'putnx' then\n"
"  local val = ver .. ' ' .. v\n"
"  if op == 'putnx' then\n"
"    if redis.call('HSETNX', KEYS[1], f, val) == 0 then return 0 end\n"
"  else\n"
"    redis.call('HSET', KEYS[1], f, val)\n"
"  end\n"
"  if e > 0 then redis.pcall('ZADD', exp, e, m)\n"
"  else redis.pcall('ZREM', exp, m) end\n"
"  redis.call('PUBLISH', ch, ver .. ' ' .. origin .. ' ' .. v)\n"
"  return 1\n"
"end\n"
"local t\n"
"if op == 'incr' then\n"
"  local sk, seq = pfx .. ':seq:' .. origin, tonumber(ARGV[11])\n"
"  if seq <= tonumber(redis.call('GET', sk) or '0') then\n"
"    return tonumber(redis.call('HGET', KEYS[1], f) or '0') or 0\n"
"  end\n"
"  redis.call('SET', sk, ARGV[11], 'EX', 86400)\n"
"  t = redis.call('HINCRBY', KEYS[1], f, v)\n"
"  local s = score(m)\n"
"  if e > s then redis.pcall('ZADD', exp, e, m) end\n"
"  return t\n"
"else\n"
"  local cur = tonumber(redis.call('HGET', KEYS[1], f) or '0')\n"
"  if not cur then\n"
"    return redis.error_reply('counter ' .. f .. ' is not a number')\n"
"  end\n"
"  t = tonumber(v)\n"
"  if cur >= t then return cur end\n"
"  redis.call('HSET', KEYS[1], f, string.format('%d', t))\n"
"end\n"
"local s = score(m)\n"
"if e > s then redis.pcall('ZADD', exp, e, m); s = e end\n"
"redis.call('PUBLISH', ch, ver .. ' ' .. origin .. ' ctr ' ..\n"
"           string.format('%d %d', s, t) .. ' ' .. f)\n"
"return t\n";

/* ---- applying what Redis holds and publishes ---- */

static bool is_type(const struct pl *rec, const char *type)
{
	const size_t n = strlen(type);

	return rec->l > n && !memcmp(rec->p, type, n) && rec->p[n] == ' ';
}

/* A record applied here goes on to the standby, in the pair's order. */
static void forward(struct redis *r, const struct pl *rec)
{
	struct store *st = &r->sbc->store;
	struct mbuf *mb;

	if (!st->publishh || st->role != STORE_ACTIVE)
		return;
	mb = mbuf_alloc(rec->l + 1);
	if (mb && !mbuf_printf(mb, "%r\n", rec))
		st->publishh(mb, st->arg);
	mem_deref(mb);
}

static int ctr_encode_h(struct mbuf *mb, const void *rec)
{
	return store_ctr_encode(mb, rec);
}

/* Redis' total of a counter: the local value rises to it, never falls
 * (the local one may hold increments Redis has not seen yet). */
static int apply_total(struct redis *r, const struct pl *rec, bool fwd)
{
	struct store *st = &r->sbc->store;
	struct store_ctr_rec c;
	struct mbuf *mb;
	char key[256];
	int64_t cur;
	int err;

	err = store_ctr_decode(&c, rec);
	if (err || c.delta < 0)
		return EBADMSG;
	if (pl_strcpy(&c.key, key, sizeof(key)))
		return EBADMSG;
	cur = store_ctr_get(st, key);
	c.delta = c.delta > cur ? c.delta - cur : 0;
	err = store_ctr_apply(st, &c, NULL);
	if (err || !c.delta || !fwd || !st->publishh
	    || st->role != STORE_ACTIVE)
		return err;
	mb = mbuf_alloc(128);
	if (mb && !ctr_encode_h(mb, &c))
		st->publishh(mb, st->arg);
	mem_deref(mb);
	return 0;
}

static void refused(struct redis *r, const struct pl *line, const char *why)
{
	const uint64_t now = tmr_jiffies();

	++r->st.refused;
	if (now - r->last_refused_log < LOG_EVERY_MS && r->last_refused_log)
		return;
	r->last_refused_log = now;
	LOGW(r->sbc, "redis: refused a value in %s (%s; %llu in all): "
	     "'%b'", r->addr, why, (unsigned long long)r->st.refused,
	     line->p, min(line->l, (size_t)80));
}

/* "V [ORIGIN ]RECORD": a ban, a rule or a counter total, of this
 * version, applied through the kind's one apply function; anything else
 * is refused (a channel anyone with Redis' password can publish on must
 * not carry calls or bindings). */
static void apply_line(struct redis *r, const struct pl *line, bool msg,
		       bool fwd, const char *kind, unsigned *countv)
{
	struct pl txt = *line, ver, origin, rec;
	int err;

	if (store_field(&txt, &ver) || !store_digits(&ver, 9)) {
		refused(r, line, "not a record");
		return;
	}
	if (pl_u32(&ver) != STORE_VERSION) {
		refused(r, line, "another record version");
		return;
	}
	if (msg) {
		if (store_field(&txt, &origin)) {
			refused(r, line, "no origin");
			return;
		}
		if (!pl_strcmp(&origin, r->origin))
			return;
	}
	while (txt.l && txt.p[0] == ' ')
		pl_advance(&txt, 1);
	rec = txt;
	if (kind && !is_type(&rec, kind)) {
		refused(r, line, "a record of another kind");
		return;
	}
	if (is_type(&rec, "ctr")) {
		err = apply_total(r, &rec, fwd);
		if (!err && countv)
			++countv[K_CTR];
	}
	else if (is_type(&rec, "ban") || is_type(&rec, "bl")) {
		err = state_apply(r->sbc, &rec);
		/* a rule this node has, or a ban or rule gone already */
		if (err == ENOENT || (is_type(&rec, "bl") && err == EEXIST))
			err = 0;
		else if (!err && msg)
			LOGI(r->sbc, "redis: from another pair: %r", &rec);
		if (!err && fwd)
			forward(r, &rec);
		if (!err && countv)
			++countv[is_type(&rec, "ban") ? K_BAN : K_BL];
	}
	else {
		refused(r, line, "not a ban, rule or counter");
		return;
	}
	if (err) {
		refused(r, line, "damaged record");
		return;
	}
	++r->st.applied;
}

static void apply_load(struct redis *r, const redisReply *rp, bool fwd,
		       bool start)
{
	unsigned countv[3] = {0, 0, 0};

	if (rp->type != REDIS_REPLY_ARRAY) {
		LOGW(r->sbc, "redis: load from %s: %s", r->addr,
		     rp->type == REDIS_REPLY_ERROR ? rp->str
		     : "not an array");
		++r->st.errors;
		return;
	}
	for (size_t i = 0; i < rp->elements; i++) {
		const redisReply *e = rp->element[i];
		struct pl line, kind;
		char k[8];

		if (e->type != REDIS_REPLY_STRING)
			continue;
		line.p = e->str;
		line.l = e->len;
		if (!strncmp(e->str, "ERR ", 4)) {
			refused(r, &line, "a key of another type");
			continue;
		}
		/* "KIND VALUE": the hash it came from */
		if (store_field(&line, &kind) || pl_strcpy(&kind, k, sizeof(k))) {
			refused(r, &line, "not a record");
			continue;
		}
		apply_line(r, &line, false, fwd, k, countv);
	}
	LOGI(r->sbc, "redis: loaded %u bans, %u rules, %u counters from "
	     "%s%s", countv[K_BAN], countv[K_BL], countv[K_CTR], r->addr,
	     start ? " before listening" : "");
}

/* ---- writing ---- */

static bool fatal_error(const char *s)
{
	static const char *v[] = {"NOSCRIPT", "READONLY", "LOADING",
				  "MASTERDOWN", "NOAUTH", "WRONGPASS",
				  "NOPERM"};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		if (!strncmp(s, v[i], strlen(v[i])))
			return true;
	return false;
}

static void error_log(struct redis *r, const char *what, const char *s)
{
	const uint64_t now = tmr_jiffies();

	++r->st.errors;
	if (now - r->last_error_log < LOG_EVERY_MS && r->last_error_log)
		return;
	r->last_error_log = now;
	LOGW(r->sbc, "redis: %s refused by %s: %s (%llu errors in all)",
	     what, r->addr, s, (unsigned long long)r->st.errors);
}


static void write_destructor(void *arg)
{
	struct rwrite *w = arg;

	list_unlink(&w->le);
	hash_unlink(&w->he);
	mem_deref(w->field);
	mem_deref(w->value);
}

static void ack_h(redisAsyncContext *ac, void *reply, void *arg);

static void total_destructor(void *arg)
{
	struct rtotal *t = arg;

	hash_unlink(&t->he);
	mem_deref(t->key);
}

static bool total_cmp(struct le *le, void *arg)
{
	const struct rtotal *t = le->data;

	return !strcmp(t->key, arg);
}

static bool publish_one(struct le *le, void *arg)
{
	struct redis *r = arg;
	struct rtotal *t = le->data;
	char msg[400];

	/* one argument: hiredis splits a format on its blanks */
	if (r->state == R_UP
	    && re_snprintf(msg, sizeof(msg), "%u %s ctr %llu %lld %s",
			   STORE_VERSION, r->origin, t->exp, t->total,
			   t->key) > 0
	    && redisAsyncCommand(r->cmd.ac, ack_h, NULL, "PUBLISH %s %s",
				 r->chan, msg) == REDIS_OK)
		redis_sent(r);
	mem_deref(t);
	return false;
}

/* Counters' new totals reach the other pairs at most every PUBLISH_MS,
 * each its latest: a message per call would cost every pair a wake-up
 * per call (the writer's own included: pub/sub has no "not to me"). */
static void publish_h(void *arg)
{
	struct redis *r = arg;

	(void)hash_apply(r->totals, publish_one, r);
}

static void total_note(struct redis *r, const char *key, int64_t total,
		       uint64_t exp)
{
	struct rtotal *t = list_ledata(hash_lookup(r->totals,
						   hash_joaat_str(key),
						   total_cmp, (void *)key));

	if (!t) {
		t = mem_zalloc(sizeof(*t), total_destructor);
		if (!t || str_dup(&t->key, key)) {
			mem_deref(t);
			return;
		}
		hash_append(r->totals, hash_joaat_str(key), &t->he, t);
	}
	if (total > t->total)
		t->total = total;
	if (exp > t->exp)
		t->exp = exp;
	if (!tmr_isrunning(&r->tmr_pub))
		tmr_start(&r->tmr_pub, PUBLISH_MS, publish_h, r);
}

static void write_reply_h(redisAsyncContext *ac, void *reply, void *arg)
{
	struct rconn *rc = ac->data;
	struct redis *r = rc->r;
	const redisReply *rp = reply;
	struct rwrite *w = arg;

	if (!rp)
		return;     /* the link failed: w went back to the queue */
	redis_answered(r);
	if (rp->type == REDIS_REPLY_ERROR && fatal_error(rp->str)) {
		redis_link_fail(r, rp->str);
		return;
	}
	if (rp->type == REDIS_REPLY_ERROR)
		error_log(r, kindv[w->kind], rp->str);
	else if (w->kind == K_CTR && rp->type == REDIS_REPLY_INTEGER) {
		char line[320];
		struct pl pl;

		/* the total of every pair, in the answer */
		if (re_snprintf(line, sizeof(line), "ctr %llu %lld %s",
				w->exp, rp->integer, w->field) > 0) {
			pl_set_str(&pl, line);
			(void)apply_total(r, &pl, true);
		}
		if (w->op == OP_INCR)
			total_note(r, w->field, rp->integer, w->exp);
	}
	--r->n;
	mem_deref(w);
}

static int write_send(struct redis *r, struct rwrite *w)
{
	char exp[24], now[24], ver[8];
	char seq[24], delta[24];
	const char *argv[16];
	size_t lenv[16];

	(void)re_snprintf(exp, sizeof(exp), "%llu", w->exp);
	(void)re_snprintf(now, sizeof(now), "%llu",
			  (unsigned long long)time(NULL));
	(void)re_snprintf(ver, sizeof(ver), "%u", STORE_VERSION);
	argv[0] = "EVALSHA";
	argv[1] = r->sha;
	argv[2] = "2";
	argv[3] = r->key[w->kind];
	argv[4] = r->key_exp;
	argv[5] = opv[w->op];
	argv[6] = w->field;
	if (w->op == OP_INCR) {
		(void)re_snprintf(delta, sizeof(delta), "%lld",
				  (long long)w->delta);
		argv[7] = delta;
	}
	else {
		argv[7] = w->value;
	}
	argv[8] = exp;
	argv[9] = r->origin;
	argv[10] = now;
	argv[11] = r->chan;
	argv[12] = kindv[w->kind];
	argv[13] = r->conf->redis_prefix;
	argv[14] = ver;
	if (w->op == OP_INCR && !w->seq)
		w->seq = ++r->seq;
	(void)re_snprintf(seq, sizeof(seq), "%llu", w->seq);
	argv[15] = seq;
	for (size_t i = 0; i < ARRAY_SIZE(argv); i++)
		lenv[i] = strlen(argv[i]);
	if (redisAsyncCommandArgv(r->cmd.ac, write_reply_h, w,
				  ARRAY_SIZE(argv), argv, lenv) != REDIS_OK)
		return EIO;
	redis_sent(r);
	++r->st.writes;
	return 0;
}

static void send_one(struct redis *r, struct rwrite *w)
{
	hash_unlink(&w->he);
	w->queued = false;
	list_unlink(&w->le);
	list_append(&r->inflight, &w->le, w);
	if (write_send(r, w))
		redis_link_fail(r, "cannot send");
}

static bool queued_cmp(struct le *le, void *arg)
{
	const struct rwrite *w = le->data, *k = arg;

	return w->kind == k->kind && !strcmp(w->field, k->field);
}

static uint32_t queued_hash(enum kind kind, const char *field)
{
	return hash_joaat_str(field) ^ (uint32_t)kind;
}

static void script_send(struct redis *r, const char *op,
			redisCallbackFn *fn);
static void load_reply_h(redisAsyncContext *ac, void *reply, void *arg);

/* The changes of one turn of the loop, then a load if one is due, in one
 * write: the load after them, so that it does not bring back here what
 * a queued change (a lift, a removed rule) undoes. */
static void flush_h(void *arg)
{
	struct redis *r = arg;
	struct rev *ev;

	if (r->state != R_UP || !r->cmd.ac)
		return;
	ev = mem_ref(r->cmd.ac->ev.data);
	ev->hold = true;
	while (r->queue.head && r->state == R_UP)
		send_one(r, r->queue.head->data);
	if (r->state == R_UP && r->load_due) {
		r->load_due = false;
		script_send(r, "load", load_reply_h);
	}
	ev->hold = false;
	if (ev->ac)
		redisAsyncHandleWrite(ev->ac);
	mem_deref(ev);
}

/* FLUSH_MS after the first change: a counter's increments of the calls
 * meanwhile fold into one command (at 3000 calls/s some 15 calls, 30
 * increments of two counters, leave as two commands). */
static void flush_soon(struct redis *r)
{
	if (r->state == R_UP && !tmr_isrunning(&r->tmr_flush))
		tmr_start(&r->tmr_flush, FLUSH_MS, flush_h, r);
}

/* A counter's delta: the record's decimal, with a sign. */
static int64_t delta_of(const struct pl *v)
{
	struct pl t = *v;

	if (t.l && t.p[0] == '-') {
		pl_advance(&t, 1);
		return -(int64_t)pl_u64(&t);
	}
	return (int64_t)pl_u64(&t);
}

/* A change while Redis is away joins the queue, folded into the change
 * of the same entry already there: increments add up, an entry's
 * latest value wins. */
static int enqueue(struct redis *r, enum kind kind, enum op op,
		   const struct pl *field, const struct pl *value,
		   uint64_t exp)
{
	struct rwrite k = {.kind = kind}, *w;
	char fbuf[256];
	int err;

	if (pl_strcpy(field, fbuf, sizeof(fbuf)))
		return EINVAL;
	k.field = fbuf;
	w = list_ledata(hash_lookup(r->queued, queued_hash(kind, fbuf),
				    queued_cmp, &k));
	/* the increments of the calls meanwhile: an addition each */
	if (w && w->op == op && op == OP_INCR && !w->seq) {
		w->delta += delta_of(value);
		if (w->exp < exp)
			w->exp = exp;
		return 0;
	}
	if (w && w->op == op && op != OP_INCR) {
		w->value = mem_deref(w->value);
		w->exp = exp;
		return pl_strdup(&w->value, value);
	}
	/* a merge is written at once (Redis is up), whatever waits */
	if (r->n >= r->conf->redis_queue_max && op != OP_PUTNX
	    && op != OP_MAX) {
		++r->st.dropped;
		if (!r->drop_logged)
			LOGW(r->sbc, "redis: %u changes wait for %s: dropping "
			     "new ones (redis_queue_max)", r->n, r->addr);
		r->drop_logged = true;
		return ENOSPC;
	}
	w = mem_zalloc(sizeof(*w), write_destructor);
	if (!w)
		return ENOMEM;
	w->kind = kind;
	w->op = op;
	w->exp = exp;
	err = str_dup(&w->field, fbuf);
	if (op == OP_INCR)
		w->delta = delta_of(value);
	else
		err = err ? err : pl_strdup(&w->value, value);
	if (err) {
		mem_deref(w);
		return err;
	}
	++r->n;
	w->queued = true;
	list_append(&r->queue, &w->le, w);
	hash_append(r->queued, queued_hash(kind, fbuf), &w->he, w);
	flush_soon(r);
	return 0;
}

/* One change of shared state, as the store encoded it: what the record
 * is decides the entry; the record itself is the value. */
static int change(struct redis *r, const struct pl *rec, bool merge)
{
	const uint64_t now = (uint64_t)time(NULL);
	struct pl txt = *rec, tag, f1, f2, f3;

	if (store_field(&txt, &tag) || store_field(&txt, &f1)
	    || store_field(&txt, &f2))
		return EBADMSG;
	if (!pl_strcmp(&tag, "ctr")) {
		/* ctr EXPIRES DELTA KEY; merged: DELTA is the value */
		if (store_field(&txt, &f3))
			return EBADMSG;
		return enqueue(r, K_CTR, merge ? OP_MAX : OP_INCR, &f3, &f2,
			       pl_u64(&f1));
	}
	if (!pl_strcmp(&tag, "ban")) {
		/* ban UNTIL ADDR REASON */
		const uint64_t until = pl_u64(&f1);

		if (merge && until <= now)
			return 0;
		return enqueue(r, K_BAN, merge ? OP_PUTNX : OP_PUT, &f2, rec,
			       until ? until : now + TOMBSTONE_S);
	}
	if (!pl_strcmp(&tag, "bl")) {
		/* bl add NAME FIELD MATCH ACTION EXPIRES VALUE | bl del NAME */
		struct bl_rec b;

		if (bl_rec_decode(&b, rec))
			return EBADMSG;
		if (merge && b.expires && b.expires <= now)
			return 0;
		return enqueue(r, K_BL, merge ? OP_PUTNX : OP_PUT, &b.name,
			       rec, b.add ? b.expires : now + TOMBSTONE_S);
	}
	return 0;           /* not shared across pairs */
}

static void line_trim(struct pl *line)
{
	while (line->l && (line->p[line->l - 1] == '\n'
			   || line->p[line->l - 1] == '\r'))
		--line->l;
}

/* Each line of a buffer of records, as a change (or a merge). */
static void changes(struct redis *r, const struct mbuf *mb, bool merge)
{
	struct pl txt, line;

	txt.p = (const char *)mb->buf;
	txt.l = mb->end;
	while (txt.l) {
		const char *nl = pl_strchr(&txt, '\n');

		line.p = txt.p;
		line.l = nl ? (size_t)(nl - txt.p) + 1 : txt.l;
		pl_advance(&txt, line.l);
		line_trim(&line);
		if (line.l && change(r, &line, merge) == EBADMSG && !merge)
			LOGW(r->sbc, "redis: cannot share '%r'", &line);
	}
}

/* store_share()'s hook: bans, rules and counters, each line a record. */
static void share_h(const struct mbuf *mb, void *arg)
{
	changes(arg, mb, false);
}

/* Everything this node holds goes into Redis where Redis has less: a
 * Redis that restarted empty is whole again, and a counter that grew
 * here meanwhile is not lost. */
static void merge_push(struct redis *r)
{
	struct mbuf *mb = mbuf_alloc(8192);
	int err;

	if (!mb)
		return;
	err = flood_save(mb, r->sbc);
	err = err ? err : bl_save(mb, &r->sbc->blacklist);
	err = err ? err : store_save(mb, &r->sbc->store);
	if (err)
		LOGW(r->sbc, "redis: cannot merge into %s: %m", r->addr, err);
	else
		changes(r, mb, true);
	mem_deref(mb);
}

/* PING and sweep: an answer is all they are for. */
static void ack_h(redisAsyncContext *ac, void *reply, void *arg)
{
	struct rconn *rc = ac->data;
	const redisReply *rp = reply;
	(void)arg;

	if (!rp)
		return;
	redis_answered(rc->r);
	if (rp->type == REDIS_REPLY_ERROR && fatal_error(rp->str))
		redis_link_fail(rc->r, rp->str);
	else if (rp->type == REDIS_REPLY_ERROR)
		error_log(rc->r, "a command", rp->str);
}

static void load_reply_h(redisAsyncContext *ac, void *reply, void *arg)
{
	struct rconn *rc = ac->data;
	struct redis *r = rc->r;
	(void)arg;

	if (!reply)
		return;
	redis_answered(r);
	/* a standby ignores: its active sends it the same */
	if (r->sbc->store.role != STORE_STANDBY)
		apply_load(r, reply, true, false);
}

static void script_send(struct redis *r, const char *op,
			redisCallbackFn *fn)
{
	char now[24], ver[8];

	(void)re_snprintf(now, sizeof(now), "%llu",
			  (unsigned long long)time(NULL));
	(void)re_snprintf(ver, sizeof(ver), "%u", STORE_VERSION);
	if (redisAsyncCommand(r->cmd.ac, fn, NULL, "EVALSHA %s 2 %s %s %s "
			      "- - 0 %s %s %s - %s %s 0", r->sha, r->key[0],
			      r->key_exp, op, r->origin, now, r->chan,
			      r->conf->redis_prefix, ver) == REDIS_OK)
		redis_sent(r);
}

/* Redis' state and this node's, brought together: after a (re)connect,
 * and when a standby becomes the active. */
static void resync(struct redis *r)
{
	if (r->state != R_UP || r->sbc->store.role == STORE_STANDBY)
		return;
	merge_push(r);
	r->load_due = true;
	flush_soon(r);
}

/* The link is up: the queue first (flush_h), then the merge and the
 * load. */
void redis_up_h(struct redis *r)
{
	flush_soon(r);
	resync(r);
}

/* A change another pair published. */
void redis_message(struct redis *r, const struct pl *line)
{
	apply_line(r, line, true, true, NULL, NULL);
}

/* The link failed: the writes without an answer wait again, first. */
void redis_requeue(struct redis *r)
{
	struct le *le;

	while ((le = list_tail(&r->inflight))) {
		struct rwrite *w = le->data;

		list_unlink(le);
		list_prepend(&r->queue, le, w);
		w->queued = true;
		hash_append(r->queued, queued_hash(w->kind, w->field),
			    &w->he, w);
	}
}

/* The module's clock: the link's checks, then, with the link idle, a
 * PING; every SWEEP_MS the expired entries go (the active only). */
static void watch_h(void *arg)
{
	struct redis *r = arg;
	const uint64_t now = tmr_jiffies();

	tmr_start(&r->tmr_watch, WATCH_MS, watch_h, r);
	if (redis_link_watch(r, now))
		return;
	if (!r->pending && now - r->progress > PING_MS) {
		if (redisAsyncCommand(r->cmd.ac, ack_h, NULL, "PING")
		    == REDIS_OK)
			redis_sent(r);
	}
	if (now - r->last_sweep > SWEEP_MS
	    && r->sbc->store.role != STORE_STANDBY) {
		r->last_sweep = now;
		script_send(r, "sweep", ack_h);
	}
}


static int load_at_start(struct redis *r)
{
	const uint64_t deadline = tmr_jiffies() + r->conf->redis_start_wait;
	redisContext *c;
	redisReply *rp;
	char why[256] = "", now[24], ver[8];
	int err;

	if (!r->conf->redis_start_wait)
		return 0;
	if (r->nsent && redis_sync_master(r, deadline)) {
		LOGW(r->sbc, "redis: no sentinel knows master '%s': starting "
		     "on local state", r->conf->redis_master_name);
		return 0;
	}
	c = redis_sync_connect(&r->target, redis_ms_left(deadline));
	if (!c || c->err) {
		LOGW(r->sbc, "redis: %s not reachable (%s): starting on local "
		     "state (bans, rules and counters come when it answers)",
		     r->addr, c ? c->errstr : "no memory");
		r->logged_unreachable = true;
		redisFree(c);
		return 0;
	}
	err = redis_sync_setup(c, r->conf, why, sizeof(why));
	if (err == EACCES) {
		LOGE(r->sbc, "redis: %s refused %s", r->addr, why);
		redisFree(c);
		return err;
	}
	(void)re_snprintf(now, sizeof(now), "%llu",
			  (unsigned long long)time(NULL));
	(void)re_snprintf(ver, sizeof(ver), "%u", STORE_VERSION);
	rp = err ? NULL : redisCommand(c, "EVAL %s 2 %s %s load - - 0 %s %s "
				       "%s - %s %s 0", redis_script, r->key[0],
				       r->key_exp, r->origin, now, r->chan,
				       r->conf->redis_prefix, ver);
	if (rp)
		apply_load(r, rp, false, true);
	else
		LOGW(r->sbc, "redis: no load from %s in redis_start_wait "
		     "(%s): starting on local state", r->addr,
		     why[0] ? why : c->errstr);
	freeReplyObject(rp);
	redisFree(c);
	return 0;
}

/* `sbcd -t`: a configuration Redis refuses is not valid; one that cannot
 * be reached now may be right. */

/* ---- sbcctl ---- */

static int print_h(struct re_printf *pf, bool stats, void *arg)
{
	const struct redis *r = arg;

	if (!stats) {
		int err = re_hprintf(pf, "redis %s %s\n", statev[r->state],
				     r->addr[0] ? r->addr : "-");

		if (!err && r->nsent)
			err = re_hprintf(pf, "redis_master %s\n",
					 r->target_ok ? r->addr : "-");
		return err;
	}
	return re_hprintf(pf,
		"redis_state %s\n"
		"redis_writes %llu\n"
		"redis_queued %u\n"
		"redis_dropped %llu\n"
		"redis_applied %llu\n"
		"redis_refused %llu\n"
		"redis_errors %llu\n"
		"redis_outages %llu\n",
		statev[r->state],
		(unsigned long long)r->st.writes, r->n,
		(unsigned long long)r->st.dropped,
		(unsigned long long)r->st.applied,
		(unsigned long long)r->st.refused,
		(unsigned long long)r->st.errors,
		(unsigned long long)r->st.outages);
}

static void role_h(enum store_role role, void *arg)
{
	struct redis *r = arg;

	if (role == STORE_ACTIVE)
		resync(r);
}

/* ---- life ---- */

static void redis_destructor(void *arg)
{
	struct redis *r = arg;

	redis_link_close(r);
	tmr_cancel(&r->tmr_watch);
	tmr_cancel(&r->tmr_flush);
	tmr_cancel(&r->tmr_pub);
	hash_flush(r->totals);
	mem_deref(r->totals);
	list_flush(&r->inflight);
	list_flush(&r->queue);
	mem_deref(r->queued);
	mem_deref((void *)r->conf);
}

static int names(struct redis *r)
{
	const char *p = r->conf->redis_prefix;

	for (size_t i = 0; i < ARRAY_SIZE(kindv); i++)
		if (re_snprintf(r->key[i], sizeof(r->key[i]), "%s:%s", p,
				kindv[i]) < 0)
			return ENAMETOOLONG;
	if (re_snprintf(r->key_exp, sizeof(r->key_exp), "%s:exp", p) < 0
	    || re_snprintf(r->chan, sizeof(r->chan), "%s:rec", p) < 0)
		return ENAMETOOLONG;
	return re_snprintf(r->origin, sizeof(r->origin), "%016llx",
			   (unsigned long long)rand_u64()) < 0 ? EINVAL : 0;
}

int redis_init(struct sbc *sbc)
{
	const struct sbc_conf *conf = sbc->conf;
	struct redis *r;
	int err;

	if (!str_isset(conf->redis) && !str_isset(conf->redis_sentinels))
		return 0;
	r = mem_zalloc(sizeof(*r), redis_destructor);
	if (!r)
		return ENOMEM;
	r->sbc = sbc;
	/* a reference: a reload replaces sbc->conf and drops the old one,
	 * and every redis_* option keeps its start-up value (CF_RESTART) */
	r->conf = mem_ref((void *)conf);
	r->state = R_CONNECTING;
	err = hash_alloc(&r->queued, 1024);
	err = err ? err : hash_alloc(&r->totals, 256);
	err = err ? err : names(r);
	err = err ? err : redis_link_init(r);
	err = err ? err : load_at_start(r);
	if (err) {
		mem_deref(r);
		return err;
	}
	sbc->store.share.h = share_h;
	sbc->store.share.roleh = role_h;
	sbc->store.share.printh = print_h;
	sbc->store.share.arg = r;
	redis_link_start(r);
	tmr_start(&r->tmr_watch, WATCH_MS, watch_h, r);
	return 0;
}

void redis_close(struct sbc *sbc)
{
	struct redis *r = sbc->store.share.arg;

	if (!r)
		return;
	flush_h(r);
	/* what is written is done by Redis even if we close at once */
	for (int i = 0; i < 10 && r->state == R_UP && r->cmd.ac
		     && sdslen(r->cmd.ac->c.obuf); i++)
		redisAsyncHandleWrite(r->cmd.ac);
	if (r->queue.head || (r->cmd.ac && sdslen(r->cmd.ac->c.obuf)))
		LOGW(sbc, "redis: changes not written to %s at exit (%u "
		     "waiting)", r->addr, list_count(&r->queue));
	memset(&sbc->store.share, 0, sizeof(sbc->store.share));
	mem_deref(r);
}
