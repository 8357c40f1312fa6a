/* tlswrap: command line and start-up (configuration, sockets, daemon, privileges), then the control plane
 * (control.c) and the workers (worker.c) serve. Owns the runtime root. */
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
#include "control.h"
#include "daemon.h"
#include "keypass.h"
#include "gen.h"
#include "limit.h"
#include "log.h"
#include "notify.h"
#include "privs.h"
#include "resolve.h"
#include "sandbox.h"
#include "service.h"
#include "status.h"
#include "suites.h"
#include "tls.h"
#include "worker.h"

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

/* How many workers: `workers = N`, or for auto the CPUs this process may use (TLSWRAP_WORKERS, when set,
 * stands for auto: the test suite runs with several workers on any machine). */
static int workers_wanted(int configured)
{
	if (configured > 0)
		return configured;
	const char *env = getenv("TLSWRAP_WORKERS");
	char *end;
	long n = env && *env ? strtol(env, &end, 10) : 0;
	if (env && *env && (*end || n < 1 || n > CFG_MAX_WORKERS)) {
		log_startup_error("TLSWRAP_WORKERS=%s: expected 1-%d; using the CPU count", env, CFG_MAX_WORKERS);
		n = 0;
	}
	if (n > 0)
		return (int)n;
	int cpus = worker_online_cpus();
	return cpus > CFG_MAX_WORKERS ? CFG_MAX_WORKERS : cpus;
}

/* inetd mode: the one service serves the connection on stdin/stdout, then tlswrap exits. */
/* After setuid: an encrypted key whose passphrase came from a file or credential the new user cannot read
 * (systemd's credentials directory is root's only) loaded at start, but will not on a reload. */
static void warn_unreadable_passphrases(const struct generation *g)
{
	for (size_t i = 0; i < g->nsvc; i++) {
		const char *path = g->svc[i].tls.key_pass_path;
		if (path && access(path, R_OK) < 0)
			log_warn("[%s] the passphrase of key %s, read from %s at start, cannot be read after setuid (%s): "
				 "a reload will fail to load the key (see README.md, Encrypted keys)",
				 g->svc[i].cfg->name, g->svc[i].cfg->key ? g->svc[i].cfg->key : g->svc[i].cfg->cert, path,
				 strerror(errno));
	}
}

