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

A directory whose files mostly start with the same includes (fs/xfs, fs/btrfs,
fs/smb/client...) gets a PCH of its own of those (``lead_groups``), tried
before the common ones, under the same rules (what a TU reads before the
PCH's last root counts as read before a common PCH's first header).

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
# TUs reach.  A group orders them by how many of its TUs reach them; each PCH
# tier is the longest such prefix that TIERS[i] of the group reach in full, and
# a TU gets the deepest tier whose headers it all reaches.
HEADERS = ("linux/types.h", "linux/init.h", "linux/kernel.h", "linux/list.h", "linux/errno.h", "linux/string.h",
           "linux/spinlock.h", "linux/mutex.h", "linux/rcupdate.h", "linux/mm_types.h", "linux/sched.h",
           "linux/module.h", "linux/slab.h", "linux/uaccess.h", "linux/fs.h", "linux/mm.h", "linux/cred.h",
           "linux/mount.h", "linux/highmem.h", "linux/pagemap.h", "linux/uio.h", "linux/bio.h", "linux/seq_file.h",
           "linux/writeback.h", "linux/blkdev.h", "linux/security.h", "linux/buffer_head.h", "linux/xattr.h",
           "linux/swap.h", "linux/namei.h")
TIERS = (0.98, 0.9, 0.5, 0.25)
MIN_TUS = 24  # a PCH costs about three TUs' parse: below this a tier is not built
LEAD_MIN_TUS = 24  # a directory's own PCH (lead_groups): TUs a common PCH serves (3 for one it does not)


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
    own: bool = False  # a directory's own (lead_groups): its members start with its roots, in order

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
        order = sorted(reach, key=lambda p: -len(reach[p]))  # stable: HEADERS order among equals
        prefix_tus, cur = [], set(files)
        for p in order:
            cur = cur & reach[p]
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


def tested_macros(paths: Iterable[str], memo: dict[str, set[str]] | None = None) -> set[str]:
    """Names the preprocessor conditions of *paths* test, other than to give
    a default (``#ifndef X`` / ``#define X ...`` / ``#endif`` and nothing else:
    an include guard is a test, a file that defines it keeps the header out).
    *memo* keeps each file's names across calls (the PCHs of a run share most
    of their headers)."""
    memo = {} if memo is None else memo
    out: set[str] = set()
    for p in paths:
        names = memo.get(p)
        if names is None:
            names = memo[p] = _tested_in(p)
        out |= names
    return out


def _tested_in(path: str) -> set[str]:
    try:
        data = open(path, "rb").read()
    except OSError:
        return set()
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
# The common PCHs hold kernel headers only; a subsystem's own headers (fs/xfs has
# ~40, many of them dense) are parsed again by each of its TUs, and that is most of
# what a TU costs once the kernel headers come from a PCH (a one-off probe on 6.1:
# fs/xfs/xfs_iomap.c parses in 1.2 s through a PCH of its first 10 includes, 0.03 s
# through one of all 23).  So a directory whose files mostly start with the same
# includes gets a PCH of those includes, in the order its files write them, built
# with the directory's own flags.  A TU takes it when it starts with every one of them
# itself, in that order (then each is read where the TU would read it, but for
# other headers the TU puts in between), and the macro rule holds for the TU and
# its own headers outside the PCH.

_LEAD_SKIP = re.compile(rb"(?:\s|/\*(?:[^*]|\*(?!/))*\*/|//[^\n]*)*")  # unambiguous: no backtracking
_LEAD_INCLUDE = re.compile(rb'[ \t]*#[ \t]*include[ \t]*([<"])([^>"\n]+)[>"][ \t]*(?:/\*[^\n]*?\*/[ \t]*|//[^\n]*)?\n')
SHARES = (0.9, 0.75, 0.5)  # a root is a header at least this share of the directory's files start with


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


def _find(quoted: bool, name: str, here: str, paths: SearchPaths) -> str | None:
    """Where the compiler finds ``#include "name"`` (*quoted*) or ``<name>``
    written in a file of *here*."""
    cands = (here, *paths.quote, *paths.angle) if quoted else paths.angle
    for d in cands:
        p = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(p):
            return p
    return None


_GUARD = re.compile(rb"#[ \t]*(?:ifndef[ \t]+(\w+)\s*#[ \t]*define[ \t]+\1\b|pragma[ \t]+once\b)")


