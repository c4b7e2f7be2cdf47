"""Ways to decide beyond one choice: ranked choice, score, approval, dots, a meeting time
and consent. Each is a poll method; its ballot is entered in private (a group post cannot
hold a ranking) and kept as a list of numbers whose meaning is the method's:

- ranked: option indexes, most preferred first (at least one, each at most once);
- score: one score 0–5 per option;
- approval: the indexes of the options approved (at least one);
- dots: the dots given to each option, together at most the poll's dots and at least one;
- time: per slot 0 (no), 1 (if need be) or 2 (yes);
- consent: [0] for "I consent", [1] for "I object" (an objection carries a reason,
  kept beside the ballot).

The counting is exact (weights are Fractions, as in bot/domain/polls.py) and every tie is
settled by a stated rule or reported as a tie.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot.domain.durations import DeadlineError, parse_deadline
from bot.domain.households import Household
from bot.domain.polls import (
    Ballot,
    Method,
    Outcome,
    Poll,
    Tally,
    Verdict,
    Weighting,
    area,
    freeze,
)

SCORE_MAX = 5
NO, IF_NEED_BE, YES = 0, 1, 2
CONSENT, OBJECT = 0, 1
REASON_MAX = 500


def valid_ballot(method: Method, choice: Sequence[int], *, options: int, dots: int) -> bool:
    """Whether ``choice`` is a complete ballot of ``method`` for ``options`` options."""
    values = list(choice)
    if method is Method.RANKED:
        return 1 <= len(values) <= options and len(set(values)) == len(values) \
            and all(0 <= v < options for v in values)
    if method is Method.APPROVAL:
        return 1 <= len(values) <= options and values == sorted(set(values)) \
            and all(0 <= v < options for v in values)
    if method is Method.CONSENT:
        return values in ([CONSENT], [OBJECT])
    if len(values) != options:
        return False
    if method is Method.SCORE:
        return all(0 <= v <= SCORE_MAX for v in values)
    if method is Method.DOTS:
        return all(v >= 0 for v in values) and 1 <= sum(values) <= dots
    if method is Method.TIME:
        return all(v in (NO, IF_NEED_BE, YES) for v in values)
    return False


def blank(method: Method, options: int) -> list[int]:
    """A ballot not filled in yet: nothing ranked or ticked, every value 0."""
    return [] if method in (Method.RANKED, Method.APPROVAL) else [0] * options


def in_progress(method: Method, values: Sequence[int], *, options: int) -> bool:
    """Whether ``values`` could be a ballot of ``method`` being filled in (not yet
    necessarily complete: nothing ranked, or no dot given, is allowed)."""
    values = list(values)
    if method in (Method.RANKED, Method.APPROVAL):
        return len(set(values)) == len(values) <= options \
            and all(0 <= v < options for v in values)
    if method is Method.CONSENT:
        return values in ([CONSENT], [OBJECT])
    return len(values) == options


class SlotError(ValueError):
    """A meeting-time answer that is not a date and time, or one typed twice."""

    def __init__(self, answer: str) -> None:
        super().__init__(answer)
        self.answer = answer


def read_slots(typed: Sequence[str], now: datetime, timezone: str) -> list[str]:
    """A meeting-time poll's answers read as dates and times in the group's zone, kept as
    "YYYY-MM-DD HH:MM" and in order. Raises SlotError with the answer that is not one (or
    the first that repeats another)."""
    zone = ZoneInfo(timezone)
    slots: list[str] = []
    for answer in typed:
        try:
            moment = parse_deadline(answer, now, timezone, minimum=timedelta(0),
                                    maximum=timedelta(days=366))
        except DeadlineError:
            raise SlotError(answer) from None
        slot = slot_text(moment.astimezone(zone))
        if slot in slots:
            raise SlotError(answer)
        slots.append(slot)
    return sorted(slots)


class Standing(BaseModel):
    """What a method's count shows besides the winner (all weights exact)."""

    model_config = ConfigDict(frozen=True)

    method: Method
    ballots: int
    # approval and dots: the weight per option; score: the sum of weighted scores; time:
    # yes and if-need-be together; consent: [consents, objections].
    totals: tuple[Fraction, ...] = ()
    means: tuple[Fraction | None, ...] = ()  # score: per option
    # score: how many ballots gave each score 0..5, per option; time: (yes, if need be,
    # no) per slot, by weight.
    spread: tuple[tuple[Fraction, ...], ...] = ()
    # ranked: each round's count per option still in (None once out), and who went out.
    rounds: tuple[tuple[Fraction | None, ...], ...] = ()
    out: tuple[int, ...] = ()
    tie_broken: tuple[int, ...] = ()  # ranked: the rounds whose last place was a tie


