#!/bin/bash
# t_switchover: the calls of a pair survive a planned switchover and a
# crash of the sbcd process (node alive), and a standby started while
# CALLS calls are up is synced with all of them:
#   1. n1 active, CALLS calls (UDP) through it;
#   2. sbcd starts on n2: synced, with every call;
#   3. switchover: n1 `role standby`, the addresses move, n2 `role
#      active`; n1 follows n2 (a new epoch: it takes a new snapshot);
#   4. sbcd on n2 is killed (SIGKILL, the node stays up): n1 learns it at
#      once from CPG (procdown, no token wait), the addresses move back,
#      n1 takes over;
#   5. sbcd starts again on n2 and is synced;
#   6. every call's BYE, half from each end, is answered 200 through n1.
# Label cluster.  Arg 1: the lab index.
. "$(dirname "$0")/lab.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pair.sh"
CALLS=${PAIR_CALLS:-1000}
HALF=$((CALLS / 2))
HOLD_UAC=40000
HOLD_UAS=46000

PAIR_TRACE=0
SW_OPTS=("flood_requests = 0" "log_level = info" "upstream_timeout = 4000")
calls_on() { [ "$(ctl "$1" calls | grep -c ' state confirmed ')" = "$CALLS" ]; }
lab_up n1 n2
pair_init

lab_addr_add n1 "$LAB_VIP_ACCESS"
lab_addr_add n1 "$LAB_VIP_CORE"
pair_sbcd n1 "${SW_OPTS[@]}"
SBC1=$LAB_BG_PID
wait_for 10 is_synced n1 || fail "n1 not synced: $(ctl n1 role)"
ctl n1 role active >/dev/null || fail "n1 cannot be made active"
t0=$(lab_ms)
pair_calls "$CALLS" "$HALF" "$HOLD_UAC" "$HOLD_UAS" 100
wait_for 60 calls_on n1 || fail "calls not all answered on n1: $(n_calls n1)"
ok "$CALLS calls answered through n1 in $(( $(lab_ms) - t0 )) ms"

# ---- a standby joins while the calls are up ----
t0=$(lab_ms)
pair_sbcd n2 "${SW_OPTS[@]}"
SBC2=$LAB_BG_PID
wait_for 20 is_synced n2 || fail "n2 not synced within 20 s: $(ctl n2 role)"
ts=$(( $(lab_ms) - t0 ))
calls_on n2 || fail "n2 has $(n_calls n2) calls, not $CALLS"
ok "n2 started and synced with $CALLS calls in $ts ms (from its start; the snapshot itself: $(field n2 last_sync_ms) ms, $(field n2 last_sync_records) records)"

# ---- a planned switchover ----
t0=$(lab_ms)
ctl n1 role standby >/dev/null || fail "n1 cannot be demoted"
pair_move n1 n2
ctl n2 role active >/dev/null || fail "n2 cannot take over: $(ctl n2 role active)"
tsw=$(( $(lab_ms) - t0 ))
[ "$(field n1 role)" = standby ] || fail "n1 not a standby: $(ctl n1 role)"
[ "$(field n2 role)" = active ] || fail "n2 not active: $(ctl n2 role)"
wait_for 20 is_synced n1 || fail "n1 did not follow n2: $(ctl n1 role)"
calls_on n2 || fail "n2 has $(n_calls n2) calls after the switchover"
calls_on n1 || fail "n1 has $(n_calls n1) calls after its resync"
ok "switchover n1 -> n2 in $tsw ms; n1 synced again from n2"

# ---- sbcd crashes on n2, the node stays up ----
tc=$(lab_ms)
lab_kill_proc n2 "$SBC2"
pair_takeover n2 n1 "$tc"
ok "sbcd on n2 killed: n1 saw it after $PAIR_SEEN_MS ms, active after $PAIR_ACTIVE_MS ms"
calls_on n1 || fail "n1 has $(n_calls n1) calls after the takeover"

# ---- sbcd back on n2 ----
pair_sbcd n2 "${SW_OPTS[@]}"
SBC2=$LAB_BG_PID
wait_for 20 is_synced n2 || fail "n2 not synced after its restart: $(ctl n2 role)"
calls_on n2 || fail "restarted n2 has $(n_calls n2) calls, not $CALLS"
ok "sbcd restarted on n2 and synced ($(field n2 last_sync_records) records in $(field n2 last_sync_ms) ms)"

# ---- every BYE through n1 ----
pair_calls_done 120
ok "every BYE (caller's and callee's) answered through n1"
no_calls() { [ "$(n_calls n1)" = 0 ] && [ "$(n_calls n2)" = 0 ]; }
wait_for 5 no_calls || fail "calls left: n1 $(n_calls n1), n2 $(n_calls n2)"
ok "no call left on either node"

# an unsynced node does not promote itself into a half state: n2 starts
# while n1's sbcd cannot tell it anything (stopped), then n1's sbcd dies
# without n2 knowing what it held; n2 has no active to sync from and
# refuses to become active unless forced
pair_stop n2 "$SBC2"
kill -STOP "$SBC1"
pair_sbcd n2 "${SW_OPTS[@]}"
SBC2=$LAB_BG_PID
unsynced() { [ "$(field n2 synced)" = no ] && ctl n2 role | grep -q '^peer 1 '; }
wait_for 5 unsynced || fail "n2 is not an unsynced standby beside n1: $(ctl n2 role)"
lab_kill_proc n1 "$SBC1"
wait_for 10 pair_left n2 1 || fail "n2 still sees n1's sbcd"
out=$(ctl n2 role active)
case $out in *"ERR not synced"*) ;; *) fail "an unsynced n2 was promoted: $out" ;; esac
[ "$(field n2 role)" = standby ] || fail "n2 is not a standby after the refusal"
ctl n2 role active --force >/dev/null || fail "n2 refused a forced promotion"
[ "$(field n2 role)" = active ] || fail "n2 not active when forced"
ok "an unsynced node refuses to become active; forced, it does"
pair_stop n2 "$SBC2"
