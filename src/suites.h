/* Cipher suite lists: mbedTLS, IANA and OpenSSL names and OpenSSL cipher strings -> mbedTLS suite ids. */
#ifndef TLSWRAP_SUITES_H
#define TLSWRAP_SUITES_H

#include <stddef.h>

/* Most suites in one list: enough for every TLS 1.3 suite plus what `ciphers = ALL` selects. */
#define SUITES_MAX 128

/* suites_build: the zero-terminated list mbedTLS takes: the TLS 1.3 suites TLS13 names (or the default set when
 * NULL), then the TLS 1.2 suites TLS12 selects (or the default set when NULL).
 * TLS13 (`ciphersuites`) is a list of TLS 1.3 suite names. TLS12 (`ciphers`) is an OpenSSL cipher string
 * (`man 1ssl ciphers`): names, keywords such as HIGH or ECDHE+AESGCM, the operators ! - + and @STRENGTH,
 * evaluated as OpenSSL 3.0 does over the TLS 1.2 suites both libraries have, so the order is OpenSSL's; a
 * leading DEFAULT and a lone SUITEB128/SUITEB128ONLY/SUITEB128C2/SUITEB192 as in OpenSSL (Suite B's curve
 * and signature limits are not applied here). @SECLEVEL=n leaves out the suites OpenSSL's level n refuses.
 * Names may be mbedTLS's, IANA's or OpenSSL's; separators are ':', ',', ';', space and tab.
 * In TLS12 a word that is neither a suite mbedTLS has nor a keyword (DES-CBC3-SHA, RC4-SHA, a typo) selects
 * nothing, as OpenSSL skips what it does not have (suites_skipped lists them).
 * Returns 0, or -1 with the reason in ERR, which starts with the option at fault ("ciphers: " or
 * "ciphersuites: "): an unknown name in TLS13, a TLS 1.3 suite in `ciphers` or a TLS 1.2 one in
 * `ciphersuites`, DEFAULT after the start or SUITEB* with more, a syntax error, a list longer than 8192
 * characters or with more than SUITES_MAX suites, or a list that selects nothing (OpenSSL's "no cipher
 * match"). OUT is then undefined. */
int suites_build(const char *tls12, const char *tls13, int out[SUITES_MAX + 1], char *err, size_t errlen);

/* suites_skipped: the words of cipher string TLS12 (`ciphers`) that name no suite mbedTLS has and no keyword,
 * and so select nothing (see suites_build), as "A, B" into BUF (LEN bytes; cut when long). Returns how many
 * (0 also when TLS12 is NULL or has an error suites_build reports). */
int suites_skipped(const char *tls12, char *buf, size_t len);

/* suites_seclevel: the level the last @SECLEVEL=n of cipher string TLS12 sets, or -1 when it has none (or TLS12
 * is NULL, or has an error suites_build reports). */
int suites_seclevel(const char *tls12);

/* suites_apply_level: remove from LIST (as suites_build made it) the suites OpenSSL's security level LEVEL (0-5)
 * refuses: keys shorter than 80, 112, 128, 192, 256 bits for levels 1 to 5, SHA-1 MACs from level 4, suites
 * without forward secrecy from level 3. A TLS 1.2 suite OpenSSL has no name for stays. Returns how many are
 * left. */
int suites_apply_level(int list[SUITES_MAX + 1], int level);

/* suites_use_psk: adapt a default list built by suites_build for PSK: append the PSK TLS 1.2 suites
 * and, when ONLY, drop the certificate-based TLS 1.2 suites (a PSK-only peer must never fall back to
 * an unauthenticated certificate exchange). */
void suites_use_psk(int list[SUITES_MAX + 1], int only);

/* suites_count_tls12: how many TLS 1.2 suites LIST holds. */
int suites_count_tls12(const int list[SUITES_MAX + 1]);

/* suites_drop_psk: remove the TLS 1.2 suites that use a PSK from LIST (a service without PSKsecrets
 * cannot negotiate them). */
void suites_drop_psk(int list[SUITES_MAX + 1]);

/* suites_drop_non_psk: remove the TLS 1.2 suites that do not use a PSK from LIST (TLS 1.3 suites stay).
 * Returns how many TLS 1.2 suites are left. */
int suites_drop_non_psk(int list[SUITES_MAX + 1]);

/* suites_lookup: the mbedTLS id of one suite NAME (any accepted spelling), or 0 when unknown. */
int suites_lookup(const char *name);

/* suites_describe: write the suites of the zero-terminated LIST (as suites_build made it) into BUF, which holds
 * LEN bytes, as their IANA names separated by ", " ("TLS_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_..."), for
 * --check and logs; "(none)" for an empty list, 0xNNNN for an id mbedTLS does not know. Cannot fail: when BUF
 * is too small the text is cut and ends with "..."; BUF is always terminated when LEN > 0. */
void suites_describe(const int *list, char *buf, size_t len);

#endif
