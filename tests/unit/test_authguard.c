/*
 * test_authguard.c: password-guessing protection (sbc/screen/authguard.c).
 * The counting: per user and per source, the limit, the window, a success
 * resetting the user, case-insensitive users, bounded tables, the sweep.
 * The user locks as records: round trip, damaged ones refused, applied on
 * another clock, lifted, saved, reset.  Then the verdicts on registrar
 * answers in a struct sbc: which answers count (credentials offered, not
 * stale), the ban through flood.c, the lock, the events, the records
 * published.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "unit_util.h"
#include "authguard.h"

enum { LIMIT = 5, WINDOW = 60, T0 = 1000000, WALL = 1795000000 };

static struct sa addr(const char *ip)
{
	struct sa sa;

	assert_int_equal(sa_set_str(&sa, ip, 5060), 0);
	return sa;
}

static struct pl user(const char *u)
{
	struct pl pl;

	pl_set_str(&pl, u);
	return pl;
}

/* What the verdict does at the limit: a lock record for a window,
 * applied at now (ms) when the unix time is WALL. */
static void lock(struct authguard *ag, const char *name, uint64_t now)
{
	struct ag_lock_rec r = {.until = WALL + WINDOW};

	str_ncpy(r.user, name, sizeof(r.user));
	assert_int_equal(authguard_lock_apply(ag, &r, now, WALL), 0);
}

static void test_user_and_source(void **state)
{
	struct authguard *ag = NULL;
	struct pl bob = user("bob"), BOB = user("BOB");
	struct sa src = addr("192.0.2.10");
	(void)state;

	assert_int_equal(authguard_alloc(&ag, LIMIT, WINDOW, 1000), 0);
	for (int i = 1; i < LIMIT; i++)
		assert_int_equal(authguard_fail(ag, &bob, &src, T0 + i), 0);
	assert_false(authguard_locked(ag, &bob, T0 + LIMIT));
	/* the limit-th failure: user and source at their limit; the user
	 * part is compared without case; the lock is the record's */
	assert_int_equal(authguard_fail(ag, &BOB, &src, T0 + LIMIT),
			 AG_USER_LIMIT | AG_SRC_LIMIT);
	assert_false(authguard_locked(ag, &bob, T0 + LIMIT + 1));
	lock(ag, "bob", T0 + LIMIT);
	assert_true(authguard_locked(ag, &bob, T0 + LIMIT + 1));
	assert_true(authguard_locked(ag, &BOB, T0 + WINDOW * 1000));
	assert_false(authguard_locked(ag, &bob, T0 + LIMIT + WINDOW * 1000));
	assert_int_equal(authguard_users(ag), 1);
	assert_int_equal(authguard_srcs(ag), 1);
	mem_deref(ag);
}

static void test_per_source_and_per_user(void **state)
{
	struct authguard *ag = NULL;
	struct pl bob = user("bob");
	struct sa src = addr("192.0.2.10");
	char name[16], ip[32];
	unsigned v = 0;
	(void)state;

	assert_int_equal(authguard_alloc(&ag, LIMIT, WINDOW, 1000), 0);
	/* one source, a different user each time: the source is caught */
	for (int i = 1; i <= LIMIT; i++) {
		struct pl u;

		(void)re_snprintf(name, sizeof(name), "u%d", i);
		u = user(name);
		v = authguard_fail(ag, &u, &src, T0 + i);
		assert_int_equal(v, i < LIMIT ? 0 : AG_SRC_LIMIT);
	}
	/* one user, a different source each time: the user is caught */
	for (int i = 1; i <= LIMIT; i++) {
		struct sa s;

		(void)re_snprintf(ip, sizeof(ip), "198.51.100.%d", i);
		s = addr(ip);
		v = authguard_fail(ag, &bob, &s, T0 + i);
		assert_int_equal(v, i < LIMIT ? 0 : AG_USER_LIMIT);
	}
	mem_deref(ag);
}

