#!/bin/bash
# deb_root.sh W DEB: run by t_deb.sh inside its own mount, network and PID
# namespaces (unshare), as root. Makes a throwaway root of this machine's
# (/usr, /etc, /var overlaid on tmpfs upper layers, a fresh /run), installs
# the package DEB there with dpkg (its maintainer scripts run), runs sbcd
# the way sbcd.service does (the unit's own lines, its user, capabilities
# and file limit), then reinstalls and purges. Nothing reaches the host.
# Its last line is "inside: done", or "FAILED: why".
set -u
W=$1 DEB=$2
step() { echo "step: $*"; }
die() { echo "FAILED: $*"; exit 1; }
mount -t tmpfs tmpfs "$W/ovl" || die "tmpfs"
for d in usr etc var; do
	mkdir -p "$W/ovl/$d.u" "$W/ovl/$d.w"
	mount -t overlay overlay \
		-o "lowerdir=/$d,upperdir=$W/ovl/$d.u,workdir=$W/ovl/$d.w" "/$d" ||
		die "overlay on /$d"
done
mount -t tmpfs tmpfs /run || die "tmpfs /run"
# dpkg runs only on the throwaway root
for d in /usr /etc /var; do
	[ "$(findmnt -n -o FSTYPE --mountpoint "$d")" = overlay ] || die "$d is not the overlay"
done
ip link set lo up || die "lo up"

step "dpkg -i"
dpkg -i "$DEB" >"$W/dpkg-i.log" 2>&1 || { cat "$W/dpkg-i.log"; die "dpkg -i"; }
getent passwd sbc >/dev/null || die "no user sbc"
[ "$(stat -c %U:%G:%a /var/lib/sbc)" = sbc:sbc:750 ] || die "/var/lib/sbc: $(stat -c %U:%G:%a /var/lib/sbc)"
[ "$(stat -c %U:%G:%a /etc/sbc/tls/sbc.key)" = root:sbc:640 ] || die "sbc.key: $(stat -c %U:%G:%a /etc/sbc/tls/sbc.key)"
[ "$(stat -c %a /etc/sbc/tls/sbc.crt)" = 644 ] || die "sbc.crt mode"
if command -v systemd-tmpfiles >/dev/null; then
	[ "$(stat -c %U:%a /run/sbc)" = sbc:755 ] || die "/run/sbc (tmpfiles.d) missing"
else
	install -d -o sbc -g sbc /run/sbc   # RuntimeDirectory's work
fi

U=/lib/systemd/system/sbcd.service
unit() { sed -n "s/^$1=//p" "$U"; }
if command -v systemd-analyze >/dev/null; then
	step "systemd-analyze verify"
	out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$U" 2>&1 | grep sbcd)
	[ -z "$out" ] || die "systemd-analyze verify: $out"
	echo "systemd-analyze verify: clean"
fi
caps=$(unit AmbientCapabilities | tr '[:upper:]' '[:lower:]' | sed 's/cap_/+/g; s/ /,/g')
[ "$caps" = "+net_bind_service,+net_admin" ] || die "AmbientCapabilities: $caps"
[ "$(unit CapabilityBoundingSet)" = "$(unit AmbientCapabilities)" ] || die "bounding set"
nofile=$(unit LimitNOFILE)
[ "$nofile" = "$(sed -n 's/^max_fds = //p' /etc/sbc/sbc.conf)" ] || die "LimitNOFILE is not max_fds"
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$nofile" ]; then
	# without CAP_SYS_RESOURCE (a sandbox) the limit cannot be raised
	echo "note: hard file limit $(ulimit -Hn) here: sbcd runs with it, not LimitNOFILE=$nofile"
	nofile=$(ulimit -Hn)
fi
[ "$(unit User)" = sbc ] || die "User="
# the unit's service, as systemd would run it
# shellcheck disable=SC2054
as_unit=(prlimit --nofile="$nofile:$nofile" setpriv --reuid=sbc --regid=sbc
	--init-groups --inh-caps="$caps" --ambient-caps="$caps"
	--bounding-set=-all,"$caps" --no-new-privs --)

