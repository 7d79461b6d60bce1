/*
 * test_regex.c: differential test of sbc/regex.c, the re_regex() that
 * sbcd interposes over libre's, against libre's own implementation.
 *
 * The replacement is this executable's re_regex(); libre's original is
 * taken from libre.so with dlopen() + dlsym() on the library's handle,
 * which returns the library's own definition, not the interposed one.
 * Both are called with the same input buffer, the same pattern and the
 * same struct pl pointers (filled with a sentinel beforehand), and must
 * agree on the return value and on every output, written or not,
 * including the outputs a failed start position leaves behind.
 *
 *  - corpus: SIP/SDP/URI/HTTP-shaped patterns and quirky edge patterns
 *    against header values, SDP lines, host:port forms, quoted strings
 *    and embedded NULs, at every prefix length of every input;
 *  - pattern cache: one buffer rewritten with different patterns,
 *    thousands of distinct pattern addresses, several threads;
 *  - fuzz: seeded random patterns from a grammar covering every feature
 *    and malformation, against random and pattern-derived inputs
 *    (REGEX_FUZZ_CASES and REGEX_FUZZ_SEED override the defaults);
 *  - speed: ns per call of both on typical header patterns (printed,
 *    not asserted).
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include <cmocka.h>


enum {
	MAXARG      = 80,      /* struct pl pointers passed to every call   */
	FUZZ_SLOTS  = 6,       /* usual number of output slots when fuzzing */
	FUZZ_CASES  = 300000,
	FUZZ_SEED   = 0x5bc7e6e5,
	THREADS     = 4,
	THREAD_CASES = 20000,
	MAX_REPORT  = 60,      /* mismatches printed in full per test       */
	MAX_REPORT_PAT = 2,    /* ... and per pattern                       */
	PAT_MAX     = 4096,
	IN_MAX      = 512,
};

typedef int (regex_fn)(const char *ptr, size_t len, const char *expr, ...);

/* libre's own re_regex(), from the library's handle */
static regex_fn *libre_regex;
static void *libre_handle;

/* "Not written" marker for the outputs */
static const char sentinel[1];
#define SENTINEL_L ((size_t)0x5e5e5e5e)

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;


struct result {
	int err;
	struct pl pl[MAXARG];
};

struct input {
	const char *s;
	size_t len;
};

struct stats {
	unsigned long cases;
	unsigned long matched;      /* libre returned 0        */
	unsigned long enoent;
	unsigned long einval;
	unsigned long mismatches;
	unsigned long reported;
	unsigned long pat_mismatches;   /* since the last new_pattern() */
};


#define ARG8(a, i) a[i], a[i + 1], a[i + 2], a[i + 3], \
		a[i + 4], a[i + 5], a[i + 6], a[i + 7]

static int call(regex_fn *fn, const char *p, size_t l, const char *e,
		struct pl **a)
{
	return fn(p, l, e, ARG8(a, 0), ARG8(a, 8), ARG8(a, 16),
		  ARG8(a, 24), ARG8(a, 32), ARG8(a, 40), ARG8(a, 48),
		  ARG8(a, 56), ARG8(a, 64), ARG8(a, 72));
}


static void print_escaped(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		const unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"':  fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\r': fputs("\\r", f);  break;
		case '\n': fputs("\\n", f);  break;
		case '\t': fputs("\\t", f);  break;
		default:
			if (c < 0x20 || c >= 0x7f)
				fprintf(f, "\\x%02x", c);
			else
				fputc(c, f);
			break;
		}
	}
	fputc('"', f);
}


static void print_pl(FILE *f, const struct pl *pl, const char *in,
		     size_t len)
{
	if (pl->p == sentinel && pl->l == SENTINEL_L) {
		fputs("(unwritten)", f);
		return;
	}
	if (pl->p >= in && pl->p <= in + len)
		fprintf(f, "@%td+%zu ", pl->p - in, pl->l);
	else
		fprintf(f, "%p+%zu ", (const void *)pl->p, pl->l);

	if (pl->p >= in && pl->p <= in + len && pl->l <= len)
		print_escaped(f, pl->p, pl->l);
}


static const char *errname(int err)
{
	switch (err) {
	case 0:      return "0";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case ENOMEM: return "ENOMEM";
	default:     return "other";
	}
}


static void report(const char *what, const char *pat, const char *in,
		   size_t len, const bool *used, const struct result *exp,
		   const struct result *got)
{
	FILE *f = stdout;

	pthread_mutex_lock(&report_lock);
	fprintf(f, "MISMATCH [%s]\n  pattern: ", what);
	print_escaped(f, pat, strlen(pat));
	fprintf(f, "\n  input:   ");
	print_escaped(f, in, len);
	fprintf(f, " (len %zu)\n  slots:  ", len);
	for (int i = 0; i < MAXARG; i++)
		if (used[i])
			fprintf(f, " %d", i);
	fprintf(f, "\n  return:  libre %d (%s), sbc %d (%s)\n",
		exp->err, errname(exp->err), got->err, errname(got->err));
	for (int i = 0; i < MAXARG; i++) {
		if (!used[i])
			continue;
		if (exp->pl[i].p == got->pl[i].p && exp->pl[i].l == got->pl[i].l)
			continue;
		fprintf(f, "  pl[%d]:   libre ", i);
		print_pl(f, &exp->pl[i], in, len);
		fprintf(f, ", sbc ");
		print_pl(f, &got->pl[i], in, len);
		fputc('\n', f);
	}
	fflush(f);
	pthread_mutex_unlock(&report_lock);
}


