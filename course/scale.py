"""Many concurrent connections served by tasks or by one thread per connection, measured.

Every measurement runs in fresh child processes, so the notebook's kernel never holds
thousands of threads or sockets, and whatever a run starts is stopped and reaped with it:

- a **server** process serves `connections` connections on 127.0.0.1, either with asyncio
  streams (one task per connection) or with blocking sockets (one thread per connection),
  and measures how much its memory grew once every connection had its handler;
- a **client** process (always asyncio, the same for both servers) opens the connections,
  waits until each has had one reply (the start-up time), then sends requests on all of
  them for a fixed time (the requests per second).

Where the descriptor limit (RLIMIT_NOFILE, raised to its hard limit in the children) cannot
hold that many sockets, the server runs sleepers instead: idle handlers with no socket,
which cost the same task or thread, and no requests are measured.

    measurement = await course.scale.measure("threads", 1000)
    measurement.resident_per_connection       # bytes of memory in use per connection

The seam between the processes is a `ServerReport` or `ClientReport` as one JSON line.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import selectors
import socket
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass
from typing import AsyncIterator, Literal, Sequence

from course import children

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

HOST = "127.0.0.1"
#: The measurements read /proc/self/status and resource limits: Linux only.
SUPPORTED = sys.platform.startswith("linux")
Model = Literal["tasks", "threads"]
MODELS: tuple[Model, Model] = ("tasks", "threads")
#: Descriptors a child keeps for itself besides the connections (stdio, the loop, pipes).
_SPARE_DESCRIPTORS = 64
#: Threads kept free for everything else when a cap on threads is in force.
_SPARE_THREADS = 32
#: Connections the client opens at a time while connecting (half the servers' listen backlog).
_CONNECT_WINDOW = 128
_BACKLOG = 2 * _CONNECT_WINDOW
#: Real seconds after which a measurement is abandoned (its processes are killed).
_TIMEOUT = 120.0
#: Real seconds a measurement may always take, even once compare()'s budget is spent.
_LEAST_RUN = 10.0


@dataclass
class ServerReport:
    """What the server process measured."""

    started: int                 # handlers that started
    resident_bytes: int          # growth of VmRSS from listening to the last handler started
    reserved_bytes: int          # growth of VmSize over the same span
    startup_seconds: float       # from the first handler asked for to the last one started
    error: str | None = None     # why fewer handlers started than asked, if so


@dataclass
class ClientReport:
    """What the client process measured."""

    answered: int                # connections that got their first reply
    startup_seconds: float       # first connect to the last first reply
    requests: int                # replies received during the timed phase
    seconds: float               # length of the timed phase


@dataclass
class Measurement:
    """One run: `connections` served by `model`, over real sockets or as sleepers."""

    model: Model
    connections: int
    kind: Literal["sockets", "sleepers"]
    started: int
    startup_seconds: float
    resident_bytes: int
    reserved_bytes: int
    requests_per_second: float | None
    error: str | None = None
    runs: int = 1                # how many runs these figures are the medians of

    @property
    def resident_per_connection(self) -> float:
        """Bytes of memory in use per connection (VmRSS growth / handlers started)."""
        return self.resident_bytes / max(self.started, 1)

    @property
    def reserved_per_connection(self) -> float:
        """Bytes of address space reserved per connection (VmSize growth / handlers started)."""
        return self.reserved_bytes / max(self.started, 1)


def memory() -> tuple[int, int]:
    """(VmRSS, VmSize) of this process in bytes, from /proc/self/status (Linux)."""
    sizes = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmSize"):
                sizes[name] = int(value.split()[0]) * 1024
    return sizes["VmRSS"], sizes["VmSize"]


def descriptor_limit() -> tuple[int, int]:
    """The (soft, hard) limit on open files of this process."""
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def sockets_fit(connections: int) -> bool:
    """True if a child may open `connections` sockets (after raising its soft limit to the hard one)."""
    _soft, hard = descriptor_limit()
    return hard == resource.RLIM_INFINITY or hard >= connections + _SPARE_DESCRIPTORS


def thread_room() -> int | None:
    """How many more threads this process may start where something caps them (the soft
    RLIMIT_NPROC, the cgroup's pids.max; a sandbox stops a kernel that reaches its cap), else None."""
    room = []
    if resource is not None:
        soft, _hard = resource.getrlimit(resource.RLIMIT_NPROC)
        if soft != resource.RLIM_INFINITY:
            room.append(soft - threading.active_count())
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/self/cgroup") as membership:
            group = membership.read().split("::", 1)[1].strip()
        with open(f"/sys/fs/cgroup{group}/pids.max") as cap, open(f"/sys/fs/cgroup{group}/pids.current") as used:
            limit = cap.read().strip()
            if limit != "max":
                room.append(int(limit) - int(used.read()))
    return min(room) if room else None


def _raise_descriptor_limit() -> None:
    soft, hard = descriptor_limit()
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class _Growth:
    """Memory at the start, and its growth when the last of `expected` handlers has started."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.started = 0
        self.base = memory()
        self.grown = (0, 0)
        self.began: float | None = None
        self.took = float("nan")
        self.lock = threading.Lock()
        self.all_started = threading.Event()

    def one_started(self) -> None:
        with self.lock:
            if self.began is None:
                self.began = time.perf_counter()
            self.started += 1
            if self.started == self.expected:
                self.took = time.perf_counter() - self.began
                rss, size = memory()
                self.grown = (rss - self.base[0], size - self.base[1])
                self.all_started.set()

    def report(self, error: str | None = None) -> ServerReport:
        if not self.all_started.is_set():
            rss, size = memory()
            self.grown = (rss - self.base[0], size - self.base[1])
        return ServerReport(self.started, self.grown[0], self.grown[1], self.took, error)


# ----------------------------------------------------------------------------- server side
# Each server prints its ServerReport as soon as every handler has started (or the OS refused
# one), then goes on serving until the parent stops it: its tear-down is not measured.


def _listen() -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((HOST, 0))
    listener.listen(_BACKLOG)
    return listener


def _say(message: dict) -> None:
    print(json.dumps(message), flush=True)


def _start_thread(target, *args) -> str | None:
    """Start a daemon thread; the OS's refusal as text, or None."""
    try:
        threading.Thread(target=target, args=args, daemon=True).start()
    except RuntimeError as failure:
        return f"{failure} (after {threading.active_count() - 1} threads)"
    return None


def _serve_threads(connections: int) -> None:
    """Accept `connections` connections, each served by a thread of its own (blocking echo)."""
    listener = _listen()
    _say({"port": listener.getsockname()[1]})
    growth = _Growth(connections)

    def echo(conn: socket.socket) -> None:
        growth.one_started()
        with conn:
            while data := conn.recv(256):
                conn.sendall(data)

    for _ in range(connections):
        conn, _address = listener.accept()
        if error := _start_thread(echo, conn):
            conn.close()
            _say(asdict(growth.report(error)))
            break
    else:
        growth.all_started.wait()
        _say(asdict(growth.report()))
    threading.Event().wait()  # serve until stopped


async def _serve_tasks(connections: int) -> None:
    """Accept `connections` connections, each served by a task (asyncio streams echo)."""
    growth = _Growth(connections)

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        growth.one_started()
        if growth.all_started.is_set():
            _say(asdict(growth.report()))
        while line := await reader.readline():
            writer.write(line)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, sock=_listen(), backlog=_BACKLOG)
    _say({"port": server.sockets[0].getsockname()[1]})
    await server.serve_forever()


