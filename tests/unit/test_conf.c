/*
 * test_conf.c: unit tests for sbc/conf.c: the built-in defaults; conf_load
 * on temporary files (a complete file, comments, blank lines and
 * whitespace, every kind of bad line with the file:line message on
 * stderr, duplicates, addresses, URIs, number lists, paths resolved
 * against the file's directory, certificate files checked only when
 * their listener is enabled, the two sides sharing an address); and that
 * conf_print_default's output loads and equals the shipped conf/sbc.conf.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <re.h>
#include <cmocka.h>
#include "unit_util.h"


#ifndef SBC_SOURCE_DIR
#error "SBC_SOURCE_DIR must name the source tree"
#endif

#define SYS_CA "/etc/ssl/certs/ca-certificates.crt"


/* A temporary directory with tls/sbc.crt, tls/sbc.key and ca.pem (only
 * their readability is checked) and the last load's results. */
struct fx {
	char dir[64];
	char path[128];          /* the config file written last     */
	char *err;               /* what conf_load wrote to stderr   */
	struct sbc_conf *conf;   /* the conf it loaded, if any       */
};


static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return errno;

	fputs(text, f);

	return fclose(f) ? errno : 0;
}


/* Whole file as a mem_alloc'd string. */
static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	if (!f)
		return NULL;

	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);

	buf = mem_zalloc(len + 1, NULL);
	if (buf && fread(buf, 1, len, f) != (size_t)len)
		buf = mem_deref(buf);

	fclose(f);

	return buf;
}


static void fx_file(struct fx *fx, const char *name, const char *text)
{
	char path[192];

	re_snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	assert_int_equal(write_file(path, text), 0);
}


static void fx_unlink(struct fx *fx, const char *name)
{
	char path[192];

	re_snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	assert_int_equal(unlink(path), 0);
}


static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char tls[96];

	if (!fx)
		return -1;

	strcpy(fx->dir, "/tmp/sbc-unit-conf-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;

	re_snprintf(tls, sizeof(tls), "%s/tls", fx->dir);
	if (mkdir(tls, 0700))
		return -1;

	fx_file(fx, "tls/sbc.crt", "dummy certificate\n");
	fx_file(fx, "tls/sbc.key", "dummy key\n");
	fx_file(fx, "ca.pem", "dummy CA\n");

	*state = fx;

	return 0;
}


static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;

	return remove(path);
}


static int teardown(void **state)
{
	struct fx *fx = *state;

	mem_deref(fx->conf);
	mem_deref(fx->err);
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);

	return 0;
}


/* conf_load(path) with stderr captured into fx->err. */
static int load_path(struct fx *fx, const char *path)
{
	char tmpl[] = "/tmp/sbc-unit-stderr-XXXXXX";
	int fd, saved, err;

	fx->conf = mem_deref(fx->conf);
	fx->err  = mem_deref(fx->err);

	fd = mkstemp(tmpl);
	assert_true(fd >= 0);

	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);

	err = conf_load(&fx->conf, path);

	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	close(fd);

	fx->err = read_all(tmpl);
	unlink(tmpl);
	assert_non_null(fx->err);

	/* a failed load hands back nothing */
	if (err)
		assert_null(fx->conf);
	else
		assert_non_null(fx->conf);

	return err;
}


/* Write "text" to <dir>/sbc.conf and load it. */
static int load(struct fx *fx, const char *text)
{
	re_snprintf(fx->path, sizeof(fx->path), "%s/sbc.conf", fx->dir);
	assert_int_equal(write_file(fx->path, text), 0);

	return load_path(fx, fx->path);
}


/* The captured stderr contains the formatted string. */
static void err_has(const struct fx *fx, const char *fmt, ...)
{
	char *want = NULL;
	va_list ap;

	va_start(ap, fmt);
	assert_int_equal(re_vsdprintf(&want, fmt, ap), 0);
	va_end(ap);

	if (!strstr(fx->err, want)) {
		print_error("stderr: \"%s\"\nwanted: \"%s\"\n", fx->err, want);
		mem_deref(want);
		fail();
	}

	mem_deref(want);
}


static void str_is(const char *s, const char *fmt, ...)
{
	char *want = NULL;
	va_list ap;

	va_start(ap, fmt);
	assert_int_equal(re_vsdprintf(&want, fmt, ap), 0);
	va_end(ap);

	assert_non_null(s);
	if (strcmp(s, want)) {
		print_error("got \"%s\", wanted \"%s\"\n", s, want);
		mem_deref(want);
		fail();
	}

	mem_deref(want);
}


static void sa_is(const struct sa *sa, const char *addr)
{
	struct sa want;

	assert_int_equal(sa_set_str(&want, addr, 0), 0);
	assert_true(sa_cmp(sa, &want, SA_ALL));
}


