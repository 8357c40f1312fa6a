/* exec = PROGRAM: the plaintext side of a connection is a child process on a socketpair. */
#ifndef TLSWRAP_CHILD_H
#define TLSWRAP_CHILD_H

#include <stddef.h>
#include <sys/types.h>

/* child_spawn: start PATH with ARGV (NULL-terminated; NULL = just the path) and ENV additions
 * ("NAME=value", NULL-terminated, added to tlswrap's own environment), its stdin and stdout one end of
 * a new socketpair, or with PTY the slave of a new pseudo-terminal, which is then its controlling
 * terminal in a session of its own (stunnel's pty = yes, for pppd); the other end (the
 * socket, or the pty master), non-blocking, is returned in *FD. Signals are as at a fresh start.
 * Returns the child's pid, or -1 with errno set (no fd is left open then). */
pid_t child_spawn(const char *path, char *const *argv, char *const *env, int pty, int *fd);

/* child_reap: collect every child that has exited (call on SIGCHLD); LOG_EXIT is called for each. */
void child_reap(void (*log_exit)(pid_t pid, int status));

/* child_split_args: split stunnel's execArgs ("prog -x arg") at spaces into ARGV (at most MAX-1
 * words, NULL-terminated), in BUF (a copy of ARGS). Returns the count, or -1 when there are too many. */
int child_split_args(const char *args, char *buf, size_t buflen, char **argv, int max);

#endif
