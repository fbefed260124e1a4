"""Existing decks and documents turned into draft blocks of a content library.

`import_file` reads a .pptx (one draft per slide) or .docx (one per heading section) and
returns drafts without touching the library (`plan_import` also says which slides it skipped
and why); `write_drafts` adds them to its `blocks/`
folder, all or none, never over an existing file. Import is the only way pitchmap writes
into a library folder.
"""

from engine.importer.drafts import Draft, Imported, guess_slot, import_file, plan_import, slug
from engine.importer.store import write_drafts

__all__ = [
    "Draft",
    "Imported",
    "guess_slot",
    "import_file",
    "plan_import",
    "slug",
    "write_drafts",
]
