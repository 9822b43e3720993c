# loses: download_all_calls_back_once
def download_all(urls: list[str], on_all_done) -> None:
    """Calls on_all_done from every callback, not only after the last page."""
    pages = []

    def on_done(page, error):
        pages.append(page)
        on_all_done(pages)

    for url in urls:
        course.download_with_callback(url, on_done)
