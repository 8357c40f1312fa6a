/* A PSKsecrets file's contents (psk_parse), then lookups of every identity it gave. */
#include "fuzz.h"
#include "psk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strdup(data, size), err[256];
	struct psk_list list = { 0 };
	if (psk_parse(text, "fuzz.psk", &list, err, sizeof(err)) < 0) {
		FUZZ_ASSERT(list.n == 0 && fuzz_terminated(err, sizeof(err)));
	} else {
		for (size_t i = 0; i < list.n; i++) {
			const struct psk_entry *e = &list.v[i];
			FUZZ_ASSERT(e->keylen >= PSK_MIN_KEY && e->keylen <= PSK_MAX_KEY);
			FUZZ_ASSERT(strlen(e->identity) <= PSK_MAX_IDENTITY);
			FUZZ_ASSERT(psk_find(&list, (const unsigned char *)e->identity, strlen(e->identity)) != NULL);
		}
	}
	psk_free(&list);
	free(text);
	return 0;
}
