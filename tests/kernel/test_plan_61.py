"""`passdown plan --scope fs/ext2 fs/buffer.c mm/` on real Linux 6.1 (allmodconfig).

Checks the plan's own consistency on a real tree: every planned function is
justified by a chain of calls ending at a read of the field, none already takes
a `struct address_space *`, and every call site has an argument and a provenance.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from .conftest import REPO, kernel_dir

SCOPE = ["fs/ext2", "fs/buffer.c", "mm"]


@pytest.fixture(scope="module")
def plan(kernel_tree, kernel_build, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("plan") / "plan.json"
    # A cache that outlives the test run: a second CI run on the same machine is warm.
    cache = os.environ.get("PASSDOWN_KERNEL_CACHE", str(kernel_dir() / "cache-6.1-allmodconfig"))
    argv = [sys.executable, "-m", "passdown", "plan", "--tree", str(kernel_tree),
            "--build", str(kernel_build.compdb.parent), "--cache", cache,
            "--scope", *SCOPE, "--format", "json", "-o", str(out)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        pytest.fail(f"passdown plan exited {proc.returncode}:\n{proc.stderr[-4000:]}", pytrace=False)
    data = json.loads(out.read_text())
    print("plan summary:", json.dumps(data["summary"], indent=1), file=sys.stderr)
    return data


@pytest.fixture(scope="module")
def params(kernel_tree, kernel_build, plan):
    """Parameters of every planned function, from the cached facts."""
    from passdown import facts as F
    from passdown import index
    from passdown.cache import Cache
    from passdown.workspace import Workspace

    ws = Workspace.open(kernel_tree, kernel_build.compdb.parent,
                        os.environ.get("PASSDOWN_KERNEL_CACHE", str(kernel_dir() / "cache-6.1-allmodconfig")))
    idx = index.run(ws.tree, ws.commands(), (F.FieldSpec("page", "mapping"),), Cache(ws.cache_dir), jobs=2)
    assert idx.parsed == 0, "the plan run should have left every TU in the cache"
    return {fn.usr: fn.params for _, fn in idx.functions() if fn.is_definition}


def test_plan_is_not_empty(plan):
    s = plan["summary"]
    assert s["functions"] > 0 and s["call_sites"] > 0 and s["conversions"] > 0


def test_no_planned_function_already_takes_an_address_space(plan, params):
    offenders = [f["name"] for f in plan["functions"]
                 if any(p.canonical.replace("const ", "") == "struct address_space *" for p in params[f["usr"]])]
    assert offenders == []


def test_every_call_site_has_an_argument_and_a_provenance(plan):
    bad = [s for s in plan["call_sites"] if not s["argument"] or not s["provenance"]
           or s["confidence"] not in ("exact", "derived", "review")]
    assert bad == []


def test_every_planned_function_is_justified_by_a_chain_to_a_read(plan):
    names = {f["name"]: f for f in plan["functions"]}
    # Readers: a conversion that uses the function's new parameter.
    justified = {c["function"] for c in plan["conversions"] if c["provenance"].startswith("new parameter")}
    shares: dict[str, set[str]] = {}
    for f in plan["functions"]:
        # "...; signature shared with A, B (origin ...)": the tokens end where the origin starts
        m = re.search(r"signature shared with (.*?)(?: \(|$)", f["reason"])
        for tok in (m.group(1).split(", ") if m else []):
            shares.setdefault(tok, set()).add(f["name"])
    passes = [(s["caller"], s["callee"]) for s in plan["call_sites"]
              if s["provenance"].startswith("the caller's new parameter")]
    changed = True
    while changed:
        changed = False
        for tok, funcs in shares.items():
            if funcs & justified and not funcs <= justified:
                justified |= funcs
                changed = True
        for caller, callee in passes:
            ok = callee in justified or bool(shares.get(callee, set()) & justified) or \
                bool(shares.get(f"callback:{callee}", set()) & justified)
            if ok and caller not in justified:
                justified.add(caller)
                changed = True
    unjustified = sorted(set(names) - justified)
    assert unjustified == [], f"{len(unjustified)} planned functions without a chain to a read: {unjustified[:20]}"
