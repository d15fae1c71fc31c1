"""What kind of fix each use needs: per-use classification for the report.

Every use gets, beside its access (already in the facts):

``kind``
    ``compare`` (an operand of ``==``/``!=``/``!`` or a condition: usually a
    truncation check, ``!page->mapping || page->mapping != mapping``, which the
    helper keeps for unprotected pages), else ``read``, ``write`` or
    ``address``.

``folio``
    Where a ``struct folio`` is already in reach in the enclosing function: a
    parameter or local whose canonical type is ``struct folio *``, or a
    ``page_folio()`` call written in the body (a macro in the kernel, so it
    is found in the function's text, not among its calls).  Such a use is
    better fixed by the folio conversion (``folio->mapping``,
    ``folio_mapping()``) than by a new parameter: that is how the kernel has
    been removing ``page->mapping`` users since 5.16.

``category``
    Glisse's five classes of ``page->mapping`` users (LSF/MM/BPF 2020), decided
    from where the function sits and what it calls.  First rule that fires
    wins, and ``category_why`` says which:

    1. ``gup`` -- get_user_pages: the function is in ``mm/gup.c`` or calls
       ``get_user_pages*``/``pin_user_pages*``/``follow_page*``/
       ``try_grab_*``: a GUP'd page must lose its protection first.
    2. ``debug`` -- dumps and tracing: ``mm/debug*.c``, ``mm/page_owner.c``,
       ``fs/proc/``, debugfs, ``kernel/trace/``; a function named
       ``*dump*``/``*debug*``/``*trace*``/``*show*``/``*print*``; or one that
       calls ``seq_printf()``/``seq_puts()``/``sysfs_emit()`` (procfs/sysfs
       output).  ``dump_page()`` is not a signal: ``VM_BUG_ON_PAGE()``
       expands to it all over mm/.
    3. ``block-io`` -- I/O completion: the function is stored in an
       ``*end_io`` member (``bio.bi_end_io``, ``buffer_head.b_end_io``) or
       named like a completion (``*end_io*``, ``*endio*``, ``end_buffer_*``,
       ``*end_bio*``).  buffer_head filesystems can keep the mapping in the
       buffer_head, bios in their private data.
    4. ``core-mm`` -- rmap, reclaim, compaction, migration, swap, KSM: the
       file is one of those mm/ files, the function calls an rmap walk
       (``rmap_walk``, ``try_to_unmap``, ``page_referenced``,
       ``page_vma_mapped_walk``, ``isolate_lru_page``, ``migrate_pages``...)
       or is named after them (``*anon*``, ``*rmap*``, ``*migrat*``,
       ``*compact*``, ``*reclaim*``, ``*shrink*``, ``*lru*``, ``*ksm*``,
       ``*movable*``: movable_ops pages are compaction's).
       These only walk the PTEs that map a page: an rmap walk serves them,
       not a parameter.
    5. ``file`` -- file context: ``fs/`` (but not procfs), the page-cache
       files of mm/ (``filemap.c``, ``page-writeback.c``, ``truncate.c``,
       ``readahead.c``, ``shmem.c``...) and their headers (``pagemap.h``,
       ``fs*.h``, ``buffer_head.h``...), or a function with
       a ``struct file``/``inode``/``address_space``/``kiocb``/
       ``buffer_head``/``writeback_control`` parameter or local: the mapping
       can come from the file or inode, passed down the call stack.

    Otherwise the place decides (``mm/``, ``arch/``, and the mm headers
    ``include/linux/mm*.h``, ``page-flags.h``, ``migrate.h``, ``rmap.h``,
    ``swap*.h``... -> ``core-mm``; ``block/`` -> ``block-io``), and anything
    else is ``other``.  These are heuristics for triage, stated with
    their evidence: a reviewer should read ``category_why``.

``reason_kind``
    For remaining uses, the short form of why the plan could not convert
    them (``no source``, ``root outside the indexed tree``, ``address
    escapes``, ``call in macro``, ``macro-generated``, ``variadic``, ``stop
    rule``, ``called from accessor``, ``accessor``, ``write``,
    ``address-of``), or why the use was not analysed at all (``not analysed
    under the config``, ``not compiled under the config``, ``header not
    included``, ``parse failure``); ``converted`` for converted uses.

``hint``
    The kind of fix that follows from the above, for a human to triage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import facts as F

CATEGORIES = {
    "file": "file context: the mapping can come from the file or inode (pass it down)",
    "core-mm": "core mm (rmap, reclaim, compaction, migration): served by an rmap walk",
    "block-io": "block I/O completion: keep the mapping with the I/O (buffer_head, bio)",
    "debug": "debugging: procfs/sysfs/debugfs dumps and tracing",
    "gup": "GUP: a pinned page must lose its protection",
    "other": "none of Glisse's categories matched",
}

# -- evidence tables (kernel names; see the module docstring) ---------------------------

_GUP_FILE = re.compile(r"^mm/gup(_\w+)?\.c$")
_GUP_CALLS = re.compile(r"^(__)?(get|pin|unpin)_user_pages|^get_user_page|^follow_page|^try_grab_(page|folio)|^gup_")

_DEBUG_FILE = re.compile(r"^(mm/(debug\w*|page_owner|page_idle|kmemleak)\.c|fs/proc/|kernel/trace/|.*debugfs)")
_DEBUG_NAME = re.compile(r"(^|_)(dump|debug|dbg|trace|show)(_|$)|print")
_DEBUG_CALLS = re.compile(r"^(seq_printf|seq_puts|seq_putc|seq_put_decimal\w*|sysfs_emit\w*|trace_seq_printf|debugfs_\w+)$")

_ENDIO_MEMBER = re.compile(r"end_io$")
_ENDIO_NAME = re.compile(r"end_?io|end_buffer_|end_bio|_io_done$|_complete_io$")

_CORE_MM_FILE = re.compile(
    r"^(mm/(rmap|vmscan|compaction|migrate\w*|ksm|memory-failure|huge_memory|khugepaged|page_vma_mapped|mlock|"
    r"swap|swapfile|swap_state|workingset|memory|memremap|hugetlb|mprotect|mremap|madvise|mmap|pagewalk|"
    r"page_isolation|balloon_compaction|zsmalloc|z3fold|zbud)\.c|arch/[^/]+/mm/)")
_CORE_MM_CALLS = re.compile(
    r"^(rmap_walk\w*|try_to_unmap\w*|try_to_migrate|page_referenced|folio_referenced|page_vma_mapped_walk|"
    r"isolate_lru_page|folio_isolate_lru|putback_lru_page|migrate_pages|page_mkclean|folio_mkclean|"
    r"page_lock_anon_vma_read|folio_lock_anon_vma_read|ksm_might_need_to_copy)$")
# PageAnon; __PageMovable and movable_ops: pages compaction migrates by their own ops
_CORE_MM_NAME = re.compile(r"anon|rmap|ksm|migrat|compact|reclaim|shrink|(^|_)lru(_|$)|isolate|movable", re.I)

_FILE_FILE = re.compile(
    r"^(fs/(?!proc/)|mm/(filemap|page-writeback|truncate|readahead|shmem|fadvise|mapping_dirty_helpers)\.c|"
    r"include/linux/(pagemap|fs\w*|buffer_head|writeback|mpage|iomap|dax|swap_fs)\.h)")
# One pointer: a `struct address_space **` is a slot, not a mapping in hand.
_FILE_TYPES = re.compile(r"\bstruct (file|inode|address_space|kiocb|buffer_head|writeback_control)\s*\*(?!\*)")

_CORE_MM_DIR = re.compile(r"^(mm/|arch/|include/linux/(mm\w*|page-flags|migrate|rmap|swap\w*|ksm|huge_mm|hugetlb\w*|"
                          r"memcontrol|page_idle|page_ref|balloon_compaction)\.h)")
_BLOCK_DIR = re.compile(r"^block/")

_FOLIO_TYPE = re.compile(r"\bstruct folio\s*\*")
_PAGE_FOLIO = re.compile(rb"\bpage_folio\s*\(")


@dataclass(frozen=True)
class FunctionContext:
    """What classification needs to know about the function a use sits in."""

    name: str
    file: str  # relative to the tree
    callees: frozenset[str]  # names of direct callees (calls written in macro bodies too)
    end_io: tuple[str, ...]  # completion members the function is stored in ("bio.bi_end_io")
    file_vars: tuple[str, ...]  # "parameter file (struct file *)", ...
    folio: tuple[str, ...]  # where a struct folio is in reach


class Contexts:
    """Function contexts over an index, computed on demand."""

    def __init__(self, idx, tree):
        self.idx = idx
        self.tree = str(tree)
        self.defs: dict[str, tuple[F.FileFacts, F.Function]] = {}
        for ff, fn in idx.functions():
            if fn.is_definition or fn.usr not in self.defs:
                self.defs[fn.usr] = (ff, fn)
        self._calls: dict[str, set[str]] = {}
        self._end_io: dict[str, set[str]] = {}
        for ff in idx.files.values():
            for c in ff.calls:
                if c.kind == "direct":
                    self._calls.setdefault(c.caller, set()).add(c.name)
            for op in ff.ops:
                if _ENDIO_MEMBER.search(op.member):
                    self._end_io.setdefault(op.function, set()).add(f"{op.struct}.{op.member}")
        self._memo: dict[str, FunctionContext] = {}
        self._text: dict[str, bytes] = {}

    def get(self, usr: str | None) -> FunctionContext | None:
        if not usr or usr not in self.defs:
            return None
        if usr not in self._memo:
            self._memo[usr] = self._context(usr)
        return self._memo[usr]

    def _source(self, ff: F.FileFacts) -> bytes:
        if ff.path not in self._text:
            try:
                self._text[ff.path] = open(ff.path, "rb").read()
            except OSError:
                self._text[ff.path] = b""
        return self._text[ff.path]

    def _context(self, usr: str) -> FunctionContext:
        ff, fn = self.defs[usr]
        file_vars, folio = [], []
        for p in fn.params:
            if _FILE_TYPES.search(p.canonical):
                file_vars.append(f"parameter {p.name or '?'} ({p.canonical.strip()})")
            if _FOLIO_TYPE.search(p.canonical):
                folio.append(f"parameter {p.name or '?'} (struct folio *)")
        for loc in fn.locals:
            if _FILE_TYPES.search(loc.canonical):
                file_vars.append(f"local {loc.name} ({loc.canonical.strip()})")
            if _FOLIO_TYPE.search(loc.canonical):
                folio.append(f"local {loc.name} (struct folio *)")
        text = self._source(ff) if fn.is_definition else b""
        m = _PAGE_FOLIO.search(text, fn.start, fn.end)
        if m:
            line = text.count(b"\n", 0, m.start()) + 1
            folio.append(f"page_folio() at line {line}")
        return FunctionContext(fn.name, self.idx.rel(ff.path), frozenset(self._calls.get(usr, ())),
                               tuple(sorted(self._end_io.get(usr, ()))), tuple(file_vars), tuple(folio))


def category(file: str, ctx: FunctionContext | None) -> tuple[str, str]:
    """(category, evidence) for a use in *file*, inside the function *ctx* (None at file scope)."""
    name = ctx.name if ctx else ""
    callees = sorted(ctx.callees) if ctx else []

    def called(pattern: re.Pattern) -> str | None:
        return next((c for c in callees if pattern.search(c)), None)

    # 1. GUP
    if _GUP_FILE.search(file):
        return "gup", f"in {file}"
    if (c := called(_GUP_CALLS)):
        return "gup", f"calls {c}()"
    # 2. debugging
    if _DEBUG_FILE.search(file):
        return "debug", f"in {file}"
    if name and _DEBUG_NAME.search(name):
        return "debug", f"function name {name}"
    if (c := called(_DEBUG_CALLS)):
        return "debug", f"calls {c}()"
    # 3. block I/O completion
    if ctx and ctx.end_io:
        return "block-io", f"stored in {', '.join(ctx.end_io)}"
    if name and _ENDIO_NAME.search(name):
        return "block-io", f"completion name {name}"
    # 4. core mm: rmap, reclaim, compaction, migration
    if _CORE_MM_FILE.search(file):
        return "core-mm", f"in {file}"
    if (c := called(_CORE_MM_CALLS)):
        return "core-mm", f"calls {c}()"
    if name and _CORE_MM_NAME.search(name):
        return "core-mm", f"function name {name}"
    # 5. file context
    if _FILE_FILE.search(file):
        return "file", f"in {file}"
    if ctx and ctx.file_vars:
        return "file", f"has {ctx.file_vars[0]}"
    # by directory only
    if _CORE_MM_DIR.search(file):
        return "core-mm", f"directory of {file} only"
    if _BLOCK_DIR.search(file):
        return "block-io", f"directory of {file} only"
    return "other", "no rule matched"


# -- reasons --------------------------------------------------------------------------

_REASON_PREFIXES = (
    # (prefix of the plan's or the report's reason, kind)
    ("address escapes", "address escapes"),
    ("call in macro", "call in macro"),
    ("variadic", "variadic"),
    ("macro-generated", "macro-generated"),
    ("stop rule", "stop rule"),
    ("called from accessor", "called from accessor"),
    ("accessor", "accessor"),
    ("write", "write"),
    ("address-of", "address-of"),
    ("at file scope", "at file scope"),
    ("not analysed: in code the preprocessor skips", "not analysed under the config"),
    ("in code the preprocessor skips", "not analysed under the config"),
    ("not compiled", "not compiled under the config"),
    ("header not included", "header not included"),
    ("parse failure", "parse failure"),
)


def reason_kind(status: str, reason: str | None) -> str:
    """The short class of a use's status reason (see the module docstring)."""
    if status == "converted":
        return "converted"
    if status == "analysed" or not reason:
        return "" if status == "analysed" else "not converted by the plan"
    if reason.startswith("no source"):
        # The plan names the root whose callers are missing: the chain climbed
        # to a function nothing in the indexed tree calls (a syscall, a sysfs
        # handler, code outside the compile commands).
        return "root outside the indexed tree" if "has no caller in the indexed tree" in reason else "no source"
    for prefix, kind in _REASON_PREFIXES:
        if reason.startswith(prefix):
            return kind
    return "not converted by the plan"


