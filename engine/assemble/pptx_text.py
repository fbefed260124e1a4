"""Text on slides: measuring a frame, sizing text to fit it, and writing paragraphs as runs.

Every paragraph is written with the spacing, indents and bullets that `fit` assumes, so the
estimate that decided the font size describes the frame that was actually written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from copy import deepcopy
from dataclasses import replace
from functools import lru_cache
from typing import cast

from lxml import etree
from pptx.enum.text import MSO_AUTO_SIZE
from pptx.oxml.ns import qn
from pptx.oxml.text import CT_RegularTextRun, CT_TextParagraph, CT_TextParagraphProperties
from pptx.oxml.xmlchemy import OxmlElement
from pptx.shapes.autoshape import Shape
from pptx.slide import Slide, SlideLayout, SlideMaster
from pptx.text.text import Font, TextFrame, _Paragraph
from pptx.util import Emu, Length, Pt

from engine.assemble.fit import LIST_HANG_PT, MAX_LEVEL, SPACE_BEFORE, Box, Para, fit_size
from engine.assemble.safety import safe_href, xml_text

EMU_PER_PT = 12700
_BULLETS = ("\u2022", "\u2013")  # bullet, en dash: alternating by level
_NUMBERS = ("arabicPeriod", "alphaLcPeriod", "romanLcPeriod")


def to_pt(length: int) -> float:
    return length / EMU_PER_PT


def box_of(shape: Shape) -> Box:
    """The room inside a shape's text frame, in points, its insets taken off."""
    frame = shape.text_frame
    width = shape.width - _inset(frame.margin_left) - _inset(frame.margin_right)
    height = shape.height - _inset(frame.margin_top) - _inset(frame.margin_bottom)
    return Box(to_pt(width), to_pt(height))


def _inset(value: Length | None) -> int:
    return int(value) if value is not None else 0


def designed_size(layout: SlideLayout, shape: Shape, fallback: float) -> float:
    """The point size the master's designer set for this placeholder's first level.

    Looked up as PowerPoint inherits it: the layout's placeholder, then the master's title
    or body placeholder, then the master's title or body text style.
    """
    idx = shape.placeholder_format.idx
    kind = placeholder_kind(shape.element)
    master = layout.slide_master
    sources = [p.element for p in placeholders(layout) if p.placeholder_format.idx == idx]
    sources += [p.element for p in placeholders(master) if placeholder_kind(p.element) == kind]
    for element in sources:
        found = element.xpath("./p:txBody/a:lstStyle/a:lvl1pPr/a:defRPr/@sz")
        if found:
            return int(found[0]) / 100
    style = "p:titleStyle" if kind == "title" else "p:bodyStyle"
    found = master.element.xpath(f"./p:txStyles/{style}/a:lvl1pPr/a:defRPr/@sz")
    return int(found[0]) / 100 if found else fallback


def body_list_style(layout: SlideLayout, shape: Shape) -> etree._Element:
    """An `a:lstStyle` with the paragraph levels text in a body placeholder inherits (the
    master's body style, then the master's and the layout's placeholders), so a plain text
    box on a slide of the layout looks like the placeholder's text."""
    idx = shape.placeholder_format.idx
    master = layout.slide_master
    sources = master.element.xpath("./p:txStyles/p:bodyStyle")
    sources += [
        p.element.xpath("./p:txBody/a:lstStyle")[0]
        for p in placeholders(master)
        if placeholder_kind(p.element) == "body" and p.element.xpath("./p:txBody/a:lstStyle")
    ]
    sources += [
        p.element.xpath("./p:txBody/a:lstStyle")[0]
        for p in placeholders(layout)
        if p.placeholder_format.idx == idx and p.element.xpath("./p:txBody/a:lstStyle")
    ]
    levels: dict[str, etree._Element] = {}
    for source in sources:
        for level in source:
            if isinstance(level.tag, str) and level.tag.startswith(qn("a:lvl")):
                levels[level.tag] = level
    style = OxmlElement("a:lstStyle")
    for tag in sorted(levels, key=lambda t: int(t.removeprefix(qn("a:lvl")).removesuffix("pPr"))):
        style.append(deepcopy(levels[tag]))
    return style


def add_text_box(
    slide: Slide, at: tuple[int, int, int, int], like: Shape, style: etree._Element
) -> Shape:
    """A text box at (left, top, width, height) in EMU with `like`'s insets and the list
    style `body_list_style` found for it: room for text below a table, say."""
    left, top, width, height = at
    shape = slide.shapes.add_textbox(Emu(left), Emu(top), Emu(width), Emu(height))
    frame, model = shape.text_frame, like.text_frame
    frame.margin_left, frame.margin_right = model.margin_left, model.margin_right
    frame.margin_top, frame.margin_bottom = model.margin_top, model.margin_bottom
    body = frame._txBody
    old = body.find(qn("a:lstStyle"))
    if old is not None:
        old.addprevious(deepcopy(style))
        body.remove(old)
    return shape


def placeholders(owner: SlideLayout | SlideMaster) -> list[Shape]:
    """A layout's or master's placeholders as a plain list (python-pptx types them loosely)."""
    return list(cast("Iterable[Shape]", owner.placeholders))


