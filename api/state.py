"""What the running server holds: the active library, indexed once at start, and its selector."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from api.settings import Settings
from engine import Embedder, Prospect, Selector, index_library, load_library


@dataclass(frozen=True)
class Workspace:
    """The one active library of this server (None until one is loaded) and demo prospects."""

    selector: Selector | None
    prospects: tuple[Prospect, ...] = field(default=())

    @classmethod
    def open(
        cls, settings: Settings, library: Path | None, prospects: tuple[Prospect, ...] = ()
    ) -> Workspace:
        if library is None:
            return cls(None, prospects)
        embedder = Embedder(settings.model, cache_dir=settings.data_dir, backend=settings.embedder)
        indexed = index_library(load_library(library), embedder, settings.data_dir)
        return cls(Selector(indexed, embedder), prospects)
