"""Precompiled headers (pch.py, index._precompile): the same facts, fewer parses.

Every test indexes the same tree twice, with and without PCHs, through real
libclang, and compares the facts.  ``pch.MIN_TUS`` and ``pch.LEAD_MIN_TUS`` are
lowered so that a small tree gets PCHs at all.
"""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest

from passdown import facts as F
from passdown import index, pch
from passdown.cache import Cache
from passdown.compdb import load

from conftest import CORPUS, run_passdown

FIELDS = (F.FieldSpec("page", "mapping"),)
COUNTER = re.compile(r"(__UNIQUE_ID_\w*?|__compiletime_assert_)\d+\b")


@pytest.fixture(autouse=True)
def small_groups(monkeypatch):
    monkeypatch.setattr(pch, "MIN_TUS", 2)


def run(tree, cache_dir, use_pch, jobs=2, fields=FIELDS):
    return index.run(tree, load(tree / "compile_commands.json"), fields, Cache(cache_dir), jobs=jobs, pch=use_pch)


def same_facts(a, b) -> list[str]:
    """Files whose facts differ (``__COUNTER__`` names compared without their number)."""
    norm = {p: COUNTER.sub(r"\1N", repr(ff)) for p, ff in a.files.items()}
    return sorted(p for p in set(a.files) | set(b.files)
                  if norm.get(p) != (COUNTER.sub(r"\1N", repr(b.files[p])) if p in b.files else None))


def with_pch(idx) -> set[str]:
    return {os.path.relpath(t.source, idx.tree) for t in idx.tus if t.stats and t.stats.get("pch")}


# -- the corpus -----------------------------------------------------------------


def test_corpus_facts_are_the_same(tmp_path):
    tree = tmp_path / "kern"
    shutil.copytree(CORPUS, tree, ignore=shutil.ignore_patterns("build*", "expected"))
    plain = run(tree, tmp_path / "plain", False)
    fast = run(tree, tmp_path / "fast", True)
    assert "pch" not in plain.stats and not with_pch(plain)
    assert fast.stats["pch"]["built"] >= 1 and not fast.stats["pch"]["failed"]
    assert len(with_pch(fast)) == fast.stats["pch"]["tus"] >= len(fast.tus) // 2
    assert same_facts(plain, fast) == []
    # The PCH's headers were walked once, by the PCH build: their uses are there.
    pagemap = str(tree / "include/linux/pagemap.h")
    assert [u.line for u in fast.files[pagemap].uses] == [u.line for u in plain.files[pagemap].uses] != []
    assert fast.failures == []


def pch_entries(tree, cache_dir) -> dict[str, F.TUFacts]:
    cache = Cache(cache_dir)
    return {p.stem: cache.lookup(p.stem) for p in (cache_dir / "pch").glob("*.pch")}


def read_by(entry, tree) -> set[str]:
    return {d for d in entry.deps if d.startswith(str(tree) + os.sep)}


def test_one_pch_entry_holds_each_header_the_pchs_read(tmp_path):
    # The facts of a header several PCHs read are kept once (a warm plan over fs/ + mm/
    # unpickled 600 headers 28 times over), in the entry of the first PCH, common first.
    tree = tmp_path / "kern"
    shutil.copytree(CORPUS, tree, ignore=shutil.ignore_patterns("build*", "expected"))
    fast = run(tree, tmp_path / "c", True, jobs=1)  # one worker: the second build skips what the first walked
    entries = pch_entries(tree, tmp_path / "c")
    assert len(entries) == fast.stats["pch"]["built"] >= 2
    held = [h.path for e in entries.values() for h in e.headers]
    assert len(held) == len(set(held))
    assert set(held) == set().union(*(read_by(e, tree) for e in entries.values()))
    biggest = max(entries.values(), key=lambda e: len(read_by(e, tree)))
    assert {h.path for h in biggest.headers} == read_by(biggest, tree)
    warm = run(tree, tmp_path / "c", True)
    assert warm.parsed == 0 and same_facts(fast, warm) == []


