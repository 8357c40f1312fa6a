/* Cipher suite lists. mbedTLS only knows its own suite names; people bring OpenSSL's or IANA's, and for
 * `ciphers` OpenSSL's cipher strings (HIGH:!aNULL, ECDHE+AESGCM, ...), evaluated here the way OpenSSL 3.0's
 * ssl/ssl_ciph.c does, over the TLS 1.2 suites mbedTLS and OpenSSL both have. */
#include "suites.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ALL_BUT(bits) (~(unsigned)(bits))

/* Longest `ciphers` or `ciphersuites` value read: room for every suite mbedTLS has by its longest name. */
#define CIPHER_STRING_MAX 8192

/* A suite's algorithms as OpenSSL classifies them (ssl_local.h), one bit each. The *_OTHER bits stand for all the
 * algorithms of suites mbedTLS lacks (static DH, SRP, GOST, DSS, anonymous, NULL, RC4, 3DES, MD5, ...): no suite
 * here has them, so a keyword naming one selects nothing, as OpenSSL's keywords do for ciphers it was built
 * without. */
enum {
	K_RSA = 1 << 0,
	K_DHE = 1 << 1,
	K_ECDHE = 1 << 2,
	K_PSK = 1 << 3,
	K_RSAPSK = 1 << 4,
	K_DHEPSK = 1 << 5,
	K_ECDHEPSK = 1 << 6,
	K_OTHER = 1 << 7
};
enum { A_RSA = 1 << 0, A_ECDSA = 1 << 1, A_PSK = 1 << 2, A_OTHER = 1 << 3 };
enum {
	E_AES128 = 1 << 0, /* CBC */
	E_AES256 = 1 << 1,
	E_AES128GCM = 1 << 2,
	E_AES256GCM = 1 << 3,
	E_AES128CCM = 1 << 4,
	E_AES256CCM = 1 << 5,
	E_AES128CCM8 = 1 << 6,
	E_AES256CCM8 = 1 << 7,
	E_CAMELLIA128 = 1 << 8, /* CBC */
	E_CAMELLIA256 = 1 << 9,
	E_ARIA128GCM = 1 << 10,
	E_ARIA256GCM = 1 << 11,
	E_CHACHA20 = 1 << 12,
	E_OTHER = 1 << 13
};
#define E_AESGCM (E_AES128GCM | E_AES256GCM)
#define E_AESCCM (E_AES128CCM | E_AES256CCM | E_AES128CCM8 | E_AES256CCM8)
#define E_AES (E_AES128 | E_AES256 | E_AESGCM | E_AESCCM)
#define E_CAMELLIA (E_CAMELLIA128 | E_CAMELLIA256)
#define E_ARIA (E_ARIA128GCM | E_ARIA256GCM)
enum { M_SHA1 = 1 << 0, M_SHA256 = 1 << 1, M_SHA384 = 1 << 2, M_AEAD = 1 << 3, M_OTHER = 1 << 4 };
/* The oldest protocol a suite works with (OpenSSL's min_tls: the TLSv1.2, TLSv1, SSLv3 keywords compare it). */
enum { V_SSL3 = 1, V_TLS1, V_TLS11, V_TLS12 };
/* OpenSSL's algo_strength: a class (the "strong" bits, FIPS among them) and the flag COMPLEMENTOFDEFAULT selects */
enum { S_LOW = 1 << 0, S_MEDIUM = 1 << 1, S_HIGH = 1 << 2, S_FIPS = 1 << 3, S_STRONG = 0xf, S_NOT_DEFAULT = 1 << 4 };

/* The TLS 1.2 suites both libraries have, as `openssl ciphers -V -psk ALL` prints them: IANA's number (mbedTLS's
 * id too), OpenSSL's name and algorithms. In that order, too: the ranking OpenSSL 3.0 gives its cipher table
 * before it reads a cipher string (ssl_create_cipher_list(): ECDHE before DHE, AEAD before CBC, then strength).
 * Every operator moves the suites it selects as a block without reordering them, so how these suites rank among
 * themselves does not depend on the suites mbedTLS lacks, and starting from this order reproduces OpenSSL's. */
