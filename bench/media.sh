#!/usr/bin/env bash
# bench/media.sh: media relay benchmark of sbcd against rtpengine and a raw forwarder.
#
# One invocation measures three relays of concurrent G.711 streams (172-byte
# RTP packets, 50 packets/s each way), each relaying on one core:
#   sbcd       calls set up through sbcd by SIP (sipp UAC -> sbcd -> sipp UAS),
#              media anchored on sbcd (media_threads = 1)
#   rtpengine  Debian's rtpengine, userspace forwarding (--table=-1), one
#              thread, streams set up over its ng protocol (bench/ng.py)
#   raw        bench/rawfwd: a plain recvmmsg/sendmmsg forwarder, the ceiling
# For each stream count the three take turns (the order alternates), so that a
# noisy neighbour hits all of them about equally. bench/rtpgen (core GEN_CPU)
# plays both ends of every stream and measures loss and one-way delay.
#
# Usage: bench/media.sh            (see bench/README.md)
# Environment (defaults in brackets):
#   SYSTEMS        relays to measure                            [sbcd rtpengine raw]
#   STREAMS        stream counts, ascending                     [250 500 1000 1500 2000]
#   STEP_SECONDS   seconds of RTP per step                      [10]
#   SETUP_RATE     calls/s when setting up sbcd's calls by SIP  [500]
#   MAX_FAILS      a relay stops after this many steps in a row with >= 5% loss [2]
#   NOISE_STEAL_PCT, NOISE_FOREIGN_PCT  a step below target that ran with more
#                  steal (% of all CPU) or foreign CPU (% of a core) than this
#                  is run again, up to NOISE_RETRIES times       [10, 30, 1]
#   RELAY_CPU / GEN_CPU  cores of the relay / of the generator  [1 / 0]
#   GEN_RT=1 / RELAY_RT=1  run the generator / every relay SCHED_FIFO (chrt -f 10),
#                  so that other tasks on its core cannot delay it  [0 / 0]
#   SBCD, SBCCTL, RTPGEN, RAWFWD  binaries            [build/sbcd, build/sbcctl,
#                                       build/bench/rtpgen, build/bench/rawfwd]
#   RTPENGINE      rtpengine binary (installed with apt-get as root if missing)
#                                                               [rtpengine]
#   RESULTS_DIR    where media-<date>-<time>.txt goes           [bench/results]
#   KEEP_WORK=1    keep the scratch directory (logs, stream files, per-stream results)
#
# Addresses (loopback, 127.0.8.x, UDP ports 40000-59999 only):
#   sipp UAC 127.0.8.1:50060, sbcd access 127.0.8.2:50070 (media on .2),
#   sbcd core 127.0.8.3:50070 (media on .3), sipp UAS 127.0.8.4:50080,
#   rtpengine 127.0.8.5 (ng :50090), rawfwd 127.0.8.6, generator A side
#   127.0.8.10:40000-44999, B side 127.0.8.11:45000-49999; relay ports
#   51000-59999; sipp control/media ports 50300-50599.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SYSTEMS=${SYSTEMS:-"sbcd rtpengine raw"}
STREAMS=${STREAMS:-"250 500 1000 1500 2000"}
STEP_SECONDS=${STEP_SECONDS:-10}
SETUP_RATE=${SETUP_RATE:-500}
MAX_FAILS=${MAX_FAILS:-2}
NOISE_STEAL_PCT=${NOISE_STEAL_PCT:-10}
NOISE_FOREIGN_PCT=${NOISE_FOREIGN_PCT:-30}
NOISE_RETRIES=${NOISE_RETRIES:-1}
RELAY_CPU=${RELAY_CPU:-1}
GEN_CPU=${GEN_CPU:-0}
SBCD=${SBCD:-$ROOT/build/sbcd}
SBCCTL=${SBCCTL:-$ROOT/build/sbcctl}
RTPGEN=${RTPGEN:-$ROOT/build/bench/rtpgen}
RAWFWD=${RAWFWD:-$ROOT/build/bench/rawfwd}
RTPENGINE=${RTPENGINE:-rtpengine}
RESULTS_DIR=${RESULTS_DIR:-$HERE/results}
KEEP_WORK=${KEEP_WORK:-0}
GEN_RT=${GEN_RT:-0}
RELAY_RT=${RELAY_RT:-0}

