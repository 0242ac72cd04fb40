/*
 * test_store.c - the content-addressed store against the file system.
 *
 * Oracles: the files on disk (entries counted and sized by readdir/stat, mtimes), Python's
 * hashlib for the key encoding, and forked processes racing on one store.
 */
#include "testutil.h"
#include "pyc/store.h"
#include "store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A key whose entry lands in top-level directory `top` (keys are hashes: search). */
static pyc_store_key key_in(unsigned top, unsigned *seq)
{
	for (;; (*seq)++) {
		char text[32];
		snprintf(text, sizeof(text), "k%u", *seq);
		pyc_store_key key = tu_store_key(text);
		if ((key.bytes[0] >> 4) == top) {
			(*seq)++;
			return key;
		}
	}
}

static pyc_store *open_store_at(const char *dir, uint64_t max_size, int level)
{
	pyc_store_opts o = { .max_size = max_size, .compress_level = level };
	pyc_store *st = NULL;
	pyc_error err = { 0 };

	if (pyc_store_open(&st, dir, &o, &err) != 0)
		fail_msg("open: %s", err.message);
	return st;
}

static pyc_store *open_store(const char *dir, uint64_t max_size)
{
	return open_store_at(dir, max_size, 0);
}

static const char *entry_file(const char *dir, const pyc_store_key *key)
{
	char name[69];

	pyc_store__entry_path(key, name);
	return tu_path(dir, name);
}

/* Entries on disk, the oracle for the counters. */
static uint64_t disk_entries(const char *dir, uint64_t *bytes)
{
	uint64_t n = 0;

	*bytes = 0;
	for (unsigned top = 0; top < 16; top++) {
		for (unsigned sub = 0; sub < 16; sub++) {
			char rel[8];
			snprintf(rel, sizeof(rel), "%x/%x", top, sub);
			DIR *d = opendir(tu_path(dir, rel));
			struct dirent *e;
			while (d && (e = readdir(d)) != NULL) {
				struct stat sb;
				char path[4200];
				snprintf(path, sizeof(path), "%s/%s/%s", dir, rel, e->d_name);
				if (pyc_store__is_entry_name(e->d_name) && lstat(path, &sb) == 0 &&
				    S_ISREG(sb.st_mode)) {
					n++;
					*bytes += (uint64_t)sb.st_size;
				}
			}
			if (d)
				closedir(d);
		}
	}
	return n;
}

static void put_ok(pyc_store *st, const pyc_store_key *key, const void *v, size_t len, double s)
{
	pyc_error err = { 0 };
	if (pyc_store_put(st, key, v, len, s, &err) != 0)
		fail_msg("put: %s", err.message);
}

static void get_equals(pyc_store *st, const pyc_store_key *key, const void *v, size_t len)
{
	pyc_buf got = PYC_BUF_INIT;
	pyc_error err = { 0 };

	if (pyc_store_get(st, key, &got, &err) != 0)
		fail_msg("expected a hit: %s", err.message);
	assert_int_equal(got.len, len);
	assert_memory_equal(got.ptr, v, len);
	pyc_buf_dispose(&got);
}

static void get_misses(pyc_store *st, const pyc_store_key *key)
{
	pyc_buf got = PYC_BUF_INIT;
	assert_int_equal(pyc_store_get(st, key, &got, NULL), PYC_ENOTFOUND);
	assert_int_equal(got.len, 0);
	pyc_buf_dispose(&got);
}

static off_t file_size(const char *path)
{
	struct stat sb;
	assert_int_equal(lstat(path, &sb), 0);
	return sb.st_size;
}

