"""Errors the tracker raises on purpose, in the one tree the CLI and API already map to answers."""

from __future__ import annotations

from engine import PitchmapError


class TrackerError(PitchmapError):
    """Base of the tracker's deliberate refusals."""


class UnknownRoleError(TrackerError, ValueError):
    """A role that is not one of rep, marketing, admin; the message lists the valid ones."""

    def __init__(self, role: str) -> None:
        self.role = role
        super().__init__(f"role: {role!r} is not one of rep, marketing, admin")


class UnknownKeyError(TrackerError, LookupError):
    """No API key has this id."""

    def __init__(self, key_id: int) -> None:
        self.key_id = key_id
        super().__init__(f"no API key with id {key_id}")
