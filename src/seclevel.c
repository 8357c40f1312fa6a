/* securityLevel: OpenSSL's security levels (SSL_CTX_set_security_level), which stunnel sets, mapped onto what
 * mbedTLS can be told: a certificate profile for peer chains, the own chain checked when loaded, key exchange
 * groups, signature algorithms, the smallest DH group a client takes, and the cipher suites. */
#include "seclevel.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "tls_int.h"

/* Per level 0-5: the security bits asked for, and the key sizes that give them (OpenSSL's table). */
static const int min_bits[] = { 0, 80, 112, 128, 192, 256 };
static const size_t rsa_min[] = { 0, 1024, 2048, 3072, 7680, 15360 };
static const size_t ecc_min[] = { 0, 160, 224, 256, 384, 512 };
/* mbedTLS takes DH groups of 1024 bits at least, whatever the level */
static const size_t dh_min[] = { 1024, 1024, 2048, 3072, 7680, 15360 };

#define MD(id) MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_##id)
#define EC(id) MBEDTLS_X509_ID_FLAG(MBEDTLS_ECP_DP_##id)
#define MDS_256 (MD(SHA512) | MD(SHA3_512))
#define MDS_192 (MDS_256 | MD(SHA384) | MD(SHA3_384))
#define MDS_128 (MDS_192 | MD(SHA256) | MD(SHA3_256))
#define MDS_112 (MDS_128 | MD(SHA224) | MD(SHA3_224))
#define MDS_80 (MDS_112 | MD(RIPEMD160)) /* OpenSSL counts SHA-1 as 63 bits and MD5 as 39: level 0 only */
#define CURVES_256 (EC(SECP521R1) | EC(BP512R1))
#define CURVES_192 (CURVES_256 | EC(SECP384R1) | EC(BP384R1))
#define CURVES_128 (CURVES_192 | EC(SECP256R1) | EC(BP256R1) | EC(SECP256K1))
#define CURVES_112 (CURVES_128 | EC(SECP224R1) | EC(SECP224K1))
#define CURVES_80 (CURVES_112 | EC(SECP192R1) | EC(SECP192K1))
#define ANY 0x0FFFFFFF

/* Peer chains: signature hashes, key types (any), curves and RSA sizes of each level. */
static const mbedtls_x509_crt_profile profiles[] = {
	{ ANY, ANY, ANY, 0 },
	{ MDS_80, ANY, CURVES_80, 1024 },
	{ MDS_112, ANY, CURVES_112, 2048 },
	{ MDS_128, ANY, CURVES_128, 3072 },
	{ MDS_192, ANY, CURVES_192, 7680 },
	{ MDS_256, ANY, CURVES_256, 15360 },
};

/* Handshake signatures above level 3 (the hash bounds the security; levels 0-3 keep tls.c's list, SHA-256 and
 * up), PKCS#1 v1.5 first for the reason tls.c gives. */
static const uint16_t sig_algs_192[] = {
	MBEDTLS_TLS1_3_SIG_ECDSA_SECP384R1_SHA384, MBEDTLS_TLS1_3_SIG_ECDSA_SECP521R1_SHA512,
	MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA384, MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA512,
	MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA384, MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA512, MBEDTLS_TLS1_3_SIG_NONE
};
static const uint16_t sig_algs_256[] = { MBEDTLS_TLS1_3_SIG_ECDSA_SECP521R1_SHA512, MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA512,
					 MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA512, MBEDTLS_TLS1_3_SIG_NONE };

/* Security bits of a key exchange group, as OpenSSL counts them. */
static int group_bits(uint16_t g)
{
	switch (g) {
	case CFG_GROUP_X25519: case CFG_GROUP_SECP256R1: case CFG_GROUP_BP256R1:
	case CFG_GROUP_FFDHE3072: case CFG_GROUP_FFDHE4096: case CFG_GROUP_FFDHE6144:
		return 128;
	case CFG_GROUP_SECP384R1: case CFG_GROUP_BP384R1: case CFG_GROUP_FFDHE8192:
		return 192;
	case CFG_GROUP_X448:
		return 224;
	case CFG_GROUP_SECP521R1: case CFG_GROUP_BP512R1:
		return 256;
	case CFG_GROUP_FFDHE2048:
		return 112;
	}
	return 0;
}

/* Security bits of a signature's hash, as OpenSSL counts them; -1 when not known here (RSASSA-PSS names its hash
 * in parameters): not judged. */
static int md_bits(mbedtls_md_type_t md)
{
	switch (md) {
	case MBEDTLS_MD_MD5:
		return 39;
	case MBEDTLS_MD_SHA1:
		return 63;
	case MBEDTLS_MD_RIPEMD160:
		return 80;
	case MBEDTLS_MD_SHA224: case MBEDTLS_MD_SHA3_224:
		return 112;
	case MBEDTLS_MD_SHA256: case MBEDTLS_MD_SHA3_256:
		return 128;
	case MBEDTLS_MD_SHA384: case MBEDTLS_MD_SHA3_384:
		return 192;
	case MBEDTLS_MD_SHA512: case MBEDTLS_MD_SHA3_512:
		return 256;
	default:
		return -1;
	}
}

