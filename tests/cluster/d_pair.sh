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
drill_suite ${DRILLS:-switchover sbcd-crash resource-failure node-crash standby-crash}
