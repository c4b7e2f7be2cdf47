"""What a poll shows: its settings, its count, its verdict, the group post and the
moderators' buttons. The count read here is live while the poll is open and frozen once
it is closed."""

from __future__ import annotations

import hashlib
import html
import json
from datetime import datetime
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.context import YishiApp
from bot.domain.households import Household
from bot.domain.models import Community
from bot.domain.polls import (
    Audience,
    Ballot,
    Outcome,
    Poll,
    PollStatus,
    Refusal,
    Rule,
    Tally,
    Turnout,
    Verdict,
    Weighting,
    freeze,
    percent,
    thaw_tally,
    thaw_turnout,
    thaw_verdict,
    turnout,
    verdict,
)
from bot.i18n import N_, Translator, translator
from handlers.polls import callbacks
from handlers.polls.ballots import pseudonym
from storage import polls as store
from storage import residents

YES_NO_ABSTAIN = (N_("Yes"), N_("No"), N_("Abstain"))


AUDIENCE_NAMES = {
    Audience.MEMBERS: N_("anyone in the group"),
    Audience.VERIFIED: N_("residents on the roster"),
    Audience.HOUSEHOLDS: N_("one vote per household"),
    Audience.OWNERS: N_("owners only, one vote per household"),
}


WEIGHTING_NAMES = {
    Weighting.PERSON: N_("each vote counts once"),
    Weighting.HOUSEHOLD: N_("each household counts once"),
    Weighting.AREA: N_("votes weigh by floor area"),
}


RULE_NAMES = {
    Rule.PLURALITY: N_("the option with the most votes wins"),
    Rule.MAJORITY: N_("an option needs more than half of the votes cast"),
    Rule.CIVIL_ORDINARY: N_("Civil Code, ordinary matter: 2/3 of area and owners take part, "
                            "more than half of both approve"),
    Rule.CIVIL_MAJOR: N_("Civil Code, major matter: 2/3 of area and owners take part, at "
                         "least 3/4 of both approve"),
}


REFUSALS = {
    Refusal.NOT_MEMBER: N_("Only members of this group can vote."),
    Refusal.NOT_VERIFIED: N_("This poll is for residents on the roster. Send /join to me in "
                             "private to join it."),
    Refusal.NOT_OWNER: N_("This poll is for owners only."),
    Refusal.OUT_OF_SCOPE: N_("This poll is only for the households it names."),
    Refusal.HOUSEHOLD_VOTED: N_("Someone else already voted for your household."),
}


def _local(moment: datetime, community: Community) -> str:
    return f"{moment.astimezone(ZoneInfo(community.timezone)):%Y-%m-%d %H:%M}"


def _describe(draft_or_poll: dict[str, Any], _: Translator) -> list[str]:
    d = draft_or_poll
    scope = _("all households")
    if d.get("scope_building"):
        scope = _("building {building}").format(building=d["scope_building"]) + (
            _(", staircase {staircase}").format(staircase=d["scope_staircase"])
            if d.get("scope_staircase") else "")
    choice = _("one choice") if not d["multiple"] else _("up to {count} choices").format(
        count=d["max_choices"])
    return [
        _("Who votes: {audience} ({scope})").format(
            audience=_(AUDIENCE_NAMES[Audience(d["audience"])]), scope=scope),
        _("Counting: {weighting}; {choice}").format(
            weighting=_(WEIGHTING_NAMES[Weighting(d["weighting"])]), choice=choice),
        _("Decided by: {rule}").format(rule=_(RULE_NAMES[Rule(d["rule"])])),
        _("Results: {when}").format(when=_("shown live") if d["live"]
                                    else _("shown after closing")),
        _("Ballot: secret (nobody can see who voted what, only who took part)")
        if d.get("secret") else _("Ballot: public (moderators can see who voted what)"),
    ]


def _management_buttons(poll: Poll, _: Translator) -> InlineKeyboardMarkup:
    rows = [[
        InlineKeyboardButton(_("Close now"), callback_data=callbacks.MANAGE.data(poll.id, "close")),
        InlineKeyboardButton(_("Extend 1 day"),
                             callback_data=callbacks.MANAGE.data(poll.id, "extend")),
        InlineKeyboardButton(_("Cancel poll"),
                             callback_data=callbacks.MANAGE.data(poll.id, "cancel")),
    ]]
    if poll.counts_units and not poll.multiple and not poll.secret:
        rows.append([InlineKeyboardButton(_("Proxy vote (paper or phone)"),
                                          callback_data=callbacks.MANAGE.data(poll.id, "proxy"))])
    return InlineKeyboardMarkup(rows)


