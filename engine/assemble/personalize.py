"""Placeholders in a block's title and text, filled for one prospect inside a sandbox.

Filling happens after the Markdown was parsed, one span of text at a time, so a prospect's
company name can never turn into Markdown or HTML: it lands in `Span.text`, which every
renderer escapes (hence autoescape is off here). Block text is written by marketing and by
importers of outside files, so it is treated as untrusted: an immutable sandboxed Jinja
environment with no loader, no globals and a handful of filters, and a placeholder may only
name, filter or test values (no calls, arithmetic, loops or includes). It can neither run
code, read a file, reach the network, nor make the machine compute for ever.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, Template, Undefined, nodes
from jinja2.exceptions import (
    SecurityError,
    TemplateError,
    TemplateRuntimeError,
    TemplateSyntaxError,
    UndefinedError,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing

from engine.assemble.document import Rep
from engine.errors import InputError, Problem
from engine.library import Block
from engine.markdown import Heading, ListBlock, Node, Paragraph, Quote, Spans, Table
from engine.prospect import Prospect

ROOTS = ("prospect", "contact", "rep", "today")
# Enough to shape a value (`| default("your team")`, `| upper`, a list `| join(", ")`);
# filters that pad, repeat or format could be made to allocate without bound.
_FILTERS = ("default", "d", "upper", "lower", "title", "capitalize", "trim", "join")
# The expressions a placeholder may use: names, attributes, literals, filters, tests and
# conditions. Anything else (calls, arithmetic, loops, assignments, includes, macros) is
# refused before the template is compiled, so not even constant folding runs it.
_ALLOWED = frozenset(
    {
        nodes.Template,
        nodes.Output,
        nodes.TemplateData,
        nodes.Const,
        nodes.Name,
        nodes.Getattr,
        nodes.Getitem,
        nodes.Filter,
        nodes.Test,
        nodes.Keyword,
        nodes.If,
        nodes.CondExpr,
        nodes.And,
        nodes.Or,
        nodes.Not,
        nodes.Compare,
        nodes.Operand,
        nodes.Concat,
    }
)
_MARKERS = ("{{", "{%", "{#")
_SPLIT_HINT = "a placeholder must sit inside one run of text, not across bold, italic or links"


@dataclass(frozen=True)
class Placeholders:
    """The values a block's placeholders may name: one prospect, on one day, for one rep."""

    prospect: Prospect
    as_of: dt.date
    rep: Rep


@dataclass(frozen=True)
class FilledBlock:
    """A block's title and body with every placeholder replaced by the prospect's values."""

    block_id: str
    title: str
    nodes: tuple[Node, ...]


def fill(blocks: Sequence[Block], values: Placeholders, folder: Path) -> tuple[FilledBlock, ...]:
    """Fill every block, or raise one InputError listing every problem in all of them.

    `folder` is the library's `blocks/` folder, so each problem names the block's file.
    """
    context = _context(values)
    filled: list[FilledBlock] = []
    problems: list[Problem] = []
    for block in blocks:
        filler = _Filler(context, values.prospect.id)
        title = filler.text(block.title, "title")
        body = tuple(filler.node(node) for node in block.nodes)
        where = str(folder / f"{block.id}.md")
        problems.extend(Problem(where, field, message) for field, message in filler.problems)
        filled.append(FilledBlock(block.id, title, body))
    if problems:
        raise InputError(problems)
    return tuple(filled)


def _context(values: Placeholders) -> dict[str, object]:
    """The template variables. A field that is absent, None or blank has no value, so a
    placeholder naming it fails unless it says what to print instead (`default`)."""
    p = values.prospect
    profile = {**p.fields, "id": p.id, "company": p.company}
    return {
        "prospect": _value("prospect", profile),
        "contact": _value("contact", dataclasses.asdict(p.contact)),
        "rep": _value("rep", dataclasses.asdict(values.rep)),
        "today": values.as_of,
    }


class _Filler:
    """Fills the texts of one block, remembering each distinct problem once."""

    def __init__(self, context: dict[str, object], prospect_id: str) -> None:
        self.context = context
        self.prospect_id = prospect_id
        self.problems: set[tuple[str, str]] = set()

    def node(self, node: Node) -> Node:
        if isinstance(node, Paragraph | Heading | Quote):
            return dataclasses.replace(node, spans=self.spans(node.spans))
        if isinstance(node, ListBlock):
            items = tuple(dataclasses.replace(i, spans=self.spans(i.spans)) for i in node.items)
            return dataclasses.replace(node, items=items)
        if isinstance(node, Table):
            header = tuple(self.spans(cell) for cell in node.header)
            rows = tuple(tuple(self.spans(cell) for cell in row) for row in node.rows)
            return dataclasses.replace(node, header=header, rows=rows)
        return dataclasses.replace(node, alt=self.text(node.alt, "body"))

    def spans(self, spans: Spans) -> Spans:
        return tuple(dataclasses.replace(s, text=self.text(s.text, "body")) for s in spans)

    def text(self, text: str, field: str) -> str:
        if not any(marker in text for marker in _MARKERS):
            return text
        try:
            return self._render(_template(text), field)
        except TemplateSyntaxError as exc:
            self.problems.add((field, f"placeholder cannot be read: {exc.message} ({_SPLIT_HINT})"))
        except _NotAllowedError as exc:
            self.problems.add((field, str(exc)))
        except SecurityError as exc:
            self.problems.add((field, f"placeholder refused: {exc}"))
        # Block text is untrusted: whatever else a filter or test raises is the block's fault.
        except (TemplateError, LookupError, TypeError, ValueError, ArithmeticError) as exc:
            self.problems.add((field, f"placeholder cannot be filled: {exc}"))
        return ""

    def _render(self, template: Template, field: str) -> str:
        """Render, or record every variable without a value: after each one found, render
        again as if it had one, so a paragraph naming three missing values reports all three."""
        context: dict[str, object] | None = self.context
        seen: set[str] = set()
        while context is not None:
            try:
                return template.render(context)
            except _NoValueError as exc:
                variable = str(exc)
                self.problems.add((field, self._no_value(variable)))
                context = None if variable in seen else _assume(context, variable)
                seen.add(variable)
        return ""

    def _no_value(self, variable: str) -> str:
        if variable.split(".")[0] not in ROOTS:  # an attribute of a plain value, not a group
            return f"placeholder asks for {variable!r} of a value that has no such field"
        return (
            f"placeholder {variable!r} has no value for prospect {self.prospect_id!r}; "
            'add | default("...")'
        )


