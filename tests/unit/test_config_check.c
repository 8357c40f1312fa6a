/* Unit tests for src/config_check.c: what a service needs and what its options imply together. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_helpers.h"
#include "config.h"

START_TEST(accept_clash_found_at_load)
{
	/* two services on one address would fail with EADDRINUSE only at start: --check must say so */
	const char *t = "[a]\n" SERVER "[b]\nconnect = 81\naccept = 8443\ncert = /c.pem\n";
	expect_error_at(t, "accept = 8443\ncert = /c.pem", "[b] accept *:8443: [a] listens there already (");
	t = "[a]\n" SERVER "[b]\n" SERVER "accept = 127.0.0.1:8443\n";
	expect_error_at(t, "accept = 127.0.0.1", "[a] listens there already"); /* a bare port is every address */
	t = "[a]\n" SERVER "accept = 127.0.0.1:8443\n[b]\n" SERVER "accept = localhost:8443\n";
	expect_error_at(t, "accept = localhost", "[a] listens there already"); /* the same address by name */
	t = "[a]\n" SERVER "accept = /tmp/x.sock\n[b]\n" SERVER "accept = /tmp/x.sock\nTIMEOUTidle = 1\n";
	expect_error_at(t, "accept = /tmp/x.sock\nTIMEOUTidle", "[a] listens there already");
	struct cfg c;
	load_ok("[a]\n" SERVER "accept = 127.0.0.1:8443\n[b]\n" SERVER "accept = 127.0.0.2:8443\n"
		"[c]\n" SERVER "accept = 0.0.0.0:8444\n[d]\n" SERVER "accept = ::1:8444\n",
		&c); /* other addresses, or one family each on the same port */
	cfg_free(&c);
}
END_TEST

START_TEST(exec_connect_in_client_mode)
{
	struct cfg c;
	/* stunnel's exec+connect: no accept, the program is the plaintext side */
	load_ok("[vpn]\nclient = yes\nexec = /usr/sbin/pppd\nconnect = vpn.example.com:443\nretry = yes\npty = yes\n", &c);
	ck_assert_int_eq(c.svc[0].retry, 1);
	ck_assert_int_eq(c.svc[0].pty, 1);
	ck_assert_int_eq(c.svc[0].has_accept, 0);
	cfg_free(&c);
	expect_error_at("[vpn]\nclient = yes\naccept = 1234\nexec = /bin/cat\nconnect = 443\n", "[vpn]",
			"exec with connect starts its one connection itself: remove 'accept'");
	expect_error_at("[vpn]\nexec = /bin/cat\nconnect = 443\ncert = /c.pem\n", "[vpn]", "set client = yes");
	expect_error_at("[vpn]\nclient = yes\naccept = 1234\nexec = /bin/cat\n", "[vpn]",
			"exec in client mode needs connect");
	/* without exec+connect, retry and pty change nothing, as in stunnel */
	load_ok("[a]\n" SERVER "retry = yes\npty = yes\n", &c);
	cfg_free(&c);
	load_ok("[a]\naccept = 8443\nexec = /bin/cat\ncert = /c.pem\npty = yes\n", &c); /* server exec on a pty */
	cfg_free(&c);
}
END_TEST

START_TEST(options_decide_versions)
{
	struct cfg c;
	load_ok("[a]\n" SERVER "options = NO_TLSv1_3\n"
		"[b]\n" SERVER "accept = 8444\noptions = NO_TLSv1_2\n"
		"[c]\n" SERVER "accept = 8445\noptions = NO_TLSv1_3\noptions = -NO_TLSv1_3\n"
		"[d]\n" SERVER "accept = 8446\noptions = -NO_TLSv1_3\noptions = NO_TLSv1_3\n",
		&c);
	ck_assert_int_eq(c.svc[0].tls_max, CFG_TLS12);
	ck_assert_int_eq(c.svc[1].tls_min, CFG_TLS13);
	ck_assert_int_eq(c.svc[2].tls_max, CFG_TLS13);
	ck_assert_int_eq(c.svc[3].tls_max, CFG_TLS13); /* as in stunnel, -NAME wins wherever it is */
	cfg_free(&c);
	expect_error_at("[a]\n" SERVER "options = NO_TLSv1_2\nsslVersionMax = TLSv1.2\n", "[a]", "leave no TLS version");
}
END_TEST

