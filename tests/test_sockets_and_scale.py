"""Notebook 07 and its support code leave no process, thread, socket or listening port behind."""
from __future__ import annotations

import asyncio
import json
import os
import threading

import nbformat
import pytest
from nbclient import NotebookClient

import course.net
import course.scale
from conftest import ROOT

NOTEBOOK = ROOT / "source" / "07-sockets-and-scale" / "sockets-and-scale.ipynb"

#: Code run in the kernel before and after the notebook: what the process holds.
_SNAPSHOT = '''
import json as _json, os as _os, threading as _threading


def _holdings():
    """Child processes, threads, open sockets and listening TCP ports of this process."""
    children = set()
    for task in _os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as listing:
            children |= {int(pid) for pid in listing.read().split()}
    sockets = set()
    for fd in _os.listdir("/proc/self/fd"):
        try:
            target = _os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            sockets.add(target[8:-1])
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if fields[3] == "0A" and fields[9] in sockets:  # LISTEN, and ours
                    listening.add(int(fields[1].rsplit(":", 1)[1], 16))
    return {"children": sorted(children), "threads": len(_os.listdir("/proc/self/task")),
            # pyzmq starts its garbage-collector thread the first time the kernel sends a large
            # output (a picture) without copying it: the kernel's, not the notebook's
            "thread_names": sorted(t.name for t in _threading.enumerate()
                                   if type(t).__name__ != "GarbageCollectorThread"),
            "sockets": len(sockets), "listening": sorted(listening)}
'''


def _process_holdings() -> dict:
    namespace: dict = {}
    exec(_SNAPSHOT, namespace)
    return namespace["_holdings"]()


def test_the_notebook_leaves_nothing_running(tmp_path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    before = nbformat.v4.new_code_cell(_SNAPSHOT + "_before = _holdings()")
    after = nbformat.v4.new_code_cell(
        "import gc, time\n"
        "gc.collect()\n"
        "await asyncio.sleep(0.5)  # closing transports finish on the next turns of the loop\n"
        "print(_json.dumps({'before': _before, 'after': _holdings()}))")
    notebook.cells = [before, *notebook.cells, after]
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    report = json.loads(notebook.cells[-1].outputs[-1]["text"])
    before, after = report["before"], report["after"]
    assert after["children"] == [], f"child processes left running: {after['children']}"
    assert after["listening"] == before["listening"], f"ports left listening: {after['listening']}"
    assert after["sockets"] <= before["sockets"], f"sockets left open: {before['sockets']} -> {after['sockets']}"
    assert after["thread_names"] == before["thread_names"], f"threads left: {before['thread_names']} -> {after['thread_names']}"


@pytest.mark.parametrize("model", course.scale.MODELS)
def test_a_measurement_reaps_its_processes(model: str) -> None:
    measurement = asyncio.run(course.scale.measure(model, 40, seconds=0.2))
    assert measurement.started == 40 and measurement.error is None
    assert measurement.resident_bytes > 0 and measurement.requests_per_second > 0
    if model == "threads":  # each thread reserves a stack of its own
        assert measurement.reserved_per_connection > 64 * 1024
    assert _process_holdings()["children"] == []


def test_a_measurement_past_its_time_is_stopped_and_reported() -> None:
    """On a machine too loaded to finish in time, a run is cut, says so, and leaves nothing running."""
    measurement = asyncio.run(course.scale.measure("threads", 2_000, timeout=0.05))
    assert measurement.started == 0 and "not measured" in measurement.error
    assert _process_holdings()["children"] == []


def test_sleepers_measure_without_sockets() -> None:
    measurement = asyncio.run(course.scale.measure("threads", 30, sockets=False))
    assert (measurement.kind, measurement.started, measurement.requests_per_second) == ("sleepers", 30, None)
    assert _process_holdings()["children"] == []


def test_the_servers_close_their_ports_and_connections() -> None:
    before = _process_holdings()

    async def use_them() -> None:
        async with course.net.value_server({"a": "1"}, delays={"a": 10.0}) as server:
            reader, writer = await asyncio.open_connection(course.net.HOST, server.port)
            writer.write(b"GET a\n")  # still being answered when the server stops
            await writer.drain()
            await asyncio.sleep(0.05)
            assert (server.open_now, server.in_flight) == (1, 1)
        assert await reader.read() == b""  # the server closed the connection
        writer.close()
        async with course.net.web_site({"/": course.net.Page("home")}) as site:
            reader, writer = await asyncio.open_connection(course.net.HOST, site.port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert (await reader.readline()).startswith(b"HTTP/1.1 200")
            writer.close()

    asyncio.run(use_them())
    after = _process_holdings()
    assert after["listening"] == before["listening"] and after["sockets"] <= before["sockets"]
    assert threading.active_count() == len(before["thread_names"])


def test_threads_are_not_tried_past_a_cap_on_threads() -> None:
    """A sandbox stops a kernel whose processes and threads reach its cap: the measurement
    says it did not try, rather than start the threads."""
    import subprocess
    import sys

    script = (
        "import asyncio, resource, course.scale\n"
        "resource.setrlimit(resource.RLIMIT_NPROC, (150, resource.getrlimit(resource.RLIMIT_NPROC)[1]))\n"
        "m = asyncio.run(course.scale.measure('threads', 1000))\n"
        "print(m.started, m.error)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("0 not tried"), done.stdout
