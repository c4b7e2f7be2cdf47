"""The weekly summary's chart: reports opened vs resolved and poll turnout over the last
weeks, drawn off-screen (matplotlib's Agg backend) to PNG bytes.

Chinese labels need a CJK font; where none is installed the chart uses English labels
rather than boxes.
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
from zoneinfo import ZoneInfo

from bot.domain.summary import ChartWeek
from bot.i18n import translator

# matplotlib takes most of a second to import: it is loaded at the first chart, not at
# start (the bot must start polling fast).

CJK_FONTS = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans SC",
             "Source Han Sans SC", "Droid Sans Fallback", "SimHei", "Microsoft YaHei",
             "PingFang SC")


_pool: ProcessPoolExecutor | None = None


async def render_elsewhere(weeks: Sequence[ChartWeek], language: str, timezone: str) -> bytes:
    """:func:`render` in a worker process: a chart is a tenth of a second of CPU, which
    would otherwise stall every other update and send (hundreds of weekly summaries fall
    due at the same minute). Falls back to drawing here if the workers are gone."""
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
def cjk_font() -> str | None:
    """The name of an installed font that has Chinese glyphs, if any."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def chart_language(language: str) -> str:
    return language if language != "zh" or cjk_font() else "en"


def render(weeks: Sequence[ChartWeek], language: str, timezone: str) -> bytes:
    """A 1000×560 PNG: bars of reports opened and resolved per week, and the mean poll
    turnout as a line on a second axis (weeks without a closed poll are gaps)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    lang = chart_language(language)
    _ = translator(lang)
    family = [cjk_font()] if lang == "zh" and cjk_font() else ["DejaVu Sans"]
    figure = Figure(figsize=(10, 5.6), dpi=100)
    axes = figure.add_subplot()
    labels = [f"{w.start.astimezone(ZoneInfo(timezone)):%m-%d}" for w in weeks]
    positions = list(range(len(weeks)))
    width = 0.38
    axes.bar([p - width / 2 for p in positions], [w.opened for w in weeks], width,
             label=_("Reports opened"), color="#e07b39")
    axes.bar([p + width / 2 for p in positions], [w.resolved for w in weeks], width,
             label=_("Reports resolved"), color="#3b8ea5")
    axes.set_xticks(positions, labels, fontfamily=family)
    axes.set_ylabel(_("Reports"), fontfamily=family)
    axes.set_xlabel(_("Week starting"), fontfamily=family)
    axes.yaxis.get_major_locator().set_params(integer=True)
    turnout_axes = axes.twinx()
    turnout_axes.plot(positions, [w.turnout * 100 if w.turnout is not None else math.nan
                                  for w in weeks],
                      marker="o", color="#5b4b8a", label=_("Poll turnout (%)"))
    turnout_axes.set_ylim(0, 100)
    turnout_axes.set_ylabel(_("Poll turnout (%)"), fontfamily=family)
    handles = axes.get_legend_handles_labels()
    more = turnout_axes.get_legend_handles_labels()
    axes.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left",
                prop={"family": family})
    axes.set_title(_("The last {count} weeks").format(count=len(weeks)), fontfamily=family)
    # Fixed margins rather than tight_layout, which measures every label and doubles the
    # cost of a chart; these fit the longest labels of both languages.
    figure.subplots_adjust(left=0.07, right=0.92, top=0.93, bottom=0.11)
    buffer = io.BytesIO()
    # Light compression: a few kB larger, a good deal faster to write.
    figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
    return buffer.getvalue()
