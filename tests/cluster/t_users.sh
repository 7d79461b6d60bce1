#!/bin/bash
# t_users: registered users are reached through the node that takes over.
# A real registrar (Kamailio with Path, in the core namespace) keeps the
# Path entry n1 added, a flow token naming the user's flow.  Alice
# registered over UDP and Carol over TCP through n1; n1 crashes, n2 takes
# over with their bindings (replicated).  Then:
#   - a call from the core to Alice goes registrar -> Path -> n2 -> the
#     address and port Alice registered from;
#   - Carol's TCP connection died with n1: a call to her gets 430 Flow
#     Failed from n2 (no connection towards her phone) until she connects
#     again and registers through n2 (from the same port: her flow); then
#     a call from the core reaches her on her new connection;
#   - Dave is behind NAT: his Contact (REGISTER and 200) names a trap
#     address in cli that must hear nothing.  His call from the core is
#     set up through n1 and survives the crash: a re-INVITE and the BYE
#     from the core reach him through n2 on the flow he registered from
#     (the call's record carries the flow), never at his Contact.
# Label cluster.  Arg 1: the lab index.
. "$(dirname "$0")/lab.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pair.sh"
command -v kamailio >/dev/null || lab_skip "kamailio not installed (make deps)"

KAM=$LAB_W/kam
REG="registrar = sip:$LAB_CORE_IP:5080;transport=udp"
UOPTS=("$REG" "remote_users = yes" "flood_requests = 0")
args=(-nostdin -trace_msg -trace_err -timeout 20 -timeout_error)

binding_on() { ctl "$1" bindings | grep -q "^binding $2@"; }
core_call() { # NAME USER
	lab_core sipp -sf "$LAB_W/core_uac.xml" -s "$2" -i "$LAB_CORE_IP" -p 5062 \
		"$LAB_CORE_IP:5080" -m 1 -message_file "$LAB_W/$1.msg" \
		-error_file "$LAB_W/$1.err" "${args[@]}" >"$LAB_W/$1.out" 2>&1
}

lab_up n1 n2
pair_init
mkdir -p "$KAM"
lab_bg core "$KAM/kamailio.log" kamailio -f "$HERE/../integration/kamailio/registrar.cfg" \
	-DD -E -m 16 -M 4 -n 1 -w "$KAM" -P "$KAM/kamailio.pid" -Y "$KAM" \
	-A "LISTEN=udp:$LAB_CORE_IP:5080" -A 'PASSWORD="1234"' -A "CTL=\"unix:$KAM/kam.ctl\""
sed -e "s/\[media_ip\]/$LAB_CORE_IP/g" -e "s/\[media_port\]/6002/g" \
	-e "s/IP\[media_ip_type\]/IP4/g" "$ISCEN/uac.xml" > "$LAB_W/core_uac.xml"
sed -e "s/\[media_ip\]/$LAB_CLI_IP/g" -e "s/\[media_port\]/6000/g" \
	-e "s/IP\[media_ip_type\]/IP4/g" "$ISCEN/uas.xml" > "$LAB_W/phone_uas.xml"
# the registration's Path check, for any transport; the Contact of the
# phone that registers again later (uac_register_wait.xml), so that the
# registrar sees one contact
sed -e 's/transport=udp;lr;ob/transport=[a-z]+;lr;ob/' \
	-e 's|Contact: <sip:\[service\]@\[local_ip\]:\[local_port\]>|Contact: <sip:[service]@[local_ip]:[local_port];transport=[transport]>|' \
	"$ISCEN/uac_register.xml" > "$LAB_W/register.xml"

pair_up "${UOPTS[@]}"
pair_sipua

# Dave's trap: his Contact's address in cli; anything that reaches it
# fails the test (bounded: it ends on its own after 150 s)
TRAP=192.0.2.102
ip -n "$LAB_P-cli" addr add "$TRAP/24" dev eth0
cat > "$LAB_W/trap.py" <<'PY'
import socket, sys, time
ip, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((ip, port))
u.settimeout(0.2)
open(out, "w").close()
end = time.time() + 150
while time.time() < end:
    try:
        data, src = u.recvfrom(65535)
    except socket.timeout:
        continue
    with open(out, "a") as f:
        f.write("%s:%d %r\n" % (src[0], src[1], data[:80]))
