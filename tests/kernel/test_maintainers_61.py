"""passdown.maintainers on Linux 6.1 against the tree's own scripts/get_maintainer.pl.

For a deterministic sample of files (every Nth tracked file of fs/ mm/ include/
drivers/block/, every Mth of the rest of the tree, and hand-picked tricky ones)
`get_maintainer.pl --subsystem --status --nogit --nogit-fallback --norolestats -f FILE`
must name the same sections (in the same order up to ties, which it leaves in
Perl's random hash order), the same statuses and the same addresses.

Deliberate deviations, asserted as such below:
  * DT binding .yaml files: get_maintainer.pl adds every address written in the
    file; passdown only reads MAINTAINERS.
  * "L: Mali DP Maintainers <malidp@foss.arm.com>": get_maintainer.pl keeps the
    first word ("Mali", printed as an empty line); passdown keeps the address.
  * recipients() leaves out THE REST's list when a more specific section owns
    the file, so THE REST's list is added back before comparing.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from passdown.maintainers import THE_REST, Maintainers, Section

MAIN_DIRS = ("fs/", "mm/", "include/", "drivers/block/")
MAIN_STEP = 97
REST_STEP = 1499
SEP = "\x1f"

TRICKY = [
    # the refactoring's own ground
    "mm/filemap.c", "mm/page-writeback.c", "fs/ext2/inode.c", "fs/buffer.c", "fs/nfs/write.c",
    "include/linux/mm_types.h", "include/linux/pagemap.h", "drivers/block/loop.c",
    # X: rules
    "include/uapi/linux/fs.h", "drivers/char/random.c", "drivers/usb/cdns3/cdnsp-gadget.c",
    "include/linux/srcutree.h", "kernel/rcu/srcutree.c", "kernel/locking/locktorture.c",
    "arch/arm/boot/dts/sun8i-h3.dtsi",
    # N: regexes
    "arch/arm/mach-sunxi/platsmp.c", "drivers/soc/tegra/pmc.c", "arch/powerpc/platforms/ps3/setup.c",
    "drivers/platform/chrome/cros_ec.c", "fs/binfmt_elf.c", "lib/zstd/decompress_sources.h",
    # wildcards: da9???-regulator.[ch], da72??.[ch], bcm*.[ch]
    "drivers/regulator/da9052-regulator.c", "drivers/input/misc/da7280.c", "drivers/net/phy/bcm7xxx.c",
    # F: naming a directory without its "/"
    "drivers/infiniband/hw/erdma/erdma_main.c", "drivers/scsi/esas2r/esas2r_main.c",
    # only THE REST (by path)
    "fs/isofs/inode.c", "fs/adfs/dir.c", "README", "COPYING",
    # subscribers-only lists, sections without S:, .mailmap rewrites
    "fs/squashfs/super.c", "net/nfc/core.c", "drivers/ata/pata_sis.c", "arch/powerpc/kvm/book3s_hv.h",
    "drivers/infiniband/core/verbs.c",
    # K: keywords in file contents; equal ranks
    "kernel/fork.c", "Makefile", "tools/testing/selftests/bpf/prog_tests/exhandler.c",
    # the deviations
    "drivers/gpu/drm/arm/malidp_drv.c", "Documentation/devicetree/bindings/bus/baikal,bt1-apb.yaml",
]


def tracked_files(tree: Path) -> list[str]:
    if (tree / ".git").exists():
        out = subprocess.run(["git", "ls-files", "-z"], cwd=tree, capture_output=True, check=True).stdout
        return sorted(f for f in out.decode().split("\0") if f)
    return sorted(str(p.relative_to(tree)) for p in tree.rglob("*") if p.is_file() and ".git" not in p.parts)


@pytest.fixture(scope="module")
def sample(kernel_tree) -> list[str]:
    files = tracked_files(kernel_tree)
    main = [f for f in files if f.startswith(MAIN_DIRS)][::MAIN_STEP]
    rest = [f for f in files if not f.startswith(MAIN_DIRS)][::REST_STEP]
    missing = [f for f in TRICKY if f not in files]
    assert not missing, f"hand-picked files missing from the 6.1 tree: {missing}"
    picked = list(dict.fromkeys(main + rest + TRICKY))
    assert len(picked) >= 60
    return picked


def get_maintainer(tree: Path, rel: str) -> tuple[list[str], list[str], list[str]]:
    """(addresses, statuses, sections) as get_maintainer.pl prints them, one line each."""
    argv = ["perl", "scripts/get_maintainer.pl", "--subsystem", "--status", "--nogit", "--nogit-fallback",
            "--norolestats", "--separator", SEP, "-f", rel]
    proc = subprocess.run(argv, cwd=tree, capture_output=True, timeout=120)
    assert proc.returncode == 0, f"{' '.join(argv)}: {proc.stderr.decode(errors='replace')}"
    lines = proc.stdout.decode("utf-8", errors="replace").rstrip("\n").split("\n")
    assert len(lines) == 3, f"{rel}: unexpected get_maintainer.pl output {lines!r}"
    emails, statuses, sections = (line.split(SEP) for line in lines)
    return emails, statuses, sections


@pytest.fixture(scope="module")
def oracle(kernel_tree, sample) -> dict[str, tuple[list[str], list[str], list[str]]]:
    with ThreadPoolExecutor(max_workers=2 * (os.cpu_count() or 2)) as pool:
        return dict(zip(sample, pool.map(lambda f: get_maintainer(kernel_tree, f), sample)))


@pytest.fixture(scope="module")
def maintainers(kernel_tree) -> Maintainers:
    m = Maintainers.load(kernel_tree)
    assert m is not None
    return m


def up_to_ties(names: list[str], ranks: dict[str, int]) -> list[str]:
    """Names with each run of equal rank sorted (keyword-only sections have no rank and stay put)."""
    runs = itertools.groupby(names, key=lambda n: ranks.get(n, n))
    return [n for _, run in runs for n in sorted(run)]


def the_rest(sections: list[Section]) -> list[str]:
    return [a for s in sections if s.name == THE_REST for a in s.lists]


def test_sections_and_statuses_match_get_maintainer(maintainers, sample, oracle):
    diffs = []
    for rel in sample:
        _, statuses, names = oracle[rel]
        mine = maintainers.sections_for(rel)
        ranks = {s.name: r for s, r in maintainers.ranked(rel)}
        if up_to_ties([s.name for s in mine], ranks) != up_to_ties(names, ranks):
            diffs.append((rel, "sections", [s.name for s in mine], names))
        # get_maintainer.pl prints no status for a section without S:
        if {s.status for s in mine if s.status} != set(statuses):
            diffs.append((rel, "statuses", [s.status for s in mine], statuses))
    print(f"{len(sample)} files compared with get_maintainer.pl, {len(diffs)} differ")
    assert not diffs


def test_subsystem_is_the_first_specific_section(maintainers, sample, oracle):
    for rel in sample:
        names = oracle[rel][2]
        ranks = {s.name: r for s, r in maintainers.ranked(rel)}
        specific = [n for n in names if n in ranks and n != THE_REST]
        owner = maintainers.subsystem(rel)
        if specific:
            assert ranks[owner.name] == ranks[specific[0]] and owner.name in specific, rel
        else:
            assert owner.name == THE_REST, rel


def test_recipients_match_get_maintainer(maintainers, kernel_tree, sample, oracle):
    diffs = []
    for rel in sample:
        emails = set(oracle[rel][0])
        to, cc = maintainers.recipients([rel])
        sections = maintainers.sections_for(rel)
        mine = set(to + cc) | set(the_rest(sections))
        if rel.endswith(".yaml"):
            # deviation: get_maintainer.pl also mails every address written in a binding
            text = (kernel_tree / rel).read_text(errors="replace")
            assert mine <= emails and all(re.search(re.escape(e.split("<")[-1].rstrip(">")), text)
                                          for e in emails - mine), rel
            continue
        if "" in emails:
            # deviation: an "L: Name <address>" line
            emails.discard("")
            mine -= {s_l for s in sections for raw, s_l in zip(s.lists_raw, s.lists) if "<" in raw}
        if mine != emails:
            # deviation: one person under two addresses in sections of equal rank; get_maintainer.pl
            # keeps the one of the section it meets first, in Perl's per-run hash order
            name = lambda e: e.split("<")[0].strip().strip('"')
            if sorted(map(name, mine - emails)) != sorted(map(name, emails - mine)):
                diffs.append((rel, sorted(mine - emails), sorted(emails - mine)))
        assert len(to + cc) == len(set(to + cc)), rel
    assert not diffs


def test_recipients_to_is_maintainers_cc_reviewers_and_lists(maintainers):
    to, cc = maintainers.recipients(["mm/filemap.c"])
    assert to == ['"Matthew Wilcox (Oracle)" <willy@infradead.org>', "Andrew Morton <akpm@linux-foundation.org>"]
    assert cc == ["linux-fsdevel@vger.kernel.org", "linux-mm@kvack.org"]  # no LKML: PAGE CACHE owns it
    # only THE REST owns isofs: its list, without Linus
    assert maintainers.recipients(["fs/isofs/inode.c"]) == ([], ["linux-kernel@vger.kernel.org"])
    # .mailmap: MAINTAINERS says jgg@nvidia.com, get_maintainer.pl mails jgg@ziepe.ca
    to, _ = maintainers.recipients(["drivers/infiniband/core/verbs.c"])
    assert "Jason Gunthorpe <jgg@ziepe.ca>" in to and not any("jgg@nvidia.com" in a for a in to)
    # SQUASHFS's list is subscribers-only
    assert maintainers.recipients(["fs/squashfs/super.c"]) == (["Phillip Lougher <phillip@squashfs.org.uk>"], [])


def test_mali_list_deviation(maintainers, oracle):
    assert "" in oracle["drivers/gpu/drm/arm/malidp_drv.c"][0]
    assert "malidp@foss.arm.com" in maintainers.recipients(["drivers/gpu/drm/arm/malidp_drv.c"])[1]


def test_fast(kernel_tree):
    import time

    start = time.perf_counter()
    m = Maintainers.load(kernel_tree)
    parse = time.perf_counter() - start
    files = [f for f in tracked_files(kernel_tree) if f.startswith(MAIN_DIRS)][:3000]
    start = time.perf_counter()
    for f in files:
        m.sections_for(f, keywords=False)
    match = time.perf_counter() - start
    print(f"parse {parse:.2f} s, {len(files)} files matched in {match:.2f} s")
    assert parse < 1.0 and match < 3.0
