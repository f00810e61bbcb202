/*
 * A minimal unit test harness.  Each test is a function; CHECK records a
 * failure with file, line and the failed expression and goes on.  main()
 * ends with "N passed, N failed" so that CI reads the result.
 */
#ifndef TEST_H
#define TEST_H

#include <stdio.h>

static int test_failed_checks;
static int test_passed;
static int test_failed;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		test_failed_checks++;					\
	}								\
} while (0)

/* CHECK with a printf-style explanation printed on failure. */
#define CHECKF(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s: ",		\
		    __FILE__, __LINE__, #cond);				\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		test_failed_checks++;					\
	}								\
} while (0)

#define RUN(fn) do {							\
	int before_ = test_failed_checks;				\
	fn();								\
	if (test_failed_checks == before_) {				\
		test_passed++;						\
		printf("ok   %s\n", #fn);				\
	} else {							\
		test_failed++;						\
		printf("FAIL %s\n", #fn);				\
	}								\
} while (0)

#define TEST_SUMMARY() (printf("%d passed, %d failed\n", test_passed,	\
	test_failed), test_failed == 0 ? 0 : 1)

#endif
