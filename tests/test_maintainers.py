"""passdown.maintainers on the corpus MAINTAINERS and on small inline files.

The expectations are get_maintainer.pl's (Linux 6.1), cross-checked by running
it with --notree --mpath on these files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from passdown.maintainers import THE_REST, Maintainers, Section, format_email

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "kern"


@pytest.fixture(scope="module")
def corpus() -> Maintainers:
    m = Maintainers.load(CORPUS)
    assert m is not None
    return m


def names(sections: list[Section]) -> list[str]:
    return [s.name for s in sections]


def by_name(m: Maintainers, name: str) -> Section:
    (section,) = [s for s in m.sections if s.name == name]
    return section


def tiny(tmp_path: Path, body: str, dirs: tuple[str, ...] = (), files: dict[str, str] | None = None) -> Maintainers:
    """A tree holding `body` as its MAINTAINERS (after a header), the directories and files given."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "MAINTAINERS").write_text("Header text\n\tM: not an entry <no@example.org>\n\n" + body)
    for d in dirs:
        (tmp_path / d).mkdir(parents=True, exist_ok=True)
    for rel, text in (files or {}).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    m = Maintainers.load(tmp_path)
    assert m is not None
    return m


# -- parsing ---------------------------------------------------------------------------------------

def test_corpus_sections_in_file_order_header_skipped(corpus):
    assert names(corpus.sections) == [
        "BLOCK DEVICE DRIVERS", "BLOCK LAYER", "EXT2 FILE SYSTEM", "FILESYSTEMS (VFS and infrastructure)",
        "KERNEL CORPUS HARNESS", "LOOPBACK DEVICE", "MEMORY MANAGEMENT",
        "MEMORY MANAGEMENT - RMAP (REVERSE MAPPING)", "NFS, SUNRPC, AND LOCKD CLIENTS", "PAGE CACHE", "SWAP",
        "WRITEBACK", THE_REST]


def test_corpus_section_fields(corpus):
    assert by_name(corpus, "NFS, SUNRPC, AND LOCKD CLIENTS") == Section(
        name="NFS, SUNRPC, AND LOCKD CLIENTS", status="Maintained",
        maintainers=("Tom Netfile <tom@example.net>", "Ines Netfile <ines@example.net>"), reviewers=(),
        lists=("linux-nfs@lists.example.org",), trees=("git git://git.example.org/linux-nfs.git",),
        files=("fs/nfs/",), excludes=(), regexes=(), keywords=(), web=("http://client.linux-nfs.example.org",),
        lists_raw=("linux-nfs@lists.example.org",))
    fs = by_name(corpus, "FILESYSTEMS (VFS and infrastructure)")
    assert fs.reviewers == ("Jane Doe <jane@example.org>",)
    assert fs.files == ("fs/*", "include/linux/buffer_head.h", "include/linux/fs.h")
    block = by_name(corpus, "BLOCK DEVICE DRIVERS")
    assert (block.files, block.excludes) == (("drivers/block/",), ("drivers/block/loop*",))
    assert by_name(corpus, "PAGE CACHE").keywords == (r"\bpage->mapping\b",)
    swap = by_name(corpus, "SWAP")
    assert (swap.maintainers, swap.status) == ((), "Orphan")


def test_no_maintainers_file_gives_none(tmp_path):
    assert Maintainers.load(tmp_path) is None
    (tmp_path / "MAINTAINERS").mkdir()  # not a file either
    assert Maintainers.load(tmp_path) is None


def test_tabs_spaces_no_space_comments_and_header(tmp_path):
    m = tiny(tmp_path, "# a comment line\nFOO\nM:    Foo Bar <foo@example.org>\nS:Maintained\n"
                       "F:\tfoo/\n  # indented comment\nL: foo@lists.example.org\n")
    (foo,) = m.sections
    assert (foo.name, foo.maintainers, foo.status, foo.files, foo.lists) == (
        "FOO", ("Foo Bar <foo@example.org>",), "Maintained", ("foo/",), ("foo@lists.example.org",))


