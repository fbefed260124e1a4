"""Importing real decks and documents as draft blocks (contract §3, `pitchmap import`).

Every input is a real Office file built here with python-pptx or python-docx (or with our
own renderers), and every result is checked the way the library will see it: written to a
real library folder and loaded back with `load_library`.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from docx import Document
from pptx import Presentation
from pptx.util import Inches

import engine.importer
from engine import InputError, Library, load_library, parse_prospect
from engine.assemble import Placeholders, Rep, fill
from engine.assemble.docx import render_proposal
from engine.assemble.pptx import render_deck
from engine.frontmatter import split
from engine.importer import Draft, import_file, write_drafts
from engine.importer.archive import MAX_TOTAL_BYTES, member_problems
from engine.importer.drafts import MAX_DRAFTS, plan_import
from engine.importer.markup import neutral
from engine.markdown import ListBlock, ListItem, Paragraph, Span, Table, spans_text
from tests.engine.document_factory import document
from tests.factories import write_block, write_library

BULLETS_BODY = (
    "- Dispatch records reconcile **themselves**\n"
    "  - Depots see *the same* numbers\n"
    "    - Read [our case study](https://example.com/case)\n"
    "- Never a script link"
)


@pytest.fixture
def library(tmp_path: Path) -> Library:
    return load_library(write_library(tmp_path / "library", [{"id": "o-kept", "slot": "opening"}]))


def build_deck(path: Path) -> Path:
    """Title slide, a bullets slide (levels, bold, italic, links, notes), a table slide,
    and an empty slide."""
    prs = Presentation()
    cover = prs.slides.add_slide(prs.slide_layouts[0])
    cover.shapes.title.text = "Fleet plan for {{ prospect.company }}"
    cover.placeholders[1].text = "Prepared for the operations team"

    bullets = prs.slides.add_slide(prs.slide_layouts[1])
    bullets.shapes.title.text = "Proof: fewer manual steps"
    frame = bullets.placeholders[1].text_frame
    first = frame.paragraphs[0]
    first.add_run().text = "Dispatch records reconcile "
    bold = first.add_run()
    bold.text, bold.font.bold = "themselves", True
    second = frame.add_paragraph()
    second.level = 1
    second.add_run().text = "Depots see "
    italic = second.add_run()
    italic.text, italic.font.italic = "the same", True
    second.add_run().text = " numbers"
    third = frame.add_paragraph()
    third.level = 2
    third.add_run().text = "Read "
    link = third.add_run()
    link.text, link.hyperlink.address = "our case study", "https://example.com/case"
    fourth = frame.add_paragraph()
    script = fourth.add_run()
    script.text, script.hyperlink.address = "Never a script link", "javascript:alert(1)"
    notes = bullets.notes_slide.notes_text_frame
    assert notes is not None
    notes.text = "Mention the Contoso pilot.\nAsk about {{ budget }}."

    numbers = prs.slides.add_slide(prs.slide_layouts[5])
    numbers.shapes.title.text = "Hours saved"
    shape = numbers.shapes.add_table(3, 3, Inches(1), Inches(2), Inches(8), Inches(2))
    for r, row in enumerate([["Metric", "Before", "After"], ["Close", "9 d", "2 d"]]):
        for c, value in enumerate(row):
            shape.table.cell(r, c).text = value
    shape.table.cell(2, 0).text = "Errors | month"

    prs.slides.add_slide(prs.slide_layouts[6])  # blank: nothing to import
    prs.save(str(path))
    return path


def build_docx(path: Path) -> Path:
    """Text before any heading, two headings with paragraphs, a bullet list and a table."""
    doc = Document()
    doc.add_paragraph("Prepared for {{ contact.name }} by the fleet team.")
    doc.add_heading("Why now", level=1)
    paragraph = doc.add_paragraph("Fuel prices rose ")
    paragraph.add_run("40%").bold = True
    paragraph.add_run(" in a year.")
    doc.add_paragraph("Every depot feels it.")
    doc.add_heading("What changes", level=2)
    doc.add_paragraph("Routes plan themselves", style="List Bullet")
    doc.add_paragraph("Overnight, not weekly", style="List Bullet 2")
    doc.add_paragraph("Connect the depots", style="List Number")
    doc.add_paragraph("Switch on alerts", style="List Number")
    table = doc.add_table(rows=2, cols=2)
    for (r, c), value in {
        (0, 0): "Metric",
        (0, 1): "After",
        (1, 0): "Close",
        (1, 1): "2 d",
    }.items():
        table.cell(r, c).text = value
    doc.save(str(path))
    return path


def imported(path: Path, library: Library, slot: str | None = None) -> Library:
    """Import, write and load the library back, as the next command would see it."""
    write_drafts(import_file(path, library, slot), library.root)
    return load_library(library.root)


def front_matter(library: Library, block_id: str) -> dict[str, object]:
    meta, _ = split((library.root / "blocks" / f"{block_id}.md").read_text(encoding="utf-8"))
    return meta


def messages(error: pytest.ExceptionInfo[InputError]) -> list[str]:
    return [str(p) for p in error.value.problems]


# --- decks ---------------------------------------------------------------------------------


def test_each_slide_with_text_becomes_one_draft_and_empty_slides_none(
    tmp_path: Path, library: Library
) -> None:
    drafts = import_file(build_deck(tmp_path / "deck.pptx"), library, None)
    assert [d.title for d in drafts] == [
        "Fleet plan for { { prospect.company }}",
        "Proof: fewer manual steps",
        "Hours saved",
    ]
    assert [d.source for d in drafts] == [f"deck.pptx#slide-{n}" for n in (1, 2, 3)]
    assert drafts[0].body == "Prepared for the operations team"


def test_slide_levels_become_nested_bullets_with_bold_italic_and_only_web_links(
    tmp_path: Path, library: Library
) -> None:
    drafts = import_file(build_deck(tmp_path / "deck.pptx"), library, None)
    assert drafts[1].body == BULLETS_BODY
    loaded = imported(tmp_path / "deck.pptx", library)
    (node,) = loaded.block(drafts[1].id).nodes
    assert isinstance(node, ListBlock)
    assert [item.level for item in node.items] == [0, 1, 2, 0]
    assert node.items[0].spans[-1] == Span("themselves", bold=True)
    assert node.items[2].spans[-1] == Span("our case study", href="https://example.com/case")
    assert node.items[3].spans == (Span("Never a script link"),)


def test_slide_table_becomes_a_markdown_table_with_its_header(
    tmp_path: Path, library: Library
) -> None:
    loaded = imported(build_deck(tmp_path / "deck.pptx"), library)
    (table,) = loaded.block("deck-hours-saved").nodes
    assert isinstance(table, Table)
    assert [spans_text(c) for c in table.header] == ["Metric", "Before", "After"]
    assert [[spans_text(c) for c in row] for row in table.rows] == [
        ["Close", "9 d", "2 d"],
        ["Errors | month", "", ""],
    ]


def test_speaker_notes_are_kept_in_the_notes_field(tmp_path: Path, library: Library) -> None:
    loaded = imported(build_deck(tmp_path / "deck.pptx"), library)
    meta = front_matter(loaded, "deck-proof-fewer-manual-steps")
    assert meta["notes"] == "Mention the Contoso pilot.\nAsk about { { budget }}."
    assert "notes" not in front_matter(loaded, "deck-hours-saved")


def test_written_drafts_load_as_draft_blocks_with_unique_ids_and_no_tags(
    tmp_path: Path, library: Library
) -> None:
    loaded = imported(build_deck(tmp_path / "deck.pptx"), library)
    drafts = [b for b in loaded.blocks if b.id != "o-kept"]
    assert len(drafts) == 3
    assert len({b.id for b in loaded.blocks}) == len(loaded.blocks)
    assert {b.status for b in drafts} == {"draft"}
    assert all(not b.tags for b in drafts)
    meta = front_matter(loaded, drafts[0].id)
    assert meta["status"] == "draft" and meta["tags"] == {}


def test_placeholders_in_imported_text_stay_inert_when_filled(
    tmp_path: Path, library: Library
) -> None:
    loaded = imported(build_deck(tmp_path / "deck.pptx"), library)
    cover = loaded.block("deck-fleet-plan-for-prospect-company")
    values = Placeholders(parse_prospect({"id": "p-x", "company": "Acme"}), dt.date.today(), Rep())
    (filled,) = fill([cover], values, loaded.root / "blocks")  # no missing-value error
    assert filled.title == "Fleet plan for { { prospect.company }}"
    assert "Acme" not in filled.title


def test_markdown_and_template_characters_in_a_slide_stay_literal(
    tmp_path: Path, library: Library
) -> None:
    hostile = "# 1. *not bold* [x](javascript:y) <b>&amp; {%- raw %}{{{ a }}} \\ `code` | - x"
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[5])
    slide.shapes.title.text = "Odd text"
    box = slide.shapes.add_textbox(Inches(1), Inches(2), Inches(6), Inches(2))
    box.text_frame.text = hostile
    prs.save(str(tmp_path / "odd.pptx"))
    loaded = imported(tmp_path / "odd.pptx", library)
    (node,) = loaded.block("odd-odd-text").nodes
    assert isinstance(node, Paragraph)
    assert node.spans == (Span(neutral(hostile)),)
    assert "{{" not in neutral(hostile) and "{%" not in neutral(hostile)


def test_a_placeholder_split_over_two_runs_stays_inert_even_without_its_marks(
    tmp_path: Path, library: Library
) -> None:
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[5])
    slide.shapes.title.text = "Split"
    paragraph = slide.shapes.add_textbox(Inches(1), Inches(2), Inches(6), Inches(2)).text_frame
    brace = paragraph.paragraphs[0].add_run()
    brace.text, brace.font.bold = "{", True
    paragraph.paragraphs[0].add_run().text = "{ contact.name }}"
    prs.save(str(tmp_path / "split.pptx"))
    (draft,) = import_file(tmp_path / "split.pptx", library, None)
    assert draft.body == "**{** { contact.name }}"
    assert "{{" not in draft.body.replace("*", "")


def test_a_slide_without_a_title_placeholder_is_titled_by_its_first_line(
    tmp_path: Path, library: Library
) -> None:
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(2))
    box.text_frame.text = "Our promise"
    box.text_frame.add_paragraph().text = "Deliveries on time."
    prs.save(str(tmp_path / "loose.pptx"))
    (draft,) = import_file(tmp_path / "loose.pptx", library, None)
    assert (draft.title, draft.body) == ("Our promise", "Deliveries on time.")


# --- documents -----------------------------------------------------------------------------


def test_each_heading_section_becomes_a_draft_and_text_before_is_titled_by_the_file(
    tmp_path: Path, library: Library
) -> None:
    drafts = import_file(build_docx(tmp_path / "fleet_proposal.docx"), library, None)
    assert [d.title for d in drafts] == ["fleet proposal", "Why now", "What changes"]
    assert [d.source.rsplit("#", 1)[1] for d in drafts] == ["section-0", "section-1", "section-2"]
    assert drafts[0].body == "Prepared for { { contact.name }} by the fleet team."
    assert drafts[1].body == "Fuel prices rose **40%** in a year.\n\nEvery depot feels it."


def test_document_lists_and_tables_become_markdown(tmp_path: Path, library: Library) -> None:
    loaded = imported(build_docx(tmp_path / "fleet.docx"), library)
    bullets, numbers, table = loaded.block("fleet-what-changes").nodes
    assert bullets == ListBlock(
        False,
        (
            ListItem((Span("Routes plan themselves"),), 0),
            ListItem((Span("Overnight, not weekly"),), 1),
        ),
    )
    assert numbers == ListBlock(
        True, (ListItem((Span("Connect the depots"),), 0), ListItem((Span("Switch on alerts"),), 0))
    )
    assert isinstance(table, Table)
    assert [spans_text(c) for c in table.header] == ["Metric", "After"]


def test_a_heading_with_nothing_under_it_makes_no_draft(tmp_path: Path, library: Library) -> None:
    doc = Document()
    doc.add_heading("Chapter", level=1)
    doc.add_heading("Section", level=2)
    doc.add_paragraph("Content.")
    doc.save(str(tmp_path / "c.docx"))
    assert [d.title for d in import_file(tmp_path / "c.docx", library, None)] == ["Section"]


# --- ids and slots -------------------------------------------------------------------------


def test_ids_are_slugs_unique_against_blocks_files_and_the_import(tmp_path: Path) -> None:
    root = write_library(tmp_path / "library", [{"id": "deck-results", "slot": "proof"}])
    library = load_library(root)
    (root / "blocks" / "Deck-Results-2.md").write_text("taken, in another case")
    (root / "blocks" / "deck-results-3.md.bak").write_text("a backup takes no block name")
    prs = Presentation()
    for _ in range(3):
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = "Results!"
        slide.placeholders[1].text = "Good."
    prs.save(str(tmp_path / "Deck.pptx"))
    drafts = import_file(tmp_path / "Deck.pptx", library, None)
    assert [d.id for d in drafts] == ["deck-results-3", "deck-results-4", "deck-results-5"]


def test_long_titles_make_ids_of_at_most_sixty_characters(tmp_path: Path, library: Library) -> None:
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[1])
    slide.shapes.title.text = "Über " + "really " * 30 + "long"
    slide.placeholders[1].text = "Body."
    prs.save(str(tmp_path / "d.pptx"))
    (draft,) = import_file(tmp_path / "d.pptx", library, None)
    assert len(draft.id) <= 60 and draft.id.startswith("d-uber-really")
    assert not draft.id.endswith("-")


def test_slot_option_puts_every_draft_in_that_slot(tmp_path: Path, library: Library) -> None:
    drafts = import_file(build_deck(tmp_path / "deck.pptx"), library, "value")
    assert {d.slot for d in drafts} == {"value"}
    assert not any(d.slot_guessed for d in drafts)


def test_without_slot_a_slot_id_in_the_title_wins_else_the_first_slot(
    tmp_path: Path, library: Library
) -> None:
    drafts = import_file(build_deck(tmp_path / "deck.pptx"), library, None)
    assert [d.slot for d in drafts] == ["opening", "proof", "opening"]
    assert all(d.slot_guessed for d in drafts)


def test_unknown_slot_is_a_problem_naming_slot(tmp_path: Path, library: Library) -> None:
    with pytest.raises(InputError) as error:
        import_file(build_deck(tmp_path / "deck.pptx"), library, "closing")
    (problem,) = error.value.problems
    assert problem.field == "--slot"
    assert "'closing'" in problem.message and "opening, value, proof" in problem.message


# --- writing -------------------------------------------------------------------------------


def test_import_file_reads_only(tmp_path: Path, library: Library) -> None:
    before = sorted(library.root.rglob("*"))
    import_file(build_deck(tmp_path / "deck.pptx"), library, None)
    assert sorted(library.root.rglob("*")) == before


def test_writing_the_same_drafts_again_is_refused_and_changes_nothing(
    tmp_path: Path, library: Library
) -> None:
    drafts = import_file(build_deck(tmp_path / "deck.pptx"), library, None)
    paths = write_drafts(drafts, library.root)
    (library.root / "blocks" / paths[0].name).write_text("edited by marketing", encoding="utf-8")
    contents = {p: p.read_bytes() for p in (library.root / "blocks").iterdir()}
    with pytest.raises(InputError) as error:
        write_drafts(drafts, library.root)
    assert sorted(p.file for p in error.value.problems) == sorted(str(p) for p in paths)
    assert {p: p.read_bytes() for p in (library.root / "blocks").iterdir()} == contents


def test_one_taken_name_stops_the_whole_write(tmp_path: Path, library: Library) -> None:
    """A file that appears between reading and writing (another import, an editor)."""
    drafts = import_file(build_deck(tmp_path / "deck.pptx"), library, None)
    blocks = library.root / "blocks"
    (blocks / drafts[1].file_name).symlink_to(blocks / "nowhere.md")  # even a broken link
    with pytest.raises(InputError) as error:
        write_drafts(drafts, library.root)
    refusal = "file: already exists; import never overwrites a block file"
    assert messages(error) == [f"{blocks / drafts[1].file_name}: {refusal}"]
    assert sorted(p.name for p in blocks.iterdir()) == sorted(["o-kept.md", drafts[1].file_name])


def test_a_file_appearing_after_the_check_is_never_overwritten_and_nothing_stays(
    tmp_path: Path, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the check cannot see: another import creates a name between check and write."""
    drafts = import_file(build_deck(tmp_path / "deck.pptx"), library, None)
    blocks = library.root / "blocks"
    (blocks / drafts[2].file_name).write_text("written by someone else")
    monkeypatch.setattr("engine.importer.store._exists", lambda path: False)
    with pytest.raises(InputError) as error:
        write_drafts(drafts, library.root)
    assert [p.file for p in error.value.problems] == [str(blocks / drafts[2].file_name)]
    assert (blocks / drafts[2].file_name).read_text() == "written by someone else"
    assert sorted(p.name for p in blocks.iterdir()) == sorted(["o-kept.md", drafts[2].file_name])


