"""Progress between two revisions or two trees: which uses were added, removed, moved.

``diff(tree, "v6.1", "v6.2")`` checks each revision out into a throw-away git
worktree under the cache directory (``<cache>/worktrees/<commit>/``), never
touching the user's checkout, index or branches (checkout hooks are disabled),
runs the report there and removes the worktree.  A worktree's path depends only
on the commit, so the per-TU cache, keyed by source path and content, is reused
the next time the same commit is compared.  ``against(tree_a, tree_b)`` compares
two trees as they are (two kernel versions side by side).

Compile commands for a revision: the worktree's own ``compile_commands.json``
when the repository tracks one (the corpus does); else the ones of ``--build``
with every path into the tree rewritten into the worktree (kbuild's generated
headers stay in the build directory: the config is the build's, so a revision
whose Kconfig differs much should be prepared on its own and compared with
``--against``).

Matching.  A use is identified by file, function and expression (the object
expression, access, compare and macro; the source text for uses found by text
only).  Per identity, uses on the same line are unchanged; the rest are paired
first by identical source line, then in line order, as *moved* (same function
and expression, different line); what is left is *removed* (old side only) or
*added* (new side only).  Pairs whose status changed (remaining -> converted
under ``--after-plan``, or a different reason) are listed as *changed*.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import InputError, ToolError
from .report import Report, Use, run
from .workspace import Workspace


@dataclass
class Comparison:
    old_label: str
    new_label: str
    old: Report
    new: Report
    unchanged: list[tuple[Use, Use]] = field(default_factory=list)
    moved: list[tuple[Use, Use]] = field(default_factory=list)
    removed: list[Use] = field(default_factory=list)
    added: list[Use] = field(default_factory=list)
    changed: list[tuple[Use, Use]] = field(default_factory=list)  # status or reason differs
    caveats: list[str] = field(default_factory=list)

    def by_group(self) -> dict[str, dict[str, int]]:
        """Per subsystem (or directory): before, after, added, removed, moved."""
        rows: dict[str, Counter] = defaultdict(Counter)
        for u in self.old.uses:
            rows[u.group]["before"] += 1
        for u in self.new.uses:
            rows[u.group]["after"] += 1
        for u in self.added:
            rows[u.group]["added"] += 1
        for u in self.removed:
            rows[u.group]["removed"] += 1
        for _, u in self.moved:
            rows[u.group]["moved"] += 1
        for _, u in self.changed:
            rows[u.group]["changed"] += 1
        cols = ("before", "after", "added", "removed", "moved", "changed")
        out = {g: {c: rows[g][c] for c in cols} for g in rows}
        return dict(sorted(out.items(), key=lambda kv: (-(kv[1]["added"] + kv[1]["removed"]), -kv[1]["before"], kv[0])))

    def totals(self) -> dict[str, int]:
        return {"before": len(self.old.uses), "after": len(self.new.uses), "added": len(self.added),
                "removed": len(self.removed), "moved": len(self.moved), "changed": len(self.changed),
                "unchanged": len(self.unchanged)}


# -- matching -----------------------------------------------------------------------------


def identity(u: Use) -> tuple:
    if u.access is None:  # found by text: no function, no expression but the line itself
        return (u.file, "", " ".join(u.text.split()), u.status == "not-analysed" or u.access is None)
    return (u.file, u.function or "", u.base, u.access, u.compare, u.macro)


def _norm(text: str) -> str:
    return " ".join(text.split())


def compare(old: Report, new: Report, old_label: str = "old", new_label: str = "new") -> Comparison:
    cmp = Comparison(old_label, new_label, old, new)
    a_by: dict[tuple, list[Use]] = defaultdict(list)
    b_by: dict[tuple, list[Use]] = defaultdict(list)
    for u in old.uses:
        a_by[identity(u)].append(u)
    for u in new.uses:
        b_by[identity(u)].append(u)
    for key in sorted(set(a_by) | set(b_by), key=repr):
        a, b = list(a_by.get(key, ())), list(b_by.get(key, ()))
        pairs: list[tuple[Use, Use, bool]] = []
        for test in (lambda x, y: x.line == y.line and x.column == y.column,
                     lambda x, y: x.line == y.line,
                     lambda x, y: _norm(x.text) == _norm(y.text)):
            for x in list(a):
                y = min((y for y in b if test(x, y)), key=lambda y: abs(y.line - x.line), default=None)
                if y is not None:
                    a.remove(x)
                    b.remove(y)
                    pairs.append((x, y, x.line == y.line))
        for x, y in zip(sorted(a, key=lambda u: (u.line, u.column)), sorted(b, key=lambda u: (u.line, u.column))):
            pairs.append((x, y, False))
        n = min(len(a), len(b))
        a, b = sorted(a, key=lambda u: (u.line, u.column))[n:], sorted(b, key=lambda u: (u.line, u.column))[n:]
        for x, y, same_line in pairs:
            (cmp.unchanged if same_line else cmp.moved).append((x, y))
            if (x.status, x.reason_kind) != (y.status, y.reason_kind):
                cmp.changed.append((x, y))
        cmp.removed += a
        cmp.added += b
    order = lambda u: (u.group, u.file, u.line, u.column)  # noqa: E731
    cmp.removed.sort(key=order)
    cmp.added.sort(key=order)
    cmp.moved.sort(key=lambda p: order(p[1]))
    cmp.unchanged.sort(key=lambda p: order(p[1]))
    cmp.changed.sort(key=lambda p: order(p[1]))
    cmp.caveats = _caveats(old, new, old_label, new_label)
    return cmp


def _caveats(old: Report, new: Report, ol: str, nl: str) -> list[str]:
    out = []
    if (old.config["config"], old.config["arch"]) != (new.config["config"], new.config["arch"]):
        out.append(f"The two sides were analysed under different configs: {ol} {old.config['config']} "
                   f"({old.config['arch']}), {nl} {new.config['config']} ({new.config['arch']}).")
    if old.field != new.field:
        out.append(f"The two sides watch different fields: {old.field} and {new.field}.")
    out.append("Uses are matched by file, function and expression: a renamed file or function shows as removed "
               "and added; a line edited around an unchanged use is not a change.")
    common = [c for c in old.caveats if c in new.caveats]
    out += common
    out += [f"[{ol}] {c}" for c in old.caveats if c not in common]
    out += [f"[{nl}] {c}" for c in new.caveats if c not in common]
    return out


# -- running a side ---------------------------------------------------------------------------


def _git(cwd: Path, *args: str, check: bool = True, error=InputError) -> subprocess.CompletedProcess:
    # No hooks: a post-checkout hook of the user's repository must not run on our worktrees.
    try:
        res = subprocess.run(["git", "-c", "core.hooksPath=/dev/null", *args], cwd=cwd, capture_output=True, text=True)
    except OSError as err:
        raise ToolError(f"cannot run git ({err.strerror}); install git for --diff") from None
    if check and res.returncode != 0:
        raise error(f"git {' '.join(args)} failed in {cwd}: {res.stderr.strip() or res.stdout.strip()}")
    return res


def parse_range(text: str) -> tuple[str, str]:
    """``REV1..REV2`` -> (REV1, REV2); a missing side is HEAD, as git says."""
    if "..." in text or ".." not in text:
        raise InputError(f"--diff {text}: give two revisions as REV1..REV2 (e.g. v6.1..v6.2 or HEAD~3..HEAD)")
    a, _, b = text.partition("..")
    return a or "HEAD", b or "HEAD"


@contextlib.contextmanager
def worktree(tree: Path, rev: str, base: Path):
    """Check *rev* of the repository holding *tree* out into a throw-away
    worktree under *base*; yields (the tree's directory in it, commit)."""
    top = Path(_git(tree, "rev-parse", "--show-toplevel").stdout.strip())
    prefix = os.path.relpath(tree.resolve(), top.resolve())
    sha = _git(tree, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False).stdout.strip()
    if not sha:
        raise InputError(f"{rev} is not a commit of the repository at {top}; give a branch, tag or hash")
    path = base / "worktrees" / sha / top.name
    _remove_worktree(top, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _git(top, "worktree", "add", "--detach", "--quiet", str(path), sha, error=ToolError)
    try:
        yield (path / prefix if prefix != "." else path), sha
    finally:
        _remove_worktree(top, path)


def _remove_worktree(top: Path, path: Path) -> None:
    if path.exists():
        _git(top, "worktree", "remove", "--force", str(path), check=False)
        shutil.rmtree(path, ignore_errors=True)
    _git(top, "worktree", "prune", check=False)


def _workspace_for(tree: Path, original: Path, build: Path | None, cache: Path, sha: str) -> Workspace:
    """A Workspace on a worktree: its own compile commands, else --build's moved into it."""
    from . import compdb

    if (tree / compdb.COMPDB_NAME).is_file():
        return Workspace.open(tree, None, cache)
    if build is None:
        raise InputError(f"revision {sha[:12]} has no {compdb.COMPDB_NAME} of its own; pass --build with the tree's "
                         "prepared build directory (its compile commands are moved into each revision)")
    src = compdb.find(original, build)
    moved = cache / "worktrees" / f"{sha}-build"
    moved.mkdir(parents=True, exist_ok=True)
    b, t, w = str(build.resolve()), str(original.resolve()), str(tree)

    def mv(s: str) -> str:
        # The build directory may sit inside the tree (O=): its paths stay.
        return s.replace(b, "\0").replace(t, w).replace("\0", b)

    entries = json.loads(src.read_text())
    out = []
    for e in entries:
        e = dict(e)
        for k in ("directory", "file", "command"):
            if isinstance(e.get(k), str):
                e[k] = mv(e[k])
        if isinstance(e.get("arguments"), list):
            e["arguments"] = [mv(a) for a in e["arguments"]]
        out.append(e)
    (moved / compdb.COMPDB_NAME).write_text(json.dumps(out))
    meta = src.parent / "passdown-prepare.json"
    if meta.is_file():
        shutil.copy(meta, moved / meta.name)
    return Workspace(tree, moved, cache)


def diff(tree: str | Path, rev1: str, rev2: str, *, scope: list[str] | None = None, spec=None, rule=None,
         cache: str | Path | None = None, build: str | Path | None = None, jobs: int = 1, log=None) -> Comparison:
    """The report on two revisions of the repository holding *tree*, compared."""
    ws = Workspace.open(tree, build, cache)
    reports = []
    for rev in (rev1, rev2):
        with worktree(ws.tree, rev, ws.cache_dir) as (wt, sha):
            if log:
                log(f"{rev} ({sha[:12]}): report in {wt}")
            side = _workspace_for(wt, ws.tree, ws.build, ws.cache_dir, sha)
            rep = _side(side, scope, spec, jobs, rule)
            rep.tree = f"{ws.tree.name}@{rev}"
            rep.snippets = {}
            reports.append(rep)
    return compare(reports[0], reports[1], rev1, rev2)


def against(tree_a: str | Path, tree_b: str | Path, *, scope: list[str] | None = None, spec=None, rule=None,
            cache_a=None, cache_b=None, build_a=None, build_b=None, jobs: int = 1) -> Comparison:
    """The report on two trees as they are, compared (old = tree_a)."""
    reps = []
    for tree, build, cache in ((tree_a, build_a, cache_a), (tree_b, build_b, cache_b)):
        ws = Workspace.open(tree, build, cache)
        reps.append(_side(ws, scope, spec, jobs, rule))
    a, b = Path(tree_a).resolve(), Path(tree_b).resolve()
    la, lb = (str(a), str(b)) if a.name == b.name else (a.name, b.name)
    return compare(reps[0], reps[1], la, lb)


def _side(ws: Workspace, scope: list[str] | None, spec, jobs: int, rule) -> Report:
    """One side's report, on the scope paths that exist there: a directory
    added in the newer revision is simply empty in the older one."""
    from . import facts as F

    if scope:
        here = [s for s in scope if (ws.tree / s).exists()]
        gone = [s for s in scope if s not in here]
        if not here:
            field_ = rule.spec if rule is not None else spec or F.FieldSpec("page", "mapping")
            return Report(ws.tree.name, ws.config(), str(field_), list(scope), [], {"total": 0, "parsed": 0, "cached": 0,
                          "failed": 0}, [f"No scope path exists in this tree: {' '.join(scope)}."], rule is not None)
        rep = run(ws, here, spec, jobs=jobs, rule=rule)
        if gone:
            rep.caveats.insert(0, f"Scope paths absent from this tree: {' '.join(gone)}.")
        return rep
    return run(ws, None, spec, jobs=jobs, rule=rule)


# -- renderings --------------------------------------------------------------------------------


def _row(u: Use) -> dict:
    return {k: v for k, v in asdict(u).items() if k in ("file", "line", "column", "function", "kind", "status",
                                                        "reason_kind", "category", "subsystem", "text")}


def to_json(c: Comparison) -> str:
    data = {
        "old": {"label": c.old_label, "tree": c.old.tree, "config": c.old.config, "summary": c.old.summary()},
        "new": {"label": c.new_label, "tree": c.new.tree, "config": c.new.config, "summary": c.new.summary()},
        "totals": c.totals(),
        "by_subsystem": c.by_group(),
        "added": [_row(u) for u in c.added],
        "removed": [_row(u) for u in c.removed],
        "moved": [{"old": _row(a), "new": _row(b)} for a, b in c.moved],
        "changed": [{"old": _row(a), "new": _row(b)} for a, b in c.changed],
        "caveats": c.caveats,
    }
    return json.dumps(data, indent=2) + "\n"


def _where(u: Use) -> str:
    return f"{u.file}:{u.line}"


def to_markdown(c: Comparison) -> str:
    t = c.totals()
    out = [f"# {c.new.field} uses: {c.old_label} → {c.new_label}", "",
           f"{t['before']} → {t['after']} uses: {t['added']} added, {t['removed']} removed, {t['moved']} moved, "
           f"{t['changed']} changed status ({t['before']} + {t['added']} − {t['removed']} = "
           f"{t['before'] + t['added'] - t['removed']}).", "",
           "| subsystem | before | after | added | removed | moved | changed |", "|---|---:|---:|---:|---:|---:|---:|"]
    for g, r in c.by_group().items():
        out.append(f"| {g} | {r['before']} | {r['after']} | {r['added']} | {r['removed']} | {r['moved']} | {r['changed']} |")
    out.append(f"| **total** | **{t['before']}** | **{t['after']}** | **{t['added']}** | **{t['removed']}** | "
               f"**{t['moved']}** | **{t['changed']}** |")
    for title, uses in (("Added", c.added), ("Removed", c.removed)):
        if uses:
            out += ["", f"## {title}", "", "| subsystem | file:line | function | kind | text |", "|---|---|---|---|---|"]
            out += [f"| {u.group} | `{_where(u)}` | {u.function or ''} | {u.kind or ''} | `{u.text}` |" for u in uses]
    if c.moved:
        out += ["", "## Moved", "", "| subsystem | from | to | function |", "|---|---|---|---|"]
        out += [f"| {b.group} | `{_where(a)}` | `{_where(b)}` | {b.function or ''} |" for a, b in c.moved]
    if c.changed:
        out += ["", "## Status changed", "", "| subsystem | use | before | after |", "|---|---|---|---|"]
        out += [f"| {b.group} | `{_where(b)}` {b.function or ''} | {a.status} {a.reason_kind} | {b.status} {b.reason_kind} |"
                for a, b in c.changed]
    out += ["", "## Caveats", ""] + [f"- {x}" for x in c.caveats]
    return "\n".join(out) + "\n"


def to_table(c: Comparison, width: int | None = None) -> str:
    from rich.console import Console
    from rich.table import Table

    buf = io.StringIO()
    con = Console(file=buf, width=width or 120, force_terminal=False, color_system=None)
    t = c.totals()
    tab = Table(title=f"{c.new.field} uses: {c.old_label} -> {c.new_label}", title_justify="left", show_edge=False)
    for col in ("subsystem", "before", "after", "added", "removed", "moved", "changed"):
        tab.add_column(col, justify="left" if col == "subsystem" else "right")
    for g, r in c.by_group().items():
        tab.add_row(g, *(str(r[k]) for k in ("before", "after", "added", "removed", "moved", "changed")))
    tab.add_row("total", *(str(t[k]) for k in ("before", "after", "added", "removed", "moved", "changed")))
    con.print(tab)
    for title, rows in (("added", [(u.group, _where(u), u.function or "-", u.text) for u in c.added]),
                        ("removed", [(u.group, _where(u), u.function or "-", u.text) for u in c.removed]),
                        ("moved", [(b.group, f"{_where(a)} -> {b.line}", b.function or "-", b.text) for a, b in c.moved])):
        if not rows:
            continue
        con.print()
        tt = Table(title=f"{title} ({len(rows)})", title_justify="left", show_edge=False)
        for col in ("subsystem", "use", "function", "text"):
            tt.add_column(col)
        for r in rows:
            tt.add_row(*r)
        con.print(tt)
    con.print("\nCaveats:")
    for x in c.caveats:
        con.print(f"  - {x}")
    return "".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines())


RENDERERS = {"table": to_table, "json": to_json, "markdown": to_markdown}
