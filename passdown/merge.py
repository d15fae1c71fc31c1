"""Several configs' reports as one: which config analysed each use.

A kernel compiles different code under different configs (allmodconfig on
x86_64, defconfig, arm64 ...): a use one config ``#if``'s out or does not
compile at all may be compiled, and analysed, under another.  ``merge()``
takes one ``report.Report`` per config, each made by the usual pipeline on
that config's compile commands, and returns one Report in which

* a use analysed under at least one config is listed once, as that config
  saw it (the first config in the order given that analysed it), with
  ``configs`` = every config that analysed it, and ``skipped_in`` = the
  configs that listed the same place as not analysed (``#if``'d out, not
  compiled, header not included);
* a place no config analysed stays a not-analysed use (found by text: from
  the skipped ranges, or in a file no config compiles), with ``configs`` empty,
  ``skipped_in`` = the configs that listed it and a reason naming them;
* unless another config analysed that file and listed nothing at that place:
  that config compiled the code and found no use of the field there (the text
  match is ``folio->mapping`` or another struct's member), so it is dropped,
  and counted in the caveats.  Headers have no skipped ranges (report.py), so
  for a header this trusts the config that walked it.

Identity.  All the reports are of the same tree, so a use is its place:
file, line and column (of the member name, or of the macro name for a use
written in a macro body: the skipped-range scan and the text scan put the
column on the member name too), plus, for analysed uses, the access (a macro
can expand to a read under one config and a write under another), plus its
rank among the uses of one report with the same identity (a macro expanding
to two reads of the field gives two uses at one place; they are not
collapsed).  ``compare`` is not part of it: ``VM_BUG_ON_PAGE(page->mapping,
page)`` is a condition under CONFIG_DEBUG_VM and an operand of ``sizeof``
without it; the use is one, shown as the first config that analysed it saw it.  ``report
--diff``'s identity (compare.py: function and expression, not line) is for two
revisions, whose lines move; here nothing moves.

Pure: no I/O.  With one report, ``merge`` returns it unchanged (so a
one-config report is byte for byte what it was).
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

from .report import Report, Use

THIS_CONFIG = "under this config"


def config_label(meta: dict, build: Path | None, tree: Path | None = None) -> str:
    """A short name for one config: ``x86_64 allmodconfig`` from what ``passdown
    prepare`` recorded (a config file by its base name), else the build
    directory's name, else ``default`` (the tree's own compile commands)."""
    config = meta.get("config") if isinstance(meta, dict) else None
    if config:
        name = os.path.basename(str(config)) if os.sep in str(config) else str(config)
        return f"{meta.get('arch') or 'host'} {name}"
    if build is not None and (tree is None or Path(build).resolve() != Path(tree).resolve()):
        return Path(build).name
    return "default"


def unique_labels(labels: list[str]) -> list[str]:
    """The labels with the repeated ones numbered: ``defconfig``, ``defconfig #2``."""
    seen: Counter = Counter()
    out = []
    for label in labels:
        seen[label] += 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out


def slug(label: str) -> str:
    """A label as a file name: ``x86_64 allmodconfig`` -> ``x86_64-allmodconfig``."""
    return re.sub(r"[^A-Za-z0-9_.+-]+", "-", label).strip("-.") or "config"


def _keyed(rep: Report) -> list[tuple[tuple, Use]]:
    """Each use with its identity (see the module docstring)."""
    rank: Counter = Counter()
    out = []
    for u in rep.uses:
        base = (u.file, u.line, u.column)
        k = base + ((u.access,) if u.access is not None else ("",))
        out.append((k + (rank[k],), u))
        rank[k] += 1
    return out


def _where(labels: list[str], every: bool) -> str:
    if every:
        return "under every config" if len(labels) > 1 else f"under {labels[0]}"
    return "under " + " and ".join(labels) if len(labels) <= 2 else "under " + ", ".join(labels[:-1]) + f" and {labels[-1]}"


def merged_reason(by_config: dict[str, Use], labels: list[str]) -> str:
    """Why a place no config analysed was not analysed, naming the configs:
    ``in code the preprocessor skips under every config``, or per reason
    ``in code the preprocessor skips under A; not compiled under B``."""
    reasons: dict[str, list[str]] = defaultdict(list)
    for label in labels:
        if label in by_config:
            reasons[by_config[label].reason or ""].append(label)
    every = len(reasons) == 1 and len(next(iter(reasons.values()))) == len(labels)
    parts = []
    for reason, who in reasons.items():
        if THIS_CONFIG in reason:
            parts.append(reason.replace(THIS_CONFIG, _where(who, every)))
        elif every:
            parts.append(reason)
        else:
            parts.append(f"{reason} ({_where(who, False).removeprefix('under ')})")
    return "; ".join(parts)


