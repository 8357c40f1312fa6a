/* OCSP requests and responses (RFC 6960), built and read with mbedTLS's ASN.1 functions. Reading never
 * trusts a length: every element is taken with mbedtls_asn1_get_tag against the end of its parent. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>

#include "ocsp.h"

#define OID_SHA1 MBEDTLS_OID_DIGEST_ALG_SHA1
#define OID_OCSP MBEDTLS_OID_PKIX "\x30\x01"        /* id-ad-ocsp, 1.3.6.1.5.5.7.48.1 */
#define OID_OCSP_BASIC OID_OCSP "\x01"              /* id-pkix-ocsp-basic */
#define OID_OCSP_NONCE OID_OCSP "\x02"              /* id-pkix-ocsp-nonce */
#define OID_AIA MBEDTLS_OID_PKIX "\x01\x01"          /* id-pe-authorityInfoAccess, 1.3.6.1.5.5.7.1.1 */
#define OID_LEN(oid) (sizeof(oid) - 1)

#define CTX_TAG(n) (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | (n))
#define SEQ (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int sha1(const unsigned char *data, size_t len, unsigned char out[OCSP_HASH_LEN])
{
	return mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA1), data, len, out) == 0 ? 0 : -1;
}

/* The subjectPublicKey bits of CERT (without the unused-bits octet), which issuerKeyHash and a byKey
 * ResponderID hash. */
static int public_key_bits(const mbedtls_x509_crt *cert, const unsigned char **bits, size_t *len)
{
	unsigned char *p = cert->pk_raw.p, *end = p + cert->pk_raw.len;
	size_t n;
	if (mbedtls_asn1_get_tag(&p, end, &n, SEQ) != 0)
		return -1;
	end = p + n;
	if (mbedtls_asn1_get_tag(&p, end, &n, SEQ) != 0) /* AlgorithmIdentifier */
		return -1;
	p += n;
	if (mbedtls_asn1_get_bitstring_null(&p, end, &n) != 0)
		return -1;
	*bits = p;
	*len = n;
	return 0;
}

static int key_hash(const mbedtls_x509_crt *cert, unsigned char out[OCSP_HASH_LEN])
{
	const unsigned char *bits;
	size_t len;
	return public_key_bits(cert, &bits, &len) == 0 ? sha1(bits, len, out) : -1;
}

int ocsp_certid(const mbedtls_x509_crt *cert, const mbedtls_x509_crt *issuer, struct ocsp_certid *id, char *err,
		size_t errlen)
{
	if (cert->serial.len == 0 || cert->serial.len > OCSP_MAX_SERIAL)
		return fail(err, errlen, "certificate serial of %zu bytes (at most %d)", cert->serial.len,
			    OCSP_MAX_SERIAL);
	if (sha1(issuer->subject_raw.p, issuer->subject_raw.len, id->name_hash) != 0 ||
	    key_hash(issuer, id->key_hash) != 0)
		return fail(err, errlen, "cannot read the issuer's public key");
	memcpy(id->serial, cert->serial.p, cert->serial.len);
	id->serial_len = cert->serial.len;
	return 0;
}

/* mbedtls_asn1_write_* write backwards from the end and return a length or a negative error: W adds one
 * element's length to LEN, or returns -1. */
#define W(len, call)                   \
	do {                           \
		int w_ = (call);       \
		if (w_ < 0)            \
			return -1;     \
		(len) += (size_t)w_;   \
	} while (0)

/* TAG and the length LEN in front of what was written since. */
static int write_header(unsigned char **p, unsigned char *start, size_t len, unsigned char tag)
{
	size_t n = 0;
	W(n, mbedtls_asn1_write_len(p, start, len));
	W(n, mbedtls_asn1_write_tag(p, start, tag));
	return (int)n;
}

