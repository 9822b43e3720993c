"""`nbgrader validate` of every source notebook while other processes keep every core busy.

    .venv/bin/python benchmarks/validate_under_load.py [--rounds 3] [--busy 4] [--only 01,05]

Each round validates every source notebook (solutions and hidden tests included) with BUSY
processes spinning on the cores, and prints which notebooks passed. The target is every
notebook in every round: a reference solution's verdict must not depend on machine load.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from coursetools.layout import assignments  # noqa: E402

SPIN_LIMIT_SECONDS = 3600  # busy processes stop by themselves even if this script is killed


def spin(stop_at: float) -> None:
    while time.time() < stop_at:
        pass


def validate(notebook: Path) -> tuple[bool, float, str]:
    started = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "validate", str(notebook)],
                          cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=1800)
    passed = done.returncode == 0 and "Success!" in done.stdout
    failure = "" if passed else (done.stdout.strip().splitlines() or ["(no output)"])[-1][:200]
    return passed, time.perf_counter() - started, failure


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--busy", type=int, default=4)
    parser.add_argument("--only", default="", help="comma-separated assignment numbers, e.g. 01,05")
    args = parser.parse_args()
    wanted = {n for n in args.only.split(",") if n}
    notebooks = [a for a in assignments(ROOT) if not wanted or a.number in wanted]
    stop_at = time.time() + SPIN_LIMIT_SECONDS
    busy = [multiprocessing.Process(target=spin, args=(stop_at,), daemon=True) for _ in range(args.busy)]
    for process in busy:
        process.start()
    passes = 0
    try:
        print(f"{len(notebooks)} notebooks, {args.rounds} rounds, {args.busy} busy processes on "
              f"{os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f})")
        for round_number in range(1, args.rounds + 1):
            for assignment in notebooks:
                passed, seconds, failure = validate(assignment.path(ROOT))
                passes += passed
                print(f"  round {round_number} {assignment.id:40} {'pass' if passed else 'FAIL'} {seconds:6.1f} s"
                      f"{'  ' + failure if failure else ''}", flush=True)
    finally:
        for process in busy:
            process.terminate()
    total = args.rounds * len(notebooks)
    print(f"summary: {passes} of {total} validations passed under load (load average {os.getloadavg()[0]:.1f})")
    return 0 if passes == total else 1


if __name__ == "__main__":
    raise SystemExit(main())
