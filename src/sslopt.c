/* OpenSSL option names as stunnel's `options` takes them (stunnel 5.68 with OpenSSL 3.0 lists these in
 * `stunnel -options`), and what each means for tlswrap on mbedTLS. */
#include "sslopt.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* How tlswrap treats NAME and -NAME. */
enum how {
	BIT,     /* NAME sets BIT, -NAME clears it */
	NOT_BIT, /* -NAME sets BIT (an option whose OpenSSL default is tlswrap's opposite), NAME changes nothing */
	ALWAYS,  /* tlswrap always behaves as NAME says: NAME is a no-op, -NAME is refused with WHY */
	NEVER,   /* tlswrap never does what NAME asks: NAME is refused with WHY, -NAME is a no-op */
	NOOP,    /* NAME and -NAME change nothing tlswrap does (WHY says why, for the docs) */
};

static const struct {
	const char *name;
	enum how how;
	unsigned bit;
	const char *why;
} table[] = {
	{ "NO_TICKET", BIT, SSLOPT_NO_TICKET, NULL },
	/* mbedTLS servers pick TLS 1.2 suites in their own order by default, unlike OpenSSL */
	{ "CIPHER_SERVER_PREFERENCE", NOT_BIT, SSLOPT_CLIENT_PREFERENCE, NULL },
	{ "NO_TLSv1_2", BIT, SSLOPT_NO_TLS12, NULL },
	{ "NO_TLSv1_3", BIT, SSLOPT_NO_TLS13, NULL },
	{ "NO_EXTENDED_MASTER_SECRET", BIT, SSLOPT_NO_EMS, NULL },
	{ "NO_ENCRYPT_THEN_MAC", BIT, SSLOPT_NO_ETM, NULL },
	{ "DISABLE_TLSEXT_CA_NAMES", BIT, SSLOPT_NO_CA_NAMES, NULL },

	{ "NO_SSLv2", ALWAYS, 0, "SSLv2 is never enabled" },
	{ "NO_SSLv3", ALWAYS, 0, "SSLv3 is never enabled" },
	{ "NO_TLSv1", ALWAYS, 0, "TLS 1.0 is never enabled (TLS 1.2 is the minimum)" },
	{ "NO_TLSv1_1", ALWAYS, 0, "TLS 1.1 is never enabled (TLS 1.2 is the minimum)" },
	{ "NO_COMPRESSION", ALWAYS, 0, "TLS compression is never used (CRIME; mbedTLS has none)" },
	{ "NO_RENEGOTIATION", ALWAYS, 0, "renegotiation is never allowed" },
	{ "NO_SESSION_RESUMPTION_ON_RENEGOTIATION", ALWAYS, 0, "renegotiation is never allowed" },
	{ "SINGLE_DH_USE", ALWAYS, 0, "a fresh key share is made for every handshake" },
	{ "SINGLE_ECDH_USE", ALWAYS, 0, "a fresh key share is made for every handshake" },
	{ "LEGACY_SERVER_CONNECT", ALWAYS, 0,
	  "a client connects to servers without RFC 5746 support, as renegotiation is off anyway" },
	{ "ENABLE_MIDDLEBOX_COMPAT", ALWAYS, 0, "TLS 1.3 handshakes always use middlebox compatibility mode" },
	{ "IGNORE_UNEXPECTED_EOF", ALWAYS, 0,
	  "a TLS peer that closes without close_notify ends its direction like an orderly close (and is logged)" },

	{ "ALLOW_CLIENT_RENEGOTIATION", NEVER, 0, "renegotiation is not supported" },
	{ "ALLOW_UNSAFE_LEGACY_RENEGOTIATION", NEVER, 0, "renegotiation is not supported" },
	{ "TLS_ROLLBACK_BUG", NEVER, 0, "the version in the RSA premaster secret is always checked" },
	{ "ENABLE_KTLS", NEVER, 0, "kernel TLS offload is not available with mbedTLS" },
	{ "PRIORITIZE_CHACHA", NEVER, 0,
	  "mbedTLS cannot reorder suites per client; put the CHACHA20 suites first in 'ciphers' instead" },
	{ "TLSEXT_PADDING", NEVER, 0, "mbedTLS does not pad the ClientHello" },
	{ "CLEANSE_PLAINTEXT", NEVER, 0, "not implemented: relay buffers are not wiped after use" },
	{ "CRYPTOPRO_TLSEXT_BUG", NEVER, 0, "GOST suites are not supported" },
	{ "ALLOW_NO_DHE_KEX", NEVER, 0,
	  "TLS 1.3 resumption always uses a fresh key exchange (a PSKsecrets service allows plain PSK already)" },
	{ "NO_SSL_MASK", NEVER, 0, "it would disable every TLS version" },

	/* bug workarounds for peers from before TLS 1.2 (OpenSSL 3.0 itself ignores most of them): a peer
	 * that needs one cannot speak TLS 1.2 anyway, and tlswrap inserts no empty fragments */
	{ "ALL", NOOP, 0, "OpenSSL's bug workarounds for pre-TLS 1.2 peers" },
	{ "DONT_INSERT_EMPTY_FRAGMENTS", NOOP, 0, "empty fragments are a TLS 1.0 countermeasure, never sent" },
	{ "MICROSOFT_SESS_ID_BUG", NOOP, 0, "a workaround for SSL 2.0-era peers" },
	{ "NETSCAPE_CHALLENGE_BUG", NOOP, 0, "a workaround for SSL 2.0-era peers" },
	{ "NETSCAPE_REUSE_CIPHER_CHANGE_BUG", NOOP, 0, "a workaround for SSL 3.0-era peers" },
	{ "SSLREF2_REUSE_CERT_TYPE_BUG", NOOP, 0, "a workaround for SSL 2.0-era peers" },
	{ "MICROSOFT_BIG_SSLV3_BUFFER", NOOP, 0, "a workaround for SSL 3.0-era peers" },
	{ "MSIE_SSLV2_RSA_PADDING", NOOP, 0, "a workaround for SSL 2.0-era peers" },
	{ "SSLEAY_080_CLIENT_DH_BUG", NOOP, 0, "a workaround for SSL 3.0-era peers" },
	{ "TLS_D5_BUG", NOOP, 0, "a workaround for SSL 3.0-era peers" },
	{ "TLS_BLOCK_PADDING_BUG", NOOP, 0, "a workaround for SSL 3.0-era peers" },
	{ "NETSCAPE_CA_DN_BUG", NOOP, 0, "a workaround for SSL 3.0-era peers" },
	{ "NETSCAPE_DEMO_CIPHER_CHANGE_BUG", NOOP, 0, "a workaround for SSL 3.0-era peers" },
	{ "SAFARI_ECDHE_ECDSA_BUG", NOOP, 0, "a workaround for OS X 10.8 Safari, which lacks TLS 1.2" },
	{ "PKCS1_CHECK_1", NOOP, 0, "no effect in OpenSSL either" },
	{ "PKCS1_CHECK_2", NOOP, 0, "no effect in OpenSSL either" },
	{ "EPHEMERAL_RSA", NOOP, 0, "no effect in OpenSSL either" },
	{ "NO_ANTI_REPLAY", NOOP, 0, "TLS 1.3 early data, which tlswrap never accepts" },
	/* DTLS only */
	{ "NO_DTLSv1", NOOP, 0, "DTLS, which tlswrap does not speak" },
	{ "NO_DTLSv1_2", NOOP, 0, "DTLS, which tlswrap does not speak" },
	{ "NO_DTLS_MASK", NOOP, 0, "DTLS, which tlswrap does not speak" },
	{ "NO_QUERY_MTU", NOOP, 0, "DTLS, which tlswrap does not speak" },
	{ "COOKIE_EXCHANGE", NOOP, 0, "DTLS, which tlswrap does not speak" },
	{ "CISCO_ANYCONNECT", NOOP, 0, "DTLS, which tlswrap does not speak" },
};

