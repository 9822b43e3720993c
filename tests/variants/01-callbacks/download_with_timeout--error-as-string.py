# loses: download_with_timeout_calls_back_once
def download_with_timeout(url: str, timeout: float, on_done, latency: float = 1.0) -> None:
    """Reports a timeout as the string "TimeoutError" instead of an exception object."""
    finished = False

    def on_page(page, error):
        nonlocal finished
        if not finished:
            finished = True
            timer.cancel()
            on_done(page, error)

    def on_timeout():
        nonlocal finished
        if not finished:
            finished = True
            on_done(None, "TimeoutError")

    timer = asyncio.get_running_loop().call_later(timeout, on_timeout)
    course.download_with_callback(url, on_page, latency=latency)
