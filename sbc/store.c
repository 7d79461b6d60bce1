/*
 * store.c: the in-memory shared-state store (see store.h): counters with
 * an expiry, changed only by store_ctr_apply().  Record format, one line:
 *   ctr EXPIRES DELTA KEY
 */
#include <string.h>
#include <time.h>
#include "store.h"

struct store_ctr {
	struct le he;
	struct store *st;
	char *key;
	int64_t val;
	uint64_t expires;
};

static void ctr_destructor(void *arg)
{
	struct store_ctr *c = arg;

	hash_unlink(&c->he);
	mem_deref(c->key);
	--c->st->nctrs;
}

static bool ctr_cmp(struct le *le, void *arg)
{
	const struct store_ctr *c = le->data;

	return !pl_strcmp(arg, c->key);
}

static struct store_ctr *ctr_find(const struct store *st, const struct pl *k)
{
	const uint32_t h = hash_joaat((const uint8_t *)k->p, k->l);

	return list_ledata(hash_lookup(st->ctrs, h, ctr_cmp, (void *)k));
}

static bool expire_one(struct le *le, void *arg)
{
	struct store_ctr *c = le->data;

	if (c->expires <= *(uint64_t *)arg)
		mem_deref(c);
	return false;
}

static void sweep(void *arg)
{
	struct store *st = arg;
	uint64_t now = (uint64_t)time(NULL);

	(void)hash_apply(st->ctrs, expire_one, &now);
	tmr_start(&st->tmr, 10000, sweep, st);
}

int store_init(struct store *st, uint32_t hash_size)
{
	int err = hash_alloc(&st->ctrs, hash_size);

	if (err)
		return err;
	tmr_start(&st->tmr, 10000, sweep, st);
	return 0;
}

void store_close(struct store *st)
{
	tmr_cancel(&st->tmr);
	hash_flush(st->ctrs);
	st->ctrs = mem_deref(st->ctrs);
}

/* Forgets every counter: a standby about to take a new snapshot. */
void store_reset(struct store *st)
{
	hash_flush(st->ctrs);
}

static void publish(struct store *st, int (*encode)(struct mbuf *mb,
						   const void *rec),
		    const void *rec, bool share)
{
	struct mbuf *mb;

	if (st->role == STORE_STANDBY)
		return;
	share = share && st->share.h;
	if (!st->publishh && !share)
		return;
	mb = mbuf_alloc(256);
	if (mb && !encode(mb, rec)) {
		if (st->publishh)
			st->publishh(mb, st->arg);
		if (share)
			st->share.h(mb, st->share.arg);
	}
	mem_deref(mb);
}

/* A change for the other node of the pair. */
void store_publish(struct store *st, int (*encode)(struct mbuf *mb,
						  const void *rec),
		   const void *rec)
{
	publish(st, encode, rec, false);
}

/* A change for the pair and for every other pair (bans, run-time rules,
 * quota counters), encoded once. */
void store_share(struct store *st, int (*encode)(struct mbuf *mb,
						const void *rec),
		 const void *rec)
{
	publish(st, encode, rec, true);
}

/* The node's role changes: what shares with the other pairs is told (a
 * new active reloads what it ignored as a standby). */
void store_set_role(struct store *st, enum store_role role)
{
	const bool changed = st->role != role;

	st->role = role;
	if (changed && st->share.roleh)
		st->share.roleh(role, st->share.arg);
}

int store_ctr_encode(struct mbuf *mb, const struct store_ctr_rec *r)
{
	return mbuf_printf(mb, "ctr %llu %lld %r\n", r->expires, r->delta,
			   &r->key);
}