@pytest.mark.parametrize("holder", ["kept", "gone"])
def test_a_pch_reused_without_the_one_that_holds_its_headers(tmp_path, holder):
    # mm/util.c and mm/debug.c do not reach buffer_head.h: the PCH with it holds the
    # headers all the PCHs share, and a run that parses these two alone has no use for
    # it.  Its entry lends them (kept); when it is gone, the smaller PCHs are built again:
    # their users must not lose the facts of fs.h or mm.h.
    tree = tmp_path / "kern"
    shutil.copytree(CORPUS, tree, ignore=shutil.ignore_patterns("build*", "expected"))
    run(tree, tmp_path / "c", True)
    entries = pch_entries(tree, tmp_path / "c")
    bh = str(tree / "include/linux/buffer_head.h")
    [holder_key] = [k for k, e in entries.items() if bh in read_by(e, tree)]
    assert {h.path for h in entries[holder_key].headers} == read_by(entries[holder_key], tree)
    if holder == "gone":
        cache = Cache(tmp_path / "c")
        cache.forget(holder_key)
        cache.save()
        (tmp_path / "c/pch" / f"{holder_key}.pch").unlink()
    for name in ("mm/util.c", "mm/debug.c"):
        (tree / name).write_text((tree / name).read_text() + f"\nint {name[3:-2]}_extra(void) {{ return 0; }}\n")
    again = run(tree, tmp_path / "c", True)
    assert {"mm/util.c", "mm/debug.c"} <= with_pch(again)
    if holder == "kept":
        assert again.parsed == 2 and again.stats["pch"]["built"] == 0
    else:  # and one reader of buffer_head.h, which only that PCH read, walks it again
        assert again.parsed == 3 and again.stats["pch"]["built"] >= 1
    assert same_facts(run(tree, tmp_path / "plain", False), again) == []
    assert str(tree / "include/linux/mm.h") in again.files


def test_warm_run_builds_nothing_and_a_pch_header_change_rebuilds(tmp_path, monkeypatch):
    monkeypatch.setattr(pch, "MIN_TUS", 1)
    tree = tmp_path / "kern"
    shutil.copytree(CORPUS, tree, ignore=shutil.ignore_patterns("build*", "expected"))
    run(tree, tmp_path / "c", True)
    one = tree / "fs/ext2/inode.c"
    one.write_text(one.read_text() + "\nint ext2_extra(void) { return 0; }\n")
    kept = sorted(p.name for p in (tmp_path / "c/pch").iterdir())
    (tmp_path / "c/pch/0123456789abcdef01234567.pch").write_bytes(b"left by an older passdown")
    again = run(tree, tmp_path / "c", True)
    assert sorted(p.name for p in (tmp_path / "c/pch").iterdir()) == kept  # the stale one is gone
    assert again.parsed == 1 and again.stats["pch"] == {**again.stats["pch"], "built": 0, "tus": 1}
    assert "fs/ext2/inode.c" in with_pch(again)

    pagemap = tree / "include/linux/pagemap.h"
    # inside the include guard: a TU that reads pagemap.h twice must not define pm_extra twice
    text = pagemap.read_text()
    at = text.rindex("#endif")
    pm_extra = "static inline int pm_extra(struct page *p) { return p->mapping != 0; }\n\n"
    pagemap.write_text(text[:at] + pm_extra + text[at:])
    changed = run(tree, tmp_path / "c", True)
    assert changed.stats["pch"]["built"] >= 1
    extra = [u for u in changed.files[str(pagemap)].uses if "pm_extra" in u.function]
    assert len(extra) == 1
    assert same_facts(run(tree, tmp_path / "plain", False), changed) == []


# -- when a TU must not take the PCH ----------------------------------------------


