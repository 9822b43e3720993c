"""Grading a whole class on Dask: `python3 run.py grade-class ASSIGNMENT [--scheduler tcp://HOST:PORT]`.

nbgrader autogrades one submission after another. grade-class sends one task per
submission (`submission.grade_submission`) to Dask workers: a local cluster of worker
processes on this machine by default, or an existing cluster given with `--scheduler`
(Dask Gateway, dask-kubernetes, dask-jobqueue: see the README). Each task grades its
submission into a private copy of the gradebook and returns a typed `SubmissionResult`;
this process is the only writer of the course's gradebook (`gradebook.GradebookWriter`),
and ends with exactly the gradebook and the `nbgrader export` CSV that a serial
`nbgrader autograde` (plus `nbgrader export`) would have written.

* **A lost worker costs nothing.** Dask runs the tasks of a worker that died again on the
  others; a result is merged once per student, and a merge only sets the student's rows,
  so nothing is counted twice.
* **Failures stay with their student.** A task that fails, or a merge that fails, makes
  that student CRASHED (graded again next run) with the traceback in the student's log
  (`autograded/.grade-class/logs/ASSIGNMENT/STUDENT.log`); the class goes on.
* **Resumable** (resume.py): an interrupted run keeps every student saved so far; the same
  command grades the rest. Local workers die with this process, their kernels with them.
* **Clear results** (summary.py): a progress bar, then a table of scores, lost tests with
  the error that lost them, what the grader repaired (read from the grading events in the
  autograded notebooks) and code worth a human look (review.py).
"""
from __future__ import annotations

import logging
import os
import shutil
import sys
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from coursetools.grading.course import Course, load_course, submissions
from coursetools.grading.events import describe_events
from coursetools.grading.gradebook import GradebookWriter, check_gradebook, export, template
from coursetools.grading.results import Outcome, Status, SubmissionResult
from coursetools.grading.resume import State, fingerprint, grading_context
from coursetools.grading.submission import GradingJob, grade_submission
from coursetools.grading.summary import Progress, counts_line, summary_table

UNCHANGED = "unchanged since the last run: not graded again"


def _dask():
    try:
        import distributed
    except ImportError:
        raise SystemExit("grade-class runs on Dask, which is in the course's instructor extra: "
                         ".venv/bin/pip install -c constraints.txt -e '.[instructor]'") from None
    return distributed


@contextmanager
def dask_client(scheduler: str | None, workers: int, client=None):
    """A Dask client: `client` itself, on the cluster at `scheduler`, or on a local cluster of `workers` processes."""
    distributed = _dask()
    if client is not None:  # e.g. Dask Gateway's `cluster.get_client()`
        yield client, f"Dask cluster at {client.scheduler.address}"
        return
    if scheduler:
        with distributed.Client(scheduler, timeout=60) as client:
            yield client, f"Dask cluster at {scheduler}"
        return
    # One thread per worker process: a task runs nbgrader in-process, in the course's folder.
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=0,
                                  host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as client:
        yield client, f"local Dask cluster of {workers} worker processes"


