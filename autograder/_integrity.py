"""Noticing when student code replaced the things the checks rely on.

Fingerprints are taken when the autograder is imported and checked before and after every
run. A replaced `time.sleep`, `asyncio.sleep`, clock, course service or autograder function
is reported as tampering instead of being trusted.
"""
from __future__ import annotations

import asyncio
import asyncio.tasks
import functools
import os
import time
import types
from pathlib import Path

import course.services

_ASYNCIO_DIR = str(Path(asyncio.__file__).resolve().parent) + os.sep
_COURSE_DIR = str(Path(course.services.__file__).resolve().parent) + os.sep
_AUTOGRADER_DIR = str(Path(__file__).resolve().parent) + os.sep

_WATCHED: dict[str, tuple[object, str]] = {
    "time.sleep": (time, "sleep"),
    "time.monotonic": (time, "monotonic"),
    "time.perf_counter": (time, "perf_counter"),
    "time.time": (time, "time"),
    "time.thread_time": (time, "thread_time"),
    "asyncio.sleep": (asyncio, "sleep"),
    "asyncio.tasks.sleep": (asyncio.tasks, "sleep"),
    "asyncio.gather": (asyncio, "gather"),
    "asyncio.wait_for": (asyncio, "wait_for"),
    "asyncio.get_running_loop": (asyncio, "get_running_loop"),
    "asyncio.to_thread": (asyncio, "to_thread"),
    "course.download": (course, "download"),
    "course.services.download": (course.services, "download"),
    "course.services.download_blocking": (course.services, "download_blocking"),
}


def _genuine(name: str, value: object) -> bool:
    """Is `value` what Python (or the course) really provides under `name`?"""
    if type(value) is types.BuiltinFunctionType:
        module = getattr(value, "__module__", None)
        return module == "time" if name.startswith("time.") else module in {"_asyncio", "asyncio.events"}
    code = getattr(value, "__code__", None)
    if code is None:
        return False
    home = _COURSE_DIR if name.startswith("course.") else _ASYNCIO_DIR
    return _resolved(code.co_filename).startswith(home)


@functools.lru_cache(maxsize=256)
def _resolved(filename: str) -> str:
    return str(Path(filename).resolve())


class Fingerprints:
    """Identities of the watched functions (and their code) as they were at import time."""

    def __init__(self, extra_modules: list[types.ModuleType]) -> None:
        self._extra = extra_modules
        self._baseline = self._take()

    def _take(self) -> dict[str, tuple[int, int]]:
        seen = {}
        for name, (owner, attr) in _WATCHED.items():
            value = getattr(owner, attr, None)
            seen[name] = (id(value), id(getattr(value, "__code__", None)))
        for module in self._extra:
            for attr, value in vars(module).items():
                if isinstance(value, types.FunctionType) and not attr.startswith("__"):
                    seen[f"{module.__name__}.{attr}"] = (id(value), id(value.__code__))
        return seen

    def quick_changes(self) -> list[str]:
        """The watched functions that differ from the baseline: cheap enough for every loop step."""
        baseline = self._baseline
        return [name for name, (owner, attr) in _WATCHED.items()
                if id(getattr(owner, attr, None)) != baseline[name][0]]

    def changes(self) -> list[str]:
        """Names of watched functions that were replaced (or were never genuine)."""
        now = self._take()
        changed = [name for name, ident in self._baseline.items() if now.get(name) != ident]
        for name, (owner, attr) in _WATCHED.items():
            if name not in changed and not _genuine(name, getattr(owner, attr, None)):
                changed.append(name)
        return changed