static void test_success_and_window(void **state)
{
	struct authguard *ag = NULL;
	struct pl bob = user("bob");
	struct sa s1 = addr("192.0.2.10"), s2 = addr("192.0.2.11");
	uint64_t t = T0;
	(void)state;

	assert_int_equal(authguard_alloc(&ag, LIMIT, WINDOW, 1000), 0);
	/* a 200 in between resets the user (not the source) */
	for (int i = 1; i < LIMIT; i++)
		assert_int_equal(authguard_fail(ag, &bob, &s1, ++t), 0);
	authguard_success(ag, &bob);
	assert_int_equal(authguard_fail(ag, &bob, &s2, ++t), 0);
	assert_int_equal(authguard_fail(ag, &bob, &s1, ++t), AG_SRC_LIMIT);
	assert_false(authguard_locked(ag, &bob, t));

	/* failures older than the window are forgotten */
	for (int i = 3; i < LIMIT; i++)
		assert_int_equal(authguard_fail(ag, &bob, &s2, ++t), 0);
	t += WINDOW * 1000;
	assert_int_equal(authguard_fail(ag, &bob, &s2, t), 0);
	assert_false(authguard_locked(ag, &bob, t));

	/* and the sweep forgets whoever has been quiet for a window */
	authguard_sweep(ag, t + 1);
	assert_int_equal(authguard_users(ag), 1);     /* bob: failed at t */
	assert_int_equal(authguard_srcs(ag), 1);      /* s2 */
	authguard_sweep(ag, t + WINDOW * 1000);
	assert_int_equal(authguard_users(ag), 0);
	assert_int_equal(authguard_srcs(ag), 0);
	mem_deref(ag);
}

