/*
 * pyc/pyc.h - umbrella header for the pyc-tool core library (prefix pyc_).
 * One header per concept; include only what you use, or this for everything.
 */
#ifndef PYC_PYC_H
#define PYC_PYC_H

#include "common.h"
#include "buf.h"
#include "magic.h"
#include "header.h"
#include "marshal.h"
#include "source_hash.h"
#include "mtime.h"
#include "cache_path.h"
#include "walk.h"
#include "stale.h"
#include "scan.h"
#include "clean.h"
#include "interp.h"
#include "pool.h"
#include "importtime.h"
#include "writer.h"
#include "interrupt.h"
#include "leftover.h"
#include "compileall.h"
#include "store.h"
#include "remote.h"
#include "git.h"
#include "ignore.h"
#include "untrack.h"
#include "check.h"
#include "hook.h"

/** The library version, e.g. "0.1.0". */
PYC_API const char *pyc_version(void);

#endif
