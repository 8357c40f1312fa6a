/* PSKsecrets parsing. Keys are wiped when freed and never written to messages. */
#include "psk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/platform_util.h>

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

int psk_parse(const char *text, const char *name, struct psk_list *list, char *err, size_t errlen)
{
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
		if (len == 0 || p[0] == '#' || p[0] == ';') {
			/* blank or comment */
		} else if (!colon || colon == p) {
			snprintf(err, errlen, "%s:%d: expected IDENTITY:KEY", name, line);
			goto bad;
		} else if ((size_t)(colon - p) > PSK_MAX_IDENTITY) {
			snprintf(err, errlen, "%s:%d: identity longer than %d bytes", name, line, PSK_MAX_IDENTITY);
			goto bad;
		} else if (len - (size_t)(colon - p) - 1 < PSK_MIN_KEY) {
			snprintf(err, errlen, "%s:%d: key shorter than %d bytes", name, line, PSK_MIN_KEY);
			goto bad;
		} else if (psk_find(list, (const unsigned char *)p, (size_t)(colon - p))) {
			snprintf(err, errlen, "%s:%d: identity '%.*s' given twice", name, line, (int)(colon - p), p);
			goto bad;
		} else if (add(list, p, (size_t)(colon - p), colon + 1, len - (size_t)(colon - p) - 1) < 0) {
			snprintf(err, errlen, "%s: out of memory", name);
			goto bad;
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
	psk_free(list);
	return -1;
}

int psk_load(const char *path, struct psk_list *list, char *err, size_t errlen)
{
	char buf[65536];
	struct stat st;
	list->v = NULL;
	list->n = 0;
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "PSKsecrets %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH))) {
		fclose(f);
		snprintf(err, errlen, "PSKsecrets %s is accessible by others (chmod o-rw)", path);
		return -1;
	}
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	int toolong = !feof(f);
	fclose(f);
	buf[n] = '\0';
	int rc = -1;
	if (toolong)
		snprintf(err, errlen, "PSKsecrets %s: larger than %zu bytes", path, sizeof(buf) - 1);
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
