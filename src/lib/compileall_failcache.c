/*
 * compileall_failcache.c - remember sources that do not compile, so that a run over an
 * unchanged tree with broken files (the stdlib's own test data has 17) still starts no
 * interpreter: the stored error is reported again instead.
 *
 * A compile error is a pure function of the interpreter build, the source bytes, the name
 * compiled in (dfile), the file-system encoding that decodes dfile into the message, and
 * the optimisation levels. The key is a SipHash-1-3 over exactly those (the interpreter's
 * sys.executable, full version and magic; its file-system encoding; dfile; levels; the
 * source), so any change to the source, even one keeping mtime and size, misses.
 *
 * File: <cache>/pyc-tool/compile-failures, lines "KEY16HEX ERRORHEX\n", appended to;
 * emptied when it grows past FAILCACHE_MAX. Only syntax/encoding errors are stored, never
 * crashes or timeouts. Any problem with the file just means compiling again.
 */
#include "atomic_file_internal.h"
#include "compileall_internal.h"
#include "pyc/source_hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FAILCACHE_MAX (4u << 20)

typedef struct fc_entry {
	uint64_t key;
	char *text;
} fc_entry;

struct pyc_ca_failcache {
	char *file;
	fc_entry *entries;   /* sorted by key */
	size_t n;
	pyc_buf pending;     /* lines to append at the end of the run */
};

static const uint8_t fc_sipkey[16] = "pyc-tool-fails-1";

uint64_t pyc_compileall__failcache_key(const ca_cfg *c, const char *dfile, const uint8_t *src,
                                       size_t len)
{
	pyc_siphash_state s;
	const pyc_interp *in = c->in;
	pyc_buf head = PYC_BUF_INIT;
	pyc_buf_printf(&head, "%s|%d.%d.%d|%u|%s|%s|", in->executable ? in->executable : in->exe,
	               in->major, in->minor, in->micro, (unsigned)in->magic,
	               in->fs_encoding ? in->fs_encoding : "", dfile);
	for (size_t i = 0; i < c->nlevels; i++)
		pyc_buf_printf(&head, "%d,", c->levels[i]);
	pyc_siphash_init(&s, 1, 3, fc_sipkey);
	pyc_siphash_update(&s, head.ptr, head.len + 1);
	pyc_siphash_update(&s, src, len);
	pyc_buf_dispose(&head);
	return pyc_siphash_final(&s);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode n hex digits of s in place (NUL-terminated). */
static int unhex(char *s, size_t n)
{
	if (n % 2)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		s[i / 2] = (char)(hi << 4 | lo);
	}
	s[n / 2] = '\0';
	return 0;
}

static int add_entry(pyc_ca_failcache *fc, uint64_t key, char *text, size_t *cap)
{
	if (fc->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		fc_entry *e = realloc(fc->entries, ncap * sizeof(*e));
		if (!e)
			return PYC_ENOMEM;
		fc->entries = e;
		*cap = ncap;
	}
	fc->entries[fc->n++] = (fc_entry){ key, text };
	return 0;
}

/* The file is appended to in the order files failed, so its keys are random: qsort (an
 * insertion sort took ~5 ms of a no-op run at 6,000 entries). */
static int cmp_entries(const void *a, const void *b)
{
	uint64_t x = ((const fc_entry *)a)->key, y = ((const fc_entry *)b)->key;
	return x < y ? -1 : x > y;
}

static void load(pyc_ca_failcache *fc)
{
	FILE *f = fopen(fc->file, "r");
	if (!f)
		return;
	char *line = NULL;
	size_t lcap = 0, cap = 0;
	ssize_t n;
	while ((n = getline(&line, &lcap, f)) > 18) {
		unsigned long long key;
		char *sp = strchr(line, ' ');
		if (!sp || sp - line != 16 || sscanf(line, "%16llx", &key) != 1)
			continue;
		char *text = strndup(sp + 1, (size_t)(n - 18));
		size_t tn = text ? strcspn(text, "\n") : 0;
		if (!text || unhex(text, tn) < 0 || add_entry(fc, (uint64_t)key, text, &cap) < 0)
			free(text);
	}
	free(line);
	fclose(f);
	if (fc->n > 1)
		qsort(fc->entries, fc->n, sizeof(*fc->entries), cmp_entries);
}

pyc_ca_failcache *pyc_compileall__failcache_open(void)
{
	pyc_buf dir = PYC_BUF_INIT;
	if (pyc_interp_cache_dir(&dir) != 0 || !pyc_interp_cache_enabled()) {
		pyc_buf_dispose(&dir);
		return NULL;
	}
	/* ".../pyc-tool/interp" -> ".../pyc-tool/compile-failures" */
	char *slash = strrchr(dir.ptr, '/');
	pyc_buf_truncate(&dir, (size_t)(slash - dir.ptr));
	pyc_ca_failcache *fc = calloc(1, sizeof(*fc));
	if (fc && pyc_buf_puts(&dir, "/compile-failures") == 0) {
		fc->file = pyc_buf_detach(&dir);
		load(fc);
	}
	pyc_buf_dispose(&dir);
	if (fc && !fc->file) {
		free(fc);
		fc = NULL;
	}
	return fc;
}

const char *pyc_compileall__failcache_get(const pyc_ca_failcache *fc, uint64_t key)
{
	size_t lo = 0, hi = fc ? fc->n : 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (fc->entries[mid].key == key)
			return fc->entries[mid].text;
		if (fc->entries[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void pyc_compileall__failcache_put(pyc_ca_failcache *fc, uint64_t key, const char *text)
{
	if (!fc)
		return;
	static const char digits[] = "0123456789abcdef";
	pyc_buf_printf(&fc->pending, "%016llx ", (unsigned long long)key);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		char two[2] = { digits[*p >> 4], digits[*p & 15] };
		pyc_buf_put(&fc->pending, two, 2);
	}
	pyc_buf_putc(&fc->pending, '\n');
}

/* Append what this run learnt (one write with O_APPEND, so concurrent runs interleave
 * whole lines), then free everything. */
void pyc_compileall__failcache_close(pyc_ca_failcache *fc)
{
	if (!fc)
		return;
	if (fc->pending.len) {
		pyc_atomic_file__make_parent_dirs(fc->file, NULL);   /* the open below decides */
		struct stat st;
		int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
		if (stat(fc->file, &st) == 0 && (uint64_t)st.st_size > FAILCACHE_MAX)
			flags |= O_TRUNC;
		int fd = open(fc->file, flags, 0666);
		if (fd >= 0) {
			ssize_t w = write(fd, fc->pending.ptr, fc->pending.len);
			(void)w;
			close(fd);
		}
	}
	for (size_t i = 0; i < fc->n; i++)
		free(fc->entries[i].text);
	free(fc->entries);
	free(fc->file);
	pyc_buf_dispose(&fc->pending);
	free(fc);
}
