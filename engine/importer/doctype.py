"""Each member of an Office package read up to its first element, to refuse a DTD before parsing.

A DTD is what every XML entity trick needs: a billion laughs (entities of entities inflating
a few kilobytes into gigabytes) or an external entity that pulls `/etc/passwd` or a URL into
the text. The Open Packaging Conventions forbid DTDs in a package's XML and tell readers to
treat one as an error (ECMA-376 Part 2, [M1.18]), so no file Office wrote has one.
python-pptx and python-docx already parse without resolving entities or using the network,
and libxml2 caps entity amplification; refusing here gives a clear answer naming the member
instead of a parser's message or a draft with holes, and does not rest on those settings.

The prolog is read with lxml, the parser the Office libraries use, rather than with
defusedxml's expat: a part in an encoding only libxml2 reads would otherwise reach them
unchecked. Parsing stops at the DTD's first token or at the first element, so an ordinary
part costs a few hundred bytes and no entity is declared, let alone expanded (SVG pictures
apart, below).
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator

from lxml import etree

# Drawing programs (Illustrator among them) write the SVG 1.1 DOCTYPE into their files, and
# PowerPoint keeps an inserted SVG picture as it came; pictures are never parsed on import.
_SVG = "svg"
_SVG_ROOT = "{http://www.w3.org/2000/svg}svg"
_CHUNK = 4096
# What reading a member can raise besides lxml: damaged or encrypted data, an unknown method.
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


def doctype_problems(archive: zipfile.ZipFile) -> list[str]:
    """What is wrong with the members' prologs; call only once the directory passed its checks,
    since this inflates the start of every member."""
    problems: list[str] = []
    for member in archive.infolist():
        try:
            declared = _declares_dtd(archive, member)
        except _UNREADABLE as exc:
            problems.append(f"holds {member.filename!r}, which cannot be read ({exc})")
            continue
        if declared:
            problems.append(
                f"holds {member.filename!r}, whose XML declares a DTD; Office files never do "
                "(an XML entity attack?)"
            )
    return problems


class _StopParseError(Exception):
    """Raised by the parser target to end the parse: everything needed has been seen."""


class _Prolog:
    """An lxml parser target that ends the parse at a DTD (keeping the name it gives the root)
    or at the first element, whichever comes first."""

    def __init__(self) -> None:
        self.declared: str | None = None

    def doctype(self, name: str, public_id: str | None, system_url: str | None) -> None:
        self.declared = name
        raise _StopParseError

    def start(self, tag: str, attrib: object, nsmap: object = None) -> None:
        raise _StopParseError

    def close(self) -> None:
        """lxml asks every target for a result; the prolog's is `declared`."""


def _declares_dtd(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    """Whether the member is XML with a DTD, SVG pictures apart; not XML at all is no DTD."""
    declared = _doctype(archive, member)
    if declared is None:
        return False
    return declared != _SVG or not _svg_root(archive, member)


def _doctype(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> str | None:
    """The root name the member's DTD declares, or None for no DTD (or no XML at all)."""
    prolog = _Prolog()
    parser = etree.XMLParser(target=prolog, resolve_entities=False, no_network=True)
    try:
        for chunk in _chunks(archive, member):
            parser.feed(chunk)
    except _StopParseError:
        pass
    except etree.XMLSyntaxError:
        pass  # a picture, or a broken part the Office library refuses itself
    return prolog.declared


def _svg_root(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    """Whether the first element is SVG's. Only a member whose DTD names its root `svg` gets
    this far, and only this parse reads a DTD's declarations (entities never resolved): a
    parser target cannot see past an internal subset that declares entities."""
    parser = etree.XMLPullParser(events=("start",), resolve_entities=False, no_network=True)
    try:
        for chunk in _chunks(archive, member):
            parser.feed(chunk)
            for _, element in parser.read_events():
                return bool(element.tag == _SVG_ROOT)
    except etree.XMLSyntaxError:
        return False
    return False


def _chunks(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> Iterator[bytes]:
    with archive.open(member) as stream:
        while chunk := stream.read(_CHUNK):
            yield chunk
