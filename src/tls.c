/* mbedTLS configuration for a service, and each connection's setup and handshake. Resumption is
 * tls_session.c, judging the peer tls_verify.c. */
#include "tls_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509.h>
#include <mbedtls/psa_util.h>
#include <psa/crypto.h>

/* Workers share the session cache, the ticket keys and PSA's state, which mbedTLS locks only when built so */
#if !defined(MBEDTLS_THREADING_C) || !defined(MBEDTLS_THREADING_PTHREAD)
#error "tlswrap needs mbedTLS built with MBEDTLS_THREADING_C and MBEDTLS_THREADING_PTHREAD (Debian's is)"
#endif

#include <dirent.h>
#include <sys/stat.h>

#define CRL_MAX_BYTES (64 << 20) /* a larger file in CRLpath is not read */

#include "keypass.h"
#include "log.h"
#include "match.h"
#include "optfile.h"
#include "psk.h"
#include "seclevel.h"
#include "sslopt.h"

#define SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"
#define SYSTEM_CA_PATH "/etc/ssl/certs"

_Thread_local struct tls_peer *tls_current;

/* One DRBG per thread, seeded from PSA's generator (which takes a lock on every call) on first use. */
static _Thread_local mbedtls_ctr_drbg_context thread_drbg;
static _Thread_local int thread_drbg_state; /* 0 not yet, 1 seeded, -1 seeding failed: PSA's is used */

static int thread_rng(void *unused, unsigned char *out, size_t len)
{
	(void)unused;
	if (thread_drbg_state == 0) {
		mbedtls_ctr_drbg_init(&thread_drbg);
		thread_drbg_state = mbedtls_ctr_drbg_seed(&thread_drbg, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE,
							  (const unsigned char *)"tlswrap", 7) == 0 ? 1 : -1;
	}
	if (thread_drbg_state < 0)
		return mbedtls_psa_get_random(MBEDTLS_PSA_RANDOM_STATE, out, len);
	return mbedtls_ctr_drbg_random(&thread_drbg, out, len);
}

void tls_thread_done(void)
{
	if (thread_drbg_state != 0)
		mbedtls_ctr_drbg_free(&thread_drbg);
	thread_drbg_state = 0;
}

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

int tls_mbed_fail(char *err, size_t errlen, const char *what, const char *path, int rc)
{
	char e[160];
	mbedtls_strerror(rc, e, sizeof(e));
	snprintf(err, errlen, "%s %s: %s", what, path, e);
	return -1;
}

/* The CRLs that T's chain gained since the last call came from FILE. 0, or -1 when out of memory. */
static int note_crl_file(struct tls_svc *t, const char *file)
{
	const mbedtls_x509_crl *c = t->ncrl_src ? t->crl_src[t->ncrl_src - 1].crl->next : &t->crl;
	for (; c && c->version; c = c->next) {
		struct tls_crl_src *n = realloc(t->crl_src, (size_t)(t->ncrl_src + 1) * sizeof(*n));
		if (!n)
			return -1;
		t->crl_src = n;
		if (!(n[t->ncrl_src].file = strdup(file)))
			return -1;
		n[t->ncrl_src++].crl = c;
	}
	return 0;
}

static long long unix_time(const mbedtls_x509_time *v)
{
	struct tm tm = { .tm_year = v->year - 1900, .tm_mon = v->mon - 1, .tm_mday = v->day,
			 .tm_hour = v->hour, .tm_min = v->min, .tm_sec = v->sec };
	return (long long)timegm(&tm);
}

int tls_svc_crl(const struct tls_svc *t, int nth, struct tls_crl_info *out)
{
	if (nth < 0 || nth >= t->ncrl_src)
		return -1;
	const mbedtls_x509_crl *c = t->crl_src[nth].crl;
	out->issuer[0] = '\0'; /* mbedtls_x509_dn_gets writes nothing for an empty name */
	if (mbedtls_x509_dn_gets(out->issuer, sizeof(out->issuer), &c->issuer) < 0)
		snprintf(out->issuer, sizeof(out->issuer), "?");
	out->file = t->crl_src[nth].file;
	out->next_update = c->next_update.year ? unix_time(&c->next_update) : 0;
	return 0;
}

