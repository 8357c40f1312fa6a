/* Unit tests for src/match.c: host-name, IP and e-mail identity matching, pinSHA256 values. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"

/* Patterns come from certificates as counted bytes; most tests use C strings. */
static int dns(const char *pattern, const char *name)
{
	return match_dns(pattern, strlen(pattern), name);
}

#define ck_assert_dns(pattern, name, want) \
	ck_assert_msg(dns(pattern, name) == (want), "match_dns(\"%s\", \"%s\") should be %d", pattern, name, want)

/* ---- match_dns: exact names ------------------------------------------------------------------ */

START_TEST(dns_exact)
{
	ck_assert_dns("www.example.com", "www.example.com", 1);
	ck_assert_dns("www.example.com", "ww.example.com", 0);
	ck_assert_dns("www.example.com", "www.example.co", 0);
	ck_assert_dns("www.example.com", "www.example.com.evil", 0);
}
END_TEST

START_TEST(dns_ignores_case)
{
	ck_assert_dns("WWW.Example.COM", "www.example.com", 1);
	ck_assert_dns("www.example.com", "WwW.eXample.cOm", 1);
}
END_TEST

START_TEST(dns_trailing_dot_either_side)
{
	ck_assert_dns("www.example.com.", "www.example.com", 1);
	ck_assert_dns("www.example.com", "www.example.com.", 1);
	ck_assert_dns("www.example.com.", "www.example.com.", 1);
	/* only one dot is dropped */
	ck_assert_dns("www.example.com..", "www.example.com", 0);
}
END_TEST

START_TEST(dns_pattern_length_is_counted)
{
	/* only PLEN bytes of the pattern count: the rest is not part of it */
	ck_assert_int_eq(match_dns("example.com.evil", 11, "example.com"), 1);
	ck_assert_int_eq(match_dns("example.com", 7, "example.com"), 0);
}
END_TEST

START_TEST(dns_empty)
{
	ck_assert_dns("example.com", "", 0);
	ck_assert_dns("", "", 0);
	ck_assert_dns("", "example.com", 0);
	ck_assert_dns(".", ".", 0);
}
END_TEST

START_TEST(dns_embedded_nul_fails)
{
	static const char pattern[] = "www.example.com\0.evil.org";
	ck_assert_int_eq(match_dns(pattern, sizeof(pattern) - 1, "www.example.com"), 0);
	ck_assert_int_eq(match_dns(pattern, sizeof(pattern) - 1, "www.example.com.evil.org"), 0);
	static const char wild[] = "*.example.com\0";
	ck_assert_int_eq(match_dns(wild, sizeof(wild) - 1, "a.example.com"), 0);
}
END_TEST

/* ---- match_dns: wildcards -------------------------------------------------------------------- */

START_TEST(dns_wildcard_one_label)
{
	ck_assert_dns("*.example.com", "a.example.com", 1);
	ck_assert_dns("*.example.com", "www-1.example.com", 1);
	ck_assert_dns("*.Example.com", "A.EXAMPLE.COM", 1);
	ck_assert_dns("*.example.com", "a.example.com.", 1);
	ck_assert_dns("*.example.com.", "a.example.com", 1);
}
END_TEST

START_TEST(dns_wildcard_not_the_base_domain)
{
	ck_assert_dns("*.example.com", "example.com", 0);
}
END_TEST

START_TEST(dns_wildcard_not_two_labels)
{
	ck_assert_dns("*.example.com", "a.b.example.com", 0);
}
END_TEST

START_TEST(dns_wildcard_not_empty_label)
{
	ck_assert_dns("*.example.com", ".example.com", 0);
}
END_TEST

START_TEST(dns_wildcard_other_domain)
{
	ck_assert_dns("*.example.com", "a.example.org", 0);
	ck_assert_dns("*.example.com", "a.notexample.com", 0);
	ck_assert_dns("*.example.com", "localhost", 0);
}
END_TEST

START_TEST(dns_wildcard_top_level_matches_nothing)
{
	ck_assert_dns("*.com", "example.com", 0);
	ck_assert_dns("*.com", "a.com", 0);
	ck_assert_dns("*.", "a.", 0);
}
END_TEST

START_TEST(dns_partial_wildcard_matches_nothing)
{
	ck_assert_dns("f*.example.com", "foo.example.com", 0);
	ck_assert_dns("f*.example.com", "f.example.com", 0);
	ck_assert_dns("www.*.com", "www.example.com", 0);
	ck_assert_dns("*", "localhost", 0);
	ck_assert_dns("*", "*", 0);
}
END_TEST

