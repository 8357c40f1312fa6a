/* Internal to the connection modules: the connection itself and what conn.c (its life), conn_relay.c
 * (moving bytes) and conn_nego.c (plaintext negotiations around the handshake) call in each other. */
#ifndef TLSWRAP_CONN_INT_H
#define TLSWRAP_CONN_INT_H

#include <stdint.h>
#include <sys/socket.h>

#include <mbedtls/ssl.h>

#include "conn.h"
#include "loop.h"
#include "proto/starttls.h"
#include "log.h"
#include "service.h"
#include "tls.h"

/* C_RESOLVING: looking up the connect names (delay = yes) before C_CONNECTING; C_PROXYHDR: reading a PROXY header from a load balancer (acceptProxy); C_NEGOTIATE: asking an HTTP proxy
 * for a tunnel (protocol = connect) or a mail server for STARTTLS (client mode); C_MAILOPEN: answering a
 * mail client until its STARTTLS (server mode); C_BACKGREET: dropping the plain backend's greeting; C_OCSP:
 * handshake done, waiting for the OCSP responder's word on the peer's certificate (nothing relayed or connected). */
enum conn_state { C_CONNECTING, C_HANDSHAKE, C_RELAY, C_PROXYHDR, C_NEGOTIATE, C_MAILOPEN, C_BACKGREET, C_RESOLVING,
		      C_OCSP };

/* Data a side could not take yet. */
struct pending {
	size_t off, len;
	unsigned char data[];
};

struct conn {
	struct conn *prev, *next; /* the worker's list */
	struct conn *pend_prev, *pend_next; /* the worker's connections not yet relaying (maxHandshakes) */
	struct worker *w;       /* the worker it lives on, from accept to close */
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
	const struct svc_target *targets; /* where it may connect: the route's, or own_targets */
	size_t ntargets;
	size_t target, tried;    /* the address being tried, and how many have been */
	struct svc_target *own_targets; /* delay = yes: this connection's lookup */
	struct resolve_req *resolving;  /* ... while it runs */
	struct ocsp_query *ocsp;        /* C_OCSP: the question to the responder */
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
	unsigned orderly : 1;     /* it ends as it should (both sides done, or tlswrap stopping) */
	unsigned alerted : 1;     /* we sent the TLS peer a fatal alert: let it arrive (reset = yes) */
	unsigned offer12 : 1;     /* client: this attempt offers TLS 1.2 only (tls_needs_tls12_only) */
	unsigned retries : 2;     /* client: attempts made again on the same address for that reason */
	unsigned counted : 1;     /* holds places in the maxConnections (service_conn_ended gives them back) */
	unsigned pending : 1;     /* on the worker's list of connections not yet relaying */
	unsigned long long to_tls_bytes, to_plain_bytes;
	uint64_t start_ms;
	char peer_addr[56];
	struct starttls starttls; /* protocol = smtp | imap | pop3: where the opening is */
	char *reply_part;         /* the start of a server's reply line, taken before its end arrived */
	size_t reply_part_len;
	struct sockaddr_storage peer_sa, local_sa; /* the client and the address it reached (or as a PROXY
						    * header in front says) */
};

/* Returns -1 when the connection has ended (and been freed). */
enum { FLOW_OK = 0, FLOW_DEAD = -1 };

static inline struct loop *conn_loop(const struct conn *c)
{
	return c->w->loop;
}

/* What C's worker keeps of the service it arrived on (counters, handshake timeouts) and of its route (the
 * timeouts after the handshake). */
static inline struct svc_worker *conn_sw(const struct conn *c)
{
	return &c->sv->w[c->w->index];
}

static inline struct svc_worker *conn_rw(const struct conn *c)
{
	return &c->route->w[c->w->index];
}

/* The side tlswrap connects out on is the TLS one in client mode, the plaintext one in server mode. */
static inline int conn_out_fd_is_tls(const struct conn *c)
{
	return c->sv->cfg->client;
}

/* -- conn.c ------------------------------------------------------------------------------------------- */

