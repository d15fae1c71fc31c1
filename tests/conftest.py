"""Shared fixtures: the bundled corpus, and a way to run the passdown CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus" / "kern"


def pytest_addoption(parser):
    # Here, in the initial conftest, so `pytest --kernel` works from the repo root;
    # tests/kernel/conftest.py tolerates the option being registered already.
    parser.addoption("--kernel", action="store_true", default=False,
                     help="run the tests against a real Linux tree (tests/kernel; see scripts/kernel-tests.sh)")


@pytest.fixture(scope="session")
def corpus() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def expected_uses() -> list[dict]:
    return json.loads((CORPUS / "expected" / "uses.json").read_text())


@pytest.fixture(scope="session")
def expected_graph() -> dict:
    return json.loads((CORPUS / "expected" / "graph.json").read_text())


@pytest.fixture(scope="session")
def corpus_copy(tmp_path_factory) -> Path:
    """A private copy of the corpus, for tests that build or change it."""
    dest = tmp_path_factory.mktemp("corpus") / "kern"
    shutil.copytree(CORPUS, dest, ignore=shutil.ignore_patterns("build"))
    return dest


def run_passdown(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, "-m", "passdown", *args], capture_output=True, text=True, cwd=cwd)
    if check and res.returncode != 0:
        raise AssertionError(f"passdown {' '.join(args)} exited {res.returncode}:\n{res.stderr}")
    return res
