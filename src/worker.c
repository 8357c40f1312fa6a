/* Worker threads: each runs its own loop; the control thread reaches it through its inbox. */
#include "worker.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "conn.h"
#include "control.h"
#include "gen.h"
#include "log.h"
#include "resolve.h"
#include "service.h"
#include "tls.h"

void worker_watch(struct worker *w, struct generation *g)
{
	if (w->gen)
		for (size_t i = 0; i < w->gen->nsvc; i++)
			service_unwatch(&w->gen->svc[i], w);
	w->gen = g;
	if (g)
		for (size_t i = 0; i < g->nsvc; i++)
			service_watch(&g->svc[i], w);
}

static void handle(struct worker *w, struct worker_msg *m)
{
	switch (m->kind) {
	case W_SWITCH:
		worker_watch(w, m->gen);
		break;
	case W_STOP:
		w->stopping = 1;
		worker_watch(w, NULL);
		conn_close_exec_links(w, "stopping");
		if (w->nconns == 0)
			worker_idle(w);
		break;
	case W_CLOSE_ALL:
		conn_close_all(w, "shutting down");
		break;
	case W_LOG_CONNS:
		conn_log_all(w);
		break;
	case W_EXEC_START:
		conn_exec_connect(m->sv, w);
		break;
	case W_RESUME:
		for (size_t i = 0; w->gen && i < w->gen->nsvc; i++)
			service_resume(&w->gen->svc[i], w);
		break;
	case W_QUIT:
		conn_close_all(w, "shutting down");
		loop_stop(w->loop);
		break;
	}
}

void worker_idle(struct worker *w)
{
	if (w->alone)
		loop_stop(w->loop);
	else
		control_worker_idle(w->rt);
}

/* The inbox's eventfd: handle every message queued, in order. */
static void on_inbox(void *ctx, uint32_t events)
{
	struct worker *w = ctx;
	uint64_t count;
	if (read(w->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&w->mu);
	struct worker_msg *m = w->inbox;
	w->inbox = NULL;
	w->inbox_tail = &w->inbox;
	pthread_mutex_unlock(&w->mu);
	while (m) {
		struct worker_msg *next = m->next;
		handle(w, m);
		if (!m->done) {
			free(m);
		} else { /* the sender waits for it, and frees it once told: M is not ours to touch after this */
			pthread_mutex_lock(&w->mu);
			*m->done = 1;
			pthread_cond_broadcast(&w->cv);
			pthread_mutex_unlock(&w->mu);
		}
		m = next;
	}
}

int worker_init(struct worker *w, struct runtime *rt, int index)
{
	memset(w, 0, sizeof(*w));
	w->rt = rt;
	w->index = index;
	w->efd = -1;
	w->efd_io.fd = -1;
	w->inbox_tail = &w->inbox;
	atomic_init(&w->open, 0);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (!(w->loop = loop_new()))
		goto err0;
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    loop_io_add(w->loop, &w->efd_io, w->efd, EPOLLIN, on_inbox, w) < 0)
		goto err0;
	if (!(w->resolver = resolve_new(w->loop)))
		goto err0;
	return 0;
err0:;
	int e = errno;
	worker_free(w);
	errno = e;
	return -1;
}

void worker_run(struct worker *w)
{
	if (loop_run(w->loop) < 0)
		log_err("worker %d: event loop: %s", w->index, strerror(errno));
	conn_close_all(w, "shutting down");
	tls_thread_done();
}

static void *thread_main(void *arg)
{
	worker_run(arg);
	return NULL;
}

int worker_start(struct worker *w)
{
	int e = pthread_create(&w->thread, NULL, thread_main, w);
	if (e) {
		errno = e;
		return -1;
	}
	w->started = 1;
	return 0;
}

void worker_post(struct worker *w, enum worker_msg_kind kind, struct generation *gen, struct service *sv, int wait)
{
	int done = 0;
	struct worker_msg *m = calloc(1, sizeof(*m));
	if (!m) { /* nothing sensible is left to do: a worker that misses a message would serve the wrong config */
		log_err("out of memory posting to worker %d: exiting", w->index);
		abort();
	}
	m->kind = kind;
	m->gen = gen;
	m->sv = sv;
	m->done = wait ? &done : NULL;
	pthread_mutex_lock(&w->mu);
	*w->inbox_tail = m;
	w->inbox_tail = &m->next;
	uint64_t one = 1;
	if (write(w->efd, &one, sizeof(one)) < 0) { /* only EAGAIN: the counter is already non-zero */
	}
	while (wait && !done)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	if (wait)
		free(m);
}

void worker_join(struct worker *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = 0;
}

void worker_free(struct worker *w)
{
	resolve_free(w->resolver);
	w->resolver = NULL;
	if (w->efd >= 0) {
		loop_io_del(w->loop, &w->efd_io);
		close(w->efd);
		w->efd = -1;
	}
	while (w->inbox) {
		struct worker_msg *next = w->inbox->next;
		free(w->inbox);
		w->inbox = next;
	}
	loop_free(w->loop);
	w->loop = NULL;
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
}

int worker_online_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}
