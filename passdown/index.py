"""Index a tree: select TUs, reuse cached facts, parse the rest in worker processes.

Translation units cannot be pickled, so each stays in its worker and only the
plain facts come back.  Workers live for the whole run, and each remembers the
headers it has walked, so a header's inline functions are walked about once
per worker rather than once per TU.
"""

from __future__ import annotations

import os
import signal
import time
import multiprocessing
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from . import facts as F
from .cache import Cache, tu_key
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

    @property
    def failures(self) -> list[F.TUFacts]:
        return [t for t in self.tus if t.failed]

    def functions(self) -> Iterable[tuple[F.FileFacts, F.Function]]:
        for ff in self.files.values():
            for fn in ff.functions:
                yield ff, fn

    def rel(self, path: str) -> str:
        return os.path.relpath(path, self.tree)


# -- worker side ------------------------------------------------------------------

_walked: set[str] = set()


def _init_worker() -> None:
    # The parent handles Ctrl-C and shuts the pool down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _work(task: tuple) -> F.TUFacts:
    from . import parse  # imported in the worker: only parse-level code loads libclang

    source, args, tree, fields, skip, exclude = task
    crash = os.environ.get("PASSDOWN_TEST_CRASH_ON")
    if crash and source.endswith(crash):  # lets the tests kill a real worker, as a libclang crash would
        os.abort()
    facts = parse.parse_tu(source, args, tree, fields, frozenset(skip) | _walked, exclude)
    _walked.update(h.path for h in facts.headers)
    return facts


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
) -> Index:
    from . import parse

    t0 = time.perf_counter()
    version = parse.libclang_version()
    idx = Index(tree=tree)
    keys = {c.file: tu_key(c.file, c.args, fields, version) for c in commands}
    cached: dict[str, F.TUFacts] = {}
    todo: list[CompileCommand] = []
    for c in commands:
        hit = cache.lookup(keys[c.file])
        if hit is not None:
            cached[c.file] = hit
        else:
            todo.append(c)
    todo += _orphan_header_owners(cached, commands, tree, exclude, cache)
    for c in todo:
        cached.pop(c.file, None)

    covered = {h.path for t in cached.values() for h in t.headers if cache.current_sha(h.path) == h.sha}
    idx.cached = len(cached)
    done = len(cached)
    total = len(commands)
    results: list[F.TUFacts] = list(cached.values())
    if progress:
        progress(done, total, "")
    tasks = [(c.file, c.args, str(tree), fields, tuple(sorted(covered)), exclude) for c in todo]
    for facts in _parse_all(tasks, jobs, idx.crashed):
        results.append(facts)
        if facts.error:
            cache.forget(keys[facts.source])  # a crash or an unreadable file: try again next time
        else:
            cache.store(keys[facts.source], facts)
        done += 1
        if progress:
            progress(done, total, facts.source)
    idx.parsed = len(todo)
    cache.save()
    results.sort(key=lambda t: t.source)
    idx.tus = results
    idx.files = _merge_files(results, cache)
    idx.seconds = time.perf_counter() - t0
    return idx


def _orphan_header_owners(cached, commands, tree, exclude, cache) -> list[CompileCommand]:
    """TUs to re-parse so that every tree header read by a cached TU has facts.

    A header's facts live in the entry of the TU that first walked it; when
    that TU is gone or changed, some other includer must walk it again.
    """
    prefix = str(tree) + os.sep
    excl = tuple(os.path.normpath(e) + os.sep for e in exclude)
    have = {h.path for t in cached.values() for h in t.headers if cache.current_sha(h.path) == h.sha}
    by_file = {c.file: c for c in commands}
    extra: list[CompileCommand] = []
    for source, t in sorted(cached.items()):
        missing = [d for d in t.deps if d != source and d.startswith(prefix) and not d.startswith(excl)
                   and d.endswith(".h") and d not in have]
        if missing:
            extra.append(by_file[source])
            have.update(missing)
    return extra


def _pool(jobs: int) -> ProcessPoolExecutor:
    # forkserver: a worker does not inherit the parent's heap (a warm run holds
    # every cached fact there) nor its libclang state.
    ctx = multiprocessing.get_context("forkserver")
    return ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=ctx, initializer=_init_worker)


def _parse_all(tasks: list[tuple], jobs: int, crashed: list[str]):
    """Yield facts for every task; a TU that kills its worker is retried alone
    and, if it kills it again, reported as crashed."""
    if not tasks:
        return
    pending = list(reversed(tasks))
    suspects: list[tuple] = []
    while pending:
        inflight: dict = {}
        try:
            with _pool(jobs) as pool:
                while pending or inflight:
                    while pending and len(inflight) < max(1, jobs) * 2:
                        t = pending.pop()
                        inflight[pool.submit(_work, t)] = t
                    finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        result = fut.result()  # raises BrokenProcessPool if a worker died
                        del inflight[fut]
                        yield result
        except BrokenProcessPool:
            # Every TU in flight is a suspect; each is retried alone below.
            suspects += list(inflight.values())
    for t in suspects:
        try:
            with _pool(1) as solo:
                yield solo.submit(_work, t).result()
        except BrokenProcessPool:
            crashed.append(t[0])
            yield F.TUFacts(t[0], None, error="libclang crashed while parsing it")


def _merge_files(results: list[F.TUFacts], cache: Cache) -> dict[str, F.FileFacts]:
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
    return files
