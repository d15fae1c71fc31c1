"""Inline SVG for the html report: stacked bars and small call-chain graphs.

No network, no scripts: plain SVG elements a browser draws as they are.  A
chain graph comes from Graphviz (``dot -Tsvg``) when it is installed and
allowed, else from a small layered layout: the converted function at the
bottom, each caller one layer above the nearest function it calls, ops
members and callback types drawn as ellipses between caller and callee.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html import escape

PALETTE = ("#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
           "#1f77b4", "#2ca02c", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94")
CHAR_W = 7.2  # monospace 12px, roughly
FONT = "font-family=\"monospace\" font-size=\"12\""


def colours(keys) -> dict[str, str]:
    return {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(keys)}


def bars(rows: list[tuple[str, list[tuple[str, int]]]], colour: dict[str, str], *, title: str) -> str:
    """Horizontal stacked bars: one row per (label, [(segment, count), ...])."""
    label_w = max([len(r[0]) for r in rows] + [10]) * CHAR_W + 10
    total_max = max([sum(n for _, n in segs) for _, segs in rows] + [1])
    bar_w, row_h = 420.0, 22
    width = int(label_w + bar_w + 60)
    height = 30 + row_h * len(rows) + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
           f'<text x="0" y="16" {FONT} font-weight="bold">{escape(title)}</text>']
    for i, (label, segs) in enumerate(rows):
        y = 30 + i * row_h
        out.append(f'<text x="{label_w - 6:.0f}" y="{y + 14}" {FONT} text-anchor="end">{escape(label)}</text>')
        x = label_w
        for seg, n in segs:
            w = bar_w * n / total_max
            out.append(f'<rect class="bar" data-group="{escape(label)}" data-segment="{escape(seg)}" data-count="{n}" '
                       f'x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 6}" fill="{colour[seg]}">'
                       f'<title>{escape(label)}: {n} {escape(seg)}</title></rect>')
            x += w
        out.append(f'<text x="{x + 4:.1f}" y="{y + 14}" {FONT}>{sum(n for _, n in segs)}</text>')
    out.append("</svg>")
    return "\n".join(out)


# -- chain graphs -------------------------------------------------------------------------


def chain_graph(target: str, edges, *, graphviz: bool | None = None, uid: str = "0") -> str:
    """SVG of a propagation chain.  *edges*: (caller, callee, via, argument, site, end)."""
    nodes, links = _graph(target, edges)
    if graphviz is not False and shutil.which("dot"):
        svg = _dot(nodes, links)
        if svg is not None:
            return svg
    return layered(nodes, links, uid=uid)


def _graph(target: str, edges):
    """Nodes {name: shape} and links [(from, to, label)]: caller -> via -> callee."""
    nodes = {target: "target"}
    links = []
    for caller, callee, via, arg, _site, end in edges:
        nodes.setdefault(caller, "source" if end else "box")
        nodes.setdefault(callee, "box")
        if via:
            nodes.setdefault(via, "via")
            links.append((caller, via, arg))
            links.append((via, callee, ""))
        else:
            links.append((caller, callee, arg))
    return nodes, sorted(set(links))


def _dot(nodes: dict[str, str], links) -> str | None:
    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    shape = {"target": 'shape=box, style="filled,bold", fillcolor="#fff3b0"', "source": 'shape=box, style=filled, fillcolor="#d8f0d8"',
             "box": "shape=box", "via": 'shape=ellipse, style=dashed'}
    text = ["digraph chain {", "  rankdir=TB; node [fontname=monospace, fontsize=10]; edge [fontname=monospace, fontsize=9];"]
    text += [f"  {q(n)} [{shape[k]}];" for n, k in sorted(nodes.items())]
    text += [f"  {q(a)} -> {q(b)}" + (f" [label={q(l)}]" if l else "") + ";" for a, b, l in links]
    text.append("}")
    try:
        res = subprocess.run(["dot", "-Tsvg"], input="\n".join(text), capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if res.returncode != 0 or "<svg" not in res.stdout:
        return None
    svg = res.stdout[res.stdout.index("<svg"):]
    return re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S).replace("<svg ", '<svg class="chain" ', 1)


def layered(nodes: dict[str, str], links, uid: str = "0") -> str:
    """A pure-Python layered drawing: layer 0 (bottom) is the converted function."""
    target = next(n for n, k in nodes.items() if k == "target")
    up: dict[str, set[str]] = {}
    for a, b, _ in links:
        up.setdefault(b, set()).add(a)
    layer = {target: 0}
    todo = [target]
    while todo:  # breadth first: a caller sits one layer above the nearest callee
        n = todo.pop(0)
        for a in sorted(up.get(n, ())):
            if a not in layer:
                layer[a] = layer[n] + 1
                todo.append(a)
    for n in nodes:
        layer.setdefault(n, max(layer.values()) + 1)
    depth = max(layer.values())
    rows: list[list[str]] = [[] for _ in range(depth + 1)]
    for n in sorted(nodes):
        rows[layer[n]].append(n)
    # One barycentre pass from the bottom: order each layer by where its callees are.
    pos: dict[str, float] = {n: i for i, n in enumerate(rows[0])}
    down: dict[str, set[str]] = {}
    for a, b, _ in links:
        down.setdefault(a, set()).add(b)
    for d in range(1, depth + 1):
        def key(n: str) -> tuple[float, str]:
            below = [pos[b] for b in down.get(n, ()) if b in pos and layer[b] < d]
            return (sum(below) / len(below) if below else 1e9, n)

        rows[d].sort(key=key)
        pos.update({n: i for i, n in enumerate(rows[d])})

    def width(n: str) -> float:
        return len(n) * CHAR_W + 16

    gap_x, row_h, node_h = 24, 64, 24
    row_w = [sum(width(n) for n in r) + gap_x * (len(r) - 1) for r in rows]
    total_w = max(row_w + [100]) + 20
    height = (depth + 1) * row_h + 10
    xy: dict[str, tuple[float, float]] = {}
    for d, r in enumerate(rows):
        x = (total_w - row_w[d]) / 2
        y = height - (d + 1) * row_h + 20
        for n in r:
            xy[n] = (x + width(n) / 2, y)
            x += width(n) + gap_x
    style = {"target": 'fill="#fff3b0" stroke="#333" stroke-width="2"', "source": 'fill="#d8f0d8" stroke="#333"',
             "box": 'fill="#ffffff" stroke="#333"', "via": 'fill="#ffffff" stroke="#666" stroke-dasharray="4 2"'}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chain" width="{total_w:.0f}" height="{height}" '
           f'viewBox="0 0 {total_w:.0f} {height}">',
           f'<defs><marker id="arrow-{uid}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#333"/></marker></defs>']
    for a, b, label in links:
        (x1, y1), (x2, y2) = xy[a], xy[b]
        if y1 < y2:  # downwards: bottom of a to top of b
            y1, y2 = y1 + node_h / 2, y2 - node_h / 2
        elif y1 > y2:  # a call back up (recursion): top of a to bottom of b
            y1, y2 = y1 - node_h / 2, y2 + node_h / 2
        out.append(f'<line class="edge" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#333" '
                   f'marker-end="url(#arrow-{uid})"/>')
        if label:
            out.append(f'<text x="{(x1 + x2) / 2 + 4:.1f}" y="{(y1 + y2) / 2:.1f}" font-family="monospace" '
                       f'font-size="10" fill="#225">{escape(label)}</text>')
    for n in sorted(nodes):
        x, y = xy[n]
        w = width(n)
        if nodes[n] == "via":
            out.append(f'<ellipse class="node" cx="{x:.1f}" cy="{y:.1f}" rx="{w / 2:.1f}" ry="{node_h / 2}" {style["via"]}/>')
        else:
            out.append(f'<rect class="node" x="{x - w / 2:.1f}" y="{y - node_h / 2:.1f}" width="{w:.1f}" height="{node_h}" '
                       f'rx="3" {style[nodes[n]]}/>')
        out.append(f'<text x="{x:.1f}" y="{y + 4:.1f}" {FONT} text-anchor="middle">{escape(n)}</text>')
    out.append("</svg>")
    return "\n".join(out)