PY
lab_bg cli "$LAB_W/trap.out" "$PY" "$LAB_W/trap.py" "$TRAP" 25184 "$LAB_W/trap.txt"
trap_quiet() { [ ! -s "$LAB_W/trap.txt" ] || fail "$1: a request reached dave's Contact: $(cat "$LAB_W/trap.txt")"; }

# Alice over UDP, Carol over TCP, through n1
lab_cli sipp -sf "$ISCEN/uac_register.xml" -i "$LAB_CLI_IP" -p 5070 \
	"$LAB_VIP_ACCESS:5060" -s alice -ap 1234 -m 1 -message_file "$LAB_W/reg_alice.msg" \
	-error_file "$LAB_W/reg_alice.err" "${args[@]}" >"$LAB_W/reg_alice.out" 2>&1 ||
	fail "alice did not register: $(tail -3 "$LAB_W/reg_alice.out")"
lab_cli sipp -sf "$LAB_W/register.xml" -t t1 -i "$LAB_CLI_IP" -p 5073 \
	"$LAB_VIP_ACCESS:5060" -s carol -ap 1234 -m 1 -message_file "$LAB_W/reg_carol.msg" \
	-error_file "$LAB_W/reg_carol.err" "${args[@]}" >"$LAB_W/reg_carol.out" 2>&1 ||
	fail "carol did not register: $(tail -3 "$LAB_W/reg_carol.out")"
wait_for 5 binding_on n2 alice || fail "n2 lacks alice's binding: $(ctl n2 bindings)"
wait_for 5 binding_on n2 carol || fail "n2 lacks carol's binding: $(ctl n2 bindings)"
ctl n2 bindings | grep -q "^binding carol@.* tcp $LAB_CLI_IP:5073 " ||
	fail "carol's TCP flow on n2: $(ctl n2 bindings)"
ok "alice (UDP) and carol (TCP) registered through n1; their bindings are on n2"

# Dave registers from cli:5074 with his Contact at the trap, and takes
# calls as a phone behind NAT would (uas_nat: re-INVITE, then the BYE)
sed -e "s|Contact: <sip:\[service\]@\[local_ip\]:\[local_port\];transport=\[transport\]>|Contact: <sip:[service]@$TRAP:25184;transport=[transport]>|" \
	-e 's|<pause milliseconds="5000"/>|<pause milliseconds="90000"/>|' \
	"$ISCEN/uac_register_wait.xml" > "$LAB_W/reg_dave.xml"
sed -e "s|@CONTACT@|$TRAP:25184|g" "$ISCEN/uas_nat.xml.in" > "$LAB_W/uas_nat.xml"
grep -q "$TRAP" "$LAB_W/reg_dave.xml" || fail "dave's scenario not made"
lab_bg cli "$LAB_W/dave.out" sipp -sf "$LAB_W/reg_dave.xml" -oocsf "$LAB_W/uas_nat.xml" \
	-t u1 -i "$LAB_CLI_IP" -p 5074 "$LAB_VIP_ACCESS:5060" -s dave -ap 1234 -m 1 \
	-message_file "$LAB_W/dave.msg" -error_file "$LAB_W/dave.err" -nostdin -trace_msg \
	-trace_err -timeout 120 -timeout_error
DAVE=$LAB_BG_PID
wait_for 5 binding_on n2 dave || fail "n2 lacks dave's binding: $(ctl n2 bindings)"
lab_bg core "$LAB_W/cd.stdout" "$PY" "$SIPUA" uac --target "$LAB_CORE_IP:5080" \
	--transport udp --local-ip "$LAB_CORE_IP" --calls 1 --number dave --hold 90 \
	--max 110 --media-ip "$LAB_CORE_IP" --hangup-file "$LAB_W/cd.hangup" \
	--out "$LAB_W/cd.calls" --keepalive 0
CD=$LAB_BG_PID
cd_has() { grep -q "$1" "$LAB_W/cd.calls" 2>/dev/null; }
wait_for 10 cd_has "state=answered" || fail "the core's call to dave: $(cat "$LAB_W/cd.calls" 2>/dev/null; tail -3 "$LAB_W/cd.stdout")"
dave_up() { ctl n2 calls | grep -q ' state confirmed '; }
wait_for 5 dave_up || fail "dave's call not confirmed on n2: $(ctl n2 calls)"
trap_quiet "the call's set-up"
ok "dave (behind NAT: Contact at $TRAP) registered and called from the core through n1; the call is on n2"

