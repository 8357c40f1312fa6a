/* The mbedTLS wrapper: a service's TLS configuration (certificates, keys, CAs, suites), per-connection
 * set-up, verification and error strings. */
#ifndef TLSWRAP_TLS_H
#define TLSWRAP_TLS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include <mbedtls/ssl.h>
#include <mbedtls/ssl_cache.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>

#include "config.h"
#include "psk.h"
#include "suites.h"

/* One service's TLS side, shared by all its connections on every worker: configuration and certificates are
 * read-only once built; the session cache and ticket keys change as it serves (mbedTLS locks them), and so
 * does the client's saved session (under saved_mu). */
#define TLS_MAX_ALPN 8

struct tls_svc;
struct tls_idents;


/* Server SNI routing: a client naming PATTERN gets this secondary service's TLS settings. */
struct tls_route {
	const char *pattern;
	struct tls_svc *tls;
	void *owner; /* the secondary service, handed back to the connection */
};

/* A CRL of a service and the file (CRLfile, or one in CRLpath) it was read from. */
struct tls_crl_src {
	const mbedtls_x509_crl *crl;
	char *file;
};

struct tls_svc {
	mbedtls_ssl_config conf;
	/* client, TLS 1.2 and 1.3 allowed: the same settings limited to TLS 1.2 (an alias of conf's memory,
	 * never freed itself), whose ClientHello offers no RSA-PSS: for TLS 1.2 servers that sign with RSA-PSS
	 * anyway, which mbedTLS 3.6.6 then refuses (see tls_conn_setup) */
	mbedtls_ssl_config conf12;
	int has_conf12;
	atomic_int prefer12; /* the server needed conf12: the next connections start with it (any worker's) */
	mbedtls_x509_crt own_cert;
	mbedtls_pk_context own_key;
	int key_typed;                 /* own_key is encrypted and its passphrase was typed at start */
	unsigned char key_digest[32];  /* ... the SHA-256 of its file then: a reload keeps the key while it is the same */
	char *key_pass_path;           /* own_key is encrypted: the file or credential its passphrase came from */
	mbedtls_x509_crt ca;
	mbedtls_x509_crl crl;
	int has_ca, has_crl;
	struct tls_crl_src *crl_src;   /* each CRL of crl, in order, with the file it came from */
	int ncrl_src;
	const struct cfg_service *cfg; /* verification options; outlives this */
	unsigned char (*pins)[32];     /* decoded pinSHA256 values */
	int npins;
	int has_rules;                 /* allow* or pinSHA256 given: one of them must match */
	char *alpn_buf;                /* storage for alpn[] */
	const char *alpn[TLS_MAX_ALPN + 1];
	int suites[SUITES_MAX + 1];
	uint16_t groups[CFG_MAX_GROUPS + 1]; /* curves or the default order, zero-terminated */
	struct psk_list psk;                 /* PSKsecrets */
	const struct psk_entry *client_psk;  /* client: the identity presented */
	int psk_only;                        /* no certificate-based trust: PSK key exchanges only */
	struct tls_idents *idents;        /* server, judging client certificates: their chains, kept beside the
					   * sessions so that a resumption is judged again (tls_ident.c) */
	const mbedtls_x509_crt_profile *profile; /* what certificates must meet (securityLevel) */
	unsigned char trust[32];          /* a digest of the CAs, CRLs and profile: a chain verified under the same
					   * need not have its signatures checked again on resumption */
	mbedtls_x509_time ca_from, ca_to; /* when every CA is valid: the latest start, the earliest end */
	mbedtls_ssl_cache_context cache;  /* server, TLS 1.2 session IDs */
	mbedtls_ssl_ticket_context ticket; /* server, tickets for TLS 1.2 and 1.3 */
	int has_cache, has_ticket;
	/* client: the last session, offered to the next connection on any worker; copied in and out under
	 * the lock (at the handshake's start and end, never while relaying) */
	pthread_mutex_t saved_mu;
	mbedtls_ssl_session saved;
	int has_saved;
	unsigned char ticket_key[36]; /* ticketKeyFile: 4-byte name, 32-byte key */
	int has_ticket_key;
	unsigned char ticket_prev[36]; /* ticketKeyFile's second line: the previous key, accepted only */
	int has_ticket_prev;
	uint32_t ticket_life;
	struct tls_route *routes; /* server: secondary services by SNI, first match wins */
	int nroutes;
};

/* A connection's TLS socket as mbedTLS's bio sees it. out_left mirrors mbedTLS's count of record
 * bytes not yet sent (it is the length of every send it asks for, less what was sent). */
struct tls_bio {
	int fd;
	size_t out_left;
};

