/* Unit tests for src/config_load.c: reading files, `include = DIR`, section headers, line numbers. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg_helpers.h"
#include "config.h"

static char dir[64];

/* A fresh directory for the files of one test (removed by teardown). */
static void dir_setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tlswrap-inc-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void dir_teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Write TEXT to DIR/NAME (NAME may hold a subdirectory that exists); returns the path (static). */
static const char *put(const char *name, const char *text)
{
	static char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	ck_assert_msg(f != NULL, "%s: %s", p, strerror(errno));
	fputs(text, f);
	fclose(f);
	return p;
}

static int load_main(const char *text, struct cfg *c, char *err)
{
	char main_path[256];
	snprintf(main_path, sizeof(main_path), "%s", put("main.conf", text));
	return cfg_load(main_path, c, 0, err, CFG_ERRLEN);
}

START_TEST(include_reads_every_file_in_name_order)
{
	struct cfg c;
	char err[CFG_ERRLEN] = "", text[512];
	ck_assert_int_eq(mkdir(strcat(strcpy(text, dir), "/conf.d"), 0755), 0);
	put("conf.d/00-global.conf", "foreground = yes\ndebug = info\n");
	put("conf.d/02-b.conf", "[b]\n" SERVER "accept = 8444\n");
	put("conf.d/01-a.conf", "[a]\n" SERVER);
	put("conf.d/.hidden.conf", "TIMEOUTidle = 77\n"); /* stunnel reads hidden files too */
	snprintf(text, sizeof(text), "include = %s/conf.d\n", dir);
	ck_assert_msg(load_main(text, &c, err) == 0, "%s", err);
	ck_assert_int_eq(c.g.foreground, 1);
	ck_assert_int_eq(c.g.debug, 6);
	ck_assert_uint_eq(c.nsvc, 2);
	ck_assert_str_eq(c.svc[0].name, "a");
	ck_assert_str_eq(c.svc[1].name, "b");
	ck_assert_int_eq(c.svc[0].timeout_idle, 77); /* .hidden.conf came first: a default for both */
	ck_assert_msg(strstr(c.svc[1].file, "/conf.d/02-b.conf") != NULL, "[b] is from %s", c.svc[1].file);
	ck_assert_int_eq(c.svc[1].line, 1);
	cfg_free(&c);
}
END_TEST

START_TEST(include_continues_the_current_section)
{
	/* as in stunnel, included lines stand where the include is: options before any header in the
	 * included file go to the open section, and lines after the include to the last section opened */
	struct cfg c;
	char err[CFG_ERRLEN] = "", text[512];
	ck_assert_int_eq(mkdir(strcat(strcpy(text, dir), "/d"), 0755), 0);
	put("d/1.conf", "TIMEOUTidle = 11\n[b]\n" SERVER "accept = 8444\n");
	snprintf(text, sizeof(text), "[a]\n" SERVER "include = %s/d\nTIMEOUTclose = 22\n", dir);
	ck_assert_msg(load_main(text, &c, err) == 0, "%s", err);
	ck_assert_uint_eq(c.nsvc, 2);
	ck_assert_int_eq(c.svc[0].timeout_idle, 11);
	ck_assert_int_eq(c.svc[1].timeout_close, 22);
	ck_assert_int_eq(c.svc[0].timeout_close, 60);
	cfg_free(&c);
}
END_TEST

