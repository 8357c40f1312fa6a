/* Judging the peer: the verify callback, name checks (checkHost/checkIP/checkEmail), allow rules and
 * pins, and the verdict after the handshake; the words each refusal is logged with. */
#include "tls_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509.h>

#include "match.h"

/* The certificate's SANs of one type, for the callers below. */
#define FOR_EACH_SAN(crt, san) \
	for (const mbedtls_x509_sequence *san = &(crt)->subject_alt_names; san && san->buf.p; san = san->next)
#define SAN_TYPE(san) ((san)->buf.tag & MBEDTLS_ASN1_TAG_VALUE_MASK)

static int has_san(const mbedtls_x509_crt *crt)
{
	return (crt->MBEDTLS_PRIVATE(ext_types) & MBEDTLS_X509_EXT_SUBJECT_ALT_NAME) != 0;
}

/* Calls FN(value, len, arg) for each subject attribute with OID; 1 when one returns 1. */
static int subject_any(const mbedtls_x509_crt *crt, const char *oid, size_t oidlen,
		       int (*fn)(const char *, size_t, const char *), const char *arg)
{
	for (const mbedtls_x509_name *n = &crt->subject; n; n = n->next)
		if (n->oid.p && n->oid.len == oidlen && memcmp(n->oid.p, oid, oidlen) == 0 &&
		    fn((const char *)n->val.p, n->val.len, arg))
			return 1;
	return 0;
}

static int dns_fn(const char *v, size_t len, const char *name)
{
	return match_dns(v, len, name);
}

static int exact_fn(const char *v, size_t len, const char *want)
{
	return strlen(want) == len && memcmp(v, want, len) == 0;
}

int tls_cert_has_name(const mbedtls_x509_crt *crt, const char *name)
{
	FOR_EACH_SAN(crt, san)
		if (SAN_TYPE(san) == MBEDTLS_X509_SAN_DNS_NAME && match_dns((const char *)san->buf.p, san->buf.len, name))
			return 1;
	/* the subject CN counts only on a certificate with no subjectAltName at all */
	return !has_san(crt) && subject_any(crt, MBEDTLS_OID_AT_CN, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_CN), dns_fn, name);
}

int tls_cert_has_ip(const mbedtls_x509_crt *crt, const char *ip)
{
	FOR_EACH_SAN(crt, san)
		if (SAN_TYPE(san) == MBEDTLS_X509_SAN_IP_ADDRESS && match_ip(san->buf.p, san->buf.len, ip))
			return 1;
	return 0;
}

static int email_fn(const char *v, size_t len, const char *want)
{
	return match_email(v, len, want);
}

int tls_cert_has_email(const mbedtls_x509_crt *crt, const char *email)
{
	FOR_EACH_SAN(crt, san)
		if (SAN_TYPE(san) == MBEDTLS_X509_SAN_RFC822_NAME && match_email((const char *)san->buf.p, san->buf.len, email))
			return 1;
	return !has_san(crt) &&
	       subject_any(crt, MBEDTLS_OID_PKCS9_EMAIL, MBEDTLS_OID_SIZE(MBEDTLS_OID_PKCS9_EMAIL), email_fn, email);
}

int tls_cert_pin(const mbedtls_x509_crt *crt, unsigned char out[32])
{
	unsigned char der[4096];
	int len = mbedtls_pk_write_pubkey_der((mbedtls_pk_context *)&crt->pk, der, sizeof(der));
	if (len <= 0)
		return -1;
	return mbedtls_sha256(der + sizeof(der) - len, (size_t)len, out, 0) == 0 ? 0 : -1;
}

static int cert_in_list(const mbedtls_x509_crt *crt, const mbedtls_x509_crt *list)
{
	for (; list && list->version; list = list->next)
		if (list->raw.len == crt->raw.len && memcmp(list->raw.p, crt->raw.p, crt->raw.len) == 0)
			return 1;
	return 0;
}

