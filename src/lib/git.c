/*
 * The repository opener (include/pyc/git.h, docs/git.md). It follows the recipe in
 * shared/reference/git.md §1 rather than GIT_REPOSITORY_OPEN_FROM_ENV, because
 * libgit2 1.5.1 fails FROM_ENV whenever GIT_WORK_TREE is set, and git exports it to
 * hooks (`git --git-dir=... --work-tree=... commit`).
 */
#include "git_internal.h"

#include "pyc/buf.h"

#include <git2/sys/repository.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pyc_git {
	git_repository *repo;
	git_index *index;       /* owned reference, NULL until pyc_git__index() */
	char *index_file;       /* absolute GIT_INDEX_FILE, or NULL */
	char *workdir;          /* all three end in '/' */
	char *gitdir;
	char *commondir;
	bool libgit2_ready;     /* git_libgit2_init() succeeded: balance it */
};

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

int pyc_git__fail(pyc_error *err, int code, const char *fmt, ...)
{
	const git_error *ge = git_error_last();
	pyc_buf b = PYC_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int rc = pyc_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (rc == 0 && ge && ge->message && *ge->message)
		rc = pyc_buf_printf(&b, ": %s", ge->message);
	if (rc != 0) {
		pyc_buf_dispose(&b);
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	}
	pyc_error_set(err, code, 0, "%s", pyc_buf_cstr(&b));
	pyc_buf_dispose(&b);
	return code;
}

int pyc_git__index_fail(pyc_error *err, const char *path)
{
	const git_error *ge = git_error_last();
	const char *m = ge && ge->message ? ge->message : "";
	/* libgit2 1.5.1 cannot read these index extensions at all (git.md §4). */
	if (strstr(m, "mandatory extension") && strstr(m, "'link'"))
		return pyc_error_set(err, PYC_EUNSUPPORTED, 0,
		                     "the index '%s' is a split index, which libgit2 cannot read; "
		                     "convert it with 'git update-index --no-split-index'", path);
	if (strstr(m, "mandatory extension") && strstr(m, "'sdir'"))
		return pyc_error_set(err, PYC_EUNSUPPORTED, 0,
		                     "the index '%s' is a sparse index, which libgit2 cannot read; "
		                     "run 'git sparse-checkout disable', or 'git config index.sparse false' "
		                     "and let git rewrite the index", path);
	return pyc_git__fail(err, PYC_EGIT, "cannot read the index '%s'", path);
}

/* "dir/" + rel, absolute against the cwd when rel is relative; caller frees. */
static char *abs_path(const char *rel)
{
	pyc_buf b = PYC_BUF_INIT;
	if (rel[0] != '/') {
		char *cwd = getcwd(NULL, 0);
		if (!cwd)
			return NULL;
		int rc = pyc_buf_printf(&b, "%s/", cwd);
		free(cwd);
		if (rc != 0)
			return NULL;
	}
	if (pyc_buf_puts(&b, rel) != 0) {
		pyc_buf_dispose(&b);
		return NULL;
	}
	return pyc_buf_detach(&b);
}

/* Report why the walk found no usable repository: ownership or plain absence. */
static int open_failed(int rc, const char *start, pyc_error *err)
{
	const git_error *ge = git_error_last();
	const char *m = ge && ge->message ? ge->message : "";
	/* 1.5.1 reports a foreign-owned repository as ENOTFOUND "safe.directory"
	 * (fixed upstream in PR #6408); later versions say GIT_EOWNER. */
	if (rc == GIT_EOWNER || strstr(m, "safe.directory")) {
		git_buf found = { 0 };
		const char *where = start;
		if (git_repository_discover(&found, start, 0, NULL) == 0) {
			size_t n = strlen(found.ptr);
			if (n > 6 && strcmp(found.ptr + n - 6, "/.git/") == 0)
				found.ptr[n - 5] = '\0';  /* git trusts the work tree's top */
			where = found.ptr;
		}
		pyc_error_set(err, PYC_EGIT, 0,
		              "detected dubious ownership in repository at '%s' (owned by another "
		              "user); to trust it run: git config --global --add safe.directory '%s'",
		              where, where);
		git_buf_dispose(&found);
		return PYC_EGIT;
	}
	if (rc == GIT_ENOTFOUND)
		return pyc_error_set(err, PYC_ENOTFOUND, 0,
		                     "not a git repository (or any of the parent directories): '%s'",
		                     start);
	if (strstr(m, "unsupported extension"))
		return pyc_git__fail(err, PYC_EUNSUPPORTED, "cannot open the repository at '%s'",
		                     start);
	return pyc_git__fail(err, PYC_EGIT, "cannot open the repository at '%s'", start);
}

