#!/usr/bin/env python3
"""Compiler oracle for expected/uses.json.

Copies the corpus to a scratch directory, renames the `mapping` member of struct page there, compiles
every entry of compile_commands.json with gcc -fsyntax-only and collects the "no member named
'mapping'" errors.  Every analysed entry of uses.json must match one error (after deduplicating the
header ones, which every includer reports) and vice versa; the not-analysed entries must not appear.

Positions: gcc reports a member access at its `->` or `.`; the `mapping` token follows.  An access
inside the body of page_host()/page_sb() is matched through gcc's outermost "in expansion of macro"
note (the invocation); an access spelled in a macro argument (container_of, FOLIO_MATCH) through the
invocation line.  Usage: python3 expected/check_uses_with_gcc.py  (exit status 1 on a mismatch)
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOC = re.compile(r"^([^:\s]+):(\d+):(\d+): (error|note|warning): (.*)$")


def line_of(path, n):
    with open(path) as f:
        return f.read().split("\n")[n - 1]


def main():
    scratch = tempfile.mkdtemp(prefix="kern-oracle-")
    tree = os.path.join(scratch, "kern")
    shutil.copytree(HERE, tree, ignore=shutil.ignore_patterns("build"))
    os.chdir(tree)
    hdr = "include/linux/mm_types.h"
    src = open(hdr).read()
    start, end = src.index("struct page {"), src.index("struct folio {")
    body = src[start:end]
    assert body.count("struct address_space *mapping;") == 1
    open(hdr, "w").write(src[:start] + body.replace("*mapping;", "*mapping__renamed;") + src[end:])

    found = set()
    for entry in json.load(open("compile_commands.json")):
        args = [a for a in entry["arguments"] if a != "-Werror"]
        args = args[:args.index("-c")] + ["-fsyntax-only", "-fdiagnostics-plain-output",
                                           "-fdiagnostics-column-unit=byte", entry["file"]]
        diags = []
        for line in subprocess.run(args, capture_output=True, text=True).stderr.splitlines():
            m = LOC.match(line)
            if m:
                diags.append((m.group(1), int(m.group(2)), int(m.group(3)), m.group(4), m.group(5)))
        k = 0
        while k < len(diags):
            path, ln, col, kind, msg = diags[k]
            k += 1
            if kind != "error" or "no member named" not in msg or "mapping" not in msg:
                continue
            notes = []
            while k < len(diags) and diags[k][3] == "note":
                notes.append(diags[k])
                k += 1
            expansions = [n for n in notes if "in expansion of macro" in n[4]]
            if not expansions:
                text = line_of(path, ln)
                col += 2 if text[col - 1:col + 1] == "->" else 1
                while text[col - 1] in " \t":
                    col += 1
                assert text[col - 1:col + 6] == "mapping", (path, ln, col)
                found.add((path, ln, col, None))
                continue
            outer = expansions[-1]
            macro = re.search(r"macro .(\w+).", outer[4]).group(1)
            if macro in ("page_host", "page_sb"):
                found.add((outer[0], outer[1], outer[2], macro))
            else:
                text = line_of(outer[0], outer[1])
                found.add((outer[0], outer[1], text.index("mapping", outer[2] - 1) + 1, None))
    shutil.rmtree(scratch)

    uses = json.load(open(os.path.join(HERE, "expected", "uses.json")))
    key = lambda u: (u["file"], u["line"], u["column"], u["macro"])
    analysed = {key(u) for u in uses if u["status"] == "analysed"}
    skipped = {key(u) for u in uses if u["status"] == "not-analysed"}
    problems = sorted(found - analysed), sorted(analysed - found), sorted(found & skipped)
    print(f"gcc: {len(found)} uses; uses.json: {len(analysed)} analysed, {len(skipped)} not-analysed")
    for title, items in zip(("only gcc", "only uses.json", "not-analysed but compiled"), problems):
        for item in items:
            print(f"{title}: {item}")
    return 1 if any(problems) else 0


if __name__ == "__main__":
    sys.exit(main())
