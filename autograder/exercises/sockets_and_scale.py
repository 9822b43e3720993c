"""Checks of notebook 07 (real sockets and scale).

Every check runs the student's code and the peer it talks to (clients, a server, a web
site) on the same private event loop, on real sockets of 127.0.0.1, so loop time is
exactly the simulated latency and the verdict does not depend on the machine.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import math
from typing import Any, Callable

import course.database
import course.net
import course.servers
from autograder import check
from autograder.errors import (
    NeverFinished,
    NotConcurrent,
    RanSequentially,
    TaskLeaked,
    TookTooLong,
    TooManyInFlight,
    WrongResult,
    student_facing,
)

#: Loop times are sums of floats: bounds allow this rounding and nothing more.
_SLACK = 1e-9


def _count(number: int, noun: str) -> str:
    """'1 client', '3 clients'."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
#: Real seconds a check with many connections may take (the profile hook slows Python down).
_REAL_TIMEOUT = 60.0


def _fail(kind: type[AssertionError], message: str) -> None:
    raise kind(message) from None


# ----------------------------------------------------------------------------- exercise 1


def _kv_script(client: int) -> list[tuple[str, str]]:
    """The commands client number `client` sends, with the reply each must get."""
    value = f"value {client}" if client % 3 else f"v{client}"  # some values hold spaces
    return [(f"SET key{client} {value}", "OK"), (f"GET key{client}", value),
            (f"GET absent{client}", "NOT FOUND"), (f"FETCH key{client}", "ERROR unknown command")]


async def _kv_client(port: int, client: int) -> list[str]:
    reader, writer = await asyncio.open_connection(course.net.HOST, port)
    replies = []
    try:
        for command, _expected in _kv_script(client):
            writer.write(command.encode() + b"\n")
            await writer.drain()
            replies.append((await reader.readline()).decode().rstrip("\n"))
    except ConnectionError:
        pass  # the server hung up: the replies missing say so
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return replies


@student_facing
def check_handle_kv(handle_kv: Callable, clients: int, at_once: int, latency: float) -> None:
    """`clients` clients, at most `at_once` connected at a time, each sending SET, GET, GET of a
    missing key and an unknown command on one connection; every reply right, every value in
    the database, and the clients served side by side: 3 queries of `latency` per wave."""
    db = course.database.Database(latency=latency)

    async def many_clients() -> list[list[str]]:
        gate = asyncio.Semaphore(at_once)

        async def one(client: int) -> list[str]:
            async with gate:
                return await _kv_client(server.port, client)

        async with course.servers.serve(functools.partial(handle_kv, db)) as server:
            return await asyncio.gather(*(one(client) for client in range(clients)))

    waves = math.ceil(clients / at_once)
    report = check(many_clients, name="handle_kv", real_timeout=_REAL_TIMEOUT)
    for client, replies in enumerate(report.result):
        script = _kv_script(client)
        if replies != [reply for _command, reply in script]:
            transcript = "\n".join(f"  sent {command!r:28} got {got!r:22} expected {want!r}"
                                   for (command, want), got in zip(script, replies + [""] * len(script)))
            _fail(WrongResult, f"handle_kv answered a client wrongly:\n{transcript}\nRead one command per "
                  "line until the client closes, and answer each with exactly one line.")
    missing = [f"key{c}" for c in range(clients) if f"key{c}" not in db.rows]
    if missing:
        _fail(WrongResult, f"handle_kv did not store {missing[:3]} in the database: SET must "
              "`await db.insert(key, value)`.")
    bound = waves * 3 * latency
    if report.loop_time > bound + _SLACK:
        kind = RanSequentially if report.peak_in_flight <= 1 else TookTooLong
        _fail(kind, f"handle_kv served {clients} clients ({at_once} at a time) in {report.loop_time:.2f} s of "
              f"loop time; side by side it takes {bound:.2f} s ({waves} waves of 3 queries of {latency} s). "
              f"At most {report.peak_in_flight} query(ies) ran at once: something makes the connections wait for "
              "each other (a lock held across the query, or a blocking call).")
    print(f"passed: handle_kv served {_count(clients, 'client')}, {at_once} at a time, "
          f"in {report.loop_time:.2f} s of loop time")


# ----------------------------------------------------------------------------- exercise 2


def _greedy_bound(costs: list[float], limit: int) -> float:
    """The longest a limit-respecting run that never idles while work waits can take (Graham)."""
    return sum(costs) / limit + max(costs, default=0.0) if costs else 0.0


