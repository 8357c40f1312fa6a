/* A connection: the state machine and the relay between its TLS and plaintext sides.
 *
 * Client mode: accept plain -> connect out -> TLS handshake -> relay.
 * Server mode: accept TLS -> TLS handshake -> connect out (plain) -> relay.
 * Relay buffers exist only while a write would block; reads go through the runtime's scratch buffer. */
#include "conn.h"

#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/net_sockets.h>
#include <mbedtls/platform_util.h>

#include "child.h"
#include "gen.h"
#include "log.h"
#include "proto/connect.h"
#include "proto/proxy.h"
#include "proto/mailsrv.h"
#include "proto/starttls.h"
#include "service.h"

/* C_PROXYHDR: reading a PROXY header from a load balancer (acceptProxy); C_NEGOTIATE: asking an HTTP
 * proxy for a tunnel (protocol = connect) */
#define PROXY_PEEK_MAX 4096 /* a PROXY header from a load balancer, TLVs included */

enum conn_state { C_CONNECTING, C_HANDSHAKE, C_RELAY, C_PROXYHDR, C_NEGOTIATE, C_MAILOPEN, C_BACKGREET };

/* Data a side could not take yet. */
struct pending {
	size_t off, len;
	unsigned char data[];
};

struct conn {
	struct conn *prev, *next; /* runtime's list */
	struct service *sv;     /* the service the connection arrived on */
	struct service *route;  /* where it goes: sv, or a secondary chosen by SNI */
	unsigned long id;
	enum conn_state state;
	struct tls_bio tls; /* the TLS socket */
	int plain_fd;
	size_t inflight; /* bytes of to_tls that mbedTLS has sealed into a record not yet fully sent */
	struct loop_io tls_io, plain_io;
	struct loop_timer timer;
	struct loop_tq *timer_q; /* which timeout is running, for the log line */
	size_t target;           /* connect target being tried */
	mbedtls_ssl_context ssl;
	struct tls_peer peer;
	struct pending *to_tls, *to_plain;
	unsigned plain_eof : 1;   /* plaintext peer sent FIN */
	unsigned tls_eof : 1;     /* TLS peer sent close_notify (or closed) */
	unsigned tls_unclean : 1; /* ... without close_notify */
	unsigned notify_done : 1; /* our close_notify is fully sent */
	unsigned plain_shut : 1;  /* shutdown(SHUT_WR) done on the plaintext side */
	unsigned tls_hup : 1, plain_hup : 1; /* socket hung up: no longer in epoll */
	unsigned rd_want_write : 1, wr_want_read : 1;
	unsigned ssl_ready : 1;
	unsigned long long to_tls_bytes, to_plain_bytes;
	uint64_t start_ms;
	char peer_addr[56];
	struct starttls starttls; /* protocol = smtp | imap | pop3: where the opening is */
	struct sockaddr_storage peer_sa, local_sa; /* the client and the address it reached (or as a PROXY
						    * header in front says) */
};

/* Returns -1 when the connection has ended (and been freed). */
enum { FLOW_OK = 0, FLOW_DEAD = -1 };

