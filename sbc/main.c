/*
 * main.c: sbcd, the SIP entry-point SBC daemon.  Parses the command line,
 * loads the configuration, sizes the process for load, brings up both
 * sides and runs libre's event loop in the foreground.
 */
#include <getopt.h>
#include <malloc.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include "sbc.h"
#include "blacklist.h"
#include "flow.h"
#include "authguard.h"
#include "freebind.h"
#include "cluster.h"
#include "redis.h"
#define DEBUG_MODULE "sbcd"
#define DEBUG_LEVEL 0
#include <re_dbg.h>

#define DEFAULT_CONF "/etc/sbc/sbc.conf"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sbcd [-f FILE] [-t] [-v]\n"
		"       sbcd --print-config | --help | --version\n"
		"\n"
		"  -f, --config FILE   configuration file (default "
		DEFAULT_CONF ")\n"
		"  -t, --test          check the configuration and exit\n"
		"  -v, --verbose       with -t: print the effective "
		"configuration\n"
		"      --print-config  print the default configuration "
		"(conf/sbc.conf)\n"
		"  -h, --help          this help\n"
		"  -V, --version       print the version\n"
		"\n"
		"sbcd runs in the foreground and logs to stderr.\n");
}

static void signal_handler(int sig)
{
	(void)sig;
	re_cancel();
}

/* libre's own diagnostics go through our log, at debug level: what an
 * operator needs (why an upstream failed) is logged by sbcd itself. */
static void libre_dbg(int level, const char *p, size_t len, void *arg)
{
	const struct sbc *sbc = arg;
	(void)level;

	while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		--len;
	LOGD(sbc, "libre: %b", p, len);
}

static void raise_fd_limit(struct sbc *sbc)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur >= sbc->conf->max_fds)
		return;
	rl.rlim_cur = sbc->conf->max_fds;
	if (rl.rlim_max < rl.rlim_cur) {
		struct rlimit up = {rl.rlim_cur, rl.rlim_cur};

		if (!setrlimit(RLIMIT_NOFILE, &up))
			return;
		rl.rlim_cur = rl.rlim_max;   /* as far as we may go */
	}
	if (setrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur < sbc->conf->max_fds)
		LOGW(sbc, "file descriptor limit is %llu, below max_fds %u",
		     (unsigned long long)rl.rlim_cur, sbc->conf->max_fds);
}

static int dns_init(struct sbc *sbc)
{
	struct sa srvv[8];
	uint32_t n = ARRAY_SIZE(srvv);
	char domain[64] = "";
	int err;

	err = dns_srv_get(domain, sizeof(domain), srvv, &n);
	if (err || !n) {
		LOGW(sbc, "no DNS servers (%m): only numeric hosts can be "
		     "routed to", err);
		return 0;
	}
	return dnsc_alloc(&sbc->dnsc, NULL, srvv, n);
}

static int sbc_start(struct sbc *sbc)
{
	int err;

	err = reload_hops(sbc->conf, &sbc->hop);
	err = err ? err : bl_load(&sbc->blacklist, sbc->conf);
	err = err ? err : event_init(sbc);
	err = err ? err : flood_init(sbc);
	err = err ? err : store_init(&sbc->store, 1024);
	err = err ? err : dialog_init(sbc);
	err = err ? err : binding_init(sbc);
	err = err ? err : flow_key_init(sbc->flow_key,
						  sbc->conf->flow_key_file);
	err = err ? err : authguard_init(sbc);
	err = err ? err : media_init(sbc);
	err = err ? err : ctrl_init(sbc);
	err = err ? err : metrics_init(sbc);
	err = err ? err : reload_init(sbc);
	err = err ? err : dns_init(sbc);
	err = err ? err : listen_init(sbc);
	err = err ? err : trace_init(sbc);
	if (err)
		return err;

	overload_init(sbc);
	if (sbc->conf->callid_hiding && !sbc->conf->flow_key_file[0])
		LOGW(sbc, "callid_hiding without flow_key_file: a restart "
		     "changes every masked Call-ID (calls kept by state_file "
		     "lose theirs)");
	if (!sbc->conf->emergency_route[0])
		LOGW(sbc, "no emergency_route: emergency calls (%s) will get "
		     "503", sbc->conf->emergency_numbers);
	if (sbc->conf->screening_mode == SCREENING_REDIRECT)
		LOGI(sbc, "redirect screening: verdicts from the upstream, "
		     "approved calls to %s, fail-%s after %u ms",
		     sbc->conf->switch_uri, sbc->conf->verdict_fail
		     == VERDICT_FAIL_OPEN ? "open" : "closed",
		     sbc->conf->verdict_timeout);
	if (sbc->conf->registrar[0])
		LOGI(sbc, "registrar %s", sbc->conf->registrar);
	LOGI(sbc, "upstream %s%s%s", sbc->conf->upstream,
	     sbc->side[SIDE_CORE].tls_name ? ", verified as " : "",
	     sbc->side[SIDE_CORE].tls_name ? sbc->side[SIDE_CORE].tls_name
					   : "");
	if (sbc->conf->cluster == CONF_CLUSTER_NONE) {
		err = state_load(sbc);
	}
	else {
		if (sbc->conf->state_file[0])
			LOGW(sbc, "state_file is not read by a cluster node: "
			     "it takes the state from the active");
		err = cluster_init(sbc);
	}
	/* the other pairs' bans, rules and counters, before calls come */
	err = err ? err : redis_init(sbc);
	if (err)
		return err;
	/* always written, whatever the log level: tests and init wait for it */
	LOGI(NULL, "sbcd " SBC_VERSION " ready");
	return 0;
}

