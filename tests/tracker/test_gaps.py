"""Gathering content gaps on real rows, on both backends: the documents' unanswered needs and
the reps' reports, in a date window and for one library, then counted per theme."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.themes import Theme
from tracker.gaps import Window, gap_themes, gather_wordings
from tracker.models import Document, Library, Prospect, ReportedNeed

pytestmark = pytest.mark.asyncio


def day(n: int) -> dt.datetime:
    return dt.datetime(2026, 3, n, 12, tzinfo=dt.UTC)


async def build(session) -> tuple[int, int]:
    """Two libraries; northwind and globex have documents in the first, initech in the other.

    northwind d1 (Mar 1): "cut fuel spend" 0.31, "GDPR  audit" 0.12
    northwind d2 (Mar 5): "cut fuel spend" 0.35
    globex    d3 (Mar 9): "reduce what we pay for fuel" 0.41; d4 (Mar 9): before 0006, NULL
    initech   d5 (Mar 2, other library): "cut fuel spend" 0.9
    reported: globex "cut fuel spend" in value (Mar 3); northwind "GDPR audit" (Mar 20)
    """
    libraries = [Library(name="Enterprise", root="/e"), Library(name="Other", root="/o")]
    prospects = [Prospect(key=k, company=c) for k, c in [("nw", "Northwind"), ("gx", "Globex")]]
    prospects.append(Prospect(key="it", company="Initech"))
    session.add_all([*libraries, *prospects])
    await session.flush()
    northwind, globex, initech = (p.id for p in prospects)
    enterprise, other = (lib.id for lib in libraries)

    def document(key: str, library: int, prospect: int, when: int, needs: list | None) -> None:
        session.add(
            Document(
                id=key,
                library_id=library,
                prospect_id=prospect,
                title=key,
                as_of=dt.date(2026, 3, 1),
                created_at=day(when),
                unanswered=needs,
            )
        )

    fuel = "cut fuel spend"
    gdpr = {"need": "GDPR  audit", "best_score": 0.12}
    document("d1", enterprise, northwind, 1, [{"need": fuel, "best_score": 0.31}, gdpr])
    document("d2", enterprise, northwind, 5, [{"need": fuel, "best_score": 0.35}])
    paraphrase = {"need": "reduce what we pay for fuel", "best_score": 0.41}
    document("d3", enterprise, globex, 9, [paraphrase])
    document("d4", enterprise, globex, 9, None)
    document("d5", other, initech, 2, [{"need": fuel, "best_score": 0.9}])
    session.add_all(
        [
            ReportedNeed(prospect_id=globex, slot="value", text=fuel, created_at=day(3)),
            ReportedNeed(prospect_id=northwind, text=" GDPR audit ", created_at=day(20)),
        ]
    )
    await session.commit()
    return enterprise, other


async def test_wordings_come_from_the_library_s_documents_and_the_reps(session) -> None:
    enterprise, other = await build(session)
    found = await gather_wordings(session, enterprise, Window())
    # Most mentioned first; whitespace does not make a new wording.
    assert [(w.text, w.mentions) for w in found] == [
        ("cut fuel spend", 3),
        ("GDPR audit", 2),
        ("reduce what we pay for fuel", 1),
    ]
    fuel, gdpr, paraphrase = found
    assert fuel.reported == 1 and fuel.slots == {"value"} and fuel.best_score == 0.35
    assert fuel.company == "Northwind"  # d2 (Mar 5) is its latest mention
    assert gdpr.reported == 1 and gdpr.best_score == 0.12 and gdpr.company == "Northwind"
    assert paraphrase.prospects < fuel.prospects  # Globex, which also reported the fuel need
    assert len(fuel.prospects) == 2 and len(gdpr.prospects) == 1

    # The other library's documents, with the reps' reports, which name no library.
    others = await gather_wordings(session, other, Window())
    assert [(w.text, w.mentions, w.reported, w.best_score) for w in others] == [
        ("cut fuel spend", 2, 1, 0.9),
        ("GDPR audit", 1, 1, None),
    ]


async def test_only_reps_reports_have_no_score(session) -> None:
    enterprise, _ = await build(session)
    found = await gather_wordings(session, enterprise, Window(since=day(10)))
    assert [(w.text, w.best_score, w.reported) for w in found] == [("GDPR audit", None, 1)]


async def test_the_window_bounds_documents_and_reports_alike(session) -> None:
    enterprise, _ = await build(session)
    found = await gather_wordings(session, enterprise, Window(day(3), day(9)))
    assert [(w.text, w.mentions, w.reported) for w in found] == [
        ("cut fuel spend", 2, 1),  # d2 and the report of Mar 3: the start is inclusive
    ]


async def test_a_theme_counts_mentions_prospects_and_the_closest_score(session) -> None:
    enterprise, _ = await build(session)
    found = await gather_wordings(session, enterprise, Window())
    fuel = Theme(members=(0, 2), representative=0, weight=4)
    gdpr = Theme(members=(1,), representative=1, weight=2)
    first, second = gap_themes(found, [fuel, gdpr])

    assert first.wording == "cut fuel spend"
    assert (first.mentions, first.prospects, first.reported) == (4, 2, 1)
    assert first.best_score == 0.41 and first.slots == ("value",)
    assert [(e.text, e.company) for e in first.examples] == [
        ("cut fuel spend", "Northwind"),
        ("reduce what we pay for fuel", "Globex"),
    ]
    assert (second.wording, second.mentions, second.prospects) == ("GDPR audit", 2, 1)
    assert second.best_score == 0.12 and second.slots == ()