static const struct openssl_suite {
	uint16_t id;
	const char *name;
	uint8_t kx, au;
	uint16_t enc;
	uint8_t mac, version;
} openssl_suites[] = {
	{ 0xC02C, "ECDHE-ECDSA-AES256-GCM-SHA384", K_ECDHE, A_ECDSA, E_AES256GCM, M_AEAD, V_TLS12 },
	{ 0xC030, "ECDHE-RSA-AES256-GCM-SHA384", K_ECDHE, A_RSA, E_AES256GCM, M_AEAD, V_TLS12 },
	{ 0x009F, "DHE-RSA-AES256-GCM-SHA384", K_DHE, A_RSA, E_AES256GCM, M_AEAD, V_TLS12 },
	{ 0xCCA9, "ECDHE-ECDSA-CHACHA20-POLY1305", K_ECDHE, A_ECDSA, E_CHACHA20, M_AEAD, V_TLS12 },
	{ 0xCCA8, "ECDHE-RSA-CHACHA20-POLY1305", K_ECDHE, A_RSA, E_CHACHA20, M_AEAD, V_TLS12 },
	{ 0xCCAA, "DHE-RSA-CHACHA20-POLY1305", K_DHE, A_RSA, E_CHACHA20, M_AEAD, V_TLS12 },
	{ 0xC0AF, "ECDHE-ECDSA-AES256-CCM8", K_ECDHE, A_ECDSA, E_AES256CCM8, M_AEAD, V_TLS12 },
	{ 0xC0AD, "ECDHE-ECDSA-AES256-CCM", K_ECDHE, A_ECDSA, E_AES256CCM, M_AEAD, V_TLS12 },
	{ 0xC0A3, "DHE-RSA-AES256-CCM8", K_DHE, A_RSA, E_AES256CCM8, M_AEAD, V_TLS12 },
	{ 0xC09F, "DHE-RSA-AES256-CCM", K_DHE, A_RSA, E_AES256CCM, M_AEAD, V_TLS12 },
	{ 0xC05D, "ECDHE-ECDSA-ARIA256-GCM-SHA384", K_ECDHE, A_ECDSA, E_ARIA256GCM, M_AEAD, V_TLS12 },
	{ 0xC061, "ECDHE-ARIA256-GCM-SHA384", K_ECDHE, A_RSA, E_ARIA256GCM, M_AEAD, V_TLS12 },
	{ 0xC053, "DHE-RSA-ARIA256-GCM-SHA384", K_DHE, A_RSA, E_ARIA256GCM, M_AEAD, V_TLS12 },
	{ 0xC02B, "ECDHE-ECDSA-AES128-GCM-SHA256", K_ECDHE, A_ECDSA, E_AES128GCM, M_AEAD, V_TLS12 },
	{ 0xC02F, "ECDHE-RSA-AES128-GCM-SHA256", K_ECDHE, A_RSA, E_AES128GCM, M_AEAD, V_TLS12 },
	{ 0x009E, "DHE-RSA-AES128-GCM-SHA256", K_DHE, A_RSA, E_AES128GCM, M_AEAD, V_TLS12 },
	{ 0xC0AE, "ECDHE-ECDSA-AES128-CCM8", K_ECDHE, A_ECDSA, E_AES128CCM8, M_AEAD, V_TLS12 },
	{ 0xC0AC, "ECDHE-ECDSA-AES128-CCM", K_ECDHE, A_ECDSA, E_AES128CCM, M_AEAD, V_TLS12 },
	{ 0xC0A2, "DHE-RSA-AES128-CCM8", K_DHE, A_RSA, E_AES128CCM8, M_AEAD, V_TLS12 },
	{ 0xC09E, "DHE-RSA-AES128-CCM", K_DHE, A_RSA, E_AES128CCM, M_AEAD, V_TLS12 },
	{ 0xC05C, "ECDHE-ECDSA-ARIA128-GCM-SHA256", K_ECDHE, A_ECDSA, E_ARIA128GCM, M_AEAD, V_TLS12 },
	{ 0xC060, "ECDHE-ARIA128-GCM-SHA256", K_ECDHE, A_RSA, E_ARIA128GCM, M_AEAD, V_TLS12 },
	{ 0xC052, "DHE-RSA-ARIA128-GCM-SHA256", K_DHE, A_RSA, E_ARIA128GCM, M_AEAD, V_TLS12 },
	{ 0xC024, "ECDHE-ECDSA-AES256-SHA384", K_ECDHE, A_ECDSA, E_AES256, M_SHA384, V_TLS12 },
	{ 0xC028, "ECDHE-RSA-AES256-SHA384", K_ECDHE, A_RSA, E_AES256, M_SHA384, V_TLS12 },
	{ 0x006B, "DHE-RSA-AES256-SHA256", K_DHE, A_RSA, E_AES256, M_SHA256, V_TLS12 },
	{ 0xC073, "ECDHE-ECDSA-CAMELLIA256-SHA384", K_ECDHE, A_ECDSA, E_CAMELLIA256, M_SHA384, V_TLS12 },
	{ 0xC077, "ECDHE-RSA-CAMELLIA256-SHA384", K_ECDHE, A_RSA, E_CAMELLIA256, M_SHA384, V_TLS12 },
	{ 0x00C4, "DHE-RSA-CAMELLIA256-SHA256", K_DHE, A_RSA, E_CAMELLIA256, M_SHA256, V_TLS12 },
	{ 0xC023, "ECDHE-ECDSA-AES128-SHA256", K_ECDHE, A_ECDSA, E_AES128, M_SHA256, V_TLS12 },
	{ 0xC027, "ECDHE-RSA-AES128-SHA256", K_ECDHE, A_RSA, E_AES128, M_SHA256, V_TLS12 },
	{ 0x0067, "DHE-RSA-AES128-SHA256", K_DHE, A_RSA, E_AES128, M_SHA256, V_TLS12 },
	{ 0xC072, "ECDHE-ECDSA-CAMELLIA128-SHA256", K_ECDHE, A_ECDSA, E_CAMELLIA128, M_SHA256, V_TLS12 },
	{ 0xC076, "ECDHE-RSA-CAMELLIA128-SHA256", K_ECDHE, A_RSA, E_CAMELLIA128, M_SHA256, V_TLS12 },
	{ 0x00BE, "DHE-RSA-CAMELLIA128-SHA256", K_DHE, A_RSA, E_CAMELLIA128, M_SHA256, V_TLS12 },
	{ 0xC00A, "ECDHE-ECDSA-AES256-SHA", K_ECDHE, A_ECDSA, E_AES256, M_SHA1, V_TLS1 },
	{ 0xC014, "ECDHE-RSA-AES256-SHA", K_ECDHE, A_RSA, E_AES256, M_SHA1, V_TLS1 },
	{ 0x0039, "DHE-RSA-AES256-SHA", K_DHE, A_RSA, E_AES256, M_SHA1, V_SSL3 },
	{ 0x0088, "DHE-RSA-CAMELLIA256-SHA", K_DHE, A_RSA, E_CAMELLIA256, M_SHA1, V_SSL3 },
	{ 0xC009, "ECDHE-ECDSA-AES128-SHA", K_ECDHE, A_ECDSA, E_AES128, M_SHA1, V_TLS1 },
	{ 0xC013, "ECDHE-RSA-AES128-SHA", K_ECDHE, A_RSA, E_AES128, M_SHA1, V_TLS1 },
	{ 0x0033, "DHE-RSA-AES128-SHA", K_DHE, A_RSA, E_AES128, M_SHA1, V_SSL3 },
	{ 0x0045, "DHE-RSA-CAMELLIA128-SHA", K_DHE, A_RSA, E_CAMELLIA128, M_SHA1, V_SSL3 },
	{ 0x00AD, "RSA-PSK-AES256-GCM-SHA384", K_RSAPSK, A_RSA, E_AES256GCM, M_AEAD, V_TLS12 },
	{ 0x00AB, "DHE-PSK-AES256-GCM-SHA384", K_DHEPSK, A_PSK, E_AES256GCM, M_AEAD, V_TLS12 },
	{ 0xCCAE, "RSA-PSK-CHACHA20-POLY1305", K_RSAPSK, A_RSA, E_CHACHA20, M_AEAD, V_TLS12 },
	{ 0xCCAD, "DHE-PSK-CHACHA20-POLY1305", K_DHEPSK, A_PSK, E_CHACHA20, M_AEAD, V_TLS12 },
	{ 0xCCAC, "ECDHE-PSK-CHACHA20-POLY1305", K_ECDHEPSK, A_PSK, E_CHACHA20, M_AEAD, V_TLS12 },
	{ 0xC0AB, "DHE-PSK-AES256-CCM8", K_DHEPSK, A_PSK, E_AES256CCM8, M_AEAD, V_TLS12 },
	{ 0xC0A7, "DHE-PSK-AES256-CCM", K_DHEPSK, A_PSK, E_AES256CCM, M_AEAD, V_TLS12 },
	{ 0xC06F, "RSA-PSK-ARIA256-GCM-SHA384", K_RSAPSK, A_RSA, E_ARIA256GCM, M_AEAD, V_TLS12 },
	{ 0xC06D, "DHE-PSK-ARIA256-GCM-SHA384", K_DHEPSK, A_PSK, E_ARIA256GCM, M_AEAD, V_TLS12 },
	{ 0x009D, "AES256-GCM-SHA384", K_RSA, A_RSA, E_AES256GCM, M_AEAD, V_TLS12 },
	{ 0xC0A1, "AES256-CCM8", K_RSA, A_RSA, E_AES256CCM8, M_AEAD, V_TLS12 },
	{ 0xC09D, "AES256-CCM", K_RSA, A_RSA, E_AES256CCM, M_AEAD, V_TLS12 },
	{ 0xC051, "ARIA256-GCM-SHA384", K_RSA, A_RSA, E_ARIA256GCM, M_AEAD, V_TLS12 },
	{ 0x00A9, "PSK-AES256-GCM-SHA384", K_PSK, A_PSK, E_AES256GCM, M_AEAD, V_TLS12 },
	{ 0xCCAB, "PSK-CHACHA20-POLY1305", K_PSK, A_PSK, E_CHACHA20, M_AEAD, V_TLS12 },
	{ 0xC0A9, "PSK-AES256-CCM8", K_PSK, A_PSK, E_AES256CCM8, M_AEAD, V_TLS12 },
	{ 0xC0A5, "PSK-AES256-CCM", K_PSK, A_PSK, E_AES256CCM, M_AEAD, V_TLS12 },
	{ 0xC06B, "PSK-ARIA256-GCM-SHA384", K_PSK, A_PSK, E_ARIA256GCM, M_AEAD, V_TLS12 },
	{ 0x00AC, "RSA-PSK-AES128-GCM-SHA256", K_RSAPSK, A_RSA, E_AES128GCM, M_AEAD, V_TLS12 },
	{ 0x00AA, "DHE-PSK-AES128-GCM-SHA256", K_DHEPSK, A_PSK, E_AES128GCM, M_AEAD, V_TLS12 },
	{ 0xC0AA, "DHE-PSK-AES128-CCM8", K_DHEPSK, A_PSK, E_AES128CCM8, M_AEAD, V_TLS12 },
	{ 0xC0A6, "DHE-PSK-AES128-CCM", K_DHEPSK, A_PSK, E_AES128CCM, M_AEAD, V_TLS12 },
	{ 0xC06E, "RSA-PSK-ARIA128-GCM-SHA256", K_RSAPSK, A_RSA, E_ARIA128GCM, M_AEAD, V_TLS12 },
	{ 0xC06C, "DHE-PSK-ARIA128-GCM-SHA256", K_DHEPSK, A_PSK, E_ARIA128GCM, M_AEAD, V_TLS12 },
	{ 0x009C, "AES128-GCM-SHA256", K_RSA, A_RSA, E_AES128GCM, M_AEAD, V_TLS12 },
	{ 0xC0A0, "AES128-CCM8", K_RSA, A_RSA, E_AES128CCM8, M_AEAD, V_TLS12 },
	{ 0xC09C, "AES128-CCM", K_RSA, A_RSA, E_AES128CCM, M_AEAD, V_TLS12 },
	{ 0xC050, "ARIA128-GCM-SHA256", K_RSA, A_RSA, E_ARIA128GCM, M_AEAD, V_TLS12 },
	{ 0x00A8, "PSK-AES128-GCM-SHA256", K_PSK, A_PSK, E_AES128GCM, M_AEAD, V_TLS12 },
	{ 0xC0A8, "PSK-AES128-CCM8", K_PSK, A_PSK, E_AES128CCM8, M_AEAD, V_TLS12 },
	{ 0xC0A4, "PSK-AES128-CCM", K_PSK, A_PSK, E_AES128CCM, M_AEAD, V_TLS12 },
	{ 0xC06A, "PSK-ARIA128-GCM-SHA256", K_PSK, A_PSK, E_ARIA128GCM, M_AEAD, V_TLS12 },
	{ 0x003D, "AES256-SHA256", K_RSA, A_RSA, E_AES256, M_SHA256, V_TLS12 },
	{ 0x00C0, "CAMELLIA256-SHA256", K_RSA, A_RSA, E_CAMELLIA256, M_SHA256, V_TLS12 },
	{ 0x003C, "AES128-SHA256", K_RSA, A_RSA, E_AES128, M_SHA256, V_TLS12 },
	{ 0x00BA, "CAMELLIA128-SHA256", K_RSA, A_RSA, E_CAMELLIA128, M_SHA256, V_TLS12 },
	{ 0xC038, "ECDHE-PSK-AES256-CBC-SHA384", K_ECDHEPSK, A_PSK, E_AES256, M_SHA384, V_TLS1 },
	{ 0xC036, "ECDHE-PSK-AES256-CBC-SHA", K_ECDHEPSK, A_PSK, E_AES256, M_SHA1, V_TLS1 },
	{ 0x00B7, "RSA-PSK-AES256-CBC-SHA384", K_RSAPSK, A_RSA, E_AES256, M_SHA384, V_TLS1 },
	{ 0x00B3, "DHE-PSK-AES256-CBC-SHA384", K_DHEPSK, A_PSK, E_AES256, M_SHA384, V_TLS1 },
	{ 0x0095, "RSA-PSK-AES256-CBC-SHA", K_RSAPSK, A_RSA, E_AES256, M_SHA1, V_SSL3 },
	{ 0x0091, "DHE-PSK-AES256-CBC-SHA", K_DHEPSK, A_PSK, E_AES256, M_SHA1, V_SSL3 },
	{ 0xC09B, "ECDHE-PSK-CAMELLIA256-SHA384", K_ECDHEPSK, A_PSK, E_CAMELLIA256, M_SHA384, V_TLS1 },
	{ 0xC099, "RSA-PSK-CAMELLIA256-SHA384", K_RSAPSK, A_RSA, E_CAMELLIA256, M_SHA384, V_TLS1 },
	{ 0xC097, "DHE-PSK-CAMELLIA256-SHA384", K_DHEPSK, A_PSK, E_CAMELLIA256, M_SHA384, V_TLS1 },
	{ 0x0035, "AES256-SHA", K_RSA, A_RSA, E_AES256, M_SHA1, V_SSL3 },
	{ 0x0084, "CAMELLIA256-SHA", K_RSA, A_RSA, E_CAMELLIA256, M_SHA1, V_SSL3 },
	{ 0x00AF, "PSK-AES256-CBC-SHA384", K_PSK, A_PSK, E_AES256, M_SHA384, V_TLS1 },
	{ 0x008D, "PSK-AES256-CBC-SHA", K_PSK, A_PSK, E_AES256, M_SHA1, V_SSL3 },
	{ 0xC095, "PSK-CAMELLIA256-SHA384", K_PSK, A_PSK, E_CAMELLIA256, M_SHA384, V_TLS1 },
	{ 0xC037, "ECDHE-PSK-AES128-CBC-SHA256", K_ECDHEPSK, A_PSK, E_AES128, M_SHA256, V_TLS1 },
	{ 0xC035, "ECDHE-PSK-AES128-CBC-SHA", K_ECDHEPSK, A_PSK, E_AES128, M_SHA1, V_TLS1 },
	{ 0x00B6, "RSA-PSK-AES128-CBC-SHA256", K_RSAPSK, A_RSA, E_AES128, M_SHA256, V_TLS1 },
	{ 0x00B2, "DHE-PSK-AES128-CBC-SHA256", K_DHEPSK, A_PSK, E_AES128, M_SHA256, V_TLS1 },
	{ 0x0094, "RSA-PSK-AES128-CBC-SHA", K_RSAPSK, A_RSA, E_AES128, M_SHA1, V_SSL3 },
	{ 0x0090, "DHE-PSK-AES128-CBC-SHA", K_DHEPSK, A_PSK, E_AES128, M_SHA1, V_SSL3 },
	{ 0xC09A, "ECDHE-PSK-CAMELLIA128-SHA256", K_ECDHEPSK, A_PSK, E_CAMELLIA128, M_SHA256, V_TLS1 },
	{ 0xC098, "RSA-PSK-CAMELLIA128-SHA256", K_RSAPSK, A_RSA, E_CAMELLIA128, M_SHA256, V_TLS1 },
	{ 0xC096, "DHE-PSK-CAMELLIA128-SHA256", K_DHEPSK, A_PSK, E_CAMELLIA128, M_SHA256, V_TLS1 },
	{ 0x002F, "AES128-SHA", K_RSA, A_RSA, E_AES128, M_SHA1, V_SSL3 },
	{ 0x0041, "CAMELLIA128-SHA", K_RSA, A_RSA, E_CAMELLIA128, M_SHA1, V_SSL3 },
	{ 0x00AE, "PSK-AES128-CBC-SHA256", K_PSK, A_PSK, E_AES128, M_SHA256, V_TLS1 },
	{ 0x008C, "PSK-AES128-CBC-SHA", K_PSK, A_PSK, E_AES128, M_SHA1, V_SSL3 },
	{ 0xC094, "PSK-CAMELLIA128-SHA256", K_PSK, A_PSK, E_CAMELLIA128, M_SHA256, V_TLS1 },
};

