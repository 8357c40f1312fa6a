/* A connection's life: accept, connect out, TLS handshake and verdict, timeouts, the log records, close.
 *
 * Client mode: accept plain -> connect out -> TLS handshake -> relay.
 * Server mode: accept TLS -> TLS handshake -> connect out (plain) -> relay.
 * The relay itself is conn_relay.c; the plaintext negotiations some protocols add around the handshake
 * (PROXY headers, HTTP CONNECT, STARTTLS) are conn_nego.c. */
#include "conn_int.h"

#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "control.h"
#include "gen.h"
#include "log.h"
#include "resolve.h"

static void conn_start_connect(struct conn *c, const char *why);
static void conn_connect_out(struct conn *c);
static void conn_next_target(struct conn *c);
static void conn_handshake(struct conn *c);
static void conn_on_io(struct conn *c, uint32_t events, int is_tls);

/* A TLS peer we sent a fatal alert to (a refused handshake) may still be sending: closing a socket with
 * unread input makes the kernel answer with a reset, which can overtake the alert. So the socket's write
 * side is shut and what arrives is read and dropped until the peer closes, or LINGER_MS passes. */
#define LINGER_MS 2000
#define LINGER_MAX 1024 /* more at once (a flood of bad handshakes): close at once */

struct conn_linger {
	struct conn_linger *prev, *next;
	struct worker *w;
	struct loop_io io;
	struct loop_timer timer;
};

static void linger_end(struct conn_linger *l)
{
	struct worker *w = l->w;
	loop_timer_cancel(&l->timer);
	int fd = l->io.fd;
	loop_io_del(w->loop, &l->io);
	close(fd);
	if (l->prev)
		l->prev->next = l->next;
	else
		w->lingering = l->next;
	if (l->next)
		l->next->prev = l->prev;
	w->nlingering--;
	free(l);
}

static void linger_on_read(void *ctx, uint32_t events)
{
	struct conn_linger *l = ctx;
	unsigned char *buf = l->w->scratch;
	ssize_t n;
	while ((n = read(l->io.fd, buf, RELAY_CHUNK)) > 0)
		;
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		linger_end(l);
}

static void linger_timeout(void *ctx)
{
	linger_end(ctx);
}

/* Give FD to the lingering list (or close it). */
static void conn_linger(struct worker *w, int fd)
{
	struct conn_linger *l = w->nlingering < LINGER_MAX ? calloc(1, sizeof(*l)) : NULL;
	struct loop_tq *q = l ? loop_tq_get(w->loop, LINGER_MS) : NULL;
	if (!q || shutdown(fd, SHUT_WR) < 0 || loop_io_add(w->loop, &l->io, fd, EPOLLIN, linger_on_read, l) < 0) {
		free(l);
		close(fd);
		return;
	}
	l->w = w;
	l->next = w->lingering;
	if (w->lingering)
		w->lingering->prev = l;
	w->lingering = l;
	w->nlingering++;
	loop_timer_arm(w->loop, &l->timer, q, linger_timeout, l);
}

/* reset = yes: a connection that failed is reset (SO_LINGER 0 sends a TCP RST), as stunnel does, so a
 * peer can tell an error from an orderly end; a fatal alert we sent is left to arrive. */
