/*
 * test_store.c: shared state as records.  Counter, dialog and ban records
 * survive encode and decode unchanged, malformed ones are refused, and
 * applying records (what a standby will do) keeps the counts a local
 * node would have: up on a new call, down however it ends.  Bans made
 * here are published; a snapshot, a reset and the snapshot's records
 * applied again (a joining standby) give the same bans and user locks
 * back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "unit_util.h"
#include "blacklist.h"
#include "authguard.h"

static int setup(void **state)
{
	struct ufx *fx;

	if (libre_init() || ufx_setup(state))
		return -1;
	fx = *state;
	fx->sbc.conf->max_bindings = 2;
	fx->sbc.side[SIDE_ACCESS].udp_fd = -1;
	fx->sbc.conf->security_log = mem_deref(fx->sbc.conf->security_log);
	if (str_dup(&fx->sbc.conf->security_log, "/dev/null"))
		return -1;
	if (store_init(&fx->sbc.store, 64) || dialog_init(&fx->sbc)
	    || binding_init(&fx->sbc) || event_init(&fx->sbc)
	    || flood_init(&fx->sbc) || authguard_init(&fx->sbc))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	struct ufx *fx = *state;

	authguard_close(&fx->sbc);
	flood_close(&fx->sbc);
	event_close(&fx->sbc);
	dialog_close(&fx->sbc);
	binding_close(&fx->sbc);
	store_close(&fx->sbc.store);
	ufx_teardown(state);
	libre_close();
	return 0;
}

static int decode_str(struct store_ctr_rec *r, const char *s)
{
	struct pl pl;

	pl_set_str(&pl, s);
	return store_ctr_decode(r, &pl);
}

static void test_counter_records(void **state)
{
	struct ufx *fx = *state;
	struct store *st = &fx->sbc.store;
	struct store_ctr_rec r = {.delta = -3, .expires = 1795000000};
	struct store_ctr_rec d;
	struct mbuf *mb = mbuf_alloc(128);
	struct pl pl;
	int64_t v;

	assert_non_null(mb);
	pl_set_str(&r.key, "day:trunk:20261121:work");
	assert_int_equal(store_ctr_encode(mb, &r), 0);
	pl_set_mbuf(&pl, (mb->pos = 0, mb));
	assert_true(upl_eq(&pl, "ctr 1795000000 -3 day:trunk:20261121:work\n"));
	assert_int_equal(store_ctr_decode(&d, &pl), 0);
	assert_int_equal(d.delta, -3);
	assert_int_equal(d.expires, 1795000000);
	assert_true(upl_eq(&d.key, "day:trunk:20261121:work"));

	/* applied twice, locally and as received */
	assert_int_equal(store_ctr_add(st, "k", 5, 1795000000, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(decode_str(&d, "ctr 1795000001 -2 k"), 0);
	assert_int_equal(store_ctr_apply(st, &d, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(store_ctr_get(st, "k"), 3);
	assert_int_equal(store_ctr_get(st, "other"), 0);

	assert_int_equal(decode_str(&d, "ctr x 1 k"), EBADMSG);
	assert_int_equal(decode_str(&d, "ctr 1 1x k"), EBADMSG);
	assert_int_equal(decode_str(&d, "ctr 1 - k"), EBADMSG);
	assert_int_equal(decode_str(&d, "ctr 1 1"), EBADMSG);
	assert_int_equal(decode_str(&d, "ctr 1 9999999999999999999 k"),
			 EBADMSG);
	assert_int_equal(decode_str(&d, "dlg 1 1 k"), EBADMSG);
	mem_deref(mb);
}

static struct sip_msg *invite(const char *callid, const char *from,
			      const char *ftag, const char *ttag)
{
	char head[512];

	(void)re_snprintf(head, sizeof(head),
		"INVITE sip:0123@127.0.0.1 SIP/2.0\n"
		"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1\n"
		"From: <sip:%s@192.0.2.10>;tag=%s\n"
		"To: <sip:0123@127.0.0.1>%s%s\n"
		"Call-ID: %s\n"
		"CSeq: 1 INVITE\n"
		"Max-Forwards: 70\n"
		"Content-Length: 0\n", from, ftag, ttag ? ";tag=" : "",
		ttag ? ttag : "", callid);
	return umsg_decode(head, NULL);
}

static void test_dialog_records(void **state)
{
	struct ufx *fx = *state;
	struct dialog_rec r = {.state = DLG_CONFIRMED, .counted = true,
			       .emergency = true, .created = 1795000000};
	struct dialog_rec d;
	struct mbuf *mb = mbuf_alloc(256);
	struct pl pl;

	pl_set_str(&r.callid, "a84b4c76e66710@pc33.example.com");
	pl_set_str(&r.ftag, "1928301774");
	pl_set_str(&r.ttag, "a6c85cf");
	pl_set_str(&r.peer, "trunk");
	pl_set_str(&r.vias, "SIP/2.0/UDP 10.0.0.5;branch=z9hG4bKa%b");
	assert_int_equal(dialog_encode(mb, &r), 0);
	pl_set_mbuf(&pl, (mb->pos = 0, mb));
	assert_true(upl_eq(&pl, "dlg 1 3 1795000000 0 "
			   "a84b4c76e66710@pc33.example.com 1928301774 "
			   "a6c85cf trunk - - - - "
			   "SIP/2.0/UDP%2010.0.0.5;branch=z9hG4bKa%25b -\n"));
	assert_int_equal(dialog_decode(&d, &pl), 0);
	assert_int_equal(d.state, DLG_CONFIRMED);
	assert_true(d.counted);
	assert_true(d.emergency);
	assert_int_equal(d.created, 1795000000);
	assert_true(upl_eq(&d.callid, "a84b4c76e66710@pc33.example.com"));
	assert_true(upl_eq(&d.ftag, "1928301774"));
	assert_true(upl_eq(&d.ttag, "a6c85cf"));
	assert_true(upl_eq(&d.peer, "trunk"));
	assert_false(pl_isset(&d.from));

	assert_true(d.escaped);
	assert_true(upl_eq(&d.vias, "SIP/2.0/UDP%2010.0.0.5;branch=z9hG4bKa%25b"));

	/* the access party's flow and Contact */
	r.flow = true;
	r.ftp = SIP_TRANSP_TCP;
	assert_int_equal(sa_set_str(&r.faddr, "2001:db8::5", 40312), 0);
	pl_set_str(&r.acontact, "sip:pbx@10.1.1.1:5060;transport=tcp");
	pl_set_str(&r.vias, "");
	mb->pos = mb->end = 0;
	assert_int_equal(dialog_encode(mb, &r), 0);
	pl_set_mbuf(&pl, (mb->pos = 0, mb));
	assert_true(upl_eq(&pl, "dlg 1 3 1795000000 0 "
			   "a84b4c76e66710@pc33.example.com 1928301774 "
			   "a6c85cf trunk - tcp/[2001:db8::5]:40312 - - - "
			   "sip:pbx@10.1.1.1:5060;transport=tcp\n"));
	assert_int_equal(dialog_decode(&d, &pl), 0);
	assert_true(d.flow);
	assert_int_equal(d.ftp, SIP_TRANSP_TCP);
	assert_true(sa_cmp(&d.faddr, &r.faddr, SA_ALL));
	assert_true(upl_eq(&d.acontact, "sip:pbx@10.1.1.1:5060;transport=tcp"));
	pl_set_str(&pl, "dlg 1 1 1 0 c t - p f sctp/10.0.0.1:5 - - - -");
	assert_int_equal(dialog_decode(&d, &pl), EBADMSG);
	pl_set_str(&pl, "dlg 1 1 1 0 c t - p f udp/10.0.0.1 - - - -");
	assert_int_equal(dialog_decode(&d, &pl), EBADMSG);
	pl_set_str(&pl, "dlg 1 1 1 0 c t - p f udp10.0.0.1:5 - - - -");
	assert_int_equal(dialog_decode(&d, &pl), EBADMSG);

	pl_set_str(&pl, "dlg 1 8 1 1795000100 c t - p f - - - - -");     /* a subscription */
	assert_int_equal(dialog_decode(&d, &pl), 0);
	assert_true(d.sub);
	assert_false(d.counted);
	assert_int_equal(d.sub_expires, 1795000100);
	pl_set_str(&pl, "dlg 1 1 1 x c t - p f - - - - -");   /* SUBEXP */
	assert_int_equal(dialog_decode(&d, &pl), EBADMSG);
	pl_set_str(&pl, "dlg 1 16 1 0 c t - p f - - - - -");
	assert_int_equal(dialog_decode(&d, &pl), EBADMSG);
	pl_set_str(&pl, "dlg 1 1 1 0 c t - p f - - - - - extra");
	assert_int_equal(dialog_decode(&d, &pl), EBADMSG);
	pl_set_str(&pl, "dlg 1 1 1 0 c t - p f - - - -");
	assert_int_equal(dialog_decode(&d, &pl), EBADMSG);
	pl_set_str(&pl, "dlg 3 1 1 0 c t - p f - - - - -");
	assert_int_equal(dialog_decode(&d, &pl), EBADMSG);
	pl_set_str(&pl, "dlg 1 1 1 0 c t - p");
	assert_int_equal(dialog_decode(&d, &pl), EBADMSG);
	(void)fx;
	mem_deref(mb);
}

/* Local changes: two calls of one From user, one of another; the counts
 * follow a BYE from either side and an end before the answer. */
static void test_dialog_counts(void **state)
{
	struct ufx *fx = *state;
	struct sbc *sbc = &fx->sbc;
	struct conf_peer peer = {.name = "trunk"};
	struct dialog *d1, *d2, *d3;
	struct sip_msg *m;
	struct pl alice = PL("alice"), bob = PL("bob"), ttag;

	fx->ctx.sbc = sbc;
	fx->ctx.peer = &peer;

	m = invite("c1", "alice", "t1", NULL);
	fx->ctx.msg = m;
	assert_int_equal(dialog_open(&fx->ctx, true, &d1), 0);
	assert_int_equal(dialog_open(&fx->ctx, true, &d3), EALREADY);
	mem_deref(m);
	m = invite("c2", "alice", "t2", NULL);
	fx->ctx.msg = m;
	assert_int_equal(dialog_open(&fx->ctx, true, &d2), 0);
	mem_deref(m);
	m = invite("c3", "bob", "t3", NULL);
	fx->ctx.msg = m;
	assert_int_equal(dialog_open(&fx->ctx, true, &d3), 0);
	mem_deref(m);

	assert_int_equal(sbc->dialogs.n, 3);
	assert_int_equal(dialog_calls(sbc, "trunk", NULL), 3);
	assert_int_equal(dialog_calls(sbc, "trunk", &alice), 2);
	assert_int_equal(dialog_calls(sbc, "trunk", &bob), 1);

	pl_set_str(&ttag, "callee");
	dialog_confirm(d1, &ttag);
	assert_int_equal(d1->state, DLG_CONFIRMED);
	assert_string_equal(d1->ttag, "callee");

	/* a second fork's dialog (its 2xx, the caller's ACK and BYE to it)
	 * is not the call */
	m = invite("c1", "alice", "t1", "fork2");
	assert_true(dialog_of(sbc, m) == d1);
	assert_true(dialog_is_other_fork(d1, m));
	mem_deref(m);
	m = invite("c1", "0123", "fork2", "t1");
	assert_true(dialog_is_other_fork(d1, m));
	mem_deref(m);
	m = invite("c1", "alice", "t1", "callee");
	assert_false(dialog_is_other_fork(d1, m));
	assert_true(upl_eq(dialog_callee_tag(d1, m), "callee"));
	mem_deref(m);

	/* the callee hangs up: the caller's tag is in To */
	m = invite("c1", "0123", "callee", "t1");
	fx->ctx.msg = m;
	dialog_end(dialog_of(sbc, m), "BYE");
	mem_deref(m);
	assert_int_equal(dialog_calls(sbc, "trunk", &alice), 1);

	/* a holder sees the end; ending twice changes nothing */
	mem_ref(d2);
	dialog_end(d2, "failure answer");
	assert_int_equal(d2->state, DLG_ENDED);
	dialog_end(d2, "again");
	mem_deref(d2);
	assert_int_equal(dialog_calls(sbc, "trunk", &alice), 0);
	assert_int_equal(dialog_calls(sbc, "trunk", NULL), 1);

	/* the caller hangs up */
	m = invite("c3", "bob", "t3", "callee");
	fx->ctx.msg = m;
	dialog_end(dialog_of(sbc, m), "BYE");
	mem_deref(m);
	assert_int_equal(dialog_calls(sbc, "trunk", NULL), 0);
	assert_int_equal(sbc->dialogs.n, 0);
}

/* Records applied as a standby would: the same counts. */
static void test_dialog_apply(void **state)
{
	struct ufx *fx = *state;
	struct sbc *sbc = &fx->sbc;
	struct dialog_rec r;
	struct dialog *d;
	struct pl pl;

	pl_set_str(&pl, "dlg 0 5 1795000000 0 cid tag - trunk carol "
		   "udp/192.0.2.7:40000 <sip:c@10.0.0.9> - "
		   "SIP/2.0/UDP%2010.0.0.5:5060%25x sip:pbx@10.1.1.1");
	assert_int_equal(dialog_decode(&r, &pl), 0);
	r.created = (uint64_t)time(NULL);
	assert_int_equal(dialog_apply(sbc, &r, &d), 0);
	assert_non_null(d);
	assert_true(d->hidden);
	assert_string_equal(d->target, "<sip:c@10.0.0.9>");
	assert_null(d->routes);
	assert_string_equal(d->vias, "SIP/2.0/UDP 10.0.0.5:5060%x");
	assert_true(d->flow);
	assert_int_equal(d->ftp, SIP_TRANSP_UDP);
	assert_int_equal(sa_port(&d->faddr), 40000);
	assert_string_equal(d->acontact, "sip:pbx@10.1.1.1");
	r.state = DLG_CONFIRMED;
	assert_int_equal(dialog_apply(sbc, &r, &d), 0);
	assert_int_equal(d->state, DLG_CONFIRMED);
	assert_int_equal(sbc->dialogs.n, 1);
	assert_int_equal(dialog_calls(sbc, "trunk", &r.from), 1);
	r.state = DLG_ENDED;
	assert_int_equal(dialog_apply(sbc, &r, NULL), 0);
	assert_int_equal(dialog_apply(sbc, &r, NULL), ENOENT);
	assert_int_equal(dialog_calls(sbc, "trunk", NULL), 0);

	/* the table is bounded */
	sbc->conf->max_dialogs = 1;
	r.state = DLG_EARLY;
	assert_int_equal(dialog_apply(sbc, &r, NULL), 0);
	pl_set_str(&r.callid, "other");
	assert_int_equal(dialog_apply(sbc, &r, NULL), ENOSPC);
}

/* Run-time blacklist rules: the record of an add carries a value with
 * spaces; applying it twice is refused; del removes it. */
static void test_blacklist_records(void **state)
{
	struct list rules = LIST_INIT;
	struct bl_rec r = {.add = true, .expires = 1795000000}, d;
	struct mbuf *mb = mbuf_alloc(256);
	const char *why;
	struct pl pl;
	(void)state;

	pl_set_str(&r.name, "ua1");
	pl_set_str(&r.field, "user_agent");
	pl_set_str(&r.match, "substring");
	pl_set_str(&r.action, "403");
	pl_set_str(&r.value, "Evil Dialer 2.0");
	assert_int_equal(bl_rec_encode(mb, &r), 0);
	pl_set_mbuf(&pl, (mb->pos = 0, mb));
	assert_true(upl_eq(&pl, "bl add ua1 user_agent substring 403 "
			   "1795000000 Evil Dialer 2.0\n"));
	assert_int_equal(bl_rec_decode(&d, &pl), 0);
	assert_true(d.add);
	assert_true(upl_eq(&d.value, "Evil Dialer 2.0"));
	assert_int_equal(d.expires, 1795000000);

	assert_int_equal(bl_apply(&rules, &d, &why), 0);
	assert_int_equal(list_count(&rules), 1);
	assert_true(((struct bl_rule *)rules.head->data)->runtime);
	assert_int_equal(bl_apply(&rules, &d, &why), EEXIST);

	pl_set_str(&pl, "bl del ua1");
	assert_int_equal(bl_rec_decode(&d, &pl), 0);
	assert_false(d.add);
	assert_int_equal(bl_apply(&rules, &d, &why), 0);
	assert_int_equal(list_count(&rules), 0);
	assert_int_equal(bl_apply(&rules, &d, &why), ENOENT);

	pl_set_str(&pl, "bl add x source exact drop 0 not-an-ip");
	assert_int_equal(bl_rec_decode(&d, &pl), 0);
	assert_int_equal(bl_apply(&rules, &d, &why), EINVAL);
	pl_set_str(&pl, "bl add x source exact drop");
	assert_int_equal(bl_rec_decode(&d, &pl), EBADMSG);
	pl_set_str(&pl, "bl frob x");
	assert_int_equal(bl_rec_decode(&d, &pl), EBADMSG);
	list_flush(&rules);
	mem_deref(mb);
}

/* Bindings: a record round trip (IPv6 source), the lookup by flow, the
 * bound on their number, removal by a record with a past expiry. */
static void test_binding_records(void **state)
{
	struct ufx *fx = *state;
	struct sbc *sbc = &fx->sbc;
	struct binding_rec r = {.tp = SIP_TRANSP_TCP}, d;
	struct mbuf *mb = mbuf_alloc(256);
	struct sa other;
	struct pl pl;
	const uint64_t later = (uint64_t)time(NULL) + 600;

	assert_int_equal(sa_set_str(&r.src, "2001:db8::7", 40000), 0);
	r.expires = 1795000000;
	pl_set_str(&r.aor, "alice@example.net");
	pl_set_str(&r.contact, "sip:alice@192.168.1.20:5060;ob");
	assert_int_equal(binding_encode(mb, &r), 0);
	pl_set_mbuf(&pl, (mb->pos = 0, mb));
	assert_true(upl_eq(&pl, "bind 1795000000 tcp [2001:db8::7]:40000 "
			   "alice@example.net sip:alice@192.168.1.20:5060;ob\n"));
	assert_int_equal(binding_decode(&d, &pl), 0);
	assert_int_equal(d.tp, SIP_TRANSP_TCP);
	assert_true(sa_cmp(&d.src, &r.src, SA_ALL));
	assert_true(upl_eq(&d.contact, "sip:alice@192.168.1.20:5060;ob"));

	d.expires = later;
	assert_int_equal(binding_apply(sbc, &d), 0);
	assert_non_null(binding_of(sbc, SIP_TRANSP_TCP, &r.src));
	assert_null(binding_of(sbc, SIP_TRANSP_UDP, &r.src));
	assert_int_equal(sa_set_str(&other, "2001:db8::7", 40001), 0);
	assert_null(binding_of(sbc, SIP_TRANSP_TCP, &other));
	assert_string_equal(binding_of(sbc, SIP_TRANSP_TCP, &r.src)->peer.name,
			    "user:alice@example.net");

	/* at most max_bindings (2 here) */
	pl_set_str(&d.contact, "sip:alice@192.168.1.20:5062");
	assert_int_equal(binding_apply(sbc, &d), 0);
	pl_set_str(&d.contact, "sip:alice@192.168.1.20:5064");
	assert_int_equal(binding_apply(sbc, &d), ENOSPC);
	assert_int_equal(sbc->bindings.n, 2);

	d.expires = 1;              /* in the past: removed */
	assert_int_equal(binding_apply(sbc, &d), ENOENT);
	pl_set_str(&d.contact, "sip:alice@192.168.1.20:5062");
	assert_int_equal(binding_apply(sbc, &d), 0);
	assert_int_equal(sbc->bindings.n, 1);

	pl_set_str(&pl, "bind 1 sctp 192.0.2.1:5060 a b");
	assert_int_equal(binding_decode(&d, &pl), EBADMSG);
	pl_set_str(&pl, "bind 1 udp 192.0.2.1 a b");
	assert_int_equal(binding_decode(&d, &pl), EBADMSG);
	mem_deref(mb);
}

static int ban_str(struct flood_ban_rec *r, const char *s)
{
	struct pl pl;

	pl_set_str(&pl, s);
	return flood_ban_decode(r, &pl);
}

/* "ban UNTIL ADDR REASON" through state_apply, UNTIL from now. */
static int ban_line(struct sbc *sbc, int64_t in, const char *addr,
		    const char *reason)
{
	char line[128];
	struct pl pl;
	uint64_t until = in ? (uint64_t)((int64_t)time(NULL) + in) : 0;

	(void)re_snprintf(line, sizeof(line), "ban %llu %s %s", until, addr,
			  reason);
	pl_set_str(&pl, line);
	return state_apply(sbc, &pl);
}

static bool banned(const struct sbc *sbc, const char *ip)
{
	struct sa sa;

	assert_int_equal(sa_set_str(&sa, ip, 40000), 0);
	return flood_banned(sbc, &sa);
}

/* What sbcctl bans lists, for comparisons. */
static void bans(char *buf, size_t sz, const struct sbc *sbc)
{
	assert_true(re_snprintf(buf, sz, "%H", flood_bans_print, sbc) >= 0);
}

/* The seconds left of ip's ban, as sbcctl bans lists them. */
static long remaining(const struct sbc *sbc, const char *ip)
{
	char buf[512], key[64];
	const char *p;

	bans(buf, sizeof(buf), sbc);
	(void)re_snprintf(key, sizeof(key), "%s remaining=", ip);
	p = strstr(buf, key);
	assert_non_null(p);
	return strtol(p + strlen(key), NULL, 10);
}

static void test_ban_records(void **state)
{
	struct flood_ban_rec r = {.until = 1795000000}, d;
	struct mbuf *mb = mbuf_alloc(128);
	struct pl pl;
	(void)state;

	assert_non_null(mb);
	assert_int_equal(sa_set_str(&r.addr, "192.0.2.10", 5060), 0);
	pl_set_str(&r.reason, "flood");
	assert_int_equal(flood_ban_encode(mb, &r), 0);
	pl_set_mbuf(&pl, (mb->pos = 0, mb));
	assert_true(upl_eq(&pl, "ban 1795000000 192.0.2.10 flood\n"));
	assert_int_equal(flood_ban_decode(&d, &pl), 0);
	assert_int_equal(d.until, 1795000000);
	assert_true(sa_cmp(&d.addr, &r.addr, SA_ADDR));
	assert_true(upl_eq(&d.reason, "flood"));

	mbuf_reset(mb);
	assert_int_equal(ban_str(&d, "ban 0 2001:db8::7 auth_guess"), 0);
	assert_int_equal(d.until, 0);
	assert_int_equal(flood_ban_encode(mb, &d), 0);
	pl_set_mbuf(&pl, (mb->pos = 0, mb));
	assert_true(upl_eq(&pl, "ban 0 2001:db8::7 auth_guess\n"));

	/* damaged: address, number, reason, fields */
	assert_int_equal(ban_str(&d, "ban 1 192.0.2.300 flood"), EBADMSG);
	assert_int_equal(ban_str(&d, "ban 1 192.0.2.10:5060 flood"), EBADMSG);
	assert_int_equal(ban_str(&d, "ban 1 [2001:db8::7] flood"), EBADMSG);
	assert_int_equal(ban_str(&d, "ban 1 0.0.0.0 flood"), EBADMSG);
	assert_int_equal(ban_str(&d, "ban 1 example.com flood"), EBADMSG);
	assert_int_equal(ban_str(&d, "ban 1 192.0.2.10000000000000000000000000"
				 "0000000000000000000000000000000000000000000"
				 " flood"), EBADMSG);
	assert_int_equal(ban_str(&d, "ban x 192.0.2.10 flood"), EBADMSG);
	assert_int_equal(ban_str(&d, "ban -1 192.0.2.10 flood"), EBADMSG);
	assert_int_equal(ban_str(&d, "ban 1x 192.0.2.10 flood"), EBADMSG);
	assert_int_equal(ban_str(&d, "ban 99999999999999999999 192.0.2.10 "
				 "flood"), EBADMSG);
	assert_int_equal(ban_str(&d, "ban 1 192.0.2.10 Flood"), EBADMSG);
	assert_int_equal(ban_str(&d, "ban 1 192.0.2.10 because"), EBADMSG);
	assert_int_equal(ban_str(&d, "ban 1 192.0.2.10 flood extra"), EBADMSG);
	assert_int_equal(ban_str(&d, "ban 1 192.0.2.10"), EBADMSG);
	assert_int_equal(ban_str(&d, "ban 1"), EBADMSG);
	assert_int_equal(ban_str(&d, "bl 1 192.0.2.10 flood"), EBADMSG);
	mem_deref(mb);
}

/* Records applied as a standby would; damaged ones never are. */
static void test_ban_apply(void **state)
{
	struct ufx *fx = *state;
	struct sbc *sbc = &fx->sbc;
	struct flood_ban_rec r;
	char buf[256];

	assert_int_equal(ban_line(sbc, 600, "192.0.2.10", "flood"), 0);
	assert_true(banned(sbc, "192.0.2.10"));      /* whatever the port */
	assert_false(banned(sbc, "192.0.2.11"));
	assert_in_range(remaining(sbc, "192.0.2.10"), 595, 600);
	bans(buf, sizeof(buf), sbc);
	assert_non_null(strstr(buf, "reason=flood"));

	/* a received ban replaces the one in place, reason included */
	assert_int_equal(ban_line(sbc, 60, "192.0.2.10", "auth_guess"), 0);
	assert_in_range(remaining(sbc, "192.0.2.10"), 55, 60);
	bans(buf, sizeof(buf), sbc);
	assert_non_null(strstr(buf, "reason=auth_guess"));

	/* damaged records change nothing */
	assert_int_equal(ban_line(sbc, 600, "192.0.2.300", "flood"), EBADMSG);
	assert_int_equal(ban_line(sbc, 600, "192.0.2.12", "other"), EBADMSG);
	assert_int_equal(ban_line(sbc, 600, "192.0.2.12 flood", "flood"),
			 EBADMSG);
	assert_false(banned(sbc, "192.0.2.12"));
	assert_int_equal(sbc->flood.nsrcs, 1);

	/* neither is an unknown reason applied past the decoder */
	assert_int_equal(ban_str(&r, "ban 1795000000 192.0.2.12 flood"), 0);
	r.until = (uint64_t)time(NULL) + 60;
	pl_set_str(&r.reason, "other");
	assert_int_equal(flood_ban_apply(sbc, &r), EBADMSG);
	assert_false(banned(sbc, "192.0.2.12"));

	/* a ban to the end of time does not wrap round to none */
	assert_int_equal(ban_str(&r, "ban 9999999999999999999 192.0.2.14 "
				 "flood"), 0);
	assert_int_equal(flood_ban_apply(sbc, &r), 0);
	assert_true(banned(sbc, "192.0.2.14"));
	assert_int_equal(ban_line(sbc, 0, "192.0.2.14", "flood"), 0);

	/* a ban already over is not applied */
	assert_int_equal(ban_line(sbc, -1, "192.0.2.13", "flood"), ENOENT);
	assert_int_equal(ban_line(sbc, 0, "192.0.2.13", "flood"), ENOENT);
	assert_false(banned(sbc, "192.0.2.13"));

	/* lifted by UNTIL 0, or by one already over */
	assert_int_equal(ban_line(sbc, 0, "192.0.2.10", "flood"), 0);
	assert_false(banned(sbc, "192.0.2.10"));
	assert_int_equal(ban_line(sbc, 0, "192.0.2.10", "flood"), ENOENT);
	assert_int_equal(ban_line(sbc, 600, "2001:db8::7", "flood"), 0);
	assert_true(banned(sbc, "2001:db8::7"));
	assert_int_equal(ban_line(sbc, -5, "2001:db8::7", "flood"), 0);
	assert_false(banned(sbc, "2001:db8::7"));
	bans(buf, sizeof(buf), sbc);
	assert_string_equal(buf, "");
}

static void capture(const struct mbuf *rec, void *arg)
{
	assert_int_equal(mbuf_write_mem(arg, rec->buf, rec->end), 0);
}

/* pub holds one ban record, for addr and reason, that ends secs after a
 * time in [t0, now]. */
static void published(struct mbuf *pub, const char *addr,
		      const char *reason, uint64_t t0, uint64_t secs)
{
	struct flood_ban_rec r;
	struct sa sa;
	struct pl pl;
	const uint64_t t1 = (uint64_t)time(NULL);

	pl_set_mbuf(&pl, (pub->pos = 0, pub));
	assert_ptr_equal(pl_strchr(&pl, '\n'), pl.p + pl.l - 1);
	assert_int_equal(flood_ban_decode(&r, &pl), 0);
	assert_int_equal(sa_set_str(&sa, addr, 0), 0);
	assert_true(sa_cmp(&r.addr, &sa, SA_ADDR));
	assert_true(upl_eq(&r.reason, reason));
	assert_in_range(r.until, secs ? t0 + secs : 0, secs ? t1 + secs : 0);
	mbuf_reset(pub);
}

/* Local bans (flooding, another reason, lifted) are applied and
 * published, each as one record. */
static void test_ban_local(void **state)
{
	struct ufx *fx = *state;
	struct sbc *sbc = &fx->sbc;
	struct mbuf *pub = mbuf_alloc(256);
	struct sa x, y;
	uint64_t now;

	assert_non_null(pub);
	sbc->store.publishh = capture;
	sbc->store.arg = pub;
	sbc->conf->flood_requests = 3;
	sbc->conf->flood_ban = 600;
	fx->msg = umsg_decode("OPTIONS sip:127.0.0.1 SIP/2.0\n"
			      "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bK1\n"
			      "From: <sip:x@192.0.2.30>;tag=1\n"
			      "To: <sip:127.0.0.1>\n"
			      "Call-ID: o1\nCSeq: 1 OPTIONS\n"
			      "Content-Length: 0\n", NULL);
	assert_non_null(fx->msg);
	assert_int_equal(sa_set_str(&fx->msg->src, "192.0.2.30", 5060), 0);
	fx->ctx.sbc = sbc;
	fx->ctx.in = &sbc->side[SIDE_ACCESS];
	fx->ctx.msg = fx->msg;

	now = (uint64_t)time(NULL);
	for (int i = 0; i < 3; i++)
		assert_false(flood_count(sbc, &fx->ctx));
	assert_int_equal(pub->end, 0);
	assert_true(flood_count(sbc, &fx->ctx));
	assert_true(banned(sbc, "192.0.2.30"));
	assert_true(flood_count(sbc, &fx->ctx));     /* published once */
	published(pub, "192.0.2.30", "flood", now, 600);

	/* another reason; a shorter one does not replace a longer ban */
	assert_int_equal(sa_set_str(&x, "2001:db8::9", 5060), 0);
	assert_int_equal(flood_ban(sbc, &x, 3600, "auth_guess"), 0);
	published(pub, "2001:db8::9", "auth_guess", now, 3600);
	assert_int_equal(flood_ban(sbc, &x, 60, "flood"), 0);
	assert_int_equal(pub->end, 0);

	/* lifted: published as UNTIL 0; lifting what is not banned is not */
	assert_true(flood_unban(sbc, &fx->msg->src));
	assert_false(banned(sbc, "192.0.2.30"));
	assert_false(flood_count(sbc, &fx->ctx));    /* counting anew */
	published(pub, "192.0.2.30", "flood", 0, 0);
	assert_int_equal(sa_set_str(&y, "192.0.2.31", 0), 0);
	assert_false(flood_unban(sbc, &y));
	assert_false(flood_unban(sbc, &fx->msg->src));
	assert_int_equal(pub->end, 0);

	/* a standby publishes nothing */
	sbc->store.role = STORE_STANDBY;
	assert_int_equal(flood_ban(sbc, &y, 60, "flood"), 0);
	assert_true(banned(sbc, "192.0.2.31"));
	assert_int_equal(pub->end, 0);
	sbc->store.publishh = NULL;
	mem_deref(pub);
}

static bool locked(const struct sbc *sbc, const char *name)
{
	struct pl pl;

	pl_set_str(&pl, name);
	return authguard_locked(sbc->authguard, &pl, tmr_jiffies());
}

/* What a joining standby does: the snapshot's every line applied after
 * a reset gives the same bans and locks back, and nothing else. */
static void test_snapshot_bans(void **state)
{
	struct ufx *fx = *state;
	struct sbc *sbc = &fx->sbc;
	struct mbuf *snap = mbuf_alloc(1024), *again = mbuf_alloc(1024);
	char buf[128];
	struct pl txt, line;
	unsigned n = 0;

	assert_non_null(snap);
	assert_non_null(again);
	assert_int_equal(ban_line(sbc, 600, "192.0.2.40", "flood"), 0);
	assert_int_equal(ban_line(sbc, 3600, "2001:db8::40", "auth_guess"), 0);
	assert_int_equal(ban_line(sbc, 60, "192.0.2.41", "flood"), 0);
	assert_int_equal(ban_line(sbc, 0, "192.0.2.41", "flood"), 0);
	(void)re_snprintf(buf, sizeof(buf), "ulock %llu b%%20ob",
			  (uint64_t)time(NULL) + 60);
	pl_set_str(&line, buf);
	assert_int_equal(state_apply(sbc, &line), 0);
	assert_true(locked(sbc, "b ob"));
	pl_set_str(&line, "ulock 1 carol");
	assert_int_equal(state_apply(sbc, &line), ENOENT);
	pl_set_str(&line, "ulock 1 carol x");
	assert_int_equal(state_apply(sbc, &line), EBADMSG);
	assert_false(locked(sbc, "carol"));

	assert_int_equal(state_snapshot(snap, sbc), 0);
	state_reset(sbc);
	assert_false(banned(sbc, "192.0.2.40"));
	assert_false(banned(sbc, "2001:db8::40"));
	assert_int_equal(sbc->flood.nsrcs, 0);
	assert_false(locked(sbc, "b ob"));

	pl_set_mbuf(&txt, (snap->pos = 0, snap));
	while (pl_isset(&txt)) {
		const char *nl = pl_strchr(&txt, '\n');

		assert_non_null(nl);
		line.p = txt.p;
		line.l = (size_t)(nl - txt.p);
		pl_advance(&txt, line.l + 1);
		assert_int_equal(state_apply(sbc, &line), 0);
		++n;
	}
	assert_int_equal(n, 3);
	assert_true(locked(sbc, "b ob"));
	assert_true(banned(sbc, "192.0.2.40"));
	assert_true(banned(sbc, "2001:db8::40"));
	assert_false(banned(sbc, "192.0.2.41"));
	/* the records carry the unix time: the same to the second */
	assert_int_equal(state_snapshot(again, sbc), 0);
	assert_int_equal(again->end, snap->end);
	assert_memory_equal(again->buf, snap->buf, snap->end);
	mem_deref(snap);
	mem_deref(again);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_counter_records),
		T(test_dialog_records),
		T(test_dialog_counts),
		T(test_dialog_apply),
		T(test_blacklist_records),
		T(test_binding_records),
		T(test_ban_records),
		T(test_ban_apply),
		T(test_ban_local),
		T(test_snapshot_bans),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