/* OpenSSL 3.0 rates every suite it shares with mbedTLS HIGH, approves the AES-CBC and AES-GCM ones for FIPS and
 * leaves CAMELLIA, ARIA and AES-CCM out of DEFAULT (its s3_lib.c, per suite; this is the rule those entries
 * follow). */
static unsigned strength_of(unsigned enc)
{
	unsigned s = S_HIGH;
	if (enc & (E_AES128 | E_AES256 | E_AESGCM))
		s |= S_FIPS;
	if (enc & (E_CAMELLIA | E_ARIA | E_AESCCM))
		s |= S_NOT_DEFAULT;
	return s;
}

/* What one item of a cipher string selects, OpenSSL's rule masks: a suite matches when it shares a bit with each
 * non-zero mask, has VERSION when set, and is suite ID when set. A suite's own attributes are a pattern too. */
struct pattern {
	int id;
	unsigned kx, au, enc, mac, strength, version;
};

/* OpenSSL 3.0's keywords: its cipher_aliases[] plus the names its manual and ssl.h still give for classes it
 * removed, which it silently skips; they select nothing, so the result is the same. Case matters, as in
 * OpenSSL. DEFAULT and SUITEB* are not keywords: OpenSSL reads them only at the start (build_ciphers). */
static const struct keyword {
	const char *name;
	struct pattern p;
} keywords[] = {
	{ "ALL", { .enc = ALL_BUT(E_OTHER) } }, /* all but eNULL */
	{ "COMPLEMENTOFALL", { .enc = E_OTHER } },
	{ "COMPLEMENTOFDEFAULT", { .strength = S_NOT_DEFAULT } },
	{ "HIGH", { .strength = S_HIGH } }, { "MEDIUM", { .strength = S_MEDIUM } }, { "LOW", { .strength = S_LOW } },
	{ "FIPS", { .enc = ALL_BUT(E_OTHER), .strength = S_FIPS } },
	{ "eNULL", { .enc = E_OTHER } }, { "NULL", { .enc = E_OTHER } }, { "aNULL", { .au = A_OTHER } },
	/* key exchange and authentication */
	{ "kRSA", { .kx = K_RSA } }, { "aRSA", { .au = A_RSA } }, { "RSA", { .kx = K_RSA, .au = A_RSA } },
	{ "kDHE", { .kx = K_DHE } }, { "kEDH", { .kx = K_DHE } }, { "DH", { .kx = K_DHE } },
	{ "DHE", { .kx = K_DHE, .au = ALL_BUT(A_OTHER) } }, { "EDH", { .kx = K_DHE, .au = ALL_BUT(A_OTHER) } },
	{ "ADH", { .kx = K_DHE, .au = A_OTHER } },
	{ "kECDHE", { .kx = K_ECDHE } }, { "kEECDH", { .kx = K_ECDHE } }, { "ECDH", { .kx = K_ECDHE } },
	{ "ECDHE", { .kx = K_ECDHE, .au = ALL_BUT(A_OTHER) } }, { "EECDH", { .kx = K_ECDHE, .au = ALL_BUT(A_OTHER) } },
	{ "AECDH", { .kx = K_ECDHE, .au = A_OTHER } },
	{ "aECDSA", { .au = A_ECDSA } }, { "ECDSA", { .au = A_ECDSA } },
	{ "PSK", { .kx = K_PSK | K_RSAPSK | K_DHEPSK | K_ECDHEPSK } }, { "aPSK", { .au = A_PSK } },
	{ "kPSK", { .kx = K_PSK } }, { "kRSAPSK", { .kx = K_RSAPSK } }, { "kDHEPSK", { .kx = K_DHEPSK } },
	{ "kECDHEPSK", { .kx = K_ECDHEPSK } },
	{ "SRP", { .kx = K_OTHER } }, { "kSRP", { .kx = K_OTHER } }, { "aSRP", { .au = A_OTHER } },
	{ "aDSS", { .au = A_OTHER } }, { "DSS", { .au = A_OTHER } },
	{ "kGOST", { .kx = K_OTHER } }, { "kGOST18", { .kx = K_OTHER } }, { "aGOST", { .au = A_OTHER } },
	{ "aGOST01", { .au = A_OTHER } }, { "aGOST12", { .au = A_OTHER } },
	/* removed: static DH and ECDH, GOST R 34.10-94 */
	{ "kDH", { .kx = K_OTHER } }, { "kDHr", { .kx = K_OTHER } }, { "kDHd", { .kx = K_OTHER } },
	{ "kECDH", { .kx = K_OTHER } }, { "kECDHr", { .kx = K_OTHER } }, { "kECDHe", { .kx = K_OTHER } },
	{ "aDH", { .au = A_OTHER } }, { "aECDH", { .au = A_OTHER } }, { "aGOST94", { .au = A_OTHER } },
	/* encryption */
	{ "AES", { .enc = E_AES } },
	{ "AES128", { .enc = E_AES128 | E_AES128GCM | E_AES128CCM | E_AES128CCM8 } },
	{ "AES256", { .enc = E_AES256 | E_AES256GCM | E_AES256CCM | E_AES256CCM8 } },
	{ "AESGCM", { .enc = E_AESGCM } }, { "AESCCM", { .enc = E_AESCCM } },
	{ "AESCCM8", { .enc = E_AES128CCM8 | E_AES256CCM8 } },
	{ "CAMELLIA", { .enc = E_CAMELLIA } }, { "CAMELLIA128", { .enc = E_CAMELLIA128 } },
	{ "CAMELLIA256", { .enc = E_CAMELLIA256 } },
	{ "ARIA", { .enc = E_ARIA } }, { "ARIAGCM", { .enc = E_ARIA } }, { "ARIA128", { .enc = E_ARIA128GCM } },
	{ "ARIA256", { .enc = E_ARIA256GCM } },
	{ "CHACHA20", { .enc = E_CHACHA20 } },
	{ "CBC", { .enc = E_AES128 | E_AES256 | E_CAMELLIA } }, /* and DES, 3DES, RC2, IDEA, SEED */
	{ "3DES", { .enc = E_OTHER } }, { "DES", { .enc = E_OTHER } } /* removed */, { "RC4", { .enc = E_OTHER } },
	{ "RC2", { .enc = E_OTHER } }, { "IDEA", { .enc = E_OTHER } }, { "SEED", { .enc = E_OTHER } },
	{ "GOST89", { .enc = E_OTHER } }, { "GOST2012-GOST8912-GOST8912", { .enc = E_OTHER } },
	/* MAC */
	{ "SHA1", { .mac = M_SHA1 } }, { "SHA", { .mac = M_SHA1 } }, { "SHA256", { .mac = M_SHA256 } },
	{ "SHA384", { .mac = M_SHA384 } }, { "MD5", { .mac = M_OTHER } },
	{ "GOST94", { .mac = M_OTHER } }, { "GOST89MAC", { .mac = M_OTHER } }, { "GOST89MAC12", { .mac = M_OTHER } },
	{ "GOST12", { .mac = M_OTHER } },
	/* the oldest protocol version a suite works with (none has TLS 1.1's, which OpenSSL no longer matches) */
	{ "SSLv3", { .version = V_SSL3 } }, { "TLSv1", { .version = V_TLS1 } }, { "TLSv1.0", { .version = V_TLS1 } },
	{ "TLSv1.1", { .version = V_TLS11 } }, { "TLSv1.2", { .version = V_TLS12 } },
	/* OpenSSL 1.0's words for what it has since dropped (SSL 2.0, export suites, Kerberos, Fortezza): OpenSSL
	 * 3.0 skips them as unknown, and configuration management still writes them (SIMP's HIGH:-SSLv2, DebOps'
	 * ...:!SSLv2:...:!EXP): they select nothing */
	{ "SSLv2", { .enc = E_OTHER } }, { "EXP", { .enc = E_OTHER } }, { "EXPORT", { .enc = E_OTHER } },
	{ "EXPORT40", { .enc = E_OTHER } }, { "EXPORT56", { .enc = E_OTHER } }, { "KRB5", { .enc = E_OTHER } },
	{ "kKRB5", { .enc = E_OTHER } }, { "aKRB5", { .enc = E_OTHER } }, { "FZA", { .enc = E_OTHER } },
	{ "kFZA", { .enc = E_OTHER } }, { "aFZA", { .enc = E_OTHER } }, { "eFZA", { .enc = E_OTHER } },
};

