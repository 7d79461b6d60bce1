#!/bin/bash
# Calls to and from parties behind NAT (dialog_flow.c): every request of
# a call towards its access party goes to the flow the party used (the
# UDP address and port, the TCP connection, the registration flow),
# never to its Contact, which here names a trap address (a listener that
# must hear nothing).
#   - registered phones (through a real Kamailio registrar, Path), UDP
#     and TCP: called from the core, re-INVITE and BYE from the core;
#     BYE from the phone; the same after a state_file restart (UDP);
#     430 Flow Failed once a TCP phone's connection is gone; a request of
#     the call on the phone's new connection moves the call there;
#   - a customer PBX (a declared peer) calls from another port than its
#     Contact's; the callee hangs up, with and without Record-Route.
# The core sees sbcd's address as the access party's Contact.
. "$(dirname "$0")/lib.sh"

command -v kamailio >/dev/null || { t_log "kamailio not installed: skipped"; exit 0; }
ctl() { "${SBCCTL:?}" -s "$W/sbcd.sock" "$@"; }
SIPUA=$HERE/../../drill/sipua.py
PH=127.0.$T_N.11                # the phones: remote users, no peer
TRAP=127.0.$T_N.20              # what their Contacts name
C2=127.0.$T_N.4                 # the core's caller
PEERS="[peer pbx]
addr = $P/32"

# the trap: anything that reaches a Contact address is a failure
python3 - "$TRAP" 25184 "$W/trap.txt" <<'PY' &
import selectors, socket, sys, time
ip, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((ip, port))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((ip, port))
t.listen(8)
sel = selectors.DefaultSelector()
sel.register(u, selectors.EVENT_READ)
sel.register(t, selectors.EVENT_READ)
open(out, "w").close()
end = time.time() + 280
while time.time() < end:
    for key, _ in sel.select(1):
        if key.fileobj is u:
            data, src = u.recvfrom(65535)
            what = "udp %s:%d %r" % (src[0], src[1], data[:60])
        else:
            c, src = t.accept()
            c.close()
            what = "tcp connection from %s:%d" % src
        with open(out, "a") as f:
            f.write(what + "\n")
PY
T_PIDS="$T_PIDS $!"
trap_quiet() {
	[ ! -s "$W/trap.txt" ] || fail "$1: a request went to the Contact: $(head -3 "$W/trap.txt")"
}

kam_start 1234
sbc_conf "registrar = sip:$U:5080;transport=udp" \
	"upstream = sip:$U:5090;transport=udp" \
	"remote_users = yes" "state_file = $W/state" \
	"flow_key_file = $W/flow.key"
sbc_start

wait_binding() {
	wait_for 50 sh -c "'${SBCCTL}' -s '$W/sbcd.sock' bindings | grep -q '^binding $1@'" \
		|| fail "no binding for $1: $(ctl bindings)"
}
# phone NAME USER PORT TRANSPORT SCENARIO: registers USER from PH:PORT
# with a Contact at the trap, then takes calls with SCENARIO
phone() {
	sed "s|Contact: <sip:\[service\]@\[local_ip\]:\[local_port\];transport=\[transport\]>|Contact: <sip:[service]@$TRAP:25184;transport=[transport]>|; s|<pause milliseconds=\"5000\"/>|<pause milliseconds=\"60000\"/>|" \
		"$SCEN/uac_register_wait.xml" > "$W/reg_$1.xml"
	grep -q "$TRAP" "$W/reg_$1.xml" || fail "phone scenario not made"
	sipp_bg "$1" -sf "$W/reg_$1.xml" -oocsf "$5" -i "$PH" -p "$3" -t "$4" \
		"$A:5060" -s "$2" -ap 1234 -m 1 -timeout 90 -timeout_error
	wait_binding "$2"
}
# core_call NAME USER [sipua options]: a call from the core through the
# registrar; the caller hangs up once $W/NAME.hangup exists
core_call() {
	local name=$1 user=$2
	shift 2
	python3 "$SIPUA" uac --target "$U:5080" --transport udp --local-ip "$C2" \
		--calls 1 --number "$user" --hold 60 --max 60 --media-ip "$C2" \
		--hangup-file "$W/$name.hangup" --out "$W/$name.calls" \
		--keepalive 0 "$@" >"$W/$name.out" 2>&1 &
	T_PIDS="$T_PIDS $!"
	eval "PID_$name=$!"
}
call_has() {    # call_has NAME PATTERN TENTHS
	wait_for "$3" grep -q "$2" "$W/$1.calls" \
		|| fail "$1: no '$2' in: $(cat "$W/$1.calls" 2>/dev/null) $(tail -3 "$W/$1.out")"
}
UAS_NAT=$(scen_gen uas_nat uas_nat.xml.in CONTACT="$TRAP:25184")
UAS_NAT_BYE=$(scen_gen uas_nat_bye uas_nat_bye.xml.in CONTACT="$TRAP:25184")

