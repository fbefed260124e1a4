"""Choosing a pitch's blocks: per slot the best eligible ones, why, and what is missing.

A block's score adds three things, each bounded so no single one decides alone:
- relevance: the cosine similarity of the block to the prospect's needs read as a whole, plus
  that of its passage closest to any one need statement (plus a little of its similarity
  to the prospect's profile words);
- facet fit: a bonus for each facet that names the prospect's value, a larger penalty for
  each facet aimed only at other values; a facet the block leaves empty is neutral;
- coherence: later slots lean towards blocks that support what earlier slots already said,
  so proof backs the value claimed rather than merely echoing the needs.
Within a slot that takes several blocks, a block that repeats one already chosen is
penalised (maximal marginal relevance), so the slot carries different messages.
Eligibility is decided before any score: no weight can bring an ineligible block back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.eligibility import COMPETITOR, eligible
from engine.embed import Vectors
from engine.library import Library
from engine.prospect import Prospect
from engine.table import BlockTable

Scores = NDArray[np.float32]


@dataclass(frozen=True)
class Weights:
    """How the parts of a score are combined; the defaults are the product's behaviour."""

    needs_text: float = 0.5
    best_passage: float = 0.5
    profile: float = 0.2
    facet_match: float = 0.1
    facet_mismatch: float = 0.4
    standing_power: float = 1.0
    coherence: float = 0.15
    redundancy: float = 0.5
    # Above this similarity two blocks start to say the same thing.
    redundancy_floor: float = 0.7
    # A need is "answered" by a block at least this similar (all-MiniLM-L6-v2 cosine).
    answered: float = 0.45
    alternatives: int = 3


@dataclass(frozen=True)
class Query:
    """The prospect as the model sees it: each need statement, the needs as one text, and the
    profile's words (the last two absent when the profile has none)."""

    needs: tuple[str, ...]
    need_vectors: Vectors
    needs_vector: Vectors | None = None
    profile_vector: Vectors | None = None


@dataclass(frozen=True)
class Section:
    slot: str
    block_id: str
    score: float
    why: str


@dataclass(frozen=True)
class Alternative:
    block_id: str
    score: float


@dataclass(frozen=True)
class UnansweredNeed:
    need: str
    best_score: float


