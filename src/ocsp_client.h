/* Asking a service's OCSP responder about a peer certificate: the HTTP POST on the worker's event loop,
 * bounded by TIMEOUTocsp, and the service's cache of answers (one per certificate, until its nextUpdate).
 * The cache is shared by the service's workers under a mutex: it is taken once per full handshake of an
 * OCSP-checking service, never on the relay path. */
#ifndef TLSWRAP_OCSP_CLIENT_H
#define TLSWRAP_OCSP_CLIENT_H

#include <pthread.h>
#include <stddef.h>
#include <sys/socket.h>

#include <mbedtls/x509_crt.h>

#include "config.h"
#include "ocsp.h"

struct loop;
struct resolver;

#define OCSP_CACHE_SLOTS 1024 /* direct-mapped by certificate: a newer answer replaces what shares its slot */

struct ocsp_cached {
	struct ocsp_certid id;
	struct ocsp_answer ans;
	int used;
};

/* A service's responder and cache; all but the cache read-only once built. */
struct ocsp_svc {
	int on;                      /* OCSP = URL or OCSPaia = yes given */
	int aia;                     /* OCSPaia = yes: without OCSP = URL, ask the responder the certificate names */
	char url[256];               /* OCSP = URL, or "" */
	char host[256], path[256];   /* Host header and request path */
	struct sockaddr_storage sa;  /* the responder, resolved when the service was built */
	socklen_t salen;
	int timeout;                 /* TIMEOUTocsp, seconds */
	int require, nonce;          /* OCSPrequire, OCSPnonce */
	pthread_mutex_t lock;        /* guards cache */
	struct ocsp_cached *cache;   /* OCSP_CACHE_SLOTS */
};

/* ocsp_parse_url: URL (http://HOST[:PORT][/PATH]) -> HOST (for getaddrinfo, brackets of an IPv6 literal
 * removed), PORT ("80" by default), PATH ("/" by default). Returns 0, or -1 with the reason in ERR (https://
 * and other schemes, user info, a host or path too long for the buffers of 256 bytes). */
int ocsp_parse_url(const char *url, char host[256], char port[8], char path[256], char *err, size_t errlen);

/* ocsp_http_body: a responder's whole HTTP reply (RAW, LEN bytes, read until the responder closed) ->
 * its body, which must be application/ocsp-response after a 200 status, as long as any Content-Length
 * says. Returns 0 with BODY/BODY_LEN pointing into RAW, or -1 with the reason (the status line) in ERR. */
int ocsp_http_body(const unsigned char *raw, size_t len, const unsigned char **body, size_t *body_len, char *err,
		   size_t errlen);

/* ocsp_svc_build: from S (OCSP, OCSPaia, OCSPrequire, OCSPnonce, TIMEOUTocsp), resolve the responder of
 * OCSP = URL. Does nothing but zero O when S asks for no OCSP check. Returns 0, or -1 with the reason in ERR (O is then freed). */
int ocsp_svc_build(struct ocsp_svc *o, const struct cfg_service *s, char *err, size_t errlen);
void ocsp_svc_free(struct ocsp_svc *o);

/* What a check came to: ANSWERED with ANS (from the responder or the cache), or not with WHY. */
struct ocsp_verdict {
	int answered;
	int cached;
	struct ocsp_answer ans;
	char why[512];
};

typedef void ocsp_done_fn(void *ctx, const struct ocsp_verdict *v);
struct ocsp_query;

/* ocsp_query_start: the status of LEAF, issued by ISSUER (NULL when it could not be found), from O's cache
 * or its responder: OCSP = URL when given, else (OCSPaia) the http:// responder LEAF's Authority Information
 * Access names, its host looked up with RESOLVER (LOOP's) unless numeric. Returns 1 with V filled in when
 * known at once (cached, or no request possible), or 0 with *Q set: DONE(CTX, V) is then called once on
 * LOOP's thread, unless ocsp_query_cancel comes first. */
int ocsp_query_start(struct ocsp_svc *o, struct loop *loop, struct resolver *resolver, const mbedtls_x509_crt *leaf,
		     const mbedtls_x509_crt *issuer, ocsp_done_fn *done, void *ctx, struct ocsp_query **q,
		     struct ocsp_verdict *v);

/* ocsp_query_cancel: stop Q and free it; DONE is not called. */
void ocsp_query_cancel(struct ocsp_query *q);

/* ocsp_verdict_str: one line of words for V ("good", "revoked (keyCompromise) at 2026-...Z", "unknown", or
 * "no answer: WHY"), into BUF. */
void ocsp_verdict_str(const struct ocsp_verdict *v, char *buf, size_t len);

#endif
