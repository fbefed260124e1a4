"""What a rendered document may take from content: text XML can carry, links, and pictures.

Block text is written by marketing and filled with prospect data, so renderers treat it as
untrusted: it is only ever text, a link only points at the web or a mailbox, and a picture
is embedded only when it is a real image file of a sensible size inside the library's own
`assets/` folder. The deck, the proposal and the web page all ask `resolve_picture`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from PIL import Image as PILImage
from PIL import UnidentifiedImageError

# Characters XML 1.0 cannot hold at all: lxml refuses them, so one stray control character in
# a block would otherwise fail a whole deck.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
# Pillow's format names, and ours (also the MIME subtype), for the pictures we embed.
_IMAGE_FORMATS = {"PNG": "png", "JPEG": "jpeg", "GIF": "gif", "WEBP": "webp"}
_IMAGE_SUFFIXES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif", ".webp": "webp"}
# The pictures every Office version and LibreOffice show alike.
OFFICE_FORMATS = frozenset({"png", "jpeg", "gif"})
# Every browser shows WebP too.
WEB_FORMATS = OFFICE_FORMATS | {"webp"}
# The largest picture embedded (width x height); `resolve_picture` says why this number.
MAX_PICTURE_PIXELS = 50_000_000


@dataclass(frozen=True)
class Picture:
    """An image file that passed every check, with its pixel size for scaling to fit."""

    path: Path
    format: str  # png, jpeg, gif or (web pages only) webp
    width_px: int
    height_px: int


# python-pptx and python-docx refuse a core property (title, subject, author) longer than this.
OFFICE_PROPERTY_MAX = 255


def xml_text(text: str) -> str:
    """The text with characters XML cannot carry replaced by spaces, everything else verbatim."""
    return _NOT_XML.sub(" ", text)


def safe_href(href: str | None) -> str | None:
    """The link target if it is an absolute http(s) or mailto address, else None.

    Anything else (javascript:, file:, data:, relative paths) would do something other than
    open a web page in a reader's Office app, so the words stay but the link is dropped.
    """
    if not href:
        return None
    target = href.strip()
    parts = urlsplit(target)
    if parts.scheme.lower() not in _LINK_SCHEMES or _NOT_XML.search(target):
        return None
    if parts.scheme.lower() != "mailto" and not parts.netloc:
        return None
    return target


def resolve_picture(
    assets: Path | None, src: str, formats: frozenset[str] = OFFICE_FORMATS
) -> Picture | None:
    """The picture `src` names inside `assets`, or None when it may not or cannot be embedded.

    Refused: URLs and any scheme, absolute paths, anything that resolves (symlinks followed)
    outside the assets folder, suffixes and contents other than `formats`, and pictures over
    MAX_PICTURE_PIXELS. Only the header is read, so a picture is refused before anyone decodes
    it: a header may claim any size in a few bytes, and whoever opens the deck, the proposal or
    the web page decodes about 4 bytes a pixel. Pillow only warns below 179 million pixels
    (over 700 MB decoded), so the cap is ours: a 4K screen is 8.3 million pixels and an A4 page
    at 300 dpi 8.7 million, so no slide or page needs more than a few; 50 million (200 MB
    decoded) still takes a 45-megapixel camera's photo as it comes.
    """
    path = _inside(assets, src)
    if path is None or _IMAGE_SUFFIXES.get(path.suffix.lower()) not in formats:
        return None
    try:
        with PILImage.open(path) as image:
            kind = _IMAGE_FORMATS.get(image.format or "")
            size = image.size
    # Pillow raises past 179 million pixels and warns past 89 million; the warning is only an
    # exception where warnings are errors (as in our tests), and otherwise the cap below holds.
    except (
        OSError,
        UnidentifiedImageError,
        PILImage.DecompressionBombError,
        PILImage.DecompressionBombWarning,
    ):
        return None
    if kind not in formats or min(size) <= 0 or size[0] * size[1] > MAX_PICTURE_PIXELS:
        return None
    return Picture(path, kind, size[0], size[1])


def _inside(assets: Path | None, src: str) -> Path | None:
    """The file `src` names if it lies inside `assets`; None for anything that escapes."""
    if assets is None or not src or urlsplit(src).scheme or src.startswith(("/", "\\")):
        return None
    relative = unquote(src)
    if Path(relative).is_absolute() or "\\" in relative or _NOT_XML.search(relative):
        return None
    root = assets.resolve()
    try:
        path = (root / relative).resolve()
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path
