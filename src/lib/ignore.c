/*
 * Is bytecode ignored by the repository's own rules, and appending the rules when it is
 * not (include/pyc/ignore.h, docs/git.md, shared/reference/git.md §2-3).
 */
#include "git_internal.h"

#include "pyc/buf.h"
#include "pyc/ignore.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Directories end in '/': libgit2 would otherwise stat() the (absent) path and judge it
 * a file, so `__pycache__/` would not match (git.md §2). */
static const char *const probes[PYC_IGNORE_NPROBES + 1] = {
	"__pycache__/", "pkg/__pycache__/", "pkg/__pycache__/m.cpython-311.pyc",
	"x.pyc", "x.pyo", "pkg/y.pyc", "pkg/y.pyo", NULL,
};

/* The levels whose files hold personal settings: their excludes must not count. */
static const int personal_levels[] = {
	GIT_CONFIG_LEVEL_PROGRAMDATA, GIT_CONFIG_LEVEL_SYSTEM,
	GIT_CONFIG_LEVEL_XDG, GIT_CONFIG_LEVEL_GLOBAL,
};
#define NLEVELS (sizeof(personal_levels) / sizeof(personal_levels[0]))

/* A second repository handle that sees only the repository's own rules, with the
 * process-wide libgit2 settings it changed, to restore on close. */
struct rules_view {
	git_repository *repo;
	git_buf saved[NLEVELS];
	int saved_owner_validation;
	bool changed;
};

/* Too deep a tree would exhaust descriptors; git itself has no such repositories. */
#define SCAN_MAX_DEPTH 200
/* A .gitignore larger than this is not a hand-written file we should rewrite. */
#define RULES_MAX_BYTES (16u << 20)

const char *const *pyc_ignore_probe_paths(void)
{
	return probes;
}

static void view_close(struct rules_view *v)
{
	git_repository_free(v->repo);
	v->repo = NULL;
	for (size_t i = 0; i < NLEVELS; i++) {
		if (v->changed)
			git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, personal_levels[i], v->saved[i].ptr);
		git_buf_dispose(&v->saved[i]);
	}
	if (v->changed)
		git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, v->saved_owner_validation);
	v->changed = false;
}

/*
 * libgit2 reads core.excludesFile from the global config and falls back to
 * $XDG_CONFIG_HOME/git/ignore; both hang off these search paths, which are
 * process-wide (git.md §2). Point them nowhere for the lifetime of a private handle.
 * Ownership was already validated by pyc_git_open with the real search paths (where
 * a global safe.directory lives), so the private open skips that check.
 */
static int view_open(struct rules_view *v, pyc_git *g, pyc_error *err)
{
	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < NLEVELS; i++)
		if (git_libgit2_opts(GIT_OPT_GET_SEARCH_PATH, personal_levels[i], &v->saved[i]) < 0)
			goto fail;
	if (git_libgit2_opts(GIT_OPT_GET_OWNER_VALIDATION, &v->saved_owner_validation) < 0)
		goto fail;
	v->changed = true;
	for (size_t i = 0; i < NLEVELS; i++)
		if (git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, personal_levels[i],
		                     "/nonexistent/pyc-tool-no-personal-config") < 0)
			goto fail;
	if (git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0) < 0)
		goto fail;
	if (git_repository_open_ext(&v->repo, pyc_git_gitdir(g), GIT_REPOSITORY_OPEN_NO_SEARCH |
	                            GIT_REPOSITORY_OPEN_NO_DOTGIT, NULL) < 0 ||
	    git_repository_set_workdir(v->repo, pyc_git_workdir(g), 0) < 0)
		goto fail;
	return 0;
fail:;
	int rc = pyc_git__fail(err, PYC_EGIT, "cannot open '%s' to read its ignore rules",
	                       pyc_git_gitdir(g));
	view_close(v);
	return rc;
}

/* One line as git reads it: without BOM (first line), CR, trailing blanks. */
static size_t norm_line(const char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n;
}

