/* PROXY protocol v1/v2 headers: building them for a backend, parsing one from a load balancer. */
#include "proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const unsigned char v2_sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };
static const char v1_sig[] = "PROXY ";
#define V1_SIG_LEN (sizeof(v1_sig) - 1)

#define V2_VERSION 0x20
#define V2_CMD_LOCAL 0x00
#define V2_CMD_PROXY 0x01
#define V2_FAM_UNSPEC 0x00
#define V2_FAM_TCP4 0x11
#define V2_FAM_TCP6 0x21
#define V2_ADDR4_LEN 12
#define V2_ADDR6_LEN 36
#define V2_ADDRUNIX_LEN 216
#define TLV_HDR 3
#define TLV_MAX 0xFFFF
#define SSL_FIXED 5 /* client flags byte and 32-bit verify field */

/* One end of a connection as both encoders write it: IPv4 addresses in the first 4 bytes. */
struct endpoint {
	int family;
	unsigned char addr[16];
	unsigned port;
};

static const unsigned char v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };

/* SA -> EP with IPv4-mapped IPv6 unwrapped to IPv4; -1 for NULL or a family the protocol lacks. */
static int endpoint_from(const struct sockaddr *sa, struct endpoint *ep)
{
	if (!sa)
		return -1;
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in in;
		memcpy(&in, sa, sizeof(in));
		ep->family = AF_INET;
		memcpy(ep->addr, &in.sin_addr, 4);
		ep->port = ntohs(in.sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 in6;
		memcpy(&in6, sa, sizeof(in6));
		ep->port = ntohs(in6.sin6_port);
		if (memcmp(in6.sin6_addr.s6_addr, v4mapped_prefix, 12) == 0) {
			ep->family = AF_INET;
			memcpy(ep->addr, in6.sin6_addr.s6_addr + 12, 4);
		} else {
			ep->family = AF_INET6;
			memcpy(ep->addr, in6.sin6_addr.s6_addr, 16);
		}
		return 0;
	}
	return -1;
}

static void endpoint_to_v6(struct endpoint *ep)
{
	if (ep->family == AF_INET6)
		return;
	memmove(ep->addr + 12, ep->addr, 4);
	memcpy(ep->addr, v4mapped_prefix, 12);
	ep->family = AF_INET6;
}

/* The family both ends are written in: AF_INET, AF_INET6 (an IPv4 end then mapped), or AF_UNSPEC
 * when either end cannot be said in the protocol. */
static int endpoint_pair(const struct sockaddr *src, const struct sockaddr *dst, struct endpoint *s,
			 struct endpoint *d)
{
	if (endpoint_from(src, s) < 0 || endpoint_from(dst, d) < 0)
		return AF_UNSPEC;
	if (s->family == AF_INET && d->family == AF_INET)
		return AF_INET;
	endpoint_to_v6(s);
	endpoint_to_v6(d);
	return AF_INET6;
}

/* RFC 5952 text (lowercase, longest run of two or more zero groups as "::", the first on a tie,
 * no dotted IPv4 tail) so the line holds hex groups only, as the specification asks. */
static void format_ipv6(const unsigned char a[16], char out[40])
{
	unsigned w[8];
	for (int i = 0; i < 8; i++)
		w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	int best = -1, bestlen = 1;
	for (int i = 0; i < 8;) {
		int j = i;
		while (j < 8 && w[j] == 0)
			j++;
		if (j - i > bestlen) {
			best = i;
			bestlen = j - i;
		}
		i = j > i ? j : i + 1;
	}
	char *p = out;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			*p++ = ':';
			if (i == 0)
				*p++ = ':';
			i += bestlen - 1;
			continue;
		}
		p += sprintf(p, "%x", w[i]);
		if (i < 7)
			*p++ = ':';
	}
	*p = '\0';
}

static void format_addr(const struct endpoint *ep, char out[40])
{
	if (ep->family == AF_INET)
		sprintf(out, "%u.%u.%u.%u", ep->addr[0], ep->addr[1], ep->addr[2], ep->addr[3]);
	else
		format_ipv6(ep->addr, out);
}

int proxy_encode_v1(const struct sockaddr *src, const struct sockaddr *dst, char *buf, size_t len)
{
	struct endpoint s, d;
	char line[PROXY_V1_MAX + 1];
	int n;
	int family = endpoint_pair(src, dst, &s, &d);
	if (family == AF_UNSPEC) {
		n = snprintf(line, sizeof(line), "PROXY UNKNOWN\r\n");
	} else {
		char sa[40], da[40];
		format_addr(&s, sa);
		format_addr(&d, da);
		n = snprintf(line, sizeof(line), "PROXY %s %s %s %u %u\r\n", family == AF_INET ? "TCP4" : "TCP6", sa,
			     da, s.port, d.port);
	}
	if (n < 0 || (size_t)n > len)
		return -1;
	memcpy(buf, line, (size_t)n);
	return n;
}

