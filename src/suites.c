/* Cipher suite name mapping. mbedTLS only knows its own names; people bring OpenSSL's or IANA's. */
#include "suites.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>

/* OpenSSL's names for the TLS 1.2 suites mbedTLS 3.6 has: `openssl ciphers -stdname 'ALL:PSK:@SECLEVEL=0'`
 * (OpenSSL's own OpenSSL <-> IANA table) joined with mbedtls_ssl_list_ciphersuites(), the IANA name
 * spelt mbedTLS's way. A name OpenSSL gives two suites does not occur, so each entry is unambiguous. */
static const struct {
	const char *openssl, *mbedtls;
} openssl_names[] = {
	{ "AES128-CCM", "TLS-RSA-WITH-AES-128-CCM" },
	{ "AES128-CCM8", "TLS-RSA-WITH-AES-128-CCM-8" },
	{ "AES128-GCM-SHA256", "TLS-RSA-WITH-AES-128-GCM-SHA256" },
	{ "AES128-SHA", "TLS-RSA-WITH-AES-128-CBC-SHA" },
	{ "AES128-SHA256", "TLS-RSA-WITH-AES-128-CBC-SHA256" },
	{ "AES256-CCM", "TLS-RSA-WITH-AES-256-CCM" },
	{ "AES256-CCM8", "TLS-RSA-WITH-AES-256-CCM-8" },
	{ "AES256-GCM-SHA384", "TLS-RSA-WITH-AES-256-GCM-SHA384" },
	{ "AES256-SHA", "TLS-RSA-WITH-AES-256-CBC-SHA" },
	{ "AES256-SHA256", "TLS-RSA-WITH-AES-256-CBC-SHA256" },
	{ "ARIA128-GCM-SHA256", "TLS-RSA-WITH-ARIA-128-GCM-SHA256" },
	{ "ARIA256-GCM-SHA384", "TLS-RSA-WITH-ARIA-256-GCM-SHA384" },
	{ "CAMELLIA128-SHA", "TLS-RSA-WITH-CAMELLIA-128-CBC-SHA" },
	{ "CAMELLIA128-SHA256", "TLS-RSA-WITH-CAMELLIA-128-CBC-SHA256" },
	{ "CAMELLIA256-SHA", "TLS-RSA-WITH-CAMELLIA-256-CBC-SHA" },
	{ "CAMELLIA256-SHA256", "TLS-RSA-WITH-CAMELLIA-256-CBC-SHA256" },
	{ "DHE-PSK-AES128-CBC-SHA", "TLS-DHE-PSK-WITH-AES-128-CBC-SHA" },
	{ "DHE-PSK-AES128-CBC-SHA256", "TLS-DHE-PSK-WITH-AES-128-CBC-SHA256" },
	{ "DHE-PSK-AES128-CCM", "TLS-DHE-PSK-WITH-AES-128-CCM" },
	{ "DHE-PSK-AES128-GCM-SHA256", "TLS-DHE-PSK-WITH-AES-128-GCM-SHA256" },
	{ "DHE-PSK-AES256-CBC-SHA", "TLS-DHE-PSK-WITH-AES-256-CBC-SHA" },
	{ "DHE-PSK-AES256-CBC-SHA384", "TLS-DHE-PSK-WITH-AES-256-CBC-SHA384" },
	{ "DHE-PSK-AES256-CCM", "TLS-DHE-PSK-WITH-AES-256-CCM" },
	{ "DHE-PSK-AES256-GCM-SHA384", "TLS-DHE-PSK-WITH-AES-256-GCM-SHA384" },
	{ "DHE-PSK-ARIA128-GCM-SHA256", "TLS-DHE-PSK-WITH-ARIA-128-GCM-SHA256" },
	{ "DHE-PSK-ARIA256-GCM-SHA384", "TLS-DHE-PSK-WITH-ARIA-256-GCM-SHA384" },
	{ "DHE-PSK-CAMELLIA128-SHA256", "TLS-DHE-PSK-WITH-CAMELLIA-128-CBC-SHA256" },
	{ "DHE-PSK-CAMELLIA256-SHA384", "TLS-DHE-PSK-WITH-CAMELLIA-256-CBC-SHA384" },
	{ "DHE-PSK-CHACHA20-POLY1305", "TLS-DHE-PSK-WITH-CHACHA20-POLY1305-SHA256" },
	{ "DHE-RSA-AES128-CCM", "TLS-DHE-RSA-WITH-AES-128-CCM" },
	{ "DHE-RSA-AES128-CCM8", "TLS-DHE-RSA-WITH-AES-128-CCM-8" },
	{ "DHE-RSA-AES128-GCM-SHA256", "TLS-DHE-RSA-WITH-AES-128-GCM-SHA256" },
	{ "DHE-RSA-AES128-SHA", "TLS-DHE-RSA-WITH-AES-128-CBC-SHA" },
	{ "DHE-RSA-AES128-SHA256", "TLS-DHE-RSA-WITH-AES-128-CBC-SHA256" },
	{ "DHE-RSA-AES256-CCM", "TLS-DHE-RSA-WITH-AES-256-CCM" },
	{ "DHE-RSA-AES256-CCM8", "TLS-DHE-RSA-WITH-AES-256-CCM-8" },
	{ "DHE-RSA-AES256-GCM-SHA384", "TLS-DHE-RSA-WITH-AES-256-GCM-SHA384" },
	{ "DHE-RSA-AES256-SHA", "TLS-DHE-RSA-WITH-AES-256-CBC-SHA" },
	{ "DHE-RSA-AES256-SHA256", "TLS-DHE-RSA-WITH-AES-256-CBC-SHA256" },
	{ "DHE-RSA-ARIA128-GCM-SHA256", "TLS-DHE-RSA-WITH-ARIA-128-GCM-SHA256" },
	{ "DHE-RSA-ARIA256-GCM-SHA384", "TLS-DHE-RSA-WITH-ARIA-256-GCM-SHA384" },
	{ "DHE-RSA-CAMELLIA128-SHA", "TLS-DHE-RSA-WITH-CAMELLIA-128-CBC-SHA" },
	{ "DHE-RSA-CAMELLIA128-SHA256", "TLS-DHE-RSA-WITH-CAMELLIA-128-CBC-SHA256" },
	{ "DHE-RSA-CAMELLIA256-SHA", "TLS-DHE-RSA-WITH-CAMELLIA-256-CBC-SHA" },
	{ "DHE-RSA-CAMELLIA256-SHA256", "TLS-DHE-RSA-WITH-CAMELLIA-256-CBC-SHA256" },
	{ "DHE-RSA-CHACHA20-POLY1305", "TLS-DHE-RSA-WITH-CHACHA20-POLY1305-SHA256" },
	{ "ECDHE-ARIA128-GCM-SHA256", "TLS-ECDHE-RSA-WITH-ARIA-128-GCM-SHA256" },
	{ "ECDHE-ARIA256-GCM-SHA384", "TLS-ECDHE-RSA-WITH-ARIA-256-GCM-SHA384" },
	{ "ECDHE-ECDSA-AES128-CCM", "TLS-ECDHE-ECDSA-WITH-AES-128-CCM" },
	{ "ECDHE-ECDSA-AES128-CCM8", "TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8" },
	{ "ECDHE-ECDSA-AES128-GCM-SHA256", "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256" },
	{ "ECDHE-ECDSA-AES128-SHA", "TLS-ECDHE-ECDSA-WITH-AES-128-CBC-SHA" },
	{ "ECDHE-ECDSA-AES128-SHA256", "TLS-ECDHE-ECDSA-WITH-AES-128-CBC-SHA256" },
	{ "ECDHE-ECDSA-AES256-CCM", "TLS-ECDHE-ECDSA-WITH-AES-256-CCM" },
	{ "ECDHE-ECDSA-AES256-CCM8", "TLS-ECDHE-ECDSA-WITH-AES-256-CCM-8" },
	{ "ECDHE-ECDSA-AES256-GCM-SHA384", "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384" },
	{ "ECDHE-ECDSA-AES256-SHA", "TLS-ECDHE-ECDSA-WITH-AES-256-CBC-SHA" },
	{ "ECDHE-ECDSA-AES256-SHA384", "TLS-ECDHE-ECDSA-WITH-AES-256-CBC-SHA384" },
	{ "ECDHE-ECDSA-ARIA128-GCM-SHA256", "TLS-ECDHE-ECDSA-WITH-ARIA-128-GCM-SHA256" },
	{ "ECDHE-ECDSA-ARIA256-GCM-SHA384", "TLS-ECDHE-ECDSA-WITH-ARIA-256-GCM-SHA384" },
	{ "ECDHE-ECDSA-CAMELLIA128-SHA256", "TLS-ECDHE-ECDSA-WITH-CAMELLIA-128-CBC-SHA256" },
	{ "ECDHE-ECDSA-CAMELLIA256-SHA384", "TLS-ECDHE-ECDSA-WITH-CAMELLIA-256-CBC-SHA384" },
	{ "ECDHE-ECDSA-CHACHA20-POLY1305", "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256" },
	{ "ECDHE-PSK-AES128-CBC-SHA", "TLS-ECDHE-PSK-WITH-AES-128-CBC-SHA" },
	{ "ECDHE-PSK-AES128-CBC-SHA256", "TLS-ECDHE-PSK-WITH-AES-128-CBC-SHA256" },
	{ "ECDHE-PSK-AES256-CBC-SHA", "TLS-ECDHE-PSK-WITH-AES-256-CBC-SHA" },
	{ "ECDHE-PSK-AES256-CBC-SHA384", "TLS-ECDHE-PSK-WITH-AES-256-CBC-SHA384" },
	{ "ECDHE-PSK-CAMELLIA128-SHA256", "TLS-ECDHE-PSK-WITH-CAMELLIA-128-CBC-SHA256" },
	{ "ECDHE-PSK-CAMELLIA256-SHA384", "TLS-ECDHE-PSK-WITH-CAMELLIA-256-CBC-SHA384" },
	{ "ECDHE-PSK-CHACHA20-POLY1305", "TLS-ECDHE-PSK-WITH-CHACHA20-POLY1305-SHA256" },
	{ "ECDHE-RSA-AES128-GCM-SHA256", "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256" },
	{ "ECDHE-RSA-AES128-SHA", "TLS-ECDHE-RSA-WITH-AES-128-CBC-SHA" },
	{ "ECDHE-RSA-AES128-SHA256", "TLS-ECDHE-RSA-WITH-AES-128-CBC-SHA256" },
	{ "ECDHE-RSA-AES256-GCM-SHA384", "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384" },
	{ "ECDHE-RSA-AES256-SHA", "TLS-ECDHE-RSA-WITH-AES-256-CBC-SHA" },
	{ "ECDHE-RSA-AES256-SHA384", "TLS-ECDHE-RSA-WITH-AES-256-CBC-SHA384" },
	{ "ECDHE-RSA-CAMELLIA128-SHA256", "TLS-ECDHE-RSA-WITH-CAMELLIA-128-CBC-SHA256" },
	{ "ECDHE-RSA-CAMELLIA256-SHA384", "TLS-ECDHE-RSA-WITH-CAMELLIA-256-CBC-SHA384" },
	{ "ECDHE-RSA-CHACHA20-POLY1305", "TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256" },
	{ "PSK-AES128-CBC-SHA", "TLS-PSK-WITH-AES-128-CBC-SHA" },
	{ "PSK-AES128-CBC-SHA256", "TLS-PSK-WITH-AES-128-CBC-SHA256" },
	{ "PSK-AES128-CCM", "TLS-PSK-WITH-AES-128-CCM" },
	{ "PSK-AES128-CCM8", "TLS-PSK-WITH-AES-128-CCM-8" },
	{ "PSK-AES128-GCM-SHA256", "TLS-PSK-WITH-AES-128-GCM-SHA256" },
	{ "PSK-AES256-CBC-SHA", "TLS-PSK-WITH-AES-256-CBC-SHA" },
	{ "PSK-AES256-CBC-SHA384", "TLS-PSK-WITH-AES-256-CBC-SHA384" },
	{ "PSK-AES256-CCM", "TLS-PSK-WITH-AES-256-CCM" },
	{ "PSK-AES256-CCM8", "TLS-PSK-WITH-AES-256-CCM-8" },
	{ "PSK-AES256-GCM-SHA384", "TLS-PSK-WITH-AES-256-GCM-SHA384" },
	{ "PSK-ARIA128-GCM-SHA256", "TLS-PSK-WITH-ARIA-128-GCM-SHA256" },
	{ "PSK-ARIA256-GCM-SHA384", "TLS-PSK-WITH-ARIA-256-GCM-SHA384" },
	{ "PSK-CAMELLIA128-SHA256", "TLS-PSK-WITH-CAMELLIA-128-CBC-SHA256" },
	{ "PSK-CAMELLIA256-SHA384", "TLS-PSK-WITH-CAMELLIA-256-CBC-SHA384" },
	{ "PSK-CHACHA20-POLY1305", "TLS-PSK-WITH-CHACHA20-POLY1305-SHA256" },
	{ "RSA-PSK-AES128-CBC-SHA", "TLS-RSA-PSK-WITH-AES-128-CBC-SHA" },
	{ "RSA-PSK-AES128-CBC-SHA256", "TLS-RSA-PSK-WITH-AES-128-CBC-SHA256" },
	{ "RSA-PSK-AES128-GCM-SHA256", "TLS-RSA-PSK-WITH-AES-128-GCM-SHA256" },
	{ "RSA-PSK-AES256-CBC-SHA", "TLS-RSA-PSK-WITH-AES-256-CBC-SHA" },
	{ "RSA-PSK-AES256-CBC-SHA384", "TLS-RSA-PSK-WITH-AES-256-CBC-SHA384" },
	{ "RSA-PSK-AES256-GCM-SHA384", "TLS-RSA-PSK-WITH-AES-256-GCM-SHA384" },
	{ "RSA-PSK-ARIA128-GCM-SHA256", "TLS-RSA-PSK-WITH-ARIA-128-GCM-SHA256" },
	{ "RSA-PSK-ARIA256-GCM-SHA384", "TLS-RSA-PSK-WITH-ARIA-256-GCM-SHA384" },
	{ "RSA-PSK-CAMELLIA128-SHA256", "TLS-RSA-PSK-WITH-CAMELLIA-128-CBC-SHA256" },
	{ "RSA-PSK-CAMELLIA256-SHA384", "TLS-RSA-PSK-WITH-CAMELLIA-256-CBC-SHA384" },
	{ "RSA-PSK-CHACHA20-POLY1305", "TLS-RSA-PSK-WITH-CHACHA20-POLY1305-SHA256" },
};

