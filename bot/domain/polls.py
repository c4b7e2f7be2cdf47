"""Polls: who may vote, how votes weigh, and what a result means — including the Civil
Code's rule for owners' decisions (Art. 278).

All arithmetic on shares is exact: areas become Fractions (from their decimal text),
thresholds are compared by cross-multiplication, never with floats.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from functools import cached_property
from math import ceil, floor
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.domain.households import Household, exact_area, owner_headcount
from bot.domain.units import UnitAddress


class Audience(StrEnum):
    MEMBERS = "members"  # anyone in the group
    VERIFIED = "verified"  # residents on the roster
    HOUSEHOLDS = "households"  # one vote per unit
    OWNERS = "owners"  # verified owners (one vote per unit)


class Weighting(StrEnum):
    PERSON = "person"
    HOUSEHOLD = "household"
    AREA = "area"


class Rule(StrEnum):
    PLURALITY = "plurality"
    MAJORITY = "majority"  # more than half of the votes cast
    CIVIL_ORDINARY = "civil_ordinary"
    CIVIL_MAJOR = "civil_major"


class Method(StrEnum):
    """How a ballot is filled in (bot/domain/methods.py for all but one choice)."""

    CHOICE = "choice"  # one answer (or up to N), with buttons under the group's post
    RANKED = "ranked"
    SCORE = "score"
    APPROVAL = "approval"
    DOTS = "dots"
    TIME = "time"
    CONSENT = "consent"


CIVIL_RULES = (Rule.CIVIL_ORDINARY, Rule.CIVIL_MAJOR)
OPTIONS_MIN, OPTIONS_MAX = 2, 10
QUESTION_MAX = 300
# How long a poll stays open: at least long enough to be seen, at most two months from
# when it was made (extensions included).
OPEN_AT_LEAST = timedelta(minutes=10)
OPEN_AT_MOST = timedelta(days=60)


def deadline_refusal(deadline: datetime, *, now: datetime,
                     created_at: datetime | None = None) -> str | None:
    """Why a poll may not close at ``deadline`` ("too_soon", "too_far"), or None."""
    if deadline < now + OPEN_AT_LEAST:
        return "too_soon"
    if deadline > (created_at or now) + OPEN_AT_MOST:
        return "too_far"
    return None


area = exact_area


# --- who may vote -------------------------------------------------------------------------


class Scope(BaseModel):
    """A poll limited to one building, or one staircase of it."""

    model_config = ConfigDict(frozen=True)

    building: str | None = None
    staircase: str | None = None

    def covers(self, household: Household) -> bool:
        return self.covers_address(household.address)

    def covers_address(self, address: UnitAddress) -> bool:
        if self.building is not None and address.building != self.building:
            return False
        return self.staircase is None or address.staircase == self.staircase


class Refusal(StrEnum):
    NOT_VERIFIED = "not_verified"
    NOT_OWNER = "not_owner"
    OUT_OF_SCOPE = "out_of_scope"
    HOUSEHOLD_VOTED = "household_voted"  # another member already voted for the unit
    PAPER_VOTED = "paper_voted"  # a paper or phone ballot stands for the unit
    NAMED_VOTER = "named_voter"  # the household named another owner to vote for it
    NOT_MEMBER = "not_member"


# In ``household_voters``: the unit's ballot was entered on paper by a moderator.
PAPER = None


@dataclass(frozen=True)
class Eligibility:
    """May this person vote, and for which units (households) their ballot speaks, if the
    poll counts units. A refusal about one household names it (``unit_id``)."""

    allowed: bool
    unit_ids: tuple[int, ...] = ()
    refusal: Refusal | None = None
    refused_unit: int | None = None

    @property
    def unit_id(self) -> int | None:
        return self.unit_ids[0] if self.unit_ids else None


def eligibility(audience: Audience, scope: Scope, *, user_id: int, is_member: bool,
                households: Sequence[Household],
                household_voters: dict[int, int | None],
                counts_units: bool = True) -> Eligibility:
    """Decide whether ``user_id`` may vote, and for which of their units.

    ``households`` are the person's own (verified) units; ``household_voters`` maps a unit
    to whoever already voted for it in this poll (:data:`PAPER` for a paper ballot). In a
    poll that counts units one ballot speaks for each unit: the person's ballot covers
    every unit of theirs in scope that nobody else voted for — an owner of two flats votes
    once for both, as the law counts them.
    """
    if not is_member:
        return Eligibility(False, refusal=Refusal.NOT_MEMBER)
    if audience is Audience.MEMBERS and not counts_units:
        return Eligibility(True)
    if not households:
        return Eligibility(False, refusal=Refusal.NOT_VERIFIED)
    in_scope = [h for h in households if scope.covers(h)]
    if not in_scope:
        return Eligibility(False, refusal=Refusal.OUT_OF_SCOPE)
    if audience is Audience.OWNERS:
        in_scope = [h for h in in_scope if user_id in h.owners]
        if not in_scope:
            return Eligibility(False, refusal=Refusal.NOT_OWNER)
    if not counts_units:
        return Eligibility(True)
    free: list[int] = []
    refused: tuple[Refusal, int] | None = None
    for household in in_scope:
        unit = household.unit_id
        if unit in household_voters:
            voter = household_voters[unit]
            if voter == user_id:
                free.append(unit)
            elif refused is None:
                refused = (Refusal.PAPER_VOTED if voter is PAPER else Refusal.HOUSEHOLD_VOTED,
                           unit)
            continue
        # A household may name the owner who votes for it; otherwise any eligible member.
        named = household.voter_id if household.voter_id in household.owners else None
        if named not in (None, user_id):
            if refused is None:
                refused = (Refusal.NAMED_VOTER, unit)
            continue
        free.append(unit)
    if free:
        return Eligibility(True, unit_ids=tuple(free))
    assert refused is not None
    return Eligibility(False, refusal=refused[0], refused_unit=refused[1])


def still_to_vote(audience: Audience, scope: Scope, *, roster: Sequence[Household],
                  members: Iterable[int], voted: Iterable[int],
                  household_voters: dict[int, int | None],
                  counts_units: bool = True) -> list[int]:
    """Who a reminder is for: everyone whose press would still count now (asked of
    :func:`eligibility`, exactly as their press would be) and who has not voted. In a
    poll that counts units, someone whose every unit has voted already is not asked."""
    homes: dict[int, list[Household]] = {}
    for household in roster:
        for member in household.members:
            homes.setdefault(member.user_id, []).append(household)
    people = set(members) if audience is Audience.MEMBERS and not counts_units else set(homes)
    already = set(voted)
    return [user for user in sorted(people - already)
            if eligibility(audience, scope, user_id=user, is_member=True,
                           households=homes.get(user, []),
                           household_voters=household_voters,
                           counts_units=counts_units).allowed]


def units_not_voted(roster: Sequence[Household], scope: Scope,
                    voted_units: Iterable[int], building: str | None = None) -> list[Household]:
    """The households in scope (of one building, if named) with no ballot yet: the doors
    to knock on."""
    done = set(voted_units)
    return [h for h in roster if scope.covers(h) and h.unit_id not in done
            and (building is None or h.address.building == building)]


def missing_areas(roster: Sequence[Household], scope: Scope) -> list[Household]:
    """Units in scope without a recorded area: a Civil Code poll cannot be counted while
    there is one, because the total area would be wrong."""
    return [h for h in roster if scope.covers(h) and h.area_m2 is None]


def valid_choice(choice: Sequence[int], *, options: int, multiple: bool,
                 max_choices: int) -> bool:
    """A ballot's chosen option indexes are distinct, exist, and respect the maximum."""
    if not choice or len(set(choice)) != len(choice):
        return False
    if any(not 0 <= c < options for c in choice):
        return False
    return len(choice) <= (max_choices if multiple else 1)


