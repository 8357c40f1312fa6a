/* mbedTLS configuration and verification. */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/base64.h>
#include <mbedtls/error.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/psa_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509.h>
#include <psa/crypto.h>

#include "match.h"
#include "psk.h"

#define SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"
#define SYSTEM_CA_PATH "/etc/ssl/certs"

int tls_lib_init(char *err, size_t errlen)
{
	psa_status_t st = psa_crypto_init();
	if (st != PSA_SUCCESS) {
		snprintf(err, errlen, "psa_crypto_init failed (%d)", (int)st);
		return -1;
	}
	return 0;
}

void tls_lib_done(void)
{
	mbedtls_psa_crypto_free();
}

static int mbed_fail(char *err, size_t errlen, const char *what, const char *path, int rc)
{
	char e[160];
	mbedtls_strerror(rc, e, sizeof(e));
	snprintf(err, errlen, "%s %s: %s", what, path, e);
	return -1;
}

/* File problems (missing, unreadable) read better as errno text than as a parse error. */
static int check_readable(const char *what, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	fclose(f);
	return 0;
}

static int load_ca(struct tls_svc *t, const struct cfg_service *s, char *err, size_t errlen)
{
	int rc;
	if (s->cafile) {
		if (check_readable("CAfile", s->cafile, err, errlen) < 0)
			return -1;
		if ((rc = mbedtls_x509_crt_parse_file(&t->ca, s->cafile)) < 0)
			return mbed_fail(err, errlen, "CAfile", s->cafile, rc);
		if (rc > 0 && t->ca.version == 0)
			return mbed_fail(err, errlen, "CAfile", s->cafile, MBEDTLS_ERR_X509_INVALID_FORMAT);
		t->has_ca = 1;
	}
	if (s->capath) {
		if ((rc = mbedtls_x509_crt_parse_path(&t->ca, s->capath)) < 0)
			return mbed_fail(err, errlen, "CApath", s->capath, rc);
		t->has_ca = t->has_ca || t->ca.version != 0;
	}
	if (!s->cafile && !s->capath && s->client && s->verify_chain) {
		/* the system trust store, as a browser would use */
		rc = mbedtls_x509_crt_parse_file(&t->ca, SYSTEM_CA_FILE);
		if (rc < 0 || t->ca.version == 0)
			rc = mbedtls_x509_crt_parse_path(&t->ca, SYSTEM_CA_PATH);
		if (t->ca.version == 0) {
			snprintf(err, errlen, "no CAfile/CApath set and no system trust store at %s", SYSTEM_CA_FILE);
			return -1;
		}
		t->has_ca = 1;
	}
	if (s->crlfile) {
		if (check_readable("CRLfile", s->crlfile, err, errlen) < 0)
			return -1;
		if ((rc = mbedtls_x509_crl_parse_file(&t->crl, s->crlfile)) != 0)
			return mbed_fail(err, errlen, "CRLfile", s->crlfile, rc);
		t->has_crl = 1;
	}
	if ((s->verify_chain || s->verify_peer) && !t->has_ca) {
		snprintf(err, errlen, "verification needs CA certificates but CAfile/CApath hold none");
		return -1;
	}
	return 0;
}