/* libgit2 1.5.1 refuses extensions.worktreeConfig unless told it is known;
 * config.worktree is then simply not read (git.md §1). Process-wide, idempotent. */
static int allow_extensions(pyc_error *err)
{
	const char *ext[] = { "worktreeconfig" };
	if (git_libgit2_opts(GIT_OPT_SET_EXTENSIONS, ext, (size_t)1) < 0)
		return pyc_git__fail(err, PYC_EGIT, "cannot configure libgit2 extensions");
	return 0;
}

/* git: GIT_DIR without GIT_WORK_TREE or core.worktree makes the cwd the top of the
 * work tree. libgit2 would take the gitdir's parent instead, so say it explicitly. */
static int cwd_as_workdir(pyc_git *g, const char *start, pyc_error *err)
{
	git_config *cfg = NULL;
	git_config_entry *e = NULL;
	if (git_repository_config_snapshot(&cfg, g->repo) < 0)
		return pyc_git__fail(err, PYC_EGIT, "cannot read the repository configuration");
	int rc = git_config_get_entry(&e, cfg, "core.worktree");
	git_config_entry_free(e);
	git_config_free(cfg);
	if (rc == 0)
		return 0;  /* libgit2 already honours core.worktree */
	if (git_repository_set_workdir(g->repo, start, 0) < 0)
		return pyc_git__fail(err, PYC_EGIT, "cannot use '%s' as the work tree", start);
	return 0;
}

static int open_repo(pyc_git *g, const char *start, pyc_error *err)
{
	const char *gd = env_nonempty("GIT_DIR");
	const char *wt = env_nonempty("GIT_WORK_TREE");
	int rc;
	if (gd)
		rc = git_repository_open_ext(&g->repo, gd, GIT_REPOSITORY_OPEN_NO_SEARCH |
		                             GIT_REPOSITORY_OPEN_NO_DOTGIT, NULL);
	else
		rc = git_repository_open_ext(&g->repo, start, 0,
		                             getenv("GIT_CEILING_DIRECTORIES"));
	if (rc < 0)
		return open_failed(rc, gd ? gd : start, err);
	if (wt) {
		if (git_repository_set_workdir(g->repo, wt, 0) < 0)
			return pyc_git__fail(err, PYC_EGIT, "cannot use GIT_WORK_TREE '%s'", wt);
	} else if (gd && !git_repository_is_bare(g->repo)) {
		if ((rc = cwd_as_workdir(g, start, err)) != 0)
			return rc;
	}
	if (git_repository_is_bare(g->repo) || !git_repository_workdir(g->repo))
		return pyc_error_set(err, PYC_EUNSUPPORTED, 0,
		                     "'%s' is a bare repository; pyc-tool needs a work tree",
		                     git_repository_path(g->repo));
	return 0;
}

/* GIT_INDEX_FILE (relative to the cwd, as git means it) becomes the repository's
 * index, so every libgit2 call that consults the index sees what git will commit. */