static void test_defaults(void **state)
{
	struct sbc_conf *conf = NULL;
	(void)state;

	assert_int_equal(conf_defaults(&conf), 0);
	assert_non_null(conf);

	assert_null(conf->file);
	assert_null(conf->dir);

	assert_int_equal(conf->log_level, LOG_INFO);

	sa_is(&conf->access_addr, "127.0.0.1");
	assert_int_equal(conf->access_port, 5060);
	assert_int_equal(conf->access_tls_port, 5061);
	/* no file: relative paths stay relative */
	str_is(conf->access_tls_cert, "tls/sbc.crt");
	str_is(conf->access_tls_key, "tls/sbc.key");
	assert_false(conf->access_tls_verify_client);
	str_is(conf->access_tls_ca, "");

	sa_is(&conf->core_addr, "127.0.0.2");
	assert_int_equal(conf->core_port, 5060);
	assert_int_equal(conf->core_tls_port, 5061);
	str_is(conf->core_tls_cert, "tls/sbc.crt");
	str_is(conf->core_tls_key, "tls/sbc.key");

	str_is(conf->upstream, "sip:127.0.0.3:5061;transport=tls");
	str_is(conf->upstream_tls_name, "");
	str_is(conf->upstream_ca, SYS_CA);
	assert_int_equal(conf->upstream_timeout, 800);

	str_is(conf->emergency_numbers, "911,933,112,999");
	str_is(conf->emergency_route, "");

	assert_int_equal(conf->max_message_size, 6048);
	assert_int_equal(conf->max_body_size, 4000);
	assert_int_equal(conf->max_header_size, 1024);
	assert_int_equal(conf->udp_mtu, 1300);
	assert_int_equal(conf->invite_timeout, 180);
	assert_true(conf->loop_detect);

	assert_int_equal(conf->max_fds, 65536);
	assert_int_equal(conf->tcp_backlog, 4096);
	assert_int_equal(conf->udp_sockbuf, 4194304);
	assert_int_equal(conf->hash_size, 131072);

	mem_deref(conf);
}


static void test_load_valid(void **state)
{
	struct fx *fx = *state;
	struct sbc_conf *conf;
	char *text = NULL;

	assert_int_equal(re_sdprintf(&text,
		"# every option, none at its default\n"
		"log_level = debug\n"
		"access_addr = 192.0.2.10\n"
		"access_port = 65535\n"
		"access_tls_port = 5071\n"
		"access_tls_cert = tls/sbc.crt\n"
		"access_tls_key = %s/tls/sbc.key\n"
		"access_tls_verify_client = yes\n"
		"access_tls_ca = ca.pem\n"
		"core_addr = 2001:db8::1\n"
		"core_port = 1\n"
		"core_tls_port = 0\n"
		"core_tls_cert = \n"
		"core_tls_key = \n"
		"upstream = sip:screen.example.net:5061;transport=tls\n"
		"upstream_tls_name = screen.example.net\n"
		"upstream_ca = ca.pem\n"
		"upstream_timeout = 100\n"
		"emergency_numbers = 911, 112,+4433\n"
		"emergency_route = sip:10.0.0.9:5060;transport=udp\n"
		"max_message_size = 65535\n"
		"max_body_size = 0\n"
		"max_header_size = 64\n"
		"udp_mtu = 1400\n"
		"invite_timeout = 3600\n"
		"loop_detect = no\n"
		"max_fds = 1024\n"
		"tcp_backlog = 16\n"
		"udp_sockbuf = 268435456\n"
		"hash_size = 1048576\n", fx->dir), 0);

	assert_int_equal(load(fx, text), 0);
	mem_deref(text);
	assert_string_equal(fx->err, "");

	conf = fx->conf;
	str_is(conf->file, "%s", fx->path);
	str_is(conf->dir, "%s", fx->dir);

	assert_int_equal(conf->log_level, LOG_DEBUG);
	sa_is(&conf->access_addr, "192.0.2.10");
	assert_int_equal(conf->access_port, 65535);
	assert_int_equal(conf->access_tls_port, 5071);
	str_is(conf->access_tls_cert, "%s/tls/sbc.crt", fx->dir);
	str_is(conf->access_tls_key, "%s/tls/sbc.key", fx->dir);
	assert_true(conf->access_tls_verify_client);
	str_is(conf->access_tls_ca, "%s/ca.pem", fx->dir);
	sa_is(&conf->core_addr, "2001:db8::1");
	assert_int_equal(sa_af(&conf->core_addr), AF_INET6);
	assert_int_equal(conf->core_port, 1);
	assert_int_equal(conf->core_tls_port, 0);
	str_is(conf->core_tls_cert, "");
	str_is(conf->core_tls_key, "");
	str_is(conf->upstream, "sip:screen.example.net:5061;transport=tls");
	str_is(conf->upstream_tls_name, "screen.example.net");
	str_is(conf->upstream_ca, "%s/ca.pem", fx->dir);
	assert_int_equal(conf->upstream_timeout, 100);
	str_is(conf->emergency_numbers, "911, 112,+4433");
	str_is(conf->emergency_route, "sip:10.0.0.9:5060;transport=udp");
	assert_int_equal(conf->max_message_size, 65535);
	assert_int_equal(conf->max_body_size, 0);
	assert_int_equal(conf->max_header_size, 64);
	assert_int_equal(conf->udp_mtu, 1400);
	assert_int_equal(conf->invite_timeout, 3600);
	assert_false(conf->loop_detect);
	assert_int_equal(conf->max_fds, 1024);
	assert_int_equal(conf->tcp_backlog, 16);
	assert_int_equal(conf->udp_sockbuf, 268435456);
	assert_int_equal(conf->hash_size, 1048576);
}


