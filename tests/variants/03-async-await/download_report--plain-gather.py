# loses: download_report_collects_errors
async def download_report(urls: list[str], latencies: list[float] | None = None) -> tuple[dict, dict]:
    """Plain gather: the first failure is raised to the caller and the other downloads are abandoned."""
    latencies = latencies or [1.0] * len(urls)
    pages = await asyncio.gather(*(course.download(url, latency=latency) for url, latency in zip(urls, latencies)))
    return dict(zip(urls, pages)), {}
