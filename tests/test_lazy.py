"""Planning on demand (passdown/lazy.py): the same plan as indexing every TU,
from fewer TUs; stop rules for core callbacks; callbacks only called elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_passdown

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "kern"

HEADER = """\
struct address_space { int nrpages; };
struct page { unsigned long flags; struct address_space *mapping; };
typedef int (*thread_fn)(void *data);
int start_thread(thread_fn fn, void *data);
int read_it(struct page *p);
struct work { void (*func)(struct work *w); struct page *page; };
"""

FILES = {
    # The only read in scope.
    "fs/x.c": """\
#include "mm.h"
int read_it(struct page *p)
{
	struct address_space *m = p->mapping;
	return m != 0;
}
""",
    # Outside the scope, calls read_it with a mapping of its own: must be found.
    "drivers/y.c": """\
#include "mm.h"
int use_it(struct address_space *mapping, struct page *p)
{
	return read_it(p);
}
""",
    # Spells nothing the plan needs: never parsed.
    "drivers/z.c": """\
#include "mm.h"
int other(void)
{
	return 2;
}
""",
    # A thread function that reads the field, called directly by another thread
    # function; both run only from start_thread(), which no indexed file defines.
    "fs/k.c": """\
#include "mm.h"
int worker(void *data)
{
	struct page *p = data;
	return p->mapping != 0;
}
int worker2(void *data)
{
	return worker(data);
}
int boot(struct page *p)
{
	return start_thread(worker, p) + start_thread(worker2, p);
}
""",
    # A work function: a core-kernel callback that a stop rule names.
    "fs/w.c": """\
#include "mm.h"
static void work_fn(struct work *w)
{
	struct address_space *m = w->page->mapping;
	(void)m;
}
void run(struct work *w)
{
	w->func = work_fn;
	w->func(w);
}
""",
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "include").mkdir(parents=True)
    (root / "include" / "mm.h").write_text(HEADER)
    entries = []
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
        entries.append({"directory": ".", "file": rel, "arguments": ["gcc", "-Iinclude", "-c", rel]})
    (root / "compile_commands.json").write_text(json.dumps(entries))
    return root


def plan(tree: Path, cache: Path, *extra: str) -> tuple[dict, str]:
    res = run_passdown("plan", "--tree", str(tree), "--cache", str(cache), "--format", "json", *extra)
    return json.loads(res.stdout), res.stderr


SAME = ("functions", "members", "groups", "callback_types", "call_sites", "local_copies", "conversions")


def test_lazy_plan_parses_only_what_it_needs_and_equals_the_full_plan(tree, tmp_path):
    lazy, err = plan(tree, tmp_path / "c1", "--scope", "fs", "--lazy", "-v")
    full, _ = plan(tree, tmp_path / "c2", "--scope", "fs")
    assert "planned on demand: 4 of 5 TUs" in err  # drivers/z.c spells nothing the plan needs
    for key in SAME:
        assert lazy[key] == full[key], key
    assert {(u["file"], u["line"]) for u in lazy["remaining"]} == {(u["file"], u["line"]) for u in full["remaining"]}
    # The caller outside the scope was found and passes its own mapping.
    assert [(c["file"], c["caller"], c["argument"]) for c in lazy["call_sites"]] == [("drivers/y.c", "use_it", "mapping")]
    assert [f["name"] for f in lazy["functions"]] == ["read_it"]


def test_second_lazy_run_starts_from_where_the_first_ended(tree, tmp_path):
    first, err1 = plan(tree, tmp_path / "c", "--scope", "fs", "--lazy", "-v")
    again, err2 = plan(tree, tmp_path / "c", "--scope", "fs", "--lazy", "-v")
    assert first == again
    assert "in 1 rounds" in err2 and "in 1 rounds" not in err1


def test_callback_only_called_elsewhere_is_not_planned(tree, tmp_path):
    """worker2 calls worker directly, but both run from start_thread(), outside
    the indexed files: that call cannot pass a mapping, so neither changes."""
    got, _ = plan(tree, tmp_path / "c", "--scope", "fs")
    names = {f["name"] for f in got["functions"]}
    assert not names & {"worker", "worker2"}
    why = {u["line"]: u["reason"] for u in got["remaining"] if u["file"] == "fs/k.c"}
    assert why[5].startswith("no source: thread_fn is not called in the indexed tree")


def test_stop_rule_member_fails_its_group(tree, tmp_path):
    got, _ = plan(tree, tmp_path / "c", "--scope", "fs")
    why = {u["line"]: u["reason"] for u in got["remaining"] if u["file"] == "fs/w.c"}
    # Without the stop rule the member is followed: run() calls it and has no source.
    assert why[4] == "no source: run has no caller in the indexed tree and no mapping of its own (through caller run)"
    rule = (CORPUS.parent.parent / "rules" / "page-mapping.toml").read_text()
    custom = tmp_path / "stop.toml"
    custom.write_text(rule.replace('    "work_struct.func",', '    "work.func",'))
    got, _ = plan(tree, tmp_path / "c", "--scope", "fs", "--rule", str(custom))
    why = {u["line"]: u["reason"] for u in got["remaining"] if u["file"] == "fs/w.c"}
    assert why[4] == "stop rule: work.func has a signature core code fixes"


def test_rounds_stop_once_most_of_a_large_database_is_wanted(tmp_path, monkeypatch):
    """Past lazy.EAGER_SHARE of the compile database the rest is parsed in one
    round; the plan is the one the rounds would have reached."""
    from passdown import lazy, rules
    from passdown.workspace import Workspace

    ws = Workspace.open(CORPUS, None, tmp_path / "c")
    rule, _ = rules.load(None)
    scope = ws.scope(["fs/ext2"])
    args = (ws.tree, ws.commands(), rule, scope)
    _, by_rounds, r1 = lazy.make_plan(*args, ws.open_cache(), ws.config(), jobs=2)
    monkeypatch.setattr(lazy, "EAGER_MIN", 0)
    monkeypatch.setattr(lazy, "EAGER_SHARE", 0.0)
    ws2 = Workspace.open(CORPUS, None, tmp_path / "c2")
    idx, eager, r2 = lazy.make_plan(*args, ws2.open_cache(), ws2.config(), jobs=2)
    assert len(idx.tus) == len(ws.commands()) > sum(r1.added)
    assert len(r2.added) == 2  # the first round, then everything else at once
    for key in ("functions", "call_sites", "conversions", "groups"):
        assert getattr(eager, key) == getattr(by_rounds, key), key
