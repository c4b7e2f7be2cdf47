"""A survey round's business actions, each in the caller's transaction with what it owes
the world queued in the outbox: a round opened (by a moderator, or by the schedule every
few months) and posted; a round closed, its results frozen and posted with the trend
against the round before and, beside each category's handlers, their record."""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.deeplinks import DeepLink
from bot.domain.models import Community
from bot.domain.surveys import (
    COMMITTEE,
    OPEN_FOR,
    PROPERTY,
    HandlerRecord,
    Round,
    SubjectResult,
    category_subject,
    handler_records,
    subject_category,
    subjects_for,
    tally,
)
from bot.i18n import N_, Translator, translator
from bot.report_names import category_name
from bot.services import Services
from handlers import outgoing
from storage import Connection, due_work, outbox
from storage import surveys as store

LINK = "survey"  # /start survey_<round>
CLOSE = "survey_close"  # due work: the round's end
POSTED = "survey_post"
# How far back the handlers' record looks for a first round (later ones: since the last).
FIRST_LOOK_BACK = timedelta(days=91)
SUBJECT_NAMES = {COMMITTEE: N_("the owners' committee"),
                 PROPERTY: N_("the property management")}


def subject_name(subject: str, _: Translator) -> str:
    category = subject_category(subject)
    if category is not None:
        return _("the handlers of {category} reports").format(
            category=category_name(category, _))
    return _(SUBJECT_NAMES[subject]) if subject in SUBJECT_NAMES else subject


def local_day(at: datetime, community: Community) -> str:
    return f"{at.astimezone(ZoneInfo(community.timezone)):%Y-%m-%d}"


def post_text(survey: Round, community: Community, _: Translator) -> str:
    lines = ["<b>" + _("📋 {ref} · Satisfaction survey (共评)").format(ref=survey.ref) + "</b>",
             _("How well are we served? Rate {list}, 1 to 5 stars, with a comment if you "
               "like.").format(list=_.join(subject_name(s, _) for s in survey.subjects)),
             _("One answer per household, from residents on the roster. Anonymous: no "
               "one, moderators included, can see who gave which stars.")
             if survey.anonymous else
             _("One answer per household, from residents on the roster. Stars are "
               "anonymous; comments carry your name so the committee can follow them up."),
             _("Open until {day}; the results come to this group then.").format(
                 day=local_day(survey.closes_at, community))]
    if survey.closed_at is not None:
        lines.append("<i>" + _("Closed; the results are posted below.") + "</i>")
    return "\n".join(lines)


def post_markup(services: Services, survey: Round, _: Translator) -> InlineKeyboardMarkup:
    link = DeepLink(action=LINK, community_id=survey.id)
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        _("Rate in private"), url=link.url(services.bot_username))]])


async def open_round(conn: Connection, services: Services, community: Community, *,
                     opened_by: int | None, anonymous: bool, now: datetime) -> Round:
    """Open a round on the committee, the property management and the categories used
    since the last round; post it and arm its close."""
    last = await store.last_opened(conn, community.id)
    since = last or now - FIRST_LOOK_BACK
    used = await store.categories_used(conn, community.id, since)
    survey = await store.open_round(
        conn, community_id=community.id,
        subjects=subjects_for(used, services.settings.reports.categories),
        anonymous=anonymous, opened_by=opened_by, now=now, closes_at=now + OPEN_FOR,
        looks_back_from=since)
    _ = translator(community.language)
    await outbox.queue(conn, [outgoing.message(
        f"survey:{survey.id}:post", community.chat_id, post_text(survey, community, _),
        markup=post_markup(services, survey, _),
        remember={"what": POSTED, "round": survey.id})], now)
    await due_work.schedule(conn, kind=CLOSE, key=str(survey.id), due_at=survey.closes_at,
                            now=now, payload={"round": survey.id})
    return survey


async def posted(conn: Connection, remember: dict[str, Any], answer: Any,
                 now: datetime) -> None:
    await store.posted(conn, int(remember["round"]), int(answer["chat"]["id"]),
                       int(answer["message_id"]))


