/* The mbedTLS wrapper: a service's TLS configuration (certificates, keys, CAs, suites), per-connection
 * set-up, verification and error strings. */
#ifndef TLSWRAP_TLS_H
#define TLSWRAP_TLS_H

#include <stddef.h>

#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "config.h"
#include "suites.h"

/* One service's TLS side, read-only once built, shared by all its connections. */
struct tls_svc {
	mbedtls_ssl_config conf;
	mbedtls_x509_crt own_cert;
	mbedtls_pk_context own_key;
	mbedtls_x509_crt ca;
	int has_ca;
	int client, verify_chain, verify_peer, require_cert;
	const char *check_host, *check_ip; /* point into the service's cfg */
	int suites[SUITES_MAX + 1];
};

/* What a connection's verification found, filled in by the verify callback and tls_peer_verdict. */
struct tls_peer {
	const struct tls_svc *svc;
	const char *expect_host; /* client mode: the name or IP to check when checkHost/checkIP are unset */
	unsigned char listed;    /* verifyPeer: the leaf certificate is in CAfile/CApath */
	unsigned char name_bad;  /* the name check failed */
};

/* tls_lib_init: initialise PSA crypto (the RNG source). Call once before anything else here, and
 * again in a forked daemon child after tls_lib_done. Returns 0 or -1 with the reason in ERR. */
int tls_lib_init(char *err, size_t errlen);
void tls_lib_done(void);

/* tls_svc_build: load S's certificates, key and CAs and build its mbedTLS configuration into T.
 * Returns 0, or -1 with "path: reason" (or the option at fault) in ERR; T is then left freed. */
int tls_svc_build(struct tls_svc *t, const struct cfg_service *s, char *err, size_t errlen);
void tls_svc_free(struct tls_svc *t);

/* tls_conn_setup: prepare SSL for one connection of T: bio on *FD (an int that outlives SSL),
 * SNI and name checks for HOST (client mode; NULL when the peer is an IP or there is no name),
 * verification state in PEER. Returns 0 or an mbedTLS error code. */
int tls_conn_setup(mbedtls_ssl_context *ssl, const struct tls_svc *t, int *fd, const char *sni,
		   struct tls_peer *peer);

/* tls_peer_verdict: after a completed handshake, apply the checks mbedTLS left to us (optional client
 * certificates, verifyPeer without verifyChain, checkHost on a client certificate). Returns 0 when the
 * peer is acceptable, or -1 with the reason in WHY. */
int tls_peer_verdict(const mbedtls_ssl_context *ssl, const struct tls_peer *peer, char *why, size_t len);

/* tls_error: words for an mbedTLS error code; verification failures get the X.509 reasons. */
void tls_error(int err, const mbedtls_ssl_context *ssl, char *buf, size_t len);

/* tls_peer_subject: the peer certificate's subject DN, or "" when there is none. */
void tls_peer_subject(const mbedtls_ssl_context *ssl, char *buf, size_t len);

/* tls_cert_has_name / tls_cert_has_ip: identity checks on a certificate (SANs; CN only when the
 * certificate has no DNS SAN). 1 match, 0 no match. */
int tls_cert_has_name(const mbedtls_x509_crt *crt, const char *name);
int tls_cert_has_ip(const mbedtls_x509_crt *crt, const char *ip);

#endif