static int install_index_file(pyc_git *g, pyc_error *err)
{
	const char *v = env_nonempty("GIT_INDEX_FILE");
	if (!v)
		return 0;
	g->index_file = abs_path(v);
	if (!g->index_file)
		return pyc_error_set(err, PYC_EIO, errno, "cannot resolve GIT_INDEX_FILE '%s'", v);
	if (git_index_open(&g->index, g->index_file) < 0)
		return pyc_git__index_fail(err, g->index_file);
	if (git_repository_set_index(g->repo, g->index) < 0)
		return pyc_git__fail(err, PYC_EGIT, "cannot use the index '%s'", g->index_file);
	return 0;
}

static int copy_dirs(pyc_git *g, pyc_error *err)
{
	g->workdir = strdup(git_repository_workdir(g->repo));
	g->gitdir = strdup(git_repository_path(g->repo));
	g->commondir = strdup(git_repository_commondir(g->repo));
	if (!g->workdir || !g->gitdir || !g->commondir)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	return 0;
}

int pyc_git_open(pyc_git **out, const char *start_dir, pyc_error *err)
{
	*out = NULL;
	const char *common = env_nonempty("GIT_COMMON_DIR");
	if (common)
		return pyc_error_set(err, PYC_EUNSUPPORTED, 0,
		                     "GIT_COMMON_DIR is set ('%s'); pyc-tool cannot open such a "
		                     "repository (libgit2 does not support it)", common);
	pyc_git *g = calloc(1, sizeof(*g));
	if (!g)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	int rc;
	if (git_libgit2_init() < 0) {
		rc = pyc_git__fail(err, PYC_EGIT, "cannot initialise libgit2");
		goto fail;
	}
	g->libgit2_ready = true;
	if ((rc = allow_extensions(err)) != 0 ||
	    (rc = open_repo(g, start_dir ? start_dir : ".", err)) != 0 ||
	    (rc = install_index_file(g, err)) != 0 ||
	    (rc = copy_dirs(g, err)) != 0)
		goto fail;
	*out = g;
	return 0;
fail:
	pyc_git_free(g);
	return rc;
}

git_repository *pyc_git__repo(pyc_git *g)
{
	return g->repo;
}

const char *pyc_git__index_file(const pyc_git *g)
{
	return g->index_file;
}

int pyc_git__index(pyc_git *g, git_index **out, pyc_error *err)
{
	*out = NULL;
	if (!g->index && git_repository_index(&g->index, g->repo) < 0) {
		g->index = NULL;
		pyc_buf p = PYC_BUF_INIT;
		int rc = pyc_buf_printf(&p, "%sindex", g->gitdir);
		rc = rc ? pyc_error_set(err, PYC_ENOMEM, 0, "out of memory")
		        : pyc_git__index_fail(err, pyc_buf_cstr(&p));
		pyc_buf_dispose(&p);
		return rc;
	}
	*out = g->index;
	return 0;
}

const char *pyc_git_workdir(const pyc_git *g)
{
	return g->workdir;
}

const char *pyc_git_gitdir(const pyc_git *g)
{
	return g->gitdir;
}

const char *pyc_git_commondir(const pyc_git *g)
{
	return g->commondir;
}

static bool has_suffix(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);
	return n >= k && memcmp(s + n - k, suf, k) == 0;
}

bool pyc_git_is_bytecode_path(const char *path)
{
	const char *seg = path;
	for (;;) {
		const char *slash = strchr(seg, '/');
		size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
		if (n == 11 && memcmp(seg, "__pycache__", 11) == 0)
			return true;
		if (!slash)
			return has_suffix(seg, n, ".pyc") || has_suffix(seg, n, ".pyo");
		seg = slash + 1;
	}
}

void pyc_git_free(pyc_git *g)
{
	if (!g)
		return;
	git_index_free(g->index);
	git_repository_free(g->repo);
	free(g->index_file);
	free(g->workdir);
	free(g->gitdir);
	free(g->commondir);
	if (g->libgit2_ready)
		git_libgit2_shutdown();
	free(g);
}