def test_odd_line_inside_a_section_starts_another(tmp_path):
    # get_maintainer.pl names a run of type lines after the line just before it.
    m = tiny(tmp_path, "FOO\nM:\tA <a@example.org>\nF:\tfoo/\nsee also bar\nF:\tbar/\n\nBAZ\nF:\tbaz/\n")
    assert names(m.sections) == ["FOO", "see also bar", "BAZ"]
    assert names(m.sections_for("bar/x.c")) == ["see also bar"]
    assert names(m.sections_for("foo/x.c")) == ["FOO"]


@pytest.mark.parametrize(("raw", "normalised"), [
    ("Odd fixes", "Odd Fixes"), ("Odd Fixes", "Odd Fixes"), ("maintained", "Maintained"),
    ("Buried alive in reporters", "Buried alive in reporters")])
def test_status_normalised_keeps_raw(tmp_path, raw, normalised):
    (s,) = tiny(tmp_path, f"FOO\nS:\t{raw}\nF:\tfoo/\n").sections
    assert (s.status, s.status_normalised) == (raw, normalised)


def test_list_notes_dropped_raw_kept(tmp_path):
    (s,) = tiny(tmp_path, "FOO\nL:\ta@lists.example.org (moderated for non-subscribers)\n"
                          "L:\tb@lists.example.org\nL:\tFoo Team <c@example.org>\nF:\tfoo/\n").sections
    assert s.lists == ("a@lists.example.org", "b@lists.example.org", "c@example.org")
    assert s.lists_raw[0] == "a@lists.example.org (moderated for non-subscribers)"


# -- matching: the corpus ---------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "expected"), [
    # X: drivers/block/loop* takes loop.c away from BLOCK DEVICE DRIVERS (depth 3 "drivers/block/loop*" wins anyway)
    ("drivers/block/loop.c", [("LOOPBACK DEVICE", 3), (THE_REST, -1)]),
    ("drivers/block/brd.c", [("BLOCK DEVICE DRIVERS", 2), (THE_REST, -1)]),
    # fs/* only covers files directly in fs/
    ("fs/buffer.c", [("FILESYSTEMS (VFS and infrastructure)", 2), (THE_REST, -1)]),
    ("fs/ext2/inode.c", [("EXT2 FILE SYSTEM", 2), (THE_REST, -1)]),
    # equal depth: MAINTAINERS order
    ("fs/fs-writeback.c", [("FILESYSTEMS (VFS and infrastructure)", 2), ("WRITEBACK", 2), (THE_REST, -1)]),
    ("mm/page-writeback.c", [("PAGE CACHE", 2), ("WRITEBACK", 2), ("MEMORY MANAGEMENT", 1), (THE_REST, -1)]),
    ("mm/rmap.c", [("MEMORY MANAGEMENT - RMAP (REVERSE MAPPING)", 2), ("MEMORY MANAGEMENT", 1), (THE_REST, -1)]),
    # X: mm/swap_state.c drops MEMORY MANAGEMENT entirely
    ("mm/swap_state.c", [("SWAP", 2), (THE_REST, -1)]),
    ("mm/util.c", [("MEMORY MANAGEMENT", 1), (THE_REST, -1)]),
    ("include/linux/mm.h", [("MEMORY MANAGEMENT", 3), (THE_REST, -1)]),
    ("Makefile", [("KERNEL CORPUS HARNESS", 1), (THE_REST, -1)]),
    ("README", [(THE_REST, -1)]),
    ("lib/sort.c", [(THE_REST, -1)]),
])
def test_corpus_ranked(corpus, path, expected):
    assert [(s.name, r) for s, r in corpus.ranked(path)] == expected


