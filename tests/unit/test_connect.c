/* Unit tests for src/proto/connect.c: the CONNECT request bytes and the reading of the proxy's answer. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>

#include "proto/connect.h"

static char buf[4096];
static char err[256];

static int request(const char *host, const char *port, const char *user, const char *pass,
		   const char *const *headers, int nheaders)
{
	memset(err, 0, sizeof(err));
	return connect_request(host, port, user, pass, headers, nheaders, buf, sizeof(buf), err, sizeof(err));
}

static void request_is(int n, const char *want)
{
	ck_assert_msg(n >= 0, "refused: %s", err);
	ck_assert_int_eq(n, (int)strlen(want));
	ck_assert_str_eq(buf, want);
}

START_TEST(request_plain)
{
	request_is(request("example.org", "443", NULL, NULL, NULL, 0),
		   "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n");
	request_is(request("10.1.2.3", "8443", NULL, "ignored", NULL, 0),
		   "CONNECT 10.1.2.3:8443 HTTP/1.1\r\nHost: 10.1.2.3:8443\r\n\r\n");
}
END_TEST

START_TEST(request_auth)
{
	request_is(request("example.org", "443", "user", "pa:ss", NULL, 0),
		   "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n"
		   "Proxy-Authorization: Basic dXNlcjpwYTpzcw==\r\n\r\n");
	/* no password is an empty one: base64("bob:") */
	request_is(request("h", "1", "bob", NULL, NULL, 0),
		   "CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\nProxy-Authorization: Basic Ym9iOg==\r\n\r\n");
}
END_TEST

/* The password is encoded in chunks; any length must give the base64 of the whole "user:pass". */
START_TEST(request_auth_long_password)
{
	for (size_t plen = 0; plen < 200; plen++) {
		char pass[256], joined[300], b64[512], want[1024];
		size_t olen;
		for (size_t i = 0; i < plen; i++)
			pass[i] = (char)('!' + (i * 7) % 90);
		pass[plen] = '\0';
		snprintf(joined, sizeof(joined), "u%zu:%s", plen % 10, pass);
		ck_assert_int_eq(mbedtls_base64_encode((unsigned char *)b64, sizeof(b64), &olen,
						       (const unsigned char *)joined, strlen(joined)), 0);
		snprintf(want, sizeof(want), "CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\nProxy-Authorization: Basic %s\r\n\r\n", b64);
		char user[3] = { 'u', (char)('0' + plen % 10), '\0' };
		request_is(request("h", "1", user, pass, NULL, 0), want);
	}
}
END_TEST

START_TEST(request_headers)
{
	const char *const h[] = { "User-Agent: tlswrap", "X-Empty: ", "X-Tab: a\tb" };
	request_is(request("example.org", "443", "user", "pa:ss", h, 3),
		   "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n"
		   "Proxy-Authorization: Basic dXNlcjpwYTpzcw==\r\n"
		   "User-Agent: tlswrap\r\nX-Empty: \r\nX-Tab: a\tb\r\n\r\n");
	/* Proxy-Authorization of another scheme is the caller's when no user is given */
	const char *const bearer[] = { "Proxy-Authorization: Bearer abc" };
	request_is(request("h", "1", NULL, NULL, bearer, 1),
		   "CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\nProxy-Authorization: Bearer abc\r\n\r\n");
}
END_TEST

START_TEST(request_ipv6)
{
	request_is(request("::1", "443", NULL, NULL, NULL, 0), "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n");
	request_is(request("2001:db8::5", "80", NULL, NULL, NULL, 0),
		   "CONNECT [2001:db8::5]:80 HTTP/1.1\r\nHost: [2001:db8::5]:80\r\n\r\n");
	request_is(request("[::1]", "443", NULL, NULL, NULL, 0), "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n");
}
END_TEST

static void request_refused(int n, const char *want)
{
	ck_assert_int_eq(n, -1);
	ck_assert_msg(strstr(err, want), "expected '%s' in '%s'", want, err);
	for (size_t i = 0; i < sizeof(buf); i++)
		ck_assert_msg(buf[i] == '\0', "buffer not wiped at %zu", i);
}

