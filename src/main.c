/* tlswrap: command line, start-up, daemon, signals. Owns the runtime root. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/version.h>

#include "activation.h"
#include "child.h"
#include "conn.h"
#include "daemon.h"
#include "gen.h"
#include "log.h"
#include "notify.h"
#include "privs.h"
#include "resolve.h"
#include "service.h"
#include "status.h"
#include "suites.h"
#include "tls.h"

struct options {
	const char *file;
	int check;
	int force_foreground;
	int debug; /* -1: from the config */
	int flags_mode;
	int inetd; /* --inetd: serve one connection on stdin/stdout */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: tlswrap [options] [FILE]\n"
		   "       tlswrap [options] --accept [HOST:]PORT --connect [HOST:]PORT [--client] [--OPTION VALUE...]\n"
		   "\n"
		   "Runs the TLS services of the stunnel-style configuration FILE, or one service given as flags.\n"
		   "\n"
		   "  --check        load and validate FILE (certificates, keys, addresses), then exit 0 or 1\n"
		   "  --inetd        serve one connection on stdin/stdout (also: a FILE without [sections])\n"
		   "  -f             stay in the foreground, log to stderr unless output or syslog = yes\n"
		   "                 send it elsewhere (flags mode always stays in the foreground)\n"
		   "  -d LEVEL       log level 0-7 or emerg..debug (default notice)\n"
		   "  --version      print the tlswrap and mbedTLS versions\n"
		   "  --help         this text\n"
		   "\n"
		   "Any configuration option can be given as --name value (case-insensitive); yes/no options\n"
		   "such as --client may omit the value. See tlswrap(8) and tlswrap.conf(5).\n");
}

static int is_bool_option(const char *name)
{
	static const char *const bools[] = { "client", "foreground", "syslog", "verifyChain", "verifyPeer", "requireCert" };
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		if (strcasecmp(name, bools[i]) == 0)
			return 1;
	return 0;
}

/* Parses argv into O and, in flags mode, into C. Returns 0, 1 to exit 0 (help/version), -1 on error. */
static int parse_args(int argc, char **argv, struct options *o, struct cfg *c)
{
	char err[CFG_ERRLEN];
	o->debug = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 1;
		} else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
			printf("tlswrap %s\n%s\n", PACKAGE_VERSION, MBEDTLS_VERSION_STRING_FULL);
			return 1;
		} else if (strcmp(a, "--check") == 0) {
			o->check = 1;
		} else if (strcmp(a, "--inetd") == 0) {
			o->inetd = 1;
		} else if (strcmp(a, "-f") == 0) {
			o->force_foreground = 1;
		} else if (strcmp(a, "-d") == 0) {
			if (i + 1 >= argc || (o->debug = cfg_parse_level(argv[++i])) < 0) {
				log_startup_error("-d needs a level 0-7 or emerg..debug");
				return -1;
			}
		} else if (a[0] == '-' && a[1] == '-' && a[2]) {
			const char *name = a + 2, *value;
			if (!cfg_option_known(name)) {
				log_startup_error("unknown option '%s' (see --help)", a);
				return -1;
			}
			if (i + 1 < argc && !(argv[i + 1][0] == '-' && argv[i + 1][1] == '-'))
				value = argv[++i];
			else if (is_bool_option(name))
				value = "yes";
			else {
				log_startup_error("%s needs a value", a);
				return -1;
			}
			if (!o->flags_mode) {
				o->flags_mode = 1;
				if (cfg_section(c, "tunnel", 0, err, sizeof(err)) < 0) {
					log_startup_error("%s", err);
					return -1;
				}
			}
			if (cfg_set_flag(c, name, value, err, sizeof(err)) < 0) {
				log_startup_error("--%s", err);
				return -1;
			}
		} else if (a[0] == '-' && a[1]) {
			log_startup_error("unknown option '%s' (see --help)", a);
			return -1;
		} else if (!o->file) {
			o->file = a;
		} else {
			log_startup_error("more than one configuration file given");
			return -1;
		}
	}
	if (o->flags_mode && o->file) {
		log_startup_error("give either a configuration FILE or service options as flags, not both");
		return -1;
	}
	if (!o->flags_mode && !o->file) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/* --check: what start-up would stumble on before serving: the pid file's directory, the log file, the
 * chroot directory. */
