/* A ticketKeyFile's contents, read as a server service sets up its tickets (tls_setup_sessions). */
#include <psa/crypto.h>

#include "config.h"
#include "fuzz.h"
#include "tls_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		FUZZ_ASSERT(psa_crypto_init() == PSA_SUCCESS);
		ready = 1;
	}
	struct cfg_service s = { 0 };
	s.session_resume = 1;
	s.session_cache_timeout = 300;
	s.ticket_key_file = (char *)fuzz_file(data, size);
	struct tls_svc t = { 0 };
	mbedtls_ssl_config_init(&t.conf);
	mbedtls_ssl_cache_init(&t.cache);
	mbedtls_ssl_ticket_init(&t.ticket);
	mbedtls_ssl_session_init(&t.saved);
	pthread_mutex_init(&t.saved_mu, NULL);
	t.cfg = &s;
	char err[512];
	memset(err, 'x', sizeof(err));
	if (tls_setup_sessions(&t, &s, err, sizeof(err)) < 0)
		FUZZ_ASSERT(fuzz_terminated(err, sizeof(err)) && err[0]);
	else
		FUZZ_ASSERT(t.has_ticket && t.has_ticket_key);
	tls_svc_free(&t);
	return 0;
}
