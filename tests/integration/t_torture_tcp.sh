#!/bin/bash
# RFC 4475 section 3 over TCP, a connection per message: as over UDP
# (t_torture_udp.sh), and what cannot be framed ends its connection.
. "$(dirname "$0")/t_torture_udp.sh"
torture_run tcp
ok "RFC 4475 over TCP"
