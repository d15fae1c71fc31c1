"""Index a tree: select TUs, reuse cached facts, parse the rest in worker processes.

Translation units cannot be pickled, so each stays in its worker and only the
plain facts come back.  Workers live for the whole run.  A header's inline
functions are walked by one TU only: the parent keeps a log of the headers
whose facts it already has (from the cache, or from results that came back)
and each worker reads the new lines of that log before each TU, so two
workers rarely walk the same header.

Two modes:

* full (``uses_in=None``): every TU of *commands*, with full facts (functions,
  calls, ops, locals...): what a plan, the graph and edits need;
* uses (``uses_in=[scope paths]``): what a report needs.  The prefilter
  (``prefilter.py``) leaves out the TUs that cannot hold a use of the field in
  the scope, headers outside the scope are not walked, and the facts come
  back *light* (``cache.light``): every file, with its uses, skipped uses and
  ops, and only the functions that hold a use.  A warm run loads a few MB.
  The walk skips the function bodies that cannot hold a use (``_focus``), so
  such entries are light only: a later full run parses those TUs again.

A full run with many TUs to parse first builds a few precompiled headers of
the common kernel headers, and of the includes a directory's files start with
(``pch.py`` says which, and which TU may use one;
``parse.parse_tu`` builds and uses them).  A PCH has a cache entry of its own:
its facts hold the headers the build walked that no PCH before it holds (one
copy of each header's facts), so the TUs that use it walk only their own
declarations, and it is rebuilt when a file it read changes.  The facts are the
same as without (``bench/pch_check.py`` compares them).
"""

from __future__ import annotations

import os
import re
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from . import executor
from . import facts as F
from . import pch as pch_mod
from .cache import Cache, light, no_gc, shared_strings, tu_key
from .compdb import CompileCommand

# Called with (done, total, source) as TUs finish.
Progress = Callable[[int, int, str], None]


@dataclass
class Index:
    tree: Path
    tus: list[F.TUFacts] = field(default_factory=list)
    files: dict[str, F.FileFacts] = field(default_factory=dict)  # main files and headers
    parsed: int = 0
    cached: int = 0
    crashed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)  # TUs the prefilter left out: they cannot hold a use
    light: bool = False  # files hold light facts (uses mode; see the module docstring)
    stats: dict = field(default_factory=dict)  # seconds per phase, prefilter figures
    _prefix: str | None = field(default=None, repr=False, compare=False)

    @property
    def failures(self) -> list[F.TUFacts]:
        return [t for t in self.tus if t.failed]

    def functions(self) -> Iterable[tuple[F.FileFacts, F.Function]]:
        for ff in self.files.values():
            for fn in ff.functions:
                yield ff, fn

    def rel(self, path: str) -> str:
        prefix = self._prefix
        if prefix is None:
            prefix = self._prefix = str(self.tree) + os.sep
        if path.startswith(prefix) and "/." not in path:
            return path[len(prefix):]
        return os.path.relpath(path, self.tree)


# -- worker side ------------------------------------------------------------------

_walked: set[str] = set()
_log = ("", 0)  # the parent's log of walked headers this worker has read: (path, offset)


def _init_worker() -> None:
    # The parent handles Ctrl-C and shuts the pool down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _read_log(path: str) -> None:
    global _log
    name, offset = _log if _log[0] == path else (path, 0)
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except OSError:
        return
    end = data.rfind(b"\n") + 1  # a line the parent is still writing waits for next time
    _walked.update(p.decode() for p in data[:end].split(b"\n") if p)
    _log = (name, offset + end)


