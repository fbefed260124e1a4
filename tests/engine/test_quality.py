"""Selection on the labelled fixtures meets the quality the README reports, and beats the
baselines it is reported beside."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine import Embedder, Selector, index_library, load_library, load_prospects
from engine.eligibility import is_eligible
from engine.errors import LibraryError
from engine.evaluate import load_labels, measure
from engine.select import Section, Selection

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
AS_OF = dt.date(2026, 11, 24)
# The figures in the README's quality table (bench/quality.py), less a rounding margin.
REPORTED = {
    "bastion": 0.895,
    "clausewise": 0.795,
    "coldtrail": 0.77,
    "crewline": 0.89,
    "ledgerly": 0.745,
    "nimbus": 0.82,
    "verdant": 0.92,
}
TAGS_ONLY = {
    "bastion": 0.761,
    "clausewise": 0.634,
    "coldtrail": 0.699,
    "crewline": 0.769,
    "ledgerly": 0.602,
    "nimbus": 0.759,
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
    for group in labels.same_message:
        assert len({library.block(block_id).slot for block_id in group}) == 1, group


def test_a_slot_carrying_one_message_twice_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "labels.yaml"
    path.write_text(
        "same_message:\n  - [v-a, v-b]\n"
        "p-one:\n  slots:\n    value: [v-a, v-b, v-c]\n"
        "p-two:\n  slots:\n    value: [v-a, v-b, v-c]\n",
        encoding="utf-8",
    )
    labels = load_labels(path)
    assert set(labels.acceptable) == {"p-one", "p-two"}

    def chose(prospect: str, *blocks: str) -> Selection:
        return Selection(prospect, tuple(Section("value", b, 0.0, "") for b in blocks), (), ())

    quality = measure([chose("p-one", "v-a", "v-b"), chose("p-two", "v-a", "v-c")], labels)
    assert (quality.acceptable, quality.chosen) == (4, 4)  # each pick is acceptable alone
    assert (quality.repeated_message_slots, quality.multi_block_slots) == (1, 2)


def test_same_message_groups_must_be_lists(tmp_path: Path) -> None:
    path = tmp_path / "labels.yaml"
    path.write_text("same_message: v-a\n", encoding="utf-8")
    with pytest.raises(LibraryError, match="same_message"):
        load_labels(path)


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
