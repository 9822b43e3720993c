"""Support code for the first three lessons: text timelines and a simulated slow archive.

* `timeline(rows)` draws when each piece of work ran, one row each, from
  `(label, start, end)` tuples or from the services' `CallRecord`s. The lessons use it
  for real measurements (blocking calls, callbacks on the kernel's loop) and for the
  virtual clock of the event loop the students build by hand.
* `Archive` is a slow store with an async `save`: awaiting it takes `latency` seconds of
  loop time. Like every course service it records each call and waits with
  `loop.call_later`, so it follows whichever clock the loop keeps.
"""
from __future__ import annotations

import asyncio
from typing import Iterable, Sequence, Union

from course.services import CallRecord, recorder_for

Row = Union[CallRecord, Sequence]


def _as_span(row: Row) -> tuple[str, float, float]:
    if isinstance(row, CallRecord):
        end = row.end if row.end is not None else row.start
        return f"{row.name}({row.key!r})", row.start, end
    label, start, end = row
    return str(label), float(start), float(end)


def timeline(rows: Iterable[Row], width: int = 40, unit: str = "s", limit: int = 20) -> str:
    """A text picture of when each row ran: `label |   ####    | start -> end`.

    `rows` holds `(label, start, end)` tuples or `CallRecord`s; times are measured from
    the earliest start.

    >>> print(timeline([("a", 0, 1), ("b", 0, 2)], width=8))
      a |####    | 0.00s -> 1.00s
      b |########| 0.00s -> 2.00s
         0s 2.00s
    """
    spans = [_as_span(row) for row in rows]
    if not spans:
        return "(nothing ran)"
    origin = min(start for _, start, _ in spans)
    span = max(max(end for _, _, end in spans) - origin, 1e-9)
    shown = spans[:limit]
    label_width = min(max(len(label) for label, _, _ in shown), 32)
    lines = []
    for label, start, end in shown:
        first = min(width - 1, round((start - origin) / span * width))
        last = max(first + 1, round((end - origin) / span * width))
        bar = " " * first + "#" * (last - first) + " " * (width - last)
        lines.append(f"  {label[:label_width].ljust(label_width)} |{bar}| "
                     f"{start - origin:.2f}{unit} -> {end - origin:.2f}{unit}")
    if len(spans) > limit:
        lines.append(f"  ... and {len(spans) - limit} more")
    last_label = f"{span:.2f}{unit}"
    scale = f"0{unit}" + " " * max(1, width - len(unit) - 1 - len(last_label)) + last_label
    lines.append(f"  {'':{label_width}}  {scale}")
    return "\n".join(lines)


class Archive:
    """A simulated slow store: `await archive.save(key, value)` takes `latency` seconds.

    What was saved is in `archive.saved` (a dict), in the order the saves finished.
    Each save is recorded as a call named "save" by the loop's recorder.
    """

    def __init__(self, latency: float = 0.5) -> None:
        self.latency = latency
        self.saved: dict = {}

    def __repr__(self) -> str:
        return f"Archive(latency={self.latency}, saved={len(self.saved)} items)"

    async def save(self, key: object, value: object) -> None:
        """Store `value` under `key`, after `latency` seconds of loop time."""
        loop = asyncio.get_running_loop()
        recorder = recorder_for(loop)
        record = recorder.begin("save", key)
        ready = loop.create_future()
        timer = loop.call_later(self.latency, _resolve, ready)
        try:
            await ready
        finally:
            timer.cancel()
            recorder.end(record)
        self.saved[key] = value


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)