def _work(task: tuple) -> F.TUFacts:
    from . import parse  # imported in the worker: only parse-level code loads libclang

    source, args, tree, fields, log, exclude, focus, pch, walk_too = task
    crash = os.environ.get("PASSDOWN_TEST_CRASH_ON")
    if crash and source.endswith(crash):  # lets the tests kill a real worker, as a libclang crash would
        os.abort()
    _read_log(log)
    use = pch[1:] if pch and pch[0] == "use" else None
    save = pch[1] if pch and pch[0] == "build" else None
    skip = frozenset(_walked.difference(walk_too))
    facts = parse.parse_tu(source, args, tree, fields, skip, exclude, focus, pch=use, save_pch=save)
    if use and (facts.diagnostics or facts.error):
        # An error with the PCH (a name of this TU clashing with a header it does not
        # otherwise include, say, or a PCH file that cannot be read) may not be one
        # without: the facts come from that parse.
        facts = parse.parse_tu(source, args, tree, fields, skip, exclude, focus)
    _walked.update(h.path for h in facts.headers)
    return shared_strings(facts)


# -- parent side ------------------------------------------------------------------


def run(
    tree: Path,
    commands: list[CompileCommand],
    fields: tuple[F.FieldSpec, ...],
    cache: Cache,
    *,
    jobs: int,
    exclude: tuple[str, ...] = (),
    progress: Progress | None = None,
    uses_in: list[str | Path] | None = None,
    pch: bool = True,
) -> Index:
    """Facts for *commands*: from the cache when valid, parsed otherwise.

    With *uses_in* (scope paths), only what a report of the fields' uses in
    those paths needs (see the module docstring): fewer TUs, light facts.
    *pch*: a full index parses the TUs that can through a shared precompiled
    header (pch.py); the facts are the same.
    """
    # Millions of long-lived records, frozen on the way out (no_gc): out of the cyclic GC's
    # sight from then on (they hold no cycles).  A plan's own allocations would otherwise
    # trigger full collections that walk all of them: ~40 % of a warm plan over fs/ + mm/.
    with no_gc(freeze=True):
        return _run(tree, commands, fields, cache, jobs=jobs, exclude=exclude, progress=progress,
                    uses_in=uses_in, use_pch=pch)