START_TEST(ticket_secrets_go_together)
{
	const char *k = "ticketKeySecret = 000102030405060708090a0b0c0d0e0f\n";
	const char *m = "ticketMacSecret = 00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13:14:15:16:17:18:19:1a:1b:1c:1d:1e:1f\n";
	char t[512];
	struct cfg c;
	snprintf(t, sizeof(t), "[a]\n" SERVER "%s%s", k, m);
	load_ok(t, &c);
	cfg_free(&c);
	snprintf(t, sizeof(t), "[a]\n" SERVER "%s", k);
	expect_error_at(t, "[a]", "ticketKeySecret and ticketMacSecret go together");
	snprintf(t, sizeof(t), "[a]\n" SERVER "%s%sticketKeyFile = /k\n", k, m);
	expect_error_at(t, "[a]", "give either ticketKeyFile or ticketKeySecret/ticketMacSecret");
	snprintf(t, sizeof(t), "[a]\n" SERVER "ticketKeySecret = :00:0102030405060708090a0b0c0d0e0f::\n%s", m);
	load_ok(t, &c); /* colons anywhere between bytes, as OpenSSL's hexstr2buf takes them */
	cfg_free(&c);
	snprintf(t, sizeof(t), "[a]\n" SERVER "ticketKeySecret = 0:00102030405060708090a0b0c0d0e0f\n%s", m);
	expect_error_at(t, "ticketKeySecret", "expected 32 or 64 hexadecimal digits"); /* not inside a byte */
	snprintf(t, sizeof(t), "[a]\n" CLIENT "%s", k); /* ignored in client mode, as stunnel does */
	load_ok(t, &c);
	cfg_free(&c);
}
END_TEST

START_TEST(socket_owner_needs_a_unix_accept)
{
	struct cfg c;
	load_ok("[a]\n" SERVER "accept = /run/a.sock\nsetuid = nobody\nsetgid = nogroup\n", &c);
	ck_assert_str_eq(c.svc[0].sock_user, "nobody");
	ck_assert_str_eq(c.svc[0].sock_group, "nogroup");
	ck_assert_ptr_null(c.g.setuid); /* the section's setuid is not the process's */
	cfg_free(&c);
	expect_error_at("[a]\n" SERVER "setuid = nobody\n", "[a]", "set the owner of a Unix accept socket");
}
END_TEST

START_TEST(crlpath_needs_verify_chain)
{
	expect_error_at("[a]\n" SERVER "CRLpath = /etc/crl\n", "[a]", "CRLpath needs verifyChain");
	struct cfg c;
	load_ok("[a]\n" SERVER "CRLpath = /etc/crl\nverifyChain = yes\nCAfile = /ca.pem\n", &c);
	cfg_free(&c);
}
END_TEST

START_TEST(defaults_of_new_options)
{
	struct cfg c;
	load_ok("[a]\n" SERVER "[b]\n" CLIENT "sessionResume = no\n", &c);
	ck_assert_int_eq(c.svc[0].session_resume, 1);
	ck_assert_int_eq(c.svc[1].session_resume, 0);
	ck_assert_int_eq(c.svc[0].failover_rr, 0); /* prio, stunnel's default */
	ck_assert_int_eq(c.svc[0].delay, 0);
	ck_assert_int_eq(c.svc[0].reset, 0);
	ck_assert_uint_eq(c.svc[0].ssl_options, 0);
	cfg_free(&c);
	/* PSKidentity is ignored in server mode, as stunnel's manual says */
	load_ok("[a]\naccept = 8443\nconnect = 80\nPSKsecrets = /p\nPSKidentity = x\n", &c);
	cfg_free(&c);
}
END_TEST

/* securityLevel 0-5, stunnel's default 2; a cipher string's @SECLEVEL sets it too, after securityLevel as in
 * OpenSSL; from level 3 on no session tickets, as OpenSSL's level 3 */
START_TEST(security_level)
{
	struct cfg c;
	load_ok("[a]\n" SERVER "[b]\n" SERVER "accept = 8444\nsecurityLevel = 3\n"
		"[c]\n" SERVER "accept = 8445\nsecurityLevel = 3\nciphers = HIGH:@SECLEVEL=1\n"
		"[d]\n" SERVER "accept = 8446\nciphers = @SECLEVEL=5:HIGH\n"
		"[e]\n" SERVER "accept = 8447\nsecurityLevel = 0\n",
		&c);
	ck_assert_int_eq(c.svc[0].security_level, 2);
	ck_assert_int_eq(c.svc[1].security_level, 3);
	ck_assert_int_eq(c.svc[2].security_level, 1);
	ck_assert_int_eq(c.svc[3].security_level, 5);
	ck_assert_int_eq(c.svc[4].security_level, 0);
	ck_assert_uint_eq(c.svc[0].ssl_options & SSLOPT_NO_TICKET, 0);
	ck_assert_uint_eq(c.svc[1].ssl_options & SSLOPT_NO_TICKET, SSLOPT_NO_TICKET);
	ck_assert_uint_eq(c.svc[2].ssl_options & SSLOPT_NO_TICKET, 0);
	ck_assert_uint_eq(c.svc[3].ssl_options & SSLOPT_NO_TICKET, SSLOPT_NO_TICKET);
	cfg_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config_check");
	TCase *tc = tcase_create("services");
	tcase_add_test(tc, accept_clash_found_at_load);
	tcase_add_test(tc, exec_connect_in_client_mode);
	tcase_add_test(tc, options_decide_versions);
	tcase_add_test(tc, ticket_secrets_go_together);
	tcase_add_test(tc, socket_owner_needs_a_unix_accept);
	tcase_add_test(tc, crlpath_needs_verify_chain);
	tcase_add_test(tc, defaults_of_new_options);
	tcase_add_test(tc, security_level);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
