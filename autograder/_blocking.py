"""The catalogue of calls that block the thread they run on: one record per call.

The watch (`autograder._watch`) looks every call made on the private loop's thread up here.
Adding a blocking call is one line: `Blocking(func, "how the student wrote it", HINT)`.

`called_from` says whose calls count:

* ``"user"``: only calls made directly by the student's code (Python's own library uses many
  of these in harmless ways: multiprocessing polls with `os.waitpid`, asyncio reads its
  self-pipe with `os.read`);
* ``"user_or_pools"``: calls made by the student's code or by `concurrent.futures` itself
  (`pool.map(...)` waits for each result inside the standard library);
* ``"anywhere"``: calls made by any code on the loop's thread (the course's blocking twins,
  and waits that block whoever makes them).

`blocks_if`, when given, decides from the call's frame whether this call really waits
(`queue.get(block=False)` does not). It must depend on the program alone, never on how far
other threads got: `result()` of a pool job counts as waiting unless the loop itself has
already seen the job finish (the student awaited it), whatever the job's state.
"""
from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import http.client
import os
import queue
import select
import socket
import subprocess
import threading
import time
import types
import urllib.request
from dataclasses import dataclass
from typing import Callable, Literal

import course.recording

SLEEP = "use `await asyncio.sleep(...)`, which lets other tasks run while this one waits"
EXECUTOR = "run it with `await asyncio.to_thread(...)` or `loop.run_in_executor(...)`"
SOCKETS = "use asyncio streams (`asyncio.open_connection`) or an async client library"
FILES = f"read and write files off the loop: {EXECUTOR}"
THREADS = "use the asyncio equivalents (asyncio.Event, asyncio.Queue, `await` a task) or " + EXECUTOR
SUBPROCESS = "use `asyncio.create_subprocess_exec` and `await proc.wait()` or `await proc.communicate()`"
POOL_RESULTS = ("await the pool's work instead: `await loop.run_in_executor(pool, func, arg)` for each "
                "piece, or `await asyncio.wrap_future(pool.submit(func, arg))`")


def _waits(frame: types.FrameType) -> bool:
    """Not the non-blocking forms: `queue.get(block=False)`, `acquire(timeout=0)`..."""
    local = frame.f_locals
    if local.get("block") is False or local.get("blocking") is False:
        return False
    return local.get("timeout") != 0


def _running_loop():
    return asyncio.events._get_running_loop()


def _future_not_awaited(frame: types.FrameType) -> bool:
    """`result()` of a pool job whose end the loop has not seen: it waits for the job."""
    if not _waits(frame):
        return False
    wrapper = getattr(_running_loop(), "wrapped_sources", {}).get(frame.f_locals.get("self"))
    return wrapper is None or not wrapper.done()


def _pool_work_not_awaited(frame: types.FrameType) -> bool:
    """`shutdown(wait=True)` while the loop still awaits pool jobs: it waits for them all."""
    if frame.f_locals.get("wait") is False:
        return False
    awaits = getattr(_running_loop(), "awaits_pool_work", None)
    return bool(awaits and awaits())


@dataclass(frozen=True)
class Blocking:
    """A call that blocks its thread: what to call it in a message, and how to fix it."""

    func: Callable
    name: str
    hint: str
    called_from: Literal["user", "user_or_pools", "anywhere"] = "user"
    blocks_if: Callable[[types.FrameType], bool] | None = _waits


