"""course.widgets and course.plots: they measure what they claim, without a frontend, silently.

Assertions on real time only bound what load cannot shrink (a blocked loop is late by at
least as long as it was blocked); the free-loop checks use medians and loose bounds, so a
busy 2-core machine does not make them fail.
"""
from __future__ import annotations

import asyncio
import statistics
import time

import nbformat
import pytest
from nbclient import NotebookClient

import course
from course import plots
from course.widgets import LagMeter, ProgressBars, TaskTimeline

from conftest import ROOT

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def nothing_on_stderr(capfd: pytest.CaptureFixture[str]):
    """Widgets must never write to stderr (nbgrader scores such a test cell 0)."""
    yield
    assert capfd.readouterr().err == ""


# --------------------------------------------------------------------------- LagMeter


def test_lag_meter_sees_a_blocked_loop() -> None:
    async def main() -> LagMeter:
        async with LagMeter(interval=0.02) as meter:
            time.sleep(0.2)  # blocks the loop: the meter's timer fires late
        return meter

    meter = asyncio.run(main())
    assert meter.max_lag >= 0.15
    assert meter.samples, "the meter takes a sample after the block even if the loop never ran"
    assert meter.max_lag == max(lag for _, lag in meter.samples)
    assert all(isinstance(t, float) and lag >= 0 for t, lag in meter.samples)


def test_lag_meter_on_a_free_loop_samples_steadily_with_small_lag() -> None:
    async def main() -> tuple[LagMeter, float, float]:
        loop = asyncio.get_running_loop()
        async with LagMeter(interval=0.02) as meter:
            begin = loop.time()
            await asyncio.sleep(0.3)
            end = loop.time()
        return meter, begin, end

    meter, begin, end = asyncio.run(main())
    times = [t for t, _ in meter.samples]
    assert times == sorted(times)
    assert len(meter.samples) >= 3
    assert statistics.median(lag for _, lag in meter.samples) < 0.05
    assert meter.max_lag < 0.2  # loose: only a blocked loop gets near this


def test_lag_meter_locates_the_blocking_moment() -> None:
    async def main() -> tuple[LagMeter, float]:
        loop = asyncio.get_running_loop()
        async with LagMeter(interval=0.02) as meter:
            await asyncio.sleep(0.1)
            blocked_at = loop.time()
            time.sleep(0.2)
            await asyncio.sleep(0.1)
        return meter, blocked_at

    meter, blocked_at = asyncio.run(main())
    worst_time, worst = max(meter.samples, key=lambda sample: sample[1])
    assert worst >= 0.15
    assert worst_time >= blocked_at + 0.15, "the late sample is the one after the blocking call"
    assert len(meter.samples) >= 3


def test_lag_meter_cleans_up_on_errors_and_cancellation() -> None:
    async def failing() -> None:
        async with LagMeter(interval=0.02):
            await asyncio.sleep(0.03)
            raise ValueError("boom")

    async def main() -> None:
        with pytest.raises(ValueError):
            await failing()
        task = asyncio.create_task(failing())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert {t.get_name() for t in asyncio.all_tasks()} - {asyncio.current_task().get_name()} == set()

    asyncio.run(main())


def test_lag_meter_widget_shows_the_numbers() -> None:
    async def main() -> LagMeter:
        async with LagMeter(interval=0.02) as meter:
            time.sleep(0.1)
        return meter

    meter = asyncio.run(main())
    state = repr(meter.widget)  # built and updated without a frontend
    assert "VBox" in state
    assert f"{meter.max_lag * 1000:.1f} ms" in meter._max_text.value
    assert meter._max_bar.bar_style == "danger"
    assert "worst" in meter._summary.value
    assert meter.summary().startswith("event-loop lag: worst ") and f"{len(meter.samples)} samples" in meter.summary()
    assert plots.lag(meter.samples, interval=0.02).png().startswith(PNG)


# --------------------------------------------------------------------------- ProgressBars


