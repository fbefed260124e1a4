"""Block bodies parsed once into a small structured form that every renderer shares.

Markdown is parsed with markdown-it-py (CommonMark plus tables) and reduced to the few
shapes a deck, a proposal and a web page can all show: paragraphs, headings, quotes, lists
and tables, whose text is a sequence of spans carrying bold, italic and link marks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token


@dataclass(frozen=True)
class Span:
    """A run of text with one set of marks; placeholders stay literal until personalisation."""

    text: str
    bold: bool = False
    italic: bool = False
    href: str | None = None


Spans = tuple[Span, ...]


@dataclass(frozen=True)
class Paragraph:
    spans: Spans


@dataclass(frozen=True)
class Heading:
    level: int
    spans: Spans


@dataclass(frozen=True)
class Quote:
    spans: Spans


@dataclass(frozen=True)
class ListItem:
    spans: Spans
    level: int = 0


@dataclass(frozen=True)
class ListBlock:
    ordered: bool
    items: tuple[ListItem, ...]


@dataclass(frozen=True)
class Image:
    """A picture on its own line: `src` is relative to the library's `assets/` folder."""

    src: str
    alt: str


@dataclass(frozen=True)
class Table:
    header: tuple[Spans, ...]
    rows: tuple[tuple[Spans, ...], ...]


Node = Paragraph | Heading | Quote | ListBlock | Table | Image


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def parse(body: str) -> tuple[Node, ...]:
    """Parse a Markdown body into nodes; raw HTML is kept as literal text, never as markup."""
    return tuple(_Reader(_parser().parse(body)).nodes())


def spans_text(spans: Spans) -> str:
    return "".join(s.text for s in spans)


def plain_text(nodes: tuple[Node, ...]) -> str:
    """The body's words without marks, one line per paragraph, item or table row."""
    return "\n".join(lines(nodes))


def lines(nodes: tuple[Node, ...]) -> Iterator[str]:
    """Each paragraph, heading, quote, list item and table row as one line of plain text."""
    for node in nodes:
        if isinstance(node, ListBlock):
            yield from (spans_text(item.spans) for item in node.items)
        elif isinstance(node, Table):
            for row in (node.header, *node.rows):
                yield " | ".join(spans_text(cell) for cell in row)
        elif isinstance(node, Image):
            if node.alt:
                yield node.alt
        else:
            yield spans_text(node.spans)


class _Reader:
    """Walks markdown-it's flat token stream, keeping a cursor, to build nested nodes."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def nodes(self) -> Iterator[Node]:
        while self.pos < len(self.tokens):
            token = self.tokens[self.pos]
            self.pos += 1
            node = self._node(token)
            if node is not None:
                yield node

    def _node(self, token: Token) -> Node | None:
        kind = token.type
        if kind == "paragraph_open":
            return self._image() or Paragraph(self._inline_until("paragraph_close"))
        if kind == "heading_open":
            return Heading(int(token.tag[1]), self._inline_until("heading_close"))
        if kind == "blockquote_open":
            return Quote(self._inline_until("blockquote_close"))
        if kind in ("bullet_list_open", "ordered_list_open"):
            return ListBlock(kind == "ordered_list_open", tuple(self._items(0)))
        if kind == "table_open":
            return self._table()
        if kind in ("fence", "code_block", "html_block"):
            return Paragraph((Span(token.content.strip()),))
        return None

    def _image(self) -> Image | None:
        """A paragraph that holds nothing but one image becomes an Image node."""
        inline = self.tokens[self.pos]
        children = inline.children or []
        if inline.type != "inline" or len(children) != 1 or children[0].type != "image":
            return None
        self.pos += 2  # the inline token and paragraph_close
        image = children[0]
        return Image(str(image.attrs.get("src", "")), image.content)

    def _inline_until(self, closing: str) -> Spans:
        spans: list[Span] = []
        while self.pos < len(self.tokens) and self.tokens[self.pos].type != closing:
            token = self.tokens[self.pos]
            if token.type == "inline":
                if spans:
                    spans.append(Span(" "))
                spans.extend(_inline_spans(token))
            self.pos += 1
        self.pos += 1
        return _merge(spans)

    def _items(self, level: int) -> Iterator[ListItem]:
        while self.pos < len(self.tokens):
            token = self.tokens[self.pos]
            self.pos += 1
            if token.type in ("bullet_list_close", "ordered_list_close"):
                return
            if token.type == "list_item_open":
                yield from self._item(level)

    def _item(self, level: int) -> Iterator[ListItem]:
        spans: list[Span] = []
        nested: list[ListItem] = []
        while self.pos < len(self.tokens):
            token = self.tokens[self.pos]
            self.pos += 1
            if token.type == "list_item_close":
                break
            if token.type == "inline":
                if spans:
                    spans.append(Span(" "))
                spans.extend(_inline_spans(token))
            elif token.type in ("bullet_list_open", "ordered_list_open"):
                nested.extend(self._items(level + 1))
        yield ListItem(_merge(spans), level)
        yield from nested

    def _table(self) -> Table:
        rows: list[tuple[Spans, ...]] = []
        cells: list[Spans] = []
        while self.pos < len(self.tokens):
            token = self.tokens[self.pos]
            self.pos += 1
            if token.type == "table_close":
                break
            if token.type == "inline":
                cells.append(_merge(list(_inline_spans(token))))
            elif token.type == "tr_close":
                rows.append(tuple(cells))
                cells = []
        header, *body = rows or [()]
        return Table(header, tuple(body))


def _inline_spans(token: Token) -> Iterator[Span]:
    bold = italic = False
    href: str | None = None
    for child in token.children or []:
        kind = child.type
        if kind == "strong_open" or kind == "strong_close":
            bold = kind == "strong_open"
        elif kind == "em_open" or kind == "em_close":
            italic = kind == "em_open"
        elif kind == "link_open":
            href = str(child.attrs.get("href", ""))
        elif kind == "link_close":
            href = None
        elif kind in ("text", "code_inline", "html_inline"):
            yield Span(child.content, bold, italic, href)
        elif kind in ("softbreak", "hardbreak"):
            yield Span(" ", bold, italic, href)
        elif kind == "image":
            yield Span(child.content, bold, italic, href)


def _merge(spans: list[Span]) -> Spans:
    """Join neighbouring spans with the same marks so renderers see as few runs as possible."""
    merged: list[Span] = []
    for span in spans:
        if merged and _same_marks(merged[-1], span):
            merged[-1] = replace(merged[-1], text=merged[-1].text + span.text)
        elif span.text:
            merged.append(span)
    return tuple(merged)


def _same_marks(a: Span, b: Span) -> bool:
    return (a.bold, a.italic, a.href) == (b.bold, b.italic, b.href)
