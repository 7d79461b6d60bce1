/*
 * redis_int.h: what redis.c (the shared records: applying, writing,
 * the queue, the load) and redis_link.c (the connection to Redis and
 * to its sentinels) share; nothing outside cluster/redis*.c includes it.
 */
#ifndef SBC_REDIS_INT_H
#define SBC_REDIS_INT_H

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

enum {
	SENT_MAX = 16,
	PUBLISH_MS = 200,
	FLUSH_MS = 5,
	TOMBSTONE_S = 86400,
	BACKOFF_MAX_MS = 1000,
	WATCH_MS = 100,
	PING_MS = 1000,
	SWEEP_MS = 60000,
	LOG_EVERY_MS = 1000,
};

enum kind { K_BAN, K_BL, K_CTR };
enum op { OP_PUT, OP_PUTNX, OP_INCR, OP_MAX };
enum rstate { R_CONNECTING, R_UP, R_DOWN };

struct rtarget {
	char host[256];             /* a numeric address, or a socket path */
	uint16_t port;
	bool unix_sock;
};

struct redis;

/* One hiredis context on libre's loop.  ev lives as long as the context
 * (freed by its cleanup hook), conn as long as the module. */
struct rconn {
	struct redis *r;
	redisAsyncContext *ac;
	bool ready;
};

struct rev {
	struct rconn *rc;
	redisAsyncContext *ac;      /* NULL once hiredis cleaned up */
	int fd;
	int flags;
	bool hold;                  /* commands being added: written after */
};

/* A counter's total as this node last learnt it, to be published. */
struct rtotal {
	struct le he;
	char *key;
	int64_t total;
	uint64_t exp;
};

/* A change waiting for Redis (queue) or for its answer (inflight). */
struct rwrite {
	struct le le;
	struct le he;               /* queued ones, by kind and field */
	enum kind kind;
	enum op op;
	char *field;
	char *value;                /* record, or a counter's total */
	int64_t delta;              /* an increment's (no value) */
	uint64_t exp;
	uint64_t seq;               /* an increment's, once sent */
	bool queued;
};

struct redis {
	struct sbc *sbc;
	const struct sbc_conf *conf;
	struct rconn cmd, sub, snt;
	struct rtarget target;      /* the master */
	bool target_ok;
	struct rtarget sentv[SENT_MAX];
	unsigned nsent, sent_i;
	char addr[300];
	char key[3][128], key_exp[128], chan[128];
	char origin[17];
	char sha[48];
	enum rstate state;
	bool logged_unreachable;
	bool auth_logged;
	uint64_t down_since;
	uint64_t connect_since;
	uint64_t snt_since;
	uint32_t backoff;
	struct tmr tmr_connect;
	struct tmr tmr_watch;
	struct tmr tmr_flush;       /* the changes of one turn, written */
	struct tmr tmr_pub;         /* counters' totals, published */
	bool load_due;
	struct hash *totals;        /* struct rtotal by key */
	uint32_t pending;           /* commands on cmd waiting for answers */
	uint64_t progress;          /* last answer, or first command sent */
	uint64_t last_sweep;
	uint64_t last_refused_log;
	uint64_t last_error_log;
	struct list queue;
	struct list inflight;
	struct hash *queued;        /* struct rwrite in queue, by he */
	uint32_t n;                 /* in queue and inflight */
	uint64_t seq;               /* of the last increment sent */
	bool drop_logged;
	struct {
		uint64_t writes, dropped, applied, refused, errors, outages;
	} st;
};

/* redis.c: the Lua script of every write and of the load */
extern const char redis_script[];

/* redis.c, for the link */
void redis_up_h(struct redis *r);
void redis_message(struct redis *r, const struct pl *line);
void redis_requeue(struct redis *r);

/* redis_link.c */
int  redis_target_print(struct re_printf *pf, const struct rtarget *t);
int  redis_link_init(struct redis *r);
void redis_link_start(struct redis *r);
void redis_link_fail(struct redis *r, const char *why);
bool redis_link_watch(struct redis *r, uint64_t now);
void redis_link_close(struct redis *r);
void redis_sent(struct redis *r);
void redis_answered(struct redis *r);
redisContext *redis_sync_connect(const struct rtarget *t, uint32_t ms);
int  redis_sync_setup(redisContext *c, const struct sbc_conf *conf,
		      char *why, size_t sz);
int  redis_sync_master(struct redis *r, uint64_t deadline);
uint32_t redis_ms_left(uint64_t deadline);

#endif
