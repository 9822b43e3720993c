"""Signals to child processes started with asyncio, without racing asyncio's child watcher.

`asyncio.subprocess.Process.kill()`, `terminate()` and `send_signal()` first poll the child
(`subprocess.Popen.poll`). That reaps a child that has just exited before asyncio's child
watcher does, and the watcher then writes "Unknown child process pid ..., will report
returncode 255" on stderr (Python 3.11's ThreadedChildWatcher). `os.kill` never reaps: the
watcher stays the only one that does, and until it has, the pid is still this child's.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal


def send(process: asyncio.subprocess.Process, signum: int = signal.SIGKILL) -> None:
    """Send `signum` to `process` (by default, kill it); nothing if it has already exited."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signum)
