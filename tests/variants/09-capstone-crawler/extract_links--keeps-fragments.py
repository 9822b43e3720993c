# loses: extract_links_parses_in_a_process
async def extract_links(pool, find_links, url: str, html: str) -> set[str]:
    """Keeps "/page/3#part1" and "/page/3" apart: the same page, fetched twice."""
    loop = asyncio.get_running_loop()
    hrefs = await loop.run_in_executor(pool, find_links, html)
    site = urllib.parse.urlsplit(url)
    links = set()
    for href in hrefs:
        link = urllib.parse.urljoin(url, href)
        parts = urllib.parse.urlsplit(link)
        if (parts.scheme, parts.netloc) == (site.scheme, site.netloc):
            links.add(link)
    return links
