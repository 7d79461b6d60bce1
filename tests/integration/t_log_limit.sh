#!/bin/bash
# The log under a flood of bad messages: lines remote input causes (here
# an invalid message each) keep to log_remote_rate a second, the rest are
# counted and told by a line a second; every message is still counted in
# `sbcctl stats` and the security log's own limit is untouched; the
# budget is back the next second, and sbcd's own lines are never left out.
. "$(dirname "$0")/lib.sh"

RATE=20
N=400
PEERS="[peer test]
addr = 127.0.$T_N.0/24
flood_exempt = yes"
sbc_conf "log_level = info" "log_remote_rate = $RATE" "security_log = $W/security.log"
sbc_start
stat() { "$SBCCTL" -s "$W/sbcd.sock" stats | awk -v k="$1" '$1 == k { print $2 }'; }
left_out() { # the lines left out, as the log's summary lines tell
	sed -n 's/.*log: \([0-9]*\) lines about remote input left out.*/\1/p' "$W/sbcd.log" |
		awk '{ s += $1 } END { print s + 0 }'
}
invalid_lines() { grep -c "access side: invalid .* from $P:5071" "$W/sbcd.log"; }

# N datagrams no SIP parser reads, 1 ms apart (bounded: N of them)
send_garbage() { # COUNT
	python3 - "$P" "$A" "$1" <<'PY'
import socket, sys, time
P, A, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((P, 5071))
for i in range(n):
    s.sendto(b"\x16\x03\x01 not SIP %d\r\n\r\n" % i, (A, 5060))
    time.sleep(0.001)
PY
}
t0=$(date +%s%N)
send_garbage "$N"
t1=$(date +%s%N)
all_counted() { [ "$(stat invalid)" = "$N" ]; }
wait_for 100 all_counted || fail "sbcd counted $(stat invalid) of $N invalid messages"
told() { [ "$(( $(invalid_lines) + $(left_out) ))" = "$N" ]; }
wait_for 50 told || fail "$(invalid_lines) lines and $(left_out) told left out, of $N"
lines=$(invalid_lines)
secs=$(( (t1 - t0) / 1000000000 + 2 ))
[ "$lines" -ge "$RATE" ] || fail "only $lines lines logged, the budget is $RATE a second"
[ "$lines" -le $((RATE * secs)) ] || fail "$lines lines logged in at most $secs seconds, past $RATE a second"
grep -q "log_remote_rate $RATE" "$W/sbcd.log" || fail "the summary line does not name the option"
events=$(grep -c '"rule":"invalid"' "$W/security.log")
[ "$events" -ge "$((N < 200 ? N : 200))" ] || fail "only $events security events (security_log_rate 200)"
ok "$N invalid messages in $(( (t1 - t0) / 1000000 )) ms: $lines logged ($RATE a second), $(left_out) told as left out, all $N counted; $events security events"

# the next second's budget: a bad message is logged again; a reload's
# line (sbcd's own) is written whatever the budget
sleep 1.1
before=$(invalid_lines)
send_garbage 1
logged_again() { [ "$(invalid_lines)" -gt "$before" ]; }
wait_for 50 logged_again || fail "an invalid message after the flood was not logged"
send_garbage "$N" &
gp=$!
"$SBCCTL" -s "$W/sbcd.sock" reload > "$W/reload.out" || fail "reload failed: $(cat "$W/reload.out")"
wait "$gp"
grep -q "reload: configuration of .* in force" "$W/sbcd.log" || fail "no reload line in the log"
sbc_alive
ok "after the flood the budget is back; sbcd's own lines are written during a flood"
sbc_stop
