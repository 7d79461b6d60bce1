/*
 * sdp.h: the SDP rewriter that anchors media on sbc.  It walks the body
 * line by line on struct pl slices and writes a new body in which sbc is
 * the media endpoint each side sees; it also reports what it learnt from
 * the input, per m= line, for the relay.  (libre owns struct sdp_media
 * and enum sdp_dir, whose names and sdp_dir_name() this file reuses.)
 */
#ifndef SBC_SDP_H
#define SBC_SDP_H

#include <re.h>

enum {
	SDP_MAX_MEDIA  = 8,         /* m= lines in one body */
	SDP_MAX_CRYPTO = 4,         /* a=crypto lines kept per m= line */
};

/* One m= line as the sender described it. */
struct sdp_stream {
	struct pl type;             /* audio, video, ... */
	struct pl proto;            /* RTP/AVP, RTP/SAVP, ... */
	uint16_t port;              /* 0: the stream is disabled */
	struct sa rtp;              /* c= address (media or session), port */
	struct sa rtcp;             /* a=rtcp, else port + 1 (mux: port) */
	bool rtcp_attr;             /* a=rtcp was present */
	bool rtcp_mux;              /* a=rtcp-mux */
	bool hold_addr;             /* c= 0.0.0.0 or :: (RFC 2543 hold) */
	enum sdp_dir dir;           /* media level, else session level */
	struct pl cryptov[SDP_MAX_CRYPTO];  /* values after "a=crypto:" */
	uint32_t cryptoc;
};

/* What a body says. */
struct sdp_info {
	struct pl o_user, o_sess_id;
	uint64_t o_version;
	struct sdp_stream mv[SDP_MAX_MEDIA];
	uint32_t mc;
	uint32_t ice_dropped;       /* lines removed by a rewrite */
};

/* SRTP on the side the rewritten body goes to. */
enum sdp_srtp {
	SDP_SRTP_KEEP = 0,          /* proto and a=crypto as they are: RTP,
				     * or SRTP passed through end to end */
	SDP_SRTP_STRIP,             /* sbc terminates SRTP: plain RTP here
				     * (RTP/SAVP -> RTP/AVP, no a=crypto) */
	SDP_SRTP_SET,               /* sbc speaks SRTP here with its own key
				     * (RTP/AVP -> RTP/SAVP, its a=crypto) */
};

/* What sbc wants the receiver of the rewritten body to see. */
struct sdp_local {
	struct sa addr;             /* sbc's media IP on that side */
	uint16_t portv[SDP_MAX_MEDIA];  /* RTP port of each m= line */
	uint32_t portc;             /* at least the body's m= lines */
	uint64_t version;           /* o= version to write */
	enum sdp_srtp srtpv[SDP_MAX_MEDIA];
	struct pl cryptov[SDP_MAX_MEDIA];   /* SDP_SRTP_SET: the value of
					     * sbc's a=crypto line */
};

int  sdp_parse(struct sdp_info *info, const struct pl *body);
int  sdp_rewrite(struct mbuf *mb, const struct pl *body,
		 const struct sdp_local *loc, struct sdp_info *info);

#endif
