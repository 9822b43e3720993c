# loses: extract_links_parses_in_a_process
async def extract_links(pool, find_links, url: str, html: str) -> set[str]:
    """Right links, but the parsing runs on the event loop's thread."""
    site = urllib.parse.urlsplit(url)
    links = set()
    for href in find_links(html):
        link, _fragment = urllib.parse.urldefrag(urllib.parse.urljoin(url, href))
        parts = urllib.parse.urlsplit(link)
        if (parts.scheme, parts.netloc) == (site.scheme, site.netloc):
            links.add(link)
    return links