static void run_one(regex_fn *fn, const char *in, size_t len,
		    const char *pat, const bool *used, struct result *res)
{
	struct pl *args[MAXARG];

	for (int i = 0; i < MAXARG; i++) {
		res->pl[i].p = sentinel;
		res->pl[i].l = SENTINEL_L;
		args[i] = used[i] ? &res->pl[i] : NULL;
	}
	res->err = call(fn, in, len, pat, args);
}


/*
 * One differential case. The input is copied into a buffer of exactly
 * len bytes and the pattern into one of strlen + 1, so that the sanitizer
 * build catches a read past either.
 */
static bool check_case_at(struct stats *st, const char *what,
			  const char *in, size_t len, const char *pat,
			  const bool *used, bool copy_pat)
{
	const size_t plen = strlen(pat);
	char *ib = malloc(len ? len : 1);
	char *pb = copy_pat ? malloc(plen + 1) : (char *)pat;
	struct result exp, got;
	bool ok = true;

	assert_non_null(ib);
	assert_non_null(pb);
	if (len)
		memcpy(ib, in, len);
	if (copy_pat)
		memcpy(pb, pat, plen + 1);

	run_one(libre_regex, ib, len, pb, used, &exp);
	run_one(re_regex, ib, len, pb, used, &got);

	if (exp.err != got.err)
		ok = false;
	for (int i = 0; i < MAXARG && ok; i++) {
		if (!used[i])
			continue;
		if (exp.pl[i].p != got.pl[i].p || exp.pl[i].l != got.pl[i].l)
			ok = false;
	}

	++st->cases;
	switch (exp.err) {
	case 0:      ++st->matched; break;
	case ENOENT: ++st->enoent;  break;
	case EINVAL: ++st->einval;  break;
	default: break;
	}
	if (!ok) {
		++st->mismatches;
		if (st->reported < MAX_REPORT &&
		    st->pat_mismatches++ < MAX_REPORT_PAT) {
			++st->reported;
			report(what, pb, ib, len, used, &exp, &got);
		}
	}

	if (copy_pat)
		free(pb);
	free(ib);
	return ok;
}


static bool check_case(struct stats *st, const char *what, const char *in,
		       size_t len, const char *pat, const bool *used)
{
	return check_case_at(st, what, in, len, pat, used, true);
}


/* The pattern is used where it is, as libre's callers pass literals. */
static void run_cached(struct stats *st, const char *pat,
		       const struct input *in, const bool *used)
{
	check_case_at(st, "cache", in->s, in->len, pat, used, false);
}


static void print_stats(const char *name, const struct stats *st)
{
	printf("%s: %lu cases (libre: %lu match, %lu ENOENT, %lu EINVAL), "
	       "%lu mismatches\n", name, st->cases, st->matched, st->enoent,
	       st->einval, st->mismatches);
	fflush(stdout);
}


static void used_all(bool *used)
{
	for (int i = 0; i < MAXARG; i++)
		used[i] = true;
}


static void used_none(bool *used)
{
	memset(used, 0, MAXARG * sizeof(*used));
}


static void used_odd(bool *used)
{
	for (int i = 0; i < MAXARG; i++)
		used[i] = i & 1;
}


/* ------------------------------------------------------------------ */
/* Corpus                                                              */
/* ------------------------------------------------------------------ */

/* Shaped like the expressions libre's SIP, SDP, URI, HTTP, DNS and
 * STUN parsers use. */
