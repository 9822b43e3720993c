"""A student's path through the course in a real browser.

A real JupyterLab serves a throwaway student edition of the course (what Binder serves, with
the instructor's nbgrader tools switched off the way postBuild does); Debian's headless
chromium, driven by Playwright, clicks through it like a student: the start page, a link to
the first assignment, Run All, the Validate button on the blank notebook and on a solved
copy, and a small notebook whose progress bars must render and reach their end.
Screenshots go to test-artifacts/browser/. Nothing is downloaded and nothing but 127.0.0.1
is contacted: the browser aborts any other request.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import nbformat
import pytest

from conftest import ASSIGNMENTS, ROOT
from coursetools.regenerate import title_of
from coursetools.student_edition import write_student_edition

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
WIDGET_NOTEBOOK = "widget-check.ipynb"
BANNED_PLUGINS = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:assignment-list",
                  "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:create-assignment",
                  "@jupyterlab/extensionmanager-extension"]
BANNED_SERVER_EXTENSIONS = ["nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.assignment_list",
                            "nbgrader.server_extensions.course_list"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (python3 run.py test installs it)")

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


def _solved_copy(assignment, course: Path) -> Path:
    """The released notebook with the reference solutions typed in, as a student would."""
    source = nbformat.read(assignment.path(ROOT), as_version=4)
    answers = {}
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            lines = [line for line in cell.source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
            answers[meta["grade_id"]] = "\n".join(lines)
    released = nbformat.read(assignment.path(course, "release"), as_version=4)
    for cell in released.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers.pop(grade_id)
    assert not answers, f"solution cells missing from the release notebook: {sorted(answers)}"
    path = assignment.path(course, "release").with_name(f"{Path(assignment.notebook).stem}-solved.ipynb")
    nbformat.write(released, path)
    return path


def _write_config(config: Path) -> None:
    """A fresh Jupyter config folder: Binder's student setup, no news, no update checks."""
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {name: True for name in BANNED_PLUGINS}}))
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {name: False for name in BANNED_SERVER_EXTENSIONS}}}))
    settings = config / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))


@contextmanager
def _jupyterlab(course: Path, scratch: Path) -> Iterator[tuple[str, str]]:
    """A JupyterLab on 127.0.0.1 serving `course`; yields (base URL, token); always stopped."""
    port, token = _free_port(), secrets.token_hex(16)
    config = scratch / "jupyter-config"
    _write_config(config)
    env = {**os.environ, "PYTHONPATH": str(course), "JUPYTER_CONFIG_DIR": str(config),
           "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"), "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    log = (scratch / "jupyterlab.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={course}",
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.extension_manager=readonly", "--allow-root"],
        cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"JupyterLab exited: {(scratch / 'jupyterlab.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("JupyterLab did not start within 60 s")
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
        (ARTIFACTS / "jupyterlab.log").write_text((scratch / "jupyterlab.log").read_text())


def _only_local(route) -> None:
    if re.match(r"^(https?|wss?)://127\.0\.0\.1[:/]", route.request.url):
        route.continue_()
    else:
        route.abort()


