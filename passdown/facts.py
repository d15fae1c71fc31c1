"""Per-file facts extracted from one translation unit.

Plain frozen dataclasses: they cross process pools, go into the on-disk cache
and are the only thing the graph, the planner and the reports see.  Nothing in
here knows about libclang.

Positions are byte offsets into the file named by the enclosing ``FileFacts``
(``line``/``column`` are 1-based, the column counted in bytes, as gcc does), so
later edits can be applied to the original bytes without re-parsing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

# A function is identified by its clang USR: static functions carry their file
# in the USR, so two `static int write_one_page()` in different files differ,
# and a `static inline` in a header has the same USR in every includer.
Usr = str


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A struct member to look for, e.g. ``struct page`` . ``mapping``."""

    struct: str
    member: str

    def __str__(self) -> str:
        return f"struct {self.struct}.{self.member}"


@dataclass(frozen=True, slots=True)
class Param:
    name: str  # "" for an unnamed prototype parameter
    type: str  # as written (typedefs kept)
    canonical: str  # typedefs resolved
    start: int  # byte extent of the whole declaration
    end: int
    callback: str | None = None  # callback type key when a function pointer


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class Local:
    name: str
    type: str
    canonical: str
    offset: int  # declaration start
    line: int
    init: Rhs | None
    callback: str | None = None  # callback type key when a function pointer
    scope_end: int = 0  # end of the enclosing block: the local is visible until here


@dataclass(frozen=True, slots=True)
class Assign:
    """``local = rhs`` inside a function body."""

    target: str  # local name
    offset: int
    line: int
    rhs: Rhs
    conditional: bool = False  # under an if/loop/switch/?:/&&/||: may not run


@dataclass(frozen=True, slots=True)
class Arg:
    start: int
    end: int
    text: str  # as written; "" when the argument comes from a macro body
    is_null: bool  # a literal NULL / 0 / (void *)0
    function: Usr | None = None  # a function passed by name (a callback)
    member: str | None = None  # an ops member's value passed on: "struct.member"
    local: str | None = None  # a local variable passed on (see the caller's locals)
    callback: str | None = None  # the callee parameter's callback type key, if a function pointer


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class SkippedUse:
    """A textual ``->member``/``.member`` inside preprocessor-skipped code."""

    member: str
    line: int
    column: int
    text: str


@dataclass(frozen=True, slots=True)
class Decl:
    """Where an ops member or a callback typedef is declared (its type changes
    when the parameter is added)."""

    kind: str  # "member" | "callback"
    key: str  # "address_space_operations.writepage" | "writepage_t"
    file: str  # absolute
    line: int
    offset: int


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: str
    file: str
    line: int
    message: str


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class TUFacts:
    """The result of parsing one translation unit."""

    source: str  # absolute path of the main file
    main: FileFacts | None
    headers: tuple[FileFacts, ...] = ()  # headers this TU was first to walk
    deps: tuple[str, ...] = ()  # every file the TU read (source included)
    diagnostics: tuple[Diagnostic, ...] = ()
    error: str | None = None  # a TU that could not be parsed at all
    seconds: float = 0.0
    stats: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def failed(self) -> bool:
        return self.error is not None or any(d.severity in ("error", "fatal") for d in self.diagnostics)


def _fast_pickle(cls: type) -> None:
    """Pickle support without dataclasses' per-object ``fields()`` lookup.

    A warm run unpickles millions of these; the generated ``__setstate__`` of a
    slotted dataclass spent most of its time asking for the field list again.
    """
    names = tuple(f.name for f in dataclasses.fields(cls))
    setattr_ = object.__setattr__

    def __getstate__(self):
        return tuple([getattr(self, n) for n in names])

    def __setstate__(self, state):
        for n, v in zip(names, state):
            setattr_(self, n, v)

    cls.__getstate__ = __getstate__
    cls.__setstate__ = __setstate__


for _cls in (FieldSpec, Param, Rhs, Local, Assign, Arg, Call, Function, OpsInit, FuncRef, FieldUse, SkippedUse,
             Decl, Diagnostic, FileFacts, TUFacts):
    _fast_pickle(_cls)
