/* Unit tests for src/sslopt.c: stunnel's `options = NAME` / `-NAME`. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sslopt.h"

START_TEST(sslopt_names)
{
	struct sslopt_lines l = { 0 };
	char err[160];
	ck_assert_int_eq(sslopt_add("NO_SSLv3", &l, err, sizeof(err)), 0);
	ck_assert_int_eq(sslopt_add("ssl_op_no_compression", &l, err, sizeof(err)), 0); /* prefix, case */
	ck_assert_int_eq(sslopt_add("ALL", &l, err, sizeof(err)), 0);
	ck_assert_int_eq(sslopt_add("-MICROSOFT_SESS_ID_BUG", &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(sslopt_effect(&l), 0);
	ck_assert_int_eq(sslopt_add("NO_TICKET", &l, err, sizeof(err)), 0);
	ck_assert_int_eq(sslopt_add("CIPHER_SERVER_PREFERENCE", &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(sslopt_effect(&l), SSLOPT_NO_TICKET);
	ck_assert_int_eq(sslopt_add("-CIPHER_SERVER_PREFERENCE", &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(sslopt_effect(&l), SSLOPT_NO_TICKET | SSLOPT_CLIENT_PREFERENCE);
	ck_assert_int_eq(sslopt_add("-NO_TICKET", &l, err, sizeof(err)), 0);
	ck_assert_int_eq(sslopt_add("NO_TICKET", &l, err, sizeof(err)), 0); /* the clear stays, as in stunnel */
	ck_assert_uint_eq(sslopt_effect(&l), SSLOPT_CLIENT_PREFERENCE);
}
END_TEST

START_TEST(sslopt_refusals_say_why)
{
	struct sslopt_lines l = { 0 };
	char err[200];
	ck_assert_int_eq(sslopt_add("-NO_SSLv3", &l, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "options: -NO_SSLv3 is refused: SSLv3 is never enabled");
	ck_assert_int_eq(sslopt_add("-NO_TLSv1_1", &l, err, sizeof(err)), -1);
	ck_assert_int_eq(sslopt_add("ALLOW_UNSAFE_LEGACY_RENEGOTIATION", &l, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "options: ALLOW_UNSAFE_LEGACY_RENEGOTIATION is not supported: renegotiation is not supported");
	ck_assert_int_eq(sslopt_add("-ALLOW_CLIENT_RENEGOTIATION", &l, err, sizeof(err)), 0);
	ck_assert_int_eq(sslopt_add("NO_SUCH_THING", &l, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "options: unknown option 'NO_SUCH_THING'") == err, "got '%s'", err);
	ck_assert_int_eq(sslopt_add("-", &l, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "options: empty value");
	ck_assert_uint_eq(sslopt_effect(&l), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sslopt");
	TCase *tc = tcase_create("names");
	tcase_add_test(tc, sslopt_names);
	tcase_add_test(tc, sslopt_refusals_say_why);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
