/*
 * conf.c: the option table and the parser of sbc.conf.
 *
 * Every option is declared once below, with its default and doc line.
 * Defaults go through the same setter as file values, so a default can
 * never be something the parser would refuse.  Errors name file and line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <ctype.h>
#include "sbc.h"
#include "blacklist.h"

enum conf_type {
	CT_LOGLEVEL,
	CT_UINT,
	CT_BOOL,
	CT_ADDR,
	CT_STR,
	CT_PATH,
	CT_URI,
	CT_NUMLIST,
	CT_NETLIST,             /* peer: 192.0.2.0/24, 2001:db8::1 */
	CT_TRANSPORTS,          /* peer: udp, tcp, tls */
	CT_OPTUINT,             /* like CT_UINT; empty: CONF_SAME */
	CT_MODE,                /* screening_mode: relay, redirect */
	CT_FAIL,                /* verdict_fail: open, closed */
	CT_OPTADDR,             /* like CT_ADDR; empty: unset */
	CT_KEEPALIVE,           /* keepalive: options, crlf, none */
	CT_MEDIA,               /* peer media: pass, rtp, srtp */
	CT_CLUSTER,             /* cluster: none, corosync */
};

/* The words of the one-word types, in the order of their enums (conf.h);
 * a value is stored as its index. */
static const char *const choicev[] = {
	[CT_MODE] = "relay,redirect",
	[CT_FAIL] = "open,closed",
	[CT_KEEPALIVE] = "options,crlf,none",
	[CT_MEDIA] = "pass,rtp,srtp",
	[CT_CLUSTER] = "none,corosync",
};

struct conf_opt {
	const char *section;      /* starts a new section in the output */
	const char *name;
	enum conf_type type;
	size_t off;
	const char *def;
	uint32_t min, max;
	const char *doc;
	unsigned flags;
};

/* Options bound to sockets, files opened or memory sized at start-up:
 * a reload keeps their running value (and says so). */
#define CF_RESTART 1u
/* A password: `sbcd -t -v` shows whether it is set, not what it is. */
#define CF_SECRET 2u

#define O(f) offsetof(struct sbc_conf, f)

