"""`yishi sandbox` in a real browser: headless Chromium (Debian's, installed by .ci/run)
driven by Playwright through the page a person would use, against the real bot."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.domain.polls import Method
from bot.sandbox.web import SandboxWeb, safe_html
from bot.sandbox.world import Sandbox
from storage import communities, helping, rewards
from storage import decisions as decision_store
from storage import meetings as meeting_store
from storage import polls as poll_store
from storage import reports as report_store
from storage import surveys as survey_store
from tests.conftest import START

playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect

CHROMIUM = os.environ.get("YISHI_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
# Chromium on a machine without a network: no background connections, no sandbox as root.
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage"]

needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                    reason="no Chromium (apt-get install chromium)")


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    web: dict[str, SandboxWeb] = {}
    world = Sandbox(tmp_path / "sandbox.db", language="en", clock=ManualClock(START),
                    routes=lambda app: web["page"].routes(app))
    web["page"] = SandboxWeb(world)
    await world.start()
    yield world
    await world.stop()
    assert world.api.violations == [], f"Bot API violations: {world.api.violations}"


@pytest.fixture
async def page(sandbox: Sandbox) -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            tab = await browser.new_page(viewport={"width": 1280, "height": 900})
            await tab.goto(f"http://127.0.0.1:{sandbox.port}/")
            yield tab
        finally:
            await browser.close()


class Player:
    """What a person does on the page."""

    def __init__(self, page: Any, sandbox: Sandbox) -> None:
        self.page = page
        self.sandbox = sandbox

    async def become(self, key: str) -> None:
        person = self.sandbox.people[key]
        await self.page.select_option("#who", str(person.id))
        await expect(self.chat("private").locator("h2")).to_contain_text("Private chat")

    def chat(self, kind: str) -> Any:
        return self.page.get_by_test_id(f"chat-{kind}")

    def last(self, kind: str) -> Any:
        return self.chat(kind).get_by_test_id("message").last

    async def say(self, kind: str, text: str) -> None:
        await self.chat(kind).get_by_test_id("composer").fill(text)
        await self.chat(kind).get_by_test_id("send").click()

    async def press(self, kind: str, label: str) -> None:
        await self.chat(kind).get_by_test_id("button").filter(has_text=label).last.click()

    async def sees(self, kind: str, text: str) -> None:
        await expect(self.last(kind)).to_contain_text(text, timeout=15_000)


@needs_chromium
async def test_a_report_from_joining_to_a_confirmed_fix(sandbox: Sandbox, page: Any) -> None:
    me = Player(page, sandbox)

    # A newcomer joins from her private chat, picking her unit and relation.
    await me.become("newcomer")
    await me.say("private", "/join")
    await me.sees("private", "Which unit do you live in?")
    await me.press("private", "2-1-801")
    await me.sees("private", "How do you live there?")
    await me.press("private", "tenant")
    await me.sees("private", "went to the moderators")

    # The moderator approves the request from the card in his private chat.
    newcomer = page.locator(f'#who option[value="{sandbox.people["newcomer"].id}"]')
    await expect(newcomer).to_contain_text("not on the roster yet")
    await me.become("moderator")
    await me.sees("private", "Zhao Min (@zhao_min) asks to join as tenant of 2-1-801")
    await me.press("private", "Approve")
    await me.sees("private", "Approved by Li Wei")
    await expect(me.last("private").get_by_test_id("button")).to_have_count(0)
    # The picker follows the roster: she is a resident now.
    await expect(newcomer).to_contain_text("Zhao Min · resident")

    # She files a report with a photo.
    await me.become("newcomer")
    await me.sees("private", "You are now on the roster")
    await me.say("private", "/report")
    await me.press("private", "Lift")
    await me.sees("private", "Send one or more photos")
    await me.chat("private").get_by_test_id("send-photo").click()
    await me.sees("private", "More photos, or press Done")
    await me.press("private", "Done")
    await me.say("private", "The lift in building 2 stops between floors 5 and 6.")
    await me.sees("private", "Where is it?")
    await me.press("private", "Lift")
    await me.sees("private", "Check your report")
    await me.press("private", "Send the report")
    await me.sees("private", "Your report is R-0001")

    # The handler gets the card with her photo and resolves it with a note.
    await me.become("handler")
    card = me.chat("private").get_by_test_id("message").filter(has_text="R-0001 · Lift")
    await expect(card).to_contain_text("Reported by Zhao Min")
    await expect(card.locator("img")).to_have_attribute("src", "/sandbox/photo/in-" + (
        await _first_photo(sandbox)))
    await me.press("private", "Resolved")
    await me.sees("private", "What was done?")
    await me.say("private", "Replaced the door sensor.")
    await me.sees("private", "R-0001 is now resolved")

    # Back as the reporter: she is told, asked whether it is fixed, and confirms.
    await me.become("newcomer")
    await me.sees("private", "Is R-0001 really fixed?")
    fixed = me.chat("private").get_by_test_id("message").filter(has_text="is now resolved")
    await expect(fixed).to_contain_text("Replaced the door sensor.")
    await me.press("private", "Yes, fixed")
    await expect(page.locator("#toast")).to_contain_text("R-0001 is closed")
    await me.sees("private", "R-0001 (Lift) is now closed")

    # Another resident sees the group's notice but none of the handler's cards.
    await me.become("owner")
    await expect(me.chat("group")).to_contain_text("R-0001 (Lift) is resolved")
    await expect(me.chat("private")).not_to_contain_text("R-0001")

    async with sandbox.services.db.transaction() as conn:
        report = await report_store.get(conn, 1)
    assert report is not None and report.status.value == "closed"

    # A week later the group has its weekly summary with the chart.
    await page.get_by_role("button", name="+1 week").click()
    # (Telegram's 20 messages a minute to a group count the seeded posts of the last
    # minute too: the summary, scheduled work, may wait for the window.)
    await expect(me.chat("group")).to_contain_text("The week in Sunny Gardens residents",
                                                   timeout=60_000)
    await expect(page.get_by_test_id("clock")).to_contain_text("2026-11-30")
    # Each message shows when it went out by the sandbox's clock: the summary at Sunday
    # 20:00, as the week went by.
    await expect(me.last("group").get_by_test_id("time")).to_have_text("11-29 20:00")
    await expect(page.locator('link[rel="icon"]')).to_have_attribute("href",
                                                                     "/static/favicon.svg")
    await _screenshot(page, "sandbox-desktop.png")

    # On a phone-sized screen the chats are tabs.
    await page.set_viewport_size({"width": 390, "height": 800})
    await expect(me.chat("group")).to_be_visible()
    await expect(me.chat("private")).to_be_hidden()
    # While the group is shown, a long answer arrives in the private chat; switching to it
    # shows its newest message.
    await page.evaluate("""who => fetch('/sandbox/api/act', {method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({as: who, kind: 'say', chat: 'private', text: '/help'})})""",
                        sandbox.people["owner"].id)
    await expect(me.last("private")).to_contain_text("/report", timeout=15_000)
    await page.locator("#tabs button").last.click()
    await expect(me.chat("private")).to_be_visible()
    at_bottom = await me.chat("private").locator(".messages").evaluate(
        "list => list.scrollHeight - list.scrollTop - list.clientHeight < 40")
    assert at_bottom
    await _screenshot(page, "sandbox-phone.png")


async def _first_photo(sandbox: Sandbox) -> str:
    async with sandbox.services.db.transaction() as conn:
        photos = await report_store.photos(conn, 1)
    return photos[0].removeprefix("in-")


async def _screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / name), full_page=True)


async def test_the_page_api_refuses_bad_actions_politely(sandbox: Sandbox) -> None:
    """What the page sends is checked: nothing reaches the bot from a bad action."""
    import aiohttp

    base = f"http://127.0.0.1:{sandbox.port}"
    owner = sandbox.people["owner"].id
    before = len(sandbox.api.calls)
    async with aiohttp.ClientSession() as http:
        for body, expected in [
            ({"as": 42, "kind": "say", "chat": "private", "text": "hi"}, "no such person"),
            ({"as": owner, "kind": "say", "chat": "private", "text": " "}, "1 to 4096"),
            ({"as": owner, "kind": "say", "chat": "private", "text": "x" * 4097}, "1 to 4096"),
            ({"as": owner, "kind": "press", "chat": "group", "message": 999, "data": "x"},
             "not in this chat"),
            ({"as": owner, "kind": "location", "chat": "group", "latitude": 91,
              "longitude": 0}, "not on Earth"),
            ({"as": owner, "kind": "dance", "chat": "group"}, "does not know"),
            ({"kind": "forward", "by": "year"}, "an hour, a day or a week"),
        ]:
            async with http.post(f"{base}/sandbox/api/act", json=body) as response:
                assert response.status == 400
                assert expected in (await response.text())
        async with http.get(f"{base}/sandbox/api/state?as={owner}") as response:
            state = await response.json()
    await asyncio.sleep(0)
    assert [c.method for c in sandbox.api.calls[before:]] == []
    assert [c["kind"] for c in state["chats"]] == ["group", "private"]


def test_the_bots_html_is_shown_safely() -> None:
    assert safe_html("<b>R-1</b> <a href=\"https://t.me/x\">x</a>") == (
        '<b>R-1</b> <a href="https://t.me/x" target="_blank" rel="noopener noreferrer">x</a>')
    assert safe_html("<script>alert(1)</script>") == "alert(1)"
    assert safe_html('<a href="javascript:alert(1)">x</a>') == "x"
    assert safe_html("<i>open") == "<i>open</i>"
    assert safe_html("1 &lt; 2") == "1 &lt; 2"


async def test_yishi_sandbox_starts_from_the_command_line(tmp_path: Path) -> None:
    """The README's command: a real process, a seeded building, a page, Ctrl-C stops it."""
    import re
    import signal
    import sys

    import aiohttp

    env = {k: v for k, v in os.environ.items() if not k.startswith("YISHI_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sandbox", "--port", "0", "--lang", "zh",
        "--db", str(tmp_path / "kept.db"), cwd=ROOT,
        env=env, stderr=asyncio.subprocess.PIPE)
    assert process.stderr is not None
    try:
        line = (await asyncio.wait_for(process.stderr.readline(), 60)).decode()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found, line
        base = found.group(0)
        async with aiohttp.ClientSession() as http:
            async with http.get(base) as response:
                assert "yishi sandbox" in await response.text()
            async with http.get(f"{base}sandbox/api/world") as response:
                world = await response.json()
            assert world["language"] == "zh" and world["ui"]["send"] == "发送"
            assert {p["role"] for p in world["people"]} == {
                "moderator", "handler", "resident", "newcomer"}
            owner = next(p["id"] for p in world["people"] if p["role"] == "resident")
            async with http.get(f"{base}sandbox/api/state?as={owner}") as response:
                state = await response.json()
            async with http.get(f"{base}static/favicon.svg") as response:
                assert response.status == 200
            # A page waiting for news when Ctrl-C comes: it is told, nothing is logged.
            version = state["version"]
            for _attempt in range(50):
                waiting = asyncio.ensure_future(http.get(
                    f"{base}sandbox/api/state?as={owner}&since={version}"))
                done, _pending = await asyncio.wait({waiting}, timeout=0.5)
                if not done:
                    break  # it waits
                async with waiting.result() as response:
                    version = (await response.json())["version"]
            process.send_signal(signal.SIGINT)
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
            with contextlib.suppress(aiohttp.ClientError):
                await waiting
        group = state["chats"][0]
        assert group["title"] == "阳光花园业主群"
        assert "我是议事" in group["messages"][0]["html"]  # greeted in Chinese
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert "Traceback" not in stderr.decode() and '"level": "error"' not in stderr.decode()
    assert (tmp_path / "kept.db").exists()


async def _runs_on(database: Path | str, runs: int) -> None:
    """Start the sandbox on ``database`` ``runs`` times; each time a resident's /me shows
    the unit the seeding gave them, so the building carried over, and the group has the
    neighbour's request for help the seeding posts, once; and the 议事 process seeded once,
    a meeting, a consent proposal, a vote announced ahead, a decision posted for objection
    with one objection, a survey round and the support threshold, each in the group after
    the first start."""
    for run in range(runs):
        world = Sandbox(database, language="en", clock=ManualClock(START))
        await asyncio.wait_for(world.start(), 30)
        try:
            person = world.people["owner2"]
            mark = world.api.mark()
            await world.tg.say(person, person, "/me")
            answer = await world.api.wait_for("sendMessage", after=mark,
                                              where=lambda c, p=person: c.chat_id == p.id)
            assert "2-1-1203" in answer.text, (run, answer.text)
            posts = [c for c in world.api.sent(chat_id=world.group.id)
                     if c.text.startswith("🤝 H-1 · Asking for help")]
            assert len(posts) == 1, (run, posts)
            assert "Someone to carry my mother's groceries" in posts[0].text
            async with world.services.db.transaction() as conn:
                community = await communities.by_chat(conn, world.group.id)
                assert await helping.count(conn, community.id) == 1
                assert [r.name for r in await rewards.catalogue(conn, community.id)] == [
                    "Priority booking of the community room", "A month's parking voucher"]
                assert [p.method for p in await poll_store.polls_open(conn, community.id)] \
                    == [Method.CONSENT]
                assert [d.ref for d in await decision_store.of_community(conn, community.id)] \
                    == ["D-1"]
                assert await meeting_store.by_number(conn, community.id, 2) is None
                assert [r.ref for r in await survey_store.of_community(conn, community.id)] \
                    == ["S-1"]
                announced = await poll_store.by_number(conn, community.id, 2)
                assert announced is not None and announced.opens_at is not None
                assert community.support_threshold == 3
            if run == 0:
                group = [c.text.splitlines()[0] for c in world.api.calls
                         if c.chat_id == world.group.id and c.text
                         and c.method in ("sendMessage", "editMessageText")]
                for first_line in ("🪑 M-1 · Round-table meeting · Charging points in the garage",
                                   "P-1 · Lock the roof door after 10 pm?",
                                   "Notice · P-2: Use the maintenance fund to fix the roof?",
                                   "📢 Notice · D-1 Repaint the lobby white",
                                   "📋 S-1 · Satisfaction survey (共评)"):
                    assert first_line in group, (first_line, group)
                notice = [c.text for c in world.api.calls if c.method == "editMessageText"
                          and c.text and c.text.startswith("📢 Notice · D-1")]
                assert notice and "Objections so far: 1" in notice[-1]
        finally:
            await world.stop()


async def test_the_sandbox_starts_again_on_its_kept_database(tmp_path: Path) -> None:
    """`yishi sandbox --db PATH`, twice: the second run takes up where the first left off
    (the stand-in numbers updates on from the kept database's last one)."""
    await _runs_on(tmp_path / "kept.db", 3)


@pytest.mark.skipif(not os.environ.get("YISHI_TEST_POSTGRES"),
                    reason="needs a PostgreSQL server (YISHI_TEST_POSTGRES)")
async def test_the_sandbox_keeps_its_building_in_postgresql() -> None:
    """`yishi sandbox --db postgresql+asyncpg://...`: the seeded building lives in that
    database, and a second run takes up where the first left off."""
    from storage.postgres import fresh_database

    async with fresh_database(os.environ["YISHI_TEST_POSTGRES"]) as url:
        await _runs_on(url, 2)
