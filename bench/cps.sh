#!/usr/bin/env bash
# bench/cps.sh: calls-per-second benchmark of sbcd against Kamailio.
#
# One invocation measures both systems as a stateful, Record-Routing SIP proxy
# between a sipp UAC and a far-end UAS, stepping the offered call rate up and
# alternating the two systems step by step, so that both see the same machine.
# A call is INVITE/100/180/(100 ms ring)/200/ACK/(hold)/BYE/200.
#
# Usage: bench/cps.sh            (see bench/README.md)
# Environment (defaults in brackets):
#   SYSTEMS        systems to measure, in this order               [kamailio sbcd]
#                  sbcd-redis: sbcd with a redis-server attached (redis = ...),
#                  to compare with sbcd: SYSTEMS="sbcd sbcd-redis" MODES=udp
#   SBCD_QUOTA     1: every sbcd system's peer has a profile with daily_calls and
#                  calls_per_minute (far above the load), so that every call
#                  writes two counters (to Redis for sbcd-redis) [1 with
#                  sbcd-redis in SYSTEMS, else 0]
#   REDIS_CPU      core of sbcd-redis' redis-server                [GEN_CPU]
#   REDIS_SERVER   redis-server binary                             [redis-server]
#   MODES (MODE)   udp: UAC -udp-> proxy -udp-> sipp UAS;
#                  tls: UAC -udp-> proxy -tls-> sbc-test-uas       [udp tls]
#   RATES          offered rates, calls/s, ascending
#                  [500 1000 1500 2000 2500 3000 3500 4000 5000 6000 7000 8000 10000 12000]
#   STEP_SECONDS   seconds of load per step                        [10]
#   HOLD_MS        call hold between ACK and BYE, ms               [1000]
#   MAX_FAILS      stop a system after this many failing steps in a row [2]
#   GAP_SECONDS    quiet pause between two steps                   [2]
#   SETTLE_SECONDS pause before the last CPU reading of a system   [5]
#   NOISE_STEAL_PCT, NOISE_FOREIGN_PCT  a failing step that ran with more
#                  steal (% of all CPU) or foreign CPU (% of a core) than this
#                  is run again, up to NOISE_RETRIES times        [10, 30, 1]
#   PROXY_CPU / GEN_CPU  cores for the proxy / for sipp and the UAS [1 / 0]
#   SBCD           sbcd binary                                     [build/sbcd]
#   SBCD_EXTRA_CONF  extra "key = value" lines appended to sbcd's config
#   SBCD_LOG_LEVEL sbcd's log_level (Kamailio runs with debug=0)  [warn]
#   KAMAILIO       kamailio binary                                 [kamailio]
#   KAMAILIO_ENTRY 1: Kamailio does sbcd's default job (trusted sources,
#                  scanner check, dialogs with a per-caller limit, topology
#                  hiding); 0: a plain stateful proxy                 [1]
#   TLS_UAS        TLS far end           [build/tests/tools/sbc-test-uas]
#   GENCERTS       certificate generator [tests/tools/gencerts.sh]
#   RESULTS_DIR    where cps-<date>.txt goes                       [bench/results]
#   KEEP_WORK=1    keep the scratch directory (sipp files, logs) after the run
#   FOREIGN_DEBUG=1  with KEEP_WORK: per-step process tables (procs.t0/t3)
#                  to see who the foreign load was
#
# Addresses (loopback, 127.0.9.x, ports 25000-25999 only):
#   UAC 127.0.9.1:25060 (kamailio) / :25062 (sbcd); Kamailio 127.0.9.2:25070
#   (TLS socket :25071); sbcd access 127.0.9.4:25070, core 127.0.9.5:25070
#   (TLS :25071); sipp UAS 127.0.9.3:25080 (kamailio) / :25082 (sbcd);
#   sbcd-redis: UAC :25064, access 127.0.9.6:25070, core 127.0.9.7:25070
#   (TLS :25071), sipp UAS :25084, its redis-server 127.0.9.8:25090;
#   TLS UAS 127.0.9.3:25081; sipp control/media ports 25300-25599.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SYSTEMS=${SYSTEMS:-"kamailio sbcd"}
MODES=${MODES:-${MODE:-"udp tls"}}
RATES=${RATES:-"500 1000 1500 2000 2500 3000 3500 4000 5000 6000 7000 8000 10000 12000"}
STEP_SECONDS=${STEP_SECONDS:-10}
HOLD_MS=${HOLD_MS:-1000}
MAX_FAILS=${MAX_FAILS:-2}
GAP_SECONDS=${GAP_SECONDS:-2}
SETTLE_SECONDS=${SETTLE_SECONDS:-5}
NOISE_STEAL_PCT=${NOISE_STEAL_PCT:-10}
NOISE_FOREIGN_PCT=${NOISE_FOREIGN_PCT:-30}
NOISE_RETRIES=${NOISE_RETRIES:-1}
PROXY_CPU=${PROXY_CPU:-1}
GEN_CPU=${GEN_CPU:-0}
SBCD=${SBCD:-$ROOT/build/sbcd}
if [[ " $SYSTEMS " == *" sbcd-redis "* ]]; then SBCD_QUOTA=${SBCD_QUOTA:-1}; else SBCD_QUOTA=${SBCD_QUOTA:-0}; fi
REDIS_SERVER=${REDIS_SERVER:-redis-server}
KAMAILIO_ENTRY=${KAMAILIO_ENTRY:-1}
SBCD_EXTRA_CONF=${SBCD_EXTRA_CONF:-}
SBCD_LOG_LEVEL=${SBCD_LOG_LEVEL:-warn}
KAMAILIO=${KAMAILIO:-kamailio}
TLS_UAS=${TLS_UAS:-$ROOT/build/tests/tools/sbc-test-uas}
GENCERTS=${GENCERTS:-$ROOT/tests/tools/gencerts.sh}
RESULTS_DIR=${RESULTS_DIR:-$HERE/results}
KEEP_WORK=${KEEP_WORK:-0}

UAC_IP=127.0.9.1
KAM_IP=127.0.9.2 KAM_PORT=25070 KAM_TLS_PORT=25071
UAS_IP=127.0.9.3 TLS_UAS_PORT=25081
SBC_ACCESS_PORT=25070
SBC_CORE_PORT=25070 SBC_CORE_TLS_PORT=25071
declare -A SBC_ACCESS_IP=([sbcd]=127.0.9.4 [sbcd-redis]=127.0.9.6)
declare -A SBC_CORE_IP=([sbcd]=127.0.9.5 [sbcd-redis]=127.0.9.7)
REDIS_IP=127.0.9.8 REDIS_PORT=25090
declare -A UAC_PORT=([kamailio]=25060 [sbcd]=25062 [sbcd-redis]=25064)
declare -A UAS_PORT=([kamailio]=25080 [sbcd]=25082 [sbcd-redis]=25084)
declare -A UAC_CP=([kamailio]=25510 [sbcd]=25520 [sbcd-redis]=25530)
declare -A UAS_CP=([kamailio]=25511 [sbcd]=25521 [sbcd-redis]=25531)
declare -A UAC_MP=([kamailio]=25300 [sbcd]=25320 [sbcd-redis]=25340)
declare -A UAS_MP=([kamailio]=25400 [sbcd]=25420 [sbcd-redis]=25440)
RECV_TIMEOUT_MS=$((HOLD_MS + 9000))
UAS_TIMEWAIT_S=2 # <timewait> at the end of uas_rr.xml


