/* Unit tests for src/proto/mailsrv.c: the server side of SMTP, IMAP and POP3 STARTTLS openings. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "proto/mailsrv.h"

static char out[512];

static enum mailsrv_action cmd(enum starttls_proto p, const char *line)
{
	return mailsrv_command(p, "tw", line, strlen(line), out, sizeof(out));
}

START_TEST(greetings)
{
	mailsrv_greeting(STARTTLS_SMTP, "tw", out, sizeof(out));
	ck_assert_str_eq(out, "220 tw ESMTP ready\r\n");
	mailsrv_greeting(STARTTLS_IMAP, "tw", out, sizeof(out));
	ck_assert_str_eq(out, "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] tw ready\r\n");
	mailsrv_greeting(STARTTLS_POP3, "tw", out, sizeof(out));
	ck_assert_str_eq(out, "+OK tw ready\r\n");
}
END_TEST

START_TEST(smtp_commands)
{
	ck_assert_int_eq(cmd(STARTTLS_SMTP, "ehlo client.example\r\n"), MAILSRV_REPLY);
	ck_assert_str_eq(out, "250-tw\r\n250-STARTTLS\r\n250 8BITMIME\r\n");
	ck_assert_int_eq(cmd(STARTTLS_SMTP, "NOOP\n"), MAILSRV_REPLY);
	ck_assert_str_eq(out, "250 OK\r\n");
	ck_assert_int_eq(cmd(STARTTLS_SMTP, "MAIL FROM:<a@b>\r\n"), MAILSRV_REPLY);
	ck_assert_str_eq(out, "530 5.7.0 Must issue a STARTTLS command first\r\n");
	ck_assert_int_eq(cmd(STARTTLS_SMTP, "STARTTLS extra\r\n"), MAILSRV_REPLY); /* STARTTLS takes no argument */
	ck_assert_int_eq(cmd(STARTTLS_SMTP, "starttls\r\n"), MAILSRV_STARTTLS);
	ck_assert_str_eq(out, "220 2.0.0 Ready to start TLS\r\n");
	ck_assert_int_eq(cmd(STARTTLS_SMTP, "QUIT\r\n"), MAILSRV_QUIT);
	ck_assert_int_eq(cmd(STARTTLS_SMTP, "\r\n"), MAILSRV_REPLY);
}
END_TEST

START_TEST(imap_commands)
{
	ck_assert_int_eq(cmd(STARTTLS_IMAP, "a1 CAPABILITY\r\n"), MAILSRV_REPLY);
	ck_assert_str_eq(out, "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\na1 OK CAPABILITY completed\r\n");
	ck_assert_int_eq(cmd(STARTTLS_IMAP, "a2 LOGIN u p\r\n"), MAILSRV_REPLY);
	ck_assert_str_eq(out, "a2 NO [PRIVACYREQUIRED] STARTTLS first\r\n");
	ck_assert_int_eq(cmd(STARTTLS_IMAP, "CAPABILITY\r\n"), MAILSRV_REPLY); /* no tag */
	ck_assert_str_eq(out, "* BAD missing tag\r\n");
	ck_assert_int_eq(cmd(STARTTLS_IMAP, "a3 starttls\r\n"), MAILSRV_STARTTLS);
	ck_assert_str_eq(out, "a3 OK Begin TLS negotiation now\r\n");
	ck_assert_int_eq(cmd(STARTTLS_IMAP, "a4 LOGOUT\r\n"), MAILSRV_QUIT);
}
END_TEST

START_TEST(pop3_commands)
{
	ck_assert_int_eq(cmd(STARTTLS_POP3, "CAPA\r\n"), MAILSRV_REPLY);
	ck_assert_str_eq(out, "+OK capability list follows\r\nSTLS\r\n.\r\n");
	ck_assert_int_eq(cmd(STARTTLS_POP3, "USER u\r\n"), MAILSRV_REPLY);
	ck_assert_str_eq(out, "-ERR STLS first\r\n");
	ck_assert_int_eq(cmd(STARTTLS_POP3, "stls\r\n"), MAILSRV_STARTTLS);
	ck_assert_int_eq(cmd(STARTTLS_POP3, "QUIT\r\n"), MAILSRV_QUIT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mailsrv");
	TCase *tc = tcase_create("server");
	tcase_add_test(tc, greetings);
	tcase_add_test(tc, smtp_commands);
	tcase_add_test(tc, imap_commands);
	tcase_add_test(tc, pop3_commands);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
