#!/bin/bash
# t_failover: issue 11 end to end.  100 calls answered through the active
# n1 at once, 60 over UDP (sipp), 20 over TCP and 20 over TLS (sipua.py);
# 50 of them with RTP flowing both ways, 10 of those SRTP on the access
# side; then n1 crashes (cable cut, SIGKILL of all its processes), the
# addresses move, n2 is promoted, and every call survives on n2.
#   1. two nodes, sbcd on both (n1 active, n2 a synced standby); callers
#      in cli: the lab peer (192.0.2.100) and an SRTP peer (SRTP_IP, its
#      own [peer srtp] with media = srtp, ahead of the lab's /24);
#   2. the calls, the callee is one sipp on the core (UDP); half of each
#      kind hung up by the caller, half by the callee:
#        UDP   25+25 plain (sipp), RTP on 15+15 (rtp_pump.py both ends)
#        UDP   5+5 SRTP from SRTP_IP (sipp), SRTP at the phones
#              (srtp-pump), RTP at the core (rtp_pump.py)
#        TCP   20 (sipua.py), RTP on 5 (rtp_pump.py both ends)
#        TLS   20 (sipua.py), RTP on 5
#      every call confirmed on n1 and, replicated, on n2; the peers' call
#      counts (sbcctl calls) right on both; media flowing on every RTP
#      call through n1 (both legs of its session carried packets, each
#      far end received);
#   3. n1 crashes; n2 sees it leave, the test moves the addresses and
#      promotes n2; the peers' counts still right on n2;
#   4. every RTP call's media resumes both ways through n2: packets
#      counted at each far end after the crash, SRTP unprotecting at the
#      phones and at n2;
#   5. every call's BYE (50 from the callers, 50 from the callee) is
#      answered 200 through n2, and no BYE is sent twice: in the far
#      ends' message logs each Call-ID has exactly one BYE transaction
#      received (one branch), at one end; nothing is left on n2.
# Label cluster.  Arg 1: the lab index (tests/cluster/CMakeLists.txt).
. "$(dirname "$0")/lab.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pair.sh"
PUMP=${SRTPPUMP:?SRTPPUMP must point to srtp-pump}
pair_sipua

UDP=25          # plain UDP calls of each sipp caller (2)
UDP_RTP=15      # ... with RTP
SRTP=5          # SRTP calls of each SRTP sipp caller (2)
STREAM=20       # calls of each sipua caller (TCP, TLS)
STREAM_RTP=5    # ... with RTP
CALLS=$((2 * UDP + 2 * SRTP + 2 * STREAM))
RTP=$((2 * UDP_RTP + 2 * SRTP + 2 * STREAM_RTP))
LAB_CALLS=$((CALLS - 2 * SRTP))
# The BYEs: the callers' after HOLD s, the callee's after HOLD + 6 s;
# everything up to the media check after the crash must fit in HOLD
# (step 4 fails if a call ended before)
HOLD=30
SRTP_IP=192.0.2.110
LAB_PEERS_FIRST=$(printf '[peer srtp]\naddr = %s\nmedia = srtp' "$SRTP_IP")

