"""passdown <verb>: the command line.  The only place that prints or exits."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__
from . import facts as F
from .errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, InputError, PassdownError
from .workspace import Workspace, in_scope

DEFAULT_SCOPE = ("fs", "mm")


def _common(p: argparse.ArgumentParser, several_configs: bool = False) -> None:
    p.add_argument("--tree", default=".", help="root of the kernel checkout (default: current directory)")
    if several_configs:
        # --build and --config share one list, so the order given is the configs' order.
        p.add_argument("--build", dest="sides", action="append", type=_side("build"), metavar="DIR",
                       help="kbuild output directory holding compile_commands.json; give several (or add --config) "
                            "to merge configs: each use says under which it was analysed")
        p.add_argument("--config", dest="sides", action="append", type=_side("config"), metavar="[ARCH:]NAME",
                       help="a config to analyse: allmodconfig, defconfig or a .config FILE, optionally for another "
                            "arch (arm64:defconfig); prepared under the cache directory when it is not yet. "
                            "Repeatable, merged with the --build ones")
    else:
        p.add_argument("--build", help="kbuild output directory holding compile_commands.json")
    p.add_argument("--cache", help="cache directory (default: a per-tree directory under $XDG_CACHE_HOME/passdown)")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: all cores)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="parse on the Dask cluster of this scheduler (tcp://HOST:8786; needs passdown[distributed]; "
                        "default: $PASSDOWN_SCHEDULER, else --jobs local processes)")
    p.add_argument("--no-pch", dest="pch", action="store_false",
                   help="parse every TU on its own, without the shared precompiled headers a full index builds "
                        "(the facts are the same; this is slower)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress, no summary")
    p.add_argument("-v", "--verbose", action="store_true", help="say what is happening")


def _side(kind: str):
    def make(value: str) -> tuple[str, str]:
        return (kind, value)

    make.__name__ = kind
    return make


def _field(text: str) -> F.FieldSpec:
    struct, dot, member = text.partition(".")
    if not dot or not struct or not member:
        raise argparse.ArgumentTypeError(f"'{text}' is not STRUCT.MEMBER, e.g. page.mapping")
    return F.FieldSpec(struct.removeprefix("struct "), member)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="passdown", description=__doc__)
    ap.add_argument("--version", action="version", version=f"passdown {__version__}")
    sub = ap.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = sub.add_parser("prepare", help="configure a kernel tree and write compile_commands.json without building")
    _common(p)
    p.add_argument("--config", default="allmodconfig", help="allmodconfig (default), defconfig or a .config FILE")
    p.add_argument("--arch", default="x86_64")
    p.add_argument("dirs", nargs="*", default=list(DEFAULT_SCOPE), help="directories to get compile commands for")

    for name, help_ in (("index", "parse the scope and cache its facts"),
                        ("report", "list every use of the field in the scope")):
        p = sub.add_parser(name, help=help_)
        _common(p, several_configs=name == "report")
        p.add_argument("--scope", nargs="+", metavar="PATH", help="files or directories (default: fs/ mm/)")
        p.add_argument("--field", type=_field, default=F.FieldSpec("page", "mapping"), help="STRUCT.MEMBER (default page.mapping)")
        if name == "index":
            p.add_argument("--all", action="store_true",
                           help="every TU of the compile database, whatever the scope: the complete call graph")
        if name == "report":
            p.add_argument("--format", choices=("table", "json", "markdown", "cocci", "sarif", "html"), default="table",
                           help="table (default), json, markdown, cocci, sarif (SARIF 2.1.0), html (one self-contained "
                                "file); --diff/--against: table, json or markdown")
            p.add_argument("-o", "--output", help="write to FILE instead of standard output")
            p.add_argument("--after-plan", action="store_true",
                           help="mark each use converted or remaining under the plan (indexes the whole tree)")
            p.add_argument("--rule", help="rule for --after-plan (default page-mapping)")
            p.add_argument("--lazy", action="store_true",
                           help="--after-plan: parse TUs as the plan's demand reaches them (see plan --lazy)")
            p.add_argument("--no-graphviz", action="store_true",
                           help="html: draw the chains with the built-in layout even when Graphviz is installed")
            g = p.add_mutually_exclusive_group()
            g.add_argument("--diff", metavar="REV1..REV2",
                           help="what changed between two revisions of the tree's git repository: uses added, removed "
                                "and moved per subsystem (each revision in a throw-away worktree; the checkout is "
                                "not touched)")
            g.add_argument("--against", metavar="DIR",
                           help="the same against another tree: DIR is the old side, --tree the new one")
            p.add_argument("--against-build", metavar="DIR", help="kbuild output directory of the --against tree")

    p = sub.add_parser("plan", help="decide which functions get the mapping parameter and what each call passes")
    _common(p)
    p.add_argument("--scope", nargs="+", metavar="PATH", help="where to look for uses (default: the rule's scope)")
    p.add_argument("--rule", help="rule name (rules/NAME.toml) or file (default page-mapping)")
    p.add_argument("--format", choices=("table", "json", "dot"), default="table")
    p.add_argument("--lazy", action="store_true",
                   help="parse TUs as the demand reaches them instead of indexing every TU first (same plan, "
                        "shorter unresolved list; pays off when the compile database is much wider than the demand)")
    p.add_argument("-o", "--output", help="write to FILE instead of standard output")

    p = sub.add_parser("apply", help="write the plan as a branch of bisectable commits (and mail-ready patches)")
    _common(p)
    p.add_argument("--scope", nargs="+", metavar="PATH", help="where to look for uses (default: the rule's scope)")
    p.add_argument("--rule", help="rule name (rules/NAME.toml) or file (default page-mapping)")
    p.add_argument("--branch", help="branch to create (default passdown/<rule>)")
    p.add_argument("--base", default="HEAD", help="commit to build the series on (default HEAD; must match the checkout)")
    p.add_argument("--outdir", help="also write the series as patches with cover letters into this new directory")
    p.add_argument("--force", action="store_true", help="replace an existing branch")
    p.add_argument("--show", metavar="COMMIT", help="print one commit of the series as a patch; create nothing")
    p.add_argument("--lazy", action="store_true", help="parse TUs as the demand reaches them (see plan --lazy)")

    p = sub.add_parser("graph", help="show callers or callees of a function, ops member or callback type")
    _common(p)
    p.add_argument("func", metavar="FUNC", help="name, name@file.c for a static, struct.member, callback:TYPE")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--callers", action="store_true", help="who reaches FUNC (default)")
    g.add_argument("--callees", action="store_true", help="what FUNC reaches")
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--format", choices=("tree", "dot"), default="tree")
    p.add_argument("--scope", nargs="+", metavar="PATH", help="files or directories to index (default: fs/ mm/)")
    p.add_argument("--field", type=_field, default=F.FieldSpec("page", "mapping"), help=argparse.SUPPRESS)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "scheduler", None):
        os.environ["PASSDOWN_SCHEDULER"] = args.scheduler  # read by passdown/executor.py
    try:
        return VERBS[args.verb](args)
    except PassdownError as err:
        print(f"passdown: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("passdown: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _say(args, msg: str) -> None:
    if not args.quiet:
        print(msg, file=sys.stderr)


# -- verbs ----------------------------------------------------------------------


def cmd_prepare(args) -> int:
    from . import kbuild

    ws_tree = Path(args.tree).resolve()
    build = Path(args.build).resolve() if args.build else Workspace.default_build(ws_tree, args.cache)
    res = kbuild.prepare(ws_tree, build, config=args.config, arch=args.arch, dirs=tuple(args.dirs),
                         jobs=args.jobs, log=(lambda m: _say(args, m)) if args.verbose else None)
    _say(args, f"{'reused' if res.reused else 'prepared'} {res.config} ({res.arch}): {res.entries} compile commands "
               f"in {res.compdb}" + ("" if not args.build else f"; pass --build {build} to the other verbs"))
    return EXIT_OK


def _index(args, ws: Workspace, whole_tree: bool = False, uses_only: bool = False):
    """Index the TUs of the scope (or, for a plan, every TU: callers outside
    the scope get the parameter too).  *uses_only*: what a report of the
    field's uses needs, no more (the TUs that cannot hold one are skipped and
    the facts are light; see passdown/index.py)."""
    from . import index as index_mod

    if args.jobs < 1:
        raise InputError(f"--jobs {args.jobs} must be at least 1")
    scope = ws.scope(args.scope or _default_scope(ws))
    commands = ws.commands()
    chosen = commands if whole_tree else [c for c in commands if in_scope(c.file, scope)]
    if not chosen and any(not str(s).endswith(".c") for s in scope):
        chosen = commands  # headers only: every TU may include them
    cache = ws.open_cache()
    progress = _progress(args, len(chosen))
    with progress as update:
        idx = index_mod.run(ws.tree, chosen, (args.field,), cache, jobs=args.jobs, exclude=ws.exclude(),
                            progress=update, uses_in=scope if uses_only else None, pch=args.pch)
    skipped = f", {len(idx.skipped)} skipped by the prefilter" if idx.skipped else ""
    pch = idx.stats.get("pch")
    shared = f", {pch['tus']} through {pch['groups']} precompiled headers" if pch and pch["tus"] else ""
    _say(args, f"indexed {len(idx.tus)} TUs ({idx.parsed} parsed{shared}, {idx.cached} from cache, "
               f"{len(idx.failures)} with errors{skipped}) in {idx.seconds:.1f}s")
    return idx, scope, {c.file for c in commands}


def _default_scope(ws: Workspace) -> list[str]:
    present = [d for d in DEFAULT_SCOPE if (ws.tree / d).is_dir()]
    return present or ["."]


def cmd_index(args) -> int:
    from . import graph

    ws = Workspace.open(args.tree, args.build, args.cache)
    idx, _, _ = _index(args, ws, whole_tree=args.all)
    g = graph.build(idx)
    if args.verbose:
        for k, v in graph.stats(g).items():
            _say(args, f"  {k}: {v}")
    return EXIT_OK


def cmd_report(args) -> int:
    from . import report

    sides = args.sides or []
    one_build = len(sides) == 1 and sides[0][0] == "build"
    args.build = sides[0][1] if one_build else None
    if args.diff or args.against:
        if sides and not one_build:
            print("passdown: error: --diff/--against compare one config: give at most one --build and no --config",
                  file=sys.stderr)
            return EXIT_USAGE
        return _report_compare(args)
    if sides and not one_build:
        return _report_configs(args, sides)
    ws = Workspace.open(args.tree, args.build, args.cache)
    the_plan = None
    if args.after_plan:
        rule, _ = _load_rule(args)
        idx, scope, compiled, the_plan = _planned(args, ws, rule)
    else:
        idx, scope, compiled = _index(args, ws, uses_only=True)
    rep = report.build(ws, idx, scope, args.field, compiled, the_plan)
    if args.format == "html":
        _emit(args, report.to_html(rep, graphviz=False if args.no_graphviz else None))
    else:
        _emit(args, report.RENDERERS[args.format](rep))
    return EXIT_OK


def _report_configs(args, sides: list[tuple[str, str]]) -> int:
    """report --build B1 --build B2 / --config [ARCH:]NAME ...: the report of
    each config, merged into one (passdown/merge.py)."""
    from . import report

    if args.after_plan:
        print("passdown: error: --after-plan plans under one config: give one --build", file=sys.stderr)
        return EXIT_USAGE
    if args.jobs < 1:
        raise InputError(f"--jobs {args.jobs} must be at least 1")
    workspaces = report.open_configs(args.tree, sides, args.cache, scope=args.scope, jobs=args.jobs,
                                     log=(lambda m: _say(args, m)) if args.verbose else None)
    rep = report.run_configs(workspaces, args.scope, args.field, jobs=args.jobs, log=lambda m: _say(args, m))
    if args.format == "html":
        _emit(args, report.to_html(rep, graphviz=False if args.no_graphviz else None))
    else:
        _emit(args, report.RENDERERS[args.format](rep))
    return EXIT_OK


def _report_compare(args) -> int:
    """report --diff REV1..REV2 / --against DIR: uses added, removed and moved."""
    from . import compare

    if args.format not in compare.RENDERERS:
        print(f"passdown: error: --format {args.format} does not render a comparison; use "
              f"{', '.join(compare.RENDERERS)}", file=sys.stderr)
        return EXIT_USAGE
    if args.jobs < 1:
        raise InputError(f"--jobs {args.jobs} must be at least 1")
    rule = None
    if args.after_plan:
        from . import rules

        rule, _ = rules.load(args.rule)
    log = (lambda m: _say(args, m)) if args.verbose else None
    if args.diff:
        rev1, rev2 = compare.parse_range(args.diff)
        cmp = compare.diff(args.tree, rev1, rev2, scope=args.scope, spec=args.field, rule=rule, cache=args.cache,
                           build=args.build, jobs=args.jobs, log=log)
    else:
        cmp = compare.against(args.against, args.tree, scope=args.scope, spec=args.field, rule=rule,
                              cache_b=args.cache, build_a=args.against_build, build_b=args.build, jobs=args.jobs)
    t = cmp.totals()
    _say(args, f"{cmp.old_label} -> {cmp.new_label}: {t['before']} -> {t['after']} uses, {t['added']} added, "
               f"{t['removed']} removed, {t['moved']} moved")
    _emit(args, compare.RENDERERS[args.format](cmp))
    return EXIT_OK


def _load_rule(args):
    """The rule, whose field becomes the one indexed."""
    from . import rules

    rule, path = rules.load(args.rule)
    args.field = rule.spec
    return rule, path


def _rule_scope(args, ws: Workspace, rule) -> None:
    if not args.scope:
        args.scope = [d for d in rule.scope.default if (ws.tree / d).exists()] or ["."]


def _planned(args, ws: Workspace, rule):
    """The plan and the facts it was made from: every TU of the compile
    database indexed first, or with --lazy parsed as the demand reaches them
    (passdown/lazy.py).  Same plan either way."""
    from . import plan as plan_mod

    if not getattr(args, "lazy", False):
        idx, scope, compiled = _index(args, ws, whole_tree=True)
        return idx, scope, compiled, plan_mod.make_plan(idx, rule, scope, ws.config())
    from . import lazy

    if args.jobs < 1:
        raise InputError(f"--jobs {args.jobs} must be at least 1")
    scope = ws.scope(args.scope or _default_scope(ws))
    commands = ws.commands()
    with _progress(args, len(commands)) as update:
        idx, the_plan, rounds = lazy.make_plan(ws.tree, commands, rule, scope, ws.open_cache(), ws.config(),
                                               jobs=args.jobs, exclude=ws.exclude(), progress=update, pch=args.pch,
                                               log=(lambda m: _say(args, m)) if args.verbose else None)
    _say(args, f"planned on demand: {len(idx.tus)} of {len(commands)} TUs ({rounds.parsed} parsed, "
               f"{len(idx.tus) - rounds.parsed} from cache, {len(idx.failures)} with errors) in {len(rounds.added)} "
               f"rounds, {rounds.seconds:.1f}s")
    return idx, scope, {c.file for c in commands}, the_plan


def cmd_plan(args) -> int:
    from . import plan as plan_mod

    rule, _ = _load_rule(args)
    ws = Workspace.open(args.tree, args.build, args.cache)
    _rule_scope(args, ws, rule)
    p = _planned(args, ws, rule)[3]
    _emit(args, plan_mod.RENDERERS[args.format](p))
    return EXIT_OK


def cmd_apply(args) -> int:
    import git

    from . import apply as apply_mod
    from . import series

    rule, rule_path = _load_rule(args)
    ws = Workspace.open(args.tree, args.build, args.cache)
    repo = series.open_repo(ws.tree)
    _rule_scope(args, ws, rule)
    branch = args.branch or apply_mod.default_branch(rule)
    series.check_name(repo, branch)
    if not args.show:
        series.check_branch(repo, branch, force=True)  # checked out? refuse before the long part
    try:
        base = repo.commit(args.base).hexsha
    except (ValueError, git.BadName, git.BadObject):
        raise InputError(f"--base {args.base} is not a commit of {ws.tree}; give a branch, tag or hash") from None
    idx, _, _, the_plan = _planned(args, ws, rule)
    # The base is named in the messages by a base-commit: line (checkpatch
    # wants any other hash written as commit <sha> ("subject")).
    command = " ".join(["passdown apply", f"--rule {args.rule or rule.name}", "--scope", *args.scope])
    res = apply_mod.run(repo, idx, the_plan, rule, branch=branch, base=base, command=command,
                        rule_dir=rule_path.parent if rule_path else None, force=args.force, show=args.show,
                        outdir=Path(args.outdir) if args.outdir else None, scope=list(args.scope))
    if res.status == "empty":
        _say(args, "nothing to do: the plan adds no parameter and converts no read in this scope")
    elif res.status == "shown":
        sys.stdout.write(res.shown)
    elif res.status == "unchanged":
        _say(args, f"nothing to do: branch {branch} already holds this series ({len(res.commits)} commits)")
    else:
        _say(args, f"created branch {branch}: {len(res.commits)} commits on {base[:12]} (head {res.head[:12]})")
    for d in res.outdirs:
        _say(args, f"wrote {d}")
    for s in res.skipped:
        _say(args, f"left for review: {s}")
    return EXIT_OK


def cmd_graph(args) -> int:
    from . import graph

    ws = Workspace.open(args.tree, args.build, args.cache)
    idx, _, _ = _index(args, ws)
    g = graph.build(idx)
    name = args.func if ":" in args.func or "." not in args.func or "@" in args.func else f"member:{args.func}"
    roots = graph.find(g, args.func) or ([name] if name in g else [])
    if not roots:
        raise InputError(f"no function, ops member or callback named '{args.func}' in the indexed scope; "
                         "check the name or widen --scope")
    out = []
    for root in roots:
        hood = graph.neighbourhood(g, root, callers=not args.callees, depth=args.depth)
        if args.format == "dot":
            out.append(graph.to_dot(g, {root} | {n for _, n, _ in hood}))
            continue
        data = g.nodes[root]
        where = f"  ({data['file']}:{data['line']})" if data.get("file") else ""
        out.append(graph.display(g, root) + where)
        arrow = "<-" if not args.callees else "->"
        for depth, node, kind in hood:
            out.append(f"{'    ' * depth}{arrow} {graph.display(g, node)}  [{kind}]")
    _emit(args, "\n".join(out) + "\n")
    return EXIT_OK


def _emit(args, text: str) -> None:
    out = getattr(args, "output", None)
    if out:
        try:
            Path(out).write_text(text)
        except OSError as err:
            raise InputError(f"cannot write {out} ({err.strerror}); choose another -o path") from None
        _say(args, f"wrote {out}")
    else:
        sys.stdout.write(text)


class _progress:
    """A rich progress bar on a terminal, nothing otherwise."""

    def __init__(self, args, total: int):
        self.enabled = not args.quiet and sys.stderr.isatty()
        self.total = total
        self.bar = None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("parsing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            TextColumn("{task.description}"), transient=True)
        self.bar.__enter__()
        task = self.bar.add_task("", total=self.total)

        def update(done: int, total: int, source: str) -> None:
            self.bar.update(task, completed=done, description=os.path.basename(source))

        return update

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)
        return False


VERBS = {"prepare": cmd_prepare, "index": cmd_index, "report": cmd_report, "plan": cmd_plan, "apply": cmd_apply,
         "graph": cmd_graph}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