def test_keywords_match_file_contents_after_path_matches(corpus):
    # K: \bpage->mapping\b: loop.c uses page->mapping, loop.h does not
    assert names(corpus.sections_for("drivers/block/loop.c")) == ["LOOPBACK DEVICE", THE_REST, "PAGE CACHE"]
    assert names(corpus.sections_for("drivers/block/loop.h")) == ["LOOPBACK DEVICE", THE_REST]
    assert names(corpus.sections_for("drivers/block/loop.c", keywords=False)) == ["LOOPBACK DEVICE", THE_REST]
    # already matched by path: not repeated
    assert names(corpus.sections_for("mm/filemap.c")) == ["PAGE CACHE", "MEMORY MANAGEMENT", THE_REST]
    # a file not in the tree has no contents to match
    assert names(corpus.sections_for("drivers/block/nbd.c")) == ["BLOCK DEVICE DRIVERS", THE_REST]


@pytest.mark.parametrize(("path", "owner"), [
    ("drivers/block/loop.c", "LOOPBACK DEVICE"), ("mm/rmap.c", "MEMORY MANAGEMENT - RMAP (REVERSE MAPPING)"),
    ("mm/page-writeback.c", "PAGE CACHE"), ("mm/swap_state.c", "SWAP"), ("fs/ext2/inode.c", "EXT2 FILE SYSTEM"),
    ("./fs/nfs/file.c", "NFS, SUNRPC, AND LOCKD CLIENTS"), ("README", THE_REST)])
def test_subsystem(corpus, path, owner):
    assert corpus.subsystem(path).name == owner


def test_subsystem_ignores_keywords_and_none_without_any_match(corpus, tmp_path):
    assert corpus.subsystem("fs/buffer.c").name == "FILESYSTEMS (VFS and infrastructure)"
    assert tiny(tmp_path, "FOO\nF:\tfoo/\n").subsystem("bar/x.c") is None


def test_recipients_corpus(corpus):
    to, cc = corpus.recipients(["mm/page-writeback.c", "fs/ext2/inode.c"])
    assert to == ["Max Folio <max@example.org>", "Joe Writer <joe@example.com>", "Ana Pager <ana@example.org>",
                  "Jane Doe <jane@example.org>"]
    assert cc == ["linux-fsdevel@lists.example.org", "linux-mm@lists.example.org", "linux-ext4@lists.example.org"]


def test_recipients_reviewer_already_a_maintainer_is_only_in_to(corpus):
    to, cc = corpus.recipients(["fs/ext2/inode.c", "fs/mpage.c"], keywords=False)
    assert to == ["Jane Doe <jane@example.org>", "Alex Sample <alex@example.org>"]
    assert cc == ["linux-ext4@lists.example.org", "linux-fsdevel@lists.example.org"]
    to, cc = corpus.recipients(["fs/mpage.c"], keywords=False)
    assert (to, cc) == (["Alex Sample <alex@example.org>"],
                        ["Jane Doe <jane@example.org>", "linux-fsdevel@lists.example.org"])


def test_recipients_the_rest_list_only_as_last_resort(corpus):
    # Only THE REST owns README: its list, never its maintainer.
    assert corpus.recipients(["README"]) == ([], ["linux-kernel@lists.example.org"])
    assert corpus.recipients(["mm/util.c"], keywords=False) == (
        ["Ana Pager <ana@example.org>"], ["linux-mm@lists.example.org"])
    assert corpus.recipients(["mm/util.c", "README"], keywords=False) == (
        ["Ana Pager <ana@example.org>"], ["linux-mm@lists.example.org", "linux-kernel@lists.example.org"])


