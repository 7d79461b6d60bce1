#!/bin/bash
# t_deb: the Debian package (pkg/deb.cmake), built by CPack from this
# build tree, then checked:
#   - its name, version (pkg/changelog's top entry, the upstream part
#     sbcd's own), the files it holds (dpkg-deb -c), its conffiles, its
#     Depends naming the libraries and the scripts' needs;
#   - lintian: no error;
#   - its /etc/sbc/sbc.conf is `sbcd --print-config` but for the paths;
#   - installed for real by dpkg into a throwaway root: /usr, /etc and
#     /var overlaid (tmpfs upper layers) and a private /run, in a
#     mount, network and PID namespace of its own (nothing reaches the
#     host: no user, no file, no port), where the maintainer scripts run
#     (the user sbc, the self-signed certificate, /var/lib/sbc, /run/sbc);
#     sbcd.service's own lines run the packaged sbcd as the user sbc with
#     only the unit's capabilities and file limit, on the packaged
#     sbc.conf: it answers SIP on its loopback addresses, sbcctl without
#     -s finds its socket, ExecReload reloads, SIGTERM writes state_file;
#     ExecStartPre refuses a cluster configuration; systemd-analyze verify
#     (when present) takes the unit; a reinstall (upgrade path) and a
#     purge run clean, the purge leaving none of the package's files.
# Root only (namespaces, dpkg); exit 77 otherwise.
set -u
SBCD=${SBCD:?SBCD must point to the sbcd of the build tree}
BUILD_DIR=${BUILD_DIR:?BUILD_DIR must be the build tree}
T_NAME=t_deb
W=$(mktemp -d "${TMPDIR:-/tmp}/sbc-deb.XXXXXX")
T_FAILED=0

t_log() { echo "[$T_NAME] $*"; }
fail() { T_FAILED=1; t_log "FAIL: $*"; exit 1; }
ok() { t_log "ok: $*"; }
cleanup() {
	if [ "$T_FAILED" = 0 ] && [ -z "${T_KEEP:-}" ]; then
		rm -rf "$W"
	else
		t_log "work dir kept: $W"
	fi
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ]; then
	t_log "skipped: needs root (namespaces, dpkg into an overlay)"
	exit 77
fi
for c in cpack dpkg-deb dpkg-shlibdeps lintian unshare setpriv; do
	command -v "$c" >/dev/null || fail "$c is missing (make test-deps)"
done

# ---- build ---------------------------------------------------------------
cpack -G DEB --config "$BUILD_DIR/CPackConfig.cmake" -B "$W/out" \
	>"$W/cpack.log" 2>&1 || { cat "$W/cpack.log"; fail "cpack"; }
debs=("$W"/out/sbc_*.deb)
if [ "${#debs[@]}" != 1 ] || [ ! -f "${debs[0]}" ]; then
	fail "cpack made no single sbc_*.deb: ${debs[*]}"
fi
DEB=${debs[0]}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
read -r top <"$SRC/pkg/changelog"
debver=$(echo "$top" | sed -n 's/^sbc (\([^)]*\)) .*/\1/p')
upver=$("$SBCD" --version | awk '{print $2}')
[ "${debver%-*}" = "$upver" ] || fail "changelog's $debver is not sbcd $upver"
arch=$(dpkg --print-architecture)
[ "$(basename "$DEB")" = "sbc_${debver}_$arch.deb" ] ||
	fail "package named $(basename "$DEB"), not sbc_${debver}_$arch.deb"
[ "$(dpkg-deb -f "$DEB" Version)" = "$debver" ] || fail "Version: $(dpkg-deb -f "$DEB" Version)"
ok "$(basename "$DEB") built"

# ---- contents --------------------------------------------------------------
dpkg-deb -c "$DEB" >"$W/list" || fail "dpkg-deb -c"
# mode, path
while read -r mode path; do
	grep -Eq "^$mode root/root +[0-9]+ [0-9-]+ [0-9:]+ \./$path\$" "$W/list" ||
		fail "the package lacks $path ($mode root/root): $(grep -F "./$path" "$W/list")"
