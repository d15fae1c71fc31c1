"""Compile commands for a Linux tree without building it.

``prepare()`` configures a kbuild output directory (``make O=build <config>``,
``make prepare``) and then asks kbuild for the exact compiler line of every C
object under the requested directories with a dry run (``make -n V=1 fs/ mm/``).
The lines are kbuild's own, per object, so per-directory flags
(``-I fs/xfs/libxfs``) and ``-DMODULE`` (only for modular objects) are right.

Two properties of ``make -n`` shape the dry run:

* it prints only *out-of-date* objects, so an already built object would be
  missing from the database;
* it still runs the recursive makes (and any rule that remakes a makefile),
  which create directories and may touch files in the output directory.

So the dry run happens in a throw-away copy of the output directory that has no
objects in it; the real one is never touched by it.  The compile commands are
still written relative to the real output directory (kbuild prints object
paths relative to the directory make runs in, sources as absolute paths).

The gcc argument lists are written *raw*: turning them into libclang arguments
is ``compdb``'s job.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .errors import InputError, ToolError

COMPDB_NAME = "compile_commands.json"
META_NAME = "passdown-prepare.json"
MAKE_LOG = "passdown-make.log"  # config + prepare (+ generated sources)
DRYRUN_LOG = "passdown-dryrun.log"  # the full `make -n V=1` output of the last run
LOCK_NAME = ".passdown-prepare.lock"

# ARCH= values whose sources live under another arch/ directory (kbuild's SRCARCH).
_SRCARCH = {"x86_64": "x86", "i386": "x86", "sparc32": "sparc", "sparc64": "sparc",
            "parisc64": "parisc", "sh64": "sh", "tilegx": "tile", "tilepro": "tile"}

# Kconfig targets that are not file names.
_CONFIG_TARGET = re.compile(r"[A-Za-z0-9_.+-]*config")
_KNOWN_TARGETS = {"allmodconfig", "allyesconfig", "allnoconfig", "alldefconfig", "defconfig", "olddefconfig",
                  "tinyconfig", "randconfig", "kvm_guest.config", "localmodconfig", "localyesconfig"}
_INTERACTIVE_TARGETS = {"config", "menuconfig", "nconfig", "xconfig", "gconfig", "oldconfig"}

# What the tools the configuration and `make prepare` need are called in Debian.
_TOOLS = (("make", "make"), ("gcc", "gcc"), ("flex", "flex"), ("bison", "bison"), ("bc", "bc"))
_HEADERS = (("gelf.h", "libelf-dev"), ("openssl/opensslv.h", "libssl-dev"))

# Files left out of the dry-run copy of the output directory: objects (so that
# every object in the asked directories is out of date and gets printed) and
# big link products nothing in a dry run reads.  Host tools under these top
# directories keep their objects, so the dry run does not relink them.
_DROP_SUFFIXES = (".o", ".ko", ".a", ".dwo")
_DROP_NAMES = {"vmlinux", "vmlinux.unstripped", "vmlinux.a", "vmlinux.o", "bzImage", "Image"}
_HOST_TOP = {"scripts", "tools"}
_KCONFIG_DEPS = os.path.join("include", "config")
_KCONFIG_SYMBOL = re.compile(r"[A-Z0-9_]+")


@dataclass(frozen=True)
class PrepareResult:
    compdb: Path  # <build>/compile_commands.json
    config: str  # "allmodconfig" | "defconfig" | path of a config file
    arch: str  # "x86_64"
    entries: int
    reused: bool  # True when an up-to-date prepare was reused


# ---------------------------------------------------------------------------
# Checks


def is_kernel_tree(tree: Path) -> bool:
    """True when *tree* looks like the top of a Linux source tree."""
    tree = Path(tree)
    try:
        return ((tree / "Makefile").is_file() and (tree / "Kconfig").is_file()
                and (tree / "arch").is_dir() and (tree / "scripts" / "Kbuild.include").is_file())
    except OSError:
        return False


# `uname -m` -> kbuild SRCARCH of the host: an arch other than the host's needs a cross compiler.
_HOST_SRCARCH = {"x86_64": "x86", "i686": "x86", "i386": "x86", "aarch64": "arm64", "armv7l": "arm",
                 "riscv64": "riscv", "ppc64le": "powerpc", "ppc64": "powerpc", "s390x": "s390"}


def cross_compile(arch: str, *, which: Callable[[str], str | None] = shutil.which,
                  machine: str | None = None, environ: dict | None = None) -> str | None:
    """kbuild's ``CROSS_COMPILE=`` for *arch*: None on a host of that arch; the
    environment's when set; else the Debian cross compiler's prefix
    (``aarch64-linux-gnu-``) when it is installed.  ToolError naming the package
    otherwise."""
    environ = os.environ if environ is None else environ
    if environ.get("CROSS_COMPILE"):
        return environ["CROSS_COMPILE"]
    host = _HOST_SRCARCH.get(machine or platform.machine())
    if host == srcarch(arch):
        return None
    from .compdb import ARCH_TARGETS

    triple = ARCH_TARGETS.get(arch)
    if triple and which(f"{triple}-gcc"):
        return f"{triple}-"
    pkg = f"gcc-{triple}" if triple else "a cross gcc for it"
    raise ToolError(f"arch {arch} is not this machine's: kbuild's prepare needs a cross compiler "
                    f"(Debian/Ubuntu: apt-get install {pkg}), or set CROSS_COMPILE")


def srcarch(arch: str) -> str:
    """kbuild's SRCARCH for an ARCH= value (``x86_64`` -> ``x86``)."""
    return _SRCARCH.get(arch, arch)


