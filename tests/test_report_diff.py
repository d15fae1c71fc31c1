"""Progress: report --diff REV1..REV2 on a real git repository of the corpus, and
--against two trees.  The change removes one use, adds another and moves two;
the comparison must name exactly those, and never touch the user's checkout."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import CORPUS
from passdown import compare, report
from passdown.errors import InputError

GIT = ["git", "-c", "user.name=Passdown Test", "-c", "user.email=test@example.org", "-c", "init.defaultBranch=main"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} not once in {path}"
    path.write_text(text.replace(old, new))


def change_corpus(tree: Path) -> None:
    """Remove the read in page_anon_vma(), add a function that compares
    page->mapping, and push mm/debug.c's two uses three lines down."""
    edit(tree / "mm" / "rmap.c", "unsigned long anon_mapping = (unsigned long)READ_ONCE(page->mapping);",
         "unsigned long anon_mapping = 0;")
    with open(tree / "mm" / "truncate.c", "a") as fh:
        fh.write("\nint page_still_in_mapping(struct page *page, struct address_space *mapping)\n"
                 "{\n\treturn page->mapping == mapping;\n}\n")
    edit(tree / "mm" / "debug.c", "#include <linux/fs.h>\n", "#include <linux/fs.h>\n\n/*\n * moved\n */\n")


@pytest.fixture()
def repo(tmp_path) -> Path:
    tree = tmp_path / "kern"
    shutil.copytree(CORPUS, tree, ignore=shutil.ignore_patterns("build", "expected"))
    git(tree, "init", "-q")
    git(tree, "add", ".")
    git(tree, "commit", "-q", "-m", "corpus")
    git(tree, "tag", "before")
    change_corpus(tree)
    git(tree, "commit", "-q", "-am", "remove one use, add one, move two")
    return tree


def where(uses) -> list[tuple[str, int, str]]:
    return [(u.file, u.line, u.function) for u in uses]


def check_the_change(c: compare.Comparison) -> None:
    assert where(c.removed) == [("mm/rmap.c", 13, "page_anon_vma")]
    added_line = 1 + (CORPUS / "mm" / "truncate.c").read_text().count("\n") + 3
    assert where(c.added) == [("mm/truncate.c", added_line, "page_still_in_mapping")]
    assert [(a.file, a.line, b.line, b.function) for a, b in c.moved] == [
        ("mm/debug.c", 7, 11, "dump_mapping_word"), ("mm/debug.c", 15, 19, "dump_page")]
    t = c.totals()
    assert t["after"] == t["before"] + t["added"] - t["removed"] == len(c.new.uses)
    assert t["unchanged"] + t["moved"] + t["removed"] == t["before"]
    rows = c.by_group()
    assert rows["MEMORY MANAGEMENT - RMAP (REVERSE MAPPING)"]["removed"] == 1
    assert rows["PAGE CACHE"]["added"] == 1  # mm/truncate.c
    assert rows["MEMORY MANAGEMENT"]["moved"] == 2
    assert sum(r["before"] for r in rows.values()) == t["before"]


def test_diff_names_exactly_the_changed_uses(repo, tmp_path):
    head, status = git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain")
    branches, mtime = git(repo, "branch", "--list"), (repo / "mm" / "rmap.c").stat().st_mtime_ns
    cache = tmp_path / "cache"
    c = compare.diff(repo, *compare.parse_range("before..HEAD"), cache=cache, scope=["."], jobs=2)
    check_the_change(c)
    assert c.old_label == "before" and c.new_label == "HEAD"
    # the user's checkout is untouched, and no worktree is left behind
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "status", "--porcelain") == status
    assert git(repo, "branch", "--list") == branches and (repo / "mm" / "rmap.c").stat().st_mtime_ns == mtime
    assert len(git(repo, "worktree", "list", "--porcelain").split("worktree ")) == 2
    assert not any((cache / "worktrees").glob("*/kern"))
    # the second time, every TU comes from the cache
    again = compare.diff(repo, "before", "HEAD", cache=cache, scope=["."], jobs=2)
    assert again.old.tus["parsed"] == again.new.tus["parsed"] == 0 and again.new.tus["cached"] > 0
    check_the_change(again)


def test_diff_renderings(repo, tmp_path):
    c = compare.diff(repo, "before", "HEAD", cache=tmp_path / "cache", scope=["mm"], jobs=2)
    check_the_change(c)
    md = compare.to_markdown(c)
    assert "## Added" in md and "`mm/truncate.c:" in md and "page_still_in_mapping" in md
    assert "## Removed" in md and "`mm/rmap.c:13`" in md
    assert "## Moved" in md and "| `mm/debug.c:7` | `mm/debug.c:11` | dump_mapping_word |" in md
    assert md.rstrip().split("\n")[-1].startswith("- ")  # ends with the caveats
    table = compare.to_table(c)
    assert "added (1)" in table and "removed (1)" in table and "Caveats:" in table
    import json

    data = json.loads(compare.to_json(c))
    assert data["totals"]["added"] == 1 and data["removed"][0]["function"] == "page_anon_vma"


