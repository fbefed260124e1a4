"""The rep's journey on the pages: who may see what, a prospect from the new-prospect form,
the rep's swaps applied to a selection, and the document built from it.

The engine's selection is deterministic, so the preview and the generate step see the same
sections and alternatives; a swap is only ever to an eligible alternative of the same slot.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from api.auth import Action, may
from api.fields import is_email
from engine import ProspectError, Selection, parse_prospect
from engine.assemble import Rep
from engine.select import Section
from tracker.users import UserInfo

VIEWER_SCRIPT = "/static/viewer.js"
CONTACT_FIELDS = ("name", "title", "email")
MAX_NEEDS = 5000  # the form's own limit (its textarea's), stricter than the contract's
FORM_ID = "form"  # parse_prospect wants an id; a new prospect's key is made when it is stored
SECTION_FIELD = "section-"  # the generate form's radio groups: section-0, section-1, ...
_SECTION_INDEX = re.compile(r"[0-9]{1,4}")  # a pitch has tens of sections, never 10,000


def sees_everything(user: UserInfo) -> bool:
    """Marketing and admins see every prospect and document; a rep sees its own."""
    return may(user, Action.READ_ALL_REPORTS)


def rep_of(user: UserInfo) -> Rep:
    """The signed-in user as the document's rep: the name is the email's local part."""
    return Rep(name=user.email.split("@", 1)[0], email=user.email)


def prospect_profile(
    form: Mapping[str, str], facets: Mapping[str, list[str]]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The new-prospect form as a profile (contract §2, without its id) and, per field, what
    is wrong with it (empty when nothing is)."""
    values = {name: form.get(name, "").strip() for name in _form_fields(facets)}
    errors = _contract_problems(values)
    if not values["company"]:
        errors["company"] = "Enter the company's name."
    if values["contact_email"] and not is_email(values["contact_email"]):
        errors["contact_email"] = "Enter an email address such as dana@example.com."
    for facet, options in facets.items():
        if values[facet] and values[facet] not in options:
            errors[facet] = f"Choose one of the library's values for {facet}."
    if len(values["needs"]) > MAX_NEEDS:
        errors["needs"] = f"is longer than {MAX_NEEDS} characters"
    return _profile(values, facets), errors


def _form_fields(facets: Mapping[str, list[str]]) -> list[str]:
    return ["company", *(f"contact_{f}" for f in CONTACT_FIELDS), *facets, "needs"]


def _contract_problems(values: Mapping[str, str]) -> dict[str, str]:
    """What the contract's one set of rules (engine.parse_prospect: lengths, NUL, ...) refuses
    among the form's fields, by field name. The preview and the API parse stored profiles with
    those rules, so a profile the form let through must pass them. They check each text of a
    profile alike wherever it sits, so the form's fields are checked as they are, flat: a
    problem then names the very field the rep typed in, not just `contact`."""
    try:
        parse_prospect({"id": FORM_ID, **values}, where="form")
    except ProspectError as exc:
        return {problem.field: problem.message for problem in exc.problems}
    return {}


def _profile(values: Mapping[str, str], facets: Iterable[str]) -> dict[str, Any]:
    """The form's filled-in fields as a profile: the contact's fields under `contact`."""
    profile: dict[str, Any] = {"company": values["company"]}
    contact = {f: values[f"contact_{f}"] for f in CONTACT_FIELDS if values[f"contact_{f}"]}
    if contact:
        profile["contact"] = contact
    profile.update({facet: values[facet] for facet in facets if values[facet]})
    if values["needs"]:
        profile["needs"] = values["needs"]
    return profile


class SwapError(Exception):
    """A swap the selection does not allow; the message says which and why."""


def choices_of(form: Mapping[str, str]) -> dict[int, str]:
    """The generate form's chosen block per section index."""
    choices: dict[int, str] = {}
    for name, value in form.items():
        if not name.startswith(SECTION_FIELD):
            continue
        index = name.removeprefix(SECTION_FIELD)
        # A few ASCII digits only: str.isdigit is true for '²', which int() refuses, and for
        # '٣', which int() reads as 3; and int() refuses more than 4,300 digits.
        if not _SECTION_INDEX.fullmatch(index):
            raise SwapError(f"unknown field {name!r}")
        choices[int(index)] = value.strip()
    return choices


def apply_swaps(
    selection: Selection, choices: Mapping[int, str], rep_name: str
) -> tuple[Selection, list[dict[str, str]]]:
    """The selection with each section's chosen block; a changed one must be an eligible
    alternative of its slot, used once, and its `why` says who chose it and what it replaced."""
    sections = list(selection.sections)
    swaps: list[dict[str, str]] = []
    for index, block_id in sorted(choices.items()):
        if index >= len(sections):
            raise SwapError(f"there is no section {index + 1}")
        section = sections[index]
        if block_id == section.block_id:
            continue
        offered = {a.block_id: a for a in selection.alternatives.get(section.slot, ())}
        if block_id not in offered:
            raise SwapError(f"{block_id!r} is not an alternative for the slot {section.slot!r}")
        why = f"chosen by {rep_name}: replaces {section.block_id}"
        sections[index] = Section(section.slot, block_id, offered[block_id].score, why)
        swaps.append({"slot": section.slot, "block_id": block_id, "replaced": section.block_id})
    used = [s.block_id for s in sections]
    repeated = sorted({b for b in used if used.count(b) > 1})
    if repeated:
        raise SwapError(f"{', '.join(repeated)} would be used twice")
    return dataclasses.replace(selection, sections=tuple(sections)), swaps
