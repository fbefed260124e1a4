"""Selection rules added from the failure analysis of the labelled fixtures: a block aimed at
a facet value the profile does not state is a gamble a generic block does not take, and the
blocks of a multi-block slot answer different needs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine import Embedder, Selection, Selector, index_library, load_library, parse_prospect
from engine.library import Block
from engine.select import Weights, _diverse_top, _SlotNeeds
from engine.table import BlockTable
from tests.factories import write_library

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


TRUST = "Your data is encrypted at rest and in transit, and audited every year."
REGIONS = [
    {"id": "o-emea", "slot": "opening", "body": TRUST, "tags": {"region": ["emea"]}},
    {"id": "o-apac", "slot": "opening", "body": TRUST, "tags": {"region": ["apac"]}},
    {"id": "o-any", "slot": "opening", "body": TRUST},
]


@pytest.mark.slow
def test_a_block_aimed_at_a_region_the_profile_leaves_unstated_yields_to_a_generic_one(
    tmp_path: Path, embedder: Embedder
) -> None:
    selection = run(tmp_path, embedder, REGIONS, needs="Is our data safe with you?")
    assert chosen(selection, "opening") == ["o-any"]
    alternatives = selection.alternatives["opening"]
    assert [a.block_id for a in alternatives] == ["o-apac", "o-emea"]
    # Stating the region brings its block back ahead of the generic one.
    stated = run(tmp_path, embedder, REGIONS, region="EMEA", needs="Is our data safe with you?")
    assert chosen(stated, "opening") == ["o-emea"]


@pytest.mark.slow
def test_a_region_that_is_the_only_one_the_library_names_is_still_a_gamble(
    tmp_path: Path, embedder: Embedder
) -> None:
    # The library knows one region only: that does not put every prospect in it.
    only_emea = [REGIONS[0], REGIONS[2]]
    selection = run(tmp_path, embedder, only_emea, needs="Is our data safe with you?")
    assert chosen(selection, "opening") == ["o-any"]


@pytest.mark.slow
def test_the_why_of_a_block_aimed_at_an_unstated_facet_says_so(
    tmp_path: Path, embedder: Embedder
) -> None:
    only = [REGIONS[0], {**REGIONS[1], "status": "draft"}]
    selection = run(tmp_path, embedder, only)
    assert chosen(selection, "opening") == ["o-emea"]  # still eligible: only scores moved
    assert "aimed at region emea (not in the profile)" in selection.sections[0].why


def _table(vectors: list[list[float]]) -> BlockTable:
    blocks = [
        Block(id=f"b{i}", slot="value", title="t", body="", status="approved")
        for i in range(len(vectors))
    ]
    matrix = np.array(vectors, dtype=np.float32)
    return BlockTable.build(blocks, matrix / np.linalg.norm(matrix, axis=1, keepdims=True))


def test_a_second_pick_answers_a_need_the_first_left_open() -> None:
    # b0 and b1 both answer need 0 best (differently worded: dissimilar vectors); b2 answers
    # need 1. Without coverage b1 outranks b2; with it, need 0 is closed by b0.
    table = _table([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    passages = np.array([[0.6, 0.55, 0.1], [0.2, 0.2, 0.45]], dtype=np.float32)
    w = Weights()
    scores = (w.best_passage * passages.max(axis=0)).astype(np.float32)
    candidates = np.arange(3, dtype=np.intp)
    assert _diverse_top(table, candidates, scores, _needs(passages), 2, w) == [0, 2]
    # One need only: plain ranking, as before.
    assert _diverse_top(table, candidates, scores, _needs(passages[:1]), 2, w) == [0, 1]
    # No needs at all: ranking by score.
    none = np.zeros((0, 3), dtype=np.float32)
    assert _diverse_top(table, candidates, scores, _needs(none), 2, w) == [0, 1]


def test_a_second_pick_is_matched_to_the_open_needs_read_as_a_whole() -> None:
    # Needs 0 and 1 point along the first two axes. b0 answers need 0; b1 speaks to both needs
    # at once, so it matches the needs read as a whole best; b2 speaks to need 1 alone. Both
    # answer need 1 equally by passage. Once b0 has closed need 0, b2 says what is still open.
    statements = np.eye(2, 3, dtype=np.float32)
    whole = np.array([1, 1, 0], dtype=np.float32) / np.sqrt(2)
    table = _table([[1, 0, 0], [1, 1, 0], [0, 1, 0]])
    passages = np.array([[0.9, 0.5, 0.1], [0.1, 0.5, 0.5]], dtype=np.float32)
    w = Weights()
    scores = w.needs_text * (table.vectors @ whole) + w.best_passage * passages.max(axis=0)
    candidates = np.arange(3, dtype=np.intp)
    needs = _SlotNeeds(passages, statements, whole)
    assert _diverse_top(table, candidates, scores, needs, 2, w) == [0, 2]
    # Read against all the needs, as relevance reads them, b1 would take the second place.
    assert _diverse_top(table, candidates, scores, _needs(passages), 2, w) == [0, 1]


def _needs(passages: np.ndarray) -> _SlotNeeds:
    """Needs credited by passage only (no statement vectors, no needs text)."""
    statements = np.zeros((len(passages), 3), dtype=np.float32)
    return _SlotNeeds(passages, statements, None)
