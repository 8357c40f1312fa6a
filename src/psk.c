/* PSKsecrets parsing. Keys are wiped when freed and never written to messages. */
#include "psk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>

#include "optfile.h"

void psk_free(struct psk_list *list)
{
	for (size_t i = 0; i < list->n; i++) {
		mbedtls_platform_zeroize(list->v[i].key, list->v[i].keylen);
		free(list->v[i].key);
		free(list->v[i].identity);
	}
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

static int add(struct psk_list *list, const char *id, size_t idlen, const char *key, size_t keylen)
{
	struct psk_entry *v = realloc(list->v, (list->n + 1) * sizeof(*v));
	if (!v)
		return -1;
	list->v = v;
	struct psk_entry *e = &v[list->n];
	e->identity = strndup(id, idlen);
	e->key = malloc(keylen);
	e->keylen = keylen;
	if (!e->identity || !e->key) {
		free(e->identity);
		free(e->key);
		return -1;
	}
	memcpy(e->key, key, keylen);
	list->n++;
	return 0;
}

_Static_assert(PSK_MAX_KEY <= MBEDTLS_PSK_MAX_LEN, "PSK_MAX_KEY above what mbedTLS takes");

static int hexval(int ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

/* stunnel's rule (OpenSSL's OPENSSL_hexstr2buf): a key written as hex digits, any number of ':' allowed
 * between two-digit bytes, means those bytes; any other key means its text. Returns the binary length
 * in OUT, or 0 when KEY (LEN bytes) is not hex. */
static size_t hex_key(const char *key, size_t len, unsigned char *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < len;) {
		if (key[i] == ':') {
			i++;
			continue;
		}
		if (i + 1 >= len || hexval(key[i]) < 0 || hexval(key[i + 1]) < 0 || n == cap)
			return 0;
		out[n++] = (unsigned char)(hexval(key[i]) << 4 | hexval(key[i + 1]));
		i += 2;
	}
	return n;
}

int psk_parse(const char *text, const char *name, struct psk_list *list, char *err, size_t errlen)
{
	unsigned char bin[PSK_MAX_KEY];
	list->v = NULL;
	list->n = 0;
	int line = 0;
	for (const char *p = text; *p;) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		line++;
		if (len && p[len - 1] == '\r')
			len--;
		const char *colon = memchr(p, ':', len);
		size_t idlen = colon ? (size_t)(colon - p) : 0, keylen = colon ? len - idlen - 1 : 0;
		const char *key = colon ? colon + 1 : p + len; /* NULL + 1 is undefined, even unused */
		if (len == 0 || p[0] == '#' || p[0] == ';') {
			/* blank or comment */
		} else if (memchr(p, '\r', len)) {
			snprintf(err, errlen, "%s:%d: a carriage return inside the line (lines end with LF or CR LF)", name, line);
			goto bad;
		} else if (!colon || colon == p) {
			snprintf(err, errlen, "%s:%d: expected IDENTITY:KEY", name, line);
			goto bad;
		} else if (p[0] == ' ' || p[0] == '\t' || colon[-1] == ' ' || colon[-1] == '\t' ||
			   (keylen && (key[0] == ' ' || key[0] == '\t' || key[keylen - 1] == ' ' || key[keylen - 1] == '\t'))) {
			/* stunnel would take the blanks as part of the identity or key: say so rather than guess */
			snprintf(err, errlen, "%s:%d: blank around the identity or the key (it would be part of it): remove it",
				 name, line);
			goto bad;
		} else if (idlen > PSK_MAX_IDENTITY) {
			snprintf(err, errlen, "%s:%d: identity longer than %d bytes", name, line, PSK_MAX_IDENTITY);
			goto bad;
		} else if (psk_find(list, (const unsigned char *)p, idlen)) {
			snprintf(err, errlen, "%s:%d: identity '%.*s' given twice", name, line, (int)idlen, p);
			goto bad;
		} else {
			size_t binlen = hex_key(key, keylen, bin, sizeof(bin));
			const char *k = binlen ? (const char *)bin : key;
			size_t klen = binlen ? binlen : keylen;
			if (klen < PSK_MIN_KEY) {
				snprintf(err, errlen, "%s:%d: key shorter than %d bytes%s", name, line, PSK_MIN_KEY,
					 binlen ? " (hexadecimal: 32 digits at least)" : "");
				goto bad;
			}
			if (klen > PSK_MAX_KEY) {
				snprintf(err, errlen, "%s:%d: key longer than %d bytes (mbedTLS's limit)", name, line, PSK_MAX_KEY);
				goto bad;
			}
			int rc = add(list, p, idlen, k, klen);
			mbedtls_platform_zeroize(bin, sizeof(bin));
			if (rc < 0) {
				snprintf(err, errlen, "%s: out of memory", name);
				goto bad;
			}
		}
		if (!end)
			break;
		p = end + 1;
	}
	if (list->n == 0) {
		snprintf(err, errlen, "%s: no IDENTITY:KEY lines", name);
		return -1;
	}
	return 0;
bad:
	mbedtls_platform_zeroize(bin, sizeof(bin));
	psk_free(list);
	return -1;
}

int psk_load(const char *path, struct psk_list *list, char *err, size_t errlen)
{
	char buf[PSK_MAX_FILE + 2]; /* room to see one byte too many, and a NUL */
	struct stat st;
	list->v = NULL;
	list->n = 0;
	FILE *f = optfile_open("PSKsecrets", path, err, errlen);
	if (!f)
		return -1;
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH))) {
		fclose(f);
		snprintf(err, errlen, "PSKsecrets %s is accessible by others (chmod o-rw)", path);
		return -1;
	}
	size_t n = fread(buf, 1, PSK_MAX_FILE + 1, f);
	fclose(f);
	buf[n] = '\0';
	int rc = -1;
	if (n > PSK_MAX_FILE)
		snprintf(err, errlen, "PSKsecrets %s: larger than %d bytes", path, PSK_MAX_FILE);
	else if (memchr(buf, '\0', n))
		snprintf(err, errlen, "PSKsecrets %s: binary data (expected IDENTITY:KEY lines)", path);
	else
		rc = psk_parse(buf, path, list, err, errlen);
	mbedtls_platform_zeroize(buf, sizeof(buf));
	return rc;
}

const struct psk_entry *psk_find(const struct psk_list *list, const unsigned char *identity, size_t len)
{
	for (size_t i = 0; i < list->n; i++)
		if (strlen(list->v[i].identity) == len && memcmp(list->v[i].identity, identity, len) == 0)
			return &list->v[i];
	return NULL;
}
