"""The bundled corpus: the report and the call graph match the expected data exactly."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import run_passdown
from passdown import facts as F
from passdown import graph, index
from passdown.workspace import Workspace

KEYS = ("file", "line", "column", "function", "access", "compare", "macro", "status")


def as_rows(uses):
    return sorted(tuple(u[k] for k in KEYS) for u in uses)


@pytest.fixture(scope="module")
def whole_report(corpus, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    res = run_passdown("report", "--tree", str(corpus), "--cache", str(cache), "--scope", ".", "--format", "json", "-q")
    return json.loads(res.stdout)


def test_report_matches_expected_uses_exactly(whole_report, expected_uses):
    assert as_rows(whole_report["uses"]) == as_rows(expected_uses)


def test_report_json_shape(whole_report):
    assert set(whole_report) >= {"tree", "config", "field", "uses", "summary", "caveats"}
    assert whole_report["field"] == "struct page.mapping"
    assert whole_report["caveats"] and "config" in whole_report["caveats"][0]


def test_decoys_never_match(whole_report):
    texts = [u["text"] for u in whole_report["uses"] if u["status"] == "analysed"]
    assert texts and not any("folio->mapping" in t for t in texts)
    # the "page" that is not a struct page, and the other structs with a mapping member
    funcs = {u["function"] for u in whole_report["uses"]}
    assert not funcs & {"folio_mapping", "folio_test_anon", "swap_slot_busy", "nfs_read_completion"}


def test_ifdef_off_uses_are_listed_as_not_analysed(whole_report):
    off = [u for u in whole_report["uses"] if u["status"] == "not-analysed"]
    assert off and all(u["reason"] == "in code the preprocessor skips under this config" for u in off)
    assert any(c.startswith(f"{len(off)} textual use(s) in code the preprocessor skips") for c in whole_report["caveats"])


def test_default_scope_is_fs_and_mm(corpus, expected_uses, tmp_path):
    res = run_passdown("report", "--tree", str(corpus), "--cache", str(tmp_path), "--format", "json", "-q")
    want = [u for u in expected_uses if u["file"].startswith(("fs/", "mm/"))]
    assert as_rows(json.loads(res.stdout)["uses"]) == as_rows(want)


def test_scope_to_one_file(corpus, expected_uses, tmp_path):
    res = run_passdown("report", "--tree", str(corpus), "--cache", str(tmp_path), "--scope", "mm/truncate.c",
                       "--format", "json", "-q")
    want = [u for u in expected_uses if u["file"] == "mm/truncate.c"]
    assert want and as_rows(json.loads(res.stdout)["uses"]) == as_rows(want)


@pytest.mark.parametrize("fmt, marker", [("table", "Caveats:"), ("markdown", "## Caveats"), ("cocci", "# caveat:")])
def test_every_format_renders_uses_and_caveats(corpus, tmp_path, fmt, marker, expected_uses):
    res = run_passdown("report", "--tree", str(corpus), "--cache", str(tmp_path), "--scope", ".", "--format", fmt, "-q")
    assert marker in res.stdout
    first = expected_uses[0]
    assert f"{first['file']}:{first['line']}" in res.stdout


def test_cocci_lines_use_coccicheck_columns(corpus, tmp_path, expected_uses):
    res = run_passdown("report", "--tree", str(corpus), "--cache", str(tmp_path), "--scope", ".", "--format", "cocci", "-q")
    lines = [l for l in res.stdout.splitlines() if not l.startswith("#")]
    assert len(lines) == len(expected_uses)
    u = next(u for u in expected_uses if u["macro"] is None and u["status"] == "analysed")
    assert f"{u['file']}:{u['line']}:{u['column'] - 1}-{u['column'] - 1 + len('mapping')}: " in res.stdout


@pytest.fixture(scope="module")
def corpus_graph(corpus, tmp_path_factory):
    ws = Workspace.open(corpus, None, tmp_path_factory.mktemp("gcache"))
    idx = index.run(ws.tree, ws.commands(), (F.FieldSpec("page", "mapping"),), ws.open_cache(), jobs=2)
    return graph.build(idx)


def test_graph_has_every_expected_edge(corpus_graph, expected_graph):
    edges = graph.named_edges(corpus_graph)
    missing = [e for e in expected_graph["must_have"] if (e["from"], e["to"], e["kind"]) not in edges]
    assert missing == []


def test_graph_has_none_of_the_name_based_mistakes(corpus_graph, expected_graph):
    edges = graph.named_edges(corpus_graph)
    wrong = [e for e in expected_graph["must_not_have"] if (e["from"], e["to"], e["kind"]) in edges]
    assert wrong == []


def test_graph_cli_callers_of_an_ops_member(corpus, tmp_path):
    res = run_passdown("graph", "address_space_operations.writepage", "--tree", str(corpus), "--cache", str(tmp_path),
                       "--callees", "--depth", "1", "-q", "--scope", ".")
    lines = res.stdout.splitlines()
    assert lines[0] == "address_space_operations.writepage"
    assert "    -> ext2_writepage  [via-member]" in lines
    dot = run_passdown("graph", "callback:writepage_t", "--tree", str(corpus), "--cache", str(tmp_path),
                       "--callers", "--format", "dot", "-q", "--scope", ".").stdout
    assert dot.startswith("digraph") and '"callback:writepage_t"' in dot


def test_corpus_builds_with_werror(corpus_copy):
    res = subprocess.run(["make", "-s", "-C", str(corpus_copy)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    run = subprocess.run([str(corpus_copy / "build" / "kern")], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_shipped_compile_commands_are_up_to_date(corpus, corpus_copy):
    (corpus_copy / "compile_commands.json").unlink()
    subprocess.run(["make", "-s", "-C", str(corpus_copy), "compile_commands.json"], check=True)
    assert json.loads((corpus_copy / "compile_commands.json").read_text()) == \
        json.loads((corpus / "compile_commands.json").read_text())
