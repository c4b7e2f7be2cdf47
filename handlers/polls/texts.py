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

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.context import YishiApp
from bot.domain import methods
from bot.domain.households import Household
from bot.domain.models import Community
from bot.domain.polls import (
    Audience,
    Ballot,
    Method,
    Outcome,
    Poll,
    PollStatus,
    Refusal,
    Rule,
    Tally,
    Turnout,
    Verdict,
    Weighting,
    approval_needed,
    freeze,
    m2,
    percent,
    quorum_needed,
    still_needed,
    thaw_tally,
    thaw_turnout,
    thaw_verdict,
    turnout,
    verdict,
)
from bot.i18n import N_, Translator, translator
from handlers.polls import callbacks
from handlers.polls.ballots import pseudonym
from handlers.polls.method_texts import (
    amends_line,
    describe_method,
    method_verdict,
    standing_lines,
)
from storage import Connection, residents
from storage import polls as store

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
    Refusal.HOUSEHOLD_VOTED: N_("Another member of your household already voted for "
                                "{unit}; a household has one ballot."),
    Refusal.PAPER_VOTED: N_("A paper ballot for {unit} is already counted. If it is wrong, "
                            "ask a moderator."),
    Refusal.NAMED_VOTER: N_("Your household named another owner to vote for {unit}."),
}


def _local(moment: datetime, community: Community) -> str:
    return f"{moment.astimezone(ZoneInfo(community.timezone)):%Y-%m-%d %H:%M}"


def _scope_text(d: dict[str, Any], _: Translator) -> str:
    if not d.get("scope_building"):
        return _("all households")
    return _("building {building}").format(building=d["scope_building"]) + (
        _(", staircase {staircase}").format(staircase=d["scope_staircase"])
        if d.get("scope_staircase") else "")


def _describe_scope(poll: Poll, _: Translator) -> str:
    return _scope_text(_settings_of(poll), _)


