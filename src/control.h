/* The control plane: the thread that owns signals, reload, the graceful stop, systemd notifications, the
 * metrics endpoint, the process's timers (certificate expiry, ticket keys, exec+connect restarts) and the
 * generations. It tells the workers what changed by message (worker.h), and they tell it by message what
 * only it may act on (a generation no longer used, an exec+connect link that ended, a worker with no
 * connection left while stopping). */
#ifndef TLSWRAP_CONTROL_H
#define TLSWRAP_CONTROL_H

#include <pthread.h>

#include "config.h"
#include "loop.h"
#include "notify.h"
#include "privs.h"

struct runtime;
struct generation;
struct status_server;
struct sandbox;

#define N_RESTART_ONLY 12

/* What main.c decided at start, that the control plane needs afterwards. */
struct control_opts {
	int use_syslog, log_flags; /* how the log was opened (SIGUSR1 reopens it the same way) */
	const char *output;        /* the log file, or NULL */
	const char *config_file;   /* what SIGHUP re-reads (NULL: flags mode) */
	struct privs privs;        /* what the process runs as (the key check on reload) */
	struct status_server *status; /* the metrics endpoint, or NULL */
	int startdir;              /* a daemon's start directory, for relative paths on reload (-1: none) */
	int debug_forced;          /* -d on the command line: a reload keeps it */
	int sigfd;                 /* the signalfd (blocked signals), watched by the control loop */
	struct notify *notify;     /* systemd's NOTIFY_SOCKET (fd -1: not under systemd) */
	const struct sandbox *sandbox; /* what the process was confined to at start (a reload must fit in it) */
};

/* control_restart_only_values: the restart-only globals of G as text, to tell a reload that changed one. */
void control_restart_only_values(const struct cfg_global *g, char v[N_RESTART_ONLY][320]);

enum key_check { KEYS_START, KEYS_CHECK, KEYS_RELOAD };

/* control_check_key_modes: a private key others can read, in a process that stays root as P: refused (a
 * warning with --check), on stderr at start, in the log on reload. 0 or -1. */
int control_check_key_modes(const struct generation *g, const struct privs *p, enum key_check when);

/* control_run: serve RT (its workers made, its current generation listening): start the workers, then run
 * the control loop until tlswrap stops; STARTED_WITH are the restart-only globals at start. Returns 0, or
 * -1 when a loop failed. Everything is stopped and joined on return (the generations are RT's to free). */
int control_run(struct runtime *rt, const struct control_opts *o, char started_with[N_RESTART_ONLY][320]);

/* control_stopping: whether RT is draining after SIGTERM or SIGINT (0 when RT has no control plane yet).
 * On the control thread. */
int control_stopping(const struct runtime *rt);

/* Messages to the control thread, from any thread: */

/* control_gen_unused: G's last reference is gone (gen_release). */
void control_gen_unused(struct runtime *rt, struct generation *g);

/* control_worker_idle: a stopping worker has no connection left. */
void control_worker_idle(struct runtime *rt);

/* control_exec_ended: the exec+connect connection of the service NAME ended (retry may start it again). */
void control_exec_ended(struct runtime *rt, const char *name);

#endif
