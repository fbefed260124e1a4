"""Prospect profiles: who the pitch is for, read from YAML or JSON files."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import NUL_REFUSED, Problem, ProspectError
from engine.files import FileRefusedError, read_text
from engine.frontmatter import YamlError, load_yaml
from engine.library import SLUG

SUFFIXES = (".yaml", ".yml", ".json")
_NOT_FACETS = frozenset({"id", "company", "contact", "needs"})
_CONTACT_FIELDS = ("name", "title", "email")
# A profile is a few lines a rep typed: anything far longer is a mistake or an attack, and
# would break a document's metadata (Office caps a title at 255 characters) or its layout.
MAX_ID = 100
MAX_FIELD = 200
MAX_NEEDS = 20_000
MAX_DIGITS = 100


@dataclass(frozen=True)
class Contact:
    name: str | None = None
    title: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Prospect:
    """A company being pitched. `fields` keeps the whole profile for `prospect.*` placeholders."""

    id: str
    company: str
    contact: Contact = field(default_factory=Contact)
    needs: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)

    def facet(self, name: str) -> tuple[str, ...]:
        """The prospect's values for a facet, lower-cased; empty when the profile is silent."""
        value = self.fields.get(name)
        if name in _NOT_FACETS or value is None:
            return ()
        values = value if isinstance(value, list) else [value]
        return tuple(str(v).strip().lower() for v in values if str(v).strip())


def load_prospects(path: str | Path) -> list[Prospect]:
    """Read one profile file, or every profile in a folder; raise listing every problem."""
    path = Path(path)
    problems: list[Problem] = []
    if path.is_dir():
        # Not only regular files: a folder or FIFO named like a profile is reported, not
        # skipped; a broken link (an editor's lock file, `.#p-a.yaml`) names nothing to load.
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES and p.exists())
        if not files:
            problems.append(Problem(str(path), "prospects", "the folder has no .yaml/.json file"))
    elif path.exists():  # a FIFO or a device too: _load_file says what is wrong with it
        files = [path]
    else:
        problems.append(Problem(str(path), "prospects", "no such file or folder"))
        files = []
    prospects: list[Prospect] = []
    seen: dict[str, Path] = {}
    for file in files:
        prospect = _load_file(file, problems)
        if prospect is None:
            continue
        if prospect.id in seen:
            problems.append(Problem(str(file), "id", f"duplicate id, also in {seen[prospect.id]}"))
            continue
        seen[prospect.id] = file
        prospects.append(prospect)
    if problems:
        raise ProspectError(problems)
    return prospects


def parse_prospect(data: object, where: str = "prospect") -> Prospect:
    """Validate one profile given as parsed data (e.g. an API body)."""
    problems: list[Problem] = []
    prospect = _prospect(data, where, problems)
    if prospect is None:
        raise ProspectError(problems)
    return prospect


def _load_file(path: Path, problems: list[Problem]) -> Prospect | None:
    where = str(path)
    try:
        text = read_text(path)
        data = _load_json(text, where) if path.suffix.lower() == ".json" else load_yaml(text)
    except FileRefusedError as exc:
        problems.append(Problem(where, "file", str(exc)))
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(where, "file", f"cannot be read: {exc}"))
        return None
    except json.JSONDecodeError as exc:
        problems.append(Problem(where, "file", f"invalid JSON at line {exc.lineno}: {exc.msg}"))
        return None
    except YamlError as exc:
        problems.extend(exc.problems_in(where))
        return None
    except ProspectError as exc:
        problems.extend(exc.problems)
        return None
    return _prospect(data, where, problems)


def _load_json(text: str, where: str) -> object:
    """JSON, refusing a key given twice as YAML files do (json keeps the last one silently),
    each named by its path (`contact.name`), and nesting too deep to read."""
    repeated: list[str] = []
    try:
        data = _unique(
            json.loads(
                text, object_pairs_hook=_Pairs, parse_int=_integer, parse_constant=_not_json
            ),
            "",
            repeated,
        )
    except RecursionError:
        raise ProspectError([Problem(where, "file", "invalid JSON: nested too deeply")]) from None
    except _NotJsonError as exc:
        raise ProspectError([Problem(where, "file", f"invalid JSON: {exc}")]) from None
    if repeated:
        raise ProspectError([Problem(where, path, "is given twice") for path in repeated])
    return data


