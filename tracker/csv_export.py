"""Reports as CSV for spreadsheets: a header row, then one row per item, columns in a fixed order.

Block titles, slots, profile values and recipient addresses are typed by people, and a
spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return
before one) as a formula. Every text cell that starts with one of those gets a leading
apostrophe, so it is shown as the text it is; numbers are written as numbers. Rates have four
decimals, booleans are `true`/`false`, datetimes ISO 8601, a missing value an empty cell.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence

from tracker.reports import BlockBreakdown, BlockEngagement, DocumentReport, LinkReport

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

ENGAGEMENT_COLUMNS = (
    "block_id",
    "library_id",
    "slot",
    "documents",
    "sessions",
    "seen_rate",
    "median_dwell_ms",
    "read_rate",
)
BREAKDOWN_COLUMNS = (
    "block_id",
    "by",
    "value",
    "documents",
    "sessions",
    "seen_rate",
    "median_dwell_ms",
    "read_rate",
)
LINK_REPORT_COLUMNS = (
    "position",
    "block_id",
    "slot",
    "title",
    "reading_ms",
    "seen",
    "sessions_seen",
    "dwell_ms",
    "read",
    "link_sessions",
)
DOCUMENT_REPORT_COLUMNS = (
    "document_id",
    "position",
    "block_id",
    "slot",
    "title",
    "reading_ms",
    "sessions_seen",
    "seen_rate",
    "dwell_ms",
    "median_dwell_ms",
    "read_rate",
    "document_sessions",
)
DOCUMENT_LINKS_COLUMNS = (
    "document_id",
    "link_id",
    "recipient_email",
    "sessions",
    "created_at",
    "revoked_at",
    "expires_at",
    "last_visit_at",
)

Cell = str | int | float | bool | dt.datetime | None


def safe_cell(value: Cell) -> str:
    """A cell's text, defused when a spreadsheet would take it for a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _write(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return out.getvalue()


def engagement_csv(rows: Iterable[BlockEngagement]) -> str:
    """One row per block, as `block_engagement` gives them."""
    return _write(
        ENGAGEMENT_COLUMNS,
        (
            (
                r.block_id,
                r.library_id,
                r.slot,
                r.documents,
                r.sessions,
                r.seen_rate,
                r.median_dwell_ms,
                r.read_rate,
            )
            for r in rows
        ),
    )


def breakdown_csv(rows: Iterable[BlockBreakdown]) -> str:
    """One row per value of the dimension, as `block_breakdown` gives them."""
    return _write(
        BREAKDOWN_COLUMNS,
        (
            (
                r.block_id,
                r.by,
                r.value,
                r.documents,
                r.sessions,
                r.seen_rate,
                r.median_dwell_ms,
                r.read_rate,
            )
            for r in rows
        ),
    )


def link_report_csv(report: LinkReport) -> str:
    """One row per section in document order; `link_sessions` repeats the link's total."""
    return _write(
        LINK_REPORT_COLUMNS,
        (
            (
                s.position,
                s.block_id,
                s.slot,
                s.title,
                s.reading_ms,
                s.seen,
                s.sessions_seen,
                s.dwell_ms,
                s.read,
                report.sessions,
            )
            for s in report.sections
        ),
    )


def document_report_csv(report: DocumentReport) -> str:
    """One row per section in document order; `document_sessions` repeats the total."""
    return _write(
        DOCUMENT_REPORT_COLUMNS,
        (
            (
                report.document_id,
                s.position,
                s.block_id,
                s.slot,
                s.title,
                s.reading_ms,
                s.sessions_seen,
                s.seen_rate,
                s.dwell_ms,
                s.median_dwell_ms,
                s.read_rate,
                report.sessions,
            )
            for s in report.sections
        ),
    )


def document_links_csv(report: DocumentReport) -> str:
    """One row per share link of the document, oldest first."""
    return _write(
        DOCUMENT_LINKS_COLUMNS,
        (
            (
                report.document_id,
                link.id,
                link.recipient_email,
                link.sessions,
                link.created_at,
                link.revoked_at,
                link.expires_at,
                link.last_visit_at,
            )
            for link in report.links
        ),
    )
