"""Rating in private: the round's link (or /survey in private) asks about each subject in
turn — 1 to 5 stars, or skip — and after the stars offers to take a comment. Each
subject is rated once per household; a person who belongs to two households answers once.
"""

from __future__ import annotations

import html
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ConversationHandler

from bot.buttons import Button
from bot.context import YishiContext
from bot.deeplinks import DeepLink
from bot.domain.models import Community
from bot.domain.residents import ResidentStatus
from bot.domain.surveys import COMMENT_MAX, STARS, Round, household_for
from bot.i18n import N_, Translator
from handlers.common import flow_reply, person_translator, refuse, typed_within
from handlers.surveys.callbacks import NEXT, RATE
from handlers.surveys.lifecycle import local_day, subject_name
from storage import communities, residents
from storage import surveys as store

RATING, COMMENT = range(150, 152)
DRAFT = "survey"
SKIP = 0  # the stars of "skip this one"


async def _households(conn: Any, survey: Round, user_id: int) -> list[int]:
    """The person's households in the round's building (verified on the roster)."""
    return [tie.unit_id for tie, _address in await residents.of_person(
        conn, user_id, survey.community_id) if tie.status is ResidentStatus.VERIFIED]


async def _load(context: YishiContext, round_id: int
                ) -> tuple[Round | None, Community | None]:
    async with context.services.db.transaction() as conn:
        survey = await store.get(conn, round_id)
        community = await communities.by_id(conn, survey.community_id) if survey else None
    return survey, community


def _question(survey: Round, index: int, _: Translator) -> tuple[str, InlineKeyboardMarkup]:
    text = "<b>" + _("{ref} · Satisfaction survey ({n}/{of})").format(
        ref=survey.ref, n=index + 1, of=len(survey.subjects)) + "</b>\n" + _(
        "How satisfied is your household with {subject}? 1 is very unhappy, 5 very "
        "happy.").format(subject=html.escape(subject_name(survey.subjects[index], _)))
    stars = [InlineKeyboardButton(f"{n}★", callback_data=RATE.data(survey.id, index, n))
             for n in STARS]
    return text, InlineKeyboardMarkup([stars, [InlineKeyboardButton(
        _("Skip"), callback_data=RATE.data(survey.id, index, SKIP))]])


async def _ask_next(update: Update, context: YishiContext, survey: Round,
                    community: Community, after: int, lead: str = "") -> int:
    """Ask about the first subject after ``after`` this person can still rate; or thank
    them when there is none. ``lead``: a line to say first."""
    _ = await person_translator(update, context)
    user = update.effective_user
    assert user is not None
    async with context.services.db.transaction() as conn:
        mine = await _households(conn, survey, user.id)
        taken = await store.answered(conn, survey.id, mine, user.id)
        for index in range(after + 1, len(survey.subjects)):
            if household_for(mine, *taken.get(survey.subjects[index], ([], False))) \
                    is not None:
                break
        else:
            index = -1
    if index < 0:
        context.user_data.pop(DRAFT, None)
        await flow_reply(update, lead + _("That is all for {ref}. Thank you! The results come "
                                          "to {group} on {day}.").format(
            ref=survey.ref, group=html.escape(community.title),
            day=local_day(survey.closes_at, community)))
        return ConversationHandler.END
    context.user_data[DRAFT] = {"round": survey.id, "subject": index}
    text, markup = _question(survey, index, _)
    await flow_reply(update, lead + text, markup)
    return RATING


async def _refusal(context: YishiContext, survey: Round | None,
                   community: Community | None, user_id: int) -> str | None:
    if survey is None or community is None or not survey.is_open \
            or context.services.clock.now() >= survey.closes_at:
        return N_("This survey round has closed; its results are in the group.")
    async with context.services.db.transaction() as conn:
        if not await _households(conn, survey, user_id):
            return N_("Only residents on the building's roster rate in the survey, one answer "
                      "per household. Send /join in the group to be added.")
    return None


async def _begin(update: Update, context: YishiContext, round_id: int) -> int:
    user = update.effective_user
    assert user is not None
    survey, community = await _load(context, round_id)
    refusal = await _refusal(context, survey, community, user.id)
    if refusal is not None:
        _ = await person_translator(update, context)
        await flow_reply(update, _(refusal))
        return ConversationHandler.END
    assert survey is not None and community is not None
    return await _ask_next(update, context, survey, community, -1)


