/* The control plane (see control.h): the main thread's loop once tlswrap serves. */
#include "control.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/version.h>

#include "child.h"
#include "gen.h"
#include "log.h"
#include "sandbox.h"
#include "service.h"
#include "status.h"
#include "tls.h"
#include "watch.h"
#include "worker.h"

#define EXPIRY_WARN_DAYS 30
#define EXEC_RETRY_MS 1000 /* between an exec+connect program's end and its restart (stunnel waits too) */
#define EXEC_LINKS_MAX 256 /* exec+connect services running at once */
#define CHANGE_QUIET_MS 2000 /* reloadOnChange: how long the files must stay unchanged before the reload */

/* Globals that only a restart can change: the process's shape (daemon, pid file, identity, jail) and what
 * was opened for it (log destination, metrics endpoint). `debug` and `logFormat` apply on reload. */
static const char *const restart_only[N_RESTART_ONLY] = { "foreground", "pid",    "output",  "syslog",
							  "setuid",     "setgid", "chroot",  "status",
							  "log",        "service", "workers", "sandbox" };

/* A message to the control thread. */
enum ctl_kind { CTL_GEN_UNUSED, CTL_WORKER_IDLE, CTL_EXEC_ENDED, CTL_LOG_HELD };

struct ctl_msg {
	struct ctl_msg *next;
	enum ctl_kind kind;
	struct generation *gen;
	char name[64];
};

struct control {
	struct runtime *rt;
	struct control_opts o;
	char (*started_with)[320];
	struct loop_io sig_io;
	int reopen;
	int stopping;             /* a stop was asked for: in drainDelay, or waiting for the workers' connections */
	int status;               /* what control_run returns */
	int stop_signo;           /* the signal that asked for the stop */
	struct loop_timer delay;  /* SIGTERM with drainDelay: how long to go on accepting */
	struct loop_timer drain;  /* SIGTERM: how long connections may take to finish */
	struct loop_timer expiry; /* the daily certificate expiry check */
	struct loop_timer tick;   /* watchdog and STATUS= for the service manager */
	/* reloadOnChange: the configured files' directories, and the quiet time after a change */
	struct watch watch;
	struct loop_io watch_io;
	struct loop_timer settle;
	char changed[4352];       /* the first file that changed since the last reload */
	struct loop_timer log_held; /* while the log's rate limit holds messages back: their summaries */
	uint64_t tick_ms;
	/* exec+connect links running now, by service name (one each: a reload does not start a second) */
	char *exec_links[EXEC_LINKS_MAX];
	int nexec;
	int next_worker;          /* where the next exec+connect link runs */
	/* the inbox */
	pthread_mutex_t mu;
	struct ctl_msg *inbox, **inbox_tail;
	int efd;
	struct loop_io efd_io;
};

void control_restart_only_values(const struct cfg_global *g, char v[N_RESTART_ONLY][320])
{
	snprintf(v[0], 320, "%d%s", g->foreground, g->quiet ? " quiet" : "");
	snprintf(v[1], 320, "%s", g->pid ? g->pid : "");
	snprintf(v[2], 320, "%s", g->output ? g->output : "");
	snprintf(v[3], 320, "%d", g->syslog);
	snprintf(v[4], 320, "%s", g->setuid ? g->setuid : "");
	snprintf(v[5], 320, "%s", g->setgid ? g->setgid : "");
	snprintf(v[6], 320, "%s", g->chroot ? g->chroot : "");
	snprintf(v[7], 320, "%s:%s", g->has_status ? g->status.host : "", g->has_status ? g->status.port : "");
	snprintf(v[8], 320, "%d", g->log_overwrite);
	snprintf(v[9], 320, "%s", g->service ? g->service : "");
	snprintf(v[10], 320, "%d", g->workers);
	snprintf(v[11], 320, "%d", g->sandbox != 0);
}

