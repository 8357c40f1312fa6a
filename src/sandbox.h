/* The sandbox of the serving phase (sandbox = yes): once listeners are bound, files loaded, privileges
 * dropped and the process daemonized, tlswrap confines itself with Landlock to what reload and log
 * reopening need: reading the directories its configuration names, writing its log's directory, binding
 * its accept ports and connecting to its connect ports. A Landlock domain cannot be widened, so a reload
 * that needs more is refused (sandbox_check_reload). */
#ifndef TLSWRAP_SANDBOX_H
#define TLSWRAP_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

/* One filesystem rule: ACCESS (LANDLOCK_ACCESS_FS_* bits) beneath PATH (a directory) or on PATH (a file). */
struct sandbox_rule {
	char *path;     /* as the kernel will see it: symbolic links resolved */
	uint64_t access;
	int dir;
	int fd;         /* an O_PATH descriptor of it opened before a chroot (not owned), or -1: open PATH */
	int seen;       /* the rule was given for the inode DEV, INO that PATH named then: Landlock binds it
			 * to that inode and holds it, so its number is not given to another meanwhile */
	dev_t dev;
	ino_t ino;
};

struct sandbox {
	int abi;          /* the kernel's Landlock ABI (0: none) */
	int fs, net;      /* the parts in force once applied */
	char exec[64];    /* a service that runs exec programs, which inherit the sandbox: no filesystem rules */
	char aia[64];     /* a service that asks the OCSP responders its peers' certificates name (OCSPaia):
			   * their ports are not known, so outgoing TCP is not restricted */
	int net_connect;  /* the connect ports are in force (sb->net, and no OCSPaia service) */
	struct sandbox_rule *rules;
	size_t nrules, cap;
	uint8_t bind[65536 / 8], connect[65536 / 8]; /* TCP ports, as bitmaps */
	int nbind, nconnect;
	char reports[4096];  /* a sanitized build: where its reports go (log_path), writable; "" otherwise */
};

/* What start-up knows beside the configuration, and what the rules are made for. */
struct sandbox_start {
	const char *output;    /* the log file (reopened on SIGUSR1), or NULL */
	const char *pidfile;   /* removed at exit, or NULL */
	int pid_dirfd;         /* ... from its directory, opened before any chroot (-1: none) */
	const char *status_path; /* the metrics endpoint's Unix socket (removed at exit), or NULL */
};

/* sandbox_plan: fill SB (zeroed here) with the rules CFG and ST need: read beneath the directories of
 * every file the configuration names (and of the configuration files themselves), write and create
 * beneath the log's directory, remove in the pid file's, the resolver's files, the accept ports to bind
 * and connect ports to reach. Nothing is enforced yet. Returns 0, or -1 when out of memory. */
int sandbox_plan(struct sandbox *sb, const struct cfg *cfg, const struct sandbox_start *st);

/* sandbox_apply: enforce SB on the calling thread and every thread and child it starts from now on (call
 * it before the workers start). Puts the one start-up line into LINE ("sandbox: Landlock ABI 7: ..." or
 * why nothing was applied) and returns 0; -1 when the kernel refused a sandbox it offers (LINE says why).
 * With ENABLED 0 (sandbox = no) nothing is applied. */
int sandbox_apply(struct sandbox *sb, int enabled, char *line, size_t len);

/* sandbox_check_reload: can a generation built from CFG work inside SB? 0 (also when no sandbox is in
 * force), or -1 with "file:line: [service] OPTION PATH is outside the sandbox set at start ..." in ERR. */
int sandbox_check_reload(const struct sandbox *sb, const struct cfg *cfg, char *err, size_t errlen);

/* sandbox_free: release what SB holds. */
void sandbox_free(struct sandbox *sb);

#endif
