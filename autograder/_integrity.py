"""Noticing, and undoing, what student code replaced of the things the checks rely on.

When the `autograder` package is imported, it imports all of its modules and takes one
snapshot: every name in every `autograder.*` module (and in `course.recording`, which the
checks read), the attributes of every class defined there, the module objects in
`sys.modules`, and the clocks, asyncio and course functions the checks rely on.

* `assert_intact()` runs first in every student-facing check (`errors.student_facing`),
  so replacing `autograder.checks.assert_result`, `autograder.runner.run` or
  `autograder._watch.Watch._record` makes every check fail with `TamperingDetected`.
* `restore()` puts everything back; grading calls it before every test cell, so a patch in
  one cell cannot reach the tests of any exercise.
"""
from __future__ import annotations

import asyncio
import asyncio.tasks
import functools
import os
import sys
import time
import types
from dataclasses import dataclass
from pathlib import Path

_ASYNCIO_DIR = str(Path(asyncio.__file__).resolve().parent) + os.sep
_COURSE_DIR = str(Path(__file__).resolve().parent.parent / "course") + os.sep
_MISSING = object()

#: Functions of Python and of the course that the checks rely on: name -> (owner, attribute).
_WATCHED: dict[str, tuple[object, str]] = {
    "time.sleep": (time, "sleep"),
    "time.monotonic": (time, "monotonic"),
    "time.perf_counter": (time, "perf_counter"),
    "time.time": (time, "time"),
    "asyncio.sleep": (asyncio, "sleep"),
    "asyncio.tasks.sleep": (asyncio.tasks, "sleep"),
    "asyncio.gather": (asyncio, "gather"),
    "asyncio.wait_for": (asyncio, "wait_for"),
    "asyncio.get_running_loop": (asyncio, "get_running_loop"),
    "asyncio.to_thread": (asyncio, "to_thread"),
}


def _watch_course() -> None:
    """The course's services, when the lessons loaded them (the autograder does not)."""
    course = sys.modules.get("course")
    services = sys.modules.get("course.services")
    for owner, label in ((course, "course"), (services, "course.services")):
        if owner is None:
            continue
        for attr in ("download", "download_blocking"):
            _WATCHED.setdefault(f"{label}.{attr}", (owner, attr))


@dataclass
class _ModuleSnapshot:
    module: types.ModuleType
    names: dict[str, object]
    classes: dict[type, dict[str, object]]


_modules: dict[str, _ModuleSnapshot] = {}
_library: dict[str, object] = {}


def _protected() -> dict[str, types.ModuleType]:
    found = {name: module for name, module in list(sys.modules.items())
             if name == "autograder" or name.startswith("autograder.")}
    recording = sys.modules.get("course.recording")
    if recording is not None:
        found["course.recording"] = recording
    return found


def _classes_of(module: types.ModuleType) -> dict[type, dict[str, object]]:
    return {value: dict(vars(value)) for value in vars(module).values()
            if isinstance(value, type) and value.__module__ == module.__name__}


def _is_package_file(module: types.ModuleType) -> bool:
    """A module loaded from one of the autograder's own files (not one a cell made up)."""
    spec = getattr(module, "__spec__", None)
    origin = getattr(spec, "origin", None)
    if not isinstance(module, types.ModuleType) or not isinstance(origin, str):
        return False
    package = Path(__file__).resolve().parent
    path = Path(origin).resolve()
    return path.is_file() and path.is_relative_to(package) and getattr(module, "__file__", None) == origin


def snapshot() -> None:
    """Remember the genuine autograder (called once, when the package is imported)."""
    _watch_course()
    for name, module in _protected().items():
        if name not in _modules:
            _modules[name] = _ModuleSnapshot(module, dict(vars(module)), _classes_of(module))
    for name, (owner, attr) in _WATCHED.items():
        _library.setdefault(name, getattr(owner, attr, None))


def quick_changes() -> list[str]:
    """The watched library functions that differ from the snapshot: cheap enough for every loop step."""
    return [name for name, (owner, attr) in _WATCHED.items()
            if name in _library and getattr(owner, attr, None) is not _library[name]]


def changes() -> list[str]:
    """Everything that differs from the snapshot, by name."""
    _watch_course()
    changed = []
    for name, snap in _modules.items():
        if sys.modules.get(name) is not snap.module:
            changed.append(f"sys.modules[{name!r}]")
        current = vars(snap.module)
        changed += [f"{name}.{attr}" for attr, value in snap.names.items() if current.get(attr, _MISSING) is not value]
        for cls, attrs in snap.classes.items():
            now = vars(cls)
            changed += [f"{name}.{cls.__name__}.{attr}" for attr, value in attrs.items()
                        if now.get(attr, _MISSING) is not value]
            changed += [f"{name}.{cls.__name__}.{attr}" for attr in now.keys() - attrs.keys()
                        if not attr.startswith("__")]
    for name in _protected().keys() - _modules.keys():
        module = sys.modules[name]
        if _is_package_file(module):  # imported later (autograder.validate, say): genuine
            _modules[name] = _ModuleSnapshot(module, dict(vars(module)), _classes_of(module))
        else:
            changed.append(f"{name} (a module the autograder does not have)")
    changed += quick_changes()
    for name, (owner, attr) in _WATCHED.items():
        value = getattr(owner, attr, None)
        if name not in changed and not _genuine(name, value):
            changed.append(name)
        _library.setdefault(name, value if _genuine(name, value) else None)
    return changed


def assert_intact() -> None:
    """Raise `TamperingDetected` when anything the checks rely on was replaced."""
    __tracebackhide__ = True  # noqa: F841
    changed = changes()
    if changed:
        from autograder.errors import TamperingDetected

        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise TamperingDetected(
            f"Your code replaced {shown}. The checks measure your code with the genuine functions, so "
            "replacing them cannot make a check pass. Remove the assignment and restart the kernel "
            "to be graded.") from None


def restore() -> list[str]:
    """Put back everything that differs from the snapshot; returns what was restored."""
    restored = changes()
    for name, snap in _modules.items():
        sys.modules[name] = snap.module
        namespace = vars(snap.module)
        for attr, value in snap.names.items():
            if namespace.get(attr, _MISSING) is not value:
                namespace[attr] = value
        for cls, attrs in snap.classes.items():
            for attr in list(vars(cls).keys() - attrs.keys()):
                if not attr.startswith("__"):
                    type.__delattr__(cls, attr)
            for attr, value in attrs.items():
                if vars(cls).get(attr, _MISSING) is not value and attr not in ("__dict__", "__weakref__"):
                    type.__setattr__(cls, attr, value)
    for name in _protected().keys() - _modules.keys():
        del sys.modules[name]
    for name, (owner, attr) in _WATCHED.items():
        genuine = _library.get(name)
        if genuine is not None and getattr(owner, attr, None) is not genuine:
            setattr(owner, attr, genuine)
    return restored


def _genuine(name: str, value: object) -> bool:
    """Is `value` what Python (or the course) really provides under `name`?"""
    if type(value) is types.BuiltinFunctionType:
        module = getattr(value, "__module__", None)
        return module == "time" if name.startswith("time.") else module in {"_asyncio", "asyncio.events"}
    code = getattr(value, "__code__", None)
    if code is None:
        return False
    home = _COURSE_DIR if name.startswith("course") else _ASYNCIO_DIR
    return _resolved(code.co_filename).startswith(home)


@functools.lru_cache(maxsize=256)
def _resolved(filename: str) -> str:
    return str(Path(filename).resolve())
