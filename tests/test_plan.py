"""plan: the corpus plan matches the reviewed expected plan; invariants and negative cases."""

from __future__ import annotations

import json

import pytest

from conftest import CORPUS, run_passdown
from passdown import index, rules
from passdown import plan as plan_mod
from passdown.workspace import Workspace

EXPECTED = CORPUS / "expected" / "plan.json"


@pytest.fixture(scope="module")
def corpus_plan(tmp_path_factory):
    rule, _ = rules.load()
    ws = Workspace.open(CORPUS, None, tmp_path_factory.mktemp("pcache"))
    idx = index.run(ws.tree, ws.commands(), (rule.spec,), ws.open_cache(), jobs=2)
    return idx, plan_mod.make_plan(idx, rule, ws.scope(["."]), ws.config()), rule, ws


@pytest.fixture(scope="module")
def plan_json(corpus_plan):
    return json.loads(plan_mod.to_json(corpus_plan[1]))


def normalise(data: dict) -> dict:
    data = {k: v for k, v in data.items() if k not in ("config", "summary", "caveats")}
    data["functions"] = [{k: v for k, v in f.items() if k != "usr"} for f in data["functions"]]
    return data


@pytest.mark.parametrize("key", ["functions", "members", "callback_types", "call_sites", "local_copies",
                                 "conversions", "unresolved", "remaining"])
def test_plan_matches_the_reviewed_expected_plan(plan_json, key):
    expected = json.loads(EXPECTED.read_text())
    assert normalise(plan_json)[key] == expected[key]


def test_no_planned_function_already_takes_a_mapping(corpus_plan):
    idx, plan, rule, _ = corpus_plan
    params = {fn.usr: fn.params for _, fn in idx.functions() if fn.is_definition}
    for f in plan.functions:
        assert not any(p.canonical == rule.parameter.type for p in params[f.usr]), f.name


def test_every_call_site_has_an_argument_and_a_provenance(corpus_plan):
    plan = corpus_plan[1]
    assert plan.call_sites
    for s in plan.call_sites:
        assert s.argument and s.provenance and s.confidence in ("exact", "derived", "review"), s


def test_planning_is_pure(corpus_plan):
    idx, plan, rule, ws = corpus_plan
    again = plan_mod.make_plan(idx, rule, ws.scope(["."]), ws.config())
    assert plan_mod.to_json(again) == plan_mod.to_json(plan)


def planned(plan_json) -> set[str]:
    return {f["name"] for f in plan_json["functions"]}


def test_function_with_a_mapping_parameter_is_unchanged(plan_json):
    assert not planned(plan_json) & {"page_truncated@include/linux/pagemap.h", "write_cache_pages", "do_launder_page@mm/truncate.c",
                                     "invalidate_complete_page@mm/truncate.c"}


def test_only_the_same_named_static_that_needs_it_changes(plan_json):
    names = planned(plan_json)
    assert "write_one_page@fs/ext2/dir.c" in names
    assert "write_one_page@fs/nfs/write.c" not in names


def test_a_local_assigned_after_the_use_is_not_the_source(plan_json):
    conv = [c for c in plan_json["conversions"] if c["function"] == "ext2_commit_chunk@fs/ext2/dir.c"]
    assert conv and all(c["expr"] != "mapping" for c in conv)


def test_name_clash_uses_the_fallback_name(plan_json):
    fallback = {f["name"]: f["param_name"] for f in plan_json["functions"]}
    clashing = [n for n in ("try_to_free_buffers", "write_one_page@fs/ext2/dir.c") if n in fallback]
    assert clashing and all(fallback[n] == "ctx_mapping" for n in clashing)


def test_null_passed_file_parameter_is_not_a_source(plan_json):
    # filemap_reread_page calls ->readpage(NULL, page): nfs_readpage's file is not trusted
    conv = [c for c in plan_json["conversions"] if c["function"] == "nfs_readpage"]
    assert conv and all("file" not in c["expr"] for c in conv)


def test_root_without_source_is_unresolved(plan_json):
    reasons = {u["function"]: u["reason"] for u in plan_json["unresolved"]}
    assert reasons["main"].startswith("no source:")


def test_plan_cli_formats(tmp_path):
    for fmt, marker in (("table", "functions,"), ("json", '"call_sites"'), ("dot", "digraph plan")):
        res = run_passdown("plan", "--tree", str(CORPUS), "--cache", str(tmp_path), "--scope", ".", "--format", fmt, "-q")
        assert marker in res.stdout


def test_report_after_plan_marks_every_analysed_use(tmp_path, plan_json, corpus_plan):
    res = run_passdown("report", "--tree", str(CORPUS), "--cache", str(tmp_path), "--scope", ".", "--after-plan",
                       "--format", "json", "-q")
    uses = json.loads(res.stdout)["uses"]
    assert {u["status"] for u in uses} <= {"converted", "remaining"}
    converted = {(u["file"], u["line"]) for u in uses if u["status"] == "converted"}
    planned_reads = {(c["file"], c["line"]) for c in plan_json["conversions"]}
    assert converted and converted <= planned_reads
    # the other conversions are calls of accessors (page_mapping()), not field accesses
    idx, _, rule, ws = corpus_plan
    accessor_calls = {(ws.rel(ff.path), c.line) for ff in idx.files.values() for c in ff.calls
                      if c.kind == "direct" and c.name in rule.accessors.functions}
    assert planned_reads - converted <= accessor_calls


def test_the_folio_rule_plans_folio_reads(tmp_path):
    """The rules are general: the same planner over struct folio's mapping."""
    plan = json.loads(run_passdown("plan", "--tree", str(CORPUS), "--cache", str(tmp_path), "--scope", ".",
                                   "--rule", "folio-mapping", "--format", "json", "-q").stdout)
    report = json.loads(run_passdown("report", "--tree", str(CORPUS), "--cache", str(tmp_path), "--scope", ".",
                                     "--field", "folio.mapping", "--format", "json", "-q").stdout)
    assert plan["rule"] == "folio-mapping"
    uses = {(u["file"], u["line"]) for u in report["uses"] if u["status"] == "analysed"}
    planned = {(c["file"], c["line"]) for c in plan["conversions"]} | \
        {(r["file"], r["line"]) for r in plan["remaining"]}
    assert uses and uses <= planned
    page_uses = {(u["file"], u["line"]) for u in json.loads(EXPECTED.read_text())["conversions"]}
    assert not {(c["file"], c["line"]) for c in plan["conversions"]} & page_uses
