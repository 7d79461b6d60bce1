#!/bin/bash
# t_agent: the OCF resource agent ra/sbcd, run by hand and by ocf-tester
# inside the lab's nodes (Corosync running, no Pacemaker):
#   1. meta-data valid against resource-agents' DTD, shellcheck clean;
#      bad input: a broken configuration (6, file:line in the exit
#      reason), cluster = none (6), an unknown parameter (6), a missing
#      binary or configuration file (5; a probe then says 7), a bad
#      parameter value (6), an unknown action (3);
#   2. ocf-tester passes on n1 (start, probes, promote, demote, stop...);
#   3. by hand on n1: start 0, monitor 0 (standby), promote 0, monitor 8,
#      monitor OCF_CHECK_LEVEL=10 (SIP OPTIONS to the node's own core
#      listener) 8, demote 0, monitor 0, promote again;
#   4. n2 starts, joins and is synced; its promote is refused (1, "node
#      1 is active" in the exit reason) while n1 is active;
#   5. promotion scores, with a stand-in crm_attribute (HA_SBIN_DIR)
#      that records its arguments: active 1000, synced standby 100,
#      unsynced -INFINITY, stop deletes; a crm_attribute that hangs and
#      the real one (no Pacemaker here: it fails at once) cost a bounded
#      time and change no return code;
#   6. failures: an OPTIONS probe to a port nobody listens on (9), sbcd
#      stopped (SIGSTOP) so its control socket does not answer (9 on the
#      active, 1 on the standby, within ctl_timeout; a start then fails
#      within its timeout and starts no second sbcd);
#   7. stop 0, monitor 7, stop again 0; a start whose sbcd exits at once
#      (1); n2 started while n1's sbcd is frozen is not synced: score
#      -INFINITY, promote refused (1, "not synced"); synced later: 100;
#      a frozen sbcd is stopped with SIGKILL within the stop's timeout.
# Every agent call is bounded (timeout 60).  Label cluster.  Arg 1: the
# lab index.
. "$(dirname "$0")/lab.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pair.sh"
AGENT=$(cd "$HERE/../.." && pwd)/ra/sbcd
OCF_FUNCS=/usr/lib/ocf/lib/heartbeat/ocf-shellfuncs
[ -r "$OCF_FUNCS" ] || lab_skip "resource-agents not installed (make test-deps)"
for c in ocf-tester xmllint sipp; do
	command -v "$c" >/dev/null || lab_skip "$c not installed (make test-deps)"
done
T_START=$(lab_ms)

# sbcd's configuration for NODE (as lab_sbcd writes it, without starting
# sbcd: the agent does) in LAB_W/NODE/sbcd.conf; OPT=VAL lines appended.
agent_conf() {
	local n=$1 d=$LAB_W/$1
	shift
	{
		cat <<EOC
log_level = debug
access_addr = $LAB_VIP_ACCESS
access_tls_port = 0
core_addr = $LAB_VIP_CORE
core_tls_port = 0
core_tls_cert =
core_tls_key =
upstream = sip:$LAB_CORE_IP:5080;transport=udp
control_socket = $d/sbcd.sock
flow_key_file = $d/flow.key
EOC
		printf '%s\n' "${PAIR_OPTS[@]}" "$@"
		printf '[peer lab]\naddr = 192.0.2.0/24\n'
	} > "$d/sbcd.conf"
}

# ra NODE ACTION [VAR=VAL...]: the agent in NODE with the lab's
# parameters (VAR=VAL add or replace environment); its exit code in RC,
# its output (stdout+stderr) in LAB_W/NODE/ra.out, the time in RA_MS.
ra() {
	local n=$1 act=$2 t0
	shift 2
	t0=$(lab_ms)
	RC=0
	lab_x "$n" timeout -k 1 60 env OCF_ROOT=/usr/lib/ocf \
		OCF_RESOURCE_INSTANCE=sbc \
		OCF_RESKEY_config="$LAB_W/$n/sbcd.conf" \
		OCF_RESKEY_sbcd="$SBCD" OCF_RESKEY_sbcctl="$SBCCTL" \
		OCF_RESKEY_logfile="$LAB_W/$n/sbcd.log" \
		OCF_RESKEY_CRM_meta_timeout=20000 "$@" \
		sh "$AGENT" "$act" >"$LAB_W/$n/ra.out" 2>&1 || RC=$?
	RA_MS=$(($(lab_ms) - t0))
	echo "== $n $act $* -> $RC (${RA_MS} ms)" >>"$LAB_W/ra.log"
	cat "$LAB_W/$n/ra.out" >>"$LAB_W/ra.log"
}

