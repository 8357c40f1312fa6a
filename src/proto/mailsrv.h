/* STARTTLS for mail protocols, server side: tlswrap speaks the plaintext opening to the client (greeting,
 * capabilities with STARTTLS) and answers its commands until STARTTLS. Pure: no I/O. */
#ifndef TLSWRAP_MAILSRV_H
#define TLSWRAP_MAILSRV_H

#include <stddef.h>

#include "starttls.h"

enum mailsrv_action {
	MAILSRV_REPLY,    /* send OUT and read the next command */
	MAILSRV_QUIT,     /* send OUT and close */
	MAILSRV_STARTTLS, /* send OUT, then the TLS handshake */
};

/* mailsrv_greeting: the opening line(s) for PROTO into OUT (NUL-terminated). */
void mailsrv_greeting(enum starttls_proto proto, const char *name, char *out, size_t outlen);

/* mailsrv_command: answer one command LINE (LEN bytes, terminator included or not) into OUT. Only the
 * capability/EHLO/NOOP/QUIT family and STARTTLS are served; anything else is refused as a mail server
 * that requires TLS refuses it. */
enum mailsrv_action mailsrv_command(enum starttls_proto proto, const char *name, const char *line, size_t len,
				    char *out, size_t outlen);

#endif
