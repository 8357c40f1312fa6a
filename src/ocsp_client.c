/* The OCSP exchange of a connection waiting on its peer's status: cache, then one HTTP/1.0 POST on a
 * non-blocking socket in the worker's loop, read until the responder closes, under TIMEOUTocsp. */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <psa/crypto.h>

#include "loop.h"
#include "ocsp_client.h"
#include "resolve.h"

#define HTTP_MAX_HEADER 8192

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int ocsp_parse_url(const char *url, char host[256], char port[8], char path[256], char *err, size_t errlen)
{
	if (strncasecmp(url, "https://", 8) == 0)
		return fail(err, errlen, "'%s': only http:// responders are supported (OCSP answers are signed, so "
			    "plain HTTP is what responders serve)", url);
	if (strncasecmp(url, "http://", 7) != 0)
		return fail(err, errlen, "'%s': expected an http:// URL", url);
	const char *h = url + 7, *slash = strchr(h, '/');
	size_t hlen = slash ? (size_t)(slash - h) : strlen(h);
	if (memchr(h, '@', hlen))
		return fail(err, errlen, "'%s': user information in the URL is not supported", url);
	const char *colon = NULL, *hend = h + hlen;
	if (hlen && *h == '[') { /* [v6]:port */
		const char *close = memchr(h, ']', hlen);
		if (!close || (close + 1 < hend && close[1] != ':'))
			return fail(err, errlen, "'%s': bad IPv6 address", url);
		colon = close + 1 < hend ? close + 1 : NULL;
		hend = close;
		h++;
	} else {
		colon = memchr(h, ':', hlen);
		if (colon)
			hend = colon;
	}
	if (hend == h || (size_t)(hend - h) >= 256)
		return fail(err, errlen, "'%s': no host, or one too long", url);
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	snprintf(port, 8, "80");
	if (colon) {
		const char *p = colon + 1, *pend = slash ? slash : p + strlen(p);
		long n = 0;
		if (p == pend || pend - p > 5)
			return fail(err, errlen, "'%s': bad port", url);
		for (const char *q = p; q < pend; q++) {
			if (*q < '0' || *q > '9')
				return fail(err, errlen, "'%s': bad port", url);
			n = n * 10 + (*q - '0');
		}
		if (n < 1 || n > 65535)
			return fail(err, errlen, "'%s': bad port", url);
		snprintf(port, 8, "%ld", n);
	}
	const char *p = slash ? slash : "/";
	if (strlen(p) >= 256)
		return fail(err, errlen, "'%s': path too long", url);
	for (const char *q = p; *q; q++)
		if ((unsigned char)*q <= ' ' || *q == 0x7f)
			return fail(err, errlen, "'%s': blank or control character in the path", url);
	snprintf(path, 256, "%s", p);
	return 0;
}

/* The value of header NAME in the header block HDR (LEN bytes, lines ending in CRLF), copied to OUT. */
static int header_value(const char *hdr, size_t len, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	for (const char *line = hdr, *end = hdr + len; line < end;) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		if (!eol)
			eol = end;
		if ((size_t)(eol - line) > nlen && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			const char *v = line + nlen + 1, *ve = eol;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			snprintf(out, outlen, "%.*s", (int)(ve - v), v);
			return 1;
		}
		line = eol + 1;
	}
	return 0;
}

