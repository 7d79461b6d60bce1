#!/bin/bash
# Redis down, hung or restarted never costs a call (issue 14): sbcd a
# takes calls from a peer whose profile has daily_calls and
# calls_per_minute (so every call writes two counters), sbcd b watches
# the same Redis.
#  1. 1,000 calls at 200 calls/s through a; Redis is killed (SIGKILL)
#     after the first 250 and restarted (same port, same data dir: AOF
#     with appendfsync always, so what was written before the kill is
#     still there) once a has taken 350 more: every call completes, no
#     call waits on Redis, a and b log the outage once and its end once,
#     and within 5 s of Redis' return a's day counter == Redis' == b's;
#     at the end all three are 1000 and every counter agrees.
#  2. 600 more calls; Redis hangs (SIGSTOP) for 2 s (past redis_timeout)
#     in the middle, then goes on (SIGCONT): every call completes without
#     waiting, and the counters agree (1600, nothing counted twice) within
#     5 s.
#  3. a's queue bounded to 16 (redis_queue_max): 20 bans while Redis is
#     dead are all made at once, 16 changes wait, 4 are dropped and
#     counted (redis_dropped, a log line); on Redis' return b gets all 20
#     (a merges what Redis lacks).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/redis_lib.sh"
cd "$W" || fail "no work dir"   # sipp writes its -trace_rtt file here

PEERS="[peer pbx]
addr = 127.0.$T_N.0/24
profile = busy
flood_exempt = yes
[profile busy]
daily_calls = 1000000
calls_per_minute = 1000000"
RTT_MAX=750         # ms: a call that waited for redis_timeout (1000) shows

redis_start main "$R" "$RPORT" --appendonly yes --appendfsync always
for n in a b; do
	node_conf "$n" "log_level = info"
	node_start "$n"
done
sipp_bg uas -sf "$SCEN/uas.xml" -i "$U" -p 5080 -buff_size 4194304

# load NAME CALLS: sipp through a, 200 calls/s, 200 ms hold
load() {
	sipp_bg "$1" -sf "$SCEN/uac.xml" -s 5551234 -i "$P" -p 5070 "$A:5060" \
		-m "$2" -r 200 -d 200 -timeout 90 -timeout_error -buff_size 4194304 \
		-trace_stat -stf "$W/$1.csv" -fd 1 -trace_rtt -rtt_freq 1
}
# load_done NAME CALLS: sipp ended, every call completed, none slow
load_done() {
	local pid ok failed rtt
	eval "pid=\$PID_$1"
	wait_pid "$pid" 60 || fail "$1: sipp failed or did not end: $(tail -5 "$W/$1.out")"
	pid_forget "$pid"
	ok=$(awk -F';' 'NR==1{for(i=1;i<=NF;i++) if($i=="SuccessfulCall(C)") c=i} END{print $c}' "$W/$1.csv")
	failed=$(awk -F';' 'NR==1{for(i=1;i<=NF;i++) if($i=="FailedCall(C)") c=i} END{print $c}' "$W/$1.csv")
	retr=$(awk -F';' 'NR==1{for(i=1;i<=NF;i++) if($i=="Retransmissions(C)") c=i} END{print $c}' "$W/$1.csv")
	[ "$ok" = "$2" ] && [ "$failed" = 0 ] || fail "$1: $ok of $2 calls completed, $failed failed"
	rtt=$(cat uac_"$pid"_rtt.csv 2>/dev/null | awk -F';' 'NR > 1 {print $2}' | sort -n |
		awk '{v[NR] = $1} END {if (NR) printf "n=%d p50=%d p99=%d max=%d", NR, v[int(NR*0.5)+1], v[int(NR*0.99)], v[NR]}')
	[ -n "$rtt" ] || fail "$1: no response times (uac_${pid}_rtt.csv)"
	t_log "$1: $ok calls, 0 failed, $retr retransmissions; INVITE->200 ms: $rtt"
	[ "${rtt##*max=}" -lt "$RTT_MAX" ] || fail "$1: a call waited ${rtt##*max=} ms (>= $RTT_MAX)"
}
# agree [VALUE]: a's day counter == Redis' == b's (== VALUE if given)
agree() {
	local va vr vb
	va=$(ctr_of a "$DAY")
	vr=$(rcli HGET sbc:ctr "$DAY")
	vb=$(ctr_of b "$DAY")
	AGREE="a=$va redis=$vr b=$vb"
	[ "$va" = "$vr" ] && [ "$vb" = "$vr" ] && { [ -z "${1:-}" ] || [ "$va" = "$1" ]; }
}
# agree_by DEADLINE_MS [VALUE]: polled until then
agree_by() {
	while ! agree "${2:-}"; do
		[ "$(now_ms)" -lt "$1" ] || return 1
		sleep 0.05
	done
}
at_least() { [ "$(ctr_of a "$DAY")" -ge "$1" ]; }

