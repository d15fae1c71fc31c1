"""passdown against Coccinelle on the same tree, side by side (issue 5).

    bench/vs_spatch.sh [--jobs N]                 # Linux 6.1 x86_64 allmodconfig, fs/ + mm/
    python bench/vs_spatch.py --tree T --build B [--scope fs mm] [--jobs N] [--work DIR]

Runs, in order, each measured for wall time, CPU time (the whole process
tree) and peak RSS (the sum over the process tree, sampled every 0.1 s):

  spatch  typed search for struct page's `mapping` (bench/page_mapping.cocci)
          with --recursive-includes --jobs N, kbuild's LINUXINCLUDE as
          coccicheck passes it, once per scope directory;
  passdown report over the scope: cold (empty cache), warm (nothing changed),
          after changing one .c file, after changing one widely included header;
  passdown plan over the scope: cold (its own empty cache), warm; and with --lazy.

A warm row is run --warm-runs times (default 3) and shows the slowest, with
every run's wall time in its note: a warm run takes seconds, and one run
moves by ~0.5 s with the machine.  The warm plan is compared with the cold
one, byte for byte.

and prints one table with the ratio of each passdown run to the spatch time of
the same run, then compares the (file, line) sets of spatch and of the cold
report (analysed uses) and prints the differences: every line spatch finds and
passdown does not is listed.

The tree is never modified: everything runs on a private copy (a hard-link
farm of the source tree, so it costs no disk, and a copy of the build
directory whose compile commands are rewritten to point at it).  The changed
files are replaced, not written in place, so the hard links to the original
tree are never written through, and are put back afterwards.

Installs Debian's `coccinelle` with apt-get when `spatch` is missing (root or
sudo).  Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import procwatch  # noqa: E402

REPO = HERE.parent
COCCI = HERE / "page_mapping.cocci"
SUMMARY = re.compile(r"(?:indexed|planned on demand:) (\d+)(?: of \d+)? TUs \((\d+) parsed(?:, \d+ through \d+ precompiled headers)?, (\d+) from cache, "
                     r"(\d+) with errors(?:, (\d+) skipped[^)]*)?\)")
SKIPPED = re.compile(r"(\d+) TUs? skipped")


# -- setup ------------------------------------------------------------------------


def ensure_spatch() -> str:
    found = shutil.which("spatch")
    if found:
        return found
    print("bench: spatch not found, installing Debian's coccinelle", file=sys.stderr)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-q"], check=False, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-q", "coccinelle"], check=True, env=env)
    found = shutil.which("spatch")
    if not found:
        raise SystemExit("bench: apt-get installed coccinelle but spatch is still not on PATH")
    return found


def hardlink_farm(src: Path, dst: Path) -> None:
    """A copy of *src* made of hard links (no .git): free, and read-only in spirit."""
    if (dst / "Makefile").is_file():
        return
    t0 = time.perf_counter()
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for root, dirs, files in os.walk(src):
        dirs[:] = [d for d in dirs if d != ".git"]
        rel = os.path.relpath(root, src)
        out = tmp / rel
        out.mkdir(parents=True, exist_ok=True)
        for f in files:
            s = os.path.join(root, f)
            if os.path.islink(s):
                os.symlink(os.readlink(s), out / f)
            else:
                os.link(s, out / f)
    tmp.rename(dst)
    print(f"bench: hard-link copy of {src} in {dst} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)


def copy_build(build: Path, tree: Path, copy_tree: Path, dst: Path) -> None:
    """The build directory with every path into *tree* rewritten to *copy_tree*."""
    if not (dst / "compile_commands.json").is_file():
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(build, dst, symlinks=True)
    old, new = str(tree), str(copy_tree)
    for name in ("compile_commands.json", "passdown-prepare.json", "Makefile"):
        p = dst / name
        if p.is_file():
            text = (build / name).read_text()
            p.write_text(text.replace(str(build), str(dst)).replace(old, new))
    link = dst / "source"
    if link.is_symlink():
        link.unlink()
        link.symlink_to(copy_tree)


def linuxinclude(build: Path) -> list[str]:
    """kbuild's LINUXINCLUDE, as coccicheck hands it to spatch: the -I flags
    every compile command shares, and the -include files before __KERNEL__."""
    entries = json.loads((build / "compile_commands.json").read_text())
    common = None
    first_includes: list[str] = []
    for e in entries:
        args = e.get("arguments") or e["command"].split()
        incs, i = [], 0
        while i < len(args):
            a = args[i]
            if a == "-I" and i + 1 < len(args):
                incs.append(args[i + 1])
                i += 1
            elif a.startswith("-I"):
                incs.append(a[2:])
            i += 1
        common = incs if common is None else [x for x in common if x in incs]
        if not first_includes:
            for j, a in enumerate(args):
                if a == "-include" and j + 1 < len(args) and "compiler_types.h" not in args[j + 1]:
                    first_includes.append(args[j + 1])
    out = []
    for d in common or []:
        out += ["-I", d]
    for f in first_includes:
        out += ["--include", f]
    return out


# -- measuring --------------------------------------------------------------------


class Row:
    def __init__(self, name, r, tus="", parsed="", skipped="", note=""):
        self.name, self.wall, self.cpu, self.rss = name, r["wall"], r["cpu"], r["peak_rss"]
        self.tus, self.parsed, self.skipped, self.note = tus, parsed, skipped, note
        self.ratio: float | None = None


def run_spatch(spatch: str, tree: Path, build: Path, scope: list[str], jobs: int, work: Path):
    rows, uses = [], set()
    flags = linuxinclude(build)
    for d in scope:
        out = work / f"spatch-{d.replace('/', '_')}.out"
        cmd = [spatch, "--very-quiet", "--sp-file", str(COCCI), "--recursive-includes",
               "--jobs", str(jobs), "--chunksize", "1", *flags, "--dir", str(tree / d)]
        (work / "spatch-command.txt").open("a").write(f"cd {build} && " + " ".join(cmd) + "\n")
        r = procwatch.run(cmd, cwd=build)
        out.write_text(r["stdout"])
        if r["rc"] != 0:
            print(r["stderr"][-2000:], file=sys.stderr)
            raise SystemExit(f"bench: spatch failed on {d} (exit {r['rc']})")
        found = set()
        for line in r["stdout"].splitlines():
            if line.startswith("USE "):
                f, ln, _ = line[4:].rsplit(":", 2)
                rel = os.path.relpath(f, tree)
                if any(rel == s or rel.startswith(s.rstrip("/") + "/") for s in scope):
                    found.add((rel, int(ln)))
        uses |= found
        rows.append(Row(f"spatch {d}/", r, note=f"{len(found)} use lines"))
    return rows, uses


def run_passdown(name: str, verb: str, tree: Path, build: Path, cache: Path, scope: list[str], jobs: int,
                 out: Path | None = None, extra: list[str] = ()) -> tuple[Row, dict]:
    cmd = [sys.executable, "-m", "passdown", verb, "--tree", str(tree), "--build", str(build),
           "--cache", str(cache), "--jobs", str(jobs), "--scope", *scope, "--format", "json",
           "-o", str(out) if out else os.devnull, *extra]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = procwatch.run(cmd, env=env)
    m = SUMMARY.search(r["stderr"])
    if r["rc"] != 0 or not m:
        print(r["stderr"][-3000:], file=sys.stderr)
        raise SystemExit(f"bench: {name}: passdown failed (exit {r['rc']})")
    tus, parsed = int(m.group(1)), int(m.group(2))
    sk = m.group(5) or (SKIPPED.search(r["stderr"]).group(1) if SKIPPED.search(r["stderr"]) else "")
    data = json.loads(out.read_text()) if out else {}
    return Row(name, r, tus, parsed, sk), data


def warm_row(runs: int, name: str, *args) -> Row:
    """run_passdown *runs* times on a warm cache: the slowest run's row, with
    every run's wall time in its note."""
    got = [run_passdown(name, *args)[0] for _ in range(runs)]
    row = max(got, key=lambda r: r.wall)
    if runs > 1:
        row.name = f"{name}, slowest of {runs}"
        row.note = "runs: " + ", ".join(f"{r.wall:.1f}" for r in got) + " s"
    return row


