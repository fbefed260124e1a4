"""Reading YAML the one way pitchmap reads it, and splitting a block file into its front
matter and Markdown body.

Every YAML the product reads (block front matter, message_map.yaml, prospect profiles,
labels.yaml) goes through `load_yaml`, so each refuses the same hostile or mistaken input
with a problem naming the field and the line: a key given twice (PyYAML would silently keep
the last, so a profile saying `id` twice would be pitched as whichever came second), a value
PyYAML cannot build (`2026-13-45` matches its date pattern and then raises a bare
ValueError), an alias that contains itself (`a: &a [*a]`, endless to anything walking it),
aliases that multiply into millions of values, and nesting too deep for the parser.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.errors import Problem

_MERGE = "tag:yaml.org,2002:merge"
# No file pitchmap reads holds more than a few thousand values; aliases can make a few lines
# stand for billions (each level repeating the one before), which would stall every reader.
MAX_VALUES = 100_000
_UNREAD = object()  # a scalar PyYAML could not build (None is a value: `~`)
_KINDS = {
    "tag:yaml.org,2002:timestamp": "date",
    "tag:yaml.org,2002:int": "number",
    "tag:yaml.org,2002:float": "number",
    "tag:yaml.org,2002:binary": "base64 value",
}


class YamlError(ValueError):
    """YAML that pitchmap refuses. Each problem is (field, message): the field is a path such
    as `contact.name` or `slots[2].id`, or `file` when no single field is to blame."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.problems))

    def problems_in(self, where: str) -> list[Problem]:
        """The problems as the engine reports them, naming the file they were found in."""
        return [Problem(where, field, message) for field, message in self.problems]


def _describe_yaml_error(exc: yaml.YAMLError, first_line: int) -> str:
    """PyYAML's several-line message cut to one line: where, and what went wrong."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + first_line}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"invalid YAML{where}: {problem}"


def load_yaml(text: str, first_line: int = 1) -> Any:
    """The data of one YAML document, or YamlError listing every problem found in it.

    `first_line` is the file's line number of the text's first line, so that lines in
    messages are the ones an editor shows (front matter starts on line 2).
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        problems = _Check(loader, first_line).problems(node)
        if problems:
            raise YamlError(problems)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise YamlError([("file", _describe_yaml_error(exc, first_line))]) from None
    except RecursionError:
        raise YamlError([("file", "invalid YAML: nested too deeply")]) from None
    finally:
        loader.dispose()


class _Check:
    """One walk over the composed nodes, before anything is built from them: the walk knows
    each node's field and line, which the error of a failed build no longer does."""

    def __init__(self, loader: yaml.SafeLoader, first_line: int) -> None:
        self.loader, self.first_line = loader, first_line
        self.found: list[tuple[str, str]] = []
        self.sizes: dict[int, int] = {}  # a node reached again through an alias is not rewalked
        self.open: set[int] = set()

    def problems(self, root: Node) -> list[tuple[str, str]]:
        if self._walk(root, "") > MAX_VALUES:
            self._problem("", root, f"stands for more than {MAX_VALUES} values through aliases")
        return self.found

    def _problem(self, path: str, node: Node, message: str) -> None:
        self.found.append((path or "file", f"at line {self._line(node)} {message}"))

    def _line(self, node: Node) -> int:
        return int(node.start_mark.line) + self.first_line

    def _walk(self, node: Node, path: str) -> int:
        """How many values `node` stands for once its aliases are expanded."""
        if id(node) in self.open:
            self._problem(path, node, "contains itself (a recursive alias)")
            return 1
        if id(node) not in self.sizes:
            self.open.add(id(node))
            self.sizes[id(node)] = 1 + sum(
                self._walk(child, at) for child, at in self._children(node, path)
            )
            self.open.discard(id(node))
        return self.sizes[id(node)]

    def _children(self, node: Node, path: str) -> list[tuple[Node, str]]:
        """The values under `node`, each with its path; a scalar has none, and is built here
        so that one PyYAML cannot build is named before the real build stops on it."""
        if isinstance(node, SequenceNode):
            return [(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            return self._entries(node, path)
        if isinstance(node, ScalarNode):
            self._build(node, path)
        return []

    def _entries(self, node: MappingNode, path: str) -> list[tuple[Node, str]]:
        children: list[tuple[Node, str]] = []
        first: dict[object, Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:  # `<<: *defaults`: its keys may be given again beside it
                children.append((value_node, path))
                continue
            key = self._build(key_node, path) if isinstance(key_node, ScalarNode) else _UNREAD
            if key is not _UNREAD and not isinstance(key, Hashable):  # `!!seq a: 1`
                self._problem(path, key_node, f"{key_node.value[:40]!r} is not a valid key")
                key = _UNREAD
            if key is _UNREAD:  # unbuildable, or a list or mapping PyYAML refuses as a key
                children.append((value_node, f"{path}[?]"))
                continue
            at = f"{path}.{key}" if path else str(key)
            if key in first:
                line = self._line(first[key])
                self._problem(at, key_node, f"repeats a key first given at line {line}")
            first.setdefault(key, key_node)
            children.append((value_node, at))
        return children

    def _build(self, node: ScalarNode, path: str) -> object:
        """The scalar's value, or _UNREAD with a problem when PyYAML cannot build it."""
        try:
            return self.loader.construct_object(node)
        except (ValueError, TypeError, yaml.YAMLError) as exc:
            reason = (getattr(exc, "problem", None) or str(exc))[:80]
            kind = _KINDS.get(node.tag, node.tag)
            self._problem(path, node, f"{node.value[:40]!r} is not a valid {kind} ({reason})")
            return _UNREAD


def split(text: str) -> tuple[dict[str, Any], str]:
    """Return (front matter mapping, body); the front matter is YAML between two `---` lines.

    YamlError's problems name the field when one is to blame, else `front matter`."""
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise YamlError([("front matter", "the file must start with a '---' line")])
    closing = [i for i, line in enumerate(lines) if i and line.strip() == "---"]
    if not closing:
        raise YamlError([("front matter", "no closing '---' line")])
    end = closing[0]
    try:
        meta = load_yaml("".join(lines[1:end]), first_line=2)
    except YamlError as exc:
        renamed = [("front matter" if f == "file" else f, m) for f, m in exc.problems]
        raise YamlError(renamed) from None
    if not isinstance(meta, dict):
        raise YamlError([("front matter", "must be a YAML mapping of fields")])
    return meta, "".join(lines[end + 1 :])
