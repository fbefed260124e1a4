"""Text read from Office files, written back as Markdown that says exactly what the file said.

Imported text comes from customers' and colleagues' files, so it is untrusted twice over: a
`*` or `#` in it must not turn into Markdown, and a `{{` must not turn into a placeholder
that the sandbox would later try to fill. Every line written is parsed again with the
library's own Markdown reader and compared with what was meant; when marks cannot be written
faithfully (CommonMark's emphasis rules have corners), the words are kept and the marks go.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from urllib.parse import quote, urlsplit

from engine import markdown


@dataclass(frozen=True)
class Run:
    """A stretch of text with one set of marks, as the Office file formatted it."""

    text: str
    bold: bool = False
    italic: bool = False
    href: str | None = None


Runs = tuple[Run, ...]


@dataclass(frozen=True)
class Text:
    """A paragraph of running text."""

    runs: Runs


@dataclass(frozen=True)
class Item:
    """A list item; `level` 0 is the outermost list."""

    runs: Runs
    level: int = 0
    ordered: bool = False


@dataclass(frozen=True)
class Grid:
    """A table: the first row is its header, as Markdown tables need one."""

    rows: tuple[tuple[Runs, ...], ...]


Element = Text | Item | Grid


@dataclass(frozen=True)
class Excerpt:
    """One slide or one heading section of a file: what becomes one draft block.

    `anchor` says where in the file it came from (`slide-3`, `section-2`), so marketing can
    find the original; `notes` are a slide's speaker notes.
    """

    anchor: str
    title: str
    elements: tuple[Element, ...]
    notes: str = ""


@dataclass(frozen=True)
class Skipped:
    """A slide or section that yields no draft, and why (said to the user, never silent)."""

    anchor: str
    reason: str


# Jinja starts a placeholder, statement or comment at `{{`, `{%` and `{#`; a space after the
# brace keeps the text readable and makes it inert.
_MARKER = re.compile(r"\{(?=[{%#])")
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
_INLINE = re.compile(r"([\\`*_\[\]<])")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_LINE_START = re.compile(r"^(?:[#>+=~-]|\d{1,9}(?=[.)]))")
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
_PUNCTUATION = frozenset(string.punctuation)


def neutral(text: str) -> str:
    """The text with every placeholder opening broken apart, so it can only ever be text."""
    return _MARKER.sub("{ ", text)


def plain(runs: Runs) -> str:
    """The runs' words on one line, spaces collapsed."""
    return " ".join("".join(r.text for r in runs).split())


def link_target(href: str | None) -> str | None:
    """The address if it opens a web page or a mail, else None (the words stay, unlinked)."""
    if not href:
        return None
    target = href.strip()
    parts = urlsplit(target)
    scheme = parts.scheme.lower()
    if scheme not in _LINK_SCHEMES or (scheme != "mailto" and not parts.netloc):
        return None
    return target


def tidy(runs: Sequence[Run]) -> Runs:
    """One space between words, marks only on words, neighbours with the same marks joined,
    and no placeholder opening anywhere (also none spread over two runs)."""
    merged: list[Run] = []
    for run in runs:
        text = _NOT_TEXT.sub(" ", run.text)
        if merged and (not text.strip() or _marks(merged[-1]) == _marks(run)):
            merged[-1] = replace(merged[-1], text=merged[-1].text + text)
        elif text:
            merged.append(replace(run, text=text, href=link_target(run.href)))
    return _collapse_spaces(merged)


def _collapse_spaces(runs: list[Run]) -> Runs:
    """Single spaces, none at either end; then every placeholder opening broken."""
    out: list[Run] = []
    previous_space = True  # drops leading spaces
    for run in runs:
        text = re.sub(r"\s+", " ", run.text)
        if previous_space:
            text = text.lstrip()
        if text:
            previous_space = text.endswith(" ")
            out.append(replace(run, text=text))
    if out and out[-1].text.endswith(" "):
        last = out.pop()
        if last.text.rstrip():
            out.append(replace(last, text=last.text.rstrip()))
    return _neutral_runs(out)


def _neutral_runs(runs: list[Run]) -> Runs:
    """Also across runs: split marks could join `{` and `{` again when they are dropped."""
    out = [replace(r, text=neutral(r.text)) for r in runs]
    for i in range(len(out) - 1):
        if out[i].text.endswith("{") and out[i + 1].text.startswith(("{", "%", "#")):
            out[i] = replace(out[i], text=out[i].text + " ")
    return tuple(out)


