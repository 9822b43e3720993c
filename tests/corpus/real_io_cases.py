"""Corpus cases for real I/O on the virtual clock, deterministic long steps, stdlib waits,
tampering below the package level, and messages that name the most specific mistake.

Registered into `autograder_cases.CASES` (loaded from there), graded the same ways.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import http.server
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zlib

import autograder
import autograder.checks
import course
from autograder import check, run
from autograder_cases import PAGES, URLS, case

# --- a threaded HTTP server on 127.0.0.1, outside the private loop ---------------------------


class _Pages(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        time.sleep(0.05)  # a real server takes real time
        body = f"<html>{self.path.lstrip('/')}</html>".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def threaded_http_server():
    """An HTTP server in a thread of its own, on a free port of 127.0.0.1."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def http_get(port: int, path: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET /{path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    return response.split(b"\r\n\r\n", 1)[1].decode()


async def fetch_from_http_server(port, paths):
    return await asyncio.gather(*(http_get(port, p) for p in paths))


@case()
def client_of_a_threaded_http_server():
    with threaded_http_server() as port:
        check(fetch_from_http_server, port, URLS, expected=PAGES)


async def fetch_from_http_server_with_timeout(port, paths):
    return await asyncio.wait_for(fetch_from_http_server(port, paths), 5)


@case()
def wait_for_around_real_io():
    with threaded_http_server() as port:
        check(fetch_from_http_server_with_timeout, port, URLS[:3], expected=PAGES[:3])


async def fetch_with_urllib(port, paths):
    return [urllib.request.urlopen(f"http://127.0.0.1:{port}/{p}").read().decode() for p in paths]


@case("BlockingCallDetected", "urllib.request.urlopen()")
def urllib_on_the_loop():
    with threaded_http_server() as port:
        check(fetch_with_urllib, port, URLS[:2], expected=PAGES[:2])


# --- an asyncio streams server and 1,000 clients on the private loop -------------------------

async def _echo_upper(reader, writer):
    line = await reader.readline()
    await asyncio.sleep(0.1)  # simulated work: loop time, exactly
    writer.write(line.upper())
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def _blocking_echo(reader, writer):
    line = await reader.readline()
    time.sleep(0.001)
    writer.write(line.upper())
    await writer.drain()
    writer.close()


async def serve_clients(handler, clients: int):
    server = await asyncio.start_server(handler, "127.0.0.1", 0, backlog=clients)
    port = server.sockets[0].getsockname()[1]

    async def client(i: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"hello {i}\n".encode())
        await writer.drain()
        answer = await reader.readline()
        writer.close()
        await writer.wait_closed()
        return answer

    async with server:
        answers = await asyncio.gather(*(client(i) for i in range(clients)))
    return sum(answer == f"HELLO {i}\n".encode() for i, answer in enumerate(answers))


