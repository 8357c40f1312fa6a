/* securityLevel (stunnel's, OpenSSL's security levels 0-5) applied to a service's mbedTLS configuration. */
#ifndef TLSWRAP_SECLEVEL_H
#define TLSWRAP_SECLEVEL_H

#include <stddef.h>

struct tls_svc;
struct cfg_service;

/* seclevel_apply: hold T, built from S, to S's security level (securityLevel, or the cipher string's
 * @SECLEVEL, as OpenSSL defines the levels): the keys and signatures of its own certificate chain are checked
 * now (RSA and DH 1024, 2048, 3072, 7680, 15360 bits and ECC 160, 224, 256, 384, 512 bits for levels 1 to 5;
 * signatures with a hash of as many security bits: no SHA-1 from level 1, SHA-384 at level 4, SHA-512 at 5;
 * a self-signed certificate's own signature is not looked at); peer chains are verified against the same
 * limits, and the key exchange groups, the signature algorithms, a client's smallest DH group and the cipher
 * suites are narrowed to the level. Call it once T's certificate, groups and suites are set up.
 * Returns 0, or -1 with the reason in ERR, starting with the option at fault ("cert FILE: ...", "curves: ...",
 * "securityLevel: ..."). */
int seclevel_apply(struct tls_svc *t, const struct cfg_service *s, char *err, size_t errlen);

#endif