def grade_class(root: Path, assignment: str, workers: int | None = None, scheduler: str | None = None,
                force: bool = False, csv: Path | None = Path("grades.csv"), nbgrader_args: tuple[str, ...] = (),
                out=None, client=None) -> list[Outcome]:
    """Grade every submission of `assignment` in the course at `root`; the outcomes, in student order.

    On a local Dask cluster of `workers` processes, or on an existing cluster: at `scheduler`
    (an address), or through `client` (a connected `distributed.Client`, e.g. Dask Gateway's).
    """
    from coursetools.sandbox.cgroups import remove_stale_cgroups
    from coursetools.sandbox.kernel_manager import SandboxKernelManager

    out = out or sys.stdout
    # nbgrader runs `alembic` (next to this interpreter) when it creates or upgrades a gradebook.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    course, config = load_course(root, assignment, tuple(nbgrader_args))
    check_gradebook(course)
    kernels = SandboxKernelManager(config=config)
    workers = max(1, workers or os.cpu_count() or 1)
    task_course = course
    if not scheduler and client is None and "cpus" not in config.SandboxKernelManager:
        # Each kernel may use its share of this machine's CPUs (a cgroup quota, where available),
        # so one student's fork bomb or spinning process pool cannot starve the student next to it.
        share = max(1.0, (os.cpu_count() or 1) / workers)
        task_course = replace(course, nbgrader_args=(f"--SandboxKernelManager.cpus={share:g}", *course.nbgrader_args))
        remove_stale_cgroups()
    students = submissions(course)
    state = State(course)
    context = grading_context(course)
    writer = GradebookWriter(course)
    outcomes: dict[str, Outcome] = {}
    todo: list[GradingJob] = []
    try:
        for student in students:
            print_ = fingerprint(course, student, context)
            known = None if force else state.unchanged(student, print_, writer.digest(student), kernels.sandboxed)
            if known is not None:
                outcomes[student] = replace(known, notes=[UNCHANGED, *known.notes])
            else:
                todo.append(GradingJob(task_course, student, print_))
        writer.create_students([job.student for job in todo])
        out.write(f"grade-class {assignment}: {len(students)} submissions, {len(todo)} to grade, "
                  f"{len(students) - len(todo)} unchanged\n")
        out.write(f"kernels: {kernels.describe()}\n")
        out.flush()
        if todo:
            _grade_on_dask(course, todo, writer, state, outcomes, scheduler, workers, out, client)
    finally:
        writer.close()
    ordered = [outcomes[s] for s in students if s in outcomes]
    out.write("\n" + summary_table(ordered, shutil.get_terminal_size((160, 20)).columns) + "\n")
    out.write("\n" + counts_line(ordered, len(students) - len(todo)) + "\n")
    if not kernels.sandboxed:
        out.write(f"WARNING: {kernels.describe()}\n")
    if csv is not None:
        target = csv if csv.is_absolute() else course.root / csv
        export(course, target)
        out.write(f"gradebook: {course.db_path}\ngrades: {target}\n")
    out.write(f"details: {state.path}\n")
    out.flush()
    return ordered


def _grade_on_dask(course: Course, todo: list[GradingJob], writer: GradebookWriter, state: State,
                   outcomes: dict[str, Outcome], scheduler: str | None, workers: int, out, given=None) -> None:
    distributed = _dask()
    with dask_client(scheduler, workers, given) as (client, engine):
        count = len(client.scheduler_info(n_workers=-1)["workers"])
        out.write(f"engine: {engine} ({count} workers now)\n")
        out.flush()
        progress = Progress(len(todo), len(outcomes), count, out)
        gradebook = client.scatter(template(course), broadcast=True)
        run = uuid.uuid4().hex[:8]
        futures = {client.submit(grade_submission, job, gradebook, key=f"grade-{course.assignment}-{job.student}-{run}",
                                 pure=False): job for job in todo}
        progress.update()
        try:
            for future in distributed.as_completed(futures):
                outcome = finish(course, writer, state, _result(future, futures[future]))
                outcomes[outcome.student] = outcome
                progress.update(outcome)
        except KeyboardInterrupt:
            client.cancel(list(futures))
            progress.finish()
            out.write(f"\ninterrupted: {progress.done} submissions graded and saved; "
                      "run the same command again to grade the rest\n")
            raise
        progress.finish()


def _result(future, job: GradingJob) -> SubmissionResult:
    """The task's result, or a CRASHED one when Dask could not run it (e.g. its workers kept dying)."""
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 (reported for this student)
        return SubmissionResult(job.student, job.fingerprint, Status.CRASHED,
                                error=f"the grading task failed on the cluster ({type(error).__name__}; "
                                      "traceback in the student's log)",
                                log="".join(traceback.format_exception(error)))


def finish(course: Course, writer: GradebookWriter, state: State, result: SubmissionResult) -> Outcome:
    """Merge one student's rows into the course's gradebook, keep the log, record the outcome."""
    try:
        writer.merge(result.student, result.rows)
        totals, digest = writer.totals(result.student), writer.digest(result.student)
    except Exception:  # noqa: BLE001 (reported for this student; the class goes on)
        result = replace(result, status=Status.CRASHED, log=f"{result.log}\n{traceback.format_exc()}",
                         error="merging into the gradebook failed (traceback in the student's log)")
        totals, digest = (None, None), ""
    crashed = result.status == Status.CRASHED
    outcome = Outcome(student=result.student, status=result.status, score=totals[0], max_score=totals[1],
                      tests=list(result.tests), notes=[*result.review_notes, *describe_events(list(result.events))],
                      flags=list(result.flags), error=result.error, seconds=round(result.seconds, 2),
                      fingerprint="" if crashed else result.fingerprint,  # a crash is graded again next time
                      rows_digest=digest)
    log = course.log_path(result.student)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"graded on {result.worker or '-'} in {result.seconds:.1f} s\n{result.log}"
                   + (f"\n{result.error}\n" if result.error else ""))
    state.record(outcome)
    return outcome