/* checkHost/checkIP/checkEmail (any match), else in client mode the expected host. */
static int peer_name_ok(const mbedtls_x509_crt *crt, const struct tls_peer *p)
{
	const struct cfg_service *s = p->svc->cfg;
	if (s->check_host.n || s->check_ip.n || s->check_email.n) {
		for (int i = 0; i < s->check_host.n; i++)
			if (tls_cert_has_name(crt, s->check_host.v[i]))
				return 1;
		for (int i = 0; i < s->check_ip.n; i++)
			if (tls_cert_has_ip(crt, s->check_ip.v[i]))
				return 1;
		for (int i = 0; i < s->check_email.n; i++)
			if (tls_cert_has_email(crt, s->check_email.v[i]))
				return 1;
		return 0;
	}
	/* a pin without a CA names the exact key: no name is checked unless asked for */
	if (!s->client || !p->expect_host || !s->verify_chain)
		return 1;
	return match_is_ip(p->expect_host) ? tls_cert_has_ip(crt, p->expect_host) : tls_cert_has_name(crt, p->expect_host);
}

/* The first access rule that CRT matches, written to RULE; 0 when none does. */
static int allow_match(const mbedtls_x509_crt *crt, const struct tls_svc *t, char *rule, size_t len)
{
	const struct cfg_service *s = t->cfg;
	for (int i = 0; i < s->allow_cn.n; i++)
		if (subject_any(crt, MBEDTLS_OID_AT_CN, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_CN), exact_fn, s->allow_cn.v[i]))
			return snprintf(rule, len, "allowCN=%s", s->allow_cn.v[i]), 1;
	for (int i = 0; i < s->allow_ou.n; i++)
		if (subject_any(crt, MBEDTLS_OID_AT_ORG_UNIT, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_ORG_UNIT), exact_fn,
				s->allow_ou.v[i]))
			return snprintf(rule, len, "allowOU=%s", s->allow_ou.v[i]), 1;
	for (int i = 0; i < s->allow_dns.n; i++) {
		const char *pat = s->allow_dns.v[i];
		FOR_EACH_SAN(crt, san) {
			char name[256];
			if (SAN_TYPE(san) != MBEDTLS_X509_SAN_DNS_NAME || san->buf.len >= sizeof(name) ||
			    memchr(san->buf.p, '\0', san->buf.len))
				continue;
			memcpy(name, san->buf.p, san->buf.len);
			name[san->buf.len] = '\0';
			if (match_dns(pat, strlen(pat), name))
				return snprintf(rule, len, "allowDNS=%s", pat), 1;
		}
	}
	for (int i = 0; i < s->allow_uri.n; i++)
		FOR_EACH_SAN(crt, san)
			if (SAN_TYPE(san) == MBEDTLS_X509_SAN_UNIFORM_RESOURCE_IDENTIFIER &&
			    exact_fn((const char *)san->buf.p, san->buf.len, s->allow_uri.v[i]))
				return snprintf(rule, len, "allowURI=%s", s->allow_uri.v[i]), 1;
	for (int i = 0; i < s->allow_ip.n; i++)
		if (tls_cert_has_ip(crt, s->allow_ip.v[i]))
			return snprintf(rule, len, "allowIP=%s", s->allow_ip.v[i]), 1;
	if (t->npins) {
		unsigned char pin[32];
		if (tls_cert_pin(crt, pin) == 0)
			for (int i = 0; i < t->npins; i++)
				if (memcmp(pin, t->pins[i], 32) == 0)
					return snprintf(rule, len, "pinSHA256=%.20s...", s->pin_sha256.v[i] + 8), 1;
	}
	return 0;
}

/* Called per certificate, root first; depth 0 is the peer's own. mbedTLS's name check (driven by
 * the SNI name) is replaced by ours, which knows checkHost/checkIP/checkEmail and IP addresses; in
 * client mode a failure here ends the handshake with an alert. */