# ---- helpers ----
counts_right() { # NODE: the peers' call counts
	[ "$(peer_calls "$1" lab)" = "$LAB_CALLS" ] &&
		[ "$(peer_calls "$1" srtp)" = "$((2 * SRTP))" ]
}
# legs of NODE's media sessions that carried packets
legs_flowing() {
	ctl "$1" media | awk '$1 == "stream" {
		for (i = 1; i < NF; i++) if ($i == "pkts" && $(i + 1) > 0) n++ }
		END { print n + 0 }'
}
# the first N Call-IDs of a sipp message log (in the order of the calls)
sipp_ids() { # LOG N
	awk '/^Call-ID:/ { sub(/\r$/, ""); if (!seen[$2]++) print $2 }' "$1" | head -n "$2"
}
# every line of a pump's per-call FILE has FIELD >= MIN, and there are N
pump_all() { # FILE FIELD MIN N
	[ -s "$1" ] && awk -v k="$2" -v min="$3" -v n="$4" '
		{ c++; for (i = 2; i < NF; i += 2) if ($i == k && $(i + 1) < min) bad++ }
		END { exit !(c == n && !bad) }' "$1"
}
# the SRTP phones heard n2: every call's first packet after the mark came,
# and none failed to unprotect
srtp_resumed() {
	[ -s "$LAB_W/srtp.detail" ] && awk -v n="$((2 * SRTP))" '
		{ c++; for (i = 2; i < NF; i += 2) {
			if ($i == "first_rx_after_ms" && $(i + 1) < 0) bad++
			if ($i == "srtp_fail" && $(i + 1) != 0) bad++ } }
		END { exit !(c == n && !bad) }' "$LAB_W/srtp.detail"
}
before_crash() {
	pump_all "$LAB_W/pump_a.prog" received 1 "$((RTP - 2 * SRTP))" &&
		pump_all "$LAB_W/pump_b.prog" received 1 "$RTP" &&
		[ "$(legs_flowing n1)" = "$((2 * RTP))" ]
}
# 10 packets (0.2 s of media) at each far end since the crash
after_crash() {
	pump_all "$LAB_W/pump_a.prog" after_mark 10 "$((RTP - 2 * SRTP))" &&
		pump_all "$LAB_W/pump_b.prog" after_mark 10 "$RTP" &&
		srtp_resumed
}
# BYE transactions received per Call-ID in the far ends' logs (sipp's
# -trace_msg, sipua's --trace): "CALLID N", N the distinct top-Via
# branches of the BYEs received for it (a retransmission has the same)
byes_received() {
	awk '
		/message received/ || /^---- [0-9.]+ recv / { dir = "rx"; next }
		/message sent/ || /^---- [0-9.]+ sent / { dir = "tx"; next }
		{ sub(/\r$/, "") }
		/^BYE / { bye = (dir == "rx"); cid = br = ""; next }
		bye && /^(Call-ID|i):/ { cid = $2 }
		bye && /^(Via|v):/ && br == "" { if (match($0, /branch=[^;, ]+/)) br = substr($0, RSTART + 7, RLENGTH - 7) }
		bye && /^$/ { if (cid != "" && !(cid SUBSEP br in t)) { t[cid SUBSEP br] = 1; n[cid]++ } bye = 0 }
		END { for (c in n) print c, n[c] }' "$@"
}

lab_up n1 n2
pair_init
pair_up "flood_requests = 0" "access_tls_port = 5061" \
	"access_tls_cert = $LAB_W/sbc.crt" "access_tls_key = $LAB_W/sbc.key"
lab_addr_add cli "$SRTP_IP"
grep -q '^\[peer srtp\]' "$LAB_W/n2/sbcd.conf" || fail "no SRTP peer in sbcd.conf"
ok "n1 active, n2 a synced standby; peers lab (192.0.2.0/24) and srtp ($SRTP_IP, media = srtp)"

# ---- 2. 100 calls through n1 ----
t_calls=$(lab_ms)
pair_sipp_args
pair_uas "$CALLS" $(((HOLD + 6) * 1000))
pair_uac uac1 "$ISCEN/uac.xml" "$LAB_CLI_IP" 5070 5551000 "$UDP" 20 -d $((HOLD * 1000))
UAC1=$LAB_BG_PID
pair_uac uac2 "$SCEN/uac_wait_bye.xml" "$LAB_CLI_IP" 5072 5552000 "$UDP" 20
UAC2=$LAB_BG_PID
for u in 1 2; do    # one key per SRTP call (sipp's -inf, [field0])
	{
		echo SEQUENTIAL
		for _ in $(seq 1 "$SRTP"); do
			echo "$(head -c 30 /dev/urandom | base64 -w0);"
		done
	} > "$LAB_W/keys$u.csv"
done
pair_uac srtp1 "$SCEN/uac_srtp.xml" "$SRTP_IP" 5070 5553000 "$SRTP" 10 \
	-d $((HOLD * 1000)) -inf "$LAB_W/keys1.csv"
SRTP1=$LAB_BG_PID
pair_uac srtp2 "$SCEN/uac_srtp_wait_bye.xml" "$SRTP_IP" 5072 5554000 "$SRTP" 10 \
	-inf "$LAB_W/keys2.csv"
SRTP2=$LAB_BG_PID
# (sipp's callers have UDP 5070 and 5072)
pair_sipua_uac tcp tcp 5060 5076 "$STREAM" "$HOLD" $((HOLD + 60)) --trace "$LAB_W/tcp.trace"
UTCP=$LAB_BG_PID
pair_sipua_uac tls tls 5061 5078 "$STREAM" "$HOLD" $((HOLD + 60)) --trace "$LAB_W/tls.trace"
UTLS=$LAB_BG_PID

wait_for 30 confirmed n1 || fail "calls not all up on n1: $(n_calls n1) dialogs, $(ctl n1 calls | grep -c ' state confirmed ') confirmed"
t_up=$(lab_ms)
wait_for 10 confirmed n2 || fail "n2 lacks calls: $(n_calls n2)"
counts_right n1 || fail "n1 counts lab $(peer_calls n1 lab), srtp $(peer_calls n1 srtp)"
wait_for 5 counts_right n2 || fail "n2 counts lab $(peer_calls n2 lab), srtp $(peer_calls n2 srtp)"
ok "$CALLS calls up through n1 in $(lab_secs "$t_calls" "$t_up") s, replicated to n2 (peer lab $LAB_CALLS, srtp $((2 * SRTP)) on both)"

