/* Unit tests for src/notify.c: the datagrams a service manager would receive, and refusals. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"

static char dir[64], path[96];
static int listener = -1; /* plays the service manager */
static struct notify N = { .fd = -1 };

/* Bind a datagram socket at ADDR (ADDRLEN bytes) and point NOTIFY_SOCKET at it with ENV. */
static void listen_at(const struct sockaddr_un *addr, socklen_t addrlen, const char *env)
{
	listener = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(listener, 0);
	ck_assert_msg(bind(listener, (const struct sockaddr *)addr, addrlen) == 0, "bind: %s", strerror(errno));
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", env, 1), 0);
	ck_assert_int_eq(notify_open(&N), 0);
	ck_assert_int_ge(N.fd, 0);
}

static void setup_path(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(dir, sizeof(dir), "/tmp/test_notify.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	listen_at(&a, sizeof(a), path);
}

static void setup_abstract(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char env[64];
	int len = snprintf(env, sizeof(env), "@tlswrap-test-notify-%ld", (long)getpid());
	memcpy(a.sun_path + 1, env + 1, (size_t)len - 1); /* sun_path[0] stays NUL */
	listen_at(&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)len), env);
}

static void teardown(void)
{
	notify_close(&N);
	if (listener >= 0)
		close(listener);
	listener = -1;
	if (path[0]) {
		unlink(path);
		rmdir(dir);
		path[0] = '\0';
	}
	unsetenv("NOTIFY_SOCKET");
}

