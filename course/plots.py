"""Matplotlib pictures for the lessons: service calls as a Gantt chart, task timelines, loop lag.

Every function returns a figure that shows itself when it is the last value of a notebook
cell (or pass it to `show`). The figures are made without pyplot, so drawing many of them
keeps no global state and prints no warnings.

    report = autograder.run(fetch_all, urls)
    course.plots.timeline(report.calls)         # one bar per call, from start to end
"""
from __future__ import annotations

import io
import logging
from typing import Iterable, Sequence


def _import_matplotlib_quietly() -> None:
    """Import matplotlib without its warnings on stderr.

    On first use it may announce that it is building its font cache, and where the home
    folder is read-only (a grading sandbox) that it made a temporary config folder; both go
    to stderr, which nbgrader counts against a test cell.
    """
    logger = logging.getLogger("matplotlib")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        import matplotlib.figure  # noqa: F401  (builds the font cache on first use)
        import matplotlib.font_manager  # noqa: F401
    finally:
        logger.setLevel(level)


_import_matplotlib_quietly()

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from course.display import show as show_in_notebook  # noqa: E402

__all__ = ["CourseFigure", "timeline", "task_timeline", "lag", "show"]

_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
_MAX_LABEL = 28


class CourseFigure(Figure):
    """A matplotlib Figure that renders itself as a PNG in a notebook."""

    def _repr_png_(self) -> bytes:
        return self.png()

    def png(self, dpi: int = 100) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
        return buffer.getvalue()


def show(figure: Figure) -> None:
    """Display `figure` in the notebook (does nothing outside a Jupyter kernel)."""
    if isinstance(figure, CourseFigure):
        show_in_notebook(figure)
    else:
        from IPython.display import Image

        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", bbox_inches="tight")
        show_in_notebook(Image(data=buffer.getvalue()))


def _short(text: str) -> str:
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1] + "…"


def _figure(rows: int) -> tuple[CourseFigure, object]:
    figure = CourseFigure(figsize=(9, 1.5 + 0.32 * max(rows, 1)), layout="constrained")
    return figure, figure.add_subplot()


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_yticks([])


def timeline(calls: Iterable, *, title: str | None = None, unit: str = "s") -> CourseFigure:
    """A Gantt chart of course.services.CallRecord objects (e.g. autograder Report.calls).

    One row per call, labelled `name(key)`, a bar from its start to its end (loop time,
    counted from the first call's start); one colour per service. A call that never ended
    is drawn hatched up to the last moment recorded. Calls made from different threads
    get their thread number on the right.
    """
    calls = sorted(calls, key=lambda call: call.start)
    figure, ax = _figure(len(calls))
    ax.set_title(title or "Service calls over time")
    if not calls:
        _empty(ax, "no calls recorded")
        return figure
    scale = 1000.0 if unit == "ms" else 1.0
    origin = calls[0].start
    last = max(max(call.start, call.end or call.start) for call in calls)
    names = list(dict.fromkeys(call.name for call in calls))
    threads = list(dict.fromkeys(call.thread_id for call in calls))
    for row, call in enumerate(calls):
        color = _COLORS[names.index(call.name) % len(_COLORS)]
        end = call.end if call.end is not None else last
        width = max((end - call.start) * scale, 0.0)
        ax.barh(row, width, left=(call.start - origin) * scale, height=0.6, color=color,
                hatch=None if call.end is not None else "//", alpha=1.0 if call.end is not None else 0.5)
        if len(threads) > 1:
            ax.annotate(f"thread {threads.index(call.thread_id) + 1}", (1.0, row), xycoords=("axes fraction", "data"),
                        xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(range(len(calls)), [_short(f"{call.name}({call.key!r})") for call in calls])
    ax.invert_yaxis()
    ax.set_xlabel(f"time since the first call ({unit})")
    ax.set_xlim(left=0)
    ax.grid(axis="x", alpha=0.3)
    if len(names) > 1:
        ax.legend(handles=[Patch(color=_COLORS[i % len(_COLORS)], label=name) for i, name in enumerate(names)],
                  loc="lower right", fontsize=8)
    return figure


def task_timeline(tasks: Sequence, *, start: float, end: float, title: str | None = None) -> CourseFigure:
    """Draw course.widgets.TaskTrace objects: running = solid, waiting = light, queued = hatched.

    Time runs from `start` to `end` (loop time), shown in milliseconds from `start`.
    """
    figure, ax = _figure(len(tasks))
    ax.set_title(title or "When each task ran (solid) and waited (light)")
    if not tasks:
        _empty(ax, "no tasks ran")
        return figure
    thinnest = max(end - start, 1e-6) * 1000 * 0.002  # keep very short steps visible
    for row, task in enumerate(tasks):
        color = _COLORS[row % len(_COLORS)]

        def bars(spans, **style):
            if spans:
                ax.broken_barh([((a - start) * 1000, max((b - a) * 1000, thinnest)) for a, b in spans],
                               (row - 0.3, 0.6), **style)

        bars(task.waiting, facecolors=color, alpha=0.2)
        bars(task.queued, facecolors="white", edgecolors="#d62728", hatch="///", linewidth=0)
        bars(task.running, facecolors=color)
        if task.finished is not None:
            ax.plot([(task.finished - start) * 1000], [row], marker="|", color="black", markersize=12)
    ax.set_yticks(range(len(tasks)), [_short(task.name) for task in tasks])
    ax.set_ylim(len(tasks) - 0.5, -0.5)
    ax.set_xlim(0, max((end - start) * 1000, 1e-3))
    ax.set_xlabel("time since the block started (ms)")
    ax.grid(axis="x", alpha=0.3)
    figure.legend(handles=[
        Patch(facecolor="#555555", label="running (holds the loop)"),
        Patch(facecolor="#555555", alpha=0.2, label="waiting at an await"),
        Patch(facecolor="white", edgecolor="#d62728", hatch="///", label="ready, waiting for the loop"),
        Line2D([], [], marker="|", color="black", linestyle="none", markersize=10, label="finished"),
    ], loc="outside lower center", ncols=4, fontsize=8, frameon=False)
    return figure


def lag(samples: Sequence[tuple[float, float]], *, interval: float | None = None,
        title: str | None = None) -> CourseFigure:
    """Event-loop lag over time from course.widgets.LagMeter samples [(loop_time, lag_s), ...]."""
    figure = CourseFigure(figsize=(9, 2.8), layout="constrained")
    ax = figure.add_subplot()
    ax.set_title(title or "Event-loop lag: how late a timer fired")
    if not samples:
        _empty(ax, "no samples")
        return figure
    origin = samples[0][0]
    xs = [(t - origin) * 1000 for t, _ in samples]
    ys = [value * 1000 for _, value in samples]
    ax.vlines(xs, 0, ys, linewidth=1.5)
    ax.plot(xs, ys, "o", markersize=3)
    ax.set_xlabel("time (ms)" + (f", one sample every {interval * 1000:.0f} ms when the loop is free" if interval else ""))
    ax.set_ylabel("lag (ms)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    return figure
