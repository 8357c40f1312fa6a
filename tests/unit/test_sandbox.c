/* Unit tests for src/sandbox.c without the kernel: the plan a configuration gives, and what a reload is
 * refused for once that plan is in force (files outside its directories, new accept or connect ports). */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/landlock.h>

#include "cfg_helpers.h"
#include "sandbox.h"

/* Directories outside /tmp, under /var/tmp (not the build directory, which a fresh clone may have under
 * /tmp): the temporary configuration files are in /tmp, and their directory is allowed (a reload reads
 * the configuration again), which would allow everything beneath it. */
static char top[PATH_MAX], in[PATH_MAX + 8], out[PATH_MAX + 8];

static void touch(const char *dir, const char *name)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
}

static void setup(void)
{
	char tmpl[] = "/var/tmp/tlswrap-sandbox-test.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	ck_assert_ptr_nonnull(realpath(tmpl, top));
	snprintf(in, sizeof(in), "%s/in", top);
	snprintf(out, sizeof(out), "%s/out", top);
	ck_assert_int_eq(mkdir(in, 0700), 0);
	ck_assert_int_eq(mkdir(out, 0700), 0);
	touch(in, "a.pem");
	touch(in, "new.pem");
	touch(out, "b.pem");
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	ck_assert_int_eq(system(cmd), 0);
}

/* A configuration of one server service with CERT, accepting on ACCEPT, connecting to CONNECT. */
static void conf(struct cfg *c, const char *dir, const char *cert, const char *accept, const char *connect)
{
	char text[PATH_MAX * 2];
	snprintf(text, sizeof(text), "[web]\naccept = %s\nconnect = %s\ncert = %s/%s\n", accept, connect, dir, cert);
	load_ok(text, c);
}

/* SB planned from the first configuration, as if applied with the filesystem and network parts. */
static void plan(struct sandbox *sb)
{
	struct cfg c;
	struct sandbox_start st = { .pid_dirfd = -1 };
	conf(&c, in, "a.pem", "127.0.0.1:8443", "127.0.0.1:80");
	ck_assert_int_eq(sandbox_plan(sb, &c, &st), 0);
	cfg_free(&c);
	sb->fs = sb->net = sb->net_connect = 1;
}

static int reload(const struct sandbox *sb, const char *dir, const char *cert, const char *accept, const char *connect,
		  char *err)
{
	struct cfg c;
	conf(&c, dir, cert, accept, connect);
	int rc = sandbox_check_reload(sb, &c, err, CFG_ERRLEN);
	cfg_free(&c);
	return rc;
}

START_TEST(plan_reads_the_certificate_directory_and_keeps_the_ports)
{
	struct sandbox sb;
	plan(&sb);
	int found = 0;
	for (size_t i = 0; i < sb.nrules; i++)
		if (strcmp(sb.rules[i].path, in) == 0) {
			found = 1;
			ck_assert(sb.rules[i].access & LANDLOCK_ACCESS_FS_READ_FILE);
			ck_assert(!(sb.rules[i].access & LANDLOCK_ACCESS_FS_WRITE_FILE));
		}
	ck_assert_int_eq(found, 1);
	for (size_t i = 0; i < sb.nrules; i++)
		ck_assert_str_ne(sb.rules[i].path, out);
	ck_assert_int_eq(sb.nbind, 1);
	ck_assert_int_eq(sb.nconnect, 1); /* numeric addresses: no DNS port */
	sandbox_free(&sb);
}
END_TEST

START_TEST(reload_inside_passes)
{
	struct sandbox sb;
	char err[CFG_ERRLEN] = "";
	plan(&sb);
	ck_assert_int_eq(reload(&sb, in, "new.pem", "127.0.0.1:8443", "127.0.0.1:80", err), 0);
	ck_assert_int_eq(reload(&sb, in, "a.pem", "8443", "80", err), 0); /* same ports, other hosts */
	sandbox_free(&sb);
}
END_TEST

