#!/bin/bash
# The media relay (media/relay.c) without SIP: media-relay-test drives the
# engine through its API with real sockets on this test's 127.0.N.x
# addresses (payloads, NAT latching, a third party dropped, counters,
# last-packet time, a re-INVITE moving the media, hold, records, pool
# exhaustion, thousands of sessions without a port or fd leak, IPv6).
# Then sbcd with the Media options: started, `sbcctl media` answers, and
# a bad port range is refused naming file:line.
. "$(dirname "$0")/lib.sh"
SBCCTL=${SBCCTL:?SBCCTL must point to sbcctl}
MEDIATEST=${MEDIATEST:?MEDIATEST must point to media-relay-test}
ctl() { "$SBCCTL" -s "$W/sbcd.sock" "$@"; }

timeout 120 "$MEDIATEST" "$T_N" > "$W/relay.out" 2>&1 \
	|| fail "media-relay-test: $(tail -20 "$W/relay.out")"
grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$W/relay.out" \
	&& fail "sanitizer report: $(head -30 "$W/relay.out")"
ok "relay engine: $(tail -1 "$W/relay.out")"

sbc_conf "media_addr_access = 127.0.$T_N.11" "media_port_min = 31001" \
	"media_port_max = 31100" "media_threads = 2"
sbc_start
grep -q "media relay: access 127.0.$T_N.11, core $C, ports 31001-31100, 2 thread(s)" \
	"$W/sbcd.log" || fail "no media start line: $(grep media "$W/sbcd.log")"
ctl media > "$W/media.out" || fail "sbcctl media: $(cat "$W/media.out")"
grep -q '^media_sessions 0$' "$W/media.out" || fail "media: $(cat "$W/media.out")"
# 31001 rounds up to 31002; 31100 has no odd port above it in range
grep -q '^media_port_pairs_total 49$' "$W/media.out" \
	|| fail "pairs: $(cat "$W/media.out")"
grep -q '^media_threads 2$' "$W/media.out" || fail "threads: $(cat "$W/media.out")"
sbc_stop
ok "sbcd starts the relay from its options; sbcctl media reports it"

sbc_conf "media_port_min = 31000" "media_port_max = 31002"
sbc_write_conf
"$SBCD" -t -f "$W/sbcd.conf" > "$W/t.out" 2>&1 && fail "a 1-pair range was accepted"
grep -q "sbcd.conf:[0-9]*: media_port_max must be at least" "$W/t.out" \
	|| fail "bad range: $(cat "$W/t.out")"
ok "a media port range under two pairs is refused with file:line"
