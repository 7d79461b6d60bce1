#!/usr/bin/env bash
# bench/pair.sh: what the active/standby pair (cluster = corosync) costs.
# In one cluster lab (tests/cluster/lab.sh: nodes n1 and n2 running
# Corosync, cli and core), step by step and alternating:
#   (a) "alone":  sbcd on n1 standalone (cluster = none),
#   (b) "pair":   sbcd on n1 active, sbcd on n2 its synced standby,
# sipp UAC in cli -> n1's access VIP -> sipp UAS in core, the call and the
# pass rule of bench/cps.sh (uac_rr.xml/uas_rr.xml, 0 failed calls, < 1%
# retransmissions, goodput >= 90%).  Both sbcd of n1 run all the time (on
# different ports), as cps.sh's two systems do.  Per step: CPU per call of
# n1's sbcd, of n2's sbcd and of corosync on each node, the ratio (b)/(a),
# the replication lag n2 measured, the messages and bytes n1 sent.  Then
# the sync figure: SYNC_CALLS calls held through n1, sbcd on n2 restarted
# SYNC_RUNS times, the time until it is synced.
#
# Usage: bench/pair.sh   (as root: network namespaces; make bench-pair)
# Environment (defaults in brackets):
#   RATES          offered rates, calls/s, ascending        [1000 2000 3000 4000]
#   STEP_SECONDS   seconds of load per step                 [10]
#   HOLD_MS        call hold between the ACK and the BYE    [1000]
#   MODES          the modes measured (alone, pair; both for the ratios) [alone pair]
#   ROUNDS         times each rate's pair of steps (alone, pair) runs, the
#                  order alternating; the ratio is given per round and
#                  as the median of the rounds that passed        [2]
#   WARMUP_SECONDS a first step of each mode at the lowest rate,
#                  not reported (0: none)                   [3]
#   GAP_SECONDS    quiet pause between two steps            [2]
#   SETTLE_SECONDS pause before the last CPU reading        [5]
#   NOISE_STEAL_PCT, NOISE_FOREIGN_PCT  when a step ran with more steal
#                  (% of all CPU) or foreign CPU (% of a core) than this,
#                  both modes of its rate run again, up to NOISE_RETRIES
#                  times; each rate first waits (QUIET_WAIT s at most) for
#                  a second with at most that foreign CPU  [10, 30, 1, 60]
#   SUT_CPU        core of n1's sbcd (both)                 [1]
#   GEN_CPU        core of sipp and of this script          [0]
#   STANDBY_CPU    core of n2's sbcd                        [GEN_CPU]
#   STANDBY_NICE   nice value of n2's sbcd (all threads)    [0]
#   CS1_CPU        core of corosync on n1                   [GEN_CPU]
#                  (not the active's: at real-time priority it preempts
#                  sbcd at each of its wake-ups; bench/README.md, "pair")
#   CS2_CPU        core of corosync on n2                   [STANDBY_CPU]
#   COROSYNC_RT    nodes whose corosync keeps the real-time scheduling it
#                  takes (SCHED_RR 99); the others run SCHED_OTHER     [n1 n2]
#   PROBE          1: after the steps, Corosync alone (bench/cpgprobe) at each
#                  pair step's message rate and size: its own lag and CPU [1]
#   SYNC_CALLS     calls held through n1 for the sync figure (0: none) [10000]
#   SYNC_RATE      calls/s that set them up                 [250]
#   SYNC_RUNS      restarts of n2's sbcd measured           [3]
#   SYNC_CS1_CPU   core of corosync on n1 during the sync figure: each
#                  node on its own core, as on two machines (both
#                  corosyncs on one core at SCHED_RR 99 took 6-7 s of
#                  CPU and 9-10 s to pass a 10,000-call snapshot) [SUT_CPU]
#   LAB_IDX        lab index: namespaces sbl<IDX>-*         [99]
#   LAB_TOKEN      Corosync's token, ms                     [1000]
#   SBCD, SBCCTL, CPGPROBE  binaries [build/sbcd, build/sbcctl, build/bench/cpgprobe]
#   SBCD_LOG_LEVEL sbcd's log_level (as cps.sh: warnings only) [warn]
#   SBCD_EXTRA_CONF  "key = value" lines (newline-separated) for every sbcd
#   LAB_TOTEM_EXTRA  more lines of corosync.conf's totem section (lab.sh);
#                  empty: Corosync's defaults   [seqno_unchanged_const: 2]
#                  (the default 30 keeps the token circling at full speed
#                  for 30 rounds after every message: with a message every
#                  few ms, about half a core per node on these VMs, whatever
#                  the message rate or size; with 2 the token rests between
#                  the pair's messages: bench/README.md, "pair")
#   RESULTS_DIR    where pair-<date>-<time>.txt goes        [bench/results]
#   LAB_KEEP=1     keep the lab's work dir (sbcd logs, sipp files)
#
# Addresses (inside the lab's namespaces only, 192.0.2.0/24): sipp UAC
# 192.0.2.100:5070 (cli); sbcd on n1 on the VIPs 192.0.2.50 (access) and
# .51 (core): the standalone one on port 5062, the active on 5060 (n2's
# binds them too, with IP_FREEBIND); sipp UAS 192.0.2.200:5080 (core).

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BENCH=$HERE

RATES=${RATES:-"1000 2000 3000 4000"}
STEP_SECONDS=${STEP_SECONDS:-10}
HOLD_MS=${HOLD_MS:-1000}
WARMUP_SECONDS=${WARMUP_SECONDS:-3}
ROUNDS=${ROUNDS:-2}
GAP_SECONDS=${GAP_SECONDS:-2}
SETTLE_SECONDS=${SETTLE_SECONDS:-5}
NOISE_STEAL_PCT=${NOISE_STEAL_PCT:-10}
NOISE_FOREIGN_PCT=${NOISE_FOREIGN_PCT:-30}
NOISE_RETRIES=${NOISE_RETRIES:-1}
QUIET_WAIT=${QUIET_WAIT:-60}
SUT_CPU=${SUT_CPU:-1}
GEN_CPU=${GEN_CPU:-0}
STANDBY_CPU=${STANDBY_CPU:-$GEN_CPU}
STANDBY_NICE=${STANDBY_NICE:-0}
CS1_CPU=${CS1_CPU:-$GEN_CPU}
CS2_CPU=${CS2_CPU:-$STANDBY_CPU}
COROSYNC_RT=${COROSYNC_RT-"n1 n2"}
PROBE=${PROBE:-1}
SYNC_CALLS=${SYNC_CALLS:-10000}
SYNC_RATE=${SYNC_RATE:-250}
SYNC_RUNS=${SYNC_RUNS:-3}
SYNC_CS1_CPU=${SYNC_CS1_CPU:-$SUT_CPU}
SBCD=${SBCD:-$ROOT/build/sbcd}
SBCCTL=${SBCCTL:-$ROOT/build/sbcctl}
CPGPROBE=${CPGPROBE:-$ROOT/build/bench/cpgprobe}
SBCD_LOG_LEVEL=${SBCD_LOG_LEVEL:-warn}
SBCD_EXTRA_CONF=${SBCD_EXTRA_CONF:-}
RESULTS_DIR=${RESULTS_DIR:-$BENCH/results}
export SBCD SBCCTL
RECV_TIMEOUT_MS=$((HOLD_MS + 9000))
UAS_TIMEWAIT_S=2 # <timewait> at the end of uas_rr.xml
MODES=${MODES:-"alone pair"}
declare -A PORT=([alone]=5062 [pair]=5060)