def test_diff_after_plan_lists_status_changes(repo, tmp_path):
    from passdown import rules

    rule, _ = rules.load(None)
    c = compare.diff(repo, "before", "HEAD", cache=tmp_path / "cache", scope=["."], rule=rule, jobs=2)
    check_the_change(c)
    assert c.new.planned and {u.status for u in c.new.uses} == {"converted", "remaining"}
    # the new comparison reads a mapping parameter it already has: converted from the start
    assert next(u for u in c.added).status == "converted"


def test_against_two_trees(repo, tmp_path):
    old = tmp_path / "old" / "kern"
    shutil.copytree(CORPUS, old, ignore=shutil.ignore_patterns("build", "expected"))
    c = compare.against(old, repo, cache_a=tmp_path / "ca", cache_b=tmp_path / "cb", scope=["."], jobs=2)
    check_the_change(c)
    assert c.old_label != c.new_label


def test_scope_added_in_the_new_revision(repo, tmp_path):
    (repo / "fs" / "newfs").mkdir()
    (repo / "fs" / "newfs" / "a.c").write_text("int f(struct page *page) { return page->mapping != 0; }\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "newfs")
    c = compare.diff(repo, "before", "HEAD", cache=tmp_path / "cache", scope=["fs/newfs"], jobs=1)
    assert c.old.uses == [] and [(u.file, u.status) for u in c.added] == [("fs/newfs/a.c", "not-analysed")]
    assert any("No scope path exists" in x for x in c.caveats)


def test_bad_ranges_and_revisions(repo, tmp_path):
    assert compare.parse_range("v6.1..v6.2") == ("v6.1", "v6.2")
    assert compare.parse_range("HEAD~2..") == ("HEAD~2", "HEAD")
    for bad in ("v6.1", "a...b"):
        with pytest.raises(InputError, match="REV1..REV2"):
            compare.parse_range(bad)
    with pytest.raises(InputError, match="no-such-tag is not a commit"):
        compare.diff(repo, "no-such-tag", "HEAD", cache=tmp_path / "cache", scope=["."])
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(InputError, match="not a git repository|git rev-parse"):
        compare.diff(plain, "HEAD~1", "HEAD", cache=tmp_path / "cache")


def test_matching_rules_on_hand_made_reports():
    def u(line, function="f", base="page", text="x = page->mapping;", access="read"):
        return report.Use("fs/a.c", line, 5, 12, function, access, False, None, "analysed", None, base, text)

    def rep(*uses):
        return report.Report("t", {"config": "c", "arch": "a", "compile_commands": "x"}, "struct page.mapping", ["."],
                             list(uses), {})

    # same line: unchanged even if the text around it changed
    c = compare.compare(rep(u(10)), rep(u(10, text="y = page->mapping;")))
    assert len(c.unchanged) == 1 and not (c.moved or c.added or c.removed)
    # identical text elsewhere: moved, nearest first
    c = compare.compare(rep(u(10), u(20, text="z = page->mapping;")), rep(u(25, text="z = page->mapping;"), u(12)))
    assert [(a.line, b.line) for a, b in c.moved] == [(10, 12), (20, 25)]
    # another function, or another object expression: removed + added, not moved
    c = compare.compare(rep(u(10)), rep(u(10, function="g"), u(30, base="bh->b_page")))
    assert where(c.removed) == [("fs/a.c", 10, "f")] and len(c.added) == 2 and not c.moved


def test_diff_moves_the_build_directorys_compile_commands_into_each_revision(repo, tmp_path):
    """A kernel repository tracks no compile_commands.json: those of --build (absolute
    paths into the checkout) are rewritten into each worktree."""
    import json

    build = tmp_path / "build"
    build.mkdir()
    entries = json.loads((repo / "compile_commands.json").read_text())
    for e in entries:
        e["directory"] = str(repo)
        e["file"] = str(repo / e["file"])
    (build / "compile_commands.json").write_text(json.dumps(entries))
    git(repo, "rm", "-q", "--cached", "compile_commands.json")
    git(repo, "commit", "-q", "-m", "untrack compile_commands.json")
    (repo / "compile_commands.json").unlink()
    git(repo, "tag", "-f", "before-untracked", "HEAD")
    c = compare.diff(repo, "HEAD~1", "HEAD", cache=tmp_path / "cache", build=build, scope=["."], jobs=2)
    assert not c.removed and not c.added and not c.moved  # HEAD~1 tracks its own; HEAD uses --build's
    assert len(c.unchanged) == len(c.old.uses) == len(c.new.uses) > 0
    assert not any("different configs" in x for x in c.caveats)
    edit(repo / "mm" / "rmap.c", "unsigned long anon_mapping = 0;",
         "unsigned long anon_mapping = (unsigned long)READ_ONCE(page->mapping);")
    git(repo, "commit", "-q", "-am", "the read is back")
    c = compare.diff(repo, "before-untracked", "HEAD", cache=tmp_path / "cache", build=build, scope=["."], jobs=2)
    assert where(c.added) == [("mm/rmap.c", 13, "page_anon_vma")] and not c.removed
    assert all(u.status == "analysed" for u in c.new.uses if u.file == "mm/rmap.c")
    with pytest.raises(InputError, match="pass --build"):
        compare.diff(repo, "before-untracked", "HEAD", cache=tmp_path / "cache2", scope=["."])
