/* Unit tests for src/proto/starttls.c: the client side of SMTP, IMAP and POP3 STARTTLS. */
#include <check.h>
#include <stdio.h>
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

/* Feed TEXT a line at a time, as the caller consumes it, until a reply ends or fails; USED is then the
 * total taken, RELAY whether every line was to be relayed. */
static enum starttls_result reply(struct starttls *st, const char *text)
{
	size_t total = 0;
	int all_relay = 1;
	enum starttls_result r;
	while ((r = step(st, text + total)) == STARTTLS_LINE) {
		total += used;
		all_relay &= relay;
		ck_assert_str_eq(out, ""); /* no command before the reply ends */
	}
	if (r != STARTTLS_MORE && r != STARTTLS_FAIL) {
		total += used;
		all_relay &= relay;
	}
	used = total;
	relay = all_relay;
	return r;
}

START_TEST(smtp_full_exchange)
{
	struct starttls st = { STARTTLS_SMTP, 0, 0 };
	const char *greet = "220-mail.test ESMTP\r\n220 ready\r\n";
	ck_assert_int_eq(step(&st, greet), STARTTLS_LINE); /* one line at a time */
	ck_assert_uint_eq(used, 21);
	ck_assert_int_eq(relay, 1);
	st = (struct starttls){ STARTTLS_SMTP, 0, 0 };
	ck_assert_int_eq(reply(&st, greet), STARTTLS_NEXT);
	ck_assert_uint_eq(used, strlen(greet));
	ck_assert_int_eq(relay, 1);
	ck_assert_str_eq(out, "EHLO tlswrap\r\n");
	const char *ehlo = "250-mail.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n";
	ck_assert_int_eq(reply(&st, ehlo), STARTTLS_NEXT);
	ck_assert_uint_eq(used, strlen(ehlo));
	ck_assert_int_eq(relay, 0);
	ck_assert_str_eq(out, "STARTTLS\r\n");
	ck_assert_int_eq(step(&st, "220 2.0.0 go ahead\r\n"), STARTTLS_TLS);
	ck_assert_uint_eq(used, 20);
}
END_TEST

START_TEST(smtp_split_across_reads)
{
	/* every prefix of a line is incomplete, with CRLF split too */
	const char *greet = "220 ready\r\nEXTRA";
	size_t full = strlen(greet) - 5;
	for (size_t n = 0; n < full; n++) {
		struct starttls st = { STARTTLS_SMTP, 0, 0 };
		ck_assert_int_eq(starttls_step(&st, greet, n, "x", &used, &relay, out, sizeof(out), why, sizeof(why)),
				 STARTTLS_MORE);
	}
	struct starttls st = { STARTTLS_SMTP, 0, 0 };
	ck_assert_int_eq(step(&st, greet), STARTTLS_NEXT);
	ck_assert_uint_eq(used, full); /* what follows the reply is not taken */
}
END_TEST

/* A reply far longer than a read (the server's socket buffer) is taken line by line: 1,200 EHLO
 * lines with STARTTLS among them, and 10,000 lines of greeting. */
START_TEST(smtp_replies_of_many_lines)
{
	size_t cap = 10002 * 32, n = 0;
	char *text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	struct starttls st = { STARTTLS_SMTP, 0, 0 };
	for (int i = 0; i < 10000; i++)
		n += (size_t)snprintf(text + n, cap - n, "220-greeting line %d\r\n", i);
	snprintf(text + n, cap - n, "220 ready\r\n");
	ck_assert_int_eq(reply(&st, text), STARTTLS_NEXT);
	ck_assert_uint_eq(used, strlen(text));
	ck_assert_int_eq(relay, 1);
	n = (size_t)snprintf(text, cap, "250-mail.test\r\n250-STARTTLS\r\n");
	for (int i = 0; i < 1200; i++)
		n += (size_t)snprintf(text + n, cap - n, "250-X-EXTENSION-%d\r\n", i);
	snprintf(text + n, cap - n, "250 8BITMIME\r\n");
	ck_assert_int_eq(reply(&st, text), STARTTLS_NEXT);
	ck_assert_uint_eq(used, strlen(text));
	ck_assert_str_eq(out, "STARTTLS\r\n");
	free(text);
}
END_TEST