/* What a connection's verification found, filled in by the verify callback and tls_peer_verdict. */
struct tls_peer {
	const struct tls_svc *home; /* the service the connection arrived on */
	const struct tls_svc *svc;  /* the one whose rules apply (a secondary, after SNI routing) */
	const char *expect_host; /* client mode: the name or IP to check when checkHost/checkIP are unset */
	unsigned char listed;    /* verifyPeer: the leaf certificate is in CAfile/CApath */
	unsigned char name_bad;  /* the name check failed */
	char rule[160];          /* after tls_peer_verdict: what let the peer in ("" when nothing was asked) */
	unsigned char offered;   /* client: a saved session was offered */
	unsigned char verified;  /* the verify callback ran: the peer's certificate was checked afresh */
	signed char resumed;     /* 1 resumed, 0 full handshake, -1 cannot tell */
	unsigned char tls12_only; /* client: this handshake offers TLS 1.2 only (conf12) */
	unsigned char tls13_mark; /* client: the server's random says it supports TLS 1.3 (RFC 8446 4.1.3) */
	unsigned char accepted;  /* the verdict let the peer in: its session may be kept */
	unsigned char cert_ok;   /* ... because its certificate passed a check (chain, verifyPeer, a rule, a pin) */
	char psk_identity[PSK_MAX_IDENTITY + 1]; /* the PSK identity used, or "" */
	char sni[256];           /* server: the name the client asked for, or "" */
	unsigned char *kept;     /* server: the chain kept with the session the client offered (tls_ident.c) */
	size_t kept_len;
	unsigned char kept_trust[32]; /* ... the trust it was verified under (all zero: not verified) */
	mbedtls_x509_crt *chain; /* ... parsed, when the session resumed: judged as the peer's certificate */
	void *route;             /* server: the owner of the tls_route taken, or NULL (primary) */
	const struct tls_svc *put_svc; /* server: whose store kept this handshake's chain (tls_idents_drop) */
	unsigned char put_key[32];     /* ... under this key */
};

/* tls_lib_init: initialise PSA crypto (the RNG source). Call once before anything else here, and
 * again in a forked daemon child after tls_lib_done; before any thread starts. Each thread then draws its
 * handshakes' randomness from a DRBG of its own, seeded from PSA's on first use. Returns 0 or -1 with the
 * reason in ERR. */
int tls_lib_init(char *err, size_t errlen);
void tls_lib_done(void);

/* tls_svc_build: load S's certificates, key and CAs and build its mbedTLS configuration into T. An encrypted
 * key is decrypted with its passphrase (keypass.h), which may be asked at the terminal when PROMPT is set;
 * PREV (may be NULL) is the service of the same name being replaced by a reload: when its key's passphrase
 * was typed at start and the key file is unchanged, T takes a copy of PREV's key instead of asking again.
 * Returns 0, or -1 with "path: reason" (or the option at fault) in ERR; T is then left freed. */
int tls_svc_build(struct tls_svc *t, const struct cfg_service *s, const struct tls_svc *prev, int prompt, char *err,
		  size_t errlen);
void tls_svc_free(struct tls_svc *t);

/* tls_conn_setup: prepare SSL for one connection of T: bio on BIO (which outlives SSL),
 * SNI and name checks for HOST (client mode; NULL when the peer is an IP or there is no name),
 * verification state in PEER; with TLS12_ONLY (client, when T has conf12) offering TLS 1.2 only.
 * Returns 0 or an mbedTLS error code. */
int tls_conn_setup(mbedtls_ssl_context *ssl, const struct tls_svc *t, struct tls_bio *bio, const char *sni,
		   struct tls_peer *peer, int tls12_only);

/* tls_needs_tls12_only: did the client handshake on SSL fail (RC) because a TLS 1.2 server signed with
 * RSA-PSS, which this mbedTLS refuses after offering TLS 1.3 (Mbed-TLS/mbedtls#10668)? A retry offering
 * TLS 1.2 only then gets a PKCS#1 v1.5 signature. 1 or 0. */
int tls_needs_tls12_only(const mbedtls_ssl_context *ssl, const struct tls_svc *t, const struct tls_peer *peer, int rc);

/* tls_svc_add_route: send clients naming PATTERN (exact or "*.domain", no case) on PRIMARY to the
 * secondary SECONDARY (its certificate, CAs and verification), tagging them with OWNER.
 * Returns 0 or -1 when out of memory. */
int tls_svc_add_route(struct tls_svc *primary, const char *pattern, struct tls_svc *secondary, void *owner);

