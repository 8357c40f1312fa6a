/* Internal to the TLS modules: what tls.c (configuration, handshake), tls_session.c (resumption) and
 * tls_verify.c (judging the peer) call in each other. */
#ifndef TLSWRAP_TLS_INT_H
#define TLSWRAP_TLS_INT_H

#include "tls.h"

/* The connection whose handshake step runs on this thread: the session cache, ticket and PSK hooks, which
 * mbedTLS calls without the connection, note into it (tls_handshake sets it around each step). */
extern _Thread_local struct tls_peer *tls_current;

/* tls_mbed_fail: "WHAT PATH: mbedTLS's words for RC" into ERR; returns -1. */
int tls_mbed_fail(char *err, size_t errlen, const char *what, const char *path, int rc);

/* tls_authmode: the mbedTLS verify mode service S needs (tls.c). */
int tls_authmode(const struct cfg_service *s);

/* tls_setup_sessions: session cache, tickets and ticketKeyFile on T's configuration for S (server), or
 * tickets offered (client). -1 with ERR set on failure (tls_session.c). */
int tls_setup_sessions(struct tls_svc *t, const struct cfg_service *s, char *err, size_t errlen);

/* tls_session_offer: a client offers T's saved session, if any, on SSL. 1 when offered (tls_session.c). */
int tls_session_offer(mbedtls_ssl_context *ssl, struct tls_svc *t);

/* Client identities kept beside sessions, for resumption on services that judge client certificates
 * (tls_ident.c). tls_idents_setup: T keeps them (sizes from S); 0, or -1 when out of memory.
 * tls_idents_put: SESSION was stored or issued: keep the chain of the connection whose handshake runs.
 * tls_idents_get: SESSION is presented: copy its kept chain into that connection; 0, or -1 when none is
 * kept (the session must then not resume). tls_idents_parse: the kept chain DER (LEN bytes) into CHAIN;
 * 0 or -1. tls_idents_count: entries kept now. */
int tls_idents_setup(struct tls_svc *t, const struct cfg_service *s);
void tls_idents_free(struct tls_svc *t);
void tls_idents_put(struct tls_svc *t, const mbedtls_ssl_session *session);
int tls_idents_get(struct tls_svc *t, const mbedtls_ssl_session *session);
int tls_idents_parse(const unsigned char *der, size_t len, mbedtls_x509_crt *chain);
/* tls_idents_trust: T's trust digest (its CAs, CRLs and certificate profile) into T->trust, and the window in
 * which all its CAs are valid into T->ca_from and T->ca_to. 0 or -1. */
int tls_idents_trust(struct tls_svc *t);
size_t tls_idents_count(const struct tls_svc *t);

/* tls_verify_cb: mbedTLS's per-certificate verify callback; CTX is the connection's struct tls_peer
 * (tls_verify.c). */
int tls_verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags);

#endif
