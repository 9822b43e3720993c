# loses: download_or_default_falls_back
async def download_or_default(url: str, timeout: float, default):
    """Waits at most `timeout`, but never cancels the download it gives up on."""
    task = asyncio.create_task(course.download(url))
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if task in done:
        return task.result()
    return default
