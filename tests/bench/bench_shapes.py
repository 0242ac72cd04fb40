#!/usr/bin/env python3
"""bench_shapes.py [PYC_TOOL] - `pyc-tool status` with the default -j against -j 1 on
trees of every shape, side by side in one run (docs/benchmarks.md, "status: tree shapes").

The default -j must never be meaningfully slower than -j 1, whatever the shape: one huge
directory (200,000 caches in one __pycache__), wide (10,000 packages side by side), deep (a
3,000-level chain), thousands of tiny directories (70 x 70 packages). Trees come from
tests/e2e/hostile_trees.py (the shapes test_hostile_trees.py asserts a bound on), built on
/dev/shm when there is room. For each shape the two commands alternate RUNS times
(default 5) after a warm-up; the table gives the median wall times, their ratio (default
/ -j 1), the median CPU times (user + sys) and the peak RSS (/usr/bin/time). PYC_TOOL defaults to build/pyc-tool.
"""
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import hostile_trees as H  # noqa: E402

SHAPES = [
    ("one huge directory", "200,000 caches in one `__pycache__`", lambda r: H.one_dir(r, 200000)),
    ("wide", "10,000 packages, 1 module each", lambda r: H.packages(r, 10000)),
    ("deep", "3,000-level chain, 1 module per level", lambda r: H.deep(r, 3000)),
    ("thousands of tiny", "70 x 70 packages, 1 module each", lambda r: H.packages(r, 70, depth=2)),
]


def timed(cmd):
    """Wall seconds, CPU seconds (user + sys) and peak RSS (KiB) of one run, output
    discarded."""
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "%U %S %M"] + cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    secs = time.monotonic() - t0
    user, system, rss = r.stderr.split()[-3:]
    return secs, float(user) + float(system), int(rss)


def main():
    tool = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "build",
                                                               "pyc-tool")
    runs = int(os.environ.get("RUNS", "5"))
    base = H.scratch("/tmp")
    rows = []
    try:
        for name, what, build in SHAPES:
            root = os.path.join(base, name.replace(" ", "-"))
            n = build(root)
            cmds = {"-j 1": [tool, "status", "-j", "1", root], "default": [tool, "status", root]}
            for c in cmds.values():
                timed(c)   # warm the dentry cache
            wall = {k: [] for k in cmds}
            cpu = {k: [] for k in cmds}
            rss = {}
            for _ in range(runs):
                for k, c in cmds.items():
                    w, u, rss[k] = timed(c)
                    wall[k].append(w)
                    cpu[k].append(u)
            w1, wd = statistics.median(wall["-j 1"]), statistics.median(wall["default"])
            c1, cd = statistics.median(cpu["-j 1"]), statistics.median(cpu["default"])
            rows.append((name, what, n, w1, wd, c1, cd, rss["-j 1"], rss["default"]))
            print("%s: -j 1 %.3f s, default %.3f s" % (name, w1, wd), file=sys.stderr)
            subprocess.run(["rm", "-rf", root], check=True)
    finally:
        subprocess.run(["rm", "-rf", base], check=True)
    print("%d runs each, alternating, medians; %d cores, load average %s at the end; trees on %s."
          % (runs, os.cpu_count(), open("/proc/loadavg").read().split()[0],
             os.path.dirname(base)))
    print()
    print("| shape | tree | caches | wall `-j 1` s | wall default s | wall default / `-j 1` "
          "| CPU `-j 1` s | CPU default s | peak RSS KiB `-j 1` / default |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, what, n, w1, wd, c1, cd, r1, rd in rows:
        print("| %s | %s | %d | %.3f | %.3f | **%.2f** | %.2f | %.2f | %d / %d |"
              % (name, what, n, w1, wd, wd / w1, c1, cd, r1, rd))


if __name__ == "__main__":
    main()
