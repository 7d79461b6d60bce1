/*
 * rand.c: libre's random numbers (Via branches, tags), interposed from the
 * executable like the timers.  libre 1.1.0 calls OpenSSL's RAND_bytes for
 * every 4 bytes; two calls per received message and more per forwarded
 * one cost a tenth of the proxy's CPU.  Here the same CSPRNG fills a
 * per-thread buffer 4 KB at a time and the values are served from it.
 */
#include <string.h>
#include <sys/random.h>
#include <openssl/rand.h>
#include <re.h>

/* Per thread, like libre's own state: each event loop thread keeps its
 * own buffer, so no lock is needed.  (Interposed functions have no
 * context argument: the one exception to the single struct sbc rule.) */
static __thread struct {
	uint8_t buf[4096];
	size_t pos;
	bool filled;
} rnd;

static void refill(void)
{
	if (RAND_bytes(rnd.buf, sizeof(rnd.buf)) != 1) {
		size_t n = 0;

		/* the kernel's CSPRNG, should OpenSSL ever fail */
		while (n < sizeof(rnd.buf)) {
			ssize_t r = getrandom(rnd.buf + n, sizeof(rnd.buf) - n,
					      0);
			if (r > 0)
				n += (size_t)r;
		}
	}
	rnd.pos = 0;
	rnd.filled = true;
}

static void take(void *p, size_t n)
{
	if (!rnd.filled || n > sizeof(rnd.buf) - rnd.pos)
		refill();
	memcpy(p, rnd.buf + rnd.pos, n);
	/* what was served is not kept around */
	memset(rnd.buf + rnd.pos, 0, n);
	rnd.pos += n;
}

uint16_t rand_u16(void)
{
	uint16_t v;

	take(&v, sizeof(v));
	return v;
}

uint32_t rand_u32(void)
{
	uint32_t v;

	take(&v, sizeof(v));
	return v;
}

uint64_t rand_u64(void)
{
	uint64_t v;

	take(&v, sizeof(v));
	return v;
}

void rand_bytes(uint8_t *p, size_t size)
{
	if (size > sizeof(rnd.buf) / 4) {
		if (RAND_bytes(p, (int)size) == 1)
			return;
	}
	while (size) {
		size_t n = size < 256 ? size : 256;

		take(p, n);
		p += n;
		size -= n;
	}
}
