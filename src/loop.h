/* The event loop: epoll for fds, FIFO timer queues for timeouts. The only place that waits.
 * It knows nothing of TLS, services or connections. */
#ifndef TLSWRAP_LOOP_H
#define TLSWRAP_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

struct loop;

typedef void loop_io_fn(void *ctx, uint32_t events);
typedef void loop_timer_fn(void *ctx);

/* An fd registration, embedded in its owner. */
struct loop_io {
	int fd;
	uint32_t mask; /* EPOLLIN/EPOLLOUT currently asked for */
	loop_io_fn *fn;
	void *ctx;
};

/* A timer queue holds timers of one duration, so its list is ordered by deadline and every
 * operation is O(1). */
struct loop_tq;

/* A timer, embedded in its owner; zero-initialised means not armed. */
struct loop_timer {
	struct loop_timer *prev, *next;
	struct loop_tq *q;
	uint64_t deadline; /* ms on the loop's monotonic clock */
	loop_timer_fn *fn;
	void *ctx;
};

/* loop_new: a loop, or NULL with errno set. */
struct loop *loop_new(void);
/* loop_free: release the loop and its timer queues (fds and timers belong to their owners). */
void loop_free(struct loop *l);

/* loop_io_add: watch FD for MASK, calling FN(CTX, events). Returns 0, or -1 with errno set. */
int loop_io_add(struct loop *l, struct loop_io *io, int fd, uint32_t mask, loop_io_fn *fn, void *ctx);
/* loop_io_set: change the mask (no system call when it is unchanged). Returns 0 or -1 with errno. */
int loop_io_set(struct loop *l, struct loop_io *io, uint32_t mask);
/* loop_io_del: stop watching; events already collected for IO in this round are dropped, so the
 * owner may free IO right after. Does not close the fd. */
void loop_io_del(struct loop *l, struct loop_io *io);

/* loop_tq_get: the queue for timers of MS milliseconds (shared, created on first use, freed with
 * the loop). NULL when out of memory. */
struct loop_tq *loop_tq_get(struct loop *l, uint64_t ms);
/* loop_timer_arm: (re)start T on queue Q to call FN(CTX) once its duration has passed. */
void loop_timer_arm(struct loop *l, struct loop_timer *t, struct loop_tq *q, loop_timer_fn *fn, void *ctx);
/* loop_timer_cancel: stop T if armed; harmless otherwise. */
void loop_timer_cancel(struct loop_timer *t);

/* loop_now: the loop's clock in ms, refreshed each time the loop wakes. */
uint64_t loop_now(const struct loop *l);

/* loop_run: dispatch events until loop_stop. Returns 0, or -1 with errno when epoll fails. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

#endif
