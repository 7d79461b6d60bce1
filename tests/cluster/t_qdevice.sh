#!/bin/bash
# t_qdevice: two nodes and a tie-breaker.  With two_node, a partition
# leaves both halves quorate and both sbcd may be active (split brain);
# with corosync-qdevice on both nodes and corosync-qnetd in a third place
# (the lab member qn, LAB_QNETD=1 in lab.sh, TLS on), exactly one half
# keeps quorum:
#   1. both nodes quorate with 3 votes expected and 3 cast (the device's
#      one), qdevice connected to qnetd over TLS with its certificate
#      verified; sbcd on n1 active, on n2 its synced standby;
#   2. the active n1 is cut off from the LAN (its processes live on): it
#      loses quorum and demotes itself, n2 never loses quorum, and at no
#      sample is n2's quorum decided without n1 while n1 still counts
#      itself quorate; n2, asked to become active at every sample since
#      n1 left its group, refuses while its quorum is pending (qnetd has
#      not answered) and is active only once n1 has lost quorum; the
#      addresses move to n2; qnetd votes for n2 only; n1 refuses
#      `role active` (no quorum);
#   3. the cable is back: n1 rejoins as n2's standby and resyncs;
#   4. the standby (n1) is cut off: the active n2 stays quorate and active
#      at every sample, n1 loses quorum; healed again, n1 resyncs;
#   5. only the link between the nodes fails (both still reach qnetd):
#      qdevice's heuristics (a command that passes where sbcd is active)
#      make qnetd vote for the active n2, which stays active and quorate
#      at every sample, not for n1 (lowest node id, the tie-breaker);
#   6. n1 cut off again, and once without quorum given 3 votes (as an
#      operator would force it: corosync-quorumtool -v): a quorum regained
#      without a new membership, which Corosync counts at once, sbcd only
#      once it has held cluster_quorum_settle (the default, 6 s), refusing
#      the role meanwhile (votequorum was seen to report such a regain for
#      a moment on its own: cluster.c, settle_hold).
# Every wait is bounded; the ok lines give the times.  How the times come
# about (and why the lab shortens qdevice's timeout and lengthens qnetd's
# dead peer detection): lab.sh, header, "quorum device".
# Label cluster.  Arg 1: the lab index (tests/cluster/CMakeLists.txt).
LAB_QNETD=1
. "$(dirname "$0")/lab.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pair.sh"
# qdevice's heuristics: pass where sbcd is active (its socket is
# LAB_W/<node>/sbcd.sock, the node's hostname is its name), so that of two
# halves that both reach qnetd the active's gets the vote
LAB_QDEVICE_HEURISTICS="/bin/sh -c \"$SBCCTL -s $LAB_W/\$(hostname)/sbcd.sock role | grep -qx \\\"role active\\\"\""

# The cut node's quorum is gone within token + consensus (1.2 token)
# plus two of qdevice's heartbeats (0.8 of quorum.device.timeout each;
# lab.sh) at most; 5 s more for a loaded machine.  The other side is
# told (qnetd's vote) one heartbeat later still.
HB_MS=$((${LAB_QDEVICE_TIMEOUT:-10000} * 8 / 10))
LOSS_MAX_MS=$((LAB_TOKEN * 22 / 10 + 2 * HB_MS + 5000))
DECIDED_MAX_MS=$((LOSS_MAX_MS + 2 * HB_MS))

# corosync-quorumtool -s of NODE: quorate, 3 expected, 3 cast, the
# device's row with its vote.
three_votes() {
	local q
	q=$(lab_x "$1" timeout -k 1 5 corosync-quorumtool -s 2>&1)
	if ! { grep -Eq '^Quorate: +Yes' <<<"$q" && grep -Eq '^Expected votes: +3$' <<<"$q" &&
		grep -Eq '^Total votes: +3$' <<<"$q" && grep -Eq '^ +0 +1 +Qdevice' <<<"$q"; }; then
		echo "$q"
		return 1
	fi
}

# One sample of NODE's sbcd: "ROLE QUORATE PENDING peer|alone" (PENDING:
# its membership changed and the quorum service has not decided on the
# new one yet, QUORATE is the old one's; alone: OTHER is no longer in its
# group).
view() { # NODE OTHER
	ctl "$1" role 2>/dev/null | awk -v o="$2" '
		$1 == "role" { r = $2 } $1 == "quorate" { q = $2 }
		$1 == "quorum_pending" { p = $2 } $1 == "peer" && $2 == o { m = 1 }
		END { print (r ? r : "-"), (q ? q : "-"), (p ? p : "-"), (m ? "peer" : "alone") }'
}

