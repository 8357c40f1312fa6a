/* Unit tests for src/suites.c: cipher suite names and the list handed to mbedTLS. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

#include "suites.h"

/* Sentinel in out[] so a test sees how far suites_build wrote. */
#define UNWRITTEN (-7)

static int out[SUITES_MAX + 1];
static char err[256];

static void reset(void)
{
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++)
		out[i] = UNWRITTEN;
	memset(err, 0, sizeof(err));
}

/* Number of suites before the terminating 0 (fails the test if there is none). */
static size_t count(void)
{
	size_t n = 0;
	while (n <= SUITES_MAX && out[n] != 0) {
		ck_assert_msg(out[n] != UNWRITTEN, "out[%zu] was never written (no 0 terminator)", n);
		n++;
	}
	ck_assert_msg(n <= SUITES_MAX, "no 0 terminator within SUITES_MAX + 1 entries");
	return n;
}

static int is_tls13(int id)
{
	return strncmp(mbedtls_ssl_get_ciphersuite_name(id), "TLS1-3-", 7) == 0;
}

/* Build and expect failure with a message containing REASON. */
static void expect_build_error(const char *tls12, const char *tls13, const char *reason)
{
	reset();
	int r = suites_build(tls12, tls13, out, err, sizeof(err));
	ck_assert_msg(r == -1, "suites_build('%s', '%s') succeeded, wanted '%s'", tls12 ? tls12 : "(null)",
		      tls13 ? tls13 : "(null)", reason);
	ck_assert_msg(strstr(err, reason) != NULL, "expected '%s' in '%s'", reason, err);
}

/* ---- suites_lookup --------------------------------------------------------------------------- */

START_TEST(lookup_mbedtls_names)
{
	ck_assert_int_eq(suites_lookup("TLS1-3-AES-128-GCM-SHA256"), MBEDTLS_TLS1_3_AES_128_GCM_SHA256);
	ck_assert_int_eq(suites_lookup("TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256"),
			 MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256);
}
END_TEST