def _run(tree, commands, fields, cache, *, jobs, exclude, progress, uses_in, use_pch) -> Index:
    from . import parse

    t0 = time.perf_counter()
    stats: dict = {}
    version = parse.libclang_version()
    keys = {c.file: tu_key(c.file, c.args, fields, version) for c in commands}
    by_file = {c.file: c for c in commands}
    uses_mode = uses_in is not None
    idx = Index(tree=tree, light=uses_mode)

    # Which TUs: all, or those the prefilter keeps.
    headers_wanted: dict[str, list[str]] = {}
    walk_exclude = tuple(exclude)
    focus = None
    if uses_mode:
        walk_exclude += _outside(tree, uses_in)
        words = {f.member for f in fields}
        if len(fields) == 1:
            from . import prefilter

            sel = prefilter.select(tree, commands, fields[0].member, list(uses_in), cache.dir, exclude=exclude,
                                   known_deps=lambda src: cache.deps(keys[src]) if cache.valid(keys[src]) else None)
            wanted = [c.file for c in sel.wanted]
            idx.skipped = sel.skipped
            headers_wanted = sel.headers
            stats["prefilter"] = {k: v for k, v in sel.stats.items() if k != "why"}
            words.update(sel.stats.get("aliases", ()))
        else:
            wanted = [c.file for c in commands]
        focus = _focus(words)
    else:
        wanted = [c.file for c in commands]
    t_select = time.perf_counter()

    walkable = _walkable(tree, walk_exclude)

    # Cached entries, checked by stat; their light facts say which headers each one walked.
    def cached_light(src: str) -> F.TUFacts | None:
        k = keys[src]
        if not cache.valid(k) or (not uses_mode and not cache.has_full(k)):
            return None
        return cache.lookup_light(k)

    have: dict[str, F.TUFacts] = {}
    for src in wanted:
        lt = cached_light(src)
        if lt is not None:
            have[src] = lt
    wanted_set = set(wanted)

    # Headers the cached TUs read whose facts none of them holds (or, for a report, a header
    # of the scope with a possible use): borrowed from any valid entry outside this run
    # (a plan's cache serves a report, a whole-tree cache a narrower scope), not parsed again.
    covered = {h.path for t in have.values() for h in t.headers if cache.current_sha(h.path) == h.sha}
    need = {d for d in cache.deps_union(keys[src] for src in have)
            if d.endswith(".h") and d not in covered and walkable(d)}
    need.update(h for h in headers_wanted if h not in covered and walkable(h))
    donated = cache.borrow(need, full=not uses_mode) if need else []
    covered.update(h.path for h in donated)

    todo = [s for s in wanted if s not in have]
    # The TUs to parse will walk again, most likely, the headers they read last time.
    expected = {d for d in cache.deps_union(keys[s] for s in todo) if d.endswith(".h") and walkable(d)}
    if need - covered - expected:
        todo += _orphan_header_owners(have, cache, keys, walkable, covered | expected)
    for s in todo:
        have.pop(s, None)
    covered = {h.path for t in have.values() for h in t.headers if cache.current_sha(h.path) == h.sha}
    covered.update(h.path for h in donated)
    t_validate = time.perf_counter()

    # Full facts of the cached TUs (full mode only).
    results: dict[str, F.TUFacts] = {}
    if uses_mode:
        results.update(have)
    else:
        for src in list(have):
            full = cache.lookup(keys[src])
            if full is None:  # unreadable: parse it again
                todo.append(src)
                have.pop(src)
            else:
                results[src] = full
    idx.cached = len(have)
    t_load = time.perf_counter()

    # Parse the rest.
    total = len(wanted)
    done = len(have)
    if progress:
        progress(done, total, "")
    log_fd, log_path = tempfile.mkstemp(dir=cache.dir, prefix=".walked-", suffix=".log")
    parsed = 0
    try:
        with os.fdopen(log_fd, "wb", buffering=0) as log:
            log.write("".join(p + "\n" for p in sorted(covered)).encode())
            # A trace event header is walked by the TU that makes its trace points, if one
            # is parsed: it alone sees the functions CREATE_TRACE_POINTS adds, and their
            # uses (include/trace/events/ext4.h reads page->mapping in TP_fast_assign).
            pch_mod.forget_files()  # this run's headers, not those of an earlier run in this process
            creates = _trace_creators(todo, by_file, covered)
            log.write("".join(p + "\n" for p in sorted(set().union(*creates.values()))).encode())
            pch_for: dict[str, tuple] = {}
            if use_pch and not uses_mode and len(todo) >= pch_mod.MIN_TUS and executor.is_local():
                t_pch = time.perf_counter()
                pch_for, pch_headers, stats["pch"] = _precompile(tree, commands, set(todo), cache, fields,
                                                                 version, log_path, walk_exclude, jobs)
                new = [h for h in pch_headers if h.path not in covered]
                covered.update(h.path for h in new)
                donated.extend(new)
                log.write("".join(h.path + "\n" for h in new).encode())
                stats["pch"]["seconds"] = round(time.perf_counter() - t_pch, 2)
            # Longest first, so that no big TU is left alone on one worker at the end:
            # without a PCH a TU costs about twice as much; then the bigger the file, the longer.
            pending = sorted(todo, key=lambda s: (s in pch_for, -_size(s)))
            tried: set[str] = set(pending)
            while pending:
                tasks = [(s, by_file[s].args, str(tree), fields, log_path, walk_exclude, focus, pch_for.get(s),
                          creates.get(s, frozenset())) for s in pending]
                for facts in _parse_all(tasks, jobs, idx.crashed):
                    key = keys[facts.source]
                    if facts.error:
                        cache.forget(key)  # a crash or an unreadable file: try again next time
                    else:
                        cache.store(key, facts, full=focus is None)
                    new = [h.path for h in facts.headers if h.path not in covered]
                    covered.update(new)
                    if new:
                        log.write("".join(p + "\n" for p in new).encode())
                    results[facts.source] = light(facts) if uses_mode else facts
                    parsed += 1
                    done += 1
                    if progress:
                        progress(done, max(total, done), facts.source)
                # A header of the scope with a possible use that no TU walked: its next includer.
                pending = []
                for h, includers in headers_wanted.items():
                    if h in covered or not walkable(h):
                        continue
                    nxt = next((s for s in includers if s not in tried and s not in wanted_set), None)
                    if nxt is not None and nxt in by_file:
                        pending.append(nxt)
                        tried.add(nxt)
                        wanted.append(nxt)
                        wanted_set.add(nxt)
                        if nxt in idx.skipped:
                            idx.skipped.remove(nxt)
                # A header some TU read that none walked (its owner changed and no TU that was
                # parsed reads it any more): one of its readers again.
                missing = {d for d in cache.deps_union(keys[s] for s in results)
                           if d.endswith(".h") and d not in covered and walkable(d)}
                for src in sorted(results):
                    if not missing:
                        break
                    hit = missing.intersection(cache.deps(keys[src]))
                    if hit and src not in tried:
                        pending.append(src)
                        tried.add(src)
                        missing -= hit
                        if have.pop(src, None) is not None:
                            idx.cached -= 1
    finally:
        try:
            os.unlink(log_path)
        except OSError:
            pass
    idx.parsed = parsed
    t_parse = time.perf_counter()
    cache.save()
    t_save = time.perf_counter()

    idx.tus = sorted(results.values(), key=lambda t: t.source)
    idx.files = _merge_files(idx.tus, cache, donated)
    idx.seconds = time.perf_counter() - t0
    stats["seconds"] = {"select": t_select - t0, "validate": t_validate - t_select, "load": t_load - t_validate,
                        "parse": t_parse - t_load, "save": t_save - t_parse,
                        "merge": idx.seconds - (t_save - t0)}
    idx.stats = stats
    return idx