static void fill_random(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* The key is SHA-256 over the documented encoding: Python's hashlib agrees. */
static void test_key_matches_documented_encoding(void **state)
{
	(void)state;
	char *py = tu_python3();
	if (!py)
		tu_skip("no python3 to compute the expected key");
	pyc_store_keyer k;
	pyc_store_key key;
	char hex[65], cmd[2048], want[80] = "";
	assert_int_equal(pyc_store_key_init(&k), 0);
	pyc_store_key_add(&k, "ab", 2);
	pyc_store_key_add(&k, "", 0);
	pyc_store_key_add(&k, NULL, 0);
	pyc_store_key_add_u64(&k, 2);
	assert_int_equal(pyc_store_key_final(&k, &key), 0);
	pyc_store_key_hex(&key, hex);
	snprintf(cmd, sizeof(cmd),
	         "%s -c \"import hashlib, struct\n"
	         "f = lambda b: struct.pack('<Q', len(b)) + b\n"
	         "d = f(b'pyc-tool store key') + f(struct.pack('<Q', %u)) + f(b'ab') + f(b'')"
	         " + struct.pack('<Q', 2**64 - 1) + f(struct.pack('<Q', 2))\n"
	         "print(hashlib.sha256(d).hexdigest())\"",
	         py, PYC_STORE_KEY_SCHEMA);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(want, sizeof(want), p));
	assert_int_equal(pclose(p), 0);
	want[strcspn(want, "\n")] = '\0';
	assert_string_equal(hex, want);
	free(py);
}

/* Field boundaries and "no value" are part of the key. */
static void test_key_fields_are_unambiguous(void **state)
{
	(void)state;
	pyc_store_keyer k;
	pyc_store_key a, b, c, d;

	pyc_store_key_init(&k);
	pyc_store_key_add(&k, "ab", 2);
	pyc_store_key_add(&k, "c", 1);
	assert_int_equal(pyc_store_key_final(&k, &a), 0);
	pyc_store_key_init(&k);
	pyc_store_key_add(&k, "a", 1);
	pyc_store_key_add(&k, "bc", 2);
	assert_int_equal(pyc_store_key_final(&k, &b), 0);
	pyc_store_key_init(&k);
	pyc_store_key_add(&k, "", 0);
	assert_int_equal(pyc_store_key_final(&k, &c), 0);
	pyc_store_key_init(&k);
	pyc_store_key_add(&k, NULL, 0);
	assert_int_equal(pyc_store_key_final(&k, &d), 0);
	assert_memory_not_equal(a.bytes, b.bytes, 32);
	assert_memory_not_equal(c.bytes, d.bytes, 32);
	pyc_store_key x = tu_store_key("same"), y = tu_store_key("same");
	assert_memory_equal(x.bytes, y.bytes, 32);
}

/* With a level, compressible values are stored compressed and random ones as they are;
 * the default stores both plain; every kind round-trips through either handle. */
static void test_round_trip_compressed_and_plain(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	pyc_store *st = open_store_at(dir, 0, 1), *plain = open_store(dir, 0);
	static uint8_t text[20000], noise[20000];
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (uint8_t)"def f(x):\n    return x\n"[i % 23];
	fill_random(noise, sizeof(noise), 7);
	pyc_store_key kt = tu_store_key("text"), kn = tu_store_key("noise"), ke = tu_store_key("empty");
	pyc_store_key kp = tu_store_key("plain text");

	get_misses(st, &kt);
	put_ok(st, &kt, text, sizeof(text), 0.25);
	put_ok(st, &kn, noise, sizeof(noise), 0.25);
	put_ok(st, &ke, "", 0, 0);
	put_ok(plain, &kp, text, sizeof(text), 0.25);
	get_equals(st, &kt, text, sizeof(text));
	get_equals(st, &kn, noise, sizeof(noise));
	get_equals(st, &ke, "", 0);
	get_equals(plain, &kt, text, sizeof(text));
	get_equals(st, &kp, text, sizeof(text));
	assert_true(file_size(entry_file(dir, &kt)) < (off_t)sizeof(text) / 10);
	assert_int_equal(file_size(entry_file(dir, &kn)), STORE_HEADER_SIZE + sizeof(noise));
	assert_int_equal(file_size(entry_file(dir, &kp)), STORE_HEADER_SIZE + sizeof(text));
	assert_false(pyc_store_degraded(st));
	pyc_store_free(plain);
	pyc_store_free(st);
	tu_rm_rf(dir);
	free(dir);
}

