/* stunnel's `options = NAME` and `options = -NAME`: OpenSSL's SSL_OP_* names (without the prefix)
 * mapped to what tlswrap does with them. Pure: no I/O, no state. */
#ifndef TLSWRAP_SSLOPT_H
#define TLSWRAP_SSLOPT_H

#include <stddef.h>

/* The names with an effect in tlswrap; every other accepted name is something tlswrap always does
 * (NO_SSLv3, NO_COMPRESSION, ...) or never needs (bug workarounds for pre-TLS 1.2 peers, DTLS). */
enum {
	SSLOPT_NO_TICKET = 1u << 0,        /* no session tickets: server issues none, client offers none */
	SSLOPT_CLIENT_PREFERENCE = 1u << 1, /* -CIPHER_SERVER_PREFERENCE: the client's TLS 1.2 suite order wins */
	SSLOPT_NO_TLS12 = 1u << 2,         /* TLS 1.3 only */
	SSLOPT_NO_TLS13 = 1u << 3,         /* TLS 1.2 only */
	SSLOPT_NO_EMS = 1u << 4,           /* no extended master secret (RFC 7627) in TLS 1.2 */
	SSLOPT_NO_ETM = 1u << 5,           /* no encrypt-then-MAC (RFC 7366) for TLS 1.2 CBC suites */
	SSLOPT_NO_CA_NAMES = 1u << 6,      /* server: no CA names in the CertificateRequest */
};

/* The options lines of a service, as stunnel keeps them: the names set and the names cleared, so a
 * "-NAME" wins over "NAME" wherever the two lines are. */
struct sslopt_lines {
	unsigned set, clear; /* SSLOPT_* of the names given, and of the names given with "-" */
};

/* sslopt_add: note one `options` VALUE ("NAME" sets it, "-NAME" clears it; case-insensitive, an
 * "SSL_OP_" prefix is allowed) in *L. Returns 0, or -1 with a reason in ERR that starts with
 * "options: " (an unknown name, or a name whose setting tlswrap refuses, such as -NO_SSLv3). */
int sslopt_add(const char *value, struct sslopt_lines *l, char *err, size_t errlen);

/* sslopt_effect: the SSLOPT_* bits in force after the lines in L. */
unsigned sslopt_effect(const struct sslopt_lines *l);

#endif