def changed(path: Path):
    """Context: *path* gets a real content change (a trailing comment), written
    as a new file (never through a hard link), and is put back afterwards."""

    class _Ctx:
        def __enter__(self):
            self.st = path.stat()
            self.data = path.read_bytes()
            # A new comment each time: the cache is content-addressed, so a change it has seen before
            # (an earlier run of this benchmark) would find its entries again.
            stamp = f"\n/* passdown bench {time.time_ns()} */\n".encode()
            self._replace(self.data + stamp, time.time_ns())

        def _replace(self, data: bytes, mtime_ns: int):
            tmp = path.with_name(path.name + ".bench-tmp")
            tmp.write_bytes(data)
            os.utime(tmp, ns=(self.st.st_atime_ns, mtime_ns))
            os.replace(tmp, path)

        def __exit__(self, *exc):
            self._replace(self.data, self.st.st_mtime_ns)
            return False

    return _Ctx()


def _same_plan(a: Path, b: Path) -> str:
    """Do two plans agree on everything but the unresolved list (which the lazy one shortens)?"""
    x, y = json.loads(a.read_text()), json.loads(b.read_text())
    keys = ("functions", "members", "groups", "callback_types", "call_sites", "local_copies", "conversions")
    differ = [k for k in keys if x[k] != y[k]]
    rem = {(u["file"], u["line"]) for u in x["remaining"]} == {(u["file"], u["line"]) for u in y["remaining"]}
    if differ or not rem:
        return f"DIFFERENT ({', '.join(differ + ([] if rem else ['remaining']))})"
    return f"same plan ({len(x['functions'])} functions, {len(x['conversions'])} conversions, {len(x['remaining'])} remaining)"