# ---- argument checks ---------------------------------------------------------
for v in STEP_SECONDS HOLD_MS ROUNDS WARMUP_SECONDS GAP_SECONDS SETTLE_SECONDS NOISE_RETRIES QUIET_WAIT \
	NOISE_STEAL_PCT NOISE_FOREIGN_PCT SUT_CPU GEN_CPU STANDBY_CPU CS1_CPU CS2_CPU \
	STANDBY_NICE SYNC_CALLS SYNC_RATE SYNC_RUNS SYNC_CS1_CPU; do
	isuint "${!v}" || die "$v must be a non-negative integer (got '${!v}')"
done
((STEP_SECONDS >= 1)) || die "STEP_SECONDS must be >= 1"
((ROUNDS >= 1)) || die "ROUNDS must be >= 1"
((SYNC_RATE >= 1)) || die "SYNC_RATE must be >= 1"
prev=0
for r in $RATES; do
	if ! isuint "$r" || ((r == 0)); then die "RATES: '$r' is not a positive integer"; fi
	((r > prev)) || die "RATES must be ascending"
	prev=$r
done
[[ -n $RATES ]] || die "RATES is empty"
for m in $MODES; do
	[[ $m == alone || $m == pair ]] || die "MODES: unknown mode '$m' (alone, pair)"
done
MIN_RATE=${RATES%% *}
MAX_RATE=$prev
NCPU=$(nproc)
for c in SUT_CPU GEN_CPU STANDBY_CPU CS1_CPU CS2_CPU SYNC_CS1_CPU; do
	((${!c} < NCPU)) || die "$c must be < $NCPU"
done
((SUT_CPU != GEN_CPU)) || echo "$SCRIPT: warning: sbcd and sipp share core $GEN_CPU" >&2
for t in sipp taskset timeout awk /usr/bin/time; do
	command -v "$t" >/dev/null || die "'$t' is needed (packages: sip-tester, util-linux, coreutils, gawk|mawk, time)"
done
[[ -x $SBCD && -x $SBCCTL ]] || die "$SBCD or $SBCCTL missing: build first (make build)"
if ((PROBE)) && [[ ! -x $CPGPROBE ]]; then
	echo "$SCRIPT: $CPGPROBE missing (make build): no Corosync baseline" >&2
	PROBE=0
fi
CLK_TCK=$(getconf CLK_TCK)
# this script, its helpers (sbcctl, awk) and the lab's launchers start on
# the generator's core; each process of the pair is pinned below
taskset -pc "$GEN_CPU" $$ >/dev/null 2>&1 || true
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true

# ---- the lab (root, corosync, arping...: lab.sh skips with 77 without) -------
LAB_IDX=${LAB_IDX:-99}
LAB_TOTEM_EXTRA=${LAB_TOTEM_EXTRA-"seqno_unchanged_const: 2"}
. "$ROOT/tests/cluster/lab.sh"
. "$ROOT/tests/cluster/pair.sh"
HERE=$BENCH
BW=$LAB_W/bench
mkdir -p "$BW" || fail "cannot create $BW"

STAMP=$(date +%Y%m%d-%H%M%S)
mkdir -p "$RESULTS_DIR" || fail "cannot create $RESULTS_DIR"
RAW=$RESULTS_DIR/pair-$STAMP.txt
: >"$RAW"
REPORTED=0

# Partial results (the steps done) also when the run is cut short; then
# the lab goes (lab_exit, with the run's exit status).
bench_exit() {
	local rc=$?
	trap - EXIT
	cd "$ROOT" 2>/dev/null
	if ((!REPORTED && NSTEP > 0)); then
		echo "# run cut short (exit status $rc): the steps done so far" >>"$RAW"
		write_step_records
	fi
	(exit $rc)
	lab_exit
	echo "results: $RAW"
}
trap bench_exit EXIT

NCALLERS=$((MAX_RATE * STEP_SECONDS))
((NCALLERS < SYNC_CALLS + 1000)) && NCALLERS=$((SYNC_CALLS + 1000))
((NCALLERS < 1000)) && NCALLERS=1000
CALLERS=$BW/callers.csv
awk -v n="$NCALLERS" 'BEGIN { print "SEQUENTIAL"; for (i = 1; i <= n; i++) printf "c%07d;\n", i }' >"$CALLERS"

{
	echo "# sbc pair benchmark $STAMP"
	echo "# host $(uname -n) kernel $(uname -r) cpus $NCPU clk_tck $CLK_TCK"
	echo "# sipp: $(sipp -v 2>&1 | grep -o 'SIPp v[^ ]*' | head -1)  corosync: $(corosync -v 2>&1 | grep -o 'version .[0-9.]*.' | head -1)"
	echo "# sbcd: $("$SBCD" -V 2>&1 | head -1)  git $(git -C "$ROOT" describe --always --dirty 2>/dev/null)"
	echo "# RATES='$RATES' ROUNDS=$ROUNDS STEP_SECONDS=$STEP_SECONDS HOLD_MS=$HOLD_MS WARMUP_SECONDS=$WARMUP_SECONDS MODES='$MODES'"
	echo "# GAP_SECONDS=$GAP_SECONDS SETTLE_SECONDS=$SETTLE_SECONDS LAB_IDX=$LAB_IDX LAB_TOKEN=$LAB_TOKEN"
	echo "# cores: n1 sbcd $SUT_CPU, sipp $GEN_CPU, n2 sbcd $STANDBY_CPU, corosync n1 $CS1_CPU, corosync n2 $CS2_CPU; corosync real-time on: ${COROSYNC_RT:-none}"
	echo "# SBCD_EXTRA_CONF='${SBCD_EXTRA_CONF//$'\n'/; }' LAB_TOTEM_EXTRA='$LAB_TOTEM_EXTRA'"
	echo "# NOISE_STEAL_PCT=$NOISE_STEAL_PCT NOISE_FOREIGN_PCT=$NOISE_FOREIGN_PCT NOISE_RETRIES=$NOISE_RETRIES QUIET_WAIT=$QUIET_WAIT"
	echo "# SYNC_CALLS=$SYNC_CALLS SYNC_RATE=$SYNC_RATE SYNC_RUNS=$SYNC_RUNS SYNC_CS1_CPU=$SYNC_CS1_CPU callers=$NCALLERS"
} >>"$RAW"

# ---- the pair ----------------------------------------------------------------
lab_up n1 n2
CS1=$(cat "$LAB_W/n1/corosync.pid") CS2=$(cat "$LAB_W/n2/corosync.pid")
# every thread of each corosync (it runs SCHED_RR), by default on the
# generator's core: on the active's, it preempted sbcd at every message
taskset -a -pc "$CS1_CPU" "$CS1" >/dev/null || fail "cannot pin corosync on n1"
taskset -a -pc "$CS2_CPU" "$CS2" >/dev/null || fail "cannot pin corosync on n2"
for n in n1 n2; do
	[[ " $COROSYNC_RT " == *" $n "* ]] && continue
	p=$CS1
	[[ $n == n2 ]] && p=$CS2
	chrt -a -o -p 0 "$p" || fail "cannot make corosync on $n SCHED_OTHER"
done
pair_init
lab_addr_add n1 "$LAB_VIP_ACCESS"
lab_addr_add n1 "$LAB_VIP_CORE"
# sbcd as cps.sh runs it for speed: warnings only, 4 MB socket buffers,
# signalling only, the trunk (the lab network) exempt from flood counting
SPEED=("log_level = $SBCD_LOG_LEVEL" "udp_sockbuf = 4194304" "media_anchor = no")
while IFS= read -r l; do
	[[ -n $l ]] && SPEED+=("$l")
