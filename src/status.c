/* Status endpoint: the metrics text, and the small HTTP listener that serves it. */
#include "status.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
#include "gen.h"
#include "service.h"

/* When all slots are taken, a new client evicts the oldest one rather than being turned away: a
 * slow or idle client can hold a slot for up to STATUS_TIMEOUT_MS, so turning newcomers away would let
 * STATUS_MAX_CLIENTS of them (from anyone who can reach the port) starve every scraper, whatever the
 * slot count or deadline. A well-behaved scraper sends its request at once and is answered within a
 * turn of the loop, long before STATUS_MAX_CLIENTS newer clients could push it out; a slow one only
 * keeps its slot while fewer than that many arrive after it. STATUS_ACCEPT_BATCH keeps a burst of
 * accepts from evicting a client accepted moments ago before the loop has read its request. */
#define STATUS_MAX_CLIENTS 64
#define STATUS_ACCEPT_BATCH 16
#define STATUS_BACKLOG 128
#define STATUS_REQ_MAX 4096          /* request line and headers */
#define STATUS_TIMEOUT_MS 5000       /* a whole exchange, from accept until the client closes */
#define STATUS_BACKOFF_MS 1000       /* accepts paused after running out of descriptors */
#define STATUS_BODY_MAX (16u << 20)  /* metrics text larger than this is a bug, not a scrape */

/* ---- the metrics text ---- */

/* A buffer that takes whole lines only, so a cut leaves text a scraper can still parse. */
struct status_out {
	char *buf;
	size_t len, used; /* used < len while len > 0, and buf[used] is NUL */
	int full;         /* a line did not fit: it and everything after were left out */
};

__attribute__((format(printf, 2, 3))) static void out_line(struct status_out *o, const char *fmt, ...)
{
	va_list ap;
	if (o->full || o->len == 0) {
		o->full = 1;
		return;
	}
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->used) {
		o->buf[o->used] = '\0'; /* drop the partial line */
		o->full = 1;
		return;
	}
	o->used += (size_t)n;
}

/* Label values escape backslash, double quote and newline, as the exposition format requires. */
static void escape_label(const char *in, char *out, size_t len)
{
	size_t j = 0;
	for (; *in && j + 2 < len; in++) {
		char c = *in;
		if (c == '\\' || c == '"' || c == '\n') {
			out[j++] = '\\';
			c = c == '\n' ? 'n' : c;
		}
		out[j++] = c;
	}
	out[j] = '\0';
}

#define STAT(field) offsetof(struct svc_totals, field)

/* The per-service counters in output order; a row with a type starts a metric family (its samples
 * must be contiguous), the rows after it without one add label sets to it. */
static const struct status_metric {
	const char *name, *type, *help;
	const char *labels; /* after service="NAME" */
	size_t off;         /* of the unsigned long long value in struct svc_totals */
} status_metrics[] = {
	{ "tlswrap_connections_open", "gauge", "Connections now open.", "", STAT(open) },
	{ "tlswrap_connections_total", "counter", "Connections accepted.", "", STAT(total) },
	{ "tlswrap_handshake_failures_total", "counter", "Connections that failed before relaying, by reason.",
	  ",reason=\"handshake\"", STAT(failures[FAIL_HANDSHAKE]) },
	{ "tlswrap_handshake_failures_total", NULL, NULL, ",reason=\"verify\"", STAT(failures[FAIL_VERIFY]) },
	{ "tlswrap_handshake_failures_total", NULL, NULL, ",reason=\"timeout\"", STAT(failures[FAIL_TIMEOUT]) },
	{ "tlswrap_handshake_failures_total", NULL, NULL, ",reason=\"connect\"", STAT(failures[FAIL_CONNECT]) },
	{ "tlswrap_handshake_failures_total", NULL, NULL, ",reason=\"pushed_out\"", STAT(failures[FAIL_PUSHED_OUT]) },
	{ "tlswrap_bytes_total", "counter", "Bytes relayed by connections that have closed, by direction.",
	  ",direction=\"to_tls\"", STAT(bytes_to_tls) },
	{ "tlswrap_bytes_total", NULL, NULL, ",direction=\"to_plain\"", STAT(bytes_to_plain) },
	{ "tlswrap_sessions_resumed_total", "counter", "TLS handshakes that resumed a session.", "", STAT(resumed) },
	{ "tlswrap_ocsp_answers_total", "counter", "OCSP checks of peer certificates, by answer (none: no answer "
	  "could be had).", ",status=\"good\"", STAT(ocsp[OCSP_ANSWER_GOOD]) },
	{ "tlswrap_ocsp_answers_total", NULL, NULL, ",status=\"revoked\"", STAT(ocsp[OCSP_ANSWER_REVOKED]) },
	{ "tlswrap_ocsp_answers_total", NULL, NULL, ",status=\"unknown\"", STAT(ocsp[OCSP_ANSWER_UNKNOWN]) },
	{ "tlswrap_ocsp_answers_total", NULL, NULL, ",status=\"none\"", STAT(ocsp[OCSP_ANSWER_NONE]) },
	{ "tlswrap_ocsp_cache_hits_total", "counter", "OCSP answers taken from the cache rather than the responder.",
	  "", STAT(ocsp[OCSP_ANSWER_CACHED]) },
};

