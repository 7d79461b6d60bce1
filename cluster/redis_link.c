/*
 * redis_link.c: the connection to Redis (redis.c says what goes over
 * it).  The master's address, given (redis) or asked of the sentinels
 * (redis_sentinels, redis_master_name: the first that knows it, then
 * +switch-master); hiredis' asynchronous API on libre's loop through
 * five hooks onto fd_listen(); two connections, commands and the
 * subscription, each set up in one pipeline (AUTH, SELECT, ROLE: a
 * replica is refused, SCRIPT LOAD; SUBSCRIBE); the link's failure
 * (the writes in flight go back to the queue, said once per outage) and
 * its retries with a backoff.  hiredis 0.14 keeps no time: the watchdog
 * fails a link that does not answer in redis_timeout.  The synchronous
 * API serves only the load at start and `sbcd -t`.
 */
#include <errno.h>
#include <stdlib.h>
#include <netdb.h>
#include <string.h>
#include <time.h>
#include "sbc.h"
#include "redis.h"
#include "redis_int.h"

static void link_fail(struct redis *r, const char *why);
static void connect_h(void *arg);
static void snt_open(struct redis *r);
static void snt_fail(struct redis *r);

int redis_target_print(struct re_printf *pf, const struct rtarget *t)
{
	if (t->unix_sock)
		return re_hprintf(pf, "unix:%s", t->host);
	if (strchr(t->host, ':'))
		return re_hprintf(pf, "[%s]:%u", t->host, t->port);
	return re_hprintf(pf, "%s:%u", t->host, t->port);
}

/* HOST:PORT to a numeric address, resolved once here: hiredis resolves
 * names with a blocking getaddrinfo() at each connect. */
static int target_parse(struct rtarget *t, const char *s, size_t len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	struct sa sa;
	char host[256];
	int err;

	memset(t, 0, sizeof(*t));
	if (len > 5 && !strncmp(s, "unix:", 5)) {
		t->unix_sock = true;
		return re_snprintf(t->host, sizeof(t->host), "%b", s + 5,
				   len - 5) < 0 ? EINVAL : 0;
	}
	err = conf_hostport(s, len, host, sizeof(host), &t->port);
	if (err)
		return err;
	if (!sa_set_str(&sa, host, t->port)) {
		str_ncpy(t->host, host, sizeof(t->host));
		return 0;
	}
	if (getaddrinfo(host, NULL, &hints, &ai) || !ai)
		return EADDRNOTAVAIL;
	err = sa_set_sa(&sa, ai->ai_addr);
	freeaddrinfo(ai);
	if (err)
		return err;
	return re_snprintf(t->host, sizeof(t->host), "%j", &sa) < 0
		? EINVAL : 0;
}

static int sentinels_parse(struct redis *r)
{
	const char *s = r->conf->redis_sentinels;

	while (str_isset(s) && r->nsent < SENT_MAX) {
		const char *c = strchr(s, ',');
		size_t n = c ? (size_t)(c - s) : strlen(s);
		int err;

		while (n && *s == ' ') {
			++s;
			--n;
		}
		while (n && s[n - 1] == ' ')
			--n;
		err = target_parse(&r->sentv[r->nsent], s, n);
		if (err) {
			LOGE(r->sbc, "redis_sentinels: cannot use '%b': %m", s,
			     n, err);
			return err;
		}
		++r->nsent;
		s = c ? c + 1 : NULL;
	}
	return 0;
}

static void set_target(struct redis *r, const struct rtarget *t)
{
	r->target = *t;
	r->target_ok = true;
	(void)re_snprintf(r->addr, sizeof(r->addr), "%H", redis_target_print, t);
}

/* ---- hiredis on libre's loop ---- */

static void ev_fd_h(int flags, void *arg)
{
	struct rev *ev = mem_ref(arg);

	if (ev->ac && (flags & (FD_READ | FD_EXCEPT)))
		redisAsyncHandleRead(ev->ac);
	if (ev->ac && (flags & FD_WRITE))
		redisAsyncHandleWrite(ev->ac);
	mem_deref(ev);
}

