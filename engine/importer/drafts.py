"""Draft blocks made from a deck or a document: one per slide, or per heading section.

Importing is how existing material enters a library, but nothing imported is trusted: every
draft has status `draft` (never selected until marketing approves it), its text is made inert
(no Markdown or placeholders it did not mean), and it records where it came from.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from lxml import etree

from engine.errors import InputError, Problem
from engine.importer.archive import check_package
from engine.importer.markup import Excerpt, neutral, to_markdown
from engine.library import Library, Slot

MAX_ID_CHARS = 60
_SUFFIX_ROOM = 4  # "-99": ids made unique by a suffix stay within about MAX_ID_CHARS
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Reader = Callable[[Path], list[Excerpt]]


@dataclass(frozen=True)
class Draft:
    """One block to be written, with the slot it was given and whether that was a guess."""

    id: str
    slot: str
    title: str
    body: str
    source: str
    notes: str = ""
    slot_guessed: bool = False

    @property
    def file_name(self) -> str:
        return f"{self.id}.md"

    def text(self) -> str:
        """The block file: front matter as the contract describes it, then the body."""
        meta: dict[str, Any] = {
            "id": self.id,
            "slot": self.slot,
            "title": self.title,
            "status": "draft",
            "tags": {},
            "source": self.source,
        }
        if self.notes:
            meta["notes"] = self.notes
        meta = {k: _fence_safe(v) if isinstance(v, str) else v for k, v in meta.items()}
        front = yaml.dump(meta, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
        return f"---\n{front}---\n{self.body}\n"


class _Dumper(yaml.SafeDumper):
    """Multi-line text (speaker notes) as a readable block, not one escaped line."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def import_file(path: Path, library: Library, slot: str | None = None) -> list[Draft]:
    """The drafts a .pptx or .docx file yields for this library; reads, never writes.

    Raises InputError naming the file (unknown type, unreadable, unsafe, no text) or `--slot`.
    """
    problems: list[Problem] = []
    chosen = _chosen_slot(path, library, slot, problems)
    bodies = [(e, to_markdown(e.elements)) for e in _excerpts(path, problems)]
    bodies = [(e, body) for e, body in bodies if body]  # a block needs a body to load
    if not problems and not bodies:
        problems.append(Problem(str(path), "file", "has no text to import"))
    if problems:
        raise InputError(problems)
    names = _Names(library, path.stem)
    return [_draft(e, body, path.name, names, library.slots, chosen) for e, body in bodies]


def _chosen_slot(
    path: Path, library: Library, slot: str | None, problems: list[Problem]
) -> Slot | None:
    if slot is None:
        return None
    for candidate in library.slots:
        if candidate.id == slot:
            return candidate
    known = ", ".join(s.id for s in library.slots)
    problems.append(
        Problem(str(path), "--slot", f"unknown slot {slot!r} (the message map has: {known})")
    )
    return None


def _excerpts(path: Path, problems: list[Problem]) -> list[Excerpt]:
    office = _format(path.suffix.lower())
    if office is None:
        problems.append(Problem(str(path), "file", "must be a .pptx deck or a .docx document"))
        return []
    try:
        check_package(path, office.kind)
        return office.read(path)
    except InputError as exc:
        problems.extend(exc.problems)
    except (*_UNREADABLE, *office.errors) as exc:
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        problems.append(Problem(str(path), "file", f"is not a readable {office.kind} ({detail})"))
    return []


@dataclass(frozen=True)
class _Format:
    kind: str  # what the file should be, as messages name it
    read: Reader
    errors: tuple[type[Exception], ...]  # what its Office library raises on a bad package


def _format(suffix: str) -> _Format | None:
    """Imported on first use: each Office library loads only for its own files."""
    if suffix == ".pptx":
        from pptx.exc import PythonPptxError

        from engine.importer.pptx_source import read_deck

        return _Format("PowerPoint file", read_deck, (PythonPptxError,))
    if suffix == ".docx":
        from docx.exceptions import PythonDocxError
        from docx.opc.exceptions import OpcError

        from engine.importer.docx_source import read_document

        return _Format("Word document", read_document, (OpcError, PythonDocxError))
    return None


# What the Office libraries raise on a damaged or mislabelled package besides their own
# errors: a part missing from the zip (KeyError), a wrong content type (ValueError), broken
# XML (lxml), a file gone after it was checked (OSError); well-formed XML of an unexpected
# shape surfaces as the others.
_UNREADABLE: tuple[type[Exception], ...] = (
    KeyError,
    ValueError,
    TypeError,
    AttributeError,
    IndexError,
    NotImplementedError,
    OSError,
    zipfile.BadZipFile,
    etree.LxmlError,
)


def _draft(
    excerpt: Excerpt,
    body: str,
    file_name: str,
    names: _Names,
    slots: tuple[Slot, ...],
    chosen: Slot | None,
) -> Draft:
    title = _clean(excerpt.title)
    slot = chosen or guess_slot(title, slots)
    return Draft(
        id=names.new(title, excerpt.anchor),
        slot=slot.id,
        title=title,
        body=body,
        source=neutral(f"{_clean(file_name)}#{excerpt.anchor}"),
        notes=_notes(excerpt.notes),
        slot_guessed=chosen is None,
    )


def guess_slot(title: str, slots: tuple[Slot, ...]) -> Slot:
    """The first slot whose id is a word (or words) of the title, else the first slot.

    Deliberately simple and predictable: the CLI says which slot each draft got, and
    marketing retags drafts before approving them anyway.
    """
    words = f"-{slug(title)}-"
    for slot in slots:
        if f"-{slug(slot.id)}-" in words:
            return slot
    return slots[0]


def slug(text: str) -> str:
    """Lower-case ASCII letters, digits and hyphens: the shape block ids and file names take."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")


class _Names:
    """Hands out ids no block, file or earlier draft of this import already uses."""

    def __init__(self, library: Library, stem: str) -> None:
        self.stem = stem
        self.taken = {b.id for b in library.blocks}
        folder = library.root / "blocks"
        if folder.is_dir():  # case-folded: on macOS and Windows `A.md` and `a.md` are one file
            self.taken |= {p.name.lower().removesuffix(".md") for p in folder.iterdir()}

    def new(self, title: str, anchor: str) -> str:
        base = _shorten(slug(f"{self.stem} {title}") or slug(f"{self.stem} {anchor}") or anchor)
        name, number = base, 1
        while name in self.taken:
            number += 1
            name = f"{base}-{number}"
        self.taken.add(name)
        return name


def _shorten(text: str) -> str:
    limit = MAX_ID_CHARS - _SUFFIX_ROOM
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return (cut.rsplit("-", 1)[0] if "-" in cut[limit // 2 :] else cut).strip("-")


def _clean(text: str) -> str:
    return neutral(" ".join(_CONTROL.sub(" ", text).split()))


def _notes(text: str) -> str:
    """Speaker notes, one line per line (PowerPoint's line breaks too), inert like the body."""
    lines = (_CONTROL.sub(" ", line).rstrip() for line in text.replace("\v", "\n").splitlines())
    return neutral("\n".join(lines).strip())


def _fence_safe(value: str) -> str:
    """A line of just `---` inside a multi-line value would end the front matter early."""
    lines = value.splitlines()
    return "\n".join("- - -" if line.strip() == "---" else line for line in lines)