_CREATE = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+CREATE_TRACE_POINTS\b", re.M)
_INCLUDE = re.compile(rb'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"\n]+)[>"]', re.M)


def _walkable(tree, exclude: Iterable[str]) -> Callable[[str], bool]:
    """Is a path one the walk takes facts from: under *tree*, not under an
    *exclude* directory (as parse.parse_tu decides)?"""
    prefix = os.path.normpath(tree) + os.sep
    excl = tuple(os.path.normpath(e) + os.sep for e in exclude)
    return lambda path: path.startswith(prefix) and not path.startswith(excl)


def _trace_creators(todo: Iterable[str], by_file: dict[str, CompileCommand],
                    covered: set[str]) -> dict[str, frozenset[str]]:
    """The trace event headers each TU of *todo* includes after it defines
    CREATE_TRACE_POINTS (fs/ext4/super.c: trace/events/ext4.h), but those
    whose facts the run has already."""
    from .compdb import search_paths

    out: dict[str, frozenset[str]] = {}
    for src in todo:
        try:
            data = open(src, "rb").read()
        except OSError:
            continue
        m = _CREATE.search(data)
        if m is None:
            continue
        paths = search_paths(by_file[src].args)
        found = (pch_mod.find_include(q == b'"', name.decode(errors="replace").strip(), os.path.dirname(src), paths)
                 for q, name in _INCLUDE.findall(data, m.end()))
        made = frozenset(p for p in found if p and p not in covered and pch_mod.trace_header(p))
        if made:
            out[src] = made
    return out


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _precompile(tree, commands, todo, cache, fields, version, log_path, exclude, jobs):
    """Build (or reuse) the PCHs for the TUs of *todo* and say which uses which.

    A directory's own PCH is tried first, a common one next.  The groups come
    from all *commands*, so that a run that parses only some TUs again reuses
    the PCHs of the run that parsed them all.  A PCH is cached
    under ``<cache>/pch/`` with a cache entry of its own (its key), valid while
    none of the files the PCH read, nor the PCH file itself, changed.  The facts
    of a header several PCHs read are held by one entry only (_header_facts).
    Returns ``({source: ("use", pch file, its headers)}, header facts, stats)``.
    """
    from . import idents, prefilter
    from .cache import CODE

    scanner = idents.Scanner(cache.dir)
    graph = prefilter.IncludeGraph(scanner, commands)
    graph.reach([c.file for c in commands] + graph.forced)
    scanner.save()
    common = pch_mod.groups(commands, graph, version, CODE, fields)
    own = pch_mod.lead_groups(commands, graph, version, CODE, fields, base=common)
    # A directory's own PCH first: it serves its TUs better.  A TU it fails (a build
    # error, the macro rule) may still take a common one.
    groups = [g for g in [*own, *common] if todo.intersection(g.members)]
    pch_dir = cache.dir / "pch"
    # The common PCHs first, to build and to take header facts from: a header two PCHs
    # read is walked once per worker, and a directory's own may see it through its
    # macros (fs/xfs/xfs.h defines DEBUG, which printk.h tests).
    common_first = sorted(groups, key=lambda g: g.own)
    kept: dict[str, F.TUFacts] = {}
    for g in common_first:
        entry = cache.lookup(g.key) if (pch_dir / f"{g.key}.pch").is_file() else None
        if entry is not None:
            kept[g.key] = entry
    failed: list[str] = []
    built: dict[str, F.TUFacts] = {}
    _build(tree, [g for g in common_first if g.key not in kept and _pays(g, todo)], pch_dir, fields, exclude, jobs,
           cache, built, failed)
    facts_of, borrowed, lacking = _header_facts(common_first, kept, built, cache, tree, exclude, pch_dir)
    if lacking:  # still valid, but the entry holding some of their headers is gone
        for key in lacking:
            del kept[key]
        _build(tree, [g for g in common_first if g.key in lacking], pch_dir, fields, exclude, jobs, cache, built,
               failed)
        facts_of, borrowed, _ = _header_facts(common_first, kept, built, cache, tree, exclude, pch_dir)
    ready = {key: _pch_deps(e, pch_dir, key) for key, e in [*kept.items(), *built.items()]}
    held = {h.path for e in kept.values() for h in e.headers} | borrowed
    for g in common_first:
        facts = built.get(g.key)
        if facts is None:
            continue
        mine = tuple(facts_of[d] for d in facts.deps if d in facts_of and d not in held)
        held.update(h.path for h in mine)
        # The PCH file is a dependency of its own entry only: a PCH rebuilt by a run that
        # did not finish no longer matches the entry, which is then built again.
        cache.store(g.key, F.TUFacts(facts.source, facts.main, mine, (*facts.deps, str(pch_dir / f"{g.key}.pch")),
                                     facts.diagnostics, None, facts.seconds, facts.stats))
    _forget_old_pchs(pch_dir, cache, keep=set(ready))
    use: dict[str, tuple] = {}
    early_memo: dict = {}
    refused: set[str] = set()
    for g in groups:
        deps = ready.get(g.key)
        if deps is None:
            continue
        tested = pch_mod.tested_macros(d for d in deps if d.endswith(".h"))
        for src in todo.intersection(g.members):
            if src in use:
                continue
            if pch_mod.may_use(src, tested, graph, early_memo, inside=deps if g.own else (),
                               roots=g.roots if g.own else None):
                use[src] = ("use", str(pch_dir / f"{g.key}.pch"), deps)
            else:
                refused.add(src)
    stats = {"groups": len(ready), "built": len(built), "failed": failed, "tus": len(use),
             "refused by a macro": len(refused - use.keys()), "without": len(todo) - len(use)}
    return use, list(facts_of.values()), stats


