#!/bin/bash
# t_srtp: SRTP calls survive a crash of the active.  The lab peer has
# media = srtp: sbcd speaks SDES SRTP to the callers (each offers its own
# key, sbcd answers with its own) and plain RTP to the core.
#   1. two nodes; sbcd on n1 with the service addresses, made active;
#   2. CALLS SRTP calls placed through n1; the phone side played by
#      srtp-pump (protects with the phone's key, counts only what
#      unprotects with sbcd's), the core side by rtp_pump.py; then sbcd
#      started on n2 while they are up: synced, with every call and its
#      SRTP session (keys and latched addresses come in the snapshot);
#   3. streams that wrap while n1 carries them, after n2 is synced: one
#      phone's stream (sbcd unprotects it) and every core stream (sbcd
#      protects them towards the phones) start near 65535, so their
#      rollover counters (ROC) go to 1 on n1 and only the med records
#      can tell n2 (the test waits until the phones saw every wrap and
#      n2 has n1's every record); one more call's streams, both ways,
#      wrap during the failover itself, while no node relays them: the
#      test crashes n1 less than 1.5 s before they wrap, moves the
#      addresses and promotes n2 (n2 knows where they were, to a quarter
#      of the sequence space, and estimates their ROC as RFC 3711 does);
#   4. every call's SRTP resumes both ways through n2: the core gets
#      the phones' packets (n2 unprotected them, the wrapped one at ROC
#      1), the phones get packets that unprotect (n2 protected them with
#      sbcd's keys at ROC 1), with no packet failing either way; one
#      phone sends nothing after the crash until n2's packets reach it
#      (so n2 sent them to the port n1 had latched to); every BYE, half
#      from each end, is answered 200 through n2; nothing is left.
# Label cluster.  Arg 1: the lab index (tests/cluster/CMakeLists.txt).
. "$(dirname "$0")/lab.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pair.sh"
PUMP=${SRTPPUMP:?SRTPPUMP must point to srtp-pump}
CALLS=10                        # half hung up by each end
HALF=$((CALLS / 2))
HOLD_UAC=35000                  # ms the callers hold before their BYE
HOLD_UAS=41000                  # ms after which the callee hangs up
WRAP_S=6                        # the wrapping streams wrap this long
SEQ0=$((65536 - WRAP_S * 50))   # after their pump starts (50 packets/s)
OUT_S=18                        # the streams that wrap in the failover:
OUT0=$((65536 - OUT_S * 50))    # n1 crashes ~1 s before

# sum of a per-leg counter of `sbcctl media` on NODE
media_sum() { # NODE COUNTER
	ctl "$1" media | awk -v k="$2" '
		{ for (i = 1; i < NF; i++) if ($i == k) s += $(i + 1) }
		END { print s + 0 }'
}
srtp_legs() { ctl "$1" media | grep -c ' access .* srtp pkts '; }
has_srtp_legs() { [ "$(srtp_legs "$1")" = "$CALLS" ]; }
# a field of srtp-pump's --detail line of a call, and the whole line
det() { # CALLID KEY
	awk -v c="$1" -v k="$2" '$1 == c {
		for (i = 2; i < NF; i += 2) if ($i == k) print $(i + 1) }' \
		"$LAB_W/pump_a.detail"
}
det_all() { grep "^$1 " "$LAB_W/pump_a.detail"; }
# the phones' contexts have seen every wrap: their own stream's (the
# first call) and every core stream's, as sbcd protected them
wrapped() {
	[ "$(det "$WRAPCALL" roc_tx)" = 1 ] &&
		awk -v o="$OUTCALL" '$1 != o { for (i = 2; i < NF; i += 2) if ($i == "roc_rx" && $(i + 1) != 1) n++ }
		     END { exit n > 0 }' "$LAB_W/pump_a.detail"
}
# the failover's streams are less than 1.5 s (75 packets) from their wrap
out_near() { [ "$(det "$OUTCALL" seq)" -ge $((65536 - 75)) ]; }
LAB_PEER_EXTRA="media = srtp"
lab_up n1 n2
pair_init

