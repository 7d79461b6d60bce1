#!/bin/bash
# Redis sharing (issue 14): two sbcd instances ("pairs" a and b, each
# standalone) on one real redis-server share bans, run-time blacklist
# rules and quota counters, and get them back from Redis when both are
# restarted without a state_file:
#  1. a flood ban on a refuses the source on b within 1 s;
#  2. `sbcctl blacklist add` on b drops on a, `blacklist del` lifts it;
#  3. a daily quota of 10 is one quota: 6 calls through a, 4 through b,
#     the 11th (through b, then a) gets the profile's reject_code;
#  4. both stopped and started again: bans, rules, quota usage are back
#     (loaded before sbcd is ready), the quota still refuses;
#  5. an expired ban is gone on both, and stays gone after a restart;
#  6. bad input (garbage, another record version, an unknown reason, a
#     wrong key type; PUBLISHed and HSET) is logged, counted in
#     redis_refused and never applied; sbcd stays up;
#  7. a wrong redis_password: sbcd refuses to start and `sbcd -t` says
#     why (also for an ACL user); an unreachable Redis is only a warning
#     for -t and a start on local state.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/redis_lib.sh"

X1=127.0.$T_N.20        # a flooder, banned for 300 s
X3=127.0.$T_N.23        # a flooder, banned for 3 s
Q=127.0.$T_N.30         # the PBX with the shared daily quota

PEERS="[peer pbx]
addr = $Q
profile = quota
flood_exempt = yes
[profile quota]
daily_calls = 10
reject_code = 603
[peer test]
addr = 127.0.$T_N.0/24"

redis_start main "$R" "$RPORT"
for n in a b; do
	node_conf "$n" "flood_requests = 50" "flood_window = 10" "flood_ban = 300"
	node_start "$n"
done
sipp_bg uas -sf "$SCEN/uas.xml" -i "$U" -p 5080

# --- 0. both connected ----------------------------------------------------
redis_up_on() { [ "$(stat_of "$1" redis_state)" = up ]; }
for n in a b; do
	wait_for 50 redis_up_on "$n" || fail "$n: redis_state is '$(stat_of "$n" redis_state)', not up"
	grep -q "redis: connected to $R:$RPORT" "$W/$n/sbcd.log" || fail "$n: no 'redis: connected to $R:$RPORT' log line"
	nctl "$n" role | grep -q "^redis up $R:$RPORT\$" || fail "$n: sbcctl role: $(nctl "$n" role | tr '\n' '|')"
done
ok "a and b connected to Redis (stats redis_state up, role 'redis up $R:$RPORT', log line)"

# --- 1. a flood ban on a refuses the source on b within 1 s ------------
r=$(options_reply "$X1" 5077 "$BA")
case $r in "SIP/2.0 200"*) ;; *) fail "before the ban b answered $X1 with '$r'" ;; esac
flood "$X1" "$A" 60
tb=""
for _ in $(seq 1 250); do
	banned b "$X1" && { tb=$(now_ms); break; }
	sleep 0.02
done
wait_for 30 grep -q "flood: $X1 sent over 50 requests" "$W/a/sbcd.log" || fail "a did not ban $X1"
ta=$(log_ms "$W/a/sbcd.log" "flood: $X1 sent over")
[ -n "$tb" ] || fail "the ban of $X1 on a did not reach b within 5 s: $(nctl b bans | tr '\n' '|')"
lat=$((tb - ta))
t_log "ban on a (log $ta) seen on b (sbcctl bans, polled every 20 ms) after $lat ms"
[ "$lat" -lt 1000 ] || fail "the ban reached b after $lat ms (>= 1 s)"
left=$(nctl b bans | sed -n "s/^$X1 remaining=\([0-9]*\)s .*/\1/p")
[ -n "$left" ] && [ "$left" -gt 250 ] && [ "$left" -le 300 ] || fail "b's copy of the ban: $(nctl b bans | tr '\n' '|')"
r=$(options_reply "$X1" 5078 "$BA" 1)
[ "$r" = TIMEOUT ] || fail "b answered the banned $X1 with '$r'"
v=$(rcli HGET sbc:ban "$X1")
case $v in "3 ban "*" $X1 flood") ;; *) fail "Redis sbc:ban $X1 = '$v'" ;; esac
[ -n "$(rcli ZSCORE sbc:exp "ban $X1")" ] || fail "no expiry of 'ban $X1' in sbc:exp"
[ "$(stat_of a redis_writes)" -gt 0 ] 2>/dev/null || fail "a: redis_writes '$(stat_of a redis_writes)'"
[ "$(stat_of b redis_applied)" -gt 0 ] 2>/dev/null || fail "b: redis_applied '$(stat_of b redis_applied)'"
ok "flood ban on a: on b after $lat ms with its expiry (${left} s left), b drops $X1; Redis has '$v'"

