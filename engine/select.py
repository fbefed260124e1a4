"""Choosing a pitch's blocks: per slot the best eligible ones, why, and what is missing.

A block's score adds three things, each bounded so no single one decides alone:
- relevance: the cosine similarity of the block to the prospect's needs read as a whole, plus
  that of its passage closest to any one need statement (plus a little of its similarity
  to the prospect's profile words), plus the TF-IDF overlap of its words with the need
  statement it shares most with (engine/lexical.py: exact where the small model is vague);
- facet fit: a bonus for each facet that names the prospect's value (smaller the more
  values the facet also names: a block for "finance, procurement" is less aimed at finance
  than one for finance alone), a larger penalty for each facet aimed only at other values;
  a facet the block leaves empty is neutral; a facet the block names but the prospect's
  profile leaves unstated counts its expected fit, as if
  the prospect held any of the library's values for it, or one no block names, equally
  likely. A block written against the prospect's own competitor earns a larger bonus: "why
  switch from the tool you have" is the first question such a prospect asks, and no other
  targeting is as specific;
- coherence: later slots lean towards blocks that support what earlier slots already said,
  so proof backs the value claimed rather than merely echoing the needs.
Within a slot that takes several blocks, a block that repeats one already chosen is
penalised (maximal marginal relevance), and each further block is credited only for the
needs the slot's earlier blocks have not answered yet, so the slot carries different messages.
Eligibility is decided before any score: no weight can bring an ineligible block back.
With an `Engagement` (opt-in), a bounded learned term joins the score of the eligible
candidates (engine/learning.py), and the `why` says where it changed the choice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from engine.eligibility import COMPETITOR, eligible
from engine.embed import Vectors
from engine.learning import Engagement, Nudges, describe, nudges
from engine.library import Library
from engine.prospect import Prospect
from engine.table import BlockTable, Mask

Scores = NDArray[np.float32]
# Blocks per slot whose passages are read for each prospect; beyond it, the rest of a slot is
# ranked on block vectors alone (measured: the passage pass is most of the cost at 10k blocks).
SHORTLIST = 48


@dataclass(frozen=True)
class Weights:
    """How the parts of a score are combined; the defaults are the product's behaviour."""

    needs_text: float = 0.5
    best_passage: float = 0.5
    lexical: float = 0.4
    profile: float = 0.2
    facet_match: float = 0.15
    # Replaces facet_match for the competitor facet (eligibility lets through only the blocks
    # that name the prospect's own competitor).
    rival_match: float = 0.3
    facet_mismatch: float = 0.4
    coherence: float = 0.15
    redundancy: float = 0.5
    # Above this similarity two blocks start to say the same thing.
    redundancy_floor: float = 0.7
    # A need is "answered" by a block at least this similar (all-MiniLM-L6-v2 cosine).
    answered: float = 0.45
    # The `why` names the words a block shares with a need from this TF-IDF overlap on.
    words_shown: float = 0.15
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
    facet_fit: Scores
    matched: dict[str, NDArray[np.bool_]]
    mismatched: dict[str, NDArray[np.bool_]]
    unstated: dict[str, NDArray[np.bool_]]
    values: dict[str, tuple[str, ...]]
    need_scores: Scores
    # Per need statement and block: TF-IDF overlap of their words (engine/lexical.py).
    need_words: Scores
    shortlists: dict[str, NDArray[np.intp]]


def select(
    library: Library,
    table: BlockTable,
    prospect: Prospect,
    query: Query,
    as_of: dt.date,
    weights: Weights | None = None,
    engagement: Engagement | None = None,
) -> Selection:
    """Pure choice from loaded objects; the same inputs always give the same selection."""
    w = weights or Weights()
    allowed = eligible(table, prospect, as_of)
    need_words = _need_words(table, query)
    if table.nearest is not None:
        # Above the HNSW threshold only the eligible blocks retrieved per slot are scored: the
        # nearest by vector, and the best by words, which the vectors may rank far away.
        near = table.nearest.among(_query_vectors(query, w)[0], allowed, SHORTLIST)
        allowed = near | _best_worded(table, need_words, allowed)
    fit = _fit(library, table, prospect, query, allowed, need_words, w)
    learned = _learned(engagement, table, fit, prospect)
    sections: list[Section] = []
    gaps: list[str] = []
    alternatives: dict[str, tuple[Alternative, ...]] = {}
    chosen: list[int] = []
    for slot in library.slots:
        candidates = fit.shortlists[slot.id]
        if not len(candidates):
            gaps.append(slot.id)
            continue
        support = _support(table, candidates, chosen)
        content = fit.relevance[candidates] + fit.facet_fit[candidates] + w.coherence * support
        scores = content if learned is None else content + learned.terms[candidates]
        needs = _SlotNeeds(fit.need_scores[:, candidates], query.need_vectors, query.needs_vector)
        picks = _diverse_top(table, candidates, scores, needs, slot.count, w)
        moved = _moved(learned, table, candidates, content, needs, slot.count, w, picks)
        for pick in picks:
            why = _why(table, query, fit, candidates[pick], chosen, w)
            if learned is not None and pick in moved:
                why += "; " + describe(learned.evidence[int(candidates[pick])])
            block_id = table.blocks[candidates[pick]].id
            sections.append(Section(slot.id, block_id, _round(scores[pick]), why))
        alternatives[slot.id] = _alternatives(table, candidates, scores, picks, w)
        chosen.extend(int(candidates[p]) for p in picks)
    unanswered = _unanswered(query, fit.need_scores, allowed, w)
    return Selection(prospect.id, tuple(sections), tuple(gaps), unanswered, alternatives)