/* conn_end: one log record for C with the reason (printf FMT), then C is freed: never touch it again. */
void conn_end(struct conn *c, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* conn_fail: as conn_end, counting the failure WHY in the service's metrics. */
void conn_fail(struct conn *c, enum svc_failure why, int level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* conn_arm: (re)start C's one timer on timeout queue Q. */
void conn_arm(struct conn *c, struct loop_tq *q);

/* conn_on_tls, conn_on_plain: the loop's callbacks for C's two sockets (CTX is C). */
void conn_on_tls(void *ctx, uint32_t events);
void conn_on_plain(void *ctx, uint32_t events);

/* conn_begin: after the accept (and any PROXY header): connect out (client mode) or start the handshake,
 * after the plaintext opening for STARTTLS (server mode). On failure C has ended. */
void conn_begin(struct conn *c);

/* conn_begin_tls: server mode: set up mbedTLS on the accepted socket and run the handshake. */
void conn_begin_tls(struct conn *c);

/* conn_connected: the outgoing connection is up (and any negotiation on it done): go on to the next step. */
void conn_connected(struct conn *c);

/* conn_verified: the peer passed every check (and OCSP when asked): keep its session, then relay (client mode)
 * or connect out (server mode). */
void conn_verified(struct conn *c);

/* conn_start_relay: both sides are ready: send any PROXY header, log the connection, relay. */
void conn_start_relay(struct conn *c);

/* -- conn_ocsp.c -------------------------------------------------------------------------------------- */

/* conn_ocsp_check: after the verdict, with OCSP on the route: hold C (C_OCSP) until the responder or the
 * cache has spoken, log the decision, then conn_verified or end C (revoked, unknown or no answer under
 * OCSPrequire = yes). */
void conn_ocsp_check(struct conn *c);

/* -- conn_relay.c ------------------------------------------------------------------------------------- */

/* conn_relay: move whatever can move both ways, end C when both directions are finished, update the
 * events watched. C may have ended on return. */
void conn_relay(struct conn *c);

/* conn_plain_push: write DATA (LEN bytes) to the plaintext side, keeping what it cannot take yet.
 * FLOW_DEAD when the connection has ended (write error, out of memory). */
int conn_plain_push(struct conn *c, const unsigned char *data, size_t len);

/* -- conn_nego.c -------------------------------------------------------------------------------------- */

/* Each reader below is called on readiness of its socket in its state; EVENTS are the epoll events. Each
 * ends C itself on failure (logged, counted) and moves it on when its step is complete. */

/* conn_read_proxy_header: C_PROXYHDR (acceptProxy): the load balancer's PROXY header, then conn_begin. */
void conn_read_proxy_header(struct conn *c, uint32_t events);

/* conn_mail_greet: server STARTTLS: greet the client in plaintext and wait for its commands (C_MAILOPEN). */
void conn_mail_greet(struct conn *c);

/* conn_mail_opening: C_MAILOPEN: answer the client's commands until STARTTLS, then conn_begin_tls. */
void conn_mail_opening(struct conn *c, uint32_t events);

/* conn_backend_greeting: C_BACKGREET: drop the plain backend's greeting, then conn_start_relay. */
void conn_backend_greeting(struct conn *c, uint32_t events);

/* conn_starttls_begin: client STARTTLS: wait for the server's greeting (C_NEGOTIATE). */
void conn_starttls_begin(struct conn *c);

/* conn_starttls_drain: client STARTTLS: pass on the greeting line the local client could not take, then
 * read the server again. */
void conn_starttls_drain(struct conn *c);

/* conn_http_connect_begin: protocol = connect: send the CONNECT request to the proxy (C_NEGOTIATE). */
void conn_http_connect_begin(struct conn *c);

/* conn_read_negotiation: C_NEGOTIATE: the proxy's answer or the mail server's replies, then
 * conn_connected. */
void conn_read_negotiation(struct conn *c, uint32_t events);

/* conn_send_proxy_header: protocol = proxy: the PROXY header to the backend, before any of the client's
 * data. FLOW_DEAD when the connection has ended. */
int conn_send_proxy_header(struct conn *c);

/* conn_log_level: the level of C's log lines: its service's own `debug` when the section sets one, else the
 * global level. conn_log: a line about C at LEVEL, written when within it. */
static inline int conn_log_level(const struct conn *c)
{
	return c->sv->cfg->debug >= 0 ? c->sv->cfg->debug : log_level();
}
#define conn_log(c, level, ...) log_msg_as(conn_log_level(c), level, __VA_ARGS__)

#endif
