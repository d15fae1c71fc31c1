"""apply: the corpus plan as a branch of commits that each build, change no
behaviour until the conversions, and leave the user's checkout alone."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import CORPUS, run_passdown
from passdown.edits import _width

BRANCH = "passdown/page-mapping"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def make_repo(where: Path) -> Path:
    tree = where / "kern"
    shutil.copytree(CORPUS, tree, ignore=shutil.ignore_patterns("build"))
    git(tree, "init", "-q", "-b", "master")
    git(tree, "config", "user.name", "Tess Dev")
    git(tree, "config", "user.email", "tess@example.org")
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "-m", "Import the corpus")
    return tree


def snapshot(tree: Path) -> dict:
    """Everything of the user's that apply must not touch."""
    files = {}
    for p in sorted(tree.rglob("*")):
        if p.is_file() and ".git" not in p.relative_to(tree).parts:
            files[str(p.relative_to(tree))] = hashlib.sha256(p.read_bytes()).hexdigest()
    index = hashlib.sha256((tree / ".git" / "index").read_bytes()).hexdigest()
    return {"files": files, "index": index, "head": git(tree, "rev-parse", "HEAD"),
            "branch": git(tree, "symbolic-ref", "HEAD"), "status": git(tree, "status", "--porcelain"),
            "worktrees": git(tree, "worktree", "list")}


def apply(tree: Path, cache: Path, *extra: str, check: bool = True, env: dict | None = None):
    args = ["apply", "--tree", str(tree), "--cache", str(cache), "--scope", ".", "-j", "2", *extra]
    if env is None:
        return run_passdown(*args, check=check)
    import sys
    return subprocess.run([sys.executable, "-m", "passdown", *args], capture_output=True, text=True,
                          env={**os.environ, **env})


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    where = tmp_path_factory.mktemp("apply")
    tree = make_repo(where)
    before = snapshot(tree)
    res = apply(tree, where / "cache", "--outdir", str(where / "out"))
    return tree, where, before, res


def commits(tree: Path) -> list[str]:
    return git(tree, "rev-list", "--reverse", f"master..{BRANCH}").split()


def test_apply_creates_the_branch_and_leaves_the_checkout_alone(applied):
    tree, _, before, res = applied
    assert f"created branch {BRANCH}" in res.stderr
    assert snapshot(tree) == before
    shas = commits(tree)
    assert len(shas) > 10
    subjects = git(tree, "log", "--format=%s", f"master..{BRANCH}").splitlines()
    assert subjects[-1].endswith("add fs_page_mapping() to read page->mapping from context")
    assert any("pass the address_space to ->writepage()" in s for s in subjects)
    assert any("use fs_page_mapping() instead of page->mapping" in s for s in subjects)


def test_every_commit_builds_and_behaves_as_before(applied, tmp_path):
    """Checkout of every commit builds with -Wall -Werror; with no page write
    protected, the harness prints exactly what it printed before the series."""
    tree, *_ = applied
    wt = tmp_path / "wt"
    git(tree, "worktree", "add", "-q", "--detach", str(wt), "master")
    try:
        def build_and_run() -> str:
            b = subprocess.run(["make", "-s", "-j2", "-C", str(wt)], capture_output=True, text=True)
            assert b.returncode == 0, b.stderr
            out = subprocess.run([str(wt / "build" / "kern")], capture_output=True, text=True).stdout
            return re.sub(r"0x[0-9a-f]{9,}", "ADDR", out)  # dump_page() prints pointers (ASLR)

        baseline = build_and_run()
        assert " 0 failed" in baseline
        for sha in commits(tree):
            git(wt, "checkout", "-q", "--detach", sha)
            assert build_and_run() == baseline, git(tree, "log", "-1", "--format=%s", sha)
    finally:
        git(tree, "worktree", "remove", "--force", str(wt))


