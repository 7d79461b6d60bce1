/*
 * conf.h: the configuration, declared once in a table (conf.c) with each
 * option's default and doc line; parsing, validation, `sbcd -t` and the
 * shipped conf/sbc.conf (sbcd --print-config) all follow from that table.
 */
#ifndef SBC_CONF_H
#define SBC_CONF_H

#include <re.h>
#include <regex.h>
#include "schedule.h"

enum { PEER_MAX_NETS = 16 };

/* screening_mode: what the screening upstream's answer to an INVITE is */
enum screening_mode {
	SCREENING_RELAY = 0,        /* the answer, relayed to the caller */
	SCREENING_REDIRECT,         /* a verdict: 302 approves (verdict.c) */
};

/* verdict_fail: a verdict that does not come (timeout, error, 5xx) */
enum verdict_fail {
	VERDICT_FAIL_OPEN = 0,      /* the call goes on */
	VERDICT_FAIL_CLOSED,        /* 503 */
};

/* keepalive: what UDP clients of bindings get (keepalive.c) */
enum keepalive_mode {
	KEEPALIVE_OPTIONS = 0,      /* OPTIONS; any answer is a sign of life */
	KEEPALIVE_CRLF,             /* CRLFCRLF: keeps NAT open, no answer */
	KEEPALIVE_NONE,
};

/* An IPv4 or IPv6 network: address and prefix length. */
struct conf_net {
	struct sa addr;
	uint8_t bits;
};

/* The head every [KIND NAME] section object starts with. */
#define CONF_SECTION_HEAD \
	struct le le; \
	char *name; \
	unsigned line;              /* of its [KIND NAME] header */ \
	unsigned linev[16]          /* where each option was set */

struct conf_section {
	CONF_SECTION_HEAD;
};

/* "As in working hours": an off-hours limit left unset. */
#define CONF_SAME UINT32_MAX

/* A [profile NAME] section: the toll-fraud policy of the peers that name
 * it.  Limits count per peer; 0 means no limit. */
struct conf_profile {
	CONF_SECTION_HEAD;
	char *timezone;
	char *offhours;
	uint32_t max_calls;
	uint32_t max_calls_offhours;
	uint32_t daily_calls;
	uint32_t daily_calls_offhours;
	uint32_t calls_per_minute;
	char *allow;                /* regex on the dialled number */
	char *deny;
	uint32_t max_per_from;
	uint32_t reject_code;
	/* compiled when the file is validated */
	struct sched sched;
	struct sched_tz tz;         /* a cache too: the zone's offset */
	regex_t allow_re, deny_re;
	bool allow_ok, deny_ok;
};

/* A [peer NAME] section: a customer trunk known by its addresses. */
struct conf_peer {
	CONF_SECTION_HEAD;
	struct conf_net netv[PEER_MAX_NETS];
	uint32_t netc;
	uint32_t transports;        /* bit (1 << enum sip_transp) */
	char *profile;
	const struct conf_profile *prof;  /* resolved from profile */
	uint32_t cps;               /* new calls a second, 0: no limit */
	uint32_t cps_burst;         /* bucket size, 0: cps */
	bool flood_exempt;          /* its sources are not rate-limited */
	bool topology_hiding;       /* no core address reaches it */
	bool nat;                   /* reached over its flow (dialog_flow.c) */
	uint32_t media;             /* enum conf_media */
};

enum conf_media { CONF_MEDIA_PASS = 0, CONF_MEDIA_RTP, CONF_MEDIA_SRTP };

enum conf_cluster { CONF_CLUSTER_NONE = 0, CONF_CLUSTER_COROSYNC };

/* A [blacklist NAME] section: one rule of the blacklist. */
struct conf_blacklist {
	CONF_SECTION_HEAD;
	char *field;    /* source, number, from_user, display_name, user_agent */
	char *match;    /* exact, prefix, substring, regex */
	char *value;
	char *action;   /* drop, 403, log */
	char *expires;  /* "", unix seconds or YYYY-MM-DDTHH:MM:SSZ */
};

struct sbc_conf {
	char *file;                 /* path it was read from */
	char *dir;                  /* its directory: relative paths start here */

	uint32_t log_level;

	struct sa access_addr;
	uint32_t access_port;
	uint32_t access_tls_port;
	char *access_tls_cert;
	char *access_tls_key;
	bool access_tls_verify_client;
	char *access_tls_ca;
	bool symmetric_responses;   /* access side: back to the source port */

