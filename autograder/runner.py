"""Running the student's coroutine on a private loop in a worker thread, and watching it.

The kernel's own event loop is never touched: the code under test runs on a fresh
`PrivateLoop` in a new thread while the caller waits. This works the same from a notebook
cell (with or without top-level `await` or nest_asyncio), under `nbgrader autograde`
and under pytest.
"""
from __future__ import annotations

import asyncio
import ctypes
import gc
import inspect
import logging
import os
import sys
import threading
import traceback
import warnings
from typing import Any, Callable

import course.recording
from autograder import _integrity, errors
from autograder._loop import Clock, PrivateLoop
from autograder._watch import RUNAWAY_FACTOR, Location, RunawayStep, Watch, coroutine_location, is_user_file, user_location
from autograder.report import Report

#: Loop time after which a run is stopped as never finishing (virtual clock).
DEFAULT_MAX_LOOP_TIME = 600.0
#: Real seconds after which a run is stopped as never finishing. Runaway Python loops are
#: stopped long before, by their count of lines; this bound is for code stuck inside a call.
DEFAULT_REAL_TIMEOUT = 60.0
#: Loop time allowed, after the function returned or was stopped, for leftovers to clean up.
_CLEANUP_LOOP_TIME = 30.0
#: Real seconds to wait for subprocesses the student left running, once they are killed.
_SUBPROCESS_GRACE = 2.0
#: Runs abandoned because their thread never came back (stuck inside a call).
_abandoned: list[threading.Thread] = []


class _Abandon(BaseException):
    """Raised inside a run that never gives control back, to stop it."""


def run(
    func: Callable[..., Any],
    *args: Any,
    clock: Clock = "virtual",
    max_loop_time: float = DEFAULT_MAX_LOOP_TIME,
    real_timeout: float = DEFAULT_REAL_TIMEOUT,
    cancel_after: float | None = None,
    max_step_lines: int | None = None,
    name: str | None = None,
    **kwargs: Any,
) -> Report:
    """Call `func(*args, **kwargs)`, await it on a private loop, and report what happened.

    With `cancel_after`, the run is cancelled at that loop time, as a caller would cancel it.
    `max_step_lines` is the budget of lines of the student's code between two `await`s that
    the report's long steps are measured against (a step running far past it is stopped).
    `name` is how messages call the code under test (default: the function's name); pass the
    student's function name when `func` is a test's helper coroutine around it.
    Never raises for the student's mistakes: they are in the `Report`, and the
    `assert_*` helpers turn them into messages. Raises `CheckCouldNotStart` when the
    run cannot even begin (no file descriptors or threads left).

    >>> async def two_downloads():
    ...     return await asyncio.gather(course.download("a"), course.download("b"))
    >>> report = run(two_downloads)
    >>> report.loop_time, report.peak_in_flight
    (1.0, 2)
    """
    report = Report(function=name or getattr(func, "__qualname__", repr(func)), clock=clock,
                    max_step_lines=max_step_lines)
    report.tampering = _integrity.changes()
    loop = _new_loop(clock, max_loop_time, report)
    watch = Watch(loop, max_step_lines, _integrity.quick_changes)
    state: dict[str, Any] = {}
    worker = threading.Thread(
        target=_worker, args=(loop, func, args, kwargs, cancel_after, report, watch, state),
        name=f"autograder:{report.function}", daemon=True,
    )
    asyncio_logger = logging.getLogger("asyncio")
    captured_logs = _ListHandler()
    old_propagate = asyncio_logger.propagate
    asyncio_logger.addHandler(captured_logs)
    asyncio_logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                worker.start()
            except RuntimeError as error:
                loop.close()
                raise _could_not_start(error) from None
            worker.join(real_timeout)
            if worker.is_alive():
                _stop_stuck_worker(worker, state, report, watch)
            _close_returned_coroutines(report)
            gc.collect()
        if report.exception is not None:
            with warnings.catch_warnings():
                # What the student's exception still holds (a coroutine passed to a call that
                # raised, say) is released here, quietly, not on stderr in some later cell.
                warnings.simplefilter("ignore")
                traceback.clear_frames(report.exception.__traceback__)
                gc.collect()
    finally:
        asyncio_logger.removeHandler(captured_logs)
        asyncio_logger.propagate = old_propagate
    report.unawaited = [entry for w in caught if (entry := _unawaited_coroutine(w)) is not None]
    report.unretrieved += [m for m in captured_logs.messages if "Task exception was never retrieved" in m
                           or "exception was never retrieved" in m]
    report.blocking = list(watch.blocking.values())
    report.long_steps = sorted(watch.steps, key=lambda s: s.lines, reverse=True)[:5]
    report.runaway = watch.runaway
    for changed in [*watch.tampered, *_integrity.changes()]:
        if changed not in report.tampering:
            report.tampering.append(changed)
    return report