def test_progress_bars_update_done_fail() -> None:
    bars = ProgressBars(["a", "b", "c"], title="Downloads")
    bars.update("a", 0.5)
    assert bars.fractions["a"] == 0.5 and bars.states["a"] == "running"
    bars.update("a", 7)  # clamped
    assert bars.fractions["a"] == 1.0
    bars.done("b")
    bars.fail("c", LookupError("404"))
    assert bars.states == {"a": "running", "b": "done", "c": "failed"}
    assert not bars.all_done
    bars.update("new", 0.1)  # an unknown label gets a bar
    assert bars.labels == ["a", "b", "c", "new"]
    assert len(bars.widget.children) == 5  # title + four rows


def test_progress_bars_track_concurrent_downloads() -> None:
    urls = [f"page{i}" for i in range(5)] + ["missing"]
    seen: dict[str, list[float]] = {url: [] for url in urls}

    async def main() -> list:
        bars = ProgressBars(urls)
        original = bars.update

        def spy(label, fraction):
            seen[label].append(fraction)
            original(label, fraction)

        bars.update = spy
        results = await asyncio.gather(
            *(bars.track(url, course.download(url, latency=0.3), expected=0.3) for url in urls),
            return_exceptions=True,
        )
        return [bars, results]

    bars, results = asyncio.run(main())
    assert results[:5] == [f"<html>page{i}</html>" for i in range(5)]
    assert isinstance(results[5], LookupError)
    assert bars.states["missing"] == "failed"
    assert all(bars.states[url] == "done" and bars.fractions[url] == 1.0 for url in urls[:5])
    for url in urls[:5]:
        assert any(0 < fraction < 1 for fraction in seen[url]), "bars move while the download runs"
        assert seen[url] == sorted(seen[url])


def test_progress_bars_track_leaves_no_task_behind() -> None:
    from autograder import check

    async def fetch(url):
        bars = ProgressBars([url], display=False)
        return await bars.track(url, course.download(url), expected=1.0)

    check(fetch, "a", expected="<html>a</html>", within=1.0)  # would raise TaskLeaked


def test_progress_bars_track_cancellation() -> None:
    async def main() -> ProgressBars:
        bars = ProgressBars(["slow"])
        task = asyncio.create_task(bars.track("slow", asyncio.sleep(10), expected=10))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(asyncio.all_tasks()) == 1, "the ticker stops with the tracked awaitable"
        return bars

    assert asyncio.run(main()).states["slow"] == "cancelled"


# --------------------------------------------------------------------------- TaskTimeline


async def _worker(delay: float, block: float) -> None:
    await asyncio.sleep(delay)
    time.sleep(block)  # holds the loop
    await asyncio.sleep(delay)


def test_task_timeline_records_running_and_waiting() -> None:
    async def background() -> None:
        while True:
            await asyncio.sleep(0.01)

    async def main() -> TaskTimeline:
        loop = asyncio.get_running_loop()
        outside = asyncio.create_task(background(), name="outside")
        async with TaskTimeline() as timeline:
            await asyncio.gather(_worker(0.05, 0.08), _worker(0.05, 0.08))
        outside.cancel()
        assert "call_soon" not in vars(loop), "the loop is restored"
        return timeline

    timeline = asyncio.run(main())
    names = [task.name for task in timeline.tasks]
    assert names == ["this cell", "_worker", "_worker #2"]
    first, second = timeline.tasks[1], timeline.tasks[2]
    long_first = [span for span in first.running if span[1] - span[0] >= 0.07]
    long_second = [span for span in second.running if span[1] - span[0] >= 0.07]
    assert len(long_first) == len(long_second) == 1, "each worker's time.sleep is one long step"
    (a0, a1), (b0, b1) = long_first[0], long_second[0]
    assert a1 <= b0 or b1 <= a0, "one loop runs one step at a time"
    assert first.busy >= 0.07 and second.busy >= 0.07
    # both waited for their first sleep at the same time: their waits overlap
    assert first.waiting and second.waiting
    assert min(first.waiting[0][1], second.waiting[0][1]) > max(first.waiting[0][0], second.waiting[0][0])
    # the worker blocked second was ready while the first one held the loop
    later = second if b0 > a0 else first
    assert any(end - start >= 0.05 for start, end in later.queued)
    assert first.finished is not None and second.finished is not None
    for task in timeline.tasks:
        for start, end in task.running + task.waiting + task.queued:
            assert timeline.start <= start <= end <= timeline.end
    figure = timeline.figure()
    assert figure.png().startswith(PNG)
    assert [label.get_text() for label in figure.axes[0].get_yticklabels()] == names


