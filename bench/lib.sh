# bench/lib.sh: what the benchmarks (bench/cps.sh, bench/media.sh,
# bench/pair.sh) share: strict shell settings, --help from the script's
# header comment, the helpers that stop only processes the script started
# (by PID and start time), the CPU accounting from /proc (a process tree's
# ticks, foreign load, steal) and the readers of sipp's statistics files.
# Sourced first thing by each script.

set -u -o pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
SCRIPT=${0##*/}

case "${1:-}" in
-h | --help)
	sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"
	exit 0
	;;
"") ;;
*)
	echo "$SCRIPT: no arguments are taken, only environment variables (see --help)" >&2
	exit 2
	;;
esac

die() {
	echo "$SCRIPT: $*" >&2
	exit 1
}
note() { printf '%s\n' "$*" | tee -a "${RAW:-/dev/null}"; }
isuint() { [[ $1 =~ ^[0-9]+$ ]]; }
fmt() { awk -v x="$1" -v f="$2" 'BEGIN { if (x == "" || x == "-") print "-"; else printf f, x }'; }
calc() { awk "BEGIN { x = ($*); printf \"%.6f\", x }"; }

# OWN[pid]=starttime (field 22 of /proc/PID/stat), so a recycled PID is never hit.
declare -A OWN=()
OWN_ORDER=()

