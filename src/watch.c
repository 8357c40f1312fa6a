/* The directories reloadOnChange watches (see watch.h). */
#include "watch.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

/* What changes a file: written and closed, written to (a slow writer pushes the quiet time on), renamed in
 * or out, created, deleted, its mode changed; the directory itself removed or renamed. */
#define WATCH_MASK (IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB | \
		    IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

struct watch_dir {
	int wd;
	char *path;
	int any;      /* every entry matters (CApath, CRLpath, include) */
	char **names; /* else these entries */
	int nnames;
};

void watch_init(struct watch *w)
{
	w->fd = -1;
	w->dirs = NULL;
	w->n = 0;
}

static void dir_free(struct watch_dir *d)
{
	for (int i = 0; i < d->nnames; i++)
		free(d->names[i]);
	free(d->names);
	free(d->path);
}

static void dirs_free(struct watch_dir *dirs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dir_free(&dirs[i]);
	free(dirs);
}

void watch_free(struct watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	dirs_free(w->dirs, w->n);
	watch_init(w);
}

/* The set being built: its directories, and the first failures. */
struct building {
	struct watch *w;
	struct watch_dir *dirs;
	size_t n;
	int skipped, oom;
	char *why;
	size_t len;
};

static void split(const char *path, char dir[PATH_MAX], char name[NAME_MAX + 1]);

/* Watch DIR for NAME (NULL: every entry). A DIR that does not exist (yet, or any more) is waited for in
 * its nearest existing ancestor: its making there changes the set, and the reload re-arms it. */
static void add(struct building *b, const char *dir, const char *name)
{
	int wd = inotify_add_watch(b->w->fd, dir, WATCH_MASK);
	if (wd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
		char parent[PATH_MAX], comp[NAME_MAX + 1];
		split(dir, parent, comp);
		if (strcmp(parent, dir) != 0) {
			add(b, parent, comp);
			return;
		}
	}
	if (wd < 0) {
		size_t used = strlen(b->why);
		if (used < b->len)
			snprintf(b->why + used, b->len - used, "%s%s: %s", used ? "; " : "", dir, strerror(errno));
		b->skipped++;
		return;
	}
	struct watch_dir *d = NULL;
	for (size_t i = 0; i < b->n && !d; i++) /* the kernel gives one directory one wd */
		if (b->dirs[i].wd == wd)
			d = &b->dirs[i];
	if (!d) {
		struct watch_dir *n = realloc(b->dirs, (b->n + 1) * sizeof(*n));
		if (!n || !(n[b->n].path = strdup(dir))) {
			b->dirs = n ? n : b->dirs;
			b->oom = 1;
			return;
		}
		b->dirs = n;
		d = &n[b->n++];
		d->wd = wd;
		d->any = 0;
		d->names = NULL;
		d->nnames = 0;
	}
	if (!name) {
		d->any = 1;
		return;
	}
	for (int i = 0; i < d->nnames; i++)
		if (strcmp(d->names[i], name) == 0)
			return;
	char **n = realloc(d->names, (size_t)(d->nnames + 1) * sizeof(*n));
	if (!n || !(n[d->nnames] = strdup(name))) {
		d->names = n ? n : d->names;
		b->oom = 1;
		return;
	}
	d->names = n;
	d->nnames++;
}

/* PATH's directory and last component (a trailing '/' dropped). */
static void split(const char *path, char dir[PATH_MAX], char name[NAME_MAX + 1])
{
	char a[PATH_MAX], c[PATH_MAX];
	snprintf(a, sizeof(a), "%s", path);
	snprintf(c, sizeof(c), "%s", path);
	snprintf(dir, PATH_MAX, "%s", dirname(a));
	snprintf(name, NAME_MAX + 1, "%s", basename(c));
}

/* A file option: its entry in its directory, each symbolic link of a chain it starts (a -> b -> c: b
 * re-pointed; at most 40 as the kernel follows), and where it leads once every link, also of a directory
 * on the way, is resolved (edited in place there). */