static const struct conf_opt optv[] = {
	{"Logging", "log_level", CT_LOGLEVEL, O(log_level), "info", 0, 0,
	 "Log level: error, warn, info or debug.", 0},
	{NULL, "log_remote_rate", CT_UINT, O(log_remote_rate), "100", 0,
	 1000000, "Most log lines a second, all together, of those remote "
	 "input causes one a message (an invalid message, a request for no "
	 "known call, a refused call, a forged flow token): past it they "
	 "are counted, and a line a second tells how many were left out, so "
	 "that a flood of bad messages does not flood the log. sbcd's own "
	 "lines (bans, cluster, configuration) are never left out; the "
	 "security log has its own limit. 0: no limit.", 0},

	{"Access side (customers' PBXs, the Internet)",
	 "access_addr", CT_ADDR, O(access_addr), "127.0.0.1", 0, 0,
	 "IP address the access-side listeners bind to (IPv4 or IPv6).",
	 CF_RESTART},
	{NULL, "access_port", CT_UINT, O(access_port), "5060", 1, 65535,
	 "UDP and TCP port on the access side.",
	 CF_RESTART},
	{NULL, "access_tls_port", CT_UINT, O(access_tls_port), "5061", 0, 65535,
	 "TLS port on the access side; 0 disables the TLS listener.",
	 CF_RESTART},
	{NULL, "access_tls_cert", CT_PATH, O(access_tls_cert), "tls/sbc.crt",
	 0, 0, "PEM certificate (chain) of the access-side TLS listener.",
	 CF_RESTART},
	{NULL, "access_tls_key", CT_PATH, O(access_tls_key), "tls/sbc.key",
	 0, 0, "PEM private key of the access-side TLS listener.",
	 CF_RESTART},
	{NULL, "access_tls_verify_client", CT_BOOL,
	 O(access_tls_verify_client), "no", 0, 0,
	 "Require a client certificate signed by access_tls_ca from customers "
	 "connecting over TLS; a bad or missing certificate is refused.",
	 CF_RESTART},
	{NULL, "access_tls_ca", CT_PATH, O(access_tls_ca), "", 0, 0,
	 "PEM CA bundle that verifies customers' client certificates.",
	 CF_RESTART},
	{NULL, "symmetric_responses", CT_BOOL, O(symmetric_responses), "yes",
	 0, 0, "Send every response on the access side (sbcd's own and "
	 "relayed ones, 2xx retransmissions too) back to the UDP source "
	 "address and port of the request, even when its Via has no rport, "
	 "as customers behind NAT need; sbcd's Via to the core then carries "
	 "rport. no: RFC 3261 18.2.2 (the received address, the Via's port; "
	 "rport honoured, RFC 3581). The core side keeps the RFCs.", 0},

	{"Core side (the provider's switch, the screening upstream)",
	 "core_addr", CT_ADDR, O(core_addr), "127.0.0.2", 0, 0,
	 "IP address the core-side listeners bind to; may differ from "
	 "access_addr (two interfaces) or be the same with other ports.",
	 CF_RESTART},
	{NULL, "core_port", CT_UINT, O(core_port), "5060", 1, 65535,
	 "UDP and TCP port on the core side.",
	 CF_RESTART},
	{NULL, "core_tls_port", CT_UINT, O(core_tls_port), "5061", 0, 65535,
	 "TLS port on the core side (the upstream's in-dialog requests come "
	 "here); 0 picks an ephemeral port when the upstream needs TLS.",
	 CF_RESTART},
	{NULL, "core_tls_cert", CT_PATH, O(core_tls_cert), "tls/sbc.crt", 0, 0,
	 "PEM certificate of the core side: served on core_tls_port and "
	 "presented to the upstream as client certificate. Empty: none.",
	 CF_RESTART},
	{NULL, "core_tls_key", CT_PATH, O(core_tls_key), "tls/sbc.key", 0, 0,
	 "PEM private key for core_tls_cert.",
	 CF_RESTART},

	{"Screening upstream",
	 "upstream", CT_URI, O(upstream),
	 "sip:127.0.0.3:5061;transport=tls", 0, 0,
	 "Where out-of-dialog requests from the access side go, e.g. "
	 "sip:screen.example.net:5061;transport=tls (transport=tcp or udp "
	 "allowed, e.g. to read traces).", 0},
	{NULL, "upstream_tls_name", CT_STR, O(upstream_tls_name), "", 0, 0,
	 "Name the upstream's certificate must carry (also sent as SNI). "
	 "Empty: the host part of upstream.", 0},
	{NULL, "upstream_ca", CT_PATH, O(upstream_ca),
	 "/etc/ssl/certs/ca-certificates.crt", 0, 0,
	 "PEM CA bundle that verifies the upstream's certificate.",
	 CF_RESTART},
	{NULL, "upstream_timeout", CT_UINT, O(upstream_timeout), "800",
	 100, 60000,
	 "Milliseconds to wait for any answer (even 100 Trying) from the "
	 "upstream before the caller gets 503 and route-advances.", 0},
	{NULL, "screening_mode", CT_MODE, O(screening_mode), "relay", 0, 0,
	 "relay: the upstream's answer to an INVITE goes back to the caller. "
	 "redirect: the upstream is asked for a verdict (the INVITE with "
	 "P-Received, P-UA, P-Calls); a 302 whose Contact user starts with "
	 "verdict_approve_prefix lets the call go on to switch, a 603 is "
	 "relayed, any other answer gets 403.", 0},
	{NULL, "switch", CT_URI, O(switch_uri), "", 0, 0,
	 "Redirect mode: where approved calls go with their original "
	 "Request-URI (the provider's switch, core side), e.g. "
	 "sip:switch.example.net;transport=tcp; required in redirect mode.",
	 0},
	{NULL, "verdict_timeout", CT_UINT, O(verdict_timeout), "1500", 50,
	 30000, "Redirect mode: milliseconds to wait for a final verdict "
	 "(provisional answers do not count) before verdict_fail applies.",
	 0},
	{NULL, "verdict_fail", CT_FAIL, O(verdict_fail), "open", 0, 0,
	 "Redirect mode: what a verdict timeout, a transport failure or a 5xx "
	 "verdict means. open: the call goes on to switch (a screening outage "
	 "does not stop the customers' traffic); closed: 503 to the caller, "
	 "which route-advances.", 0},
	{NULL, "verdict_approve_prefix", CT_STR, O(verdict_approve_prefix),
	 "A00", 0, 0, "Redirect mode: a 302 verdict approves the call when "
	 "the user of its (first) Contact starts with this (case-sensitive).",
	 0},

	{"Emergency calls (never screened, never sent to the upstream)",
	 "emergency_numbers", CT_NUMLIST, O(emergency_numbers),
	 "911,933,112,999", 0, 0,
	 "Comma-separated Request-URI users that are emergency calls.", 0},
	{NULL, "emergency_route", CT_URI, O(emergency_route), "", 0, 0,
	 "Where emergency calls go (e.g. the provider's switch). Empty: they "
	 "get 503 so the sender route-advances, and a warning at start-up.", 0},

	{"Registrations",
	 "registrar", CT_URI, O(registrar), "", 0, 0,
	 "Where REGISTERs from the access side go (core side), with a Path "
	 "header through sbcd (RFC 3327), e.g. sip:reg.example.net:5060;"
	 "transport=tcp. Empty: REGISTERs get 403.", 0},
	{NULL, "path_received", CT_BOOL, O(path_received), "yes", 0, 0,
	 "sbcd's Path entry carries received=, the address, port and "
	 "transport the REGISTER came from as an escaped SIP URI (e.g. "
	 "received=sip:203.0.113.5:40312%3Btransport%3Dudp), which "
	 "registrars that record it (Kamailio's path_use_received, "
	 "OpenSIPS) show as where the user really is; calls still go along "
	 "the Path, to sbcd.", 0},
	{NULL, "topology_hiding", CT_BOOL, O(topology_hiding), "yes", 0, 0,
	 "Hide core-side addresses (Via, Record-Route, Contact, Path, "
	 "Service-Route) from remote users and from access-side "
	 "destinations no peer declares; peers have their own option.", 0},
	{NULL, "callid_hiding", CT_BOOL, O(callid_hiding), "no", 0, 0,
	 "Show each side a call's Call-ID in another form (encrypted, "
	 "stateless, keyed by the flow key), so that a core that writes its "
	 "address into Call-IDs does not show it; the core then sees "
	 "customers' Call-IDs masked too. Every message crossing sbcd is "
	 "mapped, in both directions.", CF_RESTART},
	{NULL, "state_file", CT_PATH, O(state_file), "", 0, 0,
	 "File the answered calls (with their media sessions), counters, "
	 "UDP bindings, run-time blacklist rules, bans and password-"
	 "guessing user locks are written to at a clean stop and read "
	 "back (then removed) at the next start, so that a planned restart "
	 "of a standalone node keeps its calls. Empty: none.", CF_RESTART},
	{NULL, "flow_key_file", CT_PATH, O(flow_key_file), "", 0, 0,
	 "File of the key that signs Path flow tokens (32 bytes, created "
	 "mode 0600 if missing), so that registrations stay reachable "
	 "across a restart (and a cluster can share it). Empty: a new key "
	 "at each start: users are reachable again once they re-register.",
	 CF_RESTART},
	{NULL, "remote_users", CT_BOOL, O(remote_users), "no", 0, 0,
	 "Phones and PBXs that are no declared peer may REGISTER (to "
	 "registrar, guarded against password guessing) and, while they "
	 "hold a binding, call from the address they registered from.", 0},
	{NULL, "remote_user_profile", CT_STR, O(remote_user_profile), "", 0, 0,
	 "The [profile NAME] of remote users' calls, counted per AOR; empty: "
	 "none.", 0},
	{NULL, "max_bindings", CT_UINT, O(max_bindings), "200000", 1,
	 100000000, "Registrations recorded at most; past it a newly "
	 "registered user cannot call (and a warning is logged).", 0},
	{NULL, "register_max_expires", CT_UINT, O(register_max_expires),
	 "3600", 1, 604800, "Longest registration, in seconds: a REGISTER "
	 "asking for more (Expires header or a Contact's expires) is sent "
	 "to the registrar asking for this, so its 200 tells the client.", 0},
	{NULL, "register_min_expires", CT_UINT, O(register_min_expires), "60",
	 1, 604800, "Shortest registration, in seconds: a REGISTER asking "
	 "for less (but not 0, a de-registration) asks for this instead.", 0},
	{NULL, "keepalive", CT_KEEPALIVE, O(keepalive), "options", 0, 0,
	 "NAT keep-alive towards registered UDP clients, every "
	 "keepalive_interval: options (an OPTIONS request; any answer, even "
	 "an error, is a sign of life), crlf (a CRLFCRLF packet: keeps the "
	 "NAT open but brings no answer, so UDP clients are not judged) or "
	 "none. TCP and TLS clients get a CRLFCRLF ping (RFC 5626 4.4.1; "
	 "their own pings get a CRLF pong) and are unreachable once their "
	 "connection is gone.", 0},
	{NULL, "keepalive_interval", CT_UINT, O(keepalive_interval), "30", 1,
	 3600, "Seconds between two keep-alives to one client (the clients "
	 "are spread over the interval).", 0},
	{NULL, "keepalive_timeout", CT_UINT, O(keepalive_timeout), "90", 2,
	 86400, "Seconds without a sign of life (an answer to a keep-alive, "
	 "a request from its address) after which a client is marked "
	 "unreachable (sbcctl bindings, log, security event); over TCP and "
	 "TLS, unacknowledged pings close its connection after this long. "
	 "Must be above keepalive_interval.", 0},

	{"Message validation and limits",
	 "max_message_size", CT_UINT, O(max_message_size), "6048", 512,
	 65535, "Largest SIP message accepted, in bytes (larger: 513).", 0},
	{NULL, "max_body_size", CT_UINT, O(max_body_size), "4000", 0, 65535,
	 "Largest message body (SDP) accepted, in bytes (larger: 400).", 0},
	{NULL, "max_header_size", CT_UINT, O(max_header_size), "1024", 64,
	 65535, "Largest value of any one header, in bytes (larger: 400).", 0},
	{NULL, "tcp_message_timeout", CT_UINT, O(tcp_message_timeout), "10", 0,
	 3600, "Seconds a SIP message begun on a TCP or TLS connection may "
	 "take to arrive whole; then the connection is closed (RFC 4475 "
	 "3.1.2.2). 0: no limit.", 0},
	{NULL, "udp_mtu", CT_UINT, O(udp_mtu), "1300", 512, 65000,
	 "A request larger than this is sent over TCP instead of UDP "
	 "(RFC 3261 18.1.1).", 0},
	{NULL, "invite_timeout", CT_UINT, O(invite_timeout), "180", 10, 3600,
	 "Seconds an INVITE may ring after a provisional answer before it "
	 "is cancelled (timer C, RFC 3261 16.6).", 0},
	{NULL, "loop_detect", CT_BOOL, O(loop_detect), "yes", 0, 0,
	 "Answer 482 to a request that already passed through this node.", 0},

	{NULL, "overload_cpu", CT_UINT, O(overload_cpu), "90", 1, 100,
	 "Overload control: percent of a core sbcd must be using...", 0},
	{NULL, "overload_queue", CT_UINT, O(overload_queue), "30", 0, 100,
	 "...while a UDP receive buffer is at least this percent full, both "
	 "for two looks in a row, for new calls to get 503 with Retry-After "
	 "(calls in progress and emergency calls are still served); it ends "
	 "when the buffer is under half this mark. 0 disables overload "
	 "control.", 0},
	{NULL, "overload_interval", CT_UINT, O(overload_interval), "100", 10,
	 5000, "Milliseconds between two looks at CPU and receive queues.",
	 CF_RESTART},

	{"Control",
	 "control_socket", CT_PATH, O(control_socket), "sbcd.sock", 0, 0,
	 "Unix socket sbcctl talks to (blacklist rules at run time, bans, "
	 "counters); e.g. /run/sbc/sbcd.sock. Empty: none.",
	 CF_RESTART},
	{NULL, "metrics_listen", CT_STR, O(metrics_listen), "", 0, 0,
	 "ADDR:PORT ([IPv6]:PORT) of the Prometheus metrics (GET /metrics: "
	 "the figures of sbcctl stats, events, media and role, calls by "
	 "peer, CPU and memory); a management address, e.g. "
	 "192.0.2.10:9259. Empty: none.", CF_RESTART},

	{"SIP trace",
	 "hep_dest", CT_STR, O(hep_dest), "", 0, 0,
	 "ADDR:PORT ([IPv6]:PORT) of a HEP capture server (Homer, "
	 "heplify-server, Kamailio or OpenSIPS sipcapture): every SIP message "
	 "sbcd receives or sends, on both sides, goes there as HEPv3 over "
	 "UDP. Empty: none.", CF_RESTART},
	{NULL, "hep_capture_id", CT_UINT, O(hep_capture_id), "1", 0,
	 2147483647, "The capture agent id in each HEP message (the node, "
	 "to the capture server).", CF_RESTART},
	{NULL, "hep_password", CT_STR, O(hep_password), "", 0, 0,
	 "The HEP authentication key, if the capture server wants one.",
	 CF_RESTART | CF_SECRET},

	{"Security events",
	 "security_log", CT_PATH, O(security_log), "", 0, 0,
	 "File the security events go to, one JSON line each (rule, action, "
	 "source, From, To, User-Agent, Call-ID). Empty: standard error.",
	 CF_RESTART},
	{NULL, "security_log_rate", CT_UINT, O(security_log_rate), "200", 1,
	 1000000, "Most security log lines a second; the rest are counted "
	 "and summarised, so that a flood does not flood the log.", 0},

	{"Blacklists (and the [blacklist NAME] sections at the end)",
	 "scanner_signatures", CT_BOOL, O(scanner_signatures), "yes", 0, 0,
	 "Built-in rules against SIP scanners (friendly-scanner, sipvicious, "
	 "sipcli, VaxSIPUserAgent, SimpleSIP, From probes like "
	 "sip:100@1.1.1.1, ...): dropped; FPBX and Cisco-SIPGateway user "
	 "agents, which real equipment sends too, are logged only.", 0},

	{"Flood protection",
	 "flood_requests", CT_UINT, O(flood_requests), "300", 0, 10000000,
	 "Requests one source address may send in flood_window seconds; "
	 "past it the source is banned. 0: no limit.", 0},
	{NULL, "flood_window", CT_UINT, O(flood_window), "2", 1, 3600,
	 "Seconds of the flood counting window.", 0},
	{NULL, "flood_ban", CT_UINT, O(flood_ban), "300", 1, 604800,
	 "Seconds a flooding source stays banned (all it sends dropped).", 0},
	{NULL, "flood_kernel_filter", CT_BOOL, O(flood_kernel_filter), "yes",
	 0, 0, "Drop banned IPv4 sources in the kernel (a BPF filter on the "
	 "access UDP socket), so a flood far past what sbcd can parse costs "
	 "nothing. The kernel drops all they send, emergency calls too; no: "
	 "sbcd drops them itself and lets their emergency INVITEs through.",
	 CF_RESTART},
	{NULL, "scanner_ban", CT_UINT, O(scanner_ban), "600", 0, 604800,
	 "Seconds a source that matched a built-in scanner signature (with "
	 "action drop or 403) stays banned, all it sends dropped (in the "
	 "kernel too) and the ban shared like flood bans. 0: each message is "
	 "judged alone.", 0},
	{NULL, "flood_sources", CT_UINT, O(flood_sources), "200000", 1000,
	 10000000, "Source addresses tracked at most; past it new sources "
	 "are not counted (and a warning is logged).",
	 CF_RESTART},

	{"Password guessing (registration hijack)",
	 "auth_fail_limit", CT_UINT, O(auth_fail_limit), "5", 0, 1000000,
	 "Failed REGISTERs (401, 407 or 403 to one that carried credentials) "
	 "per user and per source address within auth_fail_window; at the "
	 "limit the source is banned for auth_fail_ban seconds and the user's "
	 "REGISTERs are dropped until the window passes. 0: no limit.", 0},
	{NULL, "auth_fail_window", CT_UINT, O(auth_fail_window), "60", 1,
	 86400, "Seconds of the failed-REGISTER counting window (and of a "
	 "user's lock).", 0},
	{NULL, "auth_fail_ban", CT_UINT, O(auth_fail_ban), "3600", 1, 604800,
	 "Seconds a password-guessing source stays banned (listed by sbcctl "
	 "bans, like flood bans).", 0},
	{NULL, "auth_fail_tracked", CT_UINT, O(auth_fail_tracked), "100000",
	 100, 10000000, "Users, and source addresses, whose failures are "
	 "counted at most; past it new ones are not counted (a warning and a "
	 "security event).", 0},

	{"Access-side peers (see the [peer NAME] sections at the end)",
	 "unknown_source_reply", CT_BOOL, O(unknown_reply), "no", 0, 0,
	 "Answer 403 to requests from a source no peer matches; no: drop "
	 "them silently (an answer teaches a scanner something).", 0},

	{"Calls (dialogs) and fraud profiles (the [profile NAME] sections)",
	 "max_dialogs", CT_UINT, O(max_dialogs), "200000", 1, 100000000,
	 "Calls tracked at most; past it new calls get 503.", 0},
	{NULL, "dialog_check", CT_BOOL, O(dialog_check), "yes", 0, 0,
	 "Answer 481 to requests from the access side inside an INVITE "
	 "or SUBSCRIBE dialog (BYE, re-INVITE, ACK, UPDATE, INFO, PRACK, "
	 "REFER, SUBSCRIBE, NOTIFY) that belong to no dialog sbcd let "
	 "through: a forged dialog cannot skip screening. Calls up before "
	 "a restart of a standalone node are then unknown (unless "
	 "state_file kept them; a cluster keeps them).", 0},
	{NULL, "dialog_max_duration", CT_UINT, O(dialog_max_duration),
	 "43200", 1, 604800,
	 "Longest call: past it sbcd hangs up (a BYE to both parties) and "
	 "frees its counters and media ports.", 0},

	{"Media relay (media/relay.c; not yet used by calls)",
	 "media_addr_access", CT_OPTADDR, O(media_addr_access), "", 0, 0,
	 "IP address the access-side media sockets bind to (what customers' "
	 "phones send RTP to). Empty: access_addr.",
	 CF_RESTART},
	{NULL, "media_addr_core", CT_OPTADDR, O(media_addr_core), "", 0, 0,
	 "IP address the core-side media sockets bind to. Empty: core_addr.",
	 CF_RESTART},
	{NULL, "media_anchor", CT_BOOL, O(media_anchor), "yes", 0, 0,
	 "Anchor every call's media on sbcd: SDP offers and answers are "
	 "rewritten to its media addresses and RTP/RTCP relayed; no: SDP "
	 "passes untouched.", 0},
	{NULL, "media_port_min", CT_UINT, O(media_port_min), "30000", 1024,
	 65534, "First UDP port of the media port pool (rounded up to even: "
	 "RTP even, RTCP the odd port above).",
	 CF_RESTART},
	{NULL, "media_port_max", CT_UINT, O(media_port_max), "39999", 1025,
	 65535, "Last UDP port of the media port pool; each stream of a call "
	 "takes one pair on each side.",
	 CF_RESTART},
	{NULL, "media_threads", CT_UINT, O(media_threads), "1", 1, 64,
	 "Worker threads that relay media (each with its own epoll); calls "
	 "are spread over them round-robin.",
	 CF_RESTART},
	{NULL, "media_timeout", CT_UINT, O(media_timeout), "120", 0, 86400,
	 "Seconds without a media packet after which an answered call is "
	 "hung up by sbcd (a BYE to both parties). 0: never.", 0},
	{NULL, "media_sockbuf", CT_UINT, O(media_sockbuf), "262144", 0,
	 67108864, "Receive and send buffer of each media socket, in bytes "
	 "(the kernel caps it at net.core.rmem_max/wmem_max); 0: the "
	 "kernel's default.", CF_RESTART},
	{NULL, "media_max_forks", CT_UINT, O(media_max_forks), "8", 1, 64,
	 "Early dialogs (forks of a call, each with its own SDP answer) whose "
	 "media sbcd keeps per call; past it the oldest one not relayed is "
	 "forgotten.", 0},
	{NULL, "media_max_sessions", CT_UINT, O(media_max_sessions), "20000",
	 1, 1000000, "Calls with relayed media at most; past it (or with the "
	 "port pool exhausted) new calls get 503.",
	 CF_RESTART},

	{"Cluster: an active/standby pair over Corosync (cluster/)",
	 "cluster", CT_CLUSTER, O(cluster), "none", 0, 0,
	 "none: a standalone node. corosync: one node of a pair; every call, "
	 "media session, binding, counter, ban and run-time rule is "
	 "replicated over Corosync CPG, the node starts as a silent standby "
	 "and `sbcctl role active` (the Pacemaker agent) makes it the "
	 "active. SIP and media sockets bind the service addresses before "
	 "they are local (IP_FREEBIND).", CF_RESTART},
	{NULL, "cluster_group", CT_STR, O(cluster_group), "sbc", 0, 0,
	 "CPG group of the pair: the nodes of one pair use the same name, "
	 "two pairs on one Corosync ring different ones.", CF_RESTART},
	{NULL, "cluster_msg_max", CT_UINT, O(cluster_msg_max), "262144",
	 4096, 1048576, "Bytes of one replication message at most: records "
	 "made in one turn of the event loop travel together, and a "
	 "snapshot for a joining node is cut into messages of this size.",
	 0},
	{NULL, "cluster_window", CT_UINT, O(cluster_window), "1", 0, 64,
	 "Replication messages on their way at most (sent, not yet "
	 "delivered back in agreed order). Meanwhile the changes made wait "
	 "(20 ms at most) and leave together: under load fewer, larger "
	 "messages, which is what Corosync's CPU follows, while an idle "
	 "pair sends each change at once. 0: one message each turn of the "
	 "event loop, however many are on their way.", 0},
	{NULL, "cluster_peer_down_exec", CT_STR, O(cluster_peer_down_exec),
	 "", 0, 0, "A program (with fixed arguments, split on blanks; no "
	 "shell) that a standby runs when the active's sbcd dies while its "
	 "node stays in the membership (Corosync: procdown), with the "
	 "node id and PID of the dead process appended. Corosync tells the "
	 "standby at once, Pacemaker only at the active's next monitor: "
	 "ra/sbcd-peer-down tells Pacemaker now (crm_resource --fail). "
	 "Empty: nothing is run.", 0},
	{NULL, "cluster_media_drain", CT_UINT, O(cluster_media_drain), "3000",
	 0, 60000, "Milliseconds an active that steps down (role standby, "
	 "lost quorum) keeps relaying the media of its calls: until its "
	 "service addresses move (the README's recipe moves them once the "
	 "new active is promoted), the calls' RTP still arrives here, and "
	 "dropping it would make the whole switchover a gap. It sends no "
	 "SIP meanwhile. 0: silent at once.", 0},
	{NULL, "cluster_quorum_settle", CT_UINT, O(cluster_quorum_settle),
	 "6000", 0, 60000, "Milliseconds a quorum regained without a new "
	 "membership must hold before this node counts itself quorate (and "
	 "may be promoted). Corosync 3.1's votequorum can report a node "
	 "that its quorum device has just voted out quorate again for up "
	 "to one poll of the device (half of quorum.device.timeout, 5 s by "
	 "default): two quorate halves. A new membership's quorum is "
	 "counted at once; losing quorum always is. 0: counted at once.",
	 0},
	{NULL, "cluster_queue_max", CT_UINT, O(cluster_queue_max),
	 "268435456", 1048576, 4294967295U, "Bytes of replication held at "
	 "most: messages Corosync cannot take yet (CS_ERR_TRY_AGAIN), and "
	 "on a joining node the changes that arrive while its snapshot "
	 "does. Past it messages are dropped and counted, and a standby "
	 "that misses one asks for a new snapshot.", 0},

	{"Redis: bans, run-time rules and fraud counters shared by every pair "
	 "(cluster/redis.c)",
	 "redis", CT_STR, O(redis), "", 0, 0,
	 "HOST:PORT ([IPv6]:PORT) or unix:/path/of.sock of the Redis server "
	 "every pair shares; empty: no Redis (and no sentinels). Bans, "
	 "run-time blacklist rules and the counters of daily and per-minute "
	 "quotas are written there by the active node and read back by every "
	 "other pair; decisions never wait for it.", CF_RESTART},
	{NULL, "redis_user", CT_STR, O(redis_user), "", 0, 0,
	 "ACL user of AUTH (Redis 6); empty: AUTH with the password alone.",
	 CF_RESTART},
	{NULL, "redis_password", CT_STR, O(redis_password), "", 0, 0,
	 "Password of AUTH (not sent to the sentinels); empty: no AUTH. A "
	 "wrong one stops sbcd at start and fails `sbcd -t` when Redis can "
	 "be reached.", CF_RESTART | CF_SECRET},
	{NULL, "redis_db", CT_UINT, O(redis_db), "0", 0, 65535,
	 "Database number (SELECT).", CF_RESTART},
	{NULL, "redis_prefix", CT_STR, O(redis_prefix), "sbc", 0, 0,
	 "Prefix of every key and of the channel: deployments that must not "
	 "share bans or quotas use different ones on one Redis.", CF_RESTART},
	{NULL, "redis_timeout", CT_UINT, O(redis_timeout), "1000", 50,
	 60000, "Milliseconds Redis may take to connect or to answer before "
	 "the node counts it down, decides on local state alone and keeps "
	 "its changes for later.", CF_RESTART},
	{NULL, "redis_sentinels", CT_STR, O(redis_sentinels), "", 0, 0,
	 "Comma-separated HOST:PORT of Redis Sentinels: the node asks them "
	 "for the master of redis_master_name (redis is then not needed) "
	 "and follows +switch-master.", CF_RESTART},
	{NULL, "redis_master_name", CT_STR, O(redis_master_name), "", 0, 0,
	 "Name the sentinels monitor the master under.", CF_RESTART},
	{NULL, "redis_queue_max", CT_UINT, O(redis_queue_max), "100000", 16,
	 10000000, "Changes kept at most for Redis while it is down or "
	 "slow (about 200 bytes each); past it changes are dropped and "
	 "counted (redis_dropped).", CF_RESTART},
	{NULL, "redis_start_wait", CT_UINT, O(redis_start_wait), "5000", 0,
	 600000, "Milliseconds sbcd waits at start for Redis' bans, rules "
	 "and counters before it listens; without them by then it starts "
	 "on local state and loads them once Redis answers.", CF_RESTART},

	{"System resources",
	 "max_fds", CT_UINT, O(max_fds), "65536", 1024, 1048576,
	 "File descriptors (sockets) the daemon may hold.",
	 CF_RESTART},
	{NULL, "tcp_backlog", CT_UINT, O(tcp_backlog), "4096", 16, 65535,
	 "Listen backlog of TCP and TLS listeners.",
	 CF_RESTART},
	{NULL, "udp_sockbuf", CT_UINT, O(udp_sockbuf), "4194304", 65536,
	 268435456, "UDP socket receive and send buffer, in bytes.",
	 CF_RESTART},
	{NULL, "hash_size", CT_UINT, O(hash_size), "131072", 16, 1048576,
	 "Buckets of the transaction and call tables (rounded to a power "
	 "of 2). UDP transactions linger 32 s, so at 4000 calls/s some "
	 "250,000 live at once: with too few buckets every message walks "
	 "long chains (16 bytes a bucket, 6 tables).",
	 CF_RESTART},
	{NULL, "prefault_mb", CT_UINT, O(prefault_mb), "128", 0, 65536,
	 "Megabytes of heap touched at start-up and kept, so that calls do "
	 "not pay page faults while the transaction tables grow; the heap "
	 "is then never given back (a fixed pool). 0: none, glibc's "
	 "defaults.",
	 CF_RESTART},
};