static const char *real_patterns[] = {
	/* numbers, CSeq, Max-Forwards, Content-Length */
	"[0-9]+",
	"[+]*[0-9]+",
	"[0-9]+ [A-Z]+",
	"[0-9]+[ \t]+[^ \t\r\n]+",
	"[ \t\r\n]*[0-9]+[ \t\r\n]+[a-z]+[ \t\r\n]*",
	"Content-Length[ \t]*:[ \t]*[0-9]+",
	"max-forwards:[ ]*[0-9]+",
	"[a-z\\-]+[ \t]*:[ \t]*[^\r\n]*",
	/* Via */
	"SIP[ \t]*/[ \t]*2.0[ \t]*/[ \t]*[^ \t\r\n]+[ \t]+[^;]+",
	"[ \t]*[^ \t;]+[ \t]*/[ \t]*[^ \t;]+[ \t]*/[ \t]*[A-Z]+",
	"branch=[^;, \t]+",
	"received=[0-9.:a-f]+",
	"rport[=]*[0-9]*",
	";[^;=]+[=]*[^;]*",
	";[^;= \t]+[ \t]*[=]*[ \t]*[^;]*",
	/* host, port, IPv6 references */
	"\\[[0-9a-f:.]+\\][:]*[0-9]*",
	"[^:\\[]+[:]*[0-9]*",
	"[a-z0-9.\\-]+:[0-9]+",
	"[0-9]+.[0-9]+.[0-9]+.[0-9]+",
	"[0-9]1[0-9]*.[0-9]1",
	"[^:]+:[0-9]+",
	/* name-addr, tags, params */
	"[~ \t<]*[ \t]*<[^>]+>[^]*",
	"[^<]*<[^>]*>[;]*[^]*",
	"\"[~]*\"[ \t]*<[^>]+>",
	"<[^>]*>",
	"tag=[^;> \t]+",
	"[~,]+[,]*",
	"[~;]+",
	"[ \t\r\n]*[~;]+[;]*",
	"[^;]+[;]*[^]*",
	"[^,]+[,]*[^]*",
	"expires=[0-9]+",
	"q=[0-9.]+",
	"transport=[a-z]+",
	/* URIs */
	"[a-z]+:[^@]+@[^;>?]+[^?>]*[^>]*",
	"sip[s]*:[^@:;]+[:]*[^@;]*@[^;?>]+",
	"[a-z]+:[^@:]*[:]*[^@]*@[^;? ]+[^? ]*[^]*",
	"[^:]+:[^]+",
	"[^?]+[?]*[^]*",
	"[?&]1[^=&]+=[^&]*",
	"[a-z]+=[^&;]+",
	"tel:[+0-9\\-]+",
	"[^@]+@[^]+",
	"[a-z0-9\\-_.!~*'()]+",
	"user=phone",
	"[a-z]+://[^:/]+[:]*[0-9]*[^]*",
	"[/]*[^./]+",
	/* Content-Type */
	"[a-z]+/[a-z0-9.+\\-]+",
	"[^ \t;/]+[ \t]*/[ \t]*[^ \t;]+",
	/* request and status lines, HTTP */
	"[A-Z]+ [^ ]+ SIP/2.0",
	"[^ \t\r\n]+ [^ \t\r\n]+ SIP/[0-9]+.[0-9]+",
	"SIP/[0-9].[0-9] [0-9]3 [^\r\n]*",
	"HTTP/[0-9.]+ [0-9]3[ ]*[^\r\n]*",
	"[a-z]+ [^? ]+[^ ]* HTTP/[0-9.]+",
	"[\r\n]*[^\r\n]+[\r]*[\n]1",
	"[^ ]+ [^ ]+ [^ ]+",
	/* authentication */
	"[ \t]*Digest[ \t]+",
	"[ \t,]*[a-z]+[ \t]*=[ \t]*[~ \t,]*",
	"realm=\"[^\"]*\"",
	"nonce=[~, ]+",
	/* SDP */
	"v=[0-9]1",
	"t=[0-9]+ [0-9]+",
	"o=[^ ]+ [0-9]+ [0-9]+ IN IP[46]1 [^ \r\n]+",
	"c=IN IP[46]1 [^ /\r\n]+[/]*[0-9]*",
	"m=[a-z]+ [0-9]+[/]*[0-9]* [^ ]+[^\r\n]*",
	"a=rtpmap:[0-9]+ [^/]+/[0-9]+[/]*[0-9]*",
	"a=[^:\r\n]+[:]*[^\r\n]*",
	"a=fmtp:[0-9]+ [^\r\n]+",
	"a=candidate:[^ ]+ [0-9]1 [a-z]+ [0-9]+ [^ ]+ [0-9]+ typ [a-z]+",
	/* DNS, misc */
	"nameserver [^\n]+",
	"[0-9a-f]8-[0-9a-f]4-[0-9a-f]4",
	"[ \t]*[^ \t]+[ \t]*",
	"[0-9]3.[0-9]3.[0-9]3",
};

/* Quirks and malformations. */
static const char *edge_patterns[] = {
	"", "[", "]", "[]", "[]*", "[]+", "[]1", "[^]*", "[^]+", "[~]*",
	"[~]1", "[~]+", "[a-]+", "[-a]+", "[-]+", "[a-c-e]+", "[a--]+",
	"[a-^]+", "[a-~]+", "[a-^b]*", "[z-a]*", "[Z-A]+", "[A-z]+",
	"[\\]]+", "[\\-]+", "[\\^a]+", "[\\\\]+", "[\\~]+", "[a\\]*",
	"[a\\-z]+", "[]]*", "[[]+", "\\", "a\\", "\\\\", "\\[", "\\]",
	"\\[a", "[a]", "[a]x", "[a]0", "[a]\\*", "[a]\\", "[a]\\1",
	"[a-z", "abc[", "abc[a", "a[b]*c", "[A-Z]+", "ABC", "[^A-Z]+",
	"[\x80-\xff]+", "\xc3\xa9", "[^\x80-\xff]*", "[\xe9]+", "[^~]+",
	"[~^]+", "[^^]+", "[^-]+", "[^~]*", "[~\"]+", "[~\\\\]+",
	"[a]*[b]*[c]*", "[a]9", "x*", "[ab]2[cd]3", "[~ ]+ [~ ]+",
	"[ ]*", "[ ]+[a]", "a[b]+[c", "[a]+]", "[a]**", "[a]*\\",
	"sip:", "SIP", "@", "a]b", "^a", "-", "~", "[\t-\r]+", "[ -~]+",
	"[\x01-\x7f]*", "[~]*[\"]1",
};

/* Too many tokens or classes for a small fixed-size program. */
static const char *long_patterns[] = {
	"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"
	";received=192.0.2.1",
	"[0-9]1.[0-9]1.[0-9]1.[0-9]1.[0-9]1.[0-9]1.[0-9]1.[0-9]1.[0-9]1."
	"[0-9]1.[0-9]1.[0-9]1.[0-9]1.[0-9]1.[0-9]1.[0-9]1.[0-9]1.[0-9]1."
	"[0-9]1.[0-9]1.[0-9]1.[0-9]1.[0-9]1.[0-9]1.[0-9]1.[0-9]1.[0-9]1."
	"[0-9]1.[0-9]1.[0-9]1.[0-9]1.[0-9]1.[0-9]1.[0-9]1.[0-9]1.[0-9]1",
	"[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*"
	"[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*"
	"[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*"
	"[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*",
	"[^ ]+ [0-9]+ [^ ]+ [0-9]+ [^ ]+ [0-9]+ typ [a-z]+ raddr [^ ]+"
	" rport [0-9]+ generation [0-9]+ network-id [0-9]+[^]*",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	/* 70 classes */
	"[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1"
	"[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1"
	"[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1"
	"[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1"
	"[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1"
	"[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1"
	"[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1"
	"[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1[0-9.]1",
	/* 64 classes, then a malformed one */
	"[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*"
	"[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*"
	"[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*"
	"[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*"
	"[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*"
	"[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*"
	"[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*"
	"[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]*[0-9.]",
};

