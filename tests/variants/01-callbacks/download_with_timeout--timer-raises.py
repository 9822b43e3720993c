# loses: download_with_timeout_calls_back_once
def download_with_timeout(url: str, timeout: float, on_done, latency: float = 1.0) -> None:
    """The timer's callback raises KeyError when it fires first: the error reaches nobody and on_done is never called."""
    state = {}

    def on_page(page, error):
        if state.get("over"):
            return
        state["over"] = True
        on_done(page, error)

    def on_timeout():
        if state.pop("over"):
            return
        on_done(None, TimeoutError(url))

    asyncio.get_running_loop().call_later(timeout, on_timeout)
    course.download_with_callback(url, on_page, latency=latency)