#define P(f) offsetof(struct conf_peer, f)

/* The options of a [peer NAME] section. */
static const struct conf_opt peer_optv[] = {
	{NULL, "addr", CT_NETLIST, P(netv), "", 0, 0,
	 "Source addresses of the peer: IPs or networks (CIDR), comma-"
	 "separated; required.", 0},
	{NULL, "transports", CT_TRANSPORTS, P(transports), "udp,tcp,tls", 0, 0,
	 "Transports the peer may use: udp, tcp, tls.", 0},
	{NULL, "profile", CT_STR, P(profile), "", 0, 0,
	 "Policy profile of the peer's calls.", 0},
	{NULL, "cps", CT_UINT, P(cps), "0", 0, 100000,
	 "New calls a second admitted from the peer (token bucket); over it "
	 "503. 0: no limit.", 0},
	{NULL, "cps_burst", CT_UINT, P(cps_burst), "0", 0, 1000000,
	 "Calls the bucket holds (a burst). 0: as many as cps.", 0},
	{NULL, "flood_exempt", CT_BOOL, P(flood_exempt), "no", 0, 0,
	 "Do not apply the per-source flood limit to this peer (a big trunk "
	 "whose rate cps limits instead).", 0},
	{NULL, "topology_hiding", CT_BOOL, P(topology_hiding), "yes", 0, 0,
	 "Hide core-side addresses from this peer (Via, Record-Route, "
	 "Contact, Path).", 0},
	{NULL, "nat", CT_BOOL, P(nat), "yes", 0, 0,
	 "The peer may be behind NAT: requests of its calls go to the "
	 "address and port (TCP/TLS: the connection) its INVITE came from "
	 "or was sent to, and the core sees sbcd's address as its Contact. "
	 "no: its Contact is routable, in-dialog requests follow it.", 0},
	{NULL, "media", CT_MEDIA, P(media), "pass", 0, 0,
	 "Media towards this peer: srtp (SDES a=crypto: sbcd terminates "
	 "SRTP with its own keys, the core side gets RTP), rtp (plain RTP "
	 "only: an offer with keys gets 488), pass (RTP or SRTP end to "
	 "end, untouched).", 0},
};

