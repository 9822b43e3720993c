"""The autograder's verdicts on a saturated machine, its own overhead, and grading speed.

    .venv/bin/python benchmarks/autograder_under_load.py [--rounds 5] [--busy N]

1. Grades the whole corpus (tests/corpus/autograder_cases.py) once on an idle machine, then
   ROUNDS times while BUSY processes (default: two per core) spin on every core. Prints the
   verdict flips against the corpus's expected verdicts: must be 0.
2. The checks' own overhead: `check()` of a trivial coroutine against `asyncio.run()` of it,
   and a CPU-bound cooperative coroutine under the profile hook against plain `asyncio.run()`.
3. Wall time to grade a sequential (wrong) 10 x 1 s fetch_all against a concurrent one, idle
   and under load: on the virtual clock neither costs the simulated 10 s or 1 s.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "corpus"))
import autograder_cases  # noqa: E402
from autograder import CheckFailed, check  # noqa: E402

SPIN_LIMIT_SECONDS = 600  # busy processes stop by themselves even if this script is killed


def spin(stop_at: float) -> None:
    while time.time() < stop_at:
        pass


def grade_corpus() -> dict[str, str]:
    return {name: autograder_cases.verdict(name)[0] for name in autograder_cases.CASES}


def flips(verdicts: dict[str, str]) -> list[str]:
    return [f"{name}: {got} (expected {autograder_cases.CASES[name].verdict})"
            for name, got in verdicts.items() if got != autograder_cases.CASES[name].verdict]


async def trivial() -> int:
    return 1


def per_call(func, repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        func()
    return (time.perf_counter() - started) / repeat


def grading_wall_time(solution) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        check(solution, autograder_cases.URLS, expected=autograder_cases.PAGES, within=1.2)
        outcome = "pass"
    except CheckFailed as failure:
        outcome = type(failure).__name__
    return time.perf_counter() - started, outcome


def overheads() -> None:
    check_cost = per_call(lambda: check(trivial), 200)
    run_cost = per_call(lambda: asyncio.run(trivial()), 200)
    print(f"  check() of a trivial coroutine: {check_cost * 1e3:.2f} ms per call "
          f"(asyncio.run alone: {run_cost * 1e3:.2f} ms; ratio {check_cost / run_cost:.1f}x)")
    n = 200_000
    started = time.perf_counter()
    asyncio.run(autograder_cases.crunch_cooperatively(n))
    plain = time.perf_counter() - started
    started = time.perf_counter()
    check(autograder_cases.crunch_cooperatively, n)
    watched = time.perf_counter() - started
    print(f"  CPU-bound cooperative coroutine ({n} iterations): {watched:.3f} s watched vs "
          f"{plain:.3f} s plain (profile-hook slowdown {watched / plain:.1f}x)")


def grading_speed(label: str) -> None:
    wrong, wrong_outcome = grading_wall_time(autograder_cases.fetch_all_sequential)
    right, right_outcome = grading_wall_time(autograder_cases.fetch_all_gather)
    print(f"  {label}: sequential 10 x 1 s solution graded in {wrong * 1e3:.1f} ms ({wrong_outcome}), "
          f"concurrent one in {right * 1e3:.1f} ms ({right_outcome}); ratio {wrong / right:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--busy", type=int, default=2 * (os.cpu_count() or 1))
    args = parser.parse_args()
    cases = len(autograder_cases.CASES)
    print(f"corpus: {cases} solutions; machine: {os.cpu_count()} cores")

    print("idle machine")
    started = time.perf_counter()
    idle = grade_corpus()
    print(f"  corpus graded in {time.perf_counter() - started:.2f} s; verdict flips: {len(flips(idle))}")
    for line in flips(idle):
        print(f"    {line}")
    overheads()
    grading_speed("idle")

    stop_at = time.time() + SPIN_LIMIT_SECONDS
    busy = [multiprocessing.Process(target=spin, args=(stop_at,), daemon=True) for _ in range(args.busy)]
    for process in busy:
        process.start()
    total_flips, durations = [], []
    try:
        print(f"loaded machine: {args.busy} busy processes on {os.cpu_count()} cores, {args.rounds} rounds")
        for round_number in range(1, args.rounds + 1):
            started = time.perf_counter()
            round_flips = flips(grade_corpus())
            durations.append(time.perf_counter() - started)
            total_flips += round_flips
            print(f"  round {round_number}: {durations[-1]:.2f} s, verdict flips: {len(round_flips)}")
            for line in round_flips:
                print(f"    {line}")
        grading_speed("loaded")
    finally:
        for process in busy:
            process.terminate()
    print(f"summary: {len(total_flips)} verdict flips in {args.rounds * cases} loaded verdicts "
          f"(median round {statistics.median(durations):.2f} s)")
    return 1 if total_flips or flips(idle) else 0


if __name__ == "__main__":
    raise SystemExit(main())