done <<<"$SBCD_EXTRA_CONF"
PEER=(-- "flood_exempt = yes")
ALONE_OPTS=("${PAIR_OPTS[@]/#cluster = corosync/cluster = none}")
LAB_SBCD_NAME=alone LAB_SBCD_CPU=$SUT_CPU lab_sbcd n1 "${ALONE_OPTS[@]}" \
	"flow_key_file = $LAB_W/n1/flow.key" "${SPEED[@]}" \
	"access_port = ${PORT[alone]}" "core_port = ${PORT[alone]}" "${PEER[@]}"
ALONE=$LAB_BG_PID
LAB_SBCD_CPU=$SUT_CPU pair_sbcd n1 "${SPEED[@]}" "${PEER[@]}"
ACTIVE=$LAB_BG_PID
wait_for 10 is_synced n1 || fail "n1 alone in the group, not synced: $(ctl n1 role)"
ctl n1 role active >/dev/null || fail "n1 cannot be made active: $(ctl n1 role active)"
start_standby() {
	local t
	LAB_SBCD_CPU=$STANDBY_CPU pair_sbcd n2 "${SPEED[@]}" "${PEER[@]}"
	STANDBY=$LAB_BG_PID
	if ((STANDBY_NICE)); then
		for t in /proc/"$STANDBY"/task/*; do
			renice -n "$STANDBY_NICE" -p "${t##*/}" >/dev/null || fail "cannot renice n2's sbcd"
		done
	fi
}
start_standby
wait_for 20 is_synced n2 || fail "n2 not synced: $(ctl n2 role)"
note "lab $LAB_P up: sbcd n1 standalone PID $ALONE (port ${PORT[alone]}), n1 active PID $ACTIVE," \
	"n2 standby PID $STANDBY, corosync n1 $CS1 n2 $CS2"

