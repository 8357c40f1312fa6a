/* epoll + timer queues. */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define LOOP_BATCH 256

struct loop_tq {
	struct loop_tq *next;
	uint64_t ms;
	struct loop_timer *head, *tail;
};

struct loop {
	int epfd;
	int running;
	uint64_t now;
	struct loop_tq *queues;
	struct epoll_event ev[LOOP_BATCH];
	int nev, cur; /* the batch being dispatched, for loop_io_del */
};

static uint64_t clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	l->now = clock_ms();
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	while (l->queues) {
		struct loop_tq *q = l->queues;
		l->queues = q->next;
		free(q);
	}
	close(l->epfd);
	free(l);
}

int loop_io_add(struct loop *l, struct loop_io *io, int fd, uint32_t mask, loop_io_fn *fn, void *ctx)
{
	struct epoll_event ev = { .events = mask, .data.ptr = io };
	io->fd = fd;
	io->mask = mask;
	io->fn = fn;
	io->ctx = ctx;
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int loop_io_set(struct loop *l, struct loop_io *io, uint32_t mask)
{
	if (io->mask == mask)
		return 0;
	struct epoll_event ev = { .events = mask, .data.ptr = io };
	io->mask = mask;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev);
}

void loop_io_del(struct loop *l, struct loop_io *io)
{
	if (io->fd < 0)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	for (int i = l->cur + 1; i < l->nev; i++)
		if (l->ev[i].data.ptr == io)
			l->ev[i].data.ptr = NULL;
	io->fd = -1;
}

struct loop_tq *loop_tq_get(struct loop *l, uint64_t ms)
{
	for (struct loop_tq *q = l->queues; q; q = q->next)
		if (q->ms == ms)
			return q;
	struct loop_tq *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->ms = ms;
	q->next = l->queues;
	l->queues = q;
	return q;
}

void loop_timer_cancel(struct loop_timer *t)
{
	struct loop_tq *q = t->q;
	if (!q)
		return;
	if (t->prev)
		t->prev->next = t->next;
	else
		q->head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		q->tail = t->prev;
	t->prev = t->next = NULL;
	t->q = NULL;
}

void loop_timer_arm(struct loop *l, struct loop_timer *t, struct loop_tq *q, loop_timer_fn *fn, void *ctx)
{
	loop_timer_cancel(t);
	t->fn = fn;
	t->ctx = ctx;
	t->q = q;
	t->deadline = l->now + q->ms;
	t->next = NULL;
	t->prev = q->tail;
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
}

uint64_t loop_now(const struct loop *l)
{
	return l->now;
}

void loop_stop(struct loop *l)
{
	l->running = 0;
}

/* Milliseconds until the earliest deadline, or -1 when no timer is armed. */
static int next_timeout(const struct loop *l)
{
	uint64_t best = UINT64_MAX;
	for (const struct loop_tq *q = l->queues; q; q = q->next)
		if (q->head && q->head->deadline < best)
			best = q->head->deadline;
	if (best == UINT64_MAX)
		return -1;
	return best <= l->now ? 0 : (int)(best - l->now > 60000 ? 60000 : best - l->now);
}

static void fire_timers(struct loop *l)
{
	for (struct loop_tq *q = l->queues; q; q = q->next) {
		while (q->head && q->head->deadline <= l->now) {
			struct loop_timer *t = q->head;
			loop_timer_cancel(t);
			t->fn(t->ctx);
		}
	}
}

int loop_run(struct loop *l)
{
	l->running = 1;
	while (l->running) {
		int n = epoll_wait(l->epfd, l->ev, LOOP_BATCH, next_timeout(l));
		l->now = clock_ms();
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		l->nev = n;
		for (l->cur = 0; l->cur < n; l->cur++) {
			struct loop_io *io = l->ev[l->cur].data.ptr;
			if (io)
				io->fn(io->ctx, l->ev[l->cur].events);
		}
		l->nev = l->cur = 0;
		fire_timers(l);
	}
	return 0;
}
