/* Connection limits (maxConnections): a count shared by every worker, of one service (kept by name across
 * reloads) or of the whole process. A worker takes a place before it accepts and gives it back when the
 * connection ends; a worker that finds no place stops watching that listener (clients wait in the
 * kernel's backlog), and the one that gives back the place that ends the episode wakes the workers by
 * message. Accept and close only: nothing here is on the relay path. */
#ifndef TLSWRAP_LIMIT_H
#define TLSWRAP_LIMIT_H

#include <stdatomic.h>
#include <stdint.h>

struct conn_limit {
	atomic_long count;          /* places taken: connections open, and accepts under way */
	atomic_long max;            /* 0: no limit (the count is still kept, for the metrics) */
	atomic_ullong full_since;   /* an episode is on (some worker stopped accepting) since then (ms,
				     * CLOCK_MONOTONIC, + 1); 0: none. One atomic, so no one reads a half-begun one */
	atomic_ullong full_ms;      /* time spent full in episodes that have ended */
	atomic_ulong refs;          /* services sharing it (the same name in an old and a new generation) */
	char name[64];              /* the service, or "" for the process's limit (log lines) */
};

/* limit_init: L counts for NAME ("" for all services) with MAX places (0: no limit); one reference. */
void limit_init(struct conn_limit *l, const char *name, long max);

/* limit_new: as limit_init, allocated. NULL when out of memory. */
struct conn_limit *limit_new(const char *name, long max);

/* limit_hold, limit_drop: one more, one less service shares L; the last drop frees it (limit_new's only). */
void limit_hold(struct conn_limit *l);
void limit_drop(struct conn_limit *l);

/* limit_take: take a place in L before accepting. 1 when taken, 0 when L is full (nothing taken). */
int limit_take(struct conn_limit *l);

/* limit_give: give back a place (the connection ended, or the accept found nobody). Returns 1 when this
 * ended L's episode (logged): the caller then wakes the workers so they watch their listeners again. */
int limit_give(struct conn_limit *l);

/* limit_full: the caller found L full and stopped watching a listener: the episode begins (logged once)
 * unless it is on already. Returns 1 when places came free meanwhile and this ended the episode at once
 * (the caller wakes the workers, itself included): no worker is left paused with room in L. */
int limit_full(struct conn_limit *l);

/* limit_set_max: a reload's new MAX for L. Returns 1 when that ended L's episode (the caller wakes the
 * workers, unless they are about to watch the new listeners anyway). */
int limit_set_max(struct conn_limit *l, long max);

/* limit_full_seconds: time L has spent full, the episode going on included. */
double limit_full_seconds(const struct conn_limit *l);

/* limit_now_ms: the clock of the episodes (CLOCK_MONOTONIC, ms). */
uint64_t limit_now_ms(void);

#endif
