"""Verdicts that do not move with the machine: the autograder graded idle, loaded and throttled.

    .venv/bin/python benchmarks/autograder_under_load.py [--quick | --notebooks 01,05]
                                                         [--conditions idle,busy,memory,quota]

Under each condition (each graded in a fresh worker process):

* idle: as idle as the machine is (the load average is printed: the machine may be shared);
* busy: two spinning processes per core;
* memory: neighbours that thrash memory bandwidth (one process per core copying 64 MiB
  buffers in a loop);
* quota: the grading worker (and every kernel it starts) inside a cgroup with a 20 % CPU
  quota (cgroup v2 `cpu.max` = "20000 100000", or the same quota through cgroup v1's
  cpu.cfs_quota_us / cpu.cfs_period_us where the cpu controller is on v1; needs root;
  where the machine does not allow it, the reason is printed and the condition is skipped),

it grades

1. the whole autograder corpus (every tests/corpus/*_cases.py) against each case's expected
   verdict;
2. every assignment's notebook (unless --quick, or only those named by --notebooks) through
   a real kernel with nbclient, skipping the lesson demos as grading does, filled with the
   reference solutions, and with the committed wrong variants (tests/variants/NN-topic/*.py)
   in rounds, as the grading pipeline test holds them (round r: the r-th variant of each
   exercise, the other exercises solved). Every test cell must pass for the reference, and a
   round must fail exactly the `# loses:` tests of its variants. Where one mistake hides
   another (exercises that build on each other), the idle round says so and each of its
   variants is graded alone, beside the reference, under every condition; the other
   conditions' rounds must then give the idle round's verdicts;

and prints the verdict flips (0 is the target) per condition and kind; then the verdicts of
the corpus's helper-versus-inline pairs (cases whose names differ only by `with_a_helper` /
`inline`) side by side per condition, marking any disagreement; and, per condition, the
checks' own overhead (`check()` of a trivial coroutine against `asyncio.run()`, a CPU-bound
cooperative coroutine watched against plain) and the wall time to grade a sequential
against a concurrent 10 x 1 s solution (the virtual clock charges neither 10 s nor 1 s).

Load generators stop by themselves after --load-limit seconds (or when this script is
gone) and are terminated when their condition ends. Exit status 1 when anything flipped.
"""
from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import io
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
VARIANTS = ROOT / "tests" / "variants"
sys.path.insert(0, str(CORPUS))

CONDITIONS = ("idle", "busy", "memory", "quota")
#: The CPU quota of the `quota` condition: 20 ms of CPU every 100 ms.
QUOTA_CPUS = 0.2
QUOTA_V2 = "20000 100000"
BUFFER_BYTES = 64 << 20
#: nbgrader_config.py's Execute.timeout: the per-cell limit of grading.
CELL_TIMEOUT = 120
#: Words that name a coding style, not a solution: cases differing only by these are twins.
STYLE_WORDS = (("with", "a", "helper"), ("with", "helper"), ("helper",), ("inline",))


# --- results (typed data between the worker processes and this one) ---------------------

@dataclass(frozen=True)
class NotebookRun:
    """One notebook executed under one condition: expected and observed pass/fail per test cell."""

    assignment: str
    submission: str                 # "reference", "round-N" or a variant's file stem
    expected: dict[str, bool]       # test grade_id -> should pass
    passed: dict[str, bool]         # test grade_id -> did pass
    errors: dict[str, str]          # test grade_id -> first line of its error
    seconds: float
    failure: str = ""               # why the run stopped early, if it did
    masked: bool = False            # a round where one mistake hid another: its variants were graded alone

    @property
    def kind(self) -> str:
        return "reference" if self.submission == "reference" else "variants"

    def flips(self) -> list[str]:
        if self.masked:
            return []
        return [f"{self.assignment} {self.submission}: {test} "
                f"{'passed' if self.passed.get(test) else 'failed'}, expected to "
                f"{'pass' if should else 'fail'}{' (' + self.errors[test] + ')' if test in self.errors else ''}"
                for test, should in self.expected.items() if self.passed.get(test, False) != should]