# --- counting -------------------------------------------------------------------------------


class Ballot(BaseModel):
    """One counted ballot: the choice and, for unit-based polls, the unit it speaks for."""

    model_config = ConfigDict(frozen=True)

    choice: tuple[int, ...]
    unit_id: int | None = None
    # In a secret poll the unit is stored only as a keyed pseudonym, resolved while counting.
    unit_key: str | None = None


class Tally(BaseModel):
    model_config = ConfigDict(frozen=True)

    ballots: int
    votes: tuple[int, ...]  # per option, one per ballot that chose it
    weights: tuple[Fraction, ...]  # per option, by the poll's weighting
    total_weight: Fraction  # the weight of all ballots cast


def tally(ballots: Iterable[Ballot], options: int, weighting: Weighting,
          households: dict[int, Household]) -> Tally:
    votes = [0] * options
    weights = [Fraction(0)] * options
    total = Fraction(0)
    cast = 0
    for ballot in ballots:
        cast += 1
        weight = Fraction(1)
        if weighting is Weighting.AREA:
            household = households.get(ballot.unit_id) if ballot.unit_id else None
            weight = area(household.area_m2 if household else None)
        total += weight
        for index in ballot.choice:
            votes[index] += 1
            weights[index] += weight
    return Tally(ballots=cast, votes=tuple(votes), weights=tuple(weights), total_weight=total)


