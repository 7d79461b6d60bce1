#!/bin/bash
# Redirect-mode screening: the upstream (U) is asked for a verdict with
# P-Received, P-UA and P-Calls; a 302 to A00... sends the call on to the
# switch (S) with its original Request-URI and without the P- headers;
# 603 is relayed, any other verdict is 403; a timeout, a 5xx or a
# transport failure is fail-open or fail-closed; a CANCEL during the
# verdict ends it there; emergency calls are never screened; over
# verified TLS a rogue screening server is a transport failure.  Every
# verdict is a security event.
. "$(dirname "$0")/lib.sh"
SBCCTL=${SBCCTL:?SBCCTL must point to sbcctl}
S=127.0.$T_N.4
EV=$W/security.log

# config errors name file:line
printf 'screening_mode = maybe\n' > "$W/bad1.conf"
"$SBCD" -t -f "$W/bad1.conf" > "$W/bad1.out" 2>&1 && fail "bad mode accepted"
grep -q "bad1.conf:1: option 'screening_mode': 'maybe' is not valid (expected relay,redirect)" "$W/bad1.out" \
	|| fail "bad mode: $(cat "$W/bad1.out")"
printf 'log_level = info\nscreening_mode = redirect\n' > "$W/bad2.conf"
"$SBCD" -t -f "$W/bad2.conf" > "$W/bad2.out" 2>&1 && fail "redirect without switch accepted"
grep -q "bad2.conf:2: screening_mode = redirect needs the option 'switch'" "$W/bad2.out" \
	|| fail "no switch: $(cat "$W/bad2.out")"
printf 'verdict_fail = ajar\n' > "$W/bad3.conf"
"$SBCD" -t -f "$W/bad3.conf" > "$W/bad3.out" 2>&1 && fail "bad verdict_fail accepted"
grep -q "bad3.conf:1: option 'verdict_fail'" "$W/bad3.out" || fail "bad verdict_fail: $(cat "$W/bad3.out")"
ok "config errors: bad screening_mode, redirect without switch, bad verdict_fail"

redirect_conf() {
	sbc_conf "screening_mode = redirect" "switch = sip:$S:5060;transport=udp" \
		"security_log = $EV" "emergency_route = sip:$S:5060" "$@"
}
redirect_conf "verdict_fail = closed"
"$SBCD" -t -v -f "$W/sbc.conf" > "$W/v.out" || fail "-t -v on a redirect config"
grep -q '^screening_mode = redirect$' "$W/v.out" && grep -q '^verdict_fail = closed$' "$W/v.out" \
	&& grep -q '^verdict_timeout = 1500$' "$W/v.out" && grep -q '^verdict_approve_prefix = A00$' "$W/v.out" \
	|| fail "-t -v: $(grep -E 'screening|verdict' "$W/v.out" | tr '\n' ' ')"
ok "a redirect config passes -t; -t -v prints the mode and verdict options"

# events "ACTION": how many verdict events with that action so far
events() {
	grep -c "\"rule\":\"verdict\",\"action\":\"$1\"" "$EV"
}

# verdict NAME CODE REASON HDR [UA]: a screening server giving this verdict
verdict() {
	local scen
	scen=$(scen_gen "$1" uas_verdict.xml.in CODE="$2" REASON="$3" HDR="$4" \
		SRC="$P:5070" UA="${5-sbc-test-uac}")
	sipp_bg "$1" -sf "$scen" -i "$U" -p 5080 -m 1
}

# refused NAME CODE: one call that must get CODE (ACKed)
refused() {
	local scen
	scen=$(scen_gen "uac$1" uac_err.xml.in CODE="$2" HDR="CSeq:" RE=INVITE)
	sipp_call "uac$1" "$scen" 1 -s 5551234 || fail "$1: no $2 for the caller"
}

# done_ok NAME: the screening server sipp NAME ended without error
done_ok() {
	eval "wait_pid \$PID_$1 10" || fail "$1: the screening server failed: $(tail -3 "$W/$1.err" 2>/dev/null)"
}

# no_switch WHAT: the switch has seen no INVITE since switch_mark
switch_mark() { SW_N=$(grep -c '^INVITE ' "$W/switch.msg"); }
no_switch() {
	[ "$(grep -c '^INVITE ' "$W/switch.msg")" = "$SW_N" ] || fail "$1: the call reached the switch"
}

ms() { echo $(( $(date +%s%N) / 1000000 )); }

redirect_conf
sbc_start
sipp_bg switch -sf "$SCEN/uas.xml" -i "$S" -p 5060