#define S(x) { x, sizeof(x) - 1 }

static const struct input inputs[] = {
	S(""), S("0"), S("42"), S(" 42 "), S("314159 INVITE"), S("1 ACK"),
	S("CSeq: 102 BYE"), S("Content-Length: 142"), S("max-forwards: 70"),
	S("SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"),
	S("SIP / 2.0 / TCP [2001:db8::1]:5060;branch=z9hG4bKnashds8;rport"
	  ";received=192.0.2.1"),
	S("SIP/2.0/TLS [::1];rport=5061;received=2001:db8::9"),
	S("Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"
	  ";received=192.0.2.1"),
	S("\"Alice \\\"The Great\\\" Smith\" <sip:alice@atlanta.example.com>"
	  ";tag=1928301774"),
	S("Bob <sips:bob@biloxi.example.com:5061;transport=tls"
	  "?subject=hi&priority=urgent>"),
	S("<sip:carol@chicago.example.com>"),
	S("\"<not a uri>\" <sip:x@y>;tag=a;expires=3600"),
	S("\"unterminated <sip:a@b>"),
	S("\"a\\\\\" <sip:b@c>"),
	S("sip:alice:secret@atlanta.example.com:5060;transport=tcp;lr"
	  "?subject=project%20x"),
	S("sips:[2001:db8::10]:5061;maddr=239.255.255.1;ttl=15"),
	S("tel:+1-201-555-0123;phone-context=example.com"),
	S("sip:+15551234567@gw.example.net;user=phone"),
	S("INVITE sip:bob@biloxi.example.com SIP/2.0"),
	S("SIP/2.0 180 Ringing"), S("SIP/2.0 200 OK\r\n"),
	S("application/sdp"), S("multipart/mixed;boundary=\"unique-1\""),
	S("text/plain ; charset=UTF-8"),
	S("v=0"), S("o=- 2890844526 2890842807 IN IP4 10.47.16.5"),
	S("o=alice 1 1 IN IP6 2001:db8::1"), S("c=IN IP4 224.2.17.12/127"),
	S("m=audio 49170 RTP/AVP 0 8 97"), S("m=video 51372/2 RTP/AVP 31"),
	S("a=rtpmap:97 iLBC/8000"), S("a=rtpmap:96 opus/48000/2"),
	S("a=fmtp:101 0-15"), S("a=sendrecv"), S("t=0 0"),
	S("a=candidate:1 1 udp 2130706431 192.0.2.3 54400 typ host"),
	S("1 1 udp 2130706431 192.0.2.3 54400 typ srflx raddr 10.0.0.1"
	  " rport 9 generation 0 network-id 1"),
	S("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"),
	S("Digest username=\"bob\", realm=\"biloxi.com\", nonce=\"dcd98b71"
	  "02dd2f0e8b11d0f600bfb0c093\", uri=\"sip:bob@biloxi.com\", "
	  "qop=auth, response=\"6629fae49393a05397450978507c4ef1\""),
	S("  Digest realm=\"a\\\"b\""),
	S("10.0.0.1:5060"), S("example.com"), S("example.com:"),
	S("[2001:db8::1]"), S("[2001:db8::1]:5080"), S("[::1"),
	S("host:port"), S("192.168.001.002"),
	S("http://example.com:8080/path/to?x=1&y=2"),
	S("GET /index.html HTTP/1.1"), S("HTTP/1.1 200 OK"),
	S("?a=1&b=2&c"), S(";lr;transport=udp;maddr=1.2.3.4"),
	S("expires=0, q=0.7"), S("550e8400-e29b-41d4-a716"),
	S("nameserver 192.0.2.53\nsearch example.com\n"),
	S("abc\0def"), S("\0"), S("sip:a\0@b"), S("tag=\0x;"), S("\"\\"),
	S("\""), S("\\\""), S("\"\""), S("\"a\""), S("\"a\\\"b\" c"),
	S("\xc3\xa9t\xc3\xa9 <sip:\xff@x>"), S("ALICE@EXAMPLE.COM"),
	S("\r\n"), S("line1\r\nline2\n"), S("   \t  "), S("aaaa]b-^~[]"),
	S("1.2.3.4.5.6.7.8.9.0.1.2.3.4.5.6.7.8.9.0.1.2.3.4.5.6.7.8.9.0"
	  ".1.2.3.4.5.6.7.8.9.0"),
};


static void new_pattern(struct stats *st)
{
	st->pat_mismatches = 0;
}


static void corpus_run(struct stats *st, const char *what, const char *pat)
{
	bool used[MAXARG];

	new_pattern(st);

	for (size_t i = 0; i < ARRAY_SIZE(inputs); i++) {

		for (size_t len = 0; len <= inputs[i].len; len++) {

			used_all(used);
			check_case(st, what, inputs[i].s, len, pat, used);
			used_none(used);
			check_case(st, what, inputs[i].s, len, pat, used);
			used_odd(used);
			check_case(st, what, inputs[i].s, len, pat, used);
		}
	}

	if (st->pat_mismatches) {
		printf("  %lu mismatches with pattern ", st->pat_mismatches);
		print_escaped(stdout, pat, strlen(pat));
		putchar('\n');
	}
}


