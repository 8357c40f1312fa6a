/* Dropping privileges after start-up: chroot, setgid/setgroups, setuid — in that order, so each
 * step still has the rights the next needs. */
#include "privs.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int parse_id(const char *s, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > 0x7fffffffUL)
		return -1;
	*out = v;
	return 0;
}

int privs_resolve(const char *user, const char *group, struct privs *p, char *err, size_t errlen)
{
	unsigned long id;
	memset(p, 0, sizeof(*p));
	if (user) {
		const struct passwd *pw = getpwnam(user);
		if (!pw && parse_id(user, &id) == 0)
			pw = getpwuid((uid_t)id);
		if (pw) {
			p->uid = pw->pw_uid;
			p->gid = pw->pw_gid;
			p->has_gid = 1;
		} else if (parse_id(user, &id) == 0) {
			if (!group) { /* no primary group known: staying in root's group is not dropping privileges */
				snprintf(err, errlen, "setuid %s has no passwd entry: give setgid too", user);
				return -1;
			}
			p->uid = (uid_t)id;
		} else {
			snprintf(err, errlen, "setuid: no user '%s'", user);
			return -1;
		}
		p->has_uid = 1;
	}
	if (group) {
		const struct group *gr = getgrnam(group);
		if (gr)
			p->gid = gr->gr_gid;
		else if (parse_id(group, &id) == 0)
			p->gid = (gid_t)id;
		else {
			snprintf(err, errlen, "setgid: no group '%s'", group);
			return -1;
		}
		p->has_gid = 1;
	}
	return 0;
}

int privs_drop(const char *dir, const struct privs *p, char *err, size_t errlen)
{
	if (dir && (chroot(dir) < 0 || chdir("/") < 0)) {
		snprintf(err, errlen, "chroot %s: %s", dir, strerror(errno));
		return -1;
	}
	if (p->has_gid && (setgroups(1, &p->gid) < 0 || setgid(p->gid) < 0)) {
		snprintf(err, errlen, "setgid %lu: %s", (unsigned long)p->gid, strerror(errno));
		return -1;
	}
	if (p->has_uid && setuid(p->uid) < 0) {
		snprintf(err, errlen, "setuid %lu: %s", (unsigned long)p->uid, strerror(errno));
		return -1;
	}
	/* a process that could take root back has not dropped anything */
	if (p->has_uid && p->uid != 0 && setuid(0) == 0) {
		snprintf(err, errlen, "setuid %lu: root could be regained", (unsigned long)p->uid);
		return -1;
	}
	return 0;
}

int privs_exposed(const char *path)
{
	struct stat st;
	return path && stat(path, &st) == 0 && (st.st_mode & S_IROTH);
}