static void ev_update(struct rev *ev, int add, int del)
{
	const int flags = (ev->flags | add) & ~del;

	if (flags == ev->flags || !ev->ac)
		return;
	ev->flags = flags;
	if (!flags)
		fd_close(ev->fd);
	else if (fd_listen(ev->fd, flags, ev_fd_h, ev))
		ev->flags = 0;      /* the watchdog finds it silent */
}

static void ev_add_read(void *p) { ev_update(p, FD_READ, 0); }
static void ev_del_read(void *p) { ev_update(p, 0, FD_READ); }
/* While a batch of commands is added, no write interest: the batch is
 * written at once after it (flush_h), and epoll hears of it only if the
 * socket cannot take it all. */
static void ev_add_write(void *p)
{
	struct rev *ev = p;

	if (!ev->hold)
		ev_update(ev, FD_WRITE, 0);
}
static void ev_del_write(void *p) { ev_update(p, 0, FD_WRITE); }

static void ev_cleanup(void *p)
{
	struct rev *ev = p;

	if (ev->flags)
		fd_close(ev->fd);
	ev->flags = 0;
	ev->ac = NULL;
	mem_deref(ev);
}

static void disconnect_h(const redisAsyncContext *ac, int status);

static void conn_connect_h(const redisAsyncContext *ac, int status)
{
	struct rconn *rc = ac->data;

	if (status == REDIS_OK || rc->ac != ac)
		return;
	/* hiredis frees a context whose connect failed, without telling
	 * disconnect_h */
	rc->ac = NULL;
	if (rc == &rc->r->snt)
		snt_fail(rc->r);
	else
		link_fail(rc->r, ac->errstr[0] ? ac->errstr
			  : "cannot connect");
}

static int conn_open(struct rconn *rc, const struct rtarget *t)
{
	redisAsyncContext *ac;
	struct rev *ev;

	ac = t->unix_sock ? redisAsyncConnectUnix(t->host)
		: redisAsyncConnect(t->host, t->port);
	if (!ac)
		return ENOMEM;
	if (ac->err) {
		redisAsyncFree(ac);
		return ECONNREFUSED;
	}
	ev = mem_zalloc(sizeof(*ev), NULL);
	if (!ev) {
		redisAsyncFree(ac);
		return ENOMEM;
	}
	ev->rc = rc;
	ev->ac = ac;
	ev->fd = ac->c.fd;
	ac->ev.data = ev;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	ac->data = rc;
	(void)redisEnableKeepAlive(&ac->c);
	rc->ac = ac;
	rc->ready = false;
	(void)redisAsyncSetDisconnectCallback(ac, disconnect_h);
	/* adds the write event that tells the connect's end */
	(void)redisAsyncSetConnectCallback(ac, conn_connect_h);
	return 0;
}

/* Ours to end: forgotten first, so that disconnect_h (called from
 * redisAsyncFree(), or after the callback we are in) does not take it
 * for a failure.  Pending callbacks get a NULL reply and ignore it. */
static void conn_close(struct rconn *rc)
{
	redisAsyncContext *ac = rc->ac;

	rc->ac = NULL;
	rc->ready = false;
	if (ac)
		redisAsyncFree(ac);
}

static void disconnect_h(const redisAsyncContext *ac, int status)
{
	struct rconn *rc = ac->data;

	if (rc->ac != ac)
		return;
	rc->ac = NULL;
	rc->ready = false;
	(void)status;
	if (rc == &rc->r->snt)
		snt_fail(rc->r);
	else
		link_fail(rc->r, ac->errstr[0] ? ac->errstr
			  : "connection closed");
}

/* The commands on cmd waiting for their answers, and when the last came:
 * what the watchdog judges the link by. */
void redis_answered(struct redis *r)
{
	if (r->pending)
		--r->pending;
	r->progress = tmr_jiffies();
}

void redis_sent(struct redis *r)
{
	if (!r->pending++)
		r->progress = tmr_jiffies();
}

/* ---- the link ---- */

static void up(struct redis *r)
{
	const uint32_t n = r->n;
	const bool back = r->state == R_DOWN && r->down_since;

	if (!r->cmd.ready || !r->sub.ready || r->state == R_UP)
		return;
	r->state = R_UP;
	r->backoff = 0;
	r->drop_logged = false;
	r->logged_unreachable = false;
	r->auth_logged = false;
	if (back)
		LOGI(r->sbc, "redis: back (%s) after %llu ms: %u changes "
		     "written", r->addr,
		     (unsigned long long)(tmr_jiffies() - r->down_since), n);
	else
		LOGI(r->sbc, "redis: connected to %s (%u changes written)",
		     r->addr, n);
	r->down_since = 0;
	redis_up_h(r);
}