def test_drafts_with_the_same_id_are_refused(tmp_path: Path, library: Library) -> None:
    draft = Draft("same", "opening", "T", "Body.", "x.pptx#slide-1")
    with pytest.raises(InputError):
        write_drafts([draft, draft], library.root)
    assert not (library.root / "blocks" / "same.md").exists()


def test_no_temporary_files_are_left_behind(tmp_path: Path, library: Library) -> None:
    write_drafts(import_file(build_deck(tmp_path / "deck.pptx"), library, None), library.root)
    assert not [p for p in (library.root / "blocks").iterdir() if p.name.startswith(".")]


def test_notes_that_look_like_the_end_of_front_matter_cannot_end_it(
    tmp_path: Path, library: Library
) -> None:
    draft = Draft("n", "opening", "T", "Body.", "x.pptx#slide-1", notes="a\n---\nb")
    write_drafts([draft], library.root)
    assert front_matter(load_library(library.root), "n")["notes"] == "a\n- - -\nb"


# --- hostile and wrong files ---------------------------------------------------------------


def test_a_text_file_named_pptx_is_refused_naming_the_file(
    tmp_path: Path, library: Library
) -> None:
    fake = tmp_path / "fake.pptx"
    fake.write_text("just some text")
    with pytest.raises(InputError) as error:
        import_file(fake, library, None)
    assert messages(error) == [f"{fake}: file: is not a PowerPoint file (not a zip package)"]


