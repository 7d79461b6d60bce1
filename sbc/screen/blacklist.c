/*
 * blacklist.c: the blacklist rules and their matching.  Rules come from
 * the built-in scanner signatures (scanner_signatures = yes), from the
 * [blacklist NAME] sections of the configuration and, with the control
 * socket, at run time with an expiry.  Strings match case-insensitively.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "sbc.h"
#include "blacklist.h"

/* Tools that only scan or brute-force SIP, and From probes of the kind
 * sipvicious sends; what real equipment may also send is log-only. */
static const struct {
	const char *name, *field, *match, *value, *action;
} builtinv[] = {
	{"ua-friendly-scanner", "user_agent", "substring", "friendly-scanner",
	 "drop"},
	{"ua-sipvicious", "user_agent", "substring", "sipvicious", "drop"},
	{"ua-sipcli", "user_agent", "substring", "sipcli", "drop"},
	{"ua-vaxsip", "user_agent", "substring", "VaxSIPUserAgent", "drop"},
	{"ua-simplesip", "user_agent", "substring", "SimpleSIP", "drop"},
	{"ua-sundayddr", "user_agent", "substring", "sundayddr", "drop"},
	{"ua-iwar", "user_agent", "prefix", "iWar", "drop"},
	{"ua-sipscan", "user_agent", "substring", "sip-scan", "drop"},
	{"ua-sipscan2", "user_agent", "substring", "SIPScan", "drop"},
	{"ua-pplsip", "user_agent", "substring", "pplsip", "drop"},
	{"ua-smap", "user_agent", "prefix", "smap", "drop"},
	{"dname-sipvicious", "display_name", "substring", "sipvicious",
	 "drop"},
	{"from-probe-1111", "from", "regex",
	 "sip:[^@>]*@1\\.1\\.1\\.1([:;>]|$)", "drop"},
	{"ua-fpbx", "user_agent", "prefix", "FPBX", "log"},
	{"ua-cisco-gw", "user_agent", "prefix", "Cisco-SIPGateway", "log"},
};

static void rule_destructor(void *arg)
{
	struct bl_rule *r = arg;

	list_unlink(&r->le);
	if (r->re_ok)
		regfree(&r->re);
	mem_deref(r->name);
	mem_deref(r->value);
}

const char *bl_action_name(enum bl_action a)
{
	switch (a) {
	case BL_DROP: return "drop";
	case BL_403:  return "403";
	default:      return "log";
	}
}

static const char *fieldv[] = {"source", "number", "from", "from_user",
			       "display_name", "user_agent"};
static const char *matchv[] = {"exact", "prefix", "substring", "regex"};

static int parse_field(const char *s, enum bl_field *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(fieldv); i++)
		if (!strcmp(s, fieldv[i])) {
			*f = (enum bl_field)i;
			return 0;
		}
	return EINVAL;
}

static int parse_match(const char *s, enum bl_match *m)
{
	for (size_t i = 0; i < ARRAY_SIZE(matchv); i++)
		if (!strcmp(s, matchv[i])) {
			*m = (enum bl_match)i;
			return 0;
		}
	return EINVAL;
}

static int parse_action(const char *s, enum bl_action *a)
{
	if (!strcmp(s, "drop"))
		*a = BL_DROP;
	else if (!strcmp(s, "403"))
		*a = BL_403;
	else if (!strcmp(s, "log"))
		*a = BL_LOG;
	else
		return EINVAL;
	return 0;
}

/* "" (never), unix seconds, or 2026-12-31T23:59:59Z */
static int parse_expires(const char *s, uint64_t *t)
{
	struct tm tm;
	char *end;

	*t = 0;
	if (!s || !*s)
		return 0;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end && !*end) {
		*t = (uint64_t)timegm(&tm);
		return 0;
	}
	*t = strtoull(s, &end, 10);
	return (*end || !*t) ? EINVAL : 0;
}

