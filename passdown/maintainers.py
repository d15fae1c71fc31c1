"""The kernel's MAINTAINERS file, matched the way scripts/get_maintainer.pl matches it.

Mirrors ``get_maintainer.pl --subsystem --status --nogit --nogit-fallback -f FILE``
(Linux 6.1): F:/X: patterns are turned into the same anchored regexes, X: is
checked before F:/N:, a section's rank is the depth of its *last* matching
F:/N: line, sections sort deepest first, and K: keywords are matched against the
file's contents.  Ties in rank, which get_maintainer.pl leaves in Perl's random
hash order, keep MAINTAINERS order here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

THE_REST = "THE REST"

_TYPE_LINE = re.compile(r"([A-Z]):\s*(.*)")
_REGEX_META = frozenset("*?[]{}()+|^$\\.")
# Lines get_maintainer.pl reads for file names or commits in a patch, not for K: keywords.
_PATCH_SKIP = re.compile(r" mode change [0-7]+ => [0-7]+ \S+\s*$|rename (?:from|to) \S+\s*$"
                         r"|diff --git a/\S+ b/\S+\s*$|Fixes:\s+[0-9a-fA-F]{6}|@@ -\d+,\d+")
_STATUSES = {s.lower(): s for s in ("Maintained", "Supported", "Odd Fixes", "Orphan", "Obsolete")}


@dataclass(frozen=True)
class Section:
    name: str
    status: str
    maintainers: tuple[str, ...]
    reviewers: tuple[str, ...]
    lists: tuple[str, ...]
    trees: tuple[str, ...]
    files: tuple[str, ...]
    excludes: tuple[str, ...]
    regexes: tuple[str, ...]
    keywords: tuple[str, ...]
    web: tuple[str, ...] = ()
    lists_raw: tuple[str, ...] = ()

    @property
    def status_normalised(self) -> str:
        """"Odd fixes" -> "Odd Fixes"; unknown statuses ("Buried alive in reporters") as written."""
        return _STATUSES.get(self.status.strip().lower(), self.status.strip())


@dataclass(frozen=True)
class _Pattern:
    """One F:, X: or N: line, compiled."""

    kind: str  # "F", "X" or "N"
    regex: re.Pattern | None  # None: a literal prefix (most F: lines)
    literal: str
    is_dir: bool
    slashes: int
    depth: int
    dirs: tuple[str, ...] = ()  # leading directories a path needs to match (an index key)

    def hit(self, path: str, slashes: int) -> bool:
        if self.kind == "N":
            return self.regex.search(path) is not None
        found = path.startswith(self.literal) if self.regex is None else self.regex.match(path) is not None
        # get_maintainer.pl: a pattern without a trailing "/" only matches at its own depth.
        return found and (self.is_dir or self.slashes == slashes)


@dataclass(frozen=True)
class _Entry:
    section: Section
    order: int  # index of its first type line: MAINTAINERS order
    excludes: tuple[_Pattern, ...]
    patterns: tuple[_Pattern, ...]  # F: and N:, in file order (the last hit sets the rank)

    def rank(self, path: str, slashes: int) -> int | None:
        if any(x.hit(path, slashes) for x in self.excludes):
            return None
        rank = None
        for p in self.patterns:
            if p.hit(path, slashes):
                rank = p.depth
        return rank


def _perl_regex(glob: str) -> str:
    # get_maintainer.pl's conversion, in its order: "." -> "\.", "*" -> ".*", "?" -> ".".
    return glob.replace(".", r"\.").replace("*", ".*").replace("?", ".")


def _file_pattern(kind: str, value: str, tree: Path | None) -> _Pattern:
    rx = _perl_regex(value)
    # A pattern naming an existing directory without its "/" gets one (checked
    # on the converted text, as get_maintainer.pl's `-d $value` does).
    if rx and not rx.endswith("/") and tree is not None and (tree / rx).is_dir():
        rx += "/"
    slashes = rx.count("/")
    depth = -1 if rx.startswith(".*") else slashes + (0 if rx.endswith("/") else 1)
    literal = rx.replace(r"\.", ".")
    regex = None
    if _is_regex(rx):
        regex = _compile(rx, 0) or re.compile(re.escape(literal))
    dirs = []
    for comp in rx.split("/")[:-1]:
        if _is_regex(comp):
            break
        dirs.append(comp.replace(r"\.", "."))
    return _Pattern(kind, regex, literal, rx.endswith("/"), slashes, depth, tuple(dirs))


def _is_regex(rx: str) -> bool:
    return any(c in _REGEX_META for c in rx.replace(r"\.", ""))


def _compile(rx: str, flags: int) -> re.Pattern | None:
    # Perl byte-string semantics: \w, \b and (?i) are ASCII-only.
    try:
        return re.compile(rx, flags | re.ASCII)
    except re.error:
        return None


def _typevalue(text: str) -> list[tuple[str | None, str]]:
    """get_maintainer.pl's @typevalue: (type, value) lines and other non-blank, non-# lines."""
    out: list[tuple[str | None, str]] = []
    for line in text.split("\n"):
        m = _TYPE_LINE.match(line)
        if m:
            out.append((m[1], m[2].rstrip()))
        elif line.strip() and not line.lstrip().startswith("#"):
            out.append((None, line.rstrip()))
    return out