def test_signature_commits_only_add_the_parameter_conversions_come_last(applied):
    tree, *_ = applied
    seen_conversion = False
    for sha in commits(tree)[1:]:
        diff = git(tree, "show", "--format=", sha)
        added = [l for l in diff.splitlines() if l.startswith("+") and not l.startswith("+++")]
        uses_helper = any("fs_page_mapping(" in l for l in added)
        subject = git(tree, "log", "-1", "--format=%s", sha)
        if "use fs_page_mapping()" in subject:
            seen_conversion = True
            assert uses_helper
        else:
            assert not seen_conversion, f"signature commit after a conversion: {subject}"
            assert not uses_helper, subject


def test_added_lines_follow_kernel_style(applied):
    tree, *_ = applied
    diff = git(tree, "diff", f"master..{BRANCH}")
    added = [l[1:] for l in diff.splitlines() if l.startswith("+") and not l.startswith("+++")]
    assert added
    assert not [l for l in added if l != l.rstrip()], "trailing whitespace"
    assert not [l for l in added if _width(l.encode()) > 100], "line over 100 columns"


def test_messages_carry_signoff_provenance_and_regenerate_command(applied):
    tree, *_ = applied
    for sha in commits(tree):
        msg = git(tree, "log", "-1", "--format=%B", sha)
        assert msg.rstrip().endswith("Signed-off-by: Tess Dev <tess@example.org>")
        assert "passdown apply --rule page-mapping --scope . --base" in msg
        assert git(tree, "log", "-1", "--format=%an <%ae>|%cn <%ce>", sha).strip() == \
            "Tess Dev <tess@example.org>|Tess Dev <tess@example.org>"
    writepage = git(tree, "log", "--format=%B", "--grep", "to ->writepage()", f"master..{BRANCH}")
    # the one derived call site of ->writepage is listed with where its argument comes from
    assert "fs/fs-writeback.c:37 write_inode_page(): inode->i_mapping" in writepage
    assert "[derived]" in writepage


def test_show_regenerates_one_commit(applied):
    tree, where, *_ = applied
    sha = git(tree, "log", "--format=%H", "--grep", "to ->writepage()", f"master..{BRANCH}").split()[0]
    shown = apply(tree, where / "cache", "--show", "sig:address_space_operations.writepage").stdout
    want = git(tree, "show", "--format=", sha)
    changed = lambda text: sorted(l for l in text.splitlines() if l and l[0] in "+-" and l[:3] not in ("+++", "---"))
    assert changed(shown) == changed(want)
    assert git(tree, "log", "-1", "--format=%s", sha).strip() in shown


def test_second_run_does_nothing(applied):
    tree, where, _, _ = applied
    head = git(tree, "rev-parse", BRANCH)
    res = apply(tree, where / "cache")
    assert "nothing to do" in res.stderr
    assert git(tree, "rev-parse", BRANCH) == head


def test_the_series_head_has_nothing_left_to_apply(applied, tmp_path):
    tree, *_ = applied
    again = tmp_path / "again"
    git(tree, "worktree", "add", "-q", str(again), BRANCH)  # check out the result like a user would
    try:
        git(again, "checkout", "-q", "-b", "review")
        res = apply(again, tmp_path / "cache", "--branch", "passdown/second")
        assert "nothing to do" in res.stderr
        assert "passdown/second" not in git(tree, "branch", "--list")
    finally:
        git(tree, "worktree", "remove", "--force", str(again))