static const char peer_example[] =
	"\n# ==== Peers ====\n"
	"\n"
	"# Customer trunks, each in a [peer NAME] section with its own options:\n"
	"#   addr = IPs or CIDR networks, comma-separated (required)\n"
	"#   transports = udp, tcp, tls (default: all three)\n"
	"#   profile = the policy profile of its calls\n"
	"#   cps, cps_burst = call admission: new calls a second (token bucket)\n"
	"#   flood_exempt = yes: no per-source flood limit for this peer\n"
	"#   topology_hiding = no: let it see core addresses (default yes)\n"
	"#   nat = no: its Contact is routable; yes (default): requests of its\n"
	"#     calls go to the address (or connection) its calls came from\n"
	"#   media = srtp | rtp | pass: SRTP (SDES) towards it, terminated by\n"
	"#     sbcd (RTP to the core); plain RTP only; or untouched (default)\n"
	"# A request from a source no peer matches is dropped (or 403, see\n"
	"# unknown_source_reply); emergency calls are always let through.\n"
	"# This one lets local test tools call (make run):\n"
	"\n"
	"[peer loopback]\n"
	"addr = 127.0.0.0/8, ::1\n"
	"\n"
	"# ==== Fraud profiles ====\n"
	"\n"
	"# [profile NAME] sections, named by peers (profile = NAME); limits count\n"
	"# per peer, 0 is no limit, a call over one gets reject_code (403):\n"
	"#   max_calls, max_calls_offhours = concurrent calls\n"
	"#   daily_calls, daily_calls_offhours = calls started a day (local),\n"
	"#     counted apart in working hours and off-hours\n"
	"#   calls_per_minute = new calls a minute\n"
	"#   max_per_from = concurrent calls of one From user (default 5)\n"
	"#   allow, deny = regexes on the dialled number\n"
	"#   timezone, offhours = when the off-hours limits apply, e.g.\n"
	"#\n"
	"# [profile business]\n"
	"# timezone = Europe/Paris\n"
	"# offhours = 00:00-07:59,1-5 19:00-23:59,1-5 00:00-23:59,6-7\n"
	"# max_calls = 30\n"
	"# max_calls_offhours = 4\n"
	"# daily_calls = 2000\n"
	"# daily_calls_offhours = 50\n"
	"# deny = ^(\\+|00)(8[0-9]{2}|9[0-9]{2})\n"
	"\n"
	"# ==== Blacklist rules ====\n"
	"\n"
	"# [blacklist NAME] sections, checked after the built-in signatures:\n"
	"#   field = source | number | from | from_user | display_name | user_agent\n"
	"#   match = exact | prefix | substring | regex (case-insensitive)\n"
	"#   value = what to match (source: an IP or CIDR network)\n"
	"#   action = drop | 403 | log (default drop)\n"
	"#   expires = unix seconds or YYYY-MM-DDTHH:MM:SSZ (default never)\n"
	"# For example, premium-rate numbers refused with 403:\n"
	"#\n"
	"# [blacklist premium]\n"
	"# field = number\n"
	"# match = regex\n"
	"# value = ^(\\+|00)?1?900\n"
	"# action = 403\n";

static void peer_destructor(void *arg)
{
	struct conf_peer *peer = arg;

	list_unlink(&peer->le);
	mem_deref(peer->name);
	mem_deref(peer->profile);
}

#define F(f) offsetof(struct conf_profile, f)

/* The options of a [profile NAME] section: toll-fraud limits. */
static const struct conf_opt profile_optv[] = {
	{NULL, "timezone", CT_STR, F(timezone), "UTC", 0, 0,
	 "Time zone of the schedule, e.g. Europe/Paris (with its DST).", 0},
	{NULL, "offhours", CT_STR, F(offhours), "", 0, 0,
	 "When the off-hours limits apply: spans HH:MM-HH:MM[,D[-D]] "
	 "separated by spaces, days 1 (Monday) to 7; empty: never.", 0},
	{NULL, "max_calls", CT_UINT, F(max_calls), "0", 0, 10000000,
	 "Concurrent calls of each peer. 0: no limit.", 0},
	{NULL, "max_calls_offhours", CT_OPTUINT, F(max_calls_offhours), "",
	 0, 10000000, "Concurrent calls off-hours; empty: as max_calls.", 0},
	{NULL, "daily_calls", CT_UINT, F(daily_calls), "0", 0, 100000000,
	 "Calls a day (local) started in working hours. 0: no limit.", 0},
	{NULL, "daily_calls_offhours", CT_OPTUINT, F(daily_calls_offhours),
	 "", 0, 100000000,
	 "Calls a day started off-hours; empty: as daily_calls.", 0},
	{NULL, "calls_per_minute", CT_UINT, F(calls_per_minute), "0", 0,
	 10000000, "New calls a minute (sliding). 0: no limit.", 0},
	{NULL, "allow", CT_STR, F(allow), "", 0, 0,
	 "Only dialled numbers matching this regex (POSIX extended) may "
	 "be called; empty: all.", 0},
	{NULL, "deny", CT_STR, F(deny), "", 0, 0,
	 "Dialled numbers matching this regex are refused (premium, "
	 "international...); empty: none.", 0},
	{NULL, "max_per_from", CT_UINT, F(max_per_from), "5", 0, 1000000,
	 "Concurrent calls of one From user of the peer. 0: no limit.", 0},
	{NULL, "reject_code", CT_UINT, F(reject_code), "403", 400, 699,
	 "The answer to a call over a limit.", 0},
};

