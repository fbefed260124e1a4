"""The viewer script (templates/static/viewer.js) in a real headless Chromium against the real
server: what a reader does on the page is what the link's report says.

Every number asserted here comes from `GET /api/links/{token}/report`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Request, Response, Route

from tests.browser.conftest import VIEWPORT, Server

pytestmark = pytest.mark.slow

BOT_AGENT = "Mozilla/5.0 (compatible; Slackbot-LinkExpanding 1.0)"
SHORT_IDLE_MS = 1500
NewContext = Callable[..., BrowserContext]


@dataclass(frozen=True)
class Section:
    position: int
    block_id: str
    top: float  # in document coordinates, CSS pixels
    bottom: float


def is_visit(response: Response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/visits")


def is_event(request: Request) -> bool:
    return request.method == "POST" and request.url.endswith("/events")


class Reader:
    """One page load of a share link, what the test does on it, and what its script sent."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.events: list[dict[str, Any]] = []
        self.answers: list[int] = []
        self.errors: list[str] = []
        page.on("request", self._request)
        page.on("response", self._response)
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _request(self, request: Request) -> None:
        if is_event(request):
            self.events.append(json.loads(request.post_data or "null"))

    def _response(self, response: Response) -> None:
        if is_event(response.request):
            self.answers.append(response.status)

    def open(self, url: str, visit_status: int = 201) -> None:
        """Load the page and wait for its script's visit to be answered."""
        with self.page.expect_response(is_visit) as visit:
            response = self.page.goto(url)
        assert response is not None and response.status == 200
        assert visit.value.status == visit_status

    def sections(self) -> list[Section]:
        rows = self.page.eval_on_selector_all(
            "section[data-section]",
            """els => els.map(e => {
                const r = e.getBoundingClientRect();
                return [Number(e.dataset.section), e.dataset.blockId,
                        r.top + window.scrollY, r.bottom + window.scrollY];
            })""",
        )
        return [Section(int(p), str(b), float(t), float(u)) for p, b, t, u in rows]

    def scroll_to(self, position: int) -> None:
        self.page.eval_on_selector(
            f'section[data-section="{position}"]',
            "e => e.scrollIntoView({block: 'start', behavior: 'instant'})",
        )

    def keep_active(self, seconds: float) -> None:
        """A reader moving the mouse every half second, for `seconds`."""
        end = time.monotonic() + seconds
        step = 0
        while time.monotonic() < end:
            step += 1
            self.page.mouse.move(200 + 40 * (step % 5), 200 + 30 * (step % 3))
            self.page.wait_for_timeout(min(500, max(0, (end - time.monotonic()) * 1000)))

    def visibility(self) -> str:
        state: str = self.page.evaluate("document.visibilityState")
        return state

    def close(self) -> None:
        """Close the tab the way a reader does: `pagehide` runs and the last beacon leaves."""
        self.page.close(run_before_unload=True)
        if not self.page.is_closed():
            self.page.wait_for_event("close")


def read_below_the_fold(sections: list[Section]) -> tuple[Section, Section]:
    """A section that is not on screen when the page opens (and is not the first), and the
    last section, which stays off screen while that one is scrolled to the top."""
    height = VIEWPORT["height"]
    last = sections[-1]
    for section in sections[1:-1]:
        if section.top >= height and last.top >= section.top + height:
            return section, last
    pytest.fail(f"the demo document is too short for this test: {sections}")


def by_position(report: dict[str, Any], section: Section) -> dict[str, Any]:
    row: dict[str, Any] = report["sections"][section.position]
    assert row["block_id"] == section.block_id
    return row


def test_a_reader_s_time_on_one_section_is_what_the_report_says(
    server: Server, link: dict[str, Any], new_context: NewContext
) -> None:
    reader = Reader(new_context().new_page())
    reader.open(link["url"])
    sections = reader.sections()
    target, never = read_below_the_fold(sections)

    before_scroll = time.monotonic()
    reader.scroll_to(target.position)
    after_scroll = time.monotonic()
    reader.keep_active(4.0)
    before_close = time.monotonic()
    reader.close()
    after_close = time.monotonic()

    report = server.settled_report(link["token"])
    assert report["sessions"] == 1
    assert [row["block_id"] for row in report["sections"]] == [s.block_id for s in sections]
    read = by_position(report, target)
    assert read["seen"] is True
    assert 2500 <= read["dwell_ms"] <= 9000
    # Tighter: no more than the time it was on screen, and at most a heartbeat's rounding less.
    assert read["dwell_ms"] <= (after_close - before_scroll) * 1000 + 50
    assert read["dwell_ms"] >= (before_close - after_scroll) * 1000 - 1000
    unread = by_position(report, never)
    assert (unread["seen"], unread["dwell_ms"]) == (False, 0)

    assert reader.errors == []  # the page's CSP let the script run and report
    seqs = [event["seq"] for event in reader.events]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 2, reader.events
    assert all(event["visit"] == reader.events[0]["visit"] for event in reader.events)
    assert set(reader.answers) <= {204}, reader.answers


