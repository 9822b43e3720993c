"""09 Capstone: the crawled site (`course.site`), and a notebook that leaves nothing running."""
from __future__ import annotations

import asyncio
import socket
import threading

import aiohttp
import nbformat
from nbclient import NotebookClient

from autograder import run
from conftest import ROOT
from course.site import STALL_FACTOR, Page, SiteInThread, expected_crawl, find_links, generate_site, serve_site

NOTEBOOK = ROOT / "source" / "09-capstone-crawler" / "capstone-crawler.ipynb"


def test_a_generated_site_is_the_same_for_a_seed_and_has_every_kind_of_trouble() -> None:
    site = generate_site(30, seed=4)
    assert site == generate_site(30, seed=4) and site != generate_site(30, seed=5)
    kinds = [page.kind for page in site.values()]
    assert {kind: kinds.count(kind) for kind in set(kinds)} == {"normal": 22, "slow": 3, "broken": 2, "flaky": 2,
                                                                 "stalled": 1}
    reachable, frontier = {"/"}, ["/"]
    while frontier:
        for link in site.get(frontier.pop(), Page("/gone")).links:
            if link not in reachable:
                reachable.add(link)
                frontier.append(link)
    assert set(site) <= reachable and {link for link in reachable if link not in site} == {"/gone/0", "/gone/1"}


def test_the_expected_crawl_depends_on_retries_and_timeout() -> None:
    site = {"/": Page("/", links=("/flaky", "/stalled", "/broken", "/gone")),
            "/flaky": Page("/flaky", links=("/behind-flaky",), fail_first=2),
            "/behind-flaky": Page("/behind-flaky"),
            "/stalled": Page("/stalled", stall_first=1),
            "/broken": Page("/broken", status=500)}
    plain = expected_crawl(site, "http://h")
    assert plain.found == {"http://h/", "http://h/stalled"}
    assert plain.failed == {"http://h/flaky", "http://h/broken", "http://h/gone"}
    patient = expected_crawl(site, "http://h", retries=2, timeout=5.0)
    assert patient.found == {"http://h/", "http://h/flaky", "http://h/behind-flaky", "http://h/stalled"}
    assert expected_crawl(site, "http://h", retries=0, timeout=5.0).failed >= {"http://h/stalled"}


def test_find_links_returns_every_href_as_written() -> None:
    html = '<p><a href="/a#x">A</a> <a name="top">no link</a> <A HREF="b">B</A> <a href="">empty</a></p>'
    assert find_links(html) == ["/a#x", "b"]


def test_the_server_records_each_request_and_its_outcome_on_the_virtual_clock() -> None:
    site_map = {"/": Page("/", latency=1.0), "/flaky": Page("/flaky", latency=0.5, fail_first=2),
                "/stalled": Page("/stalled", latency=0.5, stall_first=1)}

    async def scenario():
        async with serve_site(site_map) as site:
            async with aiohttp.ClientSession() as session:
                statuses = []
                for _ in range(3):
                    async with session.get(site.url + "/flaky") as response:
                        statuses.append(response.status)
                pages = await asyncio.gather(*(session.get(site.url + "/") for _ in range(3)))
                for response in pages:
                    response.release()
                try:
                    async with asyncio.timeout(2.0):
                        await session.get(site.url + "/stalled")
                except TimeoutError:
                    statuses.append("timeout")
            await site.settle()
            return statuses, site.peak_in_flight, site.open_connections, site.in_flight, list(site.requests)

    report = run(scenario)
    statuses, peak, still_open, in_flight, requests = report.result
    assert statuses == [503, 503, 200, "timeout"]
    assert (peak, still_open, in_flight) == (3, 0, 0)
    assert [(r.path, r.status) for r in requests[-1:]] == [("/stalled", None)]
    assert requests[-1].end - requests[-1].start == 2.0 < 0.5 * STALL_FACTOR
    assert report.loop_time == 3 * 0.5 + 1.0 + 2.0


def test_a_site_in_a_thread_serves_for_real_and_leaves_no_thread_or_port() -> None:
    threads = set(threading.enumerate())
    with SiteInThread(generate_site(5, seed=1, latency=0.01)) as site:
        port = site.port

        async def root_page() -> str:
            async with aiohttp.ClientSession() as session:
                async with session.get(site.url + "/") as response:
                    return await response.text()

        assert "<h1>/</h1>" in asyncio.run(root_page())
    assert set(threading.enumerate()) == threads
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


_SNAPSHOT = '''
import multiprocessing as _multiprocessing
import os as _os
import threading as _threading


def _running():
    """Threads, child processes and TCP sockets of this kernel (its own machinery aside)."""
    inodes = set()
    for fd in _os.listdir("/proc/self/fd"):
        try:
            target = _os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    sockets = []
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as rows:
            next(rows)
            sockets += [row.split()[1] for row in rows if row.split()[9] in inodes]
    threads = [t for t in _threading.enumerate()  # not the kernel's own (pyzmq starts one on a large output)
               if not type(t).__module__.startswith(("zmq.", "ipykernel.", "jupyter_client."))]
    return {"threads": sorted(t.name for t in threads),
            "children": sorted(p.pid for p in _multiprocessing.active_children()), "sockets": sorted(sockets)}


_before = _running()
'''

_COMPARE = '''
import time as _time


def _new():
    return {key: sorted(set(value) - set(_before[key])) for key, value in _running().items()}


for _ in range(50):  # a thread or process told to stop may take a moment to end
    if not any(_new().values()):
        break
    _time.sleep(0.1)
print("left running:", _new())
'''


def test_the_notebook_leaves_no_thread_process_or_socket_behind() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(_SNAPSHOT))
    notebook.cells.append(nbformat.v4.new_code_cell(_COMPARE))
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    errors = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"]
    assert not errors, errors[0]
    stderr = [o.text for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
              if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, stderr
    last = "".join(o.text for o in notebook.cells[-1].outputs if o.output_type == "stream")
    assert last.strip() == "left running: {'threads': [], 'children': [], 'sockets': []}", last
