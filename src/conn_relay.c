/* Moving bytes between a connection's TLS and plaintext sides, with backpressure both ways.
 *
 * Reads go through the worker's scratch buffer; a side that cannot take what was read keeps it in a
 * pending buffer, which exists only while that write would block. Half-close travels both ways:
 * plaintext EOF becomes close_notify, close_notify becomes shutdown(SHUT_WR). */
#include "conn_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/net_sockets.h>

#include "log.h"

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
		/* read and write, not recv and send: the plaintext side may be a pseudo-terminal (pty = yes) */
		ssize_t n = read(c->plain_fd, c->w->scratch, RELAY_CHUNK);
		if (n < 0 && errno == EIO)
			n = 0; /* a pty whose program has gone */
		if (n > 0) {
			*moved = 1;
			if (tls_push(c, c->w->scratch, (size_t)n) == FLOW_DEAD)
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
int conn_plain_push(struct conn *c, const unsigned char *data, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(c->plain_fd, data + off, len - off); /* SIGPIPE is ignored */
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
			if (conn_plain_push(c, p->data + p->off, p->len - p->off) == FLOW_DEAD)
				return FLOW_DEAD;
			if (c->to_plain)
				return FLOW_OK;
			*moved = 1;
		}
		if (c->tls_eof) {
			if (!c->plain_shut) {
				/* a pseudo-terminal (pty = yes) has no half-close: its program is hung up when the
				 * connection ends, which it then does, as with stunnel */
				if (shutdown(c->plain_fd, SHUT_WR) < 0 && errno == ENOTSOCK)
					c->plain_eof = 1;
				c->plain_shut = 1;
			}
			return FLOW_OK;
		}
		int rc = mbedtls_ssl_read(&c->ssl, c->w->scratch, RELAY_CHUNK);
		c->rd_want_write = rc == MBEDTLS_ERR_SSL_WANT_WRITE;
		if (rc > 0) {
			*moved = 1;
			if (conn_plain_push(c, c->w->scratch, (size_t)rc) == FLOW_DEAD)
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

static void io_set(struct conn *c, struct loop_io *io, int hup, uint32_t mask)
{
	if (!hup && io->fd >= 0)
		loop_io_set(conn_loop(c), io, mask);
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

void conn_relay(struct conn *c)
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
		c->orderly = 1;
		conn_end(c, LOG_NOTICE, "%s", c->tls_unclean ? "TLS peer closed without close_notify" : "done");
		return;
	}
	if (moved) {
		/* as stunnel: TIMEOUTclose once a side has finished and nothing waits to be written */
		int closing = (c->plain_eof || c->tls_eof) && !c->to_tls && !c->to_plain;
		conn_arm(c, closing ? conn_rw(c)->tq_close : conn_rw(c)->tq_idle);
	}
	conn_update_events(c);
}
