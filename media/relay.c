/*
 * relay.c: the media relay engine (see relay.h for the threads, the
 * latching rule and the record).  The port pool is a free list of even
 * port pairs taken from the head and returned to the tail, so a pair
 * freed by one call is the last to be reused (late packets of that call
 * then hit a closed port, not the next call).
 *
 * Record, one line:
 *   med ID ENDED N {PORT RTP RTCP SRC LATCHED_RTP LATCHED_RTCP RX TX
 *                   RX_ROC TX_ROC}...
 * one group per stream and side (access, then core); "-" for an address,
 * key or ROC that is not set; a key is SUITE:TAG:BASE64 (the record
 * carries SRTP master keys: whatever transports records must be
 * private); a ROC is SSRC:ROC:SEQ, the SSRC in 8 hex digits, SEQ the
 * sequence number as the stream entered its last quarter (SSRC:ROC, the
 * form of records before STORE_VERSION 2, is read as that ROC exactly),
 * and only with the key of its direction.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include "relay.h"
#include "store.h"
#include "srtp.h"

enum { NONE = UINT32_MAX, BIND_TRIES = 8, READ_ROUNDS = 4 };

struct pool {
	pthread_mutex_t mtx;        /* SIP thread takes, workers return */
	uint16_t base;
	uint32_t n, nfree, head, tail;
	uint32_t *next, *prev;
	uint8_t *used;
};

struct media_leg;

/* What a leg's worker shows other threads, under a seqlock: where it
 * latched, and where the RTP streams of its SRTP contexts are, each with
 * the generation of the key it belongs to. */
struct leg_pub {
	struct sa lat[2];           /* RTP, RTCP; unset: not latched */
	struct msrtp_roc roc[2];    /* SRTP rx, tx */
	uint32_t gen[2];
};

/* The epoll cookie of one socket. */
struct msock {
	struct media_leg *leg;
	int kind;                   /* 0 RTP, 1 RTCP */
};

struct media_leg {
	struct media_stream *st;
	enum media_side side;
	int fd[2];
	struct msock sk[2];
	uint32_t pair;
	bool has_pair;
	struct media_remote cfg;    /* SIP thread's copy */
	/* worker's */
	struct sa sdp[2];
	struct sa known[2];         /* the last usable SDP address */
	struct sa dst[2];
	struct sa src;
	bool dst_ok[2];
	bool src_ok;
	bool send_ok;
	bool latched[2];
	struct msrtp *rx, *tx;      /* SRTP with this side's peer */
	struct msrtp_roc roc[2];    /* of rx, tx as they last told */
	uint32_t rgen[2];           /* the key generation of rx, tx */
	struct msrtp_key key[2];    /* SIP thread's copy: rx, tx */
	uint32_t kgen[2];           /* SIP thread's: bumped by a new key */
	atomic_uint seq;
	struct leg_pub pub;
	atomic_uint_fast64_t pkts, bytes, dropped, errors, srtp_fail, last;
};

struct media_stream {
	struct media_session *s;
	uint32_t idx;
	struct media_leg leg[2];
};

struct media_session {
	struct le he;
	struct media *m;
	struct media_worker *wk;
	char *id;
	uint32_t n;
	struct media_stream *stv[MEDIA_MAX_STREAMS];
	uint64_t created;
	struct media_cmd *del;      /* allocated up front: an end never
				     * fails for want of memory */
	uint32_t hkey;              /* of id, in the sessions table */
	atomic_bool noted;          /* a note is on its way to the SIP
				     * thread (session_note) */
};

enum cmd_type { CMD_ADD, CMD_REMOTE, CMD_LATCH, CMD_SRTP, CMD_ROC,
		CMD_DEL };

struct media_cmd {
	struct le le;
	enum cmd_type type;
	struct media_session *s;
	struct media_stream *st;
	struct media_leg *leg;
	struct media_remote r;
	struct sa latched[2];
	struct msrtp *rx, *tx;      /* CMD_SRTP: the new contexts */
	bool swap[2];               /* CMD_SRTP: rx, tx replaced */
	struct msrtp_roc roc[2];    /* CMD_ROC */
	uint32_t gen[2];            /* CMD_SRTP, CMD_ROC: key generations */
};

struct media_worker {
	struct media *m;
	pthread_t th;
	bool started;
	int epfd, evfd;
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	struct list cmds;
	uint64_t queued, done;
	atomic_bool stop;
	struct mmsghdr in[MEDIA_BATCH], out[MEDIA_BATCH];
	struct iovec iov[MEDIA_BATCH];
	struct sa srcv[MEDIA_BATCH];
	uint8_t buf[MEDIA_BATCH][MEDIA_MTU];
};

struct media {
	struct media_conf conf;
	struct pool pool;
	struct media_worker *wkv;
	uint32_t nwk, rr;
	struct hash *ht;
	uint32_t nsessions;
	media_publish_h *publishh;
	void *arg;
	struct mqueue *mq;          /* workers' notes to the SIP thread */
	atomic_bool sweep;          /* a note did not fit in the pipe */
	atomic_bool silent;         /* a cluster standby: relay nothing */
	atomic_uint_fast64_t note_overflows;
};

uint64_t media_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the port pool ---- */

static int pool_init(struct pool *p, uint16_t min, uint16_t max)
{
	p->base = (uint16_t)((min + 1) & ~1u);
	p->n = max > p->base ? (uint32_t)(max - p->base + 1) / 2 : 0;
	if (!p->n)
		return EINVAL;
	p->next = mem_zalloc(p->n * sizeof(*p->next), NULL);
	p->prev = mem_zalloc(p->n * sizeof(*p->prev), NULL);
	p->used = mem_zalloc(p->n, NULL);
	if (!p->next || !p->prev || !p->used)
		return ENOMEM;
	for (uint32_t i = 0; i < p->n; i++) {
		p->prev[i] = i ? i - 1 : NONE;
		p->next[i] = i + 1 < p->n ? i + 1 : NONE;
	}
	p->head = 0;
	p->tail = p->n - 1;
	p->nfree = p->n;
	return pthread_mutex_init(&p->mtx, NULL);
}

static void pool_close(struct pool *p)
{
	if (p->next)
		(void)pthread_mutex_destroy(&p->mtx);
	p->next = mem_deref(p->next);
	p->prev = mem_deref(p->prev);
	p->used = mem_deref(p->used);
}

static void pool_unlink(struct pool *p, uint32_t i)
{
	if (p->prev[i] != NONE)
		p->next[p->prev[i]] = p->next[i];
	else
		p->head = p->next[i];
	if (p->next[i] != NONE)
		p->prev[p->next[i]] = p->prev[i];
	else
		p->tail = p->prev[i];
	p->used[i] = 1;
	--p->nfree;
}

/* want: a pool index, or NONE for the oldest free pair. */
static int pool_take(struct pool *p, uint32_t want, uint32_t *ip)
{
	int err = 0;

	(void)pthread_mutex_lock(&p->mtx);
	if (want == NONE && p->head == NONE)
		err = ENOSPC;
	else if (want != NONE && (want >= p->n || p->used[want]))
		err = EADDRINUSE;
	else
		pool_unlink(p, *ip = want == NONE ? p->head : want);
	(void)pthread_mutex_unlock(&p->mtx);
	return err;
}

static void pool_put(struct pool *p, uint32_t i)
{
	(void)pthread_mutex_lock(&p->mtx);
	p->used[i] = 0;
	p->next[i] = NONE;
	p->prev[i] = p->tail;
	if (p->tail != NONE)
		p->next[p->tail] = i;
	else
		p->head = i;
	p->tail = i;
	++p->nfree;
	(void)pthread_mutex_unlock(&p->mtx);
}