START_TEST(reload_outside_is_refused_naming_it)
{
	struct sandbox sb;
	char err[CFG_ERRLEN] = "", want[PATH_MAX + 200];
	plan(&sb);
	ck_assert_int_eq(reload(&sb, out, "b.pem", "127.0.0.1:8443", "127.0.0.1:80", err), -1);
	snprintf(want, sizeof(want), ":4: [web] cert %s/b.pem is outside the sandbox set at start (sandbox = yes); "
		 "restart tlswrap to use it", out);
	ck_assert_msg(strstr(err, want), "got: %s", err);
	ck_assert_int_eq(reload(&sb, in, "a.pem", "127.0.0.1:8444", "127.0.0.1:80", err), -1);
	ck_assert_msg(strstr(err, ":2: [web] accept port 8444 is outside the sandbox set at start"), "got: %s", err);
	ck_assert_int_eq(reload(&sb, in, "a.pem", "127.0.0.1:8443", "127.0.0.1:81", err), -1);
	ck_assert_msg(strstr(err, ":3: [web] connect port 81 is outside the sandbox set at start"), "got: %s", err);
	sandbox_free(&sb);
}
END_TEST

START_TEST(without_a_sandbox_in_force_anything_reloads)
{
	struct sandbox sb;
	char err[CFG_ERRLEN] = "";
	plan(&sb);
	sb.fs = sb.net = sb.net_connect = 0; /* sandbox = no, or a kernel without Landlock */
	ck_assert_int_eq(reload(&sb, out, "b.pem", "127.0.0.1:8444", "127.0.0.1:81", err), 0);
	sb.net = sb.net_connect = 1; /* a kernel with filesystem rules only: ports are checked, files not */
	ck_assert_int_eq(reload(&sb, out, "b.pem", "127.0.0.1:8443", "127.0.0.1:80", err), 0);
	sandbox_free(&sb);
}
END_TEST

/* A directory deleted and made again is another inode, which Landlock's rule (bound to the old one when
 * applied, and holding it: here a descriptor stands in for that) does not cover: refused, saying so. */
