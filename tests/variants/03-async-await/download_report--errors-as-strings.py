# loses: download_report_collects_errors
async def download_report(urls: list[str], latencies: list[float] | None = None) -> tuple[dict, dict]:
    """Reports each failure as the name of its exception, a string, not the exception object."""
    latencies = latencies or [1.0] * len(urls)
    results = await asyncio.gather(*(course.download(url, latency=latency) for url, latency in zip(urls, latencies)),
                                   return_exceptions=True)
    pages = {url: r for url, r in zip(urls, results) if not isinstance(r, Exception)}
    failures = {url: type(r).__name__ for url, r in zip(urls, results) if isinstance(r, Exception)}
    return pages, failures