@student_facing
def check_fetch_values(fetch_values: Callable, values: dict[str, str], delays: dict[str, float],
                       keys: list[str], limit: int, timeout: float) -> None:
    """fetch_values asks the server for each distinct key once, on its own connection, at most
    `limit` connections at once (and that many while there is work), each within `timeout`;
    slow keys give TimeoutError objects; every connection is closed when it returns."""
    distinct = list(dict.fromkeys(keys))

    async def against_server() -> tuple[dict, float, course.net.Traffic]:
        async with course.net.value_server(values, delays) as server:
            loop = asyncio.get_running_loop()
            started = loop.time()
            result = await fetch_values(server.port, keys, limit, timeout)
            elapsed = loop.time() - started
            await asyncio.sleep(0)  # let the server see the last connections close
            await asyncio.sleep(0)
            return result, elapsed, server

    report = check(against_server, name="fetch_values")
    result, elapsed, traffic = report.result
    if not isinstance(result, dict):
        _fail(WrongResult, f"fetch_values returned {type(result).__name__} {result!r:.100}; return a dict: key -> reply.")
    expected = {key: values.get(key, "NOT FOUND") for key in distinct if delays.get(key, 0.1) <= timeout}
    slow = [key for key in distinct if delays.get(key, 0.1) > timeout]
    got = {key: value for key, value in result.items() if key not in slow}
    if got != expected or set(result) != set(distinct):
        _fail(WrongResult, f"fetch_values returned {result!r:.300}\nexpected the reply for every key: "
              f"{ {**expected, **{k: 'TimeoutError()' for k in slow}}!r:.300}")
    late = [key for key in slow if not isinstance(result[key], TimeoutError)]
    if late:
        _fail(WrongResult, f"fetch_values gave {result[late[0]]!r:.80} for {late[0]!r}, whose reply takes longer than "
              f"the timeout ({timeout} s): put the TimeoutError object itself in the dict "
              "(`except TimeoutError as error: results[key] = error`).")
    if traffic.requests != len(distinct):
        _fail(WrongResult, f"fetch_values sent {traffic.requests} requests for {len(distinct)} distinct keys: ask "
              "for each key once (a key listed twice is fetched once).")
    if traffic.peak_open > limit:
        _fail(TooManyInFlight, f"fetch_values had {traffic.peak_open} connections open at once; the limit is {limit}. "
              "Open each connection inside `async with semaphore:` (an asyncio.Semaphore(limit)) and close it "
              "before leaving the block.")
    if traffic.peak_open < min(limit, len(distinct)):
        _fail(RanSequentially if traffic.peak_open <= 1 else NotConcurrent,
              f"fetch_values never had more than {traffic.peak_open} connection(s) open at once; with {len(distinct)} "
              f"keys it may have {limit}. Start every request at once (gather or a TaskGroup) and let the "
              "semaphore hold back the extra ones.")
    if traffic.open_now:
        _fail(WrongResult, f"fetch_values returned with {traffic.open_now} connections still open: close every "
              "connection (`writer.close()` and `await writer.wait_closed()`), in a `finally` so a timeout closes it too.")
    bound = _greedy_bound([min(delays.get(key, 0.1), timeout) for key in distinct], limit)
    if elapsed > bound + _SLACK:
        _fail(TookTooLong, f"fetch_values took {elapsed:.2f} s of loop time; with {limit} connections at a time and "
              f"{timeout} s per request at most, it should take no more than {bound:.2f} s. Does every request "
              "give up after `timeout` (asyncio.timeout or wait_for), and does a freed slot go to the next key at once?")
    print(f"passed: fetch_values got {_count(len(distinct), 'key')} ({len(slow)} timed out), at most "
          f"{_count(limit, 'connection')} at once, in {elapsed:.2f} s of loop time")


# ----------------------------------------------------------------------------- exercise 3


