# loses: download_all_calls_back_once download_all_keeps_errors_in_place
def download_all(urls: list[str], on_all_done, latencies: list[float] | None = None) -> None:
    """Calls on_all_done from every callback, not only after the last one."""
    results = []

    def on_done(page, error):
        results.append(page if error is None else error)
        on_all_done(results)

    if not urls:
        asyncio.get_running_loop().call_soon(on_all_done, results)
    for index, url in enumerate(urls):
        course.download_with_callback(url, on_done, latency=1.0 if latencies is None else latencies[index])
