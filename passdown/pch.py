"""Which TUs of a full index can share a precompiled header, and which one.

Most of libclang's time on a kernel TU goes into the same few hundred
headers (linux/fs.h alone pulls in ~400 files).  A precompiled header (PCH)
of the common ones, built once per *flag group*, cuts the parse of every
other TU of the group to about 0.4x (bench/pch_probe.py).  The facts must not
change, so a TU gets the PCH only when that cannot change what it sees:

* flags: the TUs of a group agree on every flag but the per-file ones
  (kbuild's ``-DKBUILD_BASENAME=...``, ``-DKBUILD_MODNAME=...``) and the
  per-directory ``-I``.  ``-DMODULE`` or a subsystem's ``ccflags-y`` make
  another group: they change what the headers declare;
* the headers: the TU already reaches every header put in the PCH, so the
  PCH adds no declaration it would not have had.  Reached as text
  (prefilter.IncludeGraph): an ``#include`` under an ``#if`` the config
  turns off counts too, a known over-estimate; a TU whose parse through the
  PCH reports an error is parsed again without it (index.py);
* macros: a ``.c`` file, or a header of its own outside the include
  directories (such as fs/xfs/xfs.h for fs/xfs/libxfs/*.c), that defines or
  undefines a macro before its includes (anywhere, for a header the file
  reads before any kernel header), and some PCH header tests that macro
  (``#ifdef DEBUG`` in printk.h, or an include guard the file defines to
  keep a header out), would see the header differently: such a TU is
  parsed as before.  A test that only gives a default (``#ifndef pr_fmt``
  / ``#define pr_fmt(fmt) fmt`` / ``#endif``) is no difference: the file's
  own definition wins where it is used.

A directory whose files start with the same few includes (fs/xfs: xfs.h and,
later, xfs_trace.h) gets a PCH of its own of those (``lead_groups``), tried
before the common ones, under the same rules (what a TU reads before the
PCH's last root counts as read before a common PCH's first header) and one
more: what a TU reads between the roots must not change them, nor be changed
by them (``keeps_order``).

This module only decides; parse.py builds and uses the PCH, index.py runs it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable

from .compdb import CompileCommand, SearchPaths, search_paths

# Candidates: public headers meant to be included directly that many kernel
# TUs reach.  A group orders them, each next the one most of the TUs that reach
# all before it reach too; each PCH tier is the longest such prefix that
# TIERS[i] of the group reach in full, and a TU gets the deepest tier whose
# headers it all reaches.
HEADERS = ("linux/types.h", "linux/init.h", "linux/kernel.h", "linux/list.h", "linux/errno.h", "linux/string.h",
           "linux/spinlock.h", "linux/mutex.h", "linux/rcupdate.h", "linux/mm_types.h", "linux/sched.h",
           "linux/module.h", "linux/slab.h", "linux/uaccess.h", "linux/fs.h", "linux/mm.h", "linux/cred.h",
           "linux/mount.h", "linux/highmem.h", "linux/pagemap.h", "linux/uio.h", "linux/bio.h", "linux/seq_file.h",
           "linux/writeback.h", "linux/blkdev.h", "linux/security.h", "linux/buffer_head.h", "linux/xattr.h",
           "linux/swap.h", "linux/namei.h")
TIERS = (0.98, 0.9, 0.5, 0.25)
MIN_TUS = 24  # a PCH costs about three TUs' parse: below this a tier is not built
LEAD_PAYS = 3  # a directory's own PCH (lead_groups) is built when its users save this many parses of it


def _per_file(arg: str) -> bool:
    return "KBUILD_" in arg or arg.startswith("-Wp,")


def _global_dir(path: str) -> bool:
    return path.rstrip("/").endswith(("/include", "/uapi", "/generated"))


def build_args(args: tuple[str, ...]) -> tuple[str, ...]:
    """The flags a PCH for *args* is built with (and that its group shares):
    without per-file defines and per-directory ``-I``."""
    out: list[str] = []
    it = iter(args)
    for a in it:
        if _per_file(a):
            continue
        if a == "-I":
            a += next(it, "")
        if a.startswith("-I") and not _global_dir(a[2:]):
            continue
        out.append(a)
    return tuple(out)


@dataclass(frozen=True)
class Group:
    """One PCH: what it includes, its flags, and the TUs that may use it."""

    key: str
    args: tuple[str, ...]  # build flags, without the source
    roots: tuple[str, ...]  # absolute paths of the headers it includes
    members: tuple[str, ...]  # TUs that reach every root (the macro check comes after the build)
    own: bool = False  # a directory's own (lead_groups): its members include its roots in order, first
    saves: float = 1.0  # a directory's own: the share of a parse of its roots a member saves, on average

    @property
    def text(self) -> str:
        return "".join(f'#include "{r}"\n' for r in self.roots)


def groups(commands: Iterable[CompileCommand], graph, version: str, code: str, fields: tuple = (), *,
           min_tus: int | None = None, headers: tuple[str, ...] = HEADERS) -> list[Group]:
    """The PCHs for *commands*: *graph* is a prefilter.IncludeGraph whose
    edges reach every TU's headers (``graph.reach`` was called on them)."""
    min_tus = MIN_TUS if min_tus is None else min_tus
    by_flags: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for c in commands:
        by_flags[build_args(c.args)].append(c.file)
    out = []
    for flags, files in sorted(by_flags.items(), key=lambda kv: -len(kv[1])):
        if len(files) < min_tus:
            continue
        includes = [a[2:] for a in flags if a.startswith("-I")]
        reach: dict[str, set[str]] = {}
        for h in headers:
            path = next((os.path.join(d, h) for d in includes if os.path.isfile(os.path.join(d, h))), None)
            if path is not None:
                reach[os.path.normpath(path)] = graph.includers(os.path.normpath(path), files)
        # Each next header the one most of the TUs that reach all before it reach too (not
        # the one most TUs reach: a TU without linux/uaccess.h would lose fs.h and mm.h).
        order, prefix_tus, cur, left = [], [], set(files), list(reach)
        while left:
            p = max(left, key=lambda p: len(cur & reach[p]))  # the first in HEADERS among equals
            left.remove(p)
            cur = cur & reach[p]
            order.append(p)
            prefix_tus.append(cur)
        cuts = sorted({max((i + 1 for i, t in enumerate(prefix_tus) if len(t) >= share * len(files)), default=0)
                       for share in TIERS} - {0}, reverse=True)
        taken: set[str] = set()
        for n in cuts:  # deepest tier first: a TU takes the biggest PCH it can
            members = prefix_tus[n - 1] - taken
            if len(members) < min_tus:
                continue
            taken |= members
            roots = tuple(order[:n])
            h = hashlib.blake2b(digest_size=12)
            # The field is part of the key: the entry holds the facts of the PCH's headers for it.
            for part in (version, code, *map(str, fields), *flags, *roots):
                h.update(part.encode() + b"\0")
            out.append(Group(h.hexdigest(), flags, roots, tuple(sorted(members))))
    return out


