/* STARTTLS for mail protocols, client side (stunnel's protocol = smtp | imap | pop3): the plaintext
 * opening with the server before the TLS handshake. Pure: no I/O. */
#ifndef TLSWRAP_STARTTLS_H
#define TLSWRAP_STARTTLS_H

#include <stddef.h>

#define STARTTLS_MAX_LINE 4096

enum starttls_proto { STARTTLS_SMTP, STARTTLS_IMAP, STARTTLS_POP3 };

struct starttls {
	enum starttls_proto proto;
	int step;    /* 0: greeting; then one step per command sent */
	int offered; /* the reply read so far names STARTTLS (an EHLO keyword line, an IMAP capability) */
};

enum starttls_result {
	STARTTLS_FAIL = -1, /* the server refused or said something else: WHY has its reply line */
	STARTTLS_MORE = 0,  /* no complete line yet */
	STARTTLS_LINE = 1,  /* a line of a reply that goes on was taken: consume it, relay it when RELAY */
	STARTTLS_NEXT = 2,  /* a reply's last line was taken: consume it, relay it when RELAY, then send OUT */
	STARTTLS_TLS = 3,   /* the server agreed: start the TLS handshake now */
};

/* starttls_step: examine the first line of the LEN bytes the server has sent (peeked, not yet consumed).
 * Replies are taken one line at a time, so a reply of any number of lines needs no more than a line's
 * room. With a complete line, *USED is its length (consume exactly that), *RELAY says whether it goes to
 * the local client (the greeting does, as stunnel does) and, at the end of a reply, OUT (OUTLEN bytes,
 * NUL-terminated) holds the next command to send. EHLO_NAME names us in SMTP's EHLO. Lines may end in
 * CRLF or LF; a line longer than STARTTLS_MAX_LINE fails at once. */
enum starttls_result starttls_step(struct starttls *st, const char *buf, size_t len, const char *ehlo_name,
				   size_t *used, int *relay, char *out, size_t outlen, char *why, size_t whylen);

#endif