int tls_verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct tls_peer *p = ctx;
	const struct cfg_service *s = p->svc->cfg;
	if (depth != 0)
		return 0;
	p->verified = 1;
	*flags &= ~(uint32_t)MBEDTLS_X509_BADCERT_CN_MISMATCH;
	if (s->verify_peer)
		p->listed = (unsigned char)cert_in_list(crt, &p->svc->ca);
	if (s->verify_chain || s->verify_peer) {
		p->name_bad = !peer_name_ok(crt, p);
		if (p->name_bad)
			*flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
		if (s->verify_peer && !p->listed)
			*flags |= MBEDTLS_X509_BADCERT_OTHER;
	}
	return 0;
}

/* mbedTLS's words for verification FLAGS, one line, reasons separated by ';'. */
static void verify_words(uint32_t flags, char *buf, size_t len)
{
	if (mbedtls_x509_crt_verify_info(buf, len, "", flags) < 0)
		snprintf(buf, len, "flags 0x%x", (unsigned)flags);
	for (char *nl; (nl = strchr(buf, '\n'));)
		*nl = *(nl + 1) ? ';' : '\0';
}

const mbedtls_x509_crt *tls_peer_cert(const mbedtls_ssl_context *ssl, const struct tls_peer *peer)
{
	return peer->chain ? peer->chain : mbedtls_ssl_get_peer_cert(ssl);
}

void tls_peer_release(struct tls_peer *peer)
{
	if (peer->chain) {
		mbedtls_x509_crt_free(peer->chain);
		free(peer->chain);
		peer->chain = NULL;
	}
	free(peer->kept);
	peer->kept = NULL;
	peer->kept_len = 0;
}

/* What can change for a chain whose signatures were verified under the same CAs, CRLs and profile: the time.
 * Each certificate's validity, and the CRLs of its issuer: expired or not yet valid, or revoking it from a
 * date now past (what mbedTLS's verification would flag). */
static uint32_t recheck_times(const mbedtls_x509_crt *chain, const mbedtls_x509_crl *crls)
{
	uint32_t flags = 0;
	for (const mbedtls_x509_crt *c = chain; c; c = c->next) {
		if (mbedtls_x509_time_is_past(&c->valid_to))
			flags |= MBEDTLS_X509_BADCERT_EXPIRED;
		if (mbedtls_x509_time_is_future(&c->valid_from))
			flags |= MBEDTLS_X509_BADCERT_FUTURE;
		for (const mbedtls_x509_crl *l = crls; l && l->version; l = l->next) {
			if (l->issuer_raw.len != c->issuer_raw.len ||
			    memcmp(l->issuer_raw.p, c->issuer_raw.p, c->issuer_raw.len) != 0)
				continue;
			if (mbedtls_x509_time_is_past(&l->next_update))
				flags |= MBEDTLS_X509_BADCRL_EXPIRED;
			if (mbedtls_x509_time_is_future(&l->this_update))
				flags |= MBEDTLS_X509_BADCRL_FUTURE;
			if (mbedtls_x509_crt_is_revoked(c, l))
				flags |= MBEDTLS_X509_BADCERT_REVOKED;
		}
	}
	return flags;
}

/* Whether every CA of T is within its validity now (the window tls_idents_trust noted): an expired trust
 * anchor fails a verification, and the kept chain may not hold the anchor it was verified up to. */
static int cas_in_time(const struct tls_svc *t)
{
	return !mbedtls_x509_time_is_past(&t->ca_to) && !mbedtls_x509_time_is_future(&t->ca_from);
}

/* Whether certificate profiles A and B (NULL: mbedTLS's default) ask the same */
static int same_profile(const mbedtls_x509_crt_profile *a, const mbedtls_x509_crt_profile *b)
{
	return a == b || (a && b && memcmp(a, b, sizeof(*a)) == 0);
}

