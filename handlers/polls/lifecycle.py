"""A poll's business actions, each one transaction that also queues what it owes the
world (bot/outbox.py): arming its deadline and reminders, posting it, keeping its post up
to date, closing it (the result, the decision it makes), announcing the result.

Other features reach polls only through this module."""

from __future__ import annotations

import html
import logging
from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest

from bot.context import YishiApp, YishiContext
from bot.domain.chain import GENESIS
from bot.domain.models import Community, Outgoing
from bot.domain.points import Action
from bot.domain.polls import (
    CIVIL_RULES,
    Method,
    Poll,
    PollStatus,
    Tally,
    Turnout,
    Verdict,
    decision_title,
    thaw_turnout,
    thaw_verdict,
)
from bot.domain.topics import TopicStatus
from bot.i18n import N_, Translator, translator
from bot.points import award_many
from bot.roles import chat_admin_ids
from bot.services import Services
from handlers import outgoing
from handlers.common import (
    schedule_spaced,
)
from handlers.decisions.lifecycle import from_poll as decisions_from_poll
from handlers.polls import amend
from handlers.polls.notice import result_notice
from handlers.polls.texts import (
    _count,
    _digest,
    _render,
    _result_record,
    notice_text,
    reasons_of,
    shown_lines,
    turnout_text,
    verdict_text,
)
from handlers.questions import ask_button
from storage import Connection, communities, due_work, outbox
from storage import decisions as decision_store
from storage import polls as store
from storage import topics as topic_store

log = logging.getLogger(__name__)


CLOSE, RESULT, REMIND = "poll_close", "poll_result", "poll_remind"
# An announced poll: voting opens by itself; the group is reminded the day before.
OPEN, NOTICE_REMIND = "poll_open", "poll_notice_remind"


POSTED = "poll_post"  # what the outbox records once a poll's post is sent
HEAD_POSTED = "poll_head"  # ... and once the result with the log's head is
NOTICE_POSTED = "poll_notice"  # ... and once an announced poll's notice is (to pin it)


async def _community(community_id: int, context: YishiContext) -> Community | None:
    async with context.services.db.transaction() as conn:
        return await communities.by_id(conn, community_id)


async def _arm(conn: Connection, services: Services, poll: Poll) -> None:
    """The deadline and the reminders, in the database (so a restart keeps them), in the
    transaction that creates or extends the poll."""
    now = services.clock.now()
    await due_work.schedule(conn, kind=CLOSE, key=str(poll.id), due_at=poll.deadline,
                            now=now, payload={"poll": poll.id})
    for hours in services.settings.polls.reminder_hours:
        due = poll.deadline - timedelta(hours=hours)
        key = f"{poll.id}:{hours:g}"
        if due > now:
            await due_work.schedule(conn, kind=REMIND, key=key, due_at=due, now=now,
                                    payload={"poll": poll.id})
        else:
            await due_work.cancel(conn, kind=REMIND, key=key)


async def _post(conn: Connection, poll: Poll, community: Community) -> Outgoing:
    """The poll's post in the group, queued; its message id is recorded once it is sent."""
    text, markup = await _render(conn, poll, community)
    return outgoing.message(f"poll:{poll.id}:post", community.chat_id, text, markup=markup,
                            remember={"what": POSTED, "poll": poll.id,
                                      "digest": _digest(text, markup)})


async def _posted(conn: Connection, remember: dict[str, Any], answer: Any,
                  now: datetime) -> None:
    """The post went out: note where it is. Votes that came while it was on its way could
    not be shown on it yet: if it no longer shows the count, it is edited at once."""
    poll_id = int(remember["poll"])
    # Writing the poll's row waits for a batch of votes in progress (it holds the row),
    # so the render below counts it; a later batch waits for this, and its
    # refresh finds the post. Either way the post ends up showing every vote.
    await store.set_post(conn, poll_id, int(answer["chat"]["id"]), int(answer["message_id"]),
                         remember["digest"])
    poll = await store.get(conn, poll_id)
    community = await communities.by_id(conn, poll.community_id) if poll else None
    if poll is None or community is None:
        return
    text, markup = await _render(conn, poll, community)
    digest = _digest(text, markup)
    if await store.swap_post_digest(conn, poll.id, digest):
        await outbox.queue(conn, [outgoing.edit_text(
            f"poll:{poll.id}:post:{digest[:16]}", community.chat_id,
            int(answer["message_id"]), text, markup=markup)], now)