@dataclass(frozen=True)
class Selection:
    prospect: str
    sections: tuple[Section, ...]
    gaps: tuple[str, ...]
    unanswered_needs: tuple[UnansweredNeed, ...]
    alternatives: dict[str, tuple[Alternative, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON shape for `pitchmap select --json`."""
        return {
            "prospect": self.prospect,
            "sections": [vars(s) for s in self.sections],
            "gaps": list(self.gaps),
            "unanswered_needs": [vars(u) for u in self.unanswered_needs],
            "alternatives": {
                slot: [vars(a) for a in alts] for slot, alts in self.alternatives.items()
            },
        }


@dataclass(frozen=True)
class _Fit:
    """Per block: the score parts that selection compares and the `why` explains."""

    relevance: Scores
    matches: Scores
    mismatches: Scores
    matched: dict[str, NDArray[np.bool_]]
    mismatched: dict[str, NDArray[np.bool_]]
    values: dict[str, tuple[str, ...]]
    need_scores: Scores


def select(
    library: Library,
    table: BlockTable,
    prospect: Prospect,
    query: Query,
    as_of: dt.date,
    weights: Weights | None = None,
) -> Selection:
    """Pure choice from loaded objects; the same inputs always give the same selection."""
    w = weights or Weights()
    allowed = eligible(table, prospect, as_of)
    fit = _fit(library, table, prospect, query, w)
    sections: list[Section] = []
    gaps: list[str] = []
    alternatives: dict[str, tuple[Alternative, ...]] = {}
    chosen: list[int] = []
    for slot in library.slots:
        candidates = np.flatnonzero(allowed & (table.slots == slot.id))
        if not len(candidates):
            gaps.append(slot.id)
            continue
        scores = _slot_scores(fit, candidates, w) + w.coherence * _support(
            table, candidates, chosen
        )
        picks = _diverse_top(table, candidates, scores, slot.count, w)
        for pick in picks:
            why = _why(table, query, fit, candidates[pick], chosen, w)
            block_id = table.blocks[candidates[pick]].id
            sections.append(Section(slot.id, block_id, _round(scores[pick]), why))
        alternatives[slot.id] = _alternatives(table, candidates, scores, picks, w)
        chosen.extend(int(candidates[p]) for p in picks)
    unanswered = _unanswered(query, fit.need_scores, allowed, w)
    return Selection(prospect.id, tuple(sections), tuple(gaps), unanswered, alternatives)


def _fit(library: Library, table: BlockTable, prospect: Prospect, query: Query, w: Weights) -> _Fit:
    need_scores = table.best_passage(query.need_vectors)
    relevance = np.zeros(len(table), dtype=np.float32)
    if len(query.needs):
        relevance += w.best_passage * need_scores.max(axis=0)
    if query.needs_vector is not None:
        relevance += w.needs_text * (table.vectors @ query.needs_vector)
    if query.profile_vector is not None:
        relevance += w.profile * (table.vectors @ query.profile_vector)
    matches = np.zeros(len(table), dtype=np.float32)
    mismatches = np.zeros(len(table), dtype=np.float32)
    matched: dict[str, NDArray[np.bool_]] = {}
    mismatched: dict[str, NDArray[np.bool_]] = {}
    values = {name: prospect.facet(name) for name in sorted(table.facets) if prospect.facet(name)}
    for name, wanted in values.items():
        column = table.facet(name)
        named = column.naming(wanted)
        matched[name] = column.present & named
        mismatched[name] = column.present & ~named
        matches += matched[name]
        mismatches += mismatched[name]
    return _Fit(relevance, matches, mismatches, matched, mismatched, values, need_scores)


def _slot_scores(fit: _Fit, candidates: NDArray[np.intp], w: Weights) -> Scores:
    """Relevance plus facet fit. A facet match earns its bonus in proportion to how relevant
    the block is among the slot's candidates: a block aimed at the prospect's industry that
    says nothing about their needs must not beat a generic one that answers them."""
    relevance = fit.relevance[candidates]
    span = float(relevance.max() - relevance.min())
    standing = (relevance - relevance.min()) / span if span > 0 else np.ones_like(relevance)
    bonus = w.facet_match * fit.matches[candidates] * standing**w.standing_power
    return relevance + bonus - w.facet_mismatch * fit.mismatches[candidates]


def _support(table: BlockTable, candidates: NDArray[np.intp], chosen: list[int]) -> Scores:
    """How closely each candidate relates to a block already chosen for an earlier slot."""
    if not chosen:
        return np.zeros(len(candidates), dtype=np.float32)
    similarity = table.vectors[candidates] @ table.vectors[chosen].T
    return np.asarray(similarity.max(axis=1), dtype=np.float32)


def _diverse_top(
    table: BlockTable, candidates: NDArray[np.intp], scores: Scores, count: int, w: Weights
) -> list[int]:
    """Greedy maximal marginal relevance: each next pick pays for resembling earlier picks.

    Ties go to the candidate listed first (blocks are ordered by id), for determinism.
    """
    picks: list[int] = []
    vectors = table.vectors[candidates]
    penalty = np.zeros(len(candidates), dtype=np.float32)
    for _ in range(min(count, len(candidates))):
        adjusted = np.where(np.isin(np.arange(len(candidates)), picks), -np.inf, scores - penalty)
        pick = int(np.argmax(adjusted))
        picks.append(pick)
        overlap = np.clip((vectors @ vectors[pick] - w.redundancy_floor), 0, None)
        penalty = np.maximum(penalty, w.redundancy * overlap / (1 - w.redundancy_floor))
    return picks


def _alternatives(
    table: BlockTable, candidates: NDArray[np.intp], scores: Scores, picks: list[int], w: Weights
) -> tuple[Alternative, ...]:
    order = [int(i) for i in np.argsort(-scores, kind="stable") if int(i) not in picks]
    return tuple(
        Alternative(table.blocks[candidates[i]].id, _round(scores[i]))
        for i in order[: w.alternatives]
    )


def _unanswered(
    query: Query, need_scores: Scores, allowed: NDArray[np.bool_], w: Weights
) -> tuple[UnansweredNeed, ...]:
    """Needs no eligible block answers: marketing's list of what to write next."""
    if not len(query.needs):
        return ()
    best = need_scores[:, allowed].max(axis=1) if allowed.any() else np.zeros(len(query.needs))
    return tuple(
        UnansweredNeed(need, _round(score))
        for need, score in zip(query.needs, best, strict=True)
        if score < w.answered
    )


def _why(
    table: BlockTable, query: Query, fit: _Fit, index: int, chosen: list[int], w: Weights
) -> str:
    """A reason a rep can read in one line: targeting, the needs answered, what it supports."""
    block = table.blocks[index]
    parts: list[str] = []
    matched = {
        name: [v for v in fit.values[name] if v in block.tags.get(name, ())]
        for name, mask in fit.matched.items()
        if mask[index]
    }
    rival = matched.pop(COMPETITOR, None)
    if matched:
        parts.append("matches " + ", ".join(f"{n} {'/'.join(v)}" for n, v in matched.items()))
    if rival:
        parts.append("counters " + "/".join(rival))
    missed = [name for name, mask in fit.mismatched.items() if mask[index]]
    if missed:
        parts.append("aimed at another " + ", ".join(missed))
    if not (matched or rival or missed):
        parts.append("general message")
    answers = [
        f'"{_clip(query.needs[i])}"'
        for i in np.argsort(-fit.need_scores[:, index], kind="stable")[:2]
        if fit.need_scores[i, index] >= w.answered
    ]
    if answers:
        parts.append("answers: " + "; ".join(answers))
    if chosen:
        support = table.vectors[chosen] @ table.vectors[index]
        best = int(np.argmax(support))
        if support[best] >= w.redundancy_floor:
            parts.append(f"supports {table.blocks[chosen[best]].id}")
    return "; ".join(parts)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _round(value: float | np.floating[Any]) -> float:
    return round(float(value), 4)
