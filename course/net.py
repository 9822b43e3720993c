"""Local servers for notebook 07 and its checks: a slow key-value service, a job server and a web site.

Each one listens on a free port of 127.0.0.1 (never any other address) for as long as its
`async with` block runs, on the caller's event loop, and counts what its clients did: how
many connections were open at once, how many it saw in all, how many requests. Delays are
`asyncio.sleep`s, so on the autograder's virtual clock they cost loop time, not real time.

    async with course.net.value_server({"a": "1"}, delays={"a": 0.2}) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)

    async with course.net.web_site({"/a": course.net.Page("hello", delay=0.1)}) as site:
        async with aiohttp.ClientSession() as session:
            async with session.get(site.url + "/a") as response: ...
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

HOST = "127.0.0.1"


@dataclass
class Traffic:
    """What a server saw: connections (open now, most at once, in all) and requests."""

    port: int = 0
    open_now: int = 0
    peak_open: int = 0
    connections: int = 0
    requests: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    peers: set[tuple[str, int]] = field(default_factory=set)

    def opened(self) -> None:
        self.open_now += 1
        self.connections += 1
        self.peak_open = max(self.peak_open, self.open_now)

    def closed(self) -> None:
        self.open_now -= 1

    @contextlib.contextmanager
    def request(self):
        """Count one request in flight for the duration of the block."""
        self.requests += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            yield
        finally:
            self.in_flight -= 1


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, asyncio.CancelledError):
        await writer.wait_closed()


class _ValueService(asyncio.Protocol):
    """One connection of `value_server`: lines in, one reply per line, in order.

    A protocol rather than streams, so that a client closing its side is seen at once
    (`connection_lost`) even while a reply is being prepared.
    """

    def __init__(self, values: dict[str, str], delays: dict[str, float], default_delay: float,
                 traffic: Traffic, workers: set[asyncio.Task]) -> None:
        self.values, self.delays, self.default_delay = values, delays, default_delay
        self.traffic, self.workers = traffic, workers
        self.lines: asyncio.Queue[str] = asyncio.Queue()
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.traffic.opened()
        self.worker = asyncio.get_running_loop().create_task(self.answer())
        self.workers.add(self.worker)
        self.worker.add_done_callback(self.workers.discard)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            self.lines.put_nowait(line.decode(errors="replace").strip())

    def connection_lost(self, exc: Exception | None) -> None:
        self.traffic.closed()
        self.worker.cancel()

    async def answer(self) -> None:
        while True:
            command, _, key = (await self.lines.get()).partition(" ")
            with self.traffic.request():
                if command != "GET" or not key:
                    reply = "ERROR expected: GET key"
                else:
                    await asyncio.sleep(self.delays.get(key, self.default_delay))
                    reply = self.values.get(key, "NOT FOUND")
            self.transport.write(reply.encode() + b"\n")  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def value_server(values: dict[str, str], delays: dict[str, float] | None = None,
                       default_delay: float = 0.1) -> AsyncIterator[Traffic]:
    """A key-value service: each line `GET key` is answered with the value, or `NOT FOUND`,
    after the key's delay (`delays`, else `default_delay`) in seconds of loop time.

    Any number of requests per connection. A connection counts as open until the client
    closes it. On leaving, the server stops and closes every connection still open.
    """
    traffic = Traffic()
    workers: set[asyncio.Task] = set()
    services: list[_ValueService] = []

    def service() -> _ValueService:
        services.append(_ValueService(values, delays or {}, default_delay, traffic, workers))
        return services[-1]

    server = await asyncio.get_running_loop().create_server(service, HOST, 0)
    traffic.port = server.sockets[0].getsockname()[1]
    try:
        yield traffic
    finally:
        server.close()
        for open_service in services:
            open_service.transport.close()
        for worker in list(workers):
            worker.cancel()
        if workers:
            await asyncio.wait(list(workers))
        await server.wait_closed()


#: Turns of the loop `slow_job` takes to clean up when cancelled.
_CLEAN_UP_TURNS = 3


async def slow_job(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A connection handler: reads `work SECONDS`, waits that long, answers `done SECONDS`.

    Cancelled, it takes a few turns of the loop to clean up (no loop time), as a real handler
    that flushes a log or tells a database would: whoever cancels it must wait for it.
    """
    line = (await reader.readline()).decode().split()
    seconds = float(line[1]) if len(line) == 2 and line[0] == "work" else 0.0
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        for _ in range(_CLEAN_UP_TURNS):
            await asyncio.sleep(0)
        raise
    writer.write(f"done {seconds:g}\n".encode())
    await writer.drain()


@dataclass
class Page:
    """A page of `web_site`: its body, its HTTP status and how long the server takes to send it."""

    body: str
    delay: float = 0.0
    status: int = 200


@dataclass
class Site(Traffic):
    """A running `web_site`: its base URL, and the traffic it saw (peers: client connections)."""

    url: str = ""


@contextlib.asynccontextmanager
async def web_site(pages: dict[str, Page]) -> AsyncIterator[Site]:
    """An aiohttp web server on 127.0.0.1 serving `pages` (path -> Page); 404 for other paths.

    Counts requests in flight and the client connections they came on (a client that reuses
    its connections shows few peers).
    """
    from aiohttp import web

    site = Site()

    async def page(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if peer:
            site.peers.add(tuple(peer[:2]))
        with site.request():
            found = pages.get(request.path)
            if found is None:
                return web.Response(status=404, text="not found")
            await asyncio.sleep(found.delay)
            return web.Response(status=found.status, text=found.body)

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.0)
    await runner.setup()
    tcp = web.TCPSite(runner, HOST, 0)
    await tcp.start()
    site.port = runner.addresses[0][1]
    site.url = f"http://{HOST}:{site.port}"
    try:
        yield site
    finally:
        await runner.cleanup()
