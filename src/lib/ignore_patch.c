/*
 * pyc_ignore_patch: append the bytecode rules to .gitignore or info/exclude, keeping
 * the file's bytes and replacing it atomically (include/pyc/ignore.h, git.md §3).
 */
#include "atomic_file_internal.h"
#include "git_internal.h"

#include "pyc/buf.h"
#include "pyc/ignore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The EOL of the first line ending; LF for a file without one. */
static const char *detect_eol(const char *data, size_t len)
{
	const char *nl = memchr(data, '\n', len);
	return nl && nl > data && nl[-1] == '\r' ? "\r\n" : "\n";
}

/* Does text that ends in '\n' end with an empty line (or consist of one)? */
static bool ends_with_blank_line(const char *d, size_t n)
{
	size_t i = n - 1;
	if (i > 0 && d[i - 1] == '\r')
		i--;
	return i == 0 || d[i - 1] == '\n';
}

/* old bytes + [EOL if the last line lacks one] + [blank line] + comment + rules. */
static int build_content(pyc_buf *out, const pyc_buf *old, const pyc_ignore_result *r)
{
	const char *d = old->ptr ? old->ptr : "";
	const char *eol = detect_eol(d, old->len);
	int rc = pyc_buf_put(out, d, old->len);
	if (rc == 0 && old->len > 0 && d[old->len - 1] != '\n')
		rc = pyc_buf_puts(out, eol);
	if (rc == 0 && out->len > 0 && !ends_with_blank_line(out->ptr, out->len))
		rc = pyc_buf_puts(out, eol);
	if (rc == 0)
		rc = pyc_buf_printf(out, "%s%s", PYC_IGNORE_COMMENT, eol);
	for (size_t i = 0; rc == 0 && i < r->n_added; i++)
		rc = pyc_buf_printf(out, "%s%s", r->added[i], eol);
	return rc;
}

static mode_t new_file_mode(void)
{
	/* The only portable way to learn the umask is to set it; put it straight back. */
	mode_t mask = umask(022);
	umask(mask);
	return 0666 & ~mask;
}

/* The target keeps its mode and owner; a new file gets 0666 & ~umask. `old` is NULL for a
 * new file. */
static int replace_file(const char *target, const char *shown, const pyc_buf *data,
                        const struct stat *old, pyc_error *err)
{
	return pyc_atomic_file__replace(target, shown, data->ptr ? data->ptr : "", data->len,
	                        old ? old->st_mode & 07777 : new_file_mode(), old, err);
}

static int choose_target(pyc_git *g, const pyc_ignore_opts *o, pyc_ignore_result *r,
                         pyc_error *err)
{
	pyc_buf p = PYC_BUF_INIT;
	int rc = o->exclude_file ? pyc_buf_printf(&p, "%sinfo/exclude", pyc_git_commondir(g))
	                         : pyc_buf_printf(&p, "%s.gitignore", pyc_git_workdir(g));
	if (rc == 0 && (r->target = pyc_buf_detach(&p)) != NULL)
		r->target_shown = pyc_git__shown_path(g, r->target);
	pyc_buf_dispose(&p);
	if (!r->target || !r->target_shown)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	return 0;
}

/* info/ may be missing (git init --template= or a clone without templates). */
static int make_info_dir(const char *target, pyc_error *err)
{
	pyc_buf dir = PYC_BUF_INIT;
	const char *slash = strrchr(target, '/');
	int rc = pyc_buf_put(&dir, target, (size_t)(slash - target));
	if (rc != 0)
		rc = pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	else if (mkdir(dir.ptr, 0777) != 0 && errno != EEXIST)
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot create '%s'", dir.ptr);
	pyc_buf_dispose(&dir);
	return rc;
}

/* After appending, the last matching rule wins: negations earlier in the target, and
 * in info/exclude when the target is a .gitignore (lower precedence), no longer
 * un-ignore what our rules cover. Nested .gitignore files still take precedence. */
