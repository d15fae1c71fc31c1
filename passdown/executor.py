"""Where the TUs are parsed: a local process pool, or a Dask cluster.

``index._parse_all`` hands its tasks to the executor :func:`select` returns and
gets back ``(task, result)`` pairs, in completion order; ``result`` is
:data:`CRASHED` for a task that killed its worker twice (once among the others,
once alone).  Everything else -- the cache, the walked-headers log, progress --
stays in the parent, whatever the executor.

* :class:`LocalPool` (the default): ``jobs`` worker processes from a forkserver
  (a worker inherits neither the parent's heap nor its libclang state), alive
  for one stream of tasks.  A worker that dies breaks the pool: every task in
  flight becomes a suspect, the rest go on in a new pool, then each suspect is
  run alone in a pool of one; if it kills that worker too, it crashed.
* :class:`DaskExecutor`, selected by ``PASSDOWN_SCHEDULER=tcp://HOST:8786``
  (the CLI's ``--scheduler``): the same tasks on a ``dask.distributed``
  cluster (``pip install 'passdown[distributed]'``; imported only then).  A
  worker that dies is restarted by its nanny and dask runs its tasks again on
  other workers; a task dask gives up on (``KilledWorker``, after
  ``distributed.scheduler.allowed-failures`` deaths) is run once more alone,
  and if dask gives up again, it crashed -- the local pool's rule.  Every
  worker must see the tree and the build at the parent's paths (a shared
  filesystem, or identical checkouts) and run the same passdown and libclang:
  checked on every worker before the first task.  The walked-headers log is a
  file in the parent's cache directory: a worker that cannot read it (another
  machine, no shared filesystem) still walks each header at most once itself,
  so header facts come back once per worker instead of once per run.

See bench/README.md, "Scaling past one machine".
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterator

from .errors import InputError, ToolError

ENV = "PASSDOWN_SCHEDULER"
CRASHED = object()  # the result of a task that killed its worker, alone as well

Work = Callable[[object], object]  # a module-level function: it is pickled by reference


def select(jobs: int, initializer: Callable[[], None] | None = None):
    """The executor ``PASSDOWN_SCHEDULER`` names: unset, empty or ``local``,
    the local pool of *jobs* processes; otherwise the address of a Dask
    scheduler (``tcp://host:8786``, ``tls://...``), whose workers decide the
    parallelism (*jobs* is not used)."""
    if is_local():
        return LocalPool(jobs, initializer)
    return DaskExecutor(os.environ[ENV].strip())


def is_local() -> bool:
    """Do the workers share this machine's files (a PCH written here is theirs too)?"""
    address = os.environ.get(ENV, "").strip()
    return not address or address == "local"


# -- local -------------------------------------------------------------------------


def _pool(jobs: int, initializer: Callable[[], None] | None) -> ProcessPoolExecutor:
    # forkserver: a worker does not inherit the parent's heap (a warm run holds
    # every cached fact there) nor its libclang state.
    ctx = multiprocessing.get_context("forkserver")
    return ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=ctx, initializer=initializer)


class LocalPool:
    def __init__(self, jobs: int, initializer: Callable[[], None] | None = None):
        self.jobs = max(1, jobs)
        self.initializer = initializer

    def map(self, fn: Work, tasks: list, needs: list[str] = ()) -> Iterator[tuple[object, object]]:
        """``(task, fn(task))`` for every task, as they finish; a task that kills
        its worker is retried alone and, if it kills it again, yields CRASHED."""
        pending = list(reversed(tasks))
        suspects: list[tuple] = []
        while pending:
            inflight: dict = {}
            try:
                with _pool(self.jobs, self.initializer) as pool:
                    while pending or inflight:
                        while pending and len(inflight) < self.jobs * 2:
                            t = pending.pop()
                            inflight[pool.submit(fn, t)] = t
                        finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
                        for fut in finished:
                            result = fut.result()  # raises BrokenProcessPool if a worker died
                            t = inflight.pop(fut)
                            yield t, result
            except BrokenProcessPool:
                # Every task in flight is a suspect; each is retried alone below.
                suspects += list(inflight.values())
        for t in suspects:
            try:
                with _pool(1, self.initializer) as solo:
                    result = solo.submit(fn, t).result()
            except BrokenProcessPool:
                result = CRASHED
            yield t, result


# -- dask.distributed --------------------------------------------------------------

_clients: dict[str, object] = {}  # scheduler address -> Client, one per parent process
_serial = threading.Lock()  # on a worker: one task at a time (parse.py's visitor state is per process)