class _NotJsonError(ValueError):
    """What Python's reader takes but a profile may not hold."""


def _not_json(constant: str) -> object:
    """NaN and Infinity, which Python accepts and JSON does not."""
    raise _NotJsonError(f"{constant} is not a JSON value")


def _integer(digits: str) -> int:
    """An integer, refused when longer than any profile field could use (Python refuses over
    4,300 digits with a bare ValueError)."""
    if (count := len(digits.lstrip("-"))) > MAX_DIGITS:
        raise _NotJsonError(f"a number of {count} digits is too long")
    return int(digits)


class _Pairs(list[tuple[str, object]]):
    """A JSON object as written, every key kept, until `_unique` has checked them."""


def _unique(value: object, path: str, repeated: list[str]) -> object:
    """`value` with its objects as dicts; the path of each key given twice goes to `repeated`."""
    if isinstance(value, _Pairs):
        named = {key: f"{path}.{key}" if path else key for key, _ in value}
        counts = Counter(key for key, _ in value)
        repeated += sorted(named[key] for key, count in counts.items() if count > 1)
        return {key: _unique(item, named[key], repeated) for key, item in value}
    if isinstance(value, list):
        return [_unique(item, f"{path}[{i}]", repeated) for i, item in enumerate(value)]
    return value


def _prospect(data: object, where: str, problems: list[Problem]) -> Prospect | None:
    if not isinstance(data, dict):
        problems.append(Problem(where, "file", "must be a mapping of profile fields"))
        return None
    before = len(problems)
    prospect_id, company = data.get("id"), data.get("company")
    if not isinstance(prospect_id, str) or not SLUG.match(prospect_id):
        problems.append(Problem(where, "id", "is required and must match [a-z0-9_-]+"))
    if not isinstance(company, str) or not company.strip():
        problems.append(Problem(where, "company", "is required and must be text"))
    needs = data.get("needs", "")
    if needs is None:
        needs = ""
    if not isinstance(needs, str):
        problems.append(Problem(where, "needs", "must be text"))
    contact = _contact(data.get("contact"), where, problems)
    for name, value in data.items():
        if name not in _NOT_FACETS and not _is_facet_value(value):
            problems.append(Problem(where, str(name), "must be text or a list of text"))
        limit = MAX_NEEDS if name == "needs" else MAX_ID if name == "id" else MAX_FIELD
        if max(map(len, _texts(value)), default=0) > limit:
            problems.append(Problem(where, str(name), f"is longer than {limit} characters"))
        if any("\x00" in text for text in (str(name), *_texts(value))):
            # PostgreSQL refuses NUL in text; no profile means one.
            problems.append(Problem(where, str(name), NUL_REFUSED))
    if len(problems) > before:
        return None
    assert isinstance(prospect_id, str) and isinstance(company, str) and isinstance(needs, str)
    fields = {str(k): v for k, v in data.items()}
    return Prospect(prospect_id, company.strip(), contact, needs.strip(), fields)


def _contact(raw: object, where: str, problems: list[Problem]) -> Contact:
    if raw is None:
        return Contact()
    if not isinstance(raw, dict):
        problems.append(Problem(where, "contact", "must be a mapping with name, title, email"))
        return Contact()
    values: dict[str, str | None] = {}
    for name in _CONTACT_FIELDS:
        value = raw.get(name)
        if value is not None and not isinstance(value, str):
            problems.append(Problem(where, f"contact.{name}", "must be text"))
            value = None
        values[name] = value.strip() if isinstance(value, str) else None
    return Contact(**values)


def _texts(value: object) -> Iterator[str]:
    """Every text anywhere in a profile value (a contact is a mapping of texts)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)


def _is_facet_value(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, list):
        return all(map(_is_facet_scalar, value))
    return _is_facet_scalar(value)


def _is_facet_scalar(value: object) -> bool:
    """Text, or a number a tag could name (`size: 500`); not a flag, and not a float that
    names nothing (`.nan`, `.inf`, or JSON's 1e999)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str | int) and not isinstance(value, bool)