static void test_bool_spellings(void **state)
{
	static const struct {
		const char *val;
		bool v;
	} boolv[] = {
		{"yes", true}, {"YES", true}, {"true", true}, {"1", true},
		{"On", true},  {"no", false}, {"False", false},
		{"0", false},  {"off", false},
	};
	struct fx *fx = *state;
	char text[128];

	for (size_t i = 0; i < ARRAY_SIZE(boolv); i++) {
		/* the opposite of the default, then the value */
		re_snprintf(text, sizeof(text),
			    "upstream_ca = ca.pem\nloop_detect = %s\n",
			    boolv[i].val);
		assert_int_equal(load(fx, text), 0);
		assert_int_equal(fx->conf->loop_detect, boolv[i].v);
	}
}


static void test_comments_blank_whitespace(void **state)
{
	struct fx *fx = *state;
	struct sbc_conf *conf;

	assert_int_equal(load(fx,
		"# a comment\n"
		"\n"
		"   \t \n"
		"   # an indented comment = with an equals sign\n"
		"access_port=5070\n"
		"\tcore_port \t=\t 5080  \n"
		"udp_mtu = 1400\r\n"
		"upstream_ca = ca.pem\n"
		"# access_tls_port = 0\n"
		"emergency_numbers =   911 , 112  \n"
		"upstream_tls_name =\n"
		"hash_size = 32"), 0);
	assert_string_equal(fx->err, "");

	conf = fx->conf;
	assert_int_equal(conf->access_port, 5070);
	assert_int_equal(conf->core_port, 5080);
	assert_int_equal(conf->udp_mtu, 1400);       /* CRLF line      */
	assert_int_equal(conf->access_tls_port, 5061); /* commented out */
	str_is(conf->emergency_numbers, "911 , 112");
	str_is(conf->upstream_tls_name, "");
	assert_int_equal(conf->hash_size, 32);       /* no final LF    */
}


static void test_empty_file(void **state)
{
	struct fx *fx = *state;

	/* an empty file is all defaults, given the default CA bundle */
	if (access(SYS_CA, R_OK))
		skip();

	assert_int_equal(load(fx, ""), 0);
	assert_string_equal(fx->err, "");
	assert_int_equal(fx->conf->access_port, 5060);
	str_is(fx->conf->core_tls_key, "%s/tls/sbc.key", fx->dir);
}


static void test_unknown_option(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx,
		"upstream_ca = ca.pem\n"
		"\n"
		"no_such_option = 1\n"
		"access_port = 5070\n"), ENOENT);
	err_has(fx, "%s:3: unknown option 'no_such_option'\n", fx->path);

	/* option names are case-sensitive and whole */
	assert_int_equal(load(fx, "Access_Port = 5070\n"), ENOENT);
	err_has(fx, "%s:1: unknown option 'Access_Port'", fx->path);
	assert_int_equal(load(fx, "access = 5070\n"), ENOENT);
	err_has(fx, "%s:1: unknown option 'access'", fx->path);
}


static void test_syntax_error(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx, "# ok\naccess_port 5070\n"), EINVAL);
	err_has(fx, "%s:2: expected 'name = value'\n", fx->path);
}


