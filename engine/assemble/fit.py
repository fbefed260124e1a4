"""How much room text takes in a box, so long content shrinks a little or continues elsewhere.

Slides do not grow: text that does not fit runs off the bottom. The deck renderer therefore
measures before it writes, with a deliberately pessimistic model of the fonts (widths at least
those of Calibri and Arial, a little line spacing to spare), and the tests hold every frame of
every deck to the same model. Nothing here knows python-pptx; it sees paragraphs and points.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from engine.markdown import Span, Spans, spans_text

LINE_HEIGHT = 1.25  # em: single spacing is 1.22 em in Calibri, 1.15 em in Arial
SPACE_BEFORE = 0.3  # em before each paragraph; renderers set exactly this
LIST_MARGIN_PT = 27.0  # where a level-0 list item's text starts (the bullet hangs left of it)
LIST_STEP_PT = 27.0  # how much further in each nested level starts
LIST_HANG_PT = 21.0  # room the bullet or number takes, left of the text
CELL_MARGIN_X_PT = 7.2  # default table cell margins in PowerPoint: 0.1 in left and right
CELL_MARGIN_Y_PT = 3.6  # and 0.05 in top and bottom
MAX_LEVEL = 4  # deeper nesting than five levels would leave no room for words on a slide

Kind = Literal["plain", "heading", "quote", "bullet", "number"]
_TOKENS = re.compile(r"\n|[^\S\n]+|\S+")
# Widths in em, chosen at or above both Calibri's and Arial's so estimates err towards room.
_NARROW = frozenset("iljtfrI.,;:'!|()[]{}\"`")
_WIDE = frozenset("MWmw@%&")


@dataclass(frozen=True)
class Para:
    """One paragraph to lay out: its marked-up text, what it is, and its list level."""

    spans: Spans
    kind: Kind = "plain"
    level: int = 0
    continued: bool = False  # the rest of a paragraph split across slides: no second bullet

    @property
    def text(self) -> str:
        return spans_text(self.spans)

    @property
    def indent_pt(self) -> float:
        """Where the text starts, left of which nothing but a bullet is drawn."""
        if self.kind in ("bullet", "number"):
            return LIST_MARGIN_PT + LIST_STEP_PT * min(self.level, MAX_LEVEL)
        return 0.0


@dataclass(frozen=True)
class Box:
    """The inside of a text frame (its insets already taken off), in points."""

    width_pt: float
    height_pt: float


def char_em(char: str) -> float:
    """A character's advance in em, rounded up across the fonts a master is likely to use."""
    if char == " " or char in _NARROW:
        return 0.3
    if char in _WIDE:
        return 0.95
    if char.isupper() or char.isdigit():
        return 0.68
    if char.isascii():
        return 0.52
    return 1.0  # accented letters stay safe, CJK and symbols take a full em


def text_width_pt(text: str, size_pt: float) -> float:
    return _width_em(text) * size_pt


@lru_cache(maxsize=65536)
def _width_em(text: str) -> float:
    """Cached per word: fitting measures the same words at many sizes."""
    return sum(char_em(c) for c in text)


def line_starts(text: str, width_pt: float, size_pt: float) -> list[int]:
    """Offsets where each line begins when `text` is word-wrapped greedily into `width_pt`.

    Explicit newlines always break; a word longer than a whole line is broken inside, as
    PowerPoint and LibreOffice do.
    """
    return list(_line_starts(text, width_pt, size_pt))


@lru_cache(maxsize=16384)
def _line_starts(text: str, width_pt: float, size_pt: float) -> tuple[int, ...]:
    """Cached: fitting measures the same paragraphs at the same sizes again and again
    (each candidate size, then pagination, then the renderers' own checks)."""
    starts = [0]
    used = 0.0
    width = max(width_pt, size_pt)
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token == "\n":
            starts.append(match.end())
            used = 0.0
            continue
        advance = text_width_pt(token, size_pt)
        if token.isspace() or used + advance <= width:
            used += advance
            continue
        if used > 0:
            starts.append(match.start())
            used = 0.0
        used = _break_word(token, match.start(), width, size_pt, used, starts)
    return tuple(starts)


def _break_word(
    word: str, offset: int, width: float, size_pt: float, used: float, starts: list[int]
) -> float:
    """Lay a word that does not fit on a line of its own, breaking it where lines end."""
    for i, char in enumerate(word):
        advance = char_em(char) * size_pt
        if used > 0 and used + advance > width:
            starts.append(offset + i)
            used = 0.0
        used += advance
    return used


def line_count(text: str, width_pt: float, size_pt: float) -> int:
    return len(_line_starts(text, width_pt, size_pt))


def paragraph_height_pt(text: str, indent_pt: float, width_pt: float, size_pt: float) -> float:
    """Room one paragraph takes: its space before plus its wrapped lines."""
    lines = line_count(text, width_pt - indent_pt, size_pt)
    return size_pt * (SPACE_BEFORE + LINE_HEIGHT * lines)


def text_height_pt(
    paragraphs: Sequence[tuple[str, float]], width_pt: float, size_pt: float
) -> float:
    """Room a frame's paragraphs take, each given as (text, indent in points)."""
    return sum(paragraph_height_pt(t, i, width_pt, size_pt) for t, i in paragraphs)


def height_pt(paras: Sequence[Para], width_pt: float, size_pt: float) -> float:
    return text_height_pt([(p.text, p.indent_pt) for p in paras], width_pt, size_pt)


def fits(paras: Sequence[Para], box: Box, size_pt: float) -> bool:
    return height_pt(paras, box.width_pt, size_pt) <= box.height_pt