# one key per call for each caller (sipp's -inf, [field0] of the offer)
for u in 1 2; do
	{
		echo SEQUENTIAL
		for _ in $(seq 1 "$HALF"); do
			echo "$(head -c 30 /dev/urandom | base64 -w0);"
		done
	} > "$LAB_W/keys$u.csv"
done
PAIR_UAC=$SCEN/uac_srtp.xml
PAIR_UAC_WAIT=$SCEN/uac_srtp_wait_bye.xml
PAIR_UAC1_ARGS=(-inf "$LAB_W/keys1.csv")
PAIR_UAC2_ARGS=(-inf "$LAB_W/keys2.csv")

# ---- 1. an empty cluster; n1 becomes the active ----
lab_addr_add n1 "$LAB_VIP_ACCESS"
lab_addr_add n1 "$LAB_VIP_CORE"
pair_sbcd n1
SBC1=$LAB_BG_PID
wait_for 10 is_synced n1 || fail "n1 alone, empty, not synced: $(ctl n1 role)"
ctl n1 role active >/dev/null || fail "n1 cannot be made active: $(ctl n1 role active)"
[ "$(field n1 role)" = active ] || fail "n1 not active: $(ctl n1 role)"
ok "n1 active"

# ---- 2. SRTP calls through n1, then a standby joins ----
pair_calls "$CALLS" "$HALF" "$HOLD_UAC" "$HOLD_UAS" 20
wait_for 20 confirmed n1 || fail "calls not all answered on n1: $(ctl n1 calls | head -3)"
python3 "$HERE/srtp_calls.py" --log "$LAB_W/uac1.msg" --log "$LAB_W/uac2.msg" \
	--calls "$CALLS" --max 10 > "$LAB_W/calls.txt" ||
	fail "the callers' logs lack the SRTP answers"
[ "$(wc -l < "$LAB_W/calls.txt")" = "$CALLS" ] || fail "$(wc -l < "$LAB_W/calls.txt") SRTP calls"
# each call: the phone's own key out, a key of sbcd's back, all different
[ "$(awk '{ print $6; print $9 }' "$LAB_W/calls.txt" | sort -u | wc -l)" = $((2 * CALLS)) ] ||
	fail "keys are not one per call and direction: $(cat "$LAB_W/calls.txt")"
grep -q 'a=crypto' "$LAB_W/uas.msg" && fail "SRTP keys reached the core"
grep -q 'RTP/SAVP' "$LAB_W/uas.msg" && fail "the core was offered RTP/SAVP"
ok "$CALLS SRTP calls answered through n1 (RTP/SAVP with sbcd's keys to the phones, RTP/AVP to the core)"

# the first call's phone stream wraps; the second phone hushes after the
# crash until something comes
# crash (the third call's streams, both ways, wrap during the failover)
awk -v s="$SEQ0" -v o="$OUT0" 'NR == 1 { $0 = $0 " seq=" s } NR == 2 { $0 = $0 " hush" }
	NR == 3 { $0 = $0 " seq=" o } 1' "$LAB_W/calls.txt" > "$LAB_W/pump_calls.txt"
WRAPCALL=$(awk 'NR == 1 { print $1 }' "$LAB_W/calls.txt")
HUSHCALL=$(awk 'NR == 2 { print $1 }' "$LAB_W/calls.txt")
OUTCALL=$(awk 'NR == 3 { print $1 }' "$LAB_W/calls.txt")
rm -f "$LAB_W/stop" "$LAB_W/mark"
lab_bg cli "$LAB_W/pump_a.out" "$PUMP" --calls "$LAB_W/pump_calls.txt" \
	--ip "$LAB_CLI_IP" --stop "$LAB_W/stop" --mark "$LAB_W/mark" --max 60 \
	--detail "$LAB_W/pump_a.detail"
