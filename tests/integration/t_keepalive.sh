#!/bin/bash
# NAT keep-alive (keepalive.c) towards clients registered through sbcd to
# a real registrar (Kamailio), with keepalive_interval 1 s and
# keepalive_timeout 3 s:
#  1. UDP, keepalive = options: a sipp UA registers and answers the
#     OPTIONS (-aa) for a few seconds: they arrive about every second;
#     then it is gone: after the timeout sbcctl bindings says
#     unreachable, the log and the security log say so; a request from
#     its address makes it reachable again;
#  2. UDP, keepalive = crlf: after sipp registered and left, a socket on
#     its port receives CRLFCRLF packets about every second;
#  3. TCP, then TLS: a client registers over its own connection (digest
#     computed here): sbcd pings it (CRLFCRLF) every second, answers its
#     ping with a CRLF pong, and once the connection is closed marks it
#     unreachable.
. "$(dirname "$0")/lib.sh"

command -v kamailio >/dev/null || { t_log "kamailio not installed: skipped"; exit 0; }
ctl() { "${SBCCTL:?}" -s "$W/sbcd.sock" "$@"; }

certs
kam_start 1234
sbc_conf "registrar = sip:$U:5080;transport=udp" \
	"access_tls_port = 5061" \
	"access_tls_cert = $CERTDIR/sbc.crt" "access_tls_key = $CERTDIR/sbc.key" \
	"security_log = $W/security.log" "control_socket = $W/sbcd.sock" \
	"keepalive_interval = 1" "keepalive_timeout = 3"
sbc_start

# 1. OPTIONS keep-alives answered for 5 s, then no more
scen=$(scen_gen ka uac_register_ka.xml.in EXP=600 CPARAM= STAY=5000)
sipp_run ka -sf "$scen" -i "$P" -p 5070 "$A:5060" -s alice -ap 1234 -aa \
	-m 1 -timeout 20 -timeout_error || fail "alice did not register: $(tail -3 "$W/ka.out")"
t_gone=$(date +%s%3N)   # its last answer came at most 1 s (a turn) before
# asked at once: the analysis below can take seconds on a loaded machine,
# past keepalive_timeout
grep -q "^binding alice@$A sip:alice@$P:5070 udp $P:5070 expires [0-9]* reachable" <(ctl bindings) \
	|| fail "alice not reachable while answering: $(ctl bindings)"
# the OPTIONS sipp received, one a second (the first at a random point)
awk '/^-----/ {t=$3} /^OPTIONS sip:alice@/ {print t}' "$W/ka.msg" > "$W/ka.times"
python3 - "$W/ka.times" <<'PY' || fail "OPTIONS keep-alives not every second: $(tr '\n' ' ' < "$W/ka.times")"
import sys
def sec(t):
    h, m, s = t.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)
t = [sec(l.strip()) for l in open(sys.argv[1]) if l.strip()]
gaps = [b - a for a, b in zip(t, t[1:])]
print("OPTIONS received:", len(t), "gaps:", " ".join("%.2f" % g for g in gaps))
sys.exit(0 if len(t) >= 4 and all(0.7 < g < 1.3 for g in gaps) else 1)
PY
ok "UDP OPTIONS keep-alives every second, answered: reachable"

# sipp is gone: unreachable after keepalive_timeout (3 s), not before;
# counted from sipp's exit, not from here (the checks above can take
# seconds on a loaded machine)
for i in $(seq 1 60); do
	ctl bindings | grep -q "^binding alice@$A .* unreachable$" && break
	sleep 0.1
done
el=$(( $(date +%s%3N) - t_gone ))
[ "$el" -ge 2000 ] || fail "unreachable $el ms after the UA stopped, before the 3 s timeout"
ctl bindings | grep -q "^binding alice@$A .* unreachable$" || fail "not unreachable: $(ctl bindings)"
grep -q "binding alice@$A -> sip:alice@$P:5070 (UDP $P:5070): unreachable (no answer to OPTIONS)" "$W/sbcd.log" \
	|| fail "no log of the unreachable binding"
grep -q '"rule":"keepalive","action":"unreachable","source":"'"$P"':5070","transport":"UDP".*"peer":"user:alice@'"$A"'"' "$W/security.log" \
	|| fail "no keepalive event: $(tail -2 "$W/security.log")"
ctl events | grep -q "^keepalive unreachable 1$" || fail "events: $(ctl events)"
[ "$(ctl bindings | head -1)" = "bindings 1 unreachable 1" ] || fail "bindings: $(ctl bindings)"
ok "a UA that stopped answering is unreachable $el ms after it stopped (bindings, log, event)"

