# loses: fetch_in_order_waits_for_each_page
async def fetch_in_order(urls: list[str]) -> list[str]:
    """Downloads a URL that appears twice only once, reusing the page: the chain is one request short."""
    pages, seen = [], {}
    for url in urls:
        if url not in seen:
            seen[url] = await course.download(url)
        pages.append(seen[url])
    return pages