def _new_loop(clock: Clock, max_loop_time: float, report: Report) -> PrivateLoop:
    try:
        return PrivateLoop(clock, deadline=max_loop_time if clock == "virtual" else float("inf"))
    except OSError as error:
        raise _could_not_start(error) from None


def _could_not_start(error: BaseException) -> errors.CheckCouldNotStart:
    try:
        descriptors = len(os.listdir("/proc/self/fd"))
    except OSError:
        descriptors = None
    held = f" The notebook holds {descriptors} open files and sockets." if descriptors else ""
    alive = sum(t.is_alive() for t in _abandoned)
    stuck = f" {alive} earlier checks are still stuck in calls that never returned." if alive else ""
    return errors.CheckCouldNotStart(
        f"The check could not start its event loop: {type(error).__name__}: {error}.{held}{stuck} Code in "
        "earlier cells left servers, connections, files or threads open (close them with `async with`, "
        "`writer.close()` and `await writer.wait_closed()`, or `with open(...)`). Restart the kernel, "
        "run the notebook again, and the check will run.")


def _worker(loop: PrivateLoop, func, args, kwargs, cancel_after, report: Report, watch: Watch, state: dict) -> None:
    """The body of the private loop's thread."""
    report.loop_thread_id = threading.get_ident()
    recorder = course.recording.Recorder(loop.time)
    course.recording.attach_recorder(loop, recorder)
    loop.set_exception_handler(lambda _loop, context: _loop_error(report, context))
    asyncio.set_event_loop(loop)
    sys.set_coroutine_origin_tracking_depth(16)
    try:
        main = loop.create_task(_call_student(func, args, kwargs, report), name="autograder-main")
        state["main"] = main
        loop.on_limit = lambda why: _stop_run(main, report, why)
        if cancel_after is not None:
            loop.call_at(cancel_after, _cancel_by_caller, main, report)
        _watch(watch)
        try:
            loop.run_until_complete(main)
        except (RuntimeError, asyncio.CancelledError, RunawayStep):
            pass  # stopped at a limit: reported as never finished
        finally:
            _unwatch()
        _clean_up(loop)
    except _Abandon:
        _unwatch()
        report.never_finished = report.never_finished or "never gave control back"
    finally:
        _unwatch()
        report.calls = list(recorder.calls)
        report.peak_in_flight = recorder.peak_in_flight
        _close(loop)


def _watch(watch: Watch) -> None:
    sys.setprofile(watch.hook)
    sys.settrace(watch.tracer)


def _unwatch() -> None:
    sys.setprofile(None)
    sys.settrace(None)


def _close(loop: PrivateLoop) -> None:
    """Release everything the run held: sockets, subprocesses, threads, the loop's own files."""
    try:
        loop.close_resources()
        if not loop.is_closed() and not loop.is_running():
            loop.run_until_complete(asyncio.sleep(0))
    except (RuntimeError, _Abandon):
        pass
    asyncio.set_event_loop(None)
    executor = getattr(loop, "_default_executor", None)
    if executor is not None:
        executor.shutdown(wait=False, cancel_futures=True)
    try:
        loop.close()
    except RuntimeError:
        pass


async def _call_student(func, args, kwargs, report: Report) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    me = asyncio.current_task()
    try:
        awaitable = func(*args, **kwargs)
        if not inspect.isawaitable(awaitable):
            report.not_awaitable = True
            report.result = awaitable
            report.finished = True
            return
        report.result = await awaitable
        report.finished = True
    except asyncio.CancelledError as error:
        if report.stopped_because:
            report.never_finished = _never_finished(report.stopped_because, loop.time() - started)
        else:
            report.exception = error
            report.finished = True
    except (_Abandon, RunawayStep):
        report.never_finished = "never gave control back"
    except BaseException as error:  # the student's code may raise anything, SystemExit included
        report.exception = error
        report.finished = True
    finally:
        if not loop.is_closed():  # closed: a stranded run collected long after the check
            _note_what_is_left(loop, me, started, report)


def _note_what_is_left(loop: asyncio.AbstractEventLoop, me: asyncio.Task | None, started: float,
                       report: Report) -> None:
    """When the student's function returned: its loop time, and what it left running or open."""
    report.loop_time = loop.time() - started
    others = [task for task in asyncio.all_tasks(loop) if task is not me and not task.done()]
    report.leaked_tasks = [
        (_task_label(task), coroutine_location(task.get_coro()) or _creation_location(task)) for task in others
    ]
    report.leaked_cancelled = sum(1 for task in others if task.cancelling())
    if isinstance(loop, PrivateLoop):
        report.open_resources += loop.open_resources()


