"""Bad input: one clear line on stderr that says how to fix it, and a documented exit code."""

from __future__ import annotations

import subprocess
import sys

import pytest


def passdown(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "passdown", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture
def tiny(tmp_path):
    (tmp_path / "fs").mkdir()
    (tmp_path / "fs" / "a.c").write_text("int a(void) { return 0; }\n")
    (tmp_path / "compile_commands.json").write_text(
        '[{"directory": ".", "file": "fs/a.c", "arguments": ["gcc", "-c", "fs/a.c"]}]')
    return tmp_path


def one_line_error(res, code, *words):
    assert res.returncode == code, res.stderr
    lines = [l for l in res.stderr.splitlines() if l.startswith("passdown: error:")]
    assert len(lines) == 1, res.stderr
    for w in words:
        assert w in lines[0]


def test_not_a_directory(tmp_path):
    one_line_error(passdown("report", "--tree", str(tmp_path / "nope")), 3, "--tree")


def test_no_compile_commands(tmp_path):
    one_line_error(passdown("report", "--tree", str(tmp_path), "--cache", str(tmp_path / "c")), 4, "passdown prepare")


def test_scope_outside_the_tree(tiny):
    one_line_error(passdown("report", "--tree", str(tiny), "--cache", str(tiny / ".c"), "--scope", "/etc"), 3, "outside")


def test_scope_that_does_not_exist(tiny):
    one_line_error(passdown("report", "--tree", str(tiny), "--cache", str(tiny / ".c"), "--scope", "fs/nope.c"), 3,
                   "does not exist")


def test_unwritable_cache(tiny):
    blocker = tiny / "file"
    blocker.write_text("")
    one_line_error(passdown("report", "--tree", str(tiny), "--cache", str(blocker / "sub")), 6, "--cache")


def test_bad_field_is_a_usage_error(tiny):
    res = passdown("report", "--tree", str(tiny), "--field", "mapping")
    assert res.returncode == 2 and "STRUCT.MEMBER" in res.stderr


def test_unknown_graph_node(tiny):
    one_line_error(passdown("graph", "--tree", str(tiny), "--cache", str(tiny / ".c"), "nosuch"), 3, "nosuch")


def test_clean_tree_reports_nothing_and_exits_0(tiny):
    res = passdown("report", "--tree", str(tiny), "--cache", str(tiny / ".c"), "--format", "json", "-q")
    assert res.returncode == 0, res.stderr
    assert '"uses": []' in res.stdout
