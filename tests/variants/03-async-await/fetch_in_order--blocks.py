# loses: fetch_in_order_waits_for_each_page
async def fetch_in_order(urls: list[str]) -> list[str]:
    """Uses the blocking twin inside an async def: the whole loop stops for every download."""
    pages = []
    for url in urls:
        pages.append(course.download_blocking(url))
    return pages
