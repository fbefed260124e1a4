"""Selection on small real libraries with the real model: rules, preferences, diversity, gaps."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from engine import Embedder, Selection, Selector, index_library, load_library, parse_prospect
from tests.factories import write_library

pytestmark = pytest.mark.slow
AS_OF = dt.date(2026, 11, 24)


def run(
    tmp_path: Path, embedder: Embedder, blocks: list[dict[str, Any]], **prospect: Any
) -> Selection:
    root = write_library(tmp_path / "lib", blocks)
    indexed = index_library(load_library(root), embedder, tmp_path / "data")
    profile = parse_prospect({"id": "p-test", "company": "Northwind", **prospect})
    return Selector(indexed, embedder).select(profile, AS_OF)


def chosen(selection: Selection, slot: str) -> list[str]:
    return [s.block_id for s in selection.sections if s.slot == slot]


FUEL = "Cut diesel spend: route planning and idle alerts lower fuel costs for every truck."


def test_expired_draft_and_retired_blocks_are_never_selected_even_when_best_match(
    tmp_path: Path, embedder: Embedder
) -> None:
    blocks = [
        {"id": "v-expired", "slot": "value", "body": FUEL, "expires": "2026-11-23"},
        {"id": "v-draft", "slot": "value", "body": FUEL, "status": "draft"},
        {"id": "v-retired", "slot": "value", "body": FUEL, "status": "retired"},
        {"id": "v-today", "slot": "value", "body": "Payroll runs itself.", "expires": "2026-11-24"},
    ]
    selection = run(tmp_path, embedder, blocks, needs="Our diesel bill is out of control.")
    assert chosen(selection, "value") == ["v-today"]
    assert (
        all(a.block_id == "v-today" for alts in selection.alternatives.values() for a in alts)
        is True
    )


def test_competitor_blocks_only_reach_prospects_facing_that_competitor(
    tmp_path: Path, embedder: Embedder
) -> None:
    blocks = [
        {
            "id": "p-vs-acme",
            "slot": "proof",
            "body": "Why teams leave Acme.",
            "tags": {"competitor": ["Acme"]},
        },
        {"id": "p-general", "slot": "proof", "body": "Customers trust us."},
    ]
    assert chosen(run(tmp_path, embedder, blocks, competitor="ACME"), "proof") == ["p-vs-acme"]
    assert chosen(run(tmp_path, embedder, blocks, competitor="other"), "proof") == ["p-general"]
    assert chosen(run(tmp_path, embedder, blocks), "proof") == ["p-general"]


def test_a_block_for_the_prospects_industry_beats_a_generic_one_and_one_for_another_loses(
    tmp_path: Path, embedder: Embedder
) -> None:
    blocks = [
        {
            "id": "o-bank",
            "slot": "opening",
            "body": "Fraud losses keep rising.",
            "tags": {"industry": ["banking"]},
        },
        {"id": "o-any", "slot": "opening", "body": "Fraud losses keep rising everywhere."},
        {
            "id": "o-retail",
            "slot": "opening",
            "body": "Fraud losses keep rising in stores.",
            "tags": {"industry": ["retail"]},
        },
    ]
    selection = run(
        tmp_path, embedder, blocks, industry="Banking", needs="Fraud is costing us a fortune."
    )
    assert chosen(selection, "opening") == ["o-bank"]
    assert "matches industry banking" in selection.sections[0].why
    assert [a.block_id for a in selection.alternatives["opening"]] == ["o-any", "o-retail"]


def test_a_block_for_the_prospects_persona_alone_beats_one_for_several_personas(
    tmp_path: Path, embedder: Embedder
) -> None:
    # The same words in all three; a tie would go to the first id, o-a-broad.
    text = "Approvals route themselves, so month-end closes on time."
    blocks = [
        {
            "id": "o-a-broad",
            "slot": "opening",
            "title": "Close on time",
            "body": text,
            "tags": {"persona": ["finance", "procurement", "operations"]},
        },
        {
            "id": "o-b-narrow",
            "slot": "opening",
            "title": "Close on time",
            "body": text,
            "tags": {"persona": ["finance"]},
        },
        {"id": "o-c-generic", "slot": "opening", "title": "Close on time", "body": text},
    ]
    selection = run(tmp_path, embedder, blocks, persona="finance", needs="Close takes weeks.")
    assert chosen(selection, "opening") == ["o-b-narrow"]
    scores = {a.block_id: a.score for a in selection.alternatives["opening"]}
    # Aimed at the prospect among others still beats aimed at nobody in particular.
    assert scores["o-a-broad"] > scores["o-c-generic"]


def test_a_block_against_the_prospects_competitor_beats_one_for_its_industry(
    tmp_path: Path, embedder: Embedder
) -> None:
    # The same words in both: only the targeting differs (and a tie would go to d-bank).
    blocks = [
        {
            "id": "d-bank",
            "slot": "proof",
            "title": "Why fraud teams switch to us",
            "body": "Fraud teams choose us for faster alerts.",
            "tags": {"industry": ["banking"]},
        },
        {
            "id": "d-vs-acme",
            "slot": "proof",
            "title": "Why fraud teams switch to us",
            "body": "Fraud teams choose us for faster alerts.",
            "tags": {"competitor": ["acme"]},
        },
    ]
    selection = run(
        tmp_path,
        embedder,
        blocks,
        industry="banking",
        competitor="acme",
        needs="Fraud alerts reach us too late.",
    )
    assert chosen(selection, "proof") == ["d-vs-acme"]
    assert "counters acme" in selection.sections[0].why


def test_a_slot_taking_two_blocks_takes_two_messages_not_two_phrasings(
    tmp_path: Path, embedder: Embedder
) -> None:
    blocks = [
        {"id": "v-fuel-1", "slot": "value", "body": FUEL},
        {
            "id": "v-fuel-2",
            "slot": "value",
            "body": "Lower fuel costs for every truck: idle alerts and route planning cut diesel "
            "spend.",
        },
        {
            "id": "v-safety",
            "slot": "value",
            "body": "Coach drivers on harsh braking and cut accident claims.",
        },
    ]
    needs = "Diesel is our biggest cost. Also our drivers keep having accidents."
    picks = chosen(run(tmp_path, embedder, blocks, needs=needs), "value")
    assert len(picks) == 2
    assert "v-safety" in picks


def test_gaps_and_unanswered_needs_tell_marketing_what_to_write(
    tmp_path: Path, embedder: Embedder
) -> None:
    blocks = [{"id": "v-fuel", "slot": "value", "body": FUEL}]
    needs = "We burn too much diesel. We need a kosher catering menu for our staff party."
    selection = run(tmp_path, embedder, blocks, needs=needs)
    assert selection.gaps == ("opening", "proof")
    assert [s.slot for s in selection.sections] == ["value"]
    assert [u.need for u in selection.unanswered_needs] == [
        "We need a kosher catering menu for our staff party."
    ]
    assert 'answers: "We burn too much diesel."' in selection.sections[0].why


def test_same_input_gives_the_same_output(tmp_path: Path, embedder: Embedder) -> None:
    blocks = [
        {"id": f"v-{i}", "slot": "value", "body": f"Message number {i} about costs and safety."}
        for i in range(6)
    ]
    first = run(tmp_path, embedder, blocks, needs="Costs. Safety matters to us a lot.").to_dict()
    second = run(tmp_path, embedder, blocks, needs="Costs. Safety matters to us a lot.").to_dict()
    assert first == second