/* ---- legs ---- */

static bool sa_eq(const struct sa *a, const struct sa *b)
{
	if (sa_af(a) == AF_UNSPEC || sa_af(b) == AF_UNSPEC)
		return sa_af(a) == sa_af(b);
	return sa_cmp(a, b, SA_ALL);
}

static bool remote_eq(const struct media_remote *a,
		      const struct media_remote *b)
{
	return sa_eq(&a->rtp, &b->rtp) && sa_eq(&a->rtcp, &b->rtcp)
		&& sa_eq(&a->src, &b->src);
}

/* A real destination: an address that is not 0.0.0.0/:: and a port. */
static bool sa_usable(const struct sa *sa)
{
	return sa_af(sa) != AF_UNSPEC && !sa_is_any(sa) && sa_port(sa);
}

static int sock_open(const struct sa *laddr, uint16_t port, uint32_t buf,
		     int *fdp)
{
	struct sa a = *laddr;
	const int one = 1, size = (int)buf;
	int fd;

	sa_set_port(&a, port);
	fd = socket(sa_af(&a), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	/* a standby binds the media address before it owns it */
	(void)setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof(one));
	/* a worker busy with other sockets must not lose this one's
	 * packets to a full default buffer */
	if (size && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size,
			       sizeof(size)))
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size,
				 sizeof(size));
	if (size && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size,
			       sizeof(size)))
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size,
				 sizeof(size));
	if (bind(fd, &a.u.sa, a.len) < 0) {
		int err = errno;

		(void)close(fd);
		return err;
	}
	*fdp = fd;
	return 0;
}

static void leg_close(struct media_leg *l)
{
	struct media *m = l->st->s->m;

	for (int k = 0; k < 2; k++) {
		if (l->fd[k] < 0)
			continue;
		(void)epoll_ctl(l->st->s->wk->epfd, EPOLL_CTL_DEL, l->fd[k],
				NULL);
		(void)close(l->fd[k]);
		l->fd[k] = -1;
	}
	if (l->has_pair)
		pool_put(&m->pool, l->pair);
	l->has_pair = false;
	l->rx = mem_deref(l->rx);
	l->tx = mem_deref(l->tx);
}

/* want: a port the leg must have (a record), 0 for any. */
static int leg_open(struct media_leg *l, uint16_t want)
{
	struct media *m = l->st->s->m;
	const struct sa *laddr = &m->conf.addr[l->side];
	int err = EADDRINUSE;

	if (want && (want < m->pool.base || (want - m->pool.base) & 1))
		return EADDRINUSE;
	for (int t = 0; t < BIND_TRIES; t++) {
		uint32_t i;
		uint16_t port;

		err = pool_take(&m->pool, want ? (uint32_t)(want - m->pool.base)
				/ 2 : NONE, &i);
		if (err)
			return err;
		port = (uint16_t)(m->pool.base + 2 * i);
		err = sock_open(laddr, port, m->conf.sockbuf, &l->fd[0]);
		if (!err) {
			err = sock_open(laddr, (uint16_t)(port + 1),
					m->conf.sockbuf, &l->fd[1]);
			if (err) {
				(void)close(l->fd[0]);
				l->fd[0] = -1;
			}
		}
		if (!err) {
			l->pair = i;
			l->has_pair = true;
			return 0;
		}
		pool_put(&m->pool, i);  /* used by someone else: last */
		if (want || err != EADDRINUSE)
			return err;
	}
	return err;
}

static uint16_t leg_port(const struct media_leg *l)
{
	return (uint16_t)(l->st->s->m->pool.base + 2 * l->pair);
}

/* Worker: the latched addresses and ROCs, for readers on other
 * threads. */
static void leg_publish(struct media_leg *l)
{
	const unsigned s = atomic_load_explicit(&l->seq,
						memory_order_relaxed);

	atomic_store_explicit(&l->seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (int k = 0; k < 2; k++) {
		if (l->latched[k])
			l->pub.lat[k] = l->dst[k];
		else
			sa_init(&l->pub.lat[k], AF_UNSPEC);
		l->pub.roc[k] = l->roc[k];
		l->pub.gen[k] = l->rgen[k];
	}
	atomic_store_explicit(&l->seq, s + 2, memory_order_release);
}

static void leg_read_pub(const struct media_leg *l, struct leg_pub *p)
{
	unsigned s1, s2;

	do {
		s1 = atomic_load_explicit(&l->seq, memory_order_acquire);
		*p = l->pub;
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&l->seq, memory_order_relaxed);
	} while ((s1 & 1) || s1 != s2);
}

/* Worker: something only the worker saw (a latch, a ROC) changed the
 * session's record; the SIP thread is to publish it.  One note per
 * session until the SIP thread has taken it, so that the events of a
 * session in between share one record.  The note carries the session's
 * address only for the SIP thread to find it in its table, never to be
 * followed: the session may end before the note arrives.  A note that
 * does not fit in the pipe (thousands waiting) leaves the session noted
 * and asks for a sweep of the table, which the SIP thread does at its
 * next note: one of those in the pipe, or the empty one pushed here if
 * the pipe has room again. */
static void session_note(struct media_session *s)
{
	struct media *m = s->m;

	if (atomic_exchange(&s->noted, true))
		return;
	if (!mqueue_push(m->mq, (int)s->hkey, s))
		return;
	atomic_fetch_add_explicit(&m->note_overflows, 1,
				  memory_order_relaxed);
	atomic_store(&m->sweep, true);
	(void)mqueue_push(m->mq, 0, NULL);
}

/* Worker, from inside msrtp_protect()/msrtp_unprotect(): the stream of
 * one of the leg's SRTP contexts rolled over. */
static void leg_roc_h(const struct msrtp_roc *r, bool tx, void *arg)
{
	struct media_leg *l = arg;

	l->roc[tx] = *r;
	leg_publish(l);
	session_note(l->st->s);
}

static void leg_set_roc(struct media_leg *l, const struct media_cmd *c)
{
	for (int d = 0; d < 2; d++) {
		struct msrtp *ctx = d ? l->tx : l->rx;

		/* a context that has seen packets keeps its own ROC */
		if (c->roc[d].set && ctx && l->rgen[d] == c->gen[d]
		    && !msrtp_roc_set(ctx, &c->roc[d]))
			l->roc[d] = c->roc[d];
	}
	leg_publish(l);
}

/* Worker: a new remote from SDP.  Moved media unlatches. */
static void leg_set_remote(struct media_leg *l, const struct media_remote *r)
{
	const struct sa *nv[2] = {&r->rtp, &r->rtcp};
	bool moved = false;

	/* hold with 0.0.0.0 and back to the same address keeps the
	 * latch: the NATed phone's mapping did not change */
	for (int k = 0; k < 2; k++) {
		if (sa_usable(nv[k])) {
			moved |= !sa_eq(nv[k], &l->known[k]);
			l->known[k] = *nv[k];
		}
		l->sdp[k] = *nv[k];
	}
	if (sa_af(&r->src) != AF_UNSPEC && !sa_is_any(&r->src)) {
		moved |= !l->src_ok || !sa_cmp(&r->src, &l->src, SA_ADDR);
		l->src = r->src;
		l->src_ok = true;
	}
	else if (sa_usable(&r->rtp)) {
		moved |= !l->src_ok || !sa_cmp(&r->rtp, &l->src, SA_ADDR);
		l->src = r->rtp;
		l->src_ok = true;
	}
	l->send_ok = sa_usable(&r->rtp);
	for (int k = 0; k < 2; k++) {
		if (moved)
			l->latched[k] = false;
		if (!l->latched[k]) {
			l->dst[k] = l->sdp[k];
			l->dst_ok[k] = sa_usable(&l->sdp[k]);
		}
	}
	leg_publish(l);
}

