"""The weekly summary's chart: reports opened vs resolved and poll turnout over the last
weeks, drawn off-screen (matplotlib's Agg backend) to PNG bytes.

Chinese labels need a CJK font; where none is installed the chart uses English labels
rather than boxes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from functools import cache
from zoneinfo import ZoneInfo

from bot.domain.summary import ChartWeek
from bot.i18n import translator

# matplotlib takes most of a second to import: it is loaded at the first chart, not at
# start (the bot must start polling fast).

CJK_FONTS = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans SC",
             "Source Han Sans SC", "Droid Sans Fallback", "SimHei", "Microsoft YaHei",
             "PingFang SC")


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
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
