# loses: download_report_collects_errors
async def download_report(urls: list[str], latencies: list[float] | None = None) -> tuple[dict, dict]:
    """A TaskGroup: the first failure cancels the slower downloads, whose pages are then lost."""
    latencies = latencies or [1.0] * len(urls)
    tasks = {}
    try:
        async with asyncio.TaskGroup() as group:
            for url, latency in zip(urls, latencies):
                tasks[url] = group.create_task(course.download(url, latency=latency))
    except* LookupError:
        pass
    pages = {url: task.result() for url, task in tasks.items() if not task.cancelled() and task.exception() is None}
    failures = {url: task.exception() for url, task in tasks.items() if not task.cancelled() and task.exception()}
    return pages, failures
