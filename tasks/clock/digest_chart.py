"""The weekly digest as a picture for leadership: completion by work team (or by unit) and the
overdue trend by week, as PNG bytes, with Chinese drawn in a CJK font.

Drawn with matplotlib's Agg canvas directly (no pyplot): no backend is switched and no window is
asked for. The font is found by its file, not by a
family name: asked for a family it does not have, matplotlib quietly falls back to DejaVu Sans,
whose missing glyphs come out as boxes. ``scripts/bootstrap`` installs Debian's
fonts-wqy-microhei; without any CJK font the chart is still drawn, with a warning in the log.
"""

from __future__ import annotations

import io
import logging
import textwrap
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import matplotlib
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from tasks.notifications import Digest, TallyLine, WeekPoint

log = logging.getLogger(__name__)

# Font files that draw simplified Chinese, in order of preference: Debian's two packages (the small
# WenQuanYi first), then what an office's Windows machine has.
CJK_FONT_FILES = ("wqy-microhei.ttc", "wqy-zenhei.ttc", "NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf",
                  "NotoSansSC-Regular.otf", "msyh.ttc", "simhei.ttf", "simsun.ttc")
FALLBACK_FAMILY = "DejaVu Sans"  # matplotlib's own font: digits and Latin letters when no CJK font is found

MOST_BARS = 10  # teams or units drawn one bar each; the rest share one bar, so the names stay readable
NAME_WIDTH = 9  # characters of a team's or unit's name on one line of the axis
TITLE_WIDTH = 22  # characters of the plan's title on one line

# The shares of a bar, left to right, with the colours of the bot's legend (🟢 done, 🟡 waiting, 🔴 overdue).
SHARES = (("已办结", "#3a9d5d"), ("待审核", "#f2b705"), ("未到期", "#d9d9d9"), ("逾期", "#d64541"))
MIN_TREND_SLOTS = 8  # the trend's axis has room for this many weeks even when fewer have been sent
TREND_BAR = "#d64541"
TREND_LINE = "#2b6cb0"
# The chart's font and sizes are matplotlib's settings, which are global: one drawing at a time, so
# that a drawing that ends cannot take them from one still going in another thread.
_DRAWING = threading.Lock()


@cache
def cjk_font_file() -> Path | None:
    """The first installed font file of CJK_FONT_FILES (None: none is installed)."""
    installed = {Path(found).name.lower(): Path(found) for found in font_manager.findSystemFonts(fontext="ttf")}
    return next((installed[name.lower()] for name in CJK_FONT_FILES if name.lower() in installed), None)


@cache
def _font_families(found: Path | None) -> tuple[str, ...]:
    """The families every text of the chart asks for: the CJK font's (registered by its file), then
    matplotlib's own for any glyph it lacks."""
    if found is None:
        log.warning("未找到中文字体（如 fonts-wqy-microhei），周报图表中的中文可能显示为方框")
        return (FALLBACK_FAMILY,)
    font_manager.fontManager.addfont(str(found))
    return (font_manager.FontProperties(fname=found).get_name(), FALLBACK_FAMILY)


@contextmanager
def _chart_style() -> Iterator[None]:
    """matplotlib's settings for drawing the chart, for this drawing only."""
    families = _font_families(cjk_font_file())
    with _DRAWING, matplotlib.rc_context({"font.family": list(families), "font.size": 11, "axes.unicode_minus": False}):
        if len(families) > 1:
            yield
            return
        # The one warning above says it; the rest would be one line per missing character.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Glyph .* missing from")
            yield


def digest_chart(digest: Digest) -> bytes:
    """The digest's chart as a PNG picture."""
    with _chart_style():
        out = io.BytesIO()
        _figure(digest).savefig(out, format="png")  # saving draws it, once
    return out.getvalue()


def drawn_chart(digest: Digest) -> Figure:
    """The chart's figure, drawn (every label placed in its font): what ``digest_chart`` saves."""
    with _chart_style():
        figure = _figure(digest)
        figure.canvas.draw()
    return figure


def _figure(digest: Digest) -> Figure:
    # Fixed margins rather than a layout engine: the names are wrapped to NAME_WIDTH and the titles
    # to TITLE_WIDTH, so the room they need is known, and measuring every label to find it would
    # take longer than the rest of the drawing.
    figure = Figure(figsize=(7.5, 10), dpi=120)
    FigureCanvasAgg(figure)
    bars, trend = figure.subplots(2, 1, height_ratios=[3, 2], gridspec_kw={
        "left": 0.2, "right": 0.9, "top": 0.88, "bottom": 0.08, "hspace": 0.42})
    title = textwrap.fill(digest.title or "工作周报", TITLE_WIDTH)
    figure.suptitle(f"{title}\n{digest.week_of:%Y年%-m月%-d日}周报", fontsize=15)  # the CJK fonts have no bold
    _completion(bars, digest)
    _trend(trend, digest.trend or [WeekPoint(week_of=digest.week_of, overdue=digest.total.overdue,
                                             rate=digest.total.rate)])
    return figure


