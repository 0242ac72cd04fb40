/*
 * pyc_untrack_bytecode: `git rm -r --cached` for bytecode (include/pyc/untrack.h,
 * shared/reference/git.md §4).
 */
#include "git_internal.h"

#include "pyc/untrack.h"

#include <stdlib.h>
#include <string.h>

static int collect(git_index *ix, pyc_untrack_result *out, pyc_error *err)
{
	size_t n = git_index_entrycount(ix), cap = 0;
	for (size_t i = 0; i < n; i++) {
		const git_index_entry *e = git_index_get_byindex(ix, i);
		if (!e || !pyc_git_is_bytecode_path(e->path))
			continue;
		/* Conflict stages of one path sit next to each other: list the path once. */
		if (out->n_paths > 0 && strcmp(out->paths[out->n_paths - 1], e->path) == 0)
			continue;
		if (out->n_paths == cap) {
			cap = cap ? cap * 2 : 16;
			char **grown = realloc(out->paths, cap * sizeof(*grown));
			if (!grown)
				return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
			out->paths = grown;
		}
		if ((out->paths[out->n_paths] = strdup(e->path)) == NULL)
			return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
		out->n_paths++;
	}
	return 0;
}

static int write_index(git_index *ix, pyc_error *err)
{
	int e = git_index_write(ix);
	if (e == 0)
		return 0;
	const char *path = git_index_path(ix) ? git_index_path(ix) : "index";
	/* libgit2 takes index.lock only inside the write; another git holding it means a
	 * concurrent change we must not overwrite (git.md §4). */
	if (e == GIT_ELOCKED)
		return pyc_error_set(err, PYC_ELOCKED, 0,
		                     "index is locked by another process ('%s.lock'); nothing was "
		                     "changed (if no git command is running, remove that file)", path);
	return pyc_git__fail(err, PYC_EGIT, "cannot write the index '%s'", path);
}

int pyc_untrack_bytecode(pyc_git *g, const pyc_untrack_opts *o, pyc_untrack_result *out,
                             pyc_error *err)
{
	memset(out, 0, sizeof(*out));
	git_index *ix = NULL;
	int rc = pyc_git__index(g, &ix, err);
	if (rc != 0)
		return rc;
	/* Re-read right before changing: a `git add` since we opened must survive. The
	 * lock is not held from here to the write; that window is what git rm has too. */
	if (git_index_read(ix, 1) < 0)
		return pyc_git__index_fail(err, git_index_path(ix) ? git_index_path(ix) : "index");
	if ((rc = collect(ix, out, err)) != 0 || out->n_paths == 0 || (o && o->dry_run))
		return rc;
	for (size_t i = 0; i < out->n_paths; i++)
		if (git_index_remove_bypath(ix, out->paths[i]) < 0) {
			rc = pyc_git__fail(err, PYC_EGIT, "cannot remove '%s' from the index",
			                   out->paths[i]);
			break;
		}
	if (rc == 0)
		rc = write_index(ix, err);
	if (rc != 0) {
		/* Drop the half-changed in-memory index so later users see the disk again. */
		git_index_read(ix, 1);
		return rc;
	}
	out->wrote = true;
	return 0;
}

void pyc_untrack_result_dispose(pyc_untrack_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_paths; i++)
		free(r->paths[i]);
	free(r->paths);
	memset(r, 0, sizeof(*r));
}