def _sleep_threads(count: int) -> None:
    """`count` idle threads, each waiting for the same event."""
    growth = _Growth(count)
    growth.began = time.perf_counter()
    stop = threading.Event()

    def sleeper() -> None:
        growth.one_started()
        stop.wait()

    for _ in range(count):
        if error := _start_thread(sleeper):
            _say(asdict(growth.report(error)))
            break
    else:
        growth.all_started.wait()
        _say(asdict(growth.report()))
    stop.wait()


async def _sleep_tasks(count: int) -> None:
    """`count` idle tasks, each waiting for the same event."""
    growth = _Growth(count)
    growth.began = time.perf_counter()
    stop = asyncio.Event()

    async def sleeper() -> None:
        growth.one_started()
        await stop.wait()

    tasks = [asyncio.create_task(sleeper()) for _ in range(count)]
    await asyncio.sleep(0)
    _say(asdict(growth.report()))
    await asyncio.gather(*tasks)


# ----------------------------------------------------------------------------- client side


def _client(port: int, connections: int, seconds: float) -> ClientReport:
    """Open the connections (one reply each: the start-up), then send requests for `seconds`.

    A plain `selectors` client, the same for both servers, light enough that the server is
    what the figures measure. It connects `_CONNECT_WINDOW` at a time and waits for their
    first replies before the next batch, so the server's listen backlog never overflows.
    """
    selector = selectors.DefaultSelector()
    streams: list[socket.socket] = []
    began = time.perf_counter()
    answered = 0
    for first in range(0, connections, _CONNECT_WINDOW):
        batch = [socket.create_connection((HOST, port)) for _ in range(min(_CONNECT_WINDOW, connections - first))]
        for conn in batch:
            conn.sendall(b"ping\n")
            selector.register(conn, selectors.EVENT_READ)
        waiting = len(batch)
        while waiting:
            for key, _events in selector.select():
                if key.fileobj.recv(256):
                    answered += 1
                waiting -= 1
                selector.unregister(key.fileobj)
        streams += batch
    startup = time.perf_counter() - began

    # Timed phase: each connection sends its next request as soon as its reply is back.
    for conn in streams:
        selector.register(conn, selectors.EVENT_READ)
        conn.sendall(b"ping\n")
    timed = time.perf_counter()
    deadline = timed + seconds
    replies = 0
    while (left := deadline - time.perf_counter()) > 0:
        for key, _events in selector.select(left):
            if key.fileobj.recv(256):
                replies += 1
                key.fileobj.sendall(b"ping\n")
    elapsed = time.perf_counter() - timed
    return ClientReport(answered, startup, replies, elapsed)