# --- 2. a rule added on b drops on a; deleted on b, lifted on a --------
r=$(echo "User-Agent: EvilDialer 2.0" | invite_reply "$P" 5101 "$A" 5551234)
case $r in "SIP/2.0 180"*) ;; *) fail "before the rule a answered EvilDialer with '$r'" ;; esac
nctl b blacklist add evil user_agent prefix drop 0 EvilDialer > /dev/null || fail "blacklist add on b"
t0=$(now_ms)
wait_for 50 has_rule a evil || fail "the rule added on b is not on a: $(nctl a blacklist list | tr '\n' '|')"
t_log "rule added on b listed on a after <= $(($(now_ms) - t0)) ms"
r=$(echo "User-Agent: EvilDialer 2.0" | invite_reply "$P" 5102 "$A" 5551234 1.5)
[ "$r" = TIMEOUT ] || fail "a answered EvilDialer with '$r' (the rule from b says drop)"
case $(rcli HGET sbc:bl evil) in "3 bl add evil user_agent prefix drop "*) ;;
*) fail "Redis sbc:bl evil = '$(rcli HGET sbc:bl evil)'" ;; esac
nctl b blacklist del evil > /dev/null || fail "blacklist del on b"
wait_for 50 no_rule a evil || fail "the rule deleted on b is still on a"
r=$(echo "User-Agent: EvilDialer 2.0" | invite_reply "$P" 5103 "$A" 5551234)
case $r in "SIP/2.0 180"*) ;; *) fail "after the rule was deleted a answered EvilDialer with '$r'" ;; esac
# gone from Redis, or a tombstone (so a pair coming back with it does not
# bring it back)
v=$(rcli HGET sbc:bl evil)
[ -z "$v" ] || [ "$v" = "3 bl del evil" ] || fail "the deleted rule is still in Redis: '$v'"
# a rule with an expiry, added on a, kept for the restart
nctl a blacklist add keep user_agent prefix 403 3600 KeepDialer > /dev/null || fail "blacklist add on a"
wait_for 50 has_rule b keep || fail "the rule added on a is not on b"
ea=$(nctl a blacklist list | sed -n 's/^keep .* expires=\([0-9]*\) .*/\1/p')
eb=$(nctl b blacklist list | sed -n 's/^keep .* expires=\([0-9]*\) .*/\1/p')
[ -n "$ea" ] && [ "$ea" = "$eb" ] || fail "the rule's expiry: a '$ea', b '$eb'"
r=$(echo "User-Agent: KeepDialer" | invite_reply "$P" 5104 "$BA" 5551234)
case $r in "SIP/2.0 403"*) ;; *) fail "b answered KeepDialer with '$r'" ;; esac
ok "rule added on b: a drops; deleted on b: a lets it through, Redis has '${v:-nothing}'; a's rule on b (same expiry $ea, 403)"

# --- 3. one daily quota of 10 across a and b --------------------------------
sipp_run qa -sf "$SCEN/uac.xml" -s 5551234 -i "$Q" -p 5070 "$A:5060" -m 6 -r 10 \
	-timeout 30 -timeout_error || fail "6 calls through a failed: $(tail -3 "$W/qa.out")"
DAY=$(nctl a counters | awk '$1 ~ /^day:pbx:[0-9]+:(work|off)$/ {print $1; exit}')
[ -n "$DAY" ] || fail "no day counter on a: $(nctl a counters | tr '\n' '|')"
ctr_is() { [ "$(ctr_of "$1" "$DAY")" = "$2" ]; }
ctr_is a 6 || fail "a counted $(ctr_of a "$DAY") calls, not 6"
wait_for 10 ctr_is b 6 || fail "b's $DAY is $(ctr_of b "$DAY") 1 s after a's 6 calls"
[ "$(rcli HGET sbc:ctr "$DAY")" = 6 ] || fail "Redis sbc:ctr $DAY = '$(rcli HGET sbc:ctr "$DAY")'"
sipp_run qb -sf "$SCEN/uac.xml" -s 5551234 -i "$Q" -p 5070 "$BA:5060" -m 4 -r 10 \
	-timeout 30 -timeout_error || fail "4 calls through b failed: $(tail -3 "$W/qb.out")"
