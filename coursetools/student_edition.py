"""The student edition: the public copy of the course that students clone or launch on Binder.

    python3 run.py student-edition DIR [--repo OWNER/NAME]

writes to DIR the start notebook, the released (blank) notebooks, the packages the lessons
and test cells import, and what Binder and `python3 run.py lab` need to run them:

    index.ipynb  release/  course/  autograder/
    pyproject.toml (without the instructor packages)  constraints.txt  environment.yml  postBuild
    run.py  nbgrader_config.py (for the Validate button)  README.md (for students)  .gitignore

and nothing else: no source/ (solutions, hidden tests), no coursetools/, tests/ or benchmarks/,
no gradebook or student folders. DIR may be an empty folder, a clone of the student
repository (its .git is kept) or an earlier student edition, which is replaced.
"""
from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import nbformat
from traitlets.config import Config

from coursetools.layout import assignments

DEFAULT_REPO = "asyncio-course/asyncio-course-student"
PACKAGES = ("course", "autograder")
COPIED_FILES = ("index.ipynb", "constraints.txt", "environment.yml", "postBuild", "run.py")
COPIED_FOLDERS = ("release",)
MARKER = ".student-edition"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info", "*.db")
SECRET_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def binder_url(repo: str = DEFAULT_REPO) -> str:
    """Binder link that opens the start notebook in JupyterLab."""
    return f"https://mybinder.org/v2/gh/{repo}/HEAD?urlpath=lab/tree/index.ipynb"


STUDENT_README = """\
# Asyncio in Python, hands on

An open course that teaches Python's `asyncio` in JupyterLab: callbacks, futures, a hand-built
event loop, `async`/`await`, tasks, timeouts and cancellation, the mistakes that block an
event loop, executors, and real servers and clients. Every notebook explains an idea, measures
it live, and then asks you to write code; every exercise checks itself.

## Start

**In the browser, nothing to install:** [![Binder](https://mybinder.org/badge_logo.svg)]({binder})
opens JupyterLab on the start notebook, `index.ipynb`. The first launch can take a few
minutes while Binder builds the environment; later launches are quicker.

A Binder session is temporary: it stops after a while without activity and your changes go
with it. Download the notebooks you are working on (right-click in the file browser,
*Download*) before you leave, and upload them again next time.

**On your own machine** (Python 3.11 or newer; nothing else), from a clone of this repository:

```bash
python3 run.py lab
```

The first run creates a virtual environment in `.venv/`, installs the tested set of packages
into it and opens JupyterLab on `index.ipynb`; later runs start at once.

## Working in the notebooks

Open `index.ipynb` and follow the links: the assignments are in `release/`, one folder each,
in course order. Run the cells from the top with `Shift+Enter`; top-level `await` works in a
notebook cell. Exercises say `# YOUR CODE HERE`; the cell after each one holds tests you can
run. Before you hand in, use *Kernel → Restart Kernel and Run All Cells*, then the
**Validate** button in the notebook's toolbar. When your work is graded, further tests check
the same behaviour on other inputs.

## What is in this folder

| path | what |
|---|---|
| `index.ipynb` | the start notebook: what the course teaches, how to work, links to every assignment |
| `release/` | the assignments, one notebook each |
| `course/` | the package the lessons import: simulated services, widgets, plots |
| `autograder/` | the package the test cells import, and the Validate button's server side: it checks your notebook the way grading does |
| `run.py` | `python3 run.py lab`: set up and open the course |
| `environment.yml`, `postBuild` | the Binder environment |
| `pyproject.toml`, `constraints.txt` | the packages, with the exact tested versions |
| `nbgrader_config.py` | settings for the Validate button |
"""

STUDENT_CONFIG = '''\
"""nbgrader settings for students: the Validate button and `nbgrader validate` read this file.

Validate runs the notebook from the top, like grading does, with the same per-cell time limit.
"""
c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = {course_id!r}
c.Execute.timeout = {timeout!r}
c.Execute.interrupt_on_timeout = True
'''

STUDENT_GITIGNORE = """\
.venv/
__pycache__/
*.egg-info/
.ipynb_checkpoints/
"""


