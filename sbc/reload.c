/*
 * reload.c: a new configuration without a restart, on SIGHUP or
 * `sbcctl reload`.  The file is read and validated whole first, so a bad
 * file changes nothing.  Then what was derived from the running
 * configuration is derived again (the next hops, the upstream's TLS
 * name, the blacklist rules of the file, the call admission buckets) and
 * the two are swapped.
 *
 * Calls in progress are not touched: each transaction holds a reference
 * to the configuration it started under (its next hop points into its
 * strings), and dialogs and counters are keyed by peer names.  Options
 * bound to sockets, files or memory sized at start-up keep their running
 * value, with a warning naming them.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include "sbc.h"
#include "blacklist.h"

static int hop_decode(struct uri *uri, const char *str)
{
	struct pl pl;

	memset(uri, 0, sizeof(*uri));
	if (!str[0])
		return 0;
	pl_set_str(&pl, str);
	return uri_decode(uri, &pl);
}

/* The next hops of a configuration; they point into its strings. */
int reload_hops(const struct sbc_conf *conf, struct hops *hop)
{
	int err;

	err  = hop_decode(&hop->upstream, conf->upstream);
	err |= hop_decode(&hop->emergency_route, conf->emergency_route);
	err |= hop_decode(&hop->switch_uri,
			  conf->screening_mode == SCREENING_REDIRECT
			  ? conf->switch_uri : "");
	err |= hop_decode(&hop->registrar, conf->registrar);
	return err ? EINVAL : 0;
}

static void kept(const char *name, void *arg)
{
	LOGW((struct sbc *)arg, "reload: option '%s' changed: a restart is "
	     "needed for it, the running value stays", name);
}

/* The rules of the new file, then those added at run time. */
static int reload_blacklist(struct sbc *sbc, const struct sbc_conf *nconf)
{
	struct list nl = LIST_INIT;
	struct le *le;
	int err = bl_load(&nl, nconf);

	if (err) {
		list_flush(&nl);
		return err;
	}
	le = sbc->blacklist.head;
	while (le) {
		struct bl_rule *r = le->data;

		le = le->next;
		if (!r->runtime)
			continue;
		list_unlink(&r->le);
		list_append(&nl, &r->le, r);
	}
	list_flush(&sbc->blacklist);
	sbc->blacklist = nl;
	return 0;
}

int reload_conf(struct sbc *sbc)
{
	struct sbc_conf *nconf = NULL, *old = sbc->conf;
	struct hops hop;
	char *tls_name = NULL;
	int err;

	LOGI(sbc, "reload: reading %s", old->file);
	err = conf_load(&nconf, old->file);
	if (err) {
		LOGW(sbc, "reload: %s is not valid (see above): the running "
		     "configuration stays", old->file);
		return err;
	}
	err = conf_keep_running(nconf, old, kept, sbc);
	if (!err)
		err = reload_hops(nconf, &hop);
	if (!err)
		err = listen_tls_name(&tls_name, nconf, &hop.upstream);
	if (!err && tls_name && !sbc->side[SIDE_CORE].tls) {
		LOGW(sbc, "reload: upstream %s needs TLS, which the core side "
		     "was not started with: restart instead", nconf->upstream);
		err = EINVAL;
	}
	if (!err)
		err = reload_blacklist(sbc, nconf);
	if (err) {
		mem_deref(tls_name);
		mem_deref(nconf);
		return err;
	}

	flood_reload(sbc);
	mem_deref(sbc->side[SIDE_CORE].tls_name);
	sbc->side[SIDE_CORE].tls_name = tls_name;
	sbc->hop = hop;
	sbc->conf = nconf;
	mem_deref(old);             /* transactions keep it while they run */
	LOGI(sbc, "reload: configuration of %s in force (%u peers, %u "
	     "profiles, %u blacklist rules)", nconf->file,
	     list_count(&nconf->peerl), list_count(&nconf->profilel),
	     list_count(&sbc->blacklist));
	return 0;
}

static void sighup_handler(int flags, void *arg)
{
	struct sbc *sbc = arg;
	struct signalfd_siginfo si;
	(void)flags;

	while (read(sbc->reload_fd, &si, sizeof(si)) == sizeof(si))
		(void)reload_conf(sbc);
}

/* SIGHUP is read from a signalfd in the main loop, not handled in signal
 * context: a reload allocates and logs. */
int reload_init(struct sbc *sbc)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return errno;
	sbc->reload_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sbc->reload_fd < 0)
		return errno;
	return fd_listen(sbc->reload_fd, FD_READ, sighup_handler, sbc);
}

void reload_close(struct sbc *sbc)
{
	if (sbc->reload_fd <= 0)
		return;
	fd_close(sbc->reload_fd);
	(void)close(sbc->reload_fd);
	sbc->reload_fd = -1;
}
