"""The plan: which functions get a ``struct address_space *mapping`` parameter,
and what every call site passes.  A pure function of the facts and the rule.

This is Glisse's ``passdown_mapping``/``add_mapping_parameter``, made
type-accurate and whole-tree:

1. Seeds: every read of the field in scope.  A read is satisfied when a
   source is available where it happens: a parameter of a source type that no
   caller passes as literal NULL, or a local of a source type definitely
   assigned before the use from something other than the field itself.
2. A function with an unsatisfied read needs the parameter, and so does every
   function that must change with it: all implementations of an ops member it
   implements, all functions passed as the same callback type (a signature
   group).  Each call site into the group must then supply the mapping: from
   the caller's own source, or from the caller's own new parameter, which
   demands the caller's group in turn.
3. A group fails when the mapping cannot reach it: no caller at all (a root),
   its address stored where calls cannot be traced, a call inside a macro
   body, a variadic or macro-generated definition, a stop rule, or a caller
   group that fails.  Failed groups are dropped and the demand recomputed
   without them; their reads are reported unresolved with the reason.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from . import facts as F
from .graph import callback_node
from .index import Index
from .rules import Rule
from .workspace import in_scope

CONFIDENCE_ORDER = {"exact": 0, "derived": 1, "review": 2}
_IDENTS = re.compile(r"[A-Za-z_]\w*")
_FUNC_HEAD = re.compile(r"^(?:static\s+|inline\s+|extern\s+)*[A-Za-z_][\w\s\*]*?\b([A-Za-z_]\w*)\s*\([^;]*$")
# Failure reasons that parsing more files can undo (a caller or a definition may
# turn up); every other one is settled by the facts already seen.
UNSETTLED_FAILURES = ("no source:", "no definition:")
_EXPORT_HOLDER = re.compile(r"^var:(__ksymtab_|__UNIQUE_ID___addressable_|__addressable_)")


# -- results ------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    expr: str
    kind: str  # param | local | new-param | member-base
    var: str
    line: int
    confidence: str
    provenance: str
    order: int  # the rule's source order (address_space first)


@dataclass(frozen=True)
class PlannedFunction:
    usr: str
    name: str
    file: str
    line: int
    reason: str
    param_name: str
    param_index: int
    exported: bool = False
    group: str = ""  # the signature group it changes with (Group.id)


@dataclass(frozen=True)
class CallSite:
    file: str
    line: int
    column: int
    caller: str  # display name
    caller_usr: str
    callee: str  # function name, struct.member or callback type
    via: str  # direct | member | callback | local
    argument: str
    provenance: str
    confidence: str
    start: int
    end: int
    arg_index: int
    group: str = ""  # the callee's signature group
    needs: str = ""  # the group whose new parameter the argument is ("" for the caller's own source)


@dataclass(frozen=True)
class Conversion:
    """A read of the field that can take its mapping from context."""

    file: str
    line: int
    column: int
    function: str
    usr: str
    expr: str
    provenance: str
    confidence: str
    needs: str = ""  # the group whose new parameter the read uses ("" for an own source)


@dataclass(frozen=True)
class Group:
    """Functions, ops members, callback types and local function pointers
    whose signatures change together: one parameter-adding commit."""

    id: str  # readable: the member, callback type or first function
    functions: tuple[str, ...]  # USRs
    members: tuple[str, ...]  # "struct.member"
    callbacks: tuple[str, ...]  # callback type names as in Plan.callback_types
    home: str = ""  # the file it is about: where its member or callback type is declared, or its first function


@dataclass(frozen=True)
class Unresolved:
    function: str
    usr: str
    file: str
    line: int
    reason: str


@dataclass(frozen=True)
class LocalCopy:
    """A local function pointer whose type must gain the parameter."""

    function: str
    file: str
    line: int
    local: str
    holds: str
    group: str = ""


@dataclass
class Plan:
    rule: str
    config: dict
    functions: list[PlannedFunction] = field(default_factory=list)
    members: list[tuple[str, str]] = field(default_factory=list)
    callback_types: list[tuple[str, str, int]] = field(default_factory=list)
    call_sites: list[CallSite] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    conversions: list[Conversion] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    local_copies: list[LocalCopy] = field(default_factory=list)
    remaining: list[Unresolved] = field(default_factory=list)  # uses not converted (writes, failed groups)
    readers: set[str] = field(default_factory=set)  # functions that read the field in scope
    caveats: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        by_conf: dict[str, int] = defaultdict(int)
        for s in self.call_sites:
            by_conf[s.confidence] += 1
        by_reason: dict[str, int] = defaultdict(int)
        for u in self.unresolved:
            by_reason[u.reason.split(":")[0]] += 1
        return {
            "functions": len(self.functions),
            "members": len(self.members),
            "callback_types": len(self.callback_types),
            "call_sites": len(self.call_sites),
            "call_sites_by_confidence": dict(sorted(by_conf.items())),
            "conversions": len(self.conversions),
            "unresolved": len(self.unresolved),
            "unresolved_readers": len({u.usr for u in self.unresolved if u.usr in self.readers}),
            "unresolved_by_reason": dict(sorted(by_reason.items())),
            "remaining_uses": len(self.remaining),
        }


# -- lookup tables over the facts -------------------------------------------------------


Site = tuple[F.FileFacts, F.Call, str, str]  # (file, call, via, callee token: f:USR, m:KEY or c:NODE)


class _Tables:
    def __init__(self, idx: Index):
        self.idx = idx
        self.defs: dict[str, tuple[F.FileFacts, F.Function]] = {}
        self.sites: dict[str, list[Site]] = defaultdict(list)  # token -> sites
        self.members_impl: dict[str, set[str]] = defaultdict(set)
        self.callback_impl: dict[str, set[str]] = defaultdict(set)
        self.callback_members: dict[str, set[str]] = defaultdict(set)
        self.escapes: dict[str, list[str]] = defaultdict(list)
        self.exports: set[str] = set()
        self.decls: dict[tuple[str, str], F.Decl] = {}
        for ff, fn in idx.functions():
            old = self.defs.get(fn.usr)
            if old is None or (fn.is_definition and not old[1].is_definition):
                self.defs[fn.usr] = (ff, fn)
        # Local function pointers and what they may hold: a local copy couples
        # every function, member and callback stored in it (one signature).
        self.held: list[tuple[F.FileFacts, F.Function, str, list[tuple[object, F.Rhs]]]] = []
        for ff in idx.files.values():
            for fn in ff.functions:
                if not fn.is_definition:
                    continue
                for loc in fn.locals:
                    if loc.callback is None:
                        continue
                    held = [(h, r) for h, r in _local_sources(fn, loc.name) if r.kind in ("function", "member", "param")]
                    if held:
                        self.held.append((ff, fn, loc.name, held))
        for ff in idx.files.values():
            for d in ff.decls:
                self.decls.setdefault((d.kind, d.key), d)
            assigned = set()
            for op in ff.ops:
                self.members_impl[f"{op.struct}.{op.member}"].add(op.function)
                if op.kind == "assign":
                    assigned.add((op.function, op.offset))
            for ref in ff.refs:
                if ref.context == "arg" and ref.callback is not None and (ref.callback or ref.call_kind == "direct"):
                    self.callback_impl[callback_node(ref.callback, ref.call_target or "", ref.index or 0)].add(ref.function)
                elif ref.context in ("address", "arg") and ref.holder:
                    if _EXPORT_HOLDER.match(ref.holder):
                        self.exports.add(ref.function)
                    elif (ref.function, ref.offset) not in assigned:
                        self.escapes[ref.function].append(ref.stored_in or ref.holder)
            for call in ff.calls:
                self._add_site(ff, call)

    def _add_site(self, ff: F.FileFacts, call: F.Call) -> None:
        caller = self.caller_def(call)
        if call.kind == "direct":
            self.sites[f"f:{call.target}"].append((ff, call, "direct", f"f:{call.target}"))
        elif call.kind == "member":
            self.sites[f"m:{call.target}"].append((ff, call, "member", f"m:{call.target}"))
        elif call.kind == "param" and call.callback is not None:
            node = callback_node(call.callback, call.caller, int(call.target))
            self.sites[f"c:{node}"].append((ff, call, "callback", f"c:{node}"))
        elif call.kind == "local" and caller is not None:
            for holder, rhs in _local_sources(caller, call.target):
                if rhs.kind == "function":
                    self.sites[f"f:{rhs.ref}"].append((ff, call, "local", f"f:{rhs.ref}"))
                elif rhs.kind == "member":
                    self.sites[f"m:{rhs.ref}"].append((ff, call, "local", f"m:{rhs.ref}"))
                elif rhs.kind == "param":
                    i = int(rhs.ref)
                    cb = caller.params[i].callback if i < len(caller.params) else None
                    if cb is not None:
                        node = callback_node(cb, call.caller, i)
                        self.sites[f"c:{node}"].append((ff, call, "local", f"c:{node}"))
        if call.kind == "direct":
            for i, arg in enumerate(call.args):
                if arg.callback is None or arg.function:
                    continue
                node = callback_node(arg.callback, call.target, i)
                if arg.member:
                    self.callback_members[node].add(arg.member)
                for _, rhs in _local_sources(caller, arg.local) if arg.local and caller else ():
                    if rhs.kind == "member":
                        self.callback_members[node].add(rhs.ref)
                    elif rhs.kind == "function":
                        self.callback_impl[node].add(rhs.ref)

    def caller_def(self, call: F.Call) -> F.Function | None:
        d = self.defs.get(call.caller)
        return d[1] if d else None


def _local_sources(fn: F.Function, name: str):
    for loc in fn.locals:
        if loc.name == name and loc.init:
            yield loc, loc.init
    for a in fn.assigns:
        if a.target == name:
            yield a, a.rhs


def held_token(fn: F.Function, rhs: F.Rhs) -> str | None:
    """The signature-group token of what a local function pointer holds."""
    if rhs.kind == "function":
        return f"f:{rhs.ref}"
    if rhs.kind == "member":
        return f"m:{rhs.ref}"
    if rhs.kind == "param":
        i = int(rhs.ref)
        cb = fn.params[i].callback if i < len(fn.params) else None
        return f"c:{callback_node(cb, fn.usr, i)}" if cb is not None else None
    return None


class _Groups:
    """Union-find over functions (f:), ops members (m:) and callback types (c:)
    that must change signature together."""

    def __init__(self, t: _Tables):
        self.parent: dict[str, str] = {}
        for key, impls in t.members_impl.items():
            for usr in impls:
                self.union(f"m:{key}", f"f:{usr}")
        for node, impls in t.callback_impl.items():
            for usr in impls:
                self.union(f"c:{node}", f"f:{usr}")
        for node, members in t.callback_members.items():
            for key in members:
                self.union(f"c:{node}", f"m:{key}")
        for _, fn, _, held in t.held:
            toks = [tok for _, rhs in held if (tok := held_token(fn, rhs))]
            for a, b in zip(toks, toks[1:]):
                self.union(a, b)
        self.members: dict[str, list[str]] = defaultdict(list)
        for tok in list(self.parent):
            self.members[self.find(tok)].append(tok)

    def find(self, tok: str) -> str:
        self.parent.setdefault(tok, tok)
        root = tok
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[tok] != root:
            self.parent[tok], tok = root, self.parent[tok]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def tokens(self, root: str) -> list[str]:
        return sorted(self.members.get(root) or [root])


# -- the planner --------------------------------------------------------------------------


class _Planner:
    def __init__(self, idx: Index, rule: Rule, scope, config: dict):
        self.idx = idx
        self.rule = rule
        self.scope = scope
        self.config = config
        self.t = _Tables(idx)
        self.g = _Groups(self.t)
        self.key = f"{rule.field.struct}.{rule.field.member}"
        self.accessors = set(rule.accessors.functions)
        self._cache: dict = {}
        self._readers: set[str] = set()
        self._seeds_of: dict[str, list[F.FieldUse]] = {}
        self._planned: set[str] = set()
        self._skipped: list[tuple[F.FileFacts, F.SkippedUse]] = []  # uses in #if'd-out code, in scope
        self.null_passed = self._null_passed()
        self.stop_funcs = set(rule.stop.functions)

    # -- naming ---------------------------------------------------------------
    def name(self, usr: str) -> str:
        d = self.t.defs.get(usr)
        if d is None:
            return usr.rsplit("@", 1)[-1]
        ff, fn = d
        return f"{fn.name}@{self.idx.rel(ff.path)}" if fn.storage == "static" else fn.name

    def callee_name(self, token: str) -> str:
        kind, _, ref = token.partition(":")
        return self.name(ref) if kind == "f" else ref

    # -- sources ----------------------------------------------------------------
    def _null_passed(self) -> set[tuple[str, int]]:
        """(function, parameter index) pairs some call site passes a literal NULL for."""
        out = set()
        for tok, sites in self.t.sites.items():
            nulls = {i for _, call, _, _ in sites for i, arg in enumerate(call.args) if arg.is_null}
            if not nulls:
                continue
            if tok.startswith("f:"):
                funcs = [tok[2:]]
            else:
                funcs = [t[2:] for t in self.g.tokens(self.g.find(tok)) if t.startswith("f:")]
            out.update((usr, i) for usr in funcs for i in nulls)
        return out

    def _uses_in(self, fn: F.Function) -> list[int]:
        """Offsets of reads of the field (and accessor calls) in fn's file."""
        key = (fn.usr, "uses")
        if key not in self._cache:
            ff = self.t.defs[fn.usr][0]
            offs = [u.offset for u in ff.uses if u.field == self.key]
            offs += [c.start for c in ff.calls if c.kind == "direct" and c.name in self.accessors]
            self._cache[key] = sorted(offs)
        return self._cache[key]

    def sources_at(self, fn: F.Function, offset: int) -> list[Source]:
        key = ("src", fn.usr, offset)
        if key not in self._cache:
            self._cache[key] = self._sources_at(fn, offset)
        return self._cache[key]

    def _typed(self, fn: F.Function) -> tuple[list[Source], list[tuple[F.Local, object]]]:
        """What of *fn* has a source type, whatever the offset: the sources its
        parameters give, and its locals of a source type with their rule.  Most
        functions have neither; a plan over fs/ + mm/ asks for 56,000 offsets."""
        key = ("typed", fn.usr)
        hit = self._cache.get(key)
        if hit is None:
            params: list[Source] = []
            for i, p in enumerate(fn.params):
                sr = self.rule.source_for(p.canonical)
                if sr is None or not p.name or (fn.usr, i) in self.null_passed:
                    continue
                order = self.rule.source.index(sr)
                prov = f"parameter {p.name}" if order == 0 else f"derived from parameter {p.name} ({p.canonical.strip()})"
                params.append(Source(sr.expr.format(var=p.name), "param", p.name, fn.line, sr.confidence, prov, order))
            typed = [(loc, sr) for loc in fn.locals if (sr := self.rule.source_for(loc.canonical)) is not None]
            hit = self._cache[key] = (params, typed)
        return hit

    def _sources_at(self, fn: F.Function, offset: int) -> list[Source]:
        params, typed = self._typed(fn)
        out: list[Source] = list(params)
        for loc, sr in typed:
            if not (loc.offset < offset and (loc.scope_end == 0 or offset < loc.scope_end)):
                continue
            good = None
            for _, line, rhs, conditional, init in self._assignments(fn, loc.name, offset):
                if self._rhs_tainted(fn, rhs):
                    good = None  # from the field itself, or from something derived from it
                elif not conditional:
                    good = (line, "initialised" if init else "assigned", rhs)
            if good is None:
                continue
            order = self.rule.source.index(sr)
            what = f"local {loc.name} {good[1]} at line {good[0]}"
            prov = what if order == 0 else f"derived from {what} ({loc.canonical.strip()})"
            conf = sr.confidence
            # A local computed from a weaker source is no better than that source
            # (an inode taken from vma->vm_file is vma-derived).
            for var, other in self._source_vars(fn, good[2], exclude=loc.name):
                if CONFIDENCE_ORDER[other.confidence] > CONFIDENCE_ORDER[conf]:
                    conf = other.confidence
                    prov = f"{prov}; {var}-derived ({good[2].text})"
            out.append(Source(sr.expr.format(var=loc.name), "local", loc.name, good[0], conf, prov, order))
        return out

    def _assignments(self, fn: F.Function, name: str, before: int):
        """(offset, line, rhs, conditional, is_init) of a local, in order, complete before *before*."""
        events = []
        for loc in fn.locals:
            if loc.name == name and loc.init is not None and loc.init.end <= before:
                events.append((loc.offset, loc.line, loc.init, False, True))
        events += [(a.offset, a.line, a.rhs, a.conditional, False) for a in fn.assigns
                   if a.target == name and a.rhs.end <= before]
        return sorted(events, key=lambda e: e[0])

    def _rhs_tainted(self, fn: F.Function, rhs: F.Rhs, depth: int = 0) -> bool:
        """Does a value come from the field (directly, through an accessor, or
        through a local that did)?"""
        if self._from_field(rhs) or any(rhs.start <= o < rhs.end for o in self._uses_in(fn)):
            return True
        if depth >= 4:
            return False
        local_names = {l.name for l in fn.locals}
        for ident in set(_IDENTS.findall(rhs.text)) & local_names:
            tainted = False
            for _, _, r, conditional, _ in self._assignments(fn, ident, rhs.start):
                t = self._rhs_tainted(fn, r, depth + 1)
                tainted = (tainted or t) if conditional else t
            if tainted:
                return True
        return False

    def _source_vars(self, fn: F.Function, rhs: F.Rhs, exclude: str):
        """Parameters and locals of a source type that an expression reads."""
        idents = set(_IDENTS.findall(rhs.text)) - {exclude}
        for p in fn.params:
            sr = self.rule.source_for(p.canonical)
            if sr is not None and p.name in idents:
                yield p.name, sr
        for loc in fn.locals:
            sr = self.rule.source_for(loc.canonical)
            if sr is not None and loc.name in idents:
                yield loc.name, sr

    def _from_field(self, rhs: F.Rhs) -> bool:
        if rhs.kind in ("field", "null"):
            return True
        m = re.match(r"\s*([A-Za-z_]\w*)\s*\(", rhs.text)
        return bool(m and m.group(1) in self.accessors)

    def best(self, sources: list[Source]) -> Source | None:
        if not sources:
            return None
        sources = sorted(sources, key=lambda s: (s.order, CONFIDENCE_ORDER[s.confidence], s.kind != "param", s.var))
        top = sources[0]
        rivals = sorted({s.var for s in sources if s.order == top.order and s.var != top.var})
        if rivals:
            return Source(top.expr, top.kind, top.var, top.line, "review",
                          f"{top.provenance}; several of that type in scope ({', '.join([top.var] + rivals)})",
                          top.order)
        return top

    def member_base(self, call: F.Call) -> Source | None:
        for ms in self.rule.member_source:
            if not call.target.startswith(ms.struct + ".") or not call.base.endswith(ms.base_suffix):
                continue
            expr = call.base[: -len(ms.base_suffix)].strip()
            member = self.rule.field.member
            if not expr or re.search(rf"(->|\.)\s*{re.escape(member)}\s*$", expr):
                return None  # reached through the field itself: no independent source
            caller = self.t.caller_def(call)
            if caller is not None:
                probe = F.Rhs("other", "", expr, call.start, call.start)
                if self._rhs_tainted(caller, probe):
                    return None  # the object is a local copy of the field
                root = _IDENTS.match(expr)
                params = {p.name: i for i, p in enumerate(caller.params)}
                if root and root.group() in params and (caller.usr, params[root.group()]) in self.null_passed:
                    return None
            conf = ms.confidence if re.fullmatch(r"[A-Za-z_]\w*", expr) else "derived"
            return Source(expr, "member-base", expr, call.line, conf,
                          f"the object whose {ms.base_suffix.lstrip('-.>')} was called ({call.base})", -1)
        return None

    # -- groups -----------------------------------------------------------------
    def group_of(self, usr: str) -> str:
        return self.g.find(f"f:{usr}")

    def group_funcs(self, root: str) -> list[str]:
        return [t[2:] for t in self.g.tokens(root) if t.startswith("f:")]

    def group_sites(self, root: str) -> list[Site]:
        key = ("sites", root)
        if key not in self._cache:
            self._cache[key] = self._group_sites(root)
        return self._cache[key]

    def _group_sites(self, root: str) -> list[Site]:
        out: list[Site] = []
        for tok in self.g.tokens(root):
            out += self.t.sites.get(tok, [])
        # One entry per call expression: a call through a local that may hold
        # several targets is named after a member, a callback, then a reader.
        out.sort(key=lambda s: (s[0].path, s[1].start, s[1].caller, self._site_rank(s[3])))
        seen, uniq = set(), []
        for s in out:
            k = (s[0].path, s[1].start, s[1].caller)
            if k not in seen:
                seen.add(k)
                uniq.append(s)
        return uniq

    def _site_rank(self, token: str) -> tuple[int, str]:
        kind, _, ref = token.partition(":")
        if kind == "f":
            return (2 if ref in self._readers else 3, self.name(ref))
        return (0 if kind == "m" else 1, ref)

    def has_param(self, usr: str) -> bool:
        d = self.t.defs.get(usr)
        want = self.rule.parameter.type.replace("const ", "")
        return bool(d) and any(p.canonical.replace("const ", "").strip() == want for p in d[1].params)

    def _pick(self, fn: F.Function, offset: int, planned: set[str], extra: list[Source], new_param: str):
        """An address_space of the function's own, else its new parameter, else a derived source."""
        best = self.best([*self.sources_at(fn, offset), *extra])
        if best is not None and best.order <= 0:
            return best
        if self.group_of(fn.usr) in planned:
            pname = self.param_name(fn)
            return Source(pname, "new-param", pname, fn.line, "exact", f"{new_param} {pname}", 0)
        return best

    def use_source(self, fn: F.Function, offset: int, planned: set[str]) -> Source | None:
        """The mapping a read at *offset* will use."""
        return self._pick(fn, offset, planned, [], "new parameter")

    def site_source(self, call: F.Call, planned: set[str]) -> Source | None:
        """The argument a call site passes."""
        caller = self.t.caller_def(call)
        if caller is None:
            return None
        mb = self.member_base(call) if call.kind == "member" else None
        return self._pick(caller, call.start, planned, [mb] if mb else [], "the caller's new parameter")

    # -- failure reasons -----------------------------------------------------------
    def intrinsic_failure(self, root: str) -> str | None:
        funcs = self.group_funcs(root)
        for usr in funcs:
            d = self.t.defs.get(usr)
            if d is None:
                return f"no definition: {self.name(usr)} is not defined in the indexed files"
            ff, fn = d
            if fn.name in self.stop_funcs or self._stopped_path(ff.path):
                return f"stop rule: {self.name(usr)} must not change"
            if fn.variadic:
                return f"variadic: {self.name(usr)} takes ..."
            if fn.macro:
                return f"macro-generated: {self.name(usr)} is defined by macro {fn.macro}"
            if self.t.escapes.get(usr):
                return f"address escapes: {self.name(usr)} is stored in {self._holder(self.t.escapes[usr][0])}, where calls cannot be traced"
        for tok in self.g.tokens(root):
            stopped = self._stopped_token(tok)
            if stopped:
                return f"stop rule: {stopped} has a signature core code fixes"
        has = [u for u in funcs if self.has_param(u)]
        if has and len(has) != len(funcs):
            return f"signatures disagree: {self.name(has[0])} already takes a {self.rule.parameter.type}, others do not"
        sites = self.group_sites(root)
        if not sites:
            return f"no source: {', '.join(self.name(u) for u in funcs[:3])} has no caller in the indexed tree and no mapping of its own"
        for tok in self.g.tokens(root):
            # An ops member or callback type never called in the indexed files is
            # called from elsewhere (kernel/kthread.c runs every threadfn): those
            # calls could not pass the mapping, whatever direct calls there are.
            if tok[:2] in ("m:", "c:") and not self.t.sites.get(tok):
                what = self._callback_type(tok[2:])[0] if tok.startswith("c:") else tok[2:]
                return f"no source: {what} is not called in the indexed tree, only from elsewhere"
        for ff, call, _, _ in sites:
            if call.macro:
                return f"call in macro: {self.idx.rel(ff.path)}:{call.line} calls it inside macro {call.macro}"
        return None

    def _stopped_token(self, tok: str) -> str | None:
        kind, _, ref = tok.partition(":")
        if kind == "m" and ref in self.rule.stop.members:
            return ref
        if kind == "c":
            body = ref.removeprefix("callback:")
            if "#" in body:
                owner, _, i = body.rpartition("#")
                body = f"{self.name(owner).split('@')[0]}#{i}"
            if body in self.rule.stop.callbacks:
                return body
        return None

    def _holder(self, holder: str) -> str:
        return holder if holder.startswith("var:") else f"{self.name(holder)}()"

    def _stopped_path(self, path: str) -> bool:
        rel = self.idx.rel(path)
        return rel in self.rule.stop.files or any(rel.startswith(d.rstrip("/") + "/") for d in self.rule.stop.directories)

    # -- naming of the new parameter -------------------------------------------------
    def param_name(self, fn: F.Function) -> str:
        want = self.rule.parameter.name
        taken = {p.name for p in fn.params} | {l.name for l in fn.locals}
        return self.rule.parameter.fallback_name if want in taken else want

    def param_index(self, fn: F.Function) -> int:
        pos = self.rule.parameter.position
        if pos.startswith("after:"):
            want = pos[len("after:"):].replace("const ", "")
            for i, p in enumerate(fn.params):
                if p.canonical.replace("const ", "").strip() == want:
                    return i + 1
        return 0

    # -- the algorithm ---------------------------------------------------------------
    def seeds(self) -> tuple[list[tuple[F.FileFacts, F.FieldUse, F.Function]], list[Unresolved]]:
        out, remaining = [], []
        for path, ff in sorted(self.idx.files.items()):
            if not in_scope(path, self.scope):
                continue
            for u in ff.uses:
                if u.field != self.key:
                    continue
                d = self.t.defs.get(u.function) if u.function else None
                if u.access != "read" or d is None:
                    why = {"write": "write: the field is assigned, not read",
                           "address": "address-of: the field's address is taken"}.get(u.access, "at file scope")
                    remaining.append(Unresolved(self.name(u.function) if u.function else "", u.function or "",
                                                self.idx.rel(path), u.line, why))
                    continue
                if d[1].name == self.rule.helper.name:
                    continue  # the helper's own read of the field: what the series is built on
                if d[1].name in self.accessors:
                    # the accessor itself: its callers are the uses
                    remaining.append(Unresolved(self.name(u.function), u.function, self.idx.rel(path), u.line,
                                                f"accessor: {self.name(u.function)} is a read under another "
                                                "name; its calls are the uses"))
                    continue
                out.append((ff, u, d[1]))
            self._skipped += [(ff, sk) for sk in ff.skipped if sk.member == self.rule.field.member]
            for call in ff.calls:
                d = self.t.defs.get(call.caller)
                if call.kind == "direct" and call.name in self.accessors and d is not None \
                        and d[1].name not in self.accessors:
                    out.append((ff, F.FieldUse(self.key, call.line, call.column, call.start, call.caller, "read",
                                               False, call.name, call.start, call.end, ""), d[1]))
        return out, remaining

    def _skipped_reason(self, ff: F.FileFacts, sk: F.SkippedUse) -> str:
        """Why a use in #if'd-out code stays, and what its function needs under other configs."""
        try:
            lines = open(ff.path, encoding="utf-8", errors="replace").read().splitlines()
        except OSError:
            lines = []
        directive, name, depth = "", "", 0
        for text in reversed(lines[: sk.line - 1]):
            t = text.strip()
            if t.startswith("#endif"):
                depth += 1
            elif t.startswith("#if") and depth == 0 and not directive:
                directive = t.split("/*")[0].strip()
            elif t.startswith("#if"):
                depth -= 1
            m = _FUNC_HEAD.match(text)
            if m and not name:
                name = m.group(1)
        why = f"not analysed: in code the preprocessor skips under this config ({directive or '#if'})"
        if not name:
            return why
        others = [fn for fn in ff.functions if fn.name == name and fn.is_definition]
        if any(self.group_of(fn.usr) in self._planned for fn in others):
            return f"{why}; {self.name(others[0].usr)} is planned in the other branch: this definition needs the parameter too"
        if any(self.has_param(fn.usr) for fn in others):
            return f"{why}; {self.name(others[0].usr)} already has a mapping parameter"
        return why

    def demand(self, seeds, failed: dict[str, str]) -> dict[str, str]:
        """Group root -> why it needs the parameter, skipping failed groups."""
        demanded: dict[str, str] = {}
        queue: list[str] = []
        for ff, u, fn in seeds:
            if self.best(self.sources_at(fn, u.offset)) is not None:
                continue
            root = self.group_of(fn.usr)
            if root in failed or root in demanded:
                continue
            demanded[root] = f"reads {self.rule.field.struct}->{self.rule.field.member} at line {u.line}"
            queue.append(root)
        while queue:
            root = queue.pop()
            for croot, accessor, _, target, line in self.unsupplied(root):
                if croot in failed or croot in demanded or accessor:
                    continue  # an accessor stays as it is: see fail_closure
                demanded[croot] = f"calls {self.callee_name(target)} (line {line})"
                queue.append(croot)
        return demanded

    def unsupplied(self, root: str) -> list[tuple[str, bool, str, str, int]]:
        """The call sites of a group whose caller has no mapping to pass, in
        group_sites order: (caller's group, caller is an accessor, caller, callee
        token, line).  demand() and each pass of fail_closure() walk these."""
        key = ("unsupplied", root)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = []
            for ff, call, via, target in self.group_sites(root):
                caller = self.t.caller_def(call)
                if caller is None:
                    continue
                if call.kind == "member" and self.member_base(call) is not None:
                    continue
                if self.best(self.sources_at(caller, call.start)) is not None:
                    continue
                hit.append((self.group_of(caller.usr), caller.name in self.accessors, caller.usr, target, call.line))
        return hit

    def fail_closure(self, demanded: dict[str, str]) -> dict[str, str]:
        failed: dict[str, str] = {}
        for root in demanded:
            why = self.intrinsic_failure(root)
            if why:
                failed[root] = why
        changed = True
        while changed:
            changed = False
            for root in demanded:
                if root in failed:
                    continue
                for croot, accessor, caller, _, _ in self.unsupplied(root):
                    if accessor:
                        # Accessors are reads under another name: their callers are
                        # the uses, and their own signature does not change.
                        failed[root] = f"called from accessor: {self.name(caller)}() calls it and keeps its signature"
                        changed = True
                        break
                    if croot in failed:
                        # Keep the root cause; name only the first hop.
                        cause = failed[croot].split(" (through ")[0]
                        failed[root] = f"{cause} (through caller {self.name(caller)})"
                        changed = True
                        break
        return failed

    def run(self) -> Plan:
        seeds, remaining = self.seeds()
        self._readers = {fn.usr for _, _, fn in seeds}
        for _, u, fn in seeds:
            self._seeds_of.setdefault(fn.usr, []).append(u)
        failed: dict[str, str] = {}
        # Iterate: failing groups are removed and the demand recomputed without them.
        while True:
            demanded = self.demand(seeds, failed)
            new_failed = self.fail_closure(demanded)
            if not new_failed:
                break
            failed.update(new_failed)
        self._seeds, self._failed = seeds, failed
        return self.build(seeds, remaining, demanded, failed)

    # -- what a plan made on part of the tree still needs to see --------------------------
    def wanted_names(self, suppliers: bool = True, unsettled: bool = True) -> dict[str, set[str] | None]:
        """Identifiers whose every mention a complete plan must have seen
        (after ``run``; for ``lazy.py``, which parses the files that spell
        them), each with None, or the files (struct definitions) a file must
        reach to use the name: an ops member's name means that member only
        where its struct is visible.

        Followed: every group demanded and not failed, and every group that
        failed for a reason more files can undo ("no source", "no
        definition"), but not the callers beyond a failed group: a group that
        failed for good (its address escapes, a macro defines it...) fails
        whatever its other callers do, and so does every group that needs it.
        For each followed group: its functions, ops members and callback types
        (calls, implementations, initialisers and declarations spell them),
        the functions that take its callback types, and the callers whose own
        source is a parameter (a caller elsewhere passing NULL makes that
        parameter untrusted).  *unsettled* False leaves out the failed groups,
        *suppliers* False those callers: a lazy planner asks for them once the
        live demand has stopped growing, so that it looks less often for the
        callers of groups that are about to fail anyway.
        """
        followed = self.demand(self._seeds, self._failed)
        names: dict[str, set[str] | None] = {}
        # A group that failed for a reason more files may undo is looked up itself
        # (a caller or its definition may turn up), but the demand does not climb
        # past it until it does; one that failed through a caller waits for that caller.
        open_ = {r for r, why in self._failed.items()
                 if unsettled and why.startswith(UNSETTLED_FAILURES) and " (through caller " not in why}
        roots = set(followed) | open_
        for _, _, fn in self._seeds if suppliers else ():
            if self._param_source(fn):
                roots.add(self.group_of(fn.usr))
        for root in followed if suppliers else ():
            for ff, call, via, target in self.group_sites(root):
                caller = self.t.caller_def(call)
                if caller is not None and (self._param_source(caller) or call.kind == "member"):
                    roots.add(self.group_of(caller.usr))
        for root in roots:
            for tok in self.g.tokens(root):
                where = None
                if tok.startswith("m:"):
                    # Only a file that sees the struct's definition can name its member.
                    d = self.t.decls.get(("member", tok[2:]))
                    where = d.file if d is not None else None
                for n in self._spellings(tok):
                    if where is None:
                        names[n] = None
                    elif names.get(n, ()) is not None:
                        names.setdefault(n, set()).add(where)
        return names

    def _param_source(self, fn: F.Function) -> bool:
        return any(self.rule.source_for(p.canonical) is not None for p in fn.params)

    def _spellings(self, tok: str) -> set[str]:
        kind, _, ref = tok.partition(":")
        if kind == "f":
            d = self.t.defs.get(ref)
            return {d[1].name if d else ref.rsplit("@", 1)[-1]}
        if kind == "m":
            return {ref.rsplit(".", 1)[-1]}
        # c:callback:TYPE (a typedef, shared tree-wide) or c:callback:OWNER#i (a plain
        # function-pointer parameter of OWNER): the owner, or every function taking TYPE.
        body = ref.removeprefix("callback:")
        if "#" in body:
            return self._spellings("f:" + body.rsplit("#", 1)[0])
        takers = self._cache.get("takers")
        if takers is None:
            takers = self._cache["takers"] = defaultdict(set)
            for _, fn in self.idx.functions():
                for p in fn.params:
                    if p.callback:
                        takers[p.callback].add(fn.name)
        return {body} | takers.get(body, set())

    # -- assembling the plan -------------------------------------------------------------
    def build(self, seeds, remaining, demanded: dict[str, str], failed: dict[str, str]) -> Plan:
        planned = self._planned = set(demanded)
        remaining = list(remaining) + [Unresolved("", "", self.idx.rel(ff.path), sk.line, self._skipped_reason(ff, sk))
                                       for ff, sk in self._skipped]
        plan = Plan(self.rule.name, self.config, remaining=remaining, readers=set(self._readers))
        plan.caveats = [
            f"Analysed under config {self.config.get('config')} for arch {self.config.get('arch')}.",
            f"Callers were looked for in the {len(self.idx.tus)} indexed files only (the compile database): a chain "
            "whose callers live elsewhere (other directories, other configs) ends as 'no source'.",
            "Calls through function pointers are followed through ops-table members, callback types and local "
            "copies; an address stored anywhere else is reported, not followed ('address escapes').",
            "A local is a source only when assigned unconditionally before the use; loops, gotos and aliasing "
            "through pointers are not analysed.",
        ]
        for root in sorted(planned, key=lambda r: self.g.tokens(r)):
            gid = self.group_id(root)
            members, callbacks = [], []
            for usr in self.group_funcs(root) or [root[2:]]:
                ff, fn = self.t.defs[usr]
                reason = self.reason(fn, root, planned)
                plan.functions.append(PlannedFunction(
                    usr, self.name(usr), self.idx.rel(ff.path), fn.line, reason, self.param_name(fn),
                    self.param_index(fn), usr in self.t.exports, gid))
            for tok in self.g.tokens(root):
                if tok.startswith("m:"):
                    struct, _, member = tok[2:].partition(".")
                    plan.members.append((struct, member))
                    members.append(tok[2:])
                elif tok.startswith("c:"):
                    cb = self._callback_type(tok[2:])
                    plan.callback_types.append(cb)
                    callbacks.append(cb[0])
            plan.groups.append(Group(gid, tuple(self.group_funcs(root) or [root[2:]]), tuple(members),
                                     tuple(callbacks), self._home(root)))
            for ff, call, via, target in self.group_sites(root):
                src = self.site_source(call, planned)
                caller = self.t.caller_def(call)
                plan.call_sites.append(CallSite(
                    self.idx.rel(ff.path), call.line, call.column, self.name(call.caller), call.caller,
                    self.callee_name(target), via, src.expr if src else "",
                    src.provenance if src else "no source", src.confidence if src else "review",
                    call.start, call.end, self._arg_index(root, caller), gid,
                    self._needs(src, call.caller)))
        for ff, fn, local, held in self.t.held:
            for holder, rhs in held:
                tok = held_token(fn, rhs)
                if tok is None or self.g.find(tok) not in planned:
                    continue
                shown = self.name(rhs.ref) if rhs.kind == "function" else (
                    f"parameter #{rhs.ref}" if rhs.kind == "param" else rhs.ref)
                plan.local_copies.append(LocalCopy(self.name(fn.usr), self.idx.rel(ff.path), holder.line, local, shown,
                                                   self.group_id(self.g.find(tok))))
        for ff, u, fn in seeds:
            root = self.group_of(fn.usr)
            src = self.use_source(fn, u.offset, planned)
            if src is not None:
                plan.conversions.append(Conversion(self.idx.rel(ff.path), u.line, u.column, self.name(fn.usr),
                                                   fn.usr, src.expr, src.provenance, src.confidence,
                                                   self._needs(src, fn.usr)))
                continue
            why = failed.get(root, "no source")
            item = Unresolved(self.name(fn.usr), fn.usr, self.idx.rel(ff.path), u.line, why)
            plan.remaining.append(item)
        for root, why in failed.items():
            for usr in self.group_funcs(root):
                d = self.t.defs.get(usr)
                file, line = (self.idx.rel(d[0].path), d[1].line) if d else ("", 0)
                plan.unresolved.append(Unresolved(self.name(usr), usr, file, line, why))
        for pf in plan.functions:
            if pf.exported:
                plan.unresolved.append(Unresolved(pf.name, pf.usr, pf.file, pf.line,
                                                  "exported to modules: out-of-tree callers must change too"))
        self._sort(plan)
        return plan

    def group_id(self, root: str) -> str:
        """A readable, stable name for a signature group: its ops member, else
        its callback type, else its first function."""
        toks = self.g.tokens(root)
        for kind in ("m:", "c:", "f:"):
            named = sorted(self._callback_type(t[2:])[0] if kind == "c:" else self.callee_name(t)
                           for t in toks if t.startswith(kind))
            if named:
                return named[0]
        return root

    def _home(self, root: str) -> str:
        for tok in self.g.tokens(root):
            kind = {"m:": "member", "c:": "callback"}.get(tok[:2])
            d = self.t.decls.get((kind, tok[2:].removeprefix("callback:"))) if kind else None
            if d is not None:
                return self.idx.rel(d.file)
        for tok in self.g.tokens(root):
            if tok.startswith("f:") and tok[2:] in self.t.defs:
                return self.idx.rel(self.t.defs[tok[2:]][0].path)
        return ""

    def _needs(self, src: Source | None, usr: str) -> str:
        return self.group_id(self.group_of(usr)) if src is not None and src.kind == "new-param" else ""

    def own_reason(self, fn: F.Function, planned: set[str], with_file: bool = False) -> str | None:
        """Why this function itself needs the mapping: its first read with no
        source of its own, else its first call that must pass one."""
        ff = self.t.defs[fn.usr][0]
        where = f"{self.idx.rel(ff.path)}:" if with_file else "line "
        name = f"{self.name(fn.usr)} " if with_file else ""
        for u in sorted(self._seeds_of.get(fn.usr, []), key=lambda u: u.offset):
            if self.best(self.sources_at(fn, u.offset)) is None:
                return f"{name}reads {self.rule.field.struct}->{self.rule.field.member} at {where}{u.line}"
        if "by_caller" not in self._cache:
            by_caller: dict[str, list[Site]] = defaultdict(list)
            for root in sorted(planned):
                for site in self.group_sites(root):
                    by_caller[site[1].caller].append(site)
            self._cache["by_caller"] = by_caller
        for sff, call, _, target in sorted(self._cache["by_caller"].get(fn.usr, []), key=lambda s: s[1].start):
            if self.best(self.sources_at(fn, call.start)) is not None:
                continue
            if call.kind == "member" and self.member_base(call) is not None:
                continue
            at = f"at {where}{call.line}" if with_file else f"(line {call.line})"
            return f"{name}calls {self.callee_name(target)} {at}"
        return None

    def reason(self, fn: F.Function, root: str, planned: set[str]) -> str:
        own = self.own_reason(fn, planned)
        shared = [t[2:] for t in self.g.tokens(root) if not t.startswith("f:")] or \
            [self.name(u) for u in self.group_funcs(root) if u != fn.usr]
        if own and not shared:
            return own
        if own:
            return f"{own}; signature shared with {', '.join(shared)}"
        origin = None
        for usr in sorted(self.group_funcs(root), key=lambda u: (u not in self._readers, self.name(u))):
            if usr != fn.usr and usr in self.t.defs:
                origin = self.own_reason(self.t.defs[usr][1], planned, with_file=True)
                if origin:
                    break
        return f"signature shared with {', '.join(shared)}" + (f" ({origin})" if origin else "")

    def _arg_index(self, root: str, caller: F.Function | None) -> int:
        funcs = self.group_funcs(root)
        if funcs and funcs[0] in self.t.defs:
            return self.param_index(self.t.defs[funcs[0]][1])
        return 0

    def _callback_type(self, node: str) -> tuple[str, str, int]:
        name = node.removeprefix("callback:")
        d = self.t.decls.get(("callback", name))
        if d is not None:
            return (name, self.idx.rel(d.file), d.line)
        owner, _, idx = name.rpartition("#")
        od = self.t.defs.get(owner)
        if od is not None:
            return (f"{self.name(owner)}#{idx}", self.idx.rel(od[0].path), od[1].line)
        return (name, "", 0)

    @staticmethod
    def _sort(plan: Plan) -> None:
        plan.functions.sort(key=lambda f: (f.file, f.line, f.name))
        plan.members = sorted(set(plan.members))
        plan.callback_types = sorted(set(plan.callback_types))
        plan.call_sites.sort(key=lambda s: (s.file, s.line, s.column, s.callee))
        plan.conversions.sort(key=lambda c: (c.file, c.line, c.column))
        plan.unresolved = sorted(set(plan.unresolved), key=lambda u: (u.file, u.line, u.function, u.reason))
        plan.remaining.sort(key=lambda u: (u.file, u.line, u.function))
        plan.local_copies = sorted(set(plan.local_copies), key=lambda l: (l.file, l.line, l.local))
        plan.groups.sort(key=lambda g: g.id)