def _weight(ballot: Ballot, weighting: Weighting, households: dict[int, Household]) -> Fraction:
    if weighting is Weighting.AREA:
        household = households.get(ballot.unit_id) if ballot.unit_id else None
        return area(household.area_m2 if household else None)
    return Fraction(1)


def count(poll: Poll, ballots: Sequence[Ballot], roster: Sequence[Household]) -> tuple[
        Tally, Verdict]:
    """A poll of any method but one choice counted: the per-option figures (as a Tally,
    for turnout and exports) and the verdict, which carries the method's standing."""
    in_scope = {h.unit_id: h for h in roster if poll.scope.covers(h)}
    weighed = [(tuple(b.choice), _weight(b, poll.weighting, in_scope)) for b in ballots]
    options = len(poll.options)
    if poll.method is Method.RANKED:
        standing, meaning = instant_runoff(weighed, options)
    elif poll.method is Method.SCORE:
        standing, meaning = scores(weighed, options)
    elif poll.method is Method.TIME:
        standing, meaning = meeting_time(weighed, poll.options)
    elif poll.method is Method.CONSENT:
        standing, meaning = consent(weighed)
    else:
        standing, meaning = sums(poll.method, weighed, options)
    mentions = [0] * options
    for choice, _w in weighed:
        for index in _mentioned(poll.method, choice):
            mentions[index] += 1
    totals = standing.totals if len(standing.totals) == options else tuple(
        Fraction(m) for m in mentions)
    return Tally(ballots=len(weighed), votes=tuple(mentions), weights=totals,
                 total_weight=sum((w for _c, w in weighed), Fraction(0))), meaning


def _mentioned(method: Method, choice: tuple[int, ...]) -> list[int]:
    """The options a ballot speaks for (a ranking's first, a nonzero score or dot...)."""
    if method is Method.RANKED:
        return list(choice[:1])
    if method in (Method.APPROVAL, Method.CONSENT):
        return list(choice)
    return [i for i, v in enumerate(choice) if v]


def _best(values: Sequence[Fraction | None]) -> list[int]:
    known = [v for v in values if v is not None]
    if not known:
        return []
    top = max(known)
    return [i for i, v in enumerate(values) if v == top]


def _single(standing: Standing, leaders: list[int]) -> tuple[Standing, Verdict]:
    if standing.ballots == 0:
        return standing, Verdict(outcome=Outcome.NO_VOTES, standing=freeze(standing))
    if len(leaders) != 1:
        return standing, Verdict(outcome=Outcome.TIE, standing=freeze(standing))
    return standing, Verdict(outcome=Outcome.WON, winner=leaders[0], standing=freeze(standing))


def sums(method: Method, weighed: list[tuple[tuple[int, ...], Fraction]],
         options: int) -> tuple[Standing, Verdict]:
    """Approval (each approved option gets the ballot's weight) and dots (each dot does)."""
    totals = [Fraction(0)] * options
    for choice, weight in weighed:
        if method is Method.APPROVAL:
            for index in choice:
                totals[index] += weight
        else:
            for index, dots in enumerate(choice):
                totals[index] += weight * dots
    standing = Standing(method=method, ballots=len(weighed), totals=tuple(totals))
    return _single(standing, _best(totals))


def scores(weighed: list[tuple[tuple[int, ...], Fraction]],
           options: int) -> tuple[Standing, Verdict]:
    """Score voting: the highest mean score wins; equal means are a tie."""
    totals = [Fraction(0)] * options
    spread = [[Fraction(0)] * (SCORE_MAX + 1) for _o in range(options)]
    weight_all = sum((w for _c, w in weighed), Fraction(0))
    for choice, weight in weighed:
        for index, score in enumerate(choice):
            totals[index] += weight * score
            spread[index][score] += weight
    means = tuple(t / weight_all if weight_all else None for t in totals)
    standing = Standing(method=Method.SCORE, ballots=len(weighed), totals=tuple(totals),
                        means=means, spread=tuple(tuple(s) for s in spread))
    return _single(standing, _best(means))