/* A handle keeps its leaf directories open across puts; a `cache clear` by someone else
 * removes them under it, and the next puts make them again instead of degrading. */
static void test_put_after_directories_removed(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	pyc_store *st = open_store(dir, 0);
	pyc_store_key a = tu_store_key("first"), b = tu_store_key("second");
	pyc_store_result res;

	put_ok(st, &a, "one", 3, 0);
	put_ok(st, &b, "two", 3, 0);
	assert_int_equal(pyc_store_clear(dir, &res, NULL), 0);
	get_misses(st, &a);
	put_ok(st, &a, "one again", 9, 0);
	put_ok(st, &b, "two again", 9, 0);
	assert_false(pyc_store_degraded(st));
	get_equals(st, &a, "one again", 9);
	get_equals(st, &b, "two again", 9);
	assert_int_equal(file_size(entry_file(dir, &a)), STORE_HEADER_SIZE + 9);
	pyc_store_free(st);
	tu_rm_rf(dir);
	free(dir);
}

static void rewrite_byte(const char *path, off_t at, uint8_t x)
{
	int fd = open(path, O_RDWR);
	uint8_t c;
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= x;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

/* Every way an entry can be damaged is a miss, counted as an error, then replaced. */
static void test_damaged_entries_miss_and_are_replaced(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	pyc_store *st = open_store(dir, 0);
	uint8_t v[3000];
	fill_random(v, sizeof(v), 1);
	pyc_store_key key = tu_store_key("damaged");
	const char *f = entry_file(dir, &key);
	char path[4200];
	snprintf(path, sizeof(path), "%s", f);
	/* payload, checksum, key and header bytes; then truncation */
	const off_t spots[] = { STORE_HEADER_SIZE + 100, 72, 16, 0, 48 };
	for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		put_ok(st, &key, v, sizeof(v), 0);
		rewrite_byte(path, spots[i], 0x40);
		pyc_error err = { 0 };
		pyc_buf got = PYC_BUF_INIT;
		assert_int_equal(pyc_store_get(st, &key, &got, &err), PYC_ENOTFOUND);
		assert_non_null(strstr(err.message, "corrupt"));
		pyc_buf_dispose(&got);
	}
	put_ok(st, &key, v, sizeof(v), 0);
	assert_int_equal(truncate(path, STORE_HEADER_SIZE + 10), 0);
	get_misses(st, &key);
	assert_int_equal(truncate(path, 50), 0);
	get_misses(st, &key);
	put_ok(st, &key, v, sizeof(v), 0);
	get_equals(st, &key, v, sizeof(v));

	/* a directory (not empty) in the entry's place */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0755), 0);
	tu_write_str(path, "inside/x", "x");
	get_misses(st, &key);
	put_ok(st, &key, v, sizeof(v), 0);
	get_equals(st, &key, v, sizeof(v));

	/* a symlink to a valid entry: not read through, replaced itself; its target untouched */
	tu_sh("cp '%s' '%s/outside'", path, dir);
	off_t valid = file_size(path);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink(tu_path(dir, "outside"), path), 0);
	get_misses(st, &key);
	put_ok(st, &key, "new", 3, 0);
	get_equals(st, &key, "new", 3);
	assert_int_equal(file_size(tu_path(dir, "outside")), valid);
	pyc_store_free(st);

	pyc_store_counts c;
	assert_int_equal(pyc_store_stats(dir, &c, NULL), 0);
	assert_int_equal(c.errors, 5 + 2 + 1 + 1);
	assert_int_equal(c.misses, 5 + 2 + 1 + 1);
	assert_int_equal(c.hits, 3);
	assert_int_equal(c.stores, 5 + 1 + 1 + 1 + 1);
	tu_rm_rf(dir);
	free(dir);
}

