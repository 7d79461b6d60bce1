/*
 * cluster.c: the active/standby pair over Corosync CPG.  The nodes of a
 * pair join one CPG group (cluster_group).  The active publishes every
 * local change of the shared state as the store's records (sbc/store.h):
 * the records made in one turn of the event loop travel as one message,
 * numbered (epoch, seq), in CPG's agreed order.  At most cluster_window
 * of those messages are on their way (sent, not yet back to us in agreed
 * order): under load the records pile up meanwhile and leave together,
 * so the number of messages, which is what Corosync's cost follows,
 * adapts to the load while an idle pair sends each change at once.
 * A standby applies them
 * through the same apply functions state_file uses (state_apply), in
 * sequence: a gap, or a message of another epoch (a new active), makes
 * it ask for a snapshot.
 *
 * A joining standby asks the active for a snapshot (Q).  The active
 * flushes what it has batched, so that the snapshot holds exactly the
 * changes up to its current seq S, and sends state_snapshot() cut into
 * messages (D, then E).  Changes keep flowing meanwhile: the joining
 * node keeps the live messages it receives and, once the snapshot is
 * applied, applies those numbered past S, so nothing is lost or applied
 * twice.  The node is then synced.
 *
 * Roles: a node starts as a silent standby; `sbcctl role active` makes
 * it the active (only a synced node, unless forced), `role standby`
 * demotes it.  A promotion starts a new epoch.  Losing quorum (Corosync's
 * quorum service) demotes the active.  A membership change (a new totem
 * ring) holds promotions back until the quorum service has reported on
 * that ring: with a quorum device, votequorum keeps the decision back
 * until the device has answered (seconds), reporting the old ring's
 * quorum meanwhile while CPG already shows the lost members gone, so a
 * node that saw its active leave would otherwise be promoted while the
 * cut-off active still counts itself quorate.  A quorum regained within
 * a ring the quorum service has already reported on counts only once it
 * has held for cluster_quorum_settle (quorum_h says why).  Each node tells the others its
 * role, whether it is synced and its state version (S), so that the
 * agent can promote only a full node, and a new cluster whose nodes all
 * start empty has every node synced (but not a node that saw another
 * hold state it never received).  When the active's process dies on a
 * live node, CPG tells the standby at once (procdown) while Pacemaker
 * would wait for the active's next monitor: the standby runs
 * cluster_peer_down_exec, which tells Pacemaker now.
 *
 * Every message starts with one text line:
 *   sbc VERSION TYPE EPOCH SEQ TIME_US TO ARG
 * VERSION is the record format's (STORE_VERSION); another one is refused
 * with a log line naming it.  TO is the node a message is for (0: all),
 * ARG the sync's nonce.  Nothing here blocks: CPG's dispatch and
 * multicast run on libre's loop, and what Corosync cannot take yet
 * (CS_ERR_TRY_AGAIN) waits in a bounded queue.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <corosync/cpg.h>
#include <corosync/quorum.h>
#include "sbc.h"
#include "cluster.h"

enum {
	MEMBERS_MAX = 16,
	LAG_SAMPLES = 4096,
	RETRY_MS = 5,
	WINDOW_WAIT_MAX_MS = 20,    /* a record waits for the window at most */
	SYNC_TIMEOUT_MS = 30000,
	RECONNECT_MS = 1000,
	STATUS_LAG_MS = 1000,       /* a standby tells its lag this often */
};

struct member {
	uint32_t nodeid, pid;
	enum store_role role;
	bool synced;
	bool known;                 /* its status arrived */
	uint64_t epoch, seq;
	uint32_t lag_p50, lag_p99;  /* µs, as it measured them */
};

struct qmsg {
	struct le le;
	struct mbuf *mb;
};

struct cluster {
	struct sbc *sbc;
	cpg_handle_t cpg;
	int cpg_fd;
	quorum_handle_t qh;
	int q_fd;
	bool quorate;
	uint64_t ring_seq;          /* the newest totem ring CPG told of */
	uint64_t quorum_seq;        /* the ring the quorum service last
				     * reported on */
	uint64_t ring_ms;           /* when ring_seq came */
	struct tmr settle_tmr;      /* a regained quorum not counted yet */
	uint64_t settle_ms;         /* when it was regained */
	struct cpg_name group;
	uint32_t nodeid, pid;
	struct member memv[MEMBERS_MAX];
	uint32_t nmem;
	struct tmr reconnect_tmr;

	/* the state this node holds: of the last message applied or sent */
	bool synced;
	uint64_t epoch, seq;
	uint64_t seen_epoch;        /* the newest epoch a member had */
	bool unknown_left;          /* a member left before telling its
				     * state: it may have held some */

	/* outgoing */
	struct mbuf *batch;         /* records of this turn of the loop */
	uint64_t batch_us;          /* when its first record was made */
	uint64_t batch_ms;          /* the same, in jiffies */
	uint64_t echo_seq;          /* our last R of this epoch back to us */
	struct tmr flush_tmr;
	struct list outq;           /* struct qmsg Corosync did not take */
	size_t outq_bytes;
	struct tmr retry_tmr;

	/* joining: the snapshot and the live messages meanwhile */
	bool syncing;
	uint64_t nonce;
	uint64_t sync_start_ms;
	uint32_t sync_from;
	struct mbuf *snap;
	struct list pend;           /* struct qmsg */
	size_t pend_bytes;
	struct tmr sync_tmr;

	/* figures */
	uint32_t lagv[LAG_SAMPLES]; /* µs, local apply to this apply */
	uint32_t nlag, lagpos;
	bool lag_new;
	uint64_t status_ms;
	uint64_t sent, sent_bytes, received, applied, refused, dropped;
	uint64_t resyncs, skipped;
	uint64_t sync_ms, sync_records;
	uint64_t takeover_us;       /* the last promotion's own work */
	uint64_t warned_s;
};

static void send_status(struct cluster *c);
static void maybe_sync(struct cluster *c);

static uint64_t now_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static const char *role_name(enum store_role r)
{
	static const char *v[] = {"standalone", "active", "standby"};

	return v[r];
}

/* At most one warning a second: a stream of bad messages must not flood
 * the log. */
