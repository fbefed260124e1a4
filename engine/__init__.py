"""pitchmap's engine: the content library, its embedding index and message-map selection.

Pure logic and files only: nothing here knows about HTTP or SQL. `load_library`,
`load_prospects`, `index_library` and `Selector` are all most callers need.
"""

from engine.embed import Embedder, EmbeddingCache
from engine.errors import (
    InputError,
    LibraryError,
    ModelError,
    PitchmapError,
    Problem,
    ProspectError,
)
from engine.indexing import IndexedLibrary, IndexReport, index_library
from engine.library import Block, Library, MessageMap, Slot, load_library
from engine.prospect import Contact, Prospect, load_prospects, parse_prospect
from engine.select import Alternative, Query, Section, Selection, UnansweredNeed, Weights, select
from engine.selector import Selector

__all__ = [
    "Alternative",
    "Block",
    "Contact",
    "Embedder",
    "EmbeddingCache",
    "IndexReport",
    "IndexedLibrary",
    "InputError",
    "Library",
    "LibraryError",
    "MessageMap",
    "ModelError",
    "PitchmapError",
    "Problem",
    "Prospect",
    "ProspectError",
    "Query",
    "Section",
    "Selection",
    "Selector",
    "Slot",
    "UnansweredNeed",
    "Weights",
    "index_library",
    "load_library",
    "load_prospects",
    "parse_prospect",
    "select",
]