int control_check_key_modes(const struct generation *g, const struct privs *p, enum key_check when)
{
	if (geteuid() != 0 || (p->has_uid && p->uid != 0))
		return 0;
	for (size_t i = 0; i < g->nsvc; i++) {
		const struct cfg_service *s = g->svc[i].cfg;
		const char *key = s->key ? s->key : s->cert;
		char w[300];
		if (!privs_exposed(key))
			continue;
		cfg_where_option(s, s->key ? "key" : "cert", w, sizeof(w));
		if (when == KEYS_CHECK) {
			log_startup_error("warning: %s: [%s] key %s is readable by others; tlswrap will not run "
					  "as root with it (chmod o-r)", w, s->name, key);
			continue;
		}
		if (when == KEYS_START)
			log_startup_error("%s: [%s] key %s is readable by others: refusing to run as root with it "
					  "(chmod o-r)", w, s->name, key);
		else
			log_err("reload failed, still serving the previous configuration: %s: [%s] key %s is readable "
				"by others (chmod o-r)", w, s->name, key);
		return -1;
	}
	return 0;
}

/* ---- the inbox ------------------------------------------------------------------------------------- */

static void post(struct runtime *rt, enum ctl_kind kind, struct generation *g, const char *name)
{
	struct control *c = rt->ctl;
	struct ctl_msg *m = calloc(1, sizeof(*m));
	if (!m) { /* a lost message would leak a generation or stop a restart: nothing sensible is left */
		log_err("out of memory posting to the control thread: exiting");
		abort();
	}
	m->kind = kind;
	m->gen = g;
	if (name)
		snprintf(m->name, sizeof(m->name), "%s", name);
	pthread_mutex_lock(&c->mu);
	*c->inbox_tail = m;
	c->inbox_tail = &m->next;
	uint64_t one = 1;
	if (write(c->efd, &one, sizeof(one)) < 0) { /* only EAGAIN: the counter is already non-zero */
	}
	pthread_mutex_unlock(&c->mu);
}

void control_gen_unused(struct runtime *rt, struct generation *g)
{
	if (!rt->ctl) { /* before the control plane runs (a failed start) or after: this thread owns it all */
		gen_unused(rt, g);
		return;
	}
	post(rt, CTL_GEN_UNUSED, g, NULL);
}

void control_worker_idle(struct runtime *rt)
{
	if (rt->ctl)
		post(rt, CTL_WORKER_IDLE, NULL, NULL);
}

void control_exec_ended(struct runtime *rt, const char *name)
{
	if (rt->ctl)
		post(rt, CTL_EXEC_ENDED, NULL, name);
}

/* The log's rate limit began holding messages back (any thread). */
static void log_held(void *arg)
{
	struct runtime *rt = arg;
	if (rt->ctl)
		post(rt, CTL_LOG_HELD, NULL, NULL);
}

/* Each second while messages are held back: the summaries of the windows that have ended, even if no message
 * of their kind comes again. */
static void log_summaries(void *ctx)
{
	struct control *c = ctx;
	struct loop_tq *q = loop_tq_get(c->rt->loop, 1000);
	if (log_limit_flush(0) && q)
		loop_timer_arm(c->rt->loop, &c->log_held, q, log_summaries, c);
}

/* ---- exec+connect links ---------------------------------------------------------------------------- */

static int exec_running(const struct control *c, const char *name)
{
	for (int i = 0; i < c->nexec; i++)
		if (strcmp(c->exec_links[i], name) == 0)
			return 1;
	return 0;
}

/* Start SV's link on the next worker, unless one runs already (it goes on across a reload). */
static void exec_start(struct control *c, struct service *sv)
{
	struct runtime *rt = c->rt;
	if (c->stopping || exec_running(c, sv->cfg->name) || c->nexec == EXEC_LINKS_MAX ||
	    !(c->exec_links[c->nexec] = strdup(sv->cfg->name)))
		return;
	c->nexec++;
	worker_post(&rt->workers[c->next_worker++ % rt->nworkers], W_EXEC_START, NULL, sv, 0);
}

static void exec_start_all(struct control *c, struct generation *g)
{
	for (size_t i = 0; i < g->nsvc; i++)
		if (service_is_exec_connect(g->svc[i].cfg))
			exec_start(c, &g->svc[i]);
}

