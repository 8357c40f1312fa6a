/* Workers: one event loop per thread, each with its own connections, timers, resolver and scratch buffer.
 * A connection lives its whole life on the worker that accepted it. Listeners are shared: every worker
 * watches each listening socket with EPOLLEXCLUSIVE, and the kernel wakes one of them per connection.
 *
 * The control thread (control.c) talks to workers by message only: it never touches a worker's
 * connections, and a worker never touches the control thread's state. What both see is read-only (the
 * configuration generations, once built) or atomic (counters, reference counts). */
#ifndef TLSWRAP_WORKER_H
#define TLSWRAP_WORKER_H

#include <pthread.h>
#include <stdatomic.h>

#include "loop.h"

#define RELAY_CHUNK 16384
#define WORKERS_MAX 256

struct runtime;
struct generation;
struct service;
struct conn;
struct conn_linger;
struct resolver;

/* What the control thread asks of a worker. */
enum worker_msg_kind {
	W_SWITCH,     /* listen for GEN's services instead of the previous generation's (start, reload) */
	W_STOP,       /* stop listening and close exec+connect links: tlswrap is stopping */
	W_CLOSE_ALL,  /* close every connection now (the stop's time is up) */
	W_LOG_CONNS,  /* one log line per connection (SIGUSR2) */
	W_EXEC_START, /* start SV's exec+connect connection */
	W_QUIT,       /* end the loop (no connection is left) */
	W_RESUME,     /* a maxConnections has room again: watch the listeners paused at it */
};

struct worker_msg {
	struct worker_msg *next;
	enum worker_msg_kind kind;
	struct generation *gen;
	struct service *sv;
	int *done; /* the sender waits for this to become 1 (then the message is the sender's to free) */
};

struct worker {
	struct runtime *rt;
	int index;
	pthread_t thread;
	int started;
	struct loop *loop;
	struct resolver *resolver; /* delay = yes */
	struct generation *gen;    /* the generation whose listeners this worker watches (NULL: none) */
	int stopping;              /* W_STOP came: the loop ends with the last connection */
	int alone;                 /* inetd mode: no control thread; the loop ends with the connection */
	/* owned by the worker's thread */
	struct conn *conns;
	unsigned long nconns;
	struct conn *pend_head, *pend_tail; /* accepted connections not yet relaying, oldest first (maxHandshakes) */
	struct conn_linger *lingering;
	unsigned long nlingering;
	/* read by the control thread (metrics, drain, status) */
	atomic_ulong open;
	/* messages from the control thread */
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a waited-for message was handled */
	struct worker_msg *inbox, **inbox_tail;
	int efd;
	struct loop_io efd_io;
	unsigned char scratch[RELAY_CHUNK]; /* one relay read at a time; never holds data across events */
};

/* worker_init: W, worker INDEX of RT, with its loop and inbox (no thread yet). 0, or -1 with errno. */
int worker_init(struct worker *w, struct runtime *rt, int index);

/* worker_start: run W's loop on a thread of its own. 0, or -1 with errno. */
int worker_start(struct worker *w);

/* worker_run: run W's loop on the calling thread until it stops (inetd mode, which has no control thread). */
void worker_run(struct worker *w);

/* worker_watch: W accepts on G's listeners (NULL: none) instead of the generation it watched. On W's thread. */
void worker_watch(struct worker *w, struct generation *g);

/* worker_idle: a stopping W has no connection left: tell the control thread (or, alone, end the loop). */
void worker_idle(struct worker *w);

/* worker_post: queue a message for W; it is handled on W's thread. With WAIT, return only once it has been
 * handled (the control thread uses that to know no worker still watches an old listener). */
void worker_post(struct worker *w, enum worker_msg_kind kind, struct generation *gen, struct service *sv, int wait);

/* worker_join: wait for W's thread to end (after W_QUIT) and release W. */
void worker_join(struct worker *w);

/* worker_free: release W (its thread, if any, has ended). */
void worker_free(struct worker *w);

/* worker_online_cpus: how many CPUs this process may run on (workers = auto). */
int worker_online_cpus(void);

#endif
