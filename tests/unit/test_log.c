/* The log's rate limit (log.c): the burst per window, the level past it, the summary when the window ends
 * (on the next message of the kind, or on a flush with none), kinds kept apart, and exact counts across
 * threads. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static char logfile[64];

static void setup(void)
{
	snprintf(logfile, sizeof(logfile), "/tmp/tlswrap-test-log.XXXXXX");
	int fd = mkstemp(logfile);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(log_open(LOG_NOTICE, logfile, 0, 0), 0);
}

static void teardown(void)
{
	unlink(logfile);
}

/* The log file's text so far. */
static const char *logged(void)
{
	static char buf[65536];
	FILE *f = fopen(logfile, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

START_TEST(burst_then_info)
{
	for (int i = 0; i < LOG_LIMIT_BURST; i++)
		ck_assert_int_eq(log_limit_level_at("[a] failed", LOG_WARNING, 1000 + i), LOG_WARNING);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(log_limit_level_at("[a] failed", LOG_WARNING, 2000 + i), LOG_INFO);
	ck_assert_str_eq(logged(), ""); /* nothing summarised while the window runs */
	/* the next message after the window: the summary first, then a fresh burst */
	ck_assert_int_eq(log_limit_level_at("[a] failed", LOG_WARNING, 1000 + LOG_LIMIT_WINDOW_MS), LOG_WARNING);
	ck_assert_ptr_nonnull(strstr(logged(), "WARN [a] failed: 5 more like this in the last 10 s"));
	ck_assert_int_eq(count(logged(), "more like this"), 1);
}
END_TEST

START_TEST(info_never_limited)
{
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(log_limit_level_at("[a] closed", LOG_INFO, 1000), LOG_INFO);
		ck_assert_int_eq(log_limit_level_at("[a] closed", LOG_DEBUG, 1000), LOG_DEBUG);
	}
	ck_assert_int_eq(log_limit_flush_at(1000 + LOG_LIMIT_WINDOW_MS, 1), 0);
	ck_assert_str_eq(logged(), "");
}
END_TEST

START_TEST(kinds_apart)
{
	for (int i = 0; i < LOG_LIMIT_BURST + 3; i++)
		log_limit_level_at("[a] failed (handshake)", LOG_ERR, 1000);
	/* another kind, or the same cause on another service, has a burst of its own */
	ck_assert_int_eq(log_limit_level_at("[a] failed (verify)", LOG_ERR, 1001), LOG_ERR);
	ck_assert_int_eq(log_limit_level_at("[b] failed (handshake)", LOG_ERR, 1001), LOG_ERR);
	ck_assert_int_eq(log_limit_level_at("[a] failed (handshake)", LOG_ERR, 1002), LOG_INFO);
	log_limit_flush_at(999999, 0);
	ck_assert_ptr_nonnull(strstr(logged(), "ERROR [a] failed (handshake): 4 more like this"));
	ck_assert_int_eq(count(logged(), "more like this"), 1); /* the kinds that held nothing back say nothing */
}
END_TEST

/* The window's end is summarised by a flush even when no message of the kind comes again */
START_TEST(flush_at_window_end)
{
	for (int i = 0; i < LOG_LIMIT_BURST + 412; i++)
		log_limit_level_at("[web] failed", LOG_NOTICE, 5000 + i);
	ck_assert_int_eq(log_limit_flush_at(5000 + LOG_LIMIT_WINDOW_MS - 1, 0), 1); /* still running, held back */
	ck_assert_str_eq(logged(), "");
	ck_assert_int_eq(log_limit_flush_at(5000 + LOG_LIMIT_WINDOW_MS, 0), 0);
	ck_assert_ptr_nonnull(strstr(logged(), "NOTICE [web] failed: 412 more like this in the last 10 s"));
	ck_assert_int_eq(log_limit_flush_at(5000 + 3 * LOG_LIMIT_WINDOW_MS, 1), 0); /* summarised once */
	ck_assert_int_eq(count(logged(), "more like this"), 1);
}
END_TEST

START_TEST(flush_forced)
{
	for (int i = 0; i < LOG_LIMIT_BURST + 1; i++)
		log_limit_level_at("[web] failed", LOG_NOTICE, 5000);
	ck_assert_int_eq(log_limit_flush_at(5001, 1), 0);
	ck_assert_ptr_nonnull(strstr(logged(), "[web] failed: 1 more like this"));
}
END_TEST

/* Kinds that share a slot: the newcomer summarises the tenant, so no count is lost */
START_TEST(many_kinds)
{
	char kind[64];
	int held = 0;
	for (int k = 0; k < 500; k++) {
		snprintf(kind, sizeof(kind), "[s%d] failed", k);
		for (int i = 0; i < LOG_LIMIT_BURST + 2; i++)
			log_limit_level_at(kind, LOG_WARNING, 1000);
		held += 2;
	}
	log_limit_flush_at(1000, 1);
	int summed = 0;
	for (const char *p = logged(); (p = strstr(p, " failed: ")); p++)
		summed += atoi(p + strlen(" failed: "));
	ck_assert_int_eq(summed, held);
}
END_TEST

static void *hammer(void *arg)
{
	int *shown = arg;
	for (int i = 0; i < 5000; i++)
		if (log_limit_level_at("[t] failed", LOG_WARNING, 1000) == LOG_WARNING)
			(*shown)++;
	return NULL;
}

START_TEST(threads_count_exactly)
{
	pthread_t t[4];
	int shown[4] = { 0 };
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, &shown[i]);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(shown[0] + shown[1] + shown[2] + shown[3], LOG_LIMIT_BURST);
	log_limit_flush_at(1000, 1);
	char want[100];
	snprintf(want, sizeof(want), "[t] failed: %d more like this", 4 * 5000 - LOG_LIMIT_BURST);
	ck_assert_ptr_nonnull(strstr(logged(), want));
}
END_TEST

static int woken;
static void wake(void *arg)
{
	(void)arg;
	woken++;
}

/* The wake-up comes once per window that starts holding back, not per message */
START_TEST(wake_once_per_window)
{
	log_limit_set_wake(wake, NULL);
	for (int i = 0; i < LOG_LIMIT_BURST + 50; i++)
		log_limit_level_at("[w] failed", LOG_WARNING, 1000);
	ck_assert_int_eq(woken, 1);
	for (int i = 0; i < LOG_LIMIT_BURST + 50; i++)
		log_limit_level_at("[w] failed", LOG_WARNING, 1000 + LOG_LIMIT_WINDOW_MS);
	ck_assert_int_eq(woken, 2);
	log_limit_set_wake(NULL, NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("ratelimit");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, burst_then_info);
	tcase_add_test(tc, info_never_limited);
	tcase_add_test(tc, kinds_apart);
	tcase_add_test(tc, flush_at_window_end);
	tcase_add_test(tc, flush_forced);
	tcase_add_test(tc, many_kinds);
	tcase_add_test(tc, threads_count_exactly);
	tcase_add_test(tc, wake_once_per_window);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
