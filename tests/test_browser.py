"""A student's path through the course in a real browser.

A real JupyterLab serves a throwaway student edition of the course, set up the way Binder sets
it up (the edition's own postBuild in a fresh environment, tests/binder_env.py); Debian's
headless chromium, driven by Playwright, works through it like a student:

* JupyterLab shows a student only Validate of nbgrader's tools, and no news pop-up;
* every notebook, opened from the start page, is not modified by being opened (saving it
  leaves its file byte for byte as it was); Run All with every exercise unsolved runs every
  cell, and no lesson cell fails or writes on stderr; with the first exercise then solved (its
  reference solution pasted into its cell), Validate passes that exercise's tests and its
  dialog opens on the next exercise's failing behaviour and the diagnosis;
* progress bars, the lag meter and a task timeline render and finish.

One JupyterLab and one browser serve every step. Screenshots go to test-artifacts/browser/.
Nothing is downloaded and nothing but 127.0.0.1 is contacted: the browser aborts any other request.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import nbformat
import pytest

from binder_env import binder_environment
from conftest import ASSIGNMENTS, ROOT
from coursetools.layout import Assignment
from coursetools.regenerate import RUN_ON_TAG, kernel_metadata, title_of
from coursetools.student_edition import write_student_edition
from coursetools.submissions import solved

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
WIDGET_NOTEBOOK = "widget-check.ipynb"
INSTRUCTOR_PLUGINS = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:assignment-list",
                      "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:menu"]
VALIDATE_PLUGIN = "@jupyter/nbgrader:validate-assignment"
STDERR = '[data-mime-type="application/vnd.jupyter.stderr"]'  # text on stderr and errors alike
RUN_TIMEOUT_MS = 300_000

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (python3 run.py test installs it)"),
    pytest.mark.xdist_group("browser"),
]

WIDGET_CELLS = [
    "# Widget check\n\nProgress bars, the lag meter and a task timeline, live.",
    "import asyncio, time\nimport course, course.widgets\n\n"
    "urls = [f\"page-{n}\" for n in range(4)]\n"
    "bars = course.widgets.ProgressBars(urls, title=\"Downloads\")\n"
    "latency = {url: 1.0 + 0.5 * n for n, url in enumerate(urls)}\n"
    "pages = await asyncio.gather(*(bars.track(url, course.download(url, latency=latency[url]), expected=latency[url])\n"
    "                               for url in urls))\n"
    "print(\"all done:\", bars.all_done)",
    "async with course.widgets.LagMeter(interval=0.02) as meter:\n"
    "    await asyncio.sleep(0.2)\n    time.sleep(0.3)  # blocks the loop\n    await asyncio.sleep(0.2)\n"
    "print(f\"worst lag: {meter.max_lag * 1000:.0f} ms\")",
    "async def work(n):\n    await asyncio.sleep(0.05 * n)\n    time.sleep(0.05)\n\n"
    "async with course.widgets.TaskTimeline() as timeline:\n"
    "    await asyncio.gather(*(work(n) for n in range(3)))",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Lab:
    """A running JupyterLab on a student edition, and a browser page on it."""

    course: Path
    base: str
    token: str
    page: object

    def api(self, path: str) -> dict:
        with urllib.request.urlopen(f"{self.base}/{path}?token={self.token}", timeout=10) as reply:
            return json.load(reply)

    def status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(f"{self.base}/{path}?token={self.token}", timeout=10) as reply:
                return reply.status
        except urllib.error.HTTPError as error:
            return error.code

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@contextmanager
def _jupyterlab(course: Path, scratch: Path) -> Iterator[tuple[str, str]]:
    """JupyterLab from a Binder-like environment of `course` on 127.0.0.1: (base URL, token); always stopped."""
    python, env = binder_environment(course, scratch)
    port, token = _free_port(), secrets.token_hex(16)
    log_path = scratch / "jupyterlab.log"
    log = log_path.open("w")
    server = subprocess.Popen(
        [str(python), "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={course}",
         "--LabApp.expose_app_in_browser=True", "--allow-root"],
        cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"JupyterLab exited: {log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("JupyterLab did not start within 90 s")
            time.sleep(0.3)
        yield base, token
    finally:
        try:  # the server shuts its kernels down too
            request = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
            urllib.request.urlopen(request, timeout=5).close()
        except (urllib.error.URLError, OSError):
            pass
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        log.close()
        (ARTIFACTS / "jupyterlab.log").write_text(log_path.read_text())


def _only_local(route) -> None:
    if re.match(r"^(https?|wss?)://127\.0\.0\.1[:/]", route.request.url):
        route.continue_()
    else:
        route.abort()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    scratch = tmp_path_factory.mktemp("browser")
    course = write_student_edition(ROOT, scratch / "course")
    with _jupyterlab(course, scratch) as (base, token), sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(scratch / "chromium-profile"), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
            headless=True, viewport={"width": 1400, "height": 900},
        )
        context.set_default_timeout(30_000)
        context.route("**/*", _only_local)
        page = context.pages[0] if context.pages else context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # "leave this page?" when a notebook is unsaved
        try:
            yield Lab(course, base, token, page)
        finally:
            context.close()


def _open(lab: Lab, path: str):
    """Open `path` in a fresh JupyterLab workspace; the visible notebook panel."""
    from playwright.sync_api import expect

    lab.page.goto(f"{lab.base}/lab/tree/{path}?reset&token={lab.token}")
    panel = lab.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(panel.locator(".jp-Notebook")).to_be_visible(timeout=60_000)
    return panel


def _wait_idle(lab: Lab) -> None:
    """Wait until the current notebook's kernel is idle (the status bar says so)."""
    from playwright.sync_api import expect

    expect(lab.page.get_by_role("button", name=re.compile(r"\| Idle$"))).to_be_visible(timeout=RUN_TIMEOUT_MS)