static void family(struct status_out *o, const char *name, const char *type, const char *help)
{
	out_line(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render(const struct runtime *rt, struct status_out *o)
{
	const struct generation *g = rt->cur;
	size_t nsvc = g ? g->nsvc : 0;
	char name[2 * sizeof(((const struct cfg_service *)NULL)->name)];

	for (size_t m = 0; m < sizeof(status_metrics) / sizeof(status_metrics[0]); m++) {
		const struct status_metric *sm = &status_metrics[m];
		if (sm->type)
			family(o, sm->name, sm->type, sm->help);
		for (size_t i = 0; i < nsvc; i++) {
			const struct service *sv = &g->svc[i];
			struct svc_totals t; /* the workers' counters, summed now */
			service_stats_sum(sv, &t);
			escape_label(sv->cfg->name, name, sizeof(name));
			out_line(o, "%s{service=\"%s\"%s} %llu\n", sm->name, name, sm->labels,
				 *(const unsigned long long *)((const char *)&t + sm->off));
		}
	}
	family(o, "tlswrap_certificate_not_after_seconds", "gauge",
	       "When the service's own certificate expires, in Unix time.");
	for (size_t i = 0; i < nsvc; i++) {
		long long t = tls_svc_not_after(&g->svc[i].tls);
		if (!t)
			continue;
		escape_label(g->svc[i].cfg->name, name, sizeof(name));
		out_line(o, "tlswrap_certificate_not_after_seconds{service=\"%s\"} %lld\n", name, t);
	}
	family(o, "tlswrap_crl_next_update_seconds", "gauge",
	       "When each CRL of the service (CRLfile, CRLpath) is due to be replaced (its nextUpdate), in Unix time.");
	for (size_t i = 0; i < nsvc; i++) {
		struct tls_crl_info ci;
		char issuer[2 * sizeof(ci.issuer)], file[2 * 4096];
		escape_label(g->svc[i].cfg->name, name, sizeof(name));
		for (int k = 0; tls_svc_crl(&g->svc[i].tls, k, &ci) == 0; k++) {
			if (!ci.next_update)
				continue;
			escape_label(ci.issuer, issuer, sizeof(issuer));
			escape_label(ci.file, file, sizeof(file));
			out_line(o, "tlswrap_crl_next_update_seconds{service=\"%s\",issuer=\"%s\",file=\"%s\"} %lld\n", name,
				 issuer, file, ci.next_update);
		}
	}
	/* maxConnections: each service's count goes on across reloads (the service of that name) */
	family(o, "tlswrap_max_connections", "gauge", "The service's maxConnections (0: no limit).");
	for (size_t i = 0; i < nsvc; i++) {
		escape_label(g->svc[i].cfg->name, name, sizeof(name));
		out_line(o, "tlswrap_max_connections{service=\"%s\"} %ld\n", name, atomic_load(&g->svc[i].lim->max));
	}
	family(o, "tlswrap_limited_connections", "gauge",
	       "Connections counted against the service's maxConnections, those of replaced configurations included.");
	for (size_t i = 0; i < nsvc; i++) {
		escape_label(g->svc[i].cfg->name, name, sizeof(name));
		out_line(o, "tlswrap_limited_connections{service=\"%s\"} %ld\n", name, atomic_load(&g->svc[i].lim->count));
	}
	family(o, "tlswrap_max_connections_reached_seconds_total", "counter",
	       "Time the service has spent at its maxConnections, not accepting.");
	for (size_t i = 0; i < nsvc; i++) {
		escape_label(g->svc[i].cfg->name, name, sizeof(name));
		out_line(o, "tlswrap_max_connections_reached_seconds_total{service=\"%s\"} %.3f\n", name,
			 limit_full_seconds(g->svc[i].lim));
	}
	family(o, "tlswrap_max_connections_all", "gauge", "The global maxConnections (0: no limit).");
	out_line(o, "tlswrap_max_connections_all %ld\n", atomic_load(&rt->total.max));
	family(o, "tlswrap_limited_connections_all", "gauge", "Connections counted against the global maxConnections.");
	out_line(o, "tlswrap_limited_connections_all %ld\n", atomic_load(&rt->total.count));
	family(o, "tlswrap_max_connections_all_reached_seconds_total", "counter",
	       "Time spent at the global maxConnections, no service accepting.");
	out_line(o, "tlswrap_max_connections_all_reached_seconds_total %.3f\n", limit_full_seconds(&rt->total));
	family(o, "tlswrap_max_handshakes", "gauge", "maxHandshakes: connections not yet relaying, over all workers (0: no limit).");
	out_line(o, "tlswrap_max_handshakes %d\n", g ? g->cfg.g.max_handshakes : 0);
	family(o, "tlswrap_handshakes_pending", "gauge", "Accepted connections not relaying yet (handshake, negotiation).");
	out_line(o, "tlswrap_handshakes_pending %ld\n", atomic_load_explicit(&rt->pending, memory_order_relaxed));
	family(o, "tlswrap_connections_open_all", "gauge",
	       "Connections now open, including those of configurations replaced by a reload.");
	out_line(o, "tlswrap_connections_open_all %lu\n", runtime_open(rt));
	family(o, "tlswrap_worker_connections_open", "gauge", "Connections now open on each worker thread.");
	for (int i = 0; i < rt->nworkers; i++)
		out_line(o, "tlswrap_worker_connections_open{worker=\"%d\"} %lu\n", i,
			 atomic_load_explicit(&rt->workers[i].open, memory_order_relaxed));
}

size_t status_render(const struct runtime *rt, char *buf, size_t len)
{
	struct status_out o = { buf, len, 0, 0 };
	if (len)
		buf[0] = '\0';
	render(rt, &o);
	return o.used;
}

/* The metrics text in a buffer grown until it fits, its length in *LEN; NULL when out of memory
 * (or past STATUS_BODY_MAX). */
static char *render_alloc(const struct runtime *rt, size_t *len)
{
	for (size_t cap = 65536; cap <= STATUS_BODY_MAX; cap *= 2) {
		struct status_out o = { malloc(cap), cap, 0, 0 };
		if (!o.buf)
			return NULL;
		o.buf[0] = '\0';
		render(rt, &o);
		if (!o.full) {
			*len = o.used;
			return o.buf;
		}
		free(o.buf);
	}
	return NULL;
}

/* ---- the HTTP side ---- */

struct status_client {
	struct status_server *srv;
	struct status_client *prev, *next;
	int fd;
	struct loop_io io;
	struct loop_timer timer;
	char req[STATUS_REQ_MAX + 1]; /* what has arrived, NUL-terminated */
	size_t reqlen;
	char *resp; /* the response once the request is complete; resp[sent..resplen) is still to go */
	size_t resplen, sent;
};

struct status_server {
	struct runtime *rt;
	int lfd;
	struct loop_io lio;
	struct loop_timer backoff;
	struct loop_tq *tq_client, *tq_backoff;
	struct status_client *clients, *newest; /* oldest first */
	unsigned nclients;
};

static void client_free(struct status_client *c)
{
	struct status_server *s = c->srv;
	loop_timer_cancel(&c->timer);
	loop_io_del(s->rt->loop, &c->io);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		s->newest = c->prev;
	s->nclients--;
	free(c->resp);
	free(c);
}

static void client_timeout(void *ctx)
{
	client_free(ctx);
}

/* After the response: read and discard until the client closes (or the timer fires), because
 * closing with input unread would reset the connection, and a reset can lose the response. */
static void client_drain(struct status_client *c)
{
	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(c->fd, c->req, sizeof(c->req), 0);
		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			client_free(c);
		return;
	}
}

/* Send what is left of the response, waiting for EPOLLOUT when the socket is full; then end our
 * side and drain. */
static void client_write(struct status_client *c)
{
	while (c->sent < c->resplen) {
		ssize_t n = send(c->fd, c->resp + c->sent, c->resplen - c->sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (loop_io_set(c->srv->rt->loop, &c->io, EPOLLOUT) < 0)
				client_free(c);
			return;
		}
		if (n <= 0) {
			client_free(c);
			return;
		}
		c->sent += (size_t)n;
	}
	if (shutdown(c->fd, SHUT_WR) < 0 || loop_io_set(c->srv->rt->loop, &c->io, EPOLLIN) < 0)
		client_free(c);
	else
		client_drain(c);
}

int status_route(char *req, int *metrics)
{
	char *line = req, *eol = strchr(line, '\n'), *target, *version;
	if (!eol)
		return 400; /* a NUL before the end of the request line */
	*eol = '\0';
	if (eol > line && eol[-1] == '\r')
		eol[-1] = '\0';
	target = strchr(line, ' ');
	version = target ? strchr(target + 1, ' ') : NULL;
	if (!version || target == line || version == target + 1 || strchr(version + 1, ' '))
		return 400;
	*target++ = '\0';
	*version++ = '\0';
	if ((strcmp(version, "HTTP/1.0") && strcmp(version, "HTTP/1.1")) ||
	    strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(line))
		return 400;
	if (strcmp(line, "GET"))
		return 405;
	target[strcspn(target, "?")] = '\0';
	*metrics = !strcmp(target, "/metrics");
	return *metrics || !strcmp(target, "/healthz") ? 200 : 404;
}

static const struct status_page {
	int code;
	const char *reason, *body; /* the body of every page but /metrics */
} status_pages[] = {
	{ 200, "OK", "ok\n" },
	{ 400, "Bad Request", "bad request\n" },
	{ 404, "Not Found", "not found\n" },
	{ 405, "Method Not Allowed", "method not allowed\n" },
	{ 500, "Internal Server Error", "out of memory\n" },
	{ 503, "Service Unavailable", "stopping\n" },
};

/* Build the response for CODE (one of status_pages) and start sending it; C is freed when that
 * fails or ends. */
static void client_respond(struct status_client *c, int code, int metrics)
{
	const struct status_page *p = status_pages;
	char *page = NULL, hdr[256];
	size_t blen;
	if (code == 200 && metrics && !(page = render_alloc(c->srv->rt, &blen)))
		code = 500;
	/* draining after SIGTERM: a load balancer's health check takes the instance out */
	if (code == 200 && !metrics && control_stopping(c->srv->rt))
		code = 503;
	while (p->code != code)
		p++;
	if (!page)
		blen = strlen(p->body);
	int hlen = snprintf(hdr, sizeof(hdr),
			    "HTTP/1.1 %d %s\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: %zu\r\n"
			    "%sConnection: close\r\n\r\n",
			    code, p->reason, blen, code == 405 ? "Allow: GET\r\n" : "");
	if (!(c->resp = malloc((size_t)hlen + blen))) {
		free(page);
		client_free(c);
		return;
	}
	memcpy(c->resp, hdr, (size_t)hlen);
	memcpy(c->resp + hlen, page ? page : p->body, blen);
	c->resplen = (size_t)hlen + blen;
	free(page);
	client_write(c);
}

static void client_on_event(void *ctx, uint32_t events)
{
	struct status_client *c = ctx;
	(void)events;
	if (c->resp) {
		if (c->sent < c->resplen)
			client_write(c);
		else
			client_drain(c);
		return;
	}
	for (;;) {
		ssize_t n = recv(c->fd, c->req + c->reqlen, STATUS_REQ_MAX - c->reqlen, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) { /* gone before the request was complete */
			client_free(c);
			return;
		}
		c->reqlen += (size_t)n;
		c->req[c->reqlen] = '\0';
		if (memmem(c->req, c->reqlen, "\r\n\r\n", 4) || memmem(c->req, c->reqlen, "\n\n", 2)) {
			int metrics = 0, code = status_route(c->req, &metrics);
			client_respond(c, code, metrics);
			return;
		}
		if (c->reqlen == STATUS_REQ_MAX) {
			client_respond(c, 400, 0);
			return;
		}
	}
}

static void client_new(struct status_server *s, int fd)
{
	struct status_client *c;
	if (s->nclients >= STATUS_MAX_CLIENTS)
		client_free(s->clients);
	if (!(c = calloc(1, sizeof(*c)))) {
		close(fd);
		return;
	}
	c->srv = s;
	c->fd = fd;
	if (loop_io_add(s->rt->loop, &c->io, fd, EPOLLIN, client_on_event, c) < 0) {
		close(fd);
		free(c);
		return;
	}
	loop_timer_arm(s->rt->loop, &c->timer, s->tq_client, client_timeout, c);
	c->prev = s->newest;
	if (c->prev)
		c->prev->next = c;
	else
		s->clients = c;
	s->newest = c;
	s->nclients++;
}

static void status_accept_resume(void *ctx)
{
	struct status_server *s = ctx;
	loop_io_set(s->rt->loop, &s->lio, EPOLLIN);
}

static void status_on_accept(void *ctx, uint32_t events)
{
	struct status_server *s = ctx;
	(void)events;
	for (int i = 0; i < STATUS_ACCEPT_BATCH; i++) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* the listener stays readable: pause instead of spinning on it */
				loop_io_set(s->rt->loop, &s->lio, 0);
				loop_timer_arm(s->rt->loop, &s->backoff, s->tq_backoff, status_accept_resume, s);
			}
			return;
		}
		client_new(s, fd);
	}
}

