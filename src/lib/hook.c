/* The pre-commit hook installer: see include/pyc/hook.h and docs/git-hooks.md. */
#include "pyc/hook.h"

#include "pyc/buf.h"
#include "atomic_file_internal.h"
#include "git_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Our script is a few hundred bytes; anything this large is somebody else's. */
#define HOOK_READ_MAX (256 * 1024)

/* What is at the hook path: nothing, our script or something else. */
enum hook_state { HOOK_NONE, HOOK_OURS, HOOK_FOREIGN };

static char *join2(const char *dir, const char *name)
{
	pyc_buf b = PYC_BUF_INIT;
	if (pyc_buf_puts(&b, dir) < 0 || pyc_buf_putc(&b, '/') < 0 || pyc_buf_puts(&b, name) < 0) {
		pyc_buf_dispose(&b);
		return NULL;
	}
	return pyc_buf_detach(&b);
}

static int mkdir_p(const char *path, pyc_error *err)
{
	char *p = strdup(path);
	if (!p)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST) {
			int e = errno;
			pyc_error_set(err, PYC_EIO, e, "cannot create directory '%s'", p);
			free(p);
			return PYC_EIO;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return 0;
}

/* core.hooksPath: NULL when unset; otherwise absolute (relative to the work tree). */
static int hooks_path_config(char **out, bool *shared, git_repository *repo, const char *wd,
                             pyc_error *err)
{
	git_config *cfg = NULL;
	git_config_entry *entry = NULL;
	git_buf val = GIT_BUF_INIT;
	*out = NULL;
	int rc = git_repository_config_snapshot(&cfg, repo);
	if (rc < 0)
		return pyc_git__fail(err, PYC_EGIT, "cannot read the git configuration");
	rc = git_config_get_entry(&entry, cfg, "core.hooksPath");
	if (rc == GIT_ENOTFOUND) {
		rc = 0;
		goto done;
	}
	if (rc >= 0)
		rc = git_config_get_path(&val, cfg, "core.hooksPath");
	if (rc < 0) {
		rc = pyc_git__fail(err, PYC_EGIT, "cannot read core.hooksPath");
		goto done;
	}
	*shared = entry->level < GIT_CONFIG_LEVEL_LOCAL;
	pyc_buf b = PYC_BUF_INIT;
	if (val.ptr[0] != '/')
		rc = pyc_buf_puts(&b, wd);  /* wd ends in '/' */
	if (rc >= 0)
		rc = pyc_buf_puts(&b, val.ptr);
	while (rc >= 0 && b.len > 1 && b.ptr[b.len - 1] == '/')
		pyc_buf_truncate(&b, b.len - 1);
	if (rc < 0) {
		pyc_buf_dispose(&b);
		rc = pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
		goto done;
	}
	*out = pyc_buf_detach(&b);
done:
	git_buf_dispose(&val);
	git_config_entry_free(entry);
	git_config_free(cfg);
	return rc;
}

int pyc_hook_dir(pyc_git *g, char **out, bool *from_config, bool *shared, pyc_error *err)
{
	bool sh = false;
	char *dir = NULL;
	int rc = hooks_path_config(&dir, &sh, pyc_git__repo(g), pyc_git_workdir(g), err);
	if (rc < 0)
		return rc;
	if (from_config)
		*from_config = dir != NULL;
	if (shared)
		*shared = dir != NULL && sh;
	if (!dir) {
		/* The common dir, not the per-worktree git dir: worktrees share hooks. */
		pyc_buf b = PYC_BUF_INIT;
		if (pyc_buf_puts(&b, pyc_git_commondir(g)) < 0 || pyc_buf_puts(&b, "hooks") < 0) {
			pyc_buf_dispose(&b);
			return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
		}
		dir = pyc_buf_detach(&b);
	}
	*out = dir;
	return 0;
}

/* The fixed parts of the script around the quoted tool path. $0 is how git ran the hook,
 * so the chained hook is found next to it wherever the hooks directory is. */
static const char script_head[] =
	"#!/bin/sh\n"
	PYC_HOOK_MARKER "\n"
	"# Installed by 'pyc-tool hook install': blocks commits that stage Python bytecode.\n"
	"# Remove it with 'pyc-tool hook uninstall'; skip it once with 'git commit --no-verify'.\n"
	"\n"
	"# The hook that was here before ('hook install --chain') runs first; its failure aborts.\n"
	"legacy=\"$(dirname \"$0\")/" PYC_HOOK_LEGACY_NAME "\"\n"
	"if [ -x \"$legacy\" ]; then\n"
	"\t\"$legacy\" \"$@\" || exit $?\n"
	"fi\n"
	"\n"
	"# The pyc-tool that installed this hook, else the first one on PATH.\n"
	"pyc_tool=";