static bool warn_ok(struct cluster *c)
{
	const uint64_t s = (uint64_t)time(NULL);

	if (s == c->warned_s)
		return false;
	c->warned_s = s;
	return true;
}

/* ---- sending ---- */

static int cpg_send(struct cluster *c, const struct mbuf *mb)
{
	struct iovec iov = {mb->buf, mb->end};
	cs_error_t e;

	if (!c->cpg)
		return ENOTCONN;
	e = cpg_mcast_joined(c->cpg, CPG_TYPE_AGREED, &iov, 1);
	if (e == CS_ERR_TRY_AGAIN)
		return EAGAIN;
	if (e != CS_OK) {
		if (warn_ok(c))
			LOGW(c->sbc, "cluster: CPG multicast failed: error "
			     "%d", e);
		return EIO;
	}
	++c->sent;
	c->sent_bytes += mb->end;
	return 0;
}

static void drain(void *arg)
{
	struct cluster *c = arg;
	struct le *le;

	while ((le = list_head(&c->outq))) {
		struct qmsg *q = le->data;
		int err = cpg_send(c, q->mb);

		if (err == EAGAIN) {
			tmr_start(&c->retry_tmr, RETRY_MS, drain, c);
			return;
		}
		c->outq_bytes -= q->mb->end;
		mem_deref(q);
	}
}

static void qmsg_destructor(void *arg)
{
	struct qmsg *q = arg;

	list_unlink(&q->le);
	mem_deref(q->mb);
}

static int queue(struct list *l, size_t *bytes, size_t max,
		 const uint8_t *p, size_t n)
{
	struct qmsg *q;

	if (*bytes + n > max)
		return ENOSPC;
	q = mem_zalloc(sizeof(*q), qmsg_destructor);
	if (!q)
		return ENOMEM;
	q->mb = mbuf_alloc(n);
	if (!q->mb || mbuf_write_mem(q->mb, p, n)) {
		mem_deref(q);
		return ENOMEM;
	}
	*bytes += n;
	list_append(l, &q->le, q);
	return 0;
}

/* In order: behind what waits already, else at once. */
static void send_msg(struct cluster *c, struct mbuf *mb)
{
	int err = list_isempty(&c->outq) ? cpg_send(c, mb) : EAGAIN;

	if (err != EAGAIN)
		return;
	err = queue(&c->outq, &c->outq_bytes,
		    c->sbc->conf->cluster_queue_max, mb->buf, mb->end);
	if (err) {
		++c->dropped;
		if (warn_ok(c))
			LOGW(c->sbc, "cluster: %zu bytes wait for Corosync "
			     "(cluster_queue_max): a message is dropped, the "
			     "standby will ask for a snapshot",
			     c->outq_bytes);
		return;
	}
	if (!tmr_isrunning(&c->retry_tmr))
		tmr_start(&c->retry_tmr, RETRY_MS, drain, c);
}

static int head_print(struct mbuf *mb, char type, uint64_t epoch,
		      uint64_t seq, uint64_t us, uint32_t to, uint64_t arg)
{
	return mbuf_printf(mb, "sbc %u %c %llu %llu %llu %u %llu\n",
			   STORE_VERSION, type, epoch, seq, us, to, arg);
}

/* A message's first line, and its body after it. */
struct head {
	uint32_t ver;
	char type;
	uint64_t epoch, seq, us;
	uint32_t to;
	uint64_t arg;
	struct pl body;
};

/* A decimal uint64_t (a nonce takes all 20 digits). */
static bool num(const struct pl *f, uint64_t *v)
{
	if (!store_digits(f, 20)
	    || (f->l == 20 && memcmp(f->p, "18446744073709551615", 20) > 0))
		return false;
	*v = pl_u64(f);
	return true;
}

static int head_decode(struct head *h, const struct pl *m)
{
	const char *nl = pl_strchr(m, '\n');
	struct pl line, f[8];
	uint64_t ver, to;

	if (!nl)
		return EBADMSG;
	line.p = m->p;
	line.l = (size_t)(nl - m->p);
	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		if (store_field(&line, &f[i]))
			return EBADMSG;
	if (pl_strcmp(&f[0], "sbc") || !num(&f[1], &ver) || f[2].l != 1
	    || f[2].p[0] < 'A' || f[2].p[0] > 'Z' || !num(&f[3], &h->epoch)
	    || !num(&f[4], &h->seq) || !num(&f[5], &h->us)
	    || !num(&f[6], &to) || !num(&f[7], &h->arg)
	    || ver > UINT32_MAX || to > UINT32_MAX || pl_isset(&line))
		return EBADMSG;
	h->ver = (uint32_t)ver;
	h->type = f[2].p[0];
	h->to = (uint32_t)to;
	h->body.p = nl + 1;
	h->body.l = m->l - (size_t)(h->body.p - m->p);
	return 0;
}

/* The records batched so far, as the next message. */
static void flush(struct cluster *c)
{
	struct mbuf *mb;

	tmr_cancel(&c->flush_tmr);
	if (!c->batch || !c->batch->end)
		return;
	mb = mbuf_alloc(c->batch->end + 96);
	if (!mb || head_print(mb, 'R', c->epoch, c->seq + 1, c->batch_us, 0,
			      0)
	    || mbuf_write_mem(mb, c->batch->buf, c->batch->end)) {
		/* a lost change: the standby sees the gap and resyncs */
		++c->dropped;
		++c->seq;
		mem_deref(mb);
		mbuf_rewind(c->batch);
		return;
	}
	++c->seq;
	mbuf_rewind(c->batch);
	send_msg(c, mb);
	mem_deref(mb);
}

/* Messages of this epoch sent (or queued) and not yet back to us. */
static uint64_t in_flight(const struct cluster *c)
{
	return c->seq > c->echo_seq ? c->seq - c->echo_seq : 0;
}

/*
 * The end of a turn of the loop with records batched: they leave now,
 * unless cluster_window messages are on their way already; then they wait
 * for the next one back (echo_recv), WINDOW_WAIT_MAX_MS at most, so that
 * a lost echo (Corosync reconnecting) delays a change but never holds it.
 */
