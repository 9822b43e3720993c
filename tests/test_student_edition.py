"""The student edition leaks nothing, is complete, and its notebooks run there as blanks."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

from binder_env import binder_environment
from conftest import ASSIGNMENTS, ROOT
from coursetools.nbgrader_cli import nbgrader
from coursetools.student_edition import DEFAULT_REPO, MARKER, binder_url, write_student_edition

SOLUTION = re.compile(r"### BEGIN SOLUTION(.*?)### END SOLUTION", re.S)
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.S)
EXPECTED = {
    ".gitignore", MARKER, "README.md", "index.ipynb", "release", "course", "autograder", "pyproject.toml",
    "constraints.txt", "environment.yml", "postBuild", "run.py", "nbgrader_config.py",
}


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("student") / "asyncio-course-student"
    result = subprocess.run([sys.executable, "-m", "coursetools", "student-edition", str(target)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return target


def _files(folder: Path) -> list[Path]:
    return [path for path in sorted(folder.rglob("*")) if path.is_file()]


def _text(path: Path) -> str:
    try:
        return path.read_text()
    except UnicodeDecodeError:
        return ""


def _secrets() -> dict[str, tuple[set[str], list[list[str]], str]]:
    """Per assignment: lines of its solutions and hidden tests that no notebook shows in public,
    and the (stripped, non-empty) lines of each such block."""
    hidden_by_assignment, public = {}, []
    for assignment in ASSIGNMENTS:
        notebook = nbformat.read(assignment.path(ROOT), as_version=4)
        hidden = []
        for cell in notebook.cells:
            hidden += SOLUTION.findall(cell.source) + HIDDEN.findall(cell.source)
            public.append(SOLUTION.sub("", HIDDEN.sub("", cell.source)))
        hidden_by_assignment[assignment.id] = hidden
    # a line an earlier lesson shows openly is no secret in a later one's solution
    public_text = "\n".join(line.strip() for text in public for line in text.splitlines())
    secrets = {}
    for assignment, hidden in hidden_by_assignment.items():
        lines = {line.strip() for block in hidden for line in block.splitlines() if len(line.strip()) >= 20}
        blocks = [[line.strip() for line in block.splitlines() if line.strip()] for block in hidden]
        secrets[assignment] = ({line for line in lines if line not in public_text},
                               blocks, public_text)
    return secrets


def _windows(lines: list[str], size: int = 3) -> list[str]:
    return ["\n".join(lines[i:i + size]) for i in range(len(lines) - size + 1)]


def test_edition_holds_exactly_the_student_files(edition: Path) -> None:
    assert {entry.name for entry in edition.iterdir()} == EXPECTED
    names = {path.relative_to(edition).as_posix() for path in _files(edition)}
    for forbidden in ("source/", "coursetools/", "tests/", "benchmarks/", "submitted/", "autograded/", "feedback/"):
        assert not [name for name in names if name.startswith(forbidden)], forbidden
    assert not [name for name in names if name.endswith((".db", ".db-journal", ".pyc"))], "no gradebook, no bytecode"
    assert not [name for name in names if "__pycache__" in name or ".ipynb_checkpoints" in name]
    for assignment in ASSIGNMENTS:
        released = assignment.path(ROOT, "release")
        copied = assignment.path(edition, "release")
        assert copied.read_bytes() == released.read_bytes(), f"{assignment.id}: the edition ships release/ as is"
    assert os.access(edition / "postBuild", os.X_OK), "Binder runs postBuild only if it is executable"


def test_edition_leaks_no_solution_or_hidden_test(edition: Path) -> None:
    everything = {path.relative_to(edition).as_posix(): _text(path) for path in _files(edition)}
    for name, text in everything.items():
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"{name} contains {marker}"
    secrets = _secrets()
    assert any(lines for lines, _, _ in secrets.values()), "the source notebooks have solutions to look for"
    # notebooks and documents: no line of a solution or hidden test
    readable = {name: text for name, text in everything.items() if name.endswith((".ipynb", ".md"))}
    leaked = [f"{assignment}: {line!r} in {name}"
              for assignment, (lines, _, _) in secrets.items() for line in lines
              for name, text in readable.items() if line in text]
    # every file: no three consecutive lines of one
    stripped = {name: "\n".join(line.strip() for line in text.splitlines() if line.strip())
                for name, text in everything.items()}
    leaked += [f"{assignment}: {window!r} in {name}"
               for assignment, (_, blocks, public_text) in secrets.items() for block in blocks
               for window in _windows(block) if window not in public_text
               for name, text in stripped.items() if window in text]
    assert not leaked, leaked[:5]
    # no wrong-answer variants either (they are solution-shaped code)
    for variant in (ROOT / "tests" / "variants").rglob("*.py"):
        body = "\n".join(variant.read_text().splitlines()[1:]).strip()
        assert not any(body and body in text for text in everything.values()), variant.name


def test_edition_packages_and_config(edition: Path) -> None:
    pyproject = tomllib.loads((edition / "pyproject.toml").read_text())
    assert pyproject["tool"]["setuptools"]["packages"]["find"]["include"] == ["course*", "autograder*"]
    for package in ("course", "autograder"):
        assert (edition / package / "__init__.py").exists()
    assert pyproject["project"]["dependencies"] == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    config = (edition / "nbgrader_config.py").read_text()
    assert "c.Execute.timeout = 120" in config and "asyncio-course" in config
    for instructor_only in ("db_url", "source", "header", "Exchange"):
        assert instructor_only not in config.replace("nbgrader_config", ""), instructor_only
    # the edition's own packages are the ones its notebooks import
    where = subprocess.run(
        [sys.executable, "-c", "import course, autograder, course.widgets; print(course.__file__); print(autograder.__file__)"],
        cwd=edition / "release", env={**os.environ, "PYTHONPATH": str(edition)}, capture_output=True, text=True)
    assert where.returncode == 0, where.stderr
    assert all(Path(line).is_relative_to(edition) for line in where.stdout.split()), where.stdout


def test_edition_links_resolve_and_readme_launches_binder(edition: Path) -> None:
    link = re.compile(r"\]\(([^)#\s]+\.ipynb)\)")
    checked = 0
    for path in [edition / "index.ipynb", *(edition / "release").rglob("*.ipynb")]:
        for cell in nbformat.read(path, as_version=4).cells:
            for target in link.findall(cell.source):
                assert (path.parent / target).resolve().exists(), f"{path.name} links to missing {target}"
                checked += 1
    assert checked >= len(ASSIGNMENTS) * 3
    readme = (edition / "README.md").read_text()
    assert binder_url(DEFAULT_REPO) in readme
    assert binder_url(DEFAULT_REPO).endswith("?urlpath=lab/tree/index.ipynb")
    assert "python3 run.py lab" in readme


def test_edition_notebooks_validate_as_blank_there(edition: Path) -> None:
    """`nbgrader validate --invert` with the edition's config and packages: every exercise fails untouched.

    The edition's release notebooks are the course's (a test above compares them), so this is
    also the course's check that no test of a blank notebook passes under nbgrader's own rule.
    """
    notebooks = [str(a.path(edition, "release")) for a in ASSIGNMENTS]
    result = nbgrader("validate", "--invert", *notebooks, cwd=edition, check=False,
                      extra_env={"PYTHONPATH": str(edition)})
    output = result.stdout + result.stderr
    assert output.count("Success! The notebook does not pass any tests.") == len(notebooks), output


def test_edition_can_be_rewritten_but_never_over_other_folders(edition: Path, tmp_path: Path) -> None:
    (edition / ".git").mkdir(exist_ok=True)
    (edition / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (edition / "stale.txt").write_text("from an older edition")
    write_student_edition(ROOT, edition)
    assert (edition / ".git" / "HEAD").exists(), "a clone's .git survives"
    assert not (edition / "stale.txt").exists()
    assert {entry.name for entry in edition.iterdir()} == EXPECTED | {".git"}
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit):
        write_student_edition(ROOT, other)
    assert (other / "notes.txt").read_text() == "mine"
    with pytest.raises(SystemExit):
        write_student_edition(ROOT, ROOT)


def test_edition_postbuild_runs_in_a_scratch_environment(edition: Path, tmp_path: Path) -> None:
    """postBuild (set -euo pipefail) completes, installs the packages and leaves students only Validate,
    scored like grading, and no news pop-up."""
    work = tmp_path / "repo"
    subprocess.run(["cp", "-a", str(edition), str(work)], check=True)
    python, env = binder_environment(work, tmp_path)
    prefix = python.parent.parent
    where = subprocess.run([str(prefix / "bin" / "python"), "-c", "import course; print(course.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True)
    assert Path(where.stdout.strip()).is_relative_to(work), where.stdout + where.stderr
    extensions: dict[str, bool] = {}
    config = prefix / "etc" / "jupyter"
    for path in [*sorted((config / "jupyter_server_config.d").glob("*.json")), config / "jupyter_server_config.json"]:
        if path.exists():
            extensions.update(json.loads(path.read_text()).get("ServerApp", {}).get("jpserver_extensions", {}))
    for name in ("formgrader", "assignment_list", "course_list", "validate_assignment"):
        assert extensions[f"nbgrader.server_extensions.{name}"] is False
    assert extensions["autograder.validate"] is True, "Validate with grading's scoring rule replaces nbgrader's"
    page = json.loads((prefix / "etc" / "jupyter" / "labconfig" / "page_config.json").read_text())
    disabled = {name for name, off in page["disabledExtensions"].items() if off}
    assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:menu"} <= disabled
    assert "@jupyter/nbgrader:validate-assignment" not in disabled
    overrides = {}
    for path in (prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.d").glob("*.json"):
        overrides.update(json.loads(path.read_text()))
    notifications = overrides["@jupyterlab/apputils-extension:notification"]
    assert notifications["fetchNews"] == "false" and notifications["checkForUpdates"] is False