/* tls_svc_share_idents: a reload: TO (the new service) keeps client identities in FROM's store (the old one
 * of the same name), if both keep them, so that sessions surviving the reload resume, judged by TO's
 * configuration. Control thread; FROM may still be serving. */
void tls_svc_share_idents(struct tls_svc *to, struct tls_svc *from);

/* tls_svc_not_after: when T's own certificate expires (Unix time), or 0 when T has none. */
long long tls_svc_not_after(const struct tls_svc *t);

/* What tls_svc_crl tells of one CRL. */
struct tls_crl_info {
	char issuer[256];       /* the issuer's DN */
	const char *file;       /* where it was read from (T's) */
	long long next_update;  /* its nextUpdate in Unix time, or 0 when it has none */
};

/* tls_svc_crl: the NTH (from 0) CRL of T (CRLfile's, then CRLpath's) into OUT. 0, or -1 when T has fewer. */
int tls_svc_crl(const struct tls_svc *t, int nth, struct tls_crl_info *out);

/* tls_svc_refresh_ticket_key: offer ticketKeyFile's key (and the previous key the file may hold after
 * it) to mbedTLS again. mbedTLS replaces a ticket key with a random one once its lifetime has passed;
 * renewing it at half that keeps instances that share the file resuming each other's sessions. 0 or an
 * mbedTLS error (0 too without a key file). */
int tls_svc_refresh_ticket_key(struct tls_svc *t);

/* tls_handshake: one step of the handshake of SSL (as mbedtls_ssl_handshake). When it completes,
 * PEER->resumed says whether the session was resumed. */
int tls_handshake(mbedtls_ssl_context *ssl, struct tls_peer *peer);

/* tls_session_keep: the verdict accepted the peer: a client keeps a TLS 1.2 session for next time (a
 * session is never kept before the peer was judged: resuming it would skip the judging). */
void tls_session_keep(mbedtls_ssl_context *ssl, struct tls_peer *peer);

/* tls_session_forget: a client offers no saved session on its next connection. */
void tls_session_forget(struct tls_svc *t);

/* tls_thread_done: release the calling thread's random generator (a worker thread that ends). */
void tls_thread_done(void);

/* tls_session_ticket: a client read returned MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET: keep it when
 * the peer was accepted. */
void tls_session_ticket(mbedtls_ssl_context *ssl, struct tls_peer *peer);

/* tls_peer_verdict: after a completed handshake, decide on the peer: certificate presence, chain
 * (with CRLs), verifyPeer, checkHost/checkIP/checkEmail, then the allow rules and pins. Returns 0 when
 * the peer is acceptable (PEER->rule names what let it in), or -1 with the check that failed in WHY. */
int tls_peer_verdict(const mbedtls_ssl_context *ssl, struct tls_peer *peer, char *why, size_t len);

/* tls_peer_cert: the peer's certificate (chain) as judged: the one of this handshake, or the one kept with
 * the session it resumed (server). NULL when there is none. */
const mbedtls_x509_crt *tls_peer_cert(const mbedtls_ssl_context *ssl, const struct tls_peer *peer);

/* tls_idents_drop: forget the chain this handshake of PEER kept with its new session (a refused peer's chain
 * would only take a place in the store; its session is refused again if offered). */
void tls_idents_drop(struct tls_peer *peer);

/* tls_peer_release: free what PEER holds (a kept chain); it may be set up again. */
void tls_peer_release(struct tls_peer *peer);

/* tls_error: words for an mbedTLS error code; verification failures get the X.509 reasons. */
void tls_error(int err, const mbedtls_ssl_context *ssl, char *buf, size_t len);

/* tls_peer_cn: the peer certificate's first subject CN, or "" when there is none. */
void tls_peer_cn(const mbedtls_ssl_context *ssl, const struct tls_peer *peer, char *buf, size_t len);

/* tls_peer_subject: the peer certificate's subject DN, or "" when there is none. */
void tls_peer_subject(const mbedtls_ssl_context *ssl, const struct tls_peer *peer, char *buf, size_t len);

/* tls_cert_has_name / tls_cert_has_ip: identity checks on a certificate (SANs; CN only when the
 * certificate has no DNS SAN). 1 match, 0 no match. */
int tls_cert_has_name(const mbedtls_x509_crt *crt, const char *name);
int tls_cert_has_ip(const mbedtls_x509_crt *crt, const char *ip);
int tls_cert_has_email(const mbedtls_x509_crt *crt, const char *email);

/* tls_cert_pin: the SHA-256 of CRT's SubjectPublicKeyInfo (what pinSHA256 names). 0 or -1. */
int tls_cert_pin(const mbedtls_x509_crt *crt, unsigned char out[32]);

#endif
