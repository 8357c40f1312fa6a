/* Pre-shared keys: stunnel's PSKsecrets file of "identity:key" lines. */
#ifndef TLSWRAP_PSK_H
#define TLSWRAP_PSK_H

#include <stddef.h>

#define PSK_MIN_KEY 16
#define PSK_MAX_KEY 48 /* what this mbedTLS takes (MBEDTLS_PSK_MAX_LEN; psk.c checks they agree) */
#define PSK_MAX_IDENTITY 255 /* as stunnel with OpenSSL 3 */
#define PSK_MAX_FILE 65535  /* bytes of a PSKsecrets file */

struct psk_entry {
	char *identity;
	unsigned char *key;
	size_t keylen;
};

struct psk_list {
	struct psk_entry *v;
	size_t n;
};

/* psk_parse: TEXT (a whole file's contents, NAME for messages) -> LIST. Empty lines and lines
 * starting with '#' or ';' are skipped; every other line is IDENTITY:KEY, split at the first ':'. As
 * in stunnel, a key written in hex (an even number of digits, ':' allowed between bytes) is those
 * bytes, any other key its text; either way 16 to PSK_MAX_KEY bytes. Blanks around the identity or
 * key and a CR inside a line are refused (they would silently change the key). Returns 0, or -1 with
 * "NAME:LINE: reason" in ERR (LIST is then empty). Keys never appear in messages. */
int psk_parse(const char *text, const char *name, struct psk_list *list, char *err, size_t errlen);

/* psk_load: read PATH, a regular file of at most PSK_MAX_FILE bytes (refused when others may read it),
 * and parse it as psk_parse does. */
int psk_load(const char *path, struct psk_list *list, char *err, size_t errlen);

/* psk_find: the entry for IDENTITY (LEN bytes), or NULL. */
const struct psk_entry *psk_find(const struct psk_list *list, const unsigned char *identity, size_t len);

/* psk_free: wipe and release every key and identity. */
void psk_free(struct psk_list *list);

#endif