static int write_certid(unsigned char **p, unsigned char *start, const struct ocsp_certid *id)
{
	size_t len = 0;
	W(len, mbedtls_asn1_write_raw_buffer(p, start, id->serial, id->serial_len));
	W(len, write_header(p, start, id->serial_len, MBEDTLS_ASN1_INTEGER));
	W(len, mbedtls_asn1_write_octet_string(p, start, id->key_hash, OCSP_HASH_LEN));
	W(len, mbedtls_asn1_write_octet_string(p, start, id->name_hash, OCSP_HASH_LEN));
	W(len, mbedtls_asn1_write_algorithm_identifier(p, start, OID_SHA1, OID_LEN(OID_SHA1), 0));
	W(len, write_header(p, start, len, SEQ));
	return (int)len;
}

/* requestExtensions [2] with the nonce: extnValue holds an OCTET STRING of the nonce (RFC 8954). */
static int write_nonce(unsigned char **p, unsigned char *start, const unsigned char *nonce, size_t nonce_len)
{
	size_t len = 0, inner = 0;
	W(inner, mbedtls_asn1_write_octet_string(p, start, nonce, nonce_len));
	W(len, inner);
	W(len, write_header(p, start, inner, MBEDTLS_ASN1_OCTET_STRING));
	W(len, mbedtls_asn1_write_oid(p, start, OID_OCSP_NONCE, OID_LEN(OID_OCSP_NONCE)));
	W(len, write_header(p, start, len, SEQ));     /* Extension */
	W(len, write_header(p, start, len, SEQ));     /* Extensions */
	W(len, write_header(p, start, len, CTX_TAG(2)));
	return (int)len;
}

int ocsp_request(const struct ocsp_certid *id, const unsigned char *nonce, size_t nonce_len, unsigned char *buf,
		 size_t size)
{
	unsigned char *p = buf + size;
	size_t len = 0, list = 0;
	if (nonce)
		W(len, write_nonce(&p, buf, nonce, nonce_len));
	W(list, write_certid(&p, buf, id));
	W(list, write_header(&p, buf, list, SEQ)); /* Request */
	W(list, write_header(&p, buf, list, SEQ)); /* requestList */
	W(len, list);
	W(len, write_header(&p, buf, len, SEQ));   /* TBSRequest */
	W(len, write_header(&p, buf, len, SEQ));   /* OCSPRequest */
	memmove(buf, p, len);
	return (int)len;
}

/* ---- reading ---------------------------------------------------------------------------------------- */

/* An element with TAG at *P (before END): its contents in *BODY (LEN bytes); *P moves past it. */
static int get(unsigned char **p, const unsigned char *end, int tag, unsigned char **body, size_t *len)
{
	if (mbedtls_asn1_get_tag(p, end, len, tag) != 0)
		return -1;
	*body = *p;
	*p += *len;
	return 0;
}

/* Whether the next element at P (before END) has TAG. */
static int next_is(const unsigned char *p, const unsigned char *end, int tag)
{
	return p < end && *p == tag;
}

static int digits(const unsigned char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* A GeneralizedTime as RFC 5280 writes it: YYYYMMDDHHMMSSZ. */
static int get_time(unsigned char **p, const unsigned char *end, time_t *t)
{
	unsigned char *s;
	size_t len;
	if (get(p, end, MBEDTLS_ASN1_GENERALIZED_TIME, &s, &len) != 0 || len != 15 || s[14] != 'Z')
		return -1;
	struct tm tm = { 0 };
	int year = digits(s, 4), mon = digits(s + 4, 2), day = digits(s + 6, 2);
	int hour = digits(s + 8, 2), min = digits(s + 10, 2), sec = digits(s + 12, 2);
	if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || min < 0 ||
	    min > 59 || sec < 0 || sec > 60)
		return -1;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	*t = timegm(&tm);
	return *t == (time_t)-1 ? -1 : 0;
}