async def announce(conn: Connection, services: Services, poll: Poll,
                   community: Community) -> None:
    """A poll announced ahead of voting (公示): the notice is posted now (and pinned once
    it is in), with its background; voting opens by itself at ``opens_at`` — due work in
    the database, so a restart keeps it — and the group is reminded the day before."""
    assert poll.opens_at is not None
    now = services.clock.now()
    await due_work.schedule(conn, kind=OPEN, key=str(poll.id), due_at=poll.opens_at, now=now,
                            payload={"poll": poll.id})
    if poll.opens_at - timedelta(days=1) > now:
        await due_work.schedule(conn, kind=NOTICE_REMIND, key=str(poll.id),
                                due_at=poll.opens_at - timedelta(days=1), now=now,
                                payload={"poll": poll.id})
    _ = translator(community.language)
    material = poll.notice or {}
    owed = [outgoing.message(f"poll:{poll.id}:notice", community.chat_id,
                             notice_text(poll, community, _),
                             markup=InlineKeyboardMarkup([[ask_button(
                                 services, "poll", poll.id, _)]]),
                             remember={"what": NOTICE_POSTED, "poll": poll.id})]
    if material.get("photo"):
        owed.append(outgoing.photo(f"poll:{poll.id}:notice:photo", community.chat_id,
                                   material["photo"], _("{ref}: background").format(
                                       ref=poll.ref)))
    if material.get("document"):
        owed.append(outgoing.document(f"poll:{poll.id}:notice:document", community.chat_id,
                                      file_id=material["document"],
                                      caption=_("{ref}: background").format(ref=poll.ref)))
    await outbox.queue(conn, owed, now)


async def _notice_posted(conn: Connection, remember: dict[str, Any], answer: Any,
                         now: datetime) -> None:
    """The notice is in the group: pin it, so it stays in sight for the notice period."""
    await outbox.queue(conn, [outgoing.pin(f"poll:{remember['poll']}:notice:pin",
                                           int(answer["chat"]["id"]),
                                           int(answer["message_id"]))], now)


async def open_voting(app: YishiApp, poll_id: int) -> bool:
    """The notice period is over: voting opens — the ballot post, the deadline and the
    reminders, in one transaction. False if the poll was not waiting (cancelled)."""
    services = app.bot_data.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        poll = await store.get(conn, poll_id)
        community = await communities.by_id(conn, poll.community_id) if poll else None
        if poll is None or community is None or not await store.open_voting(conn, poll.id):
            return False
        opened = await store.get(conn, poll.id)
        assert opened is not None
        await _arm(conn, services, opened)
        _ = translator(community.language)
        await outbox.queue(conn, [
            outgoing.message(f"poll:{poll.id}:opened", community.chat_id, _(
                "Voting on {ref} is open now, after its notice period.").format(ref=poll.ref)),
            await _post(conn, opened, community)], now)
    services.outbox.kick()
    return True


async def refresh_post(app: YishiApp, poll_id: int) -> None:
    """Bring the group post up to date, unless it already shows exactly this."""
    services = app.bot_data.services
    # Counted in a read of its own, which holds up none of the votes written meanwhile.
    async with services.db.reading() as conn:
        poll = await store.get(conn, poll_id)
        community = await communities.by_id(conn, poll.community_id) if poll else None
        if poll is None or community is None or poll.post_message_id is None:
            return
        text, markup = await _render(conn, poll, community)
    async with services.db.transaction() as conn:
        current = await store.get(conn, poll_id)
        if current is None or current.status is not poll.status:
            return  # closed (or cancelled) since: whoever did it shows that
        if not await store.swap_post_digest(conn, poll.id, _digest(text, markup)):
            return
    try:
        await app.bot.edit_message_text(text, chat_id=poll.post_chat_id,
                                        message_id=poll.post_message_id, reply_markup=markup)
    except BadRequest as exc:
        log.info("poll post not edited", extra={"poll": poll_id, "error": str(exc)})


def schedule_refresh(app: YishiApp, poll_id: int) -> None:
    """A burst of votes becomes one edit, at most every tally_refresh_seconds."""
    schedule_spaced(app, f"poll-post:{poll_id}",
                    app.bot_data.services.settings.polls.tally_refresh_seconds,
                    _refresh_job, poll_id)


async def _refresh_job(context: YishiContext) -> None:
    assert context.job is not None
    await refresh_post(context.application, int(context.job.data))


