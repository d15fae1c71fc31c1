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
from pathlib import Path

from . import facts as F
from .index import Index
from .workspace import Workspace, in_scope

NOT_COMPILED = "not compiled under this config"
IFDEF_OUT = "in code the preprocessor skips under this config"
NOT_INCLUDED = "header not included by any analysed file"
PARSE_FAILED = "parse failure: its compile command gave no facts"


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
    # classification (classify.py): filled by build()
    kind: str | None = None  # read | write | compare | address; None when not analysed
    category: str = ""  # Glisse's category: file | core-mm | block-io | debug | gup | other
    category_why: str = ""
    folio: tuple[str, ...] = ()  # where a struct folio is in reach in the function
    reason_kind: str = ""  # the short class of `reason`; "converted" for converted uses
    hint: str = ""
    # ownership (MAINTAINERS): "" when the tree has none or no entry matches
    subsystem: str = ""
    subsystem_status: str = ""
    subsystem_tree: str = ""
    subsystem_list: str = ""
    chain: tuple = ()  # converted uses: chains.Edge tuples, the mapping's way to the use
    # several configs merged (merge.py): the configs that analysed the use, and those that
    # listed its place as not analysed (#if'd out, not compiled); () in a one-config report
    configs: tuple[str, ...] = ()
    skipped_in: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        """The report's grouping: the MAINTAINERS subsystem, else the directory."""
        return self.subsystem or subsystem_dir(self.file)


@dataclass
class Report:
    tree: str
    config: dict
    field: str
    scope: list[str]
    uses: list[Use]
    tus: dict
    caveats: list[str] = field(default_factory=list)
    planned: bool = False  # statuses are converted/remaining (report --after-plan)
    maintainers: str | None = None  # the MAINTAINERS file used, relative to the tree
    # (file, line) -> (first line number, source lines around the use): for html
    snippets: dict = field(default_factory=dict, repr=False)
    # several configs merged (merge.py): one dict per config (label, config, arch, counts)
    configs: list[dict] = field(default_factory=list)
    # the scope's files this config analysed (relative): for merge.py, not rendered
    analysed_files: frozenset = field(default_factory=frozenset, repr=False, compare=False)

    @property
    def merged(self) -> bool:
        return len(self.configs) > 1

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
            "by_kind": dict(sorted(Counter(u.kind for u in analysed).items())),
            "by_category": dict(sorted(Counter(u.category for u in self.uses).items())),
            "by_reason": dict(sorted(Counter(u.reason_kind for u in self.uses if u.reason_kind).items())),
            "folio_in_reach": sum(bool(u.folio) for u in self.uses),
            "by_subsystem": self.by_group(),
            "tus": self.tus,
        } | ({"by_config": self.by_config()} if self.merged else {})

    def by_config(self) -> dict[str, dict]:
        """Per config merged: uses it analysed, those no other config analysed, and the
        places it listed as not analysed; plus how many uses every config analysed."""
        n = len(self.configs)
        out = {c["label"]: {"analysed": sum(c["label"] in u.configs for u in self.uses),
                            "only_here": sum(u.configs == (c["label"],) for u in self.uses),
                            "not_analysed_here": sum(c["label"] in u.skipped_in for u in self.uses)}
               for c in self.configs}
        out["every config"] = {"analysed": sum(len(u.configs) == n for u in self.uses)}
        out["no config"] = {"listed": sum(not u.configs for u in self.uses)}
        return out

    def by_group(self) -> dict[str, dict]:
        """Per subsystem (or directory): counts by status and access kind, with owners."""
        out: dict[str, dict] = {}
        for u in self.uses:
            g = out.setdefault(u.group, {"status": u.subsystem_status, "tree": u.subsystem_tree,
                                         "list": u.subsystem_list, "uses": 0, "by_status": Counter(),
                                         "by_kind": Counter(), "by_reason": Counter()})
            g["uses"] += 1
            g["by_status"][u.status] += 1
            g["by_kind"][u.kind or "not analysed"] += 1
            if u.status in ("remaining", "not-analysed"):
                g["by_reason"][u.reason_kind] += 1
        for g in out.values():
            for k in ("by_status", "by_kind", "by_reason"):
                g[k] = dict(sorted(g[k].items()))
        return dict(sorted(out.items(), key=lambda kv: (-kv[1]["uses"], kv[0])))