static bool line_is(const char *s, size_t n, const char *want)
{
	return strlen(want) == n && memcmp(s, want, n) == 0;
}

static bool is_dir_rule(const char *s, size_t n)
{
	return line_is(s, n, "__pycache__/") || line_is(s, n, "__pycache__") ||
	       line_is(s, n, "**/__pycache__/") || line_is(s, n, "**/__pycache__");
}

/* "*.py[co]" and its spellings with the letters reordered or 'd' added. */
static bool is_class_rule(const char *s, size_t n)
{
	if (n < 8 || memcmp(s, "*.py[", 5) != 0 || s[n - 1] != ']')
		return false;
	bool c = false, o = false;
	for (size_t i = 5; i < n - 1; i++) {
		if (s[i] == 'c')
			c = true;
		else if (s[i] == 'o')
			o = true;
		else if (s[i] != 'd')
			return false;
	}
	return c && o;
}

/* The lines of a rules file as git cuts them: a leading UTF-8 BOM is not part of the first
 * line, and a line ends before its '\n' (or at the end of the data). */
struct rule_lines {
	const char *data;
	size_t len;
};

static struct rule_lines rule_lines_start(const char *data, size_t len)
{
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		data += 3, len -= 3;
	return (struct rule_lines){ data, len };
}

/* The next line into *line and *n; false when there is none. */
static bool rule_lines_next(struct rule_lines *it, const char **line, size_t *n)
{
	if (it->len == 0)
		return false;
	const char *nl = memchr(it->data, '\n', it->len);
	*line = it->data;
	*n = nl ? (size_t)(nl - it->data) : it->len;
	size_t step = nl ? *n + 1 : *n;
	it->data += step;
	it->len -= step;
	return true;
}

void pyc_git__rules_present(const char *data, size_t len, bool *dir, bool *files)
{
	bool pyc = false, pyo = false;
	*dir = *files = false;
	struct rule_lines it = rule_lines_start(data, len);
	const char *l;
	size_t n;
	while (rule_lines_next(&it, &l, &n)) {
		size_t k = norm_line(l, n);
		*dir = *dir || is_dir_rule(l, k);
		*files = *files || is_class_rule(l, k);
		pyc = pyc || line_is(l, k, "*.pyc");
		pyo = pyo || line_is(l, k, "*.pyo");
	}
	*files = *files || (pyc && pyo);
}

static bool class_has_c_or_o(const char *p)
{
	for (; *p && *p != ']'; p++)
		if (*p == 'c' || *p == 'o')
			return true;
	return false;
}

/* Could this pattern match bytecode? __pycache__, or ".py" then c, o, ?, * or a class
 * holding c or o (`*.pyc`, `keep.pyo`, `*.py[cod]`, `*.py?`). */
bool pyc_git__mentions_files(const char *pat)
{
	for (const char *p = strstr(pat, ".py"); p; p = strstr(p + 1, ".py")) {
		char c = p[3];
		if (c == 'c' || c == 'o' || c == '?' || c == '*')
			return true;
		if (c == '[' && class_has_c_or_o(p + 4))
			return true;
	}
	return false;
}

bool pyc_git__mentions_dir(const char *pat)
{
	return strstr(pat, "__pycache__") != NULL;
}

static int add_negation(pyc_ignore_report *r, size_t *cap, const char *shown, size_t line,
                        const char *rule, size_t len)
{
	if (r->n_negations == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		pyc_ignore_negation *n = realloc(r->negations, ncap * sizeof(*n));
		if (!n)
			return PYC_ENOMEM;
		r->negations = n;
		*cap = ncap;
	}
	pyc_ignore_negation *e = &r->negations[r->n_negations];
	e->file = strdup(shown);
	e->rule = strndup(rule, len);
	e->line = line;
	e->overridden = false;
	if (!e->file || !e->rule) {
		free(e->file);
		free(e->rule);
		return PYC_ENOMEM;
	}
	r->n_negations++;
	return 0;
}