static int check_paths(const char *pidfile, const char *output, const char *chroot_dir)
{
	struct stat st;
	if (pidfile && daemon_pidfile_check(pidfile) < 0) {
		log_startup_error("pid file %s: %s", pidfile, strerror(errno));
		return -1;
	}
	if (output && access(output, W_OK) < 0 && (errno != ENOENT || daemon_pidfile_check(output) < 0)) {
		log_startup_error("output %s: %s", output, strerror(errno));
		return -1;
	}
	if (!chroot_dir)
		return 0;
	int rc = stat(chroot_dir, &st);
	if (rc == 0 && S_ISDIR(st.st_mode))
		return 0;
	log_startup_error("chroot %s: %s", chroot_dir, strerror(rc == 0 ? ENOTDIR : errno));
	return -1;
}

enum key_check { KEYS_START, KEYS_CHECK, KEYS_RELOAD };

/* A private key others can read, in a process that stays root: refused (a warning with --check),
 * on stderr at start, in the log on reload. */
static int check_key_modes(const struct generation *g, const struct privs *p, enum key_check when)
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

/* Globals that only a restart can change: the process's shape (daemon, pid file, identity, jail) and what
 * was opened for it (log destination, metrics endpoint). `debug` and `logFormat` apply on reload. */
#define N_RESTART_ONLY 10
static const char *const restart_only[N_RESTART_ONLY] = { "foreground", "pid",    "output", "syslog", "setuid",
							  "setgid",     "chroot", "status", "log",    "service" };

static void restart_only_values(const struct cfg_global *g, char v[N_RESTART_ONLY][320])
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
}

struct signals {
	int fd;
	struct loop_io io;
	struct runtime *rt;
	int reopen;
	struct loop_timer drain; /* SIGTERM: how long connections may take to finish */
	struct loop_timer expiry; /* the daily certificate expiry check */
	struct notify notify;     /* systemd's NOTIFY_SOCKET (disabled when unset) */
	struct loop_timer tick;   /* watchdog and STATUS= for the service manager */
	uint64_t tick_ms;
	int use_syslog; /* as decided at start, for reopening */
	int log_flags;  /* LOG_OPEN_*, likewise */
	const char *output;      /* the log file, as at start */
	const char *config_file; /* what SIGHUP re-reads (NULL: flags mode) */
	struct privs privs;      /* what the process runs as (for the key check on reload) */
	struct status_server *status; /* the metrics endpoint, or NULL */
	int startdir; /* a daemon's start directory, for relative paths on reload (-1: none, or chrooted) */
	int debug_forced; /* -d on the command line: a reload keeps it */
	char started_with[N_RESTART_ONLY][320]; /* the file's restart-only globals at start (see reload_globals) */
};

#define EXPIRY_WARN_DAYS 30

/* Warn about certificates that expire within 30 days: at start, then daily. */
static void check_expiry(void *ctx)
{
	struct signals *s = ctx;
	struct runtime *rt = s->rt;
	time_t now = time(NULL);
	for (size_t i = 0; i < rt->cur->nsvc; i++) {
		long long end = tls_svc_not_after(&rt->cur->svc[i].tls);
		const struct cfg_service *c = rt->cur->svc[i].cfg;
		if (!end || end - now > EXPIRY_WARN_DAYS * 86400LL)
			continue;
		if (end <= now)
			log_err("[%s] certificate %s has expired", c->name, c->cert);
		else
			log_warn("[%s] certificate %s expires in %lld days", c->name, c->cert, (end - now + 86399) / 86400);
	}
	struct loop_tq *q = loop_tq_get(rt->loop, 86400ULL * 1000);
	if (q)
		loop_timer_arm(rt->loop, &s->expiry, q, check_expiry, s);
}

/* SIGHUP: build the new configuration beside the running one and swap; on any error the running one
 * stays. Connections keep the generation they started under. Of the globals, `debug` and `logFormat` apply at
 * once, the rest at the next start (reload_globals). */
static void reload_into(struct signals *s);