def _learned(
    engagement: Engagement | None, table: BlockTable, fit: _Fit, prospect: Prospect
) -> Nudges | None:
    """The learned terms of every slot's eligible candidates, or None when learning is off."""
    if engagement is None:
        return None
    rows = np.unique(np.concatenate([*fit.shortlists.values(), np.zeros(0, np.intp)]))
    return nudges(engagement, table, rows, prospect)


def _moved(
    learned: Nudges | None,
    table: BlockTable,
    candidates: NDArray[np.intp],
    content: Scores,
    needs: _SlotNeeds,
    count: int,
    w: Weights,
    picks: list[int],
) -> set[int]:
    """The picks that content alone would not have made: where engagement changed the choice."""
    if learned is None:
        return set()
    return set(picks) - set(_diverse_top(table, candidates, content, needs, count, w))


def _fit(
    library: Library,
    table: BlockTable,
    prospect: Prospect,
    query: Query,
    allowed: NDArray[np.bool_],
    need_words: Scores,
    w: Weights,
) -> _Fit:
    """Scores in two passes: block vectors rank every eligible block cheaply, then passages
    refine the best SHORTLIST of each slot (exact whenever a slot has no more eligible blocks)
    and the blocks nearest each need (for the unanswered-needs report)."""
    facets = _facets(table, prospect)
    near, relevance = _block_similarities(table, query, allowed, w)
    if len(query.needs):
        relevance += w.lexical * need_words.max(axis=0)
    facet_fit = w.facet_match * facets.matches - w.facet_mismatch * facets.mismatches
    rival = facets.matched.get(COMPETITOR)
    if rival is not None:
        facet_fit += (w.rival_match - w.facet_match) * rival
    # Unstated facets: matched with probability `share`, mismatched otherwise.
    facet_fit += (w.facet_match + w.facet_mismatch) * facets.unstated_share
    facet_fit -= w.facet_mismatch * facets.unstated
    prior = relevance + facet_fit
    if len(query.needs):
        prior += w.best_passage * near.max(axis=0)
    shortlists = {
        slot.id: _top(_allowed_rows(table, slot.id, allowed), prior) for slot in library.slots
    }
    nearest = [_top(np.flatnonzero(allowed), scores) for scores in near]
    rows = np.unique(np.concatenate([*shortlists.values(), *nearest, np.zeros(0, np.intp)]))
    need_scores = np.full((len(query.needs), len(table)), -1.0, dtype=np.float32)
    need_scores[:, rows] = table.best_passage(query.need_vectors, rows)
    if len(query.needs):
        relevance[rows] += w.best_passage * need_scores[:, rows].max(axis=0)
    return _Fit(
        relevance,
        facet_fit,
        facets.matched,
        facets.mismatched,
        facets.unstated_by_name,
        facets.values,
        need_scores,
        need_words,
        shortlists,
    )


def _need_words(table: BlockTable, query: Query) -> Scores:
    """Zero where the table has no lexicon (tables built for a check that scores nothing)."""
    if table.lexicon is None:
        return np.zeros((len(query.needs), len(table)), dtype=np.float32)
    return table.lexicon.similarity(query.needs)


def _best_worded(table: BlockTable, need_words: Scores, allowed: NDArray[np.bool_]) -> Mask:
    """Per slot, the SHORTLIST eligible blocks sharing most words with a need."""
    found = np.zeros(len(table), dtype=bool)
    if not len(need_words):
        return found
    best = need_words.max(axis=0)
    for slot in table.slot_rows:
        rows = _allowed_rows(table, slot, allowed & (best > 0))
        found[_top(rows, best)] = True
    return found


