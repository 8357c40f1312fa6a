/* Unit tests for src/psk.c: PSKsecrets parsing. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "psk.h"

static struct psk_list L;
static char err[256];

static void teardown(void)
{
	psk_free(&L);
}

START_TEST(parse_good)
{
	const char *text = "# comment\n; other comment\n\nalice:0123456789abcdef\r\nbob:key:with:colons:ok!!\n";
	ck_assert_int_eq(psk_parse(text, "f", &L, err, sizeof(err)), 0);
	ck_assert_uint_eq(L.n, 2);
	ck_assert_str_eq(L.v[0].identity, "alice");
	ck_assert_uint_eq(L.v[0].keylen, 16);
	ck_assert(memcmp(L.v[0].key, "0123456789abcdef", 16) == 0);
	ck_assert_str_eq(L.v[1].identity, "bob");
	ck_assert(memcmp(L.v[1].key, "key:with:colons:ok!!", L.v[1].keylen) == 0);
	ck_assert_ptr_eq(psk_find(&L, (const unsigned char *)"bob", 3), &L.v[1]);
	ck_assert_ptr_null(psk_find(&L, (const unsigned char *)"bo", 2));
	ck_assert_ptr_null(psk_find(&L, (const unsigned char *)"bobby", 5));
}
END_TEST

START_TEST(parse_no_trailing_newline)
{
	ck_assert_int_eq(psk_parse("x:0123456789abcdef", "f", &L, err, sizeof(err)), 0);
	ck_assert_uint_eq(L.n, 1);
}
END_TEST

static void bad(const char *text, const char *want)
{
	ck_assert_int_eq(psk_parse(text, "f", &L, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, want), "expected '%s' in '%s'", want, err);
	ck_assert_uint_eq(L.n, 0);
	ck_assert_ptr_null(L.v);
}

START_TEST(parse_errors)
{
	bad("alice:short", "f:1: key shorter than 16 bytes");
	bad("ok:0123456789abcdef\nnocolon\n", "f:2: expected IDENTITY:KEY");
	bad(":0123456789abcdef", "f:1: expected IDENTITY:KEY");
	bad("a:0123456789abcdef\na:0123456789abcdef", "f:2: identity 'a' given twice");
	bad("", "no IDENTITY:KEY lines");
	bad("# only a comment\n", "no IDENTITY:KEY lines");
	char longid[300];
	memset(longid, 'i', 200);
	strcpy(longid + 200, ":0123456789abcdef");
	bad(longid, "identity longer than 128 bytes");
}
END_TEST

START_TEST(errors_never_show_keys)
{
	bad("alice:secretsecretsecret\nalice:secretsecretsecret", "given twice");
	ck_assert_ptr_null(strstr(err, "secret"));
	bad("bob:tiny-secret", "key shorter");
	ck_assert_ptr_null(strstr(err, "tiny"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("psk");
	TCase *tc = tcase_create("parse");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, parse_good);
	tcase_add_test(tc, parse_no_trailing_newline);
	tcase_add_test(tc, parse_errors);
	tcase_add_test(tc, errors_never_show_keys);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
