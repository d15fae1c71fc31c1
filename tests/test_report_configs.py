"""Coverage across configs: several configs' reports merged into one (passdown/merge.py).

The corpus has a second configuration, corpus/kern/build-alt/compile_commands.json
(written by the corpus Makefile): CONFIG_FS_DAX on, CONFIG_NFS_FS and
CONFIG_MIGRATION off.  So, against the default one (the corpus' own
compile_commands.json): the DAX branch of ext2_check_page_cache() is analysed
under build-alt only, its #else branch under default only, fs/nfs/ and
mm/migrate.c under default only, and the CONFIG_DEBUG_VM block of mm/migrate.c
(off in both) under none.

Golden files: corpus/kern/expected/report/configs.{json,md}; regenerate with

    PASSDOWN_REGEN_GOLDEN=1 scripts/dev.sh pytest -q tests/test_report_configs.py
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, run_passdown
from passdown import cli, kbuild, merge, report
from passdown.workspace import Workspace

GOLDEN = ROOT / "corpus" / "kern" / "expected" / "report"
REGEN = os.environ.get("PASSDOWN_REGEN_GOLDEN") == "1"
ALT = "build-alt"
LABELS = ("default", ALT)


def _run(corpus: Path, cache: Path, sides) -> report.Report:
    workspaces = report.open_configs(corpus, sides, cache, scope=["."])
    return report.run_configs(workspaces, ["."], jobs=2)


@pytest.fixture(scope="module")
def singles(corpus, tmp_path_factory) -> dict[str, report.Report]:
    """Each config's own report, as `passdown report --build B` makes it."""
    cache = tmp_path_factory.mktemp("single")
    return {"default": _run(corpus, cache / "d", [("build", str(corpus))]),
            ALT: _run(corpus, cache / "a", [("build", str(corpus / ALT))])}


@pytest.fixture(scope="module")
def merged(corpus, tmp_path_factory) -> report.Report:
    return _run(corpus, tmp_path_factory.mktemp("merged"), [("build", str(corpus)), ("build", str(corpus / ALT))])


def source_line(corpus: Path, path: str, *needles: str) -> int:
    """The line of *path* holding every needle (found in the source, not written down here)."""
    lines = (corpus / path).read_text().splitlines()
    found = [i + 1 for i, text in enumerate(lines) if all(n in text for n in needles)]
    assert len(found) == 1, (path, needles, found)
    return found[0]


def at(rep: report.Report, path: str, line: int) -> list[report.Use]:
    return [u for u in rep.uses if u.file == path and u.line == line]


def analysed(rep: report.Report) -> set[tuple]:
    return {(u.file, u.line, u.column, u.access) for u in rep.uses if u.access is not None}


# -- concrete uses ----------------------------------------------------------------------


def test_labels_and_caches(corpus, tmp_path):
    ws = report.open_configs(corpus, [("build", str(corpus)), ("build", str(corpus / ALT))], tmp_path)
    assert [label for label, _ in ws] == list(LABELS)
    assert ws[0][1].build is None  # the tree's own compile commands
    assert ws[0][1].cache_dir == tmp_path  # the first config shares a one-config run's cache
    assert ws[1][1].cache_dir == tmp_path / "configs" / ALT


def test_use_analysed_under_both(merged, corpus):
    line = source_line(corpus, "fs/ext2/inode.c", "page_sb(page)->s_flags")
    (u,) = at(merged, "fs/ext2/inode.c", line)
    assert (u.status, u.function, u.macro) == ("analysed", "ext2_writepage", "page_sb")
    assert u.configs == LABELS and u.skipped_in == ()


def test_dax_branch_only_under_alt(merged, singles, corpus):
    line = source_line(corpus, "fs/ext2/inode.c", "page->mapping->host->i_flags & S_DAX")
    (u,) = at(merged, "fs/ext2/inode.c", line)
    assert (u.status, u.function, u.access) == ("analysed", "ext2_check_page_cache", "read")
    assert u.configs == (ALT,) and u.skipped_in == ("default",)
    # the default config lists it from its skipped ranges; build-alt compiles it
    (d,) = at(singles["default"], "fs/ext2/inode.c", line)
    assert (d.status, d.reason) == ("not-analysed", report.IFDEF_OUT)


