/*
 * conf.h: the configuration, declared once in a table (conf.c) with each
 * option's default and doc line; parsing, validation, `sbcd -t` and the
 * shipped conf/sbc.conf (sbcd --print-config) all follow from that table.
 */
#ifndef SBC_CONF_H
#define SBC_CONF_H

#include <re.h>

enum { PEER_MAX_NETS = 16 };

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
	unsigned linev[8]           /* where each option was set */

struct conf_section {
	CONF_SECTION_HEAD;
};

/* A [peer NAME] section: a customer trunk known by its addresses. */
struct conf_peer {
	CONF_SECTION_HEAD;
	struct conf_net netv[PEER_MAX_NETS];
	uint32_t netc;
	uint32_t transports;        /* bit (1 << enum sip_transp) */
	char *profile;
	uint32_t cps;               /* new calls a second, 0: no limit */
	uint32_t cps_burst;         /* bucket size, 0: cps */
	bool flood_exempt;          /* its sources are not rate-limited */
};

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

	struct sa core_addr;
	uint32_t core_port;
	uint32_t core_tls_port;
	char *core_tls_cert;
	char *core_tls_key;

	char *upstream;
	char *upstream_tls_name;
	char *upstream_ca;
	uint32_t upstream_timeout;

	char *registrar;
	uint32_t auth_fail_limit;
	uint32_t auth_fail_window;
	uint32_t auth_fail_ban;
	uint32_t auth_fail_tracked;

	char *emergency_numbers;
	char *emergency_route;

	uint32_t max_message_size;
	uint32_t max_body_size;
	uint32_t max_header_size;
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
	uint32_t security_log_rate;
	bool unknown_reply;         /* 403 to unknown sources, else drop */
	bool scanner_signatures;    /* the built-in blacklist rules */
	uint32_t flood_requests;
	uint32_t flood_window;
	uint32_t flood_ban;
	uint32_t flood_sources;
	bool flood_kernel_filter;
	struct list peerl;          /* struct conf_peer, in file order */
	struct list blacklistl;     /* struct conf_blacklist */
};

bool conf_net_match(const struct conf_net *net, const struct sa *sa);
int  conf_net_parse(struct conf_net *net, const struct pl *pl);
const struct conf_peer *conf_peer_find(const struct sbc_conf *conf,
				       const struct sa *src);

int  conf_load(struct sbc_conf **confp, const char *file);
int  conf_defaults(struct sbc_conf **confp);
int  conf_print_default(struct re_printf *pf, void *unused);
int  conf_print(struct re_printf *pf, const struct sbc_conf *conf);

#endif
