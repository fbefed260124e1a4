"""Engagement-informed selection: how often readers read each block, learned from recorded
sessions, as a small bounded nudge on the content score. Opt-in only (contract §3): without an
`Engagement`, selection is purely content-based.

The estimate is Beta-Binomial, in two levels of shrinkage:
- a slot's mean read rate m = (R + 1) / (N + 2) over every block's sessions in that slot;
- a block's read rate in a slot: the posterior Beta(k m + r, k (1 - m) + n - r) of its r reads
  in n sessions under a prior worth k sessions at the slot's mean, so a block seen twice stays
  near the mean and one seen a hundred times speaks for itself;
- in a segment (the prospect's industry, summed over its values when it has several): the same
  again, with the block's estimate as the prior's mean, so a segment with few sessions borrows
  from the block's figures everywhere.
A *session* is one visit of a document that carried the block, and a *read* one whose dwell
reached the section's reading time (tracker.reports' definitions).

The nudge is weight x (p - m), clipped to ±margin/2, where p is the posterior mean or, with
exploration, one Thompson draw from the segment posterior (numpy Generator seeded from the
explicit seed and the prospect's id: the same inputs give the same draws). A block barely
measured has a wide posterior, so it wins some near-ties and gets measured. Because each
block's nudge lies within ±margin/2, it changes the difference between two blocks' scores by at
most `margin`: it reorders near-ties but never lifts a block over one whose content score is
more than `margin` higher, and it only ever applies to blocks eligibility already let through.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from engine.prospect import Prospect
from engine.table import BlockTable

# The prospect facet whose values are the segments; blocks are also counted over all of them.
SEGMENT_FACET = "industry"
# (block id, slot, segment value or None for every session of the block in that slot)
Key = tuple[str, str, str | None]


@dataclass(frozen=True)
class Counts:
    sessions: int = 0
    reads: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.sessions + other.sessions, self.reads + other.reads)


class Observations:
    """Sessions and reads per block and slot, overall and per segment; slot totals kept."""

    def __init__(self, entries: Iterable[tuple[Key, Counts]] = ()) -> None:
        self._counts: dict[Key, Counts] = defaultdict(Counts)
        self._slots: dict[str, Counts] = defaultdict(Counts)
        for (block_id, slot, segment), counts in entries:
            self.add(block_id, slot, segment, counts)

    def add(self, block_id: str, slot: str, segment: str | None, counts: Counts) -> None:
        """Add counts under one key; `segment` None is the block's total over all sessions
        (kept apart: a session's profile may name no industry, or several)."""
        self._counts[block_id, slot, segment] += counts
        if segment is None:
            self._slots[slot] += counts

    def observe(self, block_id: str, slot: str, segments: Iterable[str], read: bool) -> None:
        """One session that carried the block: counted in the total and in each segment."""
        one = Counts(1, int(read))
        self.add(block_id, slot, None, one)
        for segment in segments:
            self.add(block_id, slot, segment, one)

    def get(self, block_id: str, slot: str, segment: str | None = None) -> Counts:
        return self._counts.get((block_id, slot, segment), Counts())

    def slot(self, slot: str) -> Counts:
        return self._slots.get(slot, Counts())


@dataclass(frozen=True)
class Learning:
    """How far engagement may move selection; the defaults are the product's behaviour."""

    # Score change per unit of read rate above or below the slot's mean.
    weight: float = 0.5
    # The most the nudges can change the difference between two blocks' scores.
    margin: float = 0.02
    # How many sessions the prior at the slot's (or block's) mean is worth.
    prior_sessions: float = 10.0
    # Thompson draws from the posterior (True) or its mean (False).
    explore: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        # A prior worth no sessions would let one unread session make a Beta(0, n) posterior.
        if not (self.prior_sessions > 0 and self.margin >= 0 and self.seed >= 0):
            raise ValueError("Learning needs prior_sessions > 0, margin >= 0 and seed >= 0")


@dataclass(frozen=True)
class Engagement:
    """What selection learns from: recorded observations and how to use them."""

    observations: Observations
    learning: Learning = field(default_factory=Learning)


@dataclass(frozen=True)
class Nudges:
    """Per table row: the learned score term, and the counts it rests on (for the `why`)."""

    terms: NDArray[np.float32]
    evidence: dict[int, Counts]


def nudges(
    engagement: Engagement, table: BlockTable, rows: NDArray[np.intp], prospect: Prospect
) -> Nudges:
    """The learned term of each of `rows` (sorted table rows: the eligible candidates), zero
    for every other row."""
    learning, observations = engagement.learning, engagement.observations
    segments = prospect.facet(SEGMENT_FACET)
    k = learning.prior_sessions
    alpha = np.empty(len(rows), dtype=np.float64)
    beta = np.empty(len(rows), dtype=np.float64)
    mean = np.empty(len(rows), dtype=np.float64)
    evidence: dict[int, Counts] = {}
    for i, row in enumerate(rows):
        block = table.blocks[row]
        slot_mean = _mean(observations.slot(block.slot))
        total = observations.get(block.id, block.slot)
        a, b = _posterior(slot_mean, k, total)
        in_segment = sum((observations.get(block.id, block.slot, s) for s in segments), Counts())
        alpha[i], beta[i] = _posterior(a / (a + b), k, in_segment)
        mean[i] = slot_mean
        evidence[int(row)] = in_segment if in_segment.sessions else total
    if learning.explore:
        estimate = _generator(learning.seed, prospect.id).beta(alpha, beta)
    else:
        estimate = alpha / (alpha + beta)
    half = learning.margin / 2
    terms = np.zeros(len(table), dtype=np.float32)
    terms[rows] = np.clip(learning.weight * (estimate - mean), -half, half)
    return Nudges(terms, evidence)


def describe(counts: Counts) -> str:
    """The `why` clause for a choice that engagement moved."""
    if not counts.sessions:
        return "engagement: not measured yet, shown to learn how it is read"
    return f"engagement: read in {counts.reads} of {counts.sessions} sessions"


def _mean(counts: Counts) -> float:
    """The slot's read rate, with one read and one unread session of prior (0.5 when empty)."""
    return (counts.reads + 1) / (counts.sessions + 2)


def _posterior(prior_mean: float, prior_sessions: float, counts: Counts) -> tuple[float, float]:
    return (
        prior_sessions * prior_mean + counts.reads,
        prior_sessions * (1 - prior_mean) + counts.sessions - counts.reads,
    )


def _generator(seed: int, prospect_id: str) -> np.random.Generator:
    """Draws that depend only on the seed and the prospect: prospects sharing a seed still
    explore different blocks, and the same request gives the same document."""
    salt = int.from_bytes(hashlib.sha256(prospect_id.encode()).digest()[:8], "big")
    return np.random.default_rng([seed, salt])
