"""The weekly summary's chart: reports opened vs resolved and poll turnout over the last
weeks, drawn with Pillow to PNG bytes.

The chart is a few rectangles, a line and some text, so it is drawn directly rather than
through a plotting library: hundreds of summaries fall due in the same minute, and at a
tenth of a second of CPU each (what matplotlib took) their charts, not Telegram's limits,
set how long the last building waits. Drawn here it is about a hundredth.

Chinese labels need a CJK font, found among the usual font folders by file name; where
none is installed the chart uses English labels rather than boxes.
"""

from __future__ import annotations

import asyncio
import io
import math
import multiprocessing
import os
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont

from bot.domain.summary import ChartWeek
from bot.i18n import translator

# Font files with Chinese glyphs, by preference, and where systems keep fonts.
CJK_FONTS = ("wqy-microhei.ttc", "wqy-zenhei.ttc", "NotoSansCJK-Regular.ttc",
             "NotoSansCJKsc-Regular.otf", "NotoSansSC-Regular.otf", "NotoSansSC-Regular.ttf",
             "SourceHanSansSC-Regular.otf", "DroidSansFallbackFull.ttf", "DroidSansFallback.ttf",
             "simhei.ttf", "msyh.ttc", "PingFang.ttc")
LATIN_FONTS = ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "NotoSans-Regular.ttf",
               "Arial.ttf", "arial.ttf", "Helvetica.ttc")
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts",
             "/Library/Fonts", "/System/Library/Fonts", "C:/Windows/Fonts")

WIDTH, HEIGHT = 1000, 560
# The plot area inside the margins that hold the titles, ticks and labels.
LEFT, RIGHT, TOP, BOTTOM = 72, 918, 44, 498
OPENED, RESOLVED, TURNOUT = (224, 123, 57), (59, 142, 165), (91, 75, 138)
INK, GRID, WHITE = (38, 38, 38), (228, 228, 228), (255, 255, 255)


_pool: ProcessPoolExecutor | None = None


async def render_elsewhere(weeks: Sequence[ChartWeek], language: str, timezone: str) -> bytes:
    """:func:`render` in a worker process, so that hundreds of charts due in the same
    minute do not hold up every other update and send. Falls back to drawing here if the
    workers are gone."""
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                                    mp_context=multiprocessing.get_context("spawn"))
    try:
        return await asyncio.get_running_loop().run_in_executor(
            _pool, render, list(weeks), language, timezone)
    except BrokenProcessPool:
        _pool = None
        return render(weeks, language, timezone)


def chart_key(weeks: Sequence[ChartWeek], language: str, timezone: str) -> tuple:
    """What a chart looks like depends on this alone: equal keys, equal pictures."""
    return (chart_language(language), timezone,
            tuple((w.start, w.opened, w.resolved, w.turnout) for w in weeks))


