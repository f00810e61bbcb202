/*
 * libFuzzer target for proto/b64url.c.  Decoding is strict, so every text
 * that decodes is the one canonical encoding of its bytes: encoding the
 * result must give the input back.  In the other direction, the input
 * bytes must encode to a text that decodes to them.
 */
#include "b64url.h"
#include "fuzz.h"

static void
fuzz_decode_then_encode(const uint8_t *data, size_t size)
{
	uint8_t *bytes;
	size_t len;
	char *text;

	if (b64url_decode((const char *)data, size, &bytes, &len) == -1) {
		FUZZ_ASSERT(bytes == NULL && len == 0);
		return;
	}
	FUZZ_ASSERT(bytes[len] == '\0');
	FUZZ_ASSERT(len == size * 3 / 4);

	text = b64url_encode(bytes, len);
	FUZZ_ASSERT(text != NULL);
	FUZZ_ASSERT(strlen(text) == size);
	FUZZ_ASSERT(memcmp(text, data, size) == 0);
	free(text);
	free(bytes);
}

static void
fuzz_encode_then_decode(const uint8_t *data, size_t size)
{
	uint8_t *bytes;
	size_t len;
	char *text;

	text = b64url_encode(data, size);
	FUZZ_ASSERT(text != NULL);
	FUZZ_ASSERT(strlen(text) == (size * 4 + 2) / 3);
	FUZZ_ASSERT(b64url_decode(text, strlen(text), &bytes, &len) == 0);
	FUZZ_ASSERT(len == size);
	FUZZ_ASSERT(size == 0 || memcmp(bytes, data, size) == 0);
	free(bytes);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_decode_then_encode(data, size);
	fuzz_encode_then_decode(data, size);
	return 0;
}
