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


def _column(image, x, colour):
    """How many pixels of ``colour`` the column at ``x`` has inside the plot."""
    return sum(image.getpixel((x, y)) == colour for y in range(chart.TOP, chart.BOTTOM + 1))


def test_the_chart_draws_each_weeks_bars_to_scale_and_turnout_only_where_there_was_a_poll():
    weeks = _weeks()
    image = Image.open(io.BytesIO(chart.render(weeks, "en", "Asia/Shanghai")))
    assert image.format == "PNG" and image.size == (1000, 560)
    image = image.convert("RGB")
    slot = (chart.RIGHT - chart.LEFT) / len(weeks)
    # The legend covers the first weeks' upper part; the last four are clear of it.
    for index in range(4, 8):
        middle = chart.LEFT + slot * (index + 0.5)
        opened = _column(image, round(middle - slot * 0.19), chart.OPENED)
        resolved = _column(image, round(middle + slot * 0.19), chart.RESOLVED)
        # At most 7 a week: the axis goes to 8 in steps of 2, with 5% headroom above.
        unit = (chart.BOTTOM - chart.TOP) / 8.4
        assert abs(opened - weeks[index].opened * unit) <= 2
        assert abs(resolved - weeks[index].resolved * unit) <= 2
        dot = _column(image, round(middle), chart.TURNOUT)
        assert (dot > 0) == (weeks[index].turnout is not None)
    half = round(chart.BOTTOM - 0.5 * (chart.BOTTOM - chart.TOP))
    assert image.getpixel((round(chart.LEFT + slot * 6.5), half)) == chart.TURNOUT


def test_the_axis_steps_are_1_2_or_5_times_a_power_of_ten():
    assert chart._ticks(1) == (1, 1) and chart._ticks(5) == (1, 5)
    assert chart._ticks(7) == (2, 8) and chart._ticks(10) == (2, 10)
    assert chart._ticks(11) == (5, 15) and chart._ticks(26) == (10, 30)
    assert chart._ticks(140) == (50, 150) and chart._ticks(999) == (200, 1000)


def test_the_chart_speaks_the_groups_language_and_falls_back_to_english_without_a_cjk_font(
        monkeypatch):
    png = chart.render(_weeks(), "zh", "Asia/Shanghai")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (1000, 560)
    english = Image.open(io.BytesIO(chart.render(_weeks(), "en", "Asia/Shanghai")))
    title = (chart.LEFT, 0, chart.RIGHT, chart.TOP - 2)
    if chart.cjk_font():
        assert image.crop(title).tobytes() != english.crop(title).tobytes()
    monkeypatch.setattr(chart, "cjk_font", lambda: None)
    assert chart.chart_language("zh") == "en" and chart.chart_language("en") == "en"
    fallback = Image.open(io.BytesIO(chart.render(_weeks(), "zh", "Asia/Shanghai")))
    assert fallback.size == (1000, 560)
