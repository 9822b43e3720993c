"""Class grading: serial `nbgrader autograde` against `grade-class`, and grading under load.

    .venv/bin/python benchmarks/class_grading.py                  # 100 students, 2 workers
    .venv/bin/python benchmarks/class_grading.py --students 12    # a quick run

A class of generated submissions for 01-callbacks (40% correct, 20% partly correct with the
committed wrong variants, 20% broken: blank, syntax errors, corrupted or empty notebooks,
deleted cells, 20% hostile: the tests/hostile corpus, endless loops and fork bombs
included) is graded in three temporary copies of the course, which all use a 15 s per-cell
limit (as the hostile corpus test does; the course's own is 120 s):

1. serially: `nbgrader autograde` then `nbgrader export` (one process, one student at a time);
2. by `python -m coursetools grade-class --workers N` (export included);
3. by grade-class again while `--busy` processes (default: one per core) spin on every core.

It prints the wall times, the speed-up, the per-submission floor (sandboxed kernel start
plus the execution of a correct notebook, from grade-class's own per-student times and a
direct kernel start measurement) and the number of grade differences between the runs
(every gradebook row of every student, and the export CSV).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from coursetools.grade_class import gradebook_snapshot  # noqa: E402
from coursetools.layout import Assignment  # noqa: E402
from coursetools.nbgrader_cli import environment, nbgrader  # noqa: E402
from coursetools.submissions import load_variants, submit, with_answer  # noqa: E402
from hostile.corpus import exercises, handed_in, load_cases, render  # noqa: E402

ASSIGNMENT = Assignment("01-callbacks")
TIMEOUT = 15


def make_course(destination: Path, env: dict) -> Path:
    destination.mkdir(parents=True)
    for name in ("source", "release"):
        shutil.copytree(ROOT / name, destination / name)
    shutil.copy2(ROOT / "nbgrader_config.py", destination / "nbgrader_config.py")
    with (destination / "nbgrader_config.py").open("a") as config:
        config.write(f"\n# Benchmark: short per-cell limit, as in the hostile corpus test.\nc.Execute.timeout = {TIMEOUT}\n")
    nbgrader("generate_assignment", ASSIGNMENT.id, "--force", cwd=destination, extra_env=env)
    return destination


def make_class(course: Path, students: int) -> dict[str, str]:
    """Submissions for `students` students; returns student -> kind."""
    good = handed_in(course, ASSIGNMENT)
    release = nbformat.read(ASSIGNMENT.path(course, "release"), as_version=4)
    exs = exercises(ASSIGNMENT.path(course))
    variants = load_variants(ROOT / "tests" / "variants", ASSIGNMENT)
    cases = load_cases()
    values = {"__COURSE__": str(course), "__HOME__": "/nonexistent-home", "__SELF__": "x", "__OTHER__": "y",
              "__PORT__": "9", "__PACKAGE__": "/nonexistent-package"}
    from coursetools import sandbox

    sandboxed = sandbox.unavailable_reason() is None
    if not sandboxed:
        print(f"no hostile submissions: {sandbox.describe()}", flush=True)
    kinds = {}
    for i in range(students):
        slot = i % 10
        name = f"s{i:03d}"
        if slot < 4:
            kind, notebook = "correct", good
        elif slot < 6:
            variant = variants[(i // 10 * 2 + slot - 4) % len(variants)]
            kind, notebook = f"partly correct ({variant.student})", with_answer(good, variant.solution_id, variant.code)
        elif slot < 8:
            which = (i // 10 * 2 + slot - 6) % 5
            notebook = nbformat.from_dict(good)
            if which == 0:
                kind, notebook = "broken (blank)", release
            elif which == 1:
                kind = "broken (syntax error)"
                notebook = with_answer(good, exs[1].solution_id, "def broken(:\n    pass\n")
            elif which == 2:
                kind = "broken (deleted cells)"
                notebook.cells = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in exs[0].tests]
            elif which == 3:
                kind, notebook = "broken (empty notebook)", nbformat.v4.new_notebook(metadata=good.metadata)
            else:
                kind = "broken (corrupted JSON)"
        elif not sandboxed:  # fork and memory bombs only ever run inside the sandbox
            kind, notebook = "correct (hostile skipped: no sandbox)", good
        else:
            case = cases[(i // 10 * 2 + slot - 8) % len(cases)]
            kind, notebook = f"hostile ({case.name})", render(case, good, release, exs[0], {**values, "__SELF__": name})
        path = submit(course, name, ASSIGNMENT, notebook)
        if kind == "broken (corrupted JSON)":
            path.write_text(path.read_text()[:2000])
        kinds[name] = kind
    return kinds


def grade_class(course: Path, workers: int, env: dict) -> tuple[float, str]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "coursetools", "grade-class", ASSIGNMENT.id, "--workers", str(workers), "--course", str(course)],
        cwd=course, env=environment(env), capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"grade-class failed:\n{result.stdout}\n{result.stderr}")
    return elapsed, result.stdout


def differences(a: Path, b: Path) -> int:
    rows_a = gradebook_snapshot(f"sqlite:///{a / 'gradebook.db'}")
    rows_b = gradebook_snapshot(f"sqlite:///{b / 'gradebook.db'}")
    diff = sum(rows_a.get(k) != rows_b.get(k) for k in set(rows_a) | set(rows_b))
    csv_a, csv_b = (a / "grades.csv").read_text().splitlines(), (b / "grades.csv").read_text().splitlines()
    return diff + sum(x != y for x, y in zip(csv_a, csv_b)) + abs(len(csv_a) - len(csv_b))


def kernel_start_seconds(sandbox: bool, runs: int = 3) -> float:
    from coursetools.sandbox import SandboxKernelManager

    async def once() -> float:
        km = SandboxKernelManager(kernel_name="python3", sandbox=sandbox)
        started = time.monotonic()
        with tempfile.TemporaryDirectory() as empty:  # like an autograded folder: nothing but the notebook
            await km.start_kernel(cwd=empty, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            client = km.client()
            client.start_channels()
            await client.wait_for_ready(timeout=60)
            elapsed = time.monotonic() - started
        client.stop_channels()
        await km.shutdown_kernel(now=True)
        return elapsed

    return statistics.median(asyncio.run(once()) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 2, help="busy processes in the loaded run")
    parser.add_argument("--keep", type=Path, default=None, help="keep the courses in this folder")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so running nbgrader/grade-class children are killed too

    base = args.keep or Path(tempfile.mkdtemp(prefix="class-grading-"))
    home = base / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = {"HOME": str(home)}
    print(f"class of {args.students} for {ASSIGNMENT.id}; {os.cpu_count()} cores; {args.workers} workers; "
          f"per-cell limit {TIMEOUT} s; load average before: {os.getloadavg()[0]:.1f}", flush=True)
    serial = make_course(base / "serial", env)
    kinds = make_class(serial, args.students)
    summary = {}
    for kind in kinds.values():
        summary[kind.split(" (")[0]] = summary.get(kind.split(" (")[0], 0) + 1
    print("submissions:", ", ".join(f"{n} {k}" for k, n in summary.items()), flush=True)
    parallel = base / "parallel"
    loaded = base / "loaded"
    for copy in (parallel, loaded):
        shutil.copytree(serial, copy)
        (copy / "nbgrader_config.py").write_text((serial / "nbgrader_config.py").read_text())

    started = time.monotonic()
    nbgrader("autograde", ASSIGNMENT.id, cwd=serial, extra_env=env, check=False)
    serial_autograde = time.monotonic() - started
    nbgrader("export", "--to", str(serial / "grades.csv"), cwd=serial, extra_env=env)
    serial_total = time.monotonic() - started
    print(f"serial nbgrader autograde: {serial_autograde:.1f} s (+ export: {serial_total:.1f} s); "
          f"load average now {os.getloadavg()[0]:.1f}", flush=True)

    parallel_seconds, output = grade_class(parallel, args.workers, env)
    print(f"grade-class --workers {args.workers}: {parallel_seconds:.1f} s (export included); "
          f"load average now {os.getloadavg()[0]:.1f}", flush=True)
    print(f"speed-up: {serial_autograde / parallel_seconds:.2f}x against autograde alone, "
          f"{serial_total / parallel_seconds:.2f}x against autograde + export", flush=True)
    print(f"grade differences, grade-class vs serial: {differences(parallel, serial)}", flush=True)

    import json

    state = json.loads((parallel / "autograded" / ".grade-class" / f"{ASSIGNMENT.id}.json").read_text())
    correct = [state["students"][s]["seconds"] for s, k in kinds.items() if k == "correct" and s in state["students"]]
    sandboxed, plain = kernel_start_seconds(True), kernel_start_seconds(False)
    print(f"per-submission floor (a correct notebook, in a worker): min {min(correct):.1f} s, "
          f"median {statistics.median(correct):.1f} s; of which kernel start {sandboxed:.2f} s sandboxed "
          f"({plain:.2f} s without the sandbox)", flush=True)

    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        time.sleep(1)
        loaded_seconds, _ = grade_class(loaded, args.workers, env)
    finally:
        for process in busy:
            process.kill()
            process.wait()
    print(f"grade-class with {args.busy} busy processes on every core: {loaded_seconds:.1f} s; "
          f"grade differences vs serial: {differences(loaded, serial)}", flush=True)
    if args.keep is None:
        shutil.rmtree(base, ignore_errors=True)
    else:
        print(f"courses kept in {base}")


if __name__ == "__main__":
    main()
