"""Assembled documents built directly, with the shapes of content renderers must handle:
hostile text, nested lists, a long block, a table, a quote, a headline figure, pictures."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from PIL import Image as PILImage

from engine.assemble.document import AssembledDocument, AssembledSection, Rep
from engine.markdown import (
    Image,
    ListBlock,
    ListItem,
    Node,
    Paragraph,
    Quote,
    Span,
    Table,
    parse,
    spans_text,
)
from engine.prospect import Contact, Prospect

HOSTILE = "<script>alert('x')</script> and {{ x }} & {% raw %}"
SENTENCE = (
    "Northwind's operations team spends {n} hours each week reconciling dispatch records "
    "across depots, and every manual step adds risk, delay and cost to the close."
)


def long_body(words: int = 600) -> tuple[Node, ...]:
    """About `words` words: several paragraphs and one paragraph too long for any slide."""
    sentences = [SENTENCE.format(n=i) for i in range(words // 26 + 1)]
    paragraphs: list[Node] = [
        Paragraph((Span(" ".join(sentences[i : i + 2])),)) for i in range(0, 12, 2)
    ]
    huge = " ".join(sentences[12:])
    paragraphs.append(Paragraph((Span("Why it matters: ", bold=True), Span(huge))))
    return tuple(paragraphs)


def nested_bullets() -> tuple[Node, ...]:
    return (
        Paragraph((Span("Three changes on day one:"),)),
        ListBlock(
            False,
            (
                ListItem((Span("Fewer manual steps"),), 0),
                ListItem((Span("Dispatch records reconcile "), Span("themselves", italic=True)), 1),
                ListItem((Span("Depots see the same numbers"),), 2),
                ListItem((Span("Faster close", bold=True),), 0),
                ListItem((Span("Audit trail by default"),), 0),
            ),
        ),
        ListBlock(
            True,
            (
                ListItem((Span("Connect the depots"),), 0),
                ListItem((Span("Switch on alerts"),), 0),
                ListItem((Span("Review in week two"),), 1),
            ),
        ),
    )


def table_body() -> tuple[Node, ...]:
    header = ((Span("Metric"),), (Span("Before"),), (Span("After"),))
    rows = tuple(
        ((Span(f"Metric {i}"),), (Span(f"{10 * i} h"),), (Span(f"{2 * i} h", bold=True),))
        for i in range(1, 6)
    )
    return (Paragraph((Span("Measured over one quarter:"),)), Table(header, rows))


def quote_body() -> tuple[Node, ...]:
    return (
        Quote((Span("We closed the month in two days instead of nine."),)),
        Paragraph((Span("Dana Lee, CFO, Contoso Freight"),)),
    )


def figure_body() -> tuple[Node, ...]:
    return parse("**42%** fewer reconciliation errors\n\nAcross 14 depots in the first quarter.")


def picture_body() -> tuple[Node, ...]:
    return (
        Paragraph((Span("The dashboard every depot sees."),)),
        Image("chart.png", "Weekly hours chart"),
        Image("../secret.png", "secret"),
        Image("/etc/passwd", "absolute"),
        Image("https://example.com/x.png", "remote"),
    )


def hostile_body() -> tuple[Node, ...]:
    return (
        Paragraph(
            (
                Span(HOSTILE),
                Span(" bold words", bold=True),
                Span(" italic words", italic=True),
                Span(" our site", href="https://example.com/northwind"),
                Span(" bad link", href="javascript:alert(1)"),
            )
        ),
    )


def section(slot: str, block_id: str, title: str, nodes: tuple[Node, ...]) -> AssembledSection:
    slot_titles = {"opening": "Why now", "value": "What changes for you", "proof": "Proof"}
    return AssembledSection(
        slot=slot,
        slot_title=slot_titles[slot],
        block_id=block_id,
        block_version=f"v-{block_id}-0123abcd",
        title=title,
        nodes=nodes,
        why=f"matches industry logistics; answers: {block_id}",
        score=0.8,
    )


def write_assets(root: Path) -> Path:
    """An assets folder with one real picture, and a secret picture just outside it."""
    assets = root / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    PILImage.new("RGB", (400, 200), (14, 124, 123)).save(assets / "chart.png")
    PILImage.new("RGB", (50, 50), (255, 0, 0)).save(root / "secret.png")
    return assets


def document(root: Path) -> AssembledDocument:
    """A full document: three slots, seven blocks, every shape of content."""
    sections = (
        section("opening", "open-hostile", f"Why now {HOSTILE}", hostile_body()),
        section("value", "val-bullets", "What changes on day one", nested_bullets()),
        section("value", "val-long", "The long story", long_body()),
        section("proof", "proof-table", "Hours saved per depot", table_body()),
        section("proof", "proof-quote", "In their words", quote_body()),
        section("proof", "proof-figure", "Fewer errors", figure_body()),
        section("proof", "proof-picture", "What depots see", picture_body()),
    )
    return AssembledDocument(
        prospect=Prospect(
            id="p-northwind",
            company="Northwind <Freight> {{ x }}",
            contact=Contact("Dana Lee", "CFO", "dana@northwind.example"),
        ),
        library_name="Test pitch",
        title="A plan for Northwind <Freight>",
        as_of=dt.date(2026, 11, 24),
        rep=Rep("Riley Chen", "riley@pitchmap.example", "Account Executive"),
        sections=sections,
        assets=write_assets(root),
    )


def expected_texts(section: AssembledSection) -> list[str]:
    """What a reader must find of a section, in order: its paragraphs, items and cells."""
    texts: list[str] = []
    for node in section.nodes:
        if isinstance(node, ListBlock):
            texts.extend(spans_text(i.spans) for i in node.items)
        elif isinstance(node, Table):
            for row in (node.header, *node.rows):
                texts.extend(spans_text(c) for c in row)
        elif not isinstance(node, Image):
            texts.append(spans_text(node.spans))
    return texts


def with_sections(doc: AssembledDocument, *sections: AssembledSection) -> AssembledDocument:
    return replace(doc, sections=sections)
