"""parse: real libclang on small C snippets, one shape per test, with no-op cases beside them."""

from __future__ import annotations

import textwrap

import pytest

from passdown import facts as F
from passdown import parse

PAGE_H = """\
struct address_space { void *host; };
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
struct folio { struct address_space *mapping; };
struct other { struct address_space *mapping; };
#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, val) do { *(volatile __typeof__(x) *)&(x) = (val); } while (0)
#define page_host(p) ((p)->mapping->host)
#define NULL ((void *)0)
"""

FIELDS = (F.FieldSpec("page", "mapping"),)


def run(tmp_path, body: str, fields=FIELDS) -> F.TUFacts:
    (tmp_path / "page.h").write_text(PAGE_H)
    src = tmp_path / "t.c"
    src.write_text('#include "page.h"\n' + textwrap.dedent(body))
    facts = parse.parse_tu(str(src), (f"-I{tmp_path}",), str(tmp_path), fields)
    assert facts.error is None and not facts.failed, facts.diagnostics
    return facts


def uses(tmp_path, body: str) -> list[tuple[int, str, bool, str | None]]:
    """(line in the snippet, access, compare, macro) for every use."""
    f = run(tmp_path, body)
    return [(u.line - 1, u.access, u.compare, u.macro) for u in f.main.uses]


@pytest.mark.parametrize(
    "body, expected",
    [
        ("void *f(struct page *page) { return page->mapping->host; }", [(1, "read", False, None)]),
        ("void f(struct page *page) { page->mapping = NULL; }", [(1, "write", False, None)]),
        ("int f(struct page *p, struct address_space *m) { return p->mapping != m; }", [(1, "read", True, None)]),
        ("int f(struct page *p) { return !p->mapping; }", [(1, "read", True, None)]),
        ("int f(struct page *p) { if (p->mapping) return 1; return 0; }", [(1, "read", True, None)]),
        ("void *f(struct page *p) { return &p->mapping; }", [(1, "address", False, None)]),
        ("void *f(struct page *p) { return READ_ONCE(p->mapping); }", [(1, "read", False, None)]),
        ("void f(struct page *p) { WRITE_ONCE(p->mapping, NULL); }", [(1, "write", False, None)]),
        ("void *f(struct page *p) { return page_host(p); }", [(1, "read", False, "page_host")]),
        ("void *f(struct page *p) { return p[0].mapping; }", [(1, "read", False, None)]),
        ("unsigned long f(void) { return __builtin_offsetof(struct page, mapping); }", [(1, "address", False, None)]),
        # no-ops: decoys that share the member name
        ("void *f(struct folio *folio) { return folio->mapping; }", []),
        ("void *f(struct other *page) { return page->mapping; }", []),
        ("const char *f(void) { return \"page->mapping\"; } /* page->mapping */", []),
    ],
)
def test_field_access_classification(tmp_path, body, expected):
    assert uses(tmp_path, body) == expected


def test_use_records_enclosing_function_and_object(tmp_path):
    f = run(tmp_path, """\
        struct buffer_head { struct page *b_page; };
        void *bh_host(struct buffer_head *bh) { return bh->b_page->mapping->host; }
    """)
    (use,) = f.main.uses
    fn = next(fn for fn in f.main.functions if fn.name == "bh_host")
    assert use.function == fn.usr
    assert use.base == "bh->b_page"
    src = open(f.source, "rb").read()
    assert src[use.expr_start:use.expr_end] == b"bh->b_page->mapping"
    assert src[use.offset:use.offset + 7] == b"mapping"


def test_header_inline_is_walked_once_and_reported_in_the_header(tmp_path):
    (tmp_path / "inl.h").write_text('#include "page.h"\nstatic inline void *pm(struct page *page) { return page->mapping; }\n')
    src = tmp_path / "t.c"
    src.write_text('#include "inl.h"\nvoid *g(struct page *p) { return pm(p); }\n')
    (tmp_path / "page.h").write_text(PAGE_H)
    first = parse.parse_tu(str(src), (f"-I{tmp_path}",), str(tmp_path), FIELDS)
    hdr = next(h for h in first.headers if h.path.endswith("inl.h"))
    assert [u.line for u in hdr.uses] == [2]
    assert first.main.uses == ()
    again = parse.parse_tu(str(src), (f"-I{tmp_path}",), str(tmp_path), FIELDS, frozenset({hdr.path}))
    assert all(not h.path.endswith("inl.h") for h in again.headers)