static void exec_restart(void *ctx)
{
	struct service *sv = ctx;
	exec_start(sv->rt->ctl, sv);
}

/* A link ended: with retry = yes in the current configuration, start it again a second later. */
static void exec_ended(struct control *c, const char *name)
{
	struct runtime *rt = c->rt;
	for (int i = 0; i < c->nexec; i++)
		if (strcmp(c->exec_links[i], name) == 0) {
			free(c->exec_links[i]);
			c->exec_links[i] = c->exec_links[--c->nexec];
			break;
		}
	if (c->stopping)
		return;
	for (size_t i = 0; i < rt->cur->nsvc; i++) {
		struct service *sv = &rt->cur->svc[i];
		if (!service_is_exec_connect(sv->cfg) || strcmp(sv->cfg->name, name) != 0)
			continue;
		if (!sv->cfg->retry) {
			log_notice("[%s] exec+connect ended; not restarted (retry = no)", name);
			return;
		}
		struct loop_tq *q = loop_tq_get(rt->loop, EXEC_RETRY_MS);
		if (q)
			loop_timer_arm(rt->loop, &sv->restart, q, exec_restart, sv);
		return;
	}
}

/* ---- generations ----------------------------------------------------------------------------------- */

/* Every worker watches G's listeners (and none of the previous generation's) once this returns. */
static void switch_workers(struct runtime *rt, struct generation *g)
{
	for (int i = 0; i < rt->nworkers; i++)
		worker_post(&rt->workers[i], W_SWITCH, g, NULL, 1);
}

/* CRLs past their nextUpdate: revocations since then are not in them, yet mbedTLS goes on using them. */
static void check_crls(const struct service *sv, time_t now)
{
	struct tls_crl_info ci;
	for (int k = 0; tls_svc_crl(&sv->tls, k, &ci) == 0; k++) {
		if (!ci.next_update || ci.next_update > now)
			continue;
		char date[64];
		struct tm tm;
		time_t t = (time_t)ci.next_update;
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
		log_warn("[%s] CRL from %s (%s) expired on %s", sv->cfg->name, ci.issuer, ci.file, date);
	}
}

/* Warn about certificates that expire within 30 days and CRLs past their nextUpdate: at start, then daily. */
static void check_expiry(void *ctx)
{
	struct control *c = ctx;
	struct runtime *rt = c->rt;
	time_t now = time(NULL);
	for (size_t i = 0; i < rt->cur->nsvc; i++)
		check_crls(&rt->cur->svc[i], now);
	for (size_t i = 0; i < rt->cur->nsvc; i++) {
		long long end = tls_svc_not_after(&rt->cur->svc[i].tls);
		const struct cfg_service *s = rt->cur->svc[i].cfg;
		if (!end || end - now > EXPIRY_WARN_DAYS * 86400LL)
			continue;
		if (end <= now)
			log_err("[%s] certificate %s has expired", s->name, s->cert);
		else
			log_warn("[%s] certificate %s expires in %lld days", s->name, s->cert, (end - now + 86399) / 86400);
	}
	struct loop_tq *q = loop_tq_get(rt->loop, 86400ULL * 1000);
	if (q)
		loop_timer_arm(rt->loop, &c->expiry, q, check_expiry, c);
}

/* After a reload (WHY: SIGHUP, reloadOnChange): the new `debug` (unless -d set it) and `logFormat` take
 * effect; a restart-only global that differs from what the process started with is named, so nobody waits
 * for it to apply. */
static void reload_globals(struct control *c, const struct cfg_global *g, const char *why)
{
	if (!c->o.debug_forced && g->debug != log_level()) {
		log_set_level(g->debug);
		log_notice("%s: debug level is now %d", why, g->debug);
	}
	if (g->log_json != log_json_on()) {
		log_set_json(g->log_json);
		log_notice("%s: logFormat is now %s", why, g->log_json ? "json" : "text");
	}
	char now[N_RESTART_ONLY][320];
	control_restart_only_values(g, now);
	for (int i = 0; i < N_RESTART_ONLY; i++)
		if (strcmp(now[i], c->started_with[i]) != 0)
			log_warn("%s: %s differs from the running value; it takes effect at the next start", why,
				 restart_only[i]);
}

