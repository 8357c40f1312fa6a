/* LISTEN_FDS protocol: fds 3..3+N-1, names in LISTEN_FDNAMES separated by ':'. */
#include "activation.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "service.h"

#define LISTEN_FDS_START 3

int activation_collect(struct activation *a, char *err, size_t errlen)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS"), *names = getenv("LISTEN_FDNAMES");
	memset(a, 0, sizeof(*a));
	if (!pid || !fds || strtol(pid, NULL, 10) != (long)getpid())
		return 0;
	long n = strtol(fds, NULL, 10);
	if (n <= 0 || n > 1024) {
		snprintf(err, errlen, "LISTEN_FDS=%s: not a count of sockets", fds);
		return -1;
	}
	if (!(a->v = calloc((size_t)n, sizeof(*a->v)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (long i = 0; i < n; i++) {
		struct inherited *h = &a->v[a->n++];
		int type = 0, listening = 0;
		socklen_t tl = sizeof(type), ll = sizeof(listening);
		h->fd = (int)(LISTEN_FDS_START + i);
		h->len = sizeof(h->addr);
		if (getsockopt(h->fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
		    getsockopt(h->fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) < 0 || type != SOCK_STREAM || !listening ||
		    getsockname(h->fd, (struct sockaddr *)&h->addr, &h->len) < 0 ||
		    (h->addr.ss_family != AF_INET && h->addr.ss_family != AF_INET6 && h->addr.ss_family != AF_UNIX)) {
			snprintf(err, errlen, "inherited fd %d is not a listening stream socket (TCP or Unix)", h->fd);
			return -1;
		}
		fcntl(h->fd, F_SETFD, FD_CLOEXEC);
		fcntl(h->fd, F_SETFL, fcntl(h->fd, F_GETFL) | O_NONBLOCK);
		if (names) { /* the i-th ':'-separated name */
			const char *p = names;
			for (long k = 0; k < i && p; k++)
				p = (p = strchr(p, ':')) ? p + 1 : NULL;
			if (p)
				snprintf(h->name, sizeof(h->name), "%.*s", (int)strcspn(p, ":"), p);
		}
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return 0;
}

/* Does the socket bound to ADDR serve SV's accept address? A bare port matches any address. */
static int addr_matches(const struct sockaddr_storage *addr, const struct service *sv)
{
	const struct cfg_addr *want = &sv->cfg->accept;
	char host[INET6_ADDRSTRLEN];
	unsigned port;
	if (addr->ss_family == AF_UNIX || want->path[0]) /* a Unix socket: the same path */
		return addr->ss_family == AF_UNIX && strcmp(((const struct sockaddr_un *)addr)->sun_path, want->path) == 0;
	if (addr->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)addr;
		port = ntohs(in->sin_port);
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
	} else {
		const struct sockaddr_in6 *in6 = (const void *)addr;
		port = ntohs(in6->sin6_port);
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
	}
	if ((unsigned)atoi(want->port) != port)
		return 0;
	if (!want->host[0])
		return 1;
	/* the configured host as numbers: compare with what the socket is bound to */
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res, *ai;
	int match = 0;
	if (getaddrinfo(want->host, want->port, &hints, &res) != 0)
		return 0;
	for (ai = res; ai && !match; ai = ai->ai_next) {
		char h2[INET6_ADDRSTRLEN] = "";
		const void *a = ai->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
							 : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		inet_ntop(ai->ai_family, a, h2, sizeof(h2));
		match = strcmp(h2, host) == 0;
	}
	freeaddrinfo(res);
	return match;
}

static int take(struct activation *a, size_t i)
{
	int fd = a->v[i].fd;
	a->v[i].fd = -1;
	return fd;
}

int activation_take(struct activation *a, const struct service *sv)
{
	for (size_t i = 0; i < a->n; i++) /* by name first: it says what the administrator meant */
		if (a->v[i].fd >= 0 && strcmp(a->v[i].name, sv->cfg->name) == 0)
			return take(a, i);
	for (size_t i = 0; i < a->n; i++) /* then by address (systemd names sockets after their unit by default) */
		if (a->v[i].fd >= 0 && addr_matches(&a->v[i].addr, sv))
			return take(a, i);
	return -1;
}

void activation_done(struct activation *a)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].fd >= 0) {
			log_warn("inherited socket %d%s%s matches no service: closed", a->v[i].fd, a->v[i].name[0] ? " named " : "",
				 a->v[i].name);
			close(a->v[i].fd);
		}
	free(a->v);
	memset(a, 0, sizeof(*a));
}
