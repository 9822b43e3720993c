"""Support code for the first three lessons: text timelines and a simulated slow archive.

* `timeline(rows)` draws when each piece of work ran, one row each, from
  `(label, start, end)` tuples or from the services' `CallRecord`s. The lessons use it
  for real measurements (blocking calls, callbacks on the kernel's loop) and for the
  virtual clock of the event loop the students build by hand.
* `Archive` is a slow store with an async `save`: awaiting it takes `latency` seconds of
  loop time. Like every course service it records each call and waits with
  `loop.call_later`, so it follows whichever clock the loop keeps.
* `uses_your_code(...)` wraps a lesson demo that runs the student's exercise code, so that
  the demo says "solve the exercise first" instead of failing while it is unsolved.
* `task_states()` and `loop_parts(...)` draw a task's states and the parts of an event loop.
"""
from __future__ import annotations

import asyncio
import gc
import inspect
import traceback
import warnings
from types import TracebackType
from typing import Iterable, Sequence, Union

from course.services import CallRecord, recorder_for

Row = Union[CallRecord, Sequence]


def _as_span(row: Row) -> tuple[str, float, float]:
    if isinstance(row, CallRecord):
        end = row.end if row.end is not None else row.start
        return f"{row.name}({row.key!r})", row.start, end
    label, start, end = row
    return str(label), float(start), float(end)


def timeline(rows: Iterable[Row], width: int = 40, unit: str = "s", limit: int = 20) -> str:
    """A text picture of when each row ran: `label |   ####    | start -> end`.

    `rows` holds `(label, start, end)` tuples or `CallRecord`s; times are measured from
    the earliest start.

    >>> print(timeline([("a", 0, 1), ("b", 0, 2)], width=8))
      a |####    | 0.00s -> 1.00s
      b |########| 0.00s -> 2.00s
         0s 2.00s
    """
    spans = [_as_span(row) for row in rows]
    if not spans:
        return "(nothing ran)"
    origin = min(start for _, start, _ in spans)
    span = max(max(end for _, _, end in spans) - origin, 1e-9)
    shown = spans[:limit]
    label_width = min(max(len(label) for label, _, _ in shown), 32)
    lines = []
    for label, start, end in shown:
        first = min(width - 1, round((start - origin) / span * width))
        last = max(first + 1, round((end - origin) / span * width))
        bar = " " * first + "#" * (last - first) + " " * (width - last)
        lines.append(f"  {label[:label_width].ljust(label_width)} |{bar}| "
                     f"{start - origin:.2f}{unit} -> {end - origin:.2f}{unit}")
    if len(spans) > limit:
        lines.append(f"  ... and {len(spans) - limit} more")
    last_label = f"{span:.2f}{unit}"
    scale = f"0{unit}" + " " * max(1, width - len(unit) - 1 - len(last_label)) + last_label
    lines.append(f"  {'':{label_width}}  {scale}")
    return "\n".join(lines)


class Archive:
    """A simulated slow store: `await archive.save(key, value)` takes `latency` seconds.

    What was saved is in `archive.saved` (a dict), in the order the saves finished.
    Each save is recorded as a call named "save" by the loop's recorder.
    """

    def __init__(self, latency: float = 0.5) -> None:
        self.latency = latency
        self.saved: dict = {}

    def __repr__(self) -> str:
        return f"Archive(latency={self.latency}, saved={len(self.saved)} items)"

    async def save(self, key: object, value: object) -> None:
        """Store `value` under `key`, after `latency` seconds of loop time."""
        loop = asyncio.get_running_loop()
        recorder = recorder_for(loop)
        record = recorder.begin("save", key)
        ready = loop.create_future()
        timer = loop.call_later(self.latency, _resolve, ready)
        try:
            await ready
        finally:
            timer.cancel()
            recorder.end(record)
        self.saved[key] = value


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


