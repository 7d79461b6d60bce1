/*
 * regex.c: libre's re_regex(), interposed from the executable with the
 * same semantics but compiled patterns.
 *
 * libre parses every SIP header with re_regex(), whose engine re-reads the
 * pattern at every start position and scans character classes linearly
 * through tolower(): a fifth of the proxy's CPU per call.  Here a pattern
 * is compiled once (per thread, cached by address and checked by content)
 * into literals and classes held as 256-bit sets, and matched with the
 * same greedy, non-backtracking rules, the same quirks and the same
 * outputs, including those a failed start position leaves behind.
 * tests/unit/test_regex.c checks it against libre's own on a corpus and
 * on randomised patterns.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>

enum {
	MAX_CHR = 64,          /* class entries libre accepts */
	CACHE_SIZE = 2048,     /* slots for compiled patterns, per thread */
	FRONT_SIZE = 1024,     /* literal patterns looked up by address */
	MAX_PL = 32,           /* outputs kept on the stack; more: heap */
};

enum tok_type {
	T_LIT,                 /* one character, case-insensitive */
	T_CLASS,               /* [...] with a quantifier: an output */
	T_END,                 /* whole pattern matched: return code */
};

struct tok {
	uint8_t type;
	uint8_t c;
	bool neg;
	bool qesc;             /* '~': quoted strings and escapes pass */
	uint32_t nmin;
	uint32_t nmax;
	uint8_t set[32];
	int ret;               /* T_END */
};

struct prog {
	char *expr;            /* a copy, to check the cache hit */
	size_t len;
	uint32_t hash;
	struct tok *tokv;
	uint32_t ntok;
	uint32_t maxtok;
	uint32_t ncls;
};

/* Per thread, as libre runs one event loop per thread; interposed
 * functions have no context argument (the one exception to the single
 * struct sbc rule, like the timers). */
static __thread struct prog *cache[CACHE_SIZE];
static __thread uint32_t cache_n;

/* Patterns that are string literals, found by their address alone. */
static __thread struct front {
	const char *key;
	struct prog *pg;
} front[FRONT_SIZE];

/* Read-only mappings of the process when first asked (libre's and our
 * string literals); a library loaded later is simply not in the list. */