def _pays(g: pch_mod.Group, todo: set[str]) -> bool:
    """Whether building *g* is worth it for the TUs of *todo* it may serve."""
    n = len(todo.intersection(g.members))
    return n * g.saves >= pch_mod.LEAD_PAYS if g.own else n >= pch_mod.MIN_TUS


def _pch_deps(entry: F.TUFacts, pch_dir: Path, key: str) -> tuple[str, ...]:
    out = str(pch_dir / f"{key}.pch")
    return tuple(d for d in entry.deps if d != out)


def _build(tree, todo_groups, pch_dir, fields, exclude, jobs, cache, built, failed) -> None:
    """Build the PCHs of *todo_groups* on the workers; their facts go to *built*
    (key -> facts, the PCH file not yet among the deps)."""
    tasks = []
    for g in todo_groups:
        src = pch_dir / f"{g.key}.h"
        try:
            pch_dir.mkdir(exist_ok=True)
            if not src.is_file() or src.read_text() != g.text:
                src.write_text(g.text)
        except OSError as err:
            failed.append(f"{g.key}: cannot write {src} ({err.strerror})")
            continue
        # No log: a build walks every header it reads but those another build on the same
        # worker walked already (in this run: they are in *built*).
        tasks.append((str(src), (*g.args, "-x", "c-header"), str(tree), fields, "", exclude, None,
                      ("build", str(pch_dir / f"{g.key}.pch")), frozenset()))
    for facts in _parse_all(tasks, jobs, []):
        key = Path(facts.source).stem
        if facts.error:
            cache.forget(key)
            failed.append(f"{key}: {facts.error}")
        else:
            built[key] = facts


