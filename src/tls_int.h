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

/* tls_verify_cb: mbedTLS's per-certificate verify callback; CTX is the connection's struct tls_peer
 * (tls_verify.c). */
int tls_verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags);

#endif
