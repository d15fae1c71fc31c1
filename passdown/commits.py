"""Cutting a plan's edits into a bisectable series of commits.  Pure: from the
plan, its edit set and the original bytes to an ordered list of commits with
their file contents; nothing here touches git.

Order, so that every commit builds:
1. the helper header (unused until the conversions);
2. one commit per signature group, or per cycle of groups (recursion through
   the new parameter), callers' groups first: a call site whose argument is
   the caller's *new* parameter needs the caller's commit before it.  These
   commits add a parameter nobody uses yet, so behaviour does not change;
3. one commit per subsystem switching field reads to the helper.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

import networkx as nx

from . import edits as E
from .plan import Plan

HELPER = "helper"


@dataclass(frozen=True)
class Unit:
    """One commit's worth of change, before it has a message."""

    id: str  # "helper", "sig:<group>[+<group>...]", "conv:<subsystem>"
    kind: str  # helper | sig | conv
    groups: tuple[str, ...] = ()  # sig: the signature groups it changes
    subsystem: str = ""  # conv: the MAINTAINERS section (or directory)
    files: tuple[str, ...] = ()  # conv: the files whose reads it converts
    after: tuple[str, ...] = ()  # ids of the units it needs

    @property
    def edit_units(self) -> set[str]:
        if self.kind == "sig":
            return {f"sig:{g}" for g in self.groups}
        if self.kind == "conv":
            return {f"conv:{f}" for f in self.files}
        return set()


@dataclass
class Commit:
    unit: Unit
    files: dict[str, bytes]  # path relative to the tree -> content after this commit
    edits: list[E.Edit] = field(default_factory=list)  # this commit's own edits


def units(plan: Plan, edit_set: E.EditSet, subsystem_of: Callable[[str], str]) -> list[Unit]:
    """The series' units in commit order (see the module docstring)."""
    present = {e.unit for es in edit_set.edits.values() for e in es}
    groups = [g.id for g in plan.groups if f"sig:{g.id}" in present]
    needs = nx.DiGraph()
    needs.add_nodes_from(groups)
    for cs in plan.call_sites:
        if cs.needs and cs.needs != cs.group and cs.needs in needs and cs.group in needs:
            needs.add_edge(cs.needs, cs.group)  # caller's group before the callee's
    cond = _merge_file_local(nx.condensation(needs), _files_of(edit_set))
    members = {n: sorted(cond.nodes[n]["members"]) for n in cond}
    sig_of: dict[str, str] = {}
    out = [Unit(HELPER, "helper")] if any(u.startswith("conv:") for u in present) else []
    for n in nx.lexicographical_topological_sort(cond, key=lambda n: members[n][0]):
        uid = "sig:" + "+".join(members[n])
        preds = sorted({sig_of[g] for p in cond.predecessors(n) for g in members[p]})
        for g in members[n]:
            sig_of[g] = uid
        out.append(Unit(uid, "sig", tuple(members[n]), after=tuple(preds)))
    by_sub: dict[str, list[str]] = defaultdict(list)
    for f in sorted({u[len("conv:"):] for u in present if u.startswith("conv:")}):
        by_sub[subsystem_of(f)].append(f)
    conv_needs: dict[str, set[str]] = defaultdict(set)
    for c in plan.conversions:
        if c.needs and c.needs in sig_of:
            conv_needs[c.file].add(sig_of[c.needs])
    for sub in sorted(by_sub):
        files = by_sub[sub]
        after = {HELPER} | {u for f in files for u in conv_needs[f]}
        out.append(Unit(f"conv:{_slug(sub)}", "conv", subsystem=sub, files=tuple(files), after=tuple(sorted(after))))
    return out


def _slug(name: str) -> str:
    """A subsystem name as a command-line word: "PAGE CACHE" -> "page-cache"."""
    return re.sub(r"[^a-z0-9._/-]+", "-", name.lower()).strip("-")


def _files_of(edit_set: E.EditSet) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for path, es in edit_set.edits.items():
        for e in es:
            if e.unit.startswith("sig:"):
                out[e.unit[4:]].add(path)
    return out


def _merge_file_local(cond: nx.DiGraph, files: dict[str, set[str]]) -> nx.DiGraph:
    """Groups whose whole change stays inside one .c file (static helpers of
    one driver) make one commit per file rather than one each, unless merging
    them would put a commit of another file in a cycle."""
    by_file: dict[str, list[int]] = defaultdict(list)
    for n in cond:
        touched = set().union(*(files.get(g, set()) for g in cond.nodes[n]["members"]))
        if len(touched) == 1 and next(iter(touched)).endswith(".c"):
            by_file[next(iter(touched))].append(n)
    for nodes in by_file.values():
        if len(nodes) < 2:
            continue
        trial = nx.contracted_nodes(cond, nodes[0], nodes[1], self_loops=False, copy=True)
        for n in nodes[2:]:
            trial = nx.contracted_nodes(trial, nodes[0], n, self_loops=False, copy=False)
        if nx.is_directed_acyclic_graph(trial):
            trial.nodes[nodes[0]]["members"] = set().union(*(cond.nodes[n]["members"] for n in nodes))
            cond = trial
    return cond


def build(units_: list[Unit], edit_set: E.EditSet, originals: dict[str, bytes], rel: Callable[[str], str],
          helper_path: str, helper_text: str) -> list[Commit]:
    """File contents after each commit: the original bytes with every edit of
    this and the earlier units applied (then re-wrapped), for the files this
    unit touches."""
    by_unit: dict[str, list[E.Edit]] = defaultdict(list)
    for es in edit_set.edits.values():
        for e in es:
            by_unit[e.unit].append(e)
    done: set[str] = set()
    commits = []
    for u in units_:
        if u.kind == "helper":
            commits.append(Commit(u, {helper_path: helper_text.encode()}))
            continue
        own = [e for k in sorted(u.edit_units) for e in by_unit.get(k, [])]
        done |= u.edit_units
        files = {}
        for path in sorted({e.file for e in own}):
            cumulative = [e for e in edit_set.edits[path] if e.unit in done]
            files[rel(path)] = E.apply(originals[path], E.wrap(originals[path], cumulative))
        commits.append(Commit(u, files, own))
    return commits