static int run_inetd(struct runtime *rt, const struct privs *privs, const char *chroot_dir)
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
	if (privs_drop(chroot_dir, privs, err, sizeof(err)) < 0) {
		log_err("%s", err);
		close(fd);
		return 1;
	}
	/* one worker on this thread, without a control plane: its loop ends with the connection */
	struct worker *w = &rt->workers[0];
	w->alone = 1;
	w->stopping = 1;
	worker_watch(w, rt->cur); /* no listener: only the timer queues */
	conn_accept(&rt->cur->svc[0], w, fd, (struct sockaddr *)&peer, 0);
	if (w->nconns)
		worker_run(w);
	worker_watch(w, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	static struct runtime rt; /* the root of everything while serving */
	struct options o = { 0 };
	struct notify notify = { .fd = -1 };
	struct control_opts co = { .sigfd = -1, .startdir = -1, .notify = &notify };
	char started_with[N_RESTART_ONLY][320];
	struct cfg cfg;
	char err[CFG_ERRLEN * 2];
	char *config_file = NULL, *pidfile = NULL, *output = NULL, *chroot_dir = NULL, *status_file = NULL;
	struct daemon_pidfile pid_file = { .dirfd = -1 };
	struct sandbox sandbox = { 0 };
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
	control_restart_only_values(g, started_with); /* as the file says, before the command line's changes */
	co.debug_forced = o.debug >= 0;
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
	if (g->reload_on_change && (o.flags_mode || o.inetd)) { /* nothing to reload: refused, not ignored */
		log_startup_error("%s: reloadOnChange = yes needs a configuration file to reload and a process that "
				  "stays (not %s)", cfg.file, o.flags_mode ? "a tunnel given as flags" : "inetd mode");
		goto err0;
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
	int sandbox_on = g->sandbox != 0;
	status_file = g->status_file ? strdup(g->status_file) : NULL; /* an included file's name */
	struct cfg_addr status_addr = g->status;
	co.use_syslog = use_syslog;
	co.output = output;
	log_set_json(g->log_json);
	co.config_file = config_file;
	co.log_flags = log_flags;
	log_set_ident(g->service);
	if (log_open(level, o.check ? NULL : output, use_syslog, log_flags) < 0) {
		log_startup_error("output %s: %s", output, strerror(errno));
		goto err0;
	}
	if (privs_resolve(g->setuid, g->setgid, &co.privs, err, sizeof(err)) < 0) {
		log_startup_error("%s: %s", cfg.file, err);
		goto err0;
	}
	if (tls_lib_init(err, sizeof(err)) < 0) {
		log_startup_error("%s", err);
		goto err0;
	}
	if (!(rt.loop = loop_new())) {
		log_startup_error("epoll: %s", strerror(errno));
		goto err2;
	}
	int nworkers = o.inetd || o.check ? 1 : workers_wanted(g->workers);
	if (!(rt.workers = calloc((size_t)nworkers, sizeof(*rt.workers)))) {
		log_startup_error("%s", strerror(errno));
		goto err2;
	}
	for (; rt.nworkers < nworkers; rt.nworkers++)
		if (worker_init(&rt.workers[rt.nworkers], &rt, rt.nworkers) < 0) {
			log_startup_error("worker %d: %s", rt.nworkers, strerror(errno));
			goto err2;
		}
	/* the one time a passphrase may be typed: a reload has no terminal to ask at */
	rt.key_prompt = foreground && !o.inetd && keypass_can_prompt();
	rt.cur = gen_build(&rt, &cfg, err, sizeof(err));
	rt.key_prompt = 0;
	if (!rt.cur) {
		log_startup_error("%s", err);
		goto err2;
	}
	limit_init(&rt.total, "", rt.cur->cfg.g.max_connections);
	if (control_check_key_modes(rt.cur, &co.privs, o.check ? KEYS_CHECK : KEYS_START) < 0)
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
		status = run_inetd(&rt, &co.privs, chroot_dir);
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
	if (has_status && status_open(&co.status, &rt, &status_addr, err, sizeof(err)) < 0) {
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
		co.startdir = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
	if ((co.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		log_err("signalfd: %s", strerror(errno));
		goto err4;
	}
	if (pidfile && daemon_pidfile_write(&pid_file, pidfile) < 0) {
		log_err("pid file %s: %s", pidfile, strerror(errno));
		goto err4;
	}
	/* before the chroot: the service manager's socket is outside it */
	if (notify_open(&notify) < 0)
		log_warn("NOTIFY_SOCKET: %s; not notifying the service manager", strerror(errno));
	if (privs_drop(chroot_dir, &co.privs, err, sizeof(err)) < 0) {
		log_err("%s", err);
		if (pidfile)
			daemon_pidfile_remove(&pid_file);
		goto err4;
	}
	/* last: the rules are paths as seen from inside the chroot, and no thread runs yet (a Landlock
	 * domain binds the calling thread and what it starts from then on) */
	struct sandbox_start sst = { .output = output, .pidfile = pidfile, .pid_dirfd = pid_file.dirfd,
				     .status_path = has_status && status_addr.path[0] ? status_addr.path : NULL };
	/* relative paths in the file mean the start directory, as on reload */
	if (co.startdir >= 0 && fchdir(co.startdir) < 0)
		log_warn("sandbox: cannot return to the start directory: %s", strerror(errno));
	if (co.privs.has_uid)
		warn_unreadable_passphrases(rt.cur);
	r = sandbox_plan(&sandbox, &rt.cur->cfg, &sst);
	if (co.startdir >= 0 && chdir("/") < 0)
		log_warn("sandbox: chdir /: %s", strerror(errno));
	if (r < 0)
		snprintf(err, sizeof(err), "sandbox: out of memory");
	else if (sandbox_apply(&sandbox, sandbox_on, err, sizeof(err)) == 0)
		co.sandbox = &sandbox;
	if (!co.sandbox) {
		log_err("%s", err);
		if (pidfile)
			daemon_pidfile_remove(&pid_file);
		goto err4;
	}
	log_notice("%s", err);
	if (control_run(&rt, &co, started_with) == 0)
		status = 0;
	if (pidfile)
		daemon_pidfile_remove(&pid_file);
	log_notice("tlswrap stopped");
err4:
	if (co.sigfd >= 0)
		close(co.sigfd);
	sandbox_free(&sandbox);
err3:
	status_close(co.status);
	if (co.startdir >= 0)
		close(co.startdir);
	gen_free(rt.cur);
	while (rt.retired) { /* not after a clean stop: their connections were closed, which freed them */
		struct generation *next = rt.retired->next;
		gen_free(rt.retired);
		rt.retired = next;
	}
	notify_close(&notify);
err2:
	for (int i = 0; i < rt.nworkers; i++)
		worker_free(&rt.workers[i]);
	free(rt.workers);
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
