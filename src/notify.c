/* sd_notify(3)'s protocol: one datagram of newline-separated VAR=value to $NOTIFY_SOCKET. */
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int notify_open(struct notify *n)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t len;

	n->fd = -1;
	if (!path)
		return 0;
	len = strlen(path);
	memset(&n->addr, 0, sizeof(n->addr));
	n->addr.sun_family = AF_UNIX;
	if (path[0] == '/') {
		/* the terminating NUL must fit too */
		if (len >= sizeof(n->addr.sun_path))
			goto toolong;
		memcpy(n->addr.sun_path, path, len + 1);
		n->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	} else if (path[0] == '@' && len > 1) {
		/* abstract: a leading NUL, then exactly the name's bytes (no terminator) */
		if (len > sizeof(n->addr.sun_path))
			goto toolong;
		memcpy(n->addr.sun_path + 1, path + 1, len - 1);
		n->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	} else {
		errno = EINVAL;
		return -1;
	}
	if ((n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	/* connect now when the manager listens: a path is then never looked up again, even from a chroot */
	n->connected = connect(n->fd, (const struct sockaddr *)&n->addr, n->addrlen) == 0;
	return 0;

toolong:
	errno = ENAMETOOLONG;
	return -1;
}

/* Send PREFIX and FMT formatted; with ONELINE, newlines in the formatted part become spaces. */
static int notify_vsend(const struct notify *n, const char *prefix, int oneline, const char *fmt, va_list ap)
{
	char msg[4096];
	size_t plen = strlen(prefix);
	int len;

	if (n->fd < 0)
		return 0;
	memcpy(msg, prefix, plen);
	if ((len = vsnprintf(msg + plen, sizeof(msg) - plen, fmt, ap)) < 0)
		return -1;
	if ((size_t)len >= sizeof(msg) - plen) {
		errno = EMSGSIZE;
		return -1;
	}
	for (char *p = msg + plen; oneline && (p = strchr(p, '\n')) != NULL;)
		*p = ' ';
	ssize_t sent = n->connected ? send(n->fd, msg, plen + (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL)
				    : sendto(n->fd, msg, plen + (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL,
					     (const struct sockaddr *)&n->addr, n->addrlen);
	if (sent < 0)
		return -1;
	return 0;
}

int notify_send(const struct notify *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = notify_vsend(n, "", 0, fmt, ap);
	va_end(ap);
	return r;
}

int notify_status(const struct notify *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = notify_vsend(n, "STATUS=", 1, fmt, ap);
	va_end(ap);
	return r;
}

int notify_ready(const struct notify *n)
{
	return notify_send(n, "READY=1");
}

int notify_reloading(const struct notify *n)
{
	/* systemd needs the timestamp to tell this reload from an earlier one (Type=notify-reload) */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	unsigned long long usec = (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000;
	return notify_send(n, "RELOADING=1\nMONOTONIC_USEC=%llu", usec);
}

int notify_stopping(const struct notify *n)
{
	return notify_send(n, "STOPPING=1");
}

int notify_watchdog(const struct notify *n)
{
	return notify_send(n, "WATCHDOG=1");
}

/* A positive decimal number with nothing after it, or 0. */
static uint64_t notify_parse_u64(const char *s)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return 0;
	return v;
}

uint64_t notify_watchdog_usec(void)
{
	/* set for the main process only: a process forked by it must not ping as if it were the service */
	const char *pid = getenv("WATCHDOG_PID");
	if (pid && notify_parse_u64(pid) != (uint64_t)getpid())
		return 0;
	return notify_parse_u64(getenv("WATCHDOG_USEC"));
}

void notify_close(struct notify *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}
