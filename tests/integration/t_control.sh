#!/bin/bash
# The control socket and sbcctl: counters, security event counts, bans
# and unban, blacklist rules added and removed at run time, with expiry.
. "$(dirname "$0")/lib.sh"
SBCCTL=${SBCCTL:?SBCCTL must point to sbcctl}
ctl() { "$SBCCTL" -s "$W/sbcd.sock" "$@"; }

sbc_conf "flood_requests = 20" "security_log = $W/security.log"
sbc_start
sipp_bg uas -sf "$SCEN/uas.xml" -i "$U" -p 5080
PORT=5100
call() { # EXPECT User-Agent
	PORT=$((PORT + 1))
	echo "User-Agent: $2" | mkinvite "$W/c.txt" 5551234
	r=$(raw_udp "$P:$PORT" "$A" 5060 "$W/c.txt" 1.5)
	case $r in "$1"*) ;; *) fail "UA '$2': expected '$1', got '$r'" ;; esac
}

ctl stats > "$W/stats.out" || fail "stats: $(cat "$W/stats.out")"
grep -q '^requests_received ' "$W/stats.out" || fail "no counters"
ok "sbcctl stats"

call "SIP/2.0 180" "EvilDialer 1.0"
ctl blacklist add evil user_agent prefix 403 0 EvilDialer > "$W/add.out" || fail "add: $(cat "$W/add.out")"
call "SIP/2.0 403" "EvilDialer 1.0"
ctl blacklist list | grep -q '^evil user_agent prefix 403 expires=0 hits=1 EvilDialer' || fail "list: $(ctl blacklist list | grep evil)"
ctl blacklist del evil > /dev/null || fail "del"
call "SIP/2.0 180" "EvilDialer 1.0"
ok "blacklist rule added (403), listed with its hit, removed"

ctl blacklist add brief user_agent substring drop 2 Brief > /dev/null || fail "add brief"
call TIMEOUT "Brief 2"
sleep 2.5
call "SIP/2.0 180" "Brief 2"
ok "a rule with a 2 s expiry stops by itself"

ctl blacklist add bad user_agent regex drop 0 '(' > "$W/bad.out" && fail "a bad regex was accepted"
grep -q '^ERR bad value' "$W/bad.out" || fail "bad regex: $(cat "$W/bad.out")"
ctl nonsense > "$W/nonsense.out" && fail "unknown command accepted"
ok "errors: bad rule and unknown command answered ERR (exit 1)"

# a flooding source shows in bans, and unban lets it back
python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5090))
for i in range(40):
    s.sendto(b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 1.1.1.1;branch=z9hG4bKq%d\r\nFrom: <sip:f@x>;tag=1\r\nTo: <sip:x@x>\r\nCall-ID: q%d\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n" % (i, i), (sys.argv[2], 5060))
' "127.0.$T_N.30" "$A"
banned() { ctl bans | grep -q "^127.0.$T_N.30 remaining="; }
wait_for 50 banned || fail "bans: $(ctl bans)"
ctl unban 127.0.$T_N.30 > /dev/null || fail "unban"
ctl bans | grep -q "^127.0.$T_N.30 " && fail "still banned after unban"
# ... in the kernel filter too (it was once left attached)
printf 'OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.%s.30:5091;branch=z9hG4bKub1\r\nFrom: <sip:f@x>;tag=1\r\nTo: <sip:%s>\r\nCall-ID: ub1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n' \
	"$A" "$T_N" "$A" > "$W/opt.txt"
r=$(raw_udp "127.0.$T_N.30:5091" "$A" 5060 "$W/opt.txt" 1)
[ "$r" = "SIP/2.0 200 OK" ] || fail "unbanned source not answered: $r"
ok "flooding source listed in bans, unban lifts it (kernel filter included)"

ctl events | grep -q '^blacklist:evil 403 1$' || fail "events: $(ctl events)"
ctl events | grep -q '^flood ban 1$' || fail "no flood ban count"
ok "event counters by rule and action"

# an answer longer than the socket takes at once (3000 rules, ~350 KB)
# comes whole: written as the client reads it
# (the rules added over the socket directly: 3000 sbcctl processes take
# minutes in the sanitizer build)
python3 - "$W/sbcd.sock" <<'PY' || fail "adding 3000 rules"
import socket, sys
for i in range(1, 3001):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    s.sendall(b"blacklist add long%d user_agent substring log 0 a long user "
              b"agent string number %d to make the listing long\n" % (i, i))
    out = b""
    while not out.endswith(b"\n"):
        data = s.recv(4096)
        if not data:
            break
        out += data
    s.close()
    if not out.startswith(b"OK"):
        sys.exit("rule %d: %r" % (i, out))
PY
ctl blacklist list > "$W/long.txt"
[ "$(tail -1 "$W/long.txt")" = OK ] || fail "long answer cut: $(tail -c 200 "$W/long.txt")"
[ "$(grep -c '^long[0-9]* ' "$W/long.txt")" = 3000 ] || fail "long answer: $(grep -c '^long' "$W/long.txt") rules"
ok "a long answer (3000 rules, $(wc -c < "$W/long.txt") bytes) comes whole"
sbc_alive
sbc_stop
[ -e "$W/sbcd.sock" ] && fail "control socket left behind"
ok "control socket removed at exit"
