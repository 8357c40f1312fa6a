/* PROXY protocol v1/v2 headers and v2 TLVs as a load balancer in front sends them (proxy_decode). */
#include <sys/socket.h>

#include "fuzz.h"
#include "proto/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage src, dst;
	const char *why = NULL;
	int n = proxy_decode(data, size, &src, &dst, &why);
	FUZZ_ASSERT(n >= -1 && n <= (int)size && n <= PROXY_MAX);
	if (n < 0)
		FUZZ_ASSERT(why && *why);
	if (n > 0)
		FUZZ_ASSERT(src.ss_family == dst.ss_family);
	/* "more needed" never past the longest header */
	if (n == 0 && size >= 16 && data[0] == 0x0D)
		FUZZ_ASSERT(size < PROXY_V2_HEADER + ((size_t)data[14] << 8 | data[15]));
	if (n == 0 && size && data[0] == 'P')
		FUZZ_ASSERT(size < PROXY_V1_MAX);
	/* a header is the same header however the bytes after it (or a partial read) fall */
	if (n > 0) {
		FUZZ_ASSERT(proxy_decode(data, (size_t)n, NULL, NULL, NULL) == n);
		FUZZ_ASSERT(proxy_decode(data, (size_t)n - 1, NULL, NULL, NULL) == 0);
	}
	return 0;
}
