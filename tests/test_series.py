"""series: commits go to a new branch through a scratch worktree; the user's checkout never changes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import git
import pytest

from passdown import series
from passdown.errors import InputError


def sh(cwd, *args) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path) -> Path:
    r = tmp_path / "linux"
    r.mkdir()
    sh(r, "init", "-q", "-b", "main")
    sh(r, "config", "user.name", "Jane Doe")
    sh(r, "config", "user.email", "jane@example.org")
    (r / "mm").mkdir()
    (r / "mm" / "filemap.c").write_text("int f(void);\n")
    sh(r, "add", "-A")
    sh(r, "commit", "-q", "-m", "base")
    # the user's own unfinished work: an edit, a staged file, an untracked file
    (r / "mm" / "filemap.c").write_text("int f(void); /* wip */\n")
    (r / "staged.txt").write_text("staged\n")
    sh(r, "add", "staged.txt")
    (r / "untracked.txt").write_text("mine\n")
    return r


def snapshot(r: Path) -> tuple:
    files = {p.relative_to(r).as_posix(): p.read_bytes() for p in sorted(r.rglob("*")) if p.is_file() and ".git" not in p.parts}
    return (sh(r, "rev-parse", "HEAD"), sh(r, "symbolic-ref", "HEAD"), sh(r, "status", "--porcelain"),
            sh(r, "diff", "--cached"), files, sh(r, "worktree", "list"), sh(r, "branch", "--list"))


COMMITS = [
    series.CommitSpec("mm: add page_passdown.h", "The helper.", {"include/linux/page_passdown.h": b"/* h */\n"}),
    series.CommitSpec("mm: pass mapping to f()", "Signature only.", {"mm/filemap.c": b"int f(void *mapping);\n"}),
]


def test_branch_is_written_and_the_checkout_is_untouched(repo):
    before = snapshot(repo)
    r = series.open_repo(repo)
    head = series.write_branch(r, "passdown/page-mapping", "HEAD", COMMITS)
    assert snapshot(repo)[:6] == before[:6]
    log = sh(repo, "log", "--format=%s|%an|%cn", "main..passdown/page-mapping").splitlines()
    assert log == ["mm: pass mapping to f()|Jane Doe|Jane Doe", "mm: add page_passdown.h|Jane Doe|Jane Doe"]
    assert sh(repo, "show", f"{head}:mm/filemap.c") == "int f(void *mapping);\n"
    assert len(sh(repo, "worktree", "list").splitlines()) == 1


def test_an_existing_branch_is_refused_unless_forced(repo):
    r = series.open_repo(repo)
    series.write_branch(r, "pd", "HEAD", COMMITS[:1])
    with pytest.raises(InputError, match="already exists; pass --force"):
        series.write_branch(r, "pd", "HEAD", COMMITS)
    new = series.write_branch(r, "pd", "HEAD", COMMITS, force=True)
    assert sh(repo, "rev-parse", "pd").strip() == new


def test_a_failure_half_way_leaves_nothing_behind(repo):
    before = snapshot(repo)
    bad = series.CommitSpec("broken", "", {"mm/filemap.c/oops": b"x"})  # a file where a file already is
    with pytest.raises(Exception):
        series.write_branch(series.open_repo(repo), "pd", "HEAD", [COMMITS[0], bad])
    assert snapshot(repo) == before
    assert "pd" not in sh(repo, "branch", "--list")


def test_not_a_repository(tmp_path):
    with pytest.raises(InputError, match="is not a git repository"):
        series.open_repo(tmp_path)


def test_a_merge_in_progress_is_refused(repo):
    sh(repo, "stash", "-u", "-q")
    sh(repo, "checkout", "-q", "-b", "other")
    (repo / "mm" / "filemap.c").write_text("int f(int);\n")
    sh(repo, "commit", "-q", "-am", "other")
    sh(repo, "checkout", "-q", "main")
    (repo / "mm" / "filemap.c").write_text("int f(long);\n")
    sh(repo, "commit", "-q", "-am", "main")
    subprocess.run(["git", "merge", "-q", "other"], cwd=repo, capture_output=True)  # conflicts
    with pytest.raises(InputError, match="middle of a merge; finish it or run 'git merge --abort'"):
        series.open_repo(repo)