	struct sa core_addr;
	uint32_t core_port;
	uint32_t core_tls_port;
	char *core_tls_cert;
	char *core_tls_key;

	char *upstream;
	char *upstream_tls_name;
	char *upstream_ca;
	uint32_t upstream_timeout;
	uint32_t screening_mode;    /* enum screening_mode */
	char *switch_uri;           /* redirect mode: approved calls go here */
	uint32_t verdict_timeout;   /* ms */
	uint32_t verdict_fail;      /* enum verdict_fail */
	char *verdict_approve_prefix;

	char *registrar;
	bool path_received;         /* received= in our Path entry */
	uint32_t auth_fail_limit;
	uint32_t auth_fail_window;
	uint32_t auth_fail_ban;
	uint32_t scanner_ban;
	uint32_t auth_fail_tracked;

	char *emergency_numbers;
	char *emergency_route;

	uint32_t max_message_size;
	uint32_t max_body_size;
	uint32_t max_header_size;
	uint32_t tcp_message_timeout;
	uint32_t udp_mtu;
	uint32_t invite_timeout;
	bool loop_detect;

	uint32_t max_fds;
	uint32_t tcp_backlog;
	uint32_t udp_sockbuf;
	uint32_t hash_size;
	uint32_t prefault_mb;
	uint32_t overload_queue;
	uint32_t overload_cpu;
	uint32_t overload_interval;

	char *security_log;
	char *control_socket;
	char *metrics_listen;
	char *hep_dest;
	uint32_t hep_capture_id;
	char *hep_password;
	uint32_t security_log_rate;
	uint32_t log_remote_rate;
	bool unknown_reply;         /* 403 to unknown sources, else drop */
	bool scanner_signatures;    /* the built-in blacklist rules */
	uint32_t flood_requests;
	uint32_t flood_window;
	uint32_t flood_ban;
	uint32_t flood_sources;
	bool flood_kernel_filter;
	uint32_t max_dialogs;
	bool remote_users;
	char *flow_key_file;
	char *state_file;
	bool callid_hiding;
	bool topology_hiding;
	char *remote_user_profile;
	uint32_t max_bindings;
	uint32_t register_max_expires;
	uint32_t register_min_expires;
	uint32_t keepalive;         /* enum keepalive_mode */
	uint32_t keepalive_interval;
	uint32_t keepalive_timeout;
	bool dialog_check;
	uint32_t dialog_max_duration;
	struct sa media_addr_access;  /* unset: access_addr */
	struct sa media_addr_core;    /* unset: core_addr */
	bool media_anchor;
	uint32_t media_port_min;
	uint32_t media_port_max;
	uint32_t media_threads;
	uint32_t media_timeout;
	uint32_t media_max_sessions;
	uint32_t media_sockbuf;
	uint32_t media_max_forks;
	uint32_t cluster;           /* enum conf_cluster */
	char *cluster_group;
	uint32_t cluster_msg_max;
	uint32_t cluster_window;
	uint32_t cluster_queue_max;
	char *cluster_peer_down_exec;
	uint32_t cluster_media_drain;
	uint32_t cluster_quorum_settle;
	char *redis;
	char *redis_user;
	char *redis_password;
	uint32_t redis_db;
	char *redis_prefix;
	uint32_t redis_timeout;
	char *redis_sentinels;
	char *redis_master_name;
	uint32_t redis_queue_max;
	uint32_t redis_start_wait;
	struct list peerl;          /* struct conf_peer, in file order */
	struct list blacklistl;     /* struct conf_blacklist */
	struct list profilel;       /* struct conf_profile */
};

int  conf_hostport(const char *s, size_t len, char *host, size_t hsz,
		   uint16_t *port);
bool conf_net_match(const struct conf_net *net, const struct sa *sa);
int  conf_net_parse(struct conf_net *net, const struct pl *pl);
const struct conf_peer *conf_peer_find(const struct sbc_conf *conf,
				       const struct sa *src);

const struct conf_profile *conf_profile_find(const struct sbc_conf *conf,
					     const char *name);
int  conf_load(struct sbc_conf **confp, const char *file);
int  conf_defaults(struct sbc_conf **confp);
int  conf_print_default(struct re_printf *pf, void *unused);
int  conf_print(struct re_printf *pf, const struct sbc_conf *conf);
int  conf_keep_running(struct sbc_conf *nconf, const struct sbc_conf *run,
		       void (*changed)(const char *name, void *arg),
		       void *arg);

#endif
