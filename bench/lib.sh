# bench/lib.sh: what bench/cps.sh and bench/media.sh share: strict shell
# settings, --help from the script's header comment, and the helpers that
# stop only processes the script started (by PID and start time).
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