/* Lines (1-based, 0 = none) of the last rules in a file that ignore bytecode again. */
struct positive_lines {
	size_t dir, files;
};

/* Mark the negations from index `first` on as overridden where a later rule of the same
 * file (last match wins) or of a file with higher precedence re-ignores what they name. */
static void mark_later_rules(pyc_ignore_report *r, size_t first, struct positive_lines p)
{
	for (size_t i = first; i < r->n_negations; i++) {
		pyc_ignore_negation *n = &r->negations[i];
		const char *pat = n->rule + 1;
		if ((n->line < p.dir && pyc_git__mentions_dir(pat)) ||
		    (n->line < p.files && pyc_git__mentions_files(pat)))
			n->overridden = true;
	}
}

/* Where a rule's pattern ends for libgit2: before one trailing CR and the unescaped
 * blanks before it. */
static size_t rule_end(const char *s, size_t start, size_t end)
{
	if (end > start && s[end - 1] == '\r')
		end--;
	while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t') &&
	       !(end - 1 > start && s[end - 2] == '\\'))
		end--;
	return end;
}

/* Where the pattern starts for libgit2: after an optional '!' and one leading slash. */
static size_t rule_start(const char *s, size_t n)
{
	size_t i = n > 0 && s[0] == '!' ? 1 : 0;
	return i < n && s[i] == '/' ? i + 1 : i;
}

/* Where libgit2's rule parser stops: the first unescaped vertical tab or form feed. */
static size_t pattern_stop(const char *s, size_t start, size_t n)
{
	size_t i = start;
	bool escaped = false;
	for (; i < n && (escaped || (s[i] != '\v' && s[i] != '\f')); i++)
		escaped = !escaped && s[i] == '\\';
	return i;
}

/*
 * Would libgit2 1.5 loop forever on this line? Its rule parser stops a pattern at the
 * first unescaped vertical tab or form feed and, when the pattern is empty there (after
 * an optional '!', one leading slash, one trailing CR and trailing blanks), returns without
 * moving past that character, so the file parser calls it again at the same place.
 * Git itself reads such a line as a pattern holding the character.
 */
static bool stalls_libgit2(const char *s, size_t n)
{
	if (n > 0 && s[0] == '#')
		return false;
	size_t start = rule_start(s, n), i = pattern_stop(s, start, n);
	return i < n && rule_end(s, start, i) == start;
}

/*
 * Would libgit2 1.5 crash on this line? A negation whose pattern is only a slash ("!//",
 * "!\/", "!/\/", trailing blanks allowed) becomes an empty directory pattern, and
 * git_ignore_path_is_ignored then reads through a NULL pointer once an earlier rule has
 * matched the path (found by fuzz.gitignore). Git reads it as a rule that matches nothing.
 */
static bool crashes_libgit2(const char *s, size_t n)
{
	if (n == 0 || s[0] != '!')
		return false;
	size_t start = rule_start(s, n), end = rule_end(s, start, pattern_stop(s, start, n));
	size_t len = end - start;
	return (len == 1 && s[start] == '/') ||
	       (len == 2 && s[start] == '\\' && s[start + 1] == '/');
}

/* Refuse a rules file that would hang or crash libgit2. It reads the text up to a NUL
 * byte, after a BOM, and moves from one line to the next past every '\n' and '\r' in a
 * row. */
static int refuse_libgit2_traps(const char *shown, const char *data, size_t len, pyc_error *err)
{
	struct rule_lines it = rule_lines_start(data, strnlen(data, len));
	const char *l;
	size_t n;
	for (size_t line = 1; rule_lines_next(&it, &l, &n); line++) {
		size_t cr = 0;
		while (line > 1 && cr < n && l[cr] == '\r')
			cr++;
		if (stalls_libgit2(l + cr, n - cr))
			return pyc_error_set(err, PYC_EUNSUPPORTED, 0, "'%s' line %zu: a rule that is "
			                     "empty up to a vertical tab or form feed hangs libgit2 1.5; "
			                     "remove that character", shown, line);
		if (crashes_libgit2(l + cr, n - cr))
			return pyc_error_set(err, PYC_EUNSUPPORTED, 0, "'%s' line %zu: a negation of "
			                     "only a slash crashes libgit2 1.5 (it matches nothing); "
			                     "remove the line", shown, line);
	}
	return 0;
}

