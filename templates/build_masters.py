"""Generates the brand masters, templates/brand/master.pptx and proposal.docx.

Run `python templates/build_masters.py` after changing this file and commit both outputs.
The masters are generated rather than drawn so that every change to them is a reviewable
diff of this script. A customer may replace them with their own: what pitchmap relies on is
only the names below (layout names in the deck, style names in the proposal), listed in
`engine.assemble.masters`.

Fonts are named "Calibri": Office users have it, and on Linux fontconfig maps it to Carlito
(fonts-crosextra-carlito), which has the same metrics, so LibreOffice pages break as in Word.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Inches as DocxInches
from docx.shared import Pt as DocxPt
from docx.shared import RGBColor
from lxml import etree
from pptx import Presentation
from pptx.dml.color import RGBColor as PptxRGB
from pptx.util import Emu, Inches, Pt

BRAND = Path(__file__).resolve().parent / "brand"
FONT = "Calibri"
SLIDE_WIDTH = Emu(12192000)  # 13.333 in: PowerPoint's own 16:9 width
NAVY, TEAL, AMBER, MIST, LINK = "1B2A41", "0E7C7B", "F2A541", "EEF1F5", "0E6BA8"

A = "http://schemas.openxmlformats.org/drawingml/2006/main"
P = "http://schemas.openxmlformats.org/presentationml/2006/main"

# ---------------------------------------------------------------- the deck master (16:9)

# The default template's layouts that become ours, in the order PowerPoint lists them.
LAYOUTS = {
    "Title Slide": "Title",
    "Section Header": "Section",
    "Title and Content": "Title and Bullets",
    "Two Content": "Two Columns",
    "Content with Caption": "Quote",
    "Picture with Caption": "Closing",
}
DARK_LAYOUTS = ("Title", "Section", "Closing")
Geometry = tuple[float, float, float, float]  # left, top, width, height in inches
TITLE_BOX: Geometry = (0.6, 0.35, 12.133, 1.05)
BODY_BOX: Geometry = (0.6, 1.55, 12.133, 5.15)
FOOTER_BOXES: dict[int, Geometry] = {
    10: (0.6, 6.95, 3.0, 0.4),
    11: (4.167, 6.95, 5.0, 0.4),
    12: (9.733, 6.95, 3.0, 0.4),
}
# Placeholder boxes per layout, keyed by placeholder idx (0 is the title).
PLACEMENTS: dict[str, dict[int, Geometry]] = {
    "Title": {0: (0.9, 1.9, 11.5, 1.9), 1: (0.9, 4.0, 11.5, 2.3)},
    "Section": {0: (0.9, 2.4, 11.5, 1.8), 1: (0.9, 4.3, 11.5, 1.4)},
    "Title and Bullets": {0: TITLE_BOX, 1: BODY_BOX},
    "Two Columns": {0: TITLE_BOX, 1: (0.6, 1.55, 5.9, 5.15), 2: (6.833, 1.55, 5.9, 5.15)},
    "Quote": {0: TITLE_BOX, 1: (1.2, 1.7, 10.933, 3.5), 2: (1.2, 5.3, 10.933, 1.4)},
    "Closing": {0: (0.9, 2.1, 11.5, 1.8), 2: (0.9, 4.1, 11.5, 2.2)},
}
# Text styles per layout placeholder: size in points, then optional marks and colour.
TEXT_STYLES: dict[str, dict[int, dict[str, Any]]] = {
    "Title": {0: {"sz": 44, "b": True, "color": "bg1"}, 1: {"sz": 20, "color": "bg2"}},
    "Section": {0: {"sz": 40, "b": True, "color": "bg1"}, 1: {"sz": 20, "color": "bg2"}},
    "Quote": {
        0: {"sz": 28, "b": True, "color": "tx2"},
        1: {"sz": 32, "i": True, "color": "tx2"},
        2: {"sz": 18, "color": "accent1"},
    },
    "Closing": {0: {"sz": 44, "b": True, "color": "bg1"}, 2: {"sz": 20, "color": "bg2"}},
}
ANCHORS = {("Title", 0): "b", ("Section", 0): "b", ("Closing", 0): "b", ("Quote", 1): "ctr"}


def build_master(out: Path) -> None:
    """The deck master: python-pptx's default, widened to 16:9, rebranded, six named layouts."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = SLIDE_WIDTH, Inches(7.5)
    _brand_theme(prs.slide_master)
    _master_text_styles(prs.slide_master.element)
    _place(prs.slide_master.placeholders, {0: TITLE_BOX, 1: BODY_BOX, **FOOTER_BOXES})
    _add_brand_bar(prs.slide_master.element)
    _no_autofit(prs.slide_master.element)
    for layout in list(prs.slide_layouts):
        if layout.name not in LAYOUTS:
            prs.slide_layouts.remove(layout)
    for layout in prs.slide_layouts:
        layout.name = LAYOUTS[layout.name]
        _shape_layout(layout)
    _order_layouts(prs.slide_master.element, [layout.name for layout in prs.slide_layouts])
    prs.save(str(out))


