/* bench/crypto.c: what mbedTLS's primitives cost on this machine, called through the APIs mbedTLS 3.6's TLS
 * stack uses when MBEDTLS_USE_PSA_CRYPTO is off (as in Debian's build):
 *
 *   records      mbedtls_cipher_auth_encrypt_ext / _auth_decrypt_ext on a cipher context set up once per
 *                connection (ssl_msg.c, mbedtls_ssl_encrypt_buf / _decrypt_buf)
 *   TLS 1.3 KX   psa_generate_key + psa_export_public_key (ssl_tls13_generic.c), psa_raw_key_agreement +
 *                psa_destroy_key (ssl_tls13_keys.c): PSA even without USE_PSA_CRYPTO
 *   TLS 1.2 KX   mbedtls_ecdh_setup + _make_params, then _read_public + _calc_secret (ssl_tls12_server.c)
 *   signatures   mbedtls_pk_sign_ext (TLS 1.3 CertificateVerify), mbedtls_pk_sign (TLS 1.2
 *                ServerKeyExchange), mbedtls_pk_verify, on keys parsed from DER as a server loads them
 *
 * Usage: crypto [-t SECONDS] [-r ROUNDS] [FILTER]
 *   Each measurement runs for SECONDS (default 0.5), once per round (default 3 rounds). A round measures every
 *   row in turn, so the repeats of one row are spread over the whole run and rows compared with each other saw
 *   the same moments of a noisy machine. FILTER keeps only the rows whose name contains it.
 *   Output, tab-separated:
 *     info  KEY  VALUE
 *     row   SECTION  NAME  API  UNIT  BEST  WORST  BEST_CPU
 *   UNIT is MB/s (MB = 10^6 bytes of record payload) or op/s; BEST and WORST are the fastest and slowest round
 *   by the wall clock (CLOCK_MONOTONIC), BEST_CPU the fastest by this thread's CPU time, which preemption does
 *   not lower (a round that was preempted is slow by the wall clock only).
 * Exit status: 0, 1 when an operation failed (the message says which), 2 on bad usage.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/build_info.h>
#include <mbedtls/cipher.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdh.h>
#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/psa_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/version.h>
#include <psa/crypto.h>

#if MBEDTLS_VERSION_NUMBER < 0x03060000
#error "mbedTLS 3.6 or later is needed: this measures the calls of the 3.6 TLS stack"
#endif

#define RECORD_PAYLOAD 16384		   /* the largest TLS plaintext record */
#define RECORD_SEALED (RECORD_PAYLOAD + 1) /* TLS 1.3 seals the inner content type byte too */
#define RECORD_TAG 16
#define MAX_ITEMS 64

/* One operation of a measurement: 0 on success, else an mbedTLS or PSA error code. */
typedef int (*bench_op)(void *arg);

struct bench_item {
	const char *section, *api, *unit;
	char name[64];
	double scale; /* units per operation: payload MB, or 1 */
	bench_op op;
	void *arg;
	double best, worst; /* operations per wall-clock second, over the rounds */
	double best_cpu;    /* operations per second of this thread's CPU time */
};

struct bench_list {
	const char *filter;
	struct bench_item items[MAX_ITEMS];
	size_t n;
};

/* One DRBG for the whole program, seeded the way tlswrap seeds its per-thread ones (tls.c). */
static mbedtls_ctr_drbg_context bench_drbg;

static int bench_rng(void *unused, unsigned char *out, size_t len)
{
	(void)unused;
	return mbedtls_ctr_drbg_random(&bench_drbg, out, len);
}

/* Fills a buffer of any size: one DRBG call gives at most MBEDTLS_CTR_DRBG_MAX_REQUEST bytes. */
static int bench_fill(unsigned char *out, size_t len)
{
	while (len > 0) {
		size_t n = len < MBEDTLS_CTR_DRBG_MAX_REQUEST ? len : MBEDTLS_CTR_DRBG_MAX_REQUEST;
		int rc = bench_rng(NULL, out, n);
		if (rc != 0)
			return rc;
		out += n;
		len -= n;
	}
	return 0;
}

