"""Content gaps: the needs no block answered, gathered across prospects into themes.

Two sources feed them. Each document keeps the needs its selection found unanswered, with the
best block score seen (`documents.unanswered`, stored since migration 0006; older documents have
none); reps report needs prospects raised in the field (`reported_needs`), sometimes naming the
slot where they wanted an answer. Each is one *mention* of its wording. Wordings are compared
after collapsing whitespace, so "cut  fuel" and "cut fuel" are one wording, and are tallied as
the rows stream in: a page over many documents holds one small record per wording.

Only the columns the page shows are read, since a busy installation has many documents.
Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from engine.themes import Theme
from tracker.models import Document, Prospect, ReportedNeed

EXAMPLES = 3  # wordings shown per theme


@dataclass(frozen=True)
class Window:
    """Mentions made at or after `since` and before `until` (aware datetimes; None: open)."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True)
class Wording:
    """One wording of a need with the figures of all its mentions."""

    text: str
    mentions: int
    prospects: frozenset[int]
    reported: int  # mentions reported by reps
    best_score: float | None  # how close the library came; None when only reps reported it
    slots: frozenset[str]  # where reps wanted an answer, when they said
    company: str  # of its latest mention


@dataclass(frozen=True)
class GapTheme:
    wording: str  # the representative wording
    mentions: int
    prospects: int
    reported: int
    examples: tuple[Wording, ...]  # the most mentioned wordings first
    best_score: float | None  # the best block score seen over its mentions
    slots: tuple[str, ...]


@dataclass
class _Tally:
    mentions: int = 0
    prospects: set[int] = field(default_factory=set)
    reported: int = 0
    best_score: float | None = None
    slots: set[str] = field(default_factory=set)
    company: str = ""
    latest: dt.datetime | None = None

    def add(
        self,
        prospect_id: int,
        company: str,
        when: dt.datetime,
        score: float | None = None,
        slot: str | None = None,
        reported: bool = False,
    ) -> None:
        self.mentions += 1
        self.prospects.add(prospect_id)
        self.reported += reported
        if score is not None:
            self.best_score = score if self.best_score is None else max(self.best_score, score)
        if slot:
            self.slots.add(slot)
        if self.latest is None or (when, company) > (self.latest, self.company):
            self.latest, self.company = when, company


def wording(text: str) -> str:
    return " ".join(text.split())


async def gather_wordings(
    session: AsyncSession, library_id: int | None, window: Window
) -> list[Wording]:
    """Every wording mentioned in the window, most mentioned first (ties by text): the
    documents' unanswered needs (of the library, when given) and the reps' reports."""
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    await _add_unanswered(session, library_id, window, tallies)
    await _add_reported(session, window, tallies)
    found = [
        Wording(
            text,
            t.mentions,
            frozenset(t.prospects),
            t.reported,
            t.best_score,
            frozenset(t.slots),
            t.company,
        )
        for text, t in tallies.items()
    ]
    return sorted(found, key=lambda w: (-w.mentions, w.text))


async def _add_unanswered(
    session: AsyncSession, library_id: int | None, window: Window, tallies: dict[str, _Tally]
) -> None:
    query = (
        select(Document.unanswered, Document.prospect_id, Prospect.company, Document.created_at)
        .join(Prospect, Prospect.id == Document.prospect_id)
        .where(Document.unanswered.is_not(None), *_within(Document.created_at, window))
    )
    if library_id is not None:
        query = query.where(Document.library_id == library_id)
    for unanswered, prospect_id, company, created_at in await session.execute(query):
        for text, score in _needs(unanswered):
            tallies[text].add(prospect_id, company, created_at, score)


def _needs(unanswered: Any) -> list[tuple[str, float | None]]:
    """The (wording, best score) pairs of a stored list, skipping anything malformed."""
    if not isinstance(unanswered, list):
        return []
    needs = []
    for item in unanswered:
        if not isinstance(item, dict) or not isinstance(item.get("need"), str):
            continue
        score = item.get("best_score")
        text = wording(item["need"])
        if text:
            needs.append((text, float(score) if isinstance(score, int | float) else None))
    return needs


async def _add_reported(session: AsyncSession, window: Window, tallies: dict[str, _Tally]) -> None:
    rows = await session.execute(
        select(
            ReportedNeed.text,
            ReportedNeed.prospect_id,
            Prospect.company,
            ReportedNeed.created_at,
            ReportedNeed.slot,
        )
        .join(Prospect, Prospect.id == ReportedNeed.prospect_id)
        .where(*_within(ReportedNeed.created_at, window))
    )
    for text, prospect_id, company, created_at, slot in rows:
        if wording(text):
            tallies[wording(text)].add(prospect_id, company, created_at, slot=slot, reported=True)


def _within(column: Any, window: Window) -> list[ColumnElement[bool]]:
    bounds: list[ColumnElement[bool]] = []
    if window.since is not None:
        bounds.append(column >= window.since)
    if window.until is not None:
        bounds.append(column < window.until)
    return bounds


def gap_themes(wordings: Sequence[Wording], themes: Sequence[Theme]) -> tuple[GapTheme, ...]:
    """The themes (over `wordings`, by index) with the figures of their mentions."""
    return tuple(_gap_theme(theme, wordings) for theme in themes)


def _gap_theme(theme: Theme, wordings: Sequence[Wording]) -> GapTheme:
    members = [wordings[i] for i in theme.members]
    scores = [w.best_score for w in members if w.best_score is not None]
    return GapTheme(
        wording=wordings[theme.representative].text,
        mentions=sum(w.mentions for w in members),
        prospects=len(frozenset().union(*(w.prospects for w in members))),
        reported=sum(w.reported for w in members),
        examples=tuple(members[:EXAMPLES]),
        best_score=max(scores) if scores else None,
        slots=tuple(sorted(frozenset().union(*(w.slots for w in members)))),
    )
