"""Prospect profiles: what is accepted, and each refusal naming the field."""

from __future__ import annotations

import pytest

from engine import InputError, parse_prospect


def test_a_profile_keeps_every_field_for_placeholders() -> None:
    prospect = parse_prospect(
        {"id": "p-acme", "company": " Acme ", "industry": "Banking", "region": ["emea"]}
    )
    assert prospect.company == "Acme"
    assert prospect.facet("industry") == ("banking",)
    assert prospect.fields["region"] == ["emea"]


@pytest.mark.parametrize(
    ("profile", "field"),
    [
        ({"id": "p-a", "company": "A" * 201}, "company"),
        ({"id": "p-" + "a" * 100, "company": "A"}, "id"),
        ({"id": "p-a", "company": "A", "needs": "x" * 20_001}, "needs"),
        ({"id": "p-a", "company": "A", "industry": ["ok", "y" * 201]}, "industry"),
        ({"id": "p-a", "company": "A", "contact": {"name": "n" * 201}}, "contact"),
    ],
)
def test_overlong_text_is_refused_naming_the_field(profile: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_prospect(profile)
    assert field in [p.field for p in raised.value.problems]


def test_long_but_reasonable_needs_are_accepted() -> None:
    needs = "Our drivers idle too long. " * 500
    assert parse_prospect({"id": "p-a", "company": "A", "needs": needs}).needs == needs.strip()
