/* The plaintext negotiations around a connection's TLS handshake, each on the socket it concerns:
 * a PROXY header from a load balancer (acceptProxy), the CONNECT request to an HTTP proxy, STARTTLS in
 * both modes, and the PROXY header tlswrap sends to its backend. The parsing and encoding live in
 * src/proto/; these functions only read, write and move the connection on.
 *
 * Replies are peeked until complete and then consumed exactly, so the stream that follows (TLS, or the
 * client's own data) is untouched. Sockets read by peeking are watched edge-triggered. */
#include "conn_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "log.h"
#include "proto/connect.h"
#include "proto/mailsrv.h"
#include "proto/proxy.h"

#define PROXY_PEEK_MAX 4096 /* a PROXY header from a load balancer, TLVs included */

static enum starttls_proto mail_proto(const struct cfg_service *s)
{
	return s->protocol == CFG_PROTO_SMTP ? STARTTLS_SMTP : s->protocol == CFG_PROTO_IMAP ? STARTTLS_IMAP : STARTTLS_POP3;
}

/* acceptProxy: the load balancer's PROXY header, read exactly (peeked, then consumed), so the TLS or
 * plaintext stream after it is untouched. */
void conn_read_proxy_header(struct conn *c, uint32_t events)
{
	int fd = c->sv->cfg->client ? c->plain_fd : c->tls.fd;
	unsigned char *buf = c->w->scratch;
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
		conn_log(c, LOG_DEBUG, "[%s] #%lu %s: PROXY header from %s", c->sv->cfg->name, c->id, c->peer_addr, was);
	}
	loop_io_set(conn_loop(c), c->sv->cfg->client ? &c->plain_io : &c->tls_io, 0);
	conn_begin(c);
}

void conn_mail_greet(struct conn *c)
{
	struct service *sv = c->sv;
	char greet[256];
	mailsrv_greeting(mail_proto(sv->cfg), "tlswrap", greet, sizeof(greet));
	if (send(c->tls.fd, greet, strlen(greet), MSG_NOSIGNAL) != (ssize_t)strlen(greet)) {
		conn_end(c, LOG_NOTICE, "STARTTLS: greeting the client: %s", strerror(errno));
		return;
	}
	if (c->tls_io.fd < 0 ? loop_io_add(conn_loop(c), &c->tls_io, c->tls.fd, EPOLLIN | EPOLLRDHUP | EPOLLET, conn_on_tls, c) < 0
			     : loop_io_set(conn_loop(c), &c->tls_io, EPOLLIN | EPOLLRDHUP | EPOLLET) < 0) {
		conn_end(c, LOG_ERR, "epoll: %s", strerror(errno));
		return;
	}
	c->state = C_MAILOPEN;
	conn_arm(c, conn_sw(c)->tq_busy);
}

/* Server STARTTLS: answer the client's plaintext commands until it asks for TLS. The STARTTLS line must
 * be the last thing it sent in plaintext: anything after it would be injected into the TLS session. */
