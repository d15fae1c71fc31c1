"""compdb: kbuild gcc lines become libclang arguments; relative paths resolve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from passdown import compdb
from passdown.errors import CompdbError

KBUILD_LINE = [
    "gcc", "-Wp,-MMD,fs/ext2/.inode.o.d", "-nostdinc", "-I/src/arch/x86/include", "-I./arch/x86/include/generated",
    "-include", "/src/include/linux/kconfig.h", "-D__KERNEL__", "-fmacro-prefix-map=/src/=", "-std=gnu11",
    "-mpreferred-stack-boundary=3", "-mindirect-branch=thunk-extern", "-mindirect-branch-register",
    "-fno-allow-store-data-races", "-fconserve-stack", "-Werror=implicit-int", "-Wno-frame-address", "-O2", "-m64",
    "-DMODULE", "-DKBUILD_BASENAME=\"inode\"", "-DKBUILD_MODNAME=\"ext2\"", "-D", "FOO=1", "-U", "BAR",
    "-isystem", "include/sys", "-c", "-o", "fs/ext2/inode.o", "/src/fs/ext2/inode.c",
]


def test_keeps_what_parsing_needs_and_drops_gcc_only_flags():
    args = compdb.libclang_args(KBUILD_LINE, Path("/build"))
    assert args == [
        "-nostdinc", "-I/src/arch/x86/include", "-I/build/arch/x86/include/generated",
        "-include", "/src/include/linux/kconfig.h", "-D__KERNEL__", "-std=gnu11", "-O2", "-m64",
        "-DMODULE", "-DKBUILD_BASENAME=\"inode\"", "-DKBUILD_MODNAME=\"ext2\"", "-DFOO=1", "-UBAR",
        "-isystem", "/build/include/sys", "-w", "-Wno-everything",
    ]


def test_target_is_added_for_other_arches():
    args = compdb.libclang_args(["gcc", "-c", "x.c"], Path("/b"), target="aarch64-linux-gnu")
    assert "--target=aarch64-linux-gnu" in args


def test_relative_directory_is_relative_to_the_database(tmp_path):
    (tmp_path / "fs").mkdir()
    db = tmp_path / "compile_commands.json"
    db.write_text(json.dumps([
        {"directory": ".", "file": "fs/a.c", "arguments": ["gcc", "-Iinclude", "-c", "fs/a.c"]},
        {"directory": ".", "file": "fs/a.S", "command": "gcc -c fs/a.S"},
        {"directory": str(tmp_path), "file": "fs/b.c", "command": "gcc -I include -DX=1 -c fs/b.c"},
    ]))
    cmds = compdb.load(db)
    assert [c.file for c in cmds] == [str(tmp_path / "fs/a.c"), str(tmp_path / "fs/b.c")]
    assert cmds[0].args[0] == f"-I{tmp_path}/include"
    assert cmds[1].args[:3] == ("-I", f"{tmp_path}/include", "-DX=1")


def test_missing_database_says_how_to_make_one(tmp_path):
    with pytest.raises(CompdbError, match="passdown prepare"):
        compdb.find(tmp_path, None)


def test_broken_database_is_a_clear_error(tmp_path):
    db = tmp_path / "compile_commands.json"
    db.write_text("{not json")
    with pytest.raises(CompdbError, match="cannot read"):
        compdb.load(db)