def _never_finished(why: str, loop_time: float) -> str:
    if why == "stalled":
        return (f"was still waiting after {loop_time:g} s of loop time, for something that can never "
                "happen: no timer, no I/O and no other work was left that could wake it")
    if why == "runaway":
        return "never gave control back"
    return f"was still waiting after {loop_time:g} s of loop time"


def _stop_run(main: asyncio.Task, report: Report, why: str) -> None:
    """A limit was reached: cancel the run, then give it a while to clean up before stopping."""
    loop = main.get_loop()
    if main.done():
        return
    report.stopped_because = why
    main.cancel()
    loop.allow(_CLEANUP_LOOP_TIME, lambda _why: loop.stop())


def _task_label(task: asyncio.Task) -> str:
    coro = task.get_coro()
    return f"{getattr(coro, '__qualname__', task.get_name())}()"


def _creation_location(task: asyncio.Task) -> Location | None:
    origin = getattr(task.get_coro(), "cr_origin", None) or ()
    for filename, lineno, function in origin:
        if is_user_file(filename):
            return Location(filename, lineno, function)
    return None


def _cancel_by_caller(main: asyncio.Task, report: Report) -> None:
    if not main.done():
        report.cancel_requested = True
        main.cancel()


def _clean_up(loop: PrivateLoop) -> None:
    """Cancel what the student left running and let it finish, within a loop-time bound."""
    leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in leftovers:
        task.cancel()
    if leftovers:
        loop.allow(_CLEANUP_LOOP_TIME, lambda _why: loop.stop())
        try:
            loop.run_until_complete(asyncio.wait(leftovers))
        except RuntimeError:
            pass
    running = loop._running_subprocesses()
    if running:
        loop.close_resources()
        loop.allow(_SUBPROCESS_GRACE, lambda _why: loop.stop())
        try:
            loop.run_until_complete(asyncio.wait([loop.create_task(t._wait()) for t in running],
                                                 timeout=_SUBPROCESS_GRACE))
        except RuntimeError:
            pass
    loop.run_until_complete(loop.shutdown_asyncgens())


def _stop_stuck_worker(worker: threading.Thread, state: dict, report: Report, watch: Watch) -> None:
    """The run exceeded its real-time bound: cancel it, then interrupt it, then abandon it."""
    inside_step = watch.inside_step
    report.never_finished = "never gave control back" if inside_step else "was still waiting after its real-time limit"
    report.stuck_at = user_location(sys._current_frames().get(worker.ident))
    if inside_step and watch.step_lines > watch.stop_after_lines // RUNAWAY_FACTOR:
        # Past its budget already: the same verdict as when the count stops it first.
        watch.runaway = watch.runaway or report.stuck_at
    main = state.get("main")
    if main is not None and not inside_step:
        try:
            main.get_loop().call_soon_threadsafe(main.cancel)
        except RuntimeError:
            pass
        worker.join(1.0)
    for _attempt in range(5):
        if not worker.is_alive():
            return
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident), ctypes.py_object(_Abandon))
        worker.join(0.5)
    if worker.is_alive():
        _abandoned.append(worker)


def _close_returned_coroutines(report: Report) -> None:
    """Close coroutine objects the function returned instead of awaiting (a missing `await`).

    The report keeps them to explain the mistake; closing them now stops Python from
    warning about them on stderr later, outside the check, where nbgrader would see it.
    """
    values = report.result if isinstance(report.result, (list, tuple)) else [report.result]
    for value in values:
        if inspect.iscoroutine(value):
            value.close()


def _loop_error(report: Report, context: dict) -> None:
    """asyncio's exception handler: a task's lost error, or an error in a plain callback."""
    error = context.get("exception")
    message = context.get("message", "")
    if isinstance(error, (RunawayStep, _Abandon)):
        return
    text = f"{type(error).__name__}: {error}" if error else message
    if "task" in context or "future" in context:
        report.unretrieved.append(f"{message}: {text}")
    elif error is not None:
        report.callback_errors.append(text)
    else:
        report.open_resources.append(message)  # "Unclosed client session" and the like


def _unawaited_coroutine(caught: warnings.WarningMessage) -> tuple[str, Location | None] | None:
    """A "coroutine ... was never awaited" warning about a coroutine this run created.

    Only the run's thread tracks where coroutines come from, so a coroutine without an
    origin was left behind by an earlier cell and is not this run's doing.
    """
    text = str(caught.message)
    if not (issubclass(caught.category, RuntimeWarning) and "was never awaited" in text):
        return None
    origin = getattr(caught.source, "cr_origin", None)
    if not origin:
        return None
    name = text.split("'")[1] if "'" in text else "a coroutine"
    location = None
    for filename, lineno, function in origin:  # innermost first
        if is_user_file(filename):
            location = Location(filename, lineno, function)
            break
    return name, location


class _ListHandler(logging.Handler):
    """Keeps asyncio's log records (which would otherwise reach stderr)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