def meeting_time(weighed: list[tuple[tuple[int, ...], Fraction]],
                 slots: Sequence[str]) -> tuple[Standing, Verdict]:
    """The best slot: the most who can come (yes or if need be), then the most yes, then
    the earliest (slots are kept as "YYYY-MM-DD HH:MM" in the group's zone)."""
    spread = [[Fraction(0)] * 3 for _s in slots]  # yes, if need be, no
    for choice, weight in weighed:
        for index, answer in enumerate(choice):
            spread[index][{YES: 0, IF_NEED_BE: 1, NO: 2}[answer]] += weight
    can = tuple(s[0] + s[1] for s in spread)
    standing = Standing(method=Method.TIME, ballots=len(weighed), totals=can,
                        spread=tuple(tuple(s) for s in spread))
    if not weighed:
        return standing, Verdict(outcome=Outcome.NO_VOTES, standing=freeze(standing))
    best = min(range(len(slots)), key=lambda i: (-can[i], -spread[i][0], slots[i], i))
    return standing, Verdict(outcome=Outcome.WON, winner=best, standing=freeze(standing))


def consent(weighed: list[tuple[tuple[int, ...], Fraction]]) -> tuple[Standing, Verdict]:
    """Consent: the proposal passes unless someone objects (and somebody took part)."""
    agree = sum((w for c, w in weighed if c == (CONSENT,)), Fraction(0))
    objected = sum((w for c, w in weighed if c == (OBJECT,)), Fraction(0))
    standing = Standing(method=Method.CONSENT, ballots=len(weighed),
                        totals=(agree, objected))
    if not weighed:
        return standing, Verdict(outcome=Outcome.NO_VOTES, standing=freeze(standing))
    return standing, Verdict(outcome=Outcome.REJECTED if objected else Outcome.PASSED,
                             standing=freeze(standing))


def instant_runoff(weighed: list[tuple[tuple[int, ...], Fraction]],
                   options: int) -> tuple[Standing, Verdict]:
    """Instant runoff: each ballot counts for its highest-ranked option still in; an option
    with more than half of the ballots still counting wins; otherwise the last goes out.

    A tie for last place: the one with fewer votes in the round before goes out (going
    back to the first round); if they were equal in every round, the one listed later in
    the poll goes out. If every option left has the same count, it is a tie."""
    still = list(range(options))
    rounds: list[tuple[Fraction | None, ...]] = []
    out: list[int] = []
    broken: list[int] = []
    while True:
        counts = dict.fromkeys(still, Fraction(0))
        for ranking, weight in weighed:
            top = next((o for o in ranking if o in counts), None)
            if top is not None:
                counts[top] += weight
        rounds.append(tuple(counts.get(o) for o in range(options)))
        active = sum(counts.values(), Fraction(0))

        def standing() -> Standing:
            return Standing(method=Method.RANKED, ballots=len(weighed), rounds=tuple(rounds),
                            out=tuple(out), tie_broken=tuple(broken))

        if not weighed:
            return standing(), Verdict(outcome=Outcome.NO_VOTES, standing=freeze(standing()))
        leader = max(still, key=lambda o: (counts[o], -o))
        if counts[leader] * 2 > active or len(still) == 1:
            return standing(), Verdict(outcome=Outcome.WON, winner=leader,
                                       standing=freeze(standing()))
        lowest = min(counts.values())
        last = [o for o in still if counts[o] == lowest]
        if len(last) == len(still):
            return standing(), Verdict(outcome=Outcome.TIE, standing=freeze(standing()))
        if len(last) > 1:
            broken.append(len(rounds))
            for earlier in reversed(rounds[:-1]):
                fewest = min(earlier[o] or Fraction(0) for o in last)
                last = [o for o in last if (earlier[o] or Fraction(0)) == fewest]
                if len(last) == 1:
                    break
        going = max(last)  # listed later in the poll, if still equal
        still.remove(going)
        out.append(going)


def slot_text(moment: datetime) -> str:
    """A meeting-time slot as kept and shown: the local date and time, sortable."""
    return moment.strftime("%Y-%m-%d %H:%M")


def standing_of(meaning: Verdict) -> Standing | None:
    """The method's standing a verdict carries (None for one choice)."""
    return Standing.model_validate(meaning.standing) if meaning.standing else None