def _brand_theme(master: Any) -> None:
    """Theme colours and fonts: every layout and slide refers to these, never to literals."""
    part = next(r.target_part for r in master.part.rels.values() if r.reltype.endswith("/theme"))
    theme = etree.fromstring(part.blob)
    theme.set("name", "Pitchmap")
    colours = {"dk2": NAVY, "lt2": MIST, "accent1": TEAL, "accent2": AMBER, "hlink": LINK}
    for name, value in colours.items():
        slot = theme.find(f".//{{{A}}}clrScheme/{{{A}}}{name}")
        assert slot is not None, name
        slot.clear()
        etree.SubElement(slot, f"{{{A}}}srgbClr", val=value)
    for latin in theme.iterfind(f".//{{{A}}}fontScheme/*/{{{A}}}latin"):
        latin.set("typeface", FONT)
    part._blob = etree.tostring(theme, xml_declaration=True, encoding="UTF-8", standalone=True)


def _master_text_styles(master: Any) -> None:
    """Left-aligned navy titles; body levels with small, even indents and measured spacing."""
    title = master.find(f".//{{{P}}}titleStyle/{{{A}}}lvl1pPr")
    title.set("algn", "l")
    title_run = title.find(f"{{{A}}}defRPr")
    title_run.set("sz", "3600")
    title_run.set("b", "1")
    _scheme_fill(title_run, "tx2")
    bullets = ["\u2022", "\u2013"] * 4 + ["\u2022"]  # bullet, en dash, alternating
    sizes = [2400, 2000, 1800, 1600, 1600, 1600, 1600, 1600, 1600]
    body = master.find(f".//{{{P}}}bodyStyle")
    for level in range(9):
        ppr = body.find(f"{{{A}}}lvl{level + 1}pPr")
        ppr.set("marL", str(Pt(27 + 27 * level)))
        ppr.set("indent", str(-Pt(21)))
        ppr.find(f"{{{A}}}spcBef").clear()
        etree.SubElement(ppr.find(f"{{{A}}}spcBef"), f"{{{A}}}spcPts", val="600")
        ppr.find(f"{{{A}}}buChar").set("char", bullets[level])
        ppr.find(f"{{{A}}}defRPr").set("sz", str(sizes[level]))


def _scheme_fill(run_props: Any, colour: str) -> None:
    for old in run_props.findall(f"{{{A}}}solidFill"):
        run_props.remove(old)
    fill = etree.Element(f"{{{A}}}solidFill")
    etree.SubElement(fill, f"{{{A}}}schemeClr", val=colour)
    run_props.insert(0, fill)


def _no_autofit(master: Any) -> None:
    """pitchmap sizes text to fit before writing it; an autofit on top only shrinks it more."""
    for fit in master.iterfind(f".//{{{A}}}bodyPr/{{{A}}}normAutofit"):
        fit.getparent().remove(fit)


def _add_brand_bar(master: Any) -> None:
    """A thin teal band along the bottom of every slide, behind everything else."""
    bar = etree.fromstring(
        f'<p:sp xmlns:p="{P}" xmlns:a="{A}"><p:nvSpPr><p:cNvPr id="90" name="Brand Bar"/>'
        '<p:cNvSpPr/><p:nvPr userDrawn="1"/></p:nvSpPr><p:spPr><a:xfrm>'
        f'<a:off x="0" y="{Inches(7.38)}"/><a:ext cx="{SLIDE_WIDTH}" cy="{Inches(0.12)}"/>'
        '</a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom><a:solidFill>'
        '<a:schemeClr val="accent1"/></a:solidFill><a:ln><a:noFill/></a:ln></p:spPr></p:sp>'
    )
    tree = master.find(f"{{{P}}}cSld/{{{P}}}spTree")
    tree.insert(2, bar)  # after the group's own properties, so it is drawn first