def close() -> None:
    """Disconnect from every Dask scheduler this process used."""
    while _clients:
        _, c = _clients.popitem()
        c.close()


def _distributed():
    try:
        import distributed
    except ImportError:
        raise InputError(f"{ENV}={os.environ.get(ENV, '')} needs dask.distributed, which is not installed: "
                         "pip install 'passdown[distributed]', or unset it for the local pool") from None
    return distributed


def _run_alone(fn: Work, task: tuple):
    """A task on a Dask worker: one at a time per worker process, whatever its
    thread count (the walk keeps its visitor state in module globals)."""
    with _serial:
        return fn(task)


def _probe(paths: list[str]) -> dict:
    """What a worker has: the code digest and libclang the facts depend on,
    and which of *paths* it cannot see."""
    from . import cache, parse

    try:
        version = parse.libclang_version()
    except Exception as err:  # libclang missing or the wrong one: said in the report below
        version = f"unusable ({err})"
    return {"code": cache.CODE, "libclang": version, "missing": [p for p in paths if not os.path.exists(p)]}


class DaskExecutor:
    def __init__(self, address: str, *, connect_timeout: float = 30.0, worker_timeout: float = 60.0):
        self.address = address
        self.connect_timeout = connect_timeout
        self.worker_timeout = worker_timeout

    def client(self):
        distributed = _distributed()
        c = _clients.get(self.address)
        if c is None or c.status in ("closed", "closing"):
            try:
                c = distributed.Client(self.address, timeout=self.connect_timeout, set_as_default=False)
            except (OSError, TimeoutError) as err:
                raise ToolError(f"cannot reach the Dask scheduler at {self.address} ({err}); start one "
                                f"(`dask scheduler`) or unset {ENV}") from None
            _clients[self.address] = c
        return c

    def _check_workers(self, c, paths: list[str]) -> None:
        """Every worker runs this passdown and this libclang and
        sees the tree and build at the parent's paths: facts made otherwise
        would be cached under the wrong key, or fail TU by TU."""
        from . import cache, parse

        try:
            c.wait_for_workers(1, timeout=self.worker_timeout)
        except TimeoutError:
            raise ToolError(f"the Dask scheduler at {self.address} has no workers after {self.worker_timeout:.0f}s; "
                            f"start some (`dask worker {self.address} --nthreads 1`)") from None
        answers = c.run(_probe, paths, on_error="return")
        want = {"code": cache.CODE, "libclang": parse.libclang_version()}
        for w, a in sorted(answers.items()):
            if isinstance(a, BaseException):
                raise ToolError(f"Dask worker {w} cannot run passdown ({type(a).__name__}: {a}); install the same "
                                "passdown on every worker") from None
            if a["code"] != want["code"] or a["libclang"] != want["libclang"]:
                raise ToolError(f"Dask worker {w} runs passdown code {a['code']} with libclang {a['libclang']}, this "
                                f"process {want['code']} with {want['libclang']}; install the same passdown and "
                                "libclang on every worker")
            if a["missing"]:
                raise ToolError(f"Dask worker {w} cannot see {', '.join(a['missing'][:3])}: every worker needs the "
                                "tree and the build at the same paths as this process (a shared filesystem or "
                                "identical checkouts)")

    def map(self, fn: Work, tasks: list, needs: list[str] = ()) -> Iterator[tuple[object, object]]:
        """``(task, fn(task))`` for every task, as they finish; a task dask gives
        up on (its workers died) is run once more alone, then yields CRASHED.
        *needs*: paths every worker must see (checked first)."""
        if not tasks:
            return
        distributed = _distributed()
        c = self.client()
        self._check_workers(c, list(needs))
        suspects: list[tuple] = []
        futures = {c.submit(_run_alone, fn, t, pure=False, retries=0): t for t in tasks}
        try:
            for fut in distributed.as_completed(list(futures), loop=c.loop):
                t = futures.pop(fut)
                try:
                    result = fut.result()
                except distributed.KilledWorker:
                    suspects.append(t)
                    continue
                yield t, result
            for t in suspects:
                fut = c.submit(_run_alone, fn, t, pure=False, retries=0)
                futures[fut] = t
                try:
                    result = fut.result()
                except distributed.KilledWorker:
                    result = CRASHED
                finally:
                    del futures[fut]
                yield t, result
        finally:
            if futures:  # interrupted, or the consumer stopped: nothing left running for this run
                c.cancel(list(futures))
