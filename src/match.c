/* Identity matching (RFC 6125 subset): exact names, "*.domain" wildcards, IP addresses. */
#include "match.h"

#include <arpa/inet.h>
#include <stdio.h>

#include <mbedtls/base64.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

/* A (from a pattern already stripped of its trailing dot) against name B, which may end in one. */
static int eq_nocase(const char *a, size_t alen, const char *b, size_t blen)
{
	if (blen && b[blen - 1] == '.')
		blen--;
	return alen == blen && alen > 0 && strncasecmp(a, b, alen) == 0;
}

int match_dns(const char *pattern, size_t plen, const char *name)
{
	size_t nlen = strlen(name);
	if (memchr(pattern, '\0', plen))
		return 0; /* an embedded NUL in a certificate name is an attack, not a name */
	if (plen && pattern[plen - 1] == '.')
		plen--; /* "*.com." is "*.com" written absolute */
	if (plen >= 2 && pattern[0] == '*' && pattern[1] == '.') {
		const char *dot = memchr(name, '.', nlen);
		if (!dot || dot == name)
			return 0;
		/* the wildcard suffix must itself have two labels: "*.com" matches nothing */
		if (!memchr(pattern + 2, '.', plen - 2))
			return 0;
		return eq_nocase(pattern + 1, plen - 1, dot, nlen - (size_t)(dot - name));
	}
	if (memchr(pattern, '*', plen))
		return 0;
	return eq_nocase(pattern, plen, name, nlen);
}

static size_t parse_ip(const char *text, unsigned char out[16])
{
	if (inet_pton(AF_INET, text, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, text, out) == 1)
		return 16;
	return 0;
}

int match_ip(const unsigned char *raw, size_t len, const char *text)
{
	unsigned char want[16];
	size_t wlen = parse_ip(text, want);
	return wlen && wlen == len && memcmp(raw, want, len) == 0;
}

int match_is_ip(const char *text)
{
	unsigned char tmp[16];
	return parse_ip(text, tmp) != 0;
}

int match_pin_parse(const char *text, unsigned char out[MATCH_PIN_LEN], char *err, size_t errlen)
{
	unsigned char buf[64];
	size_t n = 0;
	if (strncmp(text, "sha256//", 8) != 0) {
		snprintf(err, errlen, "'%s': expected sha256//BASE64 (as curl's --pinnedpubkey)", text);
		return -1;
	}
	if (mbedtls_base64_decode(buf, sizeof(buf), &n, (const unsigned char *)text + 8, strlen(text + 8)) != 0 ||
	    n != MATCH_PIN_LEN) {
		snprintf(err, errlen, "'%s': not the base64 of a 32-byte SHA-256 hash", text);
		return -1;
	}
	memcpy(out, buf, MATCH_PIN_LEN);
	return 0;
}

int match_email(const char *addr, size_t len, const char *want)
{
	const char *at = memchr(addr, '@', len), *wat = strchr(want, '@');
	if (!at || !wat || memchr(addr, '\0', len))
		return 0;
	size_t local = (size_t)(at - addr);
	return local == (size_t)(wat - want) && memcmp(addr, want, local) == 0 && strlen(wat) == len - local &&
	       strncasecmp(at, wat, len - local) == 0;
}
