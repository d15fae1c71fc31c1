"""The write-protect run-time harness: what every read of page->mapping observes, before and after the series.

The corpus as it is (base) and the final state of the series (the plan applied through
edits.compute/edits.apply plus the helper header, as in test_edits.py) are both built with
`make wp` (harness/wp.c, corpus/kern/expected/README.md) and run twice:

- plain: pages keep their mapping. The harness output must be the same before and after.
- protect: every page that gets a file mapping gets PG_write_protected and a decoy mapping in
  its place. At base every read that runs on such a page sees the decoy; after the series every
  read the plan converts sees the mapping of its context (the one the page was added to), and
  every read the plan leaves (`remaining`) still sees the decoy.

What a read saw comes from the C run: the harness logs each load of a page's mapping word with
its address and each return of fs_page_mapping() with the value returned; addr2line turns the
addresses into file:line, and the final tree's lines are mapped back to the corpus's through the
edits. Which reads are converted and which remain comes from the plan computed here (checked
against expected/plan.json).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import CORPUS
from passdown import edits, helpers, index, rules
from passdown import plan as plan_mod
from passdown.workspace import Workspace

TOOLS = ("make", "gcc", "nm", "addr2line")
pytestmark = pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64") or not all(map(shutil.which, TOOLS)),
                                reason="the write-protect harness needs x86-64 (frame pointers, its return "
                                       "trampoline) and make, gcc, nm, addr2line")

PAGE_ARRAYS = ("page_pool", "loose")  # every struct page of the corpus: mm/util.c's pool, the harness's loose[2]

# Reads (and accessor calls the plan lists) that no run observes, and why. Checked both ways: these
# are never observed, and every other one is.
NEVER_OBSERVED = {
    # I/O error paths: submit_bh() always completes a buffer with uptodate = 1.
    ("fs/buffer.c", 52): "end_buffer_async_write(): only when a write fails",
    ("fs/buffer.c", 71): "end_buffer_async_read(): only when a read fails",
    # The harness reads loose[0].mapping at a constant address in a static array: the compiler does
    # not check such an access, so harness/wp.c never sees the load.
    ("harness/main.c", 196): "constant-address load, not checked by the compiler",
    # page_mapping(&loose[0]) returns NULL for an anonymous page before it reads the word.
    ("harness/main.c", 199): "page_mapping() of an anonymous page does not read the word",
}
# Observed, but never on a write-protected page: only anonymous pages get there, and an anonymous
# page's word is an anon_vma, with no file mapping to protect or to replace by a decoy.
NEVER_PROTECTED = {
    ("mm/rmap.c", 13): "page_anon_vma() runs only on the anonymous page loose[0]",
}


# -- the two trees -----------------------------------------------------------------------------


def final_to_base_lines(data: bytes, es: list[edits.Edit]) -> list[int]:
    """For each line of the edited file (index = final line - 1), the corpus line it comes from:
    kept bytes map to themselves, inserted text to the offset it was inserted at."""
    out, origin, pos = bytearray(), [], 0
    for e in sorted(es, key=lambda e: (e.start, e.end)):
        out += data[pos:e.start]
        origin += range(pos, e.start)
        text = e.text.encode()
        out += text
        origin += [e.start] * len(text)
        pos = e.end
    out += data[pos:]
    origin += range(pos, len(data))
    assert bytes(out) == edits.apply(data, es)
    base_line = [0] * (len(data) + 1)
    n = 1
    for i, c in enumerate(data):
        base_line[i] = n
        n += c == 0x0A
    base_line[len(data)] = n
    lines, start = [], 0
    for i in range(len(out) + 1):
        if i == len(out) or out[i] == 0x0A:
            code = [j for j in range(start, i) if out[j] not in b" \t"]
            lines.append(base_line[origin[code[0]]] if code else 0)
            start = i + 1
    return lines


@dataclass
class Tree:
    root: Path
    line_maps: dict[str, list[int]] = field(default_factory=dict)  # rel file -> final line - 1 -> base line

    def base_line(self, rel: str, line: int) -> int:
        m = self.line_maps.get(rel)
        return m[line - 1] if m and 0 < line <= len(m) else line


@dataclass
class Series:
    base: Tree
    final: Tree
    rule: rules.Rule
    plan: dict
    converted: set[tuple[str, int]]  # conversions the edits carry out (a read replaced by the helper call)
    skipped: list[str]


@pytest.fixture(scope="module")
def series(tmp_path_factory) -> Series:
    top = tmp_path_factory.mktemp("wp")
    base = top / "base" / "kern"
    final = top / "final" / "kern"
    for t in (base, final):
        shutil.copytree(CORPUS, t, ignore=shutil.ignore_patterns("build"))
    rule, _ = rules.load()
    ws = Workspace.open(final, None, top / "cache")
    idx = index.run(ws.tree, ws.commands(), (rule.spec,), ws.open_cache(), jobs=2)
    plan = plan_mod.make_plan(idx, rule, ws.scope(["."]), ws.config())
    es = edits.compute(idx, plan, rule)
    tree = Tree(final)
    for path in es.files():
        data = Path(path).read_bytes()
        Path(path).write_bytes(edits.apply(data, es.edits[path]))
        tree.line_maps[os.path.relpath(path, final)] = final_to_base_lines(data, es.edits[path])
    (final / rule.helper.header).write_text(helpers.render_header(rule, final))
    # A conversion is carried out when its line now calls the helper.
    calls = set()
    for rel, m in tree.line_maps.items():
        for n, text in enumerate((final / rel).read_text().splitlines()):
            if re.search(rf"\b{rule.helper.name}(_or)?\(", text):
                calls.add((rel, m[n]))
    conversions = {(c.file, c.line) for c in plan.conversions}
    assert calls <= conversions  # and the line map puts every helper call on a conversion's line
    return Series(Tree(base), tree, rule, json.loads(plan_mod.to_json(plan)), calls, list(es.skipped))


# -- building and running ----------------------------------------------------------------------


@dataclass
class Run:
    mode: str
    stdout: str
    returncode: int
    log: list[list[str]]
    reads: dict = field(default_factory=lambda: defaultdict(Counter))  # (file, base line) -> Counter[(prot, class)]
    helper_reads: dict = field(default_factory=lambda: defaultdict(Counter))  # the same, from fs_page_mapping()
    calls: dict = field(default_factory=lambda: defaultdict(Counter))  # accessor call sites
    accessor_sites: dict = field(default_factory=lambda: defaultdict(set))  # accessor read -> its call sites
    oopses: list = field(default_factory=list)  # (file, base line, function) of faults the harness recovered from
    askers: set = field(default_factory=set)  # functions that asked PageWriteProtected()


def symbols(binary: Path) -> list[tuple[int, int, str]]:
    out = subprocess.run(["nm", "-S", "-n", str(binary)], capture_output=True, text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        f = line.split()
        if len(f) == 4:
            syms.append((int(f[0], 16), int(f[1], 16), f[3]))
    return syms


def symbolize_output(text: str, syms) -> str:
    """Addresses in the harness output (dump_page) as symbol+offset: the two builds lay out differently."""
    def name(m):
        a = int(m.group(0), 16)
        for start, size, sym in syms:
            if start <= a < start + size:
                return f"{sym}+{a - start:#x}"
        return m.group(0)
    return re.sub(r"0x[0-9a-f]+", name, text)


def addr2line(binary: Path, addrs) -> dict[int, tuple[str, str, int]]:
    """address (a return address: looked up at address - 1) -> (function, file, line)."""
    addrs = sorted(set(addrs))
    if not addrs:
        return {}
    out = subprocess.run(["addr2line", "-f", "-e", str(binary)] + [f"{a - 1:#x}" for a in addrs],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    res = {}
    for a, fn, loc in zip(addrs, out[0::2], out[1::2]):
        path, _, line = loc.partition(" ")[0].rpartition(":")
        res[a] = (fn, path, int(line) if line.isdigit() else 0)
    return res


def build(tree: Path) -> Path:
    res = subprocess.run(["make", "-s", "-C", str(tree), "wp"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return tree / "build" / "wp" / "kern"


def run(tree: Tree, binary: Path, mode: str, rule) -> Run:
    syms = symbols(binary)
    pages = ",".join(f"{s:x}+{n:x}" for s, n, name in syms if name in PAGE_ARRAYS)
    assert pages.count("+") == len(PAGE_ARRAYS), pages
    log = binary.parent / f"{mode}.log"
    env = dict(os.environ, KERN_WP=mode, KERN_WP_PAGES=pages, KERN_WP_LOG=str(log))
    res = subprocess.run([str(binary)], capture_output=True, text=True, env=env, timeout=120)
    records = [l.split() for l in log.read_text().splitlines()]
    assert records and records[0][:2] == ["M", mode]
    assert not [r for r in records if r[0] == "E"], records
    r = Run(mode, symbolize_output(res.stdout, syms), res.returncode, records)

    addrs = []
    for rec in records:
        if rec[0] == "L":
            addrs += [int(rec[1], 16), int(rec[2], 16)]
        elif rec[0] == "H":
            addrs += [int(rec[1], 16), int(rec[2], 16)]
        elif rec[0] == "X":
            addrs.append(int(rec[1], 16) + 1)
    where = addr2line(binary, addrs)

    def loc(a):
        fn, path, line = where[a]
        if not path.startswith(str(tree.root) + os.sep):
            return fn, path, line  # outside the tree (libc): "??"
        rel = os.path.relpath(path, tree.root)
        return fn, rel, tree.base_line(rel, line)

    helper, accessors = rule.helper.name, set(rule.accessors.functions)
    for rec in records:
        if rec[0] == "L":
            fn, rel, line = loc(int(rec[1], 16))
            obs = (int(rec[5]), rec[6])
            if fn == helper:
                continue  # the helper's own read of an unprotected page: its return (H) is the observation
            r.reads[(rel, line)][obs] += 1
            if fn in accessors:
                _, crel, cline = loc(int(rec[2], 16))
                r.calls[(crel, cline)][obs] += 1
                r.accessor_sites[(rel, line)].add((crel, cline))
        elif rec[0] == "H":
            pfn, _, _ = loc(int(rec[2], 16))
            r.askers.add(pfn)
            _, rel, line = loc(int(rec[1], 16))
            r.helper_reads[(rel, line)][(int(rec[4]), rec[5])] += 1
        elif rec[0] == "X":
            r.oopses.append(loc(int(rec[1], 16) + 1))
    return r


@dataclass
class Expect:
    reads: set  # (file, line) of every analysed read in uses.json
    conversions: set  # (file, line) the plan converts: reads and accessor calls
    remaining: set  # (file, line) of reads and accessor calls the plan leaves


@pytest.fixture(scope="module")
def expect(series, expected_uses) -> Expect:
    plan = series.plan
    expected = json.loads((CORPUS / "expected" / "plan.json").read_text())
    assert plan["conversions"] == expected["conversions"] and plan["remaining"] == expected["remaining"]
    reads = {(u["file"], u["line"]) for u in expected_uses if u["access"] == "read" and u["status"] == "analysed"}
    access_at = defaultdict(set)
    for u in expected_uses:
        access_at[(u["file"], u["line"])].add(u["access"] if u["status"] == "analysed" else "not-analysed")
    conversions = {(c["file"], c["line"]) for c in plan["conversions"]}
    remaining = set()
    for u in plan["remaining"]:
        key = (u["file"], u["line"])
        kind = u["reason"].split(":")[0]
        if kind in ("write", "address-of"):
            assert kind.split("-")[0] in {a.split("-")[0] for a in access_at[key]}, u
        elif kind == "not analysed":
            assert access_at[key] == {"not-analysed"}, u
        else:
            remaining.add(key)
    return Expect(reads, conversions, remaining)


@pytest.fixture(scope="module")
def runs(series, expect):
    out = {}
    for name, tree in (("base", series.base), ("final", series.final)):
        binary = build(tree.root)
        for mode in ("plain", "protect"):
            out[name, mode] = run(tree, binary, mode, series.rule)
    return out


def protected(counter: Counter) -> Counter:
    return Counter({cls: n for (prot, cls), n in counter.items() if prot})


def observed(r: Run, key) -> Counter:
    """What the read or accessor call at *key* observed, as (protected, class): the loads at that line,
    what fs_page_mapping() returned there, and the loads of an accessor called from there."""
    return r.reads.get(key, Counter()) + r.helper_reads.get(key, Counter()) + r.calls.get(key, Counter())


def seen(r: Run, key) -> Counter:
    """The classes *key* observed on write-protected pages."""
    return protected(observed(r, key))


def shielded_by_the_helper(runs, series) -> set:
    """Reads inside an accessor whose every call the series converted: the
    accessor now runs only as fs_page_mapping_or()'s answer for pages that are
    not write protected, so these reads never see a protected page's decoy."""
    before = runs["base", "plain"]
    return {k for k, sites in before.accessor_sites.items() if sites <= series.converted}


