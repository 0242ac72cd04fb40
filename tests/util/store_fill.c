/*
 * store_fill - drive the store library from the end-to-end tests (tests/e2e/test_cache.py),
 * so that `pyc-tool cache` is checked on a store filled through the real put/get path.
 *
 *   store_fill DIR OP...
 *     put:NAME:SIZE:SECONDS   store SIZE pseudo-random bytes under the key of NAME
 *                             (repetitive, so compressed, when NAME starts with 'z');
 *                             prints "NAME <entry path below DIR>"
 *     get:NAME                prints "hit NAME" or "miss NAME"
 *
 * Exit 0, or 1 with a message when an operation fails.
 */
#include "pyc/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pyc_store_key key_of(const char *name)
{
	pyc_store_keyer k;
	pyc_store_key key;

	pyc_store_key_init(&k);
	pyc_store_key_add(&k, name, strlen(name));
	if (pyc_store_key_final(&k, &key) != 0)
		exit(1);
	return key;
}

static int put(pyc_store *st, char *spec, pyc_error *err)
{
	char *size = strchr(spec, ':'), *secs = size ? strchr(size + 1, ':') : NULL, *end, hex[65];
	const char *name = spec;
	unsigned seed = 1;

	if (!secs)
		return fprintf(stderr, "store_fill: bad put spec\n"), 1;
	*size++ = *secs++ = '\0';
	long n = strtol(size, &end, 10);
	if (!*name || n < 0 || *end)
		return fprintf(stderr, "store_fill: bad put spec\n"), 1;
	unsigned char *v = malloc((size_t)n + 1);
	for (long i = 0; v && i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		v[i] = name[0] == 'z' ? (unsigned char)"abcdefgh"[i % 8] : (unsigned char)(seed >> 16);
	}
	pyc_store_key key = key_of(name);
	int rc = v ? pyc_store_put(st, &key, v, (size_t)n, strtod(secs, NULL), err) : -1;
	free(v);
	if (rc != 0)
		return fprintf(stderr, "store_fill: %s\n", err->message), 1;
	pyc_store_key_hex(&key, hex);
	printf("%s %c/%c/%s\n", name, hex[0], hex[1], hex);
	return 0;
}

int main(int argc, char **argv)
{
	pyc_error err = { 0 };
	pyc_store *st;
	pyc_buf value = PYC_BUF_INIT;
	int bad = 0;
	/* Level 1: the store then holds compressed and plain entries, as a store written
	 * by an older pyc-tool (or received from a remote) does. */
	pyc_store_opts o = { .compress_level = 1 };

	if (argc < 2 || pyc_store_open(&st, argv[1], &o, &err) != 0)
		return fprintf(stderr, "store_fill: %s\n", argc < 2 ? "usage: store_fill DIR OP..." : err.message), 1;
	for (int i = 2; i < argc && !bad; i++) {
		if (strncmp(argv[i], "put:", 4) == 0) {
			bad = put(st, argv[i] + 4, &err);
		} else if (strncmp(argv[i], "get:", 4) == 0) {
			pyc_store_key key = key_of(argv[i] + 4);
			printf("%s %s\n", pyc_store_get(st, &key, &value, NULL) == 0 ? "hit" : "miss", argv[i] + 4);
		} else {
			bad = fprintf(stderr, "store_fill: unknown operation '%s'\n", argv[i]) > 0;
		}
	}
	pyc_buf_dispose(&value);
	pyc_store_free(st);
	return bad;
}
