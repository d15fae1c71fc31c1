"""`passdown apply --scope fs/ext2 fs/buffer.c mm/filemap.c` on real Linux 6.1
(allmodconfig): the branch is created without touching the checkout, every
object the series touches compiles with kbuild at the final commit, and
checkpatch finds no error in any patch.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from passdown import compdb

from .conftest import REPO, kernel_dir

SCOPE = ["fs/ext2", "fs/buffer.c", "mm/filemap.c"]
BRANCH = "passdown/ci-6.1"


def git(tree: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(tree), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def series(kernel_tree, kernel_build, tmp_path_factory):
    if not (kernel_tree / ".git").exists():
        pytest.fail(f"{kernel_tree} is not a git repository: run scripts/kernel-tree.sh", pytrace=False)
    for key, value in (("user.name", "passdown CI"), ("user.email", "ci@passdown.invalid")):
        if subprocess.run(["git", "-C", str(kernel_tree), "config", key], capture_output=True).returncode:
            git(kernel_tree, "config", key, value)  # the fixture repository's own identity, if it has none
    out = tmp_path_factory.mktemp("apply61")
    before = (git(kernel_tree, "rev-parse", "HEAD"), git(kernel_tree, "status", "--porcelain"))
    cache = os.environ.get("PASSDOWN_KERNEL_CACHE", str(kernel_dir() / "cache-6.1-allmodconfig"))
    argv = [sys.executable, "-m", "passdown", "apply", "--tree", str(kernel_tree),
            "--build", str(kernel_build.compdb.parent), "--cache", cache, "--scope", *SCOPE,
            "--branch", BRANCH, "--force", "--outdir", str(out / "patches"), "-j", "2"]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        pytest.fail(f"passdown apply exited {proc.returncode}:\n{proc.stderr[-4000:]}", pytrace=False)
    print(proc.stderr[-3000:], file=sys.stderr)
    assert (git(kernel_tree, "rev-parse", "HEAD"), git(kernel_tree, "status", "--porcelain")) == before
    base = before[0].strip()
    shas = git(kernel_tree, "rev-list", "--reverse", f"{base}..{BRANCH}").split()
    return kernel_tree, kernel_build, base, shas, out


def test_series_shape(series):
    tree, _, base, shas, out = series
    assert shas
    files = [len(git(tree, "diff-tree", "--no-commit-id", "--name-only", "-r", s).split()) for s in shas]
    stat = git(tree, "diff", "--shortstat", f"{base}..{BRANCH}").strip()
    parts = sorted((out / "patches").iterdir())
    print(f"series: {len(shas)} commits, files per commit max {max(files)} median {statistics.median(files)}, "
          f"{stat}, {len(parts)} sub-series", file=sys.stderr)
    assert all(len(list(p.glob("0*.patch"))) - 1 <= 15 for p in parts)
    subjects = git(tree, "log", "--format=%s", f"{base}..{BRANCH}").splitlines()
    assert any("fs_page_mapping()" in s for s in subjects)


def test_touched_objects_build_with_kbuild(series, tmp_path):
    """Every .c the series changes, compiled by kbuild under the prepared
    allmodconfig at the series' last commit."""
    tree, build, base, shas, _ = series
    changed = git(tree, "diff", "--name-only", f"{base}..{BRANCH}").split()
    compiled = {Path(c.file).resolve().relative_to(tree).as_posix()
                for c in compdb.load(build.compdb) if Path(c.file).resolve().is_relative_to(tree)}
    objects = sorted(f[:-2] + ".o" for f in changed if f.endswith(".c") and f in compiled)
    assert objects
    wt = tmp_path / "wt"
    git(tree, "worktree", "add", "-q", "--detach", str(wt), BRANCH)
    try:
        obj = tmp_path / "obj"
        obj.mkdir()
        shutil.copy(build.compdb.parent / ".config", obj / ".config")
        jobs = str(os.cpu_count() or 2)
        make = ["make", "-C", str(wt), f"O={obj}", "-j", jobs]
        res = subprocess.run(make + ["olddefconfig"], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr[-3000:]
        res = subprocess.run(make + ["-k", *objects], capture_output=True, text=True, timeout=5400)
        errors = [l for l in res.stderr.splitlines() if re.search(r"\berror\b", l)]
        print(f"kbuild: {len(objects)} objects, exit {res.returncode}, {len(errors)} error lines", file=sys.stderr)
        assert res.returncode == 0, "\n".join(errors[:40]) or res.stderr[-3000:]
        assert all((obj / o).is_file() for o in objects)
    finally:
        git(tree, "worktree", "remove", "--force", str(wt))


def test_checkpatch_finds_no_errors(series):
    tree, _, _, _, out = series
    patches = sorted(p for p in (out / "patches").rglob("*.patch") if not p.name.startswith("0000-"))
    assert patches
    res = subprocess.run(["perl", str(tree / "scripts" / "checkpatch.pl"), "--no-tree", "--terse", "--show-types",
                          *map(str, patches)], capture_output=True, text=True, cwd=tree)
    lines = res.stdout.splitlines()
    errors = [l for l in lines if ": ERROR:" in l]
    warnings = [l for l in lines if ": WARNING:" in l]
    print(f"checkpatch: {len(patches)} patches, {len(errors)} errors, {len(warnings)} warnings", file=sys.stderr)
    for w in warnings[:20]:
        print("  " + w, file=sys.stderr)
    assert not errors, "\n".join(errors[:40])