/* A class of n single-character entries, with a quantifier */
static void big_class(char *buf, size_t n, bool neg)
{
	static const char pool[] = "0123456789abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ!#$%&'()*+,./:;<=>?@_";
	size_t k = 0;

	buf[k++] = '[';
	if (neg)
		buf[k++] = '^';
	for (size_t i = 0; i < n; i++)
		buf[k++] = pool[i % (sizeof(pool) - 1)];
	buf[k++] = ']';
	buf[k++] = '+';
	buf[k] = '\0';
}


static void test_corpus(void **state)
{
	struct stats st = {0};
	char buf[128];
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(real_patterns); i++)
		corpus_run(&st, "corpus", real_patterns[i]);
	for (size_t i = 0; i < ARRAY_SIZE(edge_patterns); i++)
		corpus_run(&st, "edge", edge_patterns[i]);
	for (size_t i = 0; i < ARRAY_SIZE(long_patterns); i++)
		corpus_run(&st, "long", long_patterns[i]);

	/* libre's class holds 64 entries: 64 is valid, 65 is EINVAL */
	for (size_t n = 62; n <= 66; n++) {
		for (int neg = 0; neg <= 1; neg++) {
			big_class(buf, n, neg);
			/* one class of n plain single-character entries */
			assert_ptr_equal(strpbrk(buf + 1 + neg, "[]\\-^~"),
					 buf + strlen(buf) - 2);
			corpus_run(&st, "64 entries", buf);
		}
	}

	printf("corpus: %zu realistic + %zu edge + %zu long + 10 big-class "
	       "patterns x %zu inputs at every prefix length\n",
	       ARRAY_SIZE(real_patterns), ARRAY_SIZE(edge_patterns),
	       ARRAY_SIZE(long_patterns), ARRAY_SIZE(inputs));
	print_stats("corpus", &st);
	assert_int_equal(st.mismatches, 0);
}


static void test_null_args(void **state)
{
	struct pl pl = {sentinel, SENTINEL_L};
	(void)state;

	assert_int_equal(libre_regex(NULL, 3, "[a]+", &pl), EINVAL);
	assert_int_equal(re_regex(NULL, 3, "[a]+", &pl), EINVAL);
	assert_int_equal(libre_regex("abc", 3, NULL, &pl), EINVAL);
	assert_int_equal(re_regex("abc", 3, NULL, &pl), EINVAL);
	assert_int_equal(libre_regex(NULL, 0, NULL, &pl), EINVAL);
	assert_int_equal(re_regex(NULL, 0, NULL, &pl), EINVAL);
	assert_ptr_equal(pl.p, sentinel);
	assert_int_equal(pl.l, SENTINEL_L);
}


/* The replacement must not be fooled by a pattern buffer that is reused
 * for another pattern, nor by more patterns than it caches. */
static void test_pattern_cache(void **state)
{
	static const char *seq[] = {
		"[a-z]+", "[0-9]+", "[a-z]+", "[a-z]*", "[a-z]", "[a-z]+:",
		"[^:]+:[0-9]+", "[^:]+:[0-9]+[", "[^:]+", "", "[", "x",
	};
	struct stats st = {0};
	bool used[MAXARG];
	char buf[PAT_MAX];
	enum { NPAT = 3000 };
	char **pats;
	(void)state;

	used_all(used);

	/* one buffer, rewritten */
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < ARRAY_SIZE(seq); i++) {
			strcpy(buf, seq[i]);
			for (size_t j = 0; j < ARRAY_SIZE(inputs); j++) {
				run_cached(&st, buf, &inputs[j], used);
			}
		}
		for (size_t i = 0; i < ARRAY_SIZE(real_patterns); i++) {
			strcpy(buf, real_patterns[i]);
			for (size_t j = 0; j < ARRAY_SIZE(inputs); j++)
				run_cached(&st, buf, &inputs[j], used);
		}
	}

	/* many distinct addresses, all alive, each used twice */
	pats = calloc(NPAT, sizeof(*pats));
	assert_non_null(pats);
	for (int i = 0; i < NPAT; i++) {
		char tmp[64];

		re_snprintf(tmp, sizeof(tmp), "[%c-z]%d[0-9]*",
			 'a' + i % 26, 1 + i % 9);
		pats[i] = strdup(tmp);
		assert_non_null(pats[i]);
	}
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < NPAT; i++) {
			const struct input *in = &inputs[i % ARRAY_SIZE(inputs)];

			run_cached(&st, pats[i], in, used);
		}
	}
	for (int i = 0; i < NPAT; i++)
		free(pats[i]);
	free(pats);

	print_stats("pattern cache", &st);
	assert_int_equal(st.mismatches, 0);
}


/* ------------------------------------------------------------------ */
/* Random patterns and inputs                                          */
/* ------------------------------------------------------------------ */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

static uint32_t below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)((rnd(r) >> 16) % n) : 0;
}

static bool chance(struct rng *r, uint32_t pct)
{
	return below(r, 100) < pct;
}

static char pick(struct rng *r, const char *pool)
{
	return pool[below(r, (uint32_t)strlen(pool))];
}


struct buf {
	char s[PAT_MAX];
	size_t n;
};

static void put(struct buf *b, char c)
{
	if (b->n < sizeof(b->s) - 1)
		b->s[b->n++] = c;
	b->s[b->n] = '\0';
}