/* SIGHUP or reloadOnChange (WHY): build the new configuration beside the running one and swap; on any
 * error the running one stays. Connections keep the generation they started under. */
static void reload_into(struct control *c, const char *why)
{
	struct runtime *rt = c->rt;
	struct cfg cfg;
	char err[CFG_ERRLEN * 2];
	if (cfg_load(c->o.config_file, &cfg, 0, err, sizeof(err)) < 0) {
		/* a file the sandbox does not let us read shows as EACCES: say where that comes from */
		int sandboxed = c->o.sandbox && c->o.sandbox->fs && strstr(err, strerror(EACCES));
		log_err("reload failed, still serving the previous configuration: %s%s", err,
			sandboxed ? " (the sandbox set at start allows reading only the directories the configuration "
				    "named then, as they were then: not one deleted and made again since (sandbox = yes); "
				    "restart tlswrap to use it)" : "");
		return;
	}
	if (c->o.sandbox && sandbox_check_reload(c->o.sandbox, &cfg, err, sizeof(err)) < 0) {
		log_err("reload failed, still serving the previous configuration: %s", err);
		cfg_free(&cfg);
		return;
	}
	if (cfg.nsvc == 1 && cfg.svc[0].inetd) {
		log_err("reload failed, still serving the previous configuration: %s has no sections (inetd mode)",
			cfg.file);
		cfg_free(&cfg);
		return;
	}
	struct generation *g = gen_build(rt, &cfg, err, sizeof(err));
	if (!g) {
		log_err("reload failed, still serving the previous configuration: %s", err);
		return;
	}
	if (control_check_key_modes(g, &c->o.privs, KEYS_RELOAD) < 0) {
		gen_free(g);
		return;
	}
	if (gen_listen(g, rt->cur, err, sizeof(err)) < 0) {
		log_err("reload failed, still serving the previous configuration: %s", err);
		gen_free(g);
		return;
	}
	struct generation *old = rt->cur;
	limit_set_max(&rt->total, g->cfg.g.max_connections); /* the workers watch every listener next */
	switch_workers(rt, g); /* from here on no worker accepts on OLD's listeners */
	rt->cur = g;
	reload_globals(c, &g->cfg.g, why);
	gen_retire(rt, old);
	gen_log_services(g);
	exec_start_all(c, g);
	log_notice("%s: configuration reloaded (%zu service%s; %lu connections carry on)", why, g->nsvc,
		   g->nsvc == 1 ? "" : "s", runtime_open(rt));
	check_expiry(c);
}

static void watch_files(struct control *c);

static void reload(struct control *c, const char *why)
{
	if (!c->o.config_file) {
		log_warn("SIGHUP: a tunnel given as flags has no configuration file to reload");
		return;
	}
	if (c->stopping)
		return;
	loop_timer_cancel(&c->settle); /* this reload reads the changed files too */
	c->changed[0] = '\0';
	log_notice("%s: reloading %s", why, c->o.config_file);
	notify_reloading(c->o.notify);
	/* relative paths in the file mean what they meant at start */
	if (c->o.startdir >= 0 && fchdir(c->o.startdir) < 0)
		log_warn("%s: cannot return to the start directory: %s", why, strerror(errno));
	reload_into(c, why);
	watch_files(c); /* what the configuration now in use names: the new one, or the old one after a failure */
	if (c->o.startdir >= 0 && chdir("/") < 0)
		log_warn("%s: chdir /: %s", why, strerror(errno));
	notify_ready(c->o.notify);
}

/* ---- reloadOnChange ------------------------------------------------------------------------------ */

