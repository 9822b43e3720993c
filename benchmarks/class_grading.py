"""Class grading: serial `nbgrader autograde` against grade-class, locally and on a Dask cluster.

    .venv/bin/python benchmarks/class_grading.py                  # 100 students
    .venv/bin/python benchmarks/class_grading.py --students 10    # a quick run

A class of generated submissions for 01-callbacks (40% correct, 20% partly correct with the
committed wrong variants, 20% broken: blank, syntax errors, corrupted or empty notebooks,
deleted cells, 20% hostile: the tests/hostile corpus, endless loops and fork bombs
included) is graded in temporary copies of the course, which all use a 15 s per-cell
limit (as the hostile corpus test does; the course's own is 120 s):

1. serially: `nbgrader autograde` then `nbgrader export` (one process, one student at a time);
2. by `grade-class` on its local default (a local Dask cluster, one worker per core);
3. by `grade-class --scheduler` on a Dask cluster started here: `dask scheduler` and two
   `dask worker` processes on 127.0.0.1;
4. optionally (`--busy N`) by grade-class again while N processes spin.

It prints the wall times, the speed-ups, the grade differences against the serial run (every
gradebook row of every student, and the export CSV), the per-submission time of a correct
notebook against a bare sandboxed kernel start plus the notebook's exercise and test cells
(the lessons left out), the writer's cost per student, and a projection for a large class
(the measured worker-seconds per submission times the class size, over the workers).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from coursetools.grading.gradebook import gradebook_snapshot  # noqa: E402
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
    from coursetools.sandbox.bubblewrap import describe, unavailable_reason

    sandboxed = unavailable_reason() is None
    if not sandboxed:
        print(f"no hostile submissions: {describe(unavailable_reason())}", flush=True)
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


def grade_class(course: Path, env: dict, *options: str) -> tuple[float, str]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "coursetools", "grade-class", ASSIGNMENT.id, "--course", str(course), *options],
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


@contextmanager
def dask_cluster(folder: Path, env: dict, workers: int):
    """`dask scheduler` and `workers` `dask worker` processes on 127.0.0.1; yields the address."""
    dask = str(Path(sys.executable).parent / "dask")
    address_file = folder / "scheduler.json"
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                   "--scheduler-file", str(address_file)], env=environment(env), cwd=folder,
                                  start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        while not address_file.exists():
            time.sleep(0.2)
        address = json.loads(address_file.read_text())["address"]
        processes += [subprocess.Popen([dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                                        "--no-dashboard", "--memory-limit", "0"], env=environment(env), cwd=folder,
                                       start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                      for _ in range(workers)]
        from distributed import Client

        with Client(address) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()


def exercise_cells(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook without its lessons: nbgrader's cells, and the lesson cells they need
    (those binding a name a kept cell reads, found from the end back)."""
    from autograder.demos import defined_names, used_names

    cells = notebook.cells
    keep: set[int] = set()
    needed: set[str] = set()
    for index in reversed(range(len(cells))):
        cell = cells[index]
        if cell.cell_type != "code":
            continue
        if cell.metadata.get("nbgrader") or defined_names(cell.source) & needed:
            keep.add(index)
            needed |= used_names(cell.source)
    copy = nbformat.from_dict(notebook)
    copy.cells = [cell for i, cell in enumerate(copy.cells) if i in keep]
    return copy


def bare_seconds(notebook: nbformat.NotebookNode, sandbox: bool, runs: int = 3) -> float:
    """A sandboxed kernel's start plus the exercise cells of `notebook` (median of `runs`)."""
    from nbclient import NotebookClient

    from coursetools.sandbox.kernel_manager import SandboxKernelManager

    def once() -> float:
        started = time.monotonic()
        with tempfile.TemporaryDirectory() as empty:  # like an autograded folder: nothing but the notebook
            client = NotebookClient(nbformat.from_dict(notebook), timeout=TIMEOUT * 4, allow_errors=True,
                                    kernel_manager_class=SandboxKernelManager, resources={"metadata": {"path": empty}})
            client.km = SandboxKernelManager(kernel_name="python3", sandbox=sandbox)
            client.execute()
        return time.monotonic() - started

    return statistics.median(once() for _ in range(runs))


def merge_milliseconds(course: Path, students: list[str]) -> float:
    """The writer's cost per student: merging every student's rows again (idempotent)."""
    from coursetools.grading.course import load_course
    from coursetools.grading.gradebook import GradebookWriter, read_rows

    loaded, _config = load_course(course, ASSIGNMENT.id)
    writer = GradebookWriter(loaded)
    try:
        rows = {s: read_rows(writer.gradebook, loaded, s) for s in students}
        started = time.monotonic()
        for student, student_rows in rows.items():
            writer.merge(student, student_rows)
        return (time.monotonic() - started) * 1000 / max(1, len(students))
    finally:
        writer.close()


