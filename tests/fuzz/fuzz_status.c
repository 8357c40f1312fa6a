/* A request to the status endpoint (status_route): the server reads up to 4 KiB until a blank line and
 * routes the NUL-terminated text. */
#include "fuzz.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *req = fuzz_strdup(data, size);
	int metrics = -1, code = status_route(req, &metrics);
	FUZZ_ASSERT(code == 200 || code == 400 || code == 404 || code == 405);
	if (code == 200)
		FUZZ_ASSERT(metrics == 0 || metrics == 1);
	free(req);
	return 0;
}