class ChartFiles:
    """Telegram file ids of charts already sent, by :func:`chart_key`, the newest
    ``size`` kept."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._files: OrderedDict[tuple, str] = OrderedDict()

    def get(self, key: tuple) -> str | None:
        found = self._files.get(key)
        if found is not None:
            self._files.move_to_end(key)
        return found

    def put(self, key: tuple, file_id: str) -> None:
        self._files[key] = file_id
        self._files.move_to_end(key)
        while len(self._files) > self._size:
            self._files.popitem(last=False)


@cache
def _font_files() -> dict[str, str]:
    """Font file name -> path, for every font under the usual folders (looked once)."""
    found: dict[str, str] = {}
    for folder in FONT_DIRS:
        for root, _dirs, files in os.walk(os.path.expanduser(folder)):
            for name in files:
                found.setdefault(name, os.path.join(root, name))
    return found


def cjk_font() -> str | None:
    """The path of an installed font that has Chinese glyphs, if any."""
    files = _font_files()
    return next((files[name] for name in CJK_FONTS if name in files), None)


def chart_language(language: str) -> str:
    return language if language != "zh" or cjk_font() else "en"


@cache
def _font(size: int, cjk: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    files = _font_files()
    path = cjk_font() if cjk else next(
        (files[name] for name in LATIN_FONTS if name in files), None)
    if path is None:
        return ImageFont.load_default(size)  # Pillow's own (Latin) font
    return ImageFont.truetype(path, size)


def _ticks(top: int) -> tuple[int, int]:
    """A step of 1, 2 or 5 times a power of ten that gives at most 5 steps up to ``top``,
    and the axis top (the first multiple of the step at or above it)."""
    step = 1
    while math.ceil(top / step) > 5:
        step = step * 5 // 2 if str(step).startswith("2") else step * 2
    return step, step * math.ceil(top / step)


def render(weeks: Sequence[ChartWeek], language: str, timezone: str) -> bytes:
    """A 1000×560 PNG: bars of reports opened and resolved per week against the left
    axis, and the mean poll turnout as a line against the right one (0–100%; weeks
    without a closed poll are gaps)."""
    lang = chart_language(language)
    _ = translator(lang)
    cjk = lang == "zh"
    small, normal, title_font = _font(13, cjk), _font(14, cjk), _font(17, cjk)
    image = Image.new("RGB", (WIDTH, HEIGHT), WHITE)
    draw = ImageDraw.Draw(image)
    count = max(1, len(weeks))
    step, top = _ticks(max([1] + [max(w.opened, w.resolved) for w in weeks]))
    span = BOTTOM - TOP
    # A little headroom, so the tallest bar does not touch the frame.
    scale = span / (top * 1.05)

    def y_of(value: float) -> float:
        return BOTTOM - value * scale

    # Left axis: grid lines and integer ticks.
    for value in range(0, top + 1, step):
        y = round(y_of(value))
        if value:
            draw.line([(LEFT, y), (RIGHT, y)], fill=GRID)
        draw.line([(LEFT - 5, y), (LEFT, y)], fill=INK)
        draw.text((LEFT - 8, y), str(value), font=normal, fill=INK, anchor="rm")
    # Right axis: turnout, 0–100%.
    for percent in range(0, 101, 20):
        y = round(BOTTOM - percent / 100 * span)
        draw.line([(RIGHT, y), (RIGHT + 5, y)], fill=INK)
        draw.text((RIGHT + 8, y), str(percent), font=normal, fill=INK, anchor="lm")
    # Bars and week labels.
    slot = (RIGHT - LEFT) / count
    bar = slot * 0.38
    zone = ZoneInfo(timezone)
    for index, week in enumerate(weeks):
        middle = LEFT + slot * (index + 0.5)
        for left, value, colour in ((middle - bar, week.opened, OPENED),
                                    (middle, week.resolved, RESOLVED)):
            if value > 0:
                draw.rectangle([round(left), round(y_of(value)), round(left + bar) - 1,
                                BOTTOM], fill=colour)
        draw.line([(round(middle), BOTTOM), (round(middle), BOTTOM + 5)], fill=INK)
        draw.text((middle, BOTTOM + 9), f"{week.start.astimezone(zone):%m-%d}",
                  font=normal, fill=INK, anchor="mt")
    # Turnout: a line through consecutive weeks that have one, a dot on each.
    points = [(LEFT + slot * (i + 0.5), BOTTOM - w.turnout * span)
              if w.turnout is not None else None for i, w in enumerate(weeks)]
    for here, there in zip(points, points[1:], strict=False):
        if here is not None and there is not None:
            draw.line([here, there], fill=TURNOUT, width=2)
    for point in points:
        if point is not None:
            x, y = point
            draw.ellipse([x - 4.5, y - 4.5, x + 4.5, y + 4.5], fill=TURNOUT)
    draw.rectangle([LEFT, TOP, RIGHT, BOTTOM], outline=INK)
    # Titles and axis labels.
    draw.text(((LEFT + RIGHT) / 2, TOP - 12), _("The last {count} weeks").format(
        count=len(weeks)), font=title_font, fill=INK, anchor="md")
    draw.text(((LEFT + RIGHT) / 2, HEIGHT - 8), _("Week starting"), font=normal, fill=INK,
              anchor="md")
    _upright(image, _("Reports"), normal, centre=(16, (TOP + BOTTOM) / 2), turn=90)
    _upright(image, _("Poll turnout (%)"), normal, centre=(WIDTH - 16, (TOP + BOTTOM) / 2),
             turn=270)
    _legend(draw, small, [(_("Reports opened"), OPENED, False),
                          (_("Reports resolved"), RESOLVED, False),
                          (_("Poll turnout (%)"), TURNOUT, True)])
    buffer = io.BytesIO()
    # Light compression: the picture is mostly flat colour, and this is much faster.
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _upright(image: Image.Image, text: str, font: Any, *, centre: tuple[float, float],
             turn: int) -> None:
    """Text turned by ``turn`` degrees, centred on ``centre`` (the vertical axis labels)."""
    left, top, right, bottom = font.getbbox(text)
    label = Image.new("L", (right - left + 4, bottom - top + 4), 0)
    ImageDraw.Draw(label).text((2 - left, 2 - top), text, font=font, fill=255)
    label = label.rotate(turn, expand=True)
    x, y = round(centre[0] - label.width / 2), round(centre[1] - label.height / 2)
    image.paste(Image.new("RGB", label.size, INK), (x, y), label)


def _legend(draw: ImageDraw.ImageDraw, font: Any,
            entries: list[tuple[str, tuple[int, int, int], bool]]) -> None:
    """The key, in a framed box at the plot's upper left: a swatch (or a line with a dot
    for the turnout) and the name of each series."""
    line_height, swatch = 22, 26
    width = swatch + 14 + max(round(draw.textlength(name, font=font)) for name, *_r in entries)
    x, y = LEFT + 10, TOP + 10
    draw.rectangle([x, y, x + width + 16, y + line_height * len(entries) + 10], fill=WHITE,
                   outline=GRID)
    for row, (name, colour, is_line) in enumerate(entries):
        middle = y + 5 + line_height * row + line_height / 2
        if is_line:
            draw.line([(x + 8, middle), (x + 8 + swatch, middle)], fill=colour, width=2)
            centre = x + 8 + swatch / 2
            draw.ellipse([centre - 4, middle - 4, centre + 4, middle + 4], fill=colour)
        else:
            draw.rectangle([x + 8, middle - 6, x + 8 + swatch, middle + 6], fill=colour)
        draw.text((x + 8 + swatch + 10, middle), name, font=font, fill=INK, anchor="lm")