# expect RC WHAT: RC of the last ra call, or fail with its output.
expect() {
	[ "$RC" = "$1" ] || fail "$2: rc $RC, not $1: $(tail -5 "$LAB_W/${RA_NODE:-n1}/ra.out")"
}
reason() { sed -n 's/^ocf-exit-reason://p' "$LAB_W/$1/ra.out" | tail -1; }

lab_up n1 n2
pair_init
agent_conf n1
agent_conf n2
# fail() shows their tails
LAB_LOGS="$LAB_LOGS $LAB_W/n1/sbcd.log $LAB_W/n2/sbcd.log $LAB_W/ra.log"

# ---- 1. meta-data and bad input --------------------------------------------
(cd /usr/share/resource-agents &&
	OCF_ROOT=/usr/lib/ocf sh "$AGENT" meta-data | xmllint --noout --valid -) ||
	fail "meta-data not valid against ra-api-1.dtd"
META=$(OCF_ROOT=/usr/lib/ocf sh "$AGENT" meta-data)
for p in config sbcd sbcctl ctl_socket pidfile logfile options ctl_timeout \
	probe_address probe_port probe_transport probe_timeout sipp; do
	grep -q "<parameter name=\"$p\"" <<<"$META" || fail "meta-data lacks parameter $p"
done
for a in start stop promote demote notify monitor validate-all reload-agent meta-data; do
	grep -q "<action name=\"$a\"" <<<"$META" || fail "meta-data lacks action $a"
done
if command -v shellcheck >/dev/null; then
	shellcheck -s sh "$AGENT" || fail "shellcheck finds fault with the agent"
	ok "meta-data valid (DTD), every parameter and action documented; shellcheck clean"
else
	ok "meta-data valid (DTD), every parameter and action documented (no shellcheck)"
fi

RA_NODE=n1
ra n1 validate-all
expect 0 "validate-all on a good configuration"
cp "$LAB_W/n1/sbcd.conf" "$LAB_W/n1/broken.conf"
sed -i 's/^log_level = debug$/log_level = loud/' "$LAB_W/n1/broken.conf"
line=$(grep -n '^log_level' "$LAB_W/n1/broken.conf" | cut -d: -f1)
ra n1 validate-all OCF_RESKEY_config="$LAB_W/n1/broken.conf"
expect 6 "validate-all on a broken configuration"
reason n1 | grep -qF "$LAB_W/n1/broken.conf:$line:" ||
	fail "the exit reason does not name file:line ($LAB_W/n1/broken.conf:$line): $(reason n1)"
why_broken=$(reason n1)
ra n1 start OCF_RESKEY_config="$LAB_W/n1/broken.conf"
expect 6 "start on a broken configuration"
cp "$LAB_W/n1/sbcd.conf" "$LAB_W/n1/alone.conf"
echo "cluster = none" >>"$LAB_W/n1/alone.conf"
sed -i '0,/^cluster = corosync$/{/^cluster = corosync$/d}' "$LAB_W/n1/alone.conf"
ra n1 validate-all OCF_RESKEY_config="$LAB_W/n1/alone.conf"
expect 6 "validate-all with cluster = none"
ra n1 validate-all OCF_RESKEY_colour=blue
expect 6 "an unknown parameter"
reason n1 | grep -q "unknown parameter 'colour'" || fail "no reason for the unknown parameter: $(reason n1)"
ra n1 validate-all OCF_RESKEY_probe_transport=sctp
expect 6 "probe_transport = sctp"
ra n1 validate-all OCF_RESKEY_ctl_timeout=soon
expect 6 "ctl_timeout = soon"
ra n1 validate-all OCF_RESKEY_sbcd=/nonexistent/sbcd
expect 5 "validate-all with a missing sbcd"
ra n1 start OCF_RESKEY_sbcctl=no-such-sbcctl
expect 5 "start with a missing sbcctl"
ra n1 validate-all OCF_RESKEY_config="$LAB_W/n1/none.conf"
expect 5 "a missing configuration file"
ra n1 monitor OCF_RESKEY_sbcctl=/nonexistent/sbcctl OCF_RESKEY_CRM_meta_interval=0
expect 7 "a probe without the binaries"
ra n1 frobnicate
expect 3 "an unknown action"
ra n1 monitor
expect 7 "monitor before start"
ok "bad input: broken config 6 ($why_broken), cluster = none 6, unknown parameter 6, bad values 6, missing binary or file 5, unknown action 3"