static void flush_h(void *arg)
{
	struct cluster *c = arg;
	const uint32_t w = c->sbc->conf->cluster_window;
	const uint64_t now = tmr_jiffies();

	if (w && in_flight(c) >= w && now < c->batch_ms + WINDOW_WAIT_MAX_MS) {
		tmr_start(&c->flush_tmr, c->batch_ms + WINDOW_WAIT_MAX_MS - now,
			  flush_h, c);
		return;
	}
	flush(c);
}

/* One of our own messages, back in agreed order: the window moves. */
static void echo_recv(struct cluster *c, const struct pl *m)
{
	struct head hd;

	if (head_decode(&hd, m) || hd.type != 'R' || hd.epoch != c->epoch
	    || hd.seq <= c->echo_seq)
		return;
	c->echo_seq = hd.seq;
	if (c->batch->end && c->sbc->store.role == STORE_ACTIVE)
		tmr_start(&c->flush_tmr, 0, flush_h, c);
}

/* The store's publish hook: each local change of the active. */
static void publish_h(const struct mbuf *rec, void *arg)
{
	struct cluster *c = arg;

	if (c->sbc->store.role != STORE_ACTIVE)
		return;
	if (!c->batch->end) {
		c->batch_us = now_us();
		c->batch_ms = tmr_jiffies();
		tmr_start(&c->flush_tmr, 0, flush_h, c);
	}
	if (mbuf_write_mem(c->batch, rec->buf, rec->end))
		++c->dropped;
	if (c->batch->end >= c->sbc->conf->cluster_msg_max)
		flush(c);
}

/* ---- members ---- */

static struct member *member_find(struct cluster *c, uint32_t nodeid,
				  uint32_t pid)
{
	for (uint32_t i = 0; i < c->nmem; i++)
		if (c->memv[i].nodeid == nodeid && c->memv[i].pid == pid)
			return &c->memv[i];
	return NULL;
}

static bool is_self(const struct cluster *c, uint32_t nodeid, uint32_t pid)
{
	return nodeid == c->nodeid && pid == c->pid;
}

static const struct member *active_peer(const struct cluster *c)
{
	for (uint32_t i = 0; i < c->nmem; i++) {
		const struct member *m = &c->memv[i];

		if (m->known && m->role == STORE_ACTIVE
		    && !is_self(c, m->nodeid, m->pid))
			return m;
	}
	return NULL;
}

/* With no active in the group, a node is synced if it was when the
 * active left (it holds the newest state), or if no node holds any
 * state at all (a new cluster: empty is complete). */
static void judge_synced(struct cluster *c)
{
	if (c->synced || c->syncing || active_peer(c)
	    || c->sbc->store.role == STORE_ACTIVE)
		return;
	for (uint32_t i = 0; i < c->nmem; i++) {
		const struct member *m = &c->memv[i];

		if (is_self(c, m->nodeid, m->pid))
			continue;
		if (!m->known || m->epoch)
			return;
	}
	/* a node that saw state it never got (an active died before its
	 * snapshot came) must not pass an empty table for the pair's */
	if (c->epoch || c->seen_epoch || c->unknown_left)
		return;
	c->synced = true;
	LOGI(c->sbc, "cluster: no node holds state: synced (empty)");
	send_status(c);
}

static int u32_cmp(const void *a, const void *b)
{
	const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The p50, p99 and max of this node's lag samples (µs), 0 if none. */
static void lag_figures(const struct cluster *c, uint32_t *p50,
			uint32_t *p99, uint32_t *max)
{
	uint32_t *v;

	*p50 = *p99 = *max = 0;
	if (!c->nlag)
		return;
	v = mem_alloc(c->nlag * sizeof(*v), NULL);
	if (!v)
		return;
	memcpy(v, c->lagv, c->nlag * sizeof(*v));
	qsort(v, c->nlag, sizeof(*v), u32_cmp);
	*p50 = v[c->nlag / 2];
	*p99 = v[(c->nlag * 99) / 100];
	*max = v[c->nlag - 1];
	mem_deref(v);
}

static void send_status(struct cluster *c)
{
	struct mbuf *mb = mbuf_alloc(160);
	uint32_t p50, p99, max;

	if (!mb)
		return;
	lag_figures(c, &p50, &p99, &max);
	c->status_ms = tmr_jiffies();
	c->lag_new = false;
	if (!head_print(mb, 'S', c->epoch, c->seq, now_us(), 0, 0)
	    && !mbuf_printf(mb, "%u %u %u %u\n", c->sbc->store.role,
			    c->synced, p50, p99))
		send_msg(c, mb);
	mem_deref(mb);
}

static void status_recv(struct cluster *c, struct member *m, uint64_t epoch,
			uint64_t seq, const struct pl *body)
{
	struct pl t = *body, f[4];
	uint64_t v[4];

	for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
		if (store_field(&t, &f[i]) || !num(&f[i], &v[i])
		    || v[i] > UINT32_MAX) {
			++c->refused;
			return;
		}
	}
	if (v[0] > STORE_STANDBY || v[1] > 1) {
		++c->refused;
		return;
	}
	m->known = true;
	if (epoch > c->seen_epoch)
		c->seen_epoch = epoch;
	m->role = (enum store_role)v[0];
	m->synced = v[1] != 0;
	m->epoch = epoch;
	m->seq = seq;
	m->lag_p50 = (uint32_t)v[2];
	m->lag_p99 = (uint32_t)v[3];
	if (m->role == STORE_ACTIVE && c->sbc->store.role == STORE_ACTIVE
	    && warn_ok(c))
		LOGW(c->sbc, "cluster: node %u is active too", m->nodeid);
	/* synced means holding the state of the active's epoch: an empty
	 * new cluster's nodes are synced until one of them is promoted */
	if (m->role == STORE_ACTIVE && c->sbc->store.role == STORE_STANDBY
	    && c->synced && m->epoch != c->epoch) {
		c->synced = false;
		LOGI(c->sbc, "cluster: node %u is active (epoch %llu)",
		     m->nodeid, m->epoch);
	}
	maybe_sync(c);
	judge_synced(c);
}

/* ---- applying ---- */

