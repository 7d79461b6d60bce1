#!/bin/bash
# Each answer of the upstream is relayed to the caller unchanged:
# 503 with Retry-After (route-advance), 302 with its Contact, 603, 403.
. "$(dirname "$0")/lib.sh"

sbc_conf
sbc_start

check() {
	local code=$1 reason=$2 hdr=$3 re=$4 uas uac
	uas=$(scen_gen uas$code uas_err.xml.in CODE="$code" REASON="$reason" \
		HDR="$hdr")
	uac=$(scen_gen uac$code uac_err.xml.in CODE="$code" HDR="${hdr%%:*}:" \
		RE="$re")
	sipp_bg uas$code -sf "$uas" -i "$U" -p 5080
	sipp_call uac$code "$uac" 3 -s 5551234 || fail "$code not relayed"
	eval "kill \$PID_uas$code; wait \$PID_uas$code 2>/dev/null"
	ok "$code $reason relayed with '$hdr'"
}

check 503 "Service Unavailable" "Retry-After: 30" "30"
check 302 "Moved Temporarily" "Contact: <sip:A00123@$U:5080>" "A00123"
check 603 "Decline" "Reason: Q.850;cause=21" "cause=21"
check 403 "Forbidden" "Warning: 399 screen \"Blocked\"" "Blocked"

sbc_alive
sbc_stop
