"""On-disk cache of per-TU facts.

An entry is keyed by the TU's source path, its libclang arguments, the watched
fields, the libclang version and the facts format.  It stays valid while the
content of every file the TU read (the source and everything it includes) is
unchanged: a manifest remembers each file's (mtime, size, hash), so a warm run
stats each file once and hashes only the files whose stat changed.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import facts as F
from .errors import CacheError

FORMAT = 1  # bump when the facts dataclasses change shape


def _code_digest() -> str:
    """Facts depend on the extractor's code as much as on the sources: any
    change to parse.py or facts.py invalidates the cache."""
    h = hashlib.blake2b(digest_size=8)
    here = Path(__file__).parent
    for name in ("parse.py", "facts.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()


CODE = _code_digest()


def default_dir(tree: Path) -> Path:
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.blake2b(str(tree.resolve()).encode(), digest_size=8).hexdigest()
    return home / "passdown" / f"{tree.resolve().name}-{digest}"


def tu_key(source: str, args: tuple[str, ...], fields: tuple[F.FieldSpec, ...], version: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in (str(FORMAT), CODE, version, source, *args, *(str(f) for f in fields)):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def file_sha(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.blake2b(fh.read(), digest_size=16).hexdigest()
    except OSError:
        return None


@dataclass
class Manifest:
    """file path -> (mtime_ns, size, sha); TU key -> ((dep path, dep sha), ...)."""

    files: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    tus: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)


class Cache:
    def __init__(self, directory: Path):
        self.dir = directory
        self.tu_dir = directory / "tu"
        try:
            self.tu_dir.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.tu_dir, delete=True)
            probe.close()
        except OSError as err:
            raise CacheError(
                f"cache directory {directory} is not writable ({err.strerror}); pass --cache DIR with a writable directory"
            ) from None
        self.manifest = self._load_manifest()
        self._current: dict[str, str | None] = {}  # path -> sha now, computed lazily

    # -- validation -------------------------------------------------------
    def current_sha(self, path: str) -> str | None:
        if path in self._current:
            return self._current[path]
        sha = None
        try:
            st = os.stat(path)
        except OSError:
            st = None
        if st is not None:
            known = self.manifest.files.get(path)
            if known and known[0] == st.st_mtime_ns and known[1] == st.st_size:
                sha = known[2]
            else:
                sha = file_sha(path)
                if sha is not None:
                    self.manifest.files[path] = (st.st_mtime_ns, st.st_size, sha)
        self._current[path] = sha
        return sha

    def lookup(self, key: str) -> F.TUFacts | None:
        deps = self.manifest.tus.get(key)
        if deps is None:
            return None
        if any(self.current_sha(p) != sha for p, sha in deps):
            return None
        try:
            with open(self.tu_dir / f"{key}.pkl", "rb") as fh:
                facts = pickle.load(fh)
        except (OSError, pickle.PickleError, EOFError, AttributeError, TypeError):
            return None
        return facts if isinstance(facts, F.TUFacts) else None

    # -- storing ----------------------------------------------------------
    def store(self, key: str, facts: F.TUFacts) -> None:
        deps = []
        for p in facts.deps:
            sha = self.current_sha(p)
            if sha is not None:
                deps.append((p, sha))
        _atomic_write(self.tu_dir / f"{key}.pkl", pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL))
        self.manifest.tus[key] = tuple(deps)

    def forget(self, key: str) -> None:
        self.manifest.tus.pop(key, None)

    def save(self) -> None:
        _atomic_write(self.dir / "manifest.pkl", pickle.dumps((FORMAT, self.manifest), protocol=pickle.HIGHEST_PROTOCOL))

    def _load_manifest(self) -> Manifest:
        try:
            with open(self.dir / "manifest.pkl", "rb") as fh:
                fmt, manifest = pickle.load(fh)
            if fmt == FORMAT and isinstance(manifest, Manifest):
                return manifest
        except (OSError, pickle.PickleError, EOFError, ValueError, TypeError, AttributeError):
            pass
        return Manifest()


def _atomic_write(path: Path, data: bytes) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as err:
        raise CacheError(f"cannot write {path} ({err.strerror}); pass --cache DIR with a writable directory") from None