START_TEST(reload_from_a_directory_made_again_is_refused_saying_so)
{
	struct sandbox sb;
	char err[CFG_ERRLEN] = "", want[PATH_MAX * 2 + 200], cmd[PATH_MAX + 32];
	struct stat st;
	plan(&sb);
	int held = open(in, O_PATH | O_CLOEXEC);
	ck_assert_int_ge(held, 0);
	for (size_t i = 0; i < sb.nrules; i++)
		if (stat(sb.rules[i].path, &st) == 0) {
			sb.rules[i].seen = 1;
			sb.rules[i].dev = st.st_dev;
			sb.rules[i].ino = st.st_ino;
		}
	ck_assert_int_eq(reload(&sb, in, "new.pem", "127.0.0.1:8443", "127.0.0.1:80", err), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", in);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(mkdir(in, 0700), 0);
	touch(in, "new.pem");
	ck_assert_int_eq(reload(&sb, in, "new.pem", "127.0.0.1:8443", "127.0.0.1:80", err), -1);
	snprintf(want, sizeof(want), ":4: [web] cert %s/new.pem: directory %s was replaced since start; the sandbox "
		 "(sandbox = yes) keeps the one it saw: restart tlswrap to use the new one", in, in);
	ck_assert_msg(strstr(err, want), "got: %s", err);
	close(held);
	sandbox_free(&sb);
}
END_TEST

/* A certificate that is a link: the link's directory as well as its target's (a Kubernetes secret
 * volume flips its ..data link to a new directory beside the old one). */
START_TEST(plan_reads_the_directory_of_a_link_and_of_its_target)
{
	char dir[PATH_MAX + 16], v1[PATH_MAX + 32], link[PATH_MAX + 48];
	snprintf(dir, sizeof(dir), "%s/k8s", top);
	snprintf(v1, sizeof(v1), "%s/..v1", dir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(mkdir(v1, 0700), 0);
	touch(v1, "tls.crt");
	snprintf(link, sizeof(link), "%s/..data", dir);
	ck_assert_int_eq(symlink("..v1", link), 0);
	snprintf(link, sizeof(link), "%s/tls.crt", dir);
	ck_assert_int_eq(symlink("..data/tls.crt", link), 0);
	struct cfg c;
	struct sandbox sb;
	struct sandbox_start st = { .pid_dirfd = -1 };
	conf(&c, dir, "tls.crt", "127.0.0.1:8443", "127.0.0.1:80");
	ck_assert_int_eq(sandbox_plan(&sb, &c, &st), 0);
	cfg_free(&c);
	int found = 0;
	for (size_t i = 0; i < sb.nrules; i++)
		found |= (strcmp(sb.rules[i].path, dir) == 0) | (strcmp(sb.rules[i].path, v1) == 0) << 1;
	ck_assert_int_eq(found, 3);
	sandbox_free(&sb);
}
END_TEST

START_TEST(sandbox_off_applies_nothing)
{
	struct sandbox sb;
	char line[512];
	plan(&sb);
	sb.fs = sb.net = sb.net_connect = 0;
	ck_assert_int_eq(sandbox_apply(&sb, 0, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "sandbox: not applied (sandbox = no)");
	ck_assert_int_eq(sb.fs, 0);
	ck_assert_int_eq(sb.net, 0);
	sandbox_free(&sb);
}
END_TEST

/* OCSP = URL: the responder's port may be connected to, and a reload that names another is refused;
 * OCSPaia = yes: responders are named by certificates, on any port, so outgoing TCP is left open */
START_TEST(ocsp_responders)
{
	struct sandbox sb;
	struct cfg c;
	struct sandbox_start st = { .pid_dirfd = -1 };
	char text[PATH_MAX * 2], err[CFG_ERRLEN] = "";
	const char *fmt = "[web]\nclient = yes\naccept = 127.0.0.1:8443\nconnect = 127.0.0.1:443\nCAfile = %s/a.pem\n"
			  "verifyChain = yes\n%s\n";
	snprintf(text, sizeof(text), fmt, in, "OCSP = http://127.0.0.1:8888/ocsp");
	load_ok(text, &c);
	ck_assert_int_eq(sandbox_plan(&sb, &c, &st), 0);
	cfg_free(&c);
	ck_assert_str_eq(sb.aia, "");
	sb.fs = sb.net = sb.net_connect = 1;
	snprintf(text, sizeof(text), fmt, in, "OCSP = http://127.0.0.1:8888/other");
	load_ok(text, &c);
	ck_assert_int_eq(sandbox_check_reload(&sb, &c, err, sizeof(err)), 0);
	cfg_free(&c);
	snprintf(text, sizeof(text), fmt, in, "OCSP = http://127.0.0.1:8889/ocsp");
	load_ok(text, &c);
	ck_assert_int_eq(sandbox_check_reload(&sb, &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "[web] OCSP responder port 8889 is outside the sandbox set at start"), "got: %s", err);
	cfg_free(&c);
	snprintf(text, sizeof(text), fmt, in, "OCSPaia = yes");
	load_ok(text, &c);
	ck_assert_int_eq(sandbox_check_reload(&sb, &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "[web] OCSPaia = yes needs outgoing connections to any port"), "got: %s", err);
	sandbox_free(&sb);
	ck_assert_int_eq(sandbox_plan(&sb, &c, &st), 0);
	cfg_free(&c);
	ck_assert_str_eq(sb.aia, "web");
	sandbox_free(&sb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("plan and reload");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, plan_reads_the_certificate_directory_and_keeps_the_ports);
	tcase_add_test(tc, reload_inside_passes);
	tcase_add_test(tc, reload_outside_is_refused_naming_it);
	tcase_add_test(tc, without_a_sandbox_in_force_anything_reloads);
	tcase_add_test(tc, reload_from_a_directory_made_again_is_refused_saying_so);
	tcase_add_test(tc, plan_reads_the_directory_of_a_link_and_of_its_target);
	tcase_add_test(tc, sandbox_off_applies_nothing);
	tcase_add_test(tc, ocsp_responders);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
