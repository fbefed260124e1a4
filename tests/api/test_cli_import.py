"""`pitchmap import` run as a real subprocess on real decks and a real library folder.

Import needs no embedding model, so these runs are quick: each one is a fresh process, as a
marketer's would be.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from docx import Document
from pptx import Presentation
from pptx.util import Inches

from engine import load_library
from engine.importer.drafts import MAX_DRAFTS
from tests.cli_runner import pitchmap
from tests.factories import write_block, write_library


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A working folder holding a library (one approved block) and a two-slide deck."""
    write_library(tmp_path / "lib", [{"id": "o-kept", "slot": "opening"}])
    prs = Presentation()
    for title, body in (("Why now", "Fuel costs keep rising."), ("Proof from Contoso", "9 to 2")):
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    prs.save(str(tmp_path / "deck.pptx"))
    return tmp_path


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "lib" / "blocks").iterdir())}


def test_import_writes_draft_blocks_and_prints_one_line_per_file(folder: Path) -> None:
    run = pitchmap(folder, "import", "deck.pptx", "--library", "lib")
    assert run.code == 0, run.stderr
    assert run.stdout.splitlines() == [
        "lib/blocks/deck-why-now.md  slot=opening  title=Why now",
        "lib/blocks/deck-proof-from-contoso.md  slot=proof  title=Proof from Contoso",
    ]
    assert "slots were guessed" in run.stderr
    library = load_library(folder / "lib")
    assert {b.id: b.status for b in library.blocks} == {
        "deck-proof-from-contoso": "draft",
        "deck-why-now": "draft",
        "o-kept": "approved",
    }


def test_slot_option_puts_every_draft_in_that_slot(folder: Path) -> None:
    run = pitchmap(folder, "import", "deck.pptx", "--library", "lib", "--slot", "value")
    assert run.code == 0, run.stderr
    assert [line.split("  ")[1] for line in run.stdout.splitlines()] == ["slot=value"] * 2
    assert "guessed" not in run.stderr


def test_a_second_import_adds_new_drafts_and_never_changes_the_first(folder: Path) -> None:
    assert pitchmap(folder, "import", "deck.pptx", "--library", "lib").code == 0
    (folder / "lib" / "blocks" / "deck-why-now.md").write_text(
        "---\nid: deck-why-now\nslot: opening\ntitle: Edited\nstatus: approved\n---\nEdited.\n"
    )
    before = files(folder)
    run = pitchmap(folder, "import", "deck.pptx", "--library", "lib")
    assert run.code == 0, run.stderr
    assert [line.split("  ")[0] for line in run.stdout.splitlines()] == [
        "lib/blocks/deck-why-now-2.md",
        "lib/blocks/deck-proof-from-contoso-2.md",
    ]
    after = files(folder)
    assert {name: after[name] for name in before} == before


def test_unknown_slot_exits_2_naming_slot_and_writes_nothing(folder: Path) -> None:
    before = files(folder)
    run = pitchmap(folder, "import", "deck.pptx", "--library", "lib", "--slot", "closing")
    assert run.code == 2
    assert run.stdout == ""
    assert run.stderr.splitlines() == [
        "error: deck.pptx: --slot: unknown slot 'closing' (the message map has: opening, value, "
        "proof)"
    ]
    assert files(folder) == before


def test_a_text_file_named_pptx_exits_2_naming_the_file(folder: Path) -> None:
    (folder / "fake.pptx").write_text("not a deck")
    before = files(folder)
    run = pitchmap(folder, "import", "fake.pptx", "--library", "lib")
    assert run.code == 2
    assert run.stderr.splitlines() == [
        "error: fake.pptx: file: is not a PowerPoint file (not a zip package)"
    ]
    assert files(folder) == before


def test_a_broken_library_is_refused_before_anything_is_written(folder: Path) -> None:
    write_block(folder / "lib", {"id": "v-bad", "slot": "nowhere"})
    before = files(folder)
    run = pitchmap(folder, "import", "deck.pptx", "--library", "lib")
    assert run.code == 2
    assert run.stdout == ""
    assert "lib/blocks/v-bad.md: slot: unknown slot 'nowhere'" in run.stderr
    assert files(folder) == before


def test_import_needs_no_embedding_model(folder: Path) -> None:
    run = pitchmap(
        folder, "import", "deck.pptx", "--library", "lib", PITCHMAP_MODEL=str(folder / "none")
    )
    assert run.code == 0, run.stderr
    assert not (folder / "data").exists()


def test_slides_without_a_body_are_imported_and_empty_ones_named_on_stderr(folder: Path) -> None:
    prs = Presentation()
    loose = prs.slides.add_slide(prs.slide_layouts[6])  # no title placeholder, one text box
    box = loose.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(1)).text_frame
    box.text = "On time, always."
    box.add_paragraph().text = "Every load lands inside its promised window, so crews plan."
    talk = prs.slides.add_slide(prs.slide_layouts[1])
    talk.shapes.title.text = "Why now"
    notes = talk.notes_slide.notes_text_frame
    assert notes is not None
    notes.text = "Fuel costs keep rising."
    prs.slides.add_slide(prs.slide_layouts[6])  # nothing on it at all
    prs.save(str(folder / "bare.pptx"))
    run = pitchmap(folder, "import", "bare.pptx", "--library", "lib", "--slot", "value")
    assert run.code == 0, run.stderr
    assert run.stdout.splitlines() == [
        "lib/blocks/bare-on-time-always.md  slot=value  title=On time, always.",
        "lib/blocks/bare-why-now.md  slot=value  title=Why now",
    ]
    assert run.stderr.splitlines() == ["note: bare.pptx: skipped slide 3 (no text)"]
    why_now = load_library(folder / "lib").block("bare-why-now")
    assert why_now.status == "draft"


def test_a_document_over_the_draft_limit_exits_2_and_writes_nothing(folder: Path) -> None:
    doc = Document()
    for n in range(MAX_DRAFTS + 1):
        doc.add_heading(f"Heading {n}", level=1)
        doc.add_paragraph(f"Text {n}.")
    doc.save(str(folder / "many.docx"))
    before = files(folder)
    run = pitchmap(folder, "import", "many.docx", "--library", "lib")
    assert run.code == 2
    assert run.stdout == ""
    assert run.stderr.splitlines() == [
        "error: many.docx: file: has more than 1,000 heading sections with text; one import "
        "adds at most 1,000 draft blocks (split the file)"
    ]
    assert files(folder) == before