class Outcome(StrEnum):
    WON = "won"  # plurality or majority: an option won
    TIE = "tie"
    NO_MAJORITY = "no_majority"
    PASSED = "passed"  # Civil Code: quorum met and approved
    REJECTED = "rejected"  # Civil Code: quorum met, not approved
    NO_QUORUM = "no_quorum"
    NO_VOTES = "no_votes"


class Verdict(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    winner: int | None = None
    # Civil Code figures, as exact fractions of the relevant whole.
    area_turnout: Fraction | None = None
    owner_turnout: Fraction | None = None
    area_approval: Fraction | None = None
    owner_approval: Fraction | None = None
    quorum_area: bool | None = None
    quorum_owners: bool | None = None
    approved_area: bool | None = None
    approved_owners: bool | None = None
    # The exact quantities behind them (results frozen before they were kept lack them).
    total_area: Fraction | None = None
    total_owners: int | None = None
    voting_area: Fraction | None = None
    voting_owners: int | None = None
    yes_area: Fraction | None = None
    yes_owners: int | None = None
    # A method other than one choice: its standing (bot/domain/methods.py), frozen.
    standing: dict[str, Any] | None = None


def plurality(result: Tally) -> Verdict:
    if result.ballots == 0:
        return Verdict(outcome=Outcome.NO_VOTES)
    best = max(result.weights)
    leaders = [i for i, w in enumerate(result.weights) if w == best]
    if len(leaders) > 1:
        return Verdict(outcome=Outcome.TIE)
    return Verdict(outcome=Outcome.WON, winner=leaders[0])


def majority(result: Tally) -> Verdict:
    """An option chosen by more than half of the weight cast (abstaining counts as cast)."""
    if result.ballots == 0:
        return Verdict(outcome=Outcome.NO_VOTES)
    for index, weight in enumerate(result.weights):
        if weight * 2 > result.total_weight:
            return Verdict(outcome=Outcome.WON, winner=index)
    return Verdict(outcome=Outcome.NO_MAJORITY)


@dataclass(frozen=True)
class CivilFigures:
    """What Art. 278 compares: the roster's totals, who took part, who said yes."""

    total_area: Fraction
    total_owners: int
    voting_area: Fraction
    voting_owners: int
    yes_area: Fraction
    yes_owners: int


def civil_code(figures: CivilFigures, *, major: bool) -> Verdict:
    """Art. 278: quorum of 2/3 of all area AND 2/3 of all owners taking part; then an
    ordinary matter needs MORE than 1/2, a major one AT LEAST 3/4, of the participating
    area AND of the participating owners voting yes. Abstentions took part, said no yes."""
    f = figures
    quorum_area = f.total_area > 0 and f.voting_area * 3 >= f.total_area * 2
    quorum_owners = f.total_owners > 0 and f.voting_owners * 3 >= f.total_owners * 2
    if major:
        approved_area = f.voting_area > 0 and f.yes_area * 4 >= f.voting_area * 3
        approved_owners = f.voting_owners > 0 and f.yes_owners * 4 >= f.voting_owners * 3
    else:
        approved_area = f.yes_area * 2 > f.voting_area
        approved_owners = f.yes_owners * 2 > f.voting_owners
    if not (quorum_area and quorum_owners):
        outcome = Outcome.NO_QUORUM
    elif approved_area and approved_owners:
        outcome = Outcome.PASSED
    else:
        outcome = Outcome.REJECTED

    def share(part: Fraction | int, whole: Fraction | int) -> Fraction | None:
        return Fraction(part) / Fraction(whole) if whole else None

    return Verdict(
        outcome=outcome,
        area_turnout=share(f.voting_area, f.total_area),
        owner_turnout=share(f.voting_owners, f.total_owners),
        area_approval=share(f.yes_area, f.voting_area),
        owner_approval=share(f.yes_owners, f.voting_owners),
        quorum_area=quorum_area, quorum_owners=quorum_owners,
        approved_area=approved_area, approved_owners=approved_owners,
        total_area=f.total_area, total_owners=f.total_owners, voting_area=f.voting_area,
        voting_owners=f.voting_owners, yes_area=f.yes_area, yes_owners=f.yes_owners,
    )


# --- what is needed, exactly ----------------------------------------------------------------


def quorum_needed(total_area: Fraction, total_owners: int) -> tuple[Fraction, int]:
    """Art. 278's quorum as quantities: the area (exact) and the owners (whole people)
    that must take part: two thirds of each."""
    return total_area * 2 / 3, ceil(Fraction(total_owners * 2, 3))


def approval_needed(voting_area: Fraction, voting_owners: int, *,
                    major: bool) -> tuple[Fraction, int, bool]:
    """The approval needed among those who took part: (area, owners, strictly more).
    A major matter needs at least 3/4 of each; an ordinary one more than 1/2 of each (the
    area strictly more than the figure; the owners given as the least whole number)."""
    if major:
        return voting_area * 3 / 4, ceil(Fraction(voting_owners * 3, 4)), False
    return voting_area / 2, floor(Fraction(voting_owners, 2)) + 1, True


def m2(value: Fraction, *, up: bool = False) -> str:
    """An area for people: exact when it has at most four decimals ("1,200", "799.99",
    "400.005"); otherwise two decimals rounded toward the safe side — down for what was
    reached, up (``up``) for what is needed — so a shown figure never crosses a threshold
    it did not."""
    places = 4 if (value * 10_000).denominator == 1 else 2
    scaled = value * 10 ** places
    whole = ceil(scaled) if up else floor(scaled)
    sign = "-" if whole < 0 else ""
    units, part = divmod(abs(whole), 10 ** places)
    text = f"{sign}{units:,}"
    return f"{text}.{part:0{places}d}".rstrip("0").rstrip(".") if part else text


@dataclass(frozen=True)
class StillNeeded:
    """What a Civil Code poll still lacks for its quorum (zero once reached)."""

    owners: int
    area: Fraction

    @property
    def nothing(self) -> bool:
        return self.owners <= 0 and self.area <= 0


def still_needed(figures: Turnout) -> StillNeeded | None:
    """From a live turnout: how many more owners and how much more area must take part."""
    if not figures.civil or figures.total_area is None or figures.total_owners is None \
            or figures.voting_area is None or figures.voting_owners is None:
        return None
    area_needed, owners_needed = quorum_needed(figures.total_area, figures.total_owners)
    return StillNeeded(owners=max(0, owners_needed - figures.voting_owners),
                       area=max(Fraction(0), area_needed - figures.voting_area))


def civil_figures(roster: Sequence[Household], scope: Scope,
                  ballots: Iterable[Ballot], yes_option: int = 0) -> CivilFigures:
    """Totals from the roster in scope (not from who voted); participation and approval
    from the unit ballots, owners counted by the same per-unit rule."""
    in_scope = [h for h in roster if scope.covers(h)]
    by_unit = {h.unit_id: h for h in in_scope}
    voting: list[Household] = []
    yes: list[Household] = []
    for ballot in ballots:
        household = by_unit.get(ballot.unit_id) if ballot.unit_id else None
        if household is None:
            continue
        voting.append(household)
        if yes_option in ballot.choice:
            yes.append(household)
    return CivilFigures(
        total_area=sum((area(h.area_m2) for h in in_scope), Fraction(0)),
        total_owners=owner_headcount(in_scope),
        voting_area=sum((area(h.area_m2) for h in voting), Fraction(0)),
        voting_owners=owner_headcount(voting),
        yes_area=sum((area(h.area_m2) for h in yes), Fraction(0)),
        yes_owners=owner_headcount(yes),
    )


def percent(share: Fraction | None) -> str:
    """A share for people, cut (never rounded up) to two decimals: 799.99/1200 → "66.66%",
    1/2 → "50%". Display only; decisions use the fractions, and texts that state a verdict
    give the exact quantities beside it."""
    if share is None:
        return "—"
    hundredths = floor(share * 10000)
    whole, part = divmod(hundredths, 100)
    return f"{whole}.{part:02d}".rstrip("0").rstrip(".") + "%" if part else f"{whole}%"



class PollStatus(StrEnum):
    NOTICE = "notice"  # announced (公示), voting opens by itself at opens_at
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Poll(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    community_id: int
    number: int
    question: str
    options: list[str]
    multiple: bool
    max_choices: int
    deadline: datetime
    audience: Audience
    scope_building: str | None
    scope_staircase: str | None
    weighting: Weighting
    rule: Rule
    live_results: bool
    secret: bool = False
    method: Method = Method.CHOICE
    status: PollStatus
    topic_id: int | None
    created_by: int | None
    created_at: datetime
    closed_at: datetime | None
    reason: str | None
    result: dict[str, Any] | None
    post_chat_id: int | None
    post_message_id: int | None
    opens_at: datetime | None = None
    notice: dict[str, Any] | None = None
    head_hash: str | None = None
    head_entries: int | None = None
    head_chat_id: int | None = None
    head_message_id: int | None = None
    amends: int | None = None  # the poll (id) whose proposal this one amends

    @property
    def ref(self) -> str:
        return f"P-{self.number}"

    @cached_property
    def scope(self) -> Scope:
        # Read for every press of a burst: made once per poll read.
        return Scope(building=self.scope_building, staircase=self.scope_staircase)

    def covers_address(self, address: UnitAddress) -> bool:
        return self.scope.covers_address(address)

    @property
    def secret_allowed(self) -> bool:
        return not self.counts_units

    @property
    def counts_units(self) -> bool:
        """Whether a ballot speaks for a unit (one per household, or weighed by it)."""
        return self.audience in (Audience.HOUSEHOLDS, Audience.OWNERS) \
            or self.weighting in (Weighting.HOUSEHOLD, Weighting.AREA)


def verdict(poll: Poll, ballots: Sequence[Ballot], roster: Sequence[Household]) -> tuple[
        Tally, Verdict]:
    """The count and what it means under the poll's rule."""
    in_scope = {h.unit_id: h for h in roster if poll.scope.covers(h)}
    result = tally(ballots, len(poll.options), poll.weighting, in_scope)
    if poll.rule in CIVIL_RULES:
        figures = civil_figures(roster, poll.scope, ballots, yes_option=0)
        return result, civil_code(figures, major=poll.rule is Rule.CIVIL_MAJOR)
    if poll.rule is Rule.MAJORITY:
        return result, majority(result)
    return result, plurality(result)


class Turnout(BaseModel):
    """How many took part, against the whole the poll is counted on."""

    model_config = ConfigDict(frozen=True)

    ballots: int
    units: int | None = None  # households in scope, for polls that count households
    # People who may vote, for polls of one vote per person on the roster (a poll open to
    # the whole group has no such count: not everyone in it is on the roster).
    people: int | None = None
    area_share: Fraction | None = None  # Civil Code polls: share of all floor area
    owner_share: Fraction | None = None  # Civil Code polls: share of all owners
    civil: bool = False
    # Civil Code polls: the exact quantities (results frozen before they were kept lack them).
    total_area: Fraction | None = None
    voting_area: Fraction | None = None
    total_owners: int | None = None
    voting_owners: int | None = None


def turnout(poll: Poll, roster: Sequence[Household], result: Tally,
            ballots: Sequence[Ballot]) -> Turnout:
    if poll.rule in CIVIL_RULES:
        figures = civil_figures(roster, poll.scope, ballots)
        return Turnout(
            ballots=result.ballots, civil=True,
            area_share=figures.voting_area / figures.total_area if figures.total_area else None,
            owner_share=Fraction(figures.voting_owners, figures.total_owners)
            if figures.total_owners else None,
            total_area=figures.total_area, voting_area=figures.voting_area,
            total_owners=figures.total_owners, voting_owners=figures.voting_owners)
    if poll.counts_units:
        return Turnout(ballots=result.ballots,
                       units=sum(1 for h in roster if poll.scope.covers(h)))
    if poll.audience is Audience.MEMBERS:
        return Turnout(ballots=result.ballots)
    in_scope = [h for h in roster if poll.scope.covers(h)]
    voters = ({o for h in in_scope for o in h.owners} if poll.audience is Audience.OWNERS
              else {m.user_id for h in in_scope for m in h.members})
    return Turnout(ballots=result.ballots, people=len(voters) or None)


def freeze(model: BaseModel) -> dict[str, Any]:
    """A result as JSON-safe data: fractions as exact text ("893/10"), enums as values."""

    def plain(value: Any) -> Any:
        if isinstance(value, Fraction):
            return str(value)
        if isinstance(value, StrEnum):
            return value.value
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {name: plain(getattr(model, name)) for name in type(model).model_fields}


def thaw_tally(data: dict[str, Any]) -> Tally:
    """A frozen result read back (pydantic turns "893/10" back into a Fraction)."""
    return Tally.model_validate(data)


def thaw_verdict(data: dict[str, Any]) -> Verdict:
    return Verdict.model_validate(data)


def thaw_turnout(data: dict[str, Any]) -> Turnout:
    return Turnout.model_validate(data)


def next_choice(poll: Poll, before: list[int] | None, option: int) -> list[int] | None:
    """Single choice: the option. Multiple: toggle it (None if that would exceed the max)."""
    if not poll.multiple:
        return [option]
    current = list(before or [])
    if option in current:
        current.remove(option)
        return current
    current.append(option)
    current.sort()
    if not valid_choice(current, options=len(poll.options), multiple=True,
                        max_choices=poll.max_choices):
        return None
    return current


def decision_title(poll: Poll, meaning: Verdict, *, approved: str = "{question}",
                   chosen: str = "{question} — {option}") -> str | None:
    """What the building decided, as a decision's title, in words (``approved`` and
    ``chosen`` are the reader's phrasings, with {question} and {option}); None if the poll
    decided nothing."""
    if poll.rule in CIVIL_RULES or poll.method is Method.CONSENT:
        title = approved.format(question=poll.question) \
            if meaning.outcome is Outcome.PASSED else None
    elif meaning.outcome is Outcome.WON and meaning.winner is not None:
        title = chosen.format(question=poll.question, option=poll.options[meaning.winner])
    else:
        title = None
    return title[:300] if title is not None else None


def amendable(poll: Poll) -> bool:
    """Whether the proposal can be amended and asked again: a consent poll that closed
    with objections (one that passed needs no amending, one cancelled was withdrawn)."""
    if poll.method is not Method.CONSENT or poll.status is not PollStatus.CLOSED \
            or not poll.result or "verdict" not in poll.result:
        return False
    return thaw_verdict(poll.result["verdict"]).outcome is Outcome.REJECTED