static void mark_overridden(pyc_ignore_report *rep, const pyc_ignore_result *r,
                            bool exclude_file, const char *exclude_shown)
{
	bool dir = false, files = false;
	for (size_t i = 0; i < r->n_added; i++) {
		dir = dir || strcmp(r->added[i], PYC_IGNORE_RULE_DIR) == 0;
		files = files || strcmp(r->added[i], PYC_IGNORE_RULE_FILES) == 0;
	}
	for (size_t i = 0; i < rep->n_negations; i++) {
		pyc_ignore_negation *n = &rep->negations[i];
		bool covered = strcmp(n->file, r->target_shown) == 0 ||
		               (!exclude_file && strcmp(n->file, exclude_shown) == 0);
		const char *pat = n->rule + 1;
		if (covered && ((dir && pyc_git__mentions_dir(pat)) ||
		                (files && pyc_git__mentions_files(pat))))
			n->overridden = true;
	}
}

/* Read the target and decide which rules are missing from it. */
static int plan(pyc_ignore_result *r, pyc_buf *old, struct stat *st, bool *exists,
                pyc_error *err)
{
	int rc = pyc_git__read_rules_file(AT_FDCWD, r->target, r->target_shown, old, st, err);
	if (rc == PYC_EUNSUPPORTED && err && strstr(err->message, "symbolic link"))
		return pyc_error_set(err, PYC_EUNSUPPORTED, 0,
		                     "'%s' is a symbolic link; pyc-tool will not replace it (git "
		                     "does not read a symlinked .gitignore either): edit the file it "
		                     "points to, or use --exclude-file", r->target_shown);
	if (rc != 0 && rc != PYC_ENOTFOUND)
		return rc;
	*exists = rc == 0;
	r->created = !*exists;
	bool dir, files;
	pyc_git__rules_present(old->ptr ? old->ptr : "", old->len, &dir, &files);
	if (!dir)
		r->added[r->n_added++] = PYC_IGNORE_RULE_DIR;
	if (!files)
		r->added[r->n_added++] = PYC_IGNORE_RULE_FILES;
	return 0;
}

int pyc_ignore_patch(pyc_git *g, const pyc_ignore_opts *o, pyc_ignore_result *out,
                        pyc_error *err)
{
	memset(out, 0, sizeof(*out));
	pyc_buf old = PYC_BUF_INIT, next = PYC_BUF_INIT;
	char *exclude_shown = NULL;
	struct stat st;
	bool exists = false;
	int rc = choose_target(g, o, out, err);
	if (rc == 0)
		rc = pyc_ignore_probe(g, &out->before, err);
	/* Everything ignored already (possibly by the other file): nothing to add. A probe
	 * left un-ignored with our rules present means a negation wins: report, no append. */
	if (rc != 0 || out->before.n_not_ignored == 0)
		goto done;
	if ((rc = plan(out, &old, &st, &exists, err)) != 0 || out->n_added == 0)
		goto done;
	pyc_buf ex = PYC_BUF_INIT;
	if (pyc_buf_printf(&ex, "%sinfo/exclude", pyc_git_commondir(g)) != 0 ||
	    !(exclude_shown = pyc_git__shown_path(g, ex.ptr)) ||
	    build_content(&next, &old, out) != 0) {
		pyc_buf_dispose(&ex);
		rc = pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
		goto done;
	}
	pyc_buf_dispose(&ex);
	mark_overridden(&out->before, out, o->exclude_file, exclude_shown);
	if (o->dry_run)
		goto done;
	if ((o->exclude_file && (rc = make_info_dir(out->target, err)) != 0) ||
	    (rc = replace_file(out->target, out->target_shown, &next, exists ? &st : NULL,
	                       err)) != 0)
		goto done;
	out->wrote = true;
	if ((rc = pyc_ignore_probe(g, &out->after, err)) == 0)
		mark_overridden(&out->after, out, o->exclude_file, exclude_shown);
done:
	free(exclude_shown);
	pyc_buf_dispose(&old);
	pyc_buf_dispose(&next);
	return rc;
}

void pyc_ignore_result_dispose(pyc_ignore_result *r)
{
	if (!r)
		return;
	free(r->target);
	free(r->target_shown);
	pyc_ignore_report_dispose(&r->before);
	pyc_ignore_report_dispose(&r->after);
	memset(r, 0, sizeof(*r));
}