static int load_own(struct tls_svc *t, const struct cfg_service *s, char *err, size_t errlen)
{
	int rc;
	const char *keypath = s->key ? s->key : s->cert; /* stunnel: the key may sit in the cert file */
	if (check_readable("cert", s->cert, err, errlen) < 0)
		return -1;
	if ((rc = mbedtls_x509_crt_parse_file(&t->own_cert, s->cert)) != 0)
		return mbed_fail(err, errlen, "cert", s->cert, rc < 0 ? rc : MBEDTLS_ERR_X509_INVALID_FORMAT);
	if (check_readable("key", keypath, err, errlen) < 0)
		return -1;
	rc = mbedtls_pk_parse_keyfile(&t->own_key, keypath, NULL, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
	if (rc == MBEDTLS_ERR_PK_PASSWORD_REQUIRED) {
		snprintf(err, errlen, "key %s is encrypted: password-protected keys are not supported yet", keypath);
		return -1;
	}
	if (rc != 0)
		return mbed_fail(err, errlen, "key", keypath, rc);
	if (mbedtls_pk_check_pair(&t->own_cert.pk, &t->own_key, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE)) {
		snprintf(err, errlen, "key %s does not match the certificate in %s", keypath, s->cert);
		return -1;
	}
	if ((rc = mbedtls_ssl_conf_own_cert(&t->conf, &t->own_cert, &t->own_key)) != 0)
		return mbed_fail(err, errlen, "cert", s->cert, rc);
	return 0;
}

static int authmode(const struct cfg_service *s)
{
	int pinned = s->pin_sha256.n > 0;
	if (s->client)
		return s->verify_chain ? MBEDTLS_SSL_VERIFY_REQUIRED
				       : s->verify_peer || pinned ? MBEDTLS_SSL_VERIFY_OPTIONAL : MBEDTLS_SSL_VERIFY_NONE;
	if (s->require_cert && s->verify_chain)
		return MBEDTLS_SSL_VERIFY_REQUIRED;
	/* requireCert without verifyChain (verifyPeer, pins) or verification of an optional certificate:
	 * ask for one and judge it in tls_peer_verdict */
	if (s->require_cert || s->verify_chain || s->verify_peer || pinned)
		return MBEDTLS_SSL_VERIFY_OPTIONAL;
	return MBEDTLS_SSL_VERIFY_NONE;
}

/* The session cache and ticket hooks tell the connection whose handshake is running that its
 * session was found, which mbedTLS has no public way to say. */
static int cache_get_cb(void *data, unsigned char const *id, size_t len, mbedtls_ssl_session *session)
{
	struct tls_svc *t = data;
	int rc = mbedtls_ssl_cache_get(&t->cache, id, len, session);
	if (rc == 0 && t->current)
		t->current->resumed = 1;
	return rc;
}

static int cache_set_cb(void *data, unsigned char const *id, size_t len, const mbedtls_ssl_session *session)
{
	struct tls_svc *t = data;
	return mbedtls_ssl_cache_set(&t->cache, id, len, session);
}

static int ticket_parse_cb(void *data, mbedtls_ssl_session *session, unsigned char *buf, size_t len)
{
	struct tls_svc *t = data;
	int rc = mbedtls_ssl_ticket_parse(&t->ticket, session, buf, len);
	if (rc == 0 && t->current)
		t->current->resumed = 1;
	return rc;
}

static int ticket_write_cb(void *data, const mbedtls_ssl_session *session, unsigned char *start,
			   const unsigned char *end, size_t *tlen, uint32_t *lifetime)
{
	struct tls_svc *t = data;
	return mbedtls_ssl_ticket_write(&t->ticket, session, start, end, tlen, lifetime);
}

/* ticketKeyFile: base64 of at least 36 random bytes (4-byte key name, 32-byte AES-256 key), e.g.
 * `openssl rand -base64 48`; the same file on several instances lets them resume each other's sessions. */
static int load_ticket_key(struct tls_svc *t, const char *path, int lifetime, char *err, size_t errlen)
{
	char text[512];
	unsigned char key[384];
	size_t n = 0, len;
	struct stat st;
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "ticketKeyFile %s: %s", path, strerror(errno));
		return -1;
	}
	len = fread(text, 1, sizeof(text) - 1, f);
	int bad_mode = fstat(fileno(f), &st) == 0 && (st.st_mode & S_IROTH);
	fclose(f);
	if (bad_mode) {
		snprintf(err, errlen, "ticketKeyFile %s is readable by others (chmod o-r)", path);
		return -1;
	}
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		len--;
	int rc = mbedtls_base64_decode(key, sizeof(key), &n, (unsigned char *)text, len);
	mbedtls_platform_zeroize(text, sizeof(text));
	if (rc || n < 36) {
		mbedtls_platform_zeroize(key, sizeof(key));
		snprintf(err, errlen, "ticketKeyFile %s: expected base64 of at least 36 bytes (openssl rand -base64 48)", path);
		return -1;
	}
	memcpy(t->ticket_key, key, sizeof(t->ticket_key));
	mbedtls_platform_zeroize(key, sizeof(key));
	t->has_ticket_key = 1;
	t->ticket_life = (uint32_t)lifetime;
	rc = tls_svc_refresh_ticket_key(t);
	return rc ? mbed_fail(err, errlen, "ticketKeyFile", path, rc) : 0;
}

int tls_svc_refresh_ticket_key(struct tls_svc *t)
{
	if (!t->has_ticket_key)
		return 0;
	return mbedtls_ssl_ticket_rotate(&t->ticket, t->ticket_key, 4, t->ticket_key + 4, 32, t->ticket_life);
}

/* Server: resumption by session ID (TLS 1.2) and tickets (TLS 1.2 and 1.3). Not on services that ask for
 * client certificates: mbedTLS skips verification on resumption and keeps no client certificate after a
 * TLS 1.3 ticket, so a resumed session could not get the same access decision as a full handshake. */
