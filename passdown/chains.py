"""Propagation chains: how the mapping reaches a converted use.

A converted read uses either a source it already has (a parameter, a local,
``file->f_mapping``) -- a chain of one step -- or a new parameter.  A new
parameter is filled by every call site into the function's signature group:
direct calls to the function, calls through an ops member it implements
(``address_space_operations.writepage``) and calls through a callback type it
is passed as (``callback:writepage_t``).  Each such site passes either its
own source (the chain ends there) or its own new parameter, and the climb
goes on from that caller.  The result is the sub-graph a reviewer needs to
check that the mapping passed down is the page's.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from . import graph as G

NEW_PARAM = "new parameter"
CALLERS_NEW_PARAM = "the caller's new parameter"
MAX_EDGES = 40  # a chain past this is cut (and says so): the graph must stay readable


@dataclass(frozen=True)
class Edge:
    caller: str  # display name (name@file for statics)
    callee: str  # the function whose new parameter is filled
    via: str  # the ops member or callback type the call goes through ("" for a direct call)
    argument: str  # what the caller passes
    site: str  # file:line of the call
    end: bool  # the caller has its own source: the climb stops here

    def as_list(self) -> list:
        return [self.caller, self.callee, self.via, self.argument, self.site, self.end]


class Chains:
    def __init__(self, plan, g: nx.MultiDiGraph | None):
        self.plan = plan
        self.by_callee: dict[str, list] = {}
        for s in plan.call_sites:
            self.by_callee.setdefault(s.callee, []).append(s)
        self.groups: dict[str, set[str]] = {}  # function display name -> member/callback names
        if g is not None:
            for node, data in g.nodes(data=True):
                if data.get("type") not in ("member", "callback"):
                    continue
                via = G.display(g, node)
                for _, fn, kind in g.out_edges(node, keys=True):
                    if kind in (G.MEMBER, G.CALLBACK) and g.nodes[fn].get("type") == "function":
                        self.groups.setdefault(G.display(g, fn), set()).add(via)

    def of(self, function: str, provenance: str, expr: str) -> tuple[Edge, ...]:
        """The chain that feeds *function*'s converted read."""
        if not provenance.startswith(NEW_PARAM):
            return (Edge(f"{expr} ({provenance})", function, "", expr, "", True),)
        out: list[Edge] = []
        seen = {function}
        todo = [function]
        while todo and len(out) < MAX_EDGES:
            fn = todo.pop(0)
            for target in sorted({fn} | self.groups.get(fn, set())):
                for s in self.by_callee.get(target, ()):
                    climbs = s.provenance.startswith(CALLERS_NEW_PARAM)
                    via = "" if target == fn else target
                    out.append(Edge(s.caller, fn, via, s.argument, f"{s.file}:{s.line}", not climbs))
                    if climbs and s.caller not in seen:
                        seen.add(s.caller)
                        todo.append(s.caller)
        return tuple(sorted(set(out[:MAX_EDGES]), key=lambda e: (e.callee, e.via, e.caller, e.site)))