def _describe(draft_or_poll: dict[str, Any], _: Translator) -> list[str]:
    d = draft_or_poll
    scope = _scope_text(d, _)
    method = Method(d.get("method", Method.CHOICE.value))
    choice = _("one choice") if not d["multiple"] else _("up to {count} choices").format(
        count=d["max_choices"])
    weighting = _(WEIGHTING_NAMES[Weighting(d["weighting"])])
    way = describe_method(method, d["max_choices"], _)
    return [
        _("Who votes: {audience} ({scope})").format(
            audience=_(AUDIENCE_NAMES[Audience(d["audience"])]), scope=scope),
        *([_("Counting: {weighting}; {choice}").format(weighting=weighting, choice=choice),
           _("Decided by: {rule}").format(rule=_(RULE_NAMES[Rule(d["rule"])]))]
          if way is None else [way, _("Counting: {weighting}").format(weighting=weighting)]),
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
    if poll.counts_units and not poll.multiple and not poll.secret \
            and poll.method is Method.CHOICE:
        rows.append([InlineKeyboardButton(_("Proxy vote (paper or phone)"),
                                          callback_data=callbacks.MANAGE.data(poll.id, "proxy"))])
    return InlineKeyboardMarkup(rows)


async def _count_now(app: YishiApp, poll: Poll) -> tuple[Tally, Verdict, Turnout]:
    async with app.bot_data.services.db.transaction() as conn:
        return await _count(conn, poll)


async def _count(conn: Connection, poll: Poll) -> tuple[Tally, Verdict, Turnout]:
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
    if poll.method is Method.CHOICE:
        result, meaning = verdict(poll, ballots, roster)
    else:
        result, meaning = methods.count(poll, ballots, roster)
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
        return f"{m2(value)} m²"
    return str(int(value)) if value.denominator == 1 else m2(value)


def turnout_text(figures: Turnout, _: Translator) -> str:
    if figures.civil and figures.total_area is not None and figures.voting_area is not None:
        need_area, need_owners = quorum_needed(figures.total_area, figures.total_owners or 0)
        return _("Turnout: {area} of {total_area} m² of floor area and {owners} of "
                 "{total_owners} owners took part (2/3 of both needed: {need_area} m² and "
                 "{need_owners} owners)").format(
            area=m2(figures.voting_area), total_area=m2(figures.total_area),
            owners=figures.voting_owners, total_owners=figures.total_owners,
            need_area=m2(need_area, up=True), need_owners=need_owners)
    if figures.civil:  # a result kept before the exact quantities were
        return _("Turnout: {area} of the floor area, {owners} of the owners (2/3 of both "
                 "needed)").format(area=percent(figures.area_share),
                                   owners=percent(figures.owner_share))
    if figures.units is not None:
        return _("Turnout: {ballots} of {units} households").format(ballots=figures.ballots,
                                                                    units=figures.units)
    return _("Turnout: {ballots} votes").format(ballots=figures.ballots)


def quorum_line(figures: Turnout, _: Translator) -> str | None:
    """What a Civil Code poll still lacks for its quorum, for the post and the reminders."""
    lacking = still_needed(figures)
    if lacking is None:
        return None
    if lacking.nothing:
        return _("The quorum is reached: what counts now is how the owners vote.")
    parts = []
    if lacking.owners > 0:
        parts.append(_("{count} owners").format(count=lacking.owners))
    if lacking.area > 0:
        parts.append(_("{area} m²").format(area=m2(lacking.area, up=True)))
    return _("Still needed for the quorum: {missing}.").format(missing=_(" and ").join(parts))


def _results_lines(poll: Poll, result: Tally, _: Translator) -> list[str]:
    lines = []
    for index, option in enumerate(poll.options):
        share = result.weights[index] / result.total_weight if result.total_weight else None
        if poll.weighting is Weighting.AREA:
            line = _("{option}: {votes} votes, {weight}").format(
                option=html.escape(option), votes=result.votes[index],
                weight=_weight(result.weights[index], poll))
        else:
            line = _("{option}: {votes} votes").format(option=html.escape(option),
                                                       votes=result.votes[index])
        lines.append(_("{line} ({share})").format(line=line, share=percent(share)))
    return lines


async def reasons_of(conn: Connection, poll: Poll) -> list[str]:
    """A consent poll's objections' reasons (none for other polls)."""
    return await store.objection_reasons(conn, poll.id) if poll.method is Method.CONSENT \
        else []


def shown_lines(poll: Poll, result: Tally, meaning: Verdict, reasons: list[str],
                _: Translator) -> list[str]:
    """The count, option by option: votes and shares, or the method's standing."""
    standing = methods.standing_of(meaning)
    if standing is not None:
        return standing_lines(poll, standing, reasons, _)
    return _results_lines(poll, result, _)


async def _render(conn: Connection, poll: Poll, community: Community) -> tuple[
        str, InlineKeyboardMarkup | None]:
    _ = translator(community.language)
    result, meaning, figures = await _count(conn, poll)
    lines = [f"<b>{poll.ref} · {html.escape(poll.question)}</b>", ""]
    amended = await store.get(conn, poll.amends) if poll.amends is not None else None
    if amended is not None:
        lines[1:1] = [amends_line(amended.ref, _)]
    if poll.status is PollStatus.OPEN:
        lines.append(_("Vote until {when} ({zone}).").format(when=_local(poll.deadline,
                                                                          community),
                                                             zone=community.timezone))
    lines += _describe(_settings_of(poll), _)
    lines.append(turnout_text(figures, _))
    quorum = quorum_line(figures, _) if poll.status is PollStatus.OPEN else None
    if quorum:
        lines.append(quorum)
    shown = shown_lines(poll, result, meaning, await reasons_of(conn, poll), _)
    if poll.status is PollStatus.OPEN:
        if poll.live_results:
            lines += ["", *shown]
        elif poll.method is Method.CONSENT and len(shown) > 1:
            lines += ["", *shown[1:]]  # an objection's reason is posted as it comes
        if poll.method is not Method.CHOICE:
            return "\n".join(lines), InlineKeyboardMarkup([[InlineKeyboardButton(
                _("🗳 Vote (in private)"), callback_data=callbacks.VOTE_PRIVATELY.data(
                    poll.id))]])
        buttons = [InlineKeyboardButton(option, callback_data=callbacks.VOTE.data(poll.id, index))
                   for index, option in enumerate(poll.options)]
        markup = InlineKeyboardMarkup([buttons[i:i + 2] for i in range(0, len(buttons), 2)])
        return "\n".join(lines), markup
    if poll.status is PollStatus.CANCELLED:
        lines += ["", _("Cancelled by the moderators. Reason: {reason}").format(
            reason=html.escape(poll.reason or "—"))]
    else:
        lines += ["", *shown, "", verdict_text(poll, meaning, _)]
    return "\n".join(lines), None


def notice_text(poll: Poll, community: Community, _: Translator) -> str:
    """The notice (公示) of a poll announced ahead of voting."""
    assert poll.opens_at is not None
    material = poll.notice or {}
    lines = [_("<b>Notice · {ref}</b>: {question}").format(
                 ref=poll.ref, question=html.escape(poll.question)), "",
             _("Voting opens {opens} and closes {closes} ({zone}).").format(
                 opens=_local(poll.opens_at, community), closes=_local(poll.deadline, community),
                 zone=community.timezone),
             _("Answers: {options}").format(options=" / ".join(
                 html.escape(o) for o in poll.options)),
             *_describe(_settings_of(poll), _)]
    if material.get("text"):
        lines += ["", _("<b>Background</b>"), html.escape(material["text"])]
    lines += ["", _("The buttons to vote come with the poll when voting opens. Owners who are "
                    "not on Telegram can vote on paper: ask the committee.")]
    return "\n".join(lines)


def verdict_text(poll: Poll, meaning: Verdict, _: Translator) -> str:
    own = method_verdict(poll, meaning, _)
    if own is not None:
        return own
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
    if meaning.total_area is None or meaning.voting_area is None:
        return _legacy_civil_verdict(poll, meaning, _)
    major = poll.rule is Rule.CIVIL_MAJOR
    total_owners, voting_owners = meaning.total_owners or 0, meaning.voting_owners or 0
    need_area, need_owners = quorum_needed(meaning.total_area, total_owners)
    if outcome is Outcome.NO_QUORUM:
        missing = []
        if not meaning.quorum_area:
            missing.append(_("{area} of {total} m² took part, {needed} m² needed").format(
                area=m2(meaning.voting_area), total=m2(meaning.total_area),
                needed=m2(need_area, up=True)))
        if not meaning.quorum_owners:
            missing.append(_("{owners} of {total} owners took part, {needed} needed").format(
                owners=voting_owners, total=total_owners, needed=need_owners))
        return _("No quorum: {missing}.").format(missing=_("; ").join(missing))
    yes_area, yes_owners = meaning.yes_area or Fraction(0), meaning.yes_owners or 0
    approve_area, approve_owners, strictly = approval_needed(meaning.voting_area,
                                                             voting_owners, major=major)
    area_rule = (_("more than {area} m²") if strictly else _("at least {area} m²")).format(
        area=m2(approve_area, up=not strictly))
    figures = {
        "yes_area": m2(yes_area), "voting_area": m2(meaning.voting_area),
        "yes_owners": yes_owners, "voting_owners": voting_owners,
        "area_rule": area_rule, "owners_rule": approve_owners,
        "turnout": _("{area} of {total} m² and {owners} of {owners_total} owners took part")
        .format(area=m2(meaning.voting_area), total=m2(meaning.total_area),
                owners=voting_owners, owners_total=total_owners)}
    if outcome is Outcome.PASSED:
        return _("Passed: {yes_area} of the {voting_area} m² and {yes_owners} of the "
                 "{voting_owners} owners who took part approved (needed: {area_rule} and "
                 "{owners_rule} owners); {turnout}.").format(**figures)
    failed = []
    if not meaning.approved_area:
        failed.append(_("the area: {yes_area} of {voting_area} m², {area_rule} needed")
                      .format(**figures))
    if not meaning.approved_owners:
        failed.append(_("the owners: {yes_owners} of {voting_owners}, {owners_rule} needed")
                      .format(**figures))
    return _("Not passed: not enough approval from {failed}; {turnout}.").format(
        failed=_("; ").join(failed), turnout=figures["turnout"])


def _legacy_civil_verdict(poll: Poll, meaning: Verdict, _: Translator) -> str:
    """A Civil Code result kept before the exact quantities were: shares only."""
    outcome = meaning.outcome
    figures = {"area_turnout": percent(meaning.area_turnout),
               "owner_turnout": percent(meaning.owner_turnout),
               "area_yes": percent(meaning.area_approval),
               "owner_yes": percent(meaning.owner_approval),
               "needed": "3/4" if poll.rule is Rule.CIVIL_MAJOR else _("more than 1/2")}
    if outcome is Outcome.NO_QUORUM:
        return _("No quorum: {area_turnout} of the floor area and {owner_turnout} of the "
                 "owners took part; 2/3 of both needed.").format(**figures)
    if outcome is Outcome.PASSED:
        return _("Passed: {area_yes} of the participating area and {owner_yes} of the "
                 "participating owners approved ({needed} needed); turnout {area_turnout} "
                 "of the area, {owner_turnout} of the owners.").format(**figures)
    return _("Not passed: {area_yes} of the participating area and {owner_yes} of the "
             "participating owners approved ({needed} of both needed).").format(**figures)


def _settings_of(poll: Poll) -> dict[str, Any]:
    """A poll's settings in the draft's shape, for the shared description."""
    return {"audience": poll.audience.value, "weighting": poll.weighting.value,
            "rule": poll.rule.value, "multiple": poll.multiple,
            "max_choices": poll.max_choices, "live": poll.live_results,
            "scope_building": poll.scope_building, "scope_staircase": poll.scope_staircase,
            "secret": poll.secret, "method": poll.method.value}


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