/* A server's client resumed a session: verify the chain kept with it again, now, as its handshake did: the
 * CAs and CRLs of the route taken (a secondary without its own, the listener's), the certificate profile,
 * and the verify callback (verifyPeer, names). A certificate revoked or expired since is refused here. When
 * its signatures were verified under the very same CAs, CRLs and profile (the trust digest), only what time
 * changes is checked again: the signatures cost a full handshake's worth of CPU. Its flags in *FLAGS; -1 when
 * the kept chain does not parse. */
static int reverify(struct tls_peer *peer, uint32_t *flags)
{
	const struct tls_svc *home = peer->home, *ca_of = peer->svc->has_ca ? peer->svc : home;
	if (!peer->chain) {
		if (!peer->kept || !(peer->chain = malloc(sizeof(*peer->chain))))
			return -1;
		mbedtls_x509_crt_init(peer->chain);
		if (tls_idents_parse(peer->kept, peer->kept_len, peer->chain) < 0) {
			tls_peer_release(peer);
			return -1;
		}
	}
	peer->verified = peer->listed = peer->name_bad = 0;
	*flags = 0;
	/* the digest is of the route's CAs, CRLs and profile; a full verification takes the listener's profile */
	if (ca_of->has_ca && memcmp(peer->kept_trust, ca_of->trust, sizeof(ca_of->trust)) == 0 &&
	    same_profile(home->profile, ca_of->profile) && cas_in_time(ca_of)) {
		*flags = recheck_times(peer->chain, ca_of->has_crl ? &ca_of->crl : NULL);
		tls_verify_cb(peer, peer->chain, 0, flags);
		return 0;
	}
	mbedtls_x509_crt none;
	mbedtls_x509_crt_init(&none);
	mbedtls_x509_crt_verify_with_profile(peer->chain, ca_of->has_ca ? (mbedtls_x509_crt *)&ca_of->ca : &none,
					     ca_of->has_crl ? (mbedtls_x509_crl *)&ca_of->crl : NULL,
					     home->profile ? home->profile : &mbedtls_x509_crt_profile_default, NULL, flags,
					     tls_verify_cb, peer);
	mbedtls_x509_crt_free(&none);
	return 0;
}

