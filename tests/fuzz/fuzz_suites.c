/* Cipher strings (suites_build and its companions): `ciphers` (TLS 1.2, an OpenSSL cipher string) up to
 * the first NUL byte, `ciphersuites` (TLS 1.3) after it, left at its default when there is no NUL. */
#include "fuzz.h"
#include "suites.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tls12 = fuzz_strdup(data, size), *nul = memchr(data, '\0', size), *tls13 = NULL;
	if (nul)
		tls13 = tls12 + (nul - (char *)data) + 1;
	int list[SUITES_MAX + 1];
	char err[256], text[8192];
	if (suites_build(tls12, tls13, list, err, sizeof(err)) == 0) {
		int n = 0;
		while (n <= SUITES_MAX && list[n])
			n++;
		FUZZ_ASSERT(n > 0 && n <= SUITES_MAX);
		suites_describe(list, text, sizeof(text));
		FUZZ_ASSERT(fuzz_terminated(text, sizeof(text)));
		int level = suites_seclevel(tls12);
		FUZZ_ASSERT(level >= -1 && level <= 5);
		if (level >= 0)
			suites_apply_level(list, level);
	} else {
		FUZZ_ASSERT(fuzz_terminated(err, sizeof(err)) && (!strncmp(err, "ciphers: ", 9) ||
								   !strncmp(err, "ciphersuites: ", 14)));
	}
	int skipped = suites_skipped(tls12, text, sizeof(text));
	FUZZ_ASSERT(skipped >= 0 && fuzz_terminated(text, sizeof(text)));
	free(tls12);
	return 0;
}
