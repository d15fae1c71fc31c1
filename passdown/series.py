"""Writing commits without touching the user's checkout (groundwork for `passdown apply`).

Commits are made in a scratch worktree detached at the base revision; the
branch ref is created only after the last commit succeeded, so an interrupted
or failing run leaves no branch, no worktree and the user's working tree,
index and current branch exactly as they were.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import git

from .errors import InputError, ToolError

# A repository in one of these states is refused: a new branch made from it
# would mix passdown's commits with the user's half-finished operation.
_BUSY = {
    "MERGE_HEAD": ("a merge", "git merge --abort"),
    "rebase-merge": ("a rebase", "git rebase --abort"),
    "rebase-apply": ("a rebase or git am", "git rebase --abort (or git am --abort)"),
    "CHERRY_PICK_HEAD": ("a cherry-pick", "git cherry-pick --abort"),
    "REVERT_HEAD": ("a revert", "git revert --abort"),
    "BISECT_LOG": ("a bisect", "git bisect reset"),
}


@dataclass(frozen=True)
class CommitSpec:
    subject: str
    body: str
    files: dict[str, bytes]  # path relative to the tree -> new content

    @property
    def message(self) -> str:
        return f"{self.subject}\n\n{self.body}".rstrip() + "\n"


def open_repo(tree: Path) -> git.Repo:
    """The tree's repository, refusing states a new branch must not be made from."""
    try:
        repo = git.Repo(tree)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise InputError(f"{tree} is not a git repository; run passdown on a git checkout of the kernel "
                         "(git init && git add -A && git commit)") from None
    gitdir = Path(repo.git_dir)
    for name, (what, fix) in _BUSY.items():
        if (gitdir / name).exists():
            raise InputError(f"{tree} is in the middle of {what}; finish it or run '{fix}' first")
    if not repo.head.is_valid():
        raise InputError(f"{tree} has no commits yet; commit the tree first")
    return repo


def check_name(repo: git.Repo, name: str) -> None:
    try:
        repo.git.check_ref_format("--branch", name)
    except git.GitCommandError:
        raise InputError(f"'{name}' is not a valid branch name; pick another with --branch") from None


def check_branch(repo: git.Repo, name: str, force: bool) -> None:
    if name not in repo.heads:
        return
    if not force:
        raise InputError(f"branch {name} already exists; pass --force to replace it or --branch NAME for another")
    if not repo.head.is_detached and repo.active_branch.name == name:
        raise InputError(f"branch {name} is checked out; switch to another branch before replacing it")


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM runs the same clean-up as Ctrl-C."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


@contextlib.contextmanager
def scratch_worktree(repo: git.Repo, base: str) -> Iterator[git.Repo]:
    """A detached worktree at *base* in a temporary directory, always removed."""
    holder = Path(tempfile.mkdtemp(prefix="passdown-worktree-"))
    path = holder / "wt"
    try:
        repo.git.worktree("add", "--detach", "--quiet", str(path), base)
    except git.GitCommandError as err:
        shutil.rmtree(holder, ignore_errors=True)
        raise ToolError(f"git worktree add failed: {err.stderr.strip().splitlines()[-1] if err.stderr else err}; "
                        "check that the repository is writable") from None
    try:
        yield git.Repo(path)
    finally:
        with contextlib.suppress(git.GitCommandError):
            repo.git.worktree("remove", "--force", str(path))
        shutil.rmtree(holder, ignore_errors=True)
        with contextlib.suppress(git.GitCommandError):
            repo.git.worktree("prune")


def write_branch(repo: git.Repo, name: str, base: str, commits: list[CommitSpec], *, force: bool = False) -> str:
    """Commit *commits* on top of *base* and point branch *name* at the result.

    Author and committer are the user's git identity. Returns the new head.
    """
    check_branch(repo, name, force)
    base_sha = repo.commit(base).hexsha
    fail_at = int(os.environ.get("PASSDOWN_TEST_FAIL_AT_COMMIT", "0"))  # tests: die half-way
    with _sigterm_as_interrupt(), scratch_worktree(repo, base_sha) as wt:
        for n, spec in enumerate(commits, 1):
            if n == fail_at:
                raise KeyboardInterrupt if os.environ.get("PASSDOWN_TEST_FAIL_HOW") == "interrupt" else \
                    RuntimeError(f"test failure at commit {n}")
            for rel, data in spec.files.items():
                target = Path(wt.working_tree_dir) / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            wt.git.add("--", *spec.files)
            wt.git.commit("--quiet", "--no-verify", "-m", spec.message)
        head = wt.head.commit.hexsha
    # Only now does anything visible to the user change: one ref update.
    repo.git.branch("--force" if force else "--no-track", name, head)
    return head


def same_series(repo: git.Repo, name: str, base: str, commits: list[CommitSpec]) -> bool:
    """Does branch *name* already hold exactly these commits on *base*
    (messages and contents; dates and hashes aside)?"""
    try:
        shas = repo.git.rev_list("--reverse", f"{base}..{name}").split()
    except git.GitCommandError:
        return False
    if len(shas) != len(commits) or repo.git.merge_base(base, name) != base:
        return False
    for sha, spec in zip(shas, commits):
        c = repo.commit(sha)
        if c.message.strip() != spec.message.strip():
            return False
        changed = set(repo.git.diff_tree("--no-commit-id", "--name-only", "-r", sha).split())
        if changed != set(spec.files):
            return False
        for rel, data in spec.files.items():
            try:
                if (c.tree / rel).data_stream.read() != data:
                    return False
            except KeyError:
                return False
    return True
