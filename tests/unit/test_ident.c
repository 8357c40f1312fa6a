/* Unit tests for src/tls_ident.c: the client certificates kept beside sessions (keys per TLS version, the
 * chain of a resumption carried to its new ticket, eviction, expiry, sharing across a reload, and bad
 * encodings refused). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/x509_crt.h>

#include "tls_int.h"

static const char CERT_PEM[] = "-----BEGIN CERTIFICATE-----\n"
			       "MIIBfzCCASWgAwIBAgIUZdgEpNHm25Lor65gMvtSL7ZT7cAwCgYIKoZIzj0EAwIw\n"
			       "FTETMBEGA1UEAwwKdW5pdC1pZGVudDAeFw0yNjEyMDMxMzM0MDlaFw0zNjExMzAx\n"
			       "MzM0MDlaMBUxEzARBgNVBAMMCnVuaXQtaWRlbnQwWTATBgcqhkjOPQIBBggqhkjO\n"
			       "PQMBBwNCAAQA4vySTshVqc2WnGQ4TF7s/ayxZcv6K446sJ0vNOsLX0T7rhPkkY3r\n"
			       "T2fZZIuSAC6a3WbpdPHvYq/sycweZ5mno1MwUTAdBgNVHQ4EFgQU2Uf3oJrPfeYJ\n"
			       "HeegxHvEDjOA8ccwHwYDVR0jBBgwFoAU2Uf3oJrPfeYJHeegxHvEDjOA8ccwDwYD\n"
			       "VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiAlE4xLusO8fDrrqLoQQFfX\n"
			       "nn/tFz90yqT/qivWugr71wIhAJCHCsykeXe4PZxEqh5JIbgw6G1uwDhaMeuULyGA\n"
			       "Tf8Q\n"
			       "-----END CERTIFICATE-----\n";

static struct tls_svc T, T2;
static struct cfg_service S;
static mbedtls_x509_crt chain; /* two certificates (the same one twice: a leaf and an "intermediate") */
static struct tls_peer peer;

static void setup(void)
{
	memset(&T, 0, sizeof(T));
	memset(&T2, 0, sizeof(T2));
	memset(&S, 0, sizeof(S));
	memset(&peer, 0, sizeof(peer));
	S.session_cache_size = 2;
	S.session_cache_timeout = 300;
	ck_assert_int_eq(tls_idents_setup(&T, &S), 0);
	mbedtls_x509_crt_init(&chain);
	ck_assert_int_eq(mbedtls_x509_crt_parse(&chain, (const unsigned char *)CERT_PEM, sizeof(CERT_PEM)), 0);
	ck_assert_int_eq(mbedtls_x509_crt_parse(&chain, (const unsigned char *)CERT_PEM, sizeof(CERT_PEM)), 0);
	tls_current = NULL;
}

static void teardown(void)
{
	tls_current = NULL;
	tls_peer_release(&peer);
	tls_idents_free(&T);
	tls_idents_free(&T2);
	mbedtls_x509_crt_free(&chain);
}

/* A session of VERSION (0x12 or 0x13) whose secret is SECRET repeated, with CHAIN as its peer's or none. */
static void session(mbedtls_ssl_session *s, int version, unsigned char secret, mbedtls_x509_crt *crt)
{
	mbedtls_ssl_session_init(s);
	if (version == 0x13) {
		s->MBEDTLS_PRIVATE(tls_version) = MBEDTLS_SSL_VERSION_TLS1_3;
		s->MBEDTLS_PRIVATE(resumption_key_len) = 32;
		memset(s->MBEDTLS_PRIVATE(resumption_key), secret, 32);
	} else {
		s->MBEDTLS_PRIVATE(tls_version) = MBEDTLS_SSL_VERSION_TLS1_2;
	}
	memset(s->MBEDTLS_PRIVATE(master), secret, sizeof(s->MBEDTLS_PRIVATE(master)));
	s->MBEDTLS_PRIVATE(peer_cert) = crt;
}

/* Look SESSION up in TS as a handshake would: 0 and the chain in peer.kept, or -1. */
static int lookup(struct tls_svc *ts, int version, unsigned char secret)
{
	mbedtls_ssl_session s;
	session(&s, version, secret, NULL);
	tls_peer_release(&peer);
	tls_current = &peer;
	int rc = tls_idents_get(ts, &s);
	tls_current = NULL;
	return rc;
}

static void put(struct tls_svc *ts, int version, unsigned char secret, mbedtls_x509_crt *crt)
{
	mbedtls_ssl_session s;
	session(&s, version, secret, crt);
	tls_idents_put(ts, &s);
}

/* The kept chain parses back to CHAIN's two certificates. */
static void kept_is_chain(void)
{
	mbedtls_x509_crt back;
	mbedtls_x509_crt_init(&back);
	ck_assert_int_eq(tls_idents_parse(peer.kept, peer.kept_len, &back), 0);
	ck_assert_uint_eq(back.raw.len, chain.raw.len);
	ck_assert(memcmp(back.raw.p, chain.raw.p, chain.raw.len) == 0);
	ck_assert_ptr_nonnull(back.next);
	ck_assert_ptr_null(back.next->next);
	mbedtls_x509_crt_free(&back);
}