static void test_bad_value(void **state)
{
	static const struct {
		const char *line;
		const char *msg;
	} badv[] = {
		{"loop_detect = maybe",
		 "option 'loop_detect': 'maybe' is not valid "
		 "(expected yes or no)"},
		{"loop_detect = ",
		 "option 'loop_detect': '' is not valid"},
		{"log_level = verbose",
		 "option 'log_level': 'verbose' is not valid "
		 "(expected error, warn, info or debug)"},
		{"access_port = abc",
		 "option 'access_port': 'abc' is not valid "
		 "(expected a whole number in range)"},
		{"access_port = -1",
		 "option 'access_port': '-1' is not valid"},
		{"access_port =",
		 "option 'access_port': '' is not valid"},
		{"emergency_numbers = 911,abc",
		 "option 'emergency_numbers': '911,abc' is not valid "
		 "(expected comma-separated numbers)"},
		{"emergency_numbers = 911,,112",
		 "option 'emergency_numbers': '911,,112' is not valid"},
		{"emergency_numbers = ,911",
		 "option 'emergency_numbers': ',911' is not valid"},
	};
	struct fx *fx = *state;
	char text[128];

	for (size_t i = 0; i < ARRAY_SIZE(badv); i++) {
		re_snprintf(text, sizeof(text), "# bad\n%s\n", badv[i].line);
		assert_int_equal(load(fx, text), EINVAL);
		err_has(fx, "%s:2: %s", fx->path, badv[i].msg);
	}
}


/* Regression (fixed; sbc/conf.c opt_set, CT_UINT): a number followed by garbage is
 * reported as "out of range" instead of "not valid". */
static void test_regr_uint_trailing_garbage(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx, "access_port = 50x\n"), EINVAL);
	err_has(fx, "%s:1: option 'access_port': '50x' is not valid",
		fx->path);
}


static void test_out_of_range(void **state)
{
	static const struct {
		const char *line;
		const char *msg;
	} badv[] = {
		{"access_port = 0",
		 "option 'access_port': '0' is out of range (1..65535)"},
		{"access_port = 65536",
		 "option 'access_port': '65536' is out of range (1..65535)"},
		{"access_tls_port = 70000",
		 "option 'access_tls_port': '70000' is out of range (0..65535)"},
		{"upstream_timeout = 99",
		 "option 'upstream_timeout': '99' is out of range (100..60000)"},
		{"upstream_timeout = 60001",
		 "option 'upstream_timeout': '60001' is out of range"},
		{"max_message_size = 511",
		 "option 'max_message_size': '511' is out of range "
		 "(512..65535)"},
		{"max_header_size = 63",
		 "option 'max_header_size': '63' is out of range"},
		{"udp_sockbuf = 99999999999999999999999",
		 "option 'udp_sockbuf': '99999999999999999999999' is out of "
		 "range (65536..268435456)"},
		{"hash_size = 4294967312",
		 "option 'hash_size': '4294967312' is out of range"},
	};
	struct fx *fx = *state;
	char text[128];

	for (size_t i = 0; i < ARRAY_SIZE(badv); i++) {
		re_snprintf(text, sizeof(text), "\n\n%s\n", badv[i].line);
		assert_int_equal(load(fx, text), ERANGE);
		err_has(fx, "%s:3: %s", fx->path, badv[i].msg);
	}
}


static void test_duplicate(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx,
		"upstream_ca = ca.pem\n"
		"access_port = 5070\n"
		"# again\n"
		"\n"
		"access_port = 5070\n"), EEXIST);
	err_has(fx, "%s:5: option 'access_port' already set on line 2\n",
		fx->path);

	/* a bad first value stops at the first line already */
	assert_int_equal(load(fx, "loop_detect = x\nloop_detect = no\n"),
			 EINVAL);
	err_has(fx, "%s:1: option 'loop_detect'", fx->path);
}


static void test_bad_address(void **state)
{
	static const char *linev[] = {
		"access_addr = 127.0.0",
		"access_addr = localhost",
		"access_addr = 127.0.0.1:5060",
		"access_addr = 1.2.3.256",
		"access_addr = ",
	};
	struct fx *fx = *state;
	char text[128];

	for (size_t i = 0; i < ARRAY_SIZE(linev); i++) {
		re_snprintf(text, sizeof(text), "%s\n", linev[i]);
		assert_int_equal(load(fx, text), EINVAL);
		err_has(fx, "%s:1: option 'access_addr': ", fx->path);
		err_has(fx, "(expected an IPv4 or IPv6 address)");
	}

	assert_int_equal(load(fx, "# x\ncore_addr = fe80::1::2\n"), EINVAL);
	err_has(fx, "%s:2: option 'core_addr': 'fe80::1::2' is not valid",
		fx->path);
}


static void test_wildcard_refused(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx, "access_addr = 0.0.0.0\n"), EINVAL);
	err_has(fx, "%s:1: option 'access_addr': '0.0.0.0' is not valid "
		"(expected a concrete address", fx->path);
	err_has(fx, "wildcard");

	assert_int_equal(load(fx, "\ncore_addr = ::\n"), EINVAL);
	err_has(fx, "%s:2: option 'core_addr': '::' is not valid "
		"(expected a concrete address", fx->path);
}