def _shape_layout(layout: Any) -> None:
    name = layout.name
    for placeholder in list(layout.placeholders):
        idx = placeholder.placeholder_format.idx
        boxes = {**FOOTER_BOXES, **PLACEMENTS[name]}
        if idx not in boxes:
            placeholder.element.getparent().remove(placeholder.element)
            continue
        _set_box(placeholder, boxes[idx])
        style = TEXT_STYLES.get(name, {}).get(idx)
        if style is not None:
            _list_style(placeholder.element, **style)
        anchor = ANCHORS.get((name, idx))
        if anchor is not None:
            placeholder.element.find(f".//{{{A}}}bodyPr").set("anchor", anchor)
    if name in DARK_LAYOUTS:
        fill = layout.background.fill
        fill.solid()
        fill.fore_color.rgb = _rgb(NAVY)


def _place(placeholders: Any, boxes: dict[int, Geometry]) -> None:
    for placeholder in placeholders:
        box = boxes.get(placeholder.placeholder_format.idx)
        if box is not None:
            _set_box(placeholder, box)


def _set_box(shape: Any, box: Geometry) -> None:
    shape.left, shape.top, shape.width, shape.height = (Inches(v) for v in box)


def _list_style(element: Any, sz: int, color: str, b: bool = False, i: bool = False) -> None:
    """The placeholder's own first-level text style: no bullet, given size, marks, colour."""
    style = element.find(f".//{{{A}}}lstStyle")
    style.clear()
    level = etree.SubElement(style, f"{{{A}}}lvl1pPr", marL="0", indent="0")
    etree.SubElement(level, f"{{{A}}}buNone")
    run = etree.SubElement(
        level, f"{{{A}}}defRPr", sz=str(sz * 100), b=str(int(b)), i=str(int(i)), cap="none"
    )
    _scheme_fill(run, color)


def _order_layouts(master: Any, names: list[str]) -> None:
    """List the layouts in LAYOUTS order, as a designer would in PowerPoint's picker."""
    id_list = master.find(f"{{{P}}}sldLayoutIdLst")
    wanted = list(LAYOUTS.values())
    ranked = sorted(zip(names, list(id_list), strict=True), key=lambda p: wanted.index(p[0]))
    for _, entry in ranked:
        id_list.append(entry)  # appending an existing child moves it to the end


def _rgb(value: str) -> PptxRGB:
    return PptxRGB.from_string(value)


# ---------------------------------------------------------------- the proposal template


def build_proposal(out: Path) -> None:
    """The proposal template: python-docx's default with the brand's named styles and lists."""
    document = Document()
    _page(document)
    _document_font(document)
    _paragraph_styles(document)
    _list_numbering(document)
    _table_style(document)
    _header_footer(document)
    body = document.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    document.core_properties.title = "Pitchmap proposal template"
    document.core_properties.author = "pitchmap"
    document.save(str(out))


def _page(document: Any) -> None:
    section = document.sections[0]
    section.left_margin = section.right_margin = DocxInches(1)
    section.top_margin = section.bottom_margin = DocxInches(1)
    section.different_first_page_header_footer = True  # the cover has no header or footer


def _document_font(document: Any) -> None:
    rpr = document.styles.element.find(qn("w:docDefaults")).find(".//" + qn("w:rPr"))
    _explicit_font(rpr)