/* Suite B (RFC 6460): OpenSSL replaces the whole string with these suites. It also limits curves and signature
 * algorithms then; that is no part of a suite list. */
static const struct suiteb {
	const char *name, *suites;
} suiteb[] = {
	{ "SUITEB128", "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384" },
	{ "SUITEB128ONLY", "ECDHE-ECDSA-AES128-GCM-SHA256" },
	{ "SUITEB128C2", "ECDHE-ECDSA-AES256-GCM-SHA384" },
	{ "SUITEB192", "ECDHE-ECDSA-AES256-GCM-SHA384" },
};

/* OpenSSL 3.0's OSSL_default_cipher_list(), which a leading DEFAULT stands for */
static const char default_rules[] = "ALL:!COMPLEMENTOFDEFAULT:!eNULL";

/* The characters of a word (suite name, keyword, @command) and the separators between items: OpenSSL's, plus tab,
 * which tlswrap has always taken. */
static const char word_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=";
static const char separators[] = ":,; \t";

/* The defaults put ChaCha20-Poly1305 first: in mbedTLS 3.6 on x86-64 it seals and opens records ~1.8x faster than
 * AES-GCM (bench/crypto.sh; OpenSSL is the other way round). A TLS 1.2 server picks by this order; a TLS 1.3 server
 * by the client's (mbedTLS takes the client's first suite it has); a client offers this order. */
