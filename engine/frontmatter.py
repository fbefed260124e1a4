"""Split a block file into its YAML front matter and its Markdown body."""

from __future__ import annotations

from typing import Any

import yaml


class FrontMatterError(ValueError):
    """The file has no well-formed front matter; the message says what is wrong."""


def describe_yaml_error(exc: yaml.YAMLError, first_line: int = 1) -> str:
    """PyYAML's several-line message cut to one line: where, and what went wrong."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + first_line}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"invalid YAML{where}: {problem}"


def split(text: str) -> tuple[dict[str, Any], str]:
    """Return (front matter mapping, body); the front matter is YAML between two `---` lines."""
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise FrontMatterError("the file must start with a '---' line")
    closing = [i for i, line in enumerate(lines) if i and line.strip() == "---"]
    if not closing:
        raise FrontMatterError("no closing '---' line")
    end = closing[0]
    try:
        meta = yaml.safe_load("".join(lines[1:end]))
    except yaml.YAMLError as exc:
        raise FrontMatterError(describe_yaml_error(exc, first_line=2)) from None
    if not isinstance(meta, dict):
        raise FrontMatterError("must be a YAML mapping of fields")
    return meta, "".join(lines[end + 1 :])