def make_plan(idx: Index, rule: Rule, scope, config: dict) -> Plan:
    """Pure: the same facts and rule give the same plan."""
    return _Planner(idx, rule, scope, config).run()



# -- renderings -------------------------------------------------------------------------


def to_json(plan: Plan) -> str:
    import json

    names = {f.usr: f.name for f in plan.functions}
    data = {
        "rule": plan.rule,
        "config": plan.config,
        "functions": [{"name": f.name, "file": f.file, "line": f.line, "usr": f.usr, "reason": f.reason,
                       "param_name": f.param_name, "param_index": f.param_index, "exported": f.exported}
                      for f in plan.functions],
        "members": [{"struct": s, "member": m} for s, m in plan.members],
        "groups": [{"id": g.id, "functions": sorted(names.get(u, u) for u in g.functions),
                    "members": list(g.members), "callback_types": list(g.callbacks)} for g in plan.groups],
        "callback_types": [{"name": n, "file": f, "line": l} for n, f, l in plan.callback_types],
        "call_sites": [{"file": c.file, "line": c.line, "caller": c.caller, "callee": c.callee, "via": c.via,
                        "argument": c.argument, "provenance": c.provenance, "confidence": c.confidence}
                       for c in plan.call_sites],
        "local_copies": [{"function": l.function, "file": l.file, "line": l.line, "local": l.local, "holds": l.holds}
                         for l in plan.local_copies],
        "conversions": [{"file": c.file, "line": c.line, "function": c.function, "expr": c.expr,
                         "provenance": c.provenance, "confidence": c.confidence} for c in plan.conversions],
        "unresolved": [{"function": u.function, "file": u.file, "line": u.line, "reason": u.reason}
                       for u in plan.unresolved],
        "remaining": [{"function": u.function, "file": u.file, "line": u.line, "reason": u.reason}
                      for u in plan.remaining],
        "summary": plan.summary(),
        "caveats": plan.caveats,
    }
    return json.dumps(data, indent=2) + "\n"


