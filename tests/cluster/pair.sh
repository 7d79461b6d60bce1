# pair.sh: what the pair tests share, sourced after lab.sh: sbcctl in a
# node, the role fields, bounded waits, sipp calls held through sbcd on
# the service addresses, and reaping the test's own children.
HERE=$(cd "$(dirname "$0")" && pwd)
# this file's own folder, also when bench/pair.sh sources it
PAIR_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCEN=$PAIR_DIR/scenarios
# the UA and RTP tools of the drills (drill/sipua.py, drill/rtp_pump.py)
DRILL=$(cd "$PAIR_DIR/../../drill" && pwd)
PUMP_PY=$DRILL/rtp_pump.py
ISCEN=$PAIR_DIR/../integration/scenarios
SBCCTL=${SBCCTL:?SBCCTL must point to sbcctl}

ctl() { local n=$1; shift; lab_x "$n" "$SBCCTL" -s "$LAB_W/$n/sbcd.sock" "$@"; }
field() { ctl "$1" role | awk -v k="$2" '$1 == k { print $2; exit }'; }

# Wait (bounded, seconds) until COMMAND... succeeds.
wait_for() {
	local t=$1 end
	shift
	end=$(($(lab_ms) + t * 1000))
	while ! "$@" 2>/dev/null; do
		[ "$(lab_ms)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# The exit status of a child of this script that ends by itself within
# SECS, or 124 after killing it.
reap() {
	local pid=$1 t=$2 rc=0
	for _ in $(seq 1 $((t * 10))); do
		grep -qs '^State:[[:space:]]*[^Z]' "/proc/$pid/status" || break
		sleep 0.1
	done
	grep -qs '^State:[[:space:]]*[^Z]' "/proc/$pid/status" && { lab_stop "$pid" 1; return 124; }
	wait "$pid" || rc=$?
	return $rc
}

is_synced() { [ "$(field "$1" synced)" = yes ]; }
# n2 has applied every record n1 sent (n1 may still be sending: poll it)
in_step() { [ "$(field n2 seq)" = "$(field n1 seq)" ]; }
n_calls() { ctl "$1" calls | awk '$1 == "dialogs" { print $2 }'; }
confirmed() { [ "$(ctl "$1" calls | grep -c ' state confirmed ')" = "$CALLS" ]; }
sessions() { ctl "$1" media | awk '$1 == "media_sessions" { print $2 }'; }
has_sessions() { [ "$(sessions "$1")" = "$CALLS" ]; }
peer_calls() { # NODE [PEER]: the peer's calls (default the lab's)
	ctl "$1" calls | awk -v p="${2:-lab}" '$1 == "calls" && $2 == p && NF == 3 { print $3 }'
}


# Both nodes' sbcd options: one flow key, the same media ports.
pair_init() {
	local n
	head -c 32 /dev/urandom > "$LAB_W/flow.key"
	for n in n1 n2 n3; do
		[ -d "$LAB_W/$n" ] && cp "$LAB_W/flow.key" "$LAB_W/$n/flow.key"
	done
	PAIR_OPTS=("cluster = corosync" "media_port_min = 30000"
		   "media_port_max = 39999" "dialog_max_duration = 600"
		   "media_timeout = 120")
}

pair_sbcd() { # NODE [OPT=VAL...]: sbcd of the pair in NODE; PID in LAB_BG_PID
	local n=$1
	shift
	lab_sbcd "$n" "${PAIR_OPTS[@]}" "flow_key_file = $LAB_W/$n/flow.key" "$@"
}

# sipp as the callee of CALLS calls on the core's 5080 (scenario
# uas_any_bye: it hangs up a call whose BYE has not come HOLD ms after
# its ACK); message log LAB_W/uas.msg.  Sets UAS (its PID).
pair_uas() { # CALLS HOLD
	sed -e "s/\[media_ip\]/$LAB_CORE_IP/g" -e "s/\[media_port\]/6002/g" \
		-e "s/IP\[media_ip_type\]/IP4/g" -e "s/\"HOLD\"/\"$2\"/" \
		"$SCEN/uas_any_bye.xml" > "$LAB_W/uas.xml"
	lab_bg core "$LAB_W/uas.out" sipp -sf "$LAB_W/uas.xml" -i "$LAB_CORE_IP" \
		-p 5080 -m "$1" -message_file "$LAB_W/uas.msg" \
		-error_file "$LAB_W/uas.err" "${PAIR_SIPP_ARGS[@]}"
	UAS=$LAB_BG_PID
}

# A sipp caller NAME in cli: CALLS calls from IP:PORT to the access
# address, dialling SERVICE, RATE a second, scenario SCENARIO (its media
# lines made IP's, port 6000); more sipp arguments after those.  Files
# LAB_W/NAME.{xml,out,msg,err}; PID in LAB_BG_PID.
pair_uac() { # NAME SCENARIO IP PORT SERVICE CALLS RATE [SIPP_ARG...]
	local name=$1 scen=$2 ip=$3 port=$4 service=$5 calls=$6 rate=$7
	shift 7
	sed -e "s/\[media_ip\]/$ip/g" -e "s/\[media_port\]/6000/g" \
		-e "s/IP\[media_ip_type\]/IP4/g" "$scen" > "$LAB_W/$name.xml"
	lab_bg cli "$LAB_W/$name.out" sipp -sf "$LAB_W/$name.xml" -s "$service" \
		-i "$ip" -p "$port" "$LAB_VIP_ACCESS:5060" -m "$calls" -r "$rate" \
		-message_file "$LAB_W/$name.msg" -error_file "$LAB_W/$name.err" \
		"${PAIR_SIPP_ARGS[@]}" "$@"
}

# The sipp arguments of every UA above: bounded, failing on a timeout.
# Message logs tell rtp_pump.py the media ports; at hundreds of calls a
# second they would slow sipp down (PAIR_TRACE=0).
pair_sipp_args() {
	PAIR_SIPP_ARGS=(-nostdin -trace_err -timeout 600 -timeout_error)
	[ "${PAIR_TRACE:-1}" = 1 ] && PAIR_SIPP_ARGS+=(-trace_msg)
	return 0
}

# CALLS calls through the access address, held: the first HALF hung up
# by the caller after HOLD_UAC ms, the others by the callee after HOLD_UAS
# ms (the callee hangs up a call whose BYE has not come by then).  Sets
# UAS UAC1 UAC2 (PIDs); sipp exits 0 once every call ended right.
# The callers' scenarios, by default the plain RTP ones: PAIR_UAC (hangs
# up after -d), PAIR_UAC_WAIT (waits for the callee's BYE); more sipp
# arguments for each caller: the arrays PAIR_UAC1_ARGS, PAIR_UAC2_ARGS.
pair_calls() { # CALLS HALF HOLD_UAC HOLD_UAS RATE
	local calls=$1 half=$2 huac=$3 huas=$4 rate=$5
	pair_sipp_args
	pair_uas "$calls" "$huas"
	pair_uac uac1 "${PAIR_UAC:-$ISCEN/uac.xml}" "$LAB_CLI_IP" 5070 5551000 \
		"$half" "$rate" -d "$huac" ${PAIR_UAC1_ARGS[@]+"${PAIR_UAC1_ARGS[@]}"}
	UAC1=$LAB_BG_PID
	pair_uac uac2 "${PAIR_UAC_WAIT:-$SCEN/uac_wait_bye.xml}" "$LAB_CLI_IP" 5072 \
		5552000 "$((calls - half))" "$rate" \
		${PAIR_UAC2_ARGS[@]+"${PAIR_UAC2_ARGS[@]}"}
	UAC2=$LAB_BG_PID
}

# The sipp of pair_calls (or the PIDs given) end, each with every call
# right.
pair_calls_done() { # SECS [PID...]
	local t=$1 p rc
	shift
	[ $# -gt 0 ] || set -- "$UAC1" "$UAC2" "$UAS"
	for p in "$@"; do
		rc=0
		reap "$p" "$t" || rc=$?
		[ "$rc" = 0 ] || fail "sipp (PID $p) failed (rc $rc): $(cat "$LAB_W"/*.err 2>/dev/null | head -5)"
	done
}

# The TCP/TLS tests' tools: PY and SIPUA (drill/sipua.py, which ships
# with sbc-drill), and the test certificates (tests/tools/gencerts.sh) in
# LAB_W: sbc.crt, sbc.key (sbcd's TLS listener), ca.crt (the callers
# verify it).
pair_sipua() {
	PY=python3
	[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
	SIPUA=$DRILL/sipua.py
	: "${CERTGEN:?}" "${CERTDIR:?}"
	bash "$CERTGEN" "$CERTDIR" >/dev/null || fail "no test certificates"
	cp "$CERTDIR/sbc.crt" "$CERTDIR/sbc.key" "$CERTDIR/ca.crt" "$LAB_W/"
}

# A sipua.py caller NAME in cli: CALLS calls over TRANSPORT to the access
# address's PORT from LOCALPORT, 20 a second, every 2nd hung up by the
# callee, the others by the caller HOLD s after the ACK; the whole run
# bounded by MAX s; more sipua arguments after those.  Its result file
# is LAB_W/NAME.out; PID in LAB_BG_PID.
pair_sipua_uac() { # NAME TRANSPORT PORT LOCALPORT CALLS HOLD MAX [ARG...]
	lab_bg cli "$LAB_W/$1.stdout" "$PY" "$SIPUA" uac \
		--target "$LAB_VIP_ACCESS:$3" --transport "$2" --ca "$LAB_W/ca.crt" \
		--tls-name sbc.test --local-ip "$LAB_CLI_IP" --local-port "$4" \
		--calls "$5" --rate 20 --media-ip "$LAB_CLI_IP" \
		--out "$LAB_W/$1.out" --hold "$6" --bye-fraction 0.5 --max "$7" \
		"${@:8}"
}

# The service addresses move from FROM to TO (a crashed FROM has none).
pair_move() { # FROM TO
	lab_addr_move "$LAB_VIP_ACCESS" "$1" "$2"
	lab_addr_move "$LAB_VIP_CORE" "$1" "$2"
}

# sbcd in NODE stops cleanly on SIGTERM, and its log has no sanitizer
# report (the ASan build runs t_pair).
pair_stop() { # NODE PID
	lab_stop "$2" 10 || fail "sbcd on $1 did not stop cleanly"
	grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$LAB_W/$1/sbcd.log" &&
		fail "sanitizer report in $1's sbcd.log"
	return 0
}

pair_left() { ! ctl "$1" role | grep -q "^peer $2 "; }

# `role active` in NODE, retried every 0.1 s for 15 s at most while
# sbcd answers "quorum pending": CPG tells of a new membership before the
# quorum service has decided on it (seconds later with a quorum device,
# milliseconds without).  Prints sbcd's last answer when it fails.
pair_promote() { # NODE
	local out end=$(($(lab_ms) + 15000))
	while :; do
		out=$(ctl "$1" role active) && return 0
		case $out in *"quorum pending"*) ;; *) echo "$out"; return 1 ;; esac
		[ "$(lab_ms)" -lt "$end" ] || { echo "$out"; return 1; }
		sleep 0.1
	done
}

# FROM's sbcd is gone (crashed, killed) since T0 (lab_ms): TO sees it
# leave the group, the service addresses move, TO is promoted.  Sets
# PAIR_SEEN_MS and PAIR_ACTIVE_MS, each counted from T0.
pair_takeover() { # FROM TO T0
	local out
	wait_for 15 pair_left "$2" "${1#n}" || fail "$2 still sees $1 15 s after the fault"
	PAIR_SEEN_MS=$(( $(lab_ms) - $3 ))
	pair_move "$1" "$2"
	out=$(pair_promote "$2") || fail "$2 cannot take over: $out"
	PAIR_ACTIVE_MS=$(( $(lab_ms) - $3 ))
}

# NODE crashes (lab_crash: cable cut, all its processes killed) and TO
# takes over (pair_takeover).
pair_crash() { # NODE TO
	local t0
	t0=$(lab_ms)
	lab_crash "$1"
	pair_takeover "$1" "$2" "$t0"
}

# The pair the tests start from: the service addresses on n1, sbcd on n1
# made active (an empty cluster: synced), sbcd on n2 a synced standby;
# OPT=VAL options for both.  Sets SBC1 and SBC2.
pair_up() {
	lab_addr_add n1 "$LAB_VIP_ACCESS"
	lab_addr_add n1 "$LAB_VIP_CORE"
	pair_sbcd n1 "$@"
	SBC1=$LAB_BG_PID
	wait_for 10 is_synced n1 || fail "n1 not synced: $(ctl n1 role)"
	ctl n1 role active >/dev/null || fail "n1 cannot be made active"
	pair_sbcd n2 "$@"
	SBC2=$LAB_BG_PID
	wait_for 10 is_synced n2 || fail "n2 not synced: $(ctl n2 role)"
}

# Nothing is left on NODE once every call ended (no call, no media
# session, no peer count), and its sbcd stops cleanly.
pair_clean() { # NODE PID
	local n=$1
	nothing() { [ "$(n_calls "$n")" = 0 ]; }
	wait_for 5 nothing || fail "calls left on $n: $(ctl "$n" calls | head -3)"
	[ "$(sessions "$n")" = 0 ] || fail "media sessions left on $n: $(sessions "$n")"
	[ -z "$(peer_calls "$n")" ] || [ "$(peer_calls "$n")" = 0 ] ||
		fail "peer count left on $n: $(peer_calls "$n")"
	pair_stop "$n" "$2"
	ok "nothing left on $n"
}
