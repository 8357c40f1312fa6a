/* Unit tests for src/ocsp_client.c: responder URLs and the HTTP replies of responders. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ocsp_client.h"

static char host[256], port[8], path[256], err[256];

static int url(const char *u)
{
	err[0] = '\0';
	return ocsp_parse_url(u, host, port, path, err, sizeof(err));
}

START_TEST(urls)
{
	ck_assert_int_eq(url("http://ocsp.example.org"), 0);
	ck_assert_str_eq(host, "ocsp.example.org");
	ck_assert_str_eq(port, "80");
	ck_assert_str_eq(path, "/");
	ck_assert_int_eq(url("HTTP://127.0.0.1:8080/a/b?c=d"), 0);
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_str_eq(port, "8080");
	ck_assert_str_eq(path, "/a/b?c=d");
	ck_assert_int_eq(url("http://[::1]:81/x"), 0);
	ck_assert_str_eq(host, "::1");
	ck_assert_str_eq(port, "81");
	ck_assert_int_eq(url("http://[::1]"), 0);
	ck_assert_str_eq(port, "80");
	ck_assert_int_eq(url("https://ocsp.example.org/"), -1);
	ck_assert_msg(strstr(err, "only http:// responders") != NULL, "%s", err);
	ck_assert_int_eq(url("ftp://x/"), -1);
	ck_assert_int_eq(url("http://"), -1);
	ck_assert_int_eq(url("http://:80/"), -1);
	ck_assert_int_eq(url("http://h:/"), -1);
	ck_assert_int_eq(url("http://h:0/"), -1);
	ck_assert_int_eq(url("http://h:65536/"), -1);
	ck_assert_int_eq(url("http://h:8x/"), -1);
	ck_assert_int_eq(url("http://[::1/"), -1);
	ck_assert_int_eq(url("http://[::1]x/"), -1);
	ck_assert_int_eq(url("http://u:p@h/"), -1);
	ck_assert_int_eq(url("http://h/a b"), -1);
	ck_assert_int_eq(url("http://h/a\r\nHost: evil"), -1);
	char long_host[300] = "http://";
	memset(long_host + 7, 'a', 280);
	long_host[287] = '\0';
	ck_assert_int_eq(url(long_host), -1);
}
END_TEST

static int body(const char *raw, const unsigned char **b, size_t *blen)
{
	err[0] = '\0';
	return ocsp_http_body((const unsigned char *)raw, strlen(raw), b, blen, err, sizeof(err));
}

START_TEST(http_replies)
{
	const unsigned char *b;
	size_t n;
	ck_assert_int_eq(body("HTTP/1.0 200 OK\r\nContent-type: application/ocsp-response\r\nContent-Length: 3\r\n\r\nabcdef", &b, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert(memcmp(b, "abc", 3) == 0);
	ck_assert_int_eq(body("HTTP/1.1 200 OK\r\n\r\nxyz", &b, &n), 0); /* no length: until the close */
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(body("HTTP/1.1 200\r\n\r\n", &b, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(body("HTTP/1.0 404 Not Found\r\n\r\n", &b, &n), -1);
	ck_assert_str_eq(err, "responder answered 'HTTP/1.0 404 Not Found'");
	ck_assert_int_eq(body("HTTP/1.0 2000 OK\r\n\r\n", &b, &n), -1);
	ck_assert_int_eq(body("HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>", &b, &n), -1);
	ck_assert_str_eq(err, "responder's reply is text/html, not application/ocsp-response");
	ck_assert_int_eq(body("HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nshort", &b, &n), -1);
	ck_assert_int_eq(body("HTTP/1.0 200 OK\r\nContent-Length: -1\r\n\r\nx", &b, &n), -1);
	ck_assert_int_eq(body("HTTP/1.0 200 OK\r\nContent-Length: 1x\r\n\r\nxx", &b, &n), -1);
	ck_assert_int_eq(body("HTTP/1.0 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nx", &b, &n), -1);
	ck_assert_int_eq(body("HTTP/1.0 200 OK\r\nContent-Length: 1", &b, &n), -1);
	ck_assert_str_eq(err, "responder's reply ended inside its HTTP header");
	ck_assert_int_eq(body("", &b, &n), -1);
	ck_assert_int_eq(body("\r\n\r\n", &b, &n), -1);
	ck_assert_str_eq(err, "responder's reply is not HTTP");
	ck_assert_int_eq(body("SMTP/1.0 200 OK\r\n\r\n", &b, &n), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ocsp_client");
	TCase *tc = tcase_create("ocsp_client");
	tcase_add_test(tc, urls);
	tcase_add_test(tc, http_replies);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