/* CRLpath: every CRL in the directory, read when the configuration is loaded (stunnel looks up hashed
 * names such as 1a2b3c4d.r0 per handshake; mbedTLS has no lookup by hash, and reading them all at load
 * finds a broken CRL before it is needed). Files that are not CRLs (CApath and CRLpath are often the
 * same directory) are skipped; a PEM file that says it is a CRL must parse. */
static int load_crl_dir(struct tls_svc *t, const char *dir, char *err, size_t errlen)
{
	if (optfile_check_dir("CRLpath", dir, err, errlen) < 0)
		return -1;
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "CRLpath %s: %s", dir, strerror(errno));
		return -1;
	}
	int rc = 0;
	for (struct dirent *e; rc == 0 && (e = readdir(d));) {
		char path[4096];
		struct stat st;
		if (e->d_name[0] == '.' || snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path) ||
		    stat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CRL_MAX_BYTES)
			continue;
		FILE *f = fopen(path, "re");
		unsigned char *buf = f ? malloc((size_t)st.st_size + 1) : NULL;
		size_t len = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
		if (f)
			fclose(f);
		if (!buf)
			continue;
		buf[len] = '\0'; /* mbedTLS reads PEM up to the NUL it counts in the length */
		int pem = strstr((const char *)buf, "-----BEGIN X509 CRL-----") != NULL;
		mbedtls_x509_crl probe;
		mbedtls_x509_crl_init(&probe);
		int r = mbedtls_x509_crl_parse(&probe, buf, pem ? len + 1 : len), is_crl = r == 0;
		mbedtls_x509_crl_free(&probe);
		if (is_crl) { /* keep it */
			r = mbedtls_x509_crl_parse(&t->crl, buf, pem ? len + 1 : len);
			t->has_crl = 1;
			if (r == 0 && note_crl_file(t, path) < 0)
				r = MBEDTLS_ERR_X509_ALLOC_FAILED;
		}
		free(buf);
		if (r != 0 && (pem || is_crl)) /* said it was a CRL and is not one (or memory ran out) */
			rc = tls_mbed_fail(err, errlen, "CRLpath: CRL", path, r);
	}
	closedir(d);
	return rc;
}

static int load_ca(struct tls_svc *t, const struct cfg_service *s, char *err, size_t errlen)
{
	int rc;
	if (s->cafile) {
		if (optfile_check("CAfile", s->cafile, err, errlen) < 0)
			return -1;
		if ((rc = mbedtls_x509_crt_parse_file(&t->ca, s->cafile)) < 0)
			return tls_mbed_fail(err, errlen, "CAfile", s->cafile, rc);
		if (rc > 0 && t->ca.version == 0)
			return tls_mbed_fail(err, errlen, "CAfile", s->cafile, MBEDTLS_ERR_X509_INVALID_FORMAT);
		t->has_ca = 1;
	}
	if (s->capath) {
		if (optfile_check_dir("CApath", s->capath, err, errlen) < 0)
			return -1;
		if ((rc = mbedtls_x509_crt_parse_path(&t->ca, s->capath)) < 0)
			return tls_mbed_fail(err, errlen, "CApath", s->capath, rc);
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
		if (optfile_check("CRLfile", s->crlfile, err, errlen) < 0)
			return -1;
		if ((rc = mbedtls_x509_crl_parse_file(&t->crl, s->crlfile)) != 0)
			return tls_mbed_fail(err, errlen, "CRLfile", s->crlfile, rc);
		t->has_crl = 1;
		if (note_crl_file(t, s->crlfile) < 0)
			return tls_mbed_fail(err, errlen, "CRLfile", s->crlfile, MBEDTLS_ERR_X509_ALLOC_FAILED);
	}
	if (s->crlpath && load_crl_dir(t, s->crlpath, err, errlen) < 0)
		return -1;
	if ((s->verify_chain || s->verify_peer) && !t->has_ca) {
		snprintf(err, errlen, "verification needs CA certificates but CAfile/CApath hold none");
		return -1;
	}
	return 0;
}

#define KEY_MAX_BYTES (1 << 20) /* a larger key file is not read */

