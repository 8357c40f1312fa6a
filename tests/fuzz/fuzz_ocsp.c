/* An OCSP responder's answer (ocsp_check), checked against the fixtures' CA for each of the fixtures'
 * certificates, and with the nonce of their request. The seeds are real `openssl ocsp` responses
 * (tests/unit/ocsp_fixtures.sh), so the signature and the checks after it are reached. */
#include <psa/crypto.h>

#include "fuzz.h"
#include "ocsp.h"
#include "ocsp_fixtures.h"

static mbedtls_x509_crt ca, certs[3];
static struct ocsp_certid ids[3];

static void setup(void)
{
	static const struct { const unsigned char *der; size_t len; } leaf[3] = {
		{ fx_server, sizeof(fx_server) }, { fx_rserver, sizeof(fx_rserver) }, { fx_userver, sizeof(fx_userver) }
	};
	char err[256];
	if (psa_crypto_init() != PSA_SUCCESS)
		abort();
	mbedtls_x509_crt_init(&ca);
	if (mbedtls_x509_crt_parse_der(&ca, fx_ca, sizeof(fx_ca)) != 0)
		abort();
	for (int i = 0; i < 3; i++) {
		mbedtls_x509_crt_init(&certs[i]);
		if (mbedtls_x509_crt_parse_der(&certs[i], leaf[i].der, leaf[i].len) != 0 ||
		    ocsp_certid(&certs[i], &ca, &ids[i], err, sizeof(err)) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	const time_t now = OCSP_FIXTURE_NOW + 60;
	const unsigned char *nonce = fx_req_nonce + sizeof(fx_req_nonce) - OCSP_NONCE_LEN;
	if (!ready) {
		setup();
		ready = 1;
	}
	for (int i = 0; i < 4; i++) {
		char err[256];
		struct ocsp_answer ans;
		/* an exact-size copy, so that ASan sees any read past the input */
		unsigned char *copy = malloc(size ? size : 1);
		memcpy(copy, data, size);
		err[0] = '\0';
		int rc = ocsp_check(copy, size, &ids[i % 3], &ca, i == 3 ? nonce : NULL, OCSP_NONCE_LEN, now, &ans, err,
				    sizeof(err));
		free(copy);
		if (rc != 0) {
			FUZZ_ASSERT(rc == -1 && fuzz_terminated(err, sizeof(err)) && err[0] != '\0');
			continue;
		}
		FUZZ_ASSERT(ans.status == OCSP_GOOD || ans.status == OCSP_REVOKED || ans.status == OCSP_UNKNOWN);
		FUZZ_ASSERT(ans.this_update <= now + OCSP_SKEW && ans.next_update >= now - OCSP_SKEW);
		FUZZ_ASSERT(ans.reason >= -1 && ans.reason <= 10);
		FUZZ_ASSERT(ans.status == OCSP_REVOKED || ans.reason == -1);
	}
	return 0;
}
