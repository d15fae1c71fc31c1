"""Commit messages and subject prefixes, rendered from templates/.

The subject prefix follows the kernel habit of each file: the most common
``prefix:`` among recent commits touching it, else one derived from its
MAINTAINERS entry, else ``fs``/``mm`` by directory.
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import git
import jinja2

from .commits import Unit
from .errors import InputError
from .plan import Plan

SUBJECT_MAX = 75
MIN_SEEN = 2  # a prefix seen once (an import commit) is no habit
_PREFIX = re.compile(r"^([A-Za-z0-9_][\w./-]*):\s")


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def signoff(repo: git.Repo) -> str:
    """The user's own identity; passdown never invents one."""
    reader = repo.config_reader()
    try:
        name = reader.get_value("user", "name")
        email = reader.get_value("user", "email")
    except Exception:  # configparser's NoSectionError/NoOptionError
        raise InputError("git has no user.name/user.email; set them (git config user.name 'Your Name'; "
                         "git config user.email you@example.org) so the commits carry your Signed-off-by") from None
    return f"{name} <{email}>"


def history_prefix(repo: git.Repo, files: list[str], depth: int = 50) -> str | None:
    """The most common subject prefix of the recent commits touching *files*."""
    try:
        subjects = repo.git.log("-n", str(depth), "--no-merges", "--format=%s", "--", *files).splitlines()
    except git.GitCommandError:
        return None
    counts = Counter(m.group(1) for s in subjects if (m := _PREFIX.match(s)) and not s.startswith("Revert"))
    best = counts.most_common(1)
    return best[0][0] if best and best[0][1] >= MIN_SEEN else None


def maintainers_prefix(section) -> str | None:
    """A MAINTAINERS entry's own name for itself, as subjects use it: the
    last component of its first source directory (fs/ext2/ -> ext2, mm/ ->
    mm, fs/* -> fs), else the stem of its first source file."""
    pats = [p for p in section.files if not p.startswith(("Documentation/", "include/", "tools/", "scripts/"))]
    for p in pats:
        if p.endswith(("/", "/*")):
            comps = [c for c in p.rstrip("*").rstrip("/").split("/") if c]
            if comps:
                return comps[-1]
    for p in pats:
        stem = p.rsplit("/", 1)[-1].split(".")[0].rstrip("*?")
        if stem:
            return stem
    return None


def directory_prefix(path: str) -> str:
    """The last resort: where the file lives."""
    top = path.split("/", 1)[0]
    if top in ("fs", "mm", "block", "net"):
        parts = path.split("/")
        return parts[1] if top == "fs" and len(parts) > 2 else top
    return "mm"


def _wrap(text: str) -> str:
    paras = [p for p in re.split(r"\n\s*\n", text.strip())]
    return "\n\n".join(textwrap.fill(" ".join(p.split()), 72, break_long_words=False, break_on_hyphens=False)
                       for p in paras) + "\n"


def _shell(command: str, width: int = 72) -> str:
    """A command line broken with backslashes so no line passes *width*
    (checkpatch wants commit text within 75 columns)."""
    lines, cur = [], "  "
    for word in re.findall(r"--\S+ [^-\s]\S*|\S+", command):
        if cur.strip() and len(cur) + 1 + len(word) + 2 > width:
            lines.append(cur + " \\")
            cur = "    "
        cur += ("" if not cur.strip() else " ") + word
    return "\n".join(lines + [cur])


def environment(base: jinja2.Environment) -> jinja2.Environment:
    base.filters["wrap"] = _wrap
    base.filters["shell"] = _shell
    base.trim_blocks = True
    return base


def _names(names: list[str], limit: int = 3) -> str:
    shown = [f"{n}()" for n in names[:limit]]
    if len(names) > limit:
        return f"{', '.join(shown)} and {len(names) - limit} more"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def _bare(display: str) -> str:
    return display.split("@", 1)[0]


def _subject(prefix: str, rest: str) -> str:
    return f"{prefix}: {rest}"