def check_tools(*, which: Callable[[str], str | None] = shutil.which,
                has_header: Callable[[str], bool] | None = None) -> None:
    """ToolError naming the Debian packages to install when a build tool is missing."""
    missing = [pkg for exe, pkg in _TOOLS if which(exe) is None]
    if "gcc" not in missing:
        has_header = has_header or _gcc_has_header
        missing += [pkg for header, pkg in _HEADERS if not has_header(header)]
    if missing:
        raise ToolError(
            f"configuring a kernel tree needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
            f"missing: install {'it' if len(missing) == 1 else 'them'} (Debian/Ubuntu: apt-get install {' '.join(missing)})"
        )


def _gcc_has_header(header: str) -> bool:
    try:
        proc = subprocess.run(["gcc", "-E", "-x", "c", "-"], input=f"#include <{header}>\n",
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def config_kind(config: str) -> tuple[str, Path | None]:
    """``("target", None)`` for a Kconfig target, ``("file", path)`` for a config file.

    A name such as ``myconfig`` is a file when one exists by that name and it is
    not a well-known target; anything with a slash or a dot in front is a file.
    """
    if not config:
        raise InputError("empty --config: give a Kconfig target such as allmodconfig or defconfig, or a .config file")
    path = Path(config).expanduser()
    well_known = config in _KNOWN_TARGETS or config.endswith("_defconfig")
    if config in _INTERACTIVE_TARGETS:
        raise InputError(f"config {config} is interactive: give allmodconfig, defconfig or a .config file")
    if (os.sep in config or config.startswith(".") or not _CONFIG_TARGET.fullmatch(config)
            or (path.is_file() and not well_known)):
        if not path.is_file():
            raise InputError(
                f"config {config} is neither a Kconfig target (allmodconfig, defconfig, ...) nor an existing file: "
                "check the spelling or the path"
            )
        return "file", path.resolve()
    return "target", None


def _normalise_dirs(tree: Path, dirs: Sequence[str]) -> list[str]:
    if isinstance(dirs, str):
        dirs = (dirs,)
    out: list[str] = []
    for d in dirs:
        raw = Path(d)
        full = (raw if raw.is_absolute() else tree / raw).resolve()
        if not full.is_relative_to(tree.resolve()) or full == tree.resolve():
            raise InputError(f"directory {d} is not a subdirectory of {tree}: give directories such as fs or mm/")
        if not full.is_dir():
            raise InputError(f"{d} is not a directory of {tree}: give directories such as fs or mm/")
        rel = full.relative_to(tree.resolve()).as_posix()
        if rel not in out:
            out.append(rel)
    if not out:
        raise InputError("no directories to prepare: give at least one, such as fs or mm")
    return _outermost(out)


def _outermost(dirs: Iterable[str]) -> list[str]:
    """Sorted, without the directories nested in others (they add nothing)."""
    dirs = set(dirs)
    return sorted(d for d in dirs if not any(d != o and d.startswith(o + "/") for o in dirs))


# ---------------------------------------------------------------------------
# Metadata


def read_prepare_meta(build: Path) -> dict | None:
    """What the last successful ``prepare`` into *build* recorded, or None."""
    try:
        meta = json.loads((Path(build) / META_NAME).read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_atomic(path: Path, text: str) -> None:
    """Write *path* through a temporary file and a rename (mode 0666 minus umask)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ---------------------------------------------------------------------------
# Parsing `make -n V=1` output

# Options of gcc whose value is the next argument.
_ARG_OPTS = {
    "-o", "-x", "-include", "-imacros", "-I", "-isystem", "-iquote", "-idirafter", "-iprefix",
    "-iwithprefix", "-iwithprefixbefore", "-isysroot", "-D", "-U", "-MF", "-MT", "-MQ", "--param",
    "-Xassembler", "-Xpreprocessor", "-Xlinker", "-aux-info", "-A", "-L", "-T", "-u", "-z",
    "--sysroot", "-imultilib", "-specs", "-e",
}
_CONTROL = {";", "&&", "||", "|", "&", "(", ")", ";;", "|&"}
_KEYWORDS = {"{", "}", "!", "then", "do", "else", "elif", "if", "while", "until", "time", "exec", "command"}
_LAUNCHERS = {"ccache", "sccache", "distcc", "icecc"}
_COMPILER = re.compile(r"(?:.*-)?(?:gcc|cc|clang)(?:-\d+(?:\.\d+)*)?")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_ENTER = re.compile(r"^[^\s:]*make(?:\[\d+\])?: Entering directory [`'](.*)'\s*$")
_LEAVE = re.compile(r"^[^\s:]*make(?:\[\d+\])?: Leaving directory [`'](.*)'\s*$")


@dataclass(frozen=True)
class CompileLine:
    """One C compile found in the dry-run output, as kbuild would run it."""
    directory: str  # where make runs it (absolute)
    source: str  # as printed
    output: str  # as printed (-o)
    arguments: tuple[str, ...]  # the exact argv, compiler first


def logical_lines(lines: Iterable[str]) -> Iterator[str]:
    """Join backslash-newline continuations, as the shell would."""
    held: list[str] = []
    for line in lines:
        line = line.rstrip("\n")
        stripped = line.rstrip("\r")
        trailing = len(stripped) - len(stripped.rstrip("\\"))
        if trailing % 2 == 1:
            held.append(stripped[:-1])
            continue
        held.append(stripped)
        yield "".join(held)
        held = []
    if held:
        yield "".join(held)


# Shell lexing by regular expression: shlex is correct but ~10x slower on the
# 30 kB lines kbuild prints per object (its echo, the command, fixdep's copy).
_SHELL_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<op>&&|\|\||;;|\|&|[;&|()])
  | (?P<redir>\d*(?:>>|>&|<&|<<|<>|>\||[<>]))
  | (?P<word>(?:[^\s'"\\;&|()<>]+|'[^']*'|"(?:[^"\\]|\\.)*"|\\.)+)
""", re.X | re.S)
_WORD_PART = re.compile(r"""'([^']*)'|"((?:[^"\\]|\\.)*)"|\\(.)|([^'"\\]+)""", re.S)
_DQ_ESCAPE = re.compile(r'\\([$`"\\\n])')


def _unquote(word: str) -> str:
    out = []
    for m in _WORD_PART.finditer(word):
        single, double, escaped, plain = m.groups()
        if single is not None:
            out.append(single)
        elif double is not None:
            out.append(_DQ_ESCAPE.sub(r"\1", double))
        elif escaped is not None:
            out.append(escaped)
        else:
            out.append(plain)
    return "".join(out)


def shell_words(line: str) -> list[str] | None:
    """POSIX-shell tokens of *line*, quotes removed; operators are tokens; None if it does not lex."""
    tokens: list[str] = []
    pos = 0
    n = len(line)
    while pos < n:
        m = _SHELL_TOKEN.match(line, pos)
        if m is None:  # an unbalanced quote
            return None
        pos = m.end()
        kind = m.lastgroup
        if kind == "space":
            continue
        if kind == "word":
            if m.group(0).startswith("#") and (not tokens or tokens[-1] in _CONTROL):
                break  # a comment
            tokens.append(_unquote(m.group(0)))
        else:
            tokens.append(m.group(0))
    return tokens


def _simple_commands(line: str) -> list[list[str]]:
    """Split a shell line into simple commands (words, quotes removed); [] if it does not lex."""
    tokens = shell_words(line)
    if tokens is None:
        return []
    commands: list[list[str]] = []
    current: list[str] = []
    for tok in tokens:
        if tok in _CONTROL:
            if current:
                commands.append(current)
            current = []
        else:
            current.append(tok)
    if current:
        commands.append(current)
    return commands


def compile_in(words: Sequence[str], *, c_only: bool = True) -> tuple[list[str], str, str] | None:
    """``(argv, source, object)`` when *words* is a C compile (``cc ... -c -o obj src.c``).

    With *c_only* false, a compile of any one source (``.S`` too) counts.
    """
    words = list(words)
    while words and (words[0] in _KEYWORDS or _ASSIGNMENT.match(words[0])):
        words.pop(0)
    while words and os.path.basename(words[0]) in _LAUNCHERS:
        words.pop(0)
    if not words or not _COMPILER.fullmatch(os.path.basename(words[0])):
        return None
    if "-c" not in words or any(w in ("-E", "-S", "-M", "-MM") for w in words):
        return None
    if any(w and w[0] in "<>" for w in words):  # a redirection: not a plain compile
        return None
    positional: list[str] = []
    output = None
    i = 1
    while i < len(words):
        w = words[i]
        if w in _ARG_OPTS:
            if i + 1 >= len(words):
                return None
            if w == "-o":
                output = words[i + 1]
            i += 2
            continue
        if w.startswith("-o") and len(w) > 2:
            output = w[2:]
        elif not w.startswith("-") or w == "-":
            positional.append(w)
        i += 1
    if output is None or len(positional) != 1 or (c_only and not positional[0].endswith(".c")):
        return None
    return words, positional[0], output


def parse_dry_run(lines: Iterable[str], directory: str | Path,
                  path_map: dict[str, str] | None = None,
                  garbled: list[str] | None = None) -> list[CompileLine]:
    """Every C compile in ``make -n V=1`` output, in order.

    *directory* is where the top make runs (O=); ``make: Entering directory``
    lines move it.  *path_map* rewrites path prefixes (the throw-away copy of
    the output directory back to the real one) in directories and arguments.
    Lines that look like a compile but do not lex as shell (output of parallel
    makes written into each other) are appended to *garbled*.
    """
    path_map = dict(path_map or {})

    def remap(s: str) -> str:
        for old, new in path_map.items():
            if old in s:
                s = s.replace(old, new)
        return s

    stack = [remap(os.path.abspath(directory))]
    found: list[CompileLine] = []
    # kbuild runs fixdep on the dependency file of every object it compiles:
    # an object fixdep is run on without a compile of it means a line was cut.
    fixdep_objects: dict[str, str] = {}
    compiled: set[str] = set()
    for line in logical_lines(lines):
        m = _ENTER.match(line)
        if m:
            stack.append(remap(m.group(1)))
            continue
        m = _LEAVE.match(line)
        if m:
            if len(stack) > 1:
                stack.pop()
            continue
        if "-c" not in line or ".c" not in line:
            continue
        commands = _simple_commands(line)
        if not commands and garbled is not None and " -c " in line:
            garbled.append(line)
        for words in commands:
            hit = compile_in(words, c_only=False)
            if hit is None:
                if (len(words) >= 3 and os.path.basename(words[0]) == "fixdep"
                        and words[2].endswith(".o")):
                    fixdep_objects.setdefault(words[2], line)
                continue
            argv, source, output = hit
            compiled.add(output)
            if source.endswith(".c"):
                found.append(CompileLine(directory=stack[-1], source=remap(source), output=remap(output),
                                         arguments=tuple(remap(a) for a in argv)))
    if garbled is not None:
        garbled.extend(line for obj, line in fixdep_objects.items() if obj not in compiled)
    return found


def _rel_under(path: str, roots: Sequence[str]) -> str | None:
    for root in roots:
        root = root.rstrip("/")
        if path == root or path.startswith(root + "/"):
            return path[len(root) + 1:]
    return None


def _in_dirs(rel: str, dirs: Sequence[str]) -> bool:
    return any(rel == d or rel.startswith(d + "/") for d in dirs)


def compdb_entries(compiles: Iterable[CompileLine], *, tree: Path, build: Path,
                   dirs: Sequence[str]) -> tuple[list[dict], list[dict]]:
    """Compilation-database entries of the compiles whose source is under *dirs*.

    Returns ``(entries, generated)``: sources in the tree, and sources the build
    generates in the output directory (which may not exist yet).  One entry per
    source file: the first compile of a file wins.
    """
    tree_s, build_s = os.path.abspath(tree), os.path.abspath(build)
    entries: list[dict] = []
    generated: list[dict] = []
    seen: set[str] = set()
    for c in compiles:
        src = os.path.normpath(os.path.join(c.directory, c.source))
        if src in seen:
            continue
        # The output directory may sit inside the tree (O=tree/build): test it first.
        rel_b = _rel_under(src, [build_s])
        rel_t = None if rel_b is not None else _rel_under(src, [tree_s])
        rel = rel_b if rel_b is not None else rel_t
        if rel is None or not _in_dirs(rel, dirs):
            continue
        seen.add(src)
        entry = {"directory": c.directory, "file": src, "arguments": list(c.arguments), "output": c.output}
        (generated if rel_b is not None else entries).append(entry)
    return entries, generated


# ---------------------------------------------------------------------------
# Running make


@dataclass
class _Runner:
    tree: Path
    build: Path
    arch: str
    log: Callable[[str], None]
    cross: str | None = None  # CROSS_COMPILE= (another arch than the host's)
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        env = dict(os.environ)
        # A parent make's jobserver and flags, or a KBUILD_OUTPUT, must not leak in.
        for var in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "GNUMAKEFLAGS",
                    "KBUILD_OUTPUT", "O", "ARCH", "SRCARCH", "V", "W", "C", "M"):
            env.pop(var, None)
        env["LC_ALL"] = "C"
        self.env = env

    def make_argv(self, out: Path, *args: str) -> list[str]:
        cross = [f"CROSS_COMPILE={self.cross}"] if self.cross else []
        return ["make", "-C", str(self.tree), f"O={out}", f"ARCH={self.arch}", *cross, *args]

    def run(self, argv: list[str], logfile: Path, *, what: str, append: bool = True) -> None:
        self.log(f"running {' '.join(shlex.quote(a) for a in argv)}")
        start = time.monotonic()
        with open(logfile, "a" if append else "w") as f:
            f.write(f"$ {' '.join(shlex.quote(a) for a in argv)}\n")
            f.flush()
            try:
                proc = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      env=self.env, check=False)
            except OSError as err:
                raise ToolError(f"cannot run make ({err}): install make (Debian: apt-get install make)") from None
            f.write(f"# exit {proc.returncode} after {time.monotonic() - start:.1f} s\n")
        self.log(f"{what}: {time.monotonic() - start:.1f} s")
        if proc.returncode != 0:
            raise ToolError(f"{what} failed: {last_error_line(logfile)} (full log: {logfile}); "
                            "fix the cause, or remove the output directory and retry")


