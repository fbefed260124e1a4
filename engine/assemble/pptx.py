"""The deck: an assembled document laid out on the named slide layouts of one brand master.

Slides are built from the master's layouts rather than copied from other files (python-pptx
cannot copy slides between presentations), so a customer's own master works unchanged as
long as it names its layouts as `masters.REQUIRED_LAYOUTS` does. Each block gets the layout
its shape asks for; text is sized to fit, and what cannot fit continues on "(cont.)" slides.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator, Sequence
from copy import deepcopy
from dataclasses import dataclass, field, replace
from pathlib import Path

from lxml import etree
from pptx import Presentation
from pptx.exc import PackageNotFoundError
from pptx.opc.constants import CONTENT_TYPE as CT
from pptx.opc.constants import RELATIONSHIP_TYPE as RT
from pptx.opc.packuri import PackURI
from pptx.oxml.ns import qn
from pptx.oxml.slide import CT_NotesSlide
from pptx.parts.slide import NotesSlidePart
from pptx.presentation import Presentation as PresentationType
from pptx.shapes.autoshape import Shape
from pptx.shapes.placeholder import NotesSlidePlaceholder, SlidePlaceholder
from pptx.slide import Slide, SlideLayout
from pptx.text.text import TextFrame
from pptx.util import Emu

from engine.assemble import pptx_shapes
from engine.assemble.document import AssembledDocument, AssembledSection
from engine.assemble.fit import SPACE_BEFORE, Box, Para, fit_size, height_pt, paginate_balanced
from engine.assemble.masters import REQUIRED_LAYOUTS, TemplateError, master_bytes
from engine.assemble.pptx_text import (
    add_text_box,
    body_list_style,
    box_of,
    designed_size,
    emu,
    fill,
    frame_text,
    placeholder_kind,
    placeholders,
    remove_shape,
    to_pt,
    write,
)
from engine.assemble.safety import OFFICE_PROPERTY_MAX, xml_text
from engine.assemble.slides import PicturePiece, Piece, QuotePiece, TablePiece, TextPiece, plan
from engine.markdown import Span

MIN_PT = 14.0  # below this, slide text stops being readable from the back of a room
PACK_PT = 18.0  # text that needs several slides is packed at this size, not squeezed
QUOTE_MIN_PT = 20.0  # a quote set smaller than this is just a paragraph: show it as one
TITLE_MIN_PT = 20.0
TABLE_PT = 18.0  # tables grow past this only where no cell wraps more for it: cells are narrow
LEAD_PT = 20.0  # the line introducing a table
LAST_RESORT_PT = 8.0  # for text that cannot continue elsewhere: a very long title
# Used only when a master sets no size for a placeholder at all.
FALLBACK_PT = {"title": 36.0, "body": 24.0}
_PH = f"{qn('p:nvPr')}/{qn('p:ph')}"  # under a shape's first child, as python-pptx finds it
_NOTES_NAME = "/ppt/notesSlides/notesSlide%d.xml"
# How many text placeholders (besides the title) each layout needs.
BODIES_NEEDED = {
    "Title": 1,
    "Section": 0,
    "Title and Bullets": 1,
    "Two Columns": 2,
    "Quote": 1,
    "Closing": 1,
}


def render_deck(doc: AssembledDocument, master: Path | None = None) -> bytes:
    """The deck as .pptx bytes: title, a divider per slot, the blocks' slides, closing."""
    deck = _Deck.open(master)
    deck.title_slide(doc)
    slot: str | None = None
    for section in doc.sections:
        if section.slot != slot:
            deck.section_slide(section.slot_title)
            slot = section.slot
        deck.block(section, doc.assets)
    deck.closing_slide(doc)
    deck.prs.core_properties.title = xml_text(doc.title)[:OFFICE_PROPERTY_MAX]
    deck.prs.core_properties.subject = xml_text(doc.prospect.company)[:OFFICE_PROPERTY_MAX]
    out = io.BytesIO()
    deck.prs.save(out)
    return out.getvalue()