static const char *const default_tls13[] = { "TLS1-3-CHACHA20-POLY1305-SHA256", "TLS1-3-AES-256-GCM-SHA384",
					     "TLS1-3-AES-128-GCM-SHA256", NULL };
static const char *const default_tls12[] = {
	"TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256", "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384",
	"TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256", "TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256",
	"TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384", "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256", NULL
};

/* Whether this mbedTLS build offers suite ID */
static int mbedtls_has(int id)
{
	for (const int *p = mbedtls_ssl_list_ciphersuites(); *p; p++)
		if (*p == id)
			return 1;
	return 0;
}

int suites_lookup(const char *name)
{
	char buf[128];
	int id = mbedtls_ssl_get_ciphersuite_id(name);
	if (id)
		return id;
	for (size_t i = 0; i < ARRAY_LEN(openssl_suites); i++)
		if (strcasecmp(name, openssl_suites[i].name) == 0)
			return mbedtls_has(openssl_suites[i].id) ? openssl_suites[i].id : 0;
	/* IANA spelling: TLS_AES_128_GCM_SHA256 (1.3) or TLS_ECDHE_RSA_WITH_... (1.2) */
	if (strlen(name) + 4 >= sizeof(buf) || strncasecmp(name, "TLS_", 4) != 0)
		return 0;
	if (strcasestr(name, "_WITH_"))
		snprintf(buf, sizeof(buf), "%s", name);
	else
		snprintf(buf, sizeof(buf), "TLS1-3-%s", name + 4);
	for (char *p = buf; *p; p++)
		*p = *p == '_' ? '-' : (char)toupper((unsigned char)*p);
	return mbedtls_ssl_get_ciphersuite_id(buf);
}

static int is_tls13(int id)
{
	/* mbedTLS has no public accessor for a suite's version; its names say it */
	return strncmp(mbedtls_ssl_get_ciphersuite_name(id), "TLS1-3-", 7) == 0;
}

static const struct keyword *keyword_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(keywords); i++)
		if (strcmp(name, keywords[i].name) == 0)
			return &keywords[i];
	return NULL;
}

static const struct suiteb *suiteb_find(const char *word, size_t len)
{
	for (size_t i = 0; i < ARRAY_LEN(suiteb); i++)
		if (strlen(suiteb[i].name) == len && strncmp(word, suiteb[i].name, len) == 0)
			return &suiteb[i];
	return NULL;
}

/* ---- OpenSSL cipher strings ------------------------------------------------------------------ */

/* The suites a cipher string works on, in the order of OpenSSL's list. A killed suite keeps its place but can
 * never be selected again (OpenSSL unlinks it). */
enum slot_state { SLOT_OFF, SLOT_ON, SLOT_KILLED };
struct slot {
	struct pattern p; /* the suite's attributes; only p.id for a suite OpenSSL has no name for */
	int bits;         /* key length: OpenSSL's strength_bits for every suite both have */
	enum slot_state state;
};

