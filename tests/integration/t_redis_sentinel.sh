#!/bin/bash
# Redis Sentinel (issue 14): a master ($R) and a replica ($R2, --replicaof)
# watched by three redis-sentinel processes (quorum 2, 1 s
# down-after-milliseconds); sbcd a and b know only the sentinels
# (redis_sentinels, redis_master_name; redis empty).  Both find the
# master through the sentinels and share a ban through it; the master is
# killed (SIGKILL); the sentinels promote the replica and both sbcd follow
# it (`sbcctl role` redis_master, a log line), and a ban made on a after
# the switch reaches b within 1 s through the new master.  Then the old
# master comes back (the sentinels make it a replica) and a planned
# failover (SENTINEL FAILOVER) moves the master back: sbcd hears it on
# +switch-master ("redis: master is now"), and a ban still crosses.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/redis_lib.sh"
command -v redis-sentinel >/dev/null || fail "redis-sentinel not installed (package redis-sentinel)"

X1=127.0.$T_N.20        # banned before the failover
X2=127.0.$T_N.21        # banned after it
SPORT=26390
SENT="127.0.$T_N.11 127.0.$T_N.12 127.0.$T_N.13"
PEERS="[peer test]
addr = 127.0.$T_N.0/24"

# --- master, replica, three sentinels -------------------------------------
redis_start master "$R" "$RPORT"
redis_start replica "$R2" "$RPORT" --replicaof "$R" "$RPORT" --replica-announce-ip "$R2"
linked() { rcli -h "$R2" -p "$RPORT" INFO replication | grep -q '^master_link_status:up'; }
wait_for 100 linked || fail "the replica is not linked to the master"
i=0
for s in $SENT; do
	i=$((i + 1))
	mkdir -p "$W/s$i"
	# sentinel rewrites its file: one of its own, in the work dir
	cat > "$W/s$i/sentinel.conf" <<EOC
bind $s
port $SPORT
protected-mode no
daemonize no
dir $W/s$i
logfile $W/s$i/sentinel.log
sentinel announce-ip $s
sentinel monitor mymaster $R $RPORT 2
sentinel down-after-milliseconds mymaster 1000
sentinel failover-timeout mymaster 5000
sentinel parallel-syncs mymaster 1
EOC
	redis-sentinel "$W/s$i/sentinel.conf" </dev/null >"$W/s$i/sentinel.out" 2>&1 &
	T_PIDS="$T_PIDS $!"
done
# every sentinel knows the replica and the two other sentinels
sentinels_ready() {
	local s m
	for s in $SENT; do
		m=$(rcli -h "$s" -p "$SPORT" SENTINEL master mymaster 2>/dev/null | paste -d= - -)
		echo "$m" | grep -q '^num-slaves=1$' || return 1
		echo "$m" | grep -q '^num-other-sentinels=2$' || return 1
	done
}
wait_for 300 sentinels_ready || fail "the sentinels did not find each other and the replica within 30 s"
ok "master $R:$RPORT, replica $R2:$RPORT, 3 sentinels (quorum 2) ready"

SLIST=$(for s in $SENT; do printf '%s:%s,' "$s" "$SPORT"; done)
SLIST=${SLIST%,}
for n in a b; do
	node_conf "$n" "redis =" "redis_sentinels = $SLIST" "redis_master_name = mymaster" \
		"flood_requests = 20" "flood_window = 10" "flood_ban = 300"
	node_start "$n"
done
master_is() { # NODE IP:PORT: sbcctl role names it as the master, Redis up
	nctl "$1" role > "$W/role.$1.txt" &&
		grep -q "^redis_master $2\$" "$W/role.$1.txt" && grep -q "^redis up $2\$" "$W/role.$1.txt"
}
for n in a b; do
	wait_for 50 master_is "$n" "$R:$RPORT" || fail "$n: role does not name the master $R:$RPORT: $(tr '\n' '|' < "$W/role.$n.txt")"
done
ok "a and b found the master $R:$RPORT through the sentinels"

# ban_reaches_b SRC: a bans SRC (flood); b lists it within 1 s
ban_reaches_b() {
	local x=$1 tb="" ta lat
	flood "$x" "$A" 30
	for _ in $(seq 1 250); do
		banned b "$x" && { tb=$(now_ms); break; }
		sleep 0.02
	done
	wait_for 30 grep -q "flood: $x sent over 20 requests" "$W/a/sbcd.log" || fail "a did not ban $x"
	ta=$(log_ms "$W/a/sbcd.log" "flood: $x sent over")
	[ -n "$tb" ] || fail "the ban of $x on a did not reach b within 5 s"
	lat=$((tb - ta))
	[ "$lat" -lt 1000 ] || fail "the ban of $x reached b after $lat ms (>= 1 s)"
	LAT=$lat
}
ban_reaches_b "$X1"
ok "before the failover: a's ban of $X1 on b after $LAT ms"
replicated() { [ -n "$(rcli -h "$R2" -p "$RPORT" HGET sbc:ban "$X1")" ]; }
wait_for 20 replicated || fail "the ban did not reach the replica"