# the SRTP calls: the phones' own keys out, sbcd's back, RTP/AVP at the core
python3 "$HERE/srtp_calls.py" --log "$LAB_W/srtp1.msg" --log "$LAB_W/srtp2.msg" \
	--calls "$((2 * SRTP))" --max 10 > "$LAB_W/srtp_calls.txt" ||
	fail "the SRTP callers' logs lack the SRTP answers"
[ "$(wc -l < "$LAB_W/srtp_calls.txt")" = "$((2 * SRTP))" ] ||
	fail "$(wc -l < "$LAB_W/srtp_calls.txt") SRTP calls, not $((2 * SRTP))"
grep -q 'a=crypto' "$LAB_W/uas.msg" && fail "SRTP keys reached the core"

# which calls carry RTP: Call-IDs (sbcd keeps them: no callid_hiding)
stream_answered() { [ "$(grep -c ' media=[0-9]' "$LAB_W/$1.out" 2>/dev/null)" = "$STREAM" ]; }
wait_for 10 stream_answered tcp || fail "tcp.out: $(head -3 "$LAB_W/tcp.out")"
wait_for 10 stream_answered tls || fail "tls.out: $(head -3 "$LAB_W/tls.out")"
{
	sipp_ids "$LAB_W/uac1.msg" "$UDP_RTP"
	sipp_ids "$LAB_W/uac2.msg" "$UDP_RTP"
	head -n "$STREAM_RTP" "$LAB_W/tcp.out" | awk '{ print $1 }'
	head -n "$STREAM_RTP" "$LAB_W/tls.out" | awk '{ print $1 }'
} > "$LAB_W/a.ids"
{ cat "$LAB_W/a.ids"; awk '{ print $1 }' "$LAB_W/srtp_calls.txt"; } > "$LAB_W/b.ids"
[ "$(sort -u "$LAB_W/b.ids" | wc -l)" = "$RTP" ] || fail "$(sort -u "$LAB_W/b.ids" | wc -l) calls chosen for RTP, not $RTP"

rm -f "$LAB_W/stop" "$LAB_W/mark"
pumpargs=(--stop "$LAB_W/stop" --mark "$LAB_W/mark" --max $((HOLD + 30)))
lab_bg cli "$LAB_W/pump_a.out" "$PY" "$PUMP_PY" --side a \
	--log "$LAB_W/uac1.msg" --log "$LAB_W/uac2.msg" \
	--sipua "$LAB_W/tcp.out" --sipua "$LAB_W/tls.out" --only "$LAB_W/a.ids" \
	--ip "$LAB_CLI_IP" --progress "$LAB_W/pump_a.prog" "${pumpargs[@]}"
PUMPA=$LAB_BG_PID
lab_bg cli "$LAB_W/srtp.out" "$PUMP" --calls "$LAB_W/srtp_calls.txt" \
	--ip "$SRTP_IP" --detail "$LAB_W/srtp.detail" "${pumpargs[@]}"
PUMPS=$LAB_BG_PID
lab_bg core "$LAB_W/pump_b.out" "$PY" "$PUMP_PY" --side b \
	--log "$LAB_W/uas.msg" --only "$LAB_W/b.ids" --ip "$LAB_CORE_IP" \
	--progress "$LAB_W/pump_b.prog" "${pumpargs[@]}"
PUMPB=$LAB_BG_PID
wait_for 15 before_crash ||
	fail "media not flowing through n1 on all $RTP calls: $(legs_flowing n1) legs of $((2 * RTP)) carried packets"
ok "RTP flowing through n1 on $RTP calls ($((2 * SRTP)) SRTP at the phones), both legs of each"
ctl n1 role > "$LAB_W/role_n1.txt"
ctl n2 role > "$LAB_W/role_n2.txt"

# ---- 3. n1 crashes ----
t_crash=$(lab_ms)
lab_crash n1
touch "$LAB_W/mark"     # what the far ends get after it came through n2
pair_takeover n1 n2 "$t_crash"
[ "$(field n2 role)" = active ] || fail "n2 not active: $(ctl n2 role)"
ok "n1 crashed $(lab_secs "$t_up" "$t_crash") s after the calls were up: n2 saw it after $PAIR_SEEN_MS ms, active after $PAIR_ACTIVE_MS ms"
confirmed n2 || fail "n2 holds $(ctl n2 calls | grep -c ' state confirmed ') confirmed calls, not $CALLS"
counts_right n2 || fail "n2 counts lab $(peer_calls n2 lab), srtp $(peer_calls n2 srtp) after the crash"
ok "n2 holds all $CALLS calls (peer lab $LAB_CALLS, srtp $((2 * SRTP)))"