def make_tree(tmp_path, files: dict[str, str], flags: tuple[str, ...] = ()):
    tree = tmp_path / "t"
    (tree / "include/linux").mkdir(parents=True)
    (tree / "fs").mkdir()
    (tree / "include/linux/kernel.h").write_text(
        "#ifndef _K\n#define _K\n"
        "#ifndef pr_fmt\n#define pr_fmt(x) x\n#endif\n"
        "int debug_call(void);\n"
        "#ifdef MYDEBUG\n#define dbg() debug_call()\n#else\n#define dbg() 0\n#endif\n#endif\n")
    (tree / "include/linux/fs.h").write_text(
        "#ifndef _FS\n#define _FS\n#include <linux/kernel.h>\n"
        "struct address_space { int x; };\nstruct page { struct address_space *mapping; };\n"
        "#define FS_MACRO 1\nlong fs_thing(int);\n"
        "static inline int ax(struct address_space *a) { return a->x; }\n"
        "static inline struct address_space *pm(struct page *p) { return p->mapping; }\n#endif\n")
    for name, text in files.items():
        (tree / "fs" / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / "fs" / name).write_text(text)
    entries = [{"directory": ".", "file": f"fs/{n}", "arguments": ["gcc", "-Iinclude", *flags, "-c", f"fs/{n}"]}
               for n in files if n.endswith(".c")]
    (tree / "compile_commands.json").write_text(json.dumps(entries))
    return tree


PLAIN = "#include <linux/kernel.h>\n#include <linux/fs.h>\nint {n}(struct page *p) {{ return !pm(p); }}\n"


def both_ways(tmp_path, odd: dict[str, str], *, common: bool = True, flags: tuple[str, ...] = ()):
    """a.c and b.c, which take the PCH (unless not *common*), and the *odd*
    files: the tree, indexed without and with PCHs."""
    plain_ones = {"a.c": PLAIN.format(n="a"), "b.c": PLAIN.format(n="b")} if common else {}
    tree = make_tree(tmp_path, {**plain_ones, **odd}, flags)
    return tree, run(tree, tmp_path / "plain", False), run(tree, tmp_path / "fast", True)


def test_a_macro_a_pch_header_tests_keeps_the_tu_out(tmp_path):
    tree, plain, fast = both_ways(tmp_path, {
        # printk.h's pattern: a default only, the file's own definition wins anyway
        "c.c": '#define pr_fmt(x) "c: " x\n' + PLAIN.format(n="c"),
        # but MYDEBUG changes what kernel.h defines (and its header facts do not depend on
        # which TU walks it: only a macro changes)
        "d.c": "#define MYDEBUG\n" + PLAIN.format(n="d") + "int d2(void) { return dbg(); }\n",
    })
    assert with_pch(fast) == {"fs/a.c", "fs/b.c", "fs/c.c"}
    assert same_facts(plain, fast) == []
    d2 = [c for c in fast.files[str(tree / "fs/d.c")].calls if c.name == "debug_call"]
    assert d2 and d2[0].kind == "direct" and d2[0].macro == "dbg"


def test_an_error_with_the_pch_falls_back_to_a_plain_parse(tmp_path):
    # e.c reaches fs.h only in text (#if 0): with the PCH its fs_thing() clashes with fs.h's.
    tree, plain, fast = both_ways(tmp_path, {
        "e.c": "#include <linux/kernel.h>\n#if 0\n#include <linux/fs.h>\n#endif\n"
               "int fs_thing(void) { return 0; }\n",
    })
    assert with_pch(fast) == {"fs/a.c", "fs/b.c"}
    assert fast.failures == [] and plain.failures == []
    assert same_facts(plain, fast) == []