int bl_rule_alloc(struct bl_rule **rp, const char *name, const char *field,
		  const char *match, const char *value, const char *action,
		  const char *expires, const char **why)
{
	struct bl_rule *r;
	struct pl pl;
	int err;

	r = mem_zalloc(sizeof(*r), rule_destructor);
	if (!r)
		return ENOMEM;
	err = str_dup(&r->name, name);
	err = err ? err : str_dup(&r->value, value ? value : "");
	if (err)
		goto out;

	err = EINVAL;
	*why = "field: source, number, from, from_user, display_name or "
	       "user_agent";
	if (parse_field(field, &r->field))
		goto out;
	*why = "match: exact, prefix, substring or regex";
	if (parse_match(match, &r->match))
		goto out;
	*why = "action: drop, 403 or log";
	if (parse_action(action, &r->action))
		goto out;
	*why = "expires: unix seconds or YYYY-MM-DDTHH:MM:SSZ";
	if (parse_expires(expires, &r->expires))
		goto out;
	*why = "value: must not be empty";
	if (!r->value[0])
		goto out;
	if (r->field == BL_SOURCE) {
		*why = "value: an IP address or network (CIDR)";
		pl_set_str(&pl, r->value);
		err = conf_net_parse(&r->net, &pl);
		if (err)
			goto out;
	}
	else if (r->match == BL_REGEX) {
		*why = "value: a POSIX extended regular expression";
		if (regcomp(&r->re, r->value,
			    REG_EXTENDED | REG_ICASE | REG_NOSUB))
			goto out;
		r->re_ok = true;
	}
	err = 0;
 out:
	if (err)
		mem_deref(r);
	else
		*rp = r;
	return err;
}

static bool str_match(const struct bl_rule *r, const struct pl *pl)
{
	const size_t vl = strlen(r->value);
	char buf[1025];

	if (!pl || !pl->p)
		return false;
	switch (r->match) {
	case BL_EXACT:
		return pl->l == vl && !strncasecmp(pl->p, r->value, vl);
	case BL_PREFIX:
		return pl->l >= vl && !strncasecmp(pl->p, r->value, vl);
	case BL_SUBSTR:
		for (size_t i = 0; i + vl <= pl->l; i++)
			if (!strncasecmp(pl->p + i, r->value, vl))
				return true;
		return false;
	case BL_REGEX:
		if (pl->l >= sizeof(buf))
			return false;
		memcpy(buf, pl->p, pl->l);
		buf[pl->l] = '\0';
		return !regexec(&r->re, buf, 0, NULL, 0);
	}
	return false;
}

static bool rule_match(const struct bl_rule *r, const struct sip_msg *msg)
{
	const struct sip_hdr *ua;

	switch (r->field) {
	case BL_SOURCE:
		return conf_net_match(&r->net, &msg->src);
	case BL_NUMBER:
		return str_match(r, pl_strcasecmp(&msg->uri.scheme, "tel")
				 ? &msg->uri.user : &msg->uri.host);
	case BL_FROM:
		return str_match(r, &msg->from.val);
	case BL_FROM_USER:
		return str_match(r, &msg->from.uri.user);
	case BL_DISPLAY:
		return str_match(r, &msg->from.dname);
	case BL_UA:
		ua = sip_msg_hdr(msg, SIP_HDR_USER_AGENT);
		return ua && str_match(r, &ua->val);
	}
	return false;
}

/* The first rule after 'after' (NULL: from the start) that matches and
 * has not expired. */
const struct bl_rule *bl_match(const struct list *rules,
			       const struct sip_msg *msg, uint64_t now,
			       const struct bl_rule *after)
{
	struct le *le = after ? after->le.next : list_head(rules);

	for (; le; le = le->next) {
		const struct bl_rule *r = le->data;

		if (r->expires && r->expires <= now)
			continue;
		if (rule_match(r, msg))
			return r;
	}
	return NULL;
}

int bl_load(struct list *rules, const struct sbc_conf *conf)
{
	struct bl_rule *r;
	const char *why;
	int err;

	for (size_t i = 0; conf->scanner_signatures && i < ARRAY_SIZE(builtinv);
	     i++) {
		err = bl_rule_alloc(&r, builtinv[i].name, builtinv[i].field,
				    builtinv[i].match, builtinv[i].value,
				    builtinv[i].action, NULL, &why);
		if (err)
			return err;
		r->builtin = true;
		list_append(rules, &r->le, r);
	}
	for (struct le *le = conf->blacklistl.head; le; le = le->next) {
		const struct conf_blacklist *cb = le->data;

		err = bl_rule_alloc(&r, cb->name, cb->field, cb->match,
				    cb->value, cb->action, cb->expires, &why);
		if (err)
			return err;
		list_append(rules, &r->le, r);
	}
	return 0;
}