static const char high_bytes[] = "\x80\xa0\xc3\xc9\xe9\xff";
/* literals outside classes: no '[' or '\\' (those are generated apart) */
static const char lit_pool[] = "abcdezABCDEZ0159:;@.,/<>=?&%!_+* \t'()\"";
/* entries inside classes: no ']' '\\' '-' '^' '~' (generated apart) */
static const char cls_pool[] =
	"abcdxyzABCXYZ0123456789:;@.,/<>=?&% \t\r\n\"'_+*!#[";
static const char *range_pool[] = {
	"a-z", "0-9", "A-Z", "a-f", "0-5", "!-/", " -~", "\x80-\xff",
	"z-a", "9-0", "a-a", "A-z", "\t-\r", "A-F", "\x01-\x7f",
};

static char gen_char(struct rng *r, const char *pool)
{
	if (chance(r, 6))
		return pick(r, high_bytes);
	return pick(r, pool);
}


static char flip_case(char c)
{
	if (c >= 'a' && c <= 'z')
		return (char)(c - 32);
	if (c >= 'A' && c <= 'Z')
		return (char)(c + 32);
	return c;
}


/* A pattern, and a "witness": text the pattern plausibly matches */
struct gen {
	struct buf pat;
	struct buf wit;
	bool long_pat;
};


static void gen_literal(struct rng *r, struct gen *g)
{
	const uint32_t k = below(r, 100);
	char c;

	if (k < 72) {
		c = gen_char(r, lit_pool);
		put(&g->pat, c);
	}
	else if (k < 88) {
		c = chance(r, 60) ? pick(r, "[]\\^-~*+\"")
				  : gen_char(r, lit_pool);
		put(&g->pat, '\\');
		put(&g->pat, c);
	}
	else {
		c = pick(r, "]^-~*+");
		put(&g->pat, c);
	}

	put(&g->wit, chance(r, 20) ? flip_case(c) : c);
}


static void gen_class(struct rng *r, struct gen *g)
{
	char members[256];
	size_t nm = 0;
	uint32_t items, k, count;
	bool neg = false, qesc = false, big = false;
	char q = 0;

	put(&g->pat, '[');

	k = below(r, 100);
	if (k < 25) {
		put(&g->pat, '^');
		neg = true;
	}
	else if (k < 45) {
		put(&g->pat, '~');
		neg = qesc = true;
	}

	if (chance(r, 3)) {
		big = true;
		items = 60 + below(r, 11);
	}
	else {
		items = chance(r, 8) ? 0 : 1 + below(r, 5);
	}

	for (uint32_t i = 0; i < items; i++) {
		const char *rg;
		char c;

		k = big ? below(r, 50) : below(r, 100);

		if (k < 45) {
			c = gen_char(r, cls_pool);
			put(&g->pat, c);
			members[nm++] = c;
		}
		else if (k < 70) {
			if (chance(r, 50)) {
				rg = range_pool[below(r,
					      ARRAY_SIZE(range_pool))];
				put(&g->pat, rg[0]);
				put(&g->pat, '-');
				put(&g->pat, rg[2]);
				members[nm++] = rg[0];
				members[nm++] = rg[2];
				members[nm++] = (char)((rg[0] + rg[2]) / 2);
			}
			else {
				const char a = gen_char(r, cls_pool);
				const char b = gen_char(r, cls_pool);

				put(&g->pat, a);
				put(&g->pat, '-');
				put(&g->pat, b);
				members[nm++] = a;
				members[nm++] = b;
			}
		}
		else if (k < 82) {
			c = pick(r, "]-^\\~[nat\"");
			put(&g->pat, '\\');
			put(&g->pat, c);
			members[nm++] = c;
		}
		else if (k < 90) {
			put(&g->pat, '-');
			members[nm++] = '-';
		}
		else if (k < 97) {
			c = pick(r, "^~");
			put(&g->pat, c);
			members[nm++] = c;
		}
		else {
			put(&g->pat, ']');   /* ends the class early */
		}
	}

	if (chance(r, 5))
		return;                      /* unterminated */
	put(&g->pat, ']');

	k = below(r, 100);
	if (k < 80) {
		if (chance(r, 30))
			q = '*';
		else if (chance(r, 43))
			q = '+';
		else if (chance(r, 75))
			q = (char)('1' + below(r, 3));
		else
			q = (char)('1' + below(r, 9));
		put(&g->pat, q);
	}
	else if (k < 85) {
		/* no quantifier */
	}
	else if (k < 90) {
		put(&g->pat, pick(r, "0a?{].x-^"));
	}
	else if (k < 95) {
		q = pick(r, "*+123");
		put(&g->pat, '\\');
		put(&g->pat, q);
	}
	else {
		q = pick(r, "*+1");
		put(&g->pat, q);
		put(&g->pat, pick(r, "*+1]"));
	}

	/* witness */
	if (q >= '1' && q <= '9')
		count = (uint32_t)(q - '0');
	else if (q == '+')
		count = 1 + below(r, 4);
	else
		count = below(r, 5);
	if (chance(r, 10))
		count += below(r, 3);

	for (uint32_t i = 0; i < count; i++) {
		char c;

		if (qesc && chance(r, 15)) {
			const uint32_t n = below(r, 4);

			put(&g->wit, '"');
			for (uint32_t j = 0; j < n; j++)
				put(&g->wit, chance(r, 20) ? '\\' :
				    gen_char(r, cls_pool));
			put(&g->wit, '"');
			continue;
		}
		if (qesc && chance(r, 8)) {
			put(&g->wit, '\\');
			put(&g->wit, gen_char(r, cls_pool));
			continue;
		}
		if (!neg && nm)
			c = members[below(r, (uint32_t)nm)];
		else if (neg && nm && chance(r, 10))
			c = members[below(r, (uint32_t)nm)];
		else
			c = gen_char(r, cls_pool);
		put(&g->wit, chance(r, 15) ? flip_case(c) : c);
	}
}


