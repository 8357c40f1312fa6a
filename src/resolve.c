/* The resolver: requests queue under one mutex, up to RESOLVE_THREADS threads call getaddrinfo, answers
 * go back on a done list and an eventfd wakes the loop, which runs the callbacks. The loop thread and
 * the resolver threads share only the two lists and the flags next to them. */
#include "resolve.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "loop.h"

#define RESOLVE_THREADS 4 /* lookups that may wait on a slow DNS server at once */

struct resolve_req {
	struct resolve_req *next;
	resolve_done_fn *done;
	void *ctx;
	int cancelled; /* under the mutex */
	int n;
	const char **hosts, **ports; /* point into the same allocation */
	struct resolve_addr *addrs;
	size_t naddrs;
	char why[160];
};

struct resolver {
	struct loop *loop;
	int efd;
	struct loop_io io;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct resolve_req *pending, **pending_tail, *done, **done_tail;
	int threads, idle, stop;
};

static void req_free(struct resolve_req *q)
{
	free(q->addrs);
	free(q);
}

/* Runs on a resolver thread, without the lock. */
static void lookup(struct resolve_req *q)
{
	for (int i = 0; i < q->n; i++) {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG }, *res, *ai;
		int rc = getaddrinfo(q->hosts[i], q->ports[i], &hints, &res);
		if (rc == EAI_NONAME || rc == EAI_ADDRFAMILY) {
			hints.ai_flags = 0; /* AI_ADDRCONFIG hides ::1 on hosts with only loopback IPv6 */
			rc = getaddrinfo(q->hosts[i], q->ports[i], &hints, &res);
		}
		if (rc) {
			if (!q->why[0])
				snprintf(q->why, sizeof(q->why), "%s: %s", q->hosts[i], gai_strerror(rc));
			continue;
		}
		for (ai = res; ai; ai = ai->ai_next) {
			struct resolve_addr *a = realloc(q->addrs, (q->naddrs + 1) * sizeof(*a));
			if (!a) {
				snprintf(q->why, sizeof(q->why), "out of memory");
				break;
			}
			q->addrs = a;
			a += q->naddrs++;
			memcpy(&a->sa, ai->ai_addr, ai->ai_addrlen);
			a->len = ai->ai_addrlen;
			a->name = i;
		}
		freeaddrinfo(res);
	}
}

static void *worker(void *arg)
{
	struct resolver *r = arg;
	pthread_mutex_lock(&r->mu);
	for (;;) {
		r->idle++;
		while (!r->stop && !r->pending)
			pthread_cond_wait(&r->cv, &r->mu);
		r->idle--;
		if (r->stop)
			break;
		struct resolve_req *q = r->pending;
		if (!(r->pending = q->next))
			r->pending_tail = &r->pending;
		int skip = q->cancelled;
		pthread_mutex_unlock(&r->mu);
		if (!skip)
			lookup(q);
		pthread_mutex_lock(&r->mu);
		if (r->stop) {
			req_free(q);
			break;
		}
		q->next = NULL;
		*r->done_tail = q;
		r->done_tail = &q->next;
		uint64_t one = 1;
		if (write(r->efd, &one, sizeof(one)) < 0) { /* only EAGAIN: the counter is already non-zero */
		}
	}
	int last = --r->threads == 0;
	pthread_mutex_unlock(&r->mu);
	if (last) { /* resolve_free left the resolver to its last thread */
		pthread_mutex_destroy(&r->mu);
		pthread_cond_destroy(&r->cv);
		free(r);
	}
	return NULL;
}

/* On the loop's thread: run the callbacks of the answers that arrived. */
static void on_answers(void *ctx, uint32_t events)
{
	struct resolver *r = ctx;
	uint64_t count;
	if (read(r->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&r->mu);
	struct resolve_req *q = r->done;
	r->done = NULL;
	r->done_tail = &r->done;
	pthread_mutex_unlock(&r->mu);
	while (q) {
		struct resolve_req *next = q->next;
		/* decided under the lock, just before the callback: an earlier callback of this batch may have
		 * cancelled it (its connection ended) */
		pthread_mutex_lock(&r->mu);
		int cancelled = q->cancelled;
		pthread_mutex_unlock(&r->mu);
		if (!cancelled) {
			q->done(q->ctx, q->naddrs ? q->addrs : NULL, q->naddrs, q->why[0] ? q->why : q->naddrs ? NULL : "no addresses");
			if (q->naddrs)
				q->addrs = NULL; /* the callback's now */
		}
		req_free(q);
		q = next;
	}
}

struct resolver *resolve_new(struct loop *loop)
{
	struct resolver *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->loop = loop;
	r->pending_tail = &r->pending;
	r->done_tail = &r->done;
	r->io.fd = -1;
	if ((r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		goto err0;
	if (loop_io_add(loop, &r->io, r->efd, EPOLLIN, on_answers, r) < 0)
		goto err1;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	return r;
err1:
	close(r->efd);
err0:
	free(r);
	return NULL;
}

void resolve_free(struct resolver *r)
{
	if (!r)
		return;
	loop_io_del(r->loop, &r->io);
	pthread_mutex_lock(&r->mu);
	r->stop = 1; /* first: a thread writes to efd only under the lock and while stop is 0 */
	close(r->efd);
	struct resolve_req *lists[2] = { r->pending, r->done };
	r->pending = r->done = NULL;
	int last = r->threads == 0;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	for (int i = 0; i < 2; i++)
		while (lists[i]) {
			struct resolve_req *next = lists[i]->next;
			req_free(lists[i]);
			lists[i] = next;
		}
	if (last) {
		pthread_mutex_destroy(&r->mu);
		pthread_cond_destroy(&r->cv);
		free(r);
	}
}

struct resolve_req *resolve_start(struct resolver *r, const char *const *hosts, const char *const *ports, int n,
				  resolve_done_fn *done, void *ctx)
{
	size_t strings = 0;
	for (int i = 0; i < n; i++)
		strings += strlen(hosts[i]) + strlen(ports[i]) + 2;
	struct resolve_req *q = calloc(1, sizeof(*q) + 2 * (size_t)n * sizeof(char *) + strings);
	if (!q)
		return NULL;
	q->done = done;
	q->ctx = ctx;
	q->n = n;
	q->hosts = (const char **)(q + 1);
	q->ports = q->hosts + n;
	char *p = (char *)(q->ports + n);
	for (int i = 0; i < n; i++) {
		q->hosts[i] = strcpy(p, hosts[i]);
		p += strlen(p) + 1;
		q->ports[i] = strcpy(p, ports[i]);
		p += strlen(p) + 1;
	}
	pthread_mutex_lock(&r->mu);
	if (r->idle == 0 && r->threads < RESOLVE_THREADS) {
		pthread_t t;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, worker, r) == 0)
			r->threads++;
		pthread_attr_destroy(&attr);
		if (r->threads == 0) {
			pthread_mutex_unlock(&r->mu);
			free(q);
			return NULL;
		}
	}
	*r->pending_tail = q;
	r->pending_tail = &q->next;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return q;
}

void resolve_cancel(struct resolver *r, struct resolve_req *req)
{
	pthread_mutex_lock(&r->mu);
	req->cancelled = 1;
	pthread_mutex_unlock(&r->mu);
}
