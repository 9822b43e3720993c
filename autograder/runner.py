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
import sys
import threading
import traceback
import warnings
from typing import Any, Callable

import course.services
from autograder._loop import Clock, PrivateLoop
from autograder._watch import Location, Watch, coroutine_location, is_user_file, user_location
from autograder.report import Report

#: Loop time after which a run is stopped as never finishing (virtual clock).
DEFAULT_MAX_LOOP_TIME = 600.0
#: Real seconds after which a run is stopped as never finishing. Correct solutions on the
#: virtual clock take milliseconds, so this bound is never near a correct run's time.
DEFAULT_REAL_TIMEOUT = {"virtual": 10.0, "real": 60.0}
#: Loop time allowed, after the function returned, for cancelled leftovers to clean up.
_CLEANUP_LOOP_TIME = 30.0


class _Abandon(BaseException):
    """Raised inside a run that never gives control back, to stop it."""


def run(
    func: Callable[..., Any],
    *args: Any,
    clock: Clock = "virtual",
    max_loop_time: float = DEFAULT_MAX_LOOP_TIME,
    real_timeout: float | None = None,
    cancel_after: float | None = None,
    name: str | None = None,
    **kwargs: Any,
) -> Report:
    """Call `func(*args, **kwargs)`, await it on a private loop, and report what happened.

    With `cancel_after`, the run is cancelled at that loop time, as a caller would cancel it.
    `name` is how messages call the code under test (default: the function's name); pass the
    student's function name when `func` is a test's helper coroutine around it.
    Never raises for the student's mistakes: they are in the `Report`, and the
    `assert_*` helpers turn them into messages.

    >>> async def two_downloads():
    ...     return await asyncio.gather(course.download("a"), course.download("b"))
    >>> report = run(two_downloads)
    >>> report.loop_time, report.peak_in_flight
    (1.0, 2)
    """
    from autograder import _fingerprints  # set when the package is imported

    report = Report(function=name or getattr(func, "__qualname__", repr(func)), clock=clock)
    report.tampering = _fingerprints.changes()
    watch = Watch(_fingerprints.quick_changes)
    started = threading.Event()
    state: dict[str, Any] = {}
    worker = threading.Thread(
        target=_worker,
        args=(func, args, kwargs, clock, max_loop_time, cancel_after, report, watch, state, started),
        name=f"autograder:{report.function}",
        daemon=True,
    )
    asyncio_logger = logging.getLogger("asyncio")
    captured_logs = _ListHandler()
    old_propagate = asyncio_logger.propagate
    asyncio_logger.addHandler(captured_logs)
    asyncio_logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            worker.start()
            started.wait()
            worker.join(real_timeout or DEFAULT_REAL_TIMEOUT[clock])
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
    report.unretrieved += captured_logs.messages
    report.blocking = list(watch.blocking.values())
    report.long_steps = sorted(watch.steps, key=lambda s: s.cpu_seconds, reverse=True)[:5]
    report.longest_step = watch.longest_step
    for name in [*watch.tampered, *_fingerprints.changes()]:
        if name not in report.tampering:
            report.tampering.append(name)
    return report


def _worker(func, args, kwargs, clock, max_loop_time, cancel_after, report, watch, state, started) -> None:
    """The body of the private loop's thread."""
    loop = PrivateLoop(clock)
    state["loop"] = loop
    report.loop_thread_id = threading.get_ident()
    recorder = course.services.Recorder(loop.time)
    course.services.attach_recorder(loop, recorder)
    loop.set_exception_handler(lambda _loop, context: _loop_error(report, context))
    asyncio.set_event_loop(loop)
    sys.set_coroutine_origin_tracking_depth(16)
    started.set()
    try:
        main = loop.create_task(_call_student(func, args, kwargs, report), name="autograder-main")
        state["main"] = main
        if clock == "virtual":
            loop.call_at(max_loop_time, _deadline, main, report)
        if cancel_after is not None:
            loop.call_at(cancel_after, _cancel_by_caller, main, report)
        sys.setprofile(watch.hook)
        try:
            loop.run_until_complete(main)
        except (RuntimeError, asyncio.CancelledError):
            pass  # stopped at the deadline: reported as never finished
        finally:
            sys.setprofile(None)
        _clean_up(loop, main)
    except _Abandon:
        sys.setprofile(None)
        report.never_finished = report.never_finished or "never gave control back"
    finally:
        sys.setprofile(None)
        report.calls = list(recorder.calls)
        report.peak_in_flight = recorder.peak_in_flight
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
        if report.cancelled_at_deadline:
            report.never_finished = f"was still waiting after {loop.time() - started:g} s of loop time"
        else:
            report.exception = error
            report.finished = True
    except _Abandon:
        raise
    except BaseException as error:  # the student's code may raise anything, SystemExit included
        report.exception = error
        report.finished = True
    finally:
        report.loop_time = loop.time() - started
        report.leaked_tasks = [
            (_task_label(task), coroutine_location(task.get_coro()) or _creation_location(task))
            for task in asyncio.all_tasks(loop)
            if task is not me and not task.done()
        ]
        report.leaked_cancelled = sum(
            1 for task in asyncio.all_tasks(loop) if task is not me and not task.done() and task.cancelling())


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


def _deadline(main: asyncio.Task, report: Report) -> None:
    """The loop-time limit: cancel the run, and stop the loop if it will not stop."""
    if main.done():
        return
    report.cancelled_at_deadline = True
    main.cancel()
    loop = main.get_loop()
    loop.call_later(_CLEANUP_LOOP_TIME, loop.stop)


def _clean_up(loop: PrivateLoop, main: asyncio.Task) -> None:
    """Cancel what the student left running and let it finish, within a loop-time bound."""
    leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in leftovers:
        task.cancel()
    if leftovers:
        stopper = loop.call_later(_CLEANUP_LOOP_TIME, loop.stop)
        try:
            loop.run_until_complete(asyncio.wait(leftovers))
        except RuntimeError:
            pass
        stopper.cancel()
    loop.run_until_complete(loop.shutdown_asyncgens())


def _stop_stuck_worker(worker: threading.Thread, state: dict, report: Report, watch: Watch) -> None:
    """The run exceeded its real-time bound: cancel it, then interrupt it, then abandon it."""
    inside_step = watch._step_frame is not None
    report.never_finished = "never gave control back" if inside_step else "was still waiting after its real-time limit"
    report.stuck_at = user_location(sys._current_frames().get(worker.ident))
    loop, main = state.get("loop"), state.get("main")
    if loop is not None and main is not None and not inside_step:
        try:
            loop.call_soon_threadsafe(main.cancel)
        except RuntimeError:
            pass
        worker.join(1.0)
    for _attempt in range(5):
        if not worker.is_alive():
            return
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident), ctypes.py_object(_Abandon))
        worker.join(0.5)


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
    text = f"{type(error).__name__}: {error}" if error else message
    if "task" in context or "future" in context:
        report.unretrieved.append(f"{message}: {text}")
    else:
        report.callback_errors.append(text)


def _unawaited_coroutine(caught: warnings.WarningMessage) -> tuple[str, Location | None] | None:
    text = str(caught.message)
    if not (issubclass(caught.category, RuntimeWarning) and "was never awaited" in text):
        return None
    name = text.split("'")[1] if "'" in text else "a coroutine"
    origin = getattr(caught.source, "cr_origin", None) or ()
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
