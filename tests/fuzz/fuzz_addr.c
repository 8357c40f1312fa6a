/* An address option's value (cfg_parse_addr): "[host:]port", "[v6]:port", stunnel's "v6:port" or a Unix
 * socket path. What it parsed must print (cfg_addr_str) as text that parses to the same address. */
#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strdup(data, size), err[CFG_ERRLEN], text[512];
	struct cfg_addr a, b;
	if (cfg_parse_addr(s, &a, err, sizeof(err)) < 0) {
		FUZZ_ASSERT(fuzz_terminated(err, sizeof(err)) && err[0]);
	} else {
		FUZZ_ASSERT(fuzz_terminated(a.host, sizeof(a.host)) && fuzz_terminated(a.port, sizeof(a.port)) &&
			    fuzz_terminated(a.path, sizeof(a.path)));
		FUZZ_ASSERT(a.path[0] ? !a.host[0] && !a.port[0] : a.port[0] != '\0');
		if (a.host[0] || a.path[0]) { /* a bare port prints as "*:port", which is not input syntax */
			cfg_addr_str(&a, text, sizeof(text));
			FUZZ_ASSERT(cfg_parse_addr(text, &b, err, sizeof(err)) == 0);
			FUZZ_ASSERT(!strcmp(a.host, b.host) && !strcmp(a.port, b.port) && !strcmp(a.path, b.path));
		}
	}
	free(s);
	return 0;
}
