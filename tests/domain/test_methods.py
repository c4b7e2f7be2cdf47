"""Ways to decide beyond one choice: each method's ballots and its exact count, with the
stated rule for every tie."""

from datetime import UTC, datetime
from fractions import Fraction

import pytest

from bot.domain import methods
from bot.domain.households import Household
from bot.domain.poll_drafts import PollSettings, Refusal, Setting
from bot.domain.polls import (
    Audience,
    Ballot,
    Method,
    Outcome,
    Poll,
    PollStatus,
    Rule,
    Weighting,
    amendable,
    freeze,
)
from bot.domain.units import UnitAddress

F = Fraction


def poll(method, options, weighting=Weighting.PERSON, dots=1):
    return Poll(id=1, community_id=1, number=1, question="Q?", options=list(options),
                multiple=False, max_choices=dots, deadline=datetime(2027, 1, 1, tzinfo=UTC),
                audience=Audience.VERIFIED, scope_building=None, scope_staircase=None,
                weighting=weighting, rule=Rule.PLURALITY, live_results=True, method=method,
                status=PollStatus.OPEN, topic_id=None, created_by=1,
                created_at=datetime(2026, 12, 1, tzinfo=UTC), closed_at=None, reason=None,
                result=None, post_chat_id=None, post_message_id=None)


def counted(method, options, *choices, **kw):
    result, meaning = methods.count(poll(method, options, **kw),
                                    [Ballot(choice=tuple(c)) for c in choices], [])
    return result, meaning, methods.standing_of(meaning)


@pytest.mark.parametrize(("method", "choice", "ok"), [
    (Method.RANKED, [2, 0], True), (Method.RANKED, [0, 0], False),
    (Method.RANKED, [], False), (Method.RANKED, [3], False),
    (Method.SCORE, [0, 5, 3], True), (Method.SCORE, [6, 0, 0], False),
    (Method.SCORE, [1, 2], False),
    (Method.APPROVAL, [0, 2], True), (Method.APPROVAL, [2, 0], False),
    (Method.APPROVAL, [], False),
    (Method.DOTS, [2, 0, 1], True), (Method.DOTS, [2, 0, 2], False),
    (Method.DOTS, [0, 0, 0], False), (Method.DOTS, [-1, 2, 0], False),
    (Method.TIME, [2, 1, 0], True), (Method.TIME, [3, 0, 0], False),
    (Method.CONSENT, [1], True), (Method.CONSENT, [0, 1], False),
])
def test_what_a_ballot_of_each_method_may_hold(method, choice, ok):
    assert methods.valid_ballot(method, choice, options=3, dots=3) is ok


def test_instant_runoff_transfers_votes_round_by_round():
    # A 4, B 3, C 2: C goes out, its ballots go to B, which wins 5 to 4.
    ballots = [[0]] * 4 + [[1, 0]] * 3 + [[2, 1]] * 2
    result, meaning, standing = counted(Method.RANKED, "ABC", *ballots)
    assert meaning.outcome is Outcome.WON and meaning.winner == 1
    assert standing.rounds == ((F(4), F(3), F(2)), (F(4), F(5), None))
    assert standing.out == (2,)
    assert result.votes == (4, 3, 2)  # first preferences


def test_instant_runoff_tie_for_last_looks_back_then_takes_the_later_option():
    # Round 1: A 3, B 2, C 2, D 1 → D out; its ballot goes to C: A 3, B 2, C 3 → B out.
    ballots = [[0]] * 3 + [[1]] * 2 + [[2]] * 2 + [[3, 2]]
    _r, meaning, standing = counted(Method.RANKED, "ABCD", *ballots)
    assert standing.out[:2] == (3, 1)
    # B and C both had 2 in round 1 and are then 2 and 3 — no tie. Now a real one:
    ballots = [[0]] * 3 + [[1]] * 2 + [[2]] * 2
    _r, meaning, standing = counted(Method.RANKED, "ABC", *ballots)
    # B and C tie for last in every round: the one listed later (C) goes out.
    assert standing.out[0] == 2 and standing.tie_broken == (1,)
    assert meaning.outcome is Outcome.WON and meaning.winner == 0


def test_instant_runoff_all_equal_is_a_tie_and_no_ballots_no_votes():
    assert counted(Method.RANKED, "AB", [0], [1])[1].outcome is Outcome.TIE
    assert counted(Method.RANKED, "AB")[1].outcome is Outcome.NO_VOTES


def test_score_means_and_distribution():
    _r, meaning, standing = counted(Method.SCORE, "AB", [5, 3], [4, 3], [0, 3])
    assert standing.means == (F(3), F(3))
    assert meaning.outcome is Outcome.TIE
    _r, meaning, standing = counted(Method.SCORE, "AB", [5, 3], [4, 3])
    assert meaning.winner == 0 and standing.means == (F(9, 2), F(3))
    assert standing.spread[1] == (0, 0, 0, 2, 0, 0)


