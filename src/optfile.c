/* The files and directories that options name, checked for what they are before they are read. */
#include "optfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

FILE *optfile_open(const char *what, const char *path, char *err, size_t errlen)
{
	struct stat st;
	const char *why;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* NONBLOCK: a FIFO must not wait for a writer */
	if (fd < 0) {
		why = strerror(errno);
		goto err0;
	}
	if (fstat(fd, &st) < 0) {
		why = strerror(errno);
		goto err1;
	}
	if (!S_ISREG(st.st_mode)) {
		why = S_ISDIR(st.st_mode) ? "is a directory, not a file" : "not a regular file";
		goto err1;
	}
	FILE *f = fdopen(fd, "r");
	if (!f) {
		why = strerror(errno);
		goto err1;
	}
	return f;

err1:
	close(fd);
err0:
	snprintf(err, errlen, "%s %s: %s", what, path, why);
	return NULL;
}

int optfile_check(const char *what, const char *path, char *err, size_t errlen)
{
	FILE *f = optfile_open(what, path, err, errlen);
	if (!f)
		return -1;
	fclose(f);
	return 0;
}

int optfile_check_dir(const char *what, const char *path, char *err, size_t errlen)
{
	DIR *d = opendir(path);
	if (!d) {
		snprintf(err, errlen, "%s %s: %s", what, path, errno == ENOTDIR ? "not a directory" : strerror(errno));
		return -1;
	}
	closedir(d);
	return 0;
}
