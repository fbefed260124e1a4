"""The people's pages in a real headless Chromium against the real server: the whole journey
from a rep's sign-in to marketing's leaderboard, then what every main page must be (no serious
accessibility problem, nothing wider than a phone, nothing from another origin), and the
refusals (a rep on marketing's pages, a form without its CSRF token).

The journey's state (the document, the section read) carries from one test to the next, in
file order, through the module's `journey` record.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, Request, ViewportSize

from tests.browser.conftest import Server
from tests.browser.test_viewer import Reader, read_below_the_fold

pytestmark = pytest.mark.slow

PASSWORD = "journey-password-1234"
REP = "robin@vendor.example"
MARKETING = "mara@vendor.example"
PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
READ_TIMEOUT_S = 90.0
NewContext = Callable[..., BrowserContext]


@dataclass
class Journey:
    """What the journey made, for the tests after it."""

    document_path: str = ""
    prospect_key: str = ""
    share_url: str = ""
    swapped_in: str = ""
    read_block: str = ""
    read_slot: str = ""
    pages: dict[str, str] = field(default_factory=dict)  # name -> path, for the page checks


@pytest.fixture(scope="module")
def journey() -> Journey:
    return Journey()


@pytest.fixture(scope="module")
def people(server: Server) -> Server:
    server.create_user(REP, "rep", PASSWORD)
    server.create_user(MARKETING, "marketing", PASSWORD)
    return server


def signed_in(new_context: NewContext, server: Server, email: str) -> Page:
    page = new_context(base_url=server.base_url).new_page()
    sign_in(page, email)
    return page


def sign_in(page: Page, email: str) -> None:
    page.goto("/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text(f"Signed in as {email}").count() == 1


def test_a_rep_makes_a_prospect_swaps_a_block_generates_and_shares(
    people: Server, new_context: NewContext, journey: Journey
) -> None:
    rep = signed_in(new_context, people, REP)
    rep.goto("/prospects/new")
    rep.get_by_label("Company").fill("Quarry & Sons")
    rep.get_by_label("Name").fill("Sam Quarry")
    rep.get_by_label("Title").fill("Head of IT")
    industry = rep.locator("select#facet-industry option").nth(1).text_content()
    rep.select_option("select#facet-industry", label=industry)
    rep.get_by_label("Needs, in the prospect's words").fill(
        "Our staff keep clicking on fake invoices and we failed our last audit."
    )
    with rep.expect_navigation():
        rep.get_by_role("button", name="Create and preview").click()
    assert "/preview" in rep.url
    journey.prospect_key = rep.url.split("/prospects/", 1)[1].split("/", 1)[0]

    second = rep.locator("fieldset.section").nth(1)
    alternative = second.locator("input[type=radio]").nth(1)
    journey.swapped_in = alternative.get_attribute("value") or ""
    alternative.check()
    with rep.expect_navigation():
        rep.get_by_role("button", name="Generate").click()
    assert re.search(r"/documents/[0-9a-f]+$", rep.url), rep.url
    journey.document_path = rep.url.split(people.base_url, 1)[1]
    assert rep.locator(f'li[data-block-id="{journey.swapped_in}"]').count() == 1

    rep.get_by_label("Recipient").fill("sam@quarry.example")
    with rep.expect_navigation():
        rep.get_by_role("button", name="Create link").click()
    journey.share_url = rep.locator("#new-url").input_value()
    assert journey.share_url.startswith(people.base_url + "/d/")


def test_the_prospect_reads_one_section_and_the_pre_call_page_says_so(
    people: Server, new_context: NewContext, journey: Journey
) -> None:
    if not journey.share_url:
        pytest.skip("the journey did not get as far as a share link")
    reader = Reader(new_context().new_page())
    reader.open(journey.share_url)
    target, last = read_below_the_fold(reader.sections())
    reader.scroll_to(target.position)
    journey.read_block = target.block_id
    journey.read_slot = str(
        reader.page.get_attribute(f'section[data-section="{target.position}"]', "data-slot")
    )

    rep = signed_in(new_context, people, REP)
    precall = f"{journey.document_path}/before-the-call"
    row = rep.locator(f'li[data-position="{target.position}"]')
    deadline = time.monotonic() + READ_TIMEOUT_S
    while time.monotonic() < deadline:  # the reader keeps reading until the page says "read"
        reader.keep_active(2.5)
        rep.goto(precall)
        if "is-read" in (row.get_attribute("class") or ""):
            break
    reader.close()
    rep.goto(precall)
    assert "is-read" in (row.get_attribute("class") or ""), rep.content()
    title = row.locator("strong").inner_text()
    assert rep.locator("#summary").inner_text().startswith(f"Read: {title}; skipped: ")
    states = rep.locator("ol.precall-sections > li").evaluate_all(
        "els => els.map(e => e.className)"
    )
    assert sum("is-read" in s for s in states) == 1
    assert "is-unseen" in states[last.position]
    assert rep.locator("svg.timeline rect.bar").count() == 1


def test_marketing_s_leaderboard_and_funnel_count_the_visit(
    people: Server, new_context: NewContext, journey: Journey
) -> None:
    if not journey.read_block:
        pytest.skip("the journey did not get as far as a read section")
    marketing = signed_in(new_context, people, MARKETING)
    marketing.goto("/marketing/blocks")
    row = marketing.locator(f'tr[data-block-id="{journey.read_block}"]')
    assert row.count() == 1, marketing.content()
    assert row.locator('[data-field="sessions"]').inner_text().strip() == "1"
    marketing.goto("/marketing/funnel")
    slot = marketing.locator(f'tr[data-slot="{journey.read_slot}"]')
    assert slot.count() == 1, marketing.content()
    assert slot.locator('[data-field="sessions"]').inner_text().strip() == "1"


def main_pages(journey: Journey) -> dict[str, tuple[str, str]]:
    """name -> (who, path) for every main page; who is '' (signed out), REP or MARKETING."""
    pages = {
        "sign-in": ("", "/"),
        "home": (REP, "/"),
        "prospects": (REP, "/prospects"),
        "new-prospect": (REP, "/prospects/new"),
        "leaderboard": (MARKETING, "/marketing/blocks"),
        "funnel": (MARKETING, "/marketing/funnel"),
        "gaps": (MARKETING, "/marketing/gaps"),
        "stale": (MARKETING, "/marketing/stale"),
    }
    if journey.prospect_key:
        pages["preview"] = (REP, f"/prospects/{journey.prospect_key}/preview")
    if journey.document_path:
        pages["document"] = (REP, journey.document_path)
        pages["before-the-call"] = (REP, f"{journey.document_path}/before-the-call")
    if journey.read_block:
        pages["block"] = (MARKETING, f"/marketing/blocks/{journey.read_block}")
    return pages


@pytest.fixture(scope="module")
def visitors(people: Server, browser: Browser) -> Iterator[dict[tuple[str, int], Page]]:
    """A page per (who, viewport width), signed in once; closed after the module."""
    made: dict[tuple[str, int], Page] = {}
    contexts = []
    for who in ("", REP, MARKETING):
        for viewport in (PHONE, DESKTOP):
            context = browser.new_context(base_url=people.base_url, viewport=viewport)
            contexts.append(context)
            page = context.new_page()
            if who:
                sign_in(page, who)
            made[(who, viewport["width"])] = page
    yield made
    for context in contexts:
        context.close()


def test_every_main_page_is_accessible_narrow_and_same_origin(
    people: Server, journey: Journey, visitors: dict[tuple[str, int], Page]
) -> None:
    folder = os.environ.get("PITCHMAP_SCREENSHOTS")  # set to refresh docs/screenshots
    problems: list[str] = []
    for name, (who, path) in main_pages(journey).items():
        for width in (PHONE["width"], DESKTOP["width"]):
            page = visitors[(who, width)]
            elsewhere: list[str] = []

            def note(request: Request, found: list[str] = elsewhere) -> None:
                if not request.url.startswith(people.base_url):
                    found.append(request.url)

            page.on("request", note)
            response = page.goto(path)
            page.remove_listener("request", note)
            assert response is not None and response.status == 200, (name, width)
            if elsewhere:
                problems.append(f"{name}: requests to another origin: {elsewhere}")
            wide = page.evaluate("document.documentElement.scrollWidth")
            if width == PHONE["width"] and wide > width:
                problems.append(f"{name}: {wide} px wide on a {width} px screen")
            if width == DESKTOP["width"]:
                violations = Axe().run(page).response["violations"]
                for v in violations:
                    if v["impact"] in ("serious", "critical"):
                        nodes = [n["target"] for n in v["nodes"]][:3]
                        problems.append(f"{name}: {v['id']} ({v['impact']}) at {nodes}")
            if folder:
                Path(folder).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=Path(folder) / f"{name}-{width}.png")
    assert not problems, "\n".join(problems)


def test_a_rep_cannot_open_marketing_s_pages(visitors: dict[tuple[str, int], Page]) -> None:
    rep = visitors[(REP, DESKTOP["width"])]
    for path in ("/marketing/blocks", "/marketing/funnel", "/marketing/gaps", "/marketing/stale"):
        response = rep.goto(path)
        assert response is not None and response.status == 403, path


def test_a_form_posted_without_its_csrf_token_is_refused(
    people: Server, visitors: dict[tuple[str, int], Page]
) -> None:
    rep = visitors[(REP, DESKTOP["width"])]
    answer = rep.request.post(
        "/prospects/new", form={"company": "No Token Ltd", "needs": "anything"}
    )
    assert answer.status == 403
    rep.goto("/prospects?q=No+Token")
    assert rep.get_by_text("No Token Ltd").count() == 0
