"""Byte-offset edits that carry out a plan, applied in reverse order to the
original bytes.  C is never regenerated from the AST: every edit inserts or
replaces a few bytes at an offset the facts recorded.

Work in progress towards issue 4: this module computes and applies the whole
plan as one edit set (signatures, call sites, field reads); splitting it into
bisectable commits, the kernel-style wrapping and the series come next.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from . import facts as F
from .errors import PassdownError
from .index import Index
from .plan import Plan
from .rules import Rule


@dataclass(frozen=True, order=True)
class Edit:
    file: str  # absolute
    start: int
    end: int  # == start for an insertion
    text: str
    origin: str = ""  # what asked for it, for conflict messages
    unit: str = ""  # the commit it belongs to: "sig:<group>" or "conv:<file>"
    span: tuple[int, int] | None = None  # the ( and ) of the parameter/argument list it inserts into

    @property
    def key(self) -> tuple:
        return (self.file, self.start, self.end, self.text)


class EditConflict(PassdownError):
    """Two different edits to the same bytes."""


@dataclass
class EditSet:
    edits: dict[str, list[Edit]]
    skipped: list[str]  # what was left for a human, with why

    def files(self) -> list[str]:
        return sorted(self.edits)


# -- finding parameter lists in the original text ----------------------------------------

_WS = re.compile(rb"\s*")
_EXPORT = re.compile(rb"\s*EXPORT_SYMBOL\w*\s*\(")


def param_list(data: bytes, name_offset: int) -> tuple[int, int, list[tuple[int, int]]] | None:
    """For a declarator whose name starts at *name_offset* (a function, a
    function-pointer member, local or typedef: ``f(``, ``(*f)(``, ``t(``),
    the offsets of ``(`` and ``)`` of its parameter list and of each parameter."""
    m = re.compile(rb"[A-Za-z_]\w*").match(data, name_offset)
    if not m:
        return None
    i = _WS.match(data, m.end()).end()
    while i < len(data) and data[i:i + 1] == b")":  # (*name)(...) or (name)(...)
        i = _WS.match(data, i + 1).end()
    if data[i:i + 1] != b"(":
        return None
    lparen, depth, start, params = i, 0, i + 1, []
    for j in range(i, len(data)):
        c = data[j:j + 1]
        if c == b"(":
            depth += 1
        elif c == b")":
            depth -= 1
            if depth == 0:
                if data[start:j].strip():
                    params.append(_trim(data, start, j))
                return lparen, j, params
        elif c == b"," and depth == 1:
            params.append(_trim(data, start, j))
            start = j + 1
    return None


def _trim(data: bytes, s: int, e: int) -> tuple[int, int]:
    while s < e and data[s:s + 1].isspace():
        s += 1
    while e > s and data[e - 1:e].isspace():
        e -= 1
    return s, e


def insert_param(data: bytes, plist, index: int, text: str) -> tuple[int, int, str] | None:
    """The (start, end, text) edit adding parameter *text* at *index* of a list."""
    lparen, rparen, params = plist
    if not params or (len(params) == 1 and data[params[0][0]:params[0][1]].strip() == b"void"):
        if params:
            return params[0][0], params[0][1], text
        return lparen + 1, lparen + 1, text
    if index < len(params):
        return params[index][0], params[index][0], f"{text}, "
    return params[-1][1], params[-1][1], f", {text}"


# -- the edit set ------------------------------------------------------------------------


class _Builder:
    def __init__(self, idx: Index, plan: Plan, rule: Rule):
        self.idx, self.plan, self.rule = idx, plan, rule
        self.edits: dict[str, dict[tuple, Edit]] = defaultdict(dict)
        self.by_pos: dict[tuple[str, int, int], Edit] = {}
        self.skipped: list[str] = []
        self.data: dict[str, bytes] = {}

    def read(self, path: str) -> bytes:
        if path not in self.data:
            self.data[path] = Path(path).read_bytes()
        return self.data[path]

    def add(self, path: str, start: int, end: int, text: str, origin: str, unit: str = "",
            span: tuple[int, int] | None = None) -> None:
        e = Edit(path, start, end, text, origin, unit, span)
        old = self.by_pos.get((path, start, end))
        if old is not None and old.text != text:
            if start == end:  # two insertions at one point: keep both, in a stable order
                self.edits[path][e.key] = e
                return
            raise EditConflict(f"conflicting edits to {self.idx.rel(path)} bytes {start}-{end}: "
                               f"'{old.text}' ({old.origin}) and '{text}' ({origin}); report this plan")
        if old is not None:
            return  # identical edits from several TUs (headers) apply once
        self.by_pos[(path, start, end)] = e
        self.edits[path][e.key] = e

    def param_text(self, name: str) -> str:
        t = self.rule.parameter.type
        return f"{t}{name}" if t.endswith("*") else f"{t} {name}"

    # -- signatures -----------------------------------------------------------
    def functions(self) -> None:
        planned = {f.usr: f for f in self.plan.functions}
        for ff in self.idx.files.values():
            for fn in ff.functions:
                pf = planned.get(fn.usr)
                if pf is None:
                    continue
                if fn.macro:
                    self.skipped.append(f"{self.idx.rel(ff.path)}:{fn.line}: {fn.name} declared by macro {fn.macro}")
                    continue
                data = self.read(ff.path)
                line_start = data.rfind(b"\n", 0, fn.name_offset) + 1
                if _EXPORT.match(data, line_start):
                    continue  # EXPORT_SYMBOL(f) declares f again; nothing to edit there
                plist = param_list(data, fn.name_offset)
                ins = insert_param(data, plist, pf.param_index, self.param_text(pf.param_name)) if plist else None
                if ins is None:
                    self.skipped.append(f"{self.idx.rel(ff.path)}:{fn.line}: cannot find the parameters of {fn.name}")
                    continue
                self.add(ff.path, *ins, origin=f"signature of {pf.name}", unit=f"sig:{pf.group}",
                         span=plist[:2])

    def types(self) -> None:
        """Ops members, callback typedefs and function-pointer locals change with their group."""
        decls = {}
        for ff in self.idx.files.values():
            for d in ff.decls:
                decls.setdefault((d.kind, d.key), d)
        index = self._group_index()
        unit_of = {}
        for g in self.plan.groups:
            for m in g.members:
                unit_of[("member", m)] = f"sig:{g.id}"
            for c in g.callbacks:
                unit_of[("callback", c)] = f"sig:{g.id}"
        for struct, member in self.plan.members:
            key = f"{struct}.{member}"
            d = decls.get(("member", key))
            if d is not None:
                self._declarator(d.file, d.offset, index, key, unit_of.get(("member", key), ""), typedef_fallback=True)
        for name, _, _ in self.plan.callback_types:
            d = decls.get(("callback", name))
            unit = unit_of.get(("callback", name), "")
            if d is not None:
                self._declarator(d.file, d.offset, index, f"callback {name}", unit)
            else:
                self._plain_callback(name, index, unit)
        for lc in self.plan.local_copies:
            self._local(lc, index, f"sig:{lc.group}")

    def _group_index(self) -> int:
        return self.plan.functions[0].param_index if self.plan.functions else 0

    def _declarator(self, path: str, offset: int, index: int, what: str, unit: str,
                    typedef_fallback: bool = False) -> None:
        data = self.read(path)
        plist = param_list(data, offset)
        if plist is None and typedef_fallback:
            # `bh_end_io_t *b_end_io;`: the member's type is a function typedef; edit the typedef.
            line_start = data.rfind(b"\n", 0, offset) + 1
            m = re.search(rb"([A-Za-z_]\w*)\s*\*\s*$", data[line_start:offset])
            if m:
                tdef = re.search(rb"typedef[^;]*?\(?\s*\*?\s*\b(" + re.escape(m.group(1)) + rb")\b\s*\)?\s*\(", data)
                if tdef:
                    plist = param_list(data, tdef.start(1))
        if plist is None:
            self.skipped.append(f"{self.idx.rel(path)}: cannot find the parameters of {what}")
            return
        ins = insert_param(data, plist, index, self.param_text(self.rule.parameter.name))
        self.add(path, *ins, origin=what, unit=unit, span=plist[:2])

    def _plain_callback(self, name: str, index: int, unit: str) -> None:
        owner, _, pos = name.rpartition("#")
        for ff in self.idx.files.values():
            for fn in ff.functions:
                if self._display(ff, fn) != owner or not pos.isdigit() or int(pos) >= len(fn.params):
                    continue
                p = fn.params[int(pos)]
                if not p.name:
                    continue
                data = self.read(ff.path)
                at = data.find(p.name.encode(), p.start, p.end)
                if at >= 0:
                    self._declarator(ff.path, at, index, f"parameter {p.name} of {fn.name}", unit)

    def _local(self, lc, index: int, unit: str) -> None:
        for ff in self.idx.files.values():
            for fn in ff.functions:
                if self._display(ff, fn) != lc.function:
                    continue
                for loc in fn.locals:
                    if loc.name != lc.local or loc.callback != "":
                        continue  # typedef'd locals change with their typedef
                    data = self.read(ff.path)
                    at = data.find(loc.name.encode(), loc.offset)
                    if at >= 0:
                        self._declarator(ff.path, at, index, f"local {loc.name} in {fn.name}", unit)

    def _display(self, ff: F.FileFacts, fn: F.Function) -> str:
        return f"{fn.name}@{self.idx.rel(ff.path)}" if fn.storage == "static" else fn.name

    # -- call sites -----------------------------------------------------------
    def calls(self) -> None:
        for cs in self.plan.call_sites:
            path = str(self.idx.tree / cs.file)
            call = self._find_call(path, cs.start)
            if call is None or call.macro:
                self.skipped.append(f"{cs.file}:{cs.line}: call to {cs.callee} inside a macro body")
                continue
            data = self.read(path)
            how = dict(origin=f"call in {cs.caller}", unit=f"sig:{cs.group}")
            if call.args:
                span = (data.rfind(b"(", call.start, call.args[0].start), call.end - 1)
                if cs.arg_index < len(call.args):
                    a = call.args[cs.arg_index]
                    self.add(path, a.start, a.start, f"{cs.argument}, ", span=span, **how)
                else:
                    a = call.args[-1]
                    self.add(path, a.end, a.end, f", {cs.argument}", span=span, **how)
            elif data[call.end - 1:call.end] == b")":
                span = (data.rfind(b"(", call.start, call.end - 1), call.end - 1)
                self.add(path, call.end - 1, call.end - 1, cs.argument, span=span, **how)
            else:
                self.skipped.append(f"{cs.file}:{cs.line}: cannot find the argument list of the call to {cs.callee}")

    def _find_call(self, path: str, start: int) -> F.Call | None:
        ff = self.idx.files.get(path)
        return next((c for c in ff.calls if c.start == start), None) if ff else None

    # -- field reads ----------------------------------------------------------
    def reads(self) -> None:
        helper = self.rule.helper.name
        by_pos = {}
        for path, ff in self.idx.files.items():
            for u in ff.uses:
                by_pos[(self.idx.rel(path), u.line, u.column)] = (path, u)
        needs_include: set[str] = set()
        for c in self.plan.conversions:
            hit = by_pos.get((c.file, c.line, c.column))
            if hit is None:
                if self._accessor_call(c):
                    needs_include.add(str(self.idx.tree / c.file))
                continue
            path, u = hit
            data = self.read(path)
            if u.macro or not u.base:
                self.skipped.append(f"{c.file}:{c.line}: read inside macro {u.macro or '?'} left for review")
                continue
            before = data[max(0, u.expr_start - 40):u.expr_start]
            if re.search(rb"\b(READ_ONCE|WRITE_ONCE|READ_ONCE_NOCHECK)\s*\(\s*$", before):
                self.skipped.append(f"{c.file}:{c.line}: read inside READ_ONCE() left for review")
                continue
            expr = data[u.expr_start:u.expr_end]
            arrow = expr[len(u.base.encode()):].lstrip().startswith(b"->")
            page = u.base if arrow else f"&{u.base}"
            self.add(path, u.expr_start, u.expr_end, f"{helper}({page}, {c.expr})", f"read in {c.function}",
                     unit=f"conv:{c.file}", span=self._enclosing_call(path, u.expr_start, u.expr_end))
            needs_include.add(path)
        for path in needs_include:
            self._include(path)

    def _accessor_call(self, c) -> bool:
        """``page_mapping(page)`` becomes ``fs_page_mapping_or(page, mapping,
        page_mapping)``: the context's mapping for a write-protected page,
        the accessor's own answer (NULL for anon, the swap space for swap
        cache) for every other page; the accessor runs only then."""
        path = str(self.idx.tree / c.file)
        ff = self.idx.files.get(path)
        call = next((k for k in ff.calls if k.line == c.line and k.column == c.column
                     and k.name in self.rule.accessors.functions), None) if ff else None
        if call is None or len(call.args) != 1:
            self.skipped.append(f"{c.file}:{c.line}: accessor call not found; left for review")
            return False
        if call.macro:
            self.skipped.append(f"{c.file}:{c.line}: {call.name}() called inside macro {call.macro} left for review")
            return False
        data = self.read(path)
        page = data[call.args[0].start:call.args[0].end].decode()
        self.add(path, call.start, call.end, f"{self.rule.helper.name}_or({page}, {c.expr}, {call.name})",
                 f"read in {c.function}", unit=f"conv:{c.file}",
                 span=self._enclosing_call(path, call.start, call.end))
        return True

    def _enclosing_call(self, path: str, start: int, end: int) -> tuple[int, int] | None:
        """The argument list a read sits in, so a line it makes too long can be re-flowed."""
        best = None
        data = self.read(path)
        for call in self.idx.files[path].calls if path in self.idx.files else ():
            if call.args and call.args[0].start <= start and end <= call.args[-1].end and not call.macro:
                if best is None or call.start > best.start:
                    best = call
        if best is None:
            return None
        return data.rfind(b"(", best.start, best.args[0].start), best.end - 1

    def _include(self, path: str) -> None:
        header = self.rule.helper.header.removeprefix("include/")
        data = self.read(path)
        if f"<{header}>".encode() in data:
            return
        last = None
        for m in re.finditer(rb"^#include\s*[<\"][^>\"]+[>\"][^\n]*\n", data, re.M):
            last = m
        at = last.end() if last else 0
        self.add(path, at, at, f"#include <{header}>\n", "helper include", unit=f"conv:{self.idx.rel(path)}")


def compute(idx: Index, plan: Plan, rule: Rule) -> EditSet:
    b = _Builder(idx, plan, rule)
    b.functions()
    b.types()
    b.calls()
    b.reads()
    return EditSet({p: sorted(es.values(), key=lambda e: (e.start, e.end, e.text)) for p, es in b.edits.items()},
                   b.skipped)


def apply(data: bytes, edits: list[Edit]) -> bytes:
    """Apply edits to the original bytes, last offset first, so earlier offsets stay valid."""
    out = data
    for e in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        out = out[:e.start] + e.text.encode() + out[e.end:]
    return out


# -- kernel-style wrapping ---------------------------------------------------------------

WIDTH = 100  # checkpatch's max_line_length


def _width(line: bytes) -> int:
    col = 0
    for ch in line.decode(errors="replace"):
        col = (col // 8 + 1) * 8 if ch == "\t" else col + 1
    return col


def _shifted(edits: list[Edit], by: int) -> list[Edit]:
    return [Edit(e.file, e.start + by, e.end + by, e.text) for e in edits]


def _split_top(text: bytes) -> list[bytes] | None:
    """Split a parameter or argument list at its top-level commas."""
    items, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in b"([{":
            depth += 1
        elif c in b")]}":
            depth -= 1
        elif c == ord(",") and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    items = [b" ".join(x.split()) for x in items]
    return items if all(items) else None


def _tight_commas(body: bytes) -> bool:
    """A top-level comma with no space after it."""
    depth = 0
    for i, c in enumerate(body):
        if c in b"([{":
            depth += 1
        elif c in b")]}":
            depth -= 1
        elif c == ord(",") and depth == 0 and i + 1 < len(body) and not body[i + 1:i + 2].isspace():
            return True
    return False


def wrap(data: bytes, edits: list[Edit], width: int = WIDTH) -> list[Edit]:
    """Re-flow every edited parameter or argument list whose lines end up
    longer than *width* columns: one item after another, continuation lines
    aligned with the open parenthesis (tabs, then spaces), as kernel style
    and checkpatch want.  Returns the edits with each re-flowed list's
    insertions replaced by one edit of the whole list."""
    out = list(edits)
    done: list[tuple[int, int]] = []
    for lp, rp in sorted({e.span for e in edits if e.span}, key=lambda s: (s[0], -s[1])):
        if any(a <= lp and rp <= b for a, b in done):
            continue
        ls = data.rfind(b"\n", 0, lp) + 1
        le = data.find(b"\n", rp)
        le = len(data) if le < 0 else le
        inside = [e for e in out if ls <= e.start and e.end <= le]
        region = apply(data[ls:le], _shifted(inside, -ls))
        inner = [e for e in inside if lp < e.start and e.end <= rp]
        body = apply(data[lp + 1:rp], _shifted(inner, -(lp + 1)))
        # checkpatch errors on a line it is shown: `f(page,wbc)` gets its spaces when we touch it
        tight = _tight_commas(body)
        if max(_width(line) for line in region.split(b"\n")) <= width and not tight:
            continue
        if re.search(rb'/\*|//|#|"|\'', body):
            continue  # comments, strings, preprocessor lines: leave the layout to a human
        items = _split_top(body)
        if not items:
            continue
        prefix = apply(data[ls:lp + 1], _shifted([e for e in inside if e.end <= lp], -ls))
        suffix = apply(data[rp:le], _shifted([e for e in inside if e.start >= rp and e not in inner], -rp))
        text = _fill(items, _width(prefix), _width(suffix.split(b"\n")[0]), width)
        out = [e for e in out if e not in inner]
        out.append(Edit(inner[0].file if inner else "", lp + 1, rp, text, "wrap"))
        done.append((lp, rp))
    return [_break_helper_call(data, out, e, width) if e.origin.startswith("read in") else e for e in out]


def _break_helper_call(data: bytes, edits: list[Edit], e: Edit, width: int) -> Edit:
    """A converted read that leaves its line too long: break the helper call
    after its first argument, aligned with its parenthesis."""
    ls = data.rfind(b"\n", 0, e.start) + 1
    le = data.find(b"\n", e.end)
    le = len(data) if le < 0 else le
    others = [x for x in edits if ls <= x.start and x.end <= le and x is not e]
    line = apply(data[ls:le], _shifted(others + [e], -ls))
    if "\n" in e.text or max(_width(l) for l in line.split(b"\n")) <= width:
        return e
    head = apply(data[ls:e.start], _shifted([x for x in others if x.end <= e.start], -ls)).split(b"\n")[-1]
    name, _, rest = e.text.partition("(")
    first, sep, second = rest.partition(", ")
    if not sep:
        return e
    col = _width(head) + len(name) + 1
    indent = "\t" * (col // 8) + " " * (col % 8)
    if col + len(second) + 4 > width:  # too deep to align: the usual two-tab continuation
        indent = re.match(rb"[ \t]*", head).group().decode() + "\t\t"
    return Edit(e.file, e.start, e.end, f"{name}({first},\n{indent}{second}", e.origin, e.unit, e.span)


def _fill(items: list[bytes], col: int, tail: int, width: int) -> str:
    indent = "\t" * (col // 8) + " " * (col % 8)
    lines: list[list[str]] = [[]]
    used = col
    for i, raw in enumerate(items):
        item = raw.decode()
        last = i == len(items) - 1
        need = len(item) + (tail if last else 1)
        if lines[-1] and used + 1 + need > width:
            lines.append([])
            used = col
        used += (1 if lines[-1] else 0) + len(item) + (0 if last else 1)
        lines[-1].append(item)
    return (",\n" + indent).join(", ".join(line) for line in lines)
