"""Selection on the labelled fixtures meets the quality the README reports, and beats the
baselines it is reported beside."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine import Embedder, Selector, index_library, load_library, load_prospects
from engine.eligibility import is_eligible
from engine.evaluate import load_labels, measure

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
AS_OF = dt.date(2026, 11, 24)
# The figures in the README's quality table (bench/quality.py), less a rounding margin.
REPORTED = {
    "bastion": 0.9,
    "clausewise": 0.73,
    "crewline": 0.87,
    "ledgerly": 0.675,
    "verdant": 0.91,
}
TAGS_ONLY = {
    "bastion": 0.761,
    "clausewise": 0.634,
    "crewline": 0.769,
    "ledgerly": 0.602,
    "verdant": 0.773,
}


def test_every_labelled_set_is_measured_here() -> None:
    assert sorted(p.parent.name for p in FIXTURES.glob("*/labels.yaml")) == sorted(REPORTED)


@pytest.mark.parametrize("name", sorted(REPORTED))
def test_labels_name_only_eligible_blocks_of_their_slot_and_needs_the_prospect_stated(
    name: str,
) -> None:
    """A label naming a block that could never be chosen there would count against every
    selection; one naming a need the prospect never wrote could never be found."""
    folder = FIXTURES / name
    library = load_library(folder / "library")
    prospects = {p.id: p for p in load_prospects(folder / "prospects")}
    labels = load_labels(folder / "labels.yaml")
    assert set(labels.acceptable) == set(prospects)
    for prospect_id, slots in labels.acceptable.items():
        prospect = prospects[prospect_id]
        for slot, block_ids in slots.items():
            for block_id in block_ids:
                block = library.block(block_id)
                assert block.slot == slot, (prospect_id, block_id)
                assert is_eligible(block, prospect, AS_OF), (prospect_id, block_id)
        for phrase in labels.unanswered[prospect_id]:
            assert phrase.lower() in prospect.needs.lower(), (prospect_id, phrase)


@pytest.mark.parametrize("name", sorted(REPORTED))
def test_selection_meets_the_reported_quality_and_never_picks_an_ineligible_block(
    name: str, embedder: Embedder, tmp_path: Path
) -> None:
    folder = FIXTURES / name
    indexed = index_library(load_library(folder / "library"), embedder, tmp_path)
    prospects = load_prospects(folder / "prospects")
    selector = Selector(indexed, embedder)
    selections = [selector.select(p, AS_OF) for p in prospects]

    quality = measure(selections, load_labels(folder / "labels.yaml"))
    assert quality.share >= REPORTED[name]
    assert quality.share > TAGS_ONLY[name] + 0.05

    library = indexed.library
    for prospect, selection in zip(prospects, selections, strict=True):
        for section in selection.sections:
            assert is_eligible(library.block(section.block_id), prospect, AS_OF)
