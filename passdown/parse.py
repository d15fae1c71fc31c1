"""libclang: one translation unit in, plain facts out.

This is the only module that imports ``clang.cindex``.  Walking every cursor
of a kernel TU in Python costs several times the parse (260-360 k cursors,
most of them in headers), so only two things are walked:

* top-level declarations whose location is in the main file;
* definitions in tree headers (``static inline`` helpers) and prototypes,
  once per header: the caller passes the headers whose facts it already has.

Fields are matched by the field declaration itself, never by names: a member
reference's FieldDecl is climbed through anonymous structs/unions (Linux 6.1
keeps ``page->mapping`` in an anonymous struct inside an anonymous union) to
the named record.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import re
import time
from typing import Iterable

from . import facts as F
from .errors import LibclangError

try:
    import clang.cindex as ci
except ImportError:  # pragma: no cover - exercised only on a broken install
    ci = None

LIBCLANG_PIN = "18.1.1"
KEEP_GOING = 0x200  # CXTranslationUnit_KeepGoing, not wrapped by cindex 18
DETAILED = 0x01  # CXTranslationUnit_DetailedPreprocessingRecord

_index = None
_lib = None
_BINOPS: dict[int, str] = {}
_UNOPS: dict[int, str] = {}


def libclang_version() -> str:
    """The libclang version string; raises LibclangError when it cannot be loaded."""
    _setup()
    return _version


_version = ""


class _RangeList(ctypes.Structure):
    _fields_ = [("count", ctypes.c_uint), ("ranges", ctypes.c_void_p)]


def _setup() -> None:
    global _index, _lib, _version
    if _index is not None:
        return
    if ci is None:
        raise LibclangError(
            "the Python package 'libclang' is not installed; run 'pip install libclang==%s'" % LIBCLANG_PIN
        )
    try:
        _index = ci.Index.create()
        _lib = ci.conf.lib
        _lib.clang_getClangVersion.restype = ci._CXString
        _lib.clang_getClangVersion.argtypes = []
        _version = ci._CXString.from_result(_lib.clang_getClangVersion())
    except Exception as err:  # noqa: BLE001 - any load failure is the same to the user
        raise LibclangError(f"cannot load libclang ({err}); run 'pip install libclang=={LIBCLANG_PIN}'") from None
    if f"version {LIBCLANG_PIN.split('.')[0]}." not in _version:
        raise LibclangError(
            f"libclang is '{_version}', passdown needs {LIBCLANG_PIN}; run 'pip install libclang=={LIBCLANG_PIN}'"
        )
    for name, restype, argtypes in (
        ("clang_getFileLocation", None, None),
        ("clang_getExpansionLocation", None, None),
        ("clang_getCursorBinaryOperatorKind", ctypes.c_int, [ci.Cursor]),
        ("clang_getCursorUnaryOperatorKind", ctypes.c_int, [ci.Cursor]),
        ("clang_getBinaryOperatorKindSpelling", ci._CXString, [ctypes.c_int]),
        ("clang_getUnaryOperatorKindSpelling", ci._CXString, [ctypes.c_int]),
        ("clang_getSkippedRanges", ctypes.POINTER(_RangeList), [ci.TranslationUnit, ci.File]),
        ("clang_disposeSourceRangeList", None, [ctypes.POINTER(_RangeList)]),
    ):
        fn = getattr(_lib, name)
        if restype is not None:
            fn.restype = restype
            fn.argtypes = argtypes
    # Kind 0 is "invalid" and crashes the spelling functions.
    for n in range(1, 34):
        _BINOPS[n] = ci._CXString.from_result(_lib.clang_getBinaryOperatorKindSpelling(n))
    for n in range(1, 15):
        _UNOPS[n] = ci._CXString.from_result(_lib.clang_getUnaryOperatorKindSpelling(n))


_acc: list = []
_VISIT = None  # one ctypes callback for every clang_visitChildren call


def _visitor(child, parent, data):
    _acc.append(child)
    return 1  # CXChildVisit_Continue


def _kids(cursor) -> list:
    """A cursor's children: Cursor.get_children() without its per-child
    null-cursor assertion (two ctypes calls per child) and per-call callback."""
    global _acc, _VISIT
    if _VISIT is None:
        _VISIT = ci.callbacks["cursor_visit"](_visitor)
    _acc = out = []
    _lib.clang_visitChildren(cursor, _VISIT, None)
    tu = cursor._tu
    for k in out:
        k._tu = tu  # keeps the TU alive, as cindex does
    return out


# File names by libclang file handle, for the TU being walked (parse_tu clears it):
# asking libclang for the name of a file costs a string conversion each time, and a
# walk asks ~40,000 times per TU for a few hundred files.
_names: dict[int, str] = {}


def _file_name(f: ctypes.c_void_p) -> str | None:
    key = f.value
    if not key:
        return None
    name = _names.get(key)
    if name is None:
        name = _names[key] = ci.File(ctypes.cast(f, ci.c_object_p)).name
    return name


def _file_loc(loc) -> tuple[str | None, int, int, int]:
    """Where a location is written in a file: macro arguments resolve to the
    argument's own text, macro bodies to the invocation (clang's getFileLoc)."""
    f = ctypes.c_void_p()
    line, col, off = ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint()
    _lib.clang_getFileLocation(loc, ctypes.byref(f), ctypes.byref(line), ctypes.byref(col), ctypes.byref(off))
    return _file_name(f), line.value, col.value, off.value


def _expansion_file(loc) -> str | None:
    """The file of a location's expansion point (``SourceLocation.file``), by name."""
    f = ctypes.c_void_p()
    _lib.clang_getExpansionLocation(loc, ctypes.byref(f), None, None, None)
    return _file_name(f)