@dataclass(frozen=True)
class _Layout:
    """A master layout and its placeholders by role: title, then bodies in reading order."""

    layout: SlideLayout
    title: int
    bodies: tuple[int, ...]


@dataclass
class _Clone:
    """A layout's placeholders as python-pptx clones them onto a new slide, kept from the
    first slide on the layout: every later one gets copies instead of a fresh clone (which
    looks up every placeholder's type, size and name through XPath, slide after slide)."""

    shapes: list[etree._Element]
    positions: dict[int, int]  # placeholder idx -> index into `shapes`
    boxes: dict[int, Box] = field(default_factory=dict)  # room inside each, on a new slide


@dataclass
class _Plan:
    """What a master's layouts give every deck built on it, the same for each: worked out
    by the first deck, as it goes, and kept for the next ones on the same master."""

    roles: dict[str, tuple[int, tuple[int, ...]]]  # layout -> title idx, body idxs
    sizes: dict[tuple[str, int], float] = field(default_factory=dict)  # designed sizes
    clones: dict[str, _Clone] = field(default_factory=dict)
    notes: tuple[list[etree._Element], int] | None = None  # a new notes slide's shapes


_PLANS: dict[bytes, _Plan] = {}  # by the master's digest
_MAX_PLANS = 16


class _Deck:
    def __init__(self, prs: PresentationType, layouts: dict[str, _Layout], plan: _Plan) -> None:
        self.prs = prs
        self.layouts = layouts
        self.plan = plan
        self.sizes = plan.sizes
        self.clones = plan.clones
        self.areas: dict[tuple[str, int], Shape] = {}  # the layouts' body placeholders
        self.styles: dict[str, etree._Element] = {}  # list styles for plain text boxes
        self.notes_names: set[str] | None = None  # notes slide part names in use

    @classmethod
    def open(cls, master: Path | None) -> _Deck:
        """The master with its slides removed and every required layout found, or an error."""
        name, content = master_bytes(master)
        try:
            prs = Presentation(io.BytesIO(content))
        except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as error:
            raise TemplateError(name, f"is not a PowerPoint file ({error})") from error
        _drop_slides(prs)
        _no_autofit(prs)
        digest = hashlib.sha256(content).digest()
        plan = _PLANS.get(digest)
        if plan is None:
            layouts = {n: _find_layout(prs, name, n) for n in REQUIRED_LAYOUTS}
            plan = _Plan({n: (info.title, info.bodies) for n, info in layouts.items()})
            if len(_PLANS) >= _MAX_PLANS:
                _PLANS.clear()
            _PLANS[digest] = plan
        else:
            layouts = {}
            for n, (title, bodies) in plan.roles.items():
                layout = prs.slide_layouts.get_by_name(n)
                assert layout is not None, "found in the same master before"
                layouts[n] = _Layout(layout, title, bodies)
        return cls(prs, layouts, plan)

    def slide(self, layout: str, title: str) -> tuple[Slide, list[Shape]]:
        """A new slide on a named layout, its title written to fit, and its body frames."""
        info = self.layouts[layout]
        slide, shapes, clone = self.add_slide(layout)
        heading = shapes[info.title]
        key = (layout, -1)
        if key not in self.sizes:
            self.sizes[key] = designed_size(info.layout, heading, FALLBACK_PT["title"])
        base = self.sizes[key]
        _fill_fixed(heading, [Para((Span(title),))], base, TITLE_MIN_PT, clone.boxes[info.title])
        return slide, [shapes[idx] for idx in info.bodies]

    def add_slide(self, layout: str) -> tuple[Slide, dict[int, Shape], _Clone]:
        """A slide on the layout with the placeholders python-pptx gives it, by idx, and
        the room inside each while it is untouched."""
        info = self.layouts[layout]
        clone = self.clones.get(layout)
        if clone is None:
            slide = self.prs.slides.add_slide(info.layout)
            elements = list(slide.shapes._spTree.iter_shape_elms())
            positions: dict[int, int] = {}
            for position, element in enumerate(elements):
                ph = element[0].find(_PH) if len(element) else None
                if ph is not None:
                    positions.setdefault(int(ph.get("idx", "0")), position)
            clone = _Clone([deepcopy(e) for e in elements], positions)
        else:
            rel_id, slide = self.prs.part.add_slide(info.layout)
            tree = slide.shapes._spTree
            elements = [deepcopy(e) for e in clone.shapes]
            for element in elements:
                tree.append(element)
            self.prs.slides._sldIdLst.add_sldId(rel_id)
        parent = slide.placeholders  # what `slide.placeholders[idx]` would give for each
        shapes: dict[int, Shape] = {
            idx: SlidePlaceholder(elements[clone.positions[idx]], parent)
            for idx in (info.title, *info.bodies)
        }
        if layout not in self.clones:
            clone.boxes.update((idx, box_of(shapes[idx])) for idx in (info.title, *info.bodies))
            self.clones[layout] = clone
        return slide, shapes, clone

    def box(self, layout: str, position: int = 0) -> Box:
        """The room inside a body placeholder of a new slide on the layout."""
        return self.clones[layout].boxes[self.layouts[layout].bodies[position]]

    def notes(self, slide: Slide, section: AssembledSection) -> None:
        """Speaker notes say which block (and which version of it) a slide shows, and why."""
        frame = self.notes_frame(slide)
        assert frame is not None, "python-pptx's notes slides always have a body placeholder"
        frame.text = xml_text(
            f"block: {section.block_id}\nversion: {section.block_version}\nwhy: {section.why}"
        )

    def notes_frame(self, slide: Slide) -> TextFrame | None:
        """A new notes slide for the slide, as python-pptx makes one, and its text frame.

        python-pptx makes the first one on a master (and the notes master with it, as it
        would); later ones are made the same way, with copies of the first one's shapes
        instead of fresh clones of the master's, named as python-pptx would name them.
        """
        package = self.prs.part.package
        if self.notes_names is None:
            prefix = _NOTES_NAME[: _NOTES_NAME.index("%")]
            self.notes_names = {
                p.partname for p in package.iter_parts() if p.partname.startswith(prefix)
            }
        if self.plan.notes is None:
            notes_slide = slide.notes_slide
            self.notes_names.add(notes_slide.part.partname)
            elements = list(notes_slide.shapes._spTree.iter_shape_elms())
            text = notes_slide.notes_placeholder
            position = elements.index(text.element) if text is not None else -1
            self.plan.notes = ([deepcopy(e) for e in elements], position)
            return notes_slide.notes_text_frame
        shapes, position = self.plan.notes
        partname = _next_partname(self.notes_names)
        self.notes_names.add(partname)
        part = NotesSlidePart(partname, CT.PML_NOTES_SLIDE, package, CT_NotesSlide.new())
        part.relate_to(self.prs.part.notes_master_part, RT.NOTES_MASTER)
        part.relate_to(slide.part, RT.SLIDE)
        tree = part.notes_slide.shapes._spTree
        elements = [deepcopy(e) for e in shapes]
        for element in elements:
            tree.append(element)
        slide.part.relate_to(part, RT.NOTES_SLIDE)
        if position < 0:
            return None
        body = NotesSlidePlaceholder(elements[position], part.notes_slide.placeholders)
        frame: TextFrame = body.text_frame
        return frame

    def body_size(self, layout: str, position: int = 0) -> float:
        key = (layout, position)
        if key not in self.sizes:
            area = self.area(layout, position)
            self.sizes[key] = designed_size(self.layouts[layout].layout, area, FALLBACK_PT["body"])
        return self.sizes[key]

    def area(self, layout: str, position: int = 0) -> Shape:
        """A body placeholder of the layout itself: where and how big text goes on its slides."""
        key = (layout, position)
        if key not in self.areas:
            info = self.layouts[layout]
            shape = info.layout.placeholders.get(idx=info.bodies[position])
            assert shape is not None, "found when the layout was checked"
            self.areas[key] = shape
        return self.areas[key]

    def title_slide(self, doc: AssembledDocument) -> None:
        _, bodies = self.slide("Title", doc.title)
        contact = doc.prospect.contact
        lines = [
            Para((Span(f"Prepared for {doc.prospect.company}", bold=True),)),
            _line(", ".join(v for v in (contact.name, contact.title) if v)),
            _line(f"{doc.as_of.day} {doc.as_of:%B %Y}"),
        ]
        paras = [p for p in lines if p.text]
        _fill_fixed(bodies[0], paras, self.body_size("Title"), MIN_PT, self.box("Title"))
        _tidy(bodies)

    def section_slide(self, title: str) -> None:
        _, bodies = self.slide("Section", title)
        _tidy(bodies)

    def closing_slide(self, doc: AssembledDocument) -> None:
        _, bodies = self.slide("Closing", "Thank you")
        rep = doc.rep
        # The address is plain text: a link would take the theme's link colour, which a
        # master designs for light slides, not for a dark closing slide.
        lines = [_line(rep.name or "", bold=True), _line(rep.title or ""), _line(rep.email or "")]
        paras = [p for p in lines if p.text]
        _fill_fixed(bodies[0], paras, self.body_size("Closing"), MIN_PT, self.box("Closing"))
        _tidy(bodies)

    def block(self, section: AssembledSection, assets: Path | None) -> None:
        """The block's slides, each carrying the block's id, version and reason in its notes."""
        titles = _titles(section.title)
        pieces: list[Piece] = plan(section.nodes, assets) or [TextPiece(())]
        for piece in pieces:
            for slide in self.piece(piece, titles):
                self.notes(slide, section)

    def piece(self, piece: Piece, titles: Iterator[str]) -> list[Slide]:
        if isinstance(piece, TextPiece):
            return self.text(piece.paras, titles, "Title and Bullets")
        if isinstance(piece, QuotePiece):
            return self.quote(piece, titles)
        if isinstance(piece, TablePiece):
            if pptx_shapes.column_count(piece.table):
                return self.table(piece, titles)
            return self.text([*piece.lead, *piece.tail], titles, "Title and Bullets")
        return self.picture(piece, titles)

    def text(self, paras: Sequence[Para], titles: Iterator[str], layout: str) -> list[Slide]:
        """Running text on one slide if it fits at a readable size, else on as many as needed."""
        slide, bodies = self.slide(layout, next(titles))
        base = self.body_size(layout)
        if fill(bodies[0], paras, base, MIN_PT, self.box(layout)):
            _tidy(bodies)
            return [slide]
        size = max(min(base, PACK_PT), MIN_PT)
        pages = paginate_balanced(paras, self.box(layout), size)
        slides = [slide]
        for number, page in enumerate(pages):
            if number:
                slide, bodies = self.slide(layout, next(titles))
                slides.append(slide)
            write(bodies[0].text_frame, page, size)  # one size across the block's slides
            _tidy(bodies)
        return slides

    def quote(self, piece: QuotePiece, titles: Iterator[str]) -> list[Slide]:
        """A quote or figure set large; if it is too long for that, it reads as running text."""
        big_box = box_of(self.area("Quote"))
        if fit_size(piece.big, big_box, self.body_size("Quote"), QUOTE_MIN_PT) is None:
            return self.text([*piece.big, *piece.caption], titles, "Title and Bullets")
        slide, bodies = self.slide("Quote", next(titles))
        fill(bodies[0], piece.big, self.body_size("Quote"), QUOTE_MIN_PT, self.box("Quote"))
        rest = list(piece.caption)
        if (
            rest
            and len(bodies) > 1
            and fill(bodies[1], rest, self.body_size("Quote", 1), MIN_PT, self.box("Quote", 1))
        ):
            rest = []
        _tidy(bodies)
        return [slide, *(self.text(rest, titles, "Title and Bullets") if rest else [])]

    def table(self, piece: TablePiece, titles: Iterator[str]) -> list[Slide]:
        """A real table under the title (and its lead line); rows that do not fit continue
        on further slides under a repeated header. Text after the table sits below its last
        rows when it fits there, else it continues on slides of its own."""
        layout = "Title and Bullets"
        area = self.area(layout)
        text_size = min(self.body_size(layout), LEAD_PT)
        lead_pt = _lead_height(piece.lead, area, text_size)
        width, height = to_pt(area.width or 0), to_pt(area.height or 0)
        plan, tail_size = self.table_plan(piece, width, height, lead_pt, text_size)
        slides = []
        for number, rows in enumerate(plan.pages):
            slide, bodies = self.slide(layout, next(titles))
            top = (area.top or 0) + (emu(lead_pt) if number == 0 else 0)
            at = (area.left or 0, top, area.width or 0)
            pptx_shapes.add_table(slide, at, piece.table, rows, plan)
            if number == 0 and piece.lead:
                _resize(bodies[0], area, emu(lead_pt))
                write(bodies[0].text_frame, piece.lead, text_size)
            if number == len(plan.pages) - 1 and tail_size is not None:
                below = top + emu(pptx_shapes.page_height_pt(piece.table, plan, number))
                bottom = (area.top or 0) + (area.height or 0)
                frame_at = (area.left or 0, below, area.width or 0, bottom - below)
                tail = add_text_box(slide, frame_at, area, self.list_style(layout))
                write(tail.text_frame, piece.tail, tail_size)
            _tidy(bodies)
            slides.append(slide)
        if piece.tail and tail_size is None:
            slides += self.text(piece.tail, titles, layout)
        return slides

    def table_plan(
        self, piece: TablePiece, width: float, height: float, lead_pt: float, text_size: float
    ) -> tuple[pptx_shapes.TablePlan, float | None]:
        """The table's plan, and the size its tail is set at below it (None: the tail needs
        slides of its own). The table shrinks, down to the smallest readable size, to make
        room for its tail on the same slide before the tail is sent to a slide of its own."""
        room = height - lead_pt  # the table's text is no larger than the text around it
        alone = pptx_shapes.plan_table(piece.table, width, room, text_size, MIN_PT, TABLE_PT)
        if not piece.tail:
            return alone, None
        box = box_of(self.area("Title and Bullets"))
        insets = height - box.height_pt
        last = len(alone.pages) - 1
        if last:  # the last page starts at the top of the body area
            used = pptx_shapes.page_height_pt(piece.table, alone, last)
            below = Box(box.width_pt, height - used - insets)
            return alone, fit_size(piece.tail, below, text_size, MIN_PT)
        size = alone.size
        while size >= MIN_PT:
            plan = replace(alone, size=size)
            used = pptx_shapes.page_height_pt(piece.table, plan, 0)
            below = Box(box.width_pt, room - used - insets)
            tail_size = fit_size(piece.tail, below, text_size, MIN_PT)
            if tail_size is not None:
                return plan, tail_size
            size -= 1
        return alone, None

    def list_style(self, layout: str) -> etree._Element:
        """The paragraph styles text in the layout's body placeholder inherits."""
        if layout not in self.styles:
            self.styles[layout] = body_list_style(self.layouts[layout].layout, self.area(layout))
        return self.styles[layout]

    def picture(self, piece: PicturePiece, titles: Iterator[str]) -> list[Slide]:
        """A picture beside its text in two columns, or alone when the text needs more room."""
        if not piece.text:
            slide, bodies = self.slide("Title and Bullets", next(titles))
            pptx_shapes.place_picture(slide, bodies[0], piece.picture, piece.alt)
            return [slide]
        left_box = box_of(self.area("Two Columns"))
        if fit_size(piece.text, left_box, self.body_size("Two Columns"), MIN_PT) is None:
            slides = self.text(piece.text, titles, "Title and Bullets")
            return slides + self.picture(PicturePiece(piece.picture, piece.alt), titles)
        slide, bodies = self.slide("Two Columns", next(titles))
        fill(bodies[0], piece.text, self.body_size("Two Columns"), MIN_PT, self.box("Two Columns"))
        pptx_shapes.place_picture(slide, bodies[1], piece.picture, piece.alt)
        _tidy(bodies)
        return [slide]