def test_outdir_has_sub_series_with_cover_letters(applied):
    tree, where, *_ = applied
    parts = sorted((where / "out").iterdir())
    total = len(commits(tree))
    assert len(parts) == -(-total // 15)
    n = 0
    for i, part in enumerate(parts, 1):
        patches = sorted(part.glob("*.patch"))
        cover = patches[0].read_text()
        assert patches[0].name == "0000-cover-letter.patch" and len(patches) - 1 <= 15
        n += len(patches) - 1
        assert re.search(rf"^Subject: \[PATCH 0+/{len(patches) - 1}\] .*\(part {i}/{len(parts)}\)", cover, re.M)
        assert re.search(r"^base-commit: [0-9a-f]{40}$", cover, re.M)
        assert re.search(r"^change-id: \d{8}-page-mapping-[0-9a-f]{12}$", cover, re.M)
        assert re.search(r"^To: .*<.*@example\.", cover, re.M) and re.search(r"^Cc: .*@lists\.example\.org", cover, re.M)
        assert "*** SUBJECT HERE ***" not in cover and "*** BLURB HERE ***" not in cover
        if i > 1:
            assert "prerequisite-patch-id:" in cover and "applies on top of part" in cover
        first = patches[1].read_text()
        assert re.search(rf"^Subject: \[PATCH 0*1/{len(patches) - 1}\]", first, re.M)
    assert n == total


@pytest.mark.parametrize("how, code", [("error", 1), ("interrupt", 130)])
def test_failure_half_way_leaves_nothing_behind(tmp_path, how, code):
    tree = make_repo(tmp_path)
    before = snapshot(tree)
    res = apply(tree, tmp_path / "cache", check=False,
                env={"PASSDOWN_TEST_FAIL_AT_COMMIT": "5", "PASSDOWN_TEST_FAIL_HOW": how})
    assert res.returncode == code, res.stderr
    assert snapshot(tree) == before
    assert BRANCH not in git(tree, "branch", "--list")
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("passdown-worktree-*/wt/.git"))


def test_refuses_uncommitted_changes_to_a_file_it_would_edit(tmp_path):
    tree = make_repo(tmp_path)
    with (tree / "fs" / "ext2" / "inode.c").open("a") as fh:
        fh.write("/* local change */\n")
    before = snapshot(tree)
    res = apply(tree, tmp_path / "cache", check=False)
    assert res.returncode == 3
    assert "fs/ext2/inode.c differs from" in res.stderr and "commit or stash" in res.stderr
    assert snapshot(tree) == before


def test_refuses_an_existing_different_branch_without_force(tmp_path):
    tree = make_repo(tmp_path)
    git(tree, "branch", BRANCH)
    res = apply(tree, tmp_path / "cache", check=False)
    assert res.returncode == 3 and "already exists; pass --force" in res.stderr
    assert git(tree, "rev-parse", BRANCH) == git(tree, "rev-parse", "master")
    res = apply(tree, tmp_path / "cache", "--force")
    assert f"created branch {BRANCH}" in res.stderr
    assert git(tree, "rev-parse", BRANCH) != git(tree, "rev-parse", "master")


def test_not_a_repository_is_refused(tmp_path):
    tree = tmp_path / "kern"
    shutil.copytree(CORPUS, tree, ignore=shutil.ignore_patterns("build"))
    res = apply(tree, tmp_path / "cache", check=False)
    assert res.returncode == 3 and "is not a git repository" in res.stderr


def test_the_branch_ends_at_the_whole_plan_applied(applied, tmp_path):
    """Cutting into commits loses and repeats nothing: the last commit is the
    whole plan's edit set applied at once (wrapping aside), plus the helper
    header (which tests/test_wp_runtime.py runs under write protection)."""
    from passdown import edits, index, rules
    from passdown import plan as plan_mod
    from passdown.workspace import Workspace

    tree, *_ = applied
    rule, _ = rules.load()
    ws = Workspace.open(tree, None, tmp_path / "cache")
    idx = index.run(ws.tree, ws.commands(), (rule.spec,), ws.open_cache(), jobs=2)
    es = edits.compute(idx, plan_mod.make_plan(idx, rule, ws.scope(["."]), ws.config()), rule)
    changed = set(git(tree, "diff", "--name-only", f"master..{BRANCH}").split())
    assert changed == {idx.rel(p) for p in es.files()} | {rule.helper.header}
    squash = lambda b: re.sub(rb"\s+", b" ", b)
    for path in es.files():
        whole = edits.apply(Path(path).read_bytes(), es.edits[path])
        last = subprocess.run(["git", "-C", str(tree), "show", f"{BRANCH}:{idx.rel(path)}"],
                              capture_output=True, check=True).stdout
        assert squash(last) == squash(whole), idx.rel(path)