def test_a_tu_that_defines_an_include_guard_keeps_the_tu_out(tmp_path):
    # g.c keeps fs.h out; through the PCH it would get it anyway, and FS_MACRO with it.
    tree, plain, fast = both_ways(tmp_path, {
        "g.c": "#define _FS\n#include <linux/kernel.h>\n#include <linux/fs.h>\n"
               "#ifdef FS_MACRO\nint g_with_fs(void) { return fs_thing(1); }\n#endif\nint g(void) { return 0; }\n",
    })
    assert with_pch(fast) == {"fs/a.c", "fs/b.c"}
    assert [f.name for f in fast.files[str(tree / "fs/g.c")].functions] == ["g"]
    # (fs.h's own facts depend on which TU walks it first: g.c sees it empty)
    differ = same_facts(plain, fast)
    assert [os.path.relpath(p, tree) for p in differ] in ([], ["include/linux/fs.h"])


def test_a_pch_entry_is_per_field(tmp_path):
    # The PCH's entry holds its headers' facts for one field: another field builds its own.
    tree = make_tree(tmp_path, {"a.c": PLAIN.format(n="a"), "b.c": PLAIN.format(n="b")})
    fs_h = str(tree / "include/linux/fs.h")
    first = run(tree, tmp_path / "c", True)
    assert [u.function.split("@")[2] for u in first.files[fs_h].uses] == ["pm"]
    other = (F.FieldSpec("address_space", "x"),)
    second = run(tree, tmp_path / "c", True, fields=other)
    assert second.stats["pch"]["built"] == 1
    assert [u.function.split("@")[2] for u in second.files[fs_h].uses] == ["ax"]
    assert same_facts(run(tree, tmp_path / "plain", False, fields=other), second) == []


def test_no_pch_below_min_tus(tmp_path, monkeypatch):
    monkeypatch.setattr(pch, "MIN_TUS", 3)
    tree = make_tree(tmp_path, {"a.c": PLAIN.format(n="a"), "b.c": PLAIN.format(n="b")})
    fast = run(tree, tmp_path / "fast", True)
    assert "pch" not in fast.stats and not with_pch(fast)


def test_the_cli_says_how_many_tus_went_through_a_pch_and_no_pch_turns_it_off(tmp_path, monkeypatch):
    monkeypatch.undo()  # the real MIN_TUS: the CLI runs in its own process
    tree = make_tree(tmp_path, {f"f{i}.c": PLAIN.format(n=f"f{i}") for i in range(pch.MIN_TUS)})
    out = run_passdown("index", "--tree", str(tree), "--cache", str(tmp_path / "c"), "-j", "2").stderr
    assert f"({pch.MIN_TUS} parsed, {pch.MIN_TUS} through 1 precompiled headers, 0 from cache" in out
    out = run_passdown("index", "--tree", str(tree), "--cache", str(tmp_path / "c2"), "--no-pch").stderr
    assert f"({pch.MIN_TUS} parsed, 0 from cache" in out


# -- a directory's own PCH ----------------------------------------------------------

# fs/xfs's pattern: every file starts with the subsystem's header, which defines a
# macro a kernel header tests (DEBUG, printk.h) before it includes any.
OWN_H = ("#ifndef _X_H\n#define _X_H\n#define MYDEBUG 1\n#include <linux/kernel.h>\n#include <linux/fs.h>\n"
         "static inline struct address_space *x_map(struct page *p) { return p->mapping; }\n#endif\n")
OWN_C = ('/* SPDX-License-Identifier: GPL-2.0 */\n#include "x.h" /* first */\n#include <linux/fs.h>\n\n'
         "int {n}(struct page *p) {{ return dbg() + !x_map(p) + !pm(p); }}\n")
OWN = {f"x/{n}.c": OWN_C.format(n=n) for n in "pqrs"}


def test_a_directorys_own_pch_serves_the_tus_the_macro_rule_keeps_out(tmp_path):
    tree, plain, fast = both_ways(tmp_path, {"x/x.h": OWN_H, **OWN})
    # x.h defines MYDEBUG, which kernel.h tests: the common PCH is refused, the own one taken
    assert with_pch(fast) == {"fs/a.c", "fs/b.c", *(f"fs/{n}" for n in OWN)}
    assert fast.stats["pch"]["groups"] == 2 and fast.stats["pch"]["refused by a macro"] == 0
    assert same_facts(plain, fast) == []
    p = [c for c in fast.files[str(tree / "fs/x/p.c")].calls if c.name == "debug_call"]
    assert p and p[0].macro == "dbg"  # MYDEBUG seen by kernel.h, as without the PCH
    x_h = str(tree / "fs/x/x.h")
    assert [u.function.split("@")[2] for u in fast.files[x_h].uses] == ["x_map"]


