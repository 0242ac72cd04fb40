/*
 * The Python side of the compile engine (docs/compile-engine.md, "Protocol").
 *
 * Runs as `EXE -c <this>` on CPython 3.6+, talking over fd 3 (a socket; stdin and stdout
 * are /dev/null so nothing stray can corrupt the frames). Frames both ways are a
 * little-endian u32 length followed by that many bytes.
 *   worker -> us, once at start:  'H' + records in the probe's format (interp.c):
 *                                 version, magic, tag, optimize, prefix, end
 *   us -> worker, per job:        u32 nlevels, i32 level * nlevels, u32 discard mask,
 *                                 u32 dfile_len, dfile, source (the rest)
 *   worker -> us, per job:        'R' + u32 n + (u32 len + marshal bytes) * n (n: the
 *                                 levels not discarded) + u32 len + warnings
 *                              or 'E' + u32 len + exception class name
 *                                     + u32 len + py_compile.PyCompileError(...).msg
 *                                     + u32 len + warnings
 * Compilation is exactly py_compile's: compile(source_bytes, dfile, 'exec',
 * dont_inherit=True, optimize=level) (SourceFileLoader.source_to_code), then
 * marshal.dumps(code) at the default version, as _code_to_timestamp_pyc does. The first
 * level that fails ends the job, as compileall's loop over levels does.
 * Each level is compiled and dumped in its own call of dump(), as compileall makes one
 * py_compile.compile call per level, discarded ones included (bit i of the mask: a level
 * whose pyc compileall overwrites with a later one's, as with -b; in 3.12 its compile
 * interns strings for good, which changes the later level's reference flags): marshal flags an object for back-references when its
 * reference count is above one, and the previous level's code object, still alive while
 * the next level compiles, shares strings and constants with it and changes those counts
 * (3.11 and 3.13 then write other opt-1/opt-2 bytes than compileall).
 * For the same reason the worker imports what `python -m compileall` has loaded when it
 * compiles (compileall, argparse, runpy and their imports): in 3.13 the strings of a loaded
 * module are shared with its freshly compiled code, so argparse.py and functools.py came
 * out with other reference flags than compileall, which has them imported.
 *
 * The warnings are what the compiles wrote to sys.stderr (the compiler's SyntaxWarning
 * and DeprecationWarning lines, as the warnings filters of this environment let them
 * through), captured per job in a text layer of the real stderr's encoding and error
 * handler: the bytes compileall's process writes to its stderr for the file, which
 * pyc-tool prints when it reports the file (and a cache can replay).
 *
 * The hello answers the questions of the probe a cached answer may have got wrong since
 * (interp.c, pyc_interp__same_answer): the first worker is the re-probe, no extra start.
 * It binds no new long-lived names (only k, v, h; the rest is what compileall's process
 * has loaded too): a name the worker holds changes the reference flags of that string in
 * what it compiles (see above).
 *
 * SIGINT is ignored: a Ctrl-C meant for pyc-tool reaches the whole process group, and the
 * workers should leave quietly when pyc-tool closes their socket, not print tracebacks.
 * A broken channel (pyc-tool gone) ends the worker silently for the same reason.
 */
#include "worker_script_internal.h"

const char pyc_worker_script__text[] =
	"import io, os, sys, marshal, signal, struct\n"
	"U = struct.Struct('<I')\n"
	"def rd(n):\n"
	"    parts = []\n"
	"    while n:\n"
	"        c = os.read(3, min(n, 1 << 22))\n"
	"        if not c:\n"
	"            return None\n"
	"        parts.append(c)\n"
	"        n -= len(c)\n"
	"    return b''.join(parts)\n"
	"def wr(b):\n"
	"    v = memoryview(b)\n"
	"    while len(v):\n"
	"        v = v[os.write(3, v):]\n"
	"def failed(e, dfile):\n"
	"    import py_compile\n"
	"    msg = py_compile.PyCompileError(e.__class__, e, dfile).msg\n"
	"    msg = msg.encode('utf-8', 'backslashreplace')\n"
	"    name = e.__class__.__name__.encode('utf-8', 'backslashreplace')\n"
	"    return b'E' + U.pack(len(name)) + name + U.pack(len(msg)) + msg\n"
	"def dump(source, dfile, level):\n"
	"    code = compile(source, dfile, 'exec', dont_inherit=True, optimize=level)\n"
	"    return marshal.dumps(code)\n"
	"def captured(body):\n"
	"    err = sys.stderr\n"
	"    if err is None:\n"
	"        return job(body) + U.pack(0)\n"
	"    cap = io.TextIOWrapper(io.BytesIO(), getattr(err, 'encoding', None) or 'utf-8',\n"
	"                           getattr(err, 'errors', None) or 'backslashreplace', '\\n')\n"
	"    sys.stderr = cap\n"
	"    try:\n"
	"        reply = job(body)\n"
	"    finally:\n"
	"        sys.stderr = err\n"
	"    cap.flush()\n"
	"    text = cap.buffer.getvalue()\n"
	"    return reply + U.pack(len(text)) + text\n"
	"def job(body):\n"
	"    nl, = U.unpack_from(body, 0)\n"
	"    levels = struct.unpack_from('<%di' % nl, body, 4)\n"
	"    drop, dl = struct.unpack_from('<II', body, 4 + 4 * nl)\n"
	"    off = 12 + 4 * nl\n"
	"    dfile = os.fsdecode(body[off:off + dl])\n"
	"    source = body[off + dl:]\n"
	"    out = [b'R', U.pack(nl - bin(drop).count('1'))]\n"
	"    try:\n"
	"        for i, level in enumerate(levels):\n"
	"            data = dump(source, dfile, level)\n"
	"            if not drop >> i & 1:\n"
	"                out.append(U.pack(len(data)))\n"
	"                out.append(data)\n"
	"    except Exception as e:\n"
	"        return failed(e, dfile)\n"
	"    return b''.join(out)\n"
	"def main():\n"
	"    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
	"    try:\n"
	"        import compileall, argparse, runpy\n"
	"    except Exception:\n"
	"        pass\n"
	"    import importlib.util\n"
	"    h = [(b'version', '%d.%d.%d' % tuple(sys.version_info[:3])),\n"
	"         (b'magic', importlib.util.MAGIC_NUMBER), (b'tag', sys.implementation.cache_tag),\n"
	"         (b'optimize', str(sys.flags.optimize)),\n"
	"         (b'prefix', getattr(sys, 'pycache_prefix', None)), (b'end', '')]\n"
	"    h = b'H' + b''.join(k + b' -\\n' if v is None else\n"
	"                        b'%s %d:%s\\n' % (k, len(os.fsencode(v)), os.fsencode(v)) for k, v in h)\n"
	"    wr(U.pack(len(h)) + h)\n"
	"    while True:\n"
	"        h = rd(4)\n"
	"        if h is None:\n"
	"            return\n"
	"        body = rd(U.unpack(h)[0])\n"
	"        if body is None:\n"
	"            return\n"
	"        reply = captured(body)\n"
	"        body = None\n"
	"        wr(U.pack(len(reply)) + reply)\n"
	"try:\n"
	"    main()\n"
	"except OSError:\n"
	"    pass\n";
