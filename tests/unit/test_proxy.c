/* Unit tests for src/proto/proxy.c: PROXY protocol v1/v2 against HAProxy's proxy-protocol.txt. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "proto/proxy.h"

static const unsigned char SIG[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };

static struct sockaddr_storage addr(const char *ip, unsigned port)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
	} else {
		ck_assert_msg(inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1, "bad test address %s", ip);
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
	}
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

/* Byte-by-byte comparison that names the first differing offset. */
static void expect_bytes(const unsigned char *got, int n, const unsigned char *want, size_t wantn)
{
	ck_assert_int_eq(n, (int)wantn);
	for (size_t i = 0; i < wantn; i++)
		ck_assert_msg(got[i] == want[i], "byte %zu: got 0x%02x, want 0x%02x", i, got[i], want[i]);
}

static void expect_v1(const struct sockaddr_storage *s, const struct sockaddr_storage *d, const char *want)
{
	char buf[256];
	int n = proxy_encode_v1(SA(*s), SA(*d), buf, sizeof(buf));
	ck_assert_int_eq(n, (int)strlen(want));
	ck_assert_msg(memcmp(buf, want, (size_t)n) == 0, "got '%.*s', want '%s'", n, buf, want);
}

/* An address as decode left it, compared with one the test built. */
static void expect_addr(const struct sockaddr_storage *got, const char *ip, unsigned port)
{
	struct sockaddr_storage want = addr(ip, port);
	ck_assert_int_eq(got->ss_family, want.ss_family);
	if (want.ss_family == AF_INET) {
		const struct sockaddr_in *g = (const struct sockaddr_in *)got, *w = (const struct sockaddr_in *)&want;
		ck_assert(memcmp(&g->sin_addr, &w->sin_addr, 4) == 0);
		ck_assert_uint_eq(ntohs(g->sin_port), port);
	} else {
		const struct sockaddr_in6 *g = (const struct sockaddr_in6 *)got, *w = (const struct sockaddr_in6 *)&want;
		ck_assert(memcmp(&g->sin6_addr, &w->sin6_addr, 16) == 0);
		ck_assert_uint_eq(ntohs(g->sin6_port), port);
	}
}

static int decode(const void *buf, size_t len, struct sockaddr_storage *s, struct sockaddr_storage *d,
		  const char **why)
{
	return proxy_decode(buf, len, s, d, why);
}

/* BUF[0..N) must be rejected: -1 with a reason, outputs untouched. */
static void expect_bad(const void *buf, size_t n, const char *reason_part)
{
	struct sockaddr_storage s, d;
	memset(&s, 0x5A, sizeof(s));
	memset(&d, 0x5A, sizeof(d));
	const char *why = NULL;
	ck_assert_int_eq(decode(buf, n, &s, &d, &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, reason_part), "expected '%s' in '%s'", reason_part, why);
	for (size_t i = 0; i < sizeof(s); i++)
		ck_assert(((unsigned char *)&s)[i] == 0x5A && ((unsigned char *)&d)[i] == 0x5A);
}

static void expect_bad_str(const char *line, const char *reason_part)
{
	expect_bad(line, strlen(line), reason_part);
}

/* Every proper prefix of BUF[0..N) asks for more; the whole of it gives N, with or without data after. */
static void expect_split(const unsigned char *buf, size_t n)
{
	struct sockaddr_storage s, d;
	const char *why = "unset";
	for (size_t k = 0; k < n; k++)
		ck_assert_msg(decode(buf, k, &s, &d, &why) == 0, "prefix %zu of %zu: %s", k, n, why);
	ck_assert_str_eq(why, "unset");
	ck_assert_int_eq(decode(buf, n, &s, &d, &why), (int)n);
	unsigned char more[PROXY_V1_MAX + 512];
	ck_assert_uint_le(n + 20, sizeof(more));
	memcpy(more, buf, n);
	memcpy(more + n, "GET / HTTP/1.1\r\n\r\n\r\n", 20);
	ck_assert_int_eq(decode(more, n + 20, &s, &d, &why), (int)n);
}

/* ---- v1 encoding ------------------------------------------------------------------------- */

START_TEST(v1_tcp4_spec_example)
{
	struct sockaddr_storage s = addr("192.168.0.1", 56324), d = addr("192.168.0.11", 443);
	expect_v1(&s, &d, "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n");
	s = addr("255.255.255.255", 65535);
	d = addr("0.0.0.0", 0);
	expect_v1(&s, &d, "PROXY TCP4 255.255.255.255 0.0.0.0 65535 0\r\n");
}
END_TEST

START_TEST(v1_tcp6)
{
	struct sockaddr_storage s = addr("2001:db8::1", 56324), d = addr("2001:db8::11", 443);
	expect_v1(&s, &d, "PROXY TCP6 2001:db8::1 2001:db8::11 56324 443\r\n");
}
END_TEST

START_TEST(v1_tcp6_longest_line_is_104)
{
	const char *ff = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
	struct sockaddr_storage s = addr(ff, 65535), d = addr(ff, 65535);
	char want[128];
	snprintf(want, sizeof(want), "PROXY TCP6 %s %s 65535 65535\r\n", ff, ff);
	ck_assert_uint_eq(strlen(want), 104);
	expect_v1(&s, &d, want);
}
END_TEST

