"""The single-machine scaling curve: one cold run of the same passdown command
with the local pool (--jobs 1, 2, ...) and with the Dask executor on a
LocalCluster of 1, 2, ... single-threaded worker processes.

    flock -n /var/tmp/passdown-kernel/bench.lock true   # (others use this lock too)
    scripts/dev.sh python bench/scaling.py --tree T --build B [--verb report|index] [--scope fs mm]
        [--jobs 1 2] [--dask 1 2] [--work DIR] [--json out.json]

Every timed run has its own empty cache directory under --work (default
/var/tmp/passdown-kernel/scaling-<time>/, removed at the end) and holds the
lock file --lock (default /var/tmp/passdown-kernel/bench.lock, the one
`flock` takes) while it runs, so runs of other benchmarks never overlap it.
A Dask cluster is started (and its workers have loaded libclang) before its
run is timed, as a standing cluster would be; its CPU (scheduler and
workers) is counted with the command's.

Per run: wall, CPU of everything (the command's process tree and the
cluster's), TUs parsed per second, speed-up and efficiency against the first
row, and the parent's share: its CPU during the parse phase (receiving and
unpickling results, writing the cache) and the wall time outside the parse
phase (start-up, compile commands, prefilter, saving, merging, the report).
Those two are the serial part of the pipeline; from them the Amdahl bound.

Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import procwatch  # noqa: E402

# Runs the real CLI in this process and reports what only the parent knows: the
# index's phase timings and the parent's own CPU during the parse phase.
WRAPPER = r"""
import json, os, sys, time
from passdown import cli, index
out = {}
_run, _parse_all = index.run, index._parse_all
def run(*a, **k):
    idx = _run(*a, **k)
    out["phases"] = idx.stats.get("seconds", {}); out["parsed"] = idx.parsed; out["tus"] = len(idx.tus)
    out["crashed"] = len(idx.crashed)
    return idx
def parse_all(*a, **k):
    c0, w0 = time.process_time(), time.perf_counter()
    yield from _parse_all(*a, **k)
    out["parse_parent_cpu"] = out.get("parse_parent_cpu", 0.0) + time.process_time() - c0
    out["parse_wall"] = out.get("parse_wall", 0.0) + time.perf_counter() - w0
index.run, index._parse_all = run, parse_all
t0 = time.perf_counter()
rc = cli.main(sys.argv[1:])
out["parent_cpu"] = time.process_time(); out["wall_inside"] = time.perf_counter() - t0
print("SCALING " + json.dumps(out), file=sys.stderr)
sys.exit(rc)
"""

CLUSTER = r"""
import sys
from distributed import Client, LocalCluster
if __name__ == "__main__":
    n = int(sys.argv[1])
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as lc, Client(lc) as c:
        c.wait_for_workers(n)
        from passdown import parse
        c.run(parse.libclang_version)  # libclang loaded, as on a standing cluster
        print(lc.scheduler_address, flush=True)
        sys.stdin.read()  # until the benchmark closes our stdin
