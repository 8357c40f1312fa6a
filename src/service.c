/* Service runtime: resolve, bind, accept. */
#include "service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"
#include "gen.h"
#include "log.h"
#include "privs.h"
#include "suites.h"

#define ACCEPT_BATCH 16 /* a single loop takes a few per wake-up; with several workers each takes one (see service_on_accept) */
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
	} else if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *un = (const void *)sa;
		snprintf(buf, len, "%s", un->sun_path[0] ? un->sun_path : "unix socket");
	} else {
		snprintf(buf, len, "?");
	}
}

static int add_target(struct service *sv, const void *sa, socklen_t len, const char *host)
{
	struct svc_target *t = realloc(sv->targets, (sv->ntargets + 1) * sizeof(*t));
	if (!t)
		return -1;
	sv->targets = t;
	t = &sv->targets[sv->ntargets++];
	memcpy(&t->sa, sa, len);
	t->len = len;
	t->host = host;
	return 0;
}

/* The connect addresses, in the order of the connect lines. With delay = yes names are left for each
 * connection to look up (conn.c); so are they when a name does not resolve now (DNS unreachable, or a name
 * that does not exist yet), with a warning naming its line: stunnel engages delay then too, so a service
 * starts before the network, a VPN or a DNS record is up. */
static int resolve_targets(struct service *sv, const struct cfg_service *s, char *why, size_t len)
{
	sv->delayed = 0;
	for (int i = 0; i < s->n_connect; i++) /* only Unix sockets: no name to look up, nothing to delay */
		sv->delayed |= s->delay && !s->connect[i].path[0];
	for (int i = 0; i < s->n_connect; i++) {
		const struct cfg_addr *a = &s->connect[i];
		if (a->path[0]) {
			struct sockaddr_un un = { .sun_family = AF_UNIX };
			snprintf(un.sun_path, sizeof(un.sun_path), "%s", a->path);
			if (add_target(sv, &un, sizeof(un), NULL) < 0) /* no name: nothing for SNI or a name check */
				goto oom;
			continue;
		}
		if (sv->delayed)
			continue;
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG }, *res, *ai;
		int rc = getaddrinfo(a->host, a->port, &hints, &res);
		if (rc == EAI_NONAME || rc == EAI_ADDRFAMILY) {
			hints.ai_flags = 0; /* AI_ADDRCONFIG hides ::1 on hosts with only loopback IPv6 */
			rc = getaddrinfo(a->host, a->port, &hints, &res);
		}
		if (rc) {
			char where[300];
			log_warn("%s: [%s] connect %s:%s: %s; looking it up for each connection instead (as delay = yes)",
				 cfg_where_nth(s, "connect", i, where, sizeof(where)), s->name, a->host, a->port, gai_strerror(rc));
			sv->delayed = 1;
			continue;
		}
		for (ai = res; ai; ai = ai->ai_next)
			if (add_target(sv, ai->ai_addr, ai->ai_addrlen, a->host) < 0) {
				freeaddrinfo(res);
				goto oom;
			}
		freeaddrinfo(res);
	}
	if (sv->delayed) { /* names come from each connection's lookup: keep only the Unix sockets, in order */
		size_t k = 0;
		for (size_t i = 0; i < sv->ntargets; i++)
			if (sv->targets[i].sa.ss_family == AF_UNIX)
				sv->targets[k++] = sv->targets[i];
		sv->ntargets = k;
	}
	return 0;
oom:
	snprintf(why, len, "out of memory");
	return -1;
}

static int resolve_local(struct service *sv, const char *host, char *why, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res, *ai;
	int rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc) {
		snprintf(why, len, "local %s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int v6 = ai->ai_family == AF_INET6;
		if (v6 ? sv->local.has_v6 : sv->local.has_v4)
			continue;
		memcpy(v6 ? &sv->local.v6 : &sv->local.v4, ai->ai_addr, ai->ai_addrlen);
		*(v6 ? &sv->local.has_v6 : &sv->local.has_v4) = 1;
	}
	freeaddrinfo(res);
	return 0;
}

