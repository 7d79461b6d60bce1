# lib.sh: shared harness of the integration tests.  Each test gets its own
# loopback addresses 127.0.N.x (N from ctest), so tests run in parallel:
#   A=127.0.N.1 sbcd access side   C=127.0.N.2 sbcd core side
#   U=127.0.N.3 upstream / UAS     P=127.0.N.10 the caller (PBX)
# Every process is started here, remembered by PID and stopped by PID.

set -u
T_NAME=$(basename "$0" .sh)
T_N=${1:?usage: $0 NET_INDEX}
A=127.0.$T_N.1
C=127.0.$T_N.2
U=127.0.$T_N.3
P=127.0.$T_N.10
HERE=$(cd "$(dirname "$0")" && pwd)
SCEN=$HERE/scenarios
SBCD=${SBCD:?SBCD must point to the sbcd binary}
UAS=${UAS:-}
W=${T_WORKDIR:-${TMPDIR:-/tmp}/sbc-it.$T_NAME.$$}
rm -rf "$W"
mkdir -p "$W"
T_PIDS=""
SBC_PID=""
T_FAILED=0

t_log() { echo "[$T_NAME] $*"; }

t_cleanup() {
	for p in $T_PIDS; do
		kill "$p" 2>/dev/null
	done
	for p in $T_PIDS; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null
	done
	if [ "$T_FAILED" = 0 ] && [ -z "${T_KEEP:-}" ]; then
		rm -rf "$W"
	else
		echo "[$T_NAME] work dir kept: $W"
	fi
}
trap t_cleanup EXIT

fail() {
	T_FAILED=1
	t_log "FAIL: $*"
	if [ -f "$W/sbcd.log" ]; then
		echo "---- sbcd.log (tail) ----"
		tail -15 "$W/sbcd.log"
	fi
	exit 1
}

ok() { t_log "ok: $*"; }

# Base config for a test: no TLS unless asked, debug log, UDP upstream.
sbc_conf() {
	cat > "$W/sbc.conf" <<EOC
log_level = debug
access_addr = $A
access_tls_port = 0
core_addr = $C
core_tls_port = 0
core_tls_cert =
core_tls_key =
upstream = sip:$U:5080;transport=udp
EOC
	for kv in "$@"; do
		sbc_set "$kv"
	done
}

# Replace (or add) one option in the test's config.
sbc_set() {
	local k=${1%%=*}
	k=${k% }
	sed -i "/^$k *=/d" "$W/sbc.conf"
	echo "$1" >> "$W/sbc.conf"
}

# The caller's network is a declared peer unless a test says otherwise
# (sections come after the global options, so they are added at start).
PEERS="[peer test]
addr = 127.0.$T_N.0/24, ::1"

# The file sbcd reads: the options, then the sections.
sbc_write_conf() {
	{ cat "$W/sbc.conf"; printf '%s\n' "$PEERS"; } > "$W/sbcd.conf"
}

SBC_RUNS=0
sbc_start() {
	# keep earlier runs' logs for a post-mortem
	[ -s "$W/sbcd.log" ] && mv "$W/sbcd.log" "$W/sbcd.$SBC_RUNS.log"
	SBC_RUNS=$((SBC_RUNS + 1))
	: > "$W/sbcd.log"
	sbc_write_conf
	"$SBCD" -f "$W/sbcd.conf" 2>>"$W/sbcd.log" &
	SBC_PID=$!
	T_PIDS="$T_PIDS $SBC_PID"
	for _ in $(seq 1 100); do
		grep -q ' ready$' "$W/sbcd.log" && return 0
		kill -0 "$SBC_PID" 2>/dev/null || fail "sbcd exited at start-up"
		sleep 0.05
	done
	fail "sbcd not ready within 5 s"
}

# Stop sbcd by PID and check it exited cleanly (sanitizers report here).
sbc_stop() {
	[ -n "$SBC_PID" ] || return 0
	kill "$SBC_PID" 2>/dev/null
	local rc=0
	wait "$SBC_PID" || rc=$?
	SBC_PID=""
	if grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$W/sbcd.log"; then
		fail "sanitizer report in sbcd.log"
	fi
	[ "$rc" = 0 ] || fail "sbcd exited with $rc"
}

sbc_alive() {
	kill -0 "$SBC_PID" 2>/dev/null || fail "sbcd died"
}