def test_approval_and_dots_add_up_weights():
    _r, meaning, standing = counted(Method.APPROVAL, "ABC", [0, 1], [1], [1, 2])
    assert standing.totals == (1, 3, 1) and meaning.winner == 1
    _r, meaning, standing = counted(Method.DOTS, "ABC", [3, 0, 0], [0, 2, 1], [0, 2, 0],
                                    dots=3)
    assert standing.totals == (3, 4, 1) and meaning.winner == 1


def test_dots_weighed_by_area_stay_exact():
    homes = [Household(unit_id=u, address=UnitAddress.parse(f"1-1-10{u}"),
                        area_m2=a, owners=(u,), members=()) for u, a in ((1, "88.5"), (2, "70"))]
    the_poll = poll(Method.DOTS, "AB", weighting=Weighting.AREA, dots=2)
    _r, meaning = methods.count(the_poll, [Ballot(choice=(2, 0), unit_id=1),
                                           Ballot(choice=(0, 2), unit_id=2)], homes)
    assert methods.standing_of(meaning).totals == (F(177), F(140))


def test_meeting_time_names_the_slot_most_can_come_to_then_most_yes_then_earliest():
    slots = ["2026-12-12 19:00", "2026-12-13 10:00", "2026-12-11 20:00"]
    yes, maybe, no = methods.YES, methods.IF_NEED_BE, methods.NO
    _r, meaning, standing = counted(Method.TIME, slots, [yes, yes, maybe], [maybe, yes, yes],
                                    [no, maybe, yes])
    # Everyone can come on the 13th and on the 11th; the 13th has two yes, the 11th two.
    assert standing.totals == (2, 3, 3)
    assert meaning.winner == 2  # equal yes too: the earliest slot
    assert standing.spread[0] == (1, 1, 1)


def test_consent_passes_unless_someone_objects():
    assert counted(Method.CONSENT, ["ok", "object"], [0], [0])[1].outcome is Outcome.PASSED
    assert counted(Method.CONSENT, ["ok", "object"], [0], [1])[1].outcome is Outcome.REJECTED
    assert counted(Method.CONSENT, ["ok", "object"])[1].outcome is Outcome.NO_VOTES


def test_only_a_consent_proposal_that_met_objections_is_amended():
    def closed(method, voted):
        verdict = counted(method, ["ok", "object"], [voted])[1]
        return poll(method, ["ok", "object"]).model_copy(update={
            "status": PollStatus.CLOSED, "result": {"verdict": freeze(verdict)}})
    assert amendable(closed(Method.CONSENT, 1))
    assert not amendable(closed(Method.CONSENT, 0))  # consented: nothing to amend
    assert not amendable(closed(Method.APPROVAL, 1))
    still_open = closed(Method.CONSENT, 1).model_copy(update={"status": PollStatus.OPEN})
    assert not amendable(still_open)


def test_a_method_fixes_the_rule_and_a_civil_rule_fixes_the_method():
    settings = PollSettings(options=4, yes_no=False)
    ranked, refusal = settings.choose(Setting.METHOD, "ranked")
    assert refusal is None and ranked.method is Method.RANKED
    assert ranked.choose(Setting.RULE, "majority") == (ranked, Refusal.FIXED_BY_METHOD)
    dots, _ = settings.choose(Setting.METHOD, "dots")
    assert dots.max_choices == 3
    dots, refusal = dots.choose(Setting.MULTIPLE, "4")
    assert refusal is None and dots.max_choices == 4 and not dots.multiple
    civil = PollSettings(options=3, yes_no=True, rule=Rule.CIVIL_ORDINARY,
                         audience=Audience.OWNERS, weighting=Weighting.AREA)
    assert civil.choose(Setting.METHOD, "score") == (civil, Refusal.FIXED_BY_RULE)


def test_a_form_in_progress_and_a_blank_ballot():
    assert methods.blank(Method.RANKED, 3) == [] and methods.blank(Method.TIME, 3) == [0, 0, 0]
    assert methods.in_progress(Method.RANKED, [], options=3)
    assert not methods.in_progress(Method.RANKED, [1, 1], options=3)
    assert not methods.in_progress(Method.APPROVAL, [3], options=3)
    assert methods.in_progress(Method.DOTS, [0, 0, 0], options=3)  # no dot given yet
    assert not methods.in_progress(Method.SCORE, [1, 2], options=3)
    assert not methods.in_progress(Method.CONSENT, [2], options=2)


def test_meeting_slots_are_read_in_the_groups_zone_and_kept_in_order():
    now = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert methods.read_slots(["2026-12-12 19:00", "2026-12-10 19:30"], now,
                              "Asia/Shanghai") == ["2026-12-10 19:30", "2026-12-12 19:00"]
    with pytest.raises(methods.SlotError) as bad:
        methods.read_slots(["2026-12-12 19:00", "whenever"], now, "Asia/Shanghai")
    assert bad.value.answer == "whenever"
    with pytest.raises(methods.SlotError):
        methods.read_slots(["2026-12-12 19:00", "2026-12-12 19:00"], now, "Asia/Shanghai")