def fit_size(paras: Sequence[Para], box: Box, largest: float, smallest: float) -> float | None:
    """The largest whole point size from `largest` down to `smallest` at which all fits."""
    size = math.floor(largest)
    while size >= smallest:
        if fits(paras, box, size):
            return float(size)
        size -= 1
    return None


def paginate(paras: Sequence[Para], box: Box, size_pt: float) -> list[tuple[Para, ...]]:
    """Paragraphs packed into as many boxes as they need at `size_pt`, in order.

    A paragraph moves whole to the next box when it fits there; one taller than a box is
    split between lines, its rest marked `continued`. A box too small for a single line still
    takes one paragraph, so packing always ends.
    """
    pages: list[tuple[Para, ...]] = []
    page: list[Para] = []
    used = 0.0
    pending = list(paras)
    while pending:
        para = pending.pop(0)
        height = height_pt([para], box.width_pt, size_pt)
        if used + height <= box.height_pt or (not page and height <= box.height_pt):
            page.append(para)
            used += height
            continue
        room = _lines_left(box.height_pt - used, size_pt)
        if page and (room < 2 or height <= box.height_pt):
            pages.append(tuple(page))
            page, used = [], 0.0
            pending.insert(0, para)
            continue
        head, rest = split(para, max(room, 1), box.width_pt, size_pt)
        page.append(head)
        pages.append(tuple(page))
        page, used = [], 0.0
        if rest is not None:
            pending.insert(0, rest)
    if page:
        pages.append(tuple(page))
    return pages


def paginate_balanced(paras: Sequence[Para], box: Box, size_pt: float) -> list[tuple[Para, ...]]:
    """As many pages as `paginate` needs, but filled evenly, so the last is not a stray line
    or two: pages are packed into a shorter box, grown until no extra page is needed."""
    pages = paginate(paras, box, size_pt)
    if len(pages) < 2:
        return pages
    total = sum(height_pt(page, box.width_pt, size_pt) for page in pages)
    height = total / len(pages)
    while height < box.height_pt:
        even = paginate(paras, Box(box.width_pt, height), size_pt)
        if len(even) <= len(pages):
            return even
        height += box.height_pt / 20
    return pages


def _lines_left(room_pt: float, size_pt: float) -> int:
    return math.floor((room_pt - SPACE_BEFORE * size_pt) / (LINE_HEIGHT * size_pt))


def split(para: Para, lines: int, width_pt: float, size_pt: float) -> tuple[Para, Para | None]:
    """The first `lines` wrapped lines of a paragraph, and the rest (None if nothing is left)."""
    starts = _line_starts(para.text, width_pt - para.indent_pt, size_pt)
    if lines >= len(starts):
        return para, None
    head, tail = split_spans(para.spans, starts[lines])
    return replace(para, spans=head), replace(para, spans=_lstrip(tail), continued=True)


def split_spans(spans: Spans, offset: int) -> tuple[Spans, Spans]:
    """Spans cut at a character offset of their joined text, marks kept on both sides."""
    head: list[Span] = []
    tail: list[Span] = []
    seen = 0
    for span in spans:
        cut = offset - seen
        if cut >= len(span.text):
            head.append(span)
        elif cut <= 0:
            tail.append(span)
        else:
            head.append(replace(span, text=span.text[:cut]))
            tail.append(replace(span, text=span.text[cut:]))
        seen += len(span.text)
    return tuple(head), tuple(tail)


def _lstrip(spans: Spans) -> Spans:
    if spans and spans[0].text != spans[0].text.lstrip():
        first = replace(spans[0], text=spans[0].text.lstrip())
        return (first, *spans[1:]) if first.text else spans[1:]
    return spans


def row_height_pt(cells: Sequence[str], widths_pt: Sequence[float], size_pt: float) -> float:
    """A table row is as tall as its tallest cell's wrapped text plus the cell margins."""
    inner = [w - 2 * CELL_MARGIN_X_PT for w in widths_pt]
    lines = max((line_count(t, w, size_pt) for t, w in zip(cells, inner, strict=True)), default=1)
    return lines * LINE_HEIGHT * size_pt + 2 * CELL_MARGIN_Y_PT


def table_height_pt(
    rows: Sequence[Sequence[str]], widths_pt: Sequence[float], size_pt: float
) -> float:
    return sum(row_height_pt(r, widths_pt, size_pt) for r in rows)


def column_widths_pt(rows: Sequence[Sequence[str]], total_pt: float) -> list[float]:
    """Columns share the width by how much they hold, none narrower than half an even share."""
    columns = max((len(r) for r in rows), default=0)
    if columns == 0:
        return []
    weights = [
        math.sqrt(max((len(r[c]) for r in rows if c < len(r)), default=0) + 8)
        for c in range(columns)
    ]
    floor = total_pt / columns / 2
    spare = total_pt - floor * columns
    return [floor + spare * w / sum(weights) for w in weights]


def paginate_rows(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths_pt: Sequence[float],
    height_pt: float,
    size_pt: float,
) -> list[list[int]]:
    """Body rows (by index) grouped so each group fits under a repeated header row."""
    room = height_pt - row_height_pt(header, widths_pt, size_pt)
    pages: list[list[int]] = [[]]
    used = 0.0
    for index, row in enumerate(rows):
        height = row_height_pt(row, widths_pt, size_pt)
        if pages[-1] and used + height > room:
            pages.append([])
            used = 0.0
        pages[-1].append(index)
        used += height
    return pages