_HINT_BY_REASON = {
    "write": "setter: stays with the page-cache/rmap code that owns the page (or a folio-side setter)",
    "address-of": "address taken: needs its own redesign (the slot is used as storage)",
    "accessor": "accessor: converting its callers converts it",
    "not analysed under the config": "check under a config that compiles it",
    "not compiled under the config": "check under a config that compiles it",
    "header not included": "check by hand: no analysed file includes the header",
    "parse failure": "fix the parse failure and rerun",
}
_HINT_BY_CATEGORY = {
    "file": "pass the mapping down from the file/inode (widen the scope or fix the chain)",
    "core-mm": "rmap walk: no mapping parameter",
    "block-io": "keep the mapping with the I/O (buffer_head or bio private data)",
    "debug": "debug output: print the folio's mapping, or leave as is",
    "gup": "GUP: unprotect the page first",
    "other": "triage by hand",
}


def hint(status: str, kind: str, cat: str, folio: tuple[str, ...], reason: str) -> str:
    if status == "converted":
        also = "; a struct folio is in reach too: the folio conversion is the alternative" if folio else ""
        return f"mapping passed down (see the chain){also}"
    if folio and kind != "write":
        return "folio conversion: a struct folio is in reach"
    if reason in _HINT_BY_REASON:
        return _HINT_BY_REASON[reason]
    if status == "analysed":
        return "folio conversion or pass-down (run with --after-plan)" if cat == "file" else _HINT_BY_CATEGORY[cat]
    return _HINT_BY_CATEGORY[cat]


def access_kind(access: str | None, compare: bool) -> str | None:
    if access is None:
        return None
    return "compare" if compare and access == "read" else access