static struct {
	uintptr_t lo[64], hi[64];
	unsigned n;
} ro;
static pthread_once_t ro_once = PTHREAD_ONCE_INIT;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static inline uint8_t fold(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static void set_range(uint8_t *set, uint8_t min, uint8_t max)
{
	for (unsigned c = min; c <= max; c++)
		set[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static inline bool in_set(const uint8_t *set, uint8_t c)
{
	return set[c >> 3] & (1u << (c & 7));
}

struct chr {
	uint8_t min;
	uint8_t max;
};

static int emit(struct prog *pg, const struct tok *t)
{
	if (pg->ntok >= pg->maxtok)
		return E2BIG;
	pg->tokv[pg->ntok++] = *t;
	return 0;
}

static int emit_end(struct prog *pg, int ret)
{
	struct tok t = {.type = T_END, .ret = ret};

	return emit(pg, &t);
}

static int emit_class(struct prog *pg, const struct chr *chrv, uint32_t n,
		      bool neg, bool qesc, char q)
{
	struct tok t = {.type = T_CLASS, .neg = neg, .qesc = qesc};

	if (q == '*' || q == '+') {
		t.nmin = q == '+';
		t.nmax = UINT32_MAX;
	}
	else {
		t.nmin = t.nmax = (uint32_t)(q - '0');
	}
	for (uint32_t i = 0; i < n; i++)
		if (chrv[i].min <= chrv[i].max)
			set_range(t.set, chrv[i].min, chrv[i].max);
	++pg->ncls;
	return emit(pg, &t);
}

/* The pattern is read by the same state machine as libre's matcher, so
 * malformed patterns fail at the same place with the same code. */
static int compile(struct prog *pg, const char *expr)
{
	struct chr chrv[MAX_CHR];
	bool fm = false, ec = false, eesc = false, range = false;
	bool neg = false, qesc = false;
	uint32_t n = 0;
	const char *ep;
	int err = 0;

	for (ep = expr; *ep && !err; ep++) {
		const uint8_t c = (uint8_t)*ep;

		if (c == '\\' && !eesc) {
			eesc = true;
			continue;
		}
		if (!fm) {
			if (c == '[' && !eesc) {
				n = 0;
				fm = true;
				ec = neg = range = qesc = false;
				continue;
			}
			struct tok t = {.type = T_LIT, .c = fold(c)};

			err = emit(pg, &t);
			eesc = false;
			continue;
		}
		else if (ec) {
			if (c != '*' && c != '+' && !(c >= '1' && c <= '9'))
				return emit_end(pg, EINVAL);
			err = emit_class(pg, chrv, n, neg, qesc, (char)c);
			fm = false;
			eesc = false;
			continue;
		}
		if (eesc) {
			eesc = false;
			goto chr;
		}
		switch (c) {
		case ']':
			ec = true;
			continue;
		case '~':
			if (n)
				break;
			qesc = neg = true;
			continue;
		case '^':
			if (n)
				break;
			neg = true;
			continue;
		case '-':
			if (!n || range)
				break;
			range = true;
			--n;
			continue;
		default:
			break;
		}
	chr:
		if (n >= MAX_CHR)
			return emit_end(pg, EINVAL);
		chrv[n].max = fold(c);
		if (range)
			range = false;
		else
			chrv[n].min = fold(c);
		++n;
	}
	if (err)
		return err;
	return emit_end(pg, fm ? EINVAL : 0);
}

static void prog_free(struct prog *pg)
{
	if (!pg)
		return;
	free(pg->expr);
	free(pg->tokv);
	free(pg);
}

/* The compiled pattern, or NULL when out of memory. */
static void ro_init(void)
{
	char line[512];
	FILE *f;

	f = fopen("/proc/self/maps", "r");
	if (!f)
		return;
	while (ro.n < ARRAY_SIZE(ro.lo) && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[5];

		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3
		    && perms[0] == 'r' && perms[1] != 'w') {
			ro.lo[ro.n] = lo;
			ro.hi[ro.n++] = hi;
		}
	}
	fclose(f);
}

/* Whether a pattern lives in read-only memory: then its address alone
 * identifies it, its contents cannot change. */
static bool in_rodata(const void *ptr)
{
	const uintptr_t a = (uintptr_t)ptr;

	(void)pthread_once(&ro_once, ro_init);
	for (unsigned i = 0; i < ro.n; i++)
		if (a >= ro.lo[i] && a < ro.hi[i])
			return true;
	return false;
}

static uint32_t hash_str(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

/* A thread's compiled patterns go with the thread. */
static void cache_flush(void *arg)
{
	(void)arg;
	memset(front, 0, sizeof(front));
	for (size_t i = 0; i < CACHE_SIZE; i++) {
		prog_free(cache[i]);
		cache[i] = NULL;
	}
	cache_n = 0;
}

static void cache_key_init(void)
{
	(void)pthread_key_create(&cache_key, cache_flush);
}

static struct prog *prog_new(const char *expr, size_t len, uint32_t hash)
{
	struct prog *pg = calloc(1, sizeof(*pg));

	if (!pg)
		return NULL;
	pg->len = len;
	pg->hash = hash;
	pg->expr = strdup(expr);
	/* every pattern character makes at most one token, plus the end */
	pg->maxtok = (uint32_t)len + 1;
	pg->tokv = calloc(pg->maxtok, sizeof(*pg->tokv));
	if (!pg->expr || !pg->tokv || compile(pg, expr)) {
		prog_free(pg);
		return NULL;
	}
	return pg;
}

/* Compiled patterns by content (open addressing, no eviction: libre's
 * patterns are few, including those it prints at run time such as
 * msg_param_decode's); literals are found first by address.  Past 3/4
 * full, the table starts afresh. */
static struct prog *prog_get(const char *expr)
{
	struct front *f = &front[((uintptr_t)expr >> 3) % FRONT_SIZE];
	const size_t len = strlen(expr);
	const uint32_t hash = hash_str(expr, len);
	size_t h = hash % CACHE_SIZE;
	struct prog *pg;

	if (f->key == expr)
		return f->pg;

	for (;; h = (h + 1) % CACHE_SIZE) {
		pg = cache[h];
		if (!pg)
			break;
		if (pg->hash == hash && pg->len == len
		    && !memcmp(pg->expr, expr, len))
			goto found;
	}

	(void)pthread_once(&cache_once, cache_key_init);
	if (!pthread_getspecific(cache_key))
		(void)pthread_setspecific(cache_key, cache);
	if (cache_n >= CACHE_SIZE / 4 * 3) {
		cache_flush(NULL);
		return prog_get(expr);
	}
	pg = prog_new(expr, len, hash);
	if (!pg)
		return NULL;
	cache[h] = pg;
	++cache_n;
 found:
	if (in_rodata(expr)) {
		f->key = expr;
		f->pg = pg;
	}
	return pg;
}

enum outcome {
	M_MATCH,
	M_RETRY,               /* libre's "goto again": next start */
	M_NOINPUT,             /* a literal met the end: ENOENT at once */
	M_ERR,                 /* the pattern is malformed here */
};

/* Greedy run of one class; *raw is what it consumed of the input (the
 * output may be shorter by its stripped quotes). */
static uint32_t class_run(const struct tok *t, const uint8_t *p, size_t l,
			  struct pl *out, size_t *raw)
{
	bool quote = false, esc = false;
	uint32_t nm;

	out->p = (const char *)p;
	out->l = 0;
	for (nm = 0; l && nm < t->nmax; nm++, p++, l--, out->l++) {
		if (t->qesc) {
			if (esc) {
				esc = false;
				continue;
			}
			if (*p == '\\') {
				esc = true;
				continue;
			}
			if (*p == '"') {
				quote = !quote;
				continue;
			}
			if (quote)
				continue;
		}
		if (in_set(t->set, fold(*p)) == t->neg)
			break;
	}
	*raw = out->l;
	if (t->qesc && out->l > 1 && out->p[0] == '"'
	    && out->p[out->l - 1] == '"') {
		out->p += 1;
		out->l -= 2;
		nm -= 2;
	}
	return nm;
}

static enum outcome attempt(const struct prog *pg, const uint8_t *p,
			    size_t l, struct pl **plv, int *ret)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < pg->ntok; i++) {
		const struct tok *t = &pg->tokv[i];
		struct pl lpl;
		size_t raw;
		uint32_t nm;

		switch (t->type) {

		case T_LIT:
			if (!l)
				return M_NOINPUT;
			if (fold(*p) != t->c)
				return M_RETRY;
			++p;
			--l;
			break;

		case T_CLASS:
			nm = class_run(t, p, l, &lpl, &raw);
			if (nm < t->nmin || nm > t->nmax)
				return M_RETRY;
			p += raw;
			l -= raw;
			if (plv[k])
				*plv[k] = lpl;
			++k;
			break;

		default:
			*ret = t->ret;
			return t->ret ? M_ERR : M_MATCH;
		}
	}
	*ret = 0;
	return M_MATCH;
}

int re_regex(const char *ptr, size_t len, const char *expr, ...)
{
	struct pl *stack[MAX_PL], **plv = stack;
	const struct prog *pg;
	va_list ap;
	int ret = ENOENT;

	if (!ptr || !expr)
		return EINVAL;

	pg = prog_get(expr);
	if (!pg)
		return ENOMEM;
	if (pg->ncls > MAX_PL) {
		plv = malloc(pg->ncls * sizeof(*plv));
		if (!plv)
			return ENOMEM;
	}

	va_start(ap, expr);
	for (uint32_t i = 0; i < pg->ncls; i++)
		plv[i] = va_arg(ap, struct pl *);
	va_end(ap);

	for (size_t start = 0;; start++) {
		const size_t l = len - start;
		const uint8_t *p = (const uint8_t *)ptr + start;
		enum outcome o;

		if (!l) {
			ret = expr[0] ? ENOENT : 0;
			break;
		}
		o = attempt(pg, p, l, plv, &ret);
		if (o == M_MATCH || o == M_ERR)
			break;
		if (o == M_NOINPUT) {
			ret = ENOENT;
			break;
		}
	}
	if (plv != stack)
		free(plv);
	return ret;
}
