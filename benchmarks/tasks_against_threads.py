"""Notebook 07's measurement, idle and with every core busy: do its conclusions hold under load?

    .venv/bin/python benchmarks/tasks_against_threads.py [--rounds 2] [--busy N] [--sizes 100 1000 10000]

Runs `course.scale.compare` (a task per connection against a thread per connection, three
runs per size, medians) ROUNDS times on the machine as it is, then ROUNDS times while BUSY
processes (default: two per core) spin on every core, and prints for each round the ratios
the notebook prints: memory in use and address space reserved per connection (threads /
tasks), start-up time (threads / tasks) and requests per second (tasks / threads). The
notebook's conclusions rest on the memory ratios staying above 1 in every round.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import course.scale  # noqa: E402

SPIN_LIMIT_SECONDS = 900  # busy processes stop by themselves even if this script is killed


def _spin(stop_at: float) -> None:
    while time.monotonic() < stop_at:
        pass


def _ratio(a: float | None, b: float | None) -> float:
    return a / b if a and b and a == a and b == b else float("nan")


def _print_round(label: str, results: dict) -> list[float]:
    memory_ratios = []
    for size in sorted({n for _, n in results}):
        tasks, threads = results["tasks", size], results["threads", size]
        memory = _ratio(threads.resident_per_connection, tasks.resident_per_connection)
        memory_ratios.append(memory)
        print(f"{label:>7} {size:>7,} {tasks.kind:>8}  memory x{memory:6.1f}  address space "
              f"x{_ratio(threads.reserved_per_connection, max(tasks.reserved_per_connection, 1)):8,.0f}  "
              f"start-up x{_ratio(threads.startup_seconds, tasks.startup_seconds):5.2f}  "
              f"requests/s x{_ratio(tasks.requests_per_second, threads.requests_per_second):5.2f}"
              f"  (runs: {tasks.runs})", flush=True)
    return memory_ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--busy", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1_000, 10_000])
    options = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; ratios are threads / tasks "
          "(requests/s: tasks / threads)")
    lowest = float("inf")
    for phase in ("as is", "busy"):
        spinners = []
        if phase == "busy":
            stop_at = time.monotonic() + SPIN_LIMIT_SECONDS
            spinners = [multiprocessing.Process(target=_spin, args=(stop_at,), daemon=True) for _ in range(options.busy)]
            for spinner in spinners:
                spinner.start()
        try:
            for _ in range(options.rounds):
                results = asyncio.run(course.scale.compare(options.sizes, repeats=3))
                lowest = min(lowest, *_print_round(phase, results))
        finally:
            for spinner in spinners:
                spinner.terminate()
                spinner.join()
        print(f"load average after '{phase}': {os.getloadavg()[0]:.1f}")
    print(f"lowest memory ratio (threads / tasks) in any round: x{lowest:.1f} (the notebook's conclusion needs > 1)")


if __name__ == "__main__":
    main()
