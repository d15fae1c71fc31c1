"""The helper header a series starts with, rendered from templates/ with Jinja2.

Templates that ship with passdown are trusted; a rule that points at the
user's own template directory gets Jinja2's sandbox.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from .rules import Rule

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def environment(rule: Rule, rule_dir: Path | None = None) -> jinja2.Environment:
    if rule.helper.templates:
        where = Path(rule.helper.templates)
        if not where.is_absolute() and rule_dir is not None:
            where = rule_dir / where
        return SandboxedEnvironment(loader=jinja2.FileSystemLoader([str(where), str(TEMPLATES)]),
                                    keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), keep_trailing_newline=True,
                              undefined=jinja2.StrictUndefined, autoescape=False)


def predicate_header(tree: Path, predicate: str, dirs=("include",)) -> str | None:
    """The header (as #include'd: ``linux/page-flags.h``) that defines the
    predicate, as a function or a macro; None when the tree has none."""
    pat = re.compile(rb"(#\s*define\s+" + predicate.encode() + rb"\b|\b" + predicate.encode() + rb"\s*\([^;{]*\)\s*\{)")
    for d in dirs:
        for path in sorted((tree / d).rglob("*.h")):
            try:
                if pat.search(path.read_bytes()):
                    return path.relative_to(tree / d).as_posix()
            except OSError:
                continue
    return None


def predicate_defined(tree: Path, predicate: str, dirs=("include",)) -> bool:
    return predicate_header(tree, predicate, dirs) is not None


def render_header(rule: Rule, tree: Path, rule_dir: Path | None = None) -> str:
    header = rule.helper.header
    guard = "_" + re.sub(r"[^A-Za-z0-9]", "_", header.removeprefix("include/")).upper()
    t = rule.parameter.type
    return environment(rule, rule_dir).get_template("helper.h.j2").render(
        helper=rule.helper.name,
        predicate=rule.helper.predicate,
        predicate_defined=predicate_defined(tree, rule.helper.predicate),
        predicate_header=predicate_header(tree, rule.helper.predicate),
        field_struct=rule.field.struct,
        member=rule.field.member,
        rule=rule.name,
        guard=guard,
        param_type=t if t.endswith("*") else t + " ",
        param_name=rule.parameter.name,
    )