#define ORDER_MAX (ARRAY_LEN(openssl_suites) + SUITES_MAX)
struct order {
	struct slot v[ORDER_MAX];
	size_t n;
	int seclevel;      /* the last @SECLEVEL=n, -1 when none */
	char skipped[512]; /* the words that name nothing here, "A, B" (cut when long) */
	int nskipped;
};

enum op { OP_ADD, OP_DEL, OP_KILL, OP_ORD };

static int key_bits(int id)
{
	return (int)mbedtls_ssl_ciphersuite_get_cipher_key_bitlen(mbedtls_ssl_ciphersuite_from_id(id));
}

/* A suite's own attributes, as a pattern that selects it. */
static struct pattern pattern_of(const struct openssl_suite *s)
{
	return (struct pattern){ s->id, s->kx, s->au, s->enc, s->mac, strength_of(s->enc), s->version };
}

static void order_init(struct order *o)
{
	o->n = 0;
	o->seclevel = -1;
	o->skipped[0] = '\0';
	o->nskipped = 0;
	for (size_t i = 0; i < ARRAY_LEN(openssl_suites); i++) {
		const struct openssl_suite *s = &openssl_suites[i];
		if (!mbedtls_has(s->id))
			continue;
		o->v[o->n++] = (struct slot){ .p = pattern_of(s), .bits = key_bits(s->id), .state = SLOT_OFF };
	}
}

/* The slot of suite ID. A suite OpenSSL has no name for (mbedTLS's TLS-ECDH-*, CAMELLIA-GCM, ...) gets one when it
 * is first named; no keyword selects it. NULL when the order is full. */
static struct slot *order_slot(struct order *o, int id)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].p.id == id)
			return &o->v[i];
	if (o->n == ORDER_MAX)
		return NULL;
	o->v[o->n] = (struct slot){ .p = { .id = id }, .bits = key_bits(id), .state = SLOT_OFF };
	return &o->v[o->n++];
}

static int selects(const struct pattern *p, const struct pattern *s)
{
	return (!p->id || p->id == s->id) && (!p->kx || (p->kx & s->kx)) && (!p->au || (p->au & s->au)) &&
	       (!p->enc || (p->enc & s->enc)) && (!p->mac || (p->mac & s->mac)) &&
	       (!p->version || p->version == s->version) &&
	       (!(p->strength & S_STRONG) || (p->strength & s->strength & S_STRONG)) &&
	       (!(p->strength & S_NOT_DEFAULT) || (s->strength & S_NOT_DEFAULT));
}

/* AND word W into item P ("X+Y") the way ssl_cipher_process_rulestr() combines masks, quirks included. Returns 0
 * when nothing can match any more: the item then selects nothing. */
static int narrow(struct pattern *p, const struct pattern *w)
{
	unsigned *have[] = { &p->kx, &p->au, &p->enc, &p->mac };
	const unsigned add[] = { w->kx, w->au, w->enc, w->mac };
	for (size_t i = 0; i < ARRAY_LEN(add); i++)
		if (add[i] && !(*have[i] = *have[i] ? *have[i] & add[i] : add[i]))
			return 0;
	if (w->strength & S_STRONG) {
		/* the first class assigns, dropping a COMPLEMENTOFDEFAULT before it; so "HIGH+FIPS" matches nothing */
		p->strength = p->strength & S_STRONG ? p->strength & (w->strength | ALL_BUT(S_STRONG))
						     : w->strength & S_STRONG;
		if (!(p->strength & S_STRONG))
			return 0;
	}
	p->strength |= w->strength & S_NOT_DEFAULT;
	if (w->id) { /* a named suite: its version does not join the pattern */
		p->id = w->id;
	} else if (w->version) {
		if (p->version && p->version != w->version)
			return 0;
		p->version = w->version;
	}
	return 1;
}

/* Apply one operator as ssl_cipher_apply_rule() does: the suites it acts on move as a block, in their order; an
 * added (or +moved) suite goes to the end, a deleted one to the front, where a later ADD finds it first. */
static void apply(struct order *o, enum op op, const struct pattern *p)
{
	struct slot moved[ORDER_MAX];
	size_t nmoved = 0, nkept = 0;
	for (size_t i = 0; i < o->n; i++) {
		struct slot s = o->v[i];
		int act = s.state != SLOT_KILLED && selects(p, &s.p) &&
			  (op == OP_KILL || (s.state == SLOT_ON) == (op != OP_ADD));
		if (!act) {
			o->v[nkept++] = s;
			continue;
		}
		s.state = op == OP_KILL ? SLOT_KILLED : op == OP_DEL ? SLOT_OFF : SLOT_ON;
		moved[nmoved++] = s;
	}
	if (op == OP_DEL) {
		memmove(o->v + nmoved, o->v, nkept * sizeof(o->v[0]));
		memcpy(o->v, moved, nmoved * sizeof(o->v[0]));
	} else {
		memcpy(o->v + nkept, moved, nmoved * sizeof(o->v[0]));
	}
}

/* @STRENGTH, as ssl_cipher_strength_sort(): the selected suites go to the end, longest key first, keeping their
 * order within a key length. */
static void sort_by_strength(struct order *o)
{
	struct slot sorted[ORDER_MAX];
	size_t n = 0;
	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].state != SLOT_ON)
			sorted[n++] = o->v[i];
	size_t first = n;
	for (size_t i = 0; i < o->n; i++) {
		if (o->v[i].state != SLOT_ON)
			continue;
		size_t j = n++;
		for (; j > first && sorted[j - 1].bits < o->v[i].bits; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = o->v[i];
	}
	memcpy(o->v, sorted, o->n * sizeof(o->v[0]));
}

/* The part of OpenSSL's security level that concerns suites (ssl_security_default_callback()): keys of at least
 * 80, 112, 128, 192, 256 bits for levels 1 to 5, no SHA-1 MAC above 160 bits, forward secrecy from level 3. A
 * suite OpenSSL has no name for was named on purpose, and stays. */
static int seclevel_allows(const struct slot *s, int level)
{
	static const int minbits[] = { 0, 80, 112, 128, 192, 256 };
	if (level <= 0 || !s->p.kx)
		return 1;
	if (s->bits < minbits[level] || (minbits[level] > 160 && (s->p.mac & M_SHA1)))
		return 0;
	return level < 3 || (s->p.kx & (K_DHE | K_ECDHE | K_DHEPSK | K_ECDHEPSK));
}

static int syntax_error(const char *at, const char *whole, char *err, size_t errlen)
{
	if (*at)
		snprintf(err, errlen, "ciphers: unexpected '%c' in '%s'", *at, whole);
	else
		snprintf(err, errlen, "ciphers: '%s' ends where a suite name or keyword should follow", whole);
	return -1;
}