@dataclass(frozen=True)
class SpeedFigures:
    """The checks' overhead and the wall time of grading, in seconds."""

    check_trivial: float
    run_trivial: float
    cooperative_watched: float
    cooperative_plain: float
    cooperative_iterations: int
    sequential: float
    sequential_verdict: str
    concurrent: float
    concurrent_verdict: str


@dataclass
class ConditionResult:
    """Everything graded under one condition."""

    condition: str
    note: str = ""                                   # how the condition was made, or why it was not
    skipped: bool = False
    corpus: dict[str, str] = field(default_factory=dict)
    corpus_messages: dict[str, str] = field(default_factory=dict)   # of the verdicts that flipped
    corpus_seconds: float = 0.0
    notebooks: list[NotebookRun] = field(default_factory=list)
    speed: SpeedFigures | None = None
    cpu_share: float | None = None                   # CPU the worker got per wall second (quota check)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)


# --- load generators ---------------------------------------------------------------------

def spin(stop_at: float, parent: int) -> None:
    """Burn CPU until `stop_at` (wall clock) or until the benchmark is gone."""
    while time.time() < stop_at and os.getppid() == parent:
        for _ in range(100_000):
            pass


def thrash_memory(stop_at: float, parent: int, copied) -> None:
    """Copy a 64 MiB buffer into another, over and over: saturates memory bandwidth, not just a core."""
    source, target = bytearray(os.urandom(1 << 20)) * (BUFFER_BYTES >> 20), bytearray(BUFFER_BYTES)
    while time.time() < stop_at and os.getppid() == parent:
        target[:] = source
        source, target = target, source
        with copied.get_lock():
            copied.value += BUFFER_BYTES


@contextmanager
def neighbours(condition: str, limit: float) -> Iterator[str]:
    """Start the condition's load generators; stop them however the block ends."""
    cores = os.cpu_count() or 1
    context = multiprocessing.get_context("spawn")
    stop_at, parent = time.time() + limit, os.getpid()
    copied = context.Value("d", 0.0)
    if condition == "busy":
        processes = [context.Process(target=spin, args=(stop_at, parent), daemon=True) for _ in range(2 * cores)]
        note = f"{len(processes)} spinning processes on {cores} cores"
    elif condition == "memory":
        processes = [context.Process(target=thrash_memory, args=(stop_at, parent, copied), daemon=True)
                     for _ in range(cores)]
        note = f"{len(processes)} processes copying 64 MiB buffers in a loop"
    else:
        processes, note = [], ""
    started = time.perf_counter()
    try:
        for process in processes:
            process.start()
        yield note
    finally:
        ended_early = [p for p in processes if p.exitcode is not None]
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join()
        if ended_early:
            print(f"  WARNING: {len(ended_early)} load generators ended before grading did "
                  f"(--load-limit {limit:.0f} s): part of this condition ran without them")
        if condition == "memory":
            seconds = time.perf_counter() - started
            print(f"  memory neighbours copied {copied.value / seconds / (1 << 30):.1f} GiB/s in total")


# --- the CPU quota -----------------------------------------------------------------------

def quota_unavailable() -> str | None:
    """Why this machine cannot put the grading worker under a CPU quota, or None."""
    from coursetools.sandbox import cgroup_dirs

    if not sys.platform.startswith("linux"):
        return f"cgroups need Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return "creating a cgroup needs root, and this benchmark does not run as root"
    if "cpu" not in cgroup_dirs("probe"):
        return "no cgroup cpu controller is mounted under /sys/fs/cgroup"
    return None


def quota_description() -> str:
    """Which interface holds the quota here: v2's cpu.max, or v1's CFS files where cpu is on v1."""
    root = Path("/sys/fs/cgroup")
    if (root / "cgroup.controllers").exists():
        return f'cgroup v2: cpu.max = "{QUOTA_V2}"'
    unified = root / "unified" / "cgroup.controllers"
    why = ("the cgroup v2 hierarchy at /sys/fs/cgroup/unified has no cpu controller (cpu is bound to v1)"
           if unified.exists() and "cpu" not in unified.read_text().split()
           else "this machine mounts cgroup v1 only")
    return f"{why}; the same quota through cgroup v1: cpu.cfs_quota_us = 20000, cpu.cfs_period_us = 100000"


