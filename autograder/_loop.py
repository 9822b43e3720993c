"""The autograder's private event loop, with a virtual or a real clock.

With the virtual clock, time stands still while code runs and jumps straight to the next
timer when every task is waiting, so "ten 1-second downloads at once" take exactly 1.0 s
of loop time, at once and on any machine.

Real work is waited for in real time, without moving the clock: executor jobs
(`run_in_executor`, `to_thread`, `wrap_future`), subprocesses, pipes, threads the student
started, and sockets whose other end is not served by this same loop. A socket whose peer
is another socket of this loop (a server and its clients in one check) is not real work:
whatever it waits for, this loop itself must produce. The clock jumps only when nothing real
is outstanding, or when real work has been silent for `REAL_SILENCE` seconds (a peer that
never answers), so that the timeouts around it can fire.

The loop-time limit is loop state (`deadline`), not a timer: a jump never goes past it, and
reaching it cancels the run. A loop with nothing ready, no timer and no real work can never
make progress again: it is `stalled`, and the run is stopped at once.

The class takes its running machinery from `asyncio.base_events.BaseEventLoop` directly, so
a student's `nest_asyncio.apply()` (which patches the kernel loop's class) cannot change it.
"""
from __future__ import annotations

import asyncio
import functools
import selectors
import socket
import sys
import threading
import time
import weakref
from asyncio import base_events, selector_events
from typing import Callable, Literal

Clock = Literal["virtual", "real"]

#: Longest real wait in one select, so the loop notices its limits while waiting.
_REAL_WAIT_SLICE = 0.05
#: Real seconds of silence from pending real work after which the clock may jump anyway.
REAL_SILENCE = 5.0
#: Loop turns with ready callbacks but no I/O in a row (a task polling with `sleep(0)`) after
#: which the clock moves to the next timer, as time would pass while the task spins.
SPIN_TURNS = 100
_monotonic = time.monotonic
_accept_connection = selector_events.BaseSelectorEventLoop._accept_connection


class _VirtualSelector:
    """Wraps the real selector: polls it, and when nothing real is pending advances the clock."""

    def __init__(self, loop: "PrivateLoop", real: selectors.BaseSelector) -> None:
        self._loop = loop
        self._real = real

    def select(self, timeout: float | None = None) -> list:
        loop = self._loop
        if loop.clock == "real":
            return self._real.select(_REAL_WAIT_SLICE if timeout is None else min(timeout, _REAL_WAIT_SLICE))
        events = self._real.select(0)
        if events:
            loop.heard_from_real_work()
            return events
        if timeout == 0:
            loop.spun()
            return events
        if loop.real_work_pending() and (timeout is None or not loop.real_work_silent()):
            # Wait for the real work (with no timer to move to, however long it is silent).
            events = self._real.select(_REAL_WAIT_SLICE)
            if events:
                loop.heard_from_real_work()
            return events
        loop.jump(timeout)
        return []

    def __getattr__(self, name: str):
        return getattr(self._real, name)


class PrivateLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose `time()` is virtual (default) or real."""

    run_forever = base_events.BaseEventLoop.run_forever
    run_until_complete = base_events.BaseEventLoop.run_until_complete
    _run_once = base_events.BaseEventLoop._run_once
    _check_running = base_events.BaseEventLoop._check_running

    def __init__(self, clock: Clock = "virtual", deadline: float = float("inf"),
                 on_limit: Callable[[str], None] | None = None) -> None:
        try:
            super().__init__()
        except OSError:
            self._closed = True  # half built (no descriptors left): nothing to close later
            raise
        self.clock: Clock = clock
        #: Loop time at which the run is stopped (virtual clock only).
        self.deadline = deadline
        #: Called (soon, on the loop) with the reason when the run must stop.
        self.on_limit = on_limit
        self.limit_reached: str | None = None
        self.executor_jobs = 0
        self._subprocesses: list[asyncio.SubprocessTransport] = []
        self._own_sockets: "weakref.WeakSet[socket.socket]" = weakref.WeakSet()
        self._tracked: "weakref.WeakSet[asyncio.Future]" = weakref.WeakSet()
        #: Concurrent futures (pool jobs) the loop awaits, and the loop's future for each.
        self.wrapped_sources: "weakref.WeakKeyDictionary[object, asyncio.Future]" = weakref.WeakKeyDictionary()
        self._threads_before = set(threading.enumerate())
        self._virtual_now = 0.0
        self._real_start = _monotonic()
        self._last_heard = _monotonic()
        self._spin_turns = 0
        self._selector = _VirtualSelector(self, self._selector)

    # --- the clock ------------------------------------------------------------------------

    def time(self) -> float:
        if self.clock == "virtual":
            return self._virtual_now
        return _monotonic() - self._real_start

    def jump(self, timeout: float | None) -> None:
        """Nothing real is outstanding: move the clock to the next timer (never past the deadline)."""
        self._spin_turns = 0
        self._last_heard = _monotonic()
        if timeout is None:
            self.stop_run("stalled")
            return
        target = self._virtual_now + timeout
        if target >= self.deadline:
            self._virtual_now = max(self._virtual_now, self.deadline)
            self.stop_run("deadline")
            return
        self._virtual_now = target

    def spun(self) -> None:
        """A turn with ready callbacks and no I/O: after many in a row, let time pass."""
        self._spin_turns += 1
        if self._spin_turns < SPIN_TURNS or not self._scheduled or self.real_work_pending():
            return
        self.jump(max(0.0, self._scheduled[0].when() - self._virtual_now))

    def stop_run(self, why: str) -> None:
        """Stop the run: the deadline passed, nothing can ever happen, or a step ran away."""
        if self.limit_reached is None:
            self.limit_reached = why
            if self.on_limit is not None:
                self.call_soon(self.on_limit, why)

    def allow(self, seconds: float, then: Callable[[str], None]) -> None:
        """Give the run `seconds` more of loop time (clean-up after a stop), then call `then`."""
        self.deadline = self._virtual_now + seconds if self.clock == "virtual" else float("inf")
        self.limit_reached = None
        self.on_limit = then

    # --- real work --------------------------------------------------------------------------

    def heard_from_real_work(self) -> None:
        self._spin_turns = 0
        self._last_heard = _monotonic()

    def real_work_silent(self) -> bool:
        """Real work has been pending without a sound for `REAL_SILENCE` seconds."""
        return _monotonic() - self._last_heard > REAL_SILENCE

    def real_work_pending(self) -> bool:
        """Is anything outside this loop's own code still working for it?"""
        return bool(self.executor_jobs or self._running_subprocesses() or self._external_io()
                    or self._student_threads())

    def run_in_executor(self, executor, func, *args):
        """Count executor jobs in flight: the virtual clock must not jump while they run."""
        future = super().run_in_executor(executor, func, *args)
        self.track_real_work(future)
        return future

    def awaits_pool_work(self) -> bool:
        """Pool jobs the loop was asked to await have not all finished, as far as it has seen."""
        return self.executor_jobs > 0

    def track_real_work(self, future: asyncio.Future, source: object = None) -> None:
        """`future` will be completed from outside the loop (a thread, a process), when the
        concurrent future `source` (if given) is."""
        if source is not None:
            self.wrapped_sources[source] = future
        if future.done() or future in self._tracked:
            return
        self._tracked.add(future)
        self.executor_jobs += 1
        future.add_done_callback(self._real_work_done)

    def _real_work_done(self, _future: asyncio.Future) -> None:
        self.executor_jobs -= 1
        self.heard_from_real_work()

    # Sockets used through the low-level `loop.sock_*` calls belong to this loop too.
    async def sock_accept(self, sock):
        self._own_sockets.add(sock)
        conn, address = await super().sock_accept(sock)
        self._own_sockets.add(conn)
        return conn, address

    async def sock_connect(self, sock, address):
        self._own_sockets.add(sock)
        return await super().sock_connect(sock, address)

    async def sock_recv(self, sock, n):
        self._own_sockets.add(sock)
        return await super().sock_recv(sock, n)

    async def sock_sendall(self, sock, data):
        self._own_sockets.add(sock)
        return await super().sock_sendall(sock, data)

    async def _make_subprocess_transport(self, *args, **kwargs):
        transport = await super()._make_subprocess_transport(*args, **kwargs)
        self._subprocesses.append(transport)
        return transport

    def _running_subprocesses(self) -> list[asyncio.SubprocessTransport]:
        return [t for t in self._subprocesses if t.get_returncode() is None]

    def _student_threads(self) -> bool:
        """Threads started during the run that are still working for it.

        Every thread counts but the machinery of Python's pools, asyncio and the kernel, whose
        threads wait idle for work (their jobs are counted as executor jobs instead).
        """
        from autograder._watch import is_machinery_file

        me = threading.current_thread()  # the loop's own thread
        for thread in threading.enumerate():
            if thread is me or thread in self._threads_before or not thread.is_alive():
                continue
            code = _code_of(getattr(thread, "_target", None) or type(thread).run)
            if code is not None and not is_machinery_file(code.co_filename):
                return True
        return False

    def _external_io(self) -> bool:
        """A registered file descriptor whose other end this loop does not hold.

        A connected socket is the loop's own business only when the socket at its other end
        (same two addresses, swapped) is this loop's too. A connection the kernel has not yet
        handed to the listening server (a full accept queue) has no such counterpart yet: it
        is real work, waited for in real time.
        """
        waiting = []
        for key in self._selector.get_map().values():
            if key.fd == self._ssock.fileno():
                continue
            for handle in key.data:
                if handle is None or handle.cancelled() or _is_listening(handle):
                    continue  # a listening socket waits for clients: this loop's come from here
                sock = _socket_of(handle)
                if sock is None:
                    return True
                waiting.append(sock)
        if not waiting:
            return False
        own = self._own_connections(waiting)
        return any(_ends(sock)[::-1] not in own for sock in waiting)

    def _own_connections(self, waiting: list[socket.socket]) -> set:
        """(local, peer) address pairs of every connected socket this loop holds."""
        sockets = [*self._own_sockets, *waiting]
        sockets += [t._sock for t in list(self._transports.values()) if isinstance(getattr(t, "_sock", None), socket.socket)]
        return {_ends(sock) for sock in sockets if sock.fileno() != -1}

    # --- what the student left open ---------------------------------------------------------

    def open_resources(self) -> list[str]:
        """Servers still listening, connections and subprocesses still open, in words."""
        found = []
        for key in self._selector.get_map().values():
            reader = key.data[0]
            if reader is not None and _is_listening(reader):
                found.append(f"a server still listening on {_describe(_name(reader._args[1]))}")
        for transport in list(self._transports.values()):
            if transport.is_closing():
                continue
            sock = getattr(transport, "_sock", None)
            if isinstance(sock, socket.socket):
                found.append(f"an open connection {_describe(_name(sock))} -> {_describe(_peer(sock))}")
        for transport in self._running_subprocesses():
            found.append(f"a subprocess still running (pid {transport.get_pid()})")
        return found

    def close_resources(self) -> None:
        """Close what the student left open: listening sockets, transports, subprocesses."""
        for transport in self._subprocesses:
            if transport.get_returncode() is None:
                try:
                    transport.kill()
                except ProcessLookupError:
                    pass
            transport.close()
        for transport in list(self._transports.values()):
            transport.abort() if hasattr(transport, "abort") else transport.close()
        for key in list(self._selector.get_map().values()):
            reader = key.data[0]
            if reader is not None and _is_listening(reader):
                listening = reader._args[1]
                self._remove_reader(key.fd)
                listening.close()


