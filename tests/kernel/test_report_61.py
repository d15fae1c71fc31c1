"""`passdown report` on real Linux 6.1 (allmodconfig) against the gcc oracle.

The oracle (oracle.py) renames struct page's `mapping` in an overlay of
<linux/mm_types.h> and collects where kbuild's own gcc command lines stop
compiling.  Every use the report marks "analysed" must be one of those
(file, line) pairs, and every one of those must be in the report: precision and
recall both 100 %.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO
from .oracle import expand_scope, run_oracle

SCOPE = ["fs/ext2", "fs/buffer.c", "mm/filemap.c", "mm/page-writeback.c", "mm/truncate.c"]


@pytest.fixture(scope="module")
def scope_files(kernel_tree, kernel_build) -> list[str]:
    files = expand_scope(kernel_tree, kernel_build.compdb, SCOPE)
    for s in SCOPE:
        if s.endswith(".c"):
            assert s in files, f"{s} has no entry in {kernel_build.compdb}: allmodconfig should compile it"
        else:
            assert any(f.startswith(s + "/") for f in files), f"no file of {s} in {kernel_build.compdb}"
    return files


@pytest.fixture(scope="module")
def oracle(kernel_tree, kernel_build, scope_files, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("oracle")
    header_dirs = [s for s in SCOPE if (kernel_tree / s).is_dir()]
    res = run_oracle(kernel_tree, kernel_build.compdb, scope_files, scratch=scratch, header_dirs=header_dirs)
    print(f"oracle: {len(res.uses)} (file, line) uses from {res.errors} gcc errors; per file: {res.per_file()}",
          file=sys.stderr)
    return res


@pytest.fixture(scope="module")
def report(kernel_tree, kernel_build, tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("report")
    out = tmp / "r.json"
    argv = [sys.executable, "-m", "passdown", "report", "--tree", str(kernel_tree),
            "--build", str(kernel_build.compdb.parent), "--cache", str(tmp / "cache"),
            "--scope", *SCOPE, "--format", "json", "-o", str(out)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    proc = subprocess.run(argv, cwd=tmp, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        pytest.fail(f"passdown report exited {proc.returncode}:\n$ {' '.join(argv)}\n"
                    f"stderr (end):\n{proc.stderr[-4000:]}", pytrace=False)
    try:
        return json.loads(out.read_text())
    except (OSError, ValueError) as err:
        pytest.fail(f"passdown report wrote no JSON report to {out}: {err}", pytrace=False)


def test_oracle_checked_every_file(oracle, scope_files):
    """The oracle itself must be trustworthy: every TU compiled and used the overlay."""
    assert set(oracle.files) == set(scope_files)
    assert not oracle.problems, "oracle could not check some files:\n" + "\n".join(
        f"  {f}: {why}" for f, why in sorted(oracle.problems.items()))
    assert oracle.uses, "the oracle found no use at all: the overlay rename did not take"


def test_oracle_lines_mention_the_field(oracle, kernel_tree):
    """Sanity: an oracle line spells `mapping` (or is a macro invocation that does)."""
    odd = []
    for f, line in sorted(oracle.uses):
        text = (kernel_tree / f).read_text(errors="replace").splitlines()[line - 1]
        if "mapping" not in text and "(" not in text:
            odd.append(f"{f}:{line}: {text.strip()}")
    assert not odd, "oracle lines that cannot be a use:\n" + "\n".join(odd)


def _source_line(tree: Path, file: str, line: int, cache: dict) -> str:
    if file not in cache:
        try:
            cache[file] = (tree / file).read_text(errors="replace").splitlines()
        except OSError:
            cache[file] = []
    lines = cache[file]
    return lines[line - 1].strip() if 0 < line <= len(lines) else "?"


def test_report_matches_oracle(report, oracle, kernel_tree):
    uses = report.get("uses")
    assert isinstance(uses, list), f"the JSON report has no 'uses' list (keys: {sorted(report)})"
    for u in uses:
        missing = {"file", "line", "status"} - set(u)
        assert not missing, f"a use lacks {sorted(missing)}: {u}"
        assert u["status"] in ("analysed", "not-analysed"), f"unknown status {u['status']!r} in {u}"
        assert not os.path.isabs(u["file"]), f"use file {u['file']!r} is not relative to the tree"
    analysed = {(u["file"], u["line"]) for u in uses if u["status"] == "analysed"}
    by_key: dict[tuple[str, int], list[dict]] = {}
    for u in uses:
        by_key.setdefault((u["file"], u["line"]), []).append(u)

    extra = analysed - oracle.uses  # false positives
    missed = oracle.uses - analysed  # false negatives
    tp = len(analysed & oracle.uses)
    precision = tp / len(analysed) if analysed else 0.0
    recall = tp / len(oracle.uses) if oracle.uses else 1.0

    cache: dict = {}
    msg = [f"report: {len(analysed)} analysed (file, line) uses, oracle: {len(oracle.uses)}; "
           f"precision {precision:.1%}, recall {recall:.1%}"]
    if extra:
        msg.append(f"in the report but not in the oracle ({len(extra)}):")
        for f, line in sorted(extra):
            info = "; ".join(f"col {u.get('column')} {u.get('access')} in {u.get('function')}"
                             + (f" via {u['macro']}" if u.get("macro") else "") for u in by_key[(f, line)])
            msg.append(f"  {f}:{line}: {_source_line(kernel_tree, f, line, cache)}   [{info}]")
    if missed:
        msg.append(f"in the oracle but not analysed by the report ({len(missed)}):")
        for f, line in sorted(missed):
            other = by_key.get((f, line))
            why = f"   [report: {other[0]['status']}, {other[0].get('reason')}]" if other else ""
            msg.append(f"  {f}:{line}: {_source_line(kernel_tree, f, line, cache)}{why}")
    print("\n".join(msg), file=sys.stderr)
    assert not extra and not missed, "\n".join(msg)