START_TEST(include_errors_name_the_included_file)
{
	struct cfg c;
	char err[CFG_ERRLEN] = "", text[512], want[300];
	ck_assert_int_eq(mkdir(strcat(strcpy(text, dir), "/d"), 0755), 0);
	put("d/10-svc.conf", "[a]\n" SERVER "\nbogus = 1\n");
	snprintf(text, sizeof(text), "foreground = yes\ninclude = %s/d\n", dir);
	ck_assert_int_eq(load_main(text, &c, err), -1);
	snprintf(want, sizeof(want), "%s/d/10-svc.conf:6: unknown option 'bogus'", dir);
	ck_assert_str_eq(err, want);
	/* an error found later, about an option set in an included file, names that file's line */
	put("d/10-svc.conf", "[a]\n" SERVER "verifyPeer = yes\n");
	ck_assert_int_eq(load_main(text, &c, err), -1);
	snprintf(want, sizeof(want), "%s/d/10-svc.conf:1: service [a]: verifyPeer needs CAfile", dir);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "got '%s'", err);
	/* a duplicate section across files names both */
	put("d/10-svc.conf", "[a]\n" SERVER);
	snprintf(text, sizeof(text), "[a]\n" SERVER "include = %s/d\n", dir);
	ck_assert_int_eq(load_main(text, &c, err), -1);
	snprintf(want, sizeof(want), "%s/d/10-svc.conf:1: duplicate section [a] (first at %s/main.conf:1)", dir, dir);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(include_missing_dir_and_loops)
{
	struct cfg c;
	char err[CFG_ERRLEN] = "", text[512], want[300];
	snprintf(text, sizeof(text), "foreground = yes\ninclude = %s/nope\n", dir);
	ck_assert_int_eq(load_main(text, &c, err), -1);
	snprintf(want, sizeof(want), "%s/main.conf:2: include %s/nope: %s", dir, dir, strerror(ENOENT));
	ck_assert_str_eq(err, want);
	/* a directory that includes itself stops with an error, not a crash */
	ck_assert_int_eq(mkdir(strcat(strcpy(text, dir), "/loop"), 0755), 0);
	snprintf(text, sizeof(text), "include = %s/loop\n", dir);
	put("loop/self.conf", text);
	ck_assert_int_eq(load_main(text, &c, err), -1);
	ck_assert_msg(strstr(err, "levels of include") != NULL, "got '%s'", err);
	/* subdirectories are skipped, files in them not read */
	snprintf(text, sizeof(text), "%s/d2", dir);
	ck_assert_int_eq(mkdir(text, 0755), 0);
	strcat(text, "/sub");
	ck_assert_int_eq(mkdir(text, 0755), 0);
	put("d2/sub/x.conf", "bogus = 1\n");
	put("d2/a.conf", "[a]\n" SERVER);
	snprintf(text, sizeof(text), "include = %s/d2\n", dir);
	ck_assert_msg(load_main(text, &c, err) == 0, "%s", err);
	cfg_free(&c);
}
END_TEST

START_TEST(long_lines_refused_with_their_number)
{
	/* longer than inih's buffer: refused at its own line, never split into two */
	size_t n = 20000;
	char *text = malloc(n + 100);
	strcpy(text, "[a]\n" SERVER "sni = ");
	size_t at = strlen(text);
	memset(text + at, 'x', n);
	strcpy(text + at + n, "\n[b]\n");
	expect_error_at(text, "sni = ", "line longer than 16383 characters");
	free(text);
}
END_TEST

/* A configuration whose line 5 is a comment of N characters ending in "[x]" (a section header if the
 * line were split), then TERM, then a line with an error. */
static char *long_comment(size_t n, const char *term)
{
	char *text = malloc(n + 200);
	strcpy(text, "[a]\n" SERVER "#");
	size_t at = strlen(text);
	memset(text + at, 'x', n - 4);
	strcpy(text + at + n - 4, "[x]");
	strcat(text, term);
	strcat(text, "bogus = 1\n");
	return text;
}

START_TEST(line_length_limit_is_exact)
{
	/* 16383 characters fit whatever ends the line: the error after it is on its own line, 6 */
	for (int crlf = 0; crlf <= 1; crlf++) {
		char *text = long_comment(16383, crlf ? "\r\n" : "\n");
		expect_error_at(text, "bogus", "unknown option 'bogus'");
		free(text);
		/* one more is refused at line 5 (the comment's), never split into a phantom [x] */
		text = long_comment(16384, crlf ? "\r\n" : "\n");
		expect_error_at(text, "#xx", "line longer than 16383 characters");
		free(text);
	}
}
END_TEST

START_TEST(many_sections_load)
{
	/* sections grow by doubling: thousands load at once */
	size_t n = 3000, cap = n * 100;
	char *text = malloc(cap), *p = text;
	for (size_t i = 0; i < n; i++)
		p += snprintf(p, cap - (size_t)(p - text), "[s%zu]\naccept = %zu\nconnect = 127.0.0.1:80\ncert = /c.pem\n", i,
			      10000 + i);
	struct cfg c;
	load_ok(text, &c);
	ck_assert_uint_eq(c.nsvc, n);
	ck_assert_str_eq(c.svc[n - 1].name, "s2999");
	cfg_free(&c);
	free(text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config_load");
	TCase *tc = tcase_create("include");
	tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_test(tc, include_reads_every_file_in_name_order);
	tcase_add_test(tc, include_continues_the_current_section);
	tcase_add_test(tc, include_errors_name_the_included_file);
	tcase_add_test(tc, include_missing_dir_and_loops);
	suite_add_tcase(s, tc);
	tc = tcase_create("lines");
	tcase_set_timeout(tc, 20); /* thousands of sections under ASan */
	tcase_add_test(tc, long_lines_refused_with_their_number);
	tcase_add_test(tc, line_length_limit_is_exact);
	tcase_add_test(tc, many_sections_load);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
