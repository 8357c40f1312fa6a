/* Connection limits shared across workers: atomics only (seq_cst where a pause and a release must see
 * each other: a worker marks the episode, then looks at the count; a closer lowers the count, then looks
 * at the mark, so at least one of them sees that the listener must be watched again). */
#include "limit.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"

uint64_t limit_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void limit_init(struct conn_limit *l, const char *name, long max)
{
	atomic_init(&l->count, 0);
	atomic_init(&l->max, max);
	atomic_init(&l->full_since, 0);
	atomic_init(&l->full_ms, 0);
	atomic_init(&l->refs, 1);
	snprintf(l->name, sizeof(l->name), "%s", name);
}

struct conn_limit *limit_new(const char *name, long max)
{
	struct conn_limit *l = malloc(sizeof(*l));
	if (l)
		limit_init(l, name, max);
	return l;
}

void limit_hold(struct conn_limit *l)
{
	atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
}

void limit_drop(struct conn_limit *l)
{
	if (l && atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) == 1)
		free(l);
}

int limit_take(struct conn_limit *l)
{
	long max = atomic_load(&l->max);
	long was = atomic_fetch_add(&l->count, 1);
	if (max && was >= max) { /* it was full before we came: taking it back ends no episode */
		atomic_fetch_sub(&l->count, 1);
		return 0;
	}
	return 1;
}

/* The episode ends if there is room and nobody has ended it already: one line, with how long it lasted. */
static int episode_end(struct conn_limit *l)
{
	long max = atomic_load(&l->max);
	unsigned long long since = atomic_load(&l->full_since);
	if (!since || (max && atomic_load(&l->count) >= max))
		return 0;
	if (!atomic_compare_exchange_strong(&l->full_since, &since, 0))
		return 0;
	uint64_t now = limit_now_ms() + 1, ms = now > since ? now - since : 0;
	atomic_fetch_add(&l->full_ms, ms);
	/* a limit that hovers full ends and begins an episode with each connection: these lines are rate-limited
	 * as failures are (the seconds at the limit are in /metrics whatever the log shows) */
	char kind[200], prefix[80] = "";
	if (l->name[0])
		snprintf(prefix, sizeof(prefix), "[%s] ", l->name);
	snprintf(kind, sizeof(kind), "%saccepting again at %smaxConnections = %ld", prefix, l->name[0] ? "" : "the global ",
		 max);
	log_msg(log_limit_level(kind, LOG_NOTICE), "%saccepting again after %llu.%03llus at %smaxConnections = %ld", prefix,
		(unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000), l->name[0] ? "" : "the global ", max);
	return 1;
}

int limit_give(struct conn_limit *l)
{
	atomic_fetch_sub(&l->count, 1);
	return episode_end(l);
}

int limit_full(struct conn_limit *l)
{
	unsigned long long off = 0;
	if (atomic_compare_exchange_strong(&l->full_since, &off, limit_now_ms() + 1)) {
		char kind[160];
		if (l->name[0])
			snprintf(kind, sizeof(kind), "[%s] maxConnections = %ld reached", l->name, atomic_load(&l->max));
		else
			snprintf(kind, sizeof(kind), "global maxConnections = %ld reached", atomic_load(&l->max));
		log_msg(log_limit_level(kind, LOG_WARNING), "%s: %s until a connection ends", kind,
			l->name[0] ? "not accepting" : "no service accepts");
	}
	return episode_end(l);
}

int limit_set_max(struct conn_limit *l, long max)
{
	atomic_store(&l->max, max);
	return episode_end(l);
}

double limit_full_seconds(const struct conn_limit *l)
{
	uint64_t ms = atomic_load(&l->full_ms);
	uint64_t since = atomic_load(&l->full_since), now = limit_now_ms() + 1;
	if (since && now > since)
		ms += now - since;
	return ms / 1000.0;
}
