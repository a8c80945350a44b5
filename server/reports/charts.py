"""The 통계 charts, drawn on the server with matplotlib: SVG for the page,
PNG for the PDF, from the same figure code.

Korean needs a font with Hangul: Debian's fonts-nanum (NanumGothic). In the
SVG the letters are drawn as paths, so the browser needs no font of its own
and the page loads nothing from outside. matplotlib is used through its
object API (``Figure``), never pyplot, so requests in threads cannot share a
figure. Without NanumGothic the charts still draw (with boxes for Hangul)
and the server logs once what to install.
"""

from __future__ import annotations

import functools
import io
import logging
from pathlib import Path

log = logging.getLogger(__name__)

FONT_PATHS = (Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf"),
              Path("/usr/share/fonts/truetype/nanum/NanumBarunGothic.ttf"))
DAY_COLOUR, BEFORE_COLOUR, ANSWER_COLOUR, MUTED = "#1f5fbf", "#b8c4d6", "#2e8b57", "#c0392b"


@functools.cache
def korean_font() -> Path | None:
    """NanumGothic's file, or None (logged once) when fonts-nanum is missing."""
    for path in FONT_PATHS:
        if path.is_file():
            return path
    log.warning("fonts-nanum is not installed: charts show Hangul as boxes and the PDF report is "
                "refused (apt-get install fonts-nanum)")
    return None


@functools.cache
def _setup() -> str:
    import matplotlib
    from matplotlib import font_manager
    matplotlib.rcParams.update({"svg.fonttype": "path", "svg.hashsalt": "mobile-ars",
                                "axes.spines.top": False, "axes.spines.right": False,
                                "font.size": 10})
    path = korean_font()
    if path is None:
        return "DejaVu Sans"
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def _figure(width: float, height: float):
    from matplotlib.figure import Figure
    family = _setup()
    figure = Figure(figsize=(width, height), layout="constrained")
    figure.set_facecolor("white")
    return figure, family


def _render(figure, fmt: str) -> bytes:
    out = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {}
    figure.savefig(out, format=fmt, dpi=160, metadata=metadata)
    return out.getvalue()


def _counts_axis(ax, highest: int) -> None:
    """A y axis of whole counts from 0 (an empty period shows 0 to 1, never
    negative counts around zero)."""
    from matplotlib.ticker import MaxNLocator
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(1, highest) * 1.12)


def hourly(rows: list[dict], tr, *, day_label: str, before_label: str, fmt: str = "svg") -> bytes:
    """Calls per Seoul hour on the day against the day before, answers of the
    day as a line."""
    import numpy as np
    figure, family = _figure(9, 3.2)
    ax = figure.add_subplot()
    hours = np.arange(24)
    ax.bar(hours - 0.2, [r["before_calls"] for r in rows], 0.4, color=BEFORE_COLOUR,
           label=f"{tr('전일')} {before_label}")
    ax.bar(hours + 0.2, [r["day_calls"] for r in rows], 0.4, color=DAY_COLOUR,
           label=f"{tr('기준일')} {day_label}")
    ax.plot(hours + 0.2, [r["day_answered"] for r in rows], color=ANSWER_COLOUR, marker="o", markersize=3,
            linewidth=1.5, label=f"{tr('기준일')} {tr('응답')}")
    ax.set_xticks(hours, [f"{h:02d}" for h in hours], fontfamily=family)
    ax.set_xlabel(tr("시간대"), fontfamily=family)
    ax.set_ylabel(tr("발신"), fontfamily=family)
    _counts_axis(ax, max((max(r["before_calls"], r["day_calls"]) for r in rows), default=0))
    ax.legend(prop={"family": family}, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=3)
    ax.grid(axis="y", color="#e5e5e5")
    ax.set_axisbelow(True)
    return _render(figure, fmt)


def bars(labels_: list[str], values: list[int], tr, *, colour: str = DAY_COLOUR,
         fmt: str = "svg") -> bytes:
    """A horizontal bar per label with its count written beside it."""
    figure, family = _figure(6, max(1.6, 0.42 * len(labels_) + 0.9))
    ax = figure.add_subplot()
    if not labels_:
        ax.text(0.5, 0.5, tr("기록이 없습니다."), ha="center", va="center", fontfamily=family,
                transform=ax.transAxes)
        ax.set_axis_off()
        return _render(figure, fmt)
    positions = list(range(len(labels_)))[::-1]
    drawn = ax.barh(positions, values, color=colour)
    ax.bar_label(drawn, labels=[f"{v:,}" for v in values], padding=3, fontfamily=family)
    ax.set_yticks(positions, [tr(text) for text in labels_], fontfamily=family)
    ax.set_xlim(0, max(values) * 1.15 or 1)
    ax.xaxis.set_visible(False)
    ax.spines["bottom"].set_visible(False)
    return _render(figure, fmt)


def agents(rows: list[dict], tr, *, fmt: str = "svg") -> bytes:
    """Per agent line: rung, answered, no answer."""
    import numpy as np
    figure, family = _figure(9, 2.8)
    ax = figure.add_subplot()
    if not rows:
        ax.text(0.5, 0.5, tr("기록이 없습니다."), ha="center", va="center", fontfamily=family,
                transform=ax.transAxes)
        ax.set_axis_off()
        return _render(figure, fmt)
    x = np.arange(len(rows))
    for offset, key, colour, label in ((-0.27, "rung", BEFORE_COLOUR, "호출"), (0, "answered", DAY_COLOUR, "응답"),
                                       (0.27, "no_answer", MUTED, "무응답")):
        drawn = ax.bar(x + offset, [r[key] for r in rows], 0.27, color=colour, label=tr(label))
        ax.bar_label(drawn, padding=2, fontfamily=family, fontsize=8)
    ax.set_xticks(x, [f"{r['extension']} {r['name']}".strip() for r in rows], fontfamily=family)
    _counts_axis(ax, max((max(r["rung"], r["answered"], r["no_answer"]) for r in rows), default=0))
    ax.legend(prop={"family": family}, frameon=False)
    ax.grid(axis="y", color="#e5e5e5")
    ax.set_axisbelow(True)
    return _render(figure, fmt)


CHARTS = ("hourly", "results", "failures", "agents")


@functools.cache
def _lock():
    from ..jobs import real_lock
    return real_lock()


def page_chart(name: str, stats, tr, *, fmt: str = "svg") -> bytes:
    """One chart of the 통계 page (and of the PDF) by name; one drawn at a
    time (matplotlib's font cache and settings are shared by threads)."""
    with _lock():
        return _page_chart(name, stats, tr, fmt)


def _page_chart(name: str, stats, tr, fmt: str) -> bytes:
    if name == "hourly":
        return hourly(stats.hourly, tr, day_label=stats.day.isoformat(),
                      before_label=stats.day_before.isoformat(), fmt=fmt)
    if name == "results":
        return bars([r["label"] for r in stats.by_result], [r["calls"] for r in stats.by_result], tr, fmt=fmt)
    if name == "failures":
        return bars([r["cause"] for r in stats.failures], [r["calls"] for r in stats.failures], tr,
                    colour=MUTED, fmt=fmt)
    if name == "agents":
        return agents(stats.by_agent, tr, fmt=fmt)
    raise KeyError(name)


def page_charts(stats, tr, *, fmt: str = "svg") -> dict[str, bytes]:
    return {name: page_chart(name, stats, tr, fmt=fmt) for name in CHARTS}
