#!/bin/bash
# Remote users (remote_users = yes): a phone that is no declared peer
# registers through sbcd to a real registrar (Kamailio); sbcd records its
# binding from the 200 and then lets it call, from the address and port
# it registered from only, under remote_user_profile; other sources and
# other ports of the same address are dropped.  The registrar stores
# where each phone really is (the received= of sbcd's Path entry: UDP,
# behind a NAT, TCP) and still calls it through sbcd.
. "$(dirname "$0")/lib.sh"

command -v kamailio >/dev/null || { t_log "kamailio not installed: skipped"; exit 0; }
ctl() { "${SBCCTL:?}" -s "$W/sbcd.sock" "$@"; }
PEERS="[profile remote]
deny = ^0900"

kam_start 1234
sbc_conf "registrar = sip:$U:5080;transport=udp" \
	"upstream = sip:$U:5090;transport=udp" \
	"remote_users = yes" "remote_user_profile = remote" \
	"security_log = $W/security.log" "flow_key_file = $W/flow.key"
sbc_start
sipp_bg uas -sf "$SCEN/uas.xml" -i "$U" -p 5090

# before registering, the phone is nobody
reply_is "call before registering" TIMEOUT "$P:5070" 5551234

sipp_run reg -sf "$SCEN/uac_register.xml" -i "$P" -p 5070 "$A:5060" -s alice \
	-ap 1234 -m 1 -timeout 5 -timeout_error || fail "alice did not register"
ctl bindings > "$W/bindings.txt"
grep -q "^binding alice@$A sip:alice@$P:5070 udp $P:5070 expires [0-9]" "$W/bindings.txt" \
	|| { cat "$W/bindings.txt"; fail "no binding for alice"; }
ok "a phone that is no peer registered through sbcd: binding recorded from the 200"

sipp_call call uac.xml 1 -s 5551234 || fail "the registered phone's call failed"
ok "the registered phone calls from the address and port it registered from"

reply_is "same address, another port" TIMEOUT "$P:5071" 5551234
reply_is "another address" TIMEOUT "127.0.$T_N.11:5070" 5551234
ok "another port or address of no binding: dropped"

reply_is "premium number under remote_user_profile" 403 "$P:5070" 0900123
grep -q "\"rule\":\"fraud:denied_destination\".*\"peer\":\"user:alice@$A\"" "$W/security.log" \
	|| grep -q "\"peer\":\"user:alice@$A\".*\"rule\":\"fraud:denied_destination\"" "$W/security.log" \
	|| { tail -3 "$W/security.log"; fail "no fraud event for the remote user"; }
ok "remote_user_profile applies to the remote user (counted as user:AOR)"

# --- calls to registered users: core caller -> registrar -> sbcd -> phone
# (the registrar stores the received= of sbcd's Path entry, but sends
# along the Path: the INVITE the phone got came from sbcd)
C2=127.0.$T_N.4
wait_binding() {
	for _ in $(seq 1 50); do
		ctl bindings | grep -q "^binding $1@" && return 0
		sleep 0.1
	done
	fail "no binding for $1: $(ctl bindings)"
}
top_via_is_sbcd() { # the INVITE sipp NAME got over TP has sbcd's Via on top
	python3 - "$W/$1.msg" "SIP/2.0/$2 $A:5060;" <<'PY' || fail "$1: INVITE not from sbcd"
import sys
txt = open(sys.argv[1], errors="replace").read()
i = txt.find("\nINVITE sip:")
assert i >= 0, "no INVITE"
via = [l for l in txt[i:].splitlines() if l.lower().startswith(("via:", "v:"))][0]
assert via.split(":", 1)[1].strip().startswith(sys.argv[2]), via
PY
}
core_call() {   # core_call NAME USER [SCENARIO]
	sipp_run "$1" -sf "${3:-$SCEN/uac.xml}" -s "$2" -i "$C2" -p 5070 "$U:5080" \
		-m 1 -timeout 15 -timeout_error
}

# the phones stay on their sockets until the test is done with them
reg_until "$W/uac_register_until.xml"
sipp_bg phone -sf "$W/uac_register_until.xml" -oocsf "$SCEN/uas.xml" \
	-i "$P" -p 5072 "$A:5060" -s bob -ap 1234 -m 1 -timeout 60 -timeout_error
wait_binding bob
r=$(kam_received bob)
[ "$r" = "sip:$P:5072;transport=udp" ] || fail "bob's received at the registrar: '$r'"
core_call call_bob bob || fail "call to bob (UDP) failed: $(tail -3 "$W/call_bob.out")"
reg_release phone "$P" 5072
wait_pid "$PID_phone" 10 || fail "bob's phone did not take the call"
grep -q "^INVITE sip:bob@$P:5072" "$W/phone.msg" || fail "bob got no INVITE to his contact"
top_via_is_sbcd phone UDP
ok "call to a UDP user: registrar -> Path -> sbcd -> the address bob registered from (stored as received: $r)"

# behind a NAT: the phone's Contact names its private address, the
# call must still reach the address and port its REGISTER came from
sed 's|Contact: <sip:\[service\]@\[local_ip\]:\[local_port\];transport=\[transport\]>|Contact: <sip:[service]@192.168.1.20:5060>|' \
	"$W/uac_register_until.xml" > "$W/uac_register_nat.xml"
