"""Tests against a real Linux 6.1 tree: run with ``--kernel`` (see scripts/kernel-tests.sh).

Without ``--kernel`` every test under tests/kernel is *deselected* (not
skipped), so an ordinary ``pytest`` run says nothing about them.

Environment:
  PASSDOWN_KERNEL_DIR    scratch root (default /var/tmp/passdown-kernel)
  PASSDOWN_KERNEL_TREE   the tree (default $PASSDOWN_KERNEL_DIR/linux-source-6.1,
                         made by scripts/kernel-tree.sh)
  PASSDOWN_KERNEL_BUILD  the kbuild output directory (default
                         $PASSDOWN_KERNEL_DIR/build-6.1-allmodconfig)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def kernel_dir() -> Path:
    return Path(os.environ.get("PASSDOWN_KERNEL_DIR", "/var/tmp/passdown-kernel"))


def pytest_addoption(parser):
    # `pytest --kernel` from the repo root (no path) needs the option in an
    # initial conftest (tests/conftest.py); one that registers it already wins.
    try:
        parser.addoption("--kernel", action="store_true", default=False,
                         help="run the tests against a real Linux tree (tests/kernel; see scripts/kernel-tests.sh)")
    except ValueError:
        pass


def _kernel_enabled(config) -> bool:
    # This conftest is not an "initial" one when pytest starts from the repo
    # root without naming tests/kernel: its option is then registered late and
    # may be missing from the parsed namespace.
    try:
        return bool(config.getoption("--kernel"))
    except ValueError:
        return "--kernel" in config.invocation_params.args


def pytest_collection_modifyitems(config, items):
    if _kernel_enabled(config):
        return
    selected, deselected = [], []
    for item in items:
        (deselected if Path(str(item.path)).resolve().is_relative_to(HERE) else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.fixture(scope="session")
def kernel_tree() -> Path:
    tree = Path(os.environ.get("PASSDOWN_KERNEL_TREE", kernel_dir() / "linux-source-6.1"))
    if not (tree / "Makefile").is_file() or not (tree / "include" / "linux" / "mm_types.h").is_file():
        pytest.fail(f"no Linux tree at {tree}: run scripts/kernel-tree.sh (or set PASSDOWN_KERNEL_TREE)",
                    pytrace=False)
    return tree.resolve()


@pytest.fixture(scope="session")
def kernel_build(kernel_tree):
    """passdown.kbuild.prepare() of the tree (allmodconfig, fs and mm): its PrepareResult."""
    from passdown import kbuild

    build = Path(os.environ.get("PASSDOWN_KERNEL_BUILD", kernel_dir() / "build-6.1-allmodconfig"))
    start = time.monotonic()
    result = kbuild.prepare(kernel_tree, build, config="allmodconfig", dirs=("fs", "mm"),
                            log=lambda msg: print(f"[prepare] {msg}", file=sys.stderr))
    print(f"[prepare] {'reused' if result.reused else 'prepared'} {result.config}: {result.entries} entries "
          f"in {time.monotonic() - start:.1f} s", file=sys.stderr)
    return result