wait_for 10 ctr_is a 10 || fail "a's $DAY is $(ctr_of a "$DAY") after b's 4 calls"
[ "$(rcli HGET sbc:ctr "$DAY")" = 10 ] || fail "Redis sbc:ctr $DAY = '$(rcli HGET sbc:ctr "$DAY")'"
r=$(invite_reply "$Q" 5071 "$BA" 5551234 < /dev/null)
case $r in "SIP/2.0 603"*) ;; *) fail "the 11th call (through b) got '$r', not 603" ;; esac
grep -q '"rule":"fraud:daily_calls","action":"603"' "$W/b/security.log" || fail "no fraud:daily_calls event on b"
r=$(invite_reply "$Q" 5072 "$A" 5551234 < /dev/null)
case $r in "SIP/2.0 603"*) ;; *) fail "the 12th call (through a) got '$r', not 603" ;; esac
ok "daily_calls = 10 shared: 6 through a, 4 through b, then 603 on both ($DAY = 10 in Redis)"

# --- 4. both restarted from nothing (no state_file): everything is back --
for n in a b; do
	node_stop "$n"
done
[ "$(rcli HGET sbc:ctr "$DAY")" = 10 ] || fail "Redis lost the counter while both were down"
for n in a b; do
	# a window shorter than the ban: once it is over the source starts afresh
	node_set "$n" "flood_ban = 3"
	node_set "$n" "flood_window = 2"
	node_start "$n"
	grep -qE "redis: loaded [0-9]+ bans, [0-9]+ rules, [0-9]+ counters from $R:$RPORT" "$W/$n/sbcd.log" \
		|| fail "$n: no 'redis: loaded ...' line: $(grep 'redis:' "$W/$n/sbcd.log" | head -5 | tr '\n' '|')"
	loaded=$(grep -nE 'redis: loaded' "$W/$n/sbcd.log" | head -1 | cut -d: -f1)
	ready=$(grep -n ' ready$' "$W/$n/sbcd.log" | head -1 | cut -d: -f1)
	[ "$loaded" -lt "$ready" ] || fail "$n: loaded from Redis (line $loaded) after it was ready (line $ready)"
	t_log "$n: $(grep -oE 'redis: loaded .*' "$W/$n/sbcd.log" | head -1)"
done
for n in a b; do
	banned "$n" "$X1" || fail "$n lost the ban of $X1 across the restart: $(nctl "$n" bans | tr '\n' '|')"
	has_rule "$n" keep || fail "$n lost the rule 'keep' across the restart"
	ctr_is "$n" 10 || fail "$n: $DAY is $(ctr_of "$n" "$DAY") after the restart, not 10"
done
r=$(options_reply "$X1" 5079 "$A" 1)
[ "$r" = TIMEOUT ] || fail "after the restart a answered the banned $X1 with '$r'"
r=$(echo "User-Agent: KeepDialer" | invite_reply "$P" 5105 "$A" 5551234)
case $r in "SIP/2.0 403"*) ;; *) fail "after the restart a answered KeepDialer with '$r'" ;; esac
r=$(invite_reply "$Q" 5073 "$BA" 5551234 < /dev/null)
case $r in "SIP/2.0 603"*) ;; *) fail "after the restart the quota call through b got '$r'" ;; esac
r=$(invite_reply "$Q" 5074 "$A" 5551234 < /dev/null)
case $r in "SIP/2.0 603"*) ;; *) fail "after the restart the quota call through a got '$r'" ;; esac
ok "both restarted without state_file: ban, rule and quota usage (10) loaded before ready; the quota still refuses"

