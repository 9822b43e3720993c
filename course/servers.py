"""Small asyncio servers on 127.0.0.1, for lessons and checks that need real sockets.

A server listens on an ephemeral port of 127.0.0.1 (never any other address) for as long
as its `async with` block runs::

    async def echo(reader, writer):
        line = await reader.readline()
        writer.write(line)

    async with course.servers.serve(echo) as server:
        reply = await server.request("hello")      # -> "hello"

The protocol of the helpers is one line of text per request and one line per reply. The
server closes each connection when its handler returns, and on leaving the block it
waits for the handlers still running (then cancels them), so no task outlives it.
"""
from __future__ import annotations

import asyncio
import contextlib
import http.server
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

HOST = "127.0.0.1"

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class LocalServer:
    """A running server: its port, and how many requests it has answered."""

    port: int
    host: str = HOST
    handled: int = 0
    handlers: set[asyncio.Task] = field(default_factory=set)

    async def request(self, line: str) -> str:
        """Send one line to the server and return its one-line reply (without the newline)."""
        return await request(self.port, line)

    async def fire(self, lines: list[str]) -> "Burst":
        """Send every line at once, each on its own connection; time the whole burst."""
        loop = asyncio.get_running_loop()
        started, wall = loop.time(), time.perf_counter()
        replies = await asyncio.gather(*(self.request(line) for line in lines))
        return Burst(replies, loop.time() - started, time.perf_counter() - wall)


@dataclass
class Burst:
    """The replies to a burst of concurrent requests and how long it took."""

    replies: list[str]
    loop_seconds: float
    wall_seconds: float

    @property
    def per_second(self) -> float:
        """Requests answered per second of wall-clock time."""
        return len(self.replies) / self.wall_seconds if self.wall_seconds else float("inf")


async def request(port: int, line: str) -> str:
    """One request on a fresh connection to 127.0.0.1:`port`: send `line`, read one line back."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(line.encode() + b"\n")
        await writer.drain()
        reply = await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return reply.decode().rstrip("\n")


@contextlib.asynccontextmanager
async def serve(handler: Handler, *, grace: float = 5.0) -> AsyncIterator[LocalServer]:
    """Run `handler(reader, writer)` for each connection to a new server on 127.0.0.1.

    Yields a `LocalServer` (with its ephemeral `port`). On exit the server stops listening,
    waits up to `grace` seconds of loop time for running handlers, then cancels the rest.
    """
    state = LocalServer(port=0)

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            state.handlers.add(task)
        try:
            await handler(reader, writer)
            state.handled += 1
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()
            if task is not None:  # only now: leaving the block waits for the closing too
                state.handlers.discard(task)

    server = await asyncio.start_server(tracked, HOST, 0)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        running = set(state.handlers)
        if running:
            _done, pending = await asyncio.wait(running, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> str:
    """The one-line request of a connection, without its newline."""
    return (await reader.readline()).decode().rstrip("\n")


async def send_reply(writer: asyncio.StreamWriter, text: str) -> None:
    """Write a one-line reply and wait until it is on its way."""
    writer.write(text.encode() + b"\n")
    await writer.drain()


@contextlib.contextmanager
def slow_http_server(delay: float = 0.2):
    """A small HTTP server on 127.0.0.1 in a thread of its own, standing for a slow web service.

    Each GET waits `delay` seconds, then answers "<html>{path}</html>". Yields the base URL
    ("http://127.0.0.1:PORT"). A plain (not async) context manager: the server does not use
    the caller's event loop, so a client blocking that loop cannot stall the server.
    """

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the name http.server expects)
            time.sleep(delay)
            body = f"<html>{self.path}</html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # no access log on stderr

    server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="slow-http-server", daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def http_get(url: str) -> str:
    """GET `url` (http://127.0.0.1:PORT/path only) with asyncio streams; return the body.

    A minimal HTTP/1.0 client, enough for the course's local servers: it never blocks the loop.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or parts.hostname != HOST or parts.port is None:
        raise ValueError(f"http_get only talks to the course's local servers (http://{HOST}:PORT/...), not {url!r}")
    reader, writer = await asyncio.open_connection(HOST, parts.port)
    try:
        writer.write(f"GET {parts.path or '/'} HTTP/1.0\r\nHost: {HOST}\r\n\r\n".encode())
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    head, _, body = response.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].decode(errors="replace")
    if " 200 " not in status + " ":
        raise LookupError(f"{url}: {status}")
    return body.decode()
