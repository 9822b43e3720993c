"""Assertions on a `Report`, each raising an exception whose name is the diagnosis.

Every message says what the student's code did, in their terms, and how to fix it; its
first line names the function and the behaviour. `check` applies them in the order that
puts the most specific diagnosis first: a replaced library, not a coroutine, a blocking
call, a missing `await`, an exception, a lost error, never finishing, a long step, then the
result, the timing, what was left running and how many calls overlapped.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable

from autograder import errors
from autograder._watch import DEFAULT_MAX_STEP_LINES
from autograder.errors import student_facing
from autograder.report import Report
from autograder.runner import run

_MISSING: Any = object()
#: Virtual loop times are sums of floats (0.1 + 1.0 + 0.1 + 0.1 = 1.3000000000000003): bounds
#: allow this rounding, and nothing more.
_LOOP_TIME_SLACK = 1e-9
#: How much of a value a message shows (enough to see it whole in almost every exercise).
_SHOWN = 600
_AS_COMPLETED_ITEM = (
    "An item taken from asyncio.as_completed(...) was never awaited. Each item is a coroutine "
    "that waits for the next result: write `result = await item` for every item you take (and "
    "cancel or await the remaining work if you stop early).")


def _fail(kind: type[errors.CheckFailed], message: str) -> None:
    raise kind(message) from None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + f"... ({len(text)} characters in all)"


@student_facing
def assert_not_tampered(report: Report) -> None:
    """The clocks, asyncio, the course services and the autograder are the genuine ones."""
    if report.tampering:
        names = ", ".join(report.tampering[:5])
        _fail(errors.TamperingDetected,
              f"Your code replaced {names}. The checks measure your code with the real "
              "functions, so replacing them cannot make a check pass. Remove the assignment "
              "(and restart the kernel) to be graded.")


@student_facing
def assert_finished(report: Report) -> None:
    """The coroutine was a coroutine and it finished, with a value or an exception."""
    fn = report.function
    if report.not_awaitable:
        _fail(errors.NotACoroutineFunction,
              f"{fn}(...) returned {type(report.result).__name__} {_shown(report.result):.80}, not a coroutine. "
              f"Define it with `async def {fn}(...)` so that callers can `await` it.")
    if report.runaway is not None:
        _fail(errors.LoopHeldTooLong,
              f"{fn} never gave control back to the event loop: it ran more than "
              f"{max(_budget(report), DEFAULT_MAX_STEP_LINES):,} lines of your code without reaching an `await`, so the check "
              f"stopped it at {report.runaway.describe()}. An endless loop, or a busy wait for something "
              "only another task can do? Wait with `await` (asyncio.sleep, an Event, a Queue), and give "
              "the loop a turn with `await asyncio.sleep(0)` inside long computations.")
    if report.never_finished == "never gave control back":
        where = f" It was stopped at {report.stuck_at.describe()}." if report.stuck_at else ""
        _fail(errors.NeverFinished,
              f"{fn} never gave control back to the event loop: a call in your code never returned "
              f"(it waited inside one call for the whole real-time limit), so the check had to stop it.{where}")
    if report.never_finished:
        where = f"\nIt was waiting at {report.stuck_at.describe()}." if report.stuck_at else ""
        _fail(errors.NeverFinished,
              f"{fn} did not finish: it {report.never_finished}. Something it awaits never "
              "completes: a future nobody sets, a queue nobody fills, a task waiting for itself, "
              f"or a loop with no exit.{where}")


@student_facing
def assert_no_exception(report: Report) -> None:
    """The student's code did not raise (use `check(..., raises=...)` when it should),
    and no callback it scheduled raised either."""
    error = report.exception
    if error is not None and not report.cancel_requested:
        if isinstance(error, errors.TamperingDetected):
            _fail(errors.TamperingDetected, str(error))
        _fail(errors.StudentCodeRaised,
              "\n".join([f"{report.function} raised {type(error).__name__}: {error}", *report.student_frames(),
                         "Fix the code at the line above, or handle the error as the exercise says."]))
    _assert_no_lost_errors(report)


def _assert_no_lost_errors(report: Report) -> None:
    """No callback raised, and no task failed with nobody awaiting it."""
    if report.callback_errors:
        error = report.callback_errors[0]
        hint = (" A future can be completed only once: check `future.done()` before calling "
                "set_result or set_exception (a cancelled future is done too)."
                if error.startswith("InvalidStateError") else "")
        _fail(errors.StudentCodeRaised,
              f"A callback scheduled by {report.function} raised {error}. Nobody sees an error "
              f"raised inside a callback, so the work it should have finished never finishes.{hint}")
    if report.unretrieved:
        _fail(errors.TaskLeaked,
              f"A task started by {report.function} failed and nobody awaited it, so its error was lost: "
              f"{report.unretrieved[0]}. Keep every task you create and await it (or use a TaskGroup), "
              "so that its error reaches your code.")


def _budget(report: Report) -> int:
    return report.max_step_lines if report.max_step_lines is not None else DEFAULT_MAX_STEP_LINES


@student_facing
def assert_no_blocking(report: Report, max_step_lines: int | None = None) -> None:
    """No call known to block, and no step running more than `max_step_lines` lines of the
    student's code between two `await`s."""
    if report.blocking:
        lines = []
        for call in report.blocking[:5]:
            where = call.location.describe() if call.location else "code called by yours"
            times = f" ({call.count} times)" if call.count > 1 else ""
            lines.append(f"  - {call.what} in {where}{times}\n    Fix: {call.hint}.")
        first = report.blocking[0]
        _fail(errors.BlockingCallDetected,
              f"{report.function} blocked the event loop with {first.what}. While a blocking call runs, "
              "no other task can make any progress:\n" + "\n".join(lines))
    budget = max_step_lines if max_step_lines is not None else _budget(report)
    steps = [s for s in report.long_steps if s.lines > budget]
    if steps:
        step = steps[0]
        span = ""
        if step.started_at:
            span = f" from {step.started_at.describe()}"
            if step.ended_at and step.ended_at != step.started_at:
                span += f" to line {step.ended_at.lineno}"
        elif step.ended_at:
            span = f", up to {step.ended_at.describe()}"
        _fail(errors.LoopHeldTooLong,
              f"{step.task_name or report.function} held the event loop: it ran {step.lines:,} lines of your code "
              f"without reaching an `await`{span} (allowed: {budget:,}). Every other task waited that long. "
              "Give the loop a turn with `await asyncio.sleep(0)` every so often inside the long loop, or run "
              "the computation in an executor.")