static void test_bad_uri(void **state)
{
	static const char *linev[] = {
		"upstream = http://screen.example.net",
		"upstream = screen.example.net",
		"upstream = sips:screen.example.net:5061",
		"upstream = tel:+15551234567",
		"emergency_route = tel:911",
		"emergency_route = mailto:psap@example.net",
	};
	struct fx *fx = *state;
	char text[128];

	for (size_t i = 0; i < ARRAY_SIZE(linev); i++) {
		re_snprintf(text, sizeof(text), "# uri\n%s\n", linev[i]);
		assert_int_equal(load(fx, text), EINVAL);
		err_has(fx, "%s:2: option '%b': ", fx->path, linev[i],
			strcspn(linev[i], " "));
		err_has(fx, "(expected a SIP URI such as "
			"sip:host:port;transport=tls)");
	}

	/* the upstream cannot be empty: checked after the whole file */
	assert_int_equal(load(fx, "\n\nupstream = \naccess_port = 5070\n"),
			 EINVAL);
	err_has(fx, "%s:3: option 'upstream' must be set", fx->path);

	/* an empty emergency_route is allowed (503 for emergency calls) */
	assert_int_equal(load(fx, "upstream_ca = ca.pem\n"
			      "emergency_route =\n"), 0);
	str_is(fx->conf->emergency_route, "");
}


static void test_relative_paths(void **state)
{
	struct fx *fx = *state;
	char sub[96], cwd[512], *text = NULL;

	re_snprintf(sub, sizeof(sub), "%s/certs", fx->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	fx_file(fx, "certs/a.crt", "dummy\n");

	assert_int_equal(re_sdprintf(&text,
		"access_tls_cert = certs/a.crt\n"
		"access_tls_key = %s/tls/sbc.key\n"
		"upstream_ca = ca.pem\n", fx->dir), 0);
	assert_int_equal(load(fx, text), 0);
	mem_deref(text);

	str_is(fx->conf->access_tls_cert, "%s/certs/a.crt", fx->dir);
	str_is(fx->conf->access_tls_key, "%s/tls/sbc.key", fx->dir);
	str_is(fx->conf->upstream_ca, "%s/ca.pem", fx->dir);
	/* defaults are resolved the same way */
	str_is(fx->conf->core_tls_cert, "%s/tls/sbc.crt", fx->dir);
	str_is(fx->conf->core_tls_key, "%s/tls/sbc.key", fx->dir);
	/* empty stays empty */
	str_is(fx->conf->access_tls_ca, "");

	/* a file named without a directory: relative to "." */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(fx->dir), 0);
	assert_int_equal(load_path(fx, "sbc.conf"), 0);
	assert_int_equal(chdir(cwd), 0);
	str_is(fx->conf->dir, ".");
	str_is(fx->conf->access_tls_cert, "./certs/a.crt");
	str_is(fx->conf->upstream_ca, "./ca.pem");
}


static void test_tls_files(void **state)
{
	struct fx *fx = *state;

	/* set in the file: file:line and the option name */
	assert_int_equal(load(fx,
		"upstream_ca = ca.pem\n"
		"access_tls_cert = missing.crt\n"), EINVAL);
	err_has(fx, "%s:2: option 'access_tls_cert': cannot read "
		"'%s/missing.crt'", fx->path, fx->dir);

	/* the same file is fine when the TLS listener is off */
	assert_int_equal(load(fx,
		"upstream_ca = ca.pem\n"
		"access_tls_port = 0\n"
		"access_tls_cert = missing.crt\n"), 0);

	/* defaults that do not exist: the option name and the path */
	fx_unlink(fx, "tls/sbc.key");
	assert_int_equal(load(fx, "upstream_ca = ca.pem\n"), EINVAL);
	err_has(fx, "%s: option 'access_tls_key' (default", fx->path);
	err_has(fx, "cannot read '%s/tls/sbc.key'", fx->dir);
	err_has(fx, "option 'core_tls_key'");
	assert_null(strstr(fx->err, "'access_tls_cert'"));

	/* without the access TLS listener the core side still needs it */
	assert_int_equal(load(fx, "upstream_ca = ca.pem\n"
			      "access_tls_port = 0\n"), EINVAL);
	err_has(fx, "option 'core_tls_key'");
	assert_null(strstr(fx->err, "access_tls"));

	/* no TLS anywhere: no file needed */
	fx_unlink(fx, "tls/sbc.crt");
	fx_unlink(fx, "ca.pem");
	assert_int_equal(load(fx,
		"access_tls_port = 0\n"
		"core_tls_cert =\n"
		"upstream = sip:127.0.0.3:5060;transport=tcp\n"
		"upstream_ca = nowhere.pem\n"), 0);
	assert_string_equal(fx->err, "");

	/* a TLS upstream needs its CA bundle */
	assert_int_equal(load(fx,
		"access_tls_port = 0\n"
		"core_tls_cert =\n"
		"upstream_ca = nowhere.pem\n"), EINVAL);
	err_has(fx, "%s:3: option 'upstream_ca': cannot read "
		"'%s/nowhere.pem'", fx->path, fx->dir);

	/* set empty: said so, not "cannot read ''" */
	assert_int_equal(load(fx,
		"access_tls_port = 0\n"
		"core_tls_cert =\n"
		"upstream_ca =\n"), EINVAL);
	err_has(fx, "%s:3: option 'upstream_ca': empty, a file is needed",
		fx->path);
}