static void lag_sample(struct cluster *c, uint64_t sent_us)
{
	const uint64_t now = now_us();
	const uint64_t lag = now > sent_us ? now - sent_us : 0;

	c->lagv[c->lagpos] = lag > UINT32_MAX ? UINT32_MAX : (uint32_t)lag;
	c->lagpos = (c->lagpos + 1) % LAG_SAMPLES;
	if (c->nlag < LAG_SAMPLES)
		++c->nlag;
	c->lag_new = true;
}

/* Every line of body through state_apply.  A damaged or unknown record
 * is refused (and counted), never applied; one that finds nothing to
 * change (the end of a call this node never saw) is skipped. */
static void apply_records(struct cluster *c, const struct pl *body,
			  uint32_t nodeid)
{
	struct pl txt = *body, line;

	while (pl_isset(&txt)) {
		const char *nl = pl_strchr(&txt, '\n');
		int err;

		line.p = txt.p;
		line.l = nl ? (size_t)(nl - txt.p) : txt.l;
		pl_advance(&txt, nl ? line.l + 1 : line.l);
		if (!line.l)
			continue;
		err = state_apply(c->sbc, &line);
		if (!err) {
			++c->applied;
			continue;
		}
		if (err == EBADMSG || err == EPROTO || err == EINVAL) {
			++c->refused;
			if (warn_ok(c))
				LOGW(c->sbc, "cluster: record from node %u "
				     "refused (%m): %b", nodeid, err, line.p,
				     MIN(line.l, (size_t)80));
		}
		else {
			++c->skipped;
			LOGD(c->sbc, "cluster: record from node %u not "
			     "applied (%m): %b", nodeid, err, line.p,
			     MIN(line.l, (size_t)80));
		}
	}
}

static void sync_lost(struct cluster *c, const char *why)
{
	if (c->synced || c->syncing)
		LOGW(c->sbc, "cluster: %s: asking for a snapshot", why);
	c->synced = false;
	++c->resyncs;
	maybe_sync(c);
}

/* A live message of the active, in sequence, or the cause of a resync. */
static void records_recv(struct cluster *c, uint32_t nodeid, uint64_t epoch,
			 uint64_t seq, uint64_t us, const struct pl *body)
{
	char why[96];

	if (c->sbc->store.role == STORE_ACTIVE) {
		if (warn_ok(c))
			LOGW(c->sbc, "cluster: node %u sends changes while "
			     "this node is active: ignored", nodeid);
		return;
	}
	if (c->synced && epoch == c->epoch && seq <= c->seq)
		return;                 /* had it already */
	if (c->synced && epoch == c->epoch && seq == c->seq + 1) {
		apply_records(c, body, nodeid);
		c->seq = seq;
		lag_sample(c, us);
		if (c->lag_new && tmr_jiffies() - c->status_ms
		    >= STATUS_LAG_MS)
			send_status(c);
		return;
	}
	if (c->syncing) {
		/* the snapshot is on its way: kept for after it */
		const struct pl *hdr_body = body;
		struct mbuf *mb = mbuf_alloc(body->l + 64);
		int err;

		if (!mb)
			return;
		err = head_print(mb, 'R', epoch, seq, us, nodeid, 0);
		err = err ? err : mbuf_write_pl(mb, hdr_body);
		err = err ? err : queue(&c->pend, &c->pend_bytes,
					c->sbc->conf->cluster_queue_max,
					mb->buf, mb->end);
		mem_deref(mb);
		if (err) {
			++c->dropped;
			c->syncing = false;
			sync_lost(c, "too much arrived during the snapshot "
				  "(cluster_queue_max)");
		}
		return;
	}
	(void)re_snprintf(why, sizeof(why), "message %llu/%llu after "
			  "%llu/%llu", epoch, seq, c->epoch, c->seq);
	sync_lost(c, c->synced ? why : "not synced");
}

/* ---- the snapshot ---- */

static void sync_timeout(void *arg)
{
	struct cluster *c = arg;

	c->syncing = false;
	sync_lost(c, "no snapshot within 30 s");
}

/* A standby without the state asks the active for it. */
static void maybe_sync(struct cluster *c)
{
	const struct member *a = active_peer(c);
	struct mbuf *mb;

	if (c->sbc->store.role != STORE_STANDBY || c->synced || c->syncing
	    || !a)
		return;
	mb = mbuf_alloc(96);
	if (!mb)
		return;
	c->nonce = rand_u64();
	c->syncing = true;
	c->sync_from = a->nodeid;
	c->sync_start_ms = tmr_jiffies();
	mbuf_reset(c->snap);
	list_flush(&c->pend);
	c->pend_bytes = 0;
	tmr_start(&c->sync_tmr, SYNC_TIMEOUT_MS, sync_timeout, c);
	LOGI(c->sbc, "cluster: asking node %u for a snapshot", a->nodeid);
	if (!head_print(mb, 'Q', 0, 0, now_us(), a->nodeid, c->nonce))
		send_msg(c, mb);
	mem_deref(mb);
}

/* The active answers a request: the state as of its current seq, cut at
 * line ends into messages of cluster_msg_max. */
static void snapshot_send(struct cluster *c, uint32_t to, uint64_t nonce)
{
	const size_t max = c->sbc->conf->cluster_msg_max;
	struct mbuf *snap = mbuf_alloc(1 << 20), *mb = NULL;
	size_t pos = 0, nrec = 0;
	int err;

	if (!snap)
		return;
	flush(c);                   /* all until seq is in the stream */
	err = state_snapshot(snap, c->sbc);
	while (!err && pos < snap->end) {
		size_t n = MIN(max, snap->end - pos);

		while (pos + n < snap->end && n && snap->buf[pos + n - 1]
		       != '\n')
			--n;
		if (!n)
			n = MIN(max, snap->end - pos);   /* a huge line */
		mb = mbuf_alloc(n + 96);
		err = mb ? head_print(mb, 'D', c->epoch, c->seq, now_us(), to,
				      nonce) : ENOMEM;
		err = err ? err : mbuf_write_mem(mb, snap->buf + pos, n);
		if (!err)
			send_msg(c, mb);
		mb = mem_deref(mb);
		pos += n;
	}
	for (size_t i = 0; i < snap->end; i++)
		nrec += snap->buf[i] == '\n';
	mb = mbuf_alloc(128);
	if (!err && mb && !head_print(mb, 'E', c->epoch, c->seq, now_us(), to,
				       nonce)
	    && !mbuf_printf(mb, "%zu %zu\n", nrec, snap->end))
		send_msg(c, mb);
	LOGI(c->sbc, "cluster: snapshot for node %u: %zu records, %zu bytes, "
	     "at %llu/%llu%s", to, nrec, snap->end, c->epoch, c->seq,
	     err ? " (failed)" : "");
	mem_deref(mb);
	mem_deref(snap);
}