static void conn_reset_sockets(struct conn *c)
{
	struct linger hard = { .l_onoff = 1, .l_linger = 0 };
	if (c->plain_fd >= 0)
		setsockopt(c->plain_fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
	if (c->tls.fd >= 0 && !c->alerted)
		setsockopt(c->tls.fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
}

/* C no longer counts against maxHandshakes (it relays, or it ended). */
static void conn_pending_del(struct conn *c)
{
	struct worker *w = c->w;
	if (!c->pending)
		return;
	if (c->pend_prev)
		c->pend_prev->pend_next = c->pend_next;
	else
		w->pend_head = c->pend_next;
	if (c->pend_next)
		c->pend_next->pend_prev = c->pend_prev;
	else
		w->pend_tail = c->pend_prev;
	c->pending = 0;
	atomic_fetch_sub_explicit(&c->sv->rt->pending, 1, memory_order_relaxed);
}

/* C, just accepted, counts against maxHandshakes. At the bound the worker pushes out its own oldest such
 * connection, so a flood of clients that never finish their handshake costs bounded memory and cannot keep
 * newer clients out until TIMEOUTbusy. A worker touches only its own connections: one that has none to push
 * out admits C anyway, so the bound is passed by at most one connection per worker. */
static void conn_pending_add(struct conn *c)
{
	struct worker *w = c->w;
	struct runtime *rt = c->sv->rt;
	long max = c->sv->gen->cfg.g.max_handshakes;
	while (max && atomic_load_explicit(&rt->pending, memory_order_relaxed) >= max && w->pend_head)
		conn_fail(w->pend_head, FAIL_PUSHED_OUT, LOG_NOTICE, "pushed out by a newer connection: maxHandshakes = %ld "
			  "connections not relaying yet", max);
	c->pend_prev = w->pend_tail;
	c->pend_next = NULL;
	if (w->pend_tail)
		w->pend_tail->pend_next = c;
	else
		w->pend_head = c;
	w->pend_tail = c;
	c->pending = 1;
	atomic_fetch_add_explicit(&rt->pending, 1, memory_order_relaxed);
}

static void conn_free(struct conn *c)
{
	struct runtime *rt = c->sv->rt;
	struct worker *w = c->w;
	struct svc_worker *sw = conn_sw(c);
	if (c->route->cfg->reset && !c->orderly)
		conn_reset_sockets(c);
	loop_timer_cancel(&c->timer);
	loop_io_del(w->loop, &c->tls_io);
	loop_io_del(w->loop, &c->plain_io);
	if (c->tls.fd >= 0 && c->alerted && !c->orderly && !w->stopping)
		conn_linger(w, c->tls.fd);
	else if (c->tls.fd >= 0)
		close(c->tls.fd);
	if (c->plain_fd >= 0)
		close(c->plain_fd);
	mbedtls_ssl_free(&c->ssl);
	tls_peer_release(&c->peer);
	free(c->to_tls);
	free(c->to_plain);
	free(c->reply_part);
	if (c->resolving)
		resolve_cancel(w->resolver, c->resolving);
	ocsp_query_cancel(c->ocsp);
	free(c->own_targets);
	conn_pending_del(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nconns--;
	atomic_fetch_sub_explicit(&w->open, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&sw->stats.open, 1, memory_order_relaxed);
	svc_stat_add(sw, bytes_to_tls, c->to_tls_bytes);
	svc_stat_add(sw, bytes_to_plain, c->to_plain_bytes);
	if (c->counted)
		service_conn_ended(c->sv);
	struct generation *g = c->sv->gen;
	char exec_name[64] = "";
	if (service_is_exec_connect(c->sv->cfg))
		snprintf(exec_name, sizeof(exec_name), "%s", c->sv->cfg->name);
	free(c);
	if (exec_name[0])
		control_exec_ended(rt, exec_name);
	gen_release(rt, g);
	if (w->stopping && w->nconns == 0)
		worker_idle(w);
}

/* The fields every JSON record of C starts with. */
static void json_head(const struct conn *c, const char *event, char *j, size_t len)
{
	j[0] = '\0';
	log_json_add(j, len, "event", event, 0, 0);
	log_json_add(j, len, "service", c->sv->cfg->name, 0, 0);
	log_json_add(j, len, "conn", NULL, 1, c->id);
	log_json_add(j, len, "peer", c->peer_addr, 0, 0);
}

/* Close records of failures, as kinds for the log's rate limit: by service and reason, never by client. */
static const char *const failure_kinds[FAIL_MAX + 1] = { "failed (handshake)", "failed (verify)", "failed (timeout)",
							  "failed (connect)", "pushed out (maxHandshakes)",
							  "closed before relaying" };

/* C's close record at LEVEL. That of a connection that never relayed (a failure, a scanner, a health check that
 * speaks plain TCP) at notice or more urgent is rate-limited by its kind FAILURE (FAIL_MAX: another end), at
 * info level past the limit, so the log holds each at info; a connection that relayed is always logged. */
static void conn_vend(struct conn *c, enum svc_failure failure, int level, const char *fmt, va_list ap)
{
	char why[512];
	vsnprintf(why, sizeof(why), fmt, ap);
	if (level <= LOG_NOTICE && c->state != C_RELAY) {
		char kind[100];
		snprintf(kind, sizeof(kind), "[%s] connections %s", c->sv->cfg->name, failure_kinds[failure]);
		level = log_limit_level(kind, level);
	}
	uint64_t ms = loop_now(conn_loop(c)) - c->start_ms;
	if (log_json_on()) {
		char j[1024];
		json_head(c, "close", j, sizeof(j));
		if (c->route != c->sv)
			log_json_add(j, sizeof(j), "route", c->route->cfg->name, 0, 0);
		log_json_add(j, sizeof(j), "reason", why, 0, 0);
		log_json_add(j, sizeof(j), "bytes_to_tls", NULL, 1, c->to_tls_bytes);
		log_json_add(j, sizeof(j), "bytes_to_plain", NULL, 1, c->to_plain_bytes);
		log_json_add(j, sizeof(j), "duration_ms", NULL, 1, ms);
		log_record_as(conn_log_level(c), level, j);
	} else {
		conn_log(c, level, "[%s] #%lu %s: closed (%s); to_tls=%llu to_plain=%llu bytes; %llu.%03llus", c->sv->cfg->name,
			c->id, c->peer_addr, why, c->to_tls_bytes, c->to_plain_bytes, (unsigned long long)(ms / 1000),
			(unsigned long long)(ms % 1000));
	}
	conn_free(c);
}

/* End the connection: one log record with the reason, then release everything. */
void conn_end(struct conn *c, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	conn_vend(c, FAIL_MAX, level, fmt, ap);
	va_end(ap);
}

/* As conn_end, counting the failure in the service's metrics. */
void conn_fail(struct conn *c, enum svc_failure why, int level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void conn_fail(struct conn *c, enum svc_failure why, int level, const char *fmt, ...)
{
	va_list ap;
	svc_stat_add(conn_sw(c), failures[why], 1);
	va_start(ap, fmt);
	conn_vend(c, why, level, fmt, ap);
	va_end(ap);
}

static void conn_timeout(void *ctx)
{
	struct conn *c = ctx;
	const struct service *sv = c->sv;
	const struct cfg_service *cf = sv->cfg;
	if (c->state == C_RESOLVING) {
		conn_fail(c, FAIL_CONNECT, LOG_ERR, "connect failed: looking up the connect names took over %ds "
			  "(TIMEOUTconnect)", c->route->cfg->timeout_connect);
		return;
	}
	if (c->state == C_CONNECTING) {
		char to[108];
		service_addr_str((const struct sockaddr *)&c->targets[c->target].sa, to, sizeof(to));
		char why[200];
		snprintf(why, sizeof(why), "%s: timed out after %ds (TIMEOUTconnect)", to, c->route->cfg->timeout_connect);
		conn_log(c, LOG_INFO, "[%s] #%lu connect %s", cf->name, c->id, why);
		int is_tls = conn_out_fd_is_tls(c);
		loop_io_del(conn_loop(c), is_tls ? &c->tls_io : &c->plain_io);
		close(is_tls ? c->tls.fd : c->plain_fd);
		*(is_tls ? &c->tls.fd : &c->plain_fd) = -1;
		conn_next_target(c);
		conn_start_connect(c, why);
		return;
	}
	/* the handshake runs under the listening service's timeouts, the rest under the route's */
	const struct cfg_service *rf = c->route->cfg;
	if (c->timer_q == conn_sw(c)->tq_busy)
		conn_fail(c, FAIL_TIMEOUT, LOG_NOTICE, "TIMEOUTbusy: %s not finished after %ds",
			  c->state == C_PROXYHDR                                        ? "PROXY header"
			  : c->state == C_NEGOTIATE && cf->protocol == CFG_PROTO_CONNECT ? "proxy CONNECT"
			  : c->state == C_NEGOTIATE || c->state == C_MAILOPEN          ? "STARTTLS opening"
			  : c->state == C_BACKGREET                                    ? "backend greeting"
			  : c->state == C_OCSP                                         ? "OCSP check"
											  : "handshake",
			  cf->timeout_busy);
	else if (c->timer_q == conn_rw(c)->tq_close)
		conn_end(c, LOG_NOTICE, "TIMEOUTclose: close not finished after %ds", rf->timeout_close);
	else
		conn_end(c, LOG_NOTICE, "TIMEOUTidle: no data for %ds", rf->timeout_idle);
}

void conn_arm(struct conn *c, struct loop_tq *q)
{
	c->timer_q = q;
	loop_timer_arm(conn_loop(c), &c->timer, q, conn_timeout, c);
}

void conn_on_tls(void *ctx, uint32_t events)
{
	conn_on_io(ctx, events, 1);
}

void conn_on_plain(void *ctx, uint32_t events)
{
	conn_on_io(ctx, events, 0);
}

/* TCP_NODELAY on both sides, as stunnel sets it (a relay must not hold back small writes), then the
 * `socket` options of that side, which may turn it off. */
static int set_sockopts(const struct service *sv, int fd, int family, char where, char *err, size_t errlen)
{
	int one = 1;
	if (family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return service_apply_sockopts(sv, fd, family, where, err, errlen);
}

/* A new connection of SV, known in the log as ADDR. NULL when out of memory (logged). */
static struct conn *conn_new(struct service *sv, struct worker *w, const char *addr)
{
	struct runtime *rt = sv->rt;
	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		log_err("[%s] %s: out of memory; connection refused", sv->cfg->name, addr);
		return NULL;
	}
	c->sv = c->route = sv;
	c->w = w;
	c->id = atomic_fetch_add_explicit(&rt->conn_seq, 1, memory_order_relaxed) + 1;
	c->start_ms = loop_now(w->loop);
	snprintf(c->peer_addr, sizeof(c->peer_addr), "%s", addr);
	c->tls.fd = c->plain_fd = -1;
	c->tls_io.fd = c->plain_io.fd = -1;
	mbedtls_ssl_init(&c->ssl);
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	atomic_fetch_add_explicit(&w->open, 1, memory_order_relaxed);
	gen_hold(sv->gen);
	svc_stat_add(&sv->w[w->index], open, 1);
	svc_stat_add(&sv->w[w->index], total, 1);
	return c;
}

void conn_accept(struct service *sv, struct worker *w, int fd, const struct sockaddr *peer, int counted)
{
	char addr[56];
	service_addr_str(peer, addr, sizeof(addr));
	struct conn *c = conn_new(sv, w, addr);
	if (!c) {
		close(fd);
		if (counted)
			service_conn_ended(sv);
		return;
	}
	c->counted = counted != 0;
	if (counted)
		conn_pending_add(c);
	memcpy(&c->peer_sa, peer, peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
				  : peer->sa_family == AF_UNIX ? sizeof(struct sockaddr_un)
							      : sizeof(struct sockaddr_in));
	socklen_t ll = sizeof(c->local_sa);
	getsockname(fd, (struct sockaddr *)&c->local_sa, &ll);
	conn_log(c, LOG_DEBUG, "[%s] #%lu %s: accepted", sv->cfg->name, c->id, addr);
	c->tls.fd = sv->cfg->client ? -1 : fd;
	c->plain_fd = sv->cfg->client ? fd : -1;
	char why[CFG_ERRLEN];
	if (set_sockopts(sv, fd, c->local_sa.ss_family, 'l', why, sizeof(why)) < 0) /* as stunnel: go on */
		conn_log(c, LOG_WARNING, "[%s] #%lu %s", sv->cfg->name, c->id, why);
	if (sv->cfg->accept_proxy) {
		struct loop_io *io = sv->cfg->client ? &c->plain_io : &c->tls_io;
		/* edge-triggered while a header is incomplete: we only peek, so level-triggered would spin */
		if (loop_io_add(w->loop, io, fd, EPOLLIN | EPOLLRDHUP | EPOLLET, sv->cfg->client ? conn_on_plain : conn_on_tls,
				c) < 0) {
			conn_end(c, LOG_ERR, "epoll: %s", strerror(errno));
			return;
		}
		c->state = C_PROXYHDR;
		conn_arm(c, conn_sw(c)->tq_busy);
		return;
	}
	conn_begin(c);
}

void conn_begin(struct conn *c)
{
	struct service *sv = c->sv;
	if (sv->cfg->client) {
		conn_connect_out(c);
		return;
	}
	if (sv->cfg->protocol >= CFG_PROTO_SMTP) {
		conn_mail_greet(c);
		return;
	}
	conn_begin_tls(c);
}

void conn_begin_tls(struct conn *c)
{
	struct service *sv = c->sv;
	int rc = tls_conn_setup(&c->ssl, &sv->tls, &c->tls, NULL, &c->peer, 0);
	if (rc) {
		char e[200];
		tls_error(rc, NULL, e, sizeof(e));
		conn_end(c, LOG_ERR, "TLS setup: %s", e);
		return;
	}
	c->ssl_ready = 1;
	if (c->tls_io.fd < 0 ? loop_io_add(conn_loop(c), &c->tls_io, c->tls.fd, EPOLLIN, conn_on_tls, c) < 0
			     : loop_io_set(conn_loop(c), &c->tls_io, EPOLLIN) < 0) {
		conn_end(c, LOG_ERR, "epoll: %s", strerror(errno));
		return;
	}
	c->state = C_HANDSHAKE;
	conn_arm(c, conn_sw(c)->tq_busy);
	conn_handshake(c);
}

/* The next address to try after the current one failed (wrapping round: rr may start in the middle). */
static void conn_next_target(struct conn *c)
{
	c->tried++;
	if (c->ntargets)
		c->target = (c->target + 1) % c->ntargets;
}

/* The first address: the first one (failover = prio), or the next one in turn for this route (rr). */
static void conn_first_target(struct conn *c)
{
	c->tried = 0;
	c->target = 0;
	if (c->route->cfg->failover_rr && c->ntargets) /* rr_next starts at random (service_build) */
		c->target = atomic_fetch_add_explicit(&c->route->rr_next, 1, memory_order_relaxed) % c->ntargets;
}

/* Which name of the lookup request connect line LINE is (the request holds only the lines with names). */
static int line_name_index(const struct cfg_service *s, int line)
{
	int k = 0;
	for (int i = 0; i < line; i++)
		k += !s->connect[i].path[0];
	return k;
}

/* delay = yes: the names are looked up; the answer comes back here, on the loop. */
static void conn_resolved(void *ctx, struct resolve_addr *addrs, size_t n, const char *why)
{
	struct conn *c = ctx;
	const struct cfg_service *s = c->route->cfg;
	c->resolving = NULL;
	/* the list in connect order: each line's Unix socket or looked-up addresses */
	struct svc_target *t = calloc(c->route->ntargets + n + 1, sizeof(*t));
	size_t k = 0, u = 0;
	for (int line = 0; t && line < s->n_connect; line++) {
		if (s->connect[line].path[0]) {
			t[k++] = c->route->targets[u++];
			continue;
		}
		for (size_t i = 0; i < n; i++)
			if (addrs[i].name == line_name_index(s, line)) {
				memcpy(&t[k].sa, &addrs[i].sa, addrs[i].len);
				t[k].len = addrs[i].len;
				t[k++].host = s->connect[line].host;
			}
	}
	free(addrs);
	if (!t) {
		conn_fail(c, FAIL_CONNECT, LOG_ERR, "connect failed: out of memory");
		return;
	}
	if (n && why) /* some name did not resolve: the others are tried */
		conn_log(c, LOG_INFO, "[%s] #%lu connect: %s", c->sv->cfg->name, c->id, why);
	c->own_targets = t;
	c->targets = t;
	c->ntargets = k;
	if (n == 0)
		conn_log(c, LOG_INFO, "[%s] #%lu connect: %s", c->sv->cfg->name, c->id, why);
	conn_first_target(c);
	conn_start_connect(c, n ? NULL : why);
}

/* Connect out to the route's addresses, looking its names up first when they are delayed. */
static void conn_connect_out(struct conn *c)
{
	const struct service *r = c->route;
	const struct cfg_service *s = r->cfg;
	c->targets = r->targets;
	c->ntargets = r->ntargets;
	if (!r->delayed) {
		conn_first_target(c);
		conn_start_connect(c, NULL);
		return;
	}
	const char *hosts[CFG_MAX_CONNECT], *ports[CFG_MAX_CONNECT];
	int n = 0;
	for (int i = 0; i < s->n_connect; i++)
		if (!s->connect[i].path[0]) {
			hosts[n] = s->connect[i].host;
			ports[n++] = s->connect[i].port;
		}
	c->state = C_RESOLVING;
	if (!(c->resolving = resolve_start(c->w->resolver, hosts, ports, n, conn_resolved, c))) {
		conn_fail(c, FAIL_CONNECT, LOG_ERR, "connect failed: cannot look up the connect names (%s)", strerror(errno));
		return;
	}
	conn_arm(c, conn_rw(c)->tq_connect);
}

/* Try connect targets from c->target on; on success we wait for writability. WHY says how the
 * previous target failed (NULL for the first). */
static void conn_start_connect(struct conn *c, const char *why)
{
	struct service *sv = c->sv;
	int is_tls = conn_out_fd_is_tls(c);
	int *fdp = is_tls ? &c->tls.fd : &c->plain_fd;
	struct loop_io *io = is_tls ? &c->tls_io : &c->plain_io;
	char to[108], last[300];
	snprintf(last, sizeof(last), "%s", why ? why : "no addresses");
	c->state = C_CONNECTING;
	for (; c->tried < c->ntargets; conn_next_target(c)) {
		const struct svc_target *t = &c->targets[c->target];
		char e[160];
		service_addr_str((const struct sockaddr *)&t->sa, to, sizeof(to));
		int fd = socket(t->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(last, sizeof(last), "%s: socket: %s", to, strerror(errno));
			if (errno == EMFILE || errno == ENFILE)
				break;
			continue;
		}
		if (set_sockopts(c->route, fd, t->sa.ss_family, 'r', e, sizeof(e)) < 0 ||
		    service_bind_local(c->route, fd, t->sa.ss_family, e, sizeof(e)) < 0) {
			snprintf(last, sizeof(last), "%s: %s", to, e);
			conn_log(c, LOG_INFO, "[%s] #%lu connect %s", sv->cfg->name, c->id, last);
			close(fd);
			continue;
		}
		if (connect(fd, (const struct sockaddr *)&t->sa, t->len) < 0 && errno != EINPROGRESS) {
			snprintf(last, sizeof(last), "%s: %s", to, strerror(errno));
			conn_log(c, LOG_INFO, "[%s] #%lu connect %s%s", sv->cfg->name, c->id, last,
				 c->tried + 1 < c->ntargets ? "; trying the next address" : "");
			close(fd);
			continue;
		}
		if (loop_io_add(conn_loop(c), io, fd, EPOLLOUT, is_tls ? conn_on_tls : conn_on_plain, c) < 0) {
			snprintf(last, sizeof(last), "%s: epoll: %s", to, strerror(errno));
			close(fd);
			continue;
		}
		*fdp = fd;
		conn_arm(c, conn_rw(c)->tq_connect);
		return;
	}
	conn_fail(c, FAIL_CONNECT, LOG_ERR, "connect failed: %s", last);
}

static void conn_log_established(struct conn *c)
{
	char subject[256], to[320], extra[512] = "";
	size_t n = 0;
	const char *alpn = mbedtls_ssl_get_alpn_protocol(&c->ssl);
	tls_peer_subject(&c->ssl, &c->peer, subject, sizeof(subject));
	if (c->route->cfg->exec && !c->sv->cfg->client)
		snprintf(to, sizeof(to), "exec %s", c->route->cfg->exec);
	else
		service_addr_str((const struct sockaddr *)&c->targets[c->target].sa, to, sizeof(to));
	if (c->peer.resumed == 1)
		svc_stat_add(conn_sw(c), resumed, 1);
	if (log_json_on()) {
		char j[1536], serial[96] = "";
		const mbedtls_x509_crt *crt = tls_peer_cert(&c->ssl, &c->peer);
		if (crt && mbedtls_x509_serial_gets(serial, sizeof(serial), &crt->serial) < 0)
			serial[0] = '\0';
		json_head(c, "open", j, sizeof(j));
		log_json_add(j, sizeof(j), "to", to, 0, 0);
		if (c->route != c->sv)
			log_json_add(j, sizeof(j), "route", c->route->cfg->name, 0, 0);
		log_json_add(j, sizeof(j), "tls_version", mbedtls_ssl_get_version(&c->ssl), 0, 0);
		log_json_add(j, sizeof(j), "cipher", mbedtls_ssl_get_ciphersuite(&c->ssl), 0, 0);
		log_json_add(j, sizeof(j), "resumed", c->peer.resumed == 1 ? "yes" : c->peer.resumed == 0 ? "no" : "unknown",
			     0, 0);
		log_json_add(j, sizeof(j), "sni", c->peer.sni[0] ? c->peer.sni : NULL, 0, 0);
		log_json_add(j, sizeof(j), "alpn", alpn, 0, 0);
		log_json_add(j, sizeof(j), "peer_subject", subject[0] ? subject : NULL, 0, 0);
		log_json_add(j, sizeof(j), "peer_serial", serial[0] ? serial : NULL, 0, 0);
		log_json_add(j, sizeof(j), "rule", c->peer.rule[0] ? c->peer.rule : NULL, 0, 0);
		log_record_as(conn_log_level(c), LOG_NOTICE, j);
		return;
	}
	if (subject[0])
		n += (size_t)snprintf(extra + n, sizeof(extra) - n, " peer=\"%s\"", subject);
	if (c->peer.rule[0] && n < sizeof(extra))
		n += (size_t)snprintf(extra + n, sizeof(extra) - n, " rule=\"%s\"", c->peer.rule);
	if (alpn && n < sizeof(extra))
		n += (size_t)snprintf(extra + n, sizeof(extra) - n, " alpn=%s", alpn);
	if (c->peer.sni[0] && n < sizeof(extra))
		n += (size_t)snprintf(extra + n, sizeof(extra) - n, " sni=%s", c->peer.sni);
	if (c->route != c->sv && n < sizeof(extra))
		n += (size_t)snprintf(extra + n, sizeof(extra) - n, " route=[%s]", c->route->cfg->name);
	if (c->peer.resumed == 1 && n < sizeof(extra))
		snprintf(extra + n, sizeof(extra) - n, " resumed");
	conn_log(c, LOG_NOTICE, "[%s] #%lu %s: established %s %s to %s%s", c->sv->cfg->name, c->id, c->peer_addr,
		   mbedtls_ssl_get_version(&c->ssl), mbedtls_ssl_get_ciphersuite(&c->ssl), to, extra);
}

void conn_start_relay(struct conn *c)
{
	c->state = C_RELAY;
	conn_pending_del(c);
	if (c->sv->cfg->proxy_version && conn_send_proxy_header(c) == FLOW_DEAD)
		return;
	int fd = conn_out_fd_is_tls(c) ? c->plain_fd : c->tls.fd; /* the accepted side, not yet watched */
	struct loop_io *io = conn_out_fd_is_tls(c) ? &c->plain_io : &c->tls_io;
	if (io->fd < 0 && loop_io_add(conn_loop(c), io, fd, 0, conn_out_fd_is_tls(c) ? conn_on_plain : conn_on_tls, c) < 0) {
		conn_end(c, LOG_ERR, "epoll: %s", strerror(errno));
		return;
	}
	conn_log_established(c);
	conn_arm(c, conn_rw(c)->tq_idle);
	/* the accepted side may already hold data (a client that spoke first) */
	conn_on_io(c, EPOLLIN | EPOLLOUT, 0);
}

/* exec: the plaintext side is a program on a socketpair, told who the client is as stunnel does. */
static void conn_start_exec(struct conn *c)
{
	const struct cfg_service *s = c->route->cfg;
	char argbuf[1024], *argv[64], host[64], port[8], dn[300];
	char e_host[80], e_port[32], e_dn[320];
	char *env[4] = { e_host, e_port, NULL, NULL };
	if (c->peer_sa.ss_family == AF_UNIX) /* no host or port to tell, as with stunnel */
		env[0] = env[1] = NULL;
	if (s->exec_args && child_split_args(s->exec_args, argbuf, sizeof(argbuf), argv, 64) < 0) {
		conn_end(c, LOG_ERR, "execArgs: too many words");
		return;
	}
	service_addr_str((struct sockaddr *)&c->peer_sa, host, sizeof(host));
	char *colon = strrchr(host, ':');
	snprintf(port, sizeof(port), "%s", colon ? colon + 1 : "");
	if (colon)
		*colon = '\0';
	snprintf(e_host, sizeof(e_host), "REMOTE_HOST=%s", host[0] == '[' ? host + 1 : host);
	if (host[0] == '[' && strchr(e_host, ']'))
		*strchr(e_host, ']') = '\0';
	snprintf(e_port, sizeof(e_port), "REMOTE_PORT=%s", port);
	tls_peer_subject(&c->ssl, &c->peer, dn, sizeof(dn));
	if (dn[0]) {
		snprintf(e_dn, sizeof(e_dn), "SSL_CLIENT_DN=%s", dn);
		env[env[0] ? 2 : 0] = e_dn;
	}
	int fd;
	pid_t pid = child_spawn(s->exec, s->exec_args ? argv : NULL, env, s->pty, &fd);
	if (pid < 0) {
		conn_fail(c, FAIL_CONNECT, LOG_ERR, "exec %s: %s", s->exec, strerror(errno));
		return;
	}
	conn_log(c, LOG_DEBUG, "[%s] #%lu exec %s: pid %ld", c->sv->cfg->name, c->id, s->exec, (long)pid);
	c->plain_fd = fd;
	if (loop_io_add(conn_loop(c), &c->plain_io, fd, 0, conn_on_plain, c) < 0) {
		conn_end(c, LOG_ERR, "epoll: %s", strerror(errno));
		return;
	}
	conn_start_relay(c);
}

void conn_exec_connect(struct service *sv, struct worker *w)
{
	const struct cfg_service *s = sv->cfg;
	char argbuf[1024], *argv[64], addr[56];
	snprintf(addr, sizeof(addr), "exec %s", s->exec);
	struct conn *c = conn_new(sv, w, addr);
	if (!c)
		return;
	if (s->exec_args && child_split_args(s->exec_args, argbuf, sizeof(argbuf), argv, 64) < 0) {
		conn_end(c, LOG_ERR, "execArgs: too many words");
		return;
	}
	pid_t pid = child_spawn(s->exec, s->exec_args ? argv : NULL, NULL, s->pty, &c->plain_fd);
	if (pid < 0) {
		c->plain_fd = -1;
		conn_fail(c, FAIL_CONNECT, LOG_ERR, "exec %s: %s", s->exec, strerror(errno));
		return;
	}
	conn_log(c, LOG_INFO, "[%s] #%lu exec %s: pid %ld%s", s->name, c->id, s->exec, (long)pid, s->pty ? " on a pseudo-terminal" : "");
	conn_connect_out(c);
}

void conn_connected(struct conn *c)
{
	struct service *sv = c->sv;
	if (!sv->cfg->client && sv->cfg->protocol >= CFG_PROTO_SMTP) {
		c->state = C_BACKGREET;
		conn_arm(c, conn_sw(c)->tq_busy);
		loop_io_set(conn_loop(c), &c->plain_io, EPOLLIN | EPOLLRDHUP | EPOLLET);
		return;
	}
	if (!sv->cfg->client) {
		conn_start_relay(c);
		return;
	}
	if (sv->cfg->protocol == CFG_PROTO_CONNECT && c->state != C_NEGOTIATE) {
		conn_http_connect_begin(c);
		return;
	}
	if (sv->cfg->protocol >= CFG_PROTO_SMTP && c->state != C_NEGOTIATE) {
		conn_starttls_begin(c);
		return;
	}
	/* through a proxy, names default to the origin asked for, not the proxy */
	const char *host = sv->cfg->protocol == CFG_PROTO_CONNECT ? sv->cfg->protocol_host.host
								  : c->targets[c->target].host;
	const char *sni = sv->cfg->sni ? sv->cfg->sni : host;
	/* the name to verify: checkHost/checkIP when set (tls.c), else sni, else the connect host */
	c->peer.expect_host = sv->cfg->sni && *sv->cfg->sni ? sv->cfg->sni : host;
	if (!c->retries) /* a first attempt: as the last connection to this service learnt */
		c->offer12 = atomic_load_explicit(&sv->tls.prefer12, memory_order_relaxed);
	int rc = tls_conn_setup(&c->ssl, &sv->tls, &c->tls, sni, &c->peer, c->offer12);
	if (rc) {
		char e[200];
		tls_error(rc, NULL, e, sizeof(e));
		conn_end(c, LOG_ERR, "TLS setup: %s", e);
		return;
	}
	c->ssl_ready = 1;
	c->state = C_HANDSHAKE;
	conn_arm(c, conn_sw(c)->tq_busy);
	conn_handshake(c);
}

static void conn_connect_ready(struct conn *c)
{
	int is_tls = conn_out_fd_is_tls(c);
	int fd = is_tls ? c->tls.fd : c->plain_fd;
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == 0) {
		loop_timer_cancel(&c->timer);
		conn_log(c, LOG_DEBUG, "[%s] #%lu connected", c->sv->cfg->name, c->id);
		conn_connected(c);
		return;
	}
	char to[108];
	service_addr_str((const struct sockaddr *)&c->targets[c->target].sa, to, sizeof(to));
	char why[200];
	snprintf(why, sizeof(why), "%s: %s", to, strerror(err));
	if (c->tried + 1 >= c->ntargets) {
		conn_fail(c, FAIL_CONNECT, LOG_ERR, "connect failed: %s", why);
		return;
	}
	conn_log(c, LOG_INFO, "[%s] #%lu connect %s; trying the next address", c->sv->cfg->name, c->id, why);
	loop_io_del(conn_loop(c), is_tls ? &c->tls_io : &c->plain_io);
	close(fd);
	*(is_tls ? &c->tls.fd : &c->plain_fd) = -1;
	conn_next_target(c);
	conn_start_connect(c, why);
}

/* A TLS 1.2 server signed with RSA-PSS, which mbedTLS 3.6.6 refuses after offering TLS 1.3: connect to the same
 * address again offering TLS 1.2 only (OFFER12), whose ClientHello has no RSA-PSS, and remember that for the
 * service's next connections. No downgrade: a server that supports TLS 1.3 marks its TLS 1.2 random, which
 * its signature covers; seen after a TLS 1.2-only offer, the next attempt offers TLS 1.3 again. At most two
 * attempts more. The plaintext negotiation (CONNECT) is made again; STARTTLS cannot be. */
static int conn_retry_same_address(struct conn *c, int offer12)
{
	if (c->retries == 2 || c->sv->cfg->protocol >= CFG_PROTO_SMTP)
		return -1;
	if (offer12 && !atomic_load_explicit(&c->sv->tls.prefer12, memory_order_relaxed))
		conn_log(c, LOG_NOTICE, "[%s] #%lu the TLS 1.2 server signed with RSA-PSS, which mbedTLS refuses after offering TLS 1.3: "
			   "offering TLS 1.2 only to it from now on", c->sv->cfg->name, c->id);
	if (!offer12) {
		conn_log(c, LOG_NOTICE, "[%s] #%lu the server supports TLS 1.3 now: offering it again", c->sv->cfg->name, c->id);
		tls_session_forget(&c->sv->tls); /* a TLS 1.2 session would make mbedTLS offer TLS 1.2 only */
	}
	atomic_store_explicit(&c->sv->tls.prefer12, offer12, memory_order_relaxed);
	c->offer12 = offer12;
	c->retries++;
	loop_io_del(conn_loop(c), &c->tls_io);
	close(c->tls.fd);
	c->tls.fd = -1;
	c->tls.out_left = 0;
	mbedtls_ssl_free(&c->ssl);
	mbedtls_ssl_init(&c->ssl);
	c->ssl_ready = 0;
	tls_peer_release(&c->peer);
	memset(&c->peer, 0, sizeof(c->peer));
	conn_start_connect(c, NULL); /* the same address: the count of addresses tried is unchanged */
	return 0;
}

static void conn_handshake(struct conn *c)
{
	int rc;
	while ((rc = tls_handshake(&c->ssl, &c->peer)) == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
		tls_session_ticket(&c->ssl, &c->peer);
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
		loop_io_set(conn_loop(c), &c->tls_io, rc == MBEDTLS_ERR_SSL_WANT_READ ? EPOLLIN : EPOLLOUT);
		return;
	}
	if (rc && c->sv->cfg->client && tls_needs_tls12_only(&c->ssl, &c->sv->tls, &c->peer, rc) &&
	    conn_retry_same_address(c, 1) == 0)
		return;
	if (rc) {
		char e[300];
		tls_error(rc, &c->ssl, e, sizeof(e));
		if (c->sv->cfg->client && tls_needs_tls12_only(&c->ssl, &c->sv->tls, &c->peer, rc) &&
		    c->sv->cfg->protocol >= CFG_PROTO_SMTP)
			snprintf(e + strlen(e), sizeof(e) - strlen(e), " (a TLS 1.2 server signing with RSA-PSS, which "
				 "mbedTLS refuses after offering TLS 1.3: set sslVersionMax = TLSv1.2)");
		/* mbedTLS told the peer why, most of the time: not a TLS 1.2 client that sent no certificate ("the client
		 * should know"), which would see the connection just close */
		if (rc == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE &&
		    mbedtls_ssl_get_version_number(&c->ssl) == MBEDTLS_SSL_VERSION_TLS1_2)
			mbedtls_ssl_send_alert_message(&c->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
						       MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE);
		c->alerted = 1;
		conn_fail(c, strstr(e, "certificate verification failed") ? FAIL_VERIFY : FAIL_HANDSHAKE, LOG_WARNING,
			  "TLS handshake failed: %s", e);
		return;
	}
	char why[300];
	if (c->peer.tls12_only && c->peer.tls13_mark) {
		/* the server supports TLS 1.3 (upgraded, or the first refusal was forged): never settle for TLS 1.2 */
		mbedtls_ssl_send_alert_message(&c->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
					       MBEDTLS_SSL_ALERT_MSG_INAPROPRIATE_FALLBACK);
		atomic_store_explicit(&c->sv->tls.prefer12, 0, memory_order_relaxed);
		if (conn_retry_same_address(c, 0) == 0)
			return;
		c->alerted = 1;
		conn_fail(c, FAIL_HANDSHAKE, LOG_WARNING, "TLS handshake failed: the server supports TLS 1.3 but answered "
			  "a TLS 1.2-only offer (a downgrade): refused");
		return;
	}
	if (tls_peer_verdict(&c->ssl, &c->peer, why, sizeof(why)) < 0) {
		tls_idents_drop(&c->peer);
		mbedtls_ssl_send_alert_message(&c->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
					       MBEDTLS_SSL_ALERT_MSG_BAD_CERT);
		c->alerted = 1;
		conn_fail(c, FAIL_VERIFY, LOG_WARNING, "peer refused: %s", why);
		return;
	}
	if (!c->sv->cfg->client && c->peer.route)
		c->route = c->peer.route;
	if (c->route->ocsp.on) {
		conn_ocsp_check(c);
		return;
	}
	conn_verified(c);
}

void conn_verified(struct conn *c)
{
	tls_session_keep(&c->ssl, &c->peer);
	if (c->sv->cfg->client) {
		conn_start_relay(c);
	} else {
		loop_io_set(conn_loop(c), &c->tls_io, 0);
		if (c->route->cfg->exec)
			conn_start_exec(c);
		else
			conn_connect_out(c);
	}
}

static void conn_on_io(struct conn *c, uint32_t events, int is_tls)
{
	struct loop_io *io = is_tls ? &c->tls_io : &c->plain_io;
	if (c->state == C_CONNECTING) {
		if (is_tls == conn_out_fd_is_tls(c)) {
			if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
				conn_connect_ready(c);
		} else if (events & (EPOLLERR | EPOLLHUP)) {
			conn_end(c, LOG_NOTICE, "client went away while connecting to the backend");
		}
		return;
	}
	if (c->state == C_HANDSHAKE) {
		conn_handshake(c);
		return;
	}
	if (c->state == C_OCSP) {
		if (events & (EPOLLERR | EPOLLHUP))
			conn_end(c, LOG_NOTICE, "peer went away during the OCSP check");
		return;
	}
	if (c->state == C_PROXYHDR) {
		conn_read_proxy_header(c, events);
		return;
	}
	if (c->state == C_MAILOPEN) {
		conn_mail_opening(c, events);
		return;
	}
	if (c->state == C_BACKGREET) {
		if (!is_tls)
			conn_backend_greeting(c, events);
		else if (events & (EPOLLERR | EPOLLHUP))
			conn_end(c, LOG_NOTICE, "client went away while the backend greeted");
		return;
	}
	if (c->state == C_NEGOTIATE) {
		if (is_tls)
			conn_read_negotiation(c, events);
		else if (events & (EPOLLERR | EPOLLHUP))
			conn_end(c, LOG_NOTICE, "client went away while the proxy was asked");
		else if (c->to_plain && (events & EPOLLOUT))
			conn_starttls_drain(c);
		return;
	}
	if (events & EPOLLERR) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			conn_end(c, LOG_NOTICE, "%s side: %s", is_tls ? "TLS" : "plaintext", strerror(err));
			return;
		}
	}
	if (events & EPOLLHUP) {
		/* both directions of this socket are finished: reads no longer block, so stop watching it
		 * (a hung-up fd is always ready and would spin the loop while the other side is slow) */
		loop_io_del(conn_loop(c), io);
		if (is_tls)
			c->tls_hup = 1;
		else
			c->plain_hup = 1;
	}
	conn_relay(c);
}

void conn_log_all(struct worker *w)
{
	static const char *const states[] = { "connecting", "handshake", "relay", "reading PROXY header",
					      "asking the proxy", "plaintext opening", "backend greeting",
					      "looking up the connect names", "waiting for the OCSP responder" };
	uint64_t now = loop_now(w->loop);
	if (w->rt->nworkers > 1)
		log_notice("worker %d: %lu connections open", w->index, w->nconns);
	else
		log_notice("%lu connections open", w->nconns);
	for (const struct conn *c = w->conns; c; c = c->next) {
		uint64_t ms = now - c->start_ms;
		log_notice("[%s] #%lu %s: %s%s%s for %llu.%03llus; to_tls=%llu to_plain=%llu bytes", c->sv->cfg->name, c->id,
			   c->peer_addr, states[c->state], c->route != c->sv ? " via " : "",
			   c->route != c->sv ? c->route->cfg->name : "", (unsigned long long)(ms / 1000),
			   (unsigned long long)(ms % 1000), c->to_tls_bytes, c->to_plain_bytes);
	}
}

void conn_close_exec_links(struct worker *w, const char *reason)
{
	struct conn *c = w->conns;
	while (c) {
		struct conn *next = c->next;
		if (service_is_exec_connect(c->sv->cfg)) {
			c->orderly = 1;
			conn_end(c, LOG_NOTICE, "%s", reason);
		}
		c = next;
	}
}

void conn_close_all(struct worker *w, const char *reason)
{
	while (w->conns) {
		w->conns->orderly = 1;
		conn_end(w->conns, LOG_NOTICE, "%s", reason);
	}
	while (w->lingering)
		linger_end(w->lingering);
}