"""


def loadavg() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


def measure(cmd: list[str], env: dict, extra: int | None) -> dict:
    """procwatch.run's figures for *cmd*, plus the CPU and RSS of the process
    tree under *extra* (a Dask cluster) over the same time."""
    import resource

    before_cl: dict = {}
    if extra:
        procwatch._sample(extra, before_cl)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.append(proc.stderr.read()))
    reader.start()
    peak, cpu, cl = 0, {}, dict(before_cl)
    while proc.poll() is None:
        rss = procwatch._sample(proc.pid, cpu)
        if extra:
            rss += procwatch._sample(extra, cl)
        peak = max(peak, rss)
        time.sleep(0.1)
    reader.join()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    reaped = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cluster_cpu = 0.0
    if extra:
        procwatch._sample(extra, cl)
        cluster_cpu = sum(v - before_cl.get(k, 0.0) for k, v in cl.items())
    stderr = err[0] if err else ""
    inner = next((json.loads(l[8:]) for l in stderr.splitlines() if l.startswith("SCALING ")), None)
    return {"rc": proc.returncode, "wall": wall, "cpu": max(reaped, sum(cpu.values())) + cluster_cpu,
            "cluster_cpu": cluster_cpu, "peak_rss": peak, "inner": inner, "stderr": stderr}


class Lock:
    """The benchmark lock other benchmarks take with flock(1)."""

    def __init__(self, path: str):
        self.path = path

    def __enter__(self):
        self.fh = open(self.path, "a")
        t = time.perf_counter()
        fcntl.flock(self.fh, fcntl.LOCK_EX)
        self.waited = time.perf_counter() - t
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


def start_cluster(n: int) -> tuple[subprocess.Popen, str]:
    p = subprocess.Popen([sys.executable, "-c", CLUSTER, str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    address = p.stdout.readline().strip()
    if not address.startswith("tcp://"):
        p.kill()
        raise SystemExit(f"the LocalCluster of {n} workers did not start")
    return p, address


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tree", default="/var/tmp/passdown-kernel/linux-source-6.1")
    ap.add_argument("--build", default="/var/tmp/passdown-kernel/build-6.1-allmodconfig",
                    help="kbuild output directory ('' for a tree with its own compile_commands.json)")
    ap.add_argument("--verb", choices=("report", "index"), default="report",
                    help="report: uses mode (prefilter, light facts); index: full facts of the scope")
    ap.add_argument("--scope", nargs="+", default=["fs", "mm"])
    ap.add_argument("--jobs", type=int, nargs="*", default=[1, 2], help="local pool sizes")
    ap.add_argument("--dask", type=int, nargs="*", default=[1, 2], help="LocalCluster worker counts")
    ap.add_argument("--work", help="where the cold caches go (default /var/tmp/passdown-kernel/scaling-<time>)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run every configuration this many times (interleaved) and keep each one's fastest run: "
                         "on a shared machine the quietest")
    ap.add_argument("--lock", default="/var/tmp/passdown-kernel/bench.lock")
    ap.add_argument("--json", help="write the rows here too")
    args = ap.parse_args()

    work = Path(args.work or f"/var/tmp/passdown-kernel/scaling-{time.strftime('%Y%m%d-%H%M%S')}")
    work.mkdir(parents=True, exist_ok=True)
    extra = ["--format", "json", "-o", os.devnull] if args.verb == "report" else []
    runs = ([("local", n) for n in args.jobs] + [("dask", n) for n in args.dask]) * max(1, args.repeat)
    rows, every = [], []
    try:
        for kind, n in runs:
            cache = Path(tempfile.mkdtemp(prefix=f"cache-{kind}{n}-", dir=work))
            cmd = [sys.executable, "-c", WRAPPER, args.verb, "--tree", args.tree,
                   *(["--build", args.build] if args.build else []), "--cache", str(cache), "--jobs", str(n), "--scope", *args.scope, *extra]
            env = {k: v for k, v in os.environ.items() if k != "PASSDOWN_SCHEDULER"}
            cluster = None
            with Lock(args.lock) as lock:
                try:
                    if kind == "dask":
                        cluster, address = start_cluster(n)
                        env["PASSDOWN_SCHEDULER"] = address
                    load = loadavg()
                    r = measure(cmd, env, cluster.pid if cluster else None)
                    load_after = loadavg()
                finally:
                    if cluster is not None:
                        cluster.stdin.close()
                        cluster.wait(timeout=60)
            shutil.rmtree(cache, ignore_errors=True)
            if r["rc"] != 0 or not r["inner"]:
                print(r["stderr"][-3000:], file=sys.stderr)
                raise SystemExit(f"{kind} {n}: passdown failed (exit {r['rc']})")
            every.append({"executor": kind, "workers": n, "load_before": load, "load_after": load_after,
                         "lock_wait": lock.waited, **{k: v for k, v in r.items() if k != "stderr"}})
            i = r["inner"]
            print(f"# {kind} {n}: {r['wall']:.1f}s wall, {r['cpu']:.1f}s CPU, {i['parsed']} parsed, "
                  f"load {load} -> {load_after}", file=sys.stderr, flush=True)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)

    for row in every:  # the fastest run of each configuration, in the order given
        old = next((r for r in rows if (r["executor"], r["workers"]) == (row["executor"], row["workers"])), None)
        if old is None:
            rows.append(row)
        elif row["wall"] < old["wall"]:
            rows[rows.index(old)] = row
    base = rows[0]
    print(f"\npassdown {args.verb} --scope {' '.join(args.scope)}, cold ({args.tree}, {os.cpu_count()} cores"
          + (f", fastest of {args.repeat} runs each" if args.repeat > 1 else "") + ")\n")
    head = (f"{'executor':10} {'workers':>7} {'TUs':>5} {'wall s':>7} {'CPU s':>7} {'TUs/s':>6} {'speed-up':>8} "
            f"{'effic.':>6} {'parent CPU in parse s':>21} {'serial wall s':>13} {'peak RSS':>9} {'load 1/5/15 min':>16}")
    print(head)
    print("-" * len(head))
    for r in rows:
        i = r["inner"]
        serial = r["wall"] - i.get("parse_wall", 0.0)
        speed = base["wall"] / r["wall"]
        print(f"{r['executor']:10} {r['workers']:7d} {i['parsed']:5d} {r['wall']:7.1f} {r['cpu']:7.1f} "
              f"{i['parsed'] / r['wall']:6.2f} {speed:8.2f} {speed / r['workers']:6.2f} "
              f"{i.get('parse_parent_cpu', 0.0):21.1f} {serial:13.1f} {r['peak_rss'] / 2**20:7.0f}MB {r['load_before']:>16}")
    # Amdahl: the serial part is the wall time outside the parse phase plus the parent's
    # CPU inside it (every result passes through the parent, one at a time).
    s = base["wall"] - base["inner"].get("parse_wall", 0.0) + base["inner"].get("parse_parent_cpu", 0.0)
    f = s / base["wall"]
    print(f"\nserial part at 1 worker: {s:.1f}s of {base['wall']:.1f}s ({100 * f:.1f} %): Amdahl bound "
          + ", ".join(f"{n} workers {1 / (f + (1 - f) / n):.1f}x" for n in (2, 4, 8, 16, 32, 64))
          + f", limit {1 / f:.1f}x")
    # The same by CPU, which contention on a shared machine inflates less than wall time: the
    # parent's whole CPU (start-up, prefilter, results, cache, report) against everything's.
    pc = base["inner"]["parent_cpu"]
    fc = pc / base["cpu"]
    print(f"by CPU at 1 worker: the parent {pc:.1f}s of {base['cpu']:.1f}s ({100 * fc:.1f} %): bound "
          + ", ".join(f"{n} workers {1 / (fc + (1 - fc) / n):.1f}x" for n in (2, 4, 8, 16, 32, 64))
          + f", limit {1 / fc:.1f}x")
    print(f"load average now: {loadavg()}  ({subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()})")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows, "every": every}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
