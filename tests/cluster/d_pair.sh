#!/bin/bash
# d_pair: the failover drills of a two-node pair under Pacemaker, run by
# sbc-drill as an operator runs it, each checked against the goals
# (sbc-drill --check; a miss is retried once):
#   switchover        planned (node standby): no call lost, RTP gap <= 1 s
#   sbcd-crash        sbcd SIGKILLed on the active, the node lives: the
#                     standby hears it from CPG at once and tells
#                     Pacemaker (ra/sbcd-peer-down); recovered within
#                     the Promoted monitor interval (2 s) + 1 s
#   resource-failure  the access address removed on the active: IPaddr2's
#                     monitor finds it, Pacemaker recovers
#   node-crash        the active node dies (cable cut, every process
#                     killed): recovered within token + consensus + 0.5 s
#   standby-crash     the standby dies: the active carries on, no call
#                     lost, no gap
# Every drill: every call confirmed before the fault still answers a
# re-INVITE or its BYE after it (UDP, TCP, TLS, with RTP), RTP gap <= the
# failover time + 100 ms, zero duplicate BYEs.  Between drills the
# cluster is made whole again (a failed node cleaned up, a crashed one
# revived and synced).  Label drill.  Arg 1: the lab index.
. "$(dirname "$0")/lab.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pair.sh"
. "$HERE/drill.sh"

t0=$(lab_ms)
drill_up n1 n2
ok "two nodes under Pacemaker (the README's recipe) in $(lab_secs "$t0" "$(lab_ms)") s: $(lab_promoted) Promoted"

# DRILLS: a subset, or one repeated (a developer looking at one drill)
for d in ${DRILLS:-switchover sbcd-crash resource-failure node-crash standby-crash}; do
	t=$(lab_ms)
	drill_run "$d" "$d"
	lost=$(drill_field "$d" calls.lost)
	before=$(drill_field "$d" calls.confirmed_before)
	[ "$lost" = 0 ] && [ "$before" -gt 0 ] || fail "$d: $lost of $before calls lost"
	[ "$(drill_field "$d" duplicate_byes)" = 0 ] || fail "$d: duplicate BYEs"
	strict=$(drill_field "$d" strict_ok)
	ok "$d: $before calls survived, RTP gap max $(drill_field "$d" rtp.gap_max_ms) ms, service back after $(drill_field "$d" service_ms) ms, goals met strictly: $strict ($(lab_secs "$t" "$(lab_ms)") s)"
	drill_whole 120 || fail "the cluster is not whole again after $d"
done
ok "every drill passed in $(lab_secs "$t0" "$(lab_ms)") s"
