"""messages: subject prefixes from git history, MAINTAINERS and directories."""

from __future__ import annotations

import subprocess

import git
import pytest

from passdown import messages
from passdown.maintainers import Maintainers

from conftest import CORPUS


def _commit(repo, path, subject):
    f = repo / path
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(f.read_text() + "x\n" if f.exists() else "x\n")
    subprocess.run(["git", "-C", str(repo), "add", path], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", subject],
                   check=True)


@pytest.fixture
def repo(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def test_history_prefix_is_the_most_common_one(repo):
    for s in ("ext2: fix a leak", "ext2: drop a check", "fs: ext2: odd one", "Revert \"ext2: x\""):
        _commit(repo, "fs/ext2/inode.c", s)
    assert messages.history_prefix(git.Repo(repo), ["fs/ext2/inode.c"]) == "ext2"


def test_history_prefix_needs_a_habit(repo):
    _commit(repo, "mm/filemap.c", "Import the tree")
    _commit(repo, "mm/filemap.c", "mm: once")
    assert messages.history_prefix(git.Repo(repo), ["mm/filemap.c"]) is None  # seen once: no habit


@pytest.mark.parametrize("path, prefix", [("fs/ext2/inode.c", "ext2"), ("fs/nfs/write.c", "nfs"),
                                          ("block/bio.c", "block"), ("fs/buffer.c", "fs")])
def test_maintainers_prefix(path, prefix):
    sec = Maintainers.load(CORPUS).subsystem(path)
    assert messages.maintainers_prefix(sec) == prefix


@pytest.mark.parametrize("path, prefix", [("fs/ext2/inode.c", "ext2"), ("fs/buffer.c", "fs"),
                                          ("mm/filemap.c", "mm"), ("include/linux/x.h", "mm")])
def test_directory_prefix(path, prefix):
    assert messages.directory_prefix(path) == prefix


def test_signoff_refuses_a_missing_identity(repo, monkeypatch):
    monkeypatch.setenv("HOME", str(repo))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(repo))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    with pytest.raises(Exception, match="git config user.name"):
        messages.signoff(git.Repo(repo))
