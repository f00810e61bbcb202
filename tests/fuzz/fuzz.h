/*
 * Helpers shared by the libFuzzer targets in this folder.  Each target
 * defines LLVMFuzzerTestOneInput(); FUZZ_ASSERT stops the run with a
 * message and abort(), which libFuzzer reports as a crash and saves the
 * input that caused it.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: assertion failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* Copy size bytes into a new NUL-terminated string, for parsers that take
 * C strings.  Aborts when memory runs out, which libFuzzer's RSS limit
 * prevents in practice. */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* An error buffer must contain a NUL-terminated reason after a rejection. */
static inline int
fuzz_reason_ok(const char *err, size_t errlen)
{
	return memchr(err, '\0', errlen) != NULL && err[0] != '\0';
}

#endif