# ---- 2. ocf-tester ---------------------------------------------------------
t0=$(lab_ms)
# ocf-tester runs meta-data as user nobody: a copy where nobody reaches
# it (a checkout in a mktemp -d directory, 0700, is out of its reach)
install -D -m 0755 "$AGENT" "$LAB_W/ra/sbcd" || fail "cannot copy the agent"
chmod 0755 "$LAB_W" "$LAB_W/ra"
lab_x n1 timeout -k 1 240 env OCF_ROOT=/usr/lib/ocf ocf-tester -n sbc \
	-o config="$LAB_W/n1/sbcd.conf" -o sbcd="$SBCD" -o sbcctl="$SBCCTL" \
	-o logfile="$LAB_W/n1/sbcd.log" "$LAB_W/ra/sbcd" >"$LAB_W/ocf-tester.out" 2>&1 ||
	fail "ocf-tester failed: $(tail -15 "$LAB_W/ocf-tester.out")"
grep -q "passed all tests" "$LAB_W/ocf-tester.out" || fail "ocf-tester: $(tail -5 "$LAB_W/ocf-tester.out")"
ok "ocf-tester passed in $(lab_secs "$t0" "$(lab_ms)") s"
ra n1 monitor
expect 7 "monitor after ocf-tester"
# a fresh cluster: nothing held anywhere
rm -f "$LAB_W/n1/sbcd.log"

# ---- 3. by hand on n1 ------------------------------------------------------
lab_addr_add n1 "$LAB_VIP_ACCESS"
lab_addr_add n1 "$LAB_VIP_CORE"
ra n1 start
expect 0 "start on n1"
START_MS=$RA_MS
[ "$(field n1 role)" = standby ] || fail "n1 is not a standby after start: $(ctl n1 role)"
ra n1 monitor
expect 0 "monitor of a started (standby) n1"
ra n1 start
expect 0 "start of a started n1"
ra n1 promote
expect 0 "promote on n1"
PROMOTE_MS=$RA_MS
[ "$(field n1 role)" = active ] || fail "n1 not active after promote: $(ctl n1 role)"
ra n1 monitor
expect 8 "monitor of the promoted n1"
MON_MS=$RA_MS
replies() { ctl n1 stats | awk '$1 == "local_replies" { print $2 }'; }
r0=$(replies)
ra n1 monitor OCF_CHECK_LEVEL=10
expect 8 "monitor OCF_CHECK_LEVEL=10 (OPTIONS probe) of the promoted n1"
PROBE_MS=$RA_MS
r1=$(replies)
[ "$r1" = $((r0 + 1)) ] || fail "sbcd answered $((r1 - r0)) requests itself during the probe, not 1"
ra n1 monitor OCF_CHECK_LEVEL=10 OCF_RESKEY_probe_transport=tcp
expect 8 "monitor OCF_CHECK_LEVEL=10 over TCP"
PROBE_TCP_MS=$RA_MS
[ "$(replies)" = $((r1 + 1)) ] || fail "sbcd did not answer the TCP probe itself"
ra n1 demote
expect 0 "demote on n1"
[ "$(field n1 role)" = standby ] || fail "n1 not a standby after demote: $(ctl n1 role)"
ra n1 monitor
expect 0 "monitor of the demoted n1"
ra n1 monitor OCF_CHECK_LEVEL=10
expect 0 "monitor OCF_CHECK_LEVEL=10 of a standby (no probe: it answers no SIP)"
ra n1 promote
expect 0 "promote on n1 again"
ra n1 promote
expect 0 "promote of a promoted n1"
ok "n1: start 0 (${START_MS} ms), monitor 0, promote 0 (${PROMOTE_MS} ms), monitor 8 (${MON_MS} ms), level 10 8 (UDP ${PROBE_MS} ms, TCP ${PROBE_TCP_MS} ms), demote 0, monitor 0, promote 0"