# what it is sent meanwhile: one OPTIONS a second, no retransmissions;
# an error answer is a sign of life too
python3 - "$P" 5070 <<'PY' > "$W/opt405.txt" || fail "OPTIONS while unreachable: $(cat "$W/opt405.txt")"
import re, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(0.2)
got, end = [], time.monotonic() + 2.6
while time.monotonic() < end:
    try:
        d, src = s.recvfrom(4096)
    except socket.timeout:
        continue
    if d.startswith(b"OPTIONS "):
        got.append((time.monotonic(), d, src))
branches = [re.search(rb"branch=([^;\r]+)", d).group(1) for _, d, _ in got]
gaps = [b[0] - a[0] for a, b in zip(got, got[1:])]
print("OPTIONS:", len(got), "gaps:", " ".join("%.2f" % g for g in gaps))
ok = 2 <= len(got) <= 3 and len(set(branches)) == len(got) and all(0.7 < g < 1.3 for g in gaps)
_, d, src = got[-1]
head = d.split(b"\r\n\r\n")[0].split(b"\r\n")
keep = [h for h in head[1:] if h.split(b":")[0].lower() in (b"via", b"from", b"to", b"call-id", b"cseq")]
s.sendto(b"SIP/2.0 405 Method Not Allowed\r\n" + b"\r\n".join(keep) + b"\r\nContent-Length: 0\r\n\r\n", src)
sys.exit(0 if ok else 1)
PY
cat "$W/opt405.txt"
for _ in $(seq 1 20); do
	ctl bindings | grep -q "^binding alice@$A .* reachable$" && break
	sleep 0.05
done
ctl bindings | grep -q "^binding alice@$A .* reachable$" || fail "405 did not make it reachable: $(ctl bindings)"
grep -q "binding alice@$A .*: reachable again (answer)" "$W/sbcd.log" || fail "no log of the recovery"
ok "while unreachable: one OPTIONS a second, no retransmissions; a 405 answer makes it reachable"

for _ in $(seq 1 60); do
	ctl bindings | grep -q "^binding alice@$A .* unreachable$" && break
	sleep 0.1
done
ctl bindings | grep -q "^binding alice@$A .* unreachable$" || fail "not unreachable again: $(ctl bindings)"

# any request from its flow is a sign of life
mkinvite "$W/inv.txt" 5551234
r=$(raw_udp "$P:5070" "$A" 5060 "$W/inv.txt" 2)
ctl bindings | grep -q "^binding alice@$A .* reachable$" || fail "not reachable again: $(ctl bindings)"
grep -q "binding alice@$A .*: reachable again (request)" "$W/sbcd.log" || fail "no log of the recovery"
ok "a request from its address makes it reachable again"

# 2. keepalive = crlf (a reload): CRLFCRLF to the UA's address every second
sbc_set "keepalive = crlf"
sbc_write_conf
ctl reload >/dev/null || fail "reload"
python3 - "$P" 5070 <<'PY' > "$W/crlf.txt" || fail "no CRLF keep-alives: $(cat "$W/crlf.txt")"
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(0.2)
got, end = [], time.monotonic() + 3.5
while time.monotonic() < end:
    try:
        d, src = s.recvfrom(2048)
    except socket.timeout:
        continue
    if d.startswith((b"OPTIONS", b"SIP/2.0")):
        continue  # the last OPTIONS, the answer to the INVITE above
    got.append((time.monotonic(), d))
print("received:", [d for _, d in got])
gaps = [b[0] - a[0] for a, b in zip(got, got[1:])]
print("gaps:", " ".join("%.2f" % g for g in gaps))
sys.exit(0 if len(got) >= 3 and all(d == b"\r\n\r\n" for _, d in got)
         and all(0.7 < g < 1.3 for g in gaps) else 1)
PY
ok "keepalive = crlf: CRLFCRLF every second ($(tail -1 "$W/crlf.txt"))"