static void add_file(struct building *b, const char *path)
{
	char dir[PATH_MAX], name[NAME_MAX + 1], real[PATH_MAX], cur[PATH_MAX], to[PATH_MAX];
	if (!path || !*path)
		return;
	split(path, dir, name);
	add(b, dir, name);
	snprintf(cur, sizeof(cur), "%s", path);
	for (int hop = 0; hop < 40; hop++) {
		ssize_t n = readlink(cur, to, sizeof(to) - 1);
		if (n < 0)
			break;
		to[n] = '\0';
		split(cur, dir, name);
		if (to[0] != '/' && snprintf(cur, sizeof(cur), "%s/%s", dir, to) >= (int)sizeof(cur))
			break;
		if (to[0] == '/')
			memcpy(cur, to, (size_t)n + 1);
		split(cur, dir, name);
		add(b, realpath(dir, real) ? real : dir, name);
	}
	if (realpath(path, real) && strcmp(real, path) != 0) {
		split(real, dir, name);
		add(b, dir, name);
	}
}

/* A directory option: every entry in it, and its own entry in its parent (the directory replaced whole). */
static void add_dir(struct building *b, const char *path)
{
	if (!path || !*path)
		return;
	add(b, path, NULL);
	add_file(b, path);
}

/* keyPasswordFile as keypass.c reads it: a name without '/' is a systemd credential when there are any. */
static void add_password_file(struct building *b, const char *file)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	char path[PATH_MAX];
	if (file && creds && *creds && !strchr(file, '/') &&
	    snprintf(path, sizeof(path), "%s/%s", creds, file) < (int)sizeof(path))
		file = path;
	add_file(b, file);
}

int watch_set(struct watch *w, const struct cfg *c, char *skipped, size_t len)
{
	skipped[0] = '\0';
	if (w->fd < 0 && (w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		snprintf(skipped, len, "inotify: %s", strerror(errno));
		return -1;
	}
	struct building b = { .w = w, .why = skipped, .len = len };
	add_file(&b, c->file);
	for (int i = 0; i < c->files.n; i++) /* the included ones */
		add_file(&b, c->files.v[i]);
	for (int i = 0; i < c->include_dirs.n; i++)
		add_dir(&b, c->include_dirs.v[i]);
	for (size_t i = 0; i < c->nsvc; i++) {
		const struct cfg_service *s = &c->svc[i];
		const char *files[] = { s->cert, s->key, s->cafile, s->crlfile, s->psk_secrets, s->ticket_key_file };
		for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++)
			add_file(&b, files[k]);
		add_password_file(&b, s->key_password_file);
		add_dir(&b, s->capath);
		add_dir(&b, s->crlpath);
	}
	/* the directories of the old set that the new one lacks */
	for (size_t i = 0; i < w->n; i++) {
		int kept = 0;
		for (size_t k = 0; k < b.n && !kept; k++)
			kept = b.dirs[k].wd == w->dirs[i].wd;
		if (!kept)
			inotify_rm_watch(w->fd, w->dirs[i].wd);
	}
	dirs_free(w->dirs, w->n);
	w->dirs = b.dirs;
	w->n = b.n;
	if (b.oom) {
		snprintf(skipped, len, "out of memory");
		return -1;
	}
	return b.skipped;
}

static const struct watch_dir *find(const struct watch *w, int wd)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->dirs[i].wd == wd)
			return &w->dirs[i];
	return NULL;
}

/* Does event E in D concern a watched entry? A name starting with ".." is a Kubernetes secret volume's
 * "..data" link or "..TIMESTAMP" directory: the watched files there are links through it. */
static int concerns(const struct watch_dir *d, const struct inotify_event *e)
{
	if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF))
		return 1;
	if (!e->len)
		return 0;
	if (d->any || strncmp(e->name, "..", 2) == 0)
		return 1;
	for (int i = 0; i < d->nnames; i++)
		if (strcmp(d->names[i], e->name) == 0)
			return 1;
	return 0;
}

int watch_changed(struct watch *w, char *what, size_t len)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int changed = 0;
	for (ssize_t n; (n = read(w->fd, buf, sizeof(buf))) > 0;) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			p += sizeof(*e) + e->len;
			if (e->mask & IN_Q_OVERFLOW) { /* events were lost: any of them may have mattered */
				if (!changed)
					snprintf(what, len, "(inotify queue overflow)");
				changed = 1;
				continue;
			}
			const struct watch_dir *d = find(w, e->wd);
			if (!d || !concerns(d, e) || changed)
				continue;
			snprintf(what, len, "%s%s%s", d->path, e->len ? "/" : "", e->len ? e->name : "");
			changed = 1;
		}
	}
	return changed;
}
