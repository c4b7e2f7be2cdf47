"""The summary's pure parts: when it falls due, the median, the empty week, the chart."""

import io
from datetime import UTC, datetime, time, timedelta
from fractions import Fraction

from PIL import Image

from bot import chart
from bot.domain.durations import next_weekly
from bot.domain.summary import ChartWeek, Week, mean, median_hours


def test_the_next_summary_is_the_coming_sunday_evening_in_the_groups_zone():
    sunday_19 = datetime(2026, 11, 22, 11, 0, tzinfo=UTC)  # 19:00 in Shanghai
    assert next_weekly(sunday_19, "Asia/Shanghai", "sunday", time(20, 0)) == datetime(
        2026, 11, 22, 12, 0, tzinfo=UTC)
    at_20 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert next_weekly(at_20, "Asia/Shanghai", "sunday", time(20, 0)) == at_20 + timedelta(
        days=7)
    assert next_weekly(at_20, "Europe/Berlin", "monday", time(9, 0)) == datetime(
        2026, 11, 23, 8, 0, tzinfo=UTC)


def test_median_and_mean():
    assert median_hours([]) is None
    assert median_hours([timedelta(hours=10), timedelta(hours=20)]) == 15.0
    assert median_hours([timedelta(hours=1), timedelta(hours=2), timedelta(days=3)]) == 2.0
    assert mean([4, 5]) == Fraction(9, 2) and mean([]) is None


def test_a_week_with_only_an_open_poll_is_not_empty():
    start = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
    assert Week(start=start, end=start + timedelta(days=7)).empty
    assert not Week(start=start, end=start + timedelta(days=7), reports_overdue=1).empty


def _weeks():
    end = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    return [ChartWeek(start=end - timedelta(days=7 * (8 - i)), opened=i, resolved=i // 2,
                      turnout=None if i % 2 else 0.5) for i in range(8)]


def test_the_chart_is_a_png_and_falls_back_to_english_without_a_cjk_font(monkeypatch):
    png = chart.render(_weeks(), "zh", "Asia/Shanghai")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (1000, 560)
    monkeypatch.setattr(chart, "cjk_font", lambda: None)
    assert chart.chart_language("zh") == "en" and chart.chart_language("en") == "en"
    fallback = Image.open(io.BytesIO(chart.render(_weeks(), "zh", "Asia/Shanghai")))
    assert fallback.size == (1000, 560)