int store_ctr_decode(struct store_ctr_rec *r, const struct pl *txt)
{
	struct pl exp, delta, key;
	bool neg;

	if (re_regex(txt->p, txt->l, "ctr [0-9]+ [^ ]+ [^ \r\n]+",
		     &exp, &delta, &key))
		return EBADMSG;
	neg = delta.p[0] == '-';
	if (neg) {
		++delta.p;
		--delta.l;
	}
	for (size_t i = 0; i < delta.l; i++)
		if (delta.p[i] < '0' || delta.p[i] > '9')
			return EBADMSG;
	if (!delta.l || delta.l > 18 || exp.l > 19)
		return EBADMSG;
	r->expires = pl_u64(&exp);
	r->delta = neg ? -(int64_t)pl_u64(&delta) : (int64_t)pl_u64(&delta);
	r->key = key;
	return 0;
}

int store_ctr_apply(struct store *st, const struct store_ctr_rec *r,
		    int64_t *val)
{
	struct store_ctr *c = ctr_find(st, &r->key);
	int err;

	if (!c) {
		c = mem_zalloc(sizeof(*c), ctr_destructor);
		if (!c)
			return ENOMEM;
		c->st = st;
		++st->nctrs;
		err = pl_strdup(&c->key, &r->key);
		if (err) {
			mem_deref(c);
			return err;
		}
		hash_append(st->ctrs, hash_joaat((const uint8_t *)r->key.p,
				       r->key.l),
			    &c->he, c);
	}
	c->val += r->delta;
	if (r->expires > c->expires)
		c->expires = r->expires;
	if (val)
		*val = c->val;
	return 0;
}

static int ctr_encode_h(struct mbuf *mb, const void *rec)
{
	return store_ctr_encode(mb, rec);
}

int store_ctr_add(struct store *st, const char *key, int64_t delta,
		  uint64_t expires, int64_t *val)
{
	struct store_ctr_rec r = {.delta = delta, .expires = expires};
	int err;

	pl_set_str(&r.key, key);
	err = store_ctr_apply(st, &r, val);
	if (!err)
		store_share(st, ctr_encode_h, &r);
	return err;
}

static bool ctr_save_h(struct le *le, void *arg)
{
	const struct store_ctr *c = le->data;
	struct store_ctr_rec r = {.delta = c->val, .expires = c->expires};

	pl_set_str(&r.key, c->key);
	return store_ctr_encode(arg, &r) != 0;
}

/* Every counter as a record that recreates it (state.c). */
int store_save(struct mbuf *mb, const struct store *st)
{
	return hash_apply(st->ctrs, ctr_save_h, mb) ? ENOMEM : 0;
}

int64_t store_ctr_get(const struct store *st, const char *key)
{
	struct pl k;
	const struct store_ctr *c;

	pl_set_str(&k, key);
	c = ctr_find(st, &k);
	return c ? c->val : 0;
}

static bool print_one(struct le *le, void *arg)
{
	const struct store_ctr *c = le->data;

	return re_hprintf(arg, "%s %lld expires %llu\n", c->key, c->val,
			  c->expires) != 0;
}

int store_ctrs_print(struct re_printf *pf, const struct store *st)
{
	(void)hash_apply(st->ctrs, print_one, pf);
	return 0;
}

/* The next space-separated field of a line (its end at a line break):
 * the tokenizer of the shared-state records, SDP and a=crypto values.
 * 0, or EBADMSG when nothing is left. */
int store_field(struct pl *txt, struct pl *f)
{
	while (txt->l && txt->p[0] == ' ')
		pl_advance(txt, 1);
	f->p = txt->p;
	f->l = 0;
	while (f->l < txt->l && f->p[f->l] != ' ' && f->p[f->l] != '\r'
	       && f->p[f->l] != '\n')
		++f->l;
	pl_advance(txt, f->l);
	return f->l ? 0 : EBADMSG;
}

/* 1 to max decimal digits, nothing else. */
bool store_digits(const struct pl *pl, size_t max)
{
	if (!pl->l || pl->l > max)
		return false;
	for (size_t i = 0; i < pl->l; i++)
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return false;
	return true;
}
