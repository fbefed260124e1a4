"""A Word document read section by section: a heading and everything up to the next one.

A heading is a paragraph whose style is a Heading or Title style, at any level: writers
structure proposals with those styles, so each heading's section is one reusable piece.
List paragraphs (a List style, or Word numbering) become Markdown list items, numbered or
not as their numbering format says; a table of contents is navigation and is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from docx import Document
from docx.document import Document as DocumentType
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml.ns import qn
from docx.oxml.table import CT_Tbl, CT_Tc
from docx.oxml.text.paragraph import CT_P
from docx.styles.style import ParagraphStyle
from docx.table import Table, _Cell
from docx.text.hyperlink import Hyperlink
from docx.text.paragraph import Paragraph
from docx.text.run import Run as DocxRun
from lxml import etree

from engine.importer.markup import Element, Excerpt, Grid, Item, Run, Runs, Text, plain, tidy

_HEADING_STYLES = ("heading", "title")
_Style = ParagraphStyle | None
_LEVEL_IN_NAME = re.compile(r"(\d)\s*$")


def read_document(path: Path, file: BinaryIO) -> Iterator[Excerpt]:
    """Each heading's section that has text under it, in document order.

    Text before the first heading becomes a section titled from the file name; a heading
    with nothing under it (a chapter heading right above its first sub-heading) is skipped.
    Section by section (the document itself is parsed up front): a caller that stops early,
    at a document with too many sections, skips converting the rest.
    """
    document = Document(file)
    reader = _Reader(document)
    title, anchor = _title_from(path), "section-0"
    elements: list[Element] = []
    number = 0
    for item in _body(document):
        heading = reader.heading(item)
        if heading:
            if elements:
                yield Excerpt(anchor, title, tuple(elements))
            number += 1
            title, anchor, elements = heading, f"section-{number}", []
        else:
            elements.extend(reader.element(item))
    if elements:
        yield Excerpt(anchor, title, tuple(elements))


def _title_from(path: Path) -> str:
    return " ".join(re.sub(r"[_-]+", " ", path.stem).split()) or path.name


def _body(document: DocumentType) -> Iterator[Paragraph | Table]:
    """Paragraphs and tables in order, including those inside content controls."""
    parent = document._body

    def walk(element: etree._Element) -> Iterator[Paragraph | Table]:
        for child in element:
            if isinstance(child, CT_P):
                yield Paragraph(child, parent)
            elif isinstance(child, CT_Tbl):
                yield Table(child, parent)
            elif child.tag == qn("w:sdt"):
                for content in child.iterchildren(qn("w:sdtContent")):
                    yield from walk(content)

    return walk(document.element.body)


class _Reader:
    """Reads paragraphs and tables of one document, whose numbering says which lists count."""

    def __init__(self, document: DocumentType) -> None:
        try:
            part = document.part.part_related_by(RELATIONSHIP_TYPE.NUMBERING)
            self.numbering: etree._Element | None = part.element  # type: ignore[attr-defined]
        except KeyError:
            self.numbering = None
        # Looking a style up scans every style in the document; a document has few styles
        # and many paragraphs, so each is looked up once.
        self._styles: dict[str | None, _Style] = {}

    def style(self, paragraph: Paragraph) -> _Style:
        key = paragraph._p.style
        if key not in self._styles:
            self._styles[key] = paragraph.style
        return self._styles[key]

    def heading(self, item: Paragraph | Table) -> str:
        """The heading's text if `item` is a heading paragraph, else ''."""
        if not isinstance(item, Paragraph):
            return ""
        name = _style_name(self.style(item)).lower()
        return " ".join(item.text.split()) if name.startswith(_HEADING_STYLES) else ""

    def element(self, item: Paragraph | Table) -> list[Element]:
        if isinstance(item, Table):
            return [_grid(item)]
        if _style_name(self.style(item)).lower().startswith("toc"):
            return []
        runs = _runs(item)
        if not plain(runs):
            return []
        listed = self._list(item)
        if listed is None:
            return [Text(runs)]
        ordered, level = listed
        return [Item(runs, level, ordered)]

    def _list(self, paragraph: Paragraph) -> tuple[bool, int] | None:
        """(numbered?, level) for a list paragraph, None for any other.

        The level is the paragraph's own list level, else the one its style's name gives
        ("List Bullet 2" is level 1: Word gives such styles a list of their own at level 0).
        """
        style = self.style(paragraph)
        name = _style_name(style)
        num_id, level = _numbering(paragraph, style)
        if num_id == "0":  # Word's way of switching a list style's numbering off
            return None
        found = _LEVEL_IN_NAME.search(name)
        named_level = int(found.group(1)) - 1 if found else 0
        if num_id is not None:
            depth = level if level is not None else named_level
            return self._numbered(num_id, level or 0), depth
        if "list" not in name.lower():
            return None
        return "number" in name.lower(), named_level

    def _numbered(self, num_id: str, level: int) -> bool:
        """Whether the list's format at this level counts (1., a., i.) rather than bullets."""
        if self.numbering is None:
            return False
        abstract = _child_val(self.numbering, "w:num", "w:numId", num_id, "w:abstractNumId")
        if abstract is None:
            return False
        definition = _child(self.numbering, "w:abstractNum", "w:abstractNumId", abstract)
        found = _child_val(definition, "w:lvl", "w:ilvl", str(level), "w:numFmt")
        return found not in (None, "bullet", "none")