def merge(sides: list[tuple[str, Report]]) -> Report:
    """One report of several configs' reports of the same tree and field.

    *sides*: (label, report) per config, in the order given; labels must be
    distinct (``unique_labels``)."""
    if not sides:
        raise ValueError("merge() needs at least one report")
    if len(sides) == 1:
        return sides[0][1]
    labels = [label for label, _ in sides]
    if len(set(labels)) != len(labels):
        raise ValueError(f"config labels must be distinct: {labels}")
    first = sides[0][1]
    for label, rep in sides[1:]:
        if rep.field != first.field or rep.tree != first.tree:
            raise ValueError(f"{label} reports {rep.field} in {rep.tree}, not {first.field} in {first.tree}")
        if rep.planned or first.planned:
            raise ValueError("reports made with a plan (--after-plan) are not merged: their statuses are per config")

    analysed: dict[tuple, Use] = {}
    analysed_in: dict[tuple, list[str]] = defaultdict(list)
    listed: dict[tuple, dict[str, Use]] = defaultdict(dict)  # place -> config -> its not-analysed use
    order: dict[tuple, int] = {}
    listed_key: dict[tuple, tuple] = {}
    for label, rep in sides:
        for k, u in _keyed(rep):
            order.setdefault(k, len(order))
            if u.access is not None:
                analysed.setdefault(k, u)
                analysed_in[k].append(label)
            else:
                listed[k[:3]].setdefault(label, u)
                listed_key.setdefault(k[:3], k)

    uses: list[tuple[tuple, Use]] = []
    places = {k[:3] for k in analysed}
    for k, u in analysed.items():
        skipped = tuple(label for label in labels if label in listed.get(k[:3], {}))
        uses.append((k, replace(u, configs=tuple(analysed_in[k]), skipped_in=skipped)))
    dropped: dict[str, int] = Counter()
    for place, by in listed.items():
        if place in places:
            continue
        seen = [label for label, r in sides if label not in by and place[0] in r.analysed_files]
        if seen:
            dropped[seen[0]] += 1  # compiled there, and no use of the field: a folio's, another struct's
            continue
        who = tuple(label for label in labels if label in by)
        uses.append((listed_key[place], replace(by[who[0]], reason=merged_reason(by, labels), configs=(),
                                                skipped_in=who)))
    uses.sort(key=lambda ku: (ku[1].file, ku[1].line, ku[1].column, order[ku[0]]))

    rep = Report(first.tree, _config(sides), first.field, list(first.scope), [u for _, u in uses],
                 _tus(sides), planned=False, maintainers=first.maintainers)
    for _, r in sides:
        for key, snip in r.snippets.items():
            rep.snippets.setdefault(key, snip)
    rep.configs = _configs(sides, rep.uses)
    rep.caveats = caveats(rep, sides, dropped)
    return rep


def _config(sides) -> dict:
    arches = list(dict.fromkeys(rep.config.get("arch", "") for _, rep in sides))
    return {
        "config": " + ".join(label for label, _ in sides),
        "arch": ", ".join(arches),
        "compile_commands": ", ".join(rep.config.get("compile_commands", "") for _, rep in sides),
    }


def _tus(sides) -> dict:
    out: Counter = Counter()
    for _, rep in sides:
        out.update({k: v for k, v in rep.tus.items() if isinstance(v, int)})
    return {k: out[k] for k in ("total", "parsed", "cached", "failed")}


def _configs(sides, uses: list[Use]) -> list[dict]:
    out = []
    for label, rep in sides:
        mine = [u for u in uses if label in u.configs]
        out.append({
            "label": label,
            "config": rep.config.get("config"),
            "arch": rep.config.get("arch"),
            "compile_commands": rep.config.get("compile_commands"),
            "analysed": len(mine),
            "only_here": sum(u.configs == (label,) for u in mine),
            "not_analysed_here": sum(label in u.skipped_in for u in uses),
            "tus": dict(rep.tus),
        })
    return out


_TEXTUAL = re.compile(r"^\d+ textual use\(s\) ")


def caveats(rep: Report, sides, dropped: dict[str, int] | None = None) -> list[str]:
    """Which configs were merged and what each saw; the textual uses with
    their merged reasons; then each config's own caveats, once when every
    config has it, else prefixed with the config's label."""
    n = len(sides)
    every = sum(len(u.configs) == n for u in rep.uses)
    some = sum(0 < len(u.configs) < n for u in rep.uses)
    none = sum(not u.configs for u in rep.uses)
    c = [f"Merged {n} configs: " + "; ".join(
        f"{x['label']} (config {x['config']} for arch {x['arch']}, compile commands: {x['compile_commands']}): "
        f"{x['analysed']} use(s) analysed, {x['only_here']} under no other config" for x in rep.configs)
        + ". Each use lists the configs it was analysed under; code none of them compiles was not seen.",
        f"{every} use(s) analysed under every config, {some} under some only, {none} under none."]
    not_analysed = Counter(u.reason for u in rep.uses if u.status == "not-analysed")
    for reason, k in sorted(not_analysed.items()):
        c.append(f"{k} textual use(s) {reason}: listed with status not-analysed, found by text only.")
    if dropped:
        c.append(f"{sum(dropped.values())} textual match(es) in code one config skips or does not compile are not "
                 "listed: another config compiled that code and found no use of the field there ("
                 + ", ".join(f"{k} by {label}" for label, k in dropped.items()) + ").")
    own: dict[str, list[str]] = {}
    for label, r in sides:
        for text in r.caveats[1:]:  # [0] names the config: said above
            if not _TEXTUAL.match(text):
                own.setdefault(text, []).append(label)
    for text, who in own.items():
        if len(who) == n:
            c.append(text)
    for label, _ in sides:
        c += [f"[{label}] {text}" for text, who in own.items() if len(who) < n and label in who]
    return c