def test_else_branch_only_under_default(merged, singles, corpus):
    line = source_line(corpus, "fs/ext2/inode.c", "if (page->mapping)")
    (u,) = at(merged, "fs/ext2/inode.c", line)
    assert (u.status, u.function, u.kind) == ("analysed", "ext2_check_page_cache", "compare")
    assert u.configs == ("default",) and u.skipped_in == (ALT,)
    (a,) = at(singles[ALT], "fs/ext2/inode.c", line)
    assert (a.status, a.reason) == ("not-analysed", report.IFDEF_OUT)


def test_file_one_config_does_not_compile(merged, corpus):
    line = source_line(corpus, "mm/migrate.c", "newpage->mapping = page->mapping;")
    uses = at(merged, "mm/migrate.c", line)
    assert sorted(u.access for u in uses) == ["read", "write"]
    assert all(u.configs == ("default",) and u.skipped_in == (ALT,) for u in uses)
    nfs = [u for u in merged.uses if u.file.startswith("fs/nfs/")]
    assert nfs and all(u.configs == ("default",) for u in nfs)


def test_use_under_no_config_is_listed_from_the_skipped_ranges(merged, singles, corpus):
    line = source_line(corpus, "mm/migrate.c", "page->mapping != mapping || !page->mapping")
    uses = at(merged, "mm/migrate.c", line)
    assert len(uses) == 2  # both member names on the line, from the text of the skipped range
    for u in uses:
        assert (u.status, u.access, u.configs, u.skipped_in) == ("not-analysed", None, (), LABELS)
        assert u.reason == "in code the preprocessor skips under default; not compiled under build-alt"
        assert u.reason_kind == "not analysed under the config"
    # exactly what the default config's skipped ranges gave
    want = {(u.file, u.line, u.column) for u in singles["default"].uses if u.reason == report.IFDEF_OUT
            and u.file == "mm/migrate.c"}
    assert {(u.file, u.line, u.column) for u in uses} == want
    assert [u for u in merged.uses if not u.configs] == uses


def test_every_config_sees_in_the_merge_what_it_saw_alone(merged, singles):
    for label, rep in singles.items():
        mine = {(u.file, u.line, u.column, u.access) for u in merged.uses if label in u.configs}
        assert mine == analysed(rep)
    assert analysed(merged) == analysed(singles["default"]) | analysed(singles[ALT])


def test_text_matches_another_config_compiled_are_dropped(merged, singles):
    """build-alt does not compile fs/nfs/, so it lists every `->mapping` there by text,
    folio->mapping included; default compiled those lines and found no page.mapping."""
    alt_text = [u for u in singles[ALT].uses if u.reason == report.NOT_COMPILED]
    places = {(u.file, u.line, u.column) for u in merged.uses}
    default_listed = {(u.file, u.line, u.column) for u in singles["default"].uses}  # analysed or not
    dropped = [u for u in alt_text if (u.file, u.line, u.column) not in default_listed]
    texts = {u.text for u in dropped}
    assert ".mapping = page_folio(page)->mapping," in texts  # a struct folio's member
    assert "mapping_set_error(page->mapping, error);" in texts  # a struct nfs_page's
    assert not any((u.file, u.line, u.column) in places for u in dropped)
    assert any(c.startswith(f"{len(dropped)} textual match(es) in code one config skips") for c in merged.caveats)


def test_summary_and_caveats_name_the_configs(merged, singles):
    s = merged.summary()
    for label, rep in singles.items():
        n = sum(u.access is not None for u in rep.uses)
        assert s["by_config"][label]["analysed"] == n
        assert f"{label} (config " in merged.caveats[0] and f"{n} use(s) analysed" in merged.caveats[0]
    assert s["by_config"]["every config"]["analysed"] == len(analysed(singles["default"]) & analysed(singles[ALT]))
    assert s["by_config"]["no config"]["listed"] == 2
    assert s["by_config"][ALT]["only_here"] == 1


# -- formats ---------------------------------------------------------------------------


def _normalised(rep: report.Report) -> report.Report:
    rep = dataclasses.replace(rep, tus={"total": 0, "parsed": 0, "cached": 0, "failed": rep.tus["failed"]},
                              configs=[dict(c, tus={}) for c in rep.configs])
    return rep


@pytest.mark.parametrize("name, render", [("configs.json", report.to_json), ("configs.md", report.to_markdown)])
def test_golden(merged, name, render):
    text = render(_normalised(merged))
    path = GOLDEN / name
    if REGEN:
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed: PASSDOWN_REGEN_GOLDEN=1 to regenerate, then review"


def test_json_has_configs_on_every_use(merged):
    data = json.loads(report.to_json(merged))
    assert [c["label"] for c in data["configs"]] == list(LABELS)
    assert all(isinstance(u["configs"], list) and "skipped_in" in u for u in data["uses"])
    back = report.from_json(report.to_json(merged))
    assert [u.configs for u in back.uses] == [u.configs for u in merged.uses]


