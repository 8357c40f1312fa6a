/* The process's shape as a service: detaching, the pid file, the descriptor limit. */
#ifndef TLSWRAP_DAEMON_H
#define TLSWRAP_DAEMON_H

/* A written pid file: its path, and its directory held open so the file can be removed at exit
 * after a chroot has hidden the path. */
struct daemon_pidfile {
	const char *path;
	int dirfd; /* -1: none */
};

/* daemon_detach: double fork, setsid, chdir /, umask 022, stdio to /dev/null; only the grandchild
 * returns. Returns 0, or -1 with errno set (in whichever process failed). */
int daemon_detach(void);

/* daemon_raise_nofile: raise the soft RLIMIT_NOFILE to the hard one; a failure is logged, not fatal. */
void daemon_raise_nofile(void);

/* daemon_absolute_path: replace a relative *PATH (NULL is left alone) with one anchored at the current
 * directory. Returns 0, or -1 with errno set (*PATH unchanged). */
int daemon_absolute_path(char **path);

/* daemon_pidfile_check: can PATH's directory take the file? 0, or -1 with errno set. For start-up,
 * before detaching, while errors still reach a terminal. */
int daemon_pidfile_check(const char *path);

/* daemon_pidfile_write: write this process's id to PATH (absolute) atomically, a temporary file
 * renamed into place, and fill P. Returns 0, or -1 with errno set and nothing left behind. */
int daemon_pidfile_write(struct daemon_pidfile *p, const char *path);

/* daemon_pidfile_remove: remove P's file through its directory. After setuid the new user needs
 * write access to that directory; a failure is logged ("pid file ... not removed: ..."). */
void daemon_pidfile_remove(struct daemon_pidfile *p);

#endif