PUMPA=$LAB_BG_PID
t_pump=$(lab_ms)
lab_bg core "$LAB_W/pump_b.out" python3 "$PUMP_PY" --side b \
	--log "$LAB_W/uas.msg" --ip "$LAB_CORE_IP" --calls "$CALLS" \
	--stop "$LAB_W/stop" --mark "$LAB_W/mark" --max 60 --seq0 "$SEQ0" \
	--seq0-of "$OUTCALL=$OUT0"
PUMPB=$LAB_BG_PID

pair_sbcd n2
SBC2=$LAB_BG_PID
t0=$(lab_ms)
wait_for 10 is_synced n2 || fail "n2 not synced within 10 s: $(ctl n2 role)"
t_sync=$(lab_ms)
ok "n2 synced in $((t_sync - t0)) ms ($(field n2 last_sync_records) records)"
wait_for 5 confirmed n2 || fail "n2 lacks calls: $(ctl n2 calls | head -3)"
wait_for 5 has_sessions n2 || fail "n2 lacks media sessions: $(sessions n2)"
wait_for 5 has_srtp_legs n2 || fail "n2 has $(srtp_legs n2) SRTP legs, not $CALLS"
[ "$(field n2 role)" = standby ] || fail "n2 is not a standby: $(ctl n2 role)"
ok "n2 holds $CALLS calls and their SRTP sessions, as a standby"

# ---- 3. the streams wrap on n1, then n1 crashes ----
wait_for $((WRAP_S + 15)) wrapped ||
	fail "the streams did not wrap: $(cat "$LAB_W/pump_a.detail" 2>/dev/null)"
[ $((t_sync - t_pump)) -lt $((WRAP_S * 1000)) ] ||
	lab_log "note: n2 synced $((t_sync - t_pump)) ms after the pumps started, after the phone's wrap: its ROC came in the snapshot"
[ "$(media_sum n1 srtp_fail)" = 0 ] || fail "n1 failed to unprotect: $(ctl n1 media | grep -v 'srtp_fail 0$')"
sleep 0.5   # n1's ROC notes out as records
wait_for 5 in_step || fail "n2 at seq $(field n2 seq), n1 at $(field n1 seq)"
ctl n1 media > "$LAB_W/media_n1.txt"
ctl n2 role > "$LAB_W/role_n2.txt"
ok "the streams wrapped on n1 ($(( $(lab_ms) - t_pump )) ms after the pumps started, no SRTP failure), n2 has every record (seq $(field n2 seq))"

wait_for $((OUT_S + 10)) out_near ||
	fail "the failover's streams did not near their wrap: $(det_all "$OUTCALL")"
out_seq=$(det "$OUTCALL" seq)
[ "$(det "$OUTCALL" roc_tx)" = 0 ] || fail "the failover's streams wrapped before the crash: $(det_all "$OUTCALL")"
tc=$(lab_ms)
lab_crash n1
# the mark after the crash: what arrives after it came through n2
touch "$LAB_W/mark"
gone() { ! ctl n2 role | grep -q '^peer 1 '; }
wait_for 15 gone || fail "n2 still sees n1 15 s after the crash"
tm=$(lab_ms)
pair_move n1 n2
out=$(pair_promote n2) || fail "n2 cannot take over: $out"
tp=$(lab_ms)
[ "$(field n2 role)" = active ] || fail "n2 not active: $(ctl n2 role)"
ok "n1 crashed: n2 saw it after $((tm - tc)) ms, active after $((tp - tc)) ms"
[ "$(peer_calls n2)" = "$CALLS" ] || fail "n2 counts $(peer_calls n2) calls of the peer, not $CALLS"

# ---- 4. SRTP resumes both ways through n2, then every BYE ----
sleep 4
touch "$LAB_W/stop"
reap "$PUMPA" 10 || fail "the SRTP pump failed: $(tail -3 "$LAB_W/pump_a.out")"
reap "$PUMPB" 10 || fail "the core-side RTP pump failed: $(tail -3 "$LAB_W/pump_b.out")"
ctl n2 media > "$LAB_W/media_n2.txt"
# the phones: every packet that came unprotected (n1's, and n2's at the
# ROC n1 had reached), and the core streams had wrapped before the crash
for c in $(awk -v o="$OUTCALL" '$1 != o { print $1 }' "$LAB_W/pump_a.out"); do
	[ "$(det "$c" srtp_fail)" = 0 ] && [ "$(det "$c" mark_roc_rx)" = 1 ] ||
		fail "SRTP from sbcd did not unprotect at the phone, or had not wrapped: $(det_all "$c")"
