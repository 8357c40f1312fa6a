/* mbedTLS configuration and verification. */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/psa_util.h>
#include <mbedtls/x509.h>
#include <psa/crypto.h>

#include "match.h"

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
	if (s->client)
		return s->verify_chain ? MBEDTLS_SSL_VERIFY_REQUIRED
				       : s->verify_peer ? MBEDTLS_SSL_VERIFY_OPTIONAL : MBEDTLS_SSL_VERIFY_NONE;
	if (s->require_cert && s->verify_chain)
		return MBEDTLS_SSL_VERIFY_REQUIRED;
	/* requireCert without verifyChain (verifyPeer) or verification of an optional certificate: ask for
	 * one and judge it in tls_peer_verdict */
	if (s->require_cert || s->verify_chain || s->verify_peer)
		return MBEDTLS_SSL_VERIFY_OPTIONAL;
	return MBEDTLS_SSL_VERIFY_NONE;
}

int tls_svc_build(struct tls_svc *t, const struct cfg_service *s, char *err, size_t errlen)
{
	int rc;
	memset(t, 0, sizeof(*t));
	mbedtls_ssl_config_init(&t->conf);
	mbedtls_x509_crt_init(&t->own_cert);
	mbedtls_pk_init(&t->own_key);
	mbedtls_x509_crt_init(&t->ca);
	t->client = s->client;
	t->verify_chain = s->verify_chain;
	t->verify_peer = s->verify_peer;
	t->require_cert = s->require_cert;
	t->check_host = s->check_host;
	t->check_ip = s->check_ip;

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
		mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
	if (s->cert && load_own(t, s, err, errlen) < 0)
		goto err0;
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
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	int fd = *(int *)ctx;
	ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	return errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	int fd = *(int *)ctx;
	ssize_t n = recv(fd, buf, len, 0);
	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
}

int tls_cert_has_name(const mbedtls_x509_crt *crt, const char *name)
{
	int saw_dns = 0;
	for (const mbedtls_x509_sequence *san = &crt->subject_alt_names; san && san->buf.p; san = san->next) {
		if ((san->buf.tag & MBEDTLS_ASN1_TAG_VALUE_MASK) != MBEDTLS_X509_SAN_DNS_NAME)
			continue;
		saw_dns = 1;
		if (match_dns((const char *)san->buf.p, san->buf.len, name))
			return 1;
	}
	if (saw_dns)
		return 0;
	for (const mbedtls_x509_name *n = &crt->subject; n; n = n->next)
		if (n->oid.p && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0 &&
		    match_dns((const char *)n->val.p, n->val.len, name))
			return 1;
	return 0;
}

int tls_cert_has_ip(const mbedtls_x509_crt *crt, const char *ip)
{
	for (const mbedtls_x509_sequence *san = &crt->subject_alt_names; san && san->buf.p; san = san->next)
		if ((san->buf.tag & MBEDTLS_ASN1_TAG_VALUE_MASK) == MBEDTLS_X509_SAN_IP_ADDRESS &&
		    match_ip(san->buf.p, san->buf.len, ip))
			return 1;
	return 0;
}

static int cert_in_list(const mbedtls_x509_crt *crt, const mbedtls_x509_crt *list)
{
	for (; list && list->version; list = list->next)
		if (list->raw.len == crt->raw.len && memcmp(list->raw.p, crt->raw.p, crt->raw.len) == 0)
			return 1;
	return 0;
}

/* The peer's name against checkHost/checkIP, or against the connect host by default (client mode). */
static int peer_name_ok(const mbedtls_x509_crt *crt, const struct tls_peer *p)
{
	const struct tls_svc *t = p->svc;
	if (t->check_host || t->check_ip)
		return (t->check_host && tls_cert_has_name(crt, t->check_host)) ||
		       (t->check_ip && tls_cert_has_ip(crt, t->check_ip));
	if (!t->client || !p->expect_host)
		return 1;
	return match_is_ip(p->expect_host) ? tls_cert_has_ip(crt, p->expect_host)
					   : tls_cert_has_name(crt, p->expect_host);
}