async def _count_now(app: YishiApp, poll: Poll) -> tuple[Tally, Verdict, Turnout]:
    async with app.bot_data.services.db.transaction() as conn:
        return await _count(conn, poll)


async def _count(conn: AsyncConnection, poll: Poll) -> tuple[Tally, Verdict, Turnout]:
    """The count: live while the poll is open; once closed, exactly as it was at closing
    (a roster that changes later does not change a decided result)."""
    if poll.status is not PollStatus.OPEN and poll.result:
        frozen = poll.result
        return (thaw_tally(frozen["tally"]), thaw_verdict(frozen["verdict"]),
                thaw_turnout(frozen["turnout"]))
    roster = await residents.households(conn, poll.community_id)
    ballots = await store.counted(conn, poll.id)
    poll_key = await store.key(conn, poll.id) if poll.secret else None
    if poll_key is not None:
        ballots = _resolve_units(ballots, poll_key, roster)
    result, meaning = verdict(poll, ballots, roster)
    return result, meaning, turnout(poll, roster, result, ballots)


def _resolve_units(ballots: list[Ballot], poll_key: str,
                   roster: list[Household]) -> list[Ballot]:
    """A secret ballot names its household only by a keyed pseudonym; while the key exists
    (until closing) the count can find the unit again, to weigh it."""
    by_key = {"k:" + pseudonym(poll_key, f"unit:{h.unit_id}"): h.unit_id for h in roster}
    return [b.model_copy(update={"unit_id": by_key.get(b.unit_key)}) if b.unit_key else b
            for b in ballots]


def _weight(value: Fraction, poll: Poll) -> str:
    if poll.weighting is Weighting.AREA:
        return f"{float(value):.2f} m²"
    return str(int(value)) if value.denominator == 1 else f"{float(value):.2f}"


def turnout_text(figures: Turnout, _: Translator) -> str:
    if figures.civil:
        return _("Turnout: {area} of the floor area, {owners} of the owners (2/3 of both "
                 "needed)").format(area=percent(figures.area_share),
                                   owners=percent(figures.owner_share))
    if figures.units is not None:
        return _("Turnout: {ballots} of {units} households").format(ballots=figures.ballots,
                                                                    units=figures.units)
    return _("Turnout: {ballots} votes").format(ballots=figures.ballots)


def _results_lines(poll: Poll, result: Tally, _: Translator) -> list[str]:
    lines = []
    for index, option in enumerate(poll.options):
        share = result.weights[index] / result.total_weight if result.total_weight else None
        line = _("{option}: {votes} votes").format(option=html.escape(option),
                                                   votes=result.votes[index])
        if poll.weighting is Weighting.AREA:
            line += f", {_weight(result.weights[index], poll)}"
        lines.append(_("{line} ({share})").format(line=line, share=percent(share)))
    return lines


async def _render(conn: AsyncConnection, poll: Poll, community: Community) -> tuple[
        str, InlineKeyboardMarkup | None]:
    _ = translator(community.language)
    result, meaning, figures = await _count(conn, poll)
    lines = [f"<b>{poll.ref} · {html.escape(poll.question)}</b>", ""]
    if poll.status is PollStatus.OPEN:
        lines.append(_("Vote until {when} ({zone}).").format(when=_local(poll.deadline,
                                                                          community),
                                                             zone=community.timezone))
    lines += _describe(_settings_of(poll), _)
    lines.append(turnout_text(figures, _))
    if poll.status is PollStatus.OPEN:
        if poll.live_results:
            lines += ["", *_results_lines(poll, result, _)]
        buttons = [InlineKeyboardButton(option, callback_data=callbacks.VOTE.data(poll.id, index))
                   for index, option in enumerate(poll.options)]
        markup = InlineKeyboardMarkup([buttons[i:i + 2] for i in range(0, len(buttons), 2)])
        return "\n".join(lines), markup
    if poll.status is PollStatus.CANCELLED:
        lines += ["", _("Cancelled by the moderators. Reason: {reason}").format(
            reason=html.escape(poll.reason or "—"))]
    else:
        lines += ["", *_results_lines(poll, result, _), "",
                  verdict_text(poll, meaning, _)]
    return "\n".join(lines), None