def test_a_word_document_named_pptx_is_refused_naming_the_file(
    tmp_path: Path, library: Library
) -> None:
    wrong = build_docx(tmp_path / "x.docx").rename(tmp_path / "wrong.pptx")
    with pytest.raises(InputError) as error:
        import_file(wrong, library, None)
    (problem,) = error.value.problems
    assert problem.file == str(wrong) and problem.field == "file"
    assert problem.message.startswith("is not a readable PowerPoint file")


def test_a_zip_that_is_no_office_file_is_refused(tmp_path: Path, library: Library) -> None:
    path = tmp_path / "plain.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hello")
    with pytest.raises(InputError) as error:
        import_file(path, library, None)
    assert error.value.problems[0].message.startswith("is not a readable Word document")


def test_a_zip_bomb_is_refused_from_its_directory_before_anything_is_inflated(
    tmp_path: Path, library: Library
) -> None:
    bomb = tmp_path / "bomb.pptx"
    chunk = bytes(1024 * 1024)
    with (
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("ppt/slides/slide1.xml", "w", force_zip64=True) as member,
    ):
        for _ in range(150):
            member.write(chunk)
    assert bomb.stat().st_size < 1024 * 1024
    with pytest.raises(InputError) as error:
        import_file(bomb, library, None)
    assert messages(error) == [
        f"{bomb}: file: holds 'ppt/slides/slide1.xml', compressed more than 100:1 (a zip bomb?)"
    ]