# ---- argument checks ---------------------------------------------------------
for v in STEP_SECONDS HOLD_MS MAX_FAILS GAP_SECONDS SETTLE_SECONDS NOISE_RETRIES \
	NOISE_STEAL_PCT NOISE_FOREIGN_PCT PROXY_CPU GEN_CPU SBCD_QUOTA; do
	isuint "${!v}" || die "$v must be a non-negative integer (got '${!v}')"
done
((STEP_SECONDS >= 1)) || die "STEP_SECONDS must be >= 1"
((MAX_FAILS >= 1)) || die "MAX_FAILS must be >= 1"
prev=0
for r in $RATES; do
	if ! isuint "$r" || ((r == 0)); then die "RATES: '$r' is not a positive integer"; fi
	((r > prev)) || die "RATES must be ascending"
	prev=$r
done
[[ -n $RATES ]] || die "RATES is empty"
for s in $SYSTEMS; do
	[[ $s == kamailio || $s == sbcd || $s == sbcd-redis ]] ||
		die "SYSTEMS: unknown system '$s' (kamailio, sbcd, sbcd-redis)"
done
REDIS_CPU=${REDIS_CPU:-$GEN_CPU}
isuint "$REDIS_CPU" || die "REDIS_CPU must be a non-negative integer (got '$REDIS_CPU')"
for m in $MODES; do
	[[ $m == udp || $m == tls ]] || die "MODES: unknown mode '$m' (udp, tls)"
done
NCPU=$(nproc)
((PROXY_CPU < NCPU && GEN_CPU < NCPU && REDIS_CPU < NCPU)) || die "PROXY_CPU/GEN_CPU/REDIS_CPU must be < $NCPU"
((PROXY_CPU != GEN_CPU)) || echo "cps.sh: warning: proxy and load generator share core $GEN_CPU" >&2
for t in sipp taskset timeout ss awk /usr/bin/time; do
	command -v "$t" >/dev/null || die "'$t' is needed (packages: sip-tester, util-linux, coreutils, iproute2, gawk|mawk, time)"
done
CLK_TCK=$(getconf CLK_TCK)
# this script (its polling, awk, ss) stays off the proxy's core
taskset -pc "$GEN_CPU" $$ >/dev/null 2>&1 || true
# sipp wants more descriptors than calls it may hold open
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true