static int setup_sessions(struct tls_svc *t, const struct cfg_service *s, char *err, size_t errlen)
{
	if (s->client) {
		mbedtls_ssl_conf_session_tickets(&t->conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
		mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(&t->conf,
									 MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
		return 0;
	}
	if (authmode(s) != MBEDTLS_SSL_VERIFY_NONE) {
		mbedtls_ssl_conf_new_session_tickets(&t->conf, 0);
		return 0;
	}
	if (s->session_cache_size > 0) {
		mbedtls_ssl_cache_set_max_entries(&t->cache, s->session_cache_size);
		mbedtls_ssl_cache_set_timeout(&t->cache, s->session_cache_timeout);
		mbedtls_ssl_conf_session_cache(&t->conf, t, cache_get_cb, cache_set_cb);
		t->has_cache = 1;
	}
	int rc = mbedtls_ssl_ticket_setup(&t->ticket, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE,
					  MBEDTLS_CIPHER_AES_256_GCM, (uint32_t)s->session_cache_timeout);
	if (rc)
		return mbed_fail(err, errlen, "session tickets", "setup", rc);
	t->has_ticket = 1;
	if (s->ticket_key_file && load_ticket_key(t, s->ticket_key_file, s->session_cache_timeout, err, errlen) < 0)
		return -1;
	mbedtls_ssl_conf_session_tickets_cb(&t->conf, ticket_write_cb, ticket_parse_cb, t);
	return 0;
}

/* Server: the client named IDENTITY; its key becomes this handshake's PSK. */
static int psk_cb(void *data, mbedtls_ssl_context *ssl, const unsigned char *identity, size_t len)
{
	struct tls_svc *t = data;
	const struct psk_entry *e = psk_find(&t->psk, identity, len);
	if (!e)
		return MBEDTLS_ERR_SSL_UNKNOWN_IDENTITY;
	if (t->current)
		snprintf(t->current->psk_identity, sizeof(t->current->psk_identity), "%s", e->identity);
	return mbedtls_ssl_set_hs_psk(ssl, e->key, e->keylen);
}

/* PSKsecrets: the server accepts any identity in the file; the client presents PSKidentity (default:
 * the first). Without certificate-based trust, only PSK key exchanges are allowed. */
static int setup_psk(struct tls_svc *t, const struct cfg_service *s, char *err, size_t errlen)
{
	if (!s->psk_secrets)
		return 0;
	if (psk_load(s->psk_secrets, &t->psk, err, errlen) < 0)
		return -1;
	int only;
	if (s->client) {
		const struct psk_entry *e = &t->psk.v[0];
		if (s->psk_identity &&
		    !(e = psk_find(&t->psk, (const unsigned char *)s->psk_identity, strlen(s->psk_identity)))) {
			snprintf(err, errlen, "PSKidentity '%s' is not in %s", s->psk_identity, s->psk_secrets);
			return -1;
		}
		int rc = mbedtls_ssl_conf_psk(&t->conf, e->key, e->keylen, (const unsigned char *)e->identity,
					      strlen(e->identity));
		if (rc)
			return mbed_fail(err, errlen, "PSKsecrets", s->psk_secrets, rc);
		t->client_psk = e;
		only = !s->verify_chain && !s->verify_peer && !s->pin_sha256.n;
	} else {
		mbedtls_ssl_conf_psk_cb(&t->conf, psk_cb, t);
		only = !s->cert;
	}
	t->psk_only = only;
	mbedtls_ssl_conf_tls13_key_exchange_modes(&t->conf, only ? MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_ALL
								 : MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_ALL);
	if (!s->ciphers) {
		suites_use_psk(t->suites, only);
	} else if (only) {
		/* a PSK-only peer must never accept a certificate exchange it does not verify */
		if (suites_drop_non_psk(t->suites) == 0 && s->tls_max == CFG_TLS12) {
			snprintf(err, errlen, "ciphers: a service trusting only its PSK needs PSK suites (TLS-PSK-*, "
					      "TLS-ECDHE-PSK-*)");
			return -1;
		}
	}
	return 0;
}

/* Server: the client's SNI picks a secondary service (first match), else the primary answers. */
static int sni_cb(void *data, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len)
{
	struct tls_svc *t = data;
	struct tls_peer *peer = mbedtls_ssl_get_user_data_p(ssl);
	char host[256];
	if (len == 0 || len >= sizeof(host) || memchr(name, '\0', len))
		return 0;
	memcpy(host, name, len);
	host[len] = '\0';
	snprintf(peer->sni, sizeof(peer->sni), "%s", host);
	for (int i = 0; i < t->nroutes; i++) {
		const struct tls_route *r = &t->routes[i];
		if (!match_dns(r->pattern, strlen(r->pattern), host))
			continue;
		struct tls_svc *sec = r->tls;
		int rc = mbedtls_ssl_set_hs_own_cert(ssl, &sec->own_cert, &sec->own_key);
		if (rc)
			return rc;
		if (sec->has_ca)
			mbedtls_ssl_set_hs_ca_chain(ssl, &sec->ca, sec->has_crl ? &sec->crl : NULL);
		mbedtls_ssl_set_hs_authmode(ssl, authmode(sec->cfg));
		peer->svc = sec; /* verification and the verdict follow the secondary's settings */
		peer->route = r->owner;
		return 0;
	}
	return 0;
}

long long tls_svc_not_after(const struct tls_svc *t)
{
	const mbedtls_x509_time *v = &t->own_cert.valid_to;
	if (!t->own_cert.version)
		return 0;
	struct tm tm = { .tm_year = v->year - 1900, .tm_mon = v->mon - 1, .tm_mday = v->day,
			 .tm_hour = v->hour, .tm_min = v->min, .tm_sec = v->sec };
	return (long long)timegm(&tm);
}

int tls_svc_add_route(struct tls_svc *primary, const char *pattern, struct tls_svc *secondary, void *owner)
{
	struct tls_route *r = realloc(primary->routes, (size_t)(primary->nroutes + 1) * sizeof(*r));
	if (!r)
		return -1;
	primary->routes = r;
	r[primary->nroutes++] = (struct tls_route){ pattern, secondary, owner };
	mbedtls_ssl_conf_sni(&primary->conf, sni_cb, primary);
	if (authmode(secondary->cfg) != MBEDTLS_SSL_VERIFY_NONE) {
		/* a route that judges client certificates: no resumption on this listener (see setup_sessions) */
		mbedtls_ssl_conf_session_cache(&primary->conf, NULL, NULL, NULL);
		mbedtls_ssl_conf_session_tickets_cb(&primary->conf, NULL, NULL, NULL);
		mbedtls_ssl_conf_new_session_tickets(&primary->conf, 0);
	}
	return 0;
}

static int load_rules(struct tls_svc *t, const struct cfg_service *s, char *err, size_t errlen)
{
	if (s->pin_sha256.n && !(t->pins = calloc((size_t)s->pin_sha256.n, sizeof(*t->pins)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < s->pin_sha256.n; i++)
		if (match_pin_parse(s->pin_sha256.v[i], t->pins[i], err, errlen) < 0)
			return -1;
	t->npins = s->pin_sha256.n;
	t->has_rules = t->npins || s->allow_cn.n || s->allow_ou.n || s->allow_dns.n || s->allow_uri.n || s->allow_ip.n;
	if (s->alpn) {
		int n = 0;
		if (!(t->alpn_buf = strdup(s->alpn))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		for (char *save = NULL, *p = strtok_r(t->alpn_buf, ", \t", &save); p; p = strtok_r(NULL, ", \t", &save)) {
			if (n == TLS_MAX_ALPN || strlen(p) > 255) {
				snprintf(err, errlen, "alpn: at most %d protocols of at most 255 bytes", TLS_MAX_ALPN);
				return -1;
			}
			t->alpn[n++] = p;
		}
		t->alpn[n] = NULL;
		if (n == 0) {
			snprintf(err, errlen, "alpn: no protocol given");
			return -1;
		}
		int rc = mbedtls_ssl_conf_alpn_protocols(&t->conf, t->alpn);
		if (rc)
			return mbed_fail(err, errlen, "alpn", s->alpn, rc);
	}
	return 0;
}

int tls_svc_build(struct tls_svc *t, const struct cfg_service *s, char *err, size_t errlen)
{
	int rc;
	memset(t, 0, sizeof(*t));
	mbedtls_ssl_config_init(&t->conf);
	mbedtls_x509_crt_init(&t->own_cert);
	mbedtls_pk_init(&t->own_key);
	mbedtls_x509_crt_init(&t->ca);
	mbedtls_x509_crl_init(&t->crl);
	mbedtls_ssl_cache_init(&t->cache);
	mbedtls_ssl_ticket_init(&t->ticket);
	mbedtls_ssl_session_init(&t->saved);
	t->cfg = s;

	rc = mbedtls_ssl_config_defaults(&t->conf, s->client ? MBEDTLS_SSL_IS_CLIENT : MBEDTLS_SSL_IS_SERVER,
					 MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc) {
		mbed_fail(err, errlen, "TLS configuration", "defaults", rc);
		goto err0;
	}
	mbedtls_ssl_conf_rng(&t->conf, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
	mbedtls_ssl_conf_min_tls_version(&t->conf, (mbedtls_ssl_protocol_version)s->tls_min);
	mbedtls_ssl_conf_max_tls_version(&t->conf, (mbedtls_ssl_protocol_version)s->tls_max);
	if (suites_build(s->ciphers, s->ciphersuites, t->suites, err, errlen) < 0)
		goto err0;
	mbedtls_ssl_conf_ciphersuites(&t->conf, t->suites);
	mbedtls_ssl_conf_authmode(&t->conf, authmode(s));
	if (load_ca(t, s, err, errlen) < 0)
		goto err0;
	if (t->has_ca)
		mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, t->has_crl ? &t->crl : NULL);
	if (s->cert && load_own(t, s, err, errlen) < 0)
		goto err0;
	if (load_rules(t, s, err, errlen) < 0)
		goto err0;
	if (setup_sessions(t, s, err, errlen) < 0)
		goto err0;
	if (setup_psk(t, s, err, errlen) < 0)
		goto err0;
	if (!s->client) /* the client's server name: logged, passed on in PROXY v2, and routing (if any) */
		mbedtls_ssl_conf_sni(&t->conf, sni_cb, t);
	return 0;
err0:
	tls_svc_free(t);
	return -1;
}

void tls_svc_free(struct tls_svc *t)
{
	mbedtls_ssl_config_free(&t->conf);
	mbedtls_x509_crt_free(&t->own_cert);
	mbedtls_pk_free(&t->own_key);
	mbedtls_x509_crt_free(&t->ca);
	mbedtls_x509_crl_free(&t->crl);
	mbedtls_ssl_cache_free(&t->cache);
	mbedtls_ssl_ticket_free(&t->ticket);
	mbedtls_ssl_session_free(&t->saved);
	mbedtls_platform_zeroize(t->ticket_key, sizeof(t->ticket_key));
	psk_free(&t->psk);
	free(t->routes);
	t->routes = NULL;
	t->nroutes = 0;
	free(t->pins);
	t->pins = NULL;
	free(t->alpn_buf);
	t->alpn_buf = NULL;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct tls_bio *b = ctx;
	ssize_t n = send(b->fd, buf, len, MSG_NOSIGNAL);
	b->out_left = n > 0 ? len - (size_t)n : len;
	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	return errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	const struct tls_bio *b = ctx;
	ssize_t n = recv(b->fd, buf, len, 0);
	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
}

/* The certificate's SANs of one type, for the callers below. */
#define FOR_EACH_SAN(crt, san) \
	for (const mbedtls_x509_sequence *san = &(crt)->subject_alt_names; san && san->buf.p; san = san->next)
#define SAN_TYPE(san) ((san)->buf.tag & MBEDTLS_ASN1_TAG_VALUE_MASK)

static int has_san(const mbedtls_x509_crt *crt)
{
	return (crt->MBEDTLS_PRIVATE(ext_types) & MBEDTLS_X509_EXT_SUBJECT_ALT_NAME) != 0;
}

/* Calls FN(value, len, arg) for each subject attribute with OID; 1 when one returns 1. */
static int subject_any(const mbedtls_x509_crt *crt, const char *oid, size_t oidlen,
		       int (*fn)(const char *, size_t, const char *), const char *arg)
{
	for (const mbedtls_x509_name *n = &crt->subject; n; n = n->next)
		if (n->oid.p && n->oid.len == oidlen && memcmp(n->oid.p, oid, oidlen) == 0 &&
		    fn((const char *)n->val.p, n->val.len, arg))
			return 1;
	return 0;
}

static int dns_fn(const char *v, size_t len, const char *name)
{
	return match_dns(v, len, name);
}

static int exact_fn(const char *v, size_t len, const char *want)
{
	return strlen(want) == len && memcmp(v, want, len) == 0;
}

int tls_cert_has_name(const mbedtls_x509_crt *crt, const char *name)
{
	FOR_EACH_SAN(crt, san)
		if (SAN_TYPE(san) == MBEDTLS_X509_SAN_DNS_NAME && match_dns((const char *)san->buf.p, san->buf.len, name))
			return 1;
	/* the subject CN counts only on a certificate with no subjectAltName at all */
	return !has_san(crt) && subject_any(crt, MBEDTLS_OID_AT_CN, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_CN), dns_fn, name);
}

int tls_cert_has_ip(const mbedtls_x509_crt *crt, const char *ip)
{
	FOR_EACH_SAN(crt, san)
		if (SAN_TYPE(san) == MBEDTLS_X509_SAN_IP_ADDRESS && match_ip(san->buf.p, san->buf.len, ip))
			return 1;
	return 0;
}

static int email_fn(const char *v, size_t len, const char *want)
{
	return match_email(v, len, want);
}

int tls_cert_has_email(const mbedtls_x509_crt *crt, const char *email)
{
	FOR_EACH_SAN(crt, san)
		if (SAN_TYPE(san) == MBEDTLS_X509_SAN_RFC822_NAME && match_email((const char *)san->buf.p, san->buf.len, email))
			return 1;
	return !has_san(crt) &&
	       subject_any(crt, MBEDTLS_OID_PKCS9_EMAIL, MBEDTLS_OID_SIZE(MBEDTLS_OID_PKCS9_EMAIL), email_fn, email);
}

int tls_cert_pin(const mbedtls_x509_crt *crt, unsigned char out[32])
{
	unsigned char der[4096];
	int len = mbedtls_pk_write_pubkey_der((mbedtls_pk_context *)&crt->pk, der, sizeof(der));
	if (len <= 0)
		return -1;
	return mbedtls_sha256(der + sizeof(der) - len, (size_t)len, out, 0) == 0 ? 0 : -1;
}

static int cert_in_list(const mbedtls_x509_crt *crt, const mbedtls_x509_crt *list)
{
	for (; list && list->version; list = list->next)
		if (list->raw.len == crt->raw.len && memcmp(list->raw.p, crt->raw.p, crt->raw.len) == 0)
			return 1;
	return 0;
}

/* checkHost/checkIP/checkEmail (any match), else in client mode the expected host. */
static int peer_name_ok(const mbedtls_x509_crt *crt, const struct tls_peer *p)
{
	const struct cfg_service *s = p->svc->cfg;
	if (s->check_host.n || s->check_ip.n || s->check_email.n) {
		for (int i = 0; i < s->check_host.n; i++)
			if (tls_cert_has_name(crt, s->check_host.v[i]))
				return 1;
		for (int i = 0; i < s->check_ip.n; i++)
			if (tls_cert_has_ip(crt, s->check_ip.v[i]))
				return 1;
		for (int i = 0; i < s->check_email.n; i++)
			if (tls_cert_has_email(crt, s->check_email.v[i]))
				return 1;
		return 0;
	}
	/* a pin without a CA names the exact key: no name is checked unless asked for */
	if (!s->client || !p->expect_host || !s->verify_chain)
		return 1;
	return match_is_ip(p->expect_host) ? tls_cert_has_ip(crt, p->expect_host) : tls_cert_has_name(crt, p->expect_host);
}

/* The first access rule that CRT matches, written to RULE; 0 when none does. */
static int allow_match(const mbedtls_x509_crt *crt, const struct tls_svc *t, char *rule, size_t len)
{
	const struct cfg_service *s = t->cfg;
	for (int i = 0; i < s->allow_cn.n; i++)
		if (subject_any(crt, MBEDTLS_OID_AT_CN, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_CN), exact_fn, s->allow_cn.v[i]))
			return snprintf(rule, len, "allowCN=%s", s->allow_cn.v[i]), 1;
	for (int i = 0; i < s->allow_ou.n; i++)
		if (subject_any(crt, MBEDTLS_OID_AT_ORG_UNIT, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_ORG_UNIT), exact_fn,
				s->allow_ou.v[i]))
			return snprintf(rule, len, "allowOU=%s", s->allow_ou.v[i]), 1;
	for (int i = 0; i < s->allow_dns.n; i++) {
		const char *pat = s->allow_dns.v[i];
		FOR_EACH_SAN(crt, san) {
			char name[256];
			if (SAN_TYPE(san) != MBEDTLS_X509_SAN_DNS_NAME || san->buf.len >= sizeof(name) ||
			    memchr(san->buf.p, '\0', san->buf.len))
				continue;
			memcpy(name, san->buf.p, san->buf.len);
			name[san->buf.len] = '\0';
			if (match_dns(pat, strlen(pat), name))
				return snprintf(rule, len, "allowDNS=%s", pat), 1;
		}
	}
	for (int i = 0; i < s->allow_uri.n; i++)
		FOR_EACH_SAN(crt, san)
			if (SAN_TYPE(san) == MBEDTLS_X509_SAN_UNIFORM_RESOURCE_IDENTIFIER &&
			    exact_fn((const char *)san->buf.p, san->buf.len, s->allow_uri.v[i]))
				return snprintf(rule, len, "allowURI=%s", s->allow_uri.v[i]), 1;
	for (int i = 0; i < s->allow_ip.n; i++)
		if (tls_cert_has_ip(crt, s->allow_ip.v[i]))
			return snprintf(rule, len, "allowIP=%s", s->allow_ip.v[i]), 1;
	if (t->npins) {
		unsigned char pin[32];
		if (tls_cert_pin(crt, pin) == 0)
			for (int i = 0; i < t->npins; i++)
				if (memcmp(pin, t->pins[i], 32) == 0)
					return snprintf(rule, len, "pinSHA256=%.20s...", s->pin_sha256.v[i] + 8), 1;
	}
	return 0;
}

/* Called per certificate, root first; depth 0 is the peer's own. mbedTLS's name check (driven by
 * the SNI name) is replaced by ours, which knows checkHost/checkIP/checkEmail and IP addresses; in
 * client mode a failure here ends the handshake with an alert. */
static int verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct tls_peer *p = ctx;
	const struct cfg_service *s = p->svc->cfg;
	if (depth != 0)
		return 0;
	p->verified = 1;
	*flags &= ~(uint32_t)MBEDTLS_X509_BADCERT_CN_MISMATCH;
	if (s->verify_peer)
		p->listed = (unsigned char)cert_in_list(crt, &p->svc->ca);
	if (s->verify_chain || s->verify_peer) {
		p->name_bad = !peer_name_ok(crt, p);
		if (p->name_bad)
			*flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
		if (s->verify_peer && !p->listed)
			*flags |= MBEDTLS_X509_BADCERT_OTHER;
	}
	return 0;
}

int tls_conn_setup(mbedtls_ssl_context *ssl, const struct tls_svc *t, struct tls_bio *bio, const char *sni,
		   struct tls_peer *peer)
{
	int rc = mbedtls_ssl_setup(ssl, &t->conf);
	if (rc)
		return rc;
	mbedtls_ssl_set_bio(ssl, bio, bio_send, bio_recv, NULL);
	mbedtls_ssl_set_user_data_p(ssl, peer);
	peer->home = peer->svc = t;
	mbedtls_ssl_set_verify(ssl, verify_cb, peer);
	if (t->cfg->client)
		rc = mbedtls_ssl_set_hostname(ssl, sni && *sni && !match_is_ip(sni) ? sni : NULL);
	if (rc == 0 && t->cfg->client && t->has_saved && mbedtls_ssl_set_session(ssl, &t->saved) == 0)
		peer->offered = 1;
	return rc;
}

static void save_session(mbedtls_ssl_context *ssl, struct tls_svc *t)
{
	mbedtls_ssl_session_free(&t->saved);
	mbedtls_ssl_session_init(&t->saved);
	t->has_saved = mbedtls_ssl_get_session(ssl, &t->saved) == 0;
}

int tls_handshake(mbedtls_ssl_context *ssl, struct tls_peer *peer)
{
	struct tls_svc *t = (struct tls_svc *)peer->home; /* its hooks note into this connection */
	t->current = peer;
	int rc = mbedtls_ssl_handshake(ssl);
	t->current = NULL;
	if (rc != 0)
		return rc;
	if (t->cfg->client) {
		/* resumption skips certificate verification: no callback after an offered session means resumed */
		if (!peer->offered)
			peer->resumed = 0;
		else if (authmode(t->cfg) == MBEDTLS_SSL_VERIFY_NONE)
			peer->resumed = -1;
		else
			peer->resumed = !peer->verified;
	}
	return 0;
}

void tls_session_keep(mbedtls_ssl_context *ssl, struct tls_peer *peer)
{
	struct tls_svc *t = (struct tls_svc *)peer->home;
	peer->accepted = 1;
	if (t->cfg->client && mbedtls_ssl_get_version_number(ssl) == MBEDTLS_SSL_VERSION_TLS1_2)
		save_session(ssl, t);
}

void tls_session_ticket(mbedtls_ssl_context *ssl, struct tls_peer *peer)
{
	if (peer->accepted) /* never a session with a peer that was refused */
		save_session(ssl, (struct tls_svc *)peer->home);
}

/* mbedTLS's words for verification FLAGS, one line, reasons separated by ';'. */
static void verify_words(uint32_t flags, char *buf, size_t len)
{
	if (mbedtls_x509_crt_verify_info(buf, len, "", flags) < 0)
		snprintf(buf, len, "flags 0x%x", (unsigned)flags);
	for (char *nl; (nl = strchr(buf, '\n'));)
		*nl = *(nl + 1) ? ';' : '\0';
}

int tls_peer_verdict(const mbedtls_ssl_context *ssl, struct tls_peer *peer, char *why, size_t len)
{
	const struct tls_svc *t = peer->svc;
	const struct cfg_service *s = t->cfg;
	const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(ssl);
	int judged = s->verify_chain || s->verify_peer || t->npins;
	int required = s->client ? judged : s->require_cert;
	peer->rule[0] = '\0';
	if (s->client && t->psk_only)
		snprintf(peer->psk_identity, sizeof(peer->psk_identity), "%s", t->client_psk->identity);
	if (s->client && peer->resumed == 1) {
		/* our own session with this service, judged when it was established; resumption skips the
		 * checks that would judge it again (the verify callback does not run) */
		snprintf(peer->rule, sizeof(peer->rule), "resumed session");
		return 0;
	}
	if (!judged && !required) {
		if (peer->psk_identity[0])
			snprintf(peer->rule, sizeof(peer->rule), "PSK identity=%s", peer->psk_identity);
		return 0;
	}
	if (!crt) {
		if (required) {
			snprintf(why, len, "no certificate presented");
			return -1;
		}
		snprintf(peer->rule, sizeof(peer->rule), "anonymous (requireCert = no)");
		return 0;
	}
	if (!judged) {
		snprintf(peer->rule, sizeof(peer->rule), "certificate presented (requireCert, not verified)");
		return 0;
	}
	if (s->verify_chain) {
		uint32_t flags = mbedtls_ssl_get_verify_result(ssl);
		flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_CN_MISMATCH | MBEDTLS_X509_BADCERT_OTHER); /* ours, below */
		if (flags) {
			char words[400];
			verify_words(flags, words, sizeof(words));
			snprintf(why, len, "certificate verification failed: %s", words);
			return -1;
		}
	}
	if (s->verify_peer && !peer->listed) {
		snprintf(why, len, "verifyPeer: certificate is not in CAfile/CApath");
		return -1;
	}
	if (!peer_name_ok(crt, peer)) {
		snprintf(why, len, "name check failed: certificate matches no %s",
			 s->check_host.n || s->check_ip.n || s->check_email.n ? "checkHost/checkIP/checkEmail"
									       : "name of the connect host or sni");
		return -1;
	}
	if (t->has_rules) {
		if (!allow_match(crt, t, peer->rule, sizeof(peer->rule))) {
			char subject[200] = "";
			mbedtls_x509_dn_gets(subject, sizeof(subject), &crt->subject);
			snprintf(why, len, "no allow rule or pin matched (subject \"%s\")", subject);
			return -1;
		}
		peer->cert_ok = 1;
		return 0;
	}
	snprintf(peer->rule, sizeof(peer->rule), "%s", s->verify_chain ? "verifyChain" : "verifyPeer");
	peer->cert_ok = 1;
	return 0;
}