int sslopt_add(const char *value, struct sslopt_lines *l, char *err, size_t errlen)
{
	int negate = value[0] == '-';
	const char *name = value + negate;
	if (strncasecmp(name, "SSL_OP_", 7) == 0)
		name += 7;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcasecmp(name, table[i].name) != 0)
			continue;
		switch (table[i].how) {
		case BIT:
		case NOT_BIT:
			*(negate ? &l->clear : &l->set) |= table[i].bit;
			return 0;
		case ALWAYS:
			if (!negate)
				return 0;
			snprintf(err, errlen, "options: -%s is refused: %s", table[i].name, table[i].why);
			return -1;
		case NEVER:
			if (negate)
				return 0;
			snprintf(err, errlen, "options: %s is not supported: %s", table[i].name, table[i].why);
			return -1;
		case NOOP:
			return 0;
		}
	}
	if (!*name)
		snprintf(err, errlen, "options: empty value");
	else
		snprintf(err, errlen, "options: unknown option '%s' (OpenSSL's SSL_OP_ names without the prefix, as "
				      "in stunnel -options)", name);
	return -1;
}

unsigned sslopt_effect(const struct sslopt_lines *l)
{
	unsigned on = 0;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		unsigned b = table[i].bit;
		if (table[i].how == BIT && (l->set & b) && !(l->clear & b))
			on |= b;
		else if (table[i].how == NOT_BIT && (l->clear & b))
			on |= b;
	}
	return on;
}