_MAKE_SUMMARY = re.compile(r"^\S*make(\[\d+\])?: \*\*\* \[.*\] (Error|Interrupt)")
_ERROR = re.compile(r"(error|\*\*\*|No rule to make target|not found|cannot|Cannot)", re.IGNORECASE)


def last_error_line(logfile: Path, *, max_bytes: int = 1 << 20) -> str:
    """The most telling error line at the end of a make log."""
    try:
        with open(logfile, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            tail = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return "(no log)"
    tail = [line.strip() for line in tail if line.strip() and not line.startswith("# exit ")]
    for pick in (lambda ln: _ERROR.search(ln) and not _MAKE_SUMMARY.match(ln),
                 lambda ln: _ERROR.search(ln),
                 lambda ln: True):
        for line in reversed(tail):
            if pick(line):
                return line[:300]
    return "(empty log)"


def _copy_for_dry_run(build: Path, dest: Path) -> None:
    """Copy the output directory without objects, link products or passdown's own files."""
    build_s = str(build)

    def ignore(directory: str, names: list[str]) -> set[str]:
        rel = os.path.relpath(directory, build_s)
        top = rel.split(os.sep, 1)[0]
        dropped = set()
        for n in names:
            if rel == "." and (n.startswith(".passdown-") or n.startswith("passdown-") or n == COMPDB_NAME):
                dropped.add(n)
            elif top in _HOST_TOP and rel != ".":
                continue
            elif rel == _KCONFIG_DEPS and _KCONFIG_SYMBOL.fullmatch(n):
                # One empty file per Kconfig symbol (~13,500 for allmodconfig),
                # only ever a $(wildcard ...) dependency: leaving them out halves
                # the copy's time and changes nothing a dry run prints.
                dropped.add(n)
            elif n.endswith(_DROP_SUFFIXES) or n in _DROP_NAMES:
                dropped.add(n)
        return dropped

    shutil.copytree(build, dest, symlinks=True, ignore=ignore)


def dry_run(runner: _Runner, dirs: Sequence[str], jobs: int) -> tuple[list[CompileLine], Path]:
    """kbuild's compile lines for every object under *dirs*, printed by ``make -n`` in a copy.

    Parallel makes can write their lines into each other even with
    ``--output-sync=target`` (recursive makes are not synchronised in that
    mode); ``--output-sync=recurse`` keeps every make's output whole.  Should a
    compile line still come out garbled, the dry run is redone with one job.
    """
    build = runner.build
    logfile = build / DRYRUN_LOG
    with tempfile.TemporaryDirectory(prefix=".passdown-dryrun-", dir=build) as tmp:
        copy = Path(tmp) / "o"
        start = time.monotonic()
        _copy_for_dry_run(build, copy)
        runner.log(f"copied {build} for the dry run in {time.monotonic() - start:.1f} s")
        for j in dict.fromkeys((jobs, 1)):
            argv = runner.make_argv(copy, "-n", "V=1", f"-j{j}", "--output-sync=recurse", *[d + "/" for d in dirs])
            runner.run(argv, logfile, what="make -n (dry run)", append=False)
            garbled: list[str] = []
            with open(logfile, encoding="utf-8", errors="surrogateescape") as f:
                compiles = parse_dry_run(f, copy, {str(copy): str(build)}, garbled)
            if not garbled:
                break
            runner.log(f"warning: {len(garbled)} garbled compile lines in {logfile} with -j{j}")
        if garbled:
            raise ToolError(f"make -n printed {len(garbled)} compile lines that do not parse as shell "
                            f"(see {logfile}): report this with the log")
    return compiles, logfile


def _generate_sources(runner: _Runner, generated: list[dict], jobs: int) -> list[dict]:
    """Make the generated C sources (and the headers made with them) the entries need.

    Such sources (``*.asn1.c``, ``fs/unicode/utf8data.c``) exist only once
    built; their rule also writes headers other files of the directory include.
    Building their objects is the only way kbuild offers to make them.  Entries
    whose source still does not exist are dropped.
    """
    if not generated:
        return []
    objs = sorted({os.path.relpath(os.path.join(e["directory"], e["output"]), runner.build) for e in generated})
    try:
        runner.run(runner.make_argv(runner.build, f"-j{jobs}", "-k", *objs), runner.build / MAKE_LOG,
                   what=f"make of {len(objs)} generated sources")
    except ToolError as err:
        runner.log(f"warning: {err}")
    kept = [e for e in generated if os.path.isfile(e["file"])]
    for e in generated:
        if e not in kept:
            runner.log(f"warning: generated source {e['file']} could not be made: left out")
    return kept


# ---------------------------------------------------------------------------
# prepare


def prepare(tree: Path, build: Path, *, config: str = "allmodconfig", arch: str = "x86_64",
            dirs: Sequence[str] = ("fs", "mm"), jobs: int | None = None,
            log: Callable[[str], None] | None = None) -> PrepareResult:
    """Configure *build* for *tree* (unless an identical prepare is there) and write its compile commands."""
    log = log or (lambda _msg: None)
    tree = Path(tree).resolve()
    build = Path(build).resolve()
    if not tree.is_dir():
        raise InputError(f"{tree} is not a directory: pass the root of a Linux source tree")
    if not is_kernel_tree(tree):
        raise InputError(f"{tree} is not a Linux source tree (no top Makefile, Kconfig, arch/ and scripts/): "
                         "pass the root of a kernel checkout")
    if not re.fullmatch(r"[A-Za-z0-9_]+", arch or ""):
        raise InputError(f"bad arch {arch!r}: give a kernel ARCH such as x86_64 or arm64")
    if not (tree / "arch" / srcarch(arch)).is_dir():
        known = sorted(p.name for p in (tree / "arch").iterdir() if p.is_dir())
        raise InputError(f"{tree} has no arch/{srcarch(arch)}: give --arch one of {', '.join(known)} (or x86_64)")
    if build == tree:
        raise InputError(f"the build directory must not be the tree itself ({tree}): give a separate --build directory")
    if tree.is_relative_to(build):
        raise InputError(f"the build directory {build} contains the tree: give a separate --build directory")
    jobs = jobs or os.cpu_count() or 1
    if jobs < 1:
        raise InputError(f"jobs must be at least 1, not {jobs}")
    dirs = _normalise_dirs(tree, dirs)
    kind, config_path = config_kind(config)
    config_id = str(config_path) if config_path else config
    config_sha = _sha256(config_path) if config_path else None
    check_tools()
    cross = cross_compile(arch)

    try:
        build.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the build directory {build} ({err.strerror}): give a writable --build") from None
    if not os.access(build, os.W_OK):
        raise InputError(f"the build directory {build} is not writable: give a writable --build")

    with _locked(build, log):
        return _prepare_locked(tree, build, config_id=config_id, config_sha=config_sha, kind=kind,
                               config_path=config_path, arch=arch, dirs=dirs, jobs=jobs, log=log, cross=cross)


def parse_config_spec(spec: str, default_arch: str = "x86_64") -> tuple[str, str]:
    """``report --config``'s ``[ARCH:]NAME``: ``arm64:defconfig`` -> ("arm64", "defconfig");
    ``allmodconfig`` -> (default_arch, "allmodconfig"); a file path stays whole."""
    arch, sep, name = spec.partition(":")
    if sep and name and re.fullmatch(r"[A-Za-z0-9_]+", arch):
        return arch, name
    return default_arch, spec


def config_build_dir(cache: Path, arch: str, config: str, *, tree: Path | None = None) -> Path:
    """Where ``report --config [ARCH:]NAME`` prepares: ``<cache>/build-<arch>-<name>``
    (a config file: its base name and a digest of its path), or ``<cache>/build``
    when ``passdown prepare`` (no ``--build``) already prepared this config there."""
    cache = Path(cache)
    kind, path = config_kind(config)
    config_id = str(path) if path else config
    meta = read_prepare_meta(cache / "build")
    if (meta and meta.get("config") == config_id and meta.get("arch") == arch
            and (tree is None or meta.get("tree") == str(Path(tree).resolve()))):
        return cache / "build"
    if kind == "file":
        name = f"{path.name}-{hashlib.blake2b(str(path).encode(), digest_size=4).hexdigest()}"
    else:
        name = config
    return cache / f"build-{arch}-{re.sub(r'[^A-Za-z0-9_.+-]+', '-', name)}"


def dirs_for_scope(tree: Path, scope: Sequence[str] | None, default: Sequence[str] = ("fs", "mm")) -> list[str]:
    """The directories to prepare for a report's scope: each scope path's
    directory (a file's parent); headers' directories (include/, arch/*/include)
    and the tree itself stand for the default (fs/, mm/): their uses are seen
    through the TUs that include them."""
    tree = Path(tree).resolve()
    out: list[str] = []
    for s in scope or ():
        full = (tree / s).resolve()
        if full.is_file():
            full = full.parent
        if not full.is_relative_to(tree) or full == tree:
            continue
        rel = full.relative_to(tree).as_posix()
        if rel.split("/")[0] == "include" or "/include" in f"/{rel}" and rel.startswith("arch/"):
            continue
        out.append(rel)
    return _outermost(out) if out else [d for d in default if (tree / d).is_dir()]


def ensure_prepared(tree: Path, build: Path, *, config: str, arch: str, dirs: Sequence[str], jobs: int | None = None,
                    log: Callable[[str], None] | None = None) -> PrepareResult | None:
    """``prepare()`` unless *build* already holds compile commands of this
    config, arch and tree covering *dirs* (then None: nothing was run)."""
    tree = Path(tree).resolve()
    kind, path = config_kind(config)
    meta = read_prepare_meta(build)
    have = (meta or {}).get("dirs") or []
    if (meta and meta.get("config") == (str(path) if path else config) and meta.get("arch") == arch
            and meta.get("tree") == str(tree) and (Path(build) / COMPDB_NAME).is_file()
            and (path is None or meta.get("config_sha") == _sha256(path))
            and all(any(d == h or d.startswith(h + "/") for h in have) for d in dirs)):
        return None
    return prepare(tree, build, config=config, arch=arch, dirs=dirs, jobs=jobs, log=log)


@contextlib.contextmanager
def _locked(build: Path, log: Callable[[str], None]) -> Iterator[None]:
    """One prepare at a time per output directory (a CLI run and a test session may overlap)."""
    with open(build / LOCK_NAME, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another passdown prepare in {build} to finish")
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _prepare_locked(tree: Path, build: Path, *, config_id: str, config_sha: str | None, kind: str,
                    config_path: Path | None, arch: str, dirs: list[str], jobs: int,
                    log: Callable[[str], None], cross: str | None = None) -> PrepareResult:
    runner = _Runner(tree, build, arch, log, cross)
    meta = read_prepare_meta(build)
    dot_config = build / ".config"
    reused = bool(
        meta and meta.get("config") == config_id and meta.get("config_sha") == config_sha
        and meta.get("arch") == arch and meta.get("tree") == str(tree) and dot_config.is_file()
        # .config edited since (make menuconfig in the output directory): configure again
        and meta.get("dot_config_sha") == _sha256(dot_config)
    )
    timings: dict[str, float] = {}
    if reused:
        log(f"reusing the {config_id} ({arch}) configuration in {build}")
    else:
        # Until this prepare succeeds, nothing may claim the directory is prepared.
        (build / META_NAME).unlink(missing_ok=True)
        logfile = build / MAKE_LOG
        logfile.write_text("")
        start = time.monotonic()
        if kind == "file":
            shutil.copyfile(config_path, build / ".config.passdown-tmp")
            os.replace(build / ".config.passdown-tmp", build / ".config")
            runner.run(runner.make_argv(build, "olddefconfig"), logfile, what="make olddefconfig")
        else:
            runner.run(runner.make_argv(build, config_id), logfile, what=f"make {config_id}")
        timings["config"] = round(time.monotonic() - start, 1)
        start = time.monotonic()
        runner.run(runner.make_argv(build, "prepare", f"-j{jobs}"), logfile, what="make prepare")
        timings["prepare"] = round(time.monotonic() - start, 1)

    start = time.monotonic()
    compiles, _ = dry_run(runner, dirs, jobs)
    timings["dry_run"] = round(time.monotonic() - start, 1)
    entries, generated = compdb_entries(compiles, tree=tree, build=build, dirs=dirs)
    entries += _generate_sources(runner, generated, jobs)
    if not entries:
        raise ToolError(f"make -n printed no C compile for {', '.join(dirs)} (see {build / DRYRUN_LOG}): "
                        f"check that {config_id} enables code there")
    log(f"{len(entries)} compile commands for {', '.join(dirs)}"
        + (f" ({len(generated)} of generated sources)" if generated else ""))

    # Merge with what an identical configuration already recorded for other dirs.
    compdb_path = build / COMPDB_NAME
    all_dirs = list(dirs)
    if reused and meta and sorted(meta.get("dirs") or []) != dirs and compdb_path.is_file():
        old = _read_compdb(compdb_path)
        if old is not None:
            new_files = {e["file"] for e in entries}
            tree_s, build_s = str(tree), str(build)
            kept = []
            for e in old:
                f = e.get("file", "")
                rel = _rel_under(f, [build_s]) or _rel_under(f, [tree_s]) or f
                if f not in new_files and not _in_dirs(rel, dirs):
                    kept.append(e)
            entries = kept + entries
            all_dirs = sorted(set(dirs) | set(meta.get("dirs") or []))
            log(f"merged with {len(kept)} compile commands of {', '.join(meta.get('dirs') or [])}")
    entries.sort(key=lambda e: e["file"])
    _write_atomic(compdb_path, json.dumps(entries, indent=1) + "\n")
    _write_atomic(build / META_NAME, json.dumps({
        "config": config_id,
        "arch": arch,
        "tree": str(tree),
        "dirs": _outermost(all_dirs),
        "config_sha": config_sha,
        "dot_config_sha": _sha256(dot_config),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "entries": len(entries),
        "seconds": timings,
    }, indent=1) + "\n")
    return PrepareResult(compdb=compdb_path, config=config_id, arch=arch, entries=len(entries), reused=reused)


def _read_compdb(path: Path) -> list[dict] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, list):
        return None
    return [e for e in data if isinstance(e, dict) and isinstance(e.get("file"), str)]