/* ---- match_ip -------------------------------------------------------------------------------- */

static const unsigned char v4_loopback[4] = { 127, 0, 0, 1 };
static const unsigned char v6_loopback[16] = { [15] = 1 };
static const unsigned char v6_doc[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x42 };
static const unsigned char v6_mapped[16] = { [10] = 0xff, [11] = 0xff, 127, 0, 0, 1 };

START_TEST(ip_v4)
{
	ck_assert_int_eq(match_ip(v4_loopback, 4, "127.0.0.1"), 1);
	ck_assert_int_eq(match_ip(v4_loopback, 4, "127.0.0.2"), 0);
	ck_assert_int_eq(match_ip(v4_loopback, 4, "1.0.0.127"), 0);
}
END_TEST

START_TEST(ip_v6)
{
	ck_assert_int_eq(match_ip(v6_loopback, 16, "::1"), 1);
	ck_assert_int_eq(match_ip(v6_loopback, 16, "0:0:0:0:0:0:0:1"), 1);
	ck_assert_int_eq(match_ip(v6_doc, 16, "2001:db8::42"), 1);
	ck_assert_int_eq(match_ip(v6_doc, 16, "2001:DB8::42"), 1);
	ck_assert_int_eq(match_ip(v6_doc, 16, "2001:db8::43"), 0);
	ck_assert_int_eq(match_ip(v6_loopback, 16, "::2"), 0);
}
END_TEST

START_TEST(ip_length_mismatch)
{
	/* the same address in the other family is a different identity */
	ck_assert_int_eq(match_ip(v4_loopback, 4, "::ffff:127.0.0.1"), 0);
	ck_assert_int_eq(match_ip(v6_mapped, 16, "127.0.0.1"), 0);
	ck_assert_int_eq(match_ip(v6_mapped, 16, "::ffff:127.0.0.1"), 1);
	/* a SAN of any other length is not an address */
	ck_assert_int_eq(match_ip(v6_loopback, 4, "::1"), 0);
	ck_assert_int_eq(match_ip(v4_loopback, 3, "127.0.0.1"), 0);
	ck_assert_int_eq(match_ip(v6_mapped, 5, "127.0.0.1"), 0);
}
END_TEST

START_TEST(ip_garbage_text)
{
	static const unsigned char zero4[4], zero16[16];
	const char *bad[] = { "", "localhost", "127.0.0", "127.0.0.1 ", "256.0.0.1", "[::1]", "127.0.0.1:443", "::1::2" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(match_ip(v4_loopback, 4, bad[i]) == 0, "'%s' matched 127.0.0.1", bad[i]);
		ck_assert_msg(match_ip(zero4, 4, bad[i]) == 0, "'%s' matched 0.0.0.0", bad[i]);
		ck_assert_msg(match_ip(zero16, 16, bad[i]) == 0, "'%s' matched ::", bad[i]);
	}
}
END_TEST