CATALOGUE: list[Blocking] = [
    Blocking(time.sleep, "time.sleep()", SLEEP, "anywhere", None),
    Blocking(builtins.input, "input()", "an async program cannot stop to wait for the keyboard: take the "
             "input before starting the event loop, or read it in an executor", "anywhere", None),
    Blocking(os.system, "os.system()", "use `asyncio.create_subprocess_shell` and `await proc.wait()`", "anywhere", None),
    Blocking(select.select, "select.select()", "let the event loop do the waiting: `await` asyncio I/O instead",
             "anywhere", None),
    Blocking(os.waitpid, "os.waitpid()", SUBPROCESS, blocks_if=None),
    Blocking(os.wait, "os.wait()", SUBPROCESS, blocks_if=None),
    Blocking(builtins.open, "open() of a file", FILES, blocks_if=None),
    Blocking(os.open, "os.open() of a file", FILES, blocks_if=None),
    Blocking(os.read, "os.read()", FILES, blocks_if=None),
    Blocking(os.write, "os.write()", FILES, blocks_if=None),
    Blocking(subprocess.run, "subprocess.run()", SUBPROCESS),
    Blocking(subprocess.call, "subprocess.call()", SUBPROCESS),
    Blocking(subprocess.check_call, "subprocess.check_call()", SUBPROCESS),
    Blocking(subprocess.check_output, "subprocess.check_output()", SUBPROCESS),
    Blocking(subprocess.getoutput, "subprocess.getoutput()", SUBPROCESS),
    Blocking(subprocess.Popen.wait, "Popen.wait()", SUBPROCESS),
    Blocking(subprocess.Popen.communicate, "Popen.communicate()", SUBPROCESS),
    Blocking(threading.Event.wait, "threading.Event.wait()", THREADS),
    Blocking(threading.Condition.wait, "threading.Condition.wait()", THREADS),
    Blocking(threading.Semaphore.acquire, "threading.Semaphore.acquire()", "use asyncio.Semaphore with `async with`"),
    Blocking(threading.Thread.join, "Thread.join()", THREADS),
    Blocking(threading.Barrier.wait, "threading.Barrier.wait()", THREADS),
    Blocking(queue.Queue.get, "queue.Queue.get()", "use asyncio.Queue and `await queue.get()`"),
    Blocking(queue.Queue.put, "queue.Queue.put()", "use asyncio.Queue and `await queue.put(...)`"),
    Blocking(queue.Queue.join, "queue.Queue.join()", "use asyncio.Queue and `await queue.join()`"),
    Blocking(concurrent.futures.Future.result, "result() of a pool's future, not awaited", POOL_RESULTS,
             "user_or_pools", _future_not_awaited),
    Blocking(concurrent.futures.Future.exception, "exception() of a pool's future, not awaited", POOL_RESULTS,
             "user_or_pools", _future_not_awaited),
    Blocking(concurrent.futures.wait, "concurrent.futures.wait()", "use `await asyncio.wait(...)` or asyncio.gather"),
    Blocking(concurrent.futures.as_completed, "concurrent.futures.as_completed()", "use asyncio.as_completed"),
    Blocking(concurrent.futures.ThreadPoolExecutor.shutdown, "shutdown() of a thread pool whose jobs were not awaited",
             "await every job before the pool shuts down (leaving a `with` block shuts it down and waits)",
             "anywhere", _pool_work_not_awaited),
    Blocking(concurrent.futures.ProcessPoolExecutor.shutdown, "shutdown() of a process pool whose jobs were not awaited",
             "await every job before the pool shuts down (leaving a `with` block shuts it down and waits)",
             "anywhere", _pool_work_not_awaited),
    Blocking(socket.create_connection, "socket.create_connection()", SOCKETS),
    Blocking(socket.getaddrinfo, "socket.getaddrinfo()", "use `await loop.getaddrinfo(...)`"),
    Blocking(socket.gethostbyname, "socket.gethostbyname()", "use `await loop.getaddrinfo(...)`", blocks_if=None),
    Blocking(urllib.request.urlopen, "urllib.request.urlopen()", "use an async HTTP client, or " + EXECUTOR),
    Blocking(http.client.HTTPConnection.request, "http.client request", SOCKETS),
    Blocking(http.client.HTTPConnection.getresponse, "http.client getresponse()", SOCKETS),
]
try:  # in a Jupyter kernel, input() is the kernel's raw_input, which waits for the browser
    from ipykernel.kernelbase import Kernel as _Kernel

    CATALOGUE.append(Blocking(_Kernel.raw_input, "input()", CATALOGUE[1].hint, "anywhere", None))
except ImportError:
    pass
try:  # and a notebook's open() is IPython's wrapper around io.open
    from IPython.core.interactiveshell import _modified_open

    CATALOGUE.append(Blocking(_modified_open, "open() of a file", FILES, blocks_if=None))
except ImportError:
    pass

#: Methods that block when called on objects of these kinds: (method names, owner test, what, hint).
SOCKET_METHODS = frozenset({"recv", "recv_into", "recvfrom", "recvfrom_into", "send", "sendall", "sendto",
                            "connect", "connect_ex", "_accept", "makefile"})
SQLITE_METHODS = frozenset({"execute", "executemany", "executescript", "commit", "fetchall", "fetchone", "fetchmany"})
SQLITE_HINT = "sqlite3 blocks while the database works: " + EXECUTOR

#: The course's blocking twins (marked with @course.recording.blocking_twin), flagged wherever
#: they are called from. The dict is shared, so twins defined later are seen too.
TWINS: dict = course.recording.BLOCKING_TWINS


def builtin_records() -> dict[object, Blocking]:
    """Catalogue entries for C functions, by function object."""
    return {b.func: b for b in CATALOGUE if isinstance(b.func, types.BuiltinFunctionType)}


def python_records() -> dict[types.CodeType, Blocking]:
    """Catalogue entries for Python functions, by code object."""
    return {b.func.__code__: b for b in CATALOGUE if hasattr(b.func, "__code__")}


def register_blocking(func: types.FunctionType, name: str, hint: str) -> None:
    """Treat `func` as a blocking call wherever it runs on the loop (a test's own helpers)."""
    TWINS[func.__code__] = (name, hint)