def gap(series, expect) -> set:
    """Conversions of the plan that the edits do not carry out."""
    return expect.conversions - series.converted


# -- unprotected pages: nothing changes ---------------------------------------------------------


def test_plain_runs_pass_and_print_the_same_before_and_after(runs):
    base, final = runs["base", "plain"], runs["final", "plain"]
    for r in (base, final):
        assert r.returncode == 0 and "kern: 61 checks, 0 failed, 0 warnings" in r.stdout, r.stdout
        assert not r.oopses
    assert base.stdout == final.stdout


def test_plain_runs_see_the_mapping_itself(runs, expect):
    for r in (runs["base", "plain"], runs["final", "plain"]):
        obs = [(k, o) for d in (r.reads, r.helper_reads, r.calls) for k, c in d.items() for o in c]
        assert obs
        assert not [(k, o) for k, o in obs if o[0] or o[1] not in ("real", "anon", "null")]


def test_coverage_every_read_but_the_listed_ones_runs(runs, expect, expected_uses, series):
    """The harness's entry points reach every read of uses.json and every accessor call the plan lists
    but the listed ones, before and after the series: 40 of the 43 reads (39 of 42 lines)."""
    targets = expect.reads | expect.conversions | expect.remaining
    reads = [(u["file"], u["line"]) for u in expected_uses if u["access"] == "read" and u["status"] == "analysed"]
    r = runs["base", "plain"]
    reached = {k for k in targets if observed(r, k)}
    assert targets - reached == set(NEVER_OBSERVED)
    assert (len(reads), sum(k in reached for k in reads)) == (43, 40)
    # after the series the same: the accessors still run, through fs_page_mapping_or()
    r = runs["final", "plain"]
    assert targets - {k for k in targets if observed(r, k)} == set(NEVER_OBSERVED)


