# loses: download_with_timeout_calls_back_once
def download_with_timeout(url: str, timeout: float, on_done, latency: float = 1.0) -> None:
    """Never remembers that it already called back: the timer and the page both call on_done."""
    loop = asyncio.get_running_loop()
    loop.call_later(timeout, lambda: on_done(None, TimeoutError(url)))
    course.download_with_callback(url, on_done, latency=latency)
