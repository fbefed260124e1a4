"""Tables and pictures on slides, placed where the layout's body placeholder stood.

A body placeholder cannot hold a table or a picture itself (only the layout's dedicated
table and picture placeholders can), so the shape is added over the placeholder's area and
the placeholder removed: the layout still decides where content goes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pptx.shapes.autoshape import Shape
from pptx.slide import Slide
from pptx.util import Emu

from engine.assemble.fit import (
    CELL_MARGIN_X_PT,
    column_widths_pt,
    line_count,
    paginate_rows,
    row_height_pt,
    table_height_pt,
)
from engine.assemble.pptx_text import add_run, emu, remove_shape, to_pt
from engine.assemble.safety import Picture, xml_text
from engine.markdown import Spans, Table, spans_text

EMU_PER_PX = 9525  # at 96 dpi
MAX_UPSCALE = 2.0  # a small picture may double, no more: beyond that it shows its pixels


@dataclass(frozen=True)
class TablePlan:
    """One font size and column widths for the whole table, and its body rows per slide."""

    size: float
    widths_pt: tuple[float, ...]
    pages: tuple[tuple[int, ...], ...]


def column_count(table: Table) -> int:
    """Markdown lets rows differ in length; the table is as wide as its widest row."""
    return max([len(table.header), *(len(r) for r in table.rows)])


def cell_texts(table: Table) -> tuple[list[str], list[list[str]]]:
    """Header and rows as plain text, short rows padded so every row has every column."""
    columns = column_count(table)
    header = [spans_text(c) for c in table.header] + [""] * (columns - len(table.header))
    rows = [[spans_text(c) for c in r] + [""] * (columns - len(r)) for r in table.rows]
    return header, rows


def plan_table(
    table: Table,
    width: float,
    height: float,
    largest: float,
    smallest: float,
    comfortable: float | None = None,
) -> TablePlan:
    """The largest size at which the whole table fits width x height points, else pages of
    rows at `smallest`. Sizes above `comfortable` are taken only where no cell wraps onto
    more lines than it does at `comfortable`: a table with room grows, a cramped one does not."""
    header, rows = cell_texts(table)
    lines = [header, *rows]
    widths = tuple(column_widths_pt(lines, width))
    size = float(math.floor(largest))
    wraps = None
    if comfortable is not None and size > comfortable:
        wraps = _wraps(lines, widths, comfortable)
    while size >= smallest:
        grows = wraps is not None and comfortable is not None and size > comfortable
        if (not grows or _wraps(lines, widths, size) == wraps) and table_height_pt(
            lines, widths, size
        ) <= height:
            return TablePlan(size, widths, (tuple(range(len(rows))),))
        size -= 1
    pages = paginate_rows(header, rows, widths, height, smallest)
    return TablePlan(smallest, widths, tuple(tuple(p) for p in pages))


def page_height_pt(table: Table, plan: TablePlan, page: int) -> float:
    """Points one page of the planned table takes: its header and that page's rows."""
    header, rows = cell_texts(table)
    lines = [header, *(rows[i] for i in plan.pages[page])]
    return sum(to_pt(emu(row_height_pt(r, plan.widths_pt, plan.size))) for r in lines)


def _wraps(lines: Sequence[Sequence[str]], widths: Sequence[float], size: float) -> list[int]:
    """How many lines each row's tallest cell wraps onto at `size`."""
    inner = [w - 2 * CELL_MARGIN_X_PT for w in widths]
    return [
        max((line_count(t, w, size) for t, w in zip(row, inner, strict=True)), default=1)
        for row in lines
    ]


def add_table(
    slide: Slide, at: tuple[int, int, int], table: Table, rows: Sequence[int], plan: TablePlan
) -> None:
    """The header and the given body rows as a real table at (left, top, width) in EMU."""
    header, texts = cell_texts(table)
    cells: list[tuple[Spans, ...]] = [table.header, *(table.rows[i] for i in rows)]
    lines = [header, *(texts[i] for i in rows)]
    heights = [row_height_pt(r, plan.widths_pt, plan.size) for r in lines]
    left, top, width = at
    shape = slide.shapes.add_table(
        len(lines), len(plan.widths_pt), Emu(left), Emu(top), Emu(width), emu(sum(heights))
    )
    grid = shape.table
    for column, column_pt in enumerate(plan.widths_pt):
        grid.columns[column].width = emu(column_pt)
    for number, height in enumerate(heights):
        grid.rows[number].height = emu(height)
        for column in range(len(plan.widths_pt)):
            spans = cells[number][column] if column < len(cells[number]) else ()
            frame = grid.cell(number, column).text_frame
            frame.word_wrap = True
            for span in spans:
                add_run(
                    frame.paragraphs[0], span.text, plan.size, span.bold, span.italic, span.href
                )


def place_picture(slide: Slide, area: Shape, picture: Picture, alt: str) -> None:
    """The picture scaled to fit `area`, centred in it, keeping its proportions."""
    left, top = area.left or 0, area.top or 0
    width, height = area.width or 0, area.height or 0
    scale = min(width / picture.width_px, height / picture.height_px, MAX_UPSCALE * EMU_PER_PX)
    shown_w, shown_h = int(picture.width_px * scale), int(picture.height_px * scale)
    shape = slide.shapes.add_picture(
        str(picture.path),
        Emu(left + (width - shown_w) // 2),
        Emu(top + (height - shown_h) // 2),
        Emu(shown_w),
        Emu(shown_h),
    )
    for properties in shape._element.xpath("./p:nvPicPr/p:cNvPr"):
        properties.set("descr", xml_text(alt))
    remove_shape(area)
