/* Helpers shared by the configuration unit tests (see cfg_helpers.h). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg_helpers.h"

/* Path of the last temporary config, for the "path:line:" part of messages. */
char path[64];

/* Write TEXT to a new file in /tmp and cfg_load it into C; the file is gone on return. */
int load_str_mode(const char *text, struct cfg *c, int inetd, char *err)
{
	snprintf(path, sizeof(path), "/tmp/tlswrap-test-XXXXXX");
	int fd = mkstemp(path);
	ck_assert_msg(fd >= 0, "mkstemp: %s", strerror(errno));
	size_t len = strlen(text);
	ssize_t w = write(fd, text, len);
	close(fd);
	if (w != (ssize_t)len) {
		unlink(path);
		ck_abort_msg("write %s: %s", path, strerror(errno));
	}
	int r = cfg_load(path, c, inetd, err, CFG_ERRLEN);
	unlink(path);
	return r;
}

int load_str(const char *text, struct cfg *c, char *err)
{
	return load_str_mode(text, c, 0, err);
}

/* Load TEXT, which must be valid, into C. */
void load_ok(const char *text, struct cfg *c)
{
	char err[CFG_ERRLEN] = "";
	ck_assert_msg(load_str(text, c, err) == 0, "cfg_load failed: %s", err);
}

/* The 1-based line of TEXT on which NEEDLE first appears. */
int line_of(const char *text, const char *needle)
{
	const char *at = strstr(text, needle);
	ck_assert_msg(at != NULL, "test bug: '%s' is not in the config text", needle);
	int line = 1;
	for (const char *p = text; p < at; p++)
		line += *p == '\n';
	return line;
}

/* Load TEXT expecting failure reported as "path:N: ...REASON..." where N is the line holding AT.
 * Also checks that cfg_load left the struct freed. */
void expect_error_at(const char *text, const char *at, const char *reason)
{
	struct cfg c;
	char err[CFG_ERRLEN] = "";
	int r = load_str(text, &c, err);
	if (r == 0)
		cfg_free(&c);
	ck_assert_msg(r == -1, "cfg_load succeeded; expected an error with '%s'", reason);
	ck_assert_msg(c.file == NULL && c.svc == NULL && c.nsvc == 0, "cfg_load did not free the config on error");

	size_t plen = strlen(path);
	ck_assert_msg(strncmp(err, path, plen) == 0 && err[plen] == ':', "message does not start with '%s:': '%s'",
		      path, err);
	char *end;
	long line = strtol(err + plen + 1, &end, 10);
	int want = line_of(text, at);
	ck_assert_msg(end != err + plen + 1 && strncmp(end, ": ", 2) == 0, "no 'line: ' after the path in '%s'", err);
	ck_assert_msg(line == want, "error on line %ld, expected %d: '%s'", line, want, err);
	ck_assert_msg(strstr(end, reason) != NULL, "expected '%s' in '%s'", reason, err);
}

