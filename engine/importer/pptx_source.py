"""A deck read slide by slide: its title, its text frames and tables, its speaker notes.

Only what a reader sees as text is taken; pictures and charts stay in the deck. Whether a
paragraph is a bullet is decided as PowerPoint shows it: an explicit bullet or numbering,
an explicit "no bullet", else the placeholder's kind (body placeholders inherit bullets from
the master, subtitles and free text boxes do not).

A draft's body is what the audience saw and its notes what the presenter said, so no text on
a slide is lost: a slide without a title takes its first line as title (or "Slide N" when
that line is a sentence longer than a title), and a title with speaker notes but nothing under
it is a draft whose body is that title. Only a slide with no text at all, or a title alone (a
section divider, whether in a title placeholder or a lone short line in a text box), is
skipped, and is reported as skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from pptx import Presentation
from pptx.enum.shapes import PP_PLACEHOLDER
from pptx.oxml.ns import qn
from pptx.shapes.base import BaseShape
from pptx.shapes.graphfrm import GraphicFrame
from pptx.shapes.group import GroupShape
from pptx.slide import Slide
from pptx.table import Table
from pptx.text.text import TextFrame, _Paragraph, _Run

from engine.importer.markup import (
    Element,
    Excerpt,
    Grid,
    Item,
    Run,
    Runs,
    Skipped,
    Text,
    plain,
    tidy,
)

_BULLETED = frozenset(
    {
        PP_PLACEHOLDER.BODY,
        PP_PLACEHOLDER.OBJECT,
        PP_PLACEHOLDER.VERTICAL_BODY,
        PP_PLACEHOLDER.VERTICAL_OBJECT,
    }
)
# Filled in by PowerPoint itself (slide number, date, footer): not the slide's content.
_FURNITURE = frozenset(
    {
        PP_PLACEHOLDER.SLIDE_NUMBER,
        PP_PLACEHOLDER.DATE,
        PP_PLACEHOLDER.FOOTER,
        PP_PLACEHOLDER.HEADER,
    }
)
# A lone line longer than this reads as a sentence, not a title: the draft is "Slide N".
_MAX_TITLE_CHARS = 80
NO_TEXT = "no text"
TITLE_ONLY = "only a title, no body or speaker notes"


def read_deck(path: Path, file: BinaryIO) -> Iterator[Excerpt | Skipped]:
    """Each slide in deck order, as an excerpt or as skipped with the reason;
    `anchor` numbers slides as PowerPoint does. Slide by slide (the deck itself is parsed
    up front): a caller that stops early skips converting the rest."""
    deck = Presentation(file)
    for number, slide in enumerate(deck.slides, 1):
        yield _slide(slide, number)


def _slide(slide: Slide, number: int) -> Excerpt | Skipped:
    heading = slide.shapes.title
    title = " ".join(heading.text_frame.text.split()) if heading and heading.has_text_frame else ""
    title_id = heading.shape_id if heading is not None else None
    shapes = (s for s in _shapes(slide.shapes) if s.shape_id != title_id)
    elements = [e for shape in shapes for e in _read(shape) if _has_text(e)]
    notes = _notes(slide)
    anchor = f"slide-{number}"
    first = elements[0] if elements else None
    if not title and isinstance(first, Text | Item):
        title = plain(first.runs)
        if len(elements) > 1:
            elements.pop(0)  # the first line was the title
        elif len(title) > _MAX_TITLE_CHARS:
            title = f"Slide {number}"  # a lone sentence: the body of an untitled slide
        else:
            elements = []  # a lone short line reads as a title, as in a title placeholder
    elif not title and elements:  # a table first: nothing reads as a title
        title = f"Slide {number}"
    if not title:
        return Skipped(anchor, NO_TEXT)
    if not elements:
        if not notes:
            return Skipped(anchor, TITLE_ONLY)  # a section divider: nothing to reuse
        elements = [Text((Run(title),))]
    return Excerpt(anchor, title, tuple(elements), notes)


def _has_text(element: Element) -> bool:
    if isinstance(element, Grid):
        return any(plain(cell) for row in element.rows for cell in row)
    return bool(plain(element.runs))


def _shapes(shapes: Iterable[BaseShape]) -> Iterator[BaseShape]:
    """Shapes in the order the slide stacks them, groups opened."""
    for shape in shapes:
        if isinstance(shape, GroupShape):
            yield from _shapes(shape.shapes)
        else:
            yield shape


def _read(shape: BaseShape) -> list[Element]:
    kind = shape.placeholder_format.type if shape.is_placeholder else None
    if kind in _FURNITURE:
        return []
    if isinstance(shape, GraphicFrame) and shape.has_table:
        return [_grid(shape.table)]
    text_frame = getattr(shape, "text_frame", None)
    if not shape.has_text_frame or not isinstance(text_frame, TextFrame):
        return []
    bulleted = kind in _BULLETED
    elements = (_element(p, bulleted) for p in text_frame.paragraphs)
    return [e for e in elements if e is not None]


def _element(paragraph: _Paragraph, bulleted: bool) -> Text | Item | None:
    runs = _runs(paragraph)
    if not runs:
        return None
    bullet = _bullet(paragraph)
    if bullet == "none" or (bullet is None and not bulleted and paragraph.level == 0):
        return Text(runs)
    return Item(runs, paragraph.level, ordered=bullet == "number")


def _bullet(paragraph: _Paragraph) -> str | None:
    """'bullet', 'number' or 'none' when the paragraph says so itself, else None (inherited)."""
    props = paragraph._p.pPr
    if props is None:
        return None
    for child in props:
        if child.tag == qn("a:buNone"):
            return "none"
        if child.tag in (qn("a:buChar"), qn("a:buBlip")):
            return "bullet"
        if child.tag == qn("a:buAutoNum"):
            return "number"
    return None


def _runs(paragraph: _Paragraph) -> Runs:
    """The paragraph's runs with their marks; a line break or a field reads as its text."""
    runs = iter(paragraph.runs)
    found: list[Run] = []
    for child in paragraph._p:
        if child.tag == qn("a:r"):
            run = next(runs)
            font = run.font
            found.append(Run(run.text, font.bold is True, font.italic is True, _href(run)))
        elif child.tag == qn("a:br"):
            found.append(Run(" "))
        elif child.tag == qn("a:fld"):
            found.append(Run("".join(child.itertext())))
    return tidy(found)


def _href(run: _Run) -> str | None:
    return run.hyperlink.address


def _grid(table: Table) -> Grid:
    """The table's rows; a cell covered by a merge reads as empty rather than repeated."""
    rows = []
    for row in table.rows:
        cells: list[Runs] = []
        for cell in row.cells:
            if cell.is_spanned:
                cells.append(())
                continue
            paragraphs = [_runs(p) for p in cell.text_frame.paragraphs]
            cells.append(tidy([r for runs in paragraphs for r in (*runs, Run(" "))]))
        rows.append(tuple(cells))
    return Grid(tuple(rows))


def _notes(slide: Slide) -> str:
    if not slide.has_notes_slide:
        return ""
    frame = slide.notes_slide.notes_text_frame
    return frame.text.strip() if frame is not None else ""