def _completion(axes: Axes, digest: Digest) -> None:
    """One bar per team (per unit when the plan has none), worst first, split into done, waiting
    for verification, not yet due and overdue; its completion rate and overdue count beside it."""
    by_team = bool(digest.teams)
    lines = _worst_first(digest.teams if by_team else digest.units)
    what = "工作专班" if by_team else "责任单位"
    shown, rest = lines[:MOST_BARS], lines[MOST_BARS:]
    if rest:
        shown.append(_together(f"其余{len(rest)}个{'专班' if by_team else '单位'}", rest))
    total = digest.total
    axes.set_title(f"按{what}：共{total.total}项分工，已办结{total.done}项（{total.rate:.0%}），逾期{total.overdue}项",
                   fontsize=12, loc="left")
    axes.spines[["top", "right"]].set_visible(False)
    if not shown:
        axes.text(0.5, 0.5, "暂无分工", ha="center", va="center", fontsize=14, transform=axes.transAxes)
        axes.set_xticks([])
        axes.set_yticks([])
        return
    names = [textwrap.fill(line.name, NAME_WIDTH) for line in shown]
    rows = range(len(shown))
    left = [0.0] * len(shown)
    for share, (label, colour) in enumerate(SHARES):
        widths = [_shares(line)[share] / line.total if line.total else 0.0 for line in shown]
        axes.barh(rows, widths, left=left, color=colour, label=label, height=0.7)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    for row, line in zip(rows, shown, strict=True):
        note = f"{line.rate:.0%}" + (f"  逾期{line.overdue}" if line.overdue else "")
        axes.text(1.02, row, note, va="center", fontsize=10, color="#d64541" if line.overdue else "#333333")
    axes.set_yticks(list(rows), names, fontsize=10)
    axes.invert_yaxis()  # the worst at the top, where the eye starts
    axes.set_xlim(0, 1.3)
    axes.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    axes.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.set_xlabel("分工占比")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=len(SHARES), frameon=False, fontsize=10)


def _worst_first(lines: list[TallyLine]) -> list[TallyLine]:
    return sorted(lines, key=lambda line: (-line.overdue, line.rate, line.name))


def _together(name: str, lines: list[TallyLine]) -> TallyLine:
    total, done = sum(line.total for line in lines), sum(line.done for line in lines)
    overdue = sum(line.overdue for line in lines)
    return TallyLine(name=name, total=total, done=done, reported=sum(line.reported for line in lines),
                     overdue=overdue, rate=done / total if total else 0.0, light="red" if overdue else "yellow")


def _shares(line: TallyLine) -> tuple[int, int, int, int]:
    """Done, waiting for verification, open and not yet due, overdue: together the line's total."""
    waiting_overdue = max(0, line.overdue - (line.total - line.done - line.reported))
    reported = line.reported - waiting_overdue  # a report past its deadline is counted as overdue
    return line.done, reported, line.total - line.done - reported - line.overdue, line.overdue


def _trend(axes: Axes, points: list[WeekPoint]) -> None:
    """Overdue duties as bars, completion rate as a line on its own scale, a point per week."""
    weeks = [f"{point.week_of:%-m/%-d}" for point in points]
    rows = range(len(points))
    axes.bar(rows, [point.overdue for point in points], color=TREND_BAR, width=0.6, label="逾期分工（项）")
    axes.set_xticks(list(rows), weeks, rotation=45 if len(points) > 8 else 0, fontsize=9)
    axes.set_xlim(-0.6, max(len(points), MIN_TREND_SLOTS) - 0.4)  # a first week's bar as wide as a later one
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("逾期分工（项）")
    axes.set_xlabel("周报日期")
    rate = axes.twinx()
    rate.plot(rows, [point.rate for point in points], color=TREND_LINE, marker="o", label="完成率")
    rate.set_ylim(0, 1.05)
    rate.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    rate.set_ylabel("完成率")
    handles = [*axes.get_legend_handles_labels()[0], *rate.get_legend_handles_labels()[0]]
    axes.legend(handles, [h.get_label() for h in handles], loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2,
                frameon=False, fontsize=10)
    axes.set_title(f"逾期与完成率趋势（近{len(points)}周）", fontsize=12, loc="left")
    axes.spines["top"].set_visible(False)
    rate.spines["top"].set_visible(False)