def test_task_timeline_names_tasks_and_nests() -> None:
    async def main() -> tuple[TaskTimeline, TaskTimeline]:
        async with TaskTimeline() as outer:
            async with TaskTimeline() as inner:
                await asyncio.create_task(course.download("x", latency=0.05), name="fetch x")
            await asyncio.sleep(0.01)
        assert "call_soon" not in vars(asyncio.get_running_loop())
        return outer, inner

    outer, inner = asyncio.run(main())
    assert [task.name for task in inner.tasks] == ["this cell", "fetch x"]
    assert "fetch x" in [task.name for task in outer.tasks]


# --------------------------------------------------------------------------- plots


def test_calls_timeline_draws_an_autograder_report() -> None:
    from autograder import run

    async def fetch_all(urls):
        return await asyncio.gather(*(course.download(url) for url in urls))

    report = run(fetch_all, ["a", "b", "c"])
    figure = plots.timeline(report.calls, title="fetch_all")
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert labels == ["download('a')", "download('b')", "download('c')"]
    bars = figure.axes[0].patches
    assert [bar.get_width() for bar in bars] == pytest.approx([1.0, 1.0, 1.0])
    assert figure.png().startswith(PNG)
    unfinished = course.CallRecord("download", "late", 0.5)
    assert plots.timeline([*report.calls, unfinished]).png().startswith(PNG)
    assert plots.timeline([]).png().startswith(PNG)


def test_plots_stay_quiet_with_a_read_only_home(tmp_path) -> None:
    """Where HOME is not writable (a grading sandbox) matplotlib warns on import; course.plots must not."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    env["HOME"] = "/proc"  # exists, and nothing can be created in it
    result = subprocess.run(
        [sys.executable, "-c", "import course.plots, course.widgets; course.plots.timeline([]).png()"],
        cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr


# --------------------------------------------------------------------------- in a real kernel


def test_widgets_in_a_kernel_display_and_stay_off_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    """Top-level await in ipykernel: widgets display, the timeline draws, nothing on stderr."""
    cells = [
        "import asyncio, time\nimport course, course.widgets",
        "bars = course.widgets.ProgressBars(['a', 'b'])\n"
        "await asyncio.gather(*(bars.track(u, course.download(u, latency=0.1), expected=0.1) for u in ['a', 'b']))\n"
        "assert bars.all_done",
        "async with course.widgets.LagMeter(interval=0.02) as meter:\n    time.sleep(0.2)\n"
        "assert meter.max_lag >= 0.15, meter.max_lag",
        "async def work():\n    await asyncio.sleep(0.02)\n    time.sleep(0.03)\n"
        "async with course.widgets.TaskTimeline() as timeline:\n    await asyncio.gather(work(), work())\n"
        "assert [t.name for t in timeline.tasks] == ['this cell', 'work', 'work #2'], timeline.tasks",
        "course.plots.timeline(course.recorder_for(asyncio.get_running_loop()).calls)",
        # after nest_asyncio (taught in the course) this cell's task is a C Task, new ones pure Python
        "import nest_asyncio\nnest_asyncio.apply()\n"
        "async with course.widgets.TaskTimeline(display=False) as timeline:\n    await asyncio.gather(work(), work())\n"
        "assert [t.name for t in timeline.tasks] == ['this cell', 'work', 'work #2'], timeline.tasks\n"
        "async with course.widgets.LagMeter(display=False) as meter:\n    time.sleep(0.2)\n"
        "assert meter.max_lag >= 0.15, meter.max_lag",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(notebook, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    capfd.readouterr()  # the kernel process's own log; the cells' stderr is in their outputs
    outputs = [cell.outputs for cell in notebook.cells]
    for cell_outputs in outputs:
        assert not [o for o in cell_outputs if o.output_type == "stream" and o.name == "stderr"], cell_outputs
    widget_view = "application/vnd.jupyter.widget-view+json"
    assert any(widget_view in o.get("data", {}) for o in outputs[1])
    assert any(widget_view in o.get("data", {}) for o in outputs[2])
    assert any("image/png" in o.get("data", {}) for o in outputs[3])
    assert any("image/png" in o.get("data", {}) for o in outputs[4])
