/*
 * walk_count ROOT... - walk each ROOT with pyc_walker and print counts per kind.
 * A benchmark driver (tests/bench/bench_walk.sh), not part of the build.
 * With -p it prints every path instead (kind letter, depth, path), for eyeballing.
 */
#include "pyc/walk.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	int first = 1;
	int print = 0;
	if (argc > 1 && strcmp(argv[1], "-p") == 0) {
		print = 1;
		first = 2;
	}
	unsigned long counts[6] = {0};
	unsigned long py = 0;
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
			if (e->kind == PYC_WALK_FILE && e->path_len > 3 &&
			    memcmp(e->path + e->path_len - 3, ".py", 3) == 0)
				py++;
			if (print)
				printf("%c %u %s\n", "FDPLOE"[e->kind], e->depth, e->path);
		}
		if (rc < 0)
			status = 1;
		pyc_walker_free(w);
	}
	printf("files %lu py %lu dirs %lu symlinks %lu other %lu errors %lu\n", counts[PYC_WALK_FILE],
	       py, counts[PYC_WALK_DIR], counts[PYC_WALK_SYMLINK], counts[PYC_WALK_OTHER],
	       counts[PYC_WALK_ERROR]);
	return status;
}
