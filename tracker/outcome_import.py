"""Deals' outcomes imported from a CRM's CSV export: all of the file, or nothing.

CRMs name their columns as they like, so columns are found by name, ignoring case, spaces,
`_` and `-`, among each field's common aliases (the first alias present wins; other columns
are ignored). Every row is read and checked before anything is written, and every bad row is
reported as `line N: field: message` with the file's own line numbers (the header is line 1),
so a file with one bad row changes nothing and the person fixes it in one pass.
The functions here flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

import csv
import io
import re
from _csv import Reader
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engine.errors import NUL_REFUSED, InputError, Problem
from tracker.models import Prospect
from tracker.outcomes import OutcomeInput, parse_outcome, record_outcomes

MAX_BYTES = 5_000_000
MAX_ROWS = 20_000
MAX_KEY = 200  # prospects.key
_LOOKUP_CHUNK = 500  # keys per IN (...) list, well under every backend's parameter limit

# Each field's column names as normalised by `_column_name`, the preferred first.
COLUMNS: dict[str, tuple[str, ...]] = {
    "prospect": ("prospect", "prospect id", "prospect key", "pitchmap id", "account id"),
    "outcome": ("outcome", "result", "stage", "deal stage", "opportunity stage", "status"),
    "amount": ("amount", "deal amount", "opportunity amount", "deal value", "value"),
    "currency": ("currency", "currency code", "deal currency", "opportunity currency"),
    "closed_on": ("closed on", "close date", "closed date", "date closed", "closed at"),
    "reason": (
        "reason",
        "outcome reason",
        "loss reason",
        "lost reason",
        "closed lost reason",
        "win reason",
        "closed won reason",
    ),
}
REQUIRED = ("prospect", "outcome", "closed_on")


class OutcomeImportError(InputError):
    """A CSV file of outcomes that cannot be imported, its problems in the file's line order
    (InputError sorts them as text, which would put line 10 before line 2)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = tuple(sorted(problems, key=_line_order))
        self.args = ("\n".join(str(p) for p in self.problems),)


@dataclass(frozen=True)
class OutcomeRow:
    """One good row of the file: the prospect's key (unchecked) and its outcome."""

    line: int
    prospect: str
    outcome: OutcomeInput


@dataclass(frozen=True)
class Header:
    """Where each field's column is, and what the file calls it (problems use its name)."""

    index: dict[str, int]
    names: dict[str, str]
    width: int

    def problem(self, line: int, field: str, message: str) -> Problem:
        return Problem(_line(line), self.names.get(field, field), message)


@dataclass(frozen=True)
class ReadOutcomes:
    """A file's good rows, and the problems of its other rows."""

    header: Header
    rows: list[OutcomeRow]
    problems: list[Problem]


async def import_outcomes(
    session: AsyncSession, content: bytes, where: str, user_id: int | None = None
) -> int:
    """Record every row of the CSV `content` (source 'csv') and return how many; or raise
    OutcomeImportError, writing nothing, when any row is bad or names an unknown prospect.
    `where` names the file in problems that are not on a line (its size, its encoding)."""
    read = read_outcomes(content, where)
    ids = await _prospect_ids(session, {row.prospect for row in read.rows})
    problems = read.problems + [
        read.header.problem(row.line, "prospect", f"no prospect {row.prospect!r}")
        for row in read.rows
        if row.prospect not in ids
    ]
    if problems:
        raise OutcomeImportError(problems)
    outcomes = [(ids[row.prospect], row.outcome) for row in read.rows]
    await record_outcomes(session, outcomes, "csv", user_id)
    return len(outcomes)


def read_outcomes(content: bytes, where: str) -> ReadOutcomes:
    """The file's rows, read and checked (a file that cannot be read at all, or lacks a
    required column, raises OutcomeImportError)."""
    text = io.StringIO(_text(content, where), newline="")
    # strict: a quote left open swallows the rest of the file into one cell; refuse it instead.
    records = csv.reader(text, delimiter=_delimiter(content), strict=True)
    header = _header(_next(records, 1), where)
    rows: list[OutcomeRow] = []
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    for line, record in _records(records, where):
        row = _row(line, record, header, problems)
        if row is None:
            continue
        if row.prospect in first_line:
            message = f"{row.prospect!r} is also on line {first_line[row.prospect]}"
            problems.append(header.problem(line, "prospect", f"{message}; one outcome a prospect"))
            continue
        first_line[row.prospect] = line
        rows.append(row)
    return ReadOutcomes(header, rows, problems)


