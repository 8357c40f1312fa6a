/* Unit tests for src/suites.c: cipher suite names and the list handed to mbedTLS. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

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

/* Build and expect failure with a message containing REASON, starting with the option at fault (the caller
 * finds the configuration line by it): 'ciphers: ' when only TLS12 is given, 'ciphersuites: ' when only TLS13. */
static void expect_build_error(const char *tls12, const char *tls13, const char *reason)
{
	reset();
	int r = suites_build(tls12, tls13, out, err, sizeof(err));
	ck_assert_msg(r == -1, "suites_build('%s', '%s') succeeded, wanted '%s'", tls12 ? tls12 : "(null)",
		      tls13 ? tls13 : "(null)", reason);
	ck_assert_msg(strstr(err, reason) != NULL, "expected '%s' in '%s'", reason, err);
	const char *option = tls12 && !tls13 ? "ciphers: " : tls13 && !tls12 ? "ciphersuites: " : NULL;
	if (option)
		ck_assert_msg(strncmp(err, option, strlen(option)) == 0, "'%s' should start with '%s'", err, option);
	else
		ck_assert_msg(strncmp(err, "ciphers: ", 9) == 0 || strncmp(err, "ciphersuites: ", 14) == 0,
			      "'%s' should start with the option name", err);
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

/* ChaCha20-Poly1305 leads each default list: mbedTLS seals and opens it faster than AES-GCM (bench/crypto.sh) */
START_TEST(build_defaults_chacha20_first)
{
	reset();
	ck_assert_msg(suites_build(NULL, NULL, out, err, sizeof(err)) == 0, "failed: %s", err);
	ck_assert_int_eq(out[0], MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256);
	size_t n = count(), first12 = 0;
	while (first12 < n && is_tls13(out[first12]))
		first12++;
	ck_assert_uint_lt(first12, n);
	ck_assert_int_eq(out[first12], MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256);
	ck_assert_int_eq(out[first12 + 1], MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384);
	ck_assert_int_eq(out[first12 + 3], MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256);
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

/* ciphersuites stays a list of names, as in OpenSSL */
START_TEST(build_keywords_in_ciphersuites)
{
	expect_build_error(NULL, "ALL", "'ALL': cipher keywords only work in 'ciphers'");
	expect_build_error(NULL, "TLS_AES_128_GCM_SHA256:!TLS_AES_256_GCM_SHA384", "keywords only work in 'ciphers'");
	expect_build_error(NULL, "DEFAULT", "keywords only work in 'ciphers'");
	expect_build_error(NULL, "HIGH", "keywords only work in 'ciphers'");
}
END_TEST

/* In `ciphers` a name nobody has selects nothing, as in OpenSSL; `ciphersuites` names only the five TLS 1.3
 * suites both libraries have, so an unknown name there is a typo. */
START_TEST(build_unknown_name)
{
	reset();
	ck_assert_msg(suites_build("ECDHE-RSA-AES128-GCM-SHA256:NO-SUCH-SUITE", "TLS_AES_128_GCM_SHA256", out, err,
				   sizeof(err)) == 0, "failed: %s", err);
	ck_assert_uint_eq(count(), 2);
	ck_assert_int_eq(out[1], MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256);
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
	char list[SUITES_MAX * 32], reason[64];
	list[0] = '\0';
	for (int i = 0; i <= SUITES_MAX; i++)
		strcat(list, "TLS_AES_128_GCM_SHA256:");
	snprintf(reason, sizeof(reason), "ciphersuites: more than %d cipher suites", SUITES_MAX);
	expect_build_error("ECDHE-RSA-AES128-GCM-SHA256", list, reason);
}
END_TEST

START_TEST(build_list_too_long)
{
	char list[9000];
	memset(list, ':', sizeof(list) - 1);
	list[sizeof(list) - 1] = '\0';
	expect_build_error(list, NULL, "too long");
	expect_build_error(NULL, list, "too long");
	for (size_t i = 0; i + 4 < sizeof(list); i += 4) /* a string that would select something */
		memcpy(list + i, "ALL:", 4);
	expect_build_error(list, NULL, "too long");
}
END_TEST

/* ---- suites_build: OpenSSL cipher strings, checked against OpenSSL itself ----------------------- */

/* Cipher strings whose result must equal OpenSSL's: the common ones, then one or more per keyword and operator,
 * and OpenSSL's quirks (DEFAULT+X, COMPLEMENTOFDEFAULT+HIGH, HIGH+FIPS, ...). */
static const char *const openssl_strings[] = {
	"HIGH:!aNULL:!MD5",
	"DEFAULT",
	"ALL",
	"PSK",
	"ECDHE+AESGCM",
	"EECDH+AESGCM:EDH+AESGCM",
	"HIGH:!aNULL:!MD5:!RC4",
	"ECDHE-RSA-AES128-GCM-SHA256:HIGH:!aNULL",
	"AES256+EECDH:AES256+EDH:!aNULL",
	"kECDHE:+AES128",
	"HIGH:@STRENGTH",
	"ALL:!kRSA:-AES128",
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
	"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384", /* Mozilla intermediate */
	"PSK:!aNULL",
	"HIGH:!aNULL:!MD5:!3DES:!CAMELLIA:!ARIA:!AESCCM",
	"DEFAULT:!PSK",
	"DEFAULT:!kRSA:!PSK:@STRENGTH",
	"DEFAULT:+CHACHA20",
	"DEFAULT+AES",
	"COMPLEMENTOFDEFAULT",
	"ALL:!COMPLEMENTOFDEFAULT",
	"ALL:COMPLEMENTOFALL",
	"eNULL:NULL:ALL",
	"COMPLEMENTOFDEFAULT+HIGH",
	"HIGH+COMPLEMENTOFDEFAULT",
	"HIGH+FIPS",
	"FIPS",
	"MEDIUM:LOW:HIGH",
	"ALL:-AES:AES128",
	"ALL:-ECDHE:ECDHE+AES256",
	"ALL:-ECDHE:-DHE:AESGCM:CHACHA20",
	"ALL:!ECDHE:ECDHE",
	"ALL:+kRSA:+PSK",
	"ALL:-PSK:+RSA:PSK",
	"DHE:ECDHE:-AESGCM:AESGCM",
	"kECDHE:-SHA1:-kDHE+AESGCM",
	"AES:+SHA1:@STRENGTH",
	"ALL:@STRENGTH",
	"ALL:+AES128:@STRENGTH:+SHA256",
	"AESGCM",
	"AESCCM",
	"AESCCM8",
	"AES128:AES256",
	"CHACHA20:AESGCM",
	"CAMELLIA:ARIA",
	"CAMELLIA128:CAMELLIA256:ARIA128:ARIA256:ARIAGCM",
	"CBC",
	"SHA1:SHA256:SHA384",
	"SHA:MD5",
	"TLSv1.2",
	"TLSv1.0:SSLv3",
	"TLSv1",
	"SSLv3+AES128",
	"AES128-SHA+SSLv3",
	"AES128-SHA+TLSv1.2",
	"ECDHE-ECDSA-AES128-GCM-SHA256+ECDSA",
	"ECDHE-ECDSA-AES128-GCM-SHA256+RSA:AES256-SHA",
	"kPSK:kDHEPSK:kRSAPSK:kECDHEPSK",
	"aPSK",
	"aRSA:aECDSA",
	"ECDSA+AES",
	"RSA",
	"kRSA",
	"DH",
	"ECDH:DHE",
	"kEDH+aRSA",
	"kEECDH:ADH:AECDH",
	"RC4:3DES:DES:IDEA:SEED:RC2:AES128",
	"aDSS:DSS:SRP:kGOST:aGOST:GOST89:GOST94:AES256",
	"kRSA+kECDHE",
	"ALL:!ALL",
	"ALL,!PSK AES128",
	"ALL;!PSK",
	"ALL!PSK",
	"SUITEB128",
	"SUITEB128ONLY",
	"SUITEB128C2",
	"SUITEB192",
	"ALL:@SECLEVEL=0",
	"DEFAULT:@SECLEVEL=2",
	"ALL:@SECLEVEL=3",
	"ALL:@SECLEVEL=4",
	"HIGH:@SECLEVEL=5",
	"@SECLEVEL=3:ALL:@SECLEVEL=1",
	/* names OpenSSL knows for suites mbedTLS lacks, and words neither knows: skipped by both */
	"HIGH:!aNULL:!DES-CBC3-SHA",
	"HIGH:!RC4-SHA",
	"HIGH:!NULL-SHA",
	"HIGH:!aNULL:!MD5:!DES-CBC3-SHA:!RC4-SHA:+EDH-RSA-DES-CBC3-SHA",
	"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:EDH-RSA-DES-CBC3-SHA",
	"ALL:-DES-CBC3-SHA:+RC4-MD5:-NULL-MD5",
	"HIGH:NOT-A-SUITE:!FOOBAR",
	"DES-CBC3-SHA+RSA:AES256-SHA",
	"AES128-SHA+FOOBAR:AES256-SHA",
	"high:AES128-SHA",
	"DES-CBC3-SHA",
	"DES-CBC3-SHA:RC4-SHA:EDH-RSA-DES-CBC3-SHA",
};

/* Whether this mbedTLS build has suite ID (the universe: OpenSSL lists only suites it names) */
static int mbedtls_offers(int id)
{
	for (const int *p = mbedtls_ssl_list_ciphersuites(); *p; p++)
		if (*p == id)
			return 1;
	return 0;
}

/* The TLS 1.2 suites `openssl ciphers -stdname` lists for STR that mbedTLS has, in OpenSSL's order, into IDS
 * (zero-terminated); returns how many, or -1 when OpenSSL refuses STR. -psk keeps the PSK suites,
 * -ciphersuites '' the TLS 1.3 ones out; -V prints each suite's number. OpenSSL applies @SECLEVEL when it
 * negotiates, so for those the list to compare with is what it would offer, -s. */
static int openssl_ciphers(const char *str, int *ids, size_t max)
{
	char cmd[1024], line[512];
	size_t n = 0;
	snprintf(cmd, sizeof(cmd), "openssl ciphers -psk -ciphersuites '' %s -stdname -V '%s' 2>/dev/null",
		 strstr(str, "@SECLEVEL") ? "-s" : "", str);
	FILE *f = popen(cmd, "r");
	ck_assert_msg(f != NULL, "cannot run openssl");
	while (fgets(line, sizeof(line), f)) {
		unsigned hi, lo;
		ck_assert_msg(sscanf(line, " 0x%x,0x%x", &hi, &lo) == 2, "unexpected openssl output '%s'", line);
		if (mbedtls_offers((int)(hi << 8 | lo)) && n < max - 1)
			ids[n++] = (int)(hi << 8 | lo);
	}
	ids[n] = 0;
	int status = pclose(f);
	ck_assert_msg(status != -1 && WIFEXITED(status), "openssl ciphers did not run");
	return WEXITSTATUS(status) == 0 ? (int)n : -1;
}

START_TEST(openssl_is_there)
{
	int ids[256];
	ck_assert_msg(openssl_ciphers("ALL", ids, 256) > 100, "openssl ciphers -psk ALL lists too few suites");
}
END_TEST

START_TEST(same_order_as_openssl)
{
	const char *str = openssl_strings[_i];
	int want[256];
	char ours[8192], theirs[8192];
	int nwant = openssl_ciphers(str, want, 256);
	reset();
	int r = suites_build(str, "TLS_AES_128_GCM_SHA256", out, err, sizeof(err));
	if (nwant <= 0) { /* OpenSSL refuses it, or keeps nothing mbedTLS has */
		ck_assert_msg(r == -1, "'%s' selects nothing in OpenSSL, but suites_build succeeded", str);
		ck_assert_msg(strncmp(err, "ciphers: ", 9) == 0, "'%s': message '%s'", str, err);
		return;
	}
	ck_assert_msg(r == 0, "'%s' failed: %s", str, err);
	count();
	suites_describe(out + 1, ours, sizeof(ours)); /* out[0] is the TLS 1.3 suite */
	suites_describe(want, theirs, sizeof(theirs));
	ck_assert_msg(strcmp(ours, theirs) == 0, "'%s':\n  ours:    %s\n  OpenSSL: %s", str, ours, theirs);
}
END_TEST

START_TEST(cipher_string_errors)
{
	/* keywords are case-sensitive: as in OpenSSL, 'high' is no keyword and selects nothing */
	expect_build_error("high", NULL, "ciphers: 'high' selects no cipher suite mbedTLS has (skipped, as OpenSSL skips "
			   "what it does not have: high)");
	expect_build_error("ECDHE+FOO+AES", NULL, "selects no cipher suite mbedTLS has (skipped, as OpenSSL skips what it "
			   "does not have: FOO)");
	expect_build_error("DES-CBC3-SHA:RC4-SHA:!DES-CBC3-SHA", NULL, "(skipped, as OpenSSL skips what it does not have: "
			   "DES-CBC3-SHA, RC4-SHA)");
	expect_build_error("!", NULL, "ciphers: '!' ends where a suite name or keyword should follow");
	expect_build_error("ALL:+", NULL, "ends where a suite name or keyword should follow");
	expect_build_error("ALL:AES+", NULL, "ends where");
	expect_build_error("ALL:!!PSK", NULL, "unexpected '!'");
	expect_build_error("ALL:-:PSK", NULL, "unexpected ':'");
	expect_build_error("ALL:#", NULL, "unexpected '#'");
	expect_build_error("ALL:AES++SHA", NULL, "unexpected '+'");
	expect_build_error("kRSA+kECDHE", NULL, "ciphers: 'kRSA+kECDHE' selects no cipher suite mbedTLS has");
	expect_build_error("RC4:3DES", NULL, "'RC4:3DES' selects no cipher suite");
	expect_build_error("ALL:!ALL", NULL, "selects no cipher suite");
	expect_build_error("!ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256", NULL, "selects no cipher suite");
	expect_build_error("@STRENGTH", NULL, "'@STRENGTH' selects no cipher suite");
	expect_build_error("HIGH:TLS_AES_128_GCM_SHA256", NULL,
			   "ciphers: 'TLS_AES_128_GCM_SHA256' is a TLS 1.3 suite: put it in 'ciphersuites'");
	expect_build_error("TLS1-3-AES-256-GCM-SHA384+HIGH", NULL, "put it in 'ciphersuites'");
	expect_build_error("HIGH:DEFAULT", NULL, "ciphers: DEFAULT only works at the start of the list");
	expect_build_error("SUITEB128:ALL", NULL, "ciphers: SUITEB128 must be the whole list");
	expect_build_error("ALL:SUITEB192", NULL, "SUITEB192 must be the whole list");
	expect_build_error("ALL:@FOO", NULL, "ciphers: unknown command '@FOO'");
	expect_build_error("ALL:@", NULL, "unknown command '@'");
	expect_build_error("ALL:@SECLEVEL=6", NULL, "unknown command '@SECLEVEL=6'");
	expect_build_error("ALL:@SECLEVEL=10", NULL, "unknown command");
	expect_build_error("ALL:@STRENGTH+X", NULL, "unexpected '+'");
	expect_build_error("AES128:@SECLEVEL=4", NULL, "'AES128:@SECLEVEL=4' selects no cipher suite");
}
END_TEST

/* Names OpenSSL knows (or knew) for suites mbedTLS lacks, and words nobody knows, select nothing, as OpenSSL
 * skips what it does not have: removing them removes nothing, adding them adds nothing; suites_skipped lists
 * them for --check. */
START_TEST(cipher_string_names_mbedtls_lacks_select_nothing)
{
	static const char *const same[][2] = {
		{ "HIGH:!aNULL:!DES-CBC3-SHA", "HIGH:!aNULL" },
		{ "HIGH:!RC4-SHA", "HIGH" },
		{ "HIGH:!NULL-SHA", "HIGH" },
		{ "HIGH:-DES-CBC3-SHA:+RC4-MD5", "HIGH" },
		{ "ECDHE-RSA-AES128-GCM-SHA256:EDH-RSA-DES-CBC3-SHA", "ECDHE-RSA-AES128-GCM-SHA256" },
		{ "HIGH:FOO:!NOT-A-SUITE", "HIGH" },
		{ "DES-CBC3-SHA+RSA:AES256-SHA", "AES256-SHA" }, /* an item with one such word selects nothing */
		{ "AES128-SHA+FOO:AES256-SHA", "AES256-SHA" },
	};
	int want[SUITES_MAX + 1];
	char words[256];
	for (size_t k = 0; k < sizeof(same) / sizeof(same[0]); k++) {
		reset();
		ck_assert_msg(suites_build(same[k][1], NULL, out, err, sizeof(err)) == 0, "%s failed: %s", same[k][1], err);
		size_t n = count();
		memcpy(want, out, (n + 1) * sizeof(int));
		reset();
		ck_assert_msg(suites_build(same[k][0], NULL, out, err, sizeof(err)) == 0, "%s failed: %s", same[k][0], err);
		ck_assert_msg(count() == n && memcmp(out, want, (n + 1) * sizeof(int)) == 0, "%s is not %s", same[k][0],
			      same[k][1]);
	}
	ck_assert_int_eq(suites_skipped("HIGH:!aNULL:!DES-CBC3-SHA:!SAH1:EDH-RSA-DES-CBC3-SHA:!DES-CBC3-SHA", words,
					sizeof(words)), 3);
	ck_assert_str_eq(words, "DES-CBC3-SHA, SAH1, EDH-RSA-DES-CBC3-SHA");
	ck_assert_int_eq(suites_skipped("HIGH:!aNULL:!MD5:!RC4:!SSLv2", words, sizeof(words)), 0); /* keywords all */
	ck_assert_str_eq(words, "");
	ck_assert_int_eq(suites_skipped(NULL, words, sizeof(words)), 0);
	ck_assert_int_eq(suites_skipped("ALL:!!PSK", words, sizeof(words)), 0); /* an error: suites_build says it */
	expect_build_error("DES-CBC3-SHA", NULL, "ciphers: 'DES-CBC3-SHA' selects no cipher suite mbedTLS has");
}
END_TEST

/* securityLevel's part in the suites: what OpenSSL's level refuses leaves the list (forward secrecy from level 3,
 * 192-bit keys at 4, 256 at 5, TLS 1.3 suites by key length too); @SECLEVEL is read for the service's level */
START_TEST(apply_security_level)
{
	reset();
	ck_assert_msg(suites_build("AES256-SHA:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:"
				   "TLS-ECDH-ECDSA-WITH-AES-128-GCM-SHA256", NULL, out, err, sizeof(err)) == 0, "failed: %s", err);
	size_t n = count();
	ck_assert_int_eq(suites_apply_level(out, 2), (int)n); /* level 2: nothing these have is below it */
	ck_assert_int_eq(suites_apply_level(out, 3), (int)n - 1); /* AES256-SHA: no forward secrecy */
	for (size_t i = 0; out[i]; i++)
		ck_assert_int_ne(out[i], MBEDTLS_TLS_RSA_WITH_AES_256_CBC_SHA);
	ck_assert_int_eq(suites_apply_level(out, 4), (int)n - 3); /* 128-bit keys, TLS 1.3's too; the ECDH one stays */
	const int want4[] = { MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256, MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
			      MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, MBEDTLS_TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256, 0 };
	for (size_t i = 0; i < sizeof(want4) / sizeof(want4[0]); i++)
		ck_assert_msg(out[i] == want4[i], "level 4: out[%zu] = 0x%04x, want 0x%04x", i, (unsigned)out[i],
			      (unsigned)want4[i]);
	ck_assert_int_eq(suites_seclevel("HIGH:@SECLEVEL=3:@STRENGTH"), 3);
	ck_assert_int_eq(suites_seclevel("@SECLEVEL=4:HIGH:@SECLEVEL=0"), 0); /* the last one */
	ck_assert_int_eq(suites_seclevel("HIGH"), -1);
	ck_assert_int_eq(suites_seclevel(NULL), -1);
}
END_TEST

/* After an item that selects nothing, OpenSSL also skips an item glued to it without a separator ("RC4!PSK"
 * ignores !PSK); tlswrap reads every item. */
START_TEST(cipher_string_glued_item_after_empty_one)
{
	reset();
	ck_assert_msg(suites_build("kRSA+kECDHE!PSK:ALL", NULL, out, err, sizeof(err)) == 0, "failed: %s", err);
	size_t n = count();
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(strstr(mbedtls_ssl_get_ciphersuite_name(out[i]), "PSK") == NULL, "%s was not killed",
			      mbedtls_ssl_get_ciphersuite_name(out[i]));
}
END_TEST

/* Suites mbedTLS has but OpenSSL cannot name stay usable by name; no keyword selects them. */
START_TEST(cipher_string_mbedtls_only_suite)
{
	reset();
	ck_assert_msg(suites_build("TLS-ECDH-ECDSA-WITH-AES-128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ALL:"
				   "-TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256:+TLS-ECDH-ECDSA-WITH-AES-128-GCM-SHA256:"
				   "TLS-ECDH-ECDSA-WITH-AES-128-GCM-SHA256:@STRENGTH",
				   "TLS_AES_128_GCM_SHA256", out, err, sizeof(err)) == 0,
		      "failed: %s", err);
	size_t n = count();
	ck_assert_int_eq(out[1], MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384);
	ck_assert_int_eq(out[n - 1], MBEDTLS_TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256); /* re-added last, 128 bits */
	reset();
	ck_assert_msg(suites_build("ALL", NULL, out, err, sizeof(err)) == 0, "failed: %s", err);
	n = count();
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(strncmp(mbedtls_ssl_get_ciphersuite_name(out[i]), "TLS-ECDH-", 9) != 0,
			      "ALL selected %s, which OpenSSL does not have", mbedtls_ssl_get_ciphersuite_name(out[i]));
}
END_TEST

/* OpenSSL 1.0's words (SSLv2, EXP ...) that configuration management still writes select nothing, as OpenSSL 3.0
 * skips them: HIGH:-SSLv2 is HIGH */
START_TEST(cipher_string_old_keywords_select_nothing)
{
	int high[SUITES_MAX + 1];
	reset();
	ck_assert_msg(suites_build("HIGH", NULL, out, err, sizeof(err)) == 0, "failed: %s", err);
	memcpy(high, out, sizeof(high));
	size_t n = count();
	const char *const same[] = { "HIGH:-SSLv2", "HIGH:!SSLv2:!EXP:!EXPORT:!KRB5:!kFZA", "SSLv2:EXPORT40:HIGH" };
	for (size_t k = 0; k < sizeof(same) / sizeof(same[0]); k++) {
		reset();
		ck_assert_msg(suites_build(same[k], NULL, out, err, sizeof(err)) == 0, "%s failed: %s", same[k], err);
		ck_assert_msg(count() == n && memcmp(out, high, (n + 1) * sizeof(int)) == 0, "%s is not HIGH", same[k]);
	}
	expect_build_error("SSLv2:EXP", NULL, "ciphers: 'SSLv2:EXP' selects no cipher suite mbedTLS has");
}
END_TEST

/* without PSKsecrets a service drops the PSK suites a string such as HIGH selects */
START_TEST(drop_psk_suites)
{
	reset();
	ck_assert_msg(suites_build("HIGH", NULL, out, err, sizeof(err)) == 0, "failed: %s", err);
	int all12 = suites_count_tls12(out), psk = 0;
	for (size_t i = 0; out[i]; i++)
		psk += strstr(mbedtls_ssl_get_ciphersuite_name(out[i]), "-PSK-") != NULL;
	ck_assert_int_gt(psk, 0);
	suites_drop_psk(out);
	ck_assert_int_eq(suites_count_tls12(out), all12 - psk);
	for (size_t i = 0; out[i]; i++)
		ck_assert_ptr_null(strstr(mbedtls_ssl_get_ciphersuite_name(out[i]), "-PSK-"));
	ck_assert_int_eq(out[0], MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256); /* TLS 1.3 suites stay */
	reset();
	ck_assert_msg(suites_build("PSK", NULL, out, err, sizeof(err)) == 0, "failed: %s", err);
	suites_drop_psk(out);
	ck_assert_int_eq(suites_count_tls12(out), 0);
}
END_TEST

/* ALL fits with every TLS 1.3 suite, zero-terminated */
START_TEST(cipher_string_all_fits)
{
	reset();
	ck_assert_msg(suites_build("ALL", "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:"
					  "TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256",
				   out, err, sizeof(err)) == 0,
		      "failed: %s", err);
	size_t n = count();
	ck_assert_uint_gt(n, 100);
	ck_assert_uint_le(n, SUITES_MAX);
}
END_TEST

/* ---- suites_describe ------------------------------------------------------------------------- */

START_TEST(describe_names)
{
	static const int list[] = { MBEDTLS_TLS1_3_AES_128_GCM_SHA256, MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
				    MBEDTLS_TLS_PSK_WITH_AES_128_CCM_8, 0x1234, 0 };
	char buf[256];
	suites_describe(list, buf, sizeof(buf));
	ck_assert_str_eq(buf, "TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "
			      "TLS_PSK_WITH_AES_128_CCM_8, 0x1234");
}
END_TEST

START_TEST(describe_empty)
{
	static const int list[] = { 0 };
	char buf[16];
	suites_describe(list, buf, sizeof(buf));
	ck_assert_str_eq(buf, "(none)");
}
END_TEST

START_TEST(describe_cut)
{
	static const int list[] = { MBEDTLS_TLS1_3_AES_128_GCM_SHA256, MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
				    0 };
	char buf[32];
	memset(buf, 'x', sizeof(buf));
	suites_describe(list, buf, sizeof(buf));
	ck_assert_uint_eq(strlen(buf), sizeof(buf) - 1);
	ck_assert_str_eq(buf + sizeof(buf) - 4, "...");
	ck_assert_int_eq(strncmp(buf, "TLS_AES_128_GCM_SHA256, ", 24), 0);
	buf[0] = 'x';
	suites_describe(list, buf, 0); /* nothing written */
	ck_assert_int_eq(buf[0], 'x');
	suites_describe(list, buf, 1);
	ck_assert_str_eq(buf, "");
	static const int none[] = { 0 };
	suites_describe(none, buf, 5); /* "(none)" cut too */
	ck_assert_str_eq(buf, "(...");
}
END_TEST

/* What --check prints for a cipher string names the suites one can feed back */
START_TEST(describe_round_trip)
{
	char names[8192];
	int first[SUITES_MAX + 1];
	reset();
	ck_assert_msg(suites_build("ALL:@STRENGTH", "TLS_AES_128_GCM_SHA256", out, err, sizeof(err)) == 0, "failed: %s",
		      err);
	memcpy(first, out, sizeof(first));
	suites_describe(out + 1, names, sizeof(names));
	reset();
	ck_assert_msg(suites_build(names, "TLS_AES_128_GCM_SHA256", out, err, sizeof(err)) == 0, "failed: %s", err);
	for (size_t i = 0; first[i]; i++)
		ck_assert_int_eq(out[i], first[i]);
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
	tcase_add_test(tc, build_defaults_chacha20_first);
	suite_add_tcase(s, tc);

	tc = tcase_create("build");
	tcase_add_test(tc, build_exact_lists_zero_terminated);
	tcase_add_test(tc, build_tls13_list_then_default_tls12);
	tcase_add_test(tc, build_default_tls13_then_tls12_list);
	tcase_add_test(tc, build_separators);
	tcase_add_test(tc, build_tls12_suite_in_tls13_list);
	tcase_add_test(tc, build_tls13_suite_in_tls12_list);
	tcase_add_test(tc, build_keywords_in_ciphersuites);
	tcase_add_test(tc, build_unknown_name);
	tcase_add_test(tc, build_empty_list);
	tcase_add_test(tc, build_too_many);
	tcase_add_test(tc, build_list_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("cipher_strings");
	tcase_add_test(tc, openssl_is_there);
	tcase_add_loop_test(tc, same_order_as_openssl, 0, (int)(sizeof(openssl_strings) / sizeof(openssl_strings[0])));
	tcase_add_test(tc, cipher_string_errors);
	tcase_add_test(tc, cipher_string_names_mbedtls_lacks_select_nothing);
	tcase_add_test(tc, cipher_string_glued_item_after_empty_one);
	tcase_add_test(tc, cipher_string_mbedtls_only_suite);
	tcase_add_test(tc, cipher_string_all_fits);
	tcase_add_test(tc, cipher_string_old_keywords_select_nothing);
	tcase_add_test(tc, drop_psk_suites);
	tcase_add_test(tc, apply_security_level);
	suite_add_tcase(s, tc);

	tc = tcase_create("describe");
	tcase_add_test(tc, describe_names);
	tcase_add_test(tc, describe_empty);
	tcase_add_test(tc, describe_cut);
	tcase_add_test(tc, describe_round_trip);
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
