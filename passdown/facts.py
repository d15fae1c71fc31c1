"""Per-file facts extracted from one translation unit.

Plain frozen records (tuples with named fields, see ``record``): they cross process pools, go into the on-disk cache
and are the only thing the graph, the planner and the reports see.  Nothing in
here knows about libclang.

Positions are byte offsets into the file named by the enclosing ``FileFacts``
(``line``/``column`` are 1-based, the column counted in bytes, as gcc does), so
later edits can be applied to the original bytes without re-parsing.
"""

from __future__ import annotations

from dataclasses import field
from operator import itemgetter

_tuple_new = tuple.__new__
_MISSING = object()


def record(cls: type) -> type:
    """A frozen record kept as a tuple subclass, declared like a dataclass.

    Fields are read-only properties; construction takes the fields
    positionally or by keyword, with the declared defaults.  A record pickles
    as ``tuple.__new__(cls, fields)``, which the unpickler runs in C: a warm
    run unpickles millions of facts, and a slotted dataclass spent ~4 us per
    object in a Python ``__setstate__`` (about 10x the tuple).
    """
    names = tuple(cls.__dict__.get("__annotations__", {}))
    defaults: dict[str, object] = {}
    factories: dict[str, object] = {}
    for n in names:
        if n in cls.__dict__:
            v = cls.__dict__[n]
            if type(v).__name__ == "Field":  # dataclasses.field(default_factory=...)
                factories[n] = v.default_factory
            else:
                defaults[n] = v
    ns = {k: v for k, v in cls.__dict__.items()
          if k not in names and k not in ("__dict__", "__weakref__", "__annotations__")}
    ns["__slots__"] = ()
    ns["_fields"] = names
    for i, n in enumerate(names):
        ns[n] = property(itemgetter(i), doc=f"field {i}: {n}")
    params, body = [], []
    env = {"_tuple_new": _tuple_new, "_MISSING": _MISSING}
    for n in names:
        if n in defaults:
            env[f"_d_{n}"] = defaults[n]
            params.append(f"{n}=_d_{n}")
        elif n in factories:
            env[f"_f_{n}"] = factories[n]
            params.append(f"{n}=_MISSING")
            body.append(f"    if {n} is _MISSING: {n} = _f_{n}()")
        else:
            params.append(n)
    src = (f"def __new__(_cls, {', '.join(params)}):\n" + "".join(b + "\n" for b in body)
           + f"    return _tuple_new(_cls, ({', '.join(names)},))\n")
    exec(src, env)  # noqa: S102 - generated from the class's own field names
    ns["__new__"] = env["__new__"]

    def __reduce__(self):
        return (_tuple_new, (type(self), tuple(self)))

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{n}={v!r}' for n, v in zip(names, self))})"

    def _replace(self, **changes):
        return _tuple_new(type(self), tuple(changes.pop(n, v) for n, v in zip(names, self)))

    ns["__reduce__"] = __reduce__
    ns["__repr__"] = __repr__
    ns["_replace"] = _replace
    ns.setdefault("__doc__", cls.__doc__)
    new = type(cls.__name__, (tuple,), ns)
    new.__qualname__ = cls.__qualname__
    new.__module__ = cls.__module__
    return new


# A function is identified by its clang USR: static functions carry their file
# in the USR, so two `static int write_one_page()` in different files differ,
# and a `static inline` in a header has the same USR in every includer.
Usr = str


@record
class FieldSpec:
    """A struct member to look for, e.g. ``struct page`` . ``mapping``."""

    struct: str
    member: str

    def __str__(self) -> str:
        return f"struct {self.struct}.{self.member}"


@record
class Param:
    name: str  # "" for an unnamed prototype parameter
    type: str  # as written (typedefs kept)
    canonical: str  # typedefs resolved
    start: int  # byte extent of the whole declaration
    end: int
    callback: str | None = None  # callback type key when a function pointer


@record
class Rhs:
    """What a value comes from: the right-hand side of an assignment or initializer.

    kind: "function" (ref = USR), "member" (ref = "struct.member"), "param"
    (ref = index), "local" (ref = name), "field" (reads a watched field; ref =
    "struct.member"), "null", or "other".
    """

    kind: str
    ref: str
    text: str
    start: int = 0  # byte extent of the expression
    end: int = 0


@record
class Local:
    name: str
    type: str
    canonical: str
    offset: int  # declaration start
    line: int
    init: Rhs | None
    callback: str | None = None  # callback type key when a function pointer
    scope_end: int = 0  # end of the enclosing block: the local is visible until here


@record
class Assign:
    """``local = rhs`` inside a function body."""

    target: str  # local name
    offset: int
    line: int
    rhs: Rhs
    conditional: bool = False  # under an if/loop/switch/?:/&&/||: may not run


