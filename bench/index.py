"""Benchmark `passdown index` on a prepared kernel tree: cold, warm, after
touching one .c file, after touching one widely included header.

    bench/index.sh                      # Linux 6.1, x86_64 allmodconfig, fs/ + mm/, all cores
    python bench/index.py --tree T --build B [--scope fs mm] [--jobs N]

Prints one table.  Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import procwatch  # noqa: E402

SUMMARY = re.compile(r"indexed (\d+) TUs \((\d+) parsed, (\d+) from cache, (\d+) with errors\) in ([\d.]+)s")


def touch(path: Path) -> None:
    st = path.stat()
    data = path.read_bytes()
    # A real content change (a trailing comment line), undone after the run.
    path.write_bytes(data + b"\n/* passdown bench */\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tree", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--scope", nargs="+", default=["fs", "mm"])
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--c-file", default="fs/ext2/inode.c")
    ap.add_argument("--header", default="include/linux/pagemap.h")
    args = ap.parse_args()
    tree = Path(args.tree)
    cache = Path(tempfile.mkdtemp(prefix="passdown-bench-cache-"))
    base = [sys.executable, "-m", "passdown", "index", "--tree", args.tree, "--build", args.build,
            "--cache", str(cache), "--jobs", str(args.jobs), "--scope", *args.scope]
    rows = []

    def measure(name: str, cmd: list[str] = base) -> None:
        r = procwatch.run(cmd)
        m = SUMMARY.search(r["stderr"])
        if r["rc"] != 0 or not m:
            print(r["stderr"][-2000:], file=sys.stderr)
            raise SystemExit(f"{name}: passdown failed (exit {r['rc']})")
        tus, parsed, cached, errors = (int(x) for x in m.groups()[:4])
        rows.append((name, tus, parsed, cached, errors, r["wall"], r["cpu"], r["peak_rss"]))

    try:
        measure("cold")
        measure("warm")
        for label, rel in (("touched .c", args.c_file), ("touched header", args.header)):
            path = tree / rel
            saved = path.read_bytes(), path.stat()
            try:
                touch(path)
                measure(f"{label} ({rel})")
            finally:
                path.write_bytes(saved[0])
                os.utime(path, ns=(saved[1].st_atime_ns, saved[1].st_mtime_ns))
    finally:
        shutil.rmtree(cache, ignore_errors=True)

    # The plan over the same scope: cold (its own empty cache) and warm.
    plan_cache = Path(tempfile.mkdtemp(prefix="passdown-bench-plan-"))
    plan_cmd = [sys.executable, "-m", "passdown", "plan", "--tree", args.tree, "--build", args.build,
                "--cache", str(plan_cache), "--jobs", str(args.jobs), "--scope", *args.scope,
                "--format", "json", "-o", os.devnull]
    try:
        measure("plan cold", plan_cmd)
        measure("plan warm", plan_cmd)
    finally:
        shutil.rmtree(plan_cache, ignore_errors=True)

    print(f"\npassdown index/plan --scope {' '.join(args.scope)} --jobs {args.jobs}  ({tree})\n")
    head = f"{'run':44} {'TUs':>5} {'parsed':>6} {'cached':>6} {'errors':>6} {'wall s':>8} {'cpu s':>8} {'TUs/s':>7} {'peak RSS':>9}"
    print(head)
    print("-" * len(head))
    for name, tus, parsed, cached, errors, wall, cpu, rss in rows:
        print(f"{name:44} {tus:5d} {parsed:6d} {cached:6d} {errors:6d} {wall:8.1f} {cpu:8.1f} "
              f"{(parsed or tus) / wall:7.1f} {rss / 2**20:7.0f}MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