_COND = re.compile(rb"^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|elifdef|elifndef)\b(.*)$", re.M)
_DEFINE_NEXT = re.compile(rb"\s*#[ \t]*define[ \t]+(\w+)(?:[^\n]*\\\n)*[^\n]*\n\s*#[ \t]*endif\b")
_WORD = re.compile(rb"[A-Za-z_]\w*")


def tested_macros(paths: Iterable[str]) -> set[str]:
    """Names the preprocessor conditions of *paths* test, other than to give
    a default (``#ifndef X`` / ``#define X ...`` / ``#endif`` and nothing else:
    an include guard is a test, a file that defines it keeps the header out)."""
    out: set[str] = set()
    for p in paths:
        out |= _macros_of(p)[1]
    return out


@functools.lru_cache(maxsize=None)
def _macros_of(path: str) -> tuple[frozenset[str], frozenset[str]]:
    """(defined or undefined, tested) macros of one file (the PCHs of a run
    share most of their headers; ``forget_files`` starts afresh)."""
    try:
        data = open(path, "rb").read()
    except OSError:
        return frozenset(), frozenset()
    return frozenset(defined_macros(data)), frozenset(_tested_in(data))


def _tested_in(data: bytes) -> set[str]:
    out: set[bytes] = set()
    for m in _COND.finditer(data):
        words = _WORD.findall(m.group(2).split(b"/*")[0].split(b"//")[0])
        if m.group(1) == b"ifndef" and len(words) == 1:
            nxt = _DEFINE_NEXT.match(data, m.end())
            if nxt and nxt.group(1) == words[0]:
                continue
        out.update(words)
    return {w.decode() for w in out}