def instructor_config(root: Path) -> Config:
    """The instructor's nbgrader_config.py, evaluated the way nbgrader does."""
    config = Config()
    path = root / "nbgrader_config.py"
    namespace = {"get_config": lambda: config, "__file__": str(path), "__name__": "nbgrader_config"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return config


def student_config(root: Path) -> str:
    config = instructor_config(root)
    return STUDENT_CONFIG.format(
        course_id=config.CourseDirectory.get("course_id", "asyncio-course"),
        timeout=config.Execute.get("timeout", 120),
    )


def student_pyproject(root: Path) -> str:
    """pyproject.toml declaring only the packages the edition ships (and no test settings)."""
    text = (root / "pyproject.toml").read_text()
    packages = ", ".join(f'"{name}*"' for name in PACKAGES)
    text, count = re.subn(r"(?ms)^(\[tool\.setuptools\.packages\.find\]\n(?:.*\n)*?)include\s*=\s*\[[^\]]*\]",
                          lambda match: f"{match[1]}include = [{packages}]", text)
    if count != 1:
        raise ValueError("pyproject.toml: expected one `include = [...]` under [tool.setuptools.packages.find]")
    text = re.sub(r"(?ms)^\[tool\.pytest\.ini_options\]\n.*?(?=^\[|\Z)", "", text).rstrip() + "\n"
    parsed = tomllib.loads(text)
    assert parsed["tool"]["setuptools"]["packages"]["find"]["include"] == [f"{name}*" for name in PACKAGES]
    return text


def _clear(target: Path, root: Path) -> None:
    """Empty `target` for a new edition, keeping its .git; refuse anything that is not ours."""
    target = target.resolve()
    if target == root or target in root.parents:
        raise SystemExit(f"refusing to write the student edition over the course itself: {target}")
    if target.exists() and not target.is_dir():
        raise SystemExit(f"{target} is not a folder")
    if not target.exists():
        target.mkdir(parents=True)
        return
    entries = [entry for entry in target.iterdir() if entry.name != ".git"]
    if entries and not (target / MARKER).exists():
        raise SystemExit(
            f"{target} is not empty and is not a student edition; use an empty folder or a clone of the student repository")
    for entry in entries:
        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()


def leaks(target: Path) -> list[str]:
    """Files in `target` that hold solution or hidden-test markers (empty when all is well)."""
    found = []
    for path in sorted(target.rglob("*")):
        if ".git" in path.relative_to(target).parts or not path.is_file():
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        if any(marker in text for marker in SECRET_MARKERS):
            found.append(str(path.relative_to(target)))
    return found


def write_student_edition(root: Path, target: Path, repo: str = DEFAULT_REPO) -> Path:
    """Write the student edition of the course at `root` to `target`; returns `target`."""
    root = root.resolve()
    missing = [a.id for a in assignments(root) if not a.path(root, "release").exists()]
    if missing:
        raise SystemExit(f"release/ lacks {', '.join(missing)}: run `python3 run.py regenerate` first")
    _clear(target, root)
    for name in COPIED_FOLDERS + PACKAGES:
        shutil.copytree(root / name, target / name, ignore=IGNORED)
    for name in COPIED_FILES:
        shutil.copy2(root / name, target / name)  # keeps postBuild executable
    (target / "pyproject.toml").write_text(student_pyproject(root))
    (target / "nbgrader_config.py").write_text(student_config(root))
    (target / "README.md").write_text(STUDENT_README.format(binder=binder_url(repo)))
    (target / ".gitignore").write_text(STUDENT_GITIGNORE)
    (target / MARKER).write_text(
        "Generated by `python3 run.py student-edition` from the instructors' repository; edit there.\n")
    for path in (target / "release").rglob("*.ipynb"):
        nbformat.validate(nbformat.read(path, as_version=4))
    leaked = leaks(target)
    if leaked:
        shutil.rmtree(target / "release")
        raise SystemExit(f"solution or hidden-test markers in {leaked}; release/ removed, nothing to publish")
    return target
