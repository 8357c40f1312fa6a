/* Privileges: the user, group and chroot a daemon confines itself to once its sockets are bound. */
#ifndef TLSWRAP_PRIVS_H
#define TLSWRAP_PRIVS_H

#include <stddef.h>
#include <sys/types.h>

struct privs {
	uid_t uid;
	gid_t gid;
	int has_uid, has_gid;
};

/* privs_resolve: USER and GROUP (names or numbers; NULL = keep) into P, while /etc is still
 * reachable. A user without a group takes the user's primary group. Returns 0, or -1 with the
 * reason in ERR. */
int privs_resolve(const char *user, const char *group, struct privs *p, char *err, size_t errlen);

/* privs_drop: chroot into DIR (NULL = none), then take P's group (dropping supplementary groups)
 * and user. Irreversible. Returns 0, or -1 with the reason in ERR (the process must then exit). */
int privs_drop(const char *dir, const struct privs *p, char *err, size_t errlen);

/* privs_exposed: 1 when others may read PATH (a private key that must stay private), else 0. */
int privs_exposed(const char *path);

#endif