void tls_error(int err, const mbedtls_ssl_context *ssl, char *buf, size_t len)
{
	uint32_t flags = ssl ? mbedtls_ssl_get_verify_result(ssl) : 0;
	/* a refused certificate: mbedTLS's own words for each reason, not its generic error text */
	if ((err == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED || err == MBEDTLS_ERR_SSL_BAD_CERTIFICATE) && flags &&
	    flags != (uint32_t)-1) {
		char words[300] = "";
		uint32_t rest = flags & ~(uint32_t)MBEDTLS_X509_BADCERT_OTHER; /* OTHER is only ever ours */
		if (rest)
			verify_words(rest, words, sizeof(words));
		snprintf(buf, len, "certificate verification failed: %s%s%s", words, rest && (flags & MBEDTLS_X509_BADCERT_OTHER) ? "; " : "",
			 flags & MBEDTLS_X509_BADCERT_OTHER ? "verifyPeer: certificate is not in CAfile/CApath" : "");
		return;
	}
	mbedtls_strerror(err, buf, len);
}

void tls_peer_cn(const mbedtls_ssl_context *ssl, char *buf, size_t len)
{
	const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(ssl);
	buf[0] = '\0';
	for (const mbedtls_x509_name *n = crt ? &crt->subject : NULL; n; n = n->next)
		if (n->oid.p && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
			size_t l = n->val.len < len - 1 ? n->val.len : len - 1;
			memcpy(buf, n->val.p, l);
			buf[l] = '\0';
			for (char *p = buf; *p; p++) /* it goes into a header: keep it printable */
				if ((unsigned char)*p < 0x20)
					*p = '?';
			return;
		}
}

void tls_peer_subject(const mbedtls_ssl_context *ssl, char *buf, size_t len)
{
	const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(ssl);
	buf[0] = '\0';
	if (crt && mbedtls_x509_dn_gets(buf, len, &crt->subject) < 0)
		buf[0] = '\0';
}
