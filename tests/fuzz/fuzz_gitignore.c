/*
 * fuzz_gitignore: reading and patching arbitrary ignore files (src/lib/ignore.c,
 * ignore_patch.c) in a real repository made by git, judged by libgit2's matcher.
 *
 * Input: byte 0 bit 0 chooses the target (.gitignore, or info/exclude with no .gitignore);
 * the rest is the target's content.
 *  - probing reports negations that exist: lines of the file that start with '!';
 *  - a dry run plans what the patch then does, and writes nothing;
 *  - the patch keeps the old bytes as a prefix, and writes only when it adds a rule;
 *  - patching again adds and writes nothing (patching twice equals patching once);
 *  - with no negation and no NUL byte in the file (libgit2 stops reading a rules file at
 *    one), bytecode is ignored after a write;
 *  - a file that would make libgit2 1.5 loop forever is refused (a hang fails the run:
 *    libFuzzer's -timeout).
 */
#include "fuzz.h"

#include "pyc/buf.h"
#include "pyc/git.h"
#include "pyc/ignore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pyc_git *git;
static char gitignore[4096], exclude[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	const char *dir = fuzz_scratch_dir();
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "git init -q '%s'", dir);
	pyc_error err = { 0 };
	if (system(cmd) != 0 || pyc_git_open(&git, dir, &err) != 0) {
		fprintf(stderr, "fuzz_gitignore: cannot make a repository in %s: %s\n", dir,
		        err.message);
		abort();
	}
	snprintf(gitignore, sizeof(gitignore), "%s/.gitignore", dir);
	snprintf(exclude, sizeof(exclude), "%s/.git/info/exclude", dir);
	return 0;
}

static void read_file(pyc_buf *out, const char *path)
{
	pyc_buf_clear(out);
	FILE *f = fopen(path, "rb");
	FUZZ_CHECK(f != NULL);
	char chunk[4096];
	for (size_t n; (n = fread(chunk, 1, sizeof(chunk), f)) > 0;)
		pyc_buf_put(out, chunk, n);
	fclose(f);
}

static void check_negations(const pyc_ignore_report *r, const char *shown, const uint8_t *d,
                            size_t n)
{
	for (size_t i = 0; i < r->n_negations; i++) {
		const pyc_ignore_negation *neg = &r->negations[i];
		FUZZ_CHECK(strcmp(neg->file, shown) == 0 && neg->rule[0] == '!' && neg->line >= 1);
		/* The reported line is that line of the file, as written. */
		size_t line = 1, pos = 0;
		for (; pos < n && line < neg->line; pos++)
			line += d[pos] == '\n';
		FUZZ_CHECK(line == neg->line);
		if (line == 1 && n >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0)
			pos = 3;
		FUZZ_CHECK(n - pos >= strlen(neg->rule) && memcmp(d + pos, neg->rule, strlen(neg->rule)) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	pyc_ignore_opts opts = { .exclude_file = data[0] & 1 };
	const char *target = opts.exclude_file ? exclude : gitignore;
	const char *shown = opts.exclude_file ? ".git/info/exclude" : ".gitignore";
	data++, size--;
	unlink(gitignore);
	unlink(exclude);
	fuzz_write_file(fuzz_scratch_dir(), opts.exclude_file ? ".git/info/exclude" : ".gitignore",
	                data, size);

	pyc_error err = { 0 };
	pyc_ignore_report rep = { 0 };
	pyc_ignore_result dry, once, twice;
	int rc = pyc_ignore_probe(git, &rep, &err);
	if (rc == PYC_EUNSUPPORTED) {
		/* A file libgit2 would hang or crash on: refused, by the patch too, before any
		 * write. */
		FUZZ_CHECK(strstr(err.message, "vertical tab or form feed") != NULL ||
		           strstr(err.message, "negation of only a slash") != NULL);
		FUZZ_CHECK(pyc_ignore_patch(git, &opts, &once, &err) == PYC_EUNSUPPORTED);
		FUZZ_CHECK(!once.wrote);
		pyc_ignore_result_dispose(&once);
		return 0;
	}
	FUZZ_CHECK(rc == 0);
	check_negations(&rep, shown, data, size);

	pyc_buf after1 = PYC_BUF_INIT, after2 = PYC_BUF_INIT;
	opts.dry_run = true;
	FUZZ_CHECK(pyc_ignore_patch(git, &opts, &dry, &err) == 0 && !dry.wrote);
	FUZZ_CHECK(dry.before.n_not_ignored == rep.n_not_ignored);
	read_file(&after1, target);
	FUZZ_CHECK(after1.len == size && (size == 0 || memcmp(after1.ptr, data, size) == 0));

	opts.dry_run = false;
	FUZZ_CHECK(pyc_ignore_patch(git, &opts, &once, &err) == 0);
	FUZZ_CHECK(once.n_added == dry.n_added && once.wrote == (once.n_added > 0));
	for (size_t i = 0; i < once.n_added; i++)
		FUZZ_CHECK(strcmp(once.added[i], dry.added[i]) == 0);
	read_file(&after1, target);
	FUZZ_CHECK(after1.len >= size && (size == 0 || memcmp(after1.ptr, data, size) == 0));
	FUZZ_CHECK(once.wrote || after1.len == size);
	/* A negation can keep bytecode visible after the append: an existing rule is not
	 * appended again, and "!_*" un-ignores __pycache__ without naming it (not reported). */
	if (once.wrote && !memchr(data, '\0', size) && !memchr(data, '!', size))
		FUZZ_CHECK(once.after.n_not_ignored == 0);

	FUZZ_CHECK(pyc_ignore_patch(git, &opts, &twice, &err) == 0);
	FUZZ_CHECK(twice.n_added == 0 && !twice.wrote);
	read_file(&after2, target);
	FUZZ_CHECK(after2.len == after1.len && memcmp(after2.ptr, after1.ptr, after1.len) == 0);

	pyc_ignore_report_dispose(&rep);
	pyc_ignore_result_dispose(&dry);
	pyc_ignore_result_dispose(&once);
	pyc_ignore_result_dispose(&twice);
	pyc_buf_dispose(&after1);
	pyc_buf_dispose(&after2);
	return 0;
}