def _marks(run: Run) -> tuple[bool, bool, str | None]:
    return (run.bold, run.italic, link_target(run.href))


def to_markdown(elements: Sequence[Element]) -> str:
    """The elements as a Markdown body: blank lines between blocks, list items together."""
    chunks: list[str] = []
    items: list[Item] = []
    for element in elements:
        if isinstance(element, Item):
            items.append(element)
            continue
        if items:
            chunks.append("\n".join(_list_lines(items)))
            items = []
        line = _paragraph(element.runs) if isinstance(element, Text) else _table(element)
        if line:
            chunks.append(line)
    if items:
        chunks.append("\n".join(_list_lines(items)))
    return "\n\n".join(chunks)


def _list_lines(items: Sequence[Item]) -> Iterator[str]:
    """Nested items indented under their parent's text: CommonMark nests by that column, so
    it depends on the parent's marker width (`- ` or `1. `). Skipped levels are closed up."""
    columns = [0]
    for item in items:
        text = _paragraph(item.runs)
        if not text:
            continue
        level = min(item.level, len(columns) - 1)
        marker = "1. " if item.ordered else "- "
        columns = [*columns[: level + 1], columns[level] + len(marker)]
        yield " " * columns[level] + marker + text


def _table(grid: Grid) -> str:
    width = max((len(row) for row in grid.rows), default=0)
    rows = [[_cell(c) for c in row] + [""] * (width - len(row)) for row in grid.rows]
    if not width or not any(cell for row in rows for cell in row):
        return ""
    header, *body = rows
    lines = [header, ["---"] * width, *body]
    return "\n".join("| " + " | ".join(cell or " " for cell in line) + " |" for line in lines)


def _cell(runs: Runs) -> str:
    return _paragraph(runs, table=True)


def _paragraph(runs: Runs, table: bool = False) -> str:
    """The runs as one line of Markdown that reads back as the same words and marks."""
    runs = tidy(runs)  # again: inert and tidy whatever the caller passed
    if not runs:
        return ""
    unmarked = tuple(Run(r.text) for r in runs)
    attempts = (
        (runs, False),
        (tuple(Run(r.text, href=r.href) for r in runs), False),
        (unmarked, False),
        (unmarked, True),
    )
    for candidate, strict in attempts:
        line = _line(candidate, table, strict)
        if _reads_back(line, candidate):
            return line
    return _line(unmarked, table, strict=True)


def _line(runs: Runs, table: bool, strict: bool) -> str:
    parts = [_inline(run, table, strict) for run in runs]
    line = "".join(parts)
    match = _LINE_START.match(line)
    if match:  # a leading `#`, `-` or `1.` would make a heading or a list of the line
        at = match.end()
        line = line[:at] + "\\" + line[at:] if line[:1].isdigit() else "\\" + line
    return line


def _inline(run: Run, table: bool, strict: bool) -> str:
    core = run.text.strip()
    if not core:
        return run.text
    text = _escape(core, table, strict)
    if run.bold and run.italic:
        text = f"***{text}***"
    elif run.bold:
        text = f"**{text}**"
    elif run.italic:
        text = f"*{text}*"
    if run.href:
        text = f"[{text}]({_url(run.href)})"
    lead = run.text[: len(run.text) - len(run.text.lstrip())]
    trail = run.text[len(run.text.rstrip()) :]
    return lead + text + trail


def _escape(text: str, table: bool, strict: bool) -> str:
    if strict:  # CommonMark lets a backslash make any ASCII punctuation literal
        return "".join("\\" + c if c in _PUNCTUATION else c for c in text)
    text = _ENTITY.sub(r"\\&", _INLINE.sub(r"\\\1", text))
    return text.replace("|", "\\|") if table else text


def _url(href: str) -> str:
    """Characters that would end or break a Markdown link destination, percent-encoded."""
    return quote(href, safe="/:@!$&'*+,;=?#%~.-_")


def _reads_back(line: str, runs: Runs) -> bool:
    """Whether the library's Markdown reader finds these words with these marks in `line`."""
    nodes = markdown.parse(line)
    if len(nodes) != 1 or not isinstance(nodes[0], markdown.Paragraph):
        return False
    meant = [(c, r.bold, r.italic, r.href is not None) for r in runs for c in r.text]
    read = [(c, s.bold, s.italic, s.href is not None) for s in nodes[0].spans for c in s.text]
    return [m for m in meant if not m[0].isspace()] == [r for r in read if not r[0].isspace()]