static void sbc_stop(struct sbc *sbc)
{
	redis_close(sbc);
	cluster_close(sbc);
	reload_close(sbc);
	ctrl_close(sbc);
	metrics_close(sbc);
	trace_close(sbc);
	overload_close(sbc);
	forward_close(sbc);
	dialog_close(sbc);
	binding_close(sbc);
	media_close(sbc);
	store_close(&sbc->store);
	listen_close(sbc);
	authguard_close(sbc);
	flood_close(sbc);
	event_close(sbc);
	log_close(sbc);
	list_flush(&sbc->blacklist);
	sbc->dnsc = mem_deref(sbc->dnsc);
}

/* Touch the heap once and keep it: glibc would otherwise return freed
 * memory to the kernel, and every call would pay page faults again as
 * the transaction tables grow (the analogue of a fixed shared memory
 * pool in other SIP servers). */
static void prefault(const struct sbc *sbc)
{
	const size_t chunk = 1 << 20;
	size_t n = sbc->conf->prefault_mb;
	void **v;

	if (!n)
		return;
	/* and once grown, the heap stays: the next burst of calls would
	 * otherwise pay the page faults again (a fixed pool, like the
	 * shared memory of other SIP servers) */
	(void)mallopt(M_MMAP_THRESHOLD, 4 * chunk);
	(void)mallopt(M_TRIM_THRESHOLD, -1);
	v = calloc(n, sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		v[i] = malloc(chunk - 64);
		if (!v[i])
			break;
		/* not 0: the compiler would turn malloc+memset into a calloc
		 * that knows fresh pages are zero and touches nothing */
		memset(v[i], 0xa5, chunk - 64);
	}
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int run(struct sbc *sbc)
{
	int err;

	if (sbc->conf->cluster != CONF_CLUSTER_NONE)
		freebind_enable();
	/* libre sizes its fd table once, before the first socket */
	(void)fd_setsize((int)sbc->conf->max_fds);
	err = libre_init();
	if (err) {
		LOGE(sbc, "libre_init: %m", err);
		return err;
	}
	dbg_init(sbc->conf->log_level >= LOG_DEBUG ? DBG_INFO : DBG_WARNING,
		 DBG_NONE);
	dbg_handler_set(libre_dbg, sbc);
	raise_fd_limit(sbc);
	prefault(sbc);

	err = sbc_start(sbc);
	if (!err) {
		err = re_main(signal_handler);
		if (sbc->conf->cluster == CONF_CLUSTER_NONE)
			(void)state_save(sbc);
	}
	LOGI(NULL, "shutting down (%llu requests, %llu responses received)",
	     (unsigned long long)sbc->stats.req_rx,
	     (unsigned long long)sbc->stats.rsp_rx);
	sbc_stop(sbc);
	libre_close();
	return err;
}

int main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'f'},
		{"test", no_argument, NULL, 't'},
		{"verbose", no_argument, NULL, 'v'},
		{"print-config", no_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct sbc sbc;
	const char *file = DEFAULT_CONF;
	bool test = false, verbose = false;
	int c, err;

	memset(&sbc, 0, sizeof(sbc));
	while ((c = getopt_long(argc, argv, "f:tvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 't': test = true; break;
		case 'v': verbose = true; break;
		case 'P':
			return re_printf("%H", conf_print_default, NULL) < 0;
		case 'h': usage(stdout); return 0;
		case 'V': printf("sbcd " SBC_VERSION "\n"); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}

	err = conf_load(&sbc.conf, file);
	if (err) {
		fprintf(stderr, "sbcd: configuration %s is not valid\n", file);
		return 1;
	}
	if (test) {
		if (verbose)
			re_printf("%H", conf_print, sbc.conf);
		if (redis_check(sbc.conf)) {
			fprintf(stderr, "sbcd: configuration %s is not valid\n",
				file);
			mem_deref(sbc.conf);
			return 1;
		}
		printf("sbcd: configuration %s is valid\n", file);
		mem_deref(sbc.conf);
		return 0;
	}

	(void)signal(SIGPIPE, SIG_IGN);
	err = run(&sbc);
	mem_deref(sbc.conf);
	return err ? 1 : 0;
}
