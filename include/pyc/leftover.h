/*
 * pyc/leftover.h - temporary files an interrupted writer left in a cache directory.
 *
 * Two writers leave them: pyc-tool's writer ("<name>.pyc.<pid>.<n>.tmp" and, for
 * --hardlink-dupes, "<name>.pyc.<pid>.link"; pyc/writer.h), and importlib's _write_atomic
 * ("<name>.pyc.<id>", id(path) in decimal; CPython 3.6-3.13 alike), which import and
 * py_compile/compileall use. Only a temporary file whose writer cannot still be running is
 * "abandoned" (safe to remove):
 *  - pyc-tool's: its pid is not a live process on this host (kill(pid, 0) fails with
 *    ESRCH) and it is at least PYC_LEFTOVER_DEAD_GRACE seconds old (the grace covers a
 *    writer on another host sharing the file system, whose pid means nothing here), or
 *    it is at least PYC_LEFTOVER_MAX_AGE seconds old;
 *  - importlib's: the name says nothing about its writer, so only age counts: at least
 *    PYC_LEFTOVER_MAX_AGE seconds since it was last written.
 * A writer finishes a pyc in well under a second; the ages are generous on purpose.
 */
#ifndef PYC_LEFTOVER_H
#define PYC_LEFTOVER_H

#include "common.h"

#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PYC_LEFTOVER_DEAD_GRACE 60
#define PYC_LEFTOVER_MAX_AGE 3600

enum pyc_leftover_kind {
	PYC_LEFTOVER_NONE = 0,   /**< not a writer's temporary file */
	PYC_LEFTOVER_PYC_TOOL,   /**< pyc-tool's writer; the pid is in the name */
	PYC_LEFTOVER_IMPORTLIB,  /**< importlib's _write_atomic */
};

/** Which writer's temporary file `name` (a file name, no directory) is; *pid gets the pid
 *  in a pyc-tool name, else 0. */
PYC_API enum pyc_leftover_kind pyc_leftover_kind(const char *name, long *pid);

/** Whether a temporary file of `kind` (with `pid`) and stat `st` is abandoned at `now`. */
PYC_API bool pyc_leftover_abandoned(enum pyc_leftover_kind kind, long pid,
                                    const struct stat *st, time_t now);

/** "pyc-tool" or "importlib" (NULL for PYC_LEFTOVER_NONE): the JSON `writer` field. */
PYC_API const char *pyc_leftover_writer_name(enum pyc_leftover_kind kind);

#ifdef __cplusplus
}
#endif
#endif
