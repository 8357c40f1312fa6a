/* Reading configuration files: inih does the lines, this file the rest: the "[section]" header lines
 * (inih never reports them), `include = DIR` (every file in DIR, in name order, read as if its lines
 * stood there, as in stunnel), and the file and line of every option for later errors. */
#include "config_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define INI_HANDLER_LINENO 1
#include <ini.h>

#define fail cfg_fail
#define MAX_LINE 16383     /* characters, without the line's end: a longer line is refused, never split */
#define INI_LINE_BUF (MAX_LINE + 3) /* inih's line buffer (ini_max_line): the longest line, CRLF and a NUL */
#define MAX_INCLUDE_DEPTH 8 /* an include loop stops here with an error */

struct section_line {
	char name[64];
	const char *file;
	int line;
	int used; /* a service was made of it (a section without options is an error) */
};

/* One file being read: inih tells its handler the section of each line, which is this file's own
 * idea of the section (an included file starts with none). */
struct file_ctx {
	const char *path;
	char section[64]; /* the last section this file's parser reported */
};

struct load_ctx {
	struct cfg *c;
	char *err;
	size_t errlen;
	int failed;
	struct section_line *headers;
	size_t nheaders, cap;
	size_t *slots, nslots; /* the headers by name: see header_slot */
	struct file_ctx *file; /* the file being read now */
	int depth;
};

static size_t name_hash(const char *name)
{
	size_t h = 5381;
	while (*name)
		h = h * 33 + (unsigned char)*name++;
	return h;
}

/* The headers are found by name in an open-addressed table of their indexes (plus one: 0 is empty),
 * kept at most half full, so that thousands of sections cost no more per section than ten: the slot
 * holding NAME, or the empty slot where it would go. */
static size_t *header_slot(const struct load_ctx *L, const char *name)
{
	size_t mask = L->nslots - 1, i = name_hash(name) & mask;
	while (L->slots[i] && strcmp(L->headers[L->slots[i] - 1].name, name) != 0)
		i = (i + 1) & mask;
	return &L->slots[i];
}

static struct section_line *find_header(const struct load_ctx *L, const char *name)
{
	size_t k = L->nslots ? *header_slot(L, name) : 0;
	return k ? &L->headers[k - 1] : NULL;
}

static int add_header(struct load_ctx *L, const char *name, int line)
{
	const struct section_line *h = find_header(L, name);
	if (h && h->file == L->file->path)
		return fail(L->err, L->errlen, "%s:%d: duplicate section [%s] (first at line %d)", L->file->path, line,
			    name, h->line);
	if (h)
		return fail(L->err, L->errlen, "%s:%d: duplicate section [%s] (first at %s:%d)", L->file->path, line,
			    name, h->file, h->line);
	if (L->nheaders == L->cap) {
		size_t cap = L->cap ? L->cap * 2 : 16;
		struct section_line *n = realloc(L->headers, cap * sizeof(*n));
		if (!n)
			return fail(L->err, L->errlen, "%s: out of memory", L->file->path);
		L->headers = n;
		L->cap = cap;
	}
	if (2 * (L->nheaders + 1) > L->nslots) { /* rehash into twice the slots */
		size_t nslots = L->nslots ? L->nslots * 2 : 64, *slots = calloc(nslots, sizeof(*slots));
		if (!slots)
			return fail(L->err, L->errlen, "%s: out of memory", L->file->path);
		free(L->slots);
		L->slots = slots;
		L->nslots = nslots;
		for (size_t k = 0; k < L->nheaders; k++)
			*header_slot(L, L->headers[k].name) = k + 1;
	}
	struct section_line *n = &L->headers[L->nheaders++];
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->file = L->file->path;
	n->line = line;
	n->used = 0;
	*header_slot(L, n->name) = L->nheaders;
	return 0;
}

/* A first pass over F: the "[name]" lines, and lines too long for inih. */
static int scan_sections(FILE *f, struct load_ctx *L)
{
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;
	for (int line = 1; (len = getline(&buf, &cap, f)) >= 0; line++) {
		char *p = buf, *end;
		size_t chars = (size_t)len - (len && buf[len - 1] == '\n');
		chars -= chars && buf[chars - 1] == '\r';
		if (chars > MAX_LINE) {
			rc = fail(L->err, L->errlen, "%s:%d: line longer than %d characters", L->file->path, line, MAX_LINE);
			break;
		}
		if (line == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
			p += 3; /* a UTF-8 byte order mark, which inih skips too */
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '[' || !(end = strchr(p, ']')))
			continue;
		*end = '\0';
		p++;
		if (!*p) {
			rc = fail(L->err, L->errlen, "%s:%d: empty section name", L->file->path, line);
			break;
		}
		if (strlen(p) > 49) { /* inih cuts section names there: two long names could merge */
			rc = fail(L->err, L->errlen, "%s:%d: section name too long (at most 49 characters)", L->file->path,
				  line);
			break;
		}
		if ((rc = add_header(L, p, line)) < 0)
			break;
	}
	free(buf);
	rewind(f);
	return rc;
}

