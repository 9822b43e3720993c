"""What one run of the student's code did: result, loop time, calls, blocking, tasks."""
from __future__ import annotations

import traceback
from dataclasses import dataclass, field

from autograder._watch import BlockingCall, Location, Step, is_user_file
from course.recording import CallRecord


@dataclass
class Report:
    """Everything observed while the student's coroutine ran on the private loop.

    Times are loop times: virtual seconds with the virtual clock, real seconds otherwise.
    Steps are measured in lines of the student's code run between two `await`s.
    """

    function: str
    clock: str
    result: object = None
    exception: BaseException | None = None
    finished: bool = False
    never_finished: str | None = None
    not_awaitable: bool = False
    loop_time: float = 0.0
    calls: list[CallRecord] = field(default_factory=list)
    peak_in_flight: int = 0
    blocking: list[BlockingCall] = field(default_factory=list)
    max_step_lines: int | None = None
    long_steps: list[Step] = field(default_factory=list)
    runaway: Location | None = None
    leaked_tasks: list[tuple[str, Location | None]] = field(default_factory=list)
    leaked_cancelled: int = 0
    unawaited: list[tuple[str, Location | None]] = field(default_factory=list)
    unretrieved: list[str] = field(default_factory=list)
    callback_errors: list[str] = field(default_factory=list)
    tampering: list[str] = field(default_factory=list)
    loop_thread_id: int = 0
    stopped_because: str | None = None
    open_resources: list[str] = field(default_factory=list)
    cancel_requested: bool = False
    stuck_at: Location | None = None

    def _ipython_display_(self) -> None:
        """Show nothing when a test cell ends with a check: nbgrader reads a test cell's
        output as its partial-credit score. `print(report)` shows everything."""

    @property
    def was_cancelled(self) -> bool:
        """The run ended by letting CancelledError propagate."""
        return isinstance(self.exception, BaseException) and type(self.exception).__name__ == "CancelledError"

    def student_traceback(self) -> str:
        """The exception, with only the frames of the student's own code."""
        if self.exception is None:
            return ""
        head = f"{type(self.exception).__name__}: {self.exception}"
        return "\n".join([head, *self.student_frames()])

    def student_frames(self) -> list[str]:
        """Where the exception passed through the student's own code, one line per frame."""
        if self.exception is None:
            return []
        frames = [f for f in traceback.extract_tb(self.exception.__traceback__) if is_user_file(f.filename)]
        return [f"  line {f.lineno}, in {f.name}(): {f.line}" for f in frames]

    def timeline(self, width: int = 40, limit: int = 12) -> str:
        """A text picture of when each service call ran, one row per call."""
        calls = [c for c in self.calls if c.end is not None]
        if not calls:
            return "(no calls to the course's services were made)"
        start = min(c.start for c in calls)
        end = max(c.end for c in calls)  # type: ignore[type-var]
        span = max(end - start, 1e-9)
        rows = []
        label_width = min(max(len(f"{c.name}({c.key!r})") for c in calls[:limit]), 32)
        for call in calls[:limit]:
            first = round((call.start - start) / span * width)
            last = max(first + 1, round((call.end - start) / span * width))  # type: ignore[operator]
            bar = " " * first + "#" * (last - first) + " " * (width - last)
            label = f"{call.name}({call.key!r})"[:label_width].ljust(label_width)
            rows.append(f"  {label} |{bar}| {call.start - start:5.2f}s -> {call.end - start:5.2f}s")
        if len(calls) > limit:
            rows.append(f"  ... and {len(calls) - limit} more calls")
        rows.append(f"  {'':{label_width}}  0s{'':{width - 6}}{span:5.2f}s (loop time)")
        return "\n".join(rows)
