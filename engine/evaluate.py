"""Measuring selection against human labels: the share of chosen blocks a reviewer accepts.

A labels file says, per prospect and slot, which blocks are acceptable, and which of the
prospect's needs no block answers; its optional `same_message` key lists groups of blocks
that say one thing in different words, which a slot taking several blocks should not carry
twice. Marketing can keep one beside its library to see whether a change to the library,
the model or the weights helped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.errors import LibraryError, Problem
from engine.files import FileRefusedError, read_text
from engine.frontmatter import YamlError, load_yaml
from engine.select import Selection

_SAME_MESSAGE = "same_message"
# A labels file grows with the prospects it labels (about 0.5 KB each): room for thousands.
MAX_LABELS_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Labels:
    acceptable: Mapping[str, Mapping[str, frozenset[str]]]
    unanswered: Mapping[str, tuple[str, ...]]
    same_message: tuple[frozenset[str], ...] = ()


@dataclass(frozen=True)
class Quality:
    chosen: int
    acceptable: int
    unanswered_found: int
    unanswered_labelled: int
    unanswered_reported: int
    # Slots that took several blocks, and how many of them carry one message twice.
    multi_block_slots: int = 0
    repeated_message_slots: int = 0

    @property
    def share(self) -> float:
        """Acceptable chosen blocks over all chosen blocks (1.0 when nothing was chosen)."""
        return self.acceptable / self.chosen if self.chosen else 1.0


def load_labels(path: Path) -> Labels:
    try:
        data = load_yaml(read_text(path, MAX_LABELS_BYTES)) or {}
    except FileRefusedError as exc:
        raise LibraryError([Problem(str(path), "file", str(exc))]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LibraryError([Problem(str(path), "file", f"cannot be read: {exc}")]) from None
    except YamlError as exc:
        raise LibraryError(exc.problems_in(str(path))) from None
    if not isinstance(data, dict):
        raise LibraryError([Problem(str(path), "file", "must map prospect ids to labels")])
    groups = data.pop(_SAME_MESSAGE, None) or []
    if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
        raise LibraryError([Problem(str(path), _SAME_MESSAGE, "must be a list of lists of ids")])
    acceptable = {
        pid: {slot: frozenset(ids or ()) for slot, ids in (entry.get("slots") or {}).items()}
        for pid, entry in data.items()
    }
    unanswered = {pid: tuple(entry.get("unanswered") or ()) for pid, entry in data.items()}
    return Labels(acceptable, unanswered, tuple(frozenset(g) for g in groups))


def measure(selections: Iterable[Selection], labels: Labels) -> Quality:
    chosen = acceptable = found = labelled = reported = multi = repeated = 0
    for selection in selections:
        wanted = labels.acceptable.get(selection.prospect, {})
        by_slot: dict[str, set[str]] = {}
        for section in selection.sections:
            chosen += 1
            acceptable += section.block_id in wanted.get(section.slot, frozenset())
            by_slot.setdefault(section.slot, set()).add(section.block_id)
        for picks in by_slot.values():
            if len(picks) > 1:
                multi += 1
                repeated += any(len(group & picks) > 1 for group in labels.same_message)
        phrases = labels.unanswered.get(selection.prospect, ())
        needs = [u.need.lower() for u in selection.unanswered_needs]
        labelled += len(phrases)
        found += sum(any(p.lower() in need for need in needs) for p in phrases)
        reported += len(needs)
    return Quality(chosen, acceptable, found, labelled, reported, multi, repeated)
