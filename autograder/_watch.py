"""Watching the private loop's thread: blocking calls and long steps, deterministically.

A profile hook (`sys.setprofile`, set in the loop's thread only) sees every call made
while a loop callback runs (a "step": one `Handle._run`). It records calls known to block
(the catalogue in `autograder._blocking`), however short, with the first frame of the
student's code that led to them.

A trace function (`sys.settrace`, same thread) counts the lines of the student's own code
each step runs: how long a step held the loop is measured in lines run between two
`await`s, a count that machine load, a CPU quota and the profile hook's own cost cannot
change, and that a helper function changes no more than the same code written inline.
A step that runs far past its budget is stopped where it stands.

Nothing here depends on wall-clock or CPU time, so the verdict does not depend on machine load.
"""
from __future__ import annotations

import asyncio
import asyncio.futures
import concurrent.futures
import functools
import linecache
import os
import socket
import sqlite3
import sys
import sysconfig
import types
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import course.recording
from autograder import _blocking
from autograder._blocking import Blocking

if TYPE_CHECKING:
    from autograder._loop import PrivateLoop


@dataclass(frozen=True)
class Location:
    """A place in the student's code."""

    filename: str
    lineno: int
    function: str

    @property
    def source(self) -> str:
        return linecache.getline(self.filename, self.lineno).strip()

    def describe(self) -> str:
        where = "your code" if _is_notebook_cell(self.filename) else Path(self.filename).name
        text = f"{where} line {self.lineno}, in {self.function}()"
        return f"{text}: `{self.source}`" if self.source else text


@dataclass
class BlockingCall:
    """A call known to block that ran on the event loop's thread."""

    what: str
    hint: str
    location: Location | None
    count: int = 1


@dataclass
class Step:
    """One run of a loop callback that ran many lines of the student's code."""

    lines: int
    task_name: str | None
    started_at: Location | None
    ended_at: Location | None


# --- which files are the student's -------------------------------------------------------

_INFRASTRUCTURE_DIRS = tuple(
    {str(Path(p).resolve()) + os.sep for key in ("stdlib", "platstdlib", "purelib", "platlib")
     if (p := sysconfig.get_paths().get(key))}
    | {str(Path(__file__).resolve().parent) + os.sep, str(Path(course.recording.__file__).resolve().parent) + os.sep}
)
_STDLIB_DIRS = tuple(
    {str(Path(p).resolve()) + os.sep for key in ("stdlib", "platstdlib") if (p := sysconfig.get_paths().get(key))}
)
_user_file_cache: dict[str, bool] = {}


def _is_notebook_cell(filename: str) -> bool:
    return "ipykernel_" in filename or filename.startswith("<ipython-input")


def is_user_file(filename: str) -> bool:
    """True for the student's code: notebook cells and files outside Python and its packages."""
    known = _user_file_cache.get(filename)
    if known is None:
        if filename.startswith("<"):
            known = filename.startswith(("<ipython-input", "<string>", "<stdin>"))
        else:
            resolved = str(Path(filename).resolve())
            known = not resolved.startswith(_INFRASTRUCTURE_DIRS) and "site-packages" not in resolved
        _user_file_cache[filename] = known
    return known


def is_machinery_file(filename: str) -> bool:
    """Python's own library (pools, asyncio, threading) or the kernel's packages."""
    resolved = _resolved(filename)
    return resolved.startswith(_STDLIB_DIRS) or _is_infra_package(resolved)


@functools.lru_cache(maxsize=512)
def _resolved(filename: str) -> str:
    return str(Path(filename).resolve())


def user_location(frame: types.FrameType | None) -> Location | None:
    """The innermost frame of the student's code on the stack that led to `frame`."""
    while frame is not None:
        if is_user_file(frame.f_code.co_filename):
            return Location(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)
        frame = frame.f_back
    return None