START_TEST(v1_ipv6_text_is_canonical)
{
	/* RFC 5952: lowercase, longest zero run compressed (first on a tie), one zero group kept */
	static const char *cases[][2] = {
		{ "::1", "::1" },
		{ "::", "::" },
		{ "1::", "1::" },
		{ "2001:DB8:0:0:0:0:0:1", "2001:db8::1" },
		{ "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1" },
		{ "2001:0:0:1:0:0:0:1", "2001:0:0:1::1" },
		{ "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1" },
		{ "0:2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8" }, /* one zero group is not "::" */
		{ "::1.2.3.4", "::102:304" }, /* no dotted tail: hex groups only, as the spec asks */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage s = addr(cases[i][0], 1), d = addr("::1", 2);
		char want[128];
		snprintf(want, sizeof(want), "PROXY TCP6 %s ::1 1 2\r\n", cases[i][1]);
		expect_v1(&s, &d, want);
	}
}
END_TEST

START_TEST(v1_mapped_ipv6_is_tcp4)
{
	struct sockaddr_storage s = addr("::ffff:192.168.0.1", 56324), d = addr("::ffff:192.168.0.11", 443);
	expect_v1(&s, &d, "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n");
	/* one end mapped, one plain IPv4 */
	d = addr("192.168.0.11", 443);
	expect_v1(&s, &d, "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n");
	/* IPv4 paired with real IPv6 can only be said as TCP6, the IPv4 end mapped */
	d = addr("2001:db8::11", 443);
	expect_v1(&s, &d, "PROXY TCP6 ::ffff:c0a8:1 2001:db8::11 56324 443\r\n");
}
END_TEST

START_TEST(v1_unknown)
{
	struct sockaddr_storage v4 = addr("10.0.0.1", 1);
	struct sockaddr_un un;
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	strcpy(un.sun_path, "/run/x.sock");
	char buf[64];
	ck_assert_int_eq(proxy_encode_v1((struct sockaddr *)&un, SA(v4), buf, sizeof(buf)), 15);
	ck_assert(memcmp(buf, "PROXY UNKNOWN\r\n", 15) == 0);
	ck_assert_int_eq(proxy_encode_v1(SA(v4), (struct sockaddr *)&un, buf, sizeof(buf)), 15);
	ck_assert_int_eq(proxy_encode_v1(NULL, NULL, buf, sizeof(buf)), 15);
	ck_assert(memcmp(buf, "PROXY UNKNOWN\r\n", 15) == 0);
}
END_TEST

/* Every LEN below the header's size fails and writes nothing: checked in a guarded buffer and in an
 * exactly sized allocation (which AddressSanitizer watches). */
static void v1_every_length(const struct sockaddr_storage *s, const struct sockaddr_storage *d)
{
	char full[PROXY_V1_MAX + 1];
	int n = proxy_encode_v1(SA(*s), SA(*d), full, sizeof(full));
	ck_assert_int_gt(n, 0);
	for (size_t len = 0; len <= (size_t)n; len++) {
		char guard[PROXY_V1_MAX + 32];
		memset(guard, 0xAA, sizeof(guard));
		char *exact = malloc(len ? len : 1);
		ck_assert_ptr_nonnull(exact);
		int r = proxy_encode_v1(SA(*s), SA(*d), guard, len);
		int r2 = proxy_encode_v1(SA(*s), SA(*d), exact, len);
		ck_assert_int_eq(r, r2);
		if (len < (size_t)n) {
			ck_assert_int_eq(r, -1);
			for (size_t i = 0; i < sizeof(guard); i++)
				ck_assert_msg((unsigned char)guard[i] == 0xAA, "len %zu wrote byte %zu", len, i);
		} else {
			ck_assert_int_eq(r, n);
			ck_assert(memcmp(guard, full, (size_t)n) == 0 && memcmp(exact, full, (size_t)n) == 0);
			for (size_t i = (size_t)n; i < sizeof(guard); i++)
				ck_assert((unsigned char)guard[i] == 0xAA);
		}
		free(exact);
	}
}

START_TEST(v1_short_buffer_every_length)
{
	const char *ff = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
	struct sockaddr_storage s4 = addr("192.168.0.1", 56324), d4 = addr("192.168.0.11", 443);
	struct sockaddr_storage s6 = addr(ff, 65535), d6 = addr(ff, 65535);
	v1_every_length(&s4, &d4);
	v1_every_length(&s6, &d6);
	v1_every_length(&s4, &d6);
	struct sockaddr_storage un;
	memset(&un, 0, sizeof(un));
	un.ss_family = AF_UNIX;
	v1_every_length(&un, &un);
}
END_TEST

/* ---- v2 encoding ------------------------------------------------------------------------- */

START_TEST(v2_ipv4_bytes)
{
	struct sockaddr_storage s = addr("192.168.0.1", 56324), d = addr("192.168.0.11", 443);
	static const unsigned char want[] = {
		0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, /* signature */
		0x21,                   /* version 2, PROXY */
		0x11,                   /* TCP over IPv4 */
		0x00, 0x0C,             /* 12 bytes follow */
		192,  168,  0,    1,    /* source */
		192,  168,  0,    11,   /* destination */
		0xDC, 0x04,             /* 56324 */
		0x01, 0xBB,             /* 443 */
	};
	unsigned char buf[128];
	expect_bytes(buf, proxy_encode_v2(SA(s), SA(d), NULL, buf, sizeof(buf)), want, sizeof(want));
	/* a mapped IPv6 pair is the same IPv4 header */
	s = addr("::ffff:192.168.0.1", 56324);
	d = addr("::ffff:192.168.0.11", 443);
	expect_bytes(buf, proxy_encode_v2(SA(s), SA(d), NULL, buf, sizeof(buf)), want, sizeof(want));
}
END_TEST

