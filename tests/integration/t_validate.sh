#!/bin/bash
# Strict validation: each malformed request gets 400 (or 513/416) with a
# reason that says what is wrong; garbage never crashes or wedges sbcd.
. "$(dirname "$0")/lib.sh"

sbc_conf
sbc_start

# req NAME EXPECTED-STATUS-LINE-PREFIX, message on stdin ("BODY" lines
# after an empty line are the body; Content-Length is written as given)
expect() { # NAME WANT [TIMEOUT]: the message on stdin gets WANT
	local name=$1 want=$2 r
	crlf "$W/$name.txt"
	r=$(raw_udp "$P:5071" "$A" 5060 "$W/$name.txt" "${3:-2}")
	case $r in
	"$want"*) ok "$name: $r" ;;
	*) fail "$name: expected '$want', got '$r'" ;;
	esac
}

hdrs() {
	# the usual headers minus the ones named in $1 (space separated)
	local skip=" ${1:-} " b=z9hG4bK$RANDOM$RANDOM
	case $skip in *" via "*) ;; *) echo "Via: SIP/2.0/UDP $P:5071;branch=$b" ;; esac
	case $skip in *" from "*) ;; *) echo "From: <sip:caller@$P>;tag=1" ;; esac
	case $skip in *" to "*) ;; *) echo "To: <sip:5551234@$A>" ;; esac
	case $skip in *" callid "*) ;; *) echo "Call-ID: v$RANDOM$RANDOM@$P" ;; esac
	case $skip in *" cseq "*) ;; *) echo "CSeq: 1 INVITE" ;; esac
}

expect no_from "SIP/2.0 400 Missing or Duplicate From" < <({ echo "INVITE sip:5551234@$A SIP/2.0"; hdrs from; echo "Content-Length: 0"; echo; })
expect dup_from "SIP/2.0 400 Missing or Duplicate From" < <({ echo "INVITE sip:5551234@$A SIP/2.0"; hdrs; echo "From: <sip:x@$P>;tag=2"; echo "Content-Length: 0"; echo; })
expect no_to "SIP/2.0 400 Missing or Duplicate To" < <({ echo "INVITE sip:5551234@$A SIP/2.0"; hdrs to; echo "Content-Length: 0"; echo; })
expect no_callid "SIP/2.0 400 Missing or Duplicate Call-ID" < <({ echo "INVITE sip:5551234@$A SIP/2.0"; hdrs callid; echo "Content-Length: 0"; echo; })
expect dup_callid "SIP/2.0 400 Missing or Duplicate Call-ID" < <({ echo "INVITE sip:5551234@$A SIP/2.0"; hdrs; echo "Call-ID: second@x"; echo "Content-Length: 0"; echo; })
expect no_cseq "SIP/2.0 400 Missing or Duplicate CSeq" < <({ echo "INVITE sip:5551234@$A SIP/2.0"; hdrs cseq; echo "Content-Length: 0"; echo; })
expect dup_cseq "SIP/2.0 400 Missing or Duplicate CSeq" < <({ echo "INVITE sip:5551234@$A SIP/2.0"; hdrs; echo "CSeq: 2 INVITE"; echo "Content-Length: 0"; echo; })
expect cseq_method "SIP/2.0 400 CSeq Method Mismatch" < <({ echo "INVITE sip:5551234@$A SIP/2.0"; hdrs cseq; echo "CSeq: 1 BYE"; echo "Content-Length: 0"; echo; })
expect bad_maxfwd "SIP/2.0 400 Bad Max-Forwards" < <({ echo "INVITE sip:5551234@$A SIP/2.0"; hdrs; echo "Max-Forwards: abc"; echo "Content-Length: 0"; echo; })
expect big_maxfwd "SIP/2.0 400 Bad Max-Forwards" < <({ echo "INVITE sip:5551234@$A SIP/2.0"; hdrs; echo "Max-Forwards: 300"; echo "Content-Length: 0"; echo; })
expect bad_expires "SIP/2.0 400 Bad Expires" < <({ echo "INVITE sip:5551234@$A SIP/2.0"; hdrs; echo "Expires: soon"; echo "Content-Length: 0"; echo; })
expect clen_mismatch "SIP/2.0 400 Content-Length Mismatch" < <({ echo "INVITE sip:5551234@$A SIP/2.0"; hdrs; echo "Content-Length: 50"; echo; echo "v=0"; })
expect clen_bad "SIP/2.0 400 Bad Content-Length" < <({ echo "INVITE sip:5551234@$A SIP/2.0"; hdrs; echo "Content-Length: x1"; echo; })
expect bad_scheme "SIP/2.0 416" < <({ echo "INVITE im:5551234@$A SIP/2.0"; hdrs; echo "Content-Length: 0"; echo; })
# a From libre cannot parse at all: answered from the raw request (wire.c)
expect bad_from "SIP/2.0 400 Bad From Header" < <({ echo "INVITE sip:5551234@$A SIP/2.0"; hdrs from; echo "From: <nonsense>;tag=1"; echo "Content-Length: 0"; echo; })