declare -A SUT=([alone]=$ALONE [pair]=$ACTIVE)
# the processes whose CPU is read, and their cores
PROCS="alone active standby cs1 cs2"
declare -A CORE=([alone]=$SUT_CPU [active]=$SUT_CPU [standby]=$STANDBY_CPU [cs1]=$CS1_CPU [cs2]=$CS2_CPU)
proc_pid() {
	case $1 in
	alone) echo "$ALONE" ;; active) echo "$ACTIVE" ;; standby) echo "$STANDBY" ;;
	cs1) echo "$CS1" ;; cs2) echo "$CS2" ;;
	esac
}
# utime+stime of every process (all threads), after scan_procs
declare -A TK=()
read_ticks() {
	local p pid
	scan_procs
	for p in $PROCS; do
		pid=$(proc_pid "$p")
		TK[$p]=${CPU[pid]:-0}
	done
}
# Run-queue wait (schedstat's run_delay, summed over every thread, ns) of
# each process: the time it was ready to run while something else had its
# core (corosync at real-time priority, sipp, foreign load)
declare -A RD=()
read_delays() {
	local p pid t a b
	for p in $PROCS; do
		pid=$(proc_pid "$p")
		RD[$p]=0
		for t in /proc/"$pid"/task/*/schedstat; do
			read -r a b _ <"$t" 2>/dev/null || continue
			RD[$p]=$((RD[$p] + b))
		done
	done
}
# UDP datagrams the kernel dropped for want of room in a socket's receive
# buffer (RcvbufErrors of /proc/net/snmp), per member: a receiver that did
# not keep up
UDP_MEMBERS="n1 n2 cli core"
declare -A UE=()
read_udp_errs() {
	local m
	for m in $UDP_MEMBERS; do
		UE[$m]=$(lab_x "$m" cat /proc/net/snmp 2>/dev/null | awk '$1 == "Udp:" && $2 ~ /^[0-9]/ { print $6; exit }')
		UE[$m]=${UE[$m]:-0}
	done
}
# one field of `sbcctl role` output kept in a file
rfield() { awk -v k="$2" '$1 == k { print $2; exit }' "$1" 2>/dev/null; }

# ---- steps -------------------------------------------------------------------
declare -A MARK=() PENDING=()
declare -A SMARK=() # the shared processes' ticks at the start of the last step
SPENDING=""
declare -a R_MODE=() R_RATE=() R_ROUND=() R_TRY=() R_WARM=() R_CREATED=() R_OK=() R_FAILED=() R_UASF=()
declare -a R_RETR=() R_SENT=() R_RETRPCT=() R_GOODPUT=() R_PERIOD=() R_RTT=() R_RC=()
declare -a R_SUTMS=() R_SUTTK=() R_SBMS=() R_CS1MS=() R_CS2MS=() R_SBTK=() R_CS1TK=() R_CS2TK=()
declare -a R_SUTPCT=() R_SBPCT=() R_CS1PCT=() R_CS2PCT=() R_GENPCT=() R_CORE0=() R_CORE1=()
declare -a R_STEAL=() R_FOREIGN=() R_MSGS=() R_BYTES=() R_LAGL=() R_LAGE=() R_REPL=()
declare -a R_VERDICT=() R_NOTE=() R_XTRA=()
NSTEP=0

ms_per_call() { # ticks calls
	if (($2 > 0)); then calc "$1 * 1000 / $CLK_TCK / $2"; else echo -; fi
}

# CPU per call of the previous step of MODE's sbcd: its ticks from the
# start of that step to the start of its next one (or the last reading),
# so work it put off (transactions ending, timers) is charged to it
close_pending() { # mode ticks_now
	local i=${PENDING[$1]:-} d
	[[ -n $i ]] || return 0
	d=$(($2 - MARK[$1]))
	R_SUTTK[i]=$d
	R_SUTMS[i]=$(ms_per_call "$d" "${R_OK[i]}")
	unset "PENDING[$1]"
}
# the processes both modes share (n2's sbcd, the two corosync): from the
# start of the previous step to the start of this one, whatever its mode
close_shared() {
	local i=$SPENDING
	[[ -n $i ]] || return 0
	R_SBTK[i]=$((TK[standby] - SMARK[standby]))
	R_CS1TK[i]=$((TK[cs1] - SMARK[cs1]))
	R_CS2TK[i]=$((TK[cs2] - SMARK[cs2]))
	R_SBMS[i]=$(ms_per_call "${R_SBTK[i]}" "${R_OK[i]}")
	R_CS1MS[i]=$(ms_per_call "${R_CS1TK[i]}" "${R_OK[i]}")
	R_CS2MS[i]=$(ms_per_call "${R_CS2TK[i]}" "${R_OK[i]}")
	SPENDING=""
}

# sipp in MEMBER, bounded (timeout), its CPU times to DIR/ROLE.time, pinned
# to the generator's core, working in DIR (its trace files); PID in LAB_BG_PID
sipp_bg() { # member dir role timeout_s sipp-args...
	local m=$1 dir=$2 role=$3 tmo=$4
	shift 4
	cd "$dir" || fail "cd $dir"
	lab_bg "$m" "$dir/$role.out" timeout -k 5 "$tmo" /usr/bin/time -o "$dir/$role.time" -f '%e %U %S' \
		taskset -c "$GEN_CPU" sipp "$@" -nostdin -buff_size 4194304 \
		-trace_stat -stf "${role}_stat.csv" -fd 1 -trace_counts \
		-trace_err -error_file "${role}_err.log" -trace_screen -screen_file "${role}_screen.log" >/dev/null
	cd "$ROOT" || fail "cd $ROOT"
}

uas_bound() { [[ -n $(lab_x core ss -Hlun "src $LAB_CORE_IP:5080" 2>/dev/null) ]]; }

# SIGUSR1 to the sipp of a sipp_bg tree (it writes its statistics and
# exits), then wait (bounded) for the tree; SIGTERM/SIGKILL if it hangs
sipp_finish() { # pid
	local root=$1 q
	scan_procs
	for q in $(tree_of "$root"); do
		[[ ${COMM[q]} == sipp ]] && kill -USR1 "$q" 2>/dev/null
	done
	reap "$root" 5 >/dev/null 2>&1 || true
}

run_step() { # mode rate round try warm -> STEP_IDX; 0 pass, 1 fail, 2 an sbcd died
	local mode=$1 rate=$2 round=$3 try=$4 warm=$5
	local secs=$STEP_SECONDS dir
	((warm)) && secs=$WARMUP_SECONDS
	dir=$BW/$mode-r$rate.$round.$try
	((warm)) && dir=$BW/$mode-warmup
	mkdir -p "$dir"
	local ncalls=$((rate * secs)) hold_s=$(((HOLD_MS + 999) / 1000))
	local limit=$((rate * (hold_s + 4)))
	local uac_tmo=$((secs + hold_s + 2 * RECV_TIMEOUT_MS / 1000 + 5))
	local sut=${SUT[$mode]} p
	for p in $ALONE $ACTIVE $STANDBY; do
		[[ -e /proc/$p ]] || return 2
	done

	local t0 t1 t2 t3 st0 st3 wa0 wo0
	scan_procs
	work_totals
	wa0=$W_ALL wo0=$W_OURS
	st0=$(read_steal)
	t0=$EPOCHREALTIME
	sipp_bg core "$dir" uas $((uac_tmo + 30)) -sf "$BENCH/uas_rr.xml" -i "$LAB_CORE_IP" -p 5080 -t u1 \
		-l $((rate * (hold_s + UAS_TIMEWAIT_S + 10))) -recv_timeout "$RECV_TIMEOUT_MS"
	local uas_pid=$LAB_BG_PID i
	for ((i = 0; i < 50; i++)); do
		uas_bound && break
		sleep 0.1
	done
	uas_bound || note "[$mode] $rate: warning: the sipp UAS did not bind $LAB_CORE_IP:5080"

	# ---- the load period starts here
	ctl n1 role >"$dir/role_n1.start"
	ctl n2 role >"$dir/role_n2.start"
	read_ticks
	read_delays
	read_udp_errs
	local -A T1=() D1=() U1=()
	for p in $PROCS; do T1[$p]=${TK[$p]} D1[$p]=${RD[$p]}; done
	for p in $UDP_MEMBERS; do U1[$p]=${UE[$p]}; done
	close_pending "$mode" "${TK[$( [[ $mode == alone ]] && echo alone || echo active)]}"
	close_shared
	t1=$EPOCHREALTIME
	sipp_bg cli "$dir" uac $((uac_tmo + 10)) "$LAB_VIP_ACCESS:${PORT[$mode]}" -sf "$BENCH/uac_rr.xml" \
		-inf "$CALLERS" -i "$LAB_CLI_IP" -p 5070 -t u1 -r "$rate" -rp 1000 -m "$ncalls" -l "$limit" \
		-d "$HOLD_MS" -recv_timeout "$RECV_TIMEOUT_MS" -timeout "${uac_tmo}s"
	local uac_pid=$LAB_BG_PID uac_rc=0
	# the standby's lag under load: its last 4096 messages, read 1 s
	# before the last INVITE is due (the end of a step has only BYEs)
	if [[ $mode == pair ]] && ((secs >= 3)); then
		local due
		due=$(calc "$t1 + $secs - 1")
		while grep -qs '^State:[[:space:]]*[^Z]' "/proc/$uac_pid/status" &&
			awk -v a="$EPOCHREALTIME" -v b="$due" 'BEGIN { exit !(a < b) }'; do
			sleep 0.2
		done
		ctl n2 role >"$dir/role_n2.load"
	fi
	wait "$uac_pid" || uac_rc=$?
	read_ticks
	read_delays
	read_udp_errs
	local -A T2=()
	for p in $PROCS; do T2[$p]=${TK[$p]}; done
	t2=$EPOCHREALTIME
	# waited for a core during the load, % of the load period; UDP drops
	local waits="" drops=""
	for p in $PROCS; do
		waits+="$p:$(calcf %.1f "(${RD[$p]} - ${D1[$p]}) / 1e7 / ($t2 - $t1)") "
	done
	for p in $UDP_MEMBERS; do drops+="$p:$((UE[$p] - U1[$p])) "; done
	waits=${waits% } drops=${drops% }

	# the UAS has no -m (late INVITE retransmissions would count as calls):
	# after the last calls' <timewait>, SIGUSR1 ends it with its statistics
	sleep $((UAS_TIMEWAIT_S + 1))
	sipp_finish "$uas_pid"
	ctl n1 role >"$dir/role_n1.end"
	ctl n2 role >"$dir/role_n2.end"
	scan_procs
	work_totals
	st3=$(read_steal)
	t3=$EPOCHREALTIME
	MARK[$mode]=${T1[$( [[ $mode == alone ]] && echo alone || echo active)]}
	for p in $PROCS; do SMARK[$p]=${T1[$p]}; done

	# ---- sipp's figures (as cps.sh reads them)
	local created ok uacf retr_stat rtt incoming
	read -r created ok uacf retr_stat rtt incoming < <(stat_summary "$dir/uac_stat.csv")
	local uac_sent uac_retr period uac_counts uac_sipp_pid
	uac_counts=$(first_file "$dir"/uac_rr_*_counts.csv)
	read -r uac_sent uac_retr period < <(counts_summary "$uac_counts")
	uac_sipp_pid=${uac_counts##*/uac_rr_}
	uac_sipp_pid=${uac_sipp_pid%_counts.csv}
	local uas_created uas_ok uasf uas_retr_stat uas_rtt uas_in uas_sent uas_retr uas_period stray=0
	read -r uas_created uas_ok uasf uas_retr_stat uas_rtt uas_in < <(stat_summary "$dir/uas_stat.csv")
	read -r uas_sent uas_retr uas_period < <(counts_summary "$(first_file "$dir"/uas_rr_*_counts.csv)")
	: "$uas_created $uas_rtt $uas_period $incoming"
	# calls of an earlier step (an sbcd still retransmitting a BYE) reach
	# this fresh UAS: stray, not this step's failures (see cps.sh)
	if ((uasf > 0)) && [[ -n $uac_sipp_pid ]]; then
		stray=$(grep -o -E "(for call: |Call-I[dD]:? ?'?)[0-9]+-[0-9]+@" "$dir/uas_err.log" 2>/dev/null |
			grep -o -E '[0-9]+-[0-9]+@' | sort -u | grep -v -c -- "-$uac_sipp_pid@")
		((stray > uasf)) && stray=$uasf
		uasf=$((uasf - stray))
	fi
	local uac_failed=$((created - ok))
	((uac_failed < uacf)) && uac_failed=$uacf
	local retr=$((uac_retr + uas_retr)) sent=$((uac_sent + uas_sent)) retr_pct goodput
	retr_pct=$(calc "$sent > 0 ? 100 * $retr / $sent : 0")
	if awk -v p="$period" 'BEGIN { exit !(p > 0) }'; then
		goodput=$(calc "$ok / $period")
	else
		goodput=$(calc "$ok / $secs")
		period=-
	fi

	# ---- CPU during the load period (t1..t2), % of one core
	local wl wall uac_cpu uas_cpu gen_pct=- steal_pct foreign_pct
	wl=$(calc "$t2 - $t1")
	wall=$(calc "$t3 - $t0")
	local -A PCT=() COREPCT=()
	for p in $PROCS; do
		PCT[$p]=$(calc "100 * (${T2[$p]} - ${T1[$p]}) / $CLK_TCK / $wl")
		COREPCT[${CORE[$p]}]=$(calc "${COREPCT[${CORE[$p]}]:-0} + ${PCT[$p]}")
	done
	uac_cpu=$(time_cpu "$dir/uac.time")
	uas_cpu=$(time_cpu "$dir/uas.time")
	if [[ $uac_cpu != - && $uas_cpu != - ]]; then
		gen_pct=$(calc "100 * ($uac_cpu + $uas_cpu) / $CLK_TCK / $wl")
		COREPCT[$GEN_CPU]=$(calc "${COREPCT[$GEN_CPU]:-0} + $gen_pct")
	fi
	steal_pct=$(calc "100 * ($st3 - $st0) / ($CLK_TCK * $NCPU * $wall)")
	local foreign_ticks=$(((W_ALL - wa0) - (W_OURS - wo0)))
	((foreign_ticks < 0)) && foreign_ticks=0
	foreign_pct=$(calc "100 * $foreign_ticks / $CLK_TCK / $wall")

	# ---- the replication: what n1 sent, n2's lag and health
	local msgs bytes lagl=- lage repl="" f
	msgs=$(($(rfield "$dir/role_n1.end" messages_sent) - $(rfield "$dir/role_n1.start" messages_sent)))
	bytes=$(($(rfield "$dir/role_n1.end" bytes_sent) - $(rfield "$dir/role_n1.start" bytes_sent)))
	f=$dir/role_n2.load
	[[ -s $f ]] && lagl="$(rfield "$f" lag_p50_us)/$(rfield "$f" lag_p99_us)/$(rfield "$f" lag_max_us)/$(rfield "$f" lag_samples)"
	f=$dir/role_n2.end
	lage="$(rfield "$f" lag_p50_us)/$(rfield "$f" lag_p99_us)/$(rfield "$f" lag_max_us)/$(rfield "$f" lag_samples)"
	local d
	d=$(($(rfield "$dir/role_n1.end" messages_dropped) - $(rfield "$dir/role_n1.start" messages_dropped)))
	((d > 0)) && repl+="n1-dropped=$d "
	d=$(($(rfield "$dir/role_n2.end" resyncs) - $(rfield "$dir/role_n2.start" resyncs)))
	((d > 0)) && repl+="n2-resyncs=$d "
	d=$(($(rfield "$dir/role_n2.end" records_refused) - $(rfield "$dir/role_n2.start" records_refused)))
	((d > 0)) && repl+="n2-refused=$d "
	[[ $(rfield "$dir/role_n2.end" synced) == yes ]] || repl+="n2-not-synced "
	[[ $(rfield "$dir/role_n2.end" seq) == "$(rfield "$dir/role_n1.end" seq)" ]] ||
		repl+="n2-behind($(rfield "$dir/role_n2.end" seq)/$(rfield "$dir/role_n1.end" seq)) "

	# ---- verdict (cps.sh's rule; and the pair must stay whole)
	local verdict=pass notes=""
	if ((uac_failed > 0)); then verdict=fail; notes+="failed-calls "; fi
	if ((uasf > 0)); then verdict=fail; notes+="uas-failed=$uasf "; fi
	((stray > 0)) && notes+="stray=$stray(earlier step's calls at the UAS) "
	if awk -v x="$retr_pct" 'BEGIN { exit !(x >= 1) }'; then verdict=fail; notes+="retrans>=1% "; fi
	if awk -v g="$goodput" -v r="$rate" 'BEGIN { exit !(g < 0.9 * r) }'; then verdict=fail; notes+="goodput<90% "; fi
	if ((created == 0)); then verdict=fail; notes+="no-calls(uac rc=$uac_rc) "; fi
	[[ -n $repl ]] && { verdict=fail; notes+="REPLICATION:${repl% } "; }
	if awk -v x="${COREPCT[$GEN_CPU]:-0}" 'BEGIN { exit !(x >= 90) }'; then
		notes+="GEN-LIMIT(core $GEN_CPU busy) "
	fi
	for p in $ALONE $ACTIVE $STANDBY; do
		[[ -e /proc/$p ]] || { verdict=fail; notes+="SBCD-DIED($p) "; }
	done
	if awk -v s="$steal_pct" -v f="$foreign_pct" -v S="$NOISE_STEAL_PCT" -v F="$NOISE_FOREIGN_PCT" \
		'BEGIN { exit !(s > S || f > F) }'; then notes+="noisy "; fi
	notes=${notes% }

	i=$NSTEP
	NSTEP=$((NSTEP + 1))
	R_MODE[i]=$mode R_RATE[i]=$rate R_ROUND[i]=$round R_TRY[i]=$try R_WARM[i]=$warm R_CREATED[i]=$created R_OK[i]=$ok
	R_FAILED[i]=$uac_failed R_UASF[i]=$uasf R_RETR[i]=$retr R_SENT[i]=$sent R_RETRPCT[i]=$retr_pct
	R_GOODPUT[i]=$goodput R_PERIOD[i]=$period R_RTT[i]=$rtt R_RC[i]=$uac_rc
	R_SUTMS[i]=- R_SUTTK[i]=- R_SBMS[i]=- R_CS1MS[i]=- R_CS2MS[i]=- R_SBTK[i]=- R_CS1TK[i]=- R_CS2TK[i]=-
	R_SUTPCT[i]=${PCT[$([[ $mode == alone ]] && echo alone || echo active)]}
	R_SBPCT[i]=${PCT[standby]} R_CS1PCT[i]=${PCT[cs1]} R_CS2PCT[i]=${PCT[cs2]} R_GENPCT[i]=$gen_pct
	R_CORE0[i]=${COREPCT[0]:-0} R_CORE1[i]=${COREPCT[1]:-0}
	R_STEAL[i]=$steal_pct R_FOREIGN[i]=$foreign_pct R_MSGS[i]=$msgs R_BYTES[i]=$bytes
	R_LAGL[i]=$lagl R_LAGE[i]=$lage R_REPL[i]=${repl% }
	R_VERDICT[i]=$verdict R_NOTE[i]=$notes
	R_XTRA[i]="sipp_retr=$((retr_stat + uas_retr_stat)) uas_calls=$uas_in uas_ok=$uas_ok uac_cpu_ticks=$uac_cpu uas_cpu_ticks=$uas_cpu uas_stray=$stray load_s=$(fmt "$wl" %.2f) runq_wait_pct=${waits// /,} udp_rcvbuf_drops=${drops// /,}"
	PENDING[$mode]=$i
	SPENDING=$i
	STEP_IDX=$i
	printf '[%s]%s %5d cps round %d try %d: ok %d/%d failed %d retr %s%% goodput %s sbcd %s%% core0 %s%% core1 %s%% msgs %d lag(load) %s steal %s%% foreign %s%% -> %s %s\n' \
		"$mode" "$( ((warm)) && echo " warm-up")" "$rate" "$round" "$try" "$ok" "$ncalls" "$uac_failed" \
		"$(fmt "$retr_pct" %.2f)" "$(fmt "$goodput" %.1f)" "$(fmt "${R_SUTPCT[i]}" %.0f)" \
		"$(fmt "${R_CORE0[i]}" %.0f)" "$(fmt "${R_CORE1[i]}" %.0f)" "$msgs" "$lagl" \
		"$(fmt "$steal_pct" %.1f)" "$(fmt "$foreign_pct" %.0f)" "$verdict" "$notes"
	printf '         waited for a core (%% of the load period): %s; UDP receive-buffer drops: %s\n' "$waits" "$drops"
	[[ $verdict == pass ]] && return 0
	for p in $ALONE $ACTIVE $STANDBY; do
		[[ -e /proc/$p ]] || return 2
	done
	return 1
}

