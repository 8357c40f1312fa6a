/* Resumption: the server's session cache and tickets (with ticketKeyFile, shared between instances),
 * and the client's one saved session per service, kept only after the peer was accepted. */
#include "tls_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/psa_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/threading.h>

#include "optfile.h"
#include "sslopt.h"

/* The session cache and ticket hooks tell the connection whose handshake is running that its session was
 * found, which mbedTLS has no public way to say. On a service that judges client certificates they also keep
 * the client's chain beside each session and hand it to the connection that resumes it (tls_ident.c); a
 * session whose chain is not kept is not resumed (as if unknown or expired: the client makes a full
 * handshake). */
static int cache_get_cb(void *data, unsigned char const *id, size_t len, mbedtls_ssl_session *session)
{
	struct tls_svc *t = data;
	int rc = mbedtls_ssl_cache_get(&t->cache, id, len, session);
	if (rc == 0 && t->idents && tls_idents_get(t, session) < 0)
		rc = MBEDTLS_ERR_SSL_CACHE_ENTRY_NOT_FOUND;
	if (rc == 0 && tls_current)
		tls_current->resumed = 1;
	return rc;
}

static int cache_set_cb(void *data, unsigned char const *id, size_t len, const mbedtls_ssl_session *session)
{
	struct tls_svc *t = data;
	int rc = mbedtls_ssl_cache_set(&t->cache, id, len, session);
	if (rc == 0 && t->idents)
		tls_idents_put(t, session);
	return rc;
}

static int ticket_parse_cb(void *data, mbedtls_ssl_session *session, unsigned char *buf, size_t len)
{
	struct tls_svc *t = data;
	int rc = mbedtls_ssl_ticket_parse(&t->ticket, session, buf, len);
	if (rc == 0 && t->idents && tls_idents_get(t, session) < 0)
		rc = MBEDTLS_ERR_SSL_SESSION_TICKET_EXPIRED; /* mbedTLS then ignores the ticket */
	if (rc == 0 && tls_current)
		tls_current->resumed = 1;
	return rc;
}

static int ticket_write_cb(void *data, const mbedtls_ssl_session *session, unsigned char *start,
			   const unsigned char *end, size_t *tlen, uint32_t *lifetime)
{
	struct tls_svc *t = data;
	int rc = mbedtls_ssl_ticket_write(&t->ticket, session, start, end, tlen, lifetime);
	if (rc == 0 && t->idents)
		tls_idents_put(t, session);
	return rc;
}

/* One line of ticketKeyFile: base64 of at least 36 bytes, of which the first 36 are the key. 0, or -1. */
static int decode_ticket_key(const char *line, size_t len, unsigned char out[36])
{
	unsigned char key[384];
	size_t n = 0;
	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	int rc = mbedtls_base64_decode(key, sizeof(key), &n, (const unsigned char *)line, len);
	if (rc == 0 && n >= 36)
		memcpy(out, key, 36);
	mbedtls_platform_zeroize(key, sizeof(key));
	return rc == 0 && n >= 36 ? 0 : -1;
}

/* ticketKeyFile: base64 of at least 36 random bytes (4-byte key name, 32-byte AES-256 key), e.g.
 * `openssl rand -base64 48`; the same file on several instances lets them resume each other's sessions.
 * A second line holds the previous key while the fleet rotates: the first issues tickets, the second's
 * are still accepted until they expire. */