# size limits (defaults of a reference SIP firewall)
big=$(head -c 1100 /dev/zero | tr '\0' 'a')
expect long_header "SIP/2.0 400 Header Value Too Long" < <({ echo "INVITE sip:5551234@$A SIP/2.0"; hdrs; echo "Subject: $big"; echo "Content-Length: 0"; echo; })
body=$(head -c 4100 /dev/zero | tr '\0' 'b')
expect big_body "SIP/2.0 513" < <({ echo "INVITE sip:5551234@$A SIP/2.0"; hdrs; echo "Content-Type: application/sdp"; echo "Content-Length: 4102"; echo; echo "$body"; })
expect big_message "SIP/2.0 513 Message Too Large" < <({ echo "INVITE sip:5551234@$A SIP/2.0"; hdrs; for i in $(seq 1 8); do echo "X-Pad-$i: $(head -c 800 /dev/zero | tr '\0' 'p')"; done; echo "Content-Length: 0"; echo; })

# limits are configuration: a smaller header limit takes effect
sbc_stop
sbc_conf "max_header_size = 100"
sbc_start
mid=$(head -c 150 /dev/zero | tr '\0' 'm')
expect configured_limit "SIP/2.0 400 Header Value Too Long" < <({ echo "INVITE sip:5551234@$A SIP/2.0"; hdrs; echo "Subject: $mid"; echo "Content-Length: 0"; echo; })

# garbage and truncated messages: no answer, no crash; from a source of
# its own, which they get banned (they count towards flood_requests)
G=127.0.$T_N.11
python3 - "$G" "$A" <<'PY'
import socket, sys, random
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5072))
base = (b"INVITE sip:1@x SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bKx\r\n"
        b"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\n"
        b"Content-Length: 0\r\n\r\n")
rnd = random.Random(7)
for i in range(3000):
    m = bytearray(base)
    for _ in range(rnd.randint(1, 8)):
        m[rnd.randrange(len(m))] = rnd.randrange(256)
    s.sendto(bytes(m[:rnd.randint(1, len(m))]), (sys.argv[2], 5060))
for junk in (b"", b"\r\n\r\n", b"\x00" * 100, b"SIP/2.0 200 OK\r\n\r\n", b"INVITE\r\n\r\n",
             b"SIP/2.0 999 X\r\nVia: SIP/2.0/UDP 1.1.1.1\r\n\r\n"):
    s.sendto(junk, (sys.argv[2], 5060))
PY
wait_for 100 grep -q "flood: $G sent over" "$W/sbcd.log" \
	|| fail "garbage did not count towards a flood ban"
# the OPTIONS queues behind the fuzz: its answer says all of it was read
expect alive_after_fuzz "SIP/2.0 200" 20 < <({ echo "OPTIONS sip:$A SIP/2.0"; hdrs cseq; echo "CSeq: 1 OPTIONS"; echo "Content-Length: 0"; echo; })
sbc_alive
sbc_stop
