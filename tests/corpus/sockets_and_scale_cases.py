"""Corpus cases for notebook 07: servers and clients on real sockets of 127.0.0.1.

Server and clients share the check's private loop, so loop time is simulated latency only.
Registered into `autograder_cases.CASES` (loaded from there), graded the same ways.
"""
from __future__ import annotations

import asyncio

import aiohttp

import course.net
from autograder.exercises import sockets_and_scale as sockets
from autograder_cases import case

KV_VALUES = {f"k{i}": f"value {i}" for i in range(8)}
KV_DELAYS = {f"k{i}": 0.1 * (i % 3 + 1) for i in range(8)} | {"k7": 4.0}
SITE = {f"/p{i}": course.net.Page(f"page {i}", delay=0.1 * (i % 3 + 1)) for i in range(6)}
SITE |= {"/slow": course.net.Page("slow", delay=3.0), "/gone": course.net.Page("gone", status=410)}


def _kv_handler(lookup):
    """A key-value handler whose database calls are `lookup(db, command, key, value)`."""
    async def handle_kv(db, reader, writer):
        while line := await reader.readline():
            command, _, rest = line.decode().rstrip("\n").partition(" ")
            key, _, value = rest.partition(" ") if command == "SET" else (rest, "", "")
            reply = await lookup(db, command, key, value)
            writer.write(reply.encode() + b"\n")
            await writer.drain()
    return handle_kv


async def _kv_async(db, command, key, value):
    if command == "SET":
        await db.insert(key, value)
        return "OK"
    if command == "GET":
        found = await db.get(key)
        return "NOT FOUND" if found is None else found
    return "ERROR unknown command"


async def _kv_blocking(db, command, key, value):
    if command == "SET":
        db.insert_blocking(key, value)
        return "OK"
    if command == "GET":
        found = db.get_blocking(key)
        return "NOT FOUND" if found is None else found
    return "ERROR unknown command"


_KV_LOCKS: dict = {}


async def _kv_locked(db, command, key, value):
    async with _KV_LOCKS.setdefault(asyncio.get_running_loop(), asyncio.Lock()):
        return await _kv_async(db, command, key, value)


@case()
def kv_server_answers_side_by_side():
    sockets.check_handle_kv(_kv_handler(_kv_async), clients=60, at_once=20, latency=0.01)


@case("BlockingCallDetected", "get_blocking")
def kv_server_through_blocking_twins():
    sockets.check_handle_kv(_kv_handler(_kv_blocking), clients=20, at_once=10, latency=0.01)


@case("RanSequentially", "wait for each other")
def kv_server_lock_across_queries():
    sockets.check_handle_kv(_kv_handler(_kv_locked), clients=20, at_once=10, latency=0.01)


async def _ask(port, key):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {key}\n".encode())
        await writer.drain()
        return (await reader.readline()).decode().rstrip("\n")
    finally:
        writer.close()
        await writer.wait_closed()


async def fetch_values_worker_pool(port, keys, limit, timeout):
    """A fixed pool of `limit` workers taking keys from a queue: another good shape."""
    todo, results = asyncio.Queue(), {}
    for key in dict.fromkeys(keys):
        todo.put_nowait(key)

    async def worker():
        while not todo.empty():
            key = todo.get_nowait()
            try:
                results[key] = await asyncio.wait_for(_ask(port, key), timeout)
            except TimeoutError as error:
                results[key] = error

    async with asyncio.TaskGroup() as group:
        for _ in range(limit):
            group.create_task(worker())
    return results


async def fetch_values_unlimited(port, keys, limit, timeout):
    async def one(key):
        try:
            return await asyncio.wait_for(_ask(port, key), timeout)
        except TimeoutError as error:
            return error
    keys = list(dict.fromkeys(keys))
    return dict(zip(keys, await asyncio.gather(*(one(key) for key in keys))))