@student_facing
def assert_all_awaited(report: Report) -> None:
    """No coroutine was created and dropped without being awaited (the missing `await`)."""
    if report.unawaited:
        name, location = report.unawaited[0]
        if "_wait_for_one" in name:
            _fail(errors.CoroutineNeverAwaited, _AS_COMPLETED_ITEM)
        where = f" in {location.describe()}" if location else ""
        more = f" ({len(report.unawaited)} coroutines in all)" if len(report.unawaited) > 1 else ""
        _fail(errors.CoroutineNeverAwaited,
              f"The coroutine {name}() was created{where} but never awaited{more}, so it never ran. "
              f"Calling an `async def` function only creates a coroutine: write `await {name}(...)`, "
              "or pass it to asyncio.gather / asyncio.create_task.")
    if isinstance(report.result, (list, tuple)) and any(_is_coroutine(r) for r in report.result):
        _fail(errors.CoroutineNeverAwaited,
              f"{report.function} returned coroutine objects instead of their results: you called "
              "the coroutine functions but never awaited them. Await them, for example with "
              "`await asyncio.gather(*coroutines)`.")
    if _is_coroutine(report.result) and "_wait_for_one" in getattr(report.result, "__qualname__", ""):
        _fail(errors.CoroutineNeverAwaited, _AS_COMPLETED_ITEM)
    if _is_coroutine(report.result):
        _fail(errors.CoroutineNeverAwaited,
              f"{report.function} returned a coroutine object instead of its result: add `await`.")
    if asyncio.isfuture(report.result):
        kind = "task" if isinstance(report.result, asyncio.Task) else "future"
        _fail(errors.CoroutineNeverAwaited,
              f"{report.function} returned a {kind} instead of its result: write "
              f"`return await ...` so the caller gets the value, not the {kind}.")


@student_facing
def assert_no_leaked_tasks(report: Report) -> None:
    """Every task the student started had finished when their function returned, and no
    task's error was lost."""
    if report.leaked_tasks:
        label, location = report.leaked_tasks[0]
        where = f" (started at {location.describe()})" if location else ""
        count = len(report.leaked_tasks)
        them = "them" if count > 1 else "it"
        if report.leaked_cancelled == count:
            _fail(errors.TaskLeaked,
                  f"{report.function} cancelled {count} task{'s' if count > 1 else ''}, for example "
                  f"{label}{where}, but returned without waiting for {them} to finish. Cancelling only asks "
                  f"a task to stop: await {them} afterwards (for example "
                  "`await asyncio.gather(*tasks, return_exceptions=True)`) so the clean-up runs before you return.")
        _fail(errors.TaskLeaked,
              f"{report.function} returned while {count} task{'s' if count > 1 else ''} it started "
              f"{'were' if count > 1 else 'was'} still running, for example {label}{where}. If you no longer "
              f"need {them}, cancel {them} and then await {them} (`task.cancel()`, then "
              "`await asyncio.gather(*tasks, return_exceptions=True)`); if you need their results, await "
              f"{them} before returning. An `async with asyncio.TaskGroup()` block does both for you.")
    _assert_no_lost_errors(report)