/* The counters equal exactly the operations done, and the sizes on disk. */
static void test_stats_count_exactly(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	pyc_store_counts c;
	assert_int_equal(pyc_store_stats(tu_path(dir, "none"), &c, NULL), 0);
	assert_int_equal(c.hits + c.misses + c.entries + c.bytes, 0);

	pyc_store *st = open_store(dir, 0);
	pyc_store_key a = tu_store_key("a"), b = tu_store_key("b"), x = tu_store_key("x");
	put_ok(st, &a, "alpha", 5, 0.5);
	put_ok(st, &b, "beta", 4, 1.25);
	put_ok(st, &a, "alpha", 5, 0.5);  /* replaced: no new entry */
	get_equals(st, &a, "alpha", 5);
	get_equals(st, &b, "beta", 4);
	get_equals(st, &b, "beta", 4);
	get_misses(st, &x);
	pyc_store_free(st);
	assert_int_equal(pyc_store_stats(dir, &c, NULL), 0);
	assert_int_equal(c.hits, 3);
	assert_int_equal(c.misses, 1);
	assert_int_equal(c.stores, 3);
	assert_int_equal(c.errors, 0);
	assert_int_equal(c.cleanups, 0);
	assert_int_equal(c.entries, 2);
	assert_int_equal(c.bytes, 2 * STORE_HEADER_SIZE + 9);
	assert_true(c.seconds_saved > 2.999 && c.seconds_saved < 3.001);
	tu_rm_rf(dir);
	free(dir);
}

/* A hit refreshes an old entry's mtime (LRU), not a recent one's. */
static void test_hit_refreshes_old_mtime(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	pyc_store *st = open_store(dir, 0);
	pyc_store_key old = tu_store_key("old"), recent = tu_store_key("recent");
	char name[69];
	struct stat sb;
	time_t now = time(NULL);

	put_ok(st, &old, "o", 1, 0);
	put_ok(st, &recent, "r", 1, 0);
	pyc_store__entry_path(&old, name);
	tu_set_mtime(dir, name, now - 7200, 0);
	pyc_store__entry_path(&recent, name);
	tu_set_mtime(dir, name, now - 60, 0);
	get_equals(st, &old, "o", 1);
	get_equals(st, &recent, "r", 1);
	assert_int_equal(lstat(entry_file(dir, &old), &sb), 0);
	assert_true(sb.st_mtime >= now);
	assert_int_equal(lstat(entry_file(dir, &recent), &sb), 0);
	assert_int_equal(sb.st_mtime, now - 60);
	pyc_store_free(st);
	tu_rm_rf(dir);
	free(dir);
}

/* The read-only checks on a store holding "a" that this process cannot write: 0 or the
 * number of the failed check (plain code: it also runs in a forked child). */
static int read_only_checks(const char *dir)
{
	pyc_store_key a = tu_store_key("a"), b = tu_store_key("b");
	pyc_error err = { 0 };
	pyc_buf got = PYC_BUF_INIT;
	pyc_store *st = NULL;
	int failed = 0;

	if (pyc_store_open(&st, dir, NULL, &err) != 0)
		return 1;
	if (pyc_store_put(st, &b, "beta", 4, 0, &err) != PYC_EIO)
		failed = 2;
	else if (err.sys_errno != EACCES || !strstr(err.message, dir))
		failed = 3;
	else if (!pyc_store_degraded(st))
		failed = 4;
	else if (pyc_store_put(st, &b, "beta", 4, 0, &err) != 0)
		failed = 5;
	else if (pyc_store_get(st, &a, &got, NULL) != 0 || got.len != 5 || memcmp(got.ptr, "alpha", 5))
		failed = 6;
	else if (pyc_store_get(st, &b, &got, NULL) != PYC_ENOTFOUND)
		failed = 7;
	pyc_buf_dispose(&got);
	pyc_store_free(st);
	return failed;
}

/* An unwritable store: the first put fails naming the path, later ones do nothing; gets
 * still hit. As root, chmod does not bind: a child that became "nobody" checks instead. */