static void test_verify_client_needs_ca(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx,
		"upstream_ca = ca.pem\n"
		"access_tls_verify_client = yes\n"), EINVAL);
	err_has(fx, "option 'access_tls_ca'");

	assert_int_equal(load(fx,
		"upstream_ca = ca.pem\n"
		"access_tls_verify_client = yes\n"
		"access_tls_ca = ca.pem\n"), 0);
	assert_true(fx->conf->access_tls_verify_client);
}


static void test_shared_address(void **state)
{
	struct fx *fx = *state;

	/* same address, same UDP/TCP port */
	assert_int_equal(load(fx,
		"upstream_ca = ca.pem\n"
		"core_addr = 127.0.0.1\n"), EINVAL);
	err_has(fx, "%s:2: access and core side share address 127.0.0.1 and port 5060: "
		"give them different ports", fx->path);

	/* same TLS port */
	assert_int_equal(load(fx,
		"upstream_ca = ca.pem\n"
		"core_addr = 127.0.0.1\n"
		"core_port = 5070\n"), EINVAL);
	err_has(fx, "share address");

	/* different ports: fine */
	assert_int_equal(load(fx,
		"upstream_ca = ca.pem\n"
		"core_addr = 127.0.0.1\n"
		"core_port = 5070\n"
		"core_tls_port = 5071\n"), 0);

	/* both TLS ports 0 (no access listener, ephemeral core): fine */
	assert_int_equal(load(fx,
		"upstream_ca = ca.pem\n"
		"core_addr = 127.0.0.1\n"
		"core_port = 5070\n"
		"access_tls_port = 0\n"
		"core_tls_port = 0\n"), 0);
}


/* Registration bounds and keep-alive times: in order, or the file:line
 * of the option that breaks it; keepalive takes its three words only. */
static void test_registrations(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx,
		"upstream_ca = ca.pem\n"
		"register_max_expires = 600\n"
		"register_min_expires = 30\n"
		"keepalive = crlf\n"
		"keepalive_interval = 10\n"
		"keepalive_timeout = 25\n"), 0);
	assert_int_equal(fx->conf->register_max_expires, 600);
	assert_int_equal(fx->conf->register_min_expires, 30);
	assert_int_equal(fx->conf->keepalive, KEEPALIVE_CRLF);
	assert_int_equal(fx->conf->keepalive_interval, 10);
	assert_int_equal(fx->conf->keepalive_timeout, 25);

	assert_int_equal(load(fx,
		"upstream_ca = ca.pem\n"
		"register_max_expires = 600\n"
		"register_min_expires = 601\n"), EINVAL);
	err_has(fx, "%s:3: register_min_expires 601 is above "
		"register_max_expires 600", fx->path);

	assert_int_equal(load(fx,
		"upstream_ca = ca.pem\n"
		"keepalive_interval = 30\n"
		"keepalive_timeout = 30\n"), EINVAL);
	err_has(fx, "%s:3: keepalive_timeout 30 must be above "
		"keepalive_interval 30", fx->path);

	assert_int_equal(load(fx,
		"upstream_ca = ca.pem\n"
		"keepalive = stun\n"), EINVAL);
	err_has(fx, "options,crlf,none");
}


/* Regression (fixed; sbc/conf.c validate): on a shared address only equal UDP/TCP ports
 * and equal TLS ports are refused, but a TCP port equal to the other
 * side's TLS port (both are TCP listeners) is accepted and only fails
 * at bind time. */
static void test_regr_shared_address_tcp_tls_clash(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx,
		"upstream_ca = ca.pem\n"
		"core_addr = 127.0.0.1\n"
		"core_port = 5061\n"
		"core_tls_port = 5071\n"), EINVAL);
	err_has(fx, "share address");
}


static void test_missing_file(void **state)
{
	struct fx *fx = *state;
	char path[128];

	re_snprintf(path, sizeof(path), "%s/none.conf", fx->dir);
	assert_int_equal(load_path(fx, path), ENOENT);
	err_has(fx, "%s: cannot read", path);
}


