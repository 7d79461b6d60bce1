#!/bin/sh
# mkconf.sh SBCD OUT: the Debian package's /etc/sbc/sbc.conf, which is
# `sbcd --print-config` (conf/sbc.conf) with only its paths changed to
# the package's directories: control_socket in /run/sbc (sbcd.service's
# RuntimeDirectory, tmpfiles.d for a cluster node), state_file and
# flow_key_file in /var/lib/sbc (StateDirectory). Fails if an option it
# sets is missing from the printed file.
set -e
sbcd=$1
out=$2
"$sbcd" --print-config >"$out.tmp"
sed -i \
	-e '1a# The Debian package'"'"'s copy: control_socket, state_file and\
# flow_key_file are set to the package'"'"'s /run/sbc and /var/lib/sbc.' \
	-e 's|^control_socket = sbcd\.sock$|control_socket = /run/sbc/sbcd.sock|' \
	-e 's|^state_file = $|state_file = /var/lib/sbc/state|' \
	-e 's|^flow_key_file = $|flow_key_file = /var/lib/sbc/flow.key|' \
	"$out.tmp"
for want in "control_socket = /run/sbc/sbcd.sock" \
	"state_file = /var/lib/sbc/state" \
	"flow_key_file = /var/lib/sbc/flow.key"; do
	grep -qx "$want" "$out.tmp" || {
		echo "mkconf.sh: '$want' not set: sbcd --print-config changed" >&2
		exit 1
	}
done
mv "$out.tmp" "$out"
