"""A simulated key-value database with an asyncio client and a blocking twin.

Like `course.download`, each async operation costs `latency` seconds of loop time and is
recorded (name "db.get", "db.insert"...) by the loop's recorder, so lessons can draw
timelines and checks can count operations in flight. The `*_blocking` methods are the
blocking twins (they hold the calling thread with `time.sleep`), flagged when they run on
an event loop's thread.

    db = course.database.Database({"alice": "admin"}, latency=0.1)
    await db.get("alice")              # -> "admin", after 0.1 s, never blocks
    db.get_blocking("alice")           # same answer, but blocks the thread for 0.1 s

    conn = await db.connect()          # a connection must be closed...
    await conn.insert("bob", "user")
    await conn.close()                 # ...even when the work is cancelled
"""
from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from course.services import blocking_recorder, blocking_twin, recorder_for

DEFAULT_LATENCY = 0.1


async def _wait(latency: float) -> None:
    """Wait `latency` seconds of loop time with a timer (follows a virtual clock)."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    timer = loop.call_later(latency, lambda: ready.done() or ready.set_result(None))
    try:
        await ready
    finally:
        timer.cancel()


class Database:
    """An in-memory table behind a simulated network: async operations and blocking twins."""

    def __init__(self, rows: dict[str, Any] | None = None, latency: float = DEFAULT_LATENCY) -> None:
        self.rows: dict[str, Any] = dict(rows or {})
        self.latency = latency
        self.open_connections = 0
        self.connections_opened = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Database({len(self.rows)} rows, {self.open_connections} open connections)"

    async def _operation(self, name: str, key: object) -> None:
        loop = asyncio.get_running_loop()
        recorder = recorder_for(loop)
        record = recorder.begin(name, key)
        try:
            await _wait(self.latency)
        finally:
            recorder.end(record)

    # --- the asyncio client ---------------------------------------------------------
    async def get(self, key: str) -> Any:
        """The value stored under `key` (None if there is none), after `latency` s of loop time."""
        await self._operation("db.get", key)
        return self.rows.get(key)

    async def insert(self, key: str, value: Any) -> None:
        """Store `value` under `key`, after `latency` s of loop time."""
        await self._operation("db.insert", key)
        with self._lock:
            self.rows[key] = value

    async def connect(self) -> "Connection":
        """Open a connection (after `latency` s). Close it with `await conn.close()`."""
        await _wait(self.latency)
        with self._lock:
            self.open_connections += 1
            self.connections_opened += 1
        return Connection(self)

    # --- the blocking twins ---------------------------------------------------------
    @blocking_twin("Database.get_blocking()", "use `await db.get(key)`, its asyncio twin")
    def get_blocking(self, key: str) -> Any:
        """The blocking twin of `get`: holds the calling thread for `latency` seconds."""
        self._hold("db.get_blocking", key)
        return self.rows.get(key)

    @blocking_twin("Database.insert_blocking()", "use `await db.insert(key, value)`, its asyncio twin")
    def insert_blocking(self, key: str, value: Any) -> None:
        """The blocking twin of `insert`: holds the calling thread for `latency` seconds."""
        self._hold("db.insert_blocking", key)
        with self._lock:
            self.rows[key] = value

    def _hold(self, name: str, key: object) -> None:
        recorder = blocking_recorder()
        record = recorder.begin(name, key)
        try:
            time.sleep(self.latency)
        finally:
            recorder.end(record)


class Connection:
    """A connection to a `Database`: `insert`, `get`, and `close` (which takes time too)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.closed = False

    def __repr__(self) -> str:
        return f"<Connection {'closed' if self.closed else 'open'}>"

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError("this connection is closed")

    async def get(self, key: str) -> Any:
        self._check_open()
        return await self.database.get(key)

    async def insert(self, key: str, value: Any) -> None:
        self._check_open()
        await self.database.insert(key, value)

    async def close(self) -> None:
        """Say goodbye to the server (after `latency` s), then count the connection closed."""
        if self.closed:
            return
        await _wait(self.database.latency)
        if not self.closed:
            self.closed = True
            with self.database._lock:
                self.database.open_connections -= 1