def test_every_load_of_the_mapping_word_is_a_use_or_a_folio_alias(runs, expect):
    """Precision of the observation: nothing reads a page's mapping word outside uses.json but
    struct folio accesses of the same word (FOLIO_MATCH), which uses.json leaves out on purpose."""
    folio = set()
    for (name, mode), r in runs.items():
        for rel, line in set(r.reads) - expect.reads:
            text = (CORPUS / rel).read_text().splitlines()[line - 1]
            assert "folio" in text, (name, mode, rel, line, text)
            folio.add((rel, line))
        # accessor calls made by fs_page_mapping_or() itself (the helper header) are the converted sites'
        calls = {k for k in r.calls if k[0] != "include/linux/page_passdown.h"}
        assert not calls - expect.conversions - expect.remaining, (name, mode)
        assert not set(r.helper_reads) - expect.conversions, (name, mode)
    assert folio, "the folio aliases (folio_mapping(), page_folio(page)->mapping) run"


# -- protected pages with a decoy ---------------------------------------------------------------


def test_base_every_read_on_a_protected_page_sees_the_decoy(runs, expect):
    r = runs["base", "protect"]
    assert not r.helper_reads and not r.askers  # no fs_page_mapping() before the series
    assert r.returncode != 0  # the decoys break the tree: checks fail, and some calls fault
    reached = {k for k in expect.reads if seen(r, k)}
    assert reached
    wrong = {k: c for d in (r.reads, r.calls) for k, c in d.items() if set(protected(c)) - {"decoy"}}
    assert not wrong


