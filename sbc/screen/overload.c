/*
 * overload.c: overload control.  When the UDP receive queues fill faster
 * than sbcd drains them, every caller would see its requests delayed past
 * their retransmission timers and the retransmissions would add more load
 * still (the collapse of a plain SIP proxy past its maximum).  Instead,
 * while a queue is over its mark, new calls get a cheap 503 with
 * Retry-After (the caller's switch route-advances) and calls in progress
 * and emergency calls go on being served.
 *
 * Overload is both signs at once, over two intervals in a row: the
 * daemon's CPU near a full core (it cannot go faster) and a receive queue
 * building up (work arrives faster).  Either alone is normal: a busy but
 * keeping-up proxy, or a burst the next milliseconds will drain; so is
 * one interval of both (a burst of transactions ending together, 32 s
 * after a burst of calls), which is why one look is not enough: turning
 * calls away for a spike the queue absorbs costs calls for nothing.
 * It ends once a look finds the queue under half its mark or the CPU
 * under its own, at least OVERLOAD_HOLD_MS after it began.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <linux/sock_diag.h>
#include "sbc.h"

enum { OVERLOAD_LOOKS = 2, OVERLOAD_HOLD_MS = 500 };

static uint32_t queue_pct(int fd)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &len) < 0
	    || !mi[SK_MEMINFO_RCVBUF])
		return 0;
	return (uint32_t)((uint64_t)mi[SK_MEMINFO_RMEM_ALLOC] * 100
			  / mi[SK_MEMINFO_RCVBUF]);
}

static uint64_t cpu_us(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000
		+ (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* Percent of one core used since the last look. */
static uint32_t cpu_pct(struct overload *ov)
{
	const uint64_t now = tmr_jiffies(), cpu = cpu_us();
	uint32_t pct = 0;

	if (ov->last_ms && now > ov->last_ms)
		pct = (uint32_t)((cpu - ov->last_cpu) / 10 / (now - ov->last_ms));
	ov->last_ms = now;
	ov->last_cpu = cpu;
	return pct;
}

static void check(void *arg)
{
	struct sbc *sbc = arg;
	struct overload *ov = &sbc->overload;
	uint32_t pct = 0, cpu = cpu_pct(ov);

	for (int i = 0; i < SIDE_COUNT; i++)
		pct = MAX(pct, queue_pct(sbc->side[i].udp_fd));

	if (pct >= sbc->conf->overload_queue
	    && cpu >= sbc->conf->overload_cpu) {
		if (!ov->active && ++ov->over >= OVERLOAD_LOOKS) {
			LOGW(sbc, "overload: CPU %u%%, UDP receive queue %u%% "
			     "full: new calls get 503", cpu, pct);
			ov->active = true;
		}
		ov->until = tmr_jiffies() + OVERLOAD_HOLD_MS;
	}
	else {
		ov->over = 0;
		if (ov->active && tmr_jiffies() >= ov->until
		    && (pct < sbc->conf->overload_queue / 2
			|| cpu < sbc->conf->overload_cpu)) {
			ov->active = false;
			LOGW(sbc, "overload over: %llu new calls were "
			     "refused", (unsigned long long)ov->refused);
		}
	}
	tmr_start(&ov->tmr, sbc->conf->overload_interval, check, sbc);
}

void overload_init(struct sbc *sbc)
{
	tmr_init(&sbc->overload.tmr);
	if (!sbc->conf->overload_queue)
		return;
	tmr_start(&sbc->overload.tmr, sbc->conf->overload_interval, check,
		  sbc);
}

void overload_close(struct sbc *sbc)
{
	tmr_cancel(&sbc->overload.tmr);
}

/* Whether this request is turned away: only new calls, never emergency
 * calls nor anything inside a dialog. */
bool overload_refuse(struct req_ctx *ctx)
{
	struct overload *ov = &ctx->sbc->overload;

	if (!ov->active || ctx->has_totag || ctx->emergency
	    || pl_strcmp(&ctx->msg->met, "INVITE"))
		return false;
	++ov->refused;
	return true;
}
