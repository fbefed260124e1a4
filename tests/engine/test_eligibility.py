"""Eligibility is absolute: whatever the scores and weights, no ineligible block is ever chosen."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import Block, Library, MessageMap, Prospect, Query, Slot, Weights, select
from engine.eligibility import eligible, is_eligible
from engine.table import BlockTable

AS_OF = dt.date(2026, 11, 24)
SLOTS = (Slot("opening", "Why now"), Slot("value", "Value", 2), Slot("proof", "Proof", 3))
RIVALS = ["acme", "ACME", "globex", "initech"]

blocks_strategy = st.lists(
    st.builds(
        lambda i, slot, status, days, rivals, industries: Block(
            id=f"b{i}",
            slot=slot,
            title="t",
            body="b",
            status=status,
            expires=None if days is None else AS_OF + dt.timedelta(days=days),
            tags={
                **({"competitor": tuple(r.lower() for r in rivals)} if rivals is not None else {}),
                "industry": tuple(industries),
            },
        ),
        st.integers(0, 10_000),
        st.sampled_from([s.id for s in SLOTS]),
        st.sampled_from(["approved", "draft", "retired"]),
        st.one_of(st.none(), st.integers(-3, 3)),
        st.one_of(st.none(), st.lists(st.sampled_from(RIVALS), max_size=2)),
        st.lists(st.sampled_from(["banking", "retail"]), max_size=2),
    ),
    max_size=25,
    unique_by=lambda b: b.id,
)
weights_strategy = st.builds(
    Weights,
    needs_text=st.floats(-10, 10),
    best_passage=st.floats(-10, 10),
    profile=st.floats(-10, 10),
    facet_match=st.floats(-10, 10),
    rival_match=st.floats(-10, 10),
    facet_mismatch=st.floats(-10, 10),
    coherence=st.floats(-10, 10),
    redundancy=st.floats(0, 10),
)


@settings(max_examples=300, deadline=None)
@given(
    blocks=blocks_strategy,
    rival=st.one_of(st.none(), st.sampled_from(RIVALS)),
    industry=st.one_of(st.none(), st.sampled_from(["banking", "retail"])),
    weights=weights_strategy,
    seed=st.integers(0, 2**32 - 1),
)
def test_no_weight_or_score_ever_selects_an_ineligible_block(
    blocks: list[Block], rival: str | None, industry: str | None, weights: Weights, seed: int
) -> None:
    blocks = sorted(blocks, key=lambda b: b.id)
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(len(blocks), 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    library = Library(Path("."), MessageMap("m", SLOTS), tuple(blocks))
    table = BlockTable.build(blocks, vectors)
    fields = {k: v for k, v in {"competitor": rival, "industry": industry}.items() if v}
    prospect = Prospect("p", "Co", fields=fields)
    needs = rng.normal(size=(2, 8)).astype(np.float32)
    query = Query(("need one", "need two"), needs, needs[0], rng.normal(size=8).astype(np.float32))

    selection = select(library, table, prospect, query, AS_OF, weights)

    by_id = {b.id: b for b in blocks}
    shown = [s.block_id for s in selection.sections]
    shown += [a.block_id for alts in selection.alternatives.values() for a in alts]
    assert all(is_eligible(by_id[b], prospect, AS_OF) for b in shown)
    for slot in SLOTS:
        eligible_here = [b for b in blocks if b.slot == slot.id and is_eligible(b, prospect, AS_OF)]
        picked = [s for s in selection.sections if s.slot == slot.id]
        assert len(picked) == min(slot.count, len(eligible_here))
        assert (slot.id in selection.gaps) == (not eligible_here)


def test_rules_one_by_one() -> None:
    def block(**kw: object) -> Block:
        return Block(
            **{"id": "b", "slot": "value", "title": "t", "body": "b", "status": "approved", **kw}
        )  # type: ignore[arg-type]

    acme = Prospect("p", "Co", fields={"competitor": "Acme"})
    nobody = Prospect("p", "Co")
    assert is_eligible(block(), nobody, AS_OF)
    assert not is_eligible(block(status="draft"), nobody, AS_OF)
    assert not is_eligible(block(status="retired"), nobody, AS_OF)
    assert is_eligible(block(expires=AS_OF), nobody, AS_OF)
    assert not is_eligible(block(expires=AS_OF - dt.timedelta(days=1)), nobody, AS_OF)
    assert is_eligible(block(tags={"competitor": ("acme",)}), acme, AS_OF)
    assert not is_eligible(block(tags={"competitor": ("acme",)}), nobody, AS_OF)
    assert not is_eligible(block(tags={"competitor": ("globex",)}), acme, AS_OF)
    assert is_eligible(block(tags={"competitor": ()}), nobody, AS_OF)


def test_the_vectorised_rule_agrees_with_the_single_block_rule() -> None:
    blocks = [
        Block("a", "value", "t", "b", "approved"),
        Block("b", "value", "t", "b", "draft"),
        Block("c", "value", "t", "b", "approved", tags={"competitor": ("acme",)}),
    ]
    table = BlockTable.build(blocks, np.zeros((3, 2), dtype=np.float32))
    prospect = Prospect("p", "Co", fields={"competitor": "acme"})
    assert eligible(table, prospect, AS_OF).tolist() == [
        is_eligible(b, prospect, AS_OF) for b in blocks
    ]