# sipp in the background, e.g. a UAS: sipp_bg NAME ARGS...  Returns once
# it has bound its sockets (a UAS can take a call; polled, it may start
# slowly on a loaded machine) or has ended already.
sipp_bg() {
	local name=$1 pid
	shift
	sipp "$@" -nostdin -trace_msg -message_file "$W/$name.msg" \
		-trace_err -error_file "$W/$name.err" >"$W/$name.out" 2>&1 &
	pid=$!
	T_PIDS="$T_PIDS $pid"
	eval "PID_$name=$pid"
	sipp_up() { ss -Hanp 2>/dev/null | grep -q "pid=$pid," || ! kill -0 "$pid" 2>/dev/null; }
	wait_for 100 sipp_up || fail "sipp $name did not start: $(tail -3 "$W/$name.out")"
}

# sipp in the foreground, bounded: sipp_run NAME ARGS... (returns sipp rc)
sipp_run() {
	local name=$1
	shift
	timeout 60 sipp "$@" -nostdin -trace_msg -message_file "$W/$name.msg" \
		-trace_err -error_file "$W/$name.err" \
		-trace_stat -stf "$W/$name.csv" >"$W/$name.out" 2>&1
}

# The standard caller: sipp_call NAME SCENARIO CALLS [more sipp args]
sipp_call() {
	local name=$1 scen=$2 n=$3
	shift 3
	case $scen in /*) ;; *) scen=$SCEN/$scen ;; esac
	sipp_run "$name" -sf "$scen" -i "$P" -p 5070 "$A:5060" \
		-m "$n" -r 10 -timeout 30 -timeout_error "$@"
}

# Calls that wait for the test, never for a fixed time: a caller of
# scenarios/uac_until.xml holds its call until call_release (uac_hold.xml.in,
# uac_late_ack.xml, uac_bye_timeout.xml and uac_pcap.xml.in wait for it
# at their steps), a callee of uas_until.xml (and uas_early.xml.in) rings
# until call_answer, a phone of reg_until's scenario stays until
# reg_release.
# call_answered NAME: the 200 of sipp NAME's call came (polled, at most
# 10 s; fails the test otherwise).
call_answered() {
	wait_for 100 grep -q "^SIP/2.0 200" "$W/$1.msg" \
		|| fail "$1: the call was not answered: $(tail -3 "$W/$1.out")"
}
# call_release NAME IP PORT: every answered call of the caller sipp NAME
# (on IP:PORT) goes on now (uac_until.xml: hangs up).
# call_answer NAME IP PORT: every call ringing at the callee sipp NAME is
# answered now.  reg_release NAME IP PORT: the phone sipp NAME leaves.
call_release() { sipp_poke answered "$@"; }
call_answer() { sipp_poke ringing "$@"; }
reg_release() { sipp_poke registered "$@"; }
# reg_until OUT: the phone of uac_register_wait.xml, waiting for
# reg_release instead of 5 s.
reg_until() {
	sed 's|<pause milliseconds="5000"/>|<recv request="INFO"/>|' \
		"$SCEN/uac_register_wait.xml" > "$1"
	grep -q '<recv request="INFO"/>' "$1" || fail "$1 not made"
}
# The word: a request with the call's Call-ID and tags sent straight to
# that sipp (not through sbcd, and not answered; over TCP if its trace
# is), for each call in its trace that was answered (a 200 to an INVITE
# received), rings (an INVITE received) or registered (a 200 to a
# REGISTER received).  sipp_poke WHAT NAME IP PORT
sipp_poke() {
	python3 - "$1" "$W/$2.msg" "$3" "$4" <<'PY' || fail "cannot tell sipp $2"
import re, socket, sys, time
what, trace, ip, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
nonce = time.monotonic_ns()     # a second word is no retransmission
calls = {}
for block in re.split(r"^-{10,}.*$", open(trace, errors="replace").read(), flags=re.M):
    if "message received" not in block:
        continue
    msg = block.split("\n\n", 1)[-1].lstrip("\n")
    hdr = lambda n: re.search(r"^%s: *(.*?)\r?$" % n, msg, re.M | re.I).group(1)
    first = msg.split("\n", 1)[0]
    ok200 = first.startswith("SIP/2.0 200")
    if (what == "answered" and ok200 and hdr("CSeq").endswith("INVITE")) or (
            what == "registered" and ok200 and hdr("CSeq").endswith("REGISTER")) or (
            what == "ringing" and first.startswith("INVITE ")):
        calls.setdefault(hdr("Call-ID"), (hdr("From"), hdr("To")))
assert calls, "no call %s in %s" % (what, trace)
tcp = "TCP message" in open(trace, errors="replace").read()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
s.bind((ip, 0))
if tcp:
    s.connect((ip, port))
for n, (cid, (frm, to)) in enumerate(calls.items()):
    s.sendto(("INFO sip:test@%s:%d SIP/2.0\r\n"
              "Via: SIP/2.0/%s %s:%d;branch=z9hG4bKpoke%d.%d\r\n"
              "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d INFO\r\n"
              "Content-Length: 0\r\n\r\n"
              % (ip, port, "TCP" if tcp else "UDP", ip, s.getsockname()[1],
                 nonce, n, to, frm, cid, nonce % 1000000000)).encode(),
             (ip, port))
PY
}

# Poll until a command succeeds, every 0.1 s, at most TENTHS times:
# wait_for TENTHS COMMAND...
wait_for() {
	local n=$1
	shift
	for _ in $(seq 1 "$n"); do
		"$@" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# Wait until a background process ends (bounded): wait_pid PID SECONDS
wait_pid() {
	local pid=$1 t=$2
	for _ in $(seq 1 $((t * 10))); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid"; return $?; }
		sleep 0.1
	done
	return 124
}

# Send one raw SIP message over UDP from $P and print the first response.
# raw_udp PORT_FROM DST_IP DST_PORT FILE [TIMEOUT]
raw_udp() {
	python3 - "$@" <<'PY'
import socket, sys
src, dip, dport, f = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
to = float(sys.argv[5]) if len(sys.argv) > 5 else 2.0
sip, sport = src.rsplit(":", 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sip, int(sport)))
s.settimeout(to)
data = open(f, "rb").read()
import time
t0 = time.monotonic()
s.sendto(data, (dip, dport))
try:
    while True:
        r, _ = s.recvfrom(65535)
        line = r.split(b"\r\n", 1)[0].decode(errors="replace")
        if line.startswith("SIP/2.0 100 "):
            continue
        print(line)
        open(f + ".ms", "w").write("%d\n" % ((time.monotonic() - t0) * 1000))
        break
except socket.timeout:
    print("TIMEOUT")
PY
}

# Write stdin to FILE with CRLF line ends (a raw SIP message).
crlf() {
	sed 's/$/\r/' > "$1"
}

# An INVITE from the caller to NUMBER, with optional extra header lines
# on stdin; body-less.  mkinvite FILE NUMBER [CALLID]
mkinvite() {
	local f=$1 num=$2 cid=${3:-$RANDOM$RANDOM@$P}
	{
		echo "INVITE sip:$num@$A:5060 SIP/2.0"
		echo "Via: SIP/2.0/UDP $P:5071;branch=z9hG4bK$RANDOM$RANDOM;rport"
		echo "From: <sip:caller@$P>;tag=$RANDOM"
		echo "To: <sip:$num@$A>"
		echo "Call-ID: $cid"
		echo "CSeq: 1 INVITE"
		echo "Contact: <sip:caller@$P:5071>"
		cat
		echo "Content-Length: 0"
		echo ""
	} | crlf "$f"
}

# A fresh INVITE (a reused branch would be a retransmission) from SRC to
# NUMBER must get EXPECTED: a status code, or TIMEOUT for no answer.
# reply_is WHAT EXPECTED SRC NUMBER [FROM_USER]
reply_is() {
	local r
	mkinvite "$W/inv.txt" "$4"
	sed -i "s/sip:caller@/sip:${5:-caller}@/" "$W/inv.txt"
	r=$(raw_udp "$3" "$A" 5060 "$W/inv.txt" 3)
	case $2 in
	TIMEOUT) [ "$r" = TIMEOUT ] ;;
	*) [ "${r%% [A-Z]*}" = "SIP/2.0 $2" ] ;;
	esac || fail "$1: got '$r' instead of $2"
}

# A sipp scenario whose SDP names IP:PORT as its media (sipp's own
# keywords, filled in): scen_media SCENARIO OUT_FILE IP PORT
scen_media() {
	sed -e "s/\[media_ip\]/$3/g" -e "s/\[media_port\]/$4/g" \
		-e "s/IP\[media_ip_type\]/IP4/g" "$SCEN/$1" > "$W/$2"
}

# Instantiate a scenario template: scen_gen NAME TEMPLATE KEY=VALUE...
# (sipp checks status codes when it loads a scenario, before keywords)
scen_gen() {
	local out=$W/$1.xml tpl=$SCEN/$2
	shift 2
	cp "$tpl" "$out"
	for kv in "$@"; do
		local k=${kv%%=*} v=${kv#*=}
		v=$(printf '%s' "$v" | sed -e 's/[&|\\]/\\&/g')
		sed -i "s|@$k@|$v|g" "$out"
	done
	echo "$out"
}

# The test PKI (tests/tools/gencerts.sh), shared by the TLS tests.
certs() {
	CERTDIR=${CERTDIR:-$W/certs}
	sh "${CERTGEN:?CERTGEN must point to gencerts.sh}" "$CERTDIR" \
		|| fail "cannot create test certificates"
}

# The project's TLS UAS in the background: uas_bg NAME ARGS...
uas_bg() {
	local name=$1
	shift
	[ -x "$UAS" ] || fail "UAS must point to sbc-test-uas"
	"$UAS" -s "$W/$name.events" -T 300 "$@" >"$W/$name.out" 2>&1 &
	T_PIDS="$T_PIDS $!"
	eval "PID_$name=$!"
	for _ in $(seq 1 50); do
		grep -q ready "$W/$name.out" && return 0
		sleep 0.05
	done
	fail "$name did not start: $(cat "$W/$name.out")"
}

# An INVITE the upstream cannot take must get 503 within a second.
fast_503() {
	local what=$1 r ms
	mkinvite "$W/inv.txt" 5551234
	r=$(raw_udp "$P:5071" "$A" 5060 "$W/inv.txt" 5)
	[ "${r%% [A-Z]*}" = "SIP/2.0 503" ] || fail "$what: got '$r' instead of 503"
	ms=$(cat "$W/inv.txt.ms")
	[ "$ms" -lt 1000 ] || fail "$what: 503 after $ms ms"
	ok "$what: 503 after $ms ms"
}

# Kamailio as the registrar behind sbcd (tests/integration/kamailio/
# registrar.cfg) on $U:5080, every user with password $1; more -A defines
# may follow (e.g. NO_PATH).  Its log is $W/kamailio.log; it answers
# (405) to an OPTIONS before this returns.  kam_start PASSWORD [DEFINE...]
KAM_PID=""
kam_start() {
	local pw=$1 d
	shift
	command -v kamailio >/dev/null || fail "kamailio not installed"
	local -a args=(-f "$HERE/kamailio/registrar.cfg" -DD -E -m 16 -M 4
		-n 1 -w "$W" -P "$W/kamailio.pid" -Y "$W"
		-A "LISTEN=udp:$U:5080" -A "PASSWORD=\"$pw\""
		-A "CTL=\"unix:$W/kamailio.ctl\"")
	for d in "$@"; do
		args+=(-A "$d")
	done
	kamailio "${args[@]}" </dev/null >>"$W/kamailio.log" 2>&1 &
	KAM_PID=$!
	T_PIDS="$T_PIDS $KAM_PID"
	printf 'OPTIONS sip:%s:5080 SIP/2.0\r\nVia: SIP/2.0/UDP %s:5099;branch=z9hG4bKkam%s\r\nFrom: <sip:t@%s>;tag=1\r\nTo: <sip:%s>\r\nCall-ID: kam%s\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n' \
		"$U" "$P" "$RANDOM" "$P" "$U" "$RANDOM" > "$W/kam-options.txt"
	for _ in $(seq 1 50); do
		kill -0 "$KAM_PID" 2>/dev/null || fail "kamailio exited: $(tail -5 "$W/kamailio.log")"
		case $(raw_udp "$P:5099" "$U" 5080 "$W/kam-options.txt" 0.2) in
		SIP/2.0*) return 0 ;;
		esac
	done
	fail "kamailio not answering within 10 s"
}

# The received address Kamailio stored for USER (kamcmd ul.lookup; from
# the received= of sbcd's Path entry), "[not set]" if none; the whole
# answer is in $W/ul.USER.txt.  kam_received USER
kam_received() {
	kamcmd -s "unix:$W/kamailio.ctl" ul.lookup location "$1" > "$W/ul.$1.txt" 2>&1 \
		|| fail "kamcmd ul.lookup $1: $(cat "$W/ul.$1.txt")"
	sed -n 's/^[[:space:]]*Received: //p' "$W/ul.$1.txt"
}

kam_stop() {
	[ -n "$KAM_PID" ] || return 0
	kill "$KAM_PID" 2>/dev/null
	wait_pid "$KAM_PID" 10 >/dev/null
	KAM_PID=""
}
