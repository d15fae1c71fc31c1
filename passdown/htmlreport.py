"""The report as one self-contained html file (templates/report.html.j2).

Inline CSS and JavaScript, inline SVG, no network: the file can be mailed or
attached to a bug.  It holds a chart of the uses left per subsystem, split by
why they are left; a sortable, filterable table of every use with its source
snippet; for converted uses the chain that brings the mapping down, drawn as a
graph; and the caveats.  Deterministic: no timestamps, so the corpus golden
file compares byte for byte (with ``graphviz=False``: Graphviz output varies
with its version).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import jinja2

from . import svg
from .report import configs_text
from .classify import CATEGORIES

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                              keep_trailing_newline=True, undefined=jinja2.StrictUndefined)


def chart_rows(rep) -> tuple[str, list[tuple[str, list[tuple[str, int]]]]]:
    """What the chart shows: uses not converted, per subsystem, split by reason.

    Without a plan every analysed use is work left: split by access kind, and
    the uses not analysed by why."""
    rows = []
    for group, uses in _groups(rep).items():
        c = Counter(u.reason_kind or u.kind or "?" for u in uses if u.status != "converted")
        if c:
            rows.append((group, sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))))
    rows.sort(key=lambda r: (-sum(n for _, n in r[1]), r[0]))
    title = ("Remaining uses per subsystem, by reason" if rep.planned
             else "Uses per subsystem, by access (not analysed: by reason)")
    return title, rows


def _groups(rep) -> dict[str, list]:
    out: dict[str, list] = {}
    for u in rep.uses:
        out.setdefault(u.group, []).append(u)
    return out


def render(rep, graphviz: bool | None = None) -> str:
    title, rows = chart_rows(rep)
    segments = sorted({seg for _, segs in rows for seg, _ in segs})
    colour = svg.colours(segments)
    chains: dict[tuple, str] = {}  # one drawing per distinct chain
    uses = []
    for i, u in enumerate(rep.uses):
        first, lines = rep.snippets.get((u.file, u.line), (u.line, [u.text]))
        graph = None
        if u.chain:
            key = (u.function, tuple(tuple(e) for e in u.chain))
            if key not in chains:
                chains[key] = svg.chain_graph(u.function or "?", u.chain, graphviz=graphviz, uid=str(len(chains)))
            graph = chains[key]
        uses.append({"u": u, "i": i, "first": first, "lines": lines, "graph": graph})
    s = rep.summary()
    return _env().get_template("report.html.j2").render(
        rep=rep, s=s, uses=uses, chart=svg.bars(rows, colour, title=title) if rows else "",
        legend=[(seg, colour[seg]) for seg in segments], categories=CATEGORIES,
        groups=list(s["by_subsystem"].items()), configs_text=configs_text)