def _header_facts(common_first, kept, built, cache, tree, exclude, pch_dir):
    """The facts of every header the PCHs of this run read: path -> facts.

    One entry holds a header's facts: the same 600 headers in all 28 PCH entries
    of fs/ + mm/ were 150 MB that a warm plan unpickled 28 times over.  So a
    kept entry's facts of a header come first (a warm run reads them there), then
    those of any other valid entry (a PCH this run has no use for), then the
    builds', the first in *common_first* order first (not the first built).
    Returns (facts, the paths borrowed from other entries, the kept PCHs some of
    whose headers have no facts anywhere: the entry that held them is gone)."""
    walkable = _walkable(tree, exclude)
    facts_of: dict[str, F.FileFacts] = {}
    for e in kept.values():
        for h in e.headers:
            facts_of.setdefault(h.path, h)
    walked = {key: {d for d in _pch_deps(e, pch_dir, key) if walkable(d)} - {e.source} for key, e in kept.items()}
    missing = set().union(*walked.values()) - facts_of.keys()
    borrowed: set[str] = set()
    if missing:
        for h in cache.borrow(missing, exclude={g.key for g in common_first}):
            facts_of.setdefault(h.path, h)
            borrowed.add(h.path)
    for g in common_first:
        for h in (built[g.key].headers if g.key in built else ()):
            facts_of.setdefault(h.path, h)
    lacking = [key for key, paths in walked.items() if not paths <= facts_of.keys()]
    return facts_of, borrowed, lacking


def _forget_old_pchs(pch_dir: Path, cache: Cache, keep: set[str]) -> None:
    """Delete the PCHs no valid cache entry stands for (~13 MB each; made by
    another passdown or libclang, or with headers since changed).  A run that
    still uses one falls back to a plain parse."""
    try:
        files = list(pch_dir.iterdir())
    except OSError:
        return
    for f in files:
        key = f.name.split(".", 1)[0]
        if key not in keep and not cache.valid(key):
            try:
                f.unlink()
            except OSError:
                pass


def _focus(words: Iterable[str]) -> bytes:
    """The functions a report's walk needs: those that spell the member or a
    macro that expands to it (where uses can be), and those that store a name
    into a member (ops stored at run time: ``bio->bi_end_io = end_fn;``, which
    the report's classification reads)."""
    alt = b"|".join(re.escape(w.encode()) for w in sorted(words))
    return rb"\b(?:" + alt + rb")\b|(?:->|\.)\s*\w+\s*=\s*&?\s*[A-Za-z_]\w*\s*;"