@functools.lru_cache(maxsize=None)
def guarded(path: str) -> bool:
    """Does *path* open with an include guard (or ``#pragma once``)?  A TU
    reads each root again after the PCH: a header without one (fs/afs's
    internal.h) would be defined twice."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(65536)
    except OSError:
        return False
    return _GUARD.match(data, _LEAD_SKIP.match(data).end()) is not None


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
            p = _find(quoted, name, here, paths)
            if p is None:
                break
            if p not in roots:
                roots.append(p)
        out[f] = tuple(roots)
    return out


class _Reach:
    """The files, and their bytes, that the include graph reaches from some
    roots (memoised per root: the PCHs of a tree share most of theirs)."""

    def __init__(self, graph):
        self.graph = graph
        self._files: dict[str, frozenset[str]] = {}
        self._sizes: dict[str, int] = {}

    def files(self, roots: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for r in roots:
            if r not in self._files:
                self._files[r] = frozenset(self.graph.reach([r]))
            out |= self._files[r]
        return out

    def bytes(self, roots: Iterable[str]) -> int:
        """What a parse of *roots* reads, roughly: every #if branch counts."""
        files = self.files(roots)
        for f in files - self._sizes.keys():
            try:
                self._sizes[f] = os.stat(f).st_size
            except OSError:
                self._sizes[f] = 0
        return sum(self._sizes[f] for f in files)


def _served(base: Iterable[Group], graph, reach: _Reach) -> dict[str, int]:
    """The bytes each TU would get from a common PCH of *base*: none where the
    macro rule (over the headers the roots reach as text, a superset of what
    the build reads) would refuse it."""
    had: dict[str, int] = {}
    tested_memo: dict[str, set[str]] = {}
    early_memo: dict[tuple[str, bool], set[str] | None] = {}
    for g in base:
        n = reach.bytes(g.roots)
        tested = tested_macros((p for p in reach.files(g.roots) if p.endswith(".h")), tested_memo)
        for m in g.members:
            if may_use(m, tested, graph, early_memo):
                had[m] = max(had.get(m, 0), n)
    return had


def _enough(users: Iterable[str], had: dict[str, int], min_tus: int) -> bool:
    # A TU no common PCH serves saves its whole parse, one that a common PCH serves
    # about a third of it: 8 of the first or 24 of the second pay for a build.
    return sum(3 if not had.get(f) else 1 for f in users) >= min_tus


def _best(leads: dict[str, tuple[str, ...]], had: dict[str, int], reach: _Reach, min_tus: int):
    """``(roots in order, users)`` of the most useful PCH for files with these
    *leads* (users times roots), or None."""
    count = Counter(r for lead in leads.values() for r in lead)
    out = None
    for share in SHARES:
        roots = {r for r, n in count.items() if n >= share * len(leads) and guarded(r)}
        # The order most of the files that start with all of them write them in.
        orders = Counter(tuple(r for r in lead if r in roots) for lead in leads.values() if roots <= set(lead))
        if not roots or not orders:
            continue
        order = max(orders.items(), key=lambda kv: (kv[1], kv[0]))[0]
        size = reach.bytes(order)
        users = [f for f, lead in leads.items() if tuple(r for r in lead if r in roots) == order
                 and size > had.get(f, 0)]
        if _enough(users, had, min_tus) and (out is None or len(users) * len(order) > out[0]):
            out = (len(users) * len(order), order, users)
    return out[1:] if out else None


def lead_groups(commands: Iterable[CompileCommand], graph, version: str, code: str, fields: tuple = (), *,
                base: Iterable[Group] = (), min_tus: int | None = None) -> list[Group]:
    """A PCH for each directory whose files mostly start with the same
    includes, of those includes (the roots, SHARES), for the files that start
    with all of them in the PCH's order and would read more through it than
    through a common PCH of *base* (in bytes the include *graph* reaches: a
    rough measure, it only picks PCHs).  A directory may get several, one
    after the other among the files left.  ``index._precompile`` applies the
    macro rule after the build."""
    min_tus = LEAD_MIN_TUS if min_tus is None else min_tus
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
        if not _enough(files, had, min_tus):
            continue
        leads = _leads(files, here, flags)
        while (found := _best(leads, had, reach, min_tus)) is not None:
            order, users = found
            for f in users:
                del leads[f]
            key = (flags, order)  # fs/xfs/libxfs and fs/xfs may share one
            if key in made:
                users = [*made[key].members, *users]
            h = hashlib.blake2b(digest_size=12)
            for part in ("own", version, code, *map(str, fields), *flags, *order):
                h.update(part.encode() + b"\0")
            made[key] = Group(h.hexdigest(), flags, order, tuple(sorted(users)), own=True)
    return list(made.values())
