"""The content library: a message map of ordered slots and the blocks that may fill them.

Loading validates the folder against the contract and reports every problem at once, each
naming the file and the field, so marketing can fix a library in one pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from engine import markdown
from engine.errors import LibraryError, Problem
from engine.files import FileRefusedError, read_text
from engine.frontmatter import YamlError, load_yaml, split

SLUG = re.compile(r"^[a-z0-9_-]+$")
STATUSES = ("approved", "draft", "retired")
Status = Literal["approved", "draft", "retired"]
Tags = Mapping[str, tuple[str, ...]]
# Each passage is embedded and matched on its own: the fixtures' blocks have at most 30, while
# a 50,000-row table would take minutes to embed. A thousand is a long document, not a block.
MAX_PASSAGES = 1_000
_PLACEHOLDER = re.compile(r"\{\{-?\s*([a-zA-Z_][\w.]*)[^}]*\}\}|\{%.*?%\}")


@dataclass(frozen=True)
class Slot:
    """One position in the pitch; `count` blocks fill it, in message-map order."""

    id: str
    title: str
    count: int = 1


@dataclass(frozen=True)
class MessageMap:
    name: str
    slots: tuple[Slot, ...]

    def slot(self, slot_id: str) -> Slot:
        return next(s for s in self.slots if s.id == slot_id)


@dataclass(frozen=True)
class Block:
    """An approved (or draft, or retired) piece of content aimed at one slot.

    Tag facets and values are lower-cased on load: the contract compares them case-insensitively.
    """

    id: str
    slot: str
    title: str
    body: str
    status: Status = "draft"
    expires: dt.date | None = None
    tags: Tags = field(default_factory=dict)
    nodes: tuple[markdown.Node, ...] = ()
    source: str = ""

    @property
    def content_hash(self) -> str:
        """Identifies this version of the block: any change to the file gives a new hash."""
        return hashlib.sha256(self.source.encode()).hexdigest()

    @property
    def passages(self) -> tuple[str, ...]:
        """What the block says, one statement at a time: its title, then each paragraph, list
        item and table row. Matched one by one, a block that answers a need in one bullet is
        not drowned by the rest of its text. Placeholders become their variable's last word."""
        texts = (self.title, *markdown.lines(self.nodes))
        return tuple(_neutral(t) for t in texts if t.strip())

    @property
    def text_hash(self) -> str:
        """Changes exactly when what the block says changes (not its tags, status or expiry)."""
        return passage_hash("\n".join(self.passages))


def passage_hash(text: str) -> str:
    """Key of the embedding cache: a passage already embedded is never embedded again."""
    return hashlib.sha256(text.encode()).hexdigest()


def _neutral(text: str) -> str:
    return " ".join(_PLACEHOLDER.sub(lambda m: (m.group(1) or "").rsplit(".", 1)[-1], text).split())


@dataclass(frozen=True)
class Library:
    root: Path
    message_map: MessageMap
    blocks: tuple[Block, ...]

    @property
    def name(self) -> str:
        return self.message_map.name

    @property
    def slots(self) -> tuple[Slot, ...]:
        return self.message_map.slots

    def block(self, block_id: str) -> Block:
        return self._by_id[block_id]

    @cached_property
    def titles(self) -> Mapping[str, str]:
        """Each block's title by its id, for pages that list blocks by id."""
        return MappingProxyType({b.id: b.title for b in self.blocks})

    def facets(self) -> tuple[str, ...]:
        """Every facet some block uses, including ones the contract does not name."""
        return tuple(self._facet_values)

    def facet_values(self) -> dict[str, list[str]]:
        """Every facet with the values the blocks name: what a new-prospect form offers."""
        return {facet: list(values) for facet, values in self._facet_values.items()}

    # A library never changes once loaded, and pages ask these of ten thousand blocks on
    # every request (measured: 26 ms a call at 10k blocks): work them out once.
    @cached_property
    def _by_id(self) -> Mapping[str, Block]:
        return MappingProxyType({b.id: b for b in self.blocks})

    @cached_property
    def _facet_values(self) -> Mapping[str, tuple[str, ...]]:
        facets = sorted({facet for b in self.blocks for facet in b.tags})
        return MappingProxyType(
            {
                facet: tuple(sorted({v for b in self.blocks for v in b.tags.get(facet, ())}))
                for facet in facets
            }
        )


def load_library(root: str | Path) -> Library:
    """Read and validate a library folder; raise LibraryError listing every problem found."""
    root = Path(root)
    problems: list[Problem] = []
    if not root.is_dir():
        raise LibraryError([Problem(str(root), "library", "is not a folder")])
    message_map = _load_message_map(root / "message_map.yaml", problems)
    slot_ids = {s.id for s in message_map.slots} if message_map else set()
    blocks = _load_blocks(root / "blocks", slot_ids if message_map else None, problems)
    if problems or message_map is None:
        raise LibraryError(problems)
    return Library(root, message_map, tuple(sorted(blocks, key=lambda b: b.id)))


def _load_message_map(path: Path, problems: list[Problem]) -> MessageMap | None:
    data = _read_yaml(path, problems)
    if data is None:
        return None
    where = str(path)
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem(where, "name", "is required and must be text"))
    raw_slots = data.get("slots")
    if not isinstance(raw_slots, list) or not raw_slots:
        problems.append(Problem(where, "slots", "is required and must be a non-empty list"))
        return None
    slots: list[Slot] = []
    for i, raw in enumerate(raw_slots):
        slot = _slot(raw, f"slots[{i}]", where, problems)
        if slot is None:
            continue
        if any(s.id == slot.id for s in slots):
            problems.append(Problem(where, f"slots[{i}].id", f"duplicate slot id {slot.id!r}"))
            continue
        slots.append(slot)
    if not isinstance(name, str) or len(slots) != len(raw_slots):
        return None
    return MessageMap(name.strip(), tuple(slots))


