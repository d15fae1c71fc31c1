"""Executors: the local process pool and a dask.distributed cluster give the
same facts, and a TU that kills its worker is reported crashed by both.

Real processes and real libclang: the Dask tests run a LocalCluster of worker
processes (``pip install 'passdown[distributed]'``, which scripts/dev.sh does).
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest

from passdown import executor
from passdown import facts as F
from passdown import index
from passdown.errors import InputError, ToolError
from passdown.workspace import Workspace

from test_index_cache import make_tree, run, uses

FIELDS = (F.FieldSpec("page", "mapping"),)


def corpus_index(corpus, cache_dir, **kw):
    ws = Workspace.open(corpus, None, cache_dir)
    return index.run(ws.tree, ws.commands(), FIELDS, ws.open_cache(), jobs=2, **kw)


def comparable(idx):
    """What a run found, whoever parsed it: each TU's own facts (less the
    headers it happened to walk first, and timings) and the merged files."""
    tus = {t.source: t._replace(headers=(), seconds=0.0, stats={}) for t in idx.tus}
    return tus, idx.files, sorted(idx.crashed), idx.parsed


@pytest.fixture
def cluster(request, monkeypatch):
    """A LocalCluster of 2 single-threaded worker processes, selected through
    PASSDOWN_SCHEDULER.  Parametrise with a dict of environment variables the
    workers start with and dask config for the scheduler."""
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed "
                                      "(pip install 'passdown[distributed]'; scripts/dev.sh installs it)")
    import dask

    opts = getattr(request, "param", {})
    for k, v in opts.get("env", {}).items():
        monkeypatch.setenv(k, v)  # before the cluster: its nannies start the worker processes with it
    with dask.config.set(opts.get("config", {})):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                      silence_logs=40) as lc:
            monkeypatch.setenv(executor.ENV, lc.scheduler_address)
            try:
                yield lc
            finally:
                executor.close()


def test_the_local_pool_is_the_default(monkeypatch):
    monkeypatch.delenv(executor.ENV, raising=False)
    assert isinstance(executor.select(2), executor.LocalPool)
    monkeypatch.setenv(executor.ENV, "local")
    assert isinstance(executor.select(2), executor.LocalPool)
    monkeypatch.setenv(executor.ENV, "tcp://127.0.0.1:1")
    assert isinstance(executor.select(2), executor.DaskExecutor)


def test_the_local_pool_retries_a_crash_alone_then_reports_it():
    # ctypes.string_at(0) reads address 0: a real SIGSEGV in the worker, as a libclang crash would be.
    tasks = [b"a", b"b", 0, b"c", b"d", b"e"]
    got = dict((repr(t), r) for t, r in executor.LocalPool(2).map(ctypes.string_at, tasks))
    assert got == {"b'a'": b"a", "b'b'": b"b", "0": executor.CRASHED, "b'c'": b"c", "b'd'": b"d", "b'e'": b"e"}


def test_the_local_pool_reports_a_crashed_tu_and_goes_on(tmp_path):
    # Through index.run, in its own process: the forkserver keeps the environment it started with.
    tree = make_tree(tmp_path)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; import test_index_cache as t; "
            "i = t.run(Path(sys.argv[2]), Path(sys.argv[3]), jobs=2); "
            "print(sorted(c.rsplit('/', 1)[1] for c in i.crashed), i.parsed, [str(f.error) for f in i.failures])")
    out = subprocess.run([sys.executable, "-c", code, os.path.dirname(__file__), str(tree), str(tmp_path / "cache")],
                         env=dict(os.environ, PASSDOWN_TEST_CRASH_ON="fs/b.c"), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[0] == "['b.c'] 3 ['libclang crashed while parsing it']"


def test_a_dask_cluster_gives_the_facts_of_the_local_pool(corpus, tmp_path, cluster, monkeypatch):
    on_cluster = corpus_index(corpus, tmp_path / "cluster")
    on_cluster_uses = corpus_index(corpus, tmp_path / "cluster-uses", uses_in=[corpus])
    monkeypatch.delenv(executor.ENV)
    local = corpus_index(corpus, tmp_path / "local")
    local_uses = corpus_index(corpus, tmp_path / "local-uses", uses_in=[corpus])
    assert local.parsed == len(local.tus) > 10 and not local.crashed
    # the cluster's workers did the parsing (its scheduler lives in this process)
    assert cluster.scheduler.task_prefixes["run_alone"].state_counts["memory"] == on_cluster.parsed + on_cluster_uses.parsed
    assert comparable(on_cluster) == comparable(local)
    assert comparable(on_cluster_uses) == comparable(local_uses)
    assert uses(on_cluster) == uses(local)
    # The parent wrote the cache: a warm run, local or not, parses nothing.
    monkeypatch.setenv(executor.ENV, cluster.scheduler_address)
    warm = corpus_index(corpus, tmp_path / "cluster")
    assert (warm.parsed, warm.cached) == (0, len(local.tus))


@pytest.mark.parametrize("cluster", [{"env": {"PASSDOWN_TEST_CRASH_ON": "fs/b.c"},
                                      "config": {"distributed.scheduler.allowed-failures": 0}}], indirect=True)
def test_a_tu_that_kills_its_dask_worker_is_reported_crashed(tmp_path, cluster):
    tree = make_tree(tmp_path)
    idx = run(tree, tmp_path / "cache")
    assert [os.path.relpath(c, tree) for c in idx.crashed] == ["fs/b.c"]
    # b.c errs in the stream, then alone; a TU that was on the same worker when it died errs
    # with it (how many depends on the order of the stream), then parses alone.
    assert cluster.scheduler.task_prefixes["run_alone"].state_counts["erred"] >= 2
    assert idx.parsed == 3
    assert [(os.path.relpath(t.source, tree), t.error) for t in idx.failures] == [
        ("fs/b.c", "libclang crashed while parsing it")]
    assert ("include/page.h", 3) in uses(idx)  # the others were parsed
    again = run(tree, tmp_path / "cache")  # not cached: the next run tries it again
    assert (again.parsed, again.cached) == (1, 2) and idx.crashed == again.crashed


def test_workers_must_see_the_tree(tmp_path, cluster):
    with pytest.raises(ToolError, match=r"cannot see .*nowhere.*same paths"):
        list(executor.select(1).map(ctypes.string_at, [b"x"], needs=[str(tmp_path / "nowhere")]))


def test_an_unreachable_scheduler_is_one_clear_error(monkeypatch):
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    ex = executor.DaskExecutor("tcp://127.0.0.1:9", connect_timeout=1)
    with pytest.raises(ToolError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        list(ex.map(ctypes.string_at, [b"x"]))


def test_dask_selected_but_not_installed_is_one_clear_error(tmp_path):
    # The CLI in a Python whose import of `distributed` fails, as on an install without the extra.
    tree = make_tree(tmp_path)
    code = ("import sys; sys.modules['distributed'] = None; from passdown.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    out = subprocess.run([sys.executable, "-c", code, "index", "--tree", str(tree), "--cache", str(tmp_path / "c")],
                         capture_output=True, text=True, env=dict(os.environ, PASSDOWN_SCHEDULER="tcp://127.0.0.1:9"))
    assert out.returncode == InputError.exit_code
    assert out.stderr.splitlines() == [
        "passdown: error: PASSDOWN_SCHEDULER=tcp://127.0.0.1:9 needs dask.distributed, which is not installed: "
        "pip install 'passdown[distributed]', or unset it for the local pool"]