/* KEYPATH's bytes into a new buffer (NUL-terminated, *LEN without it), or NULL with ERR set. */
static unsigned char *read_key_file(const char *keypath, size_t *len, char *err, size_t errlen)
{
	FILE *f = optfile_open("key", keypath, err, errlen);
	if (!f)
		return NULL;
	unsigned char *buf = malloc(KEY_MAX_BYTES + 1);
	size_t n = buf ? fread(buf, 1, KEY_MAX_BYTES + 1, f) : 0;
	int bad = !buf || ferror(f) || n > KEY_MAX_BYTES;
	fclose(f);
	if (bad) {
		snprintf(err, errlen, "key %s: %s", keypath, !buf ? "out of memory" : n > KEY_MAX_BYTES ? "larger than 1 MiB"
										       : "read error");
		if (buf)
			mbedtls_platform_zeroize(buf, n);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The key in BUF (LEN bytes, NUL after them) into KEY; PW (may be NULL) decrypts it. An mbedTLS error code. */
static int parse_key(mbedtls_pk_context *key, const unsigned char *buf, size_t len, const char *pw)
{
	/* PEM is parsed up to the NUL mbedTLS counts in the length */
	size_t n = strstr((const char *)buf, "-----BEGIN ") ? len + 1 : len;
	return mbedtls_pk_parse_key(key, buf, n, (const unsigned char *)pw, pw ? strlen(pw) : 0, mbedtls_psa_get_random,
				    MBEDTLS_PSA_RANDOM_STATE);
}

/* A reload: PREV's key, typed at start, copied into T when its file still holds the same bytes (a key the
 * process holds anyway; the passphrase itself was never kept). 1 copied, 0 not PREV's, -1 failed. */
static int keep_typed_key(struct tls_svc *t, const struct tls_svc *prev, const char *keypath)
{
	if (!prev || !prev->key_typed || memcmp(prev->key_digest, t->key_digest, sizeof(t->key_digest)) != 0)
		return 0;
	unsigned char der[16384];
	int n = mbedtls_pk_write_key_der((mbedtls_pk_context *)&prev->own_key, der, sizeof(der));
	int rc = n > 0 ? mbedtls_pk_parse_key(&t->own_key, der + sizeof(der) - n, (size_t)n, NULL, 0,
					      mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE) : n;
	mbedtls_platform_zeroize(der, sizeof(der));
	if (rc != 0)
		return -1;
	t->key_typed = 1;
	log_notice("key %s: unchanged since its passphrase was typed: the loaded key is kept", keypath);
	return 1;
}

/* The key of S from KEYPATH into T, decrypted with its passphrase when it is encrypted. 0, or -1 with ERR set. */
static int load_key(struct tls_svc *t, const struct cfg_service *s, const char *keypath, const struct tls_svc *prev,
		    int prompt, char *err, size_t errlen)
{
	size_t len;
	unsigned char *buf = read_key_file(keypath, &len, err, errlen);
	if (!buf)
		return -1;
	int rc = parse_key(&t->own_key, buf, len, NULL);
	if (rc == MBEDTLS_ERR_PK_PASSWORD_REQUIRED) {
		mbedtls_pk_free(&t->own_key);
		mbedtls_pk_init(&t->own_key);
		mbedtls_sha256(buf, len, t->key_digest, 0);
		int kept = keep_typed_key(t, prev, keypath);
		if (kept != 0) {
			rc = kept < 0 ? MBEDTLS_ERR_PK_ALLOC_FAILED : 0;
			goto done;
		}
		char pw[KEYPASS_MAX];
		struct keypass_source from;
		if (keypass_get(s, keypath, prompt, pw, &from, err, errlen) < 0) {
			if (prev && prev->key_typed && !from.path[0])
				snprintf(err, errlen, "key %s is encrypted, its passphrase was typed at start and the file has "
						      "changed since: a reload cannot ask again (give keyPasswordFile, or restart)",
					 keypath);
			rc = -1;
			goto out;
		}
		mbedtls_pk_free(&t->own_key);
		mbedtls_pk_init(&t->own_key);
		rc = parse_key(&t->own_key, buf, len, pw);
		mbedtls_platform_zeroize(pw, sizeof(pw));
		t->key_typed = rc == 0 && !from.path[0];
		if (rc == 0 && from.path[0] && !(t->key_pass_path = strdup(from.path)))
			rc = MBEDTLS_ERR_PK_ALLOC_FAILED;
		if (rc == MBEDTLS_ERR_PK_PASSWORD_MISMATCH) {
			if (from.path[0])
				snprintf(err, errlen, "%s %s: wrong passphrase for key %s", from.what, from.path, keypath);
			else
				snprintf(err, errlen, "key %s: wrong passphrase", keypath);
			rc = -1;
			goto out;
		}
	}
done:
	if (rc != 0)
		tls_mbed_fail(err, errlen, "key", keypath, rc);
out:
	mbedtls_platform_zeroize(buf, len);
	free(buf);
	return rc == 0 ? 0 : -1;
}

static int load_own(struct tls_svc *t, const struct cfg_service *s, const struct tls_svc *prev, int prompt, char *err,
		    size_t errlen)
{
	int rc;
	const char *keypath = s->key ? s->key : s->cert; /* stunnel: the key may sit in the cert file */
	if (optfile_check("cert", s->cert, err, errlen) < 0)
		return -1;
	if ((rc = mbedtls_x509_crt_parse_file(&t->own_cert, s->cert)) != 0)
		return tls_mbed_fail(err, errlen, "cert", s->cert, rc < 0 ? rc : MBEDTLS_ERR_X509_INVALID_FORMAT);
	if (load_key(t, s, keypath, prev, prompt, err, errlen) < 0)
		return -1;
	if (mbedtls_pk_check_pair(&t->own_cert.pk, &t->own_key, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE)) {
		snprintf(err, errlen, "key %s does not match the certificate in %s", keypath, s->cert);
		return -1;
	}
	if ((rc = mbedtls_ssl_conf_own_cert(&t->conf, &t->own_cert, &t->own_key)) != 0)
		return tls_mbed_fail(err, errlen, "cert", s->cert, rc);
	return 0;
}

int tls_authmode(const struct cfg_service *s)
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

/* Server: the client named IDENTITY; its key becomes this handshake's PSK. */
static int psk_cb(void *data, mbedtls_ssl_context *ssl, const unsigned char *identity, size_t len)
{
	struct tls_svc *t = data;
	const struct psk_entry *e = psk_find(&t->psk, identity, len);
	if (!e)
		return MBEDTLS_ERR_SSL_UNKNOWN_IDENTITY;
	if (tls_current) {
		snprintf(tls_current->psk_identity, sizeof(tls_current->psk_identity), "%s", e->identity);
		/* this handshake is keyed by the PSK, not by the session a hook found earlier in the ClientHello
		 * (a TLS 1.3 ticket mbedTLS then refused for its age, a TLS 1.2 session ID with a suite it cannot
		 * resume): that session's kept chain must not stand for this client */
		if (tls_current->resumed == 1) {
			tls_current->resumed = 0;
			tls_peer_release(tls_current);
		}
	}
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
			return tls_mbed_fail(err, errlen, "PSKsecrets", s->psk_secrets, rc);
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
		mbedtls_ssl_set_hs_authmode(ssl, tls_authmode(sec->cfg));
		peer->svc = sec; /* verification and the verdict follow the secondary's settings */
		peer->route = r->owner;
		return 0;
	}
	return 0;
}

long long tls_svc_not_after(const struct tls_svc *t)
{
	return t->own_cert.version ? unix_time(&t->own_cert.valid_to) : 0;
}

int tls_svc_add_route(struct tls_svc *primary, const char *pattern, struct tls_svc *secondary, void *owner)
{
	struct tls_route *r = realloc(primary->routes, (size_t)(primary->nroutes + 1) * sizeof(*r));
	if (!r)
		return -1;
	primary->routes = r;
	r[primary->nroutes++] = (struct tls_route){ pattern, secondary, owner };
	mbedtls_ssl_conf_sni(&primary->conf, sni_cb, primary);
	/* a route that judges client certificates: the listener's sessions keep the clients' chains, so that a
	 * resumption through that route is judged again (tls_ident.c) */
	if (tls_authmode(secondary->cfg) != MBEDTLS_SSL_VERIFY_NONE && (primary->has_cache || primary->has_ticket))
		return tls_idents_setup(primary, primary->cfg);
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
			return tls_mbed_fail(err, errlen, "alpn", s->alpn, rc);
	}
	return 0;
}

