/* Service options given as command-line flags (main.c's flags mode: cfg_section "tunnel", cfg_set_flag for
 * each --name value, cfg_finish). The input is NUL-separated words taken in pairs: name, value. A name
 * cfg_option_known refuses is skipped, as main.c refuses it before setting anything. */
#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *words = fuzz_strdup(data, size), *p = words, *end = words + size, err[CFG_ERRLEN];
	struct cfg c;
	cfg_init(&c, "command line");
	int rc = cfg_section(&c, "tunnel", 0, err, sizeof(err));
	FUZZ_ASSERT(rc == 0);
	while (rc == 0 && p < end) {
		const char *name = p, *value = p + strlen(p) + 1;
		if (value > end)
			break;
		p = (char *)value + strlen(value) + 1;
		if (cfg_option_known(name))
			rc = cfg_set_flag(&c, name, value, err, sizeof(err));
	}
	if (rc == 0)
		rc = cfg_finish(&c, err, sizeof(err));
	if (rc < 0)
		FUZZ_ASSERT(fuzz_terminated(err, sizeof(err)) && err[0]);
	cfg_free(&c);
	free(words);
	return 0;
}
