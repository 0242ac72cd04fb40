#include "testutil.h"

#include "pyc/git.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

/* /dev/shm when it is writable with 512 MiB free, as pyc_e2e.tmpfs_dir(): creating and
 * removing files on a long-used ext4 disk costs far more CPU (docs/testing.md, "Time"). */
static const char *scratch_base(void)
{
	struct statvfs st;
	if (statvfs("/dev/shm", &st) == 0 && (unsigned long long)st.f_bavail * st.f_frsize >=
	    (512ull << 20) && access("/dev/shm", W_OK) == 0)
		return "/dev/shm";
	return "/tmp";
}

char *tu_mkdtemp(void)
{
	const char *tmp = getenv("TMPDIR");
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s/pyc-test-XXXXXX", tmp && *tmp ? tmp : scratch_base());
	char *d = mkdtemp(buf);
	assert_non_null(d);
	char *copy = strdup(d);
	assert_non_null(copy);
	return copy;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)ftw;
	if (flag == FTW_DP)
		chmod(p, 0700), rmdir(p);
	else
		unlink(p);
	return 0;
}

static int unlock_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DNR)
		chmod(p, (st->st_mode & 07777) | 0700);
	return 0;
}

void tu_rm_rf(const char *path)
{
	/* Tests make read-only directories; give them back write access first. */
	nftw(path, unlock_one, 64, FTW_PHYS);
	nftw(path, rm_one, 64, FTW_DEPTH | FTW_PHYS);
}

static void mkparents(char *p)
{
	for (char *s = p + 1; *s; s++) {
		if (*s == '/') {
			*s = '\0';
			if (mkdir(p, 0777) != 0 && errno != EEXIST)
				fail_msg("mkdir %s: %s", p, strerror(errno));
			*s = '/';
		}
	}
}

const char *tu_path(const char *dir, const char *rel)
{
	static char bufs[8][4096];
	static unsigned next;
	char *b = bufs[next++ % 8];
	int n = snprintf(b, sizeof(bufs[0]), "%s/%s", dir, rel);
	assert_true(n > 0 && (size_t)n < sizeof(bufs[0]));
	return b;
}

void tu_write(const char *dir, const char *rel, const void *data, size_t len)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	mkparents(p);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		fail_msg("open %s: %s", p, strerror(errno));
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

void tu_write_str(const char *dir, const char *rel, const char *text)
{
	tu_write(dir, rel, text, strlen(text));
}

void tu_set_mtime(const char *dir, const char *rel, int64_t sec, long nsec)
{
	struct timespec ts[2] = { { (time_t)sec, nsec }, { (time_t)sec, nsec } };
	if (utimensat(AT_FDCWD, tu_path(dir, rel), ts, AT_SYMLINK_NOFOLLOW) != 0)
		fail_msg("utimensat %s/%s: %s", dir, rel, strerror(errno));
}

const char *tu_fixture(const char *name)
{
	static char b[4096];
	const char *d = getenv("PYC_FIXTURES");
	assert_non_null(d);
	snprintf(b, sizeof(b), "%s/%s", d, name);
	return b;
}