static void leg_set_latched(struct media_leg *l, const struct sa lat[2])
{
	for (int k = 0; k < 2; k++) {
		if (!sa_usable(&lat[k]))
			continue;
		l->dst[k] = lat[k];
		l->dst_ok[k] = true;
		l->latched[k] = true;
	}
	leg_publish(l);
}

/* ---- the packet path (worker threads, no locks) ---- */

static bool leg_allowed(const struct media_leg *l, int k,
			const struct sa *src)
{
	if (l->latched[k])
		return sa_cmp(src, &l->dst[k], SA_ALL);
	return l->src_ok && sa_cmp(src, &l->src, SA_ADDR);
}

/* Only a packet that passed every check latches (with SRTP: one that
 * authenticated, so a forged packet from the right IP cannot). */
static void leg_latch_to(struct media_leg *l, int k, const struct sa *src)
{
	if (l->latched[k])
		return;
	l->dst[k] = *src;
	l->dst_ok[k] = true;
	l->latched[k] = true;
	leg_publish(l);
	session_note(l->st->s);
}

static int sock_batch(struct media_worker *wk, struct msock *sk)
{
	struct media_leg *l = sk->leg, *o;
	const int k = sk->kind;
	uint64_t pkts = 0, bytes = 0, dropped = 0, errors = 0, sfail = 0;
	unsigned out = 0;
	int n;

	for (int i = 0; i < MEDIA_BATCH; i++) {
		wk->iov[i].iov_base = wk->buf[i];
		wk->iov[i].iov_len = MEDIA_MTU - MSRTP_TRAILER;
		memset(&wk->in[i].msg_hdr, 0, sizeof(wk->in[i].msg_hdr));
		wk->in[i].msg_hdr.msg_iov = &wk->iov[i];
		wk->in[i].msg_hdr.msg_iovlen = 1;
		wk->in[i].msg_hdr.msg_name = &wk->srcv[i].u;
		wk->in[i].msg_hdr.msg_namelen = sizeof(wk->srcv[i].u);
	}
	n = recvmmsg(l->fd[k], wk->in, MEDIA_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return 0;
	/* a standby sends nothing: what reaches it before its promotion
	 * (the address moved first) is dropped, not relayed by two nodes */
	if (atomic_load_explicit(&l->st->s->m->silent,
				 memory_order_relaxed)) {
		atomic_fetch_add_explicit(&l->dropped, (uint64_t)n,
					  memory_order_relaxed);
		return n;
	}
	o = &l->st->leg[!l->side];
	for (int i = 0; i < n; i++) {
		struct msghdr *h = &wk->in[i].msg_hdr;
		struct msghdr *oh = &wk->out[out].msg_hdr;
		size_t len = wk->in[i].msg_len;
		const bool rtcp = k || msrtp_is_rtcp(wk->buf[i], len);

		wk->srcv[i].len = h->msg_namelen;
		if ((h->msg_flags & MSG_TRUNC)
		    || !leg_allowed(l, k, &wk->srcv[i])) {
			++dropped;
			continue;
		}
		if (l->rx && msrtp_unprotect(l->rx, wk->buf[i], &len, rtcp)) {
			++sfail;
			continue;
		}
		leg_latch_to(l, k, &wk->srcv[i]);
		++pkts;
		bytes += wk->in[i].msg_len;
		if (!o->send_ok || !o->dst_ok[k]) {
			++errors;
			continue;
		}
		if (o->tx && msrtp_protect(o->tx, wk->buf[i], &len, MEDIA_MTU,
					   rtcp)) {
			++sfail;
			continue;
		}
		wk->iov[i].iov_len = len;
		memset(oh, 0, sizeof(*oh));
		oh->msg_iov = &wk->iov[i];
		oh->msg_iovlen = 1;
		oh->msg_name = &o->dst[k].u;
		oh->msg_namelen = o->dst[k].len;
		++out;
	}
	if (out) {
		int sent = sendmmsg(o->fd[k], wk->out, out, MSG_DONTWAIT);

		errors += out - (sent > 0 ? (unsigned)sent : 0u);
	}
	if (pkts) {
		atomic_fetch_add_explicit(&l->pkts, pkts, memory_order_relaxed);
		atomic_fetch_add_explicit(&l->bytes, bytes,
					  memory_order_relaxed);
		atomic_store_explicit(&l->last, media_now_ms(),
				      memory_order_relaxed);
	}
	if (dropped)
		atomic_fetch_add_explicit(&l->dropped, dropped,
					  memory_order_relaxed);
	if (errors)
		atomic_fetch_add_explicit(&l->errors, errors,
					  memory_order_relaxed);
	if (sfail)
		atomic_fetch_add_explicit(&l->srtp_fail, sfail,
					  memory_order_relaxed);
	return n;
}

/* Edge-triggered: a socket is reported once per arrival, not again at
 * each epoll_wait while it holds data, which halves epoll's polling of
 * the sockets.  A short batch means the queue was empty when read, and
 * whatever came after reports the socket again.  A socket still full
 * after READ_ROUNDS batches is re-armed (EPOLL_CTL_MOD queues it as
 * ready), so that one busy stream waits for the next turn instead of
 * starving the others. */
static void sock_drain(struct media_worker *wk, struct msock *sk)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.ptr = sk};

	for (int r = 0; r < READ_ROUNDS; r++)
		if (sock_batch(wk, sk) < MEDIA_BATCH)
			return;
	if (epoll_ctl(wk->epfd, EPOLL_CTL_MOD, sk->leg->fd[sk->kind], &ev))
		atomic_fetch_add(&sk->leg->errors, 1);
}

/* ---- commands (SIP thread -> worker) ---- */

static void cmd_destructor(void *arg)
{
	struct media_cmd *c = arg;

	if (c->type == CMD_DEL)
		mem_deref(c->s);
	mem_deref(c->rx);
	mem_deref(c->tx);
}

/* Once queued, a command runs: a lost wake-up (a full eventfd) only
 * delays it to the worker's next turn (at most a second). */
static int cmd_send(struct media_worker *wk, struct media_cmd *c)
{
	const uint64_t one = 1;

	(void)pthread_mutex_lock(&wk->mtx);
	list_append(&wk->cmds, &c->le, c);
	++wk->queued;
	(void)pthread_mutex_unlock(&wk->mtx);
	(void)!write(wk->evfd, &one, sizeof(one));
	return 0;
}

static int cmd_new(struct media_cmd **cp, enum cmd_type type,
		   struct media_session *s)
{
	struct media_cmd *c = mem_zalloc(sizeof(*c), cmd_destructor);

	if (!c)
		return ENOMEM;
	c->type = type;
	c->s = s;
	*cp = c;
	return 0;
}

static void stream_watch(struct media_worker *wk, struct media_stream *st)
{
	for (int side = 0; side < 2; side++) {
		for (int k = 0; k < 2; k++) {
			struct media_leg *l = &st->leg[side];
			struct epoll_event ev = {.events = EPOLLIN | EPOLLET,
						 .data.ptr = &l->sk[k]};

			if (epoll_ctl(wk->epfd, EPOLL_CTL_ADD, l->fd[k], &ev))
				atomic_fetch_add(&l->errors, 1);
		}
	}
}

