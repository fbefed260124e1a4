"""Hostile .pptx and .docx files given to `pitchmap import` (issue 8, hostile input).

Each file is built here from a real deck or document: XML entity tricks, pictures claiming
enormous sizes, archives inside the package, too many members, symbolic links. Each is either
refused with a message naming the file before any Office library parses it, or, where it can
do no harm (pictures, nested archives are never opened), imported for its text alone. Either
way nothing else reaches the library: `import_file` never writes, and the CLI runs at the end
show that a refused import leaves the library's `blocks/` folder as it was.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import docx.oxml
import pptx.oxml
import pytest
from docx import Document
from PIL import Image
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.util import Inches

from engine import InputError, Library, Section, Selection, load_library, parse_prospect
from engine.assemble import AssembledDocument, Rep, assemble, render_html
from engine.assemble.docx import render_proposal
from engine.assemble.pptx import render_deck
from engine.assemble.safety import MAX_PICTURE_PIXELS, resolve_picture
from engine.importer import import_file
from engine.importer.archive import MAX_MEMBERS, member_problems
from tests.cli_runner import pitchmap
from tests.factories import write_library

DECK_SLIDE = "ppt/slides/slide1.xml"
DOCUMENT = "word/document.xml"
MARKER = "Fuel costs keep rising"
DTD_REFUSED = "whose XML declares a DTD; Office files never do (an XML entity attack?)"
# Ten levels of ten: one reference would expand to 10**10 characters.
LAUGHS = b'<!ENTITY a0 "ha">' + b"".join(
    b'<!ENTITY a%d "%s">' % (n, b"&a%d;" % (n - 1) * 10) for n in range(1, 11)
)

Build = Callable[[Path], Path]


@pytest.fixture
def library(tmp_path: Path) -> Library:
    return load_library(write_library(tmp_path / "library", [{"id": "o-kept", "slot": "opening"}]))


def png(width: int, height: int, rows: int = 1) -> bytes:
    """A black 1-bit PNG declaring `width` x `height` pixels, holding only `rows` of them."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    packer = zlib.compressobj(9)
    row = bytes(1 + (width + 7) // 8)  # filter byte, then the row's bits
    pixels = b"".join(packer.compress(row) for _ in range(rows)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


SMALL_PNG = png(4, 4, rows=4)


def deck(path: Path) -> Path:
    """One slide with a title, a line of text and a small picture."""
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[1])
    slide.shapes.title.text = "Why now"
    slide.placeholders[1].text = MARKER
    slide.shapes.add_picture(io.BytesIO(SMALL_PNG), Inches(1), Inches(5))
    prs.save(str(path))
    return path


def proposal(path: Path) -> Path:
    """One heading over a paragraph of text and a small picture."""
    document = Document()
    document.add_heading("Why now", level=1)
    document.add_paragraph(MARKER)
    document.add_picture(io.BytesIO(SMALL_PNG))
    document.save(str(path))
    return path


def rebuilt(
    source: Path,
    target: Path,
    change: Callable[[str, bytes], bytes] = lambda _, data: data,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """A copy of the package with each member passed through `change` and `extra` added
    (stored, not compressed, as an archive inside a package would be)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for member in old.infolist():
            new.writestr(member, change(member.filename, old.read(member)))
        for name, data in (extra or {}).items():
            new.writestr(name, data, compress_type=zipfile.ZIP_STORED)
    source.unlink()
    return target


def with_doctype(xml: bytes, doctype: bytes, text: bytes = MARKER.encode()) -> bytes:
    """The part with `doctype` after its XML declaration and its text replaced by `text`."""
    declaration, rest = xml.split(b"?>", 1)
    return declaration + b"?>" + doctype + rest.replace(MARKER.encode(), text)


def package(kind: str, folder: Path, name: str) -> tuple[Path, str]:
    """A fresh deck or proposal under `folder/name` and the member holding its text."""
    if kind == "deck":
        return deck(folder / f"{name}.pptx"), DECK_SLIDE
    return proposal(folder / f"{name}.docx"), DOCUMENT


def refused(path: Path, library: Library) -> list[str]:
    """The problems import reports for `path`, having checked that the library is unchanged."""
    before = sorted((library.root / "blocks").iterdir())
    with pytest.raises(InputError) as error:
        import_file(path, library, None)
    assert sorted((library.root / "blocks").iterdir()) == before
    return [str(p) for p in error.value.problems]


# --- XML entity tricks ---------------------------------------------------------------------


def external_entity(folder: Path, kind: str, target: str) -> tuple[Path, str]:
    """The text replaced by an entity whose value is the file at `target`."""
    path, member = package(kind, folder, "xxe")
    doctype = b'<!DOCTYPE root [<!ENTITY xxe SYSTEM "%s">]>' % target.encode()

    def change(name: str, data: bytes) -> bytes:
        return with_doctype(data, doctype, b"&xxe;") if name == member else data

    return rebuilt(path, path.with_name(f"hostile-{path.name}"), change), member


@pytest.mark.parametrize("kind", ["deck", "proposal"])
@pytest.mark.parametrize("target", ["secret", "/etc/passwd"])
def test_an_external_entity_is_refused_and_the_file_it_names_never_reaches_a_draft(
    tmp_path: Path, library: Library, kind: str, target: str
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("THE-SECRET-VALUE")
    uri = (secret if target == "secret" else Path(target)).as_uri()
    path, member = external_entity(tmp_path, kind, uri)
    assert refused(path, library) == [f"{path}: file: holds {member!r}, {DTD_REFUSED}"]


@pytest.mark.parametrize("kind", ["deck", "proposal"])
def test_a_billion_laughs_is_refused_before_any_entity_is_expanded(
    tmp_path: Path, library: Library, kind: str
) -> None:
    path, member = package(kind, tmp_path, "laughs")
    doctype = b"<!DOCTYPE root [" + LAUGHS + b"]>"

    def change(name: str, data: bytes) -> bytes:
        return with_doctype(data, doctype, b"&a10;") if name == member else data

    path = rebuilt(path, tmp_path / f"bomb{path.suffix}", change)
    assert path.stat().st_size < 100_000
    assert refused(path, library) == [f"{path}: file: holds {member!r}, {DTD_REFUSED}"]


def utf16(xml: bytes, doctype: bytes) -> bytes:
    text = with_doctype(xml, doctype).decode("utf-8")
    return text.replace('encoding="UTF-8"', 'encoding="UTF-16"', 1).encode("utf-16")


def after_a_long_comment(xml: bytes, doctype: bytes) -> bytes:
    """Past the first few kilobytes: the whole prolog is read, not a prefix of it."""
    return with_doctype(xml, b"<!--" + b" padding" * 2_000 + b"-->" + doctype)


@pytest.mark.parametrize(
    ("member", "place"),
    [
        ("[Content_Types].xml", with_doctype),
        ("_rels/.rels", with_doctype),
        ("docProps/core.xml", with_doctype),
        ("ppt/presentation.xml", with_doctype),
        (DECK_SLIDE, utf16),
        (DECK_SLIDE, after_a_long_comment),
    ],
)
def test_a_dtd_in_any_part_however_written_is_refused(
    tmp_path: Path,
    library: Library,
    member: str,
    place: Callable[[bytes, bytes], bytes],
) -> None:
    doctype = b'<!DOCTYPE root [<!ENTITY harmless "only a name">]>'

    def change(name: str, data: bytes) -> bytes:
        return place(data, doctype) if name == member else data

    path = rebuilt(deck(tmp_path / "deck.pptx"), tmp_path / "dtd.pptx", change)
    assert refused(path, library) == [f"{path}: file: holds {member!r}, {DTD_REFUSED}"]


ILLUSTRATOR_SVG = b"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd" [
  <!ENTITY ns_graphs "http://ns.adobe.com/Graphs/1.0/">
]>
<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>
"""


def test_an_svg_picture_keeps_the_doctype_drawing_programs_write_and_is_imported(
    tmp_path: Path, library: Library
) -> None:
    icon = {"ppt/media/icon.svg": ILLUSTRATOR_SVG}
    path = rebuilt(deck(tmp_path / "deck.pptx"), tmp_path / "icons.pptx", extra=icon)
    (draft,) = import_file(path, library, None)
    assert (draft.title, draft.body) == ("Why now", f"- {MARKER}")


def test_an_svg_picture_that_expands_its_entities_is_refused(
    tmp_path: Path, library: Library
) -> None:
    svg = b'<!DOCTYPE svg [%s]><svg xmlns="http://www.w3.org/2000/svg">&a10;</svg>' % LAUGHS
    icon = {"ppt/media/icon.svg": svg}
    path = rebuilt(deck(tmp_path / "deck.pptx"), tmp_path / "laughing.pptx", extra=icon)
    assert refused(path, library) == [f"{path}: file: holds 'ppt/media/icon.svg', {DTD_REFUSED}"]


def test_a_slide_that_names_its_dtd_svg_is_refused_all_the_same(
    tmp_path: Path, library: Library
) -> None:
    def change(name: str, data: bytes) -> bytes:
        return (
            with_doctype(data, b'<!DOCTYPE svg [<!ENTITY e "e">]>') if name == DECK_SLIDE else data
        )

    path = rebuilt(deck(tmp_path / "deck.pptx"), tmp_path / "disguised.pptx", change)
    assert refused(path, library) == [f"{path}: file: holds {DECK_SLIDE!r}, {DTD_REFUSED}"]


@pytest.mark.parametrize("parse", [pptx.oxml.parse_xml, docx.oxml.parse_xml])
def test_the_office_libraries_would_not_resolve_an_entity_either(
    tmp_path: Path, parse: Callable[[bytes], object]
) -> None:
    """The second line of defence, should a DTD ever get past the check."""
    secret = tmp_path / "secret.txt"
    secret.write_text("THE-SECRET-VALUE")
    xml = b'<!DOCTYPE r [<!ENTITY x SYSTEM "%s">]><r>&x;</r>' % secret.as_uri().encode()
    element = parse(xml)
    assert "THE-SECRET-VALUE" not in "".join(element.itertext())  # type: ignore[attr-defined]


# --- huge pictures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pixel_bombs() -> dict[str, bytes]:
    """Two pictures Pillow refuses to open: one only claims 100000 x 100000 pixels in its
    header, the other really holds 20000 x 20000 black pixels in under 50 kB."""
    return {"claimed": png(100_000, 100_000), "compressible": png(20_000, 20_000, rows=20_000)}


def with_picture(kind: str, folder: Path, picture: bytes) -> Path:
    path, _ = package(kind, folder, "pictured")

    def change(name: str, data: bytes) -> bytes:
        return picture if name.endswith(".png") else data

    return rebuilt(path, folder / f"huge-picture{path.suffix}", change)


@pytest.mark.parametrize("bomb", ["claimed", "compressible"])
@pytest.mark.parametrize("kind", ["deck", "proposal"])
def test_a_picture_of_enormous_size_is_never_decoded_and_the_text_still_imports(
    tmp_path: Path, library: Library, pixel_bombs: dict[str, bytes], kind: str, bomb: str
) -> None:
    """Import takes text only. Were the picture opened, Pillow would raise (or warn, an error
    in tests) about a decompression bomb, and decoding it would take gigabytes."""
    picture = pixel_bombs[bomb]
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(picture))
    path = with_picture(kind, tmp_path, picture)
    (draft,) = import_file(path, library, None)
    assert draft.title == "Why now" and MARKER in draft.body


@pytest.fixture(scope="module")
def oversized() -> dict[str, bytes]:
    """Pictures Pillow still opens: one claiming 12000 x 12000 pixels, over the 89 million
    where Pillow starts to warn, and one really holding 9000 x 9000 (81 million) in 12 kB,
    which Pillow takes without a word. Both are over MAX_PICTURE_PIXELS."""
    return {"warned": png(12_000, 12_000), "silent": png(9_000, 9_000, rows=9_000)}


def pictured(folder: Path, huge: bytes) -> AssembledDocument:
    """A library block with text, an enormous picture and a small one, assembled."""
    body = f"{MARKER}.\n\n![enormous](huge.png)\n\n![small](small.png)\n"
    root = write_library(folder, [{"id": "v-pictured", "slot": "value", "body": body}])
    (root / "assets").mkdir()
    (root / "assets" / "huge.png").write_bytes(huge)
    (root / "assets" / "small.png").write_bytes(SMALL_PNG)
    selection = Selection("p-northwind", (Section("value", "v-pictured", 0.5, "test"),), (), ())
    prospect = parse_prospect({"id": "p-northwind", "company": "Northwind Bank"})
    rep = Rep("Sam Rivera", "sam@vendor.example")
    return assemble(load_library(root), selection, prospect, dt.date(2026, 11, 25), rep)


@pytest.mark.parametrize("size", ["claimed", "compressible", "warned", "silent"])
def test_a_library_picture_of_enormous_size_is_not_embedded_in_decks_proposals_or_pages(
    tmp_path: Path, pixel_bombs: dict[str, bytes], oversized: dict[str, bytes], size: str
) -> None:
    """The three renderers read only the picture's header and refuse it there; the text and
    the small picture beside it are embedded as usual. Pillow's warning is ignored here as
    it is in production, where it does not stop anything: our own cap does."""
    doc = pictured(tmp_path / "library", {**pixel_bombs, **oversized}[size])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        slides = Presentation(io.BytesIO(render_deck(doc))).slides
        word = Document(io.BytesIO(render_proposal(doc)))
        page = render_html(doc)
    shapes = [shape for slide in slides for shape in slide.shapes]
    assert [s.image.blob for s in shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE] == [SMALL_PNG]
    assert any(s.has_text_frame and MARKER in s.text_frame.text for s in shapes)
    images = [
        p.blob for p in word.part.package.iter_parts() if p.partname.startswith("/word/media")
    ]
    assert images == [SMALL_PNG]
    assert any(MARKER in p.text for p in word.paragraphs)
    data_uris = re.findall(r'<img src="(data:[^"]*)" alt="([^"]*)"', page)
    assert data_uris == [(f"data:image/png;base64,{base64.b64encode(SMALL_PNG).decode()}", "small")]
    assert MARKER in page and "enormous" not in page


def test_pillows_warning_refuses_the_picture_where_warnings_are_errors(
    tmp_path: Path, oversized: dict[str, bytes]
) -> None:
    """As in these tests (pyproject.toml): the warning is raised, and taken as a refusal."""
    (tmp_path / "huge.png").write_bytes(oversized["warned"])
    assert resolve_picture(tmp_path, "huge.png") is None


@pytest.mark.parametrize(("extra_rows", "taken"), [(0, True), (1, False)])
def test_the_pixel_cap_takes_a_picture_up_to_it_and_not_a_row_more(
    tmp_path: Path, extra_rows: int, taken: bool
) -> None:
    height = MAX_PICTURE_PIXELS // 10_000 + extra_rows
    (tmp_path / "edge.png").write_bytes(png(10_000, height))
    assert (resolve_picture(tmp_path, "edge.png") is not None) is taken


# --- archives ------------------------------------------------------------------------------


def test_an_archive_inside_the_package_is_never_unpacked(tmp_path: Path, library: Library) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", bytes(20 * 1024 * 1024))
    with zipfile.ZipFile(inner) as archive:
        assert member_problems(archive.infolist())  # a bomb by our own measure
    bomb = {"ppt/embeddings/oleObject1.zip": inner.getvalue()}
    path = rebuilt(deck(tmp_path / "deck.pptx"), tmp_path / "nested.pptx", extra=bomb)
    (draft,) = import_file(path, library, None)
    assert draft.title == "Why now"


def many_members(folder: Path) -> Path:
    path = folder / "crowded.pptx"
    with zipfile.ZipFile(path, "w") as archive:
        for number in range(MAX_MEMBERS + 1):
            archive.writestr(f"ppt/slides/slide{number}.xml", b"")
    return path


def test_more_members_than_an_office_file_holds_are_refused_from_the_directory(
    tmp_path: Path, library: Library
) -> None:
    path = many_members(tmp_path)
    assert refused(path, library) == [
        f"{path}: file: holds {MAX_MEMBERS + 1} files; an Office file this large is refused"
    ]


def symbolic_link(folder: Path) -> Path:
    """The slide replaced by a link to /etc/passwd, as `zip --symlinks` stores one."""

    def change(name: str, data: bytes) -> bytes:
        return b"/etc/passwd" if name == DECK_SLIDE else data

    path = rebuilt(deck(folder / "deck.pptx"), folder / "linked.pptx", change)
    rewritten = folder / "linked-slide.pptx"
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(rewritten, "w") as new:
        for member in old.infolist():
            if member.filename == DECK_SLIDE:
                member.create_system, member.external_attr = 3, 0o120777 << 16
            new.writestr(member, old.read(member))
    path.unlink()
    return rewritten


def test_a_symbolic_link_in_the_package_is_refused(tmp_path: Path, library: Library) -> None:
    path = symbolic_link(tmp_path)
    assert refused(path, library) == [
        f"{path}: file: holds {DECK_SLIDE!r}, a symbolic link; Office files hold none"
    ]


# --- the command ---------------------------------------------------------------------------


def passwd_entity(folder: Path) -> Path:
    path, _ = external_entity(folder, "proposal", "file:///etc/passwd")
    return path


HOSTILE: dict[str, tuple[Build, str]] = {
    "external entity": (passwd_entity, f"holds {DOCUMENT!r}, {DTD_REFUSED}"),
    "symbolic link": (
        symbolic_link,
        f"holds {DECK_SLIDE!r}, a symbolic link; Office files hold none",
    ),
    "member count": (
        many_members,
        f"holds {MAX_MEMBERS + 1} files; an Office file this large is refused",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_the_command_exits_2_naming_the_file_and_writes_nothing(tmp_path: Path, case: str) -> None:
    build, message = HOSTILE[case]
    write_library(tmp_path / "lib", [{"id": "o-kept", "slot": "opening"}])
    before = {p.name: p.read_bytes() for p in (tmp_path / "lib" / "blocks").iterdir()}
    name = build(tmp_path).name
    run = pitchmap(tmp_path, "import", name, "--library", "lib")
    assert run.code == 2
    assert run.stdout == ""
    assert run.stderr.splitlines() == [f"error: {name}: file: {message}"]
    after = {p.name: p.read_bytes() for p in (tmp_path / "lib" / "blocks").iterdir()}
    assert after == before
    assert not (tmp_path / "data").exists()  # no database was opened, so no rows either
