"""What a poll of a method other than one choice shows: the method's name, its standing
(rounds, means, totals, slots, objections) and its verdict in words."""

from __future__ import annotations

import html
from fractions import Fraction
from math import floor

from bot.domain.methods import IF_NEED_BE, SCORE_MAX, YES, Standing
from bot.domain.polls import Method, Outcome, Poll, Verdict, Weighting, m2
from bot.i18n import N_, Translator

METHOD_NAMES = {
    Method.CHOICE: N_("one choice, with the buttons under the post"),
    Method.RANKED: N_("ranked choice (instant runoff)"),
    Method.SCORE: N_("score each option from 0 to 5"),
    Method.APPROVAL: N_("approval: tick every option you can accept"),
    Method.DOTS: N_("dot vote: spread your dots over the options"),
    Method.TIME: N_("meeting time: yes, if need be or no for each time"),
    Method.CONSENT: N_("consent: it passes unless someone objects, with a reason"),
}


def describe_method(method: Method, dots: int, _: Translator) -> str | None:
    """The line a poll's description gets for its method (none for one choice)."""
    if method is Method.CHOICE:
        return None
    line = _("Way of deciding: {method}").format(method=_(METHOD_NAMES[method]))
    if method is Method.DOTS:
        line += _(" ({dots} dots each)").format(dots=dots)
    return line + _("; the ballot is filled in privately with the bot.")


def ballot_words(poll: Poll, choice: list[int], _: Translator) -> str:
    """One ballot in words, for the minutes and a moderator: the options chosen, a
    ranking in order, each score or dot, each time's answer."""
    options = poll.options
    if poll.method is Method.RANKED:
        return " > ".join(options[i] for i in choice)
    if poll.method in (Method.SCORE, Method.DOTS):
        return "; ".join(f"{options[i]}: {value}" for i, value in enumerate(choice)
                         if value or poll.method is Method.SCORE)
    if poll.method is Method.TIME:
        answers = {YES: _("yes"), IF_NEED_BE: _("if need be")}
        return "; ".join(f"{options[i]}: {answers.get(value, _('no'))}"
                         for i, value in enumerate(choice))
    return " / ".join(options[i] for i in choice)


def _amount(value: Fraction, poll: Poll) -> str:
    if poll.weighting is Weighting.AREA:
        return f"{m2(value)} m²"
    return str(value.numerator) if value.denominator == 1 else m2(value)


def _decimal(value: Fraction) -> str:
    """Two places, halves rounded up (a mean score: 3.67)."""
    hundredths = floor(value * 100 + Fraction(1, 2))
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def standing_lines(poll: Poll, standing: Standing, reasons: list[str],
                   _: Translator) -> list[str]:
    """The standing of a poll, line by line, in the group's language."""
    name = [html.escape(o) for o in poll.options]
    method = standing.method
    if method is Method.RANKED:
        lines = []
        for n, counts in enumerate(standing.rounds, start=1):
            shown = _(" · ").join(f"{name[i]} {_amount(c, poll)}"
                                  for i, c in enumerate(counts) if c is not None)
            lines.append(_("Round {n}: {counts}").format(n=n, counts=shown))
            if n <= len(standing.out):
                lines.append(_("“{option}” goes out; its ballots go to their next "
                               "choice.").format(option=name[standing.out[n - 1]]))
        if standing.tie_broken:
            lines.append(_("A tie for last place went to the earlier rounds, then to the "
                           "order of the options: the later one went out."))
        return lines
    if method is Method.SCORE:
        return [_("{option}: mean {mean} ({spread})").format(
            option=name[i], mean=_decimal(mean) if mean is not None else "—",
            spread=", ".join(f"{score}×{_amount(standing.spread[i][score], poll)}"
                             for score in range(SCORE_MAX, -1, -1)
                             if standing.spread[i][score]) or "—")
            for i, mean in enumerate(standing.means)]
    if method is Method.APPROVAL:
        return [_("{option}: approved by {amount}").format(option=name[i],
                                                          amount=_amount(total, poll))
                for i, total in enumerate(standing.totals)]
    if method is Method.DOTS:
        return [_("{option}: {amount} dots").format(option=name[i],
                                                    amount=_amount(total, poll))
                for i, total in enumerate(standing.totals)]
    if method is Method.TIME:
        return [_("{slot}: yes {yes} · if need be {maybe} · no {no}").format(
            slot=name[i], yes=_amount(s[0], poll), maybe=_amount(s[1], poll),
            no=_amount(s[2], poll)) for i, s in enumerate(standing.spread)]
    agree, objected = standing.totals or (Fraction(0), Fraction(0))
    lines = [_("{agree} consent, {objected} object.").format(
        agree=_amount(agree, poll), objected=_amount(objected, poll))]
    if reasons:
        lines += [_("Objections (without names):"),
                  *(f"• {html.escape(reason)}" for reason in reasons)]
    return lines


def method_verdict(poll: Poll, meaning: Verdict, _: Translator) -> str | None:
    """The verdict's words where the method has its own (None: the usual ones)."""
    if poll.method is Method.CONSENT and meaning.outcome is Outcome.PASSED:
        return _("Result: consented; nobody objected.")
    if poll.method is Method.CONSENT and meaning.outcome is Outcome.REJECTED:
        return _("Result: not consented; there are objections. The proposer can amend the "
                 "proposal and ask again.")
    if poll.method is Method.TIME and meaning.outcome is Outcome.WON:
        return _("Result: the best time is {slot}.").format(
            slot=html.escape(poll.options[meaning.winner or 0]))
    return None


def amends_line(ref: str, _: Translator) -> str:
    """Under an amended proposal's question, in the preview and the group's post."""
    return _("Amended after the objections to {ref}.").format(ref=ref)


# A consent poll's two answers, in the group's language.
CONSENT_ANSWERS = (N_("I consent"), N_("I object"))

# A short hint of how to fill in the ballot, shown above its buttons in private.
HOW_TO = {
    Method.RANKED: N_("Press the options in the order you prefer them, most preferred "
                      "first. You need not rank them all."),
    Method.SCORE: N_("Give each option a score from 0 (against) to 5 (best)."),
    Method.APPROVAL: N_("Tick every option you can accept."),
    Method.DOTS: N_("Spread your {dots} dots: an option may get several."),
    Method.TIME: N_("For each time, press until it shows yes, if need be, or no."),
    Method.CONSENT: N_("Consent if you can live with the proposal. If you object, say why: "
                       "your reason is posted in the group without your name."),
}