/* The next datagram, which must already be queued (a unix datagram is delivered by sendto). */
static const char *received(void)
{
	static char buf[8192];
	ssize_t r = recv(listener, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_msg(r >= 0, "no datagram: %s", strerror(errno));
	buf[r] = '\0';
	return buf;
}

static void assert_nothing_queued(void)
{
	char c;
	ck_assert_int_eq(recv(listener, &c, 1, MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, EAGAIN);
}

static uint64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

START_TEST(helpers_send_exact_datagrams)
{
	ck_assert_int_eq(notify_ready(&N), 0);
	ck_assert_str_eq(received(), "READY=1");
	ck_assert_int_eq(notify_stopping(&N), 0);
	ck_assert_str_eq(received(), "STOPPING=1");
	ck_assert_int_eq(notify_watchdog(&N), 0);
	ck_assert_str_eq(received(), "WATCHDOG=1");
	ck_assert_int_eq(notify_status(&N, "%d services, %s", 3, "serving"), 0);
	ck_assert_str_eq(received(), "STATUS=3 services, serving");
	ck_assert_int_eq(notify_status(&N, "two\nlines\n"), 0);
	ck_assert_str_eq(received(), "STATUS=two lines ");
	ck_assert_int_eq(notify_send(&N, "ERRNO=%d\nBUSERROR=%s", 5, "x.y"), 0);
	ck_assert_str_eq(received(), "ERRNO=5\nBUSERROR=x.y");
	assert_nothing_queued();
}
END_TEST

START_TEST(reloading_carries_monotonic_time)
{
	uint64_t before = now_usec();
	ck_assert_int_eq(notify_reloading(&N), 0);
	uint64_t after = now_usec();
	const char *m = received();
	const char *want = "RELOADING=1\nMONOTONIC_USEC=";
	ck_assert_msg(strncmp(m, want, strlen(want)) == 0, "got '%s'", m);
	const char *num = m + strlen(want);
	char *end;
	ck_assert(num[0] >= '1' && num[0] <= '9');
	unsigned long long usec = strtoull(num, &end, 10);
	ck_assert_msg(*end == '\0', "trailing '%s'", end);
	ck_assert_uint_ge(usec, before);
	ck_assert_uint_le(usec, after);
}
END_TEST

START_TEST(too_long_message_refused)
{
	static char big[5000];
	memset(big, 'x', sizeof(big) - 1);
	ck_assert_int_eq(notify_send(&N, "STATUS=%s", big), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	big[4095 - 7] = '\0'; /* "STATUS=" and the text: 4095 bytes, the most that fits */
	ck_assert_int_eq(notify_status(&N, "%s", big), 0);
	ck_assert_uint_eq(strlen(received()), 4095);
	assert_nothing_queued();
}
END_TEST

START_TEST(full_queue_does_not_block)
{
	/* nobody reads: the queue fills (net.unix.max_dgram_qlen) and sendto must fail, not wait */
	int i, r = 0;
	for (i = 0; i < 100000 && (r = notify_watchdog(&N)) == 0; i++)
		;
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_gt(i, 0);
}
END_TEST

START_TEST(gone_manager_is_an_error)
{
	close(listener);
	listener = -1;
	unlink(path);
	ck_assert_int_eq(notify_ready(&N), -1);
	ck_assert(errno == ENOENT || errno == ECONNREFUSED);
}
END_TEST

START_TEST(disabled_when_unset)
{
	unsetenv("NOTIFY_SOCKET");
	N.fd = 42; /* must be overwritten */
	ck_assert_int_eq(notify_open(&N), 0);
	ck_assert_int_eq(N.fd, -1);
	ck_assert_int_eq(notify_ready(&N), 0);
	ck_assert_int_eq(notify_reloading(&N), 0);
	ck_assert_int_eq(notify_stopping(&N), 0);
	ck_assert_int_eq(notify_watchdog(&N), 0);
	ck_assert_int_eq(notify_status(&N, "x"), 0);
	ck_assert_int_eq(notify_send(&N, "READY=1"), 0);
	notify_close(&N);
	ck_assert_int_eq(N.fd, -1);
}
END_TEST

static void refused(const char *value, int want_errno)
{
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", value, 1), 0);
	errno = 0;
	ck_assert_msg(notify_open(&N) == -1, "'%s' accepted", value);
	ck_assert_int_eq(errno, want_errno);
	ck_assert_int_eq(N.fd, -1);
}

static void accepted(const char *value)
{
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", value, 1), 0);
	ck_assert_msg(notify_open(&N) == 0, "'%s' refused: %s", value, strerror(errno));
	ck_assert_int_ge(N.fd, 0);
	notify_close(&N);
}

START_TEST(bad_addresses_refused)
{
	struct sockaddr_un a;
	char longest[sizeof(a.sun_path) + 2];

	refused("", EINVAL);
	refused("run/systemd/notify", EINVAL);
	refused("@", EINVAL);
	refused("vsock:2:1234", EINVAL);
	/* a path with its NUL must fit sun_path; an abstract name (after '@') fills it exactly */
	memset(longest, 'a', sizeof(longest));
	longest[0] = '/';
	longest[sizeof(a.sun_path)] = '\0';
	refused(longest, ENAMETOOLONG);
	longest[sizeof(a.sun_path) - 1] = '\0';
	accepted(longest);
	longest[0] = '@';
	longest[sizeof(a.sun_path) - 1] = 'a';
	longest[sizeof(a.sun_path)] = 'a';
	longest[sizeof(a.sun_path) + 1] = '\0';
	refused(longest, ENAMETOOLONG);
	longest[sizeof(a.sun_path)] = '\0';
	accepted(longest);
}
END_TEST

START_TEST(watchdog_usec)
{
	char pid[32];

	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
	ck_assert_uint_eq(notify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "30000000", 1);
	ck_assert_uint_eq(notify_watchdog_usec(), 30000000);
	const char *garbage[] = { "", "abc", "30s", "-5", " 5", "+5", "0", "99999999999999999999999" };
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		setenv("WATCHDOG_USEC", garbage[i], 1);
		ck_assert_msg(notify_watchdog_usec() == 0, "'%s' accepted", garbage[i]);
	}
	setenv("WATCHDOG_USEC", "30000000", 1);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	ck_assert_uint_eq(notify_watchdog_usec(), 0);
	setenv("WATCHDOG_PID", "garbage", 1);
	ck_assert_uint_eq(notify_watchdog_usec(), 0);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	ck_assert_uint_eq(notify_watchdog_usec(), 30000000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("notify");
	TCase *tp = tcase_create("path");
	tcase_add_checked_fixture(tp, setup_path, teardown);
	tcase_add_test(tp, helpers_send_exact_datagrams);
	tcase_add_test(tp, reloading_carries_monotonic_time);
	tcase_add_test(tp, too_long_message_refused);
	tcase_add_test(tp, full_queue_does_not_block);
	tcase_add_test(tp, gone_manager_is_an_error);
	suite_add_tcase(s, tp);
	TCase *ta = tcase_create("abstract");
	tcase_add_checked_fixture(ta, setup_abstract, teardown);
	tcase_add_test(ta, helpers_send_exact_datagrams);
	tcase_add_test(ta, reloading_carries_monotonic_time);
	tcase_add_test(ta, full_queue_does_not_block);
	suite_add_tcase(s, ta);
	TCase *te = tcase_create("environment");
	tcase_add_checked_fixture(te, NULL, teardown);
	tcase_add_test(te, disabled_when_unset);
	tcase_add_test(te, bad_addresses_refused);
	tcase_add_test(te, watchdog_usec);
	suite_add_tcase(s, te);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