def _slot(raw: object, at: str, where: str, problems: list[Problem]) -> Slot | None:
    if not isinstance(raw, dict):
        problems.append(Problem(where, at, "must be a mapping with id and title"))
        return None
    before = len(problems)
    slot_id, title, count = raw.get("id"), raw.get("title"), raw.get("count", 1)
    if not isinstance(slot_id, str) or not SLUG.match(slot_id):
        problems.append(Problem(where, f"{at}.id", "is required and must match [a-z0-9_-]+"))
    if not isinstance(title, str) or not title.strip():
        problems.append(Problem(where, f"{at}.title", "is required and must be text"))
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        problems.append(Problem(where, f"{at}.count", "must be a whole number of at least 1"))
    if len(problems) > before:
        return None
    assert isinstance(slot_id, str) and isinstance(title, str) and isinstance(count, int)
    return Slot(slot_id, title.strip(), count)


def _read_yaml(path: Path, problems: list[Problem]) -> dict[str, Any] | None:
    try:
        data = load_yaml(read_text(path))
    except FileNotFoundError:
        problems.append(Problem(str(path), "file", "is missing"))
        return None
    except FileRefusedError as exc:
        problems.append(Problem(str(path), "file", str(exc)))
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(str(path), "file", f"cannot be read: {exc}"))
        return None
    except YamlError as exc:
        problems.extend(exc.problems_in(str(path)))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(str(path), "file", "must be a YAML mapping"))
        return None
    return data


def _load_blocks(folder: Path, slot_ids: set[str] | None, problems: list[Problem]) -> list[Block]:
    if not folder.is_dir():
        problems.append(Problem(str(folder), "blocks", "folder is missing"))
        return []
    blocks: list[Block] = []
    seen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.md")):
        block = _load_block(path, slot_ids, problems)
        if block is None:
            continue
        if block.id in seen:
            problems.append(
                Problem(str(path), "id", f"duplicate id {block.id!r}, also in {seen[block.id]}")
            )
            continue
        seen[block.id] = path
        blocks.append(block)
    return blocks


def _load_block(path: Path, slot_ids: set[str] | None, problems: list[Problem]) -> Block | None:
    where = str(path)
    try:
        source = read_text(path)
    except FileRefusedError as exc:
        problems.append(Problem(where, "file", str(exc)))
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(where, "file", f"cannot be read: {exc}"))
        return None
    try:
        meta, body = split(source)
    except YamlError as exc:
        problems.extend(exc.problems_in(where))
        return None
    before = len(problems)
    fields = _BlockFields(meta, path, slot_ids, problems)
    block_id, slot, title = fields.id(), fields.slot(), fields.title()
    status, expires, tags = fields.status(), fields.expires(), fields.tags()
    if not body.strip():
        problems.append(Problem(where, "body", "is empty"))
    if len(problems) > before:
        return None
    block = Block(
        id=block_id,
        slot=slot,
        title=title,
        body=body.strip(),
        status=status,
        expires=expires,
        tags=tags,
        nodes=markdown.parse(body),
        source=source,
    )
    if len(block.passages) > MAX_PASSAGES:
        problems.append(
            Problem(
                where,
                "body",
                f"has {len(block.passages):,} passages (title, paragraphs, list items and table "
                f"rows); a block may have at most {MAX_PASSAGES:,}",
            )
        )
        return None
    return block


class _BlockFields:
    """Checks one front-matter field at a time, recording a problem for each bad one."""

    def __init__(
        self, meta: dict[str, Any], path: Path, slot_ids: set[str] | None, problems: list[Problem]
    ) -> None:
        self.meta, self.path, self.slot_ids, self.problems = meta, path, slot_ids, problems

    def _problem(self, name: str, message: str) -> None:
        self.problems.append(Problem(str(self.path), name, message))

    def _text(self, name: str) -> str:
        value = self.meta.get(name)
        if not isinstance(value, str) or not value.strip():
            self._problem(name, "is required and must be text")
            return ""
        return value.strip()

    def id(self) -> str:
        value = self._text("id")
        if value and not SLUG.match(value):
            self._problem("id", f"{value!r} must match [a-z0-9_-]+")
        elif value and value != self.path.stem:
            self._problem("id", f"{value!r} must equal the file name {self.path.stem!r}")
        return value

    def slot(self) -> str:
        value = self._text("slot")
        if value and self.slot_ids is not None and value not in self.slot_ids:
            known = ", ".join(sorted(self.slot_ids))
            self._problem("slot", f"unknown slot {value!r} (the message map has: {known})")
        return value

    def title(self) -> str:
        return self._text("title")

    def status(self) -> Status:
        value = self.meta.get("status", "draft")
        if value not in STATUSES:
            self._problem("status", f"{value!r} is not one of {', '.join(STATUSES)}")
            return "draft"
        return value  # type: ignore[no-any-return]

    def expires(self) -> dt.date | None:
        value = self.meta.get("expires")
        if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        self._problem("expires", f"{value!r} is not an ISO date (YYYY-MM-DD)")
        return None

    def tags(self) -> Tags:
        value = self.meta.get("tags")
        if value is None:
            return {}
        if not isinstance(value, dict):
            self._problem("tags", "must be a mapping of facet to a list of values")
            return {}
        tags: dict[str, tuple[str, ...]] = {}
        for facet, values in value.items():
            if not isinstance(values, list) or not all(
                isinstance(v, str | int | float) and not isinstance(v, bool) for v in values
            ):
                self._problem(f"tags.{facet}", "must be a list of values")
                continue
            tags[str(facet).strip().lower()] = tuple(str(v).strip().lower() for v in values)
        return tags