step "ExecStartPre"
"${as_unit[@]}" sh -c "$(unit ExecStartPre | sed "s/^\/bin\/sh -c '//; s/'\$//")" || die "ExecStartPre refuses the packaged sbc.conf"
cp /etc/sbc/sbc.conf "$W/sbc.conf.orig"
sed -i 's/^cluster = none$/cluster = corosync/' /etc/sbc/sbc.conf
out=$("${as_unit[@]}" sh -c "$(unit ExecStartPre | sed "s/^\/bin\/sh -c '//; s/'\$//")" 2>&1) &&
	die "ExecStartPre let a cluster configuration through"
echo "$out" | grep -q 'Pacemaker' || die "ExecStartPre's refusal: $out"
cp "$W/sbc.conf.orig" /etc/sbc/sbc.conf

step "ExecStart"
out=$(sbcctl stats 2>&1) && die "sbcctl answered with no sbcd"
echo "$out" | grep -q '/run/sbc/sbcd.sock nor /etc/sbc/sbcd.sock' || die "sbcctl, no socket: $out"
# shellcheck disable=SC2046
"${as_unit[@]}" $(unit ExecStart) >"$W/sbcd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	[ -S /run/sbc/sbcd.sock ] && break
	kill -0 "$pid" 2>/dev/null || { cat "$W/sbcd.log"; die "sbcd died"; }
	sleep 0.1
done
[ -S /run/sbc/sbcd.sock ] || { cat "$W/sbcd.log"; die "no control socket"; }
[ "$(awk '/^Uid:/ {print $2 $3 $4 $5}' "/proc/$pid/status")" = "$(id -u sbc)$(id -u sbc)$(id -u sbc)$(id -u sbc)" ] ||
	die "sbcd does not run as sbc: $(grep '^Uid:' "/proc/$pid/status")"
[ "$(awk '/^CapEff:/ {print $2}' "/proc/$pid/status")" = 0000000000001400 ] ||
	die "sbcd's capabilities are not CAP_NET_BIND_SERVICE, CAP_NET_ADMIN: $(grep '^Cap' "/proc/$pid/status")"
sbcctl stats >"$W/stats" || die "sbcctl stats (default socket): $(cat "$W/stats")"
python3 - <<'PY' || die "no SIP answer to OPTIONS on 127.0.0.2:5060"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.9", 0))
s.settimeout(5)
port = s.getsockname()[1]
s.sendto(("OPTIONS sip:127.0.0.2 SIP/2.0\r\n"
          "Via: SIP/2.0/UDP 127.0.0.9:%d;branch=z9hG4bK-deb1;rport\r\n"
          "Max-Forwards: 70\r\nFrom: <sip:t@127.0.0.9>;tag=1\r\n"
          "To: <sip:127.0.0.2>\r\nCall-ID: deb-1@127.0.0.9\r\n"
          "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n" % port).encode(),
         ("127.0.0.2", 5060))
data = s.recv(4096).decode(errors="replace")
print("OPTIONS:", data.splitlines()[0])
assert data.startswith("SIP/2.0 ")
PY
python3 -c 'import socket; socket.create_connection(("127.0.0.1", 5061), 5)' ||
	die "no TLS listener on 127.0.0.1:5061"
rb=$(ss -Huanm 'sport = :5060' | grep -o 'rb[0-9]*' | head -n 1)
[ "${rb#rb}" -ge 8388608 ] || die "UDP receive buffer $rb: udp_sockbuf (4 MB) not forced (CAP_NET_ADMIN)"
[ "$(stat -c %U:%a /var/lib/sbc/flow.key)" = sbc:600 ] || die "flow.key"
step "ExecReload"
out=$(sh -c "$(unit ExecReload)" 2>&1) || die "ExecReload: $out"
grep -q 'reload: configuration of /etc/sbc/sbc.conf in force' "$W/sbcd.log" ||
	die "the reload is not in sbcd's log"
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" = 0 ] || { tail "$W/sbcd.log"; die "sbcd exit code $rc on SIGTERM"; }
[ "$(stat -c %U /var/lib/sbc/state 2>/dev/null)" = sbc ] || die "no state_file written at the stop"

step "reinstall, purge"
dpkg -i "$DEB" >"$W/dpkg-i2.log" 2>&1 || { cat "$W/dpkg-i2.log"; die "dpkg -i again (upgrade path)"; }
dpkg --purge sbc >"$W/dpkg-p.log" 2>&1 || { cat "$W/dpkg-p.log"; die "dpkg --purge"; }
for f in /usr/sbin/sbcd /etc/sbc /var/lib/sbc /run/sbc /lib/systemd/system/sbcd.service; do
	[ -e "$f" ] && die "$f left after purge"
done
echo "inside: done"