UAC_IP=127.0.8.1 UAC_PORT=50060
SBC_ACCESS_IP=127.0.8.2 SBC_CORE_IP=127.0.8.3 SBC_PORT=50070
UAS_IP=127.0.8.4 UAS_PORT=50080
RTPE_IP=127.0.8.5 RTPE_NG_PORT=50090
RAW_IP=127.0.8.6
GEN_A_IP=127.0.8.10 GEN_A_PORT0=40000 GEN_A_PORT_MAX=44999
GEN_B_IP=127.0.8.11 GEN_B_PORT0=45000 GEN_B_PORT_MAX=49999
RELAY_PORT_MIN=51000 RELAY_PORT_MAX=59999
MAX_STREAMS=2200 # 4 relay ports a stream (RTP+RTCP each side) in 51000-59999

for v in STEP_SECONDS SETUP_RATE MAX_FAILS NOISE_RETRIES NOISE_STEAL_PCT NOISE_FOREIGN_PCT RELAY_CPU GEN_CPU; do
	isuint "${!v}" || die "$v must be a non-negative integer (got '${!v}')"
done
((STEP_SECONDS >= 1 && SETUP_RATE >= 1 && MAX_FAILS >= 1)) || die "STEP_SECONDS, SETUP_RATE and MAX_FAILS must be >= 1"
prev=0
for n in $STREAMS; do
	{ isuint "$n" && ((n > prev && n <= MAX_STREAMS)); } || die "STREAMS must be ascending integers in 1..$MAX_STREAMS (got '$n')"
	prev=$n
done
[[ -n $STREAMS ]] || die "STREAMS is empty"
for s in $SYSTEMS; do
	[[ $s == sbcd || $s == rtpengine || $s == raw ]] || die "SYSTEMS: unknown system '$s' (sbcd, rtpengine, raw)"
done
NCPU=$(nproc)
((RELAY_CPU < NCPU && GEN_CPU < NCPU)) || die "RELAY_CPU/GEN_CPU must be < $NCPU"
((RELAY_CPU != GEN_CPU)) || echo "media.sh: warning: relay and generator share core $GEN_CPU" >&2
for t in sipp taskset timeout ss awk python3; do
	command -v "$t" >/dev/null || die "'$t' is needed (packages: sip-tester, util-linux, coreutils, iproute2, gawk|mawk, python3)"
done
CLK_TCK=$(getconf CLK_TCK)
GEN_PIN=(taskset -c "$GEN_CPU")
RELAY_PIN=(taskset -c "$RELAY_CPU")
[[ $GEN_RT == 1 ]] && GEN_PIN=(chrt -f 10 "${GEN_PIN[@]}")
[[ $RELAY_RT == 1 ]] && RELAY_PIN=(chrt -f 10 "${RELAY_PIN[@]}")
taskset -pc "$GEN_CPU" $$ >/dev/null 2>&1 || true
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true

# ---- rtpengine: the Debian package, installed if missing (as `make bench` does) --
declare -A SKIP=()
if [[ " $SYSTEMS " == *" rtpengine "* ]] && ! command -v "$RTPENGINE" >/dev/null; then
	if [[ $(id -u) == 0 ]]; then
		echo "media.sh: installing rtpengine-daemon" >&2
		# the package's service must not start: the benchmark runs its own
		pre_running=$(pgrep -x rtpengine || true)
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rtpengine-daemon >&2 ||
			SKIP[rtpengine]="apt-get install rtpengine-daemon failed"
		# a daemon that the package's postinst started (none before us)
		if [[ -z $pre_running ]] && pgrep -x rtpengine >/dev/null && command -v systemctl >/dev/null &&
			systemctl is-active --quiet rtpengine-daemon 2>/dev/null; then
			systemctl stop rtpengine-daemon
		fi
	else
		SKIP[rtpengine]="not installed (run as root, or apt-get install rtpengine-daemon)"
	fi
fi
[[ " $SYSTEMS " == *" sbcd "* && ! -x $SBCD ]] && SKIP[sbcd]="$SBCD not found (build it)"
[[ -x $RTPGEN ]] || die "$RTPGEN not found: build it (cmake --build build)"
[[ " $SYSTEMS " == *" raw "* && ! -x $RAWFWD ]] && SKIP[raw]="$RAWFWD not found (build it)"

