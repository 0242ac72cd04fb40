/*
 * pyc/marshal.h - re-target a cached .pyc body to another source path (issue #11).
 *
 * A .pyc body is marshal.dumps(code) (format 4, CPython 3.6-3.13). The path a module was
 * compiled for (`dfile`) is in it once: the co_filename str of the first code object in
 * stream order, written with FLAG_REF; every later code object refers back with TYPE_REF.
 * Re-targeting rewrites that one object (its type byte and size may change) and keeps every
 * reference index, which gives the bytes a compile at the new path writes (3.11+) or equal
 * code objects (3.6-3.10, whose FLAG_REF bits depend on reference counts). A raw byte
 * replace is wrong: a source can hold its own path as a separate string constant.
 *
 * Typical use by a cache: at store time pyc_marshal_find_filename() and keep the slot (or
 * key the entry by path when it fails with PYC_EUNSUPPORTED); on a hit
 * pyc_marshal_check_clash() and, when it finds none, pyc_marshal_retarget():
 *
 *     pyc_marshal_slot slot;
 *     bool clash;
 *     if (pyc_marshal_find_filename(body, len, minor, &slot, &err) == 0 &&
 *         pyc_marshal_check_clash(body, len, minor, &slot, dfile, strlen(dfile), 0,
 *                                 &clash, &err) == 0 && !clash &&
 *         pyc_marshal_retarget(body, len, &slot, dfile, strlen(dfile), &out, &err) == 0)
 *             ... out.ptr[0..out.len) is the body for dfile ...
 *     else
 *             ... a miss: compile ...
 *
 * Walking is linear in the body, recursive up to CPython's depth limit (2000), and never
 * allocates; only `out` grows. Nothing reads outside [body, body + len).
 * Details: docs/compile-engine.md, "Re-targeting a cached body".
 */
#ifndef PYC_MARSHAL_H
#define PYC_MARSHAL_H

#include "common.h"
#include "buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Where the filename object is in a body. */
typedef struct pyc_marshal_slot {
	size_t offset;  /**< of the filename object's type byte in the body */
	size_t length;  /**< bytes of the whole object: type byte, size field, payload */
} pyc_marshal_slot;

/**
 * Parse a whole body for CPython 3.<minor> (6..13) and find the first code object's
 * co_filename object. Succeeds only when the body is well formed to its last byte, the
 * top-level object is a code object, that filename object is a str stored with FLAG_REF in
 * the form CPython's marshal writes for its value, and its reference index is referenced
 * again ONLY from the co_filename slots of later code objects, each of which is such a
 * reference.
 *
 * Returns 0; PYC_ETRUNCATED (the body ends inside an object); PYC_EINVAL (malformed:
 * unknown type code, bad reference, bad long or UTF-8, trailing bytes, nesting deeper than
 * CPython allows, minor out of range); PYC_EUNSUPPORTED (well formed but not
 * re-targetable: no code object on top, the filename object is shared with another slot,
 * is not a str, has no FLAG_REF, is not in canonical form, or a later code object has its
 * own filename). err says which. Structural errors win over PYC_EUNSUPPORTED.
 */
PYC_API int pyc_marshal_find_filename(const uint8_t *body, size_t len, int minor,
                                      pyc_marshal_slot *slot, pyc_error *err);

/**
 * Append to out the body with the slot's object replaced by a str object holding `name`
 * (name_len bytes of UTF-8 as marshal writes it: lone surrogates, from os.fsdecode's
 * surrogateescape, encoded with surrogatepass). The original's FLAG_REF and interned-ness
 * are kept; the type is what CPython's w_object picks for that string: short ASCII (`z`/`Z`)
 * below 256 bytes, long ASCII (`a`/`A`), otherwise unicode (`u`/`t`). The slot must come
 * from pyc_marshal_find_filename() on the same body.
 *
 * Returns 0, PYC_EINVAL (name not valid UTF-8 in that sense, or the slot does not hold a
 * str object of the body), PYC_ENOMEM (out is then unchanged).
 */
PYC_API int pyc_marshal_retarget(const uint8_t *body, size_t len, const pyc_marshal_slot *slot,
                                 const char *name, size_t name_len, pyc_buf *out,
                                 pyc_error *err);

/**
 * Append the filename currently in the slot to out, as UTF-8 bytes (surrogatepass).
 * Returns 0, PYC_EINVAL (the slot does not hold a str object of the body), PYC_ENOMEM.
 */
PYC_API int pyc_marshal_slot_name(const uint8_t *body, size_t len, const pyc_marshal_slot *slot,
                                  pyc_buf *out, pyc_error *err);

/** Flags of pyc_marshal_check_clash(). */
enum {
	/** Count every equal str, not only the values CPython may share (for a build that
	 *  interns more than the default one, e.g. free-threaded 3.13t). */
	PYC_MARSHAL_CLASH_ANY = 1,
};

/**
 * Set *clash when the body holds a str object other than the slot's equal to `name` that
 * a compile at `name` could make the same object as co_filename.
 *
 * Why it matters: CPython interns the string constants made only of name characters
 * ([A-Za-z0-9_]), and co_filename with them, and has a single object for "" and for each
 * one-character Latin-1 string. A compile at such a path shares one object between
 * co_filename and an equal constant or name: that slot becomes a TYPE_REF to the filename
 * (every version 3.6-3.13 does it; tests/unit/test_marshal.c checks it). A body compiled
 * elsewhere and re-targeted keeps two objects: equal code, other bytes. The integrator must
 * treat a clash as a miss. Paths with any other character ('/', '.') never clash unless
 * flags has PYC_MARSHAL_CLASH_ANY, which counts every equal str.
 *
 * Returns 0 with *clash set, or what pyc_marshal_find_filename() returns for the body
 * (the body is walked again), or PYC_EINVAL when slot is not the one it finds.
 */
PYC_API int pyc_marshal_check_clash(const uint8_t *body, size_t len, int minor,
                                    const pyc_marshal_slot *slot, const char *name,
                                    size_t name_len, unsigned flags, bool *clash,
                                    pyc_error *err);

#ifdef __cplusplus
}
#endif
#endif