def _outside(tree: Path, scope: Iterable[str | Path]) -> tuple[str, ...]:
    """Directories of *tree* that hold no part of *scope* and are not above one:
    in uses mode their headers are not walked (their uses are not reported)."""
    tree_s = os.path.normpath(str(tree))
    sc = [os.path.normpath(str(s)) for s in scope]
    if any(s == tree_s for s in sc):
        return ()
    out: list[str] = []

    def visit(d: str) -> None:
        try:
            entries = sorted(e.path for e in os.scandir(d) if e.is_dir(follow_symlinks=False))
        except OSError:
            return
        for p in entries:
            if any(p == s or p.startswith(s + os.sep) for s in sc):
                continue
            if any(s.startswith(p + os.sep) for s in sc):
                visit(p)
            else:
                out.append(p)

    visit(tree_s)
    return tuple(out)


def _orphan_header_owners(have: dict[str, F.TUFacts], cache: Cache, keys: dict[str, str],
                          walkable: Callable[[str], bool], covered: set[str]) -> list[str]:
    """TUs to re-parse so that every walkable header read by a cached TU has facts.

    A header's facts live in the entry of the TU that first walked it; when
    that TU is gone or changed, some other includer must walk it again.
    """
    covered = set(covered)
    extra: list[str] = []
    for source in sorted(have):
        missing = [d for d in cache.deps(keys[source]) if d != source and d.endswith(".h") and d not in covered
                   and walkable(d)]
        if missing:
            extra.append(source)
            covered.update(missing)
    return extra


def _work_in_run(task: tuple) -> F.TUFacts:
    """_work, on a worker that may outlive the run (a Dask worker serves many):
    the headers it walked for another run (another log) are not this run's."""
    global _log
    if _log[0] != task[4]:
        _walked.clear()
        _log = (task[4], 0)
    return _work(task)


def _task_paths(task: tuple) -> list[str]:
    """What a worker on another machine must see to parse *task*: the tree,
    the source, and the absolute include directories of its command (the
    build) that this machine has (kbuild passes some that exist nowhere)."""
    source, args, tree = task[0], task[1], task[2]
    paths = [tree, source]
    it = iter(args)
    for a in it:
        if a in ("-I", "-isystem", "-iquote", "-include"):
            a += next(it, "")
        for flag in ("-I", "-isystem", "-iquote", "-include"):
            if a.startswith(flag + "/"):
                paths.append(a[len(flag):])
                break
    return [p for p in dict.fromkeys(paths) if os.path.exists(p)]


def _parse_all(tasks: list[tuple], jobs: int, crashed: list[str]):
    """Yield facts for every task, parsed where PASSDOWN_SCHEDULER says
    (executor.py: the local pool of *jobs* processes, or a Dask cluster); a TU
    that kills its worker is retried alone and, if it kills it again, reported
    as crashed."""
    if not tasks:
        return
    ex = executor.select(jobs, initializer=_init_worker)
    for task, result in ex.map(_work_in_run, tasks, needs=_task_paths(tasks[0])):
        if result is executor.CRASHED:
            crashed.append(task[0])
            result = F.TUFacts(task[0], None, error="libclang crashed while parsing it")
        yield result


def _merge_files(results: list[F.TUFacts], cache: Cache, donated: Iterable[F.FileFacts] = ()) -> dict[str, F.FileFacts]:
    files: dict[str, F.FileFacts] = {}
    for t in results:
        if t.main is not None:
            files[t.main.path] = t.main
    for t in results:
        for h in t.headers:
            if h.path in files:
                continue
            if cache.current_sha(h.path) == h.sha:
                files[h.path] = h
    for h in donated:
        files.setdefault(h.path, h)
    return files