/* Called per certificate, root first; depth 0 is the peer's own. mbedTLS's name check (driven by
 * the SNI name) is replaced by ours, which knows checkHost/checkIP and IP addresses. */
static int verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct tls_peer *p = ctx;
	if (depth != 0)
		return 0;
	*flags &= ~(uint32_t)MBEDTLS_X509_BADCERT_CN_MISMATCH;
	if (p->svc->verify_peer)
		p->listed = (unsigned char)cert_in_list(crt, &p->svc->ca);
	if (p->svc->verify_chain || p->svc->verify_peer) {
		p->name_bad = !peer_name_ok(crt, p);
		if (p->name_bad)
			*flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
		if (p->svc->verify_peer && !p->listed)
			*flags |= MBEDTLS_X509_BADCERT_OTHER;
	}
	return 0;
}

int tls_conn_setup(mbedtls_ssl_context *ssl, const struct tls_svc *t, int *fd, const char *sni,
		   struct tls_peer *peer)
{
	int rc = mbedtls_ssl_setup(ssl, &t->conf);
	if (rc)
		return rc;
	mbedtls_ssl_set_bio(ssl, fd, bio_send, bio_recv, NULL);
	peer->svc = t;
	mbedtls_ssl_set_verify(ssl, verify_cb, peer);
	if (t->client)
		rc = mbedtls_ssl_set_hostname(ssl, sni && *sni && !match_is_ip(sni) ? sni : NULL);
	return rc;
}

int tls_peer_verdict(const mbedtls_ssl_context *ssl, const struct tls_peer *peer, char *why, size_t len)
{
	const struct tls_svc *t = peer->svc;
	const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(ssl);
	uint32_t flags = mbedtls_ssl_get_verify_result(ssl);
	int wanted = t->client ? (t->verify_chain || t->verify_peer) : (t->require_cert || t->verify_chain || t->verify_peer);
	if (!wanted)
		return 0;
	if (!crt) {
		if (t->client || t->require_cert) {
			snprintf(why, len, "peer presented no certificate");
			return -1;
		}
		return 0; /* requireCert = no: an anonymous client is allowed */
	}
	if (t->verify_peer && !peer->listed) {
		snprintf(why, len, "peer certificate is not in CAfile/CApath (verifyPeer)");
		return -1;
	}
	if (peer->name_bad) {
		snprintf(why, len, "peer certificate does not match the expected name");
		return -1;
	}
	if (!t->verify_chain && !t->verify_peer)
		return 0; /* requireCert alone: a certificate must be presented, nothing more */
	if (!t->verify_chain)
		flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_NOT_TRUSTED | MBEDTLS_X509_BADCERT_OTHER);
	if (flags && flags != (uint32_t)-1) {
		char info[256];
		mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
		for (char *nl; (nl = strchr(info, '\n'));)
			*nl = *(nl + 1) ? ';' : '\0';
		snprintf(why, len, "certificate verification failed: %s", info);
		return -1;
	}
	return 0;
}

void tls_error(int err, const mbedtls_ssl_context *ssl, char *buf, size_t len)
{
	char e[160];
	mbedtls_strerror(err, e, sizeof(e));
	uint32_t flags = ssl ? mbedtls_ssl_get_verify_result(ssl) : 0;
	if (err == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && flags && flags != (uint32_t)-1) {
		char info[256];
		mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
		for (char *nl; (nl = strchr(info, '\n'));)
			*nl = *(nl + 1) ? ';' : '\0';
		snprintf(buf, len, "certificate verification failed: %s", info);
		return;
	}
	snprintf(buf, len, "%s", e);
}

void tls_peer_subject(const mbedtls_ssl_context *ssl, char *buf, size_t len)
{
	const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(ssl);
	buf[0] = '\0';
	if (crt && mbedtls_x509_dn_gets(buf, len, &crt->subject) < 0)
		buf[0] = '\0';
}
