#!/bin/bash
# Upstream unreachable: the caller gets 503 within a second, and the log
# says why, for UDP (silence), TCP (refused) and TLS (refused).
. "$(dirname "$0")/lib.sh"


sbc_conf
sbc_start
fast_503 "UDP upstream silent"
grep -q 'no answer to INVITE within' "$W/sbcd.log" || fail "no log line"
sbc_stop

sbc_conf "upstream = sip:$U:5080;transport=tcp"
sbc_start
fast_503 "TCP upstream refusing"
grep -q 'failed: Connection refused' "$W/sbcd.log" || fail "no log line for TCP"
sbc_stop
