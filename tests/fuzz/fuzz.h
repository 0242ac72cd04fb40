/*
 * fuzz.h - what the libFuzzer harnesses of tests/fuzz share (docs/fuzzing.md).
 *
 * A broken invariant is reported like a crash (abort), so libFuzzer saves the input.
 */
#ifndef PYC_FUZZ_H
#define PYC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry points (it declares none). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond) \
	((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))

_Noreturn void fuzz_fail(const char *file, int line, const char *what);

/*
 * Split the input at NUL bytes into up to n C strings (absent ones are ""); the text after
 * the (n-1)th NUL, NULs included, is the last field, whose length goes to *last_len when
 * non-NULL. Returns the buffer the strings live in (free it), never NULL.
 */
char *fuzz_fields(const uint8_t *data, size_t size, const char **out, size_t n,
                  size_t *last_len);

/* A private directory for this process, made on first use (on tmpfs when there is one, so
 * the fsyncs of atomic writes stay cheap), removed at exit. */
const char *fuzz_scratch_dir(void);

/* Replace dir/name with len bytes; aborts when the file system refuses. */
void fuzz_write_file(const char *dir, const char *name, const void *data, size_t len);

#endif
