"""Live widgets for the lessons: progress bars, an event-loop lag meter and a task timeline.

Every widget updates from code running on the notebook's event loop, so it moves while the
cell awaits and freezes while something blocks the loop (which is the point of the lag
meter). Without a frontend (a plain Python process, pytest, nbgrader) the widgets still
measure and record everything; they only skip displaying themselves. Nothing here writes
to stderr.

    bars = course.widgets.ProgressBars(urls)
    pages = await asyncio.gather(*(bars.track(url, course.download(url), expected=1.0) for url in urls))

    async with course.widgets.LagMeter(interval=0.02) as meter:
        await work()
    meter.max_lag, meter.samples            # seconds; [(loop_time, lag), ...]

    async with course.widgets.TaskTimeline() as timeline:
        await work()                        # afterwards: a picture of when each task ran
"""
from __future__ import annotations

import asyncio
import contextvars
import html
import re
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Hashable, Iterable, TypeVar

from course.display import in_kernel
from course.display import show as show_in_notebook

T = TypeVar("T")

__all__ = ["ProgressBars", "LagMeter", "TaskTimeline", "TaskTrace"]


def _now() -> float:
    """The running loop's clock if there is one (so bars agree with loop time), else monotonic."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


# --------------------------------------------------------------------------- progress bars


class ProgressBars:
    """One live progress bar per label, for many tasks running at once.

        bars = ProgressBars(["a", "b", "c"])      # displays itself in a notebook
        bars.update("a", 0.5)                      # half way
        bars.done("a")                             # full and green
        bars.fail("b", error)                      # red, with the error
        result = await bars.track("c", course.download("c"), expected=1.0)

    `track` wraps an awaitable: its bar fills with the elapsed time (when you say how long
    it should take with `expected`), completes when the awaitable finishes, turns red if
    it raises and orange if it is cancelled; the result or exception passes through.
    Updating a label that has no bar yet adds one.
    """

    def __init__(self, labels: Iterable[Hashable] = (), *, title: str | None = None, display: bool = True) -> None:
        import ipywidgets as widgets

        self._widgets = widgets
        self.fractions: dict[Hashable, float] = {}
        self.states: dict[Hashable, str] = {}
        self._rows: dict[Hashable, tuple[Any, Any]] = {}
        self._started: dict[Hashable, float] = {}
        children = [widgets.HTML(f"<b>{html.escape(title)}</b>")] if title else []
        self.widget = widgets.VBox(children)
        for label in labels:
            self._add(label)
        if display:
            self.show()

    def show(self) -> None:
        """Display the bars (done automatically unless created with display=False)."""
        show_in_notebook(self.widget)

    @property
    def labels(self) -> list[Hashable]:
        return list(self._rows)

    @property
    def all_done(self) -> bool:
        return all(state == "done" for state in self.states.values())

    def _add(self, label: Hashable) -> None:
        widgets = self._widgets
        name = widgets.HTML(
            f"<code>{html.escape(str(label))}</code>",
            layout=widgets.Layout(width="16em", overflow="hidden"),
        )
        bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, layout=widgets.Layout(width="20em"))
        status = widgets.HTML("waiting", layout=widgets.Layout(width="16em"))
        self._rows[label] = (bar, status)
        self.fractions[label] = 0.0
        self.states[label] = "waiting"
        self.widget.children = (*self.widget.children, widgets.HBox([name, bar, status]))

    def _row(self, label: Hashable) -> tuple[Any, Any]:
        if label not in self._rows:
            self._add(label)
        return self._rows[label]

    def start(self, label: Hashable) -> None:
        """Mark `label` as running (its elapsed time counts from now)."""
        bar, status = self._row(label)
        self._started[label] = _now()
        self.states[label] = "running"
        bar.bar_style = "info"
        status.value = "running"

    def update(self, label: Hashable, fraction: float) -> None:
        """Set the bar of `label` to `fraction` (0.0 to 1.0, clamped)."""
        bar, status = self._row(label)
        if label not in self._started:
            self.start(label)
        fraction = min(1.0, max(0.0, float(fraction)))
        self.fractions[label] = fraction
        bar.value = fraction
        status.value = f"{fraction:.0%}"

    def _elapsed(self, label: Hashable) -> str:
        started = self._started.get(label)
        return "" if started is None else f" in {_now() - started:.2f} s"

    def done(self, label: Hashable) -> None:
        """Fill the bar of `label` and mark it done (green)."""
        bar, status = self._row(label)
        self.fractions[label] = 1.0
        self.states[label] = "done"
        bar.value = 1.0
        bar.bar_style = "success"
        status.value = f"done{self._elapsed(label)}"

    def fail(self, label: Hashable, error: BaseException | str | None = None) -> None:
        """Mark `label` as failed (red), showing the error if given."""
        bar, status = self._row(label)
        self.states[label] = "failed"
        bar.bar_style = "danger"
        reason = f": {type(error).__name__}" if isinstance(error, BaseException) else f": {error}" if error else ""
        status.value = html.escape(f"failed{reason}{self._elapsed(label)}")

    def cancelled(self, label: Hashable) -> None:
        """Mark `label` as cancelled (orange)."""
        bar, status = self._row(label)
        self.states[label] = "cancelled"
        bar.bar_style = "warning"
        status.value = f"cancelled{self._elapsed(label)}"

    async def track(self, label: Hashable, awaitable: Awaitable[T], *, expected: float | None = None,
                    tick: float = 0.05) -> T:
        """Await `awaitable`, showing its progress on the bar of `label`; returns its result.

        With `expected` (seconds of loop time it should take) the bar fills as time passes,
        stopping short of the end until the awaitable really finishes.
        """
        self.start(label)
        ticker = None
        if expected is not None and expected > 0:
            ticker = asyncio.ensure_future(self._tick(label, expected, tick))
        try:
            result = await awaitable
        except asyncio.CancelledError:
            self.cancelled(label)
            raise
        except BaseException as error:
            self.fail(label, error)
            raise
        finally:
            if ticker is not None:
                ticker.cancel()
                await asyncio.wait([ticker])  # leave no task behind (checks count them)
        self.done(label)
        return result

    async def _tick(self, label: Hashable, expected: float, tick: float) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            await asyncio.sleep(tick)
            self.update(label, min(0.99, (loop.time() - started) / expected))


# --------------------------------------------------------------------------- lag meter


class LagMeter:
    """Measure how late the event loop runs timers while a block of code runs.

        async with LagMeter(interval=0.02) as meter:
            await something()
        meter.max_lag      # worst lag, in seconds
        meter.samples      # [(loop_time, lag_seconds), ...]

    A helper task on the running loop sleeps `interval` seconds again and again and records
    how much later than asked it woke up. A loop that is free wakes it within a millisecond
    or so; code that blocks the loop (time.sleep, heavy computation) delays it by as long as
    it blocks. In a notebook a live widget shows the current and the worst lag while the
    block runs; it freezes while the loop is blocked, then jumps.

    The meter arms its first timer before the block starts and waits for one more sample
    after it ends, so a block that never gives the loop a chance to run is still measured.
    """

    def __init__(self, interval: float = 0.02, *, display: bool = True, scale: float = 0.1) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.interval = interval
        self.scale = scale  # lag (s) that fills the bar
        self.display = display
        self.samples: list[tuple[float, float]] = []
        self.max_lag = 0.0
        self.widget: Any = None
        self._task: asyncio.Task | None = None
        self._waiters: list[asyncio.Future] = []
        self._last_draw = float("-inf")

    @property
    def current_lag(self) -> float:
        return self.samples[-1][1] if self.samples else 0.0

    @property
    def mean_lag(self) -> float:
        return sum(lag for _, lag in self.samples) / len(self.samples) if self.samples else 0.0

    async def __aenter__(self) -> "LagMeter":
        loop = asyncio.get_running_loop()
        self.samples = []
        self.max_lag = 0.0
        self._build()
        if self.display:
            show_in_notebook(self.widget)
        started = loop.create_future()
        self._task = loop.create_task(self._measure(started), name="LagMeter")
        await started  # the first timer is armed: whatever the block does is measured
        return self

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        task = self._task
        try:
            if task is not None and not task.done() and (exc_type is None or issubclass(exc_type, Exception)):
                await self._next_sample()
        finally:
            if task is not None:
                task.cancel()
                await asyncio.wait([task])  # never raises the helper's CancelledError
            self._draw(final=True)
        return False

    async def _next_sample(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter

    async def _measure(self, started: asyncio.Future) -> None:
        loop = asyncio.get_running_loop()
        started.set_result(None)
        while True:
            asked = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            woke = loop.time()
            lag = max(0.0, woke - asked)
            self.samples.append((woke, lag))
            if lag > self.max_lag:
                self.max_lag = lag
                self._draw()
            elif woke - self._last_draw >= 0.1:
                self._draw()
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def _build(self) -> None:
        import ipywidgets as widgets

        layout = widgets.Layout(width="22em")
        self._now_bar = widgets.FloatProgress(value=0.0, min=0.0, max=self.scale * 1000, layout=layout)
        self._max_bar = widgets.FloatProgress(value=0.0, min=0.0, max=self.scale * 1000, layout=layout)
        self._now_text = widgets.HTML("")
        self._max_text = widgets.HTML("")
        self._summary = widgets.HTML(
            f"<b>Event-loop lag</b> (a timer every {self.interval * 1000:.0f} ms; "
            f"the bar is full at {self.scale * 1000:.0f} ms)"
        )
        label = widgets.Layout(width="5em")
        self.widget = widgets.VBox([
            self._summary,
            widgets.HBox([widgets.HTML("now", layout=label), self._now_bar, self._now_text]),
            widgets.HBox([widgets.HTML("max", layout=label), self._max_bar, self._max_text]),
        ])

    @staticmethod
    def _style(lag: float) -> str:
        return "success" if lag < 0.01 else "warning" if lag < 0.05 else "danger"

    def _draw(self, final: bool = False) -> None:
        if self.widget is None:
            return
        self._last_draw = self.samples[-1][0] if self.samples else self._last_draw
        now = self.current_lag
        top = self.scale * 1000
        self._now_bar.value = min(top, now * 1000)
        self._now_bar.bar_style = self._style(now)
        self._now_text.value = _ms(now)
        self._max_bar.value = min(top, self.max_lag * 1000)
        self._max_bar.bar_style = self._style(self.max_lag)
        self._max_text.value = _ms(self.max_lag)
        if final:
            self._summary.value = f"<b>Event-loop lag</b>: {html.escape(self.summary().split(': ', 1)[1])}"

    def summary(self) -> str:
        """One line for print(): worst and mean lag, and how many samples."""
        return (f"event-loop lag: worst {_ms(self.max_lag)}, mean {_ms(self.mean_lag)} over "
                f"{len(self.samples)} samples (a timer every {self.interval * 1000:.0f} ms)")

    def plot(self):
        """A matplotlib figure of the lag over time (see course.plots.lag)."""
        from course import plots

        return plots.lag(self.samples, interval=self.interval)


# --------------------------------------------------------------------------- task timeline

# The timelines whose block a context is inside (tasks inherit it from where they are created).
_ACTIVE_TIMELINES: contextvars.ContextVar[tuple["TaskTimeline", ...]] = contextvars.ContextVar(
    "course_task_timelines", default=()
)
_DEFAULT_TASK_NAME = re.compile(r"Task-\d+")


def _task_types() -> tuple[type, ...]:
    """Every Task class a loop may be running: nest_asyncio swaps asyncio.Task for the pure-Python
    one, while tasks created before (like a notebook cell's own task) keep the C class."""
    types = {asyncio.Task, asyncio.tasks._PyTask}
    try:
        import _asyncio

        types.add(_asyncio.Task)
    except ImportError:  # pragma: no cover - CPython always has it
        pass
    return tuple(types)


_TASK_TYPES = _task_types()


@dataclass
class TaskTrace:
    """What one task did during a TaskTimeline block, in loop time.

    running: the steps it ran (the loop was busy with this task);
    waiting: it had suspended at an `await` and waited for something (a timer, I/O, a task);
    queued:  it was ready to continue but waited for the loop to get to it.
    """

    name: str
    running: list[tuple[float, float]] = field(default_factory=list)
    waiting: list[tuple[float, float]] = field(default_factory=list)
    queued: list[tuple[float, float]] = field(default_factory=list)
    finished: float | None = None

    @property
    def busy(self) -> float:
        """Seconds this task held the loop."""
        return sum(end - start for start, end in self.running)


class _Raw:
    def __init__(self, name: str, created: float) -> None:
        self.name = name
        self.ready: float | None = created
        self.steps: list[tuple[float, float, float]] = []  # (ready, start, end)
        self.current: tuple[float, float] | None = None  # (ready, start) of a step now running


class TaskTimeline:
    """Record when each task ran and when it waited, then draw it.

        async with TaskTimeline() as timeline:
            await your_code()
        # a figure appears: running = solid, waiting = light, ready but queued = hatched

    Every task created inside the block (and the task running the block itself, shown as
    "this cell") is traced: each step a task runs on the event loop becomes a solid bar,
    the time it spends suspended at an `await` a light one. Tasks created outside the block
    are left out. Afterwards `timeline.tasks` holds a TaskTrace per task, `timeline.start`
    and `timeline.end` the loop times of the block, and `timeline.figure()` the picture.

    It works by wrapping the callbacks the loop schedules for the tasks (loop.call_soon)
    while the block runs; nothing else about your code changes.
    """

    def __init__(self, *, display: bool = True, title: str | None = None) -> None:
        self.display = display
        self.title = title
        self.tasks: list[TaskTrace] = []
        self.start = self.end = 0.0
        self._raw: dict[asyncio.Task, _Raw] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._recording = False

    async def __aenter__(self) -> "TaskTimeline":
        loop = self._loop = asyncio.get_running_loop()
        self._raw = {}
        self.tasks = []
        self.start = loop.time()
        self._main = asyncio.current_task()
        self._token = _ACTIVE_TIMELINES.set((*_ACTIVE_TIMELINES.get(), self))
        self._had_own = "call_soon" in vars(loop)
        self._previous = loop.call_soon
        loop.call_soon = self._call_soon  # type: ignore[method-assign]
        self._recording = True
        if self._main is not None:
            self._raw[self._main] = _Raw("this cell", self.start)
        await asyncio.sleep(0)  # let the rest of this task's step be recorded
        return self

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        loop = self._loop
        self.end = loop.time()
        self._recording = False
        if vars(loop).get("call_soon") == self._call_soon:
            if self._had_own:
                loop.call_soon = self._previous  # type: ignore[method-assign]
            else:
                del loop.call_soon
        _ACTIVE_TIMELINES.reset(self._token)
        self.tasks = self._traces()
        if self.display and in_kernel():
            show_in_notebook(self.figure())
        return False

    def _traced(self, task: asyncio.Task, context: contextvars.Context | None) -> bool:
        if task in self._raw:
            return True
        inside = (context if context is not None else contextvars.copy_context()).get(_ACTIVE_TIMELINES, ())
        if self not in inside:
            return False
        self._raw[task] = _Raw("", self._loop.time())  # named at the end: create_task names it after this
        return True

    @staticmethod
    def _task_name(task: asyncio.Task) -> str:
        name = task.get_name()
        if not _DEFAULT_TASK_NAME.fullmatch(name):
            return name
        coro = task.get_coro()
        return getattr(coro, "__qualname__", None) or getattr(coro, "__name__", None) or name

    def _call_soon(self, callback, *args, context=None):
        task = getattr(callback, "__self__", None)
        if self._recording and isinstance(task, _TASK_TYPES) and self._traced(task, context):
            raw = self._raw[task]
            if raw.ready is None:
                raw.ready = self._loop.time()
            callback = self._wrap(callback, raw)
        return self._previous(callback, *args, context=context)

    def _wrap(self, callback, raw: _Raw):
        loop = self._loop

        def step(*args):
            ready, raw.ready = raw.ready, None
            start = loop.time()
            ready = start if ready is None else ready
            raw.current = (ready, start)
            try:
                return callback(*args)
            finally:
                raw.current = None
                raw.steps.append((ready, start, loop.time()))

        step.__self__ = callback.__self__  # so an enclosing TaskTimeline sees the task too
        return step

    def _traces(self) -> list[TaskTrace]:
        start, end = self.start, self.end

        def clip(a: float, b: float) -> tuple[float, float] | None:
            a, b = max(a, start), min(b, end)
            return (a, b) if b > a else None

        traces = []
        for task, raw in self._raw.items():
            trace = TaskTrace(raw.name or self._task_name(task))
            previous_end = None
            steps = list(raw.steps)
            if raw.current is not None:  # the step running the end of the block
                steps.append((*raw.current, end))
            for ready, begin, finish in steps:
                if previous_end is not None and (span := clip(previous_end, ready)):
                    trace.waiting.append(span)
                if span := clip(ready, begin):
                    trace.queued.append(span)
                if span := clip(begin, finish):
                    trace.running.append(span)
                previous_end = finish
            if task.done() and steps and steps[-1][2] <= end:
                trace.finished = steps[-1][2]
            elif previous_end is not None and (span := clip(previous_end, end)):
                trace.waiting.append(span)
            if steps or task is self._main:
                traces.append(trace)
        seen: dict[str, int] = {}
        for trace in traces:  # tell apart tasks running the same coroutine function
            seen[trace.name] = seen.get(trace.name, 0) + 1
            if seen[trace.name] > 1:
                trace.name = f"{trace.name} #{seen[trace.name]}"
        return traces

    def figure(self, title: str | None = None):
        """The timeline as a matplotlib figure (see course.plots.task_timeline)."""
        from course import plots

        return plots.task_timeline(self.tasks, start=self.start, end=self.end, title=title or self.title)