def test_recipients_keywords_from_files_or_patch(corpus):
    # SWAP has no M:; K: page->mapping in mm/swap_state.c brings in PAGE CACHE's maintainer
    assert corpus.recipients(["mm/swap_state.c"], keywords=False) == ([], ["linux-mm@lists.example.org"])
    assert corpus.recipients(["mm/swap_state.c"]) == (
        ["Max Folio <max@example.org>"], ["linux-mm@lists.example.org", "linux-fsdevel@lists.example.org"])
    diff = "--- a/mm/swap_state.c\n+++ b/mm/swap_state.c\n@@ -1,2 +1,2 @@\n"
    changed = "subject\n\n" + diff + "-\tx = page->mapping;\n+\tx = folio->mapping;\n"
    context = "subject\n\n" + diff + " \tx = page->mapping;\n-\ty = 1;\n+\ty = 2;\n"
    message = "mm: stop using page->mapping\n\n" + diff + "-\ty = 1;\n+\ty = 2;\n"
    assert corpus.recipients(["mm/swap_state.c"], patch=changed)[0] == ["Max Folio <max@example.org>"]
    assert corpus.recipients(["mm/swap_state.c"], patch=context)[0] == []
    assert corpus.recipients(["mm/swap_state.c"], patch=message)[0] == ["Max Folio <max@example.org>"]


@pytest.mark.parametrize(("line", "hit"), [("+ sifive_init();", True), ("+sifive_init();", False),
                                           ("-x = sifive;", True), (" x = sifive;", False)])
def test_patch_keywords_match_after_the_plus_or_minus(tmp_path, line, hit):
    # get_maintainer.pl matches "^[+-].*" followed by the K: regex: the "+" is not part of the text.
    m = tiny(tmp_path, "SIFIVE\nM:\tS <s@example.org>\nK:\t[^@]sifive\n")
    patch = "--- a/x.c\n+++ b/x.c\n@@ -1,1 +1,1 @@\n" + line + "\n"
    assert m.recipients(["x.c"], patch=patch)[0] == (["S <s@example.org>"] if hit else [])


def test_patch_keywords_ignore_file_names_and_hunk_headers(tmp_path):
    m = tiny(tmp_path, "SIFIVE\nM:\tS <s@example.org>\nK:\tsifive\n")
    names_only = ("diff --git a/sifive.c b/sifive.c\n--- a/sifive.c\n+++ b/sifive.c\n"
                  "@@ -1,1 +1,1 @@ int sifive_init(void)\n-a\n+b\n")
    assert m.recipients(["sifive.c"], patch=names_only, keywords=True)[0] == []
    assert m.recipients(["sifive.c"], patch=names_only + "+sifive\n")[0] == ["S <s@example.org>"]


# -- matching: pattern forms, side by side ---------------------------------------------------------

PATTERNS = """\
DIR SLASH
F:\tlib/

DIR STAR
F:\tfs/*

WILDCARD
F:\tdrivers/*/foo?.c

WILDCARD DIR
F:\tsound/*/

EXACT FILE
F:\tinclude/linux/mm.h
"""


@pytest.mark.parametrize(("path", "section"), [
    ("lib/sort.c", "DIR SLASH"), ("lib/zstd/common.c", "DIR SLASH"), ("libfoo.c", None),
    ("fs/buffer.c", "DIR STAR"), ("fs/ext2/inode.c", None), ("fs", None),
    ("drivers/net/foo1.c", "WILDCARD"), ("drivers/net/foo1.cc", "WILDCARD"),  # get_maintainer.pl: no end anchor
    ("drivers/net/foo12.c", None),
    ("drivers/net/bar1.c", None), ("drivers/net/x/foo1.c", None),  # "*" crosses no "/" for a file pattern
    ("sound/soc/codecs/x.c", "WILDCARD DIR"), ("sound/core.c", None),
    ("include/linux/mm.h", "EXACT FILE"), ("include/linux/mm.h.orig", "EXACT FILE"),  # prefix, same depth
    ("include/linux/mm_types.h", None), ("include/linux/mm.h/x", None),
])
def test_pattern_forms(tmp_path, path, section):
    got = tiny(tmp_path, PATTERNS).subsystem(path)
    assert (got.name if got else None) == section


