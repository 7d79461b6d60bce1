#!/bin/bash
# Prometheus metrics (metrics_listen): a bad address is a config error
# naming file and line; GET /metrics carries every figure of `sbcctl
# stats` with the same value, the calls by peer, the security events and
# the role, and passes `promtool check metrics`; a real Prometheus scrapes
# it and holds the figures sbcctl prints; other paths and methods get
# 404 and 405; a client that never ends its request, or sends garbage,
# neither stops the next scrape nor sbcd.
. "$(dirname "$0")/lib.sh"

MPORT=9259
M=http://$A:$MPORT/metrics
ctl() { "$SBCCTL" -s "$W/sbcd.sock" "$@"; }
page() { curl -s -m 5 "$M"; }

# ---- bad values, at `sbcd -t` ----
for bad in "$A" "not-an-address:9259" "$A:0"; do
	sbc_conf "metrics_listen = $bad"
	sbc_write_conf
	line=$(grep -n '^metrics_listen' "$W/sbcd.conf" | cut -d: -f1)
	"$SBCD" -t -f "$W/sbcd.conf" > "$W/t.out" 2>&1 && fail "sbcd -t took metrics_listen = $bad"
	grep -q "sbcd.conf:$line: metrics_listen: not ADDR:PORT" "$W/t.out" \
		|| fail "metrics_listen = $bad: no error naming file and line: $(cat "$W/t.out")"
done
ok "metrics_listen without a port, with a name or port 0: an error naming file and line"

# ---- the page, against sbcctl ----
sbc_conf "metrics_listen = $A:$MPORT" "security_log = $W/security.log"
sbc_start
sipp_bg uas -sf "$SCEN/uas.xml" -i "$U" -p 5080
sipp_call calls uac.xml 10 || fail "10 calls: $(tail -3 "$W/calls.out")"
# one call held, so that a peer has a call in progress
sipp_bg held -sf "$SCEN/uac_until.xml" -s 5551234 -i "$P" -p 5071 "$A:5060" -m 1 \
	-timeout 60 -timeout_error
call_answered held
# a security event: a datagram no SIP parser reads
python3 -c "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('$P', 5072)); s.sendto(b'not SIP\r\n\r\n', ('$A', 5060))"
has_invalid() { [ "$(ctl stats | awk '$1 == "invalid" {print $2}')" = 1 ]; }
wait_for 50 has_invalid || fail "the garbage datagram was not counted"

ctl stats > "$W/stats.txt" || fail "sbcctl stats failed"
page > "$W/page.txt" || fail "GET $M failed"
ctl stats > "$W/stats2.txt"
cmp -s "$W/stats.txt" "$W/stats2.txt" || fail "the figures moved while the test read them (nothing should run)"
promtool check metrics < "$W/page.txt" > "$W/promtool.out" 2>&1 \
	|| fail "promtool check metrics: $(cat "$W/promtool.out")"
n=0
while read -r k v; do
	case $v in
	*[!0-9]*) want="sbc_$k{state=\"$v\"} 1"
		[ "$k" = redis_state ] || fail "stats line '$k $v' has no known form" ;;
	*) want="sbc_$k $v"
		grep -qxF "$want" "$W/page.txt" || want="sbc_${k}_total $v" ;;
	esac
	grep -qxF "$want" "$W/page.txt" || fail "stats '$k $v' is not in the page as '$want'"
	n=$((n + 1))
done < <(grep -v '^OK$' "$W/stats.txt")
[ "$n" -ge 20 ] || fail "only $n stats lines"
for want in 'sbc_peer_calls{peer="test"} 1' 'sbc_dialogs_active 1' \
	'sbc_security_events_total{rule="invalid",action="drop"} 1' \
	'sbc_cluster_role{role="standalone"} 1' 'sbc_media_threads 1'; do
	grep -qxF "$want" "$W/page.txt" || fail "no '$want' in the page: $(grep -F "${want%% *}" "$W/page.txt")"
done
grep -q '^process_cpu_seconds_total [0-9.]*$' "$W/page.txt" || fail "no process_cpu_seconds_total"
grep -q '^sbc_build_info{version="[0-9.]*"} 1$' "$W/page.txt" || fail "no sbc_build_info"
ok "GET /metrics: all $n figures of sbcctl stats with their values, calls by peer, events, role; promtool check metrics passes"

# ---- what the page refuses, and clients that misbehave ----
code() { curl -s -o /dev/null -w '%{http_code}' -m 5 "$@"; }
[ "$(code "http://$A:$MPORT/")" = 404 ] || fail "GET / is not 404"
[ "$(code -X POST "$M")" = 405 ] || fail "POST /metrics is not 405"
python3 - "$A" "$MPORT" > "$W/slow.out" 2>&1 <<'PY' &
import socket, sys, time
a, p = sys.argv[1], int(sys.argv[2])
half = socket.create_connection((a, p))
half.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")     # never ended
bad = socket.create_connection((a, p))
bad.sendall(b"\x16\x03\x01\x00garbage\r\n\r\n" * 50)
time.sleep(4)
PY
slow=$!
T_PIDS="$T_PIDS $slow"
sleep 0.5
page > "$W/page2.txt" || fail "a scrape failed while a client held a request open"
grep -q '^sbc_metrics_scrapes_total' "$W/page2.txt" || fail "the second page is not whole"
sbc_alive
ok "404 and 405 where due; a scrape is answered while another client holds a half request and one sends garbage"

# ---- a real Prometheus scrapes it ----
cat > "$W/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: sbc
    static_configs:
      - targets: ['$A:$MPORT']
EOF
prometheus --config.file="$W/prometheus.yml" --storage.tsdb.path="$W/tsdb" \
	--web.listen-address="$U:9090" --log.level=warn > "$W/prometheus.log" 2>&1 &
T_PIDS="$T_PIDS $!"
q() { curl -s -m 3 "http://$U:9090/api/v1/query" --data-urlencode "query=$1" |
	python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'; }
want=$(awk '$1 == "requests_received" {print $2}' "$W/stats.txt")
scraped() { [ "$(q sbc_requests_received_total)" = "$want" ] && [ "$(q 'up{job="sbc"}')" = 1 ]; }
wait_for 300 scraped || fail "Prometheus did not get sbc_requests_received_total $want (has '$(q sbc_requests_received_total)'): $(tail -3 "$W/prometheus.log")"
[ "$(q 'sbc_peer_calls{peer="test"}')" = 1 ] || fail "Prometheus: sbc_peer_calls is '$(q 'sbc_peer_calls{peer="test"}')'"
ok "Prometheus scraped it: up 1, sbc_requests_received_total $want as sbcctl says, one call of peer test"

call_release held "$P" 5071
wait_pid "$PID_held" 15 || fail "the held call did not end"
none() { page | grep -qxF 'sbc_dialogs_active 0'; }
wait_for 50 none || fail "the page still counts a call"
sbc_stop
ok "the held call ended: the page says 0 calls"