static void cmd_run(struct media_worker *wk, struct media_cmd *c)
{
	switch (c->type) {
	case CMD_ADD:
		stream_watch(wk, c->st);
		break;
	case CMD_REMOTE:
		leg_set_remote(c->leg, &c->r);
		break;
	case CMD_LATCH:
		leg_set_latched(c->leg, c->latched);
		break;
	case CMD_SRTP: {
		/* swapped: the command takes the old contexts away */
		struct msrtp *rx = c->leg->rx, *tx = c->leg->tx;

		if (c->swap[0]) {
			c->leg->rx = c->rx;
			c->rx = rx;
		}
		if (c->swap[1]) {
			c->leg->tx = c->tx;
			c->tx = tx;
		}
		for (int d = 0; d < 2; d++) {
			if (!c->swap[d])
				continue;
			c->leg->rgen[d] = c->gen[d];
			memset(&c->leg->roc[d], 0, sizeof(c->leg->roc[d]));
		}
		leg_publish(c->leg);
		break;
	}
	case CMD_ROC:
		leg_set_roc(c->leg, c);
		break;
	case CMD_DEL:
		break;              /* the destructor frees the session */
	}
}

static void cmds_run(struct media_worker *wk)
{
	for (;;) {
		struct le *le;

		(void)pthread_mutex_lock(&wk->mtx);
		le = list_head(&wk->cmds);
		if (le)
			list_unlink(le);
		(void)pthread_mutex_unlock(&wk->mtx);
		if (!le)
			return;
		cmd_run(wk, le->data);
		mem_deref(le->data);
		(void)pthread_mutex_lock(&wk->mtx);
		++wk->done;
		(void)pthread_cond_broadcast(&wk->cond);
		(void)pthread_mutex_unlock(&wk->mtx);
	}
}

/* Commands run before the sockets of the same wake-up: a 200's SDP
 * queues the callee's address before the 200 is forwarded, so the
 * caller's first packet, which may arrive in the same epoll_wait as
 * the wake-up, finds it (it used to count as an error). */
static void *worker_main(void *arg)
{
	struct media_worker *wk = arg;
	struct epoll_event evv[64];

	while (!atomic_load(&wk->stop)) {
		int n = epoll_wait(wk->epfd, evv, ARRAY_SIZE(evv), 1000);
		bool cmds = n == 0;
		uint64_t v;

		for (int i = 0; i < n && !cmds; i++)
			cmds = !evv[i].data.ptr;
		if (cmds) {
			(void)!read(wk->evfd, &v, sizeof(v));
			cmds_run(wk);
		}
		for (int i = 0; i < n; i++)
			if (evv[i].data.ptr)
				sock_drain(wk, evv[i].data.ptr);
	}
	return NULL;
}

static int worker_start(struct media_worker *wk, struct media *m)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	sigset_t all, old;
	int err;

	wk->m = m;
	wk->epfd = epoll_create1(EPOLL_CLOEXEC);
	wk->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (wk->epfd < 0 || wk->evfd < 0)
		return errno;
	if (epoll_ctl(wk->epfd, EPOLL_CTL_ADD, wk->evfd, &ev))
		return errno;
	err = pthread_mutex_init(&wk->mtx, NULL);
	err = err ? err : pthread_cond_init(&wk->cond, NULL);
	if (err)
		return err;
	/* signals stay with the SIP thread (libre's main loop) */
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&wk->th, NULL, worker_main, wk);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	wk->started = !err;
	return err;
}

static void worker_stop(struct media_worker *wk)
{
	const uint64_t one = 1;

	if (wk->started) {
		atomic_store(&wk->stop, true);
		(void)!write(wk->evfd, &one, sizeof(one));
		(void)pthread_join(wk->th, NULL);
		(void)pthread_mutex_destroy(&wk->mtx);
		(void)pthread_cond_destroy(&wk->cond);
		wk->started = false;
	}
}

static void worker_close(struct media_worker *wk)
{
	/* undelivered commands: DELs free their sessions (still on the
	 * epoll, so it must be open) */
	list_flush(&wk->cmds);
	if (wk->epfd >= 0)
		(void)close(wk->epfd);
	if (wk->evfd >= 0)
		(void)close(wk->evfd);
	wk->epfd = wk->evfd = -1;
}

/* ---- sessions (SIP thread) ---- */

static void stream_destructor(void *arg)
{
	struct media_stream *st = arg;

	leg_close(&st->leg[0]);
	leg_close(&st->leg[1]);
}

static void session_destructor(void *arg)
{
	struct media_session *s = arg;

	hash_unlink(&s->he);
	for (uint32_t i = 0; i < s->n; i++)
		mem_deref(s->stv[i]);
	mem_deref(s->id);
	if (s->del)
		s->del->s = NULL;
	mem_deref(s->del);
}

static void media_destructor(void *arg)
{
	struct media *m = arg;

	for (uint32_t i = 0; i < m->nwk; i++)
		worker_stop(&m->wkv[i]);
	/* notes still in the pipe hold no memory */
	m->mq = mem_deref(m->mq);
	for (uint32_t i = 0; i < m->nwk; i++)
		list_flush(&m->wkv[i].cmds);
	hash_flush(m->ht);
	for (uint32_t i = 0; i < m->nwk; i++)
		worker_close(&m->wkv[i]);
	mem_deref(m->wkv);
	mem_deref(m->ht);
	pool_close(&m->pool);
}

static void publish(struct media_session *s, bool ended);

static bool session_is(struct le *le, void *arg)
{
	return le->data == arg;
}

/* The flag is cleared before the record is read, so that an event
 * after the read sends another note. */
static bool note_take(struct le *le, void *arg)
{
	struct media_session *s = le->data;

	(void)arg;
	if (atomic_exchange(&s->noted, false))
		publish(s, false);
	return false;
}

/* SIP thread: a worker's note (session_note).  A session that ended
 * meanwhile is no longer in the table: its note is dropped, its address
 * only compared.  One no longer noted was published by a sweep. */
static void note_h(int id, void *data, void *arg)
{
	struct media *m = arg;
	struct le *le;

	if (atomic_exchange(&m->sweep, false))
		(void)hash_apply(m->ht, note_take, NULL);
	if (!data)
		return;
	le = hash_lookup(m->ht, (uint32_t)id, session_is, data);
	if (le)
		(void)note_take(le, NULL);
}

int media_alloc(struct media **mp, const struct media_conf *conf)
{
	struct media *m;
	int err;

	if (!mp || !conf || !conf->threads || !conf->max_sessions
	    || !sa_isset(&conf->addr[0], SA_ADDR)
	    || !sa_isset(&conf->addr[1], SA_ADDR))
		return EINVAL;
	m = mem_zalloc(sizeof(*m), media_destructor);
	if (!m)
		return ENOMEM;
	m->conf = *conf;
	m->wkv = mem_zalloc(conf->threads * sizeof(*m->wkv), NULL);
	if (!m->wkv) {
		mem_deref(m);
		return ENOMEM;
	}
	for (uint32_t i = 0; i < conf->threads; i++)
		m->wkv[i].epfd = m->wkv[i].evfd = -1;
	m->nwk = conf->threads;
	err = pool_init(&m->pool, conf->port_min, conf->port_max);
	err = err ? err : hash_alloc(&m->ht, 1024);
	err = err ? err : mqueue_alloc(&m->mq, note_h, m);
	for (uint32_t i = 0; i < m->nwk && !err; i++)
		err = worker_start(&m->wkv[i], m);
	if (err) {
		mem_deref(m);
		return err;
	}
	*mp = m;
	return 0;
}

