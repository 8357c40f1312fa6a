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
	if (l->name[0])
		log_notice("[%s] accepting again after %llu.%03llus at maxConnections = %ld", l->name,
			   (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000), max);
	else
		log_notice("accepting again after %llu.%03llus at the global maxConnections = %ld",
			   (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000), max);
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
		long max = atomic_load(&l->max);
		if (l->name[0])
			log_warn("[%s] maxConnections = %ld reached: not accepting until a connection ends", l->name, max);
		else
			log_warn("global maxConnections = %ld reached: no service accepts until a connection ends", max);
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
