/* Growable NUL-terminated buffer: see include/pyc/buf.h. */
#include "pyc/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pyc_buf_grow(pyc_buf *b, size_t extra)
{
	if (extra > SIZE_MAX - b->len - 1)
		return PYC_ENOMEM;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p = realloc(b->ptr, cap);
	if (!p)
		return PYC_ENOMEM;
	b->ptr = p;
	b->cap = cap;
	return 0;
}

int pyc_buf_put(pyc_buf *b, const void *data, size_t n)
{
	if (pyc_buf_grow(b, n) < 0)
		return PYC_ENOMEM;
	if (n)
		memcpy(b->ptr + b->len, data, n);
	b->len += n;
	b->ptr[b->len] = '\0';
	return 0;
}

int pyc_buf_puts(pyc_buf *b, const char *s)
{
	return pyc_buf_put(b, s, strlen(s));
}

int pyc_buf_putc(pyc_buf *b, char c)
{
	return pyc_buf_put(b, &c, 1);
}

int pyc_buf_vprintf(pyc_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	va_copy(again, ap);
	char small[256];
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n < 0) {
		va_end(again);
		return PYC_EINVAL;
	}
	int rc;
	if ((size_t)n < sizeof(small)) {
		rc = pyc_buf_put(b, small, (size_t)n);
	} else if ((rc = pyc_buf_grow(b, (size_t)n)) == 0) {
		vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, again);
		b->len += (size_t)n;
	}
	va_end(again);
	return rc;
}

int pyc_buf_printf(pyc_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = pyc_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

int pyc_buf_sets(pyc_buf *b, const char *s)
{
	pyc_buf_clear(b);
	return pyc_buf_puts(b, s);
}

void pyc_buf_truncate(pyc_buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	b->ptr[len] = '\0';
}

void pyc_buf_clear(pyc_buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

const char *pyc_buf_cstr(const pyc_buf *b)
{
	return b->ptr ? b->ptr : "";
}

char *pyc_buf_detach(pyc_buf *b)
{
	char *p = b->ptr;
	b->ptr = NULL;
	b->len = b->cap = 0;
	return p;
}

void pyc_buf_dispose(pyc_buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
}
