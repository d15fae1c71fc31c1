"""index + cache: warm runs parse nothing; a change re-parses exactly its dependents."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from passdown import facts as F
from passdown import index
from passdown.cache import Cache
from passdown.compdb import load

FIELDS = (F.FieldSpec("page", "mapping"),)


def make_tree(tmp_path):
    tree = tmp_path / "tree"
    (tree / "include").mkdir(parents=True)
    (tree / "fs").mkdir()
    (tree / "include" / "page.h").write_text(
        "struct address_space { int x; };\nstruct page { struct address_space *mapping; };\n"
        "static inline struct address_space *pm(struct page *p) { return p->mapping; }\n"
    )
    (tree / "include" / "other.h").write_text("int other(void);\n")
    (tree / "fs" / "a.c").write_text('#include "page.h"\nvoid *a(struct page *p) { return pm(p); }\n')
    (tree / "fs" / "b.c").write_text('#include "page.h"\n#include "other.h"\nint b(struct page *p) { return !p->mapping; }\n')
    (tree / "fs" / "c.c").write_text('#include "other.h"\nint c(void) { return other(); }\n')
    entries = [{"directory": ".", "file": f"fs/{n}.c", "arguments": ["gcc", "-Iinclude", "-c", f"fs/{n}.c"]} for n in "abc"]
    (tree / "compile_commands.json").write_text(json.dumps(entries))
    return tree


def run(tree, cache_dir, jobs=1):
    cmds = load(tree / "compile_commands.json")
    return index.run(tree, cmds, FIELDS, Cache(cache_dir), jobs=jobs)


def touch(path, text=None):
    if text is not None:
        path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))


def uses(idx):
    return sorted((os.path.relpath(p, idx.tree), u.line) for p, ff in idx.files.items() for u in ff.uses)


def test_cold_then_warm(tmp_path):
    tree = make_tree(tmp_path)
    cold = run(tree, tmp_path / "cache", jobs=2)
    assert (cold.parsed, cold.cached) == (3, 0)
    assert uses(cold) == [("fs/b.c", 3), ("include/page.h", 3)]
    warm = run(tree, tmp_path / "cache", jobs=2)
    assert (warm.parsed, warm.cached) == (0, 3)
    assert uses(warm) == uses(cold)


def test_touch_without_change_parses_nothing(tmp_path):
    tree = make_tree(tmp_path)
    run(tree, tmp_path / "cache")
    touch(tree / "fs" / "a.c")
    again = run(tree, tmp_path / "cache")
    assert again.parsed == 0


def test_changing_a_c_file_reparses_only_it(tmp_path):
    tree = make_tree(tmp_path)
    run(tree, tmp_path / "cache")
    touch(tree / "fs" / "c.c", '#include "other.h"\n#include "page.h"\nint c(struct page *p) { return p->mapping == 0; }\n')
    again = run(tree, tmp_path / "cache")
    assert again.parsed == 1
    assert ("fs/c.c", 3) in uses(again)


def test_changing_a_header_reparses_its_includers(tmp_path):
    tree = make_tree(tmp_path)
    run(tree, tmp_path / "cache")
    touch(tree / "include" / "other.h", "int other(void);\nint other2(void);\n")
    again = run(tree, tmp_path / "cache")
    assert again.parsed == 2  # b.c and c.c include it; a.c does not
    # the inline function in page.h is still known although a.c (its first walker) was not re-parsed
    assert ("include/page.h", 3) in uses(again)


def test_header_facts_survive_the_loss_of_their_owner(tmp_path):
    tree = make_tree(tmp_path)
    first = run(tree, tmp_path / "cache")
    owner = next(t.source for t in first.tus if any(h.path.endswith("page.h") for h in t.headers))
    touch(tree / "include" / "page.h", (tree / "include" / "page.h").read_text() + "int extra(void);\n")
    again = run(tree, tmp_path / "cache")
    assert ("include/page.h", 3) in uses(again)
    assert any(f.name == "extra" for f in again.files[str(tree / "include" / "page.h")].functions)
    assert owner


def test_a_file_that_fails_to_parse_is_kept_and_reported(tmp_path):
    tree = make_tree(tmp_path)
    (tree / "fs" / "c.c").write_text("int c(void) { return undeclared; }\n")
    idx = run(tree, tmp_path / "cache")
    assert [os.path.relpath(t.source, tree) for t in idx.failures] == ["fs/c.c"]
    assert len(idx.tus) == 3


def test_a_worker_crash_is_reported_and_the_run_goes_on(tmp_path):
    # Real processes: passdown's workers come from a forkserver that keeps the
    # environment it started with, so each run is its own passdown process.
    tree = make_tree(tmp_path)
    env = dict(os.environ, PASSDOWN_TEST_CRASH_ON="fs/b.c")
    args = [sys.executable, "-m", "passdown", "report", "--tree", str(tree), "--cache", str(tmp_path / "cache"),
            "--scope", ".", "--format", "json", "-j", "2"]
    first = subprocess.run(args, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    rep = json.loads(first.stdout)
    assert any(c.startswith("libclang crashed on 1 file(s): fs/b.c") for c in rep["caveats"])
    assert [u["file"] for u in rep["uses"] if u["status"] == "analysed"] == ["include/page.h"]
    # every TU the report needs was parsed (with the prefilter, c.c, which has no use, is not needed)
    n = re.search(r"indexed (\d+) TUs \((\d+) parsed, 0 from cache", first.stderr)
    assert n and n.group(1) == n.group(2), first.stderr
    env.pop("PASSDOWN_TEST_CRASH_ON")
    again = subprocess.run(args, env=env, capture_output=True, text=True)
    assert re.search(r"TUs \(1 parsed, \d+ from cache", again.stderr), again.stderr  # the crashed TU was not cached
    assert ("fs/b.c", 3) in {(u["file"], u["line"]) for u in json.loads(again.stdout)["uses"]}


def test_a_warm_run_writes_nothing(tmp_path):
    tree = make_tree(tmp_path)
    run(tree, tmp_path / "cache")
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cache").iterdir() if p.is_file()}
    again = run(tree, tmp_path / "cache")
    assert again.parsed == 0
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cache").iterdir() if p.is_file()} == stamps


def test_entries_of_another_extractor_version_are_dropped_with_their_files(tmp_path, monkeypatch):
    from passdown import cache as C

    tree = make_tree(tmp_path)
    monkeypatch.setattr(C, "CODE", "old-code")
    old = run(tree, tmp_path / "cache")
    assert old.parsed == 3
    old_files = set((tmp_path / "cache" / "tu").glob("*.pkl"))
    assert len(old_files) == 3
    monkeypatch.undo()
    new = run(tree, tmp_path / "cache")
    assert new.parsed == 3  # the key holds the code digest: nothing reusable
    left = set((tmp_path / "cache" / "tu").glob("*.pkl"))
    assert len(left) == 3 and not (left & old_files)
    assert len(Cache(tmp_path / "cache").manifest.tus) == 3


def test_light_facts_survive_the_loss_of_the_light_store(tmp_path):
    tree = make_tree(tmp_path)
    cold = run(tree, tmp_path / "cache")
    (tmp_path / "cache" / "light.pkl").unlink()
    warm = run(tree, tmp_path / "cache")
    assert warm.parsed == 0 and uses(warm) == uses(cold)
    assert (tmp_path / "cache" / "light.pkl").is_file()


def test_a_narrower_run_borrows_header_facts_from_the_cache(tmp_path):
    tree = make_tree(tmp_path)
    run(tree, tmp_path / "cache")
    cmds = load(tree / "compile_commands.json")
    for c in cmds:
        one = index.run(tree, [c], FIELDS, Cache(tmp_path / "cache"), jobs=1)
        assert one.parsed == 0, c.file
        if c.file.endswith(("a.c", "b.c")):
            assert ("include/page.h", 3) in uses(one)  # page.h's facts, whoever walked it


def test_changing_the_owner_of_a_header_reparses_only_it(tmp_path):
    tree = make_tree(tmp_path)
    first = run(tree, tmp_path / "cache")
    owner = next(t.source for t in first.tus if any(h.path.endswith("page.h") for h in t.headers))
    path = tree / os.path.relpath(owner, tree)
    touch(path, path.read_text() + "int extra_one(void);\n")
    again = run(tree, tmp_path / "cache")
    assert again.parsed == 1  # the owner walks page.h again; no other includer is parsed for it
    assert ("include/page.h", 3) in uses(again)


def strings(x, out):
    if type(x) is str:
        out.append(x)
    elif isinstance(x, tuple):
        for y in x:
            strings(y, out)
    return out


def test_a_cached_entry_holds_each_string_once(tmp_path):
    # libclang gives a new str for every spelling, and pickle shares by identity only: the
    # worker makes equal strings one object, so the cache stores each once (and a warm
    # run holds each once).  The facts are the same.
    tree = make_tree(tmp_path)
    cold = run(tree, tmp_path / "cache", jobs=2)
    cache = Cache(tmp_path / "cache")
    by_source = {t.source: t for t in cold.tus}
    assert len(cache.manifest.tus) == len(by_source) == 3
    for key in cache.manifest.tus:
        entry = cache.lookup(key)
        assert entry == by_source[entry.source]
        seen = strings(entry._replace(stats=None), [])
        usr = [f.usr for ff in (entry.main, *entry.headers) for f in ff.functions]
        assert len(seen) > len(set(seen)) and usr  # the same spellings come back...
        assert len({id(s) for s in seen}) == len(set(seen))  # ...as one object each