/* The snapshot is whole: what this node held goes, the snapshot and the
 * live messages that came after it apply. */
static void snapshot_apply(struct cluster *c, uint32_t nodeid,
			   uint64_t epoch, uint64_t seq)
{
	const uint64_t applied = c->applied;
	struct le *le;

	tmr_cancel(&c->sync_tmr);
	state_reset(c->sbc);
	{
		const struct pl body = {(const char *)c->snap->buf,
					c->snap->end};

		apply_records(c, &body, nodeid);
	}
	c->sync_records = c->applied - applied;
	mbuf_reset(c->snap);
	c->epoch = epoch;
	c->seq = seq;
	c->synced = true;
	c->syncing = false;
	c->sync_ms = tmr_jiffies() - c->sync_start_ms;
	LOGI(c->sbc, "cluster: synced from node %u: %llu records in %llu ms "
	     "(%u calls), at %llu/%llu", nodeid, c->sync_records,
	     c->sync_ms, c->sbc->dialogs.n, epoch, seq);
	while ((le = list_head(&c->pend)) && c->synced) {
		struct qmsg *q = le->data;
		const struct pl m = {(const char *)q->mb->buf, q->mb->end};
		struct head h;

		if (!head_decode(&h, &m))
			records_recv(c, h.to, h.epoch, h.seq, h.us, &h.body);
		c->pend_bytes -= q->mb->end;
		mem_deref(q);
	}
	list_flush(&c->pend);
	c->pend_bytes = 0;
	send_status(c);
}

static void chunk_recv(struct cluster *c, char type, uint32_t nodeid,
		       uint64_t epoch, uint64_t seq, uint64_t nonce,
		       const struct pl *body)
{
	if (!c->syncing || nonce != c->nonce)
		return;                 /* another node's snapshot */
	if (type == 'E') {
		snapshot_apply(c, nodeid, epoch, seq);
		return;
	}
	if (c->snap->end + body->l > c->sbc->conf->cluster_queue_max
	    || mbuf_write_pl(c->snap, body)) {
		c->syncing = false;
		sync_lost(c, "snapshot larger than cluster_queue_max");
	}
}

/* ---- CPG callbacks ---- */

static void deliver_h(cpg_handle_t h, const struct cpg_name *group,
		      uint32_t nodeid, uint32_t pid, void *msg, size_t len)
{
	struct cluster *c;
	const struct pl m = {msg, len};
	struct member *mem;
	struct head hd;
	(void)group;

	if (cpg_context_get(h, (void **)&c) != CS_OK || !c)
		return;
	++c->received;
	if (is_self(c, nodeid, pid)) {
		echo_recv(c, &m);
		return;
	}
	if (head_decode(&hd, &m)) {
		++c->refused;
		if (warn_ok(c))
			LOGW(c->sbc, "cluster: message from node %u refused: "
			     "not an sbc message", nodeid);
		return;
	}
	if (hd.ver != STORE_VERSION) {
		++c->refused;
		if (warn_ok(c))
			LOGW(c->sbc, "cluster: message from node %u refused: "
			     "record version %u, this sbcd (" SBC_VERSION
			     ") speaks %u", nodeid, hd.ver, STORE_VERSION);
		return;
	}
	if (hd.to && hd.to != c->nodeid)
		return;
	switch (hd.type) {
	case 'R':
		mem = member_find(c, nodeid, pid);
		if (!mem || !mem->known || mem->role != STORE_ACTIVE) {
			/* only the active's changes: a stranger on the group
			 * (or a node that is no longer active) changes
			 * nothing, nor can it take a seq of the stream */
			++c->refused;
			if (warn_ok(c))
				LOGW(c->sbc, "cluster: changes from node %u "
				     "(pid %u), which is not the active: "
				     "refused", nodeid, pid);
			break;
		}
		records_recv(c, nodeid, hd.epoch, hd.seq, hd.us, &hd.body);
		break;
	case 'S':
		mem = member_find(c, nodeid, pid);
		if (mem)
			status_recv(c, mem, hd.epoch, hd.seq, &hd.body);
		break;
	case 'Q':
		if (c->sbc->store.role == STORE_ACTIVE)
			snapshot_send(c, nodeid, hd.arg);
		break;
	case 'D':
	case 'E':
		chunk_recv(c, hd.type, nodeid, hd.epoch, hd.seq, hd.arg,
			   &hd.body);
		break;
	default:
		++c->refused;
		if (warn_ok(c))
			LOGW(c->sbc, "cluster: message from node %u refused: "
			     "unknown type %c", nodeid, hd.type);
	}
}

/* Pending: the membership changed and the quorum service has not yet
 * reported on the new ring, so `quorate` is still the old ring's. */
static bool quorum_pending(const struct cluster *c)
{
	return c->quorum_seq < c->ring_seq;
}

static void totem_h(cpg_handle_t h, struct cpg_ring_id ring, uint32_t n,
		    const uint32_t *members)
{
	struct cluster *c;
	(void)n;
	(void)members;

	if (cpg_context_get(h, (void **)&c) != CS_OK || !c)
		return;
	if (ring.seq <= c->ring_seq)
		return;
	c->ring_seq = ring.seq;
	c->ring_ms = tmr_jiffies();
	if (quorum_pending(c))
		LOGI(c->sbc, "cluster: new membership (ring %llu), its quorum "
		     "pending: no promotion meanwhile",
		     (unsigned long long)ring.seq);
}

enum { EXEC_ARGS_MAX = 16 };

/* Run cluster_peer_down_exec NODEID PID, detached: a double fork, so
 * the program is never our child (no SIGCHLD, nothing to reap but the
 * intermediate child, which exits at once) and the loop never waits for
 * it.  Between fork and exec only async-signal-safe calls (the media
 * threads may hold locks). */