int status_open(struct status_server **out, struct runtime *rt, const struct cfg_addr *addr, char *err,
		size_t errlen)
{
	const char *host = addr->host[0] ? addr->host : "127.0.0.1";
	const char *lb = strchr(host, ':') ? "[" : "", *rb = lb[0] ? "]" : "";
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res;
	struct status_server *s;
	const char *why;
	int one = 1, rc;

	if (!(s = calloc(1, sizeof(*s)))) {
		why = strerror(errno);
		goto err0;
	}
	s->rt = rt;
	s->tq_client = loop_tq_get(rt->loop, STATUS_TIMEOUT_MS);
	s->tq_backoff = loop_tq_get(rt->loop, STATUS_BACKOFF_MS);
	if (!s->tq_client || !s->tq_backoff) {
		why = strerror(ENOMEM);
		goto err1;
	}
	if ((rc = getaddrinfo(host, addr->port, &hints, &res))) {
		why = rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc);
		goto err1;
	}
	if ((s->lfd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		why = strerror(errno);
		goto err2;
	}
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)
		setsockopt(s->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(s->lfd, res->ai_addr, res->ai_addrlen) < 0 || listen(s->lfd, STATUS_BACKLOG) < 0 ||
	    loop_io_add(rt->loop, &s->lio, s->lfd, EPOLLIN, status_on_accept, s) < 0) {
		why = strerror(errno);
		goto err3;
	}
	freeaddrinfo(res);
	*out = s;
	return 0;

err3:
	close(s->lfd);
err2:
	freeaddrinfo(res);
err1:
	free(s);
err0:
	snprintf(err, errlen, "status %s%s%s:%s: %s", lb, host, rb, addr->port, why);
	return -1;
}

void status_close(struct status_server *s)
{
	if (!s)
		return;
	for (struct status_client *c = s->clients, *next; c; c = next) {
		next = c->next;
		client_free(c);
	}
	loop_timer_cancel(&s->backoff);
	loop_io_del(s->rt->loop, &s->lio);
	close(s->lfd);
	free(s);
}
