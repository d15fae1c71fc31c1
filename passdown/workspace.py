"""The tree being analysed: where it is, its compile commands, config and scope."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

from . import compdb
from .cache import Cache, default_dir
from .errors import InputError

PREPARE_META = "passdown-prepare.json"
_COMPDB_CODE = hashlib.blake2b(Path(compdb.__file__).read_bytes(), digest_size=8).hexdigest()


@dataclass
class Workspace:
    tree: Path
    build: Path | None
    cache_dir: Path

    @classmethod
    def open(cls, tree: str | Path, build: str | Path | None = None, cache: str | Path | None = None) -> "Workspace":
        t = Path(tree).resolve()
        if not t.is_dir():
            raise InputError(f"{tree} is not a directory; pass --tree with the root of a kernel checkout")
        b = Path(build).resolve() if build else None
        if b is not None and not b.is_dir():
            raise InputError(f"build directory {build} does not exist; run 'passdown prepare --build {build}' first")
        cache_dir = Path(cache).resolve() if cache else default_dir(t)
        if b is None and not (t / compdb.COMPDB_NAME).is_file() and (cache_dir / "build" / compdb.COMPDB_NAME).is_file():
            b = cache_dir / "build"  # where `passdown prepare` puts it when not told otherwise
        return cls(t, b, cache_dir)

    @staticmethod
    def default_build(tree: str | Path, cache: str | Path | None = None) -> Path:
        """Outside the tree: passdown never writes into the user's checkout."""
        t = Path(tree).resolve()
        return (Path(cache).resolve() if cache else default_dir(t)) / "build"

    # -- compile commands and the config they stand for --------------------
    @property
    def compdb_path(self) -> Path:
        return compdb.find(self.tree, self.build)

    def meta(self) -> dict:
        """What `passdown prepare` recorded next to the compile commands, if anything."""
        path = self.compdb_path.parent / PREPARE_META
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}

    def config(self) -> dict:
        m = self.meta()
        return {
            "config": m.get("config", "as given by compile_commands.json"),
            "arch": m.get("arch", "host"),
            "compile_commands": os.path.relpath(self.compdb_path, self.tree)
            if self.compdb_path.is_relative_to(self.tree) else str(self.compdb_path),
        }

    def commands(self) -> list[compdb.CompileCommand]:
        """The compile commands, remembered in the cache dir while the database
        (and the code that reads it) is unchanged: converting 1,440 kbuild lines
        for libclang costs ~1 s, a tenth of a warm plan."""
        arch = self.meta().get("arch")
        target = compdb.ARCH_TARGETS.get(arch) if arch else None
        path = self.compdb_path
        memo = self.cache_dir / "commands.pkl"
        try:
            st = path.stat()
            sig = (str(path), st.st_mtime_ns, st.st_size, target, _COMPDB_CODE)
        except OSError:
            sig = None
        if sig is not None:
            try:
                with open(memo, "rb") as fh:
                    got, cmds = pickle.load(fh)
                if got == sig:
                    return cmds
            except (OSError, pickle.PickleError, EOFError, ValueError, TypeError, AttributeError):
                pass
        cmds = compdb.load(path, target=target)
        if sig is not None:
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                tmp = memo.with_name(f".{memo.name}.{os.getpid()}")
                tmp.write_bytes(pickle.dumps((sig, cmds), protocol=pickle.HIGHEST_PROTOCOL))
                os.replace(tmp, memo)
            except OSError:
                pass  # only slower next time
        return cmds

    def exclude(self) -> tuple[str, ...]:
        """Directories inside the tree that hold generated files (kbuild O=)."""
        if self.build is not None and self.build.is_relative_to(self.tree):
            return (str(self.build),)
        return ()

    def open_cache(self) -> Cache:
        return Cache(self.cache_dir)

    # -- scope ------------------------------------------------------------
    def scope(self, paths: list[str] | None) -> list[Path]:
        """Absolute scope paths, each checked to be inside the tree."""
        out = []
        for p in paths or ["."]:
            raw = Path(p)
            full = (raw if raw.is_absolute() else self.tree / raw).resolve()
            if not full.is_relative_to(self.tree):
                raise InputError(f"scope path {p} is outside the tree {self.tree}; give paths inside it, relative to --tree")
            if not full.exists():
                raise InputError(f"scope path {p} does not exist in {self.tree}; check the spelling (paths are relative to --tree)")
            out.append(full)
        return out

    def rel(self, path: str | Path) -> str:
        return os.path.relpath(path, self.tree)


def in_scope(path: str, scope: list[Path]) -> bool:
    return any(path == str(s) or path.startswith(str(s) + os.sep) for s in scope)
