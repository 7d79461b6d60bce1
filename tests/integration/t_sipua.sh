#!/bin/bash
# The cluster tests' and drills' SIP UA (drill/sipua.py) proves itself through
# sbcd: calls over UDP, TCP and TLS at once into one UAS, half hung up by
# each end, a re-INVITE mid-call, every BYE answered 200; a TCP caller whose
# connection is cut while its re-INVITE waits for an answer sends it again
# on a new connection; a caller whose sbcd restarts (state_file) connects
# again and its calls end normally; a call that fails is reported (exit 1).
. "$(dirname "$0")/lib.sh"

SIPUA=$HERE/../../drill/sipua.py
# Debian's python3 (the UA needs nothing else): a version manager's shim
# in front of it can take seconds to start, and the test waits for that
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
MA=127.0.$T_N.20        # the caller's media address (SDP)
MB=127.0.$T_N.21        # the callee's
certs
sbc_conf "access_tls_port = 5061" "access_tls_cert = $CERTDIR/sbc.crt" \
	"access_tls_key = $CERTDIR/sbc.key" "state_file = $W/state"
sbc_start

# the callee on $U:5080 (UDP, the upstream's transport), until killed
"$PY" "$SIPUA" uas --listen "$U:5080" --transports udp,tcp --media-ip "$MB" \
	--out "$W/uas.out" --bye-after 1.5 --max 60 -v >"$W/uas.stdout" 2>"$W/uas.log" &
PID_uas=$!
T_PIDS="$T_PIDS $PID_uas"
wait_for 50 grep -q ready "$W/uas.stdout" || fail "the UAS did not start: $(cat "$W/uas.log")"

# uac NAME TRANSPORT CALLS [more options]: a caller in the background
uac() {
	local name=$1 tp=$2 n=$3 port=5060
	shift 3
	[ "$tp" = tls ] && port=5061
	timeout 60 "$PY" "$SIPUA" uac --target "$A:$port" --transport "$tp" \
		--ca "$CERTDIR/ca.crt" --tls-name sbc.test --local-ip "$P" \
		--calls "$n" --rate 20 --media-ip "$MA" --out "$W/$name.out" \
		--max 30 --trace "$W/$name.trace" -v "$@" \
		>"$W/$name.stdout" 2>"$W/$name.log" &
	eval "PID_$name=$!"
	T_PIDS="$T_PIDS $!"
}

# count NAME PATTERN: lines of NAME's result file matching PATTERN
count() { grep -c -- "$2" "$W/$1.out" 2>/dev/null; }
# answered NAME N: N of NAME's calls are up
answered() { [ "$(count "$1" state=answered)" = "$2" ]; }

# 1. three callers at once, one per transport: every call answered, the
# callee hangs up every 2nd (its hint in the INVITE keeps the calls of
# interleaved callers apart), a re-INVITE on each, every BYE 200
for tp in udp tcp tls; do
	uac "$tp" "$tp" 10 --hold 2.5 --bye-fraction 0.5 --reinvite-at 0.7
done
for tp in udp tcp tls; do
	eval "wait_pid \$PID_$tp 40" || fail "$tp caller: $(cat "$W/$tp.stdout") $(tail -3 "$W/$tp.log")"
	grep -qx "calls 10 answered 10 ended 10 failed 0" "$W/$tp.stdout" \
		|| fail "$tp caller summary: $(cat "$W/$tp.stdout")"
	[ "$(count "$tp" "state=ended ended_by=caller bye_code=200 media=$A:[0-9]* reinvite=200 code=200 t_invite=[0-9.]*$")" = 5 ] \
		&& [ "$(count "$tp" "state=ended ended_by=callee bye_code=200 media=$A:[0-9]* reinvite=200 code=200 t_invite=[0-9.]*$")" = 5 ] \
		|| fail "$tp caller results: $(cat "$W/$tp.out")"
done
[ "$(count uas "state=ended ended_by=callee bye_code=200 media=$C:")" = 15 ] \
	&& [ "$(count uas "state=ended ended_by=caller bye_code=200 media=$C:")" = 15 ] \
	|| fail "callee results: $(cat "$W/uas.out")"
ok "10 calls each over UDP, TCP and TLS at once: re-INVITE 200, 5+5 hung up by each end, every BYE 200"

# 2. a TCP caller's connection is cut while its re-INVITE is unanswered
# (sbcd frozen): the re-INVITE goes again on a new connection, gets 200
uac cut tcp 1 --local-port 5070 --hold 4 --reinvite-at 1 --keepalive 0
wait_for 50 answered cut 1 || fail "the call was not answered: $(cat "$W/cut.log")"
kill -STOP "$SBC_PID"
wait_for 30 grep -q "reinvite=pending" "$W/cut.out" || { kill -CONT "$SBC_PID"; fail "no re-INVITE sent"; }
ss -K -tn src "$P:5070" dst "$A:5060" >/dev/null
# the caller sees its connection cut while sbcd is still frozen
wait_for 50 grep -q "closed (read: " "$W/cut.log" || { kill -CONT "$SBC_PID"; fail "the cut was not seen: $(cat "$W/cut.log")"; }
kill -CONT "$SBC_PID"
wait_pid "$PID_cut" 20 || fail "cut caller: $(cat "$W/cut.stdout") $(tail -5 "$W/cut.log")"
grep -q "reinvite=200 code=200 t_invite=[0-9.]*$" "$W/cut.out" && grep -q "bye_code=200" "$W/cut.out" \
	|| fail "after the cut: $(cat "$W/cut.out")"