START_TEST(is_ip_literals)
{
	const char *yes[] = { "127.0.0.1", "0.0.0.0", "::1", "::", "2001:db8::42", "::ffff:10.0.0.1" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(match_is_ip(yes[i]) == 1, "'%s' should be an IP literal", yes[i]);
}
END_TEST

START_TEST(is_ip_names_and_garbage)
{
	const char *no[] = { "",          "localhost", "example.com",   "1.2.3", "256.1.1.1",
			     "[::1]",     "1.2.3.4:443", "1.2.3.4 ",    ":::1",  "fe80::1::2" };
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(match_is_ip(no[i]) == 0, "'%s' should not be an IP literal", no[i]);
}
END_TEST

/* ---- match_pin_parse ---------------------------------------------------------------------- */

/* SHA-256 of the empty string, and its base64 */
static const unsigned char sha256_empty[32] = {
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};
#define PIN_EMPTY "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

/* Parse TEXT expecting failure with WHY in the message, which must also quote TEXT; OUT untouched. */
static void pin_bad(const char *text, const char *why)
{
	unsigned char out[MATCH_PIN_LEN];
	char err[256] = "";
	memset(out, 0xA5, sizeof(out));
	ck_assert_msg(match_pin_parse(text, out, err, sizeof(err)) == -1, "'%s' was accepted as a pin", text);
	ck_assert_msg(strstr(err, why) != NULL, "'%s': expected '%s' in '%s'", text, why, err);
	char quoted[200];
	snprintf(quoted, sizeof(quoted), "'%s'", text);
	ck_assert_msg(strstr(err, quoted) != NULL, "the message does not quote the value: '%s'", err);
	for (size_t i = 0; i < sizeof(out); i++)
		ck_assert_msg(out[i] == 0xA5, "'%s': OUT written although the pin was refused", text);
}

START_TEST(pin_good)
{
	unsigned char out[MATCH_PIN_LEN];
	char err[256] = "";
	ck_assert_msg(match_pin_parse(PIN_EMPTY, out, err, sizeof(err)) == 0, "refused: %s", err);
	ck_assert_mem_eq(out, sha256_empty, MATCH_PIN_LEN);
	/* all zeros and all ones are hashes like any other */
	static const unsigned char ff[32] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	ck_assert_int_eq(match_pin_parse("sha256//" "//////////////////////////////////////////8=", out, err, sizeof(err)), 0);
	ck_assert_mem_eq(out, ff, MATCH_PIN_LEN);
}
END_TEST

START_TEST(pin_missing_prefix)
{
	pin_bad("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "expected sha256//BASE64");
	pin_bad("sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "expected sha256//BASE64");
	pin_bad("sha1//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "expected sha256//BASE64");
	/* curl spells the prefix in lower case only */
	pin_bad("SHA256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "expected sha256//BASE64");
	pin_bad(" " PIN_EMPTY, "expected sha256//BASE64");
}
END_TEST

START_TEST(pin_bad_base64)
{
	pin_bad("sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSu!U=", "not the base64 of a 32-byte SHA-256 hash");
	pin_bad("sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=junk", "not the base64");
	pin_bad("sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU==", "not the base64");
	/* curl's list form ("a;b") names several keys: one value is one key here */
	pin_bad(PIN_EMPTY ";" PIN_EMPTY, "not the base64");
	pin_bad("sha256//" "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=", "not the base64"); /* base64url */
}
END_TEST

START_TEST(pin_wrong_length)
{
	/* 31, 33 and 20 (SHA-1) bytes */
	pin_bad("sha256//D0bksIAv7m/tWZaCoWKH0Dl2mc/XQgJUgsCGpwl55Q==", "not the base64 of a 32-byte SHA-256 hash");
	pin_bad("sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "not the base64 of a 32-byte");
	pin_bad("sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "not the base64 of a 32-byte");
	/* 48 bytes: a SHA-384 does not fit either */
	pin_bad("sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "not the base64");
	/* longer than the decoder's buffer */
	pin_bad("sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		"AAAAAAAAAAAAAAAAAAAA",
		"not the base64");
}
END_TEST

START_TEST(pin_empty)
{
	pin_bad("", "expected sha256//BASE64");
	pin_bad("sha256//", "not the base64 of a 32-byte SHA-256 hash");
	pin_bad("sha256//=", "not the base64");
}
END_TEST

/* ---- match_email ----------------------------------------------------------------------------- */

static int email(const char *addr, const char *want)
{
	return match_email(addr, strlen(addr), want);
}

#define ck_assert_email(addr, want, result) \
	ck_assert_msg(email(addr, want) == (result), "match_email(\"%s\", \"%s\") should be %d", addr, want, result)

START_TEST(email_exact)
{
	ck_assert_email("ops@example.org", "ops@example.org", 1);
	ck_assert_email("ops@example.org", "ops@example.com", 0);
	ck_assert_email("ops@example.org", "op@example.org", 0);
	ck_assert_email("ops@example.org", "xops@example.org", 0);
	ck_assert_email("ops@example.org", "ops@example.org.evil", 0);
	ck_assert_email("ops@example.org", "ops@sub.example.org", 0);
	ck_assert_email("a.b+tag@example.org", "a.b+tag@example.org", 1);
}
END_TEST

START_TEST(email_domain_ignores_case)
{
	ck_assert_email("ops@EXAMPLE.org", "ops@example.ORG", 1);
	ck_assert_email("ops@example.org", "ops@Example.Org", 1);
}
END_TEST

START_TEST(email_local_part_case_sensitive)
{
	/* RFC 5321: the local part is the receiving host's business, compared exactly */
	ck_assert_email("Ops@example.org", "ops@example.org", 0);
	ck_assert_email("ops@example.org", "OPS@example.org", 0);
	ck_assert_email("OPS@EXAMPLE.ORG", "OPS@example.org", 1);
}
END_TEST

START_TEST(email_missing_at)
{
	ck_assert_email("opsexample.org", "ops@example.org", 0);
	ck_assert_email("ops@example.org", "opsexample.org", 0);
	ck_assert_email("opsexample.org", "opsexample.org", 0);
	ck_assert_email("", "", 0);
	ck_assert_email("", "ops@example.org", 0);
	ck_assert_email("ops@example.org", "", 0);
}
END_TEST

START_TEST(email_embedded_nul)
{
	static const char a[] = "ops@example.org\0.evil.com";
	ck_assert_int_eq(match_email(a, sizeof(a) - 1, "ops@example.org"), 0);
	ck_assert_int_eq(match_email(a, sizeof(a) - 1, "ops@example.org.evil.com"), 0);
	static const char b[] = "ops\0@example.org";
	ck_assert_int_eq(match_email(b, sizeof(b) - 1, "ops@example.org"), 0);
	static const char c[] = "ops@example.org\0";
	ck_assert_int_eq(match_email(c, sizeof(c) - 1, "ops@example.org"), 0);
}
END_TEST

START_TEST(email_length_is_counted)
{
	/* only LEN bytes of the certificate's value count */
	ck_assert_int_eq(match_email("ops@example.org.evil", 15, "ops@example.org"), 1);
	ck_assert_int_eq(match_email("ops@example.org", 14, "ops@example.org"), 0);
	ck_assert_int_eq(match_email("ops@example.org", 14, "ops@example.or"), 1);
	ck_assert_int_eq(match_email("ops@example.org", 4, "ops@"), 1);
	ck_assert_int_eq(match_email("ops@example.org", 3, "ops"), 0); /* the '@' is beyond LEN */
	ck_assert_int_eq(match_email("ops@example.org", 0, "ops@example.org"), 0);
}
END_TEST

/* ---- regressions: bugs found in src/match.c by these tests ---- */

START_TEST(bug_wildcard_top_level_with_trailing_dot)
{
	/* "*.com." is "*.com" written absolute: it must match nothing either */
	ck_assert_dns("*.com.", "example.com", 0);
	ck_assert_dns("*.com.", "example.com.", 0);
}
END_TEST

static Suite *match_suite(void)
{
	Suite *s = suite_create("match");

	TCase *tc = tcase_create("dns");
	tcase_add_test(tc, dns_exact);
	tcase_add_test(tc, dns_ignores_case);
	tcase_add_test(tc, dns_trailing_dot_either_side);
	tcase_add_test(tc, dns_pattern_length_is_counted);
	tcase_add_test(tc, dns_empty);
	tcase_add_test(tc, dns_embedded_nul_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("wildcard");
	tcase_add_test(tc, dns_wildcard_one_label);
	tcase_add_test(tc, dns_wildcard_not_the_base_domain);
	tcase_add_test(tc, dns_wildcard_not_two_labels);
	tcase_add_test(tc, dns_wildcard_not_empty_label);
	tcase_add_test(tc, dns_wildcard_other_domain);
	tcase_add_test(tc, dns_wildcard_top_level_matches_nothing);
	tcase_add_test(tc, dns_partial_wildcard_matches_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("ip");
	tcase_add_test(tc, ip_v4);
	tcase_add_test(tc, ip_v6);
	tcase_add_test(tc, ip_length_mismatch);
	tcase_add_test(tc, ip_garbage_text);
	tcase_add_test(tc, is_ip_literals);
	tcase_add_test(tc, is_ip_names_and_garbage);
	suite_add_tcase(s, tc);

	tc = tcase_create("pin");
	tcase_add_test(tc, pin_good);
	tcase_add_test(tc, pin_missing_prefix);
	tcase_add_test(tc, pin_bad_base64);
	tcase_add_test(tc, pin_wrong_length);
	tcase_add_test(tc, pin_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("email");
	tcase_add_test(tc, email_exact);
	tcase_add_test(tc, email_domain_ignores_case);
	tcase_add_test(tc, email_local_part_case_sensitive);
	tcase_add_test(tc, email_missing_at);
	tcase_add_test(tc, email_embedded_nul);
	tcase_add_test(tc, email_length_is_counted);
	suite_add_tcase(s, tc);

	tc = tcase_create("fixed_bugs");
	tcase_add_test(tc, bug_wildcard_top_level_with_trailing_dot);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(match_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