void conn_mail_opening(struct conn *c, uint32_t events)
{
	char *buf = (char *)c->w->scratch, out[512];
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

/* A mail server's next line, for starttls_step: into BUF (the scratch buffer) goes the part of it taken
 * before, then what FD holds, peeked. Returns the bytes in BUF; 0 when nothing new has arrived; -1 when
 * FD failed (errno) or closed (errno 0). */
static ssize_t reply_peek(struct conn *c, int fd, char *buf)
{
	size_t have = c->reply_part_len;
	if (have)
		memcpy(buf, c->reply_part, have);
	ssize_t n = recv(fd, buf + have, STARTTLS_MAX_LINE - have, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n <= 0) {
		errno = n ? errno : 0;
		return -1;
	}
	return (ssize_t)have + n;
}

/* Consume from FD what BUF's first LEN bytes took from it (the part taken before is in BUF already).
 * With KEEP, those bytes are a line without its end yet and are kept as the part: a peek may stop at a
 * segment boundary with more queued behind it, which an edge-triggered socket would not report again,
 * so what a peek returned is taken before peeking on. -1 with errno when the socket failed. */
static int reply_take(struct conn *c, int fd, const char *buf, size_t len, int keep)
{
	size_t from_fd = len - c->reply_part_len;
	if (from_fd && recv(fd, c->w->scratch + STARTTLS_MAX_LINE, from_fd, 0) != (ssize_t)from_fd)
		return -1;
	if (!keep) {
		free(c->reply_part);
		c->reply_part = NULL;
		c->reply_part_len = 0;
		return 0;
	}
	if (!c->reply_part && !(c->reply_part = malloc(STARTTLS_MAX_LINE)))
		return -1;
	memcpy(c->reply_part, buf, len);
	c->reply_part_len = len;
	return 0;
}

/* Server STARTTLS, after connecting: the backend greets too, but the client was greeted already; its
 * greeting is taken line by line and dropped so the client sees one session. */
void conn_backend_greeting(struct conn *c, uint32_t events)
{
	char *buf = (char *)c->w->scratch, why[300], out[64];
	struct starttls st = { mail_proto(c->route->cfg), 0, 0 }; /* all of it is step 0 */
	for (;;) {
		ssize_t n = reply_peek(c, c->plain_fd, buf);
		if (n == 0)
			return;
		if (n < 0) {
			conn_fail(c, FAIL_CONNECT, LOG_ERR, "backend closed before its greeting%s%s", errno ? ": " : "",
				  errno ? strerror(errno) : "");
			return;
		}
		size_t used = (size_t)n;
		int relay;
		enum starttls_result r = starttls_step(&st, buf, (size_t)n, "tlswrap", &used, &relay, out, sizeof(out),
						       why, sizeof(why));
		if (r == STARTTLS_MORE && (events & (EPOLLRDHUP | EPOLLHUP))) {
			conn_fail(c, FAIL_CONNECT, LOG_ERR, "backend closed in the middle of its greeting");
			return;
		}
		if (r == STARTTLS_FAIL) {
			conn_fail(c, FAIL_CONNECT, LOG_ERR, "backend greeting: %s", why);
			return;
		}
		if (reply_take(c, c->plain_fd, buf, used, r == STARTTLS_MORE) < 0) {
			conn_end(c, LOG_ERR, "backend greeting: %s", strerror(errno));
			return;
		}
		if (r == STARTTLS_NEXT)
			break;
	}
	loop_io_set(conn_loop(c), &c->plain_io, 0);
	conn_start_relay(c);
}

void conn_starttls_begin(struct conn *c)
{
	/* the server speaks first; its greeting and our commands precede the handshake */
	c->state = C_NEGOTIATE;
	c->starttls.proto = mail_proto(c->sv->cfg);
	conn_arm(c, conn_sw(c)->tq_busy);
	loop_io_set(conn_loop(c), &c->tls_io, EPOLLIN | EPOLLRDHUP | EPOLLET);
}

/* protocol = connect: send the CONNECT request to the proxy we are connected to. */
void conn_http_connect_begin(struct conn *c)
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
	conn_arm(c, conn_sw(c)->tq_busy);
	ssize_t n = send(c->tls.fd, req, (size_t)len, MSG_NOSIGNAL);
	int e = errno;
	mbedtls_platform_zeroize(req, sizeof(req)); /* it may hold the proxy password */
	if (n != len) { /* a fresh socket takes a few hundred bytes at once; anything else is a failure */
		conn_fail(c, FAIL_CONNECT, LOG_ERR, "sending CONNECT to the proxy: %s",
			  n < 0 ? strerror(e) : "short write");
		return;
	}
	loop_io_set(conn_loop(c), &c->tls_io, EPOLLIN | EPOLLRDHUP | EPOLLET); /* peeking: see conn_accept */
}

/* Client STARTTLS: the local client's socket is watched only while it cannot take the greeting (and, as
 * always, for errors and hang-ups); its data waits until TLS is up. */
static int watch_local_client(struct conn *c, uint32_t mask)
{
	if (c->plain_io.fd < 0)
		return loop_io_add(conn_loop(c), &c->plain_io, c->plain_fd, mask, conn_on_plain, c);
	return loop_io_set(conn_loop(c), &c->plain_io, mask);
}

/* STARTTLS: take the server's replies line by line (peeked, then consumed exactly), relaying its greeting
 * to the local client and sending our commands, until it agrees to TLS. Nothing of the local client's goes
 * to the server in plaintext: its data waits until TLS is up. A greeting line the local client cannot take
 * yet waits in c->to_plain, and the server is not read until conn_starttls_drain has passed it on, so a
 * greeting of any length costs at most a line of memory. */