# --- 1. Redis killed and restarted under 1,000 calls ------------------------
load l1 1000
day_key() {
	DAY=$(nctl a counters | awk '$1 ~ /^day:pbx:[0-9]+:(work|off)$/ {print $1; exit}')
	[ -n "$DAY" ]
}
wait_for 100 day_key || fail "no day counter on a"
wait_for 100 at_least 250 || fail "a took $(ctr_of a "$DAY") calls in 10 s, not 250"
n_kill=$(ctr_of a "$DAY")
redis_signal main KILL
wait_for 30 grep -q "redis: down ($R:$RPORT: " "$W/a/sbcd.log" || fail "a did not log 'redis: down' within 3 s"
t_log "Redis killed at call $n_kill; a: $(grep -m1 'redis: down' "$W/a/sbcd.log" | cut -d' ' -f3-)"
st=$(stat_of a redis_state)
[ "$st" = down ] || [ "$st" = connecting ] || fail "a: redis_state '$st' while Redis is dead"
nctl a role | grep -qE "^redis (down|connecting) $R:$RPORT\$" || fail "a: sbcctl role: $(nctl a role | tr '\n' '|')"
wait_for 100 at_least $((n_kill + 350)) || fail "a took only $(($(ctr_of a "$DAY") - n_kill)) calls in 10 s without Redis"
n_back=$(ctr_of a "$DAY")
queued=$(stat_of a redis_queued)
[ "${queued:-0}" -gt 0 ] || fail "a: redis_queued '$queued' after $((n_back - n_kill)) calls without Redis"
redis_start main "$R" "$RPORT" --appendonly yes --appendfsync always
t_log "Redis restarted (same port, same dir) at call $n_back, $queued changes queued on a"
wait_for 100 grep -q "redis: back ($R:$RPORT) after [0-9]* ms: [0-9]* changes written" "$W/a/sbcd.log" \
	|| fail "a did not log 'redis: back' within 10 s of Redis' return"
t_back=$(log_ms "$W/a/sbcd.log" "redis: back \(")
t_log "a: $(grep -m1 'redis: back' "$W/a/sbcd.log" | cut -d' ' -f3-)"
agree_by $((t_back + 5000)) || fail "5 s after Redis came back the counters disagree: $AGREE"
t_log "counters agree $(($(now_ms) - t_back)) ms after a's 'back' line: $AGREE"
load_done l1 1000
agree_by $(($(now_ms) + 5000)) 1000 || fail "after 1000 calls: $AGREE"
# every counter (the minute counters too) the same on a, in Redis and on b
nctl a counters | awk '$1 != "OK" {print $1, $2}' | sort > "$W/ctr.a"
nctl b counters | awk '$1 != "OK" {print $1, $2}' | sort > "$W/ctr.b"
rcli HGETALL sbc:ctr | paste -d' ' - - | sort > "$W/ctr.redis"
cmp -s "$W/ctr.a" "$W/ctr.b" && cmp -s "$W/ctr.a" "$W/ctr.redis" \
	|| fail "counters differ: a '$(tr '\n' '|' < "$W/ctr.a")' b '$(tr '\n' '|' < "$W/ctr.b")' redis '$(tr '\n' '|' < "$W/ctr.redis")'"
for n in a b; do
	node_alive "$n"
	d=$(grep -c "redis: down (" "$W/$n/sbcd.log")
	b=$(grep -c "redis: back (" "$W/$n/sbcd.log")
	[ "$d" = 1 ] && [ "$b" = 1 ] || fail "$n logged 'redis: down' $d times and 'redis: back' $b times (once each expected)"
	[ "$(stat_of "$n" redis_outages)" = 1 ] || fail "$n: redis_outages $(stat_of "$n" redis_outages)"
	[ "$(stat_of "$n" redis_dropped)" = 0 ] || fail "$n: redis_dropped $(stat_of "$n" redis_dropped)"
	[ "$(stat_of "$n" redis_queued)" = 0 ] || fail "$n: redis_queued $(stat_of "$n" redis_queued) at the end"
	[ "$(stat_of "$n" redis_state)" = up ] || fail "$n: redis_state $(stat_of "$n" redis_state) at the end"
done
# b took no call: what it wrote is its merge on Redis' return
t_log "b (no calls) made $(stat_of b redis_writes) writes, a $(stat_of a redis_writes)"
ok "Redis killed for $((n_back - n_kill)) calls and restarted: 1000/1000 calls, none slow; down and back logged once on a and b; counters agree (1000 in a, Redis, b)"