int tls_peer_verdict(const mbedtls_ssl_context *ssl, struct tls_peer *peer, char *why, size_t len)
{
	const struct tls_svc *t = peer->svc;
	const struct cfg_service *s = t->cfg;
	const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(ssl);
	uint32_t vflags = mbedtls_ssl_get_verify_result(ssl);
	int judged = s->verify_chain || s->verify_peer || t->npins;
	int required = s->client ? judged : s->require_cert;
	peer->rule[0] = '\0';
	if (s->client && t->psk_only)
		snprintf(peer->psk_identity, sizeof(peer->psk_identity), "%s", t->client_psk->identity);
	if (s->client && peer->resumed == 1) {
		/* our own session with this service, judged when it was established; resumption skips the
		 * checks that would judge it again (the verify callback does not run) */
		snprintf(peer->rule, sizeof(peer->rule), "resumed session");
		return 0;
	}
	if (!s->client && peer->resumed == 1 && peer->kept) {
		/* judged again on the chain kept with the session, as the full handshake judged it */
		if (reverify(peer, &vflags) < 0) {
			snprintf(why, len, "resumed session: the certificate kept with it does not parse");
			return -1;
		}
		crt = peer->chain;
		/* the DER copy served the new ticket the handshake issued (encode_chain); the parsed chain stays */
		free(peer->kept);
		peer->kept = NULL;
		peer->kept_len = 0;
	}
	if (!judged && !required) {
		if (peer->psk_identity[0])
			snprintf(peer->rule, sizeof(peer->rule), "PSK identity=%.140s", peer->psk_identity);
		return 0;
	}
	if (!crt) {
		if (required) {
			snprintf(why, len, "no certificate presented");
			return -1;
		}
		snprintf(peer->rule, sizeof(peer->rule), "anonymous (requireCert = no)");
		return 0;
	}
	if (!judged) {
		snprintf(peer->rule, sizeof(peer->rule), "certificate presented (requireCert, not verified)");
		return 0;
	}
	if (s->verify_chain) {
		uint32_t flags = vflags;
		flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_CN_MISMATCH | MBEDTLS_X509_BADCERT_OTHER); /* ours, below */
		if (flags) {
			char words[400];
			verify_words(flags, words, sizeof(words));
			snprintf(why, len, "certificate verification failed: %s", words);
			return -1;
		}
	}
	if (s->verify_peer && !peer->listed) {
		snprintf(why, len, "verifyPeer: certificate is not in CAfile/CApath");
		return -1;
	}
	if (!peer_name_ok(crt, peer)) {
		snprintf(why, len, "name check failed: certificate matches no %s",
			 s->check_host.n || s->check_ip.n || s->check_email.n ? "checkHost/checkIP/checkEmail"
									       : "name of the connect host or sni");
		return -1;
	}
	if (t->has_rules) {
		if (!allow_match(crt, t, peer->rule, sizeof(peer->rule))) {
			char subject[200] = "";
			mbedtls_x509_dn_gets(subject, sizeof(subject), &crt->subject);
			snprintf(why, len, "no allow rule or pin matched (subject \"%s\")", subject);
			return -1;
		}
		peer->cert_ok = 1;
		return 0;
	}
	snprintf(peer->rule, sizeof(peer->rule), "%s", s->verify_chain ? "verifyChain" : "verifyPeer");
	peer->cert_ok = 1;
	return 0;
}

void tls_error(int err, const mbedtls_ssl_context *ssl, char *buf, size_t len)
{
	uint32_t flags = ssl ? mbedtls_ssl_get_verify_result(ssl) : 0;
	/* a refused certificate: mbedTLS's own words for each reason, not its generic error text */
	if ((err == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED || err == MBEDTLS_ERR_SSL_BAD_CERTIFICATE) && flags &&
	    flags != (uint32_t)-1) {
		char words[300] = "";
		uint32_t rest = flags & ~(uint32_t)MBEDTLS_X509_BADCERT_OTHER; /* OTHER is only ever ours */
		if (rest)
			verify_words(rest, words, sizeof(words));
		snprintf(buf, len, "certificate verification failed: %s%s%s", words, rest && (flags & MBEDTLS_X509_BADCERT_OTHER) ? "; " : "",
			 flags & MBEDTLS_X509_BADCERT_OTHER ? "verifyPeer: certificate is not in CAfile/CApath" : "");
		return;
	}
	mbedtls_strerror(err, buf, len);
}

void tls_peer_cn(const mbedtls_ssl_context *ssl, const struct tls_peer *peer, char *buf, size_t len)
{
	const mbedtls_x509_crt *crt = tls_peer_cert(ssl, peer);
	buf[0] = '\0';
	for (const mbedtls_x509_name *n = crt ? &crt->subject : NULL; n; n = n->next)
		if (n->oid.p && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
			size_t l = n->val.len < len - 1 ? n->val.len : len - 1;
			memcpy(buf, n->val.p, l);
			buf[l] = '\0';
			for (char *p = buf; *p; p++) /* it goes into a header: keep it printable */
				if ((unsigned char)*p < 0x20)
					*p = '?';
			return;
		}
}

void tls_peer_subject(const mbedtls_ssl_context *ssl, const struct tls_peer *peer, char *buf, size_t len)
{
	const mbedtls_x509_crt *crt = tls_peer_cert(ssl, peer);
	buf[0] = '\0';
	if (crt && mbedtls_x509_dn_gets(buf, len, &crt->subject) < 0)
		buf[0] = '\0';
}