def _blocks(tv: list[tuple[str | None, str]]) -> Iterator[tuple[str, int, int]]:
    """(name, first, end) of each run of type lines; its name is the line just before it."""
    i = 0
    while i < len(tv):
        if tv[i][0] is None:
            i += 1
            continue
        end = i
        while end < len(tv) and tv[end][0] is not None:
            end += 1
        yield (tv[i - 1][1].strip() if i > 0 else ""), i, end
        i = end + 1


def _list_address(value: str) -> str:
    # "list@host (moderated for non-subscribers)"; one 6.1 L: is "Name <list@host>".
    if "<" in value:
        return _parse_email(value)[1]
    return value.split()[0] if value.split() else ""


def _section(name: str, lines: list[tuple[str, str]]) -> Section:
    def values(t: str) -> tuple[str, ...]:
        return tuple(v for k, v in lines if k == t)

    statuses = values("S")
    return Section(
        name=name, status=statuses[-1] if statuses else "", maintainers=values("M"), reviewers=values("R"),
        lists=tuple(_list_address(v) for v in values("L")), trees=values("T"), files=values("F"),
        excludes=values("X"), regexes=values("N"), keywords=values("K"), web=values("W"),
        lists_raw=values("L"))


def _parse_email(text: str) -> tuple[str, str]:
    """get_maintainer.pl's parse_email(): (name, address), the name unquoted."""
    name = address = ""
    if m := re.match(r"([^<]+)<(.+@.*)>.*$", text):
        name, address = m[1], m[2]
    elif m := re.match(r"\s*<(.+@\S*)>.*$", text):
        address = m[1]
    elif m := re.match(r"(.+@\S*).*$", text):
        address = m[1]
    return re.sub(r'^"|"$', "", name.strip()), address.strip()


def format_email(name: str, address: str) -> str:
    """get_maintainer.pl's format_email(): names with RFC 822 specials are quoted."""
    name = re.sub(r'^"|"$', "", name.strip())
    if re.search(r"[^\w \-]", name, re.ASCII):
        name = '"' + re.sub(r'(?<!\\)"', r'\\"', name) + '"'
    return f"{name} <{address.strip()}>" if name else address.strip()


def _entry(name: str, order: int, lines: list[tuple[str, str]], tree: Path | None) -> _Entry:
    pats = []
    for t, v in lines:
        if t in ("F", "X"):
            pats.append(_file_pattern(t, v, tree))
        elif t == "N" and (rx := _compile(v, re.VERBOSE)):
            pats.append(_Pattern("N", rx, "", False, 0, 0))
    return _Entry(_section(name, lines), order, tuple(p for p in pats if p.kind == "X"),
                  tuple(p for p in pats if p.kind != "X"))