def test_student_path_in_a_real_browser(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    course = write_student_edition(ROOT, tmp_path / "course")
    first = ASSIGNMENTS[0]
    title = title_of(nbformat.read(first.path(course, "release"), as_version=4))
    solved = _solved_copy(first, course).relative_to(course).as_posix()
    widget_notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(WIDGET_CELLS[0])]
                                               + [nbformat.v4.new_code_cell(s) for s in WIDGET_CELLS[1:]])
    widget_notebook.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                               "name": "python3"}, "language_info": {"name": "python"}}
    nbformat.write(widget_notebook, course / WIDGET_NOTEBOOK)

    with _jupyterlab(course, tmp_path) as (base, token), sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
            headless=True, viewport={"width": 1400, "height": 900},
        )
        context.set_default_timeout(30_000)
        context.route("**/*", _only_local)
        page = context.pages[0] if context.pages else context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # "leave this page?" when a notebook is unsaved
        step = "start"

        def shot(name: str) -> None:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

        def open_notebook(path: str):
            page.goto(f"{base}/lab/tree/{path}?reset&token={token}")
            panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
            expect(panel.locator(".jp-Notebook")).to_be_visible(timeout=60_000)
            return panel

        def run_all() -> None:
            # with no kernel yet, Run All would ask which kernel to start: wait for it first
            expect(page.get_by_role("button", name=re.compile(r"\| Idle$"))).to_be_visible(timeout=60_000)
            page.locator(".lm-MenuBar-item", has_text="Run").click()
            page.locator(".lm-Menu-item").get_by_text("Run All Cells", exact=True).click()

        def validate(panel, outcome: str):
            panel.locator(".validate-button").click()
            dialog = page.locator(".jp-Dialog")
            expect(dialog.locator(f".{outcome}")).to_be_attached(timeout=90_000)
            return dialog

        try:
            step = "the start page opens"
            index = open_notebook("index.ipynb")
            expect(index.locator(".jp-RenderedMarkdown h1").first).to_contain_text("Asyncio in Python")
            # (that it lists every assignment is checked without a browser: index.ipynb is generated)
            expect(index.locator(f'.jp-RenderedMarkdown a[href*="{first.id}/{first.notebook}"]')).to_have_count(1)
            shot("01-start-page")

            step = f"the link to {first.id} opens it"
            index.locator(".jp-RenderedMarkdown a", has_text=title).first.click()
            expect(page.locator(".lm-TabBar-tab.lm-mod-current", has_text=first.notebook).first).to_be_visible()
            assignment = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
            expect(assignment.locator(".jp-RenderedMarkdown h1").first).to_contain_text(title)
            expect(assignment.locator(".jp-RenderedMarkdown a", has_text="Contents").first).to_be_visible()
            shot("02-assignment")

            step = "Run All on the blank assignment stops at an unanswered exercise"
            run_all()
            error = assignment.locator('[data-mime-type="application/vnd.jupyter.stderr"]', has_text="NotImplementedError")
            expect(error.first).to_be_attached(timeout=90_000)
            error.first.scroll_into_view_if_needed()
            shot("03-run-all-blank")

            step = "Validate on the blank assignment reports failures"
            dialog = validate(assignment, "validation-failed")
            expect(dialog).to_contain_text("The following cell failed")
            shot("04-validate-blank")
            page.keyboard.press("Escape")
            expect(dialog).to_have_count(0)

            step = "Validate on a solved copy passes"
            solved_panel = open_notebook(solved)
            dialog = validate(solved_panel, "validation-success")
            expect(dialog).to_contain_text("Success! Your notebook passes all the tests.")
            shot("05-validate-solved")
            page.keyboard.press("Escape")

            step = "progress bars render, move and finish"
            widgets = open_notebook(WIDGET_NOTEBOOK)
            run_all()
            cells = widgets.locator(".jp-CodeCell")
            downloads = cells.nth(0)
            expect(downloads.locator(".widget-hprogress")).to_have_count(4, timeout=60_000)
            shot("06-progress-bars-running")
            bars = downloads.locator(".widget-hprogress .progress-bar")
            widths, moving, deadline = [], False, time.monotonic() + 30
            while time.monotonic() < deadline:  # the bars fill while the downloads run
                widths = bars.evaluate_all("bars => bars.map(bar => parseFloat(bar.style.width) || 0)")
                moving |= any(0 < width < 100 for width in widths)
                if widths == [100] * 4:
                    break
                time.sleep(0.05)
            assert moving, "no progress bar was ever seen part-filled"
            expect(downloads.locator(".progress-bar-success")).to_have_count(4, timeout=30_000)
            expect(downloads.locator(".widget-html", has_text=re.compile(r"done in \d")).first).to_be_visible()
            expect(downloads).to_contain_text("all done: True")
            assert widths == [100] * 4, widths

            step = "the lag meter and the task timeline render"
            expect(cells.nth(1)).to_contain_text("worst lag", timeout=30_000)
            expect(cells.nth(1).locator(".widget-hprogress")).to_have_count(2)
            expect(cells.nth(2).locator('img[src^="data:image/png"]')).to_have_count(1, timeout=30_000)
            stderr = widgets.locator('[data-mime-type="application/vnd.jupyter.stderr"]')
            assert stderr.count() == 0, stderr.all_inner_texts()
            cells.nth(1).scroll_into_view_if_needed()
            shot("07-widgets-done")
            cells.nth(2).locator("img").scroll_into_view_if_needed()
            shot("08-task-timeline")
        except Exception as error:
            shot("failed")
            raise AssertionError(f"browser step failed: {step}: {error}") from error
        finally:
            context.close()