done
# the failover's streams: at ROC 0 at the crash, at ROC 1 now both ways,
# nothing failing at the phone or at n2 (above)
[ "$(det "$OUTCALL" srtp_fail)" = 0 ] && [ "$(det "$OUTCALL" mark_roc_tx)" = 0 ] &&
	[ "$(det "$OUTCALL" mark_roc_rx)" = 0 ] && [ "$(det "$OUTCALL" roc_tx)" = 1 ] &&
	[ "$(det "$OUTCALL" roc_rx)" = 1 ] ||
	fail "the streams that wrapped during the failover: $(det_all "$OUTCALL")"
# the phone's stream wrapped before n2 took over (at most this long after
# the crash): the first packet n2 saw was past the wrap
out_ms=$(( (65536 - out_seq) * 20 ))
[ "$out_ms" -lt $((tp - tc)) ] ||
	lab_log "note: the failover's phone stream wrapped up to $out_ms ms after the crash, n2 was active after $((tp - tc)) ms"
# n2 unprotected every phone's packets, the wrapped stream's too
[ "$(media_sum n2 srtp_fail)" = 0 ] ||
	fail "n2 failed to unprotect: $(grep -v 'srtp_fail 0$' "$LAB_W/media_n2.txt")"
# the hushed phone sent nothing after the crash until n2's packets came:
# n2 sent them to the port n1 had latched to (the SDP's has no listener)
[ "$(det "$HUSHCALL" first_rx_after_ms)" -ge 0 ] &&
	[ "$(det "$HUSHCALL" first_tx_after_ms)" -ge "$(det "$HUSHCALL" first_rx_after_ms)" ] ||
	fail "the hushed phone of $HUSHCALL heard nothing from n2 (not sent to the port n1 had latched to?): $(det_all "$HUSHCALL")"
for side in a b; do
	[ "$(wc -l < "$LAB_W/pump_$side.out")" = "$CALLS" ] ||
		fail "side $side reports $(wc -l < "$LAB_W/pump_$side.out") calls"
	bad=$(awk '$7 == 0' "$LAB_W/pump_$side.out")
	[ -z "$bad" ] || fail "media did not resume towards side $side: $bad (phones: $(cat "$LAB_W/pump_a.detail"))"
done
# the wrapping phone stream had wrapped on n1 before the crash, and goes
# on through n2 (above: its packets reach the core after the mark)
[ "$(det "$WRAPCALL" mark_roc_tx)" = 1 ] ||
	fail "the phone stream of $WRAPCALL did not wrap before the crash: $(det_all "$WRAPCALL")"
gap=$(cat "$LAB_W"/pump_?.out | awk '$9 > m { m = $9 } END { print m + 0 }')
pa=$(awk '{ s += $7 } END { print s + 0 }' "$LAB_W/pump_a.out")
pb=$(awk '{ s += $7 } END { print s + 0 }' "$LAB_W/pump_b.out")
hush=$(det "$HUSHCALL" first_rx_after_ms)
ok "SRTP resumed both ways on all $CALLS calls through n2: $pa packets unprotected by the phones and $pb relayed to the core after the crash, none failing; longest gap $gap ms (failover $((tp - tc)) ms)"
ok "rollover carried: every stream had wrapped on n1 (ROC 1) and goes on through n2; the hushed phone heard n2 at its latched port $hush ms after the mark"
ok "the streams that wrapped during the failover (both ways, up to $out_ms ms after the crash) go on through n2 at ROC 1"

pair_calls_done 60
ok "every BYE (caller's and callee's) answered through n2"
pair_clean n2 "$SBC2"