/* The files have been quiet for CHANGE_QUIET_MS since the last change: reload as SIGHUP does. */
static void changes_settled(void *ctx)
{
	struct control *c = ctx;
	log_notice("reloadOnChange: %s changed", c->changed);
	c->changed[0] = '\0';
	reload(c, "reloadOnChange");
}

static void on_watch(void *ctx, uint32_t events)
{
	struct control *c = ctx;
	char what[sizeof(c->changed)];
	if (!watch_changed(&c->watch, what, sizeof(what)) || c->stopping)
		return;
	if (!c->changed[0])
		snprintf(c->changed, sizeof(c->changed), "%s", what);
	log_debug("reloadOnChange: %s changed; reloading after %d ms without change", what, CHANGE_QUIET_MS);
	struct loop_tq *q = loop_tq_get(c->rt->loop, CHANGE_QUIET_MS);
	if (q) /* each change starts the quiet time again: a file being written is not read half-way */
		loop_timer_arm(c->rt->loop, &c->settle, q, changes_settled, c);
}

static void unwatch_files(struct control *c)
{
	loop_timer_cancel(&c->settle);
	if (c->watch_io.fd >= 0)
		loop_io_del(c->rt->loop, &c->watch_io);
	c->watch_io.fd = -1;
	watch_free(&c->watch);
}

/* With reloadOnChange in the configuration in use, watch the files it names (from the start directory,
 * where its relative names mean what they meant at start); without, watch nothing. */
static void watch_files(struct control *c)
{
	const struct cfg *cfg = &c->rt->cur->cfg;
	char skipped[1024];
	if (!cfg->g.reload_on_change || !c->o.config_file) {
		if (c->watch.fd >= 0)
			log_notice("reloadOnChange is off: files are no longer watched");
		unwatch_files(c);
		return;
	}
	int was = c->watch.fd >= 0, n = watch_set(&c->watch, cfg, skipped, sizeof(skipped));
	if (n < 0) {
		log_err("reloadOnChange: %s; files are not watched", skipped);
		unwatch_files(c);
		return;
	}
	if (n > 0)
		log_warn("reloadOnChange: %d director%s cannot be watched: %s", n, n == 1 ? "y" : "ies", skipped);
	if (!was && loop_io_add(c->rt->loop, &c->watch_io, c->watch.fd, EPOLLIN, on_watch, c) < 0) {
		log_err("reloadOnChange: epoll: %s; files are not watched", strerror(errno));
		unwatch_files(c);
		return;
	}
	if (!was)
		log_notice("reloadOnChange: watching %zu director%s for changes", c->watch.n, c->watch.n == 1 ? "y" : "ies");
}

/* ---- notifications, the stop ------------------------------------------------------------------------- */

static void notify_tick(void *ctx)
{
	struct control *c = ctx;
	struct runtime *rt = c->rt;
	if (notify_watchdog_usec())
		notify_watchdog(c->o.notify);
	notify_status(c->o.notify, "%s%zu service%s, %lu connections", c->stopping ? "stopping: " : "", rt->cur->nsvc,
		      rt->cur->nsvc == 1 ? "" : "s", runtime_open(rt));
	loop_timer_arm(rt->loop, &c->tick, loop_tq_get(rt->loop, c->tick_ms), notify_tick, c);
}

/* Under a service manager: READY now, then WATCHDOG at half its interval and STATUS every few seconds. */
static void notify_start(struct control *c)
{
	if (c->o.notify->fd < 0)
		return;
	uint64_t wd = notify_watchdog_usec();
	c->tick_ms = wd ? (wd / 2000 ? wd / 2000 : 1) : 5000;
	if (c->tick_ms > 5000)
		c->tick_ms = 5000;
	notify_ready(c->o.notify);
	if (loop_tq_get(c->rt->loop, c->tick_ms))
		notify_tick(c);
}

static void drain_over(void *ctx)
{
	struct control *c = ctx;
	log_notice("TIMEOUTclose passed with %lu connections open: closing them", runtime_open(c->rt));
	loop_stop(c->rt->loop);
}

int control_stopping(const struct runtime *rt)
{
	return rt->ctl && rt->ctl->stopping;
}