def _block_similarities(
    table: BlockTable, query: Query, allowed: NDArray[np.bool_], w: Weights
) -> tuple[Scores, Scores]:
    """Every query vector against every block vector in one pass over the block matrix:
    (need statements x blocks, the weighted needs-text and profile relevance per block).
    With HNSW retrieval, only the retrieved (`allowed`) blocks are scored; the rest stay 0."""
    queries, weights = _query_vectors(query, w)
    if table.nearest is None:
        similarity = queries @ table.columns
    else:
        rows = np.flatnonzero(allowed)
        similarity = np.zeros((len(queries), len(table)), dtype=np.float32)
        similarity[:, rows] = queries @ table.vectors[rows].T
    k = len(query.needs)
    relevance = weights @ similarity[k:] if len(weights) else np.zeros(len(table), np.float32)
    return similarity[:k], relevance.astype(np.float32)


def _query_vectors(query: Query, w: Weights) -> tuple[Vectors, Scores]:
    """The need statements' vectors, then the needs-text and profile vectors the prospect
    has, with the weights of those last two."""
    whole = [(w.needs_text, query.needs_vector), (w.profile, query.profile_vector)]
    weights = np.array([weight for weight, v in whole if v is not None], dtype=np.float32)
    extra = [v for _, v in whole if v is not None]
    queries = np.vstack([query.need_vectors, *extra]) if extra else query.need_vectors
    return queries, weights


class _Facets(NamedTuple):
    # Per block, summed over facets naming the prospect's value: 1/sqrt(values the facet names).
    matches: Scores
    mismatches: Scores
    # Facets a block names that the prospect leaves unstated: how many, and summed over them
    # the share of the facet's known values the block names (its chance of a match).
    unstated: Scores
    unstated_share: Scores
    matched: dict[str, NDArray[np.bool_]]
    mismatched: dict[str, NDArray[np.bool_]]
    unstated_by_name: dict[str, NDArray[np.bool_]]
    values: dict[str, tuple[str, ...]]


def _facets(table: BlockTable, prospect: Prospect) -> _Facets:
    """Per block, how many facets name the prospect's value, how many aim elsewhere, and how
    many aim at values of a facet the prospect's profile does not state.

    A block aimed at one region is a gamble for a prospect whose region is unknown: with
    nothing known, each of the facet's K values the library uses, and one value no block
    names, is taken as equally likely, so a block naming n of them scores its expected fit,
    a match with probability n/(K+1) and a mismatch otherwise. A generic block, right for
    any value, stays the safe choice. (Without the unnamed value, a library whose blocks
    name a single region would treat every prospect as being in it.)

    A match counts 1/sqrt(n) for a facet naming n values: a block written for four personas
    is written for none of them in particular, and beats a generic block on the tag alone
    less than one written for the prospect's persona only. (Measured on the five fixture
    sets: pooled share 0.840 -> 0.847, no set lower; 1/n and an information-content weight
    did as well pooled but cost bastion or crewline.)
    """
    n = len(table)
    matches = np.zeros(n, dtype=np.float32)
    mismatches = np.zeros(n, dtype=np.float32)
    unstated = np.zeros(n, dtype=np.float32)
    unstated_share = np.zeros(n, dtype=np.float32)
    matched: dict[str, NDArray[np.bool_]] = {}
    mismatched: dict[str, NDArray[np.bool_]] = {}
    unstated_by_name: dict[str, NDArray[np.bool_]] = {}
    values = {name: prospect.facet(name) for name in sorted(table.facets) if prospect.facet(name)}
    for name in sorted(table.facets):
        column = table.facet(name)
        wanted = values.get(name)
        if wanted:
            named = column.naming(wanted)
            matched[name] = column.present & named
            mismatched[name] = column.present & ~named
            matches += matched[name] / np.sqrt(np.maximum(column.counts(), 1))
            mismatches += mismatched[name]
        elif name != COMPETITOR and column.present.any():
            # (A competitor block is never eligible for a prospect without a competitor.)
            unstated_by_name[name] = column.present
            unstated += column.present
            unstated_share += column.counts() / (len(column.values) + 1)
    return _Facets(
        matches,
        mismatches,
        unstated,
        unstated_share,
        matched,
        mismatched,
        unstated_by_name,
        values,
    )


def _allowed_rows(table: BlockTable, slot: str, allowed: NDArray[np.bool_]) -> NDArray[np.intp]:
    rows = table.rows_in(slot)
    return rows[allowed[rows]]


def _top(rows: NDArray[np.intp], scores: Scores) -> NDArray[np.intp]:
    """The SHORTLIST best rows by score, in row order (ties and determinism by block id)."""
    if len(rows) <= SHORTLIST:
        return rows
    best = np.argpartition(-scores[rows], SHORTLIST)[:SHORTLIST]
    return np.sort(rows[best])


def _support(table: BlockTable, candidates: NDArray[np.intp], chosen: list[int]) -> Scores:
    """How closely each candidate relates to a block already chosen for an earlier slot."""
    if not chosen:
        return np.zeros(len(candidates), dtype=np.float32)
    similarity = table.vectors[candidates] @ table.vectors[chosen].T
    return np.asarray(similarity.max(axis=1), dtype=np.float32)