class Maintainers:
    def __init__(self, text: str, tree: Path | None = None, mailmap: str = ""):
        """Parse MAINTAINERS text; `tree` decides which F: patterns name directories.

        `mailmap` is the tree's .mailmap: get_maintainer.pl rewrites every
        address it prints through it (MAINTAINERS keeps some stale ones).
        """
        tv = _typevalue(text)
        self._tree = tree
        self._mailmap = _Mailmap(mailmap)
        self._entries: list[_Entry] = []
        self._keywords: list[tuple[str, re.Pattern, Section]] = []
        for name, first, end in _blocks(tv):
            entry = _entry(name, first, tv[first:end], tree)
            self._entries.append(entry)
            for i, (t, v) in enumerate(tv[first:end], first):
                if t == "K" and (rx := _compile(v, re.VERBOSE)):
                    self._keywords.append((str(i), rx, entry.section))
        # get_maintainer.pl sorts the matched K: line numbers as strings.
        self._keywords.sort(key=lambda k: k[0])
        self.sections: list[Section] = [e.section for e in self._entries]
        self._by_dirs: dict[tuple[str, ...], list[_Entry]] = {}
        for e in self._entries:
            for key in {p.dirs for p in e.patterns}:
                self._by_dirs.setdefault(key, []).append(e)

    @classmethod
    def load(cls, tree: Path) -> Maintainers | None:
        path = Path(tree) / "MAINTAINERS"
        if not path.is_file():
            return None
        mailmap = Path(tree) / ".mailmap"
        return cls(_read(path), Path(tree), _read(mailmap) if mailmap.is_file() else "")

    def ranked(self, rel_path: str) -> list[tuple[Section, int]]:
        """(section, rank) of every section whose F:/N: patterns match the path, sorted.

        The rank is get_maintainer.pl's: the depth of the section's last matching
        F: line (its "/" count, plus one for a file pattern; -1 for a leading
        "*"), 0 for an N: match.
        """
        return [(e.section, -r) for r, _, e in self._hits(_normalise(rel_path))]

    def _ranked(self, path: str) -> list[Section]:
        return [e.section for *_, e in self._hits(path)]

    def _hits(self, path: str) -> list[tuple[int, int, _Entry]]:
        slashes = path.count("/")
        dirs = tuple(path.split("/")[:-1])
        seen: set[int] = set()
        hits = []
        for k in range(len(dirs) + 1):
            for e in self._by_dirs.get(dirs[:k], ()):
                if e.order not in seen:
                    seen.add(e.order)
                    if (rank := e.rank(path, slashes)) is not None:
                        hits.append((-rank, e.order, e))
        return sorted(hits, key=lambda h: h[:2])

    def _keyword_sections(self, texts: Iterable[tuple[str, int]]) -> list[Section]:
        texts = list(texts)
        return [s for _, rx, s in self._keywords if any(rx.search(t, pos) for t, pos in texts)]

    def _file_text(self, path: str) -> list[tuple[str, int]]:
        f = self._tree / path if self._tree is not None else None
        if f is None or path == "MAINTAINERS" or not f.is_file():
            return []
        return [(f.read_bytes().decode("latin-1"), 0)]

    def sections_for(self, rel_path: str, *, keywords: bool = True) -> list[Section]:
        """Every section for the file, deepest pattern first, then K: matches of its contents."""
        path = _normalise(rel_path)
        found = self._ranked(path)
        if keywords:
            found += self._keyword_sections(self._file_text(path))
        return list(dict.fromkeys(found))

    def subsystem(self, rel_path: str) -> Section | None:
        """The most specific owner by path (K: matches do not own files); THE REST last."""
        found = self._ranked(_normalise(rel_path))
        return next((s for s in found if s.name != THE_REST), found[0] if found else None)

    def recipients(self, rel_paths: Iterable[str], *, keywords: bool = True,
                   patch: str | None = None) -> tuple[list[str], list[str]]:
        """(To, Cc) for a patch touching rel_paths: To the M:, Cc the R: then the L: lists.

        K: keywords are matched against `patch` the way get_maintainer.pl reads a
        patch (changed lines only) when it is given, else against the files.
        THE REST adds only its list, and only for a file nothing else owns.
        """
        sections: list[Section] = []
        texts: list[tuple[str, int]] = []
        for rel in rel_paths:
            found = self._ranked(_normalise(rel))
            sections += [s for s in found if s.name != THE_REST] or found
            if keywords and patch is None:
                texts += self._file_text(_normalise(rel))
        if keywords:
            sections += self._keyword_sections(_patch_lines(patch) if patch is not None else texts)
        return _addresses(list(dict.fromkeys(sections)), self._mailmap)