static int same(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* Whether the CertID at BODY (LEN bytes) is ID. */
static int certid_matches(unsigned char *p, size_t len, const struct ocsp_certid *id, int *bad)
{
	const unsigned char *end = p + len;
	mbedtls_asn1_buf alg, params;
	unsigned char *name, *key, *serial;
	size_t nlen, klen, slen;
	*bad = 1;
	if (mbedtls_asn1_get_alg(&p, end, &alg, &params) != 0 ||
	    get(&p, end, MBEDTLS_ASN1_OCTET_STRING, &name, &nlen) != 0 ||
	    get(&p, end, MBEDTLS_ASN1_OCTET_STRING, &key, &klen) != 0 ||
	    get(&p, end, MBEDTLS_ASN1_INTEGER, &serial, &slen) != 0 || p != end)
		return 0;
	*bad = 0;
	return same(alg.p, alg.len, (const unsigned char *)OID_SHA1, OID_LEN(OID_SHA1)) &&
	       same(name, nlen, id->name_hash, OCSP_HASH_LEN) && same(key, klen, id->key_hash, OCSP_HASH_LEN) &&
	       same(serial, slen, id->serial, id->serial_len);
}

/* The nonce extension's value among the Extensions at P (LEN bytes); NULL when absent. */
static int find_nonce(unsigned char *p, size_t len, unsigned char **value, size_t *vlen)
{
	const unsigned char *end = p + len;
	unsigned char *exts, *ext, *oid;
	size_t n, elen, olen;
	*value = NULL;
	if (get(&p, end, SEQ, &exts, &n) != 0 || p != end)
		return -1;
	for (p = exts, end = exts + n; p < end;) {
		if (get(&p, end, SEQ, &ext, &elen) != 0)
			return -1;
		const unsigned char *eend = ext + elen;
		if (get(&ext, eend, MBEDTLS_ASN1_OID, &oid, &olen) != 0)
			return -1;
		if (next_is(ext, eend, MBEDTLS_ASN1_BOOLEAN)) {
			int critical;
			if (mbedtls_asn1_get_bool(&ext, eend, &critical) != 0)
				return -1;
		}
		unsigned char *v;
		size_t l;
		if (get(&ext, eend, MBEDTLS_ASN1_OCTET_STRING, &v, &l) != 0 || ext != eend)
			return -1;
		if (same(oid, olen, (const unsigned char *)OID_OCSP_NONCE, OID_LEN(OID_OCSP_NONCE))) {
			*value = v;
			*vlen = l;
		}
	}
	return 0;
}

/* The fields of a BasicOCSPResponse the checks need, pointing into the DER. */
struct basic {
	unsigned char *tbs;          /* ResponseData, whole element: what is signed */
	size_t tbs_len;
	unsigned char *responder;    /* ResponderID: [1] Name or [2] KeyHash, its contents */
	size_t responder_len;
	int responder_by_key;
	unsigned char *responses;    /* SEQUENCE OF SingleResponse, contents */
	size_t responses_len;
	unsigned char *nonce;        /* the nonce extension's value, or NULL */
	size_t nonce_len;
	mbedtls_asn1_buf sig_oid;
	unsigned char *sig;
	size_t sig_len;
	unsigned char *certs;        /* SEQUENCE OF Certificate, contents, or NULL */
	size_t certs_len;
};

static int parse_response_data(unsigned char *p, const unsigned char *end, struct basic *b, char *err,
			       size_t errlen)
{
	unsigned char *body;
	size_t len;
	time_t produced;
	if (next_is(p, end, CTX_TAG(0))) { /* version [0] EXPLICIT, v1 (0) only */
		int v;
		unsigned char *vp;
		if (get(&p, end, CTX_TAG(0), &vp, &len) != 0 || mbedtls_asn1_get_int(&vp, vp + len, &v) != 0 ||
		    v != 0)
			return fail(err, errlen, "malformed response: version");
	}
	if (next_is(p, end, CTX_TAG(1)) || next_is(p, end, CTX_TAG(2))) {
		b->responder_by_key = *p == CTX_TAG(2);
		if (get(&p, end, *p, &body, &len) != 0)
			return fail(err, errlen, "malformed response: responderID");
		unsigned char *inner = body, *in;
		size_t ilen;
		if (get(&inner, body + len, b->responder_by_key ? MBEDTLS_ASN1_OCTET_STRING : SEQ, &in, &ilen) != 0 ||
		    inner != body + len)
			return fail(err, errlen, "malformed response: responderID");
		/* by name: the whole Name element, as x509 subject_raw holds it; by key: the hash */
		b->responder = b->responder_by_key ? in : body;
		b->responder_len = b->responder_by_key ? ilen : len;
	} else {
		return fail(err, errlen, "malformed response: responderID");
	}
	if (get_time(&p, end, &produced) != 0)
		return fail(err, errlen, "malformed response: producedAt");
	if (get(&p, end, SEQ, &b->responses, &b->responses_len) != 0)
		return fail(err, errlen, "malformed response: responses");
	if (next_is(p, end, CTX_TAG(1))) {
		if (get(&p, end, CTX_TAG(1), &body, &len) != 0 || find_nonce(body, len, &b->nonce, &b->nonce_len) != 0)
			return fail(err, errlen, "malformed response: responseExtensions");
	}
	if (p != end)
		return fail(err, errlen, "malformed response: data after responseExtensions");
	return 0;
}

/* OCSPResponse -> the BasicOCSPResponse's parts. */
static int parse_basic(unsigned char *p, size_t total, struct basic *b, char *err, size_t errlen)
{
	const unsigned char *end = p + total;
	unsigned char *body, *rb;
	size_t len, rblen;
	int status;
	memset(b, 0, sizeof(*b));
	if (get(&p, end, SEQ, &body, &len) != 0 || p != end)
		return fail(err, errlen, "malformed response: not an OCSPResponse");
	p = body;
	end = body + len;
	if (mbedtls_asn1_get_enum(&p, end, &status) != 0)
		return fail(err, errlen, "malformed response: responseStatus");
	if (status != 0) {
		static const char *const names[] = { "successful", "malformedRequest", "internalError", "tryLater",
						     "(4)", "sigRequired", "unauthorized" };
		return fail(err, errlen, "responder says %s",
			    status > 0 && status < 7 ? names[status] : "an unknown responseStatus");
	}
	/* responseBytes [0] EXPLICIT SEQUENCE { responseType OID, response OCTET STRING } */
	if (get(&p, end, CTX_TAG(0), &body, &len) != 0 || p != end)
		return fail(err, errlen, "malformed response: responseBytes");
	p = body;
	end = body + len;
	if (get(&p, end, SEQ, &rb, &rblen) != 0 || p != end)
		return fail(err, errlen, "malformed response: responseBytes");
	p = rb;
	end = rb + rblen;
	if (get(&p, end, MBEDTLS_ASN1_OID, &body, &len) != 0)
		return fail(err, errlen, "malformed response: responseType");
	if (!same(body, len, (const unsigned char *)OID_OCSP_BASIC, OID_LEN(OID_OCSP_BASIC)))
		return fail(err, errlen, "response is not a basic OCSP response");
	if (get(&p, end, MBEDTLS_ASN1_OCTET_STRING, &body, &len) != 0 || p != end)
		return fail(err, errlen, "malformed response: response");
	/* BasicOCSPResponse */
	p = body;
	end = body + len;
	if (get(&p, end, SEQ, &body, &len) != 0 || p != end)
		return fail(err, errlen, "malformed response: BasicOCSPResponse");
	p = body;
	end = body + len;
	b->tbs = p;
	if (get(&p, end, SEQ, &body, &len) != 0)
		return fail(err, errlen, "malformed response: tbsResponseData");
	b->tbs_len = (size_t)(p - b->tbs);
	if (parse_response_data(body, body + len, b, err, errlen) != 0)
		return -1;
	mbedtls_asn1_buf params;
	if (mbedtls_asn1_get_alg(&p, end, &b->sig_oid, &params) != 0)
		return fail(err, errlen, "malformed response: signatureAlgorithm");
	if (mbedtls_asn1_get_bitstring_null(&p, end, &b->sig_len) != 0)
		return fail(err, errlen, "malformed response: signature");
	b->sig = p;
	p += b->sig_len;
	if (next_is(p, end, CTX_TAG(0))) {
		if (get(&p, end, CTX_TAG(0), &body, &len) != 0)
			return fail(err, errlen, "malformed response: certs");
		unsigned char *q = body;
		if (get(&q, body + len, SEQ, &b->certs, &b->certs_len) != 0 || q != body + len)
			return fail(err, errlen, "malformed response: certs");
	}
	if (p != end)
		return fail(err, errlen, "malformed response: data after certs");
	return 0;
}

/* Whether CERT is the responder B names. */
static int is_responder(const struct basic *b, const mbedtls_x509_crt *cert)
{
	if (!b->responder_by_key)
		return same(b->responder, b->responder_len, cert->subject_raw.p, cert->subject_raw.len);
	unsigned char h[OCSP_HASH_LEN];
	return key_hash(cert, h) == 0 && same(b->responder, b->responder_len, h, OCSP_HASH_LEN);
}

/* SIG (SIG_LEN bytes, of algorithm SIG_OID) over DATA (LEN bytes) by KEY. */
static int signature_ok(const unsigned char *data, size_t len, const mbedtls_asn1_buf *sig_oid,
			const unsigned char *sig, size_t sig_len, mbedtls_pk_context *key)
{
	mbedtls_md_type_t md;
	mbedtls_pk_type_t pk;
	unsigned char hash[MBEDTLS_MD_MAX_SIZE];
	if (mbedtls_oid_get_sig_alg(sig_oid, &md, &pk) != 0 || pk == MBEDTLS_PK_RSASSA_PSS)
		return 0;
	const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
	if (!info || !mbedtls_pk_can_do(key, pk) || mbedtls_md(info, data, len, hash) != 0)
		return 0;
	return mbedtls_pk_verify_ext(pk, NULL, key, md, hash, mbedtls_md_get_size(info), sig, sig_len) == 0;
}

static int response_signed_by(const struct basic *b, mbedtls_pk_context *key)
{
	return signature_ok(b->tbs, b->tbs_len, &b->sig_oid, b->sig, b->sig_len, key);
}

int ocsp_issued_by(const mbedtls_x509_crt *cert, const mbedtls_x509_crt *issuer)
{
	/* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING } */
	unsigned char *p = cert->raw.p, *body;
	const unsigned char *end = p + cert->raw.len;
	size_t len;
	mbedtls_asn1_buf oid, params;
	if (!same(cert->issuer_raw.p, cert->issuer_raw.len, issuer->subject_raw.p, issuer->subject_raw.len) ||
	    get(&p, end, SEQ, &body, &len) != 0)
		return 0;
	p = body;
	end = body + len;
	if (get(&p, end, SEQ, &body, &len) != 0 || mbedtls_asn1_get_alg(&p, end, &oid, &params) != 0 ||
	    mbedtls_asn1_get_bitstring_null(&p, end, &len) != 0 || p + len != end)
		return 0;
	return signature_ok(cert->tbs.p, cert->tbs.len, &oid, p, len, (mbedtls_pk_context *)&issuer->pk);
}

const mbedtls_x509_crt *ocsp_find_issuer(const mbedtls_x509_crt *cert, const mbedtls_x509_crt *cas)
{
	for (const mbedtls_x509_crt *c = cert->next; c; c = c->next)
		if (c->raw.p && ocsp_issued_by(cert, c))
			return c;
	for (const mbedtls_x509_crt *c = cas; c; c = c->next)
		if (c->raw.p && ocsp_issued_by(cert, c))
			return c;
	return NULL;
}

/* A certificate carried by the response may sign for ISSUER when ISSUER signed it and it has the
 * extended key usage id-kp-OCSPSigning (RFC 6960 4.2.2.2). ISSUER is copied alone, so that no other
 * certificate of its list can stand in for it as trust anchor. */
/* CERT's extendedKeyUsage names id-kp-OCSPSigning itself: mbedTLS's check also takes
 * anyExtendedKeyUsage, which RFC 6960 (4.2.2.2) and OpenSSL do not accept from a delegated responder */
static int names_ocsp_signing(const mbedtls_x509_crt *cert)
{
	static const char oid[] = MBEDTLS_OID_OCSP_SIGNING;
	for (const mbedtls_x509_sequence *e = &cert->ext_key_usage; e && e->buf.p; e = e->next)
		if (same(e->buf.p, e->buf.len, (const unsigned char *)oid, MBEDTLS_OID_SIZE(MBEDTLS_OID_OCSP_SIGNING)))
			return 1;
	return 0;
}

static int delegate_ok(mbedtls_x509_crt *cert, const mbedtls_x509_crt *issuer)
{
	mbedtls_x509_crt anchor;
	uint32_t flags = 0;
	int ok = 0;
	if (!mbedtls_x509_crt_has_ext_type(cert, MBEDTLS_X509_EXT_EXTENDED_KEY_USAGE) || !names_ocsp_signing(cert) ||
	    mbedtls_x509_crt_check_key_usage(cert, MBEDTLS_X509_KU_DIGITAL_SIGNATURE) != 0 ||
	    !same(cert->issuer_raw.p, cert->issuer_raw.len, issuer->subject_raw.p, issuer->subject_raw.len))
		return 0;
	mbedtls_x509_crt_init(&anchor);
	if (mbedtls_x509_crt_parse_der(&anchor, issuer->raw.p, issuer->raw.len) == 0)
		ok = mbedtls_x509_crt_verify(cert, &anchor, NULL, NULL, &flags, NULL, NULL) == 0;
	mbedtls_x509_crt_free(&anchor);
	return ok;
}

/* Verify B's signature: by ISSUER itself, or by a delegated responder among its certificates. */
static int verify_signer(const struct basic *b, const mbedtls_x509_crt *issuer, char *err, size_t errlen)
{
	if (is_responder(b, issuer))
		return response_signed_by(b, (mbedtls_pk_context *)&issuer->pk) ? 0 :
		       fail(err, errlen, "bad signature on the response (signed by the issuer)");
	if (!b->certs)
		return fail(err, errlen, "response signed by neither the issuer nor a certificate it carries");
	unsigned char *p = b->certs;
	const unsigned char *end = b->certs + b->certs_len;
	int named = 0;
	while (p < end) {
		unsigned char *start = p, *body;
		size_t len;
		if (get(&p, end, SEQ, &body, &len) != 0)
			return fail(err, errlen, "malformed response: certs");
		mbedtls_x509_crt cert;
		mbedtls_x509_crt_init(&cert);
		int ok = -1;
		if (mbedtls_x509_crt_parse_der(&cert, start, (size_t)(p - start)) == 0 && is_responder(b, &cert)) {
			named = 1;
			if (!delegate_ok(&cert, issuer))
				ok = fail(err, errlen, "response signed by a certificate the issuer did not authorise "
						       "(not issued by it, or no extendedKeyUsage OCSPSigning, or a keyUsage without "
						       "digitalSignature)");
			else
				ok = response_signed_by(b, &cert.pk) ? 0 :
				     fail(err, errlen, "bad signature on the response (delegated responder)");
		}
		mbedtls_x509_crt_free(&cert);
		if (named)
			return ok;
	}
	return fail(err, errlen, "response signed by neither the issuer nor a certificate it carries");
}

/* The SingleResponse of B about ID, checked and read into ANS. */
static int find_single(const struct basic *b, const struct ocsp_certid *id, time_t now, struct ocsp_answer *ans,
		       char *err, size_t errlen)
{
	unsigned char *p = b->responses;
	const unsigned char *end = b->responses + b->responses_len;
	while (p < end) {
		unsigned char *single, *cid, *body;
		size_t slen, clen, len;
		int bad;
		if (get(&p, end, SEQ, &single, &slen) != 0)
			return fail(err, errlen, "malformed response: SingleResponse");
		const unsigned char *send = single + slen;
		if (get(&single, send, SEQ, &cid, &clen) != 0)
			return fail(err, errlen, "malformed response: certID");
		int match = certid_matches(cid, clen, id, &bad);
		if (bad)
			return fail(err, errlen, "malformed response: certID");
		if (!match)
			continue;
		ans->reason = -1;
		ans->revoked_at = 0;
		if (single >= send)
			return fail(err, errlen, "malformed response: certStatus");
		unsigned char tag = *single;
		if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0) || tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2)) {
			if (get(&single, send, tag, &body, &len) != 0 || len != 0)
				return fail(err, errlen, "malformed response: certStatus");
			ans->status = tag == MBEDTLS_ASN1_CONTEXT_SPECIFIC ? OCSP_GOOD : OCSP_UNKNOWN;
		} else if (tag == CTX_TAG(1)) { /* revoked [1] IMPLICIT RevokedInfo */
			if (get(&single, send, tag, &body, &len) != 0)
				return fail(err, errlen, "malformed response: certStatus");
			const unsigned char *rend = body + len;
			if (get_time(&body, rend, &ans->revoked_at) != 0)
				return fail(err, errlen, "malformed response: revocationTime");
			if (next_is(body, rend, CTX_TAG(0))) {
				unsigned char *r;
				size_t rlen;
				if (get(&body, rend, CTX_TAG(0), &r, &rlen) != 0 ||
				    mbedtls_asn1_get_enum(&r, r + rlen, &ans->reason) != 0 || ans->reason < 0 ||
				    ans->reason > 10)
					return fail(err, errlen, "malformed response: revocationReason");
			}
			if (body != rend)
				return fail(err, errlen, "malformed response: RevokedInfo");
			ans->status = OCSP_REVOKED;
		} else {
			return fail(err, errlen, "malformed response: certStatus");
		}
		if (get_time(&single, send, &ans->this_update) != 0)
			return fail(err, errlen, "malformed response: thisUpdate");
		ans->next_update = 0;
		if (next_is(single, send, CTX_TAG(0))) {
			if (get(&single, send, CTX_TAG(0), &body, &len) != 0 ||
			    get_time(&body, body + len, &ans->next_update) != 0)
				return fail(err, errlen, "malformed response: nextUpdate");
		}
		if (next_is(single, send, CTX_TAG(1)) && get(&single, send, CTX_TAG(1), &body, &len) != 0)
			return fail(err, errlen, "malformed response: singleExtensions");
		if (single != send)
			return fail(err, errlen, "malformed response: data after singleExtensions");
		if (ans->this_update > now + OCSP_SKEW)
			return fail(err, errlen, "response not yet valid (thisUpdate in the future)");
		if (ans->next_update == 0)
			return fail(err, errlen, "stale response (no nextUpdate)");
		if (ans->next_update < now - OCSP_SKEW)
			return fail(err, errlen, "stale response (nextUpdate has passed)");
		return 0;
	}
	return fail(err, errlen, "response does not name the certificate");
}

