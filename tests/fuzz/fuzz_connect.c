/* An HTTP CONNECT proxy's reply to our tunnel request (connect_response). */
#include "fuzz.h"
#include "proto/connect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256];
	memset(why, 'x', sizeof(why));
	int n = connect_response((const char *)data, size, why, sizeof(why));
	FUZZ_ASSERT(n >= -1 && n <= (int)size && n <= CONNECT_MAX_HEAD);
	if (n == 0)
		FUZZ_ASSERT(size <= CONNECT_MAX_HEAD);
	if (n < 0) {
		FUZZ_ASSERT(fuzz_terminated(why, sizeof(why)) && why[0]);
		for (const char *p = why; *p; p++)
			FUZZ_ASSERT(*p >= 0x20 && *p < 0x7f); /* proxy text reaches the log only as printable ASCII */
	}
	/* the head ends where it ends: bytes after it belong to the tunnel */
	if (n > 0)
		FUZZ_ASSERT(connect_response((const char *)data, (size_t)n, NULL, 0) == n);
	return 0;
}