def coroutine_location(coro: object, outermost: bool = False) -> Location | None:
    """Where a suspended coroutine (and what it awaits) stands, in the student's code.

    The innermost frame of the student's code in the await chain, or the outermost one.
    """
    found = None
    depth = 0
    while coro is not None and depth < 50:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None and is_user_file(frame.f_code.co_filename):
            found = Location(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)
            if outermost:
                return found
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        depth += 1
    return found


# --- the hook -------------------------------------------------------------------------

_BUILTINS = _blocking.builtin_records()
_PYTHON = _blocking.python_records()
_TWINS = _blocking.TWINS
_WRAP_FUTURE = asyncio.futures.wrap_future.__code__
#: Lines of the student's code one step may run when a check sets no budget of its own.
DEFAULT_MAX_STEP_LINES = 200_000
#: A step that runs this many times its budget is stopped where it stands.
RUNAWAY_FACTOR = 4


def _unwatch() -> None:
    sys.setprofile(None)
    sys.settrace(None)


# A process forked from the loop's thread (a process pool) must not inherit the watch.
os.register_at_fork(after_in_child=_unwatch)


class RunawayStep(BaseException):
    """Raised inside a step that ran far past its budget of lines, to stop it."""


def _is_handle_run(frame: types.FrameType) -> bool:
    """True for a frame that runs one loop callback (asyncio's or nest_asyncio's Handle._run)."""
    return isinstance(frame.f_locals.get("self"), asyncio.Handle)


