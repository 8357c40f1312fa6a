/* A mail client's commands to tlswrap's STARTTLS server side (mailsrv_command), SMTP, IMAP or POP3 by the
 * first byte; the rest is cut into lines at LF as conn_nego.c reads them, each answered in turn. */
#include "fuzz.h"
#include "proto/mailsrv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum starttls_proto proto = (enum starttls_proto)(data[0] % 3);
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	char out[512];
	mailsrv_greeting(proto, "tlswrap", out, sizeof(out));
	FUZZ_ASSERT(fuzz_terminated(out, sizeof(out)));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		if (len > STARTTLS_MAX_LINE) /* the server refuses a longer line before parsing it */
			return 0;
		memset(out, 'x', sizeof(out));
		enum mailsrv_action a = mailsrv_command(proto, "tlswrap", p, len, out, sizeof(out));
		FUZZ_ASSERT(a == MAILSRV_REPLY || a == MAILSRV_QUIT || a == MAILSRV_STARTTLS);
		FUZZ_ASSERT(fuzz_terminated(out, sizeof(out)) && out[0]);
		if (a != MAILSRV_REPLY)
			return 0;
		p += len;
	}
	return 0;
}
