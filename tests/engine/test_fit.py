"""The text estimator the deck relies on to never run text off a slide."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.assemble.fit import (
    LINE_HEIGHT,
    SPACE_BEFORE,
    Box,
    Para,
    column_widths_pt,
    fit_size,
    height_pt,
    line_starts,
    paginate,
    split_spans,
    text_width_pt,
)
from engine.markdown import Span

words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzWM0123456789.,'", min_size=1, max_size=30)
texts = st.lists(words, min_size=1, max_size=120).map(" ".join)


def lines_of(text: str, width: float, size: float) -> list[str]:
    starts = line_starts(text, width, size)
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


@settings(max_examples=200, deadline=None)
@given(texts, st.floats(min_value=60, max_value=900), st.sampled_from([14.0, 18.0, 24.0]))
def test_no_wrapped_line_is_wider_than_the_frame(text: str, width: float, size: float) -> None:
    for line in lines_of(text, width, size):
        assert text_width_pt(line.rstrip(), size) <= width or len(line.rstrip()) == 1


def test_explicit_newlines_always_break_and_long_words_are_cut() -> None:
    assert lines_of("one\ntwo", 1000, 20) == ["one\n", "two"]
    cut = lines_of("x" * 100, 100, 20)
    assert len(cut) > 1 and "".join(cut) == "x" * 100


@settings(max_examples=100, deadline=None)
@given(st.lists(texts, min_size=1, max_size=12), st.sampled_from([14.0, 18.0]))
def test_pagination_keeps_every_word_in_order_and_every_page_fits(
    paragraphs: list[str], size: float
) -> None:
    box = Box(500, 200)
    paras = [
        Para((Span(text),), "bullet" if n % 2 else "plain") for n, text in enumerate(paragraphs)
    ]
    pages = paginate(paras, box, size)
    flat = " ".join(p.text for page in pages for p in page)
    assert re.sub(r"\s+", " ", flat).strip() == re.sub(r"\s+", " ", " ".join(paragraphs)).strip()
    one_line = size * (SPACE_BEFORE + LINE_HEIGHT)
    for page in pages:
        assert height_pt(page, box.width_pt, size) <= box.height_pt or len(page) == 1
        assert page and height_pt(page[:1], box.width_pt, size) >= one_line


def test_the_rest_of_a_split_list_item_carries_no_second_bullet() -> None:
    item = Para((Span("word " * 400),), "bullet", 1)
    pages = paginate([item], Box(500, 200), 18)
    assert len(pages) > 1
    assert [p.continued for page in pages for p in page] == [False] + [True] * (len(pages) - 1)
    assert all(p.level == 1 and p.kind == "bullet" for page in pages for p in page)


def test_fit_size_is_the_largest_size_that_fits() -> None:
    paras = [Para((Span("word " * 60),))]
    box = Box(400, 150)
    size = fit_size(paras, box, 40, 8)
    assert size is not None
    assert height_pt(paras, box.width_pt, size) <= box.height_pt
    assert height_pt(paras, box.width_pt, size + 1) > box.height_pt
    assert fit_size(paras, Box(100, 20), 40, 14) is None


def test_split_spans_keeps_marks_on_both_sides() -> None:
    spans = (Span("bold part ", bold=True), Span("link", href="https://example.com"))
    head, tail = split_spans(spans, 5)
    assert head == (Span("bold ", bold=True),)
    assert tail == (Span("part ", bold=True), Span("link", href="https://example.com"))


def test_columns_share_the_width_by_content_and_none_vanishes() -> None:
    widths = column_widths_pt([["Metric", "A much longer description column"], ["x", "y"]], 600)
    assert sum(widths) == 600
    assert widths[1] > widths[0] >= 600 / 2 / 2


def test_line_starts_are_a_fresh_list_each_time() -> None:
    """Measurements are cached: a caller changing its list must not change the next one's."""
    first = line_starts("one two three four five six", 60, 14)
    first.append(999)
    assert line_starts("one two three four five six", 60, 14) == first[:-1]