# approve: the call completes through sbc to the switch
verdict v_ok 302 "Moved Temporarily" "Contact: <sip:A00123@$U:5080>"
sipp_call approve uac.xml 1 -s 5551234 -d 100 || fail "approved call failed"
done_ok v_ok
grep -q "^INVITE sip:5551234@$A:5060 SIP/2.0" "$W/switch.msg" || fail "switch: not the original Request-URI"
grep -qi '^P-\(Received\|UA\|Calls\):' "$W/switch.msg" && fail "switch: P- headers leaked"
grep -q "^Record-Route: <sip:$C:5060;lr>" "$W/switch.msg" || fail "switch: no Record-Route"
grep -q "^BYE sip:callee@$S:5060" "$W/switch.msg" || fail "switch: no BYE"
grep -q "^P-Calls: [0-9][0-9]*" "$W/v_ok.msg" || fail "verdict: no numeric P-Calls"
grep -q "^P-Received: $P:5070;transport=udp" "$W/v_ok.msg" || fail "verdict: no P-Received"
grep -q "^Record-Route" "$W/v_ok.msg" && fail "verdict: Record-Route on the question"
grep -q "SIP/2.0 302" "$W/approve.msg" && fail "caller saw the verdict"
[ "$(events approve)" = 1 ] || fail "no approve event"
ok "302 A00...: call completed at the switch (original R-URI, Record-Route, no P- headers)"

# verdicts that refuse (callers without User-Agent: P-UA is empty)
switch_mark
verdict v_b00 302 "Moved Temporarily" "Contact: <sip:B00123@$U:5080>" ""
refused b00 403
done_ok v_b00
verdict v_403 403 Forbidden "Warning: 399 screen \"Blocked\"" ""
refused 403 403
done_ok v_403
verdict v_404 404 "Not Found" "X-Test: 1" ""
refused 404 403
done_ok v_404
verdict v_603 603 "Blocked Caller" "Reason: Q.850;cause=21" ""
refused 603 603
done_ok v_603
grep -q "^SIP/2.0 603 Blocked Caller" "$W/uac603.msg" || fail "603 reason phrase not relayed"
# a 2xx is no approval; sbcd ACKs it so no retransmission reaches the caller
verdict v_200 200 OK "Contact: <sip:A00123@$U:5080>" ""
refused 200 403
done_ok v_200
grep -q '^SIP/2.0 200' "$W/uac200.msg" && fail "a 2xx verdict reached the caller"
no_switch "refused calls"
[ "$(events reject)" = 4 ] || fail "reject events: $(events reject)"
[ "$(events 603)" = 1 ] || fail "no 603 event"
ok "302 B00... -> 403, 403 -> 403, 404 -> 403, 200 -> 403 (ACKed), 603 Blocked Caller relayed; none reached the switch"

# a caller cannot vouch for itself: its own P- headers are removed
scen=$(scen_gen v_spoof uas_verdict.xml.in CODE=403 REASON=Forbidden HDR="X-Test: 1" \
	SRC="$P:5071" UA="")
sipp_bg v_spoof -sf "$scen" -i "$U" -p 5080 -m 1
printf 'P-Calls: 999\nP-Received: 192.0.2.1:5060;transport=tls\np-ua: trusted\n' \
	| mkinvite "$W/spoof.txt" 5551234
r=$(raw_udp "$P:5071" "$A" 5060 "$W/spoof.txt" 3)
[ "${r%% [A-Z]*}" = "SIP/2.0 403" ] || fail "spoofed P- headers: got '$r'"
done_ok v_spoof
# (the spoofed values looked for in the P- lines only: "999" may well
# occur in a random Call-ID, tag or trace timestamp)
[ "$(grep -ci '^P-' "$W/v_spoof.msg")" = 3 ] \
	&& ! grep -i '^P-' "$W/v_spoof.msg" | grep -qE '999|192\.0\.2\.1|trusted' \
	|| fail "the caller's own P- headers reached the screening server"
ok "the caller's own P-Calls, P-Received, P-UA are removed from the question"

# 5xx, fail-open: the call goes on
verdict v_503 503 "Service Unavailable" "Retry-After: 5"
sipp_call open503 uac.xml 1 -s 5551234 -d 100 || fail "5xx fail-open: call failed"
done_ok v_503
[ "$(events error-open)" = 1 ] || fail "no error-open event"
ok "5xx verdict, fail-open: call completed at the switch"

# no verdict within verdict_timeout (100 Trying does not stop it), fail-open
sipp_bg v_slow -sf "$SCEN/uas_verdict_slow.xml" -i "$U" -p 5080 -m 1
t0=$(ms)
sipp_call opento uac.xml 1 -s 5551234 -d 100 || fail "timeout fail-open: call failed"
t=$(( $(ms) - t0 ))
done_ok v_slow
[ "$t" -ge 1500 ] && [ "$t" -lt 3500 ] || fail "timeout fail-open: call took $t ms (verdict_timeout 1500)"
grep -q '^CANCEL ' "$W/v_slow.msg" || fail "verdict question not cancelled"
[ "$(events timeout-open)" = 1 ] || fail "no timeout-open event"
ok "no verdict in 1.5 s, fail-open: question cancelled, call completed in $t ms"

# CANCEL from the caller during the verdict
switch_mark
sipp_bg v_cancel -sf "$SCEN/uas_verdict_slow.xml" -i "$U" -p 5080 -m 1
sipp_call cancel uac_cancel_early.xml 1 -s 5551234 || fail "CANCEL during the verdict failed"
done_ok v_cancel
no_switch "cancelled call"
ok "CANCEL during the verdict: 487, question cancelled, nothing to the switch"