static const char script_tail[] =
	"\n"
	"if [ ! -x \"$pyc_tool\" ]; then\n"
	"\tpyc_tool=$(command -v pyc-tool) || {\n"
	"\t\techo 'pyc-tool hook: pyc-tool not found; install it or run: pyc-tool hook uninstall' >&2\n"
	"\t\texit 1\n"
	"\t}\n"
	"fi\n"
	"exec \"$pyc_tool\" check --staged\n";

static int put_shell_quoted(pyc_buf *b, const char *s)
{
	int rc = pyc_buf_putc(b, '\'');
	for (; rc >= 0 && *s; s++)
		rc = *s == '\'' ? pyc_buf_puts(b, "'\\''") : pyc_buf_putc(b, *s);
	return rc < 0 ? rc : pyc_buf_putc(b, '\'');
}

int pyc_hook_script(char **out, const char *tool_path, pyc_error *err)
{
	pyc_buf b = PYC_BUF_INIT;
	int rc = pyc_buf_puts(&b, script_head);
	if (rc >= 0)
		rc = put_shell_quoted(&b, tool_path ? tool_path : "");
	if (rc >= 0)
		rc = pyc_buf_puts(&b, script_tail);
	if (rc < 0) {
		pyc_buf_dispose(&b);
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	}
	*out = pyc_buf_detach(&b);
	return 0;
}

bool pyc_hook_is_ours(const char *data, size_t len)
{
	static const char marker[] = "\n" PYC_HOOK_MARKER "\n";
	return memmem(data, len, marker, sizeof(marker) - 1) != NULL;
}

/* Classify what is at path. Only a regular file carrying the marker is ours: a symlink
 * or anything else is treated as foreign, so it is never replaced silently. The bytes of
 * a regular file are left in *content, and its permission bits in *mode. */