def test_static_functions_with_the_same_name_get_distinct_keys(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    keys = []
    for d in ("a", "b"):
        src = tmp_path / d / "x.c"
        src.write_text("static int helper(void) { return 1; }\nint use_" + d + "(void) { return helper(); }\n")
        f = parse.parse_tu(str(src), (), str(tmp_path), FIELDS)
        (call,) = f.main.calls
        helper = next(fn for fn in f.main.functions if fn.name == "helper")
        assert call.target == helper.usr
        keys.append(helper.usr)
    assert keys[0] != keys[1]


def test_calls_through_members_params_and_local_copies(tmp_path):
    f = run(tmp_path, """\
        struct aops { int (*writepage)(struct page *); };
        typedef int (*writepage_t)(struct page *, void *);
        typedef int filler_t(void *, struct page *);
        int through(const struct aops *ops, struct page *page, writepage_t cb, filler_t *filler)
        {
        	int (*fn)(struct page *) = ops->writepage;
        	return ops->writepage(page) + cb(page, NULL) + filler(NULL, page) + fn(page);
        }
    """)
    calls = {(c.kind, c.target, c.callback) for c in f.main.calls}
    assert calls == {
        ("member", "aops.writepage", None),
        ("param", "2", "writepage_t"),
        ("param", "3", "filler_t"),
        ("local", "fn", ""),
    }
    member_call = next(c for c in f.main.calls if c.kind == "member")
    assert member_call.base == "ops"
    assert [a.is_null for a in next(c for c in f.main.calls if c.target == "2").args] == [False, True]
    fn = next(fn for fn in f.main.functions if fn.name == "through")
    assert [(l.name, l.init.kind, l.init.ref) for l in fn.locals] == [("fn", "member", "aops.writepage")]


def test_a_parameter_declared_with_a_function_typedef_is_a_callback(tmp_path):
    """`filler_t filler` (no `*`): C makes it a pointer; calls through it are
    calls of the callback type, as with `filler_t *filler`."""
    f = run(tmp_path, """\
        typedef int filler_t(void *, struct page *);
        int read_one(filler_t filler, struct page *page)
        {
        	return filler(NULL, page);
        }
        int not_a_callback(int n)
        {
        	return n;
        }
    """)
    assert {(c.kind, c.target, c.callback) for c in f.main.calls} == {("param", "0", "filler_t")}
    params = {fn.name: [p.callback for p in fn.params] for fn in f.main.functions}
    assert params == {"read_one": ["filler_t", None], "not_a_callback": [None]}


def test_ops_initializers_and_function_references(tmp_path):
    f = run(tmp_path, """\
        struct aops { int (*writepage)(struct page *); int (*launder)(struct page *); };
        typedef int (*writepage_t)(struct page *, void *);
        int wp(struct page *p) { return 0; }
        int la(struct page *p) { return 1; }
        int cb(struct page *p, void *d) { return 2; }
        int walk(writepage_t fn, struct page *p) { return fn(p, NULL); }
        const struct aops designated = { .writepage = wp, .launder = la };
        const struct aops positional = { wp, la };
        int (*stored)(struct page *) = wp;
        int user(struct page *p, struct aops *ops) { ops->launder = la; return walk(cb, p); }
    """)
    ops = sorted((o.var, o.member, o.function.rsplit("@", 1)[-1], o.kind) for o in f.main.ops)
    assert ops == sorted([
        ("designated", "launder", "la", "init"),
        ("designated", "writepage", "wp", "init"),
        ("positional", "launder", "la", "init"),
        ("positional", "writepage", "wp", "init"),
        (next(fn.usr for fn in f.main.functions if fn.name == "user"), "launder", "la", "assign"),
    ])
    refs = sorted((r.context, r.function.rsplit("@", 1)[-1], r.callback or "", r.holder or "") for r in f.main.refs)
    assert ("arg", "cb", "writepage_t", next(fn.usr for fn in f.main.functions if fn.name == "user")) in refs
    assert ("address", "wp", "", "var:stored") in refs
    # a run-time store into a member lets the address escape; a callback argument does not
    assert ("address", "la", "", next(fn.usr for fn in f.main.functions if fn.name == "user")) in refs
    assert not any(r[0] == "address" and r[1] == "cb" for r in refs)


def test_locals_assigned_after_use_are_recorded_in_order(tmp_path):
    f = run(tmp_path, """\
        struct file { struct address_space *f_mapping; };
        void *f(struct page *page, struct file *file)
        {
        	struct address_space *mapping;
        	void *host = page->mapping->host;
        	mapping = file->f_mapping;
        	return mapping ? host : NULL;
        }
    """)
    fn = next(fn for fn in f.main.functions if fn.name == "f")
    (use,) = f.main.uses
    (assign,) = fn.assigns
    assert assign.target == "mapping" and assign.rhs.text == "file->f_mapping"
    assert assign.offset > use.offset


def test_skipped_ranges_list_textual_uses(tmp_path):
    f = run(tmp_path, """\
        void f(struct page *page)
        {
        #ifdef CONFIG_NEVER_SET
        	page->mapping = NULL;
        #else
        	page->mapping = (void *)0;
        #endif
        }
    """)
    assert [(s.line - 1, s.member) for s in f.main.skipped] == [(4, "mapping")]
    assert [u.line - 1 for u in f.main.uses] == [6]


def test_no_skipped_range_work_without_conditional_uses(tmp_path):
    f = run(tmp_path, "void *f(struct page *page) { return page->mapping; }\n")
    assert not f.main.has_skipped_ranges and f.main.skipped == ()


def test_a_broken_file_is_reported_not_fatal(tmp_path):
    src = tmp_path / "bad.c"
    src.write_text("int f(struct page *page) { return page->mapping }\n")
    f = parse.parse_tu(str(src), (), str(tmp_path), FIELDS)
    assert f.failed and any(d.severity == "error" for d in f.diagnostics)


def test_focus_walks_only_the_functions_whose_text_matches(tmp_path):
    (tmp_path / "page.h").write_text(PAGE_H)
    src = tmp_path / "t.c"
    src.write_text('#include "page.h"\n' + textwrap.dedent("""\
        static void *a(struct page *p) { return p->mapping; }
        static void *b(struct page *p) { return page_host(p); }
        static int c(int x) { return x + 1; }
        static void *d(struct page *p) { return READ_ONCE(p->mapping); }
        """))
    full = parse.parse_tu(str(src), (f"-I{tmp_path}",), str(tmp_path), FIELDS)
    focused = parse.parse_tu(str(src), (f"-I{tmp_path}",), str(tmp_path), FIELDS, focus=rb"\b(?:mapping|page_host)\b")
    assert [u.line for u in focused.main.uses] == [u.line for u in full.main.uses] == [2, 3, 5]
    assert [fn.name for fn in focused.main.functions] == ["a", "b", "d"]
    assert focused.stats["unfocused"] == 1


def test_a_member_access_the_preprocessor_drops_is_listed_as_skipped(tmp_path):
    f = run(tmp_path, """\
        #define DROP(a, b) (b)
        #define LOCAL(p) (p)->mapping
        int f(struct page *p, struct folio *fo) {
        	void *x = fo->mapping;  /* p->mapping in a comment */
        	x = page_host(p);
        	return DROP(p->mapping, 1) + !x + (LOCAL(p) != 0);
        }
        char *s = "p->mapping";
        """)
    assert [(u.line - 1, u.macro) for u in f.main.uses] == [(5, "page_host"), (6, "LOCAL")]
    assert [(s.line - 1, s.text) for s in f.main.skipped] == [(6, "return DROP(p->mapping, 1) + !x + (LOCAL(p) != 0);")]
