#!/bin/bash
# t_redis: a pair on Redis (a real redis-server in the core namespace,
# with a password: a Redis reached over a network is no use without).
# Only the active writes, each change once; what another pair publishes
# reaches the standby through the active, in the pair's order; the node
# that takes over reloads Redis and writes from then on.
#   1. n1 active, n2 standby, both with redis =; CALLS calls through n1:
#      the day's quota counter is CALLS in Redis, on n1 and on n2, and n2
#      wrote nothing to Redis;
#   2. a ban another pair made (its value and its message, as that pair's
#      script writes them) holds on n1 and on n2;
#   3. n1 crashes, n2 takes over and reloads Redis; CALLS more calls
#      through n2: the counter is 2 x CALLS in Redis and on n2;
#   4. a rule added on n2 is in Redis.
# Label cluster.  Arg 1: the lab index.
. "$(dirname "$0")/lab.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pair.sh"
command -v redis-server >/dev/null || lab_skip "redis-server not installed (make test-deps)"
CALLS=20
PORT=6390

PASS=lab-$RANDOM$RANDOM
rcli() { lab_core redis-cli -h "$LAB_CORE_IP" -p "$PORT" -a "$PASS" --no-auth-warning "$@"; }
stat_of() { ctl "$1" stats | awk -v k="$2" '$1 == k { print $2 }'; }
day_key() { ctl "$1" counters | awk '$1 ~ /^day:lab:/ { print $1; exit }'; }
ctr_of() { ctl "$1" counters | awk -v k="$2" '$1 == k { print $2 }'; }
redis_up() { [ "$(stat_of "$1" redis_state)" = up ]; }
counted() { # NODE KEY N: the node and Redis both say N
	[ "$(ctr_of "$1" "$2")" = "$3" ] && [ "$(rcli hget sbc:ctr "$2")" = "$3" ]
}
calls() { # the pair's calls, CALLS of them, all ending right
	pair_calls "$CALLS" "$((CALLS / 2))" 300 2000 20
	pair_calls_done 60
}

lab_up n1 n2
pair_init
mkdir -p "$LAB_W/redis"
lab_bg core "$LAB_W/redis/redis.log" redis-server --bind "$LAB_CORE_IP" \
	--port "$PORT" --save '' --appendonly no --dir "$LAB_W/redis" --requirepass "$PASS"
wait_for 10 rcli ping || fail "redis-server did not start: $(tail -3 "$LAB_W/redis/redis.log")"

LAB_PEER_EXTRA="profile = q
[profile q]
daily_calls = 1000"
pair_up "redis = $LAB_CORE_IP:$PORT" "redis_password = $PASS" "flood_requests = 0"
wait_for 10 redis_up n1 || fail "n1: redis $(stat_of n1 redis_state)"
wait_for 10 redis_up n2 || fail "n2: redis $(stat_of n2 redis_state)"
ctl n2 role | grep -q "^redis up $LAB_CORE_IP:$PORT$" || fail "n2's role lacks redis: $(ctl n2 role)"

# ---- 1. calls through the active ----
calls
KEY=$(day_key n1)
[ -n "$KEY" ] || fail "no day counter on n1: $(ctl n1 counters)"
wait_for 5 counted n1 "$KEY" "$CALLS" ||
	fail "n1 $(ctr_of n1 "$KEY"), Redis $(rcli hget sbc:ctr "$KEY"), not $CALLS"
n2_counts() { [ "$(ctr_of n2 "$KEY")" = "$CALLS" ]; }
wait_for 5 n2_counts || fail "n2 counts $(ctr_of n2 "$KEY"), not $CALLS"
[ "$(stat_of n2 redis_writes)" = 0 ] || fail "the standby wrote to Redis: $(stat_of n2 redis_writes)"
[ "$(stat_of n1 redis_writes)" -ge "$CALLS" ] || fail "n1 wrote $(stat_of n1 redis_writes) times"
ok "$CALLS calls through n1: $KEY = $CALLS in Redis, on n1 and on n2; n1 wrote $(stat_of n1 redis_writes) times, n2 none"

# ---- 2. another pair's ban ----
BAN=192.0.2.77
until=$(( $(date +%s) + 120 ))
rcli hset sbc:ban "$BAN" "3 ban $until $BAN flood" >/dev/null
rcli publish sbc:rec "3 0123456789abcdef ban $until $BAN flood" >/dev/null
banned() { ctl "$1" bans | grep -q "^$BAN "; }
wait_for 5 banned n1 || fail "n1 lacks the other pair's ban: $(ctl n1 bans)"
wait_for 5 banned n2 || fail "n2 lacks the other pair's ban: $(ctl n2 bans)"
[ "$(stat_of n2 redis_applied)" = 0 ] || fail "n2 applied from Redis itself: $(stat_of n2 redis_applied)"
[ "$(stat_of n2 redis_writes)" = 0 ] || fail "the standby wrote the ban back: $(stat_of n2 redis_writes)"
ok "another pair's ban holds on n1 and, through n1, on n2"

# ---- 3. n1 crashes; n2 takes over and writes ----
pair_crash n1 n2
ok "n1 crashed; n2 active after $PAIR_ACTIVE_MS ms"
# the load at start, and the one on taking over
reloaded() { [ "$(grep -c 'redis: loaded' "$LAB_W/n2/sbcd.log")" -ge 2 ]; }
wait_for 5 reloaded || fail "n2 did not reload Redis on taking over: $(grep redis: "$LAB_W/n2/sbcd.log")"
calls
wait_for 5 counted n2 "$KEY" "$((2 * CALLS))" ||
	fail "n2 $(ctr_of n2 "$KEY"), Redis $(rcli hget sbc:ctr "$KEY"), not $((2 * CALLS))"
banned n2 || fail "the ban is gone from n2"
ok "$CALLS more calls through n2: $KEY = $((2 * CALLS)) in Redis and on n2 (each call counted once)"

# ---- 4. a rule made on the new active ----
ctl n2 blacklist add r1 user_agent exact drop 0 evil >/dev/null || fail "blacklist add on n2"
has_rule() { [ "$(rcli hget sbc:bl r1)" = "3 bl add r1 user_agent exact drop 0 evil" ]; }
wait_for 5 has_rule || fail "Redis has r1 as '$(rcli hget sbc:bl r1)'"
ok "a rule added on n2 is in Redis"
pair_stop n2 "$SBC2"
