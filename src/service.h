/* A service's runtime: its listener, resolved connect targets, TLS configuration, and what each worker
 * keeps of it (timer queues, the listener in its loop, counters), built whole from a cfg_service by the
 * control thread and read-only for the workers from then on. The runtime root holds the control loop,
 * the workers and the generations. */
#ifndef TLSWRAP_SERVICE_H
#define TLSWRAP_SERVICE_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/socket.h>

#include "config.h"
#include "limit.h"
#include "loop.h"
#include "ocsp_client.h"
#include "privs.h"
#include "sockopt.h"
#include "tls.h"
#include "worker.h"

struct conn;

/* One resolved connect address; host names the config entry it came from (SNI, name checks), or is NULL for
 * a Unix socket. */
struct svc_target {
	struct sockaddr_storage sa;
	socklen_t len;
	const char *host;
};

/* A source address for outgoing connections (local = HOST), per address family. */
struct svc_local {
	struct sockaddr_storage v4, v6;
	int has_v4, has_v6;
};

struct runtime;
struct generation;

/* Why connections failed, for the metrics. */
enum svc_failure {
	FAIL_HANDSHAKE, /* TLS handshake failed (protocol error, bad peer, alert) */
	FAIL_VERIFY,    /* the peer's certificate or identity was refused */
	FAIL_TIMEOUT,   /* TIMEOUTbusy during the handshake */
	FAIL_CONNECT,   /* no connect address could be reached */
	FAIL_PUSHED_OUT, /* maxHandshakes: a newer connection took its place */
	FAIL_MAX
};

/* What OCSP checks of peer certificates came to, for the metrics: the responder's (or the cache's) answer,
 * or none (responder down, slow, or its answer refused). */
enum svc_ocsp_answer { OCSP_ANSWER_GOOD, OCSP_ANSWER_REVOKED, OCSP_ANSWER_UNKNOWN, OCSP_ANSWER_NONE,
		       OCSP_ANSWER_CACHED, /* of the answers above, those the cache gave */
		       OCSP_ANSWER_MAX };

/* A service's counters since it was built (a reload starts new ones), one set per worker: each is written
 * by its worker only, and read (summed) by the control thread for /metrics. */
struct svc_stats {
	atomic_ullong open;    /* connections now open */
	atomic_ullong total;   /* connections accepted */
	atomic_ullong resumed; /* handshakes that resumed a session */
	atomic_ullong bytes_to_tls, bytes_to_plain; /* of connections that have closed */
	atomic_ullong failures[FAIL_MAX];
	atomic_ullong ocsp[OCSP_ANSWER_MAX];
};

/* What one worker keeps of a service: written by that worker only. */
struct svc_worker {
	struct service *sv;
	struct worker *worker;
	struct loop_io lio;         /* the shared listener in this worker's loop (EPOLLEXCLUSIVE) */
	struct loop_timer backoff;  /* re-enables accept after EMFILE */
	uint64_t last_emfile_log;
	int paused;                 /* not watching lio: a maxConnections was full (W_RESUME watches again) */
	struct loop_tq *tq_busy, *tq_connect, *tq_idle, *tq_close, *tq_backoff;
	struct svc_stats stats;
};

/* svc_stat_add: add N to a counter of this worker's set. */
#define svc_stat_add(sw, field, n) atomic_fetch_add_explicit(&(sw)->stats.field, (n), memory_order_relaxed)

struct service {
	const struct cfg_service *cfg; /* owned by its generation's struct cfg */
	struct runtime *rt;
	struct generation *gen;
	struct tls_svc tls;
	struct ocsp_svc ocsp;       /* OCSP = URL: the responder and the answers cached (under its lock) */
	struct svc_target *targets; /* resolved when built; with `delayed`, only the Unix socket ones */
	size_t ntargets;
	int delayed;                /* connect names are resolved for each connection (delay = yes, or DNS
				     * was unreachable when the service was built) */
	atomic_size_t rr_next;      /* failover = rr: the address the next connection starts at */
	struct sockopt *sockopts;   /* socket = ..., parsed */
	size_t nsockopts;
	struct svc_local local;
	int lfd;
	int owns_path;              /* lfd is a Unix socket tlswrap created: its file goes when it closes */
	int lfd_given;              /* lfd went to the next generation's service (a reload kept the address) */
	struct privs sock_owner;    /* ... and who it belongs to (setuid/setgid; nothing set: tlswrap) */
	struct conn_limit *lim;     /* maxConnections: shared with the service of the same name in the
				     * generations before and after a reload, so their connections count together */
	struct svc_worker *w;       /* one per worker */
	int nw;
	/* the control thread's */
	struct loop_timer ticket_refresh; /* ticketKeyFile: keep mbedTLS from replacing the shared key */
	struct loop_timer restart;  /* exec+connect with retry: start the program again */
};

struct control;

