"""The assembled document as a web page: sections in order, text always escaped, only safe
links, only images from the library's own assets, and nothing fetched from anywhere."""

from __future__ import annotations

import base64
import datetime as dt
import io
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage

from engine import Section, Selection, load_library, parse_prospect
from engine.assemble import AssembledDocument, Rep, assemble, render_html
from engine.assemble.html import MAX_IMAGE_BYTES
from tests.factories import write_library

AS_OF = dt.date(2026, 11, 24)


def picture(kind: str) -> bytes:
    """A real 4 x 2 picture, as the renderers read it with Pillow."""
    data = io.BytesIO()
    PILImage.new("RGB", (4, 2), "teal").save(data, format=kind)
    return data.getvalue()


PNG = picture("PNG")
PROSPECT = {
    "id": "p-northwind",
    "company": "Northwind Bank",
    "contact": {"name": "Dana Lee", "title": "CFO"},
}


class Page(HTMLParser):
    """What a browser would see: tags with their attributes, and headings in order."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[int] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.headings.append(int(tag[1]))

    def attrs(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def urls(self) -> list[str]:
        return [
            value
            for _, attrs in self.tags
            for name, value in attrs.items()
            if name in ("href", "src") and value is not None
        ]


def document(
    tmp_path: Path, blocks: list[dict[str, Any]], assets: dict[str, bytes] | None = None
) -> AssembledDocument:
    """A real library folder, a hand-made selection of its blocks in the order given."""
    root = write_library(tmp_path / "lib", blocks)
    for name, content in (assets or {}).items():
        path = root / "assets" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    library = load_library(root)
    sections = tuple(Section(b["slot"], b["id"], 0.5, "test") for b in blocks)
    selection = Selection("p-northwind", sections, (), ())
    prospect = parse_prospect(PROSPECT)
    return assemble(library, selection, prospect, AS_OF, Rep("Sam Rivera", "sam@vendor.example"))


def page(tmp_path: Path, body: str, assets: dict[str, bytes] | None = None) -> str:
    return render_html(document(tmp_path, [{"id": "v-one", "slot": "value", "body": body}], assets))


def test_every_section_carries_its_block_id_and_slot_in_selection_order(tmp_path: Path) -> None:
    blocks = [
        {"id": "o-why", "slot": "opening", "title": "Why {{ prospect.company }}"},
        {"id": "v-b", "slot": "value", "title": "Second"},
        {"id": "v-a", "slot": "value", "title": "Third"},
        {"id": "p-case", "slot": "proof", "title": "Fourth"},
    ]
    parsed = Page(render_html(document(tmp_path, blocks)))
    sections = parsed.attrs("section")
    assert [s["data-block-id"] for s in sections] == ["o-why", "v-b", "v-a", "p-case"]
    assert [s["data-slot"] for s in sections] == ["opening", "value", "value", "proof"]


def test_the_page_has_one_title_a_header_and_headings_in_order(tmp_path: Path) -> None:
    html = page(
        tmp_path, "Intro.\n\n# A heading inside the body\n\nMore.\n\n### And a deeper one\n"
    )
    parsed = Page(html)
    assert parsed.attrs("html") == [{"lang": "en"}]
    assert parsed.headings == [1, 2, 3, 3]
    assert "<h1>Test pitch for Northwind Bank</h1>" in html
    assert "Dana Lee, CFO · Northwind Bank" in html
    assert "Sam Rivera · sam@vendor.example" in html
    assert '<time datetime="2026-11-24">24 November 2026</time>' in html
    assert (
        '<p class="label">What changes for you</p>\n<h2 id="section-1">Title of v-one</h2>' in html
    )


def test_block_text_and_prospect_values_come_out_as_text_never_as_markup(tmp_path: Path) -> None:
    body = (
        "Hi <script>alert(1)</script> and <img src=x onerror=alert(2)>.\n\n"
        '| a | b |\n|---|---|\n| <b onclick="x()">cell</b> | "quoted" & more |\n'
    )
    html = page(tmp_path, body)
    assert "<script" not in html
    assert "<img" not in html
    assert "<b " not in html
    assert (
        "Hi &lt;script&gt;alert(1)&lt;/script&gt; and &lt;img src=x onerror=alert(2)&gt;." in html
    )
    assert "&lt;b onclick=&#34;x()&#34;&gt;cell&lt;/b&gt;" in html
    assert "&#34;quoted&#34; &amp; more" in html


def test_only_the_blocks_own_web_and_mail_links_survive_with_noopener(tmp_path: Path) -> None:
    body = (
        "[site](https://example.com/a?b=1&c=2) [mail](mailto:hi@example.com) "
        "[http](http://example.org) [relative](/admin) [ftp](ftp://files.example.com) "
        "[script](javascript:alert(1)) [data](data:text/html,hi) [file](file:///etc/passwd)"
    )
    parsed = Page(page(tmp_path, body))
    links = parsed.attrs("a")
    assert [a["href"] for a in links] == [
        "https://example.com/a?b=1&c=2",
        "mailto:hi@example.com",
        "http://example.org",
    ]
    assert all(a["rel"] == "noopener" for a in links)


def test_the_page_requests_nothing_from_anywhere(tmp_path: Path) -> None:
    body = "Text with [a link](https://example.com).\n\n![logo](logo.png)\n"
    html = page(tmp_path, body, {"logo.png": PNG})
    parsed = Page(html)
    assert [t for t, _ in parsed.tags if t in ("script", "iframe", "object", "embed")] == []
    assert [a for a in parsed.attrs("link") if a.get("rel") != "icon"] == []
    for url in parsed.urls():
        assert url.startswith("data:") or url == "https://example.com"
    assert "<style>" in html
    assert "url(" not in html and "@import" not in html
    csp = [m for m in parsed.attrs("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in str(csp[0]["content"])


def test_an_image_inside_the_assets_folder_is_embedded_as_a_data_uri(tmp_path: Path) -> None:
    html = page(tmp_path, "![Our team](team/photo.png)\n", {"team/photo.png": PNG})
    (image,) = Page(html).attrs("img")
    assert image["alt"] == "Our team"
    assert image["src"] == "data:image/png;base64," + base64.b64encode(PNG).decode()


@pytest.mark.parametrize(
    "src",
    [
        "../../etc/passwd",
        "../blocks/v-one.md",
        "..%2F..%2Fetc%2Fpasswd",
        "/etc/passwd",
        "https://tracker.example/pixel.png",
        "//tracker.example/pixel.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "missing.png",
        "not-an-image.png",
        "page.html",
        "outside.png",
        "huge.png",
    ],
)
def test_an_image_that_is_not_a_real_picture_inside_assets_is_dropped_without_a_trace(
    tmp_path: Path, src: str
) -> None:
    assets = {
        "not-an-image.png": b"<svg onload=alert(1)></svg>",
        "page.html": b"<html></html>",
        "huge.png": PNG + b"\x00" * MAX_IMAGE_BYTES,
    }
    outside = tmp_path / "secret.png"
    outside.write_bytes(PNG)
    doc_root = tmp_path / "lib"
    (doc_root / "assets").mkdir(parents=True)
    (doc_root / "assets" / "outside.png").symlink_to(outside)
    html = page(tmp_path, f"Before.\n\n![hidden]({src})\n\nAfter.\n", assets)
    assert Page(html).attrs("img") == []
    assert "hidden" not in html
    assert "passwd" not in html and "tracker" not in html


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("pic.jpg", "JPEG", "image/jpeg"),
        ("pic.gif", "GIF", "image/gif"),
        ("pic.webp", "WEBP", "image/webp"),
        ("misnamed.png", "JPEG", "image/jpeg"),
    ],
)
def test_jpeg_gif_and_webp_are_embedded_with_the_type_of_their_content(
    tmp_path: Path, name: str, content: str, kind: str
) -> None:
    html = page(tmp_path, f"![pic]({name})\n", {name: picture(content)})
    (image,) = Page(html).attrs("img")
    assert str(image["src"]).startswith(f"data:{kind};base64,")


def test_a_library_without_assets_shows_no_image(tmp_path: Path) -> None:
    doc = document(tmp_path, [{"id": "v-one", "slot": "value", "body": "![x](logo.png)\n"}])
    assert doc.assets is None
    assert Page(render_html(doc)).attrs("img") == []


def test_nested_list_items_nest_and_tables_have_a_header(tmp_path: Path) -> None:
    body = (
        "1. first\n   - inner **bold**\n     - innermost\n2. second\n\n"
        "| metric | before | after |\n|---|---|---|\n| cost | $1.4M | $312k |\n"
    )
    html = page(tmp_path, body)
    assert (
        "<ol>\n<li>first\n<ol>\n<li>inner <strong>bold</strong>\n<ol>\n<li>innermost</li>\n"
        "</ol></li>\n</ol></li>\n<li>second</li>\n</ol>"
    ) in html
    assert '<thead><tr><th scope="col">metric</th>' in html
    assert "<tbody>\n<tr><td>cost</td><td>$1.4M</td><td>$312k</td></tr>" in html


def test_quotes_and_marks_are_rendered(tmp_path: Path) -> None:
    html = page(tmp_path, "> We *never* looked back. **Dana**\n")
    assert (
        "<blockquote><p>We <em>never</em> looked back. <strong>Dana</strong></p></blockquote>"
    ) in html


def test_no_placeholder_syntax_is_left_in_the_page(tmp_path: Path) -> None:
    body = (
        "For {{ prospect.company }}, {{ contact.name | default('your team') }}.\n\n"
        "- {{ rep.name }} on {{ today }}\n\n| {{ contact.title }} |\n|---|\n| {{ rep.email }} |\n"
    )
    html = page(tmp_path, body)
    assert "{{" not in html and "{%" not in html and "}}" not in html
    assert "For Northwind Bank, Dana Lee." in html
