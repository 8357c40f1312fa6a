/* Unit tests for src/proto/starttls.c: the client side of SMTP, IMAP and POP3 STARTTLS. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "proto/starttls.h"

static char out[300], why[300];
static size_t used;
static int relay;

static enum starttls_result step(struct starttls *st, const char *text)
{
	used = 0;
	relay = -1;
	why[0] = '\0';
	return starttls_step(st, text, strlen(text), "tlswrap", &used, &relay, out, sizeof(out), why, sizeof(why));
}

START_TEST(smtp_full_exchange)
{
	struct starttls st = { STARTTLS_SMTP, 0 };
	const char *greet = "220-mail.test ESMTP\r\n220 ready\r\n";
	ck_assert_int_eq(step(&st, greet), STARTTLS_NEXT);
	ck_assert_uint_eq(used, strlen(greet));
	ck_assert_int_eq(relay, 1);
	ck_assert_str_eq(out, "EHLO tlswrap\r\n");
	const char *ehlo = "250-mail.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n";
	ck_assert_int_eq(step(&st, ehlo), STARTTLS_NEXT);
	ck_assert_uint_eq(used, strlen(ehlo));
	ck_assert_int_eq(relay, 0);
	ck_assert_str_eq(out, "STARTTLS\r\n");
	ck_assert_int_eq(step(&st, "220 2.0.0 go ahead\r\n"), STARTTLS_TLS);
	ck_assert_uint_eq(used, 20);
}
END_TEST

START_TEST(smtp_split_across_reads)
{
	/* every prefix of a multi-line reply is incomplete, with CRLF split too */
	const char *greet = "220-mail.test ESMTP\r\n220 ready\r\nEXTRA";
	size_t full = strlen(greet) - 5;
	for (size_t n = 0; n < full; n++) {
		struct starttls st = { STARTTLS_SMTP, 0 };
		ck_assert_int_eq(starttls_step(&st, greet, n, "x", &used, &relay, out, sizeof(out), why, sizeof(why)),
				 STARTTLS_MORE);
	}
	struct starttls st = { STARTTLS_SMTP, 0 };
	ck_assert_int_eq(step(&st, greet), STARTTLS_NEXT);
	ck_assert_uint_eq(used, full); /* what follows the reply is not taken */
}
END_TEST

START_TEST(smtp_refusals)
{
	struct starttls st = { STARTTLS_SMTP, 0 };
	ck_assert_int_eq(step(&st, "554 no service\r\n"), STARTTLS_FAIL);
	ck_assert_str_eq(why, "554 no service");
	st = (struct starttls){ STARTTLS_SMTP, 1 };
	ck_assert_int_eq(step(&st, "250-mail.test\r\n250 8BITMIME\r\n"), STARTTLS_FAIL);
	ck_assert_str_eq(why, "server does not offer STARTTLS");
	st = (struct starttls){ STARTTLS_SMTP, 1 };
	ck_assert_int_eq(step(&st, "250-mail.test\r\n250 STARTTLSX\r\n"), STARTTLS_FAIL); /* not the keyword */
	st = (struct starttls){ STARTTLS_SMTP, 2 };
	ck_assert_int_eq(step(&st, "454 4.7.0 TLS not available\r\n"), STARTTLS_FAIL);
	ck_assert_str_eq(why, "454 4.7.0 TLS not available");
	st = (struct starttls){ STARTTLS_SMTP, 0 };
	ck_assert_int_eq(step(&st, "SSH-2.0-OpenSSH\r\n"), STARTTLS_FAIL);
	ck_assert_msg(strstr(why, "not an SMTP reply: SSH-2.0-OpenSSH") != NULL, "%s", why);
}
END_TEST

START_TEST(overlong_lines_fail)
{
	char big[STARTTLS_MAX_LINE + 10];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "220-", 4);
	for (int p = STARTTLS_SMTP; p <= STARTTLS_POP3; p++) {
		struct starttls st = { (enum starttls_proto)p, 0 };
		ck_assert_int_eq(step(&st, big), STARTTLS_FAIL);
	}
}
END_TEST

START_TEST(imap_full_exchange)
{
	struct starttls st = { STARTTLS_IMAP, 0 };
	ck_assert_int_eq(step(&st, "* OK IMAP4rev1 ready\r\n"), STARTTLS_NEXT);
	ck_assert_int_eq(relay, 1);
	ck_assert_str_eq(out, "tw1 CAPABILITY\r\n");
	const char *cap = "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\ntw1 OK done\r\n";
	ck_assert_int_eq(step(&st, "* CAPABILITY IMAP4rev1 STARTTLS\r\n"), STARTTLS_MORE); /* tag not yet */
	ck_assert_int_eq(step(&st, cap), STARTTLS_NEXT);
	ck_assert_uint_eq(used, strlen(cap));
	ck_assert_str_eq(out, "tw2 STARTTLS\r\n");
	ck_assert_int_eq(step(&st, "tw2 OK begin TLS\r\n"), STARTTLS_TLS);
}
END_TEST

START_TEST(imap_refusals)
{
	struct starttls st = { STARTTLS_IMAP, 0 };
	ck_assert_int_eq(step(&st, "* BYE go away\r\n"), STARTTLS_FAIL);
	ck_assert_str_eq(why, "* BYE go away");
	st = (struct starttls){ STARTTLS_IMAP, 1 };
	ck_assert_int_eq(step(&st, "* CAPABILITY IMAP4rev1\r\ntw1 OK done\r\n"), STARTTLS_FAIL);
	ck_assert_str_eq(why, "server does not offer STARTTLS");
	st = (struct starttls){ STARTTLS_IMAP, 2 };
	ck_assert_int_eq(step(&st, "tw2 NO TLS not available\r\n"), STARTTLS_FAIL);
	ck_assert_str_eq(why, "tw2 NO TLS not available");
	st = (struct starttls){ STARTTLS_IMAP, 1 };
	ck_assert_int_eq(step(&st, "garbage\r\n"), STARTTLS_FAIL);
}
END_TEST

START_TEST(pop3_exchange_and_refusal)
{
	struct starttls st = { STARTTLS_POP3, 0 };
	ck_assert_int_eq(step(&st, "+OK POP3 ready\n"), STARTTLS_NEXT); /* bare LF accepted */
	ck_assert_int_eq(relay, 1);
	ck_assert_str_eq(out, "STLS\r\n");
	ck_assert_int_eq(step(&st, "+OK begin"), STARTTLS_MORE);
	ck_assert_int_eq(step(&st, "+OK begin TLS\r\n"), STARTTLS_TLS);
	st = (struct starttls){ STARTTLS_POP3, 1 };
	ck_assert_int_eq(step(&st, "-ERR not now\r\n"), STARTTLS_FAIL);
	ck_assert_str_eq(why, "-ERR not now");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("starttls");
	TCase *tc = tcase_create("client");
	tcase_add_test(tc, smtp_full_exchange);
	tcase_add_test(tc, smtp_split_across_reads);
	tcase_add_test(tc, smtp_refusals);
	tcase_add_test(tc, overlong_lines_fail);
	tcase_add_test(tc, imap_full_exchange);
	tcase_add_test(tc, imap_refusals);
	tcase_add_test(tc, pop3_exchange_and_refusal);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
