# loses: download_in_order_chains_requests download_in_order_reports_errors_once
def download_in_order(urls: list[str], on_done) -> None:
    """Starts every download at once instead of waiting for the previous page."""
    pages = [None] * len(urls)
    remaining = len(urls)
    failed = False
    if not urls:
        asyncio.get_running_loop().call_soon(on_done, [], None)
        return

    def collect(index):
        def on_page(page, error):
            nonlocal remaining, failed
            if failed:
                return
            if error is not None:
                failed = True
                on_done(None, error)
                return
            pages[index] = page
            remaining -= 1
            if remaining == 0:
                on_done(pages, None)
        return on_page

    for index, url in enumerate(urls):
        course.download_with_callback(url, collect(index))
