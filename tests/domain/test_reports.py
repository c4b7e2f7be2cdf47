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
