/*
 * relay.h: the media relay.  A session is one call's media: per m= line
 * a stream with two legs, one on each side (access, core), each leg a
 * pair of UDP sockets (RTP on an even port, RTCP on the next) bound on
 * that side's media address.  What arrives on one leg leaves by the
 * other leg towards the far end of that side.
 *
 * Threads: the SIP thread owns the sessions table and calls every
 * function below; worker threads (media_threads, each with its own
 * epoll) own the packet path and the per-leg destination state.  The SIP
 * thread hands changes over through a per-worker command queue (a mutex
 * taken per command, never per packet); it reads counters and the last
 * packet time with atomic loads.  After media_session_release() the
 * session belongs to its worker, which closes the sockets, returns the
 * ports and frees it.  What only a worker sees and a standby must know
 * (a leg latched, an SRTP stream's rollover counter moved) goes back as
 * a note on a libre mqueue, at most one per session on its way; the
 * SIP thread's loop takes it and publishes the session's record, unless
 * the session ended meanwhile (notes that find the pipe full make the
 * SIP thread sweep the sessions for the noted ones instead).
 *
 * Latching (symmetric RTP, anti-hijack): a leg sends first to the
 * address the far end's SDP gave.  The first packet from the expected
 * source IP (the SDP address, or the one the SIP side says, e.g. the
 * signalling source of a NATed phone) latches the leg: from then on it
 * sends to where that packet came from (IP and port) and accepts only
 * that exact source.  Packets from any other source are dropped and
 * counted.  RTP and RTCP latch separately.  A new remote whose address
 * differs (a re-INVITE that moves the media) unlatches; the same
 * address (hold, codec change) keeps the latch.
 *
 * Shared state: struct media_rec, one text encoder and decoder, and
 * media_apply(), what a standby feeds with the records it receives.  A
 * record carries the latched addresses and, per SRTP direction, the
 * stream's SSRC and rollover counter: a standby that takes over sends to
 * where the far ends are without waiting for their packets, and its SRTP
 * contexts continue the streams past 65,536 packets.
 */
#ifndef SBC_RELAY_H
#define SBC_RELAY_H

#include <re.h>
#include "sdp.h"
#include "srtp.h"

enum media_side { MEDIA_ACCESS = 0, MEDIA_CORE = 1 };

enum {
	MEDIA_MAX_STREAMS = SDP_MAX_MEDIA,
	MEDIA_BATCH = 32,           /* datagrams per recvmmsg/sendmmsg */
	MEDIA_MTU = 2048,           /* a datagram over MEDIA_MTU less
				     * MSRTP_TRAILER is dropped */
};

struct media_conf {
	struct sa addr[2];          /* media IP of each side */
	uint16_t port_min;          /* even; RTP even, RTCP odd */
	uint16_t port_max;
	uint32_t threads;
	uint32_t max_sessions;
	uint32_t sockbuf;           /* bytes of each socket's buffers, 0:
				     * the kernel's default */
};

/* Where a side's endpoint receives, and whom it sends from. */
struct media_remote {
	struct sa rtp;              /* unset or 0.0.0.0: send nothing */
	struct sa rtcp;
	struct sa src;              /* packets must come from this IP;
				     * unset: rtp's IP (or the last one) */
};

/* What one leg received (and forwarded out of the other leg). */
struct media_counters {
	uint64_t pkts;
	uint64_t bytes;
	uint64_t dropped;           /* wrong source (hijack), too large */
	uint64_t errors;            /* no destination yet, send failed */
	uint64_t srtp_fail;         /* failed to authenticate or protect */
	uint64_t last_ms;           /* media_now_ms() of the last packet */
};

/* A session as it travels between nodes. */
struct media_rec_leg {
	uint16_t port;              /* local RTP port */
	struct sa rtp, rtcp, src;   /* the remote (unset: none) */
	struct sa latched[2];       /* RTP, RTCP; unset: not latched */
	struct msrtp_key key[2];    /* SRTP rx, tx; MSRTP_NONE: none */
	struct msrtp_roc roc[2];    /* where the rx, tx streams of those
				     * keys are; not set: ROC 0 */
};

struct media_rec {
	struct pl id;               /* the call (Call-ID) */
	bool ended;
	uint32_t n;                 /* streams */
	struct media_rec_leg legv[MEDIA_MAX_STREAMS][2];
};

struct media;
struct media_session;
typedef void (media_publish_h)(const struct media_rec *rec, void *arg);

typedef bool (media_idle_h)(struct media_session *s, uint64_t idle_ms,
			    void *arg);

int  media_alloc(struct media **mp, const struct media_conf *conf);
void media_set_publish(struct media *m, media_publish_h *h, void *arg);
/* Blocks until the workers have run every change queued so far: for
 * tests and shutdown, not for the SIP path. */
int  media_flush(struct media *m);
uint64_t media_now_ms(void);
/* Calls h for each session without a packet for timeout_ms (h may
 * release it; returning true stops the walk). */
void media_idle_apply(struct media *m, uint64_t timeout_ms, media_idle_h *h,
		      void *arg);

int  media_session_alloc(struct media_session **sp, struct media *m,
			 const struct pl *id, uint32_t nstreams);
int  media_session_grow(struct media_session *s, uint32_t nstreams);
void media_session_release(struct media_session *s);
struct media_session *media_session_find(const struct media *m,
					 const struct pl *id);
uint32_t media_session_streams(const struct media_session *s);
uint64_t media_session_last(const struct media_session *s);

int  media_local(const struct media_session *s, uint32_t idx,
		 enum media_side side, struct sa *rtp);
int  media_remote(struct media_session *s, uint32_t idx,
		  enum media_side side, const struct media_remote *r);
int  media_srtp(struct media_session *s, uint32_t idx,
		enum media_side side, const struct msrtp_key *rx,
		const struct msrtp_key *tx);
int  media_counters(const struct media_session *s, uint32_t idx,
		    enum media_side side, struct media_counters *c);
int  media_latched(const struct media_session *s, uint32_t idx,
		   enum media_side side, struct sa *rtp, struct sa *rtcp);

/* Glue with the SDP rewriter. */
int  media_sdp_local(struct sdp_local *loc, const struct media_session *s,
		     enum media_side side, uint64_t version);
void media_remote_of(struct media_remote *r, const struct sdp_stream *m,
		     const struct sa *sig_src);

uint32_t media_sessions(const struct media *m);
uint32_t media_ports_used(const struct media *m);
int  media_print(struct re_printf *pf, const struct media *m);
int  media_totals_print(struct re_printf *pf, const struct media *m);

int  media_rec_of(struct media_rec *r, const struct media_session *s);
int  media_encode(struct mbuf *mb, const struct media_rec *r);
int  media_decode(struct media_rec *r, const struct pl *txt);
int  media_apply(struct media *m, const struct media_rec *r,
		 struct media_session **sp);
void media_reset(struct media *m);
void media_touch(struct media *m);
void media_set_silent(struct media *m, bool silent);

#endif
