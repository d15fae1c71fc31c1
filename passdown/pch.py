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
* macros: a ``.c`` file (or a header of its own directory) that defines or
  undefines a macro before its includes, and some PCH header tests that
  macro (``#ifdef DEBUG`` in printk.h, or an include guard the file defines
  to keep a header out), would see the header differently: such a TU is
  parsed as before.  A test that only gives a default (``#ifndef pr_fmt`` /
  ``#define pr_fmt(fmt) fmt`` / ``#endif``) is no difference: the file's own
  definition wins where it is used.

This module only decides; parse.py builds and uses the PCH, index.py runs it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

from .compdb import CompileCommand

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
    last = max((i for i, (d, _) in enumerate(found) if d == b"include"), default=-1)
    return {name.decode() for d, name in found[:last] if d != b"include" and name}


def local_headers(source: str, graph) -> list[str]:
    """The headers of *source*'s own directory it reaches: kbuild puts them
    before the PCH's headers, and they may define macros first."""
    here = os.path.dirname(source) + os.sep
    seen, todo = {source}, [source]
    while todo:
        for k in graph.children(todo.pop()):
            if k not in seen and k.startswith(here):
                seen.add(k)
                todo.append(k)
    return sorted(seen - {source})


def may_use(source: str, tested: set[str], graph, memo: dict[str, set[str] | None] | None = None) -> bool:
    """Does *source* see the PCH's headers as it would parse them itself?
    *memo* keeps each file's early macros (a directory's headers serve many TUs)."""
    memo = {} if memo is None else memo
    for p in [source, *local_headers(source, graph)]:
        if p not in memo:
            try:
                memo[p] = early_macros(open(p, "rb").read())
            except OSError:
                memo[p] = None
        early = memo[p]
        if early is None or early & tested:
            return False
    return True