static void peer_down_exec(struct cluster *c, uint32_t nodeid, uint32_t pid)
{
	const char *cmd = c->sbc->conf->cluster_peer_down_exec;
	char buf[512], ids[2][16], *argv[EXEC_ARGS_MAX + 3], *save = NULL;
	int argc = 0, st;
	pid_t child;

	if (!cmd || !*cmd)
		return;
	if (str_len(cmd) >= sizeof(buf)) {
		LOGE(c->sbc, "cluster: cluster_peer_down_exec too long");
		return;
	}
	str_ncpy(buf, cmd, sizeof(buf));
	for (char *w = strtok_r(buf, " \t", &save); w && argc < EXEC_ARGS_MAX;
	     w = strtok_r(NULL, " \t", &save))
		argv[argc++] = w;
	if (!argc)
		return;
	(void)re_snprintf(ids[0], sizeof(ids[0]), "%u", nodeid);
	(void)re_snprintf(ids[1], sizeof(ids[1]), "%u", pid);
	argv[argc++] = ids[0];
	argv[argc++] = ids[1];
	argv[argc] = NULL;
	LOGW(c->sbc, "cluster: the active (node %u, pid %u) died: running %s",
	     nodeid, pid, cmd);
	child = fork();
	if (child < 0) {
		LOGE(c->sbc, "cluster: cannot run %s: %m", cmd, errno);
		return;
	}
	if (child == 0) {
		if (fork() == 0) {
			(void)setsid();
			execv(argv[0], argv);
			_exit(127);
		}
		_exit(0);
	}
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
}

static void confchg_h(cpg_handle_t h, const struct cpg_name *group,
		      const struct cpg_address *memv, size_t nmem,
		      const struct cpg_address *leftv, size_t nleft,
		      const struct cpg_address *joinv, size_t njoin)
{
	struct cluster *c;
	struct member old[MEMBERS_MAX];
	(void)group;

	if (cpg_context_get(h, (void **)&c) != CS_OK || !c)
		return;
	memcpy(old, c->memv, sizeof(old));
	c->nmem = 0;
	for (size_t i = 0; i < nmem && c->nmem < MEMBERS_MAX; i++) {
		struct member *m = &c->memv[c->nmem++];
		bool found = false;

		for (uint32_t j = 0; j < MEMBERS_MAX && !found; j++) {
			if (old[j].nodeid == memv[i].nodeid
			    && old[j].pid == memv[i].pid) {
				*m = old[j];
				found = true;
			}
		}
		if (!found) {
			memset(m, 0, sizeof(*m));
			m->nodeid = memv[i].nodeid;
			m->pid = memv[i].pid;
		}
	}
	for (size_t i = 0; i < nleft; i++) {
		static const char *why[] = {"", "join", "leave", "nodedown",
					    "nodeup", "procdown"};
		const uint32_t r = leftv[i].reason;

		LOGW(c->sbc, "cluster: node %u (pid %u) left: %s",
		     leftv[i].nodeid, leftv[i].pid,
		     r < ARRAY_SIZE(why) ? why[r] : "?");
		for (uint32_t j = 0; j < MEMBERS_MAX; j++) {
			if (old[j].nodeid != leftv[i].nodeid
			    || old[j].pid != leftv[i].pid)
				continue;
			if (!old[j].known)
				c->unknown_left = true;
			if (old[j].known && old[j].role == STORE_ACTIVE
			    && r == CPG_REASON_PROCDOWN
			    && c->sbc->store.role == STORE_STANDBY)
				peer_down_exec(c, leftv[i].nodeid,
					       leftv[i].pid);
		}
		if (c->syncing && leftv[i].nodeid == c->sync_from) {
			c->syncing = false;
			tmr_cancel(&c->sync_tmr);
			LOGW(c->sbc, "cluster: node %u left during the "
			     "snapshot", c->sync_from);
		}
	}
	for (size_t i = 0; i < njoin; i++)
		LOGI(c->sbc, "cluster: node %u (pid %u) joined",
		     joinv[i].nodeid, joinv[i].pid);
	if (njoin)
		send_status(c);         /* the newcomers learn who is who */
	maybe_sync(c);
	judge_synced(c);
}

/* ---- roles ---- */

static int promote(struct cluster *c, struct mbuf *out, bool force)
{
	struct sbc *sbc = c->sbc;
	const struct member *a = active_peer(c);
	uint64_t epoch, t0;

	if (sbc->store.role == STORE_ACTIVE)
		return mbuf_printf(out, "OK\n");
	if (!c->quorate && !force)
		return mbuf_printf(out, "ERR no quorum\n");
	if (quorum_pending(c) && !force)
		return mbuf_printf(out, "ERR quorum pending (the membership "
				   "changed, the quorum service has not "
				   "decided yet)\n");
	if (a && !force)
		return mbuf_printf(out, "ERR node %u is active\n", a->nodeid);
	if (!c->synced && !force)
		return mbuf_printf(out, "ERR not synced (--force takes over "
				   "with what this node has)\n");
	epoch = (uint64_t)time(NULL) * 1000;
	c->epoch = epoch > c->epoch ? epoch : c->epoch + 1;
	c->seq = 0;
	c->echo_seq = 0;
	c->syncing = false;
	tmr_cancel(&c->sync_tmr);
	list_flush(&c->pend);
	c->pend_bytes = 0;
	t0 = now_us();
	state_takeover(sbc);
	c->takeover_us = now_us() - t0;
	LOGI(sbc, "cluster: active%s (epoch %llu): %u calls, %u bindings, "
	     "taken over in %llu us", c->synced ? "" : ", forced, NOT synced",
	     c->epoch, sbc->dialogs.n, sbc->bindings.n, c->takeover_us);
	c->synced = true;
	send_status(c);
	return mbuf_printf(out, "OK\n");
}

static void demote(struct cluster *c, const char *why)
{
	if (c->sbc->store.role != STORE_ACTIVE)
		return;
	flush(c);
	state_demote(c->sbc);
	LOGW(c->sbc, "cluster: standby (%s)", why);
	send_status(c);
}