static void test_read_only_store_degrades(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	pyc_store_key a = tu_store_key("a");
	pyc_store *st = open_store(dir, 0);

	put_ok(st, &a, "alpha", 5, 0);
	pyc_store_free(st);
	if (geteuid() != 0) {
		tu_sh("chmod -R a-w '%s'", dir);
		assert_int_equal(read_only_checks(dir), 0);
		tu_sh("chmod -R u+w '%s'", dir);
	} else {
		assert_int_equal(chmod(dir, 0755), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			_exit(setgid(65534) != 0 || setuid(65534) != 0 ? 100 : read_only_checks(dir));
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	tu_rm_rf(dir);
	free(dir);
}

/* Where a directory of the store is a file: the put fails, the store degrades. */
static void test_file_in_place_of_a_directory(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	pyc_store_key b = tu_store_key("b");
	pyc_error err = { 0 };
	char name[69];

	pyc_store__entry_path(&b, name);
	name[1] = '\0';
	tu_write_str(dir, name, "not a directory");
	pyc_store *st = open_store(dir, 0);
	assert_int_equal(pyc_store_put(st, &b, "beta", 4, 0, &err), PYC_EIO);
	assert_int_equal(err.sys_errno, ENOTDIR);
	assert_true(pyc_store_degraded(st));
	get_misses(st, &b);
	pyc_store_free(st);
	/* a file where the store belongs */
	tu_write_str(dir, "file", "x");
	st = NULL;
	assert_int_equal(pyc_store_open(&st, tu_path(dir, "file"), NULL, &err), PYC_EIO);
	assert_null(st);
	assert_non_null(strstr(err.message, "file"));
	tu_rm_rf(dir);
	free(dir);
}

#define RACE_KEYS 24
#define RACE_ROUNDS 6

static size_t race_value(unsigned k, uint8_t *out)
{
	size_t len = 200 + k * 97;
	fill_random(out, len, k + 1);
	if (k % 2)   /* half compressible */
		memset(out, 'x', len / 2);
	return len;
}

/* One racer: puts and gets of shared keys (0..RACE_KEYS) and its own; exits non-zero on
 * any wrong value. */
static int racer(const char *dir, unsigned id)
{
	pyc_store_opts o = { 0 };
	pyc_store *st;
	static uint8_t v[RACE_KEYS * 200 + 4000];
	pyc_buf got = PYC_BUF_INIT;
	int bad = 0;

	if (pyc_store_open(&st, dir, &o, NULL) != 0)
		return 2;
	for (unsigned r = 0; r < RACE_ROUNDS; r++) {
		for (unsigned k = 0; k < RACE_KEYS; k++) {
			char name[32];
			unsigned own = 1000 * (id + 1) + k;
			unsigned which = (k + r + id) % 2 ? k : own;
			snprintf(name, sizeof(name), "race%u", which);
			pyc_store_key key = tu_store_key(name);
			size_t len = race_value(which % 1000 + (which >= 1000 ? RACE_KEYS : 0), v);
			int rc = pyc_store_get(st, &key, &got, NULL);
			if (rc == 0 && (got.len != len || memcmp(got.ptr, v, len) != 0))
				bad = 1;
			if (rc != 0 && pyc_store_put(st, &key, v, len, 0.001, NULL) != 0)
				bad = 1;
		}
	}
	pyc_buf_dispose(&got);
	pyc_store_free(st);
	return bad;
}

static void race(unsigned nproc)
{
	char *dir = tu_mkdtemp();
	pid_t pids[8];

	for (unsigned i = 0; i < nproc; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(racer(dir, i));
	}
	for (unsigned i = 0; i < nproc; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	pyc_store_counts c;
	uint64_t bytes, n = disk_entries(dir, &bytes);
	assert_int_equal(pyc_store_stats(dir, &c, NULL), 0);
	assert_int_equal(c.hits + c.misses, (uint64_t)nproc * RACE_ROUNDS * RACE_KEYS);
	assert_int_equal(c.stores, c.misses);
	assert_int_equal(c.errors, 0);
	/* every racer's own keys plus the shared ones, each stored once on disk */
	assert_int_equal(n, RACE_KEYS * nproc + RACE_KEYS);
	assert_int_equal(c.entries, n);
	assert_int_equal(c.bytes, bytes);
	/* and every entry reads back right after the race */
	assert_int_equal(racer(dir, 0), 0);
	tu_rm_rf(dir);
	free(dir);
}

static void test_two_processes_race(void **state)
{
	(void)state;
	race(2);
}

static void test_four_processes_race(void **state)
{
	(void)state;
	race(4);
}

struct thread_arg {
	pyc_store *st;
	unsigned id;
	int bad;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;
	uint8_t v[4000];
	pyc_buf got = PYC_BUF_INIT;

	for (unsigned r = 0; r < 50; r++) {
		char name[32];
		snprintf(name, sizeof(name), "t%u", r % 20);
		pyc_store_key key = tu_store_key(name);
		size_t len = race_value(r % 20, v);
		if (pyc_store_get(a->st, &key, &got, NULL) == 0) {
			a->bad |= got.len != len || memcmp(got.ptr, v, len) != 0;
		} else {
			a->bad |= pyc_store_put(a->st, &key, v, len, 0, NULL) != 0;
		}
	}
	pyc_buf_dispose(&got);
	return NULL;
}

/* Threads of one process share a store handle. */
static void test_threads_share_a_store(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	pyc_store *st = open_store(dir, 0);
	pthread_t t[4];
	struct thread_arg args[4];

	for (unsigned i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){ st, i, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, thread_main, &args[i]), 0);
	}
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(args[i].bad, 0);
	}
	pyc_store_free(st);
	pyc_store_counts c;
	uint64_t bytes;
	assert_int_equal(pyc_store_stats(dir, &c, NULL), 0);
	assert_int_equal(c.hits + c.misses, 200);
	assert_int_equal(c.entries, 20);
	assert_int_equal(disk_entries(dir, &bytes), 20);
	assert_int_equal(c.bytes, bytes);
	tu_rm_rf(dir);
	free(dir);
}

