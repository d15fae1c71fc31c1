"""rules: the shipped rules load; bad rule files are errors that name the key."""

from __future__ import annotations

import pytest

from passdown import rules
from passdown.errors import InputError


def test_shipped_rules_load():
    page, _ = rules.load()
    assert (page.field.struct, page.field.member) == ("page", "mapping")
    assert [s.type for s in page.source][:3] == ["struct address_space *", "struct file *", "struct inode *"]
    folio, _ = rules.load("folio-mapping")
    assert folio.parameter.position == "after:struct folio *"


def test_source_matches_clang_canonical_spelling():
    page, _ = rules.load()
    assert page.source_for("const struct file *").expr == "{var}->f_mapping"
    assert page.source_for("struct page *") is None


BASE = (rules.RULES_DIR / "page-mapping.toml").read_text()


@pytest.mark.parametrize(
    "edit, key",
    [
        (("[parameter]\n", "[parameter]\ncolour = 1\n"), "parameter.colour: unknown key"),
        (('type = "struct address_space *"\nname = "mapping"', 'type = "address_space"\nname = "mapping"'),
         "parameter.type: 'address_space' is not a C pointer type"),
        (('name = "mapping"', "name = 3"), "parameter.name"),
        (('position = "first"', 'position = "last"'), "parameter.position"),
        (('confidence = "review"', 'confidence = "maybe"'), "source.4.confidence"),
        (('expr = "{var}->f_mapping"', 'expr = "file->f_mapping"'), "source.1.expr: must use {var}"),
    ],
)
def test_bad_rule_names_the_key(tmp_path, edit, key):
    old, new = edit
    assert old in BASE
    bad = tmp_path / "bad.toml"
    bad.write_text(BASE.replace(old, new, 1))
    with pytest.raises(InputError) as err:
        rules.load(str(bad))
    assert key in str(err.value) and "\n" not in str(err.value)


def test_unknown_rule_name_lists_the_known_ones():
    with pytest.raises(InputError, match="page-mapping"):
        rules.load("nope")


def test_broken_toml(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(InputError, match="not valid TOML"):
        rules.load(str(bad))