int ocsp_http_body(const unsigned char *raw, size_t len, const unsigned char **body, size_t *body_len, char *err,
		   size_t errlen)
{
	const char *s = (const char *)raw;
	const unsigned char *sep = memmem(raw, len, "\r\n\r\n", 4);
	if (!sep)
		return fail(err, errlen, "responder's reply ended inside its HTTP header");
	size_t hlen = (size_t)(sep - raw);
	const char *eol = memchr(s, '\r', hlen + 1);
	size_t llen = (size_t)(eol - s);
	if (llen < 12 || strncmp(s, "HTTP/1.", 7) != 0 || s[8] != ' ')
		return fail(err, errlen, "responder's reply is not HTTP");
	if (strncmp(s + 9, "200", 3) != 0 || (llen > 12 && s[12] != ' '))
		return fail(err, errlen, "responder answered '%.*s'", (int)(llen < 100 ? llen : 100), s);
	char v[128];
	if (header_value(s + llen, hlen - llen, "Content-Type", v, sizeof(v)) &&
	    strcasecmp(v, "application/ocsp-response") != 0)
		return fail(err, errlen, "responder's reply is %.60s, not application/ocsp-response", v);
	*body = sep + 4;
	*body_len = len - hlen - 4;
	if (header_value(s + llen, hlen - llen, "Content-Length", v, sizeof(v))) {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(v, &end, 10);
		if (errno || end == v || *end || v[0] == '-' || n > *body_len)
			return fail(err, errlen, "responder's reply is shorter than its Content-Length (%.30s)", v);
		*body_len = (size_t)n;
	}
	return 0;
}

/* The Host header for HOST and PORT into OUT (256 bytes): the port only when it is not 80, an IPv6
 * literal in brackets. -1 when it does not fit. */
static int host_header(const char *host, const char *port, char out[256])
{
	int v6 = strchr(host, ':') != NULL, n;
	if (strcmp(port, "80") == 0)
		n = snprintf(out, 256, v6 ? "[%s]" : "%s", host);
	else
		n = snprintf(out, 256, v6 ? "[%s]:%s" : "%s:%s", host, port);
	return n < 0 || n >= 256 ? -1 : 0;
}

int ocsp_svc_build(struct ocsp_svc *o, const struct cfg_service *s, char *err, size_t errlen)
{
	char host[256], port[8];
	memset(o, 0, sizeof(*o));
	if (!s->ocsp_url && s->ocsp_aia != 1)
		return 0;
	o->aia = s->ocsp_aia == 1;
	if (s->ocsp_url) {
		if (ocsp_parse_url(s->ocsp_url, host, port, o->path, err, errlen) != 0)
			return -1;
		snprintf(o->url, sizeof(o->url), "%s", s->ocsp_url);
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
		int rc = getaddrinfo(host, port, &hints, &res);
		if (rc)
			return fail(err, errlen, "OCSP responder %s: %s", host, gai_strerror(rc));
		memcpy(&o->sa, res->ai_addr, res->ai_addrlen);
		o->salen = res->ai_addrlen;
		freeaddrinfo(res);
		if (host_header(host, port, o->host) != 0)
			return fail(err, errlen, "OCSP responder host too long");
	}
	o->timeout = s->timeout_ocsp;
	o->require = s->ocsp_require != 0;
	o->nonce = s->ocsp_nonce == 1;
	if (!(o->cache = calloc(OCSP_CACHE_SLOTS, sizeof(*o->cache))))
		return fail(err, errlen, "out of memory");
	pthread_mutex_init(&o->lock, NULL);
	o->on = 1;
	return 0;
}

void ocsp_svc_free(struct ocsp_svc *o)
{
	if (o->on)
		pthread_mutex_destroy(&o->lock);
	free(o->cache);
	memset(o, 0, sizeof(*o));
}

static size_t slot_of(const struct ocsp_certid *id)
{
	uint32_t h = 2166136261u; /* FNV-1a over the serial and the issuer's key hash */
	for (size_t i = 0; i < id->serial_len; i++)
		h = (h ^ id->serial[i]) * 16777619u;
	for (size_t i = 0; i < OCSP_HASH_LEN; i++)
		h = (h ^ id->key_hash[i]) * 16777619u;
	return h % OCSP_CACHE_SLOTS;
}

static int same_id(const struct ocsp_certid *a, const struct ocsp_certid *b)
{
	return a->serial_len == b->serial_len && memcmp(a->serial, b->serial, a->serial_len) == 0 &&
	       memcmp(a->name_hash, b->name_hash, OCSP_HASH_LEN) == 0 &&
	       memcmp(a->key_hash, b->key_hash, OCSP_HASH_LEN) == 0;
}

