"""The sandbox's building in the middle of its 议事 process: a round-table meeting called,
a consent proposal open, a vote announced ahead with its background (议题预告), a decision
posted for objection (with one objection), a satisfaction survey round open and a support
threshold set — each done through the bot as its moderator and residents would do it,
once (a kept database has them already)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.fakeapi.actions import Group, Person
from bot.fakeapi.harness import prepare_poll
from bot.fakeapi.server import Call
from storage import communities, decisions, meetings, polls, surveys

if TYPE_CHECKING:
    from bot.sandbox.world import Sandbox

WAIT = 30  # seconds: the sandbox starts on a slow machine too
ANSWERS = ("sendMessage", "editMessageText")

MEETING = {
    "zh": ("地库充电桩怎么装", "充电桩的位置\n费用怎么分摊", "小区活动室",
           "物业报来两家的报价，附在此处供大家先看。"),
    "en": ("Charging points in the garage", "Where the charging points go\nWho pays for them",
           "The community room", "The property management sent two quotes; they are here to "
           "read ahead."),
}
CONSENT = {"zh": "晚上十点后锁上天台门？", "en": "Lock the roof door after 10 pm?"}
AHEAD = {"zh": ("动用维修基金修屋顶？", "三家报价：118,000 / 126,500 / 131,000 元。"),
         "en": ("Use the maintenance fund to fix the roof?",
                "Three quotes: 118,000 / 126,500 / 131,000 yuan.")}
THRESHOLD = 3  # supporters at which a topic goes to the moderators at once
# The consent proposal stays open beyond a first "+1 week", so its reminders and result do
# not crowd the group's minute with that week's summary.
DECISION = {"zh": ("大堂重新粉刷成白色", "请三家报价\n选定施工方", "颜色太刺眼，建议米色。"),
            "en": ("Repaint the lobby white", "Get three quotes\nChoose the contractor",
                   "White shows every mark; beige would keep better.")}


async def walk(sandbox: Sandbox, person: Person, steps: list[str | int]) -> Call | None:
    """``person`` in private with the bot: say each text, or press the button at an index
    of the bot's last answer; returns the last answer."""
    last: Call | None = None
    for step in steps:
        mark = sandbox.api.mark()
        if isinstance(step, str):
            await sandbox.tg.say(person, person, step)
        else:
            assert last is not None
            await sandbox.tg.press(person, last, last.buttons[step]["callback_data"])
        last = await sandbox.api.wait_for(ANSWERS, after=mark, timeout=WAIT,
                                          where=lambda c: c.chat_id == person.id)
    return last


async def _in_group(sandbox: Sandbox, group: Group, person: Person, text: str,
                    starts: str) -> Call:
    mark = sandbox.api.mark()
    await sandbox.tg.say(group, person, text)
    return await sandbox.api.wait_for("sendMessage", after=mark, timeout=WAIT, where=lambda c: (
        c.chat_id == group.id and (c.text or "").startswith(starts)))


async def seed(sandbox: Sandbox, group: Group) -> None:
    async with sandbox.services.db.transaction() as conn:
        community = await communities.by_chat(conn, group.id)
        assert community is not None
        have = {
            "meeting": await meetings.by_number(conn, community.id, 1) is not None,
            "consent": await polls.by_number(conn, community.id, 1) is not None,
            "ahead": await polls.by_number(conn, community.id, 2) is not None,
            "decision": bool(await decisions.of_community(conn, community.id)),
            "survey": bool(await surveys.of_community(conn, community.id)),
        }
    language = sandbox.language
    moderator = sandbox.people["moderator"]
    local = sandbox.clock.now().astimezone(sandbox.timezone)
    if not have["meeting"]:
        title, agenda, place, background = MEETING[language]
        when = local + timedelta(days=5)
        await walk(sandbox, moderator, ["/meeting", title, agenda,
                                         f"{when:%Y-%m-%d} 19:30", place, "12", background])
    if not have["consent"]:
        await _consent(sandbox, community.id, moderator)
    if not have["ahead"]:
        await _announced_ahead(sandbox, community.id, moderator)
    if not have["decision"]:
        await _decision(sandbox, group, community.id, moderator, local)
    if not have["survey"]:
        await _in_group(sandbox, group, moderator, "/survey open", "📋 S-1")
        # As /settings threshold would, without a settings panel in the group: the group
        # shares 20 messages a minute between the seeding and the person trying it out.
        async with sandbox.services.db.transaction() as conn:
            await communities.update_settings(conn, community.id, sandbox.clock.now(),
                                              support_threshold=THRESHOLD)


async def _consent(sandbox: Sandbox, community_id: int, moderator: Person) -> None:
    """A consent proposal: passes unless someone objects, with a reason."""
    preview = await prepare_poll(sandbox.api, sandbox.tg, moderator, community_id,
                                 question=CONSENT[sandbox.language],
                                 options=["+", "-"], deadline="10d")
    for data in ("pc:s:method", "pc:c:method:consent", "pc:go"):
        mark = sandbox.api.mark()
        await sandbox.tg.press(moderator, preview, data)
        preview = await sandbox.api.wait_for(ANSWERS, after=mark, timeout=WAIT,
                                             where=lambda c: c.chat_id == moderator.id)


async def _announced_ahead(sandbox: Sandbox, community_id: int, moderator: Person) -> None:
    """A vote announced a set time before it opens, with background to read and a button
    to ask the committee about it."""
    question, background = AHEAD[sandbox.language]
    preview = await prepare_poll(sandbox.api, sandbox.tg, moderator, community_id,
                                 question=question, settings=("notice",))
    for step in ("pc:s:material", background, "pc:go"):
        mark = sandbox.api.mark()
        if step.startswith("pc:"):
            await sandbox.tg.press(moderator, preview, step)
        else:
            await sandbox.tg.say(moderator, moderator, step)
        preview = await sandbox.api.wait_for(ANSWERS, after=mark, timeout=WAIT,
                                             where=lambda c: c.chat_id == moderator.id)


async def _decision(sandbox: Sandbox, group: Group, community_id: int, moderator: Person,
                    local: Any) -> None:
    """A decision written down and posted for objection for a week; Wang Fang objects."""
    title, milestones, objection = DECISION[sandbox.language]
    due = (local + timedelta(days=30)).date()
    asked_owner = await walk(sandbox, moderator, [f"/start decision_{community_id}", title])
    assert asked_owner is not None
    mark = sandbox.api.mark()
    await sandbox.tg.press(moderator, asked_owner,
                           asked_owner.buttons[-2]["callback_data"])  # "Me"
    await sandbox.api.wait_for(ANSWERS, after=mark, timeout=WAIT,
                               where=lambda c: c.chat_id == moderator.id)
    await walk(sandbox, moderator, [f"{due:%Y-%m-%d}", milestones])
    post = await _in_group(sandbox, group, moderator, "/decision D-1 notice 7", "📢")
    objector = sandbox.people["owner"]
    await walk(sandbox, objector, ["/start " + post.buttons[0]["url"].split("=", 1)[1],
                                    objection])