stop_tree() { # pid [grace seconds]: TERM the leaves of the tree, then the rest, then KILL
	# Leaves first: for timeout -> time -> sipp, sipp exits, GNU time reaps it and
	# writes its CPU times, and no grandchild is orphaned to init (whose cutime
	# would then count its CPU as foreign load).
	local root=$1 grace=${2:-5} p i any
	local -a pids=() leaves=()
	alive "$root" || {
		wait "$root" 2>/dev/null
		return 0
	}
	scan_procs
	local -A parent=()
	for p in $(tree_of "$root"); do
		own "$p"
		pids+=("$p")
		parent[${PP[p]}]=1
	done
	for p in "${pids[@]}"; do [[ -z ${parent[$p]:-} && $p != "$root" ]] && leaves+=("$p"); done
	if ((${#leaves[@]})); then
		kill -TERM "${leaves[@]}" 2>/dev/null
		for ((i = 0; i < 30; i++)); do
			any=0
			for p in "${leaves[@]}"; do alive "$p" && any=1; done
			((any)) || break
			sleep 0.1
		done
	fi
	alive "$root" && kill -TERM "$root" 2>/dev/null
	for ((i = 0; i < grace * 10; i++)); do
		any=0
		for p in "${pids[@]}"; do alive "$p" && any=1; done
		((any)) || break
		sleep 0.1
	done
	for p in "${pids[@]}"; do alive "$p" && kill -KILL "$p" 2>/dev/null; done
	wait "$root" 2>/dev/null
	return 0
}

CLEANED=0
cleanup() {
	((CLEANED)) && return
	CLEANED=1
	local i p left=""
	for ((i = ${#OWN_ORDER[@]} - 1; i >= 0; i--)); do
		p=${OWN_ORDER[i]}
		alive "$p" && stop_tree "$p" 5
	done
	for p in "${OWN_ORDER[@]}"; do alive "$p" && left+=" $p"; done
	[[ -z $left ]] || echo "cps.sh: warning: could not stop pids:$left" >&2
	if [[ -n ${WORK:-} && -d $WORK ]]; then
		if [[ $KEEP_WORK == 1 ]]; then
			echo "cps.sh: scratch files kept in $WORK" >&2
		else
			rm -rf "$WORK"
		fi
	fi
}
trap cleanup EXIT
trap 'echo "cps.sh: interrupted" >&2; exit 130' INT TERM HUP

udp_bound() { [[ -n $(ss -Hlun "src $1:$2" 2>/dev/null) ]]; }
tcp_listening() { [[ -n $(ss -Hltn "src $1:$2" 2>/dev/null) ]]; }
port_busy() { udp_bound "$1" "$2" || tcp_listening "$1" "$2"; }

# ---- scratch and results ---------------------------------------------------------
STAMP=$(date +%Y%m%d-%H%M%S)
mkdir -p "$RESULTS_DIR" || die "cannot create $RESULTS_DIR"
RAW=$RESULTS_DIR/cps-$STAMP.txt
WORK=$(mktemp -d /tmp/sbc-cps.XXXXXX) || die "mktemp failed"
: >"$RAW"

MAX_RATE=0
for r in $RATES; do MAX_RATE=$r; done
NCALLERS=$((MAX_RATE * STEP_SECONDS))
((NCALLERS > 200000)) && NCALLERS=200000
((NCALLERS < 1000)) && NCALLERS=1000
CALLERS=$WORK/callers.csv
awk -v n="$NCALLERS" 'BEGIN { print "SEQUENTIAL"; for (i = 1; i <= n; i++) printf "c%07d;\n", i }' >"$CALLERS"

{
	echo "# sbc cps benchmark $STAMP"
	echo "# host $(uname -n) kernel $(uname -r) cpus $NCPU  clk_tck $CLK_TCK"
	echo "# sipp: $(sipp -v 2>&1 | grep -o 'SIPp v[^ ]*' | head -1)  kamailio: $($KAMAILIO -v 2>/dev/null | awk '/^version:/ { print $3; exit }')"
	echo "# SYSTEMS='$SYSTEMS' MODES='$MODES' RATES='$RATES' STEP_SECONDS=$STEP_SECONDS HOLD_MS=$HOLD_MS KAMAILIO_ENTRY=$KAMAILIO_ENTRY"
	echo "# MAX_FAILS=$MAX_FAILS GAP_SECONDS=$GAP_SECONDS SETTLE_SECONDS=$SETTLE_SECONDS PROXY_CPU=$PROXY_CPU GEN_CPU=$GEN_CPU"
	echo "# NOISE_STEAL_PCT=$NOISE_STEAL_PCT NOISE_FOREIGN_PCT=$NOISE_FOREIGN_PCT NOISE_RETRIES=$NOISE_RETRIES callers=$NCALLERS"
	echo "# SBCD_QUOTA=$SBCD_QUOTA REDIS_CPU=$REDIS_CPU redis: $($REDIS_SERVER --version 2>/dev/null | grep -o 'v=[^ ]*')"
	echo "# step fields: mode sys rate try offered created ok failed(=uac_failed) uac_failed uas_failed retr sent retr_pct"
	echo "#   goodput(ok calls/s over the sending period) period_s cpu_ms_per_call(amortized to the system's next step)"
	echo "#   proxy_pct(of a core, load period) gen_pct(sipp+uas, of a core) steal_pct(of all CPUs) foreign_pct(of a core)"
	echo "#   rtt_ms(INVITE->200, uac) uac_rc sipp_retr(sipp's own counter) uas_calls uas_ok *_cpu_ticks verdict note"
} >>"$RAW"

# ---- systems under test ------------------------------------------------------------
declare -A SUT_PID=() SUT_LOG=() SKIP_REASON=()

SYS_TARGET_IP() { if [[ $1 == kamailio ]]; then echo $KAM_IP; else echo "${SBC_ACCESS_IP[$1]}"; fi; }
SYS_TARGET_PORT() { if [[ $1 == kamailio ]]; then echo $KAM_PORT; else echo $SBC_ACCESS_PORT; fi; }

upstream_uri() { # mode sys
	if [[ $1 == tls ]]; then
		echo "sip:$UAS_IP:$TLS_UAS_PORT;transport=tls"
	else
		echo "sip:$UAS_IP:${UAS_PORT[$2]};transport=udp"
	fi
}

wait_ready() { # sys mode deadline_s: socket bound (and, for sbcd, "ready" logged)
	local sys=$1 mode=$2 secs=$3 i
	for ((i = 0; i < secs * 10; i++)); do
		alive "${SUT_PID[$sys]}" || return 1
		if [[ $sys == kamailio ]]; then
			if udp_bound $KAM_IP $KAM_PORT &&
				{ [[ $mode != tls ]] || tcp_listening $KAM_IP $KAM_TLS_PORT; }; then
				sleep 0.5
				return 0
			fi
		else
			# "ready" is an info line: at log_level warn the bound sockets tell
			if grep -q ready "${SUT_LOG[$sys]}" 2>/dev/null ||
				{ udp_bound "${SBC_ACCESS_IP[$sys]}" $SBC_ACCESS_PORT && udp_bound "${SBC_CORE_IP[$sys]}" $SBC_CORE_PORT; }; then
				sleep 0.5
				return 0
			fi
		fi
		sleep 0.1
	done
	return 1
}

start_kamailio() { # mode dir
	local mode=$1 dir=$2
	local -a args=(-f "$HERE/kamailio-proxy.cfg" -DD -E -x tlsf -X tlsf -m 1024 -M 16 -n 1
		-w "$dir" -P "$dir/kamailio.pid"
		-A "LISTEN_UDP=udp:$KAM_IP:$KAM_PORT"
		-A "UAS_URI=\"$(upstream_uri "$mode" kamailio)\"")
	# the job sbcd does with its defaults (kamailio-proxy.cfg)
	[[ $KAMAILIO_ENTRY == 1 ]] && args+=(-A WITH_ENTRY)
	if [[ $mode == tls ]]; then
		cat >"$dir/kamailio-tls.cfg" <<-EOF
			# generated by bench/cps.sh
			[server:default]
			method = TLSv1.2+
			verify_certificate = no
			require_certificate = no
			certificate = $CERTS/sbc.crt
			private_key = $CERTS/sbc.key

			[client:default]
			method = TLSv1.2+
			verify_certificate = yes
			require_certificate = yes
			ca_list = $CERTS/ca.crt
			certificate = $CERTS/sbc.crt
			private_key = $CERTS/sbc.key
			server_name = upstream.test
		EOF
		args+=(-A WITH_TLS -A "LISTEN_TLS=tls:$KAM_IP:$KAM_TLS_PORT"
			-A "TLS_CFG=\"$dir/kamailio-tls.cfg\"")
	fi
	SUT_LOG[kamailio]=$dir/kamailio.log
	taskset -c "$PROXY_CPU" "$KAMAILIO" "${args[@]}" </dev/null >"${SUT_LOG[kamailio]}" 2>&1 &
	SUT_PID[kamailio]=$!
	own $!
}

# sbcd-redis' redis-server: no persistence, pinned to REDIS_CPU; SUT_REDIS[sys]
declare -A SUT_REDIS=()
start_redis() { # sys dir -> 0 if it answers PING
	local sys=$1 dir=$2 i
	command -v "$REDIS_SERVER" >/dev/null || {
		SKIP_REASON[$MODE_NOW.$sys]="$REDIS_SERVER not installed (package redis-server)"
		return 1
	}
	port_busy $REDIS_IP $REDIS_PORT && {
		SKIP_REASON[$MODE_NOW.$sys]="$REDIS_IP:$REDIS_PORT is already in use"
		return 1
	}
	taskset -c "$REDIS_CPU" "$REDIS_SERVER" --bind $REDIS_IP --port $REDIS_PORT --dir "$dir" \
		--save '' --appendonly no --daemonize no --protected-mode no \
		--logfile "$dir/redis.log" </dev/null >"$dir/redis.out" 2>&1 &
	SUT_REDIS[$sys]=$!
	own $!
	for ((i = 0; i < 50; i++)); do
		tcp_listening $REDIS_IP $REDIS_PORT && return 0
		alive "${SUT_REDIS[$sys]}" || break
		sleep 0.1
	done
	SKIP_REASON[$MODE_NOW.$sys]="redis-server did not start: $(tail -n 3 "$dir/redis.log" | tr '\n' '|')"
	stop_tree "${SUT_REDIS[$sys]}" 3
	unset "SUT_REDIS[$sys]"
	return 1
}

start_sbcd() { # mode dir sys
	local mode=$1 dir=$2 sys=$3 conf=$2/sbcd.conf
	{
		echo "# generated by bench/cps.sh ($mode mode, $sys)"
		echo "access_addr = ${SBC_ACCESS_IP[$sys]}"
		echo "access_port = $SBC_ACCESS_PORT"
		echo "access_tls_port = 0"
		echo "core_addr = ${SBC_CORE_IP[$sys]}"
		echo "core_port = $SBC_CORE_PORT"
		if [[ $mode == tls ]]; then
			echo "core_tls_port = $SBC_CORE_TLS_PORT"
			echo "core_tls_cert = $CERTS/sbc.crt"
			echo "core_tls_key = $CERTS/sbc.key"
			echo "upstream_ca = $CERTS/ca.crt"
			echo "upstream_tls_name = upstream.test"
		else
			# no TLS anywhere: no certificate either
			echo "core_tls_port = 0"
			echo "core_tls_cert ="
			echo "core_tls_key ="
		fi
		echo "upstream = $(upstream_uri "$mode" "$sys")"
		# warnings and errors only, as Kamailio's debug=0
		echo "log_level = $SBCD_LOG_LEVEL"
		echo "udp_sockbuf = 4194304"
		# signalling only, as Kamailio here (no rtpengine): media
		# anchoring is measured by bench/media.sh
		echo "media_anchor = no"
		# the only difference between sbcd and sbcd-redis
		[[ $sys == sbcd-redis ]] && echo "redis = $REDIS_IP:$REDIS_PORT"
		[[ -z $SBCD_EXTRA_CONF ]] || printf '%s\n' "$SBCD_EXTRA_CONF"
		# the UAC is a declared peer (unknown sources are dropped)
		echo "[peer bench]"
		echo "addr = ${UAC_IP%.*}.0/24"
		# one address sends thousands of requests a second: a big
		# trunk, as an operator declares it (Kamailio here runs
		# no pike either)
		echo "flood_exempt = yes"
		if ((SBCD_QUOTA)); then
			# quotas far above the load: never refused, but every
			# call adds to a day and a minute counter
			echo "profile = bench"
			echo "[profile bench]"
			echo "daily_calls = 100000000"
			echo "calls_per_minute = 10000000"
		fi
	} >"$conf"
	SUT_LOG[$sys]=$dir/sbcd.log
	taskset -c "$PROXY_CPU" "$SBCD" -f "$conf" </dev/null >"${SUT_LOG[$sys]}" 2>&1 &
	SUT_PID[$sys]=$!
	own $!
}

start_system() { # sys mode -> 0 if running
	local sys=$1 mode=$2 dir=$WORK/$2/$1
	mkdir -p "$dir"
	if [[ $sys == kamailio ]]; then
		port_busy $KAM_IP $KAM_PORT && {
			SKIP_REASON[$mode.$sys]="$KAM_IP:$KAM_PORT is already in use"
			return 1
		}
		start_kamailio "$mode" "$dir"
	else
		port_busy "${SBC_ACCESS_IP[$sys]}" $SBC_ACCESS_PORT && {
			SKIP_REASON[$mode.$sys]="${SBC_ACCESS_IP[$sys]}:$SBC_ACCESS_PORT is already in use"
			return 1
		}
		if [[ $sys == sbcd-redis ]]; then
			MODE_NOW=$mode
			start_redis "$sys" "$dir" || return 1
		fi
		start_sbcd "$mode" "$dir" "$sys"
	fi
	if ! wait_ready "$sys" "$mode" 20; then
		SKIP_REASON[$mode.$sys]="did not become ready; log tail: $(tail -n 5 "${SUT_LOG[$sys]}" | tr '\n' '|')"
		stop_system "$sys" 3
		return 1
	fi
	scan_procs
	# shellcheck disable=SC2046 # a list of pids
	own $(tree_of "${SUT_PID[$sys]}")
	note "[$mode] $sys running: pids $(tree_of "${SUT_PID[$sys]}" | tr ' ' '\n' | sort -n | tr '\n' ' ')(core $PROXY_CPU)"
	if [[ -n ${SUT_REDIS[$sys]:-} ]]; then
		note "[$mode] $sys: redis-server $REDIS_IP:$REDIS_PORT pid ${SUT_REDIS[$sys]} (core $REDIS_CPU)"
		if command -v redis-cli >/dev/null &&
			! redis-cli -h $REDIS_IP -p $REDIS_PORT CLIENT LIST 2>/dev/null | grep -q 'cmd=\(subscribe\|psubscribe\|ssubscribe\)'; then
			note "[$mode] $sys: warning: no client of redis-server is subscribed (is sbcd connected to Redis?)"
		fi
	fi
	return 0
}

# ---- TLS far end -----------------------------------------------------------------
# sbc-test-uas is started afresh for every step (as the sipp UAS is), so that
# no step inherits the far end's live transactions from the one before.
CERTS=""
TLS_WHY=""
prepare_tls() { # -> 0 if the TLS mode can run; else sets TLS_WHY
	[[ -x $TLS_UAS ]] || {
		TLS_WHY="TLS UAS $TLS_UAS is not built yet"
		return 1
	}
	[[ -f $GENCERTS ]] || {
		TLS_WHY="certificate script $GENCERTS is missing"
		return 1
	}
	CERTS=$WORK/certs
	mkdir -p "$CERTS"
	if ! sh "$GENCERTS" "$CERTS" >"$WORK/gencerts.log" 2>&1; then
		TLS_WHY="$GENCERTS failed: $(tail -n 3 "$WORK/gencerts.log" | tr '\n' '|')"
		return 1
	fi
	local f
	for f in ca.crt upstream.pem sbc.crt sbc.key; do
		[[ -f $CERTS/$f ]] || {
			TLS_WHY="$GENCERTS did not create $f"
			return 1
		}
	done
	if port_busy $UAS_IP $TLS_UAS_PORT; then
		TLS_WHY="$UAS_IP:$TLS_UAS_PORT is already in use"
		return 1
	fi
	return 0
}

# ---- load generators ---------------------------------------------------------------
# role dir timeout_s command... -> LASTPID (the `timeout` process; it signals its
# whole process group when it fires or is stopped). CPU time goes to ROLE.time.
start_gen() {
	local role=$1 dir=$2 tmo=$3
	shift 3
	(cd "$dir" && exec timeout -k 5 "$tmo" /usr/bin/time -o "$role.time" -f '%e %U %S' \
		taskset -c "$GEN_CPU" "$@" </dev/null >"$dir/$role.out" 2>&1) &
	LASTPID=$!
	own "$LASTPID"
}

start_sipp() { # role dir timeout_s sipp-args...
	local role=$1 dir=$2 tmo=$3
	shift 3
	start_gen "$role" "$dir" "$tmo" sipp "$@" -nostdin -buff_size 4194304 \
		-trace_stat -stf "${role}_stat.csv" -fd 1 -trace_counts \
		-trace_err -error_file "${role}_err.log" -trace_screen -screen_file "${role}_screen.log"
}

# ---- one step ---------------------------------------------------------------------
# Globals per (mode.sys): CPU_MARK (proxy ticks at the start of the last step),
# PENDING (index of the step whose CPU/call waits for the next reading).
declare -A CPU_MARK=() PENDING=() FAILS=() ACTIVE=()
# step records, indexed by step number
declare -a R_MODE=() R_SYS=() R_RATE=() R_TRY=() R_CREATED=() R_OK=() R_FAILED=() R_UACF=() R_UASF=()
declare -a R_RETR=() R_SENT=() R_RETRPCT=() R_GOODPUT=() R_PERIOD=() R_CPUMS=() R_PROXYPCT=()
declare -a R_GENPCT=() R_STEAL=() R_FOREIGN=() R_RTT=() R_RC=() R_VERDICT=() R_NOTE=()
declare -a R_CPUTICKS=() R_XTRA=() R_REDISMS=()
declare -A REDIS_MARK=()
NSTEP=0

redis_ticks() { # sys -> CPU ticks of its redis-server (needs scan_procs), or nothing
	[[ -n ${SUT_REDIS[$1]:-} ]] && tree_cpu "${SUT_REDIS[$1]}"
}

stop_system() { # sys: the proxy, then its redis-server
	stop_tree "${SUT_PID[$1]}" "${2:-5}"
	if [[ -n ${SUT_REDIS[$1]:-} ]]; then
		stop_tree "${SUT_REDIS[$1]}" "${2:-5}"
		unset "SUT_REDIS[$1]"
	fi
}

close_pending() { # mode sys proxy_ticks_now [redis_ticks_now]: CPU/call of the previous step of this system
	local key=$1.$2 now=$3 rnow=${4:-} i
	i=${PENDING[$key]:-}
	[[ -n $i ]] || return 0
	# sbcd-redis: its redis-server's CPU over the same window
	if [[ -n $rnow && -n ${REDIS_MARK[$key]:-} ]] && ((R_OK[i] > 0 && rnow >= REDIS_MARK[$key])); then
		R_REDISMS[i]=$(calc "($rnow - ${REDIS_MARK[$key]}) * 1000 / $CLK_TCK / ${R_OK[i]}")
	fi
	local d=$((now - CPU_MARK[$key]))
	R_CPUTICKS[i]=$d
	if ((d < 0)); then # the system died in between
		R_CPUTICKS[i]=-
		R_CPUMS[i]=-
	elif ((R_OK[i] > 0)); then
		R_CPUMS[i]=$(calc "$d * 1000 / $CLK_TCK / ${R_OK[i]}")
	else
		R_CPUMS[i]=-
	fi
	unset "PENDING[$key]"
}

run_step() { # mode sys rate try -> sets STEP_IDX; returns 0 pass, 1 fail, 2 system dead
	local mode=$1 sys=$2 rate=$3 try=$4
	local key=$mode.$sys dir=$WORK/$mode/$sys/r$rate.$try
	local ncalls=$((rate * STEP_SECONDS)) hold_s=$(((HOLD_MS + 999) / 1000))
	local pid=${SUT_PID[$sys]} target_ip target_port
	target_ip=$(SYS_TARGET_IP "$sys")
	target_port=$(SYS_TARGET_PORT "$sys")
	mkdir -p "$dir"
	if ! alive "$pid"; then
		return 2
	fi
	local limit=$((rate * (hold_s + 4)))
	local uac_tmo=$((STEP_SECONDS + hold_s + 2 * RECV_TIMEOUT_MS / 1000 + 5))

	local p1 p2 t0 t1 t2 st0 wa0 wo0
	scan_procs
	work_totals "${FOREIGN_DEBUG:+$dir/procs.t0}"
	wa0=$W_ALL wo0=$W_OURS
	st0=$(read_steal)
	t0=$EPOCHREALTIME

	local uas_pid=""
	if [[ $mode == udp ]]; then
		start_sipp uas "$dir" $((uac_tmo + 30)) -sf "$HERE/uas_rr.xml" \
			-i $UAS_IP -p "${UAS_PORT[$sys]}" -t u1 -cp "${UAS_CP[$sys]}" -mp "${UAS_MP[$sys]}" \
			-l $((rate * (hold_s + UAS_TIMEWAIT_S + 10))) -recv_timeout "$RECV_TIMEOUT_MS"
		uas_pid=$LASTPID
		local i
		for ((i = 0; i < 50; i++)); do
			udp_bound $UAS_IP "${UAS_PORT[$sys]}" && break
			alive "$uas_pid" || break
			sleep 0.1
		done
		udp_bound $UAS_IP "${UAS_PORT[$sys]}" || note "[$mode] $sys $rate: warning: the sipp UAS did not bind $UAS_IP:${UAS_PORT[$sys]}"
	else
		start_gen uas "$dir" $((uac_tmo + 30)) "$TLS_UAS" -l "$UAS_IP:$TLS_UAS_PORT" -t tls \
			-c "$CERTS/upstream.pem" -a 200 -r 100 -n "$ncalls" -T 0
		uas_pid=$LASTPID
		local i
		for ((i = 0; i < 50; i++)); do
			tcp_listening $UAS_IP $TLS_UAS_PORT && break
			alive "$uas_pid" || break
			sleep 0.1
		done
		if ! tcp_listening $UAS_IP $TLS_UAS_PORT; then
			TLS_WHY="$TLS_UAS did not listen on $UAS_IP:$TLS_UAS_PORT: $(tail -n 3 "$dir/uas.out" | tr '\n' '|')"
			stop_tree "$uas_pid" 3
			return 3
		fi
	fi

	# the load period starts here
	scan_procs
	p1=$(tree_cpu "$pid")
	CPU_MARK_NEXT=$p1
	local rp1
	rp1=$(redis_ticks "$sys")
	close_pending "$mode" "$sys" "$p1" "$rp1"
	t1=$EPOCHREALTIME
	start_sipp uac "$dir" "$((uac_tmo + 10))" "$target_ip:$target_port" -sf "$HERE/uac_rr.xml" \
		-inf "$CALLERS" -i $UAC_IP -p "${UAC_PORT[$sys]}" -t u1 -cp "${UAC_CP[$sys]}" -mp "${UAC_MP[$sys]}" \
		-r "$rate" -rp 1000 -m "$ncalls" -l "$limit" -d "$HOLD_MS" \
		-recv_timeout "$RECV_TIMEOUT_MS" -timeout "${uac_tmo}s"
	local uac_pid=$LASTPID uac_rc
	wait "$uac_pid"
	uac_rc=$?
	scan_procs
	p2=$(tree_cpu "$pid")
	t2=$EPOCHREALTIME

	if [[ -n $uas_pid ]]; then
		if [[ $mode == udp ]]; then
			# The sipp UAS has no -m: stray INVITE retransmissions would count as
			# calls and make it stop answering before the UAC is done. Once the
			# last calls' <timewait> is over, SIGUSR1 makes it exit cleanly
			# (final statistics, CPU times).
			sleep $((UAS_TIMEWAIT_S + 1))
			scan_procs
			local q
			for q in $(tree_of "$uas_pid"); do
				[[ ${COMM[q]} == sipp ]] && own "$q" && kill -USR1 "$q" 2>/dev/null
			done
		fi
		# sbc-test-uas ends by itself after -n calls; anything left gets 5 s
		local deadline
		deadline=$(calc "$EPOCHREALTIME + 5")
		while alive "$uas_pid" && awk -v a="$EPOCHREALTIME" -v b="$deadline" 'BEGIN { exit !(a < b) }'; do
			sleep 0.2
		done
		stop_tree "$uas_pid" 3
	fi
	local t3 st3
	scan_procs
	work_totals "${FOREIGN_DEBUG:+$dir/procs.t3}"
	st3=$(read_steal)
	t3=$EPOCHREALTIME
	CPU_MARK[$key]=$CPU_MARK_NEXT
	[[ -n $rp1 ]] && REDIS_MARK[$key]=$rp1

	# ---- results
	local created ok uacf retr_stat rtt incoming
	read -r created ok uacf retr_stat rtt incoming < <(stat_summary "$dir/uac_stat.csv")
	local uac_sent uac_retr period uac_counts uac_sipp_pid
	uac_counts=$(first_file "$dir"/uac_rr_*_counts.csv)
	read -r uac_sent uac_retr period < <(counts_summary "$uac_counts")
	uac_sipp_pid=${uac_counts##*/uac_rr_}
	uac_sipp_pid=${uac_sipp_pid%_counts.csv}
	local uas_created=0 uas_ok=0 uasf=0 uas_retr_stat=0 uas_rtt=- uas_in=0 uas_sent=0 uas_retr=0 uas_period=0 stray=0
	: "$uas_created $uas_rtt $uas_period $incoming"
	if [[ $mode == udp ]]; then
		read -r uas_created uas_ok uasf uas_retr_stat uas_rtt uas_in < <(stat_summary "$dir/uas_stat.csv")
		read -r uas_sent uas_retr uas_period < <(counts_summary "$(first_file "$dir"/uas_rr_*_counts.csv)")
		# Calls the UAS failed whose Call-ID ("N-PID@ip") is not this step's UAC's:
		# requests a proxy still retransmits from an earlier step (its transactions
		# live ~32 s) reach this fresh UAS as unknown BYE/CANCEL/ACK. They are
		# reported as stray, not counted as this step's failures.
		if ((uasf > 0)) && [[ -n $uac_sipp_pid ]]; then
			stray=$(grep -o -E "(for call: |Call-I[dD]:? ?'?)[0-9]+-[0-9]+@" "$dir/uas_err.log" 2>/dev/null |
				grep -o -E '[0-9]+-[0-9]+@' | sort -u | grep -v -c -- "-$uac_sipp_pid@")
			((stray > uasf)) && stray=$uasf
			uasf=$((uasf - stray))
		fi
	fi
	# calls the UAC created but that neither succeeded nor failed (global timeout) are failures;
	# calls it never created show up in the goodput
	local uac_failed=$((created - ok))
	((uac_failed < uacf)) && uac_failed=$uacf
	local failed=$uac_failed # the table's figure; the UAS's own failures go to the note
	local retr=$((uac_retr + uas_retr)) sent=$((uac_sent + uas_sent))
	local retr_pct goodput
	retr_pct=$(calc "$sent > 0 ? 100 * $retr / $sent : 0")
	if awk -v p="$period" 'BEGIN { exit !(p > 0) }'; then
		goodput=$(calc "$ok / $period")
	else
		goodput=$(calc "$ok / $STEP_SECONDS")
		period=-
	fi

	local wl wall
	wl=$(calc "$t2 - $t1")
	wall=$(calc "$t3 - $t0")
	local proxy_pct gen_ticks uac_cpu uas_cpu gen_pct steal_pct foreign_pct
	proxy_pct=$(calc "100 * ($p2 - $p1) / $CLK_TCK / $wl")
	uac_cpu=$(time_cpu "$dir/uac.time")
	uas_cpu=$(time_cpu "$dir/uas.time")
	if [[ $uac_cpu == - || $uas_cpu == - ]]; then
		gen_pct=-
		gen_ticks=0
	else
		gen_ticks=$((uac_cpu + uas_cpu))
		gen_pct=$(calc "100 * $gen_ticks / $CLK_TCK / $wl")
	fi
	steal_pct=$(calc "100 * ($st3 - $st0) / ($CLK_TCK * $NCPU * $wall)")
	# CPU of every task that is not ours (other sessions, daemons, kernel threads)
	local foreign_ticks=$(((W_ALL - wa0) - (W_OURS - wo0)))
	((foreign_ticks < 0)) && foreign_ticks=0
	foreign_pct=$(calc "100 * $foreign_ticks / $CLK_TCK / $wall")

	# ---- verdict
	local verdict=pass notes=""
	if ((uac_failed > 0)); then verdict=fail; notes+="failed-calls "; fi
	if ((uasf > 0)); then verdict=fail; notes+="uas-failed=$uasf "; fi
	((stray > 0)) && notes+="stray=$stray(earlier step's calls at the UAS) "
	if awk -v x="$retr_pct" 'BEGIN { exit !(x >= 1) }'; then verdict=fail; notes+="retrans>=1% "; fi
	if awk -v g="$goodput" -v r="$rate" 'BEGIN { exit !(g < 0.9 * r) }'; then verdict=fail; notes+="goodput<90% "; fi
	if ((created == 0)); then verdict=fail; notes+="no-calls(uac rc=$uac_rc) "; fi
	if [[ $gen_pct != - ]] && awk -v x="$gen_pct" 'BEGIN { exit !(x >= 90) }'; then
		notes+="GEN-LIMIT(sipp core busy) "
	fi
	if ! alive "$pid"; then verdict=fail; notes+="PROXY-DIED "; fi
	if awk -v s="$steal_pct" -v f="$foreign_pct" -v S="$NOISE_STEAL_PCT" -v F="$NOISE_FOREIGN_PCT" \
		'BEGIN { exit !(s > S || f > F) }'; then notes+="noisy "; fi
	notes=${notes% }

	local i=$NSTEP
	NSTEP=$((NSTEP + 1))
	R_MODE[i]=$mode R_SYS[i]=$sys R_RATE[i]=$rate R_TRY[i]=$try R_CREATED[i]=$created R_OK[i]=$ok
	R_FAILED[i]=$failed R_UACF[i]=$uac_failed R_UASF[i]=$uasf R_RETR[i]=$retr R_SENT[i]=$sent
	R_RETRPCT[i]=$retr_pct R_GOODPUT[i]=$goodput R_PERIOD[i]=$period R_CPUMS[i]=- R_PROXYPCT[i]=$proxy_pct
	R_GENPCT[i]=$gen_pct R_STEAL[i]=$steal_pct R_FOREIGN[i]=$foreign_pct
	R_RTT[i]=$rtt R_XTRA[i]="sipp_retr=$((retr_stat + uas_retr_stat)) uas_calls=$uas_in uas_ok=$uas_ok uac_cpu_ticks=$uac_cpu uas_cpu_ticks=$uas_cpu uas_stray=$stray" R_RC[i]=$uac_rc R_VERDICT[i]=$verdict R_NOTE[i]=$notes
	PENDING[$key]=$i
	STEP_IDX=$i
	printf '[%s] %-8s %5d cps try %d: ok %d/%d failed %d retr %s%% goodput %s period %ss proxy %s%% gen %s%% steal %s%% foreign %s%% -> %s %s\n' \
		"$mode" "$sys" "$rate" "$try" "$ok" "$ncalls" "$failed" "$(fmt "$retr_pct" %.2f)" "$(fmt "$goodput" %.1f)" \
		"$(fmt "$period" %.2f)" "$(fmt "$proxy_pct" %.0f)" "$(fmt "$gen_pct" %.0f)" \
		"$(fmt "$steal_pct" %.1f)" "$(fmt "$foreign_pct" %.0f)" "$verdict" "$notes"
	[[ $verdict == pass ]] && return 0
	alive "$pid" || return 2
	return 1
}

# ---- report --------------------------------------------------------------------------
write_step_records() {
	local i
	for ((i = 0; i < NSTEP; i++)); do
		echo "step ${R_MODE[i]} ${R_SYS[i]} ${R_RATE[i]} ${R_TRY[i]} offered=${R_RATE[i]} created=${R_CREATED[i]} ok=${R_OK[i]}" \
			"failed=${R_FAILED[i]} uac_failed=${R_UACF[i]} uas_failed=${R_UASF[i]} retr=${R_RETR[i]} sent=${R_SENT[i]}" \
			"retr_pct=${R_RETRPCT[i]} goodput=${R_GOODPUT[i]} period_s=${R_PERIOD[i]} cpu_ticks=${R_CPUTICKS[i]:--}" \
			"cpu_ms_per_call=${R_CPUMS[i]} redis_cpu_ms_per_call=${R_REDISMS[i]:--} proxy_pct=${R_PROXYPCT[i]} gen_pct=${R_GENPCT[i]}" \
			"steal_pct=${R_STEAL[i]} foreign_pct=${R_FOREIGN[i]} rtt_ms=${R_RTT[i]}" \
			"uac_rc=${R_RC[i]} ${R_XTRA[i]} verdict=${R_VERDICT[i]} note=\"${R_NOTE[i]}\""
	done >>"$RAW"
}

# the record kept for (mode, sys, rate): the last try
final_idx() {
	local i found=""
	for ((i = 0; i < NSTEP; i++)); do
		[[ ${R_MODE[i]} == "$1" && ${R_SYS[i]} == "$2" && ${R_RATE[i]} == "$3" ]] && found=$i
	done
	echo "$found"
}

declare -A MAXRATE=() BOUND=()
report() {
	local mode sys r i out=$WORK/report.txt
	: >"$out"
	{
		echo
		echo "== calls/s: full call INVITE..BYE, ${HOLD_MS} ms hold, ${STEP_SECONDS} s steps; proxy on core $PROXY_CPU, sipp on core $GEN_CPU"
		echo "   pass = 0 failed calls, retransmissions < 1% of messages sent, goodput >= 90% of offered"
		for mode in $MODES; do
			echo
			echo "-- mode $mode ($([[ $mode == udp ]] && echo "sipp UAC -udp-> proxy -udp-> sipp UAS" || echo "sipp UAC -udp-> proxy -tls-> sbc-test-uas"))"
			printf '%-8s %6s %8s %7s %6s %6s %7s %6s %5s %6s %6s %7s  %s\n' \
				system offer goodput calls failed retr% ms/call proxy% gen% steal% foreign rtt_ms verdict
			for sys in $SYSTEMS; do
				if [[ -n ${SKIP_REASON[$mode.$sys]:-} ]]; then
					printf '%-8s skipped: %s\n' "$sys" "${SKIP_REASON[$mode.$sys]}"
					continue
				fi
				for r in $RATES; do
					i=$(final_idx "$mode" "$sys" "$r")
					[[ -n $i ]] || continue
					printf '%-8s %6d %8s %7d %6d %6s %7s %6s %5s %6s %6s%% %7s  %s%s\n' \
						"$sys" "$r" "$(fmt "${R_GOODPUT[i]}" %.1f)" "${R_OK[i]}" "${R_FAILED[i]}" \
						"$(fmt "${R_RETRPCT[i]}" %.2f)" "$(fmt "${R_CPUMS[i]}" %.3f)" "$(fmt "${R_PROXYPCT[i]}" %.0f)" \
						"$(fmt "${R_GENPCT[i]}" %.0f)" "$(fmt "${R_STEAL[i]}" %.1f)" "$(fmt "${R_FOREIGN[i]}" %.0f)" \
						"$(fmt "${R_RTT[i]}" %.1f)" "${R_VERDICT[i]}" \
						"$([[ ${R_TRY[i]} -gt 1 ]] && echo " (try ${R_TRY[i]})")$([[ -n ${R_NOTE[i]} ]] && echo " [${R_NOTE[i]}]")"
				done
			done
		done
		echo
		echo "   ms/call = CPU (utime+stime) of every process of the proxy from the start of the step to the start"
		echo "   of its next step (deferred transaction work included) / completed calls; proxy% = its CPU during"
		echo "   the sending period, % of one core; gen% = sipp (+ TLS UAS) CPU, % of one core (>= 90: GEN-LIMIT);"
		echo "   steal = % of all CPU time; foreign = CPU of every task this script did not start (other sessions,"
		echo "   kernel threads), % of one core; rtt = mean INVITE->200 at the UAC."
		echo
		echo "== summary"
		for mode in $MODES; do
			for sys in $SYSTEMS; do
				if [[ -n ${SKIP_REASON[$mode.$sys]:-} ]]; then
					echo "[$mode] $sys: skipped (${SKIP_REASON[$mode.$sys]})"
					continue
				fi
				local max=0 maxi="" after="" firstfail_gen=0 firstfail_noisy=0 any=0 below=""
				for r in $RATES; do
					i=$(final_idx "$mode" "$sys" "$r")
					[[ -n $i ]] || continue
					any=1
					if [[ ${R_VERDICT[i]} == pass ]]; then
						max=$r
						maxi=$i
					fi
				done
				for r in $RATES; do
					((r < max)) || break
					i=$(final_idx "$mode" "$sys" "$r")
					[[ -n $i && ${R_VERDICT[i]} != pass ]] && below+="${below:+, }$r"
				done
				((any)) || {
					echo "[$mode] $sys: no steps ran"
					continue
				}
				MAXRATE[$mode.$sys]=$max
				for r in $RATES; do
					((r > max)) || continue
					i=$(final_idx "$mode" "$sys" "$r")
					[[ -n $i ]] || continue
					[[ ${R_NOTE[i]} == *GEN-LIMIT* && -z $after ]] && firstfail_gen=1
					[[ ${R_NOTE[i]} == *noisy* && -z $after ]] && firstfail_noisy=1
					after+="${after:+, }$r->$(fmt "${R_GOODPUT[i]}" %.0f) ok/s (${R_FAILED[i]} failed, retr $(fmt "${R_RETRPCT[i]}" %.1f)%)"
				done
				local line="[$mode] $sys: max passing rate $max calls/s"
				[[ -n $maxi ]] && line+=", $(fmt "${R_CPUMS[maxi]}" %.3f) ms CPU/call there"
				BOUND[$mode.$sys]=""
				if ((max == MAX_RATE)); then
					BOUND[$mode.$sys]="it passed the highest rate offered"
				elif ((firstfail_gen)) || [[ -n $maxi && ${R_NOTE[maxi]} == *GEN-LIMIT* ]]; then
					BOUND[$mode.$sys]="the load generator's core (sipp/UAS) was saturated"
				fi
				[[ -n ${BOUND[$mode.$sys]} ]] && line+=" (a lower bound: ${BOUND[$mode.$sys]})"
				((firstfail_noisy)) && line+=" (the next step ran under foreign load or steal)"
				[[ -n $below ]] && line+=" (but failed below it, at $below)"
				echo "$line"
				if [[ -n $after ]]; then
					echo "    past the maximum (offered->goodput): $after"
				fi
			done
			if [[ " $SYSTEMS " == *" kamailio "* && " $SYSTEMS " == *" sbcd "* ]]; then
				local mk=${MAXRATE[$mode.kamailio]:-} ms=${MAXRATE[$mode.sbcd]:-}
				if [[ -z $mk || -z $ms ]]; then
					echo "[$mode] ratios sbcd/kamailio: n/a (a system was skipped or did not run)"
				else
					local caveat=""
					[[ -n ${BOUND[$mode.kamailio]:-} ]] && caveat+=" kamailio's maximum is a lower bound;"
					[[ -n ${BOUND[$mode.sbcd]:-} ]] && caveat+=" sbcd's maximum is a lower bound;"
					((mk == 0)) && caveat+=" kamailio passed no step;"
					[[ -n $caveat ]] && caveat=" (inconclusive:${caveat%;})"
					echo "[$mode] ratio sbcd/kamailio of max passing rate: $ms/$mk = $(calcf %.2f "$mk > 0 ? $ms / $mk : 0")$caveat"
					local common="" ik is
					for r in $RATES; do
						ik=$(final_idx "$mode" kamailio "$r")
						is=$(final_idx "$mode" sbcd "$r")
						[[ -n $ik && -n $is && ${R_VERDICT[ik]} == pass && ${R_VERDICT[is]} == pass &&
							${R_CPUMS[ik]} != - && ${R_CPUMS[is]} != - ]] && common=$r
					done
					if [[ -n $common ]]; then
						ik=$(final_idx "$mode" kamailio "$common")
						is=$(final_idx "$mode" sbcd "$common")
						echo "[$mode] ratio sbcd/kamailio of CPU per call at $common calls/s (highest rate both passed):" \
							"$(fmt "${R_CPUMS[is]}" %.3f)/$(fmt "${R_CPUMS[ik]}" %.3f) ms = $(calcf %.2f "${R_CPUMS[is]} / ${R_CPUMS[ik]}")"
					else
						echo "[$mode] ratio of CPU per call: n/a (no rate that both passed)"
					fi
				fi
			fi
			if [[ " $SYSTEMS " == *" sbcd "* && " $SYSTEMS " == *" sbcd-redis "* ]]; then
				# what Redis costs sbcd: CPU per call at 3000 calls/s if
				# both passed it, else at the highest rate both passed
				local at="" ib ir
				for r in $RATES; do
					ib=$(final_idx "$mode" sbcd "$r")
					ir=$(final_idx "$mode" sbcd-redis "$r")
					[[ -n $ib && -n $ir && ${R_VERDICT[ib]} == pass && ${R_VERDICT[ir]} == pass &&
						${R_CPUMS[ib]} != - && ${R_CPUMS[ir]} != - ]] || continue
					at=$r
					((r == 3000)) && break
				done
				if [[ -n $at ]]; then
					ib=$(final_idx "$mode" sbcd "$at")
					ir=$(final_idx "$mode" sbcd-redis "$at")
					local rms=${R_REDISMS[ir]:-}
					echo "[$mode] ratio sbcd-redis/sbcd of sbcd's CPU per call at $at calls/s$([[ $at != 3000 ]] && echo " (3000 not passed by both: the highest rate both passed)"):" \
						"$(fmt "${R_CPUMS[ir]}" %.3f)/$(fmt "${R_CPUMS[ib]}" %.3f) ms = $(calcf %.3f "${R_CPUMS[ir]} / ${R_CPUMS[ib]}")"
					if [[ -n $rms ]]; then
						echo "[$mode] with redis-server's CPU (core $REDIS_CPU): ($(fmt "${R_CPUMS[ir]}" %.3f)+$(fmt "$rms" %.3f))/$(fmt "${R_CPUMS[ib]}" %.3f) ms = $(calcf %.3f "(${R_CPUMS[ir]} + $rms) / ${R_CPUMS[ib]}")"
					fi
				else
					echo "[$mode] ratio sbcd-redis/sbcd of CPU per call: n/a (no rate that both passed)"
				fi
			fi
		done
		for sys in $SYSTEMS; do
			[[ -n ${SKIP_REASON[all.$sys]:-} ]] && echo "$sys skipped: ${SKIP_REASON[all.$sys]}"
		done
		echo
		echo "raw results: $RAW"
	} | tee -a "$out"
	cat "$out" >>"$RAW"
}

# ---- main ------------------------------------------------------------------------------
ERR_RE=' (ERROR|CRITICAL|ALERT|BUG): |: error: ' # Kamailio's and sbcd's error lines

# sbcd-redis: what Redis holds at the end of a mode (proof that sbcd wrote
# its counters there), against the calls its UAC completed
redis_note() { # mode sys
	local mode=$1 sys=$2 i calls=0 ctr
	[[ -n ${SUT_REDIS[$sys]:-} ]] || return 0
	for ((i = 0; i < NSTEP; i++)); do
		[[ ${R_MODE[i]} == "$mode" && ${R_SYS[i]} == "$sys" ]] && calls=$((calls + R_CREATED[i]))
	done
	if command -v redis-cli >/dev/null; then
		ctr=$(redis-cli -h $REDIS_IP -p $REDIS_PORT HGETALL sbc:ctr 2>&1 | paste -d= - - | grep '^day:' | tr '\n' ' ')
		note "[$mode] $sys: Redis sbc:ctr at the end: ${ctr:-none} (UAC created $calls calls)"
	fi
}
# decide which systems can run at all
RUN_SYSTEMS=""
for sys in $SYSTEMS; do
	if [[ $sys == sbcd* && ! -x $SBCD ]]; then
		SKIP_REASON[all.$sys]="$SBCD not found (build it: make build)"
		note "sbcd skipped: $SBCD not found (build it: make build); measuring the others alone"
		for m in $MODES; do SKIP_REASON[$m.$sys]="$SBCD not found"; done
		continue
	fi
	if [[ $sys == kamailio ]] && ! command -v "$KAMAILIO" >/dev/null; then
		SKIP_REASON[all.$sys]="$KAMAILIO not installed (packages kamailio, kamailio-tls-modules)"
		note "kamailio skipped: not installed"
		for m in $MODES; do SKIP_REASON[$m.$sys]="not installed"; done
		continue
	fi
	RUN_SYSTEMS+=" $sys"
done

for mode in $MODES; do
	note ""
	note "== mode $mode"
	if [[ $mode == tls ]]; then
		if ! prepare_tls; then
			note "[tls] TLS mode skipped: $TLS_WHY"
			for sys in $SYSTEMS; do SKIP_REASON[tls.$sys]=${SKIP_REASON[tls.$sys]:-"TLS mode skipped: $TLS_WHY"}; done
			continue
		fi
	fi
	ACTIVE=()
	for sys in $RUN_SYSTEMS; do
		if start_system "$sys" "$mode"; then
			ACTIVE[$mode.$sys]=1
			FAILS[$mode.$sys]=0
		else
			note "[$mode] $sys skipped: ${SKIP_REASON[$mode.$sys]}"
		fi
	done
	round=0
	TLS_DEAD=0
	for rate in $RATES; do
		((TLS_DEAD)) && break
		order=""
		for sys in $RUN_SYSTEMS; do [[ -n ${ACTIVE[$mode.$sys]:-} ]] && order+=" $sys"; done
		[[ -n $order ]] || break
		# alternate which system goes first
		if ((round % 2)); then
			# shellcheck disable=SC2086 # a word list
			order=$(printf '%s\n' $order | tac | tr '\n' ' ')
		fi
		round=$((round + 1))
		for sys in $order; do
			try=1
			while :; do
				run_step "$mode" "$sys" "$rate" "$try"
				rc=$?
				if ((rc == 1 && try <= NOISE_RETRIES)) && [[ ${R_NOTE[STEP_IDX]} == *noisy* ]]; then
					note "[$mode] $sys $rate: failed under foreign load/steal, running the step again"
					try=$((try + 1))
					sleep "$GAP_SECONDS"
					continue
				fi
				break
			done
			case $rc in
			0) FAILS[$mode.$sys]=0 ;;
			1) FAILS[$mode.$sys]=$((FAILS[$mode.$sys] + 1)) ;;
			2)
				note "[$mode] $sys: the proxy is not running any more; log tail: $(tail -n 5 "${SUT_LOG[$sys]}" | tr '\n' '|')"
				unset "ACTIVE[$mode.$sys]"
				;;
			3)
				note "[$mode] ending the mode: $TLS_WHY"
				TLS_DEAD=1
				;;
			esac
			((TLS_DEAD)) && break
			if [[ -n ${ACTIVE[$mode.$sys]:-} ]] && ((FAILS[$mode.$sys] >= MAX_FAILS)); then
				note "[$mode] $sys: $MAX_FAILS failing steps in a row, stopping it"
				sleep "$SETTLE_SECONDS"
				scan_procs
				close_pending "$mode" "$sys" "$(tree_cpu "${SUT_PID[$sys]}")" "$(redis_ticks "$sys")"
				redis_note "$mode" "$sys"
				stop_system "$sys" 5
				unset "ACTIVE[$mode.$sys]"
			fi
			sleep "$GAP_SECONDS"
		done
	done
	# last CPU reading of the systems still up, then stop them
	sleep "$SETTLE_SECONDS"
	scan_procs
	for sys in $RUN_SYSTEMS; do
		[[ -n ${SUT_PID[$sys]:-} ]] || continue
		if [[ -n ${ACTIVE[$mode.$sys]:-} ]]; then
			close_pending "$mode" "$sys" "$(tree_cpu "${SUT_PID[$sys]}")" "$(redis_ticks "$sys")"
			redis_note "$mode" "$sys"
		fi
		errs=$(grep -c -E "$ERR_RE" "${SUT_LOG[$sys]}" 2>/dev/null)
		if [[ ${errs:-0} -gt 0 ]]; then
			note "[$mode] $sys logged $errs error lines; the most frequent:"
			grep -E "$ERR_RE" "${SUT_LOG[$sys]}" |
				sed -E 's/^ *[0-9]+\([0-9]+\) //; s/^[0-9T:.-]+Z sbcd\[[0-9]+\]: //' | cut -c1-160 |
				sort | uniq -c | sort -rn | head -n 3 | sed 's/^/    /' | tee -a "$RAW"
		fi
		stop_system "$sys" 5
		unset "SUT_PID[$sys]"
	done
done

write_step_records
report