def test_other_formats_show_the_configs(merged, corpus):
    line = source_line(corpus, "fs/ext2/inode.c", "page->mapping->host->i_flags & S_DAX")
    cocci = report.to_cocci(merged)
    assert any(ln.startswith(f"fs/ext2/inode.c:{line}:") and ln.endswith("[analysed under build-alt only]")
               for ln in cocci.splitlines())
    table = report.to_table(merged)
    heads = [ln for ln in table.splitlines() if ln.startswith(" file:line") or ln.startswith("file:line")]
    assert heads and all(h.rstrip().endswith("configs") for h in heads)
    assert f"fs/ext2/inode.c:{line} " in table and "By config: default " in table
    sarif = json.loads(report.to_sarif(merged))
    run = sarif["runs"][0]
    assert [c["label"] for c in run["properties"]["configs"]] == list(LABELS)
    res = next(r for r in run["results"] if r["locations"][0]["physicalLocation"]["region"]["startLine"] == line
               and r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "fs/ext2/inode.c")
    assert res["properties"]["configs"] == [ALT] and res["properties"]["skippedIn"] == ["default"]
    assert "analysed under build-alt only" in res["message"]["text"]
    html = report.to_html(merged, graphviz=False)
    assert '<th data-key="configs">configs</th>' in html and "Configs merged: default (host" in html


def test_one_config_is_unchanged(singles, corpus, tmp_path):
    rep = singles["default"]
    assert merge.merge([("default", rep)]) is rep
    assert not rep.merged
    data = json.loads(report.to_json(rep))
    assert "configs" not in data and all("configs" not in u for u in data["uses"])
    md = report.to_markdown(rep)
    assert "## By config" not in md and "| configs |" not in md and "Config: as given" in md
    table = report.to_table(rep)
    assert "By config" not in table and not any(ln.rstrip().endswith("configs") for ln in table.splitlines())
    assert "analysed under" not in report.to_cocci(rep)


# -- the second config itself ----------------------------------------------------------


def test_shipped_alt_compile_commands_are_up_to_date(corpus, corpus_copy):
    (corpus_copy / ALT / "compile_commands.json").unlink()
    subprocess.run(["make", "-s", "-C", str(corpus_copy), f"{ALT}/compile_commands.json"], check=True)
    assert json.loads((corpus_copy / ALT / "compile_commands.json").read_text()) == \
        json.loads((corpus / ALT / "compile_commands.json").read_text())


def test_alt_config_compiles(corpus_copy):
    """build-alt is a real configuration: gcc -Werror compiles every one of its objects."""
    subprocess.run(["make", "-s", "-C", str(corpus_copy), "alt"], check=True, capture_output=True)
    ws = Workspace.open(corpus_copy, corpus_copy / ALT)
    assert all((corpus_copy / "build" / "alt" / os.path.relpath(c.file, corpus_copy)).with_suffix(".o").is_file()
               for c in ws.commands())


# -- labels, config specs, prepare on demand --------------------------------------------------


def test_config_label():
    assert merge.config_label({"config": "allmodconfig", "arch": "x86_64"}, Path("/b")) == "x86_64 allmodconfig"
    assert merge.config_label({"config": "/home/me/my.config", "arch": "arm64"}, None) == "arm64 my.config"
    assert merge.config_label({}, Path("/x/build-alt"), Path("/t")) == "build-alt"
    assert merge.config_label({}, None, Path("/t")) == "default"
    assert merge.unique_labels(["a", "b", "a"]) == ["a", "b", "a #2"]
    assert merge.slug("x86_64 my.config #2") == "x86_64-my.config-2"


def test_config_spec_and_build_dir(tmp_path):
    assert kbuild.parse_config_spec("arm64:defconfig") == ("arm64", "defconfig")
    assert kbuild.parse_config_spec("allmodconfig") == ("x86_64", "allmodconfig")
    assert kbuild.config_build_dir(tmp_path, "arm64", "defconfig") == tmp_path / "build-arm64-defconfig"
    cfg = tmp_path / "my.config"
    cfg.write_text("CONFIG_MMU=y\n")
    d = kbuild.config_build_dir(tmp_path, "x86_64", str(cfg))
    assert d.parent == tmp_path and d.name.startswith("build-x86_64-my.config-")
    # what `passdown prepare` (no --build) already prepared is used
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / kbuild.META_NAME).write_text(json.dumps({"config": "defconfig", "arch": "x86_64"}))
    assert kbuild.config_build_dir(tmp_path, "x86_64", "defconfig") == tmp_path / "build"