def _child(parent: etree._Element | None, tag: str, key: str, value: str) -> etree._Element | None:
    """The first `tag` child of `parent` whose `key` attribute is `value`."""
    if parent is None:
        return None
    return next((c for c in parent.iterchildren(qn(tag)) if c.get(qn(key)) == value), None)


def _child_val(
    parent: etree._Element | None, tag: str, key: str, value: str, field: str
) -> str | None:
    return (
        _val(element, field) if (element := _child(parent, tag, key, value)) is not None else None
    )


def _style_name(style: _Style) -> str:
    return (style.name or "") if style is not None else ""


def _numbering(paragraph: Paragraph, style: _Style) -> tuple[str | None, int | None]:
    """The numbering instance and list level: the paragraph's own, else its style chain's."""
    sources: list[etree._Element] = [paragraph._p]
    while isinstance(style, ParagraphStyle) and len(sources) < 10:  # a cycle cannot hang us
        sources.append(style.element)
        style = style.base_style
    num_id: str | None = None
    level: int | None = None
    for element in sources:
        props = element.find(qn("w:pPr"))
        numbering = props.find(qn("w:numPr")) if props is not None else None
        if numbering is None:
            continue
        num_id = num_id or _val(numbering, "w:numId")
        found = _val(numbering, "w:ilvl")
        if level is None and found is not None and found.isdigit():
            level = min(int(found), 8)
    return num_id, level


def _val(element: etree._Element, tag: str) -> str | None:
    child = element.find(qn(tag))
    value = child.get(qn("w:val")) if child is not None else None
    return str(value) if value is not None else None


def _runs(paragraph: Paragraph) -> Runs:
    found: list[Run] = []
    for piece in paragraph.iter_inner_content():
        if isinstance(piece, Hyperlink):
            address = piece.address or None
            found.extend(_run(run, address) for run in piece.runs)
        else:
            found.append(_run(piece, None))
    return tidy(found)


def _run(run: DocxRun, href: str | None) -> Run:
    style = run.style.name if run.style is not None else ""
    bold = run.bold is True or style == "Strong"
    italic = run.italic is True or style == "Emphasis"
    return Run(run.text, bold, italic, href)


def _grid(table: Table) -> Grid:
    """Rows as Word draws them: a cell merged across columns takes its first column and
    leaves the others empty; a cell continuing a vertical merge reads as empty."""
    rows: list[tuple[Runs, ...]] = []
    for tr in table._tbl.tr_lst:
        cells: list[Runs] = []
        for tc in tr.tc_lst:
            cells.append(_cell(tc, table))
            cells.extend([()] * (tc.grid_span - 1))
        rows.append(tuple(cells))
    return Grid(tuple(rows))


def _cell(tc: CT_Tc, table: Table) -> Runs:
    if tc.vMerge == "continue":
        return ()
    cell = _Cell(tc, table)
    runs = [r for p in cell.paragraphs for r in (*_runs(p), Run(" "))]
    return tidy(runs)