static void test_bounded_and_off(void **state)
{
	struct authguard *ag = NULL;
	struct pl a = user("a"), b = user("b"), none = PL_INIT;
	struct sa s1 = addr("192.0.2.10"), s2 = addr("192.0.2.11");
	(void)state;

	assert_int_equal(authguard_alloc(&ag, LIMIT, WINDOW, 1), 0);
	assert_int_equal(authguard_fail(ag, &a, &s1, T0), 0);
	assert_int_equal(authguard_fail(ag, &b, &s1, T0), AG_FULL);
	assert_int_equal(authguard_fail(ag, &a, &s2, T0), AG_FULL);
	/* no user part: the source alone counts */
	assert_int_equal(authguard_fail(ag, &none, &s1, T0), 0);
	assert_int_equal(authguard_users(ag), 1);
	assert_int_equal(authguard_srcs(ag), 1);
	mem_deref(ag);

	/* limit 0: nothing counted */
	assert_int_equal(authguard_alloc(&ag, 0, WINDOW, 10), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(authguard_fail(ag, &a, &s1, T0 + i), 0);
	assert_false(authguard_locked(ag, &a, T0 + 10));
	assert_int_equal(authguard_users(ag), 0);
	mem_deref(ag);
}

static int lock_str(struct ag_lock_rec *r, const char *s)
{
	struct pl pl;

	pl_set_str(&pl, s);
	return authguard_lock_decode(r, &pl);
}

static void test_lock_records(void **state)
{
	struct ag_lock_rec r = {.until = WALL + 60}, d;
	struct mbuf *mb = mbuf_alloc(512);
	char line[512], name[AUTHGUARD_USER_MAX + 2];
	struct pl pl;
	(void)state;

	/* what would end the field or change its meaning is escaped */
	assert_non_null(mb);
	str_ncpy(r.user, "b%20 o\x01\xc3\xa9", sizeof(r.user));
	assert_int_equal(authguard_lock_encode(mb, &r), 0);
	pl_set_mbuf(&pl, (mb->pos = 0, mb));
	assert_true(upl_eq(&pl, "ulock 1795000060 b%2520%20o%01%C3%A9\n"));
	assert_int_equal(authguard_lock_decode(&d, &pl), 0);
	assert_int_equal(d.until, WALL + 60);
	assert_string_equal(d.user, r.user);
	assert_int_equal(lock_str(&d, "ulock 0 bob"), 0);
	assert_int_equal(d.until, 0);
	assert_string_equal(d.user, "bob");

	/* the longest name counted fits, one more does not */
	memset(name, 'a', AUTHGUARD_USER_MAX);
	name[AUTHGUARD_USER_MAX] = '\0';
	(void)re_snprintf(line, sizeof(line), "ulock 1 %s", name);
	assert_int_equal(lock_str(&d, line), 0);
	assert_string_equal(d.user, name);
	(void)re_snprintf(line, sizeof(line), "ulock 1 %sa", name);
	assert_int_equal(lock_str(&d, line), EBADMSG);
	(void)re_snprintf(line, sizeof(line), "ulock 1 %s%%61", name);
	assert_int_equal(lock_str(&d, line), EBADMSG);

	/* damaged */
	assert_int_equal(lock_str(&d, "ulock x bob"), EBADMSG);
	assert_int_equal(lock_str(&d, "ulock -1 bob"), EBADMSG);
	assert_int_equal(lock_str(&d, "ulock 99999999999999999999 bob"),
			 EBADMSG);
	assert_int_equal(lock_str(&d, "ulock 1"), EBADMSG);
	assert_int_equal(lock_str(&d, "ulock 1 bob extra"), EBADMSG);
	assert_int_equal(lock_str(&d, "ulock 1 bob%2"), EBADMSG);
	assert_int_equal(lock_str(&d, "ulock 1 b%zzob"), EBADMSG);
	assert_int_equal(lock_str(&d, "ulock 1 b%00ob"), EBADMSG);
	assert_int_equal(lock_str(&d, "ulock 1 b\x01ob"), EBADMSG);
	assert_int_equal(lock_str(&d, "ulock 1 b\xc3\xa9"), EBADMSG);
	assert_int_equal(lock_str(&d, "lock 1 bob"), EBADMSG);
	assert_int_equal(lock_str(&d, "ban 1 bob"), EBADMSG);
	mem_deref(mb);
}

/* Locks applied on a node whose clock reads otherwise: they end at the
 * record's unix time; saved, reset and applied again, the same. */
static void test_lock_apply(void **state)
{
	struct authguard *ag = NULL;
	struct ag_lock_rec r;
	struct mbuf *mb = mbuf_alloc(256), *again = mbuf_alloc(256);
	struct pl bob = user("bob"), BOB = user("BOB"), ann = user("ann");
	(void)state;

	assert_non_null(mb);
	assert_non_null(again);
	assert_int_equal(authguard_alloc(&ag, LIMIT, WINDOW, 2), 0);
	assert_int_equal(lock_str(&r, "ulock 1795000060 bob"), 0);
	assert_int_equal(authguard_lock_apply(ag, &r, 2 * T0, WALL), 0);
	assert_true(authguard_locked(ag, &BOB, 2 * T0));
	assert_true(authguard_locked(ag, &bob, 2 * T0 + 59999));
	assert_false(authguard_locked(ag, &bob, 2 * T0 + 60000));
	assert_false(authguard_locked(ag, &ann, 2 * T0));

	/* over already: not applied */
	assert_int_equal(lock_str(&r, "ulock 1795000000 ann"), 0);
	assert_int_equal(authguard_lock_apply(ag, &r, 2 * T0, WALL), ENOENT);
	assert_int_equal(lock_str(&r, "ulock 0 ann"), 0);
	assert_int_equal(authguard_lock_apply(ag, &r, 2 * T0, WALL), ENOENT);
	assert_false(authguard_locked(ag, &ann, 2 * T0));
	assert_int_equal(authguard_users(ag), 1);

	/* the live locks saved, forgotten, applied again */
	assert_int_equal(authguard_save(mb, ag, 2 * T0), 0);
	assert_true(upl_eq(&(struct pl){(const char *)mb->buf, mb->end},
			   "ulock 1795000060 bob\n"));
	authguard_reset(ag);
	assert_false(authguard_locked(ag, &bob, 2 * T0));
	assert_int_equal(authguard_users(ag), 0);
	assert_int_equal(authguard_lock_decode(&r, &(struct pl){
		(const char *)mb->buf, mb->end}), 0);
	assert_int_equal(authguard_lock_apply(ag, &r, 3 * T0, WALL + 30), 0);
	assert_true(authguard_locked(ag, &bob, 3 * T0 + 29999));
	assert_false(authguard_locked(ag, &bob, 3 * T0 + 30000));
	assert_int_equal(authguard_save(again, ag, 3 * T0), 0);
	assert_int_equal(again->end, mb->end);
	assert_memory_equal(again->buf, mb->buf, mb->end);
	mbuf_reset(again);
	assert_int_equal(authguard_save(again, ag, 3 * T0 + 30000), 0);
	assert_int_equal(again->end, 0);

	/* lifted; bounded; a lock to the end of time does not wrap */
	assert_int_equal(lock_str(&r, "ulock 0 Bob"), 0);
	assert_int_equal(authguard_lock_apply(ag, &r, 3 * T0, WALL), 0);
	assert_false(authguard_locked(ag, &bob, 3 * T0));
	assert_int_equal(authguard_lock_apply(ag, &r, 3 * T0, WALL), ENOENT);
	assert_int_equal(lock_str(&r, "ulock 9999999999999999999 ann"), 0);
	assert_int_equal(authguard_lock_apply(ag, &r, 3 * T0, WALL), 0);
	assert_true(authguard_locked(ag, &ann, 3 * T0));
	assert_int_equal(lock_str(&r, "ulock 1795000060 carol"), 0);
	assert_int_equal(authguard_lock_apply(ag, &r, 3 * T0, WALL), ENOSPC);
	mem_deref(mb);
	mem_deref(again);
	mem_deref(ag);
}

/* ---- verdicts on registrar answers, in a struct sbc ---- */

#define REG(user, extra) \
	"REGISTER sip:example.com SIP/2.0\n" \
	"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-a1\n" \
	"From: <sip:" user "@example.com>;tag=f1\n" \
	"To: <sip:" user "@example.com>\n" \
	"Call-ID: a1@192.0.2.10\nCSeq: 2 REGISTER\nMax-Forwards: 70\n" \
	"Contact: <sip:" user "@192.0.2.10>\n" extra "Content-Length: 0\n"
#define CRED "Authorization: Digest username=\"bob\", realm=\"example.com\"," \
	" nonce=\"n\", uri=\"sip:example.com\", response=\"00\"\n"
#define RSP(code, extra) \
	"SIP/2.0 " code "\n" \
	"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-a1\n" \
	"From: <sip:bob@example.com>;tag=f1\n" \
	"To: <sip:bob@example.com>;tag=t1\n" \
	"Call-ID: a1@192.0.2.10\nCSeq: 2 REGISTER\n" extra "Content-Length: 0\n"
#define CHAL(stale) "WWW-Authenticate: Digest realm=\"example.com\", " \
	"nonce=\"n2\"" stale "\n"

struct gfx {
	struct sbc sbc;
	struct mbuf *pub;           /* the records published */
};

static void capture(const struct mbuf *rec, void *arg)
{
	assert_int_equal(mbuf_write_mem(arg, rec->buf, rec->end), 0);
}

static int gfx_setup(void **state)
{
	struct gfx *fx = mem_zalloc(sizeof(*fx), NULL);

	if (!fx || usbc_init(&fx->sbc))
		return -1;
	fx->sbc.conf->auth_fail_limit = 3;
	fx->sbc.conf->auth_fail_window = 60;
	fx->sbc.conf->auth_fail_ban = 600;
	fx->sbc.side[SIDE_ACCESS].udp_fd = -1;
	fx->sbc.conf->security_log = mem_deref(fx->sbc.conf->security_log);
	if (str_dup(&fx->sbc.conf->security_log, "/dev/null"))
		return -1;
	if (event_init(&fx->sbc) || flood_init(&fx->sbc)
	    || authguard_init(&fx->sbc))
		return -1;
	fx->pub = mbuf_alloc(256);
	if (!fx->pub)
		return -1;
	fx->sbc.store.publishh = capture;
	fx->sbc.store.arg = fx->pub;
	*state = fx;
	return 0;
}

static int gfx_teardown(void **state)
{
	struct gfx *fx = *state;

	authguard_close(&fx->sbc);
	flood_close(&fx->sbc);
	event_close(&fx->sbc);
	usbc_close(&fx->sbc);
	mem_deref(fx->pub);
	mem_deref(fx);
	return 0;
}

/* The registrar answered rsp to req from src. */
static void answer(struct gfx *fx, const char *src, const char *req,
		   const char *rsp)
{
	struct sip_msg *q = umsg_decode(req, NULL);
	struct sip_msg *r = umsg_decode(rsp, NULL);

	assert_non_null(q);
	assert_non_null(r);
	assert_int_equal(sa_set_str(&q->src, src, 5060), 0);
	authguard_result(&fx->sbc, q, r);
	mem_deref(q);
	mem_deref(r);
}

static bool screened(struct gfx *fx, const char *src, const char *req)
{
	struct sip_msg *q = umsg_decode(req, NULL);
	struct req_ctx ctx = {
		.sbc = &fx->sbc,
		.in = &fx->sbc.side[SIDE_ACCESS],
	};
	bool drop;

	assert_non_null(q);
	assert_int_equal(sa_set_str(&q->src, src, 5060), 0);
	ctx.msg = q;
	drop = authguard_screen(&ctx);
	mem_deref(q);
	return drop;
}

static void test_verdicts(void **state)
{
	struct gfx *fx = *state;
	struct sbc *sbc = &fx->sbc;
	struct sa s1 = addr("192.0.2.10");
	struct pl bob = user("bob"), pl, lu, bu;

	/* what does not count: the first challenge, a stale nonce, a 404,
	 * and a 200 resets */
	for (int i = 0; i < 5; i++) {
		answer(fx, "192.0.2.10", REG("bob", ""),
		       RSP("401 Unauthorized", CHAL("")));
		answer(fx, "192.0.2.10", REG("bob", CRED),
		       RSP("401 Unauthorized", CHAL(", stale=TRUE")));
		answer(fx, "192.0.2.10", REG("bob", CRED),
		       RSP("404 Not Found", ""));
	}
	assert_null(authguard_user_find(sbc->authguard, &bob));
	answer(fx, "192.0.2.20", REG("bob", CRED),
	       RSP("401 Unauthorized", CHAL("")));
	assert_int_equal(authguard_user_find(sbc->authguard, &bob)->fails, 1);
	answer(fx, "192.0.2.20", REG("bob", CRED), RSP("200 OK", ""));
	assert_int_equal(authguard_user_find(sbc->authguard, &bob)->fails, 0);
	assert_false(flood_banned(sbc, &s1));

	/* a wrong password (401 again, 407, 403) counts: at 3 the source
	 * is banned and the user locked */
	answer(fx, "192.0.2.10", REG("bob", CRED),
	       RSP("401 Unauthorized", CHAL(", stale=false")));
	answer(fx, "192.0.2.10", REG("bob", CRED),
	       RSP("407 Proxy Authentication Required", ""));
	assert_false(flood_banned(sbc, &s1));
	assert_false(screened(fx, "192.0.2.99", REG("bob", "")));
	answer(fx, "192.0.2.10", REG("bob", CRED),
	       RSP("403 Forbidden", ""));
	assert_true(flood_banned(sbc, &s1));
	assert_int_equal(event_count(sbc, "auth_guess", "ban"), 1);
	assert_int_equal(event_count(sbc, "auth_guess", "lock"), 1);

	/* both went out as records: the lock for auth_fail_window, the ban
	 * for auth_fail_ban */
	pl_set_mbuf(&pl, (fx->pub->pos = 0, fx->pub));
	assert_int_equal(re_regex(pl.p, pl.l, "ulock [0-9]+ bob\nban [0-9]+ "
				  "192.0.2.10 auth_guess\n", &lu, &bu), 0);
	assert_in_range(pl_u64(&bu) - pl_u64(&lu), 600 - 60, 600 - 60 + 1);
	assert_ptr_equal(pl.p, lu.p - strlen("ulock "));
	assert_ptr_equal(pl.p + pl.l, bu.p + bu.l
			 + strlen(" 192.0.2.10 auth_guess\n"));
	mbuf_reset(fx->pub);

	/* bob's REGISTERs from anywhere are dropped, others' are not */
	assert_true(screened(fx, "192.0.2.99", REG("bob", "")));
	assert_true(screened(fx, "192.0.2.99", REG("BOB", CRED)));
	assert_false(screened(fx, "192.0.2.99", REG("carol", "")));
	assert_int_equal(event_count(sbc, "auth_guess", "drop"), 2);

	/* the ban is a flood.c ban: it can be lifted, on every node */
	assert_true(flood_unban(sbc, &s1));
	assert_false(flood_banned(sbc, &s1));
	pl_set_mbuf(&pl, (fx->pub->pos = 0, fx->pub));
	assert_true(upl_eq(&pl, "ban 0 192.0.2.10 auth_guess\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_and_source),
		cmocka_unit_test(test_per_source_and_per_user),
		cmocka_unit_test(test_success_and_window),
		cmocka_unit_test(test_bounded_and_off),
		cmocka_unit_test(test_lock_records),
		cmocka_unit_test(test_lock_apply),
		cmocka_unit_test_setup_teardown(test_verdicts, gfx_setup,
						gfx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
