"""The weekly summary: on the community's day and time (default Sunday 20:00 local), one
message and one chart of where the building stands. /summary: moderators get this week's
now, in the group; everyone else sees the last weekly one.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import CommandHandler

from bot.chart import chart_key, render_elsewhere
from bot.context import YishiApp, YishiContext
from bot.domain.decisions import OPEN_DECISIONS, UpdateKind, listing_order
from bot.domain.durations import WEEKDAYS, next_weekly
from bot.domain.helping import hours
from bot.domain.models import Community, DueWork, Role
from bot.domain.points import initials
from bot.domain.polls import thaw_turnout
from bot.domain.reports import overdue
from bot.domain.summary import (
    ChartWeek,
    DecisionLine,
    MeetingLine,
    NoticeLine,
    PollLine,
    SurveyLine,
    TopicLine,
    Week,
    mean,
    median_hours,
)
from bot.domain.topics import TopicStatus
from bot.i18n import N_, WEEKDAY_NAMES, Translator, translator
from bot.scheduler import Defer, Done, Outcome
from handlers.common import chat_translator, communities_of, ensure_community, user_role
from handlers.polls.lifecycle import closed_lines
from handlers.reports.lifecycle import limits_for
from handlers.surveys.lifecycle import subject_name, thaw
from storage import (
    communities,
    decision_notices,
    due_work,
    helping,
    people,
    points,
    polls,
    summaries,
    topics,
    volunteering,
)
from storage import decisions as decision_store
from storage import meetings as meeting_store
from storage import reports as report_store
from storage import surveys as survey_store

log = logging.getLogger(__name__)

# How a decision's objection period (公示) ended, as the weekly summary says it.
NOTICE_OUTCOMES = {"confirmed": N_("confirmed"), "amended": N_("amended"),
                   "withdrawn": N_("withdrawn")}

SUMMARY = "weekly_summary"
WEEK = timedelta(days=7)


def _schedule(app: YishiApp) -> tuple[str, time]:
    settings = app.bot_data.services.settings.summary
    return settings.day, time.fromisoformat(settings.time)


def _latest(app: YishiApp, community: Community, now: datetime) -> datetime:
    """The most recent summary time at or before ``now``: the end of the week it covers."""
    day, at = _schedule(app)
    return next_weekly(now - WEEK, community.timezone, day, at)


# --- gathering the week -----------------------------------------------------------------------


def _turnout_share(data: dict | None) -> float | None:
    if not data:
        return None
    figures = thaw_turnout(data["turnout"])
    if figures.civil and figures.owner_share is not None:
        return float(figures.owner_share)
    if figures.units:
        return figures.ballots / figures.units
    if figures.people:
        return min(1.0, figures.ballots / figures.people)
    return None


async def gather(app: YishiApp, community: Community, start: datetime, end: datetime,
                 _: Translator) -> Week:
    """Everything the summary says about [start, end) for one community."""
    services = app.bot_data.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        raised = await topics.created_since(conn, community.id, start)
        raised = [t for t in raised if t.created_at < end]
        supported = await topics.listed(conn, community.id, (TopicStatus.OPEN,))
        closed = await polls.polls_closed(conn, community.id, start, end)
        still_open = await polls.polls_open(conn, community.id)
        opened = await summaries.reports_opened(conn, community.id, start, end)
        resolved = await summaries.resolutions(conn, community.id, start, end)
        stars = await summaries.ratings(conn, community.id, start, end)
        open_reports = await report_store.open_in(conn, community.id)
        decided = await decision_store.of_community(conn, community.id)
        updates = await decision_store.updates_between(conn, community.id, start, end)
        leaders = await points.leaderboard(conn, community.id, start, 3) \
            if community.leaderboard else []
        named = await people.names(conn, [user for user, _points in leaders])
        helps_done, help_minutes = await helping.given_between(conn, community.id, start, end)
        held, held_minutes = await volunteering.held_between(conn, community.id, start, end)
        met = await meeting_store.held_between(conn, community.id, start, end)
        notices = await decision_notices.during(conn, community.id, start, end)
        rounds = await survey_store.closed_between(conn, community.id, start, end)
        running = await survey_store.open_in(conn, community.id)
        if running is not None and running.opened_at < end:
            rounds.append(running)
        taking_part = {r.id: await survey_store.households_taking_part(conn, r.id)
                       for r in rounds}
    zone = ZoneInfo(community.timezone)
    top = sorted(supported, key=lambda item: (-item[1], item[0].number))[:3]
    contributors = []
    for user, earned in leaders:
        person = named.get(user)
        if person is not None:
            contributors.append((person.name if person.public_name == "name"
                                 else initials(person.name), earned))
    return Week(
        start=start, end=end, topics_raised=len(raised),
        top_topics=[TopicLine(ref=t.ref, title=t.title, supports=n) for t, n in top if n],
        polls_closed=[PollLine(ref=p.ref, question=p.question,
                               verdict=closed_lines(p, _)[0], turnout=closed_lines(p, _)[1])
                      for p in closed],
        polls_open=[PollLine(ref=p.ref, question=p.question, verdict="", turnout="",
                             deadline=p.deadline.astimezone(zone)) for p in still_open],
        reports_opened=opened, reports_resolved=len(resolved),
        median_hours_to_resolve=median_hours([done - filed for filed, done in resolved]),
        reports_overdue=sum(1 for r in open_reports if overdue(
            r.status, r.created_at, limits_for(services.settings, r.category), now)),
        satisfaction=mean(stars), ratings=len(stars),
        decisions_open=[DecisionLine(ref=d.ref, title=d.title, progress=d.progress,
                                     overdue=d.overdue(now))
                        for d in listing_order(decided, now) if d.status in OPEN_DECISIONS],
        decision_updates=sum(1 for _d, entry in updates if entry.kind is UpdateKind.PROGRESS),
        top_contributors=contributors, helps_done=helps_done, help_minutes=help_minutes,
        activities_held=held, activity_minutes=held_minutes,
        meetings=[MeetingLine(ref=m.ref, title=m.title,
                              came=len((m.minutes or {}).get("attended", [])),
                              agreed=len((m.minutes or {}).get("agreed", []))) for m in met],
        notices=[NoticeLine(ref=f"D-{number}", title=title, objections=objections,
                            until=notice.until.astimezone(zone), outcome=notice.outcome)
                 for number, title, notice, objections in notices],
        surveys=[SurveyLine(ref=r.ref, households=taking_part[r.id],
                            until=None if r.closed_at else r.closes_at.astimezone(zone),
                            means=[(result.subject, result.mean)
                                   for result in thaw(r.results).values()])
                 for r in rounds])


async def chart_weeks(app: YishiApp, community: Community, end: datetime) -> list[ChartWeek]:
    """The chart's weeks ending at ``end``: three queries over the whole span, counted
    into weeks here."""
    services = app.bot_data.services
    count = services.settings.summary.weeks_in_chart
    first = end - count * WEEK
    async with services.db.transaction() as conn:
        filed = await summaries.report_times(conn, community.id, first, end)
        resolved = await summaries.resolutions(conn, community.id, first, end)
        closed = await summaries.poll_results(conn, community.id, first, end)

    def week_of(moment: datetime) -> int:
        return int((moment - first) / WEEK)

    opened_in, resolved_in = [0] * count, [0] * count
    shares: list[list[float]] = [[] for _ in range(count)]
    for moment in filed:
        opened_in[week_of(moment)] += 1
    for _filed, done in resolved:
        resolved_in[week_of(done)] += 1
    for moment, result in closed:
        if (share := _turnout_share(result)) is not None:
            shares[week_of(moment)].append(share)
    return [ChartWeek(start=first + n * WEEK, opened=opened_in[n], resolved=resolved_in[n],
                      turnout=sum(shares[n]) / len(shares[n]) if shares[n] else None)
            for n in range(count)]


# --- writing it -------------------------------------------------------------------------------


def compose(week: Week, community: Community, _: Translator) -> str:
    zone = ZoneInfo(community.timezone)
    last_day = (week.end - timedelta(seconds=1)).astimezone(zone)
    span = f"{week.start.astimezone(zone):%m-%d} – {last_day:%m-%d}"
    title = html.escape(community.title)
    if week.empty:
        return _("A quiet week in {group} ({span}): no new topics, polls, reports or "
                 "decisions.").format(group=title, span=span)
    lines = [_("<b>The week in {group}</b> ({span})").format(group=title, span=span)]
    if week.topics_raised or week.top_topics:
        top = "; ".join(f"{t.ref} {html.escape(t.title)} ({t.supports})"
                        for t in week.top_topics)
        lines.append(_("<b>Topics</b>: {count} raised. Most supported: {list}").format(
            count=week.topics_raised, list=top) if top else
            _("<b>Topics</b>: {count} raised.").format(count=week.topics_raised))
    if week.polls_closed or week.polls_open:
        lines.append(_("<b>Polls</b>"))
        for poll in week.polls_closed:
            lines.append("• " + _("{ref} “{question}”: {verdict} {turnout}").format(
                ref=poll.ref, question=html.escape(poll.question), verdict=poll.verdict,
                turnout=poll.turnout))
        for poll in week.polls_open:
            assert poll.deadline is not None
            lines.append("• " + _("{ref} “{question}” is open until {when}").format(
                ref=poll.ref, question=html.escape(poll.question),
                when=f"{poll.deadline:%Y-%m-%d %H:%M}"))
    if week.reports_opened or week.reports_resolved or week.reports_overdue:
        line = _("<b>Reports</b>: {opened} opened, {resolved} resolved").format(
            opened=week.reports_opened, resolved=week.reports_resolved)
        if week.median_hours_to_resolve is not None:
            line += _(", {hours} h to resolve (median)").format(
                hours=week.median_hours_to_resolve)
        if week.reports_overdue:
            line += _(", {count} overdue").format(count=week.reports_overdue)
        if week.satisfaction is not None:
            line += _(", satisfaction ★ {stars} ({count} ratings)").format(
                stars=f"{float(week.satisfaction):.1f}", count=week.ratings)
        lines.append(_("{sentence}.").format(sentence=line))
    if week.decisions_open or week.decision_updates:
        lines.append(_("<b>Decisions</b>: {count} progress updates this week.").format(
            count=week.decision_updates))
        for decision in week.decisions_open[:8]:
            lines.append(f"• {decision.ref} {html.escape(decision.title)} · "
                         f"{decision.progress}%" + (" · ⚠️ " + _("overdue")
                                                    if decision.overdue else ""))
    if week.helps_done:
        lines.append(_("<b>Neighbours helping neighbours</b>: {count} times, {hours} h "
                       "given.").format(count=week.helps_done,
                                        hours=hours(week.help_minutes)))
    if week.activities_held:
        lines.append(_("<b>Volunteering</b>: {count} activities held, {hours} h given.")
                     .format(count=week.activities_held,
                             hours=hours(week.activity_minutes)))
    if week.meetings:
        lines.append(_("<b>Round-table meetings</b>: {list}.").format(list=_.join(
            _("{ref} “{title}” ({came} came, {agreed} agreed actions)").format(
                ref=m.ref, title=html.escape(m.title), came=m.came, agreed=m.agreed)
            for m in week.meetings)))
    if week.notices:
        lines.append(_("<b>Posted for objection</b>"))
        for notice in week.notices:
            state = _(NOTICE_OUTCOMES[notice.outcome]) if notice.outcome in NOTICE_OUTCOMES \
                else _("taking objections until {when}").format(
                    when=f"{notice.until:%Y-%m-%d %H:%M}")
            lines.append("• " + _("{ref} “{title}”: {count} objections, {state}").format(
                ref=notice.ref, title=html.escape(notice.title), count=notice.objections,
                state=state))
    for survey in week.surveys:
        if survey.until is not None:
            lines.append(_("<b>Satisfaction survey</b> {ref}: open until {when}, {count} "
                           "households have answered (/survey).").format(
                ref=survey.ref, when=f"{survey.until:%Y-%m-%d}", count=survey.households))
        else:
            lines.append(_("<b>Satisfaction survey</b> {ref} closed ({count} households): "
                           "{list}.").format(ref=survey.ref, count=survey.households,
                                             list=_.join(
                f"{html.escape(subject_name(subject, _))} ★ "
                + (f"{float(mean):.1f}" if mean is not None else "—")
                for subject, mean in survey.means)))
    if week.top_contributors:
        lines.append(_("<b>Thanks to</b> {list}").format(list=_.join(
            _("{name} ({points})").format(name=html.escape(name), points=earned)
            for name, earned in week.top_contributors)))
    return "\n".join(lines)[:4096]


async def _post(app: YishiApp, community: Community, start: datetime, end: datetime, *,
                weekly: bool) -> bool:
    """Send the summary of [start, end) and, unless the week was empty, its chart. A
    weekly one is claimed first, so it goes out once however often this runs."""
    services = app.bot_data.services
    _ = translator(community.language)
    week = await gather(app, community, start, end, _)
    text = compose(week, community, _)
    if weekly:
        async with services.db.transaction() as conn:
            if not await summaries.claim(conn, community.id, start, text,
                                         services.clock.now()):
                return False
    try:
        await app.bot.send_message(community.chat_id, text)
        if week.empty:
            return True
        weeks = await chart_weeks(app, community, end)
        key = chart_key(weeks, community.language, community.timezone)
        # A chart Telegram already has (the same weeks drawn for another group) is sent
        # again by its file id: nothing to draw, nothing to upload.
        photo = services.chart_files.get(key) or await render_elsewhere(
            weeks, community.language, community.timezone)
        sent = await app.bot.send_photo(community.chat_id, photo, caption=_(
            "Reports opened and resolved, and poll turnout, week by week."))
        if sent.photo:
            services.chart_files.put(key, sent.photo[-1].file_id)
    except Exception:
        if weekly:
            async with services.db.transaction() as conn:
                await summaries.release(conn, community.id, start)
        raise
    if weekly and sent.photo:
        async with services.db.transaction() as conn:
            await summaries.set_chart(conn, community.id, start, sent.photo[-1].file_id)
    return True


async def weekly(app: YishiApp, work: DueWork) -> Outcome:
    """Due work ``weekly_summary``: the week that ended at the last summary time, once;
    then the next week's is armed (a run after downtime covers the latest week)."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        community = await communities.by_id(conn, work.payload["community"])
    if community is None or not community.active or not services.settings.summary.enabled:
        return Done()
    now = services.clock.now()
    quiet_until = community.quiet_until(now)
    if quiet_until is not None:
        return Defer(quiet_until)
    end = _latest(app, community, now)
    if end > community.created_at:  # never a week that ended before the bot joined
        await _post(app, community, end - WEEK, end, weekly=True)
    day, at = _schedule(app)
    return Defer(next_weekly(now, community.timezone, day, at))


