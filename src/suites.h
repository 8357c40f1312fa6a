/* Cipher suite lists: mbedTLS, IANA and common OpenSSL names -> mbedTLS suite ids. */
#ifndef TLSWRAP_SUITES_H
#define TLSWRAP_SUITES_H

#include <stddef.h>

#define SUITES_MAX 64

/* suites_build: the zero-terminated list mbedTLS takes: the TLS 1.3 suites from TLS13 (or the
 * default set when NULL) followed by the TLS 1.2 suites from TLS12 (or the default set when NULL).
 * Both are colon-separated lists of names. Returns 0, or -1 with the reason in ERR (unknown name,
 * a TLS 1.2 suite given as a TLS 1.3 one or the reverse, an OpenSSL cipher expression, empty list). */
int suites_build(const char *tls12, const char *tls13, int out[SUITES_MAX + 1], char *err, size_t errlen);

/* suites_use_psk: adapt a default list built by suites_build for PSK: append the PSK TLS 1.2 suites
 * and, when ONLY, drop the certificate-based TLS 1.2 suites (a PSK-only peer must never fall back to
 * an unauthenticated certificate exchange). */
void suites_use_psk(int list[SUITES_MAX + 1], int only);

/* suites_drop_non_psk: remove the TLS 1.2 suites that do not use a PSK from LIST (TLS 1.3 suites stay).
 * Returns how many TLS 1.2 suites are left. */
int suites_drop_non_psk(int list[SUITES_MAX + 1]);

/* suites_lookup: the mbedTLS id of one suite NAME (any accepted spelling), or 0 when unknown. */
int suites_lookup(const char *name);

#endif