async def from_link(update: Update, context: YishiContext) -> int:
    """/start survey_<round>: the post's "Rate in private"."""
    link = DeepLink.parse(" ".join(context.args or []))
    return await _begin(update, context, link.community_id if link else 0)


async def survey_command(update: Update, context: YishiContext) -> int:
    """/survey in private: the open round of the person's building."""
    user = update.effective_user
    assert user is not None
    async with context.services.db.transaction() as conn:
        homes = {tie.community_id for tie, _a in await residents.of_person(conn, user.id)
                 if tie.status is ResidentStatus.VERIFIED}
        rounds = [r for c in sorted(homes) if (r := await store.open_in(conn, c)) is not None]
    if not rounds:
        _ = await person_translator(update, context)
        await flow_reply(update, _("No survey round is open in your building now."))
        return ConversationHandler.END
    return await _begin(update, context, rounds[0].id)


async def _checked_press(update: Update, context: YishiContext, button: Button
                         ) -> tuple[Round, Community, tuple[Any, ...]] | None:
    """A survey button's round and fields, or None once the presser is told why not (a
    closed round, someone not on the roster, a forged or stale button)."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    pressed = button.parse(query.data)
    survey, community = await _load(context, pressed[0]) if pressed else (None, None)
    refusal = await _refusal(context, survey, community, user.id)
    if refusal is None and (pressed is None or survey is None
                            or pressed[1] >= len(survey.subjects)):
        refusal = N_("This button is out of date.")
    if refusal is not None:
        await refuse(update, context, refusal)
        return None
    assert survey is not None and community is not None and pressed is not None
    return survey, community, tuple(pressed)


async def stars_pressed(update: Update, context: YishiContext) -> int:
    """1–5 stars (or skip) for one subject: counted for the person's household."""
    user = update.effective_user
    assert user is not None
    checked = await _checked_press(update, context, RATE)
    if checked is None:
        return ConversationHandler.END
    survey, community, (_round_id, index, stars) = checked
    if stars == SKIP:
        return await _ask_next(update, context, survey, community, index)
    subject = survey.subjects[index]
    async with context.services.db.transaction() as conn:
        mine = await _households(conn, survey, user.id)
        unit = household_for(mine, *(await store.answered(conn, survey.id, mine, user.id)
                                     ).get(subject, ([], False)))
        counted = unit is not None and await store.rate(conn, survey.id, subject, unit,
                                                        user.id, stars)
    _ = await person_translator(update, context)
    if not counted:
        return await _ask_next(update, context, survey, community, index, lead=_(
            "Your household has already rated {subject} in {ref}.").format(
            subject=html.escape(subject_name(subject, _)), ref=survey.ref) + "\n\n")
    context.user_data[DRAFT] = {"round": survey.id, "subject": index}
    note = _("Your comment stays anonymous.") if survey.anonymous else \
        _("Your comment goes to the committee with your name.")
    await flow_reply(update, _("{subject}: {stars}★. Thank you! A comment for them? Type it "
                               "now, or press Next.").format(
        subject=html.escape(_capital(subject_name(subject, _))), stars=stars) + " " + note,
        InlineKeyboardMarkup([[InlineKeyboardButton(
            _("Next ›"), callback_data=NEXT.data(survey.id, index))]]))
    return COMMENT


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


async def next_pressed(update: Update, context: YishiContext) -> int:
    """No comment: on to the next subject."""
    checked = await _checked_press(update, context, NEXT)
    if checked is None:
        return ConversationHandler.END
    survey, community, (_round_id, index) = checked
    return await _ask_next(update, context, survey, community, index)


async def comment_typed(update: Update, context: YishiContext) -> int:
    """The comment on the subject just rated; then the next subject."""
    message, user = update.effective_message, update.effective_user
    draft = context.user_data.get(DRAFT)
    if message is None or user is None or not isinstance(draft, dict):
        return ConversationHandler.END
    _ = await person_translator(update, context)
    text = await typed_within(message, _, COMMENT_MAX)
    if text is None:
        return COMMENT
    survey, community = await _load(context, int(draft["round"]))
    refusal = await _refusal(context, survey, community, user.id)
    if refusal is not None:
        await message.reply_text(_(refusal))
        return ConversationHandler.END
    assert survey is not None and community is not None
    index = int(draft["subject"])
    async with context.services.db.transaction() as conn:
        await store.comment(conn, survey.id, survey.subjects[index], text,
                            None if survey.anonymous else user.id)
    await message.reply_text(_("Your comment is kept for the committee."))
    return await _ask_next(update, context, survey, community, index)
