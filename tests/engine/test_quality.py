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
REPORTED = {"bastion": 0.9, "crewline": 0.87}
TAGS_ONLY = {"bastion": 0.761, "crewline": 0.769}


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