/* The own chain: each certificate's key, and the signature of each that is not self-signed (OpenSSL's "ee key too
 * small", "ca md too weak", ...). */
static int check_own(const mbedtls_x509_crt *chain, const char *file, int level, char *err, size_t errlen)
{
	for (const mbedtls_x509_crt *c = chain; c && c->version; c = c->next) {
		char who[300] = "its key";
		const char *ee = c == chain ? "ee" : "ca";
		if (c != chain) {
			char dn[256];
			if (mbedtls_x509_dn_gets(dn, sizeof(dn), &c->subject) < 0)
				snprintf(dn, sizeof(dn), "?");
			snprintf(who, sizeof(who), "the key of the CA certificate \"%s\" in it", dn);
		}
		mbedtls_pk_type_t type = mbedtls_pk_get_type(&c->pk);
		int rsa = type == MBEDTLS_PK_RSA || type == MBEDTLS_PK_RSASSA_PSS;
		int ecc = type == MBEDTLS_PK_ECKEY || type == MBEDTLS_PK_ECKEY_DH || type == MBEDTLS_PK_ECDSA;
		size_t bits = mbedtls_pk_get_bitlen(&c->pk), need = rsa ? rsa_min[level] : ecc ? ecc_min[level] : 0;
		if (bits < need) {
			snprintf(err, errlen, "cert %s: %s is a %zu-bit %s key; securityLevel %d needs %zu bits at least (OpenSSL: "
				 "%s key too small)", file, who, bits, rsa ? "RSA" : "EC", level, need, ee);
			return -1;
		}
		mbedtls_md_type_t md;
		mbedtls_pk_type_t sig_pk;
		int self = c->issuer_raw.len == c->subject_raw.len &&
			   memcmp(c->issuer_raw.p, c->subject_raw.p, c->subject_raw.len) == 0;
		if (self || mbedtls_oid_get_sig_alg(&c->sig_oid, &md, &sig_pk) != 0 || md_bits(md) < 0 ||
		    md_bits(md) >= min_bits[level])
			continue;
		const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
		snprintf(err, errlen, "cert %s: %s is signed with %s, worth %d security bits; securityLevel %d needs %d "
			 "(OpenSSL: %s md too weak)", file, c == chain ? "the certificate" : "a CA certificate in it",
			 info ? mbedtls_md_get_name(info) : "?", md_bits(md), level, min_bits[level], ee);
		return -1;
	}
	return 0;
}

/* The groups in T->groups (`curves`, or the default ones) that LEVEL allows. */
static int narrow_groups(struct tls_svc *t, const struct cfg_service *s, int level, char *err, size_t errlen)
{
	uint16_t kept[CFG_MAX_GROUPS + 1];
	const uint16_t *from = t->groups;
	size_t n = 0;
	for (size_t i = 0; from[i] && n < CFG_MAX_GROUPS; i++)
		if (group_bits(from[i]) >= min_bits[level])
			kept[n++] = from[i];
	kept[n] = 0;
	if (n == 0) {
		snprintf(err, errlen, "curves: securityLevel %d allows none of %s (it needs groups of %d security bits: "
			 "P-384, P-521, X448, brainpoolP384r1 ...)", level, s->curves, min_bits[level]);
		return -1;
	}
	memcpy(t->groups, kept, sizeof(kept));
	mbedtls_ssl_conf_groups(&t->conf, t->groups);
	return 0;
}

int seclevel_apply(struct tls_svc *t, const struct cfg_service *s, char *err, size_t errlen)
{
	int level = s->security_level;
	if (level < 0 || level > 5)
		level = 2;
	if (s->cert && check_own(&t->own_cert, s->cert, level, err, errlen) < 0)
		return -1;
	mbedtls_ssl_conf_cert_profile(&t->conf, &profiles[level]);
	t->profile = &profiles[level]; /* a resumed session's kept chain is verified again against it */
	if (s->client)
		mbedtls_ssl_conf_dhm_min_bitlen(&t->conf, (unsigned)dh_min[level]);
	if (level >= 4)
		mbedtls_ssl_conf_sig_algs(&t->conf, level == 4 ? sig_algs_192 : sig_algs_256);
	if (level >= 3 && narrow_groups(t, s, level, err, errlen) < 0)
		return -1;
	if (level >= 3) {
		int n = suites_apply_level(t->suites, level), n12 = suites_count_tls12(t->suites);
		if ((s->tls_max < CFG_TLS13 || n == n12) && (s->tls_min > CFG_TLS12 || n12 == 0)) {
			snprintf(err, errlen, "securityLevel %d leaves no cipher suite for the TLS versions allowed", level);
			return -1;
		}
	}
	return 0;
}
