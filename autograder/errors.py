"""Exceptions whose names are diagnoses. Each message is written for the student."""
from __future__ import annotations

import functools
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)


class CheckFailed(AssertionError):
    """Base class: a check found a mistake in the student's code.

    It is an AssertionError so nbgrader counts the test cell as failed, and its message
    says what happened and how to fix it.
    """


class WrongResult(CheckFailed):
    """The function finished but returned the wrong value."""


class StudentCodeRaised(CheckFailed):
    """The student's code raised an exception the exercise did not ask for."""


class NotACoroutineFunction(CheckFailed):
    """A plain `def` (or something else) where an `async def` was expected."""


class RanSequentially(CheckFailed):
    """Work that should overlap ran one piece after another."""


class TookTooLong(CheckFailed):
    """The work finished, but later (in loop time) than the exercise allows."""


class FinishedTooEarly(CheckFailed):
    """The work finished sooner (in loop time) than it possibly could if done right."""


class NeverFinished(CheckFailed):
    """The coroutine did not finish: it waited forever or never gave control back."""


class BlockingCallDetected(CheckFailed):
    """A call that blocks the thread (time.sleep, a blocking socket...) ran on the event loop."""


class LoopHeldTooLong(CheckFailed):
    """One step of a task computed for too long without reaching an `await`."""


class TooManyInFlight(CheckFailed):
    """More operations ran at the same time than the exercise's limit."""


class NotConcurrent(CheckFailed):
    """Fewer operations overlapped than the exercise needs."""


class TaskLeaked(CheckFailed):
    """A task was still running (or never awaited) when the student's function returned."""


class CoroutineNeverAwaited(CheckFailed):
    """A coroutine object was created and dropped: the classic missing `await`."""


class CancelledErrorSwallowed(CheckFailed):
    """The code caught `CancelledError` and carried on, so cancellation did not work."""


class ResourceLeaked(CheckFailed):
    """A server, connection or subprocess was still open when the student's function returned."""


class CheckCouldNotStart(CheckFailed):
    """The check could not start its event loop (no file descriptors or threads left)."""


class ExecutorNotUsed(CheckFailed):
    """Blocking or CPU-bound work ran on the event loop's thread instead of an executor."""


class NotInProcesses(CheckFailed):
    """CPU-bound work ran in threads (or one process) where a process pool was asked for."""


class TamperingDetected(CheckFailed):
    """Student code replaced the clocks, asyncio, the course services or the autograder."""


def student_facing(func: F) -> F:
    """Raise a check's failure from the call in the student's cell, not from deep inside.

    The traceback a student reads then shows their test cell and the message, without the
    autograder's internals (IPython also skips frames marked `__tracebackhide__`). Before
    anything else, the autograder checks that nothing of its own was replaced.
    """

    from autograder._integrity import assert_intact  # bound now: replacing the name later changes nothing

    @functools.wraps(func)
    def checked(*args, **kwargs):
        __tracebackhide__ = True  # noqa: F841 (read by IPython and pytest)
        try:
            assert_intact()
            return func(*args, **kwargs)
        except CheckFailed as failure:
            raise failure.with_traceback(None) from None  # the message below says what to change

    return checked  # type: ignore[return-value]