START_TEST(v2_ipv6_bytes)
{
	struct sockaddr_storage s = addr("2001:db8::1", 56324), d = addr("2001:db8::11", 443);
	static const unsigned char want[] = {
		0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21,
		0x21,       /* TCP over IPv6 */
		0x00, 0x24, /* 36 bytes follow */
		0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, /* source */
		0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11, /* destination */
		0xDC, 0x04, 0x01, 0xBB,
	};
	unsigned char buf[128];
	expect_bytes(buf, proxy_encode_v2(SA(s), SA(d), NULL, buf, sizeof(buf)), want, sizeof(want));
}
END_TEST

START_TEST(v2_mixed_family_is_ipv6_mapped)
{
	struct sockaddr_storage s = addr("10.1.2.3", 1), d = addr("2001:db8::11", 2);
	unsigned char buf[128];
	ck_assert_int_eq(proxy_encode_v2(SA(s), SA(d), NULL, buf, sizeof(buf)), 16 + 36);
	ck_assert_uint_eq(buf[13], 0x21);
	static const unsigned char mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 10, 1, 2, 3 };
	ck_assert(memcmp(buf + 16, mapped, 16) == 0);
}
END_TEST

START_TEST(v2_other_family_is_local_unspec)
{
	struct sockaddr_storage un;
	memset(&un, 0, sizeof(un));
	un.ss_family = AF_UNIX;
	unsigned char buf[128];
	static const unsigned char want[] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
					      0x20, /* LOCAL: what HAProxy sends, and all it accepts */
					      0x00, 0x00, 0x00 };
	expect_bytes(buf, proxy_encode_v2(SA(un), SA(un), NULL, buf, sizeof(buf)), want, sizeof(want));
	expect_bytes(buf, proxy_encode_v2(NULL, NULL, NULL, buf, sizeof(buf)), want, sizeof(want));
	/* TLVs still follow, right after the 16 bytes */
	struct proxy_tlv_info t = { .alpn = "h2" };
	ck_assert_int_eq(proxy_encode_v2(NULL, NULL, &t, buf, sizeof(buf)), 21);
	ck_assert_uint_eq(buf[15], 5);
	ck_assert(memcmp(buf + 16, "\x01\x00\x02h2", 5) == 0);
}
END_TEST

START_TEST(v2_tlv_layout_verified)
{
	struct sockaddr_storage s = addr("192.168.0.1", 56324), d = addr("192.168.0.11", 443);
	struct proxy_tlv_info t = { .alpn = "h2",
				    .authority = "example.com",
				    .ssl = 1,
				    .verified = 1,
				    .version = "TLSv1.3",
				    .cn = "client" };
	static const unsigned char want[] = {
		0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11,
		0x00, 58, /* 12 address + 5 ALPN + 14 authority + 27 SSL */
		192, 168, 0, 1, 192, 168, 0, 11, 0xDC, 0x04, 0x01, 0xBB,
		0x01, 0x00, 0x02, 'h', '2',                                           /* PP2_TYPE_ALPN */
		0x02, 0x00, 0x0B, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', /* PP2_TYPE_AUTHORITY */
		0x20, 0x00, 24,         /* PP2_TYPE_SSL: 5 + 10 + 9 */
		0x07,                   /* PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS */
		0x00, 0x00, 0x00, 0x00, /* verify: 0 = verified */
		0x21, 0x00, 0x07, 'T', 'L', 'S', 'v', '1', '.', '3', /* PP2_SUBTYPE_SSL_VERSION */
		0x22, 0x00, 0x06, 'c', 'l', 'i', 'e', 'n', 't',      /* PP2_SUBTYPE_SSL_CN */
	};
	unsigned char buf[256];
	expect_bytes(buf, proxy_encode_v2(SA(s), SA(d), &t, buf, sizeof(buf)), want, sizeof(want));
}
END_TEST

START_TEST(v2_tlv_layout_unverified)
{
	struct sockaddr_storage s = addr("192.168.0.1", 56324), d = addr("192.168.0.11", 443);
	struct proxy_tlv_info t = { .ssl = 1, .verified = 0, .version = "TLSv1.2" };
	static const unsigned char want[] = {
		0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11,
		0x00, 12 + 3 + 15,
		192, 168, 0, 1, 192, 168, 0, 11, 0xDC, 0x04, 0x01, 0xBB,
		0x20, 0x00, 15,         /* PP2_TYPE_SSL: 5 + 10 */
		0x01,                   /* PP2_CLIENT_SSL only */
		0x00, 0x00, 0x00, 0x01, /* verify: non-zero = not verified */
		0x21, 0x00, 0x07, 'T', 'L', 'S', 'v', '1', '.', '2',
	};
	unsigned char buf[256];
	expect_bytes(buf, proxy_encode_v2(SA(s), SA(d), &t, buf, sizeof(buf)), want, sizeof(want));

	/* no version and no CN: the SSL TLV is just its five fixed bytes */
	struct proxy_tlv_info bare = { .ssl = 1 };
	int n = proxy_encode_v2(SA(s), SA(d), &bare, buf, sizeof(buf));
	ck_assert_int_eq(n, 16 + 12 + 8);
	ck_assert(memcmp(buf + 28, "\x20\x00\x05\x01\x00\x00\x00\x01", 8) == 0);
}
END_TEST

