"""The report's token prefilter and uses mode: fewer TUs, never a missed use."""

from __future__ import annotations

import json
import os

from passdown import facts as F
from passdown import idents, index, prefilter
from passdown.cache import Cache
from passdown.compdb import CompileCommand, load

FIELDS = (F.FieldSpec("page", "mapping"),)

MACROS = b"""
#define offsetof(T, m) __builtin_offsetof(T, m)
#define container_of(p, T, m) ((T *)((char *)(p) - offsetof(T, m)))
#define list_entry(p, T, m) container_of(p, T, m)
#define PAGE_MAP(p) ((p)->mapping)
#define OUTER(p) PAGE_MAP(p)
#define DEREF(p) (p)->
#define COUNT(x, ...) count(x, ## __VA_ARGS__)
#define WITH_PARAM(mapping) (mapping)->host
"""


def trigger(extra: bytes = b"") -> prefilter.Trigger:
    return prefilter.Trigger("mapping", prefilter.Macros([idents.scan_bytes(MACROS + extra)]))


def test_member_accesses_are_candidates():
    t = trigger()
    assert t.why(b"x = p->mapping;") == "member access"
    assert t.why(b"x = pg . mapping;") == "member access"
    assert t.why(b"x = p->\n\tmapping;") == "member access"
    assert t.why(b"#define M(p) (p)-> \\\n mapping\n") == "member access"
    assert t.why(b"struct page p = { .mapping = NULL };") == "member access"


def test_comments_strings_and_plain_variables_are_not():
    t = trigger()
    assert t.why(b"/* p->mapping */ int x;") is None
    assert t.why(b'// p->mapping\nint x;') is None
    assert t.why(b'puts("p->mapping");') is None
    assert t.why(b"struct address_space *mapping = inode->i_mapping; mapping->host = 0;") is None
    assert t.why(b"f(mapping); COUNT(mapping, 1);") is None  # ", ## __VA_ARGS__" is not pasting
    assert t.why(b"WITH_PARAM(m);") is None  # `mapping` is WITH_PARAM's parameter, not the member
    assert t.why(b"int x;") is None


def test_member_names_given_to_macros_are_candidates():
    t = trigger()
    assert t.why(b"q = container_of(x, struct page, mapping);") == "argument of container_of"
    assert t.why(b"q = list_entry(x, struct page, mapping);") == "argument of list_entry"
    assert t.why(b"n = offsetof(struct page, mapping);") == "argument of offsetof"
    assert t.why(b"a = DEREF(page) mapping;") == "after macro DEREF"


def test_macros_that_expand_to_the_member_are_candidates():
    t = trigger()
    assert t.aliases == {"PAGE_MAP", "OUTER"}
    assert t.why(b"a = OUTER(page);") == "macro OUTER"
    assert t.why(b"a = PAGE_MAP(page);") == "macro PAGE_MAP"


def make_tree(tmp_path):
    tree = tmp_path / "tree"
    (tree / "include").mkdir(parents=True)
    (tree / "fs").mkdir()
    (tree / "include" / "page.h").write_text(
        "struct address_space { int x; };\nstruct page { struct address_space *mapping; };\n"
        "#define PAGE_MAP(p) ((p)->mapping)\n")
    (tree / "fs" / "local.h").write_text(
        '#include "page.h"\nstatic inline int lh(struct page *p) { return p->mapping != 0; }\n')
    (tree / "fs" / "a.c").write_text('#include "page.h"\nvoid *a(struct page *p) { return PAGE_MAP(p); }\n')
    (tree / "fs" / "b.c").write_text('#include "page.h"\nint b(struct page *p) { return !p->mapping; }\n')
    (tree / "fs" / "c.c").write_text('#include "page.h"\nint c(struct address_space *mapping) { return mapping->x; }\n')
    (tree / "fs" / "d.c").write_text('#if 0\n#include "local.h"\n#endif\nint d(void) { return 0; }\n')
    (tree / "fs" / "e.c").write_text('#include "local.h"\nint e(struct page *p) { return lh(p); }\n')
    entries = [{"directory": ".", "file": f"fs/{n}.c", "arguments": ["gcc", "-Iinclude", "-c", f"fs/{n}.c"]}
               for n in "abcde"]
    (tree / "compile_commands.json").write_text(json.dumps(entries))
    return tree


def run(tree, cache_dir, scope=None, jobs=1):
    cmds = load(tree / "compile_commands.json")
    return index.run(tree, cmds, FIELDS, Cache(cache_dir), jobs=jobs,
                     uses_in=[tree / s for s in scope] if scope is not None else None)


def uses(idx):
    return sorted((os.path.relpath(p, idx.tree), u.line) for p, ff in idx.files.items() for u in ff.uses)