void media_set_publish(struct media *m, media_publish_h *h, void *arg)
{
	m->publishh = h;
	m->arg = arg;
}

/* Waits until every worker has run the commands queued so far. */
int media_flush(struct media *m)
{
	for (uint32_t i = 0; i < m->nwk; i++) {
		struct media_worker *wk = &m->wkv[i];

		(void)pthread_mutex_lock(&wk->mtx);
		const uint64_t target = wk->queued;

		while (wk->done < target && !atomic_load(&wk->stop))
			(void)pthread_cond_wait(&wk->cond, &wk->mtx);
		(void)pthread_mutex_unlock(&wk->mtx);
	}
	return 0;
}

static bool session_cmp(struct le *le, void *arg)
{
	const struct media_session *s = le->data;

	return !pl_strcmp(arg, s->id);
}

struct media_session *media_session_find(const struct media *m,
					 const struct pl *id)
{
	return list_ledata(hash_lookup(m->ht, hash_joaat((const uint8_t *)
							 id->p, id->l),
				       session_cmp, (void *)id));
}

static int session_new(struct media_session **sp, struct media *m,
		       const struct pl *id)
{
	struct media_session *s;

	if (!pl_isset(id) || pl_strchr(id, ' ') || pl_strchr(id, '\n')
	    || pl_strchr(id, '\r'))
		return EINVAL;
	if (media_session_find(m, id))
		return EALREADY;
	if (m->nsessions >= m->conf.max_sessions)
		return ENOSPC;
	s = mem_zalloc(sizeof(*s), session_destructor);
	if (!s)
		return ENOMEM;
	s->m = m;
	s->wk = &m->wkv[m->rr++ % m->nwk];
	s->created = media_now_ms();
	s->hkey = hash_joaat((const uint8_t *)id->p, id->l);
	if (pl_strdup(&s->id, id) || cmd_new(&s->del, CMD_DEL, NULL)) {
		mem_deref(s);
		return ENOMEM;
	}
	hash_append(m->ht, s->hkey, &s->he, s);
	++m->nsessions;
	*sp = s;
	return 0;
}

/* ports: the RTP port of each side, or NULL for any. */
static int stream_new(struct media_session *s, const uint16_t *ports)
{
	struct media_stream *st;
	struct media_cmd *c;
	int err = 0;

	if (s->n >= MEDIA_MAX_STREAMS)
		return E2BIG;
	st = mem_zalloc(sizeof(*st), stream_destructor);
	if (!st)
		return ENOMEM;
	st->s = s;
	st->idx = s->n;
	for (int side = 0; side < 2; side++) {
		struct media_leg *l = &st->leg[side];

		l->st = st;
		l->side = (enum media_side)side;
		l->fd[0] = l->fd[1] = -1;
		l->sk[0] = (struct msock){l, 0};
		l->sk[1] = (struct msock){l, 1};
		l->last = s->created;
		sa_init(&l->pub.lat[0], AF_UNSPEC);
		sa_init(&l->pub.lat[1], AF_UNSPEC);
	}
	for (int side = 0; side < 2 && !err; side++)
		err = leg_open(&st->leg[side], ports ? ports[side] : 0);
	err = err ? err : cmd_new(&c, CMD_ADD, s);
	if (err) {
		mem_deref(st);
		return err;
	}
	c->st = st;
	s->stv[s->n++] = st;
	return cmd_send(s->wk, c);
}

static int leg_remote(struct media_leg *l, const struct media_remote *r)
{
	struct media_cmd *c;
	int err;

	if (remote_eq(&l->cfg, r))
		return 0;
	err = cmd_new(&c, CMD_REMOTE, l->st->s);
	if (err)
		return err;
	c->leg = l;
	c->r = *r;
	l->cfg = *r;
	return cmd_send(l->st->s->wk, c);
}

static int leg_latch(struct media_leg *l, const struct sa lat[2])
{
	struct media_cmd *c;
	struct leg_pub cur;
	int err;

	if (!sa_usable(&lat[0]) && !sa_usable(&lat[1]))
		return 0;
	leg_read_pub(l, &cur);
	if (sa_eq(&cur.lat[0], &lat[0]) && sa_eq(&cur.lat[1], &lat[1]))
		return 0;
	err = cmd_new(&c, CMD_LATCH, l->st->s);
	if (err)
		return err;
	c->leg = l;
	c->latched[0] = lat[0];
	c->latched[1] = lat[1];
	return cmd_send(l->st->s->wk, c);
}

static bool roc_eq(const struct msrtp_roc *a, const struct msrtp_roc *b)
{
	return a->set == b->set && (!a->set || (a->ssrc == b->ssrc
						&& a->roc == b->roc
						&& a->seq_set == b->seq_set
						&& a->seq == b->seq));
}

/* A record's ROCs for the leg's SRTP contexts (after leg_srtp() gave
 * them the record's keys): a standby's contexts, which see no packets,
 * start each stream where the active node's had got to.  ROC 0 in the
 * first quarter is where they start anyway. */
static int leg_roc(struct media_leg *l, const struct msrtp_roc rv[2])
{
	struct media_cmd *c;
	struct leg_pub cur;
	bool want = false;
	int err;

	leg_read_pub(l, &cur);
	for (int d = 0; d < 2; d++)
		want |= rv[d].set
			&& (rv[d].roc || (rv[d].seq_set && rv[d].seq >= 0x4000))
			&& l->key[d].suite != MSRTP_NONE
			&& !(cur.gen[d] == l->kgen[d]
			     && roc_eq(&cur.roc[d], &rv[d]));
	if (!want)
		return 0;
	err = cmd_new(&c, CMD_ROC, l->st->s);
	if (err)
		return err;
	c->leg = l;
	for (int d = 0; d < 2; d++) {
		c->roc[d] = rv[d];
		c->gen[d] = l->kgen[d];
	}
	return cmd_send(l->st->s->wk, c);
}

/* The worker that polls the session's sockets frees it (the DEL
 * command owns it from here on). */
static void session_end(struct media_session *s)
{
	struct media_cmd *c = s->del;

	hash_unlink(&s->he);
	--s->m->nsessions;
	s->del = NULL;
	c->s = s;
	(void)cmd_send(s->wk, c);
}

static void publish(struct media_session *s, bool ended)
{
	struct media_rec r;

	if (!s->m->publishh || media_rec_of(&r, s))
		return;
	r.ended = ended;
	s->m->publishh(&r, s->m->arg);
}

/* A new call's media: nstreams streams on pool ports.  ENOSPC: no
 * ports or max_sessions reached (the SIP side answers 503). */
int media_session_alloc(struct media_session **sp, struct media *m,
			const struct pl *id, uint32_t nstreams)
{
	struct media_session *s;
	int err;

	if (!sp || !m || !id || !nstreams || nstreams > MEDIA_MAX_STREAMS)
		return EINVAL;
	err = session_new(&s, m, id);
	if (err)
		return err;
	while (!err && s->n < nstreams)
		err = stream_new(s, NULL);
	if (err) {
		session_end(s);
		return err;
	}
	publish(s, false);
	*sp = s;
	return 0;
}

/* More m= lines (a re-INVITE adding video): streams never shrink, a
 * removed m= line keeps its place with port 0. */
