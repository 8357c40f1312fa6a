/* Unit tests for src/ocsp.c: requests byte for byte as openssl ocsp writes them, and real responses from
 * openssl ocsp (tests/unit/ocsp_fixtures.sh) checked, then broken: truncated, lengths changed, OIDs
 * changed, signers not authorised, stale, nonce missing or wrong. */
#include <check.h>
#include <psa/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ocsp.h"
#include "ocsp_fixtures.h"

#define NOW (OCSP_FIXTURE_NOW + 60)
#define DER(a) (a), sizeof(a)

static mbedtls_x509_crt ca, server, rserver, userver;
static struct ocsp_certid id_server, id_rserver, id_userver;
static char err[256];
static struct ocsp_answer ans;

static void load(mbedtls_x509_crt *crt, const unsigned char *der, size_t len)
{
	mbedtls_x509_crt_init(crt);
	ck_assert_int_eq(mbedtls_x509_crt_parse_der(crt, der, len), 0);
}

static void setup(void)
{
	ck_assert_int_eq(psa_crypto_init(), PSA_SUCCESS);
	load(&ca, DER(fx_ca));
	load(&server, DER(fx_server));
	load(&rserver, DER(fx_rserver));
	load(&userver, DER(fx_userver));
	ck_assert_int_eq(ocsp_certid(&server, &ca, &id_server, err, sizeof(err)), 0);
	ck_assert_int_eq(ocsp_certid(&rserver, &ca, &id_rserver, err, sizeof(err)), 0);
	ck_assert_int_eq(ocsp_certid(&userver, &ca, &id_userver, err, sizeof(err)), 0);
}

static void teardown(void)
{
	mbedtls_x509_crt_free(&ca);
	mbedtls_x509_crt_free(&server);
	mbedtls_x509_crt_free(&rserver);
	mbedtls_x509_crt_free(&userver);
}

/* The nonce of openssl's request: the last 16 bytes (its nonce extension comes last). */
static const unsigned char *req_nonce(void)
{
	return fx_req_nonce + sizeof(fx_req_nonce) - OCSP_NONCE_LEN;
}

static int check(const unsigned char *der, size_t len, const struct ocsp_certid *id, const unsigned char *nonce,
		 time_t now)
{
	err[0] = '\0';
	return ocsp_check(der, len, id, &ca, nonce, nonce ? OCSP_NONCE_LEN : 0, now, &ans, err, sizeof(err));
}

START_TEST(request_as_openssl_writes_it)
{
	unsigned char buf[OCSP_MAX_REQUEST];
	int n = ocsp_request(&id_server, NULL, 0, buf, sizeof(buf));
	ck_assert_int_eq(n, sizeof(fx_req_plain));
	ck_assert(memcmp(buf, fx_req_plain, sizeof(fx_req_plain)) == 0);
	n = ocsp_request(&id_server, req_nonce(), OCSP_NONCE_LEN, buf, sizeof(buf));
	ck_assert_int_eq(n, sizeof(fx_req_nonce));
	ck_assert(memcmp(buf, fx_req_nonce, sizeof(fx_req_nonce)) == 0);
	/* every buffer too small is refused, never overrun */
	for (size_t size = 0; size < sizeof(fx_req_nonce); size++) {
		unsigned char *small = malloc(size ? size : 1);
		ck_assert_int_eq(ocsp_request(&id_server, req_nonce(), OCSP_NONCE_LEN, small, size), -1);
		free(small);
	}
}
END_TEST

START_TEST(good_signed_by_issuer_with_nonce)
{
	ck_assert_msg(check(DER(fx_good_ca), &id_server, req_nonce(), NOW) == 0, "%s", err);
	ck_assert_int_eq(ans.status, OCSP_GOOD);
	ck_assert(ans.this_update <= NOW && ans.next_update > NOW);
	ck_assert_int_eq(check(DER(fx_good_ca), &id_server, NULL, NOW), 0);
}
END_TEST

START_TEST(revoked_by_delegated_responder)
{
	ck_assert_msg(check(DER(fx_revoked_delegate), &id_rserver, NULL, NOW) == 0, "%s", err);
	ck_assert_int_eq(ans.status, OCSP_REVOKED);
	ck_assert_int_eq(ans.reason, 1);
	ck_assert_str_eq(ocsp_reason_str(ans.reason), "keyCompromise");
	ck_assert(ans.revoked_at > 0 && ans.revoked_at <= NOW);
}
END_TEST

START_TEST(unknown_responder_by_key)
{
	ck_assert_msg(check(DER(fx_unknown_bykey), &id_userver, NULL, NOW) == 0, "%s", err);
	ck_assert_int_eq(ans.status, OCSP_UNKNOWN);
	ck_assert_msg(check(DER(fx_good_bykey_nocerts), &id_server, NULL, NOW) == 0, "%s", err);
	ck_assert_int_eq(ans.status, OCSP_GOOD);
}
END_TEST

START_TEST(other_certificate_not_named)
{
	ck_assert_int_eq(check(DER(fx_good_ca), &id_rserver, NULL, NOW), -1);
	ck_assert_str_eq(err, "response does not name the certificate");
}
END_TEST