/* options = NAME, and curves. */
static void conf_options(struct tls_svc *t, const struct cfg_service *s)
{
	unsigned o = s->ssl_options;
	if (o & SSLOPT_CLIENT_PREFERENCE)
		mbedtls_ssl_conf_preference_order(&t->conf, MBEDTLS_SSL_SRV_CIPHERSUITE_ORDER_CLIENT);
	if (o & SSLOPT_NO_EMS)
		mbedtls_ssl_conf_extended_master_secret(&t->conf, MBEDTLS_SSL_EXTENDED_MS_DISABLED);
	if (o & SSLOPT_NO_ETM)
		mbedtls_ssl_conf_encrypt_then_mac(&t->conf, MBEDTLS_SSL_ETM_DISABLED);
	if (o & SSLOPT_NO_CA_NAMES)
		mbedtls_ssl_conf_cert_req_ca_list(&t->conf, MBEDTLS_SSL_CERT_REQ_CA_LIST_DISABLED);
	int n = 0;
	if (s->curves) { /* checked when the configuration was read */
		char buf[512], *save = NULL;
		snprintf(buf, sizeof(buf), "%s", s->curves);
		for (char *tok = strtok_r(buf, ":", &save); tok && n < CFG_MAX_GROUPS; tok = strtok_r(NULL, ":", &save))
			t->groups[n++] = (uint16_t)cfg_parse_curve(tok);
	} else {
		/* mbedTLS's default groups (X25519 first). A server takes P-256 first: where the server chooses (TLS 1.2,
		 * and a HelloRetryRequest) mbedTLS's P-256 ECDHE costs half its X25519 (bench/crypto.sh). A TLS 1.3 server
		 * takes the client's first key share it knows, so an X25519-only client gets no HelloRetryRequest; a
		 * client keeps X25519 first, the share most servers take without a retry. */
		const uint16_t *def = t->conf.MBEDTLS_PRIVATE(group_list);
		if (!s->client)
			t->groups[n++] = CFG_GROUP_SECP256R1;
		for (size_t i = 0; def && def[i] && n < CFG_MAX_GROUPS; i++)
			if (s->client || def[i] != CFG_GROUP_SECP256R1)
				t->groups[n++] = def[i];
	}
	t->groups[n] = 0;
	mbedtls_ssl_conf_groups(&t->conf, t->groups);
}

