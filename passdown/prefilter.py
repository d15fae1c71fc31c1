"""Which TUs can hold a use of a field in the scope: a sound token prefilter.

A report needs only the TUs that can contain a use of ``struct S.member`` in a
file of the scope.  libclang reports a use where the member's name is
written, or, when it is written inside a macro body, where the (outermost)
macro is invoked.  So a file can hold a use only if its text, outside comments
and literals, has one of:

1. ``->member`` or ``.member`` (whitespace, comments and line continuations
   allowed in between; designated initializers included);
2. ``member`` inside the argument list of a macro that can use an argument as
   a member name (``container_of``, ``offsetof``, ``list_entry``... found by
   reading every macro definition the TUs can see: a parameter written after
   ``->``/``.``, or passed to such a macro), or right
   after a macro whose body ends in ``->``/``.``;
3. the name of a macro whose definition spells ``member`` (other than as a
   parameter), directly or through another such macro: its expansion can
   produce any of the above.

A TU is parsed when its main file has one of these, or when it is the chosen
includer of a header (or included .c) of the scope that has one: a header's
facts come from one TU that includes it, so one includer per such header is
enough.  Includers are found by following ``#include`` lines over the union of
the TUs' search paths (a superset of what the preprocessor does), or, for TUs
already in the cache, from the files they really read.  ``index.run`` checks
afterwards that each such header was really walked and parses the next
includer if not.

Not seen, as by the compiler-free rest of passdown: a member name built by
token pasting from pieces that are not parameters (``map##ping``), and
headers reached only through a computed ``#include MACRO`` (Linux's trace
headers, which every user also includes by name).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from . import idents
from .cache import _atomic_write, no_gc
from .compdb import CompileCommand, search_paths

FORMAT = 1
_BUILTIN_MEMBER_TAKERS = ("__builtin_offsetof", "offsetof")


@dataclass
class Selection:
    wanted: list[CompileCommand]  # TUs to index
    skipped: list[str]  # sources that cannot hold a use
    headers: dict[str, list[str]] = field(default_factory=dict)  # scope header with a trigger -> includers, best first
    stats: dict = field(default_factory=dict)


class Macros:
    """Every macro definition the TUs can see, and what follows from them for a member."""

    def __init__(self, scans: Iterable[idents.Scan]):
        self.defs: dict[str, list[tuple[tuple[str, ...] | None, str]]] = {}
        for s in scans:
            for name, params, body in s.defines:
                self.defs.setdefault(name, []).append((params, body))
        self._member_takers: set[str] | None = None
        self._tails: set[str] | None = None
        self._users: dict[str, set[str]] | None = None  # word -> macros whose body spells it

    def expanding_to(self, word: str) -> set[str]:
        """Macros whose definition spells *word* (not as a parameter), directly
        or through another such macro; *word* included."""
        return self.expanding_to_any([word])

    def expanding_to_any(self, words: Iterable[str]) -> set[str]:
        """The same for several words at once: one reverse index of the
        definitions, built on first use (a lazy plan asks for thousands)."""
        if self._users is None:
            users: dict[str, set[str]] = {}
            for name, defs in self.defs.items():
                for params, body in defs:
                    ps = set(params or ())
                    for w in {w.decode() for w in idents.IDENT.findall(body.encode())} - ps:
                        users.setdefault(w, set()).add(name)
            self._users = users
        out = set(words)
        todo = deque(out)
        while todo:
            for m in self._users.get(todo.popleft(), ()):
                if m not in out:
                    out.add(m)
                    todo.append(m)
        return out

    def member_takers(self) -> set[str]:
        """Macros that can use an argument as a member name."""
        if self._member_takers is not None:
            return self._member_takers
        taken: set[str] = set(_BUILTIN_MEMBER_TAKERS)
        mentions: dict[str, set[str]] = {}  # name -> macros that mention it and have parameters in use
        for name, defs in self.defs.items():
            for params, body in defs:
                ps = [("__VA_ARGS__" if p == "..." else p.removesuffix("...")) for p in (params or ()) if p]
                ps = [p for p in ps if re.fullmatch(r"\w+", p)]
                if ps and _direct_member_param(body, ps):
                    taken.add(name)
                    break
                words = {w.decode() for w in idents.IDENT.findall(body.encode())}
                if params is None or any(p in words for p in ps):
                    for w in words.difference(ps):  # a parameter is substituted, never expanded
                        mentions.setdefault(w, set()).add(name)
        todo = deque(taken)
        while todo:
            for m in mentions.get(todo.popleft(), ()):
                if m not in taken:
                    taken.add(m)
                    todo.append(m)
        self._member_takers = taken
        return taken

    def tails(self) -> set[str]:
        """Macros whose expansion ends in ``->`` or ``.``."""
        if self._tails is not None:
            return self._tails
        out: set[str] = set()
        last: dict[str, set[str]] = {}
        for name, defs in self.defs.items():
            for _, body in defs:
                b = body.rstrip()
                if b.endswith(("->", ".")) and not b.endswith(("...",)):
                    out.add(name)
                m = re.search(r"([A-Za-z_]\w*)\s*$", b)
                if m:
                    last.setdefault(m.group(1), set()).add(name)
        todo = deque(out)
        while todo:
            for m in last.get(todo.popleft(), ()):
                if m not in out:
                    out.add(m)
                    todo.append(m)
        self._tails = out
        return out


_MEMBER_POS = re.compile(r"(?:->|\.)\s*([A-Za-z_]\w*)")


def _direct_member_param(body: str, params: list[str]) -> bool:
    """A parameter written after -> or . (pasting with ``##`` builds another
    name than the argument's, so it does not count; see the module docstring)."""
    if "->" not in body and "." not in body:
        return False
    return any(m.group(1) in params for m in _MEMBER_POS.finditer(body))


_TOKEN = re.compile(rb"\b[A-Za-z_]\w*|[()]")


class Trigger:
    """Can a file's text hold a use of *member*?  (See the module docstring.)"""

    def __init__(self, member: str, macros: Macros):
        self.member = member
        self.aliases = macros.expanding_to(member) - {member}
        self.takers = macros.member_takers()
        self.tails = macros.tails()
        m = re.escape(member.encode())
        self._quick = re.compile(rb"\b(?:" + b"|".join([m] + [re.escape(a.encode()) for a in sorted(self.aliases)]) + rb")\b")
        self._access = re.compile(rb"(?:->|\.)(?:\s|\\\r?\n)*" + m + rb"\b")
        self._alias = re.compile(rb"\b(?:" + b"|".join(re.escape(a.encode()) for a in sorted(self.aliases)) + rb")\b") \
            if self.aliases else None

    def why(self, data: bytes) -> str | None:
        """None, or which rule makes the text a candidate."""
        if not self._quick.search(data):
            return None
        clean = idents.strip_noise(data)
        if self._access.search(clean):
            return "member access"
        if self._alias is not None:
            m = self._alias.search(clean)
            if m:
                return f"macro {m.group().decode()}"
        word = self.member.encode()
        if word not in clean:
            return None
        stack: list[bytes] = []
        prev = b""
        for t in _TOKEN.findall(clean):
            if t == b"(":
                stack.append(prev)
            elif t == b")":
                # After a call, the callee counts as the previous token: DEREF(p) member.
                t = stack.pop() if stack else b""
            elif t == word:
                if prev.decode() in self.tails:
                    return f"after macro {prev.decode()}"
                for callee in stack:
                    if callee and callee.decode() in self.takers:
                        return f"argument of {callee.decode()}"
            prev = t if t != b"(" else b""
        return None


class IncludeGraph:
    """Files reachable by #include from the TUs, over the union of their
    search paths (every existing match counts: a superset)."""

    def __init__(self, scanner: idents.Scanner, commands: list[CompileCommand]):
        self.scanner = scanner
        quote_dirs: list[str] = []
        angle_dirs: list[str] = []
        forced: set[str] = set()
        for c in commands:
            paths = search_paths(c.args)
            for dirs, found in ((quote_dirs, paths.quote), (angle_dirs, paths.angle)):
                for d in found:
                    if d not in dirs:
                        dirs.append(d)
            forced.update(paths.forced)
        self.quote_dirs = quote_dirs + [d for d in angle_dirs if d not in quote_dirs]
        self.angle_dirs = angle_dirs
        self.forced = sorted(forced)
        self.edges: dict[str, tuple[str, ...]] = {}
        self._rev: tuple[int, dict[str, list[str]]] | None = None  # (edges seen, file -> includers)
        self._resolved: dict[tuple[str, str, str], tuple[str, ...]] = {}

    def _resolve(self, form: str, name: str, here: str) -> tuple[str, ...]:
        key = (form, name, here if '"' in form else "")
        hit = self._resolved.get(key)
        if hit is not None:
            return hit
        if os.path.isabs(name):
            cands = [name]
        elif form == '"' and self.scanner.exists(os.path.normpath(os.path.join(here, name))):
            # The includer's own directory comes first for every TU: fs/9p's "xattr.h" is
            # fs/9p/xattr.h, never the fs/ext4/xattr.h another TU's -I would give.
            cands = [os.path.join(here, name)]
        elif '"' in form:
            cands = [os.path.join(here, name)] + [os.path.join(d, name) for d in self.quote_dirs]
        else:
            cands = [os.path.join(d, name) for d in self.angle_dirs]
        out = []
        for p in cands:
            p = os.path.normpath(p)
            # The preprocessor stops at the first match (or, for #include_next,
            # the first after the current file's directory); every match is a superset.
            if p not in out and self.scanner.exists(p):
                out.append(p)
        self._resolved[key] = tuple(out)
        return self._resolved[key]

    def children(self, path: str) -> tuple[str, ...]:
        kids = self.edges.get(path)
        if kids is None:
            s = self.scanner.scan(path)
            out: list[str] = []
            if s is not None:
                here = os.path.dirname(path)
                for form, name in s.includes:
                    if form == "macro":
                        continue
                    for p in self._resolve(form, name, here):
                        if p not in out:
                            out.append(p)
            kids = self.edges[path] = tuple(out)
        return kids

    def reach(self, roots: Iterable[str]) -> set[str]:
        seen = set()
        todo = deque(r for r in roots)
        while todo:
            p = todo.popleft()
            if p in seen:
                continue
            seen.add(p)
            todo.extend(k for k in self.children(p) if k not in seen)
        return seen

    def includers(self, target: str, mains: Iterable[str]) -> set[str]:
        """Mains that (textually) reach *target*: reverse search over the edges seen."""
        if self._rev is None or self._rev[0] != len(self.edges):
            rev: dict[str, list[str]] = {}
            for src, kids in self.edges.items():
                for k in kids:
                    rev.setdefault(k, []).append(src)
            self._rev = (len(self.edges), rev)
        rev = self._rev[1]
        seen, todo = {target}, deque([target])
        while todo:
            for src in rev.get(todo.popleft(), ()):
                if src not in seen:
                    seen.add(src)
                    todo.append(src)
        mains = set(mains)
        if any(f in seen for f in self.forced):
            return mains  # a forced include reaches it: every TU does
        return seen & mains


def _in_scope(path: str, scope: list[str]) -> bool:
    return any(path == s or path.startswith(s.rstrip(os.sep) + os.sep) for s in scope)


def select(
    tree: Path,
    commands: list[CompileCommand],
    member: str,
    scope: list[str | Path],
    cache_dir: Path | None,
    *,
    exclude: tuple[str, ...] = (),
    known_deps: Callable[[str], tuple[str, ...] | None] | None = None,
) -> Selection:
    """The TUs of *commands* that can hold a use of *member* in *scope*.

    *known_deps* gives, for a TU already parsed once, the files it really
    read (from the cache's manifest), or None.  The answer is cached under
    *cache_dir* and reused while no file it read has changed (stat only).
    """
    scope_s = [os.path.normpath(str(s)) for s in scope]
    excl = tuple(os.path.normpath(e) + os.sep for e in exclude)
    h = hashlib.blake2b(digest_size=16)
    for c in commands:
        h.update("\0".join((c.file, *c.args)).encode() + b"\1")
    sig = (FORMAT, member, tuple(scope_s), h.hexdigest())
    memo_path = cache_dir / "prefilter.pkl" if cache_dir else None
    memo = _load_memo(memo_path, sig)
    if memo is not None:
        return _from_memo(memo, commands)

    import time

    t0 = time.perf_counter()
    scanner = idents.Scanner(cache_dir)
    graph = IncludeGraph(scanner, commands)
    mains = [c.file for c in commands]
    reached = graph.reach(mains + graph.forced)
    t_graph = time.perf_counter()
    macros = Macros(s for s in (scanner.scan(p) for p in sorted(reached)) if s is not None)
    trig = Trigger(member, macros)
    t_macros = time.perf_counter()

    why: dict[str, str] = {}
    consulted = set(reached)
    for p in sorted(reached):
        if not _in_scope(p, scope_s) or p.startswith(excl):
            continue
        try:
            data = open(p, "rb").read()
        except OSError:
            continue
        w = trig.why(data)
        if w:
            why[p] = w
    main_set = set(mains)
    wanted = {m for m in mains if m in why}
    headers: dict[str, list[str]] = {}
    trigger_headers = sorted(p for p in why if p not in main_set)
    real_includers: dict[str, set[str]] = {h: set() for h in trigger_headers}
    if known_deps is not None and trigger_headers:
        for m in mains:
            d = known_deps(m)
            if d:
                for h in trigger_headers:
                    if h in d:
                        real_includers[h].add(m)
    for h in trigger_headers:
        real = real_includers[h]
        textual = graph.includers(h, mains)
        ordered = sorted(real & wanted) + sorted(real - wanted) + sorted((textual - real) & wanted) + \
            sorted(textual - real - wanted)
        headers[h] = ordered
        if ordered and ordered[0] not in wanted:
            wanted.add(ordered[0])
    sel = Selection([c for c in commands if c.file in wanted], sorted(main_set - wanted), headers)
    sel.stats = {"files read": len(reached), "scanned": scanner.scanned, "candidates": len(why),
                 "aliases": sorted(trig.aliases), "member takers": len(trig.takers),
                 "seconds": {"includes": round(t_graph - t0, 2), "macros": round(t_macros - t_graph, 2),
                             "text": round(time.perf_counter() - t_macros, 2)},
                 "why": why}
    scanner.save()
    if memo_path is not None:
        stats = {}
        # The files read, and the directories they and the search path are in (a new header
        # can change what an #include finds).
        paths = consulted | main_set
        paths |= {os.path.dirname(p) for p in paths} | set(graph.quote_dirs) | set(graph.angle_dirs)
        for p in paths:
            st = scanner.stat(p)
            stats[p] = (st.st_mtime_ns, st.st_size) if st else None
        try:
            _atomic_write(memo_path, pickle.dumps((sig, stats, sorted(wanted), sel.headers, sel.stats),
                                                  protocol=pickle.HIGHEST_PROTOCOL))
        except Exception:  # noqa: BLE001 - a memo that cannot be written is only slower next time
            pass
    return sel


def _load_memo(path: Path | None, sig) -> tuple | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as fh, no_gc():
            memo = pickle.load(fh)
    except (OSError, pickle.PickleError, EOFError, ValueError, TypeError, AttributeError):
        return None
    if memo[0] != sig:
        return None
    for p, known in memo[1].items():
        try:
            st = os.stat(p)
            now = (st.st_mtime_ns, st.st_size)
        except OSError:
            now = None
        if now != known:
            return None
    return memo


def _from_memo(memo, commands) -> Selection:
    _, _, wanted, headers, stats = memo
    w = set(wanted)
    sel = Selection([c for c in commands if c.file in w], sorted(c.file for c in commands if c.file not in w),
                    headers, dict(stats, memo=True))
    return sel