def _explicit_font(rpr: Any) -> None:
    """Name the font outright: theme font references would resolve to Cambria in LibreOffice."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = parse_xml(f"<w:rFonts {nsdecls('w')}/>")
        rpr.insert(0, fonts)
    for attribute in list(fonts.attrib):
        del fonts.attrib[attribute]
    for slot in ("ascii", "hAnsi", "eastAsia", "cs"):
        fonts.set(qn(f"w:{slot}"), FONT)


STYLE_SPECS: dict[str, dict[str, Any]] = {
    "Heading 1": {"size": 20, "bold": True, "color": NAVY, "before": 24, "after": 8},
    "Heading 2": {"size": 14, "bold": True, "color": TEAL, "before": 16, "after": 4},
    "Heading 3": {"size": 12, "bold": True, "color": NAVY, "before": 12, "after": 2},
    "Body Text": {"size": 11, "after": 8},
    "List Bullet": {"size": 11, "after": 4},
    "List Number": {"size": 11, "after": 4},
    "Quote": {"size": 12, "italic": True, "color": "44546A", "before": 8, "after": 8},
    "TOC Heading": {"size": 20, "bold": True, "color": NAVY, "before": 0, "after": 12},
    "Cover Title": {"size": 36, "bold": True, "color": NAVY, "before": 160, "after": 12},
    "Cover Subtitle": {"size": 16, "color": TEAL, "before": 0, "after": 6},
    "toc 1": {"size": 11, "bold": True, "before": 6, "after": 2},
    "toc 2": {"size": 11, "after": 2},
}


# What may follow w:pBdr inside w:pPr: Word refuses a file whose elements are out of order.
AFTER_PBDR = (
    "w:shd",
    "w:tabs",
    "w:suppressAutoHyphens",
    "w:kinsoku",
    "w:wordWrap",
    "w:overflowPunct",
    "w:topLinePunct",
    "w:autoSpaceDE",
    "w:autoSpaceDN",
    "w:bidi",
    "w:adjustRightInd",
    "w:snapToGrid",
    "w:spacing",
    "w:ind",
    "w:contextualSpacing",
    "w:mirrorIndents",
    "w:suppressOverlap",
    "w:jc",
    "w:textDirection",
    "w:textAlignment",
    "w:textboxTightWrap",
    "w:outlineLvl",
    "w:divId",
    "w:cnfStyle",
    "w:rPr",
    "w:sectPr",
    "w:pPrChange",
)


def _paragraph_styles(document: Any) -> None:
    styles = document.styles
    for name in ("Cover Title", "Cover Subtitle", "toc 1", "toc 2"):
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = styles["Normal"]
        style.quick_style = name.startswith("Cover")
    styles["toc 2"].paragraph_format.left_indent = DocxInches(0.25)
    for name, spec in STYLE_SPECS.items():
        _restyle(styles[name], **spec)
    quote = styles["Quote"].element.get_or_add_pPr()
    border = parse_xml(
        f'<w:pBdr {nsdecls("w")}><w:left w:val="single" w:sz="18" w:space="8" '
        f'w:color="{TEAL}"/></w:pBdr>'
    )
    quote.insert_element_before(border, *AFTER_PBDR)
    styles["Quote"].paragraph_format.left_indent = DocxInches(0.3)
    styles["Header"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    styles["Footer"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    link = styles.add_style("Hyperlink", WD_STYLE_TYPE.CHARACTER)
    link.font.color.rgb = RGBColor.from_string(LINK)
    link.font.underline = True


def _restyle(
    style: Any,
    size: int,
    after: int,
    before: int = 0,
    bold: bool = False,
    italic: bool = False,
    color: str | None = None,
) -> None:
    style.font.size = DocxPt(size)
    style.font.bold = bold
    style.font.italic = italic
    if color is not None:
        style.font.color.rgb = RGBColor.from_string(color)
    _explicit_font(style.element.get_or_add_rPr())
    style.paragraph_format.space_before = DocxPt(before)
    style.paragraph_format.space_after = DocxPt(after)
    style.paragraph_format.line_spacing = 1.15


BULLET_NUM_ID, NUMBER_NUM_ID = 1, 2


def _list_numbering(document: Any) -> None:
    """Two nine-level lists, bullets and numbers, that the List styles point at.

    Word's own List Bullet and List Number are single-level; nested items need levels that
    indent further (and, for numbers, restart per level), so both lists are defined here.
    """
    numbering = document.part.numbering_part.element
    for child in list(numbering):
        numbering.remove(child)
    numbering.append(_abstract_list(10, ordered=False))
    numbering.append(_abstract_list(11, ordered=True))
    for num_id, abstract in ((BULLET_NUM_ID, 10), (NUMBER_NUM_ID, 11)):
        numbering.append(
            parse_xml(
                f'<w:num {nsdecls("w")} w:numId="{num_id}">'
                f'<w:abstractNumId w:val="{abstract}"/></w:num>'
            )
        )
    for base, num_id in (("List Bullet", BULLET_NUM_ID), ("List Number", NUMBER_NUM_ID)):
        for level, suffix in enumerate(("", " 2", " 3")):
            _point_style_at_list(document.styles[base + suffix], num_id, level)


def _abstract_list(abstract_id: int, ordered: bool) -> Any:
    bullets = ["•", "◦", "▪"]
    formats = ["decimal", "lowerLetter", "lowerRoman"]
    levels = []
    for level in range(9):
        fmt = formats[level % 3] if ordered else "bullet"
        text = f"%{level + 1}." if ordered else bullets[level % 3]
        levels.append(
            f'<w:lvl w:ilvl="{level}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/>'
            f'<w:lvlText w:val="{text}"/><w:lvlJc w:val="left"/>'
            f'<w:pPr><w:ind w:left="{360 + 360 * level}" w:hanging="360"/></w:pPr>'
            f'<w:rPr><w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}"/></w:rPr></w:lvl>'
        )
    return parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{abstract_id}">'
        f'<w:multiLevelType w:val="multilevel"/>{"".join(levels)}</w:abstractNum>'
    )


def _point_style_at_list(style: Any, num_id: int, level: int) -> None:
    ppr = style.element.get_or_add_pPr()
    old = ppr.find(qn("w:numPr"))
    if old is not None:
        ppr.remove(old)
    ppr.insert(
        0,
        parse_xml(
            f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{level}"/>'
            f'<w:numId w:val="{num_id}"/></w:numPr>'
        ),
    )


TABLE_STYLE = "Proposal Table"


def _table_style(document: Any) -> None:
    """Light rules, a navy header row that repeats on every page, banded rows."""
    rule = 'w:val="single" w:sz="4" w:space="0" w:color="B8C4D6"'
    borders = "".join(
        f"<w:{side} {rule}/>" for side in ("top", "left", "bottom", "right", "insideH", "insideV")
    )
    document.styles.element.append(
        parse_xml(
            f'<w:style {nsdecls("w")} w:type="table" w:customStyle="1" '
            'w:styleId="ProposalTable"><w:name w:val="Proposal Table"/>'
            '<w:basedOn w:val="TableNormal"/><w:uiPriority w:val="59"/><w:qFormat/>'
            '<w:pPr><w:spacing w:before="40" w:after="40" w:line="240" w:lineRule="auto"/>'
            '</w:pPr><w:rPr><w:sz w:val="20"/><w:szCs w:val="20"/></w:rPr>'
            '<w:tblPr><w:tblStyleRowBandSize w:val="1"/>'
            f"<w:tblBorders>{borders}</w:tblBorders><w:tblCellMar>"
            '<w:top w:w="60" w:type="dxa"/><w:left w:w="108" w:type="dxa"/>'
            '<w:bottom w:w="60" w:type="dxa"/><w:right w:w="108" w:type="dxa"/>'
            "</w:tblCellMar></w:tblPr>"
            '<w:tblStylePr w:type="firstRow"><w:rPr><w:b/><w:color w:val="FFFFFF"/></w:rPr>'
            "<w:tblPr/><w:trPr><w:tblHeader/></w:trPr><w:tcPr>"
            f'<w:shd w:val="clear" w:color="auto" w:fill="{NAVY}"/></w:tcPr></w:tblStylePr>'
            '<w:tblStylePr w:type="band1Horz"><w:tblPr/><w:tcPr>'
            f'<w:shd w:val="clear" w:color="auto" w:fill="{MIST}"/></w:tcPr></w:tblStylePr>'
            "</w:style>"
        )
    )


def _header_footer(document: Any) -> None:
    """Header: the prospect's company (the renderer writes it). Footer: page X of Y."""
    section = document.sections[0]
    header = section.header.paragraphs[0]
    header.style = document.styles["Header"]
    header.add_run("Prospect company")
    footer = section.footer.paragraphs[0]
    footer.style = document.styles["Footer"]
    footer.add_run("Page ")
    _field(footer, "PAGE", "1")
    footer.add_run(" of ")
    _field(footer, "NUMPAGES", "1")


def _field(paragraph: Any, instruction: str, shown: str) -> None:
    for part in (
        '<w:fldChar w:fldCharType="begin"/>',
        f'<w:instrText xml:space="preserve"> {instruction} </w:instrText>',
        '<w:fldChar w:fldCharType="separate"/>',
        f"<w:t>{shown}</w:t>",
        '<w:fldChar w:fldCharType="end"/>',
    ):
        paragraph._p.append(parse_xml(f"<w:r {nsdecls('w')}>{part}</w:r>"))


def main() -> int:
    BRAND.mkdir(parents=True, exist_ok=True)
    build_master(BRAND / "master.pptx")
    build_proposal(BRAND / "proposal.docx")
    print(f"wrote {BRAND / 'master.pptx'} and {BRAND / 'proposal.docx'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
