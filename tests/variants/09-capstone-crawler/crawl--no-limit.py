# loses: crawl_keeps_to_the_limit
async def crawl(root: str, fetch, extract, limit: int) -> tuple[set[str], set[str]]:
    """Fetches every URL as soon as it is known, however many are already in flight."""
    found, failed, seen = set(), set(), {root}

    async def visit(url):
        try:
            page = await fetch(url)
        except Exception:
            failed.add(url)
            return
        found.add(url)
        for link in await extract(url, page):
            if link not in seen:
                seen.add(link)
                group.create_task(visit(link))

    async with asyncio.TaskGroup() as group:
        group.create_task(visit(root))
    return found, failed
