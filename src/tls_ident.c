/* Resumption for services that judge client certificates: the certificate chain a client presented is kept
 * beside its session, so that a resumed session is judged again, on every resumption, as a full handshake
 * would be (chain, CRL, expiry, verifyPeer, names, allow rules, pins).
 *
 * mbedTLS keeps no client certificate in a TLS 1.3 ticket and only the leaf in a TLS 1.2 one, so the chain
 * is kept here, in memory, under a key derived from the session's secret: the TLS 1.2 master secret (the same
 * for every resumption of the session, by ID or ticket) or the TLS 1.3 resumption key (one per ticket). The
 * session cache and ticket hooks (tls_session.c) store an entry when mbedTLS stores or issues a session and
 * look it up when one is presented; without an entry (expired, evicted, another instance's ticket, a reload)
 * the session is not resumed and the client makes a full handshake. Entries live as long as the sessions
 * (sessionCacheTimeout), at most sessionCacheSize of them (or 1000), the oldest dropped first. A reload hands
 * the store to the service of the same name, so that sessions that survive it (ticketKeyFile) are judged by
 * the new configuration: a certificate revoked by the reloaded CRL is refused on resumption. */
#include "tls_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#define IDENT_CHAIN_MAX 65536 /* a longer chain is not kept: that client makes full handshakes */
#define IDENT_DEFAULT_MAX 1000

struct ident {
	struct ident *hnext;        /* the bucket's chain */
	struct ident *older, *newer; /* by age, for expiry and eviction */
	unsigned char key[32];
	unsigned char trust[32];    /* the trust its signatures were verified under (all zero: not verified) */
	time_t expires;
	size_t len;
	unsigned char der[];        /* each certificate: 4-byte big-endian length, then its DER */
};

struct tls_idents {
	atomic_int refs; /* the services sharing it (a reload's old and new generation) */
	pthread_mutex_t mu;
	struct ident **buckets;
	size_t nbuckets; /* a power of two */
	struct ident *oldest, *newest;
	size_t n, max;
	time_t lifetime;
};

int tls_idents_setup(struct tls_svc *t, const struct cfg_service *s)
{
	if (t->idents)
		return 0;
	struct tls_idents *st = calloc(1, sizeof(*st));
	if (!st)
		return -1;
	st->max = s->session_cache_size > 0 ? (size_t)s->session_cache_size : IDENT_DEFAULT_MAX;
	st->lifetime = s->session_cache_timeout;
	for (st->nbuckets = 64; st->nbuckets < st->max; st->nbuckets *= 2)
		;
	if (!(st->buckets = calloc(st->nbuckets, sizeof(*st->buckets)))) {
		free(st);
		return -1;
	}
	pthread_mutex_init(&st->mu, NULL);
	atomic_init(&st->refs, 1);
	t->idents = st;
	return 0;
}

static void ident_free(struct ident *e)
{
	mbedtls_platform_zeroize(e->key, sizeof(e->key));
	free(e);
}