static void setup_reply_h(redisAsyncContext *ac, void *reply, void *arg)
{
	struct rconn *rc = ac->data;
	struct redis *r = rc->r;
	const redisReply *rp = reply;
	const char *what = arg;

	if (!rp)
		return;
	if (rc == &r->cmd)
		redis_answered(r);
	if (rp->type == REDIS_REPLY_ERROR) {
		if (!strcmp(what, "AUTH") && !r->auth_logged)
			LOGE(r->sbc, "redis: %s refused AUTH (redis_user, "
			     "redis_password): %s", r->addr, rp->str);
		if (!strcmp(what, "AUTH"))
			r->auth_logged = true;
		else if (!strcmp(what, "ROLE"))
			return;     /* a Redis before 2.8.12: a master */
		link_fail(r, rp->str);
		return;
	}
	if (!strcmp(what, "ROLE")) {
		if (rp->type == REDIS_REPLY_ARRAY && rp->elements
		    && rp->element[0]->type == REDIS_REPLY_STRING
		    && strcmp(rp->element[0]->str, "master")) {
			link_fail(r, "a replica, not the master");
			return;
		}
	}
	else if (!strcmp(what, "SCRIPT")) {
		if (rp->type != REDIS_REPLY_STRING || rp->len >= sizeof(r->sha)) {
			link_fail(r, "SCRIPT LOAD: no SHA1");
			return;
		}
		str_ncpy(r->sha, rp->str, sizeof(r->sha));
		r->cmd.ready = true;
		up(r);
	}
}

static void sub_h(redisAsyncContext *ac, void *reply, void *arg)
{
	struct rconn *rc = ac->data;
	struct redis *r = rc->r;
	const redisReply *rp = reply, *t;
	struct pl line;
	(void)arg;

	if (!rp || rp->type != REDIS_REPLY_ARRAY || rp->elements < 3)
		return;
	t = rp->element[0];
	if (t->type != REDIS_REPLY_STRING)
		return;
	if (!strcmp(t->str, "subscribe")) {
		r->sub.ready = true;
		up(r);
		return;
	}
	if (strcmp(t->str, "message")
	    || rp->element[2]->type != REDIS_REPLY_STRING)
		return;
	/* a standby gets the same from its active, in the pair's order */
	if (r->sbc->store.role == STORE_STANDBY)
		return;
	line.p = rp->element[2]->str;
	line.l = rp->element[2]->len;
	redis_message(r, &line);
}

static int auth_send(struct redis *r, struct rconn *rc)
{
	const struct sbc_conf *conf = r->conf;
	int err;

	if (!str_isset(conf->redis_password))
		return 0;
	if (str_isset(conf->redis_user))
		err = redisAsyncCommand(rc->ac, setup_reply_h, "AUTH",
					"AUTH %s %s", conf->redis_user,
					conf->redis_password);
	else
		err = redisAsyncCommand(rc->ac, setup_reply_h, "AUTH",
					"AUTH %s", conf->redis_password);
	if (err != REDIS_OK)
		return EIO;
	if (rc == &r->cmd)
		redis_sent(r);
	return 0;
}

/* Commands and the subscription, each set up in one pipeline. */
static int link_open(struct redis *r)
{
	int err;

	r->pending = 0;
	err = conn_open(&r->cmd, &r->target);
	err = err ? err : conn_open(&r->sub, &r->target);
	err = err ? err : auth_send(r, &r->cmd);
	err = err ? err : auth_send(r, &r->sub);
	if (err)
		return err;
	if (r->conf->redis_db) {
		if (redisAsyncCommand(r->cmd.ac, setup_reply_h, "SELECT",
				      "SELECT %u", r->conf->redis_db)
		    != REDIS_OK)
			return EIO;
		redis_sent(r);
	}
	if (redisAsyncCommand(r->cmd.ac, setup_reply_h, "ROLE", "ROLE")
	    != REDIS_OK
	    || redisAsyncCommand(r->cmd.ac, setup_reply_h, "SCRIPT",
				 "SCRIPT LOAD %s", redis_script) != REDIS_OK
	    || redisAsyncCommand(r->sub.ac, sub_h, NULL, "SUBSCRIBE %s",
				 r->chan) != REDIS_OK)
		return EIO;
	redis_sent(r);
	redis_sent(r);
	return 0;
}