static void reload(struct signals *s)
{
	if (!s->config_file) {
		log_warn("SIGHUP: a tunnel given as flags has no configuration file to reload");
		return;
	}
	if (s->rt->draining)
		return;
	log_notice("SIGHUP: reloading %s", s->config_file);
	notify_reloading(&s->notify);
	/* relative paths in the file mean what they meant at start */
	if (s->startdir >= 0 && fchdir(s->startdir) < 0)
		log_warn("SIGHUP: cannot return to the start directory: %s", strerror(errno));
	reload_into(s);
	if (s->startdir >= 0 && chdir("/") < 0)
		log_warn("SIGHUP: chdir /: %s", strerror(errno));
	notify_ready(&s->notify);
}

/* After a reload: the new `debug` (unless -d set it) and `logFormat` take effect; a restart-only global
 * that differs from what the process started with is named, so nobody waits for it to apply. */
static void reload_globals(struct signals *s, const struct cfg_global *g)
{
	if (!s->debug_forced && g->debug != log_level()) {
		log_set_level(g->debug);
		log_notice("SIGHUP: debug level is now %d", g->debug);
	}
	if (g->log_json != log_json_on()) {
		log_set_json(g->log_json);
		log_notice("SIGHUP: logFormat is now %s", g->log_json ? "json" : "text");
	}
	char now[N_RESTART_ONLY][320];
	restart_only_values(g, now);
	for (int i = 0; i < N_RESTART_ONLY; i++)
		if (strcmp(now[i], s->started_with[i]) != 0)
			log_warn("SIGHUP: %s differs from the running value; it takes effect at the next start", restart_only[i]);
}