# --- a UDP phone: re-INVITE and BYE from the core reach its flow
phone ph1 alice 5071 u1 "$UAS_NAT"
core_call c1 alice --reinvite-at 0.3 --trace "$W/c1.trace"
call_has c1 "state=answered.*reinvite=200" 100
touch "$W/c1.hangup"
call_has c1 "state=ended ended_by=caller bye_code=200" 100
wait_pid "$PID_c1" 10 || fail "the core's call to alice: $(cat "$W/c1.out")"
grep -qE "${C//./\\.}([^0-9]|$)" "$W/ph1.msg" \
	&& fail "the phone saw a core address of sbcd"
trap_quiet "UDP phone"
ok "UDP phone behind NAT (Contact unreachable): called from the core, re-INVITE and BYE from the core completed on its flow"

grep -qi "^Contact: <sip:[0-9a-f]\{30,\}@$C:5060>" "$W/c1.trace" \
	|| fail "the core saw no sbcd Contact for the phone: $(grep -i -m3 '^contact' "$W/c1.trace")"
ok "the core sees sbcd's core address, with the flow token, as the phone's Contact"

# --- the phone hangs up
phone ph2 bob 5072 u1 "$UAS_NAT_BYE"
core_call c2 bob --bye-fraction 1
call_has c2 "state=ended ended_by=callee bye_code=200" 150
trap_quiet "UDP phone hanging up"
ok "UDP phone behind NAT hangs up: its BYE reaches the core"

# --- a TCP phone: the calls and its requests on the connection it opened
phone ph3 carol 5073 t1 "$UAS_NAT"
core_call c3 carol --reinvite-at 0.3
call_has c3 "state=answered.*reinvite=200" 100
touch "$W/c3.hangup"
call_has c3 "state=ended ended_by=caller bye_code=200" 100
trap_quiet "TCP phone"
ok "TCP phone behind NAT: re-INVITE and BYE from the core on its connection"

# --- state_file: a restart keeps the flow of a UDP call
phone ph4 dave 5074 u1 "$UAS_NAT"
core_call c4 dave
call_has c4 "state=answered" 100
wait_for 50 sh -c "'${SBCCTL}' -s '$W/sbcd.sock' calls | grep -q 'state confirmed'" \
	|| fail "dave's call not confirmed: $(ctl calls)"
sbc_stop
grep -q "^dlg 1 .* udp/$PH:5074 " "$W/state" || fail "the call's flow is not in state_file: $(grep '^dlg' "$W/state")"
sbc_start
kill -USR1 "$PID_c4"            # a re-INVITE from the core, after the restart
call_has c4 "reinvite=200" 100
touch "$W/c4.hangup"
call_has c4 "state=ended ended_by=caller bye_code=200" 100
trap_quiet "after a restart"
ok "sbcd restarted (state_file): the call's re-INVITE and BYE still reach the phone's flow"

# --- a TCP phone whose connection is gone: 430, never its Contact
phone ph5 erin 5075 t1 "$UAS_NAT"
core_call c5 erin
call_has c5 "state=answered" 100
kill "$PID_ph5"
wait_pid "$PID_ph5" 10 >/dev/null
touch "$W/c5.hangup"
call_has c5 "state=ended ended_by=caller bye_code=430" 100
grep -q "connection of its access party ($PH:5075) is gone: 430" "$W/sbcd.log" \
	|| fail "no log line for the gone flow"
trap_quiet "TCP flow gone"
ok "TCP phone gone: the core's BYE gets 430 Flow Failed, nothing is sent to its Contact"

# --- a TCP phone whose connection is gone connects again from a new port
# (as after a failover) and sends a request of its call: that request is
# the user's, and the call's flow moves to the new connection
phone ph6 frank 5076 t1 "$UAS_NAT"
core_call c6 frank
call_has c6 "state=answered" 100
kill "$PID_ph6"
wait_pid "$PID_ph6" 10 >/dev/null
python3 - "$A" "$PH" "$W/ph6.msg" "$W/moved.txt" <<'PY' &
# the phone again: a new TCP connection, an INFO of its call, then the
# BYE of the core answered on it
import re, socket, sys, time
sbc, me, trace, out = sys.argv[1:5]
inv = next(b for b in re.split(r"^-{10,}.*$", open(trace).read(), flags=re.M)
           if re.search(r"^INVITE sip:", b, re.M))