# ----------------------------------------------------------------------------- the parent


async def _json_line(stream: asyncio.StreamReader) -> dict:
    line = await stream.readline()
    if not line:
        raise RuntimeError("a measuring process ended without reporting")
    return json.loads(line)


@contextlib.asynccontextmanager
async def _child(*args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """A child process of this module, killed (if still running) and reaped on leaving."""
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "course.scale", *args, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": path})
    try:
        yield process
    finally:
        children.send(process)
        await process.wait()


async def measure(model: Model, connections: int, *, sockets: bool = True, seconds: float = 0.5,
                  timeout: float = _TIMEOUT) -> Measurement:
    """Serve `connections` concurrent connections with `model` in child processes; measure them.

    Real sockets (and `seconds` of requests) if `sockets` and the descriptor limit allows,
    sleepers otherwise. Stops and reaps every process it starts. A run that takes longer than
    `timeout` seconds (a machine under heavy load) is stopped and reported as not measured.
    """
    kind = "sockets" if sockets and sockets_fit(connections) else "sleepers"
    room = thread_room()
    if model == "threads" and room is not None and room < connections + _SPARE_THREADS:
        return Measurement(model, connections, kind, 0, float("nan"), 0, 0, None,
                           f"not tried: {connections:,} threads would reach this kernel's cap on processes and "
                           f"threads (room for about {room:,} more)")
    try:
        async with asyncio.timeout(timeout):
            return await _measure(model, connections, kind, seconds)
    except TimeoutError:
        return Measurement(model, connections, kind, 0, float("nan"), 0, 0, None,
                           f"not measured: {connections:,} {model} took longer than {timeout:.0f} s "
                           "on this machine just now")


async def _measure(model: Model, connections: int, kind: str, seconds: float) -> Measurement:
    if kind == "sleepers":
        async with _child("sleepers", model, str(connections)) as sleepers:
            server = ServerReport(**await _json_line(sleepers.stdout))
        return Measurement(model, connections, "sleepers", server.started, server.startup_seconds,
                           server.resident_bytes, server.reserved_bytes, None, server.error)
    async with _child("serve", model, str(connections)) as serving:
        port = (await _json_line(serving.stdout))["port"]
        async with _child("client", str(port), str(connections), str(seconds)) as client:
            server = ServerReport(**await _json_line(serving.stdout))
            if server.error:
                return Measurement(model, connections, "sockets", server.started, float("nan"),
                                   server.resident_bytes, server.reserved_bytes, None, server.error)
            report = ClientReport(**await _json_line(client.stdout))
    return Measurement(model, connections, "sockets", server.started, report.startup_seconds,
                       server.resident_bytes, server.reserved_bytes, report.requests / report.seconds)


async def compare(sizes: Sequence[int], repeats: int = 3, *, sockets: bool = True, seconds: float = 0.5,
                  budget: float | None = None) -> dict[tuple[Model, int], Measurement]:
    """Measure each model at each size `repeats` times, alternating the models (so a change in
    the machine's load hits both alike); keep the median of each figure.

    With a `budget` (real seconds for the whole call), no new round of a size starts if it
    would end past the budget, judging by that size's last round (each size gets at least
    one round), and a run still going when the budget is spent (at least `_LEAST_RUN` seconds
    after it began) is stopped and reported as not measured: the call ends soon after the
    budget however loaded the machine is. `Measurement.runs` says how many runs each median
    is made of; runs that were not measured count only if no run was.
    """
    runs: dict[tuple[Model, int], list[Measurement]] = {}
    began = time.perf_counter()
    for size in sizes:
        for done in range(repeats):
            round_began = time.perf_counter()
            if budget is not None and done and 2 * round_began - began - last_round_began > budget:
                break  # another round as long as the last one would end past the budget
            last_round_began = round_began
            for model in MODELS:
                left = _TIMEOUT if budget is None else budget - (time.perf_counter() - began)
                runs.setdefault((model, size), []).append(
                    await measure(model, size, sockets=sockets, seconds=seconds,
                                  timeout=min(_TIMEOUT, max(left, _LEAST_RUN))))
    return {key: median_of([run for run in values if run.started] or values) for key, values in runs.items()}


def median_of(runs: Sequence[Measurement]) -> Measurement:
    """One Measurement whose every figure is the median of the runs' figures."""
    first = runs[0]

    def middle(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return statistics.median(known) if known else None

    if not any(r.started for r in runs):
        return first  # never started: nothing to take the median of
    return Measurement(
        first.model, first.connections, first.kind, min(r.started for r in runs),
        middle([r.startup_seconds for r in runs]),
        int(middle([r.resident_bytes for r in runs])), int(middle([r.reserved_bytes for r in runs])),
        middle([r.requests_per_second for r in runs]),
        next((r.error for r in runs if r.error), None),
        len(runs),
    )


def _main(argv: list[str]) -> None:
    """The children: `serve MODEL N`, `sleepers MODEL N`, `client PORT N SECONDS`."""
    role, *args = argv
    _raise_descriptor_limit()
    if role == "client":
        _say(asdict(_client(int(args[0]), int(args[1]), float(args[2]))))
        return
    model, count = args[0], int(args[1])
    if role == "serve":
        _serve_threads(count) if model == "threads" else asyncio.run(_serve_tasks(count))
    else:
        _sleep_threads(count) if model == "threads" else asyncio.run(_sleep_tasks(count))


if __name__ == "__main__":
    _main(sys.argv[1:])


def plot(results: dict[tuple[Model, int], Measurement]):
    """Four panels against the number of connections: start-up, memory in use, address space
    reserved (per connection) and requests per second, one line per model."""
    from course.plots import CourseFigure

    figure = CourseFigure(figsize=(10, 6.5), layout="constrained")
    panels = [
        ("start-up: all connections served (s)", lambda m: m.startup_seconds),
        ("memory in use per connection (KiB, VmRSS)", lambda m: m.resident_per_connection / 2**10),
        ("address space reserved per connection (KiB, VmSize)",
         lambda m: max(m.reserved_per_connection, 1) / 2**10 if m.started else None),
        ("requests per second (all connections)", lambda m: m.requests_per_second),
    ]
    sizes = sorted({size for _model, size in results})
    for index, (title, value) in enumerate(panels):
        ax = figure.add_subplot(2, 2, index + 1)
        for model, color in zip(MODELS, ("#1f77b4", "#d62728")):
            points = [(size, value(results[model, size])) for size in sizes if (model, size) in results]
            points = [(x, y) for x, y in points if y is not None and y == y and y > 0]
            if points:
                ax.plot(*zip(*points), "o-", color=color, label=f"a {model[:-1]} per connection")
                for x, y in points:
                    ax.annotate(f"{y:,.0f}" if y >= 10 else f"{y:.2g}", (x, y), textcoords="offset points",
                                xytext=(0, 6), ha="center", fontsize=7, color=color)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(sizes, [f"{size:,}" for size in sizes])
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        if index == 0:
            ax.legend(fontsize=8)
        if index >= 2:
            ax.set_xlabel("concurrent connections")
    kinds = {m.kind for m in results.values()}
    figure.suptitle("Tasks against threads, measured on this machine"
                    + (" (sleepers where sockets did not fit)" if "sleepers" in kinds else ""))
    return figure