# ---- 4. n2 joins, is synced, may not be promoted while n1 is active --------
RA_NODE=n2
ra n2 start
expect 0 "start on n2"
wait_for 10 is_synced n2 || fail "n2 not synced 10 s after start: $(ctl n2 role)"
ra n2 monitor
expect 0 "monitor of the standby n2"
ra n2 promote OCF_RESKEY_CRM_meta_timeout=10000
expect 1 "promote on n2 while n1 is active"
reason n2 | grep -q "node 1 is active" || fail "no reason for the refused promotion: $(reason n2)"
REFUSED=$(reason n2)
[ "$(field n2 role)" = standby ] || fail "n2 became $(field n2 role)"
ra n2 monitor
expect 0 "monitor of n2 after the refusal"
ok "n2 started, synced; promote refused: $REFUSED"

# ---- 5. promotion scores ---------------------------------------------------
FAKE=$LAB_W/sbin
mkdir -p "$FAKE"
cat > "$FAKE/crm_attribute" <<EOS
#!/bin/sh
echo "\$*" >> "$LAB_W/\$(hostname).scores"
EOS
cat > "$FAKE/crm_hang" <<'EOS'
#!/bin/sh
exec sleep 30
EOS
chmod 755 "$FAKE/crm_attribute" "$FAKE/crm_hang"
PCMK=(OCF_RESKEY_CRM_meta_promotable=true OCF_RESKEY_CRM_meta_clone_max=2
      OCF_RESKEY_crm_feature_set=3.16.2)
last_score() { tail -1 "$LAB_W/$1.scores" 2>/dev/null; }
# the agent's record of the score it set (so that it sets it again)
forget_score() { lab_x "$1" rm -f /run/resource-agents/sbcd-sbc/score; }
ra n1 monitor "${PCMK[@]}" HA_SBIN_DIR="$FAKE"
RA_NODE=n1 expect 8 "monitor of n1 with a score"
[ "$(last_score n1)" = "--promotion -v 1000" ] || fail "n1's score: $(last_score n1)"
ra n2 monitor "${PCMK[@]}" HA_SBIN_DIR="$FAKE"
expect 0 "monitor of n2 with a score"
[ "$(last_score n2)" = "--promotion -v 100" ] || fail "n2's score: $(last_score n2)"
# the same score again within a minute: no crm_attribute call
: > "$LAB_W/n2.scores"
ra n2 monitor "${PCMK[@]}" HA_SBIN_DIR="$FAKE"
expect 0 "monitor of n2, score unchanged"
[ ! -s "$LAB_W/n2.scores" ] || fail "an unchanged score set again: $(cat "$LAB_W/n2.scores")"
# without the promotable meta attributes (by hand, ocf-tester) no score
: > "$LAB_W/n2.scores"
ra n2 monitor HA_SBIN_DIR="$FAKE"
[ ! -s "$LAB_W/n2.scores" ] || fail "a score set outside a promotable clone: $(cat "$LAB_W/n2.scores")"
# a crm_attribute that hangs costs ctl_timeout, no more, and no error
mv "$FAKE/crm_attribute" "$FAKE/crm_record"
cp "$FAKE/crm_hang" "$FAKE/crm_attribute"
forget_score n2
ra n2 monitor "${PCMK[@]}" HA_SBIN_DIR="$FAKE" OCF_RESKEY_ctl_timeout=2
expect 0 "monitor of n2 with a hanging crm_attribute"
[ "$RA_MS" -lt 8000 ] || fail "a hanging crm_attribute held the monitor $RA_MS ms"
HANG_MS=$RA_MS
# the real crm_attribute, no Pacemaker in the lab: it fails, nothing else
forget_score n2
ra n2 monitor "${PCMK[@]}"
expect 0 "monitor of n2 with the real crm_attribute and no Pacemaker"
REAL_MS=$RA_MS
mv "$FAKE/crm_record" "$FAKE/crm_attribute"
ok "scores: active 1000, synced standby 100, not set again unchanged, none outside a clone; a hanging crm_attribute: monitor $HANG_MS ms (ctl_timeout 2 s); no Pacemaker: $REAL_MS ms"