# Wait (QUIET_WAIT s at most) until the CPU of the tasks this script did
# not start was at most NOISE_FOREIGN_PCT of a core over one second.
wait_quiet() {
	local end=$((SECONDS + QUIET_WAIT)) a o t f
	while :; do
		scan_procs
		work_totals
		a=$W_ALL o=$W_OURS t=$EPOCHREALTIME
		sleep 1
		scan_procs
		work_totals
		f=$(calc "100 * (($W_ALL - $a) - ($W_OURS - $o)) / $CLK_TCK / ($EPOCHREALTIME - $t)")
		awk -v f="$f" -v F="$NOISE_FOREIGN_PCT" 'BEGIN { exit !(f <= F) }' && return 0
		if ((SECONDS >= end)); then
			note "foreign load still $(fmt "$f" %.0f)% of a core after ${QUIET_WAIT} s: going on"
			return 1
		fi
	done
}

# ---- Corosync alone ------------------------------------------------------------
# The pair step's mean message rate (messages / (sending period + hold))
# and size, sent by bench/cpgprobe from n1 to n2 for STEP_SECONDS: the lag
# and the CPU of Corosync itself, without sbcd.
declare -a PROBE_LINES=()
probe_step() { # rate (the step's offered calls/s)
	local r=$1 i dir mps size rx tx c1 c2 d1 d2 t0 t1
	i=$(final_idx pair "$r")
	[[ -n $i ]] || return 0
	((R_MSGS[i] > 0)) || return 0
	dir=$BW/probe-r$r
	mkdir -p "$dir"
	local period=${R_PERIOD[i]}
	[[ $period == - ]] && period=$STEP_SECONDS
	mps=$(calcf %.0f "${R_MSGS[i]} / ($period + $HOLD_MS / 1000)")
	((mps > 0)) || mps=1
	size=$((R_BYTES[i] / R_MSGS[i]))
	((size >= 8)) || size=8
	wait_quiet
	lab_bg n2 "$dir/recv.out" taskset -c "$STANDBY_CPU" "$CPGPROBE" recv -t "$STEP_SECONDS"
	rx=$LAB_BG_PID
	sleep 0.5
	read_ticks
	c1=${TK[cs1]} c2=${TK[cs2]} t0=$EPOCHREALTIME
	lab_bg n1 "$dir/send.out" taskset -c "$SUT_CPU" "$CPGPROBE" send -r "$mps" -z "$size" -t "$STEP_SECONDS"
	tx=$LAB_BG_PID
	reap "$tx" $((STEP_SECONDS + 10)) || note "probe $r: the sender failed: $(cat "$dir/send.out")"
	read_ticks
	t1=$EPOCHREALTIME
	reap "$rx" 15 || note "probe $r: the receiver failed: $(cat "$dir/recv.out")"
	d1=$(calc "100 * (${TK[cs1]} - $c1) / $CLK_TCK / ($t1 - $t0)")
	d2=$(calc "100 * (${TK[cs2]} - $c2) / $CLK_TCK / ($t1 - $t0)")
	PROBE_LINES+=("probe rate=$r msgs_per_s=$mps bytes=$size $(tail -n 1 "$dir/send.out") $(tail -n 1 "$dir/recv.out") cs1_pct=$(fmt "$d1" %.1f) cs2_pct=$(fmt "$d2" %.1f)")
	note "${PROBE_LINES[-1]}"
}

