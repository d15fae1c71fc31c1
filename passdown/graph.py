"""The whole-tree call graph.

Nodes are functions (keyed by USR; static functions are distinct per file),
ops members (``member:address_space_operations.writepage``), callback types
(``callback:writepage_t``, or ``callback:<function key>#<index>`` for a plain
function-pointer parameter) and global variables holding function addresses
(``var:name``).

Edges carry a ``kind``: ``direct``, ``via-member``, ``via-callback`` or
``address-taken``.  A call through an ops member is two edges: caller ->
member node, and member node -> every function stored in that member anywhere
in the tree.  Callbacks are the same: caller -> callback node -> every function
passed as that callback.
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx

from . import facts as F
from .index import Index

DIRECT, MEMBER, CALLBACK, ADDRESS = "direct", "via-member", "via-callback", "address-taken"


def member_node(key: str) -> str:
    return f"member:{key}"


def callback_node(cb: str, owner: str, index: int) -> str:
    """Typedef'd callbacks share one node tree-wide; a plain function-pointer
    parameter is its own callback type."""
    return f"callback:{cb}" if cb else f"callback:{owner}#{index}"


def build(index: Index) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    _add_functions(g, index)
    for ff in index.files.values():
        locals_of = {fn.usr: fn for fn in ff.functions if fn.is_definition}
        for call in ff.calls:
            caller = locals_of.get(call.caller)
            for target, kind, attrs in _call_targets(call, caller):
                _edge(g, call.caller, target, kind, ff.path, call.line, **attrs)
            for source, target in _passed_on(call, caller):
                _edge(g, source, target, CALLBACK, ff.path, call.line)
        for op in ff.ops:
            _edge(g, member_node(f"{op.struct}.{op.member}"), op.function, MEMBER, ff.path, op.line)
        for ref in ff.refs:
            for source, kind in _ref_sources(ref):
                _edge(g, source, ref.function, kind, ff.path, ref.line)
    for node, data in g.nodes(data=True):
        if "type" not in data:
            data.update(_synthetic_attrs(g, node))
    return g


def _add_functions(g: nx.MultiDiGraph, index: Index) -> None:
    for ff, fn in index.functions():
        data = g.nodes.get(fn.usr)
        # Prefer the definition's location; a prototype only fills a gap.
        if data is not None and data.get("defined") and not fn.is_definition:
            continue
        g.add_node(
            fn.usr,
            type="function",
            name=fn.name,
            file=index.rel(ff.path),
            line=fn.line,
            static=fn.storage == "static",
            defined=fn.is_definition or bool(data and data.get("defined")),
        )


def _call_targets(call: F.Call, caller: F.Function | None):
    if call.kind == "direct":
        yield call.target, DIRECT, {}
    elif call.kind == "member":
        yield member_node(call.target), MEMBER, {}
    elif call.kind == "param" and call.callback is not None:
        yield callback_node(call.callback, call.caller, int(call.target)), CALLBACK, {}
    elif call.kind == "local" and caller is not None:
        # A local copy calls whatever was stored in it.
        for rhs in _local_sources(caller, call.target):
            if rhs.kind == "function":
                yield rhs.ref, DIRECT, {"local": call.target}
            elif rhs.kind == "member":
                yield member_node(rhs.ref), MEMBER, {"local": call.target}
            elif rhs.kind == "param":
                idx = int(rhs.ref)
                cb = caller.params[idx].callback if idx < len(caller.params) else None
                if cb is not None:
                    yield callback_node(cb, call.caller, idx), CALLBACK, {"local": call.target}


def _local_sources(caller: F.Function | None, name: str) -> list[F.Rhs]:
    if caller is None:
        return []
    sources = [loc.init for loc in caller.locals if loc.name == name and loc.init]
    return sources + [a.rhs for a in caller.assigns if a.target == name]


def _passed_on(call: F.Call, caller: F.Function | None):
    """Callback arguments that are not a function name: an ops member's value
    (``(filler_t *)mapping->a_ops->readpage``), directly or through a local."""
    if call.kind != "direct":
        return
    for i, arg in enumerate(call.args):
        if arg.callback is None or arg.function:
            continue
        node = callback_node(arg.callback, call.target, i)
        if arg.member:
            yield node, member_node(arg.member)
        for rhs in _local_sources(caller, arg.local) if arg.local else ():
            if rhs.kind == "function":
                yield node, rhs.ref
            elif rhs.kind == "member":
                yield node, member_node(rhs.ref)


def _ref_sources(ref: F.FuncRef):
    if ref.context == "arg":
        if ref.callback is not None and (ref.callback or ref.call_kind == "direct"):
            yield callback_node(ref.callback, ref.call_target or "", ref.index or 0), CALLBACK
        elif ref.holder:
            yield ref.holder, ADDRESS
    elif ref.context == "address" and ref.holder:
        yield ref.holder, ADDRESS


def _edge(g: nx.MultiDiGraph, u: str, v: str, kind: str, path: str, line: int, **attrs) -> None:
    if g.has_edge(u, v, key=kind):
        g.edges[u, v, kind]["sites"].append((path, line))
        return
    g.add_edge(u, v, key=kind, kind=kind, sites=[(path, line)], **attrs)


def _synthetic_attrs(g: nx.MultiDiGraph, node: str) -> dict:
    kind, _, rest = node.partition(":")
    if kind in ("member", "callback", "var"):
        return {"type": kind, "name": rest}
    # A function only ever seen through a call (declared outside the tree).
    return {"type": "function", "name": node.rsplit("@", 1)[-1], "file": None, "static": False, "defined": False}


# -- naming -----------------------------------------------------------------------


def display(g: nx.MultiDiGraph, node: str) -> str:
    """Human name: ``name`` or ``name@file`` for statics, ``struct.member``,
    ``callback:writepage_t``, ``var:name``."""
    data = g.nodes[node]
    t = data.get("type")
    if t == "function":
        if data.get("static") and data.get("file"):
            return f"{data['name']}@{data['file']}"
        return data["name"]
    if t == "member":
        return data["name"]
    if t == "callback":
        owner, sep, idx = data["name"].rpartition("#")
        if sep and owner in g:
            return f"callback:{display(g, owner)}#{idx}"
        return node
    return node


def find(g: nx.MultiDiGraph, name: str) -> list[str]:
    """Nodes matching a user-typed name: ``func``, ``func@file.c``, ``struct.member``."""
    hits = [n for n in g.nodes if display(g, n) == name]
    if hits:
        return hits
    base, _, file = name.partition("@")
    return [
        n for n, d in g.nodes(data=True)
        if d.get("type") == "function" and d.get("name") == base
        and (not file or (d.get("file") or "").endswith(file))
    ]


def named_edges(g: nx.MultiDiGraph) -> set[tuple[str, str, str]]:
    return {(display(g, u), display(g, v), k) for u, v, k in g.edges(keys=True)}


# -- traversal for the CLI ----------------------------------------------------------


def neighbourhood(g: nx.MultiDiGraph, root: str, *, callers: bool, depth: int) -> list[tuple[int, str, str]]:
    """(depth, node, edge kind) in depth-first order, each node expanded once."""
    out: list[tuple[int, str, str]] = []
    seen = {root}
    step = g.in_edges if callers else g.out_edges

    def visit(node: str, d: int) -> None:
        if d >= depth:
            return
        edges = sorted(step(node, keys=True), key=lambda e: display(g, e[0] if callers else e[1]))
        for u, v, kind in edges:
            nxt = u if callers else v
            out.append((d + 1, nxt, kind))
            if nxt not in seen:
                seen.add(nxt)
                visit(nxt, d + 1)

    visit(root, 0)
    return out


def to_dot(g: nx.MultiDiGraph, nodes: set[str]) -> str:
    styles = {DIRECT: "solid", MEMBER: "bold", CALLBACK: "dashed", ADDRESS: "dotted"}
    lines = ["digraph passdown {", "\trankdir=BT;", "\tnode [shape=box, fontname=monospace];"]
    for n in sorted(nodes):
        shape = {"member": "ellipse", "callback": "diamond", "var": "note"}.get(g.nodes[n].get("type"), "box")
        lines.append(f'\t"{display(g, n)}" [shape={shape}];')
    for u, v, k in sorted(g.subgraph(nodes).edges(keys=True)):
        lines.append(f'\t"{display(g, u)}" -> "{display(g, v)}" [label="{k}", style={styles[k]}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def stats(g: nx.MultiDiGraph) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for _, d in g.nodes(data=True):
        counts[f"nodes:{d.get('type')}"] += 1
    for _, _, k in g.edges(keys=True):
        counts[f"edges:{k}"] += 1
    return dict(sorted(counts.items()))