static double bench_clock(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench_wanted(const struct bench_list *l, const char *name)
{
	return l->filter == NULL || strstr(name, l->filter) != NULL;
}

/* Adds a row to L unless the filter leaves it out. ARG must live until the rows have run. */
static void bench_add(struct bench_list *l, const char *section, const char *name, const char *api,
		      const char *unit, double scale, bench_op op, void *arg)
{
	if (!bench_wanted(l, name) || l->n == MAX_ITEMS)
		return;
	struct bench_item *it = &l->items[l->n++];
	memset(it, 0, sizeof(*it));
	it->section = section;
	snprintf(it->name, sizeof(it->name), "%s", name);
	it->api = api;
	it->unit = unit;
	it->scale = scale;
	it->op = op;
	it->arg = arg;
	it->worst = INFINITY;
}

/* Runs IT's operation for at least SECS and folds the rate into IT. Returns the operation's error code. */
static int bench_measure(struct bench_item *it, double secs)
{
	unsigned long n = 0;
	double c0 = bench_clock(CLOCK_THREAD_CPUTIME_ID), t0 = bench_clock(CLOCK_MONOTONIC), t;
	int rc;

	do {
		if ((rc = it->op(it->arg)) != 0)
			return rc;
		n++;
	} while ((t = bench_clock(CLOCK_MONOTONIC)) - t0 < secs);
	double rate = (double)n / (t - t0), cpu = bench_clock(CLOCK_THREAD_CPUTIME_ID) - c0;
	if (rate > it->best)
		it->best = rate;
	if (rate < it->worst)
		it->worst = rate;
	if (cpu > 0 && (double)n / cpu > it->best_cpu)
		it->best_cpu = (double)n / cpu;
	return 0;
}

/* Runs every row of L once untimed (warm-up, and a check that it works), then ROUNDS rounds of SECS each, and
 * prints the rows. -1 when an operation failed. */
static int bench_run(struct bench_list *l, double secs, int rounds)
{
	struct bench_item *it;
	int rc;

	for (size_t i = 0; i < l->n; i++) {
		it = &l->items[i];
		if ((rc = it->op(it->arg)) != 0)
			goto fail;
	}
	for (int round = 0; round < rounds; round++) {
		fprintf(stderr, "# round %d/%d\n", round + 1, rounds);
		for (size_t i = 0; i < l->n; i++) {
			it = &l->items[i];
			if ((rc = bench_measure(it, secs)) != 0)
				goto fail;
		}
	}
	for (size_t i = 0; i < l->n; i++) {
		it = &l->items[i];
		printf("row\t%s\t%s\t%s\t%s\t%.3f\t%.3f\t%.3f\n", it->section, it->name, it->api, it->unit,
		       it->best * it->scale, it->worst * it->scale, it->best_cpu * it->scale);
	}
	return 0;

fail:
	fprintf(stderr, "crypto: %s (%s) failed: %d (-0x%04x)\n", it->name, it->api, rc, (unsigned)-rc);
	return -1;
}

/* ---------------------------------------------------------------- records */

struct aead_arg {
	mbedtls_cipher_context_t enc, dec;
	unsigned char iv[12]; /* the per-direction static IV of a transform */
	unsigned char ad[5];  /* TLS 1.3 additional data: the record header */
	unsigned char buf[RECORD_SEALED + RECORD_TAG];
	unsigned char sealed[RECORD_SEALED + RECORD_TAG]; /* one valid record, for opening */
	unsigned char opened[RECORD_SEALED];
	uint64_t seq;
};

/* The record nonce: static IV XOR the sequence number, as ssl_build_record_nonce() makes it. */
static void aead_nonce(const struct aead_arg *a, uint64_t seq, unsigned char nonce[12])
{
	memcpy(nonce, a->iv, 12);
	for (int i = 0; i < 8; i++)
		nonce[11 - i] ^= (unsigned char)(seq >> (8 * i));
}

/* Seals a full record in place, as mbedtls_ssl_encrypt_buf() does. */
static int aead_seal(void *arg)
{
	struct aead_arg *a = arg;
	unsigned char nonce[12];
	size_t olen;
	aead_nonce(a, a->seq++, nonce);
	return mbedtls_cipher_auth_encrypt_ext(&a->enc, nonce, 12, a->ad, sizeof(a->ad), a->buf, RECORD_SEALED,
					       a->buf, sizeof(a->buf), &olen, RECORD_TAG);
}

/* Opens the same full record each time (tag checked); ssl_msg.c decrypts in place, this into a second buffer
 * so that the input survives: the work is the same. */
static int aead_open(void *arg)
{
	struct aead_arg *a = arg;
	unsigned char nonce[12];
	size_t olen;
	aead_nonce(a, 0, nonce);
	return mbedtls_cipher_auth_decrypt_ext(&a->dec, nonce, 12, a->ad, sizeof(a->ad), a->sealed, sizeof(a->sealed),
					       a->opened, sizeof(a->opened), &olen, RECORD_TAG);
}

/* Sets up A (mbedtls_cipher_init'ed) for cipher TYPE with a random key, the way ssl_tls13_keys.c builds a
 * transform, and seals the record that aead_open() opens. */
static int aead_setup(struct aead_arg *a, mbedtls_cipher_type_t type)
{
	const mbedtls_cipher_info_t *info = mbedtls_cipher_info_from_type(type);
	unsigned char key[32], nonce[12];
	size_t olen;
	int rc;

	if (info == NULL)
		return MBEDTLS_ERR_CIPHER_FEATURE_UNAVAILABLE;
	int keybits = (int)mbedtls_cipher_info_get_key_bitlen(info);
	if ((rc = bench_rng(NULL, key, sizeof(key))) != 0 || (rc = bench_rng(NULL, a->iv, sizeof(a->iv))) != 0 ||
	    (rc = bench_fill(a->buf, RECORD_SEALED)) != 0)
		return rc;
	a->ad[0] = 23; /* application_data, TLS 1.2 legacy version, length of the sealed record */
	a->ad[1] = 3;
	a->ad[2] = 3;
	a->ad[3] = (unsigned char)((RECORD_SEALED + RECORD_TAG) >> 8);
	a->ad[4] = (unsigned char)(RECORD_SEALED + RECORD_TAG);
	if ((rc = mbedtls_cipher_setup(&a->enc, info)) != 0 || (rc = mbedtls_cipher_setup(&a->dec, info)) != 0 ||
	    (rc = mbedtls_cipher_setkey(&a->enc, key, keybits, MBEDTLS_ENCRYPT)) != 0 ||
	    (rc = mbedtls_cipher_setkey(&a->dec, key, keybits, MBEDTLS_DECRYPT)) != 0)
		return rc;
	memcpy(a->sealed, a->buf, RECORD_SEALED);
	aead_nonce(a, 0, nonce);
	return mbedtls_cipher_auth_encrypt_ext(&a->enc, nonce, 12, a->ad, sizeof(a->ad), a->sealed, RECORD_SEALED,
					       a->sealed, sizeof(a->sealed), &olen, RECORD_TAG);
}

static const struct {
	const char *name;
	mbedtls_cipher_type_t type;
} aead_ciphers[] = {
	{ "AES-128-GCM", MBEDTLS_CIPHER_AES_128_GCM },
	{ "AES-256-GCM", MBEDTLS_CIPHER_AES_256_GCM },
	{ "ChaCha20-Poly1305", MBEDTLS_CIPHER_CHACHA20_POLY1305 },
};
#define N_AEAD (sizeof(aead_ciphers) / sizeof(aead_ciphers[0]))

/* ---------------------------------------------------------------- key exchange */

static const struct kx_group {
	const char *name;
	psa_ecc_family_t family;
	size_t bits;
	mbedtls_ecp_group_id grp;
} kx_groups[] = {
	{ "X25519", PSA_ECC_FAMILY_MONTGOMERY, 255, MBEDTLS_ECP_DP_CURVE25519 },
	{ "secp256r1", PSA_ECC_FAMILY_SECP_R1, 256, MBEDTLS_ECP_DP_SECP256R1 },
	{ "secp384r1", PSA_ECC_FAMILY_SECP_R1, 384, MBEDTLS_ECP_DP_SECP384R1 },
	{ "X448", PSA_ECC_FAMILY_MONTGOMERY, 448, MBEDTLS_ECP_DP_CURVE448 },
	{ "secp521r1", PSA_ECC_FAMILY_SECP_R1, 521, MBEDTLS_ECP_DP_SECP521R1 },
};
#define N_KX (sizeof(kx_groups) / sizeof(kx_groups[0]))

struct kx_arg {
	const struct kx_group *g;
	psa_key_id_t fixed;	     /* a server share made once, for the agreement-only row; 0 = none */
	unsigned char peer[160];     /* the client's share as a TLS 1.3 key_share carries it (PSA export format) */
	size_t peer_len;
	unsigned char peer_tls[160]; /* a client share as a TLS 1.2 ClientKeyExchange ECPoint (length byte first) */
	size_t peer_tls_len;
};

static void kx_attributes(const struct kx_group *g, psa_key_attributes_t *attr)
{
	*attr = psa_key_attributes_init();
	psa_set_key_usage_flags(attr, PSA_KEY_USAGE_DERIVE);
	psa_set_key_algorithm(attr, PSA_ALG_ECDH);
	psa_set_key_type(attr, PSA_KEY_TYPE_ECC_KEY_PAIR(g->family));
	psa_set_key_bits(attr, g->bits);
}

/* The server's half of a TLS 1.3 ECDHE: its key share, the shared secret with the client's, the private key
 * destroyed. */
static int kx_tls13_full(void *arg)
{
	struct kx_arg *k = arg;
	psa_key_attributes_t attr;
	psa_key_id_t key;
	unsigned char pub[160], secret[80];
	size_t len;
	psa_status_t st;

	kx_attributes(k->g, &attr);
	if ((st = psa_generate_key(&attr, &key)) != PSA_SUCCESS)
		return (int)st;
	if ((st = psa_export_public_key(key, pub, sizeof(pub), &len)) != PSA_SUCCESS ||
	    (st = psa_raw_key_agreement(PSA_ALG_ECDH, key, k->peer, k->peer_len, secret, sizeof(secret), &len)) !=
		    PSA_SUCCESS) {
		psa_destroy_key(key);
		return (int)st;
	}
	return (int)psa_destroy_key(key);
}

static int kx_tls13_keygen(void *arg)
{
	struct kx_arg *k = arg;
	psa_key_attributes_t attr;
	psa_key_id_t key;
	unsigned char pub[160];
	size_t len;
	psa_status_t st;

	kx_attributes(k->g, &attr);
	if ((st = psa_generate_key(&attr, &key)) != PSA_SUCCESS)
		return (int)st;
	st = psa_export_public_key(key, pub, sizeof(pub), &len);
	psa_status_t st2 = psa_destroy_key(key);
	return (int)(st != PSA_SUCCESS ? st : st2);
}

static int kx_tls13_agree(void *arg)
{
	struct kx_arg *k = arg;
	unsigned char secret[80];
	size_t len;
	return (int)psa_raw_key_agreement(PSA_ALG_ECDH, k->fixed, k->peer, k->peer_len, secret, sizeof(secret), &len);
}

/* The server's half of a TLS 1.2 ECDHE without USE_PSA_CRYPTO: the ServerKeyExchange parameters, then the shared
 * secret from the ClientKeyExchange point. The group is loaded per handshake there too. */
static int kx_tls12_full(void *arg)
{
	struct kx_arg *k = arg;
	mbedtls_ecdh_context ecdh;
	unsigned char params[200], secret[80];
	size_t len;
	int rc;

	mbedtls_ecdh_init(&ecdh);
	rc = mbedtls_ecdh_setup(&ecdh, k->g->grp);
	if (rc == 0)
		rc = mbedtls_ecdh_make_params(&ecdh, &len, params, sizeof(params), bench_rng, NULL);
	if (rc == 0)
		rc = mbedtls_ecdh_read_public(&ecdh, k->peer_tls, k->peer_tls_len);
	if (rc == 0)
		rc = mbedtls_ecdh_calc_secret(&ecdh, &len, secret, sizeof(secret), bench_rng, NULL);
	mbedtls_ecdh_free(&ecdh);
	return rc;
}

/* Makes the client's shares for both APIs and the fixed server share. PSA_ERROR_NOT_SUPPORTED or
 * MBEDTLS_ERR_ECP_FEATURE_UNAVAILABLE if this build lacks the group. */
static int kx_setup(struct kx_arg *k, const struct kx_group *g)
{
	psa_key_attributes_t attr;
	psa_key_id_t client;
	mbedtls_ecdh_context ecdh;
	psa_status_t st;
	int rc;

	k->g = g;
	kx_attributes(g, &attr);
	if ((st = psa_generate_key(&attr, &client)) != PSA_SUCCESS)
		return (int)st;
	st = psa_export_public_key(client, k->peer, sizeof(k->peer), &k->peer_len);
	psa_destroy_key(client);
	if (st != PSA_SUCCESS)
		return (int)st;
	if ((st = psa_generate_key(&attr, &k->fixed)) != PSA_SUCCESS)
		return (int)st;

	mbedtls_ecdh_init(&ecdh);
	if ((rc = mbedtls_ecdh_setup(&ecdh, g->grp)) == 0)
		rc = mbedtls_ecdh_make_public(&ecdh, &k->peer_tls_len, k->peer_tls, sizeof(k->peer_tls), bench_rng,
					      NULL);
	mbedtls_ecdh_free(&ecdh);
	return rc;
}

/* ---------------------------------------------------------------- signatures */

struct sig_arg {
	mbedtls_pk_context pk;
	mbedtls_pk_type_t type; /* for mbedtls_pk_sign_ext, from the key's kind */
	unsigned char hash[32]; /* a SHA-256 digest: what the handshake signs */
	unsigned char sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	size_t sig_len;
};

static int sig_sign_ext(void *arg)
{
	struct sig_arg *s = arg;
	return mbedtls_pk_sign_ext(s->type, &s->pk, MBEDTLS_MD_SHA256, s->hash, sizeof(s->hash), s->sig,
				   sizeof(s->sig), &s->sig_len, bench_rng, NULL);
}

static int sig_sign(void *arg)
{
	struct sig_arg *s = arg;
	return mbedtls_pk_sign(&s->pk, MBEDTLS_MD_SHA256, s->hash, sizeof(s->hash), s->sig, sizeof(s->sig),
			       &s->sig_len, bench_rng, NULL);
}

/* Verifies the signature S->sig_len > 0 holds. Every sign row overwrites it with another valid one. */
static int sig_verify(void *arg)
{
	struct sig_arg *s = arg;
	return mbedtls_pk_verify(&s->pk, MBEDTLS_MD_SHA256, s->hash, sizeof(s->hash), s->sig, s->sig_len);
}

/* Generates a key of KIND (MBEDTLS_PK_ECKEY on P-256, or MBEDTLS_PK_RSA 2048), writes it as DER and parses it
 * back into S->pk (mbedtls_pk_init'ed), so that S->pk is what mbedtls_pk_parse_keyfile gives a server; then
 * signs once with SIGN, so that the verify row has a signature. */
static int sig_setup(struct sig_arg *s, mbedtls_pk_type_t kind, bench_op sign)
{
	mbedtls_pk_context gen;
	const size_t der_size = 4096;
	unsigned char *der = malloc(der_size);
	int rc = MBEDTLS_ERR_PK_ALLOC_FAILED;

	/* what TLS 1.3 asks mbedtls_pk_sign_ext for: rsa_pss_rsae_* with an RSA key, ecdsa_* with an EC one */
	s->type = kind == MBEDTLS_PK_RSA ? MBEDTLS_PK_RSASSA_PSS : MBEDTLS_PK_ECDSA;
	mbedtls_pk_init(&gen);
	if (der == NULL)
		goto out;
	if ((rc = mbedtls_pk_setup(&gen, mbedtls_pk_info_from_type(kind))) != 0)
		goto out;
	if (kind == MBEDTLS_PK_RSA)
		rc = mbedtls_rsa_gen_key(mbedtls_pk_rsa(gen), bench_rng, NULL, 2048, 65537);
	else
		rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(gen), bench_rng, NULL);
	if (rc != 0)
		goto out;
	int len = mbedtls_pk_write_key_der(&gen, der, der_size);
	if (len < 0) {
		rc = len;
		goto out;
	}
	/* mbedtls_pk_write_key_der writes at the end of the buffer */
	if ((rc = mbedtls_pk_parse_key(&s->pk, der + der_size - (size_t)len, (size_t)len, NULL, 0, bench_rng, NULL)) !=
	    0)
		goto out;
	if ((rc = bench_rng(NULL, s->hash, sizeof(s->hash))) != 0)
		goto out;
	rc = sign(s);
out:
	mbedtls_pk_free(&gen);
	free(der);
	return rc;
}

