/*
 * state.c: the shared state as records.  state_snapshot() writes every
 * piece of it (calls, their media sessions and what their BYEs need,
 * counters, bindings, the blacklist rules added at run time, bans and
 * user locks) in the store's record format, one record a line, and
 * state_apply() applies one line through the kind's one apply function.
 * A clean stop writes the snapshot to state_file and the next start
 * reads it back, so that the calls of a standalone node keep their media
 * (the same ports, latched), their counters and their BYE across an
 * upgrade, and a banned source or a locked user stays so; a joining
 * standby receives the same snapshot over the cluster (cluster/).  The
 * file is removed once read: after a crash, a stale file must not bring
 * back calls that ended meanwhile.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "sbc.h"
#include "relay.h"
#include "blacklist.h"
#include "authguard.h"

enum { STATE_MAX = 256 << 20 };     /* bytes read at most */

static bool save_media_h(struct le *le, void *arg)
{
	const struct dialog *d = le->data;

	return media_save(arg, d) != 0;
}

static int write_file(const char *file, const struct mbuf *mb)
{
	char tmp[512];
	FILE *f;
	int err = 0;

	if (re_snprintf(tmp, sizeof(tmp), "%s.new", file) < 0)
		return ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return errno;
	if (fwrite(mb->buf, 1, mb->end, f) != mb->end)
		err = EIO;
	if (fclose(f) && !err)
		err = errno;
	if (!err && rename(tmp, file))
		err = errno;
	if (err)
		(void)unlink(tmp);
	return err;
}

/* Every piece of shared state as records, one a line: what state_file
 * keeps and what a joining standby receives (cluster/), one code path so
 * that neither can forget a kind of record.  Media sessions come first:
 * a call adopts the session of its Call-ID. */
int state_snapshot(struct mbuf *mb, const struct sbc *sbc)
{
	int err;

	err = hash_apply(sbc->dialogs.ht, save_media_h, mb) ? ENOMEM : 0;
	err = err ? err : dialog_save(mb, sbc);
	err = err ? err : dialog_msgs_save(mb, sbc);
	err = err ? err : store_save(mb, &sbc->store);
	err = err ? err : binding_save(mb, sbc);
	err = err ? err : bl_save(mb, &sbc->blacklist);
	err = err ? err : flood_save(mb, sbc);
	err = err ? err : authguard_save(mb, sbc->authguard, tmr_jiffies());
	return err;
}

int state_save(struct sbc *sbc)
{
	const char *file = sbc->conf->state_file;
	struct mbuf *mb;
	int err;

	if (!file || !file[0])
		return 0;
	mb = mbuf_alloc(65536);
	if (!mb)
		return ENOMEM;
	err = state_snapshot(mb, sbc);
	err = err ? err : write_file(file, mb);
	if (err)
		LOGE(sbc, "state: cannot write %s: %m", file, err);
	else
		LOGI(sbc, "state: %u calls written to %s", sbc->dialogs.n,
		     file);
	mem_deref(mb);
	return err;
}

static bool is_type(const struct pl *line, const char *type)
{
	const size_t n = strlen(type);

	return line->l > n && !memcmp(line->p, type, n) && line->p[n] == ' ';
}

/* One record, by its type (the first word): EBADMSG for a damaged or
 * unknown one, which is never applied. */
int state_apply(struct sbc *sbc, const struct pl *line)
{
	int err;

	if (is_type(line, "med")) {
		struct media_rec r;

		err = media_decode(&r, line);
		return err ? err : media_rec_apply(sbc, &r);
	}
	if (is_type(line, "dlg")) {
		struct dialog_rec r;
		struct dialog *d;

		err = dialog_decode(&r, line);
		err = err ? err : dialog_apply(sbc, &r, &d);
		/* an ended call comes back as NULL */
		if (!err && d && sbc->media && media_adopt(sbc, d) == ENOMEM)
			err = ENOMEM;
		return err;
	}
	if (is_type(line, "dmsg"))
		return dialog_msgs_apply(sbc, line);
	if (is_type(line, "dcsq"))
		return dialog_cseq_apply(sbc, line);
	if (is_type(line, "ctr")) {
		struct store_ctr_rec r;

		err = store_ctr_decode(&r, line);
		return err ? err : store_ctr_apply(&sbc->store, &r, NULL);
	}
	if (is_type(line, "bl")) {
		struct bl_rec r;
		const char *why = NULL;

		err = bl_rec_decode(&r, line);
		return err ? err : bl_apply(&sbc->blacklist, &r, &why);
	}
	if (is_type(line, "bind")) {
		struct binding_rec r;

		err = binding_decode(&r, line);
		return err ? err : binding_apply(sbc, &r);
	}
	if (is_type(line, "ban")) {
		struct flood_ban_rec r;

		err = flood_ban_decode(&r, line);
		return err ? err : flood_ban_apply(sbc, &r);
	}
	if (is_type(line, "ulock")) {
		struct ag_lock_rec r;

		err = authguard_lock_decode(&r, line);
		return err ? err : authguard_lock_apply(sbc->authguard, &r,
							tmr_jiffies(),
							(uint64_t)time(NULL));
	}
	return EBADMSG;
}

