"""Simulated services with latency, each with a blocking twin and a callback twin.

Every call is recorded (name, key, start, end, thread) by the `Recorder` of the event
loop it runs on, so lessons can draw timelines and the autograder can measure overlap.
The latency is scheduled with `loop.call_later`, never with `asyncio.sleep`, so it
follows whichever clock the loop keeps (the autograder's loop keeps a virtual one).
"""
from __future__ import annotations

import asyncio
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Callable

DEFAULT_LATENCY = 1.0

#: Blocking twins of the course's async services: code object -> (name, hint for the student).
#: The autograder flags a call to any of them made on an event loop's thread.
BLOCKING_TWINS: dict[object, tuple[str, str]] = {}


def blocking_twin(name: str, hint: str) -> Callable[[Callable], Callable]:
    """Mark a function as the blocking twin of an async service (see BLOCKING_TWINS)."""

    def mark(func: Callable) -> Callable:
        BLOCKING_TWINS[func.__code__] = (name, hint)
        return func

    return mark


@dataclass
class CallRecord:
    """One call to a simulated service: when it started and ended, in its loop's time."""

    name: str
    key: object
    start: float
    end: float | None = None
    thread_id: int = field(default_factory=threading.get_ident)

    @property
    def done(self) -> bool:
        return self.end is not None


class Recorder:
    """Collects the calls made to the simulated services and the peak number in flight."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.calls: list[CallRecord] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self._lock = threading.Lock()

    def begin(self, name: str, key: object) -> CallRecord:
        with self._lock:
            record = CallRecord(name, key, self.clock())
            self.calls.append(record)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            return record

    def end(self, record: CallRecord) -> None:
        with self._lock:
            record.end = self.clock()
            self.in_flight -= 1

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
            self.in_flight = self.peak_in_flight = 0


_recorders: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Recorder]" = weakref.WeakKeyDictionary()
_blocking_recorder = Recorder()


def recorder_for(loop: asyncio.AbstractEventLoop) -> Recorder:
    """The recorder of `loop`, created on first use with the loop's own clock."""
    recorder = _recorders.get(loop)
    if recorder is None:
        recorder = _recorders[loop] = Recorder(loop.time)
    return recorder


def attach_recorder(loop: asyncio.AbstractEventLoop, recorder: Recorder) -> None:
    """Make `recorder` the one that calls on `loop` report to (used by the autograder)."""
    _recorders[loop] = recorder


def blocking_recorder() -> Recorder:
    """The recorder of the blocking twins, which run on no event loop."""
    return _blocking_recorder


def _page(url: str) -> str:
    return f"<html>{url}</html>"


def _page_or_error(url: str) -> str:
    """The simulated web: a URL containing "missing" is a 404, any other one a page."""
    if "missing" in url:
        raise LookupError(f"404 not found: {url}")
    return _page(url)


async def download(url: str, latency: float = DEFAULT_LATENCY) -> str:
    """Fetch `url` from the simulated web: `latency` seconds of loop time, never blocks.

    A URL that contains "missing" raises LookupError (a 404), after the same latency.
    """
    loop = asyncio.get_running_loop()
    recorder = recorder_for(loop)
    record = recorder.begin("download", url)
    ready = loop.create_future()
    timer = loop.call_later(latency, _resolve, ready)
    try:
        await ready
    finally:
        timer.cancel()
        recorder.end(record)
    return _page_or_error(url)


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


@blocking_twin("course.download_blocking()", "use `await course.download(url)`, its asyncio twin")
def download_blocking(url: str, latency: float = DEFAULT_LATENCY) -> str:
    """The blocking twin of `download`: holds the calling thread for `latency` seconds."""
    recorder = _blocking_recorder
    record = recorder.begin("download_blocking", url)
    try:
        time.sleep(latency)
    finally:
        recorder.end(record)
    return _page_or_error(url)


def download_with_callback(
    url: str,
    on_done: Callable[[str | None, Exception | None], None],
    latency: float = DEFAULT_LATENCY,
) -> None:
    """The callback twin of `download`: returns at once, later calls `on_done(page, None)`.

    A URL that contains "missing" fails: `on_done(None, LookupError(...))`.
    Must be called from code running on an event loop.
    """
    loop = asyncio.get_running_loop()
    recorder = recorder_for(loop)
    record = recorder.begin("download_with_callback", url)

    def finish() -> None:
        recorder.end(record)
        try:
            page = _page_or_error(url)
        except LookupError as error:
            on_done(None, error)
        else:
            on_done(page, None)

    loop.call_later(latency, finish)