struct bl_rule *bl_find(const struct list *rules, const struct pl *name)
{
	for (struct le *le = rules->head; le; le = le->next) {
		struct bl_rule *r = le->data;

		if (!pl_strcmp(name, r->name))
			return r;
	}
	return NULL;
}

int bl_rec_encode(struct mbuf *mb, const struct bl_rec *r)
{
	if (!r->add)
		return mbuf_printf(mb, "bl del %r\n", &r->name);
	return mbuf_printf(mb, "bl add %r %r %r %r %llu %r\n", &r->name,
			   &r->field, &r->match, &r->action, r->expires,
			   &r->value);
}

/* Removes the rules added at run time: a standby about to take a new
 * snapshot. */
void bl_reset(struct list *rules)
{
	struct le *le = rules->head;

	while (le) {
		struct bl_rule *rule = le->data;

		le = le->next;
		if (rule->runtime)
			mem_deref(rule);
	}
}

/* The rules added at run time as the records that add them again
 * (state.c); the configured ones come from the configuration. */
int bl_save(struct mbuf *mb, const struct list *rules)
{
	int err = 0;

	for (struct le *le = rules->head; le && !err; le = le->next) {
		const struct bl_rule *rule = le->data;
		struct bl_rec r = {.add = true, .expires = rule->expires};

		if (!rule->runtime)
			continue;
		pl_set_str(&r.name, rule->name);
		pl_set_str(&r.field, fieldv[rule->field]);
		pl_set_str(&r.match, matchv[rule->match]);
		pl_set_str(&r.action, bl_action_name(rule->action));
		pl_set_str(&r.value, rule->value);
		err = bl_rec_encode(mb, &r);
	}
	return err;
}

int bl_rec_decode(struct bl_rec *r, const struct pl *txt)
{
	struct pl op, exp;

	memset(r, 0, sizeof(*r));
	if (re_regex(txt->p, txt->l, "bl [a-z]+ [^ \r\n]+", &op, &r->name))
		return EBADMSG;
	if (!pl_strcmp(&op, "del"))
		return 0;
	if (pl_strcmp(&op, "add")
	    || re_regex(txt->p, txt->l, "bl add [^ ]+ [^ ]+ [^ ]+ [^ ]+ "
			"[0-9]+ [^\r\n]+", NULL, &r->field, &r->match,
			&r->action, &exp, &r->value)
	    || exp.l > 19)
		return EBADMSG;
	r->add = true;
	r->expires = pl_u64(&exp);
	return 0;
}

/* The one place rules change at run time: rules added here are marked
 * run-time, so a reload of the file keeps them. */
int bl_apply(struct list *rules, const struct bl_rec *r, const char **why)
{
	char name[64], field[16], match[16], action[8], exp[24], value[1024];
	struct bl_rule *rule = bl_find(rules, &r->name);
	int err;

	*why = "";
	if (!r->add) {
		if (!rule)
			return ENOENT;      /* a file's rule is back on reload */
		mem_deref(rule);
		return 0;
	}
	if (rule) {
		*why = "name: a rule of that name exists";
		return EEXIST;
	}
	*why = "record: a field is too long";
	if (pl_strcpy(&r->name, name, sizeof(name))
	    || pl_strcpy(&r->field, field, sizeof(field))
	    || pl_strcpy(&r->match, match, sizeof(match))
	    || pl_strcpy(&r->action, action, sizeof(action))
	    || pl_strcpy(&r->value, value, sizeof(value)))
		return EINVAL;
	(void)re_snprintf(exp, sizeof(exp), "%llu", r->expires);
	err = bl_rule_alloc(&rule, name, field, match, value, action,
			    r->expires ? exp : NULL, why);
	if (err)
		return err;
	rule->runtime = true;
	list_append(rules, &rule->le, rule);
	return 0;
}