static int load_ticket_key(struct tls_svc *t, const char *path, int lifetime, char *err, size_t errlen)
{
	char text[512];
	struct stat st;
	FILE *f = optfile_open("ticketKeyFile", path, err, errlen);
	if (!f)
		return -1;
	size_t len = fread(text, 1, sizeof(text), f); /* one byte more than is taken: a longer file is refused, not cut */
	int bad_mode = fstat(fileno(f), &st) == 0 && (st.st_mode & S_IROTH);
	fclose(f);
	if (bad_mode) {
		mbedtls_platform_zeroize(text, sizeof(text));
		snprintf(err, errlen, "ticketKeyFile %s is readable by others (chmod o-r)", path);
		return -1;
	}
	if (len == sizeof(text)) {
		mbedtls_platform_zeroize(text, sizeof(text));
		snprintf(err, errlen, "ticketKeyFile %s: longer than %zu bytes (expected base64 of at least 36 bytes: "
			 "openssl rand -base64 48)", path, sizeof(text) - 1);
		return -1;
	}
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		len--;
	const char *nl = memchr(text, '\n', len);
	size_t len1 = nl ? (size_t)(nl - text) : len;
	const char *prev = nl ? nl + 1 : NULL;
	size_t len2 = nl ? len - len1 - 1 : 0;
	int bad = 0;
	if (prev && memchr(prev, '\n', len2))
		bad = 3;
	else if (decode_ticket_key(text, len1, t->ticket_key) < 0)
		bad = 1;
	else if (prev && decode_ticket_key(prev, len2, t->ticket_prev) < 0)
		bad = 2;
	mbedtls_platform_zeroize(text, sizeof(text));
	if (bad == 3) {
		snprintf(err, errlen, "ticketKeyFile %s: more than two lines (expected the key, then at most the "
			 "previous key, one base64 line each)", path);
		return -1;
	}
	if (bad) {
		snprintf(err, errlen, "ticketKeyFile %s%s: expected base64 of at least 36 bytes (openssl rand -base64 48)",
			 path, !prev ? "" : bad == 1 ? " line 1 (the key)" : " line 2 (the previous key)");
		return -1;
	}
	if (prev && memcmp(t->ticket_key, t->ticket_prev, 4) == 0 &&
	    memcmp(t->ticket_key, t->ticket_prev, sizeof(t->ticket_key)) != 0) {
		snprintf(err, errlen, "ticketKeyFile %s: the two keys begin with the same 4 bytes (the key's name, "
			 "which tells them apart): make a new key", path);
		return -1;
	}
	t->has_ticket_key = 1;
	t->has_ticket_prev = prev != NULL;
	t->ticket_life = (uint32_t)lifetime;
	int rc = tls_svc_refresh_ticket_key(t);
	return rc ? tls_mbed_fail(err, errlen, "ticketKeyFile", path, rc) : 0;
}

/* stunnel's ticketKeySecret and ticketMacSecret (hex, checked when the configuration was read): OpenSSL's
 * ticket format keeps them apart, mbedTLS's AES-GCM tickets take one key, so both secrets are hashed
 * into the key and its name. Instances given the same two secrets resume each other's sessions (but
 * not stunnel's: the ticket formats differ). */
static int derive_ticket_key(struct tls_svc *t, const struct cfg_service *s, char *err, size_t errlen)
{
	unsigned char bin[64], digest[32];
	size_t n = 0;
	mbedtls_sha256_context h;
	mbedtls_sha256_init(&h);
	int rc = mbedtls_sha256_starts(&h, 0);
	const char *label = "tlswrap ticket key from ticketKeySecret and ticketMacSecret";
	rc = rc ? rc : mbedtls_sha256_update(&h, (const unsigned char *)label, strlen(label));
	for (int i = 0; i < 2 && rc == 0; i++) {
		n = 0;
		for (const char *p = i ? s->ticket_mac_secret : s->ticket_key_secret; *p && n < sizeof(bin); p++) {
			if (*p == ':')
				continue;
			unsigned hi = (unsigned)(p[0] <= '9' ? p[0] - '0' : (p[0] | 0x20) - 'a' + 10);
			unsigned lo = (unsigned)(p[1] <= '9' ? p[1] - '0' : (p[1] | 0x20) - 'a' + 10);
			bin[n++] = (unsigned char)(hi << 4 | lo);
			p++;
		}
		unsigned char len = (unsigned char)n; /* so that the two secrets cannot trade bytes */
		rc = mbedtls_sha256_update(&h, &len, 1);
		rc = rc ? rc : mbedtls_sha256_update(&h, bin, n);
	}
	rc = rc ? rc : mbedtls_sha256_finish(&h, digest);
	mbedtls_sha256_free(&h);
	mbedtls_platform_zeroize(bin, sizeof(bin));
	if (rc)
		return tls_mbed_fail(err, errlen, "ticketKeySecret", "hash", rc);
	/* the name only tells keys apart: the first bytes of the key's own hash, not of the key */
	unsigned char name[32];
	if ((rc = mbedtls_sha256(digest, sizeof(digest), name, 0)) != 0)
		return tls_mbed_fail(err, errlen, "ticketKeySecret", "hash", rc);
	memcpy(t->ticket_key, name, 4);
	memcpy(t->ticket_key + 4, digest, 32);
	mbedtls_platform_zeroize(digest, sizeof(digest));
	t->has_ticket_key = 1;
	t->ticket_life = (uint32_t)s->session_cache_timeout;
	rc = tls_svc_refresh_ticket_key(t);
	return rc ? tls_mbed_fail(err, errlen, "ticketKeySecret", "key", rc) : 0;
}

/* mbedTLS keeps two keys: a rotation replaces the inactive one and makes it active, the other still
 * decrypts. The previous key goes in first, then the key that issues. mbedTLS takes no lock in
 * mbedtls_ssl_ticket_rotate, and workers write and parse tickets meanwhile: the context's own lock is
 * held, so that no ticket is issued under the previous key between the two and no worker reads a key
 * as it is replaced. */
