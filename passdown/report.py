"""The report of every use of the watched field: data, then renderings.

Every rendering ends with the caveats: the config analysed, the files that
were not analysed, parse failures, and what static analysis cannot see.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections import Counter
from dataclasses import asdict, dataclass, field

from . import facts as F
from .index import Index
from .workspace import Workspace, in_scope

NOT_COMPILED = "not compiled under this config"
IFDEF_OUT = "in code the preprocessor skips under this config"
NOT_INCLUDED = "header not included by any analysed file"


@dataclass(frozen=True)
class Use:
    file: str  # relative to the tree
    line: int
    column: int
    end_column: int
    function: str | None
    access: str | None  # read | write | address; None when not analysed
    compare: bool
    macro: str | None
    status: str  # analysed | not-analysed
    reason: str | None = None
    base: str = ""
    text: str = ""  # the source line, stripped


@dataclass
class Report:
    tree: str
    config: dict
    field: str
    scope: list[str]
    uses: list[Use]
    tus: dict
    caveats: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        analysed = [u for u in self.uses if u.access is not None]
        return {
            "uses": len(self.uses),
            "analysed": len(analysed),
            "not_analysed": len(self.uses) - len(analysed),
            "by_access": dict(sorted(Counter(u.access for u in analysed).items())),
            "compare": sum(u.compare for u in analysed),
            "in_macro": sum(u.macro is not None for u in analysed),
            "by_status": dict(sorted(Counter(u.status for u in self.uses).items())),
            "files": len({u.file for u in self.uses}),
            "functions": len({(u.file, u.function) for u in analysed if u.function}),
            "by_directory": dict(sorted(Counter(subsystem_dir(u.file) for u in self.uses).items())),
            "tus": self.tus,
        }


def subsystem_dir(path: str) -> str:
    """fs/ext2/inode.c -> fs/ext2; mm/filemap.c -> mm; include/linux/x.h -> include/linux."""
    parts = path.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0] if len(parts) > 1 else "."


def build(ws: Workspace, idx: Index, scope, spec: F.FieldSpec, compiled: set[str], plan=None) -> Report:
    key = f"{spec.struct}.{spec.member}"
    fn_names = {fn.usr: fn.name for _, fn in idx.functions()}
    uses: list[Use] = []
    lines_cache: dict[str, list[str]] = {}

    def source_line(path: str, line: int) -> str:
        if path not in lines_cache:
            try:
                lines_cache[path] = open(path, encoding="utf-8", errors="replace").read().splitlines()
            except OSError:
                lines_cache[path] = []
        lines = lines_cache[path]
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""

    for path, ff in sorted(idx.files.items()):
        if not in_scope(path, scope):
            continue
        for u in ff.uses:
            if u.field != key:
                continue
            width = len(u.macro) if u.macro else len(spec.member)
            uses.append(Use(ws.rel(path), u.line, u.column, u.column + width, fn_names.get(u.function) if u.function else None,
                            u.access, u.compare, u.macro, "analysed", None, u.base, source_line(path, u.line)))
        for s in ff.skipped:
            if s.member == spec.member:
                uses.append(Use(ws.rel(path), s.line, s.column, s.column + len(s.member), None, None, False, None,
                                "not-analysed", IFDEF_OUT, "", s.text))
    walked = set(idx.files)
    for path in _scope_files(ws, scope):
        if path in walked:
            continue
        reason = NOT_COMPILED if path.endswith(".c") and path not in compiled else NOT_INCLUDED
        if path.endswith(".c") and path in compiled:
            continue  # compiled but failed to produce facts: listed as a failure
        for line, col, text in textual_uses(path, spec.member):
            uses.append(Use(ws.rel(path), line, col, col + len(spec.member), None, None, False, None,
                            "not-analysed", reason, "", text))
    uses.sort(key=lambda u: (u.file, u.line, u.column))
    if plan is not None:
        uses = after_plan(uses, plan)
    tus = {"total": len(idx.tus), "parsed": idx.parsed, "cached": idx.cached, "failed": len(idx.failures)}
    rep = Report(ws.tree.name, ws.config(), str(spec), [ws.rel(s) for s in scope], uses, tus)
    rep.caveats = caveats(rep, idx, ws)
    return rep


def after_plan(uses: list[Use], plan) -> list[Use]:
    """Mark each analysed use converted (with the mapping it will use) or remaining (with why)."""
    from dataclasses import replace

    conv = {(c.file, c.line, c.column): c for c in plan.conversions}
    left = {(r.file, r.line): r.reason for r in plan.remaining}
    out = []
    for u in uses:
        if u.status != "analysed":
            out.append(replace(u, status="remaining"))
            continue
        c = conv.get((u.file, u.line, u.column))
        if c is not None:
            out.append(replace(u, status="converted", reason=f"{c.expr} ({c.confidence}: {c.provenance})"))
        else:
            out.append(replace(u, status="remaining", reason=left.get((u.file, u.line), "not converted by the plan")))
    return out


def _scope_files(ws: Workspace, scope) -> list[str]:
    excl = ws.exclude()
    out = []
    for s in scope:
        if s.is_file():
            out.append(str(s))
            continue
        for root, dirs, files in os.walk(s):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and
                             not any(os.path.join(root, d).startswith(e) for e in excl))
            out += [os.path.join(root, f) for f in sorted(files) if f.endswith((".c", ".h"))]
    return out


_COMMENT = re.compile(rb"/\*.*?\*/|//[^\n]*", re.S)


def textual_uses(path: str, member: str) -> list[tuple[int, int, str]]:
    """``->member`` / ``.member`` outside comments: for files no config compiled."""
    try:
        data = open(path, "rb").read()
    except OSError:
        return []
    # Blank out comments but keep offsets (and so line numbers) intact.
    clean = _COMMENT.sub(lambda m: re.sub(rb"[^\n]", b" ", m.group()), data)
    out = []
    for m in re.finditer(rb"(->|\.)\s*(" + re.escape(member.encode()) + rb")\b", clean):
        off = m.start(2)
        bol = data.rfind(b"\n", 0, off) + 1
        eol = data.find(b"\n", off)
        line = data.count(b"\n", 0, off) + 1
        out.append((line, off - bol + 1, data[bol: eol if eol >= 0 else None].decode(errors="replace").strip()))
    return out


def caveats(rep: Report, idx: Index, ws: Workspace) -> list[str]:
    c = [f"Analysed under config {rep.config['config']} for arch {rep.config['arch']} "
         f"(compile commands: {rep.config['compile_commands']}); code other configs compile was not seen."]
    not_analysed = Counter(u.reason for u in rep.uses if u.status == "not-analysed")
    for reason, n in sorted(not_analysed.items()):
        c.append(f"{n} textual use(s) {reason}: listed with status not-analysed, found by text only.")
    for t in idx.failures:
        first = next((d for d in t.diagnostics if d.severity in ("error", "fatal")), None)
        why = t.error or (f"{os.path.relpath(first.file, ws.tree) if first.file else '?'}:{first.line}: {first.message}" if first else "?")
        c.append(f"Parse failure in {ws.rel(t.source)}: {why}; uses in it may be incomplete.")
    if idx.crashed:
        c.append(f"libclang crashed on {len(idx.crashed)} file(s): {', '.join(ws.rel(p) for p in idx.crashed)}.")
    c.append("Static inline functions in headers are analysed once, under the flags of the first file that "
             "includes them; a header whose body differs with per-file flags (-DMODULE) is seen one way.")
    c.append("Not visible to static analysis: accesses built by token pasting, inline assembly, "
             "generated sources that only exist in a build, and uses through casts from unrelated types.")
    return c


# -- renderings ---------------------------------------------------------------------


def to_json(rep: Report) -> str:
    data = {
        "tree": rep.tree,
        "config": rep.config,
        "field": rep.field,
        "scope": rep.scope,
        "uses": [asdict(u) for u in rep.uses],
        "summary": rep.summary(),
        "caveats": rep.caveats,
    }
    return json.dumps(data, indent=2) + "\n"


def _describe(u: Use, member: str) -> str:
    if u.status != "analysed":
        return f"{member} {u.reason}"
    what = "compared" if u.compare else {"read": "read", "write": "written", "address": "address taken"}[u.access]
    where = f" in {u.function}()" if u.function else " at file scope"
    via = f" through macro {u.macro}" if u.macro else ""
    return f"{member} {what}{where}{via}"


def to_cocci(rep: Report) -> str:
    # coccicheck prints 0-based columns.
    out = [f"{u.file}:{u.line}:{u.column - 1}-{u.end_column - 1}: {_describe(u, rep.field)}" for u in rep.uses]
    out += [f"# caveat: {c}" for c in rep.caveats]
    return "\n".join(out) + "\n"


def to_markdown(rep: Report) -> str:
    s = rep.summary()
    out = [f"# {rep.field} uses in {rep.tree}", "",
           f"Config: {rep.config['config']} ({rep.config['arch']}). Scope: {' '.join(rep.scope)}.", "",
           f"{s['analysed']} analysed uses in {s['files']} files "
           f"({', '.join(f'{k}: {v}' for k, v in s['by_access'].items())}; {s['compare']} comparisons), "
           f"{s['not_analysed']} not analysed.", "",
           "| directory | uses |", "|---|---:|"]
    out += [f"| {d} | {n} |" for d, n in s["by_directory"].items()]
    out += ["", "| file:line | function | access | macro | status |", "|---|---|---|---|---|"]
    for u in rep.uses:
        acc = (u.access or "") + (" (compare)" if u.compare else "")
        out.append(f"| `{u.file}:{u.line}` | {u.function or ''} | {acc} | {u.macro or ''} | "
                   f"{u.status}{' — ' + u.reason if u.reason else ''} |")
    out += ["", "## Caveats", ""] + [f"- {c}" for c in rep.caveats]
    return "\n".join(out) + "\n"


def to_table(rep: Report, width: int | None = None) -> str:
    from rich.console import Console
    from rich.table import Table

    buf = io.StringIO()
    console = Console(file=buf, width=width or 120, force_terminal=False, color_system=None)
    s = rep.summary()
    by_dir: dict[str, list[Use]] = {}
    for u in rep.uses:
        by_dir.setdefault(subsystem_dir(u.file), []).append(u)
    for d, uses in by_dir.items():
        t = Table(title=f"{d} ({len(uses)})", title_justify="left", show_edge=False, pad_edge=False)
        for col in ("file:line", "function", "access", "macro", "status"):
            t.add_column(col)
        for u in uses:
            acc = (u.access or "-") + ("/cmp" if u.compare else "")
            t.add_row(f"{u.file}:{u.line}", u.function or "-", acc, u.macro or "", u.status if not u.reason else f"{u.status}: {u.reason}")
        console.print(t)
        console.print()
    totals = Table(title="Totals", title_justify="left", show_edge=False)
    totals.add_column("directory")
    totals.add_column("uses", justify="right")
    for d, n in s["by_directory"].items():
        totals.add_row(d, str(n))
    totals.add_row("all", str(s["uses"]))
    console.print(totals)
    console.print(f"\n{s['analysed']} analysed ({', '.join(f'{k} {v}' for k, v in s['by_access'].items())}, "
                  f"{s['compare']} compared), {s['not_analysed']} not analysed; config {rep.config['config']} "
                  f"({rep.config['arch']}); TUs {s['tus']['total']} ({s['tus']['parsed']} parsed, "
                  f"{s['tus']['cached']} cached, {s['tus']['failed']} failed)")
    console.print("\nCaveats:")
    for c in rep.caveats:
        console.print(f"  - {c}")
    return buf.getvalue()


RENDERERS = {"json": to_json, "cocci": to_cocci, "markdown": to_markdown, "table": to_table}
