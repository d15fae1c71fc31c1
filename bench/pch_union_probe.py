"""Probe: a directory PCH of the union of its files' leading includes (not what pch.py builds).

    scripts/dev.sh python bench/pch_union_probe.py DIR SHARE     # e.g. fs/xfs 0.5

Takes the include-guarded headers that SHARE of DIR's files start with, ordered by
their mean relative position in those files, adds DIR's xfs_trace.h-style trace
header if one is there (pch.guarded() does not count a trace header's
``#if !defined(X) || defined(TRACE_HEADER_MULTI_READ)`` as a guard), builds one PCH
with the directory's flags, and parses 10 of the files that include all of them
with and without it: libclang parse seconds, diagnostics, and whether the main
file's facts are the same.  Paths are those of this machine's 6.1 tree
(/var/tmp/passdown-kernel).  Not a test.
"""
import collections
import os
import random
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from passdown import parse, pch, facts as F
from passdown.workspace import Workspace
tree="/var/tmp/passdown-kernel/linux-source-6.1"
work = tempfile.mkdtemp(prefix="pch-union-")
ws = Workspace.open(tree, "/var/tmp/passdown-kernel/build-6.1-allmodconfig", os.path.join(work, "cache"))
d=tree+"/"+sys.argv[1]; share=float(sys.argv[2])
cmds=[c for c in ws.commands() if os.path.dirname(c.file)==d]
flags=tuple(a for a in cmds[0].args if "KBUILD_BASENAME" not in a and not a.startswith("-Wp,"))
leads=pch._leads([c.file for c in cmds], d, flags)
cnt=collections.Counter(r for l in leads.values() for r in l)
roots=[r for r,n in cnt.items() if n>=share*len(leads) and pch.guarded(r)]
pos={r: sum(l.index(r)/len(l) for l in leads.values() if r in l)/cnt[r] for r in roots}
order=sorted(roots, key=lambda r: pos[r])
extra=[r for r,n in cnt.items() if r.endswith("_trace.h") or r.endswith("/trace.h")][:1]; order=order+extra
members=[f for f,l in leads.items() if set(order)<=set(l)]
print(len(cmds), "files;", len(order), "roots;", len(members), "members:", [r.split("/")[-1] for r in order])
fields=(F.FieldSpec("page","mapping"),); parse._setup()
open(os.path.join(work, "u.h"), "w").write("".join(f'#include "{r}"\n' for r in order))
t=time.process_time(); b=parse.parse_tu(os.path.join(work, "u.h"), flags+("-x","c-header"), tree, fields, save_pch=os.path.join(work, "u.pch")); print("build", round(time.process_time()-t,1), b.error)
C=re.compile(r"(__UNIQUE_ID_\w*?|__compiletime_assert_)\d+\b")
random.seed(3); tp=tq=0; same=0; n=0
for f in random.sample(members, min(10,len(members))):
    c=[x for x in cmds if x.file==f][0]
    a=parse.parse_tu(f, tuple(c.args), tree, fields, skip_headers=frozenset())
    x=parse.parse_tu(f, tuple(c.args), tree, fields, skip_headers=frozenset(a.deps), pch=(os.path.join(work, "u.pch"), b.deps))
    n+=1; tp+=a.stats["parse"]; tq+=x.stats["parse"]; s=C.sub("N",repr(a.main))==C.sub("N",repr(x.main)); same+=s
    print(f.split("6.1/")[1], round(a.stats["parse"],2), round(x.stats["parse"],2), len(x.diagnostics), "same" if s else "DIFF")
print("avg plain", round(tp/n,2), "union", round(tq/n,2), "same main facts", same, "of", n)