static int role_print(struct mbuf *out, struct cluster *c)
{
	int err;

	err = mbuf_printf(out, "role %s\nsynced %s\nnode %u\nquorate %s\n"
			  "quorum_pending %s\nquorum_settling %s\n"
			  "epoch %llu\nseq %llu\nrecord_version %u\n",
			  role_name(c->sbc->store.role),
			  c->syncing ? "syncing" : c->synced ? "yes" : "no",
			  c->nodeid, c->quorate ? "yes" : "no",
			  quorum_pending(c) ? "yes" : "no",
			  tmr_isrunning(&c->settle_tmr) ? "yes" : "no", c->epoch,
			  c->seq, STORE_VERSION);
	for (uint32_t i = 0; i < c->nmem && !err; i++) {
		const struct member *m = &c->memv[i];

		if (is_self(c, m->nodeid, m->pid))
			continue;
		err = mbuf_printf(out, "peer %u %s %s seq %llu lag_p50_us %u "
				  "lag_p99_us %u\n", m->nodeid,
				  m->known ? role_name(m->role) : "unknown",
				  m->synced ? "synced" : "not-synced", m->seq,
				  m->lag_p50, m->lag_p99);
	}
	err = err ? err : mbuf_printf(out, "messages_sent %llu\n"
		"bytes_sent %llu\n"
		"messages_received %llu\nrecords_applied %llu\n"
		"records_refused %llu\nrecords_skipped %llu\n"
		"messages_dropped %llu\nresyncs %llu\nqueue_bytes %zu\n"
		"last_sync_ms %llu\nlast_sync_records %llu\n"
		"last_takeover_us %llu\n", c->sent, c->sent_bytes,
		c->received, c->applied, c->refused, c->skipped, c->dropped,
		c->resyncs, c->outq_bytes, c->sync_ms, c->sync_records,
		c->takeover_us);
	return err;
}

static int lag_print(struct mbuf *out, struct cluster *c)
{
	uint32_t p50, p99, max;

	lag_figures(c, &p50, &p99, &max);
	return mbuf_printf(out, "lag_p50_us %u\nlag_p99_us %u\nlag_max_us %u\n"
			   "lag_samples %u\n", p50, p99, max, c->nlag);
}

/* The store's control hook: "role", "role active [--force]",
 * "role standby". */
static int ctrl_h(struct mbuf *out, const char *args, void *arg)
{
	struct cluster *c = arg;

	if (!strcmp(args, "")) {
		int err = role_print(out, c);

		err = err ? err : lag_print(out, c);
		return err ? err : mbuf_printf(out, "OK\n");
	}
	if (!strcmp(args, "active"))
		return promote(c, out, false);
	if (!strcmp(args, "active --force"))
		return promote(c, out, true);
	if (!strcmp(args, "standby")) {
		demote(c, "sbcctl role standby");
		return mbuf_printf(out, "OK\n");
	}
	return mbuf_printf(out, "ERR usage: role [active [--force] | "
			   "standby]\n");
}

/* ---- Corosync on libre's loop ---- */

static void cpg_close(struct cluster *c);
static int cpg_open(struct cluster *c);

static void reconnect(void *arg)
{
	struct cluster *c = arg;

	if (cpg_open(c)) {
		tmr_start(&c->reconnect_tmr, RECONNECT_MS, reconnect, c);
		return;
	}
	LOGI(c->sbc, "cluster: connected to Corosync again");
}

static void lost(struct cluster *c, const char *what, int e)
{
	LOGE(c->sbc, "cluster: Corosync %s lost (error %d)", what, e);
	demote(c, "Corosync lost");
	c->synced = false;
	cpg_close(c);
	tmr_start(&c->reconnect_tmr, RECONNECT_MS, reconnect, c);
}

static void cpg_fd_h(int flags, void *arg)
{
	struct cluster *c = arg;
	cs_error_t e;
	(void)flags;

	e = cpg_dispatch(c->cpg, CS_DISPATCH_ALL);
	if (e != CS_OK && e != CS_ERR_TRY_AGAIN)
		lost(c, "CPG", e);
}

static void settle_h(void *arg)
{
	struct cluster *c = arg;

	c->quorate = true;
	LOGI(c->sbc, "cluster: quorate (regained on ring %llu, held %llu ms)",
	     (unsigned long long)c->quorum_seq,
	     (unsigned long long)(tmr_jiffies() - c->settle_ms));
}

/* Quorum regained on a ring already decided without it.  Corosync 3.1.7
 * was seen (three t_qdevice runs, here and in CI) to do this when the
 * quorum device's NACK came while votequorum waited for the device on a
 * new ring: it reported the node without quorum, then in the same
 * millisecond quorate again, while the other half, which qnetd had
 * given the vote, was quorate too.  The likely cause: votequorum
 * applies its own node record as it arrives, and the one multicast at
 * the start of the sync still carried the device's old vote; the
 * device's next poll (every half quorum.device.timeout) clears it.  An
 * operator's `corosync-quorumtool -e` regains quorum the same way, and
 * neither is a moment that needs a promotion within seconds. */
static bool settle_hold(struct cluster *c, uint64_t ring)
{
	const uint32_t ms = c->sbc->conf->cluster_quorum_settle;

	if (!ms || c->quorate || ring != c->quorum_seq || !c->quorum_seq)
		return false;
	if (!tmr_isrunning(&c->settle_tmr)) {
		c->settle_ms = tmr_jiffies();
		LOGW(c->sbc, "cluster: quorum regained on ring %llu without a "
		     "new membership: counted once it has held %u ms",
		     (unsigned long long)ring, ms);
		tmr_start(&c->settle_tmr, ms, settle_h, c);
	}
	return true;
}

