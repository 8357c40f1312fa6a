/* reloadOnChange: inotify watches on the directories of the files a configuration names. Watching the
 * directories, not the files, sees a file renamed into place (certbot, editors, `mv new old`), a symbolic
 * link replaced (certbot's live/ links, the "..data" flip of a Kubernetes secret volume) and a file created
 * where none was. The control thread owns the set (control.c). */
#ifndef TLSWRAP_WATCH_H
#define TLSWRAP_WATCH_H

#include <stddef.h>

#include "config.h"

struct watch_dir;

struct watch {
	int fd;                 /* the inotify instance, or -1 */
	struct watch_dir *dirs; /* one per watched directory */
	size_t n;
};

/* watch_init: an empty set (no fd yet). */
void watch_init(struct watch *w);

/* watch_set: make W watch what C names, relative names taken from the current directory: the configuration
 * file and its included files and `include` directories; each service's cert, key, keyPasswordFile, CAfile,
 * CRLfile, PSKsecrets and ticketKeyFile (the entry of that name in its directory, and the file a symbolic
 * link there leads to in its own); CApath and CRLpath (every entry). Directories no longer named are
 * dropped. Returns the number of directories that could not be watched (named in SKIPPED, LEN bytes, as
 * "DIR: reason; ..."), or -1 with the reason in SKIPPED when inotify itself failed. */
int watch_set(struct watch *w, const struct cfg *c, char *skipped, size_t len);

/* watch_changed: read the events waiting on W's fd: 1 when one concerns a watched entry (its path into WHAT,
 * LEN bytes), 0 when none did. */
int watch_changed(struct watch *w, char *what, size_t len);

/* watch_free: close W's fd and forget every watch; W may be set again. */
void watch_free(struct watch *w);

#endif