int media_session_grow(struct media_session *s, uint32_t nstreams)
{
	int err = 0;

	if (!s || nstreams > MEDIA_MAX_STREAMS)
		return EINVAL;
	if (nstreams <= s->n)
		return 0;
	while (!err && s->n < nstreams)
		err = stream_new(s, NULL);
	publish(s, false);
	return err;
}

void media_session_release(struct media_session *s)
{
	if (!s)
		return;
	publish(s, true);
	session_end(s);
}

uint32_t media_session_streams(const struct media_session *s)
{
	return s ? s->n : 0;
}

/* media_now_ms() of the session's last packet (or of its creation). */
uint64_t media_session_last(const struct media_session *s)
{
	uint64_t last = s->created;

	for (uint32_t i = 0; i < s->n; i++) {
		for (int side = 0; side < 2; side++) {
			uint64_t t = atomic_load_explicit(
				&s->stv[i]->leg[side].last,
				memory_order_relaxed);

			if (t > last)
				last = t;
		}
	}
	return last;
}

static const struct media_leg *leg_of(const struct media_session *s,
				      uint32_t idx, enum media_side side)
{
	if (!s || idx >= s->n || (unsigned)side > MEDIA_CORE)
		return NULL;
	return &s->stv[idx]->leg[side];
}

/* sbc's address and RTP port that the given side must send to. */
int media_local(const struct media_session *s, uint32_t idx,
		enum media_side side, struct sa *rtp)
{
	const struct media_leg *l = leg_of(s, idx, side);

	if (!l || !rtp)
		return ENOENT;
	*rtp = s->m->conf.addr[side];
	sa_set_port(rtp, leg_port(l));
	return 0;
}

/* Where the given side's endpoint receives (from its SDP). */
int media_remote(struct media_session *s, uint32_t idx,
		 enum media_side side, const struct media_remote *r)
{
	struct media_leg *l = (struct media_leg *)leg_of(s, idx, side);
	int err;

	if (!l || !r)
		return ENOENT;
	err = leg_remote(l, r);
	if (!err)
		publish(s, false);
	return err;
}

static bool key_eq(const struct msrtp_key *a, const struct msrtp_key *b)
{
	return a->suite == b->suite && a->tag == b->tag && a->len == b->len
		&& !memcmp(a->key, b->key, a->len);
}

static int leg_srtp(struct media_leg *l, const struct msrtp_key *rx,
		    const struct msrtp_key *tx)
{
	const struct msrtp_key none = {.suite = MSRTP_NONE};
	struct media_cmd *c;
	int err;

	rx = rx && rx->suite != MSRTP_NONE ? rx : &none;
	tx = tx && tx->suite != MSRTP_NONE ? tx : &none;
	if (key_eq(rx, &l->key[0]) && key_eq(tx, &l->key[1]))
		return 0;
	err = cmd_new(&c, CMD_SRTP, l->st->s);
	if (err)
		return err;
	/* a direction whose key stays keeps its context: a new one would
	 * start its stream at ROC 0 again (and, on the tx side, encrypt
	 * under packet indices the old one used) */
	c->swap[0] = !key_eq(rx, &l->key[0]);
	c->swap[1] = !key_eq(tx, &l->key[1]);
	if (c->swap[0] && rx->suite != MSRTP_NONE)
		err = msrtp_alloc(&c->rx, rx, false);
	if (!err && c->swap[1] && tx->suite != MSRTP_NONE)
		err = msrtp_alloc(&c->tx, tx, true);
	if (err) {
		mem_deref(c);
		return err;
	}
	msrtp_set_roch(c->rx, leg_roc_h, l);
	msrtp_set_roch(c->tx, leg_roc_h, l);
	/* the ROC a record shows is of the key it is recorded with, not
	 * of the one the worker has yet to drop */
	for (int d = 0; d < 2; d++)
		c->gen[d] = c->swap[d] ? ++l->kgen[d] : l->kgen[d];
	c->leg = l;
	l->key[0] = *rx;
	l->key[1] = *tx;
	return cmd_send(l->st->s->wk, c);
}

/* SRTP with the given side's peer: rx is the key of its a=crypto (what
 * it sends with), tx the key sbc put in the SDP it sent that peer.  Both
 * NULL (or MSRTP_NONE): plain RTP, or SRTP passed through untouched when
 * the other side has no keys either. */
int media_srtp(struct media_session *s, uint32_t idx, enum media_side side,
	       const struct msrtp_key *rx, const struct msrtp_key *tx)
{
	struct media_leg *l = (struct media_leg *)leg_of(s, idx, side);
	int err;

	if (!l)
		return ENOENT;
	err = leg_srtp(l, rx, tx);
	if (!err)
		publish(s, false);
	return err;
}

int media_counters(const struct media_session *s, uint32_t idx,
		   enum media_side side, struct media_counters *c)
{
	const struct media_leg *l = leg_of(s, idx, side);

	if (!l || !c)
		return ENOENT;
	c->pkts = atomic_load_explicit(&l->pkts, memory_order_relaxed);
	c->bytes = atomic_load_explicit(&l->bytes, memory_order_relaxed);
	c->dropped = atomic_load_explicit(&l->dropped, memory_order_relaxed);
	c->errors = atomic_load_explicit(&l->errors, memory_order_relaxed);
	c->srtp_fail = atomic_load_explicit(&l->srtp_fail,
					    memory_order_relaxed);
	c->last_ms = atomic_load_explicit(&l->last, memory_order_relaxed);
	return 0;
}

int media_latched(const struct media_session *s, uint32_t idx,
		  enum media_side side, struct sa *rtp, struct sa *rtcp)
{
	const struct media_leg *l = leg_of(s, idx, side);
	struct leg_pub pub;

	if (!l)
		return ENOENT;
	leg_read_pub(l, &pub);
	if (rtp)
		*rtp = pub.lat[0];
	if (rtcp)
		*rtcp = pub.lat[1];
	return 0;
}

/* What to write into the SDP sent to the given side. */
int media_sdp_local(struct sdp_local *loc, const struct media_session *s,
		    enum media_side side, uint64_t version)
{
	if (!loc || !s)
		return EINVAL;
	memset(loc, 0, sizeof(*loc));
	loc->addr = s->m->conf.addr[side];
	sa_set_port(&loc->addr, 0);
	for (uint32_t i = 0; i < s->n; i++)
		loc->portv[i] = leg_port(&s->stv[i]->leg[side]);
	loc->portc = s->n;
	loc->version = version;
	return 0;
}

static bool sa_private(const struct sa *sa)
{
	if (sa_af(sa) == AF_INET) {
		const uint32_t a = sa_in(sa);

		return (a >> 24) == 10 || (a >> 20) == 0xac1
			|| (a >> 16) == 0xc0a8 || (a >> 22) == 0x191
			|| sa_is_linklocal(sa);
	}
	if (sa_af(sa) == AF_INET6)
		return (sa->u.in6.sin6_addr.s6_addr[0] & 0xfe) == 0xfc
			|| sa_is_linklocal(sa);
	return false;
}

/* The remote of a side from what its SDP said.  sig_src (may be NULL):
 * where its SIP came from; a private SDP address behind a public
 * signalling address is a NATed phone, whose packets come from there. */