# --- 2. Redis hung (SIGSTOP) for 2 s under 600 more calls -----------------
load l2 600
wait_for 100 at_least 1150 || fail "a took $(ctr_of a "$DAY") calls, not 1150"
n_stop=$(ctr_of a "$DAY")
pid_main=$RPID_main
kill -STOP "$pid_main" || fail "cannot stop Redis"
t_stop=$(now_ms)
# calls go on while Redis does not answer, past redis_timeout
hung_enough() { at_least $((n_stop + 300)) && [ $(($(now_ms) - t_stop)) -ge 2000 ]; }
wait_for 100 hung_enough
rc=$?
kill -CONT "$pid_main"
t_cont=$(now_ms)
[ "$rc" = 0 ] || fail "a took only $(($(ctr_of a "$DAY") - n_stop)) calls while Redis hung"
t_log "Redis hung for $((t_cont - t_stop)) ms from call $n_stop to call $(ctr_of a "$DAY"); a logged 'down' $(grep -c 'redis: down (' "$W/a/sbcd.log") times in all"
load_done l2 600
agree_by $(($(now_ms) + 5000)) 1600 || fail "5 s after Redis went on and the calls ended: $AGREE (1600 each expected)"
t_log "counters agree $(($(now_ms) - t_cont)) ms after SIGCONT: $AGREE"
for n in a b; do
	node_alive "$n"
	d=$(grep -c "redis: down (" "$W/$n/sbcd.log")
	b=$(grep -c "redis: back (" "$W/$n/sbcd.log")
	[ "$d" = "$b" ] && [ "$d" -le 2 ] || fail "$n logged 'redis: down' $d times and 'redis: back' $b times in 2 outages"
	[ "$(stat_of "$n" redis_dropped)" = 0 ] || fail "$n: redis_dropped $(stat_of "$n" redis_dropped)"
done
ok "Redis hung 2 s: 600/600 calls, none slow; counters agree at 1600 (nothing lost, nothing counted twice)"

# --- 3. the queue is bounded (redis_queue_max) ------------------------------
# a, restarted with room for 16 changes (the least), bans 20 flooders
# while Redis is dead: all 20 are banned on a at once, 16 wait, 4 are
# dropped and counted; on Redis' return a's merge writes what Redis
# lacks, so b gets all 20
node_stop a
PEERS="[peer pbx]
addr = $P
profile = busy
flood_exempt = yes
[peer test]
addr = 127.0.$T_N.0/24
[profile busy]
daily_calls = 1000000
calls_per_minute = 1000000"
node_set a "redis_queue_max = 16"
node_set a "flood_requests = 5"
node_set a "flood_window = 10"
node_set a "flood_ban = 600"
node_start a
# a's merge of its counters on connecting is written before Redis dies
# (else it waits in the queue too and takes 2 of the 16 places)
merged() { grep -q "redis: loaded .* from $R:$RPORT$" "$W/a/sbcd.log" && [ "$(stat_of a redis_queued)" = 0 ]; }
wait_for 100 merged || fail "a did not connect and merge: $(stat_of a redis_queued) queued"
redis_signal main KILL
wait_for 30 grep -q "redis: down (" "$W/a/sbcd.log" || fail "a did not see Redis die"
for i in $(seq 1 20); do
	flood "127.0.$T_N.$((100 + i))" "$A" 10
done
all_banned() { # NODE [HOW_MANY]: the first 20 (or HOW_MANY) flooders banned
	local i
	nctl "$1" bans > "$W/bans.$1.txt" || return 1
	for i in $(seq 1 "${2:-20}"); do
		grep -q "^127.0.$T_N.$((100 + i)) remaining=" "$W/bans.$1.txt" || return 1
	done
}
wait_for 30 all_banned a || fail "a did not ban the 20 flooders without Redis: $(nctl a bans | tr '\n' '|')"
q=$(stat_of a redis_queued)
d=$(stat_of a redis_dropped)
[ "$q" = 16 ] && [ "$d" = 4 ] || fail "a with redis_queue_max = 16 after 20 bans: redis_queued $q, redis_dropped $d (16 and 4 expected)"
grep -q "redis: .*dropping .*(redis_queue_max)" "$W/a/sbcd.log" || fail "a did not log that it drops changes"
t_log "a: $(grep -m1 'redis: .*dropping' "$W/a/sbcd.log" | cut -d' ' -f3-)"
redis_start main "$R" "$RPORT" --appendonly yes --appendfsync always
wait_for 100 grep -q "redis: back (" "$W/a/sbcd.log" || fail "a did not log 'redis: back' within 10 s"
t_back=$(log_ms "$W/a/sbcd.log" "redis: back \(")
t_log "a: $(grep -m1 'redis: back' "$W/a/sbcd.log" | cut -d' ' -f3-)"
while ! all_banned b 16; do
	[ "$(now_ms)" -lt $((t_back + 5000)) ] || fail "5 s after Redis' return b lacks some of the 16 queued bans: $(grep -c remaining= "$W/bans.b.txt") listed"
	sleep 0.05
done
while ! all_banned b; do
	[ "$(now_ms)" -lt $((t_back + 5000)) ] || fail "5 s after Redis' return b has $(grep -c remaining= "$W/bans.b.txt") of a's 20 bans: the 4 dropped never came (a's merge on return: $(grep -c 'redis: .*dropping' "$W/a/sbcd.log") 'dropping' lines in a's log, redis_dropped $(stat_of a redis_dropped))"
	sleep 0.05
done
[ "$(rcli HLEN sbc:ban)" -ge 20 ] || fail "Redis has $(rcli HLEN sbc:ban) bans, not the 20"
ok "redis_queue_max = 16: 20 bans on a without Redis, 16 queued, 4 dropped (counted, logged); a's merge on Redis' return brought all 20 to b"
node_stop a
node_stop b