done <<'EOF'
-rwxr-xr-x usr/sbin/sbcd
-rwxr-xr-x usr/bin/sbcctl
-rwxr-xr-x usr/bin/sbc-drill
-rwxr-xr-x usr/share/sbc/drill/sipua\.py
-rwxr-xr-x usr/share/sbc/drill/rtp_pump\.py
-rwxr-xr-x usr/lib/ocf/resource\.d/sbc/sbcd
-rwxr-xr-x usr/lib/ocf/lib/sbc/sbcd-peer-down
-rw-r--r-- lib/systemd/system/sbcd\.service
-rw-r--r-- usr/lib/tmpfiles\.d/sbc\.conf
-rw-r--r-- etc/sbc/sbc\.conf
-rw-r--r-- usr/share/man/man8/sbcd\.8\.gz
-rw-r--r-- usr/share/man/man8/sbcctl\.8\.gz
-rw-r--r-- usr/share/man/man8/sbc-drill\.8\.gz
-rw-r--r-- usr/share/doc/sbc/copyright
-rw-r--r-- usr/share/doc/sbc/changelog\.Debian\.gz
-rwxr-xr-x usr/share/sbc/mkcert\.sh
EOF
if grep -v ' root/root ' "$W/list"; then fail "files not owned by root"; fi
dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles >"$W/conffiles" ||
	fail "no conffiles"
[ "$(cat "$W/conffiles")" = /etc/sbc/sbc.conf ] || fail "conffiles: $(cat "$W/conffiles")"
ok "the files, their modes, conffiles"

dep=$(dpkg-deb -f "$DEB" Depends)
for want in 'libre[0-9]' 'libssl3' 'libsrtp2-[0-9]' 'libcpg[0-9]' 'libquorum[0-9]' \
	'libhiredis[0-9.]+' 'libc6' adduser ca-certificates openssl python3; do
	echo "$dep" | tr ',' '\n' | grep -Eq "^ *$want( |\$)" || fail "Depends lacks $want: $dep"
done
rec=$(dpkg-deb -f "$DEB" Recommends)
for want in resource-agents sip-tester; do
	echo "$rec" | grep -q "$want" || fail "Recommends lacks $want: $rec"
done
ok "Depends: $dep"

# ---- lintian ---------------------------------------------------------------
lintian -I --pedantic "$DEB" >"$W/lintian" 2>&1
lrc=$?
cat "$W/lintian"
if grep -q '^E:' "$W/lintian" || [ "$lrc" != 0 ]; then fail "lintian (exit $lrc)"; fi
ok "lintian: no error ($(grep -c '^[WIP]:' "$W/lintian") other tags)"

# ---- the packaged sbc.conf --------------------------------------------------
R=$W/root
dpkg-deb -x "$DEB" "$R" || fail "dpkg-deb -x"
diff <("$SBCD" --print-config) "$R/etc/sbc/sbc.conf" | grep '^[<>]' >"$W/confdiff"
cat >"$W/confwant" <<'EOF'
> # The Debian package's copy: control_socket, state_file and
> # flow_key_file are set to the package's /run/sbc and /var/lib/sbc.
< state_file = 
> state_file = /var/lib/sbc/state
< flow_key_file = 
> flow_key_file = /var/lib/sbc/flow.key
< control_socket = sbcd.sock
> control_socket = /run/sbc/sbcd.sock
EOF
diff "$W/confwant" "$W/confdiff" || fail "the packaged sbc.conf differs from sbcd --print-config in more than its paths"
"$R/usr/bin/sbcctl" --help >"$W/help" || fail "sbcctl --help exits $?"
grep -q '/run/sbc/sbcd.sock' "$W/help" || fail "sbcctl --help does not name /run/sbc/sbcd.sock"
[ "$("$R/usr/sbin/sbcd" --version)" = "sbcd $upver" ] || fail "packaged sbcd --version"
if command -v man >/dev/null; then
	for m in sbcd sbcctl sbc-drill; do
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$R/usr/share/man/man8/$m.8.gz" 2>&1 >/dev/null)
		[ -z "$out" ] || fail "man $m: $out"
	done
fi
ok "sbc.conf differs in its paths only; sbcctl --help; the man pages render"

# ---- installed, in a throwaway root (deb_root.sh) -----------------------------
mkdir -p "$W/ovl"
timeout 120 unshare --mount --net --pid --fork --kill-child --mount-proc \
	bash "$(dirname "$0")/deb_root.sh" "$W" "$DEB" >"$W/inside.log" 2>&1
cat "$W/inside.log"
tail -n 1 "$W/inside.log" | grep -qx 'inside: done' || fail "in the throwaway root: $(tail -n 1 "$W/inside.log")"
ok "installed, run as sbcd.service runs it, reloaded, stopped, reinstalled, purged"