def subsystem_dir(path: str) -> str:
    """fs/ext2/inode.c -> fs/ext2; mm/filemap.c -> mm; include/linux/x.h -> include/linux."""
    parts = path.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0] if len(parts) > 1 else "."


def build(ws: Workspace, idx: Index, scope, spec: F.FieldSpec, compiled: set[str], plan=None) -> Report:
    key = f"{spec.struct}.{spec.member}"
    fn_names = {fn.usr: fn.name for _, fn in idx.functions()}
    uses: list[Use] = []
    usrs: dict[tuple[str, int, int], str] = {}  # use position -> enclosing function's USR
    lines_cache: dict[str, list[str]] = {}

    def source_lines(path: str) -> list[str]:
        if path not in lines_cache:
            try:
                lines_cache[path] = open(path, encoding="utf-8", errors="replace").read().splitlines()
            except OSError:
                lines_cache[path] = []
        return lines_cache[path]

    def source_line(path: str, line: int) -> str:
        lines = source_lines(path)
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
            if u.function:
                usrs[(ws.rel(path), u.line, u.column)] = u.function
        for s in ff.skipped:
            if s.member == spec.member:
                uses.append(Use(ws.rel(path), s.line, s.column, s.column + len(s.member), None, None, False, None,
                                "not-analysed", IFDEF_OUT, "", s.text))
    walked = set(idx.files)
    for path in _scope_files(ws, scope):
        if path in walked:
            continue
        if path.endswith(".c"):
            # A compiled file that gave no facts failed to parse (its failure is a caveat).
            reason = PARSE_FAILED if path in compiled else NOT_COMPILED
        else:
            reason = NOT_INCLUDED
        for line, col, text in textual_uses(path, spec.member):
            uses.append(Use(ws.rel(path), line, col, col + len(spec.member), None, None, False, None,
                            "not-analysed", reason, "", text))
    uses.sort(key=lambda u: (u.file, u.line, u.column))
    if plan is not None:
        uses = after_plan(uses, plan)
    owners = load_maintainers(ws.tree)
    uses = annotate(uses, ws, idx, usrs, plan, owners)
    tus = {"total": len(idx.tus), "parsed": idx.parsed, "cached": idx.cached, "failed": len(idx.failures)}
    rep = Report(ws.tree.name, ws.config(), str(spec), [ws.rel(s) for s in scope], uses, tus, planned=plan is not None,
                 maintainers="MAINTAINERS" if owners is not None else None,
                 analysed_files=frozenset(ws.rel(p) for p in idx.files if in_scope(p, scope)))
    for u in uses:
        lines = source_lines(str(ws.tree / u.file))
        first = max(1, u.line - SNIPPET_CONTEXT)
        rep.snippets[(u.file, u.line)] = (first, lines[first - 1:u.line + SNIPPET_CONTEXT])
    rep.caveats = caveats(rep, idx, ws)
    return rep


DEFAULT_SCOPE = ("fs", "mm")


def run(ws: Workspace, scope: list[str] | None = None, spec: F.FieldSpec | None = None, *, jobs: int = 1,
        rule=None, progress=None) -> Report:
    """The whole pipeline for one tree: index the scope's TUs (every TU with a
    rule: callers outside the scope get the parameter too), plan when a rule is
    given, build the report.  What ``passdown report`` does, for callers that
    are not the command line (``report --diff`` runs it once per revision)."""
    from . import index as index_mod
    from . import plan as plan_mod

    if rule is not None:
        spec = rule.spec
    spec = spec or F.FieldSpec("page", "mapping")
    scope = scope or [d for d in DEFAULT_SCOPE if (ws.tree / d).is_dir()] or ["."]
    paths = ws.scope(scope)
    commands = ws.commands()
    chosen = commands if rule is not None else [c for c in commands if in_scope(c.file, paths)]
    if not chosen and any(not str(s).endswith(".c") for s in paths):
        chosen = commands  # headers only: every TU may include them
    idx = index_mod.run(ws.tree, chosen, (spec,), ws.open_cache(), jobs=jobs, exclude=ws.exclude(), progress=progress,
                        uses_in=paths if rule is None else None)
    plan = plan_mod.make_plan(idx, rule, paths, ws.config()) if rule is not None else None
    return build(ws, idx, paths, spec, {c.file for c in commands}, plan)