int ocsp_check(const unsigned char *der, size_t len, const struct ocsp_certid *id, const mbedtls_x509_crt *issuer,
	       const unsigned char *nonce, size_t nonce_len, time_t now, struct ocsp_answer *ans, char *err,
	       size_t errlen)
{
	struct basic b;
	if (len > OCSP_MAX_RESPONSE)
		return fail(err, errlen, "response longer than %d bytes", OCSP_MAX_RESPONSE);
	if (parse_basic((unsigned char *)der, len, &b, err, errlen) != 0)
		return -1;
	if (verify_signer(&b, issuer, err, errlen) != 0)
		return -1;
	if (nonce) {
		/* the value is an OCTET STRING holding the nonce, as ocsp_request wrote it */
		unsigned char *p = b.nonce, *v;
		size_t vlen;
		if (!b.nonce)
			return fail(err, errlen, "response carries no nonce");
		if (get(&p, b.nonce + b.nonce_len, MBEDTLS_ASN1_OCTET_STRING, &v, &vlen) != 0 ||
		    p != b.nonce + b.nonce_len || !same(v, vlen, nonce, nonce_len))
			return fail(err, errlen, "nonce mismatch (a replayed response?)");
	}
	return find_single(&b, id, now, ans, err, errlen);
}

int ocsp_aia_url(const mbedtls_x509_crt *cert, char *url, size_t size)
{
	unsigned char *p = cert->v3_ext.p, *exts, *ext, *oid, *value;
	const unsigned char *end = p + cert->v3_ext.len;
	size_t len, elen, olen, vlen;
	if (!p || cert->v3_ext.len == 0)
		return 0;
	if (get(&p, end, SEQ, &exts, &len) != 0)
		return -1;
	for (p = exts, end = exts + len; p < end;) {
		if (get(&p, end, SEQ, &ext, &elen) != 0)
			return -1;
		const unsigned char *eend = ext + elen;
		if (get(&ext, eend, MBEDTLS_ASN1_OID, &oid, &olen) != 0)
			return -1;
		if (!same(oid, olen, (const unsigned char *)OID_AIA, OID_LEN(OID_AIA)))
			continue;
		if (next_is(ext, eend, MBEDTLS_ASN1_BOOLEAN)) {
			int critical;
			if (mbedtls_asn1_get_bool(&ext, eend, &critical) != 0)
				return -1;
		}
		if (get(&ext, eend, MBEDTLS_ASN1_OCTET_STRING, &value, &vlen) != 0)
			return -1;
		/* AuthorityInfoAccessSyntax ::= SEQUENCE OF AccessDescription { accessMethod OID,
		 * accessLocation GeneralName } ; uniformResourceIdentifier is [6] IMPLICIT IA5String */
		unsigned char *q = value, *ads;
		size_t alen;
		if (get(&q, value + vlen, SEQ, &ads, &alen) != 0)
			return -1;
		for (q = ads; q < ads + alen;) {
			unsigned char *ad, *method, *uri;
			size_t adlen, mlen, ulen;
			if (get(&q, ads + alen, SEQ, &ad, &adlen) != 0)
				return -1;
			const unsigned char *adend = ad + adlen;
			if (get(&ad, adend, MBEDTLS_ASN1_OID, &method, &mlen) != 0 || ad >= adend)
				return -1;
			if (!same(method, mlen, (const unsigned char *)OID_OCSP, OID_LEN(OID_OCSP)) ||
			    *ad != (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 6))
				continue;
			if (get(&ad, adend, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 6, &uri, &ulen) != 0)
				return -1;
			if ((ulen < 7 || strncasecmp((const char *)uri, "http://", 7) != 0) &&
			    (ulen < 8 || strncasecmp((const char *)uri, "https://", 8) != 0))
				continue;
			if (ulen >= size || memchr(uri, '\0', ulen))
				return -1;
			memcpy(url, uri, ulen);
			url[ulen] = '\0';
			return 1;
		}
	}
	return 0;
}

const char *ocsp_status_str(enum ocsp_status status)
{
	return status == OCSP_GOOD ? "good" : status == OCSP_REVOKED ? "revoked" : "unknown";
}

const char *ocsp_reason_str(int reason)
{
	static const char *const names[] = { "unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
					     "superseded", "cessationOfOperation", "certificateHold", "unspecified",
					     "removeFromCRL", "privilegeWithdrawn", "aACompromise" };
	return reason >= 0 && reason <= 10 ? names[reason] : "unspecified";
}
