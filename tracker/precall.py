"""Before the call: what the prospect did with one document, section by section and visit by
visit, for the rep who is about to talk to them.

Definitions follow tracker.reports: a section is *seen* in a visit when that visit's row says so,
*read* when some visit's dwell on it reached its `reading_ms` (and is more than zero); it was
*come back to* when two or more visits saw it. Sums and counts are taken in SQL (portable to
SQLite and PostgreSQL); nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.models import DocumentSection, SectionTime, ShareLink, Visit, visit_of_section_time
from tracker.reports import read_flag, seen_flag

SHOWN_VISITS = 20  # the latest visits listed and drawn; the figures count every visit


@dataclass(frozen=True)
class PreCallSection:
    position: int
    slot: str
    title: str
    why: str
    seen: bool  # in any visit
    visits_seen: int  # how many visits saw it
    dwell_ms: int  # over all visits
    read: bool  # some visit's dwell reached reading_ms
    reading_ms: int

    @property
    def came_back(self) -> bool:
        return self.visits_seen >= 2

    @property
    def need(self) -> str:
        """The prospect's need the section answers: the `answers:` part of its why, or ''."""
        return answered_need(self.why)


@dataclass(frozen=True)
class PreCallVisit:
    id: int
    started: dt.datetime
    ended: dt.datetime  # the last heartbeat, or the start when there was none
    recipient: str | None  # the link's recipient
    sections_seen: int
    dwell_ms: int


@dataclass(frozen=True)
class PreCall:
    document_id: str
    sections: tuple[PreCallSection, ...]
    visits: tuple[PreCallVisit, ...]  # the latest SHOWN_VISITS, in time order
    visit_count: int = 0  # every visit, also those not in `visits`
    last_visit: dt.datetime | None = None  # the last heartbeat of any visit

    @property
    def read(self) -> tuple[PreCallSection, ...]:
        return tuple(s for s in self.sections if s.read)

    @property
    def skipped(self) -> tuple[PreCallSection, ...]:
        return tuple(s for s in self.sections if not s.read)

    @property
    def came_back(self) -> tuple[PreCallSection, ...]:
        return tuple(s for s in self.sections if s.came_back)

    def summary(self) -> str:
        """'Read: A, B; skipped: C; came back to: B', leaving out the empty parts."""
        if not self.visit_count:
            return "Not opened yet."
        parts = [
            f"{label}: {', '.join(s.title for s in group)}"
            for label, group in (
                ("Read", self.read),
                ("skipped", self.skipped),
                ("came back to", self.came_back),
            )
            if group
        ]
        text = "; ".join(parts)
        return text[:1].upper() + text[1:] + "."


@dataclass(frozen=True)
class PreCallTotals:
    """One prospect's documents at a glance: how many were opened, how often, how much read."""

    documents: int
    opened: int
    visits: int
    sections: int
    read: int
    last_visit: dt.datetime | None


def totals(reports: Sequence[PreCall]) -> PreCallTotals:
    last = [report.last_visit for report in reports if report.last_visit is not None]
    return PreCallTotals(
        documents=len(reports),
        opened=sum(1 for report in reports if report.visit_count),
        visits=sum(report.visit_count for report in reports),
        sections=sum(len(report.sections) for report in reports),
        read=sum(len(report.read) for report in reports),
        last_visit=max(last, default=None),
    )


def answered_need(why: str) -> str:
    """The part of a selection's `why` after 'answers:' (up to its next part), or ''."""
    marker = "answers:"
    start = why.find(marker)
    if start < 0:
        return ""
    rest = why[start + len(marker) :]
    for following in ("; supports ",):
        end = rest.find(following)
        if end >= 0:
            rest = rest[:end]
    return rest.strip()


async def precall(session: AsyncSession, document_id: str) -> PreCall:
    """The document's sections in order and its latest visits in time order, over all its
    links. A document read thousands of times lists only the latest SHOWN_VISITS (a rep
    prepares a call from the last few; the sections' figures count them all)."""
    section_rows = (
        await session.execute(
            select(
                DocumentSection.position,
                DocumentSection.slot,
                DocumentSection.title,
                DocumentSection.why,
                DocumentSection.reading_ms,
                func.coalesce(func.sum(seen_flag()), 0),
                func.coalesce(func.sum(SectionTime.dwell_ms), 0),
                func.coalesce(func.max(read_flag()), 0),
            )
            .outerjoin(SectionTime, SectionTime.section_id == DocumentSection.id)
            .where(DocumentSection.document_id == document_id)
            .group_by(
                DocumentSection.id,
                DocumentSection.position,
                DocumentSection.slot,
                DocumentSection.title,
                DocumentSection.why,
                DocumentSection.reading_ms,
            )
            .order_by(DocumentSection.position)
        )
    ).all()
    sections = tuple(
        PreCallSection(
            position=position,
            slot=slot,
            title=title,
            why=why,
            seen=int(visits_seen) > 0,
            visits_seen=int(visits_seen),
            dwell_ms=int(dwell),
            read=int(read) > 0,
            reading_ms=reading_ms,
        )
        for position, slot, title, why, reading_ms, visits_seen, dwell, read in section_rows
    )
    visit_rows = (
        await session.execute(
            select(
                Visit.id,
                Visit.created_at,
                Visit.last_seen_at,
                ShareLink.recipient_email,
                func.coalesce(func.sum(seen_flag()), 0),
                func.coalesce(func.sum(SectionTime.dwell_ms), 0),
            )
            .join(ShareLink, ShareLink.id == Visit.link_id)
            .outerjoin(SectionTime, visit_of_section_time())
            .where(ShareLink.document_id == document_id)
            .group_by(Visit.id, Visit.created_at, Visit.last_seen_at, ShareLink.recipient_email)
            .order_by(Visit.created_at.desc(), Visit.id.desc())
            .limit(SHOWN_VISITS)
        )
    ).all()[::-1]
    count, last = (
        await session.execute(
            select(
                func.count(Visit.id), func.max(func.coalesce(Visit.last_seen_at, Visit.created_at))
            )
            .join(ShareLink, ShareLink.id == Visit.link_id)
            .where(ShareLink.document_id == document_id)
        )
    ).one()
    visits = tuple(
        PreCallVisit(
            id=visit_id,
            started=started,
            ended=max(ended or started, started),
            recipient=recipient,
            sections_seen=int(seen),
            dwell_ms=int(dwell),
        )
        for visit_id, started, ended, recipient, seen, dwell in visit_rows
    )
    return PreCall(
        document_id=document_id,
        sections=sections,
        visits=visits,
        visit_count=int(count),
        last_visit=last,
    )