def _ignore_cancelled_stream_handlers() -> None:
    """Make this loop ignore how Python 3.11 reports a cancelled `start_server` handler.

    3.11's streams call `task.exception()` on the handler's task in a done callback, which
    raises CancelledError when the task was cancelled (fixed in 3.12): a report about
    asyncio, not about the student's code. Every other error still reaches the autograder.
    """
    loop = asyncio.get_running_loop()
    report_error = loop.get_exception_handler()

    def handle(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        callback = repr(context.get("handle", ""))
        if isinstance(context.get("exception"), asyncio.CancelledError) and "connection_made" in callback:
            return
        if report_error is not None:
            report_error(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handle)


@student_facing
def check_serve_until_stopped(serve_until_stopped: Callable, works: list[float], stop_at: float,
                              grace: float) -> None:
    """Clients ask for jobs of `works` seconds; `stop` is set at `stop_at`. The server must stop
    accepting at once, let the jobs that end within `grace` finish, cancel the others at
    stop_at + grace (their clients see the connection close), and return (finished, cancelled)."""
    finishing = [w for w in works if w <= stop_at + grace]
    cutting = [w for w in works if w > stop_at + grace]
    ends = stop_at + grace if cutting else max([stop_at, *works])

    async def scenario() -> dict[str, Any]:
        _ignore_cancelled_stream_handlers()
        loop = asyncio.get_running_loop()
        stop, ready = asyncio.Event(), loop.create_future()
        serving = asyncio.create_task(serve_until_stopped(course.net.slow_job, stop, ready, grace))
        try:
            port = await asyncio.wait_for(ready, 1.0)
        except TimeoutError:
            serving.cancel()
            return {"no_port": True}
        started = loop.time()

        async def client(seconds: float) -> tuple[str, float]:
            reader, writer = await asyncio.open_connection(course.net.HOST, port)
            writer.write(f"work {seconds:g}\n".encode())
            await writer.drain()
            try:
                reply = (await reader.readline()).decode().strip()
            except ConnectionError:
                reply = ""
            writer.close()
            return reply, loop.time() - started

        clients = [asyncio.create_task(client(w)) for w in works]
        await asyncio.sleep(stop_at)
        stop.set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        try:
            _, writer = await asyncio.open_connection(course.net.HOST, port)
            writer.close()
            refused = False
        except OSError:
            refused = True
        result = await serving
        returned = loop.time() - started
        known = {asyncio.current_task(), *clients}
        still_running = sum(1 for task in asyncio.all_tasks() if task not in known and not task.done())
        replies = await asyncio.gather(*clients)
        return {"result": result, "returned": returned, "replies": replies, "refused": refused,
                "still_running": still_running}

    report = check(scenario, name="serve_until_stopped")
    outcome = report.result
    if outcome.get("no_port"):
        _fail(NeverFinished, "serve_until_stopped never gave the port: start the server, then "
              "`ready.set_result(port)` with `server.sockets[0].getsockname()[1]`.")
    if outcome["still_running"]:
        _fail(TaskLeaked, f"serve_until_stopped returned while {outcome['still_running']} handler task(s) were still "
              "running: after cancelling the late handlers, wait for them to end (`await asyncio.wait(pending)`), "
              "so their clean-up runs before you return.")
    if not outcome["refused"]:
        _fail(WrongResult, "serve_until_stopped still accepted a new connection after `stop` was set: call "
              "`server.close()` as soon as stop is set, so the server stops listening.")
    for seconds, (reply, when) in zip(works, outcome["replies"]):
        if seconds in finishing and reply != f"done {seconds:g}":
            _fail(WrongResult, f"a client whose job takes {seconds:g} s got {reply!r} at {when:.2f} s: jobs that end "
                  f"within the grace period ({grace} s after stop, set at {stop_at} s) must finish and answer. "
                  "Wait for the running handlers (asyncio.wait(..., timeout=grace)) before cancelling any.")
        if seconds in cutting and (reply or abs(when - (stop_at + grace)) > _SLACK):
            _fail(WrongResult, f"a client whose job takes {seconds:g} s got {reply!r} at {when:.2f} s; its job outlasts "
                  f"the grace period, so it should be cancelled and its connection closed at {stop_at + grace:g} s "
                  "(cancel the handler task; close its writer in a `finally`).")
    expected = (len(finishing), len(cutting))
    if tuple(outcome["result"] or ()) != expected:
        _fail(WrongResult, f"serve_until_stopped returned {outcome['result']!r}; expected {expected}: "
              "(handlers that finished, handlers cancelled).")
    if abs(outcome["returned"] - ends) > _SLACK:
        _fail(TookTooLong if outcome["returned"] > ends else WrongResult,
              f"serve_until_stopped returned at {outcome['returned']:.2f} s of loop time; expected {ends:g} s: "
              "as soon as the last handler has finished, or at the end of the grace period when some are cut off.")
    print(f"passed: serve_until_stopped drained {_count(len(finishing), 'connection')} and cut "
          f"{len(cutting)} at {ends:g} s of loop time")


# ----------------------------------------------------------------------------- exercise 4


@student_facing
def check_fetch_pages(fetch_pages: Callable, pages: dict[str, course.net.Page], paths: list[str],
                      limit: int, timeout: float) -> None:
    """fetch_pages gets every path with one aiohttp session: bodies, TimeoutError for slow pages,
    ClientResponseError for error statuses; at most `limit` requests at once (and that many while
    there is work); connections reused; within the loop-time bound of `limit` at a time."""
    import aiohttp

    async def against_site() -> tuple[dict, float, course.net.Site]:
        async with course.net.web_site(pages) as site:
            loop = asyncio.get_running_loop()
            started = loop.time()
            result = await fetch_pages(site.url, paths, limit, timeout)
            elapsed = loop.time() - started
            return result, elapsed, site

    report = check(against_site, name="fetch_pages")
    result, elapsed, site = report.result
    distinct = list(dict.fromkeys(paths))
    if not isinstance(result, dict) or set(result) != set(distinct):
        _fail(WrongResult, f"fetch_pages returned {result!r:.300}; return a dict with one entry per path.")
    timed_out = 0
    for path in distinct:
        page, got = pages.get(path), result[path]
        if page is not None and page.delay > timeout:
            timed_out += 1
            if not isinstance(got, TimeoutError):
                _fail(WrongResult, f"fetch_pages gave {got!r:.80} for {path!r}, which takes longer than the timeout "
                      f"({timeout} s): give each request `timeout=aiohttp.ClientTimeout(sock_read=timeout)` and put "
                      "the TimeoutError object in the dict.")
        elif page is None or page.status >= 400:
            status = 404 if page is None else page.status
            if not (isinstance(got, aiohttp.ClientResponseError) and got.status == status):
                _fail(WrongResult, f"fetch_pages gave {got!r:.80} for {path!r}, which answers with status {status}: "
                      "call `response.raise_for_status()` and put the ClientResponseError object in the dict.")
        elif isinstance(got, TimeoutError):
            _fail(WrongResult, f"fetch_pages gave TimeoutError for {path!r}, which the site answers in {page.delay:g} s, "
                  f"within the timeout ({timeout} s). Was the request timed while it waited for a free connection? "
                  "A `total` timeout counts that wait too; `aiohttp.ClientTimeout(sock_read=timeout)` starts once "
                  "the request is sent.")
        elif got != page.body:
            _fail(WrongResult, f"fetch_pages gave {got!r:.80} for {path!r}; expected its body {page.body!r} "
                  "(`await response.text()`).")
    if site.requests != len(distinct):
        _fail(WrongResult, f"fetch_pages made {site.requests} requests for {len(distinct)} distinct paths: "
              "get each path once.")
    if site.peak_in_flight > limit:
        _fail(TooManyInFlight, f"fetch_pages had {site.peak_in_flight} requests in flight at once; the limit is "
              f"{limit}. Give the session `aiohttp.TCPConnector(limit=limit)` (or guard requests with a semaphore).")
    if site.peak_in_flight < min(limit, len(distinct)):
        _fail(RanSequentially if site.peak_in_flight <= 1 else NotConcurrent,
              f"fetch_pages never had more than {site.peak_in_flight} request(s) in flight; it may have {limit}. "
              "Start every request at once (gather or a TaskGroup) and let the connector hold back the extra ones.")
    most_connections = limit + timed_out  # a timed-out request's connection cannot be reused
    if len(site.peers) > most_connections:
        _fail(WrongResult, f"fetch_pages opened {len(site.peers)} connections for {len(distinct)} requests, "
              f"with a limit of {limit}: it does not reuse them. Make ONE aiohttp.ClientSession for all the "
              "requests (`async with aiohttp.ClientSession(...) as session:` around them all).")
    costs = [min(pages[p].delay if p in pages else 0.0, timeout) for p in distinct]
    bound = _greedy_bound(costs, limit)
    if elapsed > bound + _SLACK:
        _fail(TookTooLong, f"fetch_pages took {elapsed:.2f} s of loop time; with {limit} requests at a time and "
              f"{timeout} s per request at most, it should take no more than {bound:.2f} s.")
    print(f"passed: fetch_pages got {_count(len(distinct), 'page')} on {_count(len(site.peers), 'connection')}, "
          f"at most {site.peak_in_flight} at once, in {elapsed:.2f} s of loop time")
