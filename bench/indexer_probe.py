"""Would libclang's indexer beat passdown's cursor walk?  (issue 5, item 3)

    scripts/dev.sh python bench/indexer_probe.py --tree T --build B --cache C [--sample 20] [--scope fs mm]

*C* is a cache made by a full index of the scope with PCHs (``bench/pch_check.py
--keep DIR`` leaves one in DIR/with-PCH): its PCHs are reused, none is built.
For a random sample of the scope's TUs, each parsed through its PCH as a full
index parses it, prints per TU and in total:

  parse     libclang's parse (clang_parseTranslationUnit), as passdown does it;
  walk      passdown's walk of that TU (parse.parse_tu's own figure): every
            fact a plan needs (functions, calls and their arguments, locals,
            assignments, uses of the field, ops, references);
  index     clang_indexTranslationUnit over the same parsed TU, with Python
            callbacks that only count declarations and references (no fact
            is made), and the number of callbacks;
  +field    the same, and each reference also checked for struct page's
            `mapping` (the referenced entity's kind and name, and for a field
            named `mapping` its record's name): the least a use finder built on
            the indexer would do.  "uses idx" counts what it finds, "uses walk"
            the uses of the field passdown's walk found in the same files.

The indexer reports what a declaration or reference is and its role (read,
write, call, address-of); passdown also needs each call's arguments, locals
and their assignments, and the right-hand sides that feed them, which it
would still have to walk cursors for.  So the indexer could only replace the
walk if its bare traversal is well below the walk's cost.  Not a test.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from passdown import facts as F  # noqa: E402
from passdown import index, parse  # noqa: E402
from passdown.cache import Cache  # noqa: E402
from passdown.workspace import Workspace, in_scope  # noqa: E402

FIELDS = (F.FieldSpec("page", "mapping"),)
CXIdxEntity_Field = 4  # enum CXIdxEntityKind (clang-c/Index.h)
CXIndexOpt_SuppressWarnings = 0x8


def indexer():
    """ctypes declarations of the indexer API (clang-c/Index.h), on the libclang
    passdown loads."""
    import clang.cindex as ci

    parse._setup()
    lib = ci.conf.lib

    class EntityInfo(ctypes.Structure):
        _fields_ = [("kind", ctypes.c_int), ("templateKind", ctypes.c_int), ("lang", ctypes.c_int),
                    ("name", ctypes.c_char_p), ("USR", ctypes.c_char_p), ("cursor", ci.Cursor),
                    ("attributes", ctypes.c_void_p), ("numAttributes", ctypes.c_uint)]

    class IdxLoc(ctypes.Structure):
        _fields_ = [("ptr_data", ctypes.c_void_p * 2), ("int_data", ctypes.c_uint)]

    class EntityRefInfo(ctypes.Structure):
        _fields_ = [("kind", ctypes.c_int), ("cursor", ci.Cursor), ("loc", IdxLoc),
                    ("referencedEntity", ctypes.POINTER(EntityInfo)), ("parentEntity", ctypes.POINTER(EntityInfo)),
                    ("container", ctypes.c_void_p), ("role", ctypes.c_int)]

    decl_t = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
    ref_t = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(EntityRefInfo))

    class Callbacks(ctypes.Structure):
        _fields_ = [("abortQuery", ctypes.c_void_p), ("diagnostic", ctypes.c_void_p),
                    ("enteredMainFile", ctypes.c_void_p), ("ppIncludedFile", ctypes.c_void_p),
                    ("importedASTFile", ctypes.c_void_p), ("startedTranslationUnit", ctypes.c_void_p),
                    ("indexDeclaration", decl_t), ("indexEntityReference", ref_t)]

    # The record a field belongs to, without cindex's wrappers (they want the cursor's TU).
    raw = ctypes.CDLL(lib._name)
    raw.clang_getCursorSemanticParent.restype = ci.Cursor
    raw.clang_getCursorSemanticParent.argtypes = [ci.Cursor]
    raw.clang_getCursorSpelling.restype = ci._CXString
    raw.clang_getCursorSpelling.argtypes = [ci.Cursor]
    global record_name

    def record_name(cursor) -> str:
        """The named struct a field is in: struct page's `mapping` sits in an anonymous
        struct inside an anonymous union (the anonymous-union trap)."""
        for _ in range(4):
            cursor = raw.clang_getCursorSemanticParent(cursor)
            name = ci._CXString.from_result(raw.clang_getCursorSpelling(cursor))
            if name and "(anonymous" not in name and "(unnamed" not in name:
                return name
        return ""

    lib.clang_IndexAction_create.restype = ctypes.c_void_p
    lib.clang_IndexAction_create.argtypes = [ctypes.c_void_p]
    lib.clang_IndexAction_dispose.argtypes = [ctypes.c_void_p]
    lib.clang_indexTranslationUnit.restype = ctypes.c_int
    lib.clang_indexTranslationUnit.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(Callbacks),
                                               ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p]
    return lib, Callbacks, decl_t, ref_t


def run_indexer(lib, Callbacks, decl_t, ref_t, cindex, tu, check_field: bool) -> tuple[float, int, int]:
    counts = [0, 0, 0]  # declarations, references, uses of the field

    def on_decl(_client, _info):
        counts[0] += 1

    def on_ref(_client, info):
        counts[1] += 1
        if check_field:
            ent = info[0].referencedEntity
            if ent and ent[0].kind == CXIdxEntity_Field and ent[0].name == b"mapping" \
                    and record_name(ent[0].cursor) == "page":
                counts[2] += 1

    cbs = Callbacks(None, None, None, None, None, None, decl_t(on_decl), ref_t(on_ref))
    action = lib.clang_IndexAction_create(cindex.obj)
    t = time.perf_counter()  # as parse_tu's own figures
    rc = lib.clang_indexTranslationUnit(action, None, ctypes.byref(cbs), ctypes.sizeof(cbs),
                                        CXIndexOpt_SuppressWarnings, tu.obj)
    spent = time.perf_counter() - t
    lib.clang_IndexAction_dispose(action)
    if rc != 0:
        raise RuntimeError(f"clang_indexTranslationUnit returned {rc}")
    return spent, counts[0] + counts[1], counts[2]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--cache", required=True, help="a full index's cache of the scope, with its PCHs")
    ap.add_argument("--scope", nargs="+", default=["fs", "mm"])
    ap.add_argument("--sample", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    ws = Workspace.open(args.tree, args.build)
    scope = ws.scope(args.scope)
    cmds = [c for c in ws.commands() if in_scope(c.file, scope)]
    by_file = {c.file: c for c in cmds}
    random.seed(args.seed)
    sample = random.sample(sorted(by_file), min(args.sample, len(by_file)))
    fd, log = tempfile.mkstemp()
    os.close(fd)
    try:
        use, _, stats = index._precompile(ws.tree, cmds, set(sample), Cache(Path(args.cache)), FIELDS,
                                          parse.libclang_version(), log, ws.exclude(), 1)
    finally:
        os.unlink(log)
    if stats["built"]:
        print(f"note: {stats['built']} PCHs were built (the cache did not hold them all)", file=sys.stderr)
    lib, Callbacks, decl_t, ref_t = indexer()
    local = parse._local_index()
    rows = []
    for src in sample:
        if src not in use:
            continue  # no PCH for it: not the common case being measured
        pch_file, headers = use[src][1], use[src][2]
        facts = parse.parse_tu(src, by_file[src].args, str(ws.tree), FIELDS, frozenset(), ws.exclude(), None,
                               pch=(pch_file, headers))
        if facts.error or facts.diagnostics:
            continue
        tu = local.parse(src, [*by_file[src].args, "-include-pch", pch_file, "-Xclang", "-fno-validate-pch"],
                         options=parse.KEEP_GOING)
        idx_s, n, _ = run_indexer(lib, Callbacks, decl_t, ref_t, local, tu, False)
        fld_s, _, uses = run_indexer(lib, Callbacks, decl_t, ref_t, local, tu, True)
        walked_uses = sum(len(ff.uses) for ff in (facts.main, *facts.headers))
        rows.append((os.path.relpath(src, ws.tree), facts.stats["parse"], facts.stats["walk"], idx_s, fld_s, n,
                     uses, walked_uses))
        del tu
    print(f"{'TU':44} {'parse s':>8} {'walk s':>7} {'index s':>8} {'+field s':>8} {'callbacks':>9} "
          f"{'uses idx':>8} {'uses walk':>9}")
    for r in rows:
        print(f"{r[0][:44]:44} {r[1]:8.3f} {r[2]:7.3f} {r[3]:8.3f} {r[4]:8.3f} {r[5]:9d} {r[6]:8d} {r[7]:9d}")
    if rows:
        tot = [sum(r[i] for r in rows) for i in range(1, 8)]
        print(f"{'total, ' + str(len(rows)) + ' TUs':44} {tot[0]:8.2f} {tot[1]:7.2f} {tot[2]:8.2f} {tot[3]:8.2f} "
              f"{int(tot[4]):9d} {int(tot[5]):8d} {int(tot[6]):9d}")
        print(f"median index / walk: {statistics.median(r[3] / r[2] for r in rows if r[2]):.2f}; "
              f"+field / walk: {statistics.median(r[4] / r[2] for r in rows if r[2]):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