/* Note WORD (LEN bytes) among the skipped ones, once. */
static void note_skipped(struct order *o, const char *word, size_t len)
{
	for (const char *p = o->skipped; *p;) {
		size_t n = strcspn(p, ",");
		if (n == len && strncmp(p, word, len) == 0)
			return;
		p += n;
		if (*p)
			p += 2; /* ", " */
	}
	size_t used = strlen(o->skipped);
	o->nskipped++;
	if (used + len + 3 < sizeof(o->skipped))
		snprintf(o->skipped + used, sizeof(o->skipped) - used, "%s%.*s", used ? ", " : "", (int)len, word);
}

/* The pattern of one word: a suite name (any spelling suites_lookup takes, as OpenSSL tries names first) or a
 * keyword. A word that is neither, such as a suite mbedTLS lacks (DES-CBC3-SHA) or a name OpenSSL does not know
 * either, selects nothing, as OpenSSL skips what it does not have: 1, noted in O->skipped. A word misplaced
 * (DEFAULT, SUITEB*) or a TLS 1.3 suite is an error: -1. */
static int word_pattern(struct order *o, const char *word, size_t len, struct pattern *out, char *err, size_t errlen)
{
	char name[96];
	const struct keyword *k;
	int id = 0;
	if (len < sizeof(name)) {
		memcpy(name, word, len);
		name[len] = '\0';
		id = suites_lookup(name);
	}
	if (id) {
		struct slot *s;
		if (is_tls13(id)) {
			snprintf(err, errlen, "ciphers: '%s' is a TLS 1.3 suite: put it in 'ciphersuites'", name);
			return -1;
		}
		if (!(s = order_slot(o, id))) {
			snprintf(err, errlen, "ciphers: more than %d cipher suites", SUITES_MAX);
			return -1;
		}
		*out = s->p;
		return 0;
	}
	if (len < sizeof(name) && (k = keyword_find(name))) {
		*out = k->p;
		return 0;
	}
	if (len == 7 && strncmp(word, "DEFAULT", 7) == 0) {
		snprintf(err, errlen, "ciphers: DEFAULT only works at the start of the list");
		return -1;
	}
	if (suiteb_find(word, len)) {
		snprintf(err, errlen, "ciphers: %.*s must be the whole list", (int)len, word);
		return -1;
	}
	note_skipped(o, word, len);
	return 1;
}

/* @STRENGTH sorts what is selected so far (sort_by_strength). @SECLEVEL=n: OpenSSL keeps its list as it is and
 * applies the level when it negotiates; here the result leaves out the suites level n refuses (seclevel_allows),
 * so the list says what can actually be negotiated. What else the level limits, certificate keys, groups and
 * signatures, is left to mbedTLS's own limits. */
static int eval_command(struct order *o, const char **at, const char *whole, char *err, size_t errlen)
{
	const char *w = *at + 1;
	size_t len = strspn(w, word_chars);
	if (len == 8 && strncmp(w, "STRENGTH", 8) == 0) {
		sort_by_strength(o);
	} else if (len == 10 && strncmp(w, "SECLEVEL=", 9) == 0 && w[9] >= '0' && w[9] <= '5') {
		o->seclevel = w[9] - '0';
	} else {
		snprintf(err, errlen, "ciphers: unknown command '@%.*s' (there are @STRENGTH and @SECLEVEL=0 to 5)",
			 (int)len, w);
		return -1;
	}
	w += len;
	if (*w && !strchr(separators, *w)) /* OpenSSL would skip the rest of the item */
		return syntax_error(w, whole, err, errlen);
	*at = w;
	return 0;
}

/* Apply cipher string STR to O item by item, as ssl_cipher_process_rulestr() reads it, counting the items in
 * *ITEMS. WHOLE is what the user wrote, for messages. */
static int eval(struct order *o, const char *str, const char *whole, int *items, char *err, size_t errlen)
{
	const char *p = str;
	while (*p) {
		enum op op = OP_ADD;
		struct pattern item = { 0 };
		int possible = 1;
		if (strchr(separators, *p)) {
			p++;
			continue;
		}
		++*items;
		if (*p == '@') {
			if (eval_command(o, &p, whole, err, errlen) < 0)
				return -1;
			continue;
		}
		switch (*p) {
		case '-':
			op = OP_DEL;
			p++;
			break;
		case '+':
			op = OP_ORD;
			p++;
			break;
		case '!':
			op = OP_KILL;
			p++;
			break;
		}
		for (;;) {
			size_t len = strspn(p, word_chars);
			struct pattern w;
			int r;
			if (len == 0)
				return syntax_error(p, whole, err, errlen);
			if ((r = word_pattern(o, p, len, &w, err, errlen)) < 0)
				return -1;
			possible = possible && r == 0 && narrow(&item, &w);
			p += len;
			if (*p != '+')
				break;
			p++;
		}
		if (possible)
			apply(o, op, &item);
	}
	return 0;
}

/* Evaluate cipher string STR into O as OpenSSL reads it: a lone SUITEB name, a leading DEFAULT, then the items. */
static int evaluate(struct order *o, const char *str, char *err, size_t errlen)
{
	const char *rules = str;
	size_t first = strspn(str, word_chars);
	const struct suiteb *b;
	int items = 0;
	if (strlen(str) > CIPHER_STRING_MAX) {
		snprintf(err, errlen, "ciphers: list too long (more than %d characters)", CIPHER_STRING_MAX);
		return -1;
	}
	order_init(o);
	if ((b = suiteb_find(str, first))) {
		if (str[first + strspn(str + first, separators)]) { /* OpenSSL would ignore the rest */
			snprintf(err, errlen, "ciphers: %s must be the whole list", b->name);
			return -1;
		}
		rules = b->suites;
	}
	if (strncmp(rules, "DEFAULT", 7) == 0) { /* only there, as in OpenSSL: DEFAULT:!PSK, DEFAULT+AES */
		(void)eval(o, default_rules, str, &items, err, errlen);
		rules += 7;
		if (*rules == ':')
			rules++;
	}
	if (eval(o, rules, str, &items, err, errlen) < 0)
		return -1;
	if (items == 0) {
		snprintf(err, errlen, "ciphers: empty cipher list");
		return -1;
	}
	return 0;
}

