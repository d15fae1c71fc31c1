"""Coverage across configs on real Linux 6.1: allmodconfig and defconfig (x86_64) merged.

defconfig is prepared next to the allmodconfig build ($PASSDOWN_KERNEL_DIR/build-6.1-defconfig,
~10 s) and both are reported over a scope that holds every case: uses both
configs compile (fs/buffer.c, mm/filemap.c), uses only allmodconfig compiles
(fs/ext2: CONFIG_EXT2_FS is off in defconfig, ext4 serves ext2), and uses no
config compiles (fs/jfs/jfs_metapage.c's MPS != PSIZE branch is #if'd out under
allmodconfig and JFS is off in defconfig; fs/squashfs/file_direct.c is the
alternative to file_cache.c that allmodconfig does not choose).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from passdown import kbuild, report

from .conftest import kernel_dir

SCOPE = ["fs/ext2", "fs/buffer.c", "mm/filemap.c", "mm/page-writeback.c", "mm/truncate.c", "fs/jfs", "fs/squashfs"]
ALLMOD, DEF = "x86_64 allmodconfig", "x86_64 defconfig"


@pytest.fixture(scope="module")
def defconfig_build(kernel_tree) -> Path:
    build = Path(os.environ.get("PASSDOWN_KERNEL_DEFCONFIG_BUILD", kernel_dir() / "build-6.1-defconfig"))
    kbuild.prepare(kernel_tree, build, config="defconfig", dirs=("fs", "mm"),
                   log=lambda msg: print(f"[prepare defconfig] {msg}", file=sys.stderr))
    return build


@pytest.fixture(scope="module")
def reports(kernel_tree, kernel_build, defconfig_build, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    sides = [("build", str(kernel_build.compdb.parent)), ("build", str(defconfig_build))]
    workspaces = report.open_configs(kernel_tree, sides, cache, scope=SCOPE)
    assert [label for label, _ in workspaces] == [ALLMOD, DEF]
    merged = report.run_configs(workspaces, SCOPE, jobs=2, log=lambda m: print(m, file=sys.stderr))
    singles = {label: report.run(ws, SCOPE, jobs=2) for label, ws in workspaces}  # warm: the same caches
    return merged, singles


def places(uses, label=None):
    return {(u.file, u.line, u.column, u.access) for u in uses
            if u.access is not None and (label is None or label in u.configs)}


def line_of(tree: Path, path: str, needle: str) -> int:
    hits = [i + 1 for i, t in enumerate((tree / path).read_text().splitlines()) if needle in t]
    assert len(hits) == 1, (path, needle, hits)
    return hits[0]


def test_each_config_sees_in_the_merge_what_it_saw_alone(reports):
    merged, singles = reports
    for label, rep in singles.items():
        assert places(merged.uses, label) == places(rep.uses), label
    assert places(merged.uses) == places(singles[ALLMOD].uses) | places(singles[DEF].uses)
    s = merged.summary()["by_config"]
    print({k: v for k, v in s.items()}, file=sys.stderr)
    assert s[ALLMOD]["analysed"] > s[DEF]["analysed"] > 0


def test_ext2_only_under_allmodconfig(reports):
    merged, _ = reports
    ext2 = [u for u in merged.uses if u.file.startswith("fs/ext2/") and u.access is not None]
    assert ext2 and all(u.configs == (ALLMOD,) for u in ext2)
    # defconfig does not compile fs/ext2: it lists them by text
    assert all(u.skipped_in == (DEF,) for u in ext2 if u.macro is None)


def test_core_uses_under_both(reports, kernel_tree):
    merged, _ = reports
    buffer = [u for u in merged.uses if u.file == "fs/buffer.c"]
    assert buffer and all(u.configs == (ALLMOD, DEF) for u in buffer)
    # a condition under CONFIG_DEBUG_VM (allmodconfig), an operand of sizeof without it
    # (defconfig): one use, as the first config saw it
    line = line_of(kernel_tree, "mm/filemap.c", "VM_BUG_ON_PAGE(new->mapping, new);")
    (u,) = [u for u in merged.uses if u.file == "mm/filemap.c" and u.line == line]
    assert (u.configs, u.function, u.kind) == ((ALLMOD, DEF), "replace_page_cache_page", "compare")


def test_uses_no_config_compiles_come_from_the_skipped_ranges_and_the_text(reports, kernel_tree):
    merged, singles = reports
    none = [u for u in merged.uses if not u.configs]
    assert all(u.status == "not-analysed" and u.skipped_in for u in none)
    jfs = [u for u in none if u.file == "fs/jfs/jfs_metapage.c"]
    assert jfs and all(u.reason == f"in code the preprocessor skips under {ALLMOD}; not compiled under {DEF}"
                       for u in jfs)
    assert {(u.file, u.line) for u in jfs} <= {(u.file, u.line) for u in singles[ALLMOD].uses
                                              if u.reason == report.IFDEF_OUT}
    sq = [u for u in none if u.file == "fs/squashfs/file_direct.c"]
    assert sq and all(u.reason == "not compiled under every config" and u.skipped_in == (ALLMOD, DEF) for u in sq)