/* Signature algorithms, RSA PKCS#1 v1.5 before RSA-PSS: mbedTLS 3.6.6 offers RSA-PSS in a ClientHello that
 * allows TLS 1.2 and 1.3, yet its TLS 1.2 client refuses a ServerKeyExchange signed with it (upstream
 * regression, Mbed-TLS/mbedtls#10668), so a TLS 1.2-only RSA server that follows the client's order
 * (OpenSSL, nginx, stunnel by default) must be steered to PKCS#1 v1.5. TLS 1.3 forbids PKCS#1 v1.5 in
 * handshake signatures, so there the server still picks RSA-PSS. */
static const uint16_t sig_algs[] = {
	MBEDTLS_TLS1_3_SIG_ECDSA_SECP256R1_SHA256, MBEDTLS_TLS1_3_SIG_ECDSA_SECP384R1_SHA384,
	MBEDTLS_TLS1_3_SIG_ECDSA_SECP521R1_SHA512, MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA256,
	MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA384, MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA512,
	MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA256, MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA384,
	MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA512, MBEDTLS_TLS1_3_SIG_NONE
};

int tls_svc_build(struct tls_svc *t, const struct cfg_service *s, const struct tls_svc *prev, int prompt, char *err,
		  size_t errlen)
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
	pthread_mutex_init(&t->saved_mu, NULL);
	t->cfg = s;

	rc = mbedtls_ssl_config_defaults(&t->conf, s->client ? MBEDTLS_SSL_IS_CLIENT : MBEDTLS_SSL_IS_SERVER,
					 MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc) {
		tls_mbed_fail(err, errlen, "TLS configuration", "defaults", rc);
		goto err0;
	}
	mbedtls_ssl_conf_rng(&t->conf, thread_rng, NULL);
	mbedtls_ssl_conf_min_tls_version(&t->conf, (mbedtls_ssl_protocol_version)s->tls_min);
	mbedtls_ssl_conf_max_tls_version(&t->conf, (mbedtls_ssl_protocol_version)s->tls_max);
	if (suites_build(s->ciphers, s->ciphersuites, t->suites, err, errlen) < 0)
		goto err0;
	if (!s->psk_secrets) { /* a PSK suite cannot be negotiated without keys: not listed, as with OpenSSL */
		int before = suites_count_tls12(t->suites);
		suites_drop_psk(t->suites);
		if (before && !suites_count_tls12(t->suites)) {
			snprintf(err, errlen, "ciphers: every suite '%s' selects needs PSKsecrets", s->ciphers);
			goto err0;
		}
	}
	mbedtls_ssl_conf_ciphersuites(&t->conf, t->suites);
	mbedtls_ssl_conf_authmode(&t->conf, tls_authmode(s));
	mbedtls_ssl_conf_sig_algs(&t->conf, sig_algs);
	conf_options(t, s);
	if (load_ca(t, s, err, errlen) < 0)
		goto err0;
	if (t->has_ca)
		mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, t->has_crl ? &t->crl : NULL);
	if (s->cert && load_own(t, s, prev, prompt, err, errlen) < 0)
		goto err0;
	if (load_rules(t, s, err, errlen) < 0)
		goto err0;
	if (tls_setup_sessions(t, s, err, errlen) < 0)
		goto err0;
	if (setup_psk(t, s, err, errlen) < 0)
		goto err0;
	if (seclevel_apply(t, s, err, errlen) < 0) /* of all set up above: before conf12 copies conf */
		goto err0;
	if (tls_idents_trust(t) < 0) {
		snprintf(err, errlen, "hashing the CAs: out of memory");
		goto err0;
	}
	if (!s->client) /* the client's server name: logged, passed on in PROXY v2, and routing (if any) */
		mbedtls_ssl_conf_sni(&t->conf, sni_cb, t);
	if (s->client && s->tls_min == CFG_TLS12 && s->tls_max == CFG_TLS13) {
		/* a shallow copy: what it points to is conf's, freed with conf */
		t->conf12 = t->conf;
		mbedtls_ssl_conf_max_tls_version(&t->conf12, MBEDTLS_SSL_VERSION_TLS1_2);
		t->has_conf12 = 1;
	}
	return 0;
