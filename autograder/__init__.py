"""Checks for asyncio exercises: results, concurrency in loop time, blocking, executors.

The student's coroutine runs on a private event loop in a worker thread (the kernel's own
loop is never touched), with a virtual clock: simulated latency costs no real time and
"ten 1-second downloads at once" take exactly 1.0 s of loop time on any machine; real I/O
(sockets, subprocesses, executor jobs) is waited for in real time without moving the clock.
A profile hook on that thread names every blocking call, and a line counter measures how
long each step held the loop in lines of the student's code, a count no load can change.

Typical test cell::

    \"\"\"fetch_all downloads every page, all at once: 1 s of loop time for ten 1 s downloads.\"\"\"
    from autograder import check
    check(fetch_all, URLS, expected=PAGES, within=1.2)

Lower level: `report = run(...)`, then `assert_*` helpers on the report.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
import types

from autograder import _integrity, errors
from autograder._blocking import register_blocking
from autograder.checks import (
    assert_all_awaited,
    assert_cancelled_cleanly,
    assert_finished,
    assert_finishes_within,
    assert_no_blocking,
    assert_no_exception,
    assert_no_leaked_resources,
    assert_no_leaked_tasks,
    assert_not_tampered,
    assert_peak_in_flight,
    assert_result,
    check,
)
from autograder.errors import (
    BlockingCallDetected,
    CancelledErrorSwallowed,
    CheckCouldNotStart,
    CheckFailed,
    CoroutineNeverAwaited,
    ExecutorNotUsed,
    FinishedTooEarly,
    LoopHeldTooLong,
    NeverFinished,
    NotACoroutineFunction,
    NotConcurrent,
    NotInProcesses,
    RanSequentially,
    ResourceLeaked,
    StudentCodeRaised,
    TamperingDetected,
    TaskLeaked,
    TookTooLong,
    TooManyInFlight,
    WrongResult,
)
from autograder.executors import CallProbe, assert_ran_in_processes, assert_ran_off_loop
from autograder.report import Report
from autograder.runner import run

__all__ = [
    "BlockingCallDetected", "CallProbe", "CancelledErrorSwallowed", "CheckCouldNotStart", "CheckFailed",
    "CoroutineNeverAwaited", "ExecutorNotUsed", "FinishedTooEarly", "LoopHeldTooLong", "NeverFinished",
    "NotACoroutineFunction", "NotConcurrent", "NotInProcesses", "RanSequentially", "Report",
    "ResourceLeaked", "StudentCodeRaised", "TamperingDetected", "TaskLeaked", "TookTooLong",
    "TooManyInFlight", "WrongResult",
    "assert_all_awaited", "assert_cancelled_cleanly", "assert_finished", "assert_finishes_within",
    "assert_no_blocking", "assert_no_exception", "assert_no_leaked_resources", "assert_no_leaked_tasks",
    "assert_not_tampered",
    "assert_peak_in_flight", "assert_ran_in_processes", "assert_ran_off_loop", "assert_result",
    "check", "errors", "register_blocking", "run",
]


class _GuardedModule(types.ModuleType):
    """Refuses to let student code replace the autograder's public functions."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in __all__:
            raise TamperingDetected(
                f"autograder.{name} cannot be replaced: the tests must see your real code. "
                "Remove this assignment and restart the kernel.")
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if name in __all__:
            raise TamperingDetected(f"autograder.{name} cannot be deleted.")
        super().__delattr__(name)


def _import_exercises() -> None:
    """Every assignment's checks, imported now so that the snapshot below covers them."""
    from autograder import exercises

    for info in pkgutil.iter_modules(exercises.__path__):
        importlib.import_module(f"{exercises.__name__}.{info.name}")


_import_exercises()
sys.modules[__name__].__class__ = _GuardedModule
_integrity.snapshot()