def test_no_own_pch_where_the_files_write_the_includes_in_other_orders(tmp_path):
    own = {f"x/{n}.c": (f"#include <linux/fs.h>\n" if n in "pq" else "") + OWN_C.format(n=n) for n in "pqrs"}
    tree = make_tree(tmp_path, {"a.c": PLAIN.format(n="a"), "b.c": PLAIN.format(n="b"), "x/x.h": OWN_H, **own})
    fast = run(tree, tmp_path / "fast", True)
    assert with_pch(fast) == {"fs/a.c", "fs/b.c"}
    assert fast.stats["pch"]["refused by a macro"] == 4


def test_an_own_pch_skips_the_tu_whose_header_in_between_defines_what_it_tests(tmp_path):
    # t.c reads guard.h between x.h and fs.h: guard.h keeps fs.h out, which the PCH cannot.
    own = {**OWN, "x/t.c": OWN_C.format(n="t").replace('/* first */\n', '\n#include "guard.h"\n')}
    tree, plain, fast = both_ways(tmp_path, {"x/x.h": OWN_H, "x/guard.h": "#define _FS 1\n", **own}, common=False)
    assert with_pch(fast) == {f"fs/{n}" for n in own} - {"fs/x/t.c"}
    assert fast.stats["pch"]["refused by a macro"] == 1
    assert same_facts(plain, fast) == []


def test_an_own_pch_takes_the_tu_whose_header_after_its_roots_defines_what_it_tests(tmp_path):
    # late.h comes after every root: kernel.h has long been read, with or without the PCH
    late = OWN_C.format(n="t").replace("#include <linux/fs.h>\n", '#include <linux/fs.h>\n#include "late.h"\n')
    own = {**OWN, "x/t.c": late}
    tree, plain, fast = both_ways(tmp_path, {"x/x.h": OWN_H, "x/late.h": "#undef MYDEBUG\n#define MYDEBUG 2\n", **own},
                                  common=False)
    assert with_pch(fast) == {f"fs/{n}" for n in own}
    assert same_facts(plain, fast) == []


def test_a_header_of_the_tus_own_that_defines_a_tested_macro_keeps_it_out_of_a_common_pch(tmp_path):
    # local.h has no include of its own: the macro is defined before fs.h all the same
    tree, plain, fast = both_ways(tmp_path, {
        "local.h": "#define MYDEBUG 1\n",
        "d.c": '#include "local.h"\n' + PLAIN.format(n="d") + "int d2(void) { return dbg(); }\n",
    })
    assert with_pch(fast) == {"fs/a.c", "fs/b.c"}
    assert same_facts(plain, fast) == []


def test_a_subsystem_header_found_through_its_include_flag_counts_as_the_tus_own(tmp_path):
    # fs/xfs/libxfs/*.c reach fs/xfs/xfs.h through ccflags-y's -I: its MYDEBUG comes first too
    sub = {f"x/sub/{n}.c": OWN_C.format(n=n) for n in "pq"}
    tree, plain, fast = both_ways(tmp_path, {"x/x.h": OWN_H, **sub}, flags=("-Ifs/x",))
    assert with_pch(fast) == {"fs/a.c", "fs/b.c"}  # two are too few for their own PCH (LEAD_PAYS)
    assert fast.stats["pch"]["refused by a macro"] == 2
    assert same_facts(plain, fast) == []