_DIRECTIVE = re.compile(rb"^[ \t]*#[ \t]*(define|undef|include)[ \t]*([<\"]?[\w./-]*)", re.M)


def early_macros(data: bytes) -> set[str]:
    """Macros a file defines or undefines before its last ``#include``."""
    found: list[tuple[bytes, bytes]] = [(m.group(1), m.group(2)) for m in _DIRECTIVE.finditer(data)]
    last = max((i for i, (d, _) in enumerate(found) if d == b"include"), default=0)  # none: nothing before it
    return {name.decode() for d, name in found[:last] if d != b"include" and name}


def defined_macros(data: bytes) -> set[str]:
    """Every macro a file defines or undefines."""
    return {m.group(2).decode() for m in _DIRECTIVE.finditer(data) if m.group(1) != b"include" and m.group(2)}


def local_headers(source: str, graph) -> list[str]:
    """The headers outside the include directories that *source* reaches
    through its own and each other (its directory's, or a subsystem's
    ``ccflags-y += -I``: fs/xfs/libxfs/*.c start with fs/xfs/xfs.h).  They
    may define macros before the PCH's headers are read."""
    return sorted(_local_closure(graph.children(source), graph))


def _kernel_dirs(graph) -> tuple[str, ...]:
    """The include directories (``include/``, ``arch/*/include``, generated)."""
    return tuple(d + os.sep for d in graph.angle_dirs if _global_dir(d))


def _local_closure(roots: Iterable[str], graph) -> set[str]:
    kernel = _kernel_dirs(graph)
    seen: set[str] = set()
    todo = [r for r in roots if not r.startswith(kernel)]
    while todo:
        k = todo.pop()
        if k not in seen:
            seen.add(k)
            todo.extend(c for c in graph.children(k) if not c.startswith(kernel))
    return seen


def _first_local(source: str, graph, roots: tuple[str, ...] | None = None) -> set[str]:
    """The local headers *source* reads before its first kernel header (all
    they define comes first: ``#include "xfs.h"`` on line one), or, for a
    directory's own PCH, before the last of its *roots*."""
    kids = graph.children(source)
    if roots is None:
        kernel = _kernel_dirs(graph)
        cut = next((i for i, k in enumerate(kids) if k.startswith(kernel)), len(kids))
    else:
        cut = max((i for i, k in enumerate(kids) if k in roots), default=-1)
    return _local_closure([k for k in kids[:cut] if roots is None or k not in roots], graph)


def may_use(source: str, tested: set[str], graph, memo: dict[tuple[str, bool], set[str] | None] | None = None,
            inside: Iterable[str] = (), roots: tuple[str, ...] | None = None) -> bool:
    """Does *source* see the PCH's headers as it would parse them itself?
    Not if it, or one of its own headers outside the PCH, defines a macro some
    PCH header tests (*tested*) before its last include; nor if a header it
    reads before any kernel header (before the last of the *roots* of a
    directory's own PCH) defines one at all.  *memo* keeps each
    file's macros (a directory's headers serve many TUs); the headers
    *inside* the PCH define theirs in it."""
    memo = {} if memo is None else memo
    inside = set(inside)
    first = _first_local(source, graph, roots)
    for p in [source, *(h for h in local_headers(source, graph) if h not in inside)]:
        key = (p, p in first)
        if key not in memo:
            try:
                data = open(p, "rb").read()
            except OSError:
                memo[key] = None
            else:
                memo[key] = defined_macros(data) if key[1] else early_macros(data)
        defined = memo[key]
        if defined is None or defined & tested:
            return False
    return True