def test_more_than_200_mb_in_all_is_refused() -> None:
    members = []
    for n in range(3):
        info = zipfile.ZipInfo(f"ppt/media/image{n}.png")
        info.file_size, info.compress_size = 70 * 1024 * 1024, 69 * 1024 * 1024
        members.append(info)
    assert sum(m.file_size for m in members) > MAX_TOTAL_BYTES
    (problem,) = member_problems(members)
    assert "more than the 200 MB allowed" in problem


@pytest.mark.parametrize("name", ["../evil.xml", "ppt/../../evil.xml", "/etc/evil.xml", "C:/x"])
def test_member_names_that_leave_the_package_are_refused(
    tmp_path: Path, library: Library, name: str
) -> None:
    path = tmp_path / "climb.pptx"
    ok = io.BytesIO()
    build_deck(tmp_path / "deck.pptx")
    with (
        zipfile.ZipFile(tmp_path / "deck.pptx") as source,
        zipfile.ZipFile(ok, "w", zipfile.ZIP_DEFLATED) as copy,
    ):
        for item in source.infolist():
            copy.writestr(item, source.read(item))
        copy.writestr(zipfile.ZipInfo(name), b"<x/>")
    path.write_bytes(ok.getvalue())
    with pytest.raises(InputError) as error:
        import_file(path, library, None)
    assert messages(error) == [f"{path}: file: holds a file named {name!r} outside its own folder"]