static void connect_h(void *arg)
{
	struct redis *r = arg;
	int err;

	if (r->nsent && !r->snt.ac) {
		snt_open(r);
		return;     /* its answer names the master, then we connect */
	}
	if (r->cmd.ac || r->sub.ac || !r->target_ok)
		return;
	r->connect_since = tmr_jiffies();
	if (r->state != R_DOWN)
		r->state = R_CONNECTING;
	err = link_open(r);
	if (err)
		link_fail(r, "cannot connect");
}

static void retry(struct redis *r)
{
	r->backoff = r->backoff ? min(r->backoff * 2,
				      (uint32_t)BACKOFF_MAX_MS) : 100;
	tmr_start(&r->tmr_connect, r->backoff, connect_h, r);
}

/* The link is gone (or never came): changes wait, decisions go on with
 * local state; said once per outage. */
static void link_fail(struct redis *r, const char *why)
{
	redis_requeue(r);
	if (r->state == R_UP) {
		++r->st.outages;
		r->down_since = tmr_jiffies();
		LOGW(r->sbc, "redis: down (%s: %s): deciding on local state",
		     r->addr, why);
		r->logged_unreachable = true;
	}
	else if (!r->logged_unreachable) {
		LOGW(r->sbc, "redis: %s not reachable (%s): going on with "
		     "local state, retrying", r->addr[0] ? r->addr
		     : "the master", why);
		r->logged_unreachable = true;
		if (!r->down_since)
			r->down_since = tmr_jiffies();
	}
	r->state = R_DOWN;
	r->pending = 0;
	conn_close(&r->cmd);
	conn_close(&r->sub);
	/* the master may have moved: asked again before the next try */
	if (r->nsent)
		conn_close(&r->snt);
	retry(r);
}

/* ---- Redis Sentinel ---- */

static void snt_fail(struct redis *r)
{
	conn_close(&r->snt);
	r->sent_i = (r->sent_i + 1) % r->nsent;
	retry(r);
}

static void snt_master_h(redisAsyncContext *ac, void *reply, void *arg)
{
	struct rconn *rc = ac->data;
	struct redis *r = rc->r;
	const redisReply *rp = reply;
	struct rtarget t;
	char hp[300];
	(void)arg;

	if (!rp)
		return;
	if (rp->type != REDIS_REPLY_ARRAY || rp->elements != 2
	    || rp->element[0]->type != REDIS_REPLY_STRING
	    || rp->element[1]->type != REDIS_REPLY_STRING) {
		LOGW(r->sbc, "redis: sentinel %H does not know master '%s'",
		     redis_target_print, &r->sentv[r->sent_i],
		     r->conf->redis_master_name);
		snt_fail(r);
		return;
	}
	(void)re_snprintf(hp, sizeof(hp), strchr(rp->element[0]->str, ':')
			  ? "[%s]:%s" : "%s:%s", rp->element[0]->str,
			  rp->element[1]->str);
	if (target_parse(&t, hp, strlen(hp))) {
		snt_fail(r);
		return;
	}
	rc->ready = true;
	if (!r->target_ok || strcmp(t.host, r->target.host)
	    || t.port != r->target.port) {
		set_target(r, &t);
		LOGI(r->sbc, "redis: master '%s' is %s (sentinel %H)",
		     r->conf->redis_master_name, r->addr, redis_target_print,
		     &r->sentv[r->sent_i]);
		if (r->cmd.ac || r->sub.ac) {
			link_fail(r, "the master moved");
			return;
		}
	}
	if (!r->cmd.ac)
		tmr_start(&r->tmr_connect, 0, connect_h, r);
}