def _run_all(lab: Lab, panel) -> None:
    """Run > Run All Cells."""
    _wait_idle(lab)  # with no kernel yet, Run All would ask which kernel to start
    lab.page.locator(".lm-MenuBar-item", has_text="Run").click()
    lab.page.locator(".lm-Menu-item").get_by_text("Run All Cells", exact=True).click()


def _wait_all_ran(panel) -> None:
    """Wait until every code cell has run (its prompt shows an execution count)."""
    prompts = panel.locator(".jp-CodeCell .jp-InputPrompt")
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while True:
        texts = [text.strip() for text in prompts.all_text_contents()]
        if texts and all(re.fullmatch(r"\[\d+\]:", text) for text in texts):
            return
        assert time.monotonic() < deadline, f"Run All did not reach every cell: prompts {texts}"
        time.sleep(0.5)


def _validate(lab: Lab, panel, outcome: str) -> str:
    """Press Validate; wait for the dialog with `outcome`; its text. The dialog stays open."""
    from playwright.sync_api import expect

    panel.locator(".validate-button").click()
    dialog = lab.page.locator(".jp-Dialog")
    expect(dialog.locator(f".{outcome}")).to_be_attached(timeout=RUN_TIMEOUT_MS)
    return dialog.locator(".jp-Dialog-body").inner_text()


def _close_dialog(lab: Lab) -> None:
    from playwright.sync_api import expect

    lab.page.keyboard.press("Escape")
    expect(lab.page.locator(".jp-Dialog")).to_have_count(0)