static const char *const default_tls13[] = { "TLS1-3-AES-256-GCM-SHA384", "TLS1-3-CHACHA20-POLY1305-SHA256",
					     "TLS1-3-AES-128-GCM-SHA256", NULL };
static const char *const default_tls12[] = {
	"TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384", "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256",
	"TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256", "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384",
	"TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256", "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256", NULL
};

int suites_lookup(const char *name)
{
	char buf[128];
	int id = mbedtls_ssl_get_ciphersuite_id(name);
	if (id)
		return id;
	for (size_t i = 0; i < sizeof(openssl_names) / sizeof(openssl_names[0]); i++)
		if (strcasecmp(name, openssl_names[i].openssl) == 0)
			return mbedtls_ssl_get_ciphersuite_id(openssl_names[i].mbedtls);
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

static int add_list(const char *list, int want13, int *out, size_t *n, char *err, size_t errlen)
{
	char buf[2048];
	size_t before = *n;
	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf)) {
		snprintf(err, errlen, "cipher list too long");
		return -1;
	}
	for (char *save = NULL, *tok = strtok_r(buf, ":, \t", &save); tok; tok = strtok_r(NULL, ":, \t", &save)) {
		if (strpbrk(tok, "!+@") || strcasecmp(tok, "HIGH") == 0 || strcasecmp(tok, "DEFAULT") == 0 ||
		    strcasecmp(tok, "ALL") == 0) {
			snprintf(err, errlen, "'%s': OpenSSL cipher expressions are not supported; list suite names", tok);
			return -1;
		}
		int id = suites_lookup(tok);
		if (!id) {
			snprintf(err, errlen, "unknown cipher suite '%s' (use mbedTLS, IANA or OpenSSL names)", tok);
			return -1;
		}
		if (is_tls13(id) != want13) {
			snprintf(err, errlen, "'%s' is a TLS %s suite: put it in '%s'", tok, want13 ? "1.2" : "1.3",
				 want13 ? "ciphers" : "ciphersuites");
			return -1;
		}
		if (*n >= SUITES_MAX) {
			snprintf(err, errlen, "more than %d cipher suites", SUITES_MAX);
			return -1;
		}
		out[(*n)++] = id;
	}
	if (*n == before) {
		snprintf(err, errlen, "empty cipher list");
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
		if (add_list(tls13, 1, out, &n, err, errlen) < 0)
			return -1;
	} else {
		add_defaults(default_tls13, out, &n);
	}
	if (tls12) {
		if (add_list(tls12, 0, out, &n, err, errlen) < 0)
			return -1;
	} else {
		add_defaults(default_tls12, out, &n);
	}
	out[n] = 0;
	return 0;
}
