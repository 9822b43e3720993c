"""Recording what the course's services do: the one module of `course` the autograder reads.

Every call to a simulated service is a `CallRecord` (name, key, start, end, thread) kept by
the `Recorder` of the event loop it runs on, so lessons can draw timelines and the autograder
can measure overlap. Blocking twins of the services are registered here too, so the
autograder can name them when they run on an event loop's thread.
"""
from __future__ import annotations

import asyncio
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Callable

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
