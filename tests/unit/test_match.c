/* Unit tests for src/match.c: host-name and IP identity matching. */
#include <check.h>
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