# ---- the sync figure ---------------------------------------------------------
declare -a SYNC_LINES=()
sync_phase() {
	local dir=$BW/sync i
	mkdir -p "$dir"
	# a fresh pair: calls of failed steps may linger on the old one (up to
	# dialog_max_duration), and the standalone sbcd is done
	lab_stop "$ALONE" 10
	lab_stop "$STANDBY" 10
	lab_stop "$ACTIVE" 10
	mv "$LAB_W/n1/sbcd.log" "$LAB_W/n1/sbcd.steps.log"
	mv "$LAB_W/n2/sbcd.log" "$LAB_W/n2/sbcd.steps.log"
	taskset -a -pc "$SYNC_CS1_CPU" "$CS1" >/dev/null || fail "cannot pin corosync on n1"
	note "sync: corosync of n1 on core $SYNC_CS1_CPU"
	LAB_SBCD_CPU=$SUT_CPU pair_sbcd n1 "${SPEED[@]}" "${PEER[@]}"
	ACTIVE=$LAB_BG_PID
	wait_for 10 is_synced n1 || fail "sync: n1 alone in the group, not synced: $(ctl n1 role)"
	ctl n1 role active >/dev/null || fail "sync: n1 cannot be made active: $(ctl n1 role active)"
	start_standby
	wait_for 20 is_synced n2 || fail "sync: n2 not synced: $(ctl n2 role)"
	local setup_s=$(((SYNC_CALLS + SYNC_RATE - 1) / SYNC_RATE))
	local hold_ms=$(((setup_s * 2 + 40 * SYNC_RUNS + 60) * 1000))
	local tmo=$((hold_ms / 1000 + setup_s + 120))
	sipp_bg core "$dir" uas "$tmo" -sf "$BENCH/uas_rr.xml" -i "$LAB_CORE_IP" -p 5080 -t u1 \
		-l $((SYNC_CALLS + 1000)) -recv_timeout $((hold_ms + 60000))
	local uas=$LAB_BG_PID
	for ((i = 0; i < 50; i++)); do
		uas_bound && break
		sleep 0.1
	done
	local t0
	t0=$(lab_ms)
	sipp_bg cli "$dir" uac "$tmo" "$LAB_VIP_ACCESS:${PORT[pair]}" -sf "$BENCH/uac_rr.xml" \
		-inf "$CALLERS" -i "$LAB_CLI_IP" -p 5070 -t u1 -r "$SYNC_RATE" -rp 1000 -m "$SYNC_CALLS" \
		-l $((SYNC_CALLS + 1000)) -d "$hold_ms" -recv_timeout $((hold_ms + 60000)) -timeout "$((tmo - 5))s"
	local uac=$LAB_BG_PID
	calls_of() { ctl "$1" stats | awk '$1 == "dialogs_active" { print $2 }'; }
	held() { [ "$(calls_of n1)" -ge "$SYNC_CALLS" ] && [ "$(calls_of n2)" -ge "$SYNC_CALLS" ]; }
	# all of them, or as many as were set up (failed calls are not retried)
	if ! wait_for $((setup_s * 2 + 30)) held; then
		note "sync: only $(calls_of n1) of $SYNC_CALLS calls held on n1 ($(calls_of n2) on n2); measuring with those"
		sleep 10
	fi
	if (($(calls_of n1) < 1)); then
		note "sync: no call held; no sync figure"
		lab_stop "$uac" 5
		lab_stop "$uas" 5
		return 1
	fi
	note "sync: $(calls_of n1) calls held through n1 (set up from $(lab_secs "$t0" "$(lab_ms)") s ago at $SYNC_RATE calls/s), n2 has $(calls_of n2)"
	local r ts tr tsy a0 a1 c0 c1 c20 c21 s0 s1 n2calls
	gone() { ! ctl n1 role | grep -q '^peer 2 '; }
	for ((r = 1; r <= SYNC_RUNS; r++)); do
		lab_stop "$STANDBY" 10 || note "sync: sbcd on n2 did not stop cleanly on SIGTERM"
		mv "$LAB_W/n2/sbcd.log" "$LAB_W/n2/sbcd.$r.log"
		wait_for 10 gone || fail "n1 still sees n2's sbcd 10 s after it stopped"
		sleep 1
		read_ticks
		a0=${TK[active]} c0=${TK[cs1]} c20=${TK[cs2]}
		ts=$(lab_ms)
		start_standby
		tr=$(lab_ms)
		wait_for 60 is_synced n2 || fail "n2 not synced 60 s after its restart: $(ctl n2 role)"
		tsy=$(lab_ms)
		ctl n2 role >"$dir/role_n2.$r"
		read_ticks
		a1=${TK[active]} c1=${TK[cs1]} c21=${TK[cs2]}
		s1=${TK[standby]}
		n2calls=$(calls_of n2)
		SYNC_LINES+=("sync run=$r calls_n1=$(calls_of n1) calls_n2=$n2calls wall_ms=$((tsy - ts)) start_to_ready_ms=$((tr - ts)) ready_to_synced_ms=$((tsy - tr)) last_sync_ms=$(rfield "$dir/role_n2.$r" last_sync_ms) last_sync_records=$(rfield "$dir/role_n2.$r" last_sync_records) active_cpu_ms=$(((a1 - a0) * 1000 / CLK_TCK)) standby_cpu_ms=$((s1 * 1000 / CLK_TCK)) corosync_n1_cpu_ms=$(((c1 - c0) * 1000 / CLK_TCK)) corosync_n2_cpu_ms=$(((c21 - c20) * 1000 / CLK_TCK))")
		note "${SYNC_LINES[-1]}"
		[[ $n2calls == "$(calls_of n1)" ]] || note "sync: n2 has $n2calls calls, n1 $(calls_of n1)"
		sleep 2
	done
	lab_stop "$uac" 5
	lab_stop "$uas" 5
	return 0
}

