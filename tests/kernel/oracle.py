"""A compiler oracle for ``struct page`` ``mapping`` uses, independent of libclang.

The idea: rename the member and let gcc, with kbuild's exact command line for
each file, say where the code no longer compiles.

* ``include/linux/mm_types.h`` is copied into a scratch ``include/linux/``
  with the ``mapping`` member of ``struct page`` renamed; that scratch
  ``include`` directory goes FIRST on the include path, so every
  ``#include <linux/mm_types.h>`` (kernel code always includes it that way,
  through ``-I``; nothing includes it with quotes) finds the overlay and the
  include guard keeps the original out.  The overlay also says
  ``#pragma message("passdown-oracle-overlay")``, so every TU proves it
  really used it.  Nothing in the tree or the build directory is modified.
* Each file's exact kbuild gcc line runs with ``-fsyntax-only`` (the C front
  end still type-checks everything), without ``-c``/``-o`` and without the
  ``-Wp,-MMD,...`` dependency output, so nothing is written anywhere.
* Every error "'struct page' has no member named 'mapping'" (also from
  ``offsetof``, ``container_of`` and designated initialisers) is a use.  Its
  line is where the access is written: the error's own location when it is in
  the file and not on a ``#define`` (so a macro *argument* is reported where
  it is spelled, even on a later line of a multi-line macro call and even when
  it passes through other macros); for an access that comes from a macro body,
  the outermost "in expansion of macro" location.  Uses in headers are left out.

Usage as a script (for checking by hand)::

    python tests/kernel/oracle.py --tree T --compdb B/compile_commands.json fs/ext2/inode.c ...
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

RENAMED = "__passdown_oracle_mapping"
MARKER = "passdown-oracle-overlay"

# Arguments that write files, or that the syntax check must not have.
_DROP_WITH_VALUE = {"-o", "-MF", "-MT", "-MQ", "-aux-info"}
_DROP_EXACT = {"-c", "-MD", "-MMD", "-MP", "-M", "-MM", "-fstack-usage", "--coverage", "-ftest-coverage",
               "-fprofile-arcs", "-S", "-E", "-fsyntax-only"}
_DROP_PREFIX = ("-Wp,-MD,", "-Wp,-MMD,", "-Wp,-MF,", "-save-temps", "-fdump-", "-fcallgraph-info",
                "-fdiagnostics-column-", "-fdiagnostics-format=", "-fdiagnostics-color", "-fmax-errors=",
                "-Wfatal-errors", "-o")

_DIAG = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?:(?P<col>\d+):)? (?P<kind>fatal error|error|warning|note): (?P<msg>.*)$")
_NO_MEMBER = re.compile(r"^'([^']*)'(?: \{aka '([^']*)'\})? has no member named 'mapping'")
_UNKNOWN_FIELD = re.compile(r"^unknown field 'mapping' specified in initializer")
_EXPANSION = re.compile(r"^in expansion of macro '")
_STRUCT_PAGE = re.compile(r"(^|\s)struct page($|\s)")


@dataclass
class FileResult:
    file: str  # relative to the tree
    lines: set[int] = field(default_factory=set)  # uses in the file itself
    header_uses: set[tuple[str, int]] = field(default_factory=set)  # in kept headers, seen from this TU
    errors: int = 0  # matching errors, wherever they are (headers too)
    problem: str | None = None  # why the file's answer cannot be trusted, if so
    no_mm_types: bool = False  # the TU does not include mm_types.h at all (so it has no use)


@dataclass
class OracleResult:
    uses: set[tuple[str, int]]  # (file relative to the tree, line)
    errors: int  # raw count of matching error diagnostics
    files: dict[str, FileResult]

    @property
    def problems(self) -> dict[str, str]:
        return {f: r.problem for f, r in self.files.items() if r.problem}

    def per_file(self) -> dict[str, int]:
        return {f: len(r.lines) for f, r in sorted(self.files.items())}


def make_overlay(tree: Path, scratch: Path) -> Path:
    """Write the renamed ``linux/mm_types.h`` under *scratch*; return the include dir to put first."""
    original = Path(tree) / "include" / "linux" / "mm_types.h"
    text = original.read_text()
    start = re.search(r"^struct page \{", text, re.M)
    if start is None:
        raise RuntimeError(f"no 'struct page {{' in {original}")
    # The matching closing brace of struct page.
    depth, i = 0, start.end() - 1
    while True:
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                break
        i += 1
    body = text[start.start():i]
    new_body, n = re.subn(r"(struct address_space\s*\*\s*)mapping(\s*;)", rf"\g<1>{RENAMED}\g<2>", body)
    if n != 1:
        raise RuntimeError(f"expected one 'struct address_space *mapping;' in struct page of {original}, found {n}")
    text = text[:start.start()] + new_body + text[i:]
    # struct folio's layout check names page's member: keep the header itself clean.
    text = re.sub(r"FOLIO_MATCH\(mapping,\s*mapping\)", f"FOLIO_MATCH({RENAMED}, mapping)", text)
    include = Path(scratch) / "include"
    (include / "linux").mkdir(parents=True, exist_ok=True)
    (include / "linux" / "mm_types.h").write_text(f'#pragma message("{MARKER}")\n' + text)
    return include


def syntax_argv(arguments: list[str], overlay_include: Path) -> list[str]:
    """kbuild's argv turned into a write-nothing syntax check with the overlay first."""
    out = [arguments[0], f"-I{overlay_include}"]
    skip = False
    for a in arguments[1:]:
        if skip:
            skip = False
            continue
        if a in _DROP_WITH_VALUE:
            skip = True
            continue
        if a in _DROP_EXACT or a.startswith(_DROP_PREFIX):
            continue
        out.append(a)
    # Byte columns: by default gcc counts a tab as up to 8 display columns.
    return out + ["-fsyntax-only", "-w", "-fdiagnostics-plain-output", "-fno-diagnostics-color", "-fmax-errors=0",
                  "-fdiagnostics-column-unit=byte"]


