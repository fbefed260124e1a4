"""Measuring selection against human labels: the share of chosen blocks a reviewer accepts.

A labels file says, per prospect and slot, which blocks are acceptable, and which of the
prospect's needs no block answers. Marketing can keep one beside its library to see whether
a change to the library, the model or the weights helped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from engine.errors import LibraryError, Problem
from engine.select import Selection


@dataclass(frozen=True)
class Labels:
    acceptable: Mapping[str, Mapping[str, frozenset[str]]]
    unanswered: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Quality:
    chosen: int
    acceptable: int
    unanswered_found: int
    unanswered_labelled: int
    unanswered_reported: int

    @property
    def share(self) -> float:
        """Acceptable chosen blocks over all chosen blocks (1.0 when nothing was chosen)."""
        return self.acceptable / self.chosen if self.chosen else 1.0


def load_labels(path: Path) -> Labels:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise LibraryError([Problem(str(path), "file", f"cannot be read: {exc}")]) from None
    if not isinstance(data, dict):
        raise LibraryError([Problem(str(path), "file", "must map prospect ids to labels")])
    acceptable = {
        pid: {slot: frozenset(ids or ()) for slot, ids in (entry.get("slots") or {}).items()}
        for pid, entry in data.items()
    }
    unanswered = {pid: tuple(entry.get("unanswered") or ()) for pid, entry in data.items()}
    return Labels(acceptable, unanswered)


def measure(selections: Iterable[Selection], labels: Labels) -> Quality:
    chosen = acceptable = found = labelled = reported = 0
    for selection in selections:
        wanted = labels.acceptable.get(selection.prospect, {})
        for section in selection.sections:
            chosen += 1
            acceptable += section.block_id in wanted.get(section.slot, frozenset())
        phrases = labels.unanswered.get(selection.prospect, ())
        needs = [u.need.lower() for u in selection.unanswered_needs]
        labelled += len(phrases)
        found += sum(any(p.lower() in need for need in needs) for p in phrases)
        reported += len(needs)
    return Quality(chosen, acceptable, found, labelled, reported)