static void reload_into(struct signals *s)
{
	struct runtime *rt = s->rt;
	struct cfg cfg;
	char err[CFG_ERRLEN * 2];
	if (cfg_load(s->config_file, &cfg, 0, err, sizeof(err)) < 0) {
		log_err("reload failed, still serving the previous configuration: %s", err);
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
	if (check_key_modes(g, &s->privs, KEYS_RELOAD) < 0) {
		gen_free(g);
		return;
	}
	if (gen_listen(g, rt->cur, err, sizeof(err)) < 0) {
		log_err("reload failed, still serving the previous configuration: %s", err);
		gen_free(g);
		return;
	}
	gen_retire(rt, rt->cur);
	rt->cur = g;
	gen_log_services(g);
	gen_start_exec(rt, g);
	reload_globals(s, &g->cfg.g);
	log_notice("SIGHUP: configuration reloaded (%zu service%s; %lu connections carry on)", g->nsvc,
		   g->nsvc == 1 ? "" : "s", rt->nconns);
	check_expiry(s);
}

static void notify_tick(void *ctx)
{
	struct signals *s = ctx;
	if (notify_watchdog_usec())
		notify_watchdog(&s->notify);
	notify_status(&s->notify, "%s%zu service%s, %lu connections", s->rt->draining ? "stopping: " : "",
		      s->rt->cur->nsvc, s->rt->cur->nsvc == 1 ? "" : "s", s->rt->nconns);
	loop_timer_arm(s->rt->loop, &s->tick, loop_tq_get(s->rt->loop, s->tick_ms), notify_tick, s);
}

/* Under a service manager: READY now, then WATCHDOG at half its interval and STATUS every few seconds. */
static void notify_start(struct signals *s)
{
	if (s->notify.fd < 0)
		return;
	uint64_t wd = notify_watchdog_usec();
	s->tick_ms = wd ? (wd / 2000 ? wd / 2000 : 1) : 5000;
	if (s->tick_ms > 5000)
		s->tick_ms = 5000;
	notify_ready(&s->notify);
	if (loop_tq_get(s->rt->loop, s->tick_ms))
		notify_tick(s);
}

static void drain_over(void *ctx)
{
	struct signals *s = ctx;
	log_notice("TIMEOUTclose passed with %lu connections open: closing them", s->rt->nconns);
	loop_stop(s->rt->loop);
}

/* Stop accepting; the loop ends when the last connection does, or after the longest TIMEOUTclose. */
static void stop_gracefully(struct signals *s, const char *why)
{
	struct runtime *rt = s->rt;
	int wait_s = 0;
	for (size_t i = 0; i < rt->cur->nsvc; i++) {
		service_stop_listening(&rt->cur->svc[i]);
		if (rt->cur->svc[i].cfg->timeout_close > wait_s)
			wait_s = rt->cur->svc[i].cfg->timeout_close;
	}
	rt->draining = 1;
	conn_close_exec_links(rt, "stopping");
	notify_stopping(&s->notify);
	if (rt->nconns == 0) {
		log_notice("%s: shutting down (0 connections open)", why);
		loop_stop(rt->loop);
		return;
	}
	log_notice("%s: no longer accepting; waiting up to %ds for %lu connections (again to exit now)", why, wait_s,
		   rt->nconns);
	struct loop_tq *q = loop_tq_get(rt->loop, (uint64_t)wait_s * 1000);
	if (!q) {
		loop_stop(rt->loop);
		return;
	}
	loop_timer_arm(rt->loop, &s->drain, q, drain_over, s);
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
	struct signals *s = ctx;
	struct signalfd_siginfo si;
	while (read(s->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			if (s->rt->draining) {
				log_notice("%s again: exiting now", strsignal((int)si.ssi_signo));
				loop_stop(s->rt->loop);
				break;
			}
			stop_gracefully(s, strsignal((int)si.ssi_signo));
			break;
		case SIGUSR2:
			conn_log_all(s->rt);
			break;
		case SIGCHLD:
			child_reap(log_child_exit);
			break;
		case SIGHUP:
			reload(s);
			break;
		case SIGUSR1:
			s->reopen = 1;
			break;
		default:
			break;
		}
	}
	if (s->reopen) {
		s->reopen = 0;
		if (log_open(log_level(), s->output, s->use_syslog, s->log_flags) < 0)
			log_err("SIGUSR1: cannot reopen %s: %s", s->output ? s->output : "log", strerror(errno));
		else
			log_notice("SIGUSR1: log reopened");
	}
}

/* inetd mode: the one service serves the connection on stdin/stdout, then tlswrap exits. */
static int run_inetd(struct runtime *rt, struct signals *sig, const char *chroot_dir)
{
	char err[CFG_ERRLEN];
	int type = 0;
	socklen_t tl = sizeof(type);
	struct sockaddr_storage peer = { .ss_family = AF_UNSPEC };
	socklen_t pl = sizeof(peer);
	if (getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM) {
		log_err("inetd mode: stdin is not a TCP socket");
		return 1;
	}
	getpeername(0, (struct sockaddr *)&peer, &pl);
	int fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
	int null = open("/dev/null", O_RDWR);
	if (fd < 0 || null < 0) {
		log_err("inetd mode: %s", strerror(errno));
		return 1;
	}
	/* only our copy of the socket stays: a close by us is then a close for the client */
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	if (null > 2)
		close(null);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	signal(SIGPIPE, SIG_IGN);
	if (privs_drop(chroot_dir, &sig->privs, err, sizeof(err)) < 0) {
		log_err("%s", err);
		close(fd);
		return 1;
	}
	rt->draining = 1; /* the loop ends with the connection */
	conn_accept(&rt->cur->svc[0], fd, (struct sockaddr *)&peer);
	if (rt->nconns && loop_run(rt->loop) < 0)
		log_err("event loop: %s", strerror(errno));
	conn_close_all(rt, "shutting down");
	(void)sig;
	return 0;
}

int main(int argc, char **argv)
{
	static struct runtime rt; /* large (scratch buffer); the root of everything while serving */
	struct options o = { 0 };
	struct signals sig = { .fd = -1, .rt = &rt, .notify = { .fd = -1 }, .startdir = -1 };
	struct cfg cfg;
	char err[CFG_ERRLEN * 2];
	char *config_file = NULL, *pidfile = NULL, *output = NULL, *chroot_dir = NULL, *status_file = NULL;
	struct daemon_pidfile pid_file = { .dirfd = -1 };
	int status = 1;

	if (log_keep_off_client() < 0) /* inetd: stderr is the client's socket */
		return 1;
	cfg_init(&cfg, "command line");
	int r = parse_args(argc, argv, &o, &cfg);
	if (r != 0) {
		cfg_free(&cfg);
		return r > 0 ? 0 : 1;
	}
	if (o.flags_mode) {
		cfg.inetd = o.inetd;
		if (cfg_finish(&cfg, err, sizeof(err)) < 0) {
			log_startup_error("%s", err);
			cfg_free(&cfg);
			return 1;
		}
		cfg.g.foreground = 1;
	} else {
		cfg_free(&cfg);
		/* the daemon runs in /: SIGHUP must find the file where it was at start */
		config_file = realpath(o.file, NULL);
		if (cfg_load(config_file ? config_file : o.file, &cfg, o.inetd, err, sizeof(err)) < 0) {
			log_startup_error("%s", err);
			free(config_file);
			return 1;
		}
	}
	struct cfg_global *g = &cfg.g;
	restart_only_values(g, sig.started_with); /* as the file says, before the command line's changes */
	sig.debug_forced = o.debug >= 0;
	if (o.inetd || (cfg.nsvc == 1 && cfg.svc[0].inetd)) {
		if (cfg.nsvc != 1) {
			log_startup_error("--inetd needs exactly one service, %s has %zu", cfg.file, cfg.nsvc);
			goto err0;
		}
		o.inetd = 1;
		/* stdin, stdout and stderr are the client's socket: nothing may be written there */
		g->foreground = 1;
		if (g->syslog == CFG_UNSET && !g->output)
			g->syslog = 1;
	}
	/* likewise relative pid and log paths mean the directory tlswrap was started in */
	if (daemon_absolute_path(&g->pid) < 0 || daemon_absolute_path(&g->output) < 0) {
		log_startup_error("%s", strerror(errno));
		goto err0;
	}
	if (o.force_foreground)
		g->foreground = 1;
	int level = o.debug >= 0 ? o.debug : g->debug;
	/* foreground = quiet: stunnel's foreground without stderr, so the log goes to syslog unless told not to */
	int quiet = g->quiet && !o.force_foreground;
	int use_syslog = g->syslog == CFG_UNSET ? !g->foreground || quiet : g->syslog;
	int log_flags = (g->log_overwrite ? LOG_OPEN_OVERWRITE : 0) | (quiet ? LOG_OPEN_QUIET : 0);
	if (o.check) { /* validation reports on stderr, whatever the config says about logging */
		use_syslog = 0;
		log_flags = 0;
	}
	/* the globals are the first configuration's for the whole run: keep what is needed of them */
	pidfile = g->pid ? strdup(g->pid) : NULL;
	output = g->output ? strdup(g->output) : NULL;
	chroot_dir = g->chroot ? strdup(g->chroot) : NULL;
	int foreground = g->foreground, has_status = g->has_status, status_line = g->status_line;
	status_file = g->status_file ? strdup(g->status_file) : NULL; /* an included file's name */
	struct cfg_addr status_addr = g->status;
	sig.use_syslog = use_syslog;
	sig.output = output;
	log_set_json(g->log_json);
	sig.config_file = config_file;
	sig.log_flags = log_flags;
	log_set_ident(g->service);
	if (log_open(level, o.check ? NULL : output, use_syslog, log_flags) < 0) {
		log_startup_error("output %s: %s", output, strerror(errno));
		goto err0;
	}
	if (privs_resolve(g->setuid, g->setgid, &sig.privs, err, sizeof(err)) < 0) {
		log_startup_error("%s: %s", cfg.file, err);
		goto err0;
	}
	if (tls_lib_init(err, sizeof(err)) < 0) {
		log_startup_error("%s", err);
		goto err0;
	}
	if (!(rt.loop = loop_new()) || !(rt.resolver = resolve_new(rt.loop))) {
		log_startup_error("epoll: %s", strerror(errno));
		goto err2;
	}
	if (!(rt.cur = gen_build(&rt, &cfg, err, sizeof(err)))) {
		log_startup_error("%s", err);
		goto err2;
	}
	if (check_key_modes(rt.cur, &sig.privs, o.check ? KEYS_CHECK : KEYS_START) < 0)
		goto err3;
	if (o.check && check_paths(pidfile, output, chroot_dir) < 0)
		goto err3;
	if (o.check) {
		printf("%s: OK (%zu service%s%s)\n", rt.cur->cfg.file, rt.cur->nsvc, rt.cur->nsvc == 1 ? "" : "s",
		       o.inetd ? ", inetd mode" : "");
		/* what a cipher string chose, for the services that gave one */
		for (size_t i = 0; i < rt.cur->nsvc; i++) {
			const struct service *sv = &rt.cur->svc[i];
			char list[8192];
			fputs(cfg_notes(sv->cfg, list, sizeof(list)), stdout);
			if (!sv->cfg->ciphers && !sv->cfg->ciphersuites)
				continue;
			suites_describe(sv->tls.suites, list, sizeof(list));
			printf("[%s] cipher suites: %s\n", sv->cfg->name, list);
		}
		status = 0;
		goto err3;
	}
	if (o.inetd) {
		status = run_inetd(&rt, &sig, chroot_dir);
		goto err3;
	}
	struct activation inherited;
	if (activation_collect(&inherited, err, sizeof(err)) < 0) {
		log_startup_error("socket activation: %s", err);
		activation_done(&inherited);
		goto err3;
	}
	rt.inherited = &inherited;
	r = gen_listen(rt.cur, NULL, err, sizeof(err));
	rt.inherited = NULL;
	activation_done(&inherited);
	if (r < 0) {
		log_startup_error("%s", err);
		goto err3;
	}
	if (has_status && status_open(&sig.status, &rt, &status_addr, err, sizeof(err)) < 0) {
		if (status_line > 0)
			log_startup_error("%s:%d: %s", status_file ? status_file : rt.cur->cfg.file, status_line, err);
		else
			log_startup_error("%s", err);
		goto err3;
	}
	daemon_raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if (pidfile && daemon_pidfile_check(pidfile) < 0) {
		log_startup_error("pid file %s: %s", pidfile, strerror(errno));
		goto err3;
	}
	/* a daemon leaves its start directory; a chrooted one must not keep a way back out */
	if (!foreground && !chroot_dir)
		sig.startdir = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!foreground) {
		if (daemon_detach() < 0) {
			log_err("daemonize: %s", strerror(errno));
			goto err3;
		}
		/* a fork does not reseed the RNG: start PSA afresh in the daemon */
		tls_lib_done();
		if (tls_lib_init(err, sizeof(err)) < 0) {
			log_err("%s", err);
			goto err3;
		}
	}
	/* after the fork: a signalfd watched by epoll only wakes the process that registered it */
	if ((sig.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
	    loop_io_add(rt.loop, &sig.io, sig.fd, EPOLLIN, on_signal, &sig) < 0) {
		log_err("signalfd: %s", strerror(errno));
		goto err4;
	}
	if (pidfile && daemon_pidfile_write(&pid_file, pidfile) < 0) {
		log_err("pid file %s: %s", pidfile, strerror(errno));
		goto err4;
	}
	/* before the chroot: the service manager's socket is outside it */
	if (notify_open(&sig.notify) < 0)
		log_warn("NOTIFY_SOCKET: %s; not notifying the service manager", strerror(errno));
	if (privs_drop(chroot_dir, &sig.privs, err, sizeof(err)) < 0) {
		log_err("%s", err);
		if (pidfile)
			daemon_pidfile_remove(&pid_file);
		goto err4;
	}
	gen_log_services(rt.cur);
	log_notice("tlswrap %s (%s) started, pid %ld", PACKAGE_VERSION, MBEDTLS_VERSION_STRING_FULL, (long)getpid());
	gen_start_exec(&rt, rt.cur);
	check_expiry(&sig);
	notify_start(&sig);
	if (loop_run(rt.loop) < 0)
		log_err("event loop: %s", strerror(errno));
	else
		status = 0;
	loop_timer_cancel(&sig.drain);
	loop_timer_cancel(&sig.expiry);
	loop_timer_cancel(&sig.tick);
	conn_close_all(&rt, "shutting down");
	if (pidfile)
		daemon_pidfile_remove(&pid_file);
	log_notice("tlswrap stopped");
err4:
	if (sig.fd >= 0) {
		loop_io_del(rt.loop, &sig.io);
		close(sig.fd);
	}
err3:
	status_close(sig.status);
	if (sig.startdir >= 0)
		close(sig.startdir);
	gen_free(rt.cur);
	notify_close(&sig.notify);
err2:
	resolve_free(rt.resolver);
	if (rt.loop)
		loop_free(rt.loop);
	tls_lib_done();
err0:
	cfg_free(&cfg);
	free(pidfile);
	free(output);
	free(chroot_dir);
	free(status_file);
	free(config_file);
	return status;
}
