#!/bin/bash
# Overload control: while sbcd is saturated and its receive queue builds
# up, new calls get 503 with Retry-After, emergency calls still go
# through, and it recovers by itself.  Saturation is made by stopping
# sbcd (SIGSTOP) while a burst queues up; the CPU mark is set low so that
# draining the backlog counts as busy.
. "$(dirname "$0")/lib.sh"

sbc_conf "overload_cpu = 1" "overload_queue = 5" "overload_interval = 10" "flood_requests = 0" \
	"udp_sockbuf = 1048576" "emergency_route = sip:$U:5090"
sbc_start
sipp_bg uas -sf "$SCEN/uas.xml" -i "$U" -p 5080
sipp_bg switch -sf "$SCEN/uas.xml" -i "$U" -p 5090

python3 - "$P" "$A" "$SBC_PID" > "$W/burst.out" <<'PY'
import os, signal, socket, sys, time
P, A, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((P, 5071))
s.settimeout(0.2)
def inv(i, num):
    return ("INVITE sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5071;branch=z9hG4bKo%d\r\n"
            "From: <sip:c@%s>;tag=%d\r\nTo: <sip:%s@%s>\r\nCall-ID: ov%d@%s\r\n"
            "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            % (num, A, P, i, P, i, num, A, i, P)).encode()
os.kill(pid, signal.SIGSTOP)
try:
    for i in range(1500):
        s.sendto(inv(i, "5551234"), (A, 5060))
    s.sendto(inv(99999, "911"), (A, 5060))
    time.sleep(0.3)
finally:
    os.kill(pid, signal.SIGCONT)
codes = {}
t_end = time.time() + 5
while time.time() < t_end:
    try:
        r, _ = s.recvfrom(65535)
    except socket.timeout:
        continue
    head = r.split(b"\r\n")
    code = head[0].split(b" ")[1].decode()
    cid = [h for h in head if h.lower().startswith(b"call-id")][0].split(b":", 1)[1].strip().decode()
    if cid.startswith("ov99999"):
        print("emergency", code)
    if code == "503" and any(h.startswith(b"Retry-After") for h in head):
        codes["503ra"] = codes.get("503ra", 0) + 1
    codes[code] = codes.get(code, 0) + 1
for k, v in sorted(codes.items()):
    print(k, v)
PY
cat "$W/burst.out"
grep -q '^503ra [1-9]' "$W/burst.out" || fail "no 503 with Retry-After under overload"
grep -q '^200 [1-9]' "$W/burst.out" || fail "no call completed under overload"
grep -q '^emergency 200' "$W/burst.out" || grep -q '^emergency 180' "$W/burst.out" \
	|| fail "the emergency call did not go through under overload"
grep -q 'overload: CPU' "$W/sbcd.log" || fail "no overload log line"
ok "overload: new calls refused with 503 + Retry-After, emergency call served"

wait_for 100 grep -q 'overload over' "$W/sbcd.log" || fail "overload did not end"
sipp_call after uac.xml 5 -s 5551234 -d 10 || fail "calls after the overload failed"
ok "recovered: calls complete after the overload"
sbc_alive
sbc_stop
