"""What the scheduler runs for polls: the deadline, the result held back by quiet hours
(from versions before the outbox), and the reminders."""

from __future__ import annotations

import html

from bot.context import YishiApp
from bot.domain.households import Household
from bot.domain.models import DueWork
from bot.domain.polls import Poll, PollStatus, still_to_vote
from bot.i18n import N_, translator
from bot.scheduler import Defer, Done
from bot.scheduler import Outcome as DueOutcome
from handlers import outgoing
from handlers.polls.lifecycle import _announce, close_poll, open_voting
from handlers.polls.texts import _count, _local, quorum_line, turnout_text
from storage import Connection, communities, memberships, outbox, residents
from storage import polls as store


async def close_due(app: YishiApp, work: DueWork) -> DueOutcome:
    """Due work ``poll_close``: the deadline came (perhaps while the bot was down)."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        poll = await store.get(conn, work.payload["poll"])
    if poll is not None and poll.status is PollStatus.OPEN \
            and poll.deadline > services.clock.now():
        # Extended since this was armed: the new deadline has its own item.
        return Done()
    await close_poll(app, work.payload["poll"])
    return Done()


async def announce_result(app: YishiApp, work: DueWork) -> DueOutcome:
    """Due work ``poll_result``, queued by versions before the outbox (a database upgraded
    with one still waiting): tell the group, outside quiet hours."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        poll = await store.get(conn, work.payload["poll"])
        community = await communities.by_id(conn, poll.community_id) if poll else None
    if poll is None or community is None or poll.status is not PollStatus.CLOSED:
        return Done()
    quiet_until = community.quiet_until(services.clock.now())
    if quiet_until is not None:
        return Defer(quiet_until)
    await _announce(app, poll.id, community)
    return Done()


async def open_due(app: YishiApp, work: DueWork) -> DueOutcome:
    """Due work ``poll_open``: an announced poll's notice period is over (perhaps while the
    bot was down): voting opens."""
    await open_voting(app, work.payload["poll"])
    return Done()


async def notice_remind(app: YishiApp, work: DueWork) -> DueOutcome:
    """Due work ``poll_notice_remind``: the day before voting opens, the group hears of it
    (outside quiet hours)."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        poll = await store.get(conn, work.payload["poll"])
        community = await communities.by_id(conn, poll.community_id) if poll else None
        if poll is None or community is None or poll.status is not PollStatus.NOTICE \
                or poll.opens_at is None:
            return Done()
        now = services.clock.now()
        _ = translator(community.language)
        await outbox.queue(conn, [outgoing.message(
            f"poll:{poll.id}:notice:remind", community.chat_id,
            _("Reminder: voting on {ref} “{question}” opens {when}. The notice is pinned "
              "above.").format(ref=poll.ref, question=html.escape(poll.question),
                               when=_local(poll.opens_at, community)),
            not_before=community.quiet_until(now))], now)
    services.outbox.kick()
    return Done()


async def remind(app: YishiApp, work: DueWork) -> DueOutcome:
    """Due work ``poll_remind``: the group hears the turnout; those who may vote and have
    not yet, and who have a private chat with the bot, get a word. Never in quiet hours:
    moved to when they end, or dropped if the poll closes first."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        poll = await store.get(conn, work.payload["poll"])
        community = await communities.by_id(conn, poll.community_id) if poll else None
    now = services.clock.now()
    if poll is None or community is None or poll.status is not PollStatus.OPEN \
            or poll.deadline <= now:
        return Done()
    quiet_until = community.quiet_until(now)
    if quiet_until is not None:
        return Done() if quiet_until >= poll.deadline else Defer(quiet_until)
    _ = translator(community.language)
    # The group's word and each private one are queued together under this reminder's
    # name: a reminder run again (after a crash) sends none of them twice.
    key = f"poll:{poll.id}:remind:{work.key}:{poll.deadline.isoformat()}"
    async with services.db.transaction() as conn:
        _result, _meaning, figures = await _count(conn, poll)
        roster = await residents.households(conn, poll.community_id)
        owed = [outgoing.message(f"{key}:group", community.chat_id, "\n".join([
            _("Reminder: {ref} “{question}” closes {when}.").format(
                ref=poll.ref, question=html.escape(poll.question),
                when=_local(poll.deadline, community)),
            turnout_text(figures, _), *filter(None, [quorum_line(figures, _)])]))]
        owed += await outgoing.to_people(
            conn, await _not_yet_voted(conn, poll, roster), key, services.default_language,
            lambda reader: reader(N_(
                "{ref} in {group} closes {when}, and you have not voted yet. Vote with the "
                "buttons under the poll in the group.")).format(
                ref=poll.ref, group=html.escape(community.title),
                when=_local(poll.deadline, community)))
        await outbox.queue(conn, owed, now)
    services.outbox.kick()
    return Done()


async def _not_yet_voted(conn: Connection, poll: Poll,
                         roster: list[Household]) -> list[int]:
    """People whose vote would be taken now and who have not voted
    (bot.domain.polls.still_to_vote: the same rule as a press)."""
    in_scope = [h for h in roster if poll.scope.covers(h)]
    return still_to_vote(
        poll.audience, poll.scope, roster=in_scope,
        members=await memberships.members(conn, poll.community_id),
        voted=await store.voters(conn, poll.id),
        household_voters=await store.household_voters(conn, poll.id),
        counts_units=poll.counts_units and not poll.secret)
