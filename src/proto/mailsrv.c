/* Server-side STARTTLS openings: SMTP (RFC 3207), IMAP (RFC 3501), POP3 (RFC 2595). */
#include "mailsrv.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void mailsrv_greeting(enum starttls_proto proto, const char *name, char *out, size_t outlen)
{
	switch (proto) {
	case STARTTLS_SMTP:
		snprintf(out, outlen, "220 %s ESMTP ready\r\n", name);
		return;
	case STARTTLS_IMAP:
		snprintf(out, outlen, "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] %s ready\r\n", name);
		return;
	case STARTTLS_POP3:
		snprintf(out, outlen, "+OK %s ready\r\n", name);
		return;
	}
}

/* The command word: up to the first space, without the line terminator. */
static int word_is(const char *w, size_t wl, const char *want)
{
	return wl == strlen(want) && strncasecmp(w, want, wl) == 0;
}

enum mailsrv_action mailsrv_command(enum starttls_proto proto, const char *name, const char *line, size_t len,
				    char *out, size_t outlen)
{
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	const char *sp = memchr(line, ' ', len);
	size_t wl = sp ? (size_t)(sp - line) : len;
	if (proto == STARTTLS_SMTP) {
		if (word_is(line, wl, "EHLO")) {
			snprintf(out, outlen, "250-%s\r\n250-STARTTLS\r\n250 8BITMIME\r\n", name);
			return MAILSRV_REPLY;
		}
		if (word_is(line, wl, "HELO") || word_is(line, wl, "NOOP") || word_is(line, wl, "RSET")) {
			snprintf(out, outlen, "250 %s\r\n", word_is(line, wl, "HELO") ? name : "OK");
			return MAILSRV_REPLY;
		}
		if (word_is(line, wl, "QUIT")) {
			snprintf(out, outlen, "221 2.0.0 %s closing\r\n", name);
			return MAILSRV_QUIT;
		}
		if (word_is(line, wl, "STARTTLS") && !sp) {
			snprintf(out, outlen, "220 2.0.0 Ready to start TLS\r\n");
			return MAILSRV_STARTTLS;
		}
		snprintf(out, outlen, "530 5.7.0 Must issue a STARTTLS command first\r\n");
		return MAILSRV_REPLY;
	}
	if (proto == STARTTLS_IMAP) {
		/* TAG COMMAND ...: a tag is required */
		char tag[64];
		if (!sp || wl == 0 || wl >= sizeof(tag)) {
			snprintf(out, outlen, "* BAD missing tag\r\n");
			return MAILSRV_REPLY;
		}
		memcpy(tag, line, wl);
		tag[wl] = '\0';
		const char *cmd = sp + 1, *sp2 = memchr(cmd, ' ', len - wl - 1);
		size_t cl = sp2 ? (size_t)(sp2 - cmd) : len - wl - 1;
		if (word_is(cmd, cl, "CAPABILITY")) {
			snprintf(out, outlen, "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n%s OK CAPABILITY completed\r\n",
				 tag);
			return MAILSRV_REPLY;
		}
		if (word_is(cmd, cl, "NOOP")) {
			snprintf(out, outlen, "%s OK NOOP completed\r\n", tag);
			return MAILSRV_REPLY;
		}
		if (word_is(cmd, cl, "LOGOUT")) {
			snprintf(out, outlen, "* BYE %s logging out\r\n%s OK LOGOUT completed\r\n", name, tag);
			return MAILSRV_QUIT;
		}
		if (word_is(cmd, cl, "STARTTLS") && !sp2) {
			snprintf(out, outlen, "%s OK Begin TLS negotiation now\r\n", tag);
			return MAILSRV_STARTTLS;
		}
		snprintf(out, outlen, "%s NO [PRIVACYREQUIRED] STARTTLS first\r\n", tag);
		return MAILSRV_REPLY;
	}
	if (word_is(line, wl, "CAPA")) {
		snprintf(out, outlen, "+OK capability list follows\r\nSTLS\r\n.\r\n");
		return MAILSRV_REPLY;
	}
	if (word_is(line, wl, "QUIT")) {
		snprintf(out, outlen, "+OK %s closing\r\n", name);
		return MAILSRV_QUIT;
	}
	if (word_is(line, wl, "STLS") && !sp) {
		snprintf(out, outlen, "+OK Begin TLS negotiation\r\n");
		return MAILSRV_STARTTLS;
	}
	snprintf(out, outlen, "-ERR STLS first\r\n");
	return MAILSRV_REPLY;
}