def _normalise(rel_path: str) -> str:
    path = str(rel_path).replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


class _Mailmap:
    """get_maintainer.pl's reading of .mailmap: names and addresses by wrong address or email."""

    def __init__(self, text: str):
        self.names: dict[str, str] = {}
        self.addresses: dict[str, str] = {}
        for line in text.split("\n"):
            line = re.sub(r"#.*$", "", line).strip()
            if m := re.match(r"([^<]+)<([^>]+)>$", line):
                name, address = _parse_email(f"{m[1].rstrip()} <{m[2]}>")
                self.names[address] = name
            elif m := re.match(r"<([^>]+)>\s*<([^>]+)>$", line):
                self.addresses[m[2]] = m[1]
            elif m := re.match(r"(.+)<([^>]+)>\s*<([^>]+)>$", line):
                self.names[m[3]], self.addresses[m[3]] = _parse_email(f"{m[1].rstrip()} <{m[2]}>")
            elif m := re.match(r"(.+)<([^>]+)>\s*(.+)\s*<([^>]+)>$", line):
                wrong = format_email(*_parse_email(f"{m[3].rstrip()} <{m[4]}>"))
                self.names[wrong], self.addresses[wrong] = _parse_email(f"{m[1].rstrip()} <{m[2]}>")

    def __call__(self, name: str, address: str) -> tuple[str, str]:
        email = format_email(name, address)
        key = email if email in self.names or email in self.addresses else address
        return self.names.get(key, name), self.addresses.get(key, address)


def _addresses(sections: list[Section], mailmap: _Mailmap) -> tuple[list[str], list[str]]:
    names: set[str] = set()
    addrs: set[str] = set()

    def take(entries: Iterable[str]) -> list[tuple[str, str]]:
        # get_maintainer.pl drops an entry whose name *or* address is already listed ...
        out = []
        for entry in entries:
            name, address = _parse_email(entry)
            if not address or (name and name.lower() in names) or address.lower() in addrs:
                continue
            if name:
                names.add(name.lower())
            addrs.add(address.lower())
            out.append((name, address))
        return out

    people = [s for s in sections if s.name != THE_REST]
    to = take(m for s in people for m in s.maintainers)
    cc = take(r for s in people for r in s.reviewers)
    # Subscribers-only lists bounce mail from non-members: get_maintainer.pl leaves them out.
    cc += take(_list_address(raw) for s in sections for raw in s.lists_raw if "subscribers-only" not in raw)
    return _deduplicate(to, cc, mailmap)


def _deduplicate(to: list[tuple[str, str]], cc: list[tuple[str, str]],
                 mailmap: _Mailmap) -> tuple[list[str], list[str]]:
    # ... then maps each through .mailmap, folds those now sharing a name or an
    # address into the first of them, and drops repeats (deduplicate_email, merge_email).
    by_name: dict[str, tuple[str, str]] = {}
    by_addr: dict[str, tuple[str, str]] = {}
    seen: set[str] = set()
    out: tuple[list[str], list[str]] = ([], [])
    for group, entries in enumerate((to, cc)):
        for entry in entries:
            name, address = mailmap(*entry)
            if name and name.lower() in by_name:
                name, address = by_name[name.lower()]
            elif address.lower() in by_addr:
                name, address = by_addr[address.lower()]
            else:
                by_name[name.lower()] = by_addr[address.lower()] = (name, address)
            email = format_email(*mailmap(name, address))
            if email not in seen:
                seen.add(email)
                out[group].append(email)
    return out


def _patch_lines(patch: str) -> Iterator[tuple[str, int]]:
    """The lines of a patch get_maintainer.pl matches K: against, each with where to start.

    Before the first ---/+++ line (the mail and commit message) whole lines
    count; after it only "+" and "-" lines, from their second character.
    """
    in_diff = False
    for line in patch.split("\n"):
        if _PATCH_SKIP.match(line):
            continue
        if re.match(r"(\+\+\+|---)\s+\S", line):
            in_diff = True
        elif not in_diff:
            yield line, 0
        elif line[:1] in ("+", "-"):
            yield line, 1