static void gen_pattern(struct rng *r, struct gen *g)
{
	uint32_t nel;
	uint32_t pct_class = 50;

	memset(g, 0, sizeof(*g));

	if (chance(r, 3)) {
		nel = 0;
	}
	else if (chance(r, 6)) {
		nel = 10 + below(r, 36);
		pct_class = 30 + below(r, 50);
		g->long_pat = true;
	}
	else {
		nel = 1 + below(r, 6);
	}

	for (uint32_t i = 0; i < nel; i++) {

		if (chance(r, pct_class)) {
			gen_class(r, g);
		}
		else {
			const uint32_t n = 1 + below(r, 4);

			for (uint32_t j = 0; j < n; j++)
				gen_literal(r, g);
		}
	}

	if (chance(r, 4))
		put(&g->pat, '\\');          /* lone trailing backslash */
}


static char input_char(struct rng *r, const struct gen *g)
{
	const uint32_t k = below(r, 100);

	if (k < 45 && g->pat.n)
		return g->pat.s[below(r, (uint32_t)g->pat.n)];
	if (k < 55 && g->pat.n)
		return flip_case(g->pat.s[below(r, (uint32_t)g->pat.n)]);
	if (k < 70)
		return chance(r, 50) ? '"' : '\\';
	if (k < 74)
		return '\0';
	return gen_char(r, cls_pool);
}


static size_t gen_input(struct rng *r, const struct gen *g, char *in)
{
	const size_t cap = g->long_pat ? 160 : 40;
	const uint32_t mode = below(r, 100);
	size_t len = 0;

	if (mode < 35) {
		/* random over a biased alphabet */
		len = below(r, (uint32_t)cap + 1);
		for (size_t i = 0; i < len; i++)
			in[i] = input_char(r, g);
		return len;
	}

	/* derived from the witness */
	if (mode < 80 && chance(r, 40)) {
		const uint32_t n = 1 + below(r, 5);

		for (uint32_t i = 0; i < n; i++)
			in[len++] = input_char(r, g);
	}
	for (size_t i = 0; i < g->wit.n && len < IN_MAX / 2; i++)
		in[len++] = g->wit.s[i];
	if (mode < 80 && chance(r, 40)) {
		const uint32_t n = 1 + below(r, 5);

		for (uint32_t i = 0; i < n; i++)
			in[len++] = input_char(r, g);
	}

	if (mode < 80) {
		const uint32_t muts = below(r, 4);

		for (uint32_t m = 0; m < muts && len; m++) {
			const size_t pos = below(r, (uint32_t)len);

			switch (below(r, 4)) {
			case 0:
				in[pos] = input_char(r, g);
				break;
			case 1:
				memmove(in + pos + 1, in + pos, len - pos);
				in[pos] = input_char(r, g);
				++len;
				break;
			case 2:
				memmove(in + pos, in + pos + 1, len - pos - 1);
				--len;
				break;
			default:
				in[pos] = flip_case(in[pos]);
				break;
			}
		}
	}
	else if (mode < 90 && len) {
		len = below(r, (uint32_t)len + 1);   /* a prefix */
	}

	return len > cap ? cap : len;
}


static size_t count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += (*s == c);
	return n;
}


static void gen_slots(struct rng *r, bool *used)
{
	uint32_t nslot;

	used_none(used);
	if (chance(r, 5)) {
		used_all(used);
		return;
	}
	nslot = below(r, FUZZ_SLOTS + 1);
	for (uint32_t i = 0; i < nslot; i++)
		used[i] = !chance(r, 15);
}


static void fuzz(struct stats *st, const char *what, uint64_t seed,
		 unsigned long cases)
{
	struct rng r = {seed ? seed : 1};
	struct gen *g = malloc(sizeof(*g));
	bool used[MAXARG];
	char in[IN_MAX];

	assert_non_null(g);

	for (unsigned long i = 0; i < cases; i++) {
		size_t len;

		do {
			gen_pattern(&r, g);
		} while (count_char(g->pat.s, '[') > MAXARG);

		len = gen_input(&r, g, in);
		gen_slots(&r, used);
		new_pattern(st);
		check_case(st, what, in, len, g->pat.s, used);
	}

	free(g);
}


static unsigned long env_ulong(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}


static void test_fuzz(void **state)
{
	const uint64_t seed = env_ulong("REGEX_FUZZ_SEED", FUZZ_SEED);
	const unsigned long cases = env_ulong("REGEX_FUZZ_CASES", FUZZ_CASES);
	struct stats st = {0};
	(void)state;

	printf("fuzz: seed 0x%" PRIx64 ", %lu cases\n", seed, cases);
	fuzz(&st, "fuzz", seed, cases);
	print_stats("fuzz", &st);
	assert_int_equal(st.mismatches, 0);
}


struct thread_arg {
	uint64_t seed;
	struct stats st;
};

static void *fuzz_thread(void *arg)
{
	struct thread_arg *ta = arg;

	fuzz(&ta->st, "fuzz thread", ta->seed, THREAD_CASES);
	return NULL;
}