async def fetch_values_timeout_escapes(port, keys, limit, timeout):
    gate = asyncio.Semaphore(limit)

    async def one(key):
        async with gate:
            return await asyncio.wait_for(_ask(port, key), timeout)
    keys = list(dict.fromkeys(keys))
    return dict(zip(keys, await asyncio.gather(*(one(key) for key in keys))))


@case()
def client_worker_pool_keeps_limit():
    sockets.check_fetch_values(fetch_values_worker_pool, KV_VALUES, KV_DELAYS, [*KV_VALUES, "k2", "none"], 3, 1.0)


@case("TooManyInFlight", "limit is 3")
def client_ignores_connection_limit():
    sockets.check_fetch_values(fetch_values_unlimited, KV_VALUES, KV_DELAYS, list(KV_VALUES), 3, 1.0)


@case("StudentCodeRaised", "TimeoutError")
def client_lets_timeout_escape():
    sockets.check_fetch_values(fetch_values_timeout_escapes, KV_VALUES, KV_DELAYS, list(KV_VALUES), 3, 1.0)


def _graceful(wait_for_cancelled: bool):
    async def serve_until_stopped(handler, stop, ready, grace):
        async def tracked(reader, writer):
            try:
                await handler(reader, writer)
            finally:
                writer.close()

        running = set()

        async def tracking(reader, writer):
            running.add(asyncio.current_task())
            try:
                await tracked(reader, writer)
            finally:
                running.discard(asyncio.current_task())

        server = await asyncio.start_server(tracking, "127.0.0.1", 0)
        ready.set_result(server.sockets[0].getsockname()[1])
        await stop.wait()
        server.close()
        everyone = set(running)
        _done, late = await asyncio.wait(everyone, timeout=grace) if everyone else (set(), set())
        for task in late:
            task.cancel()
        if late and wait_for_cancelled:
            await asyncio.gather(*late, return_exceptions=True)
        return len(everyone) - len(late), len(late)  # every handler was still running at stop
    return serve_until_stopped


@case()
def graceful_shutdown_drains_then_cancels():
    sockets.check_serve_until_stopped(_graceful(True), [0.5, 0.7, 2.0], stop_at=0.3, grace=1.0)


@case("TaskLeaked", "still running")
def graceful_shutdown_leaves_cancelled_handlers():
    sockets.check_serve_until_stopped(_graceful(False), [0.5, 0.7, 2.0], stop_at=0.3, grace=1.0)


def _pages(session_per_request: bool, timeout_kind: str):
    async def fetch_pages(base_url, paths, limit, timeout):
        gate = asyncio.Semaphore(limit)
        timing = aiohttp.ClientTimeout(**{timeout_kind: timeout})

        async def one(session, path):
            try:
                async with session.get(base_url + path, timeout=timing) as response:
                    response.raise_for_status()
                    return await response.text()
            except (TimeoutError, aiohttp.ClientResponseError) as error:
                return error

        async def fresh(path):
            async with gate, aiohttp.ClientSession() as session:
                return await one(session, path)

        paths = list(dict.fromkeys(paths))
        if session_per_request:
            return dict(zip(paths, await asyncio.gather(*(fresh(p) for p in paths))))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit)) as session:
            return dict(zip(paths, await asyncio.gather(*(one(session, p) for p in paths))))
    return fetch_pages


@case()
def aiohttp_one_session_reused():
    sockets.check_fetch_pages(_pages(False, "sock_read"), SITE, [*SITE, "/missing"], 3, 0.5)


@case("WrongResult", "does not reuse")
def aiohttp_session_per_request():
    sockets.check_fetch_pages(_pages(True, "sock_read"), SITE, [*SITE, "/missing"], 3, 0.5)


@case("WrongResult", "waited for a free connection")
def aiohttp_total_timeout_counts_the_queue():
    sockets.check_fetch_pages(_pages(False, "total"), SITE, [*SITE, "/missing"], 2, 0.5)