# emergency calls are never screened (no screening server runs now)
sipp_call sos uac.xml 1 -s 911 -d 50 || fail "emergency call failed"
grep -q '^INVITE sip:911@' "$W/switch.msg" || fail "911 did not reach emergency_route"
ok "911 went to emergency_route without a verdict"

"$SBCCTL" -s "$W/sbcd.sock" stats > "$W/stats.out" || fail "sbcctl stats"
grep -q '^verdicts_asked 10$' "$W/stats.out" && grep -q '^verdicts_approved 1$' "$W/stats.out" \
	&& grep -q '^verdicts_rejected 6$' "$W/stats.out" && grep -q '^verdicts_failed 2$' "$W/stats.out" \
	|| fail "stats: $(grep verdict "$W/stats.out" | tr '\n' ' ')"
ok "stats: $(grep verdict "$W/stats.out" | tr '\n' ' ')"
sbc_alive
sbc_stop
kill "$PID_switch"; wait "$PID_switch" 2>/dev/null

# fail-closed: 5xx, timeout and transport failure give 503, quickly
redirect_conf "verdict_fail = closed" "verdict_timeout = 800"
sbc_start
verdict v_c503 500 "Server Internal Error" "X-Test: 1" ""
refused c503 503
done_ok v_c503
[ "$(events error-closed)" = 1 ] || fail "no error-closed event"
sipp_bg v_cslow -sf "$SCEN/uas_verdict_slow.xml" -i "$U" -p 5080 -m 1
t0=$(ms)
refused cto 503
t=$(( $(ms) - t0 ))
done_ok v_cslow
[ "$t" -ge 800 ] && [ "$t" -lt 2000 ] || fail "timeout fail-closed: 503 after $t ms (verdict_timeout 800)"
[ "$(events timeout-closed)" = 1 ] || fail "no timeout-closed event"
ok "fail-closed: 5xx -> 503, no verdict -> 503 after $t ms"
sbc_alive
sbc_stop

redirect_conf "verdict_fail = closed" "upstream = sip:$U:5099;transport=tcp"
sbc_start
t0=$(ms)
refused ctcp 503
t=$(( $(ms) - t0 ))
[ "$t" -lt 1000 ] || fail "refused connection: 503 after $t ms"
[ "$(events error-closed)" = 2 ] || fail "no error-closed event for the refused connection"
ok "fail-closed: screening server refusing the connection -> 503 in $t ms"
sbc_alive
sbc_stop

# a question that cannot even be sent (no IPv6 on the core side), fail-open
redirect_conf "upstream = sip:[::1]:5080;transport=udp"
sbc_start
sipp_bg switch -sf "$SCEN/uas.xml" -i "$S" -p 5060
sipp_call unsent uac.xml 1 -s 5551234 -d 50 || fail "unsendable question, fail-open: call failed"
[ "$(events error-open)" = 2 ] || fail "no error-open event for the unsendable question"
kill "$PID_switch"; wait "$PID_switch" 2>/dev/null
ok "question that cannot be sent, fail-open: call completed at the switch"
sbc_alive
sbc_stop

# as in production: the screening server over verified TLS; one whose
# certificate does not verify is a transport failure (here fail-open)
certs
redirect_conf "upstream = sip:$U:5081;transport=tls" "upstream_ca = $CERTDIR/ca.crt" \
	"upstream_tls_name = upstream.test" "core_tls_port = 5061" \
	"core_tls_cert = $CERTDIR/sbc.crt" "core_tls_key = $CERTDIR/sbc.key"
sbc_start
sipp_bg switch -sf "$SCEN/uas.xml" -i "$S" -p 5060
SW_N=0
uas_bg screen -l "$U:5081" -t tls -c "$CERTDIR/upstream.pem" -a 302
sipp_call tls uac.xml 2 -s 5551234 -d 50 || fail "calls approved over TLS failed"
grep -q '^sni=upstream.test' "$W/screen.events" || fail "TLS: no SNI"
grep -q "^hdr P-Received: $P:5070;transport=udp" "$W/screen.events" || fail "TLS: no P-Received"
grep -q "^hdr Record-Route" "$W/screen.events" && fail "TLS: Record-Route on the question"
[ "$(grep -c '^INVITE ' "$W/switch.msg")" = $((SW_N + 2)) ] || fail "TLS: approved calls did not reach the switch"
kill "$PID_screen"; wait "$PID_screen" 2>/dev/null
uas_bg rogue -l "$U:5081" -t tls -c "$CERTDIR/rogue.pem" -a 302
sipp_call tlsrogue uac.xml 1 -s 5551234 -d 50 || fail "rogue screening server, fail-open: call failed"
grep -q '^invite' "$W/rogue.events" && fail "the rogue screening server got the question"
[ "$(events error-open)" = 3 ] || fail "no error-open event for the rogue screening server"
ok "over verified TLS: 2 calls approved (SNI, P-Received); a rogue server is an error (fail-open)"
kill "$PID_rogue"; wait "$PID_rogue" 2>/dev/null
sbc_alive
sbc_stop
ok "done"