# ---- process bookkeeping: we stop only what we started, by PID ------------------
stop_pid() { # pid [grace s]: TERM, then KILL
	local p=$1 g=${2:-5} i
	alive "$p" || {
		wait "$p" 2>/dev/null
		unset "OWN[$p]"
		return 0
	}
	kill -TERM "$p" 2>/dev/null
	for ((i = 0; i < g * 10; i++)); do
		alive "$p" || break
		sleep 0.1
	done
	alive "$p" && kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	unset "OWN[$p]"
}
cleanup() {
	local p
	for p in "${!OWN[@]}"; do stop_pid "$p" 3; done
	if [[ -n ${WORK:-} && -d $WORK ]]; then
		if [[ $KEEP_WORK == 1 ]]; then echo "media.sh: scratch files kept in $WORK" >&2; else rm -rf "$WORK"; fi
	fi
}
trap cleanup EXIT
trap 'echo "media.sh: interrupted" >&2; exit 130' INT TERM HUP

# ---- measuring ---------------------------------------------------------------------
pid_ticks() { # utime+stime of a process, all its threads
	local s
	local -a a
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || {
		echo 0
		return
	}
	s=${s##*) }
	read -r -a a <<<"$s"
	echo $((a[11] + a[12]))
}
stat_cpu() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t; exit }' /proc/stat; }
# CPU ticks of every task (utime+stime+cutime+cstime) and of this script's tree
work_ticks() {
	for f in /proc/[0-9]*/stat; do { read -r s <"$f"; } 2>/dev/null && echo "${s%% *} ${s##*) }"; done |
		awk -v me=$$ '{ pid = $1; pp[pid] = $3; t[pid] = $13 + $14 + $15 + $16 }
			END { for (p in t) { all += t[p]; q = p; for (d = 0; d < 64 && q != "" && q != 0; d++) {
				if (q == me) { ours += t[p]; break } q = pp[q] } } print all, ours }'
}
# ports nobody holds now (UDP or TCP, any address): N even ports from FIRST up to LAST
free_ports() { # n first last
	ss -Hanu 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' >"$WORK/busy"
	ss -Hant 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' >>"$WORK/busy"
	awk -v n="$1" -v lo="$2" -v hi="$3" 'FNR == NR { busy[$1] = 1; next }
		END { for (p = lo; p <= hi && c < n; p += 2) if (!busy[p]) { print p; c++ } }' "$WORK/busy" /dev/null
}

# ---- scratch and results -----------------------------------------------------------
STAMP=$(date +%Y%m%d-%H%M%S)
mkdir -p "$RESULTS_DIR" || die "cannot create $RESULTS_DIR"
RAW=$RESULTS_DIR/media-$STAMP.txt
WORK=$(mktemp -d /tmp/sbc-media.XXXXXX) || die "mktemp failed"
: >"$RAW"
{
	echo "# sbc media benchmark $STAMP"
	echo "# host $(uname -n) kernel $(uname -r) cpus $NCPU clk_tck $CLK_TCK"
	echo "# rtpengine: $($RTPENGINE --version 2>&1 | head -1)  sipp: $(sipp -v 2>&1 | grep -o 'SIPp v[^ ]*' | head -1)"
	echo "# SYSTEMS='$SYSTEMS' STREAMS='$STREAMS' STEP_SECONDS=$STEP_SECONDS SETUP_RATE=$SETUP_RATE RELAY_CPU=$RELAY_CPU GEN_CPU=$GEN_CPU GEN_RT=$GEN_RT RELAY_RT=$RELAY_RT"
	echo "# a stream = 50 packets/s each way, 172-byte RTP (PCMU 20 ms); offered pps = streams x 100"
} >>"$RAW"

# ---- the generator's ports, for N streams -------------------------------------------
# chosen once the relay runs: sbcd, sipp and others bind ephemeral ports of
# their own, and the whole range given to the benchmark lies in the kernel's
# ephemeral range
gen_ports() { # n -> $WORK/aports, $WORK/bports (n lines each) or 1
	free_ports "$1" $GEN_A_PORT0 $GEN_A_PORT_MAX >"$WORK/aports"
	free_ports "$1" $GEN_B_PORT0 $GEN_B_PORT_MAX >"$WORK/bports"
	[[ $(wc -l <"$WORK/aports") == "$1" && $(wc -l <"$WORK/bports") == "$1" ]]
}