class uses_your_code:
    """Run a lesson demo that uses the student's exercise code, whether or not it works yet.

        with uses_your_code("Task and EventLoop (exercises 2 and 3)"):
            print(loop.run_until_complete(...))

    If the code raises (an unsolved exercise raises NotImplementedError), the demo stops
    with one line on stdout that says which exercise it needs, and whatever the failed demo
    left behind (coroutines it made but never ran) is dropped quietly, so nothing reaches
    stderr. `async with uses_your_code(..., timeout=5)` also stops a demo that waits forever.
    """

    def __init__(self, what: str, *, timeout: float | None = None) -> None:
        self.what = what
        self.timeout = timeout
        self._deadline: asyncio.Timeout | None = None

    def __enter__(self) -> "uses_your_code":
        self._before = _unstarted_coroutines()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> bool:
        if error is None or not isinstance(error, Exception):
            return False
        reason = "waited too long" if isinstance(error, TimeoutError) and self._deadline else \
            f"raised {type(error).__name__}: {error}".rstrip(": ")
        print(f"This demo runs your {self.what}, which {reason}. "
              "Run this cell again once that exercise passes its tests.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # coroutines the failed demo made and never ran
            traceback.clear_frames(trace)
            del error, trace
            gc.collect()
        for coroutine in _unstarted_coroutines() - self._before:
            coroutine.close()  # still held by a variable (a loop's queue, say): closed, it never warns
        return True

    async def __aenter__(self) -> "uses_your_code":
        self.__enter__()
        if self.timeout is not None:
            self._deadline = asyncio.timeout(self.timeout)
            await self._deadline.__aenter__()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> bool:
        if self._deadline is not None:
            try:
                await self._deadline.__aexit__(kind, error, trace)
            except TimeoutError as timed_out:
                return self.__exit__(TimeoutError, timed_out, timed_out.__traceback__)
        return self.__exit__(kind, error, trace)


def _unstarted_coroutines() -> set:
    """Every coroutine object that exists and has not started running."""
    return {obj for obj in gc.get_objects()
            if inspect.iscoroutine(obj) and inspect.getcoroutinestate(obj) == inspect.CORO_CREATED}


def task_states():
    """A diagram of the states of a task and the moves between them (a matplotlib figure)."""
    from course.plots import CourseFigure

    figure = CourseFigure(figsize=(9, 3.4), layout="constrained")
    ax = figure.add_subplot()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 4)
    ax.axis("off")
    boxes = {
        "created": (0.9, 2.9, "#eeeeee", "created\n(coroutine made,\nnot yet scheduled)"),
        "ready": (3.6, 2.9, "#cfe8ff", "ready\n(its step is in\nthe ready queue)"),
        "running": (6.3, 2.9, "#c8f0c8", "running\n(the loop runs its\nstep: send / throw)"),
        "waiting": (6.3, 0.8, "#fff1c2", "waiting\n(suspended at await,\non a future or timer)"),
        "done": (9.0, 2.9, "#e5d4f5", "done\n(result, exception\nor cancelled)"),
    }
    for x, y, color, text in boxes.values():
        ax.text(x, y, text, ha="center", va="center", fontsize=9,
                bbox={"boxstyle": "round,pad=0.5", "facecolor": color, "edgecolor": "#555555"})
    arrows = [
        ((1.7, 2.9), (2.8, 2.9), "create_task"),
        ((4.4, 2.9), (5.5, 2.9), "loop's turn"),
        ((7.1, 2.9), (8.2, 2.9), "return / raise"),
        ((6.3, 2.3), (6.3, 1.45), "await a pending\nfuture"),
        ((5.6, 0.9), (3.7, 2.3), "future done:\nwake-up (call_soon)"),
        ((5.7, 3.35), (4.2, 3.35), "bare yield\n(sleep(0))"),
    ]
    for start, end, label in arrows:
        ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "color": "#333333"})
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.22, label, ha="center",
                va="bottom", fontsize=8, color="#333333")
    ax.set_title("The states of a task")
    return figure


def loop_parts(ready: Sequence[str] = (), timers: Sequence[tuple[float, str]] = (),
               waiting: Sequence[str] = (), now: float = 0.0, title: str | None = None):
    """A diagram of an event loop's parts, filled with what a loop holds at one moment.

    `ready` labels the callbacks in the ready queue (in order), `timers` the timers as
    `(due time, label)`, `waiting` the tasks suspended on futures (where the selector
    would wait for sockets in a real loop); `now` is the loop's clock.
    """
    from course.plots import CourseFigure

    figure = CourseFigure(figsize=(9, 4.4), layout="constrained")
    ax = figure.add_subplot()
    ax.set_xlim(0, 12)
    ax.set_ylim(-1.6, 5)
    ax.axis("off")

    def panel(x: float, width: float, heading: str, rows: Sequence[str], color: str) -> None:
        ax.add_patch(_rounded(x, 0.6, width, 3.7, color))
        ax.text(x + width / 2, 4.0, heading, ha="center", va="center", fontsize=10, weight="bold")
        shown = list(rows[:6]) + ([f"... {len(rows) - 6} more"] if len(rows) > 6 else [])
        for index, row in enumerate(shown or ["(empty)"]):
            ax.text(x + 0.15, 3.4 - 0.45 * index, row, ha="left", va="center", fontsize=8, family="monospace")

    panel(0.1, 3.4, "ready queue (deque)", [f"{i + 1}. {label}" for i, label in enumerate(ready)], "#cfe8ff")
    panel(4.2, 3.4, "timers (heap)", [f"{when:g}s  {label}" for when, label in sorted(timers)], "#fff1c2")
    panel(8.3, 3.6, "selector / futures", [f"waits: {label}" for label in waiting], "#e5d4f5")
    arrow = {"arrowstyle": "->", "color": "#333333", "lw": 1.4}
    ax.annotate("", xy=(2.2, 0.55), xytext=(5.9, 0.55), arrowprops={**arrow, "connectionstyle": "arc3,rad=-0.35"})
    ax.text(5.7, -0.05, "due: moved to the ready queue", ha="left", fontsize=8)
    ax.annotate("", xy=(1.4, 0.55), xytext=(10.1, 0.55), arrowprops={**arrow, "connectionstyle": "arc3,rad=-0.3"})
    ax.text(6.5, -1.35, "done (or a socket is ready): the waiting task's wake-up is queued", ha="center", fontsize=8)
    ax.text(6.0, 4.7, f"one turn at t={now:g}s: if nothing is ready, sleep until the first timer or I/O "
            "(the selector); move due timers to the ready queue; run what is ready",
            ha="center", va="center", fontsize=8.5)
    ax.set_title(title or "The parts of an event loop")
    return figure


def _rounded(x: float, y: float, width: float, height: float, color: str):
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0.05", facecolor=color, edgecolor="#555555")
