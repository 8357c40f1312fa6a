/* A mail server's replies to tlswrap's STARTTLS client (starttls_step), SMTP, IMAP or POP3 by the first
 * byte; the rest is what the server sends, stepped through as conn_nego.c does: consume each line taken. */
#include "fuzz.h"
#include "proto/starttls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct starttls st = { .proto = (enum starttls_proto)(data[0] % 3) };
	const char *buf = (const char *)data + 1;
	size_t len = size - 1;
	for (;;) {
		char out[300], why[300];
		size_t used = (size_t)-1;
		int relay = -1;
		memset(out, 'x', sizeof(out));
		memset(why, 'x', sizeof(why));
		enum starttls_result r = starttls_step(&st, buf, len, "tlswrap", &used, &relay, out, sizeof(out), why,
						       sizeof(why));
		if (r == STARTTLS_FAIL) {
			FUZZ_ASSERT(fuzz_terminated(why, sizeof(why)));
			return 0;
		}
		if (r == STARTTLS_MORE)
			return 0;
		FUZZ_ASSERT(r == STARTTLS_LINE || r == STARTTLS_NEXT || r == STARTTLS_TLS);
		FUZZ_ASSERT(used > 0 && used <= len);
		if (r == STARTTLS_TLS)
			return 0;
		FUZZ_ASSERT(relay == 0 || relay == 1);
		if (r == STARTTLS_NEXT) /* a reply's end: the next command to send */
			FUZZ_ASSERT(fuzz_terminated(out, sizeof(out)));
		buf += used;
		len -= used;
	}
}