# 3. TCP and TLS: the client's own connection; digest authentication done
# here.  stream_client USER tcp|tls PORT
stream_client() {
python3 - "$A" "127.0.$T_N.11" "$1" 1234 "$W" "$2" "$3" "${CERTDIR:-}" <<'PY'
import hashlib, os, re, socket, ssl, subprocess, sys, time
a, me, user, pw, w, tp, sport, certdir = sys.argv[1:9]
md5 = lambda x: hashlib.md5(x.encode()).hexdigest()
s = socket.create_connection((a, int(sport)), source_address=(me, 0), timeout=3)
port = s.getsockname()[1]
if tp == "tls":
    ctx = ssl.create_default_context(cafile=certdir + "/ca.crt")
    s = ctx.wrap_socket(s, server_hostname="sbc.test")
buf = b""
def response():
    global buf
    while b"\r\n\r\n" not in buf.lstrip(b"\r\n"):
        buf += s.recv(4096)
    buf = buf.lstrip(b"\r\n")
    head, buf = buf.split(b"\r\n\r\n", 1)
    n = int(re.search(rb"(?im)^content-length:\s*(\d+)", head).group(1))
    while len(buf) < n:
        buf += s.recv(4096)
    buf = buf[n:]
    return head.decode()
def register(cseq, auth=""):
    s.sendall((f"REGISTER sip:{a}:{sport} SIP/2.0\r\n"
        f"Via: SIP/2.0/{tp.upper()} {me}:{port};branch=z9hG4bKtcp{cseq}{port};rport\r\n"
        f"From: <sip:{user}@{a}>;tag=tcp{port}\r\nTo: <sip:{user}@{a}>\r\n"
        f"Call-ID: tcp{port}@{me}\r\nCSeq: {cseq} REGISTER\r\n"
        f"Contact: <sip:{user}@{me}:{port};transport={tp}>\r\nExpires: 600\r\n"
        f"{auth}Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode())
    return response()
r = register(1)
ch = dict(re.findall(r'(\w+)="?([^",\r\n]+)"?', r.split("WWW-Authenticate:", 1)[1].split("\r\n", 1)[0]))
uri, cn = f"sip:{a}:{sport}", "0a4f113b"
resp = md5(":".join([md5(f"{user}:{ch['realm']}:{pw}"), ch["nonce"], "00000001", cn, "auth",
                     md5(f"REGISTER:{uri}")]))
r = register(2, f'Authorization: Digest username="{user}", realm="{ch["realm"]}", '
    f'nonce="{ch["nonce"]}", uri="{uri}", response="{resp}", algorithm=MD5, '
    f'cnonce="{cn}", qop=auth, nc=00000001\r\n')
assert r.startswith("SIP/2.0 200"), r
print("registered over", tp, "from", me, port)
ctl = lambda: subprocess.run([os.environ["SBCCTL"], "-s", w + "/sbcd.sock", "bindings"],
                             capture_output=True, text=True).stdout
line = [l for l in ctl().splitlines() if f" {tp} {me}:{port} " in l]
assert line and line[0].endswith(" reachable"), ctl()
# sbcd's pings: CRLFCRLF about every second, answered with a pong
t = []
while len(t) < 3:
    d = buf or s.recv(64)
    buf = b""
    assert d == b"\r\n\r\n", d
    t.append(time.monotonic())
    s.sendall(b"\r\n")
gaps = [y - x for x, y in zip(t, t[1:])]
print("pings from sbcd, gaps:", " ".join("%.2f" % g for g in gaps))
assert all(0.7 < g < 1.3 for g in gaps), gaps
# our ping gets a CRLF pong (sbcd's own pings are 4 bytes each)
s.sendall(b"\r\n\r\n")
s.settimeout(0.2)
d, end = b"", time.monotonic() + 5
while len(d) % 4 != 2 and time.monotonic() < end:
    try:
        d += s.recv(64)
    except socket.timeout:
        pass
assert d and d.strip(b"\r\n") == b"" and len(d) % 4 == 2, d
print("our ping answered with a pong:", d)
s.close()
# the connection is gone: unreachable at the next turn
for i in range(30):
    line = [l for l in ctl().splitlines() if f" {tp} {me}:{port} " in l]
    if line and (" unreachable" in line[0]):
        break
    time.sleep(0.1)
assert line and (" unreachable" in line[0]), ctl()
print("closed: unreachable after %.1f s" % (i / 10))
PY
}
stream_client bob tcp 5060 > "$W/tcp.txt" 2>&1 || fail "TCP client: $(cat "$W/tcp.txt")"
cat "$W/tcp.txt"
[ "$(ctl bindings | head -1)" = "bindings 2 unreachable 1" ] || fail "bindings: $(ctl bindings)"
grep -q "binding bob@$A -> .* (TCP 127.0.$T_N.11:[0-9]*): unreachable (connection closed)" "$W/sbcd.log" \
	|| fail "no log of the closed TCP flow"
ok "TCP: pings from sbcd every second, our ping answered with a pong, closed connection: unreachable"

stream_client carol tls 5061 > "$W/tls.txt" 2>&1 || fail "TLS client: $(cat "$W/tls.txt")"
cat "$W/tls.txt"
grep -q "binding carol@$A -> .* (TLS 127.0.$T_N.11:[0-9]*): unreachable (connection closed)" "$W/sbcd.log" \
	|| fail "no log of the closed TLS flow"
ok "TLS: the same over TLS"

sbc_alive
sbc_stop
kam_stop