# --- 5. an expired ban is gone on both and does not come back --------------
flood "$X3" "$A" 60
wait_for 20 banned b "$X3" || fail "the short ban of $X3 did not reach b"
banned a "$X3" || fail "a has no ban of $X3"
t0=$(now_ms)
gone() { not_banned a "$X3" && not_banned b "$X3"; }
wait_for 80 gone || fail "the 3 s ban of $X3 is still listed 8 s later: a '$(grep "$X3" "$W/bans.a.txt")' b '$(grep "$X3" "$W/bans.b.txt")'"
t_log "the 3 s ban was gone from both $(($(now_ms) - t0)) ms after b listed it"
# answered again (polled: the kernel filter is rebuilt by flood.c's sweep,
# once a second, so it may drop for up to a second after `bans` stops
# listing the ban)
port=5080
answered_again() {
	port=$((port + 1))
	case $(options_reply "$X3" "$port" "$1" 0.3) in "SIP/2.0 200"*) ;; *) return 1 ;; esac
}
for d in "$A" "$BA"; do
	wait_for 10 answered_again "$d" || fail "after its ban expired $X3 got no answer from $d (tried until port $port)"
done
gone_in_redis() { [ "$(rcli HEXISTS sbc:ban "$X3")" = 0 ]; }
if wait_for 50 gone_in_redis; then
	t_log "the expired ban was removed from Redis"
else
	t_log "note: the expired ban is still in Redis sbc:ban: '$(rcli HGET sbc:ban "$X3")'"
fi
for n in a b; do
	node_stop "$n"
	node_start "$n"
done
for n in a b; do
	not_banned "$n" "$X3" || fail "the expired ban of $X3 came back on $n after a restart"
	banned "$n" "$X1" || fail "$n lost the ban of $X1 in the second restart"
done
ok "an expired ban is gone on both (and from both after a restart)"

# --- 6. bad input: logged, counted, never applied -------------------------
until=$(($(date +%s) + 600))
ra=$(stat_of a redis_refused)
rb=$(stat_of b redis_refused)
ORG=feedfacecafebeef
for rec in "garbage" "2 $ORG ban $until 127.0.$T_N.67 flood" \
	"3 $ORG ban $until 127.0.$T_N.68 nosuchreason" "3 $ORG bogus record" \
	"3 $ORG ctr notanumber 5 day:pbx:20990101:work" "3"; do
	[ "$(rcli PUBLISH sbc:rec "$rec")" = 2 ] || fail "PUBLISH did not reach 2 subscribers"
done
# the control: a well-formed record of another node (arrives after the
# bad ones on the same channel) is applied
rcli PUBLISH sbc:rec "3 $ORG ban $until 127.0.$T_N.69 flood" > /dev/null
wait_for 20 banned a "127.0.$T_N.69" || fail "a well-formed record PUBLISHed was not applied on a"
wait_for 20 banned b "127.0.$T_N.69" || fail "a well-formed record PUBLISHed was not applied on b"
refused_at_least() { [ "$(stat_of "$1" redis_refused)" -ge "$2" ] 2>/dev/null; }
for n in a b; do
	node_alive "$n"
	base=$ra
	[ "$n" = b ] && base=$rb
	wait_for 20 refused_at_least "$n" $((base + 6)) \
		|| fail "$n: redis_refused went from $base to $(stat_of "$n" redis_refused) after 6 bad records"
	for x in 67 68; do
		not_banned "$n" "127.0.$T_N.$x" || fail "$n applied a bad record: ban of 127.0.$T_N.$x"
	done
	[ "$(ctr_of "$n" day:pbx:20990101:work)" = 0 ] || fail "$n applied a bad counter record"
	grep -q 'redis: .*refused' "$W/$n/sbcd.log" || fail "$n: no 'redis: ... refused' log line"
done
t_log "a: $(grep -m1 'redis: .*refused' "$W/a/sbcd.log" | cut -d' ' -f3-)"
ok "6 bad records PUBLISHed: refused and counted on both (redis_refused $ra -> $(stat_of a redis_refused), $rb -> $(stat_of b redis_refused)), none applied; a good one applied"

# values in the hashes sbcd did not write: read at start
rcli HSET sbc:ban "127.0.$T_N.71" garbage > /dev/null
rcli HSET sbc:ban "127.0.$T_N.72" "2 ban $until 127.0.$T_N.72 flood" > /dev/null
rcli HSET sbc:ban "127.0.$T_N.73" "3 bl add wrongkind user_agent prefix drop 0 Wrong" > /dev/null
rcli HSET sbc:bl bogus "3 bl add bogus nosuchfield exact drop 0 x" > /dev/null
rcli HSET sbc:ctr "day:pbx:20990101:work" "abc" > /dev/null
node_stop b
node_start b
node_alive b
refused=$(stat_of b redis_refused)
[ "${refused:-0}" -ge 5 ] 2>/dev/null || fail "b: redis_refused $refused after loading 5 bad values"
for x in 71 72 73; do
	not_banned b "127.0.$T_N.$x" || fail "b applied the bad value of sbc:ban 127.0.$T_N.$x"
