/*
 * redis.h: what every pair shares through Redis (redis.c): bans, run-time
 * blacklist rules and quota counters.  The daemon starts and stops it;
 * everything else reaches it through the store's share hook
 * (sbc/store.h).
 */
#ifndef SBC_REDIS_H
#define SBC_REDIS_H

struct sbc;
struct sbc_conf;

int  redis_init(struct sbc *sbc);
void redis_close(struct sbc *sbc);
int  redis_check(const struct sbc_conf *conf);

#endif