def open_configs(tree, sides: list[tuple[str, str]], cache=None, *, scope: list[str] | None = None,
                 jobs: int = 1, log=None) -> list[tuple[str, Workspace]]:
    """One Workspace per config, labelled, in the order given (``report
    --build B1 --build B2 --config arm64:defconfig``).

    *sides*: ``("build", DIR)`` for a prepared build directory (or the tree
    itself: its own compile commands), ``("config", "[ARCH:]NAME")`` for a
    config prepared, when it is not yet, into ``<cache>/build-<arch>-<name>``
    (for the scope's directories).  The first config uses the cache directory
    itself, as a one-config run does (its warm entries serve both); each other
    one ``<cache>/configs/<label>``: a header's facts come from the first TU
    that walks it, which must be one of the same config."""
    from . import kbuild
    from . import merge
    from .cache import default_dir

    t = Path(tree).resolve()
    base = Path(cache).resolve() if cache else default_dir(t)
    builds: list[Path | None] = []
    for kind, value in sides:
        if kind == "build":
            b = Path(value).resolve()
            builds.append(None if b == t else b)
        elif kind == "config":
            arch, name = kbuild.parse_config_spec(value)
            b = kbuild.config_build_dir(base, arch, name, tree=t)
            kbuild.ensure_prepared(t, b, config=name, arch=arch, dirs=kbuild.dirs_for_scope(t, scope), jobs=jobs,
                                   log=log)
            builds.append(b)
        else:
            raise ValueError(f"unknown config side {kind!r}")
    wss = [Workspace.open(t, b, base) for b in builds]
    labels = merge.unique_labels([merge.config_label(ws.meta(), ws.build, ws.tree) for ws in wss])
    for i, (label, ws) in enumerate(zip(labels, wss)):
        if i:
            ws.cache_dir = base / "configs" / merge.slug(label)
    return list(zip(labels, wss))


def run_configs(workspaces: list[tuple[str, Workspace]], scope: list[str] | None = None,
                spec: F.FieldSpec | None = None, *, jobs: int = 1, progress=None, log=None) -> Report:
    """``run`` once per config, then one merged report (``merge.merge``); with
    one config, that config's report as it is."""
    from . import merge

    sides = []
    for label, ws in workspaces:
        rep = run(ws, scope, spec, jobs=jobs, progress=progress)
        if log:
            analysed = sum(u.access is not None for u in rep.uses)
            log(f"{label}: {analysed} uses analysed, {len(rep.uses) - analysed} not analysed; TUs {rep.tus['total']} "
                f"({rep.tus['parsed']} parsed, {rep.tus['cached']} cached, {rep.tus['failed']} failed)")
        sides.append((label, rep))
    return merge.merge(sides)


SNIPPET_CONTEXT = 3  # lines either side of a use in the html report


def load_maintainers(tree):
    """The tree's own MAINTAINERS, or None."""
    from .maintainers import Maintainers

    return Maintainers.load(tree)


def annotate(uses: list[Use], ws: Workspace, idx: Index, usrs: dict, plan=None, owners=None) -> list[Use]:
    """Fill in each use's classification, owner and (converted uses) chain."""
    from dataclasses import replace

    from . import chains as CH
    from . import classify as C

    ctxs = C.Contexts(idx, ws.tree)
    chains, conv = None, {}
    if plan is not None:
        from . import graph as G

        chains = CH.Chains(plan, G.build(idx))
        conv = {(c.file, c.line, c.column): c for c in plan.conversions}
    section_cache: dict[str, object] = {}
    out = []
    for u in uses:
        ctx = ctxs.get(usrs.get((u.file, u.line, u.column)))
        cat, why = C.category(u.file, ctx)
        folio = ctx.folio if ctx else ()
        rk = C.reason_kind(u.status, u.reason)
        kind = C.access_kind(u.access, u.compare)
        extra = dict(kind=kind, category=cat, category_why=why, folio=folio, reason_kind=rk,
                     hint=C.hint(u.status, kind or "", cat, folio, rk))
        if owners is not None:
            if u.file not in section_cache:
                section_cache[u.file] = owners.subsystem(u.file)
            sec = section_cache[u.file]
            if sec is not None:
                extra.update(subsystem=sec.name, subsystem_status=sec.status_normalised,
                             subsystem_tree=sec.trees[0] if sec.trees else "", subsystem_list=", ".join(sec.lists))
        c = conv.get((u.file, u.line, u.column)) if u.status == "converted" else None
        if chains is not None and c is not None:
            extra["chain"] = tuple(tuple(e.as_list()) for e in chains.of(c.function, c.provenance, c.expr))
        out.append(replace(u, **extra))
    return out


