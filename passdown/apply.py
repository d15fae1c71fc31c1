"""`passdown apply`: from a plan to a branch of bisectable commits (and, with
an output directory, to mail-ready sub-series).

Everything is computed in memory first; the user's repository sees one ref
update at the very end (series.write_branch), so a refusal, a failure or an
interrupt loses nothing.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import git

from . import commits as C
from . import edits as E
from . import helpers, messages, patches, series
from .errors import InputError
from .index import Index
from .maintainers import Maintainers
from .plan import Plan
from .rules import Rule


@dataclass
class Result:
    branch: str
    head: str = ""
    commits: list[series.CommitSpec] = field(default_factory=list)
    units: list[C.Unit] = field(default_factory=list)
    status: str = "created"  # created | unchanged | empty | shown
    parts: list[patches.Part] = field(default_factory=list)
    outdirs: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    shown: str = ""


def default_branch(rule: Rule) -> str:
    return f"passdown/{rule.name}"


class _Prefixes:
    """Subject prefixes: git history of the files, then MAINTAINERS, then the directory."""

    def __init__(self, repo: git.Repo, owners):
        self.repo, self.owners, self.memo = repo, owners, {}

    def __call__(self, files: list[str]) -> str:
        key = tuple(files)
        if key not in self.memo:
            self.memo[key] = (messages.history_prefix(self.repo, list(files))
                              or self._maintainers(files[0]) or messages.directory_prefix(files[0]))
        return self.memo[key]

    def _maintainers(self, path: str) -> str | None:
        sec = self.owners.subsystem(path) if self.owners is not None else None
        if sec is None or sec.name == "THE REST":
            return None
        return messages.maintainers_prefix(sec)


def _subsystem_of(owners) -> Callable[[str], str]:
    def of(path: str) -> str:
        sec = owners.subsystem(path) if owners is not None else None
        if sec is not None and sec.name != "THE REST":
            return sec.name
        parts = path.split("/")
        return "/".join(parts[:2]) if len(parts) > 2 else parts[0]
    return of


def _check_sources(repo: git.Repo, base: str, idx: Index, files: list[str], header: str) -> None:
    """The plan is made from the checkout; its bytes must be the base's bytes."""
    tree = repo.commit(base).tree
    for path in files:
        rel = idx.rel(path)
        try:
            blob = (tree / rel).data_stream.read()
        except KeyError:
            raise InputError(f"{rel} is not in {base[:12]}; commit it or pick another --base") from None
        if Path(path).read_bytes() != blob:
            raise InputError(f"{rel} differs from {base[:12]} (uncommitted changes, or --base is not the checkout); "
                             "commit or stash the changes, or check out the base first")
    try:
        tree / header
    except KeyError:
        return
    raise InputError(f"{header} already exists in {base[:12]}; this tree already has the helper "
                     "(run apply on a tree without it, or point the rule's helper.header elsewhere)")


def run(repo: git.Repo, idx: Index, plan: Plan, rule: Rule, *, branch: str, base: str, command: str,
        rule_dir: Path | None = None, force: bool = False, show: str | None = None,
        outdir: Path | None = None, scope: list[str] | None = None) -> Result:
    base_sha = repo.commit(base).hexsha
    res = Result(branch)
    if not plan.functions and not plan.conversions:
        res.status = "empty"
        return res
    es = E.compute(idx, plan, rule)
    res.skipped = es.skipped
    if not es.edits:
        res.status = "empty"  # every read left is one a human must rewrite (see skipped)
        return res
    _check_sources(repo, base_sha, idx, es.files(), rule.helper.header)
    owners = Maintainers.load(idx.tree)
    units = C.units(plan, es, _subsystem_of(owners))
    originals = {p: Path(p).read_bytes() for p in es.files()}
    header = helpers.render_header(rule, idx.tree, rule_dir)
    built = C.build(units, es, originals, idx.rel, rule.helper.header, header)
    writer = messages.Writer(messages.environment(helpers.environment(rule, rule_dir)), plan, rule,
                             _Prefixes(repo, owners), command, messages.signoff(repo),
                             stub=not helpers.predicate_defined(idx.tree, rule.helper.predicate), base=base_sha)
    for c in built:
        msg = writer.render(c.unit, sorted(c.files))
        res.commits.append(series.CommitSpec(msg.subject, msg.body, c.files))
    res.units = units
    if show is not None:
        res.status, res.shown = "shown", _show(repo, base_sha, units, res.commits, show)
        return res
    if branch in repo.heads and series.same_series(repo, branch, base_sha, res.commits):
        res.status, res.head = "unchanged", repo.heads[branch].commit.hexsha
    else:
        res.head = series.write_branch(repo, branch, base_sha, res.commits, force=force)
    if outdir is not None:
        res.parts, res.outdirs = _mail(repo, base_sha, res, plan, rule, writer, owners, outdir, scope or [])
    return res


def _show(repo: git.Repo, base: str, units: list[C.Unit], specs: list[series.CommitSpec], which: str) -> str:
    """One commit as a patch, computed without touching git."""
    ids = [u.id for u in units]
    if which not in ids:
        raise InputError(f"no commit '{which}' in this series; the commits are: {', '.join(ids)}")
    before: dict[str, bytes] = {}
    tree = repo.commit(base).tree
    for u, spec in zip(units, specs):
        if u.id == which:
            out = [f"Subject: {spec.subject}\n\n{spec.body}---\n"]
            for rel, new in sorted(spec.files.items()):
                old = before.get(rel)
                if old is None:
                    try:
                        old = (tree / rel).data_stream.read()
                    except KeyError:
                        old = b""
                out += difflib.unified_diff(old.decode(errors="replace").splitlines(True),
                                            new.decode(errors="replace").splitlines(True),
                                            f"a/{rel}", f"b/{rel}")
            return "".join(out)
        before.update(spec.files)
    raise AssertionError("unreachable")


def _mail(repo, base, res: Result, plan: Plan, rule: Rule, writer: messages.Writer, owners, outdir: Path,
          scope: list[str]):
    shas = repo.git.rev_list("--reverse", f"{base}..{res.head}").split()
    parts = patches.cut(res.units, shas)
    date = repo.commit(base).committed_datetime.strftime("%Y%m%d")
    change = patches.change_id(rule.name, scope, base, date)
    conf = {k: sum(1 for s in plan.call_sites if s.confidence == k) for k in ("exact", "derived", "review")}
    totals = dict(functions=len(plan.functions), call_sites=len(plan.call_sites), conversions=len(plan.conversions),
                  remaining=len(plan.remaining), **conf)
    tmpl = writer.env.get_template("cover-letter.j2")
    covers, recipients = [], []
    for part in parts:
        files = sorted({f for u, spec in zip(res.units, res.commits) if u in part.units for f in spec.files})
        title = (f"{rule.field.struct}->{rule.field.member}: pass the address_space down "
                 f"(part {part.number}/{len(parts)})")
        text = tmpl.render(title=title, field=writer.field, member=rule.field.member, helper=rule.helper.name,
                           part=part.number, parts=len(parts), n_patches=len(part.units), depends=list(part.depends),
                           totals=totals, command=writer.command)
        subject, _, blurb = text.partition("\n")
        covers.append((subject, blurb.strip("\n") + "\n"))
        recipients.append(owners.recipients(files) if owners is not None else ([], []))
    return parts, patches.write(repo, outdir, base, parts, covers, recipients, change)