def _find_layout(prs: PresentationType, master: str, name: str) -> _Layout:
    layout = prs.slide_layouts.get_by_name(name)
    if layout is None:
        raise TemplateError(master, f"has no slide layout named {name!r}")
    title: int | None = None
    bodies: list[tuple[int, int, int]] = []
    for shape in placeholders(layout):
        kind = placeholder_kind(shape.element)
        idx = shape.placeholder_format.idx
        if kind == "title":
            title = idx
        elif kind == "body":
            bodies.append((shape.left or 0, shape.top or 0, idx))
    if title is None or len(bodies) < BODIES_NEEDED[name]:
        needs = f"a title and {BODIES_NEEDED[name]} text placeholder(s)"
        raise TemplateError(master, f"slide layout {name!r} needs {needs}")
    if name != "Two Columns":  # columns read left to right, everything else top to bottom
        bodies = [(top, left, idx) for left, top, idx in bodies]
    return _Layout(layout, title, tuple(idx for *_, idx in sorted(bodies)))


def _next_partname(names: set[str]) -> PackURI:
    """The notes slide part name python-pptx's `next_partname` would choose."""
    for number in range(len(names) + 1, 0, -1):
        candidate = _NOTES_NAME % number
        if candidate not in names:
            return PackURI(candidate)
    raise AssertionError("one of len(names) + 1 candidates is always free")


