"""Draft blocks made from a deck or a document: one per slide, or per heading section.

Importing is how existing material enters a library, but nothing imported is trusted: every
draft has status `draft` (never selected until marketing approves it), its text is made inert
(no Markdown or placeholders it did not mean), and it records where it came from.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import yaml
from lxml import etree

from engine.errors import InputError, Problem
from engine.importer.archive import checked_package
from engine.importer.markup import Excerpt, Skipped, neutral, to_markdown
from engine.library import Library, Slot

MAX_ID_CHARS = 60
_SUFFIX_ROOM = 4  # "-99": ids made unique by a suffix stay within about MAX_ID_CHARS
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# One import makes at most this many drafts. A real deck or proposal has tens of slides or
# sections, a very long one a few hundred; every draft is a file marketing must review. A
# file with more is generated or hostile (20,000 headings took minutes and wrote 20,000
# files), so it is refused as soon as the reader passes the limit, before anything is written
# and without converting the rest (the package itself is parsed whole, up front).
MAX_DRAFTS = 1_000

# A reader gets the file's path (for names and messages) and the checked, open file.
Reader = Callable[[Path, BinaryIO], Iterable[Excerpt | Skipped]]


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


@dataclass(frozen=True)
class Imported:
    """The drafts a file yields, and the slides it skipped because they hold nothing to reuse."""

    drafts: list[Draft]
    skipped: list[Skipped]

    def skipped_note(self) -> str:
        """'skipped slide 3 (no text); slides 5-6 (...)', or '' when nothing was skipped."""
        return describe_skipped(self.skipped)


def import_file(path: Path, library: Library, slot: str | None = None) -> list[Draft]:
    """The drafts a .pptx or .docx file yields for this library; reads, never writes.

    Raises InputError naming the file (unknown type, unreadable, unsafe, too many drafts,
    no text) or `--slot`.
    """
    return plan_import(path, library, slot).drafts


def plan_import(path: Path, library: Library, slot: str | None = None) -> Imported:
    """`import_file`, also saying which slides were skipped and why."""
    problems: list[Problem] = []
    chosen = _chosen_slot(path, library, slot, problems)
    excerpts, skipped = _excerpts(path, problems)
    bodies: list[tuple[Excerpt, str]] = []
    for excerpt in excerpts:
        body = to_markdown(excerpt.elements)
        if body:  # a block needs a body to load
            bodies.append((excerpt, body))
        else:
            skipped.append(Skipped(excerpt.anchor, "no text"))
    if not problems and not bodies:
        why = describe_skipped(skipped)
        problems.append(Problem(str(path), "file", "has no text to import" + (why and f": {why}")))
    if problems:
        raise InputError(problems)
    names = _Names(library, path.stem)
    drafts = [_draft(e, body, path.name, names, library.slots, chosen) for e, body in bodies]
    return Imported(drafts, sorted(skipped, key=_place))


def describe_skipped(skipped: Iterable[Skipped]) -> str:
    """Skipped slides grouped by reason, numbers as ranges: 'skipped slides 1-2, 5 (no text)'."""
    by_reason: dict[str, list[tuple[str, int]]] = {}
    for item in sorted(skipped, key=_place):
        kind, number = _place(item)
        by_reason.setdefault(item.reason, []).append((kind, number))
    groups = []
    for reason, places in by_reason.items():
        kind = places[0][0]
        numbers = [n for _, n in places]
        noun = f"{kind}s" if len(numbers) > 1 else kind
        groups.append(f"{noun} {_ranges(numbers)} ({reason})")
    return f"skipped {'; '.join(groups)}" if groups else ""


def _place(item: Skipped) -> tuple[str, int]:
    kind, _, number = item.anchor.rpartition("-")
    return kind, int(number) if number.isdigit() else 0


def _ranges(numbers: list[int]) -> str:
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


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


def _excerpts(path: Path, problems: list[Problem]) -> tuple[list[Excerpt], list[Skipped]]:
    office = _format(path.suffix.lower())
    if office is None:
        problems.append(Problem(str(path), "file", "must be a .pptx deck or a .docx document"))
        return [], []
    excerpts: list[Excerpt] = []
    skipped: list[Skipped] = []
    try:
        with checked_package(path, office.kind) as file:
            # Lazily: parts past the limit are never converted.
            for part in office.read(path, file):
                if isinstance(part, Skipped):
                    skipped.append(part)
                    continue
                excerpts.append(part)
                if len(excerpts) > MAX_DRAFTS:
                    problems.append(Problem(str(path), "file", _too_many(office.parts)))
                    return [], []
        return excerpts, skipped
    except InputError as exc:
        problems.extend(exc.problems)
    except (*_UNREADABLE, *office.errors) as exc:
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        problems.append(Problem(str(path), "file", f"is not a readable {office.kind} ({detail})"))
    return [], []


def _too_many(parts: str) -> str:
    return (
        f"has more than {MAX_DRAFTS:,} {parts} with text; one import adds at most "
        f"{MAX_DRAFTS:,} draft blocks (split the file)"
    )


@dataclass(frozen=True)
class _Format:
    kind: str  # what the file should be, as messages name it
    parts: str  # what each draft is made from, as messages name them
    read: Reader
    errors: tuple[type[Exception], ...]  # what its Office library raises on a bad package


def _format(suffix: str) -> _Format | None:
    """Imported on first use: each Office library loads only for its own files."""
    if suffix == ".pptx":
        from pptx.exc import PythonPptxError

        from engine.importer.pptx_source import read_deck

        return _Format("PowerPoint file", "slides", read_deck, (PythonPptxError,))
    if suffix == ".docx":
        from docx.exceptions import PythonDocxError
        from docx.opc.exceptions import OpcError

        from engine.importer.docx_source import read_document

        return _Format(
            "Word document", "heading sections", read_document, (OpcError, PythonDocxError)
        )
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