static unsigned char *put16(unsigned char *p, size_t v)
{
	*p++ = (unsigned char)(v >> 8);
	*p++ = (unsigned char)v;
	return p;
}

static unsigned char *put_tlv(unsigned char *p, unsigned type, const char *value, size_t n)
{
	*p++ = (unsigned char)type;
	p = put16(p, n);
	memcpy(p, value, n);
	return p + n;
}

/* strlen of an optional string, 0 for NULL: an absent or empty value sends no TLV. */
static size_t optlen(const char *s)
{
	return s ? strlen(s) : 0;
}

int proxy_encode_v2(const struct sockaddr *src, const struct sockaddr *dst, const struct proxy_tlv_info *tlv,
		    unsigned char *buf, size_t len)
{
	struct endpoint s, d;
	int family = endpoint_pair(src, dst, &s, &d);
	size_t addrlen = family == AF_INET ? V2_ADDR4_LEN : family == AF_INET6 ? V2_ADDR6_LEN : 0;

	size_t alpn = 0, authority = 0, version = 0, cn = 0, ssl = 0;
	if (tlv) {
		alpn = optlen(tlv->alpn);
		authority = optlen(tlv->authority);
		if (tlv->ssl) {
			version = optlen(tlv->version);
			cn = optlen(tlv->cn);
		}
	}
	/* each length is checked before any sum, so no sum can wrap */
	if (alpn > TLV_MAX || authority > TLV_MAX || version > TLV_MAX || cn > TLV_MAX)
		return -1;
	if (tlv && tlv->ssl) {
		ssl = SSL_FIXED + (version ? TLV_HDR + version : 0) + (cn ? TLV_HDR + cn : 0);
		if (ssl > TLV_MAX)
			return -1;
	}
	size_t body = addrlen + (alpn ? TLV_HDR + alpn : 0) + (authority ? TLV_HDR + authority : 0) +
		      (tlv && tlv->ssl ? TLV_HDR + ssl : 0);
	if (body > TLV_MAX || PROXY_V2_HEADER + body > len)
		return -1;

	unsigned char *p = buf;
	memcpy(p, v2_sig, sizeof(v2_sig));
	p += sizeof(v2_sig);
	/* no address to give: LOCAL, as HAProxy itself sends, since its receiver rejects PROXY+UNSPEC */
	*p++ = V2_VERSION | (family == AF_UNSPEC ? V2_CMD_LOCAL : V2_CMD_PROXY);
	*p++ = family == AF_INET ? V2_FAM_TCP4 : family == AF_INET6 ? V2_FAM_TCP6 : V2_FAM_UNSPEC;
	p = put16(p, body);
	if (family != AF_UNSPEC) {
		size_t alen = family == AF_INET ? 4 : 16;
		memcpy(p, s.addr, alen);
		memcpy(p + alen, d.addr, alen);
		p = put16(p + 2 * alen, s.port);
		p = put16(p, d.port);
	}
	if (alpn)
		p = put_tlv(p, PP2_TYPE_ALPN, tlv->alpn, alpn);
	if (authority)
		p = put_tlv(p, PP2_TYPE_AUTHORITY, tlv->authority, authority);
	if (tlv && tlv->ssl) {
		*p++ = PP2_TYPE_SSL;
		p = put16(p, ssl);
		*p++ = PP2_CLIENT_SSL | (tlv->verified ? PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS : 0);
		*p++ = 0;
		*p++ = 0;
		*p++ = 0;
		*p++ = tlv->verified ? 0 : 1; /* verify: zero only for a certificate that was verified */
		if (version)
			p = put_tlv(p, PP2_SUBTYPE_SSL_VERSION, tlv->version, version);
		if (cn)
			p = put_tlv(p, PP2_SUBTYPE_SSL_CN, tlv->cn, cn);
	}
	return (int)(p - buf);
}

/* ---- decoding ---------------------------------------------------------------------------- */

static void set_unspec(struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = AF_UNSPEC;
}

static void set_inet(struct sockaddr_storage *ss, const unsigned char *addr, unsigned port)
{
	struct sockaddr_in in;
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	memcpy(&in.sin_addr, addr, 4);
	in.sin_port = htons((uint16_t)port);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &in, sizeof(in));
}