def _shut_kernels_down(lab: Lab) -> None:
    """Stop the kernels of notebooks opened before (one student, one notebook at a time)."""
    for session in lab.api("api/sessions"):
        request = urllib.request.Request(f"{lab.base}/api/sessions/{session['id']}?token={lab.token}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


def _last_modified(lab: Lab, path: str) -> str:
    return lab.api(f"api/contents/{path}")["last_modified"]


def _save_and_compare(lab: Lab, panel, path: str, before: bytes) -> None:
    """The notebook is not marked modified; saving it writes the same bytes it was opened from."""
    from playwright.sync_api import expect

    _wait_idle(lab)
    time.sleep(1)  # the kernel's info reply reaches the notebook's metadata right after it starts
    tab = lab.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
    expect(tab).not_to_have_class(re.compile(r"\bjp-mod-dirty\b"))
    saved_at = _last_modified(lab, path)
    lab.page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")  # what Ctrl+S does
    deadline = time.monotonic() + 30
    while _last_modified(lab, path) == saved_at:
        assert time.monotonic() < deadline, f"{path} was not saved"
        time.sleep(0.2)
    assert (lab.course / path).read_bytes() == before, f"{path} changed by being opened and saved in JupyterLab"


def _paste(lab: Lab, cell, text: str) -> None:
    """Replace the text of `cell`'s editor with `text`, pasted as from the clipboard."""
    editor = cell.locator(".cm-content")
    editor.click()
    lab.page.keyboard.press("Control+a")
    editor.evaluate("(node, text) => { const data = new DataTransfer(); data.setData('text/plain', text);"
                    " node.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true,"
                    " cancelable: true})); }", text)


def _kind(cell: nbformat.NotebookNode) -> str:
    nbgrader = cell.metadata.get("nbgrader", {})
    if cell.cell_type != "code":
        return "text"
    if nbgrader.get("solution"):
        return "solution"
    return "test" if nbgrader.get("grade") else "lesson"


def _docstring(cell: nbformat.NotebookNode) -> str:
    """A test cell's first line, without its quotes: the behaviour it checks."""
    return cell.source.splitlines()[0].strip('"').strip()


def test_a_student_sees_only_validate_and_no_news(lab: Lab) -> None:
    from playwright.sync_api import expect

    panel = _open(lab, ASSIGNMENTS[0].path(Path(), "release").as_posix())
    _wait_idle(lab)
    expect(panel.locator(".validate-button")).to_be_visible()
    state = lab.page.evaluate("ids => ids.map(id => [id, window.jupyterapp.isPluginActivated(id)])",
                              [*INSTRUCTOR_PLUGINS, VALIDATE_PLUGIN])
    assert dict(state) == {**{plugin: False for plugin in INSTRUCTOR_PLUGINS}, VALIDATE_PLUGIN: True}
    assert lab.page.locator(".lm-MenuBar-item", has_text="Nbgrader").count() == 0
    assert lab.status("formgrader") == 404 and lab.status("assignments") == 404, "instructor server tools are off"
    defaults = lab.api("lab/api/settings/@jupyterlab/apputils-extension:notification")["schema"]["properties"]
    assert defaults["fetchNews"]["default"] == "false" and defaults["checkForUpdates"]["default"] is False
    time.sleep(3)  # JupyterLab asks about news a moment after it starts
    assert lab.page.locator(".Toastify__toast").count() == 0, lab.page.locator(".Toastify__toast").all_inner_texts()
    lab.shot("00-student-jupyterlab")
    assert not list(lab.course.glob("*.db")), "nothing created a gradebook"


def test_opening_the_start_page_changes_nothing(lab: Lab) -> None:
    before = (lab.course / "index.ipynb").read_bytes()
    _save_and_compare(lab, _open(lab, "index.ipynb"), "index.ipynb", before)


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=[a.id for a in ASSIGNMENTS])
def test_every_notebook_as_a_student(lab: Lab, assignment: Assignment) -> None:
    from playwright.sync_api import expect

    path = assignment.path(Path(), "release").as_posix()
    released = nbformat.read(lab.course / path, as_version=4)
    before = (lab.course / path).read_bytes()
    name = assignment.number

    _shut_kernels_down(lab)
    index = _open(lab, "index.ipynb")
    index.locator(".jp-RenderedMarkdown a", has_text=title_of(released)).first.click()
    expect(lab.page.locator(".lm-TabBar-tab.lm-mod-current", has_text=assignment.notebook).first).to_be_visible()
    panel = lab.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(panel.locator(".jp-RenderedMarkdown h1").first).to_contain_text(title_of(released))
    _save_and_compare(lab, panel, path, before)

    _run_all(lab, panel)
    _wait_all_ran(panel)
    cells = panel.locator(".jp-Notebook .jp-Cell")
    expect(cells).to_have_count(len(released.cells))
    troubles = []
    for number, cell in enumerate(released.cells):
        if _kind(cell) == "lesson":
            errors = cells.nth(number).locator(STDERR)
            if errors.count():
                troubles.append(f"cell {number} ({cell.source.splitlines()[0][:60]!r}): {errors.first.text_content()[:300]}")
    tests = [cell for cell in released.cells if _kind(cell) == "test"]
    first_test = next(number for number, cell in enumerate(released.cells) if _kind(cell) == "test")
    cells.nth(first_test).scroll_into_view_if_needed()
    lab.shot(f"{name}-1-run-all-unsolved")
    assert not troubles, "lesson cells failed or wrote on stderr with the exercises unsolved:\n" + "\n".join(troubles)
    assert cells.nth(first_test).locator(STDERR).count(), "an unsolved exercise's test fails"

    # Solve the first exercise (its reference pasted in), then Validate once: the first exercise
    # passes, and the dialog opens on the next exercise's failing behaviour and its diagnosis.
    exercises = [number for number, cell in enumerate(released.cells) if _kind(cell) == "solution"]
    first, second = exercises[0], exercises[1]
    grade_id = released.cells[first].metadata.nbgrader.grade_id
    reference = next(cell.source for cell in solved(assignment.path(ROOT)).cells
                     if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    its_tests = [_docstring(cell) for cell in released.cells[first + 1:second] if _kind(cell) == "test"]
    next_test = next(_docstring(cell) for cell in released.cells[second + 1:] if _kind(cell) == "test")
    assert its_tests, f"{grade_id} has tests"
    _paste(lab, cells.nth(first), reference)
    report = _validate(lab, panel, "validation-failed")
    cells.nth(first).scroll_into_view_if_needed()
    lab.shot(f"{name}-2-validate-first-solved")
    lines = [line.strip() for line in report.splitlines() if line.strip()]
    assert lines[0] == "The following cell failed:", lines[:3]
    assert next_test in "\n".join(lines[1:3]), f"the failing behaviour first: {lines[:3]}"
    message = next((n for n, line in enumerate(lines) if re.match(r"^[A-Z]\w*: \S", line)), None)
    assert message is not None and message <= 12, f"the diagnosis within the first lines: {lines[:14]}"
    still_failing = [behaviour for behaviour in its_tests if behaviour in report]
    assert not still_failing, f"with {grade_id} solved, Validate still fails {still_failing}:\n{report[:2000]}"
    _close_dialog(lab)
    assert RUN_ON_TAG in released.cells[first].metadata.get("tags", [])


def test_progress_bars_lag_meter_and_timeline_render(lab: Lab) -> None:
    from playwright.sync_api import expect

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(WIDGET_CELLS[0])]
                                        + [nbformat.v4.new_code_cell(s) for s in WIDGET_CELLS[1:]])
    notebook.metadata = kernel_metadata()
    nbformat.write(notebook, lab.course / WIDGET_NOTEBOOK)
    _shut_kernels_down(lab)
    widgets = _open(lab, WIDGET_NOTEBOOK)
    _run_all(lab, widgets)
    cells = widgets.locator(".jp-CodeCell")
    downloads = cells.nth(0)
    expect(downloads.locator(".widget-hprogress")).to_have_count(4, timeout=60_000)
    lab.shot("widgets-running")
    bars = downloads.locator(".widget-hprogress .progress-bar")
    moving, deadline = False, time.monotonic() + 30
    while time.monotonic() < deadline:  # the bars fill while the downloads run
        widths = bars.evaluate_all("bars => bars.map(bar => parseFloat(bar.style.width) || 0)")
        moving |= any(0 < width < 100 for width in widths)
        if widths == [100] * 4:
            break
        time.sleep(0.05)
    assert moving, "no progress bar was ever seen part-filled"
    _wait_all_ran(widgets)
    expect(downloads.locator(".progress-bar-success")).to_have_count(4, timeout=30_000)
    expect(downloads.locator(".widget-html", has_text=re.compile(r"done in \d")).first).to_be_visible()
    expect(downloads).to_contain_text("all done: True")
    widths = bars.evaluate_all("bars => bars.map(bar => parseFloat(bar.style.width) || 0)")
    assert widths == [100] * 4, widths
    expect(cells.nth(1)).to_contain_text("worst lag", timeout=30_000)
    expect(cells.nth(1).locator(".widget-hprogress")).to_have_count(2)
    expect(cells.nth(2).locator('img[src^="data:image/png"]')).to_have_count(1, timeout=30_000)
    stderr = widgets.locator(STDERR)
    assert stderr.count() == 0, stderr.all_inner_texts()
    cells.nth(1).scroll_into_view_if_needed()
    lab.shot("widgets-done")
    cells.nth(2).locator("img").scroll_into_view_if_needed()
    lab.shot("task-timeline")