grep -q "192.168.1.20" "$W/uac_register_nat.xml" || fail "NAT scenario not made"
sipp_bg natphone -sf "$W/uac_register_nat.xml" -oocsf "$SCEN/uas.xml" \
	-i "$P" -p 5074 "$A:5060" -s dave -ap 1234 -m 1 -timeout 60 -timeout_error
wait_binding dave
ctl bindings | grep -q "^binding dave@$A sip:dave@192.168.1.20:5060 udp $P:5074 " \
	|| fail "dave's binding: $(ctl bindings)"
r=$(kam_received dave)
[ "$r" = "sip:$P:5074;transport=udp" ] || fail "dave's received at the registrar: '$r'"
core_call call_dave dave || fail "call to dave behind NAT failed: $(tail -3 "$W/call_dave.out")"
reg_release natphone "$P" 5074
wait_pid "$PID_natphone" 10 || fail "dave's phone did not take the call"
grep -q "^INVITE sip:dave@192.168.1.20:5060 SIP/2.0" "$W/natphone.msg" \
	|| fail "dave got no INVITE for his contact at $P:5074"
top_via_is_sbcd natphone UDP
ok "a NATed phone (Contact 192.168.1.20:5060, REGISTER from $P:5074, the registrar shows $r): its call reaches the NAT's address and port through sbcd"

sipp_bg phonet -sf "$W/uac_register_until.xml" -oocsf "$SCEN/uas.xml" \
	-i "$P" -p 5073 -t t1 "$A:5060" -s carol -ap 1234 -m 1 -timeout 60 -timeout_error
wait_binding carol
ctl bindings | grep -q "^binding carol@$A .* tcp $P:5073 expires [0-9]* reachable$" \
	|| fail "carol's TCP binding: $(ctl bindings)"
r=$(kam_received carol)
[ "$r" = "sip:$P:5073;transport=tcp" ] || fail "carol's received at the registrar: '$r'"
core_call call_carol carol || fail "call to carol (TCP) failed: $(tail -3 "$W/call_carol.out")"
reg_release phonet "$P" 5073
wait_pid "$PID_phonet" 10 || fail "carol's phone did not take the call"
top_via_is_sbcd phonet TCP
ok "call to a TCP user: on the connection carol opened (the registrar shows $r)"

# carol's phone has gone (its connection closed): 430 Flow Failed
for _ in $(seq 1 20); do
	ctl bindings | grep -q "^binding carol@.*connection-closed" && break
	sleep 0.1
done
uac430=$(scen_gen uac430 uac_err.xml.in CODE=430 HDR=CSeq RE=INVITE)
core_call gone carol "$uac430" || fail "call to carol after her connection closed: $(tail -3 "$W/gone.out")"
grep -q "connection from $P:5073 is gone: 430" "$W/sbcd.log" || fail "no log line for the gone flow"
ok "a TCP user whose connection is gone: 430 Flow Failed, no new connection to it"

# topology hiding, on the wire: in every message the access side got,
# no Via, Record-Route, Route, Contact, Path or Service-Route, and no
# SDP c=, o= or a=rtcp line (media anchoring) names a core-side address
# (sbcd's core side, the registrar, the core caller)
python3 - "$C" "$U" "$C2" "$W"/reg.msg "$W"/call.msg "$W"/phone.msg "$W"/phonet.msg \
	"$W"/natphone.msg <<'PY' \
	|| fail "a core address reached the access side"
import re, sys
core = sys.argv[1:4]
hdrs = ("via", "v", "record-route", "route", "contact", "m", "path", "service-route")
bad = 0
seen = 0
for f in sys.argv[4:]:
    for block in re.split(r"^-{10,}.*$", open(f, errors="replace").read(),
                          flags=re.M):
        if "message received" not in block:
            continue
        for line in block.splitlines():
            name = line.split(":", 1)[0].strip().lower()
            if name in hdrs or line.startswith(("c=", "o=", "a=rtcp")):
                seen += 1
                for a in core:
                    if re.search(re.escape(a) + r"(?![0-9])", line):
                        print("%s: %s" % (f, line))
                        bad += 1
print("%d headers checked" % seen)
sys.exit(1 if bad or not seen else 0)
PY
ok "topology hidden: no core address in any Via, Record-Route, Route, Contact, Path or SDP the access side received"

# a restart keeps UDP users reachable: the Path token's key is in
# flow_key_file, so the registrar's stored Path still opens the flow
sipp_bg phone2 -sf "$W/uac_register_until.xml" -oocsf "$SCEN/uas.xml" \
	-i "$P" -p 5075 "$A:5060" -s erin -ap 1234 -m 1 -timeout 60 -timeout_error
wait_binding erin
[ "$(stat -c %a "$W/flow.key")" = 600 ] || fail "flow key file mode $(stat -c %a "$W/flow.key")"
sbc_stop
sbc_start
core_call call_erin erin || fail "call to erin after a restart failed: $(tail -3 "$W/call_erin.out")"
reg_release phone2 "$P" 5075
wait_pid "$PID_phone2" 10 || fail "erin's phone did not take the call after the restart"
ok "sbcd restarted: a UDP user registered before is still reached (flow_key_file)"

sbc_alive
sbc_stop
kam_stop