def _dir(path: str) -> str:
    parts = path.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]


def to_table(plan: Plan, width: int | None = None) -> str:
    import io

    from rich.console import Console
    from rich.table import Table

    buf = io.StringIO()
    con = Console(file=buf, width=width or 120, force_terminal=False, color_system=None)
    by_dir: dict[str, list[PlannedFunction]] = defaultdict(list)
    for f in plan.functions:
        by_dir[_dir(f.file)].append(f)
    for d, funcs in sorted(by_dir.items()):
        t = Table(title=f"{d}: {len(funcs)} function(s) get `{funcs[0].param_name}`", title_justify="left",
                  show_edge=False)
        for col in ("function", "file:line", "param", "why"):
            t.add_column(col)
        for f in funcs:
            t.add_row(f.name + (" [exported]" if f.exported else ""), f"{f.file}:{f.line}",
                      f"#{f.param_index} {f.param_name}", f.reason)
        con.print(t)
        con.print()
    sites = Table(title="Call sites not exact (check these)", title_justify="left", show_edge=False)
    for col in ("file:line", "caller -> callee", "argument", "confidence", "provenance"):
        sites.add_column(col)
    for c in plan.call_sites:
        if c.confidence != "exact":
            sites.add_row(f"{c.file}:{c.line}", f"{c.caller} -> {c.callee}", c.argument, c.confidence, c.provenance)
    con.print(sites)
    if plan.unresolved:
        con.print()
        un = Table(title="Unresolved", title_justify="left", show_edge=False)
        for col in ("function", "file:line", "reason"):
            un.add_column(col)
        for u in plan.unresolved:
            un.add_row(u.function, f"{u.file}:{u.line}", u.reason)
        con.print(un)
    s = plan.summary()
    con.print(f"\n{s['functions']} functions, {s['members']} ops members, {s['callback_types']} callback types, "
              f"{s['call_sites']} call sites ({', '.join(f'{k} {v}' for k, v in s['call_sites_by_confidence'].items())}), "
              f"{s['conversions']} reads converted, {s['unresolved']} unresolved ({s['unresolved_readers']} of them "
              f"read the field), {s['remaining_uses']} uses remain")
    con.print("\nCaveats:")
    for c in plan.caveats:
        con.print(f"  - {c}")
    return buf.getvalue()


def to_dot(plan: Plan) -> str:
    """Uses at the bottom, sources at the top: edges point from caller to callee."""
    planned = {f.name for f in plan.functions}
    lines = ["digraph plan {", "\trankdir=BT;", "\tnode [shape=box, fontname=monospace];"]
    for f in plan.functions:
        lines.append(f'\t"{f.name}" [style=filled, fillcolor=lightyellow];')
    for c in plan.conversions:
        use = f"{c.file}:{c.line}"
        lines.append(f'\t"{use}" [shape=note];')
        lines.append(f'\t"{use}" -> "{c.function}" [label="{c.expr}"];')
    for c in plan.call_sites:
        style = "solid" if c.confidence == "exact" else "dashed"
        color = {"exact": "black", "derived": "blue", "review": "red"}[c.confidence]
        lines.append(f'\t"{c.callee}" -> "{c.caller}" [label="{c.argument}", style={style}, color={color}];')
        if c.caller not in planned:
            lines.append(f'\t"{c.caller}" [shape=box, style=bold];')
    lines.append("}")
    return "\n".join(lines) + "\n"


RENDERERS = {"json": to_json, "table": to_table, "dot": to_dot}