# -- a directory's own PCH ------------------------------------------------------------
#
# The common PCHs hold kernel headers only; a subsystem's own headers are parsed
# again by each of its TUs, and its trace event header most of all: on 6.1,
# fs/xfs/xfs.h and the kernel headers it reaches parse in 0.48 s, its dozen other
# leading headers add nothing measurable, and xfs_trace.h adds 0.7 s, against 0.03 s
# through a PCH of all of them (one-off probes, sessions 5 and 6).  So a directory
# whose files start with the same few headers gets a PCH of those, built with the
# directory's own flags, a trace header among them if enough files include one.  A
# TU takes it when it starts with every one of them itself, in the PCH's order, and
# what it reads in between would be read the same after them (keeps_order), and the
# macro rule holds for it and its own headers outside the PCH.

_LEAD_SKIP = re.compile(rb"(?:\s|/\*(?:[^*]|\*(?!/))*\*/|//[^\n]*)*")  # unambiguous: no backtracking
_LEAD_INCLUDE = re.compile(rb'[ \t]*#[ \t]*include[ \t]*([<"])([^>"\n]+)[>"][ \t]*(?:/\*[^\n]*?\*/[ \t]*|//[^\n]*)?\n')


def leading_includes(data: bytes) -> list[tuple[bool, str]]:
    """The ``#include`` lines *data* starts with, comments aside, up to its
    first other line: ``(quoted, name)`` each."""
    out, pos = [], 0
    while True:
        pos = _LEAD_SKIP.match(data, pos).end()
        m = _LEAD_INCLUDE.match(data, pos)
        if m is None:
            return out
        out.append((m.group(1) == b'"', m.group(2).decode(errors="replace").strip()))
        pos = m.end()


def find_include(quoted: bool, name: str, here: str, paths: SearchPaths) -> str | None:
    """Where the compiler finds ``#include "name"`` (*quoted*) or ``<name>``
    written in a file of *here*."""
    cands = (here, *paths.quote, *paths.angle) if quoted else paths.angle
    for d in cands:
        p = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(p):
            return p
    return None


# An include guard, ``#pragma once``, or a trace event header's guard (fs/xfs/xfs_trace.h:
# ``#undef TRACE_SYSTEM`` / ``#define TRACE_SYSTEM xfs`` / ``#if !defined(_TRACE_XFS_H) ||
# defined(TRACE_HEADER_MULTI_READ)`` / ``#define _TRACE_XFS_H``).  Read again, such a
# header only defines TRACE_SYSTEM and its TRACE_INCLUDE_* names as before and includes
# trace/define_trace.h, which does nothing but under CREATE_TRACE_POINTS; that macro is
# tested there, so a TU that defines it (the one that makes the trace points) is refused.
_GUARD = re.compile(rb"(?:#[ \t]*(?:undef|define)[ \t]+TRACE_SYSTEM\b[^\n]*\n\s*)*"
                    rb"#[ \t]*(?:ifndef[ \t]+(\w+)\s*#[ \t]*define[ \t]+\1\b|pragma[ \t]+once\b"
                    rb"|if[ \t]+!\s*defined\s*\(?\s*(\w+)\s*\)?\s*\|\|\s*defined\s*\(?\s*TRACE_HEADER_MULTI_READ\s*\)?"
                    rb"\s*#[ \t]*define[ \t]+\2\b)")


