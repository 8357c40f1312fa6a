/* The passphrase of an encrypted private key: from keyPasswordFile, a systemd credential, or the terminal.
 * It is held only in the caller's buffer, for as long as the key takes to decrypt. */
#ifndef TLSWRAP_KEYPASS_H
#define TLSWRAP_KEYPASS_H

#include <stddef.h>

#include "config.h"

#define KEYPASS_MAX 1024             /* bytes of a passphrase, with its NUL */
#define KEYPASS_CREDENTIAL "tlswrap.keypass" /* the credential looked for when keyPasswordFile is not set */

/* Where a passphrase came from, for messages (never the passphrase itself). */
struct keypass_source {
	char what[32];   /* "keyPasswordFile", "credential" or "terminal" */
	char path[4096]; /* the file read, or "" from the terminal */
};

/* keypass_get: the passphrase for the encrypted key KEYPATH of service S into PW (KEYPASS_MAX bytes,
 * NUL-terminated), from, in this order: S's keyPasswordFile (a path; a name without '/' is a credential in
 * $CREDENTIALS_DIRECTORY when that is set); the credential KEYPASS_CREDENTIAL when $CREDENTIALS_DIRECTORY
 * holds it; the terminal, when PROMPT allows (tlswrap starting in the foreground on one: no echo, the prompt
 * names KEYPATH). A file must be a regular file that neither group nor others can read; its first line is
 * the passphrase (line end stripped). FROM says where it came from. Returns 0, or -1 with "OPTION PATH:
 * reason" in ERR (PW then holds nothing). The caller wipes PW (mbedtls_platform_zeroize) once used. */
int keypass_get(const struct cfg_service *s, const char *keypath, int prompt, char pw[KEYPASS_MAX],
		struct keypass_source *from, char *err, size_t errlen);

/* keypass_can_prompt: may a passphrase be asked at the terminal (stdin is one)? 1 or 0. */
int keypass_can_prompt(void);

#endif