int service_bind_local(const struct service *sv, int fd, int family, char *err, size_t errlen)
{
	if (!sv->cfg->local || family == AF_UNIX)
		return 0;
	int v6 = family == AF_INET6;
	if (!(v6 ? sv->local.has_v6 : sv->local.has_v4)) {
		snprintf(err, errlen, "local %s has no IPv%d address", sv->cfg->local, v6 ? 6 : 4);
		return -1;
	}
	const struct sockaddr *sa = (const void *)(v6 ? &sv->local.v6 : &sv->local.v4);
	if (bind(fd, sa, v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) < 0) {
		snprintf(err, errlen, "local %s: bind: %s", sv->cfg->local, strerror(errno));
		return -1;
	}
	return 0;
}

/* A Unix accept socket's owner: the section's setuid/setgid, else the global ones (as stunnel copies them into
 * every section). Looked up when the configuration is loaded, so --check finds a user that does not exist. */
static int resolve_socket_owner(struct service *sv, const struct cfg_service *s, const struct cfg_global *g,
				char *why, size_t len)
{
	const char *user = s->sock_user ? s->sock_user : s->sock_group ? NULL : g->setuid;
	const char *group = s->sock_group ? s->sock_group : s->sock_user ? NULL : g->setgid;
	if (!user && !group)
		return 0;
	char e[CFG_ERRLEN];
	if (privs_resolve(user, group, &sv->sock_owner, e, sizeof(e)) < 0) {
		snprintf(why, len, "%s", e); /* "setuid: ...": the error names that line */
		return -1;
	}
	return 0;
}

static int parse_sockopts(struct service *sv, const struct cfg_service *s, char *why, size_t len)
{
	if (!s->sockopts.n)
		return 0;
	if (!(sv->sockopts = calloc((size_t)s->sockopts.n, sizeof(*sv->sockopts)))) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	for (int i = 0; i < s->sockopts.n; i++) /* checked when read: cannot fail */
		if (sockopt_parse(s->sockopts.v[i], &sv->sockopts[sv->nsockopts], why, len) == 0)
			sv->nsockopts++;
	return 0;
}