@functools.lru_cache(maxsize=None)
def _guard(path: str) -> str | None:
    """"guard", "trace" (a trace event header's) or None."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(65536)
    except OSError:
        return None
    m = _GUARD.match(data, _LEAD_SKIP.match(data).end())
    return None if m is None else "trace" if m.group(2) else "guard"


def guarded(path: str) -> bool:
    """Does *path* open with an include guard (``#pragma once``, a trace
    header's)?  A TU reads each root again after the PCH: a header without
    one (fs/afs's internal.h) would be defined twice."""
    return _guard(path) is not None


def trace_header(path: str) -> bool:
    """Is *path* a trace event header (guarded by TRACE_HEADER_MULTI_READ)?"""
    return _guard(path) == "trace"


def forget_files() -> None:
    """Read the files' guards and macros again: a run's tree may have changed
    since the last one in this process."""
    _guard.cache_clear()
    _macros_of.cache_clear()


def _clash(definers: set[str], testers: set[str], reach, known: set[str]) -> bool:
    """Does a file of *definers* define a macro that a file of *testers* tests,
    other than one the forced includes define already (*known*: autoconf.h's
    CONFIG_*), and that the tester does not reach through its own includes (if
    it does, the definition comes first whatever the order: sockios.h tests
    the __BITS_PER_LONG of the bitsperlong.h it includes)?"""
    tested = set().union(*(_macros_of(t)[1] for t in testers)) - known
    for d in definers:
        for m in _macros_of(d)[0] & tested:
            if any(d not in reach.of(t) for t in testers if m in _macros_of(t)[1]):
                return True
    return False


def keeps_order(source: str, roots: tuple[str, ...], graph, reach) -> bool:
    """Does *source* read what a directory's own PCH of *roots* holds as the
    PCH does?  It includes the roots in the same order, but other headers may
    come in between (fs/xfs/xfs_iomap.c: xfs.h, a dozen xfs headers, then
    xfs_trace.h), which the PCH reads after all its roots.  At each of those,
    three sets swap places through the PCH: what the header brings that the
    later roots do not (X: read after them), what both bring (Y: read with
    the roots), what only the later roots bring (Z: read before X).  No
    file of one may define a macro a file of another tests (x.h defines
    MYDEBUG, kernel.h tests it: a TU that includes kernel.h before x.h),
    save Y's for Z: Y comes before Z either way when the roots read it
    first, as they do what they need.  Reached as text: every #if branch
    counts."""
    kids = graph.children(source)
    at = {k: i for i, k in enumerate(kids)}
    if any(r not in at for r in roots) or [at[r] for r in roots] != sorted(at[r] for r in roots):
        return False
    seen = reach.files(graph.forced)  # (-include: read first either way)
    known = set().union(*(_macros_of(p)[0] for p in seen))
    for i, k in enumerate(kids[:max(at[r] for r in roots)]):
        if k in roots:
            seen |= reach.of(k)
            continue
        new = reach.of(k) - seen
        if not new:
            continue
        later = reach.files([r for r in roots if at[r] > i]) - seen
        x, y, z = new - later, new & later, later - new
        if any(_clash(d, t, reach, known) for d, t in ((x, y | z), (y | z, x), (z, y))):
            return False
        seen |= new
    return True


def _leads(files: list[str], here: str, flags: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Each file's leading includes, resolved as its compiler would (up to the
    first one that is not found: generated later, or under an #if)."""
    paths = search_paths(flags)
    out = {}
    for f in files:
        try:
            spelled = leading_includes(open(f, "rb").read())
        except OSError:
            continue
        roots: list[str] = []
        for quoted, name in spelled:
            p = find_include(quoted, name, here, paths)
            if p is None:
                break
            if p not in roots:
                roots.append(p)
        out[f] = tuple(roots)
    return out


# What a byte of a trace event header costs a parse against one of any other header.
# Each TRACE_EVENT/DEFINE_EVENT expands to a tracepoint and its inline functions: on
# 6.1, fs/xfs/xfs.h and the 4.9 MB of headers it reaches parse in 0.48 s, and
# xfs_trace.h (137 kB) adds 0.7 s (one-off probe, session 6).
TRACE_WEIGHT = 50


class _Reach:
    """The files the include graph reaches from some roots, and what parsing
    them costs (memoised per root: the PCHs of a tree share most of theirs)."""

    def __init__(self, graph):
        self.graph = graph
        self._files: dict[str, frozenset[str]] = {}
        self._sizes: dict[str, int] = {}

    def of(self, root: str) -> frozenset[str]:
        if root not in self._files:
            self._files[root] = frozenset(self.graph.reach([root]))
        return self._files[root]

    def files(self, roots: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for r in roots:
            out |= self.of(r)
        return out

    def cost(self, roots: Iterable[str]) -> int:
        """What a parse of *roots* costs, roughly, in bytes read (every #if
        branch counts), a trace event header's TRACE_WEIGHT times."""
        files = self.files(roots)
        for f in files - self._sizes.keys():
            try:
                self._sizes[f] = os.stat(f).st_size * (TRACE_WEIGHT if trace_header(f) else 1)
            except OSError:
                self._sizes[f] = 0
        return sum(self._sizes[f] for f in files)


def _served(base: Iterable[Group], graph, reach: _Reach) -> dict[str, int]:
    """The bytes each TU would get from a common PCH of *base*: none where the
    macro rule (over the headers the roots reach as text, a superset of what
    the build reads) would refuse it."""
    had: dict[str, int] = {}
    early_memo: dict[tuple[str, bool], set[str] | None] = {}
    for g in base:
        n = reach.cost(g.roots)
        tested = tested_macros(p for p in reach.files(g.roots) if p.endswith(".h"))
        for m in g.members:
            if may_use(m, tested, graph, early_memo):
                had[m] = max(had.get(m, 0), n)
    return had


def _best(leads: dict[str, tuple[str, ...]], had: dict[str, int], reach: _Reach, pays: float):
    """``(roots in order, users, share)`` of the PCH that saves the files with
    these *leads* the most over what a common PCH gives them (*share*: of a
    parse of its roots, per user), or None if that is less than *pays* parses
    of its roots in all (about what its build costs, and a margin).  Its users
    are the files that start with every root, in its order, others in between
    or not.  The roots are chosen one by one, each the guarded header that
    saves the most (a subsystem's trace header first: most of what its TUs
    cost), with what it needs, while one does; then every guarded header all
    the users start with joins them, if it needs nothing more."""
    count = Counter(r for lead in leads.values() for r in lead if guarded(r))
    pool = {r for r, n in count.items() if n >= pays}
    needs = _Needs(leads, reach)
    sets = needs.sets

    def users_of(roots):
        holders = [f for f, lead in sets.items() if roots <= lead]
        order = needs.order(roots, holders)
        size = reach.cost(roots)
        return order, size, [f for f in holders if _in_order(leads[f], order) and size > had.get(f, 0)]

    out, roots = None, frozenset()
    while True:
        best = None
        for r in sorted(pool - roots):
            trial = needs.close(roots | {r}, pool)
            if trial is None:
                continue
            order, size, users = users_of(trial)
            saved = sum(size - had.get(f, 0) for f in users)
            if saved >= pays * size and (best is None or saved > best[0]):
                best = (saved, trial, order, users, saved / size / len(users))
        if best is None or (out is not None and best[0] <= out[0]):
            break
        out = best
        roots = best[1]
    if out is None:
        return None
    _, roots, order, users, share = out
    # The headers all the users start with cost them nothing more.
    for h in sorted(set.intersection(*(sets[f] for f in users)) - roots):
        if guarded(h) and needs.close(roots | {h}, set()) is not None:
            more = users_of(roots | {h})
            if set(more[2]) >= set(users):
                roots, order = roots | {h}, more[0]
    return order, users, share


def _in_order(lead: tuple[str, ...], order: tuple[str, ...]) -> bool:
    wanted = set(order)
    return tuple(r for r in lead if r in wanted) == order


class _Needs:
    """What a header may need before it: every header that all the files
    starting with it reach before it (include/trace/events/ext4.h needs the
    ext4_group_t of fs/ext4/ext4.h, which fs/ext4/indirect.c reaches through
    ext4_jbd2.h).  A PCH of headers that lacks one would not build."""

    def __init__(self, leads: dict[str, tuple[str, ...]], reach: _Reach):
        self.leads, self.reach = leads, reach
        self.sets = {f: set(lead) for f, lead in leads.items()}
        self._memo: dict[str, frozenset[str]] = {}

    def of(self, header: str) -> frozenset[str]:
        if header not in self._memo:
            pres = [self.reach.files(lead[:lead.index(header)]) for lead in self.leads.values() if header in lead]
            self._memo[header] = frozenset(set.intersection(*pres)) if pres else frozenset()
        return self._memo[header]

    def order(self, roots: Iterable[str], users: Iterable[str]) -> tuple[str, ...]:
        """*roots* in the order a PCH reads them: each after those that give
        it what it needs, and where the *users* write it, on average."""
        pos = {r: sum(self.leads[f].index(r) / len(self.leads[f]) for f in users) for r in roots}
        out: list[str] = []
        rest = sorted(pos, key=lambda r: (pos[r], r))
        while rest:
            have = self.reach.files(out)
            # (A need may be chance: fs/btrfs/tests's files all put btrfs-tests.h before
            # ../ctree.h, which needs nothing of it.  The one that lacks least goes first.)
            r = min(rest, key=lambda r: len(self.of(r) - self.reach.of(r) - have))
            out.append(r)
            rest.remove(r)
        return tuple(out)

    def close(self, roots: frozenset[str], pool: set[str]) -> frozenset[str] | None:
        """*roots* with the headers of *pool* they need (those that most files
        start with as well first), or None if *pool* cannot give them all."""
        while True:
            missing = set().union(*(self.of(r) for r in roots)) - self.reach.files(roots)
            if not missing:
                return roots
            best, key = None, None
            for h in sorted(pool - roots):
                gain = len(missing & self.reach.of(h))
                if gain:
                    k = (sum(1 for lead in self.sets.values() if roots | {h} <= lead), gain)
                    if key is None or k > key:
                        best, key = h, k
            if best is None:
                return None
            roots = roots | {best}


def lead_groups(commands: Iterable[CompileCommand], graph, version: str, code: str, fields: tuple = (), *,
                base: Iterable[Group] = (), pays: float | None = None) -> list[Group]:
    """A PCH for each directory whose files mostly start with the same
    includes, of those includes, for the files that start with all of them and
    would save more through it than through a common PCH of *base* (in bytes
    the include *graph* reaches, _Reach.cost: a rough measure, it only picks
    PCHs).  A directory may get several, one after the other among the files
    left.  ``index._precompile`` applies the macro rule after the build."""
    pays = LEAD_PAYS if pays is None else pays
    reach = _Reach(graph)
    had = _served(base, graph, reach)
    by_dir: dict[tuple, list[str]] = defaultdict(list)
    for c in commands:
        # Quoted names are found next to the file first: one directory, one set of flags,
        # the module's name included (a subsystem header may spell KBUILD_MODNAME).
        flags = tuple(a for a in c.args if "KBUILD_BASENAME" not in a and not a.startswith("-Wp,"))
        by_dir[(os.path.dirname(c.file), flags)].append(c.file)
    made: dict[tuple, Group] = {}
    for (here, flags), files in sorted(by_dir.items()):
        if len(files) < pays:
            continue
        leads = _leads(files, here, flags)
        while (found := _best(leads, had, reach, pays)) is not None:
            order, users, share = found
            for f in users:
                del leads[f]
            # (Left out, not tried again: they might do with fewer roots, but rarely.)
            kept = [f for f in users if keeps_order(f, order, graph, reach)]
            if len(kept) * share < pays:
                continue
            users = kept
            key = (flags, order)  # fs/xfs/libxfs and fs/xfs may share one
            if key in made:
                old = made[key]
                share = (old.saves * len(old.members) + share * len(users)) / (len(old.members) + len(users))
                users = [*old.members, *users]
            h = hashlib.blake2b(digest_size=12)
            for part in ("own", version, code, *map(str, fields), *flags, *order):
                h.update(part.encode() + b"\0")
            made[key] = Group(h.hexdigest(), flags, order, tuple(sorted(users)), own=True, saves=share)
    return list(made.values())