/* The runtime root: the control thread's loop and the generations are the control thread's; workers read
 * the generation they were given, and the atomics. */
struct runtime {
	struct loop *loop;          /* the control thread's: signals, reload, status, notify, timers */
	struct generation *cur;     /* the configuration being served */
	struct generation *retired; /* replaced ones that still have connections */
	struct activation *inherited; /* at start: sockets passed by systemd, or NULL */
	struct worker *workers;
	int nworkers;
	struct control *ctl;        /* the control thread's inbox (control.c) */
	atomic_ulong conn_seq;      /* connection numbers, unique across workers */
	int key_prompt;             /* starting in the foreground on a terminal: encrypted keys' passphrases are asked */
	struct conn_limit total;    /* the global maxConnections, over every service and generation */
	atomic_long pending;        /* accepted connections not relaying yet, on every worker (maxHandshakes) */
};

/* runtime_open: connections open on every worker (metrics, status, drain). */
unsigned long runtime_open(const struct runtime *rt);

/* service_build: resolve S's addresses and load its TLS material into SV (no sockets yet); GLOB are the
 * configuration's global options (the default owner of a Unix accept socket).
 * Returns 0, or -1 with "file:line: [name] reason" in ERR; SV is then left freed. */
int service_build(struct service *sv, struct runtime *rt, const struct cfg_service *s, const struct cfg_global *glob,
		  char *err, size_t errlen);

/* service_watch: worker W starts accepting on SV's listener (if it has one) and gets its timer queues
 * (every service: secondaries and exec+connect too). On W's thread. */
void service_watch(struct service *sv, struct worker *w);

/* service_unwatch: worker W stops accepting on SV's listener. On W's thread. */
void service_unwatch(struct service *sv, struct worker *w);

/* service_resume: worker W watches SV's listener again if a full maxConnections had made it stop (W_RESUME).
 * On W's thread. */
void service_resume(struct service *sv, struct worker *w);

/* service_conn_ended: a connection accepted on SV's listener ended: its places in SV's and the global
 * maxConnections are given back, and the workers woken if that ended an episode. Any worker. */
void service_conn_ended(struct service *sv);

/* service_share_limit: SV, of a new generation, counts its connections with OLD's of the same name
 * (reload): OLD's count goes on with SV's maxConnections. Control thread. */
void service_share_limit(struct service *sv, struct service *old);

/* runtime_wake_accepts: tell every worker to watch the listeners it stopped watching at a full limit. */
void runtime_wake_accepts(struct runtime *rt);

/* service_stats_sum: SV's counters over every worker, into OUT (plain numbers). */
struct svc_totals {
	unsigned long long open, total, resumed, bytes_to_tls, bytes_to_plain, failures[FAIL_MAX];
	unsigned long long ocsp[OCSP_ANSWER_MAX];
};
void service_stats_sum(const struct service *sv, struct svc_totals *out);

/* service_listen: bind and listen on the accept address (the workers watch it after W_SWITCH).
 * Returns 0, or -1 with the reason in ERR. */
int service_listen(struct service *sv, char *err, size_t errlen);

/* service_listen_fd: listen on FD, an already listening socket (socket activation). */
void service_listen_fd(struct service *sv, int fd);

/* service_listens_for: does OLD's listener already listen where S's accept asks (the same text, or a
 * host name that resolves to the address it is bound to)? A reload then carries it over. */
int service_listens_for(const struct service *old, const struct cfg_service *s);

/* service_adopt_listener: take FROM's listening socket (a reload that kept the accept address);
 * FROM no longer listens. The workers must have stopped watching FROM's (W_SWITCH) before FROM is freed. */
void service_adopt_listener(struct service *sv, struct service *from);

/* service_stop_listening: close the listener (live connections go on); no worker may still watch it. */
void service_stop_listening(struct service *sv);

/* service_is_exec_connect: S runs its program as the plaintext side of one TLS client connection
 * (client mode, exec with connect and no accept), started by tlswrap rather than by a client. */
static inline int service_is_exec_connect(const struct cfg_service *s)
{
	return s->client && s->exec && s->n_connect > 0;
}

/* service_free: close the listener and release everything service_build took. Live connections
 * must already be gone. */
void service_free(struct service *sv);

/* service_apply_sockopts: set SV's `socket` options for WHERE ('a', 'l' or 'r') on FD, of FAMILY.
 * 0, or -1 with the reason in ERR. */
int service_apply_sockopts(const struct service *sv, int fd, int family, char where, char *err, size_t errlen);

/* service_bind_local: bind FD, about to connect to an address of FAMILY, to SV's `local` address (a
 * no-op without one). 0, or -1 with the reason in ERR. */
int service_bind_local(const struct service *sv, int fd, int family, char *err, size_t errlen);

/* service_addr_str: "host:port" / "[v6]:port" text for SA. */
void service_addr_str(const struct sockaddr *sa, char *buf, size_t len);

#endif
