from datetime import UTC, datetime, timedelta

from bot.domain.reports import Limits, ReportStatus, can_move, reference

S = ReportStatus


def test_the_status_path_and_its_branches():
    path = [S.NEW, S.ACKNOWLEDGED, S.IN_PROGRESS, S.RESOLVED, S.CLOSED]
    assert all(can_move(a, b) for a, b in zip(path, path[1:], strict=False))
    assert can_move(S.RESOLVED, S.REOPENED) and can_move(S.REOPENED, S.IN_PROGRESS)
    assert can_move(S.NEW, S.DUPLICATE) and can_move(S.ACKNOWLEDGED, S.REJECTED)
    assert not can_move(S.REJECTED, S.ACKNOWLEDGED)
    assert not can_move(S.NEW, S.CLOSED)
    assert not can_move(S.IN_PROGRESS, S.ACKNOWLEDGED)


def test_references_and_limits():
    assert reference(42) == "R-0042" and reference(12345) == "R-12345"
    filed = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    ack, resolve = Limits(acknowledge=timedelta(hours=24), resolve=timedelta(days=3)).due(filed)
    assert ack == filed + timedelta(days=1) and resolve == filed + timedelta(days=3)


def test_overdue():
    from bot.domain.reports import overdue

    filed = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    limits = Limits(acknowledge=timedelta(hours=4), resolve=timedelta(hours=24))
    assert not overdue(S.NEW, filed, limits, filed + timedelta(hours=3, minutes=59))
    assert overdue(S.NEW, filed, limits, filed + timedelta(hours=4))
    assert not overdue(S.ACKNOWLEDGED, filed, limits, filed + timedelta(hours=5))
    assert overdue(S.IN_PROGRESS, filed, limits, filed + timedelta(hours=24))
    assert not overdue(S.RESOLVED, filed, limits, filed + timedelta(days=9))


def test_timeline_notes_are_values_with_one_stored_form():
    from bot.domain.reports import Event, Note, NoteKind, ReportStatus

    for note in (Note.rating(4), Note.comment("still dark: a:b"), Note.assigned(42),
                 Note(NoteKind.TEXT, text="New bulb.")):
        assert Note.read(note.stored()) == note
    assert Note.rating(4).stored() == "rating:4"
    assert Note.comment("still dark").stored() == "comment:still dark"
    assert Note.assigned(42).stored() == "assign:42"
    assert Note.read(None) is None and Note.read("") is None
    # A handler's note that merely looks like one of them stays what it is.
    assert Note.read("rating:five") == Note(NoteKind.TEXT, text="rating:five")
    assert Note.read("assign:４２") == Note(NoteKind.TEXT, text="assign:４２")
    assert Note.read("comment") == Note(NoteKind.TEXT, text="comment")
    at = datetime(2026, 11, 23, tzinfo=UTC)
    plain = Event(status=ReportStatus.RESOLVED, actor_id=1, note="New bulb.", at=at)
    assert plain.plain_note == "New bulb." and plain.noted.kind is NoteKind.TEXT
    rated = Event(status=ReportStatus.RESOLVED, actor_id=1, note="rating:5", at=at)
    assert rated.plain_note is None and rated.noted == Note.rating(5)
    assert Event(status=ReportStatus.NEW, actor_id=None, note=None, at=at).plain_note is None


def test_what_filing_and_each_move_arm():
    from bot.domain.reports import (
        FollowUps,
        Limits,
        ReportStatus,
        Timer,
        reminder_before,
        timers_when_filed,
        timers_when_moved,
    )

    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    lift = Limits(acknowledge=timedelta(hours=4), resolve=timedelta(hours=24))
    waits = FollowUps(confirm=timedelta(days=7), still_fixed=timedelta(days=28))
    assert timers_when_filed(lift, now) == [
        (Timer.ACK_LIMIT, now + timedelta(hours=4)),
        (Timer.ACK_SOON, now + timedelta(hours=3)),  # a quarter before: one hour
        (Timer.RESOLVE_LIMIT, now + timedelta(hours=24)),
        (Timer.RESOLVE_SOON, now + timedelta(hours=22)),  # at most two hours before
    ]
    assert timers_when_moved(ReportStatus.RESOLVED, now, lift, waits) == [
        (Timer.CONFIRM_WAIT, now + timedelta(days=7))]
    assert timers_when_moved(ReportStatus.CLOSED, now, lift, waits) == [
        (Timer.STILL_FIXED, now + timedelta(days=28))]
    assert timers_when_moved(ReportStatus.REOPENED, now, lift, waits) == [
        (Timer.RESOLVE_LIMIT, now + timedelta(hours=24)),
        (Timer.RESOLVE_SOON, now + timedelta(hours=22))]
    for target in (ReportStatus.ACKNOWLEDGED, ReportStatus.IN_PROGRESS, ReportStatus.REJECTED,
                   ReportStatus.DUPLICATE):
        assert timers_when_moved(target, now, lift, waits) == []
    assert reminder_before(now + timedelta(minutes=40), now) == now + timedelta(minutes=30)
    assert reminder_before(now + timedelta(hours=8), now) == now + timedelta(hours=6)
    assert reminder_before(now + timedelta(hours=9), now) == now + timedelta(hours=7)