class Writer:
    """Renders the message of each unit of a series."""

    def __init__(self, env: jinja2.Environment, plan: Plan, rule, prefix_of: Callable[[list[str]], str],
                 command: str, signoff_line: str, stub: bool, base: str = ""):
        self.env, self.plan, self.rule, self.base = env, plan, rule, base
        self.prefix_of, self.command, self.signoff, self.stub = prefix_of, command, signoff_line, stub
        self.field = f"{rule.field.struct}->{rule.field.member}"

    def _common(self, unit: Unit) -> dict:
        return dict(field=self.field, member=self.rule.field.member, helper=self.rule.helper.name,
                    predicate=self.rule.helper.predicate, param=self.rule.parameter.name, command=self.command,
                    unit_id=unit.id, signoff=self.signoff, stub=self.stub, base=self.base)

    def render(self, unit: Unit, files: list[str]) -> Message:
        method = {"helper": self._helper, "sig": self._signature, "conv": self._conversion}[unit.kind]
        return method(unit, files)

    def _split(self, template: str, ctx: dict) -> Message:
        text = self.env.get_template(template).render(**ctx)
        subject, _, body = text.partition("\n")
        return Message(subject.strip(), body.strip("\n") + "\n")

    def _helper(self, unit: Unit, files: list[str]) -> Message:
        msg = self._split("commit-helper.j2", dict(self._common(unit), prefix=self.prefix_of(files)))
        return Message(_subject(*msg.subject.split(": ", 1)), msg.body)

    def _signature(self, unit: Unit, files: list[str]) -> Message:
        groups = set(unit.groups)
        funcs = [f for f in self.plan.functions if f.group in groups]
        members = sorted({m for g in self.plan.groups if g.id in groups for m in g.members})
        callbacks = sorted({c for g in self.plan.groups if g.id in groups for c in g.callbacks})
        sites = [s for s in self.plan.call_sites if s.group in groups]
        conf = Counter(s.confidence for s in sites)
        if members:
            title = " and ".join(f"->{m.split('.', 1)[1]}()" for m in members[:2])
        elif callbacks:
            title = f"{callbacks[0]} callbacks"
        else:
            title = _names([_bare(f.name) for f in funcs], 2)
            if len(title) > SUBJECT_MAX - 40:
                title = _names([_bare(f.name) for f in funcs], 1)
        first = next((f for f in funcs if f.reason.startswith("reads")), None) or \
            next((f for f in funcs if f.reason.startswith("calls")), None) or funcs[0]
        why = f"{_bare(first.name)}() {first.reason.split(';')[0]}".replace(" at line ", f" at {first.file}:")
        origin = re.search(r"\((\w+)(?:@\S+)? ((?:reads|calls) .*)\)$", first.reason)
        if first.reason.startswith("signature shared") and origin:
            why = f"{origin.group(1)}() {origin.group(2)}"
        listed = [dict(file=s.file, line=s.line, caller_name=_bare(s.caller), argument=s.argument,
                       confidence=s.confidence, provenance=s.provenance)
                  for s in sites if s.confidence != "exact"]
        home = self._home(unit, files, members, callbacks, funcs)
        ctx = dict(self._common(unit), prefix=self.prefix_of(home), title=title,
                   what=_names([_bare(f.name) for f in funcs]), plural=len(funcs) > 1, why=why,
                   members=[f"struct {m.split('.')[0]}.{m.split('.')[1]}" for m in members], callbacks=callbacks,
                   n_impl=len(funcs), n_exact=conf["exact"], n_derived=conf["derived"], n_review=conf["review"],
                   exported=[f"{_bare(f.name)}()" for f in funcs if f.exported], listed=listed)
        msg = self._split("commit-signature.j2", ctx)
        return Message(_subject(*msg.subject.split(": ", 1)), msg.body)

    def _home(self, unit, files, members, callbacks, funcs) -> list[str]:
        """The file a signature commit is about: where its member or callback
        type is declared, else where its first function is defined."""
        homes = sorted({g.home for g in self.plan.groups if g.id in unit.groups and g.home})
        return homes[:1] or files[:1]

    def _conversion(self, unit: Unit, files: list[str]) -> Message:
        wanted = set(unit.files)
        convs = [dict(file=c.file, line=c.line, function_name=_bare(c.function), expr=c.expr,
                      confidence=c.confidence, provenance=c.provenance)
                 for c in self.plan.conversions if c.file in wanted]
        remaining = [dict(file=r.file, line=r.line, function=r.function, function_name=_bare(r.function),
                          reason=r.reason) for r in self.plan.remaining if r.file in wanted]
        ctx = dict(self._common(unit), prefix=self.prefix_of(sorted(wanted)), conversions=convs, remaining=remaining)
        msg = self._split("commit-conversion.j2", ctx)
        return Message(_subject(*msg.subject.split(": ", 1)), msg.body)
