/*
 * ctrl.c: the control socket (a Unix stream socket) that sbcctl talks to.
 * One request line per connection, answered with text lines and a last
 * line "OK" or "ERR reason".  Commands:
 *   stats                     counters of the request path
 *   events                    security event counters by rule and action
 *   bans                      sources banned for flooding or password
 *                             guessing
 *   unban IP                  lift a ban
 *   calls                     calls in progress, counted by peer and by
 *                             peer and From user
 *   bindings                  registrations made through sbcd
 *   counters                  the store's counters (calls a minute, a day)
 *   reload                    read the configuration file again
 *   blacklist list            the blacklist rules with their hits
 *   blacklist add NAME FIELD MATCH ACTION SECONDS VALUE...
 *                             a rule at run time; SECONDS until it
 *                             expires, 0: never
 *   blacklist del NAME        remove a rule
 *   media                     relayed media: sessions, ports, counters
 *   role                      active, standby or standalone, whether
 *                             synced, the peers, replication lag
 *   role active [--force]     take over (a synced standby, unless forced)
 *   role standby              stop sending; follow the active
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "sbc.h"
#include "blacklist.h"
#include "authguard.h"
#include "relay.h"

enum { LINE_MAX_LEN = 4096 };

struct ctrl_conn {
	struct le le;
	struct sbc *sbc;
	int fd;
	struct mbuf *in;
	struct mbuf *out;           /* the answer, written as the socket
				     * takes it (a list of calls is long) */
};

static void conn_destructor(void *arg)
{
	struct ctrl_conn *c = arg;

	list_unlink(&c->le);
	if (c->fd >= 0) {
		fd_close(c->fd);
		(void)close(c->fd);
	}
	mem_deref(c->in);
	mem_deref(c->out);
}

static int print_stats(struct re_printf *pf, const struct sbc *sbc)
{
	const struct sbc_stats *st = &sbc->stats;

	return re_hprintf(pf,
		"requests_received %llu\n"
		"responses_received %llu\n"
		"invalid %llu\n"
		"requests_forwarded %llu\n"
		"acks_forwarded %llu\n"
		"responses_forwarded %llu\n"
		"local_replies %llu\n"
		"upstream_failures %llu\n"
		"emergency_calls %llu\n"
		"transactions_active %llu\n"
		"overload_refused %llu\n"
		"flood_sources_tracked %u\n"
		"flood_kernel_bans %u\n"
		"dialogs_active %u\n"
		"verdicts_asked %llu\n"
		"verdicts_approved %llu\n"
		"verdicts_rejected %llu\n"
		"verdicts_failed %llu\n"
		"auth_fail_users_tracked %u\n"
		"auth_fail_sources_tracked %u\n"
		"standby_dropped %llu\n"
		"hep_sent %llu\n"
		"hep_dropped %llu\n",
		(unsigned long long)st->req_rx,
		(unsigned long long)st->rsp_rx,
		(unsigned long long)st->invalid,
		(unsigned long long)st->fwd_req,
		(unsigned long long)st->fwd_ack,
		(unsigned long long)st->fwd_rsp,
		(unsigned long long)st->local_reply,
		(unsigned long long)st->upstream_fail,
		(unsigned long long)st->emergency,
		(unsigned long long)st->txn_active,
		(unsigned long long)sbc->overload.refused,
		sbc->flood.nsrcs, sbc->flood.kernel_bans, sbc->dialogs.n,
		(unsigned long long)st->verdict_asked,
		(unsigned long long)st->verdict_approved,
		(unsigned long long)st->verdict_rejected,
		(unsigned long long)st->verdict_failed,
		authguard_users(sbc->authguard),
		authguard_srcs(sbc->authguard),
		(unsigned long long)st->standby_dropped,
		(unsigned long long)st->hep_sent,
		(unsigned long long)st->hep_dropped);
}

static const char *field_name(enum bl_field f)
{
	static const char *v[] = {"source", "number", "from", "from_user",
				  "display_name", "user_agent"};
	return v[f];
}

static const char *match_name(enum bl_match m)
{
	static const char *v[] = {"exact", "prefix", "substring", "regex"};
	return v[m];
}

static int print_blacklist(struct re_printf *pf, const struct sbc *sbc)
{
	int err = 0;

	for (struct le *le = sbc->blacklist.head; le && !err; le = le->next) {
		const struct bl_rule *r = le->data;

		err = re_hprintf(pf, "%s %s %s %s expires=%llu hits=%llu%s "
				 "%s\n", r->name, field_name(r->field),
				 r->field == BL_SOURCE ? "-"
				 : match_name(r->match),
				 bl_action_name(r->action),
				 (unsigned long long)r->expires,
				 (unsigned long long)r->hits,
				 r->builtin ? " builtin" : "", r->value);
	}
	return err;
}