START_TEST(kept_and_found_per_version)
{
	put(&T, 0x12, 1, &chain);
	put(&T, 0x13, 2, &chain);
	ck_assert_uint_eq(tls_idents_count(&T), 2);
	ck_assert_int_eq(lookup(&T, 0x12, 1), 0);
	kept_is_chain();
	ck_assert_int_eq(lookup(&T, 0x13, 2), 0);
	kept_is_chain();
	/* the other version's key, or another secret: not found */
	ck_assert_int_eq(lookup(&T, 0x13, 1), -1);
	ck_assert_ptr_null(peer.kept);
	ck_assert_int_eq(lookup(&T, 0x12, 2), -1);
	ck_assert_int_eq(lookup(&T, 0x12, 3), -1);
}
END_TEST

START_TEST(no_certificate_nothing_kept)
{
	put(&T, 0x13, 1, NULL);
	ck_assert_uint_eq(tls_idents_count(&T), 0);
	ck_assert_int_eq(lookup(&T, 0x13, 1), -1);
}
END_TEST

/* A TLS 1.3 resumption issues a new ticket: its session has no certificate; the chain the connection resumed
 * with is kept under the new ticket's key. */
START_TEST(resumption_keeps_its_chain_for_the_new_ticket)
{
	put(&T, 0x13, 1, &chain);
	ck_assert_int_eq(lookup(&T, 0x13, 1), 0);
	tls_current = &peer;
	put(&T, 0x13, 9, NULL);
	tls_current = NULL;
	ck_assert_int_eq(lookup(&T, 0x13, 9), 0);
	kept_is_chain();
}
END_TEST

START_TEST(oldest_evicted_at_the_limit)
{
	put(&T, 0x13, 1, &chain);
	put(&T, 0x13, 2, &chain);
	put(&T, 0x13, 3, &chain);
	ck_assert_uint_eq(tls_idents_count(&T), 2);
	ck_assert_int_eq(lookup(&T, 0x13, 1), -1);
	ck_assert_int_eq(lookup(&T, 0x13, 2), 0);
	ck_assert_int_eq(lookup(&T, 0x13, 3), 0);
	/* the same key again replaces its entry rather than adding one */
	put(&T, 0x13, 3, &chain);
	ck_assert_uint_eq(tls_idents_count(&T), 2);
	ck_assert_int_eq(lookup(&T, 0x13, 2), 0);
}
END_TEST

START_TEST(expired_entries_not_found)
{
	tls_idents_free(&T);
	S.session_cache_timeout = 0; /* every entry expires at once */
	ck_assert_int_eq(tls_idents_setup(&T, &S), 0);
	put(&T, 0x12, 1, &chain);
	ck_assert_int_eq(lookup(&T, 0x12, 1), -1);
	ck_assert_uint_eq(tls_idents_count(&T), 0);
}
END_TEST

/* A reload: the new service takes the old one's store; both see the same entries until the old one goes. */
START_TEST(shared_across_a_reload)
{
	ck_assert_int_eq(tls_idents_setup(&T2, &S), 0);
	put(&T, 0x13, 1, &chain);
	tls_svc_share_idents(&T2, &T);
	ck_assert_ptr_eq(T2.idents, T.idents);
	ck_assert_int_eq(lookup(&T2, 0x13, 1), 0);
	put(&T2, 0x13, 2, &chain);
	ck_assert_int_eq(lookup(&T, 0x13, 2), 0);
	tls_idents_free(&T); /* the old generation goes: the store stays with the new one */
	ck_assert_int_eq(lookup(&T2, 0x13, 1), 0);
	/* a service that keeps nothing takes nothing */
	struct tls_svc plain;
	memset(&plain, 0, sizeof(plain));
	tls_svc_share_idents(&plain, &T2);
	ck_assert_ptr_null(plain.idents);
}
END_TEST

START_TEST(bad_encodings_refused)
{
	unsigned char der[600];
	mbedtls_x509_crt c;
	size_t n = chain.raw.len;
	der[0] = 0, der[1] = 0, der[2] = (unsigned char)(n >> 8), der[3] = (unsigned char)n;
	memcpy(der + 4, chain.raw.p, n);
	mbedtls_x509_crt_init(&c);
	ck_assert_int_eq(tls_idents_parse(der, n + 4, &c), 0); /* the good one */
	mbedtls_x509_crt_free(&c);
	const struct {
		size_t len;
		const char *why;
	} cut[] = { { 0, "empty" }, { 3, "a length cut short" }, { 4, "a length with no certificate" },
		    { n + 3, "a certificate cut short" }, { n + 6, "trailing bytes" } };
	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		mbedtls_x509_crt_init(&c);
		ck_assert_msg(tls_idents_parse(der, cut[i].len, &c) == -1, "%s accepted", cut[i].why);
		mbedtls_x509_crt_free(&c);
	}
	der[3] = (unsigned char)(n + 100); /* longer than what follows */
	mbedtls_x509_crt_init(&c);
	ck_assert_int_eq(tls_idents_parse(der, n + 4, &c), -1);
	mbedtls_x509_crt_free(&c);
	der[3] = (unsigned char)n;
	der[10] ^= 0xff; /* not DER any more */
	mbedtls_x509_crt_init(&c);
	ck_assert_int_eq(tls_idents_parse(der, n + 4, &c), -1);
	mbedtls_x509_crt_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ident");
	TCase *tc = tcase_create("store");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, kept_and_found_per_version);
	tcase_add_test(tc, no_certificate_nothing_kept);
	tcase_add_test(tc, resumption_keeps_its_chain_for_the_new_ticket);
	tcase_add_test(tc, oldest_evicted_at_the_limit);
	tcase_add_test(tc, expired_entries_not_found);
	tcase_add_test(tc, shared_across_a_reload);
	tcase_add_test(tc, bad_encodings_refused);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
