"""The report as SARIF 2.1.0, for code-scanning tools (GitHub code scanning, IDE viewers).

One rule per Glisse category (``PM-FILE`` ...), one result per use.  Levels:
a remaining or not-analysed use is a ``warning`` (work left), a converted or
merely analysed use a ``note``.  Locations are relative to the tree
(``uriBaseId`` ``SRCROOT``), so the log does not depend on where the tree is
checked out; each result carries a ``partialFingerprints`` entry built from
file, function and source line (not the line number), so a viewer tracks a use
across revisions the way ``report --diff`` does.  The classification goes in
each result's ``properties`` (with, when several configs were merged, the
configs that analysed the use and those that skipped it); the caveats are the invocation's
``toolExecutionNotifications`` and the run's ``properties.caveats``.
"""

from __future__ import annotations

import hashlib
import json

from . import __version__
from .classify import CATEGORIES

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
VERSION = "2.1.0"


def rule_id(category: str) -> str:
    return "PM-" + (category or "other").upper().replace("-", "")


def _level(status: str) -> str:
    return "warning" if status in ("remaining", "not-analysed") else "note"


def _fingerprint(u) -> str:
    text = " ".join(u.text.split())
    return hashlib.sha256(f"{u.file}\0{u.function or ''}\0{text}".encode()).hexdigest()[:32]


def _message(u, field: str, n_configs: int = 0) -> str:
    where = f"in {u.function}()" if u.function else "at file scope" if u.access else "(not analysed)"
    what = {"compare": "compared", "read": "read", "write": "written", "address": "address taken"}.get(u.kind or "", "found")
    parts = [f"{field} {what} {where}"]
    if u.status in ("converted", "remaining", "not-analysed") and u.reason:
        parts.append(f"{u.status}: {u.reason}")
    if n_configs > 1 and u.configs and len(u.configs) < n_configs:
        parts.append(f"analysed under {', '.join(u.configs)} only")
    if u.folio:
        parts.append(f"struct folio in reach: {', '.join(u.folio)}")
    if u.hint:
        parts.append(f"hint: {u.hint}")
    return ". ".join(parts) + "."


def to_sarif(rep) -> str:
    cats = sorted({u.category or "other" for u in rep.uses} | set(CATEGORIES))
    rules = [{
        "id": rule_id(c),
        "name": c,
        "shortDescription": {"text": f"{rep.field} use: {c}"},
        "fullDescription": {"text": CATEGORIES.get(c, c)},
        "defaultConfiguration": {"level": "warning"},
        "properties": {"category": c},
    } for c in cats]
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = []
    for u in rep.uses:
        rid = rule_id(u.category)
        region = {"startLine": u.line, "startColumn": u.column, "endColumn": u.end_column}
        if u.text:
            region["snippet"] = {"text": u.text}
        results.append({
            "ruleId": rid,
            "ruleIndex": index[rid],
            "level": _level(u.status),
            "kind": "review" if _level(u.status) == "warning" else "informational",
            "message": {"text": _message(u, rep.field, len(rep.configs))},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": u.file, "uriBaseId": "SRCROOT"},
                    "region": region,
                },
                **({"logicalLocations": [{"name": u.function, "kind": "function"}]} if u.function else {}),
            }],
            "partialFingerprints": {"passdownUse/v1": _fingerprint(u)},
            "properties": {
                "access": u.access, "kind": u.kind, "compare": u.compare, "macro": u.macro,
                "status": u.status, "reason": u.reason, "reasonKind": u.reason_kind,
                "category": u.category, "categoryEvidence": u.category_why, "folio": list(u.folio),
                "hint": u.hint, "subsystem": u.subsystem, "subsystemStatus": u.subsystem_status,
                "subsystemTree": u.subsystem_tree, "subsystemList": u.subsystem_list,
                "chain": [list(e) for e in u.chain],
                **({"configs": list(u.configs), "skippedIn": list(u.skipped_in)} if rep.merged else {}),
            },
        })
    log = {
        "$schema": SCHEMA,
        "version": VERSION,
        "runs": [{
            "tool": {"driver": {"name": "passdown", "version": __version__, "rules": rules}},
            "invocations": [{
                "executionSuccessful": True,
                "toolExecutionNotifications": [{"level": "note", "message": {"text": c}} for c in rep.caveats],
            }],
            # passdown counts columns in bytes, as gcc does: the same as code points in ASCII source.
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {"tree": rep.tree, "field": rep.field, "scope": rep.scope, "config": rep.config,
                           **({"configs": rep.configs} if rep.merged else {}), "planned": rep.planned, "caveats": rep.caveats},
        }],
    }
    return json.dumps(log, indent=2) + "\n"
