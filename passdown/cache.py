"""On-disk cache of per-TU facts.

An entry is keyed by the TU's source path, its libclang arguments, the watched
fields, the libclang version and the facts format.  It stays valid while the
content of every file the TU read (the source and everything it includes) is
unchanged: a manifest remembers each file's (mtime, size, hash), so a warm run
stats each file once and hashes only the files whose stat changed.

Layout of the cache directory:

``manifest.pkl``
    the file table (path -> mtime, size, hash), the table of file versions
    (path, hash) that entries depend on, and per entry the code digest it was
    made with and its dependencies as an array of version ids.  A warm run
    checks a version once, however many entries share it, and an entry with
    one set operation.
``tu/<key>.pkl``
    the full facts of one TU (``facts.TUFacts``): what a plan needs.
``light.pkl``
    per entry, the *light* facts of the same TU: every file it walked, with
    the uses, skipped uses and ops of each, and, of the functions, only those
    that hold a use (with their calls).  What a report needs; a few MB for all
    of fs/ + mm/, where the full facts are a few hundred.

Entries made by other versions of the extractor (its code digest is part of
the key) are dropped, with their files, the next time the manifest is saved.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import tempfile
from array import array
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import facts as F
from .errors import CacheError

FORMAT = 2  # bump when the facts records or the manifest change shape


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


@contextmanager
def no_gc(freeze: bool = False):
    """Unpickling millions of small objects triggers the cyclic GC over and
    over (facts hold no cycles): about half the load time.

    *freeze*: what the block made and kept is long-lived (a run's facts): it is
    frozen (out of the collector's sight; reference counting still frees it)
    before the GC is back on.  Else the first collection after walks every
    object made in the block: 1.1 s after a warm plan's load.  Everything
    alive then is frozen, so this is for a command's one big load, not for a
    library's every call."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            if freeze:
                gc.freeze()
            gc.enable()


@dataclass
class Manifest:
    """What the entries depend on.

    files: path -> (mtime_ns, size, sha), as last seen.
    versions: (path, sha) for each version id; vids is the reverse map.
    tus: key -> (code digest, array of version ids the entry read).
    """

    files: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    versions: list[tuple[str, str]] = field(default_factory=list)
    tus: dict[str, tuple[str, array]] = field(default_factory=dict)
    vids: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)

    def vid(self, path: str, sha: str) -> int:
        v = self.vids.get((path, sha))
        if v is None:
            v = self.vids[(path, sha)] = len(self.versions)
            self.versions.append((path, sha))
        return v

    def __getstate__(self):
        return (self.files, self.versions, self.tus)

    def __setstate__(self, state):
        self.files, self.versions, self.tus = state
        self.vids = {pv: i for i, pv in enumerate(self.versions)}


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
        self.manifest, self._stale = self._load_manifest()
        self._dirty = bool(self._stale)
        self._current: dict[str, str | None] = {}  # path -> sha now, computed lazily
        self._bad: set[int] | None = None  # version ids whose file changed, once computed
        self._light: dict[str, F.TUFacts] | None = None
        self._light_dirty = False

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
                    self._dirty = True
        self._current[path] = sha
        return sha

    def _bad_versions(self) -> set[int]:
        """Version ids whose file no longer has that content: each file is
        stat'ed once, and hashed only when its stat changed."""
        if self._bad is None:
            cur = self.current_sha
            self._bad = {i for i, (p, sha) in enumerate(self.manifest.versions) if cur(p) != sha}
        return self._bad

    def valid(self, key: str) -> bool:
        entry = self.manifest.tus.get(key)
        return entry is not None and self._bad_versions().isdisjoint(entry[1])

    def deps(self, key: str) -> tuple[str, ...]:
        entry = self.manifest.tus.get(key)
        if entry is None:
            return ()
        versions = self.manifest.versions
        return tuple(versions[v][0] for v in entry[1])

    def deps_union(self, keys) -> set[str]:
        """Every file any of these entries read (one pass over version ids)."""
        vids: set[int] = set()
        for key in keys:
            entry = self.manifest.tus.get(key)
            if entry is not None:
                vids.update(entry[1])
        versions = self.manifest.versions
        return {versions[v][0] for v in vids}

    def lookup(self, key: str) -> F.TUFacts | None:
        """The full facts of a valid entry."""
        if not self.valid(key):
            return None
        try:
            with open(self.tu_dir / f"{key}.pkl", "rb") as fh, no_gc():
                facts = pickle.load(fh)
        except (OSError, pickle.PickleError, EOFError, AttributeError, TypeError, ValueError):
            return None
        return facts if isinstance(facts, F.TUFacts) else None

    def lookup_light(self, key: str) -> F.TUFacts | None:
        """The light facts of a valid entry (see the module docstring)."""
        if not self.valid(key):
            return None
        hit = self._light_store().get(key)
        if hit is None and self.has_full(key):  # the light store was lost: rebuild the entry
            full = self.lookup(key)
            if full is not None:
                hit = self._light[key] = light(full)
                self._light_dirty = True
        return hit

    def owners(self, paths: set[str], *, exclude: set[str] = frozenset(), full: bool = True) -> dict[str, str]:
        """For each of *paths* some valid entry (not in *exclude*) holds the
        current facts of: path -> key.  *full*: only entries with full facts."""
        out: dict[str, str] = {}
        for key, lt in self._light_store().items():
            if key in exclude or not self.valid(key):
                continue
            hits = [h for h in lt.headers if h.path in paths and h.path not in out and self.current_sha(h.path) == h.sha]
            if hits and (not full or self.has_full(key)):
                for h in hits:
                    out[h.path] = key
        return out

    def borrow(self, paths: set[str], *, exclude: set[str] = frozenset(), full: bool = True) -> list[F.FileFacts]:
        """The current facts of those of *paths* some valid entry (not in
        *exclude*) holds, each entry read once (see ``owners``); *full*: from
        its full facts, else its light ones."""
        owners = self.owners(paths, exclude=exclude, full=full)
        out: list[F.FileFacts] = []
        for key in sorted(set(owners.values())):
            facts = self.lookup(key) if full else self.lookup_light(key)
            out += [h for h in (facts.headers if facts is not None else ()) if owners.get(h.path) == key]
        return out

    # -- storing ----------------------------------------------------------
    def store(self, key: str, facts: F.TUFacts, *, full: bool = True) -> None:
        """Remember *facts* under *key*.  With ``full=False`` only the light
        facts are kept (a report's run: the full facts would be thrown away)."""
        vids = array("I")
        for p in facts.deps:
            sha = self.current_sha(p)
            if sha is not None:
                vids.append(self.manifest.vid(p, sha))
        path = self.tu_dir / f"{key}.pkl"
        if full:
            _atomic_write(path, pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL))
        else:
            path.unlink(missing_ok=True)
        self.manifest.tus[key] = (CODE, vids)
        self._light_store()[key] = light(facts)
        self._dirty = self._light_dirty = True

    def has_full(self, key: str) -> bool:
        return (self.tu_dir / f"{key}.pkl").is_file()

    def forget(self, key: str) -> None:
        if self.manifest.tus.pop(key, None) is not None:
            self._dirty = True
        if self._light is not None and self._light.pop(key, None) is not None:
            self._light_dirty = True

    def save(self) -> None:
        """Write what changed (nothing, on a warm run)."""
        if self._light_dirty:
            store = {k: v for k, v in self._light.items() if k in self.manifest.tus}
            _atomic_write(self.dir / "light.pkl", pickle.dumps((FORMAT, store), protocol=pickle.HIGHEST_PROTOCOL))
            self._light_dirty = False
        if not self._dirty:
            return
        self._compact()
        _atomic_write(self.dir / "manifest.pkl", pickle.dumps((FORMAT, self.manifest), protocol=pickle.HIGHEST_PROTOCOL))
        for key in self._stale:
            (self.tu_dir / f"{key}.pkl").unlink(missing_ok=True)
        self._stale = []
        self._dirty = False

    def _compact(self) -> None:
        """Drop file versions no entry depends on any more (renumbering)."""
        m = self.manifest
        used = set()
        for _, vids in m.tus.values():
            used.update(vids)
        if len(used) * 2 + 1024 > len(m.versions):
            return
        order = sorted(used)
        remap = {old: new for new, old in enumerate(order)}
        m.versions = [m.versions[v] for v in order]
        m.vids = {pv: i for i, pv in enumerate(m.versions)}
        m.tus = {k: (code, array("I", (remap[v] for v in vids))) for k, (code, vids) in m.tus.items()}
        self._bad = None

    # -- loading ----------------------------------------------------------
    def _load_manifest(self) -> tuple[Manifest, list[str]]:
        try:
            with open(self.dir / "manifest.pkl", "rb") as fh, no_gc():
                fmt, manifest = pickle.load(fh)
            if fmt == FORMAT and isinstance(manifest, Manifest):
                stale = [k for k, (code, _) in manifest.tus.items() if code != CODE]
                for k in stale:
                    del manifest.tus[k]
                return manifest, stale
        except (OSError, pickle.PickleError, EOFError, ValueError, TypeError, AttributeError):
            pass
        # No manifest, or an older format: its entries cannot be checked; remove their files.
        old = [p.stem for p in self.tu_dir.glob("*.pkl")] if (self.dir / "manifest.pkl").exists() else []
        return Manifest(), old

    def _light_store(self) -> dict[str, F.TUFacts]:
        if self._light is None:
            self._light = {}
            try:
                with open(self.dir / "light.pkl", "rb") as fh, no_gc():
                    fmt, store = pickle.load(fh)
                if fmt == FORMAT and isinstance(store, dict):
                    self._light = store
            except (OSError, pickle.PickleError, EOFError, ValueError, TypeError, AttributeError):
                pass
        return self._light