_DEFINE = re.compile(r"^\s*#\s*define\b")
_define_cache: dict[str, frozenset[int]] = {}


def define_lines(path: str) -> frozenset[int]:
    """Numbers of the lines of *path* that belong to a #define (continuations included)."""
    if path not in _define_cache:
        out: set[int] = set()
        try:
            text = Path(path).read_text(errors="replace").splitlines()
        except OSError:
            text = []
        inside = False
        for n, line in enumerate(text, 1):
            if inside or _DEFINE.match(line):
                out.add(n)
                inside = line.rstrip().endswith("\\")
        _define_cache[path] = frozenset(out)
    return _define_cache[path]


_CALL_TOKEN = re.compile(r"""/\*.*?\*/|//[^\n]*|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|[()]|\bmapping\b""", re.S)


def member_in_call(path: str, line: int, col: int) -> int | None:
    """Line of the last `mapping` token in the arguments of the macro call at *line*:*col*."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return None
    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    if line > len(starts):
        return None
    pos = starts[line - 1] + col - 1
    open_at = text.find("(", pos)
    if open_at < 0 or text[pos:open_at].strip() == "" or not re.fullmatch(r"\w+\s*", text[pos:open_at]):
        return None
    depth, found = 0, None
    for m in _CALL_TOKEN.finditer(text, open_at):
        tok = m.group(0)
        if tok == "(":
            depth += 1
        elif tok == ")":
            depth -= 1
            if depth == 0:
                return text.count("\n", 0, found) + 1 if found is not None else None
        elif tok == "mapping":
            found = m.start()
    return None


def parse_diagnostics(stderr: str, directory: str, source: str,
                      keep: Callable[[str], bool] | None = None) -> tuple[set[tuple[str, int]], int, bool, list[str]]:
    """((file, line) of uses, matching errors, overlay seen, fatal errors) from gcc's stderr.

    Uses are kept in *source* and in the files *keep* accepts (absolute paths).
    """
    source = os.path.normpath(source)

    def kept(path: str) -> bool:
        return path == source or (keep is not None and keep(path))

    def where(path: str) -> str:
        return os.path.normpath(os.path.join(directory, path))

    lines: set[tuple[str, int]] = set()
    errors = 0
    seen_marker = False
    fatal: list[str] = []
    current: dict | None = None  # the matching error being read, with its notes

    def finish(diag: dict | None) -> None:
        if diag is None:
            return
        # Written in the file itself, outside a #define: plain code, or a macro
        # argument (gcc gives the argument's own spelling location, with
        # "in expansion of" notes for the macros it goes through).
        if kept(diag["file"]) and diag["line"] not in define_lines(diag["file"]):
            lines.add((diag["file"], diag["line"]))
        elif diag["expansions"]:
            # From a macro body: where the outermost macro is invoked -- or,
            # when the member is named in that call's arguments (offsetof and
            # container_of(ptr, struct page, mapping): gcc then locates the
            # error at the macro body), where it is named there.
            path, line, col = diag["expansions"][-1]
            if kept(path):
                lines.add((path, member_in_call(path, line, col) or line))

    for raw in stderr.splitlines():
        m = _DIAG.match(raw)
        if not m:
            continue
        kind, msg = m.group("kind"), m.group("msg")
        if kind == "note":
            if MARKER in msg:
                seen_marker = True
            elif current is not None and _EXPANSION.match(msg):
                current["expansions"].append((where(m.group("file")), int(m.group("line")), int(m.group("col") or 1)))
            continue
        finish(current)
        current = None
        if kind == "fatal error":
            fatal.append(raw)
            continue
        if kind != "error":
            continue
        nm = _NO_MEMBER.match(msg)
        if (nm and any(t and _STRUCT_PAGE.search(t) for t in nm.groups())) or _UNKNOWN_FIELD.match(msg):
            errors += 1
            current = {"file": where(m.group("file")), "line": int(m.group("line")), "expansions": []}
    finish(current)
    return lines, errors, seen_marker, fatal


def load_compdb(compdb: Path) -> dict[str, dict]:
    entries = json.loads(Path(compdb).read_text())
    return {os.path.normpath(e["file"]): e for e in entries}


def check_file(tree: Path, entry: dict, overlay_include: Path,
               keep: Callable[[str], bool] | None = None) -> FileResult:
    rel = os.path.relpath(entry["file"], tree)
    res = FileResult(rel)
    argv = syntax_argv(list(entry["arguments"]), overlay_include)
    env = dict(os.environ, LC_ALL="C")
    env.pop("GCC_COLORS", None)
    proc = subprocess.run(argv, cwd=entry["directory"], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL)
    uses, errors, seen, fatal = parse_diagnostics(proc.stderr, entry["directory"], entry["file"], keep)
    source = os.path.normpath(entry["file"])
    res.lines = {line for path, line in uses if path == source}
    res.header_uses = {(os.path.relpath(path, tree), line) for path, line in uses if path != source}
    res.errors = errors
    if fatal:
        res.problem = "gcc stopped: " + fatal[0]
    elif proc.returncode != 0 and errors == 0:
        res.problem = f"gcc failed without a mapping error: {proc.stderr.strip().splitlines()[-1:]}"
    elif not seen:
        # Either the TU never includes mm_types.h (then it cannot touch a member
        # of struct page: fine) or it reached the original around the overlay.
        if _includes_original_mm_types(argv, entry["directory"], env):
            res.problem = "the original include/linux/mm_types.h was included around the overlay"
        else:
            res.no_mm_types = True
    return res


def _includes_original_mm_types(argv: list[str], directory: str, env: dict) -> bool:
    pp = [a for a in argv if a != "-fsyntax-only"] + ["-E", "-o", "-"]
    proc = subprocess.run(pp, cwd=directory, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    return bool(re.search(r'^# \d+ "[^"]*/linux/mm_types\.h"', proc.stdout, re.M)) or proc.returncode != 0


def run_oracle(tree: Path, compdb: Path, files: list[str], *, jobs: int | None = None,
               scratch: Path | None = None, header_dirs: list[str] = ()) -> OracleResult:
    """Uses of ``struct page`` ``mapping`` in *files* (relative to *tree*), according to gcc.

    Uses in headers count only for headers under *header_dirs* (relative to
    the tree), as seen from the TUs of *files*.
    """
    tree = Path(tree).resolve()
    prefixes = tuple(os.path.join(tree, os.path.normpath(d)) + "/" for d in header_dirs)

    def keep(path: str) -> bool:
        return path.endswith(".h") and path.startswith(prefixes)

    by_file = load_compdb(compdb)
    own_scratch = scratch is None
    scratch = Path(tempfile.mkdtemp(prefix="passdown-oracle-")) if own_scratch else Path(scratch)
    try:
        overlay = make_overlay(tree, scratch)
        results: dict[str, FileResult] = {}
        todo = []
        for f in files:
            full = os.path.normpath(os.path.join(tree, f))
            rel = os.path.relpath(full, tree)
            if full not in by_file:
                results[rel] = FileResult(rel, problem=f"no entry in {compdb}")
            else:
                todo.append(by_file[full])
        with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
            for res in pool.map(lambda e: check_file(tree, e, overlay, keep if prefixes else None), todo):
                results[res.file] = res
    finally:
        if own_scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    uses = {(r.file, line) for r in results.values() for line in r.lines}
    uses |= {u for r in results.values() for u in r.header_uses}
    return OracleResult(uses=uses, errors=sum(r.errors for r in results.values()), files=results)


def expand_scope(tree: Path, compdb: Path, scope: list[str]) -> list[str]:
    """Files of the compilation database under the scope paths (files or directories), relative to *tree*."""
    tree = Path(tree).resolve()
    out = []
    for full in sorted(load_compdb(compdb)):
        rel = os.path.relpath(full, tree)
        if rel.startswith(".."):
            continue
        for s in scope:
            s = os.path.normpath(s)
            if rel == s or rel.startswith(s + "/"):
                out.append(rel)
                break
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tree", required=True)
    p.add_argument("--compdb", required=True)
    p.add_argument("-j", "--jobs", type=int)
    p.add_argument("scope", nargs="+", help="files or directories relative to the tree")
    args = p.parse_args(argv)
    files = expand_scope(Path(args.tree), Path(args.compdb), args.scope)
    dirs = [s for s in args.scope if (Path(args.tree) / s).is_dir()]
    res = run_oracle(Path(args.tree), Path(args.compdb), files, jobs=args.jobs, header_dirs=dirs)
    for f, r in sorted(res.files.items()):
        print(f"{f}: {len(r.lines)} lines, {r.errors} errors{'  PROBLEM: ' + r.problem if r.problem else ''}"
              f"{'  (does not include mm_types.h)' if r.no_mm_types else ''}")
        for line in sorted(r.lines):
            print(f"  {f}:{line}")
    for f, line in sorted({u for r in res.files.values() for u in r.header_uses}):
        print(f"  {f}:{line} (header)")
    print(f"total: {len(res.uses)} (file, line) uses, {res.errors} matching errors, {len(res.problems)} problems")
    return 1 if res.problems else 0


if __name__ == "__main__":
    sys.exit(main())