pair_crash n1 n2
ok "n1 crashed; n2 active after $PAIR_ACTIVE_MS ms"

# Dave's call: a re-INVITE, then the BYE, from the core through n2
kill -USR1 "$CD"
wait_for 10 cd_has "reinvite=200" || fail "the re-INVITE to dave through n2: $(cat "$LAB_W/cd.calls")"
touch "$LAB_W/cd.hangup"
wait_for 10 cd_has "state=ended ended_by=caller bye_code=200" ||
	fail "the BYE to dave through n2: $(cat "$LAB_W/cd.calls")"
reap "$CD" 15 || fail "the core's caller of dave failed: $(tail -3 "$LAB_W/cd.stdout")"
trap_quiet "after the failover"
grep -c "^BYE sip:" "$LAB_W/dave.msg" | grep -qx 1 || fail "dave got $(grep -c '^BYE sip:' "$LAB_W/dave.msg") BYEs"
ok "dave's call survived the crash: re-INVITE and BYE from the core reached him through n2 on his flow ($LAB_CLI_IP:5074), none at his Contact"

# Alice: her phone answers on the port she registered from
lab_bg cli "$LAB_W/alice.out" sipp -sf "$LAB_W/phone_uas.xml" -i "$LAB_CLI_IP" -p 5070 \
	-m 1 -message_file "$LAB_W/alice.msg" -error_file "$LAB_W/alice.err" "${args[@]}"
ALICE=$LAB_BG_PID
sleep 0.5
core_call call_alice alice || fail "the core's call to alice failed: $(tail -3 "$LAB_W/call_alice.out")"
reap "$ALICE" 15 || fail "alice's phone did not take the call"
grep -q "^INVITE sip:alice@$LAB_CLI_IP:5070" "$LAB_W/alice.msg" || fail "alice got no INVITE"
ok "the core's call to alice (UDP) reached her through n2"

# Carol: her flow died with n1; until she connects again, 430
sed -e 's|@CODE@|430|' -e 's|@HDR@|CSeq|' -e 's|@RE@|INVITE|' \
	"$ISCEN/uac_err.xml.in" > "$LAB_W/core_430.xml"
lab_core sipp -sf "$LAB_W/core_430.xml" -s carol -i "$LAB_CORE_IP" -p 5062 \
	"$LAB_CORE_IP:5080" -m 1 -message_file "$LAB_W/gone.msg" \
	-error_file "$LAB_W/gone.err" "${args[@]}" >"$LAB_W/gone.out" 2>&1 ||
	fail "the call to carol without her connection: $(tail -3 "$LAB_W/gone.out")"
grep -q "connection from $LAB_CLI_IP:5073 is gone: 430" "$LAB_W/n2/sbcd.log" ||
	fail "n2 did not answer 430 for carol's gone flow"
ok "a call to carol before she connects again: 430 Flow Failed from n2"

# Carol: a new connection from her port, a new REGISTER through n2, then
# the call on that connection
lab_bg cli "$LAB_W/carol.out" sipp -sf "$ISCEN/uac_register_wait.xml" \
	-oocsf "$LAB_W/phone_uas.xml" -t t1 -i "$LAB_CLI_IP" -p 5073 \
	"$LAB_VIP_ACCESS:5060" -s carol -ap 1234 -m 1 -message_file "$LAB_W/carol.msg" \
	-error_file "$LAB_W/carol.err" "${args[@]}"
CAROL=$LAB_BG_PID
reregistered() { grep -q "^SIP/2.0 200" "$LAB_W/carol.msg" 2>/dev/null; }
wait_for 5 reregistered || fail "carol did not register again through n2"
core_call call_carol carol || fail "the core's call to carol failed: $(tail -3 "$LAB_W/call_carol.out")"
reap "$CAROL" 15 || fail "carol's phone did not take the call: $(tail -3 "$LAB_W/carol.out")"
grep -q "^INVITE sip:carol@" "$LAB_W/carol.msg" || fail "carol got no INVITE"
ok "carol connected again, registered through n2, and the core's call reached her on her new connection"
pair_stop n2 "$SBC2"
