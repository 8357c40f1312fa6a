/* Unit tests for src/resolve.c: answers reach the loop, and a cancelled request's callback never runs. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "resolve.h"

static struct loop *L;
static struct resolver *R;
static struct loop_timer stop_timer;

static void setup(void)
{
	ck_assert_ptr_nonnull(L = loop_new());
	ck_assert_ptr_nonnull(R = resolve_new(L));
	memset(&stop_timer, 0, sizeof(stop_timer));
}

static void teardown(void)
{
	loop_timer_cancel(&stop_timer);
	resolve_free(R);
	loop_free(L);
}

static void stop_loop(void *ctx)
{
	loop_stop(ctx);
}

/* Run the loop until a callback stops it, or 2 s pass. */
static void run(void)
{
	loop_timer_arm(L, &stop_timer, loop_tq_get(L, 2000), stop_loop, L);
	ck_assert_int_eq(loop_run(L), 0);
}

struct answer {
	int calls;
	size_t n;
	struct resolve_req *cancel; /* cancelled by this callback */
	int stop;                   /* this callback stops the loop */
};

static void on_answer(void *ctx, struct resolve_addr *addrs, size_t n, const char *why)
{
	struct answer *a = ctx;
	a->calls++;
	a->n = n;
	free(addrs);
	if (a->cancel)
		resolve_cancel(R, a->cancel);
	if (a->stop)
		loop_stop(L);
	(void)why;
}

static const char *const host[] = { "127.0.0.1" }, *const port[] = { "443" };

START_TEST(answer_arrives)
{
	struct answer a = { .stop = 1 };
	ck_assert_ptr_nonnull(resolve_start(R, host, port, 1, on_answer, &a));
	run();
	ck_assert_int_eq(a.calls, 1);
	ck_assert_uint_eq(a.n, 1);
}
END_TEST

START_TEST(cancelled_before_the_answer)
{
	struct answer a = { 0 }, b = { .stop = 1 };
	struct resolve_req *qa = resolve_start(R, host, port, 1, on_answer, &a);
	ck_assert_ptr_nonnull(qa);
	resolve_cancel(R, qa);
	ck_assert_ptr_nonnull(resolve_start(R, host, port, 1, on_answer, &b));
	run();
	ck_assert_int_eq(a.calls, 0);
	ck_assert_int_eq(b.calls, 1);
}
END_TEST

/* Two answers delivered together: the first one's callback cancels the second (its connection ended), whose
 * callback must then not run, though the batch was taken off the done list before. */
START_TEST(cancelled_by_an_earlier_callback_of_the_batch)
{
	struct answer a = { .stop = 1 }, b = { .stop = 1 };
	struct resolve_req *qa = resolve_start(R, host, port, 1, on_answer, &a);
	ck_assert_ptr_nonnull(qa);
	struct resolve_req *qb = resolve_start(R, host, port, 1, on_answer, &b);
	ck_assert_ptr_nonnull(qb);
	/* numeric lookups take microseconds: both answers are on the done list before the loop first looks, so
	 * they come in one batch (were one late, the test would pass without testing the batch) */
	usleep(300 * 1000);
	a.cancel = qb; /* whichever callback runs first cancels the other */
	b.cancel = qa;
	run();
	ck_assert_int_eq(a.calls + b.calls, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("resolve");
	TCase *tc = tcase_create("answers");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, answer_arrives);
	tcase_add_test(tc, cancelled_before_the_answer);
	tcase_add_test(tc, cancelled_by_an_earlier_callback_of_the_batch);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