# ---- 6. failures -----------------------------------------------------------
RA_NODE=n1
ra n1 monitor OCF_CHECK_LEVEL=10 OCF_RESKEY_probe_port=5999 OCF_RESKEY_probe_timeout=2
expect 9 "an OPTIONS probe nobody answers"
reason n1 | grep -q "no SIP answer" || fail "no reason for the failed probe: $(reason n1)"
ok "OPTIONS probe to a dead port: 9 in $RA_MS ms ($(reason n1))"
PID1=$(lab_x n1 sh -c "read -r p _ < /run/resource-agents/sbcd-sbc/sbcd.pid && echo \$p")
PID2=$(lab_x n2 sh -c "read -r p _ < /run/resource-agents/sbcd-sbc/sbcd.pid && echo \$p")
[ "$(lab_pid_ns "$PID1")" = "$LAB_P-n1" ] || fail "pidfile of n1 names $PID1, not a process of n1"
kill -STOP "$PID1" "$PID2"
ra n1 monitor OCF_RESKEY_ctl_timeout=2
RC1=$RC MS1=$RA_MS
RA_NODE=n2 ra n2 monitor OCF_RESKEY_ctl_timeout=2
RC2=$RC MS2=$RA_MS
# a start of the frozen n1 waits for it, never starts a second sbcd
ra n1 start OCF_RESKEY_ctl_timeout=2 OCF_RESKEY_CRM_meta_timeout=6000
RC3=$RC MS3=$RA_MS
kill -CONT "$PID1" "$PID2"
n_sbcd=0
for p in $(ip netns pids "$LAB_P-n1"); do
	[ "$(cat "/proc/$p/comm" 2>/dev/null)" = sbcd ] && n_sbcd=$((n_sbcd + 1))
done
[ "$n_sbcd" = 1 ] || fail "$n_sbcd sbcd processes on n1 after a start of the frozen one"
[ "$RC3" = 1 ] || fail "start of a frozen sbcd: rc $RC3, not 1"
[ "$MS3" -lt 6000 ] || fail "start of a frozen sbcd took $MS3 ms (timeout 6 s)"
[ "$RC1" = 9 ] || fail "monitor of a stopped active: rc $RC1, not 9"
[ "$RC2" = 1 ] || fail "monitor of a stopped standby: rc $RC2, not 1"
[ "$MS1" -lt 8000 ] && [ "$MS2" -lt 8000 ] || fail "monitors of a stopped sbcd took $MS1 / $MS2 ms"
ra n1 monitor
expect 8 "monitor of n1 once it runs again"
ok "a control socket that does not answer: active 9 ($MS1 ms), standby 1 ($MS2 ms), ctl_timeout 2 s; start 1 ($MS3 ms, timeout 6 s), no second sbcd"