int service_apply_sockopts(const struct service *sv, int fd, int family, char where, char *err, size_t errlen)
{
	/* one at a time, so a failure names the value as written, and so its line (cfg_where_option) */
	for (size_t i = 0; i < sv->nsockopts; i++) {
		char e[CFG_ERRLEN];
		if (sockopt_apply(fd, family, where, &sv->sockopts[i], 1, e, sizeof(e)) < 0) {
			const char *reason = strrchr(e, ':');
			snprintf(err, errlen, "socket %s: %s", sv->cfg->sockopts.v[i], reason ? reason + 2 : e);
			return -1;
		}
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

/* The running generation's service named as S, whose key a reload may keep (tls_svc_build), or NULL. */
static const struct tls_svc *prev_tls(const struct runtime *rt, const struct cfg_service *s)
{
	for (size_t i = 0; rt->cur && i < rt->cur->nsvc; i++)
		if (strcmp(rt->cur->svc[i].cfg->name, s->name) == 0)
			return &rt->cur->svc[i].tls;
	return NULL;
}

int service_build(struct service *sv, struct runtime *rt, const struct cfg_service *s, const struct cfg_global *glob,
		  char *err, size_t errlen)
{
	char why[CFG_ERRLEN];
	memset(sv, 0, sizeof(*sv));
	sv->cfg = s;
	sv->rt = rt;
	sv->lfd = -1;
	if (resolve_targets(sv, s, why, sizeof(why)) < 0)
		goto err0;
	if (s->local && resolve_local(sv, s->local, why, sizeof(why)) < 0)
		goto err0;
	/* failover = rr: instances started together must not all send their first client to one backend */
	atomic_init(&sv->rr_next, arc4random());
	if (parse_sockopts(sv, s, why, sizeof(why)) < 0)
		goto err0;
	if (s->accept.path[0] && resolve_socket_owner(sv, s, glob, why, sizeof(why)) < 0)
		goto err0;
	if (s->exec && access(s->exec, X_OK) < 0) {
		snprintf(why, sizeof(why), "exec %s: %s", s->exec, strerror(errno));
		goto err0;
	}
	if (tls_svc_build(&sv->tls, s, s->cert ? prev_tls(rt, s) : NULL, rt->key_prompt, why, sizeof(why)) < 0)
		goto err0;
	if (ocsp_svc_build(&sv->ocsp, s, why, sizeof(why)) < 0)
		goto err1;
	if (log_level() >= LOG_DEBUG) {
		char list[8192];
		suites_describe(sv->tls.suites, list, sizeof(list));
		log_debug("[%s] cipher suites: %s", s->name, list);
	}
	sv->nw = rt->nworkers;
	if (!(sv->lim = limit_new(s->name, s->max_connections)) || !(sv->w = calloc((size_t)sv->nw, sizeof(*sv->w)))) {
		snprintf(why, sizeof(why), "out of memory");
		goto err1;
	}
	for (int i = 0; i < sv->nw; i++) {
		sv->w[i].sv = sv;
		sv->w[i].worker = &rt->workers[i];
		sv->w[i].lio.fd = -1;
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
	free(sv->w);
	sv->w = NULL;
	limit_drop(sv->lim);
	sv->lim = NULL;
	ocsp_svc_free(&sv->ocsp);
	tls_svc_free(&sv->tls);
err0:
	free(sv->targets);
	sv->targets = NULL;
	free(sv->sockopts);
	sv->sockopts = NULL;
	char where[300];
	snprintf(err, errlen, "%s: [%s] %s", cfg_where_option(s, why, where, sizeof(where)), s->name, why);
	return -1;
}

static void service_on_accept(void *ctx, uint32_t events);

/* The listener in W's loop. EPOLLEXCLUSIVE: one waiting worker is woken per connection, not all of them. */
static void watch_listener(struct svc_worker *sw)
{
	const struct service *sv = sw->sv;
	if (sv->lfd < 0 || sw->lio.fd >= 0)
		return;
	if (loop_io_add(sw->worker->loop, &sw->lio, sv->lfd, EPOLLIN | EPOLLEXCLUSIVE, service_on_accept, sw) < 0)
		log_err("[%s] worker %d: epoll: %s; not accepting there", sv->cfg->name, sw->worker->index, strerror(errno));
}

static void accept_resume(void *ctx)
{
	watch_listener(ctx);
}

void service_watch(struct service *sv, struct worker *w)
{
	struct svc_worker *sw = &sv->w[w->index];
	const struct cfg_service *s = sv->cfg;
	struct loop *l = w->loop;
	if (!sw->tq_busy) { /* the loop keeps its queues: looked up once */
		sw->tq_busy = loop_tq_get(l, (uint64_t)s->timeout_busy * 1000);
		sw->tq_connect = loop_tq_get(l, (uint64_t)s->timeout_connect * 1000);
		sw->tq_idle = loop_tq_get(l, (uint64_t)s->timeout_idle * 1000);
		sw->tq_close = loop_tq_get(l, (uint64_t)s->timeout_close * 1000);
		sw->tq_backoff = loop_tq_get(l, ACCEPT_BACKOFF_MS);
		if (!sw->tq_busy || !sw->tq_connect || !sw->tq_idle || !sw->tq_close || !sw->tq_backoff) {
			log_err("[%s] worker %d: out of memory; not accepting there", s->name, w->index);
			return;
		}
	}
	watch_listener(sw);
}

void service_unwatch(struct service *sv, struct worker *w)
{
	struct svc_worker *sw = &sv->w[w->index];
	loop_timer_cancel(&sw->backoff);
	loop_io_del(w->loop, &sw->lio);
	sw->paused = 0;
}

void service_resume(struct service *sv, struct worker *w)
{
	struct svc_worker *sw = &sv->w[w->index];
	if (!sw->paused)
		return;
	sw->paused = 0;
	watch_listener(sw); /* still full: the next accept finds out and pauses again, without a log line */
}

void runtime_wake_accepts(struct runtime *rt)
{
	for (int i = 0; i < rt->nworkers; i++)
		worker_post(&rt->workers[i], W_RESUME, NULL, NULL, 0);
}

/* Give back the places taken for one connection of SV. */
static void give_places(struct service *sv)
{
	int ended = limit_give(sv->lim);
	ended |= limit_give(&sv->rt->total);
	if (ended)
		runtime_wake_accepts(sv->rt);
}

void service_conn_ended(struct service *sv)
{
	give_places(sv);
}

void service_share_limit(struct service *sv, struct service *old)
{
	limit_hold(old->lim);
	limit_drop(sv->lim);
	sv->lim = old->lim;
	limit_set_max(sv->lim, sv->cfg->max_connections); /* the workers watch the new listeners next: no wake */
}

/* A place in SV's maxConnections and in the global one, before accepting. 0 when one is full: W then stops
 * watching the listener (the clients wait in the backlog) until a connection ends somewhere. */
static int take_places(struct svc_worker *sw)
{
	struct service *sv = sw->sv;
	struct conn_limit *full = NULL;
	if (!limit_take(sv->lim))
		full = sv->lim;
	else if (!limit_take(&sv->rt->total)) {
		if (limit_give(sv->lim))
			runtime_wake_accepts(sv->rt);
		full = &sv->rt->total;
	}
	if (!full)
		return 1;
	/* nobody waits (the accepts of this wake-up took the backlog): no episode yet; the listener stays watched
	 * and the next client wakes a worker, which finds the limit full again and stops */
	struct pollfd pfd = { .fd = sv->lfd, .events = POLLIN };
	if (poll(&pfd, 1, 0) == 0)
		return 0;
	loop_io_del(sw->worker->loop, &sw->lio);
	sw->paused = 1;
	if (limit_full(full)) /* a place came free meanwhile: everyone, this worker too, watches again */
		runtime_wake_accepts(sv->rt);
	return 0;
}

static void service_on_accept(void *ctx, uint32_t events)
{
	struct svc_worker *sw = ctx;
	struct service *sv = sw->sv;
	struct worker *w = sw->worker;
	/* with several workers, one connection per wake-up: the worker goes back to its events (that connection's
	 * handshake), and meanwhile the kernel wakes an idle worker for the next one, which spreads a burst over
	 * the workers (measured: 32 connections at once came to 16/16 to 14/19, against 25/7 taking four) */
	int batch = sv->nw > 1 ? 1 : ACCEPT_BATCH;
	for (int i = 0; i < batch; i++) {
		struct sockaddr_storage ss = { 0 }; /* an unnamed Unix peer fills in nothing but the family */
		socklen_t sl = sizeof(ss);
		/* the places are taken first, so two workers never both accept the last one: no overshoot */
		if (!take_places(sw))
			return;
		int fd = accept4(sv->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			give_places(sv);
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
				return;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors: stop accepting briefly instead of spinning on the listener (an
				 * EPOLLEXCLUSIVE registration cannot be modified: it is removed and added again) */
				uint64_t now = loop_now(w->loop);
				if (now - sw->last_emfile_log >= 1000 || !sw->last_emfile_log) {
					log_warn("[%s] accept: %s (%lu connections open); pausing accepts", sv->cfg->name,
						 strerror(errno), runtime_open(sv->rt));
					sw->last_emfile_log = now;
				}
				loop_io_del(w->loop, &sw->lio);
				loop_timer_arm(w->loop, &sw->backoff, sw->tq_backoff, accept_resume, sw);
				return;
			}
			log_err("[%s] accept: %s", sv->cfg->name, strerror(errno));
			return;
		}
		conn_accept(sv, w, fd, (struct sockaddr *)&ss, 1);
	}
}

void service_stats_sum(const struct service *sv, struct svc_totals *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < sv->nw; i++) {
		const struct svc_stats *st = &sv->w[i].stats;
		out->open += atomic_load_explicit(&st->open, memory_order_relaxed);
		out->total += atomic_load_explicit(&st->total, memory_order_relaxed);
		out->resumed += atomic_load_explicit(&st->resumed, memory_order_relaxed);
		out->bytes_to_tls += atomic_load_explicit(&st->bytes_to_tls, memory_order_relaxed);
		out->bytes_to_plain += atomic_load_explicit(&st->bytes_to_plain, memory_order_relaxed);
		for (int f = 0; f < FAIL_MAX; f++)
			out->failures[f] += atomic_load_explicit(&st->failures[f], memory_order_relaxed);
		for (int a = 0; a < OCSP_ANSWER_MAX; a++)
			out->ocsp[a] += atomic_load_explicit(&st->ocsp[a], memory_order_relaxed);
	}
}

unsigned long runtime_open(const struct runtime *rt)
{
	unsigned long n = 0;
	for (int i = 0; i < rt->nworkers; i++)
		n += atomic_load_explicit(&rt->workers[i].open, memory_order_relaxed);
	return n;
}

/* A listening socket on SA: SO_REUSEADDR as stunnel sets it, then the `socket = a:` options, so they win.
 * -1 with errno set, or with the reason in WHY when a socket option was refused. */
static int bind_one(const struct service *sv, const struct sockaddr *sa, socklen_t len, int v6only, int *out,
		    char *why, size_t whylen)
{
	int one = 1;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (sa->sa_family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	if (service_apply_sockopts(sv, fd, sa->sa_family, 'a', why, whylen) < 0) {
		close(fd);
		return -1;
	}
	if (bind(fd, sa, len) < 0 || listen(fd, 1024) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	*out = fd;
	return 0;
}

/* Is the socket file at UN left by a process that is gone (nobody accepts there)? */
static int unix_stale(const struct sockaddr_un *un)
{
	struct stat st;
	if (lstat(un->sun_path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int stale = connect(fd, (const struct sockaddr *)un, sizeof(*un)) < 0 && errno == ECONNREFUSED;
	close(fd);
	return stale;
}

/* accept = /path. stunnel refuses to bind over an existing file; tlswrap replaces a socket nobody
 * listens on any more (left by a crash), so a restart needs no cleaning up, and refuses anything else
 * (a live socket: another instance; a file that is not a socket). The socket is owned by the
 * section's setuid/setgid, or the global ones, as in stunnel; its mode follows the umask. */
static int listen_unix(struct service *sv, int *out, char *why, size_t whylen)
{
	const struct cfg_service *s = sv->cfg;
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", s->accept.path);
	struct stat st;
	if (lstat(un.sun_path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		snprintf(why, whylen, "%s exists and is not a socket", un.sun_path);
		return -1;
	}
	if (unix_stale(&un))
		unlink(un.sun_path);
	if (bind_one(sv, (struct sockaddr *)&un, sizeof(un), 0, out, why, whylen) < 0)
		return -1;
	const struct privs *p = &sv->sock_owner;
	if ((p->has_uid || p->has_gid) && /* lchown: a symbolic link put there since bind leads nowhere else */
	    lchown(un.sun_path, p->has_uid ? p->uid : (uid_t)-1, p->has_gid ? p->gid : (gid_t)-1) < 0) {
		snprintf(why, whylen, "chown %s: %s", un.sun_path, strerror(errno));
		close(*out);
		unlink(un.sun_path);
		*out = -1;
		return -1;
	}
	sv->owns_path = 1;
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
	char where[300], shown[300], why[CFG_ERRLEN] = "";
	int fd = -1;
	if (a->path[0]) {
		listen_unix(sv, &fd, why, sizeof(why));
	} else if (!a->host[0]) {
		/* a bare port: every address, IPv6 and IPv4 on one socket where the host has IPv6 */
		struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)atoi(a->port)),
					    .sin6_addr = IN6ADDR_ANY_INIT };
		struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(a->port)) };
		if (bind_one(sv, (struct sockaddr *)&in6, sizeof(in6), 0, &fd, why, sizeof(why)) < 0 && errno == EAFNOSUPPORT &&
		    !why[0])
			bind_one(sv, (struct sockaddr *)&in, sizeof(in), 0, &fd, why, sizeof(why));
	} else {
		struct addrinfo *res;
		int rc = accept_lookup(a, &res);
		if (rc) {
			snprintf(err, errlen, "%s: [%s] accept %s: %s", cfg_where_option(s, "accept", where, sizeof(where)),
				 s->name, cfg_addr_str(a, shown, sizeof(shown)), gai_strerror(rc));
			return -1;
		}
		bind_one(sv, res->ai_addr, res->ai_addrlen, 1, &fd, why, sizeof(why));
		freeaddrinfo(res);
	}
	if (fd < 0) {
		if (why[0]) /* a `socket = a:` option, or the Unix socket's owner */
			snprintf(err, errlen, "%s: [%s] accept %s: %s", cfg_where_option(s, strncmp(why, "socket", 6) == 0 ? why : "accept",
				 where, sizeof(where)), s->name, cfg_addr_str(a, shown, sizeof(shown)), why);
		else
			snprintf(err, errlen, "%s: [%s] accept %s: %s", cfg_where_option(s, "accept", where, sizeof(where)),
				 s->name, cfg_addr_str(a, shown, sizeof(shown)), strerror(errno));
		return -1;
	}
	sv->lfd = fd;
	return 0;
}

int service_listens_for(const struct service *old, const struct cfg_service *s)
{
	const struct cfg_addr *was = &old->cfg->accept, *now = &s->accept;
	if (old->lfd < 0 || old->lfd_given || old->cfg->primary >= 0 || s->primary >= 0)
		return 0;
	if (was->path[0] || now->path[0])
		return strcmp(was->path, now->path) == 0;
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
	/* FROM keeps accepting on it until the workers switch generation: it just no longer closes it */
	sv->lfd = from->lfd;
	from->lfd_given = 1;
	sv->owns_path = from->owns_path;
	from->owns_path = 0;
}

void service_listen_fd(struct service *sv, int fd)
{
	sv->lfd = fd;
}

void service_stop_listening(struct service *sv)
{
	if (sv->lfd >= 0 && sv->lfd_given) {
		sv->lfd = -1;
	} else if (sv->lfd >= 0) {
		close(sv->lfd);
		sv->lfd = -1;
		struct stat st; /* nobody answers there any more (a socket from systemd is systemd's) */
		if (sv->owns_path && lstat(sv->cfg->accept.path, &st) == 0 && S_ISSOCK(st.st_mode) &&
		    unlink(sv->cfg->accept.path) < 0) /* after setuid or chroot; the next start replaces it */
			log_info("[%s] socket %s not removed: %s", sv->cfg->name, sv->cfg->accept.path, strerror(errno));
		sv->owns_path = 0;
	}
}

void service_free(struct service *sv)
{
	loop_timer_cancel(&sv->ticket_refresh);
	loop_timer_cancel(&sv->restart);
	service_stop_listening(sv);
	ocsp_svc_free(&sv->ocsp);
	tls_svc_free(&sv->tls);
	free(sv->targets);
	sv->targets = NULL;
	free(sv->sockopts);
	sv->sockopts = NULL;
	free(sv->w);
	sv->w = NULL;
	limit_drop(sv->lim);
	sv->lim = NULL;
}