struct share_arg {
	const struct sbc *sbc;
	bool stats;
};

/* What links this pair to the others (Redis), if anything does. */
static int share_print(struct re_printf *pf, const struct share_arg *a)
{
	const struct store_share *sh = &a->sbc->store.share;

	if (!sh->printh)
		return a->stats ? re_hprintf(pf, "redis_state off\n") : 0;
	return sh->printh(pf, a->stats, sh->arg);
}

/* sbcctl stats; metrics.c exports the same lines. */
int ctrl_stats_print(struct re_printf *pf, const struct sbc *sbc)
{
	return re_hprintf(pf, "%H%H", print_stats, sbc, share_print,
			  &(struct share_arg){sbc, true});
}

static int bl_encode_h(struct mbuf *mb, const void *rec)
{
	return bl_rec_encode(mb, rec);
}

/* A run-time rule change goes through the blacklist's apply function,
 * then to the other nodes. */
static int blacklist_change(struct mbuf *out, struct sbc *sbc,
			    const struct bl_rec *rec)
{
	const char *why;
	int err = bl_apply(&sbc->blacklist, rec, &why);

	if (err == ENOENT)
		return mbuf_printf(out, "ERR no rule %r\n",
				   &rec->name);
	if (err)
		return mbuf_printf(out, "ERR bad %s\n", why);
	store_share(&sbc->store, bl_encode_h, rec);
	if (rec->add)
		LOGI(sbc, "control: blacklist rule %r added (%r %r %r, "
		     "expires %llu): %r", &rec->name, &rec->field,
		     &rec->match, &rec->action, rec->expires, &rec->value);
	else
		LOGI(sbc, "control: blacklist rule %r removed", &rec->name);
	return mbuf_printf(out, "OK\n");
}

/* "NAME FIELD MATCH ACTION SECONDS VALUE..." */
static int blacklist_add(struct mbuf *out, struct sbc *sbc, char *args)
{
	char *name, *field, *match, *action, *secs, *value, *save = NULL;
	struct bl_rec rec = {.add = true};
	unsigned long s;

	name = strtok_r(args, " ", &save);
	field = strtok_r(NULL, " ", &save);
	match = strtok_r(NULL, " ", &save);
	action = strtok_r(NULL, " ", &save);
	secs = strtok_r(NULL, " ", &save);
	value = save;
	if (!name || !field || !match || !action || !secs || !value
	    || !*value)
		return mbuf_printf(out, "ERR usage: blacklist add NAME FIELD "
				   "MATCH ACTION SECONDS VALUE\n");
	s = strtoul(secs, NULL, 10);
	pl_set_str(&rec.name, name);
	pl_set_str(&rec.field, field);
	pl_set_str(&rec.match, match);
	pl_set_str(&rec.action, action);
	pl_set_str(&rec.value, value);
	rec.expires = s ? (uint64_t)time(NULL) + s : 0;
	return blacklist_change(out, sbc, &rec);
}

static int run(struct mbuf *out, struct sbc *sbc, char *line)
{
	struct sa sa;
	int err;

	if (!strcmp(line, "stats"))
		err = mbuf_printf(out, "%H", ctrl_stats_print, sbc);
	else if (!strcmp(line, "events"))
		err = mbuf_printf(out, "%H", event_counts_print, sbc);
	else if (!strcmp(line, "bans"))
		err = mbuf_printf(out, "%H", flood_bans_print, sbc);
	else if (!strcmp(line, "reload")) {
		if (reload_conf(sbc))
			return mbuf_printf(out, "ERR configuration not valid, "
					   "nothing changed (see sbcd's "
					   "log)\n");
		return mbuf_printf(out, "OK\n");
	}
	else if (!strcmp(line, "bindings"))
		err = mbuf_printf(out, "%H", binding_print, sbc);
	else if (!strcmp(line, "calls"))
		err = mbuf_printf(out, "%H", dialog_print, sbc);
	else if (!strcmp(line, "media"))
		err = mbuf_printf(out, "%H", media_print, sbc->media);
	else if (!strcmp(line, "counters"))
		err = mbuf_printf(out, "%H", store_ctrs_print, &sbc->store);
	else if (!strncmp(line, "unban ", 6)) {
		if (sa_set_str(&sa, line + 6, 0))
			return mbuf_printf(out, "ERR not an address\n");
		if (!flood_unban(sbc, &sa))
			return mbuf_printf(out, "ERR not banned\n");
		LOGI(sbc, "control: ban of %s lifted", line + 6);
		return mbuf_printf(out, "OK\n");
	}
	else if (!strcmp(line, "role") || !strncmp(line, "role ", 5)) {
		if (!line[4] && sbc->store.share.printh)
			(void)mbuf_printf(out, "%H", share_print,
					  &(struct share_arg){sbc, false});
		if (!sbc->store.ctrlh)
			return mbuf_printf(out, "role standalone\nOK\n");
		return sbc->store.ctrlh(out, line[4] ? line + 5 : "",
					sbc->store.arg);
	}
	else if (!strcmp(line, "blacklist list"))
		err = mbuf_printf(out, "%H", print_blacklist, sbc);
	else if (!strncmp(line, "blacklist add ", 14))
		return blacklist_add(out, sbc, line + 14);
	else if (!strncmp(line, "blacklist del ", 14)) {
		struct bl_rec rec = {.add = false};

		pl_set_str(&rec.name, line + 14);
		return blacklist_change(out, sbc, &rec);
	}
	else
		return mbuf_printf(out, "ERR unknown command (stats, events, "
				   "bans, unban, calls, bindings, counters, "
				   "media, reload, role, "
				   "blacklist list|add|del)\n");
	return err ? err : mbuf_printf(out, "OK\n");
}