START_TEST(request_bad_header)
{
	const char *const cases[] = {
		"X-Inject: a\r\nHost: evil", "X-LF: a\nb", "X-CR: a\rb", "NoColon", "X-NoSpace:value", ": novalue",
		"Bad Name: x", "X-Del: \x7f", "Host: other", "HOST: other",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const h[] = { "X-Ok: fine", cases[i] };
		request_refused(request("h", "1", NULL, NULL, h, 2), "extra proxy header 2");
		ck_assert_ptr_null(strstr(err, cases[i] + 3)); /* no header text in the message */
	}
	const char *const dup[] = { "proxy-authorization: Basic x" };
	request_refused(request("h", "1", "user", "pass", dup, 1), "repeats Proxy-Authorization");
	request_refused(request("h", "1", NULL, NULL, NULL, -1), "count");
	request_refused(request("h", "1", NULL, NULL, NULL, 1), "count");
}
END_TEST

START_TEST(request_bad_host_port_user)
{
	const char *hosts[] = { "", "a b", "a\r\nX: y", "a\n", "a\r", "[::1", "::1]", "[]", "[::1]x", "a\tb" };
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		request_refused(request(hosts[i], "443", NULL, NULL, NULL, 0), "CONNECT host");
	const char *ports[] = { "", "0", "65536", "123456", "-1", "+1", "44 3", "https", "443\r\n" };
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		request_refused(request("h", ports[i], NULL, NULL, NULL, 0), "CONNECT port");
	request_is(request("h", "65535", NULL, NULL, NULL, 0), "CONNECT h:65535 HTTP/1.1\r\nHost: h:65535\r\n\r\n");
	request_refused(request("h", "1", "us:er", "p", NULL, 0), "user name");
	request_refused(request("h", "1", "us\r\ner", "p", NULL, 0), "user name");
}
END_TEST

/* Every buffer too small by even one byte (the NUL counts) is refused without a byte written past it. */
START_TEST(request_small_buffers)
{
	const char *const h[] = { "User-Agent: tlswrap" };
	char want[512];
	int n = request("2001:db8::1", "443", "user", "sesame-secret-password", h, 1);
	ck_assert_int_gt(n, 0);
	memcpy(want, buf, (size_t)n + 1);
	for (size_t len = 0; len <= (size_t)n + 1; len++) {
		char *b = malloc(len ? len : 1); /* exact size: ASan sees any overflow */
		char e[128] = "";
		int r = connect_request("2001:db8::1", "443", "user", "sesame-secret-password", h, 1, b, len, e, sizeof(e));
		if (len <= (size_t)n) {
			ck_assert_int_eq(r, -1);
			ck_assert_msg(strstr(e, "does not fit"), "len %zu: '%s'", len, e);
			for (size_t i = 0; i < len; i++)
				ck_assert_msg(b[i] == '\0', "len %zu: byte %zu not wiped", len, i);
		} else {
			ck_assert_int_eq(r, n);
			ck_assert_str_eq(b, want);
		}
		free(b);
	}
	/* a NULL or empty ERR is allowed */
	ck_assert_int_eq(connect_request("h", "1", NULL, NULL, NULL, 0, buf, 4, NULL, 0), -1);
}
END_TEST

START_TEST(request_password_never_in_err)
{
	const char *secret = "sesame-secret-password";
	const char *const badh[] = { "X: sesame-secret-password\r\n" };
	const char *const okh[] = { "X: y" };
	char small[40];
	struct {
		const char *host, *port, *user;
		const char *const *h;
		int nh;
		size_t len;
	} cases[] = {
		{ "h", "1", "user", badh, 1, sizeof(buf) },
		{ "h b", "1", "user", okh, 1, sizeof(buf) },
		{ "h", "x", "user", okh, 1, sizeof(buf) },
		{ "h", "1", "us:er", okh, 1, sizeof(buf) },
		{ "h", "1", "user", okh, 1, sizeof(small) },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *b = cases[i].len == sizeof(small) ? small : buf;
		memset(err, 0, sizeof(err));
		ck_assert_int_eq(connect_request(cases[i].host, cases[i].port, cases[i].user, secret, cases[i].h,
						 cases[i].nh, b, cases[i].len, err, sizeof(err)), -1);
		ck_assert_str_ne(err, "");
		ck_assert_ptr_null(strstr(err, "sesame"));
		ck_assert_ptr_null(strstr(err, "c2VzYW1l")); /* nor its base64 */
	}
}
END_TEST

/* ---- response ---- */

static char why[256];

static int response(const char *s)
{
	memset(why, 0, sizeof(why));
	return connect_response(s, strlen(s), why, sizeof(why));
}

START_TEST(response_200_with_headers)
{
	const char *r = "HTTP/1.1 200 Connection established\r\nProxy-Agent: tinyproxy/1.11.1\r\nVia: x\r\n\r\n";
	ck_assert_int_eq(response(r), (int)strlen(r));
	const char *r0 = "HTTP/1.0 200 OK\r\n\r\n";
	ck_assert_int_eq(response(r0), (int)strlen(r0));
	const char *noreason = "HTTP/1.1 200\r\n\r\n";
	ck_assert_int_eq(response(noreason), (int)strlen(noreason));
}
END_TEST

