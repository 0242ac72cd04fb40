/*
 * pyc/buf.h - a growable byte buffer that is always NUL-terminated.
 *
 * Used for paths and output lines. A buffer is caller-owned: declare it with
 * PYC_BUF_INIT, use it, then pyc_buf_dispose() it. After any successful put the
 * contents are ptr[0..len) followed by a NUL, so ptr is usable as a C string
 * (bytes inside may be NUL for binary payloads). pyc_buf_cstr() never returns NULL.
 */
#ifndef PYC_BUF_H
#define PYC_BUF_H

#include "common.h"
#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pyc_buf {
	char *ptr;   /**< owned storage, NULL until the first put */
	size_t len;  /**< bytes in use, not counting the terminating NUL */
	size_t cap;  /**< bytes allocated */
} pyc_buf;

#define PYC_BUF_INIT { NULL, 0, 0 }

/** Make room for `extra` more bytes (plus the NUL). Returns 0 or PYC_ENOMEM. */
PYC_API int pyc_buf_grow(pyc_buf *b, size_t extra);
/** Append n bytes. Returns 0 or PYC_ENOMEM (the buffer is unchanged then). */
PYC_API int pyc_buf_put(pyc_buf *b, const void *data, size_t n);
/** Append a C string. */
PYC_API int pyc_buf_puts(pyc_buf *b, const char *s);
/** Append one byte. */
PYC_API int pyc_buf_putc(pyc_buf *b, char c);
/** Append printf-formatted text. */
PYC_API int pyc_buf_printf(pyc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
PYC_API int pyc_buf_vprintf(pyc_buf *b, const char *fmt, va_list ap);
/** Replace the contents with a C string. */
PYC_API int pyc_buf_sets(pyc_buf *b, const char *s);
/** Cut back to `len` bytes (len <= b->len). Keeps the allocation. */
PYC_API void pyc_buf_truncate(pyc_buf *b, size_t len);
/** Empty the buffer, keeping the allocation. */
PYC_API void pyc_buf_clear(pyc_buf *b);
/** The contents as a C string; "" for a buffer never written. Borrowed. */
PYC_API const char *pyc_buf_cstr(const pyc_buf *b);
/** Hand the storage to the caller (free() it) and reset the buffer. NULL if empty. */
PYC_API char *pyc_buf_detach(pyc_buf *b);
/** Free the storage and reset to PYC_BUF_INIT. */
PYC_API void pyc_buf_dispose(pyc_buf *b);

#ifdef __cplusplus
}
#endif
#endif
