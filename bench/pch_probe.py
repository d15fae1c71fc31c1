"""Would a precompiled header of the common kernel headers cut libclang's parse?

    scripts/dev.sh python bench/pch_probe.py --tree T --build B [--dir fs] [--sample 10] [--seed 7]

Builds one PCH of a fixed set of widely included headers (``HEADERS``) with
the flags of the first sampled TU (kbuild's per-file ``KBUILD_*`` defines
left out), then parses each sampled TU twice: as passdown does, and with
``-include-pch`` (``-fno-validate-pch``: the per-file defines differ).  Prints
the CPU time of each parse, the error counts of both, and how many flag
groups the compile database has once the per-directory ``-I`` and the
per-file/per-module ``KBUILD``/``__KBUILD_MODNAME`` defines are set aside (a
safe PCH needs one per group: ``-DMODULE`` changes what some headers
declare).  With --facts, also runs passdown's extraction (parse + walk) both
ways and compares the facts.  Not a test.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from passdown import parse, pch  # noqa: E402
from passdown.workspace import Workspace  # noqa: E402

HEADERS = ("linux/kernel.h", "linux/fs.h", "linux/mm.h", "linux/pagemap.h", "linux/buffer_head.h",
           "linux/slab.h", "linux/sched.h", "linux/blkdev.h", "linux/writeback.h", "linux/module.h",
           "linux/uaccess.h")
KEEP_GOING = 0x200


def per_file(arg: str, source: str) -> bool:
    return arg == source or "KBUILD_" in arg or arg.startswith("-Wp,")


def group_key(args: tuple[str, ...], source: str, tree: str) -> tuple[str, ...]:
    """The flags a shared PCH must agree on: passdown's own grouping (pch.build_args)."""
    return pch.build_args(args)


def facts_compare(c, pch: Path, ws: Workspace, walks: dict) -> None:
    from passdown import facts as F

    fields = (F.FieldSpec("page", "mapping"),)
    t = time.process_time()
    a = parse.parse_tu(c.file, tuple(c.args), str(ws.tree), fields)
    walks["a"] += time.process_time() - t
    t = time.process_time()
    b = parse.parse_tu(c.file, tuple(c.args) + ("-include-pch", str(pch), "-Xclang", "-fno-validate-pch"),
                       str(ws.tree), fields)
    walks["b"] += time.process_time() - t
    ha, hb = {h.path: h for h in a.headers}, {h.path: h for h in b.headers}
    same = a.main == b.main and ha == hb
    walks["n"] += 1
    walks["same"] += same
    print(f"    facts {'identical' if same else 'DIFFER'}: main file {'same' if a.main == b.main else 'differs'}, "
          f"headers walked {len(ha)} -> {len(hb)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--dir", default="fs", help="sample TUs under this directory")
    ap.add_argument("--sample", type=int, default=10)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--facts", action="store_true",
                    help="also run passdown's whole per-TU extraction (parse + walk) both ways and compare the facts")
    args = ap.parse_args()

    parse._setup()
    import clang.cindex as ci

    ws = Workspace.open(args.tree, args.build)
    cmds = ws.commands()
    pool = [c for c in cmds if f"/{args.dir.strip('/')}/" in c.file]
    random.seed(args.seed)
    sample = random.sample(pool, min(args.sample, len(pool)))
    groups = collections.Counter(group_key(tuple(c.args), c.file, str(ws.tree)) for c in cmds)
    index = ci.Index.create()
    with tempfile.TemporaryDirectory() as tmp:
        header = Path(tmp) / "common.h"
        header.write_text("".join(f"#include <{h}>\n" for h in HEADERS))
        base = [a for a in sample[0].args if not per_file(a, sample[0].file)]
        t = time.process_time()
        tu = index.parse(str(header), base + ["-x", "c-header"], options=KEEP_GOING)
        pch = Path(tmp) / "common.pch"
        tu.save(str(pch))
        built = time.process_time() - t
        print(f"PCH of {len(HEADERS)} headers: {built:.2f} s CPU, {pch.stat().st_size / 2**20:.0f} MB, "
              f"{sum(1 for d in tu.diagnostics if d.severity >= 3)} errors")
        total_a = total_b = 0.0
        walks = {"a": 0.0, "b": 0.0, "same": 0, "n": 0}
        for c in sample:
            t = time.process_time()
            a = index.parse(c.file, list(c.args), options=KEEP_GOING)
            ta = time.process_time() - t
            t = time.process_time()
            b = index.parse(c.file, list(c.args) + ["-include-pch", str(pch), "-Xclang", "-fno-validate-pch"],
                            options=KEEP_GOING)
            tb = time.process_time() - t
            ea = sum(1 for d in a.diagnostics if d.severity >= 3)
            eb = sum(1 for d in b.diagnostics if d.severity >= 3)
            total_a, total_b = total_a + ta, total_b + tb
            print(f"  {os.path.relpath(c.file, ws.tree):50} {ta:6.2f} s -> {tb:6.2f} s   errors {ea} -> {eb}")
            del a, b
            if args.facts and ("-DMODULE" in c.args) == ("-DMODULE" in base):
                facts_compare(c, pch, ws, walks)
        if args.facts and walks["n"]:
            print(f"parse + walk CPU: {walks['a']:.2f} s -> {walks['b']:.2f} s ({walks['b'] / walks['a']:.2f}x); "
                  f"facts identical for {walks['same']} of {walks['n']} TUs")
    print(f"parse CPU: {total_a:.2f} s -> {total_b:.2f} s ({total_b / total_a:.2f}x) over {len(sample)} TUs")
    print(f"compile database: {len(cmds)} TUs in {len(groups)} PCH flag groups "
          f"(largest {', '.join(str(n) for _, n in groups.most_common(5))}; "
          f"{sum(1 for n in groups.values() if n == 1)} of one TU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
