"""Where the time goes in `passdown index`/`report` (issue 5): parse, walk,
IPC, cache I/O, prefilter, and the parent's own work.

    python bench/profile_index.py --tree T --build B --cache C stats [--scope fs mm]
        per-TU figures recorded by the workers in the cached facts: libclang
        parse, Python walk (main file / headers), CPU, pickled size (what
        crosses the process pool and goes to disk);
    python bench/profile_index.py --tree T --build B --cache C warm [--scope fs mm] [--uses]
        a warm run in this process under cProfile: the phases index.run
        records and the top functions;
    python bench/profile_index.py --tree T --build B cold --scope mm [--uses] [--jobs 2]
        a cold run (fresh cache) under cProfile: the parent's share (IPC
        unpickling, cache writes) beside the workers' (from the stats).

Not a test; prints text.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pickle
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from passdown import facts as F  # noqa: E402
from passdown import index  # noqa: E402
from passdown.cache import Cache, tu_key  # noqa: E402
from passdown.workspace import Workspace, in_scope  # noqa: E402

FIELDS = (F.FieldSpec("page", "mapping"),)


def commands(ws: Workspace, scope):
    paths = ws.scope(scope)
    return paths, [c for c in ws.commands() if in_scope(c.file, paths)]


def cmd_stats(args) -> None:
    from passdown import parse

    ws = Workspace.open(args.tree, args.build, args.cache)
    _, cmds = commands(ws, args.scope)
    cache = Cache(Path(args.cache))
    version = parse.libclang_version()
    rows = []
    for c in cmds:
        k = tu_key(c.file, c.args, FIELDS, version)
        p = cache.tu_dir / f"{k}.pkl"
        if not p.is_file():
            continue
        data = p.read_bytes()
        t = pickle.loads(data)
        s = t.stats
        rows.append({"source": ws.rel(t.source), "parse": s.get("parse", 0.0), "walk": s.get("walk", 0.0),
                     "walk_headers": s.get("walk_headers", 0.0), "cpu": s.get("cpu", 0.0),
                     "headers": len(t.headers), "bytes": len(data),
                     "objects": _count(t)})
    if not rows:
        raise SystemExit(f"no full facts for this scope in {args.cache}: run a full index (or plan) first")
    n = len(rows)
    tot = {k: sum(r[k] for r in rows) for k in ("parse", "walk", "walk_headers", "cpu", "bytes", "objects")}
    print(f"{n} TUs with full facts in {args.cache}")
    print(f"  libclang parse   {tot['parse']:8.0f} s  (median {statistics.median(r['parse'] for r in rows):.2f} s/TU)")
    print(f"  walk, main files {tot['walk'] - tot['walk_headers']:8.0f} s  "
          f"(median {statistics.median(r['walk'] - r['walk_headers'] for r in rows):.2f} s/TU)")
    print(f"  walk, headers    {tot['walk_headers']:8.0f} s  ({sum(1 for r in rows if r['headers'])} TUs walked "
          f"{sum(r['headers'] for r in rows)} headers)")
    print(f"  worker CPU       {tot['cpu']:8.0f} s  (wall figures above include waiting for a core)")
    print(f"  facts pickled    {tot['bytes'] / 2**20:8.0f} MB, {tot['objects'] / 1e6:.2f} M records "
          f"(crosses the pool once, written once)")
    slow = sorted(rows, key=lambda r: -(r["parse"] + r["walk"]))[:10]
    print("  slowest TUs:")
    for r in slow:
        print(f"    {r['source']:50} parse {r['parse']:5.1f}  walk {r['walk']:5.1f} (headers {r['walk_headers']:5.1f})")


def _count(t: F.TUFacts) -> int:
    n = 0
    for ff in ([t.main] if t.main else []) + list(t.headers):
        n += 1 + len(ff.calls) + len(ff.ops) + len(ff.refs) + len(ff.uses) + len(ff.decls)
        n += sum(len(c.args) for c in ff.calls)
        for fn in ff.functions:
            n += 1 + len(fn.params) + 2 * len(fn.locals) + 2 * len(fn.assigns)
    return n


def _profiled(fn):
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    out = fn()
    prof.disable()
    wall = time.perf_counter() - t0
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(25)
    return out, wall, buf.getvalue()


def _run(args, cache_dir: Path):
    ws = Workspace.open(args.tree, args.build, cache_dir)
    t0 = time.perf_counter()
    paths, cmds = commands(ws, args.scope)
    t_cmds = time.perf_counter() - t0
    cache = Cache(cache_dir)
    idx = index.run(ws.tree, cmds, FIELDS, cache, jobs=args.jobs, exclude=ws.exclude(),
                    uses_in=paths if args.uses else None)
    return idx, t_cmds


def _print_run(idx, t_cmds, wall, prof_text):
    print(f"{len(idx.tus)} TUs ({idx.parsed} parsed, {idx.cached} cached, {len(idx.skipped)} skipped), "
          f"{len(idx.files)} files, light={idx.light}")
    print(f"wall {wall:.2f} s: compile commands {t_cmds:.2f} s, index.run {idx.seconds:.2f} s")
    for k, v in idx.stats.get("seconds", {}).items():
        print(f"  {k:10} {v:7.2f} s")
    if "prefilter" in idx.stats:
        print(f"  prefilter: {idx.stats['prefilter']}")
    print(prof_text)


def cmd_warm(args) -> None:
    (idx, t_cmds), wall, text = _profiled(lambda: _run(args, Path(args.cache)))
    _print_run(idx, t_cmds, wall, text)


def cmd_cold(args) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="passdown-profile-"))
    try:
        c0 = os.times()
        (idx, t_cmds), wall, text = _profiled(lambda: _run(args, tmp))
        c1 = os.times()
        _print_run(idx, t_cmds, wall, text)
        parent = (c1.user - c0.user) + (c1.system - c0.system)
        workers = sum(t.stats.get("cpu", 0.0) for t in idx.tus)
        print(f"parent CPU {parent:.1f} s, workers' CPU {workers:.1f} s (from the stats)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--cache")
    ap.add_argument("--jobs", type=int, default=2)
    sub = ap.add_subparsers(dest="what", required=True)
    for name in ("stats", "warm", "cold"):
        p = sub.add_parser(name)
        p.add_argument("--scope", nargs="+", default=["fs", "mm"])
        if name != "stats":
            p.add_argument("--uses", action="store_true", help="a report's run (uses mode)")
    args = ap.parse_args()
    if args.what in ("stats", "warm") and not args.cache:
        ap.error("--cache is needed")
    {"stats": cmd_stats, "warm": cmd_warm, "cold": cmd_cold}[args.what](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
