"""Hostile or mistaken YAML in every file the engine reads (front matter, message_map.yaml,
prospect profiles, labels.yaml): refused with a problem naming the file, the field and the
line, never a Python error, and for a library collected with every other problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import LibraryError, load_library, load_prospects
from engine.evaluate import load_labels
from engine.frontmatter import MAX_VALUES
from tests.factories import library_problems, prospect_problems, write_library

MESSAGE_MAP = "slots:\n- {id: opening, title: Why now}\n"
SELF_ALIAS = "&a [*a]"


def labels_problems(path: Path) -> list[tuple[str, str, str]]:
    with pytest.raises(LibraryError) as caught:
        load_labels(path)
    return [(Path(p.file).name, p.field, p.message) for p in caught.value.problems]


def block_file(root: Path, block_id: str, extra: str) -> None:
    (root / "blocks" / f"{block_id}.md").write_text(
        f"---\nid: {block_id}\nslot: opening\ntitle: T\nstatus: approved\n{extra}\n---\nBody.\n"
    )


def test_an_impossible_date_in_front_matter_names_the_field_beside_the_other_problems(
    tmp_path: Path,
) -> None:
    write_library(tmp_path, [{"id": "elsewhere", "slot": "nowhere"}])
    block_file(tmp_path, "dated", "expires: 2026-13-45")

    found = library_problems(tmp_path)

    assert {(file, field) for file, field, _ in found} == {
        ("dated.md", "expires"),
        ("elsewhere.md", "slot"),
    }
    message = next(m for f, _, m in found if f == "dated.md")
    assert message == "at line 6 '2026-13-45' is not a valid date (month must be in 1..12)"


def test_an_impossible_date_in_the_message_map_names_the_field(tmp_path: Path) -> None:
    write_library(tmp_path, [])
    (tmp_path / "message_map.yaml").write_text(f"name: 2026-13-45\n{MESSAGE_MAP}")

    assert library_problems(tmp_path) == [
        (
            "message_map.yaml",
            "name",
            "at line 1 '2026-13-45' is not a valid date (month must be in 1..12)",
        )
    ]


def test_an_impossible_date_in_a_prospect_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("id: p-a\ncompany: Acme\ncontact:\n  name: 2026-02-30\n")

    [(file, field, message)] = prospect_problems(path)

    assert (file, field) == ("p.yaml", "contact.name")
    assert message.startswith("at line 4 '2026-02-30' is not a valid date (day is out of range")


def test_a_self_referencing_alias_in_a_prospect_is_refused_naming_the_field(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"id: p-a\ncompany: Acme\nindustry: {SELF_ALIAS}\n")

    assert prospect_problems(path) == [
        ("p.yaml", "industry[0]", "at line 3 contains itself (a recursive alias)")
    ]


def test_a_self_referencing_alias_in_front_matter_message_map_and_labels_is_refused(
    tmp_path: Path,
) -> None:
    write_library(tmp_path, [])
    (tmp_path / "message_map.yaml").write_text(f"name: Pitch\nnote: {SELF_ALIAS}\n{MESSAGE_MAP}")
    block_file(tmp_path, "looped", f"notes: {SELF_ALIAS}")
    labels = tmp_path / "labels.yaml"
    labels.write_text(f"p-a:\n  slots: {{opening: {SELF_ALIAS}}}\n")

    assert set(library_problems(tmp_path)) == {
        ("looped.md", "notes[0]", "at line 6 contains itself (a recursive alias)"),
        ("message_map.yaml", "note[0]", "at line 2 contains itself (a recursive alias)"),
    }
    assert labels_problems(labels) == [
        ("labels.yaml", "p-a.slots.opening[0]", "at line 2 contains itself (a recursive alias)")
    ]


def test_a_key_given_twice_in_a_prospect_is_refused_naming_key_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("id: p-a\ncompany: Acme\nid: p-b\n")

    assert prospect_problems(path) == [
        ("p.yaml", "id", "at line 3 repeats a key first given at line 1")
    ]


def test_a_key_given_twice_in_a_json_prospect_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"id": "p-a", "company": "Acme", "id": "p-b"}')

    assert prospect_problems(path) == [("p.json", "id", "is given twice")]


def test_a_key_given_twice_deep_in_a_json_prospect_is_named_by_its_path(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(
        '{"id": "p-a", "company": "Acme", "contact": {"name": "Ann", "title": "CFO", '
        '"name": "Bo"}, "region": [{"code": "emea", "code": "na"}]}'
    )

    assert prospect_problems(path) == [
        ("p.json", "contact.name", "is given twice"),
        ("p.json", "region[0].code", "is given twice"),
    ]


@pytest.mark.parametrize("depth", [600, 100_000])
def test_json_nested_too_deeply_is_refused_not_a_recursion_error(
    tmp_path: Path, depth: int
) -> None:
    """Deeper than the reader can go (100,000), or than the check for repeated keys can walk
    after it (600)."""
    path = tmp_path / "p.json"
    path.write_text('{"id": "p-a", "company": "Acme", "needs": ' + "[" * depth + "]" * depth + "}")

    assert prospect_problems(path) == [("p.json", "file", "invalid JSON: nested too deeply")]


def test_a_key_given_twice_in_front_matter_and_message_map_is_refused(tmp_path: Path) -> None:
    write_library(tmp_path, [])
    (tmp_path / "message_map.yaml").write_text(
        "name: Pitch\nslots:\n- {id: opening, title: Why now, title: Why}\n"
    )
    block_file(tmp_path, "twice", "status: draft")

    assert set(library_problems(tmp_path)) == {
        ("twice.md", "status", "at line 6 repeats a key first given at line 5"),
        ("message_map.yaml", "slots[0].title", "at line 3 repeats a key first given at line 3"),
    }


def test_a_key_given_twice_in_labels_is_refused(tmp_path: Path) -> None:
    labels = tmp_path / "labels.yaml"
    labels.write_text("p-a:\n  slots: {opening: [a]}\np-a:\n  slots: {opening: [b]}\n")

    assert labels_problems(labels) == [
        ("labels.yaml", "p-a", "at line 3 repeats a key first given at line 1")
    ]


def test_a_merge_key_may_still_be_overridden_by_the_keys_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "id: p-a\ncompany: Acme\ncontact:\n  <<: {name: Dana, title: CFO}\n  title: CEO\n"
    )

    [prospect] = load_prospects(path)

    assert (prospect.contact.name, prospect.contact.title) == ("Dana", "CEO")


def test_aliases_that_multiply_into_millions_of_values_are_refused(tmp_path: Path) -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = tmp_path / "p.yaml"
    path.write_text("id: p-a\ncompany: Acme\n" + "\n".join(levels) + "\n")

    assert prospect_problems(path) == [
        ("p.yaml", "file", f"at line 1 stands for more than {MAX_VALUES} values through aliases")
    ]


def test_nesting_too_deep_for_the_parser_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("id: p-a\ncompany: Acme\nindustry: " + "[" * 5000 + "\n")

    assert prospect_problems(path) == [("p.yaml", "file", "invalid YAML: nested too deeply")]


def test_every_fixture_library_prospect_and_labels_file_still_loads() -> None:
    fixtures = Path(__file__).parents[2] / "fixtures"
    folders = sorted(p.parent for p in fixtures.glob("*/labels.yaml"))
    assert folders
    for folder in folders:
        assert load_library(folder / "library").blocks
        prospects = load_prospects(folder / "prospects")
        assert set(load_labels(folder / "labels.yaml").acceptable) == {p.id for p in prospects}


def test_a_json_prospect_without_repeated_keys_loads_as_before(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"id": "p-a", "company": "Acme", "contact": {"name": "Dana"}}))

    [prospect] = load_prospects(path)

    assert (prospect.id, prospect.contact.name) == ("p-a", "Dana")


def test_a_key_yaml_builds_as_a_list_or_set_is_refused_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("id: p-a\ncompany: Acme\n!!set persona: cfo\n")

    assert prospect_problems(path) == [("p.yaml", "file", "at line 3 'persona' is not a valid key")]


def test_a_value_too_long_to_quote_is_cut_in_the_message(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("id: p-a\ncompany: Acme\nstage: !!int " + "9" * 5_000 + "x\n")

    [(_, field, message)] = prospect_problems(path)
    assert field == "stage" and len(message) < 200


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("NaN", "invalid JSON: NaN is not a JSON value"),
        ("-Infinity", "invalid JSON: -Infinity is not a JSON value"),
        ("9" * 5000, "invalid JSON: a number of 5000 digits is too long"),
    ],
)
def test_json_python_reads_but_json_has_not_is_refused(
    tmp_path: Path, value: str, message: str
) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"id": "p-a", "company": "Acme", "persona": ' + value + "}")

    assert prospect_problems(path) == [("p.json", "file", message)]


@pytest.mark.parametrize(
    ("name", "text"), [("p.json", '"persona": 1e999'), ("p.yaml", "persona: .nan")]
)
def test_a_facet_value_that_is_no_number_is_refused(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    if name.endswith(".json"):
        path.write_text('{"id": "p-a", "company": "Acme", ' + text + "}")
    else:
        path.write_text("id: p-a\ncompany: Acme\n" + text + "\n")

    assert prospect_problems(path) == [(name, "persona", "must be text or a list of text")]


def test_labels_that_are_not_a_regular_file_are_refused_not_read(tmp_path: Path) -> None:
    labels = tmp_path / "labels.yaml"
    labels.symlink_to("/dev/zero")

    assert labels_problems(labels) == [("labels.yaml", "file", "is not a regular file")]