def freeze(survey: Round, scores: dict[tuple[str, int], int], households: int,
           records: dict[str, HandlerRecord], comments: int) -> dict[str, Any]:
    """What a closed round keeps of itself (and posts): plain JSON."""
    return {
        "households": households, "comments": comments,
        "subjects": [{"subject": r.subject, "counts": list(r.counts)}
                     for r in tally(survey.subjects, scores)],
        "handlers": {category: {
            "reports": r.reports, "ack": r.hours_to_acknowledge,
            "resolve": r.hours_to_resolve,
            "rating": float(r.rating) if r.rating is not None else None,
            "ratings": r.ratings} for category, r in records.items()},
    }


def thaw(results: dict[str, Any] | None) -> dict[str, SubjectResult]:
    return {s["subject"]: SubjectResult(subject=s["subject"], counts=tuple(s["counts"]))
            for s in (results or {}).get("subjects", [])}


async def close_round(conn: Connection, services: Services, survey: Round,
                      community: Community, now: datetime) -> bool:
    """Freeze the results and post them; False if the round was closed already."""
    records = handler_records(await store.report_times(conn, community.id,
                                                       survey.looks_back_from, now))
    results = freeze(survey, await store.scores(conn, survey.id),
                     await store.households_taking_part(conn, survey.id),
                     {c: r for c, r in records.items()
                      if category_subject(c) in survey.subjects},
                     len(await store.comments(conn, survey.id)))
    if not await store.close(conn, survey.id, now, results):
        return False
    before = await store.closed_before(conn, community.id, survey.number)
    closed = survey.model_copy(update={"closed_at": now, "results": results})
    _ = translator(community.language)
    owed = [outgoing.message(f"survey:{survey.id}:results", community.chat_id,
                             results_text(closed, before, community, _))]
    if survey.post_chat_id is not None and survey.post_message_id is not None:
        owed.append(outgoing.edit_text(f"survey:{survey.id}:closed", survey.post_chat_id,
                                       survey.post_message_id,
                                       post_text(closed, community, _)))
    await outbox.queue(conn, owed, now)
    return True


def _stars(value: Fraction | float | None) -> str:
    return "—" if value is None else f"{float(value):.1f}"


def _change(change: Fraction | None, before: Round | None, _: Translator) -> str:
    if before is None:
        return _("first round")
    if change is None:
        return _("not rated in {ref}").format(ref=before.ref)
    arrow = "↑" if change > 0 else "↓" if change < 0 else "→"
    return _("{arrow}{change} since {ref}").format(arrow=arrow, change=_stars(abs(change)),
                                                   ref=before.ref)


def _record(record: dict[str, Any] | None, _: Translator) -> str:
    if not record or not record.get("reports"):
        return ""
    parts = [_("{count} reports").format(count=record["reports"])]
    if record.get("ack") is not None:
        parts.append(_("acknowledged in {hours} h").format(hours=record["ack"]))
    if record.get("resolve") is not None:
        parts.append(_("resolved in {hours} h").format(hours=record["resolve"]))
    line = _("on average: {parts}").format(parts=_.join(parts))
    if record.get("ratings"):
        line += _("; the reporters rated the fixes ★ {stars} ({count})").format(
            stars=_stars(record["rating"]), count=record["ratings"])
    return line


def results_text(survey: Round, before: Round | None, community: Community,
                 _: Translator) -> str:
    results = survey.results or {}
    earlier = thaw(before.results) if before is not None else {}
    lines = [_("<b>📋 {ref} · Satisfaction survey results</b> ({start} – {end})").format(
                 ref=survey.ref, start=local_day(survey.opened_at, community),
                 end=local_day(survey.closed_at or survey.closes_at, community)),
             _("Households taking part: {count}").format(count=results.get("households", 0))]
    for result in thaw(results).values():
        name = subject_name(result.subject, _)
        line = "• " + _("{subject}: ★ {mean} ({count} answers; {change})").format(
            subject=html.escape(name[:1].upper() + name[1:]), mean=_stars(result.mean),
            count=result.answers,
            change=_change(result.change_from(earlier.get(result.subject)), before, _))
        if result.answers:
            line += "\n  " + " · ".join(f"{stars}★ {n}" for stars, n in
                                        zip(range(1, 6), result.counts, strict=True))
        category = subject_category(result.subject)
        record = _record((results.get("handlers") or {}).get(category), _) \
            if category else ""
        if record:
            line += "\n  " + record
        lines.append(line)
    if results.get("comments"):
        lines.append(_("{count} comments went to the committee (/export {ref}).").format(
            count=results["comments"], ref=survey.ref))
    return "\n".join(lines)[:4096]
