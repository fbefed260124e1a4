"""The brand masters renderers build on: where the shipped ones live and what names they need.

A customer can point pitchmap at their own deck master and proposal template. All pitchmap
relies on is the layout names in the one and the style names in the other, so those names
are the contract, listed here, and a master that lacks one is refused by name up front
rather than failing half-way through a document.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from engine.errors import PitchmapError

# The deck master's slide layouts, by the names its designer gave them.
REQUIRED_LAYOUTS = ("Title", "Section", "Title and Bullets", "Two Columns", "Quote", "Closing")
# The proposal template's styles: paragraphs, then the table style.
TABLE_STYLE = "Proposal Table"
REQUIRED_STYLES = (
    "Cover Title",
    "Cover Subtitle",
    "Heading 1",
    "Heading 2",
    "Body Text",
    "List Bullet",
    "List Number",
    "Quote",
    TABLE_STYLE,
)


class TemplateError(PitchmapError):
    """A deck master or proposal template that cannot be used: names the file and what is
    missing, so whoever maintains the brand files knows exactly what to add."""

    def __init__(self, template: str, problem: str) -> None:
        self.template = template
        self.problem = problem
        super().__init__(f"{template}: {problem}")


def master_bytes(master: Path | None) -> tuple[str, bytes]:
    """The deck master's name (for messages) and content: the given file or the shipped one."""
    return _read(master, "master.pptx")


def template_bytes(template: Path | None) -> tuple[str, bytes]:
    """The proposal template's name and content: the given file or the shipped one."""
    return _read(template, "proposal.docx")


def _read(path: Path | None, shipped: str) -> tuple[str, bytes]:
    if path is None:
        resource = files("templates") / "brand" / shipped
        return f"templates/brand/{shipped}", resource.read_bytes()
    try:
        return str(path), Path(path).read_bytes()
    except OSError as error:
        raise TemplateError(str(path), f"cannot be read ({error.strerror})") from error
