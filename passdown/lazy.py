"""Plan on demand: parse only the translation units a plan can need.

A plan over fs/ + mm/ needs the TUs that can hold a use (the report's
prefilter), and then, as the demand climbs the call graph, the TUs that can
call a demanded function, implement or call one of its ops members, or pass
one of its callback types.  A TU can do that only if its main file, or a
header it reads, spells the name (or a macro that expands to it): the
identifier index (``idents.IdentIndex``) answers that without parsing.

So the planner runs in rounds: index the TUs chosen so far (full facts,
cached as usual), plan, ask the planner which names it still needs every
mention of (``plan._Planner.wanted_names``), add the TUs that spell them,
until a round adds nothing.  The last round's plan is the plan: every group
it plans has had every possible caller parsed, and every failure it reports
is either settled by facts already seen or was checked against every file
that spells the names involved.

What a lazy plan leaves out, compared with indexing every TU: the callers
beyond a group that has already failed for good (its address escapes, a
macro defines it...), which no longer matter to what is converted, so its
``unresolved`` list is shorter (see the caveat it adds).

Opt-in (``plan --lazy``): on Linux 6.1 with the fs/ + mm/ compile database the
demand of core mm readers climbs through every filesystem and an exact plan
needs 1,245 of the 1,440 TUs, so rounds cost more than they save; past
``EAGER_SHARE`` of the database the rest is parsed in one round.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from . import idents, index, prefilter
from .cache import Cache, _atomic_write
from .errors import CacheError
from .compdb import CompileCommand
from .plan import Plan, _Planner
from .rules import Rule
from .workspace import in_scope

# A header whose textual includers do not really include it (an #ifdef'd
# include) is given up after this many tries; named in the caveats.
HEADER_TRIES = 3
# Past this share of the compile database, the remaining TUs are parsed in one
# round: on Linux 6.1 fs/ + mm/ the demand of core mm readers reaches ~87 % of
# the TUs, and sixteen rounds cost ~60 s more than one (a reload and a plan each).
EAGER_SHARE = 0.5
EAGER_MIN = 100  # rounds over a small database cost next to nothing


@dataclass
class Rounds:
    """How the demand grew: TUs added per round, for the summary line and the benchmark."""

    added: list[int] = field(default_factory=list)
    names: list[int] = field(default_factory=list)
    seconds: float = 0.0
    unwalked: list[str] = field(default_factory=list)  # headers spelling a wanted name that no try walked
    parsed: int = 0  # TUs parsed over all rounds (the others came from the cache)


class Finder:
    """Which TUs can mention a set of names: main files by their own text,
    headers through one includer each."""

    def __init__(self, tree: Path, commands: list[CompileCommand], cache_dir: Path | None, exclude: tuple[str, ...]):
        self.tree = str(tree) + os.sep
        self.excl = tuple(os.path.normpath(e) + os.sep for e in exclude)
        scanner = idents.Scanner(cache_dir)
        self.graph = prefilter.IncludeGraph(scanner, commands)
        self.mains = sorted(c.file for c in commands)
        reached = self.graph.reach(self.mains + self.graph.forced)
        main_set = set(self.mains)
        self.headers = sorted(p for p in reached if p not in main_set and self.walkable(p))
        self.macros = prefilter.Macros(s for s in (scanner.scan(p) for p in sorted(reached)) if s is not None)
        scanner.save()
        self.words = idents.IdentIndex(cache_dir)
        self._reach: dict[str, set[str]] = {}
        self.tries: dict[str, int] = {}

    def walkable(self, path: str) -> bool:
        return path.startswith(self.tree) and not path.startswith(self.excl)

    def save(self) -> None:
        self.words.save()

    def spelled(self, names: Iterable[str]) -> set[str]:
        """The names, and every macro whose expansion can spell one of them."""
        return self.macros.expanding_to_any(names)

    def reaching(self, target: str) -> set[str]:
        """Main files that can (textually) read *target*."""
        hit = self._reach.get(target)
        if hit is None:
            hit = self._reach[target] = self.graph.includers(target, self.mains)
        return hit

    def tus_for(self, names: dict[str, set[str] | None] | Iterable[str], chosen: set[str], walked: Iterable[str],
                within: Callable[[str], bool] | None = None) -> set[str]:
        """TUs not yet chosen that can mention *names*: each main file that
        spells one, and for each header that spells one and that no chosen TU
        walked, its first includer not tried yet.  A name bound to files (an
        ops member, bound to its struct's definition) counts only in TUs that
        can read one of them."""
        if not isinstance(names, dict):
            names = dict.fromkeys(names)
        free = self.spelled(n for n, w in names.items() if w is None)
        bound: dict[str, set[str]] = {}
        for n, where in names.items():
            if where is not None:
                for m in self.spelled([n]) - free:
                    bound.setdefault(m, set()).update(where)
        keep = within or (lambda p: True)

        def able(words: frozenset[str]) -> set[str] | None:
            """None: any TU; else the TUs that can read a definition a spelled bound name needs."""
            if not free.isdisjoint(words):
                return None
            out: set[str] = set()
            for w in bound.keys() & words:
                for d in bound[w]:
                    out |= self.reaching(d)
            return out

        out: set[str] = set()
        for m in self.mains:
            if m in chosen or not keep(m):
                continue
            words = self.words.words(m)
            if free.isdisjoint(words) and bound.keys().isdisjoint(words):
                continue
            ok = able(words)
            if ok is None or m in ok:
                out.add(m)
        walked = set(walked)
        for h in self.headers:
            if h in walked or not keep(h) or self.tries.get(h, 0) >= HEADER_TRIES:
                continue
            words = self.words.words(h)
            if free.isdisjoint(words) and bound.keys().isdisjoint(words):
                continue
            ok = able(words)
            cands = [m for m in sorted(self.reaching(h)) if m not in chosen and (ok is None or m in ok)]
            if cands and not any(m in out for m in cands[:HEADER_TRIES]):
                # Several at once: a textual includer may not really include it (#ifdef).
                self.tries[h] = HEADER_TRIES
                out.update(cands[:HEADER_TRIES])
        return out

    def given_up(self, walked: Iterable[str]) -> list[str]:
        walked = set(walked)
        return sorted(h for h, n in self.tries.items() if n >= HEADER_TRIES and h not in walked)


def make_plan(tree: Path, commands: list[CompileCommand], rule: Rule, scope: list[Path], cache: Cache, config: dict,
              *, jobs: int, exclude: tuple[str, ...] = (), progress: index.Progress | None = None,
              log: Callable[[str], None] | None = None, pch: bool = True) -> tuple[index.Index, Plan, Rounds]:
    """The plan, parsing TUs as the demand reaches them.  Same plan as
    ``plan.make_plan`` over every TU, except for the shorter unresolved list."""
    t0 = time.perf_counter()
    fields = (rule.spec,)
    by_file = {c.file: c for c in commands}
    finder = Finder(tree, commands, cache.dir, exclude)
    rounds = Rounds()
    scope_s = [str(s) for s in scope]
    # Round 0: the TUs that can hold a read in scope (a use, or a call of an accessor),
    # and those the last run of the same plan ended with: more TUs never change
    # the plan, and a re-run then takes one round.
    sel = prefilter.select(tree, commands, rule.field.member, list(scope), cache.dir, exclude=exclude)
    chosen = {c.file for c in sel.wanted}
    chosen |= finder.tus_for(rule.accessors.functions, chosen, (), within=lambda p: in_scope(p, scope))
    memo = _memo_path(cache, rule, scope_s, commands)
    known, given_up = _read_memo(memo)
    chosen |= known & set(by_file)
    finder.tries.update(dict.fromkeys(given_up, HEADER_TRIES))
    new = set(chosen)
    idx = planner = the_plan = None
    while True:
        rounds.added.append(len(new))
        idx = planner = the_plan = None  # one round's facts in memory at a time
        idx = index.run(tree, [by_file[f] for f in sorted(chosen)], fields, cache, jobs=jobs, exclude=exclude,
                        progress=progress, pch=pch)
        rounds.parsed += idx.parsed
        planner = _Planner(idx, rule, scope, config)
        the_plan = planner.run()
        # The live demand first, then the groups whose failure more files could
        # undo, then the callers that only supply a parameter (checked for NULL
        # arguments): each only once the one before has stopped growing.
        for ask in ({"suppliers": False, "unsettled": False}, {"suppliers": False}, {}):
            names = planner.wanted_names(**ask)
            new = finder.tus_for(names, chosen, idx.files)
            if new:
                break
        rounds.names.append(len(names))
        if log:
            log(f"round {len(rounds.added)}: {len(chosen)} TUs, {len(names)} names wanted, {len(new)} TUs to add")
        if not new:
            break
        if len(by_file) > EAGER_MIN and len(chosen | new) > EAGER_SHARE * len(by_file):
            # The demand reaches most of the compile database: the rest in one round,
            # since each round costs a reload and a plan (the plan is the same).
            new = set(by_file) - chosen
            if log:
                log(f"more than {EAGER_SHARE:.0%} of the TUs wanted: parsing the other {len(new)} at once")
        chosen |= new
    finder.save()
    rounds.unwalked = finder.given_up(idx.files)
    _write_memo(memo, chosen, rounds.unwalked)
    rounds.seconds = time.perf_counter() - t0
    the_plan.caveats.append(
        f"Planned on demand: {len(chosen)} of {len(commands)} TUs parsed (the TUs "
        "that can hold a read in scope, then those that spell a name the demand reached). Callers beyond a group "
        "that had already failed for good were not looked for, so 'unresolved' lists fewer functions than "
        "'passdown plan' without --lazy (which parses every TU); what is planned and converted is the same.")
    if rounds.unwalked:
        the_plan.caveats.append(
            f"{len(rounds.unwalked)} header(s) spelling a wanted name were not walked by any of their first "
            f"{HEADER_TRIES} textual includers (included under #if only?): {', '.join(rounds.unwalked[:5])}"
            + (" ..." if len(rounds.unwalked) > 5 else ""))
    return idx, the_plan, rounds


def _memo_path(cache: Cache, rule: Rule, scope: list[str], commands: list[CompileCommand]) -> Path:
    h = hashlib.blake2b(digest_size=12)
    h.update(rule.model_dump_json().encode())
    h.update("\0".join(scope).encode())
    for c in commands:
        h.update(c.file.encode() + b"\1")
    return cache.dir / f"lazy-{h.hexdigest()}.json"


def _read_memo(path: Path) -> tuple[set[str], list[str]]:
    """The TUs the last run ended with, and the headers it gave up on."""
    try:
        data = json.loads(path.read_text())
        return set(data["tus"]), list(data["headers given up"])
    except (OSError, ValueError, TypeError, KeyError):
        return set(), []


def _write_memo(path: Path, chosen: set[str], given_up: list[str]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, json.dumps({"tus": sorted(chosen), "headers given up": given_up}).encode())
    except (OSError, CacheError):
        pass  # only slower next time
