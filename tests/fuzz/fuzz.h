/* Shared by the libFuzzer targets (tests/fuzz/README.md): each feeds LLVMFuzzerTestOneInput's bytes to one
 * parser of outside input and checks what the parser's header promises about the result. */
#ifndef TLSWRAP_FUZZ_H
#define TLSWRAP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken promise is a finding: abort, so libFuzzer saves the input. */
#define FUZZ_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: fuzz assertion failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* DATA as a NUL-terminated string the caller frees (bytes after an embedded NUL are then invisible to
 * C-string parsers, as they would be in the program). */
static inline char *fuzz_strdup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* STR is terminated within LEN bytes. */
static inline int fuzz_terminated(const char *str, size_t len)
{
	return memchr(str, '\0', len) != NULL;
}



/* A file holding DATA, named by the returned path ("/proc/self/fd/N", a memfd that leaves nothing on disk
 * and is rewritten on each call), for parsers that take a path. Mode 0600, as secrets files must be. */
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
static inline const char *fuzz_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		if ((fd = memfd_create("fuzz", 0)) < 0 || fchmod(fd, 0600) < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	return path;
}

#endif