def after_plan(uses: list[Use], plan) -> list[Use]:
    """Mark each analysed use converted (with the mapping it will use) or remaining (with why)."""
    from dataclasses import replace

    conv = {(c.file, c.line, c.column): c for c in plan.conversions}
    left = {(r.file, r.line): r.reason for r in plan.remaining}
    out = []
    for u in uses:
        if u.status != "analysed":
            # The plan says more about #if'd-out uses (which definition needs the parameter).
            out.append(replace(u, status="remaining", reason=left.get((u.file, u.line), u.reason)))
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
    if getattr(idx, "skipped", None):
        c.append(f"{len(idx.skipped)} TU(s) of the scope were not parsed: the token prefilter found no use of the "
                 "field possible in their text (no member access, no macro that can expand to one); a header with "
                 "one is analysed through one of its includers.")
    if idx.crashed:
        c.append(f"libclang crashed on {len(idx.crashed)} file(s): {', '.join(ws.rel(p) for p in idx.crashed)}.")
    c.append("Static inline functions in headers are analysed once, under the flags of the first file that "
             "includes them; a header whose body differs with per-file flags (-DMODULE) is seen one way.")
    c.append("Not visible to static analysis: accesses built by token pasting, inline assembly, "
             "generated sources that only exist in a build, and uses through casts from unrelated types.")
    return c


# -- renderings ---------------------------------------------------------------------


def _use_dict(u: Use, merged: bool) -> dict:
    d = asdict(u)
    if not merged:  # a one-config report is what it always was
        del d["configs"], d["skipped_in"]
    return d


def to_json(rep: Report) -> str:
    data = {
        "tree": rep.tree,
        "config": rep.config,
        **({"configs": rep.configs} if rep.merged else {}),
        "field": rep.field,
        "scope": rep.scope,
        "planned": rep.planned,
        "maintainers": rep.maintainers,
        "uses": [_use_dict(u, rep.merged) for u in rep.uses],
        "summary": rep.summary(),
        "caveats": rep.caveats,
    }
    return json.dumps(data, indent=2) + "\n"


def from_json(text: str) -> Report:
    """A report back from its json rendering (for --diff of saved reports and tests)."""
    data = json.loads(text)
    names = {f.name for f in Use.__dataclass_fields__.values()}
    uses = []
    for u in data["uses"]:
        u = {k: v for k, v in u.items() if k in names}
        u["folio"] = tuple(u.get("folio", ()))
        u["chain"] = tuple(tuple(e) for e in u.get("chain", ()))
        u["configs"] = tuple(u.get("configs", ()))
        u["skipped_in"] = tuple(u.get("skipped_in", ()))
        uses.append(Use(**u))
    return Report(data["tree"], data["config"], data["field"], data["scope"], uses, data["summary"].get("tus", {}),
                  data["caveats"], data.get("planned", False), data.get("maintainers"), configs=data.get("configs", []))


def _what(u: Use) -> str:
    return {"compare": "compared", "read": "read", "write": "written", "address": "address taken"}.get(u.kind or "", "")


def configs_text(rep: Report, u: Use) -> str:
    """Merged reports: the configs a use was analysed under ("all", "none", or the labels)."""
    if not rep.merged:
        return ""
    if len(u.configs) == len(rep.configs):
        return "all"
    return ", ".join(u.configs) or "none"


def _describe(u: Use, member: str, rep: Report | None = None) -> str:
    if u.access is None:
        return f"{member} {u.reason}"
    if rep is not None and rep.merged and len(u.configs) < len(rep.configs):
        return _describe(u, member) + f" [analysed under {', '.join(u.configs)} only]"
    where = f" in {u.function}()" if u.function else " at file scope"
    via = f" through macro {u.macro}" if u.macro else ""
    text = f"{member} {_what(u)}{where}{via}"
    if u.category:
        text += f" [{u.category}" + (f"; {u.subsystem}" if u.subsystem else "") + "]"
    if u.status in ("converted", "remaining"):
        text += f": {u.status}" + (f", {u.reason}" if u.reason else "")
    if u.folio:
        text += f"; folio in reach: {', '.join(u.folio)}"
    return text


