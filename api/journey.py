"""The rep's journey on the pages: who may see what, a prospect from the new-prospect form,
the rep's swaps applied to a selection, and the document built from it.

The engine's selection is deterministic, so the preview and the generate step see the same
sections and alternatives; a swap is only ever to an eligible alternative of the same slot.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from api.auth import Action, may
from api.fields import is_email
from engine import Selection
from engine.assemble import Rep
from engine.select import Section
from tracker.users import UserInfo

VIEWER_SCRIPT = "/static/viewer.js"
CONTACT_FIELDS = ("name", "title", "email")
MAX_TEXT = 200
MAX_NEEDS = 5000
SECTION_FIELD = "section-"  # the generate form's radio groups: section-0, section-1, ...


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
    errors: dict[str, str] = {}

    def text(name: str, limit: int = MAX_TEXT) -> str:
        value = form.get(name, "").strip()
        if len(value) > limit:
            errors[name] = f"is longer than {limit} characters"
        return value

    profile: dict[str, Any] = {}
    company = text("company")
    if not company:
        errors["company"] = "Enter the company's name."
    profile["company"] = company
    contact = {field: text(f"contact_{field}") for field in CONTACT_FIELDS}
    if contact["email"] and not is_email(contact["email"]):
        errors["contact_email"] = "Enter an email address such as dana@example.com."
    contact = {k: v for k, v in contact.items() if v}
    if contact:
        profile["contact"] = contact
    for facet, values in facets.items():
        value = text(facet)
        if not value:
            continue
        if value not in values:
            errors[facet] = f"Choose one of the library's values for {facet}."
        profile[facet] = value
    needs = text("needs", MAX_NEEDS)
    if needs:
        profile["needs"] = needs
    return profile, errors


class SwapError(Exception):
    """A swap the selection does not allow; the message says which and why."""


def choices_of(form: Mapping[str, str]) -> dict[int, str]:
    """The generate form's chosen block per section index."""
    choices: dict[int, str] = {}
    for name, value in form.items():
        if not name.startswith(SECTION_FIELD):
            continue
        index = name.removeprefix(SECTION_FIELD)
        if not index.isdigit():
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