START_TEST(lookup_iana_names)
{
	ck_assert_int_eq(suites_lookup("TLS_AES_256_GCM_SHA384"), MBEDTLS_TLS1_3_AES_256_GCM_SHA384);
	ck_assert_int_eq(suites_lookup("TLS_CHACHA20_POLY1305_SHA256"), MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256);
	ck_assert_int_eq(suites_lookup("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
			 MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
	ck_assert_int_eq(suites_lookup("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
			 MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256);
}
END_TEST

START_TEST(lookup_iana_tls13_names_ignore_case)
{
	ck_assert_int_eq(suites_lookup("tls_aes_128_gcm_sha256"), MBEDTLS_TLS1_3_AES_128_GCM_SHA256);
	ck_assert_int_eq(suites_lookup("Tls_Aes_256_Gcm_Sha384"), MBEDTLS_TLS1_3_AES_256_GCM_SHA384);
}
END_TEST

START_TEST(lookup_openssl_names)
{
	ck_assert_int_eq(suites_lookup("ECDHE-RSA-AES128-GCM-SHA256"), MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256);
	ck_assert_int_eq(suites_lookup("ECDHE-ECDSA-CHACHA20-POLY1305"),
			 MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256);
	ck_assert_int_eq(suites_lookup("ecdhe-ecdsa-aes256-gcm-sha384"),
			 MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384);
	/* CBC with SHA-1, PSK and CCM names, which follow no pattern a program could derive */
	ck_assert_int_eq(suites_lookup("ECDHE-RSA-AES128-SHA"), MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA);
	ck_assert_int_eq(suites_lookup("AES256-SHA"), MBEDTLS_TLS_RSA_WITH_AES_256_CBC_SHA);
	ck_assert_int_eq(suites_lookup("PSK-AES128-GCM-SHA256"), MBEDTLS_TLS_PSK_WITH_AES_128_GCM_SHA256);
	ck_assert_int_eq(suites_lookup("ECDHE-PSK-CHACHA20-POLY1305"),
			 MBEDTLS_TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256);
	ck_assert_int_eq(suites_lookup("PSK-AES128-CBC-SHA"), MBEDTLS_TLS_PSK_WITH_AES_128_CBC_SHA);
	ck_assert_int_eq(suites_lookup("ECDHE-ECDSA-AES128-CCM8"), MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
	ck_assert_int_eq(suites_lookup("ECDHE-ARIA128-GCM-SHA256"), MBEDTLS_TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256);
}
END_TEST

/* Suites mbedTLS does not have stay unknown under their OpenSSL names too. */
START_TEST(lookup_openssl_names_mbedtls_lacks)
{
	const char *bad[] = { "ECDHE-RSA-DES-CBC3-SHA", "DES-CBC3-SHA", "SRP-AES-128-CBC-SHA", "ADH-AES128-SHA",
			      "ECDHE-RSA-AES128-SHA " };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(suites_lookup(bad[i]) == 0, "'%s' should be unknown", bad[i]);
}
END_TEST

START_TEST(lookup_unknown)
{
	const char *bad[] = { "", "NOT-A-SUITE", "TLS_", "TLS_FOO_SHA256", "TLS_FOO_WITH_BAR", "HIGH", "AES128",
			      "TLS1-3-AES-128-GCM-SHA256 " };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(suites_lookup(bad[i]) == 0, "'%s' should be unknown, got 0x%04x", bad[i],
			      (unsigned)suites_lookup(bad[i]));
}
END_TEST

START_TEST(lookup_very_long_name)
{
	char name[300];
	memset(name, 'A', sizeof(name) - 1);
	memcpy(name, "TLS_", 4);
	name[sizeof(name) - 1] = '\0';
	ck_assert_int_eq(suites_lookup(name), 0);
}
END_TEST

/* ---- suites_build: defaults ------------------------------------------------------------------ */

START_TEST(build_defaults_nonempty)
{
	reset();
	ck_assert_msg(suites_build(NULL, NULL, out, err, sizeof(err)) == 0, "failed: %s", err);
	size_t n = count();
	ck_assert_uint_gt(n, 0);
	ck_assert_msg(is_tls13(out[0]), "first default is %s, not TLS 1.3", mbedtls_ssl_get_ciphersuite_name(out[0]));
}
END_TEST

START_TEST(build_defaults_tls13_first)
{
	reset();
	ck_assert_msg(suites_build(NULL, NULL, out, err, sizeof(err)) == 0, "failed: %s", err);
	size_t n = count(), i = 0;
	while (i < n && is_tls13(out[i]))
		i++;
	ck_assert_msg(i > 0 && i < n, "defaults should hold TLS 1.3 then TLS 1.2 suites (%zu of %zu are 1.3)", i, n);
	for (; i < n; i++)
		ck_assert_msg(!is_tls13(out[i]), "TLS 1.3 suite %s after a TLS 1.2 one",
			      mbedtls_ssl_get_ciphersuite_name(out[i]));
}
END_TEST

START_TEST(build_defaults_forward_secret_aead_only)
{
	reset();
	ck_assert_msg(suites_build(NULL, NULL, out, err, sizeof(err)) == 0, "failed: %s", err);
	size_t n = count();
	for (size_t i = 0; i < n; i++) {
		const char *name = mbedtls_ssl_get_ciphersuite_name(out[i]);
		if (is_tls13(out[i]))
			continue;
		ck_assert_msg(strncmp(name, "TLS-ECDHE-", 10) == 0 || strncmp(name, "TLS-DHE-", 8) == 0,
			      "default %s has no ephemeral key exchange (static RSA or PSK)", name);
		ck_assert_msg(strstr(name, "-CBC-") == NULL, "default %s is a CBC suite", name);
	}
}
END_TEST

/* ---- suites_build: lists --------------------------------------------------------------------- */

START_TEST(build_exact_lists_zero_terminated)
{
	reset();
	ck_assert_msg(suites_build("ECDHE-RSA-AES128-GCM-SHA256", "TLS1-3-AES-128-GCM-SHA256", out, err,
				   sizeof(err)) == 0,
		      "failed: %s", err);
	ck_assert_int_eq(out[0], MBEDTLS_TLS1_3_AES_128_GCM_SHA256);
	ck_assert_int_eq(out[1], MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256);
	ck_assert_int_eq(out[2], 0);
	ck_assert_int_eq(out[3], UNWRITTEN);
}
END_TEST

START_TEST(build_tls13_list_then_default_tls12)
{
	reset();
	ck_assert_msg(suites_build(NULL, "TLS_CHACHA20_POLY1305_SHA256", out, err, sizeof(err)) == 0, "failed: %s",
		      err);
	size_t n = count();
	ck_assert_int_eq(out[0], MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256);
	ck_assert_uint_gt(n, 1);
	for (size_t i = 1; i < n; i++)
		ck_assert_msg(!is_tls13(out[i]), "default TLS 1.3 suite %s added to an explicit ciphersuites list",
			      mbedtls_ssl_get_ciphersuite_name(out[i]));
}
END_TEST

START_TEST(build_default_tls13_then_tls12_list)
{
	reset();
	ck_assert_msg(suites_build("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", NULL, out, err, sizeof(err)) == 0,
		      "failed: %s", err);
	size_t n = count();
	ck_assert_uint_gt(n, 1);
	ck_assert_int_eq(out[n - 1], MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384);
	for (size_t i = 0; i < n - 1; i++)
		ck_assert_msg(is_tls13(out[i]), "default TLS 1.2 suite %s added to an explicit ciphers list",
			      mbedtls_ssl_get_ciphersuite_name(out[i]));
}
END_TEST

START_TEST(build_separators)
{
	reset();
	ck_assert_msg(suites_build("ECDHE-RSA-AES128-GCM-SHA256, ECDHE-RSA-AES256-GCM-SHA384 "
				   "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256:,ECDHE-ECDSA-CHACHA20-POLY1305",
				   "TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384,,TLS1-3-CHACHA20-POLY1305-SHA256", out,
				   err, sizeof(err)) == 0,
		      "failed: %s", err);
	static const int want[] = { MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
				    MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
				    MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
				    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
				    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
				    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
				    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
				    0 };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(out[i] == want[i], "out[%zu] = 0x%04x, want 0x%04x", i, (unsigned)out[i],
			      (unsigned)want[i]);
}
END_TEST

START_TEST(build_tls12_suite_in_tls13_list)
{
	expect_build_error(NULL, "TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256", "put it in 'ciphers'");
	ck_assert_msg(strstr(err, "ECDHE-RSA-AES128-GCM-SHA256") && strstr(err, "TLS 1.2"),
		      "message should name the suite and its version: '%s'", err);
}
END_TEST

START_TEST(build_tls13_suite_in_tls12_list)
{
	expect_build_error("ECDHE-RSA-AES128-GCM-SHA256:TLS1-3-AES-256-GCM-SHA384", NULL, "put it in 'ciphersuites'");
	ck_assert_msg(strstr(err, "TLS1-3-AES-256-GCM-SHA384") && strstr(err, "TLS 1.3"),
		      "message should name the suite and its version: '%s'", err);
}
END_TEST

START_TEST(build_openssl_expressions)
{
	expect_build_error("HIGH:!aNULL", NULL, "expressions are not supported");
	expect_build_error("ECDHE+AESGCM", NULL, "expressions are not supported");
	expect_build_error("DEFAULT", NULL, "expressions are not supported");
	expect_build_error("ECDHE-RSA-AES128-GCM-SHA256:@STRENGTH", NULL, "expressions are not supported");
	expect_build_error(NULL, "ALL", "expressions are not supported");
}
END_TEST

START_TEST(build_unknown_name)
{
	expect_build_error("ECDHE-RSA-AES128-GCM-SHA256:NO-SUCH-SUITE", NULL, "unknown cipher suite 'NO-SUCH-SUITE'");
	expect_build_error(NULL, "TLS_NO_SUCH_SUITE", "unknown cipher suite 'TLS_NO_SUCH_SUITE'");
}
END_TEST

START_TEST(build_empty_list)
{
	expect_build_error("", NULL, "empty cipher list");
	expect_build_error(NULL, "", "empty cipher list");
	expect_build_error(" , ::", NULL, "empty cipher list");
}
END_TEST

START_TEST(build_too_many)
{
	char list[SUITES_MAX * 32];
	list[0] = '\0';
	for (int i = 0; i <= SUITES_MAX; i++)
		strcat(list, "TLS1-3-AES-128-GCM-SHA256:");
	expect_build_error("ECDHE-RSA-AES128-GCM-SHA256", list, "more than 64 cipher suites");
}
END_TEST

START_TEST(build_list_too_long)
{
	char list[4096];
	memset(list, ':', sizeof(list) - 1);
	list[sizeof(list) - 1] = '\0';
	expect_build_error(list, NULL, "too long");
}
END_TEST

/* ---- regressions: bugs found in src/suites.c by these tests ---- */

START_TEST(bug_tab_separated_list)
{
	reset();
	ck_assert_msg(suites_build("ECDHE-RSA-AES128-GCM-SHA256\tECDHE-RSA-AES256-GCM-SHA384", NULL, out, err,
				   sizeof(err)) == 0,
		      "a tab should separate names as a space does: %s", err);
}
END_TEST

START_TEST(bug_iana_tls12_names_ignore_case)
{
	/* TLS 1.3 IANA names are matched without case; TLS 1.2 ones must be too */
	ck_assert_int_eq(suites_lookup("tls_ecdhe_rsa_with_aes_256_gcm_sha384"),
			 MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384);
}
END_TEST

static Suite *suites_suite(void)
{
	Suite *s = suite_create("suites");

	TCase *tc = tcase_create("lookup");
	tcase_add_test(tc, lookup_mbedtls_names);
	tcase_add_test(tc, lookup_iana_names);
	tcase_add_test(tc, lookup_iana_tls13_names_ignore_case);
	tcase_add_test(tc, lookup_openssl_names);
	tcase_add_test(tc, lookup_openssl_names_mbedtls_lacks);
	tcase_add_test(tc, lookup_unknown);
	tcase_add_test(tc, lookup_very_long_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("defaults");
	tcase_add_test(tc, build_defaults_nonempty);
	tcase_add_test(tc, build_defaults_tls13_first);
	tcase_add_test(tc, build_defaults_forward_secret_aead_only);
	suite_add_tcase(s, tc);

	tc = tcase_create("build");
	tcase_add_test(tc, build_exact_lists_zero_terminated);
	tcase_add_test(tc, build_tls13_list_then_default_tls12);
	tcase_add_test(tc, build_default_tls13_then_tls12_list);
	tcase_add_test(tc, build_separators);
	tcase_add_test(tc, build_tls12_suite_in_tls13_list);
	tcase_add_test(tc, build_tls13_suite_in_tls12_list);
	tcase_add_test(tc, build_openssl_expressions);
	tcase_add_test(tc, build_unknown_name);
	tcase_add_test(tc, build_empty_list);
	tcase_add_test(tc, build_too_many);
	tcase_add_test(tc, build_list_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("fixed_bugs");
	tcase_add_test(tc, bug_tab_separated_list);
	tcase_add_test(tc, bug_iana_tls12_names_ignore_case);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suites_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