/* Record the bytecode negations of one rules file. Lines as git reads them: a leading
 * UTF-8 BOM and a trailing CR are not part of the rule; "\!" is a literal '!'. */
static int scan_rules(pyc_ignore_report *r, size_t *cap, const char *shown,
                      const char *data, size_t len, struct positive_lines *pos, pyc_error *err)
{
	size_t line = 0, first = r->n_negations;
	struct positive_lines p = { 0, 0 };
	int rc = refuse_libgit2_traps(shown, data, len, err);
	if (rc != 0)
		return rc;
	struct rule_lines it = rule_lines_start(data, len);
	const char *l;
	size_t n;
	while (rule_lines_next(&it, &l, &n)) {
		size_t k = norm_line(l, n);
		line++;
		if (k > 1 && l[0] == '!') {
			char *rule = strndup(l, k);
			if (!rule)
				return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
			bool hit = pyc_git__mentions_dir(rule + 1) || pyc_git__mentions_files(rule + 1);
			free(rule);
			if (hit && add_negation(r, cap, shown, line, l, k) != 0)
				return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
		}
		if (is_dir_rule(l, k))
			p.dir = line;
		if (is_class_rule(l, k) || line_is(l, k, "*.pyc") || line_is(l, k, "*.pyo"))
			p.files = line;
	}
	mark_later_rules(r, first, p);
	if (pos)
		*pos = p;
	return 0;
}

int pyc_git__read_rules_file(int dirfd, const char *name, const char *shown, pyc_buf *out,
                           struct stat *st, pyc_error *err)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return PYC_ENOTFOUND;
	if (fd < 0 && errno == ELOOP)
		return pyc_error_set(err, PYC_EUNSUPPORTED, 0, "'%s' is a symbolic link", shown);
	if (fd < 0)
		return pyc_error_set(err, PYC_EIO, errno, "cannot open '%s'", shown);
	struct stat sb;
	int rc = 0;
	if (fstat(fd, &sb) != 0)
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot stat '%s'", shown);
	else if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > RULES_MAX_BYTES)
		rc = pyc_error_set(err, PYC_EUNSUPPORTED, 0,
		                   "'%s' is not a regular file of at most 16 MiB", shown);
	char chunk[8192];
	for (ssize_t got; rc == 0 && (got = read(fd, chunk, sizeof(chunk))) != 0;) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			rc = pyc_error_set(err, PYC_EIO, errno, "cannot read '%s'", shown);
		else if (pyc_buf_put(out, chunk, (size_t)got) != 0)
			rc = pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	}
	close(fd);
	if (rc == 0 && st)
		*st = sb;
	return rc;
}

struct scan {
	git_repository *repo;
	pyc_ignore_report *rep;
	size_t cap;
	pyc_buf rel;       /* "" or "a/b/": the directory being scanned, work-tree relative */
	struct positive_lines root;  /* the root .gitignore's re-ignoring rules */
	pyc_buf exclude;   /* <commondir>/info/exclude, empty when absent */
	char *exclude_shown;
	pyc_error *err;
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The subdirectory names of dfd worth descending into, sorted; caller frees. */
static int list_subdirs(int dfd, char ***out, size_t *n, const char *shown, pyc_error *err)
{
	*out = NULL;
	*n = 0;
	int dup_fd = dup(dfd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return pyc_error_set(err, PYC_EIO, errno, "cannot read directory '%s'", shown);
	}
	size_t cap = 0;
	int rc = 0;
	struct dirent *e;
	for (errno = 0; rc == 0 && (e = readdir(d)) != NULL; errno = 0) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    strcmp(e->d_name, ".git") == 0)
			continue;
		struct stat sb;
		bool is_dir = e->d_type == DT_DIR;
		if (e->d_type == DT_UNKNOWN)
			is_dir = fstatat(dfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
			         S_ISDIR(sb.st_mode);
		if (!is_dir)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			char **grown = realloc(*out, cap * sizeof(*grown));
			if (!grown) {
				rc = pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
				break;
			}
			*out = grown;
		}
		if (((*out)[*n] = strdup(e->d_name)) == NULL)
			rc = pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
		else
			(*n)++;
	}
	if (rc == 0 && errno != 0)
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot read directory '%s'", shown);
	closedir(d);
	if (rc == 0 && *n > 1)
		qsort(*out, *n, sizeof(**out), cmp_names);
	return rc;
}

