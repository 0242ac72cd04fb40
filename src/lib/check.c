/* The read-only bytecode gate: see include/pyc/check.h and docs/git-hooks.md. */
#include "pyc/check.h"

#include "git_internal.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int list_push(pyc_check_list *l, const char *path, const char *old_path,
                     pyc_check_kind kind, pyc_error *err)
{
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		pyc_check_finding *items = realloc(l->items, cap * sizeof(*items));
		if (!items)
			return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
		l->items = items;
		l->cap = cap;
	}
	pyc_check_finding *f = &l->items[l->count];
	f->path = strdup(path);
	f->old_path = dup_or_null(old_path);
	f->kind = kind;
	if (!f->path || (old_path && !f->old_path)) {
		free(f->path);
		free(f->old_path);
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	}
	l->count++;
	return 0;
}

static pyc_check_kind kind_of_delta(git_delta_t status)
{
	switch (status) {
	case GIT_DELTA_ADDED: return PYC_CHECK_ADDED;
	case GIT_DELTA_RENAMED: return PYC_CHECK_RENAMED;
	case GIT_DELTA_TYPECHANGE: return PYC_CHECK_TYPECHANGE;
	case GIT_DELTA_CONFLICTED: return PYC_CHECK_CONFLICTED;
	/* COPIED cannot occur (copy detection is off); treat anything else as a change. */
	default: return PYC_CHECK_MODIFIED;
	}
}

/* HEAD's tree, or NULL for an unborn HEAD (the first commit), which
 * git_diff_tree_to_index() takes as the empty tree. */
static int head_tree(git_tree **out, git_repository *repo, pyc_error *err)
{
	*out = NULL;
	int unborn = git_repository_head_unborn(repo);
	if (unborn == 1)
		return 0;
	if (unborn < 0)
		return pyc_git__fail(err, PYC_EGIT, "cannot read HEAD");
	git_object *obj = NULL;
	int rc = git_revparse_single(&obj, repo, "HEAD^{tree}");
	if (rc < 0)
		return pyc_git__fail(err, PYC_EGIT, "cannot resolve HEAD^{tree}");
	*out = (git_tree *)obj;
	return 0;
}

static int collect_deltas(git_diff *diff, pyc_check_list *out, pyc_error *err)
{
	size_t n = git_diff_num_deltas(diff);
	for (size_t i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		if (d->status == GIT_DELTA_DELETED || !pyc_git_is_bytecode_path(d->new_file.path))
			continue;
		const char *old = d->status == GIT_DELTA_RENAMED ? d->old_file.path : NULL;
		int rc = list_push(out, d->new_file.path, old, kind_of_delta(d->status), err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Every finding of the staged check is an index entry with a bytecode path, so an index
 * without one is clean; the diff (most of the cost on a large tree) is skipped then. */
static bool index_has_bytecode(git_index *ix)
{
	size_t n = git_index_entrycount(ix);
	for (size_t i = 0; i < n; i++) {
		const git_index_entry *e = git_index_get_byindex(ix, i);
		if (e && pyc_git_is_bytecode_path(e->path))
			return true;
	}
	return false;
}

int pyc_check_staged(pyc_git *g, pyc_check_list *out, pyc_error *err)
{
	git_repository *repo = pyc_git__repo(g);
	git_index *ix = NULL;
	git_tree *tree = NULL;
	git_diff *diff = NULL;
	/* The handle's index is GIT_INDEX_FILE inside a hook: what git is about to commit. */
	int rc = pyc_git__index(g, &ix, err);
	if (rc < 0 || !index_has_bytecode(ix))
		return rc;
	rc = head_tree(&tree, repo, err);
	if (rc < 0)
		goto done;

	git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
	opts.flags |= GIT_DIFF_INCLUDE_TYPECHANGE;
	rc = git_diff_tree_to_index(&diff, repo, tree, ix, &opts);
	if (rc < 0) {
		rc = pyc_git__fail(err, PYC_EGIT, "cannot compare the index with HEAD");
		goto done;
	}
	/* Only the reported kind depends on this (a move is R, not D+A); the verdict
	 * would be the same without it. */
	git_diff_find_options fopts = GIT_DIFF_FIND_OPTIONS_INIT;
	fopts.flags = GIT_DIFF_FIND_RENAMES;
	rc = git_diff_find_similar(diff, &fopts);
	if (rc < 0) {
		rc = pyc_git__fail(err, PYC_EGIT, "cannot detect renames");
		goto done;
	}
	rc = collect_deltas(diff, out, err);
done:
	git_diff_free(diff);
	git_tree_free(tree);
	return rc;
}

int pyc_check_index(pyc_git *g, pyc_check_list *out, pyc_error *err)
{
	git_index *ix = NULL;
	int rc = pyc_git__index(g, &ix, err);
	if (rc < 0)
		return rc;
	const char *prev = NULL;
	size_t n = git_index_entrycount(ix);
	for (size_t i = 0; i < n; i++) {
		const git_index_entry *e = git_index_get_byindex(ix, i);
		if (!e || !pyc_git_is_bytecode_path(e->path))
			continue;
		/* Entries are sorted by path, then stage: an unmerged path's stages are
		 * neighbours, so comparing with the last one reported is enough. */
		if (prev && strcmp(prev, e->path) == 0)
			continue;
		bool unmerged = git_index_entry_stage(e) != 0;
		rc = list_push(out, e->path, NULL,
		               unmerged ? PYC_CHECK_CONFLICTED : PYC_CHECK_TRACKED, err);
		if (rc < 0)
			return rc;
		prev = e->path;
	}
	return 0;
}

int pyc_check_ignore_rule(pyc_git *g, pyc_check_list *out, pyc_ignore_report *report,
                          pyc_error *err)
{
	pyc_ignore_report local;
	pyc_ignore_report *r = report ? report : &local;
	int rc = pyc_ignore_probe(g, r, err);
	for (size_t i = 0; rc == 0 && i < r->n_not_ignored; i++)
		rc = list_push(out, r->not_ignored[i], NULL, PYC_CHECK_NOT_IGNORED, err);
	if (!report)
		pyc_ignore_report_dispose(&local);
	return rc;
}

int pyc_check_files(const char *const *paths, size_t n, pyc_check_list *out, pyc_error *err)
{
	for (size_t i = 0; i < n; i++) {
		if (!pyc_git_is_bytecode_path(paths[i]))
			continue;
		int rc = list_push(out, paths[i], NULL, PYC_CHECK_NAMED, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

const char *pyc_check_kind_name(pyc_check_kind kind)
{
	switch (kind) {
	case PYC_CHECK_ADDED: return "added";
	case PYC_CHECK_MODIFIED: return "modified";
	case PYC_CHECK_RENAMED: return "renamed";
	case PYC_CHECK_TYPECHANGE: return "typechange";
	case PYC_CHECK_CONFLICTED: return "conflicted";
	case PYC_CHECK_TRACKED: return "tracked";
	case PYC_CHECK_NAMED: return "named";
	case PYC_CHECK_NOT_IGNORED: return "not-ignored";
	}
	return "unknown";
}

void pyc_check_list_dispose(pyc_check_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++) {
		free(l->items[i].path);
		free(l->items[i].old_path);
	}
	free(l->items);
	l->items = NULL;
	l->count = l->cap = 0;
}