# fs/xfs's other pattern: the files start with the subsystem's header, then each with
# its own few, then the trace event header, which costs more than all the rest.
Y_H = ("#ifndef _Y_H\n#define _Y_H\n#include <linux/fs.h>\ntypedef int y_t;\n"
       "static inline struct address_space *y_map(struct page *p) { return p->mapping; }\n#endif\n")
Y_TRACE = ("#undef TRACE_SYSTEM\n#define TRACE_SYSTEM y\n"
           "#if !defined(_Y_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)\n#define _Y_TRACE_H\n"
           + "".join(f"static inline void trace_y_{i}(y_t v, struct page *p) {{ }}\n" for i in range(40))
           + "#endif\n")
Y_C = '#include "y.h"\n#include "y_{m}.h"\n#include "y_trace.h"\nint {n}(struct page *p) {{ return !y_map(p); }}\n'
Y = {"y/y.h": Y_H, "y/y_trace.h": Y_TRACE, "y/y_a.h": "#ifndef _YA\n#define _YA\nint ya;\n#endif\n",
     "y/y_b.h": "#ifndef _YB\n#define _YB\nint yb;\n#endif\n",
     **{f"y/{n}.c": Y_C.format(n=n, m="ab"[i % 2]) for i, n in enumerate("pqrs")}}


def own_groups(tree):
    """The directories' own PCHs index._precompile would build for *tree*."""
    from passdown import idents, prefilter

    commands = load(tree / "compile_commands.json")
    graph = prefilter.IncludeGraph(idents.Scanner(None), commands)
    graph.reach([c.file for c in commands] + graph.forced)
    common = pch.groups(commands, graph, "v", "c")
    return {tuple(os.path.relpath(r, tree) for r in g.roots): [os.path.relpath(m, tree) for m in g.members]
            for g in pch.lead_groups(commands, graph, "v", "c", base=common)}


def test_an_own_pch_takes_the_trace_header_the_files_include_after_others(tmp_path):
    tree, plain, fast = both_ways(tmp_path, Y)
    # y_a.h and y_b.h come in between: each file reads them where it would anyway
    assert own_groups(tree) == {("fs/y/y.h", "fs/y/y_trace.h"): [f"fs/y/{n}.c" for n in "pqrs"]}
    assert with_pch(fast) == {"fs/a.c", "fs/b.c", *(f"fs/y/{n}.c" for n in "pqrs")}
    assert fast.stats["pch"]["groups"] == 2 and not fast.stats["pch"]["failed"]
    assert same_facts(plain, fast) == []


def test_an_own_pch_holds_what_its_trace_header_needs(tmp_path):
    # r.c and s.c reach y.h (y_t) through y_c.h only: a PCH of y_trace.h alone would not
    # build, so y.h comes with it, and r.c and s.c, which do not start with it, are left out
    y = {**Y, "y/y_c.h": '#include "y.h"\n'}
    for n in "rs":
        y[f"y/{n}.c"] = Y_C.format(n=n, m="c").replace('#include "y.h"\n', "")
    y.update({f"y/{n}.c": Y_C.format(n=n, m="a") for n in "tu"})
    tree, plain, fast = both_ways(tmp_path, y)
    assert own_groups(tree) == {("fs/y/y.h", "fs/y/y_trace.h"): [f"fs/y/{n}.c" for n in "pqtu"]}
    assert not fast.stats["pch"]["failed"]
    assert same_facts(plain, fast) == []