/* +switch-master NAME OLDIP OLDPORT NEWIP NEWPORT */
static void snt_switch_h(redisAsyncContext *ac, void *reply, void *arg)
{
	struct rconn *rc = ac->data;
	struct redis *r = rc->r;
	const redisReply *rp = reply;
	struct pl name, ip, port;
	struct rtarget t;
	char hp[300];
	(void)arg;

	if (!rp || rp->type != REDIS_REPLY_ARRAY || rp->elements < 3
	    || rp->element[0]->type != REDIS_REPLY_STRING
	    || strcmp(rp->element[0]->str, "message")
	    || rp->element[2]->type != REDIS_REPLY_STRING)
		return;
	if (re_regex(rp->element[2]->str, rp->element[2]->len,
		     "[^ ]+ [^ ]+ [0-9]+ [^ ]+ [0-9]+", &name, NULL, NULL,
		     &ip, &port)
	    || pl_strcmp(&name, r->conf->redis_master_name))
		return;
	(void)re_snprintf(hp, sizeof(hp), pl_strchr(&ip, ':') ? "[%r]:%r"
			  : "%r:%r", &ip, &port);
	if (target_parse(&t, hp, strlen(hp)))
		return;
	set_target(r, &t);
	LOGI(r->sbc, "redis: master is now %s (+switch-master)", r->addr);
	if (r->cmd.ac || r->sub.ac)
		link_fail(r, "the master moved");
}

static void snt_open(struct redis *r)
{
	const struct rtarget *t = &r->sentv[r->sent_i];

	if (conn_open(&r->snt, t)
	    || redisAsyncCommand(r->snt.ac, snt_master_h, NULL,
				 "SENTINEL get-master-addr-by-name %s",
				 r->conf->redis_master_name) != REDIS_OK
	    || redisAsyncCommand(r->snt.ac, snt_switch_h, NULL,
				 "SUBSCRIBE +switch-master") != REDIS_OK) {
		snt_fail(r);
		return;
	}
	r->snt_since = tmr_jiffies();
}

/* ---- the watchdog: hiredis keeps no time ---- */

/* The link's part of the watchdog (redis.c's watch_h, every WATCH_MS):
 * a sentinel or a master that does not answer in redis_timeout fails
 * the link.  False while the link is up and answering: idle time may be
 * used then (a PING, the sweep). */
bool redis_link_watch(struct redis *r, uint64_t now)
{
	const uint32_t to = r->conf->redis_timeout;

	if (r->snt.ac && !r->snt.ready && now - r->snt_since > to) {
		LOGW(r->sbc, "redis: sentinel %H: no answer in %u ms",
		     redis_target_print, &r->sentv[r->sent_i], to);
		snt_fail(r);
		return true;
	}
	if (!r->cmd.ac)
		return true;
	if (r->state != R_UP) {
		if (now - r->connect_since > to)
			link_fail(r, "no answer in redis_timeout");
		return true;
	}
	if (r->pending && now - r->progress > to) {
		link_fail(r, "no answer in redis_timeout");
		return true;
	}
	return false;
}

void redis_link_fail(struct redis *r, const char *why)
{
	link_fail(r, why);
}

/* The master's address (redis) or the sentinels' (redis_sentinels). */
int redis_link_init(struct redis *r)
{
	const struct sbc_conf *conf = r->conf;
	struct rtarget t;
	int err;

	r->cmd.r = r->sub.r = r->snt.r = r;
	err = sentinels_parse(r);
	if (err || !str_isset(conf->redis))
		return err;
	err = target_parse(&t, conf->redis, strlen(conf->redis));
	if (err)
		LOGE(r->sbc, "redis: cannot use '%s': %m", conf->redis, err);
	else
		set_target(r, &t);
	return err;
}

void redis_link_start(struct redis *r)
{
	tmr_start(&r->tmr_connect, 0, connect_h, r);
}

void redis_link_close(struct redis *r)
{
	tmr_cancel(&r->tmr_connect);
	conn_close(&r->cmd);
	conn_close(&r->sub);
	conn_close(&r->snt);
}

/* ---- start: the load before listening, and sbcd -t ---- */

redisContext *redis_sync_connect(const struct rtarget *t, uint32_t ms)
{
	struct timeval tv = {.tv_sec = ms / 1000,
			     .tv_usec = (ms % 1000) * 1000};
	redisContext *c;

	c = t->unix_sock ? redisConnectUnixWithTimeout(t->host, tv)
		: redisConnectWithTimeout(t->host, t->port, tv);
	if (c && !c->err)
		(void)redisSetTimeout(c, tv);
	return c;
}

