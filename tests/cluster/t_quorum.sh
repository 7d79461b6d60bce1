#!/bin/bash
# t_quorum: an active cut off from the cluster demotes itself, and comes
# back as a standby of the node that took over.  Three Corosync nodes
# (sbcd on n1 and n2; n3 only votes, as a quorum device would):
#   1. n1 active, n2 its synced standby, CALLS calls up through n1;
#   2. n1's cable is cut, n1 lives on: alone it has no quorum and demotes
#      itself (no more SIP, no media relayed) and refuses `role active`;
#      n2 and n3 keep quorum, the addresses move to n2, n2 is promoted;
#   3. the first half of the calls is hung up through n2 while n1 is
#      away, so n1's copy is stale;
#   4. the cable is back: n1 sees a newer active, asks n2 for its state
#      and is synced with n2's calls, not its own;
#   5. the other half is hung up by the callees through n2; nothing is
#      left on either node.
# Label cluster.  Arg 1: the lab index (tests/cluster/CMakeLists.txt).
. "$(dirname "$0")/lab.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pair.sh"
CALLS=${PAIR_CALLS:-10}
HALF=$((CALLS / 2))

lab_up n1 n2 n3
pair_init
pair_up
pair_calls "$CALLS" "$HALF" 15000 30000 20
wait_for 20 confirmed n1 || fail "calls not all answered on n1: $(ctl n1 calls | head -3)"
wait_for 10 confirmed n2 || fail "n2 lacks calls: $(n_calls n2)"
ok "$CALLS calls up through n1, replicated to n2"

# ---- 2. n1 alone: no quorum, no role ----
t0=$(lab_ms)
lab_partition n1
standby() { [ "$(field "$1" role)" = standby ]; }
wait_for 15 standby n1 || fail "n1 still active 15 s after losing the cluster: $(ctl n1 role)"
demoted_ms=$(( $(lab_ms) - t0 ))
[ "$(field n1 quorate)" = no ] || fail "n1 thinks it is quorate alone: $(ctl n1 role)"
ctl n1 role active | grep -q "no quorum" || fail "n1 took the role without quorum: $(ctl n1 role active)"
ok "n1 demoted itself $demoted_ms ms after the cut and refuses the role without quorum"
pair_takeover n1 n2 "$t0"
[ "$(field n2 quorate)" = yes ] || fail "n2 not quorate with n3: $(ctl n2 role)"
ok "n2 (quorate with n3) active $PAIR_ACTIVE_MS ms after the cut"

# ---- 3. the caller's half ends through n2 while n1 is away ----
half_left() { [ "$(n_calls n2)" = "$((CALLS - HALF))" ]; }
wait_for 30 half_left || fail "n2 has $(n_calls n2) calls, not $((CALLS - HALF))"
[ "$(n_calls n1)" = "$CALLS" ] || fail "n1 (cut off) changed: $(n_calls n1) calls"
ok "the callers hung up $HALF calls through n2; n1's copy still has $CALLS"

# ---- 4. n1 back: a standby of n2, with n2's state ----
t1=$(lab_ms)
lab_heal n1
lab_wait_members n1 3 20 || fail "n1 did not rejoin"
same() { is_synced n1 && [ "$(n_calls n1)" = "$(n_calls n2)" ]; }
wait_for 20 same || fail "n1 not resynced from n2: $(ctl n1 role | head -4), calls n1 $(n_calls n1) n2 $(n_calls n2)"
standby n1 || fail "n1 is $(field n1 role) after rejoining"
[ "$(field n2 role)" = active ] || fail "n2 lost its role when n1 came back: $(ctl n2 role)"
ok "n1 back as n2's standby, synced with n2's $(n_calls n2) calls in $(( $(lab_ms) - t1 )) ms"

# ---- 5. the callees end the rest through n2 ----
pair_calls_done 60
ok "every BYE answered 200 through n2"
pair_clean n1 "$SBC1"
pair_clean n2 "$SBC2"