void tls_idents_free(struct tls_svc *t)
{
	struct tls_idents *st = t->idents;
	t->idents = NULL;
	if (!st || atomic_fetch_sub(&st->refs, 1) > 1)
		return;
	for (struct ident *e = st->oldest, *next; e; e = next) {
		next = e->newer;
		ident_free(e);
	}
	free(st->buckets);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

void tls_svc_share_idents(struct tls_svc *to, struct tls_svc *from)
{
	struct tls_idents *st = from->idents;
	if (!st || !to->idents || to->idents == st)
		return;
	pthread_mutex_lock(&st->mu); /* the new configuration's limits, from now on */
	st->max = to->idents->max;
	st->lifetime = to->idents->lifetime;
	pthread_mutex_unlock(&st->mu);
	tls_idents_free(to);
	atomic_fetch_add(&st->refs, 1);
	to->idents = st;
}

/* The store's key for SESSION: a hash of the secret a resumption proves knowledge of. -1 when it has none. */
static int session_key(const mbedtls_ssl_session *session, unsigned char key[32])
{
	unsigned char buf[1 + 48 > 1 + MBEDTLS_SSL_TLS1_3_TICKET_RESUMPTION_KEY_LEN ? 1 + 48
										      : 1 + MBEDTLS_SSL_TLS1_3_TICKET_RESUMPTION_KEY_LEN];
	size_t len;
	if (session->MBEDTLS_PRIVATE(tls_version) == MBEDTLS_SSL_VERSION_TLS1_3) {
		len = session->MBEDTLS_PRIVATE(resumption_key_len);
		if (len == 0 || len > MBEDTLS_SSL_TLS1_3_TICKET_RESUMPTION_KEY_LEN)
			return -1;
		buf[0] = 0x13;
		memcpy(buf + 1, session->MBEDTLS_PRIVATE(resumption_key), len);
	} else {
		len = sizeof(session->MBEDTLS_PRIVATE(master));
		buf[0] = 0x12;
		memcpy(buf + 1, session->MBEDTLS_PRIVATE(master), len);
	}
	int rc = mbedtls_sha256(buf, len + 1, key, 0);
	mbedtls_platform_zeroize(buf, sizeof(buf));
	return rc ? -1 : 0;
}

static struct ident **bucket(struct tls_idents *st, const unsigned char key[32])
{
	uint32_t h = (uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16 | (uint32_t)key[3] << 24;
	return &st->buckets[h & (st->nbuckets - 1)];
}

/* Take E out of the bucket and age lists (it is the caller's to free). */
static void unlink_ident(struct tls_idents *st, struct ident *e)
{
	for (struct ident **p = bucket(st, e->key); *p; p = &(*p)->hnext)
		if (*p == e) {
			*p = e->hnext;
			break;
		}
	if (e->older)
		e->older->newer = e->newer;
	else
		st->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		st->newest = e->older;
	st->n--;
}

static struct ident *find(struct tls_idents *st, const unsigned char key[32])
{
	for (struct ident *e = *bucket(st, key); e; e = e->hnext)
		if (memcmp(e->key, key, sizeof(e->key)) == 0)
			return e;
	return NULL;
}

/* Drop what has expired (the oldest first: every entry lives as long). */
static void expire(struct tls_idents *st, time_t now)
{
	while (st->oldest && st->oldest->expires <= now) {
		struct ident *e = st->oldest;
		unlink_ident(st, e);
		ident_free(e);
	}
}

/* The chain to keep: the one this handshake resumed with (a TLS 1.3 resumption issues a new ticket), else the
 * one the client presented. Its encoded length in *LEN, written to OUT when OUT is not NULL. */
static size_t encode_chain(const mbedtls_ssl_session *session, const struct tls_peer *cur, unsigned char *out)
{
	if (cur && cur->kept) {
		if (out)
			memcpy(out, cur->kept, cur->kept_len);
		return cur->kept_len;
	}
	size_t n = 0;
	for (const mbedtls_x509_crt *c = session->MBEDTLS_PRIVATE(peer_cert); c && c->raw.len; c = c->next) {
		if (out) {
			out[n] = (unsigned char)(c->raw.len >> 24);
			out[n + 1] = (unsigned char)(c->raw.len >> 16);
			out[n + 2] = (unsigned char)(c->raw.len >> 8);
			out[n + 3] = (unsigned char)c->raw.len;
			memcpy(out + n + 4, c->raw.p, c->raw.len);
		}
		n += 4 + c->raw.len;
	}
	return n;
}

/* The trust E's chain was verified under: a resumption's, carried over; else that of the handshake that made
 * SESSION, when mbedTLS verified its chain with no fault (its flags less the name and verifyPeer ones, which are
 * tlswrap's own and judged on every resumption anyway), under the CAs of the route taken. */
static void note_trust(struct ident *e, const mbedtls_ssl_session *session, const struct tls_peer *cur)
{
	memset(e->trust, 0, sizeof(e->trust));
	if (!cur)
		return;
	if (cur->kept) {
		memcpy(e->trust, cur->kept_trust, sizeof(e->trust));
		return;
	}
	uint32_t flags = session->MBEDTLS_PRIVATE(verify_result) &
			 ~(uint32_t)(MBEDTLS_X509_BADCERT_CN_MISMATCH | MBEDTLS_X509_BADCERT_OTHER);
	const struct tls_svc *ca_of = cur->svc && cur->svc->has_ca ? cur->svc : cur->home;
	if (flags == 0 && ca_of && ca_of->has_ca)
		memcpy(e->trust, ca_of->trust, sizeof(e->trust));
}

int tls_idents_trust(struct tls_svc *t)
{
	mbedtls_sha256_context h;
	mbedtls_sha256_init(&h);
	int rc = mbedtls_sha256_starts(&h, 0);
	memset(&t->ca_from, 0, sizeof(t->ca_from));
	memset(&t->ca_to, 0, sizeof(t->ca_to));
	for (const mbedtls_x509_crt *c = t->has_ca ? &t->ca : NULL; c && rc == 0; c = c->next) {
		rc = mbedtls_sha256_update(&h, c->raw.p, c->raw.len);
		if (c == &t->ca || mbedtls_x509_time_cmp(&c->valid_from, &t->ca_from) > 0)
			t->ca_from = c->valid_from;
		if (c == &t->ca || mbedtls_x509_time_cmp(&c->valid_to, &t->ca_to) < 0)
			t->ca_to = c->valid_to;
	}
	for (const mbedtls_x509_crl *c = t->has_crl ? &t->crl : NULL; c && rc == 0; c = c->next)
		rc = mbedtls_sha256_update(&h, c->raw.p, c->raw.len);
	if (rc == 0) /* the profile is one of a static table: its address names the level */
		rc = mbedtls_sha256_update(&h, (const unsigned char *)&t->profile, sizeof(t->profile));
	if (rc == 0)
		rc = mbedtls_sha256_finish(&h, t->trust);
	mbedtls_sha256_free(&h);
	if (rc == 0 && t->has_ca)
		t->trust[0] |= 1; /* never all zero, which means "not verified" */
	return rc ? -1 : 0;
}

void tls_idents_put(struct tls_svc *t, const mbedtls_ssl_session *session)
{
	struct tls_idents *st = t->idents;
	unsigned char key[32];
	size_t len = encode_chain(session, tls_current, NULL);
	if (!st || len == 0 || len > IDENT_CHAIN_MAX || session_key(session, key) < 0)
		return; /* no certificate (requireCert = no): nothing to judge again, so the session will not resume */
	struct ident *e = malloc(sizeof(*e) + len);
	if (!e)
		return;
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, sizeof(key));
	mbedtls_platform_zeroize(key, sizeof(key));
	e->len = encode_chain(session, tls_current, e->der);
	note_trust(e, session, tls_current);
	if (tls_current) { /* so that a refused peer's chain can be dropped again (tls_idents_drop) */
		memcpy(tls_current->put_key, e->key, sizeof(e->key));
		tls_current->put_svc = t;
	}
	time_t now = time(NULL);
	pthread_mutex_lock(&st->mu);
	e->expires = now + st->lifetime; /* under the lock: a reload may change the lifetime */
	expire(st, now);
	struct ident *old = find(st, e->key);
	if (old) {
		unlink_ident(st, old);
		ident_free(old);
	}
	if (st->n >= st->max) {
		struct ident *gone = st->oldest;
		unlink_ident(st, gone);
		ident_free(gone);
	}
	struct ident **b = bucket(st, e->key);
	e->hnext = *b;
	*b = e;
	e->older = st->newest;
	if (st->newest)
		st->newest->newer = e;
	else
		st->oldest = e;
	st->newest = e;
	st->n++;
	pthread_mutex_unlock(&st->mu);
}

int tls_idents_get(struct tls_svc *t, const mbedtls_ssl_session *session)
{
	struct tls_idents *st = t->idents;
	struct tls_peer *cur = tls_current;
	unsigned char key[32];
	if (!st || !cur || session_key(session, key) < 0)
		return -1;
	pthread_mutex_lock(&st->mu);
	expire(st, time(NULL));
	const struct ident *e = find(st, key);
	unsigned char *copy = e ? malloc(e->len) : NULL;
	if (copy) {
		memcpy(copy, e->der, e->len);
		memcpy(cur->kept_trust, e->trust, sizeof(e->trust));
	}
	size_t len = e ? e->len : 0;
	pthread_mutex_unlock(&st->mu);
	mbedtls_platform_zeroize(key, sizeof(key));
	if (!copy)
		return -1;
	free(cur->kept); /* another identity the same ClientHello offered */
	cur->kept = copy;
	cur->kept_len = len;
	return 0;
}

void tls_idents_drop(struct tls_peer *peer)
{
	struct tls_idents *st = peer->put_svc ? peer->put_svc->idents : NULL;
	if (st) {
		pthread_mutex_lock(&st->mu);
		struct ident *e = find(st, peer->put_key);
		if (e) {
			unlink_ident(st, e);
			ident_free(e);
		}
		pthread_mutex_unlock(&st->mu);
	}
	mbedtls_platform_zeroize(peer->put_key, sizeof(peer->put_key));
	peer->put_svc = NULL;
}

int tls_idents_parse(const unsigned char *der, size_t len, mbedtls_x509_crt *chain)
{
	size_t off = 0;
	while (off + 4 <= len) {
		size_t n = (size_t)der[off] << 24 | (size_t)der[off + 1] << 16 | (size_t)der[off + 2] << 8 | der[off + 3];
		off += 4;
		if (n > len - off || mbedtls_x509_crt_parse_der(chain, der + off, n) != 0)
			return -1;
		off += n;
	}
	return off == len && chain->raw.len ? 0 : -1;
}

size_t tls_idents_count(const struct tls_svc *t)
{
	struct tls_idents *st = t->idents;
	if (!st)
		return 0;
	pthread_mutex_lock(&st->mu);
	size_t n = st->n;
	pthread_mutex_unlock(&st->mu);
	return n;
}