static void set_inet6(struct sockaddr_storage *ss, const unsigned char *addr, unsigned port)
{
	struct sockaddr_in6 in6;
	memset(&in6, 0, sizeof(in6));
	in6.sin6_family = AF_INET6;
	memcpy(in6.sin6_addr.s6_addr, addr, 16);
	in6.sin6_port = htons((uint16_t)port);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &in6, sizeof(in6));
}

/* A decimal in [0..MAX] of 1-5 digits without a heading zero (octal confusion, says the spec). */
static int parse_decimal(const char *s, size_t n, unsigned max, unsigned *out)
{
	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* Exactly four dot-separated decimals, written here rather than left to inet_pton so that the
 * rule against heading zeroes does not depend on the C library. */
static int parse_ipv4(const char *s, size_t n, unsigned char out[4])
{
	size_t start = 0;
	for (int part = 0; part < 4; part++) {
		size_t end = start;
		while (end < n && s[end] != '.')
			end++;
		if ((part < 3) != (end < n))
			return -1; /* too few or too many dots */
		unsigned v;
		if (parse_decimal(s + start, end - start, 255, &v) < 0 || end - start > 3)
			return -1;
		out[part] = (unsigned char)v;
		start = end + 1;
	}
	return 0;
}

static int parse_ipv6(const char *s, size_t n, unsigned char out[16])
{
	char text[INET6_ADDRSTRLEN];
	if (n == 0 || n >= sizeof(text))
		return -1;
	memcpy(text, s, n);
	text[n] = '\0';
	return inet_pton(AF_INET6, text, out) == 1 ? 0 : -1;
}

static int fail(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -1;
}

/* The v1 line without its CRLF, LINE[0..N), after "PROXY ". */
static int decode_v1_line(const char *line, size_t n, struct sockaddr_storage *src, struct sockaddr_storage *dst,
			  const char **why)
{
	/* fields separated by exactly one space: protocol, src, dst, sport, dport */
	const char *f[5];
	size_t flen[5];
	size_t nf = 0, start = 0;
	int family = AF_UNSPEC;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && line[i] != ' ')
			continue;
		if (nf == 5)
			return fail(why, "v1 line has extra fields");
		f[nf] = line + start;
		flen[nf++] = i - start;
		start = i + 1;
		if (nf > 1)
			continue;
		if (flen[0] == 4 && memcmp(f[0], "TCP4", 4) == 0) {
			family = AF_INET;
		} else if (flen[0] == 4 && memcmp(f[0], "TCP6", 4) == 0) {
			family = AF_INET6;
		} else if (flen[0] == 7 && memcmp(f[0], "UNKNOWN", 7) == 0) {
			/* the receiver must ignore whatever else an UNKNOWN line says */
			if (src)
				set_unspec(src);
			if (dst)
				set_unspec(dst);
			return 0;
		} else {
			return fail(why, "v1 protocol is not TCP4, TCP6 or UNKNOWN");
		}
	}
	if (nf != 5)
		return fail(why, "v1 line lacks a field or has a doubled space");

	unsigned char sa[16], da[16];
	unsigned sport, dport;
	int (*parse)(const char *, size_t, unsigned char *) = family == AF_INET ? parse_ipv4 : parse_ipv6;
	if (parse(f[1], flen[1], sa) < 0)
		return fail(why, family == AF_INET ? "v1 bad IPv4 source address" : "v1 bad IPv6 source address");
	if (parse(f[2], flen[2], da) < 0)
		return fail(why, family == AF_INET ? "v1 bad IPv4 destination address"
						   : "v1 bad IPv6 destination address");
	if (parse_decimal(f[3], flen[3], 65535, &sport) < 0)
		return fail(why, "v1 bad source port");
	if (parse_decimal(f[4], flen[4], 65535, &dport) < 0)
		return fail(why, "v1 bad destination port");
	if (family == AF_INET) {
		if (src)
			set_inet(src, sa, sport);
		if (dst)
			set_inet(dst, da, dport);
	} else {
		if (src)
			set_inet6(src, sa, sport);
		if (dst)
			set_inet6(dst, da, dport);
	}
	return 0;
}