# --- the master dies --------------------------------------------------------
redis_signal master KILL
t_kill=$(now_ms)
t_sent="" t_a="" t_b=""
for _ in $(seq 1 600); do
	[ -z "$t_sent" ] && rcli -h "${SENT%% *}" -p "$SPORT" SENTINEL get-master-addr-by-name mymaster \
		2>/dev/null | tr '\n' ' ' | grep -q "^$R2 $RPORT " && t_sent=$(now_ms)
	[ -z "$t_a" ] && master_is a "$R2:$RPORT" && t_a=$(now_ms)
	[ -z "$t_b" ] && master_is b "$R2:$RPORT" && t_b=$(now_ms)
	[ -n "$t_sent" ] && [ -n "$t_a" ] && [ -n "$t_b" ] && break
	sleep 0.05
done
[ -n "$t_sent" ] || fail "the sentinels did not promote the replica within 30 s"
[ -n "$t_a" ] || fail "a does not follow the new master: $(tr '\n' '|' < "$W/role.a.txt")"
[ -n "$t_b" ] || fail "b does not follow the new master: $(tr '\n' '|' < "$W/role.b.txt")"
t_log "master killed; sentinels named $R2:$RPORT after $((t_sent - t_kill)) ms; a followed after $((t_a - t_kill)) ms, b after $((t_b - t_kill)) ms"
# the link to the dead master broke before the sentinels switched: sbcd
# asks them again while it retries, and logs what they answer
for n in a b; do
	grep -qE "redis: master (is now|'mymaster' is) $R2:$RPORT" "$W/$n/sbcd.log" \
		|| fail "$n: no 'redis: master ... $R2:$RPORT' log line"
	node_alive "$n"
done
t_log "a: $(grep -m1 -E "redis: master (is now|'mymaster' is) $R2:$RPORT" "$W/a/sbcd.log" | cut -d' ' -f3-)"
ok "a and b follow the new master $R2:$RPORT (role, log line)"

# --- a ban after the switch goes through the new master -----------------------
ban_reaches_b "$X2"
v=$(rcli -h "$R2" -p "$RPORT" HGET sbc:ban "$X2")
case $v in "3 ban "*" $X2 flood") ;; *) fail "the new master's sbc:ban $X2 = '$v'" ;; esac
banned a "$X1" && banned b "$X1" || fail "the ban from before the failover is gone"
ok "after the failover: a's ban of $X2 on b after $LAT ms, in the new master"

# --- a planned failover back: sbcd learns it from +switch-master ----------
# the old master comes back empty; the sentinels make it a replica of $R2
redis_start master "$R" "$RPORT"
relinked() { rcli INFO replication | grep -q '^master_link_status:up'; }
wait_for 300 relinked || fail "the sentinels did not make the old master a replica within 30 s"
t_sw=""
for _ in $(seq 1 60); do
	r=$(rcli -h "${SENT%% *}" -p "$SPORT" SENTINEL FAILOVER mymaster 2>&1)
	[ "$r" = OK ] && { t_sw=$(now_ms); break; }
	sleep 0.5   # NOGOODSLAVE until the sentinels have seen the replica's INFO
done
[ -n "$t_sw" ] || fail "SENTINEL FAILOVER: '$r'"
t_a="" t_b=""
for _ in $(seq 1 300); do
	[ -z "$t_a" ] && master_is a "$R:$RPORT" && t_a=$(now_ms)
	[ -z "$t_b" ] && master_is b "$R:$RPORT" && t_b=$(now_ms)
	[ -n "$t_a" ] && [ -n "$t_b" ] && break
	sleep 0.05
done
[ -n "$t_a" ] && [ -n "$t_b" ] || fail "a or b did not follow the planned failover to $R:$RPORT: a '$(tr '\n' '|' < "$W/role.a.txt")' b '$(tr '\n' '|' < "$W/role.b.txt")'"
t_log "SENTINEL FAILOVER: a followed after $((t_a - t_sw)) ms, b after $((t_b - t_sw)) ms"
for n in a b; do
	grep -q "redis: master is now $R:$RPORT" "$W/$n/sbcd.log" \
		|| fail "$n: no 'redis: master is now $R:$RPORT' (+switch-master) line: $(grep 'redis: master' "$W/$n/sbcd.log" | tail -2 | cut -d' ' -f3- | tr '\n' '|')"
done
X3=127.0.$T_N.22
ban_reaches_b "$X3"
[ -n "$(rcli HGET sbc:ban "$X3")" ] || fail "the ban of $X3 is not in the master $R"
banned b "$X1" && banned b "$X2" || fail "b lost a ban across the failovers"
ok "planned failover back to $R:$RPORT: +switch-master followed, a's ban of $X3 on b after $LAT ms"
for n in a b; do
	node_stop "$n"
done