done
no_rule b bogus || fail "b applied the bad rule 'bogus'"
no_rule b wrongkind || fail "b applied a rule found in sbc:ban"
[ "$(ctr_of b day:pbx:20990101:work)" = 0 ] || fail "b applied a bad counter value"
banned b "$X1" && has_rule b keep && ctr_is b 10 || fail "b did not load the good values beside the bad ones"
grep -q 'redis: .*refused' "$W/b/sbcd.log" || fail "b: no 'redis: ... refused' log line at load"
t_log "b: $(grep -m1 'redis: .*refused' "$W/b/sbcd.log" | cut -d' ' -f3-)"
rcli HDEL sbc:ban "127.0.$T_N.71" "127.0.$T_N.72" "127.0.$T_N.73" > /dev/null
rcli HDEL sbc:bl bogus > /dev/null
rcli HDEL sbc:ctr "day:pbx:20990101:work" > /dev/null
ok "5 bad values in the hashes: b started, refused them ($refused), loaded the good ones"

# wrong key types (prefix wt): the hashes are a string, a list, a string;
# sbcd starts, refuses each, decides on local state and stays up
rcli SET wt:ban x > /dev/null
rcli RPUSH wt:bl x > /dev/null
rcli SET wt:ctr 5 > /dev/null
node_stop b
node_set b "redis_prefix = wt"
node_start b
node_alive b
refused=$(stat_of b redis_refused)
[ "${refused:-0}" -ge 3 ] 2>/dev/null || fail "b: redis_refused $refused with 3 keys of the wrong type"
grep -q 'redis: .*refused' "$W/b/sbcd.log" || fail "b: no 'redis: ... refused' log line for the wrong types"
t_log "b: $(grep -m1 'redis: .*refused' "$W/b/sbcd.log" | cut -d' ' -f3-)"
flood "127.0.$T_N.74" "$BA" 60
wait_for 30 banned b "127.0.$T_N.74" || fail "b did not ban a flooder with wt:ban of the wrong type"
# the write of that ban, which Redis refuses (WRONGTYPE), is logged
wait_for 30 grep -q 'redis: ban refused by .*WRONGTYPE' "$W/b/sbcd.log" \
	|| fail "b logged nothing when Redis refused the write of its ban into wt:ban (a string)"
t_log "b: $(grep -m1 'redis: ban refused by .*WRONGTYPE' "$W/b/sbcd.log" | cut -d' ' -f3- | cut -c1-140)"
node_alive b
[ "$(rcli TYPE wt:ban)" = string ] || fail "b replaced the user's wt:ban ($(rcli TYPE wt:ban))"
ok "3 keys of the wrong type: b started, refused them ($refused), banned a flooder locally, logged Redis' refusal of its write, stayed up"

# the expiry zset of the wrong type (prefix wx): logged and counted, sbcd up
rcli HSET wx:exp a b > /dev/null
node_stop b
node_set b "redis_prefix = wx"
node_start b
node_alive b
grep -q 'redis: .*WRONGTYPE' "$W/b/sbcd.log" || fail "b: no log line for wx:exp of the wrong type"
t_log "b: $(grep -m1 'redis: .*WRONGTYPE' "$W/b/sbcd.log" | cut -d' ' -f3- | cut -c1-160)"
refused=$(stat_of b redis_refused)
errors=$(stat_of b redis_errors)
[ "$((${refused:-0} + ${errors:-0}))" -ge 1 ] || fail "b: wx:exp of the wrong type counted nowhere (redis_refused $refused, redis_errors $errors)"
[ "${refused:-0}" -ge 1 ] || t_log "note: wx:exp of the wrong type is counted in redis_errors ($errors), not redis_refused"
r=$(options_reply "$P" 5082 "$BA")
case $r in "SIP/2.0 200"*) ;; *) fail "b with wx:exp of the wrong type answered '$r'" ;; esac
ok "the expiry zset of the wrong type: b started, logged it (redis_refused $refused, redis_errors $errors), answers"
node_stop b
node_stop a