static void profile_destructor(void *arg)
{
	struct conf_profile *pr = arg;

	list_unlink(&pr->le);
	if (pr->allow_ok)
		regfree(&pr->allow_re);
	if (pr->deny_ok)
		regfree(&pr->deny_re);
	mem_deref(pr->name);
	mem_deref(pr->timezone);
	mem_deref(pr->offhours);
	mem_deref(pr->allow);
	mem_deref(pr->deny);
}

#define B(f) offsetof(struct conf_blacklist, f)

/* The options of a [blacklist NAME] section (checked in blacklist.c). */
static const struct conf_opt blacklist_optv[] = {
	{NULL, "field", CT_STR, B(field), "", 0, 0,
	 "What is matched: source (IP/CIDR), number (dialled, the Request-"
	 "URI user), from_user, display_name or user_agent.", 0},
	{NULL, "match", CT_STR, B(match), "substring", 0, 0,
	 "exact, prefix, substring (case-insensitive) or regex (POSIX "
	 "extended); not for source.", 0},
	{NULL, "value", CT_STR, B(value), "", 0, 0, "What to match.", 0},
	{NULL, "action", CT_STR, B(action), "drop", 0, 0,
	 "drop (silently), 403, or log (an event only).", 0},
	{NULL, "expires", CT_STR, B(expires), "", 0, 0,
	 "When the rule stops: unix seconds or YYYY-MM-DDTHH:MM:SSZ; "
	 "empty: never.", 0},
};

static void blacklist_destructor(void *arg)
{
	struct conf_blacklist *bl = arg;

	list_unlink(&bl->le);
	mem_deref(bl->name);
	mem_deref(bl->field);
	mem_deref(bl->match);
	mem_deref(bl->value);
	mem_deref(bl->action);
	mem_deref(bl->expires);
}

/* The kinds of [KIND NAME] sections. */
struct section_type {
	const char *kind;
	const struct conf_opt *optv;
	size_t optc;
	size_t size;
	mem_destroy_h *dtor;
	size_t list;                /* offset of its list in sbc_conf */
};

static const struct section_type sectionv[] = {
	{"peer", peer_optv, ARRAY_SIZE(peer_optv), sizeof(struct conf_peer),
	 peer_destructor, O(peerl)},
	{"blacklist", blacklist_optv, ARRAY_SIZE(blacklist_optv),
	 sizeof(struct conf_blacklist), blacklist_destructor, O(blacklistl)},
	{"profile", profile_optv, ARRAY_SIZE(profile_optv),
	 sizeof(struct conf_profile), profile_destructor, O(profilel)},
};

static void destructor(void *arg)
{
	struct sbc_conf *conf = arg;

	for (size_t i = 0; i < ARRAY_SIZE(optv); i++) {
		switch (optv[i].type) {
		case CT_STR: case CT_PATH: case CT_URI: case CT_NUMLIST:
			mem_deref(*(char **)((char *)conf + optv[i].off));
			break;
		default:
			break;
		}
	}
	list_flush(&conf->peerl);
	list_flush(&conf->blacklistl);
	list_flush(&conf->profilel);
	mem_deref(conf->file);
	mem_deref(conf->dir);
}

bool conf_net_match(const struct conf_net *net, const struct sa *sa)
{
	const uint8_t *a, *b;
	unsigned bits = net->bits, len;

	if (sa_af(&net->addr) != sa_af(sa))
		return false;
	if (sa_af(sa) == AF_INET) {
		a = (const uint8_t *)&net->addr.u.in.sin_addr;
		b = (const uint8_t *)&sa->u.in.sin_addr;
		len = 4;
	}
	else {
		a = net->addr.u.in6.sin6_addr.s6_addr;
		b = sa->u.in6.sin6_addr.s6_addr;
		len = 16;
	}
	for (unsigned i = 0; i < len && bits; i++) {
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		if ((a[i] ^ b[i]) & mask)
			return false;
		bits = bits >= 8 ? bits - 8 : 0;
	}
	return true;
}

/* The first peer, in file order, one of whose networks holds src. */
const struct conf_peer *conf_peer_find(const struct sbc_conf *conf,
				       const struct sa *src)
{
	for (struct le *le = conf->peerl.head; le; le = le->next) {
		const struct conf_peer *peer = le->data;

		for (uint32_t i = 0; i < peer->netc; i++)
			if (conf_net_match(&peer->netv[i], src))
				return peer;
	}
	return NULL;
}

int conf_net_parse(struct conf_net *net, const struct pl *pl)
{
	struct pl addr = *pl, bits = PL_INIT;
	const char *slash = pl_strchr(pl, '/');
	unsigned max;

	if (slash) {
		addr.l = slash - pl->p;
		bits.p = slash + 1;
		bits.l = pl->p + pl->l - bits.p;
	}
	if (sa_set(&net->addr, &addr, 0))
		return EINVAL;
	max = sa_af(&net->addr) == AF_INET ? 32 : 128;
	if (!pl_isset(&bits)) {
		net->bits = (uint8_t)max;
		return 0;
	}
	for (size_t i = 0; i < bits.l; i++)
		if (bits.p[i] < '0' || bits.p[i] > '9')
			return EINVAL;
	if (!bits.l || pl_u32(&bits) > max)
		return EINVAL;
	net->bits = (uint8_t)pl_u32(&bits);
	return 0;
}

/* Calls h on each comma-separated, trimmed item of s. */
static int for_items(const char *s, int (*h)(struct pl *item, void *arg),
		     void *arg)
{
	while (*s) {
		struct pl item;
		const char *e;

		while (*s == ' ' || *s == '\t' || *s == ',')
			++s;
		if (!*s)
			break;
		e = s;
		while (*e && *e != ',')
			++e;
		item.p = s;
		item.l = e - s;
		while (item.l && (item.p[item.l - 1] == ' '
				  || item.p[item.l - 1] == '\t'))
			--item.l;
		if (h(&item, arg))
			return EINVAL;
		s = e;
	}
	return 0;
}

static int net_item(struct pl *item, void *arg)
{
	struct conf_peer *peer = arg;

	if (peer->netc >= PEER_MAX_NETS)
		return E2BIG;
	if (conf_net_parse(&peer->netv[peer->netc], item))
		return EINVAL;
	++peer->netc;
	return 0;
}

static int tp_item(struct pl *item, void *arg)
{
	uint32_t *tps = arg;

	if (!pl_strcasecmp(item, "udp"))
		*tps |= 1u << SIP_TRANSP_UDP;
	else if (!pl_strcasecmp(item, "tcp"))
		*tps |= 1u << SIP_TRANSP_TCP;
	else if (!pl_strcasecmp(item, "tls"))
		*tps |= 1u << SIP_TRANSP_TLS;
	else
		return EINVAL;
	return 0;
}

static int set_path(struct sbc_conf *conf, char **dst, const char *val)
{
	mem_deref(*dst);
	*dst = NULL;
	if (val[0] == '/' || !conf->dir || !val[0])
		return str_dup(dst, val);
	return re_sdprintf(dst, "%s/%s", conf->dir, val);
}

/* "911, 112,999": numbers (digits, * # +) separated by commas */
static bool numlist_valid(const char *s)
{
	bool digit = false, gap = false;

	for (; *s; s++) {
		if (isdigit((unsigned char)*s) || *s == '*' || *s == '#'
		    || *s == '+') {
			if (digit && gap)
				return false;   /* "9 11" */
			digit = true;
			gap = false;
		}
		else if (*s == ',' && digit) {
			digit = false;
			gap = false;
		}
		else if (*s == ' ' || *s == '\t') {
			gap = true;
		}
		else {
			return false;
		}
	}
	return true;
}

/* The index of val among the comma-separated words of choices. */
static int choice_index(const char *choices, const char *val, uint32_t *ix)
{
	size_t n = strlen(val);
	uint32_t i = 0;

	for (const char *c = choices; *c; ++i) {
		size_t l = strcspn(c, ",");

		if (l == n && n && !strncasecmp(c, val, n)) {
			*ix = i;
			return 0;
		}
		c += l + (c[l] == ',');
	}
	return EINVAL;
}

/* The word at index ix of choices, for printing. */
static struct pl choice_name(const char *choices, uint32_t ix)
{
	struct pl pl = PL_INIT;
	const char *c = choices;

	while (ix-- && (c = strchr(c, ',')))
		++c;
	if (c) {
		pl.p = c;
		pl.l = strcspn(c, ",");
	}
	return pl;
}