@pytest.mark.parametrize(("exists", "inside", "beside"), [(True, ["FOO"], []), (False, [], ["FOO"])])
def test_directory_without_slash_only_when_it_exists(tmp_path, exists, inside, beside):
    m = tiny(tmp_path, "FOO\nF:\tdrivers/foo\n", dirs=("drivers/foo",) if exists else ())
    assert names(m.sections_for("drivers/foo/core.c")) == inside
    # not a directory: a file pattern, matched as a prefix at its own depth
    assert names(m.sections_for("drivers/foo.c")) == beside
    assert m.ranked("drivers/foo/core.c" if exists else "drivers/foo.c")[0][1] == 2


def test_exclude_checked_before_files(tmp_path):
    m = tiny(tmp_path, "NET\nF:\tnet/\nF:\tnet/core/dev.c\nX:\tnet/core/\n\nCORE\nF:\tnet/core/dev.c\n")
    assert names(m.sections_for("net/core/dev.c")) == ["CORE"]
    assert names(m.sections_for("net/ipv4/tcp.c")) == ["NET"]
    assert names(m.sections_for("net/core.c")) == ["NET"]


def test_regex_names_match_anywhere_with_rank_zero(tmp_path):
    m = tiny(tmp_path, "ARM\nF:\tarch/arm/\n\nSUNXI\nN:\tsun[x456789]i\n\nREST\nF:\t*\nF:\t*/\n")
    assert [(s.name, r) for s, r in m.ranked("arch/arm/mach-sunxi/platsmp.c")] == [
        ("ARM", 2), ("SUNXI", 0), ("REST", -1)]
    assert [(s.name, r) for s, r in m.ranked("arch/arm/mach-sun3i/x.c")] == [("ARM", 2), ("REST", -1)]
    assert names(m.sections_for("drivers/clk/sunxi-ng/ccu.c")) == ["SUNXI", "REST"]


def test_rank_is_the_last_matching_line(tmp_path):
    # get_maintainer.pl overwrites a section's rank with each matching F:/N: line in turn.
    m = tiny(tmp_path, "A\nF:\tfs/ext2/inode.c\nF:\tfs/\n\nB\nF:\tfs/ext2/\n\nC\nF:\tfs/\nF:\tfs/ext2/inode.c\n"
                       "\nD\nF:\tfs/ext2/inode.c\nN:\text2\n")
    assert [(s.name, r) for s, r in m.ranked("fs/ext2/inode.c")] == [("C", 3), ("B", 2), ("A", 1), ("D", 0)]
    assert [(s.name, r) for s, r in m.ranked("fs/ext2/dir.c")] == [("B", 2), ("A", 1), ("C", 1), ("D", 0)]


def test_keyword_sections_in_string_order_of_their_line_numbers(tmp_path):
    # get_maintainer.pl sorts the matched K: lines' @typevalue indexes as strings: "12" before "4".
    # (indexes: 2 header lines, then every non-blank line)
    m = tiny(tmp_path, "A\nK:\tfoo\n\n" + "".join(f"P{i}\nF:\tp{i}/\n" for i in range(3)) + "B\nK:\tbar\n",
             files={"x.c": "foo bar", "y.c": "foo"})
    assert names(m.sections_for("x.c")) == ["B", "A"]
    assert names(m.sections_for("y.c")) == ["A"]


def test_the_rest_ranks_last_even_before_it_in_the_file(tmp_path):
    m = tiny(tmp_path, "THE REST\nF:\t*\nF:\t*/\n\nZ\nF:\tMakefile\n")
    assert names(m.sections_for("Makefile")) == ["Z", THE_REST]
    assert names(m.sections_for("a/b/c.c")) == [THE_REST]


# -- recipients: get_maintainer.pl's address handling ----------------------------------------------

