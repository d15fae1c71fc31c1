"""passdown.kbuild without a real kernel: `make -n` parsing, tree checks, refusals,
and prepare() end to end against a tiny fake kbuild."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest

from passdown import kbuild
from passdown.errors import InputError, ToolError

# Lines captured from `make -C /src/linux O=<copy> ARCH=x86_64 -n V=1 fs/ mm/` on
# Linux 6.1 allmodconfig, trimmed: the ~120 flags in the middle are cut down to a
# few, the tree path shortened.  Everything else (the echo of the command, the
# signal traps, the fixdep call quoting the command once more, objtool after a
# single-object module, genksyms) is as kbuild printed it.
TREE = "/src/linux"
BUILD = "/src/build"
COPY = "/src/build/.passdown-dryrun-abc/o"
COMMON = (
    "-nostdinc -I/src/linux/arch/x86/include -I./arch/x86/include/generated -I/src/linux/include -I./include "
    "-include /src/linux/include/linux/kconfig.h -D__KERNEL__ -fmacro-prefix-map=/src/linux/= -Wall -std=gnu11 "
    "-mpreferred-stack-boundary=3 -O2 -fsanitize=kernel-address   --param asan-stack=1"
)


def _kbuild_line(obj: str, src: str, flags: str, *, objtool: str = "") -> str:
    """A compile line exactly in the shape kbuild 6.1 prints it with V=1 under -n."""
    d, base = obj.rsplit("/", 1)
    dep = f"{d}/.{base}.d"
    cmd = f"gcc -Wp,-MMD,{dep} {COMMON} {flags} -c -o {obj} {src}  {objtool}"
    quoted = cmd.replace("'", "'\\''")
    traps = "".join(f"  trap 'rm -f {obj}; trap - {s}; kill -s {s} $$' {s};" for s in ("HUP", "INT", "QUIT", "TERM", "PIPE"))
    return (f"set -e;  echo '  {quoted}';  {traps} {cmd}; scripts/basic/fixdep {dep} {obj} '{quoted}' "
            f"> {d}/.{base}.cmd; rm -f {dep}")


EXT2 = _kbuild_line(
    "fs/ext2/balloc.o", "/src/linux/fs/ext2/balloc.c",
    "-I /src/linux/fs/ext2 -I ./fs/ext2  -DMODULE  -DKBUILD_BASENAME='\"balloc\"' "
    "-DKBUILD_MODNAME='\"ext2\"' -D__KBUILD_MODNAME=kmod_ext2")
BUFFER = _kbuild_line(
    "fs/buffer.o", "/src/linux/fs/buffer.c",
    "-I /src/linux/fs -I ./fs    -DKBUILD_MODFILE='\"fs/buffer\"' -DKBUILD_BASENAME='\"buffer\"' "
    "-DKBUILD_MODNAME='\"buffer\"' -D__KBUILD_MODNAME=kmod_buffer")
XFS = _kbuild_line(
    "fs/xfs/libxfs/xfs_bmap.o", "/src/linux/fs/xfs/libxfs/xfs_bmap.c",
    "-I /src/linux/fs/xfs -I /src/linux/fs/xfs/libxfs    -fsanitize=kernel-address "
    "-fasan-shadow-offset=0xdffffc0000000000   --param asan-globals=1 -I /src/linux/fs/xfs -I ./fs/xfs  -DMODULE  "
    "-DKBUILD_BASENAME='\"xfs_bmap\"' -DKBUILD_MODNAME='\"xfs\"' -D__KBUILD_MODNAME=kmod_xfs")
GRACE = _kbuild_line(
    "fs/nfs_common/grace.o", "/src/linux/fs/nfs_common/grace.c",
    "-I /src/linux/fs/nfs_common -I ./fs/nfs_common  -DMODULE  -DKBUILD_BASENAME='\"grace\"' "
    "-DKBUILD_MODNAME='\"grace\"' -D__KBUILD_MODNAME=kmod_grace",
    objtool=" ; ./tools/objtool/objtool --hacks=jump_label --hacks=noinstr --ibt --orc --retpoline --rethunk --sls "
            "--static-call --uaccess --no-unreachable  --link  --module fs/nfs_common/grace.o")
# Verbatim shape (trimmed flags) of the line that follows each object with EXPORT_SYMBOL.
GENKSYMS = (
    "set -e;  echo '  if nm fs/hpfs/buffer.o 2>/dev/null | grep -q __ksymtab; then gcc -E -D__GENKSYMS__ "
    "-Wp,-MMD,fs/hpfs/.buffer.o.d -nostdinc -I/src/linux/include -D__KERNEL__ -DKBUILD_BASENAME='\\''\"buffer\"'\\'' "
    "/src/linux/fs/hpfs/buffer.c | scripts/genksyms/genksyms   -r /dev/null >> fs/hpfs/.buffer.o.cmd; fi';    "
    "trap 'rm -f fs/hpfs/buffer.o; trap - HUP; kill -s HUP $$' HUP; if nm fs/hpfs/buffer.o 2>/dev/null | grep -q "
    "__ksymtab; then gcc -E -D__GENKSYMS__ -Wp,-MMD,fs/hpfs/.buffer.o.d -nostdinc -I/src/linux/include -D__KERNEL__ "
    "-DKBUILD_BASENAME='\"buffer\"' /src/linux/fs/hpfs/buffer.c | scripts/genksyms/genksyms   -r /dev/null >> "
    "fs/hpfs/.buffer.o.cmd; fi"
)
# A generated source: kbuild compiles it from the output directory (relative path).
ASN1 = _kbuild_line(
    "fs/smb/client/cifs_spnego_negtokeninit.asn1.o", "fs/smb/client/cifs_spnego_negtokeninit.asn1.c",
    "-I /src/linux/fs/smb/client -I ./fs/smb/client  -DMODULE")
HOSTCC = ("set -e;  echo '  gcc -Wp,-MMD,scripts/basic/.fixdep.d -Wall -O2 -o scripts/basic/fixdep "
          "/src/linux/scripts/basic/fixdep.c   '; gcc -Wp,-MMD,scripts/basic/.fixdep.d -Wall -O2 "
          "-o scripts/basic/fixdep /src/linux/scripts/basic/fixdep.c   ")

DRY_RUN = "\n".join([
    "make: Entering directory '/src/linux'",
    "make -C /src/build/.passdown-dryrun-abc/o -f /src/linux/Makefile fs/ mm/",
    "make[1]: Entering directory '/src/build/.passdown-dryrun-abc/o'",
    HOSTCC,
    "make -f /src/linux/scripts/Makefile.build obj=fs \\",
    "need-builtin=1 \\",
    "need-modorder=1",
    BUFFER,
    GENKSYMS,
    "set -e;  echo '  /src/linux/scripts/check-local-export fs/buffer.o'; /src/linux/scripts/check-local-export fs/buffer.o",
    EXT2,
    XFS,
    GRACE,
    ASN1,
    ":",
    "make[1]: Leaving directory '/src/build/.passdown-dryrun-abc/o'",
    "make: Leaving directory '/src/linux'",
]) + "\n"


def _parse(text: str = DRY_RUN, garbled: list | None = None):
    return kbuild.parse_dry_run(text.splitlines(keepends=True), TREE, {COPY: BUILD}, garbled)


# -- parsing ------------------------------------------------------------------


def test_parse_finds_each_c_compile_once_in_order():
    found = _parse()
    # The host program (gcc -o prog prog.c, no -c) is not a compile of an object.
    assert [c.output for c in found] == [
        "fs/buffer.o", "fs/ext2/balloc.o", "fs/xfs/libxfs/xfs_bmap.o", "fs/nfs_common/grace.o",
        "fs/smb/client/cifs_spnego_negtokeninit.asn1.o",
    ]
    # The copy's directory (from "Entering directory") is mapped back to the real one.
    assert {c.directory for c in found} == {BUILD}


def test_parse_keeps_the_exact_raw_argument_list():
    ext2 = _parse()[1]
    assert ext2.source == "/src/linux/fs/ext2/balloc.c"
    expected = ["gcc", "-Wp,-MMD,fs/ext2/.balloc.o.d"] + shlex.split(COMMON) + [
        "-I", "/src/linux/fs/ext2", "-I", "./fs/ext2", "-DMODULE", '-DKBUILD_BASENAME="balloc"',
        '-DKBUILD_MODNAME="ext2"', "-D__KBUILD_MODNAME=kmod_ext2", "-c", "-o", "fs/ext2/balloc.o",
        "/src/linux/fs/ext2/balloc.c"]
    assert list(ext2.arguments) == expected
    # Not filtered for libclang here: gcc-only flags stay.
    assert "-mpreferred-stack-boundary=3" in ext2.arguments


def test_parse_modular_flags_only_on_modular_objects():
    by_obj = {c.output: c.arguments for c in _parse()}
    assert "-DMODULE" in by_obj["fs/ext2/balloc.o"]
    assert "-DMODULE" not in by_obj["fs/buffer.o"]
    assert '-DKBUILD_MODFILE="fs/buffer"' in by_obj["fs/buffer.o"]


def test_parse_per_directory_include_flags():
    xfs = list(next(c for c in _parse() if c.output.endswith("xfs_bmap.o")).arguments)
    pairs = list(zip(xfs, xfs[1:]))
    assert ("-I", "/src/linux/fs/xfs/libxfs") in pairs
    assert ("-I", "./fs/xfs") in pairs


def test_parse_stops_the_command_before_objtool():
    grace = next(c for c in _parse() if c.output.endswith("grace.o"))
    assert grace.arguments[-1] == "/src/linux/fs/nfs_common/grace.c"
    assert not any("objtool" in a for a in grace.arguments)


def test_parse_ignores_preprocessor_runs_and_echo_text():
    outputs = [c.output for c in _parse()]
    assert all("hpfs" not in o for o in outputs)  # gcc -E for genksyms
    assert len(outputs) == len(set(outputs))  # the echo and fixdep copies are quoted words


@pytest.mark.parametrize("words, expected", [
    ("gcc -c -o a.o a.c", ("a.c", "a.o")),
    ("{ gcc -c -o a.o /t/a.c", ("/t/a.c", "a.o")),
    ("ccache x86_64-linux-gnu-gcc-12 -O2 -c a.c -oa.o", ("a.c", "a.o")),
    ("clang --param x=1 -include k.h -I inc -c -o a.o a.c", ("a.c", "a.o")),
    ("gcc -E -c -o a.i a.c", None),
    ("gcc -c -o a.o a.S", None),
    ("gcc -o prog prog.c", None),
    ("gcc -c -o a.o a.c b.c", None),
    ("ld -r -o a.o b.o", None),
])
def test_compile_in(words, expected):
    hit = kbuild.compile_in(words.split())
    if expected is None:
        assert hit is None
    else:
        assert hit is not None and (hit[1], hit[2]) == expected


def test_shell_words_match_shlex():
    # (shlex splits "2>/dev/null" as "2", ">"; shell_words keeps "2>" whole: both fine here.)
    for line in [EXT2, GRACE, r'''a "b\"c" d\ e 'f g' "h$i" x\\y''']:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        assert kbuild.shell_words(line) == list(lexer)
    assert kbuild.shell_words("echo 'unbalanced") is None
    assert kbuild.shell_words("nm a.o 2>/dev/null | grep -q x; fi") == ["nm", "a.o", "2>", "/dev/null", "|", "grep",
                                                                     "-q", "x", ";", "fi"]


def test_logical_lines_join_continuations():
    got = list(kbuild.logical_lines(["a \\\n", "b \\\n", "c\n", "d\\\\\n", "e\n"]))
    assert got == ["a b c", "d\\\\", "e"]


def test_garbled_parallel_output_is_detected():
    # Another make's line written into the middle of the gcc command (seen
    # with -j2 --output-sync=target): the compile is lost, fixdep still names it.
    cut = EXT2.index("-fsanitize=kernel-address", EXT2.index("trap - PIPE"))
    broken = (EXT2[:cut] + "make -f /src/linux/scripts/Makefile.build obj=mm/kfence \\\n"
              "need-builtin=1 \\\nneed-modorder=1\n" + EXT2[cut:])
    garbled: list[str] = []
    found = _parse(broken + "\n" + BUFFER + "\n", garbled)
    assert [c.output for c in found] == ["fs/buffer.o"]
    assert len(garbled) == 1
    clean: list[str] = []
    _parse(DRY_RUN, clean)
    assert clean == []


def test_compdb_entries_filter_dirs_and_split_generated():
    tree, build = Path(TREE), Path(BUILD)
    entries, generated = kbuild.compdb_entries(_parse(), tree=tree, build=build, dirs=["fs"])
    assert [e["file"] for e in entries] == [
        "/src/linux/fs/buffer.c", "/src/linux/fs/ext2/balloc.c", "/src/linux/fs/xfs/libxfs/xfs_bmap.c",
        "/src/linux/fs/nfs_common/grace.c"]
    assert [e["file"] for e in generated] == ["/src/build/fs/smb/client/cifs_spnego_negtokeninit.asn1.c"]
    e = entries[1]
    assert set(e) == {"directory", "file", "arguments", "output"}
    assert e["directory"] == BUILD and e["output"] == "fs/ext2/balloc.o" and e["arguments"][0] == "gcc"
    only_ext2, _ = kbuild.compdb_entries(_parse(), tree=tree, build=build, dirs=["fs/ext2"])
    assert [e["file"] for e in only_ext2] == ["/src/linux/fs/ext2/balloc.c"]
    assert kbuild.compdb_entries(_parse(), tree=tree, build=build, dirs=["mm"]) == ([], [])


def test_compdb_entries_build_dir_inside_tree():
    # O=tree/build: kbuild prints sources relative (srctree is "..").
    lines = [kbuild.CompileLine("/src/linux/build", "../fs/a.c", "fs/a.o", ("gcc", "-c", "-o", "fs/a.o", "../fs/a.c")),
             kbuild.CompileLine("/src/linux/build", "fs/gen.c", "fs/gen.o", ("gcc", "-c", "-o", "fs/gen.o", "fs/gen.c"))]
    entries, generated = kbuild.compdb_entries(lines, tree=Path("/src/linux"), build=Path("/src/linux/build"),
                                               dirs=["fs"])
    assert [e["file"] for e in entries] == ["/src/linux/fs/a.c"]
    assert [e["file"] for e in generated] == ["/src/linux/build/fs/gen.c"]


def test_last_error_line(tmp_path):
    log = tmp_path / "log"
    log.write_text("  HOSTCC  scripts/basic/fixdep\n"
                   "/src/tools/objtool/elf.c:10:10: fatal error: gelf.h: No such file or directory\n"
                   "compilation terminated.\n"
                   "make[4]: *** [Makefile:43: elf.o] Error 1\n"
                   "make: *** [Makefile:1234: prepare] Error 2\n")
    assert kbuild.last_error_line(log) == "/src/tools/objtool/elf.c:10:10: fatal error: gelf.h: No such file or directory"


# -- tree checks and refusals -------------------------------------------------


def _fake_tree(root: Path, makefile: str = "all:\n") -> Path:
    (root / "arch" / "x86").mkdir(parents=True)
    (root / "scripts").mkdir()
    (root / "scripts" / "Kbuild.include").write_text("")
    (root / "Kconfig").write_text("")
    (root / "Makefile").write_text(makefile)
    for d in ("fs/ext2", "mm"):
        (root / d).mkdir(parents=True)
    return root


def test_is_kernel_tree(tmp_path):
    tree = _fake_tree(tmp_path / "linux")
    assert kbuild.is_kernel_tree(tree)
    assert not kbuild.is_kernel_tree(tmp_path / "nowhere")
    for part in ("Kconfig", "Makefile", "scripts/Kbuild.include"):
        t = _fake_tree(tmp_path / part.replace("/", "_"))
        (t / part).unlink()
        assert not kbuild.is_kernel_tree(t), part
    t = _fake_tree(tmp_path / "noarch")
    shutil.rmtree(t / "arch")
    assert not kbuild.is_kernel_tree(t)


@pytest.fixture
def no_tool_check(monkeypatch):
    monkeypatch.setattr(kbuild, "check_tools", lambda: None)


def test_refuses_a_non_kernel_tree(tmp_path, no_tool_check):
    (tmp_path / "src").mkdir()
    with pytest.raises(InputError, match="not a Linux source tree.*pass the root of a kernel checkout"):
        kbuild.prepare(tmp_path / "src", tmp_path / "build")
    with pytest.raises(InputError, match="not a directory"):
        kbuild.prepare(tmp_path / "missing", tmp_path / "build")


@pytest.mark.parametrize("kwargs, match", [
    ({"arch": "arm64"}, r"has no arch/arm64: give --arch one of x86"),
    ({"arch": "x86 64"}, r"bad arch"),
    ({"dirs": ("nosuch",)}, r"nosuch is not a directory"),
    ({"dirs": ("../etc",)}, r"not a subdirectory"),
    ({"dirs": ()}, r"no directories"),
    ({"config": "no/such/.config"}, r"neither a Kconfig target .* nor an existing file"),
    ({"jobs": -1}, r"jobs must be at least 1"),
])
def test_refusals(tmp_path, no_tool_check, kwargs, match):
    tree = _fake_tree(tmp_path / "linux")
    with pytest.raises(InputError, match=match):
        kbuild.prepare(tree, tmp_path / "build", **kwargs)


def test_refuses_building_in_the_tree(tmp_path, no_tool_check):
    tree = _fake_tree(tmp_path / "linux")
    with pytest.raises(InputError, match="must not be the tree itself"):
        kbuild.prepare(tree, tree)
    with pytest.raises(InputError, match="contains the tree"):
        kbuild.prepare(tree, tmp_path)


def test_missing_tools_name_the_debian_packages():
    with pytest.raises(ToolError, match=r"needs flex, bison, which are missing.*apt-get install flex bison\)$"):
        kbuild.check_tools(which=lambda exe: None if exe in ("flex", "bison") else f"/usr/bin/{exe}",
                           has_header=lambda h: True)
    with pytest.raises(ToolError, match=r"needs libelf-dev, which is missing.*apt-get install libelf-dev\)$"):
        kbuild.check_tools(which=lambda exe: f"/usr/bin/{exe}", has_header=lambda h: h != "gelf.h")
    with pytest.raises(ToolError, match=r"apt-get install make gcc\)$"):
        kbuild.check_tools(which=lambda exe: None if exe in ("make", "gcc") else exe, has_header=lambda h: True)
    kbuild.check_tools(which=lambda exe: exe, has_header=lambda h: True)


def test_config_kind(tmp_path):
    assert kbuild.config_kind("allmodconfig") == ("target", None)
    assert kbuild.config_kind("x86_64_defconfig") == ("target", None)
    cfg = tmp_path / "my.config"
    cfg.write_text("CONFIG_EXT2_FS=y\n")
    assert kbuild.config_kind(str(cfg)) == ("file", cfg.resolve())
    with pytest.raises(InputError, match="interactive"):
        kbuild.config_kind("menuconfig")


def test_config_kind_bare_name_of_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "myconfig").write_text("CONFIG_MMU=y\n")
    (tmp_path / "defconfig").write_text("CONFIG_MMU=y\n")
    assert kbuild.config_kind("myconfig") == ("file", (tmp_path / "myconfig").resolve())
    assert kbuild.config_kind("defconfig") == ("target", None)  # a well-known target wins
    assert kbuild.config_kind("./defconfig") == ("file", (tmp_path / "defconfig").resolve())


# -- prepare() end to end against a fake kbuild -------------------------------

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")

# Enough of kbuild's shape: the top make re-executes itself in O= (so make
# prints "Entering directory"), the sub-make creates directories in O= (as
# Makefile.build does) and prints kbuild-shaped compile lines under -n.
FAKE_TOP = """\
.PHONY: allmodconfig defconfig olddefconfig prepare broken_defconfig fs/ mm/
allmodconfig defconfig:
\t@mkdir -p $(O) && echo "CONFIG_$@=y" > $(O)/.config && echo $@ >> $(O)/calls
olddefconfig:
\t@echo olddefconfig >> $(O)/calls
prepare:
\t@echo prepare >> $(O)/calls
broken_defconfig:
\t@echo "scripts/kconfig/conf: error: broken_defconfig is broken" >&2; exit 1
fs/ mm/:
\t$(MAKE) -C $(O) -f $(CURDIR)/Makefile.sub srctree=$(CURDIR) $@
"""
FAKE_SUB = """\
.PHONY: fs/ mm/
$(shell mkdir -p fs/ext2 mm)
fs/: fs/ext2/balloc.o fs/buffer.o
mm/: mm/filemap.o
%.o:
\tset -e; gcc -Wp,-MMD,$(dir $@).$(notdir $@).d -nostdinc -I$(srctree)/include $(if $(findstring ext2,$@),-DMODULE) -DKBUILD_BASENAME='"$(basename $(notdir $@))"' -c -o $@ $(srctree)/$(@:.o=.c); scripts/basic/fixdep $(dir $@).$(notdir $@).d $@ 'gcc ...' > $(dir $@).$(notdir $@).cmd
"""


@pytest.fixture
def fake_kernel(tmp_path, no_tool_check):
    tree = _fake_tree(tmp_path / "linux", FAKE_TOP)
    (tree / "Makefile.sub").write_text(FAKE_SUB)
    for f in ("fs/ext2/balloc.c", "fs/buffer.c", "mm/filemap.c"):
        (tree / f).write_text("int x;\n")
    return tree


@needs_make
def test_prepare_end_to_end(fake_kernel, tmp_path):
    build = tmp_path / "build"
    logs: list[str] = []
    res = kbuild.prepare(fake_kernel, build, dirs=("fs",), jobs=2, log=logs.append)
    assert res == kbuild.PrepareResult(build / "compile_commands.json", "allmodconfig", "x86_64", 2, False)
    db = json.loads(res.compdb.read_text())
    assert [e["file"] for e in db] == [str(fake_kernel / "fs/buffer.c"), str(fake_kernel / "fs/ext2/balloc.c")]
    ext2 = db[1]
    assert ext2["directory"] == str(build) and ext2["output"] == "fs/ext2/balloc.o"
    assert ext2["arguments"] == ["gcc", "-Wp,-MMD,fs/ext2/.balloc.o.d", "-nostdinc", f"-I{fake_kernel}/include",
                                 "-DMODULE", '-DKBUILD_BASENAME="balloc"', "-c", "-o", "fs/ext2/balloc.o",
                                 f"{fake_kernel}/fs/ext2/balloc.c"]
    assert "-DMODULE" not in db[0]["arguments"]
    meta = kbuild.read_prepare_meta(build)
    assert {k: meta[k] for k in ("config", "arch", "tree", "dirs", "config_sha")} == {
        "config": "allmodconfig", "arch": "x86_64", "tree": str(fake_kernel), "dirs": ["fs"], "config_sha": None}
    assert (build / "calls").read_text().split() == ["allmodconfig", "prepare"]
    # The dry run ran in a copy: the sub-make's directories are not in the real output dir.
    assert not (build / "fs").exists()
    assert not list(build.glob(".passdown-dryrun-*"))
    assert oct(res.compdb.stat().st_mode & 0o777) != oct(0o600)

    # Same config, other dirs: configuration reused, compile commands merged.
    res2 = kbuild.prepare(fake_kernel, build, dirs=("mm",))
    assert res2.reused and res2.entries == 3
    assert (build / "calls").read_text().split() == ["allmodconfig", "prepare"]
    assert kbuild.read_prepare_meta(build)["dirs"] == ["fs", "mm"]
    # Same dirs again: the file is rewritten, not merged twice.
    res3 = kbuild.prepare(fake_kernel, build, dirs=("fs", "mm"))
    assert res3.reused and res3.entries == 3

    # .config changed behind passdown's back: configured again.
    (build / ".config").write_text("CONFIG_EDITED=y\n")
    assert not kbuild.prepare(fake_kernel, build, dirs=("fs", "mm")).reused
    assert (build / "calls").read_text().split() == ["allmodconfig", "prepare"] * 2

    # Another config: configured again, nothing merged from the old one.
    res4 = kbuild.prepare(fake_kernel, build, config="defconfig", dirs=("mm",))
    assert not res4.reused and res4.entries == 1
    assert (build / "calls").read_text().split()[-2:] == ["defconfig", "prepare"]


@needs_make
def test_prepare_with_a_config_file(fake_kernel, tmp_path):
    cfg = tmp_path / "my.config"
    cfg.write_text("CONFIG_EXT2_FS=m\n")
    build = tmp_path / "build"
    res = kbuild.prepare(fake_kernel, build, config=str(cfg), dirs=("mm",))
    assert res.config == str(cfg.resolve()) and not res.reused
    assert (build / ".config").read_text() == "CONFIG_EXT2_FS=m\n"
    assert (build / "calls").read_text().split() == ["olddefconfig", "prepare"]
    assert kbuild.prepare(fake_kernel, build, config=str(cfg), dirs=("mm",)).reused
    cfg.write_text("CONFIG_EXT2_FS=y\n")  # another sha: configured again
    assert not kbuild.prepare(fake_kernel, build, config=str(cfg), dirs=("mm",)).reused


@needs_make
def test_prepare_quotes_the_failing_make(fake_kernel, tmp_path):
    build = tmp_path / "build"
    with pytest.raises(ToolError) as err:
        kbuild.prepare(fake_kernel, build, config="broken_defconfig")
    msg = str(err.value)
    assert "make broken_defconfig failed: scripts/kconfig/conf: error: broken_defconfig is broken" in msg
    assert str(build / kbuild.MAKE_LOG) in msg
    assert "\n" not in msg
    assert kbuild.read_prepare_meta(build) is None
    # A failed reconfiguration leaves no claim that the old one is still there.
    kbuild.prepare(fake_kernel, build, dirs=("mm",))
    assert kbuild.read_prepare_meta(build) is not None
    with pytest.raises(ToolError):
        kbuild.prepare(fake_kernel, build, config="broken_defconfig")
    assert kbuild.read_prepare_meta(build) is None


@needs_make
def test_concurrent_prepares_take_turns(fake_kernel, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    build = tmp_path / "build"
    build.mkdir()
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: kbuild.prepare(fake_kernel, build, dirs=("fs",)), range(2)))
    assert sorted(r.reused for r in results) == [False, True]
    assert (build / "calls").read_text().split() == ["allmodconfig", "prepare"]
