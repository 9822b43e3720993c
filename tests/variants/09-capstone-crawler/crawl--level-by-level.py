# loses: crawl_keeps_to_the_limit
async def crawl(root: str, fetch, extract, limit: int) -> tuple[set[str], set[str]]:
    """Within the limit, but one level of links at a time: a slow page holds up the next level."""
    found, failed, seen = set(), set(), {root}
    slots = asyncio.Semaphore(limit)

    async def visit(url):
        async with slots:
            try:
                page = await fetch(url)
            except Exception:
                failed.add(url)
                return set()
        found.add(url)
        return await extract(url, page)

    level = [root]
    while level:
        following = []
        for links in await asyncio.gather(*(visit(url) for url in level)):
            for link in links:
                if link not in seen:
                    seen.add(link)
                    following.append(link)
        level = following
    return found, failed
