"""What the scheduler runs for decisions: the owner's reminders (silence, the due date),
the moderators' word when one is overdue, the rating a while after it is done, and
updates held back by quiet hours (from versions before the outbox)."""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from typing import Any

from bot.context import YishiApp
from bot.domain.decisions import (
    OPEN_DECISIONS,
    Decision,
    DecisionStatus,
)
from bot.domain.models import Community, DueWork
from bot.i18n import N_, translator
from bot.scheduler import Defer, Done, Outcome
from handlers import outgoing
from handlers.decisions.lifecycle import RATING_POSTED, STALE, _get, _queue_update
from handlers.decisions.texts import _local, _owner_name, _rating_buttons, _rating_text
from handlers.moderators import moderator_ids
from storage import Connection, outbox
from storage import decisions as store


async def post_update(app: YishiApp, work: DueWork) -> Outcome:
    """Due work ``decision_update``, armed by versions before the outbox (a database
    upgraded with one still waiting): the update goes to the outbox now."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        await _queue_update(conn, services, work.payload["decision"], by_moderator=False,
                            update_id=work.payload["update"])
    services.outbox.kick()
    return Done()


async def _to_owner(app: YishiApp, work: DueWork, decision: Decision, community: Community,
                    msgid: str) -> None:
    """Tell the owner (or, with none, the moderators) in private, once for this run of
    ``work`` however often it is retried."""
    services = app.bot_data.services
    recipients = [decision.owner_id] if decision.owner_id else \
        await moderator_ids(app.bot, services, community)
    now = services.clock.now()
    async with services.db.transaction() as conn:
        # Named by what it is about (the due date; for silence, the last update and how
        # many intervals have passed since): run again after a crash, it is not sent twice.
        last = (await store.timeline(conn, decision.id))[-1]
        interval = timedelta(days=services.settings.decisions.update_interval_days)
        about = f"{last.id}:{(now - last.at) // interval}" if work.kind == STALE else \
            (decision.due_at.isoformat() if decision.due_at else "")
        key = f"decision:{decision.id}:{work.kind}:{about}"
        owed = await outgoing.to_people(
            conn, recipients, key, services.default_language, lambda _: _(msgid).format(
                ref=decision.ref, title=html.escape(decision.title),
                group=html.escape(community.title),
                days=services.settings.decisions.update_interval_days,
                when=_local(decision.due_at, community) if decision.due_at else ""))
        await outbox.queue(conn, owed, now)
    services.outbox.kick()


async def remind_stale(app: YishiApp, work: DueWork) -> Outcome:
    """Due work ``decision_stale``: no update for the interval. Repeats each interval."""
    services = app.bot_data.services
    decision, community = await _get(app, work.payload['decision'])
    if decision is None or community is None or decision.status not in OPEN_DECISIONS:
        return Done()
    now = services.clock.now()
    interval = timedelta(days=services.settings.decisions.update_interval_days)
    async with services.db.transaction() as conn:
        last = (await store.timeline(conn, decision.id))[-1].at
    if now < last + interval:
        return Defer(last + interval)  # an update came since this was armed
    quiet_until = community.quiet_until(now)
    if quiet_until is not None:
        return Defer(quiet_until)
    await _to_owner(app, work, decision, community, N_(
        "{ref} “{title}” in {group} has had no progress update for {days} days. Post one "
        "with /progress {ref}, even a short one."))
    return Defer(now + interval)


async def remind_due(app: YishiApp, work: DueWork) -> Outcome:
    services = app.bot_data.services
    decision, community = await _get(app, work.payload['decision'])
    if decision is None or community is None or decision.status not in OPEN_DECISIONS \
            or decision.due_at is None:
        return Done()
    quiet_until = community.quiet_until(services.clock.now())
    if quiet_until is not None:
        return Defer(quiet_until)
    await _to_owner(app, work, decision, community, N_(
        "{ref} “{title}” in {group} is due {when}. Post progress with /progress {ref}."))
    return Done()


async def escalate_overdue(app: YishiApp, work: DueWork) -> Outcome:
    """Due work ``decision_overdue``: past the due date and not done; moderators hear once."""
    services = app.bot_data.services
    decision, community = await _get(app, work.payload['decision'])
    now = services.clock.now()
    if decision is None or community is None or not decision.overdue(now):
        return Done()
    quiet_until = community.quiet_until(now)
    if quiet_until is not None:
        return Defer(quiet_until)
    owner = await _owner_name(app, decision)
    recipients = await moderator_ids(app.bot, services, community)
    # Each moderator's word is queued under this due date: an escalation run again after a
    # crash, or a failed send retried, reaches nobody twice.
    due = decision.due_at.isoformat() if decision.due_at else ""
    key = f"decision:{decision.id}:overdue:{due}"
    async with services.db.transaction() as conn:
        owed = await outgoing.to_people(
            conn, recipients, key, services.default_language, lambda _: _(
                "Overdue in {group}: {ref} “{title}” was due {when} and is at {percent}% "
                "(owner: {owner}).").format(
                group=html.escape(community.title), ref=decision.ref,
                title=html.escape(decision.title), when=_local(decision.due_at, community)
                if decision.due_at else "", percent=decision.progress,
                owner=html.escape(owner) if owner else _("nobody yet")))
        await outbox.queue(conn, owed, now)
    services.outbox.kick()
    return Done()


async def ask_rating(app: YishiApp, work: DueWork) -> Outcome:
    """Due work ``decision_rating``: weeks after done, the group rates the result."""
    services = app.bot_data.services
    decision, community = await _get(app, work.payload['decision'])
    if decision is None or community is None or decision.status is not DecisionStatus.DONE \
            or not community.active:
        return Done()
    quiet_until = community.quiet_until(services.clock.now())
    if quiet_until is not None:
        return Defer(quiet_until)
    _ = translator(community.language)
    now = services.clock.now()
    async with services.db.transaction() as conn:
        # Queued once for the decision (asked again after a crash, the key is known); where
        # it landed is noted when it is sent (rating_posted).
        await outbox.queue(conn, [outgoing.message(
            f"decision:{decision.id}:rating", community.chat_id,
            _rating_text(decision, [], _), markup=_rating_buttons(decision),
            remember={"what": RATING_POSTED, "decision": decision.id})], now)
    services.outbox.kick()
    return Done()


async def rating_posted(conn: Connection, remember: dict[str, Any], answer: Any,
                        now: datetime) -> None:
    """The rating question is in the group: note where, so the ratings can update it."""
    await store.set_rating_post(conn, int(remember["decision"]), int(answer["chat"]["id"]),
                                int(answer["message_id"]))