/* The replacement's compiled patterns are per thread. */
static void test_fuzz_threads(void **state)
{
	struct thread_arg ta[THREADS];
	pthread_t tid[THREADS];
	struct stats sum = {0};
	(void)state;

	for (int i = 0; i < THREADS; i++) {
		memset(&ta[i], 0, sizeof(ta[i]));
		ta[i].seed = FUZZ_SEED + 1000 + (uint64_t)i;
		assert_int_equal(pthread_create(&tid[i], NULL, fuzz_thread,
						 &ta[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		sum.cases += ta[i].st.cases;
		sum.matched += ta[i].st.matched;
		sum.enoent += ta[i].st.enoent;
		sum.einval += ta[i].st.einval;
		sum.mismatches += ta[i].st.mismatches;
	}
	print_stats("fuzz, 4 threads", &sum);
	assert_int_equal(sum.mismatches, 0);
}


/* ------------------------------------------------------------------ */
/* Speed                                                               */
/* ------------------------------------------------------------------ */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}


static double time_calls(regex_fn *fn, const char *in, const char *pat,
			 int n, int *sink)
{
	struct pl a[MAXARG];
	struct pl *args[MAXARG];
	double t0;
	size_t len = strlen(in);

	for (int i = 0; i < MAXARG; i++)
		args[i] = &a[i];

	t0 = now_ns();
	for (int i = 0; i < n; i++)
		*sink += call(fn, in, len, pat, args) + (int)a[0].l;
	return (now_ns() - t0) / n;
}


static void test_speed(void **state)
{
	static const struct {
		const char *name;
		const char *pat;
		const char *in;
	} cases[] = {
		{"Via sent-protocol",
		 "SIP[ \t]*/[ \t]*2.0[ \t]*/[ \t]*[^ \t\r\n]+[ \t]+[^;]+",
		 "SIP/2.0/UDP pc33.atlanta.example.com:5060"
		 ";branch=z9hG4bK776asdhds;rport"},
		{"Via param", ";[^;=]+[=]*[^;]*",
		 "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds;rport"
		 ";received=10.0.0.1"},
		{"name-addr", "[~ \t<]*[ \t]*<[^>]+>[^]*",
		 "\"Alice \\\"A\\\" Smith\" <sip:alice@atlanta.example.com>"
		 ";tag=1928301774"},
		{"URI", "[a-z]+:[^@:]*[:]*[^@]*@[^;? ]+[^? ]*[^]*",
		 "sip:alice@atlanta.example.com:5060;transport=tcp;lr"},
		{"CSeq", "[0-9]+[ \t]+[^ \t\r\n]+", "314159 INVITE"},
		{"Content-Type", "[a-z]+/[a-z0-9.+\\-]+", "application/sdp"},
	};
	const int n = (int)env_ulong("REGEX_SPEED_CALLS", 200000);
	double tot_libre = 0, tot_sbc = 0;
	int sink = 0;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		double tl, ts;

		/* warm up both, then measure */
		time_calls(libre_regex, cases[i].in, cases[i].pat, 1000, &sink);
		time_calls(re_regex, cases[i].in, cases[i].pat, 1000, &sink);
		tl = time_calls(libre_regex, cases[i].in, cases[i].pat, n,
				&sink);
		ts = time_calls(re_regex, cases[i].in, cases[i].pat, n, &sink);
		tot_libre += tl;
		tot_sbc += ts;

		printf("speed: %-18s libre %7.1f ns, sbc %7.1f ns, "
		       "x%.2f\n", cases[i].name, tl, ts, ts > 0 ? tl / ts : 0);
	}
	printf("speed: total libre %.1f ns, sbc %.1f ns per %zu calls: "
	       "sbc is x%.2f libre's speed (sink %d)\n", tot_libre, tot_sbc,
	       ARRAY_SIZE(cases), tot_sbc > 0 ? tot_libre / tot_sbc : 0,
	       sink & 1);
	fflush(stdout);
}


/* ------------------------------------------------------------------ */

static void test_symbols(void **state)
{
	Dl_info li, si;
	void *h;
	(void)state;

	/* As in sbcd, libre.so is linked (re_snprintf() is used here), so
	 * it was loaded before the dlopen() and is in the global scope. */
	h = dlopen("libre.so.0", RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(h);
	dlclose(h);

	/* dlsym() on libre's handle gives libre's own definition */
	assert_non_null(libre_regex);
	assert_true(libre_regex != (regex_fn *)re_regex);

	assert_int_not_equal(dladdr((void *)libre_regex, &li), 0);
	assert_int_not_equal(dladdr((void *)re_regex, &si), 0);
	assert_non_null(li.dli_fname);
	assert_non_null(si.dli_fname);
	assert_non_null(strstr(li.dli_fname, "libre.so"));
	assert_null(strstr(si.dli_fname, "libre.so"));
	assert_true(li.dli_fbase != si.dli_fbase);
	printf("libre's re_regex %p in %s, replacement %p in %s\n",
	       (void *)libre_regex, li.dli_fname, (void *)re_regex,
	       si.dli_fname);
}


static int setup(void **state)
{
	(void)state;

	libre_handle = dlopen("libre.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!libre_handle) {
		fprintf(stderr, "dlopen libre.so.0: %s\n", dlerror());
		return -1;
	}
	libre_regex = (regex_fn *)dlsym(libre_handle, "re_regex");
	if (!libre_regex) {
		fprintf(stderr, "dlsym re_regex: %s\n", dlerror());
		return -1;
	}
	return 0;
}


static int teardown(void **state)
{
	(void)state;

	if (libre_handle)
		dlclose(libre_handle);
	return 0;
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symbols),
		cmocka_unit_test(test_null_args),
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_pattern_cache),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_fuzz_threads),
		cmocka_unit_test(test_speed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