@record
class Arg:
    start: int
    end: int
    text: str  # as written; "" when the argument comes from a macro body
    is_null: bool  # a literal NULL / 0 / (void *)0
    function: Usr | None = None  # a function passed by name (a callback)
    member: str | None = None  # an ops member's value passed on: "struct.member"
    local: str | None = None  # a local variable passed on (see the caller's locals)
    callback: str | None = None  # the callee parameter's callback type key, if a function pointer


@record
class Call:
    """A call expression inside a function body.

    kind: "direct" (target = callee USR), "member" (target = "struct.member"),
    "param" (target = the parameter index in the caller), "local" (target = the
    local variable's name; see the caller's locals and assigns for what it
    holds), "global" (target = variable name) or "unknown".
    """

    caller: Usr
    kind: str
    target: str
    name: str  # callee spelling: function, member, parameter or variable name
    line: int
    column: int
    start: int  # byte extent of the whole call
    end: int
    args: tuple[Arg, ...]
    base: str = ""  # for member calls: the object expression, e.g. "mapping->a_ops"
    callback: str | None = None  # callback type key for param/local calls
    macro: str | None = None  # the call is written inside this macro's body


@record
class Function:
    usr: Usr
    name: str
    line: int
    start: int  # extent of the whole declaration/definition
    end: int
    name_offset: int
    is_definition: bool
    storage: str  # "static", "extern" or "none"
    inline: bool
    variadic: bool
    return_type: str
    params: tuple[Param, ...]
    locals: tuple[Local, ...] = ()
    assigns: tuple[Assign, ...] = ()
    macro: str | None = None  # declared by a macro expansion (generated code)


@record
class OpsInit:
    """A function stored into an ops-table member.

    kind "init" for a designated or positional initializer of a variable,
    "assign" for ``obj->member = fn`` at run time.
    """

    struct: str
    member: str
    function: Usr
    var: str  # the table variable, or the assigning function's USR
    line: int
    offset: int
    kind: str = "init"


@record
class FuncRef:
    """A function used other than by calling it directly.

    context: "arg" (passed as argument ``index`` of ``call_target``; callback
    is the parameter's callback type key when known), "local" (copied into
    local ``holder``), "address" (any other use: stored in a global, an array,
    a non-ops struct, compared...).
    """

    function: Usr
    context: str
    holder: Usr | None  # enclosing function, or "var:name" at file scope
    line: int
    offset: int
    callback: str | None = None
    call_kind: str | None = None
    call_target: str | None = None
    index: int | None = None
    local: str | None = None
    stored_in: str | None = None  # "var:name" when stored into a global at run time


@record
class FieldUse:
    """An access to a watched struct member (by default ``struct page``.``mapping``)."""

    field: str  # "page.mapping"
    line: int
    column: int
    offset: int  # where the member token (or the macro name) is written
    function: Usr | None
    access: str  # "read" | "write" | "address"
    compare: bool
    macro: str | None  # the member token is in this macro's body
    expr_start: int  # extent of the member expression, e.g. `page->mapping`
    expr_end: int
    base: str  # the object expression as written, e.g. "page" or "bh->b_page"


@record
class SkippedUse:
    """A textual ``->member``/``.member`` inside preprocessor-skipped code."""

    member: str
    line: int
    column: int
    text: str


@record
class Decl:
    """Where an ops member or a callback typedef is declared (its type changes
    when the parameter is added)."""

    kind: str  # "member" | "callback"
    key: str  # "address_space_operations.writepage" | "writepage_t"
    file: str  # absolute
    line: int
    offset: int


@record
class Diagnostic:
    severity: str
    file: str
    line: int
    message: str


@record
class FileFacts:
    """Everything found in one file (a .c main file, or a header walked once)."""

    path: str  # absolute
    sha: str  # content hash at parse time
    functions: tuple[Function, ...] = ()
    calls: tuple[Call, ...] = ()
    ops: tuple[OpsInit, ...] = ()
    refs: tuple[FuncRef, ...] = ()
    uses: tuple[FieldUse, ...] = ()
    skipped: tuple[SkippedUse, ...] = ()
    has_skipped_ranges: bool = False  # skipped ranges were computed for this file
    decls: tuple[Decl, ...] = ()  # ops members and callback typedefs this file uses


@record
class TUFacts:
    """The result of parsing one translation unit."""

    source: str  # absolute path of the main file
    main: FileFacts | None
    headers: tuple[FileFacts, ...] = ()  # headers this TU was first to walk
    deps: tuple[str, ...] = ()  # every file the TU read (source included)
    diagnostics: tuple[Diagnostic, ...] = ()
    error: str | None = None  # a TU that could not be parsed at all
    seconds: float = 0.0
    stats: dict = field(default_factory=dict)  # timings; not compared, not hashed

    def __eq__(self, other):
        return type(other) is type(self) and self[:-1] == other[:-1]

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self[:-1])

    @property
    def failed(self) -> bool:
        return self.error is not None or any(d.severity in ("error", "fatal") for d in self.diagnostics)