def test_a_hidden_tab_adds_no_time(
    server: Server, link: dict[str, Any], tabs: BrowserContext
) -> None:
    page = tabs.new_page()
    page.set_viewport_size(VIEWPORT)
    reader = Reader(page)
    other: Page | None = None
    try:
        reader.open(link["url"])
        target, _never = read_below_the_fold(reader.sections())
        reader.scroll_to(target.position)
        reader.keep_active(2.0)

        other = tabs.new_page()
        other.bring_to_front()  # the reader switches to another tab
        hidden_at = time.monotonic()
        page.wait_for_function("document.visibilityState === 'hidden'", timeout=5000)
        while_hidden = by_position(server.settled_report(link["token"]), target)["dwell_ms"]
        assert 1500 <= while_hidden <= 4000
        time.sleep(max(0.0, 4.0 - (time.monotonic() - hidden_at)))
        assert reader.visibility() == "hidden"
        assert by_position(server.report(link["token"]), target)["dwell_ms"] == while_hidden

        page.bring_to_front()  # and comes back
        page.wait_for_function("document.visibilityState === 'visible'", timeout=5000)
        shown_at = time.monotonic()
        reader.keep_active(2.0)
        reader.close()
        closed_at = time.monotonic()
    finally:
        if other is not None:
            other.close()
        if not page.is_closed():
            page.close()

    report = server.settled_report(link["token"])
    assert report["sessions"] == 1
    after = by_position(report, target)
    assert after["seen"] is True
    assert 1500 <= after["dwell_ms"] - while_hidden <= (closed_at - shown_at) * 1000 + 300
    assert reader.errors == []


def test_an_idle_reader_adds_no_time(
    server: Server, link: dict[str, Any], new_context: NewContext
) -> None:
    """The server's idle_ms (120 s) is shortened in the visit's answer, in the browser, so the
    script's own inactivity clock can be watched in seconds."""

    def shorten_idle(route: Route) -> None:
        response = route.fetch()
        if response.status != 201:
            route.fulfill(response=response)
            return
        route.fulfill(response=response, json={**response.json(), "idle_ms": SHORT_IDLE_MS})

    context = new_context()
    context.route("**/d/*/visits", shorten_idle)
    reader = Reader(context.new_page())
    reader.open(link["url"])
    target, _never = read_below_the_fold(reader.sections())
    reader.scroll_to(target.position)  # a scroll is activity; then nothing for 3.5 s
    time.sleep(3.5)  # the heartbeat after the idle timeout has been answered by now
    idle = by_position(server.settled_report(link["token"], quiet=0.5), target)
    assert idle["seen"] is True
    assert SHORT_IDLE_MS - 300 <= idle["dwell_ms"] <= SHORT_IDLE_MS + 300

    moved_at = time.monotonic()
    reader.keep_active(2.0)  # the reader is back: time counts again
    reader.close()
    closed_at = time.monotonic()
    report = server.settled_report(link["token"])
    assert report["sessions"] == 1
    resumed = by_position(report, target)["dwell_ms"] - idle["dwell_ms"]
    assert 1500 <= resumed <= (closed_at - moved_at) * 1000 + 300
    assert reader.errors == []


def test_fetching_the_page_without_its_script_records_nothing(
    server: Server, link: dict[str, Any]
) -> None:
    for agent in ("curl/8.5.0", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/130.0"):
        page = httpx.get(link["url"], headers={"User-Agent": agent}, timeout=30.0)
        assert page.status_code == 200
        assert "data-section=" in page.text and "/static/viewer.js" in page.text
    report = server.report(link["token"])  # no browser: nothing can still be on its way
    assert report["sessions"] == 0
    assert all(row == {**row, "seen": False, "dwell_ms": 0} for row in report["sections"])


def test_a_link_preview_bot_that_runs_the_script_records_nothing(
    server: Server, link: dict[str, Any], new_context: NewContext
) -> None:
    reader = Reader(new_context(user_agent=BOT_AGENT).new_page())
    reader.open(link["url"], visit_status=204)
    target, _never = read_below_the_fold(reader.sections())
    reader.scroll_to(target.position)
    reader.keep_active(2.2)  # more than a heartbeat interval
    reader.close()
    assert reader.events == []  # after a 204 the script stays silent
    report = server.settled_report(link["token"], quiet=0.5)
    assert report["sessions"] == 0
    assert all(row == {**row, "seen": False, "dwell_ms": 0} for row in report["sections"])


def test_a_revoked_link_answers_410_and_its_open_page_stops_reporting(
    server: Server, link: dict[str, Any], new_context: NewContext
) -> None:
    context = new_context()
    reader = Reader(context.new_page())
    reader.open(link["url"])
    target, _never = read_below_the_fold(reader.sections())
    with reader.page.expect_response(lambda r: is_event(r.request), timeout=5000) as first:
        reader.scroll_to(target.position)
        reader.keep_active(0.5)
    assert first.value.status == 204

    assert server.revoke(link["token"]).status_code == 204
    with reader.page.expect_response(lambda r: is_event(r.request), timeout=5000) as refused:
        reader.keep_active(0.5)
    assert refused.value.status == 410
    sent = len(reader.events)
    reader.keep_active(2.5)  # on screen, visible and active: it would report, but it stopped
    assert len(reader.events) == sent

    assert httpx.get(link["url"], timeout=30.0).status_code == 410
    assert httpx.post(f"{link['url']}/visits", json={}, timeout=30.0).status_code == 410
    again = context.new_page().goto(link["url"])
    assert again is not None and again.status == 410
    unknown = httpx.get(f"{server.base_url}/d/{'x' * 43}", timeout=30.0)
    assert unknown.status_code == 404
    assert server.report(link["token"])["sessions"] == 1  # what was read before stays