own() { # register pids as ours
	local pid st s
	for pid in "$@"; do
		{ read -r s <"/proc/$pid/stat"; } 2>/dev/null || continue
		s=${s##*) }
		read -r -a st <<<"$s"
		if [[ -z ${OWN[$pid]:-} ]]; then OWN_ORDER+=("$pid"); fi
		OWN[$pid]=${st[19]}
	done
}

alive() { # pid: still the process we started, and not a zombie
	local pid=$1 s
	local -a a
	[[ -n ${OWN[$pid]:-} ]] || return 1
	{ read -r s <"/proc/$pid/stat"; } 2>/dev/null || return 1
	s=${s##*) }
	read -r -a a <<<"$s"
	[[ ${a[19]} == "${OWN[$pid]}" && ${a[0]} != Z ]]
}

# ---- CPU accounting from /proc (CLK_TCK ticks) -----------------------------
declare -a PP=() CPU=() CCPU=() COMM=()

scan_procs() { # snapshot of every process: parent, cpu ticks, start time
	PP=() CPU=() CCPU=() COMM=()
	local f s pid c
	local -a a
	for f in /proc/[0-9]*/stat; do
		{ read -r s <"$f"; } 2>/dev/null || continue
		pid=${s%% *}
		c=${s#* (}
		COMM[pid]=${c%) *}
		s=${s##*) }
		read -r -a a <<<"$s"
		PP[pid]=${a[1]}
		CPU[pid]=$((a[11] + a[12]))
		CCPU[pid]=$((a[13] + a[14]))
	done
}

# CPU ticks of all tasks (W_ALL) and of this script's process tree (W_OURS: the
# proxies, sipp, the TLS UAS, helpers). utime+stime of a live process plus the
# cutime+cstime it collected from reaped children: the sums survive exits.
# (/proc/stat's per-CPU busy counters are tick-sampled and miss short bursts
# on a tickless idle CPU, so foreign load is computed from the processes.)
work_totals() { # [dump file] (needs scan_procs)
	local p
	W_ALL=0 W_OURS=0
	for p in "${!PP[@]}"; do W_ALL=$((W_ALL + CPU[p] + CCPU[p])); done
	for p in $(tree_of $$); do W_OURS=$((W_OURS + CPU[p] + CCPU[p])); done
	if [[ -n ${1:-} ]]; then
		local -A o=()
		for p in $(tree_of $$); do o[$p]=1; done
		for p in "${!PP[@]}"; do echo "$p ${PP[p]} ${COMM[p]} ${CPU[p]} ${CCPU[p]} ${o[$p]:-0}"; done >"$1"
	fi
}

tree_of() { # pid -> the pid and all its descendants (needs scan_procs)
	local root=$1 changed=1 p
	local -A in=()
	[[ -n ${PP[root]:-} ]] || return 0
	in[$root]=1
	while ((changed)); do
		changed=0
		for p in "${!PP[@]}"; do
			if [[ -z ${in[$p]:-} && -n ${in[${PP[p]}]:-} ]]; then
				in[$p]=1
				changed=1
			fi
		done
	done
	echo "${!in[@]}"
}

tree_cpu() { # pid -> cpu ticks of the whole tree (+ reaped children of the root)
	local root=$1 p sum=0
	[[ -n ${PP[root]:-} ]] || {
		echo 0
		return
	}
	for p in $(tree_of "$root"); do sum=$((sum + CPU[p])); done
	echo $((sum + CCPU[root]))
}

# ---- /proc/stat: steal ticks of all CPUs (from the hypervisor's steal clock) --
read_steal() { awk '$1 == "cpu" { print $9; exit }' /proc/stat; }

calcf() { awk "BEGIN { x = ($2); printf \"$1\", x }"; } # format expression

# ---- sipp's statistics files (time_cpu needs CLK_TCK) -----------------------
# last line of a -trace_stat file -> "created ok failed retrans rtt_ms incoming"
stat_summary() {
	[[ -s $1 ]] || {
		echo "0 0 0 0 - 0"
		return
	}
	awk -F';' '
	function ms(t,  a) { split(t, a, ":"); return a[1] * 3600000 + a[2] * 60000 + a[3] * 1000 + a[4] / 1000 }
	NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
	{ last = $0 }
	END {
		n = split(last, v, ";")
		if (n < 10) { print "0 0 0 0 - 0"; exit }
		printf "%d %d %d %d %.2f %d\n", v[c["OutgoingCall(C)"]], v[c["SuccessfulCall(C)"]],
			v[c["FailedCall(C)"]], v[c["Retransmissions(C)"]], ms(v[c["ResponseTime1(C)"]]),
			v[c["IncomingCall(C)"]]
	}' "$1"
}

# a -trace_counts file -> "sent retrans period_s"
# sent/retrans: messages this sipp sent and how many of those were retransmissions;
# period_s: seconds from the start until the last INVITE was first sent (UAC only)
counts_summary() {
	local f=$1
	[[ -n $f && -s $f ]] || {
		echo "0 0 0"
		return
	}
	awk -F';' '
	NR == 1 {
		for (i = 1; i <= NF; i++) {
			if ($i ~ /_Sent$/) { k = $i; sub(/_Sent$/, "", k); sent[k] = i }
			if ($i == "0_INVITE_Sent") inv = i
		}
		for (i = 1; i <= NF; i++) if ($i ~ /_Retrans$/) { k = $i; sub(/_Retrans$/, "", k); if (k in sent) rc[i] = 1 }
		next
	}
	NF > 2 {
		split($1, t, "\t"); n++; T[n] = t[3] + 0; S[n] = inv ? $inv + 0 : 0; last = $0
	}
	END {
		if (n == 0) { print "0 0 0"; exit }
		split(last, v, ";"); m = 0; r = 0
		for (k in sent) m += v[sent[k]]
		for (i in rc) r += v[i]
		dur = 0
		if (inv && S[n] > 0) {
			for (j = 1; j <= n && S[j] < S[n]; j++) ;
			if (j > 1 && S[j] > S[j - 1])
				dur = T[j - 1] + (S[n] - S[j - 1]) / (S[j] - S[j - 1]) * (T[j] - T[j - 1]) - T[1]
			else
				dur = T[j] - T[1]
		}
		printf "%d %d %.3f\n", m, r, dur
	}' "$f"
}

first_file() { # glob results -> the first that exists, or nothing
	local f
	for f in "$@"; do [[ -e $f ]] && echo "$f" && return; done
}

time_cpu() { # GNU time output file -> cpu ticks (user+sys), or "-"
	[[ -s $1 ]] || {
		echo -
		return
	}
	awk -v hz="$CLK_TCK" 'NF == 3 && $1 ~ /^[0-9.]+$/ { x = ($2 + $3) * hz } END { if (x == "") print "-"; else printf "%d", x + 0.5 }' "$1"
}