/* Returns 0 or an errno, with *why saying what a value should be. */
static int opt_set(struct sbc_conf *conf, void *base,
		   const struct conf_opt *o, const char *val, const char **why)
{
	void *p = (char *)base + o->off;
	enum log_level lvl;
	struct pl pl;
	struct uri uri;
	char *end;
	unsigned long v;

	switch (o->type) {

	case CT_LOGLEVEL:
		*why = "error, warn, info or debug";
		if (log_level_parse(val, &lvl))
			return EINVAL;
		*(uint32_t *)p = lvl;
		return 0;

	case CT_OPTUINT:
		if (!val[0]) {
			*(uint32_t *)p = CONF_SAME;
			return 0;
		}
		/*@fallthrough@*/
	case CT_UINT:
		*why = "a whole number in range";
		if (!isdigit((unsigned char)val[0]))
			return EINVAL;
		v = strtoul(val, &end, 10);
		if (*end)
			return EINVAL;
		if (v < o->min || v > o->max)
			return ERANGE;
		*(uint32_t *)p = (uint32_t)v;
		return 0;

	case CT_BOOL:
		*why = "yes or no";
		if (!strcasecmp(val, "yes") || !strcasecmp(val, "true")
		    || !strcmp(val, "1") || !strcasecmp(val, "on"))
			*(bool *)p = true;
		else if (!strcasecmp(val, "no") || !strcasecmp(val, "false")
			 || !strcmp(val, "0") || !strcasecmp(val, "off"))
			*(bool *)p = false;
		else
			return EINVAL;
		return 0;

	case CT_OPTADDR:
		if (!val[0]) {
			sa_init((struct sa *)p, AF_UNSPEC);
			return 0;
		}
		/*@fallthrough@*/
	case CT_ADDR:
		*why = "an IPv4 or IPv6 address";
		if (sa_set_str((struct sa *)p, val, 0))
			return EINVAL;
		if (sa_is_any((struct sa *)p)) {
			*why = "a concrete address (libre cannot bind the "
			       "wildcard address for SIP)";
			return EINVAL;
		}
		return 0;

	case CT_URI:
		*why = "a SIP URI such as sip:host:port;transport=tls";
		if (val[0]) {
			pl_set_str(&pl, val);
			if (uri_decode(&uri, &pl) || pl_strcasecmp(&uri.scheme,
								    "sip")
			    || !pl_isset(&uri.host))
				return EINVAL;
		}
		/*@fallthrough@*/
	case CT_STR:
		mem_deref(*(char **)p);
		*(char **)p = NULL;
		return str_dup((char **)p, val);

	case CT_NUMLIST:
		*why = "comma-separated numbers";
		if (!numlist_valid(val))
			return EINVAL;
		mem_deref(*(char **)p);
		*(char **)p = NULL;
		return str_dup((char **)p, val);

	case CT_PATH:
		return set_path(conf, (char **)p, val);

	case CT_NETLIST:
		*why = "IP addresses or networks (CIDR), comma-separated, at "
		       "most 16";
		((struct conf_peer *)base)->netc = 0;
		return for_items(val, net_item, base);

	case CT_MODE:
	case CT_FAIL:
	case CT_KEEPALIVE:
	case CT_MEDIA:
	case CT_CLUSTER:
		*why = choicev[o->type];
		return choice_index(choicev[o->type], val, (uint32_t *)p);

	case CT_TRANSPORTS:
		*why = "udp, tcp and/or tls, comma-separated";
		*(uint32_t *)p = 0;
		if (for_items(val, tp_item, p) || !*(uint32_t *)p)
			return EINVAL;
		return 0;
	}

	return EINVAL;
}

static const struct conf_opt *opt_findv(const struct conf_opt *v, size_t n,
					 const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		if (strlen(v[i].name) == len && !strncmp(v[i].name, name, len))
			return &v[i];
	}
	return NULL;
}

static const struct conf_opt *opt_find(const char *name, size_t len)
{
	return opt_findv(optv, ARRAY_SIZE(optv), name, len);
}

static int apply_defaults(struct sbc_conf *conf)
{
	const char *why;
	int err;

	for (size_t i = 0; i < ARRAY_SIZE(optv); i++) {
		err = opt_set(conf, conf, &optv[i], optv[i].def, &why);
		if (err) {
			re_fprintf(stderr, "sbcd: bad built-in default for %s\n",
				   optv[i].name);
			return err;
		}
	}
	return 0;
}

static int sbc_conf_alloc(struct sbc_conf **confp, const char *file)
{
	struct sbc_conf *conf;
	const char *slash;
	int err = 0;

	conf = mem_zalloc(sizeof(*conf), destructor);
	if (!conf)
		return ENOMEM;

	if (file) {
		err = str_dup(&conf->file, file);
		slash = strrchr(file, '/');
		if (!err && slash)
			err = re_sdprintf(&conf->dir, "%b", file,
					  (size_t)(slash - file));
		else if (!err)
			err = str_dup(&conf->dir, ".");
	}
	if (!err)
		err = apply_defaults(conf);
	if (err) {
		mem_deref(conf);
		return err;
	}
	*confp = conf;
	return 0;
}

int conf_defaults(struct sbc_conf **confp)
{
	return sbc_conf_alloc(confp, NULL);
}

static void trim(char **s, char **e)
{
	while (*s < *e && isspace((unsigned char)**s))
		(*s)++;
	while (*e > *s && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

/* What the parser is in: the global options or a [KIND NAME] section. */
struct parse_state {
	unsigned *linev;            /* global options: line of each */
	const struct section_type *st;
	struct conf_section *sec;   /* current section, or NULL */
};

static const struct section_type *section_find(const char *s, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(sectionv); i++)
		if (strlen(sectionv[i].kind) == len
		    && !strncmp(sectionv[i].kind, s, len))
			return &sectionv[i];
	return NULL;
}

static int section_begin(struct sbc_conf *conf, struct parse_state *ps,
			 char *s, char *e, unsigned ln)
{
	const struct section_type *st;
	struct conf_section *sec;
	struct list *list;
	const char *why, *k;
	struct pl name;
	int err = 0;

	/* s..e is what follows '[': "KIND NAME]" */
	while (s < e && (*s == ' ' || *s == '\t'))
		++s;
	k = s;
	while (s < e && *s != ' ' && *s != '\t' && *s != ']')
		++s;
	st = section_find(k, s - k);
	if (!st)
		goto bad;
	while (s < e && (*s == ' ' || *s == '\t'))
		++s;
	name.p = s;
	while (s < e && *s != ']' && *s != ' ' && *s != '\t')
		++s;
	name.l = s - name.p;
	while (s < e && (*s == ' ' || *s == '\t'))
		++s;
	if (!name.l || s + 1 != e || *s != ']')
		goto bad;

	list = (struct list *)((char *)conf + st->list);
	for (struct le *le = list->head; le; le = le->next) {
		const struct conf_section *p = le->data;

		if (!pl_strcmp(&name, p->name)) {
			re_fprintf(stderr, "%s:%u: %s '%s' already defined "
				   "on line %u\n", conf->file, ln, st->kind,
				   p->name, p->line);
			return EEXIST;
		}
	}
	sec = mem_zalloc(st->size, st->dtor);
	if (!sec)
		return ENOMEM;
	sec->line = ln;
	list_append(list, &sec->le, sec);
	err = pl_strdup(&sec->name, &name);
	for (size_t i = 0; i < st->optc && !err; i++)
		err = opt_set(conf, sec, &st->optv[i], st->optv[i].def, &why);
	ps->st = st;
	ps->sec = sec;
	return err;

 bad:
	re_fprintf(stderr, "%s:%u: expected a section '[peer NAME]', "
		   "'[profile NAME]' or '[blacklist NAME]'\n", conf->file, ln);
	return EINVAL;
}

static int parse_line(struct sbc_conf *conf, struct parse_state *ps,
		      char *s, char *e, unsigned ln)
{
	const struct conf_opt *o;
	const char *why = "";
	char *eq, *k, *ke, *v;
	unsigned *line;
	int err;

	trim(&s, &e);
	if (s == e || *s == '#')
		return 0;
	if (*s == '[')
		return section_begin(conf, ps, s + 1, e, ln);

	eq = memchr(s, '=', e - s);
	if (!eq) {
		re_fprintf(stderr, "%s:%u: expected 'name = value'\n",
			   conf->file, ln);
		return EINVAL;
	}
	k = s;
	ke = eq;
	trim(&k, &ke);
	v = eq + 1;
	trim(&v, &e);
	*e = '\0';

	if (ps->sec) {
		o = opt_findv(ps->st->optv, ps->st->optc, k, ke - k);
		line = o ? &ps->sec->linev[o - ps->st->optv] : NULL;
	}
	else {
		o = opt_find(k, ke - k);
		line = o ? &ps->linev[o - optv] : NULL;
	}
	if (!o) {
		re_fprintf(stderr, "%s:%u: unknown option '%b'%s%s%s%s\n",
			   conf->file, ln, k, (size_t)(ke - k),
			   ps->sec ? " in " : "",
			   ps->sec ? ps->st->kind : "", ps->sec ? " " : "",
			   ps->sec ? ps->sec->name : "");
		return ENOENT;
	}
	if (*line) {
		re_fprintf(stderr, "%s:%u: option '%s' already set on line "
			   "%u\n", conf->file, ln, o->name, *line);
		return EEXIST;
	}
	*line = ln;

	err = opt_set(conf, ps->sec ? (void *)ps->sec : (void *)conf, o, v,
		      &why);
	if (err == ERANGE)
		re_fprintf(stderr, "%s:%u: option '%s': '%s' is out of range "
			   "(%u..%u)\n", conf->file, ln, o->name, v, o->min,
			   o->max);
	else if (err)
		re_fprintf(stderr, "%s:%u: option '%s': '%s' is not valid "
			   "(expected %s)\n", conf->file, ln, o->name, v, why);
	return err;
}

static int read_file(const char *file, char **bufp, size_t *lenp)
{
	FILE *f;
	char *buf;
	long len;

	f = fopen(file, "r");
	if (!f)
		return errno;
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || len > 1 << 20
	    || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return EFBIG;
	}
	buf = mem_alloc(len + 1, NULL);
	if (!buf) {
		fclose(f);
		return ENOMEM;
	}
	if (fread(buf, 1, len, f) != (size_t)len) {
		fclose(f);
		mem_deref(buf);
		return EIO;
	}
	fclose(f);
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
}

static unsigned line_of(const unsigned *linev, const char *name)
{
	const struct conf_opt *o = opt_find(name, strlen(name));

	return o ? linev[o - optv] : 0;
}

static int check_file(const struct sbc_conf *conf, const unsigned *linev,
		      const char *opt, const char *path)
{
	unsigned ln = line_of(linev, opt);

	if (path && path[0] && access(path, R_OK) == 0)
		return 0;
	if ((!path || !path[0]) && ln) {
		re_fprintf(stderr, "%s:%u: option '%s': empty, a file is "
			   "needed\n", conf->file, ln, opt);
		return ENOENT;
	}
	if (!path || !path[0]) {
		re_fprintf(stderr, "%s: option '%s' (default): empty, a file "
			   "is needed\n", conf->file, opt);
		return ENOENT;
	}
	if (ln)
		re_fprintf(stderr, "%s:%u: option '%s': cannot read '%s': %m\n",
			   conf->file, ln, opt, path ? path : "", errno);
	else
		re_fprintf(stderr, "%s: option '%s' (default): cannot read "
			   "'%s': %m\n", conf->file, opt, path ? path : "",
			   errno);
	return ENOENT;
}