async def ensure_armed(app: YishiApp, community: Community) -> None:
    """The community's next weekly summary is armed (at most one is)."""
    services = app.bot_data.services
    if not services.settings.summary.enabled:
        return
    async with services.db.transaction() as conn:
        if await due_work.pending(conn, kind=SUMMARY, key=str(community.id)) is not None:
            return
    day, at = _schedule(app)
    await services.scheduler.schedule(
        kind=SUMMARY, key=str(community.id),
        due_at=next_weekly(services.clock.now(), community.timezone, day, at),
        payload={"community": community.id})


async def arm_all(app: YishiApp) -> None:
    """At start: every active community has its next summary armed (in one transaction:
    a deployment may serve hundreds of groups)."""
    services = app.bot_data.services
    if not services.settings.summary.enabled:
        return
    day, at = _schedule(app)
    now = services.clock.now()
    async with services.db.transaction() as conn:
        armed = await due_work.pending_keys(conn, kind=SUMMARY)
        for community in await communities.active(conn):
            if str(community.id) not in armed:
                await due_work.schedule(
                    conn, kind=SUMMARY, key=str(community.id),
                    due_at=next_weekly(now, community.timezone, day, at), now=now,
                    payload={"community": community.id})


# --- on demand -------------------------------------------------------------------------------