void media_remote_of(struct media_remote *r, const struct sdp_stream *m,
		     const struct sa *sig_src)
{
	memset(r, 0, sizeof(*r));
	r->rtp = m->rtp;
	r->rtcp = m->rtcp;
	if (!m->port) {
		sa_set_port(&r->rtp, 0);
		sa_set_port(&r->rtcp, 0);
	}
	if (sig_src && sa_af(sig_src) == sa_af(&m->rtp)
	    && !m->hold_addr && sa_private(&m->rtp) && !sa_private(sig_src)) {
		r->src = *sig_src;
		sa_set_port(&r->src, 0);
	}
}

uint32_t media_sessions(const struct media *m)
{
	return m->nsessions;
}

/* Port pairs in use (each leg holds one): those of sessions released
 * but not yet closed by their worker included. */
uint32_t media_ports_used(const struct media *m)
{
	struct pool *p = (struct pool *)&m->pool;
	uint32_t used;

	(void)pthread_mutex_lock(&p->mtx);
	used = p->n - p->nfree;
	(void)pthread_mutex_unlock(&p->mtx);
	return used;
}

struct idle_walk {
	uint64_t now, timeout;
	media_idle_h *h;
	void *arg;
};

static bool idle_one(struct le *le, void *arg)
{
	struct media_session *s = le->data;
	struct idle_walk *iw = arg;
	const uint64_t last = media_session_last(s);

	if (iw->now <= last || iw->now - last < iw->timeout)
		return false;
	return iw->h(s, iw->now - last, iw->arg);
}

void media_idle_apply(struct media *m, uint64_t timeout_ms, media_idle_h *h,
		      void *arg)
{
	struct idle_walk iw = {media_now_ms(), timeout_ms, h, arg};

	if (!m || !h || !timeout_ms)
		return;
	/* hash_apply tolerates the current entry being unlinked */
	(void)hash_apply(m->ht, idle_one, &iw);
}

/* ---- records ---- */

int media_rec_of(struct media_rec *r, const struct media_session *s)
{
	if (!r || !s)
		return EINVAL;
	memset(r, 0, sizeof(*r));
	pl_set_str(&r->id, s->id);
	r->n = s->n;
	for (uint32_t i = 0; i < s->n; i++) {
		for (int side = 0; side < 2; side++) {
			const struct media_leg *l = &s->stv[i]->leg[side];
			struct media_rec_leg *rl = &r->legv[i][side];
			struct leg_pub pub;

			rl->port = leg_port(l);
			rl->rtp = l->cfg.rtp;
			rl->rtcp = l->cfg.rtcp;
			rl->src = l->cfg.src;
			leg_read_pub(l, &pub);
			for (int d = 0; d < 2; d++) {
				rl->latched[d] = pub.lat[d];
				rl->key[d] = l->key[d];
				if (l->key[d].suite != MSRTP_NONE
				    && pub.gen[d] == l->kgen[d])
					rl->roc[d] = pub.roc[d];
			}
		}
	}
	return 0;
}

static int sa_field(struct re_printf *pf, const struct sa *sa)
{
	if (sa_af(sa) == AF_UNSPEC)
		return re_hprintf(pf, "-");
	return re_hprintf(pf, "%J", sa);
}

static int roc_field(struct re_printf *pf, const struct msrtp_roc *r)
{
	if (!r->set)
		return re_hprintf(pf, "-");
	if (!r->seq_set)
		return re_hprintf(pf, "%08x:%u", r->ssrc, r->roc);
	return re_hprintf(pf, "%08x:%u:%u", r->ssrc, r->roc, r->seq);
}

static int key_field(struct re_printf *pf, const struct msrtp_key *k)
{
	char b64[64];
	size_t n = sizeof(b64);

	if (k->suite == MSRTP_NONE)
		return re_hprintf(pf, "-");
	if (k->len > MSRTP_KEY_MAX || base64_encode(k->key, k->len, b64, &n))
		return EINVAL;
	return re_hprintf(pf, "%s:%u:%b", msrtp_suite_name(k->suite), k->tag,
			  b64, n);
}

int media_encode(struct mbuf *mb, const struct media_rec *r)
{
	int err;

	if (!mb || !r || r->n > MEDIA_MAX_STREAMS)
		return EINVAL;
	err = mbuf_printf(mb, "med %r %u %u", &r->id, r->ended ? 1u : 0u,
			  r->n);
	for (uint32_t i = 0; i < r->n && !err; i++) {
		for (int side = 0; side < 2 && !err; side++) {
			const struct media_rec_leg *l = &r->legv[i][side];

			/* the decoder would refuse it */
			for (int d = 0; d < 2; d++)
				if (l->roc[d].set
				    && l->key[d].suite == MSRTP_NONE)
					return EINVAL;
			err = mbuf_printf(mb, " %u %H %H %H %H %H %H %H %H %H",
					  l->port, sa_field, &l->rtp, sa_field,
					  &l->rtcp, sa_field, &l->src,
					  sa_field, &l->latched[0],
					  sa_field, &l->latched[1],
					  key_field, &l->key[0],
					  key_field, &l->key[1],
					  roc_field, &l->roc[0],
					  roc_field, &l->roc[1]);
		}
	}
	return err ? err : mbuf_write_str(mb, "\n");
}

static int num_field(struct pl *txt, uint32_t max, uint32_t *v)
{
	struct pl f;

	if (store_field(txt, &f) || f.l > 5)
		return EBADMSG;
	for (size_t i = 0; i < f.l; i++)
		if (f.p[i] < '0' || f.p[i] > '9')
			return EBADMSG;
	*v = pl_u32(&f);
	return *v <= max ? 0 : EBADMSG;
}

static int sa_decode_field(struct pl *txt, struct sa *sa)
{
	struct pl f;

	if (store_field(txt, &f))
		return EBADMSG;
	if (!pl_strcmp(&f, "-")) {
		sa_init(sa, AF_UNSPEC);
		return 0;
	}
	return sa_decode(sa, f.p, f.l) ? EBADMSG : 0;
}

/* SUITE:TAG:BASE64, checked as an a=crypto line would be. */
static int key_decode_field(struct pl *txt, struct msrtp_key *k)
{
	struct pl f, suite, tag, key;
	char line[128];

	memset(k, 0, sizeof(*k));
	if (store_field(txt, &f))
		return EBADMSG;
	if (!pl_strcmp(&f, "-"))
		return 0;
	if (re_regex(f.p, f.l, "[A-Z0-9_]+:[0-9]+:[^:]+", &suite, &tag, &key)
	    || re_snprintf(line, sizeof(line), "%r %r inline:%r", &tag,
			   &suite, &key) < 0)
		return EBADMSG;
	pl_set_str(&f, line);
	return msrtp_crypto_decode(k, &f) ? EBADMSG : 0;
}

/* SSRC:ROC[:SEQ], the SSRC in 8 hex digits; only for a direction with a
 * key (a ROC without its key means nothing). */
static int roc_decode_field(struct pl *txt, struct msrtp_roc *r,
			    const struct msrtp_key *k)
{
	struct pl f, ssrc, roc, seq = PL_INIT;
	const char *colon;

	memset(r, 0, sizeof(*r));
	if (store_field(txt, &f))
		return EBADMSG;
	if (!pl_strcmp(&f, "-"))
		return 0;
	if (k->suite == MSRTP_NONE || f.l < 10 || f.p[8] != ':')
		return EBADMSG;
	ssrc.p = f.p;
	ssrc.l = 8;
	roc.p = f.p + 9;
	roc.l = f.l - 9;
	colon = pl_strchr(&roc, ':');
	if (colon) {
		seq.p = colon + 1;
		seq.l = roc.l - (size_t)(seq.p - roc.p);
		roc.l = (size_t)(colon - roc.p);
		if (!store_digits(&seq, 5) || pl_u32(&seq) > UINT16_MAX)
			return EBADMSG;
		r->seq = (uint16_t)pl_u32(&seq);
		r->seq_set = true;
	}
	for (size_t i = 0; i < ssrc.l; i++)
		if (!isxdigit((unsigned char)ssrc.p[i]))
			return EBADMSG;
	if (!store_digits(&roc, 10) || pl_u64(&roc) > UINT32_MAX)
		return EBADMSG;
	r->ssrc = pl_x32(&ssrc);
	r->roc = (uint32_t)pl_u64(&roc);
	r->set = true;
	return 0;
}

