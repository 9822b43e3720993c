"""Notebook 08, solved and run top to bottom in a real kernel, leaves nothing running behind it.

Its lessons start threads, fresh event loops, a subprocess that is sent SIGTERM, and its
checks run private loops with executor threads. Afterwards the kernel must hold no thread,
child process or socket that was not there before, apart from the idle worker threads of the
kernel loop's own default executor (kept for the next `asyncio.to_thread`, as asyncio does).
"""
from __future__ import annotations

import json

import nbformat
from nbclient import NotebookClient

from conftest import ROOT
from coursetools.submissions import solved

NOTEBOOK = ROOT / "source" / "08-shared-state-and-structure" / "shared-state-and-structure.ipynb"

SNAPSHOT = '''
import asyncio as _asyncio, json as _json, os as _os, threading as _threading, time as _time


def _resources():
    """Threads, child processes and sockets of this kernel right now."""
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
        if target.startswith("socket:"):
            sockets.add(target)
    # pyzmq starts a garbage-collector thread of its own the first time the kernel sends a large
    # output without copying it: the kernel's thread, not the notebook's
    threads = {thread.ident: thread.name for thread in _threading.enumerate()
               if type(thread).__name__ != "GarbageCollectorThread"}
    return threads, children, sockets


_before = _resources()
'''

LEFTOVERS = '''
def _socket_kinds(inodes):
    """Where each socket inode is listed: which /proc/net table, and its local address."""
    kinds = {inode: "a socket of another kind" for inode in inodes}
    for table in ("tcp", "tcp6", "udp", "udp6", "unix"):
        with open(f"/proc/net/{table}") as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                inode = f"socket:[{fields[9] if table != 'unix' else fields[6]}]"
                if inode in kinds:
                    kinds[inode] = f"{table} {fields[1] if table != 'unix' else ' '.join(fields[7:]) or 'unnamed'}"
    return sorted(kinds.values())


def _leftovers():
    threads, children, sockets = _resources()
    executor = getattr(_asyncio.get_running_loop(), "_default_executor", None)
    pool = {thread.ident for thread in getattr(executor, "_threads", ())}
    return {
        "threads": sorted(name for ident, name in threads.items() if ident not in _before[0] and ident not in pool),
        "children": sorted(children - _before[1]),
        "sockets": _socket_kinds(sockets - _before[2]),
    }


_deadline = _time.monotonic() + 10  # executor threads of closed loops take a moment to end
while any((found := _leftovers()).values()) and _time.monotonic() < _deadline:
    await _asyncio.sleep(0.1)
print(_json.dumps(found))
'''


def test_the_solved_notebook_leaves_no_thread_process_or_socket() -> None:
    notebook = solved(NOTEBOOK)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(SNAPSHOT))
    notebook.cells.append(nbformat.v4.new_code_cell(LEFTOVERS))
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    errors = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
              if o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr")]
    assert not errors, f"the notebook wrote errors: {errors[:3]}"
    printed = "".join(o.text for o in notebook.cells[-1].outputs if o.output_type == "stream")
    assert json.loads(printed) == {"threads": [], "children": [], "sockets": []}