size_t tu_unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	while (hex[0] && hex[1] && n < cap) {
		unsigned v;
		assert_int_equal(sscanf(hex, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

size_t tu_split_tabs(char *line, char **fields, size_t max)
{
	size_t n = 0;
	line[strcspn(line, "\r\n")] = '\0';
	while (n < max) {
		fields[n++] = line;
		char *t = strchr(line, '\t');
		if (!t)
			break;
		*t = '\0';
		line = t + 1;
	}
	return n;
}

size_t tu_vectors_foreach(const char *table, tu_row_fn fn, void *ctx)
{
	FILE *fp = fopen(tu_fixture("vectors.tsv"), "r");
	assert_non_null(fp);
	char *line = NULL;
	size_t cap = 0, rows = 0;
	while (getline(&line, &cap, fp) > 0) {
		char *f[TU_VECTOR_FIELDS];
		size_t n = tu_split_tabs(line, f, TU_VECTOR_FIELDS);
		if (n < 2 || strcmp(f[0], table) != 0)
			continue;
		fn(f, n, ctx);
		rows++;
	}
	free(line);
	fclose(fp);
	return rows;
}

static bool name_version(const char *path, int *major, int *minor)
{
	const char *base = strrchr(path, '/');
	char tail;
	return base && sscanf(base, "/python%d.%d%c", major, minor, &tail) == 2;
}

/* X.Y from a name like python3.12, its own or the one it resolves to (/usr/bin/python3 is
 * a link to python3.11), else from the interpreter itself; 0 or -1. */
static int interp_version(const char *exe, const char *real, int *major, int *minor)
{
	if (name_version(exe, major, minor) || name_version(real, major, minor))
		return 0;
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "'%s' -S -c 'import sys; "
	         "sys.stdout.write(\"%%d %%d\" %% sys.version_info[:2])' 2>/dev/null", exe);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	int got = fscanf(p, "%d %d", major, minor);
	return pclose(p) == 0 && got == 2 ? 0 : -1;
}

struct finder {
	tu_interps *list;
	unsigned flags;
	char *real[TU_MAX_INTERPS];   /* of list->path, to see the same binary twice */
};

static void consider(struct finder *f, const char *exe)
{
	tu_interps *l = f->list;
	int major, minor;
	char *real = realpath(exe, NULL);
	bool keep = real && l->n < TU_MAX_INTERPS && access(real, X_OK) == 0;
	for (size_t i = 0; keep && i < l->n; i++)
		keep = strcmp(f->real[i], real) != 0;
	keep = keep && interp_version(exe, real, &major, &minor) == 0 &&
	       (major == 3 || (major == 2 && (f->flags & TU_INTERPS_PY2)));
	for (size_t i = 0; keep && !(f->flags & TU_INTERPS_EVERY) && i < l->n; i++)
		keep = l->major[i] != major || l->minor[i] != minor;
	if (!keep) {
		free(real);
		return;
	}
	/* Insert by version, after those of the same version (the first found comes first). */
	size_t at = l->n;
	while (at > 0 && (l->major[at - 1] > major ||
	                  (l->major[at - 1] == major && l->minor[at - 1] > minor)))
		at--;
	for (size_t i = l->n; i > at; i--) {
		l->path[i] = l->path[i - 1];
		l->major[i] = l->major[i - 1];
		l->minor[i] = l->minor[i - 1];
		f->real[i] = f->real[i - 1];
	}
	l->path[at] = strdup(exe);
	l->major[at] = major;
	l->minor[at] = minor;
	f->real[at] = real;
	l->n++;
}

static void consider_glob(struct finder *f, const char *pattern)
{
	glob_t g;
	if (glob(pattern, 0, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++)
		consider(f, g.gl_pathv[i]);
	globfree(&g);
}

/* What the finder's answer depends on: a test that moves HOME (the git sandbox), PATH or
 * PYENV_ROOT gets a fresh search, any other call the remembered one. */
struct finder_env {
	bool taken;
	char *path, *pyenv_root, *home;
};

static bool env_same(const char *kept, const char *now)
{
	return kept && now ? strcmp(kept, now) == 0 : kept == now;
}

static bool finder_env_current(const struct finder_env *e)
{
	return e->taken && env_same(e->path, getenv("PATH")) &&
	       env_same(e->pyenv_root, getenv("PYENV_ROOT")) && env_same(e->home, getenv("HOME"));
}

static void finder_env_take(struct finder_env *e)
{
	const char *now[3] = { getenv("PATH"), getenv("PYENV_ROOT"), getenv("HOME") };
	char **kept[3] = { &e->path, &e->pyenv_root, &e->home };
	for (size_t i = 0; i < 3; i++) {
		free(*kept[i]);
		*kept[i] = now[i] ? strdup(now[i]) : NULL;
		assert_true(!now[i] || *kept[i]);
	}
	e->taken = true;
}

static const char *pyenv_root_search(char *root, size_t cap)
{
	const char *env = getenv("PYENV_ROOT");
	FILE *p = env && *env ? NULL : popen("pyenv root 2>/dev/null", "r");
	root[0] = '\0';
	if (p) {
		if (!fgets(root, (int)cap, p))
			root[0] = '\0';
		root[strcspn(root, "\n")] = '\0';
		if (pclose(p) != 0)
			root[0] = '\0';
	}
	const struct passwd *pw = getpwuid(getuid());
	if (!root[0] && env && *env) {
		snprintf(root, cap, "%s", env);
		size_t n = strlen(root);
		if (n > 1 && root[n - 1] == '/')
			root[n - 1] = '\0';
	}
	if (!root[0] && pw && pw->pw_dir)
		snprintf(root, cap, "%s/.pyenv", pw->pw_dir);
	struct stat st;
	return root[0] && stat(root, &st) == 0 && S_ISDIR(st.st_mode) ? root : NULL;
}

/* `pyenv root` is a shell script that answers $PYENV_ROOT, without a trailing slash, when
 * that is set: asked only when it is not, and once per environment. */
const char *tu_pyenv_root(void)
{
	static char root[2048];
	static const char *answer;
	static struct finder_env asked;
	if (!finder_env_current(&asked)) {
		answer = pyenv_root_search(root, sizeof(root));
		finder_env_take(&asked);
	}
	return answer;
}

/* The first python3 in a PATH directory, as execvp would pick it; not pyenv's shim, which
 * only selects one of pyenv's versions (or the system's), found already, and takes a
 * quarter of a second to start. */
static void consider_path_python3(struct finder *f, const char *pyenv_root)
{
	char shims[2100];
	snprintf(shims, sizeof(shims), "%s/shims/", pyenv_root ? pyenv_root : "/nonexistent");
	const char *path = getenv("PATH");
	char exe[4096];
	for (const char *s = path; s && *s;) {
		int len = (int)strcspn(s, ":");
		snprintf(exe, sizeof(exe), "%.*s/python3", len, len ? s : ".");
		if (access(exe, X_OK) == 0) {
			if (strncmp(exe, shims, strlen(shims)) != 0)
				consider(f, exe);
			return;
		}
		s += len + (s[len] == ':');
	}
}

static void interps_search(tu_interps *list, unsigned flags)
{
	struct finder f = { list, flags, { NULL } };
	const char *root = tu_pyenv_root();
	char pattern[2300];

	list->n = 0;
	if (root) {
		/* pythonX.Y names tell their version without starting anything. */
		snprintf(pattern, sizeof(pattern), "%s/versions/*/bin/python[23].[0-9]", root);
		consider_glob(&f, pattern);
		snprintf(pattern, sizeof(pattern), "%s/versions/*/bin/python3.[0-9][0-9]", root);
		consider_glob(&f, pattern);
	}
	consider_glob(&f, "/usr/bin/python3.[0-9]");
	consider_glob(&f, "/usr/bin/python3.[0-9][0-9]");
	consider(&f, "/usr/bin/python3");
	consider(&f, "/usr/bin/python2.7");
	consider_path_python3(&f, root);
	for (size_t i = 0; i < list->n; i++)
		free(f.real[i]);
}

/* A search may run pyenv and start interpreters whose names do not tell their version: each
 * executable searches once per set of flags and environment, and every caller gets its own
 * copy. */
void tu_interps_find(tu_interps *list, unsigned flags)
{
	static struct {
		tu_interps found;
		struct finder_env env;
	} memo[(TU_INTERPS_PY2 | TU_INTERPS_EVERY) + 1];
	assert_true(flags < sizeof(memo) / sizeof(memo[0]));
	tu_interps *found = &memo[flags].found;
	if (!finder_env_current(&memo[flags].env)) {
		tu_interps_free(found);
		interps_search(found, flags);
		finder_env_take(&memo[flags].env);
	}
	*list = *found;
	for (size_t i = 0; i < list->n; i++) {
		list->path[i] = strdup(found->path[i]);
		assert_non_null(list->path[i]);
	}
}

void tu_interps_free(tu_interps *list)
{
	for (size_t i = 0; i < list->n; i++)
		free(list->path[i]);
	list->n = 0;
}

void tu_interps_since(tu_interps *list, int major, int minor)
{
	size_t n = 0;
	for (size_t i = 0; i < list->n; i++) {
		if (list->major[i] < major || (list->major[i] == major && list->minor[i] < minor)) {
			free(list->path[i]);
			continue;
		}
		list->path[n] = list->path[i];
		list->major[n] = list->major[i];
		list->minor[n++] = list->minor[i];
	}
	list->n = n;
}

char *tu_python3(void)
{
	tu_interps l;
	char *exe = NULL;
	tu_interps_find(&l, 0);
	if (l.n > 0) {
		exe = l.path[l.n - 1];
		l.path[l.n - 1] = NULL;
	}
	tu_interps_free(&l);
	return exe;
}

size_t tu_skipped;

int tu_run_group(const char *name, const struct CMUnitTest *tests, size_t n)
{
	int failed = _cmocka_run_group_tests(name, tests, n, NULL, NULL);
	return failed == 0 && n > 0 && tu_skipped == n ? 77 : failed;
}

void tu_sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(cmd));
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

int tu_popen_read(const char *cmd, pyc_buf *out)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		assert_int_equal(pyc_buf_put(out, chunk, n), 0);
	int st = pclose(p);
	assert_int_equal(pyc_buf_putc(out, '\0'), 0);
	out->len--;                         /* terminated, not part of what was read */
	return st;
}

int tu_run_python(const char *exe, const char *dir, const char *script, char *out, size_t cap)
{
	tu_write_str(dir, "oracle.py", script);
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' oracle.py 2>&1", dir, exe);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void tu_git_clear_env(void)
{
	static const char *const vars[] = { "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE",
		                            "GIT_COMMON_DIR", "GIT_CEILING_DIRECTORIES", "GIT_PREFIX" };
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

void tu_git_sandbox(const char *home)
{
	tu_git_clear_env();
	setenv("HOME", home, 1);
	setenv("XDG_CONFIG_HOME", tu_path(home, ".config"), 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "t", 1);
	setenv("GIT_AUTHOR_EMAIL", "t@example.org", 1);
	setenv("GIT_COMMITTER_NAME", "t", 1);
	setenv("GIT_COMMITTER_EMAIL", "t@example.org", 1);
}

char *tu_git_scratch(int *oldcwd)
{
	char *d = tu_mkdtemp();
	char *root = realpath(d, NULL);
	free(d);
	*oldcwd = open(".", O_RDONLY | O_DIRECTORY);
	if (!root || *oldcwd < 0) {
		free(root);
		return NULL;
	}
	tu_git_sandbox(root);
	return root;
}

int tu_git_scratch_end(char *root, int oldcwd)
{
	int rc = fchdir(oldcwd) == 0 ? 0 : -1;
	close(oldcwd);
	tu_rm_rf(root);
	free(root);
	return rc;
}

struct pyc_git *tu_git_open_cwd(void)
{
	pyc_error err = { 0 };
	pyc_git *g = NULL;
	if (pyc_git_open(&g, NULL, &err) != 0)
		fail_msg("pyc_git_open: %s", err.message);
	return g;
}

pyc_store_key tu_store_key(const char *text)
{
	pyc_store_keyer k;
	pyc_store_key key;

	assert_int_equal(pyc_store_key_init(&k), 0);
	pyc_store_key_add(&k, text, strlen(text));
	assert_int_equal(pyc_store_key_final(&k, &key), 0);
	return key;
}