@pytest.mark.parametrize("name", ["notes.txt", "deck.ppt", "deck.pptm", "deck"])
def test_other_file_types_are_refused_naming_the_file(
    tmp_path: Path, library: Library, name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(InputError) as error:
        import_file(path, library, None)
    assert messages(error) == [f"{path}: file: must be a .pptx deck or a .docx document"]


def test_a_missing_file_is_named(tmp_path: Path, library: Library) -> None:
    with pytest.raises(InputError) as error:
        import_file(tmp_path / "gone.docx", library, None)
    assert messages(error) == [f"{tmp_path / 'gone.docx'}: file: does not exist"]


def test_a_deck_without_text_is_a_problem(tmp_path: Path, library: Library) -> None:
    """A blank slide, a title alone, a title over an empty table: nothing a block could say."""
    prs = Presentation()
    prs.slides.add_slide(prs.slide_layouts[6])
    prs.slides.add_slide(prs.slide_layouts[5]).shapes.title.text = "Divider"
    empty_table = prs.slides.add_slide(prs.slide_layouts[5])
    empty_table.shapes.title.text = "Nothing yet"
    empty_table.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1))
    prs.save(str(tmp_path / "empty.pptx"))
    with pytest.raises(InputError) as error:
        import_file(tmp_path / "empty.pptx", library, None)
    assert messages(error) == [
        f"{tmp_path / 'empty.pptx'}: file: has no text to import: skipped slide 1 (no text); "
        "slides 2-3 (only a title, no body or speaker notes)"
    ]