START_TEST(response_bare_lf)
{
	const char *r = "HTTP/1.1 200 OK\nX: y\n\n";
	ck_assert_int_eq(response(r), (int)strlen(r));
	const char *mixed = "HTTP/1.1 200 OK\r\nX: y\n\r\n";
	ck_assert_int_eq(response(mixed), (int)strlen(mixed));
}
END_TEST

START_TEST(response_any_2xx)
{
	const char *r = "HTTP/1.1 204 No Content\r\n\r\n";
	ck_assert_int_eq(response(r), (int)strlen(r));
	const char *r2 = "HTTP/1.1 299 Whatever\r\n\r\n";
	ck_assert_int_eq(response(r2), (int)strlen(r2));
}
END_TEST

START_TEST(response_split)
{
	const char *r = "HTTP/1.1 200 Connection established\r\nProxy-Agent: p\r\n\r\n";
	size_t n = strlen(r);
	for (size_t i = 0; i < n; i++) {
		char *b = malloc(i ? i : 1);
		memcpy(b, r, i);
		ck_assert_msg(connect_response(b, i, why, sizeof(why)) == 0, "prefix %zu: %s", i, why);
		free(b);
	}
	ck_assert_int_eq(connect_response(r, n, why, sizeof(why)), (int)n);
	/* the same with bare LFs */
	const char *lf = "HTTP/1.1 200 OK\nA: b\n\n";
	for (size_t i = 0; i < strlen(lf); i++)
		ck_assert_int_eq(connect_response(lf, i, why, sizeof(why)), 0);
	ck_assert_int_eq(connect_response(lf, strlen(lf), why, sizeof(why)), (int)strlen(lf));
}
END_TEST

START_TEST(response_tunnel_bytes_kept)
{
	const char head[] = "HTTP/1.1 200 OK\r\n\r\n";
	char b[64];
	memcpy(b, head, sizeof(head) - 1);
	/* a TLS ServerHello-ish start, a NUL and a blank line: all tunnel bytes */
	const char tail[] = "\x16\x03\x01\x00\r\n\r\nHTTP/1.1 500 x\r\n";
	memcpy(b + sizeof(head) - 1, tail, sizeof(tail) - 1);
	size_t len = sizeof(head) - 1 + sizeof(tail) - 1;
	ck_assert_int_eq(connect_response(b, len, why, sizeof(why)), (int)(sizeof(head) - 1));
}
END_TEST

START_TEST(response_refused)
{
	ck_assert_int_eq(response("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n"), -1);
	ck_assert_str_eq(why, "HTTP/1.1 407 Proxy Authentication Required");
	ck_assert_int_eq(response("HTTP/1.0 502 Bad Gateway\r\n\r\n"), -1);
	ck_assert_str_eq(why, "HTTP/1.0 502 Bad Gateway");
	/* refused as soon as the status line is whole, before the rest of the head */
	ck_assert_int_eq(response("HTTP/1.1 403 Access violation\r\nContent-Type: text/html\r\n"), -1);
	ck_assert_str_eq(why, "HTTP/1.1 403 Access violation");
	ck_assert_int_eq(response("HTTP/1.1 100 Continue\n\n"), -1);
	ck_assert_str_eq(why, "HTTP/1.1 100 Continue");
	ck_assert_int_eq(response("HTTP/1.1 301 Moved\r\n"), -1);
	/* control characters and non-ASCII become '?' */
	ck_assert_int_eq(response("HTTP/1.1 502 Bad\x1b[31m \xc3\xa9 \t\r\n\r\n"), -1);
	ck_assert_str_eq(why, "HTTP/1.1 502 Bad?[31m ?? ?");
	/* cut to WHYLEN */
	char small[13];
	const char *r = "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n";
	ck_assert_int_eq(connect_response(r, strlen(r), small, sizeof(small)), -1);
	ck_assert_str_eq(small, "HTTP/1.1 407");
	ck_assert_int_eq(connect_response(r, strlen(r), NULL, 0), -1);
}
END_TEST

static void malformed(const char *r, const char *want)
{
	ck_assert_int_eq(response(r), -1);
	ck_assert_msg(strstr(why, want), "expected '%s' in '%s'", want, why);
}

