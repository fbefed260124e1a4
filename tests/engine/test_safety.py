"""What renderers may embed or link: pictures inside the assets folder, web and mail links."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image as PILImage

from engine.assemble.safety import WEB_FORMATS, resolve_picture, safe_href, xml_text


@pytest.fixture
def assets(tmp_path: Path) -> Path:
    folder = tmp_path / "library" / "assets"
    (folder / "charts").mkdir(parents=True)
    PILImage.new("RGB", (40, 20)).save(folder / "charts" / "bar.png")
    PILImage.new("RGB", (40, 20)).save(folder / "photo.jpg", format="JPEG")
    PILImage.new("RGB", (40, 20)).save(folder / "photo.bmp", format="BMP")
    PILImage.new("RGB", (10, 10)).save(tmp_path / "library" / "secret.png")
    (folder / "fake.png").write_text("<svg onload='alert(1)'/>")
    (folder / "escape.png").symlink_to(tmp_path / "library" / "secret.png")
    return folder


def test_a_real_picture_inside_assets_resolves_with_its_size(assets: Path) -> None:
    picture = resolve_picture(assets, "charts/bar.png")
    assert picture is not None
    assert (picture.format, picture.width_px, picture.height_px) == ("png", 40, 20)
    assert picture.path == (assets / "charts" / "bar.png").resolve()
    jpeg = resolve_picture(assets, "photo.jpg")
    assert jpeg is not None and jpeg.format == "jpeg"


@pytest.mark.parametrize(
    "src",
    [
        "../secret.png",
        "charts/../../secret.png",
        "%2e%2e/secret.png",
        "..\\secret.png",
        "escape.png",  # a symlink pointing outside
        "/etc/passwd",
        "file:///etc/passwd",
        "https://example.com/x.png",
        "data:image/png;base64,AAAA",
        "fake.png",  # not an image at all
        "photo.bmp",  # an image, but not one every Office shows
        "missing.png",
        "",
    ],
)
def test_anything_else_is_refused(assets: Path, src: str) -> None:
    assert resolve_picture(assets, src) is None


def test_webp_is_taken_for_web_pages_but_not_for_office_files(assets: Path) -> None:
    PILImage.new("RGB", (40, 20)).save(assets / "photo.webp", format="WEBP")
    (assets / "webp-named.png").write_bytes((assets / "photo.webp").read_bytes())
    assert resolve_picture(assets, "photo.webp") is None
    assert resolve_picture(assets, "webp-named.png") is None
    picture = resolve_picture(assets, "photo.webp", WEB_FORMATS)
    assert picture is not None and picture.format == "webp"


def test_no_assets_folder_means_no_pictures() -> None:
    assert resolve_picture(None, "bar.png") is None


@pytest.mark.parametrize(
    ("href", "kept"),
    [
        ("https://example.com/a?b=c", True),
        ("http://example.com", True),
        ("mailto:dana@example.com", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("data:text/html,hi", False),
        ("file:///etc/passwd", False),
        ("/relative/path", False),
        ("https:", False),
        (None, False),
    ],
)
def test_only_web_and_mail_links_are_kept(href: str | None, kept: bool) -> None:
    assert (safe_href(href) is not None) is kept


def test_characters_xml_cannot_carry_become_spaces_and_the_rest_stays() -> None:
    assert xml_text("a\x00b\x0bc <script>{{ x }}\n") == "a b c <script>{{ x }}\n"