def test_a_lone_sentence_in_a_text_box_is_a_body_and_a_lone_short_line_a_divider(
    tmp_path: Path, library: Library
) -> None:
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[6])  # blank: no title placeholder
    slide.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(1)).text = "Part 2: Pricing"
    long = prs.slides.add_slide(prs.slide_layouts[6])
    sentence = "Every delivery arrives within the promised window, " * 3
    long.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(2)).text = sentence
    prs.save(str(tmp_path / "loose.pptx"))
    planned = plan_import(tmp_path / "loose.pptx", library, None)
    assert [(d.title, d.body) for d in planned.drafts] == [("Slide 2", sentence.strip())]
    assert planned.skipped_note() == "skipped slide 1 (only a title, no body or speaker notes)"


def test_a_title_with_speaker_notes_is_a_draft_keeping_both(
    tmp_path: Path, library: Library
) -> None:
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[1])  # its body placeholder left empty
    slide.shapes.title.text = "We cut costs 40%"
    notes = slide.notes_slide.notes_text_frame
    assert notes is not None
    notes.text = "Pause here.\nAsk about their fleet."
    prs.slides.add_slide(prs.slide_layouts[5]).shapes.title.text = "Divider"
    prs.save(str(tmp_path / "talk.pptx"))
    planned = plan_import(tmp_path / "talk.pptx", library, None)
    (draft,) = planned.drafts
    assert (draft.title, draft.body) == ("We cut costs 40%", "We cut costs 40%")
    assert draft.notes == "Pause here.\nAsk about their fleet."
    assert planned.skipped_note() == "skipped slide 2 (only a title, no body or speaker notes)"


