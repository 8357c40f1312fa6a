/* Service runtime: resolve, bind, accept. */
#include "service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"

#define ACCEPT_BATCH 64
#define ACCEPT_BACKOFF_MS 100

void service_addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(buf, len, "%s:%u", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		port = ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof(host));
			snprintf(buf, len, "%s:%u", host, port);
		} else {
			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			snprintf(buf, len, "[%s]:%u", host, port);
		}
	} else {
		snprintf(buf, len, "?");
	}
}

static int resolve_targets(struct service *sv, const struct cfg_service *s, char *why, size_t len)
{
	for (int i = 0; i < s->n_connect; i++) {
		const struct cfg_addr *a = &s->connect[i];
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG }, *res, *ai;
		int rc = getaddrinfo(a->host, a->port, &hints, &res);
		if (rc == EAI_NONAME || rc == EAI_ADDRFAMILY) {
			hints.ai_flags = 0; /* AI_ADDRCONFIG hides ::1 on hosts with only loopback IPv6 */
			rc = getaddrinfo(a->host, a->port, &hints, &res);
		}
		if (rc) {
			snprintf(why, len, "connect %s:%s: %s", a->host, a->port, gai_strerror(rc));
			return -1;
		}
		for (ai = res; ai; ai = ai->ai_next) {
			struct svc_target *t = realloc(sv->targets, (sv->ntargets + 1) * sizeof(*t));
			if (!t) {
				freeaddrinfo(res);
				snprintf(why, len, "out of memory");
				return -1;
			}
			sv->targets = t;
			t = &sv->targets[sv->ntargets++];
			memcpy(&t->sa, ai->ai_addr, ai->ai_addrlen);
			t->len = ai->ai_addrlen;
			t->host = a->host;
		}
		freeaddrinfo(res);
	}
	return 0;
}

static void ticket_refresh(void *ctx)
{
	struct service *sv = ctx;
	int rc = tls_svc_refresh_ticket_key(&sv->tls);
	if (rc)
		log_err("[%s] ticketKeyFile: renewing the key failed (-0x%04x)", sv->cfg->name, (unsigned)-rc);
	struct loop_tq *q = loop_tq_get(sv->rt->loop, sv->tls.ticket_life > 1 ? sv->tls.ticket_life * 500ULL : 1000);
	if (q)
		loop_timer_arm(sv->rt->loop, &sv->ticket_refresh, q, ticket_refresh, sv);
}

int service_build(struct service *sv, struct runtime *rt, const struct cfg_service *s, char *err, size_t errlen)
{
	char why[CFG_ERRLEN];
	memset(sv, 0, sizeof(*sv));
	sv->cfg = s;
	sv->rt = rt;
	sv->lfd = -1;
	sv->lio.fd = -1;
	if (resolve_targets(sv, s, why, sizeof(why)) < 0)
		goto err0;
	if (s->exec && access(s->exec, X_OK) < 0) {
		snprintf(why, sizeof(why), "exec %s: %s", s->exec, strerror(errno));
		goto err0;
	}
	if (tls_svc_build(&sv->tls, s, why, sizeof(why)) < 0)
		goto err0;
	sv->tq_busy = loop_tq_get(rt->loop, (uint64_t)s->timeout_busy * 1000);
	sv->tq_connect = loop_tq_get(rt->loop, (uint64_t)s->timeout_connect * 1000);
	sv->tq_idle = loop_tq_get(rt->loop, (uint64_t)s->timeout_idle * 1000);
	sv->tq_close = loop_tq_get(rt->loop, (uint64_t)s->timeout_close * 1000);
	sv->tq_backoff = loop_tq_get(rt->loop, ACCEPT_BACKOFF_MS);
	if (!sv->tq_busy || !sv->tq_connect || !sv->tq_idle || !sv->tq_close || !sv->tq_backoff) {
		snprintf(why, sizeof(why), "out of memory");
		goto err1;
	}
	if (sv->tls.has_ticket_key) {
		struct loop_tq *q = loop_tq_get(rt->loop, sv->tls.ticket_life > 1 ? sv->tls.ticket_life * 500ULL : 1000);
		if (!q) {
			snprintf(why, sizeof(why), "out of memory");
			goto err1;
		}
		loop_timer_arm(rt->loop, &sv->ticket_refresh, q, ticket_refresh, sv);
	}
	return 0;
err1:
	tls_svc_free(&sv->tls);
err0:
	free(sv->targets);
	sv->targets = NULL;
	char where[300];
	snprintf(err, errlen, "%s: [%s] %s", cfg_where_option(s, why, where, sizeof(where)), s->name, why);
	return -1;
}

static void accept_resume(void *ctx)
{
	struct service *sv = ctx;
	loop_io_set(sv->rt->loop, &sv->lio, EPOLLIN);
}