/* Prune removes the least recently used entries down to the size, and recounts. */
static void test_prune_to_size(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	pyc_store *st = open_store(dir, 0);
	uint8_t v[1000];
	pyc_store_key keys[10];
	time_t now = time(NULL);

	fill_random(v, sizeof(v), 3);
	for (unsigned i = 0; i < 10; i++) {
		char name[16], rel[69];
		snprintf(name, sizeof(name), "p%u", i);
		keys[i] = tu_store_key(name);
		put_ok(st, &keys[i], v, sizeof(v), 0);
		pyc_store__entry_path(&keys[i], rel);
		tu_set_mtime(dir, rel, now - 10000 + i * 100, 0);   /* p0 oldest */
	}
	pyc_store_free(st);
	tu_write_str(dir, "0/0/0123.foreign", "not ours");
	uint64_t entry = STORE_HEADER_SIZE + sizeof(v);
	pyc_store_result res;
	assert_int_equal(pyc_store_prune(dir, 4 * entry + 10, &res, NULL), 0);
	assert_int_equal(res.removed_entries, 6);
	assert_int_equal(res.removed_bytes, 6 * entry);
	assert_int_equal(res.entries, 4);
	assert_int_equal(res.bytes, 4 * entry);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(access(entry_file(dir, &keys[i]), F_OK) == 0, i >= 6);
	assert_int_equal(access(tu_path(dir, "0/0/0123.foreign"), F_OK), 0);
	pyc_store_counts c;
	assert_int_equal(pyc_store_stats(dir, &c, NULL), 0);
	assert_int_equal(c.entries, 4);
	assert_int_equal(c.bytes, 4 * entry);
	assert_true(c.cleanups >= 1);
	tu_rm_rf(dir);
	free(dir);
}

