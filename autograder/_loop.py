"""The autograder's private event loop, with a virtual or a real clock.

With the virtual clock, time stands still while code runs and jumps straight to the next
timer when every task is waiting, so "ten 1-second downloads at once" take exactly 1.0 s
of loop time, at once and on any machine. While executor work or real I/O is pending the
loop waits for it for real, without moving the virtual clock.

The class takes its running machinery from `asyncio.base_events.BaseEventLoop` directly, so
a student's `nest_asyncio.apply()` (which patches the kernel loop's class) cannot change it.
"""
from __future__ import annotations

import asyncio
import selectors
import time
from asyncio import base_events
from typing import Literal

Clock = Literal["virtual", "real"]

#: Longest real wait in one select, so deadlines are noticed while waiting for real events.
_REAL_WAIT_SLICE = 0.05
_monotonic = time.monotonic


class _VirtualSelector:
    """Wraps the real selector: polls it, and when nothing is ready advances the clock."""

    def __init__(self, loop: "PrivateLoop", real: selectors.BaseSelector) -> None:
        self._loop = loop
        self._real = real

    def select(self, timeout: float | None = None) -> list:
        loop = self._loop
        if loop.clock == "virtual" and timeout and loop.executor_jobs == 0:
            events = self._real.select(0)
            if events:
                return events
            loop.advance(timeout)
            return []
        if timeout is None or timeout > _REAL_WAIT_SLICE:
            timeout = _REAL_WAIT_SLICE
        return self._real.select(timeout)

    def __getattr__(self, name: str):
        return getattr(self._real, name)


class PrivateLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose `time()` is virtual (default) or real."""

    run_forever = base_events.BaseEventLoop.run_forever
    run_until_complete = base_events.BaseEventLoop.run_until_complete
    _run_once = base_events.BaseEventLoop._run_once
    _check_running = base_events.BaseEventLoop._check_running

    def __init__(self, clock: Clock = "virtual") -> None:
        super().__init__()
        self.clock: Clock = clock
        self.executor_jobs = 0
        self._virtual_now = 0.0
        self._real_start = _monotonic()
        self._selector = _VirtualSelector(self, self._selector)

    def time(self) -> float:
        if self.clock == "virtual":
            return self._virtual_now
        return _monotonic() - self._real_start

    def advance(self, seconds: float) -> None:
        """Move the virtual clock forward (only the loop itself does this)."""
        self._virtual_now += seconds

    def run_in_executor(self, executor, func, *args):
        """Count executor jobs in flight: the virtual clock must not jump while they run."""
        future = super().run_in_executor(executor, func, *args)
        self.executor_jobs += 1
        future.add_done_callback(self._executor_job_done)
        return future

    def _executor_job_done(self, _future: asyncio.Future) -> None:
        self.executor_jobs -= 1
