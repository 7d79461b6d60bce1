/*
 * authguard.h: password-guessing (registration hijack) protection: failed
 * REGISTERs counted per user and per source address.  The counting core
 * (authguard_alloc ... authguard_src_apply) is plain data and takes the
 * time as an argument, so it can be tested and replicated; the glue to
 * the request path (events, bans) is in the functions taking a struct sbc.
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
	AG_USER_LOCKED = 1,   /* the user reached the limit: now locked */
	AG_SRC_LIMIT   = 2,   /* the source reached the limit: ban it */
	AG_FULL        = 4,   /* a table is full: not counted */
};

/* One user's state: failures in the window that started at window (ms),
 * and the end of a lock (ms, 0: none). */
struct ag_user {
	struct le he;
	char name[AUTHGUARD_USER_MAX + 1];
	uint32_t fails;
	uint64_t window;
	uint64_t locked_until;
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

/* Replication: times travel as ages and remaining durations, so that
 * nodes need not share a clock. */
int  authguard_user_encode(struct mbuf *mb, const struct ag_user *u,
			   uint64_t now);
int  authguard_user_apply(struct authguard *ag, struct mbuf *mb,
			  uint64_t now);
int  authguard_src_encode(struct mbuf *mb, const struct ag_src *s,
			  uint64_t now);
int  authguard_src_apply(struct authguard *ag, struct mbuf *mb,
			 uint64_t now);

/* The request path */
int  authguard_init(struct sbc *sbc);
void authguard_close(struct sbc *sbc);
bool authguard_screen(struct req_ctx *ctx);
void authguard_result(struct sbc *sbc, const struct sip_msg *req,
		      const struct sip_msg *rsp);

#endif