static int cache_get(struct ocsp_svc *o, const struct ocsp_certid *id, struct ocsp_answer *ans)
{
	struct ocsp_cached *e = &o->cache[slot_of(id)];
	int hit = 0;
	pthread_mutex_lock(&o->lock);
	if (e->used && same_id(&e->id, id) && time(NULL) <= e->ans.next_update) {
		*ans = e->ans;
		hit = 1;
	}
	pthread_mutex_unlock(&o->lock);
	return hit;
}

static void cache_put(struct ocsp_svc *o, const struct ocsp_certid *id, const struct ocsp_answer *ans)
{
	struct ocsp_cached *e = &o->cache[slot_of(id)];
	pthread_mutex_lock(&o->lock);
	e->id = *id;
	e->ans = *ans;
	e->used = 1;
	pthread_mutex_unlock(&o->lock);
}

struct ocsp_query {
	struct ocsp_svc *o;
	struct loop *loop;
	struct resolver *resolver;
	struct resolve_req *resolving; /* an AIA responder's name being looked up */
	char url[256], host[256], path[256], port[8]; /* the responder asked */
	struct loop_io io;
	struct loop_timer timer;
	int fd;
	int connected;
	int reading;  /* the request is sent: the buffer takes the reply */
	struct ocsp_certid id;
	const mbedtls_x509_crt *issuer;
	unsigned char nonce[OCSP_NONCE_LEN];
	unsigned char *buf; /* the request, then the reply */
	size_t len, sent, cap;
	ocsp_done_fn *done;
	void *ctx;
};

static void query_free(struct ocsp_query *q)
{
	loop_timer_cancel(&q->timer);
	if (q->resolving)
		resolve_cancel(q->resolver, q->resolving);
	if (q->fd >= 0) {
		loop_io_del(q->loop, &q->io);
		close(q->fd);
	}
	free(q->buf);
	free(q);
}

void ocsp_query_cancel(struct ocsp_query *q)
{
	if (q)
		query_free(q);
}

static void query_finish(struct ocsp_query *q, struct ocsp_verdict *v)
{
	ocsp_done_fn *done = q->done;
	void *ctx = q->ctx;
	query_free(q);
	done(ctx, v);
}

static void query_error(struct ocsp_query *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void query_error(struct ocsp_query *q, const char *fmt, ...)
{
	struct ocsp_verdict v = { 0 };
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v.why, sizeof(v.why), fmt, ap);
	va_end(ap);
	query_finish(q, &v);
}

static void query_timeout(void *ctx)
{
	struct ocsp_query *q = ctx;
	query_error(q, "%s: no answer within %ds (TIMEOUTocsp)", q->url, q->o->timeout);
}

static void query_answer(struct ocsp_query *q)
{
	struct ocsp_verdict v = { 0 };
	const unsigned char *body;
	size_t blen;
	char why[200];
	if (ocsp_http_body(q->buf, q->len, &body, &blen, why, sizeof(why)) != 0 ||
	    ocsp_check(body, blen, &q->id, q->issuer, q->o->nonce ? q->nonce : NULL, OCSP_NONCE_LEN, time(NULL),
		       &v.ans, why, sizeof(why)) != 0) {
		query_error(q, "%s: %s", q->url, why);
		return;
	}
	v.answered = 1;
	cache_put(q->o, &q->id, &v.ans);
	query_finish(q, &v);
}

/* Whether the reply in RAW (LEN bytes) is whole: its header says how long its body is, and it is there. */
static int reply_complete(const unsigned char *raw, size_t len)
{
	const unsigned char *sep = memmem(raw, len, "\r\n\r\n", 4);
	char v[32], *end;
	if (!sep || !header_value((const char *)raw, (size_t)(sep - raw), "Content-Length", v, sizeof(v)))
		return 0;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	return !errno && end != v && !*end && v[0] != '-' && n <= len - (size_t)(sep + 4 - raw);
}