def analysed(report: dict) -> set[tuple[str, int]]:
    return {(u["file"], u["line"]) for u in report.get("uses", []) if u.get("status") == "analysed"}


# -- main -------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", required=True, help="prepared Linux tree (never modified)")
    ap.add_argument("--build", required=True, help="kbuild output dir with compile_commands.json")
    ap.add_argument("--scope", nargs="+", default=["mm", "fs"])
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--work", default="/var/tmp/passdown-kernel/bench-vs-spatch",
                    help="scratch dir: tree copy, build copy, caches, outputs (reused across runs)")
    ap.add_argument("--c-file", nargs="+", default=["fs/buffer.c", "fs/ext2/inode.c"],
                    help="each is changed in turn (one with uses, one without by default)")
    ap.add_argument("--header", default="include/linux/pagemap.h")
    ap.add_argument("--skip", nargs="*", default=[], choices=["spatch", "report", "plan", "lazy", "changed"],
                    help="leave out parts of the run")
    ap.add_argument("--warm-runs", type=int, default=3, help="runs of each warm row (the row shows the slowest)")
    ap.add_argument("--json", help="also write the rows and differences to this file")
    args = ap.parse_args()
    if args.warm_runs < 1:
        ap.error("--warm-runs must be at least 1")

    src_tree, src_build = Path(args.tree).resolve(), Path(args.build).resolve()
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    tree, build = work / "tree", work / "build"
    hardlink_farm(src_tree, tree)
    copy_build(src_build, src_tree, tree, build)
    (work / "spatch-command.txt").unlink(missing_ok=True)

    rows: list[Row] = []
    spatch_uses: set = set()
    spatch_wall = spatch_cpu = None
    if "spatch" not in args.skip:
        spatch = ensure_spatch()
        version = subprocess.run([spatch, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
        srows, spatch_uses = run_spatch(spatch, tree, build, args.scope, args.jobs, work)
        rows += srows
        spatch_wall = sum(r.wall for r in srows)
        spatch_cpu = sum(r.cpu for r in srows)
        total = Row("spatch total", {"wall": spatch_wall, "cpu": spatch_cpu,
                                     "peak_rss": max(r.rss for r in srows)}, note=version)
        rows.append(total)

    report: dict = {}
    if "report" not in args.skip:
        cache = work / "cache-report"
        shutil.rmtree(cache, ignore_errors=True)
        row, report = run_passdown("report cold", "report", tree, build, cache, args.scope, args.jobs,
                                   work / "report-cold.json")
        rows.append(row)
        rows.append(warm_row(args.warm_runs, "report warm (nothing changed)", "report", tree, build, cache,
                             args.scope, args.jobs, work / "report-warm.json"))
        if "changed" not in args.skip:
            changes = [("report, one .c changed", c) for c in args.c_file] + [("report, one header changed", args.header)]
            for label, rel in changes:
                with changed(tree / rel):
                    row, _ = run_passdown(f"{label} ({rel})", "report", tree, build, cache, args.scope, args.jobs,
                                          work / "report-changed.json")
                rows.append(row)
    if "plan" not in args.skip:
        cache = work / "cache-plan"
        shutil.rmtree(cache, ignore_errors=True)
        row, _ = run_passdown("plan cold", "plan", tree, build, cache, args.scope, args.jobs, work / "plan-cold.json")
        rows.append(row)
        rows.append(warm_row(args.warm_runs, "plan warm", "plan", tree, build, cache, args.scope, args.jobs,
                             work / "plan-warm.json"))
        same = (work / "plan-warm.json").read_bytes() == (work / "plan-cold.json").read_bytes()
        print(f"plan warm vs plan cold: {'the same, byte for byte' if same else 'DIFFERENT'}", file=sys.stderr)
    if "plan" not in args.skip and "lazy" not in args.skip:
        # The same plan with TUs parsed as the demand reaches them (plan --lazy).
        cache = work / "cache-plan-lazy"
        shutil.rmtree(cache, ignore_errors=True)
        row, _ = run_passdown("plan --lazy cold", "plan", tree, build, cache, args.scope, args.jobs,
                              work / "plan-lazy-cold.json", ["--lazy"])
        rows.append(row)
        row, _ = run_passdown("plan --lazy warm", "plan", tree, build, cache, args.scope, args.jobs,
                              work / "plan-lazy-warm.json", ["--lazy"])
        rows.append(row)
        same = _same_plan(work / "plan-lazy-cold.json", work / "plan-cold.json")
        print(f"plan --lazy vs plan: {same}", file=sys.stderr)

    for r in rows:
        if spatch_wall and not r.name.startswith("spatch"):
            r.ratio = r.wall / spatch_wall

    print(f"\n{' '.join(args.scope)} of {src_tree} ({src_build.name}), --jobs {args.jobs}, "
          f"{os.cpu_count()} cores, load average at the end {os.getloadavg()[0]:.1f}\n")
    head = (f"{'run':58} {'wall s':>7} {'CPU s':>7} {'peak RSS':>9} {'TUs':>5} {'parsed':>6} {'skipped':>7} "
            f"{'÷ spatch':>8}")
    print(head)
    print("-" * len(head))
    for r in rows:
        ratio = f"{r.ratio:8.2f}" if r.ratio is not None else f"{'':8}"
        print(f"{r.name:58} {r.wall:7.1f} {r.cpu:7.1f} {r.rss / 2**20:7.0f}MB {r.tus!s:>5} {r.parsed!s:>6} "
              f"{r.skipped!s:>7} {ratio}" + (f"  {r.note}" if r.note else ""))

    diff = {}
    if spatch_uses and report:
        ours = analysed(report)
        missed = sorted(spatch_uses - ours)
        extra = sorted(ours - spatch_uses)
        by = {}
        for u in report["uses"]:
            by.setdefault((u["file"], u["line"]), u)
        print(f"\nuse lines: spatch {len(spatch_uses)}, passdown report (analysed) {len(ours)}, "
              f"both {len(spatch_uses & ours)}")
        listed = [m for m in missed if m in by]
        absent = [m for m in missed if m not in by]
        print(f"found by spatch, not analysed by passdown: {len(missed)}, of which listed by the report as "
              f"not analysed (found by text): {len(listed)}, absent from the report: {len(absent)}")
        for f, ln in missed:
            other = by.get((f, ln))
            why = f"   [passdown: {other['status']}, {other.get('reason')}]" if other else "   [ABSENT from the report]"
            print(f"  {f}:{ln}: {_line(tree, f, ln)}{why}")
        print(f"found by passdown, not by spatch: {len(extra)}")
        for f, ln in extra:
            u = by[(f, ln)]
            how = f"macro {u['macro']}" if u.get("macro") else (u.get("base") or "")
            print(f"  {f}:{ln}: {_line(tree, f, ln)}   [{u.get('access')}{', ' + how if how else ''}]")
        diff = {"spatch": len(spatch_uses), "passdown": len(ours), "not_analysed": missed, "absent": absent,
                "extra": extra}
    if args.json:
        Path(args.json).write_text(json.dumps({
            "scope": args.scope, "jobs": args.jobs, "cores": os.cpu_count(),
            "rows": [vars(r) for r in rows], "diff": diff}, indent=1, default=str))
    print(f"\nspatch command lines: {work / 'spatch-command.txt'}")
    return 0


def _line(tree: Path, f: str, ln: int) -> str:
    try:
        return (tree / f).read_text(errors="replace").splitlines()[ln - 1].strip()
    except (OSError, IndexError):
        return "?"


if __name__ == "__main__":
    raise SystemExit(main())