# --- 7. wrong password, ACL user, unreachable Redis -----------------------
redis_start auth "$R2" "$RPORT" --requirepass s3cret
rcli -h "$R2" -p "$RPORT" -a s3cret ACL SETUSER sbcuser on '>userpw' '~*' '&*' '+@all' > /dev/null \
	|| fail "ACL SETUSER"
node_conf b "redis = $R2:$RPORT" "redis_password = wrong"
node_write_conf b
rc=0; "$SBCD" -t -f "$W/b/sbcd.conf" > "$W/t_wrong.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "sbcd -t with a wrong password: exit $rc: $(cat "$W/t_wrong.out")"
grep -q redis_password "$W/t_wrong.out" && grep -q WRONGPASS "$W/t_wrong.out" \
	|| fail "sbcd -t with a wrong password does not name redis_password and Redis' error: $(cat "$W/t_wrong.out")"
t_log "sbcd -t: $(grep -m1 redis_password "$W/t_wrong.out")"
: > "$W/b/wrong.log"
"$SBCD" -f "$W/b/sbcd.conf" 2>>"$W/b/wrong.log" &
pid=$!
T_PIDS="$T_PIDS $pid"
rc=0; wait_pid "$pid" 15 || rc=$?
[ "$rc" = 124 ] && fail "sbcd with a wrong redis_password still runs after 15 s"
pid_forget "$pid"
[ "$rc" != 0 ] || fail "sbcd with a wrong redis_password exited 0"
grep -q ' ready$' "$W/b/wrong.log" && fail "sbcd with a wrong redis_password got ready"
grep -q redis_password "$W/b/wrong.log" && grep -q WRONGPASS "$W/b/wrong.log" \
	|| fail "sbcd's log does not name redis_password and Redis' error: $(tail -3 "$W/b/wrong.log")"
t_log "sbcd (exit $rc): $(grep -m1 redis_password "$W/b/wrong.log" | cut -d' ' -f3-)"
ok "a wrong redis_password: sbcd -t exits 1, sbcd refuses to start (exit $rc), both name it and WRONGPASS"

t_ok() { # NAME: sbcd -t of b's config exits 0
	node_write_conf b
	rc=0; "$SBCD" -t -f "$W/b/sbcd.conf" > "$W/t_$1.out" 2>&1 || rc=$?
	[ "$rc" = 0 ] || fail "sbcd -t ($1): exit $rc: $(cat "$W/t_$1.out")"
}
node_set b "redis_password = s3cret"
t_ok right
node_set b "redis_user = sbcuser"
node_set b "redis_password = userpw"
t_ok acl
node_start b
wait_for 50 redis_up_on b || fail "b as ACL user sbcuser: redis_state $(stat_of b redis_state)"
node_stop b
node_set b "redis_password = s3cret"
node_write_conf b
rc=0; "$SBCD" -t -f "$W/b/sbcd.conf" > "$W/t_aclwrong.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q WRONGPASS "$W/t_aclwrong.out" \
	|| fail "sbcd -t, ACL user with a wrong password: exit $rc: $(cat "$W/t_aclwrong.out")"
ok "the right password and ACL user sbcuser: sbcd -t exits 0, sbcd connects; the user's wrong password: exit 1"

node_conf b "redis = $R2:6399"   # nothing listens there
node_write_conf b
rc=0; "$SBCD" -t -f "$W/b/sbcd.conf" > "$W/t_unreach.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "sbcd -t with an unreachable Redis: exit $rc (only a warning expected): $(cat "$W/t_unreach.out")"
grep -q "$R2:6399" "$W/t_unreach.out" || fail "sbcd -t with an unreachable Redis says nothing: $(cat "$W/t_unreach.out")"
node_start b
grep -q "redis: $R2:6399 not reachable (.*): starting on local state" "$W/b/sbcd.log" \
	|| fail "no 'not reachable ... starting on local state' line: $(grep 'redis:' "$W/b/sbcd.log" | head -3 | tr '\n' '|')"
r=$(options_reply "$P" 5081 "$BA")
case $r in "SIP/2.0 200"*) ;; *) fail "b without its Redis answered '$r'" ;; esac
st=$(stat_of b redis_state)
case $st in down | connecting) ;; *) fail "b without its Redis: redis_state '$st'" ;; esac
node_stop b
ok "an unreachable Redis: sbcd -t warns (exit 0), sbcd starts on local state (redis_state $st) and answers"