static void conn_update_events(struct conn *c);
static void conn_start_connect(struct conn *c, const char *why);
static void conn_begin(struct conn *c);
static void conn_fail(struct conn *c, enum svc_failure why, int level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void conn_handshake(struct conn *c);

static struct loop *L(const struct conn *c)
{
	return c->sv->rt->loop;
}

static int conn_out_fd_is_tls(const struct conn *c)
{
	return c->sv->cfg->client;
}

static void conn_free(struct conn *c)
{
	struct runtime *rt = c->sv->rt;
	loop_timer_cancel(&c->timer);
	loop_io_del(rt->loop, &c->tls_io);
	loop_io_del(rt->loop, &c->plain_io);
	if (c->tls.fd >= 0)
		close(c->tls.fd);
	if (c->plain_fd >= 0)
		close(c->plain_fd);
	mbedtls_ssl_free(&c->ssl);
	free(c->to_tls);
	free(c->to_plain);
	if (c->prev)
		c->prev->next = c->next;
	else
		rt->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	rt->nconns--;
	c->sv->stats.open--;
	c->sv->stats.bytes_to_tls += c->to_tls_bytes;
	c->sv->stats.bytes_to_plain += c->to_plain_bytes;
	struct generation *g = c->sv->gen;
	free(c);
	gen_release(rt, g);
	if (rt->draining && rt->nconns == 0)
		loop_stop(rt->loop);
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

static void conn_vend(struct conn *c, int level, const char *fmt, va_list ap)
{
	char why[512];
	vsnprintf(why, sizeof(why), fmt, ap);
	uint64_t ms = loop_now(L(c)) - c->start_ms;
	if (log_json_on()) {
		char j[1024];
		json_head(c, "close", j, sizeof(j));
		if (c->route != c->sv)
			log_json_add(j, sizeof(j), "route", c->route->cfg->name, 0, 0);
		log_json_add(j, sizeof(j), "reason", why, 0, 0);
		log_json_add(j, sizeof(j), "bytes_to_tls", NULL, 1, c->to_tls_bytes);
		log_json_add(j, sizeof(j), "bytes_to_plain", NULL, 1, c->to_plain_bytes);
		log_json_add(j, sizeof(j), "duration_ms", NULL, 1, ms);
		log_record(level, j);
	} else {
		log_msg(level, "[%s] #%lu %s: closed (%s); to_tls=%llu to_plain=%llu bytes; %llu.%03llus", c->sv->cfg->name,
			c->id, c->peer_addr, why, c->to_tls_bytes, c->to_plain_bytes, (unsigned long long)(ms / 1000),
			(unsigned long long)(ms % 1000));
	}
	conn_free(c);
}

/* End the connection: one log record with the reason, then release everything. */
static void conn_end(struct conn *c, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void conn_end(struct conn *c, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	conn_vend(c, level, fmt, ap);
	va_end(ap);
}

/* As conn_end, counting the failure in the service's metrics. */
static void conn_fail(struct conn *c, enum svc_failure why, int level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void conn_fail(struct conn *c, enum svc_failure why, int level, const char *fmt, ...)
{
	va_list ap;
	c->sv->stats.failures[why]++;
	va_start(ap, fmt);
	conn_vend(c, level, fmt, ap);
	va_end(ap);
}

static void conn_timeout(void *ctx)
{
	struct conn *c = ctx;
	const struct service *sv = c->sv;
	const struct cfg_service *cf = sv->cfg;
	if (c->state == C_CONNECTING) {
		char to[64];
		service_addr_str((struct sockaddr *)&c->route->targets[c->target].sa, to, sizeof(to));
		char why[128];
		snprintf(why, sizeof(why), "%s: timed out after %ds (TIMEOUTconnect)", to, c->route->cfg->timeout_connect);
		log_info("[%s] #%lu connect %s", cf->name, c->id, why);
		int is_tls = conn_out_fd_is_tls(c);
		loop_io_del(L(c), is_tls ? &c->tls_io : &c->plain_io);
		close(is_tls ? c->tls.fd : c->plain_fd);
		*(is_tls ? &c->tls.fd : &c->plain_fd) = -1;
		c->target++;
		conn_start_connect(c, why);
		return;
	}
	/* the handshake runs under the listening service's timeouts, the rest under the route's */
	const struct cfg_service *rf = c->route->cfg;
	if (c->timer_q == sv->tq_busy)
		conn_fail(c, FAIL_TIMEOUT, LOG_NOTICE, "TIMEOUTbusy: %s not finished after %ds",
			  c->state == C_PROXYHDR                                        ? "PROXY header"
			  : c->state == C_NEGOTIATE && cf->protocol == CFG_PROTO_CONNECT ? "proxy CONNECT"
			  : c->state == C_NEGOTIATE || c->state == C_MAILOPEN          ? "STARTTLS opening"
			  : c->state == C_BACKGREET                                    ? "backend greeting"
											  : "handshake",
			  cf->timeout_busy);
	else if (c->timer_q == c->route->tq_close)
		conn_end(c, LOG_NOTICE, "TIMEOUTclose: close not finished after %ds", rf->timeout_close);
	else
		conn_end(c, LOG_NOTICE, "TIMEOUTidle: no data for %ds", rf->timeout_idle);
}

static void conn_arm(struct conn *c, struct loop_tq *q)
{
	c->timer_q = q;
	loop_timer_arm(L(c), &c->timer, q, conn_timeout, c);
}

static void conn_on_io(struct conn *c, uint32_t events, int is_tls);

static void conn_on_tls(void *ctx, uint32_t events)
{
	conn_on_io(ctx, events, 1);
}

static void conn_on_plain(void *ctx, uint32_t events)
{
	conn_on_io(ctx, events, 0);
}

static void set_nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void conn_accept(struct service *sv, int fd, const struct sockaddr *peer)
{
	struct runtime *rt = sv->rt;
	struct conn *c = calloc(1, sizeof(*c));
	char addr[56];
	service_addr_str(peer, addr, sizeof(addr));
	if (!c) {
		log_err("[%s] %s: out of memory; connection refused", sv->cfg->name, addr);
		close(fd);
		return;
	}
	c->sv = c->route = sv;
	c->id = ++rt->conn_seq;
	c->start_ms = loop_now(rt->loop);
	snprintf(c->peer_addr, sizeof(c->peer_addr), "%s", addr);
	c->tls_io.fd = c->plain_io.fd = -1;
	mbedtls_ssl_init(&c->ssl);
	c->next = rt->conns;
	if (rt->conns)
		rt->conns->prev = c;
	rt->conns = c;
	rt->nconns++;
	sv->gen->refs++;
	sv->stats.open++;
	sv->stats.total++;
	set_nodelay(fd);
	memcpy(&c->peer_sa, peer, peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	socklen_t ll = sizeof(c->local_sa);
	getsockname(fd, (struct sockaddr *)&c->local_sa, &ll);
	log_debug("[%s] #%lu %s: accepted", sv->cfg->name, c->id, addr);
	c->tls.fd = sv->cfg->client ? -1 : fd;
	c->plain_fd = sv->cfg->client ? fd : -1;
	if (sv->cfg->accept_proxy) {
		struct loop_io *io = sv->cfg->client ? &c->plain_io : &c->tls_io;
		/* edge-triggered while a header is incomplete: we only peek, so level-triggered would spin */
		if (loop_io_add(rt->loop, io, fd, EPOLLIN | EPOLLRDHUP | EPOLLET, sv->cfg->client ? conn_on_plain : conn_on_tls,
				c) < 0) {
			conn_end(c, LOG_ERR, "epoll: %s", strerror(errno));
			return;
		}
		c->state = C_PROXYHDR;
		conn_arm(c, sv->tq_busy);
		return;
	}
	conn_begin(c);
}

static enum starttls_proto mail_proto(const struct cfg_service *s)
{
	return s->protocol == CFG_PROTO_SMTP ? STARTTLS_SMTP : s->protocol == CFG_PROTO_IMAP ? STARTTLS_IMAP : STARTTLS_POP3;
}

static void conn_begin_tls(struct conn *c);
static void conn_start_relay(struct conn *c);

/* After the accept (and any PROXY header): client mode connects out, server mode starts the handshake
 * (after the plaintext opening, for STARTTLS). */
static void conn_begin(struct conn *c)
{
	struct service *sv = c->sv;
	if (sv->cfg->client) {
		conn_start_connect(c, NULL);
		return;
	}
	if (sv->cfg->protocol >= CFG_PROTO_SMTP) {
		char greet[256];
		mailsrv_greeting(mail_proto(sv->cfg), "tlswrap", greet, sizeof(greet));
		if (send(c->tls.fd, greet, strlen(greet), MSG_NOSIGNAL) != (ssize_t)strlen(greet)) {
			conn_end(c, LOG_NOTICE, "STARTTLS: greeting the client: %s", strerror(errno));
			return;
		}
		if (c->tls_io.fd < 0 ? loop_io_add(L(c), &c->tls_io, c->tls.fd, EPOLLIN | EPOLLRDHUP | EPOLLET, conn_on_tls, c) < 0
				     : loop_io_set(L(c), &c->tls_io, EPOLLIN | EPOLLRDHUP | EPOLLET) < 0) {
			conn_end(c, LOG_ERR, "epoll: %s", strerror(errno));
			return;
		}
		c->state = C_MAILOPEN;
		conn_arm(c, sv->tq_busy);
		return;
	}
	conn_begin_tls(c);
}

/* Server STARTTLS: answer the client's plaintext commands until it asks for TLS. The STARTTLS line must
 * be the last thing it sent in plaintext: anything after it would be injected into the TLS session. */
static void conn_mail_opening(struct conn *c, uint32_t events)
{
	char *buf = (char *)c->sv->rt->scratch, out[512];
	for (;;) {
		ssize_t n = recv(c->tls.fd, buf, STARTTLS_MAX_LINE, MSG_PEEK);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0) {
			conn_end(c, LOG_NOTICE, "client closed before STARTTLS");
			return;
		}
		const char *nl = memchr(buf, '\n', (size_t)n);
		if (!nl) {
			if (n >= STARTTLS_MAX_LINE)
				conn_fail(c, FAIL_HANDSHAKE, LOG_WARNING, "STARTTLS: command line too long");
			else if (events & (EPOLLRDHUP | EPOLLHUP))
				conn_end(c, LOG_NOTICE, "client closed before STARTTLS");
			return;
		}
		size_t len = (size_t)(nl - buf) + 1;
		int more = (size_t)n > len;
		if (recv(c->tls.fd, buf, len, 0) != (ssize_t)len) {
			conn_end(c, LOG_ERR, "STARTTLS: reading a command: %s", strerror(errno));
			return;
		}
		enum mailsrv_action a = mailsrv_command(mail_proto(c->sv->cfg), "tlswrap", buf, len, out, sizeof(out));
		if (a == MAILSRV_STARTTLS && more) {
			conn_fail(c, FAIL_HANDSHAKE, LOG_WARNING, "STARTTLS: plaintext sent after the STARTTLS command");
			return;
		}
		if (send(c->tls.fd, out, strlen(out), MSG_NOSIGNAL) != (ssize_t)strlen(out)) {
			conn_end(c, LOG_NOTICE, "STARTTLS: answering the client: %s", strerror(errno));
			return;
		}
		if (a == MAILSRV_QUIT) {
			conn_end(c, LOG_NOTICE, "client quit before STARTTLS");
			return;
		}
		if (a == MAILSRV_STARTTLS) {
			loop_timer_cancel(&c->timer);
			conn_begin_tls(c);
			return;
		}
	}
}

/* Server STARTTLS, after connecting: the backend greets too, but the client was greeted already; its
 * greeting is taken and dropped so the client sees one session. */
static void conn_backend_greeting(struct conn *c, uint32_t events)
{
	char *buf = (char *)c->sv->rt->scratch, why[300], out[64];
	ssize_t n = recv(c->plain_fd, buf, STARTTLS_MAX_LINE * 2, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_fail(c, FAIL_CONNECT, LOG_ERR, "backend closed before its greeting");
		return;
	}
	struct starttls st = { mail_proto(c->route->cfg), 0 };
	size_t used = 0;
	int relay;
	enum starttls_result r = starttls_step(&st, buf, (size_t)n, "tlswrap", &used, &relay, out, sizeof(out), why,
					       sizeof(why));
	if (r == STARTTLS_MORE) {
		if (events & (EPOLLRDHUP | EPOLLHUP))
			conn_fail(c, FAIL_CONNECT, LOG_ERR, "backend closed in the middle of its greeting");
		return;
	}
	if (r == STARTTLS_FAIL) {
		conn_fail(c, FAIL_CONNECT, LOG_ERR, "backend greeting: %s", why);
		return;
	}
	if (recv(c->plain_fd, buf, used, 0) != (ssize_t)used) {
		conn_end(c, LOG_ERR, "backend greeting: %s", strerror(errno));
		return;
	}
	loop_io_set(L(c), &c->plain_io, 0);
	conn_start_relay(c);
}

static void conn_begin_tls(struct conn *c)
{
	struct service *sv = c->sv;
	int rc = tls_conn_setup(&c->ssl, &sv->tls, &c->tls, NULL, &c->peer);
	if (rc) {
		char e[200];
		tls_error(rc, NULL, e, sizeof(e));
		conn_end(c, LOG_ERR, "TLS setup: %s", e);
		return;
	}
	c->ssl_ready = 1;
	if (c->tls_io.fd < 0 ? loop_io_add(L(c), &c->tls_io, c->tls.fd, EPOLLIN, conn_on_tls, c) < 0
			     : loop_io_set(L(c), &c->tls_io, EPOLLIN) < 0) {
		conn_end(c, LOG_ERR, "epoll: %s", strerror(errno));
		return;
	}
	c->state = C_HANDSHAKE;
	conn_arm(c, sv->tq_busy);
	conn_handshake(c);
}

/* acceptProxy: the load balancer's PROXY header, read exactly (peeked, then consumed), so the TLS or
 * plaintext stream after it is untouched. */
static void conn_read_proxy_header(struct conn *c, uint32_t events)
{
	int fd = c->sv->cfg->client ? c->plain_fd : c->tls.fd;
	unsigned char *buf = c->sv->rt->scratch;
	ssize_t n = recv(fd, buf, PROXY_PEEK_MAX, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_end(c, LOG_NOTICE, "no PROXY header: %s", n == 0 ? "connection closed" : strerror(errno));
		return;
	}
	struct sockaddr_storage src, dst;
	const char *why = "header too large";
	int len = proxy_decode(buf, (size_t)n, &src, &dst, &why);
	if (len == 0 && n < PROXY_PEEK_MAX && !(events & (EPOLLRDHUP | EPOLLHUP)))
		return; /* more to come */
	if (len == 0 && n < PROXY_PEEK_MAX)
		why = "connection closed in the middle of the header";
	if (len <= 0) {
		conn_fail(c, FAIL_HANDSHAKE, LOG_WARNING, "bad PROXY header: %s", why);
		return;
	}
	if (recv(fd, buf, (size_t)len, 0) != len) {
		conn_end(c, LOG_ERR, "reading the PROXY header: %s", strerror(errno));
		return;
	}
	if (src.ss_family != AF_UNSPEC) {
		char was[56];
		snprintf(was, sizeof(was), "%s", c->peer_addr);
		c->peer_sa = src;
		c->local_sa = dst;
		service_addr_str((struct sockaddr *)&src, c->peer_addr, sizeof(c->peer_addr));
		log_debug("[%s] #%lu %s: PROXY header from %s", c->sv->cfg->name, c->id, c->peer_addr, was);
	}
	loop_io_set(L(c), c->sv->cfg->client ? &c->plain_io : &c->tls_io, 0);
	conn_begin(c);
}

/* Try connect targets from c->target on; on success we wait for writability. WHY says how the
 * previous target failed (NULL for the first). */
static void conn_start_connect(struct conn *c, const char *why)
{
	struct service *sv = c->sv;
	int is_tls = conn_out_fd_is_tls(c);
	int *fdp = is_tls ? &c->tls.fd : &c->plain_fd;
	struct loop_io *io = is_tls ? &c->tls_io : &c->plain_io;
	char to[64], last[200];
	snprintf(last, sizeof(last), "%s", why ? why : "no addresses");
	c->state = C_CONNECTING;
	for (; c->target < c->route->ntargets; c->target++) {
		const struct svc_target *t = &c->route->targets[c->target];
		service_addr_str((const struct sockaddr *)&t->sa, to, sizeof(to));
		int fd = socket(t->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(last, sizeof(last), "%s: socket: %s", to, strerror(errno));
			if (errno == EMFILE || errno == ENFILE)
				break;
			continue;
		}
		set_nodelay(fd);
		if (connect(fd, (const struct sockaddr *)&t->sa, t->len) < 0 && errno != EINPROGRESS) {
			snprintf(last, sizeof(last), "%s: %s", to, strerror(errno));
			log_info("[%s] #%lu connect %s", sv->cfg->name, c->id, last);
			close(fd);
			continue;
		}
		if (loop_io_add(L(c), io, fd, EPOLLOUT, is_tls ? conn_on_tls : conn_on_plain, c) < 0) {
			snprintf(last, sizeof(last), "%s: epoll: %s", to, strerror(errno));
			close(fd);
			continue;
		}
		*fdp = fd;
		conn_arm(c, c->route->tq_connect);
		return;
	}
	conn_fail(c, FAIL_CONNECT, LOG_ERR, "connect failed: %s", last);
}

static void conn_log_established(struct conn *c)
{
	char subject[256], to[320], extra[512] = "";
	size_t n = 0;
	const char *alpn = mbedtls_ssl_get_alpn_protocol(&c->ssl);
	tls_peer_subject(&c->ssl, subject, sizeof(subject));
	if (c->route->cfg->exec)
		snprintf(to, sizeof(to), "exec %s", c->route->cfg->exec);
	else
		service_addr_str((struct sockaddr *)&c->route->targets[c->target].sa, to, sizeof(to));
	if (c->peer.resumed == 1)
		c->sv->stats.resumed++;
	if (log_json_on()) {
		char j[1536], serial[96] = "";
		const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(&c->ssl);
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
		log_record(LOG_NOTICE, j);
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
	log_notice("[%s] #%lu %s: established %s %s to %s%s", c->sv->cfg->name, c->id, c->peer_addr,
		   mbedtls_ssl_get_version(&c->ssl), mbedtls_ssl_get_ciphersuite(&c->ssl), to, extra);
}

static int plain_push(struct conn *c, const unsigned char *data, size_t len);

/* protocol = proxy / proxyProtocol: tell the backend who the client is before any of its data. */
static int conn_send_proxy_header(struct conn *c)
{
	unsigned char hdr[1024];
	int len;
	if (c->sv->cfg->proxy_version == 1) {
		len = proxy_encode_v1((struct sockaddr *)&c->peer_sa, (struct sockaddr *)&c->local_sa, (char *)hdr,
				      sizeof(hdr));
	} else {
		char cn[128] = "";
		const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(&c->ssl);
		int verified = crt && c->peer.cert_ok;
		if (verified)
			tls_peer_cn(&c->ssl, cn, sizeof(cn));
		struct proxy_tlv_info tlv = { .alpn = mbedtls_ssl_get_alpn_protocol(&c->ssl),
					      .authority = c->peer.sni[0] ? c->peer.sni : NULL,
					      .ssl = 1,
					      .verified = verified,
					      .version = mbedtls_ssl_get_version(&c->ssl),
					      .cn = cn[0] ? cn : NULL };
		len = proxy_encode_v2((struct sockaddr *)&c->peer_sa, (struct sockaddr *)&c->local_sa, &tlv, hdr, sizeof(hdr));
	}
	if (len < 0) {
		conn_end(c, LOG_ERR, "PROXY header does not fit");
		return FLOW_DEAD;
	}
	int to_plain = (int)c->to_plain_bytes;
	if (plain_push(c, hdr, (size_t)len) == FLOW_DEAD)
		return FLOW_DEAD;
	c->to_plain_bytes = (unsigned long long)to_plain; /* the header is ours, not the client's data */
	return FLOW_OK;
}

static void conn_start_relay(struct conn *c)
{
	c->state = C_RELAY;
	if (c->sv->cfg->proxy_version && conn_send_proxy_header(c) == FLOW_DEAD)
		return;
	int fd = conn_out_fd_is_tls(c) ? c->plain_fd : c->tls.fd; /* the accepted side, not yet watched */
	struct loop_io *io = conn_out_fd_is_tls(c) ? &c->plain_io : &c->tls_io;
	if (io->fd < 0 && loop_io_add(L(c), io, fd, 0, conn_out_fd_is_tls(c) ? conn_on_plain : conn_on_tls, c) < 0) {
		conn_end(c, LOG_ERR, "epoll: %s", strerror(errno));
		return;
	}
	conn_log_established(c);
	conn_arm(c, c->route->tq_idle);
	/* the accepted side may already hold data (a client that spoke first) */
	conn_on_io(c, EPOLLIN | EPOLLOUT, 0);
}

static void conn_connected(struct conn *c);

/* exec: the plaintext side is a program on a socketpair, told who the client is as stunnel does. */
static void conn_start_exec(struct conn *c)
{
	const struct cfg_service *s = c->route->cfg;
	char argbuf[1024], *argv[64], host[64], port[8], dn[300];
	char e_host[80], e_port[32], e_dn[320];
	char *env[4] = { e_host, e_port, NULL, NULL };
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
	tls_peer_subject(&c->ssl, dn, sizeof(dn));
	if (dn[0]) {
		snprintf(e_dn, sizeof(e_dn), "SSL_CLIENT_DN=%s", dn);
		env[2] = e_dn;
	}
	int fd;
	pid_t pid = child_spawn(s->exec, s->exec_args ? argv : NULL, env, &fd);
	if (pid < 0) {
		conn_fail(c, FAIL_CONNECT, LOG_ERR, "exec %s: %s", s->exec, strerror(errno));
		return;
	}
	log_debug("[%s] #%lu exec %s: pid %ld", c->sv->cfg->name, c->id, s->exec, (long)pid);
	c->plain_fd = fd;
	if (loop_io_add(L(c), &c->plain_io, fd, 0, conn_on_plain, c) < 0) {
		conn_end(c, LOG_ERR, "epoll: %s", strerror(errno));
		return;
	}
	conn_start_relay(c);
}

/* protocol = connect: send the CONNECT request to the proxy we are connected to. */
static void conn_start_negotiation(struct conn *c)
{
	const struct cfg_service *s = c->sv->cfg;
	char req[4096], err[200];
	int len = connect_request(s->protocol_host.host, s->protocol_host.port, s->protocol_username,
				  s->protocol_password, (const char *const *)s->protocol_header.v, s->protocol_header.n, req,
				  sizeof(req), err, sizeof(err));
	if (len < 0) {
		conn_end(c, LOG_ERR, "CONNECT request: %s", err);
		return;
	}
	c->state = C_NEGOTIATE;
	conn_arm(c, c->sv->tq_busy);
	ssize_t n = send(c->tls.fd, req, (size_t)len, MSG_NOSIGNAL);
	int e = errno;
	mbedtls_platform_zeroize(req, sizeof(req)); /* it may hold the proxy password */
	if (n != len) { /* a fresh socket takes a few hundred bytes at once; anything else is a failure */
		conn_fail(c, FAIL_CONNECT, LOG_ERR, "sending CONNECT to the proxy: %s",
			  n < 0 ? strerror(e) : "short write");
		return;
	}
	loop_io_set(L(c), &c->tls_io, EPOLLIN | EPOLLRDHUP | EPOLLET); /* peeking: see conn_accept */
}

/* The proxy's answer, peeked until the whole head is there and then consumed exactly: the TLS stream
 * that follows is the origin's. */
/* STARTTLS: take the server's replies one at a time (peeked, then consumed exactly), relaying its greeting
 * to the local client and sending our commands, until it agrees to TLS. Nothing of the local client's goes
 * to the server in plaintext: its data waits until TLS is up. */
static void conn_read_starttls(struct conn *c, uint32_t events)
{
	char *buf = (char *)c->sv->rt->scratch, why[300], out[300];
	for (;;) {
		ssize_t n = recv(c->tls.fd, buf, STARTTLS_MAX_LINE * 2, MSG_PEEK);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0) {
			conn_fail(c, FAIL_CONNECT, LOG_ERR, "STARTTLS: server closed the connection%s%s", n ? ": " : "",
				  n ? strerror(errno) : "");
			return;
		}
		size_t used = 0;
		int relay = 0;
		enum starttls_result r = starttls_step(&c->starttls, buf, (size_t)n, "tlswrap", &used, &relay, out,
						       sizeof(out), why, sizeof(why));
		if (r == STARTTLS_MORE) {
			if (events & (EPOLLRDHUP | EPOLLHUP))
				conn_fail(c, FAIL_CONNECT, LOG_ERR, "STARTTLS: server closed the connection mid-reply");
			return;
		}
		if (r == STARTTLS_FAIL) {
			conn_fail(c, FAIL_CONNECT, LOG_ERR, "STARTTLS refused: %s", why);
			return;
		}
		if (recv(c->tls.fd, buf, used, 0) != (ssize_t)used) {
			conn_end(c, LOG_ERR, "STARTTLS: reading the reply: %s", strerror(errno));
			return;
		}
		if (r == STARTTLS_TLS) {
			loop_timer_cancel(&c->timer);
			conn_connected(c);
			return;
		}
		if (relay && plain_push(c, (const unsigned char *)buf, used) == FLOW_DEAD)
			return;
		size_t ol = strlen(out);
		if (ol && send(c->tls.fd, out, ol, MSG_NOSIGNAL) != (ssize_t)ol) {
			conn_fail(c, FAIL_CONNECT, LOG_ERR, "STARTTLS: sending a command: %s", strerror(errno));
			return;
		}
	}
}

static void conn_read_negotiation(struct conn *c, uint32_t events)
{
	if (c->sv->cfg->protocol >= CFG_PROTO_SMTP) {
		conn_read_starttls(c, events);
		return;
	}
	char *buf = (char *)c->sv->rt->scratch, why[200];
	ssize_t n = recv(c->tls.fd, buf, CONNECT_MAX_HEAD + 1, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_fail(c, FAIL_CONNECT, LOG_ERR, "proxy closed the connection before answering CONNECT%s%s",
			  n ? ": " : "", n ? strerror(errno) : "");
		return;
	}
	int len = connect_response(buf, (size_t)n, why, sizeof(why));
	if (len == 0 && (events & (EPOLLRDHUP | EPOLLHUP))) {
		conn_fail(c, FAIL_CONNECT, LOG_ERR, "proxy closed the connection in the middle of its answer to CONNECT");
		return;
	}
	if (len == 0)
		return;
	if (len < 0) {
		conn_fail(c, FAIL_CONNECT, LOG_ERR, "proxy refused CONNECT: %s", why);
		return;
	}
	if (recv(c->tls.fd, buf, (size_t)len, 0) != len) {
		conn_end(c, LOG_ERR, "reading the proxy's answer: %s", strerror(errno));
		return;
	}
	loop_timer_cancel(&c->timer);
	conn_connected(c);
}

static void conn_connected(struct conn *c)
{
	struct service *sv = c->sv;
	if (!sv->cfg->client && sv->cfg->protocol >= CFG_PROTO_SMTP) {
		c->state = C_BACKGREET;
		conn_arm(c, sv->tq_busy);
		loop_io_set(L(c), &c->plain_io, EPOLLIN | EPOLLRDHUP | EPOLLET);
		return;
	}
	if (!sv->cfg->client) {
		conn_start_relay(c);
		return;
	}
	if (sv->cfg->protocol == CFG_PROTO_CONNECT && c->state != C_NEGOTIATE) {
		conn_start_negotiation(c);
		return;
	}
	if (sv->cfg->protocol >= CFG_PROTO_SMTP && c->state != C_NEGOTIATE) {
		/* STARTTLS: the server speaks first; its greeting and our commands precede the handshake */
		c->state = C_NEGOTIATE;
		c->starttls.proto = sv->cfg->protocol == CFG_PROTO_SMTP ? STARTTLS_SMTP
				    : sv->cfg->protocol == CFG_PROTO_IMAP ? STARTTLS_IMAP : STARTTLS_POP3;
		conn_arm(c, sv->tq_busy);
		loop_io_set(L(c), &c->tls_io, EPOLLIN | EPOLLRDHUP | EPOLLET);
		return;
	}
	/* through a proxy, names default to the origin asked for, not the proxy */
	const char *host = sv->cfg->protocol == CFG_PROTO_CONNECT ? sv->cfg->protocol_host.host
								  : c->route->targets[c->target].host;
	const char *sni = sv->cfg->sni ? sv->cfg->sni : host;
	/* the name to verify: checkHost/checkIP when set (tls.c), else sni, else the connect host */
	c->peer.expect_host = sv->cfg->sni && *sv->cfg->sni ? sv->cfg->sni : host;
	int rc = tls_conn_setup(&c->ssl, &sv->tls, &c->tls, sni, &c->peer);
	if (rc) {
		char e[200];
		tls_error(rc, NULL, e, sizeof(e));
		conn_end(c, LOG_ERR, "TLS setup: %s", e);
		return;
	}
	c->ssl_ready = 1;
	c->state = C_HANDSHAKE;
	conn_arm(c, sv->tq_busy);
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
		log_debug("[%s] #%lu connected", c->sv->cfg->name, c->id);
		conn_connected(c);
		return;
	}
	char to[64];
	service_addr_str((struct sockaddr *)&c->route->targets[c->target].sa, to, sizeof(to));
	char why[128];
	snprintf(why, sizeof(why), "%s: %s", to, strerror(err));
	if (c->target + 1 >= c->route->ntargets) {
		conn_fail(c, FAIL_CONNECT, LOG_ERR, "connect failed: %s", why);
		return;
	}
	log_info("[%s] #%lu connect %s; trying the next address", c->sv->cfg->name, c->id, why);
	loop_io_del(L(c), is_tls ? &c->tls_io : &c->plain_io);
	close(fd);
	*(is_tls ? &c->tls.fd : &c->plain_fd) = -1;
	c->target++;
	conn_start_connect(c, why);
}

static void conn_handshake(struct conn *c)
{
	int rc;
	while ((rc = tls_handshake(&c->ssl, &c->peer)) == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
		tls_session_ticket(&c->ssl, &c->peer);
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
		loop_io_set(L(c), &c->tls_io, rc == MBEDTLS_ERR_SSL_WANT_READ ? EPOLLIN : EPOLLOUT);
		return;
	}
	if (rc) {
		char e[300];
		tls_error(rc, &c->ssl, e, sizeof(e));
		conn_fail(c, strstr(e, "certificate verification failed") ? FAIL_VERIFY : FAIL_HANDSHAKE, LOG_WARNING,
			  "TLS handshake failed: %s", e);
		return;
	}
	char why[300];
	if (tls_peer_verdict(&c->ssl, &c->peer, why, sizeof(why)) < 0) {
		mbedtls_ssl_send_alert_message(&c->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
					       MBEDTLS_SSL_ALERT_MSG_BAD_CERT);
		conn_fail(c, FAIL_VERIFY, LOG_WARNING, "peer refused: %s", why);
		return;
	}
	tls_session_keep(&c->ssl, &c->peer);
	if (c->sv->cfg->client) {
		conn_start_relay(c);
	} else {
		if (c->peer.route)
			c->route = c->peer.route;
		loop_io_set(L(c), &c->tls_io, 0);
		c->target = 0;
		if (c->route->cfg->exec)
			conn_start_exec(c);
		else
			conn_start_connect(c, NULL);
	}
}

/* What a side could not take: *SLOT (already the pending buffer) advances by OFF, or becomes a copy
 * of DATA from OFF on. FLOW_DEAD when out of memory (the connection has ended). */
static int keep_pending(struct conn *c, struct pending **slot, const unsigned char *data, size_t len, size_t off)
{
	if (*slot) { /* DATA is the pending buffer's own: just advance it */
		(*slot)->off += off;
		return FLOW_OK;
	}
	struct pending *p = malloc(sizeof(*p) + (len - off));
	if (!p) {
		conn_end(c, LOG_ERR, "out of memory");
		return FLOW_DEAD;
	}
	p->off = 0;
	p->len = len - off;
	memcpy(p->data, data + off, len - off);
	*slot = p;
	return FLOW_OK;
}

/* Everything was taken: the pending buffer, if any, goes. */
static void drop_pending(struct pending **slot)
{
	free(*slot);
	*slot = NULL;
}


/* Push bytes into TLS; what mbedTLS cannot take now is kept in c->to_tls (mbedTLS wants the same
 * bytes offered again after WANT_WRITE). */
static int tls_push(struct conn *c, const unsigned char *data, size_t len)
{
	size_t off = 0;
	int rc = 0;
	while (off < len) {
		if (c->inflight && c->tls.out_left == 0) {
			/* mbedTLS flushed our sealed record while handling something else (a TLS 1.3 post-handshake
			 * message inside a read): those bytes are sent, and offering them again would repeat them */
			off += c->inflight;
			c->to_tls_bytes += c->inflight;
			c->inflight = 0;
			continue;
		}
		if (!c->inflight && c->tls.out_left) {
			/* another message of mbedTLS's is half sent: a fresh write now would be taken for its retry;
			 * the read that queued it sends it when retried */
			rc = MBEDTLS_ERR_SSL_WANT_WRITE;
			goto blocked;
		}
		size_t chunk = len - off;
		int fresh = !c->inflight;
		rc = mbedtls_ssl_write(&c->ssl, data + off, chunk);
		if (rc > 0) {
			c->inflight = 0;
			off += (size_t)rc;
			c->to_tls_bytes += (unsigned)rc;
			continue;
		}
		if (rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) { /* a TLS 1.3 ticket read on the way */
			tls_session_ticket(&c->ssl, &c->peer);
			continue;
		}
		if (rc == MBEDTLS_ERR_SSL_WANT_WRITE || rc == MBEDTLS_ERR_SSL_WANT_READ) {
			if (fresh && c->tls.out_left) { /* our bytes are sealed in a record, partly sent */
				int max = mbedtls_ssl_get_max_out_record_payload(&c->ssl);
				c->inflight = max > 0 && (size_t)max < chunk ? (size_t)max : chunk;
			}
			goto blocked;
		}
		char e[200];
		tls_error(rc, &c->ssl, e, sizeof(e));
		conn_end(c, LOG_NOTICE, "TLS write: %s", e);
		return FLOW_DEAD;
	}
	c->wr_want_read = 0;
	drop_pending(&c->to_tls);
	return FLOW_OK;
blocked:
	c->wr_want_read = rc == MBEDTLS_ERR_SSL_WANT_READ;
	return keep_pending(c, &c->to_tls, data, len, off);
}

/* Plaintext -> TLS until the plaintext side is empty or TLS cannot take more. */
static int flow_plain_to_tls(struct conn *c, int *moved)
{
	for (;;) {
		if (c->to_tls) {
			struct pending *p = c->to_tls;
			if (tls_push(c, p->data + p->off, p->len - p->off) == FLOW_DEAD)
				return FLOW_DEAD;
			if (c->to_tls)
				return FLOW_OK; /* still blocked */
			*moved = 1;
		}
		if (c->plain_eof) {
			if (!c->notify_done) {
				int rc = mbedtls_ssl_close_notify(&c->ssl);
				if (rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
					continue;
				if (rc == 0)
					c->notify_done = 1;
				else if (rc != MBEDTLS_ERR_SSL_WANT_WRITE && rc != MBEDTLS_ERR_SSL_WANT_READ)
					c->notify_done = 1; /* the peer is gone; nothing more to say */
			}
			return FLOW_OK;
		}
		ssize_t n = recv(c->plain_fd, c->sv->rt->scratch, RELAY_CHUNK, 0);
		if (n > 0) {
			*moved = 1;
			if (tls_push(c, c->sv->rt->scratch, (size_t)n) == FLOW_DEAD)
				return FLOW_DEAD;
			continue;
		}
		if (n == 0) {
			c->plain_eof = 1;
			*moved = 1;
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return FLOW_OK;
		conn_end(c, LOG_NOTICE, "plaintext read: %s", strerror(errno));
		return FLOW_DEAD;
	}
}

/* Write to the plaintext side; keep what it cannot take in c->to_plain. */
static int plain_push(struct conn *c, const unsigned char *data, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(c->plain_fd, data + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			c->to_plain_bytes += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return keep_pending(c, &c->to_plain, data, len, off);
		conn_end(c, LOG_NOTICE, "plaintext write: %s", strerror(errno));
		return FLOW_DEAD;
	}
	drop_pending(&c->to_plain);
	return FLOW_OK;
}

/* TLS -> plaintext until mbedTLS has nothing decrypted left and the socket is empty, or the
 * plaintext side cannot take more. */
static int flow_tls_to_plain(struct conn *c, int *moved)
{
	for (;;) {
		if (c->to_plain) {
			struct pending *p = c->to_plain;
			if (plain_push(c, p->data + p->off, p->len - p->off) == FLOW_DEAD)
				return FLOW_DEAD;
			if (c->to_plain)
				return FLOW_OK;
			*moved = 1;
		}
		if (c->tls_eof) {
			if (!c->plain_shut) {
				shutdown(c->plain_fd, SHUT_WR);
				c->plain_shut = 1;
			}
			return FLOW_OK;
		}
		int rc = mbedtls_ssl_read(&c->ssl, c->sv->rt->scratch, RELAY_CHUNK);
		c->rd_want_write = rc == MBEDTLS_ERR_SSL_WANT_WRITE;
		if (rc > 0) {
			*moved = 1;
			if (plain_push(c, c->sv->rt->scratch, (size_t)rc) == FLOW_DEAD)
				return FLOW_DEAD;
			continue;
		}
		if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
			c->tls_eof = 1;
			c->tls_unclean = rc == 0;
			*moved = 1;
			continue;
		}
		if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE ||
		    rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
			if (rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
				tls_session_ticket(&c->ssl, &c->peer);
				continue;
			}
			return FLOW_OK;
		}
		if (rc == MBEDTLS_ERR_NET_CONN_RESET) {
			conn_end(c, LOG_NOTICE, "TLS peer reset the connection");
			return FLOW_DEAD;
		}
		char e[200];
		tls_error(rc, &c->ssl, e, sizeof(e));
		conn_end(c, LOG_NOTICE, "TLS read: %s", e);
		return FLOW_DEAD;
	}
}

static int conn_done(const struct conn *c)
{
	return c->plain_eof && !c->to_tls && c->notify_done && c->tls_eof && !c->to_plain && c->plain_shut;
}

static void conn_relay(struct conn *c)
{
	int moved = 0;
	if (flow_tls_to_plain(c, &moved) == FLOW_DEAD)
		return;
	if (flow_plain_to_tls(c, &moved) == FLOW_DEAD)
		return;
	/* a close_notify may have been flushed by the write side: read again */
	if (moved && !c->tls_eof && flow_tls_to_plain(c, &moved) == FLOW_DEAD)
		return;
	if (conn_done(c)) {
		conn_end(c, LOG_NOTICE, "%s", c->tls_unclean ? "TLS peer closed without close_notify" : "done");
		return;
	}
	if (moved) {
		/* as stunnel: TIMEOUTclose once a side has finished and nothing waits to be written */
		int closing = (c->plain_eof || c->tls_eof) && !c->to_tls && !c->to_plain;
		conn_arm(c, closing ? c->route->tq_close : c->route->tq_idle);
	}
	conn_update_events(c);
}

static void io_set(struct conn *c, struct loop_io *io, int hup, uint32_t mask)
{
	if (!hup && io->fd >= 0)
		loop_io_set(L(c), io, mask);
}

static void conn_update_events(struct conn *c)
{
	uint32_t tls = 0, plain = 0;
	if ((!c->tls_eof && !c->to_plain) || c->wr_want_read)
		tls |= EPOLLIN;
	if (c->to_tls || (c->plain_eof && !c->notify_done) || c->rd_want_write)
		tls |= EPOLLOUT;
	if (!c->plain_eof && !c->to_tls)
		plain |= EPOLLIN;
	if (c->to_plain)
		plain |= EPOLLOUT;
	io_set(c, &c->tls_io, c->tls_hup, tls);
	io_set(c, &c->plain_io, c->plain_hup, plain);
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
		loop_io_del(L(c), io);
		if (is_tls)
			c->tls_hup = 1;
		else
			c->plain_hup = 1;
	}
	conn_relay(c);
}

void conn_log_all(struct runtime *rt)
{
	static const char *const states[] = { "connecting", "handshake", "relay", "reading PROXY header",
					      "asking the proxy", "plaintext opening", "backend greeting" };
	uint64_t now = loop_now(rt->loop);
	log_notice("%lu connections open", rt->nconns);
	for (const struct conn *c = rt->conns; c; c = c->next) {
		uint64_t ms = now - c->start_ms;
		log_notice("[%s] #%lu %s: %s%s%s for %llu.%03llus; to_tls=%llu to_plain=%llu bytes", c->sv->cfg->name, c->id,
			   c->peer_addr, states[c->state], c->route != c->sv ? " via " : "",
			   c->route != c->sv ? c->route->cfg->name : "", (unsigned long long)(ms / 1000),
			   (unsigned long long)(ms % 1000), c->to_tls_bytes, c->to_plain_bytes);
	}
}

void conn_close_all(struct runtime *rt, const char *reason)
{
	while (rt->conns)
		conn_end(rt->conns, LOG_NOTICE, "%s", reason);
}