def test_final_remaining_reads_still_see_the_decoy(runs, expect, series):
    r = runs["final", "protect"]
    shielded = shielded_by_the_helper(runs, series)
    left = expect.remaining - set(NEVER_OBSERVED) - set(NEVER_PROTECTED) - shielded
    assert left and shielded
    missing = {k for k in left if not seen(r, k)}
    assert not missing
    wrong = {k: seen(r, k) for k in left if set(seen(r, k)) != {"decoy"}}
    assert not wrong
    assert not {k: seen(r, k) for k in shielded if "decoy" in seen(r, k)}


def test_final_converted_reads_get_the_context_mapping(runs, expect, series):
    """Each read the edits convert gets the mapping of its context from fs_page_mapping(), never a
    wrong one. (It may also get a decoy that its caller got from a read the edits left: see below.)"""
    r = runs["final", "protect"]
    assert r.askers <= {series.rule.helper.name, series.rule.helper.name + "_or"} and r.askers
    done = {k for k in expect.conversions & series.converted if seen(r, k)}
    assert done
    wrong = {k: seen(r, k) for k in done if "real" not in seen(r, k) or set(seen(r, k)) - {"real", "decoy"}}
    assert not wrong
    if not gap(series, expect):
        assert not {k: seen(r, k) for k in done if set(seen(r, k)) != {"real"}}


