"""The Debian package: `cpack -G DEB` from this build tree, then what is in it.

The package must hold the binary, pyc-tool(1) and a pyc-tool-<command>(1) page for every
command `pyc-tool --help` lists, the bash, zsh and fish completions, and the licence;
its Depends must name the packages of the shared libraries the binary loads (ldd, then
dpkg -S: the oracle for dpkg-shlibdeps), its Recommends those of the libraries the library
loads at run time (dlopen: libcurl for an http remote), which the binary must not link;
extracted, the binary must run and say what the
built one says, the pages must be gzipped (`gzip -9n`, Debian policy 12.1) copies of the
build's pages, which test_doc_drift renders (groff -ww, man --warnings -l), and the bash
completion must complete.
Skipped without cpack, dpkg-deb or dpkg-shlibdeps (package dpkg-dev).
"""
import glob
import gzip
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_surface as cs  # noqa: E402
import pyc_e2e  # noqa: E402
from pyc_e2e import run_tool  # noqa: E402

BUILD_DIR = os.environ.get("PYC_BUILD_DIR", "")
CPACK = os.environ.get("PYC_CPACK") or shutil.which("cpack")


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, check=True, **kw).stdout


def linked_libraries(exe):
    """The paths of the shared libraries EXE names as NEEDED (readelf), found where the
    loader finds them (ldd); the sanitizer runtimes aside."""
    linked = needed(exe)
    return [path for name, path in re.findall(r"^\s*(\S+) => (/\S+)", run(["ldd", exe]), re.M)
            if name in linked and not re.match(r"lib(asan|ubsan)", name)]


def package_owners(paths):
    """{path: the Debian package owning it}: one `dpkg -S` for all of them (each call reads
    dpkg's whole database), asked for each path and, as /lib is /usr/lib on merged-/usr
    systems, its real path."""
    asked = sorted(set(paths) | {os.path.realpath(p) for p in paths})
    out = subprocess.run(["dpkg", "-S"] + asked, capture_output=True, text=True).stdout
    owner = {}
    for line in out.splitlines():
        pkgs, _, path = line.partition(": ")
        owner.setdefault(path, pkgs.split(":")[0])
    found = {}
    for p in paths:
        pkg = owner.get(p) or owner.get(os.path.realpath(p))
        assert pkg, "no package owns %s" % p
        found[p] = pkg
    return found


def dlopened_sonames():
    """The sonames libpyc names as strings: those it dlopens, as it is a static library
    and links nothing itself."""
    with open(os.path.join(BUILD_DIR, "libpyc.a"), "rb") as f:
        found = re.findall(rb"\0(lib[\w+-]+\.so\.\d+)\0", f.read())
    return {n.decode() for n in found}


def needed(exe):
    return set(re.findall(r"\(NEEDED\)\s+Shared library: \[(\S+)\]", run(["readelf", "-d", exe])))