/* Stop accepting; the loop ends when the workers' last connection does, or after the longest TIMEOUTclose. */
static void stop_accepting(struct control *c)
{
	struct runtime *rt = c->rt;
	const char *why = strsignal(c->stop_signo);
	int wait_s = 0;
	for (int i = 0; i < rt->nworkers; i++) /* no worker watches a listener after this */
		worker_post(&rt->workers[i], W_STOP, NULL, NULL, 1);
	for (size_t i = 0; i < rt->cur->nsvc; i++) {
		service_stop_listening(&rt->cur->svc[i]);
		if (rt->cur->svc[i].cfg->timeout_close > wait_s)
			wait_s = rt->cur->svc[i].cfg->timeout_close;
	}
	unsigned long open = runtime_open(rt);
	if (open == 0) {
		log_notice("%s: shutting down (0 connections open)", why);
		loop_stop(rt->loop);
		return;
	}
	log_notice("%s: no longer accepting; waiting up to %ds for %lu connections (again to exit now)", why, wait_s, open);
	struct loop_tq *q = loop_tq_get(rt->loop, (uint64_t)wait_s * 1000);
	if (!q) {
		loop_stop(rt->loop);
		return;
	}
	loop_timer_arm(rt->loop, &c->drain, q, drain_over, c);
}

static void drain_delay_over(void *ctx)
{
	stop_accepting(ctx);
}

/* SIGTERM or SIGINT: /healthz fails from now on. With drainDelay, go on accepting that long first, so that a
 * load balancer's health check takes this instance out before its listeners close (connections the kernel
 * has queued on a listener are reset when it closes). */
static void stop_gracefully(struct control *c, int signo)
{
	struct runtime *rt = c->rt;
	int delay = rt->cur->cfg.g.drain_delay;
	c->stopping = 1;
	c->stop_signo = signo;
	notify_stopping(c->o.notify);
	struct loop_tq *q = delay > 0 ? loop_tq_get(rt->loop, (uint64_t)delay * 1000) : NULL;
	if (!q) {
		stop_accepting(c);
		return;
	}
	log_notice("%s: /healthz answers 503; accepting for %ds more (drainDelay; again to exit now)", strsignal(signo),
		   delay);
	loop_timer_arm(rt->loop, &c->delay, q, drain_delay_over, c);
}

