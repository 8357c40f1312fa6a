/* Pure matchers for peer identities: host names (with one-label wildcards) and IP addresses. */
#ifndef TLSWRAP_MATCH_H
#define TLSWRAP_MATCH_H

#include <stddef.h>

/* match_dns: 1 when NAME matches PATTERN (PLEN bytes, not NUL-terminated: certificate data),
 * ignoring case and one trailing dot. A leading "*." in PATTERN matches exactly one non-empty
 * label; any other '*' matches nothing. 0 otherwise. */
int match_dns(const char *pattern, size_t plen, const char *name);

/* match_ip: 1 when the LEN raw address bytes (4 or 16, an iPAddress SAN) equal the textual
 * IPv4/IPv6 address TEXT. 0 otherwise (including when TEXT is not an address). */
int match_ip(const unsigned char *raw, size_t len, const char *text);

/* match_is_ip: 1 when TEXT is an IPv4 or IPv6 literal. */
int match_is_ip(const char *text);

#define MATCH_PIN_LEN 32

/* match_pin_parse: "sha256//BASE64" (curl's --pinnedpubkey form for one key) -> the 32-byte SHA-256
 * of a SubjectPublicKeyInfo in OUT. Returns 0, or -1 with the reason in ERR. */
int match_pin_parse(const char *text, unsigned char out[MATCH_PIN_LEN], char *err, size_t errlen);

/* match_email: 1 when ADDR (LEN bytes) equals WANT, the local part exactly and the domain without
 * regard to case. 0 otherwise. */
int match_email(const char *addr, size_t len, const char *want);

#endif