START_TEST(signers_not_authorised)
{
	ck_assert_int_eq(check(DER(fx_good_norole), &id_server, NULL, NOW), -1);
	ck_assert_msg(strstr(err, "did not authorise") != NULL, "%s", err);
	ck_assert_int_eq(check(DER(fx_good_other), &id_server, NULL, NOW), -1);
	ck_assert_msg(strstr(err, "did not authorise") != NULL, "%s", err);
	/* a delegated responder that does not send its certificate cannot be checked */
	ck_assert_int_eq(check(DER(fx_good_nocerts_delegate), &id_server, NULL, NOW), -1);
	ck_assert_str_eq(err, "response signed by neither the issuer nor a certificate it carries");
}
END_TEST

START_TEST(times)
{
	ck_assert_int_eq(check(DER(fx_good_nonext), &id_server, NULL, NOW), -1);
	ck_assert_str_eq(err, "stale response (no nextUpdate)");
	/* -ndays 1: good until a day and the skew allowance later, not after */
	ck_assert_int_eq(check(DER(fx_good_ca), &id_server, NULL, NOW + 86400 + OCSP_SKEW - 120), 0);
	ck_assert_int_eq(check(DER(fx_good_ca), &id_server, NULL, NOW + 86400 + OCSP_SKEW + 60), -1);
	ck_assert_str_eq(err, "stale response (nextUpdate has passed)");
	ck_assert_int_eq(check(DER(fx_good_ca), &id_server, NULL, OCSP_FIXTURE_NOW - OCSP_SKEW + 10), 0);
	ck_assert_int_eq(check(DER(fx_good_ca), &id_server, NULL, OCSP_FIXTURE_NOW - OCSP_SKEW - 60), -1);
	ck_assert_str_eq(err, "response not yet valid (thisUpdate in the future)");
}
END_TEST

START_TEST(nonce)
{
	unsigned char other[OCSP_NONCE_LEN];
	memcpy(other, req_nonce(), sizeof(other));
	other[3] ^= 1;
	ck_assert_int_eq(check(DER(fx_good_ca), &id_server, other, NOW), -1);
	ck_assert_str_eq(err, "nonce mismatch (a replayed response?)");
	ck_assert_int_eq(check(DER(fx_revoked_delegate), &id_rserver, other, NOW), -1);
	ck_assert_str_eq(err, "response carries no nonce");
}
END_TEST

START_TEST(responder_errors)
{
	static const unsigned char try_later[] = { 0x30, 0x03, 0x0a, 0x01, 0x03 };
	static const unsigned char unauthorized[] = { 0x30, 0x03, 0x0a, 0x01, 0x06 };
	static const unsigned char successful_empty[] = { 0x30, 0x03, 0x0a, 0x01, 0x00 };
	ck_assert_int_eq(check(DER(try_later), &id_server, NULL, NOW), -1);
	ck_assert_str_eq(err, "responder says tryLater");
	ck_assert_int_eq(check(DER(unauthorized), &id_server, NULL, NOW), -1);
	ck_assert_str_eq(err, "responder says unauthorized");
	ck_assert_int_eq(check(DER(successful_empty), &id_server, NULL, NOW), -1);
	ck_assert_str_eq(err, "malformed response: responseBytes");
	ck_assert_int_eq(check((const unsigned char *)"", 0, &id_server, NULL, NOW), -1);
	ck_assert_str_eq(err, "malformed response: not an OCSPResponse");
}
END_TEST

/* Every prefix of every response is refused (and read within its length: ASan watches the copy). */
START_TEST(truncated)
{
	static const struct { const unsigned char *der; size_t len; } all[] = {
		{ DER(fx_good_ca) }, { DER(fx_revoked_delegate) }, { DER(fx_unknown_bykey) }, { DER(fx_good_bykey_nocerts) }
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		for (size_t n = 0; n < all[i].len; n++) {
			unsigned char *copy = malloc(n ? n : 1);
			memcpy(copy, all[i].der, n);
			ck_assert_int_eq(ocsp_check(copy, n, &id_server, &ca, NULL, 0, NOW, &ans, err, sizeof(err)), -1);
			free(copy);
		}
	}
}
END_TEST

/* Each byte changed in turn (one bit of it): a length, a tag, an OID, a date, a signature. Nothing the signature covers
 * can change and pass; outside it (the signature's own encoding, the certificates) only what does not
 * change the meaning may (a tag's flip that still parses is refused by the signature check). */
START_TEST(every_byte_changed)
{
	size_t len = sizeof(fx_good_bykey_nocerts), passed = 0;
	unsigned char *copy = malloc(len);
	for (size_t i = 0; i < len; i++) { /* one bit of each byte (all eight would take a minute under ASan) */
		memcpy(copy, fx_good_bykey_nocerts, len);
		copy[i] ^= (unsigned char)(1 << (i % 8));
		if (ocsp_check(copy, len, &id_server, &ca, NULL, 0, NOW, &ans, err, sizeof(err)) == 0)
			passed++;
	}
	free(copy);
	ck_assert_uint_eq(passed, 0);
}
END_TEST

