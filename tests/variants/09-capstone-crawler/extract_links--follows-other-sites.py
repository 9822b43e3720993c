# loses: extract_links_parses_in_a_process
async def extract_links(pool, find_links, url: str, html: str) -> set[str]:
    """Keeps every http(s) link, other sites too: the crawl would wander off over the web."""
    loop = asyncio.get_running_loop()
    hrefs = await loop.run_in_executor(pool, find_links, html)
    links = set()
    for href in hrefs:
        link, _fragment = urllib.parse.urldefrag(urllib.parse.urljoin(url, href))
        if link.startswith(("http://", "https://")):
            links.add(link)
    return links
