/* Child processes for exec: spawned with posix_spawn (no copy of a large parent), reaped on SIGCHLD. */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* A pseudo-terminal: *MASTER stays with tlswrap, the slave's path goes to the child. Its modes are the
 * kernel's defaults, as with stunnel's openpty(): the program sets what it needs (pppd makes it raw). */
static int open_pty(int *master, char *slave, size_t len)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return -1;
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, slave, len) != 0) {
		int e = errno;
		close(m);
		errno = e;
		return -1;
	}
	*master = m;
	return 0;
}

pid_t child_spawn(const char *path, char *const *argv, char *const *env, int pty, int *fd)
{
	int sv[2], e;
	char slave[64];
	pid_t pid = -1;
	char *own_argv[] = { (char *)path, NULL };
	size_t n = 0, k = 0;
	while (environ[n])
		n++;
	while (env && env[k])
		k++;
	char **envp = calloc(n + k + 1, sizeof(*envp));
	if (!envp)
		return -1;
	if (k) /* ours first: they win over inherited ones of the same name */
		memcpy(envp, env, k * sizeof(*envp));
	memcpy(envp + k, environ, n * sizeof(*envp));
	if (pty ? open_pty(&sv[0], slave, sizeof(slave)) < 0 : socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		goto err0;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dflt;
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	posix_spawn_file_actions_init(&fa);
	if (pty) {
		/* opened after setsid, without O_NOCTTY: it becomes the child's controlling terminal */
		posix_spawn_file_actions_addopen(&fa, 0, slave, O_RDWR, 0);
		posix_spawn_file_actions_adddup2(&fa, 0, 1);
	} else {
		posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
		posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
	}
	posix_spawnattr_init(&at);
	/* tlswrap blocks its signals for signalfd and ignores SIGPIPE: the program must not inherit that */
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dflt);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (pty ? POSIX_SPAWN_SETSID : 0));
	e = posix_spawn(&pid, path, &fa, &at, argv ? argv : own_argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (!pty)
		close(sv[1]);
	if (e) {
		close(sv[0]);
		errno = e;
		pid = -1;
		goto err0;
	}
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	*fd = sv[0];
err0:
	free(envp);
	return pid;
}

void child_reap(void (*log_exit)(pid_t pid, int status))
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if (log_exit)
			log_exit(pid, status);
}

int child_split_args(const char *args, char *buf, size_t buflen, char **argv, int max)
{
	int n = 0;
	snprintf(buf, buflen, "%s", args);
	for (char *save = NULL, *w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (n >= max - 1)
			return -1;
		argv[n++] = w;
	}
	argv[n] = NULL;
	return n;
}