static int load_file(struct load_ctx *L, const char *path);

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* include = DIR: every regular file in DIR (symbolic links followed, subdirectories skipped), in byte
 * order of the names, as stunnel reads them ("ascending alphabetical order": 00-global.conf,
 * 01-web.conf ...). */
static int include_dir(struct load_ctx *L, const char *dir, int line)
{
	struct dirent **names;
	if (L->depth >= MAX_INCLUDE_DEPTH)
		return fail(L->err, L->errlen, "%s:%d: include %s: more than %d levels of include (a loop?)", L->file->path,
			    line, dir, MAX_INCLUDE_DEPTH);
	int n = scandir(dir, &names, NULL, by_name);
	if (n < 0)
		return fail(L->err, L->errlen, "%s:%d: include %s: %s", L->file->path, line, dir, strerror(errno));
	if (cfg_list_add(&L->c->include_dirs, dir) < 0) { /* reloadOnChange watches it */
		for (int i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return fail(L->err, L->errlen, "out of memory");
	}
	int rc = 0;
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		if (rc == 0 && snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) < (int)sizeof(path) &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			L->depth++;
			rc = load_file(L, path);
			L->depth--;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static int handler(void *user, const char *section, const char *name, const char *value, int line)
{
	struct load_ctx *L = user;
	struct cfg *c = L->c;
	char why[CFG_ERRLEN];
	if (L->failed)
		return 0;
	if (name == NULL) /* inih with INI_CALL_HANDLER_ON_NEW_SECTION is not what Debian ships */
		return 1;
	if (*section && strcmp(section, L->file->section) != 0) {
		/* this file entered a new section (after an include, the section its files opened goes on) */
		struct section_line *h = find_header(L, section); /* unique: scan_sections checked */
		if (h)
			h->used = 1;
		if (cfg_section_new(c, section, h ? h->line : line, why, sizeof(why)) < 0)
			goto bad;
		snprintf(L->file->section, sizeof(L->file->section), "%s", section);
	}
	if (!*name) {
		snprintf(why, sizeof(why), "missing option name");
		goto bad;
	}
	if (strcasecmp(name, "include") == 0) {
		if (include_dir(L, value, line) < 0) {
			L->failed = 1;
			return 0;
		}
		return 1;
	}
	if (cfg_set(c, name, value, why, sizeof(why)) < 0) {
		const char *semi = strchr(value, ';');
		if (semi && semi > value && (semi[-1] == ' ' || semi[-1] == '\t')) /* stunnel has none either */
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 " (a ';' after a value is not a comment: put comments on lines of their own)");
		goto bad;
	}
	if (cfg_note_line(c, name, line) < 0) {
		snprintf(why, sizeof(why), "out of memory");
		goto bad;
	}
	return 1;
bad:
	L->failed = 1;
	fail(L->err, L->errlen, "%s:%d: %s", L->file->path, line, why);
	return 0;
}

/* Read PATH (the main file, or one an include named) into L->c. */
static int load_file(struct load_ctx *L, const char *path)
{
	struct cfg *c = L->c;
	const char *name = path;
	if (L->depth > 0) { /* the included file's name lives as long as the configuration */
		if (cfg_list_add(&c->files, path) < 0)
			return fail(L->err, L->errlen, "%s: out of memory", path);
		name = c->files.v[c->files.n - 1];
	}
	struct file_ctx fc = { .path = name }, *outer = L->file;
	const char *outer_file = c->cur_file;
	FILE *f = fopen(path, "r");
	if (!f)
		return fail(L->err, L->errlen, "%s: %s", path, strerror(errno));
	L->file = &fc;
	c->cur_file = name;
	int rc = scan_sections(f, L);
	if (rc == 0) {
		int r = ini_parse_file(f, handler, L);
		if (L->failed)
			rc = -1;
		else if (r > 0)
			rc = fail(L->err, L->errlen, "%s:%d: syntax error (expected 'name = value' or '[section]')", name, r);
		else if (r < 0)
			rc = fail(L->err, L->errlen, "%s: cannot parse (out of memory)", name);
	}
	fclose(f);
	L->file = outer;
	c->cur_file = outer_file;
	return rc;
}

int cfg_load(const char *path, struct cfg *c, int inetd, char *err, size_t errlen)
{
	struct load_ctx L = { .c = c, .err = err, .errlen = errlen };
	cfg_init(c, path);
	c->inetd = inetd;
#if HAVE_DECL_INI_MAX_LINE
	ini_max_line = INI_LINE_BUF;
	ini_allow_multiline = 0;
	ini_allow_inline_comments = 0;
	ini_stop_on_first_error = 1;
#endif
	c->cur_file = c->file;
	if (load_file(&L, c->file) < 0)
		goto err0;
	c->cur_file = NULL;
	for (size_t i = 0; i < L.nheaders; i++) {
		if (!L.headers[i].used) {
			fail(err, errlen, "%s:%d: section [%s] has no options", L.headers[i].file, L.headers[i].line,
			     L.headers[i].name);
			goto err0;
		}
	}
	if (cfg_finish(c, err, errlen) < 0)
		goto err0;
	free(L.slots);
	free(L.headers);
	return 0;
err0:
	free(L.slots);
	free(L.headers);
	cfg_free(c);
	return -1;
}
