"""What the running server holds: the active library, indexed once at start, and its selector."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from api.settings import Settings
from engine import Library, Prospect, Selector, index_library, load_library
from engine.embed import Progress


@dataclass(frozen=True)
class Workspace:
    """The one active library of this server (None until one is loaded) and demo prospects."""

    selector: Selector | None
    prospects: tuple[Prospect, ...] = field(default=())

    @classmethod
    def open(
        cls,
        settings: Settings,
        library: Path | None,
        prospects: tuple[Prospect, ...] = (),
        on_progress: Progress | None = None,
    ) -> Workspace:
        if library is None:
            return cls(None, prospects)
        return cls(open_selector(settings, load_library(library), on_progress), prospects)


def open_selector(
    settings: Settings, library: Library, on_progress: Progress | None = None
) -> Selector:
    """Bring a loaded library's index up to date with the configured model and select on it:
    the one start-up every command and the server share."""
    embedder = settings.new_embedder()
    indexed = index_library(
        library, embedder, settings.data_dir, on_progress, settings.hnsw_threshold
    )
    return Selector(indexed, embedder)
