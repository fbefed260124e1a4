"""Which kind of slide each part of a block needs, decided from the block's shape alone.

A block becomes an ordered list of pieces: running text (paragraphs, headings, lists), a quote
or headline figure with its attribution, a table, or a picture beside the text it belongs
to. How many slides a piece takes depends on the master's geometry; that is the deck
renderer's business, not this module's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

from engine.assemble.fit import Kind, Para
from engine.assemble.safety import Picture, resolve_picture
from engine.markdown import Heading, Image, ListBlock, Node, Paragraph, Quote, Table, spans_text

# A headline figure: a short paragraph that opens with a number ("42% fewer incidents",
# "$1.2M saved", "3x faster"). It deserves a slide of its own, set large like a quote.
_FIGURE = re.compile(r"^\W{0,2}[$€£]?\d[\d.,]*\s?(%|x|\u00d7|k|m|bn|pts?)?(\s|$)", re.IGNORECASE)
_FIGURE_MAX_WORDS = 12
_CAPTION_MAX_WORDS = 40
_LEAD_MAX_WORDS = 40


@dataclass(frozen=True)
class TextPiece:
    paras: tuple[Para, ...]


@dataclass(frozen=True)
class QuotePiece:
    """A quote or headline figure, set large, with the short line that attributes it."""

    big: tuple[Para, ...]
    caption: tuple[Para, ...] = ()


@dataclass(frozen=True)
class TablePiece:
    """A table, the short line that introduces it when there is one, and the text that
    follows it (set below the table when there is room, else on slides of its own)."""

    table: Table
    lead: tuple[Para, ...] = ()
    tail: tuple[Para, ...] = ()


@dataclass(frozen=True)
class PicturePiece:
    """A picture, and the text it illustrates when there is any (set in two columns)."""

    picture: Picture
    alt: str
    text: tuple[Para, ...] = ()


Piece = TextPiece | QuotePiece | TablePiece | PicturePiece


def plan(nodes: Sequence[Node], assets: Path | None) -> list[Piece]:
    """The block's pieces in reading order; pictures that may not be embedded are dropped."""
    return _follow(_combine(list(_pieces(list(nodes), assets))))


def _pieces(nodes: list[Node], assets: Path | None) -> Iterator[Piece]:
    text: list[Para] = []
    i = 0
    while i < len(nodes):
        node = nodes[i]
        special, used = _special(nodes, i, assets)
        if special is None:
            text.extend(paras(node))
            i += 1
            continue
        if text:
            yield TextPiece(tuple(text))
            text = []
        if not isinstance(special, _Skip):
            yield special
        i += used
    if text:
        yield TextPiece(tuple(text))


class _Skip:
    """A node that takes no room at all: a picture that may not be embedded."""


def _special(nodes: list[Node], i: int, assets: Path | None) -> tuple[Piece | _Skip | None, int]:
    """The piece a node starts, if it is not running text, and how many nodes it consumes."""
    node = nodes[i]
    if isinstance(node, Table):
        return TablePiece(node), 1
    if isinstance(node, Image):
        picture = resolve_picture(assets, node.src)
        return (PicturePiece(picture, node.alt) if picture else _Skip()), 1
    if isinstance(node, Quote) or (isinstance(node, Paragraph) and i == 0 and is_figure(node)):
        big = Para(node.spans, "quote" if isinstance(node, Quote) else "plain")
        caption = nodes[i + 1] if i + 1 < len(nodes) else None
        if (
            isinstance(caption, Paragraph)
            and _words(spans_text(caption.spans)) <= _CAPTION_MAX_WORDS
        ):
            return QuotePiece((big,), (Para(caption.spans),)), 2
        return QuotePiece((big,)), 1
    return None, 1


def is_figure(node: Node) -> bool:
    """A short paragraph that opens with a number: a headline figure."""
    if not isinstance(node, Paragraph):
        return False
    text = spans_text(node.spans).strip()
    return _words(text) <= _FIGURE_MAX_WORDS and bool(_FIGURE.match(text))


def paras(node: Node) -> list[Para]:
    """Running-text paragraphs for a node; tables and pictures are pieces of their own."""
    if isinstance(node, ListBlock):
        kind: Kind = "number" if node.ordered else "bullet"
        return [Para(item.spans, kind, item.level) for item in node.items]
    if isinstance(node, Heading):
        return [Para(node.spans, "heading")]
    if isinstance(node, Quote):
        return [Para(node.spans, "quote")]
    if isinstance(node, Paragraph):
        return [Para(node.spans)]
    return []


def _combine(pieces: list[Piece]) -> list[Piece]:
    """Keep text with what it belongs to: a short line before a table introduces it, and a
    picture takes the running text just before it (else just after) as its column."""
    merged: list[Piece] = []
    for piece in pieces:
        previous = merged[-1] if merged else None
        if isinstance(piece, TablePiece) and _is_lead(previous):
            merged[-1] = TablePiece(piece.table, previous.paras)
            continue
        if isinstance(piece, PicturePiece) and isinstance(previous, TextPiece):
            merged[-1] = PicturePiece(piece.picture, piece.alt, previous.paras)
        elif (
            isinstance(piece, TextPiece)
            and isinstance(previous, PicturePiece)
            and not previous.text
        ):
            merged[-1] = PicturePiece(previous.picture, previous.alt, piece.paras)
        else:
            merged.append(piece)
    return merged


def _follow(pieces: list[Piece]) -> list[Piece]:
    """Running text right after a table goes with it, to sit below it if there is room
    (text a picture takes as its column, or a later table as its lead, is already taken)."""
    merged: list[Piece] = []
    for piece in pieces:
        previous = merged[-1] if merged else None
        if isinstance(piece, TextPiece) and isinstance(previous, TablePiece) and not previous.tail:
            merged[-1] = TablePiece(previous.table, previous.lead, piece.paras)
        else:
            merged.append(piece)
    return merged


def _is_lead(piece: Piece | None) -> TypeGuard[TextPiece]:
    """Text short enough to introduce the table that follows it, on the same slide."""
    if not isinstance(piece, TextPiece):
        return False
    return _words(" ".join(p.text for p in piece.paras)) <= _LEAD_MAX_WORDS


def _words(text: str) -> int:
    return len(text.split())