err0:
	tls_svc_free(t);
	return -1;
}

void tls_svc_free(struct tls_svc *t)
{
	memset(&t->conf12, 0, sizeof(t->conf12)); /* an alias of conf's memory */
	t->has_conf12 = 0;
	mbedtls_ssl_config_free(&t->conf);
	mbedtls_x509_crt_free(&t->own_cert);
	mbedtls_pk_free(&t->own_key);
	mbedtls_x509_crt_free(&t->ca);
	mbedtls_x509_crl_free(&t->crl);
	for (int i = 0; i < t->ncrl_src; i++)
		free(t->crl_src[i].file);
	free(t->crl_src);
	t->crl_src = NULL;
	t->ncrl_src = 0;
	mbedtls_ssl_cache_free(&t->cache);
	tls_idents_free(t);
	mbedtls_ssl_ticket_free(&t->ticket);
	mbedtls_ssl_session_free(&t->saved);
	pthread_mutex_destroy(&t->saved_mu);
	mbedtls_platform_zeroize(t->ticket_key, sizeof(t->ticket_key));
	mbedtls_platform_zeroize(t->ticket_prev, sizeof(t->ticket_prev));
	free(t->key_pass_path);
	t->key_pass_path = NULL;
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

/* The TLS 1.3 downgrade mark in the server's random: a server that supports TLS 1.3 puts it there whenever it
 * negotiates TLS 1.2, and it is signed (TLS 1.2 ServerKeyExchange) before the handshake completes. */
static void note_server_random(void *ctx, mbedtls_ssl_key_export_type type, const unsigned char *secret,
			       size_t secret_len, const unsigned char client_random[32],
			       const unsigned char server_random[32], mbedtls_tls_prf_types prf)
{
	struct tls_peer *peer = ctx;
	static const unsigned char mark[8] = { 'D', 'O', 'W', 'N', 'G', 'R', 'D', 1 };
	if (type == MBEDTLS_SSL_KEY_EXPORT_TLS12_MASTER_SECRET)
		peer->tls13_mark = memcmp(server_random + 24, mark, sizeof(mark)) == 0;
}

int tls_needs_tls12_only(const mbedtls_ssl_context *ssl, const struct tls_svc *t, const struct tls_peer *peer, int rc)
{
	return t->has_conf12 && !peer->tls12_only && rc == MBEDTLS_ERR_SSL_ILLEGAL_PARAMETER &&
	       mbedtls_ssl_get_version_number(ssl) == MBEDTLS_SSL_VERSION_TLS1_2;
}

int tls_conn_setup(mbedtls_ssl_context *ssl, const struct tls_svc *t, struct tls_bio *bio, const char *sni,
		   struct tls_peer *peer, int tls12_only)
{
	peer->tls12_only = tls12_only && t->has_conf12;
	int rc = mbedtls_ssl_setup(ssl, peer->tls12_only ? &t->conf12 : &t->conf);
	if (rc)
		return rc;
	if (t->cfg->client)
		mbedtls_ssl_set_export_keys_cb(ssl, note_server_random, peer);
	mbedtls_ssl_set_bio(ssl, bio, bio_send, bio_recv, NULL);
	mbedtls_ssl_set_user_data_p(ssl, peer);
	peer->home = peer->svc = t;
	mbedtls_ssl_set_verify(ssl, tls_verify_cb, peer);
	if (t->cfg->client)
		rc = mbedtls_ssl_set_hostname(ssl, sni && *sni && !match_is_ip(sni) ? sni : NULL);
	if (rc == 0 && t->cfg->client)
		peer->offered = tls_session_offer(ssl, (struct tls_svc *)t);
	return rc;
}

/* A server's hooks found the session the client offered (and its kept chain): did the handshake resume it? Not
 * always: mbedTLS makes a full handshake when it cannot use a TLS 1.3 ticket (its age, the key exchange
 * modes) or a TLS 1.2 cache entry (another suite). A full handshake asked for a certificate: one the client
 * presented ran the verify callback; none left the result "missing"; and in TLS 1.3 only a resumption leaves
 * no certificate with a clean result (mbedTLS sets it so when it skips the certificate messages). */
static int server_resumed(const mbedtls_ssl_context *ssl, const struct tls_peer *peer)
{
	uint32_t vr = mbedtls_ssl_get_verify_result(ssl);
	if (peer->verified || (vr & MBEDTLS_X509_BADCERT_MISSING) || !peer->kept)
		return 0;
	if (mbedtls_ssl_get_version_number(ssl) == MBEDTLS_SSL_VERSION_TLS1_3)
		return mbedtls_ssl_get_peer_cert(ssl) == NULL && vr == 0;
	return 1;
}

int tls_handshake(mbedtls_ssl_context *ssl, struct tls_peer *peer)
{
	const struct tls_svc *t = peer->home;
	tls_current = peer; /* the hooks note into this connection */
	int rc = mbedtls_ssl_handshake(ssl);
	tls_current = NULL;
	if (rc != 0)
		return rc;
	if (!t->cfg->client && peer->resumed == 1 && t->idents && !server_resumed(ssl, peer)) {
		peer->resumed = 0;
		tls_peer_release(peer);
	}
	if (t->cfg->client) {
		/* resumption skips certificate verification: no callback after an offered session means resumed */
		if (!peer->offered)
			peer->resumed = 0;
		else if (tls_authmode(t->cfg) == MBEDTLS_SSL_VERIFY_NONE)
			peer->resumed = -1;
		else
			peer->resumed = !peer->verified;
	}
	return 0;
}
