/*
 * store.h: the shared-state store.  Every piece of state that nodes
 * share (counters here; dialogs in dialog.c, bans in flood.c, user locks
 * in authguard.c, ...) changes only through one apply function, fed
 * with a record: a local change builds the record and applies it, a
 * standby will apply what it receives.  Each record has one text encoder
 * and one decoder.  Standalone, the store is this process's memory;
 * cluster/ hooks `publish` to the pair (Corosync) and `share` to every
 * pair (Redis: bans, run-time rules and quota counters only).
 */
#ifndef SBC_STORE_H
#define SBC_STORE_H

#include <re.h>

/* The version of the record format: a node refuses records of another
 * (cluster/), never misapplies them.  Raise it with any change of a
 * record's fields. */
enum { STORE_VERSION = 3 };

/* Called with each local change, encoded, for the other nodes. */
typedef void (store_publish_h)(const struct mbuf *rec, void *arg);
/* sbcctl's "role ..." commands, answered by the cluster (cluster/). */
typedef int (store_ctrl_h)(struct mbuf *out, const char *args, void *arg);
/* Lines of `sbcctl stats` (stats true) or `sbcctl role`. */
typedef int (store_print_h)(struct re_printf *pf, bool stats, void *arg);

/* What this node is to the shared state.  A standby only applies what
 * the active sends: it sends nothing itself (no SIP, no keep-alive, no
 * BYE of its own); store_silent() is what the senders ask. */
enum store_role {
	STORE_STANDALONE = 0,
	STORE_ACTIVE,
	STORE_STANDBY,
};

/* What every pair shares (cluster/redis.c): the changes store_share()
 * is given, told of role changes, printed in stats and role. */
struct store_share {
	store_publish_h *h;
	void (*roleh)(enum store_role role, void *arg);
	store_print_h *printh;
	void *arg;
};

struct store {
	struct hash *ctrs;          /* struct store_ctr by key */
	uint32_t nctrs;
	struct tmr tmr;             /* forgets expired counters */
	enum store_role role;
	store_publish_h *publishh;  /* the pair */
	store_ctrl_h *ctrlh;
	void *arg;
	struct store_share share;   /* every pair */
};

static inline bool store_silent(const struct store *st)
{
	return st->role == STORE_STANDBY;
}

/* A change to a counter: add delta, keep it until expires. */
struct store_ctr_rec {
	struct pl key;
	int64_t delta;
	uint64_t expires;           /* unix seconds */
};

int  store_init(struct store *st, uint32_t hash_size);
void store_close(struct store *st);
void store_publish(struct store *st, int (*encode)(struct mbuf *mb,
						  const void *rec),
		   const void *rec);
void store_share(struct store *st, int (*encode)(struct mbuf *mb,
						const void *rec),
		 const void *rec);
void store_set_role(struct store *st, enum store_role role);

int  store_ctr_encode(struct mbuf *mb, const struct store_ctr_rec *r);
int  store_ctr_decode(struct store_ctr_rec *r, const struct pl *txt);
int  store_ctr_apply(struct store *st, const struct store_ctr_rec *r,
		     int64_t *val);
int  store_ctr_add(struct store *st, const char *key, int64_t delta,
		   uint64_t expires, int64_t *val);
int64_t store_ctr_get(const struct store *st, const char *key);
int  store_save(struct mbuf *mb, const struct store *st);
void store_reset(struct store *st);
int  store_ctrs_print(struct re_printf *pf, const struct store *st);
int  store_field(struct pl *txt, struct pl *f);
bool store_digits(const struct pl *pl, size_t max);

#endif
