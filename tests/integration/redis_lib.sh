# redis_lib.sh: what the Redis tests (t_redis*.sh) share, sourced after
# lib.sh.  Two sbcd instances ("pairs", standalone here) on one Redis,
# each with its own addresses on the test's network 127.0.N.x:
#   node a: access $A (127.0.N.1), core $C (.2)   (lib.sh's)
#   node b: access $BA (127.0.N.5), core $BC (.6)
#   Redis servers and sentinels on $R (127.0.N.7) and $R2 (127.0.N.8)
# Each node lives in $W/NODE/ (sbcd.conf, sbcd.log, sbcd.sock,
# security.log).  Every redis-server and redis-sentinel is started here
# on the test's own address and port, with its own directory under $W,
# remembered by PID and stopped by PID (never the system's service).

BA=127.0.$T_N.5
BC=127.0.$T_N.6
R=127.0.$T_N.7
R2=127.0.$T_N.8
RPORT=6390
SBCCTL=${SBCCTL:?SBCCTL must point to sbcctl}
command -v redis-server >/dev/null || fail "redis-server not installed (package redis-server)"
command -v redis-cli >/dev/null || fail "redis-cli not installed (package redis-tools)"

# fail with every node's and every Redis' log tail
fail() {
	T_FAILED=1
	t_log "FAIL: $*"
	local f
	for f in "$W"/*/sbcd.log "$W"/*/redis.log "$W"/*/sentinel.log; do
		[ -f "$f" ] || continue
		echo "---- ${f#"$W"/} (tail) ----"
		tail -12 "$f"
	done
	exit 1
}

# forget a PID we reaped (so the cleanup never signals a recycled one)
pid_forget() {
	local p l=""
	for p in $T_PIDS; do
		[ "$p" = "$1" ] || l="$l $p"
	done
	T_PIDS=$l
}

now_ms() { date +%s%3N; }
# The time (epoch ms) of the first line of FILE matching the ERE PATTERN
# (sbcd's log: "2026-01-02T03:04:05.678Z sbcd[PID]: ..."), empty if none.
log_ms() {
	local ts
	ts=$(grep -m1 -E "$2" "$1" 2>/dev/null | cut -d' ' -f1)
	[ -n "$ts" ] && date -d "$ts" +%s%3N
}

# ---- Redis --------------------------------------------------------------
# redis_start NAME IP PORT [redis-server options...]: a redis-server in
# $W/NAME (no persistence unless the options say so), up (PING) before
# this returns; its PID in RPID_NAME.
redis_start() {
	local name=$1 ip=$2 port=$3 pid
	shift 3
	mkdir -p "$W/$name"
	redis-server --bind "$ip" --port "$port" --dir "$W/$name" --save '' \
		--appendonly no --daemonize no --protected-mode no \
		--logfile "$W/$name/redis.log" "$@" </dev/null >>"$W/$name/redis.out" 2>&1 &
	pid=$!
	T_PIDS="$T_PIDS $pid"
	eval "RPID_$name=$pid"
	redis_up() {
		kill -0 "$pid" 2>/dev/null || return 2
		redis-cli -h "$ip" -p "$port" ping 2>&1 | grep -qE 'PONG|NOAUTH'
	}
	wait_for 100 redis_up || fail "redis $name ($ip:$port) did not start: $(tail -3 "$W/$name/redis.log")"
}

# redis_signal NAME SIGNAL: SIGKILL (or TERM) it by PID and reap it
redis_signal() {
	local pid
	eval "pid=\${RPID_$1:-}"
	[ -n "$pid" ] || return 0
	kill -"$2" "$pid" 2>/dev/null
	wait_pid "$pid" 10 >/dev/null 2>&1
	pid_forget "$pid"
	eval "RPID_$1="
}

# rcli [-h IP -p PORT] ARGS...: redis-cli against the test's Redis ($R:$RPORT)
rcli() {
	if [ "${1:-}" = -h ]; then
		redis-cli --no-auth-warning "$@"
	else
		redis-cli --no-auth-warning -h "$R" -p "$RPORT" "$@"
	fi
}

# ---- sbcd nodes -----------------------------------------------------------
node_access() { case $1 in a) echo "$A" ;; b) echo "$BA" ;; esac; }
node_core() { case $1 in a) echo "$C" ;; b) echo "$BC" ;; esac; }

# node_conf NODE [key = value]...: the node's base config, on Redis $R:$RPORT
node_conf() {
	local n=$1 kv
	shift
	mkdir -p "$W/$n"
	cat > "$W/$n/sbc.conf" <<EOC
log_level = debug
access_addr = $(node_access "$n")
access_tls_port = 0
core_addr = $(node_core "$n")
core_tls_port = 0
core_tls_cert =
core_tls_key =
upstream = sip:$U:5080;transport=udp
control_socket = $W/$n/sbcd.sock
security_log = $W/$n/security.log
redis = $R:$RPORT
EOC
	for kv in "$@"; do
		node_set "$n" "$kv"
	done
}

# node_set NODE "key = value": replace (or add) one option
node_set() {
	local k=${2%%=*}
	k=${k% }
	sed -i "/^$k *=/d" "$W/$1/sbc.conf"
	echo "$2" >> "$W/$1/sbc.conf"
}

# the file the node reads: its options, then $PEERS
node_write_conf() {
	{ cat "$W/$1/sbc.conf"; printf '%s\n' "$PEERS"; } > "$W/$1/sbcd.conf"
}

declare -A NODE_PID=() NODE_RUNS=()
# node_start NODE: started, ready (its load from Redis done) within 15 s
node_start() {
	local n=$1 pid runs=${NODE_RUNS[$1]:-0}
	[ -s "$W/$n/sbcd.log" ] && mv "$W/$n/sbcd.log" "$W/$n/sbcd.$runs.log"
	NODE_RUNS[$n]=$((runs + 1))
	: > "$W/$n/sbcd.log"
	node_write_conf "$n"
	"$SBCD" -f "$W/$n/sbcd.conf" 2>>"$W/$n/sbcd.log" &
	pid=$!
	NODE_PID[$n]=$pid
	T_PIDS="$T_PIDS $pid"
	for _ in $(seq 1 300); do
		grep -q ' ready$' "$W/$n/sbcd.log" && return 0
		kill -0 "$pid" 2>/dev/null || fail "sbcd $n exited at start-up"
		sleep 0.05
	done
	fail "sbcd $n not ready within 15 s"
}

# node_stop NODE: SIGTERM by PID, a clean exit, no sanitizer report
node_stop() {
	local n=$1 pid=${NODE_PID[$1]:-} rc=0
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	wait_pid "$pid" 20 || rc=$?
	[ "$rc" = 124 ] && fail "sbcd $n did not stop within 20 s"
	pid_forget "$pid"
	NODE_PID[$n]=""
	if grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$W/$n/sbcd.log"; then
		fail "sanitizer report in $n/sbcd.log"
	fi
	[ "$rc" = 0 ] || fail "sbcd $n exited with $rc"
}

node_alive() {
	kill -0 "${NODE_PID[$1]:-0}" 2>/dev/null || fail "sbcd $1 died: $(tail -3 "$W/$1/sbcd.log")"
}

nctl() {
	local n=$1
	shift
	"$SBCCTL" -s "$W/$n/sbcd.sock" "$@"
}

# stat_of NODE NAME: a value of `sbcctl stats` (empty if not listed)
stat_of() { nctl "$1" stats | awk -v k="$2" '$1 == k {print $2; exit}'; }
# ctr_of NODE KEY: the value of a counter (0 if none)
ctr_of() { nctl "$1" counters | awk -v k="$2" '$1 == k {v = $2} END {print v + 0}'; }
# banned NODE ADDR: listed by `sbcctl bans`
banned() { nctl "$1" bans | grep -q "^$2 remaining="; }
not_banned() { nctl "$1" bans > "$W/bans.$1.txt" && ! grep -q "^$2 remaining=" "$W/bans.$1.txt"; }
# has_rule NODE NAME: listed by `sbcctl blacklist list`
has_rule() { nctl "$1" blacklist list | grep -q "^$2 "; }
no_rule() { nctl "$1" blacklist list > "$W/bl.$1.txt" && ! grep -q "^$2 " "$W/bl.$1.txt"; }

# flood SRC DST COUNT: COUNT OPTIONS from SRC:5076 to DST:5060, at once
flood() {
	python3 - "$@" <<'PY'
import socket, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 5076))
for i in range(n):
    s.sendto(("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5076;branch=z9hG4bKfl%d\r\n"
              "From: <sip:f@%s>;tag=1\r\nTo: <sip:%s>\r\nCall-ID: fl%d@%s\r\n"
              "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
              % (dst, src, i, src, dst, i, src)).encode(), (dst, 5060))
PY
}

# options_reply SRC_IP SRC_PORT DST [TIMEOUT]: the answer line to an
# OPTIONS to sbcd itself (TIMEOUT if none)
options_reply() {
	printf 'OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%s;branch=z9hG4bK%s\r\nFrom: <sip:f@%s>;tag=1\r\nTo: <sip:%s>\r\nCall-ID: o%s@%s\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n' \
		"$3" "$1" "$2" "$RANDOM$RANDOM" "$1" "$3" "$RANDOM$RANDOM" "$1" > "$W/opt.txt"
	raw_udp "$1:$2" "$3" 5060 "$W/opt.txt" "${4:-2}"
}

# invite_reply SRC_IP SRC_PORT DST NUMBER [TIMEOUT]: the first answer
# (not 100) to a fresh INVITE to NUMBER via sbcd at DST; extra header
# lines on stdin
invite_reply() {
	mkinvite "$W/inv.txt" "$4"
	sed -i -e "s/@$A\([:>]\)/@$3\1/g" -e "s/sip:caller@$P/sip:caller@$1/" \
		-e "s/UDP $P:5071/UDP $1:$2/" "$W/inv.txt"
	raw_udp "$1:$2" "$3" 5060 "$W/inv.txt" "${5:-2}"
}