/* ---------------------------------------------------------------- main */

/* Everything the rows work on, alive until they have all run. */
struct bench_state {
	struct aead_arg aead[N_AEAD];
	struct kx_arg kx[N_KX];
	struct sig_arg ecdsa, rsa;
};

static struct bench_state *state_new(void)
{
	struct bench_state *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return NULL;
	for (size_t i = 0; i < N_AEAD; i++) {
		mbedtls_cipher_init(&st->aead[i].enc);
		mbedtls_cipher_init(&st->aead[i].dec);
	}
	mbedtls_pk_init(&st->ecdsa.pk);
	mbedtls_pk_init(&st->rsa.pk);
	return st;
}

static void state_free(struct bench_state *st)
{
	for (size_t i = 0; i < N_AEAD; i++) {
		mbedtls_cipher_free(&st->aead[i].enc);
		mbedtls_cipher_free(&st->aead[i].dec);
	}
	for (size_t i = 0; i < N_KX; i++)
		if (st->kx[i].fixed != 0)
			psa_destroy_key(st->kx[i].fixed);
	mbedtls_pk_free(&st->ecdsa.pk);
	mbedtls_pk_free(&st->rsa.pk);
	free(st);
}

/* Sets up what the filter keeps and lists its rows in L. -1 (after a message) if a setup failed. */
static int bench_setup(struct bench_state *st, struct bench_list *l)
{
	char name[4][64];
	int rc;

	for (size_t i = 0; i < N_AEAD; i++) {
		snprintf(name[0], sizeof(name[0]), "%s seal 16 KiB", aead_ciphers[i].name);
		snprintf(name[1], sizeof(name[1]), "%s open 16 KiB", aead_ciphers[i].name);
		if (!bench_wanted(l, name[0]) && !bench_wanted(l, name[1]))
			continue;
		if ((rc = aead_setup(&st->aead[i], aead_ciphers[i].type)) != 0) {
			fprintf(stderr, "crypto: %s setup failed: -0x%04x\n", aead_ciphers[i].name, (unsigned)-rc);
			return -1;
		}
		const double mb = RECORD_PAYLOAD / 1e6;
		bench_add(l, "record", name[0], "mbedtls_cipher_auth_encrypt_ext", "MB/s", mb, aead_seal, &st->aead[i]);
		bench_add(l, "record", name[1], "mbedtls_cipher_auth_decrypt_ext", "MB/s", mb, aead_open, &st->aead[i]);
	}

	for (size_t i = 0; i < N_KX; i++) {
		const struct kx_group *g = &kx_groups[i];
		struct kx_arg *k = &st->kx[i];
		snprintf(name[0], sizeof(name[0]), "%s ECDHE TLS 1.3 (keygen+agree)", g->name);
		snprintf(name[1], sizeof(name[1]), "%s keygen only", g->name);
		snprintf(name[2], sizeof(name[2]), "%s agree only", g->name);
		snprintf(name[3], sizeof(name[3]), "%s ECDHE TLS 1.2 (keygen+agree)", g->name);
		if (!bench_wanted(l, name[0]) && !bench_wanted(l, name[1]) && !bench_wanted(l, name[2]) &&
		    !bench_wanted(l, name[3]))
			continue;
		rc = kx_setup(k, g);
		if (rc == PSA_ERROR_NOT_SUPPORTED || rc == MBEDTLS_ERR_ECP_FEATURE_UNAVAILABLE) {
			printf("info\tskipped\t%s (not in this build)\n", g->name);
			continue;
		}
		if (rc != 0) {
			fprintf(stderr, "crypto: %s setup failed: %d\n", g->name, rc);
			return -1;
		}
		bench_add(l, "kx", name[0], "psa_generate_key+export+raw_key_agreement+destroy", "op/s", 1,
			  kx_tls13_full, k);
		bench_add(l, "kx", name[1], "psa_generate_key+export+destroy", "op/s", 1, kx_tls13_keygen, k);
		bench_add(l, "kx", name[2], "psa_raw_key_agreement", "op/s", 1, kx_tls13_agree, k);
		bench_add(l, "kx", name[3], "mbedtls_ecdh_setup+make_params+read_public+calc_secret", "op/s", 1,
			  kx_tls12_full, k);
	}

	if (bench_wanted(l, "ECDSA P-256 sign") || bench_wanted(l, "ECDSA P-256 verify")) {
		if ((rc = sig_setup(&st->ecdsa, MBEDTLS_PK_ECKEY, sig_sign_ext)) != 0) {
			fprintf(stderr, "crypto: P-256 key setup failed: -0x%04x\n", (unsigned)-rc);
			return -1;
		}
		bench_add(l, "sig", "ECDSA P-256 sign", "mbedtls_pk_sign_ext(ECDSA)", "op/s", 1, sig_sign_ext,
			  &st->ecdsa);
		bench_add(l, "sig", "ECDSA P-256 verify", "mbedtls_pk_verify", "op/s", 1, sig_verify, &st->ecdsa);
	}
	if (bench_wanted(l, "RSA-2048 PSS sign") || bench_wanted(l, "RSA-2048 PKCS#1 v1.5 sign") ||
	    bench_wanted(l, "RSA-2048 PKCS#1 v1.5 verify")) {
		/* the PSS row runs first, so the last signature made before verify is PKCS#1 v1.5 */
		if ((rc = sig_setup(&st->rsa, MBEDTLS_PK_RSA, sig_sign)) != 0) {
			fprintf(stderr, "crypto: RSA-2048 key setup failed: -0x%04x\n", (unsigned)-rc);
			return -1;
		}
		bench_add(l, "sig", "RSA-2048 PSS sign", "mbedtls_pk_sign_ext(RSASSA_PSS)", "op/s", 1, sig_sign_ext,
			  &st->rsa);
		bench_add(l, "sig", "RSA-2048 PKCS#1 v1.5 sign", "mbedtls_pk_sign", "op/s", 1, sig_sign, &st->rsa);
		bench_add(l, "sig", "RSA-2048 PKCS#1 v1.5 verify", "mbedtls_pk_verify", "op/s", 1, sig_verify,
			  &st->rsa);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench_list list;
	struct bench_state *st;
	double secs = 0.5;
	int rounds = 3, ret = 1;
	char version[32];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
			secs = atof(argv[++i]);
		else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (argv[i][0] != '-' && list.filter == NULL)
			list.filter = argv[i];
		else
			secs = 0;
	}
	if (!(secs > 0) || rounds < 1) {
		fprintf(stderr, "usage: crypto [-t SECONDS] [-r ROUNDS] [FILTER]\n");
		return 2;
	}

	psa_status_t ps = psa_crypto_init();
	if (ps != PSA_SUCCESS) {
		fprintf(stderr, "crypto: psa_crypto_init failed (%d)\n", (int)ps);
		goto err0;
	}
	mbedtls_ctr_drbg_init(&bench_drbg);
	if (mbedtls_ctr_drbg_seed(&bench_drbg, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE,
				  (const unsigned char *)"bench", 5) != 0) {
		fprintf(stderr, "crypto: cannot seed the DRBG\n");
		goto err1;
	}
	if ((st = state_new()) == NULL) {
		fprintf(stderr, "crypto: out of memory\n");
		goto err1;
	}
	mbedtls_version_get_string_full(version);
	printf("info\tmbedtls\t%s\n", version);
	printf("info\tseconds\t%g\n", secs);
	printf("info\trounds\t%d\n", rounds);
#if defined(MBEDTLS_USE_PSA_CRYPTO)
	printf("info\tuse_psa_crypto\ton\n");
#else
	printf("info\tuse_psa_crypto\toff\n");
#endif
	if (bench_setup(st, &list) < 0)
		goto err2;
	if (list.n == 0) {
		fprintf(stderr, "crypto: no row matches '%s'\n", list.filter);
		goto err2;
	}
	if (bench_run(&list, secs, rounds) < 0)
		goto err2;
	ret = 0;
err2:
	state_free(st);
err1:
	mbedtls_ctr_drbg_free(&bench_drbg);
	mbedtls_psa_crypto_free();
err0:
	return ret;
}