# ---- 4. media resumes through n2 ----
wait_for 20 after_crash || fail "media did not resume on every call through n2: $(awk '$7 < 10' "$LAB_W"/pump_?.prog | head -3) $(grep -v 'first_rx_after_ms [0-9]' "$LAB_W/srtp.detail" | head -3)"
t_media=$(lab_ms)
confirmed n2 || fail "calls ended before their media was checked ($(lab_secs "$t_up" "$t_media") s after they were up; HOLD $HOLD s too short here)"
touch "$LAB_W/stop"
for p in "$PUMPA" "$PUMPS" "$PUMPB"; do
	reap "$p" 10 || fail "a pump (PID $p) failed: $(tail -3 "$LAB_W"/pump_?.out "$LAB_W/srtp.out")"
done
[ "$(cat "$LAB_W/pump_a.out" "$LAB_W/srtp.out" | wc -l)" = "$RTP" ] || fail "the callers' pumps report $(cat "$LAB_W/pump_a.out" "$LAB_W/srtp.out" | wc -l) calls"
[ "$(wc -l < "$LAB_W/pump_b.out")" = "$RTP" ] || fail "the callee's pump reports $(wc -l < "$LAB_W/pump_b.out") calls"
bad=$(cat "$LAB_W/pump_a.out" "$LAB_W/srtp.out" "$LAB_W/pump_b.out" | awk '$7 == 0')
[ -z "$bad" ] || fail "media did not resume: $bad"
srtp_resumed || fail "SRTP at the phones: $(cat "$LAB_W/srtp.detail")"
fails=$(ctl n2 media | awk '$1 == "stream" { for (i = 1; i < NF; i++) if ($i == "srtp_fail") s += $(i + 1) } END { print s + 0 }')
[ "$fails" = 0 ] || fail "n2 failed to unprotect $fails packets"
gap=$(cat "$LAB_W"/pump_?.out "$LAB_W/srtp.out" | awk '$9 > m { m = $9 } END { print m + 0 }')
pa=$(cat "$LAB_W/pump_a.out" "$LAB_W/srtp.out" | awk '{ s += $7 } END { print s + 0 }')
pb=$(awk '{ s += $7 } END { print s + 0 }' "$LAB_W/pump_b.out")
ok "media resumed both ways through n2 on all $RTP calls ($(lab_secs "$t_crash" "$t_media") s after the crash): $pa packets at the callers ($((2 * SRTP)) SRTP phones, none failing) and $pb at the callee after the crash, longest gap $gap ms"

# ---- 5. every BYE through n2, none twice ----
pair_calls_done $((HOLD + 30)) "$UAC1" "$UAC2" "$SRTP1" "$SRTP2"
for p in "$UTCP" "$UTLS"; do
	reap "$p" 30 || fail "sipua (PID $p) failed: $(tail -5 "$LAB_W"/t*.stdout)"
done
pair_calls_done 30 "$UAS"
for f in tcp tls; do
	[ "$(grep -c 'state=ended .* bye_code=200' "$LAB_W/$f.out")" = "$STREAM" ] ||
		fail "$f calls: $(grep -v 'bye_code=200' "$LAB_W/$f.out" | head -3)"
	[ "$(grep -c 'ended_by=callee' "$LAB_W/$f.out")" = "$((STREAM / 2))" ] ||
		fail "$f: $(grep -c 'ended_by=callee' "$LAB_W/$f.out") calls hung up by the callee, not $((STREAM / 2))"
done
ok "every BYE answered 200 through n2: $((UDP + SRTP + STREAM)) from the callers, as many from the callee"
byes_received "$LAB_W"/uac?.msg "$LAB_W"/srtp?.msg "$LAB_W"/t??.trace "$LAB_W/uas.msg" \
	> "$LAB_W/byes.txt"
[ "$(wc -l < "$LAB_W/byes.txt")" = "$CALLS" ] ||
	fail "BYEs received for $(wc -l < "$LAB_W/byes.txt") calls, not $CALLS"
twice=$(awk '$2 != 1' "$LAB_W/byes.txt")
[ -z "$twice" ] || fail "BYEs sent twice (Call-ID, BYE transactions received): $twice"
ok "no BYE sent twice: one BYE transaction received per call"
no_calls() { [ "$(n_calls n2)" = 0 ]; }
wait_for 5 no_calls || fail "calls left on n2: $(ctl n2 calls | head -3)"
[ -z "$(peer_calls n2 srtp)" ] || [ "$(peer_calls n2 srtp)" = 0 ] ||
	fail "srtp peer count left on n2: $(peer_calls n2 srtp)"
pair_clean n2 "$SBC2"
ok "done in $(lab_secs "$t_calls" "$(lab_ms)") s from the first call"