static void query_on_io(void *ctx, uint32_t events)
{
	struct ocsp_query *q = ctx;
	if (!q->connected) {
		int err = 0;
		socklen_t elen = sizeof(err);
		getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &err, &elen);
		if (err) {
			query_error(q, "%s: connect: %s", q->url, strerror(err));
			return;
		}
		q->connected = 1;
	}
	if (!q->reading) {
		ssize_t n = send(q->fd, q->buf + q->sent, q->len - q->sent, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			query_error(q, "%s: send: %s", q->url, strerror(errno));
			return;
		}
		if (n > 0)
			q->sent += (size_t)n;
		if (q->sent == q->len) {
			q->len = 0;
			q->reading = 1;
			loop_io_set(q->loop, &q->io, EPOLLIN);
		}
		return;
	}
	for (;;) {
		if (q->len == q->cap) {
			size_t cap = q->cap * 2;
			if (cap > OCSP_MAX_RESPONSE + HTTP_MAX_HEADER) {
				query_error(q, "%s: reply longer than %d bytes", q->url, OCSP_MAX_RESPONSE + HTTP_MAX_HEADER);
				return;
			}
			unsigned char *b = realloc(q->buf, cap);
			if (!b) {
				query_error(q, "out of memory");
				return;
			}
			q->buf = b;
			q->cap = cap;
		}
		ssize_t n = recv(q->fd, q->buf + q->len, q->cap - q->len, 0);
		if (n == 0) {
			query_answer(q);
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			query_error(q, "%s: recv: %s", q->url, strerror(errno));
			return;
		}
		q->len += (size_t)n;
		if (reply_complete(q->buf, q->len)) { /* a responder that keeps the connection open anyway */
			query_answer(q);
			return;
		}
	}
}

/* The request: HTTP header and DER, in Q's buffer. */
static int query_request(struct ocsp_query *q)
{
	unsigned char der[OCSP_MAX_REQUEST];
	int n = ocsp_request(&q->id, q->o->nonce ? q->nonce : NULL, OCSP_NONCE_LEN, der, sizeof(der));
	if (n < 0 || !(q->buf = malloc(q->cap = 4096)))
		return -1;
	int h = snprintf((char *)q->buf, q->cap,
			 "POST %s HTTP/1.0\r\nHost: %s\r\nContent-Type: application/ocsp-request\r\n"
			 "Content-Length: %d\r\nConnection: close\r\n\r\n", q->path, q->host, n);
	if (h < 0 || (size_t)h + (size_t)n > q->cap)
		return -1;
	memcpy(q->buf + h, der, (size_t)n);
	q->len = (size_t)h + (size_t)n;
	return 0;
}

/* Connect to SA and wait for it to take the request. 0, or -1 with the reason in WHY. */
static int query_connect(struct ocsp_query *q, const struct sockaddr *sa, socklen_t salen, char *why, size_t len)
{
	q->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (q->fd < 0)
		return fail(why, len, "%s: socket: %s", q->url, strerror(errno));
	if ((connect(q->fd, sa, salen) < 0 && errno != EINPROGRESS) ||
	    loop_io_add(q->loop, &q->io, q->fd, EPOLLOUT, query_on_io, q) < 0) {
		fail(why, len, "%s: connect: %s", q->url, strerror(errno));
		close(q->fd);
		q->fd = -1;
		return -1;
	}
	return 0;
}

static void query_resolved(void *ctx, struct resolve_addr *addrs, size_t n, const char *why)
{
	struct ocsp_query *q = ctx;
	char err[512];
	q->resolving = NULL;
	if (n == 0) {
		free(addrs);
		query_error(q, "%s: %s", q->url, why ? why : "no address");
		return;
	}
	int rc = query_connect(q, (const struct sockaddr *)&addrs[0].sa, addrs[0].len, err, sizeof(err));
	free(addrs);
	if (rc != 0)
		query_error(q, "%s", err);
}

/* Q's responder: OCSP = URL (resolved when the service was built) or, with OCSPaia, the URL LEAF names
 * (looked up now when it is a name). 0 when under way, or -1 with the reason in WHY. */