def _is_listening(handle: asyncio.Handle) -> bool:
    return getattr(handle._callback, "__func__", None) is _accept_connection


def _socket_of(handle: asyncio.Handle) -> socket.socket | None:
    """The socket a reader or writer waits on: a transport's, or one passed to `loop.sock_*`."""
    owner = getattr(handle._callback, "__self__", None)
    sock = getattr(owner, "_sock", None)
    if isinstance(sock, socket.socket):
        return sock
    return next((arg for arg in handle._args or () if isinstance(arg, socket.socket)), None)


def _code_of(target: object):
    """The code a thread runs, through partials and bound methods."""
    while isinstance(target, functools.partial):
        target = target.func
    target = getattr(target, "__func__", target)
    return getattr(target, "__code__", None)


def _name(sock: socket.socket):
    try:
        return sock.getsockname()
    except OSError:
        return None


def _peer(sock: socket.socket):
    try:
        return sock.getpeername()
    except OSError:
        return None


def _ends(sock: socket.socket) -> tuple:
    """(local address, peer address) of a socket; a socket with no peer matches nothing."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return (object(), None)
    return (_name(sock), _peer(sock) or object())


def _describe(address) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return repr(address)


if sys.platform == "win32":  # pragma: no cover - the course runs on Linux and macOS
    raise ImportError("the autograder's private loop needs a selector event loop (Linux or macOS)")
