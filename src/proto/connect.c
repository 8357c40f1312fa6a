/* HTTP CONNECT request building and response-head parsing. The password is only ever handled in
 * small chunks on the stack, wiped after use, and never copied into a message. */
#include "connect.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>

__attribute__((format(printf, 3, 4)))
static void say(char *msg, size_t msglen, const char *fmt, ...)
{
	if (!msg || msglen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
}

/* Bytes that may not appear in a request line or header: they would end or split it. */
static int is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 9110 tchar: what a header name is made of. */
static int is_tchar(unsigned char c)
{
	return is_digit((char)c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* ---- request ------------------------------------------------------------------------------- */

/* A bounded writer: once something does not fit (with room left for the final NUL), it stays
 * full and writes nothing more. */
struct out {
	char *buf;
	size_t len;
	size_t off;
	int full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || o->len - o->off <= n) {
		o->full = 1;
		return;
	}
	memcpy(o->buf + o->off, s, n);
	o->off += n;
	o->buf[o->off] = '\0';
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* base64(USER ":" PASS) without ever joining the two: the plain text goes through a small
 * chunk whose size is a multiple of 3, so the encoded chunks concatenate to the whole. */
static void put_basic(struct out *o, const char *user, const char *pass)
{
	const char *parts[3] = { user, ":", pass };
	unsigned char plain[48], enc[65];
	size_t n = 0, olen;
	for (int i = 0; i < 3; i++) {
		for (const char *p = parts[i]; *p; p++) {
			plain[n++] = (unsigned char)*p;
			if (n == sizeof(plain)) {
				mbedtls_base64_encode(enc, sizeof(enc), &olen, plain, n);
				put(o, (const char *)enc, olen);
				n = 0;
			}
		}
	}
	if (n) {
		mbedtls_base64_encode(enc, sizeof(enc), &olen, plain, n);
		put(o, (const char *)enc, olen);
	}
	mbedtls_platform_zeroize(plain, sizeof(plain));
	mbedtls_platform_zeroize(enc, sizeof(enc));
}

/* 1 when HOST may stand before ":PORT"; *BRACKET is set when it needs "[...]" around it. */
static int host_ok(const char *host, int *bracket)
{
	size_t n = strlen(host);
	*bracket = 0;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (is_ctl((unsigned char)host[i]) || host[i] == ' ')
			return 0;
	if (host[0] == '[') /* already bracketed: "[::1]" */
		return n > 2 && host[n - 1] == ']' && strcspn(host + 1, "[]") == n - 2;
	if (strcspn(host, "[]") != n)
		return 0;
	*bracket = strchr(host, ':') != NULL;
	return 1;
}

static int port_ok(const char *port)
{
	size_t n = strlen(port);
	if (n == 0 || n > 5 || strspn(port, "0123456789") != n)
		return 0;
	long v = strtol(port, NULL, 10);
	return v >= 1 && v <= 65535;
}

/* 0 when LINE is "Name: value" fit to send, else -1 with the reason (about header number I,
 * never quoting it: a header may carry a token) in ERR. */
static int header_ok(const char *line, int i, int have_auth, char *err, size_t errlen)
{
	size_t name = 0;
	while (is_tchar((unsigned char)line[name]))
		name++;
	if (name == 0 || line[name] != ':' || line[name + 1] != ' ') {
		say(err, errlen, "extra proxy header %d is not \"Name: value\"", i + 1);
		return -1;
	}
	for (const char *p = line + name + 2; *p; p++)
		if (is_ctl((unsigned char)*p) && *p != '\t') {
			say(err, errlen, "extra proxy header %d holds CR, LF or a control character", i + 1);
			return -1;
		}
	if (name == 4 && strncasecmp(line, "Host", 4) == 0) {
		say(err, errlen, "extra proxy header %d repeats Host", i + 1);
		return -1;
	}
	if (have_auth && name == 19 && strncasecmp(line, "Proxy-Authorization", 19) == 0) {
		say(err, errlen, "extra proxy header %d repeats Proxy-Authorization", i + 1);
		return -1;
	}
	return 0;
}

int connect_request(const char *host, const char *port, const char *user, const char *pass,
		    const char *const *headers, int nheaders, char *buf, size_t len, char *err, size_t errlen)
{
	struct out o = { buf, len, 0, 0 };
	int bracket;

	if (!host_ok(host, &bracket)) {
		say(err, errlen, "CONNECT host is empty or holds a space, bracket or control character");
		goto fail;
	}
	if (!port_ok(port)) {
		say(err, errlen, "CONNECT port must be a number from 1 to 65535");
		goto fail;
	}
	if (user) {
		for (const char *p = user; *p; p++)
			if (*p == ':' || is_ctl((unsigned char)*p)) {
				say(err, errlen, "proxy user name holds ':' or a control character");
				goto fail;
			}
	}
	if (nheaders < 0 || (nheaders > 0 && !headers)) {
		say(err, errlen, "bad count of extra proxy headers");
		goto fail;
	}
	for (int i = 0; i < nheaders; i++)
		if (header_ok(headers[i], i, user != NULL, err, errlen) < 0)
			goto fail;

	for (int line = 0; line < 2; line++) {
		put_str(&o, line == 0 ? "CONNECT " : "Host: ");
		put_str(&o, bracket ? "[" : "");
		put_str(&o, host);
		put_str(&o, bracket ? "]:" : ":");
		put_str(&o, port);
		put_str(&o, line == 0 ? " HTTP/1.1\r\n" : "\r\n");
	}
	if (user) {
		put_str(&o, "Proxy-Authorization: Basic ");
		put_basic(&o, user, pass ? pass : "");
		put_str(&o, "\r\n");
	}
	for (int i = 0; i < nheaders; i++) {
		put_str(&o, headers[i]);
		put_str(&o, "\r\n");
	}
	put_str(&o, "\r\n");
	if (o.full || o.off > INT_MAX) {
		say(err, errlen, "CONNECT request does not fit in %zu bytes", len);
		goto fail;
	}
	return (int)o.off;

fail:
	/* a partial request may hold part of the encoded password */
	if (buf && len)
		mbedtls_platform_zeroize(buf, len);
	return -1;
}

/* ---- response ------------------------------------------------------------------------------ */

/* PREFIX followed by the N bytes of S into WHY, each byte outside printable ASCII as '?'. */
static void say_text(char *why, size_t whylen, const char *prefix, const char *s, size_t n)
{
	if (!why || whylen == 0)
		return;
	size_t off = strlen(prefix) < whylen ? strlen(prefix) : whylen - 1;
	memcpy(why, prefix, off);
	for (size_t i = 0; i < n && off + 1 < whylen; i++) {
		unsigned char c = (unsigned char)s[i];
		why[off++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	why[off] = '\0';
}

/* "HTTP/1.x NNN" then the end or " reason": the LEN bytes of LINE, without its line end. */
static int status_line_ok(const char *line, size_t len)
{
	return len >= 12 && memcmp(line, "HTTP/1.", 7) == 0 && is_digit(line[7]) && line[8] == ' ' &&
	       is_digit(line[9]) && is_digit(line[10]) && is_digit(line[11]) &&
	       (len == 12 || line[12] == ' ');
}

int connect_response(const char *buf, size_t len, char *why, size_t whylen)
{
	static const char proto[] = "HTTP/1.";
	size_t scan = len < CONNECT_MAX_HEAD ? len : CONNECT_MAX_HEAD;

	if (len == 0)
		return 0;
	/* a proxy that is not speaking HTTP is told apart from the first bytes */
	if (memcmp(buf, proto, scan < sizeof(proto) - 1 ? scan : sizeof(proto) - 1) != 0) {
		say(why, whylen, "proxy sent a non-HTTP response");
		return -1;
	}

	/* the head ends at the first empty line after the status line */
	size_t end = 0, status_end = 0;
	for (size_t start = 0, i = 0; i < scan && !end; i++) {
		if (buf[i] != '\n')
			continue;
		size_t n = i - start;
		if (n && buf[i - 1] == '\r')
			n--;
		if (start == 0)
			status_end = n + 1; /* +1: 0 means "not seen yet" */
		else if (n == 0)
			end = i + 1;
		start = i + 1;
	}
	if (memchr(buf, '\0', end ? end : scan)) {
		say(why, whylen, "proxy response head holds a NUL byte");
		return -1;
	}
	if (status_end) {
		size_t n = status_end - 1;
		if (!status_line_ok(buf, n)) {
			say_text(why, whylen, "proxy sent a malformed status line: ", buf, n);
			return -1;
		}
		if (buf[9] != '2') {
			say_text(why, whylen, "", buf, n);
			return -1;
		}
	}
	if (end)
		return (int)end;
	if (len >= CONNECT_MAX_HEAD) {
		say(why, whylen, "proxy response head larger than %d bytes", CONNECT_MAX_HEAD);
		return -1;
	}
	return 0;
}