def per_student_seconds(course: Path, kinds: dict[str, str], kind: str) -> list[float]:
    state = json.loads((course / "autograded" / ".grade-class" / f"{ASSIGNMENT.id}.json").read_text())
    return [state["students"][s]["seconds"] for s, k in kinds.items() if k == kind and s in state["students"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--class-size", type=int, default=10_000, help="class size of the projection")
    parser.add_argument("--busy", type=int, default=0, help="also grade with this many busy processes spinning")
    parser.add_argument("--keep", type=Path, default=None, help="keep the courses in this folder")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so running nbgrader/grade-class children are killed too

    base = args.keep or Path(tempfile.mkdtemp(prefix="class-grading-"))
    home = base / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = {"HOME": str(home)}
    cores = os.cpu_count() or 1
    print(f"class of {args.students} for {ASSIGNMENT.id}; {cores} cores; per-cell limit {TIMEOUT} s; "
          f"load average before: {os.getloadavg()[0]:.1f}", flush=True)
    serial = make_course(base / "serial", env)
    kinds = make_class(serial, args.students)
    summary: dict[str, int] = {}
    for kind in kinds.values():
        summary[kind.split(" (")[0]] = summary.get(kind.split(" (")[0], 0) + 1
    print("submissions:", ", ".join(f"{n} {k}" for k, n in summary.items()), flush=True)
    local, cluster, loaded = base / "local", base / "cluster", base / "loaded"
    for copy in (local, cluster, loaded):
        shutil.copytree(serial, copy)
        (copy / "nbgrader_config.py").write_text((serial / "nbgrader_config.py").read_text())

    started = time.monotonic()
    nbgrader("autograde", ASSIGNMENT.id, cwd=serial, extra_env=env, check=False)
    nbgrader("export", "--to", str(serial / "grades.csv"), cwd=serial, extra_env=env)
    serial_seconds = time.monotonic() - started
    print(f"\nserial nbgrader autograde + export: {serial_seconds:.1f} s; load average now {os.getloadavg()[0]:.1f}",
          flush=True)

    local_seconds, _ = grade_class(local, env)
    print(f"grade-class, local default ({cores} workers): {local_seconds:.1f} s, {serial_seconds / local_seconds:.2f}x "
          f"serial; grade differences vs serial: {differences(local, serial)}; load average now "
          f"{os.getloadavg()[0]:.1f}", flush=True)

    with dask_cluster(base, env, 2) as address:
        cluster_seconds, _ = grade_class(cluster, env, "--scheduler", address)
    print(f"grade-class, Dask cluster of 2 workers on 127.0.0.1 ({address}): {cluster_seconds:.1f} s, "
          f"{serial_seconds / cluster_seconds:.2f}x serial; grade differences vs serial: {differences(cluster, serial)}; "
          f"load average now {os.getloadavg()[0]:.1f}", flush=True)

    if args.busy:
        busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
        try:
            time.sleep(1)
            loaded_seconds, _ = grade_class(loaded, env)
        finally:
            for process in busy:
                process.kill()
                process.wait()
        print(f"grade-class, local default with {args.busy} busy processes: {loaded_seconds:.1f} s; "
              f"grade differences vs serial: {differences(loaded, serial)}", flush=True)

    from coursetools.sandbox.bubblewrap import unavailable_reason

    reference = handed_in(serial, ASSIGNMENT)
    sandboxed = unavailable_reason() is None
    bare = bare_seconds(exercise_cells(reference), sandboxed)
    whole = bare_seconds(reference, sandboxed)
    correct = per_student_seconds(cluster, kinds, "correct")
    median = statistics.median(correct)
    print(f"\nper submission (a correct notebook, graded on a cluster worker): median {median:.1f} s, "
          f"min {min(correct):.1f} s", flush=True)
    print(f"bare kernel start + exercise and test cells ({'sandboxed' if sandboxed else 'unsandboxed'}, median of 3): "
          f"{bare:.1f} s -> grading takes {median / bare:.2f}x that (target: within 1.5x); "
          f"the whole notebook, lessons included: {whole:.1f} s", flush=True)

    merge_ms = merge_milliseconds(cluster, list(kinds))
    cost = cluster_seconds * 2 / args.students  # worker-seconds per submission, measured on the 2-worker cluster
    print(f"\nmeasured: {cost:.2f} worker-seconds per submission (2-worker cluster, this class's mix); "
          f"the writer merges one student in {merge_ms:.1f} ms", flush=True)
    for workers in (2, 16, 64, 256):
        grading = args.class_size * cost / workers
        writer = args.class_size * merge_ms / 1000
        print(f"projection, {args.class_size:,} students on {workers} workers like these: "
              f"{grading / 60:.0f} min of grading (writer busy {writer / 60:.1f} min of it)", flush=True)
    if args.keep is None:
        shutil.rmtree(base, ignore_errors=True)
    else:
        print(f"courses kept in {base}")


if __name__ == "__main__":
    main()