/* Puts over a directory's share of the limit clean that directory alone, oldest first. */
static void test_automatic_cleanup_of_one_directory(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	uint8_t v[1000];
	unsigned seq = 0;
	uint64_t entry = STORE_HEADER_SIZE + sizeof(v);
	/* a share of 10 entries per top-level directory */
	pyc_store *st = open_store(dir, 16 * 10 * entry);
	pyc_store_key other = key_in(1, &seq), first = key_in(0, &seq);

	fill_random(v, sizeof(v), 5);
	put_ok(st, &other, v, sizeof(v), 0);
	put_ok(st, &first, v, sizeof(v), 0);
	char rel[69];
	pyc_store__entry_path(&first, rel);
	tu_set_mtime(dir, rel, time(NULL) - 5000, 0);
	for (unsigned i = 0; i < 40; i++) {
		pyc_store_key k = key_in(0, &seq);
		put_ok(st, &k, v, sizeof(v), 0);
	}
	pyc_store_free(st);
	pyc_store_counts c;
	uint64_t bytes;
	assert_int_equal(pyc_store_stats(dir, &c, NULL), 0);
	assert_true(c.cleanups >= 1);
	assert_int_not_equal(access(entry_file(dir, &first), F_OK), 0);   /* the oldest went */
	assert_int_equal(access(entry_file(dir, &other), F_OK), 0);      /* other dirs stay */
	assert_true(disk_entries(dir, &bytes) <= 1 + 10);
	assert_int_equal(c.entries, disk_entries(dir, &bytes));
	assert_int_equal(c.bytes, bytes);
	tu_rm_rf(dir);
	free(dir);
}

/* Clear removes the store's files and nothing else. */
static void test_clear_removes_only_the_store(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	pyc_store *st = open_store(dir, 0);
	pyc_store_key a = tu_store_key("a"), b = tu_store_key("b");
	uint64_t bytes;

	put_ok(st, &a, "alpha", 5, 0);
	put_ok(st, &b, "beta", 4, 0);
	pyc_store_free(st);
	tu_write_str(dir, "interp/0123456789abcdef", "probe");
	char name[69], rel[80];
	pyc_store__entry_path(&a, name);
	snprintf(rel, sizeof(rel), "%.3s/mine.txt", name);
	tu_write_str(dir, rel, "user file");
	tu_write_str(dir, "outside/keep", "x");
	assert_int_equal(symlink(tu_path(dir, "outside"), tu_path(dir, "f")), 0);
	pyc_store_result res;
	assert_int_equal(pyc_store_clear(dir, &res, NULL), 0);
	assert_int_equal(res.removed_entries, 2);
	assert_int_equal(res.removed_bytes, 2 * STORE_HEADER_SIZE + 9);
	assert_int_equal(disk_entries(dir, &bytes), 0);
	assert_int_equal(access(tu_path(dir, "interp/0123456789abcdef"), F_OK), 0);
	assert_int_equal(access(tu_path(dir, rel), F_OK), 0);
	assert_int_equal(access(tu_path(dir, "outside/keep"), F_OK), 0);
	pyc_store_counts c;
	assert_int_equal(pyc_store_stats(dir, &c, NULL), 0);
	assert_int_equal(c.entries + c.stores + c.bytes, 0);
	tu_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_matches_documented_encoding),
		cmocka_unit_test(test_key_fields_are_unambiguous),
		cmocka_unit_test(test_round_trip_compressed_and_plain),
		cmocka_unit_test(test_put_after_directories_removed),
		cmocka_unit_test(test_damaged_entries_miss_and_are_replaced),
		cmocka_unit_test(test_stats_count_exactly),
		cmocka_unit_test(test_hit_refreshes_old_mtime),
		cmocka_unit_test(test_read_only_store_degrades),
		cmocka_unit_test(test_file_in_place_of_a_directory),
		cmocka_unit_test(test_two_processes_race),
		cmocka_unit_test(test_four_processes_race),
		cmocka_unit_test(test_threads_share_a_store),
		cmocka_unit_test(test_prune_to_size),
		cmocka_unit_test(test_automatic_cleanup_of_one_directory),
		cmocka_unit_test(test_clear_removes_only_the_store),
	};
	return tu_run_tests("store", tests);
}