static void read_starttls(struct conn *c, uint32_t events)
{
	char *buf = (char *)c->w->scratch, why[300], out[300];
	while (!c->to_plain) {
		ssize_t n = reply_peek(c, c->tls.fd, buf);
		if (n == 0)
			return;
		if (n < 0) {
			conn_fail(c, FAIL_CONNECT, LOG_ERR, "STARTTLS: server closed the connection%s%s", errno ? ": " : "",
				  errno ? strerror(errno) : "");
			return;
		}
		size_t used = (size_t)n;
		int relay = 0;
		enum starttls_result r = starttls_step(&c->starttls, buf, (size_t)n, "tlswrap", &used, &relay, out,
						       sizeof(out), why, sizeof(why));
		if (r == STARTTLS_MORE && (events & (EPOLLRDHUP | EPOLLHUP))) {
			conn_fail(c, FAIL_CONNECT, LOG_ERR, "STARTTLS: server closed the connection mid-reply");
			return;
		}
		if (r == STARTTLS_FAIL) {
			conn_fail(c, FAIL_CONNECT, LOG_ERR, "STARTTLS refused: %s", why);
			return;
		}
		if (reply_take(c, c->tls.fd, buf, used, r == STARTTLS_MORE) < 0) {
			conn_end(c, LOG_ERR, "STARTTLS: reading the reply: %s", strerror(errno));
			return;
		}
		if (r == STARTTLS_MORE)
			continue;
		if (r == STARTTLS_TLS) {
			loop_timer_cancel(&c->timer);
			conn_connected(c);
			return;
		}
		if (relay && conn_plain_push(c, (const unsigned char *)buf, used) == FLOW_DEAD)
			return;
		if (c->to_plain && watch_local_client(c, EPOLLOUT | EPOLLET) < 0) {
			conn_end(c, LOG_ERR, "epoll: %s", strerror(errno));
			return;
		}
		size_t ol = strlen(out);
		if (ol && send(c->tls.fd, out, ol, MSG_NOSIGNAL) != (ssize_t)ol) {
			conn_fail(c, FAIL_CONNECT, LOG_ERR, "STARTTLS: sending a command: %s", strerror(errno));
			return;
		}
	}
}

void conn_starttls_drain(struct conn *c)
{
	struct pending *p = c->to_plain;
	if (conn_plain_push(c, p->data + p->off, p->len - p->off) == FLOW_DEAD || c->to_plain)
		return;
	if (watch_local_client(c, 0) < 0) {
		conn_end(c, LOG_ERR, "epoll: %s", strerror(errno));
		return;
	}
	read_starttls(c, EPOLLIN); /* the server's socket is watched edge-triggered: what waits there is read now */
}

/* The proxy's answer, peeked until the whole head is there and then consumed exactly: the TLS stream
 * that follows is the origin's. */
void conn_read_negotiation(struct conn *c, uint32_t events)
{
	if (c->sv->cfg->protocol >= CFG_PROTO_SMTP) {
		read_starttls(c, events);
		return;
	}
	char *buf = (char *)c->w->scratch, why[200];
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

/* protocol = proxy / proxyProtocol: tell the backend who the client is before any of its data. */
int conn_send_proxy_header(struct conn *c)
{
	unsigned char hdr[1024];
	int len;
	if (c->sv->cfg->proxy_version == 1) {
		len = proxy_encode_v1((struct sockaddr *)&c->peer_sa, (struct sockaddr *)&c->local_sa, (char *)hdr,
				      sizeof(hdr));
	} else {
		char cn[128] = "";
		const mbedtls_x509_crt *crt = tls_peer_cert(&c->ssl, &c->peer);
		int verified = crt && c->peer.cert_ok;
		if (verified)
			tls_peer_cn(&c->ssl, &c->peer, cn, sizeof(cn));
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
	if (conn_plain_push(c, hdr, (size_t)len) == FLOW_DEAD)
		return FLOW_DEAD;
	c->to_plain_bytes = (unsigned long long)to_plain; /* the header is ours, not the client's data */
	return FLOW_OK;
}