static void test_print_default_roundtrip(void **state)
{
	struct fx *fx = *state;
	char *text = NULL, *a = NULL, *b = NULL;
	struct sbc_conf *printed;

	/* it names the system CA bundle for the TLS upstream */
	if (access(SYS_CA, R_OK))
		skip();

	assert_int_equal(re_sdprintf(&text, "%H", conf_print_default, NULL),
			 0);
	assert_int_equal(load(fx, text), 0);
	mem_deref(text);
	assert_string_equal(fx->err, "");

	/* it is the same configuration as no file at all */
	printed = mem_ref(fx->conf);
	assert_int_equal(load(fx, "# nothing\n"), 0);
	assert_int_equal(re_sdprintf(&a, "%H", conf_print, printed), 0);
	assert_int_equal(re_sdprintf(&b, "%H", conf_print, fx->conf), 0);
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "\nmax_message_size = 6048\n"));

	mem_deref(a);
	mem_deref(b);
	mem_deref(printed);
}


/* [peer NAME] sections: networks, transports, first match in file order,
 * and the errors a section can have. */
static void test_peers(void **state)
{
	struct fx *fx = *state;
	const struct conf_peer *p;
	struct sa sa;

	assert_int_equal(load(fx,
		"upstream_ca = ca.pem\n"
		"[peer a]\n"
		"addr = 192.0.2.0/24, 2001:db8::/32\n"
		"transports = udp, TLS\n"
		"profile = retail\n"
		"[ peer b ]\n"
		"addr = 198.51.100.7, 192.0.2.9\n"
		"[profile retail]\n"), 0);
	assert_int_equal(list_count(&fx->conf->peerl), 2);

	assert_int_equal(sa_set_str(&sa, "192.0.2.9", 5060), 0);
	p = conf_peer_find(fx->conf, &sa);
	assert_non_null(p);
	assert_string_equal(p->name, "a");     /* first match wins */
	assert_string_equal(p->profile, "retail");
	assert_non_null(p->prof);
	assert_string_equal(p->prof->name, "retail");
	assert_int_equal(p->transports, (1u << SIP_TRANSP_UDP)
			 | (1u << SIP_TRANSP_TLS));

	assert_int_equal(sa_set_str(&sa, "198.51.100.7", 1), 0);
	p = conf_peer_find(fx->conf, &sa);
	assert_non_null(p);
	assert_string_equal(p->name, "b");
	assert_int_equal(p->transports, (1u << SIP_TRANSP_UDP)
			 | (1u << SIP_TRANSP_TCP) | (1u << SIP_TRANSP_TLS));

	assert_int_equal(sa_set_str(&sa, "2001:db8:ffff::1", 1), 0);
	assert_non_null(conf_peer_find(fx->conf, &sa));
	assert_int_equal(sa_set_str(&sa, "2001:db9::1", 1), 0);
	assert_null(conf_peer_find(fx->conf, &sa));
	assert_int_equal(sa_set_str(&sa, "192.0.3.1", 1), 0);
	assert_null(conf_peer_find(fx->conf, &sa));
	assert_int_equal(sa_set_str(&sa, "198.51.100.8", 1), 0);
	assert_null(conf_peer_find(fx->conf, &sa));

	assert_int_equal(load(fx, "upstream_ca = ca.pem\n[peer a]\n"
			      "transports = udp\n"), EINVAL);
	err_has(fx, "%s:2: peer 'a' has no addr", fx->path);

	assert_int_equal(load(fx, "[peer a]\naddr = 192.0.2.0/33\n"), EINVAL);
	err_has(fx, "%s:2: option 'addr': '192.0.2.0/33' is not valid",
		fx->path);

	assert_int_equal(load(fx, "[peer a]\naddr = 1.2.3.4\n"
			      "transports = sctp\n"), EINVAL);
	err_has(fx, "%s:3: option 'transports'", fx->path);

	assert_int_equal(load(fx, "[peer a]\naddr = 1.2.3.4\n[peer a]\n"),
			 EEXIST);
	err_has(fx, "%s:3: peer 'a' already defined on line 1", fx->path);

	/* a global option after a section belongs to the section */
	assert_int_equal(load(fx, "[peer a]\naddr = 1.2.3.4\n"
			      "log_level = debug\n"), ENOENT);
	err_has(fx, "%s:3: unknown option 'log_level' in peer a", fx->path);

	assert_int_equal(load(fx, "[pear a]\n"), EINVAL);
	err_has(fx, "%s:1: expected a section '[peer NAME]'", fx->path);
}


/* [profile NAME] sections: defaults, off-hours values that follow the
 * working-hours ones, and errors naming their line. */