def test_recipients_dedup_by_name_or_address_case_blind(tmp_path):
    # bob@ reviews A but maintains B: To only, under his M: name.
    m = tiny(tmp_path, "A\nM:\tJane Doe <jane@example.org>\nR:\tBob Roe <BOB@example.org>\nF:\ta/\n\n"
                       "B\nM:\tjane doe <jane@elsewhere.org>\nM:\tRobert <bob@example.org>\nM:\tKim <kim@example.org>\n"
                       "L:\tA@lists.example.org\nL:\ta@lists.example.org (moderated for non-subscribers)\nF:\ta/\n")
    assert m.recipients(["a/x.c"]) == (
        ["Jane Doe <jane@example.org>", "Robert <bob@example.org>", "Kim <kim@example.org>"],
        ["A@lists.example.org"])


def test_recipients_skip_subscribers_only_lists(tmp_path):
    m = tiny(tmp_path, "A\nM:\tKim <kim@example.org>\nL:\tclosed@example.org (subscribers-only)\n"
                       "L:\topen@example.org\nF:\ta/\n")
    assert m.recipients(["a/x.c"]) == (["Kim <kim@example.org>"], ["open@example.org"])


def test_recipients_through_mailmap(tmp_path):
    m = tiny(tmp_path, "A\nM:\tJason Old <jgg@old.example.com>\nM:\tLeon <leonro@old.example.com>\nF:\ta/\n",
             files={".mailmap": "# comment\nJason Gunthorpe <jgg@new.example.com> <jgg@old.example.com>\n"
                                "<leon@new.example.com> <leonro@old.example.com>\n"})
    assert m.recipients(["a/x.c"])[0] == ["Jason Gunthorpe <jgg@new.example.com>", "Leon <leon@new.example.com>"]
    # an address mailmapped onto one already listed is listed once; so is a name mailmapped onto one
    m = tiny(tmp_path / "merge", "A\nM:\tJason <jgg@old.example.com>\nR:\tJason G <jgg@new.example.com>\n"
                                 "R:\tJ. Doe <jane@b.example.org>\nM:\tJane Doe <jane@a.example.org>\n"
                                 "M:\tKim Roe <kim@a.example.org>\nM:\tKim Roe <kim@b.example.org>\nF:\ta/\n",
             files={".mailmap": "Jason Gunthorpe <jgg@new.example.com> <jgg@old.example.com>\n"
                                "Jane Doe <jane@b.example.org>\nKimberly Roe <kim@b.example.org>\n"})
    assert m.recipients(["a/x.c"]) == (
        ["Jason Gunthorpe <jgg@new.example.com>", "Jane Doe <jane@a.example.org>", "Kim Roe <kim@a.example.org>"], [])
    assert tiny(tmp_path / "bare", "A\nM:\tJason Old <jgg@old.example.com>\nF:\ta/\n").recipients(["a/x.c"])[0] == [
        "Jason Old <jgg@old.example.com>"]


@pytest.mark.parametrize(("name", "address", "formatted"), [
    ("Jane Doe", "jane@example.org", "Jane Doe <jane@example.org>"),
    ("Darrick J. Wong", "djwong@example.org", '"Darrick J. Wong" <djwong@example.org>'),
    ('"Lee, Chun-Yi"', "jlee@example.com", '"Lee, Chun-Yi" <jlee@example.com>'),
    ("Uwe Kleine-König", "u@example.org", '"Uwe Kleine-König" <u@example.org>'),
    ("", "list@example.org", "list@example.org")])
def test_format_email_quotes_like_get_maintainer(name, address, formatted):
    assert format_email(name, address) == formatted


def test_reviewer_trailing_note_dropped(tmp_path):
    m = tiny(tmp_path, "A\nR:\tPaulo A <pc@example.org> (DFS, global name space)\nF:\ta/\n")
    assert m.recipients(["a/x.c"]) == ([], ["Paulo A <pc@example.org>"])
