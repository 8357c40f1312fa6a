/* A configuration file (cfg_load: inih and the handler, then validation), with --inetd when its length is
 * odd. Inputs naming `include` are skipped: it reads whatever files or directories they name. */
#include <ctype.h>

#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *lower = fuzz_strdup(data, size), err[CFG_ERRLEN];
	for (size_t i = 0; i < size; i++)
		lower[i] = (char)tolower((unsigned char)lower[i]);
	int skip = memmem(lower, size, "include", 7) != NULL;
	free(lower);
	if (skip)
		return -1; /* not added to the corpus */
	struct cfg c;
	memset(err, 'x', sizeof(err));
	if (cfg_load(fuzz_file(data, size), &c, (int)(size & 1), err, sizeof(err)) < 0) {
		FUZZ_ASSERT(fuzz_terminated(err, sizeof(err)) && err[0]);
		return 0;
	}
	for (size_t i = 0; i < c.nsvc; i++) {
		char notes[2048];
		cfg_notes(&c.svc[i], notes, sizeof(notes));
		FUZZ_ASSERT(fuzz_terminated(notes, sizeof(notes)));
	}
	cfg_free(&c);
	return 0;
}
