/* STARTTLS for mail protocols, client side (stunnel's protocol = smtp | imap | pop3): the plaintext
 * opening with the server before the TLS handshake. Pure: no I/O. */
#ifndef TLSWRAP_STARTTLS_H
#define TLSWRAP_STARTTLS_H

#include <stddef.h>

#define STARTTLS_MAX_LINE 4096

enum starttls_proto { STARTTLS_SMTP, STARTTLS_IMAP, STARTTLS_POP3 };

struct starttls {
	enum starttls_proto proto;
	int step; /* 0: greeting; then one step per command sent */
};

enum starttls_result {
	STARTTLS_FAIL = -1, /* the server refused or said something else: WHY has its reply line */
	STARTTLS_MORE = 0,  /* no complete reply yet */
	STARTTLS_NEXT = 1,  /* a reply was taken: relay it when RELAY, then send OUT (when not empty) */
	STARTTLS_TLS = 2,   /* the server agreed: start the TLS handshake now */
};

/* starttls_step: examine the LEN bytes the server has sent (peeked, not yet consumed). With a complete
 * reply, *USED is its length (consume exactly that), *RELAY says whether those bytes go to the local
 * client (the greeting does, as stunnel does) and OUT (OUTLEN bytes, NUL-terminated) holds the next
 * command to send. EHLO_NAME names us in SMTP's EHLO. Lines may end in CRLF or LF; a line longer than
 * STARTTLS_MAX_LINE fails. */
enum starttls_result starttls_step(struct starttls *st, const char *buf, size_t len, const char *ehlo_name,
				   size_t *used, int *relay, char *out, size_t outlen, char *why, size_t whylen);

#endif