class _Scope:
    """A group of values (`prospect`, `contact`, `rep`) that knows its own dotted name.

    Not a dict, so no profile field is shadowed by a dict method (`prospect.items`), and the
    name lets a missing value be reported as `contact.name` rather than as `name`.
    """

    __slots__ = ("_name", "_values")

    def __init__(self, name: str, values: dict[str, object]) -> None:
        self._name = name
        self._values = values

    def __getattr__(self, key: str) -> object:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(key) from None

    def __getitem__(self, key: str) -> object:
        return self._values[key]

    def _with(self, keys: list[str]) -> _Scope:
        """A copy in which the dotted `keys` have a stand-in value."""
        key, *rest = keys
        inner = self._values.get(key)
        value = inner._with(rest) if rest and isinstance(inner, _Scope) else "…"
        return _Scope(self._name, {**self._values, key: value})


def _assume(context: dict[str, object], variable: str) -> dict[str, object] | None:
    """The context with `variable` given a stand-in value; None when it names no group's field."""
    root, *keys = variable.split(".")
    scope = context.get(root)
    if not keys or not isinstance(scope, _Scope):
        return None
    return {**context, root: scope._with(keys)}


def _value(path: str, value: object) -> object:
    if isinstance(value, Mapping):
        return _Scope(
            path,
            {str(k): _value(f"{path}.{k}", v) for k, v in value.items() if _has_value(v)},
        )
    return value


def _has_value(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


class _NotAllowedError(TemplateError):
    """A placeholder that uses more of Jinja than placeholders may; the message says what."""


class _NoValueError(UndefinedError):
    """A placeholder whose variable has no value; the message is the variable's dotted name."""


class _Unfilled(StrictUndefined):
    """StrictUndefined that raises _NoValueError naming the dotted variable it stands for.

    The sandbox's own refusals (unsafe attributes) keep their SecurityError and message.
    """

    __slots__ = ()

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = missing,
        name: str | None = None,
        exc: type[TemplateRuntimeError] = _NoValueError,
    ) -> None:
        super().__init__(hint, obj, name, exc)

    @property
    def _undefined_message(self) -> str:
        if self._undefined_exception is not _NoValueError:
            return super()._undefined_message
        parent = self._undefined_obj
        prefix = f"{parent._name}." if isinstance(parent, _Scope) else ""
        return f"{prefix}{self._undefined_name}"


def _finalize(value: object) -> object:
    """What a placeholder prints: a list (a prospect's industries) reads as text; a whole
    group or a method is a mistake in the block, not something to show a prospect."""
    if isinstance(value, Undefined):
        return value  # printing it raises the error that names the variable
    if isinstance(value, _Scope):
        raise TemplateRuntimeError(f"{value._name!r} is a group of values: name one of them")
    if callable(value):
        raise TemplateRuntimeError("a placeholder must name a value, not a method")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return value


@lru_cache(maxsize=1)
def _sandbox() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=_Unfilled, autoescape=False, finalize=_finalize, keep_trailing_newline=True
    )
    env.globals.clear()  # no range, lipsum, dict, cycler...: nothing to call or allocate with
    env.filters = {name: env.filters[name] for name in _FILTERS}
    return env


@lru_cache(maxsize=4096)
def _template(source: str) -> Template:
    """Parse, check, then compile (cached: the same block text is filled for every prospect)."""
    env = _sandbox()
    tree = env.parse(source)
    _check(tree)
    return env.from_string(tree)


def _check(tree: nodes.Template) -> None:
    """Refuse, before anything is compiled or folded, every expression a placeholder has no
    use for, and every name that is not one of the placeholder roots (Jinja's `self` too)."""
    for node in tree.find_all(nodes.Node):
        if type(node) not in _ALLOWED:
            kind = type(node).__name__.lower()
            raise _NotAllowedError(
                f"{kind!r} is not allowed: a placeholder only names, filters or tests values"
            )
        if isinstance(node, nodes.Name) and node.name not in ROOTS:
            raise _NotAllowedError(
                f"{node.name!r} is not a placeholder (use prospect.*, contact.*, rep.* or today)"
            )
        if isinstance(node, nodes.Filter) and node.name not in _FILTERS:
            raise _NotAllowedError(
                f"filter {node.name!r} is not allowed (use {', '.join(_FILTERS)})"
            )