# ---- 7. stop; an unsynced n2 ----------------------------------------------
ra n2 stop "${PCMK[@]}" HA_SBIN_DIR="$FAKE"
RA_NODE=n2 expect 0 "stop on n2"
[ "$(last_score n2)" = "--promotion -D" ] || fail "stop did not delete n2's score: $(last_score n2)"
lab_gone "$PID2:$(lab_pid_start "$PID2" || echo x)" || fail "sbcd of n2 (PID $PID2) still runs after stop"
ra n2 monitor
RA_NODE=n2 expect 7 "monitor of the stopped n2"
ra n2 stop
RA_NODE=n2 expect 0 "stop of a stopped n2"
ra n2 start OCF_RESKEY_options=--no-such-option
RA_NODE=n2 expect 1 "start of an sbcd that exits at once"
reason n2 | grep -q "sbcd exited" || fail "no reason for the failed start: $(reason n2)"
ra n2 monitor
RA_NODE=n2 expect 7 "monitor after the failed start"
# n2 starts while n1's sbcd cannot answer it: not synced, no promotion
kill -STOP "$PID1"
ra n2 start "${PCMK[@]}" HA_SBIN_DIR="$FAKE"
RC_S=$RC
unsynced() { [ "$(field n2 synced)" != yes ] && ctl n2 role | grep -q '^peer 1 '; }
wait_for 5 unsynced || { kill -CONT "$PID1"; fail "n2 is not an unsynced standby beside n1: $(ctl n2 role)"; }
ra n2 monitor "${PCMK[@]}" HA_SBIN_DIR="$FAKE"
RC_M=$RC SCORE_U=$(last_score n2)
ra n2 promote "${PCMK[@]}" HA_SBIN_DIR="$FAKE" OCF_RESKEY_CRM_meta_timeout=6000
RC_P=$RC MS_P=$RA_MS WHY_P=$(reason n2)
kill -CONT "$PID1"
[ "$RC_S" = 0 ] || fail "start of n2 beside a silent n1: rc $RC_S"
[ "$RC_M" = 0 ] || fail "monitor of the unsynced n2: rc $RC_M"
[ "$SCORE_U" = "--promotion -v -INFINITY" ] || fail "the unsynced n2's score: $SCORE_U"
[ "$RC_P" = 1 ] || fail "promote of the unsynced n2: rc $RC_P"
grep -q "not synced" <<<"$WHY_P" || fail "no reason for the refused promotion: $WHY_P"
wait_for 10 is_synced n2 || fail "n2 not synced once n1 runs again: $(ctl n2 role)"
ra n2 monitor "${PCMK[@]}" HA_SBIN_DIR="$FAKE"
RA_NODE=n2 expect 0 "monitor of n2, synced"
[ "$(last_score n2)" = "--promotion -v 100" ] || fail "n2's score once synced: $(last_score n2)"
ok "unsynced n2: score -INFINITY, promote refused in $MS_P ms ($WHY_P); synced later: 100"
# an sbcd that ignores SIGTERM (frozen) is killed within the timeout
PID2=$(lab_x n2 sh -c "read -r p _ < /run/resource-agents/sbcd-sbc/sbcd.pid && echo \$p")
[ "$(lab_pid_ns "$PID2")" = "$LAB_P-n2" ] || fail "pidfile of n2 names $PID2, not a process of n2"
kill -STOP "$PID2"
ra n2 stop OCF_RESKEY_CRM_meta_timeout=8000
RA_NODE=n2 expect 0 "stop of a frozen n2"
grep -q "SIGKILL" "$LAB_W/n2/ra.out" || fail "stop of a frozen sbcd: no SIGKILL: $(cat "$LAB_W/n2/ra.out")"
[ "$RA_MS" -lt 8000 ] || fail "stop of a frozen sbcd took $RA_MS ms (timeout 8 s)"
lab_gone "$PID2:$(lab_pid_start "$PID2" || echo x)" || fail "frozen sbcd of n2 (PID $PID2) survived stop"
ok "a frozen sbcd: SIGTERM, SIGKILL, stopped in $RA_MS ms (timeout 8 s)"
ra n1 stop
expect 0 "stop on the active n1"
STOP_MS=$RA_MS
ra n1 monitor
expect 7 "monitor of the stopped n1"
grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$LAB_W"/n?/sbcd.log &&
	fail "sanitizer report in an sbcd log"
ok "stop 0 (active: $STOP_MS ms), monitor 7, stop again 0, score deleted"
ok "total $(lab_secs "$T_START" "$(lab_ms)") s (lab up $(lab_secs 0 "$LAB_UP_MS") s)"