/* Registration bounds in order; a keep-alive answered every interval
 * must never look overdue. */
static int check_registrations(const struct sbc_conf *conf,
			       const unsigned *linev)
{
	if (conf->register_min_expires > conf->register_max_expires) {
		re_fprintf(stderr, "%s:%u: register_min_expires %u is above "
			   "register_max_expires %u\n", conf->file,
			   line_of(linev, "register_min_expires"),
			   conf->register_min_expires,
			   conf->register_max_expires);
		return EINVAL;
	}
	if (conf->keepalive_timeout <= conf->keepalive_interval) {
		re_fprintf(stderr, "%s:%u: keepalive_timeout %u must be above "
			   "keepalive_interval %u\n", conf->file,
			   line_of(linev, "keepalive_timeout"),
			   conf->keepalive_timeout, conf->keepalive_interval);
		return EINVAL;
	}
	return 0;
}

/* "HOST:PORT" or "[IPv6]:PORT" of len bytes into host (no brackets) and
 * port: the Redis server and its sentinels. */
int conf_hostport(const char *s, size_t len, char *host, size_t hsz,
		  uint16_t *port)
{
	struct pl h = {s, 0}, p;
	const char *colon;

	if (len && s[0] == '[') {
		const char *end = memchr(s, ']', len);

		if (!end || end + 1 == s + len || end[1] != ':')
			return EINVAL;
		h.p = s + 1;
		h.l = (size_t)(end - h.p);
		colon = end + 1;
	}
	else {
		colon = memchr(s, ':', len);
		if (!colon || memchr(colon + 1, ':', len - (size_t)(colon + 1
								   - s)))
			return EINVAL;
		h.l = (size_t)(colon - s);
	}
	p.p = colon + 1;
	p.l = len - (size_t)(p.p - s);
	if (!h.l || !store_digits(&p, 5) || !pl_u32(&p) || pl_u32(&p) > 65535
	    || pl_strcpy(&h, host, hsz))
		return EINVAL;
	for (size_t i = 0; i < h.l; i++)
		if (h.p[i] == ' ' || h.p[i] == ',' || h.p[i] == '/')
			return EINVAL;
	*port = (uint16_t)pl_u32(&p);
	return 0;
}

static int bad_redis(const struct sbc_conf *conf, const unsigned *linev,
		     const char *opt, const char *why)
{
	re_fprintf(stderr, "%s:%u: %s: %s\n", conf->file,
		   line_of(linev, opt), opt, why);
	return EINVAL;
}

/* The Redis options, so that sbcd never starts on an address it cannot
 * use. */
static int check_redis(const struct sbc_conf *conf, const unsigned *linev)
{
	const char *s = conf->redis_sentinels;
	char host[256];
	uint16_t port;
	int err = 0;

	if (str_isset(conf->redis) && strncmp(conf->redis, "unix:/", 6)
	    && conf_hostport(conf->redis, strlen(conf->redis), host,
			     sizeof(host), &port))
		err |= bad_redis(conf, linev, "redis", "not HOST:PORT, "
				 "[IPv6]:PORT or unix:/path");
	while (str_isset(s)) {
		const char *c = strchr(s, ',');
		size_t n = c ? (size_t)(c - s) : strlen(s);

		while (n && *s == ' ') {
			++s;
			--n;
		}
		while (n && s[n - 1] == ' ')
			--n;
		if (conf_hostport(s, n, host, sizeof(host), &port)) {
			err |= bad_redis(conf, linev, "redis_sentinels",
					 "not a comma-separated list of "
					 "HOST:PORT");
			break;
		}
		s = c ? c + 1 : NULL;
	}
	if (str_isset(conf->redis_sentinels)
	    && !str_isset(conf->redis_master_name))
		err |= bad_redis(conf, linev, "redis_master_name", "must be "
				 "set with redis_sentinels");
	if (!str_isset(conf->redis_prefix) || strpbrk(conf->redis_prefix,
						      " \t\r\n"))
		err |= bad_redis(conf, linev, "redis_prefix", "must be a "
				 "word (no blanks)");
	return err;
}

/* metrics_listen, hep_dest: an address and a port (not a name: they are
 * used as they are, never resolved), or empty. */
static int check_addrport(const struct sbc_conf *conf, const unsigned *linev,
			  const char *opt, const char *s)
{
	struct sa sa;

	if (!str_isset(s))
		return 0;
	if (sa_decode(&sa, s, strlen(s)) || !sa_port(&sa)) {
		re_fprintf(stderr, "%s:%u: %s: not ADDR:PORT or "
			   "[IPv6]:PORT: '%s'\n", conf->file,
			   line_of(linev, opt), opt, s);
		return EINVAL;
	}
	return 0;
}

/* Every TCP-ish listener needs its own port when the addresses are
 * shared: UDP+TCP on *_port, TLS on *_tls_port. */
static int check_ports(const struct sbc_conf *conf, const unsigned *linev)
{
	const uint32_t a[2] = {conf->access_port, conf->access_tls_port};
	const uint32_t c[2] = {conf->core_port, conf->core_tls_port};
	bool same = sa_cmp(&conf->access_addr, &conf->core_addr, SA_ADDR);

	if (a[1] && a[0] == a[1]) {
		re_fprintf(stderr, "%s:%u: access_tls_port equals access_port\n",
			   conf->file, line_of(linev, "access_tls_port"));
		return EADDRINUSE;
	}
	if (c[1] && c[0] == c[1]) {
		re_fprintf(stderr, "%s:%u: core_tls_port equals core_port\n",
			   conf->file, line_of(linev, "core_tls_port"));
		return EADDRINUSE;
	}
	if (!same)
		return 0;
	for (int i = 0; i < 2; i++) {
		for (int j = 0; j < 2; j++) {
			if (!a[i] || a[i] != c[j])
				continue;
			re_fprintf(stderr, "%s:%u: access and core side share "
				   "address %j and port %u: give them "
				   "different ports\n", conf->file,
				   line_of(linev, "core_addr"),
				   &conf->core_addr, a[i]);
			return EADDRINUSE;
		}
	}
	return 0;
}

const struct conf_profile *conf_profile_find(const struct sbc_conf *conf,
					     const char *name)
{
	for (struct le *le = conf->profilel.head; le; le = le->next) {
		const struct conf_profile *pr = le->data;

		if (!strcmp(pr->name, name))
			return pr;
	}
	return NULL;
}

static int profile_regex(const struct sbc_conf *conf,
			 const struct conf_profile *pr, unsigned idx,
			 const char *val, regex_t *re, bool *ok)
{
	if (!val[0])
		return 0;
	if (!regcomp(re, val, REG_EXTENDED | REG_NOSUB | REG_ICASE)) {
		*ok = true;
		return 0;
	}
	re_fprintf(stderr, "%s:%u: profile '%s': option '%s': bad regex "
		   "'%s'\n", conf->file, pr->linev[idx], pr->name,
		   profile_optv[idx].name, val);
	return EINVAL;
}

/* The schedule, zone and patterns of a profile, compiled once. */
static int profile_compile(const struct sbc_conf *conf,
			   struct conf_profile *pr)
{
	const char *why = "";
	int err = 0;

	if (sched_tz_init(&pr->tz, pr->timezone)) {
		re_fprintf(stderr, "%s:%u: profile '%s': unknown time zone "
			   "'%s' (a name under /usr/share/zoneinfo, e.g. "
			   "Europe/Paris)\n", conf->file,
			   pr->linev[0] ? pr->linev[0] : pr->line, pr->name,
			   pr->timezone);
		err |= EINVAL;
	}
	if (sched_parse(&pr->sched, pr->offhours, &why)) {
		re_fprintf(stderr, "%s:%u: profile '%s': option 'offhours': "
			   "'%s' is not valid (expected %s)\n", conf->file,
			   pr->linev[1], pr->name, pr->offhours, why);
		err |= EINVAL;
	}
	err |= profile_regex(conf, pr, 7, pr->allow, &pr->allow_re,
			     &pr->allow_ok);
	err |= profile_regex(conf, pr, 8, pr->deny, &pr->deny_re,
			     &pr->deny_ok);
	return err;
}

/* Redirect mode needs somewhere to send approved calls and a prefix
 * that not every 302 has. */
static int check_redirect(const struct sbc_conf *conf, const unsigned *linev)
{
	int err = 0;

	if (conf->screening_mode != SCREENING_REDIRECT)
		return 0;
	if (!conf->switch_uri[0]) {
		re_fprintf(stderr, "%s:%u: screening_mode = redirect needs the "
			   "option 'switch'\n", conf->file,
			   line_of(linev, "screening_mode"));
		err = EINVAL;
	}
	else if (strstr(conf->switch_uri, "transport=tls")
		 && !strstr(conf->upstream, "transport=tls")) {
		re_fprintf(stderr, "%s:%u: option 'switch': TLS to the switch "
			   "needs a TLS upstream (one core-side TLS context)\n",
			   conf->file, line_of(linev, "switch"));
		err = EINVAL;
	}
	if (!conf->verdict_approve_prefix[0]) {
		re_fprintf(stderr, "%s:%u: option 'verdict_approve_prefix' "
			   "must not be empty in redirect mode\n", conf->file,
			   line_of(linev, "verdict_approve_prefix"));
		err = EINVAL;
	}
	return err;
}

/* The pool needs two pairs at least (one stream, two sides). */
static int check_media(const struct sbc_conf *conf, const unsigned *linev)
{
	if (conf->media_port_max >= ((conf->media_port_min + 1) & ~1u) + 3)
		return 0;
	re_fprintf(stderr, "%s:%u: media_port_max must be at least "
		   "media_port_min + 3 (two port pairs)\n", conf->file,
		   line_of(linev, "media_port_max"));
	return EINVAL;
}