static void service_on_accept(void *ctx, uint32_t events)
{
	struct service *sv = ctx;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(sv->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
				return;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors: stop accepting briefly instead of spinning on the listener */
				uint64_t now = loop_now(sv->rt->loop);
				if (now - sv->last_emfile_log >= 1000 || !sv->last_emfile_log) {
					log_warn("[%s] accept: %s (%lu connections open); pausing accepts", sv->cfg->name,
						 strerror(errno), sv->rt->nconns);
					sv->last_emfile_log = now;
				}
				loop_io_set(sv->rt->loop, &sv->lio, 0);
				loop_timer_arm(sv->rt->loop, &sv->backoff, sv->tq_backoff, accept_resume, sv);
				return;
			}
			log_err("[%s] accept: %s", sv->cfg->name, strerror(errno));
			return;
		}
		conn_accept(sv, fd, (struct sockaddr *)&ss);
	}
}

static int bind_one(const struct sockaddr *sa, socklen_t len, int v6only, int *out)
{
	int one = 1;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	if (bind(fd, sa, len) < 0 || listen(fd, 1024) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	*out = fd;
	return 0;
}

/* The address a named accept host binds: the first that getaddrinfo gives for listening. */
static int accept_lookup(const struct cfg_addr *a, struct addrinfo **res)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	return getaddrinfo(a->host, a->port, &hints, res);
}

int service_listen(struct service *sv, char *err, size_t errlen)
{
	const struct cfg_addr *a = &sv->cfg->accept;
	const struct cfg_service *s = sv->cfg;
	char where[300];
	int fd = -1;
	if (!a->host[0]) {
		/* a bare port: every address, IPv6 and IPv4 on one socket where the host has IPv6 */
		struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)atoi(a->port)),
					    .sin6_addr = IN6ADDR_ANY_INIT };
		struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(a->port)) };
		if (bind_one((struct sockaddr *)&in6, sizeof(in6), 0, &fd) < 0 && errno == EAFNOSUPPORT)
			bind_one((struct sockaddr *)&in, sizeof(in), 0, &fd);
	} else {
		struct addrinfo *res;
		int rc = accept_lookup(a, &res);
		if (rc) {
			snprintf(err, errlen, "%s: [%s] accept %s:%s: %s", cfg_where_option(s, "accept", where, sizeof(where)), s->name, a->host, a->port,
				 gai_strerror(rc));
			return -1;
		}
		bind_one(res->ai_addr, res->ai_addrlen, 1, &fd);
		freeaddrinfo(res);
	}
	if (fd < 0) {
		snprintf(err, errlen, "%s: [%s] accept %s%s%s: %s", cfg_where_option(s, "accept", where, sizeof(where)), s->name, a->host,
			 a->host[0] ? ":" : "", a->port, strerror(errno));
		return -1;
	}
	if (loop_io_add(sv->rt->loop, &sv->lio, fd, EPOLLIN, service_on_accept, sv) < 0) {
		snprintf(err, errlen, "[%s] epoll: %s", s->name, strerror(errno));
		close(fd);
		return -1;
	}
	sv->lfd = fd;
	return 0;
}

int service_listens_for(const struct service *old, const struct cfg_service *s)
{
	const struct cfg_addr *was = &old->cfg->accept, *now = &s->accept;
	if (old->lfd < 0 || old->cfg->primary >= 0 || s->primary >= 0)
		return 0;
	if (atoi(was->port) != atoi(now->port)) /* cheap, and rules out most pairs before any lookup */
		return 0;
	if (strcmp(was->host, now->host) == 0)
		return 1;
	if (!was->host[0] || !now->host[0]) /* a bare port listens on both families: not a named address */
		return 0;
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	struct addrinfo *res;
	if (getsockname(old->lfd, (struct sockaddr *)&bound, &blen) < 0 || accept_lookup(now, &res) != 0)
		return 0;
	int same = res->ai_addrlen == blen && memcmp(res->ai_addr, &bound, blen) == 0;
	freeaddrinfo(res);
	return same;
}

void service_adopt_listener(struct service *sv, struct service *from)
{
	int fd = from->lfd;
	loop_timer_cancel(&from->backoff);
	loop_io_del(from->rt->loop, &from->lio);
	from->lfd = -1;
	service_listen_fd(sv, fd);
}

void service_listen_fd(struct service *sv, int fd)
{
	if (loop_io_add(sv->rt->loop, &sv->lio, fd, EPOLLIN, service_on_accept, sv) < 0) {
		log_err("[%s] epoll: %s; not accepting", sv->cfg->name, strerror(errno));
		close(fd);
		return;
	}
	sv->lfd = fd;
}

void service_stop_listening(struct service *sv)
{
	loop_timer_cancel(&sv->backoff);
	if (sv->lfd >= 0) {
		loop_io_del(sv->rt->loop, &sv->lio);
		close(sv->lfd);
		sv->lfd = -1;
	}
}

void service_free(struct service *sv)
{
	loop_timer_cancel(&sv->ticket_refresh);
	service_stop_listening(sv);
	tls_svc_free(&sv->tls);
	free(sv->targets);
	sv->targets = NULL;
}