static int scan_dir(struct scan *s, int dfd, int depth);

/* Descend into rel/name unless git would not: ignored directories (their .gitignore
 * files never apply) and nested repositories (they have rules of their own). */
static int scan_subdir(struct scan *s, int dfd, const char *name, int depth)
{
	size_t keep = s->rel.len;
	int rc = 0, ignored = 0;
	if (pyc_buf_printf(&s->rel, "%s/", name) != 0) {
		rc = pyc_error_set(s->err, PYC_ENOMEM, 0, "out of memory");
		goto done;
	}
	int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		goto done;  /* vanished or unreadable: git could not read its rules either */
	if (faccessat(sub, ".git", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		close(sub);
		goto done;
	}
	if (git_ignore_path_is_ignored(&ignored, s->repo, pyc_buf_cstr(&s->rel)) < 0)
		rc = pyc_git__fail(s->err, PYC_EGIT, "cannot match '%s'", pyc_buf_cstr(&s->rel));
	else if (!ignored)
		rc = scan_dir(s, sub, depth + 1);
	close(sub);
done:
	pyc_buf_truncate(&s->rel, keep);
	return rc;
}

static int scan_dir(struct scan *s, int dfd, int depth)
{
	if (depth > SCAN_MAX_DEPTH)
		return 0;
	pyc_buf shown = PYC_BUF_INIT, data = PYC_BUF_INIT;
	char **names = NULL;
	size_t n = 0;
	int rc = pyc_buf_printf(&shown, "%s.gitignore", pyc_buf_cstr(&s->rel));
	if (rc != 0) {
		rc = pyc_error_set(s->err, PYC_ENOMEM, 0, "out of memory");
		goto done;
	}
	rc = pyc_git__read_rules_file(dfd, ".gitignore", shown.ptr, &data, NULL, s->err);
	if (rc == PYC_ENOTFOUND || rc == PYC_EUNSUPPORTED) {
		rc = 0;  /* absent, or a symlink/special file git (>= 2.32) does not read */
		pyc_error_clear(s->err);
	} else if (rc == 0) {
		rc = scan_rules(s->rep, &s->cap, shown.ptr, data.ptr ? data.ptr : "", data.len,
		                s->rel.len ? NULL : &s->root, s->err);
	}
	if (rc == 0)
		rc = list_subdirs(dfd, &names, &n, s->rel.len ? s->rel.ptr : ".", s->err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = scan_subdir(s, dfd, names[i], depth);
done:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	pyc_buf_dispose(&shown);
	pyc_buf_dispose(&data);
	return rc;
}

char *pyc_git__shown_path(pyc_git *g, const char *path)
{
	const char *wd = pyc_git_workdir(g);
	size_t n = strlen(wd);
	return strdup(strncmp(path, wd, n) == 0 ? path + n : path);
}

/* libgit2 reads info/exclude with the first question asked: load and check it first. */
static int load_info_exclude(pyc_git *g, struct scan *s)
{
	pyc_buf path = PYC_BUF_INIT;
	int rc = 0;
	if (pyc_buf_printf(&path, "%sinfo/exclude", pyc_git_commondir(g)) != 0 ||
	    !(s->exclude_shown = pyc_git__shown_path(g, path.ptr))) {
		rc = pyc_error_set(s->err, PYC_ENOMEM, 0, "out of memory");
		goto done;
	}
	rc = pyc_git__read_rules_file(AT_FDCWD, path.ptr, s->exclude_shown, &s->exclude, NULL,
	                              s->err);
	if (rc == PYC_ENOTFOUND || rc == PYC_EUNSUPPORTED) {
		rc = 0;
		pyc_error_clear(s->err);
	} else if (rc == 0) {
		rc = refuse_libgit2_traps(s->exclude_shown, pyc_buf_cstr(&s->exclude), s->exclude.len, s->err);
	}
done:
	pyc_buf_dispose(&path);
	return rc;
}

static int scan_info_exclude(struct scan *s)
{
	size_t first = s->rep->n_negations;
	int rc = scan_rules(s->rep, &s->cap, s->exclude_shown, pyc_buf_cstr(&s->exclude),
	                    s->exclude.len, NULL, s->err);
	/* Any such rule in the root .gitignore outranks info/exclude. */
	struct positive_lines all = { s->root.dir ? SIZE_MAX : 0, s->root.files ? SIZE_MAX : 0 };
	if (rc == 0)
		mark_later_rules(s->rep, first, all);
	return rc;
}

/* git cannot re-include a file whose parent directory is excluded; libgit2 1.5.1 can
 * (git.md §2 b), so apply git's rule: a probe under an ignored directory is ignored. */
static int is_ignored_like_git(git_repository *repo, const char *path, int *out)
{
	char prefix[64];
	size_t n = strlen(path);
	assert(n < sizeof(prefix));
	*out = 0;
	for (size_t i = 0; i < n && !*out; i++) {
		if (path[i] != '/' && i + 1 < n)
			continue;
		memcpy(prefix, path, i + 1);
		prefix[i + 1] = '\0';
		if (git_ignore_path_is_ignored(out, repo, prefix) < 0)
			return -1;
	}
	return 0;
}

static int run_probes(git_repository *repo, pyc_ignore_report *out, pyc_error *err)
{
	for (size_t i = 0; probes[i]; i++) {
		int ignored = 0;
		if (is_ignored_like_git(repo, probes[i], &ignored) < 0)
			return pyc_git__fail(err, PYC_EGIT, "cannot match '%s'", probes[i]);
		if (!ignored)
			out->not_ignored[out->n_not_ignored++] = probes[i];
	}
	return 0;
}

int pyc_ignore_probe(pyc_git *g, pyc_ignore_report *out, pyc_error *err)
{
	memset(out, 0, sizeof(*out));
	struct rules_view v;
	int rc = view_open(&v, g, err);
	if (rc != 0)
		return rc;
	struct scan s = { .repo = v.repo, .rep = out, .rel = PYC_BUF_INIT,
	                  .exclude = PYC_BUF_INIT, .err = err };
	/* Every rules file libgit2 reads is checked by refuse_libgit2_traps before: info/exclude now,
	 * each .gitignore by the scan before it asks about that directory's subdirectories,
	 * and the probes come last. */
	rc = load_info_exclude(g, &s);
	if (rc == 0) {
		int wfd = open(pyc_git_workdir(g), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (wfd < 0)
			rc = pyc_error_set(err, PYC_EIO, errno, "cannot open the work tree '%s'",
			                   pyc_git_workdir(g));
		else {
			rc = scan_dir(&s, wfd, 0);
			close(wfd);
		}
	}
	if (rc == 0)
		rc = scan_info_exclude(&s);
	if (rc == 0)
		rc = run_probes(v.repo, out, err);
	pyc_buf_dispose(&s.rel);
	pyc_buf_dispose(&s.exclude);
	free(s.exclude_shown);
	view_close(&v);
	if (rc != 0)
		pyc_ignore_report_dispose(out);
	return rc;
}

void pyc_ignore_report_dispose(pyc_ignore_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_negations; i++) {
		free(r->negations[i].file);
		free(r->negations[i].rule);
	}
	free(r->negations);
	memset(r, 0, sizeof(*r));
}