START_TEST(response_malformed)
{
	malformed("HTTP/1.1 20 OK\r\n\r\n", "proxy sent a malformed status line: HTTP/1.1 20 OK");
	malformed("HTTP/1.1 2000 OK\r\n\r\n", "malformed status line");
	malformed("HTTP/1.1 200OK\r\n\r\n", "malformed status line");
	malformed("HTTP/1.1  200 OK\r\n\r\n", "malformed status line");
	malformed("HTTP/1.x 200 OK\r\n\r\n", "malformed status line");
	malformed("HTTP/1.1\r\n\r\n", "malformed status line");
	malformed("HTTP/1.1 2a0 OK\r\n\r\n", "malformed status line");
	malformed("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", "proxy sent a non-HTTP response");
	malformed("SSH-", "proxy sent a non-HTTP response"); /* known from the first bytes */
	malformed("HTTP/2 200\r\n\r\n", "non-HTTP");
	malformed("http/1.1 200 OK\r\n\r\n", "non-HTTP");
	malformed("\r\n", "non-HTTP");
	malformed("\x16\x03\x03", "non-HTTP");
}
END_TEST

START_TEST(response_nul)
{
	const char r[] = "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n";
	ck_assert_int_eq(connect_response(r, sizeof(r) - 1, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "proxy response head holds a NUL byte");
	/* noticed before the head is complete, and in the status line too */
	ck_assert_int_eq(connect_response(r, 22, why, sizeof(why)), -1);
	const char s[] = "HTTP/1.1 200 O\0K\r\n\r\n";
	ck_assert_int_eq(connect_response(s, sizeof(s) - 1, why, sizeof(why)), -1);
}
END_TEST

START_TEST(response_oversized)
{
	size_t size = CONNECT_MAX_HEAD + 100;
	char *b = malloc(size);
	memset(b, 'a', size);
	memcpy(b, "HTTP/1.1 200 OK\r\n", 17);
	for (size_t i = 17; i + 15 <= size; i += 15)
		memcpy(b + i, "X-Pad: aaaaaa\r\n", 15);
	/* no blank line: more is needed up to the limit, refused from it on */
	ck_assert_int_eq(connect_response(b, CONNECT_MAX_HEAD - 1, why, sizeof(why)), 0);
	ck_assert_int_eq(connect_response(b, CONNECT_MAX_HEAD, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "proxy response head larger than 8192 bytes");
	ck_assert_int_eq(connect_response(b, size, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "proxy response head larger than 8192 bytes");

	/* a head of exactly CONNECT_MAX_HEAD bytes is accepted, one more is not */
	memset(b, 'a', size);
	memcpy(b, "HTTP/1.1 200 OK\r\nX: ", 20);
	memcpy(b + CONNECT_MAX_HEAD - 4, "\r\n\r\n", 4);
	ck_assert_int_eq(connect_response(b, size, why, sizeof(why)), CONNECT_MAX_HEAD);
	memset(b, 'a', size);
	memcpy(b, "HTTP/1.1 200 OK\r\nX: ", 20);
	memcpy(b + CONNECT_MAX_HEAD - 3, "\r\n\r\n", 4);
	ck_assert_int_eq(connect_response(b, size, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "proxy response head larger than 8192 bytes");
	free(b);
}
END_TEST

START_TEST(response_empty)
{
	ck_assert_int_eq(connect_response("", 0, why, sizeof(why)), 0);
	ck_assert_int_eq(connect_response(NULL, 0, why, sizeof(why)), 0);
	ck_assert_int_eq(response("H"), 0);
	ck_assert_int_eq(response("HTTP/1.1 2"), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("connect");
	TCase *req = tcase_create("request");
	tcase_add_test(req, request_plain);
	tcase_add_test(req, request_auth);
	tcase_add_test(req, request_auth_long_password);
	tcase_add_test(req, request_headers);
	tcase_add_test(req, request_ipv6);
	tcase_add_test(req, request_bad_header);
	tcase_add_test(req, request_bad_host_port_user);
	tcase_add_test(req, request_small_buffers);
	tcase_add_test(req, request_password_never_in_err);
	suite_add_tcase(s, req);
	TCase *resp = tcase_create("response");
	tcase_add_test(resp, response_200_with_headers);
	tcase_add_test(resp, response_bare_lf);
	tcase_add_test(resp, response_any_2xx);
	tcase_add_test(resp, response_split);
	tcase_add_test(resp, response_tunnel_bytes_kept);
	tcase_add_test(resp, response_refused);
	tcase_add_test(resp, response_malformed);
	tcase_add_test(resp, response_nul);
	tcase_add_test(resp, response_oversized);
	tcase_add_test(resp, response_empty);
	suite_add_tcase(s, resp);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