def main():
    suite = pyc_e2e.Suite("package")
    missing = [t for t in ("dpkg-deb", "dpkg-shlibdeps", "readelf") if not shutil.which(t)]
    if not CPACK or missing or not os.path.exists(os.path.join(BUILD_DIR, "CPackConfig.cmake")):
        print("SKIP: cannot build a .deb here (cpack, %s)" % " ".join(missing or ["config"]))
        sys.exit(77)
    if not os.path.isdir(os.path.join(BUILD_DIR, "docs", "man")):
        print("SKIP: this build renders no man pages (PYC_BUILD_MAN=OFF)")
        sys.exit(77)
    out = os.path.join(suite.tmp, "out")
    deb = None
    with suite.case("cpack -G DEB builds the package"):
        # With a Makefile build tree, cpack first runs `make preinstall` (that is, `all`):
        # after the build CTest runs on, it rebuilds nothing and costs half of cpack's time
        # in make's checks. The Ninja generator names no preinstall target, so cpack goes
        # straight to the install script, the same for both generators: the package holds
        # the same files and control fields (compared with dpkg-deb -R).
        run([CPACK, "-G", "DEB", "--config", os.path.join(BUILD_DIR, "CPackConfig.cmake"),
             "-B", out, "-D", "CPACK_CMAKE_GENERATOR=Ninja"])
        debs = glob.glob(os.path.join(out, "pyc-tool_*.deb"))
        assert len(debs) == 1, os.listdir(out)
        deb = debs[0]
    if deb is None:
        suite.finish()

    version = run_tool(["--version"], check_rc=0).stdout.decode().split()[-1]
    with suite.case("control: name, version, dependencies of every shared library"):
        fields = dict(re.findall(r"^(\w[\w-]*): (.*)$", run(["dpkg-deb", "-f", deb]), re.M))
        assert fields["Package"] == "pyc-tool", fields
        assert fields["Version"] == version, fields
        depends = {d.split()[0] for d in fields["Depends"].split(", ")}
        libs = linked_libraries(os.path.join(BUILD_DIR, "pyc-tool"))
        want = set(package_owners(libs).values())
        assert want and want <= depends, "Depends %s lacks %s" % (depends, want - depends)
    with suite.case("control: Recommends the libraries loaded at run time, not linked"):
        sonames = dlopened_sonames()
        if not sonames:
            raise pyc_e2e.SkipCase("libpyc dlopens nothing (built without the http remote)")
        cache = run([shutil.which("ldconfig") or "/sbin/ldconfig", "-p"])
        exe = os.path.join(BUILD_DIR, "pyc-tool")
        assert not sonames & needed(exe), "%s links %s" % (exe, sonames & needed(exe))
        recommends = {d.split()[0] for d in fields.get("Recommends", "").split(", ")}
        paths = {}
        for soname in sonames:
            path = re.search(r"^\s*%s \(.*\) => (\S+)$" % re.escape(soname), cache, re.M)
            assert path, "%s is not installed here" % soname
            paths[soname] = path.group(1)
        owners = package_owners(list(paths.values()))
        for soname, path in paths.items():
            pkg = owners[path]
            assert pkg in recommends, "Recommends %s lacks %s (%s)" % (recommends, pkg, soname)

    listing = set(re.findall(r" \./(\S+)$", run(["dpkg-deb", "-c", deb]), re.M))
    want = {"usr/bin/pyc-tool", "usr/share/man/man1/pyc-tool.1.gz",
            "usr/share/bash-completion/completions/pyc-tool",
            "usr/share/zsh/vendor-completions/_pyc-tool",
            "usr/share/fish/vendor_completions.d/pyc-tool.fish",
            "usr/share/doc/pyc-tool/LICENSE", "usr/share/doc/pyc-tool/README.md"}
    want |= {"usr/share/man/man1/pyc-tool-%s.1.gz" % c for c in cs.commands()}
    with suite.case("dpkg-deb -c: binary, man pages, completions, licence"):
        assert want <= listing, "missing %s" % sorted(want - listing)
    with suite.case("man pages only gzipped (Debian policy 12.1)"):
        pages = [p for p in listing if p.startswith("usr/share/man/")
                 and not p.endswith("/")]
        assert pages and all(p.endswith(".1.gz") for p in pages), sorted(pages)
    with suite.case("everything under /usr"):
        assert all(p.startswith("usr/") for p in listing if not p.endswith("/")), listing

    root = os.path.join(suite.tmp, "root")
    run(["dpkg-deb", "-x", deb, root])
    exe = os.path.join(root, "usr", "bin", "pyc-tool")
    with suite.case("the extracted binary runs and is the built one"):
        for args in (["--version"], ["--help"], ["status", "--help"]):
            got = subprocess.run([exe] + args, capture_output=True)
            assert got.returncode == 0, got.stderr
            assert got.stdout == run_tool(args, check_rc=0).stdout, args
    with suite.case("the extracted binary does its job: status of a tree"):
        tree = os.path.join(suite.tmp, "tree", "__pycache__")
        os.makedirs(tree)
        open(os.path.join(tree, "gone.cpython-312.pyc"), "wb").close()
        got = subprocess.run([exe, "status", os.path.dirname(tree)], capture_output=True,
                             text=True, env=pyc_e2e.clean_env(NO_COLOR="1"))
        assert got.returncode == 1 and "orphan" in got.stdout, (got.stdout, got.stderr)
    with suite.case("the extracted man pages are gzip -9n of the pages the build rendered"):
        pages = sorted(glob.glob(os.path.join(root, "usr/share/man/man1/*.1.gz")))
        assert len(pages) == len(cs.commands()) + 1, pages
        for page in pages:
            with open(page, "rb") as f:
                head = f.read(10)
            # RFC 1952: magic, deflate, no FNAME flag and MTIME 0 (-n), XFL 2 (-9).
            assert head[:3] == b"\x1f\x8b\x08" and not head[3] & 0x08, (page, head)
            assert head[4:8] == b"\0\0\0\0" and head[8] == 2, (page, head)
            # These bytes render without a groff or man warning: test_doc_drift runs
            # groff -ww and man --warnings on each page of the build ("<page> renders
            # without groff warnings", "... man warnings"), the same checks as on the
            # package's, so they are not run twice.
            built = os.path.join(BUILD_DIR, "docs", "man", os.path.basename(page)[:-len(".gz")])
            with open(page, "rb") as f, open(built, "rb") as b:
                assert gzip.decompress(f.read()) == b.read(), (page, built)
    with suite.case("cmake --install elsewhere: zsh's site-functions, the rest alike"):
        prefix = os.path.join(suite.tmp, "local")
        run([os.environ.get("PYC_CMAKE") or "cmake", "--install", BUILD_DIR, "--prefix", prefix])
        local = {os.path.relpath(os.path.join(d, f), prefix)
                 for d, _, fs in os.walk(prefix) for f in fs}
        zsh = "share/zsh/site-functions/_pyc-tool"
        want_local = {p[len("usr/"):] for p in want}
        want_local = {zsh if "zsh/" in p else p for p in want_local}
        assert want_local <= local, "missing %s" % sorted(want_local - local)
    with suite.case("the extracted bash completion completes"):
        r = subprocess.run(["bash", "--norc", "-c",
                            "source %s/usr/share/bash-completion/completions/pyc-tool; "
                            "COMP_WORDS=(pyc-tool stat); COMP_CWORD=1; _pyc_tool; "
                            "echo \"${COMPREPLY[*]}\"" % root],
                           capture_output=True, text=True)
        assert r.stdout.split() == ["status"], (r.stdout, r.stderr)
    suite.finish()


if __name__ == "__main__":
    main()
