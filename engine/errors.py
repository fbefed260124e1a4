"""One exception tree for everything the engine refuses, so callers map it to answers in one place.

The engine never prints: it raises these with structured problems and lets the CLI and the API
format them (one line per problem, naming the file and the field).
"""

from __future__ import annotations

from dataclasses import dataclass

# What every input refuses a NUL with: PostgreSQL's text cannot hold one (SQLite would store
# it), and no name, need or reason a person means contains one.
NUL_REFUSED = "must not contain NUL (\\x00) characters"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one input: where (file and field) and what."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


class PitchmapError(Exception):
    """Base of every error pitchmap raises on purpose."""


class InputError(PitchmapError):
    """Input that cannot be used as it is; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems: tuple[Problem, ...] = tuple(sorted(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


class LibraryError(InputError):
    """A content library folder that breaks the contract (message map, blocks)."""


class ProspectError(InputError):
    """A prospect profile file that breaks the contract."""


class ModelError(PitchmapError):
    """The embedding model cannot be found or loaded."""
