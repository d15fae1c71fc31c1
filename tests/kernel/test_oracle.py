"""The gcc oracle itself, on a tiny kernel-shaped tree (needs gcc, not a kernel)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .oracle import make_overlay, run_oracle

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")

MM_TYPES = """\
#ifndef _LINUX_MM_TYPES_H
#define _LINUX_MM_TYPES_H
struct address_space { int host; };
struct page {
	unsigned long flags;
	union {
		struct {
			void *lru;
			struct address_space *mapping;
			unsigned long index;
		};
		struct { unsigned long pp_magic; };
	};
};
struct folio { unsigned long flags; struct address_space *mapping; };
#define FOLIO_MATCH(pg, fl) _Static_assert(__builtin_offsetof(struct page, pg) == __builtin_offsetof(struct folio, fl), "")
FOLIO_MATCH(mapping, mapping);
static inline struct address_space *hdr_mapping(struct page *p) { return p->mapping; }
#define page_host(p) ((p)->mapping->host)
#endif
"""

# Every line that must come out is marked USE; everything else must not.
SOURCE = """\
#include <linux/mm_types.h>
#include "local.h"
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - __builtin_offsetof(type, member)))
#define WRAP(x) (x)
#define LOCAL_GET(p) ((p)->mapping)
struct other { struct address_space *mapping; };

int f(struct page *page, struct folio *folio, struct other *o, struct address_space **slot)
{
	struct address_space *m = page->mapping;                /* USE */
	int h = page_host(page);                                 /* USE */
	struct page *q = container_of(slot,
				      struct page, mapping);       /* USE */
	m = WRAP(o->mapping);
	m = WRAP(
		 page->mapping);                                 /* USE */
	m = LOCAL_GET(q);                                        /* USE */
	m = folio->mapping;
	m = local_get(page);                                     /* USE */
	/* page->mapping in a comment */
#if 0
	m = page->mapping;
#endif
	return h + (int)__builtin_offsetof(struct page, mapping); /* USE */
}
"""
LOCAL_H = """\
static inline struct address_space *local_get(struct page *p) { return p->mapping; }  /* header */
#define local_get(p) ((p)->mapping)
"""


@pytest.fixture
def tiny(tmp_path):
    tree = tmp_path / "linux"
    (tree / "include" / "linux").mkdir(parents=True)
    (tree / "include" / "linux" / "mm_types.h").write_text(MM_TYPES)
    (tree / "fs" / "tiny").mkdir(parents=True)
    (tree / "fs" / "tiny" / "a.c").write_text(SOURCE)
    (tree / "fs" / "tiny" / "local.h").write_text(LOCAL_H)
    (tree / "fs" / "tiny" / "none.c").write_text("int none(void) { return 0; }\n")
    build = tmp_path / "build"
    build.mkdir()
    entries = [{
        "directory": str(build),
        "file": str(tree / "fs" / "tiny" / name),
        # kbuild's shape: relative output, a dependency file, -I the directory.
        "arguments": ["gcc", f"-Wp,-MMD,fs/tiny/.{name}.d", "-nostdinc", f"-I{tree}/include", "-I",
                      str(tree / "fs" / "tiny"), "-Werror", "-c", "-o", f"fs/tiny/{name[:-2]}.o",
                      str(tree / "fs" / "tiny" / name)],
        "output": f"fs/tiny/{name[:-2]}.o",
    } for name in ("a.c", "none.c")]
    (build / "compile_commands.json").write_text(json.dumps(entries))
    return tree, build


def _expected(text: str) -> set[int]:
    return {n for n, line in enumerate(text.splitlines(), 1) if "/* USE */" in line}


def test_overlay_renames_only_struct_page(tmp_path, tiny):
    tree, _ = tiny
    inc = make_overlay(tree, tmp_path / "scratch")
    text = (inc / "linux" / "mm_types.h").read_text()
    assert "struct address_space *__passdown_oracle_mapping;" in text
    assert "struct folio { unsigned long flags; struct address_space *mapping; };" in text
    assert "FOLIO_MATCH(__passdown_oracle_mapping, mapping)" in text
    assert (tree / "include" / "linux" / "mm_types.h").read_text() == MM_TYPES


def test_oracle_lines(tiny):
    tree, build = tiny
    res = run_oracle(tree, build / "compile_commands.json", ["fs/tiny/a.c", "fs/tiny/none.c"],
                     header_dirs=["fs/tiny"])
    assert not res.problems
    assert res.files["fs/tiny/none.c"].no_mm_types
    got = {line for f, line in res.uses if f == "fs/tiny/a.c"}
    assert got == _expected(SOURCE)
    # The header of the scope directory counts; include/linux does not.
    assert {u for u in res.uses if u[0] != "fs/tiny/a.c"} == {("fs/tiny/local.h", 1)}
    # Nothing written next to the objects.
    assert sorted(p.name for p in build.iterdir()) == ["compile_commands.json"]


def test_oracle_without_header_dirs_ignores_headers(tiny):
    tree, build = tiny
    res = run_oracle(tree, build / "compile_commands.json", ["fs/tiny/a.c"])
    assert {f for f, _ in res.uses} == {"fs/tiny/a.c"}
    assert res.errors > len(res.uses)  # header errors are counted, not listed


def test_missing_entry_is_a_problem(tiny):
    tree, build = tiny
    res = run_oracle(tree, build / "compile_commands.json", ["fs/tiny/nope.c"])
    assert "no entry" in res.problems["fs/tiny/nope.c"]
