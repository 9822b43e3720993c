"""What a grading run had to repair or work around, recorded as data in the autograded notebook.

The course's preprocessors (`execute.RobustExecute`, `restore_cells.OverwriteCells`) append
`GradingEvent`s to `notebook.metadata["asyncio_course"]["grading_events"]` of the notebook
they grade; grade-class reads them back from the autograded notebook for its summary. Plain
`nbgrader autograde` records them the same way (they survive in the autograded notebook).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum

METADATA_KEY = "asyncio_course"
EVENTS_KEY = "grading_events"


class EventKind(StrEnum):
    CELL_PUT_BACK = "cell put back"          # a deleted test or read-only cell was restored
    RESTORED = "restored"                    # the guard restored what student code had replaced
    TAMPERING = "tampering"                  # the guard itself was removed
    TIMEOUT = "timeout"                      # a cell ran past the per-cell limit
    KERNEL_DIED = "kernel died"
    KERNEL_BROKEN = "kernel broken"          # the kernel no longer answered the health probe
    RESTART = "restart"                      # a fresh kernel was started
    LEFT_OUT_ON_REPLAY = "left out on replay"
    ABORTED = "aborted"                      # cells not run: too many restarts
    UNSANDBOXED = "unsandboxed"
    DEMOS_SKIPPED = "demos skipped"


@dataclass(frozen=True)
class GradingEvent:
    """One thing the grader did: what kind, in which cell (grade id or cell number), details."""

    kind: EventKind
    cell: str = ""
    detail: str = ""

    def to_json(self) -> dict:
        return {**asdict(self), "kind": str(self.kind)}

    @classmethod
    def from_json(cls, data: dict) -> "GradingEvent":
        return cls(EventKind(data["kind"]), str(data.get("cell", "")), str(data.get("detail", "")))


def clear_events(notebook) -> None:
    """Start a fresh record (a submitted notebook may carry anything in its metadata)."""
    notebook.metadata.setdefault(METADATA_KEY, {})[EVENTS_KEY] = []


def record_event(notebook, event: GradingEvent) -> None:
    notebook.metadata.setdefault(METADATA_KEY, {}).setdefault(EVENTS_KEY, []).append(event.to_json())


def read_events(notebook) -> list[GradingEvent]:
    """The events recorded in a notebook (unknown kinds are ignored)."""
    found = []
    for data in notebook.get("metadata", {}).get(METADATA_KEY, {}).get(EVENTS_KEY, []):
        try:
            found.append(GradingEvent.from_json(data))
        except (KeyError, ValueError, TypeError, AttributeError):
            continue
    return found


def describe_events(events: list[GradingEvent]) -> list[str]:
    """Short notes for the summary, one per kind of repair (restarts counted)."""
    notes: list[str] = []
    restored: list[str] = []
    restarts = 0
    for event in events:
        if event.kind == EventKind.RESTORED:
            restored += [name for name in event.detail.split(", ") if name not in restored]
        elif event.kind == EventKind.RESTART:
            restarts += 1
        elif event.kind == EventKind.CELL_PUT_BACK:
            notes.append(f"deleted cell {event.cell} put back")
        elif event.kind == EventKind.LEFT_OUT_ON_REPLAY:
            notes.append(f"cell {event.cell} left out on re-run")
        elif event.kind == EventKind.UNSANDBOXED:
            notes.append("UNSANDBOXED")
        elif event.kind == EventKind.DEMOS_SKIPPED:
            continue  # every grading run skips them: not worth a note
        else:
            notes.append(f"{event.detail or event.kind} in cell {event.cell}")
    if restored:
        notes.append("grader restored " + ", ".join(restored))
    if restarts:
        notes.append(f"kernel restarted {restarts}x")
    return list(dict.fromkeys(notes))