# ---- sbcd: calls by SIP --------------------------------------------------------------
SETUP_WHY=""
sbcd_setup() { # n dir -> RELAY_PID, $dir/streams
	local n=$1 dir=$2 i
	{
		echo "# generated by bench/media.sh"
		echo "access_addr = $SBC_ACCESS_IP"
		echo "access_port = $SBC_PORT"
		echo "access_tls_port = 0"
		echo "core_addr = $SBC_CORE_IP"
		echo "core_port = $SBC_PORT"
		echo "core_tls_port = 0"
		echo "core_tls_cert ="
		echo "core_tls_key ="
		echo "upstream = sip:$UAS_IP:$UAS_PORT;transport=udp"
		echo "log_level = warn"
		echo "udp_sockbuf = 4194304"
		echo "control_socket = $dir/sbcd.sock"
		echo "flood_requests = 0"
		echo "media_anchor = yes"
		echo "media_addr_access = $SBC_ACCESS_IP"
		echo "media_addr_core = $SBC_CORE_IP"
		echo "media_port_min = $RELAY_PORT_MIN"
		echo "media_port_max = $RELAY_PORT_MAX"
		echo "media_threads = 1"
		echo "[peer bench]"
		echo "addr = $UAC_IP"
	} >"$dir/sbcd.conf"
	"${RELAY_PIN[@]}" "$SBCD" -f "$dir/sbcd.conf" </dev/null >"$dir/sbcd.log" 2>&1 &
	RELAY_PID=$!
	own $RELAY_PID
	for ((i = 0; i < 100; i++)); do
		alive $RELAY_PID || break
		[[ -S $dir/sbcd.sock ]] && "$SBCCTL" -s "$dir/sbcd.sock" media >/dev/null 2>&1 && break
		sleep 0.1
	done
	alive $RELAY_PID || {
		SETUP_WHY="sbcd did not start: $(tail -n 3 "$dir/sbcd.log" | tr '\n' '|')"
		return 1
	}
	gen_ports "$n" || {
		SETUP_WHY="not enough free generator ports"
		return 1
	}
	# the caller's media port comes from the CSV (field1), the callee's (field0)
	awk 'BEGIN { print "SEQUENTIAL" } { printf "m%06d;%d;\n", NR, $1 }' "$WORK/aports" >"$dir/uac.csv"
	awk 'BEGIN { print "SEQUENTIAL" } { printf "%d;\n", $1 }' "$WORK/bports" >"$dir/uas.csv"
	sed -e "s/\[media_ip\]/$GEN_A_IP/g" -e "s/\[media_port\]/[field1]/g" -e "s/IP\[media_ip_type\]/IP4/g" \
		"$HERE/uac_rr.xml" >"$dir/uac.xml"
	sed -e "s/\[media_ip\]/$GEN_B_IP/g" -e "s/\[media_port\]/[field0]/g" -e "s/IP\[media_ip_type\]/IP4/g" \
		"$HERE/uas_rr.xml" >"$dir/uas.xml"
	# the calls hold until the measurement is over; then sipp is stopped
	local hold_ms=$(((n / SETUP_RATE + STEP_SECONDS + 60) * 1000))
	(cd "$dir" && exec taskset -c "$GEN_CPU" sipp -sf uas.xml -inf uas.csv -i $UAS_IP -p $UAS_PORT \
		-cp 50511 -mp 50400 -nostdin -buff_size 4194304 -trace_err -trace_msg -message_file uas.msg \
		</dev/null >uas.out 2>&1) &
	SIPP_UAS=$!
	own $SIPP_UAS
	sleep 0.3
	(cd "$dir" && exec taskset -c "$GEN_CPU" sipp -sf uac.xml -inf uac.csv -i $UAC_IP -p $UAC_PORT \
		-cp 50510 -mp 50300 -nostdin -buff_size 4194304 -trace_err -trace_msg -message_file uac.msg \
		-r "$SETUP_RATE" -m "$n" -l "$n" -d "$hold_ms" -timeout $((hold_ms / 1000 + 30)) \
		$SBC_ACCESS_IP:$SBC_PORT </dev/null >uac.out 2>&1) &
	SIPP_UAC=$!
	own $SIPP_UAC
	# every call answered: the ports each side was given, from sipp's traces
	local deadline=$((SECONDS + n / SETUP_RATE + 30)) have=0
	while ((SECONDS < deadline)); do
		sleep 1
		have=$(python3 "$HERE/sipp_ports.py" "$dir/uac.msg" "$dir/uas.msg" \
			$SBC_ACCESS_IP $SBC_CORE_IP "$dir/streams" "$n") && break
		alive $SIPP_UAC || break
	done
	if ((have < n)); then
		SETUP_WHY="only $have of $n calls answered with media (sipp: $(tail -n 2 "$dir/uac.out" 2>/dev/null | tr '\n' ' '))"
		return 1
	fi
	"$SBCCTL" -s "$dir/sbcd.sock" media 2>/dev/null | head -n 4 >"$dir/media.txt"
	grep -q "^media_sessions $n\$" "$dir/media.txt" || {
		SETUP_WHY="sbcd has not $n media sessions: $(head -n 1 "$dir/media.txt")"
		return 1
	}
}
sbcd_teardown() {
	stop_pid "$SIPP_UAC" 3
	stop_pid "$SIPP_UAS" 3
	stop_pid "$RELAY_PID" 5
}

