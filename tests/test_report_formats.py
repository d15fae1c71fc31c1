"""The remaining-users report on the corpus: classification, ownership, chains,
every format against its golden file, SARIF structure, and the html in a real
headless Chromium.

Golden files live in corpus/kern/expected/report/.  After an intended change,
regenerate them with

    PASSDOWN_REGEN_GOLDEN=1 scripts/dev.sh pytest -q tests/test_report_formats.py

and review the diff (git diff corpus/kern/expected/report) before committing.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT
from passdown import classify as C
from passdown import index, report, rules
from passdown import plan as plan_mod
from passdown.maintainers import Maintainers
from passdown.workspace import Workspace

GOLDEN = ROOT / "corpus" / "kern" / "expected" / "report"
REGEN = os.environ.get("PASSDOWN_REGEN_GOLDEN") == "1"
ARTIFACTS = ROOT / "test-artifacts"  # gitignored


def _build(corpus: Path, cache: Path, planned: bool) -> report.Report:
    ws = Workspace.open(corpus, None, cache)
    rule, _ = rules.load(None)
    idx = index.run(ws.tree, ws.commands(), (rule.spec,), ws.open_cache(), jobs=2)
    scope = ws.scope(["."])
    plan = plan_mod.make_plan(idx, rule, scope, ws.config()) if planned else None
    rep = report.build(ws, idx, scope, rule.spec, {c.file for c in ws.commands()}, plan)
    # Cold or warm cache, a TU more or less in the corpus harness: only the TU counts
    # differ; the golden files must not (they are about the uses).
    rep.tus = {"total": 0, "parsed": 0, "cached": 0, "failed": rep.tus["failed"]}
    return rep


@pytest.fixture(scope="module")
def planned(corpus, tmp_path_factory) -> report.Report:
    return _build(corpus, tmp_path_factory.mktemp("rcache"), planned=True)


@pytest.fixture(scope="module")
def plain(corpus, tmp_path_factory) -> report.Report:
    return _build(corpus, tmp_path_factory.mktemp("rcache"), planned=False)


def use(rep: report.Report, function: str, **kw) -> report.Use:
    found = [u for u in rep.uses if u.function == function and all(getattr(u, k) == v for k, v in kw.items())]
    assert found, f"no use in {function} with {kw}"
    return found[0]


# -- classification ---------------------------------------------------------------------


@pytest.mark.parametrize("function, category, evidence", [
    ("end_buffer_async_write", "block-io", "stored in buffer_head.b_end_io"),  # fs/buffer.c, but a completion
    ("mpage_end_io_write", "block-io", "stored in bio.bi_end_io"),
    ("dump_page", "debug", "in mm/debug.c"),
    ("nfs_trace_print", "debug", "function name nfs_trace_print"),  # fs/nfs/write.c, but a trace hook
    ("page_anon_vma", "core-mm", "in mm/rmap.c"),
    ("migrate_page_move_mapping", "core-mm", "in mm/migrate.c"),
    ("PageAnon", "core-mm", "function name PageAnon"),  # include/linux/mm.h
    ("page_is_file_backed", "core-mm", "directory of mm/util.c only"),
    ("ext2_writepage", "file", "in fs/ext2/inode.c"),
    ("find_lock_page", "file", "in mm/filemap.c"),
    ("loop_drop_page", "file", "has local mapping (struct address_space *)"),  # drivers/block, file-backed
])
def test_glisse_category_from_place_and_callees(planned, function, category, evidence):
    u = use(planned, function)
    assert (u.category, u.category_why) == (category, evidence)


def test_category_rules_without_a_corpus_case():
    ctx = C.FunctionContext("fault_in_pages", "mm/memory.c", frozenset({"get_user_pages_fast"}), (), (), ())
    assert C.category("mm/memory.c", ctx) == ("gup", "calls get_user_pages_fast()")
    assert C.category("mm/gup.c", None) == ("gup", "in mm/gup.c")
    show = C.FunctionContext("meminfo_proc_show", "fs/proc/meminfo.c", frozenset({"seq_printf"}), (), (), ())
    assert C.category("fs/proc/meminfo.c", show)[0] == "debug"
    walk = C.FunctionContext("page_idle_clear", "mm/page_ext.c", frozenset({"rmap_walk"}), (), (), ())
    assert C.category("mm/page_ext.c", walk) == ("core-mm", "calls rmap_walk()")
    assert C.category("block/blk-core.c", None) == ("block-io", "directory of block/blk-core.c only")
    assert C.category("drivers/gpu/drm/x.c", None) == ("other", "no rule matched")
    # Linux 6.1 cases the first version left as "other"
    flags = C.FunctionContext("PageMappingFlags", "include/linux/page-flags.h", frozenset(), (), (), ())
    assert C.category("include/linux/page-flags.h", flags) == ("core-mm", "directory of include/linux/page-flags.h only")
    ops = C.FunctionContext("page_movable_ops", "include/linux/migrate.h", frozenset(), (), (), ())
    assert C.category("include/linux/migrate.h", ops) == ("core-mm", "function name page_movable_ops")
    assert C.category("include/linux/fscrypt.h", None) == ("file", "in include/linux/fscrypt.h")
    # VM_BUG_ON_PAGE() expands to dump_page(): calling it does not make a function a debug one
    vm = C.FunctionContext("filemap_fault", "mm/filemap.c", frozenset({"dump_page"}), (), (), ())
    assert C.category("mm/filemap.c", vm)[0] == "file"


def test_folio_in_reach_points_at_a_folio_conversion(planned, plain):
    u = use(planned, "nfs_readpage")
    assert u.folio == ("page_folio() at line 45",)
    assert "folio conversion" in u.hint
    assert use(plain, "nfs_readpage").hint.startswith("folio conversion")
    assert not use(planned, "ext2_writepage").folio
    assert planned.summary()["folio_in_reach"] == sum(bool(u.folio) for u in planned.uses) > 0


@pytest.mark.parametrize("function, line, kind", [
    ("dump_page", 15, "root outside the indexed tree"),
    ("nfs_trace_print", 14, "address escapes"),
    ("add_to_page_cache", 41, "write"),
    ("page_mapping_slot", 53, "address-of"),
    ("page_mapping", 41, "accessor"),
    ("ext2_writepage", 38, "converted"),
])
def test_reason_kind_of_each_use(planned, function, line, kind):
    assert use(planned, function, line=line).reason_kind == kind


def test_ifdef_out_uses_are_not_analysed_under_the_config(planned, plain):
    off = [u for u in planned.uses if u.file == "mm/migrate.c" and u.line == 8]
    assert off and all(u.reason_kind == "not analysed under the config" and u.status == "remaining" for u in off)
    # the plan's reason is the richer one: which definition needs the parameter
    assert "CONFIG_DEBUG_VM" in off[0].reason
    assert all(u.reason_kind == "not analysed under the config" for u in plain.uses if u.status == "not-analysed")


def test_reason_kinds_of_the_plans_and_reports_reasons():
    assert C.reason_kind("remaining", "call in macro: fs/x.c:3 calls it inside macro M") == "call in macro"
    assert C.reason_kind("remaining", "macro-generated: f is defined by macro SYSCALL_DEFINE3") == "macro-generated"
    assert C.reason_kind("remaining", "no source") == "no source"
    assert C.reason_kind("not-analysed", report.PARSE_FAILED) == "parse failure"
    assert C.reason_kind("not-analysed", report.NOT_COMPILED) == "not compiled under the config"
    assert C.reason_kind("not-analysed", report.NOT_INCLUDED) == "header not included"
    assert C.reason_kind("analysed", None) == ""


def test_access_kind_compare_wins_over_read(planned):
    assert use(planned, "loop_drop_page").kind == "compare"
    assert use(planned, "add_to_page_cache").kind == "write"
    assert use(planned, "page_mapping_slot").kind == "address"


# -- ownership ----------------------------------------------------------------------------


def test_every_use_has_its_maintainers_entry(planned, corpus):
    m = Maintainers.load(corpus)
    for u in planned.uses:
        sec = m.subsystem(u.file)
        assert u.subsystem == sec.name and u.subsystem_status == sec.status_normalised, u
    assert use(planned, "page_anon_vma").subsystem == "MEMORY MANAGEMENT - RMAP (REVERSE MAPPING)"
    loop = use(planned, "loop_drop_page")  # X: drivers/block/loop* takes it from BLOCK DEVICE DRIVERS
    assert (loop.subsystem, loop.subsystem_status, loop.subsystem_list) == \
        ("LOOPBACK DEVICE", "Odd Fixes", "linux-block@lists.example.org")
    pc = use(planned, "find_lock_page")
    assert pc.subsystem_tree == "git git://git.example.org/pub/scm/linux/kernel/git/max/pagecache.git"


def test_groups_and_totals_add_up(planned):
    s = planned.summary()
    assert sum(g["uses"] for g in s["by_subsystem"].values()) == s["uses"] == len(planned.uses)
    assert sum(sum(g["by_status"].values()) for g in s["by_subsystem"].values()) == s["uses"]
    assert set(s["by_status"]) == {"converted", "remaining"}


def test_without_maintainers_uses_group_by_directory(corpus_copy, tmp_path):
    (corpus_copy / "MAINTAINERS").rename(corpus_copy / "MAINTAINERS.off")
    try:
        rep = _build(corpus_copy, tmp_path, planned=False)
    finally:
        (corpus_copy / "MAINTAINERS.off").rename(corpus_copy / "MAINTAINERS")
    assert rep.maintainers is None and all(u.subsystem == "" for u in rep.uses)
    assert use(rep, "ext2_writepage").group == "fs/ext2"
    assert "no MAINTAINERS file" in report.to_markdown(rep)


# -- chains ---------------------------------------------------------------------------------


def test_own_source_is_a_chain_of_one(planned):
    assert use(planned, "loop_drop_page").chain == (
        ("mapping (local mapping initialised at line 35)", "loop_drop_page@drivers/block/loop.c", "", "mapping", "", True),)


def test_new_parameter_chain_climbs_through_ops_members_to_sources(planned):
    chain = use(planned, "end_buffer_async_write").chain
    edges = {(c, callee, via) for c, callee, via, *_ in chain}
    assert ("submit_bh", "end_buffer_async_write", "buffer_head.b_end_io") in edges
    assert ("block_write_full_page", "submit_bh", "") in edges
    assert ("__writepage@mm/page-writeback.c", "ext2_writepage", "address_space_operations.writepage") in edges
    # every function the climb reaches is fed by someone, and the climb ends at callers with their own source
    callees = {callee for _, callee, *_ in chain}
    assert all(caller in callees for caller, _, _, _, _, end in chain if not end)
    assert any(end for *_, end in chain)
    assert all(u.chain for u in planned.uses if u.status == "converted")
    assert not any(u.chain for u in planned.uses if u.status != "converted")


# -- formats --------------------------------------------------------------------------------

FORMATS = {
    "table": ("report.table.txt", lambda r: report.to_table(r)),
    "json": ("report.json", report.to_json),
    "markdown": ("report.md", report.to_markdown),
    "cocci": ("report.cocci", report.to_cocci),
    "sarif": ("report.sarif", report.to_sarif),
    # Graphviz output varies with its version: the golden file uses the built-in layout.
    "html": ("report.html", lambda r: report.to_html(r, graphviz=False)),
}
PLAIN = {"json": "uses.json", "markdown": "uses.md"}  # the report without --after-plan


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    assert "/work/" not in text and str(ROOT) not in text, "absolute paths leak into the output"
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    assert path.is_file(), f"{path} missing: regenerate with PASSDOWN_REGEN_GOLDEN=1 (see this module's docstring)"
    want = path.read_text()
    if text != want:
        import difflib

        diff = "".join(list(difflib.unified_diff(want.splitlines(True), text.splitlines(True), str(path), "now"))[:80])
        pytest.fail(f"{name} differs from the golden file (PASSDOWN_REGEN_GOLDEN=1 to accept):\n{diff}")


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_format_matches_golden(planned, fmt):
    name, render = FORMATS[fmt]
    check_golden(name, render(planned))


@pytest.mark.parametrize("fmt", sorted(PLAIN))
def test_plain_report_matches_golden(plain, fmt):
    check_golden(PLAIN[fmt], report.RENDERERS[fmt](plain))


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_ends_with_the_caveats(planned, fmt):
    text = FORMATS[fmt][1](planned)
    last = planned.caveats[-1]
    if fmt in ("json", "sarif"):
        assert json.loads(text)["caveats" if fmt == "json" else "runs"]
        assert last in text
    else:
        tail = text[-3000:]
        assert last.split(";")[0][:60] in tail.replace("\n  ", " ").replace("\n", " ")


def test_json_round_trips(planned):
    again = report.from_json(report.to_json(planned))
    assert again.uses == planned.uses


def test_cocci_keeps_coccicheck_columns(planned):
    lines = [l for l in report.to_cocci(planned).splitlines() if not l.startswith("#")]
    assert len(lines) == len(planned.uses)
    u = use(planned, "ext2_writepage")
    assert f"{u.file}:{u.line}:{u.column - 1}-{u.end_column - 1}: " in report.to_cocci(planned)


# -- SARIF 2.1.0 structure (the schema's required properties, checked by hand) -----------------

SARIF_LEVELS = {"none", "note", "warning", "error"}
SARIF_KINDS = {"notApplicable", "pass", "fail", "review", "open", "informational"}


def test_sarif_has_the_schemas_required_properties(planned):
    log = json.loads(report.to_sarif(planned))
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    assert isinstance(log["runs"], list) and len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "passdown"
    rules_ = driver["rules"]
    assert all(isinstance(r["id"], str) and r["id"] for r in rules_)
    assert len({r["id"] for r in rules_}) == len(rules_)
    for inv in run["invocations"]:
        assert inv["executionSuccessful"] is True
        assert all(n["message"]["text"] for n in inv["toolExecutionNotifications"])
    assert [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]] == planned.caveats
    assert run["columnKind"] in ("utf16CodeUnits", "unicodeCodePoints")
    assert len(run["results"]) == len(planned.uses)
    for res, u in zip(run["results"], planned.uses):
        assert res["message"]["text"]
        assert rules_[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in SARIF_LEVELS and res["kind"] in SARIF_KINDS
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == u.file and not loc["artifactLocation"]["uri"].startswith("/")
        region = loc["region"]
        assert region["startLine"] == u.line >= 1 and 1 <= region["startColumn"] < region["endColumn"]
        assert all(isinstance(v, str) for v in res["partialFingerprints"].values())
        assert res["level"] == ("warning" if u.status == "remaining" else "note")


def test_sarif_fingerprints_ignore_line_numbers(planned):
    moved = dataclasses.replace(planned, uses=[dataclasses.replace(u, line=u.line + 5) for u in planned.uses])
    a = [r["partialFingerprints"] for r in json.loads(report.to_sarif(planned))["runs"][0]["results"]]
    b = [r["partialFingerprints"] for r in json.loads(report.to_sarif(moved))["runs"][0]["results"]]
    assert a == b


# -- html ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def html(planned) -> str:
    return report.to_html(planned, graphviz=False)


def test_html_is_self_contained(planned, html):
    assert not re.search(r"<(script|img|link|iframe)[^>]*\b(src|href)=", html)
    assert "@import" not in html and "url(http" not in html
    # the only URLs: the SVG namespace and the trees named in MAINTAINERS (text, not links)
    urls = set(re.findall(r"\b(?:https?|git)://[^\s\"<]+", html))
    trees = {u.subsystem_tree.split()[-1] for u in planned.uses if u.subsystem_tree}
    assert trees and urls == {"http://www.w3.org/2000/svg"} | trees


def test_html_chart_table_snippets_and_chains(planned, html):
    from passdown.htmlreport import chart_rows

    _, rows = chart_rows(planned)
    remaining = [u for u in planned.uses if u.status != "converted"]
    assert html.count('<rect class="bar"') == sum(len(segs) for _, segs in rows)
    assert sum(n for _, segs in rows for _, n in segs) == len(remaining)
    assert html.count('<tr class="use ') == len(planned.uses)
    assert html.count('<details class="source">') == len(planned.uses)
    assert html.count('<details class="chain">') == sum(bool(u.chain) for u in planned.uses)
    u = use(planned, "ext2_writepage")
    assert f'<span class="hit">{u.line:5d}  ' in html
    assert planned.caveats[-1] in html


def test_html_chain_drawn_by_graphviz_when_installed(planned):
    if not shutil.which("dot"):
        pytest.skip("Graphviz 'dot' not installed (Debian: apt-get install graphviz): the built-in layout is used")
    text = report.to_html(planned, graphviz=True)
    assert text.count('<svg class="chain"') >= 1 and "<!--" not in text.split("<svg", 2)[-1][:200]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def _run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
           "--hide-scrollbars", f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


def test_html_renders_in_headless_chromium(planned, html, tmp_path):
    binary = _chromium()
    if binary is None:
        pytest.skip("chromium not installed (Debian: apt-get install chromium); the html is not checked in a browser")
    page = tmp_path / "report.html"
    page.write_text(html)
    # The JS sorts the table on load from the URL fragment; --dump-dom gives the DOM after scripts ran.
    res = _run_chromium(binary, tmp_path / "profile", "--dump-dom", f"{page.as_uri()}#sort=function:desc")
    assert res.returncode == 0, res.stderr[-2000:]
    dom = res.stdout
    assert 'data-sortable="ready"' in dom, "the table script did not run"
    assert 'data-sorted-by="function:desc"' in dom
    assert 'aria-sort="descending"' in dom
    body = dom[dom.index('<table id="uses"'):]
    body = body[:body.index("</table>")]
    order = re.findall(r'<tr class="use [^"]*" data-index="\d+" id="use-\d+">\s*<td class="num">\d+</td>\s*'
                       r'<td data-sort="[^"]*"><code>[^<]*</code></td>\s*<td>([^<]*)</td>', body)
    assert len(order) == len(planned.uses)
    assert order == sorted(order, reverse=True) and order != [u.function or "" for u in planned.uses]
    from passdown.htmlreport import chart_rows

    _, rows = chart_rows(planned)
    assert dom.count('class="bar"') == sum(len(segs) for _, segs in rows) > 0
    assert dom.count('class="chain"') >= 1

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report-corpus.png"
    shot.unlink(missing_ok=True)
    res = _run_chromium(binary, tmp_path / "profile", "--window-size=1400,1800", f"--screenshot={shot}", page.as_uri())
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    print(f"\nscreenshot of the corpus html report: {shot}")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1400, 1800) and len(data) > 20_000