def test_final_unconverted_conversions_are_the_reported_macro_reads(series, expect):
    """What the edits leave of the plan's conversions is exactly what they report as left for review:
    reads written inside a macro body (accessor calls are converted through fs_page_mapping_or())."""
    skipped = {(m.group(1), int(m.group(2))) for m in
               (re.match(r"(\S+):(\d+): read inside macro", s) for s in series.skipped) if m}
    assert gap(series, expect) == skipped


def test_final_every_conversion_sees_the_context_mapping(runs, expect, series):
    """The acceptance: after the series every resolved read observes the mapping from its context, every
    unresolved one the decoy, and every entry point runs to the end on protected pages (checks that
    depend on an unresolved read, like folio_mapping() of a protected page, may fail). An expected
    failure while the edits leave some of the plan's conversions undone (it names them)."""
    r = runs["final", "protect"]
    targets = expect.reads | expect.conversions | expect.remaining
    resolved = expect.conversions & series.converted  # what the series converts; the rest is reported
    wrong = {k: seen(r, k) for k in resolved - set(NEVER_OBSERVED) if set(seen(r, k)) != {"real"}}
    assert not wrong
    unresolved = (expect.conversions - resolved) | expect.remaining
    assert not {k: seen(r, k) for k in unresolved if set(seen(r, k)) - {"decoy", "anon", "null"}}
    reached = {k for k in targets if seen(r, k)}
    shielded = shielded_by_the_helper(runs, series)
    assert targets - reached - shielded == set(NEVER_OBSERVED) | set(NEVER_PROTECTED)