def test_cross_compile_for_another_arch():
    have = {"aarch64-linux-gnu-gcc"}
    which = lambda exe: f"/usr/bin/{exe}" if exe in have else None  # noqa: E731
    assert kbuild.cross_compile("x86_64", machine="x86_64", which=which, environ={}) is None
    assert kbuild.cross_compile("arm64", machine="x86_64", which=which, environ={}) == "aarch64-linux-gnu-"
    assert kbuild.cross_compile("arm64", machine="aarch64", which=which, environ={}) is None
    assert kbuild.cross_compile("riscv", machine="x86_64", which=which, environ={"CROSS_COMPILE": "rv-"}) == "rv-"
    with pytest.raises(kbuild.ToolError, match="apt-get install gcc-riscv64-linux-gnu"):
        kbuild.cross_compile("riscv", machine="x86_64", which=which, environ={})


def test_dirs_for_scope(corpus):
    assert kbuild.dirs_for_scope(corpus, None) == ["fs", "mm"]
    assert kbuild.dirs_for_scope(corpus, ["fs/ext2/inode.c", "mm", "include/linux"]) == ["fs/ext2", "mm"]
    assert kbuild.dirs_for_scope(corpus, ["."]) == ["fs", "mm"]


def test_ensure_prepared_runs_prepare_only_when_needed(tmp_path, monkeypatch):
    tree, build = tmp_path / "linux", tmp_path / "b"
    tree.mkdir()
    build.mkdir()
    calls = []
    monkeypatch.setattr(kbuild, "prepare", lambda *a, **kw: calls.append(kw) or "prepared")
    (build / kbuild.COMPDB_NAME).write_text("[]")
    (build / kbuild.META_NAME).write_text(json.dumps({"config": "defconfig", "arch": "x86_64", "tree": str(tree),
                                                      "dirs": ["fs", "mm"]}))
    assert kbuild.ensure_prepared(tree, build, config="defconfig", arch="x86_64", dirs=["fs/ext2", "mm"]) is None
    assert calls == []
    for config, arch, dirs in (("allmodconfig", "x86_64", ["fs"]), ("defconfig", "arm64", ["fs"]),
                               ("defconfig", "x86_64", ["block"])):
        assert kbuild.ensure_prepared(tree, build, config=config, arch=arch, dirs=dirs) == "prepared"
    assert [(c["config"], c["arch"], c["dirs"]) for c in calls] == [
        ("allmodconfig", "x86_64", ["fs"]), ("defconfig", "arm64", ["fs"]), ("defconfig", "x86_64", ["block"])]


# -- the command line ----------------------------------------------------------------------

CLI_READY = "--config" in cli.parser()._subparsers._group_actions[0].choices["report"].format_help()
needs_cli = pytest.mark.skipif(not CLI_READY, reason="report --build/--config several times: apply .multi-config-cli.diff")


@needs_cli
def test_cli_two_builds(corpus, tmp_path, singles):
    res = run_passdown("report", "--tree", str(corpus), "--scope", ".", "--build", str(corpus), "--build",
                       str(corpus / ALT), "--cache", str(tmp_path), "--format", "json")
    data = json.loads(res.stdout)
    want = json.loads((GOLDEN / "configs.json").read_text())
    for d in (data, want):
        d["summary"].pop("tus")
        for c in d["configs"]:
            c.pop("tus")
    assert data == want
    for label, rep in singles.items():
        assert f"{label}: {len(analysed(rep))} uses analysed" in res.stderr


@needs_cli
def test_cli_one_build_is_the_one_config_report(corpus, tmp_path):
    one = run_passdown("report", "--tree", str(corpus), "--scope", ".", "--build", str(corpus / ALT), "--cache",
                       str(tmp_path / "a"), "--format", "markdown", "-q").stdout
    assert "| configs |" not in one and "Config: as given by compile_commands.json" in one


@needs_cli
def test_cli_refuses_a_plan_or_a_diff_over_several_configs(corpus, tmp_path):
    for extra in (["--after-plan"], ["--diff", "HEAD~1..HEAD"]):
        res = run_passdown("report", "--tree", str(corpus), "--build", str(corpus), "--build", str(corpus / ALT),
                           "--cache", str(tmp_path), *extra, check=False)
        assert res.returncode == 2 and "one config" in res.stderr
