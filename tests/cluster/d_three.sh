#!/bin/bash
# d_three: the drills of a three-node cluster under Pacemaker (the
# README's recipe with NODES=3, no two_node: a majority keeps quorum):
#   partition   the active node is cut off the network and lives on: the
#               majority promotes a standby and takes the addresses, the
#               minority loses quorum, its sbcd demotes itself and
#               Pacemaker drops its addresses (no-quorum-policy=stop);
#               the calls survive on the new active
# (d_pair has the other drills: a third node changes none of them but the
# time Corosync takes to see a node go, token + consensus.)
# Checked by sbc-drill --check (a miss is retried once).  Label drill.
# Arg 1: the lab index.
. "$(dirname "$0")/lab.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pair.sh"
. "$HERE/drill.sh"

t0=$(lab_ms)
drill_up n1 n2 n3
ok "three nodes under Pacemaker in $(lab_secs "$t0" "$(lab_ms)") s: $(lab_promoted) Promoted"

drill_suite ${DRILLS:-partition}
