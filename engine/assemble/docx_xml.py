"""The WordprocessingML python-docx has no API for: fields, hyperlinks, list numbering, the
repeated table header and the update-fields setting.

Kept apart from the proposal's flow so that docx.py reads as the document it builds, and the
element-level details (and their schema ordering rules) live in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.text.paragraph import CT_P
from docx.oxml.text.run import CT_R
from docx.shared import RGBColor
from docx.styles.style import BaseStyle
from docx.text.paragraph import Paragraph
from docx.text.run import Run

_PAGE_FIELD = re.compile(r"^\s*PAGE\b", re.IGNORECASE)
# w:settings children that must come after w:updateFields (the schema's sequence).
_AFTER_UPDATE_FIELDS = (
    "hdrShapeDefaults",
    "footnotePr",
    "endnotePr",
    "compat",
    "docVars",
    "rsids",
    "mathPr",
    "attachedSchema",
    "themeFontLang",
    "clrSchemeMapping",
    "doNotIncludeSubdocsInStats",
    "doNotAutoCompressPictures",
    "forceUpgrade",
    "captions",
    "readModeInkLockDown",
    "smartTagType",
    "schemaLibrary",
    "shapeDefaults",
    "doNotEmbedSmartTags",
    "decimalSymbol",
    "listSeparator",
)


def add_field(paragraph: Paragraph, instruction: str, shown: str = "") -> None:
    """A complex field (PAGE, PAGEREF...) whose result Word and LibreOffice compute;
    `shown` is what a reader sees until they do."""
    begin_field(paragraph, instruction)
    if shown:
        paragraph.add_run(shown)
    end_field(paragraph)


def begin_field(paragraph: Paragraph, instruction: str) -> None:
    """The start of a field whose result spans several paragraphs (a table of contents)."""
    element: CT_P = paragraph._p
    element.append(_field_char("begin"))
    code = _run()
    text = OxmlElement("w:instrText")
    text.set(qn("xml:space"), "preserve")
    text.text = f" {instruction} "
    code.append(text)
    element.append(code)
    element.append(_field_char("separate"))


def end_field(paragraph: Paragraph) -> None:
    paragraph._p.append(_field_char("end"))


def toc_entry(paragraph: Paragraph, text: str, bookmark: str) -> None:
    """One contents line: the heading's words, linked to the heading.

    Word rebuilds the whole field with page numbers when the file opens (see
    `ask_to_update_fields`). LibreOffice shows a contents field's result as written and
    does not recompute page references inside it, so none are written: a missing number
    reads better than a wrong one.
    """
    link = OxmlElement("w:hyperlink")
    link.set(qn("w:anchor"), bookmark)
    link.set(qn("w:history"), "1")
    paragraph._p.append(link)
    Paragraph(link, paragraph._parent).add_run(text)


def _field_char(kind: str) -> CT_R:
    run = _run()
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), kind)
    run.append(char)
    return run


def _run() -> CT_R:
    run: CT_R = OxmlElement("w:r")
    return run


def has_page_field(element: Any) -> bool:
    """Whether a header or footer already shows the page number."""
    codes = [str(t.text or "") for t in element.iter(qn("w:instrText"))]
    codes += [str(f.get(qn("w:instr"), "")) for f in element.iter(qn("w:fldSimple"))]
    return any(_PAGE_FIELD.match(code) for code in codes)


def add_hyperlink(paragraph: Paragraph, url: str) -> Paragraph:
    """A real Word hyperlink to `url`; returns a paragraph-like handle to add its runs to."""
    rel_id = paragraph.part.relate_to(url, RT.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel_id)
    link.set(qn("w:history"), "1")
    paragraph._p.append(link)
    return Paragraph(link, paragraph._parent)  # add_run appends w:r inside the link


@dataclass(frozen=True)
class LinkStyle:
    """The template's character style for links, by the id python-docx would write for it
    (None when it is the default character style), found once rather than for every run."""

    style_id: str | None


def style_link(run: Run, link_style: LinkStyle | None) -> None:
    """Show a run as a link: the template's Hyperlink style, else blue and underlined."""
    if link_style is not None:
        run._r.style = link_style.style_id  # what `run.style = "Hyperlink"` writes
        return
    run.font.underline = True
    run.font.color.rgb = RGBColor(0x05, 0x63, 0xC1)  # Word's own hyperlink blue


def set_numbering(paragraph: CT_P, num_id: int, level: int) -> None:
    """Make the paragraph an item of list `num_id` at `level` (0-8): real Word numbering."""
    props = paragraph.get_or_add_pPr()
    numbering = props.get_or_add_numPr()
    numbering.get_or_add_ilvl().val = level
    numbering.get_or_add_numId().val = num_id


def style_num_id(style: BaseStyle) -> int | None:
    """The list a paragraph style numbers its paragraphs with, if it has one."""
    found = style.element.xpath("./w:pPr/w:numPr/w:numId/@w:val")
    return int(found[0]) if found else None


def restarted_list(numbering: Any, num_id: int) -> int:
    """A new list instance of the same definition as `num_id`, counting from 1 again:
    each ordered list in a proposal starts at 1, not where the previous one stopped."""
    abstract = numbering.xpath(f"./w:num[@w:numId='{num_id}']/w:abstractNumId/@w:val")
    if not abstract:
        return num_id
    num = numbering.add_num(int(abstract[0]))
    for level in range(9):
        num.add_lvlOverride(ilvl=level).add_startOverride(1)
    return int(num.numId)


def keep_rows_whole(table: Any) -> None:
    """No row breaks across pages, and the first row repeats on every page the table
    runs onto, so a reader never meets a half row or a column without its name."""
    for number, row in enumerate(table.rows):
        props = row._tr.get_or_add_trPr()
        props.append(OxmlElement("w:cantSplit"))
        if number == 0:
            props.append(OxmlElement("w:tblHeader"))


def ask_to_update_fields(settings: Any) -> None:
    """Word fills the table of contents and page counts when the file is opened."""
    if settings.find(qn("w:updateFields")) is not None:
        return
    update = OxmlElement("w:updateFields")
    update.set(qn("w:val"), "true")
    later = [settings.find(qn(f"w:{name}")) for name in _AFTER_UPDATE_FIELDS]
    following = next((e for e in later if e is not None), None)
    if following is None:
        settings.append(update)
    else:
        following.addprevious(update)


def add_bookmark(paragraph: Paragraph, name: str, bookmark_id: int) -> None:
    """A bookmark around the paragraph's content, for the contents' page references."""
    start = OxmlElement("w:bookmarkStart")
    start.set(qn("w:id"), str(bookmark_id))
    start.set(qn("w:name"), name)
    end = OxmlElement("w:bookmarkEnd")
    end.set(qn("w:id"), str(bookmark_id))
    props = paragraph._p.pPr
    if props is not None:
        props.addnext(start)
    else:
        paragraph._p.insert(0, start)
    paragraph._p.append(end)