# ---- report --------------------------------------------------------------------
write_step_records() {
	local i
	for ((i = 0; i < NSTEP; i++)); do
		echo "step ${R_MODE[i]} ${R_RATE[i]} round=${R_ROUND[i]} try=${R_TRY[i]} warmup=${R_WARM[i]} created=${R_CREATED[i]} ok=${R_OK[i]}" \
			"failed=${R_FAILED[i]} uas_failed=${R_UASF[i]} retr=${R_RETR[i]} sent=${R_SENT[i]} retr_pct=${R_RETRPCT[i]}" \
			"goodput=${R_GOODPUT[i]} period_s=${R_PERIOD[i]} rtt_ms=${R_RTT[i]} uac_rc=${R_RC[i]}" \
			"n1_sbcd_ticks=${R_SUTTK[i]} n1_sbcd_ms_per_call=${R_SUTMS[i]} n2_sbcd_ticks=${R_SBTK[i]} n2_sbcd_ms_per_call=${R_SBMS[i]}" \
			"cs1_ticks=${R_CS1TK[i]} cs1_ms_per_call=${R_CS1MS[i]} cs2_ticks=${R_CS2TK[i]} cs2_ms_per_call=${R_CS2MS[i]}" \
			"n1_sbcd_pct=${R_SUTPCT[i]} n2_sbcd_pct=${R_SBPCT[i]} cs1_pct=${R_CS1PCT[i]} cs2_pct=${R_CS2PCT[i]}" \
			"gen_pct=${R_GENPCT[i]} core0_pct=${R_CORE0[i]} core1_pct=${R_CORE1[i]} steal_pct=${R_STEAL[i]} foreign_pct=${R_FOREIGN[i]}" \
			"messages_sent=${R_MSGS[i]} bytes_sent=${R_BYTES[i]} lag_load_p50/p99/max/samples=${R_LAGL[i]}" \
			"lag_end_p50/p99/max/samples=${R_LAGE[i]} repl=\"${R_REPL[i]}\" ${R_XTRA[i]} verdict=${R_VERDICT[i]} note=\"${R_NOTE[i]}\""
	done >>"$RAW"
	local l
	for l in "${PROBE_LINES[@]}" "${SYNC_LINES[@]}"; do echo "$l"; done >>"$RAW"
}

final_idx() { # mode rate [round] -> the last try (of that round), warm-ups aside
	local i found=""
	for ((i = 0; i < NSTEP; i++)); do
		[[ ${R_MODE[i]} == "$1" && ${R_RATE[i]} == "$2" && ${R_WARM[i]} == 0 &&
			(-z ${3:-} || ${R_ROUND[i]} == "${3:-}") ]] && found=$i
	done
	echo "$found"
}

lagfmt() { # p50/p99/max/samples (µs) -> "p50/p99/max ms (n)"
	[[ $1 == - || -z $1 ]] && { echo -; return; }
	awk -v s="$1" 'BEGIN { split(s, v, "/"); printf "%.2f/%.2f/%.1f ms (%d)", v[1] / 1000, v[2] / 1000, v[3] / 1000, v[4] }'
}

median() { # numbers -> their median, 2 decimals
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m }'
}

