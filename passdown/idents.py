"""What a C file mentions, by text: includes, macro definitions, identifiers.

Regular expressions over the bytes, no preprocessing: cheap (the ~8,000 .c
and .h files fs/ + mm/ of Linux read scan in a few seconds, once) and cached
per file by (mtime, size).  Everything here over-approximates: an include or
a definition inside ``#if 0`` or a comment still counts.

Two users:

* the report's prefilter (``prefilter.py``) follows ``includes`` to find what
  a TU can read and reads ``defines`` to find the macros that can expand to a
  member access;
* ``IdentIndex`` answers "which files mention any of these names" from a
  per-file identifier set (cached separately: it is the big part), which is
  what a planner needs to find the TUs that can call a function without
  parsing them all.
"""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Iterable, NamedTuple

from .cache import _atomic_write, no_gc

FORMAT = 1

_INCLUDE = re.compile(rb'^[ \t]*#[ \t]*include(_next)?[ \t]*(?:"([^"\n]+)"|<([^>\n]+)>|([^\n]*))', re.M)
_DEFINE = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)(\([^)\n]*\))?((?:[^\n]*\\\r?\n)*[^\n]*)", re.M)
# Comments, and string/char literals (so a "/*" inside a string does not start a comment).
_NOISE = re.compile(rb'/\*.*?\*/|//(?:[^\n\\]|\\.)*|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'', re.S)
IDENT = re.compile(rb"\b[A-Za-z_]\w*")  # not the suffix of a number (3UL)


class Scan(NamedTuple):
    """One file, by text."""

    includes: tuple[tuple[str, str], ...]  # (form, name): form '"', '<', 'next"', 'next<' or 'macro'
    defines: tuple[tuple[str, tuple[str, ...] | None, str], ...]  # (name, params or None, body)


def strip_noise(data: bytes) -> bytes:
    """Comments and literals blanked, offsets kept (newlines stay)."""
    return _NOISE.sub(lambda m: b" " * len(m.group()) if b"\n" not in m.group() else
                      re.sub(rb"[^\n]", b" ", m.group()), data)


def scan_bytes(data: bytes) -> Scan:
    includes = []
    for m in _INCLUDE.finditer(data):
        nxt = "next" if m.group(1) else ""
        if m.group(2) is not None:
            includes.append((nxt + '"', m.group(2).decode(errors="replace")))
        elif m.group(3) is not None:
            includes.append((nxt + "<", m.group(3).decode(errors="replace")))
        else:
            includes.append(("macro", m.group(4).strip().decode(errors="replace")))
    defines = []
    for m in _DEFINE.finditer(data):
        params = None
        if m.group(2) is not None:
            params = tuple(p.strip().decode(errors="replace") for p in m.group(2)[1:-1].split(b","))
        body = strip_noise(m.group(3)).replace(b"\\\n", b" ").decode(errors="replace")
        defines.append((m.group(1).decode(), params, body))
    return Scan(tuple(includes), tuple(defines))


def _load(path: Path | None) -> dict:
    """A pickled (FORMAT, entries) cache; empty when missing, unreadable or of another format."""
    if path is None:
        return {}
    try:
        with open(path, "rb") as fh, no_gc():
            fmt, entries = pickle.load(fh)
    except (OSError, pickle.PickleError, EOFError, ValueError, TypeError, AttributeError):
        return {}
    return entries if fmt == FORMAT else {}


class Scanner:
    """Scans, cached on disk by (mtime, size) under ``<cache>/idents.pkl``."""

    def __init__(self, cache_dir: Path | None):
        self.path = cache_dir / "idents.pkl" if cache_dir else None
        self.entries: dict[str, tuple[int, int, Scan]] = _load(self.path)
        self.dirty = False
        self.scanned = 0  # files read this run
        self._stat: dict[str, os.stat_result | None] = {}
        self._listing: dict[str, set[str]] = {}

    def stat(self, path: str):
        if path not in self._stat:
            try:
                self._stat[path] = os.stat(path)
            except OSError:
                self._stat[path] = None
        return self._stat[path]

    def exists(self, path: str) -> bool:
        """A regular file?  Answered from one listing per directory."""
        d, base = os.path.split(path)
        names = self._listing.get(d)
        if names is None:
            try:
                names = {e.name for e in os.scandir(d) if not e.is_dir()}
            except OSError:
                names = set()
            self._listing[d] = names
        return base in names

    def scan(self, path: str) -> Scan | None:
        st = self.stat(path)
        if st is None:
            return None
        hit = self.entries.get(path)
        if hit and hit[0] == st.st_mtime_ns and hit[1] == st.st_size:
            return hit[2]
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            return None
        s = scan_bytes(data)
        self.entries[path] = (st.st_mtime_ns, st.st_size, s)
        self.dirty = True
        self.scanned += 1
        return s

    def save(self) -> None:
        if self.path is not None and self.dirty:
            _atomic_write(self.path, pickle.dumps((FORMAT, self.entries), protocol=pickle.HIGHEST_PROTOCOL))
            self.dirty = False


class IdentIndex:
    """Per file, the set of identifiers it spells (outside comments and
    literals); cached under ``<cache>/idents-words.pkl`` by (mtime, size).

    ``mentioning(names, files)`` is what a lazy planner asks: which of these
    files can refer to any of these functions, members or macros.  A file that
    does not spell a name cannot call it, except through a macro: ask again
    with the macros that expand to the name (``Macros.expanding_to``).
    """

    def __init__(self, cache_dir: Path | None):
        self.path = cache_dir / "idents-words.pkl" if cache_dir else None
        self.entries: dict[str, tuple[int, int, frozenset[str]]] = _load(self.path)
        self.dirty = False

    def words(self, path: str) -> frozenset[str]:
        try:
            st = os.stat(path)
        except OSError:
            return frozenset()
        hit = self.entries.get(path)
        if hit and hit[0] == st.st_mtime_ns and hit[1] == st.st_size:
            return hit[2]
        try:
            data = open(path, "rb").read()
        except OSError:
            return frozenset()
        words = frozenset(w.decode() for w in set(IDENT.findall(strip_noise(data))))
        self.entries[path] = (st.st_mtime_ns, st.st_size, words)
        self.dirty = True
        return words

    def mentioning(self, names: Iterable[str], files: Iterable[str]) -> set[str]:
        want = set(names)
        return {f for f in files if not want.isdisjoint(self.words(f))}

    def save(self) -> None:
        if self.path is not None and self.dirty:
            _atomic_write(self.path, pickle.dumps((FORMAT, self.entries), protocol=pickle.HIGHEST_PROTOCOL))
            self.dirty = False
