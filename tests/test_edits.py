"""edits: byte-offset edits from a plan; the whole corpus plan applied still builds with -Werror."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import CORPUS
from passdown import edits, helpers, index, rules
from passdown import plan as plan_mod
from passdown.workspace import Workspace

P = "struct address_space *mapping"


@pytest.mark.parametrize(
    "before, index_, after",
    [
        (b"int f(struct page *page)", 0, b"int f(struct address_space *mapping, struct page *page)"),
        (b"int f(struct page *page, int x)", 1, b"int f(struct page *page, struct address_space *mapping, int x)"),
        (b"int f(struct page *page)", 1, b"int f(struct page *page, struct address_space *mapping)"),
        (b"int f(void)", 0, b"int f(struct address_space *mapping)"),
        (b"int f()", 0, b"int f(struct address_space *mapping)"),
        (b"\tint (*writepage)(struct page *, struct wbc *);", 0,
         b"\tint (*writepage)(struct address_space *mapping, struct page *, struct wbc *);"),
        (b"typedef int filler_t(void *, struct page *);", 2,
         b"typedef int filler_t(void *, struct page *, struct address_space *mapping);"),
        (b"int f(int (*get)(int a, int b), struct page *page)", 0,
         b"int f(struct address_space *mapping, int (*get)(int a, int b), struct page *page)"),
    ],
)
def test_insert_param(before, index_, after):
    name = before.find(b"filler_t") if b"filler_t" in before else before.find(b"writepage") if b"writepage" in before else before.find(b"f(")
    plist = edits.param_list(before, name)
    s, e, text = edits.insert_param(before, plist, index_, P)
    assert edits.apply(before, [edits.Edit("x", s, e, text)]) == after


def test_no_parameter_list_is_none():
    assert edits.param_list(b"int x;", 4) is None


def test_apply_is_reverse_ordered_and_keeps_untouched_bytes():
    data = b"abcdef"
    out = edits.apply(data, [edits.Edit("x", 1, 2, "BB"), edits.Edit("x", 4, 4, "++"), edits.Edit("x", 0, 0, "<")])
    assert out == b"<aBBcd++ef"
    assert edits.apply(data, []) == data


def test_helper_header_renders_a_stub_predicate_only_when_missing(tmp_path):
    rule, _ = rules.load()
    (tmp_path / "include" / "linux").mkdir(parents=True)
    text = helpers.render_header(rule, tmp_path)
    assert "static inline struct address_space *fs_page_mapping(struct page *page," in text
    assert "static inline bool PageWriteProtected" in text  # the tree does not define it
    assert "#include <linux/flags.h>" not in text
    (tmp_path / "include" / "linux" / "flags.h").write_text("#define PageWriteProtected(p) 0\n")
    text = helpers.render_header(rule, tmp_path)
    assert "static inline bool PageWriteProtected" not in text
    assert "#include <linux/flags.h>" in text  # where the tree defines it


def test_whole_corpus_plan_applied_builds_and_runs(tmp_path):
    tree = tmp_path / "kern"
    shutil.copytree(CORPUS, tree, ignore=shutil.ignore_patterns("build"))
    rule, _ = rules.load()
    ws = Workspace.open(tree, None, tmp_path / "cache")
    idx = index.run(ws.tree, ws.commands(), (rule.spec,), ws.open_cache(), jobs=2)
    plan = plan_mod.make_plan(idx, rule, ws.scope(["."]), ws.config())
    es = edits.compute(idx, plan, rule)
    assert len(es.files()) > 10
    # only reads written inside macro bodies are left for a human
    assert es.skipped and all("inside macro" in s for s in es.skipped)
    for path in es.files():
        with open(path, "rb") as fh:
            data = fh.read()
        with open(path, "wb") as fh:
            fh.write(edits.apply(data, es.edits[path]))
    (tree / rule.helper.header).write_text(helpers.render_header(rule, tree))
    build = subprocess.run(["make", "-s", "-C", str(tree)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(tree / "build" / "kern")], capture_output=True, text=True)
    assert run.returncode == 0 and " 0 failed" in run.stdout
    changed = subprocess.run(["diff", "-r", "-q", str(CORPUS / "fs"), str(tree / "fs")], capture_output=True, text=True)
    assert changed.stdout.count("differ") >= 5


@pytest.mark.parametrize(
    "before, after",
    [
        # fits in 100 columns: untouched (the no-op case)
        (b"int f(struct page *page)\n", b"int f(struct address_space *mapping, struct page *page)\n"),
        # pushed past 100 columns: re-flowed, aligned with the parenthesis
        (b"static int a_rather_long_function_name(struct page *page, struct writeback_control *wbc, int flags)\n",
         b"static int a_rather_long_function_name(struct address_space *mapping, struct page *page,\n"
         b"\t\t\t\t       struct writeback_control *wbc, int flags)\n"),
        # already wrapped by hand, still fits: left as it is
        (b"int g(struct page *page,\n      int x)\n", b"int g(struct address_space *mapping, struct page *page,\n      int x)\n"),
        # commas without spaces: spaced when the list is touched (checkpatch flags the whole line)
        (b"\treturn block_write_full_page(page,get_block,wbc);\n",
         b"\treturn block_write_full_page(struct address_space *mapping, page, get_block, wbc);\n"),
        # a comment inside the list: never re-flowed
        (b"static int a_rather_long_function_name(struct page *page /* locked */, struct writeback_control *wbc)\n",
         b"static int a_rather_long_function_name(struct address_space *mapping, struct page *page /* locked */, "
         b"struct writeback_control *wbc)\n"),
    ],
)
def test_wrap(before, after):
    lp = before.index(b"(")
    rp = before.index(b")\n") if b")\n" in before else before.rindex(b")")
    e = edits.Edit("x", lp + 1, lp + 1, "struct address_space *mapping, ", span=(lp, rp))
    assert edits.apply(before, edits.wrap(before, [e])) == after


def test_conflicting_edits_name_both_origins():
    b = edits._Builder.__new__(edits._Builder)
    b.edits, b.by_pos, b.idx = {}, {}, type("I", (), {"rel": staticmethod(lambda p: p)})()
    from collections import defaultdict
    b.edits = defaultdict(dict)
    b.add("fs/a.c", 10, 20, "one", "read in f")
    b.add("fs/a.c", 10, 20, "one", "read in f (from another TU)")  # identical: applied once
    assert len(b.edits["fs/a.c"]) == 1
    with pytest.raises(edits.EditConflict, match=r"fs/a.c bytes 10-20: 'one' \(read in f\) and 'two' \(call in g\)"):
        b.add("fs/a.c", 10, 20, "two", "call in g")