# ---- rtpengine: offer/answer over ng ---------------------------------------------------
rtpengine_setup() { # n dir
	local n=$1 dir=$2 i
	"${RELAY_PIN[@]}" "$RTPENGINE" --config-file=none --table=-1 --num-threads=1 \
		--interface=$RTPE_IP --listen-ng=$RTPE_IP:$RTPE_NG_PORT \
		--port-min=$RELAY_PORT_MIN --port-max=$RELAY_PORT_MAX \
		--foreground --log-stderr --log-level=4 </dev/null >"$dir/rtpengine.log" 2>&1 &
	RELAY_PID=$!
	own $RELAY_PID
	for ((i = 0; i < 50; i++)); do
		alive $RELAY_PID || break
		python3 "$HERE/ng.py" ping $RTPE_IP:$RTPE_NG_PORT 2>/dev/null && break
		sleep 0.2
	done
	alive $RELAY_PID || {
		SETUP_WHY="rtpengine did not start: $(tail -n 3 "$dir/rtpengine.log" | tr '\n' '|')"
		return 1
	}
	gen_ports "$n" || {
		SETUP_WHY="not enough free generator ports"
		return 1
	}
	# ng.py numbers ports from a base; use the free lists' lines instead
	python3 - "$HERE/ng.py" $RTPE_IP:$RTPE_NG_PORT "$WORK/aports" "$WORK/bports" $GEN_A_IP $GEN_B_IP \
		"$dir/streams" <<-'PY' 2>"$dir/ng.err" || {
		import importlib.util, sys
		spec = importlib.util.spec_from_file_location("ng", sys.argv[1])
		ng = importlib.util.module_from_spec(spec); spec.loader.exec_module(ng)
		c = ng.Ng(sys.argv[2])
		ap = [int(x) for x in open(sys.argv[3])]; bp = [int(x) for x in open(sys.argv[4])]
		out = []
		for i, (a, b) in enumerate(zip(ap, bp)):
		    cid, ft, tt = "bench-%d" % i, "a%d" % i, "b%d" % i
		    off = c.call({"command": "offer", "call-id": cid, "from-tag": ft,
		                  "sdp": ng.sdp(sys.argv[5], a, 1), "ICE": "remove"})
		    ans = c.call({"command": "answer", "call-id": cid, "from-tag": ft, "to-tag": tt,
		                  "sdp": ng.sdp(sys.argv[6], b, 1), "ICE": "remove"})
		    ra, rb = ng.port_of(ans), ng.port_of(off)
		    out.append("%d %s %d %d %s %d\n" % (a, ra[0], ra[1], b, rb[0], rb[1]))
		open(sys.argv[7], "w").writelines(out)
	PY
		SETUP_WHY="ng offer/answer failed: $(tail -n 2 "$dir/ng.err" | tr '\n' '|')"
		return 1
	}
}
rtpengine_teardown() { # n dir
	python3 "$HERE/ng.py" delete $RTPE_IP:$RTPE_NG_PORT "$1" 2>>"$2/ng.err" || true
	stop_pid "$RELAY_PID" 5
}

# ---- raw: rawfwd ------------------------------------------------------------------------
raw_setup() { # n dir
	local n=$1 dir=$2 i
	gen_ports "$n" || {
		SETUP_WHY="not enough free generator ports"
		return 1
	}
	free_ports $((2 * n)) $RELAY_PORT_MIN $RELAY_PORT_MAX >"$dir/rports"
	[[ $(wc -l <"$dir/rports") == $((2 * n)) ]] || {
		SETUP_WHY="not enough free relay ports"
		return 1
	}
	paste -d ' ' "$WORK/aports" "$WORK/bports" <(paste -d ' ' - - <"$dir/rports") |
		awk -v R=$RAW_IP '{ print $1, R, $3, $2, R, $4 }' >"$dir/streams"
	"${RELAY_PIN[@]}" "$RAWFWD" -f "$dir/streams" -a $GEN_A_IP -b $GEN_B_IP \
		</dev/null >"$dir/rawfwd.out" 2>"$dir/rawfwd.log" &
	RELAY_PID=$!
	own $RELAY_PID
	for ((i = 0; i < 100; i++)); do
		alive $RELAY_PID || break
		grep -q ready "$dir/rawfwd.log" && return 0
		sleep 0.1
	done
	SETUP_WHY="rawfwd did not start: $(tail -n 3 "$dir/rawfwd.log" | tr '\n' '|')"
	return 1
}
raw_teardown() { stop_pid "$RELAY_PID" 3; }