@case()
def streams_server_serves_a_thousand_clients():
    # Two sockets per client on one loop: as many clients as the open-file limit allows, up to
    # 1,000 (the grading sandbox allows 256 open files).
    clients = min(1_000, (_descriptor_limit() - _open_descriptors() - 32) // 2)
    check(serve_clients, _echo_upper, clients, expected=clients, within=0.1)


@case("BlockingCallDetected", "time.sleep()")
def streams_server_with_a_blocking_handler():
    check(serve_clients, _blocking_echo, 20, expected=20)


async def server_left_listening():
    server = await asyncio.start_server(_echo_upper, "127.0.0.1", 0)
    return server.sockets[0].getsockname()[0]


@case("ResourceLeaked", "a server still listening on 127.0.0.1")
def server_never_closed():
    check(server_left_listening, expected="127.0.0.1")


def _descriptor_limit() -> int:
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _open_descriptors() -> int:
    import os

    return len(os.listdir("/proc/self/fd"))


# --- subprocesses ----------------------------------------------------------------------------

async def run_python(code: str) -> str:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return out.decode().strip()


@case()
def asyncio_subprocess():
    check(run_python, "print(6 * 7)", expected="42")


async def run_python_blocking(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()


@case("BlockingCallDetected", "subprocess.run()")
def blocking_subprocess_on_the_loop():
    check(run_python_blocking, "print(6 * 7)", expected="42")


# --- executor idioms -------------------------------------------------------------------------

async def fetch_all_wrap_future(urls):
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = [asyncio.wrap_future(pool.submit(course.download_blocking, u, 0.05)) for u in urls]
        return await asyncio.gather(*futures)


@case()
def wrap_future_of_a_pool_job():
    check(fetch_all_wrap_future, URLS, expected=PAGES)


async def fetch_all_pool_map(urls):
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(course.download_blocking, urls, [0.05] * len(urls)))


@case("BlockingCallDetected", "result() of a pool's future, not awaited")
def pool_map_iterated_on_the_loop():
    check(fetch_all_pool_map, URLS, expected=PAGES)


async def fetch_all_leaving_pool_early(urls):
    loop = asyncio.get_running_loop()
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = [loop.run_in_executor(pool, course.download_blocking, u, 0.05) for u in urls]
    return await asyncio.gather(*futures)


@case("BlockingCallDetected", "shutdown() of a thread pool whose jobs were not awaited")
def pool_shut_down_with_work_pending():
    check(fetch_all_leaving_pool_early, URLS, expected=PAGES)


# --- polling instead of waiting --------------------------------------------------------------

async def fetch_limited_by_polling(urls, limit):
    in_flight = 0

    async def one(url):
        nonlocal in_flight
        while in_flight >= limit:
            await asyncio.sleep(0)
        in_flight += 1
        try:
            return await course.download(url)
        finally:
            in_flight -= 1
    return await asyncio.gather(*(one(u) for u in urls))


@case()
def limiter_that_polls():
    check(fetch_limited_by_polling, URLS, 3, expected=PAGES, max_in_flight=3, min_in_flight=3)


# --- long steps, counted in lines: a helper function changes nothing -------------------------

_DATA = bytes(range(256)) * 800  # 204,800 bytes


def _adler_step(a: int, b: int, byte: int) -> tuple[int, int]:
    a = (a + byte) % 65521
    b = (b + a) % 65521
    return a, b


async def adler32_with_helper(data, every=10_000):
    a, b = 1, 0
    for index, byte in enumerate(data):
        a, b = _adler_step(a, b, byte)
        if index % every == every - 1:
            await asyncio.sleep(0)
    return (b << 16) | a


async def adler32_inline(data, every=10_000):
    a, b = 1, 0
    for start in range(0, len(data), every):
        for byte in data[start:start + every]:
            a = (a + byte) % 65521
            b = (b + a) % 65521
        await asyncio.sleep(0)
    return (b << 16) | a


@case()
def cooperative_checksum_with_a_helper():
    check(adler32_with_helper, _DATA, expected=zlib.adler32(_DATA), max_step_lines=100_000)


@case()
def cooperative_checksum_inline():
    check(adler32_inline, _DATA, expected=zlib.adler32(_DATA), max_step_lines=100_000)


@case("LoopHeldTooLong", "lines of your code without reaching an `await`")
def checksum_with_a_helper_that_never_yields():
    check(adler32_with_helper, _DATA, len(_DATA) + 1, expected=zlib.adler32(_DATA), max_step_lines=100_000)


@case("LoopHeldTooLong", "lines of your code without reaching an `await`")
def checksum_inline_that_never_yields():
    check(adler32_inline, _DATA, len(_DATA), expected=zlib.adler32(_DATA), max_step_lines=100_000)


async def busy_wait_instead_of_sleeping(urls):
    end = time.monotonic() + 60
    while time.monotonic() < end:
        pass
    return PAGES


@case("LoopHeldTooLong", "busy wait")
def busy_wait():
    check(busy_wait_instead_of_sleeping, URLS, expected=PAGES)


# --- the most specific diagnosis first -------------------------------------------------------

async def archive_like(urls):
    try:
        connection = await course.download(urls[0])
    finally:
        connection.close()  # noqa: F821 (unbound when cancelled while connecting)


@case("StudentCodeRaised", "UnboundLocalError")
def cleanup_that_fails_when_cancelled_early():
    report = run(archive_like, URLS, cancel_after=0.5)
    autograder.assert_cancelled_cleanly(report)


async def first_page_leaving_the_rest(urls):
    tasks = [asyncio.create_task(course.download(u, latency=1 + i)) for i, u in enumerate(urls)]
    return await tasks[0]


@case("TaskLeaked", "cancel them and then await them")
def first_result_leaves_other_tasks_running():
    check(first_page_leaving_the_rest, URLS, expected=PAGES[0])


async def waits_on_a_task_that_failed(urls):
    async def failing():
        raise ValueError("bad page")
    asyncio.create_task(failing())
    await asyncio.get_running_loop().create_future()


@case("TaskLeaked", "ValueError: bad page")
def lost_task_error_before_never_finished():
    check(waits_on_a_task_that_failed, URLS)


async def never_awaited_then_stuck(urls):
    done = asyncio.Event()

    async def finish():
        done.set()
    finish()  # the missing await
    await done.wait()


@case("CoroutineNeverAwaited", "finish")
def missing_await_before_never_finished():
    check(never_awaited_then_stuck, URLS)


async def one_wrong_entry(urls):
    pages = await asyncio.gather(*(course.download(u) for u in urls))
    pages[7] = "<html>oops</html>"
    return pages


@case("WrongResult", "item 7 is '<html>oops</html>'")
def wrong_entry_is_named():
    check(one_wrong_entry, URLS, expected=PAGES)


# --- tampering below the package level -------------------------------------------------------

@contextlib.contextmanager
def _restored():
    try:
        yield
    finally:
        autograder._integrity.restore()


async def stub_assert_result(urls):
    autograder.checks.assert_result = lambda *args, **kwargs: None
    return ["wrong"]


@case("TamperingDetected", "autograder.checks.assert_result")
def replacing_a_submodule_function():
    with _restored():
        check(stub_assert_result, URLS, expected=PAGES)


async def silence_the_watch(urls):
    import autograder._watch

    autograder._watch.Watch._record = lambda self, *args: None
    time.sleep(0.01)
    return PAGES


@case("TamperingDetected", "autograder._watch.Watch._record")
def patching_a_class_of_the_autograder():
    with _restored():
        check(silence_the_watch, URLS, expected=PAGES)


async def replace_run(urls):
    import autograder.runner

    autograder.runner.run = lambda *args, **kwargs: None
    return PAGES


@case("TamperingDetected", "autograder.runner.run")
def replacing_the_runner():
    with _restored():
        check(replace_run, URLS, expected=PAGES)


# --- threads the student starts, and the loop's low-level socket calls -----------------------

async def result_from_a_thread(value):
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def work(target):
        time.sleep(0.2)  # real work in the thread, off the loop
        loop.call_soon_threadsafe(target.set_result, value)
    thread = threading.Thread(target=functools.partial(work, future))
    thread.start()
    try:
        return await future
    finally:
        await asyncio.to_thread(thread.join)


@case()
def thread_feeds_the_loop_with_call_soon_threadsafe():
    check(result_from_a_thread, 42, expected=42)


async def echo_with_sock_calls(message: bytes):
    loop = asyncio.get_running_loop()
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    listening.setblocking(False)

    async def serve_one():
        conn, _ = await loop.sock_accept(listening)
        with conn:
            data = await loop.sock_recv(conn, 1024)
            await asyncio.sleep(1)  # simulated work: exact loop time, no real waiting
            await loop.sock_sendall(conn, data.upper())

    server = asyncio.create_task(serve_one())
    with socket.socket() as client, listening:
        client.setblocking(False)
        await loop.sock_connect(client, listening.getsockname())
        await loop.sock_sendall(client, message)
        answer = await loop.sock_recv(client, 1024)
        await server
    return answer


@case()
def low_level_socket_calls_on_one_loop():
    check(echo_with_sock_calls, b"hello", expected=b"HELLO", within=1.0)