static int query_route(struct ocsp_query *q, const mbedtls_x509_crt *leaf, char *why, size_t len)
{
	const struct ocsp_svc *o = q->o;
	if (o->url[0]) {
		snprintf(q->url, sizeof(q->url), "%s", o->url);
		snprintf(q->host, sizeof(q->host), "%s", o->host);
		snprintf(q->path, sizeof(q->path), "%s", o->path);
		return query_connect(q, (const struct sockaddr *)&o->sa, o->salen, why, len);
	}
	char host[256], err[300];
	int found = ocsp_aia_url(leaf, q->url, sizeof(q->url));
	if (found == 0)
		return fail(why, len, "the certificate names no OCSP responder (Authority Information Access)");
	if (found < 0)
		return fail(why, len, "the certificate's Authority Information Access is malformed");
	if (ocsp_parse_url(q->url, host, q->port, q->path, err, sizeof(err)) != 0)
		return fail(why, len, "responder from the certificate (AIA): %s", err);
	if (host_header(host, q->port, q->host) != 0)
		return fail(why, len, "%s: host too long", q->url);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, *res;
	if (getaddrinfo(host, q->port, &hints, &res) == 0) {
		int rc = query_connect(q, res->ai_addr, res->ai_addrlen, why, len);
		freeaddrinfo(res);
		return rc;
	}
	const char *hosts[1] = { host }, *ports[1] = { q->port };
	if (!(q->resolving = resolve_start(q->resolver, hosts, ports, 1, query_resolved, q)))
		return fail(why, len, "%s: cannot look up %s", q->url, host);
	return 0;
}

int ocsp_query_start(struct ocsp_svc *o, struct loop *loop, struct resolver *resolver, const mbedtls_x509_crt *leaf,
		     const mbedtls_x509_crt *issuer, ocsp_done_fn *done, void *ctx, struct ocsp_query **qp,
		     struct ocsp_verdict *v)
{
	struct ocsp_certid id;
	memset(v, 0, sizeof(*v));
	*qp = NULL;
	if (!issuer) {
		snprintf(v->why, sizeof(v->why), "the issuer of the certificate is not known (neither sent nor in CAfile/CApath)");
		return 1;
	}
	if (ocsp_certid(leaf, issuer, &id, v->why, sizeof(v->why)) != 0)
		return 1;
	if (cache_get(o, &id, &v->ans)) {
		v->answered = v->cached = 1;
		return 1;
	}
	struct ocsp_query *q = calloc(1, sizeof(*q));
	if (!q) {
		snprintf(v->why, sizeof(v->why), "out of memory");
		return 1;
	}
	q->o = o;
	q->loop = loop;
	q->resolver = resolver;
	q->fd = -1;
	q->id = id;
	q->issuer = issuer;
	q->done = done;
	q->ctx = ctx;
	struct loop_tq *tq = loop_tq_get(loop, (uint64_t)o->timeout * 1000);
	if (o->nonce && psa_generate_random(q->nonce, sizeof(q->nonce)) != PSA_SUCCESS) {
		snprintf(v->why, sizeof(v->why), "no randomness for the nonce");
		goto err;
	}
	if (!tq) {
		snprintf(v->why, sizeof(v->why), "out of memory");
		goto err;
	}
	if (query_route(q, leaf, v->why, sizeof(v->why)) != 0) /* the request, sent once connected, names it */
		goto err;
	if (query_request(q) != 0) {
		snprintf(v->why, sizeof(v->why), "out of memory");
		goto err;
	}
	loop_timer_arm(loop, &q->timer, tq, query_timeout, q);
	*qp = q;
	return 0;
err:
	query_free(q);
	return 1;
}

void ocsp_verdict_str(const struct ocsp_verdict *v, char *buf, size_t len)
{
	if (!v->answered) {
		snprintf(buf, len, "no answer: %s", v->why);
		return;
	}
	const char *from = v->cached ? " (cached)" : "";
	if (v->ans.status != OCSP_REVOKED) {
		snprintf(buf, len, "%s%s", ocsp_status_str(v->ans.status), from);
		return;
	}
	struct tm tm;
	char when[32] = "?";
	if (gmtime_r(&v->ans.revoked_at, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
	snprintf(buf, len, "revoked (%s) at %s%s", ocsp_reason_str(v->ans.reason), when, from);
}