/* Forgets every piece of shared state, what the configuration made
 * aside: a standby about to take a new snapshot.  Calls go first, with
 * the media sessions they hold. */
void state_reset(struct sbc *sbc)
{
	dialog_reset(sbc);
	media_reset(sbc->media);
	binding_reset(sbc);
	store_reset(&sbc->store);
	bl_reset(&sbc->blacklist);
	flood_reset(sbc);
	authguard_reset(sbc->authguard);
}

/* A standby becomes the active: what it ran silently starts now.
 * Dialog timers that fell due meanwhile fire, media inactivity and
 * keep-alive judgement count from now (keepalive.c keeps its timers
 * running and only sends nothing while silent). */
void state_takeover(struct sbc *sbc)
{
	store_set_role(&sbc->store, STORE_ACTIVE);
	tmr_cancel(&sbc->media_drain_tmr);
	dialog_takeover(sbc);
	media_touch(sbc->media);
	media_set_silent(sbc->media, false);
}

/* This node becomes a standby: it applies what it is sent and sends
 * nothing, media included (store_silent() for the rest). */
void state_standby(struct sbc *sbc)
{
	store_set_role(&sbc->store, STORE_STANDBY);
	tmr_cancel(&sbc->media_drain_tmr);
	media_set_silent(sbc->media, true);
}

/* (state_takeover and state_standby cancel it: it ends only a drain) */
static void drain_end(void *arg)
{
	struct sbc *sbc = arg;

	media_set_silent(sbc->media, true);
}

/* The active steps down.  SIP stops at once; the media relay goes on
 * for cluster_media_drain ms: the calls' RTP reaches this node until its
 * service addresses leave it, which Pacemaker does after promoting the
 * new active (the README's recipe), and a relay that stopped at the
 * demotion would make the callers hear the whole switchover.  Packets
 * reach only the node holding the address, so the two never relay the
 * same stream; a standby publishes nothing, so the new active's state
 * is not disturbed. */
void state_demote(struct sbc *sbc)
{
	const uint32_t ms = sbc->conf->cluster_media_drain;

	store_set_role(&sbc->store, STORE_STANDBY);
	if (!ms) {
		state_standby(sbc);
		return;
	}
	tmr_start(&sbc->media_drain_tmr, ms, drain_end, sbc);
}

static int read_file(struct mbuf **mbp, const char *file)
{
	struct mbuf *mb = mbuf_alloc(65536);
	uint8_t buf[65536];
	FILE *f;
	size_t n;
	int err = 0;

	if (!mb)
		return ENOMEM;
	f = fopen(file, "r");
	if (!f) {
		err = errno;
		mem_deref(mb);
		return err;
	}
	while (!err && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		err = mb->end + n > STATE_MAX ? EFBIG
			: mbuf_write_mem(mb, buf, n);
	if (!err && ferror(f))
		err = EIO;
	(void)fclose(f);
	if (err) {
		mem_deref(mb);
		return err;
	}
	mb->pos = 0;
	*mbp = mb;
	return 0;
}

/* A record that does not apply is skipped with its line number; the
 * others still apply. */
int state_load(struct sbc *sbc)
{
	const char *file = sbc->conf->state_file;
	struct mbuf *mb;
	struct pl txt, line;
	unsigned n = 0, bad = 0;
	int err;

	if (!file || !file[0])
		return 0;
	err = read_file(&mb, file);
	if (err == ENOENT)
		return 0;
	if (err) {
		LOGE(sbc, "state: cannot read %s: %m", file, err);
		return err;
	}
	pl_set_mbuf(&txt, mb);
	while (pl_isset(&txt)) {
		const char *nl = pl_strchr(&txt, '\n');

		line.p = txt.p;
		line.l = nl ? (size_t)(nl - txt.p) : txt.l;
		pl_advance(&txt, nl ? line.l + 1 : line.l);
		++n;
		if (!line.l)
			continue;
		err = state_apply(sbc, &line);
		if (err) {
			++bad;
			LOGW(sbc, "state: %s:%u: record not restored: %m",
			     file, n, err);
		}
	}
	if (unlink(file))
		LOGW(sbc, "state: cannot remove %s: %m", file, errno);
	LOGI(sbc, "state: %u calls restored from %s (%u records skipped)",
	     sbc->dialogs.n, file, bad);
	mem_deref(mb);
	return 0;
}