def _text(content: bytes, where: str) -> str:
    """The file as text: UTF-8, with or without a byte-order mark (Excel writes one)."""
    if len(content) > MAX_BYTES:
        message = f"is larger than {MAX_BYTES // 1_000_000} MB; split it into smaller files"
        raise OutcomeImportError([Problem(where, "file", message)])
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        message = f"is not UTF-8 (byte 0x{content[exc.start]:02x}); export or save it as UTF-8"
        raise OutcomeImportError([Problem(_line(line), "file", message)]) from None


def _delimiter(content: bytes) -> str:
    """`,` unless the header uses `;` (European spreadsheets) or tabs more."""
    header = content.split(b"\n", 1)[0]
    return max((",", ";", "\t"), key=lambda mark: header.count(mark.encode()))


def _column_name(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.lower()).strip()


def _header(names: list[str] | None, where: str) -> Header:
    """Each field's column: the first of its aliases the header line has."""
    if names is None:
        raise OutcomeImportError([Problem(where, "file", "is empty; expected a header line")])
    positions: dict[str, int] = {}
    for index, name in enumerate(names):
        positions.setdefault(_column_name(name), index)
    found = {
        field: next(positions[a] for a in aliases if a in positions)
        for field, aliases in COLUMNS.items()
        if any(a in positions for a in aliases)
    }
    missing = [_missing(field) for field in REQUIRED if field not in found]
    if missing:
        raise OutcomeImportError(missing)
    named = {field: names[index].strip() or field for field, index in found.items()}
    return Header(found, named, len(names))


def _missing(field: str) -> Problem:
    names = ", ".join(repr(a) for a in COLUMNS[field])
    return Problem(_line(1), field, f"no column for it; name a column one of {names}")


def _records(reader: Reader, where: str) -> Iterator[tuple[int, list[str]]]:
    """The non-blank records after the header, each with the line it starts on (a quoted
    field may span lines, so that is the line after where the previous record ended)."""
    count = 0
    while True:
        start = reader.line_num + 1
        record = _next(reader, start)
        if record is None:
            return
        if not any(cell.strip() for cell in record):
            continue
        count += 1
        if count > MAX_ROWS:
            message = f"has more than {MAX_ROWS:,} rows; split it into smaller files"
            raise OutcomeImportError([Problem(where, "file", message)])
        yield start, record


def _next(reader: Reader, line: int) -> list[str] | None:
    try:
        return next(reader, None)
    except csv.Error as exc:
        problem = Problem(_line(line), "file", f"is not valid CSV: {exc}")
        raise OutcomeImportError([problem]) from None


def _row(
    line: int, record: list[str], header: Header, problems: list[Problem]
) -> OutcomeRow | None:
    """The record as an outcome row, or None with its problems added to `problems`."""
    if len(record) > header.width:
        message = f"has {len(record)} fields but the header has {header.width}"
        problems.append(Problem(_line(line), "row", message))
        return None
    values = {f: record[i].strip() if i < len(record) else "" for f, i in header.index.items()}
    found: list[Problem] = []
    prospect = values.pop("prospect")
    if not prospect:
        found.append(header.problem(line, "prospect", "is required"))
    elif len(prospect) > MAX_KEY:
        found.append(header.problem(line, "prospect", f"is longer than {MAX_KEY} characters"))
    elif "\x00" in prospect:  # no key holds one, and PostgreSQL cannot even look it up
        found.append(header.problem(line, "prospect", NUL_REFUSED))
    try:
        outcome = parse_outcome(values, _line(line))
    except InputError as exc:
        found += [header.problem(line, p.field, p.message) for p in exc.problems]
    problems += found
    return None if found else OutcomeRow(line, prospect, outcome)


async def _prospect_ids(session: AsyncSession, keys: set[str]) -> dict[str, int]:
    ordered = sorted(keys)
    ids: dict[str, int] = {}
    for start in range(0, len(ordered), _LOOKUP_CHUNK):
        chunk = ordered[start : start + _LOOKUP_CHUNK]
        query = select(Prospect.key, Prospect.id).where(Prospect.key.in_(chunk))
        ids.update({key: prospect_id for key, prospect_id in await session.execute(query)})
    return ids


def _line(number: int) -> str:
    return f"line {number}"


def _line_order(problem: Problem) -> tuple[int, Problem]:
    """Problems on a line by that line's number; the file's own (size, encoding) first."""
    match = re.fullmatch(r"line (\d+)", problem.file)
    return (int(match[1]) if match else 0, problem)