def _drop_slides(prs: PresentationType) -> None:
    """A customer's master may hold example slides; the deck starts from none."""
    id_list = prs.slides._sldIdLst
    for slide_id in list(id_list):
        prs.part.drop_rel(slide_id.rId)
        id_list.remove(slide_id)


def _fill_fixed(
    shape: Shape, paras: Sequence[Para], base: float, smallest: float, box: Box
) -> None:
    """Text that may not move to another slide (a title, the cover's lines): readable sizes
    first, then smaller still rather than run off the slide."""
    if paras and not fill(shape, paras, base, smallest, box):
        size = fit_size(paras, box, smallest, LAST_RESORT_PT) or LAST_RESORT_PT
        write(shape.text_frame, paras, size)


def _lead_height(paras: Sequence[Para], area: Shape, size: float) -> float:
    """Points the lead line takes above a table, its frame's insets included."""
    if not paras:
        return 0.0
    box = box_of(area)
    insets = to_pt(area.height or 0) - box.height_pt
    return height_pt(paras, box.width_pt, size) + insets + size * SPACE_BEFORE


def _resize(shape: Shape, area: Shape, height: int) -> None:
    """Give a placeholder its own box: the layout's position, a height of its own."""
    shape.left, shape.top, shape.width = area.left, area.top, area.width
    shape.height = Emu(height)


def _no_autofit(prs: PresentationType) -> None:
    """Turn off the master's and layouts' own autofit: text is already sized to fit, and
    LibreOffice shrinks text under an inherited autofit even where the slide says not to."""
    owners = [prs.slide_master, *prs.slide_layouts]
    for owner in owners:
        for fit in owner.element.xpath(".//a:bodyPr/a:normAutofit | .//a:bodyPr/a:spAutoFit"):
            fit.addprevious(etree.Element(qn("a:noAutofit")))
            fit.getparent().remove(fit)


def _titles(title: str) -> Iterator[str]:
    yield title
    while True:
        yield f"{title} (cont.)"


def _line(text: str, bold: bool = False) -> Para:
    return Para((Span(text, bold=bold),))


def _tidy(bodies: Sequence[Shape]) -> None:
    """Remove placeholders left empty, so no prompt text shows in an editor."""
    for shape in bodies:
        if shape.element.getparent() is not None and not frame_text(shape).strip():
            remove_shape(shape)
