/*
 * blacklist.h: blacklist rules: source IP/CIDR, dialled number, From,
 * display name, User-Agent; exact, prefix, substring or regex; each with
 * an action (drop, 403, log) and an optional expiry.
 */
#ifndef SBC_BLACKLIST_H
#define SBC_BLACKLIST_H

#include <regex.h>
#include "conf.h"

enum bl_field { BL_SOURCE, BL_NUMBER, BL_FROM, BL_FROM_USER, BL_DISPLAY,
		BL_UA };
enum bl_match { BL_EXACT, BL_PREFIX, BL_SUBSTR, BL_REGEX };
enum bl_action { BL_DROP, BL_403, BL_LOG };

struct bl_rule {
	struct le le;
	char *name;
	enum bl_field field;
	enum bl_match match;
	enum bl_action action;
	char *value;
	struct conf_net net;        /* BL_SOURCE */
	regex_t re;                 /* BL_REGEX */
	bool re_ok;
	uint64_t expires;           /* unix seconds, 0: never */
	uint64_t hits;
	bool builtin;
	bool runtime;               /* added through the control socket */
};

struct sip_msg;

/* A change to the rules added at run time, as it travels between nodes:
 *   bl add NAME FIELD MATCH ACTION EXPIRES VALUE...
 *   bl del NAME
 * EXPIRES in unix seconds, 0: never. */
struct bl_rec {
	bool add;
	struct pl name;
	struct pl field;
	struct pl match;
	struct pl action;
	uint64_t expires;
	struct pl value;
};

int  bl_rec_encode(struct mbuf *mb, const struct bl_rec *r);
int  bl_rec_decode(struct bl_rec *r, const struct pl *txt);
int  bl_apply(struct list *rules, const struct bl_rec *r, const char **why);
int  bl_save(struct mbuf *mb, const struct list *rules);
void bl_reset(struct list *rules);
struct bl_rule *bl_find(const struct list *rules, const struct pl *name);

int  bl_rule_alloc(struct bl_rule **rp, const char *name, const char *field,
		   const char *match, const char *value, const char *action,
		   const char *expires, const char **why);
const struct bl_rule *bl_match(const struct list *rules,
			       const struct sip_msg *msg, uint64_t now,
			       const struct bl_rule *after);
int  bl_load(struct list *rules, const struct sbc_conf *conf);
const char *bl_action_name(enum bl_action a);

#endif