def to_cocci(rep: Report) -> str:
    # coccicheck prints 0-based columns.
    out = [f"{u.file}:{u.line}:{u.column - 1}-{u.end_column - 1}: {_describe(u, rep.field, rep)}" for u in rep.uses]
    out += [f"# caveat: {c}" for c in rep.caveats]
    return "\n".join(out) + "\n"


def groups(rep: Report) -> dict[str, list[Use]]:
    """Uses by subsystem (MAINTAINERS) or directory, biggest first."""
    out: dict[str, list[Use]] = {}
    for g in rep.by_group():
        out[g] = []
    for u in rep.uses:
        out[u.group].append(u)
    return out


STATUS_COLUMNS = ("remaining", "converted", "analysed", "not-analysed")


def _status_text(u: Use) -> str:
    return u.status + (f": {u.reason_kind}" if u.reason_kind and u.reason_kind != "converted" else "")


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(rep: Report) -> str:
    s = rep.summary()
    statuses = [k for k in STATUS_COLUMNS if k in s["by_status"]]
    configs = ("Configs: " + ", ".join(f"{c['label']} ({c['arch']})" for c in rep.configs) if rep.merged
               else f"Config: {rep.config['config']} ({rep.config['arch']})")
    out = [f"# {rep.field} uses in {rep.tree}", "",
           f"{configs}. Scope: {' '.join(rep.scope)}. "
           f"Owners: {rep.maintainers or 'no MAINTAINERS file (grouped by directory)'}.", "",
           f"{s['analysed']} analysed uses in {s['files']} files "
           f"({', '.join(f'{k}: {v}' for k, v in s['by_kind'].items())}), "
           f"{s['not_analysed']} not analysed; {s['folio_in_reach']} with a struct folio in reach"
           + (f"; {', '.join(f'{k}: {v}' for k, v in s['by_status'].items())}" if rep.planned else "") + ".", ""]
    if rep.merged:
        bc = s["by_config"]
        out += ["## By config", "", "| config | arch | compile commands | analysed | only under it | "
                "listed as not analysed under it |", "|---|---|---|---:|---:|---:|"]
        out += [f"| {_md(c['label'])} | {c['arch']} | `{c['compile_commands']}` | {bc[c['label']]['analysed']} | "
                f"{bc[c['label']]['only_here']} | {bc[c['label']]['not_analysed_here']} |" for c in rep.configs]
        out += ["", f"{bc['every config']['analysed']} uses analysed under every config; {bc['no config']['listed']} "
                "under none (listed from the skipped ranges and the files no config compiles).", ""]
    out += ["## By subsystem", "",
           "| subsystem | status | uses | " + " | ".join(statuses) + " | read | write | compare | address |",
           "|---|---|---:|" + "---:|" * (len(statuses) + 4)]
    for name, g in s["by_subsystem"].items():
        out.append(f"| {_md(name)} | {g['status']} | {g['uses']} | "
                   + " | ".join(str(g["by_status"].get(k, 0)) for k in statuses) + " | "
                   + " | ".join(str(g["by_kind"].get(k, 0)) for k in ("read", "write", "compare", "address")) + " |")
    out.append(f"| **total** | | **{s['uses']}** | " + " | ".join(f"**{s['by_status'].get(k, 0)}**" for k in statuses)
               + " | " + " | ".join(f"**{s['by_kind'].get(k, 0)}**" for k in ("read", "write", "compare", "address"))
               + " |")
    out += ["", "## By category (Glisse)", "", "| category | uses | meaning |", "|---|---:|---|"]
    from .classify import CATEGORIES

    out += [f"| {c} | {n} | {CATEGORIES.get(c, '')} |" for c, n in s["by_category"].items()]
    if s["by_reason"]:
        out += ["", "## Why uses remain" if rep.planned else "## Why uses were not analysed", "",
                "| reason | uses |", "|---|---:|"]
        out += [f"| {r} | {n} |" for r, n in sorted(s["by_reason"].items(), key=lambda kv: (-kv[1], kv[0]))
                if r != "converted"]
    out += ["", "## Uses"]
    for name, uses in groups(rep).items():
        u0 = uses[0]
        owner = f" — {u0.subsystem_status}" if u0.subsystem_status else ""
        owner += f", {u0.subsystem_list}" if u0.subsystem_list else ""
        owner += f", tree `{u0.subsystem_tree}`" if u0.subsystem_tree else ""
        cfg_head, cfg_rule = (" configs |", "---|") if rep.merged else ("", "")
        out += ["", f"### {name} ({len(uses)}){owner}", "",
                f"| file:line | function | kind | category | folio | status |{cfg_head} hint |",
                f"|---|---|---|---|---|---|{cfg_rule}---|"]
        for u in uses:
            kind = (u.kind or "") + (f" via {u.macro}" if u.macro else "")
            status = u.status + (f" — {u.reason}" if u.reason else "")
            cfg = f" {_md(configs_text(rep, u))} |" if rep.merged else ""
            out.append(f"| `{u.file}:{u.line}` | {u.function or ''} | {kind} | {u.category} | "
                       f"{_md('; '.join(u.folio))} | {_md(status)} |{cfg} {_md(u.hint)} |")
    out += ["", "## Caveats", ""] + [f"- {c}" for c in rep.caveats]
    return "\n".join(out) + "\n"