int media_decode(struct media_rec *r, const struct pl *txt)
{
	struct pl t, tag, rest;
	uint32_t ended, n, port;
	int err;

	if (!r || !txt)
		return EINVAL;
	t = *txt;
	memset(r, 0, sizeof(*r));
	err  = store_field(&t, &tag);
	err |= store_field(&t, &r->id);
	if (err || pl_strcmp(&tag, "med") || num_field(&t, 1, &ended)
	    || num_field(&t, MEDIA_MAX_STREAMS, &n) || !n)
		return EBADMSG;
	r->ended = ended;
	r->n = n;
	for (uint32_t i = 0; i < n; i++) {
		for (int side = 0; side < 2; side++) {
			struct media_rec_leg *l = &r->legv[i][side];

			if (num_field(&t, 65535, &port)
			    || sa_decode_field(&t, &l->rtp)
			    || sa_decode_field(&t, &l->rtcp)
			    || sa_decode_field(&t, &l->src)
			    || sa_decode_field(&t, &l->latched[0])
			    || sa_decode_field(&t, &l->latched[1])
			    || key_decode_field(&t, &l->key[0])
			    || key_decode_field(&t, &l->key[1])
			    || roc_decode_field(&t, &l->roc[0], &l->key[0])
			    || roc_decode_field(&t, &l->roc[1], &l->key[1]))
				return EBADMSG;
			l->port = (uint16_t)port;
		}
	}
	return store_field(&t, &rest) ? 0 : EBADMSG;
}

static int apply_streams(struct media_session *s, const struct media_rec *r)
{
	int err = 0;

	if (r->n < s->n)
		return EPROTO;          /* streams never shrink */
	for (uint32_t i = 0; i < s->n; i++)
		for (int side = 0; side < 2; side++)
			if (leg_port(&s->stv[i]->leg[side])
			    != r->legv[i][side].port)
				return EPROTO;
	while (!err && s->n < r->n) {
		const uint16_t ports[2] = {r->legv[s->n][0].port,
					   r->legv[s->n][1].port};

		err = stream_new(s, ports);
	}
	for (uint32_t i = 0; i < s->n && !err; i++) {
		for (int side = 0; side < 2 && !err; side++) {
			const struct media_rec_leg *rl = &r->legv[i][side];
			const struct media_remote rem = {rl->rtp, rl->rtcp,
							 rl->src};
			struct media_leg *l = &s->stv[i]->leg[side];

			err = leg_remote(l, &rem);
			err = err ? err : leg_srtp(l, &rl->key[0],
						   &rl->key[1]);
			err = err ? err : leg_roc(l, rl->roc);
			err = err ? err : leg_latch(l, rl->latched);
		}
	}
	return err;
}

/* The one function a received record goes through: creates the session
 * on the record's ports, updates its remotes, SRTP keys and ROCs and
 * latched addresses, or ends it.  Local changes use the same leg functions and publish a
 * record of the result. */
int media_apply(struct media *m, const struct media_rec *r,
		struct media_session **sp)
{
	struct media_session *s;
	bool created = false;
	int err;

	if (!m || !r || !r->n || r->n > MEDIA_MAX_STREAMS)
		return EINVAL;
	if (sp)
		*sp = NULL;
	s = media_session_find(m, &r->id);
	if (r->ended) {
		if (!s)
			return ENOENT;
		session_end(s);
		return 0;
	}
	if (!s) {
		err = session_new(&s, m, &r->id);
		if (err)
			return err;
		created = true;
	}
	err = apply_streams(s, r);
	if (err) {
		if (created)
			session_end(s);
		return err;
	}
	if (sp)
		*sp = s;
	return 0;
}

static bool end_one(struct le *le, void *arg)
{
	(void)arg;
	session_end(le->data);
	return false;
}

/* Ends every session: a standby about to take a new snapshot (the calls
 * release theirs first). */
void media_reset(struct media *m)
{
	if (m)
		(void)hash_apply(m->ht, end_one, NULL);
}

static bool touch_one(struct le *le, void *arg)
{
	struct media_session *s = le->data;

	s->created = *(uint64_t *)arg;
	return false;
}

/* A cluster standby relays nothing (media_set_silent(m, true)); the
 * workers read it once per batch. */
void media_set_silent(struct media *m, bool silent)
{
	if (m)
		atomic_store_explicit(&m->silent, silent,
				      memory_order_relaxed);
}

/* Media inactivity counts from now: a standby takes over sessions whose
 * packets went to another node. */
void media_touch(struct media *m)
{
	uint64_t now = media_now_ms();

	if (m)
		(void)hash_apply(m->ht, touch_one, &now);
}

/* ---- control ---- */

static bool print_session(struct le *le, void *arg)
{
	const struct media_session *s = le->data;
	struct re_printf *pf = arg;
	const uint64_t now = media_now_ms(), last = media_session_last(s);
	int err;

	err = re_hprintf(pf, "session %s streams %u idle_ms %llu\n", s->id,
			 s->n, (unsigned long long)(now > last ? now - last
						    : 0));
	for (uint32_t i = 0; i < s->n && !err; i++) {
		for (int side = 0; side < 2 && !err; side++) {
			struct media_counters c;
			struct sa lat[2];

			(void)media_counters(s, i, side, &c);
			(void)media_latched(s, i, side, &lat[0], &lat[1]);
			err = re_hprintf(pf, "  stream %u %s port %u remote "
					 "%H latched %H%s pkts %llu bytes %llu "
					 "dropped %llu errors %llu srtp_fail "
					 "%llu\n", i,
					 side ? "core" : "access",
					 leg_port(&s->stv[i]->leg[side]),
					 sa_field, &s->stv[i]->leg[side].cfg.rtp,
					 sa_field, &lat[0],
					 s->stv[i]->leg[side].key[0].suite
					 ? " srtp" : "",
					 (unsigned long long)c.pkts,
					 (unsigned long long)c.bytes,
					 (unsigned long long)c.dropped,
					 (unsigned long long)c.errors,
					 (unsigned long long)c.srtp_fail);
		}
	}
	return err != 0;
}

/* The relay's figures without its sessions (metrics.c). */
int media_totals_print(struct re_printf *pf, const struct media *m)
{
	if (!m)
		return re_hprintf(pf, "media relay off\n");
	return re_hprintf(pf, "media_sessions %u\nmedia_port_pairs_used %u\n"
			 "media_port_pairs_total %u\nmedia_threads %u\n"
			 "media_note_overflows %llu\n",
			 m->nsessions, media_ports_used(m), m->pool.n,
			 m->nwk, (unsigned long long)atomic_load_explicit(
				 &m->note_overflows, memory_order_relaxed));
}

int media_print(struct re_printf *pf, const struct media *m)
{
	int err = media_totals_print(pf, m);

	if (!err && m)
		(void)hash_apply(m->ht, print_session, pf);
	return err;
}
