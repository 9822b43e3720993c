"""The grade-class command line (`python3 run.py grade-class ...`)."""
from __future__ import annotations

import argparse
import re
import signal
from pathlib import Path

NBGRADER_OPTION = re.compile(r"^--[A-Za-z_]\w*\.\w+=.*$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="assignment id, e.g. 01-callbacks")
    parser.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                        help="grade on this existing Dask cluster (default: a local cluster on this machine)")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes of the local cluster (default: number of CPUs)")
    parser.add_argument("--force", action="store_true", help="grade every submission again, even unchanged ones")
    parser.add_argument("--course", type=Path, default=None, help="course root (default: this repository)")
    parser.add_argument("--csv", type=Path, default=Path("grades.csv"),
                        help="where `nbgrader export` writes the grades, relative to the course root (default: grades.csv)")
    parser.add_argument("--no-csv", action="store_true", help="do not run `nbgrader export` at the end")
    parser.epilog = ("Any --Class.trait=value option is nbgrader configuration for this run, as on nbgrader's "
                     "own command line, e.g. --SandboxKernelManager.memory_mb=1024 or --RobustExecute.skip_demos=False.")


def nbgrader_options(extra: list[str]) -> tuple[str, ...]:
    """The extra command-line words, which must all be nbgrader `--Class.trait=value` options."""
    wrong = [word for word in extra if not NBGRADER_OPTION.match(word)]
    if wrong:
        raise SystemExit(f"grade-class: unrecognized arguments: {' '.join(wrong)} "
                         "(nbgrader options are written --Class.trait=value)")
    return tuple(extra)


def run_from_args(args: argparse.Namespace, extra: list[str], default_root: Path) -> int:
    from coursetools.grading.scheduling import grade_class

    root = (args.course or default_root).resolve()

    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        grade_class(root, args.assignment, workers=args.workers, scheduler=args.scheduler, force=args.force,
                    csv=None if args.no_csv else args.csv, nbgrader_args=nbgrader_options(extra))
    except KeyboardInterrupt:
        return 130
    return 0
