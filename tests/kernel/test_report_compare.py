"""The remaining-users report on real trees: Linux 6.1 classified and owned, and
6.1 against 6.12 (``report --against``), cross-checked against each tree's own
report totals.

The 6.12 side needs Debian's linux-source-6.12 unpacked (PASSDOWN_KERNEL_TREE_NEXT,
default $PASSDOWN_KERNEL_DIR/linux-source-6.12), which scripts/kernel-tests.sh makes;
run directly without it, that test is skipped and says so.  Its cold report takes
~2 min on 2 cores (the prefilter parses ~150 TUs).  Caches persist under $PASSDOWN_KERNEL_DIR (cold, fs/ + mm/
of one tree is ~10 min on 2 cores; warm, seconds).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from passdown import compare, report
from passdown.classify import CATEGORIES
from passdown.workspace import Workspace

from .conftest import REPO, kernel_dir

SCOPE = ["fs", "mm", "include/linux"]
JOBS = os.cpu_count() or 1


def _run(tree: Path, build: Path, cache: Path) -> report.Report:
    start = time.monotonic()
    rep = report.run(Workspace.open(tree, build, cache), SCOPE, jobs=JOBS)
    print(f"[report] {tree.name}: {len(rep.uses)} uses, {rep.tus['total']} TUs ({rep.tus['cached']} cached) "
          f"in {time.monotonic() - start:.0f} s", file=sys.stderr)
    return rep


@pytest.fixture(scope="module")
def report_61(kernel_tree, kernel_build) -> report.Report:
    return _run(kernel_tree, kernel_build.compdb.parent, kernel_dir() / "cache-6.1-allmodconfig")


@pytest.fixture(scope="module")
def tree_612() -> tuple[Path, Path]:
    from passdown import kbuild

    tree = Path(os.environ.get("PASSDOWN_KERNEL_TREE_NEXT", kernel_dir() / "linux-source-6.12"))
    if not (tree / "Makefile").is_file():
        pytest.skip(f"no Linux 6.12 tree at {tree}: apt-get install linux-source-6.12 and unpack "
                    "/usr/src/linux-source-6.12.tar.xz there (or set PASSDOWN_KERNEL_TREE_NEXT)")
    build = Path(os.environ.get("PASSDOWN_KERNEL_BUILD_NEXT", kernel_dir() / "build-6.12-allmodconfig"))
    res = kbuild.prepare(tree, build, config="allmodconfig", dirs=("fs", "mm"),
                         log=lambda m: print(f"[prepare 6.12] {m}", file=sys.stderr))
    return tree.resolve(), res.compdb.parent


def test_61_every_use_classified_and_owned(report_61):
    uses = report_61.uses
    assert len(uses) > 300
    assert all(u.category in CATEGORIES and u.category_why for u in uses)
    assert all(u.subsystem for u in uses), [u.file for u in uses if not u.subsystem][:10]
    by = report_61.summary()["by_category"]
    # Glisse: the bulk is file context; core mm is second
    assert by["file"] > len(uses) / 2 and by.get("core-mm", 0) > by.get("other", 0)
    fs = [u for u in uses if u.file.startswith("fs/") and not u.file.startswith("fs/proc/")]
    assert sum(u.category == "file" for u in fs) > 0.9 * len(fs)
    assert report_61.summary()["folio_in_reach"] > 0
    btrfs = [u for u in uses if u.file.startswith("fs/btrfs/")]
    assert btrfs and {u.subsystem for u in btrfs} == {"BTRFS FILE SYSTEM"}


def test_61_against_612(report_61, kernel_tree, kernel_build, tree_612):
    tree, build = tree_612
    rep_612 = _run(tree, build, kernel_dir() / "cache-6.12-allmodconfig")
    c = compare.compare(report_61, rep_612, "6.1", "6.12")
    t = c.totals()
    # cross-check against each tree's own report totals
    assert t["before"] == report_61.summary()["uses"] and t["after"] == rep_612.summary()["uses"]
    rows = c.by_group()
    assert sum(r["before"] for r in rows.values()) == t["before"]
    assert sum(r["after"] for r in rows.values()) == t["after"]
    # (not per subsystem: MAINTAINERS sections are renamed and split between the two trees)
    # the folio conversion removed most page->mapping users between 6.1 and 6.12
    assert t["after"] < t["before"] and t["removed"] > t["added"]
    md = compare.to_markdown(c)
    out = REPO / "test-artifacts" / "against-6.1-6.12.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(md)
    print("\n".join(md.splitlines()[:22]) + f"\n... (whole comparison in {out})", file=sys.stderr)
