"""Support code for the lessons: simulated services with latency, local servers, widgets and plots."""
from course.services import (
    CallRecord,
    Recorder,
    download,
    download_blocking,
    download_with_callback,
    recorder_for,
)

__all__ = [
    "CallRecord",
    "Recorder",
    "download",
    "download_blocking",
    "download_with_callback",
    "recorder_for",
]