async def close_poll(app: YishiApp, poll_id: int) -> bool:
    """Close an open poll once. One transaction counts, stores the result, hands on to the
    topic and the decisions, and queues everything the close owes: the post showing the
    result, the result in the group (after its quiet hours), and the moderators' word about
    a decision it made. A crash or a slow Telegram at any point loses none of them."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        poll = await store.get(conn, poll_id)
        community = await communities.by_id(conn, poll.community_id) if poll else None
    if poll is None or community is None or poll.status is not PollStatus.OPEN:
        return False
    # Asked of Telegram before the transaction, which must not wait on the network.
    admins = await chat_admin_ids(app.bot, community.chat_id)
    now = services.clock.now()
    async with services.db.transaction() as conn:
        # Held from here to the result: a batch of votes either lands before the count or
        # finds the poll closed, never between.
        poll = await store.get(conn, poll_id, lock=True)
        if poll is None or poll.status is not PollStatus.OPEN:
            return False
        result, meaning, figures = await _count(conn, poll)
        if not await store.finish(conn, poll.id, PollStatus.CLOSED, now,
                                  result=_result_record(result, meaning, figures)):
            return False
        await store.destroy_key(conn, poll.id)
        if poll.secret:
            await _seal_secret(conn, services, poll, community, now)
        # The vote log's head, posted with the result: outside the database, where a
        # rewrite of the log cannot reach it (/audit reads it back from the group).
        links = await store.chain(conn, poll.id)
        await store.set_head(conn, poll.id, links[-1].hash if links else GENESIS, len(links))
        if poll.topic_id is not None:
            await topic_store.move(conn, poll.topic_id, from_status=TopicStatus.SELECTED_VOTE,
                                   to_status=TopicStatus.DECIDED, now=now)
        closed = await store.get(conn, poll.id)
        assert closed is not None
        reasons = await reasons_of(conn, closed)
        owed = [*await _final_post(conn, closed, community),
                _result_message(closed, community, result, meaning, figures, now, reasons),
                *await amend.offer(conn, closed, community, reasons)]
        if closed.rule in CIVIL_RULES:
            owed += await result_notice(conn, closed, community, result, meaning, figures, now)
        group = translator(community.language)
        decided = decision_title(
            poll, meaning, approved=group(N_("{question} — consented, nobody objected")
                                          if poll.method is Method.CONSENT else
                                          N_("{question} — approved by the owners")),
            chosen=group(N_("{question} — decided: {option}")))
        if decided and await decision_store.for_poll(conn, poll.id) is None:
            made = await decision_store.create(conn, community_id=poll.community_id,
                                               title=decided, poll_id=poll.id,
                                               topic_id=poll.topic_id, now=now)
            owed += await decisions_from_poll(conn, services, made, community, admins)
        await outbox.queue(conn, owed, now)
    if poll.secret:
        await services.db.flush_journal()
    log.info("poll closed", extra={"poll": poll.id, "log_head": links[-1].hash if links
                                   else GENESIS, "log_entries": len(links)})
    services.outbox.kick()
    return True


async def _seal_secret(conn: Connection, services: Services, poll: Poll,
                       community: Community, now: datetime) -> None:
    """A secret poll closes: with its key gone, the order its rows were written in goes
    too (storage.polls.erase_order), and those who took part get their points now, all at
    once — a ledger row per press would have dated each ballot."""
    await store.erase_order(conn, poll.id)
    took_part = await store.participants(conn, poll.id)
    await award_many(conn, services.settings.points, community,
                     acts=[(user, f"poll:{poll.id}") for user in took_part],
                     action=Action.VOTE, now=now)


async def _final_post(conn: Connection, poll: Poll, community: Community) -> list[Outgoing]:
    """The post's last edit: the result in place of the buttons (none if it was never
    posted)."""
    if poll.post_message_id is None or poll.post_chat_id is None:
        return []
    text, markup = await _render(conn, poll, community)
    await store.swap_post_digest(conn, poll.id, _digest(text, markup))
    return [outgoing.edit_text(f"poll:{poll.id}:post:{poll.status.value}", poll.post_chat_id,
                               poll.post_message_id, text, markup=markup)]


def _result_message(poll: Poll, community: Community, result: Tally, meaning: Verdict,
                    figures: Turnout, now: datetime, reasons: list[str]) -> Outgoing:
    _ = translator(community.language)
    lines = [_("<b>{ref} is closed</b>: {question}").format(
        ref=poll.ref, question=html.escape(poll.question)),
        *shown_lines(poll, result, meaning, reasons, _), turnout_text(figures, _), "",
        verdict_text(poll, meaning, _)]
    if poll.head_hash is not None:
        lines += ["", _("Vote log: {entries} entries; its head is <code>{head}</code>. "
                        "/audit {ref} checks the log against this message.").format(
            entries=poll.head_entries, head=poll.head_hash, ref=poll.ref)]
    # The result waits for the end of the group's quiet hours; the poll is closed now.
    return outgoing.message(f"poll:{poll.id}:result", community.chat_id, "\n".join(lines),
                            not_before=community.quiet_until(now),
                            remember={"what": HEAD_POSTED, "poll": poll.id})


async def _head_posted(conn: Connection, remember: dict[str, Any], answer: Any,
                       now: datetime) -> None:
    """The result, with the log's head, is in the group: note where, for /audit."""
    await store.head_posted(conn, int(remember["poll"]), int(answer["chat"]["id"]),
                            int(answer["message_id"]))


async def _announce(app: YishiApp, poll_id: int, community: Community) -> None:
    services = app.bot_data.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        poll = await store.get(conn, poll_id)
        assert poll is not None
        result, meaning, figures = await _count(conn, poll)
        await outbox.queue(conn, [_result_message(poll, community, result, meaning, figures,
                                                  now)], now)
    services.outbox.kick()


def closed_lines(poll: Poll, _: Translator) -> tuple[str, str]:
    """A closed poll's verdict and turnout as the group read them (for the summary)."""
    if not poll.result:
        return "", ""
    return (verdict_text(poll, thaw_verdict(poll.result["verdict"]), _),
            turnout_text(thaw_turnout(poll.result["turnout"]), _))
