"""The README's first command: `python3 run.py lab` serves JupyterLab on the start notebook.

In the instructor's copy it says so, and keeps nbgrader's instructor tools; Validate scores
like grading (autograder.validate) and JupyterLab shows no news in every copy. (The student
edition's settings are tested with postBuild, which applies the same `run.py jupyter-settings`.)
"""
from __future__ import annotations

import json
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request

from conftest import ROOT


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_lab_command_serves_the_start_notebook_with_nbgrader() -> None:
    port, token = _free_port(), secrets.token_hex(16)
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "lab", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/contents/index.ipynb?token={token}", timeout=5) as reply:
                    notebook = json.load(reply)
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "JupyterLab did not answer within 120 s"
                time.sleep(0.5)
        assert notebook["type"] == "notebook" and "release/01-callbacks" in json.dumps(notebook["content"])
        with urllib.request.urlopen(f"{base}/lab/tree/index.ipynb?token={token}", timeout=10) as reply:
            assert reply.status == 200 and "JupyterLab" in reply.read().decode()
        with urllib.request.urlopen(f"{base}/api/config/nbgrader?token={token}", timeout=10) as reply:
            assert reply.status == 200
        with urllib.request.urlopen(f"{base}/formgrader?token={token}", timeout=30) as reply:
            assert reply.status == 200, "the instructor keeps Formgrader"
        with urllib.request.urlopen(f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification?token={token}",
                                    timeout=10) as reply:
            defaults = json.load(reply)["schema"]["properties"]
        assert defaults["fetchNews"]["default"] == "false", "no news pop-up"
        with urllib.request.urlopen(f"{base}/lab/tree/index.ipynb?token={token}", timeout=10) as reply:
            page_config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                               reply.read().decode(), re.S)[1])
        assert not {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"} & set(page_config["disabledExtensions"])
    finally:
        server.terminate()
        try:
            output, _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    assert "INSTRUCTOR's copy" in output and "student edition" in output, output[:2000]
    assert "Validate scores test cells by the course's grading rule" in output, "autograder.validate serves Validate"
