"""The autograder's verdict on each solution of the corpus, graded directly."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "corpus"))
import autograder_cases  # noqa: E402

GOOD = [name for name, c in autograder_cases.CASES.items() if c.verdict == "pass"]
BAD = [name for name, c in autograder_cases.CASES.items() if c.verdict != "pass"]


def test_the_corpus_is_large_and_every_mistake_is_distinct() -> None:
    assert len(autograder_cases.CASES) >= 30
    assert len(BAD) >= 20 and len(GOOD) >= 10
    kinds = {autograder_cases.CASES[name].verdict for name in BAD}
    assert len(kinds) >= 14, f"the bad solutions cover only {sorted(kinds)}"


@pytest.mark.parametrize("name", GOOD)
def test_correct_solutions_pass(name: str) -> None:
    assert autograder_cases.verdict(name) == ("pass", "")


@pytest.mark.parametrize("name", BAD)
def test_each_mistake_gets_its_diagnosis(name: str) -> None:
    expected = autograder_cases.CASES[name]
    verdict, message = autograder_cases.verdict(name)
    assert verdict == expected.verdict, message
    assert expected.message in message, message


def test_grading_the_whole_corpus_writes_nothing_to_stderr() -> None:
    """Not during a check, not later when leftovers are collected, not at interpreter exit."""
    import subprocess

    script = (
        "import sys; sys.path.insert(0, 'tests/corpus'); import autograder_cases as c\n"
        "verdicts = [c.verdict(name)[0] for name in c.CASES]\n"
        "import gc; gc.collect()\n"
        "print(len(verdicts))"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parent.parent,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 0 and done.stdout.strip().splitlines()[-1] == str(len(autograder_cases.CASES)), done.stderr
    assert done.stderr == ""