static void quorum_h(quorum_handle_t h, uint32_t quorate, uint64_t ring,
		     uint32_t n, uint32_t *v)
{
	struct cluster *c;
	(void)v;

	if (quorum_context_get(h, (const void **)&c) != CS_OK || !c)
		return;
	if (quorum_pending(c) && ring >= c->ring_seq)
		LOGI(c->sbc, "cluster: quorum of ring %llu decided (%s) %llu ms "
		     "after the membership", (unsigned long long)ring,
		     quorate ? "quorate" : "no quorum",
		     (unsigned long long)(tmr_jiffies() - c->ring_ms));
	if (quorate && settle_hold(c, ring))
		return;
	if (tmr_isrunning(&c->settle_tmr)) {
		LOGW(c->sbc, "cluster: regained quorum %s after %llu ms, never "
		     "counted", quorate ? "superseded by a new membership's"
		     : "lost again", (unsigned long long)(tmr_jiffies() -
							  c->settle_ms));
		tmr_cancel(&c->settle_tmr);
	}
	if (ring > c->quorum_seq)
		c->quorum_seq = ring;
	if (c->quorate != (quorate != 0))
		LOGI(c->sbc, "cluster: %s (%u nodes)", quorate ? "quorate"
		     : "quorum lost", n);
	c->quorate = quorate != 0;
	if (!c->quorate)
		demote(c, "quorum lost");
}

static void q_fd_h(int flags, void *arg)
{
	struct cluster *c = arg;
	cs_error_t e;
	(void)flags;

	e = quorum_dispatch(c->qh, CS_DISPATCH_ALL);
	if (e != CS_OK && e != CS_ERR_TRY_AGAIN)
		lost(c, "quorum service", e);
}

static void cpg_close(struct cluster *c)
{
	if (c->cpg_fd >= 0)
		fd_close(c->cpg_fd);
	if (c->cpg)
		(void)cpg_finalize(c->cpg);
	if (c->q_fd >= 0)
		fd_close(c->q_fd);
	if (c->qh)
		(void)quorum_finalize(c->qh);
	c->cpg = 0;
	c->qh = 0;
	c->cpg_fd = c->q_fd = -1;
	c->nmem = 0;
	c->ring_seq = c->quorum_seq = 0;   /* a new connection: fresh rings */
	tmr_cancel(&c->settle_tmr);
}

static int cpg_open(struct cluster *c)
{
	cpg_model_v1_data_t model = {
		.model = CPG_MODEL_V1,
		.cpg_deliver_fn = deliver_h,
		.cpg_confchg_fn = confchg_h,
		.cpg_totem_confchg_fn = totem_h,
	};
	quorum_callbacks_t qcb = {.quorum_notify_fn = quorum_h};
	uint32_t qtype, quorate = 0;
	cs_error_t e;
	int err;

	e = cpg_model_initialize(&c->cpg, CPG_MODEL_V1,
				 (cpg_model_data_t *)&model, c);
	if (e != CS_OK) {
		c->cpg = 0;
		goto fail;
	}
	e = cpg_local_get(c->cpg, &c->nodeid);
	e = e == CS_OK ? cpg_fd_get(c->cpg, &c->cpg_fd) : e;
	if (e != CS_OK)
		goto fail;
	e = quorum_initialize(&c->qh, &qcb, &qtype);
	if (e != CS_OK) {
		c->qh = 0;
		goto fail;
	}
	e = quorum_context_set(c->qh, c);
	e = e == CS_OK ? quorum_getquorate(c->qh, (int *)&quorate) : e;
	e = e == CS_OK ? quorum_trackstart(c->qh, CS_TRACK_CHANGES) : e;
	e = e == CS_OK ? quorum_fd_get(c->qh, &c->q_fd) : e;
	if (e != CS_OK)
		goto fail;
	c->quorate = quorate != 0;
	err = fd_listen(c->cpg_fd, FD_READ, cpg_fd_h, c);
	err = err ? err : fd_listen(c->q_fd, FD_READ, q_fd_h, c);
	if (err) {
		cpg_close(c);
		return err;
	}
	e = cpg_join(c->cpg, &c->group);
	if (e != CS_OK)
		goto fail;
	return 0;
 fail:
	LOGE(c->sbc, "cluster: cannot reach Corosync (error %d): is "
	     "corosync running?", e);
	cpg_close(c);
	return ENOTCONN;
}

static void cluster_destructor(void *arg)
{
	struct cluster *c = arg;

	tmr_cancel(&c->flush_tmr);
	tmr_cancel(&c->retry_tmr);
	tmr_cancel(&c->sync_tmr);
	tmr_cancel(&c->reconnect_tmr);
	tmr_cancel(&c->settle_tmr);
	cpg_close(c);
	list_flush(&c->outq);
	list_flush(&c->pend);
	mem_deref(c->batch);
	mem_deref(c->snap);
}

int cluster_init(struct sbc *sbc)
{
	const struct sbc_conf *conf = sbc->conf;
	struct cluster *c;
	int err;

	if (conf->cluster == CONF_CLUSTER_NONE) {
		sbc->store.role = STORE_STANDALONE;
		return 0;
	}
	c = mem_zalloc(sizeof(*c), cluster_destructor);
	if (!c)
		return ENOMEM;
	c->sbc = sbc;
	c->pid = (uint32_t)getpid();
	c->cpg_fd = c->q_fd = -1;
	c->group.length = (uint32_t)str_len(conf->cluster_group);
	if (c->group.length >= sizeof(c->group.value)) {
		mem_deref(c);
		LOGE(sbc, "cluster_group: longer than %zu characters",
		     sizeof(c->group.value) - 1);
		return EINVAL;
	}
	memcpy(c->group.value, conf->cluster_group, c->group.length);
	c->batch = mbuf_alloc(65536);
	c->snap = mbuf_alloc(65536);
	if (!c->batch || !c->snap) {
		mem_deref(c);
		return ENOMEM;
	}
	state_standby(sbc);
	err = cpg_open(c);
	if (err) {
		mem_deref(c);
		return err;
	}
	sbc->store.publishh = publish_h;
	sbc->store.ctrlh = ctrl_h;
	sbc->store.arg = c;
	LOGI(sbc, "cluster: node %u in CPG group '%s', standby, %s",
	     c->nodeid, conf->cluster_group, c->quorate ? "quorate"
	     : "no quorum");
	return 0;
}

void cluster_close(struct sbc *sbc)
{
	struct cluster *c = sbc->store.arg;

	if (!sbc->store.ctrlh)
		return;
	flush(c);
	drain(c);
	sbc->store.publishh = NULL;
	sbc->store.ctrlh = NULL;
	sbc->store.arg = NULL;
	mem_deref(c);
}
