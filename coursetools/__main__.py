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
    args = parser.parse_args(argv)
    if args.command == "regenerate":
        from coursetools.regenerate import regenerate

        regenerate(ROOT, only=args.assignments or None)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