int tls_svc_refresh_ticket_key(struct tls_svc *t)
{
	if (!t->has_ticket_key)
		return 0;
	mbedtls_threading_mutex_t *mu = &t->ticket.MBEDTLS_PRIVATE(mutex);
	int rc = mbedtls_mutex_lock(mu);
	if (rc)
		return rc;
	if (t->has_ticket_prev)
		rc = mbedtls_ssl_ticket_rotate(&t->ticket, t->ticket_prev, 4, t->ticket_prev + 4, 32, t->ticket_life);
	if (rc == 0)
		rc = mbedtls_ssl_ticket_rotate(&t->ticket, t->ticket_key, 4, t->ticket_key + 4, 32, t->ticket_life);
	mbedtls_mutex_unlock(mu);
	return rc;
}

/* Server: resumption by session ID (TLS 1.2) and tickets (TLS 1.2 and 1.3). On services that ask for client
 * certificates, their chains are kept beside the sessions (tls_ident.c): mbedTLS skips verification on
 * resumption and keeps no client certificate in a TLS 1.3 ticket, and every resumption is judged again. */
int tls_setup_sessions(struct tls_svc *t, const struct cfg_service *s, char *err, size_t errlen)
{
	int tickets = s->session_resume && !(s->ssl_options & SSLOPT_NO_TICKET);
	if (s->client) {
		/* sessionResume = no: no session is ever offered (tls_conn_setup), so none need be kept */
		mbedtls_ssl_conf_session_tickets(&t->conf, tickets ? MBEDTLS_SSL_SESSION_TICKETS_ENABLED
								   : MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
		mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(
			&t->conf, tickets ? MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED
					  : MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_DISABLED);
		return 0;
	}
	if (!s->session_resume) {
		mbedtls_ssl_conf_new_session_tickets(&t->conf, 0);
		return 0;
	}
	if (tls_authmode(s) != MBEDTLS_SSL_VERIFY_NONE && tls_idents_setup(t, s) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
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
		return tls_mbed_fail(err, errlen, "session tickets", "setup", rc);
	t->has_ticket = 1;
	if (s->ticket_key_file && load_ticket_key(t, s->ticket_key_file, s->session_cache_timeout, err, errlen) < 0)
		return -1;
	if (s->ticket_key_secret && derive_ticket_key(t, s, err, errlen) < 0)
		return -1;
	if (tickets)
		mbedtls_ssl_conf_session_tickets_cb(&t->conf, ticket_write_cb, ticket_parse_cb, t);
	else
		mbedtls_ssl_conf_new_session_tickets(&t->conf, 0);
	return 0;
}

/* The saved session is shared by the workers: each copies it in or out under the lock (mbedTLS copies whole
 * sessions, so no connection keeps a pointer into it). */
static void tls_save_session(mbedtls_ssl_context *ssl, struct tls_svc *t)
{
	pthread_mutex_lock(&t->saved_mu);
	mbedtls_ssl_session_free(&t->saved);
	mbedtls_ssl_session_init(&t->saved);
	t->has_saved = mbedtls_ssl_get_session(ssl, &t->saved) == 0;
	pthread_mutex_unlock(&t->saved_mu);
}

int tls_session_offer(mbedtls_ssl_context *ssl, struct tls_svc *t)
{
	pthread_mutex_lock(&t->saved_mu);
	int offered = t->has_saved && mbedtls_ssl_set_session(ssl, &t->saved) == 0;
	pthread_mutex_unlock(&t->saved_mu);
	return offered;
}

void tls_session_forget(struct tls_svc *t)
{
	pthread_mutex_lock(&t->saved_mu);
	mbedtls_ssl_session_free(&t->saved);
	mbedtls_ssl_session_init(&t->saved);
	t->has_saved = 0;
	pthread_mutex_unlock(&t->saved_mu);
}

void tls_session_keep(mbedtls_ssl_context *ssl, struct tls_peer *peer)
{
	struct tls_svc *t = (struct tls_svc *)peer->home;
	peer->accepted = 1;
	if (peer->tls13_mark && t->cfg->tls_max == CFG_TLS13) {
		/* a TLS 1.2 session with a server that supports TLS 1.3, which this client may use: offering it would
		 * keep the next connection at TLS 1.2 (mbedTLS offers only the version of the session it resumes) */
		tls_session_forget(t);
		return;
	}
	if (t->cfg->client && t->cfg->session_resume && mbedtls_ssl_get_version_number(ssl) == MBEDTLS_SSL_VERSION_TLS1_2)
		tls_save_session(ssl, t);
}

void tls_session_ticket(mbedtls_ssl_context *ssl, struct tls_peer *peer)
{
	if (peer->accepted && ((struct tls_svc *)peer->home)->cfg->session_resume) /* never a refused peer's */
		tls_save_session(ssl, (struct tls_svc *)peer->home);
}
