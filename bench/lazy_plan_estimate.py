"""How many TUs would a lazy planner parse?  An estimate from a finished plan.

    python bench/lazy_plan_estimate.py --tree T --build B --cache C --plan plan.json [--scope fs mm]

A planner that parsed on demand (issue 5, item 2) needs the TUs that can hold
a use (the report's prefilter), plus every TU that can refer to a function,
ops member or callback type the propagation touched: the planned functions,
the functions of unresolved chains, the callers and callees of every call
site, the members and callback types of the signature groups.  A TU can refer
to a name only if its main file spells it (``idents.IdentIndex``) or a header
it reads does; a header's facts need one includer, and a header read by any
TU already chosen is free.

The estimate takes the names from a plan made over the whole index, so it is
what a lazy planner that reaches the same plan would parse (a lower bound for
a planner that explores more, an upper bound for one that resolves names to
files more precisely than by spelling).  Not a test.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from passdown import facts as F  # noqa: E402
from passdown import idents, prefilter  # noqa: E402
from passdown.cache import Cache, tu_key  # noqa: E402
from passdown.workspace import Workspace, in_scope  # noqa: E402


def bare(name: str) -> str:
    return name.split("@", 1)[0].split("(", 1)[0].strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--cache", required=True, help="a cache holding every TU (after the plan)")
    ap.add_argument("--plan", required=True, help="the plan, --format json")
    ap.add_argument("--scope", nargs="+", default=["fs", "mm"])
    ap.add_argument("--planned-only", action="store_true",
                    help="names of the planned functions, call sites and groups only, not of unresolved chains")
    args = ap.parse_args()

    from passdown import parse

    ws = Workspace.open(args.tree, args.build, args.cache)
    commands = ws.commands()
    scope = ws.scope(args.scope)
    plan = json.loads(Path(args.plan).read_text())
    names: set[str] = set()
    names |= {bare(f["name"]) for f in plan["functions"]}
    if not args.planned_only:
        names |= {bare(u["function"]) for u in plan["unresolved"] if u.get("function")}
        names |= {bare(u["function"]) for u in plan["remaining"] if u.get("function")}
    for c in plan["call_sites"]:
        names |= {bare(c["caller"]), bare(c["callee"]).split(".")[-1]}
    names |= {m["member"] for m in plan["members"]}
    for g in plan["groups"]:
        names |= {m.split(".")[-1] for m in g["members"]}
        names |= {cb.removeprefix("callback:").split("#")[0] for cb in g["callback_types"]}
    names |= {bare(t["name"]) for t in plan["callback_types"]}
    names.discard("")

    t0 = time.perf_counter()
    uses_cmds = [c for c in commands if in_scope(c.file, scope)]
    sel = prefilter.select(ws.tree, uses_cmds, "mapping", scope, None, exclude=ws.exclude())
    t_pre = time.perf_counter() - t0
    t0 = time.perf_counter()
    ix = idents.IdentIndex(None)
    by_name = ix.mentioning(names, [c.file for c in commands])
    t_ix = time.perf_counter() - t0
    chosen = {c.file for c in sel.wanted} | by_name

    cache = Cache(Path(args.cache))
    version = parse.libclang_version()
    fields = (F.FieldSpec("page", "mapping"),)
    deps = {c.file: set(cache.deps(tu_key(c.file, c.args, fields, version))) for c in commands}
    read_by_chosen = set().union(*(deps[s] for s in chosen)) if chosen else set()
    headers = {d for s in deps for d in deps[s] if d.endswith(".h") and d.startswith(str(ws.tree) + "/")
               and not d.startswith(tuple(ws.exclude()))}
    t0 = time.perf_counter()
    mentioning_headers = ix.mentioning(names, sorted(headers))
    t_h = time.perf_counter() - t0
    extra = 0
    for h in sorted(mentioning_headers - read_by_chosen):
        inc = next((s for s in sorted(deps) if h in deps[s]), None)
        if inc and inc not in chosen:
            chosen.add(inc)
            read_by_chosen |= deps[inc]
            extra += 1
    print(f"names the plan touched: {len(names)} (functions, members, callback types)")
    print(f"TUs in the compile database: {len(commands)}")
    print(f"  that can hold a use in {' '.join(args.scope)} (prefilter): {len(sel.wanted)}  [{t_pre:.1f} s]")
    print(f"  whose main file spells one of the names: {len(by_name)}  [{t_ix:.1f} s, identifier index built cold]")
    print(f"  extra includers for headers that spell one and no chosen TU reads: {extra} "
          f"(of {len(mentioning_headers)} such headers)  [{t_h:.1f} s]")
    print(f"a lazy planner would parse about {len(chosen)} of {len(commands)} TUs "
          f"({100 * len(chosen) / len(commands):.0f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