def test_a_trace_header_is_walked_by_the_tu_that_makes_its_trace_points(tmp_path):
    # What CREATE_TRACE_POINTS adds (TP_fast_assign's page->mapping) only its maker sees;
    # the PCH's build and the other, bigger, TUs would walk the header first without it
    made = Y_TRACE.replace("#endif\n", "#ifdef CREATE_TRACE_POINTS\nstatic inline struct address_space *"
                           "y_made(struct page *p) { return p->mapping; }\n#endif\n#endif\n")
    y = {**Y, "y/y_trace.h": made, "y/c.c": '#include "y.h"\n#define CREATE_TRACE_POINTS\n#include "y_trace.h"\n'}
    y.update({f"y/{n}.c": Y_C.format(n=n, m="a") + "/* a bigger file */\n" * 20 for n in "pqrs"})
    tree, plain, fast = both_ways(tmp_path, y)
    assert own_groups(tree) == {("fs/y/y.h", "fs/y/y_a.h", "fs/y/y_trace.h"): [f"fs/y/{n}.c" for n in "pqrs"]}
    for idx in (plain, fast, run(tree, tmp_path / "fast", True)):  # cold and warm
        trace = idx.files[str(tree / "fs/y/y_trace.h")]
        assert [u.function.split("@")[2] for u in trace.uses] == ["y_made"]
    assert same_facts(plain, fast) == []


def test_an_own_pch_skips_the_tu_that_reads_a_header_its_roots_change_before_them(tmp_path):
    # t.c reads kernel.h before x.h: the PCH would read it after x.h's MYDEBUG, t.c does not
    own = {**OWN, "x/t.c": "#include <linux/kernel.h>\n" + OWN_C.format(n="t")}
    tree, plain, fast = both_ways(tmp_path, {"x/x.h": OWN_H, **own}, common=False)
    assert own_groups(tree) == {("fs/x/x.h", "include/linux/fs.h"): [f"fs/{n}" for n in OWN]}
    assert with_pch(fast) == {f"fs/{n}" for n in OWN}
    assert same_facts(plain, fast) == []
    t = [c for c in fast.files[str(tree / "fs/x/t.c")].calls if c.name == "debug_call"]
    assert t == []  # dbg() is 0 in t.c: kernel.h came before MYDEBUG


def test_only_a_header_with_an_include_guard_can_be_a_root(tmp_path):
    # the TU reads each root again after the PCH: fs/afs/internal.h has no guard
    (tmp_path / "g.h").write_text("/* SPDX */\n// note\n#ifndef _G_H\n\n#define _G_H\nint g;\n#endif\n")
    (tmp_path / "o.h").write_text("#pragma once\nint o;\n")
    (tmp_path / "n.h").write_text("/* no guard */\n#include <linux/fs.h>\nstruct n { int x; };\n")
    (tmp_path / "w.h").write_text("#ifndef _W_H\n#define _OTHER\n#endif\n")
    (tmp_path / "t.h").write_text("// SPDX\n" + Y_TRACE)
    (tmp_path / "u.h").write_text(Y_TRACE.replace("#define _Y_TRACE_H", "#define _OTHER"))
    files = ("g.h", "o.h", "n.h", "w.h", "t.h", "u.h")
    assert [pch.guarded(str(tmp_path / f)) for f in files] == [True, True, False, False, True, False]
    assert [pch.trace_header(str(tmp_path / f)) for f in files] == [False, False, False, False, True, False]


def test_leading_includes_stop_at_the_first_other_line():
    src = (b"// SPDX\n/*\n * #include <no.h>\n */\n\n#include <linux/fs.h>\n  #  include \"x.h\" // why\n"
           b"#include <a.h> /* one */\n#define pr_fmt(fmt) fmt\n#include <late.h>\n")
    assert pch.leading_includes(src) == [(False, "linux/fs.h"), (True, "x.h"), (False, "a.h")]
    assert pch.leading_includes(b"#ifdef X\n#include <a.h>\n#endif\n") == []
    assert pch.leading_includes(b"int x;\n#include <a.h>\n") == []
    assert pch.leading_includes(b"#include <a.h> /* a\n b */\n") == []  # a comment over lines: stop


# -- the text rules -----------------------------------------------------------------


