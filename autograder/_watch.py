"""Watching the private loop's thread: blocking calls and long steps, deterministically.

A profile hook (`sys.setprofile`, set in the loop's thread only) sees every call made
while a loop callback runs (a "step": one `Handle._run`). It

* records calls known to block (time.sleep, blocking sockets, subprocess and thread
  waits, file opens, the course's blocking twins...), however short, with the first
  frame of the student's code that led to them;
* measures each step's CPU time with `time.thread_time`, which counts only the CPU
  this thread used: neither other processes on a busy machine nor a container's CPU
  quota pausing the process change it.

Nothing here depends on wall-clock time, so the verdict does not depend on machine load.
"""
from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import http.client
import linecache
import os
import queue
import select
import socket
import sqlite3
import subprocess
import sys
import sysconfig
import threading
import time
import types
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import course.services

_thread_time = time.thread_time


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
    """One run of a loop callback, with the CPU time it held the thread."""

    cpu_seconds: float
    task_name: str | None
    started_at: Location | None
    ended_at: Location | None


# --- which files are the student's -------------------------------------------------------

_INFRASTRUCTURE_DIRS = tuple(
    {str(Path(p).resolve()) + os.sep for key in ("stdlib", "platstdlib", "purelib", "platlib")
     if (p := sysconfig.get_paths().get(key))}
    | {str(Path(__file__).resolve().parent) + os.sep, str(Path(course.services.__file__).resolve().parent) + os.sep}
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


def _is_stdlib_file(filename: str) -> bool:
    return filename.startswith("<frozen") or str(Path(filename).resolve()).startswith(_STDLIB_DIRS)


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


# --- what blocks ------------------------------------------------------------------------

_SLEEP_HINT = "use `await asyncio.sleep(...)`, which lets other tasks run while this one waits"
_EXECUTOR_HINT = "run it with `await asyncio.to_thread(...)` or `loop.run_in_executor(...)`"
_SOCKET_HINT = "use asyncio streams (`asyncio.open_connection`) or an async client library"
_FILE_HINT = f"read and write files off the loop: {_EXECUTOR_HINT}"
_THREAD_HINT = "use the asyncio equivalents (asyncio.Event, asyncio.Queue, `await` a task) or " + _EXECUTOR_HINT

# Builtins that block whoever calls them.
_C_BLOCKING: dict[object, tuple[str, str]] = {
    time.sleep: ("time.sleep()", _SLEEP_HINT),
    builtins.input: ("input()", "an async program cannot stop to wait for the keyboard: "
                     "take the input before starting the event loop, or read it in an executor"),
    os.system: ("os.system()", "use `asyncio.create_subprocess_shell` and `await proc.wait()`"),
    select.select: ("select.select()", "let the event loop do the waiting: `await` asyncio I/O instead"),
}
# Builtins that block only when the student's code (or a library) calls them directly:
# Python's own library uses them in non-blocking ways (multiprocessing polls with waitpid).
_C_BLOCKING_FROM_USER: dict[object, tuple[str, str]] = {
    os.waitpid: ("os.waitpid()", "use `asyncio.create_subprocess_exec` and `await proc.wait()`"),
    os.wait: ("os.wait()", "use `asyncio.create_subprocess_exec` and `await proc.wait()`"),
    builtins.open: ("open() of a file", _FILE_HINT),
    os.open: ("os.open() of a file", _FILE_HINT),
    os.read: ("os.read()", _FILE_HINT),
    os.write: ("os.write()", _FILE_HINT),
}
_SOCKET_METHODS = {"recv", "recv_into", "recvfrom", "recvfrom_into", "send", "sendall", "sendto",
                   "connect", "connect_ex", "_accept"}
_SQLITE_METHODS = {"execute", "executemany", "executescript", "commit", "fetchall", "fetchone", "fetchmany"}

# Python functions that block, named for the student, with a hint.
_PY_BLOCKING_SPECS: list[tuple[object, str, str]] = [
    (subprocess.run, "subprocess.run()", "use `asyncio.create_subprocess_exec` and `await proc.communicate()`"),
    (subprocess.call, "subprocess.call()", "use `asyncio.create_subprocess_exec`"),
    (subprocess.check_output, "subprocess.check_output()", "use `asyncio.create_subprocess_exec`"),
    (subprocess.Popen.wait, "Popen.wait()", "use `asyncio.create_subprocess_exec` and `await proc.wait()`"),
    (subprocess.Popen.communicate, "Popen.communicate()", "use `await proc.communicate()` of an asyncio subprocess"),
    (threading.Event.wait, "threading.Event.wait()", _THREAD_HINT),
    (threading.Condition.wait, "threading.Condition.wait()", _THREAD_HINT),
    (threading.Semaphore.acquire, "threading.Semaphore.acquire()", "use asyncio.Semaphore with `async with`"),
    (threading.Thread.join, "Thread.join()", _THREAD_HINT),
    (threading.Barrier.wait, "threading.Barrier.wait()", _THREAD_HINT),
    (queue.Queue.get, "queue.Queue.get()", "use asyncio.Queue and `await queue.get()`"),
    (queue.Queue.put, "queue.Queue.put()", "use asyncio.Queue and `await queue.put(...)`"),
    (concurrent.futures.Future.result, "concurrent.futures.Future.result()",
     "`await asyncio.wrap_future(future)` (or use loop.run_in_executor, which returns an awaitable)"),
    (concurrent.futures.wait, "concurrent.futures.wait()", "use `await asyncio.wait(...)` or asyncio.gather"),
    (concurrent.futures.as_completed, "concurrent.futures.as_completed()", "use asyncio.as_completed"),
    (socket.create_connection, "socket.create_connection()", _SOCKET_HINT),
    (socket.getaddrinfo, "socket.getaddrinfo()", "use `await loop.getaddrinfo(...)`"),
    (urllib.request.urlopen, "urllib.request.urlopen()", "use an async HTTP client, or " + _EXECUTOR_HINT),
    (http.client.HTTPConnection.request, "http.client request", _SOCKET_HINT),
    (http.client.HTTPConnection.getresponse, "http.client getresponse()", _SOCKET_HINT),
]
_PY_BLOCKING: dict[types.CodeType, tuple[str, str]] = {
    getattr(func, "__code__"): (name, hint) for func, name, hint in _PY_BLOCKING_SPECS
}
try:  # in a Jupyter kernel, input() is the kernel's raw_input, which waits for the browser
    from ipykernel.kernelbase import Kernel as _Kernel

    _PY_BLOCKING[_Kernel.raw_input.__code__] = _C_BLOCKING[builtins.input]
except ImportError:
    pass
try:  # and a notebook's open() is IPython's wrapper around io.open
    from IPython.core.interactiveshell import _modified_open

    _PY_BLOCKING[_modified_open.__code__] = _C_BLOCKING_FROM_USER[builtins.open]
except ImportError:
    pass

# A process forked from the loop's thread (a process pool) must not inherit the hook.
os.register_at_fork(after_in_child=lambda: sys.setprofile(None))
# The course's blocking twins (marked with @course.services.blocking_twin): flagged wherever
# they are called from. The dict is shared, so twins defined later are seen too.
_PY_BLOCKING_ANYWHERE: dict = course.services.BLOCKING_TWINS


def register_blocking(func: types.FunctionType, name: str, hint: str) -> None:
    """Treat `func` as a blocking call wherever it runs on the loop."""
    _PY_BLOCKING_ANYWHERE[func.__code__] = (name, hint)


def _is_handle_run(frame: types.FrameType) -> bool:
    """True for a frame that runs one loop callback (asyncio's or nest_asyncio's Handle._run)."""
    return isinstance(frame.f_locals.get("self"), asyncio.Handle)


class Watch:
    """The profile hook for one private loop thread; collects blocking calls and steps."""

    #: Steps shorter than this (CPU seconds) are not kept; only the longest ones matter.
    KEEP_STEPS_OVER = 0.005

    def __init__(self, tamper_check: Callable[[], list[str]] | None = None) -> None:
        self.tamper_check = tamper_check
        self.tampered: list[str] = []
        self.blocking: dict[tuple, BlockingCall] = {}
        self.steps: list[Step] = []
        self.longest_step = 0.0
        self._step_frame: types.FrameType | None = None
        self._step_started = 0.0
        self._step_task: asyncio.Task | None = None
        self._step_location: Location | None = None
        self._inside_blocking: types.FrameType | None = None

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
                spec = _PY_BLOCKING_ANYWHERE.get(code)
                if spec is None and code in _PY_BLOCKING and not _called_from_stdlib_or_infra(frame.f_back):
                    spec = _PY_BLOCKING[code]
                if spec is not None and _really_blocks(code, frame):
                    self._record(spec, frame.f_back)
                    self._inside_blocking = frame
        elif event == "return":
            if frame is self._inside_blocking:
                self._inside_blocking = None
            elif frame is self._step_frame:
                self._end_step()

    def _check_builtin(self, frame: types.FrameType, func: object) -> None:
        spec = _C_BLOCKING.get(func) if type(func) is types.BuiltinFunctionType else None
        if spec is None:
            name = getattr(func, "__name__", "")
            owner = getattr(func, "__self__", None)
            if name in _SOCKET_METHODS and isinstance(owner, socket.socket):
                if owner.gettimeout() != 0.0:
                    spec = (f"socket.{name.lstrip('_')}() on a blocking socket", _SOCKET_HINT)
            elif name in _SQLITE_METHODS and isinstance(owner, (sqlite3.Connection, sqlite3.Cursor)):
                spec = (f"sqlite3 {name}()", "sqlite3 blocks while the database works: " + _EXECUTOR_HINT)
            elif name == "acquire" and type(owner).__name__ == "lock" and owner.locked():
                if not _called_from_stdlib_or_infra(frame):
                    spec = ("threading.Lock.acquire() of a held lock", _THREAD_HINT)
            elif type(func) is types.BuiltinFunctionType and func in _C_BLOCKING_FROM_USER:
                if not _called_from_stdlib_or_infra(frame):
                    spec = _C_BLOCKING_FROM_USER[func]
        if spec is not None:
            self._record(spec, frame)

    def _record(self, spec: tuple[str, str], frame: types.FrameType) -> None:
        what, hint = spec
        location = user_location(frame)
        key = (what, location)
        if key in self.blocking:
            self.blocking[key].count += 1
        else:
            self.blocking[key] = BlockingCall(what, hint, location)

    def _begin_step(self, frame: types.FrameType) -> None:
        self._step_frame = frame
        handle = frame.f_locals.get("self")
        callback = getattr(handle, "_callback", None)
        task = getattr(callback, "__self__", None)
        self._step_task = task if isinstance(task, asyncio.Task) else None
        self._step_location = coroutine_location(self._step_task.get_coro(), True) if self._step_task else None
        self._step_started = _thread_time()

    def _end_step(self) -> None:
        cpu = _thread_time() - self._step_started
        self._step_frame = None
        if self.tamper_check is not None and not self.tampered:
            self.tampered = self.tamper_check()
        if cpu > self.longest_step:
            self.longest_step = cpu
        if cpu >= self.KEEP_STEPS_OVER:
            task = self._step_task
            ended = coroutine_location(task.get_coro(), True) if task is not None and not task.done() else None
            started = self._step_location
            name = f"{(started or ended).function}()" if (started or ended) else None
            self.steps.append(Step(cpu, name, started, ended))
        self._step_task = None


def _called_from_stdlib_or_infra(frame: types.FrameType | None) -> bool:
    """True when the immediate caller is Python's own library or the course's machinery."""
    if frame is None:
        return True
    filename = frame.f_code.co_filename
    return not is_user_file(filename) and ("site-packages" not in filename or _is_infra_package(filename))


_INFRA_PACKAGES = ("ipykernel", "IPython", "tornado", "zmq", "traitlets", "jupyter_client", "nest_asyncio")


def _is_infra_package(filename: str) -> bool:
    return any(f"{os.sep}{name}{os.sep}" in filename or filename.endswith(f"{name}.py") for name in _INFRA_PACKAGES)


def _really_blocks(code: types.CodeType, frame: types.FrameType) -> bool:
    """Skip the non-blocking forms: `queue.get(block=False)`, `acquire(timeout=0)`..."""
    local = frame.f_locals
    if local.get("block") is False or local.get("blocking") is False:
        return False
    return local.get("timeout") != 0