/* Constraints between options, checked once the whole file is read. */
static int validate(const struct sbc_conf *conf, const unsigned *linev)
{
	int err = 0;

	if (conf->access_tls_port) {
		err |= check_file(conf, linev, "access_tls_cert",
				  conf->access_tls_cert);
		err |= check_file(conf, linev, "access_tls_key",
				  conf->access_tls_key);
	}
	if (conf->access_tls_verify_client)
		err |= check_file(conf, linev, "access_tls_ca",
				  conf->access_tls_ca);
	/* the core side's certificate matters only where it does TLS */
	if (conf->core_tls_cert && conf->core_tls_cert[0]
	    && (conf->core_tls_port
		|| strstr(conf->upstream, "transport=tls"))) {
		err |= check_file(conf, linev, "core_tls_cert",
				  conf->core_tls_cert);
		err |= check_file(conf, linev, "core_tls_key",
				  conf->core_tls_key);
	}
	if (!conf->upstream[0]) {
		re_fprintf(stderr, "%s:%u: option 'upstream' must be set\n",
			   conf->file, line_of(linev, "upstream"));
		err |= EINVAL;
	}
	else if (strstr(conf->upstream, "transport=tls")) {
		err |= check_file(conf, linev, "upstream_ca",
				  conf->upstream_ca);
	}
	err |= check_redirect(conf, linev);
	err |= check_media(conf, linev);
	err |= check_ports(conf, linev);
	err |= check_registrations(conf, linev);
	err |= check_redis(conf, linev);
	err |= check_addrport(conf, linev, "metrics_listen",
			      conf->metrics_listen);
	err |= check_addrport(conf, linev, "hep_dest", conf->hep_dest);
	for (struct le *le = conf->blacklistl.head; le; le = le->next) {
		const struct conf_blacklist *cb = le->data;
		struct bl_rule *r = NULL;
		const char *why = "";

		if (bl_rule_alloc(&r, cb->name, cb->field, cb->match,
				  cb->value, cb->action, cb->expires, &why)) {
			re_fprintf(stderr, "%s:%u: blacklist '%s': bad %s\n",
				   conf->file, cb->line, cb->name, why);
			err |= EINVAL;
		}
		mem_deref(r);
	}
	for (struct le *le = conf->profilel.head; le; le = le->next)
		err |= profile_compile(conf, le->data);
	if (conf->remote_user_profile[0]
	    && !conf_profile_find(conf, conf->remote_user_profile)) {
		re_fprintf(stderr, "%s:%u: option 'remote_user_profile': no "
			   "profile '%s'\n", conf->file,
			   line_of(linev, "remote_user_profile"),
			   conf->remote_user_profile);
		err |= EINVAL;
	}
	if (conf->remote_users && !conf->registrar[0]) {
		re_fprintf(stderr, "%s:%u: remote_users = yes needs the option "
			   "'registrar'\n", conf->file,
			   line_of(linev, "remote_users"));
		err |= EINVAL;
	}
	for (struct le *le = conf->peerl.head; le; le = le->next) {
		struct conf_peer *peer = le->data;

		if (!peer->netc) {
			re_fprintf(stderr, "%s:%u: peer '%s' has no addr\n",
				   conf->file, peer->line, peer->name);
			err |= EINVAL;
		}
		if (peer->profile[0]) {
			peer->prof = conf_profile_find(conf, peer->profile);
			if (!peer->prof) {
				re_fprintf(stderr, "%s:%u: peer '%s': no "
					   "profile '%s'\n", conf->file,
					   peer->linev[2] ? peer->linev[2]
					   : peer->line, peer->name,
					   peer->profile);
				err |= EINVAL;
			}
		}
	}
	return err ? EINVAL : 0;
}

int conf_load(struct sbc_conf **confp, const char *file)
{
	struct sbc_conf *conf = NULL;
	unsigned linev[ARRAY_SIZE(optv)] = {0};
	struct parse_state ps = {.linev = linev};
	char *buf = NULL, *s, *nl;
	size_t len = 0;
	unsigned ln = 0;
	int err;

	err = read_file(file, &buf, &len);
	if (err) {
		re_fprintf(stderr, "%s: cannot read: %m\n", file, err);
		return err;
	}
	err = sbc_conf_alloc(&conf, file);
	if (err)
		goto out;

	for (s = buf; s < buf + len; s = nl + 1) {
		nl = strchr(s, '\n');
		if (!nl)
			nl = buf + len;
		++ln;
		err = parse_line(conf, &ps, s, nl, ln);
		if (err)
			goto out;
	}
	err = validate(conf, linev);

 out:
	mem_deref(buf);
	if (err)
		mem_deref(conf);
	else
		*confp = conf;
	return err;
}

static int print_doc(struct re_printf *pf, const char *doc)
{
	const char *p = doc;
	int err = 0;

	/* wrap at ~76 columns on spaces */
	while (*p && !err) {
		size_t n = strlen(p), cut = n;

		if (n > 74) {
			cut = 74;
			while (cut > 0 && p[cut] != ' ')
				--cut;
			if (!cut)
				cut = 74;
		}
		err = re_hprintf(pf, "# %b\n", p, cut);
		p += cut;
		while (*p == ' ')
			++p;
	}
	return err;
}

int conf_print_default(struct re_printf *pf, void *unused)
{
	int err;
	(void)unused;

	err = re_hprintf(pf,
		"# sbc.conf: configuration of sbcd, the SIP entry-point SBC.\n"
		"#\n"
		"# Generated from the option table in sbc/conf.c "
		"(sbcd --print-config);\n"
		"# every value shown is the built-in default.\n"
		"# Syntax: one 'name = value' per line; lines starting with "
		"'#' are comments.\n"
		"# Relative paths are relative to the directory of this "
		"file.\n");

	for (size_t i = 0; i < ARRAY_SIZE(optv) && !err; i++) {
		const struct conf_opt *o = &optv[i];

		if (o->section)
			err |= re_hprintf(pf, "\n# ==== %s ====\n",
					  o->section);
		err |= re_hprintf(pf, "\n");
		err |= print_doc(pf, o->doc);
		if (o->type == CT_UINT)
			err |= re_hprintf(pf, "# (%u..%u)\n", o->min, o->max);
		if (o->flags & CF_RESTART)
			err |= re_hprintf(pf, "# (a reload keeps the running "
					  "value: restart to change it)\n");
		if (o->type == CT_MODE || o->type == CT_FAIL
		    || o->type == CT_KEEPALIVE || o->type == CT_MEDIA
		    || o->type == CT_CLUSTER)
			err |= re_hprintf(pf, "# (%s)\n", choicev[o->type]);
		err |= re_hprintf(pf, "%s = %s\n", o->name, o->def);
	}
	return err ? err : re_hprintf(pf, "%s", peer_example);
}

/* One option's value, for %H. */
struct opt_val {
	const struct sbc_conf *conf;
	const struct conf_opt *o;
};

static int opt_print(struct re_printf *pf, const struct opt_val *v)
{
	const struct conf_opt *o = v->o;
	const void *p = (const char *)v->conf + o->off;

	switch (o->type) {
	case CT_LOGLEVEL:
	case CT_UINT:
		return re_hprintf(pf, "%u", *(const uint32_t *)p);
	case CT_BOOL:
		return re_hprintf(pf, "%s", *(const bool *)p ? "yes" : "no");
	case CT_ADDR:
		return re_hprintf(pf, "%j", p);
	case CT_OPTADDR:
		if (sa_af(p) == AF_UNSPEC)
			return 0;
		return re_hprintf(pf, "%j", p);
	case CT_MODE:
	case CT_FAIL:
	case CT_KEEPALIVE:
	case CT_MEDIA:
	case CT_CLUSTER: {
		struct pl c = choice_name(choicev[o->type],
					  *(const uint32_t *)p);

		return re_hprintf(pf, "%r", &c);
	}
	default:
		return re_hprintf(pf, "%s", *(char *const *)p);
	}
}

/* The effective configuration, as `sbcd -t -v` shows it. */
int conf_print(struct re_printf *pf, const struct sbc_conf *conf)
{
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(optv) && !err; i++) {
		const struct opt_val v = {conf, &optv[i]};

		if (optv[i].flags & CF_SECRET)
			err = re_hprintf(pf, "%s = %s\n", optv[i].name,
					 str_isset(*(char *const *)((const char *)
					 conf + optv[i].off)) ? "(set)" : "");
		else
			err = re_hprintf(pf, "%s = %H\n", optv[i].name,
					 opt_print, &v);
	}
	return err;
}

static int opt_copy(struct sbc_conf *dst, const struct sbc_conf *src,
		    const struct conf_opt *o)
{
	void *d = (char *)dst + o->off;
	const void *s = (const char *)src + o->off;

	switch (o->type) {
	case CT_LOGLEVEL:
	case CT_UINT:
	case CT_OPTUINT:
	case CT_MODE:
	case CT_FAIL:
	case CT_KEEPALIVE:
	case CT_MEDIA:
		*(uint32_t *)d = *(const uint32_t *)s;
		return 0;
	case CT_BOOL:
		*(bool *)d = *(const bool *)s;
		return 0;
	case CT_ADDR:
	case CT_OPTADDR:
		*(struct sa *)d = *(const struct sa *)s;
		return 0;
	default:
		mem_deref(*(char **)d);
		*(char **)d = NULL;
		return str_dup((char **)d, *(char *const *)s);
	}
}

/* A reloaded configuration keeps the running values of the options a
 * running daemon cannot change (CF_RESTART); each one the file changed
 * is reported by name. */
int conf_keep_running(struct sbc_conf *nconf, const struct sbc_conf *run,
		      void (*changed)(const char *name, void *arg), void *arg)
{
	char a[512], b[512];
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(optv) && !err; i++) {
		const struct conf_opt *o = &optv[i];
		const struct opt_val va = {nconf, o}, vb = {run, o};

		if (!(o->flags & CF_RESTART))
			continue;
		if (re_snprintf(a, sizeof(a), "%H", opt_print, &va) < 0
		    || re_snprintf(b, sizeof(b), "%H", opt_print, &vb) < 0)
			return ENOMEM;
		if (!strcmp(a, b))
			continue;
		changed(o->name, arg);
		err = opt_copy(nconf, run, o);
	}
	return err;
}