@functools.lru_cache(maxsize=65536)
def _norm(path: str) -> str:
    return os.path.normpath(path)


def sha_of(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


_IDENT = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
_WRAPPERS = None  # filled lazily: kinds that do not change what an expression denotes


class _FileWalker:
    """Collects the facts of one file (main file or header)."""

    def __init__(self, path: str, data: bytes, fields: dict[tuple[str, str], str]):
        self.path = path
        self.data = data
        self.fields = fields
        self.functions: list[F.Function] = []
        self.calls: list[F.Call] = []
        self.ops: list[F.OpsInit] = []
        self.refs: list[F.FuncRef] = []
        self.uses: dict[tuple[int, str], F.FieldUse] = {}
        self.skipped: list[F.SkippedUse] = []
        self.has_skipped_ranges = False
        self.decls: dict[tuple[str, str], F.Decl] = {}
        self.members = {m for _, m in fields}
        self.seen: set[int] = set()  # offsets where libclang saw any field named like a watched member
        # A direct callee's key and its parameters' callback keys, by declaration: a
        # kernel file calls the same few helpers (spin_lock, kfree, ...) again and again.
        self.callees: dict[object, tuple[str, tuple[str | None, ...]]] = {}

    def note_decl(self, kind: str, key: str, decl) -> None:
        if (kind, key) in self.decls or decl is None:
            return
        fname, line, _, off = _file_loc(decl.location)
        if fname:
            self.decls[(kind, key)] = F.Decl(kind, key, _norm(fname), line, off)

    def note_callback(self, t) -> str | None:
        """callback_key(t), remembering where a typedef'd callback is declared."""
        key = callback_key(t)
        if key:
            self.note_decl("callback", key, _callback_decl(t))
        return key

    def callee(self, ref) -> tuple[str, tuple[str | None, ...]]:
        """fkey(ref) and note_callback() of each of its parameter types."""
        hit = self.callees.get(ref)  # by the cursor: equal cursors, not just equal hashes
        if hit is None:
            try:
                types = list(ref.type.argument_types())
            except Exception:  # noqa: BLE001 - K&R or variadic declarations
                types = []
            hit = self.callees[ref] = (fkey(ref), tuple(self.note_callback(t) for t in types))
        return hit

    # -- text helpers ---------------------------------------------------
    def ident_at(self, offset: int) -> str:
        m = _IDENT.match(self.data, offset)
        return m.group().decode() if m else ""

    def text(self, start: int, end: int) -> str:
        return self.data[start:end].decode(errors="replace")

    def extent(self, cursor) -> tuple[int, int] | None:
        """File offsets of a cursor spelled in this file (None if elsewhere)."""
        ext = cursor.extent
        f1, _, _, s = _file_loc(ext.start)
        f2, _, _, e = _file_loc(ext.end)
        if f1 is None or _norm(f1) != self.path or f2 != f1 or e < s:
            return None
        return s, e

    def facts(self) -> F.FileFacts:
        uses = sorted(self.uses.values(), key=lambda u: (u.offset, u.field))
        return F.FileFacts(
            path=self.path,
            sha=sha_of(self.data),
            functions=tuple(self.functions),
            calls=tuple(self.calls),
            ops=tuple(self.ops),
            refs=tuple(self.refs),
            uses=tuple(uses),
            skipped=tuple(self.skipped),
            has_skipped_ranges=self.has_skipped_ranges,
            decls=tuple(self.decls.values()),
        )


def _kinds():
    global _WRAPPERS
    if _WRAPPERS is None:
        K = ci.CursorKind
        _WRAPPERS = {K.UNEXPOSED_EXPR, K.PAREN_EXPR, K.CSTYLE_CAST_EXPR}
    return ci.CursorKind


def _strip(c):
    """Skip implicit casts, parentheses and explicit casts."""
    K = _kinds()
    while c is not None and c.kind in _WRAPPERS:
        kids = _kids(c)
        if not kids:
            return c
        # A C cast's operand is its last child; the first ones spell the type.
        c = kids[-1]
    return c


def _object_of(member_expr):
    """The object a member expression is applied to, skipping the implicit
    member expressions clang inserts for anonymous structs and unions."""
    obj = next(iter(_kids(member_expr)), None)
    while obj is not None and obj.kind == ci.CursorKind.MEMBER_REF_EXPR and (
        not obj.spelling or "(anonymous" in obj.spelling
    ):
        obj = next(iter(_kids(obj)), None)
    return obj


def _named_record(field_decl):
    """The named struct/union a FieldDecl belongs to, climbing anonymous records."""
    parent = field_decl.semantic_parent
    while parent is not None and parent.kind in (ci.CursorKind.STRUCT_DECL, ci.CursorKind.UNION_DECL):
        if not parent.is_anonymous():
            return parent.spelling
        parent = parent.semantic_parent
    return None


def _record_name(field_decl) -> str:
    return _named_record(field_decl) or "?"


def _unwrap_type(t):
    while t.kind == ci.TypeKind.ELABORATED:
        t = t.get_named_type()
    return t


def callback_key(t) -> str | None:
    """'writepage_t' for a typedef'd function pointer (or pointer to a typedef'd
    function type, like filler_t *, or a parameter of such a type), '' for a
    plain function pointer, None otherwise."""
    t = _unwrap_type(t)
    FN = (ci.TypeKind.FUNCTIONPROTO, ci.TypeKind.FUNCTIONNOPROTO)
    canon = t.get_canonical()
    if t.kind == ci.TypeKind.TYPEDEF and canon.kind in FN:
        # A parameter declared with a function typedef (`filler_t filler`, the
        # read_cache_page() callbacks): C adjusts it to a pointer, libclang
        # reports the type as written.
        return t.get_declaration().spelling
    if canon.kind != ci.TypeKind.POINTER or canon.get_pointee().kind not in FN:
        return None
    if t.kind == ci.TypeKind.TYPEDEF:
        return t.get_declaration().spelling
    if t.kind == ci.TypeKind.POINTER:
        pointee = _unwrap_type(t.get_pointee())
        if pointee.kind == ci.TypeKind.TYPEDEF:
            return pointee.get_declaration().spelling
    return ""


def _callback_decl(t):
    t = _unwrap_type(t)
    if t.kind == ci.TypeKind.POINTER:
        t = _unwrap_type(t.get_pointee())
    return t.get_declaration() if t.kind == ci.TypeKind.TYPEDEF else None


def _storage(cursor) -> str:
    sc = cursor.storage_class
    if sc == ci.StorageClass.STATIC:
        return "static"
    if sc == ci.StorageClass.EXTERN:
        return "extern"
    return "none"


def fkey(cursor) -> str:
    """A function's key: its USR, with the declaring file appended for
    internal-linkage functions, whose USR names only the file's basename
    (every fs/*/inode.c would otherwise share `static` names)."""
    usr = cursor.get_usr()
    if usr.startswith("c:") and not usr.startswith("c:@"):
        f = _expansion_file(cursor.location)
        if f is not None:
            usr = f"{usr}@{_norm(f)}"
    return usr


def _is_null(fw: "_FileWalker", c) -> bool:
    """A literal NULL, 0 or (void *)0, as written at the use (macros included)."""
    c = _strip(c)
    if c is None:
        return False
    if c.kind == ci.CursorKind.GNU_NULL_EXPR:
        return True
    if c.kind != ci.CursorKind.INTEGER_LITERAL:
        return False
    fname, _, _, off = _file_loc(c.location)
    if fname is None or _norm(fname) != fw.path:
        return False
    return re.match(rb"(NULL|0[uUlL]*)\b", fw.data[off:off + 8]) is not None


class _FunctionWalker:
    """Walks one function body (or one file-scope initializer)."""

    def __init__(self, fw: _FileWalker, usr: str | None, params: list, holder: str | None = None):
        self.fw = fw
        self.usr = usr
        self.holder = usr or holder  # who takes a function's address here
        self.param_index = {p.hash: i for i, p in enumerate(params)}
        self.param_cb = {}
        self.locals: list[F.Local] = []
        self.assigns: list[F.Assign] = []
        self.handled_refs: set[int] = set()

    # -- helpers ----------------------------------------------------------
    def rhs(self, expr) -> F.Rhs:
        K = ci.CursorKind
        text = ""
        ext = self.fw.extent(expr)
        if ext:
            text = self.fw.text(*ext)
        else:  # written in a macro body: the extent of the invocation
            _, _, _, s0 = _file_loc(expr.extent.start)
            _, _, _, e0 = _file_loc(expr.extent.end)
            ext = (s0, max(s0, e0))
        return self._rhs(expr, text, ext)

    def _rhs(self, expr, text: str, ext: tuple[int, int]) -> F.Rhs:
        K = ci.CursorKind
        Rhs = functools.partial(F.Rhs, start=ext[0], end=ext[1])
        c = _strip(expr)
        # READ_ONCE(x): *(volatile typeof(x) *)&(x) is a read of x.
        while c is not None and c.kind == K.UNARY_OPERATOR \
                and _UNOPS.get(_lib.clang_getCursorUnaryOperatorKind(c)) == "*":
            inner = _strip(next(iter(_kids(c)), None))
            if inner is None or inner.kind != K.UNARY_OPERATOR \
                    or _UNOPS.get(_lib.clang_getCursorUnaryOperatorKind(inner)) != "&":
                break
            c = _strip(next(iter(_kids(inner)), None))
        if c is None:
            return Rhs("other", "", text)
        if _is_null(self.fw, c):
            return Rhs("null", "", text)
        if c.kind == K.DECL_REF_EXPR:
            ref = c.referenced
            if ref is None:
                return Rhs("other", "", text)
            if ref.kind == K.FUNCTION_DECL:
                self.handled_refs.add(c.hash)
                return Rhs("function", fkey(ref), text)
            if ref.kind == K.PARM_DECL and ref.hash in self.param_index:
                return Rhs("param", str(self.param_index[ref.hash]), text)
            if ref.kind == K.VAR_DECL and ref.semantic_parent is not None and ref.semantic_parent.kind == K.FUNCTION_DECL:
                return Rhs("local", ref.spelling, text)
            return Rhs("other", ref.spelling, text)
        if c.kind == K.MEMBER_REF_EXPR:
            ref = c.referenced
            if ref is not None and ref.kind == K.FIELD_DECL:
                key = f"{_record_name(ref)}.{ref.spelling}"
                kind = "field" if (_named_record(ref), ref.spelling) in self.fw.fields else "member"
                return Rhs(kind, key, text)
        return Rhs("other", "", text)

    # -- the walk ---------------------------------------------------------
    def walk(self, root) -> None:
        K = _kinds()
        # Compared by number: Cursor.kind builds a CursorKind for every node.
        member_expr, member, call = K.MEMBER_REF_EXPR.value, K.MEMBER_REF.value, K.CALL_EXPR.value
        decl_ref, var, binary = K.DECL_REF_EXPR.value, K.VAR_DECL.value, K.BINARY_OPERATOR.value
        # Kinds that never have children in C: no need to ask libclang (a third of all nodes).
        leaves = {k.value for k in (K.DECL_REF_EXPR, K.INTEGER_LITERAL, K.FLOATING_LITERAL, K.CHARACTER_LITERAL,
                                    K.STRING_LITERAL, K.TYPE_REF, K.LABEL_REF, K.MEMBER_REF, K.BREAK_STMT,
                                    K.CONTINUE_STMT, K.NULL_STMT)}
        stack = [(root, 0)]
        path: list = []
        while stack:
            c, depth = stack.pop()
            del path[depth:]
            kind = c._kind_id
            if kind == member_expr or kind == member:
                self.member_ref(c, path)
            elif kind == call:
                self.call(c)
            elif kind == decl_ref:
                self.decl_ref(c)
            elif kind == var:
                self.local(c, path)
            elif kind == binary:
                self.binary(c, path)
            if kind in leaves:
                continue
            path.append(c)
            kids = _kids(c)
            for child in reversed(kids):
                stack.append((child, depth + 1))

    def member_ref(self, c, path) -> None:
        ref = c.referenced
        if ref is None or ref.kind != ci.CursorKind.FIELD_DECL:
            return
        if ref.spelling not in self.fw.members:
            return
        fname, line, col, off = _file_loc(c.location)
        if fname is None or _norm(fname) != self.fw.path:
            return
        self.fw.seen.add(off)
        key = (_named_record(ref), ref.spelling)
        if key not in self.fw.fields:
            return
        K = ci.CursorKind
        if c.kind == K.MEMBER_REF:  # offsetof / container_of designator
            access, compare = "address", False
        else:
            verdict = _classify(c, path)
            if verdict is None:  # spelled in a type (typeof): not evaluated
                return
            access, compare = verdict
        word = self.fw.ident_at(off)
        macro = None if word == ref.spelling else word
        ext = self.fw.extent(c) if macro is None else None
        start, end = ext if ext else (off, off + len(word))
        base = ""
        if c.kind == K.MEMBER_REF_EXPR and macro is None:
            obj = _object_of(c)
            bext = self.fw.extent(obj) if obj is not None else None
            if bext:
                base = self.fw.text(*bext)
        use = F.FieldUse(
            field=self.fw.fields[key],
            line=line,
            column=col,
            offset=off,
            function=self.usr,
            access=access,
            compare=compare,
            macro=macro,
            expr_start=start,
            expr_end=end,
            base=base,
        )
        old = self.fw.uses.get((off, use.field))
        if old is None or _rank(use) > _rank(old):
            self.fw.uses[(off, use.field)] = use

    def call(self, c) -> None:
        K = ci.CursorKind
        kids = _kids(c)
        if not kids:
            return
        callee = _strip(kids[0])
        ref = c.referenced
        if ref is None and callee is not None and callee.kind == K.UNARY_OPERATOR:
            # (*fn)(args): a call through an explicitly dereferenced pointer
            callee = _strip(next(iter(_kids(callee)), None))
            ref = callee.referenced if callee is not None else None
        kind, target, name, base, cb = "unknown", "", c.spelling, "", None
        if callee is not None and callee.kind == K.DECL_REF_EXPR:
            self.handled_refs.add(callee.hash)
        param_cbs: tuple[str | None, ...] = ()
        if ref is not None and ref.kind == K.FUNCTION_DECL:
            target, param_cbs = self.fw.callee(ref)
            kind = "direct"
        elif ref is not None and ref.kind == K.FIELD_DECL:
            kind, target = "member", f"{_record_name(ref)}.{ref.spelling}"
            self.fw.note_decl("member", target, ref)
            if callee is not None and callee.kind == K.MEMBER_REF_EXPR:
                obj = _object_of(callee)
                bext = self.fw.extent(obj) if obj is not None else None
                base = self.fw.text(*bext) if bext else ""
        elif ref is not None and ref.kind == K.PARM_DECL and ref.hash in self.param_index:
            kind, target = "param", str(self.param_index[ref.hash])
            cb = self.fw.note_callback(ref.type)
        elif ref is not None and ref.kind == K.VAR_DECL:
            local = ref.semantic_parent is not None and ref.semantic_parent.kind == K.FUNCTION_DECL
            kind, target = ("local" if local else "global"), ref.spelling
            cb = callback_key(ref.type)
        fname, line, col, off = _file_loc(c.location)
        # Written in a macro body? Look at where the callee's name is written:
        # the member name for ops calls, the function or variable name otherwise.
        macro = None
        if callee is not None and callee.kind in (K.DECL_REF_EXPR, K.MEMBER_REF_EXPR):
            cname, cline, ccol, coff = _file_loc(callee.location)
            word = self.fw.ident_at(coff)
            if word != callee.spelling:
                macro = word or None
            else:
                line, col = cline, ccol
        ext = self.fw.extent(c)
        start, end = ext if ext else (off, off)
        args = []
        for i, a in enumerate(kids[1:]):
            aext = self.fw.extent(a) if macro is None else None
            text = self.fw.text(*aext) if aext else ""
            s, e = aext if aext else (start, start)
            inner = _strip(a)
            fn = member = local = None
            pcb = param_cbs[i] if i < len(param_cbs) else None
            if inner is not None and inner.kind == K.UNARY_OPERATOR:  # &func
                ik = _kids(inner)
                if ik and _UNOPS.get(_lib.clang_getCursorUnaryOperatorKind(inner)) == "&":
                    inner = _strip(ik[0])
            if inner is not None and inner.kind == K.DECL_REF_EXPR:
                r = inner.referenced
                if r is not None and r.kind == K.FUNCTION_DECL:
                    fn = fkey(r)
                    self.handled_refs.add(inner.hash)
                    self.fw.refs.append(
                        F.FuncRef(fn, "arg", self.holder, inner.location.line, s, callback=pcb,
                                  call_kind=kind, call_target=target, index=i)
                    )
                elif r is not None and r.kind == K.VAR_DECL and r.semantic_parent is not None \
                        and r.semantic_parent.kind == K.FUNCTION_DECL:
                    local = r.spelling
            elif inner is not None and inner.kind == K.MEMBER_REF_EXPR and pcb is not None:
                r = inner.referenced
                if r is not None and r.kind == K.FIELD_DECL:
                    member = f"{_record_name(r)}.{r.spelling}"
            args.append(F.Arg(s, e, text, _is_null(self.fw, a), fn, member, local, pcb))
        if self.usr is None:
            return
        self.fw.calls.append(
            F.Call(self.usr, kind, target, name, line, col, start, end, tuple(args), base, cb, macro)
        )

    def decl_ref(self, c) -> None:
        if c.hash in self.handled_refs:
            return
        ref = c.referenced
        if ref is None or ref.kind != ci.CursorKind.FUNCTION_DECL:
            return
        _, line, _, off = _file_loc(c.location)
        self.fw.refs.append(F.FuncRef(fkey(ref), "address", self.holder, line, off))

    def local(self, c, path) -> None:
        if self.usr is None:
            return
        block = next((p for p in reversed(path) if p.kind in (ci.CursorKind.COMPOUND_STMT, ci.CursorKind.FOR_STMT)), None)
        bext = self.fw.extent(block) if block is not None else None
        init = None
        kids = [k for k in _kids(c) if k.kind.is_expression()]
        if kids:
            init = self.rhs(kids[-1])
            self.note_copy(c.spelling, init, c)
        _, line, _, off = _file_loc(c.location)
        ext = self.fw.extent(c)
        self.locals.append(
            F.Local(c.spelling, c.type.spelling, c.type.get_canonical().spelling,
                    ext[0] if ext else off, line, init, callback_key(c.type), bext[1] if bext else 0)
        )

    def note_copy(self, name: str, rhs: F.Rhs, at) -> None:
        if rhs.kind == "function":
            _, line, _, off = _file_loc(at.location)
            self.fw.refs.append(F.FuncRef(rhs.ref, "local", self.usr, line, off, local=name))

    def binary(self, c, path) -> None:
        if _BINOPS.get(_lib.clang_getCursorBinaryOperatorKind(c)) != "=":
            return
        kids = _kids(c)
        if len(kids) != 2:
            return
        K = ci.CursorKind
        lhs = _strip(kids[0])
        if lhs is None:
            return
        if lhs.kind == K.DECL_REF_EXPR and self.usr is not None:
            ref = lhs.referenced
            if ref is None or ref.kind != K.VAR_DECL:
                return
            rhs = self.rhs(kids[1])
            _, line, _, off = _file_loc(c.location)
            if ref.semantic_parent is not None and ref.semantic_parent.kind == K.FUNCTION_DECL:
                self.assigns.append(F.Assign(ref.spelling, off, line, rhs, _conditional(path)))
                self.note_copy(ref.spelling, rhs, c)
            elif rhs.kind == "function":
                # A function stored into a global at run time: it lives in the variable.
                self.fw.refs.append(F.FuncRef(rhs.ref, "address", self.holder, line, off,
                                              stored_in=f"var:{ref.spelling}"))
        elif lhs.kind == K.MEMBER_REF_EXPR:
            ref = lhs.referenced
            if ref is None or ref.kind != K.FIELD_DECL or callback_key(ref.type) is None:
                return
            rhs = self.rhs(kids[1])
            if rhs.kind == "function":
                _, line, _, off = _file_loc(c.location)
                self.fw.ops.append(
                    F.OpsInit(_record_name(ref), ref.spelling, rhs.ref, self.usr or "", line, off, "assign")
                )
                self.fw.note_decl("member", f"{_record_name(ref)}.{ref.spelling}", ref)
                # Stored at run time: the address escapes as well.
                self.fw.refs.append(F.FuncRef(rhs.ref, "address", self.holder, line, off))


def _conditional(path) -> bool:
    """Is the innermost statement on *path* only sometimes executed?"""
    K = ci.CursorKind
    for p in path:
        k = p.kind
        if k in (K.IF_STMT, K.FOR_STMT, K.WHILE_STMT, K.DO_STMT, K.SWITCH_STMT, K.CASE_STMT,
                 K.DEFAULT_STMT, K.CONDITIONAL_OPERATOR, K.LABEL_STMT):
            return True
        if k == K.BINARY_OPERATOR and _BINOPS.get(_lib.clang_getCursorBinaryOperatorKind(p)) in ("&&", "||"):
            return True
    return False


def _rank(use: F.FieldUse) -> int:
    return {"read": 0, "address": 1, "write": 2}[use.access]


def _classify(node, path) -> tuple[str, bool] | None:
    """read/write/address and whether the value is compared, from the ancestors."""
    K = ci.CursorKind
    child = node
    i = len(path) - 1
    while i >= 0:
        p = path[i]
        k = p.kind
        if k in _WRAPPERS:
            if k == K.CSTYLE_CAST_EXPR:
                kids = _kids(p)
                if kids and kids[-1] != child:
                    return None  # inside the cast's type: typeof(x)
            child, i = p, i - 1
            continue
        if k == K.UNARY_OPERATOR:
            op = _UNOPS.get(_lib.clang_getCursorUnaryOperatorKind(p))
            if op == "&":
                j = i - 1
                while j >= 0 and path[j].kind in _WRAPPERS:
                    j -= 1
                if j >= 0 and path[j].kind == K.UNARY_OPERATOR and \
                        _UNOPS.get(_lib.clang_getCursorUnaryOperatorKind(path[j])) == "*":
                    # *(T *)&x (READ_ONCE/WRITE_ONCE): the access is to x itself.
                    child, i = path[j], j - 1
                    continue
                return "address", False
            if op == "!":
                return "read", True
            if op in ("++", "--"):
                return "write", False
            return "read", False
        if k in (K.BINARY_OPERATOR, K.COMPOUND_ASSIGNMENT_OPERATOR):
            op = _BINOPS.get(_lib.clang_getCursorBinaryOperatorKind(p), "")
            first = next(iter(_kids(p)), None)
            if op.endswith("=") and op not in ("==", "!=", "<=", ">=") and first == child:
                return "write", False
            return "read", op in ("==", "!=")
        if k in (K.IF_STMT, K.WHILE_STMT, K.CONDITIONAL_OPERATOR):
            first = next(iter(_kids(p)), None)
            return "read", first == child
        if k == K.DO_STMT:
            kids = _kids(p)
            return "read", bool(kids) and kids[-1] == child
        return "read", False
    return "read", False


# -- skipped ranges -------------------------------------------------------------

_DIRECTIVE = re.compile(rb"^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif)\b", re.M)


def _may_hide(data: bytes, members: Iterable[str]) -> bool:
    """Cheap test: is a member name written inside a conditional block?

    Skipped ranges need libclang's detailed preprocessing record, which makes
    the walk several times slower; only files that could hide a use pay it.
    """
    pat = re.compile(rb"(->|\.)\s*(" + b"|".join(re.escape(m.encode()) for m in sorted(members)) + rb")\b")
    hits = [m.start() for m in pat.finditer(data)]
    if not hits:
        return False
    depth, spans, start = 0, [], 0
    for d in _DIRECTIVE.finditer(data):
        word = d.group(1)
        if word in (b"if", b"ifdef", b"ifndef"):
            if depth == 0:
                start = d.start()
            depth += 1
        elif word == b"endif" and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append((start, d.start()))
    if depth > 0:
        spans.append((start, len(data)))
    return any(s <= h < e for h in hits for s, e in spans)


def _skipped(tu, fw: _FileWalker, members: set[str]) -> None:
    f = tu.get_file(fw.path)
    ranges = _lib.clang_getSkippedRanges(tu, f)
    try:
        lst = ranges.contents
        arr = ctypes.cast(lst.ranges, ctypes.POINTER(ci.SourceRange))
        spans = [(arr[i].start.offset, arr[i].end.offset) for i in range(lst.count)]
    finally:
        _lib.clang_disposeSourceRangeList(ranges)
    fw.has_skipped_ranges = True
    pat = re.compile(rb"(->|\.)\s*(" + b"|".join(re.escape(m.encode()) for m in sorted(members)) + rb")\b")
    for s, e in spans:
        for m in pat.finditer(fw.data, s, e):
            off = m.start(2)
            line = fw.data.count(b"\n", 0, off) + 1
            col = off - (fw.data.rfind(b"\n", 0, off) + 1) + 1
            bol = fw.data.rfind(b"\n", 0, off) + 1
            eol = fw.data.find(b"\n", off)
            text = fw.data[bol: eol if eol >= 0 else len(fw.data)].decode(errors="replace").strip()
            if _in_comment(fw.data, bol, off):
                continue
            fw.skipped.append(F.SkippedUse(m.group(2).decode(), line, col, text))


def _in_comment(data: bytes, bol: int, off: int) -> bool:
    head = data[bol:off]
    return b"//" in head or (head.lstrip().startswith(b"*") and b"*/" not in head) or b"/*" in head


_NOISE = re.compile(rb'/\*.*?\*/|//(?:[^\n\\]|\\.)*|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'', re.S)
_DEFINE_LINE = re.compile(rb"^[ \t]*#[ \t]*define\b(?:[^\n]*\\\r?\n)*[^\n]*", re.M)


def _unseen(fw: _FileWalker) -> None:
    """``->member``/``.member`` written in the file where libclang saw no field
    reference at all: a macro argument the preprocessor drops under this config
    (``f2fs_bug_on(sbi, cond)`` is ``BUG_ON(cond)`` with CONFIG_F2FS_CHECK_FS).
    Listed with the skipped uses: found by text, not analysed.  Macro
    definitions do not count (their uses are found where they are invoked)."""
    members = sorted(fw.members)
    if not any(m.encode() in fw.data for m in members):
        return
    clean = _NOISE.sub(lambda m: re.sub(rb"[^\n]", b" ", m.group()), fw.data)
    clean = _DEFINE_LINE.sub(lambda m: re.sub(rb"[^\n]", b" ", m.group()), clean)
    pat = re.compile(rb"(->|\.)\s*(" + b"|".join(re.escape(m.encode()) for m in members) + rb")\b")
    done = {(s.line, s.column) for s in fw.skipped}
    for m in pat.finditer(clean):
        off = m.start(2)
        if off in fw.seen:
            continue
        bol = fw.data.rfind(b"\n", 0, off) + 1
        line = fw.data.count(b"\n", 0, off) + 1
        col = off - bol + 1
        if (line, col) in done:
            continue
        eol = fw.data.find(b"\n", off)
        text = fw.data[bol: eol if eol >= 0 else len(fw.data)].decode(errors="replace").strip()
        fw.skipped.append(F.SkippedUse(m.group(2).decode(), line, col, text))


# -- the TU -----------------------------------------------------------------------


def parse_tu(
    source: str,
    args: tuple[str, ...],
    tree: str,
    fields: tuple[F.FieldSpec, ...],
    skip_headers: frozenset[str] = frozenset(),
    exclude: tuple[str, ...] = (),
    focus: bytes | None = None,
    pch: tuple[str, tuple[str, ...]] | None = None,
    save_pch: str | None = None,
) -> F.TUFacts:
    """Parse one TU and return its facts.

    Headers under *tree* (but not under any *exclude* directory, such as a
    kbuild output dir) whose path is not in *skip_headers* are walked too, and
    their facts returned in ``headers``.

    *focus* (a regular expression over the source bytes) limits the walk to
    the function definitions whose text matches it: the others are left out
    of the facts entirely.  A report's walk: its uses can only be in
    functions that spell the member, or a macro that expands to it.

    *pch* is ``(file, headers)``: parse with that precompiled header (see
    pch.py).  Only the TU's own declarations are walked (the PCH's come from
    the TU that built it); *headers*, the files the PCH read, count as read.
    *save_pch*: the source is a header; save it as a PCH to that path.
    """
    _setup()
    t0 = time.perf_counter()
    c0 = time.process_time()  # wall times above include waiting for a core on a busy machine
    field_map = {(f.struct, f.member): f"{f.struct}.{f.member}" for f in fields}
    members = {f.member for f in fields}
    source = os.path.normpath(source)
    try:
        data = open(source, "rb").read()
    except OSError as err:
        return F.TUFacts(source, None, error=f"cannot read: {err.strerror}")
    options = KEEP_GOING
    need_skipped = _may_hide(data, members)
    if need_skipped:
        options |= DETAILED
    index = _index
    if pch is not None:
        index = _local_index()
        args = (*args, "-include-pch", pch[0], "-Xclang", "-fno-validate-pch")
        skip_headers = skip_headers | frozenset(pch[1])
    _names.clear()  # file handles belong to one TU
    try:
        tu = index.parse(source, list(args), options=options)
    except ci.TranslationUnitLoadError as err:
        return F.TUFacts(source, None, error=f"libclang could not parse it ({err})")
    t_parse = time.perf_counter()

    diagnostics = tuple(
        F.Diagnostic(
            "fatal" if d.severity >= 4 else "error",
            d.location.file.name if d.location.file else "",
            d.location.line,
            d.spelling,
        )
        for d in list(tu.diagnostics)[:50]
        if d.severity >= 3
    )
    main = _FileWalker(source, data, field_map)
    walkers: dict[str, _FileWalker | None] = {source: main}
    tree_prefix = os.path.normpath(tree) + os.sep
    excl = tuple(os.path.normpath(e) + os.sep for e in exclude)
    names: dict[str, str] = {}

    def walker_for(raw_name: str) -> _FileWalker | None:
        path = names.get(raw_name)
        if path is None:
            path = names[raw_name] = os.path.normpath(raw_name)
        if path in walkers:
            return walkers[path]
        w = None
        if path.startswith(tree_prefix) and not path.startswith(excl) and path not in skip_headers:
            try:
                w = _FileWalker(path, open(path, "rb").read(), field_map)
            except OSError:
                w = None
        walkers[path] = w
        return w

    K = _kinds()
    t_headers = 0.0  # of the walk, the part spent in headers' functions
    focus_re = re.compile(focus) if focus else None
    unfocused = 0
    wanted_kinds = {K.FUNCTION_DECL.value, K.VAR_DECL.value, K.STATIC_ASSERT.value}
    for top in _kids(tu.cursor):
        # The kind first: asking for a location is the costly part, and most
        # top-level cursors are header structs, typedefs and macro records.
        if top._kind_id not in wanted_kinds:
            continue
        kind = top.kind
        f = _expansion_file(top.location)
        if f is None:
            continue
        fw = walker_for(f)
        if fw is None:
            continue
        t1 = time.perf_counter()
        if focus_re is not None and kind == K.FUNCTION_DECL and top.is_definition():
            ext = fw.extent(top)
            if ext is not None and not focus_re.search(fw.data, ext[0], ext[1] + 1):
                unfocused += 1
                continue
        if kind == K.FUNCTION_DECL:
            _function(fw, top)
        elif kind == K.VAR_DECL:
            _global(fw, top)
        else:  # _Static_assert(offsetof(struct page, mapping) == ...)
            _FunctionWalker(fw, None, []).walk(top)
        if fw is not main:
            t_headers += time.perf_counter() - t1
    if need_skipped:
        _skipped(tu, main, members)
    for w in walkers.values():
        if w is not None:
            _unseen(w)
    t_walk = time.perf_counter()
    deps = sorted({os.path.normpath(i.include.name) for i in tu.get_includes()} | {source} | set(pch[1] if pch else ()))
    for d in deps:
        walker_for(d)  # a tree header with no functions is still covered by this TU
    headers = tuple(w.facts() for p, w in walkers.items() if w is not None and p != source)
    error = None
    if save_pch is not None:
        error = _save_pch(tu, save_pch, diagnostics)
    return F.TUFacts(
        source=source,
        main=main.facts(),
        headers=headers,
        deps=tuple(deps),
        diagnostics=diagnostics,
        error=error,
        seconds=time.perf_counter() - t0,
        stats={"parse": t_parse - t0, "walk": t_walk - t_parse, "walk_headers": t_headers,
               "cpu": time.process_time() - c0, "detailed": need_skipped, "unfocused": unfocused,
               "pch": pch is not None},
    )


_local = None


def _local_index():
    """An index whose TUs list only their own declarations, not those of
    their PCH: walking those would deserialise the whole PCH in every TU."""
    global _local
    if _local is None:
        _local = ci.Index.create(excludeDecls=True)
    return _local


def _save_pch(tu, path: str, diagnostics) -> str | None:
    """Save *tu* as a PCH at *path* (atomically); an error message if it cannot be used."""
    if diagnostics:
        return "the precompiled header has errors: " + diagnostics[0].message
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        tu.save(tmp)
        os.replace(tmp, path)
    except (ci.TranslationUnitSaveError, OSError) as err:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return f"cannot save the precompiled header ({err})"
    return None


def _function(fw: _FileWalker, c) -> None:
    K = ci.CursorKind
    params = [k for k in _kids(c) if k.kind == K.PARM_DECL]
    fparams = []
    for p in params:
        ext = fw.extent(p)
        s, e = ext if ext else (0, 0)
        fparams.append(F.Param(p.spelling, p.type.spelling, p.type.get_canonical().spelling, s, e,
                               fw.note_callback(p.type)))
    _, line, _, name_off = _file_loc(c.location)
    ext = fw.extent(c)
    start, end = ext if ext else (name_off, name_off)
    word = fw.ident_at(name_off)
    macro = None if word == c.spelling else word
    is_def = c.is_definition()
    fn_walker = _FunctionWalker(fw, fkey(c), params)
    if is_def:
        body = [k for k in _kids(c) if k.kind == K.COMPOUND_STMT]
        for b in body:
            fn_walker.walk(b)
    try:
        variadic = c.type.is_function_variadic()
    except Exception:  # noqa: BLE001 - K&R declarations have no prototype
        variadic = False
    fw.functions.append(
        F.Function(
            usr=fkey(c),
            name=c.spelling,
            line=line,
            start=start,
            end=end,
            name_offset=name_off,
            is_definition=is_def,
            storage=_storage(c),
            inline=c.is_inline() if hasattr(c, "is_inline") else False,
            variadic=variadic,
            return_type=c.result_type.spelling,
            params=tuple(fparams),
            locals=tuple(fn_walker.locals),
            assigns=tuple(fn_walker.assigns),
            macro=macro,
        )
    )


def _global(fw: _FileWalker, c) -> None:
    """File-scope variables: ops tables and other places a function's address goes."""
    K = ci.CursorKind
    walker = _FunctionWalker(fw, None, [], holder=f"var:{c.spelling}")
    for kid in _kids(c):
        if kid.kind == K.INIT_LIST_EXPR:
            _init_list(fw, walker, kid, c.spelling)
    for kid in _kids(c):
        if kid.kind.is_expression():
            walker.walk(kid)


def _init_list(fw: _FileWalker, walker: _FunctionWalker, init, var: str) -> None:
    K = ci.CursorKind
    decl = init.type.get_canonical().get_declaration()
    fields = [k for k in _kids(decl) if k.kind == K.FIELD_DECL] if decl is not None else []
    pos = 0
    for item in _kids(init):
        member = None
        value = item
        if item.kind == K.UNEXPOSED_EXPR:  # designated: .member = value
            kids = _kids(item)
            designators = [k for k in kids if k.kind == K.MEMBER_REF]
            if designators:
                member = designators[-1].referenced
                value = kids[-1]
                if member is not None and member in fields:
                    pos = fields.index(member)
        if member is None and pos < len(fields):
            member = fields[pos]
        pos += 1
        inner = _strip(value)
        if inner is None:
            continue
        if inner.kind == K.INIT_LIST_EXPR:
            _init_list(fw, walker, inner, var)
            continue
        if inner.kind == K.UNARY_OPERATOR:
            ik = _kids(inner)
            if ik:
                inner = _strip(ik[0])
        if inner is not None and inner.kind == K.DECL_REF_EXPR and member is not None:
            ref = inner.referenced
            if ref is not None and ref.kind == K.FUNCTION_DECL:
                walker.handled_refs.add(inner.hash)
                _, line, _, off = _file_loc(inner.location)
                fw.ops.append(F.OpsInit(_record_name(member), member.spelling, fkey(ref), var, line, off))
                fw.note_decl("member", f"{_record_name(member)}.{member.spelling}", member)
