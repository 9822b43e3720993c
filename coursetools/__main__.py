"""Command line: `python -m coursetools COMMAND` (usually through `python3 run.py COMMAND`)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run.py", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    regen = commands.add_parser("regenerate", help="rebuild navigation, index.ipynb and release/ from source/")
    regen.add_argument("assignments", nargs="*", help="only regenerate release/ of these (default: all)")
    edition = commands.add_parser("student-edition", help="write the public student copy of the course to DIR")
    edition.add_argument("dir", type=Path, help="an empty folder, a clone of the student repository or an earlier edition")
    edition.add_argument("--repo", default=None, help="GitHub OWNER/NAME the Binder badge launches")
    from coursetools.grading.cli import add_arguments as grade_class_arguments

    grade_class_arguments(commands.add_parser("grade-class", help="autograde every submission of ASSIGNMENT on Dask, resumably"))
    args, extra = parser.parse_known_args(argv)
    if args.command == "grade-class":
        from coursetools.grading.cli import run_from_args

        return run_from_args(args, extra, ROOT)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "regenerate":
        from coursetools.regenerate import regenerate

        regenerate(ROOT, only=args.assignments or None)
        return 0
    if args.command == "student-edition":
        from coursetools.student_edition import DEFAULT_REPO, write_student_edition

        target = write_student_edition(ROOT, args.dir, repo=args.repo or DEFAULT_REPO)
        print(f"student edition written to {target}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