def test_select_keeps_the_tus_that_can_hold_a_use(tmp_path):
    tree = make_tree(tmp_path)
    cmds = load(tree / "compile_commands.json")
    (tmp_path / "cache").mkdir()
    sel = prefilter.select(tree, cmds, "mapping", [tree / "fs"], tmp_path / "cache")
    rel = sorted(os.path.relpath(c.file, tree) for c in sel.wanted)
    # a.c: a macro that expands to the member; b.c: the member; d.c or e.c: an includer of
    # fs/local.h, which has a use (d.c includes it only under #if 0, by text)
    assert rel[:2] == ["fs/a.c", "fs/b.c"] and len(rel) == 3 and rel[2] in ("fs/d.c", "fs/e.c")
    assert os.path.relpath(sel.skipped[0], tree) == "fs/c.c"
    assert list(sel.headers) == [str(tree / "fs" / "local.h")]
    again = prefilter.select(tree, cmds, "mapping", [tree / "fs"], tmp_path / "cache")
    assert again.stats.get("memo") and [c.file for c in again.wanted] == [c.file for c in sel.wanted]


def test_uses_mode_finds_what_the_full_index_finds(tmp_path):
    tree = make_tree(tmp_path)
    full = run(tree, tmp_path / "full")
    lite = run(tree, tmp_path / "lite", scope=["fs"])
    in_fs = [u for u in uses(full) if u[0].startswith("fs/")]
    assert uses(lite) == in_fs == [("fs/a.c", 2), ("fs/b.c", 2), ("fs/local.h", 2)]
    assert lite.light and os.path.relpath(lite.skipped[0], tree) == "fs/c.c"
    # include/page.h is outside the scope: not walked
    assert str(tree / "include" / "page.h") not in lite.files
    # the function holding a use is kept, with its name, for the report
    assert {fn.name for _, fn in lite.functions()} == {"a", "b", "lh"}
    warm = run(tree, tmp_path / "lite", scope=["fs"])
    assert warm.parsed == 0 and uses(warm) == uses(lite)


def test_uses_mode_reads_a_cache_made_by_a_full_run(tmp_path):
    tree = make_tree(tmp_path)
    full = run(tree, tmp_path / "cache")
    lite = run(tree, tmp_path / "cache", scope=["fs"])
    assert lite.parsed == 0 and lite.cached >= 3
    assert uses(lite) == [u for u in uses(full) if u[0].startswith("fs/")]


def test_a_full_run_after_a_report_completes_the_headers(tmp_path):
    tree = make_tree(tmp_path)
    run(tree, tmp_path / "cache", scope=["fs"])
    full = run(tree, tmp_path / "cache")
    fresh = run(tree, tmp_path / "fresh")
    assert uses(full) == uses(fresh)
    assert sorted(full.files) == sorted(fresh.files)


def test_a_changed_file_is_selected_again(tmp_path):
    tree = make_tree(tmp_path)
    run(tree, tmp_path / "cache", scope=["fs"])
    c = tree / "fs" / "c.c"
    c.write_text('#include "page.h"\nint c(struct page *p) { return p->mapping == 0; }\n')
    st = c.stat()
    os.utime(c, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))
    again = run(tree, tmp_path / "cache", scope=["fs"])
    assert again.parsed == 1 and ("fs/c.c", 2) in uses(again)


def test_ident_index_answers_which_files_mention_a_name(tmp_path):
    tree = make_tree(tmp_path)
    (tmp_path / "cache").mkdir()
    ix = idents.IdentIndex(tmp_path / "cache")
    files = [str(p) for p in sorted((tree / "fs").glob("*.c"))]
    got = {os.path.basename(p) for p in ix.mentioning({"lh", "nothing"}, files)}
    assert got == {"e.c"}
    ix.save()
    again = idents.IdentIndex(tmp_path / "cache")
    assert again.entries.keys() == ix.entries.keys()


def test_a_new_header_invalidates_the_remembered_selection(tmp_path):
    tree = make_tree(tmp_path)
    cmds = load(tree / "compile_commands.json")
    (tmp_path / "cache").mkdir()
    prefilter.select(tree, cmds, "mapping", [tree / "fs"], tmp_path / "cache")
    # fs/page.h now shadows include/page.h for the quoted includes of fs/*.c
    (tree / "fs" / "page.h").write_text("#define SHADOW(p) ((p)->mapping)\n")
    again = prefilter.select(tree, cmds, "mapping", [tree / "fs"], tmp_path / "cache")
    assert not again.stats.get("memo")
    assert str(tree / "fs" / "page.h") in again.headers


def test_a_quoted_include_found_next_to_its_includer_is_that_file_only(tmp_path):
    # kbuild passes -I for every directory: over the union of all TUs' search paths,
    # fs/a's "xattr.h" would also be fs/b's, which no TU of fs/a can read (a name not
    # next to its includer still resolves over the union: a superset)
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "xattr.h").write_text(f"int {d};\n")
        (tmp_path / d / "x.c").write_text('#include "xattr.h"\n#include "only_b.h"\n')
    (tmp_path / "b/only_b.h").write_text("int only;\n")
    commands = [CompileCommand(str(tmp_path / d / "x.c"), str(tmp_path), (f"-I{tmp_path / d}",), ())
                for d in ("a", "b")]
    graph = prefilter.IncludeGraph(idents.Scanner(None), commands)
    graph.reach([c.file for c in commands])
    assert graph.children(str(tmp_path / "a/x.c")) == (str(tmp_path / "a/xattr.h"), str(tmp_path / "b/only_b.h"))
    assert graph.children(str(tmp_path / "b/x.c")) == (str(tmp_path / "b/xattr.h"), str(tmp_path / "b/only_b.h"))