def shared_strings(facts: F.TUFacts) -> F.TUFacts:
    """*facts* with equal strings made one object.

    libclang hands back a new ``str`` for each spelling, so a TU's facts repeat
    the same USRs, type spellings and paths thousands of times, and pickle
    writes each copy in full (it shares objects by identity only).  Run on the
    worker, before the facts cross to the parent: on 6.1 fs/ + mm/ the cache's
    TU facts take 188 MB instead of 262, load in 1.3 s instead of 1.7, and hold
    270 MB less in memory.  Costs ~4 ms per TU."""
    memo: dict[str, str] = {}
    share = memo.setdefault

    def walk(x):
        t = type(x)
        if t is str:
            return share(x, x)
        if t is tuple:
            return tuple([walk(y) for y in x])
        if isinstance(x, tuple):  # a facts record (facts.record: a tuple subclass)
            return _tuple_new(t, tuple([walk(y) for y in x]))
        return x

    return walk(facts)


_tuple_new = tuple.__new__


def light(t: F.TUFacts) -> F.TUFacts:
    """The part of a TU's facts a report needs (see the module docstring)."""
    return t._replace(main=_light_file(t.main) if t.main is not None else None,
                      headers=tuple(_light_file(h) for h in t.headers), deps=())


def _light_file(ff: F.FileFacts) -> F.FileFacts:
    holders = {u.function for u in ff.uses if u.function}
    return ff._replace(functions=tuple(fn for fn in ff.functions if fn.usr in holders),
                       calls=tuple(c for c in ff.calls if c.caller in holders),
                       refs=(), decls=())


def _atomic_write(path: Path, data: bytes) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as err:
        raise CacheError(f"cannot write {path} ({err.strerror}); pass --cache DIR with a writable directory") from None
