#!/bin/bash
# CANCEL from the caller is answered 200, propagated downstream on the
# INVITE's branch, and the downstream 487 comes back to the caller.
. "$(dirname "$0")/lib.sh"

sbc_conf
sbc_start
sipp_bg uas -sf "$SCEN/uas_cancel.xml" -i "$U" -p 5080
sipp_call uac uac_cancel.xml 5 -s 5551234 || fail "cancelled calls failed"
[ "$(grep -c '^CANCEL sip' "$W/uas.msg")" -ge 5 ] || fail "CANCEL not propagated"
ok "5 calls cancelled end to end"
sbc_alive
sbc_stop
