#!/bin/bash
# The connections sbcd opens itself (here towards a TCP upstream) are
# framed by sbcd as the ones it accepts are (wire.c): what the far end
# sends on them is judged alike.  The upstream, played here, answers each
# INVITE on the connection sbcd opened:
#   - a response whose body never comes whole (Content-Length 500, 20
#     bytes sent): the connection ends tcp_message_timeout (1 s) after
#     the message began, with a log line and an "invalid" event;
#   - a response with two Content-Length headers (RFC 3261 18.3: cannot
#     be framed): the connection ends at once;
#   - a well-formed 486: relayed to the caller, the connection kept.
# Before, libre alone framed these connections: it waited for the rest
# of the first for as long as the connection lived, and dropped the
# second without a word.
. "$(dirname "$0")/lib.sh"

PEERS="[peer test]
addr = 127.0.$T_N.0/24
flood_exempt = yes"
sbc_conf "upstream = sip:$U:5080;transport=tcp" "tcp_message_timeout = 1" \
	"security_log = $W/security.log" "log_level = info"
sbc_start

cat > "$W/up.py" <<'PY'
import re, socket, sys, time
U, out = sys.argv[1], sys.argv[2]
mode = sys.argv[3:]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((U, 5080))
ls.listen(4)
ls.settimeout(20)
log = open(out, "w", buffering=1)
for m in mode:
    c, peer = ls.accept()
    c.settimeout(10)
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += c.recv(65535)
    req = buf.decode(errors="replace")
    hdr = lambda n: re.search(r"^(?:%s):(.*)$" % n, req, re.M | re.I).group(1).strip()
    head = ("Via: %s\r\nFrom: %s\r\nTo: %s;tag=up1\r\nCall-ID: %s\r\nCSeq: %s\r\n"
            % (hdr("Via|v"), hdr("From|f"), hdr("To|t"), hdr("Call-ID|i"), hdr("CSeq")))
    t0 = time.monotonic()
    if m == "partial":
        c.sendall(("SIP/2.0 180 Ringing\r\n" + head + "Content-Type: application/sdp\r\n"
                   "Content-Length: 500\r\n\r\n" + "v=0\r\no=- 1 1 IN IP4 x\r\n").encode())
    elif m == "twolen":
        c.sendall(("SIP/2.0 180 Ringing\r\n" + head + "Content-Length: 0\r\n"
                   "Content-Length: 5\r\n\r\n").encode())
    else:
        c.sendall(("SIP/2.0 486 Busy Here\r\n" + head + "Content-Length: 0\r\n\r\n").encode())
    # how long until sbcd ends the connection (EOF), 8 s at most
    c.settimeout(0.1)
    end = None
    while time.monotonic() - t0 < 8:
        try:
            d = c.recv(65535)
        except socket.timeout:
            continue
        except ConnectionResetError:
            d = b""
        if not d:
            end = time.monotonic() - t0
            break
    log.write("%s %s\n" % (m, "closed %.2f" % end if end is not None else "open"))
    c.close()
PY
python3 "$W/up.py" "$U" "$W/up.out" partial twolen busy &
UP=$!
T_PIDS="$T_PIDS $UP"
sleep 0.3

call() { # NAME: an INVITE from the caller, its answer (or TIMEOUT) in W/NAME.r
	mkinvite "$W/$1.msg" 5551000 </dev/null
	raw_udp "$P:5071" "$A" 5060 "$W/$1.msg" 4 > "$W/$1.r" || true
}
up_said() { grep -q "^$1 " "$W/up.out" 2>/dev/null; }

call partial
wait_for 60 up_said partial || fail "the upstream saw no end of the first connection: $(cat "$W/up.out")"
grep -q "^partial closed " "$W/up.out" || fail "sbcd kept the connection with a message that never ends: $(cat "$W/up.out")"
t=$(awk '$1 == "partial" { print $3 }' "$W/up.out")
grep -q "core side: invalid .* from $U:5080 (TCP): connection closed" "$W/sbcd.log" ||
	fail "no log line for the unended message: $(grep -i 'invalid\|tcp' "$W/sbcd.log" | tail -5)"
ok "a response that never comes whole on a connection sbcd opened: the connection ended after ${t} s (tcp_message_timeout 1), logged"

call twolen
wait_for 60 up_said twolen || fail "the upstream saw no end of the second connection: $(cat "$W/up.out")"
grep -q "^twolen closed " "$W/up.out" || fail "sbcd kept the connection after an unframeable message: $(cat "$W/up.out")"
t2=$(awk '$1 == "twolen" { print $3 }' "$W/up.out")
[ "$(grep -c "core side: invalid .* from $U:5080 (TCP): connection closed" "$W/sbcd.log")" -ge 2 ] ||
	fail "no log line for the unframeable message"
ok "a response with two Content-Length headers: the connection ended after ${t2} s, logged"

call busy
case $(head -1 "$W/busy.r") in "SIP/2.0 486"*) ;; *) fail "the 486 over the opened connection: $(cat "$W/busy.r")" ;; esac
wait_for 100 up_said busy || fail "the upstream did not finish"
grep -q "^busy open" "$W/up.out" || fail "sbcd ended a connection that carried a good message: $(cat "$W/up.out")"
n=$(grep -c '"rule":"invalid"' "$W/security.log")
[ "$n" -ge 2 ] || fail "$n invalid events"
sbc_alive
ok "a well-formed 486 on the next connection reached the caller, the connection kept; $n invalid events"
sbc_stop
