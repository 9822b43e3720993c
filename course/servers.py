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
import time
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
            if task is not None:
                state.handlers.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

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
