/*
 * authguard.h: password-guessing (registration hijack) protection: failed
 * REGISTERs counted per user and per source address.  The counting core
 * (authguard_alloc ... authguard_reset) is plain data and takes the time
 * as an argument, so it can be tested; the glue to the request path
 * (events, bans, locks made and published) is in the functions taking a
 * struct sbc.
 *
 * What the nodes share (store.h): a user's lock, as a ulock record, and a
 * source's ban, as flood.c's ban record, so that a node taking over keeps
 * both.  The failure counts stay local, like flood.c's request counts: a
 * node that takes over counts again from zero, which gives a guesser at
 * most auth_fail_limit - 1 more tries per user and per address.
 */
#ifndef SBC_AUTHGUARD_H
#define SBC_AUTHGUARD_H

#include <re.h>

struct sbc;
struct req_ctx;
struct authguard;

enum { AUTHGUARD_USER_MAX = 128 };  /* longest user name counted as is */

/* What a failure led to (bits). */
enum {
	AG_USER_LIMIT  = 1,   /* the user reached the limit: lock it */
	AG_SRC_LIMIT   = 2,   /* the source reached the limit: ban it */
	AG_FULL        = 4,   /* a table is full: not counted */
};

/* One user's state: failures in the window that started at window (ms),
 * and the end of a lock (ms, 0: none; and in unix seconds, as its record
 * says). */
struct ag_user {
	struct le he;
	char name[AUTHGUARD_USER_MAX + 1];
	uint32_t fails;
	uint64_t window;
	uint64_t locked_until;
	uint64_t locked_until_s;
};

/* A user's lock as a record, one line: ulock UNTIL USER
 * (UNTIL: unix seconds, 0 for a lock lifted; USER: the name as counted,
 * '%', spaces and bytes outside printable ASCII written %XX). */
struct ag_lock_rec {
	uint64_t until;
	char user[AUTHGUARD_USER_MAX + 1];
};

/* One source address's state. */
struct ag_src {
	struct le he;
	struct sa addr;
	uint32_t fails;
	uint64_t window;
};

int  authguard_alloc(struct authguard **agp, uint32_t limit,
		     uint32_t window_s, uint32_t max);
unsigned authguard_fail(struct authguard *ag, const struct pl *user,
			const struct sa *src, uint64_t now);
void authguard_success(struct authguard *ag, const struct pl *user);
bool authguard_locked(struct authguard *ag, const struct pl *user,
		      uint64_t now);
void authguard_sweep(struct authguard *ag, uint64_t now);
uint32_t authguard_users(const struct authguard *ag);
uint32_t authguard_srcs(const struct authguard *ag);
struct ag_user *authguard_user_find(struct authguard *ag,
				    const struct pl *user);
struct ag_src *authguard_src_find(struct authguard *ag, const struct sa *src);

/* Locks as records: now is this node's clock (ms), wall the unix time
 * (seconds) the records' UNTIL is read against. */
int  authguard_lock_encode(struct mbuf *mb, const struct ag_lock_rec *r);
int  authguard_lock_decode(struct ag_lock_rec *r, const struct pl *txt);
int  authguard_lock_apply(struct authguard *ag, const struct ag_lock_rec *r,
			  uint64_t now, uint64_t wall);
int  authguard_save(struct mbuf *mb, const struct authguard *ag,
		    uint64_t now);
void authguard_reset(struct authguard *ag);

/* The request path */
int  authguard_init(struct sbc *sbc);
void authguard_close(struct sbc *sbc);
bool authguard_screen(struct req_ctx *ctx);
void authguard_result(struct sbc *sbc, const struct sip_msg *req,
		      const struct sip_msg *rsp);

#endif