static void conn_write(int flags, void *arg)
{
	struct ctrl_conn *c = arg;
	ssize_t n;
	(void)flags;

	n = write(c->fd, mbuf_buf(c->out), mbuf_get_left(c->out));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		mbuf_advance(c->out, n);
	if (n <= 0 || !mbuf_get_left(c->out))
		mem_deref(c);       /* done, or the client went away */
}

static void conn_read(int flags, void *arg)
{
	struct ctrl_conn *c = arg;
	struct mbuf *out;
	uint8_t buf[1024];
	ssize_t n;
	char *nl;
	(void)flags;

	n = read(c->fd, buf, sizeof(buf));
	if (n <= 0 || mbuf_write_mem(c->in, buf, (size_t)n)
	    || c->in->end > LINE_MAX_LEN) {
		mem_deref(c);
		return;
	}
	(void)mbuf_write_u8(c->in, 0);
	c->in->end--;
	c->in->pos = c->in->end;
	nl = strchr((char *)c->in->buf, '\n');
	if (!nl)
		return;
	*nl = '\0';
	if (nl > (char *)c->in->buf && nl[-1] == '\r')
		nl[-1] = '\0';

	out = mbuf_alloc(1024);
	if (!out) {
		mem_deref(c);
		return;
	}
	(void)run(out, c->sbc, (char *)c->in->buf);
	out->pos = 0;
	c->out = out;
	/* non-blocking: a stuck client must not stop the daemon; what the
	 * socket does not take now is written when it can */
	if (fd_listen(c->fd, FD_WRITE, conn_write, c))
		mem_deref(c);
}

static void ctrl_accept(int flags, void *arg)
{
	struct sbc *sbc = arg;
	struct ctrl_conn *c;
	int fd;
	(void)flags;

	fd = accept4(sbc->ctrl.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	c = mem_zalloc(sizeof(*c), conn_destructor);
	if (!c || !(c->in = mbuf_alloc(256))) {
		(void)close(fd);
		mem_deref(c);
		return;
	}
	c->sbc = sbc;
	c->fd = fd;
	list_append(&sbc->ctrl.conns, &c->le, c);
	if (fd_listen(fd, FD_READ, conn_read, c))
		mem_deref(c);
}

int ctrl_init(struct sbc *sbc)
{
	const char *path = sbc->conf->control_socket;
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	int fd, err;

	sbc->ctrl.fd = -1;
	if (!path[0])
		return 0;
	if (strlen(path) >= sizeof(un.sun_path)) {
		LOGE(sbc, "control_socket %s: path too long", path);
		return ENAMETOOLONG;
	}
	strcpy(un.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	(void)unlink(path);
	if (bind(fd, (struct sockaddr *)&un, sizeof(un)) < 0
	    || chmod(path, 0660) < 0 || listen(fd, 16) < 0) {
		err = errno;
		LOGE(sbc, "control_socket %s: %m", path, err);
		(void)close(fd);
		return err;
	}
	sbc->ctrl.fd = fd;
	err = fd_listen(fd, FD_READ, ctrl_accept, sbc);
	if (!err)
		LOGI(sbc, "control socket %s", path);
	return err;
}

void ctrl_close(struct sbc *sbc)
{
	list_flush(&sbc->ctrl.conns);
	if (sbc->ctrl.fd >= 0) {
		fd_close(sbc->ctrl.fd);
		(void)close(sbc->ctrl.fd);
		(void)unlink(sbc->conf->control_socket);
	}
	sbc->ctrl.fd = -1;
}