static void on_inbox(void *ctx, uint32_t events)
{
	struct control *c = ctx;
	uint64_t count;
	if (read(c->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&c->mu);
	struct ctl_msg *m = c->inbox;
	c->inbox = NULL;
	c->inbox_tail = &c->inbox;
	pthread_mutex_unlock(&c->mu);
	while (m) {
		struct ctl_msg *next = m->next;
		if (m->kind == CTL_GEN_UNUSED)
			gen_unused(c->rt, m->gen);
		else if (m->kind == CTL_EXEC_ENDED)
			exec_ended(c, m->name);
		else if (m->kind == CTL_WORKER_IDLE && c->stopping && runtime_open(c->rt) == 0)
			loop_stop(c->rt->loop);
		else if (m->kind == CTL_LOG_HELD && !c->log_held.q && loop_tq_get(c->rt->loop, 1000))
			loop_timer_arm(c->rt->loop, &c->log_held, loop_tq_get(c->rt->loop, 1000), log_summaries, c);
		free(m);
		m = next;
	}
}

static void log_child_exit(pid_t pid, int status)
{
	if (WIFEXITED(status))
		log_info("exec child %ld exited with status %d", (long)pid, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_info("exec child %ld killed by %s", (long)pid, strsignal(WTERMSIG(status)));
}

static void on_signal(void *ctx, uint32_t events)
{
	struct control *c = ctx;
	struct runtime *rt = c->rt;
	struct signalfd_siginfo si;
	while (read(c->o.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			if (c->stopping) {
				log_notice("%s again: exiting now", strsignal((int)si.ssi_signo));
				loop_stop(rt->loop);
				break;
			}
			stop_gracefully(c, (int)si.ssi_signo);
			break;
		case SIGUSR2:
			log_notice("%lu connections open", runtime_open(rt));
			for (int i = 0; i < rt->nworkers; i++)
				worker_post(&rt->workers[i], W_LOG_CONNS, NULL, NULL, 1);
			break;
		case SIGCHLD:
			child_reap(log_child_exit);
			break;
		case SIGHUP:
			reload(c, "SIGHUP");
			break;
		case SIGUSR1:
			c->reopen = 1;
			break;
		default:
			break;
		}
	}
	if (c->reopen) {
		c->reopen = 0;
		if (log_open(log_level(), c->o.output, c->o.use_syslog, c->o.log_flags) < 0)
			log_err("SIGUSR1: cannot reopen %s: %s", c->o.output ? c->o.output : "log", strerror(errno));
		else
			log_notice("SIGUSR1: log reopened");
	}
}

/* ---- the run --------------------------------------------------------------------------------------- */

int control_run(struct runtime *rt, const struct control_opts *o, char started_with[N_RESTART_ONLY][320])
{
	struct control c = { .rt = rt, .o = *o, .started_with = started_with, .efd = -1, .status = -1 };
	int started = 0;
	c.inbox_tail = &c.inbox;
	c.sig_io.fd = c.efd_io.fd = c.watch_io.fd = -1;
	watch_init(&c.watch);
	pthread_mutex_init(&c.mu, NULL);
	if ((c.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    loop_io_add(rt->loop, &c.efd_io, c.efd, EPOLLIN, on_inbox, &c) < 0 ||
	    loop_io_add(rt->loop, &c.sig_io, o->sigfd, EPOLLIN, on_signal, &c) < 0) {
		log_err("control loop: %s", strerror(errno));
		goto out;
	}
	rt->ctl = &c;
	log_limit_set_wake(log_held, rt);
	for (; started < rt->nworkers; started++)
		if (worker_start(&rt->workers[started]) < 0) {
			log_err("worker %d: %s", started, strerror(errno));
			goto out;
		}
	switch_workers(rt, rt->cur);
	gen_log_services(rt->cur);
	log_notice("tlswrap %s (%s, %d worker%s) started, pid %ld", PACKAGE_VERSION, MBEDTLS_VERSION_STRING_FULL,
		   rt->nworkers, rt->nworkers == 1 ? "" : "s", (long)getpid());
	exec_start_all(&c, rt->cur);
	check_expiry(&c);
	if (c.o.startdir >= 0 && fchdir(c.o.startdir) < 0)
		log_warn("reloadOnChange: cannot go to the start directory: %s", strerror(errno));
	watch_files(&c);
	if (c.o.startdir >= 0 && chdir("/") < 0)
		log_warn("reloadOnChange: chdir /: %s", strerror(errno));
	notify_start(&c);
	c.status = loop_run(rt->loop);
	if (c.status < 0)
		log_err("event loop: %s", strerror(errno));
out:
	c.stopping = 1;
	loop_timer_cancel(&c.delay);
	loop_timer_cancel(&c.drain);
	loop_timer_cancel(&c.expiry);
	loop_timer_cancel(&c.tick);
	unwatch_files(&c);
	loop_timer_cancel(&c.log_held);
	for (int i = 0; i < started; i++)
		worker_post(&rt->workers[i], W_QUIT, NULL, NULL, 0);
	for (int i = 0; i < started; i++)
		worker_join(&rt->workers[i]);
	log_limit_set_wake(NULL, NULL);
	log_limit_flush(1); /* what was held back until the end */
	rt->ctl = NULL;
	on_inbox(&c, 0); /* what the workers said last: generations to free */
	loop_io_del(rt->loop, &c.efd_io);
	loop_io_del(rt->loop, &c.sig_io);
	if (c.efd >= 0)
		close(c.efd);
	for (int i = 0; i < c.nexec; i++)
		free(c.exec_links[i]);
	pthread_mutex_destroy(&c.mu);
	return c.status < 0 ? -1 : 0;
}