START_TEST(v2_tlv_absent_when_not_given)
{
	struct sockaddr_storage s = addr("192.168.0.1", 1), d = addr("192.168.0.11", 2);
	unsigned char buf[256];
	/* ssl off: no SSL TLV, and version and CN (which only live inside it) are not sent either */
	struct proxy_tlv_info t = { .alpn = "", .authority = NULL, .ssl = 0, .verified = 1, .version = "TLSv1.3",
				    .cn = "x" };
	ck_assert_int_eq(proxy_encode_v2(SA(s), SA(d), &t, buf, sizeof(buf)), 28);
	ck_assert_uint_eq(buf[15], 12);
	struct proxy_tlv_info only_sni = { .authority = "a.example" };
	ck_assert_int_eq(proxy_encode_v2(SA(s), SA(d), &only_sni, buf, sizeof(buf)), 28 + 3 + 9);
	ck_assert(memcmp(buf + 28, "\x02\x00\x09" "a.example", 12) == 0);
}
END_TEST

START_TEST(v2_tlv_too_long)
{
	static char big[70000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	static unsigned char buf[PROXY_MAX + 100];
	struct sockaddr_storage s = addr("192.168.0.1", 1), d = addr("192.168.0.11", 2);
	struct proxy_tlv_info t = { .alpn = big };
	ck_assert_int_eq(proxy_encode_v2(SA(s), SA(d), &t, buf, sizeof(buf)), -1);
	/* each TLV fits alone, the whole header does not */
	big[40000] = '\0';
	struct proxy_tlv_info two = { .alpn = big, .authority = big };
	ck_assert_int_eq(proxy_encode_v2(SA(s), SA(d), &two, buf, sizeof(buf)), -1);
	/* the SSL TLV's own length field overflows through its sub-TLVs */
	struct proxy_tlv_info ssl = { .ssl = 1, .version = big, .cn = big };
	ck_assert_int_eq(proxy_encode_v2(SA(s), SA(d), &ssl, buf, sizeof(buf)), -1);
	/* exactly the largest header: 12 address bytes + 3 + 65520 */
	big[40000] = 'a';
	big[65520] = '\0';
	struct proxy_tlv_info max = { .authority = big };
	ck_assert_int_eq(proxy_encode_v2(SA(s), SA(d), &max, buf, sizeof(buf)), PROXY_MAX);
	ck_assert_int_eq(decode(buf, PROXY_MAX, NULL, NULL, NULL), PROXY_MAX);
	big[65520] = 'a';
	big[65521] = '\0';
	ck_assert_int_eq(proxy_encode_v2(SA(s), SA(d), &max, buf, sizeof(buf)), -1);
}
END_TEST

static void v2_every_length(const struct sockaddr_storage *s, const struct sockaddr_storage *d,
			    const struct proxy_tlv_info *t)
{
	unsigned char full[512];
	int n = proxy_encode_v2(SA(*s), SA(*d), t, full, sizeof(full));
	ck_assert_int_gt(n, 0);
	for (size_t len = 0; len <= (size_t)n; len++) {
		unsigned char guard[512 + 32];
		memset(guard, 0xAA, sizeof(guard));
		unsigned char *exact = malloc(len ? len : 1);
		ck_assert_ptr_nonnull(exact);
		int r = proxy_encode_v2(SA(*s), SA(*d), t, guard, len);
		int r2 = proxy_encode_v2(SA(*s), SA(*d), t, exact, len);
		ck_assert_int_eq(r, r2);
		if (len < (size_t)n) {
			ck_assert_int_eq(r, -1);
			for (size_t i = 0; i < sizeof(guard); i++)
				ck_assert_msg(guard[i] == 0xAA, "len %zu wrote byte %zu", len, i);
		} else {
			ck_assert_int_eq(r, n);
			ck_assert(memcmp(guard, full, (size_t)n) == 0 && memcmp(exact, full, (size_t)n) == 0);
			for (size_t i = (size_t)n; i < sizeof(guard); i++)
				ck_assert(guard[i] == 0xAA);
		}
		free(exact);
	}
}

START_TEST(v2_short_buffer_every_length)
{
	struct sockaddr_storage s4 = addr("192.168.0.1", 56324), d4 = addr("192.168.0.11", 443);
	struct sockaddr_storage s6 = addr("2001:db8::1", 1), d6 = addr("2001:db8::2", 2);
	struct proxy_tlv_info t = { .alpn = "http/1.1",
				    .authority = "example.com",
				    .ssl = 1,
				    .verified = 1,
				    .version = "TLSv1.3",
				    .cn = "client.example" };
	v2_every_length(&s4, &d4, NULL);
	v2_every_length(&s6, &d6, NULL);
	v2_every_length(&s4, &d4, &t);
	v2_every_length(&s6, &d6, &t);
	struct sockaddr_storage un;
	memset(&un, 0, sizeof(un));
	un.ss_family = AF_UNIX;
	v2_every_length(&un, &un, &t);
}
END_TEST

/* ---- round trips and split input ---------------------------------------------------------- */

static const char *rt_pairs[][2] = {
	{ "192.168.0.1", "192.168.0.11" },
	{ "0.0.0.0", "255.255.255.255" },
	{ "2001:db8::1", "2001:db8::11" },
	{ "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
	{ "fe80::1:2:3:4", "::1" },
};

START_TEST(roundtrip_v1_and_v2)
{
	struct proxy_tlv_info t = { .alpn = "h2", .authority = "example.com", .ssl = 1, .version = "TLSv1.3" };
	unsigned ports[][2] = { { 56324, 443 }, { 0, 65535 }, { 1, 10 } };
	for (size_t i = 0; i < sizeof(rt_pairs) / sizeof(rt_pairs[0]); i++) {
		for (size_t k = 0; k < 3; k++) {
			struct sockaddr_storage s = addr(rt_pairs[i][0], ports[k][0]);
			struct sockaddr_storage d = addr(rt_pairs[i][1], ports[k][1]);
			struct sockaddr_storage gs, gd;
			char line[PROXY_V1_MAX];
			int n = proxy_encode_v1(SA(s), SA(d), line, sizeof(line));
			ck_assert_int_gt(n, 0);
			ck_assert_int_eq(decode(line, (size_t)n, &gs, &gd, NULL), n);
			expect_addr(&gs, rt_pairs[i][0], ports[k][0]);
			expect_addr(&gd, rt_pairs[i][1], ports[k][1]);

			unsigned char bin[256];
			n = proxy_encode_v2(SA(s), SA(d), k ? &t : NULL, bin, sizeof(bin));
			ck_assert_int_gt(n, 0);
			ck_assert_int_eq(decode(bin, (size_t)n, &gs, &gd, NULL), n);
			expect_addr(&gs, rt_pairs[i][0], ports[k][0]);
			expect_addr(&gd, rt_pairs[i][1], ports[k][1]);
		}
	}
}
END_TEST

START_TEST(roundtrip_mapped_comes_back_ipv4)
{
	struct sockaddr_storage s = addr("::ffff:203.0.113.7", 40000), d = addr("::ffff:198.51.100.1", 443);
	struct sockaddr_storage gs, gd;
	char line[PROXY_V1_MAX];
	int n = proxy_encode_v1(SA(s), SA(d), line, sizeof(line));
	ck_assert_int_eq(decode(line, (size_t)n, &gs, &gd, NULL), n);
	expect_addr(&gs, "203.0.113.7", 40000);
	expect_addr(&gd, "198.51.100.1", 443);
	unsigned char bin[64];
	n = proxy_encode_v2(SA(s), SA(d), NULL, bin, sizeof(bin));
	ck_assert_int_eq(decode(bin, (size_t)n, &gs, &gd, NULL), n);
	expect_addr(&gs, "203.0.113.7", 40000);
	expect_addr(&gd, "198.51.100.1", 443);
}
END_TEST

START_TEST(split_input_every_prefix)
{
	struct proxy_tlv_info t = { .alpn = "h2", .authority = "example.com", .ssl = 1, .verified = 1,
				    .version = "TLSv1.3", .cn = "c" };
	for (size_t i = 0; i < sizeof(rt_pairs) / sizeof(rt_pairs[0]); i++) {
		struct sockaddr_storage s = addr(rt_pairs[i][0], 65535), d = addr(rt_pairs[i][1], 443);
		unsigned char buf[256];
		int n = proxy_encode_v1(SA(s), SA(d), (char *)buf, sizeof(buf));
		expect_split(buf, (size_t)n);
		n = proxy_encode_v2(SA(s), SA(d), NULL, buf, sizeof(buf));
		expect_split(buf, (size_t)n);
		n = proxy_encode_v2(SA(s), SA(d), &t, buf, sizeof(buf));
		expect_split(buf, (size_t)n);
	}
	expect_split((const unsigned char *)"PROXY UNKNOWN\r\n", 15);
}
END_TEST

/* ---- decoding what others send ------------------------------------------------------------ */

START_TEST(decode_v1_spec_lines)
{
	struct sockaddr_storage s, d;
	const char *l = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n";
	ck_assert_int_eq(decode(l, strlen(l), &s, &d, NULL), 47);
	expect_addr(&s, "192.168.0.1", 56324);
	expect_addr(&d, "192.168.0.11", 443);
	l = "PROXY TCP6 2001:DB8::1 ::ffff:10.0.0.1 1 2\r\n"; /* upper case, dotted tail: inet_pton takes both */
	ck_assert_int_eq(decode(l, strlen(l), &s, &d, NULL), (int)strlen(l));
	expect_addr(&s, "2001:db8::1", 1);
	expect_addr(&d, "::ffff:10.0.0.1", 2);
	ck_assert_int_eq(d.ss_family, AF_INET6);
}
END_TEST

START_TEST(decode_v1_unknown)
{
	struct sockaddr_storage s, d;
	memset(&s, 0x5A, sizeof(s));
	memset(&d, 0x5A, sizeof(d));
	ck_assert_int_eq(decode("PROXY UNKNOWN\r\n", 15, &s, &d, NULL), 15);
	ck_assert_int_eq(s.ss_family, AF_UNSPEC);
	ck_assert_int_eq(d.ss_family, AF_UNSPEC);
	/* the spec's worst case, 107 bytes: what follows UNKNOWN is ignored */
	const char *ff = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
	char line[128];
	snprintf(line, sizeof(line), "PROXY UNKNOWN %s %s 65535 65535\r\n", ff, ff);
	ck_assert_uint_eq(strlen(line), 107);
	ck_assert_int_eq(decode(line, 107, &s, &d, NULL), 107);
	expect_split((const unsigned char *)line, 107);
	ck_assert_int_eq(decode("PROXY UNKNOWN whatever\r\n", 24, &s, &d, NULL), 24);
}
END_TEST

START_TEST(decode_v2_local)
{
	struct sockaddr_storage s, d;
	unsigned char h[64];
	memcpy(h, SIG, 12);
	h[12] = 0x20; /* version 2, LOCAL */
	h[13] = 0x00;
	h[14] = 0;
	h[15] = 0;
	ck_assert_int_eq(decode(h, 16, &s, &d, NULL), 16);
	ck_assert_int_eq(s.ss_family, AF_UNSPEC);
	ck_assert_int_eq(d.ss_family, AF_UNSPEC);
	/* a LOCAL header's address block, whatever its family, is skipped by its length */
	h[13] = 0x11;
	h[15] = 12;
	memset(h + 16, 7, 12);
	ck_assert_int_eq(decode(h, 28, &s, &d, NULL), 28);
	ck_assert_int_eq(s.ss_family, AF_UNSPEC);
	h[13] = 0xFF;
	h[15] = 3;
	ck_assert_int_eq(decode(h, 19, &s, &d, NULL), 19);
	ck_assert_int_eq(decode(h, 18, &s, &d, NULL), 0);
	expect_split(h, 19);
}
END_TEST

START_TEST(decode_v2_unspec_families)
{
	/* UNSPEC, UDP and UNIX are valid; a TCP relay falls back to the real endpoints (AF_UNSPEC) */
	static const struct {
		unsigned char fam;
		size_t addrlen;
	} cases[] = { { 0x00, 0 }, { 0x12, 12 }, { 0x22, 36 }, { 0x31, 216 }, { 0x32, 216 } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char h[16 + 216 + 4];
		memcpy(h, SIG, 12);
		h[12] = 0x21;
		h[13] = cases[i].fam;
		size_t body = cases[i].addrlen + 4; /* and an empty NOOP TLV... */
		h[14] = (unsigned char)(body >> 8);
		h[15] = (unsigned char)body;
		memset(h + 16, 1, cases[i].addrlen);
		memcpy(h + 16 + cases[i].addrlen, "\x04\x00\x01\x00", 4); /* ...of one byte */
		struct sockaddr_storage s, d;
		ck_assert_int_eq(decode(h, 16 + body, &s, &d, NULL), (int)(16 + body));
		ck_assert_int_eq(s.ss_family, AF_UNSPEC);
		ck_assert_int_eq(d.ss_family, AF_UNSPEC);
	}
}
END_TEST

START_TEST(decode_v2_extra_address_bytes_and_tlvs)
{
	/* a longer body than the family needs is TLVs, which are skipped */
	struct sockaddr_storage s = addr("10.0.0.1", 1000), d = addr("10.0.0.2", 2000);
	struct proxy_tlv_info t = { .alpn = "h2", .ssl = 1, .version = "TLSv1.3", .cn = "cn" };
	unsigned char buf[128];
	int n = proxy_encode_v2(SA(s), SA(d), &t, buf, sizeof(buf));
	struct sockaddr_storage gs, gd;
	ck_assert_int_eq(decode(buf, (size_t)n, &gs, &gd, NULL), n);
	expect_addr(&gs, "10.0.0.1", 1000);
	expect_addr(&gd, "10.0.0.2", 2000);
}
END_TEST

START_TEST(decode_null_outputs)
{
	ck_assert_int_eq(decode("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 32, NULL, NULL, NULL), 32);
	ck_assert_int_eq(decode("GET", 3, NULL, NULL, NULL), -1);
}
END_TEST

/* ---- bad input ---------------------------------------------------------------------------- */

START_TEST(bad_garbage)
{
	expect_bad_str("G", "not a PROXY");
	expect_bad_str("GET / HTTP/1.1\r\n", "not a PROXY");
	expect_bad_str("PROXZ", "not a PROXY");
	expect_bad_str("proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n", "not a PROXY");
	expect_bad_str("PROXY\r\n", "not a PROXY");
	expect_bad("\x16\x03\x01\x02\x00", 5, "not a PROXY"); /* a TLS ClientHello */
	expect_bad("\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0B", 12, "not a PROXY");
	expect_bad("\x0D\x0A\x0D\x0A\x01", 5, "not a PROXY");
	/* every prefix of a signature asks for more */
	ck_assert_int_eq(decode("PROX", 4, NULL, NULL, NULL), 0);
	ck_assert_int_eq(decode(SIG, 7, NULL, NULL, NULL), 0);
	ck_assert_int_eq(decode(SIG, 0, NULL, NULL, NULL), 0);
}
END_TEST

START_TEST(bad_v1_no_crlf_in_107)
{
	char line[128];
	memcpy(line, "PROXY UNKNOWN ", 14);
	memset(line + 14, 'a', sizeof(line) - 14);
	for (size_t k = 1; k < PROXY_V1_MAX; k++)
		ck_assert_int_eq(decode(line, k, NULL, NULL, NULL), 0);
	expect_bad(line, 107, "no CRLF in 107 bytes");
	expect_bad(line, 108, "no CRLF in 107 bytes");
	expect_bad(line, sizeof(line), "no CRLF in 107 bytes");
	/* CRLF as bytes 107 and 108: the line is one byte too long */
	line[106] = '\r';
	line[107] = '\n';
	expect_bad(line, 107, "no CRLF in 107 bytes");
	expect_bad(line, 108, "no CRLF in 107 bytes");
	/* bytes 106 and 107 is the longest allowed */
	line[105] = '\r';
	line[106] = '\n';
	ck_assert_int_eq(decode(line, 108, NULL, NULL, NULL), 107);
}
END_TEST

START_TEST(bad_v1_line_ends)
{
	expect_bad_str("PROXY UNKNOWN\n", "LF without CR");
	expect_bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "LF without CR");
	expect_bad_str("PROXY UNKNOWN\rX", "CR without LF");
	expect_bad_str("PROXY UNKNOWN\r\r\n", "CR without LF");
	ck_assert_int_eq(decode("PROXY UNKNOWN\r", 14, NULL, NULL, NULL), 0);
}
END_TEST

START_TEST(bad_v1_fields)
{
	expect_bad_str("PROXY TCP4 300.1.1.1 1.1.1.1 1 2\r\n", "bad IPv4 source");
	expect_bad_str("PROXY TCP4 1.1.1.1 1.1.1.256 1 2\r\n", "bad IPv4 destination");
	expect_bad_str("PROXY TCP4 01.1.1.1 1.1.1.1 1 2\r\n", "bad IPv4 source"); /* heading zero */
	expect_bad_str("PROXY TCP4 1.1.1 1.1.1.1 1 2\r\n", "bad IPv4 source");
	expect_bad_str("PROXY TCP4 1.1.1.1.1 1.1.1.1 1 2\r\n", "bad IPv4 source");
	expect_bad_str("PROXY TCP4 1.1..1 1.1.1.1 1 2\r\n", "bad IPv4 source");
	expect_bad_str("PROXY TCP4 1.1.1.1. 1.1.1.1 1 2\r\n", "bad IPv4 source");
	expect_bad_str("PROXY TCP4 1.1.1.0x1 1.1.1.1 1 2\r\n", "bad IPv4 source");
	expect_bad_str("PROXY TCP4 ::1 1.1.1.1 1 2\r\n", "bad IPv4 source");
	expect_bad_str("PROXY TCP6 1.1.1.1 ::1 1 2\r\n", "bad IPv6 source");
	expect_bad_str("PROXY TCP6 ::1 ::g 1 2\r\n", "bad IPv6 destination");
	expect_bad_str("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", "bad IPv6 source");
	expect_bad_str("PROXY TCP4 1.1.1.1 1.1.1.1 70000 2\r\n", "bad source port");
	expect_bad_str("PROXY TCP4 1.1.1.1 1.1.1.1 1 70000\r\n", "bad destination port");
	expect_bad_str("PROXY TCP4 1.1.1.1 1.1.1.1 65536 2\r\n", "bad source port");
	expect_bad_str("PROXY TCP4 1.1.1.1 1.1.1.1 080 2\r\n", "bad source port"); /* heading zero */
	expect_bad_str("PROXY TCP4 1.1.1.1 1.1.1.1 -1 2\r\n", "bad source port");
	expect_bad_str("PROXY TCP4 1.1.1.1 1.1.1.1 +1 2\r\n", "bad source port");
	expect_bad_str("PROXY TCP4 1.1.1.1 1.1.1.1 1 2x\r\n", "bad destination port");
	expect_bad_str("PROXY TCP4 1.1.1.1 1.1.1.1 0000001 2\r\n", "bad source port");
	expect_bad_str("PROXY TCP4 1.1.1.1 1.1.1.1 1 \r\n", "bad destination port");
	expect_bad_str("PROXY TCP4 1.1.1.1  1.1.1.1 1 2\r\n", "extra fields");
	expect_bad_str("PROXY TCP4 1.1.1.1 1.1.1.1 1\r\n", "lacks a field");
	expect_bad_str("PROXY TCP4 1.1.1.1 1.1.1.1 1 2 3\r\n", "extra fields");
	expect_bad_str("PROXY TCP4\r\n", "lacks a field");
	expect_bad_str("PROXY TCP5 1.1.1.1 1.1.1.1 1 2\r\n", "not TCP4, TCP6 or UNKNOWN");
	expect_bad_str("PROXY tcp4 1.1.1.1 1.1.1.1 1 2\r\n", "not TCP4, TCP6 or UNKNOWN");
	expect_bad_str("PROXY UNKNOWNX\r\n", "not TCP4, TCP6 or UNKNOWN");
	expect_bad_str("PROXY  TCP4 1.1.1.1 1.1.1.1 1 2\r\n", "not TCP4, TCP6 or UNKNOWN");
	expect_bad_str("PROXY \r\n", "not TCP4, TCP6 or UNKNOWN");
	expect_bad("PROXY TCP4 1.1.1.1 1.1.1.1 1 2\0\r\n", 33, "bad destination port");
	/* the boundaries that are fine */
	ck_assert_int_eq(decode("PROXY TCP4 1.1.1.1 1.1.1.1 0 65535\r\n", 36, NULL, NULL, NULL), 36);
}
END_TEST

static size_t v2_header(unsigned char *h, unsigned char ver_cmd, unsigned char fam, size_t body)
{
	memcpy(h, SIG, 12);
	h[12] = ver_cmd;
	h[13] = fam;
	h[14] = (unsigned char)(body >> 8);
	h[15] = (unsigned char)body;
	return 16;
}

START_TEST(bad_v2_version_command_family)
{
	unsigned char h[64] = { 0 };
	v2_header(h, 0x11, 0x11, 12);
	expect_bad(h, 13, "unsupported version"); /* rejected as soon as byte 13 is in */
	v2_header(h, 0x31, 0x11, 12);
	expect_bad(h, 28, "unsupported version");
	v2_header(h, 0x01, 0x11, 12);
	expect_bad(h, 28, "unsupported version");
	v2_header(h, 0x22, 0x11, 12);
	expect_bad(h, 13, "unsupported command");
	v2_header(h, 0x2F, 0x11, 12);
	expect_bad(h, 28, "unsupported command");
	static const unsigned char bad_fam[] = { 0x01, 0x02, 0x10, 0x13, 0x20, 0x30, 0x33, 0x41, 0xFF };
	for (size_t i = 0; i < sizeof(bad_fam); i++) {
		v2_header(h, 0x21, bad_fam[i], 12);
		expect_bad(h, 14, "unsupported address family");
		expect_bad(h, 28, "unsupported address family");
	}
}
END_TEST

START_TEST(v2_length_beyond_buffer_asks_for_more)
{
	static unsigned char h[PROXY_MAX + 10];
	memset(h, 0, sizeof(h));
	v2_header(h, 0x21, 0x11, 12);
	for (size_t k = 0; k < 28; k++)
		ck_assert_int_eq(decode(h, k, NULL, NULL, NULL), 0);
	ck_assert_int_eq(decode(h, 28, NULL, NULL, NULL), 28);
	/* the largest length: 0 until all 16 + 65535 bytes are in, filled by one NOOP TLV */
	v2_header(h, 0x21, 0x00, 0xFFFF);
	h[16] = 0x04;
	h[17] = 0xFF;
	h[18] = 0xFC; /* 65532 */
	ck_assert_int_eq(decode(h, 16, NULL, NULL, NULL), 0);
	ck_assert_int_eq(decode(h, PROXY_MAX - 1, NULL, NULL, NULL), 0);
	ck_assert_int_eq(decode(h, PROXY_MAX, NULL, NULL, NULL), PROXY_MAX);
	ck_assert_int_eq(decode(h, sizeof(h), NULL, NULL, NULL), PROXY_MAX);
}
END_TEST

START_TEST(bad_v2_short_address_block)
{
	unsigned char h[16 + 216] = { 0 };
	/* rejected from the length field alone, before the block arrives */
	v2_header(h, 0x21, 0x11, 11);
	expect_bad(h, 16, "shorter than its family needs");
	v2_header(h, 0x21, 0x11, 0);
	expect_bad(h, 16, "shorter than its family needs");
	v2_header(h, 0x21, 0x21, 12);
	expect_bad(h, 16, "shorter than its family needs");
	v2_header(h, 0x21, 0x21, 35);
	expect_bad(h, 16 + 35, "shorter than its family needs");
	v2_header(h, 0x21, 0x12, 8);
	expect_bad(h, 16, "shorter than its family needs");
	v2_header(h, 0x21, 0x31, 215);
	expect_bad(h, 16, "shorter than its family needs");
	/* exactly enough is fine */
	v2_header(h, 0x21, 0x21, 36);
	ck_assert_int_eq(decode(h, 16 + 36, NULL, NULL, NULL), 16 + 36);
}
END_TEST

START_TEST(bad_v2_tlv)
{
	unsigned char h[64] = { 0 };
	/* two stray bytes after the addresses: too short to be a TLV */
	v2_header(h, 0x21, 0x11, 14);
	expect_bad(h, 30, "TLV runs past the header");
	/* a TLV claiming 10 bytes with 4 left */
	v2_header(h, 0x21, 0x11, 12 + 3 + 4);
	h[28] = 0x01;
	h[29] = 0x00;
	h[30] = 10;
	expect_bad(h, 16 + 19, "TLV runs past the header");
	/* a sound TLV followed by one cut short */
	v2_header(h, 0x21, 0x11, 12 + 5 + 3 + 1);
	memcpy(h + 28, "\x01\x00\x02h2\x02\x00\x02x", 9);
	expect_bad(h, 16 + 21, "TLV runs past the header");
	h[35] = 1;
	ck_assert_int_eq(decode(h, 37, NULL, NULL, NULL), 37);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("proxy");
	TCase *enc = tcase_create("encode");
	tcase_add_test(enc, v1_tcp4_spec_example);
	tcase_add_test(enc, v1_tcp6);
	tcase_add_test(enc, v1_tcp6_longest_line_is_104);
	tcase_add_test(enc, v1_ipv6_text_is_canonical);
	tcase_add_test(enc, v1_mapped_ipv6_is_tcp4);
	tcase_add_test(enc, v1_unknown);
	tcase_add_test(enc, v1_short_buffer_every_length);
	tcase_add_test(enc, v2_ipv4_bytes);
	tcase_add_test(enc, v2_ipv6_bytes);
	tcase_add_test(enc, v2_mixed_family_is_ipv6_mapped);
	tcase_add_test(enc, v2_other_family_is_local_unspec);
	tcase_add_test(enc, v2_tlv_layout_verified);
	tcase_add_test(enc, v2_tlv_layout_unverified);
	tcase_add_test(enc, v2_tlv_absent_when_not_given);
	tcase_add_test(enc, v2_tlv_too_long);
	tcase_add_test(enc, v2_short_buffer_every_length);
	suite_add_tcase(s, enc);
	TCase *dec = tcase_create("decode");
	tcase_add_test(dec, roundtrip_v1_and_v2);
	tcase_add_test(dec, roundtrip_mapped_comes_back_ipv4);
	tcase_add_test(dec, split_input_every_prefix);
	tcase_add_test(dec, decode_v1_spec_lines);
	tcase_add_test(dec, decode_v1_unknown);
	tcase_add_test(dec, decode_v2_local);
	tcase_add_test(dec, decode_v2_unspec_families);
	tcase_add_test(dec, decode_v2_extra_address_bytes_and_tlvs);
	tcase_add_test(dec, decode_null_outputs);
	suite_add_tcase(s, dec);
	TCase *bad = tcase_create("bad");
	tcase_add_test(bad, bad_garbage);
	tcase_add_test(bad, bad_v1_no_crlf_in_107);
	tcase_add_test(bad, bad_v1_line_ends);
	tcase_add_test(bad, bad_v1_fields);
	tcase_add_test(bad, bad_v2_version_command_family);
	tcase_add_test(bad, v2_length_beyond_buffer_asks_for_more);
	tcase_add_test(bad, bad_v2_short_address_block);
	tcase_add_test(bad, bad_v2_tlv);
	suite_add_tcase(s, bad);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