# ---- one step ---------------------------------------------------------------------------
declare -A R=() # R[sys.n.key]
NSTEP=0
run_step() { # sys n try -> 0 ok, 1 below target/noisy, 2 setup failed
	local sys=$1 n=$2 try=$3 dir=$WORK/$1-$2-$3
	mkdir -p "$dir"
	SETUP_WHY=""
	if "${sys}_setup" "$n" "$dir"; then
		sleep 1
		local c0 c1 s0 s1 w0 w1 out
		c0=$(pid_ticks $RELAY_PID)
		s0=$(stat_cpu)
		w0=$(work_ticks)
		local t0=$EPOCHREALTIME
		out=$("${GEN_PIN[@]}" "$RTPGEN" -f "$dir/streams" -a $GEN_A_IP -b $GEN_B_IP \
			-d "$STEP_SECONDS" -o "$dir/perstream" 2>"$dir/rtpgen.err")
		local t1=$EPOCHREALTIME
		c1=$(pid_ticks $RELAY_PID)
		s1=$(stat_cpu)
		w1=$(work_ticks)
		[[ -n $out ]] || SETUP_WHY="rtpgen failed: $(tail -n 2 "$dir/rtpgen.err" | tr '\n' '|')"
	fi
	alive "${RELAY_PID:-0}" || [[ -n $SETUP_WHY ]] || SETUP_WHY="the relay died"
	"${sys}_teardown" "$n" "$dir"
	if [[ -n $SETUP_WHY ]]; then
		note "$(printf '%-9s %5d streams: FAILED: %s' "$sys" "$n" "$SETUP_WHY")"
		R[$sys.$n.fail]=$SETUP_WHY
		return 2
	fi
	# rtpgen's key=value line
	local -A g=()
	local kv
	for kv in $out; do g[${kv%%=*}]=${kv#*=}; done
	local wall relay_t steal_pct foreign_pct us_pkt relay_pct gen_pct pps
	wall=$(calc "$t1 - $t0")
	relay_t=$((c1 - c0))
	read -r st0 tt0 <<<"$s0"
	read -r st1 tt1 <<<"$s1"
	read -r wa0 wo0 <<<"$w0"
	read -r wa1 wo1 <<<"$w1"
	steal_pct=$(calc "($tt1 - $tt0) > 0 ? 100 * ($st1 - $st0) / ($tt1 - $tt0) : 0")
	local foreign=$(((wa1 - wa0) - (wo1 - wo0)))
	((foreign < 0)) && foreign=0
	foreign_pct=$(calc "100 * $foreign / $CLK_TCK / $wall")
	us_pkt=$(calc "${g[received]} > 0 ? 1e6 * $relay_t / $CLK_TCK / ${g[received]} : 0")
	relay_pct=$(calc "100 * $relay_t / $CLK_TCK / ${g[duration_s]}")
	gen_pct=$(calc "100 * ${g[gen_cpu_s]} / $wall")
	pps=$(calc "${g[received]} / ${g[duration_s]}")
	local notes=""
	awk -v x="$gen_pct" 'BEGIN { exit !(x >= 90) }' && notes+="GEN-LIMIT(generator core busy) "
	((${g[late_slots]} * 20 > ${g[duration_s]%.*} * 1000)) && notes+="gen-late(${g[late_slots]} slots, max ${g[max_lag_us]}us) "
	local noisy=0
	awk -v s="$steal_pct" -v f="$foreign_pct" -v S="$NOISE_STEAL_PCT" -v F="$NOISE_FOREIGN_PCT" \
		'BEGIN { exit !(s > S || f > F) }' && noisy=1 && notes+="noisy "
	local k=$sys.$n
	R[$k.try]=$try R[$k.sent]=${g[sent]} R[$k.rcvd]=${g[received]} R[$k.loss]=${g[loss_pct]}
	R[$k.okloss]=${g[streams_loss_ok]} R[$k.ok20]=${g[streams_20ms]} R[$k.p99]=${g[p99_us]}
	R[$k.p50]=${g[p50_us]} R[$k.pps]=$pps R[$k.us]=$us_pkt R[$k.relay]=$relay_pct R[$k.gen]=$gen_pct
	R[$k.steal]=$steal_pct R[$k.foreign]=$foreign_pct R[$k.note]=${notes% }
	unset "R[$k.fail]"
	echo "step $sys $n try=$try $out relay_ticks=$relay_t wall_s=$wall relay_pct=$relay_pct gen_pct=$gen_pct" \
		"us_per_pkt=$us_pkt relayed_pps=$pps steal_pct=$steal_pct foreign_pct=$foreign_pct note=\"${notes% }\"" >>"$RAW"
	grep '^# t_ms' "$dir/perstream" | awk -v s="$sys" -v n="$n" \
		'{ printf "%s%s:%d", (NR > 1 ? " " : "timeline(100ms max delay us) " s " " n " "), $3, $7 } END { print "" }' >>"$RAW"
	note "$(printf '%-9s %5d streams try %d: relayed %7.0f pps loss %7.4f%% ok<0.1%% %5d 99%%<=20ms %5d p99 %6.1f ms  %5.2f us/pkt relay %3.0f%% gen %3.0f%% steal %4.1f%% foreign %3.0f%% %s' \
		"$sys" "$n" "$try" "$pps" "${g[loss_pct]}" "${g[streams_loss_ok]}" "${g[streams_20ms]}" \
		"$(calc "${g[p99_us]} / 1000")" "$us_pkt" "$relay_pct" "$gen_pct" "$steal_pct" "$foreign_pct" "${notes% }")"
	if ((noisy)) && ((${g[streams_20ms]} < n || ${g[streams_loss_ok]} < n)); then
		return 1
	fi
	return 0
}

# ---- main ----------------------------------------------------------------------------------
RUN=""
for s in $SYSTEMS; do
	if [[ -n ${SKIP[$s]:-} ]]; then note "$s skipped: ${SKIP[$s]}"; else RUN+=" $s"; fi
done
declare -A FAILS=() STOPPED=()
round=0
for n in $STREAMS; do
	order=$RUN
	((round % 2)) && order=$(printf '%s\n' $RUN | tac | tr '\n' ' ')
	round=$((round + 1))
	for sys in $order; do
		[[ -n ${STOPPED[$sys]:-} ]] && continue
		try=1
		while :; do
			run_step "$sys" "$n" "$try"
			rc=$?
			if ((rc != 0 && try <= NOISE_RETRIES)); then
				note "$sys $n: $([[ $rc == 1 ]] && echo "below target under foreign load/steal" || echo "failed"), running the step again"
				try=$((try + 1))
				sleep 2
				continue
			fi
			break
		done
		if ((rc == 2)) || awk -v l="${R[$sys.$n.loss]:-100}" 'BEGIN { exit !(l >= 5) }'; then
			FAILS[$sys]=$((${FAILS[$sys]:-0} + 1))
		else
			FAILS[$sys]=0
		fi
		if ((FAILS[$sys] >= MAX_FAILS)); then
			note "$sys: $MAX_FAILS steps in a row failed or lost >= 5%, stopping it"
			STOPPED[$sys]=1
		fi
		sleep 2
	done
done

# ---- report ----------------------------------------------------------------------------------
declare -A BEST_LOSS=() BEST_LOSS_PPS=() BEST_20=() BEST_20_N=()
{
	echo
	echo "== media relay: G.711 streams (172-byte packets, 50/s each way), ${STEP_SECONDS} s steps; relay on core $RELAY_CPU, generator on core $GEN_CPU"
	printf '%-9s %7s %8s %8s %8s %8s %8s %8s %7s %6s %5s %6s %7s  %s\n' system streams offer_pps relayed loss% ok\<0.1% 99%\<20ms p99_ms us/pkt relay% gen% steal% foreign note
	for sys in $RUN; do
		for n in $STREAMS; do
			k=$sys.$n
			if [[ -n ${R[$k.fail]:-} ]]; then
				printf '%-9s %7d  failed: %s\n' "$sys" "$n" "${R[$k.fail]}"
				continue
			fi
			[[ -n ${R[$k.sent]:-} ]] || continue
			printf '%-9s %7d %8d %8.0f %8.4f %8d %8d %8.1f %7.2f %6.0f %5.0f %6.1f %6.0f%%  %s\n' "$sys" "$n" $((n * 100)) \
				"${R[$k.pps]}" "${R[$k.loss]}" "${R[$k.okloss]}" "${R[$k.ok20]}" "$(calc "${R[$k.p99]} / 1000")" \
				"${R[$k.us]}" "${R[$k.relay]}" "${R[$k.gen]}" "${R[$k.steal]}" "${R[$k.foreign]}" \
				"$([[ ${R[$k.try]} -gt 1 ]] && echo "(try ${R[$k.try]}) ")${R[$k.note]}"
			if awk -v l="${R[$k.loss]}" 'BEGIN { exit !(l < 0.1) }'; then
				BEST_LOSS[$sys]=$n
				BEST_LOSS_PPS[$sys]=${R[$k.pps]}
			fi
			if ((${R[$k.ok20]} > ${BEST_20[$sys]:-0})); then
				BEST_20[$sys]=${R[$k.ok20]}
				BEST_20_N[$sys]=$n
			fi
		done
	done
	echo
	echo "   ok<0.1% = streams that lost < 0.1% of their packets (both ways); 99%<20ms = streams with 99% of the"
	echo "   packets they sent relayed within 20 ms (a lost packet counts as late); p99 = over all packets;"
	echo "   us/pkt = relay CPU (utime+stime, all threads) during the step / packets relayed; relay% = of one core;"
	echo "   gen% = rtpgen's CPU, % of one core; steal = % of all CPU time; foreign = CPU of every task this"
	echo "   script did not start, % of one core."
	echo
	echo "== summary"
	for sys in $RUN; do
		echo "$sys: streams at < 0.1% loss: ${BEST_LOSS[$sys]:-none} ($(fmt "${BEST_LOSS_PPS[$sys]:-}" %.0f) pps relayed);" \
			"most streams within 20 ms (99%): ${BEST_20[$sys]:-0} (of ${BEST_20_N[$sys]:-0})"
	done
	if [[ " $RUN " == *" sbcd "* && " $RUN " == *" rtpengine "* ]]; then
		common=""
		for n in $STREAMS; do
			[[ -n ${R[sbcd.$n.us]:-} && -n ${R[rtpengine.$n.us]:-} ]] &&
				awk -v a="${R[sbcd.$n.loss]}" -v b="${R[rtpengine.$n.loss]}" 'BEGIN { exit !(a < 1 && b < 1) }' && common=$n
		done
		for n in $STREAMS; do
			[[ -n ${R[sbcd.$n.us]:-} && -n ${R[rtpengine.$n.us]:-} ]] || continue
			echo "  CPU per packet sbcd/rtpengine at $n streams: $(fmt "${R[sbcd.$n.us]}" %.2f)/$(fmt "${R[rtpengine.$n.us]}" %.2f) us =" \
				"$(calc "${R[sbcd.$n.us]} / ${R[rtpengine.$n.us]}" | xargs printf %.2f) (target <= 0.75)"
		done
		[[ -n $common ]] || echo "  (no stream count where both lost < 1%)"
		echo "  streams within 20 ms sbcd/rtpengine: ${BEST_20[sbcd]:-0}/${BEST_20[rtpengine]:-0} =" \
			"$(calc "${BEST_20[rtpengine]:-0} > 0 ? ${BEST_20[sbcd]:-0} / ${BEST_20[rtpengine]:-0} : 0" | xargs printf %.2f) (target >= 1.5)"
	fi
	if [[ " $RUN " == *" sbcd "* && " $RUN " == *" raw "* ]]; then
		for n in $STREAMS; do
			[[ -n ${R[sbcd.$n.us]:-} && -n ${R[raw.$n.us]:-} ]] || continue
			echo "  CPU per packet sbcd/raw at $n streams: $(calc "${R[sbcd.$n.us]} / ${R[raw.$n.us]}" | xargs printf %.2f)"
		done
		echo "  packet rate at < 0.1% loss sbcd/raw: $(fmt "${BEST_LOSS_PPS[sbcd]:-0}" %.0f)/$(fmt "${BEST_LOSS_PPS[raw]:-0}" %.0f) =" \
			"$(calc "${BEST_LOSS_PPS[raw]:-0} > 0 ? ${BEST_LOSS_PPS[sbcd]:-0} / ${BEST_LOSS_PPS[raw]:-0} : 0" | xargs printf %.2f) (target >= 0.90)"
	fi
	echo
	echo "raw results: $RAW"
} | tee -a "$RAW"
