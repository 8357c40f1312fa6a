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

/* Length of the first line of BUF (without looking past LEN). */
static size_t first_line(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);
	return nl ? (size_t)(nl - buf) : len;
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

/* A one-line reply that must start with PREFIX (IMAP's greeting, POP3's answers): its length, 0 when
 * incomplete, or -1 with the reason (or the line itself) in WHY. */
static long one_line(const char *buf, size_t len, const char *prefix, char *why, size_t whylen)
{
	long l = line_len(buf, len);
	if (l < 0)
		snprintf(why, whylen, "reply line too long");
	else if (l > 0 && strncasecmp(buf, prefix, strlen(prefix)) != 0)
		quote(buf, (size_t)l, why, whylen);
	else
		return l;
	return -1;
}

/* SMTP: a reply is lines "NNN-text" ending with "NNN text"; returns its length, 0, or -1. Sets *code
 * and *has_starttls (an EHLO keyword line "STARTTLS"). */
static long smtp_reply(const char *buf, size_t len, int *code, int *has_starttls)
{
	size_t off = 0;
	*has_starttls = 0;
	for (;;) {
		long l = line_len(buf + off, len - off);
		if (l <= 0)
			return l;
		const char *p = buf + off;
		if (l < 4 || !isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) ||
		    (p[3] != '-' && p[3] != ' ' && p[3] != '\r' && p[3] != '\n'))
			return -2; /* not SMTP */
		*code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
		if (l >= 12 && strncasecmp(p + 4, "STARTTLS", 8) == 0 && (p[12] == '\r' || p[12] == '\n' || p[12] == ' '))
			*has_starttls = 1;
		off += (size_t)l;
		if (p[3] != '-')
			return (long)off;
	}
}

/* IMAP: untagged lines ("* ...") up to the line tagged TAG; returns its length, 0, or -1. Sets *ok
 * (the tagged status is OK) and *has_starttls (a CAPABILITY line naming STARTTLS). */
static long imap_reply(const char *buf, size_t len, const char *tag, int *ok, int *has_starttls)
{
	size_t off = 0, tl = strlen(tag);
	*has_starttls = 0;
	for (;;) {
		long l = line_len(buf + off, len - off);
		if (l <= 0)
			return l;
		const char *p = buf + off;
		off += (size_t)l;
		char line[STARTTLS_MAX_LINE + 1];
		memcpy(line, p, (size_t)l);
		line[l] = '\0';
		if (strncasecmp(line, "* CAPABILITY ", 13) == 0 || strncasecmp(line, "* OK [CAPABILITY ", 17) == 0) {
			for (char *w = strcasestr(line, "STARTTLS"); w; w = strcasestr(w + 8, "STARTTLS"))
				if (w[-1] == ' ' && (w[8] == ' ' || w[8] == '\r' || w[8] == '\n' || w[8] == ']'))
					*has_starttls = 1;
		}
		if (strncmp(line, tag, tl) == 0 && line[tl] == ' ') {
			*ok = strncasecmp(line + tl + 1, "OK", 2) == 0;
			return (long)off;
		}
		if (line[0] != '*')
			return -2;
	}
}

enum starttls_result starttls_step(struct starttls *st, const char *buf, size_t len, const char *ehlo_name,
				   size_t *used, int *relay, char *out, size_t outlen, char *why, size_t whylen)
{
	long l;
	int code = 0, starttls = 0, ok = 0;
	*relay = 0;
	out[0] = '\0';
	switch (st->proto) {
	case STARTTLS_SMTP:
		l = smtp_reply(buf, len, &code, &starttls);
		if (l == 0)
			return STARTTLS_MORE;
		if (l < 0) {
			snprintf(why, whylen, l == -1 ? "reply line too long" : "not an SMTP reply: ");
			if (l == -2)
				quote(buf, first_line(buf, len), why + strlen(why), whylen - strlen(why));
			return STARTTLS_FAIL;
		}
		*used = (size_t)l;
		if ((st->step == 0 && code != 220) || (st->step == 1 && code != 250) || (st->step == 2 && code != 220)) {
			quote(buf, (size_t)l, why, whylen);
			return STARTTLS_FAIL;
		}
		if (st->step == 1 && !starttls) {
			snprintf(why, whylen, "server does not offer STARTTLS");
			return STARTTLS_FAIL;
		}
		if (st->step == 2)
			return STARTTLS_TLS;
		*relay = st->step == 0;
		snprintf(out, outlen, st->step == 0 ? "EHLO %s\r\n" : "STARTTLS\r\n", ehlo_name);
		st->step++;
		return STARTTLS_NEXT;
	case STARTTLS_IMAP:
		if (st->step == 0) {
			l = one_line(buf, len, "* OK", why, whylen);
			if (l <= 0)
				return l == 0 ? STARTTLS_MORE : STARTTLS_FAIL;
			*used = (size_t)l;
			*relay = 1;
			snprintf(out, outlen, "tw1 CAPABILITY\r\n");
			st->step = 1;
			return STARTTLS_NEXT;
		}
		l = imap_reply(buf, len, st->step == 1 ? "tw1" : "tw2", &ok, &starttls);
		if (l == 0)
			return STARTTLS_MORE;
		if (l < 0) {
			snprintf(why, whylen, l == -1 ? "reply line too long" : "unexpected IMAP reply");
			return STARTTLS_FAIL;
		}
		*used = (size_t)l;
		if (!ok) {
			const char *last = buf + l - 1;
			while (last > buf && last[-1] != '\n')
				last--;
			quote(last, (size_t)(buf + l - last), why, whylen);
			return STARTTLS_FAIL;
		}
		if (st->step == 1 && !starttls) {
			snprintf(why, whylen, "server does not offer STARTTLS");
			return STARTTLS_FAIL;
		}
		if (st->step == 2)
			return STARTTLS_TLS;
		snprintf(out, outlen, "tw2 STARTTLS\r\n");
		st->step = 2;
		return STARTTLS_NEXT;
	case STARTTLS_POP3:
		l = one_line(buf, len, "+OK", why, whylen);
		if (l <= 0)
			return l == 0 ? STARTTLS_MORE : STARTTLS_FAIL;
		*used = (size_t)l;
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