@student_facing
def assert_no_leaked_resources(report: Report) -> None:
    """No server, connection or subprocess was still open when the student's function returned."""
    if report.open_resources:
        more = f" (and {len(report.open_resources) - 1} more)" if len(report.open_resources) > 1 else ""
        _fail(errors.ResourceLeaked,
              f"{report.function} returned with {report.open_resources[0]}{more}. Close what you open before "
              "returning: servers with `server.close()` then `await server.wait_closed()` (or `async with server:`), "
              "connections with `writer.close()` then `await writer.wait_closed()`, client sessions with "
              "`async with aiohttp.ClientSession() as session:`, subprocesses with `await proc.wait()`.")


@student_facing
def assert_result(report: Report, expected: Any, compare: Callable[[Any, Any], bool] | None = None) -> None:
    """The function returned `expected` (or `compare(result, expected)` is true)."""
    ok = compare(report.result, expected) if compare else report.result == expected
    if not ok:
        _fail(errors.WrongResult,
              f"{report.function} returned the wrong result{_first_difference(report.result, expected)}.\n"
              f"  returned: {_shown(report.result)}\n  expected: {_shown(expected)}")


def _first_difference(got: object, expected: object) -> str:
    """Where two results first differ, in words (empty when there is nothing more to say)."""
    if isinstance(got, (list, tuple)) and isinstance(expected, (list, tuple)):
        for index, (a, b) in enumerate(zip(got, expected)):
            if a != b:
                return f": item {index} is {_shown(a)}, expected {_shown(b)}"
        if len(got) != len(expected):
            return f": {len(got)} items, expected {len(expected)}"
    if isinstance(got, dict) and isinstance(expected, dict):
        missing = [k for k in expected if k not in got]
        extra = [k for k in got if k not in expected]
        wrong = [k for k in expected if k in got and got[k] != expected[k]]
        if missing:
            return f": key {missing[0]!r} is missing"
        if extra:
            return f": unexpected key {extra[0]!r}"
        if wrong:
            return f": for key {wrong[0]!r} it holds {_shown(got[wrong[0]])}, expected {_shown(expected[wrong[0]])}"
    if type(got) is not type(expected) and got is not None and expected is not None:
        return f": a {type(got).__name__}, expected a {type(expected).__name__}"
    return ""


@student_facing
def assert_finishes_within(report: Report, seconds: float, not_before: float | None = None) -> None:
    """The run took at most `seconds` of loop time (and at least `not_before`, if given)."""
    if not_before is not None and report.loop_time < not_before - _LOOP_TIME_SLACK:
        _fail(errors.FinishedTooEarly,
              f"{report.function} finished after {report.loop_time:.2f} s of loop time, but the work "
              f"it must wait for takes at least {not_before:g} s: it returned before that work was done. "
              "Make sure you await every result before returning.")
    if report.loop_time <= seconds + _LOOP_TIME_SLACK:
        return
    calls = [c for c in report.calls if c.end is not None]
    if len(calls) > 1 and report.peak_in_flight == 1:
        _fail(errors.RanSequentially,
              f"{report.function} awaited the {len(calls)} {calls[0].name} calls one after another: "
              f"{report.loop_time:.1f} s of loop time, expected at most {seconds:g} s. Start them "
              "together with asyncio.gather or a TaskGroup, then wait for all of them.\n"
              f"When each call ran:\n{report.timeline()}")
    _fail(errors.TookTooLong,
          f"{report.function} took {report.loop_time:.2f} s of loop time, expected at most {seconds:g} s. "
          "Something waited longer than it had to: work that could overlap ran in turns, a limit or "
          "timeout was not applied, or a wait went on after its result was known."
          + (f"\nWhen each call ran:\n{report.timeline()}" if calls else ""))