def to_table(rep: Report, width: int | None = None) -> str:
    from rich.console import Console
    from rich.table import Table

    buf = io.StringIO()
    console = Console(file=buf, width=width or 120, force_terminal=False, color_system=None)
    s = rep.summary()
    for name, uses in groups(rep).items():
        u0 = uses[0]
        owner = ", ".join(x for x in (u0.subsystem_status, u0.subsystem_list) if x)
        t = Table(title=f"{name} ({len(uses)})" + (f" [{owner}]" if owner else ""), title_justify="left",
                  show_edge=False, pad_edge=False)
        for col in ("file:line", "function", "kind", "category", "status") + (("configs",) if rep.merged else ()):
            t.add_column(col)
        for u in uses:
            kind = (u.kind or "-") + (f" ({u.macro})" if u.macro else "") + (" folio" if u.folio else "")
            t.add_row(f"{u.file}:{u.line}", u.function or "-", kind, u.category, _status_text(u),
                      *((configs_text(rep, u),) if rep.merged else ()))
        console.print(t)
        console.print()
    statuses = [k for k in STATUS_COLUMNS if k in s["by_status"]]
    totals = Table(title="Totals by subsystem", title_justify="left", show_edge=False)
    totals.add_column("subsystem")
    totals.add_column("status")
    for col in ("uses", *statuses, "folio"):
        totals.add_column(col, justify="right")
    for name, uses in groups(rep).items():
        g = s["by_subsystem"][name]
        totals.add_row(name, g["status"], str(g["uses"]), *(str(g["by_status"].get(k, 0)) for k in statuses),
                       str(sum(bool(u.folio) for u in uses)))
    totals.add_row("all", "", str(s["uses"]), *(str(s["by_status"].get(k, 0)) for k in statuses),
                   str(s["folio_in_reach"]))
    console.print(totals)
    console.print(f"\nBy category: {', '.join(f'{k} {v}' for k, v in s['by_category'].items())}")
    if rep.merged:
        bc = s["by_config"]
        console.print("By config: " + ", ".join(
            f"{c['label']} {bc[c['label']]['analysed']} analysed ({bc[c['label']]['only_here']} only there)"
            for c in rep.configs) + f"; every config {bc['every config']['analysed']}, none {bc['no config']['listed']}")
    if s["by_reason"]:
        console.print(f"By reason: {', '.join(f'{k} {v}' for k, v in sorted(s['by_reason'].items(), key=lambda kv: (-kv[1], kv[0])))}")
    console.print(f"\n{s['analysed']} analysed ({', '.join(f'{k} {v}' for k, v in s['by_kind'].items())}), "
                  f"{s['not_analysed']} not analysed; config {rep.config['config']} "
                  f"({rep.config['arch']}); TUs {s['tus']['total']} ({s['tus']['parsed']} parsed, "
                  f"{s['tus']['cached']} cached, {s['tus']['failed']} failed)")
    console.print("\nCaveats:")
    for c in rep.caveats:
        console.print(f"  - {c}")
    return "".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines())


def to_sarif(rep: Report) -> str:
    from .sarif import to_sarif as render

    return render(rep)


def to_html(rep: Report, graphviz: bool | None = None) -> str:
    from .htmlreport import render

    return render(rep, graphviz=graphviz)


RENDERERS = {"json": to_json, "cocci": to_cocci, "markdown": to_markdown, "table": to_table, "sarif": to_sarif,
             "html": to_html}