def join_quota_cgroup(name: str) -> str | None:
    """Move this process (and so every kernel it starts) into a new cgroup with the 20 % quota;
    None, or why that failed."""
    from coursetools.sandbox import join_cgroups

    applied = join_cgroups(name, processes=4096, cpus=QUOTA_CPUS)
    if f"{QUOTA_CPUS:g} CPU" not in applied:
        return f"writing the quota of cgroup {name} failed (in force: {', '.join(applied) or 'nothing'})"
    return None


def cpu_share(seconds: float = 2.0) -> float:
    """CPU time this process gets per second of wall time when it spins."""
    wall, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < seconds:
        pass
    return (time.process_time() - cpu) / (time.perf_counter() - wall)


# --- grading (runs in a worker process) --------------------------------------------------

def grade_corpus() -> tuple[dict[str, str], dict[str, str]]:
    """Each case's verdict, and the first line of the message of each verdict that flipped."""
    import autograder_cases

    verdicts, messages = {}, {}
    for name, expected in autograder_cases.CASES.items():
        verdicts[name], message = autograder_cases.verdict(name)
        if verdicts[name] != expected.verdict:
            messages[name] = message.strip().splitlines()[0][:160] if message.strip() else ""
    return verdicts, messages


def test_cells(notebook) -> list:
    """nbgrader's autograded test cells: graded, not a solution."""
    return [c for c in notebook.cells if c.cell_type == "code"
            and c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")]


def run_notebook(assignment_id: str, submission: str, notebook, expected: dict[str, bool]) -> NotebookRun:
    """Execute `notebook` in a fresh kernel; a test cell passes when it ran and raised nothing."""
    import nbclient
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    from coursetools.layout import Assignment

    folder = Assignment(assignment_id).path(ROOT).parent
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT, interrupt_on_timeout=True,
                                     startup_timeout=300, kernel_name="python3", allow_errors=True,
                                     resources={"metadata": {"path": str(folder)}})
    started, failure = time.perf_counter(), ""
    try:
        client.execute(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (DeadKernelError, CellExecutionError, RuntimeError, TimeoutError) as error:
        failure = f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
    passed, errors = {}, {}
    for cell in test_cells(notebook):
        test = cell.metadata["nbgrader"]["grade_id"]
        raised = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        passed[test] = cell.get("execution_count") is not None and not raised
        if raised:
            errors[test] = f"{raised[0].ename}: {raised[0].evalue.splitlines()[0] if raised[0].evalue else ''}"[:160]
        elif cell.get("execution_count") is None:
            errors[test] = "never ran"
    return NotebookRun(assignment_id, submission, expected, passed, errors, time.perf_counter() - started, failure)


def without_demos(notebook):
    """`notebook` with the demo cells grading skips emptied (autograder.demos decides)."""
    from autograder.demos import skipped_demos

    for index in skipped_demos(notebook.cells):
        notebook.cells[index].source = ""
    return notebook


def grade_notebooks(assignment_id: str, idle: dict[str, dict[str, bool]] | None) -> list[NotebookRun]:
    """The reference, then the variants in rounds; a round's expected verdicts are the idle
    round's when `idle` (submission -> verdicts) holds it, else its variants' `# loses:`."""
    from coursetools.layout import Assignment
    from coursetools.submissions import load_variants, solved, variant_rounds, with_answer

    assignment = Assignment(assignment_id)
    reference = without_demos(solved(assignment.path(ROOT)))
    tests = [c.metadata["nbgrader"]["grade_id"] for c in test_cells(reference)]
    runs = [run_notebook(assignment_id, "reference", reference, dict.fromkeys(tests, True))]
    for number, chosen in enumerate(variant_rounds(load_variants(VARIANTS, assignment)), start=1):
        named = {test for variant in chosen for test in variant.loses}
        declared = {test: test not in named for test in tests}
        submission = f"round-{number}"
        notebook = reference
        for variant in chosen:
            notebook = with_answer(notebook, variant.solution_id, variant.code)
        run = run_notebook(assignment_id, submission, notebook, idle[submission] if idle and submission in idle else declared)
        masked = run.passed != declared if idle is None else idle.get(submission) != declared
        runs.append(NotebookRun(**{**run.__dict__, "masked": masked}) if masked and idle is None else run)
        if masked:
            for variant in chosen:
                expected = {test: test not in variant.loses for test in tests}
                notebook = with_answer(reference, variant.solution_id, variant.code)
                runs.append(run_notebook(assignment_id, f"{variant.solution_id}--{variant.mistake}", notebook, expected))
    return runs


async def trivial() -> int:
    return 1


def per_call(func, most: int = 200, budget: float = 3.0) -> float:
    """Mean wall time of `func()`: up to `most` calls, fewer when they take over `budget` seconds."""
    started, calls = time.perf_counter(), 0
    while calls < most and (calls < 5 or time.perf_counter() - started < budget):
        func()
        calls += 1
    return (time.perf_counter() - started) / calls


def grading_wall_time(solution) -> tuple[float, str]:
    import autograder_cases
    from autograder import CheckFailed, check

    started = time.perf_counter()
    try:
        check(solution, autograder_cases.URLS, expected=autograder_cases.PAGES, within=1.2)
        outcome = "pass"
    except CheckFailed as failure:
        outcome = type(failure).__name__
    return time.perf_counter() - started, outcome


def speed_figures() -> SpeedFigures:
    import autograder_cases
    from autograder import check

    check_cost = per_call(lambda: check(trivial))
    run_cost = per_call(lambda: asyncio.run(trivial()))
    iterations = 200_000
    started = time.perf_counter()
    asyncio.run(autograder_cases.crunch_cooperatively(iterations))
    plain = time.perf_counter() - started
    started = time.perf_counter()
    check(autograder_cases.crunch_cooperatively, iterations)
    watched = time.perf_counter() - started
    sequential, sequential_verdict = grading_wall_time(autograder_cases.fetch_all_sequential)
    concurrent, concurrent_verdict = grading_wall_time(autograder_cases.fetch_all_gather)
    return SpeedFigures(check_cost, run_cost, watched, plain, iterations,
                        sequential, sequential_verdict, concurrent, concurrent_verdict)


def grade_condition(condition: str, notebooks: tuple[str, ...], cgroup: str,
                    idle: dict[tuple[str, str], dict[str, bool]] | None) -> ConditionResult:
    """Worker entry point: join `cgroup` (if named), then grade the corpus and `notebooks` (assignment ids)."""
    if cgroup and (reason := join_quota_cgroup(cgroup)):
        return ConditionResult(condition, note=reason, skipped=True)
    result = ConditionResult(condition, cpu_share=cpu_share())
    with redirect_stdout(io.StringIO()):  # the checks' one-line "passed: ..." reports
        started = time.perf_counter()
        result.corpus, result.corpus_messages = grade_corpus()
        result.corpus_seconds = time.perf_counter() - started
        for assignment_id in notebooks:
            rounds = None if idle is None else {s: v for (a, s), v in idle.items() if a == assignment_id}
            result.notebooks += grade_notebooks(assignment_id, rounds)
        result.speed = speed_figures()
    return result


# --- the conditions, run from this process -----------------------------------------------

def run_condition(condition: str, notebooks: tuple[str, ...], load_limit: float,
                  idle: dict[tuple[str, str], dict[str, bool]] | None = None) -> ConditionResult:
    """Grade the corpus and `notebooks` in a fresh worker process under `condition`; load and cgroup are undone after."""
    from coursetools.sandbox import remove_cgroups

    before = os.getloadavg()
    print(f"{condition}: load average {before[0]:.2f}, {before[1]:.2f}, {before[2]:.2f} "
          f"(1, 5, 15 min) on {os.cpu_count()} cores", flush=True)
    cgroup, note = "", ""
    if condition == "quota":
        reason = quota_unavailable()
        if reason:
            print(f"  skipped: {reason}", flush=True)
            return ConditionResult(condition, note=reason, skipped=True, load_after=before)
        cgroup, note = f"bench-quota-{os.getpid()}", quota_description()
    spawn = multiprocessing.get_context("spawn")
    try:
        with neighbours(condition, load_limit) as load_note:
            note = note or load_note
            if note:
                print(f"  {note}", flush=True)
            with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as worker:
                result = worker.submit(grade_condition, condition, notebooks, cgroup, idle).result()
    finally:
        if cgroup:
            remove_cgroups(cgroup)
    if result.skipped:
        print(f"  skipped: {result.note}", flush=True)
    result.note = result.note or note
    result.load_after = os.getloadavg()
    report_condition(result)
    return result


def corpus_flips(result: ConditionResult) -> list[str]:
    import autograder_cases

    return [f"{name}: {got} (expected {autograder_cases.CASES[name].verdict})"
            + (f": {result.corpus_messages[name]}" if result.corpus_messages.get(name) else "")
            for name, got in result.corpus.items() if got != autograder_cases.CASES[name].verdict]


def flip_counts(result: ConditionResult) -> dict[str, tuple[int, int, list[str]]]:
    """kind -> (flips, verdicts graded, flip lines)."""
    lines = corpus_flips(result)
    counts = {"corpus": (len(lines), len(result.corpus), lines)}
    for kind in ("reference", "variants"):
        runs = [run for run in result.notebooks if run.kind == kind]
        lines = [line for run in runs for line in run.flips()]
        lines += [f"{run.assignment} {run.submission}: run stopped: {run.failure}" for run in runs if run.failure]
        counts[kind] = (sum(len(run.flips()) for run in runs), sum(len(run.expected) for run in runs), lines)
    return counts


def report_condition(result: ConditionResult) -> None:
    if result.skipped:
        return
    if result.cpu_share is not None:
        quota = f" (quota {QUOTA_CPUS:g})" if result.condition == "quota" else ""
        print(f"  the grading worker got {result.cpu_share:.2f} CPU per wall second while spinning{quota}")
    if result.corpus:
        print(f"  corpus: {len(result.corpus)} cases graded in {result.corpus_seconds:.1f} s")
    if result.notebooks:
        seconds = sum(run.seconds for run in result.notebooks)
        print(f"  notebooks: {len(result.notebooks)} runs in {seconds:.0f} s "
              f"(slowest {max(run.seconds for run in result.notebooks):.0f} s)")
    for kind, (flipped, graded, lines) in flip_counts(result).items():
        if graded:
            unit = "verdicts" if kind == "corpus" else "test cells"
            print(f"  verdict flips, {kind}: {flipped} of {graded} {unit}")
            for line in lines:
                print(f"    {line}")
    for run in result.notebooks:
        if run.masked:
            hidden = sorted(test for test, should in run.expected.items() if run.passed.get(test) != should)
            print(f"  {run.assignment} {run.submission}: one mistake hid another ({', '.join(hidden)}): "
                  "its variants were graded alone")
    speed = result.speed
    if speed:
        print(f"  check() of a trivial coroutine: {speed.check_trivial * 1e3:.2f} ms per call "
              f"(asyncio.run alone: {speed.run_trivial * 1e3:.2f} ms; ratio "
              f"{speed.check_trivial / speed.run_trivial:.1f}x)")
        print(f"  CPU-bound cooperative coroutine ({speed.cooperative_iterations} iterations): "
              f"{speed.cooperative_watched:.3f} s watched vs {speed.cooperative_plain:.3f} s plain "
              f"(slowdown {speed.cooperative_watched / speed.cooperative_plain:.1f}x)")
        print(f"  sequential 10 x 1 s solution graded in {speed.sequential * 1e3:.1f} ms "
              f"({speed.sequential_verdict}), concurrent one in {speed.concurrent * 1e3:.1f} ms "
              f"({speed.concurrent_verdict})")
    after = result.load_after
    print(f"  load average after: {after[0]:.2f}, {after[1]:.2f}, {after[2]:.2f}", flush=True)


# --- summaries ---------------------------------------------------------------------------

def style_key(name: str) -> tuple[str, str] | None:
    """(the name without its style words, the style) for a helper or inline case, else None."""
    words = name.split("_")
    for style in STYLE_WORDS:
        for start in range(len(words) - len(style) + 1):
            if tuple(words[start:start + len(style)]) == style:
                rest = words[:start] + ["*"] + words[start + len(style):]
                return "_".join(rest), "inline" if style == ("inline",) else "helper"
    return None


def style_pairs(names: list[str]) -> list[tuple[str, str]]:
    """(helper case, inline case) for every pair of cases whose names differ only by style."""
    by_key: dict[str, dict[str, str]] = {}
    for name in names:
        key = style_key(name)
        if key:
            by_key.setdefault(key[0], {})[key[1]] = name
    return [(styles["helper"], styles["inline"]) for styles in by_key.values() if len(styles) == 2]


def print_style_pairs(results: list[ConditionResult]) -> int:
    """Helper and inline verdicts side by side; returns how many disagree."""
    import autograder_cases

    graded = [r for r in results if r.corpus]
    pairs = style_pairs(list(autograder_cases.CASES))
    print(f"helper-versus-inline pairs ({len(pairs)} found): helper verdict | inline verdict per condition")
    disagreements = 0
    for helper, inline in pairs:
        print(f"  {helper} | {inline} (expected {autograder_cases.CASES[helper].verdict} | "
              f"{autograder_cases.CASES[inline].verdict})")
        for result in graded:
            left, right = result.corpus[helper], result.corpus[inline]
            mark = "" if left == right else "   <-- DISAGREE"
            disagreements += left != right
            print(f"    {result.condition:<7} {left:<18} | {right}{mark}")
    return disagreements


def print_summary(results: list[ConditionResult]) -> int:
    """The flip table; returns the total number of flips."""
    print("verdict flips against the expected verdicts (0 is the target)")
    print(f"  {'condition':<10} {'corpus':>14} {'reference':>22} {'variants':>22}")
    total = 0
    for result in results:
        if result.skipped:
            print(f"  {result.condition:<10} skipped: {result.note}")
            continue
        cells = []
        for kind, (flipped, graded, _) in flip_counts(result).items():
            total += flipped
            unit = "" if kind == "corpus" else " cells"
            cells.append(f"{flipped} of {graded}{unit}" if graded else "-")
        print(f"  {result.condition:<10} {cells[0]:>14} {cells[1]:>22} {cells[2]:>22}")
    return total


def chosen_notebooks(selection: str | None, quick: bool) -> tuple[str, ...]:
    from coursetools.layout import assignments

    every = [a.id for a in assignments(ROOT)]
    if quick:
        return ()
    if not selection:
        return tuple(every)
    wanted = [s.strip() for s in selection.split(",") if s.strip()]
    chosen = tuple(a for a in every if a[:2] in wanted or a in wanted)
    unknown = [w for w in wanted if not any(a[:2] == w or a == w for a in every)]
    if unknown:
        raise SystemExit(f"--notebooks: no assignment {', '.join(unknown)} (have {', '.join(every)})")
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    limit = parser.add_mutually_exclusive_group()
    limit.add_argument("--quick", action="store_true", help="grade the corpus only, no notebooks")
    limit.add_argument("--notebooks", help="only these assignments' notebooks, e.g. 01,05 (default: all)")
    parser.add_argument("--conditions", default=",".join(CONDITIONS),
                        help=f"comma-separated, from {', '.join(CONDITIONS)} (default: all)")
    parser.add_argument("--load-limit", type=float, default=3600,
                        help="seconds after which load generators stop by themselves (default 3600)")
    args = parser.parse_args()
    conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    if unknown := [c for c in conditions if c not in CONDITIONS]:
        parser.error(f"unknown condition {', '.join(unknown)}")
    notebooks = chosen_notebooks(args.notebooks, args.quick)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the `finally` blocks: no load left behind

    import autograder_cases

    print(f"corpus: {len(autograder_cases.CASES)} cases; notebooks: {', '.join(notebooks) or 'none'}; "
          f"conditions: {', '.join(conditions)}; machine: {os.cpu_count()} cores (figures are noisy when "
          f"the machine is shared)", flush=True)
    results: list[ConditionResult] = []
    idle = None  # the idle rounds' verdicts, which the loaded conditions' rounds must give
    for condition in conditions:
        results.append(run_condition(condition, notebooks, args.load_limit, idle))
        if condition == "idle" and not results[-1].skipped:
            idle = {(run.assignment, run.submission): run.passed for run in results[-1].notebooks
                    if run.submission.startswith("round-")}
    flipped = print_summary(results)
    disagreements = print_style_pairs(results)
    return 1 if flipped or disagreements else 0


if __name__ == "__main__":
    raise SystemExit(main())
