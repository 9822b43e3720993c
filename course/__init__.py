"""Support code for the lessons: simulated services with latency, local servers, widgets and plots."""
from course.services import (
    CallRecord,
    Recorder,
    download,
    download_blocking,
    download_with_callback,
    recorder_for,
)

_SUBMODULES = {"widgets", "plots"}


def __getattr__(name: str):
    """`course.widgets` and `course.plots` load on first use (they import ipywidgets, matplotlib)."""
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"course.{name}")
    raise AttributeError(f"module 'course' has no attribute {name!r}")


__all__ = [
    "CallRecord",
    "Recorder",
    "download",
    "download_blocking",
    "download_with_callback",
    "recorder_for",
]