def _diverse_top(
    table: BlockTable,
    candidates: NDArray[np.intp],
    scores: Scores,
    needs: _SlotNeeds,
    count: int,
    w: Weights,
) -> list[int]:
    """Greedy picks that each add something the slot does not say yet.

    Maximal marginal relevance: each next pick pays for resembling earlier picks. Need
    coverage: a candidate is credited only for the needs still open, a need being closed by
    the earlier pick that answered it best, so a second block answers a second need rather
    than the first need again (all needs reopen once each is closed).
    With one pick or one need this is plain ranking by `scores`.
    Ties go to the candidate listed first (blocks are ordered by id), for determinism.
    """
    picks: list[int] = []
    vectors = table.vectors[candidates]
    penalty = np.zeros(len(candidates), dtype=np.float32)
    has_needs = len(needs.passages) > 0
    without_needs = scores - w.best_passage * needs.passages.max(axis=0) if has_needs else scores
    open_needs = np.ones(len(needs.passages), dtype=bool)
    for _ in range(min(count, len(candidates))):
        if has_needs:
            if not open_needs.any():
                open_needs[:] = True
            current = without_needs + _open_credit(vectors, needs, open_needs, w)
        else:
            current = scores
        adjusted = np.where(np.isin(np.arange(len(candidates)), picks), -np.inf, current - penalty)
        pick = int(np.argmax(adjusted))
        picks.append(pick)
        if has_needs:
            open_needs[int(np.argmax(np.where(open_needs, needs.passages[:, pick], -np.inf)))] = (
                False
            )
        overlap = np.clip((vectors @ vectors[pick] - w.redundancy_floor), 0, None)
        penalty = np.maximum(penalty, w.redundancy * overlap / (1 - w.redundancy_floor))
    return picks


class _SlotNeeds(NamedTuple):
    """What a slot's candidates are credited for need by need: their best passage's
    similarity to each statement (statements x candidates), and the statements' vectors and
    the needs read as a whole (`Query.needs_vector`), to read the open ones as a whole."""

    passages: Scores
    statements: Vectors
    whole: Vectors | None


def _open_credit(
    vectors: Vectors, needs: _SlotNeeds, open_needs: NDArray[np.bool_], w: Weights
) -> Scores:
    """The candidates' credit for the needs still open: their best passage's match to any one
    of them, and, once some are closed, their match to the open ones read as a whole in place
    of the match to all the needs that relevance counted. (Measured on the fixture sets:
    reading only the open needs as a whole lifted the second pick of two-block slots, pooled
    share 0.847 -> 0.853; crediting only the open needs' words did not, 0.848.)"""
    credit = w.best_passage * needs.passages[open_needs].max(axis=0)
    if needs.whole is not None and not open_needs.all():
        whole = needs.statements[open_needs].mean(axis=0)
        credit += w.needs_text * (vectors @ (whole / np.linalg.norm(whole)) - vectors @ needs.whole)
    return np.asarray(credit, dtype=np.float32)


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
    """A reason a rep can read in one line: targeting, the needs answered, the prospect's
    words it uses, what it supports."""
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
    unstated = [
        f"{name} {'/'.join(block.tags.get(name, ()))}"
        for name, mask in fit.unstated.items()
        if mask[index]
    ]
    if unstated:
        parts.append("aimed at " + ", ".join(unstated) + " (not in the profile)")
    if not (matched or rival or missed or unstated):
        parts.append("general message")
    answers = [
        f'"{_clip(query.needs[i])}"'
        for i in np.argsort(-fit.need_scores[:, index], kind="stable")[:2]
        if fit.need_scores[i, index] >= w.answered
    ]
    if answers:
        parts.append("answers: " + "; ".join(answers))
    words = _shared_words(table, query, fit, index, w)
    if words:
        parts.append("uses your words: " + ", ".join(words))
    if chosen:
        support = table.vectors[chosen] @ table.vectors[index]
        best = int(np.argmax(support))
        if support[best] >= w.redundancy_floor:
            parts.append(f"supports {table.blocks[chosen[best]].id}")
    return "; ".join(parts)


def _shared_words(
    table: BlockTable, query: Query, fit: _Fit, index: int, w: Weights
) -> tuple[str, ...]:
    """The words of the need statement the block shares most with, once the overlap is enough
    to have moved its score (a single common word shared is chance, not a reason)."""
    if table.lexicon is None or not len(query.needs):
        return ()
    need = int(np.argmax(fit.need_words[:, index]))
    if fit.need_words[need, index] < w.words_shown:
        return ()
    return table.lexicon.shared_words(query.needs[need], index)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _round(value: float | np.floating[Any]) -> float:
    return round(float(value), 4)