def placeholder_kind(element: etree._Element) -> str:
    """'title' for title placeholders, 'body' for those that hold text, else the type."""
    kinds = element.xpath("./p:nvSpPr/p:nvPr/p:ph/@type")
    kind = str(kinds[0]) if kinds else "body"
    if kind in ("title", "ctrTitle"):
        return "title"
    return "body" if kind in ("body", "obj", "subTitle") else kind


def fill(
    shape: Shape, paras: Sequence[Para], largest: float, smallest: float, box: Box | None = None
) -> bool:
    """Write `paras` at the largest size from `largest` down to `smallest` that fits.

    Returns False, writing nothing, when even `smallest` is too big: the caller then moves
    text elsewhere rather than let it run off the slide. `box` is the room inside the shape,
    when the caller already knows it (finding it inherits sizes through the layout).
    """
    size = fit_size(paras, box_of(shape) if box is None else box, largest, smallest)
    if size is None:
        return False
    write(shape.text_frame, paras, size)
    return True


def write(frame: TextFrame, paras: Sequence[Para], size: float) -> None:
    """Replace the frame's text with `paras` at one size, with no autofit of its own."""
    frame.clear()  # type: ignore[no-untyped-call]
    frame.word_wrap = True
    frame.auto_size = MSO_AUTO_SIZE.NONE
    for index, para in enumerate(paras):
        paragraph = frame.paragraphs[0] if index == 0 else frame.add_paragraph()  # type: ignore[no-untyped-call]
        write_paragraph(paragraph, para, size)


def write_paragraph(paragraph: _Paragraph, para: Para, size: float) -> None:
    element = paragraph._p
    if element.pPr is None:  # always, for a new paragraph: copy what `_format` writes
        element.insert(0, deepcopy(_formatted(replace(para, spans=()), size)))
    else:
        _format(element, para, size)
    for span in para.spans:
        add_run(
            paragraph,
            span.text,
            size,
            span.bold or para.kind == "heading",
            span.italic or para.kind == "quote",
            span.href,
        )


def _format(paragraph: CT_TextParagraph, para: Para, size: float) -> None:
    """Level, indents, bullet and spacing, as `fit` assumes them."""
    level = min(para.level, MAX_LEVEL)
    props = paragraph.get_or_add_pPr()
    props.lvl = level
    props.set("marL", str(Pt(para.indent_pt)))
    listed = para.kind in ("bullet", "number")
    props.set("indent", str(-Pt(LIST_HANG_PT) if listed and not para.continued else 0))
    props.append(_bullet(para, level))
    props.line_spacing = 1.0
    props.space_before = Pt(SPACE_BEFORE * size)
    props.space_after = Pt(0)


@lru_cache(maxsize=1024)
def _formatted(para: Para, size: float) -> CT_TextParagraphProperties:
    """The paragraph properties `_format` writes for a paragraph of this kind (its text
    left out) at this size: built once, copied into each paragraph like it."""
    paragraph = cast("CT_TextParagraph", OxmlElement("a:p"))
    _format(paragraph, para, size)
    props = paragraph.pPr
    assert props is not None, "formatting adds paragraph properties"
    return props


def _bullet(para: Para, level: int) -> etree._Element:
    if para.kind == "bullet" and not para.continued:
        element = etree.Element(qn("a:buChar"))
        element.set("char", _BULLETS[level % len(_BULLETS)])
    elif para.kind == "number" and not para.continued:
        element = etree.Element(qn("a:buAutoNum"))
        element.set("type", _NUMBERS[level % len(_NUMBERS)])
    else:
        element = etree.Element(qn("a:buNone"))
    return element


def add_run(
    paragraph: _Paragraph,
    text: str,
    size: float,
    bold: bool = False,
    italic: bool = False,
    href: str | None = None,
) -> None:
    """One span as runs (a line break between the lines of a multi-line span)."""
    link = safe_href(href)
    for number, line in enumerate(xml_text(text).split("\n")):
        if number:
            paragraph.add_line_break()  # type: ignore[no-untyped-call]
        if link is None:  # a copy of the same run, styled once, given this text
            element = deepcopy(_styled_run(size, bool(bold), bool(italic)))
            element.text = line
            end = paragraph._p.endParaRPr
            if end is None:
                paragraph._p.append(element)
            else:
                end.addprevious(element)  # where python-pptx's `add_run` puts it
            continue
        run = paragraph.add_run()
        run.text = line
        _style(run._r, size, bold, italic)
        run.hyperlink.address = link


def _style(run: CT_RegularTextRun, size: float, bold: bool, italic: bool) -> None:
    font = Font(run.get_or_add_rPr())
    font.size = Pt(size)
    font.bold = bold or None
    font.italic = italic or None


@lru_cache(maxsize=256)
def _styled_run(size: float, bold: bool, italic: bool) -> CT_RegularTextRun:
    """An empty run as python-pptx adds it, styled by `_style`."""
    run = cast("CT_TextParagraph", OxmlElement("a:p")).add_r()
    _style(run, size, bold, italic)
    return run


def frame_text(shape: Shape) -> str:
    return shape.text_frame.text if shape.has_text_frame else ""


def remove_shape(shape: Shape) -> None:
    """Take an unused placeholder off the slide, so no 'Click to add text' prompt remains."""
    element = shape.element
    parent = element.getparent()
    if parent is not None:
        parent.remove(element)


def emu(points: float) -> Emu:
    return Emu(round(points * EMU_PER_PT))