START_TEST(wrong_oids_and_lengths)
{
	unsigned char copy[sizeof(fx_good_ca)];
	/* responseType: id-pkix-ocsp-basic's last arc changed */
	static const unsigned char basic[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01 };
	memcpy(copy, fx_good_ca, sizeof(copy));
	unsigned char *at = memmem(copy, sizeof(copy), basic, sizeof(basic));
	ck_assert_ptr_nonnull(at);
	at[8] = 0x03;
	ck_assert_int_eq(check(DER(copy), &id_server, NULL, NOW), -1);
	ck_assert_str_eq(err, "response is not a basic OCSP response");
	/* the outer SEQUENCE's length one more, one less than the input */
	memcpy(copy, fx_good_ca, sizeof(copy));
	ck_assert_int_eq(copy[1], 0x82);
	copy[3]++;
	ck_assert_int_eq(check(DER(copy), &id_server, NULL, NOW), -1);
	copy[3] -= 2;
	ck_assert_int_eq(check(DER(copy), &id_server, NULL, NOW), -1);
	ck_assert_str_eq(err, "malformed response: not an OCSPResponse");
	/* the CertID's hash algorithm: SHA-1's OID changed (the signature would fail too; the CertID first) */
	static const unsigned char sha1[] = { 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a };
	memcpy(copy, fx_good_ca, sizeof(copy));
	at = memmem(copy, sizeof(copy), sha1, sizeof(sha1));
	ck_assert_ptr_nonnull(at);
	at[6] = 0x1b;
	ck_assert_int_eq(check(DER(copy), &id_server, NULL, NOW), -1);
}
END_TEST

START_TEST(certid_serial_limit)
{
	struct ocsp_certid id;
	mbedtls_x509_crt fake = server;
	fake.serial.len = OCSP_MAX_SERIAL + 1;
	ck_assert_int_eq(ocsp_certid(&fake, &ca, &id, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "certificate serial of 33 bytes (at most 32)");
}
END_TEST

START_TEST(issuer_found_by_signature)
{
	ck_assert(ocsp_issued_by(&server, &ca));
	ck_assert(!ocsp_issued_by(&ca, &server));
	ck_assert_ptr_eq(ocsp_find_issuer(&server, &ca), &ca);
	ck_assert_ptr_null(ocsp_find_issuer(&server, NULL));
	/* a certificate under the CA's name but with another key does not pass for it */
	mbedtls_x509_crt fake;
	load(&fake, DER(fx_ca));
	ck_assert_int_eq(mbedtls_x509_crt_parse_der(&fake, DER(fx_userver)), 0);
	mbedtls_x509_crt *second = fake.next;
	second->subject_raw = ca.subject_raw; /* same name, userver's key */
	ck_assert(!ocsp_issued_by(&server, second));
	mbedtls_x509_crt_free(&fake);
}
END_TEST

START_TEST(aia)
{
	char url[256];
	ck_assert_int_eq(ocsp_aia_url(&server, url, sizeof(url)), 1);
	ck_assert_str_eq(url, "http://ocsp.example.org:8080/aia");
	ck_assert_int_eq(ocsp_aia_url(&server, url, 32), -1); /* does not fit */
	ck_assert_int_eq(ocsp_aia_url(&ca, url, sizeof(url)), 0); /* no AIA */
	/* the extension cut short: malformed */
	mbedtls_x509_crt cut = server;
	cut.v3_ext.len -= 1;
	ck_assert_int_eq(ocsp_aia_url(&cut, url, sizeof(url)), -1);
}
END_TEST

START_TEST(words)
{
	ck_assert_str_eq(ocsp_status_str(OCSP_GOOD), "good");
	ck_assert_str_eq(ocsp_status_str(OCSP_REVOKED), "revoked");
	ck_assert_str_eq(ocsp_status_str(OCSP_UNKNOWN), "unknown");
	ck_assert_str_eq(ocsp_reason_str(-1), "unspecified");
	ck_assert_str_eq(ocsp_reason_str(4), "superseded");
	ck_assert_str_eq(ocsp_reason_str(11), "unspecified");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ocsp");
	TCase *tc = tcase_create("ocsp");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, request_as_openssl_writes_it);
	tcase_add_test(tc, good_signed_by_issuer_with_nonce);
	tcase_add_test(tc, revoked_by_delegated_responder);
	tcase_add_test(tc, unknown_responder_by_key);
	tcase_add_test(tc, other_certificate_not_named);
	tcase_add_test(tc, signers_not_authorised);
	tcase_add_test(tc, times);
	tcase_add_test(tc, nonce);
	tcase_add_test(tc, responder_errors);
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, every_byte_changed);
	tcase_add_test(tc, wrong_oids_and_lengths);
	tcase_add_test(tc, certid_serial_limit);
	tcase_add_test(tc, issuer_found_by_signature);
	tcase_add_test(tc, aia);
	tcase_add_test(tc, words);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
