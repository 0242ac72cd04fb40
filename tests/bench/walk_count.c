/*
 * walk_count [-p|-s] ROOT... - walk each ROOT with pyc_walker, print counts per kind.
 * The driver of tests/bench/bench_walk.sh (built there by cc, not by CMake).
 *   -s  also fstatat() every *.py through the entry's dirfd, as find -printf '%T@ %s' does
 *   -p  print every entry (kind letter, depth, path) instead, for eyeballing
 */
#include "pyc/walk.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int ends_with_py(const pyc_walk_entry *e)
{
	return e->path_len > 3 && memcmp(e->path + e->path_len - 3, ".py", 3) == 0;
}

int main(int argc, char **argv)
{
	int first = 1, print = 0, do_stat = 0;
	if (argc > 1 && strcmp(argv[1], "-p") == 0)
		print = first = 2;
	else if (argc > 1 && strcmp(argv[1], "-s") == 0)
		do_stat = first = 2;
	unsigned long counts[6] = {0}, py = 0;
	unsigned long long bytes = 0;
	int status = 0;
	for (int i = first; i < argc; i++) {
		pyc_error err = {0};
		pyc_walker *w;
		if (pyc_walker_new(&w, argv[i], PYC_WALK_POSTORDER, &err) < 0) {
			fprintf(stderr, "walk_count: %s\n", err.message);
			status = 1;
			continue;
		}
		const pyc_walk_entry *e;
		int rc;
		while ((rc = pyc_walker_next(w, &e)) > 0) {
			counts[e->kind]++;
			if (e->kind == PYC_WALK_FILE && ends_with_py(e)) {
				py++;
				struct stat st;
				if (do_stat && fstatat(e->dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
					bytes += (unsigned long long)st.st_size;
			}
			if (print)
				printf("%c %u %s\n", "FDPLOE"[e->kind], e->depth, e->path);
		}
		if (rc < 0)
			status = 1;
		pyc_walker_free(w);
	}
	printf("files %lu py %lu dirs %lu symlinks %lu other %lu errors %lu py_bytes %llu\n",
	       counts[PYC_WALK_FILE], py, counts[PYC_WALK_DIR], counts[PYC_WALK_SYMLINK],
	       counts[PYC_WALK_OTHER], counts[PYC_WALK_ERROR], bytes);
	return status;
}