class Watch:
    """The profile hook and line counter for one private loop thread."""

    #: Steps that ran fewer lines than this are not kept; only the longest ones matter.
    KEEP_STEPS_OVER = 1_000

    def __init__(self, loop: "PrivateLoop", max_step_lines: int | None = DEFAULT_MAX_STEP_LINES,
                 tamper_check: Callable[[], list[str]] | None = None) -> None:
        self.loop = loop
        self.tamper_check = tamper_check
        budget = DEFAULT_MAX_STEP_LINES if max_step_lines is None else max_step_lines
        self.stop_after_lines = max(budget, DEFAULT_MAX_STEP_LINES) * RUNAWAY_FACTOR
        self.tampered: list[str] = []
        self.blocking: dict[tuple, BlockingCall] = {}
        self.steps: list[Step] = []
        self.runaway: Location | None = None
        self.step_lines = 0
        self._step_frame: types.FrameType | None = None
        self._step_task: asyncio.Task | None = None
        self._step_location: Location | None = None
        self._inside_blocking: types.FrameType | None = None

    @property
    def inside_step(self) -> bool:
        return self._step_frame is not None

    # The hook runs for every call in the thread: keep the common path short.
    def hook(self, frame: types.FrameType, event: str, arg: object) -> None:
        if event == "c_call":
            if self._step_frame is not None and self._inside_blocking is None:
                self._check_builtin(frame, arg)
        elif event == "call":
            code = frame.f_code
            if self._step_frame is None:
                if code.co_name == "_run" and _is_handle_run(frame):
                    self._begin_step(frame)
            elif self._inside_blocking is None:
                self._check_python(frame, code)
        elif event == "return":
            if frame is self._inside_blocking:
                self._inside_blocking = None
            elif frame is self._step_frame:
                self._end_step()
            elif frame.f_code is _WRAP_FUTURE and isinstance(arg, asyncio.Future):
                self.loop.track_real_work(arg, frame.f_locals.get("future"))

    def tracer(self, frame: types.FrameType, event: str, arg: object):
        """`sys.settrace`'s function: count lines in the student's frames only."""
        if self._step_frame is None or not is_user_file(frame.f_code.co_filename):
            return None
        return self._count_line

    def _count_line(self, frame: types.FrameType, event: str, arg: object):
        if event == "line" and self._step_frame is not None:
            self.step_lines += 1
            if self.step_lines > self.stop_after_lines:
                if self.runaway is None:
                    self.runaway = Location(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)
                    self.loop.stop_run("runaway")
                raise RunawayStep
        return self._count_line

    def _check_python(self, frame: types.FrameType, code: types.CodeType) -> None:
        twin = _TWINS.get(code)
        if twin is not None:
            self._record(*twin, frame.f_back)
            self._inside_blocking = frame
            return
        record = _PYTHON.get(code)
        if record is None:
            return
        if record.called_from == "user" and _called_from_stdlib_or_infra(frame.f_back):
            return
        if record.called_from == "user_or_pools" and _called_from_stdlib_or_infra(frame.f_back) \
                and not frame.f_back.f_code.co_filename.startswith(_POOLS_DIR):
            return
        if record.blocks_if is None or record.blocks_if(frame):
            self._record(record.name, record.hint, frame.f_back)
            self._inside_blocking = frame

    def _check_builtin(self, frame: types.FrameType, func: object) -> None:
        record: Blocking | None = _BUILTINS.get(func) if type(func) is types.BuiltinFunctionType else None
        if record is not None:
            if record.called_from == "anywhere" or not _called_from_stdlib_or_infra(frame):
                self._record(record.name, record.hint, frame)
            return
        name = getattr(func, "__name__", "")
        owner = getattr(func, "__self__", None)
        if name in _blocking.SOCKET_METHODS and isinstance(owner, socket.socket):
            if owner.gettimeout() != 0.0:
                self._record(f"socket.{name.lstrip('_')}() on a blocking socket", _blocking.SOCKETS, frame)
        elif name in _blocking.SQLITE_METHODS and isinstance(owner, (sqlite3.Connection, sqlite3.Cursor)):
            self._record(f"sqlite3 {name}()", _blocking.SQLITE_HINT, frame)
        elif name == "acquire" and type(owner).__name__ == "lock" and owner.locked():
            if not _called_from_stdlib_or_infra(frame):
                self._record("threading.Lock.acquire() of a held lock", _blocking.THREADS, frame)

    def _record(self, what: str, hint: str, frame: types.FrameType | None) -> None:
        location = user_location(frame)
        key = (what, location)
        if key in self.blocking:
            self.blocking[key].count += 1
        else:
            self.blocking[key] = BlockingCall(what, hint, location)

    def _begin_step(self, frame: types.FrameType) -> None:
        self._step_frame = frame
        self.step_lines = 0
        handle = frame.f_locals.get("self")
        callback = getattr(handle, "_callback", None)
        task = getattr(callback, "__self__", None)
        self._step_task = task if isinstance(task, asyncio.Task) else None
        self._step_location = coroutine_location(self._step_task.get_coro(), True) if self._step_task else None

    def _end_step(self) -> None:
        lines = self.step_lines
        self._step_frame = None
        if self.tamper_check is not None and not self.tampered:
            self.tampered = self.tamper_check()
        if lines >= self.KEEP_STEPS_OVER:
            task = self._step_task
            ended = coroutine_location(task.get_coro(), True) if task is not None and not task.done() else None
            started = self._step_location
            if self.runaway is not None and lines > self.stop_after_lines:
                ended = self.runaway
            name = f"{(started or ended).function}()" if (started or ended) else None
            self.steps.append(Step(lines, name, started, ended))
        self._step_task = None


def _called_from_stdlib_or_infra(frame: types.FrameType | None) -> bool:
    """True when the immediate caller is Python's own library or the course's machinery."""
    if frame is None:
        return True
    filename = frame.f_code.co_filename
    return not is_user_file(filename) and ("site-packages" not in filename or _is_infra_package(filename))


_POOLS_DIR = str(Path(concurrent.futures.__file__).resolve().parent)
_INFRA_PACKAGES = ("ipykernel", "IPython", "tornado", "zmq", "traitlets", "jupyter_client", "nest_asyncio")


def _is_infra_package(filename: str) -> bool:
    return any(f"{os.sep}{name}{os.sep}" in filename or filename.endswith(f"{name}.py") for name in _INFRA_PACKAGES)
