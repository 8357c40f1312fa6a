/* Client-side STARTTLS: SMTP (RFC 3207), IMAP (RFC 3501 section 6.2.1), POP3 (RFC 2595 STLS). */
#include "starttls.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Length of the first complete line (terminator included), 0 when incomplete, -1 when too long. */
static long line_len(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);
	if (!nl)
		return len >= STARTTLS_MAX_LINE ? -1 : 0;
	if ((size_t)(nl - buf) >= STARTTLS_MAX_LINE)
		return -1;
	return nl - buf + 1;
}

/* The reply line for a log message: printable, without its terminator. */
static void quote(const char *line, size_t len, char *why, size_t whylen)
{
	size_t n = 0;
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	for (size_t i = 0; i < len && n + 1 < whylen; i++)
		why[n++] = isprint((unsigned char)line[i]) ? line[i] : '?';
	if (whylen)
		why[n] = '\0';
}

/* SMTP: a reply is lines "NNN-text" ending with "NNN text". Whether LINE (LEN bytes, terminator
 * included) is one: sets *code, *last (it ends the reply) and *starttls (an EHLO keyword line "STARTTLS"). */
static int smtp_line(const char *p, size_t l, int *code, int *last, int *starttls)
{
	if (l < 4 || !isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) ||
	    (p[3] != '-' && p[3] != ' ' && p[3] != '\r' && p[3] != '\n'))
		return 0;
	*code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	*last = p[3] != '-';
	*starttls = l >= 13 && strncasecmp(p + 4, "STARTTLS", 8) == 0 && (p[12] == '\r' || p[12] == '\n' || p[12] == ' ');
	return 1;
}

/* Whether LINE (L bytes, not NUL-terminated) starts with PREFIX, in any case when ICASE: never reading past
 * the line, which a shorter one would have the str*cmp functions do when it matches so far. */
static int starts(const char *line, long l, const char *prefix, int icase)
{
	size_t n = strlen(prefix);
	return (size_t)l >= n && (icase ? strncasecmp(line, prefix, n) : strncmp(line, prefix, n)) == 0;
}

/* IMAP: whether LINE (L bytes) is a CAPABILITY line naming STARTTLS, untagged or in an OK's code. */
static int imap_offers(const char *p, size_t l)
{
	char line[STARTTLS_MAX_LINE + 1];
	memcpy(line, p, l);
	line[l] = '\0';
	if (strncasecmp(line, "* CAPABILITY ", 13) != 0 && strncasecmp(line, "* OK [CAPABILITY ", 17) != 0)
		return 0;
	for (char *w = strcasestr(line, "STARTTLS"); w; w = strcasestr(w + 8, "STARTTLS"))
		if (w[-1] == ' ' && (w[8] == ' ' || w[8] == '\r' || w[8] == '\n' || w[8] == ']'))
			return 1;
	return 0;
}

enum starttls_result starttls_step(struct starttls *st, const char *buf, size_t len, const char *ehlo_name,
				   size_t *used, int *relay, char *out, size_t outlen, char *why, size_t whylen)
{
	int code = 0, last = 0, starttls = 0;
	*relay = 0;
	out[0] = '\0';
	long l = line_len(buf, len);
	if (l == 0)
		return STARTTLS_MORE;
	if (l < 0) {
		snprintf(why, whylen, "reply line too long (over %d bytes)", STARTTLS_MAX_LINE);
		return STARTTLS_FAIL;
	}
	*used = (size_t)l;
	switch (st->proto) {
	case STARTTLS_SMTP:
		if (!smtp_line(buf, (size_t)l, &code, &last, &starttls)) {
			snprintf(why, whylen, "not an SMTP reply: ");
			quote(buf, (size_t)l, why + strlen(why), whylen - strlen(why));
			return STARTTLS_FAIL;
		}
		if (code != (st->step == 1 ? 250 : 220)) {
			quote(buf, (size_t)l, why, whylen);
			return STARTTLS_FAIL;
		}
		st->offered |= st->step == 1 && starttls;
		*relay = st->step == 0;
		if (!last)
			return STARTTLS_LINE;
		if (st->step == 1 && !st->offered) {
			snprintf(why, whylen, "server does not offer STARTTLS");
			return STARTTLS_FAIL;
		}
		if (st->step == 2)
			return STARTTLS_TLS;
		snprintf(out, outlen, st->step == 0 ? "EHLO %s\r\n" : "STARTTLS\r\n", ehlo_name);
		st->step++;
		return STARTTLS_NEXT;
	case STARTTLS_IMAP:
		if (st->step == 0) {
			if (!starts(buf, l, "* OK", 1)) {
				quote(buf, (size_t)l, why, whylen);
				return STARTTLS_FAIL;
			}
			*relay = 1;
			snprintf(out, outlen, "tw1 CAPABILITY\r\n");
			st->step = 1;
			return STARTTLS_NEXT;
		}
		/* untagged lines up to the one tagged with our command's tag */
		const char *tag = st->step == 1 ? "tw1 " : "tw2 ";
		if (!starts(buf, l, tag, 0)) {
			if (buf[0] != '*') {
				snprintf(why, whylen, "unexpected IMAP reply: ");
				quote(buf, (size_t)l, why + strlen(why), whylen - strlen(why));
				return STARTTLS_FAIL;
			}
			st->offered |= imap_offers(buf, (size_t)l);
			return STARTTLS_LINE;
		}
		if (l < 6 || strncasecmp(buf + 4, "OK", 2) != 0) {
			quote(buf, (size_t)l, why, whylen);
			return STARTTLS_FAIL;
		}
		if (st->step == 1 && !st->offered) {
			snprintf(why, whylen, "server does not offer STARTTLS");
			return STARTTLS_FAIL;
		}
		if (st->step == 2)
			return STARTTLS_TLS;
		snprintf(out, outlen, "tw2 STARTTLS\r\n");
		st->step = 2;
		return STARTTLS_NEXT;
	case STARTTLS_POP3:
		if (!starts(buf, l, "+OK", 1)) {
			quote(buf, (size_t)l, why, whylen);
			return STARTTLS_FAIL;
		}
		if (st->step == 1)
			return STARTTLS_TLS;
		*relay = 1;
		snprintf(out, outlen, "STLS\r\n");
		st->step = 1;
		return STARTTLS_NEXT;
	}
	snprintf(why, whylen, "internal: unknown protocol");
	return STARTTLS_FAIL;
}
