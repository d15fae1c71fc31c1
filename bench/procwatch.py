"""Run a command and measure wall time, CPU time and the peak RSS of its whole
process tree (passdown's workers are children of a forkserver child of the
command), from /proc."""

from __future__ import annotations

import os
import resource
import subprocess
import time

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out += [int(c) for c in fh.read().split()]
    except OSError:
        pass
    return out


def _sample(pid: int, cpu: dict) -> int:
    """RSS of the tree under *pid* now; records each process's CPU seconds in *cpu*."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * _PAGE
            with open(f"/proc/{p}/stat") as fh:
                f = fh.read().rsplit(")", 1)[1].split()
            # utime, stime are fields 14 and 15 (1-based); starttime 22 tells pids apart.
            cpu[(p, f[19])] = (int(f[11]) + int(f[12])) / _TICK
        except (OSError, IndexError, ValueError):
            continue
        stack += _children(p)
    return total


def run(cmd: list[str], **kw) -> dict:
    """Wall, CPU and peak RSS of *cmd*.  CPU is the larger of what the kernel
    accounts to reaped children (getrusage) and the sum of per-process samples
    (processes whose parent never reaps them, such as a forkserver's workers,
    are only seen by sampling; the last 0.1 s of each is missed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    peak, cpu = 0, {}
    import threading

    out: dict = {}
    reader = threading.Thread(target=lambda: out.update(zip(("stdout", "stderr"), proc.communicate())))
    reader.start()
    while proc.poll() is None:
        peak = max(peak, _sample(proc.pid, cpu))
        time.sleep(0.1)
    reader.join()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    reaped = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"rc": proc.returncode, "wall": wall, "cpu": max(reaped, sum(cpu.values())), "peak_rss": peak,
            "stdout": out.get("stdout", ""), "stderr": out.get("stderr", "")}