ok = next(b for b in re.split(r"^-{10,}.*$", open(trace).read(), flags=re.M)
          if re.search(r"^SIP/2.0 200", b, re.M) and "INVITE" in b)
hdr = lambda b, n: re.search(r"^%s: *(.*)$" % n, b, re.M | re.I).group(1).strip()
rr = re.findall(r"^Record-Route: *(.*)$", inv, re.M | re.I)
target = re.search(r"<([^>]*)>", hdr(inv, "Contact")).group(1)
s = socket.create_connection((sbc, 5060), timeout=10, source_address=(me, 0))
port = s.getsockname()[1]
info = ("INFO %s SIP/2.0\r\nVia: SIP/2.0/TCP %s:%d;branch=z9hG4bKmoved1;rport\r\n"
        "%sFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 10 INFO\r\n"
        "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n") % (
    target, me, port, "".join("Route: %s\r\n" % r for r in rr),
    hdr(ok, "To"), hdr(inv, "From"), hdr(inv, "Call-ID"))
s.sendall(info.encode())
buf, log, end = b"", open(out, "w", buffering=1), time.time() + 30
while time.time() < end:
    while b"\r\n\r\n" not in buf:
        data = s.recv(65536)
        if not data:
            sys.exit("connection closed")
        buf += data
    head, buf = buf.split(b"\r\n\r\n", 1)
    msg = head.decode(errors="replace")
    first = msg.split("\r\n", 1)[0]
    if first.startswith("SIP/2.0 ") and "INFO" in hdr(msg, "CSeq"):
        log.write("INFO %s\n" % first.split()[1])
    elif first.startswith("BYE "):
        keep = [l for l in msg.split("\r\n")[1:] if re.match(
            r"(Via|From|To|Call-ID|CSeq):", l, re.I)]
        s.sendall(("SIP/2.0 200 OK\r\n" + "\r\n".join(keep)
                   + "\r\nContent-Length: 0\r\n\r\n").encode())
        log.write("BYE answered\n")
        time.sleep(0.5)
        sys.exit(0)
sys.exit("no BYE")
PY
MOVED=$!
T_PIDS="$T_PIDS $MOVED"
wait_for 100 grep -q "^INFO" "$W/moved.txt" || fail "the phone's INFO on a new connection got no answer"
grep -q "^INFO 200" "$W/moved.txt" || fail "the phone's INFO on a new connection: $(cat "$W/moved.txt")"
touch "$W/c6.hangup"
call_has c6 "state=ended ended_by=caller bye_code=200" 100
wait_pid "$MOVED" 10 || fail "the phone's new connection did not get the BYE"
trap_quiet "TCP flow moved"
ok "TCP phone connected again from a new port: its request is the user's, and the core's BYE comes on the new connection"

# --- a customer PBX behind NAT: the callee hangs up
for routes in "[routes]" "Subject: no Route"; do
	for tp in u1 t1; do
		n=pbx_${tp}_${routes:1:1}
		uas=$(scen_gen "uas_$n" uas_bye.xml.in ROUTES="$routes")
		uac=$(scen_gen "uac_$n" uac_nat.xml.in CONTACT="$TRAP:25184")
		sipp_bg "core_$n" -sf "$uas" -i "$U" -p 5090 -m 1 \
			-timeout 20 -timeout_error
		sipp_run "$n" -sf "$uac" -i "$P" -p 5077 -t "$tp" "$A:5060" \
			-s 5551234 -m 1 -timeout 20 -timeout_error \
			|| fail "PBX call ($tp, routes '$routes'): $(tail -3 "$W/$n.out") $(tail -3 "$W/sbcd.log")"
		eval "pid=\$PID_core_$n"
		wait_pid "$pid" 10 || fail "the core callee ($tp, routes '$routes') did not finish: $(tail -3 "$W/core_$n.out")"
		grep -q "^Contact: <sip:[0-9a-f]*@$C:5060\(;transport=tcp\)\?>" "$W/core_$n.msg" \
			|| fail "the core did not see sbcd's Contact for the PBX: $(grep -m2 Contact "$W/core_$n.msg")"
		trap_quiet "PBX $tp"
		how="along Record-Route"
		[ "$routes" = "[routes]" ] || how="the core ignoring Record-Route"
		ok "PBX behind NAT ($tp, $how): the callee's BYE reached the port its INVITE came from"
	done
done

sbc_alive
sbc_stop
kam_stop
