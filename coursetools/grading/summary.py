"""What grade-class shows: a progress line while grading, then a table and the counts."""
from __future__ import annotations

import time

from coursetools.grading.results import Outcome, Status


class Progress:
    """A progress bar on a terminal, one line per student elsewhere (logs, CI)."""

    def __init__(self, total: int, skipped: int, workers: int, out):
        self.total, self.skipped, self.workers, self.out = total, skipped, workers, out
        self.done = 0
        self.problems = 0
        self.started = time.monotonic()
        self.tty = hasattr(out, "isatty") and out.isatty()

    def line(self) -> str:
        width = 30
        filled = int(width * self.done / self.total) if self.total else width
        elapsed = time.monotonic() - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else 0
        return (f"[{'#' * filled}{'-' * (width - filled)}] {self.done}/{self.total} graded"
                f"  {self.problems} with errors  {self.skipped} unchanged  {self.workers} workers"
                f"  {elapsed:.0f}s" + (f", ~{left:.0f}s left" if self.done and self.done < self.total else ""))

    def update(self, outcome: Outcome | None = None) -> None:
        if outcome is not None:
            self.done += 1
            self.problems += outcome.status != Status.GRADED
        if self.tty:
            self.out.write("\r" + self.line())
            self.out.flush()
        elif outcome is not None:
            self.out.write(f"[{self.done:>{len(str(self.total))}}/{self.total}] {outcome.student}: {score(outcome)} "
                           f"{outcome.status} ({outcome.seconds:.1f} s)\n")
            self.out.flush()

    def finish(self) -> None:
        if self.tty:
            self.out.write("\r" + self.line() + "\n")
            self.out.flush()


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def score(outcome: Outcome) -> str:
    return f"{_num(outcome.score)}/{_num(outcome.max_score)}" if outcome.max_score else "-"


def details(outcome: Outcome) -> str:
    """One line: why it could not be graded, what the grader repaired, which tests lost points."""
    parts = [outcome.error] if outcome.error else []
    parts += outcome.notes
    if outcome.flags:
        parts.append("review: " + ", ".join(outcome.flags))
    if outcome.lost and outcome.status == Status.GRADED:
        parts.append("lost " + ", ".join(
            f"{t.id} ({t.error.split(':')[0] if t.error else 'no points'})" for t in outcome.lost))
    return "; ".join(parts)


def summary_table(outcomes: list[Outcome], width: int = 160) -> str:
    name_width = max([7] + [len(o.student) for o in outcomes])
    lines = [f"{'student':<{name_width}}  {'score':>9}  {'status':<11}  details",
             f"{'-' * name_width}  {'-' * 9}  {'-' * 11}  {'-' * 40}"]
    for o in outcomes:
        text = details(o)
        room = max(20, width - name_width - 26)
        if len(text) > room:
            text = text[: room - 3] + "..."
        lines.append(f"{o.student:<{name_width}}  {score(o):>9}  {o.status:<11}  {text}")
    return "\n".join(lines)


def counts_line(outcomes: list[Outcome], unchanged: int) -> str:
    counts = {status: sum(o.status == status for o in outcomes) for status in Status}
    return (f"{len(outcomes)} submissions: {counts[Status.GRADED]} graded, {counts[Status.ERROR]} could not be graded, "
            f"{counts[Status.NO_NOTEBOOK]} without the notebook, {counts[Status.CRASHED]} crashed the grader; "
            f"{unchanged} unchanged since the last run")