def verdict_text(poll: Poll, meaning: Verdict, _: Translator) -> str:
    outcome = meaning.outcome
    if outcome is Outcome.NO_VOTES:
        return _("Result: nobody voted.")
    if outcome is Outcome.TIE:
        return _("Result: a tie; no option won.")
    if outcome is Outcome.NO_MAJORITY:
        return _("Result: no option got more than half of the votes.")
    if outcome is Outcome.WON:
        return _("Result: “{option}” won.").format(option=html.escape(
            poll.options[meaning.winner or 0]))
    figures = {"area_turnout": percent(meaning.area_turnout),
               "owner_turnout": percent(meaning.owner_turnout),
               "area_yes": percent(meaning.area_approval),
               "owner_yes": percent(meaning.owner_approval),
               "needed": "3/4" if poll.rule is Rule.CIVIL_MAJOR else _("more than 1/2")}
    if outcome is Outcome.NO_QUORUM:
        missing = []
        if not meaning.quorum_area:
            missing.append(_("{share} of the floor area took part").format(
                share=figures["area_turnout"]))
        if not meaning.quorum_owners:
            missing.append(_("{share} of the owners took part").format(
                share=figures["owner_turnout"]))
        return _("No quorum: {missing}; 2/3 needed.").format(missing="; ".join(missing))
    if outcome is Outcome.PASSED:
        return _("Passed: {area_yes} of the participating area and {owner_yes} of the "
                 "participating owners approved ({needed} needed); turnout {area_turnout} "
                 "of the area, {owner_turnout} of the owners.").format(**figures)
    failed = []
    if not meaning.approved_area:
        failed.append(_("the area ({area_yes})").format(**figures))
    if not meaning.approved_owners:
        failed.append(_("the owners ({owner_yes})").format(**figures))
    passed_on = []
    if meaning.approved_area:
        passed_on.append(_("the area ({area_yes})").format(**figures))
    if meaning.approved_owners:
        passed_on.append(_("the owners ({owner_yes})").format(**figures))
    text = _("Not passed: not enough approval from {failed} ({needed} needed).").format(
        failed=_(" and ").join(failed), needed=figures["needed"])
    if passed_on:
        text += " " + _("It did reach the threshold for {passed}.").format(
            passed=_(" and ").join(passed_on))
    return text


def _settings_of(poll: Poll) -> dict[str, Any]:
    """A poll's settings in the draft's shape, for the shared description."""
    return {"audience": poll.audience.value, "weighting": poll.weighting.value,
            "rule": poll.rule.value, "multiple": poll.multiple,
            "max_choices": poll.max_choices, "live": poll.live_results,
            "scope_building": poll.scope_building, "scope_staircase": poll.scope_staircase,
            "secret": poll.secret}


def _digest(text: str, markup: InlineKeyboardMarkup | None) -> str:
    shown = json.dumps([text, markup.to_dict() if markup else None], sort_keys=True)
    return hashlib.sha256(shown.encode()).hexdigest()


def _result_record(result: Tally, meaning: Verdict, figures: Turnout) -> dict[str, Any]:
    """What is kept of a closed poll's count, exactly (fractions as text)."""
    return {"tally": freeze(result), "verdict": freeze(meaning), "turnout": freeze(figures)}


OUTCOME_NAMES = {
    Outcome.WON: N_("decided"), Outcome.TIE: N_("a tie"), Outcome.NO_MAJORITY: N_("no majority"),
    Outcome.PASSED: N_("passed"), Outcome.REJECTED: N_("not passed"),
    Outcome.NO_QUORUM: N_("no quorum"), Outcome.NO_VOTES: N_("no votes"),
}


def _verdict_short(poll: Poll, _: Translator) -> str:
    outcome = Outcome((poll.result or {}).get("verdict", {}).get("outcome",
                                                                 Outcome.NO_VOTES.value))
    return _(OUTCOME_NAMES[outcome])