def test_a_slide_with_only_a_table_and_no_title_is_titled_by_its_number(
    tmp_path: Path, library: Library
) -> None:
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    table = slide.shapes.add_table(2, 2, Inches(1), Inches(1), Inches(4), Inches(1)).table
    for (r, c), value in {
        (0, 0): "Metric",
        (0, 1): "After",
        (1, 0): "Close",
        (1, 1): "2 d",
    }.items():
        table.cell(r, c).text = value
    prs.save(str(tmp_path / "grid.pptx"))
    (draft,) = import_file(tmp_path / "grid.pptx", library, None)
    assert draft.title == "Slide 1"
    assert draft.body.splitlines()[0] == "| Metric | After |"


def test_a_document_that_would_make_too_many_drafts_is_refused(
    tmp_path: Path, library: Library
) -> None:
    doc = Document()
    for n in range(MAX_DRAFTS + 1):
        doc.add_heading(f"Heading {n}", level=1)
        doc.add_paragraph(f"Text {n}.")
    doc.save(str(tmp_path / "many.docx"))
    with pytest.raises(InputError) as error:
        import_file(tmp_path / "many.docx", library, None)
    assert messages(error) == [
        f"{tmp_path / 'many.docx'}: file: has more than 1,000 heading sections with text; "
        "one import adds at most 1,000 draft blocks (split the file)"
    ]


def test_a_bad_slot_and_a_bad_file_are_reported_together(tmp_path: Path, library: Library) -> None:
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(InputError) as error:
        import_file(tmp_path / "x.txt", library, "nope")
    assert sorted(p.field for p in error.value.problems) == ["--slot", "file"]


# --- round trips through our own renderers -------------------------------------------------


def test_a_deck_we_assembled_comes_back_with_its_section_titles(
    tmp_path: Path, library: Library
) -> None:
    doc = document(tmp_path / "source")
    deck = tmp_path / "assembled.pptx"
    deck.write_bytes(render_deck(doc))
    loaded = imported(deck, library)
    titles = {b.title for b in loaded.blocks if b.status == "draft"}
    assert {neutral(s.title) for s in doc.sections} <= titles
    bullets = next(b for b in loaded.blocks if b.title == "What changes on day one")
    items = next(n for n in bullets.nodes if isinstance(n, ListBlock))
    assert [i.level for i in items.items][:3] == [0, 1, 2]


def test_a_proposal_we_assembled_comes_back_one_draft_per_block(
    tmp_path: Path, library: Library
) -> None:
    doc = document(tmp_path / "source")
    proposal = tmp_path / "proposal.docx"
    proposal.write_bytes(render_proposal(doc))
    drafts = import_file(proposal, library, None)
    assert [d.title for d in drafts][1:] == [neutral(s.title) for s in doc.sections]
    hostile = drafts[1].body
    assert "[our site](https://example.com/northwind)" in hostile
    assert "**bold words**" in hostile and "javascript" not in hostile
    assert "Contents" not in drafts[0].body  # the table of contents is navigation


def test_the_package_names_its_public_surface() -> None:
    assert sorted(engine.importer.__all__) == [
        "Draft",
        "Imported",
        "guess_slot",
        "import_file",
        "plan_import",
        "slug",
        "write_drafts",
    ]


def test_existing_blocks_are_untouched_by_an_import(tmp_path: Path, library: Library) -> None:
    kept = write_block(library.root, {"id": "o-kept", "slot": "opening"})
    before = kept.read_bytes()
    imported(build_deck(tmp_path / "deck.pptx"), library)
    assert kept.read_bytes() == before
