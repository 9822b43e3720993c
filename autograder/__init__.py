"""Checks for asyncio exercises: results, concurrency in loop time, blocking, executors.

The student's coroutine runs on a private event loop in a worker thread (the kernel's own
loop is never touched), with a virtual clock: simulated latency costs no real time and
"ten 1-second downloads at once" take exactly 1.0 s of loop time on any machine. A profile
hook on that thread names every blocking call and measures CPU per loop step.

Typical test cell::

    \"\"\"fetch_all downloads every page, all at once: 1 s of loop time for ten 1 s downloads.\"\"\"
    from autograder import check
    check(fetch_all, URLS, expected=PAGES, within=1.2)

Lower level: `report = run(...)`, then `assert_*` helpers on the report.
"""
from __future__ import annotations

import sys
import types

from autograder import errors
from autograder._integrity import Fingerprints
from autograder._watch import register_blocking
from autograder.checks import (
    assert_all_awaited,
    assert_cancelled_cleanly,
    assert_finished,
    assert_finishes_within,
    assert_no_blocking,
    assert_no_exception,
    assert_no_leaked_tasks,
    assert_not_tampered,
    assert_peak_in_flight,
    assert_result,
    check,
)
from autograder.errors import (
    BlockingCallDetected,
    CancelledErrorSwallowed,
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
    StudentCodeRaised,
    TamperingDetected,
    TaskLeaked,
    TimeoutIgnored,
    TookTooLong,
    TooManyInFlight,
    WrongResult,
)
from autograder.executors import CallProbe, assert_ran_in_processes, assert_ran_off_loop
from autograder.report import Report
from autograder.runner import run

__all__ = [
    "BlockingCallDetected", "CallProbe", "CancelledErrorSwallowed", "CheckFailed",
    "CoroutineNeverAwaited", "ExecutorNotUsed", "FinishedTooEarly", "LoopHeldTooLong", "NeverFinished",
    "NotACoroutineFunction", "NotConcurrent", "NotInProcesses", "RanSequentially", "Report",
    "StudentCodeRaised", "TamperingDetected", "TaskLeaked", "TimeoutIgnored", "TookTooLong",
    "TooManyInFlight", "WrongResult",
    "assert_all_awaited", "assert_cancelled_cleanly", "assert_finished", "assert_finishes_within",
    "assert_no_blocking", "assert_no_exception", "assert_no_leaked_tasks", "assert_not_tampered",
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


_fingerprints = Fingerprints(
    [sys.modules[f"autograder.{name}"] for name in ("checks", "runner", "executors", "_watch", "_loop")]
)
sys.modules[__name__].__class__ = _GuardedModule