static int decode_v1(const unsigned char *buf, size_t len, struct sockaddr_storage *src,
		     struct sockaddr_storage *dst, const char **why)
{
	/* a stray CR or LF fails at once rather than after waiting for 107 bytes */
	size_t scan = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;
	for (size_t i = 0; i < scan; i++) {
		if (buf[i] == '\n')
			return fail(why, "v1 line ends in LF without CR");
		if (buf[i] != '\r')
			continue;
		if (i + 1 == PROXY_V1_MAX)
			break; /* the LF would be byte 108 */
		if (i + 1 == len)
			return 0;
		if (buf[i + 1] != '\n')
			return fail(why, "v1 line has a CR without LF");
		if (decode_v1_line((const char *)buf + V1_SIG_LEN, i - V1_SIG_LEN, src, dst, why) < 0)
			return -1;
		return (int)(i + 2);
	}
	if (len >= PROXY_V1_MAX)
		return fail(why, "v1 line has no CRLF in 107 bytes");
	return 0;
}

/* Address block length a PROXY command's family byte needs, -1 for a byte the spec does not list. */
static int v2_addr_len(unsigned fam)
{
	switch (fam) {
	case 0x00:
		return 0;
	case 0x11: /* TCP over IPv4 */
	case 0x12: /* UDP over IPv4 */
		return V2_ADDR4_LEN;
	case 0x21: /* TCP over IPv6 */
	case 0x22: /* UDP over IPv6 */
		return V2_ADDR6_LEN;
	case 0x31: /* UNIX stream */
	case 0x32: /* UNIX datagram */
		return V2_ADDRUNIX_LEN;
	default:
		return -1;
	}
}

static int decode_v2(const unsigned char *buf, size_t len, struct sockaddr_storage *src,
		     struct sockaddr_storage *dst, const char **why)
{
	/* reject as soon as the byte that makes the header invalid has arrived */
	if (len <= 12)
		return 0;
	if ((buf[12] & 0xF0) != V2_VERSION)
		return fail(why, "v2 unsupported version");
	unsigned cmd = buf[12] & 0x0F;
	if (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY)
		return fail(why, "v2 unsupported command");
	if (len <= 13)
		return 0;
	int need = cmd == V2_CMD_PROXY ? v2_addr_len(buf[13]) : 0;
	if (need < 0)
		return fail(why, "v2 unsupported address family or transport");
	if (len < PROXY_V2_HEADER)
		return 0;
	size_t body = (size_t)buf[14] << 8 | buf[15];
	if (body < (size_t)need)
		return fail(why, "v2 address block shorter than its family needs");
	size_t total = PROXY_V2_HEADER + body;
	if (len < total)
		return 0;

	/* LOCAL: the family and everything after it are to be ignored, TLVs included */
	if (cmd == V2_CMD_PROXY) {
		for (size_t off = PROXY_V2_HEADER + (size_t)need; off < total;) {
			if (total - off < TLV_HDR)
				return fail(why, "v2 TLV runs past the header");
			size_t vlen = (size_t)buf[off + 1] << 8 | buf[off + 2];
			if (total - off - TLV_HDR < vlen)
				return fail(why, "v2 TLV runs past the header");
			off += TLV_HDR + vlen;
		}
	}

	const unsigned char *a = buf + PROXY_V2_HEADER;
	if (cmd == V2_CMD_PROXY && buf[13] == V2_FAM_TCP4) {
		if (src)
			set_inet(src, a, (unsigned)a[8] << 8 | a[9]);
		if (dst)
			set_inet(dst, a + 4, (unsigned)a[10] << 8 | a[11]);
	} else if (cmd == V2_CMD_PROXY && buf[13] == V2_FAM_TCP6) {
		if (src)
			set_inet6(src, a, (unsigned)a[32] << 8 | a[33]);
		if (dst)
			set_inet6(dst, a + 16, (unsigned)a[34] << 8 | a[35]);
	} else {
		/* LOCAL, UNSPEC, and the UDP and UNIX families a TCP relay falls back from */
		if (src)
			set_unspec(src);
		if (dst)
			set_unspec(dst);
	}
	return (int)total;
}

int proxy_decode(const unsigned char *buf, size_t len, struct sockaddr_storage *src, struct sockaddr_storage *dst,
		 const char **why)
{
	if (len == 0)
		return 0;
	const unsigned char *sig;
	size_t siglen;
	if (buf[0] == v2_sig[0]) {
		sig = v2_sig;
		siglen = sizeof(v2_sig);
	} else {
		sig = (const unsigned char *)v1_sig;
		siglen = V1_SIG_LEN;
	}
	if (memcmp(buf, sig, len < siglen ? len : siglen) != 0)
		return fail(why, "not a PROXY protocol header");
	if (len < siglen)
		return 0;
	return sig == v2_sig ? decode_v2(buf, len, src, dst, why) : decode_v1(buf, len, src, dst, why);
}