/* AUTH and SELECT: 0, EACCES (refused: a configuration error) or EIO
 * (no answer), with Redis' words in why. */
int redis_sync_setup(redisContext *c, const struct sbc_conf *conf,
		     char *why, size_t sz)
{
	redisReply *rp = NULL;
	int err = 0;

	if (str_isset(conf->redis_password))
		rp = str_isset(conf->redis_user)
			? redisCommand(c, "AUTH %s %s", conf->redis_user,
				       conf->redis_password)
			: redisCommand(c, "AUTH %s", conf->redis_password);
	if (str_isset(conf->redis_password) && !rp)
		err = EIO;
	else if (rp && rp->type == REDIS_REPLY_ERROR) {
		(void)re_snprintf(why, sz, "AUTH (redis_user, "
				  "redis_password): %s", rp->str);
		err = EACCES;
	}
	freeReplyObject(rp);
	if (err || !conf->redis_db)
		goto out;
	rp = redisCommand(c, "SELECT %u", conf->redis_db);
	if (!rp)
		err = EIO;
	else if (rp->type == REDIS_REPLY_ERROR) {
		(void)re_snprintf(why, sz, "SELECT (redis_db): %s", rp->str);
		err = EACCES;
	}
	freeReplyObject(rp);
 out:
	if (err == EIO)
		(void)re_snprintf(why, sz, "%s", c->errstr[0] ? c->errstr
				  : "no answer");
	return err;
}

uint32_t redis_ms_left(uint64_t deadline)
{
	const uint64_t now = tmr_jiffies();

	return deadline > now + 1 ? (uint32_t)(deadline - now) : 1;
}

/* The master, from the first sentinel that knows it. */
int redis_sync_master(struct redis *r, uint64_t deadline)
{
	for (unsigned i = 0; i < r->nsent; i++) {
		redisContext *c = redis_sync_connect(&r->sentv[i],
					       redis_ms_left(deadline));
		redisReply *rp;
		struct rtarget t;
		char hp[300];

		if (!c || c->err) {
			redisFree(c);
			continue;
		}
		rp = redisCommand(c, "SENTINEL get-master-addr-by-name %s",
				  r->conf->redis_master_name);
		if (rp && rp->type == REDIS_REPLY_ARRAY && rp->elements == 2
		    && re_snprintf(hp, sizeof(hp),
				   strchr(rp->element[0]->str, ':')
				   ? "[%s]:%s" : "%s:%s",
				   rp->element[0]->str,
				   rp->element[1]->str) > 0
		    && !target_parse(&t, hp, strlen(hp))) {
			set_target(r, &t);
			r->sent_i = i;
			freeReplyObject(rp);
			redisFree(c);
			return 0;
		}
		freeReplyObject(rp);
		redisFree(c);
	}
	return ENOENT;
}


int redis_check(const struct sbc_conf *conf)
{
	struct redis r = {.conf = conf};
	const uint32_t ms = max(conf->redis_timeout, 1000u);
	redisContext *c;
	char why[256] = "";
	int err;

	if (!str_isset(conf->redis) && !str_isset(conf->redis_sentinels))
		return 0;
	err = sentinels_parse(&r);
	if (!err && str_isset(conf->redis))
		err = target_parse(&r.target, conf->redis,
				   strlen(conf->redis));
	if (err) {
		re_fprintf(stderr, "sbcd: redis: cannot use the address: "
			   "%m\n", err);
		return err;
	}
	if (r.nsent && redis_sync_master(&r, tmr_jiffies() + ms)) {
		re_fprintf(stderr, "sbcd: redis: warning: no sentinel "
			   "answers for master '%s'\n",
			   conf->redis_master_name);
		return 0;
	}
	c = redis_sync_connect(&r.target, ms);
	if (!c || c->err) {
		re_fprintf(stderr, "sbcd: redis: warning: %H not reachable "
			   "(%s): AUTH not checked\n", redis_target_print, &r.target,
			   c ? c->errstr : "no memory");
		redisFree(c);
		return 0;
	}
	err = redis_sync_setup(c, conf, why, sizeof(why));
	redisFree(c);
	if (err == EACCES) {
		re_fprintf(stderr, "sbcd: redis: %H refused %s\n",
			   redis_target_print, &r.target, why);
		return err;
	}
	return 0;
}