report() {
	local r i k ia ib out=$BW/report.txt
	{
		echo
		echo "== the pair's cost: full call INVITE..BYE, ${HOLD_MS} ms hold, ${STEP_SECONDS} s steps, alternating;"
		echo "   n1's sbcd on core $SUT_CPU, sipp on core $GEN_CPU, n2's sbcd on core $STANDBY_CPU, corosync n1/n2 on cores $CS1_CPU/$CS2_CPU"
		echo "   alone = sbcd on n1 standalone; pair = sbcd on n1 active, n2's its synced standby"
		echo "   pass = 0 failed calls, retransmissions < 1%, goodput >= 90% of offered (and the standby synced, in seq)"
		echo
		printf '%-5s %5s %7s %6s %5s %5s | %7s %7s %7s %7s | %5s %5s %5s | %5s %6s | %-27s | %5s %5s  %s\n' \
			mode offer goodput calls fail retr% n1sbcd n2sbcd cs_n1 cs_n2 n1%% core1 core0 msg/c B/call \
			"lag p50/p99/max (load)" steal frgn verdict
		printf '%-5s %5s %7s %6s %5s %5s | %31s | %17s | %12s |\n' "" "" "" "" "" "" "ms CPU per call" "% of a core" "replication"
		for r in $RATES; do
			for ((k = 1; k <= ROUNDS; k++)); do
			for mode in $MODES; do
				i=$(final_idx "$mode" "$r" "$k")
				[[ -n $i ]] || continue
				printf '%-5s %5d %7s %6d %5d %5s | %7s %7s %7s %7s | %5s %5s %5s | %5s %6s | %-27s | %5s %5s  %s%s%s\n' \
					"$mode" "$r" "$(fmt "${R_GOODPUT[i]}" %.1f)" "${R_OK[i]}" "${R_FAILED[i]}" \
					"$(fmt "${R_RETRPCT[i]}" %.2f)" "$(fmt "${R_SUTMS[i]}" %.4f)" "$(fmt "${R_SBMS[i]}" %.4f)" \
					"$(fmt "${R_CS1MS[i]}" %.4f)" "$(fmt "${R_CS2MS[i]}" %.4f)" "$(fmt "${R_SUTPCT[i]}" %.0f)" \
					"$(fmt "${R_CORE1[i]}" %.0f)" "$(fmt "${R_CORE0[i]}" %.0f)" \
					"$(calcf %.1f "${R_OK[i]} > 0 ? ${R_MSGS[i]} / ${R_OK[i]} : 0")" \
					"$(calcf %.0f "${R_OK[i]} > 0 ? ${R_BYTES[i]} / ${R_OK[i]} : 0")" \
					"$(lagfmt "${R_LAGL[i]}")" "$(fmt "${R_STEAL[i]}" %.1f)" "$(fmt "${R_FOREIGN[i]}" %.0f)" \
					"${R_VERDICT[i]}" "$( ((ROUNDS > 1)) && echo " (round $k)")$( ((R_TRY[i] > 1)) && echo " (try ${R_TRY[i]})")" \
					"$([[ -n ${R_NOTE[i]} ]] && echo " [${R_NOTE[i]}]")"
			done
			done
		done
		echo
		echo "   n1sbcd = CPU (utime+stime, all threads) of n1's sbcd of that mode from the start of the step to the start"
		echo "   of its next step / completed calls; n2sbcd, cs_n1, cs_n2 = n2's sbcd and corosync on n1 and n2, from the"
		echo "   start of the step to the start of the next (either mode); in the alone steps they idle. n1% = n1's sbcd"
		echo "   during the load, % of one core; core1/core0 = all our processes on that core (core $GEN_CPU: sipp too);"
		echo "   msg/c, B/call = replication messages and bytes n1 sent per call; lag = n2's local-apply-to-apply lag over"
		echo "   its last 4096 messages, read 1 s before the last INVITE; steal = % of all CPU; frgn = CPU of tasks"
		echo "   this script did not start, % of a core."
		echo
		echo "== ratios pair/alone of CPU per call (the same run, the same rate, the same round)"
		local sa sb cb tb rs rn rt
		for r in $RATES; do
			rs="" rn="" rt=""
			for ((k = 1; k <= ROUNDS; k++)); do
				ia=$(final_idx alone "$r" "$k")
				ib=$(final_idx pair "$r" "$k")
				[[ -n $ia && -n $ib ]] || continue
				sa=${R_SUTMS[ia]} sb=${R_SUTMS[ib]}
				if [[ $sa == - || $sb == - || ${R_VERDICT[ia]} != pass || ${R_VERDICT[ib]} != pass ]]; then
					echo "$r calls/s round $k: no ratio ($(verdicts "$ia" "$ib")): a failing step's CPU per call is not comparable;" \
						"calls completed: alone ${R_OK[ia]}, pair ${R_OK[ib]} of $((r * STEP_SECONDS))"
					continue
				fi
				cb=$(calc "$sb + ${R_CS1MS[ib]}")
				tb=$(calc "$cb + ${R_SBMS[ib]} + ${R_CS2MS[ib]}")
				rs+=" $(calc "$sb / $sa")" rn+=" $(calc "$cb / $sa")" rt+=" $(calc "$tb / $sa")"
				echo "$r calls/s round $k ($(verdicts "$ia" "$ib")):"
				echo "    n1's sbcd:                 $(fmt "$sb" %.4f)/$(fmt "$sa" %.4f) ms = $(calcf %.2f "$sb / $sa")"
				echo "    n1, sbcd + corosync:       $(fmt "$cb" %.4f)/$(fmt "$sa" %.4f) ms = $(calcf %.2f "$cb / $sa")"
				echo "    both nodes, sbcd + corosync: $(fmt "$tb" %.4f)/$(fmt "$sa" %.4f) ms = $(calcf %.2f "$tb / $sa")"
				echo "    lag p50/p99/max under load: $(lagfmt "${R_LAGL[ib]}"); at the step's end: $(lagfmt "${R_LAGE[ib]}")"
				echo "    sent: ${R_MSGS[ib]} messages, ${R_BYTES[ib]} bytes ($(calcf %.2f "${R_MSGS[ib]} / (${R_OK[ib]} > 0 ? ${R_OK[ib]} : 1)") messages, $(calcf %.0f "${R_BYTES[ib]} / (${R_OK[ib]} > 0 ? ${R_OK[ib]} : 1)") bytes per call)"
			done
			[[ -n $rs ]] && echo "$r calls/s, median of $(wc -w <<<"$rs") round(s): n1's sbcd $(median $rs)," \
				"n1 sbcd + corosync $(median $rn), both nodes $(median $rt)"
		done
		if ((${#PROBE_LINES[@]})); then
			echo
			echo "== Corosync alone (bench/cpgprobe, n1 -> n2, after the steps) at each pair step's mean message rate and size"
			printf '%6s %8s %7s | %-25s | %6s %6s\n' offer "msgs/s" bytes "lag p50/p99/max" "cs_n1%" "cs_n2%"
			local l
			for l in "${PROBE_LINES[@]}"; do
				awk -v l="$l" 'BEGIN {
					n = split(l, f, " "); for (i = 2; i <= n; i++) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
					printf "%6s %8s %7s | %5.2f/%5.2f/%6.1f ms     | %6s %6s\n", v["rate"], v["msgs_per_s"], v["bytes"],
						v["lag_p50_us"] / 1000, v["lag_p99_us"] / 1000, v["lag_max_us"] / 1000, v["cs1_pct"], v["cs2_pct"] }'
			done
		fi
		if ((${#SYNC_LINES[@]})); then
			echo
			echo "== sync: sbcd on n2 restarted while n1 holds $SYNC_CALLS calls (wall = from its start to 'synced yes')"
			local l
			for l in "${SYNC_LINES[@]}"; do echo "   ${l#sync }"; done
		fi
		echo
		echo "raw results: $RAW"
	} | tee "$out"
	cat "$out" >>"$RAW"
	REPORTED=1
}

verdicts() { # ia ib -> "alone pass, pair pass" + noise
	local s="alone ${R_VERDICT[$1]}, pair ${R_VERDICT[$2]}"
	[[ ${R_NOTE[$1]} == *noisy* || ${R_NOTE[$2]} == *noisy* ]] && s+=", noisy"
	echo "$s"
}

# ---- main ----------------------------------------------------------------------
turn=0
if ((WARMUP_SECONDS > 0)); then
	for mode in $MODES; do
		run_step "$mode" "$MIN_RATE" 0 1 1
		(($? == 2)) && fail "an sbcd died in the warm-up"
		sleep "$GAP_SECONDS"
	done
fi
for rate in $RATES; do
	for ((round = 1; round <= ROUNDS; round++)); do
		order=$MODES
		# alternate which mode goes first
		# shellcheck disable=SC2086 # a word list
		((turn % 2)) && order=$(printf '%s\n' $MODES | tac | tr '\n' ' ')
		turn=$((turn + 1))
		# both modes again when one of them ran under noise: the ratio is
		# only as good as the worse of its two steps
		for ((try = 1; try <= NOISE_RETRIES + 1; try++)); do
			wait_quiet
			noisy=0
			for mode in $order; do
				run_step "$mode" "$rate" "$round" "$try" 0
				rc=$?
				((rc == 2)) && { note "an sbcd died: $(tail -n 3 "$LAB_W"/n?/*.log | tr '\n' '|')"; break 4; }
				[[ ${R_NOTE[STEP_IDX]} == *noisy* ]] && noisy=1
				sleep "$GAP_SECONDS"
			done
			((noisy && try <= NOISE_RETRIES)) || break
			note "$rate calls/s round $round: a step ran under foreign load or steal; both modes again"
		done
	done
done
sleep "$SETTLE_SECONDS"
read_ticks
close_pending alone "${TK[alone]}"
close_pending pair "${TK[active]}"
close_shared
for f in "$LAB_W"/n1/alone.log "$LAB_W"/n1/sbcd.log "$LAB_W"/n2/sbcd.log; do
	n=$(grep -c -E 'sbcd\[[0-9]+\]: (warn|error): ' "$f" 2>/dev/null)
	if ((${n:-0} > 0)); then
		note "${f#"$LAB_W"/}: $n warning/error lines; the most frequent:"
		grep -E 'sbcd\[[0-9]+\]: (warn|error): ' "$f" | sed -E 's/^[0-9T:.-]+Z sbcd\[[0-9]+\]: //' |
			cut -c1-150 | sort | uniq -c | sort -rn | head -3 | tee -a "$RAW"
	fi
done

if ((PROBE)); then
	for rate in $RATES; do probe_step "$rate"; done
fi
((SYNC_CALLS > 0)) && sync_phase
write_step_records
report
lab_stop "$ALONE" 10
lab_stop "$STANDBY" 10
lab_stop "$ACTIVE" 10
exit 0