async def summary_command(update: Update, context: YishiContext) -> None:
    """/summary: a moderator in the group gets the last seven days now; everyone else (and
    anyone in private) sees the last weekly summary."""
    chat, message, user = update.effective_chat, update.effective_message, \
        update.effective_user
    assert chat is not None and message is not None
    _ = await chat_translator(update, context)
    app = context.application
    if chat.type != "private":
        community = await ensure_community(context, chat)
        await ensure_armed(app, community)
        by_moderator = message.sender_chat is not None and message.sender_chat.id == chat.id \
            or user is not None and await user_role(context, community, user.id) is Role.MODERATOR
        if by_moderator:
            now = context.services.clock.now()
            await _post(app, community, now - WEEK, now, weekly=False)
            return
        mine = [community]
    else:
        assert user is not None
        mine = await communities_of(context, user.id)
    shown = False
    for community in mine:
        async with context.services.db.transaction() as conn:
            found = await summaries.last(conn, community.id)
        if found is None:
            continue
        text, chart = found
        await message.reply_text(text)
        if chart:
            try:
                await message.reply_photo(chart)
            except (BadRequest, Forbidden):
                log.info("summary chart not resent", extra={"community": community.id})
        shown = True
    if not shown:
        day, at = _schedule(app)
        await message.reply_text(_("There is no weekly summary yet; the first comes on "
                                   "{day} at {time}.").format(
            day=_(WEEKDAY_NAMES[WEEKDAYS.index(day)]), time=f"{at:%H:%M}"))


async def replan(app: YishiApp, community: Community) -> None:
    """The group's time zone changed: its next summary falls at the hour in the new zone."""
    services = app.bot_data.services
    if not services.settings.summary.enabled:
        return
    day, at = _schedule(app)
    await services.scheduler.schedule(
        kind=SUMMARY, key=str(community.id),
        due_at=next_weekly(services.clock.now(), community.timezone, day, at),
        payload={"community": community.id})


def register(app: YishiApp) -> None:
    app.add_handler(CommandHandler("summary", summary_command))
    services = app.bot_data.services
    services.scheduler.on(SUMMARY, weekly, concurrent=True)
    services.zone_changed.append(replan)
    services.startup.append(arm_all)