# Sample both sbcd every 0.1 s after CUT's cable was cut at T0 until CUT
# has lost quorum and KEEP's quorum is decided without CUT, within the
# bounds.  KEEP is sampled first, so that a view of KEEP is never
# compared with an older view of CUT.  At every sample: KEEP quorate (it
# never loses quorum), never both active, and never KEEP's quorum decided
# without CUT while CUT still counts itself quorate (two quorate halves:
# the split brain two_node allows).  MODE active: KEEP is the active and
# must stay so at every sample.  MODE promote: KEEP is the standby and is
# asked to become active at every sample from the moment CUT has left its
# group, as an eager operator or agent would: sbcd must refuse while its
# quorum is pending, and once it is active CUT must have lost quorum
# already; the service addresses then move.  Sets (ms from T0) LEFT_MS
# (CUT gone from KEEP's group), LOST_MS (CUT's quorum gone), DECIDED_MS
# (KEEP's quorum decided without CUT), ACTIVE_MS (KEEP promoted), and
# REFUSED (promotions refused as pending), SAMPLES.
watch_cut() { # CUT KEEP T0 MODE
	local cut=$1 keep=$2 t0=$3 mode=$4 now rk qk pk mk rc qc pc mc out
	LEFT_MS="" LOST_MS="" DECIDED_MS="" ACTIVE_MS="" REFUSED=0 SAMPLES=0
	while :; do
		now=$(($(lab_ms) - t0))
		read -r rk qk pk mk <<<"$(view "$keep" "${cut#n}")"
		read -r rc qc pc mc <<<"$(view "$cut" "${keep#n}")"
		SAMPLES=$((SAMPLES + 1))
		[ "$qk" = yes ] || fail "$keep not quorate $now ms after $cut was cut: $(ctl "$keep" role | head -5)"
		[ "$mode" != active ] || [ "$rk" = active ] ||
			fail "$keep is $rk, no longer active, $now ms after $cut was cut"
		[ "$rk" = active ] && [ "$rc" = active ] &&
			fail "both active $now ms after $cut was cut"
		[ "$mk" = alone ] && [ "$pk" = no ] && [ "$qc" = yes ] &&
			fail "split brain $now ms after $cut was cut: $keep quorate without $cut, $cut still quorate ($rc, pending $pc, $mc)"
		if [ -z "$LOST_MS" ] && [ "$qc" = no ]; then
			LOST_MS=$now
			[ "$rc" = standby ] || fail "$cut without quorum is $rc"
		fi
		[ -z "$LEFT_MS" ] && [ "$mk" = alone ] && LEFT_MS=$now
		[ -z "$DECIDED_MS" ] && [ "$mk" = alone ] && [ "$pk" = no ] && DECIDED_MS=$now
		if [ "$mode" = promote ] && [ -z "$ACTIVE_MS" ] && [ "$mk" = alone ]; then
			if out=$(ctl "$keep" role active); then
				ACTIVE_MS=$(($(lab_ms) - t0))
				# promoted: decided since this sample's view
				[ -n "$DECIDED_MS" ] || DECIDED_MS=$ACTIVE_MS
				read -r rc qc pc mc <<<"$(view "$cut" "${keep#n}")"
				if [ "$rc" != standby ] || [ "$qc" != no ]; then
					fail "$keep promoted $ACTIVE_MS ms after the cut while $cut is $rc, quorate $qc"
				fi
				pair_move "$cut" "$keep"
			else
				case $out in
				*"quorum pending"*) REFUSED=$((REFUSED + 1)) ;;
				*) fail "$keep refused the role $now ms after the cut: $out" ;;
				esac
			fi
		fi
		[ -n "$LOST_MS" ] && [ -n "$DECIDED_MS" ] &&
			{ [ "$mode" != promote ] || [ -n "$ACTIVE_MS" ]; } && return 0
		[ -n "$LOST_MS" ] || [ "$now" -lt "$LOSS_MAX_MS" ] ||
			fail "$cut still quorate $now ms after the cut: $(ctl "$cut" role | head -5)"
		[ "$now" -lt "$DECIDED_MAX_MS" ] ||
			fail "$keep's quorum without $cut not decided $now ms after the cut: $(ctl "$keep" role | head -5)"
		sleep 0.1
	done
}

# sbcd's own figure (its log) for NODE's last membership: "ms after the
# membership" its quorum was decided, and the decision.
decided() { # NODE
	sed -n 's/.*cluster: quorum of ring [0-9]* decided (\(.*\)) \([0-9]*\) ms after the membership$/\2 ms (\1)/p' \
		"$LAB_W/$1/sbcd.log" | tail -n 1
}

# qnetd's view: NODE's client connected with an ACK as its last vote,
# and no other node's client.
qnetd_votes_for() { # NODE
	local l
	l=$(lab_x qn timeout -k 1 5 corosync-qnetd-tool -l 2>&1)
	[ "$(grep -c '^ *Node ID [0-9]*:' <<<"$l")" = 1 ] &&
		grep -q "^ *Node ID ${1#n}:" <<<"$l" && grep -q '^ *Vote:.*(ACK)$' <<<"$l"
}

# qnetd's heuristics result and last vote for NODE: "Pass ACK".
qnetd_node() { # NODE
	lab_x qn timeout -k 1 5 corosync-qnetd-tool -l 2>/dev/null | awk -v n="${1#n}" '
		/^ *Node ID [0-9]+:/ { sub(":", "", $3); cur = $3 }
		cur == n && $1 == "Heuristics:" { h = $2 }
		cur == n && $1 == "Vote:" { v = $NF; gsub(/[()]/, "", v) }
		END { print h, v }'
}

# NODE back: a member of both, quorate, standby, synced.
back() { # NODE
	[ "$(field "$1" quorate)" = yes ] && [ "$(field "$1" role)" = standby ] && is_synced "$1"
}

lab_up n1 n2
pair_init
# shellcheck disable=SC2119 # no extra sbcd options
pair_up

# ---- 1. the device's vote, over TLS ----
for n in n1 n2; do
	q=$(three_votes "$n") || fail "$n: not quorate with the device's vote: $q"
	d=$(lab_x "$n" timeout -k 1 5 corosync-qdevice-tool -sv 2>&1)
	grep -Eq '^State:[[:space:]]+Connected' <<<"$d" || fail "$n: qdevice not connected: $d"
	grep -Eq '^TLS active:[[:space:]]+Yes' <<<"$d" || fail "$n: qdevice without TLS: $d"
done
l=$(lab_x qn timeout -k 1 5 corosync-qnetd-tool -lv 2>&1)
[ "$(grep -Ec 'TLS active:[[:space:]]+Yes \(client certificate verified\)' <<<"$l")" = 2 ] ||
	fail "qnetd does not see both nodes over TLS with verified certificates: $l"
grep -q 'Fifty-Fifty split' <<<"$l" || fail "qnetd does not use ffsplit: $l"
for n in n1 n2; do
	[ "$(field "$n" quorate)" = yes ] || fail "sbcd on $n not quorate: $(ctl "$n" role)"
done
[ "$(field n1 role)" = active ] || fail "n1 not active: $(ctl n1 role)"
ok "n1 and n2 quorate with 3 of 3 votes, qdevice connected to qnetd over TLS (certificates verified); n1 active, n2 synced standby"

# ---- 2. the active cut off ----
t0=$(lab_ms)
lab_partition n1
watch_cut n1 n2 "$t0" promote
ok "active n1 cut off: n2 saw it leave after $(lab_secs 0 "$LEFT_MS") s, its quorum pending; n1 lost quorum after $(lab_secs 0 "$LOST_MS") s and demoted itself; n2's quorum decided (qnetd's vote) after $(lab_secs 0 "$DECIDED_MS") s, $(lab_secs "$LOST_MS" "$DECIDED_MS") s later"
ok "n2 asked to become active at every sample since n1 left: refused $REFUSED times (quorum pending), active after $(lab_secs 0 "$ACTIVE_MS") s; n2 quorate at all $SAMPLES samples, never both active, never two quorate halves"
wait_for 5 qnetd_votes_for n2 ||
	fail "qnetd does not vote for n2 alone: $(lab_x qn corosync-qnetd-tool -l 2>&1)"
[ "$(field n1 quorate)" = no ] || fail "n1 quorate again while cut off"
ctl n1 role active | grep -q "no quorum" ||
	fail "n1 took the role without quorum: $(ctl n1 role active)"
[ "$(field n1 role)" = standby ] || fail "n1 is $(field n1 role)"
ok "qnetd votes for n2 only; n1 refuses the role (no quorum); sbcd's logs: after the new membership, n1's quorum decided in $(decided n1), n2's in $(decided n2)"

# n1 reconnected: it rejoins as a synced standby, n2 stays active
heal_n1() {
	lab_heal n1
	lab_wait_members n1 2 20 || fail "n1 did not rejoin"
	wait_for 20 back n1 || fail "n1 not back as a synced standby: $(ctl n1 role | head -4)"
	[ "$(field n2 role)" = active ] || fail "n2 lost its role when n1 came back: $(ctl n2 role)"
}

# ---- 3. n1 back ----
t1=$(lab_ms)
heal_n1
wait_for 10 three_votes n1 || fail "n1 without the device's vote: $(three_votes n1)"
ok "n1 back as n2's synced standby $(lab_secs "$t1" "$(lab_ms)") s after the heal, 3 votes again"

# ---- 4. the standby cut off ----
t2=$(lab_ms)
lab_partition n1
watch_cut n1 n2 "$t2" active
ok "standby n1 cut off: n1 lost quorum after $(lab_secs 0 "$LOST_MS") s; n2 saw it leave after $(lab_secs 0 "$LEFT_MS") s, its quorum decided after $(lab_secs 0 "$DECIDED_MS") s; n2 active and quorate at all $SAMPLES samples"
wait_for 5 qnetd_votes_for n2 ||
	fail "qnetd does not vote for n2 alone: $(lab_x qn corosync-qnetd-tool -l 2>&1)"
ok "qnetd votes for n2 only; sbcd's logs: after the new membership, n1's quorum decided in $(decided n1), n2's in $(decided n2)"

t3=$(lab_ms)
heal_n1
ok "n1 back as a synced standby $(lab_secs "$t3" "$(lab_ms)") s after the second heal"

# ---- 5. only the link between the nodes fails ----
t4=$(lab_ms)
lab_isolate n1
lab_isolate n2
watch_cut n1 n2 "$t4" active
if [ "$(qnetd_node n2)" != "Pass ACK" ] || [ "$(qnetd_node n1)" != "Fail NACK" ]; then
	fail "qnetd (heuristics, vote): n1 $(qnetd_node n1), n2 $(qnetd_node n2)"
fi
glitch=$(grep -c "regained quorum lost again after" "$LAB_W/n1/sbcd.log")
ok "link between the nodes cut, both reach qnetd: it voted for the active n2 (heuristics passed) over n1 (lowest node id); n1 lost quorum after $(lab_secs 0 "$LOST_MS") s, n2's quorum decided after $(lab_secs 0 "$DECIDED_MS") s, active and quorate at all $SAMPLES samples; Corosync on n1 regained quorum for a moment $glitch times so far, sbcd never counted it"
t5=$(lab_ms)
lab_unisolate n1
lab_unisolate n2
lab_wait_members n1 2 20 || fail "n1 did not rejoin"
wait_for 20 back n1 || fail "n1 not back as a synced standby: $(ctl n1 role | head -4)"
[ "$(field n2 role)" = active ] || fail "n2 lost its role: $(ctl n2 role)"
ok "n1 back as a synced standby $(lab_secs "$t5" "$(lab_ms)") s after the link came back"

# ---- 6. quorum regained on a cut-off n1 without a new membership ----
t6=$(lab_ms)
lab_partition n1
no_quorum() { [ "$(field n1 quorate)" = no ]; }
wait_for $(((LOSS_MAX_MS + 999) / 1000)) no_quorum || fail "n1 still quorate $(($(lab_ms) - t6)) ms after the cut"
SETTLE_MS=6000
cs_quorate() { lab_x "$1" timeout -k 1 5 corosync-quorumtool -s 2>/dev/null | grep -Eq '^Quorate: +Yes'; }
t=$(lab_ms)
lab_x n1 timeout -k 1 5 corosync-quorumtool -n 1 -v 3 || fail "corosync-quorumtool -v 3 refused on n1"
wait_for 5 cs_quorate n1 || fail "n1's Corosync not quorate with 3 votes: $(lab_x n1 corosync-quorumtool -s 2>&1)"
cs_ms=$(($(lab_ms) - t))
held=0
while ! [ "$(field n1 quorate)" = yes ]; do
	now=$(($(lab_ms) - t))
	[ "$now" -lt $((SETTLE_MS + 5000)) ] || fail "sbcd on n1 not quorate $now ms after Corosync: $(ctl n1 role | head -6)"
	if [ "$now" -lt $((SETTLE_MS - 1000)) ]; then
		[ "$(field n1 quorum_settling)" = yes ] || fail "n1 not settling $now ms after the regain: $(ctl n1 role | head -6)"
		ctl n1 role active | grep -q "no quorum" || fail "n1 took the role $now ms after the regain"
		held=$((held + 1))
	fi
	sleep 0.2
done
q_ms=$(($(lab_ms) - t))
[ "$q_ms" -ge "$SETTLE_MS" ] || fail "sbcd on n1 counted the regained quorum after $q_ms ms, before $SETTLE_MS"
[ "$held" -gt 0 ] || fail "no sample of n1 settling"
grep -q "quorate (regained on ring [0-9]*, held [0-9]* ms)" "$LAB_W/n1/sbcd.log" || fail "no log line of the settled regain"
[ "$(field n1 role)" = standby ] || fail "n1 is $(field n1 role)"
ok "cut off again, n1 given 3 votes: its quorum regained without a new membership; Corosync quorate after $cs_ms ms, sbcd after $q_ms ms (settle $SETTLE_MS ms), refused the role at $held samples meanwhile"

pair_stop n1 "$SBC1"
pair_stop n2 "$SBC2"
ok "both sbcd stopped cleanly"