/* `ciphers`: the TLS 1.2 suites cipher string STR selects, appended to OUT. */
static int build_ciphers(const char *str, int *out, size_t *n, char *err, size_t errlen)
{
	struct order o;
	size_t before = *n;
	if (evaluate(&o, str, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < o.n; i++) {
		if (o.v[i].state != SLOT_ON || !seclevel_allows(&o.v[i], o.seclevel))
			continue;
		if (*n >= SUITES_MAX) {
			snprintf(err, errlen, "ciphers: more than %d cipher suites", SUITES_MAX);
			return -1;
		}
		out[(*n)++] = o.v[i].p.id;
	}
	if (*n == before) { /* OpenSSL: "no cipher match" */
		int w = snprintf(err, errlen, "ciphers: '%s' selects no cipher suite mbedTLS has", str);
		if (o.nskipped && w >= 0 && (size_t)w < errlen)
			snprintf(err + w, errlen - (size_t)w, " (skipped, as OpenSSL skips what it does not have: %s)", o.skipped);
		return -1;
	}
	return 0;
}

int suites_seclevel(const char *tls12)
{
	struct order o;
	char err[256];
	if (!tls12 || evaluate(&o, tls12, err, sizeof(err)) < 0)
		return -1;
	return o.seclevel;
}

int suites_apply_level(int list[SUITES_MAX + 1], int level)
{
	size_t n = 0;
	int left = 0;
	for (size_t i = 0; list[i]; i++) {
		/* a suite's attributes as OpenSSL has them; TLS 1.3's are all forward secret and AEAD; one OpenSSL has no
		 * name for was named on purpose, and stays (as with @SECLEVEL) */
		struct slot s = { .p = { .id = list[i] }, .bits = key_bits(list[i]) };
		for (size_t k = 0; k < ARRAY_LEN(openssl_suites); k++)
			if (openssl_suites[k].id == list[i])
				s.p = pattern_of(&openssl_suites[k]);
		if (is_tls13(list[i]))
			s.p.kx = K_ECDHE, s.p.mac = M_AEAD;
		if (seclevel_allows(&s, level))
			list[n++] = list[i], left++;
	}
	list[n] = 0;
	return left;
}

int suites_skipped(const char *tls12, char *buf, size_t len)
{
	struct order o;
	char err[256];
	if (len)
		buf[0] = '\0';
	if (!tls12 || evaluate(&o, tls12, err, sizeof(err)) < 0)
		return 0;
	snprintf(buf, len, "%s", o.skipped);
	return o.nskipped;
}

/* `ciphersuites`: a plain list of TLS 1.3 suite names, as in OpenSSL, appended to OUT. */
static int build_ciphersuites(const char *list, int *out, size_t *n, char *err, size_t errlen)
{
	char buf[CIPHER_STRING_MAX + 1];
	size_t before = *n;
	if (strlen(list) >= sizeof(buf)) {
		snprintf(err, errlen, "ciphersuites: list too long (more than %d characters)", CIPHER_STRING_MAX);
		return -1;
	}
	strcpy(buf, list);
	for (char *save, *tok = strtok_r(buf, separators, &save); tok; tok = strtok_r(NULL, separators, &save)) {
		int id = suites_lookup(tok);
		if (!id && (strpbrk(tok, "!+@") || keyword_find(tok) || strcmp(tok, "DEFAULT") == 0)) {
			snprintf(err, errlen, "ciphersuites: '%s': cipher keywords only work in 'ciphers'; name suites",
				 tok);
			return -1;
		}
		if (!id) {
			snprintf(err, errlen,
				 "ciphersuites: unknown cipher suite '%s' (use mbedTLS, IANA or OpenSSL names)", tok);
			return -1;
		}
		if (!is_tls13(id)) {
			snprintf(err, errlen, "ciphersuites: '%s' is a TLS 1.2 suite: put it in 'ciphers'", tok);
			return -1;
		}
		if (*n >= SUITES_MAX) {
			snprintf(err, errlen, "ciphersuites: more than %d cipher suites", SUITES_MAX);
			return -1;
		}
		out[(*n)++] = id;
	}
	if (*n == before) {
		snprintf(err, errlen, "ciphersuites: empty cipher list");
		return -1;
	}
	return 0;
}

static void add_defaults(const char *const *names, int *out, size_t *n)
{
	for (; *names; names++) {
		int id = mbedtls_ssl_get_ciphersuite_id(*names);
		if (id && *n < SUITES_MAX) /* a suite this mbedTLS build lacks is skipped */
			out[(*n)++] = id;
	}
}

static const char *const default_psk[] = { "TLS-ECDHE-PSK-WITH-CHACHA20-POLY1305-SHA256",
					   "TLS-ECDHE-PSK-WITH-AES-256-CBC-SHA384",
					   "TLS-PSK-WITH-AES-256-GCM-SHA384", "TLS-PSK-WITH-CHACHA20-POLY1305-SHA256",
					   "TLS-PSK-WITH-AES-128-GCM-SHA256", NULL };

int suites_count_tls12(const int list[SUITES_MAX + 1])
{
	int n = 0;
	for (size_t i = 0; list[i]; i++)
		n += !is_tls13(list[i]);
	return n;
}

void suites_drop_psk(int list[SUITES_MAX + 1])
{
	size_t n = 0;
	for (size_t i = 0; list[i]; i++)
		if (is_tls13(list[i]) || !strstr(mbedtls_ssl_get_ciphersuite_name(list[i]), "-PSK-"))
			list[n++] = list[i];
	list[n] = 0;
}

int suites_drop_non_psk(int list[SUITES_MAX + 1])
{
	size_t n = 0;
	int tls12 = 0;
	for (size_t i = 0; list[i]; i++) {
		int psk12 = !is_tls13(list[i]) && strstr(mbedtls_ssl_get_ciphersuite_name(list[i]), "-PSK-");
		if (is_tls13(list[i]) || psk12)
			list[n++] = list[i];
		tls12 += psk12 != 0;
	}
	list[n] = 0;
	return tls12;
}

void suites_use_psk(int list[SUITES_MAX + 1], int only)
{
	size_t n;
	if (only)
		suites_drop_non_psk(list);
	for (n = 0; list[n]; n++)
		;
	add_defaults(default_psk, list, &n);
	list[n] = 0;
}

int suites_build(const char *tls12, const char *tls13, int out[SUITES_MAX + 1], char *err, size_t errlen)
{
	size_t n = 0;
	if (tls13) {
		if (build_ciphersuites(tls13, out, &n, err, errlen) < 0)
			return -1;
	} else {
		add_defaults(default_tls13, out, &n);
	}
	if (tls12) {
		if (build_ciphers(tls12, out, &n, err, errlen) < 0)
			return -1;
	} else {
		add_defaults(default_tls12, out, &n);
	}
	out[n] = 0;
	return 0;
}

void suites_describe(const int *list, char *buf, size_t len)
{
	size_t used = 0;
	int w;
	if (len == 0)
		return;
	for (size_t i = 0; list[i]; i++) {
		/* IANA's name is mbedTLS's with '_' for '-' and no "1-3" in TLS 1.3's; IANA's TLS_PSK_DHE_WITH_AES_*_CCM_8
		 * come out as TLS_DHE_PSK_..., the spelling suites_lookup reads back */
		const char *name = mbedtls_ssl_get_ciphersuite_name(list[i]);
		char iana[128];
		if (strcmp(name, "unknown") == 0)
			snprintf(iana, sizeof(iana), "0x%04X", (unsigned)list[i]);
		else
			snprintf(iana, sizeof(iana), "TLS_%s", name + (strncmp(name, "TLS1-3-", 7) == 0 ? 7 : 4));
		for (char *p = iana; *p; p++)
			*p = *p == '-' ? '_' : *p;
		w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", iana);
		if (w < 0 || (size_t)w >= len - used)
			goto cut;
		used += (size_t)w;
	}
	if (used || ((w = snprintf(buf, len, "(none)")) >= 0 && (size_t)w < len))
		return;
cut:
	if (len > 3)
		memcpy(buf + len - 4, "...", 4);
}