static void test_profiles(void **state)
{
	struct fx *fx = *state;
	const struct conf_profile *pr;

	assert_int_equal(load(fx,
		"[profile night]\n"
		"timezone = America/New_York\n"
		"offhours = 00:00-08:00,1-5 18:00-23:59,1-5 00:00-23:59,6-7\n"
		"max_calls = 10\n"
		"daily_calls_offhours = 20\n"
		"deny = ^(00|\\+)9\n"
		"[peer a]\naddr = 192.0.2.1\nprofile = night\n"), 0);
	pr = conf_profile_find(fx->conf, "night");
	assert_non_null(pr);
	assert_int_equal(pr->max_calls, 10);
	assert_int_equal(pr->max_calls_offhours, CONF_SAME);
	assert_int_equal(pr->daily_calls, 0);
	assert_int_equal(pr->daily_calls_offhours, 20);
	assert_int_equal(pr->max_per_from, 5);
	assert_int_equal(pr->reject_code, 403);
	assert_int_equal(pr->sched.n, 3);
	assert_true(pr->deny_ok);
	assert_false(pr->allow_ok);
	assert_int_equal(regexec(&pr->deny_re, "+9001", 0, NULL, 0), 0);

	assert_int_equal(load(fx, "[peer a]\naddr = 192.0.2.1\n"
			      "profile = nosuch\n"), EINVAL);
	err_has(fx, "%s:3: peer 'a': no profile 'nosuch'", fx->path);

	assert_int_equal(load(fx, "[profile p]\ntimezone = Mars/Olympus\n"),
			 EINVAL);
	err_has(fx, "%s:2: profile 'p': unknown time zone 'Mars/Olympus'",
		fx->path);
	assert_int_equal(load(fx, "[profile p]\ntimezone = ../../etc/passwd\n"),
			 EINVAL);

	assert_int_equal(load(fx, "[profile p]\n\noffhours = 25:00-26:00\n"),
			 EINVAL);
	err_has(fx, "%s:3: profile 'p': option 'offhours': '25:00-26:00' is "
		"not valid", fx->path);

	assert_int_equal(load(fx, "[profile p]\nallow = ^(9\n"), EINVAL);
	err_has(fx, "%s:2: profile 'p': option 'allow': bad regex", fx->path);

	assert_int_equal(load(fx, "[profile p]\nreject_code = 200\n"),
			 ERANGE);
	err_has(fx, "%s:2: option 'reject_code': '200' is out of range",
		fx->path);
}

/* CIDR edges: /0, /32, /128, and a prefix that is not a byte boundary. */
static void test_net_match(void **state)
{
	struct conf_net net;
	struct sa sa;
	(void)state;

	assert_int_equal(sa_set_str(&net.addr, "10.1.2.128", 0), 0);
	net.bits = 25;
	assert_int_equal(sa_set_str(&sa, "10.1.2.255", 0), 0);
	assert_true(conf_net_match(&net, &sa));
	assert_int_equal(sa_set_str(&sa, "10.1.2.127", 0), 0);
	assert_false(conf_net_match(&net, &sa));
	net.bits = 0;
	assert_true(conf_net_match(&net, &sa));
	net.bits = 32;
	assert_false(conf_net_match(&net, &sa));
	/* libre reads a v4-mapped address as the IPv4 one */
	assert_int_equal(sa_set_str(&sa, "::ffff:10.1.2.128", 0), 0);
	assert_true(conf_net_match(&net, &sa));
	assert_int_equal(sa_set_str(&sa, "2001:db8::1", 0), 0);
	assert_false(conf_net_match(&net, &sa));   /* other family */
	assert_int_equal(sa_set_str(&net.addr, "::1", 0), 0);
	net.bits = 128;
	assert_int_equal(sa_set_str(&sa, "::1", 0), 0);
	assert_true(conf_net_match(&net, &sa));
}



static void test_shipped_conf_is_default(void **state)
{
	char *text = NULL, *shipped;
	(void)state;

	shipped = read_all(SBC_SOURCE_DIR "/conf/sbc.conf");
	assert_non_null(shipped);

	assert_int_equal(re_sdprintf(&text, "%H", conf_print_default, NULL),
			 0);
	assert_string_equal(shipped, text);

	mem_deref(text);
	mem_deref(shipped);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test_setup_teardown(test_load_valid, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bool_spellings, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_comments_blank_whitespace,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unknown_option, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_syntax_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_value, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_regr_uint_trailing_garbage,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_duplicate, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_address, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wildcard_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_uri, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relative_paths, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tls_files, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_verify_client_needs_ca,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_address, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_registrations, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_regr_shared_address_tcp_tls_clash, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_print_default_roundtrip,
						setup, teardown),
		cmocka_unit_test(test_shipped_conf_is_default),
		cmocka_unit_test_setup_teardown(test_peers, setup, teardown),
		cmocka_unit_test(test_net_match),
		cmocka_unit_test_setup_teardown(test_profiles, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