@student_facing
def assert_peak_in_flight(report: Report, at_most: int | None = None, at_least: int | None = None) -> None:
    """The largest number of service calls in flight at once was within the bounds."""
    peak = report.peak_in_flight
    if at_most == 1 and peak > 1:
        _fail(errors.TooManyInFlight,
              f"{report.function} had {peak} calls in flight at once, but each call here needs the "
              "one before it to finish: await each call before starting the next.\n"
              f"When each call ran:\n{report.timeline()}")
    if at_most is not None and peak > at_most:
        _fail(errors.TooManyInFlight,
              f"{report.function} had {peak} calls in flight at once; the limit is {at_most}. "
              f"Guard each call with `async with semaphore:` where "
              f"`semaphore = asyncio.Semaphore({at_most})`, or use a fixed pool of {at_most} workers.\n"
              f"When each call ran:\n{report.timeline()}")
    if at_least is not None and peak < at_least:
        kind = errors.RanSequentially if peak <= 1 else errors.NotConcurrent
        _fail(kind,
              f"{report.function} never had more than {peak} call{'s' if peak != 1 else ''} in flight "
              f"at once; this exercise needs {at_least} at the same time. Start the calls before "
              "awaiting them (asyncio.gather, create_task or a TaskGroup).\n"
              f"When each call ran:\n{report.timeline()}")


@student_facing
def assert_cancelled_cleanly(report: Report) -> None:
    """After being cancelled, the coroutine let CancelledError propagate."""
    if not report.cancel_requested:
        raise ValueError("assert_cancelled_cleanly needs a run made with cancel_after=...")
    if report.was_cancelled:
        return
    if report.exception is not None:
        _fail(errors.StudentCodeRaised,
              f"{report.function} raised {type(report.exception).__name__} when it was cancelled, instead of "
              "letting CancelledError through. Code in `finally:` or `except` blocks runs on cancellation too: "
              "make it work whatever point the cancellation reached (a variable may not be set yet).\n"
              f"{report.student_traceback()}")
    _fail(errors.CancelledErrorSwallowed,
          f"{report.function} was cancelled but returned normally ({_shown(report.result):.80}): it "
          "caught CancelledError and carried on. Clean up in a `finally:` block, or re-raise "
          "with `raise` at the end of your `except asyncio.CancelledError:` block, so the "
          "caller's cancellation works.")


def _is_coroutine(value: object) -> bool:
    return type(value).__name__ == "coroutine"


@student_facing
def check(
    func: Callable[..., Any],
    *args: Any,
    expected: Any = _MISSING,
    compare: Callable[[Any, Any], bool] | None = None,
    within: float | None = None,
    not_before: float | None = None,
    max_in_flight: int | None = None,
    min_in_flight: int | None = None,
    max_step_lines: int | None = None,
    raises: type[BaseException] | None = None,
    clock: str = "virtual",
    **kwargs: Any,
) -> Report:
    """Run `func(*args, **kwargs)` on a private loop and apply every standard check.

    In order: genuine clocks and libraries, it is a coroutine, no blocking call, no missing
    `await`, no exception (or the exception `raises`), no lost error, it finishes, no step
    longer than `max_step_lines` lines of the student's code, the result, the loop-time bounds
    `within` (at most) and `not_before` (at least), no leaked task, server or connection, and
    the in-flight bounds. Returns the `Report` for further checks.

    >>> check(fetch_all, ["a", "b"], expected=["<html>a</html>", "<html>b</html>"], within=1.2)
    """
    report = run(func, *args, clock=clock, max_step_lines=max_step_lines, **kwargs)  # type: ignore[arg-type]
    assert_not_tampered(report)
    if report.not_awaitable or report.runaway is not None:
        assert_finished(report)
    assert_no_blocking(report, max_step_lines)
    assert_all_awaited(report)
    if raises is not None:
        if report.finished and not isinstance(report.exception, raises):
            got = f"raised {type(report.exception).__name__}: {report.exception}" if report.exception \
                else f"returned {_shown(report.result):.100}"
            _fail(errors.WrongResult, f"{report.function} should raise {raises.__name__}, but it {got}.")
    elif report.finished:
        assert_no_exception(report)
    _assert_no_lost_errors(report)
    assert_finished(report)
    if expected is not _MISSING:
        assert_result(report, expected, compare)
    if within is not None or not_before is not None:
        assert_finishes_within(report, within if within is not None else float("inf"), not_before)
    assert_no_leaked_tasks(report)
    assert_no_leaked_resources(report)
    if max_in_flight is not None or min_in_flight is not None:
        assert_peak_in_flight(report, at_most=max_in_flight, at_least=min_in_flight)
    return report
