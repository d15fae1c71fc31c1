"""Rule files: which field, which parameter, where a mapping can come from.

A rule is TOML (``rules/page-mapping.toml`` is the default), validated with
pydantic: unknown keys, wrong types and malformed C types are errors that name
the key.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from . import facts as F
from .errors import InputError

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"
DEFAULT_RULE = "page-mapping"

# A C pointer type as passdown can match it against clang's canonical spelling:
# "struct address_space *", "const struct file *", "struct page **".
_C_POINTER = re.compile(r"^(const )?(struct|union) [A-Za-z_]\w* \*+$")
_IDENT = re.compile(r"^[A-Za-z_]\w*$")


def _c_type(value: str) -> str:
    value = " ".join(value.replace("*", " *").split()).replace("* *", "**")
    if not _C_POINTER.match(value):
        raise ValueError(f"'{value}' is not a C pointer type like 'struct address_space *'")
    return value


def _ident(value: str) -> str:
    if not _IDENT.match(value):
        raise ValueError(f"'{value}' is not a C identifier")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldRule(_Model):
    struct: str
    member: str

    _check = field_validator("struct", "member")(_ident)


class ParameterRule(_Model):
    type: str
    name: str
    fallback_name: str
    position: str = "first"

    _type = field_validator("type")(_c_type)
    _names = field_validator("name", "fallback_name")(_ident)

    @field_validator("position")
    @classmethod
    def _position(cls, v: str) -> str:
        if v == "first":
            return v
        if v.startswith("after:"):
            return "after:" + _c_type(v[len("after:"):])
        raise ValueError("must be 'first' or 'after:<C type>'")


Confidence = Literal["exact", "derived", "review"]


class SourceRule(_Model):
    type: str
    expr: str
    confidence: Confidence

    _type = field_validator("type")(_c_type)

    @field_validator("expr")
    @classmethod
    def _expr(cls, v: str) -> str:
        if "{var}" not in v:
            raise ValueError("must use {var} for the parameter or local")
        return v


class MemberSourceRule(_Model):
    struct: str
    base_suffix: str
    confidence: Confidence = "exact"


class HelperRule(_Model):
    name: str
    predicate: str
    header: str
    templates: str | None = None  # a directory of the user's own templates

    _names = field_validator("name", "predicate")(_ident)


class AccessorRule(_Model):
    functions: list[str] = []
    macros: list[str] = []


class ScopeRule(_Model):
    default: list[str] = ["fs", "mm"]


class StopRule(_Model):
    functions: list[str] = []
    files: list[str] = []
    directories: list[str] = []
    # Ops members ("struct.member") and callback types (a typedef name, or
    # "function#N" for a plain function-pointer parameter) whose signature is
    # fixed by core code: a group holding one cannot take the parameter.
    members: list[str] = []
    callbacks: list[str] = []


class Rule(_Model):
    name: str
    description: str = ""
    field: FieldRule
    parameter: ParameterRule
    source: list[SourceRule] = Field(min_length=1)
    member_source: list[MemberSourceRule] = []
    helper: HelperRule
    accessors: AccessorRule = AccessorRule()
    scope: ScopeRule = ScopeRule()
    stop: StopRule = StopRule()

    @property
    def spec(self) -> F.FieldSpec:
        return F.FieldSpec(self.field.struct, self.field.member)

    def source_for(self, canonical: str) -> SourceRule | None:
        """The source rule whose type matches a clang canonical type spelling."""
        table = self.__dict__.get("_by_type")
        if table is None:  # asked ~1M times by a plan over fs/ + mm/: one dict lookup each
            table = {}
            for s in reversed(self.source):
                table[s.type.replace("const ", "").strip()] = s
            object.__setattr__(self, "_by_type", table)
        return table.get(canonical.replace("const ", "").strip())


def load(name_or_path: str | None = None) -> tuple[Rule, Path]:
    """A rule by name (``page-mapping``, from ``rules/``) or by file path."""
    name = name_or_path or DEFAULT_RULE
    path = Path(name)
    if not path.suffix:
        path = RULES_DIR / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in RULES_DIR.glob("*.toml")))
        raise InputError(f"no rule '{name}'; use one of {known} or the path of a .toml file")
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise InputError(f"{path}: not valid TOML ({err}); fix the file") from None
    try:
        return Rule.model_validate(data), path
    except ValidationError as err:
        e = err.errors()[0]
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"].removeprefix("Value error, ")
        raise InputError(f"{path}: {key}: {msg}; fix the rule file") from None
