/* Service manager notification: systemd's NOTIFY_SOCKET datagram protocol, without libsystemd. */
#ifndef TLSWRAP_NOTIFY_H
#define TLSWRAP_NOTIFY_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

struct notify {
	int fd; /* -1: no service manager listens; every send is a no-op */
	struct sockaddr_un addr;
	socklen_t addrlen;
	int connected; /* connected at open: sends need no path lookup (they work after a chroot) */
};

/* notify_open: read NOTIFY_SOCKET into N: an absolute path, or '@' and a name in the abstract
 * namespace. Unset: returns 0 with N->fd = -1 (disabled). Returns 0 with a datagram socket in
 * N->fd, or -1 with errno (EINVAL: empty, relative or other address kinds such as vsock:;
 * ENAMETOOLONG: longer than sun_path; or socket(2)'s) and N->fd = -1. The variable is left set. */
int notify_open(struct notify *n);

/* notify_send: send one datagram, FMT formatted (at most 4095 bytes), to N's service manager.
 * Never blocks and never raises SIGPIPE. Returns 0 (also when N is disabled), or -1 with errno
 * (EMSGSIZE when the message does not fit; EAGAIN when the manager's queue is full; sendto's). */
int notify_send(const struct notify *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The common messages; each returns as notify_send does. */
int notify_ready(const struct notify *n);     /* READY=1: listening, serving */
int notify_reloading(const struct notify *n); /* RELOADING=1 and MONOTONIC_USEC=now; READY=1 ends it */
int notify_stopping(const struct notify *n);  /* STOPPING=1 */
int notify_watchdog(const struct notify *n);  /* WATCHDOG=1: still alive */

/* notify_status: STATUS= and FMT formatted, a newline in the text sent as a space (a newline
 * would start another assignment). */
int notify_status(const struct notify *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* notify_watchdog_usec: WATCHDOG_USEC, the watchdog interval in microseconds, when it is a
 * positive decimal number and WATCHDOG_PID is unset or equals getpid(); otherwise 0 (no
 * watchdog). Send notify_watchdog() at least every half of it. */
uint64_t notify_watchdog_usec(void);

/* notify_close: close N's socket, if any, and leave N disabled. */
void notify_close(struct notify *n);

#endif
