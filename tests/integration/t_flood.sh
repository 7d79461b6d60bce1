#!/bin/bash
# Flood protection: one source floods far past what sbcd can parse while
# a legitimate caller from another address keeps calling; >= 99% of the
# legitimate calls must complete.  The flooder is banned (and dropped by
# the kernel filter), an emergency call from it still goes through, and
# a peer's call admission rate (token bucket) answers 503 past it.
. "$(dirname "$0")/lib.sh"

X=127.0.$T_N.20        # the flooder
PEERS="[peer test]
addr = 127.0.$T_N.0/25
[peer small]
addr = 127.0.$T_N.200
cps = 5
cps_burst = 5"

# 40 calls/s are 120 requests/s from the legitimate caller: below the mark
sbc_conf "flood_requests = 600" "flood_window = 2" "flood_ban = 60" \
	"security_log = $W/security.log" "emergency_route = sip:$U:5090"
sbc_start
sipp_bg uas -sf "$SCEN/uas.xml" -i "$U" -p 5080 -buff_size 4194304
sipp_bg switch -sf "$SCEN/uas.xml" -i "$U" -p 5090

# the legitimate caller: 400 calls at 40 calls/s (10 s)
sipp_bg legit -sf "$SCEN/uac.xml" -s 5551234 -i "$P" -p 5070 "$A:5060" \
	-m 400 -r 40 -d 100 -timeout 60 -trace_stat -stf "$W/legit.csv"
# the flooder: as fast as one process can send, for 8 s (bounded)
python3 - "$X" "$A" > "$W/flood.out" <<'PY'
import socket, sys, time
X, A = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((X, 5071))
s.setblocking(False)
n, t0 = 0, time.time()
while time.time() - t0 < 8 and n < 2000000:
    m = ("INVITE sip:5559999@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5071;branch=z9hG4bKf%d\r\n"
         "From: <sip:flooder@%s>;tag=%d\r\nTo: <sip:5559999@%s>\r\nCall-ID: f%d@%s\r\n"
         "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
         % (A, X, n, X, n, A, n, X)).encode()
    try:
        s.sendto(m, (A, 5060))
        n += 1
    except BlockingIOError:
        pass
dt = time.time() - t0
print("sent %d in %.1f s: %d/s" % (n, dt, n / dt))
PY
cat "$W/flood.out"
wait_pid "$PID_legit" 60 || true
ok_calls=$(awk -F';' 'NR==1{for(i=1;i<=NF;i++) if($i=="SuccessfulCall(C)") c=i} END{print $c}' "$W/legit.csv")
failed=$(awk -F';' 'NR==1{for(i=1;i<=NF;i++) if($i=="FailedCall(C)") c=i} END{print $c}' "$W/legit.csv")
t_log "legitimate calls: $ok_calls ok, $failed failed of 400 during the flood"
[ "${ok_calls:-0}" -ge 396 ] || fail "only $ok_calls of 400 legitimate calls completed"
grep -q '"rule":"flood","action":"ban"' "$W/security.log" || fail "no ban event"
grep -q "flood: $X sent over 600 requests" "$W/sbcd.log" || fail "no ban log line"
grep -q "flood: $P sent" "$W/sbcd.log" && fail "the legitimate caller was banned"
at_uas=$(grep -o '^Call-ID: f[0-9]*@' "$W/uas.msg" 2>/dev/null | sort -u | wc -l)
[ "${at_uas:-0}" -le 600 ] || fail "$at_uas flood INVITEs reached the upstream"
ok "flood banned after 600 requests ($at_uas reached the upstream), >= 99% legitimate calls completed"

# the kernel filter drops all a banned source sends
mkinvite "$W/e.txt" 5551234
r=$(raw_udp "$X:5075" "$A" 5060 "$W/e.txt" 1)
[ "$r" = TIMEOUT ] || fail "banned source got '$r'"
ok "banned source: dropped"

# a peer's call admission rate: 5 calls/s, burst 5
python3 - "127.0.$T_N.200" "$A" > "$W/cps.out" <<'PY'
import socket, sys
src, A = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 5071))
s.settimeout(2)
for i in range(20):
    s.sendto(("INVITE sip:5551234@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5071;branch=z9hG4bKc%d\r\n"
              "From: <sip:c@%s>;tag=%d\r\nTo: <sip:5551234@%s>\r\nCall-ID: c%d@%s\r\n"
              "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n" % (A, src, i, src, i, A, i, src)).encode(),
             (A, 5060))
codes = {}
seen = set()
try:
    while True:
        r, _ = s.recvfrom(65535)
        line = r.split(b"\r\n")[0].decode()
        cid = [h for h in r.split(b"\r\n") if h.startswith(b"Call-ID")][0]
        code = line.split(" ")[1]
        if code in ("100",) or (cid, code) in seen:
            continue
        seen.add((cid, code))
        codes[code] = codes.get(code, 0) + 1
except socket.timeout:
    pass
print(" ".join("%s=%d" % kv for kv in sorted(codes.items())))
PY
t_log "20 INVITEs at once from the cps=5 peer: $(cat "$W/cps.out")"
grep -q '503=1[45]' "$W/cps.out" || fail "call admission: $(cat "$W/cps.out")"
grep -q '"rule":"peer_cps","action":"503"' "$W/security.log" || fail "no peer_cps event"
ok "peer call admission: 5 admitted, the rest 503"
sbc_alive
sbc_stop

# without the kernel filter, a banned source's emergency calls get through
sbc_set "flood_kernel_filter = no"
sbc_set "flood_requests = 20"
sbc_start
python3 - "$X" "$A" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5076))
for i in range(50):
    s.sendto(b"OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5076;branch=z9hG4bKo%d\r\nFrom: <sip:f@x>;tag=1\r\nTo: <sip:x@x>\r\nCall-ID: o%d\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n" % (sys.argv[2].encode(), sys.argv[1].encode(), i, i), (sys.argv[2], 5060))
PY
wait_for 50 grep -q "flood: $X sent over 20 requests" "$W/sbcd.log" || fail "not banned"
mkinvite "$W/e911.txt" 911
r=$(raw_udp "$X:5077" "$A" 5060 "$W/e911.txt" 3)
case $r in "SIP/2.0 180"*|"SIP/2.0 200"*) ;; *) fail "emergency call from a banned source got '$r'" ;; esac
r=$(raw_udp "$X:5078" "$A" 5060 "$W/e.txt" 1)
[ "$r" = TIMEOUT ] || fail "a banned source's ordinary call got '$r'"
ok "kernel filter off: a banned source's emergency call goes through, the rest is dropped"
sbc_stop
