"""Filling placeholders per prospect in a sandbox (contract §1): every variable kind, defaults,
errors that name the block and the variable, and block text that tries to do more than fill."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest

from engine import InputError, Library, load_library, parse_prospect
from engine.assemble import FilledBlock, Placeholders, Rep, fill
from engine.markdown import Image, ListBlock, Paragraph, Span, Table, spans_text
from tests.factories import write_library

AS_OF = dt.date(2026, 11, 24)
PROSPECT = {
    "id": "p-northwind",
    "company": "Northwind Bank",
    "contact": {"name": "Dana Lee", "title": "CFO", "email": "dana@northwind.example"},
    "industry": ["banking", "insurance"],
    "region": "emea",
}
REP = Rep(name="Sam Rivera", email="sam@vendor.example", title="Account executive")


def library(tmp_path: Path, *bodies: str, title: str = "A title") -> Library:
    blocks = [
        {"id": f"b-{i}", "slot": "value", "title": title, "body": body}
        for i, body in enumerate(bodies)
    ]
    return load_library(write_library(tmp_path / "lib", blocks))


def filled(
    tmp_path: Path, *bodies: str, title: str = "A title", rep: Rep = REP, **prospect: Any
) -> tuple[FilledBlock, ...]:
    lib = library(tmp_path, *bodies, title=title)
    values = Placeholders(parse_prospect({**PROSPECT, **prospect}), AS_OF, rep)
    return fill(lib.blocks, values, lib.root / "blocks")


def text_of(block: FilledBlock) -> str:
    node = block.nodes[0]
    assert isinstance(node, Paragraph)
    return spans_text(node.spans)


def problems(tmp_path: Path, *bodies: str, **prospect: Any) -> list[tuple[str, str, str]]:
    with pytest.raises(InputError) as caught:
        filled(tmp_path, *bodies, **prospect)
    return [(Path(p.file).name, p.field, p.message) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("placeholder", "value"),
    [
        ("prospect.company", "Northwind Bank"),
        ("prospect.id", "p-northwind"),
        ("prospect.region", "emea"),
        ("prospect.industry", "banking, insurance"),
        ("contact.name", "Dana Lee"),
        ("contact.title", "CFO"),
        ("contact.email", "dana@northwind.example"),
        ("rep.name", "Sam Rivera"),
        ("rep.email", "sam@vendor.example"),
        ("rep.title", "Account executive"),
        ("today", "2026-11-24"),
    ],
)
def test_every_kind_of_placeholder_is_filled_from_the_profile_the_rep_and_the_date(
    tmp_path: Path, placeholder: str, value: str
) -> None:
    (block,) = filled(tmp_path, f"Value: {{{{ {placeholder} }}}}.")
    assert text_of(block) == f"Value: {value}."


def test_the_title_is_filled_too(tmp_path: Path) -> None:
    (block,) = filled(tmp_path, "Body.", title="An offer for {{ prospect.company }}")
    assert block.title == "An offer for Northwind Bank"


def test_placeholders_in_marks_lists_tables_and_image_text_are_filled(tmp_path: Path) -> None:
    body = (
        "Hello **{{ contact.name }}**, *{{ prospect.company }}*.\n\n"
        "- for {{ contact.title }}\n  - and {{ rep.name }}\n\n"
        "| who | when |\n|---|---|\n| {{ prospect.company }} | {{ today }} |\n\n"
        "![Logo of {{ prospect.company }}](logo.png)\n"
    )
    (block,) = filled(tmp_path, body)
    paragraph, items, table, image = block.nodes
    assert isinstance(paragraph, Paragraph)
    assert paragraph.spans == (
        Span("Hello "),
        Span("Dana Lee", bold=True),
        Span(", "),
        Span("Northwind Bank", italic=True),
        Span("."),
    )
    assert isinstance(items, ListBlock)
    assert [(spans_text(i.spans), i.level) for i in items.items] == [
        ("for CFO", 0),
        ("and Sam Rivera", 1),
    ]
    assert isinstance(table, Table)
    assert [spans_text(c) for c in table.rows[0]] == ["Northwind Bank", "2026-11-24"]
    assert image == Image("logo.png", "Logo of Northwind Bank")


def test_a_default_fills_a_missing_value_and_gives_way_to_a_present_one(tmp_path: Path) -> None:
    body = '{{ contact.name | default("your team") }} and {{ rep.name | default("us") }}'
    with_values, without = (
        filled(tmp_path / "a", body),
        filled(tmp_path / "b", body, rep=Rep(), contact=None),
    )
    assert text_of(with_values[0]) == "Dana Lee and Sam Rivera"
    assert text_of(without[0]) == "your team and us"


def test_filters_and_conditions_shape_values(tmp_path: Path) -> None:
    body = (
        "{{ prospect.region | upper }} / {{ prospect.industry | join(' and ') }} / "
        "{% if contact.phone is defined %}call{% else %}write to {{ contact.email }}{% endif %}"
    )
    (block,) = filled(tmp_path, body)
    assert text_of(block) == "EMEA / banking and insurance / write to dana@northwind.example"


def test_a_missing_value_is_an_error_naming_the_block_file_and_the_variable(
    tmp_path: Path,
) -> None:
    found = problems(tmp_path, "Dear {{ contact.name }},", contact={"title": "CFO"})
    assert found == [
        (
            "b-0.md",
            "body",
            "placeholder 'contact.name' has no value for prospect 'p-northwind'; "
            'add | default("...")',
        )
    ]


def test_a_blank_value_counts_as_missing(tmp_path: Path) -> None:
    found = problems(tmp_path, "Dear {{ contact.name }},", contact={"name": "  "})
    assert [message for _, _, message in found] == [
        "placeholder 'contact.name' has no value for prospect 'p-northwind'; add | default(\"...\")"
    ]


def test_every_problem_of_every_block_is_reported_at_once(tmp_path: Path) -> None:
    lib = library(
        tmp_path,
        "{{ rep.name }} and {{ rep.name }}, {{ prospect.budget }}",
        "Hi {{ contact.name | default('there') }}",
        "{{ rep.email }}",
        title="For {{ prospect.sponsor }}",
    )
    values = Placeholders(parse_prospect(PROSPECT), AS_OF, Rep())
    with pytest.raises(InputError) as caught:
        fill(lib.blocks, values, lib.root / "blocks")
    found = [
        (Path(p.file).name, p.field, p.message.split(" has ")[0]) for p in caught.value.problems
    ]
    assert found == [
        ("b-0.md", "body", "placeholder 'prospect.budget'"),
        ("b-0.md", "body", "placeholder 'rep.name'"),
        ("b-0.md", "title", "placeholder 'prospect.sponsor'"),
        ("b-1.md", "title", "placeholder 'prospect.sponsor'"),
        ("b-2.md", "body", "placeholder 'rep.email'"),
        ("b-2.md", "title", "placeholder 'prospect.sponsor'"),
    ]
    assert all(Path(p.file).parent == lib.root / "blocks" for p in caught.value.problems)


def test_filled_values_stay_plain_text_never_markdown_or_html(tmp_path: Path) -> None:
    company = "**Evil** <script>alert(1)</script> [click](https://evil.example) {{ rep.name }}"
    (block,) = filled(tmp_path, "For {{ prospect.company }}.", company=company)
    paragraph = block.nodes[0]
    assert isinstance(paragraph, Paragraph)
    assert paragraph.spans == (Span(f"For {company}."),)


@pytest.mark.parametrize(
    "hostile",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ prospect.__init__.__globals__ }}",
        "{{ today.__class__ }}",
        "{% include '/etc/passwd' %}",
        "{% import '/etc/passwd' as p %}",
        "{% extends '/etc/passwd' %}",
        "{{ range(10**9) }}",
        "{{ 9**9**9**9 }}",
        "{{ 'x' * 999999999 }}",
        "{{ 'x' | center(999999999) }}",
        "{{ 'x'.ljust(999999999) }}",
        "{{ lipsum(999999) }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ self }}",
        "{{ config }}",
        "{% for x in 'abcdefgh' %}{% for y in 'abcdefgh' %}{{ x }}{% endfor %}{% endfor %}",
        "{% set x = 1 %}",
        "{% macro m() %}{% endmacro %}",
        "{{ today.isoformat }}",
        "{{ prospect }}",
    ],
)
def test_block_text_that_tries_to_do_more_than_fill_is_refused_naming_the_block(
    tmp_path: Path, hostile: str
) -> None:
    """In the title (plain text) and in a code span (kept verbatim by Markdown), so the
    sandbox itself is what answers, not a Markdown mark that happens to break the syntax."""
    started = time.monotonic()
    lib = library(tmp_path, f"Hello `{hostile}` there", title=f"Hi {hostile}")
    values = Placeholders(parse_prospect(PROSPECT), AS_OF, REP)
    with pytest.raises(InputError) as caught:
        fill(lib.blocks, values, lib.root / "blocks")
    assert time.monotonic() - started < 5
    found = [(Path(p.file).name, p.field) for p in caught.value.problems]
    assert found == [("b-0.md", "body"), ("b-0.md", "title")]
    for problem in caught.value.problems:
        assert "root:" not in problem.message
        assert "<class" not in problem.message
        assert "cannot be read" not in problem.message


def test_a_refusal_says_why(tmp_path: Path) -> None:
    lib = library(tmp_path, "`{{ ''.__class__ }}`", "`{{ range(9) }}`", "`{{ x }}`")
    values = Placeholders(parse_prospect(PROSPECT), AS_OF, REP)
    with pytest.raises(InputError) as caught:
        fill(lib.blocks, values, lib.root / "blocks")
    assert [p.message for p in caught.value.problems] == [
        "placeholder refused: access to attribute '__class__' of 'str' object is unsafe.",
        "'call' is not allowed: a placeholder only names, filters or tests values",
        "'x' is not a placeholder (use prospect.*, contact.*, rep.* or today)",
    ]


def test_several_missing_values_in_one_paragraph_are_all_named(tmp_path: Path) -> None:
    body = "{{ rep.name }} meets {{ contact.name }} about {{ prospect.budget }}, {{ rep.name }}."
    found = problems(tmp_path, body, contact=None)
    assert [message.split(" has ")[0] for _, _, message in found] == [
        "placeholder 'contact.name'",
        "placeholder 'prospect.budget'",
    ]


def test_a_placeholder_that_cannot_be_read_is_an_error_naming_the_block(tmp_path: Path) -> None:
    found = problems(tmp_path, "Dear {{ contact.name ,", title="ok")
    assert len(found) == 1
    file, field, message = found[0]
    assert (file, field) == ("b-0.md", "body")
    assert message.startswith("placeholder cannot be read: ")


def test_a_placeholder_broken_by_markdown_marks_is_reported_not_left_in_the_text(
    tmp_path: Path,
) -> None:
    found = problems(tmp_path, '{{ contact.title | default("*your* team") }}', contact=None)
    assert found
    assert all(message.startswith("placeholder cannot be read") for _, _, message in found)


def test_text_without_placeholders_is_left_exactly_as_parsed(tmp_path: Path) -> None:
    lib = library(tmp_path, "Plain {text} with } braces and a % sign.")
    values = Placeholders(parse_prospect(PROSPECT), AS_OF, REP)
    (block,) = fill(lib.blocks, values, lib.root / "blocks")
    assert block.nodes == lib.blocks[0].nodes
    assert block.title == lib.blocks[0].title