START_TEST(smtp_refusals)
{
	struct starttls st = { STARTTLS_SMTP, 0, 0 };
	ck_assert_int_eq(reply(&st, "554 no service\r\n"), STARTTLS_FAIL);
	ck_assert_str_eq(why, "554 no service");
	st = (struct starttls){ STARTTLS_SMTP, 0, 0 };
	ck_assert_int_eq(reply(&st, "220-hello\r\n554 no service\r\n"), STARTTLS_FAIL); /* every line has the code */
	ck_assert_str_eq(why, "554 no service");
	st = (struct starttls){ STARTTLS_SMTP, 1, 0 };
	ck_assert_int_eq(reply(&st, "250-mail.test\r\n250 8BITMIME\r\n"), STARTTLS_FAIL);
	ck_assert_str_eq(why, "server does not offer STARTTLS");
	st = (struct starttls){ STARTTLS_SMTP, 1, 0 };
	ck_assert_int_eq(reply(&st, "250-mail.test\r\n250 STARTTLSX\r\n"), STARTTLS_FAIL); /* not the keyword */
	st = (struct starttls){ STARTTLS_SMTP, 2, 0 };
	ck_assert_int_eq(reply(&st, "454 4.7.0 TLS not available\r\n"), STARTTLS_FAIL);
	ck_assert_str_eq(why, "454 4.7.0 TLS not available");
	st = (struct starttls){ STARTTLS_SMTP, 0, 0 };
	ck_assert_int_eq(reply(&st, "SSH-2.0-OpenSSH\r\n"), STARTTLS_FAIL);
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
		struct starttls st = { (enum starttls_proto)p, 0, 0 };
		ck_assert_int_eq(step(&st, big), STARTTLS_FAIL);
		ck_assert_str_eq(why, "reply line too long (over 4096 bytes)");
	}
	/* a line of exactly the limit, terminator included, is taken */
	big[STARTTLS_MAX_LINE - 1] = '\n';
	big[STARTTLS_MAX_LINE] = '\0';
	struct starttls st = { STARTTLS_SMTP, 0, 0 };
	ck_assert_int_eq(step(&st, big), STARTTLS_LINE);
}
END_TEST

START_TEST(imap_full_exchange)
{
	struct starttls st = { STARTTLS_IMAP, 0, 0 };
	ck_assert_int_eq(step(&st, "* OK IMAP4rev1 ready\r\n"), STARTTLS_NEXT);
	ck_assert_int_eq(relay, 1);
	ck_assert_str_eq(out, "tw1 CAPABILITY\r\n");
	const char *cap = "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\ntw1 OK done\r\n";
	ck_assert_int_eq(reply(&st, "* CAPABILITY IMAP4rev1 STARTTLS\r\ntw1 OK"), STARTTLS_MORE); /* tag not yet */
	st = (struct starttls){ STARTTLS_IMAP, 1, 0 };
	ck_assert_int_eq(reply(&st, cap), STARTTLS_NEXT);
	ck_assert_uint_eq(used, strlen(cap));
	ck_assert_int_eq(relay, 0);
	ck_assert_str_eq(out, "tw2 STARTTLS\r\n");
	ck_assert_int_eq(step(&st, "tw2 OK begin TLS\r\n"), STARTTLS_TLS);
}
END_TEST

START_TEST(imap_capability_of_many_lines)
{
	size_t cap = 20002 * 32, n = 0;
	char *text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	for (int i = 0; i < 10000; i++)
		n += (size_t)snprintf(text + n, cap - n, "* CAPABILITY X-EXTENSION-%d\r\n", i);
	n += (size_t)snprintf(text + n, cap - n, "* CAPABILITY IMAP4rev1 STARTTLS\r\n");
	for (int i = 0; i < 10000; i++)
		n += (size_t)snprintf(text + n, cap - n, "* OK still here %d\r\n", i);
	snprintf(text + n, cap - n, "tw1 OK done\r\n");
	struct starttls st = { STARTTLS_IMAP, 1, 0 };
	ck_assert_int_eq(reply(&st, text), STARTTLS_NEXT);
	ck_assert_uint_eq(used, strlen(text));
	free(text);
}
END_TEST

START_TEST(imap_refusals)
{
	struct starttls st = { STARTTLS_IMAP, 0, 0 };
	ck_assert_int_eq(step(&st, "* BYE go away\r\n"), STARTTLS_FAIL);
	ck_assert_str_eq(why, "* BYE go away");
	st = (struct starttls){ STARTTLS_IMAP, 1, 0 };
	ck_assert_int_eq(reply(&st, "* CAPABILITY IMAP4rev1\r\ntw1 OK done\r\n"), STARTTLS_FAIL);
	ck_assert_str_eq(why, "server does not offer STARTTLS");
	st = (struct starttls){ STARTTLS_IMAP, 2, 0 };
	ck_assert_int_eq(reply(&st, "tw2 NO TLS not available\r\n"), STARTTLS_FAIL);
	ck_assert_str_eq(why, "tw2 NO TLS not available");
	st = (struct starttls){ STARTTLS_IMAP, 1, 0 };
	ck_assert_int_eq(reply(&st, "garbage\r\n"), STARTTLS_FAIL);
	ck_assert_str_eq(why, "unexpected IMAP reply: garbage");
}
END_TEST

START_TEST(pop3_exchange_and_refusal)
{
	struct starttls st = { STARTTLS_POP3, 0, 0 };
	ck_assert_int_eq(step(&st, "+OK POP3 ready\n"), STARTTLS_NEXT); /* bare LF accepted */
	ck_assert_int_eq(relay, 1);
	ck_assert_str_eq(out, "STLS\r\n");
	ck_assert_int_eq(step(&st, "+OK begin"), STARTTLS_MORE);
	ck_assert_int_eq(step(&st, "+OK begin TLS\r\n"), STARTTLS_TLS);
	st = (struct starttls){ STARTTLS_POP3, 1, 0 };
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
	tcase_add_test(tc, smtp_replies_of_many_lines);
	tcase_add_test(tc, smtp_refusals);
	tcase_add_test(tc, overlong_lines_fail);
	tcase_add_test(tc, imap_full_exchange);
	tcase_add_test(tc, imap_capability_of_many_lines);
	tcase_add_test(tc, imap_refusals);
	tcase_add_test(tc, pop3_exchange_and_refusal);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
