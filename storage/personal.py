"""Everything yishi holds about one person, for /mydata: each table that names them,
read as plain rows (dates as ISO text)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import (
    activities,
    activity_signups,
    announcements,
    ballot_voids,
    ballots,
    conversation_states,
    decision_followers,
    decision_objections,
    decision_ratings,
    decision_updates,
    decisions,
    help_answers,
    helps,
    meeting_signups,
    meetings,
    outbox,
    point_wallets,
    poll_participants,
    polls,
    questions,
    redemptions,
    report_events,
    report_followers,
    report_photos,
    reports,
    survey_comments,
    survey_takers,
    time_balances,
    time_ledger,
    time_transfers,
    topic_supports,
    topics,
    unit_owners,
)


def _plain(row: Any) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in dict(row).items()}


async def _rows(conn: AsyncConnection, query: Any) -> list[dict[str, Any]]:
    return [_plain(row) for row in (await conn.execute(query)).mappings()]


# Whole rows that name the person, under the name /mydata gives them.
ROWS_NAMING_THEM: tuple[tuple[str, Column[Any]], ...] = (
    ("reports_followed", report_followers.c.user_id),
    ("report_events_by_you", report_events.c.actor_id),
    ("topics", topics.c.author_id),
    ("topics_supported", topic_supports.c.user_id),
    ("ballots_entered_or_voided", ballot_voids.c.voided_by),
    ("decisions_owned", decisions.c.owner_id),
    ("decisions_followed", decision_followers.c.user_id),
    ("decisions_rated", decision_ratings.c.user_id),
    ("decision_updates", decision_updates.c.actor_id),
    ("announcements", announcements.c.author_id),
    ("register_entries", unit_owners.c.user_id),
    ("help_asked_or_offered", helps.c.author_id),
    ("help_chosen_for", helps.c.partner_id),
    ("help_answered", help_answers.c.user_id),
    ("time_bank_balances", time_balances.c.user_id),
    ("time_bank_entries", time_ledger.c.user_id),
    ("time_credits_given", time_transfers.c.from_id),
    ("time_credits_received", time_transfers.c.to_id),
    ("volunteer_activities_organised", activities.c.organiser_id),
    ("volunteer_seats_taken", activity_signups.c.user_id),
    ("rewards_redeemed", redemptions.c.user_id),
    ("points_spent", point_wallets.c.user_id),
    ("questions_asked", questions.c.asker_id),
    ("decisions_objected_to", decision_objections.c.user_id),
    ("meetings_signed_up_for", meeting_signups.c.user_id),
    ("survey_subjects_rated", survey_takers.c.user_id),  # never the stars
    ("survey_comments_signed", survey_comments.c.user_id),  # only a named round's
)


async def gather(conn: AsyncConnection, user_id: int) -> dict[str, Any]:
    """The person's reports with their timelines and photos, the reports they follow,
    their topics (those they signed: an anonymous topic stores no author) and supports,
    their public ballots and the secret polls they took part in (never the choice), the
    decisions they own, follow, rate or updated, the announcements they wrote, their
    entries on the building's register, the help they asked, offered, answered or gave,
    their time bank, the volunteer activities they organised or took a seat at, the
    rewards they redeemed and the flows they are in."""
    mine = await _rows(conn, select(reports).where(reports.c.reporter_id == user_id)
                       .order_by(reports.c.id))
    ids = [r["id"] for r in mine]
    events = await _rows(conn, select(report_events).where(
        report_events.c.report_id.in_(ids)).order_by(report_events.c.id)) if ids else []
    photos = await _rows(conn, select(report_photos).where(
        report_photos.c.report_id.in_(ids))) if ids else []
    for report in mine:
        report["timeline"] = [e for e in events if e["report_id"] == report["id"]]
        report["photos"] = [p for p in photos if p["report_id"] == report["id"]]
    gathered: dict[str, Any] = {"reports": mine}
    for name, column in ROWS_NAMING_THEM:
        gathered[name] = await _rows(conn, select(column.table).where(column == user_id))
    gathered["ballots"] = await _rows(conn, select(
        ballots.c.poll_id, polls.c.number.label("poll_number"), polls.c.question,
        ballots.c.unit_id, ballots.c.choice, ballots.c.at)
        .join(polls, polls.c.id == ballots.c.poll_id)
        .where(ballots.c.user_id == user_id).order_by(ballots.c.poll_id))
    gathered["secret_polls_taken_part_in"] = await _rows(conn, select(
        poll_participants.c.poll_id, polls.c.number.label("poll_number"))
        .join(polls, polls.c.id == poll_participants.c.poll_id)
        .where(poll_participants.c.user_id == user_id))
    gathered["conversations"] = await _rows(conn, select(conversation_states).where(
        or_(*_keys(user_id))))
    return gathered


def _keys(user_id: int) -> Sequence[Any]:
    """Conversation keys that are the person's: [chat, user] in any chat."""
    return [conversation_states.c.key.like(f"[%,{user_id}]"),
            conversation_states.c.key == f"[{user_id},{user_id}]"]


async def forget_messages(conn: AsyncConnection, user_id: int, traces: Sequence[str]) -> None:
    """The messages the bot sent or owes that carry the person: those to them are deleted,
    others keep their key (so none is sent twice) and lose their content. ``traces``: the
    id, name and username as they were written.

    First in /forgetme's transaction: the outbox's runner notes a message sent and then
    takes the feature's row it belongs to (a request for help, a poll); taking the outbox
    rows before any feature's row, as it does, neither waits for the other in a circle."""
    await conn.execute(delete(outbox).where(outbox.c.chat_id == user_id))
    marks = [t for t in traces if t]
    rows = await conn.execute(select(outbox.c.id, outbox.c.params, outbox.c.remember))
    for row_id, params, remember in rows.all():
        text = json.dumps([params, remember], ensure_ascii=False)
        if any(mark in text for mark in marks):
            await conn.execute(update(outbox).where(outbox.c.id == row_id).values(
                params={}, remember=None))


async def forget(conn: AsyncConnection, user_id: int) -> None:
    """What /forgetme clears beyond each feature's own records: the columns that name the
    person without a foreign key (who acted on a report or a decision, who wrote an
    announcement, who made a poll). The messages go first (:func:`forget_messages`)."""
    for column in (report_events.c.actor_id, decision_updates.c.actor_id,
                   announcements.c.author_id, polls.c.created_by, helps.c.partner_id,
                   time_ledger.c.by, activities.c.organiser_id,
                   questions.c.answered_by, meetings.c.organiser_id,
                   survey_takers.c.user_id, survey_comments.c.user_id):
        await conn.execute(update(column.table).where(column == user_id)
                           .values({column.name: None}))