def test_tested_macros_leave_out_defaults_and_guards(tmp_path):
    h = tmp_path / "h.h"
    h.write_text("#ifndef _H\n#define _H\n#ifndef pr_fmt\n#define pr_fmt(fmt) fmt\n#endif\n"
                 "#if defined(DEBUG) && FOO > 1 /* BAR */\n#endif\n#ifdef  CONFIG_X\n#endif\n"
                 "#ifndef ALONE\nint x;\n#endif\n#ifndef LONG\n#define LONG(a) \\\n\t(a)\n#endif\n#endif\n")
    # the guard _H is a test (a file that defines it keeps the header out); pr_fmt and LONG are defaults
    assert pch.tested_macros([str(h)]) == {"_H", "defined", "DEBUG", "FOO", "CONFIG_X", "ALONE"}


def test_early_macros_are_those_before_the_last_include():
    src = (b'#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt\n#include <linux/fs.h>\n#undef X\n'
           b'#include "local.h"\n#define AFTER 1\n')
    assert pch.early_macros(src) == {"pr_fmt", "X"}
    assert pch.early_macros(b"int x;\n") == set()
    assert pch.early_macros(b"#undef A\n#define A 2\n#define B\n") == set()  # no include to come before


def test_build_args_drop_per_file_and_per_directory_flags():
    args = ("-nostdinc", "-I/t/include", "-I/b/arch/x86/include/generated", "-include", "/t/kconfig.h",
            "-DMODULE", "-I", "/t/fs/ext4", "-I/b/fs/ext4", '-DKBUILD_BASENAME="inode"',
            '-DKBUILD_MODNAME="ext4"', "-D__KBUILD_MODNAME=kmod_ext4", "-w")
    assert pch.build_args(args) == ("-nostdinc", "-I/t/include", "-I/b/arch/x86/include/generated", "-include",
                                    "/t/kconfig.h", "-DMODULE", "-w")


def test_a_tier_takes_next_the_header_most_of_its_tus_reach(tmp_path):
    # list.h is in fewer files than kernel.h, but in more of those that have init.h: f6 and
    # f7 get it in a tier of their own (by plain counts they would lose it with kernel.h)
    from passdown import idents, prefilter

    has = {"types": range(1, 13), "init": range(1, 10), "kernel": [1, 2, 3, 4, 5, 10, 11, 12], "list": range(1, 8)}
    (tmp_path / "include/linux").mkdir(parents=True)
    for h in has:
        (tmp_path / f"include/linux/{h}.h").write_text(f"int {h};\n")
    entries = []
    for n in range(1, 13):
        (tmp_path / f"f{n}.c").write_text("".join(f"#include <linux/{h}.h>\n" for h, ns in has.items() if n in ns))
        entries.append({"directory": str(tmp_path), "file": f"f{n}.c", "arguments": ["gcc", "-Iinclude", "-c", f"f{n}.c"]})
    (tmp_path / "compile_commands.json").write_text(json.dumps(entries))
    commands = load(tmp_path / "compile_commands.json")
    graph = prefilter.IncludeGraph(idents.Scanner(None), commands)
    graph.reach([c.file for c in commands])
    tiers = {tuple(os.path.basename(r) for r in g.roots): sorted(int(os.path.basename(m)[1:-2]) for m in g.members)
             for g in pch.groups(commands, graph, "v", "c", min_tus=2)}
    assert tiers == {("types.h", "init.h", "list.h", "kernel.h"): [1, 2, 3, 4, 5], ("types.h", "init.h", "list.h"): [6, 7],
                     ("types.h",): [8, 9, 10, 11, 12]}


def test_a_second_run_in_the_same_process_reads_the_headers_again(tmp_path):
    # y_trace.h loses its guard between two runs: the second may not take it as a root
    tree, _, fast = both_ways(tmp_path, Y)
    assert with_pch(fast) >= {f"fs/y/{n}.c" for n in "pqrs"}
    trace = tree / "fs/y/y_trace.h"
    trace.write_text(trace.read_text().replace("#define _Y_TRACE_H\n", ""))
    again = run(tree, tmp_path / "again", True)
    assert not again.stats["pch"]["failed"]
    assert again.stats["pch"]["groups"] == 1  # the common one only: no own PCH of an unguarded header
