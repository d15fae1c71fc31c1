"""Compile commands: find them, load them, and turn gcc lines into libclang arguments.

kbuild's gcc command lines carry many flags that libclang rejects outright
(``-mpreferred-stack-boundary``, ``-mindirect-branch=...``,
``-fconserve-stack``, unknown ``-W`` options) and nothing it needs beyond the
preprocessor setup, so only the flags that change what the preprocessor and
the type checker see are kept, with relative paths made absolute against the
entry's ``directory``.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .errors import CompdbError

COMPDB_NAME = "compile_commands.json"

# Flags that take their value as the next argument (or glued on).
_PATH_FLAGS = ("-I", "-isystem", "-iquote", "-idirafter", "-include", "-imacros")
_GLUED_PATH_FLAGS = ("-I", "-isystem", "-iquote", "-idirafter")
_VALUE_FLAGS = ("-D", "-U")
# Single flags kept as they are: they change predefined macros or types.
_KEEP_EXACT = {"-nostdinc", "-m64", "-m32", "-mx32", "-funsigned-char", "-fsigned-char", "-fshort-wchar"}
_KEEP_PREFIX = ("-std=", "--target=", "-O")

# Where a kernel tree would be cross-compiled for another arch, libclang needs
# the target triple: kbuild passes none to gcc because the compiler itself is a
# cross compiler.
ARCH_TARGETS = {
    "x86_64": "x86_64-linux-gnu",
    "arm64": "aarch64-linux-gnu",
    "arm": "arm-linux-gnueabi",
    "riscv": "riscv64-linux-gnu",
    "powerpc": "powerpc64le-linux-gnu",
    "s390": "s390x-linux-gnu",
}


@dataclass(frozen=True, slots=True)
class CompileCommand:
    file: str  # absolute, normalised
    directory: str  # absolute
    args: tuple[str, ...]  # filtered for libclang, paths absolute, no source/-o
    raw: tuple[str, ...]  # the entry's own argument list


@dataclass(frozen=True)
class SearchPaths:
    """What a compile command's flags say about finding headers, in order."""

    quote: tuple[str, ...]  # -iquote
    angle: tuple[str, ...]  # -I, -isystem, -idirafter
    forced: tuple[str, ...]  # -include, -imacros


def search_paths(args: Iterable[str]) -> SearchPaths:
    """The header search flags of *args*, joined (``-Idir``) or not (``-I dir``)."""
    out: dict[str, list[str]] = {"quote": [], "angle": [], "forced": []}
    it = iter(args)
    for a in it:
        for flag, kind in (("-iquote", "quote"), ("-isystem", "angle"), ("-idirafter", "angle"), ("-I", "angle"),
                           ("-include", "forced"), ("-imacros", "forced")):
            if a == flag or (a.startswith(flag) and kind != "forced"):
                value = a[len(flag):] or next(it, None)
                if value is not None:
                    out[kind].append(os.path.normpath(value))
                break
    return SearchPaths(tuple(out["quote"]), tuple(out["angle"]), tuple(out["forced"]))


def find(tree: Path, build: Path | None) -> Path:
    """The compilation database to use for *tree*, or a CompdbError saying how to make one."""
    candidates = ([build / COMPDB_NAME] if build else []) + [tree / COMPDB_NAME]
    for path in candidates:
        if path.is_file():
            return path
    where = f"{build} or {tree}" if build else str(tree)
    raise CompdbError(
        f"no {COMPDB_NAME} in {where}: for a kernel tree run "
        f"'passdown prepare --tree {tree} --build DIR' and pass the same --build DIR; "
        "for other trees generate one (for example with bear)"
    )


def load(path: Path, *, target: str | None = None) -> list[CompileCommand]:
    """Read a compilation database; C sources only, one entry per file (the last wins)."""
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise CompdbError(f"cannot read {path}: {err}; regenerate it with 'passdown prepare'") from None
    if not isinstance(entries, list):
        raise CompdbError(f"{path} is not a JSON list of compile commands; regenerate it with 'passdown prepare'")
    base = path.parent.resolve()
    by_file: dict[str, CompileCommand] = {}
    for entry in entries:
        cmd = _entry(entry, base, target)
        if cmd is not None:
            by_file[cmd.file] = cmd
    return sorted(by_file.values(), key=lambda c: c.file)


def _entry(entry: dict, base: Path, target: str | None) -> CompileCommand | None:
    if not isinstance(entry, dict) or "file" not in entry:
        return None
    directory = Path(entry.get("directory") or ".")
    if not directory.is_absolute():
        # A relative directory is taken relative to the database itself, so a
        # tree can ship a database that works wherever it is checked out.
        directory = base / directory
    directory = Path(os.path.normpath(directory))
    source = Path(entry["file"])
    if not source.is_absolute():
        source = directory / source
    source = Path(os.path.normpath(source))
    if source.suffix != ".c":
        return None
    raw = entry.get("arguments")
    if raw is None:
        raw = shlex.split(entry.get("command", ""))
    args = libclang_args(raw, directory, target=target)
    return CompileCommand(str(source), str(directory), tuple(args), tuple(raw))


def libclang_args(raw: list[str] | tuple[str, ...], directory: Path, *, target: str | None = None) -> list[str]:
    """Keep what parsing needs from a gcc command line; make paths absolute."""
    out: list[str] = []
    it = iter(raw[1:])  # raw[0] is the compiler
    for arg in it:
        if arg in _PATH_FLAGS:
            value = next(it, None)
            if value is not None:
                out += [arg, _absolute(value, directory)]
            continue
        glued = next((f for f in _GLUED_PATH_FLAGS if arg.startswith(f)), None)
        if glued:
            out.append(glued + _absolute(arg[len(glued):], directory))
            continue
        if arg in _VALUE_FLAGS:
            value = next(it, None)
            if value is not None:
                out.append(arg + value)
            continue
        if arg.startswith(_VALUE_FLAGS) or arg in _KEEP_EXACT or arg.startswith(_KEEP_PREFIX):
            out.append(arg)
    if target and not any(a.startswith("--target=") for a in out):
        out.append(f"--target={target}")
    # -w: gcc-only -W options and kernel-style warnings are noise for us.
    out += ["-w", "-Wno-everything"]
    return out


def _absolute(path: str, directory: Path) -> str:
    p = Path(path)
    return str(p if p.is_absolute() else Path(os.path.normpath(directory / p)))
