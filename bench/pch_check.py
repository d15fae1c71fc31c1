"""Do the facts stay the same with precompiled headers?  And how much faster?

    scripts/dev.sh python bench/pch_check.py --tree T --build B --scope fs/ext4 [--jobs 2] [--keep DIR]

Indexes the TUs of the scope twice, cold, into two fresh caches: with
``pch=False`` (every TU parsed alone) and with PCHs (pch.py).  Prints the
wall/CPU time of both, the PCH figures, and every file whose facts differ.
Names made from ``__COUNTER__`` (``__UNIQUE_ID_x_123``,
``__compiletime_assert_45``) are compared without their number: a TU that
uses a PCH counts on from another value.  Not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from passdown import facts as F  # noqa: E402
from passdown import index  # noqa: E402
from passdown.cache import Cache  # noqa: E402
from passdown.workspace import Workspace, in_scope  # noqa: E402

COUNTER = re.compile(r"(__UNIQUE_ID_\w*?|__compiletime_assert_)\d+\b")


def norm(ff: F.FileFacts) -> str:
    return COUNTER.sub(r"\1N", repr(ff))


def run(ws, commands, field, cache_dir: Path, jobs: int, pch: bool):
    cache = Cache(cache_dir)
    t0 = time.perf_counter()
    idx = index.run(ws.tree, commands, (field,), cache, jobs=jobs, exclude=ws.exclude(), pch=pch)
    return idx, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--scope", nargs="+", default=["fs/ext4"])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", help="keep the two caches under this directory (default: a temporary one)")
    ap.add_argument("--without-cache", metavar="DIR",
                    help="take the facts without PCH from this full cache (warm) instead of parsing them again")
    args = ap.parse_args()

    ws = Workspace.open(args.tree, args.build)
    scope = ws.scope(args.scope)
    commands = [c for c in ws.commands() if in_scope(c.file, scope)]
    field = F.FieldSpec("page", "mapping")
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="pch-check-"))
    rows = []
    idxs = {}
    for name, pch in (("without PCH", False), ("with PCH", True)):
        d = base / name.replace(" ", "-")
        if not pch and args.without_cache:
            d = Path(args.without_cache)
            name = f"without PCH (warm, {d})"
        d.mkdir(parents=True, exist_ok=True)
        idx, wall = run(ws, commands, field, d, args.jobs, pch)
        idxs[pch] = idx
        tu_cpu = sum(t.stats.get("cpu", 0.0) for t in idx.tus if t.stats) if idx.parsed else 0.0
        rows.append((name, wall, tu_cpu, idx.parsed, len(idx.failures)))
        print(f"{name}: {idx.stats.get('pch', 'no PCH used')}", flush=True)
        phases = ", ".join(f"{k} {v:.1f}" for k, v in idx.stats.get("seconds", {}).items())
        print(f"  index phases, wall s: {phases}", flush=True)
    print(f"\n{len(commands)} TUs in {' '.join(args.scope)}, {args.jobs} workers, cold caches under {base}\n")
    print(f"| run | wall s | parse+walk CPU s | TUs parsed | with errors |\n|---|---:|---:|---:|---:|")
    for name, wall, cpu, parsed, failed in rows:
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {parsed} | {failed} |")
    a, b = idxs[False].files, idxs[True].files
    differ = sorted(p for p in set(a) & set(b) if norm(a[p]) != norm(b[p]))
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    print(f"\nfiles with facts: {len(a)} without, {len(b)} with; differ: {len(differ)}; "
          f"only without: {len(only_a)}; only with: {len(only_b)}")
    for p in differ[:20]:
        print("  differs:", os.path.relpath(p, ws.tree))
    for p in (only_a + only_b)[:20]:
        print("  only in one:", os.path.relpath(p, ws.tree))
    print("\nper TU, from the workers' figures (libclang parse, walk):")
    for pch, idx in idxs.items():
        for through in (False, True):
            tus = [t for t in idx.tus if t.stats and bool(t.stats.get("pch")) == through]
            if tus:
                parse_s, walk_s = sum(t.stats["parse"] for t in tus), sum(t.stats["walk"] for t in tus)
                print(f"  {'with' if pch else 'without'} PCH, {len(tus)} TUs {'through' if through else 'not through'}"
                      f" one: parse {parse_s:.1f} s ({parse_s / len(tus):.2f} each), walk {walk_s:.1f} s "
                      f"({walk_s / len(tus):.2f} each)")
    same_plan = compare_plans(ws, idxs, args.scope)
    return 0 if not (differ or only_a or only_b) and same_plan else 1


def compare_plans(ws, idxs, scope) -> bool:
    """The page-mapping plan from both indexes: the same but for the unresolved list?"""
    import json

    from passdown import plan, rules

    rule, _ = rules.load("page-mapping")
    out = {}
    for pch, idx in idxs.items():
        out[pch] = json.loads(plan.to_json(plan.make_plan(idx, rule, ws.scope(scope), ws.config())))
    a, b = out[False], out[True]
    keys = [k for k in a if k not in ("unresolved", "summary")]
    differ = [k for k in keys if a[k] != b[k]]
    print(f"\nplan: {a['summary']['functions']} functions, {a['summary']['call_sites']} call sites, "
          f"{a['summary']['conversions']} conversions, {a['summary']['remaining_uses']} remaining uses without PCH; "
          f"with PCH {'the same' if not differ else 'DIFFERENT in ' + ', '.join(differ)}")
    ra, rb = a["summary"]["unresolved_by_reason"], b["summary"]["unresolved_by_reason"]
    print(f"unresolved by reason, where they differ: "
          f"{ {r: (ra.get(r, 0), rb.get(r, 0)) for r in set(ra) | set(rb) if ra.get(r) != rb.get(r)} }")
    return not differ


if __name__ == "__main__":
    sys.exit(main())