static int hook_state(const char *path, enum hook_state *st, pyc_buf *content, mode_t *mode,
                      pyc_error *err)
{
	struct stat sb;
	*st = HOOK_NONE;
	if (lstat(path, &sb) != 0) {
		if (errno == ENOENT)
			return 0;
		return pyc_error_set(err, PYC_EIO, errno, "cannot stat '%s'", path);
	}
	*st = HOOK_FOREIGN;
	*mode = sb.st_mode & 07777;
	if (!S_ISREG(sb.st_mode) || sb.st_size > HOOK_READ_MAX)
		return 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return pyc_error_set(err, PYC_EIO, errno, "cannot open '%s'", path);
	char chunk[4096];
	size_t n;
	int rc = 0;
	while (rc >= 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = pyc_buf_put(content, chunk, n);
	if (rc >= 0 && ferror(f))
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot read '%s'", path);
	else if (rc < 0)
		rc = pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	fclose(f);
	if (rc >= 0 && pyc_hook_is_ours(content->ptr ? content->ptr : "", content->len))
		*st = HOOK_OURS;
	return rc;
}

static bool exists_nofollow(const char *path)
{
	struct stat sb;
	return lstat(path, &sb) == 0;
}

/* Replace the hook atomically, mode 0755 (git skips a hook that is not executable), so git
 * never runs a half-written one. */
static int write_hook(const char *path, const char *data, pyc_error *err)
{
	return pyc_atomic_file__replace(path, path, data, strlen(data), 0755, NULL, err);
}

struct hook_paths {
	char *dir, *hook, *legacy;
	bool from_config, shared;
};

static void hook_paths_free(struct hook_paths *p)
{
	free(p->dir);
	free(p->hook);
	free(p->legacy);
}

static int locate(pyc_git *g, struct hook_paths *p, pyc_hook_result *out, pyc_error *err)
{
	memset(p, 0, sizeof(*p));
	memset(out, 0, sizeof(*out));
	int rc = pyc_hook_dir(g, &p->dir, &p->from_config, &p->shared, err);
	if (rc < 0)
		return rc;
	p->hook = join2(p->dir, "pre-commit");
	p->legacy = join2(p->dir, PYC_HOOK_LEGACY_NAME);
	out->hook_path = p->hook ? strdup(p->hook) : NULL;
	out->from_hooks_path = p->from_config;
	if (!out->hook_path)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	return 0;
}

static int set_legacy(pyc_hook_result *out, const struct hook_paths *p, pyc_error *err)
{
	out->legacy_path = strdup(p->legacy);
	return out->legacy_path ? 0 : pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
}

/* Move the foreign hook aside, then put ours in its place; undo the move on failure. */
static int chain_hook(const struct hook_paths *p, const char *script, pyc_hook_result *out,
                      pyc_error *err)
{
	if (exists_nofollow(p->legacy))
		return pyc_error_set(err, PYC_EEXISTS, 0,
		                     "cannot chain: '%s' already exists; move it away first",
		                     p->legacy);
	if (rename(p->hook, p->legacy) != 0)
		return pyc_error_set(err, PYC_EIO, errno, "cannot rename '%s' to '%s'", p->hook,
		                     p->legacy);
	int rc = write_hook(p->hook, script, err);
	if (rc < 0) {
		(void)rename(p->legacy, p->hook);
		return rc;
	}
	out->action = PYC_HOOK_CHAINED;
	return set_legacy(out, p, err);
}

static int install_over(const struct hook_paths *p, enum hook_state st, const pyc_buf *cur,
                        mode_t mode, const char *script, pyc_hook_mode how,
                        pyc_hook_result *out, pyc_error *err)
{
	if (st == HOOK_OURS && mode == 0755 && cur->len == strlen(script) &&
	    memcmp(cur->ptr, script, cur->len) == 0) {
		out->action = PYC_HOOK_UNCHANGED;
		return 0;
	}
	if (st == HOOK_FOREIGN && how == PYC_HOOK_CHAIN)
		return chain_hook(p, script, out, err);
	if (st == HOOK_FOREIGN && how != PYC_HOOK_FORCE)
		return pyc_error_set(err, PYC_EEXISTS, 0,
		                     "'%s' exists and was not written by pyc-tool; use --chain to "
		                     "run it before pyc-tool, or --force to replace it", p->hook);
	int rc = write_hook(p->hook, script, err);
	if (rc < 0)
		return rc;
	out->action = st == HOOK_NONE ? PYC_HOOK_INSTALLED
	            : st == HOOK_OURS ? PYC_HOOK_UPDATED : PYC_HOOK_REPLACED;
	return 0;
}

int pyc_hook_install(pyc_git *g, const pyc_hook_opts *opts, pyc_hook_result *out,
                     pyc_error *err)
{
	struct hook_paths p;
	pyc_buf cur = PYC_BUF_INIT;
	char *script = NULL;
	enum hook_state st = HOOK_NONE;
	mode_t mode = 0;
	int rc = locate(g, &p, out, err);
	if (rc < 0)
		goto done;
	if (p.shared && opts->mode != PYC_HOOK_FORCE) {
		rc = pyc_error_set(err, PYC_EEXISTS, 0,
		                   "core.hooksPath '%s' comes from your global or system git "
		                   "configuration and is shared by every repository; use --force to "
		                   "install there anyway", p.dir);
		goto done;
	}
	rc = pyc_hook_script(&script, opts->tool_path, err);
	if (rc >= 0)
		rc = mkdir_p(p.dir, err);
	if (rc >= 0)
		rc = hook_state(p.hook, &st, &cur, &mode, err);
	if (rc >= 0)
		rc = install_over(&p, st, &cur, mode, script, opts->mode, out, err);
	if (rc >= 0 && !out->legacy_path && exists_nofollow(p.legacy))
		rc = set_legacy(out, &p, err);
done:
	free(script);
	pyc_buf_dispose(&cur);
	hook_paths_free(&p);
	return rc;
}

int pyc_hook_uninstall(pyc_git *g, pyc_hook_result *out, pyc_error *err)
{
	struct hook_paths p;
	pyc_buf cur = PYC_BUF_INIT;
	enum hook_state st = HOOK_NONE;
	mode_t mode = 0;
	int rc = locate(g, &p, out, err);
	if (rc >= 0)
		rc = hook_state(p.hook, &st, &cur, &mode, err);
	if (rc < 0)
		goto done;
	if (st == HOOK_FOREIGN) {
		rc = pyc_error_set(err, PYC_EEXISTS, 0,
		                   "'%s' was not written by pyc-tool; leaving it alone", p.hook);
	} else if (exists_nofollow(p.legacy)) {
		/* rename() replaces our script in one step: there is always a hook in place. */
		if (rename(p.legacy, p.hook) != 0)
			rc = pyc_error_set(err, PYC_EIO, errno, "cannot rename '%s' to '%s'", p.legacy,
			                   p.hook);
		else
			out->action = PYC_HOOK_RESTORED;
		if (rc >= 0)
			rc = set_legacy(out, &p, err);
	} else if (st == HOOK_OURS) {
		if (unlink(p.hook) != 0)
			rc = pyc_error_set(err, PYC_EIO, errno, "cannot remove '%s'", p.hook);
		else
			out->action = PYC_HOOK_REMOVED;
	} else {
		out->action = PYC_HOOK_ABSENT;
	}
done:
	pyc_buf_dispose(&cur);
	hook_paths_free(&p);
	return rc;
}

void pyc_hook_result_dispose(pyc_hook_result *r)
{
	if (!r)
		return;
	free(r->hook_path);
	free(r->legacy_path);
	memset(r, 0, sizeof(*r));
}
