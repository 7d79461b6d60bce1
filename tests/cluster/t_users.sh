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
#     a call from the core reaches her on her new connection.
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

pair_crash n1 n2
ok "n1 crashed; n2 active after $PAIR_ACTIVE_MS ms"

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
