"""The series as mail: sub-series of at most 15 patches, each written by
``git format-patch`` with its own cover letter (``[PATCH 0/n]``, shortlog,
diffstat, ``base-commit:`` and ``prerequisite-patch-id:`` from git, To/Cc
from MAINTAINERS, ``change-id:`` as b4 writes it), ready for
``git send-email`` or ``b4 prep -e``.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import git

from .commits import Unit
from .errors import InputError

MAX_PATCHES = 15


@dataclass(frozen=True)
class Part:
    number: int  # 1-based
    units: tuple[Unit, ...]
    shas: tuple[str, ...]
    depends: tuple[int, ...]  # earlier parts some patch here needs


def cut(units: list[Unit], shas: list[str], limit: int = MAX_PATCHES) -> list[Part]:
    """Consecutive chunks of at most *limit* patches; each names the earlier
    chunks holding a unit one of its patches needs."""
    part_of: dict[str, int] = {}
    parts = []
    for n, start in enumerate(range(0, len(units), limit), 1):
        chunk = units[start:start + limit]
        for u in chunk:
            part_of[u.id] = n
        deps = sorted({part_of[a] for u in chunk for a in u.after if part_of.get(a, n) < n})
        parts.append(Part(n, tuple(chunk), tuple(shas[start:start + limit]), tuple(deps)))
    return parts


def change_id(rule: str, scope: list[str], base: str, date: str) -> str:
    digest = hashlib.sha256("\0".join([rule, *scope, base]).encode()).hexdigest()[:12]
    return f"{date}-{rule}-{digest}"


def write(repo: git.Repo, outdir: Path, base: str, parts: list[Part], covers: list[tuple[str, str]],
          recipients: list[tuple[list[str], list[str]]], change: str) -> list[Path]:
    """Format every part into outdir/partN/; returns the directories.  The
    directory is written beside and renamed into place, so an interrupted run
    leaves no half-written series."""
    outdir = outdir.resolve()
    if outdir.exists() and any(outdir.iterdir()):
        raise InputError(f"{outdir} is not empty; choose another --outdir or remove it")
    outdir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".passdown-patches-", dir=outdir.parent))
    try:
        made = []
        for part, (subject, blurb), (to, cc) in zip(parts, covers, recipients):
            d = staging / f"part{part.number}"
            first = part.shas[0]
            args = ["--quiet", "-o", str(d), "--numbered", "--cover-letter", f"--base={base}",
                    "--subject-prefix=PATCH", *[f"--to={a}" for a in to], *[f"--cc={a}" for a in cc],
                    f"{first}^..{part.shas[-1]}"]
            repo.git.format_patch(*args)
            _fill_cover(d, subject, blurb, change)
            made.append(outdir / d.name)
        if outdir.exists():
            outdir.rmdir()
        staging.rename(outdir)
        return made
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _fill_cover(d: Path, subject: str, blurb: str, change: str) -> None:
    cover = next(d.glob("0000-cover-letter.patch"))
    text = cover.read_text()
    text = text.replace("*** SUBJECT HERE ***", subject, 1).replace("*** BLURB HERE ***", blurb.rstrip(), 1)
    text = re.sub(r"^(base-commit: \w+\n)", lambda m: m.group(1) + f"change-id: {change}\n", text, count=1,
                  flags=re.M)
    cover.write_text(text)