[ "$(grep -c "^INVITE sip:callee@" "$W/cut.trace")" = 2 ] || fail "the re-INVITE was not sent again"
[ "$(grep -c ": open$" "$W/cut.log")" = 2 ] && grep -q "closed (read: " "$W/cut.log" \
	|| fail "no new connection: $(cat "$W/cut.log")"
ok "TCP connection cut with a re-INVITE pending: sent again on a new connection, 200, BYE 200"

# 3. sbcd restarts (its calls kept in state_file): the callers' TCP
# connection ends, they connect again, both ends' BYEs get 200
uac restart tcp 2 --hold 3 --bye-fraction 0.5
wait_for 50 answered restart 2 || fail "calls not answered: $(cat "$W/restart.log")"
sbc_stop
sbc_start
grep -q "state: 2 calls restored" "$W/sbcd.log" || fail "sbcd restored no calls"
wait_pid "$PID_restart" 20 || fail "restart caller: $(cat "$W/restart.stdout") $(tail -5 "$W/restart.log")"
[ "$(count restart "state=ended ended_by=c[a-z]* bye_code=200")" = 2 ] || fail "after the restart: $(cat "$W/restart.out")"
grep -q "closed (EOF)" "$W/restart.log" && [ "$(grep -c ": open$" "$W/restart.log")" -ge 2 ] \
	|| fail "no reconnection: $(cat "$W/restart.log")"
ok "sbcd restarted: the TCP caller connected again, BYEs from both ends 200"

# 3b. sbc-drill's triggers: SIGUSR2 stops placing calls (the run ends
# once those placed ended), --hangup-file holds the calls until it exists,
# t_invite stamps each INVITE
# (not through uac: SIGUSR2 must reach sipua itself, not timeout(1);
# --max bounds it)
"$PY" "$SIPUA" uac --target "$A:5060" --local-ip "$P" --calls 100 --rate 10 \
	--media-ip "$MA" --out "$W/trig.out" --max 30 --hold 60 \
	--hangup-file "$W/trig.bye" -v >"$W/trig.stdout" 2>"$W/trig.log" &
PID_trig=$!
T_PIDS="$T_PIDS $PID_trig"
three_up() { [ "$(count trig state=answered)" -ge 3 ]; }
wait_for 50 three_up || fail "calls not answered: $(cat "$W/trig.log")"
kill -USR2 "$PID_trig"
wait_for 50 grep -q "SIGUSR2: no more calls" "$W/trig.log" || fail "SIGUSR2 not taken: $(tail -3 "$W/trig.log")"
kill -0 "$PID_trig" 2>/dev/null || fail "the caller ended before its hang-up file existed"
n_trig=$(sed -n 's/.*SIGUSR2: no more calls, \([0-9]*\) placed$/\1/p' "$W/trig.log")
[ "$n_trig" -ge 3 ] && [ "$n_trig" -lt 100 ] || fail "$n_trig calls placed after SIGUSR2"
t1=$(date +%s.%N)
touch "$W/trig.bye"
wait_pid "$PID_trig" 10 || fail "trig caller: $(cat "$W/trig.stdout") $(tail -5 "$W/trig.log")"
grep -qx "calls $n_trig answered $n_trig ended $n_trig failed 0" "$W/trig.stdout" \
	&& [ "$(count trig "state=ended ended_by=caller bye_code=200 .* t_invite=[0-9]*\.[0-9][0-9][0-9]$")" = "$n_trig" ] \
	|| fail "trig caller results: $(cat "$W/trig.stdout") $(cat "$W/trig.out")"
awk -v t1="$t1" '{ t = substr($NF, 10) } t > t1 || t <= last { bad++ } { last = t } END { exit bad > 0 }' "$W/trig.out" \
	|| fail "t_invite not rising or later than the hang-up: $(cat "$W/trig.out")"
ok "SIGUSR2: $n_trig calls placed of 100; held until --hangup-file, BYE 200 each; t_invite stamped"

# the callee saw every call end well; SIGTERM ends it with its summary
kill "$PID_uas"
wait_pid "$PID_uas" 5 || fail "the UAS: $(cat "$W/uas.stdout") $(tail -3 "$W/uas.log")"
n_uas=$((33 + n_trig))
grep -qx "calls $n_uas answered $n_uas ended $n_uas failed 0" "$W/uas.stdout" || fail "UAS summary: $(cat "$W/uas.stdout")"
ok "the callee: $n_uas calls, all ended with 200, exit 0"

# 4. no callee: sbcd answers 503; the calls are reported failed, exit 1
uac nocallee udp 2 --hold 1
wait_pid "$PID_nocallee" 20 && fail "the caller exited 0 with failed calls"
grep -qx "calls 2 answered 0 ended 0 failed 2" "$W/nocallee.stdout" \
	&& [ "$(count nocallee "state=failed .* code=503 t_invite=[0-9.]*$")" = 2 ] \
	|| fail "failed calls: $(cat "$W/nocallee.stdout") $(cat "$W/nocallee.out")"
ok "failed calls reported (code=503), exit 1"
sbc_alive
sbc_stop
