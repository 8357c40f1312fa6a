/* OCSP (RFC 6960) on mbedTLS's ASN.1 and X.509 APIs, as mbedTLS has none: the request for one certificate
 * and the checks of the responder's answer (structure, signature, signer, times, nonce, status). No I/O:
 * the HTTP exchange and the cache are the caller's. */
#ifndef TLSWRAP_OCSP_H
#define TLSWRAP_OCSP_H

#include <stddef.h>
#include <time.h>

#include <mbedtls/x509_crt.h>

#define OCSP_HASH_LEN 20       /* SHA-1, the hash of CertID every responder knows */
#define OCSP_MAX_SERIAL 32     /* RFC 5280: at most 20 octets; some CAs write more */
#define OCSP_NONCE_LEN 16      /* as openssl ocsp sends */
#define OCSP_MAX_REQUEST 512   /* one CertID and a nonce fit well within this */
#define OCSP_MAX_RESPONSE 65536 /* a response with a few certificates; anything longer is refused */
#define OCSP_SKEW 300          /* seconds of clock difference allowed around thisUpdate and nextUpdate */

/* Which certificate a request asks about: SHA-1 of the issuer's name and key, and the serial. */
struct ocsp_certid {
	unsigned char name_hash[OCSP_HASH_LEN];
	unsigned char key_hash[OCSP_HASH_LEN];
	unsigned char serial[OCSP_MAX_SERIAL];
	size_t serial_len;
};

enum ocsp_status { OCSP_GOOD, OCSP_REVOKED, OCSP_UNKNOWN };

/* A response's answer about one certificate, once every check passed. */
struct ocsp_answer {
	enum ocsp_status status;
	int reason;           /* CRLReason (0-10) when revoked and the responder gave one, else -1 */
	time_t revoked_at;    /* when revoked */
	time_t this_update;
	time_t next_update;   /* always present (a response without it is refused as stale) */
};

/* ocsp_certid: the CertID of CERT, issued by ISSUER (whose subject must be CERT's issuer). Returns 0, or
 * -1 with the reason in ERR (serial longer than OCSP_MAX_SERIAL, unreadable issuer key). */
int ocsp_certid(const mbedtls_x509_crt *cert, const mbedtls_x509_crt *issuer, struct ocsp_certid *id, char *err,
		size_t errlen);

/* ocsp_request: the DER OCSPRequest for ID into BUF (SIZE bytes), with the nonce extension holding NONCE
 * (NONCE_LEN bytes) unless NONCE is NULL. Returns its length, or -1 when BUF is too small. */
int ocsp_request(const struct ocsp_certid *id, const unsigned char *nonce, size_t nonce_len, unsigned char *buf,
		 size_t size);

/* ocsp_check: DER (LEN bytes), an OCSPResponse, answers about ID, issued by ISSUER. It must be a successful
 * basic response, signed by ISSUER or by a certificate it carries that ISSUER signed and whose extended key
 * usage has id-kp-OCSPSigning; name ID in a SingleResponse; have thisUpdate no later than NOW + OCSP_SKEW and
 * a nextUpdate no earlier than NOW - OCSP_SKEW; and, when NONCE is not NULL, carry that nonce. Returns 0
 * with ANS filled in, or -1 with the reason in ERR (ANS is then undefined). Every length is checked against
 * the input: any DER is safe to give. */
int ocsp_check(const unsigned char *der, size_t len, const struct ocsp_certid *id, const mbedtls_x509_crt *issuer,
	       const unsigned char *nonce, size_t nonce_len, time_t now, struct ocsp_answer *ans, char *err,
	       size_t errlen);

/* ocsp_issued_by: whether ISSUER's subject is CERT's issuer and ISSUER's key signed CERT. */
int ocsp_issued_by(const mbedtls_x509_crt *cert, const mbedtls_x509_crt *issuer);

/* ocsp_find_issuer: the certificate that issued CERT, among those chained after it (what the peer sent)
 * and then the list CAS (may be NULL); NULL when none did. A name alone is not enough: the key must have
 * signed CERT, or a peer could send a certificate of its own under its CA's name to vouch for its answers. */
const mbedtls_x509_crt *ocsp_find_issuer(const mbedtls_x509_crt *cert, const mbedtls_x509_crt *cas);

/* ocsp_aia_url: the first http:// or https:// id-ad-ocsp URI of CERT's Authority Information Access
 * extension, copied to URL (SIZE bytes). Returns 1 when found, 0 when CERT names none (or only other
 * schemes), -1 when the extension is malformed or the URI does not fit. */
int ocsp_aia_url(const mbedtls_x509_crt *cert, char *url, size_t size);

/* ocsp_status_str, ocsp_reason_str: words for a status and a CRLReason ("keyCompromise"); "unspecified"
 * for -1 and numbers RFC 5280 does not define. */
const char *ocsp_status_str(enum ocsp_status status);
const char *ocsp_reason_str(int reason);

#endif
